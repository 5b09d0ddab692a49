/* qcow2 consistency check: rebuild every cluster's expected refcount from
 * the metadata (header, L1/L2 tables, refcount structures, snapshots) and
 * compare it with the stored refcounts.  Stored < expected is corruption
 * (a cluster could be reused while still in use); stored > expected is a
 * leak (wasted space, harmless).  Same classification as qemu-img check. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"
#include "util/log.h"

struct check_ctx {
	struct blockdev *bd;
	struct qcow2 *q;
	uint64_t nclusters;
	uint32_t *expect;
	struct block_check_result *res;
	bool verbose;
};

static void ref_range(struct check_ctx *c, uint64_t off, uint64_t len, const char *what)
{
	uint64_t first = off >> c->q->h.cluster_bits;
	uint64_t last = (off + len - 1) >> c->q->h.cluster_bits;

	if (!len)
		return;
	if (last >= c->nclusters || off + len < off) {
		c->res->corruptions++;
		if (c->verbose)
			fprintf(stderr, "ERROR %s at %#" PRIx64 " lies outside the file\n", what, off);
		return;
	}
	for (uint64_t i = first; i <= last; i++)
		if (c->expect[i] != UINT32_MAX)
			c->expect[i]++;
}

static int check_l2(struct check_ctx *c, uint64_t l2_off, uint64_t *tmp)
{
	struct qcow2 *q = c->q;
	int ret = block__pread_full(c->bd->fd, tmp, q->cluster_size, l2_off);

	if (ret)
		return ret;
	for (uint64_t i = 0; i < q->l2_entries; i++) {
		uint64_t e = be64toh(tmp[i]), host, len;
		enum qcow2_cluster_type type;

		if (qcow2__classify(q, e, &type)) {
			c->res->corruptions++;
			if (c->verbose)
				fprintf(stderr, "ERROR reserved bits set in L2 entry %#" PRIx64 "\n", e);
			continue;
		}
		if (type == QC_NORMAL) {
			host = e & QCOW2_OFFSET_MASK;
			if (host & (q->cluster_size - 1)) {
				c->res->corruptions++;
				continue;
			}
			ref_range(c, host, q->cluster_size, "data cluster");
			c->res->allocated_clusters++;
		} else if (type == QC_COMPRESSED) {
			qcow2__compressed_range(q, e, &host, &len);
			ref_range(c, host, len, "compressed cluster");
			c->res->allocated_clusters++;
		} else if (type == QC_ZERO && (e & QCOW2_OFFSET_MASK)) {
			/* Preallocated zero cluster: still owns its host cluster. */
			ref_range(c, e & QCOW2_OFFSET_MASK, q->cluster_size, "zero cluster");
		}
	}
	return 0;
}

