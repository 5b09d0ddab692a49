/* Just enough ACPI to find tables: RSDP -> XSDT/RSDT -> table by signature,
 * plus the MADT walk.  Table contents come from the VMM: lengths are
 * bounded before use. */
#include "guest.h"

#define ACPI_TABLE_MAX (1u << 20)
#define ID_MAP_END (4ull << 30)

static uint8_t checksum(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

static const uint8_t *rsdp_check(uint64_t addr)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)addr;
	uint32_t len;

	if (memcmp(p, "RSD PTR ", 8) || checksum(p, 20))
		return NULL;
	if (p[15] >= 2) {
		len = p[20] | p[21] << 8 | p[22] << 16 | (uint32_t)p[23] << 24;
		if (len < 36 || len > 4096 || checksum(p, len))
			return NULL;
	}
	return p;
}

const uint8_t *acpi_find_rsdp(void)
{
	uint64_t addr = bp_read(BP_ACPI_RSDP_ADDR, 8);
	const uint8_t *p;

	if (addr && addr < ID_MAP_END - 64 && (p = rsdp_check(addr)))
		return p;
	/* Legacy location: the BIOS area, on 16-byte boundaries. */
	for (addr = 0xE0000; addr < 0x100000; addr += 16)
		if ((p = rsdp_check(addr)))
			return p;
	return NULL;
}

static const struct acpi_sdt_hdr *sdt_at(uint64_t addr)
{
	const struct acpi_sdt_hdr *h;

	if (!addr || addr >= ID_MAP_END - ACPI_TABLE_MAX)
		return NULL;
	h = (const struct acpi_sdt_hdr *)(uintptr_t)addr;
	if (h->length < sizeof(*h) || h->length > ACPI_TABLE_MAX)
		return NULL;
	if (checksum((const uint8_t *)h, h->length))
		return NULL;
	return h;
}

const struct acpi_sdt_hdr *acpi_find_table(const char sig[4])
{
	const uint8_t *rsdp = acpi_find_rsdp();
	const struct acpi_sdt_hdr *root = NULL, *t;
	unsigned esize, i, n;
	uint64_t a;

	if (!rsdp)
		return NULL;
	if (rsdp[15] >= 2) {
		memcpy(&a, rsdp + 24, 8);
		root = sdt_at(a);
		esize = 8;
		if (root && memcmp(root->sig, "XSDT", 4))
			root = NULL;
	}
	if (!root) {
		uint32_t a32;

		memcpy(&a32, rsdp + 16, 4);
		root = sdt_at(a32);
		esize = 4;
		if (!root || memcmp(root->sig, "RSDT", 4))
			return NULL;
	}
	n = (root->length - sizeof(*root)) / esize;
	for (i = 0; i < n; i++) {
		a = 0;
		memcpy(&a, (const uint8_t *)(root + 1) + i * esize, esize);
		t = sdt_at(a);
		if (t && !memcmp(t->sig, sig, 4))
			return t;
	}
	return NULL;
}

int acpi_parse_madt(struct madt_info *mi)
{
	const struct acpi_sdt_hdr *h = acpi_find_table("APIC");
	const uint8_t *p, *end;
	bool have_ioapic = false;
	uint32_t v32;

	memset(mi, 0, sizeof(*mi));
	for (v32 = 0; v32 < 16; v32++)
		mi->isa_gsi[v32] = v32;
	mi->lapic_base = LAPIC_DEFAULT_BASE;
	mi->ioapic_base = IOAPIC_DEFAULT_BASE;
	if (!h || h->length < sizeof(*h) + 8)
		return -1;
	p = (const uint8_t *)(h + 1);
	memcpy(&v32, p, 4);
	mi->lapic_base = v32;
	end = (const uint8_t *)h + h->length;
	for (p += 8; p + 2 <= end; p += p[1]) {
		uint32_t flags, id;

		if (p[1] < 2 || p + p[1] > end)
			return -1;
		switch (p[0]) {
		case 0:   /* Processor Local APIC */
			if (p[1] < 8)
				return -1;
			memcpy(&flags, p + 4, 4);
			id = p[3];
			break;
		case 9:   /* Processor Local x2APIC */
			if (p[1] < 16)
				return -1;
			memcpy(&id, p + 4, 4);
			memcpy(&flags, p + 8, 4);
			break;
		case 1:   /* I/O APIC: first one wins */
			if (p[1] >= 12 && !have_ioapic) {
				memcpy(&v32, p + 4, 4);
				mi->ioapic_base = v32;
				have_ioapic = true;
			}
			continue;
		case 2:   /* Interrupt source override (ISA IRQ -> GSI) */
			if (p[1] >= 10 && p[2] == 0 && p[3] < 16)
				memcpy(&mi->isa_gsi[p[3]], p + 4, 4);
			continue;
		case 5:   /* Local APIC address override */
			if (p[1] >= 12)
				memcpy(&mi->lapic_base, p + 4, 8);
			continue;
		default:
			continue;
		}
		/* bit 0: enabled; bit 1: online capable (hot-pluggable). */
		if (!(flags & 1))
			continue;
		if (mi->nr_cpus >= GUEST_MAX_CPUS)
			return -1;
		mi->apic_ids[mi->nr_cpus++] = id;
	}
	return 0;
}
