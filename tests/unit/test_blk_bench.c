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

/* MiB/s for one pass; -1 on failure. */
static double pass(struct tring *t, uint32_t type, unsigned depth)
{
	unsigned nreq = FILE_SIZE / REQ;
	uint16_t done = tring_used_idx(t);
	double t0 = now();

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
	printf("%u MiB file in %s, %u KiB requests, %u in flight\n", FILE_SIZE >> 20, dir,
	       REQ >> 10, depth);
	for (int direct = 0; direct < 2; direct++) {
		for (int sync = 1; sync >= 0; sync--) {
			struct disk_config dc = { .path = path, .format = BLOCK_FMT_RAW,
						  .aio_sync = sync, .cache_none = direct };
			struct tring t;
			double w, r;

			if (tring_open(&t, &dc, 256, (uint64_t)depth * REQ + T_DATA)) {
				printf("%-9s %-8s: cannot open\n", direct ? "none" : "writeback",
				       sync ? "sync" : "io_uring");
				continue;
			}
			memset(tring_hva(&t, T_DATA), 0x5a, (size_t)depth * REQ);
			w = pass(&t, T_OUT, depth);
			/* Reads should come from the disk, not what the writes cached. */
			fdatasync(fd);
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			r = pass(&t, T_IN, depth);
			printf("cache=%-9s aio=%-8s: write %7.0f MiB/s  read %7.0f MiB/s\n",
			       direct ? "none" : "writeback", sync ? "sync" : "io_uring", w, r);
			tring_close(&t);
		}
	}
	close(fd);
	unlink(path);
	return 0;
}
