/* virtio 1.x devices over PCI (spec: virtio v1.2, sections 2, 4.1).
 *
 * A device (blk.c, net.c, console.c, rng.c) fills a struct virtio_dev with
 * its const ops, feature bits, queue count and config space, and calls
 * virtio_pci__register().  The transport (virtio_pci.c) owns the PCI side:
 * common config, notifications, ISR, MSI-X.  The device's queues are
 * serviced on its own worker thread (never a vCPU thread), woken by one
 * eventfd per queue that either KVM's ioeventfd or the transport's MMIO
 * handler signals.
 *
 * Guest memory is hostile: virtq__pop copies each descriptor out of the
 * ring before looking at it, checks every buffer against RAM, bounds chain
 * length (loops) and rejects malformed chains by marking the device
 * DEVICE_NEEDS_RESET, logged once, without ever stopping the VM. */
#ifndef VIREO_DEVICES_VIRTIO_VIRTIO_H
#define VIREO_DEVICES_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/pci.h"

struct vm;

#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

#define VIRTIO_STATUS_ACKNOWLEDGE   1
#define VIRTIO_STATUS_DRIVER        2
#define VIRTIO_STATUS_DRIVER_OK     4
#define VIRTIO_STATUS_FEATURES_OK   8
#define VIRTIO_STATUS_NEEDS_RESET   64
#define VIRTIO_STATUS_FAILED        128

#define VIRTIO_MSI_NO_VECTOR        0xffff
#define VIRTQ_MAX_SIZE              256
#define VIRTQ_MAX_SEGS              256    /* per chain, incl. indirect */
#define VIRTIO_MAX_QUEUES           8

#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

struct virtio_dev;

/* One descriptor chain, copied out of the guest and validated: out[] are
 * the device-readable buffers, in[] the device-writable ones, as host
 * pointers into guest RAM. */
struct virtq_elem {
	uint16_t head;
	unsigned nr_out, nr_in;
	size_t out_len, in_len;
	struct iovec out[VIRTQ_MAX_SEGS];
	struct iovec in[VIRTQ_MAX_SEGS];
};

struct virtqueue {
	struct virtio_dev *dev;
	unsigned index;
	/* Programmed by the driver through common config. */
	uint16_t size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Resolved when enabled. */
	void *desc;    /* struct of 16-byte descriptors */
	void *avail;
	void *used;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;
	int kick_fd;   /* eventfd */
	bool ioeventfd; /* the backend signals kick_fd directly */
};

struct virtio_dev_ops {
	/* Read/write the device-specific config space (offsets validated). */
	void (*config_read)(struct virtio_dev *dev, unsigned off, void *data, unsigned len);
	void (*config_write)(struct virtio_dev *dev, unsigned off, const void *data, unsigned len);
	/* Worker thread: queue q was kicked (or the worker was woken). */
	void (*handle_queue)(struct virtio_dev *dev, struct virtqueue *vq);
	/* Worker thread: an extra fd (e.g. a tap/slirp/console fd) is readable. */
	void (*handle_fd)(struct virtio_dev *dev, int fd);
	/* Driver set DRIVER_OK / wrote 0 to status.  Called with the device
	 * lock held and the worker paused. */
	void (*activate)(struct virtio_dev *dev);
	void (*reset)(struct virtio_dev *dev);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *opaque;
	struct vm *vm;
	const char *name;
	uint16_t device_id;
	uint32_t pci_class;
	uint64_t host_features;
	uint64_t guest_features;
	unsigned config_len;
	unsigned nr_queues;
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];

	/* Transport state (virtio_pci.c). */
	struct pci_device pci;
	pthread_mutex_t lock;          /* config + queue setup vs worker */
	uint8_t status;
	uint8_t config_generation;
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint16_t config_msix_vector;
	atomic_uint isr;
	uint64_t bar_addr;             /* where BAR0 is mapped, 0 if not */
	bool bar_mapped;
	struct {
		uint32_t addr_lo, addr_hi, data, ctrl;
	} msix[VIRTIO_MAX_QUEUES + 1];
	uint64_t msix_pending;
	bool msix_enabled, msix_masked;
	unsigned msix_cap;

	/* Worker. */
	pthread_t worker;
	bool worker_started;
	int epoll_fd;
	int stop_fd;
	int extra_fds[4];
	unsigned nr_extra_fds;
	bool broken;                   /* NEEDS_RESET was raised */
};

/* virtqueue.c */
void virtq__reset(struct virtqueue *vq);
int virtq__enable(struct virtqueue *vq);
/* 1: got a chain in *elem; 0: ring empty; -EINVAL: malformed (the device
 * is marked NEEDS_RESET; stop processing this queue). */
int virtq__pop(struct virtqueue *vq, struct virtq_elem *elem);
void virtq__push(struct virtqueue *vq, const struct virtq_elem *elem, uint32_t written);
/* Report the first `written` bytes of elem's device-writable buffers as
 * DMA-written (virtq__push does it; devices that publish used entries
 * themselves call it). */
void virtq__elem_written(struct virtqueue *vq, const struct virtq_elem *elem, uint32_t written);
/* Interrupt the driver if the ring's suppression rules allow it. */
void virtq__notify(struct virtqueue *vq);
/* Event-idx: ask for a kick on the next avail entry; returns true if more
 * entries arrived meanwhile (process again before sleeping). */
bool virtq__enable_kicks(struct virtqueue *vq);
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len);

/* virtio_pci.c */
int virtio_pci__register(struct vm *vm, struct virtio_dev *dev);
void virtio_pci__unregister(struct virtio_dev *dev);
/* Interrupt for queue vq / for a config change. */
void virtio__signal_queue(struct virtio_dev *dev, struct virtqueue *vq);
void virtio__signal_config(struct virtio_dev *dev);
void virtio__set_broken(struct virtio_dev *dev, const char *why);

/* worker.c */
int virtio__worker_start(struct virtio_dev *dev);
void virtio__worker_stop(struct virtio_dev *dev);
/* Watch an extra fd (readable -> ops->handle_fd) on the worker. */
int virtio__worker_add_fd(struct virtio_dev *dev, int fd);

#endif
