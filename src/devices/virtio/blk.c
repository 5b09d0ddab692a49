/* virtio-blk (virtio v1.2 section 5.2) on top of src/block (raw, qcow2).
 * Requests are taken off the ring on the device's worker thread.  Reads,
 * writes and flushes of raw images go to an io_uring (blk_uring.c) and
 * complete later, many in flight; everything else (qcow2, whose metadata
 * I/O is synchronous, O_DIRECT with misaligned buffers, discard, no
 * io_uring) is served synchronously right there.  The request header is
 * copied out of guest memory before it is validated; every sector range is
 * checked against the capacity. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/blk_uring.h"
#include "devices/virtio/devices.h"
#include "devices/virtio/virtio.h"
#include "util/log.h"

#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define SECTOR 512ull
#define SEG_MAX (VIRTQ_MAX_SIZE - 2)
#define SIZE_MAX_BYTES (1u << 20)
#define MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per segment */
#define QUEUED UINT32_MAX              /* do_request: completes asynchronously */

struct virtio_blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	struct { uint16_t cylinders; uint8_t heads, sectors; } geometry;
	uint32_t blk_size;
	struct { uint8_t physical_block_exp, alignment_offset; uint16_t min_io_size; uint32_t opt_io_size; } topology;
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors, max_discard_seg, discard_sector_alignment;
	uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap, unused1[3];
} __attribute__((packed));

struct virtio_blk {
	struct virtio_dev vdev;
	struct blockdev *bd;
	struct virtio_blk_config cfg;   /* little-endian, as the guest sees it */
	char serial[20];
	char name[32];
	struct blk_uring *aio;          /* NULL: everything synchronous */
	bool sync_only;                 /* keep aio idle (fuzzing, benchmarks) */
	struct virtq_elem elem;
	uint8_t zeros[65536];
};

static int rw_segments(struct virtio_blk *b, const struct iovec *iov, unsigned n, size_t skip,
		       size_t len, uint64_t off, bool write)
{
	for (unsigned i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;
		uint8_t *p = iov[i].iov_base;
		int ret;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		p += skip;
		l -= skip;
		skip = 0;
		if (l > len)
			l = len;
		ret = write ? block__write(b->bd, p, off, l) : block__read(b->bd, p, off, l);
		if (ret)
			return ret;
		off += l;
		len -= l;
	}
	return 0;
}

static bool range_ok(struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t cap = b->bd->size;

	return sector <= cap / SECTOR && bytes <= cap - sector * SECTOR;
}

