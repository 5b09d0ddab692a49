/* Reset through the keyboard controller (0xFE to port 0x64, the default)
 * or the PCI reset-control register (cmdline word "cf9": 0x06 to port
 * 0xCF9).  vireo treats a reset as the end of the run: exit 0. */
#include "guest.h"

int main(void)
{
	unsigned i;

	if (cmdline_has("cf9")) {
		puts("reset: writing 0x06 to port 0xCF9\n");
		outb(0xCF9, 0x06);
	} else {
		puts("reset: writing 0xFE to port 0x64\n");
		outb(0x64, 0xFE);
	}
	for (i = 0; i < 100; i++)
		udelay(10000);
	fail("still running 1 s after the reset request");
}
