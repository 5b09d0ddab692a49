/* PCI host bridge, config mechanisms, BAR sizing/mapping, INTx. */
#include <criterion/criterion.h>

#include "devices/devices.h"
#include "devices/pci.h"
#include "test_devices_fake.h"

#define CF8 0xCF8
#define CFC 0xCFC

static struct vm *vm;

static void setup(void)
{
	vm = fake_vm_new(256 << 20);
	cr_assert_eq(pci__init(vm), 0);
}

static void teardown(void)
{
	pci__exit(vm);
	fake_vm_free(vm);
}

TestSuite(pci, .init = setup, .fini = teardown, .timeout = 20);

static uint32_t cf8_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC);
}

static uint32_t conf1_read(unsigned dev, unsigned reg, unsigned len)
{
	outl(vm, CF8, cf8_addr(0, dev, 0, reg));
	switch (len) {
	case 1: return inb(vm, CFC + (reg & 3));
	case 2: return inw(vm, CFC + (reg & 2));
	default: return inl(vm, CFC);
	}
}

static void conf1_write(unsigned dev, unsigned reg, unsigned len, uint32_t v)
{
	outl(vm, CF8, cf8_addr(0, dev, 0, reg));
	switch (len) {
	case 1: outb(vm, CFC + (reg & 3), (uint8_t)v); break;
	case 2: outw(vm, CFC + (reg & 2), (uint16_t)v); break;
	default: outl(vm, CFC, v);
	}
}

static uint32_t ecam_read(unsigned dev, unsigned reg, unsigned len)
{
	return mmio_read(vm, VM_PCI_ECAM_BASE + (dev << 15) + reg, len);
}

Test(pci, host_bridge_ids_conf1_and_ecam_agree)
{
	cr_assert_eq(conf1_read(0, 0, 4), 0x00081b36u, "got %#x", conf1_read(0, 0, 4));
	cr_assert_eq(conf1_read(0, 8, 4) >> 8, 0x060000u);
	cr_assert_eq(conf1_read(0, 0x0E, 1) & 0x7F, 0x00, "header type 0");
	for (unsigned reg = 0; reg < 256; reg += 4)
		cr_assert_eq(conf1_read(0, reg, 4), ecam_read(0, reg, 4), "reg %#x", reg);
	/* Sub-dword accesses at any offset of 0xCFC. */
	cr_assert_eq(conf1_read(0, 2, 2), 0x0008);
	cr_assert_eq(conf1_read(0, 3, 1), 0x00);
	cr_assert_eq(conf1_read(0, 1, 1), 0x1b);
	cr_assert_eq(conf1_read(0, 0x0B, 1), 0x06);
	cr_assert_eq(ecam_read(0, 2, 2), 0x0008);
	cr_assert_eq(ecam_read(0, 0x0B, 1), 0x06);
}

Test(pci, empty_slots_and_functions_read_all_ones)
{
	cr_assert_eq(conf1_read(5, 0, 4), 0xFFFFFFFFu);
	cr_assert_eq(conf1_read(31, 0, 2), 0xFFFFu);
	cr_assert_eq(ecam_read(7, 0, 4), 0xFFFFFFFFu);
	outl(vm, CF8, cf8_addr(0, 0, 1, 0));
	cr_assert_eq(inl(vm, CFC), 0xFFFFFFFFu, "function 1");
	outl(vm, CF8, cf8_addr(1, 0, 0, 0));
	cr_assert_eq(inl(vm, CFC), 0xFFFFFFFFu, "bus 1");
	/* Writes there go nowhere and do not crash. */
	conf1_write(9, 4, 4, 0xFFFFFFFF);
	cr_assert_eq(conf1_read(9, 4, 4), 0xFFFFFFFFu);
}

Test(pci, enable_bit_clear_reads_all_ones)
{
	outl(vm, CF8, 0x00000000);
	cr_assert_eq(inl(vm, CFC), 0xFFFFFFFFu);
	cr_assert_eq(inw(vm, CFC + 2), 0xFFFF);
	outl(vm, CFC, 0x12345678);   /* ignored */
	cr_assert_eq(conf1_read(0, 0, 4), 0x00081b36u);
}

Test(pci, address_register_is_dword_and_masked)
{
	outl(vm, CF8, 0xFFFFFFFF);
	cr_assert_eq(inl(vm, CF8), 0x80FFFFFCu, "reserved bits read 0");
	/* Linux's type-1 probe: a byte to 0xCFB must not disturb CF8. */
	outl(vm, CF8, 0x80000000);
	outb(vm, 0xCFB, 0x01);
	cr_assert_eq(inl(vm, CF8), 0x80000000u);
}

