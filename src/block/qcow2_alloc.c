/* qcow2 write path: refcounts, cluster allocation, copy-on-write.
 *
 * Crash safety (SIGKILL of vireo, not power loss: the kernel keeps every
 * completed write()): metadata is updated in an order that can only leak
 * clusters, never corrupt data.  A new cluster's refcount is written
 * before anything points to it; a freed cluster's pointer is removed before
 * its refcount drops.  `vireo img check` / `qemu-img check` report leaks as
 * harmless wasted space. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "util/log.h"

uint64_t qcow2__rc_get(const struct qcow2 *q, const uint8_t *block, uint64_t idx)
{
	const uint8_t *p = block + idx * q->refcount_bytes;
	uint64_t v = 0;

	for (unsigned i = 0; i < q->refcount_bytes; i++)
		v = (v << 8) | p[i];
	return v;
}

void qcow2__rc_put(const struct qcow2 *q, uint8_t *block, uint64_t idx, uint64_t v)
{
	uint8_t *p = block + idx * q->refcount_bytes;

	for (int i = (int)q->refcount_bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static int load_refblock(struct blockdev *bd, uint64_t rb_off)
{
	struct qcow2 *q = bd->priv;
	int ret;

	if (q->rb_offset == rb_off)
		return 0;
	if ((rb_off & (q->cluster_size - 1)) || !qcow2__host_range_ok(q, rb_off, q->cluster_size)) {
		guest_err("%s: refcount block at %#llx lies outside the file", bd->path,
			  (unsigned long long)rb_off);
		return -EIO;
	}
	q->rb_offset = 0;
	ret = block__pread_full(bd->fd, q->rb, q->cluster_size, rb_off);
	if (ret)
		return ret;
	q->rb_offset = rb_off;
	return 0;
}

int qcow2__get_refcount(struct blockdev *bd, uint64_t host_off, uint64_t *ref)
{
	struct qcow2 *q = bd->priv;
	uint64_t cluster = host_off >> q->h.cluster_bits;
	uint64_t rt_index = cluster / q->rb_entries;
	uint64_t rb_off;
	int ret;

	if (rt_index >= q->rt_entries) {
		*ref = 0;
		return 0;
	}
	rb_off = q->rt[rt_index] & ~(q->cluster_size - 1);
	if (!rb_off) {
		*ref = 0;
		return 0;
	}
	ret = load_refblock(bd, rb_off);
	if (ret)
		return ret;
	*ref = qcow2__rc_get(q, q->rb, cluster % q->rb_entries);
	return 0;
}

/* Give refcount block index rt_index a cluster.  The new block describes
 * itself when it falls in its own range, which is the common case since
 * it is allocated at the end of the file. */
static int alloc_refblock(struct blockdev *bd, uint64_t rt_index)
{
	struct qcow2 *q = bd->priv;
	uint64_t rb_off = q->file_end, be;
	uint64_t own = rb_off >> q->h.cluster_bits;
	int ret;

	q->file_end += q->cluster_size;
	memset(q->rb, 0, q->cluster_size);
	q->rb_offset = 0;
	if (own / q->rb_entries == rt_index)
		qcow2__rc_put(q, q->rb, own % q->rb_entries, 1);
	ret = block__pwrite_full(bd->fd, q->rb, q->cluster_size, rb_off);
	if (ret)
		return ret;
	q->rb_offset = rb_off;
	if (own / q->rb_entries != rt_index) {
		ret = qcow2__set_refcount(bd, rb_off, 1);
		if (ret)
			return ret;
	}
	be = htobe64(rb_off);
	ret = block__pwrite_full(bd->fd, &be, 8, q->h.refcount_table_offset + rt_index * 8);
	if (ret)
		return ret;
	q->rt[rt_index] = rb_off;
	return 0;
}

