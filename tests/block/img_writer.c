/* img_writer IMAGE SEED COUNT: COUNT pseudo-random writes (0 = forever, until
 * killed) of 1 byte to 200 KiB at random offsets through vireo's block
 * layer, as a guest's disk traffic would arrive.  With COUNT > 0 it also
 * writes the expected disk content to IMAGE.expect (raw) for comparison. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"

int main(int argc, char **argv)
{
	struct blockdev *bd;
	unsigned long count;
	uint8_t *buf, *shadow = NULL;
	unsigned seed;
	int ret;

	if (argc != 4) {
		fprintf(stderr, "usage: img_writer IMAGE SEED COUNT\n");
		return 2;
	}
	seed = (unsigned)strtoul(argv[2], NULL, 0);
	count = strtoul(argv[3], NULL, 0);
	if (block__open(argv[1], BLOCK_FMT_AUTO, 0, &bd))
		return 1;
	buf = malloc(200 << 10);
	if (count) {
		shadow = calloc(1, bd->size);
		if (!shadow || block__read(bd, shadow, 0, bd->size))
			return 1;
	}
	srand(seed);
	for (unsigned long i = 0; !count || i < count; i++) {
		size_t len = 1 + (size_t)rand() % (200 << 10);
		uint64_t off;

		if (len > bd->size)
			len = bd->size;
		off = ((uint64_t)rand() * 4096u + (uint64_t)rand()) % (bd->size - len + 1);
		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)(rand() >> 7);
		ret = block__write(bd, buf, off, len);
		if (ret) {
			fprintf(stderr, "img_writer: write %lu failed: %d\n", i, ret);
			return 1;
		}
		if (shadow)
			memcpy(shadow + off, buf, len);
		if (i % 16 == 0)
			block__flush(bd);
	}
	if (shadow) {
		char p[4096];
		int fd;

		snprintf(p, sizeof(p), "%s.expect", argv[1]);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || block__pwrite_full(fd, shadow, bd->size, 0))
			return 1;
		close(fd);
	}
	block__close(bd);
	return 0;
}
