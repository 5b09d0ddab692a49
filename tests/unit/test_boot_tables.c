/* Firmware tables: e820, MP table, ACPI (checksums, the table chain, MADT,
 * MCFG, DSDT decoded with an independent mini AML parser), AML encoding,
 * page tables and GDT. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi_tables.h"
#include "boot/aml.h"
#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "vm/platform.h"
#include "vm/vm.h"

static struct vm *new_vm(uint64_t mem, int cpus)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	cr_assert_not_null(vm);
	cr_assert_eq(vm__alloc_ram(vm, mem), 0);
	vm->nr_cpus = cpus;
	return vm;
}

static void free_vm(struct vm *vm)
{
	vm__free_ram(vm);
	free(vm);
}

static uint8_t sum8(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (len--)
		s += *b++;
	return s;
}

static void check_e820(uint64_t mem)
{
	struct vm *vm = new_vm(mem, 1);
	struct e820_entry t[E820_MAX_ENTRIES];
	uint64_t ram = 0, covered_low = 0;
	int n = e820__build(vm, t, E820_MAX_ENTRIES);
	int ecam = 0, high = 0;

	cr_assert_gt(n, 0);
	for (int i = 0; i < n; i++) {
		cr_assert_gt(t[i].size, 0);
		if (i)
			cr_assert_geq(t[i].addr, t[i - 1].addr + t[i - 1].size, "entry %d overlaps or unsorted", i);
		if (t[i].type == E820_TYPE_RAM) {
			ram += t[i].size;
			/* RAM entries must be backed by guest memory */
			cr_assert_not_null(vm__gpa_to_hva(vm, t[i].addr, t[i].size));
		}
		if (t[i].addr < vm->lowmem_size)
			covered_low += t[i].size;
		if (t[i].type == E820_TYPE_RESERVED && t[i].addr == VM_PCI_ECAM_BASE &&
		    t[i].size == VM_PCI_ECAM_SIZE)
			ecam = 1;
		if (t[i].type == E820_TYPE_RAM && t[i].addr == VM_HIGHMEM_BASE)
			high = 1;
	}
	cr_assert_eq(t[0].addr, 0);
	cr_assert_eq(covered_low, vm->lowmem_size, "low memory has holes");
	cr_assert_eq(ram, mem - (BOOT_KERNEL_ADDR - BOOT_EBDA_ADDR));
	cr_assert(ecam, "ECAM not reserved");
	cr_assert_eq(high, mem > VM_LOWMEM_LIMIT);
	free_vm(vm);
}

Test(boot_e820, guest_256m)
{
	check_e820(256ull << 20);
}

Test(boot_e820, guest_5g)
{
	check_e820(5ull << 30);
}

Test(boot_e820, too_small_table)
{
	struct vm *vm = new_vm(5ull << 30, 1);
	struct e820_entry t[3];

	cr_assert_eq(e820__build(vm, t, 3), -ENOSPC);
	free_vm(vm);
}