Test(pci, read_only_bits_stay)
{
	uint32_t id = conf1_read(0, 0, 4), class = conf1_read(0, 8, 4);

	conf1_write(0, 0, 4, 0xFFFFFFFF);
	conf1_write(0, 8, 4, 0);
	conf1_write(0, 0x10, 4, 0xFFFFFFFF);   /* the bridge has no BARs */
	cr_assert_eq(conf1_read(0, 0, 4), id);
	cr_assert_eq(conf1_read(0, 8, 4), class);
	cr_assert_eq(conf1_read(0, 0x10, 4), 0);
	conf1_write(0, 4, 2, 0xFFFF);
	cr_assert_eq(conf1_read(0, 4, 2), 0x0547, "only defined command bits: %#x",
		     conf1_read(0, 4, 2));
	cr_assert_eq(conf1_read(0, 6, 2) & 0x0010, 0, "no capabilities on the bridge");
}

Test(pci, reset_control_register)
{
	outb(vm, 0xCF9, 0x02);
	cr_assert_eq(fake_stop_reason(vm), VM_STOP_NONE, "SYS_RST alone only selects");
	cr_assert_eq(inb(vm, 0xCF9) & 0x02, 0x02);
	outb(vm, 0xCF9, 0x06);
	cr_assert_eq(fake_stop_reason(vm), VM_STOP_RESET);
}

/* A test device with three kinds of BARs whose MMIO handler counts hits. */
struct tdev {
	struct pci_device pci;
	int hits;
	uint64_t last_off;
	int moves;
	bool last_mapped;
	uint64_t last_addr;
};

static void tdev_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct tdev *t = opaque;

	t->hits++;
	t->last_off = off;
	memset(data, 0x5A, len);
}

static void tdev_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct tdev *t = opaque;

	t->hits++;
	t->last_off = off;
}

static const struct bus_dev_ops tdev_ops = { .read = tdev_read, .write = tdev_write };

static void tdev_moved(struct pci_device *dev, int bar, bool mapped, uint64_t addr)
{
	struct tdev *t = dev->opaque;

	t->moves++;
	t->last_mapped = mapped;
	t->last_addr = addr;
}

static const struct pci_device_ops tdev_pci_ops = { .bar_moved = tdev_moved };

static void tdev_init(struct tdev *t)
{
	memset(t, 0, sizeof(*t));
	pci__device_init(&t->pci, 0x1af4, 0x1041, 0x020000, 1, &tdev_pci_ops, t, "tdev");
	cr_assert_eq(pci__set_bar(&t->pci, 0, PCI_BAR_MEM32, 0x1000, false, &tdev_ops, t), 0);
	cr_assert_eq(pci__set_bar(&t->pci, 1, PCI_BAR_IO, 0x20, false, &tdev_ops, t), 0);
	cr_assert_eq(pci__set_bar(&t->pci, 2, PCI_BAR_MEM64, 0x100000, true, &tdev_ops, t), 0);
}

Test(pci, set_bar_validates)
{
	struct pci_device d;

	pci__device_init(&d, 1, 2, 0, 0, NULL, NULL, "bad");
	cr_assert_eq(pci__set_bar(&d, 0, PCI_BAR_MEM32, 0x1800, false, NULL, NULL), -EINVAL);
	cr_assert_eq(pci__set_bar(&d, 6, PCI_BAR_MEM32, 0x1000, false, NULL, NULL), -EINVAL);
	cr_assert_eq(pci__set_bar(&d, 5, PCI_BAR_MEM64, 0x1000, false, NULL, NULL), -EINVAL);
	cr_assert_eq(pci__set_bar(&d, 0, PCI_BAR_IO, 0x1000, false, NULL, NULL), -EINVAL);
	cr_assert_eq(pci__set_bar(&d, 0, PCI_BAR_MEM64, 0x1000, false, NULL, NULL), 0);
	cr_assert_eq(pci__set_bar(&d, 1, PCI_BAR_MEM32, 0x1000, false, NULL, NULL), -EINVAL,
		     "BAR1 is the high half of BAR0");
	pci__device_destroy(&d);
}

