/* virtio-net (virtio v1.2 section 5.1): one rx/tx queue pair, no control
 * queue, no offloads.  Every frame carries the 12-byte virtio_net_hdr_v1
 * (VERSION_1 makes num_buffers always present).
 *
 * All device work runs on the worker thread with dev->lock held: tx on a
 * tx kick, rx when the backend's rx_fd is readable or the guest posts rx
 * buffers.  Frames the guest has no buffers for wait in a bounded FIFO;
 * beyond it they are dropped and counted, as a NIC drops on overrun. */
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/devices.h"
#include "devices/virtio/virtio.h"
#include "net/net.h"
#include "util/log.h"

#define VIRTIO_NET_F_MTU       3
#define VIRTIO_NET_F_MAC       5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS    16
#define VIRTIO_NET_S_LINK_UP   1

#define RXQ 0
#define TXQ 1
#define NET_HDR_LEN      12
#define NET_MTU          1500
#define RX_PENDING_MAX   256
/* Mergeable buffers one frame may span; Linux posts >= 1.5 KiB buffers, so
 * a 64 KiB frame needs at most ~43. */
#define RX_MAX_BUFS      64
/* Frames taken from the backend per wakeup, so tx is not starved. */
#define RX_BUDGET        64

struct virtio_net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_net_hdr) == NET_HDR_LEN, "virtio_net_hdr_v1 is 12 bytes");

struct virtio_net {
	struct virtio_dev vdev;
	struct net_backend *nb;
	struct virtio_net_config cfg;   /* little-endian, as the guest sees it */
	char name[32];
	struct net_fifo pending;        /* from the backend, waiting for buffers */
	uint64_t tx_dropped, rx_dropped;
	struct virtq_elem tx_elem;
	struct virtq_elem rx_elem[RX_MAX_BUFS];
	uint8_t frame[NET_MAX_FRAME];
};

static bool rx_ready(struct virtio_net *n)
{
	return (n->vdev.status & VIRTIO_STATUS_DRIVER_OK) && !n->vdev.broken &&
	       n->vdev.vqs[RXQ].enabled;
}

/* Publish nbufs used entries with a single used->idx update: the driver
 * reads num_buffers from the first buffer and then expects all the others
 * to be there already.  (virtq__push publishes one at a time.) */
static void rx_publish(struct virtqueue *vq, const struct virtq_elem *e, const uint32_t *len,
		       unsigned nbufs)
{
	uint8_t *used = vq->used;

	for (unsigned i = 0; i < nbufs; i++) {
		uint8_t *ent = used + 4 + 8 * ((uint16_t)(vq->used_idx + i) % vq->size);
		uint32_t id = htole32(e[i].head), l = htole32(len[i]);

		memcpy(ent, &id, 4);
		memcpy(ent + 4, &l, 4);
	}
	vq->used_idx += (uint16_t)nbufs;
	atomic_store_explicit((_Atomic uint16_t *)(used + 2), htole16(vq->used_idx),
			      memory_order_release);
}

/* 1: delivered; -1: the frame can never be delivered (dropped); 0: not
 * enough guest buffers yet: vq->last_avail is left past the buffers that
 * were there, for the caller to arm the kick, then rewind. */
