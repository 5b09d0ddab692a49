/* qcow2: header parsing, validation, the L2 cache and the read path. */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "block/qcow2.h"
#include "util/log.h"

static bool qcow2_probe(const uint8_t *buf, size_t len)
{
	uint32_t magic;

	if (len < 4)
		return false;
	memcpy(&magic, buf, 4);
	return be32toh(magic) == QCOW2_MAGIC;
}

static void header_to_host(struct qcow2_header *h)
{
	h->magic = be32toh(h->magic);
	h->version = be32toh(h->version);
	h->backing_file_offset = be64toh(h->backing_file_offset);
	h->backing_file_size = be32toh(h->backing_file_size);
	h->cluster_bits = be32toh(h->cluster_bits);
	h->size = be64toh(h->size);
	h->crypt_method = be32toh(h->crypt_method);
	h->l1_size = be32toh(h->l1_size);
	h->l1_table_offset = be64toh(h->l1_table_offset);
	h->refcount_table_offset = be64toh(h->refcount_table_offset);
	h->refcount_table_clusters = be32toh(h->refcount_table_clusters);
	h->nb_snapshots = be32toh(h->nb_snapshots);
	h->snapshots_offset = be64toh(h->snapshots_offset);
	h->incompatible_features = be64toh(h->incompatible_features);
	h->compatible_features = be64toh(h->compatible_features);
	h->autoclear_features = be64toh(h->autoclear_features);
	h->refcount_order = be32toh(h->refcount_order);
	h->header_length = be32toh(h->header_length);
}

bool qcow2__host_range_ok(struct qcow2 *q, uint64_t off, uint64_t len)
{
	uint64_t limit = q->file_end > q->file_size ? q->file_end : q->file_size;

	return off <= limit && len <= limit - off;
}

/* Read the header extensions (v3: after header_length; v2: after 72). */
static int read_extensions(struct blockdev *bd, struct qcow2 *q, const uint8_t *c0)
{
	uint64_t pos = q->h.version >= 3 ? q->h.header_length : QCOW2_V2_HEADER_LEN;
	uint64_t end = q->cluster_size;

	if (q->h.backing_file_offset && q->h.backing_file_offset < end)
		end = q->h.backing_file_offset;
	while (pos + 8 <= end) {
		uint32_t type, len;

		memcpy(&type, c0 + pos, 4);
		memcpy(&len, c0 + pos + 4, 4);
		type = be32toh(type);
		len = be32toh(len);
		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos) {
			pr_err("%s: corrupt qcow2 header extension (length %u)", bd->path, len);
			return -EINVAL;
		}
		if (type == QCOW2_EXT_BACKING_FMT) {
			size_t n = len < sizeof(q->backing_fmt) - 1 ? len : sizeof(q->backing_fmt) - 1;
			memcpy(q->backing_fmt, c0 + pos, n);
			q->backing_fmt[n] = '\0';
		}
		pos += (len + 7u) & ~7u;
	}
	return 0;
}

static int open_backing(struct blockdev *bd, struct qcow2 *q, const uint8_t *c0, int depth)
{
	char name[QCOW2_MAX_BACKING_NAME + 1], path[4096];
	enum block_format fmt = BLOCK_FMT_AUTO;
	uint32_t n = q->h.backing_file_size;
	uint64_t off = q->h.backing_file_offset;

	if (!off)
		return 0;
	if (n == 0 || n > QCOW2_MAX_BACKING_NAME || off >= q->cluster_size ||
	    n > q->cluster_size - off) {
		pr_err("%s: corrupt qcow2 backing file name (offset %llu, length %u)", bd->path,
		       (unsigned long long)off, n);
		return -EINVAL;
	}
	memcpy(name, c0 + off, n);
	name[n] = '\0';
	if (memchr(name, '\0', n)) {
		pr_err("%s: corrupt qcow2 backing file name", bd->path);
		return -EINVAL;
	}
	/* Relative names are relative to the overlay's directory, as in QEMU. */
	if (name[0] != '/' && strchr(bd->path, '/')) {
		int dirlen = (int)(strrchr(bd->path, '/') - bd->path);
		snprintf(path, sizeof(path), "%.*s/%s", dirlen, bd->path, name);
	} else {
		snprintf(path, sizeof(path), "%s", name);
	}
	if (q->backing_fmt[0]) {
		fmt = block__parse_format(q->backing_fmt);
		if ((int)fmt < 0) {
			pr_err("%s: unsupported backing format '%s'", bd->path, q->backing_fmt);
			return -ENOTSUP;
		}
	}
	/* The backing file is never written through an overlay. */
	return block__open_depth(path, fmt, BLOCK_OPEN_RDONLY | BLOCK_OPEN_NOLOCK, depth + 1,
				 &bd->backing);
}

