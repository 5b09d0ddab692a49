#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "block/block.h"
#include "block/qcow2.h"

static char dir[] = "/tmp/vireo-qcow2-XXXXXX";

static void setup(void)
{
	strcpy(dir, "/tmp/vireo-qcow2-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

static const char *path(const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static struct blockdev *create_open(const char *name, uint64_t size, unsigned bits, const char *backing)
{
	struct block_create_opts o = { .fmt = BLOCK_FMT_QCOW2, .size = size,
				       .cluster_bits = bits, .backing = backing };
	struct blockdev *bd;

	cr_assert_eq(block__create(path(name), &o), 0);
	cr_assert_eq(block__open(path(name), BLOCK_FMT_AUTO, 0, &bd), 0);
	return bd;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void expect_clean(struct blockdev *bd)
{
	struct block_check_result r;

	cr_assert_eq(block__check(bd, &r, true, false), 0);
	cr_expect_eq(r.corruptions, 0, "corruptions: %llu", (unsigned long long)r.corruptions);
	cr_expect_eq(r.leaks, 0, "leaks: %llu", (unsigned long long)r.leaks);
}

Test(qcow2, fresh_image_reads_zero, .init = setup, .fini = teardown)
{
	struct blockdev *bd = create_open("a.qcow2", 10 << 20, 0, NULL);
	uint8_t buf[4096];

	cr_expect_eq(bd->size, 10 << 20);
	memset(buf, 0x55, sizeof(buf));
	cr_assert_eq(block__read(bd, buf, 5 << 20, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0);
	cr_expect_eq(block__read(bd, buf, (10 << 20) - 100, 200), -EINVAL, "read past the end");
	expect_clean(bd);
	block__close(bd);
}

Test(qcow2, unaligned_writes_round_trip, .init = setup, .fini = teardown)
{
	struct blockdev *bd = create_open("a.qcow2", 8 << 20, 0, NULL);
	size_t n = 200000;
	uint8_t *w = malloc(n), *r = malloc(n);

	fill(w, n, 1);
	/* Starts mid-cluster, spans several clusters, ends mid-cluster. */
	cr_assert_eq(block__write(bd, w, 65536 - 777, n), 0);
	cr_assert_eq(block__read(bd, r, 65536 - 777, n), 0);
	cr_expect_eq(memcmp(w, r, n), 0);
	/* Overwrite in place inside an allocated cluster. */
	fill(w, 100, 2);
	cr_assert_eq(block__write(bd, w, 70000, 100), 0);
	cr_assert_eq(block__read(bd, r, 70000, 100), 0);
	cr_expect_eq(memcmp(w, r, 100), 0);
	expect_clean(bd);
	block__close(bd);

	/* Persisted: reopen and read again. */
	cr_assert_eq(block__open(path("a.qcow2"), BLOCK_FMT_QCOW2, BLOCK_OPEN_RDONLY, &bd), 0);
	cr_assert_eq(block__read(bd, r, 70000, 100), 0);
	cr_expect_eq(memcmp(w, r, 100), 0);
	block__close(bd);
	free(w);
	free(r);
}

Test(qcow2, small_clusters_need_new_refcount_blocks, .init = setup, .fini = teardown)
{
	/* 512-byte clusters: one refcount block covers 256 clusters, so 1 MiB
	 * of data needs several blocks allocated on the fly. */
	struct blockdev *bd = create_open("s.qcow2", 4 << 20, 9, NULL);
	size_t n = 1 << 20;
	uint8_t *w = malloc(n), *r = malloc(n);

	fill(w, n, 3);
	cr_assert_eq(block__write(bd, w, 1 << 20, n), 0);
	cr_assert_eq(block__read(bd, r, 1 << 20, n), 0);
	cr_expect_eq(memcmp(w, r, n), 0);
	expect_clean(bd);
	block__close(bd);
	free(w);
	free(r);
}

Test(qcow2, backing_file_copy_on_write, .init = setup, .fini = teardown)
{
	struct blockdev *base = create_open("base.qcow2", 1 << 20, 0, NULL);
	struct blockdev *ov;
	uint8_t b[1 << 16], o[100], r[1 << 16];

	fill(b, sizeof(b), 4);
	cr_assert_eq(block__write(base, b, 0, sizeof(b)), 0);
	block__close(base);

	ov = create_open("ov.qcow2", 0, 0, path("base.qcow2"));
	cr_expect_eq(ov->size, 1 << 20, "size taken from the backing file");
	cr_assert_not_null(ov->backing);
	fill(o, sizeof(o), 5);
	cr_assert_eq(block__write(ov, o, 1000, sizeof(o)), 0);
	cr_assert_eq(block__read(ov, r, 0, sizeof(r)), 0);
	cr_expect_eq(memcmp(r, b, 1000), 0, "backing data before the write survives COW");
	cr_expect_eq(memcmp(r + 1000, o, sizeof(o)), 0);
	cr_expect_eq(memcmp(r + 1100, b + 1100, sizeof(r) - 1100), 0);
	expect_clean(ov);
	block__close(ov);

	/* The base is untouched. */
	cr_assert_eq(block__open(path("base.qcow2"), BLOCK_FMT_AUTO, BLOCK_OPEN_RDONLY, &base), 0);
	cr_assert_eq(block__read(base, r, 1000, sizeof(o)), 0);
	cr_expect_eq(memcmp(r, b + 1000, sizeof(o)), 0);
	block__close(base);
}

Test(qcow2, discard_frees_and_reads_zero, .init = setup, .fini = teardown)
{
	struct blockdev *bd = create_open("d.qcow2", 1 << 20, 0, NULL);
	uint8_t w[1 << 16], r[1 << 16];

	fill(w, sizeof(w), 6);
	cr_assert_eq(block__write(bd, w, 1 << 16, sizeof(w)), 0);
	cr_assert_eq(block__discard(bd, 1 << 16, 1 << 16), 0);
	cr_assert_eq(block__read(bd, r, 1 << 16, sizeof(r)), 0);
	for (size_t i = 0; i < sizeof(r); i++)
		cr_assert_eq(r[i], 0);
	expect_clean(bd);
	block__close(bd);
}

Test(qcow2, backing_loop_is_refused, .init = setup, .fini = teardown)
{
	struct blockdev *bd;
	int fd;
	uint64_t off;
	uint32_t len;
	const char *name = "loop.qcow2";

	/* Make a.qcow2 whose backing file is itself. */
	bd = create_open("loop.qcow2", 1 << 20, 0, NULL);
	block__close(bd);
	fd = open(path("loop.qcow2"), O_RDWR);
	cr_assert_geq(fd, 0);
	off = htobe64(512);
	len = htobe32((uint32_t)strlen(name));
	cr_assert_eq(pwrite(fd, &off, 8, 8), 8);
	cr_assert_eq(pwrite(fd, &len, 4, 16), 4);
	cr_assert_eq(pwrite(fd, name, strlen(name), 512), (ssize_t)strlen(name));
	close(fd);
	cr_expect_eq(block__open(path("loop.qcow2"), BLOCK_FMT_AUTO, BLOCK_OPEN_RDONLY, &bd), -ELOOP);
}

static int open_patched(uint64_t at, const void *val, size_t n)
{
	struct blockdev *bd = create_open("p.qcow2", 1 << 20, 0, NULL);
	int fd, ret;

	block__close(bd);
	fd = open(path("p.qcow2"), O_RDWR);
	cr_assert_eq(pwrite(fd, val, n, (off_t)at), (ssize_t)n);
	close(fd);
	ret = block__open(path("p.qcow2"), BLOCK_FMT_QCOW2, 0, &bd);
	if (!ret)
		block__close(bd);
	return ret;
}

Test(qcow2, corrupt_headers_are_refused, .init = setup, .fini = teardown)
{
	uint32_t v32;
	uint64_t v64;

	v32 = htobe32(0xdeadbeef);
	cr_expect_eq(open_patched(0, &v32, 4), -EINVAL, "bad magic");
	v32 = htobe32(7);
	cr_expect_eq(open_patched(4, &v32, 4), -EINVAL, "version 7");
	v32 = htobe32(30);
	cr_expect_eq(open_patched(20, &v32, 4), -EINVAL, "cluster_bits 30");
	v32 = htobe32(1);
	cr_expect_eq(open_patched(32, &v32, 4), -EINVAL, "encrypted");
	v64 = htobe64(1ull << 40);
	cr_expect_eq(open_patched(40, &v64, 8), -EINVAL, "L1 table outside the file");
	v64 = htobe64(1ull << 40);
	cr_expect_eq(open_patched(48, &v64, 8), -EINVAL, "refcount table outside the file");
	v32 = htobe32(0xffffffffu);
	cr_expect_eq(open_patched(36, &v32, 4), -EINVAL, "huge L1 size");
	v64 = htobe64(1ull << 60);
	cr_expect_eq(open_patched(24, &v64, 8), -EINVAL, "huge virtual size");
	v64 = htobe64(1ull << 9);
	cr_expect_eq(open_patched(72, &v64, 8), -EINVAL, "unknown incompatible feature");
}

Test(qcow2, l2_pointing_outside_file_is_an_io_error, .init = setup, .fini = teardown)
{
	struct blockdev *bd = create_open("o.qcow2", 1 << 20, 0, NULL);
	uint8_t buf[512];
	uint64_t e = htobe64((1ull << 40) | QCOW2_OFLAG_COPIED);
	int fd;

	block__close(bd);
	fd = open(path("o.qcow2"), O_RDWR);
	cr_assert_eq(pwrite(fd, &e, 8, 3 * 65536), 8); /* L1[0] */
	close(fd);
	cr_assert_eq(block__open(path("o.qcow2"), BLOCK_FMT_AUTO, 0, &bd), 0);
	cr_expect_eq(block__read(bd, buf, 0, sizeof(buf)), -EIO);
	cr_expect_eq(block__write(bd, buf, 0, sizeof(buf)), -EIO);
	block__close(bd);
}

Test(qcow2, truncated_file_is_refused, .init = setup, .fini = teardown)
{
	struct blockdev *bd;
	int fd = open(path("t.qcow2"), O_RDWR | O_CREAT, 0644);

	cr_assert_eq(write(fd, "QFI\xfb\0\0\0\3", 8), 8);
	close(fd);
	cr_expect_eq(block__open(path("t.qcow2"), BLOCK_FMT_AUTO, 0, &bd), -EINVAL);
}

Test(qcow2, second_writer_is_locked_out, .init = setup, .fini = teardown)
{
	struct blockdev *a = create_open("l.qcow2", 1 << 20, 0, NULL), *b;

	cr_expect_eq(block__open(path("l.qcow2"), BLOCK_FMT_AUTO, 0, &b), -EBUSY);
	cr_expect_eq(block__open(path("l.qcow2"), BLOCK_FMT_AUTO, BLOCK_OPEN_RDONLY, &b), -EBUSY);
	block__close(a);
	cr_expect_eq(block__open(path("l.qcow2"), BLOCK_FMT_AUTO, 0, &b), 0);
	block__close(b);
}

/* A full host disk: writes past RLIMIT_FSIZE fail with EFBIG, as they would
 * with ENOSPC.  The writes must fail (I/O error to the guest), and the image
 * must still check without corruption: at worst clusters leak. */
Test(qcow2, full_disk_fails_writes_without_corruption, .init = setup, .fini = teardown)
{
	struct blockdev *bd = create_open("f.qcow2", 64 << 20, 0, NULL);
	struct block_check_result r;
	int status;
	pid_t pid;

	block__close(bd);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct rlimit lim = { 1 << 20, 1 << 20 };
		static uint8_t buf[1 << 16];
		int failed = 0, ret;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &lim) ||
		    block__open(path("f.qcow2"), BLOCK_FMT_AUTO, 0, &bd))
			_exit(2);
		memset(buf, 0x77, sizeof(buf));
		/* 4 MiB of writes into a file limited to 1 MiB. */
		for (int i = 0; i < 64; i++) {
			ret = block__write(bd, buf, (uint64_t)i * sizeof(buf) * 3, sizeof(buf));
			if (ret == -EFBIG || ret == -ENOSPC || ret == -EIO)
				failed++;
			else if (ret)
				_exit(3);
		}
		block__close(bd);
		_exit(failed ? 0 : 4);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "writes past the limit must fail (child status %d)",
		     WEXITSTATUS(status));
	cr_assert_eq(block__open(path("f.qcow2"), BLOCK_FMT_AUTO, 0, &bd), 0);
	cr_assert_eq(block__check(bd, &r, true, false), 0);
	cr_expect_eq(r.corruptions, 0, "a full disk must not corrupt the image");
	block__close(bd);
}