static void check_mptable(int cpus)
{
	struct vm *vm = new_vm(64 << 20, cpus);
	uint64_t fp;
	uint8_t *f, *c, *p;
	uint32_t cfg;
	uint16_t len, count;
	int procs = 0, bsp = 0, ioapic = 0, ints = 0, lints = 0;

	cr_assert_eq(mptable__build(vm, cpus, &fp), 0);
	cr_assert_eq(fp, BOOT_EBDA_ADDR);
	f = vm->ram + fp;
	cr_assert_eq(memcmp(f, "_MP_", 4), 0);
	cr_assert_eq(sum8(f, 16), 0, "floating pointer checksum");
	memcpy(&cfg, f + 4, 4);
	cr_assert_lt(cfg, BOOT_KERNEL_ADDR);
	c = vm->ram + cfg;
	cr_assert_eq(memcmp(c, "PCMP", 4), 0);
	memcpy(&len, c + 4, 2);
	memcpy(&count, c + 34, 2);
	cr_assert_eq(sum8(c, len), 0, "config table checksum");
	if (cfg < BOOT_EBDA_END)
		cr_assert_leq(cfg + len, BOOT_EBDA_END, "config table overflows the EBDA");
	p = c + 44;
	for (int i = 0; i < count; i++) {
		cr_assert_lt(p, c + len);
		switch (p[0]) {
		case 0:
			cr_assert_eq(p[1], procs, "APIC IDs 0..n-1");
			procs++;
			bsp += !!(p[3] & 2);
			cr_assert(p[3] & 1);
			p += 20;
			break;
		case 2:
			ioapic++;
			cr_assert_eq(p[1], cpus);
			p += 8;
			break;
		case 3:
			cr_assert_eq(p[5], p[7], "ISA IRQ %d not identity-routed", p[5]);
			ints++;
			p += 8;
			break;
		case 4:
			lints++;
			p += 8;
			break;
		default:
			p += 8;
		}
	}
	cr_assert_eq(p, c + len);
	cr_assert_eq(procs, cpus);
	cr_assert_eq(bsp, 1);
	cr_assert_eq(ioapic, 1);
	cr_assert_eq(ints, 16);
	cr_assert_eq(lints, 2);
	free_vm(vm);
}

Test(boot_mptable, one_cpu) { check_mptable(1); }
Test(boot_mptable, four_cpus) { check_mptable(4); }
Test(boot_mptable, max_cpus) { check_mptable(VM_MAX_CPUS); }

/* ---- ACPI ---- */

static struct acpi_header *table_at(struct vm *vm, uint64_t gpa, const char *sig)
{
	struct acpi_header *h = vm__gpa_to_hva(vm, gpa, sizeof(*h));

	cr_assert_not_null(h, "%s outside RAM", sig);
	cr_assert_eq(memcmp(h->signature, sig, 4), 0, "expected %s", sig);
	cr_assert_not_null(vm__gpa_to_hva(vm, gpa, h->length));
	cr_assert_eq(sum8(h, h->length), 0, "%s checksum", sig);
	cr_assert_geq(gpa, BOOT_ACPI_ADDR);
	cr_assert_leq(gpa + h->length, BOOT_ACPI_END);
	return h;
}

/* Minimal AML decoding, written against the spec independently of aml.c. */
static size_t pkglen(const uint8_t *p, size_t *nbytes)
{
	size_t n = (p[0] >> 6) + 1, len;

	if (n == 1) {
		*nbytes = 1;
		return p[0] & 0x3f;
	}
	len = p[0] & 0xf;
	for (size_t i = 1; i < n; i++)
		len |= (size_t)p[i] << (4 + 8 * (i - 1));
	*nbytes = n;
	return len;
}

static const uint8_t *namestring(const uint8_t *p, char *out)
{
	int segs = 1;

	out[0] = 0;
	if (*p == '\\') {
		strcat(out, "\\");
		p++;
	}
	if (*p == 0x2e) {
		segs = 2;
		p++;
	} else if (*p == 0x2f) {
		segs = p[1];
		p += 2;
	}
	for (int i = 0; i < segs; i++) {
		if (i)
			strcat(out, ".");
		strncat(out, (const char *)p, 4);
		p += 4;
	}
	return p;
}

static const uint8_t *integer(const uint8_t *p, uint64_t *v)
{
	int n = 0;

	switch (*p) {
	case 0x00: *v = 0; return p + 1;
	case 0x01: *v = 1; return p + 1;
	case 0xff: *v = ~0ull; return p + 1;
	case 0x0a: n = 1; break;
	case 0x0b: n = 2; break;
	case 0x0c: n = 4; break;
	case 0x0e: n = 8; break;
	default: cr_assert_fail("not an integer: op %#x", *p);
	}
	*v = 0;
	for (int i = 0; i < n; i++)
		*v |= (uint64_t)p[1 + i] << (8 * i);
	return p + 1 + n;
}