static int validate_header(struct blockdev *bd, struct qcow2 *q)
{
	struct qcow2_header *h = &q->h;
	const char *why = NULL;

	if (h->magic != QCOW2_MAGIC)
		why = "bad magic";
	else if (h->version != 2 && h->version != 3)
		why = "unsupported qcow2 version";
	else if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		why = "cluster size out of range";
	else if (h->crypt_method)
		why = "encrypted images are not supported";
	else if (h->version >= 3 && (h->header_length < QCOW2_V3_HEADER_LEN ||
				     h->header_length > (1u << h->cluster_bits) || (h->header_length & 7)))
		why = "bad header length";
	else if (h->version >= 3 && (h->incompatible_features & ~QCOW2_INCOMPAT_KNOWN))
		why = "unsupported incompatible features (external data file, extended L2 or zstd?)";
	else if (h->version >= 3 && (h->incompatible_features & QCOW2_INCOMPAT_CORRUPT) && !bd->readonly)
		why = "image is marked corrupt; open it read-only or repair it with qemu-img check -r all";
	else if (h->version >= 3 && (h->refcount_order < 3 || h->refcount_order > 6))
		why = "refcount widths below 8 bits are not supported";
	else if (h->size > (1ull << 56))
		why = "virtual size too large";
	if (why) {
		pr_err("%s: %s", bd->path, why);
		return -EINVAL;
	}
	if (h->version == 2) {
		/* Those fields are v3-only: in a v2 file the bytes are extensions. */
		h->incompatible_features = h->compatible_features = h->autoclear_features = 0;
		h->refcount_order = 4;
		h->header_length = QCOW2_V2_HEADER_LEN;
	}
	q->cluster_size = 1ull << h->cluster_bits;
	q->l2_bits = h->cluster_bits - 3;
	q->l2_entries = 1ull << q->l2_bits;
	q->refcount_bytes = (1u << h->refcount_order) / 8;
	q->rb_entries = q->cluster_size / q->refcount_bytes;

	/* L1 must cover the disk; tables must lie inside the file. */
	{
		uint64_t per_l1 = q->cluster_size * q->l2_entries;
		uint64_t need = (h->size + per_l1 - 1) / per_l1;
		uint64_t l1_bytes = (uint64_t)h->l1_size * 8;
		uint64_t rt_bytes = (uint64_t)h->refcount_table_clusters * q->cluster_size;

		if (h->l1_size < need || l1_bytes > QCOW2_MAX_L1_BYTES)
			why = "L1 table size does not match the disk size";
		else if ((h->l1_table_offset & (q->cluster_size - 1)) ||
			 (l1_bytes && !qcow2__host_range_ok(q, h->l1_table_offset, l1_bytes)))
			why = "L1 table lies outside the file";
		else if (!h->refcount_table_clusters || rt_bytes > QCOW2_MAX_RT_BYTES ||
			 (h->refcount_table_offset & (q->cluster_size - 1)) ||
			 !qcow2__host_range_ok(q, h->refcount_table_offset, rt_bytes))
			why = "refcount table lies outside the file";
		if (why) {
			pr_err("%s: corrupt qcow2 image: %s", bd->path, why);
			return -EINVAL;
		}
	}
	if (h->nb_snapshots && !bd->readonly) {
		pr_err("%s: images with internal snapshots can only be opened read-only", bd->path);
		return -ENOTSUP;
	}
	return 0;
}

