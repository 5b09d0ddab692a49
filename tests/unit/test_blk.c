/* virtio-blk end to end on a raw temp file: many requests in flight through
 * the io_uring path (and the synchronous one), data and statuses checked
 * against the file, error paths (range, read-only, EFBIG, EOF), head
 * reuse and reset with I/O in flight. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test_blk_ring.h"

#define DISK   (8u << 20)
#define NREQ   40  /* up to 6 descriptors each: all fit a 256 ring */
#define CHUNK  (64u << 10)

static char path[64];
static struct tring t;

static void make_file(void)
{
	int fd;

	snprintf(path, sizeof(path), "/var/tmp/vireo-blk-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, DISK), 0);
	close(fd);
}

static void open_dev(bool ro, bool sync, bool direct)
{
	struct disk_config dc = { .path = path, .format = BLOCK_FMT_RAW, .readonly = ro,
				  .aio_sync = sync, .cache_none = direct };

	cr_assert_eq(tring_open(&t, &dc, 256, 16u << 20), 0);
}

static void fini(void)
{
	tring_close(&t);
	unlink(path);
}

static uint8_t pattern(unsigned req, unsigned i)
{
	return (uint8_t)(req * 37 + i * 7 + (i >> 9));
}

static void fill(unsigned req, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(req, (unsigned)i);
}

/* NREQ writes (1, 2 or 4 page-aligned segments each, a flush in the middle), then NREQ reads
 * back into cleared buffers; everything checked against the file too. */
static void round_trip(bool expect_async)
{
	uint16_t heads[NREQ + 1], n = 0;
	uint8_t *buf = malloc(CHUNK);
	int fd;

	for (unsigned r = 0; r < NREQ; r++) {
		fill(r, tring_hva(&t, T_DATA + (uint64_t)r * CHUNK), CHUNK);
		/* Scattered: request r goes to chunk (r * 7) % NREQ... */
		heads[n++] = tring_req(&t, T_OUT, (uint64_t)((r * 7) % NREQ) * CHUNK / 512,
				       T_DATA + (uint64_t)r * CHUNK, CHUNK, 1u << (r % 3));
		if (r == NREQ / 2)
			heads[n++] = tring_req(&t, T_FLUSH, 0, 0, 0, 1);
	}
	tring_kick(&t);
	if (expect_async)
		cr_expect_eq(tring_used_idx(&t), 0, "raw I/O completes asynchronously");
	cr_assert(tring_wait(&t, n, 5000), "all writes complete (used %u of %u)",
		  tring_used_idx(&t), n);
	for (unsigned i = 0; i < n; i++)
		cr_expect_eq(tring_status(&t, heads[i]), 0, "request %u status", i);
	for (unsigned i = 0; i < n; i++) {
		uint16_t h;
		uint32_t len;

		tring_used(&t, i, &h, &len);
		cr_expect_eq(len, 1, "writes report only the status byte");
	}

	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	for (unsigned r = 0; r < NREQ; r++) {
		cr_assert_eq(pread(fd, buf, CHUNK, (off_t)((r * 7) % NREQ) * CHUNK), CHUNK);
		for (unsigned i = 0; i < CHUNK; i++)
			if (buf[i] != pattern(r, i))
				cr_assert_fail("file chunk of request %u differs at %u", r, i);
	}
	close(fd);

	memset(tring_hva(&t, T_DATA), 0, (size_t)NREQ * CHUNK);
	t.next_desc = 0;  /* the writes are done: reuse their descriptors */
	for (unsigned r = 0; r < NREQ; r++)
		heads[r] = tring_req(&t, T_IN, (uint64_t)((r * 7) % NREQ) * CHUNK / 512,
				     T_DATA + (uint64_t)r * CHUNK, CHUNK, 1u << ((r + 1) % 3));
	tring_kick(&t);
	if (expect_async)
		cr_expect_eq(tring_used_idx(&t), n, "reads complete asynchronously");
	cr_assert(tring_wait(&t, (uint16_t)(n + NREQ), 5000), "all reads complete");
	for (unsigned i = 0; i < NREQ; i++) {
		uint16_t h;
		uint32_t len;

		tring_used(&t, (uint16_t)(n + i), &h, &len);
		cr_expect_eq(len, CHUNK + 1, "read of head %u reports data + status", h);
		cr_expect_eq(tring_status(&t, heads[i]), 0);
	}
	for (unsigned r = 0; r < NREQ; r++) {
		const uint8_t *p = tring_hva(&t, T_DATA + (uint64_t)r * CHUNK);

		for (unsigned i = 0; i < CHUNK; i++)
			if (p[i] != pattern(r, i))
				cr_assert_fail("read-back of request %u differs at %u", r, i);
	}
	free(buf);
}

Test(blk, async_round_trip, .init = make_file, .fini = fini)
{
	open_dev(false, false, false);
	cr_assert_eq(t.dev->nr_extra_fds, 1, "raw image gets an io_uring");
	round_trip(true);
}

Test(blk, sync_round_trip, .init = make_file, .fini = fini)
{
	open_dev(false, true, false);
	cr_assert_eq(t.dev->nr_extra_fds, 0, "aio=sync: no io_uring");
	round_trip(false);
}

Test(blk, direct_round_trip, .init = make_file, .fini = fini)
{
	struct disk_config dc = { .path = path, .format = BLOCK_FMT_RAW, .cache_none = true };
	uint16_t h1, h2;
	uint8_t *a, *m;

	if (tring_open(&t, &dc, 256, 16u << 20))
		cr_skip_test("O_DIRECT unsupported on /var/tmp");
	round_trip(true);
	/* A misaligned buffer takes the synchronous bounce path, inline. */
	m = tring_hva(&t, T_DATA + 512);
	fill(99, m, 8192);
	h1 = tring_req(&t, T_OUT, 8, T_DATA + 512, 8192, 2);
	tring_kick(&t);
	cr_expect_eq(tring_used_idx(&t), 2 * NREQ + 2, "misaligned write served inline");
	a = tring_hva(&t, T_DATA + (1u << 20));
	memset(a, 0, 8192);
	h2 = tring_req(&t, T_IN, 8, T_DATA + (1u << 20), 8192, 1);
	tring_kick(&t);
	cr_assert(tring_wait(&t, 2 * NREQ + 3, 5000));
	cr_expect_eq(tring_status(&t, h1), 0);
	cr_expect_eq(tring_status(&t, h2), 0);
	cr_expect_eq(memcmp(a, m, 8192), 0, "aligned read sees the bounced write");
}

Test(blk, out_of_range, .init = make_file, .fini = fini)
{
	uint16_t h[3];

	open_dev(false, false, false);
	h[0] = tring_req(&t, T_IN, DISK / 512, T_DATA, 512, 1);           /* at the end */
	h[1] = tring_req(&t, T_OUT, DISK / 512 - 1, T_DATA, 1024, 1);     /* straddles it */
	h[2] = tring_req(&t, T_IN, ~0ull / 512, T_DATA, 512, 1);          /* overflows */
	tring_kick(&t);
	cr_assert(tring_wait(&t, 3, 5000));
	for (int i = 0; i < 3; i++)
		cr_expect_eq(tring_status(&t, h[i]), 1, "request %d: IOERR", i);
}

Test(blk, readonly_refuses_writes, .init = make_file, .fini = fini)
{
	uint16_t w, r, f;

	open_dev(true, false, false);
	w = tring_req(&t, T_OUT, 0, T_DATA, 4096, 1);
	r = tring_req(&t, T_IN, 0, T_DATA, 4096, 1);
	f = tring_req(&t, T_FLUSH, 0, 0, 0, 1);
	tring_kick(&t);
	cr_assert(tring_wait(&t, 3, 5000));
	cr_expect_eq(tring_status(&t, w), 1, "write to a read-only disk: IOERR");
	cr_expect_eq(tring_status(&t, r), 0);
	cr_expect_eq(tring_status(&t, f), 0);
}

static void efbig(bool sync)
{
	struct rlimit rl = { 1u << 20, 1u << 20 };
	uint16_t ok, bad;

	open_dev(false, sync, false);
	/* Writes past RLIMIT_FSIZE fail with EFBIG, like a full disk would
	 * fail with ENOSPC: both must reach the guest as IOERR. */
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	ok = tring_req(&t, T_OUT, 0, T_DATA, 65536, 2);
	bad = tring_req(&t, T_OUT, (2u << 20) / 512, T_DATA, 65536, 2);
	tring_kick(&t);
	cr_assert(tring_wait(&t, 2, 5000));
	cr_expect_eq(tring_status(&t, ok), 0);
	cr_expect_eq(tring_status(&t, bad), 1, "EFBIG: IOERR");
}

Test(blk, efbig_async, .init = make_file, .fini = fini) { efbig(false); }
Test(blk, efbig_sync, .init = make_file, .fini = fini) { efbig(true); }

/* The image shrinking under the device makes reads hit EOF: a short (0)
 * read must become IOERR, not a success with stale guest memory. */
Test(blk, eof_is_ioerr, .init = make_file, .fini = fini)
{
	uint16_t h, g;

	open_dev(false, false, false);
	cr_assert_eq(truncate(path, DISK / 2), 0);
	h = tring_req(&t, T_IN, DISK / 512 - 8, T_DATA, 4096, 1);
	/* Straddling the new EOF: a short read whose retry gets 0. */
	g = tring_req(&t, T_IN, DISK / 1024 - 4, T_DATA + 8192, 4096, 2);
	tring_kick(&t);
	cr_assert(tring_wait(&t, 2, 5000));
	cr_expect_eq(tring_status(&t, h), 1);
	cr_expect_eq(tring_status(&t, g), 1);
}

Test(blk, head_reused_in_flight, .init = make_file, .fini = fini)
{
	uint16_t *avail;

	open_dev(false, false, false);
	tring_req(&t, T_IN, 0, T_DATA, 65536, 1);
	/* The same chain offered twice while the first is in flight. */
	avail = tring_hva(&t, T_AVAIL);
	avail[2 + avail[1] % 256] = 0;
	avail[1]++;
	tring_kick(&t);
	cr_expect(t.dev->broken, "device needs reset");
	cr_assert(tring_wait(&t, 1, 5000), "the first request still completes once");
	cr_expect_eq(tring_used_idx(&t), 1);
}

Test(blk, reset_with_io_in_flight, .init = make_file, .fini = fini)
{
	struct pollfd p;

	open_dev(false, false, false);
	for (unsigned r = 0; r < NREQ; r++)
		tring_req(&t, r % 2 ? T_OUT : T_IN, (uint64_t)r * CHUNK / 512,
			  T_DATA + (uint64_t)r * CHUNK, CHUNK, 2);
	tring_kick(&t);
	cr_assert_eq(tring_used_idx(&t), 0);
	/* As virtio_pci's device_reset: the device first, then the queues. */
	t.dev->ops->reset(t.dev);
	cr_expect_eq(tring_used_idx(&t), 0, "nothing completes into a ring being reset");
	virtq__reset(t.vq);
	/* The device is usable again after re-enabling the queue. */
	t.vq->size = 256;
	t.vq->desc_gpa = T_DESC;
	t.vq->avail_gpa = T_AVAIL;
	t.vq->used_gpa = T_USED;
	memset(tring_hva(&t, T_AVAIL), 0, 4);
	memset(tring_hva(&t, T_USED), 0, 4);
	cr_assert_eq(virtq__enable(t.vq), 0);
	t.next_desc = 0;
	tring_req(&t, T_IN, 0, T_DATA, 4096, 1);
	tring_kick(&t);
	cr_expect_not(t.dev->broken, "no head of the old ring is still busy");
	cr_assert(tring_wait(&t, 1, 5000));
	cr_expect_eq(tring_status(&t, 0), 0);
	/* Nothing from before the reset shows up late in the new ring. */
	p = (struct pollfd){ .fd = t.dev->extra_fds[0], .events = POLLIN };
	if (poll(&p, 1, 200) > 0)
		t.dev->ops->handle_fd(t.dev, p.fd);
	cr_expect_eq(tring_used_idx(&t), 1);
}

/* Random batches of reads, writes and flushes (distinct 64 KiB slots per
 * batch, since concurrent requests to one range have no defined order)
 * against a model of the disk; cache=none mixes aligned requests (io_uring)
 * with misaligned ones (synchronous bounce) in the same batches. */
static void random_mix(bool direct)
{
	struct disk_config dc = { .path = path, .format = BLOCK_FMT_RAW, .cache_none = direct };
	uint8_t *model = calloc(1, DISK);
	unsigned seed = 12345, slots = DISK / CHUNK;
	uint16_t used = 0;

	if (tring_open(&t, &dc, 256, 16u << 20))
		cr_skip_test("cannot open the image (O_DIRECT unsupported?)");
	for (unsigned batch = 0; batch < 60; batch++) {
		struct { uint16_t head; uint32_t type, len; uint64_t off, gpa; } req[NREQ];
		unsigned n = 1 + rand_r(&seed) % NREQ, first = rand_r(&seed) % slots;

		t.next_desc = 0;
		for (unsigned i = 0; i < n; i++) {
			uint32_t type = rand_r(&seed) % 8 == 0 ? T_FLUSH : rand_r(&seed) % 2;
			uint32_t len = 512 * (1 + rand_r(&seed) % (CHUNK / 512));
			uint64_t off = (uint64_t)((first + i * 3) % slots) * CHUNK +
				       512 * (rand_r(&seed) % ((CHUNK - len) / 512 + 1));
			/* Misaligned in guest memory one time in four. */
			uint64_t gpa = T_DATA + (uint64_t)i * 2 * CHUNK + (rand_r(&seed) % 4 ? 0 : 512);
			uint8_t *p = tring_hva(&t, gpa);
			/* Whole sectors per segment, as drivers send. */
			unsigned nseg = 1 + rand_r(&seed) % 4;

			if (nseg > len / 512)
				nseg = len / 512;
			if (type == T_OUT)
				for (uint32_t k = 0; k < len; k++)
					p[k] = (uint8_t)rand_r(&seed);
			else
				memset(p, 0xcc, len);
			req[i].type = type;
			req[i].len = len;
			req[i].off = off;
			req[i].gpa = gpa;
			req[i].head = tring_req(&t, type, off / 512, gpa, len, nseg);
			if (type == T_OUT)
				memcpy(model + off, p, len);
		}
		tring_kick(&t);
		used += n;
		cr_assert(tring_wait(&t, used, 5000), "batch %u completes", batch);
		for (unsigned i = 0; i < n; i++) {
			const uint8_t *p = tring_hva(&t, req[i].gpa);

			cr_assert_eq(tring_status(&t, req[i].head), 0, "batch %u req %u (type %u)",
				     batch, i, req[i].type);
			if (req[i].type != T_IN)
				continue;
			if (memcmp(p, model + req[i].off, req[i].len))
				cr_assert_fail("batch %u req %u: read data differs", batch, i);
		}
	}
	free(model);
}

Test(blk, random_mix, .init = make_file, .fini = fini) { random_mix(false); }
Test(blk, random_mix_direct, .init = make_file, .fini = fini) { random_mix(true); }

/* A seccomp policy (or an old kernel) refusing io_uring: the device falls
 * back to serving everything synchronously, and still works. */
Test(blk, no_io_uring_falls_back, .init = make_file, .fini = fini)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
	open_dev(false, false, false);
	cr_assert_eq(t.dev->nr_extra_fds, 0, "no io_uring eventfd");
	round_trip(false);
}