int qcow2__set_refcount(struct blockdev *bd, uint64_t host_off, uint64_t ref)
{
	struct qcow2 *q = bd->priv;
	uint64_t cluster = host_off >> q->h.cluster_bits;
	uint64_t rt_index = cluster / q->rb_entries;
	uint64_t idx = cluster % q->rb_entries;
	uint8_t entry[8];
	int ret;

	if (rt_index >= q->rt_entries) {
		log_once(LOG_ERROR, "%s: qcow2 refcount table is full (image larger than it "
			 "was created for)", bd->path);
		return -ENOSPC;
	}
	if (!(q->rt[rt_index] & ~(q->cluster_size - 1))) {
		ret = alloc_refblock(bd, rt_index);
		if (ret)
			return ret;
	}
	ret = load_refblock(bd, q->rt[rt_index] & ~(q->cluster_size - 1));
	if (ret)
		return ret;
	qcow2__rc_put(q, q->rb, idx, ref);
	memcpy(entry, q->rb + idx * q->refcount_bytes, q->refcount_bytes);
	return block__pwrite_full(bd->fd, entry, q->refcount_bytes,
				  q->rb_offset + idx * q->refcount_bytes);
}

int qcow2__alloc_cluster(struct blockdev *bd, uint64_t *host_off)
{
	struct qcow2 *q = bd->priv;
	uint64_t off = q->file_end;
	int ret;

	if (off >> 56) /* offsets are 56-bit in L1/L2 entries */
		return -ENOSPC;
	q->file_end += q->cluster_size;
	ret = qcow2__set_refcount(bd, off, 1);
	if (ret) {
		q->file_end = off;
		return ret;
	}
	*host_off = off;
	return 0;
}

static int free_cluster_ref(struct blockdev *bd, uint64_t host_off)
{
	uint64_t ref;
	int ret = qcow2__get_refcount(bd, host_off, &ref);

	if (ret)
		return ret;
	return ref ? qcow2__set_refcount(bd, host_off, ref - 1) : 0;
}

