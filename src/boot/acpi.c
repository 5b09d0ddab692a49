/* ACPI tables in the firmware area [BOOT_ACPI_ADDR, BOOT_ACPI_LIMIT):
 * RSDP (first, 16-byte aligned so the legacy scan finds it) -> XSDT ->
 * FADT (-> FACS, DSDT), MADT, MCFG.  Every platform number comes from
 * vm/platform.h and vm/vm.h so the tables cannot disagree with the devices. */
#include <errno.h>
#include <string.h>

#include "boot/acpi_tables.h"
#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define ACPI_OEM_ID       "VIREO "
#define ACPI_OEM_TABLE_ID "VIREOVM "
#define ACPI_CREATOR_ID   "VIRO"
#define ACPI_NR_XSDT      3  /* FADT, MADT, MCFG */

uint8_t acpi__checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

void acpi__fill_header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	h->checksum = 0;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
	h->checksum = acpi__checksum(h, len);
}

/* Bump allocator over guest memory; every table is zeroed. */
struct acpi_area {
	struct vm *vm;
	uint64_t next, limit;
};

static void *acpi__alloc(struct acpi_area *ar, size_t len, uint64_t align, uint64_t *gpa)
{
	uint64_t at = (ar->next + align - 1) & ~(align - 1);
	void *p;

	if (at > ar->limit || len > ar->limit - at)
		return NULL;
	p = vm__gpa_to_hva(ar->vm, at, len);
	if (!p)
		return NULL;
	memset(p, 0, len);
	ar->next = at + len;
	*gpa = at;
	return p;
}

static struct acpi_gas gas_io(uint16_t port, uint8_t bits, uint8_t access)
{
	return (struct acpi_gas){ .space_id = ACPI_SPACE_IO, .bit_width = bits,
				  .access_size = access, .address = port };
}

static void acpi__fadt(struct acpi_fadt *f, uint64_t facs, uint64_t dsdt)
{
	/* The spec allows only one of FIRMWARE_CTRL / X_FIRMWARE_CTRL to be
	 * set (Linux would install the FACS twice); DSDT may have both. */
	f->firmware_ctrl = (uint32_t)facs;
	f->x_firmware_ctrl = 0;
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	f->sci_int = IRQ_SCI;
	/* SMI_CMD = 0: no SMM, the hardware is always in ACPI mode. */
	f->smi_cmd = 0;
	f->pm1a_evt_blk = PORT_ACPI_PM1A_EVT;
	f->pm1a_cnt_blk = PORT_ACPI_PM1A_CNT;
	f->pm_tmr_blk = PORT_ACPI_PM_TMR;
	f->pm1_evt_len = 4;
	f->pm1_cnt_len = 2;
	f->pm_tmr_len = 4;
	f->x_pm1a_evt_blk = gas_io(PORT_ACPI_PM1A_EVT, 32, 2);
	f->x_pm1a_cnt_blk = gas_io(PORT_ACPI_PM1A_CNT, 16, 2);
	f->x_pm_tmr_blk = gas_io(PORT_ACPI_PM_TMR, 32, 3);
	/* No C2/C3: latencies above the limits say "not supported". */
	f->p_lvl2_lat = 101;
	f->p_lvl3_lat = 1001;
	f->iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042;
	/* TMR_VAL_EXT stays clear: a 24-bit view of the timer is correct
	 * whether the device counts 24 or 32 bits. */
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_PWR_BUTTON |
		   ACPI_FADT_SLP_BUTTON | ACPI_FADT_RESET_REG_SUP;
	f->reset_reg = gas_io(PORT_ACPI_RESET, 8, 1);
	f->reset_value = ACPI_RESET_VALUE;
	f->minor_version = 0;
	acpi__fill_header(&f->h, "FACP", sizeof(*f), 6);
}

