/* The DSDT: \_S5 for soft power-off, the PCI root bridge with its windows
 * and INTx routing, and the ECAM area as a motherboard resource. */
#include <errno.h>
#include <string.h>

#include "boot/acpi_tables.h"
#include "boot/aml.h"
#include "boot/boot_internal.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define PCI_SLOTS 32
#define PCI_PINS  4

static void dsdt__pci0(struct aml *a)
{
	struct aml_res crs = { .len = 0 };

	aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08");
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);
	aml_name(a, "_UID");
	aml_integer(a, 0);

	aml_res_word_bus(&crs, 0, 0);
	aml_res_io(&crs, PORT_PCI_CONFIG, PORT_PCI_CONFIG, 1, 8);
	aml_res_word_io(&crs, 0x1000, 0xFFFF);
	aml_res_dword_mem(&crs, (uint32_t)VM_PCI_MMIO_BASE,
			  (uint32_t)(VM_PCI_MMIO_BASE + VM_PCI_MMIO_SIZE - 1));
	aml_res_end(&crs);
	aml_name_res(a, "_CRS", &crs);

	/* _PRT: the classic swizzle onto the four PCI GSIs, in GSI mode
	 * (Source 0), so no link devices are needed. */
	aml_name(a, "_PRT");
	aml_package_begin(a, PCI_SLOTS * PCI_PINS);
	for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
		for (unsigned pin = 0; pin < PCI_PINS; pin++) {
			aml_package_begin(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xFFFF);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, IRQ_PCI_BASE + (slot + pin) % PCI_PINS);
			aml_end(a);
		}
	}
	aml_end(a);
	aml_end(a);
}

/* Linux also accepts MMCONFIG when a PNP0C02 device claims it, which keeps
 * working where the e820 check does not apply (e.g. late PCI init). */
static void dsdt__mres(struct aml *a)
{
	struct aml_res crs = { .len = 0 };

	aml_device_begin(a, "MRES");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0C02");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_res_mem32_fixed(&crs, (uint32_t)VM_PCI_ECAM_BASE, (uint32_t)VM_PCI_ECAM_SIZE);
	aml_res_end(&crs);
	aml_name_res(a, "_CRS", &crs);
	aml_end(a);
}

int acpi__build_dsdt(uint8_t *buf, size_t cap)
{
	struct acpi_header *h = (struct acpi_header *)buf;
	struct aml a;
	long len;

	if (cap < sizeof(*h))
		return -ENOSPC;
	aml_init(&a, buf + sizeof(*h), cap - sizeof(*h));

	aml_name(&a, "\\_S5_");
	aml_package_begin(&a, 4);
	aml_integer(&a, ACPI_S5_SLP_TYP);
	aml_integer(&a, ACPI_S5_SLP_TYP);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_end(&a);

	aml_scope_begin(&a, "\\_SB_");
	dsdt__pci0(&a);
	dsdt__mres(&a);
	aml_end(&a);

	len = aml_finish(&a);
	if (len < 0)
		return (int)len;
	/* Revision 2: 64-bit AML integers. */
	acpi__fill_header(h, "DSDT", (uint32_t)(sizeof(*h) + (size_t)len), 2);
	return (int)(sizeof(*h) + (size_t)len);
}