static int load_tables(struct blockdev *bd, struct qcow2 *q)
{
	uint64_t rt_bytes = (uint64_t)q->h.refcount_table_clusters * q->cluster_size;
	int ret;

	q->l1 = calloc(q->h.l1_size ? q->h.l1_size : 1, 8);
	q->rt_entries = rt_bytes / 8;
	q->rt = calloc(q->rt_entries, 8);
	if (!q->l1 || !q->rt)
		return -ENOMEM;
	ret = block__pread_full(bd->fd, q->l1, (size_t)q->h.l1_size * 8, q->h.l1_table_offset);
	if (!ret)
		ret = block__pread_full(bd->fd, q->rt, rt_bytes, q->h.refcount_table_offset);
	if (ret) {
		pr_err("%s: reading qcow2 tables: %s", bd->path, strerror(-ret));
		return ret;
	}
	for (uint32_t i = 0; i < q->h.l1_size; i++) {
		q->l1[i] = be64toh(q->l1[i]);
		if (q->l1[i] & QCOW2_L1_RESERVED) {
			pr_err("%s: corrupt qcow2 image: reserved bits set in L1 entry %u", bd->path, i);
			return -EINVAL;
		}
	}
	for (uint64_t i = 0; i < q->rt_entries; i++)
		q->rt[i] = be64toh(q->rt[i]);
	return 0;
}

static void qcow2_close(struct blockdev *bd)
{
	struct qcow2 *q = bd->priv;

	if (!q)
		return;
	for (int i = 0; i < QCOW2_L2_CACHE; i++)
		free(q->l2[i].table);
	free(q->l1);
	free(q->rt);
	free(q->rb);
	free(q->cbuf);
	free(q->zin);
	free(q->zcache);
	free(q);
	bd->priv = NULL;
}

static int qcow2_open(struct blockdev *bd, unsigned flags, int depth)
{
	struct qcow2 *q;
	uint8_t *c0 = NULL;
	struct stat st;
	int ret;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	bd->priv = q;
	if (fstat(bd->fd, &st)) {
		ret = -errno;
		goto err;
	}
	q->file_size = (uint64_t)st.st_size;
	if (q->file_size < QCOW2_V2_HEADER_LEN) {
		pr_err("%s: truncated qcow2 header (%llu bytes)", bd->path,
		       (unsigned long long)q->file_size);
		ret = -EINVAL;
		goto err;
	}
	ret = block__pread_full(bd->fd, &q->h, sizeof(q->h), 0);
	if (ret)
		goto err;
	header_to_host(&q->h);
	ret = validate_header(bd, q);
	if (ret)
		goto err;
	q->file_end = (q->file_size + q->cluster_size - 1) & ~(q->cluster_size - 1);
	q->cbuf = malloc(q->cluster_size);
	q->zin = malloc(2 * q->cluster_size);
	q->zcache = malloc(q->cluster_size);
	q->rb = malloc(q->cluster_size);
	c0 = calloc(1, q->cluster_size);
	if (!q->cbuf || !q->zin || !q->zcache || !q->rb || !c0) {
		ret = -ENOMEM;
		goto err;
	}
	q->zcache_off = ~0ull;
	ret = block__pread_full(bd->fd, c0, q->cluster_size, 0);
	if (ret)
		goto err;
	ret = read_extensions(bd, q, c0);
	if (!ret)
		ret = load_tables(bd, q);
	if (!ret)
		ret = open_backing(bd, q, c0, depth);
	if (ret)
		goto err;
	bd->size = q->h.size;
	free(c0);
	return 0;
err:
	free(c0);
	qcow2_close(bd);
	return ret;
}