static int acpi__madt(struct acpi_area *ar, int nr_cpus, uint64_t *gpa)
{
	size_t len = sizeof(struct acpi_madt) + (size_t)nr_cpus * sizeof(struct acpi_madt_lapic) +
		     sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_iso) +
		     sizeof(struct acpi_madt_lapic_nmi);
	struct acpi_madt_ioapic io = {
		.type = ACPI_MADT_IOAPIC, .length = sizeof(io), .id = (uint8_t)nr_cpus,
		.address = (uint32_t)VM_IOAPIC_BASE, .gsi_base = 0,
	};
	/* The SCI is level-triggered active-high on an identity-routed pin. */
	struct acpi_madt_iso iso = {
		.type = ACPI_MADT_ISO, .length = sizeof(iso), .bus = 0, .source = IRQ_SCI,
		.gsi = IRQ_SCI, .flags = ACPI_INTI_LEVEL | ACPI_INTI_ACTIVE_HIGH,
	};
	struct acpi_madt_lapic_nmi nmi = {
		.type = ACPI_MADT_LAPIC_NMI, .length = sizeof(nmi), .processor_uid = 0xff,
		.flags = 0, .lint = 1,
	};
	struct acpi_madt *m;
	uint8_t *p;

	m = acpi__alloc(ar, len, 16, gpa);
	if (!m)
		return -ENOSPC;
	m->lapic_address = (uint32_t)VM_LAPIC_BASE;
	m->flags = ACPI_MADT_PCAT_COMPAT;
	p = (uint8_t *)(m + 1);
	for (int i = 0; i < nr_cpus; i++) {
		struct acpi_madt_lapic l = {
			.type = ACPI_MADT_LAPIC, .length = sizeof(l),
			.processor_uid = (uint8_t)i, .apic_id = (uint8_t)i, .flags = 1,
		};
		memcpy(p, &l, sizeof(l));
		p += sizeof(l);
	}
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	memcpy(p, &iso, sizeof(iso));
	p += sizeof(iso);
	memcpy(p, &nmi, sizeof(nmi));
	acpi__fill_header(&m->h, "APIC", (uint32_t)len, 5);
	return 0;
}

static int acpi__mcfg(struct acpi_area *ar, uint64_t *gpa)
{
	struct acpi_mcfg *m = acpi__alloc(ar, sizeof(*m), 16, gpa);

	if (!m)
		return -ENOSPC;
	m->base = VM_PCI_ECAM_BASE;
	m->segment = 0;
	m->start_bus = 0;
	/* 1 MiB of ECAM per bus */
	m->end_bus = (uint8_t)((VM_PCI_ECAM_SIZE >> 20) - 1);
	acpi__fill_header(&m->h, "MCFG", sizeof(*m), 1);
	return 0;
}

int acpi__build(struct vm *vm, int nr_cpus, uint64_t *rsdp_addr)
{
	struct acpi_area ar = { vm, BOOT_ACPI_ADDR, BOOT_ACPI_LIMIT };
	uint64_t rsdp_gpa, xsdt_gpa, fadt_gpa, facs_gpa, dsdt_gpa, madt_gpa, mcfg_gpa;
	size_t xsdt_len = sizeof(struct acpi_header) + ACPI_NR_XSDT * 8;
	struct acpi_rsdp *rsdp;
	struct acpi_header *xsdt;
	struct acpi_fadt *fadt;
	struct acpi_facs *facs;
	uint8_t *dsdt;
	uint64_t entries[ACPI_NR_XSDT];
	int ret, dsdt_len;

	if (nr_cpus < 1 || nr_cpus > VM_MAX_CPUS)
		return -EINVAL;
	rsdp = acpi__alloc(&ar, sizeof(*rsdp), 16, &rsdp_gpa);
	xsdt = rsdp ? acpi__alloc(&ar, xsdt_len, 16, &xsdt_gpa) : NULL;
	fadt = xsdt ? acpi__alloc(&ar, sizeof(*fadt), 16, &fadt_gpa) : NULL;
	facs = fadt ? acpi__alloc(&ar, sizeof(*facs), 64, &facs_gpa) : NULL;
	if (!facs)
		return -ENOSPC;

	facs->length = sizeof(*facs);
	memcpy(facs->signature, "FACS", 4);
	facs->version = 2;

	/* The DSDT takes whatever room it needs from the rest of the area. */
	dsdt = acpi__alloc(&ar, 0, 16, &dsdt_gpa);
	if (!dsdt)
		return -ENOSPC;
	dsdt = vm__gpa_to_hva(vm, dsdt_gpa, ar.limit - dsdt_gpa);
	if (!dsdt)
		return -EFAULT;
	dsdt_len = acpi__build_dsdt(dsdt, ar.limit - dsdt_gpa);
	if (dsdt_len < 0)
		return dsdt_len;
	ar.next = dsdt_gpa + (uint64_t)dsdt_len;

	acpi__fadt(fadt, facs_gpa, dsdt_gpa);
	ret = acpi__madt(&ar, nr_cpus, &madt_gpa);
	if (!ret)
		ret = acpi__mcfg(&ar, &mcfg_gpa);
	if (ret)
		return ret;

	entries[0] = fadt_gpa;
	entries[1] = madt_gpa;
	entries[2] = mcfg_gpa;
	memcpy(xsdt + 1, entries, sizeof(entries));
	acpi__fill_header(xsdt, "XSDT", (uint32_t)xsdt_len, 1);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->rsdt_address = 0;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_gpa;
	rsdp->checksum = acpi__checksum(rsdp, 20);
	rsdp->ext_checksum = acpi__checksum(rsdp, sizeof(*rsdp));
	*rsdp_addr = rsdp_gpa;
	return 0;
}
