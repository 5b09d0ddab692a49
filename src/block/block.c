#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "util/log.h"

int block__pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			/* Past EOF reads as zeros: files may be sparse-truncated. */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int block__pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

enum block_format block__parse_format(const char *s)
{
	if (!strcmp(s, "raw"))
		return BLOCK_FMT_RAW;
	if (!strcmp(s, "qcow2"))
		return BLOCK_FMT_QCOW2;
	return (enum block_format)-1;
}

const char *block__format_name(const struct blockdev *bd)
{
	return bd->drv->name;
}

/* OFD locks are per open file description, so two vireo processes (or
 * vireo and QEMU, which locks bytes in the same area) exclude each other,
 * while closing another fd to the file in this process does not drop it. */
static int lock_image(struct blockdev *bd)
{
	struct flock fl = {
		.l_type = bd->readonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0,
	};

	if (fcntl(bd->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES) {
		pr_err("%s: image is in use by another process (locked%s)", bd->path,
		       bd->readonly ? " for writing" : "");
		return -EBUSY;
	}
	/* Filesystems without lock support: carry on, as QEMU does. */
	return 0;
}

int block__open_depth(const char *path, enum block_format fmt, unsigned flags, int depth,
		      struct blockdev **out)
{
	struct blockdev *bd;
	uint8_t hdr[512];
	struct stat st;
	int ret, oflags;

	if (depth > BLOCK_MAX_CHAIN) {
		pr_err("%s: backing chain deeper than %d (a loop?)", path, BLOCK_MAX_CHAIN);
		return -ELOOP;
	}
	bd = calloc(1, sizeof(*bd));
	if (!bd) {
		pr_err("%s: out of memory", path);
		return -ENOMEM;
	}
	pthread_mutex_init(&bd->lock, NULL);
	bd->readonly = flags & BLOCK_OPEN_RDONLY;
	bd->path = strdup(path);
	oflags = (bd->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	if (flags & BLOCK_OPEN_DIRECT)
		oflags |= O_DIRECT;
	bd->fd = open(path, oflags);
	if (bd->fd < 0) {
		ret = -errno;
		pr_err("%s: %s", path, strerror(errno));
		goto err_free;
	}
	if (fstat(bd->fd, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		ret = -EINVAL;
		pr_err("%s: not a regular file or block device", path);
		goto err_close;
	}
	if (!(flags & BLOCK_OPEN_NOLOCK)) {
		ret = lock_image(bd);
		if (ret)
			goto err_close;
	}
	if (fmt == BLOCK_FMT_AUTO) {
		memset(hdr, 0, sizeof(hdr));
		ret = block__pread_full(bd->fd, hdr, sizeof(hdr), 0);
		if (ret) {
			pr_err("%s: %s", path, strerror(-ret));
			goto err_close;
		}
		fmt = block_qcow2.probe(hdr, sizeof(hdr)) ? BLOCK_FMT_QCOW2 : BLOCK_FMT_RAW;
	}
	bd->drv = fmt == BLOCK_FMT_QCOW2 ? &block_qcow2 : &block_raw;
	bd->direct = (flags & BLOCK_OPEN_DIRECT) && bd->drv == &block_raw;
	if ((flags & BLOCK_OPEN_DIRECT) && !bd->direct) {
		/* qcow2 metadata I/O is not sector-aligned: keep the page cache. */
		pr_warn("%s: cache=none applies to raw images only; using writeback", path);
		fcntl(bd->fd, F_SETFL, fcntl(bd->fd, F_GETFL) & ~O_DIRECT);
	}
	ret = bd->drv->open(bd, flags, depth);
	if (ret)
		goto err_close;
	*out = bd;
	return 0;
err_close:
	close(bd->fd);
err_free:
	free(bd->path);
	pthread_mutex_destroy(&bd->lock);
	free(bd);
	return ret;
}

int block__open(const char *path, enum block_format fmt, unsigned flags, struct blockdev **out)
{
	return block__open_depth(path, fmt, flags, 0, out);
}

void block__close(struct blockdev *bd)
{
	if (!bd)
		return;
	if (bd->drv && bd->drv->close)
		bd->drv->close(bd);
	if (bd->backing)
		block__close(bd->backing);
	close(bd->fd);
	free(bd->path);
	pthread_mutex_destroy(&bd->lock);
	free(bd);
}

static int check_range(struct blockdev *bd, uint64_t off, uint64_t len)
{
	if (off > bd->size || len > bd->size - off)
		return -EINVAL;
	return 0;
}

int block__read(struct blockdev *bd, void *buf, uint64_t off, size_t len)
{
	int ret = check_range(bd, off, len);

	if (ret)
		return ret;
	pthread_mutex_lock(&bd->lock);
	ret = bd->drv->read(bd, buf, off, len);
	pthread_mutex_unlock(&bd->lock);
	return ret;
}

int block__write(struct blockdev *bd, const void *buf, uint64_t off, size_t len)
{
	int ret = check_range(bd, off, len);

	if (ret)
		return ret;
	if (bd->readonly)
		return -EROFS;
	pthread_mutex_lock(&bd->lock);
	ret = bd->drv->write(bd, buf, off, len);
	pthread_mutex_unlock(&bd->lock);
	return ret;
}

int block__flush(struct blockdev *bd)
{
	int ret;

	if (bd->readonly)
		return 0;
	pthread_mutex_lock(&bd->lock);
	ret = bd->drv->flush(bd);
	pthread_mutex_unlock(&bd->lock);
	return ret;
}

int block__discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
	int ret = check_range(bd, off, len);

	if (ret)
		return ret;
	if (bd->readonly)
		return -EROFS;
	if (!bd->drv->discard)
		return 0; /* discard is advisory */
	pthread_mutex_lock(&bd->lock);
	ret = bd->drv->discard(bd, off, len);
	pthread_mutex_unlock(&bd->lock);
	return ret;
}

int block__is_allocated(struct blockdev *bd, uint64_t off, uint64_t len, bool *allocated)
{
	int ret = check_range(bd, off, len);

	if (ret)
		return ret;
	if (!bd->drv->is_allocated) {
		*allocated = true;
		return 0;
	}
	pthread_mutex_lock(&bd->lock);
	ret = bd->drv->is_allocated(bd, off, len, allocated);
	pthread_mutex_unlock(&bd->lock);
	return ret;
}
