/* Port-I/O and MMIO exits through the PCI host bridge: config mechanism #1
 * (0xCF8/0xCFC) in a loop, then the same registers through ECAM (base from
 * the ACPI MCFG table), which must agree; every slot of bus 0 must look the
 * same both ways, and an empty slot must read all-ones both ways.
 * "iters=N" sets the loop count (default 1000). */
#include "guest.h"

static uint32_t cf8_addr(unsigned dev, unsigned fn, unsigned reg)
{
	return 0x80000000u | dev << 11 | fn << 8 | (reg & 0xFC);
}

static uint32_t pio_read32(unsigned dev, unsigned reg)
{
	outl(0xCF8, cf8_addr(dev, 0, reg));
	return inl(0xCFC);
}

static uint64_t ecam_base(void)
{
	const struct acpi_sdt_hdr *mcfg = acpi_find_table("MCFG");
	uint64_t base;

	/* MCFG: header, 8 reserved bytes, then 16-byte allocations
	 * {u64 base, u16 segment, u8 start bus, u8 end bus, u32 reserved}. */
	if (!mcfg || mcfg->length < sizeof(*mcfg) + 8 + 16) {
		printf("io: no MCFG table, assuming ECAM at 0x%lx\n",
		       (uint64_t)ECAM_DEFAULT_BASE);
		return ECAM_DEFAULT_BASE;
	}
	memcpy(&base, (const uint8_t *)mcfg + sizeof(*mcfg) + 8, 8);
	printf("io: MCFG says ECAM at 0x%lx\n", base);
	return base;
}

int main(void)
{
	uint64_t iters = cmdline_u64("iters", 1000), i, ecam;
	uint32_t id, v, class_rev;
	uint16_t vendor, device;
	int dev, empty = -1;

	id = pio_read32(0, 0);
	if ((id & 0xFFFF) == 0xFFFF)
		fail("00:00.0 vendor ID reads 0xffff through 0xCF8/0xCFC");
	/* Sub-dword accesses must select the right bytes of the register. */
	outl(0xCF8, cf8_addr(0, 0, 0));
	vendor = inw(0xCFC);
	device = inw(0xCFE);
	if (vendor != (id & 0xFFFF) || device != id >> 16)
		fail("16-bit reads 0x%04x:0x%04x disagree with dword 0x%08x",
		     vendor, device, id);
	if (inb(0xCFD) != ((id >> 8) & 0xFF))
		fail("byte read of 0xCFD disagrees with dword 0x%08x", id);
	outl(0xCF8, cf8_addr(0, 0, 0));
	if (inl(0xCF8) != cf8_addr(0, 0, 0))
		fail("0xCF8 does not read back the address written");
	class_rev = pio_read32(0, 8);
	printf("io: 00:00.0 vendor 0x%04x device 0x%04x class 0x%06x (port I/O)\n",
	       vendor, device, class_rev >> 8);
	for (i = 0; i < iters; i++) {
		v = pio_read32(0, 0);
		if (v != id)
			fail("port I/O read %lu returned 0x%08x, first was 0x%08x",
			     i, v, id);
	}
	printf("io: %lu config reads through 0xCF8/0xCFC agree\n", iters);

	ecam = ecam_base();
	if (ecam >= (4ull << 30))
		fail("ECAM base 0x%lx is outside the identity map", ecam);
	for (i = 0; i < iters; i++) {
		v = mmio_read32(ecam);
		if (v != id)
			fail("ECAM read %lu of 00:00.0 returned 0x%08x, port I/O said 0x%08x",
			     i, v, id);
	}
	v = mmio_read32(ecam + 8);
	if (v != class_rev)
		fail("ECAM class/revision 0x%08x, port I/O said 0x%08x", v, class_rev);
	printf("io: %lu ECAM reads agree with port I/O (0x%08x)\n", iters, id);
	for (dev = 0; dev < 32; dev++) {
		uint32_t p = pio_read32(dev, 0), m = mmio_read32(ecam + ((uint64_t)dev << 15));

		if (p != m)
			fail("00:%02x.0 reads 0x%08x via port I/O, 0x%08x via ECAM",
			     dev, p, m);
		if ((p & 0xFFFF) != 0xFFFF)
			printf("io: 00:%02x.0 %04x:%04x\n", dev, p & 0xFFFF, p >> 16);
		else if (p != 0xFFFFFFFF)
			fail("00:%02x.0 reads 0x%08x: vendor 0xffff but not all-ones",
			     dev, p);
		else
			empty = dev;
	}
	if (empty < 0)
		fail("no empty slot on bus 0 to check all-ones reads");
	printf("io: empty slot 00:%02x.0 reads 0xffffffff both ways\n", empty);
	return 0;
}
