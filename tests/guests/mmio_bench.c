/* Benchmark load: "count=N" MMIO reads (default 20000: MMIO exits cost
 * ~70 us each in KVM's emulator on PVM hosts) of the host
 * bridge's vendor/device register through ECAM, then pass.  Each read is
 * one MMIO exit to the VMM; the value is checked so a broken path fails
 * instead of looking fast. */
#include "guest.h"

int main(void)
{
	uint64_t count = cmdline_u64("count", 20000), i;
	uint32_t first = mmio_read32(ECAM_DEFAULT_BASE), v;

	printf("mmio_bench: %lu ECAM reads\n", count);
	if ((first & 0xFFFF) == 0xFFFF)
		fail("mmio_bench: no host bridge at ECAM 00:00.0");
	for (i = 0; i < count; i++) {
		v = mmio_read32(ECAM_DEFAULT_BASE);
		if (v != first)
			fail("mmio_bench: read %lu returned 0x%08x, first 0x%08x",
			     i, v, first);
	}
	printf("mmio_bench: done\n");
	return 0;
}
