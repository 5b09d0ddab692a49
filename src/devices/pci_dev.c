/* Per-device PCI config space: write masks, BAR sizing and mapping,
 * capabilities, INTx.  BAR sizing falls out of the write mask: a BAR's
 * address bits below its size are read-only zero, so writing all-ones
 * reads back the size mask with the read-only type bits. */
#include <errno.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/pci_priv.h"
#include "util/log.h"
#include "vm/vm.h"

static void cfg_put(uint8_t *space, unsigned off, unsigned len, uint32_t val)
{
	for (unsigned i = 0; i < len; i++)
		space[off + i] = (uint8_t)(val >> (8 * i));
}

static uint32_t cfg_fetch(const uint8_t *space, unsigned off, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)space[off + i] << (8 * i);
	return v;
}

uint32_t pci__cfg_get(const struct pci_device *dev, unsigned off, unsigned len)
{
	if (len > 4 || off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off)
		return 0;
	return cfg_fetch(dev->cfg, off, len);
}

void pci__cfg_set(struct pci_device *dev, unsigned off, unsigned len, uint32_t val)
{
	if (len > 4 || off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off)
		return;
	cfg_put(dev->cfg, off, len, val);
}

void pci__device_init(struct pci_device *dev, uint16_t vendor, uint16_t device,
		      uint32_t class_code, uint8_t revision,
		      const struct pci_device_ops *ops, void *opaque, const char *name)
{
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->opaque = opaque;
	dev->name = name ? name : "pci";
	dev->slot = -1;
	dev->cap_next_free = PCI_CAP_FIRST;
	pthread_mutex_init(&dev->irq_lock, NULL);
	atomic_init(&dev->intx_level, false);

	cfg_put(dev->cfg, PCI_VENDOR_ID, 2, vendor);
	cfg_put(dev->cfg, PCI_DEVICE_ID, 2, device);
	cfg_put(dev->cfg, PCI_REVISION_ID, 1, revision);
	cfg_put(dev->cfg, PCI_CLASS_PROG, 3, class_code & 0xFFFFFF);
	dev->cfg[PCI_HEADER_TYPE] = 0x00;   /* type 0, single function */

	cfg_put(dev->wmask, PCI_COMMAND, 2,
		PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	cfg_put(dev->w1cmask, PCI_STATUS, 2, PCI_STATUS_W1C);
	dev->wmask[PCI_CACHE_LINE_SIZE] = 0xFF;
	dev->wmask[PCI_LATENCY_TIMER] = 0xFF;
	/* Written by firmware/OS, meaningless to us. */
	dev->wmask[PCI_INTERRUPT_LINE] = 0xFF;
}

void pci__device_destroy(struct pci_device *dev)
{
	pthread_mutex_destroy(&dev->irq_lock);
}

void pci__set_subsystem(struct pci_device *dev, uint16_t vendor, uint16_t id)
{
	cfg_put(dev->cfg, PCI_SUBSYSTEM_VENDOR_ID, 2, vendor);
	cfg_put(dev->cfg, PCI_SUBSYSTEM_ID, 2, id);
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci__set_bar(struct pci_device *dev, int bar, enum pci_bar_type type,
		 uint64_t size, bool prefetchable,
		 const struct bus_dev_ops *ops, void *opaque)
{
	unsigned off = PCI_BAR0 + 4 * (unsigned)bar;
	uint64_t mask;

	if (bar < 0 || bar >= PCI_NR_BARS || dev->slot >= 0 || !is_pow2(size))
		return -EINVAL;
	if (dev->bars[bar].type != PCI_BAR_UNUSED ||
	    (bar > 0 && dev->bars[bar - 1].type == PCI_BAR_MEM64))
		return -EINVAL;
	mask = ~(size - 1);
	switch (type) {
	case PCI_BAR_IO:
		if (size < 4 || size > 256 || prefetchable)
			return -EINVAL;
		cfg_put(dev->cfg, off, 4, PCI_BAR_SPACE_IO);
		cfg_put(dev->wmask, off, 4, (uint32_t)mask & ~3u);
		break;
	case PCI_BAR_MEM32:
		if (size < 16 || size > (1ull << 31))
			return -EINVAL;
		cfg_put(dev->cfg, off, 4, prefetchable ? PCI_BAR_MEM_PREFETCH : 0);
		cfg_put(dev->wmask, off, 4, (uint32_t)mask & ~15u);
		break;
	case PCI_BAR_MEM64:
		if (bar == PCI_NR_BARS - 1 || size < 16 || size > (1ull << 40) ||
		    dev->bars[bar + 1].type != PCI_BAR_UNUSED)
			return -EINVAL;
		cfg_put(dev->cfg, off, 4, PCI_BAR_MEM_TYPE_64 |
			(prefetchable ? PCI_BAR_MEM_PREFETCH : 0));
		cfg_put(dev->wmask, off, 4, (uint32_t)mask & ~15u);
		cfg_put(dev->wmask, off + 4, 4, (uint32_t)(mask >> 32));
		break;
	default:
		return -EINVAL;
	}
	dev->bars[bar] = (struct pci_bar){
		.type = type, .prefetchable = prefetchable, .size = size,
		.ops = ops, .opaque = opaque,
	};
	return 0;
}

int pci__add_capability(struct pci_device *dev, uint8_t cap_id, const void *body,
			unsigned len, const void *wmask, unsigned *offset)
{
	unsigned off = dev->cap_next_free;

	if (len < 2 || dev->slot >= 0)
		return -EINVAL;
	if (len > PCI_CFG_LEGACY_SIZE - off)
		return -ENOSPC;
	memcpy(&dev->cfg[off], body, len);
	dev->cfg[off] = cap_id;
	dev->cfg[off + 1] = 0;
	if (wmask) {
		memcpy(&dev->wmask[off], wmask, len);
		dev->wmask[off] = dev->wmask[off + 1] = 0;
	}
	if (dev->cap_last)
		dev->cfg[dev->cap_last + 1] = (uint8_t)off;
	else
		dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	cfg_put(dev->cfg, PCI_STATUS, 2,
		cfg_fetch(dev->cfg, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
	dev->cap_last = (uint8_t)off;
	/* Capabilities are dword aligned. */
	dev->cap_next_free = (uint16_t)((off + len + 3) & ~3u);
	if (offset)
		*offset = off;
	return 0;
}

static void pci__intx_update_locked(struct pci_device *dev)
{
	bool want = atomic_load(&dev->intx_level) && !dev->intx_disabled;

	if (want == dev->intx_asserted || !dev->vm)
		return;
	dev->intx_asserted = want;
	vm__irq_line(dev->vm, dev->gsi, want);
}

void pci__irq_set(struct pci_device *dev, bool level)
{
	pthread_mutex_lock(&dev->irq_lock);
	atomic_store(&dev->intx_level, level);
	pci__intx_update_locked(dev);
	pthread_mutex_unlock(&dev->irq_lock);
}

static uint64_t pci__bar_addr(const struct pci_device *dev, int bar)
{
	uint32_t lo = cfg_fetch(dev->cfg, PCI_BAR0 + 4 * (unsigned)bar, 4);

	switch (dev->bars[bar].type) {
	case PCI_BAR_IO:
		return lo & ~3u;
	case PCI_BAR_MEM32:
		return lo & ~15u;
	case PCI_BAR_MEM64:
		return (lo & ~15u) |
		       (uint64_t)cfg_fetch(dev->cfg, PCI_BAR0 + 4 * (unsigned)bar + 4, 4) << 32;
	default:
		return 0;
	}
}

/* Is [addr, addr+size) a place this BAR may decode?  Zero (unassigned),
 * wrapping, beyond the 16-bit port space or over guest RAM are refused. */
static bool pci__bar_range_ok(const struct pci_device *dev, int bar, uint64_t addr)
{
	const struct pci_bar *b = &dev->bars[bar];
	struct vm *vm = dev->vm;
	uint64_t end = addr + b->size;

	if (addr == 0 || end < addr)
		return false;
	if (b->type == PCI_BAR_IO)
		return end <= 0x10000;
	if (addr < vm->lowmem_size)
		return false;
	if (vm->highmem_size && end > VM_HIGHMEM_BASE &&
	    addr < VM_HIGHMEM_BASE + vm->highmem_size)
		return false;
	return true;
}

static void pci__bar_unmap(struct pci_device *dev, int bar)
{
	struct pci_bar *b = &dev->bars[bar];
	struct bus *bus = b->type == PCI_BAR_IO ? &dev->vm->pio : &dev->vm->mmio;

	if (!b->mapped)
		return;
	if (b->ops)
		bus__unregister(bus, b->addr);
	b->mapped = false;
	if (dev->ops && dev->ops->bar_moved)
		dev->ops->bar_moved(dev, bar, false, b->addr);
}

static void pci__bar_update(struct pci_device *dev, int bar)
{
	struct pci_bar *b = &dev->bars[bar];
	uint16_t cmd = (uint16_t)cfg_fetch(dev->cfg, PCI_COMMAND, 2);
	bool io = b->type == PCI_BAR_IO;
	bool enabled = cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY);
	uint64_t addr = pci__bar_addr(dev, bar);
	struct bus *bus = io ? &dev->vm->pio : &dev->vm->mmio;
	int ret;

	if (enabled && !pci__bar_range_ok(dev, bar, addr)) {
		if (addr)
			guest_err("pci %02x.0 %s: BAR%d at %#llx (size %#llx) not decodable, left unmapped",
				  dev->slot, dev->name, bar, (unsigned long long)addr,
				  (unsigned long long)b->size);
		enabled = false;
	}
	if (b->mapped == enabled && (!enabled || b->addr == addr))
		return;
	pci__bar_unmap(dev, bar);
	if (!enabled)
		return;
	if (b->ops) {
		ret = bus__register(bus, addr, b->size, b->ops, b->opaque, dev->name);
		if (ret) {
			guest_err("pci %02x.0 %s: BAR%d at %#llx conflicts with another device (%d), left unmapped",
				  dev->slot, dev->name, bar, (unsigned long long)addr, ret);
			return;
		}
	}
	b->mapped = true;
	b->addr = addr;
	if (dev->ops && dev->ops->bar_moved)
		dev->ops->bar_moved(dev, bar, true, addr);
}

static void pci__update_bars(struct pci_device *dev)
{
	for (int bar = 0; bar < PCI_NR_BARS; bar++)
		if (dev->bars[bar].type != PCI_BAR_UNUSED)
			pci__bar_update(dev, bar);
}

void pci_dev__unmap_bars(struct pci_device *dev)
{
	for (int bar = 0; bar < PCI_NR_BARS; bar++)
		if (dev->bars[bar].type != PCI_BAR_UNUSED)
			pci__bar_unmap(dev, bar);
}

uint32_t pci_dev__config_read(struct pci_device *dev, unsigned off, unsigned len)
{
	uint32_t v;

	if (dev->ops && dev->ops->config_read)
		dev->ops->config_read(dev, off, len);
	v = cfg_fetch(dev->cfg, off, len);
	/* Status bit 3 mirrors the device's INTx wish, maintained without
	 * the host lock, so merge it here. */
	if (off <= PCI_STATUS && off + len > PCI_STATUS) {
		unsigned shift = 8 * (PCI_STATUS - off);

		v &= ~((uint32_t)PCI_STATUS_INTERRUPT << shift);
		if (atomic_load(&dev->intx_level))
			v |= (uint32_t)PCI_STATUS_INTERRUPT << shift;
	}
	return v;
}

void pci_dev__config_write(struct pci_device *dev, unsigned off, unsigned len, uint32_t val)
{
	for (unsigned i = 0; i < len; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));

		dev->cfg[o] = (uint8_t)((dev->cfg[o] & ~dev->wmask[o]) | (b & dev->wmask[o]));
		dev->cfg[o] &= (uint8_t)~(b & dev->w1cmask[o]);
	}
	if (off < PCI_COMMAND + 2 && off + len > PCI_COMMAND) {
		pthread_mutex_lock(&dev->irq_lock);
		dev->intx_disabled = cfg_fetch(dev->cfg, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
		pci__intx_update_locked(dev);
		pthread_mutex_unlock(&dev->irq_lock);
	}
	if ((off < PCI_COMMAND + 2 && off + len > PCI_COMMAND) ||
	    (off < PCI_BAR0 + 4 * PCI_NR_BARS && off + len > PCI_BAR0))
		pci__update_bars(dev);
	if (dev->ops && dev->ops->config_write)
		dev->ops->config_write(dev, off, len);
}
