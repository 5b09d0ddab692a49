/* Disk images.  A struct blockdev is an opened image (raw or qcow2, with
 * its backing chain); reads and writes are in guest byte offsets.  One
 * blockdev is used by one I/O thread at a time (virtio-blk's), but calls are
 * serialised by an internal mutex anyway so tools and tests can share it.
 *
 * Everything read from an image file is untrusted: header fields, table
 * offsets and sizes are validated before use, and a bad image is refused
 * with one line naming the file and the problem (-EINVAL / -EIO). */
#ifndef VIREO_BLOCK_BLOCK_H
#define VIREO_BLOCK_BLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum block_format { BLOCK_FMT_AUTO = 0, BLOCK_FMT_RAW, BLOCK_FMT_QCOW2 };

#define BLOCK_OPEN_RDONLY    (1u << 0)
#define BLOCK_OPEN_NOLOCK    (1u << 1)  /* `img info`/`check` of an image in use */
#define BLOCK_OPEN_DIRECT    (1u << 2)  /* cache=none: O_DIRECT on the image */
#define BLOCK_MAX_CHAIN      16         /* deeper backing chains are refused */

struct blockdev;

struct block_driver {
	const char *name;
	/* Does this header look like our format? (first 512 bytes) */
	bool (*probe)(const uint8_t *buf, size_t len);
	int (*open)(struct blockdev *bd, unsigned flags, int depth);
	int (*read)(struct blockdev *bd, void *buf, uint64_t off, size_t len);
	int (*write)(struct blockdev *bd, const void *buf, uint64_t off, size_t len);
	int (*flush)(struct blockdev *bd);
	int (*discard)(struct blockdev *bd, uint64_t off, uint64_t len);
	/* Is [off, off+len) backed by data in this image (not the backing file,
	 * not zero)?  Used by convert to skip holes.  May be NULL. */
	int (*is_allocated)(struct blockdev *bd, uint64_t off, uint64_t len, bool *allocated);
	void (*close)(struct blockdev *bd);
};

struct blockdev {
	const struct block_driver *drv;
	char *path;
	int fd;
	bool readonly;
	bool direct;               /* O_DIRECT (cache=none, raw only) */
	uint64_t size;             /* virtual disk size in bytes */
	struct blockdev *backing;  /* NULL: none */
	void *priv;
	pthread_mutex_t lock;
};

extern const struct block_driver block_raw;
extern const struct block_driver block_qcow2;

/* Open path; BLOCK_FMT_AUTO probes the content.  Prints one error line
 * naming the file on failure. */
int block__open(const char *path, enum block_format fmt, unsigned flags, struct blockdev **out);
/* Internal: open with a chain depth, for backing files. */
int block__open_depth(const char *path, enum block_format fmt, unsigned flags, int depth,
		      struct blockdev **out);
void block__close(struct blockdev *bd);

int block__read(struct blockdev *bd, void *buf, uint64_t off, size_t len);
int block__write(struct blockdev *bd, const void *buf, uint64_t off, size_t len);
int block__flush(struct blockdev *bd);
int block__discard(struct blockdev *bd, uint64_t off, uint64_t len);
int block__is_allocated(struct blockdev *bd, uint64_t off, uint64_t len, bool *allocated);

enum block_format block__parse_format(const char *s); /* -1 on unknown */
const char *block__format_name(const struct blockdev *bd);

/* Helpers: full pread/pwrite (retrying short transfers and EINTR). */
int block__pread_full(int fd, void *buf, size_t len, uint64_t off);
int block__pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/* Creation (src/block/create.c). */
struct block_create_opts {
	enum block_format fmt;
	uint64_t size;             /* 0 with a backing file: take its size */
	const char *backing;       /* qcow2 only */
	enum block_format backing_fmt;
	unsigned cluster_bits;     /* qcow2: 0 = default (16) */
};
/* opts->size and opts->backing_fmt are updated from the backing file when 0/auto. */
int block__create(const char *path, struct block_create_opts *opts);

/* Consistency check (qcow2; raw is always consistent).  Results mirror
 * `qemu-img check`: corruptions (data at risk) and leaks (wasted space). */
struct block_check_result {
	uint64_t corruptions;
	uint64_t leaks;
	uint64_t allocated_clusters;
	uint64_t total_clusters;
	bool checked;              /* false: format has nothing to check */
};
/* repair: fix leaked refcounts (image must be open read-write). */
int block__check(struct blockdev *bd, struct block_check_result *res, bool verbose, bool repair);

#endif
