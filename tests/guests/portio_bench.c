/* Benchmark load: "count=N" OUTs to port 0x80 (default 100000), then pass.
 * Each OUT is one exit to the VMM, so run time measures exit cost. */
#include "guest.h"

int main(void)
{
	uint64_t count = cmdline_u64("count", 100000), i;

	printf("portio_bench: %lu OUTs to port 0x80\n", count);
	for (i = 0; i < count; i++)
		outb(0x80, (uint8_t)i);
	printf("portio_bench: done\n");
	return 0;
}
