/* Shared by the virtio device harnesses (fuzz_virtio_pci.c, _net.c,
 * _console.c): a VM with 64 KiB of guest RAM, the PCI host, one virtio-pci
 * device whose BAR0 starts mapped at VM_PCI_MMIO_BASE, and the device's
 * worker replaced by a synchronous copy of its loop, so every run of the
 * same input does the same thing.
 *
 * Window layout (selectors 0-6, see fuzz_bus_ops.h); the device harness's
 * own "special" operation is selector 7, and its bits 1-2 pick: 0-2 write
 * 8/16/32 bytes of guest RAM, 3 a host-side event (frame or console input
 * arriving), which the harness implements. */
#ifndef VIREO_FUZZ_VIRTIO_COMMON_H
#define VIREO_FUZZ_VIRTIO_COMMON_H

#include <unistd.h>

#include "devices/devices.h"
#include "devices/pci_priv.h"
#include "devices/virtio/virtio.h"
#include "fuzz_bus_ops.h"

#define FV_RAM_SIZE  0x10000
#define FV_BAR       VM_PCI_MMIO_BASE
#define FV_ECAM_DEV1 (VM_PCI_ECAM_BASE + (1ull << 15))

static uint8_t fv_ram[FV_RAM_SIZE];

static const struct fuzz_window fv_windows[] = {
	{ true, FV_BAR, 0x40 },             /* common config, densely */
	{ true, FV_BAR, 0x8000 },           /* the whole BAR */
	{ true, FV_BAR + 0x3000, 0x20 },    /* notify */
	{ true, FV_BAR + 0x4000, 0x90 },    /* MSI-X table */
	{ true, FV_ECAM_DEV1, 0x100 },      /* config space incl. capabilities */
	{ false, PORT_PCI_CONFIG, 8 },
	{ true, FV_BAR + 0x2000, 0x20 },    /* device-specific config */
};
#define FV_NR_WINDOWS (sizeof(fv_windows) / sizeof(fv_windows[0]))

/* 8 << (op bits 1-2) bytes at a 16-bit offset.  Returns false for the
 * fourth kind, which the caller handles. */
static inline bool fv_ram_write(uint8_t op, struct fuzz_input *in)
{
	unsigned kind = (op >> 1) & 3, n = 8u << kind;
	unsigned off;

	if (kind == 3)
		return false;
	off = (unsigned)fuzz__take(in, 2) % (FV_RAM_SIZE - 32);
	for (unsigned i = 0; i < n; i++)
		fv_ram[off + i] = (uint8_t)fuzz__take(in, 1);
	return true;
}

/* worker.c's loop body for the queue kicks, run synchronously. */
static inline void fv_service(struct fuzz_target *t, bool write)
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

/* worker.c's extra-fd branch. */
static inline void fv_handle_fd(struct virtio_dev *dev, int fd)
{
	pthread_mutex_lock(&dev->lock);
	dev->ops->handle_fd(dev, fd);
	pthread_mutex_unlock(&dev->lock);
}

static inline struct vm *fv_vm_new(void)
{
	struct vm *vm;

	memset(fv_ram, 0, sizeof(fv_ram));
	vm = fuzz__vm_new(fv_ram, FV_RAM_SIZE);
	if (pci__init(vm))
		abort();
	return vm;
}

/* The device registered itself in slot 1: stop its worker, map BAR0. */
static inline struct virtio_dev *fv_take_device(struct fuzz_target *t)
{
	struct virtio_dev *dev;
	uint32_t v;

	if (!t->vm->dev.pci->slots[1])
		abort();
	dev = t->vm->dev.pci->slots[1]->opaque;
	t->opaque = dev;
	virtio__worker_stop(dev);
	v = (uint32_t)FV_BAR;
	bus__write(&t->vm->mmio, FV_ECAM_DEV1 + PCI_BAR0, &v, 4);
	v = 0;
	bus__write(&t->vm->mmio, FV_ECAM_DEV1 + PCI_BAR0 + 4, &v, 4);
	v = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	bus__write(&t->vm->mmio, FV_ECAM_DEV1 + PCI_COMMAND, &v, 4);
	if (!dev->bar_mapped || dev->bar_addr != FV_BAR)
		abort();
	return dev;
}

static inline void fv_finish(struct fuzz_target *t, struct virtio_dev *dev)
{
	virtio_pci__unregister(dev);
	if (dev->bar_mapped)
		__builtin_trap();   /* unregistering must unmap BAR0 */
}

static inline void fv_vm_free(struct vm *vm)
{
	pci__exit(vm);
	fuzz__vm_free(vm);
}

#endif