static uint8_t do_discard(struct virtio_blk *b, struct virtq_elem *e, bool zeroes)
{
	size_t nseg = (e->out_len - 16) / 16;

	if ((e->out_len - 16) % 16 || nseg == 0 || nseg > 1)
		return VIRTIO_BLK_S_UNSUPP;
	for (size_t s = 0; s < nseg; s++) {
		struct { uint64_t sector; uint32_t num, flags; } seg;
		uint64_t sector, bytes;

		iov_to_buf(e->out, e->nr_out, 16 + s * 16, &seg, sizeof(seg));
		sector = le64toh(seg.sector);
		bytes = (uint64_t)le32toh(seg.num) * SECTOR;
		if (le32toh(seg.num) > MAX_DISCARD_SECTORS || !range_ok(b, sector, bytes))
			return VIRTIO_BLK_S_IOERR;
		if (zeroes) {
			for (uint64_t done = 0; done < bytes;) {
				size_t n = bytes - done < sizeof(b->zeros) ? (size_t)(bytes - done) : sizeof(b->zeros);
				if (block__write(b->bd, b->zeros, sector * SECTOR + done, n))
					return VIRTIO_BLK_S_IOERR;
				done += n;
			}
		} else if (block__discard(b->bd, sector * SECTOR, bytes)) {
			return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* Hand IN/OUT/FLUSH to the io_uring; false: serve it synchronously. */
static bool try_async(struct virtio_blk *b, struct virtq_elem *e, uint32_t type, uint64_t sector,
		      size_t len)
{
	/* add_buf never keeps empty buffers, so the last one holds the status. */
	const struct iovec *last = &e->in[e->nr_in - 1];
	uint8_t *status = (uint8_t *)last->iov_base + last->iov_len - 1;

	if (!b->aio || b->sync_only)
		return false;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		return !blk_uring__rw(b->aio, e->head, e->in, e->nr_in, 0, len, sector * SECTOR,
				      false, status, (uint32_t)len + 1);
	case VIRTIO_BLK_T_OUT:
		return !blk_uring__rw(b->aio, e->head, e->out, e->nr_out, 16, len, sector * SECTOR,
				      true, status, 1);
	case VIRTIO_BLK_T_FLUSH:
		return !blk_uring__flush(b->aio, e->head, status, 1);
	}
	return false;
}

/* Returns the number of bytes written into the guest's buffers, or QUEUED
 * if the request went to the io_uring (its completion pushes it). */
static uint32_t do_request(struct virtio_blk *b, struct virtq_elem *e)
{
	struct { uint32_t type, reserved; uint64_t sector; } hdr;
	uint8_t status = VIRTIO_BLK_S_OK;
	size_t data_in = e->in_len ? e->in_len - 1 : 0;
	uint32_t written = 0;
	uint64_t sector;
	int ret = 0;

	if (e->out_len < sizeof(hdr) || e->in_len < 1) {
		guest_err("%s: request without header or status byte", b->name);
		return 0;
	}
	iov_to_buf(e->out, e->nr_out, 0, &hdr, sizeof(hdr));
	sector = le64toh(hdr.sector);
	switch (le32toh(hdr.type)) {
	case VIRTIO_BLK_T_IN:
		if (!range_ok(b, sector, data_in)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		if (try_async(b, e, VIRTIO_BLK_T_IN, sector, data_in))
			return QUEUED;
		ret = rw_segments(b, e->in, e->nr_in, 0, data_in, sector * SECTOR, false);
		written = (uint32_t)data_in;
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->bd->readonly) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		if (!range_ok(b, sector, e->out_len - sizeof(hdr))) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		if (try_async(b, e, VIRTIO_BLK_T_OUT, sector, e->out_len - sizeof(hdr)))
			return QUEUED;
		ret = rw_segments(b, e->out, e->nr_out, sizeof(hdr), e->out_len - sizeof(hdr),
				  sector * SECTOR, true);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (try_async(b, e, VIRTIO_BLK_T_FLUSH, 0, 0))
			return QUEUED;
		ret = block__flush(b->bd);
		break;
	case VIRTIO_BLK_T_GET_ID: {
		size_t n = data_in < sizeof(b->serial) ? data_in : sizeof(b->serial);
		written = (uint32_t)buf_to_iov(e->in, e->nr_in, 0, b->serial, n);
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = b->bd->readonly ? VIRTIO_BLK_S_IOERR :
			 do_discard(b, e, le32toh(hdr.type) == VIRTIO_BLK_T_WRITE_ZEROES);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (ret) {
		/* ENOSPC, EIO, ... surface to the guest as an I/O error. */
		log_once(LOG_WARN, "%s: I/O error: %s", b->name, strerror(-ret));
		status = VIRTIO_BLK_S_IOERR;
	}
	buf_to_iov(e->in, e->nr_in, e->in_len - 1, &status, 1);
	return written + 1;
}

static void blk_handle_queue(struct virtio_dev *dev, struct virtqueue *vq)
{
	struct virtio_blk *b = dev->opaque;

	do {
		while (virtq__pop(vq, &b->elem) == 1) {
			uint32_t written;

			/* A head is the guest's until we push it: reusing one
			 * that is still in flight is a driver bug we must not
			 * answer twice. */
			if (b->aio && blk_uring__busy(b->aio, b->elem.head)) {
				virtio__set_broken(dev, "request head reused while in flight");
				break;
			}
			written = do_request(b, &b->elem);
			if (written != QUEUED)
				virtq__push(vq, &b->elem, written);
		}
		if (b->aio)
			blk_uring__submit(b->aio);
		virtq__notify(vq);
	} while (virtq__enable_kicks(vq));
}

static void blk_handle_fd(struct virtio_dev *dev, int fd)
{
	struct virtio_blk *b = dev->opaque;

	if (b->aio && fd == blk_uring__eventfd(b->aio))
		blk_uring__complete(b->aio, &dev->vqs[0]);
}

static void blk_config_read(struct virtio_dev *dev, unsigned off, void *data, unsigned len)
{
	struct virtio_blk *b = dev->opaque;

	if (off + len <= sizeof(b->cfg))
		memcpy(data, (uint8_t *)&b->cfg + off, len);
}

static void blk_reset(struct virtio_dev *dev)
{
	struct virtio_blk *b = dev->opaque;

	/* In-flight requests belong to rings that are going away: let them
	 * finish (regular-file I/O cannot really be cancelled) and drop them
	 * before the queues are reset under us. */
	if (b->aio)
		blk_uring__drain(b->aio);
	block__flush(b->bd);
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.handle_queue = blk_handle_queue,
	.handle_fd = blk_handle_fd,
	.reset = blk_reset,
};

struct virtio_dev *virtio_blk__new(struct vm *vm, const struct disk_config *c, int *err)
{
	struct virtio_blk *b;
	unsigned flags = (c->readonly ? BLOCK_OPEN_RDONLY : 0) | (c->cache_none ? BLOCK_OPEN_DIRECT : 0);
	const char *base;
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b) {
		pr_err("--disk %s: out of memory", c->path);
		*err = -ENOMEM;
		return NULL;
	}
	/* block__open names the file and the reason on failure. */
	ret = block__open(c->path, c->format, flags, &b->bd);
	if (ret) {
		free(b);
		*err = ret;
		return NULL;
	}
	base = strrchr(c->path, '/') ? strrchr(c->path, '/') + 1 : c->path;
	snprintf(b->name, sizeof(b->name), "virtio-blk(%.18s)", base);
	/* The ID is 20 bytes, NUL-padded but not necessarily terminated. */
	memcpy(b->serial, base, strlen(base) < sizeof(b->serial) ? strlen(base) : sizeof(b->serial));
	b->cfg.capacity = htole64(b->bd->size / SECTOR);
	b->cfg.size_max = htole32(SIZE_MAX_BYTES);
	b->cfg.seg_max = htole32(SEG_MAX);
	b->cfg.blk_size = htole32(512);
	b->cfg.num_queues = htole16(1);
	b->cfg.max_discard_sectors = htole32(MAX_DISCARD_SECTORS);
	b->cfg.max_discard_seg = htole32(1);
	b->cfg.discard_sector_alignment = htole32(1);
	b->cfg.max_write_zeroes_sectors = htole32(MAX_DISCARD_SECTORS);
	b->cfg.max_write_zeroes_seg = htole32(1);

	b->vdev.ops = &blk_ops;
	b->vdev.opaque = b;
	b->vdev.vm = vm;
	b->vdev.name = b->name;
	b->vdev.device_id = VIRTIO_ID_BLOCK;
	b->vdev.pci_class = 0x018000;
	b->vdev.nr_queues = 1;
	b->vdev.vqs[0].dev = &b->vdev;
	b->vdev.config_len = sizeof(b->cfg);
	b->vdev.host_features = (1ull << VIRTIO_F_RING_EVENT_IDX) | (1ull << VIRTIO_F_RING_INDIRECT_DESC) |
		(1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
		(1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_FLUSH) |
		(c->readonly ? (1ull << VIRTIO_BLK_F_RO) :
		 (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	/* Only raw images go async: qcow2's metadata I/O is synchronous and
	 * interleaves with data I/O, and raw never has a backing file. */
	if (!c->aio_sync && b->bd->drv == &block_raw && !b->bd->backing) {
		b->aio = blk_uring__new(b->bd->fd, b->bd->direct, b->name);
		if (b->aio && virtio__worker_add_fd(&b->vdev, blk_uring__eventfd(b->aio))) {
			blk_uring__free(b->aio);
			b->aio = NULL;
		}
	}
	return &b->vdev;
}

void virtio_blk__free(struct virtio_dev *dev)
{
	struct virtio_blk *b = dev->opaque;

	blk_uring__free(b->aio);
	block__close(b->bd);
	free(b);
}

int virtio_blk__create(struct vm *vm, const struct disk_config *c)
{
	struct virtio_dev *dev;
	int ret = 0;

	dev = virtio_blk__new(vm, c, &ret);
	if (!dev)
		return ret;
	ret = virtio_pci__register(vm, dev);
	if (ret) {
		pr_err("--disk %s: cannot attach the device: %s", c->path, strerror(-ret));
		virtio_blk__free(dev);
	}
	return ret;
}

int disk_config__parse(const char *arg, struct disk_config *out)
{
	char *s = strdup(arg), *save = NULL, *tok;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	tok = strtok_r(s, ",", &save);
	if (!tok || !*tok) {
		fprintf(stderr, "vireo run: --disk %s: missing path\n", arg);
		ret = -EINVAL;
		goto out;
	}
	out->path = strdup(tok);
	while (!ret && (tok = strtok_r(NULL, ",", &save))) {
		if (!strcmp(tok, "format=raw"))
			out->format = BLOCK_FMT_RAW;
		else if (!strcmp(tok, "format=qcow2"))
			out->format = BLOCK_FMT_QCOW2;
		else if (!strcmp(tok, "readonly=on"))
			out->readonly = true;
		else if (!strcmp(tok, "readonly=off"))
			out->readonly = false;
		else if (!strcmp(tok, "cache=none"))
			out->cache_none = true;
		else if (!strcmp(tok, "cache=writeback"))
			out->cache_none = false;
		else if (!strcmp(tok, "aio=io_uring"))
			out->aio_sync = false;
		else if (!strcmp(tok, "aio=sync"))
			out->aio_sync = true;
		else {
			fprintf(stderr, "vireo run: --disk %s: unknown option '%s' (format=raw|qcow2, "
				"readonly=on|off, cache=none|writeback, aio=io_uring|sync)\n", arg, tok);
			ret = -EINVAL;
		}
	}
out:
	free(s);
	return ret;
}