struct dsdt_facts {
	int s5_ok;
	int prt_entries, prt_ok;
	int has_pci0_hid, has_crs;
};

/* Skip one data object; decode \_S5_ and _PRT packages along the way. */
static const uint8_t *data_object(const uint8_t *p, const char *name, struct dsdt_facts *f)
{
	size_t nb, len;
	const uint8_t *end;
	uint64_t v[4];

	if (*p == 0x12) {               /* Package */
		len = pkglen(p + 1, &nb);
		end = p + 1 + len;
		if (!strcmp(name, "\\_S5_")) {
			const uint8_t *q = p + 1 + nb + 1;

			cr_assert_eq(p[1 + nb], 4);
			for (int i = 0; i < 4; i++)
				q = integer(q, &v[i]);
			cr_assert_eq(q, end);
			f->s5_ok = v[0] == ACPI_S5_SLP_TYP && v[1] == ACPI_S5_SLP_TYP;
		} else if (!strcmp(name, "_PRT")) {
			const uint8_t *q = p + 1 + nb + 1;
			int count = p[1 + nb];

			f->prt_ok = 1;
			for (int i = 0; i < count; i++) {
				size_t enb, elen;
				const uint8_t *r, *eend;

				cr_assert_eq(*q, 0x12);
				elen = pkglen(q + 1, &enb);
				r = q + 1 + enb + 1;
				eend = q + 1 + elen;

				for (int j = 0; j < 4; j++)
					r = integer(r, &v[j]);
				cr_assert_eq(r, eend);
				if ((v[0] & 0xffff) != 0xffff ||
				    v[3] != IRQ_PCI_BASE + ((v[0] >> 16) + v[1]) % 4 || v[2] != 0)
					f->prt_ok = 0;
				q = eend;
			}
			cr_assert_eq(q, end);
			f->prt_entries = count;
		}
		return end;
	}
	if (*p == 0x11) {               /* Buffer */
		len = pkglen(p + 1, &nb);
		if (!strcmp(name, "_CRS"))
			f->has_crs++;
		return p + 1 + len;
	}
	if (*p == 0x0d)
		return p + strlen((const char *)p + 1) + 2;
	return integer(p, &v[0]);
}

static void term_list(const uint8_t *p, const uint8_t *end, const char *scope,
		      struct dsdt_facts *f)
{
	char name[64];
	size_t nb, len;
	uint64_t v;

	while (p < end) {
		if (*p == 0x08) {
			p = namestring(p + 1, name);
			if (!strcmp(scope, "PCI0") && !strcmp(name, "_HID")) {
				integer(p, &v);
				f->has_pci0_hid = v == aml_eisaid_value("PNP0A08");
			}
			p = data_object(p, name, f);
		} else if (*p == 0x10 || (*p == 0x5b && p[1] == 0x82)) {
			const uint8_t *body, *oend;

			p += *p == 0x10 ? 1 : 2;
			len = pkglen(p, &nb);
			oend = p + len;
			body = namestring(p + nb, name);
			term_list(body, oend, name, f);
			p = oend;
		} else {
			cr_assert_fail("unexpected AML opcode %#x", *p);
		}
		cr_assert_leq(p, end, "object overruns its scope");
	}
	cr_assert_eq(p, end);
}

