/* Shared fixture for the irqchip tests: a bare struct vm with its two buses,
 * an irqchip with 4 LAPICs, and hooks that count what each vCPU was told. */
#ifndef TEST_IRQCHIP_COMMON_H
#define TEST_IRQCHIP_COMMON_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accel/soft/irqchip/irqchip.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define NCPU 4

struct hook_rec {
	atomic_int wake, init, sipi;
	atomic_int sipi_vector;
};

static struct vm *vm;
static struct soft_irqchip *chip;
static struct hook_rec rec[NCPU];

static inline void rec_wake(void *o) { atomic_fetch_add(&((struct hook_rec *)o)->wake, 1); }
static inline void rec_init(void *o) { atomic_fetch_add(&((struct hook_rec *)o)->init, 1); }
static inline void rec_sipi(void *o, uint8_t v)
{
	struct hook_rec *r = o;

	atomic_store(&r->sipi_vector, v);
	atomic_fetch_add(&r->sipi, 1);
}

static const struct lapic_cpu_hooks rec_hooks = { rec_wake, rec_init, rec_sipi };

static inline struct lapic *L(int cpu)
{
	return soft_irqchip__lapic(chip, cpu);
}

static inline void setup(void)
{
	vm = calloc(1, sizeof(*vm));
	cr_assert_not_null(vm);
	bus__init(&vm->pio, "pio");
	bus__init(&vm->mmio, "mmio");
	cr_assert_eq(soft_irqchip__create(vm, NCPU, &chip), 0);
	memset(rec, 0, sizeof(rec));
	for (int i = 0; i < NCPU; i++)
		lapic__set_cpu_hooks(L(i), &rec_hooks, &rec[i]);
}

static inline void teardown(void)
{
	soft_irqchip__destroy(chip);
	bus__exit(&vm->pio);
	bus__exit(&vm->mmio);
	free(vm);
}

static inline void outb(uint16_t port, uint8_t v)
{
	cr_assert(bus__write(&vm->pio, port, &v, 1), "port %#x unclaimed", port);
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v = 0;

	cr_assert(bus__read(&vm->pio, port, &v, 1), "port %#x unclaimed", port);
	return v;
}

static inline void apic_w(int cpu, unsigned reg, uint32_t v)
{
	lapic__mmio_write(L(cpu), reg, &v, 4);
}

static inline uint32_t apic_r(int cpu, unsigned reg)
{
	uint32_t v;

	lapic__mmio_read(L(cpu), reg, &v, 4);
	return v;
}

static inline void ioapic_w(unsigned reg, uint32_t v)
{
	uint32_t sel = reg;

	bus__write(&vm->mmio, VM_IOAPIC_BASE, &sel, 4);
	bus__write(&vm->mmio, VM_IOAPIC_BASE + 0x10, &v, 4);
}

static inline uint32_t ioapic_r(unsigned reg)
{
	uint32_t sel = reg, v = 0;

	bus__write(&vm->mmio, VM_IOAPIC_BASE, &sel, 4);
	bus__read(&vm->mmio, VM_IOAPIC_BASE + 0x10, &v, 4);
	return v;
}

static inline void ioapic_route(unsigned pin, uint64_t entry)
{
	ioapic_w(0x11 + 2 * pin, entry >> 32);
	ioapic_w(0x10 + 2 * pin, (uint32_t)entry);
}

/* Standard Linux-like PIC programming: master 0x20, slave 0x28, 8086 mode. */
static inline void pic_init(uint8_t master_imr, uint8_t slave_imr)
{
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xA0, 0x11); outb(0xA1, 0x28); outb(0xA1, 0x02); outb(0xA1, 0x01);
	outb(0x21, master_imr);
	outb(0xA1, slave_imr);
}

static inline void apic_enable(int cpu)
{
	apic_w(cpu, 0xF0, 0x1FF);
}

static inline bool apic_bit(int cpu, unsigned base, unsigned vector)
{
	return apic_r(cpu, base + 0x10 * (vector / 32)) & (1u << (vector % 32));
}

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

#endif