static int check_l1(struct check_ctx *c, uint64_t l1_off, uint32_t l1_size, uint64_t *tmp)
{
	struct qcow2 *q = c->q;
	uint64_t *l1;
	int ret = 0;

	if ((uint64_t)l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return -EINVAL;
	l1 = calloc(l1_size ? l1_size : 1, 8);
	if (!l1)
		return -ENOMEM;
	ref_range(c, l1_off, (uint64_t)l1_size * 8, "L1 table");
	ret = block__pread_full(c->bd->fd, l1, (size_t)l1_size * 8, l1_off);
	for (uint32_t i = 0; !ret && i < l1_size; i++) {
		uint64_t l2 = be64toh(l1[i]) & QCOW2_OFFSET_MASK;

		if (!l2)
			continue;
		if ((l2 & (q->cluster_size - 1)) || (l2 >> q->h.cluster_bits) >= c->nclusters) {
			c->res->corruptions++;
			if (c->verbose)
				fprintf(stderr, "ERROR L2 table at %#" PRIx64 " is outside the file or misaligned\n", l2);
			continue;
		}
		ref_range(c, l2, q->cluster_size, "L2 table");
		ret = check_l2(c, l2, tmp);
	}
	free(l1);
	return ret;
}

static int check_snapshots(struct check_ctx *c, uint64_t *tmp)
{
	struct qcow2 *q = c->q;
	uint64_t pos = q->h.snapshots_offset;
	int ret = 0;

	for (uint32_t s = 0; !ret && s < q->h.nb_snapshots; s++) {
		uint8_t hdr[40];
		uint64_t l1_off;
		uint32_t l1_size, extra;
		uint16_t id_len, name_len;
		uint64_t start = pos;

		ret = block__pread_full(c->bd->fd, hdr, sizeof(hdr), pos);
		if (ret)
			break;
		memcpy(&l1_off, hdr, 8);
		memcpy(&l1_size, hdr + 8, 4);
		memcpy(&id_len, hdr + 12, 2);
		memcpy(&name_len, hdr + 14, 2);
		memcpy(&extra, hdr + 36, 4);
		l1_off = be64toh(l1_off);
		l1_size = be32toh(l1_size);
		extra = be32toh(extra);
		pos += 40 + (uint64_t)extra + be16toh(id_len) + be16toh(name_len);
		pos = (pos + 7) & ~7ull;
		ref_range(c, start, pos - start, "snapshot table");
		ret = check_l1(c, l1_off, l1_size, tmp);
	}
	return ret;
}

int qcow2__check(struct blockdev *bd, struct block_check_result *res, bool verbose, bool repair)
{
	struct qcow2 *q = bd->priv;
	struct check_ctx c = { .bd = bd, .q = q, .res = res, .verbose = verbose };
	uint64_t *tmp;
	int ret;

	memset(res, 0, sizeof(*res));
	res->checked = true;
	c.nclusters = (q->file_size + q->cluster_size - 1) >> q->h.cluster_bits;
	if (q->file_end >> q->h.cluster_bits > c.nclusters)
		c.nclusters = q->file_end >> q->h.cluster_bits;
	res->total_clusters = (q->h.size + q->cluster_size - 1) >> q->h.cluster_bits;
	c.expect = calloc(c.nclusters ? c.nclusters : 1, sizeof(uint32_t));
	tmp = malloc(q->cluster_size);
	if (!c.expect || !tmp) {
		ret = -ENOMEM;
		goto out;
	}

	ref_range(&c, 0, q->cluster_size, "header");
	ref_range(&c, q->h.refcount_table_offset,
		  (uint64_t)q->h.refcount_table_clusters * q->cluster_size, "refcount table");
	for (uint64_t i = 0; i < q->rt_entries; i++) {
		uint64_t rb = q->rt[i] & ~(q->cluster_size - 1);
		if (rb)
			ref_range(&c, rb, q->cluster_size, "refcount block");
	}
	ret = check_l1(&c, q->h.l1_table_offset, q->h.l1_size, tmp);
	if (!ret)
		ret = check_snapshots(&c, tmp);
	if (ret)
		goto out;

	for (uint64_t i = 0; i < c.nclusters; i++) {
		uint64_t stored;

		ret = qcow2__get_refcount(bd, i << q->h.cluster_bits, &stored);
		if (ret) {
			res->corruptions++;
			ret = 0;
			continue;
		}
		if (stored < c.expect[i]) {
			res->corruptions++;
			if (verbose)
				fprintf(stderr, "ERROR cluster %" PRIu64 " refcount=%" PRIu64 " reference=%u\n",
					i, stored, c.expect[i]);
		} else if (stored > c.expect[i]) {
			res->leaks++;
			if (verbose)
				fprintf(stderr, "Leaked cluster %" PRIu64 " refcount=%" PRIu64 " reference=%u\n",
					i, stored, c.expect[i]);
			if (repair && !bd->readonly) {
				ret = qcow2__set_refcount(bd, i << q->h.cluster_bits, c.expect[i]);
				if (ret)
					goto out;
				res->leaks--;
			}
		}
	}
out:
	free(tmp);
	free(c.expect);
	return ret;
}

int block__check(struct blockdev *bd, struct block_check_result *res, bool verbose, bool repair)
{
	memset(res, 0, sizeof(*res));
	if (bd->drv != &block_qcow2)
		return 0;
	return qcow2__check(bd, res, verbose, repair);
}
