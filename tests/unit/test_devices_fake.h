/* A bare struct vm for device unit tests: two buses, the stop handshake and
 * a fake CPU backend whose irq_line records what devices do to each GSI. */
#ifndef VIREO_TEST_DEVICES_FAKE_H
#define VIREO_TEST_DEVICES_FAKE_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vm/platform.h"
#include "vm/vm.h"

struct fake_irq_state {
	pthread_mutex_t lock;
	int level[IOAPIC_NR_PINS];
	int raises[IOAPIC_NR_PINS];  /* 0 -> 1 transitions */
	int bogus;                   /* out-of-range GSI or level */
};

static struct fake_irq_state fake_irq = { .lock = PTHREAD_MUTEX_INITIALIZER };

static inline int fake_irq_line(struct vm *vm, unsigned gsi, int level)
{
	pthread_mutex_lock(&fake_irq.lock);
	if (gsi >= IOAPIC_NR_PINS || (level != 0 && level != 1)) {
		fake_irq.bogus++;
	} else {
		if (level && !fake_irq.level[gsi])
			fake_irq.raises[gsi]++;
		fake_irq.level[gsi] = level;
	}
	pthread_mutex_unlock(&fake_irq.lock);
	return 0;
}

static const struct accel_ops fake_accel_ops = {
	.name = "fake",
	.irq_line = fake_irq_line,
};

static inline int fake_irq_level(unsigned gsi)
{
	int v;

	pthread_mutex_lock(&fake_irq.lock);
	v = fake_irq.level[gsi];
	pthread_mutex_unlock(&fake_irq.lock);
	return v;
}

static inline int fake_irq_raises(unsigned gsi)
{
	int v;

	pthread_mutex_lock(&fake_irq.lock);
	v = fake_irq.raises[gsi];
	pthread_mutex_unlock(&fake_irq.lock);
	return v;
}

static inline struct vm *fake_vm_new(uint64_t mem)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		abort();
	pthread_mutex_lock(&fake_irq.lock);
	memset(fake_irq.level, 0, sizeof(fake_irq.level));
	memset(fake_irq.raises, 0, sizeof(fake_irq.raises));
	fake_irq.bogus = 0;
	pthread_mutex_unlock(&fake_irq.lock);
	bus__init(&vm->pio, "pio");
	bus__init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	vm->accel = &fake_accel_ops;
	vm->nr_cpus = 1;
	vm->ram_size = mem;
	vm->lowmem_size = mem < VM_LOWMEM_LIMIT ? mem : VM_LOWMEM_LIMIT;
	vm->highmem_size = mem - vm->lowmem_size;
	return vm;
}

static inline void fake_vm_free(struct vm *vm)
{
	bus__exit(&vm->pio);
	bus__exit(&vm->mmio);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_cond_destroy(&vm->stop_cond);
	free(vm);
}

static inline int fake_stop_reason(struct vm *vm)
{
	return atomic_load(&vm->stop_reason);
}

static inline void outb(struct vm *vm, uint16_t port, uint8_t v)
{
	bus__write(&vm->pio, port, &v, 1);
}

static inline void outw(struct vm *vm, uint16_t port, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	bus__write(&vm->pio, port, b, 2);
}

static inline void outl(struct vm *vm, uint16_t port, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	bus__write(&vm->pio, port, b, 4);
}

static inline uint8_t inb(struct vm *vm, uint16_t port)
{
	uint8_t v;

	bus__read(&vm->pio, port, &v, 1);
	return v;
}

static inline uint16_t inw(struct vm *vm, uint16_t port)
{
	uint8_t b[2];

	bus__read(&vm->pio, port, b, 2);
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t inl(struct vm *vm, uint16_t port)
{
	uint8_t b[4];

	bus__read(&vm->pio, port, b, 4);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint32_t mmio_read(struct vm *vm, uint64_t addr, unsigned len)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0;

	bus__read(&vm->mmio, addr, b, len);
	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static inline void mmio_write(struct vm *vm, uint64_t addr, unsigned len, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	bus__write(&vm->mmio, addr, b, len);
}

static inline uint64_t fake_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
