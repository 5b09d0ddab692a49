#include <errno.h>
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

static int raw_read(struct blockdev *bd, void *buf, uint64_t off, size_t len)
{
	return block__pread_full(bd->fd, buf, len, off);
}

static int raw_write(struct blockdev *bd, const void *buf, uint64_t off, size_t len)
{
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
