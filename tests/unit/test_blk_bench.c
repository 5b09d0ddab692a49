/* Sequential 1 MiB reads and writes over a 256 MiB raw file through
 * virtio-blk: io_uring vs synchronous, page cache vs cache=none.
 * Run: build/tests/unit/test_blk_bench [dir] [depth] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_blk_ring.h"

#define FILE_SIZE (256u << 20)
#define REQ       (1u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* MiB/s for one pass; -1 on failure.  *busy: the share of the time the
 * device's thread was inside its handlers (unable to take new requests). */
static double pass(struct tring *t, uint32_t type, unsigned depth, double *busy)
{
	unsigned nreq = FILE_SIZE / REQ;
	uint16_t done = tring_used_idx(t);
	double t0 = now();

	t->busy = 0;
	for (unsigned r = 0; r < nreq;) {
		unsigned batch = nreq - r < depth ? nreq - r : depth;

		t->next_desc = 0;
		for (unsigned i = 0; i < batch; i++, r++)
			tring_req(t, type, (uint64_t)r * REQ / 512, T_DATA + (uint64_t)i * REQ, REQ, 1);
		tring_kick(t);
		done += batch;
		if (!tring_wait(t, done, 30000))
			return -1;
		for (unsigned i = 0; i < batch; i++)
			if (tring_status(t, (uint16_t)(3 * i)))
				return -1;
	}
	if (type == T_OUT) {
		tring_req(t, T_FLUSH, 0, 0, 0, 1);
		tring_kick(t);
		if (!tring_wait(t, ++done, 30000))
			return -1;
	}
	*busy = t->busy / (now() - t0);
	return FILE_SIZE / (1 << 20) / (now() - t0);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/var/tmp";
	unsigned depth = argc > 2 ? (unsigned)atoi(argv[2]) : 32;
	char path[256];
	int fd;

	if (depth < 1 || depth > 64)
		depth = 32;
	snprintf(path, sizeof(path), "%s/vireo-blk-bench-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, FILE_SIZE)) {
		perror(path);
		return 1;
	}
	/* Allocate every block first so no pass measures the filesystem's
	 * allocation of a sparse file. */
	{
		static char chunk[REQ];

		memset(chunk, 0xa5, sizeof(chunk));
		for (unsigned i = 0; i < FILE_SIZE / REQ; i++)
			if (pwrite(fd, chunk, REQ, (off_t)i * REQ) != REQ) {
				perror("pwrite");
				return 1;
			}
		fdatasync(fd);
	}
	printf("%u MiB file in %s, %u KiB requests, %u in flight\n", FILE_SIZE >> 20, dir,
	       REQ >> 10, depth);
	for (int direct = 0; direct < 2; direct++) {
		for (int sync = 1; sync >= 0; sync--) {
			struct disk_config dc = { .path = path, .format = BLOCK_FMT_RAW,
						  .aio_sync = sync, .cache_none = direct };
			struct tring t;
			double w = -1, r = -1, wb = 0, rb = 0, b;

			if (tring_open(&t, &dc, 256, (uint64_t)(depth + 16) * REQ)) {
				printf("%-9s %-8s: cannot open\n", direct ? "none" : "writeback",
				       sync ? "sync" : "io_uring");
				continue;
			}
			memset(tring_hva(&t, T_DATA), 0x5a, (size_t)depth * REQ);
			/* Best of three: the machine is shared. */
			for (int k = 0; k < 3; k++) {
				double x = pass(&t, T_OUT, depth, &b);

				/* Reads should come from the disk, not from
				 * what the writes left in the page cache. */
				fdatasync(fd);
				posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
				if (x > w) {
					w = x;
					wb = b;
				}
				x = pass(&t, T_IN, depth, &b);
				if (x > r) {
					r = x;
					rb = b;
				}
			}
			printf("cache=%-9s aio=%-8s: write %5.0f MiB/s (thread busy %3.0f%%)  "
			       "read %5.0f MiB/s (busy %3.0f%%)\n", direct ? "none" : "writeback",
			       sync ? "sync" : "io_uring", w, 100 * wb, r, 100 * rb);
			tring_close(&t);
		}
	}
	close(fd);
	unlink(path);
	return 0;
}