Test(pci, bar_sizing_semantics)
{
	struct tdev t;

	tdev_init(&t);
	cr_assert_eq(pci__register_device(vm, &t.pci), 0);
	cr_assert_eq(t.pci.slot, 1);
	cr_assert_eq(t.pci.gsi, IRQ_PCI_BASE + 1);
	cr_assert_eq(conf1_read(1, 0, 4), 0x10411af4u);
	cr_assert_eq(conf1_read(1, 0x3D, 1), 1, "INTA");
	cr_assert_eq(conf1_read(1, 0x3C, 1), IRQ_PCI_BASE + 1);

	cr_assert_eq(conf1_read(1, 0x10, 4), 0x00000000u);
	cr_assert_eq(conf1_read(1, 0x14, 4), 0x00000001u, "I/O type bit");
	cr_assert_eq(conf1_read(1, 0x18, 4), 0x0000000Cu, "64-bit prefetchable");
	for (unsigned reg = 0x10; reg < 0x28; reg += 4)
		conf1_write(1, reg, 4, 0xFFFFFFFF);
	cr_assert_eq(conf1_read(1, 0x10, 4), 0xFFFFF000u);
	cr_assert_eq(conf1_read(1, 0x14, 4), 0xFFFFFFE1u);
	cr_assert_eq(conf1_read(1, 0x18, 4), 0xFFF0000Cu);
	cr_assert_eq(conf1_read(1, 0x1C, 4), 0xFFFFFFFFu);
	cr_assert_eq(conf1_read(1, 0x20, 4), 0, "unused BAR");
	cr_assert_eq(conf1_read(1, 0x24, 4), 0);
	/* Via ECAM, the same. */
	cr_assert_eq(ecam_read(1, 0x10, 4), 0xFFFFF000u);
	cr_assert_eq(t.moves, 0, "decoding is off: nothing mapped while sizing");
	pci__unregister_device(vm, &t.pci);
	cr_assert_eq(conf1_read(1, 0, 4), 0xFFFFFFFFu);
	pci__device_destroy(&t.pci);
}

Test(pci, bar_mapping_follows_command_and_moves)
{
	struct tdev t;
	uint8_t b;

	tdev_init(&t);
	cr_assert_eq(pci__register_device(vm, &t.pci), 0);
	conf1_write(1, 0x10, 4, 0xD0001000);
	conf1_write(1, 0x14, 4, 0xC000);
	conf1_write(1, 0x18, 4, 0x00000000);
	conf1_write(1, 0x1C, 4, 0x00000001);   /* 4 GiB + ... above RAM? RAM is 256M */
	cr_assert_eq(bus__read(&vm->mmio, 0xD0001004, &b, 1), false, "decode off");
	conf1_write(1, 4, 2, 0x0003);
	cr_assert_eq(bus__read(&vm->mmio, 0xD0001004, &b, 1), true);
	cr_assert_eq(t.last_off, 4);
	cr_assert_eq(b, 0x5A);
	cr_assert_eq(bus__read(&vm->pio, 0xC01F, &b, 1), true, "I/O BAR mapped");
	cr_assert_eq(t.last_off, 0x1F);
	cr_assert_eq(bus__read(&vm->mmio, 0x100000000ull + 0x80, &b, 1), true, "64-bit BAR");
	cr_assert_eq(t.last_off, 0x80);
	cr_assert_eq(t.moves, 3);

	/* Move BAR0 while decoding. */
	conf1_write(1, 0x10, 4, 0xD0002000);
	cr_assert_eq(bus__read(&vm->mmio, 0xD0001004, &b, 1), false);
	cr_assert_eq(bus__read(&vm->mmio, 0xD0002004, &b, 1), true);
	cr_assert(t.last_mapped);
	cr_assert_eq(t.last_addr, 0xD0002000);

	/* Memory decode off: memory BARs go, the I/O BAR stays. */
	conf1_write(1, 4, 2, 0x0001);
	cr_assert_eq(bus__read(&vm->mmio, 0xD0002004, &b, 1), false);
	cr_assert_eq(bus__read(&vm->pio, 0xC000, &b, 1), true);

	/* A BAR over guest RAM is refused (left unmapped). */
	conf1_write(1, 0x10, 4, 0x00100000);
	conf1_write(1, 4, 2, 0x0003);
	cr_assert_eq(bus__read(&vm->mmio, 0x00100000, &b, 1), false);
	/* A BAR over the ECAM window conflicts and is left unmapped too. */
	conf1_write(1, 0x10, 4, (uint32_t)VM_PCI_ECAM_BASE);
	cr_assert_eq(ecam_read(0, 0, 4), 0x00081b36u, "ECAM still answers");

	pci__unregister_device(vm, &t.pci);
	cr_assert_eq(bus__read(&vm->pio, 0xC000, &b, 1), false, "unregister unmaps");
	pci__device_destroy(&t.pci);
}

