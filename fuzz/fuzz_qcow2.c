/* libFuzzer harness: arbitrary bytes as a qcow2 (or raw) image file, opened
 * read-write through block__open, then reads across the disk, a few
 * writes (allocation, COW, refcount updates), a discard and a full check.
 * Nothing the file says may crash vireo. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 17];
	struct block_check_result res;
	struct blockdev *bd;
	char path[64];
	int fd;

	log_set_level(LOG_SILENT); /* errors are the expected outcome */
	fd = memfd_create("fuzz.qcow2", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (block__open(path, BLOCK_FMT_QCOW2, BLOCK_OPEN_NOLOCK, &bd) == 0) {
		uint64_t step = bd->size / 7 + 1;

		for (uint64_t off = 0; off < bd->size && off < (1ull << 32); off += step) {
			size_t n = bd->size - off < sizeof(buf) ? (size_t)(bd->size - off) : sizeof(buf);
			block__read(bd, buf, off, n);
		}
		if (bd->size >= 4096) {
			memset(buf, 0xa5, 4096);
			block__write(bd, buf, 0, 4096);
			block__write(bd, buf, bd->size - 1000, 1000);
			block__write(bd, buf, bd->size / 2 + 17, 3000);
			block__discard(bd, 0, bd->size < (1 << 20) ? bd->size : (1 << 20));
			block__read(bd, buf, 0, 4096);
		}
		block__check(bd, &res, false, false);
		block__close(bd);
	}
	close(fd);
	return 0;
}