int qcow2__get_l2(struct blockdev *bd, uint64_t l1_index, struct qcow2_l2_slot **slot)
{
	struct qcow2 *q = bd->priv;
	uint64_t off = q->l1[l1_index] & QCOW2_OFFSET_MASK;
	struct qcow2_l2_slot *victim = &q->l2[0];
	int ret;

	if (!off) {
		*slot = NULL;
		return 0;
	}
	for (int i = 0; i < QCOW2_L2_CACHE; i++) {
		if (q->l2[i].offset == off) {
			q->l2[i].used = ++q->l2_clock;
			*slot = &q->l2[i];
			return 0;
		}
		if (q->l2[i].used < victim->used)
			victim = &q->l2[i];
	}
	if ((off & (q->cluster_size - 1)) || !qcow2__host_range_ok(q, off, q->cluster_size)) {
		guest_err("%s: L2 table at %#llx lies outside the file", bd->path, (unsigned long long)off);
		return -EIO;
	}
	if (!victim->table) {
		victim->table = malloc(q->cluster_size);
		if (!victim->table)
			return -ENOMEM;
	}
	victim->offset = 0;
	ret = block__pread_full(bd->fd, victim->table, q->cluster_size, off);
	if (ret)
		return ret;
	victim->offset = off;
	victim->used = ++q->l2_clock;
	*slot = victim;
	return 0;
}

int qcow2__classify(struct qcow2 *q, uint64_t e, enum qcow2_cluster_type *type)
{
	if (e & QCOW2_OFLAG_COMPRESSED) {
		*type = QC_COMPRESSED;
		return 0;
	}
	if (e & QCOW2_L2_RESERVED)
		return -EIO;
	if (q->h.version >= 3 && (e & QCOW2_OFLAG_ZERO)) {
		*type = QC_ZERO;
		return 0;
	}
	*type = (e & QCOW2_OFFSET_MASK) ? QC_NORMAL : QC_UNALLOCATED;
	return 0;
}

void qcow2__compressed_range(struct qcow2 *q, uint64_t e, uint64_t *host, uint64_t *len)
{
	unsigned x = 62 - (q->h.cluster_bits - 8);
	uint64_t off = e & ((1ull << x) - 1);
	uint64_t sectors = ((e & ~QCOW2_OFLAG_COPIED & ~QCOW2_OFLAG_COMPRESSED) >> x) + 1;

	*host = off;
	*len = sectors * 512 - (off & 511);
}

static int read_compressed(struct blockdev *bd, uint64_t e, uint64_t guest_cluster)
{
	struct qcow2 *q = bd->priv;
	uint64_t host, clen;
	z_stream z;
	int ret;

	if (q->zcache_off == guest_cluster)
		return 0;
	qcow2__compressed_range(q, e, &host, &clen);
	if (clen > 2 * q->cluster_size || !qcow2__host_range_ok(q, host, clen))
		return -EIO;
	ret = block__pread_full(bd->fd, q->zin, clen, host);
	if (ret)
		return ret;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return -ENOMEM;
	z.next_in = q->zin;
	z.avail_in = (uInt)clen;
	z.next_out = q->zcache;
	z.avail_out = (uInt)q->cluster_size;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	/* The stored size is rounded up to sectors: trailing bytes are fine
	 * as long as a whole cluster came out. */
	if ((ret != Z_STREAM_END && ret != Z_BUF_ERROR) || z.avail_out != 0)
		return -EIO;
	q->zcache_off = guest_cluster;
	return 0;
}

