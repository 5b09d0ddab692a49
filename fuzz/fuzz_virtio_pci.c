/* libFuzzer harness for the virtio-pci transport (virtio_pci.c), with
 * virtio-rng behind it: common config, notify, ISR, device config, MSI-X
 * table and PBA through BAR0, and PCI config writes (BAR moves, command
 * register, MSI-X enable/mask) through ECAM and 0xCF8.  The "special"
 * operation writes guest RAM, where the rings live.
 *
 * The device's worker thread is stopped right after creation; after every
 * access the harness drains the kick eventfds and runs handle_queue exactly
 * as worker.c would, on this thread.  rng.c is included with getrandom
 * replaced by a fixed pattern, so the same input always does the same
 * thing.  BAR0 starts mapped at VM_PCI_MMIO_BASE (a driver's first steps
 * are not worth the fuzzer's time); the input may move or unmap it. */
#include <sys/types.h>
#include <unistd.h>

ssize_t fuzz_getrandom(void *buf, size_t len, unsigned int flags);
#define getrandom fuzz_getrandom
#include "../src/devices/virtio/rng.c"
#undef getrandom

#include "devices/devices.h"
#include "devices/pci_priv.h"
#include "fuzz_bus_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE  0x10000
#define BAR       VM_PCI_MMIO_BASE
#define ECAM_DEV1 (VM_PCI_ECAM_BASE + (1ull << 15))

static uint8_t ram[RAM_SIZE];

static const struct fuzz_window windows[] = {
	{ true, BAR, 0x40 },             /* common config, densely */
	{ true, BAR, 0x8000 },           /* the whole BAR */
	{ true, BAR + 0x3000, 0x20 },    /* notify */
	{ true, BAR + 0x4000, 0x90 },    /* MSI-X table */
	{ true, ECAM_DEV1, 0x100 },      /* config space incl. capabilities */
	{ false, PORT_PCI_CONFIG, 8 },
};

ssize_t fuzz_getrandom(void *buf, size_t len, unsigned int flags)
{
	memset(buf, 0xA5, len);
	return (ssize_t)len;
}

static void ram_write(struct fuzz_target *t, uint8_t op, struct fuzz_input *in)
{
	unsigned n = 4u << ((op >> 1) & 3);   /* 4..32 bytes */
	unsigned off = (unsigned)fuzz__take(in, 2) % (RAM_SIZE - 32);

	for (unsigned i = 0; i < n; i++)
		ram[off + i] = (uint8_t)fuzz__take(in, 1);
}

/* worker.c's loop body, run synchronously. */
static void service(struct fuzz_target *t, bool write)
{
	struct virtio_dev *dev = t->opaque;

	for (unsigned i = 0; i < dev->nr_queues; i++) {
		uint64_t cnt;

		if (read(dev->vqs[i].kick_fd, &cnt, 8) != 8)
			continue;
		pthread_mutex_lock(&dev->lock);
		if ((dev->status & VIRTIO_STATUS_DRIVER_OK) && !dev->broken && dev->vqs[i].enabled)
			dev->ops->handle_queue(dev, &dev->vqs[i]);
		pthread_mutex_unlock(&dev->lock);
	}
}

static void ecam_write32(struct vm *vm, unsigned reg, uint32_t v)
{
	bus__write(&vm->mmio, ECAM_DEV1 + reg, &v, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct fuzz_target t = {
		.win = windows, .nr_win = sizeof(windows) / sizeof(windows[0]),
		.special = ram_write, .after = service,
	};
	struct virtio_dev *dev;

	if (!quiet) {
		fuzz__quiet();
		quiet = true;
	}
	memset(ram, 0, sizeof(ram));
	t.vm = fuzz__vm_new(ram, RAM_SIZE);
	if (pci__init(t.vm) || virtio_rng__create(t.vm) || !t.vm->dev.pci->slots[1])
		abort();
	dev = t.vm->dev.pci->slots[1]->opaque;
	t.opaque = dev;
	virtio__worker_stop(dev);
	ecam_write32(t.vm, PCI_BAR0, (uint32_t)BAR);
	ecam_write32(t.vm, PCI_BAR0 + 4, 0);
	ecam_write32(t.vm, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (!dev->bar_mapped || dev->bar_addr != BAR)
		abort();

	fuzz__run(&t, data, size);

	virtio_pci__unregister(dev);
	if (dev->bar_mapped)
		__builtin_trap();
	free(dev->opaque);
	pci__exit(t.vm);
	fuzz__vm_free(t.vm);
	return 0;
}