static void check_acpi(int cpus)
{
	struct vm *vm = new_vm(256 << 20, cpus);
	struct acpi_rsdp *rsdp;
	struct acpi_header *xsdt, *dsdt = NULL;
	struct acpi_fadt *fadt = NULL;
	struct acpi_madt *madt = NULL;
	struct acpi_mcfg *mcfg = NULL;
	struct acpi_facs *facs;
	struct dsdt_facts f = { 0 };
	uint64_t rsdp_gpa, e;
	int n, lapics = 0, ioapics = 0, isos = 0, nmis = 0, entries = 0;
	uint8_t *p, *end;

	cr_assert_eq(acpi__build(vm, cpus, &rsdp_gpa), 0);
	cr_assert_eq(rsdp_gpa, BOOT_ACPI_ADDR);
	rsdp = (struct acpi_rsdp *)(vm->ram + rsdp_gpa);
	cr_assert_eq(memcmp(rsdp->signature, "RSD PTR ", 8), 0);
	cr_assert_eq(sum8(rsdp, 20), 0);
	cr_assert_eq(sum8(rsdp, 36), 0);
	cr_assert_eq(rsdp->revision, 2);
	cr_assert_eq(rsdp->length, 36);

	xsdt = table_at(vm, rsdp->xsdt_address, "XSDT");
	n = (int)((xsdt->length - sizeof(*xsdt)) / 8);
	cr_assert_eq(n, 3);
	for (int i = 0; i < n; i++) {
		struct acpi_header *h;

		memcpy(&e, (uint8_t *)(xsdt + 1) + 8 * i, 8);
		h = vm__gpa_to_hva(vm, e, sizeof(*h));
		cr_assert_not_null(h);
		if (!memcmp(h->signature, "FACP", 4))
			fadt = (struct acpi_fadt *)table_at(vm, e, "FACP");
		else if (!memcmp(h->signature, "APIC", 4))
			madt = (struct acpi_madt *)table_at(vm, e, "APIC");
		else if (!memcmp(h->signature, "MCFG", 4))
			mcfg = (struct acpi_mcfg *)table_at(vm, e, "MCFG");
	}
	cr_assert(fadt && madt && mcfg);

	cr_assert_geq(fadt->h.revision, 5);
	cr_assert_eq(fadt->sci_int, IRQ_SCI);
	cr_assert_eq(fadt->smi_cmd, 0);
	cr_assert_eq(fadt->pm1a_evt_blk, PORT_ACPI_PM1A_EVT);
	cr_assert_eq(fadt->pm1a_cnt_blk, PORT_ACPI_PM1A_CNT);
	cr_assert_eq(fadt->pm_tmr_blk, PORT_ACPI_PM_TMR);
	cr_assert_eq(fadt->x_pm1a_cnt_blk.address, PORT_ACPI_PM1A_CNT);
	cr_assert_eq(fadt->reset_reg.space_id, ACPI_SPACE_IO);
	cr_assert_eq(fadt->reset_reg.address, PORT_ACPI_RESET);
	cr_assert_eq(fadt->reset_value, ACPI_RESET_VALUE);
	cr_assert(fadt->flags & ACPI_FADT_RESET_REG_SUP);
	cr_assert_eq(fadt->iapc_boot_arch & 3, 3);
	cr_assert_eq(fadt->x_dsdt, fadt->dsdt);
	cr_assert_eq(fadt->x_firmware_ctrl, 0, "only one FACS pointer may be set");
	facs = vm__gpa_to_hva(vm, fadt->firmware_ctrl, sizeof(*facs));
	cr_assert_not_null(facs);
	cr_assert_eq(memcmp(facs->signature, "FACS", 4), 0);
	cr_assert_eq(facs->length, 64);
	cr_assert_eq(fadt->firmware_ctrl % 64, 0);
	dsdt = table_at(vm, fadt->x_dsdt, "DSDT");

	cr_assert_eq(madt->lapic_address, VM_LAPIC_BASE);
	cr_assert(madt->flags & ACPI_MADT_PCAT_COMPAT);
	p = (uint8_t *)(madt + 1);
	end = (uint8_t *)madt + madt->h.length;
	while (p < end) {
		cr_assert_geq(p[1], 2);
		entries++;
		switch (p[0]) {
		case ACPI_MADT_LAPIC:
			cr_assert_eq(p[3], lapics);
			cr_assert_eq(p[4] & 1, 1);
			lapics++;
			break;
		case ACPI_MADT_IOAPIC: {
			struct acpi_madt_ioapic io;

			memcpy(&io, p, sizeof(io));
			cr_assert_eq(io.id, cpus);
			cr_assert_eq(io.address, VM_IOAPIC_BASE);
			cr_assert_eq(io.gsi_base, 0);
			ioapics++;
			break;
		}
		case ACPI_MADT_ISO: {
			struct acpi_madt_iso iso;

			memcpy(&iso, p, sizeof(iso));
			cr_assert_eq(iso.source, 9);
			cr_assert_eq(iso.gsi, 9);
			cr_assert_eq(iso.flags, 0xd);
			isos++;
			break;
		}
		case ACPI_MADT_LAPIC_NMI:
			cr_assert_eq(p[5], 1);
			nmis++;
			break;
		}
		p += p[1];
	}
	cr_assert_eq(p, end);
	cr_assert_eq(entries, cpus + 3);
	cr_assert_eq(lapics, cpus);
	cr_assert_eq(ioapics, 1);
	cr_assert_eq(isos, 1);
	cr_assert_eq(nmis, 1);

	cr_assert_eq(mcfg->base, VM_PCI_ECAM_BASE);
	cr_assert_eq(mcfg->segment, 0);
	cr_assert_eq(mcfg->start_bus, 0);
	cr_assert_eq(mcfg->end_bus, 0);

	term_list((uint8_t *)(dsdt + 1), (uint8_t *)dsdt + dsdt->length, "", &f);
	cr_assert(f.s5_ok, "\\_S5_ package");
	cr_assert_eq(f.prt_entries, 128);
	cr_assert(f.prt_ok, "_PRT routing");
	cr_assert(f.has_pci0_hid, "PCI0 _HID");
	cr_assert_eq(f.has_crs, 2);
	free_vm(vm);
}

