/* ACPI S5: write SLP_TYP=5 | SLP_EN to PM1a_CNT.  The port comes from the
 * FADT when there is one (it must agree with vireo's fixed 0x604). */
#include "guest.h"

int main(void)
{
	const struct acpi_sdt_hdr *fadt = acpi_find_table("FACP");
	uint16_t port = PORT_PM1A_CNT;
	unsigned i;

	if (fadt && fadt->length >= 68) {
		uint32_t blk;

		memcpy(&blk, (const uint8_t *)fadt + 64, 4);
		printf("poweroff: FADT PM1a_CNT_BLK = 0x%x\n", blk);
		if (blk != PORT_PM1A_CNT)
			fail("FADT PM1a_CNT_BLK 0x%x, expected 0x%x", blk, PORT_PM1A_CNT);
	} else {
		puts("poweroff: no FADT, using port 0x604\n");
	}
	puts("poweroff: entering S5\n");
	outw(port, (5 << 10) | (1 << 13));
	for (i = 0; i < 100; i++)
		udelay(10000);
	fail("still running 1 s after the S5 request");
}
