/* Image creation.  qcow2 images are v3 (compat 1.1) with 16-bit refcounts,
 * QEMU's default layout: header, refcount table, one refcount block, L1. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "util/log.h"

static int create_raw(int fd, const struct block_create_opts *o)
{
	return ftruncate(fd, (off_t)o->size) ? -errno : 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static int create_qcow2(int fd, const char *path, const struct block_create_opts *o)
{
	unsigned bits = o->cluster_bits ? o->cluster_bits : QCOW2_DEFAULT_CLUSTER_BITS;
	uint64_t cs = 1ull << bits, l2_entries = cs / 8;
	uint64_t per_l1 = cs * l2_entries;
	uint64_t l1_size = (o->size + per_l1 - 1) / per_l1;
	uint64_t l1_clusters = (l1_size * 8 + cs - 1) / cs;
	uint64_t meta_clusters = 3 + l1_clusters;
	uint64_t rb_entries = cs / 2;
	size_t blen = o->backing ? strlen(o->backing) : 0;
	uint8_t *c;
	uint64_t pos;
	int ret;

	if (bits < QCOW2_MIN_CLUSTER_BITS || bits > QCOW2_MAX_CLUSTER_BITS) {
		pr_err("cluster_size: must be a power of two between 512 and 2M");
		return -EINVAL;
	}
	if (l1_size * 8 > QCOW2_MAX_L1_BYTES || meta_clusters > rb_entries) {
		pr_err("%s: size too large for this cluster size", path);
		return -EINVAL;
	}
	if (blen > QCOW2_MAX_BACKING_NAME) {
		pr_err("%s: backing file name too long", path);
		return -EINVAL;
	}
	c = calloc(meta_clusters, cs);
	if (!c)
		return -ENOMEM;

	put_be32(c + 0, QCOW2_MAGIC);
	put_be32(c + 4, 3);
	put_be32(c + 20, bits);
	put_be64(c + 24, o->size);
	put_be32(c + 36, (uint32_t)l1_size);
	put_be64(c + 40, 3 * cs);             /* L1 */
	put_be64(c + 48, 1 * cs);             /* refcount table */
	put_be32(c + 56, 1);
	put_be32(c + 96, 4);                  /* refcount_order: 16 bits */
	put_be32(c + 100, QCOW2_V3_HEADER_LEN);
	pos = QCOW2_V3_HEADER_LEN;
	if (o->backing && o->backing_fmt != BLOCK_FMT_AUTO) {
		const char *fmt = o->backing_fmt == BLOCK_FMT_QCOW2 ? "qcow2" : "raw";
		put_be32(c + pos, QCOW2_EXT_BACKING_FMT);
		put_be32(c + pos + 4, (uint32_t)strlen(fmt));
		memcpy(c + pos + 8, fmt, strlen(fmt));
		pos += 8 + ((strlen(fmt) + 7) & ~7ull);
	}
	put_be32(c + pos, QCOW2_EXT_END); /* end of extensions: type 0, length 0 */
	pos += 8;
	if (o->backing) {
		if (pos + blen > cs) {
			pr_err("%s: backing file name does not fit in the header cluster", path);
			free(c);
			return -EINVAL;
		}
		put_be64(c + 8, pos);
		put_be32(c + 16, (uint32_t)blen);
		memcpy(c + pos, o->backing, blen);
	}
	put_be64(c + cs, 2 * cs);             /* refcount table[0] -> block at cluster 2 */
	for (uint64_t i = 0; i < meta_clusters; i++) {
		uint8_t *e = c + 2 * cs + i * 2;  /* 16-bit big-endian refcounts */
		e[0] = 0;
		e[1] = 1;
	}
	ret = block__pwrite_full(fd, c, meta_clusters * cs, 0);
	free(c);
	return ret;
}

int block__create(const char *path, struct block_create_opts *o)
{
	struct block_create_opts opts = *o;
	int fd, ret;

	if (opts.backing && opts.fmt != BLOCK_FMT_QCOW2) {
		pr_err("%s: only qcow2 images can have a backing file", path);
		return -EINVAL;
	}
	if (opts.backing) {
		/* Validate the backing file (and take its size) now, so a bad
		 * chain is caught at creation, not at the guest's first read. */
		struct blockdev *b;
		ret = block__open(opts.backing, opts.backing_fmt, BLOCK_OPEN_RDONLY | BLOCK_OPEN_NOLOCK, &b);
		if (ret)
			return ret;
		if (!opts.size)
			opts.size = b->size;
		if (opts.backing_fmt == BLOCK_FMT_AUTO)
			opts.backing_fmt = b->drv == &block_qcow2 ? BLOCK_FMT_QCOW2 : BLOCK_FMT_RAW;
		block__close(b);
	}
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		pr_err("%s: %s", path, strerror(errno));
		return ret;
	}
	ret = opts.fmt == BLOCK_FMT_QCOW2 ? create_qcow2(fd, path, &opts) : create_raw(fd, &opts);
	*o = opts;
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (ret) {
		if (ret != -EINVAL)
			pr_err("%s: %s", path, strerror(-ret));
		unlink(path);
	}
	return ret;
}
