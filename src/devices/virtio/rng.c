/* virtio-rng: entropy from the host's getrandom(2). */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "devices/virtio/devices.h"
#include "devices/virtio/virtio.h"
#include "util/log.h"

struct virtio_rng {
	struct virtio_dev vdev;
	struct virtq_elem elem;
};

static void rng_handle_queue(struct virtio_dev *dev, struct virtqueue *vq)
{
	struct virtio_rng *rng = dev->opaque;
	struct virtq_elem *e = &rng->elem;

	do {
		while (virtq__pop(vq, e) == 1) {
			uint32_t written = 0;

			for (unsigned i = 0; i < e->nr_in; i++) {
				ssize_t n = getrandom(e->in[i].iov_base, e->in[i].iov_len, 0);
				if (n < 0)
					break;
				written += (uint32_t)n;
				if ((size_t)n < e->in[i].iov_len)
					break;
			}
			virtq__push(vq, e, written);
		}
		virtq__notify(vq);
	} while (virtq__enable_kicks(vq));
}

static const struct virtio_dev_ops rng_ops = {
	.handle_queue = rng_handle_queue,
};

int virtio_rng__create(struct vm *vm)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));

	if (!rng)
		return -ENOMEM;
	rng->vdev.ops = &rng_ops;
	rng->vdev.opaque = rng;
	rng->vdev.name = "virtio-rng";
	rng->vdev.device_id = VIRTIO_ID_RNG;
	rng->vdev.pci_class = 0x00ff00;
	rng->vdev.nr_queues = 1;
	rng->vdev.host_features = (1ull << VIRTIO_F_RING_EVENT_IDX) |
				  (1ull << VIRTIO_F_RING_INDIRECT_DESC);
	return virtio_pci__register(vm, &rng->vdev);
}