static int release_entry(struct blockdev *bd, uint64_t e)
{
	struct qcow2 *q = bd->priv;
	enum qcow2_cluster_type type;

	if (qcow2__classify(q, e, &type))
		return 0;
	if (type == QC_NORMAL)
		return free_cluster_ref(bd, e & QCOW2_OFFSET_MASK);
	if (type == QC_COMPRESSED) {
		uint64_t host, len, c;
		qcow2__compressed_range(q, e, &host, &len);
		for (c = host & ~(q->cluster_size - 1); c < host + len; c += q->cluster_size) {
			int ret = free_cluster_ref(bd, c);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* The L2 table for l1_index, allocated (zeroed) if missing. */
static int get_l2_alloc(struct blockdev *bd, uint64_t l1_index, struct qcow2_l2_slot **slot)
{
	struct qcow2 *q = bd->priv;
	uint64_t off, be;
	int ret;

	ret = qcow2__get_l2(bd, l1_index, slot);
	if (ret || *slot)
		return ret;
	ret = qcow2__alloc_cluster(bd, &off);
	if (ret)
		return ret;
	memset(q->cbuf, 0, q->cluster_size);
	ret = block__pwrite_full(bd->fd, q->cbuf, q->cluster_size, off);
	if (ret)
		return ret;
	be = htobe64(off | QCOW2_OFLAG_COPIED);
	ret = block__pwrite_full(bd->fd, &be, 8, q->h.l1_table_offset + l1_index * 8);
	if (ret)
		return ret;
	q->l1[l1_index] = off | QCOW2_OFLAG_COPIED;
	return qcow2__get_l2(bd, l1_index, slot);
}

static int set_l2_entry(struct blockdev *bd, struct qcow2_l2_slot *slot, uint64_t idx, uint64_t e)
{
	uint64_t be = htobe64(e);
	int ret = block__pwrite_full(bd->fd, &be, 8, slot->offset + idx * 8);

	if (!ret)
		slot->table[idx] = be;
	return ret;
}

/* Write [off, off+len) lying within one cluster. */
static int write_cluster_range(struct blockdev *bd, const void *buf, uint64_t off, size_t len)
{
	struct qcow2 *q = bd->priv;
	uint64_t l1_index = off >> (q->h.cluster_bits + q->l2_bits);
	uint64_t l2_index = (off >> q->h.cluster_bits) & (q->l2_entries - 1);
	uint64_t in_cluster = off & (q->cluster_size - 1);
	uint64_t cluster_start = off - in_cluster;
	struct qcow2_l2_slot *slot;
	enum qcow2_cluster_type type;
	uint64_t e, host;
	int ret;

	if (l1_index >= q->h.l1_size)
		return -EIO;
	ret = get_l2_alloc(bd, l1_index, &slot);
	if (ret)
		return ret;
	e = be64toh(slot->table[l2_index]);
	if (qcow2__classify(q, e, &type))
		return -EIO;
	if (type == QC_NORMAL && (e & QCOW2_OFLAG_COPIED)) {
		host = e & QCOW2_OFFSET_MASK;
		if ((host & (q->cluster_size - 1)) || !qcow2__host_range_ok(q, host, q->cluster_size))
			return -EIO;
		return block__pwrite_full(bd->fd, buf, len, host + in_cluster);
	}

	/* Copy-on-write into a fresh cluster: old content (backing file,
	 * zeros, compressed data) around the new bytes. */
	if (len != q->cluster_size) {
		size_t n = q->cluster_size;
		if (cluster_start + n > bd->size)
			n = (size_t)(bd->size - cluster_start);
		memset(q->cbuf, 0, q->cluster_size);
		ret = qcow2__read_cluster_range(bd, q->cbuf, cluster_start, n);
		if (ret)
			return ret;
	}
	memcpy(q->cbuf + in_cluster, buf, len);
	ret = qcow2__alloc_cluster(bd, &host);
	if (ret)
		return ret;
	ret = block__pwrite_full(bd->fd, q->cbuf, q->cluster_size, host);
	if (ret)
		return ret;
	/* The allocation may have evicted or reloaded nothing in the L2
	 * cache (refcounts use their own buffer), so slot is still valid. */
	ret = set_l2_entry(bd, slot, l2_index, host | QCOW2_OFLAG_COPIED);
	if (ret)
		return ret;
	if (q->zcache_off == cluster_start)
		q->zcache_off = ~0ull;
	return release_entry(bd, e);
}

static int write_piece(struct blockdev *bd, uint8_t *buf, uint64_t off, size_t len)
{
	return write_cluster_range(bd, buf, off, len);
}

int qcow2__write(struct blockdev *bd, const void *buf, uint64_t off, size_t len)
{
	/* The buffer is only read; the helper's pointer is non-const for reads. */
	return qcow2__per_cluster(bd, (uint8_t *)buf, off, len, write_piece);
}

int qcow2__discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
	struct qcow2 *q = bd->priv;
	uint64_t end = off + len;

	/* Only whole clusters can be dropped; partial ones keep their data. */
	off = (off + q->cluster_size - 1) & ~(q->cluster_size - 1);
	for (; off + q->cluster_size <= end; off += q->cluster_size) {
		uint64_t l1_index = off >> (q->h.cluster_bits + q->l2_bits);
		uint64_t l2_index = (off >> q->h.cluster_bits) & (q->l2_entries - 1);
		struct qcow2_l2_slot *slot;
		uint64_t e, repl;
		int ret = qcow2__get_l2(bd, l1_index, &slot);

		if (ret)
			return ret;
		if (!slot)
			continue;
		e = be64toh(slot->table[l2_index]);
		/* With a backing file, an unallocated cluster would show the
		 * backing data again: v3 marks it zero instead. */
		repl = bd->backing ? (q->h.version >= 3 ? QCOW2_OFLAG_ZERO : e) : 0;
		if (repl == e)
			continue;
		ret = set_l2_entry(bd, slot, l2_index, repl);
		if (!ret)
			ret = release_entry(bd, e);
		if (ret)
			return ret;
		if (q->zcache_off == off)
			q->zcache_off = ~0ull;
	}
	return 0;
}

int qcow2__flush(struct blockdev *bd)
{
	return fdatasync(bd->fd) ? -errno : 0;
}