/* Read [off, off+len) lying within one cluster. */
int qcow2__read_cluster_range(struct blockdev *bd, void *buf, uint64_t off, size_t len)
{
	struct qcow2 *q = bd->priv;
	uint64_t l1_index = off >> (q->h.cluster_bits + q->l2_bits);
	uint64_t l2_index = (off >> q->h.cluster_bits) & (q->l2_entries - 1);
	uint64_t in_cluster = off & (q->cluster_size - 1);
	struct qcow2_l2_slot *slot = NULL;
	enum qcow2_cluster_type type = QC_UNALLOCATED;
	uint64_t e = 0;
	int ret;

	if (l1_index >= q->h.l1_size)
		return -EIO;
	ret = qcow2__get_l2(bd, l1_index, &slot);
	if (ret)
		return ret;
	if (slot) {
		e = be64toh(slot->table[l2_index]);
		if (qcow2__classify(q, e, &type)) {
			guest_err("%s: corrupt L2 entry %#llx", bd->path, (unsigned long long)e);
			return -EIO;
		}
	}
	switch (type) {
	case QC_UNALLOCATED:
		if (bd->backing && off < bd->backing->size) {
			size_t n = len;
			if (n > bd->backing->size - off)
				n = (size_t)(bd->backing->size - off);
			ret = block__read(bd->backing, buf, off, n);
			if (ret)
				return ret;
			memset((uint8_t *)buf + n, 0, len - n);
			return 0;
		}
		/* fall through */
	case QC_ZERO:
		memset(buf, 0, len);
		return 0;
	case QC_NORMAL: {
		uint64_t host = e & QCOW2_OFFSET_MASK;
		if ((host & (q->cluster_size - 1)) || !qcow2__host_range_ok(q, host, q->cluster_size)) {
			guest_err("%s: data cluster at %#llx lies outside the file", bd->path,
				  (unsigned long long)host);
			return -EIO;
		}
		return block__pread_full(bd->fd, buf, len, host + in_cluster);
	}
	case QC_COMPRESSED:
		ret = read_compressed(bd, e, off - in_cluster);
		if (ret) {
			guest_err("%s: bad compressed cluster at guest offset %#llx", bd->path,
				  (unsigned long long)off);
			return ret;
		}
		memcpy(buf, q->zcache + in_cluster, len);
		return 0;
	}
	return -EIO;
}

int qcow2__per_cluster(struct blockdev *bd, uint8_t *buf, uint64_t off, size_t len,
		       int (*fn)(struct blockdev *, uint8_t *, uint64_t, size_t))
{
	struct qcow2 *q = bd->priv;

	while (len) {
		size_t n = q->cluster_size - (off & (q->cluster_size - 1));
		int ret;

		if (n > len)
			n = len;
		ret = fn(bd, buf, off, n);
		if (ret)
			return ret;
		buf += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int read_piece(struct blockdev *bd, uint8_t *buf, uint64_t off, size_t len)
{
	return qcow2__read_cluster_range(bd, buf, off, len);
}

static int qcow2_read(struct blockdev *bd, void *buf, uint64_t off, size_t len)
{
	return qcow2__per_cluster(bd, buf, off, len, read_piece);
}

static int qcow2_is_allocated(struct blockdev *bd, uint64_t off, uint64_t len, bool *allocated)
{
	struct qcow2 *q = bd->priv;
	uint64_t end = off + len;

	*allocated = false;
	for (off &= ~(q->cluster_size - 1); off < end; off += q->cluster_size) {
		uint64_t l1_index = off >> (q->h.cluster_bits + q->l2_bits);
		struct qcow2_l2_slot *slot;
		enum qcow2_cluster_type type;
		int ret = qcow2__get_l2(bd, l1_index, &slot);

		if (ret)
			return ret;
		if (!slot)
			continue;
		if (qcow2__classify(q, be64toh(slot->table[(off >> q->h.cluster_bits) &
							     (q->l2_entries - 1)]), &type))
			return -EIO;
		if (type == QC_NORMAL || type == QC_COMPRESSED) {
			*allocated = true;
			return 0;
		}
	}
	return 0;
}

static int qcow2_write(struct blockdev *bd, const void *buf, uint64_t off, size_t len)
{
	return qcow2__write(bd, buf, off, len);
}

static int qcow2_discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
	return qcow2__discard(bd, off, len);
}

static int qcow2_flush(struct blockdev *bd)
{
	return qcow2__flush(bd);
}

const struct block_driver block_qcow2 = {
	.name = "qcow2",
	.probe = qcow2_probe,
	.open = qcow2_open,
	.read = qcow2_read,
	.write = qcow2_write,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.is_allocated = qcow2_is_allocated,
	.close = qcow2_close,
};
