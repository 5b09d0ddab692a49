/* qcow2 internals (spec: QEMU docs/interop/qcow2.txt).  All on-disk
 * integers are big-endian; the in-memory L1 and refcount tables are kept in
 * host order, cached L2 tables and refcount blocks stay in disk order. */
#ifndef VIREO_BLOCK_QCOW2_H
#define VIREO_BLOCK_QCOW2_H

#include <stdint.h>

#include "block/block.h"

#define QCOW2_MAGIC             0x514649fbu  /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS  9
#define QCOW2_MAX_CLUSTER_BITS  21
#define QCOW2_DEFAULT_CLUSTER_BITS 16
#define QCOW2_V2_HEADER_LEN     72
#define QCOW2_V3_HEADER_LEN     104
#define QCOW2_MAX_L1_BYTES      (32u << 20)  /* as QEMU: bounds memory use */
#define QCOW2_MAX_RT_BYTES      (8u << 20)
#define QCOW2_MAX_BACKING_NAME  1023

#define QCOW2_INCOMPAT_DIRTY    (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT  (1ull << 1)
#define QCOW2_INCOMPAT_KNOWN    (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)

#define QCOW2_EXT_END           0x00000000u
#define QCOW2_EXT_BACKING_FMT   0xe2792acau

#define QCOW2_OFLAG_COPIED      (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED  (1ull << 62)
#define QCOW2_OFLAG_ZERO        (1ull << 0)
#define QCOW2_OFFSET_MASK       0x00fffffffffffe00ull  /* bits 9-55 */
#define QCOW2_L1_RESERVED       0x7f000000000001feull
#define QCOW2_L2_RESERVED       0x3f000000000001feull

#define QCOW2_L2_CACHE          16

struct qcow2_header {
	uint32_t magic, version;
	uint64_t backing_file_offset;
	uint32_t backing_file_size, cluster_bits;
	uint64_t size;
	uint32_t crypt_method, l1_size;
	uint64_t l1_table_offset, refcount_table_offset;
	uint32_t refcount_table_clusters, nb_snapshots;
	uint64_t snapshots_offset;
	/* v3 */
	uint64_t incompatible_features, compatible_features, autoclear_features;
	uint32_t refcount_order, header_length;
} __attribute__((packed));

enum qcow2_cluster_type { QC_UNALLOCATED, QC_ZERO, QC_NORMAL, QC_COMPRESSED };

struct qcow2_l2_slot {
	uint64_t offset;       /* host offset of the table, 0 = free slot */
	uint64_t *table;       /* l2_entries entries, big-endian */
	uint64_t used;         /* LRU stamp */
};

struct qcow2 {
	struct qcow2_header h;  /* host order */
	uint64_t cluster_size;
	unsigned l2_bits;
	uint64_t l2_entries;
	uint64_t *l1;           /* host order */
	uint64_t *rt;           /* refcount table, host order */
	uint64_t rt_entries;
	unsigned refcount_bytes;
	uint64_t rb_entries;    /* refcounts per refcount block */
	uint64_t file_end;      /* next free host offset (cluster aligned) */
	uint64_t file_size;     /* size of the file when opened / grown */
	struct qcow2_l2_slot l2[QCOW2_L2_CACHE];
	uint64_t l2_clock;
	uint64_t rb_offset;     /* cached refcount block */
	uint8_t *rb;
	uint8_t *cbuf;          /* one cluster of scratch */
	uint8_t *zin;           /* compressed input scratch (2 clusters) */
	uint64_t zcache_off;    /* guest cluster offset held in zcache, ~0 = none */
	uint8_t *zcache;        /* last decompressed cluster */
	char backing_fmt[32];
};

/* qcow2.c */
/* Split [off, off+len) at cluster boundaries and call fn per piece. */
int qcow2__per_cluster(struct blockdev *bd, uint8_t *buf, uint64_t off, size_t len,
		       int (*fn)(struct blockdev *, uint8_t *, uint64_t, size_t));
int qcow2__get_l2(struct blockdev *bd, uint64_t l1_index, struct qcow2_l2_slot **slot);
int qcow2__classify(struct qcow2 *q, uint64_t entry, enum qcow2_cluster_type *type);
int qcow2__read_cluster_range(struct blockdev *bd, void *buf, uint64_t off, size_t len);
bool qcow2__host_range_ok(struct qcow2 *q, uint64_t off, uint64_t len);
void qcow2__compressed_range(struct qcow2 *q, uint64_t entry, uint64_t *host, uint64_t *len);

/* qcow2_alloc.c */
int qcow2__get_refcount(struct blockdev *bd, uint64_t host_off, uint64_t *ref);
int qcow2__set_refcount(struct blockdev *bd, uint64_t host_off, uint64_t ref);
int qcow2__alloc_cluster(struct blockdev *bd, uint64_t *host_off);
int qcow2__write(struct blockdev *bd, const void *buf, uint64_t off, size_t len);
int qcow2__discard(struct blockdev *bd, uint64_t off, uint64_t len);
int qcow2__flush(struct blockdev *bd);
uint64_t qcow2__rc_get(const struct qcow2 *q, const uint8_t *block, uint64_t idx);
void qcow2__rc_put(const struct qcow2 *q, uint8_t *block, uint64_t idx, uint64_t v);

/* qcow2_check.c */
int qcow2__check(struct blockdev *bd, struct block_check_result *res, bool verbose, bool repair);

#endif