static int rx_one(struct virtio_net *n, struct virtqueue *vq, const uint8_t *frame, size_t len)
{
	bool mrg = n->vdev.guest_features & (1ull << VIRTIO_NET_F_MRG_RXBUF);
	unsigned max_bufs = mrg ? RX_MAX_BUFS : 1;
	size_t need = NET_HDR_LEN + len, got = 0, pos;
	uint16_t start = vq->last_avail;
	uint32_t written[RX_MAX_BUFS];
	struct virtio_net_hdr hdr = { 0 };
	unsigned nbufs = 0;

	while (got < need) {
		struct virtq_elem *e = &n->rx_elem[nbufs];
		int r;

		if (nbufs == max_bufs) {
			/* Give the buffers back untouched; only this frame is lost. */
			vq->last_avail = start;
			guest_err("%s: rx buffers too small for a %zu-byte frame", n->name, len);
			return -1;
		}
		r = virtq__pop(vq, e);
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;   /* the caller gives the buffers back */
		if (e->in_len < (nbufs ? 1 : NET_HDR_LEN)) {
			virtio__set_broken(&n->vdev, "rx buffer missing or too short for the header");
			return -1;
		}
		got += e->in_len;
		nbufs++;
	}
	hdr.num_buffers = htole16((uint16_t)nbufs);
	pos = 0;
	for (unsigned i = 0; i < nbufs; i++) {
		struct virtq_elem *e = &n->rx_elem[i];
		size_t chunk = need - pos < e->in_len ? need - pos : e->in_len, skip = 0;

		if (i == 0) {
			buf_to_iov(e->in, e->nr_in, 0, &hdr, NET_HDR_LEN);
			skip = NET_HDR_LEN;
		}
		buf_to_iov(e->in, e->nr_in, skip, frame + (pos + skip - NET_HDR_LEN), chunk - skip);
		written[i] = (uint32_t)chunk;
		pos += chunk;
	}
	for (unsigned i = 0; i < nbufs; i++)
		virtq__elem_written(vq, &n->rx_elem[i], written[i]);
	rx_publish(vq, n->rx_elem, written, nbufs);
	return 1;
}

static void rx_flush(struct virtio_net *n)
{
	struct virtqueue *vq = &n->vdev.vqs[RXQ];
	bool delivered = false;
	struct net_frame *f;

	if (!rx_ready(n))
		return;
	while ((f = n->pending.head)) {
		uint16_t start = vq->last_avail;
		int r = rx_one(n, vq, f->data, f->len);

		if (r == 0) {
			/* Ask for a kick when the guest posts a buffer beyond the
			 * ones just found too few, then give those back.  Retry
			 * only if more arrived meanwhile, so a guest that posts
			 * too little cannot make this loop spin. */
			bool more = virtq__enable_kicks(vq) && !n->vdev.broken;

			vq->last_avail = start;
			if (more)
				continue;
			break;
		}
		free(net_fifo__pop(&n->pending));
		if (r > 0)
			delivered = true;
		else
			n->rx_dropped++;
		if (n->vdev.broken)
			break;
	}
	if (delivered)
		virtq__notify(vq);
}

static void tx_one(struct virtio_net *n, const struct virtq_elem *e)
{
	struct virtio_net_hdr hdr;
	size_t len;
	int ret;

	if (e->out_len < NET_HDR_LEN) {
		guest_err("%s: tx buffer without a virtio-net header", n->name);
		return;
	}
	len = e->out_len - NET_HDR_LEN;
	if (len < NET_MIN_FRAME || len > NET_MAX_FRAME) {
		guest_err("%s: tx frame of %zu bytes dropped", n->name, len);
		n->tx_dropped++;
		return;
	}
	iov_to_buf(e->out, e->nr_out, 0, &hdr, sizeof(hdr));
	if (hdr.gso_type != 0) {
		/* GSO was never offered: there is nobody to segment it. */
		guest_err("%s: tx frame with gso_type %u dropped", n->name, hdr.gso_type);
		n->tx_dropped++;
		return;
	}
	iov_to_buf(e->out, e->nr_out, NET_HDR_LEN, n->frame, len);
	ret = n->nb->ops->send(n->nb, n->frame, len);
	if (ret) {
		n->tx_dropped++;
		log_once(LOG_WARN, "%s: backend dropped a frame: %s", n->name, strerror(-ret));
	}
}

static void tx_process(struct virtio_net *n, struct virtqueue *vq)
{
	do {
		while (virtq__pop(vq, &n->tx_elem) == 1) {
			tx_one(n, &n->tx_elem);
			virtq__push(vq, &n->tx_elem, 0);
		}
		virtq__notify(vq);
	} while (virtq__enable_kicks(vq) && !n->vdev.broken);
}

static void net_handle_queue(struct virtio_dev *dev, struct virtqueue *vq)
{
	struct virtio_net *n = dev->opaque;

	if (vq->index == TXQ)
		tx_process(n, vq);
	else if (vq->index == RXQ)
		rx_flush(n);
}