Test(pci, capability_list)
{
	struct tdev t;
	uint8_t body[8] = { 0 }, body2[4] = { 0 }, wm[8] = { 0 };
	unsigned off1, off2;

	tdev_init(&t);
	body[2] = 0x42;
	wm[4] = 0xFF;
	cr_assert_eq(pci__add_capability(&t.pci, 0x09, body, sizeof(body), wm, &off1), 0);
	cr_assert_eq(pci__add_capability(&t.pci, 0x05, body2, sizeof(body2), NULL, &off2), 0);
	cr_assert_eq(pci__register_device(vm, &t.pci), 0);
	cr_assert_eq(off1, 0x40);
	cr_assert_eq(off2, 0x48);
	cr_assert_neq(conf1_read(1, 6, 2) & 0x0010, 0, "status CAP_LIST");
	cr_assert_eq(conf1_read(1, 0x34, 1), 0x40);
	cr_assert_eq(conf1_read(1, 0x40, 1), 0x09);
	cr_assert_eq(conf1_read(1, 0x41, 1), 0x48);
	cr_assert_eq(conf1_read(1, 0x42, 1), 0x42);
	cr_assert_eq(conf1_read(1, 0x48, 1), 0x05);
	cr_assert_eq(conf1_read(1, 0x49, 1), 0x00, "end of list");
	conf1_write(1, 0x40, 4, 0xFFFFFFFF);
	conf1_write(1, 0x44, 4, 0xFFFFFFFF);
	cr_assert_eq(conf1_read(1, 0x40, 4), 0x00424809u, "header read-only");
	cr_assert_eq(conf1_read(1, 0x44, 4), 0x000000FFu, "wmask honoured");
	pci__unregister_device(vm, &t.pci);
	pci__device_destroy(&t.pci);
}

Test(pci, intx_and_disable_bit)
{
	struct tdev t1, t2;

	tdev_init(&t1);
	tdev_init(&t2);
	cr_assert_eq(pci__register_device(vm, &t1.pci), 0);
	cr_assert_eq(pci__register_device(vm, &t2.pci), 0);
	cr_assert_eq(t2.pci.slot, 2);
	cr_assert_eq(t2.pci.gsi, IRQ_PCI_BASE + 2);
	pci__irq_set(&t2.pci, true);
	cr_assert_eq(fake_irq_level(IRQ_PCI_BASE + 2), 1);
	cr_assert_neq(conf1_read(2, 6, 2) & 0x0008, 0, "interrupt status");
	conf1_write(2, 4, 2, 0x0400);
	cr_assert_eq(fake_irq_level(IRQ_PCI_BASE + 2), 0, "INTx disabled");
	cr_assert_neq(conf1_read(2, 6, 2) & 0x0008, 0, "status still shows it");
	conf1_write(2, 4, 2, 0x0000);
	cr_assert_eq(fake_irq_level(IRQ_PCI_BASE + 2), 1);
	pci__irq_set(&t2.pci, false);
	cr_assert_eq(fake_irq_level(IRQ_PCI_BASE + 2), 0);
	cr_assert_eq(conf1_read(2, 6, 2) & 0x0008, 0);
	pci__unregister_device(vm, &t1.pci);
	pci__unregister_device(vm, &t2.pci);
	pci__device_destroy(&t1.pci);
	pci__device_destroy(&t2.pci);
}

Test(pci, status_write_one_to_clear)
{
	struct tdev t;

	tdev_init(&t);
	t.pci.cfg[7] = 0xF9;   /* pretend errors were signalled */
	cr_assert_eq(pci__register_device(vm, &t.pci), 0);
	conf1_write(1, 6, 2, 0x1000);
	cr_assert_eq(conf1_read(1, 6, 2) & 0xF900, 0xE900);
	conf1_write(1, 6, 2, 0xFFFF);
	cr_assert_eq(conf1_read(1, 6, 2) & 0xF900, 0);
	pci__unregister_device(vm, &t.pci);
	pci__device_destroy(&t.pci);
}

Test(pci, ecam_misaligned_and_out_of_range)
{
	cr_assert_eq(mmio_read(vm, VM_PCI_ECAM_BASE + 1, 2), 0xFFFFu);
	cr_assert_eq(mmio_read(vm, VM_PCI_ECAM_BASE + 2, 4), 0xFFFFFFFFu);
	cr_assert_eq(mmio_read(vm, VM_PCI_ECAM_BASE + 0xFFC, 4), 0, "end of 4K space");
	mmio_write(vm, VM_PCI_ECAM_BASE + 3, 2, 0xFFFF);
	cr_assert_eq(ecam_read(0, 0, 4), 0x00081b36u);
}

Test(pci, no_free_slot)
{
	static struct tdev t[32];
	int ok = 0, ret = 0;

	for (int i = 0; i < 32; i++) {
		tdev_init(&t[i]);
		ret = pci__register_device(vm, &t[i].pci);
		if (ret == 0)
			ok++;
	}
	cr_assert_eq(ok, 31);
	cr_assert_eq(ret, -ENOSPC);
	for (int i = 0; i < 32; i++) {
		pci__unregister_device(vm, &t[i].pci);
		pci__device_destroy(&t[i].pci);
	}
}