Test(boot_acpi, one_cpu) { check_acpi(1); }
Test(boot_acpi, max_cpus) { check_acpi(VM_MAX_CPUS); }

/* ---- AML encoding ---- */

static void check_pkglen(size_t body)
{
	uint8_t buf[8192], data[6000];
	struct aml a;
	size_t nb, len;
	long n;

	memset(data, 0x42, sizeof(data));
	aml_init(&a, buf, sizeof(buf));
	aml_buffer(&a, data, body);
	n = aml_finish(&a);
	cr_assert_gt(n, 0);
	cr_assert_eq(buf[0], AML_BUFFER_OP);
	len = pkglen(buf + 1, &nb);
	cr_assert_eq(len, (size_t)n - 1, "body %zu", body);
	if (body)
		cr_assert_eq(buf[n - 1], 0x42);
}

Test(boot_aml, pkglength_encodings)
{
	size_t sizes[] = { 0, 1, 55, 58, 59, 60, 61, 62, 63, 64, 200, 4080, 4090, 4094, 5000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_pkglen(sizes[i]);
}

Test(boot_aml, eisaid_and_errors)
{
	uint8_t buf[16];
	struct aml a;

	cr_assert_eq(aml_eisaid_value("PNP0A03"), 0x030AD041);
	cr_assert_eq(aml_eisaid_value("PNP0C02"), 0x020CD041);
	cr_assert_eq(aml_eisaid_value("pnp0a03"), 0);

	aml_init(&a, buf, sizeof(buf));
	aml_name(&a, "TOOLONG");
	cr_assert_eq(aml_finish(&a), -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	aml_package_begin(&a, 1);
	cr_assert_eq(aml_finish(&a), -EINVAL, "unbalanced");
	aml_init(&a, buf, sizeof(buf));
	for (int i = 0; i < 10; i++)
		aml_integer(&a, 0x12345678);
	cr_assert_eq(aml_finish(&a), -ENOSPC);
}

Test(boot_aml, integers)
{
	uint8_t buf[64];
	const uint8_t *p = buf;
	uint64_t vals[] = { 0, 1, 2, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000ull };
	struct aml a;
	uint64_t v;

	aml_init(&a, buf, sizeof(buf));
	for (size_t i = 0; i < 9; i++)
		aml_integer(&a, vals[i]);
	cr_assert_gt(aml_finish(&a), 0);
	for (size_t i = 0; i < 9; i++) {
		p = integer(p, &v);
		cr_assert_eq(v, vals[i]);
	}
	cr_assert_eq(p, buf + a.len);
}

/* ---- page tables, GDT, entry state ---- */

Test(boot_cpu, identity_map_and_gdt)
{
	struct vm *vm = new_vm(64 << 20, 1);
	struct x86_regs regs;
	struct x86_sregs sregs;
	uint64_t *pml4, *pdpt, *pd, *gdt;

	cr_assert_eq(pagetables__build(vm), 0);
	cr_assert_eq(gdt__build(vm), 0);
	pml4 = (uint64_t *)(vm->ram + BOOT_PML4_ADDR);
	pdpt = (uint64_t *)(vm->ram + BOOT_PDPT_ADDR);
	pd = (uint64_t *)(vm->ram + BOOT_PD_ADDR);
	cr_assert_eq(pml4[0] & ~0xfffull, BOOT_PDPT_ADDR);
	cr_assert_eq(pml4[0] & 3, 3);
	cr_assert_eq(pml4[1], 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pdpt[i] & ~0xfffull, BOOT_PD_ADDR + 0x1000ull * i);
	cr_assert_eq(pdpt[4], 0);
	/* Walk a few addresses through the tables: identity everywhere. */
	uint64_t probes[] = { 0, 0x1234567, 0xBFFFFFFF, 0xFEE00000, 0xFFFFFFFF };
	for (int i = 0; i < 5; i++) {
		uint64_t va = probes[i];
		uint64_t pdpte = pdpt[(va >> 30) & 511];
		uint64_t pde = ((uint64_t *)(vm->ram + (pdpte & ~0xfffull)))[(va >> 21) & 511];

		cr_assert(pde & 0x80, "2 MiB page");
		cr_assert_eq((pde & ~0x1fffffull & 0xfffffffff000ull) | (va & 0x1fffff), va);
	}
	(void)pd;

	gdt = (uint64_t *)(vm->ram + BOOT_GDT_ADDR);
	cr_assert_eq(gdt[0], 0);
	cr_assert_eq(gdt[BOOT_SEL_CS / 8], 0x00af9b000000ffffull);
	cr_assert_eq(gdt[BOOT_SEL_DS / 8], 0x00cf93000000ffffull);
	cr_assert_eq((gdt[BOOT_SEL_TSS / 8] >> 16) & 0xffffff, BOOT_TSS_ADDR);
	cr_assert_eq((gdt[BOOT_SEL_TSS / 8] >> 40) & 0xff, 0x8b);

	boot__entry_state(0x1000000, &regs, &sregs);
	cr_assert_eq(sregs.cr0, 0x80010033ull);
	cr_assert_eq(sregs.cr4, 0x20);
	cr_assert_eq(sregs.efer, 0x500);
	cr_assert_eq(sregs.tr.type, 0xb);
	cr_assert_eq(sregs.tr.limit, 0x67);
	cr_assert_eq(sregs.tr.base, BOOT_TSS_ADDR);
	cr_assert(sregs.ldt.unusable);
	cr_assert_eq(sregs.gdt.base, BOOT_GDT_ADDR);
	cr_assert_geq(sregs.gdt.limit, BOOT_SEL_TSS + 15);
	cr_assert_eq(sregs.ds.type, 3);
	cr_assert_eq(sregs.ds.db, 1);
	cr_assert_eq(sregs.cs.type, 0xb);
	cr_assert_eq(regs.rip, 0x1000000);
	free_vm(vm);
}
