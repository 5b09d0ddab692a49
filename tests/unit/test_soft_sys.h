/* Shared set-up for the soft CPU system tests: a VM with 16 MiB of RAM, the
 * soft CPU's per-VM state with every handler registered, and helpers to
 * build descriptor tables and page tables in guest memory. */
#ifndef TEST_SOFT_SYS_H
#define TEST_SOFT_SYS_H

#include <stdlib.h>
#include <string.h>

#include "accel/soft/cpu.h"
#include "accel/soft/fpu.h"
#include "accel/soft/sys.h"
#include "vm/vm.h"

struct sys_env {
	struct vm *vm;
	struct soft_vm *svm;
	struct soft_cpu *cpu;
	struct soft_sys_cpu sc;
};

static inline void env_init(struct sys_env *e, int nr_cpus, bool hooks)
{
	memset(e, 0, sizeof(*e));
	e->vm = calloc(1, sizeof(*e->vm));
	e->vm->nr_cpus = nr_cpus;
	e->vm->accel_kind = ACCEL_SOFT;
	pthread_mutex_init(&e->vm->stop_lock, NULL);
	pthread_cond_init(&e->vm->stop_cond, NULL);
	bus__init(&e->vm->pio, "pio");
	bus__init(&e->vm->mmio, "mmio");
	if (vm__alloc_ram(e->vm, 16ull << 20))
		abort();
	if (soft_vm__create(e->vm, &e->svm))
		abort();
	e->vm->accel_data = e->svm;
	if (hooks)
		soft_system__install_hooks(e->svm);
	soft_fpu__register_handlers(e->svm);
	soft_system__register_handlers(e->svm);
	if (soft_cpu__create(e->svm, 0, &e->cpu))
		abort();
	e->sc.cpu = e->cpu;
	atomic_init(&e->sc.sipi_vector, -1);
	e->cpu->sys = &e->sc;
}

static inline void env_fini(struct sys_env *e)
{
	soft_cpu__destroy(e->cpu);
	soft_vm__destroy(e->svm);
	vm__free_ram(e->vm);
	bus__exit(&e->vm->pio);
	bus__exit(&e->vm->mmio);
	free(e->vm);
}

static inline void put(struct sys_env *e, uint64_t gpa, const void *p, size_t n)
{
	if (vm__write_guest(e->vm, gpa, p, n))
		abort();
	soft_code__invalidate_range(e->vm, gpa, n);
}

static inline void put64(struct sys_env *e, uint64_t gpa, uint64_t v)
{
	put(e, gpa, &v, 8);
}

static inline uint64_t get64(struct sys_env *e, uint64_t gpa)
{
	uint64_t v = 0;

	vm__read_guest(e->vm, gpa, &v, 8);
	return v;
}

/* Code/data descriptor: flat 4 GiB, type, dpl, L/D flags. */
static inline uint64_t desc(unsigned type, unsigned dpl, bool l, bool db, bool present)
{
	return 0xffffull | (0xfull << 48) | ((uint64_t)type << 40) | (1ull << 44) |
	       ((uint64_t)dpl << 45) | ((uint64_t)present << 47) | ((uint64_t)l << 53) |
	       ((uint64_t)db << 54) | (1ull << 55);
}

/* 64-bit TSS descriptor (two slots) at GDT index idx. */
static inline void put_tss64(struct sys_env *e, uint64_t gdt, unsigned idx, uint64_t base)
{
	uint64_t lo = 0x67 | ((base & 0xffffff) << 16) | (0x9ull << 40) | (1ull << 47) |
		      (((base >> 24) & 0xff) << 56);

	put64(e, gdt + idx * 8, lo);
	put64(e, gdt + idx * 8 + 8, base >> 32);
}

/* 64-bit interrupt (type 0xe) / trap (0xf) gate. */
static inline void put_gate64(struct sys_env *e, uint64_t idt, unsigned vec, uint64_t off,
			      uint16_t sel, unsigned type, unsigned dpl, unsigned ist)
{
	uint64_t lo = (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)ist << 32) |
		      ((uint64_t)type << 40) | ((uint64_t)dpl << 45) | (1ull << 47) |
		      ((off >> 16) & 0xffff) << 48;

	put64(e, idt + vec * 16, lo);
	put64(e, idt + vec * 16 + 8, off >> 32);
}

/* Identity map of the first 1 GiB with 2 MiB user-accessible pages. */
static inline uint64_t put_identity_map(struct sys_env *e, uint64_t at)
{
	put64(e, at, (at + 0x1000) | 7);
	put64(e, at + 0x1000, (at + 0x2000) | 7);
	for (uint64_t i = 0; i < 512; i++)
		put64(e, at + 0x2000 + i * 8, (i << 21) | 0x87);
	return at;
}

#endif
