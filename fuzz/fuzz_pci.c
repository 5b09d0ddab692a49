/* libFuzzer harness for the PCI host bridge as the guest drives it: config
 * mechanism #1 (0xCF8-0xCFF, including the reset control byte), ECAM MMIO,
 * BAR sizing and moves, command-register decode toggles, capability
 * writes, and accesses to wherever the BARs land.  A test device in slot 1
 * has an I/O BAR, a 32-bit BAR, a 64-bit prefetchable BAR, a BAR with no
 * handler and a capability with writable bits; the "special" operation
 * drives its INTx line.  After every access the harness checks that the
 * PCI core's idea of each BAR matches the bus and what bar_moved said. */
#include "devices/devices.h"
#include "devices/pci.h"
#include "fuzz_bus_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ECAM_DEV(d) (VM_PCI_ECAM_BASE + ((uint64_t)(d) << 15))

static const struct fuzz_window windows[] = {
	{ false, PORT_PCI_CONFIG, 8 },
	{ true, ECAM_DEV(0), 0x1000 },
	{ true, ECAM_DEV(1), 0x1000 },
	{ true, VM_PCI_ECAM_BASE, VM_PCI_ECAM_SIZE },
	{ true, VM_PCI_MMIO_BASE, 0x40000 },   /* where the seeds put the BARs */
	{ false, 0xC000, 0x100 },
};

struct tdev {
	struct pci_device pci;
	bool mapped[PCI_NR_BARS];     /* as told by bar_moved */
	uint64_t addr[PCI_NR_BARS];
};

static void tdev_check_access(const struct tdev *t, uint64_t off, unsigned len)
{
	/* The bus must never hand a BAR an access outside it. */
	if (len == 0 || len > 8 || off >= 0x10000 || off + len > 0x10000)
		__builtin_trap();
}

static void tdev_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	tdev_check_access(opaque, off, len);
	memset(data, 0x5A, len);
}

static void tdev_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	tdev_check_access(opaque, off, len);
}

static const struct bus_dev_ops tdev_ops = { .read = tdev_read, .write = tdev_write };

static void tdev_moved(struct pci_device *dev, int bar, bool mapped, uint64_t addr)
{
	struct tdev *t = dev->opaque;

	if (bar < 0 || bar >= PCI_NR_BARS || t->mapped[bar] == mapped)
		__builtin_trap();   /* callbacks must alternate map/unmap */
	if (!mapped && addr != t->addr[bar])
		__builtin_trap();
	t->mapped[bar] = mapped;
	t->addr[bar] = addr;
}

static const struct pci_device_ops tdev_pci_ops = { .bar_moved = tdev_moved };

static void tdev_setup(struct tdev *t)
{
	static const uint8_t cap[8] = { 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66 };
	static const uint8_t cap_wmask[8] = { 0xff, 0xff, 0xff, 0x0f, 0, 0xff, 0, 0 };
	unsigned at;

	memset(t, 0, sizeof(*t));
	pci__device_init(&t->pci, 0x1234, 0x5678, 0xff0000, 1, &tdev_pci_ops, t, "fuzz-dev");
	if (pci__set_bar(&t->pci, 0, PCI_BAR_IO, 0x20, false, &tdev_ops, t) ||
	    pci__set_bar(&t->pci, 1, PCI_BAR_MEM32, 0x1000, false, &tdev_ops, t) ||
	    pci__set_bar(&t->pci, 2, PCI_BAR_MEM64, 0x4000, true, &tdev_ops, t) ||
	    pci__set_bar(&t->pci, 4, PCI_BAR_MEM32, 0x1000, false, NULL, NULL) ||
	    pci__add_capability(&t->pci, 0x09, cap, sizeof(cap), cap_wmask, &at))
		abort();
}

static void intx(struct fuzz_target *t, uint8_t op, struct fuzz_input *in)
{
	struct tdev *d = t->opaque;

	pci__irq_set(&d->pci, op & 2);
}

static void check_bars(struct fuzz_target *t, bool write)
{
	struct tdev *d = t->opaque;

	for (int i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar *b = &d->pci.bars[i];
		struct bus *bus = b->type == PCI_BAR_IO ? &t->vm->pio : &t->vm->mmio;
		uint8_t v[4];

		if (b->type == PCI_BAR_UNUSED)
			continue;
		if (b->mapped != d->mapped[i] || (b->mapped && b->addr != d->addr[i]))
			__builtin_trap();
		if (!b->mapped || !b->ops)
			continue;
		/* A mapped BAR answers at both ends, with our handler. */
		if (!bus__read(bus, b->addr, v, 1) || v[0] != 0x5A ||
		    !bus__read(bus, b->addr + b->size - 1, v, 1) || v[0] != 0x5A)
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct tdev *d = calloc(1, sizeof(*d));
	struct fuzz_target t = {
		.win = windows, .nr_win = sizeof(windows) / sizeof(windows[0]),
		.special = intx, .after = check_bars, .opaque = d,
	};

	if (!quiet) {
		fuzz__quiet();
		quiet = true;
	}
	if (!d)
		abort();
	t.vm = fuzz__vm_new(NULL, 0);
	/* RAM the BARs must stay off, without allocating it. */
	t.vm->ram_size = t.vm->lowmem_size = 256ull << 20;
	tdev_setup(d);
	if (pci__init(t.vm) || pci__register_device(t.vm, &d->pci) || d->pci.slot != 1)
		abort();
	fuzz__run(&t, data, size);
	pci__unregister_device(t.vm, &d->pci);
	for (int i = 0; i < PCI_NR_BARS; i++)
		if (d->mapped[i])
			__builtin_trap();   /* unregistering must unmap everything */
	pci__device_destroy(&d->pci);
	pci__exit(t.vm);
	fuzz__vm_free(t.vm);
	free(d);
	return 0;
}
