/* Shared by the device harnesses: the fuzz input is what a guest can do to
 * a device — a sequence of port I/O and MMIO accesses — replayed through
 * bus__read/bus__write on a bare struct vm whose CPU backend is a fake that
 * checks every interrupt line a device drives.
 *
 * Encoding of one operation (docs/fuzzing.md):
 *   byte 0    bit 0 write, bits 1-2 width (1, 2, 4, 8), bits 3-7 selector
 *   offset    2 bytes little-endian (3 if the window is larger than 64 KiB),
 *             taken modulo the window length
 *   value     width bytes, writes only
 * selector % (nr_win + 1) picks a window; the extra value is the harness's
 * "special" operation (host-side events such as console input or RAM
 * writes), which consumes whatever bytes it needs.  Port I/O has no 8-byte
 * form on x86, so width 8 becomes 4 there.  Missing trailing bytes read as
 * zero, so every input is valid. */
#ifndef VIREO_FUZZ_BUS_OPS_H
#define VIREO_FUZZ_BUS_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define FUZZ_MAX_OPS 4096

struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

struct fuzz_window {
	bool mmio;
	uint64_t base;
	uint64_t len;
};

struct fuzz_target;
typedef void (*fuzz_special_fn)(struct fuzz_target *t, uint8_t op, struct fuzz_input *in);
typedef void (*fuzz_after_fn)(struct fuzz_target *t, bool write);

struct fuzz_target {
	struct vm *vm;
	const struct fuzz_window *win;
	unsigned nr_win;
	fuzz_special_fn special;   /* optional */
	fuzz_after_fn after;       /* optional: runs after every access */
	void *opaque;
};

static inline uint64_t fuzz__take(struct fuzz_input *in, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (in->left) {
			v |= (uint64_t)in->p[0] << (8 * i);
			in->p++;
			in->left--;
		}
	}
	return v;
}

/* A device driving a line outside the IOAPIC, or with a level other than
 * 0/1, is a VMM bug: the real backends would reject or misroute it. */
static inline int fuzz__irq_line(struct vm *vm, unsigned gsi, int level)
{
	if (gsi >= IOAPIC_NR_PINS || (level != 0 && level != 1))
		__builtin_trap();
	return 0;
}

static inline int fuzz__signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	return 0;
}

static const struct accel_ops fuzz_accel_ops = {
	.name = "fuzz",
	.irq_line = fuzz__irq_line,
	.signal_msi = fuzz__signal_msi,
};

/* ram/ram_size: caller-owned buffer standing in for guest RAM (may be
 * NULL/0), so harnesses need not map 16 MiB per run. */
static inline struct vm *fuzz__vm_new(uint8_t *ram, uint64_t ram_size)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		abort();
	bus__init(&vm->pio, "pio");
	bus__init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	vm->accel = &fuzz_accel_ops;
	vm->nr_cpus = 1;
	vm->ram = ram;
	vm->ram_size = ram_size;
	vm->lowmem_size = ram_size;
	vm->cfg.mem_size = 256ull << 20;   /* what the RTC's CMOS reports */
	return vm;
}

static inline void fuzz__vm_free(struct vm *vm)
{
	bus__exit(&vm->pio);
	bus__exit(&vm->mmio);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_cond_destroy(&vm->stop_cond);
	free(vm);
}

static inline void fuzz__quiet(void)
{
	/* Guest mistakes are expected by the million; keep only real errors.
	 * (Not LOG_ERROR - 1: the enum is unsigned, that would enable all.)
	 * FUZZ_VERBOSE=1 shows everything, to see what a replay does. */
	log_set_level(getenv("FUZZ_VERBOSE") ? LOG_DEBUG : LOG_ERROR);
}

static inline void fuzz__run(struct fuzz_target *t, const uint8_t *data, size_t size)
{
	static const unsigned widths[4] = { 1, 2, 4, 8 };
	struct fuzz_input in = { data, size };
	unsigned nr_sel = t->nr_win + (t->special ? 1 : 0);

	for (unsigned n = 0; in.left && n < FUZZ_MAX_OPS; n++) {
		uint8_t op = (uint8_t)fuzz__take(&in, 1);
		unsigned sel = (op >> 3) % nr_sel;
		bool write = op & 1;
		unsigned width = widths[(op >> 1) & 3];
		const struct fuzz_window *w;
		uint64_t off, addr;
		uint8_t buf[8];

		if (sel == t->nr_win) {
			t->special(t, op, &in);
			continue;
		}
		w = &t->win[sel];
		off = fuzz__take(&in, w->len > 0x10000 ? 3 : 2) % w->len;
		addr = w->base + off;
		if (!w->mmio && width == 8)
			width = 4;
		if (write) {
			uint64_t v = fuzz__take(&in, width);

			memcpy(buf, &v, width);   /* x86 is little-endian */
			bus__write(w->mmio ? &t->vm->mmio : &t->vm->pio, addr, buf, width);
		} else {
			bus__read(w->mmio ? &t->vm->mmio : &t->vm->pio, addr, buf, width);
		}
		if (t->after)
			t->after(t, write);
	}
}

#endif