static void net_handle_fd(struct virtio_dev *dev, int fd)
{
	struct virtio_net *n = dev->opaque;

	for (int i = 0; i < RX_BUDGET; i++) {
		ssize_t len = n->nb->ops->recv(n->nb, n->frame, sizeof(n->frame));

		if (len == 0)
			break;
		if (len < 0) {
			log_once(LOG_WARN, "%s: backend receive failed: %s", n->name,
				 strerror((int)-len));
			break;
		}
		/* A NIC without a running driver drops what arrives. */
		if (len < NET_MIN_FRAME || !rx_ready(n) ||
		    !net_fifo__push(&n->pending, n->frame, (size_t)len))
			n->rx_dropped++;
	}
	rx_flush(n);
}

static void net_config_read(struct virtio_dev *dev, unsigned off, void *data, unsigned len)
{
	struct virtio_net *n = dev->opaque;

	if (off + len <= sizeof(n->cfg))
		memcpy(data, (uint8_t *)&n->cfg + off, len);
}

static void net_reset(struct virtio_dev *dev)
{
	struct virtio_net *n = dev->opaque;

	net_fifo__clear(&n->pending);
}

static const struct virtio_dev_ops net_ops = {
	.config_read = net_config_read,
	.handle_queue = net_handle_queue,
	.handle_fd = net_handle_fd,
	.reset = net_reset,
};

struct virtio_dev *virtio_net__new(struct vm *vm, const unsigned char mac[6],
				   struct net_backend *nb)
{
	struct virtio_net *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->nb = nb;
	snprintf(n->name, sizeof(n->name), "virtio-net(%02x:%02x:%02x:%02x:%02x:%02x)",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	memcpy(n->cfg.mac, mac, 6);
	n->cfg.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->cfg.max_virtqueue_pairs = htole16(1);
	n->cfg.mtu = htole16(NET_MTU);
	net_fifo__init(&n->pending, RX_PENDING_MAX);

	n->vdev.ops = &net_ops;
	n->vdev.opaque = n;
	n->vdev.vm = vm;
	n->vdev.name = n->name;
	n->vdev.device_id = VIRTIO_ID_NET;
	n->vdev.pci_class = 0x020000;
	n->vdev.nr_queues = 2;
	n->vdev.config_len = sizeof(n->cfg);
	n->vdev.host_features = (1ull << VIRTIO_F_RING_EVENT_IDX) |
		(1ull << VIRTIO_F_RING_INDIRECT_DESC) | (1ull << VIRTIO_NET_F_MAC) |
		(1ull << VIRTIO_NET_F_STATUS) | (1ull << VIRTIO_NET_F_MRG_RXBUF) |
		(1ull << VIRTIO_NET_F_MTU);
	for (unsigned i = 0; i < 2; i++) {
		n->vdev.vqs[i].dev = &n->vdev;
		n->vdev.vqs[i].index = i;
	}
	return &n->vdev;
}

void virtio_net__free(struct virtio_dev *dev)
{
	struct virtio_net *n = dev->opaque;

	net_fifo__clear(&n->pending);
	net_backend__close(n->nb);
	free(n);
}

int virtio_net__create(struct vm *vm, const struct net_config *cfg)
{
	struct net_backend *nb;
	struct virtio_dev *dev;
	int ret;

	ret = net_backend__open(cfg, &nb);
	if (ret)
		return ret;
	dev = virtio_net__new(vm, cfg->mac, nb);
	if (!dev) {
		net_backend__close(nb);
		return -ENOMEM;
	}
	/* Before registering: the worker starts polling it right away. */
	ret = virtio__worker_add_fd(dev, nb->rx_fd);
	if (ret) {
		virtio_net__free(dev);
		return ret;
	}
	/* On failure the worker may already run over dev; the VM is not
	 * built, so leaving it allocated until exit is the safe choice. */
	ret = virtio_pci__register(vm, dev);
	if (ret)
		fprintf(stderr, "vireo run: --net: cannot add a virtio-net device: %s\n",
			strerror(-ret));
	return ret;
}
