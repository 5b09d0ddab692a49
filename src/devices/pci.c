/* PCI host bridge for bus 0: configuration mechanism #1 at 0xCF8/0xCFC,
 * ECAM at VM_PCI_ECAM_BASE, and the reset control register at 0xCF9 (which
 * sits inside the mechanism #1 range, hence one 8-port claim). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devices.h"
#include "devices/pci.h"
#include "devices/pci_priv.h"
#include "util/log.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define CF8_ENABLE     0x80000000u
/* Bits 30:24 are reserved and 1:0 are hardwired to 0. */
#define CF8_MASK       0x80FFFFFCu
#define RCR_SYS_RST    0x02
#define RCR_RST_CPU    0x04
#define RCR_FULL_RST   0x08

static uint32_t ones(unsigned len)
{
	return len >= 4 ? 0xFFFFFFFFu : (1u << (8 * len)) - 1;
}

static void put_le(void *data, unsigned len, uint32_t v)
{
	uint8_t *p = data;

	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(i < 4 ? v >> (8 * i) : 0xFF);
}

static uint32_t get_le(const void *data, unsigned len)
{
	const uint8_t *p = data;
	uint32_t v = 0;

	for (unsigned i = 0; i < len && i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

/* Config cycle on bus 0.  The caller holds the lock and has checked that
 * [reg, reg+len) stays within one dword of config space. */
static uint32_t pci__cfg_read_locked(struct pci_host *h, unsigned bus, unsigned dev,
				     unsigned fn, unsigned reg, unsigned len)
{
	struct pci_device *d;

	if (bus != 0 || fn != 0 || dev >= PCI_MAX_SLOTS)
		return ones(len);
	d = h->slots[dev];
	if (!d)
		return ones(len);
	return pci_dev__config_read(d, reg, len);
}

static void pci__cfg_write_locked(struct pci_host *h, unsigned bus, unsigned dev,
				  unsigned fn, unsigned reg, unsigned len, uint32_t val)
{
	struct pci_device *d;

	if (bus != 0 || fn != 0 || dev >= PCI_MAX_SLOTS)
		return;
	d = h->slots[dev];
	if (d)
		pci_dev__config_write(d, reg, len, val);
}

static void pci__rcr_write(struct pci_host *h, uint8_t v)
{
	h->rcr = v & (RCR_SYS_RST | RCR_FULL_RST);
	/* RST_CPU starts the reset; SYS_RST only selects hard vs soft, and a
	 * VMM has only one kind of reset. */
	if (v & RCR_RST_CPU)
		vm__request_stop(h->vm, VM_STOP_RESET, 0);
}

static void pci__io_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct pci_host *h = opaque;
	uint32_t v = ones(len);

	pthread_mutex_lock(&h->lock);
	if (offset == 0 && len == 4) {
		v = h->config_address;
	} else if (offset == 1 && len == 1) {
		v = h->rcr;
	} else if (offset >= 4 && offset + len <= 8 && len <= 4) {
		uint32_t a = h->config_address;

		if (a & CF8_ENABLE)
			v = pci__cfg_read_locked(h, (a >> 16) & 0xFF, (a >> 11) & 0x1F,
						 (a >> 8) & 7, (a & 0xFC) + (unsigned)(offset - 4), len);
	}
	/* Other widths at 0xCF8-0xCFB are not config cycles: float high. */
	pthread_mutex_unlock(&h->lock);
	put_le(data, len, v);
}

static void pci__io_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct pci_host *h = opaque;
	uint32_t v = get_le(data, len);

	pthread_mutex_lock(&h->lock);
	if (offset == 0 && len == 4) {
		h->config_address = v & CF8_MASK;
	} else if (offset == 1 && len == 1) {
		pci__rcr_write(h, (uint8_t)v);
	} else if (offset >= 4 && offset + len <= 8 && len <= 4) {
		uint32_t a = h->config_address;

		if (a & CF8_ENABLE)
			pci__cfg_write_locked(h, (a >> 16) & 0xFF, (a >> 11) & 0x1F,
					      (a >> 8) & 7, (a & 0xFC) + (unsigned)(offset - 4),
					      len, v);
	}
	/* Linux's type-1 probe writes a byte to 0xCFB: ignored silently. */
	pthread_mutex_unlock(&h->lock);
}

static const struct bus_dev_ops pci_io_ops = {
	.read = pci__io_read,
	.write = pci__io_write,
};

static bool ecam_access_ok(uint64_t offset, unsigned len)
{
	if (len != 1 && len != 2 && len != 4)
		return false;
	return (offset & (len - 1)) == 0;
}

