/* Intel MultiProcessor Specification 1.4 tables: what a kernel booted with
 * acpi=off uses to find the CPUs and the IOAPIC.  ISA IRQs are routed
 * identically to IOAPIC pins (no IRQ0 -> pin 2 override), matching the MADT
 * and the IOAPIC model. */
#include <errno.h>
#include <string.h>

#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "vm/platform.h"
#include "vm/vm.h"

struct __attribute__((packed)) mpf_intel {
	char signature[4];   /* "_MP_" */
	uint32_t physptr;
	uint8_t length;      /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
};

struct __attribute__((packed)) mpc_table {
	char signature[4];   /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
};

struct __attribute__((packed)) mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
};

struct __attribute__((packed)) mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
};

struct __attribute__((packed)) mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
};

_Static_assert(sizeof(struct mpf_intel) == 16, "mpf");
_Static_assert(sizeof(struct mpc_table) == 44, "mpc");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc_cpu");
_Static_assert(sizeof(struct mpc_bus) == 8, "mpc_bus");
_Static_assert(sizeof(struct mpc_ioapic) == 8, "mpc_ioapic");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "mpc_intsrc");

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

#define MP_SPEC_REV       4
#define MP_CPU_ENABLED    1
#define MP_CPU_BSP        2
#define MP_APIC_VERSION   0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_BUS_PCI        0
#define MP_BUS_ISA        1
#define MP_ISA_IRQS       16
#define MP_ALL_LAPICS     0xff

static uint8_t mp__checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static size_t mp__config_size(int nr_cpus)
{
	return sizeof(struct mpc_table) + (size_t)nr_cpus * sizeof(struct mpc_cpu) +
	       2 * sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +
	       (MP_ISA_IRQS + 2) * sizeof(struct mpc_intsrc);
}

static uint8_t *mp__intsrc(uint8_t *p, uint8_t type, uint8_t irqtype, uint8_t bus,
			   uint8_t busirq, uint8_t dst, uint8_t pin)
{
	struct mpc_intsrc e = {
		.type = type, .irqtype = irqtype, .irqflag = 0 /* conforms to bus */,
		.srcbus = bus, .srcbusirq = busirq, .dstapic = dst, .dstirq = pin,
	};

	memcpy(p, &e, sizeof(e));
	return p + sizeof(e);
}

int mptable__build(struct vm *vm, int nr_cpus, uint64_t *fp_addr)
{
	uint64_t cfg_addr = BOOT_EBDA_ADDR + sizeof(struct mpf_intel);
	size_t cfg_len = mp__config_size(nr_cpus);
	uint8_t ioapic_id = (uint8_t)nr_cpus;
	struct mpf_intel *fp;
	struct mpc_table *mpc;
	uint8_t *base, *p;

	if (nr_cpus < 1 || nr_cpus > VM_MAX_CPUS)
		return -EINVAL;
	if (cfg_addr + cfg_len > BOOT_EBDA_END)
		cfg_addr = BOOT_MP_SPILL_ADDR;
	fp = vm__gpa_to_hva(vm, BOOT_EBDA_ADDR, sizeof(*fp));
	base = vm__gpa_to_hva(vm, cfg_addr, cfg_len);
	if (!fp || !base)
		return -EFAULT;
	memset(base, 0, cfg_len);
	p = base + sizeof(*mpc);

	for (int i = 0; i < nr_cpus; i++) {
		struct mpc_cpu c = {
			.type = MP_PROCESSOR, .apicid = (uint8_t)i, .apicver = MP_APIC_VERSION,
			.cpuflag = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.cpufeature = 0x600,        /* family 6 */
			.featureflag = 0x201,       /* FPU, APIC */
		};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	{
		struct mpc_bus pci = { .type = MP_BUS, .busid = MP_BUS_PCI, .bustype = "PCI   " };
		struct mpc_bus isa = { .type = MP_BUS, .busid = MP_BUS_ISA, .bustype = "ISA   " };
		struct mpc_ioapic io = {
			.type = MP_IOAPIC, .apicid = ioapic_id, .apicver = MP_IOAPIC_VERSION,
			.flags = 1 /* enabled */, .apicaddr = (uint32_t)VM_IOAPIC_BASE,
		};

		memcpy(p, &pci, sizeof(pci));
		p += sizeof(pci);
		memcpy(p, &isa, sizeof(isa));
		p += sizeof(isa);
		memcpy(p, &io, sizeof(io));
		p += sizeof(io);
	}
	for (int irq = 0; irq < MP_ISA_IRQS; irq++)
		p = mp__intsrc(p, MP_INTSRC, MP_INT, MP_BUS_ISA, (uint8_t)irq, ioapic_id,
			       (uint8_t)irq);
	p = mp__intsrc(p, MP_LINTSRC, MP_EXTINT, MP_BUS_ISA, 0, MP_ALL_LAPICS, 0);
	p = mp__intsrc(p, MP_LINTSRC, MP_NMI, MP_BUS_ISA, 0, MP_ALL_LAPICS, 1);

	mpc = (struct mpc_table *)base;
	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - base);
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "VIREO   ", 8);
	memcpy(mpc->productid, "VIREO VM    ", 12);
	mpc->oemcount = (uint16_t)(nr_cpus + 2 + 1 + MP_ISA_IRQS + 2);
	mpc->lapic = (uint32_t)VM_LAPIC_BASE;
	mpc->checksum = mp__checksum(base, mpc->length);

	memset(fp, 0, sizeof(*fp));
	memcpy(fp->signature, "_MP_", 4);
	fp->physptr = (uint32_t)cfg_addr;
	fp->length = 1;
	fp->specification = MP_SPEC_REV;
	fp->checksum = mp__checksum(fp, sizeof(*fp));
	*fp_addr = BOOT_EBDA_ADDR;
	return 0;
}
