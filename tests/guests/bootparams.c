/* Walks the e820 map vireo put in the zero page, prints it the way Linux
 * does, and checks it is sane: entries sorted and non-overlapping, this
 * guest's own image and the zero page inside usable RAM, the EBDA/BIOS
 * area 0x9FC00-0xFFFFF not usable.  The integration test checks the total. */
#include "guest.h"

extern char _end[];

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

static const char *type_name(uint32_t type)
{
	switch (type) {
	case 1: return "usable";
	case 2: return "reserved";
	case 3: return "ACPI data";
	case 4: return "ACPI NVS";
	case 5: return "unusable";
	default: return "unknown";
	}
}

static bool covered(const struct e820_entry *e, unsigned n, uint64_t lo,
		    uint64_t hi)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (e[i].type == 1 && e[i].addr <= lo && hi <= e[i].addr + e[i].size)
			return true;
	return false;
}

static bool overlaps_ram(const struct e820_entry *e, unsigned n, uint64_t lo,
			 uint64_t hi)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (e[i].type == 1 && e[i].addr < hi && lo < e[i].addr + e[i].size)
			return true;
	return false;
}

int main(void)
{
	const struct e820_entry *e;
	uint64_t total = 0, high = 0;
	unsigned n, i;

	if (!guest_boot_params)
		fail("no zero page in RSI");
	n = bp_read(BP_E820_ENTRIES, 1);
	e = (const struct e820_entry *)(guest_boot_params + BP_E820_TABLE);
	printf("e820: %u entries, cmdline \"%s\"\n", n, cmdline());
	if (n == 0 || n > BP_E820_MAX)
		fail("e820_entries = %u", n);
	for (i = 0; i < n; i++) {
		printf("e820: [mem 0x%016lx-0x%016lx] %s\n", e[i].addr,
		       e[i].addr + e[i].size - 1, type_name(e[i].type));
		if (e[i].size == 0 || e[i].addr + e[i].size < e[i].addr)
			fail("e820 entry %u is empty or wraps", i);
		if (i && e[i].addr < e[i - 1].addr + e[i - 1].size)
			fail("e820 entry %u overlaps or is out of order", i);
		if (e[i].type == 1) {
			total += e[i].size;
			if (e[i].addr + e[i].size > (4ull << 30))
				high += e[i].addr + e[i].size -
					(e[i].addr > (4ull << 30) ? e[i].addr : (4ull << 30));
		}
	}
	printf("e820: total RAM %lu MiB (%lu KiB), %lu MiB above 4 GiB\n",
	       total >> 20, total >> 10, high >> 20);
	if (!covered(e, n, 0x7000, 0x8000))
		fail("zero page 0x7000 is not in usable RAM");
	if (!covered(e, n, 0x100000, (uintptr_t)_end))
		fail("guest image 0x100000-0x%lx is not in usable RAM",
		     (uint64_t)(uintptr_t)_end);
	if (overlaps_ram(e, n, 0x9FC00, 0x100000))
		fail("0x9FC00-0xFFFFF (EBDA, BIOS, ACPI) is marked usable");
	return 0;
}
