/* The transport's signalling entry points, reduced to what a device under
 * fuzz needs: no PCI device exists, so interrupts go nowhere, and a broken
 * ring only marks the device (as virtio_pci.c does). */
#include "devices/virtio/virtio.h"

void virtio__signal_queue(struct virtio_dev *dev, struct virtqueue *vq)
{
	(void)dev;
	(void)vq;
}

void virtio__signal_config(struct virtio_dev *dev)
{
	dev->config_generation++;
}

void virtio__set_broken(struct virtio_dev *dev, const char *why)
{
	(void)why;
	dev->broken = true;
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
}

int virtio_pci__register(struct vm *vm, struct virtio_dev *dev)
{
	(void)vm;
	(void)dev;
	return 0;
}
