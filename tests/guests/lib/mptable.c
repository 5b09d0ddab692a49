/* Intel MultiProcessor Specification 1.4 tables: the floating pointer
 * ("_MP_") in the EBDA's first KiB or the BIOS area 0xF0000-0xFFFFF, then
 * the configuration table ("PCMP") with one 20-byte entry per processor.
 * Linux uses it when ACPI is off; it must agree with the MADT. */
#include "guest.h"

static uint8_t sum8(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static const uint8_t *scan_mpf(uint64_t lo, uint64_t hi)
{
	for (; lo + 16 <= hi; lo += 16) {
		const uint8_t *p = phys(lo);

		if (!memcmp(p, "_MP_", 4) && p[8] == 1 && !sum8(p, 16))
			return p;
	}
	return NULL;
}

int mptable_cpus(uint32_t *apic_ids, int max)
{
	uint64_t ebda = (uint64_t)*(volatile uint16_t *)phys(0x40E) << 4;
	const uint8_t *mpf = NULL, *cfg, *e, *end;
	uint32_t cfg_addr;
	uint16_t len, count;
	int n = 0;

	if (ebda >= 0x80000 && ebda < 0xA0000)
		mpf = scan_mpf(ebda, ebda + 1024);
	if (!mpf)
		mpf = scan_mpf(0x9FC00, 0xA0000);
	if (!mpf)
		mpf = scan_mpf(0xF0000, 0x100000);
	if (!mpf)
		return -1;
	memcpy(&cfg_addr, mpf + 4, 4);
	if (!cfg_addr || cfg_addr >= 0x100000)
		return -1;
	cfg = phys(cfg_addr);
	memcpy(&len, cfg + 4, 2);
	memcpy(&count, cfg + 34, 2);
	if (memcmp(cfg, "PCMP", 4) || len < 44 || cfg_addr + len > 0x100000 ||
	    sum8(cfg, len))
		return -1;
	end = cfg + len;
	for (e = cfg + 44; count-- && e < end; ) {
		unsigned size = e[0] == 0 ? 20 : 8;

		if (e[0] > 4 || e + size > end)
			return -1;
		if (e[0] == 0 && (e[3] & 1)) {    /* processor, enabled */
			if (n >= max)
				return -1;
			apic_ids[n++] = e[1];
		}
		e += size;
	}
	return n;
}
