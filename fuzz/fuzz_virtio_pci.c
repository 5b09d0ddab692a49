/* libFuzzer harness for the virtio-pci transport (virtio_pci.c), with
 * virtio-rng behind it: common config, notify, ISR, device config, MSI-X
 * table and PBA through BAR0, and PCI config writes (BAR moves, command
 * register, MSI-X enable/mask) through ECAM and 0xCF8.  The "special"
 * operation writes guest RAM, where the rings live.
 *
 * The device's worker thread is stopped right after creation; after every
 * access the harness drains the kick eventfds and runs handle_queue exactly
 * as worker.c would, on this thread (fuzz_virtio_common.h).  rng.c is
 * included with getrandom replaced by a fixed pattern, so the same input
 * always does the same thing.  BAR0 starts mapped at VM_PCI_MMIO_BASE (a
 * driver's first steps are not worth the fuzzer's time); the input may
 * move or unmap it. */
#include <sys/types.h>

ssize_t fuzz_getrandom(void *buf, size_t len, unsigned int flags);
#define getrandom fuzz_getrandom
#include "../src/devices/virtio/rng.c"
#undef getrandom

#include "fuzz_virtio_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

ssize_t fuzz_getrandom(void *buf, size_t len, unsigned int flags)
{
	memset(buf, 0xA5, len);
	return (ssize_t)len;
}

static void special(struct fuzz_target *t, uint8_t op, struct fuzz_input *in)
{
	fv_ram_write(op, in);   /* rng has no host-side event: kind 3 is a no-op */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct fuzz_target t = {
		.win = fv_windows, .nr_win = FV_NR_WINDOWS,
		.special = special, .after = fv_service,
	};
	struct virtio_dev *dev;

	if (!quiet) {
		fuzz__quiet();
		quiet = true;
	}
	t.vm = fv_vm_new();
	if (virtio_rng__create(t.vm))
		abort();
	dev = fv_take_device(&t);
	fuzz__run(&t, data, size);
	fv_finish(&t, dev);
	free(dev->opaque);
	fv_vm_free(t.vm);
	return 0;
}