static void pci__ecam_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct pci_host *h = opaque;
	uint32_t v = 0xFFFFFFFFu;

	if (!ecam_access_ok(offset, len)) {
		guest_err("pci: ECAM read of %u bytes at %#llx: unsupported width/alignment",
			  len, (unsigned long long)offset);
		memset(data, 0xFF, len);
		return;
	}
	pthread_mutex_lock(&h->lock);
	v = pci__cfg_read_locked(h, (unsigned)(offset >> 20), (offset >> 15) & 0x1F,
				 (offset >> 12) & 7, offset & 0xFFF, len);
	pthread_mutex_unlock(&h->lock);
	put_le(data, len, v);
}

static void pci__ecam_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct pci_host *h = opaque;

	if (!ecam_access_ok(offset, len)) {
		guest_err("pci: ECAM write of %u bytes at %#llx: unsupported width/alignment",
			  len, (unsigned long long)offset);
		return;
	}
	pthread_mutex_lock(&h->lock);
	pci__cfg_write_locked(h, (unsigned)(offset >> 20), (offset >> 15) & 0x1F,
			      (offset >> 12) & 7, offset & 0xFFF, len, get_le(data, len));
	pthread_mutex_unlock(&h->lock);
}

static const struct bus_dev_ops pci_ecam_ops = {
	.read = pci__ecam_read,
	.write = pci__ecam_write,
};

static int pci__plug_locked(struct pci_host *h, struct pci_device *dev, int slot)
{
	dev->vm = h->vm;
	dev->slot = slot;
	dev->gsi = PCI_INTX_GSI((unsigned)slot, 0);
	dev->cfg[PCI_INTERRUPT_PIN] = 1;   /* INTA */
	dev->cfg[PCI_INTERRUPT_LINE] = (uint8_t)dev->gsi;
	h->slots[slot] = dev;
	return 0;
}

int pci__register_device(struct vm *vm, struct pci_device *dev)
{
	struct pci_host *h = vm->dev.pci;
	int ret = -ENOSPC;

	if (!h)
		return -ENODEV;
	if (dev->slot >= 0)
		return -EEXIST;
	pthread_mutex_lock(&h->lock);
	for (int slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		if (!h->slots[slot]) {
			ret = pci__plug_locked(h, dev, slot);
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

void pci__unregister_device(struct vm *vm, struct pci_device *dev)
{
	struct pci_host *h = vm->dev.pci;

	if (!h || dev->slot < 0 || dev->slot >= PCI_MAX_SLOTS)
		return;
	pthread_mutex_lock(&h->lock);
	if (h->slots[dev->slot] == dev) {
		pci_dev__unmap_bars(dev);
		h->slots[dev->slot] = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	pci__irq_set(dev, false);
	dev->slot = -1;
}

int pci__init(struct vm *vm)
{
	struct pci_host *h;
	int ret;

	if (vm->dev.pci)
		return -EEXIST;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->vm = vm;
	ret = pthread_mutex_init(&h->lock, NULL);
	if (ret) {
		free(h);
		return -ret;
	}
	pci__device_init(&h->bridge, PCI_HOST_VENDOR_ID, PCI_HOST_DEVICE_ID,
			 PCI_HOST_CLASS, 0, NULL, NULL, "host-bridge");
	/* The bridge has no interrupt pin. */
	h->bridge.wmask[PCI_INTERRUPT_LINE] = 0;
	pci__plug_locked(h, &h->bridge, 0);
	h->bridge.cfg[PCI_INTERRUPT_PIN] = 0;
	h->bridge.cfg[PCI_INTERRUPT_LINE] = 0;

	ret = bus__register(&vm->pio, PORT_PCI_CONFIG, 8, &pci_io_ops, h, "pci-conf1");
	if (ret)
		goto err_free;
	ret = bus__register(&vm->mmio, VM_PCI_ECAM_BASE, VM_PCI_ECAM_SIZE, &pci_ecam_ops,
			    h, "pci-ecam");
	if (ret)
		goto err_unregister_io;
	vm->dev.pci = h;
	return 0;

err_unregister_io:
	bus__unregister(&vm->pio, PORT_PCI_CONFIG);
err_free:
	pci__device_destroy(&h->bridge);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return ret;
}

void pci__exit(struct vm *vm)
{
	struct pci_host *h = vm->dev.pci;

	if (!h)
		return;
	bus__unregister(&vm->mmio, VM_PCI_ECAM_BASE);
	bus__unregister(&vm->pio, PORT_PCI_CONFIG);
	/* Devices still plugged are owned by their models; just unmap. */
	pthread_mutex_lock(&h->lock);
	for (int slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		if (h->slots[slot]) {
			pci_dev__unmap_bars(h->slots[slot]);
			h->slots[slot]->slot = -1;
			h->slots[slot] = NULL;
		}
	}
	pthread_mutex_unlock(&h->lock);
	pci__device_destroy(&h->bridge);
	pthread_mutex_destroy(&h->lock);
	free(h);
	vm->dev.pci = NULL;
}
