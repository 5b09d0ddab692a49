#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "util/log.h"

static bool raw_probe(const uint8_t *buf, size_t len)
{
	return true; /* anything is a raw image */
}

static int raw_open(struct blockdev *bd, unsigned flags, int depth)
{
	struct stat st;

	if (fstat(bd->fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz;
		if (ioctl(bd->fd, BLKGETSIZE64, &sz))
			return -errno;
		bd->size = sz;
	} else {
		bd->size = (uint64_t)st.st_size;
	}
	return 0;
}

#define DIRECT_ALIGN 4096

/* O_DIRECT needs aligned memory, offsets and lengths.  virtio-blk offsets
 * and lengths are whole sectors; guest buffers may sit anywhere, so those
 * go through an aligned bounce buffer. */
static bool direct_ok(struct blockdev *bd, const void *buf, uint64_t off, size_t len)
{
	return !bd->direct || (((uintptr_t)buf | off | len) & (DIRECT_ALIGN - 1)) == 0;
}

static int raw_bounce(struct blockdev *bd, void *buf, uint64_t off, size_t len, bool write)
{
	void *tmp;
	int ret;

	if ((off | len) & 511)
		return -EINVAL;
	if (posix_memalign(&tmp, DIRECT_ALIGN, len))
		return -ENOMEM;
	if (write) {
		memcpy(tmp, buf, len);
		ret = block__pwrite_full(bd->fd, tmp, len, off);
	} else {
		ret = block__pread_full(bd->fd, tmp, len, off);
		if (!ret)
			memcpy(buf, tmp, len);
	}
	free(tmp);
	return ret;
}

static int raw_read(struct blockdev *bd, void *buf, uint64_t off, size_t len)
{
	if (!direct_ok(bd, buf, off, len))
		return raw_bounce(bd, buf, off, len, false);
	return block__pread_full(bd->fd, buf, len, off);
}

static int raw_write(struct blockdev *bd, const void *buf, uint64_t off, size_t len)
{
	if (!direct_ok(bd, buf, off, len))
		return raw_bounce(bd, (void *)buf, off, len, true);
	return block__pwrite_full(bd->fd, buf, len, off);
}

static int raw_flush(struct blockdev *bd)
{
	return fdatasync(bd->fd) ? -errno : 0;
}

static int raw_discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
	/* Punching a hole keeps the file size; unsupported filesystems just
	 * keep the data, which discard allows. */
	if (fallocate(bd->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) &&
	    errno != EOPNOTSUPP)
		return -errno;
	return 0;
}

static int raw_is_allocated(struct blockdev *bd, uint64_t off, uint64_t len, bool *allocated)
{
	off_t data = lseek(bd->fd, (off_t)off, SEEK_DATA);

	if (data < 0) {
		/* ENXIO: only a hole up to EOF. */
		*allocated = errno != ENXIO;
		return 0;
	}
	*allocated = (uint64_t)data < off + len;
	return 0;
}

const struct block_driver block_raw = {
	.name = "raw",
	.probe = raw_probe,
	.open = raw_open,
	.read = raw_read,
	.write = raw_write,
	.flush = raw_flush,
	.discard = raw_discard,
	.is_allocated = raw_is_allocated,
};
