/* Shared by the soft-CPU core tests and the MIPS benchmark: a struct vm
 * with RAM and empty buses, a soft_cpu on it, identity page tables. */
#ifndef VIREO_TESTS_SOFT_TEST_UTIL_H
#define VIREO_TESTS_SOFT_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "accel/soft/cpu.h"
#include "vm/bus.h"
#include "vm/vm.h"

#define ST_RAM   (32ull << 20)
#define ST_PML4  0x1000ull
#define ST_PDPT  0x2000ull
#define ST_PD    0x3000ull
#define ST_PT    0x4000ull   /* 4 KiB page table for [2 MiB, 4 MiB) */

struct st_env {
	struct vm *vm;
	struct soft_vm *svm;
	struct soft_cpu *cpu;
};

static inline uint64_t *st_u64(struct st_env *e, uint64_t gpa)
{
	return (uint64_t *)(e->vm->ram + gpa);
}

/* Identity map [0, 32 MiB): 2 MiB pages, except [2, 4) MiB in 4 KiB pages
 * (so tests can change single PTEs); everything P|W|U. */
static inline void st_map(struct st_env *e)
{
	memset(e->vm->ram + ST_PML4, 0, 0x4000);
	*st_u64(e, ST_PML4) = ST_PDPT | 7;
	*st_u64(e, ST_PDPT) = ST_PD | 7;
	for (uint64_t i = 0; i < 16; i++)
		*st_u64(e, ST_PD + i * 8) = (i << 21) | 0x87;
	*st_u64(e, ST_PD + 8) = ST_PT | 7;
	for (uint64_t i = 0; i < 512; i++)
		*st_u64(e, ST_PT + i * 8) = ((2ull << 20) + (i << 12)) | 7;
}

static inline uint64_t *st_pte(struct st_env *e, uint64_t va)
{
	return st_u64(e, ST_PT + ((va - (2ull << 20)) >> 12) * 8);
}

static inline void st_init(struct st_env *e, int bits)
{
	e->vm = calloc(1, sizeof(*e->vm));
	bus__init(&e->vm->pio, "pio");
	bus__init(&e->vm->mmio, "mmio");
	pthread_mutex_init(&e->vm->stop_lock, NULL);
	pthread_cond_init(&e->vm->stop_cond, NULL);
	e->vm->accel_kind = ACCEL_SOFT;
	if (vm__alloc_ram(e->vm, ST_RAM))
		abort();
	if (soft_vm__create(e->vm, &e->svm) || soft_cpu__create(e->svm, 0, &e->cpu))
		abort();
	st_map(e);
	soft_cpu__setup_flat(e->cpu, bits, bits == 64 ? ST_PML4 : 0);
}

static inline void st_fini(struct st_env *e)
{
	soft_cpu__destroy(e->cpu);
	soft_vm__destroy(e->svm);
	vm__free_ram(e->vm);
	bus__exit(&e->vm->pio);
	bus__exit(&e->vm->mmio);
	free(e->vm);
}

/* Put code at gpa (identity mapped) the way a DMA would. */
static inline void st_code(struct st_env *e, uint64_t gpa, const void *code, size_t len)
{
	memcpy(e->vm->ram + gpa, code, len);
	soft_code__invalidate_range(e->vm, gpa, len);
}

#endif
