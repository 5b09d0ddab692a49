/* PCI bus 0: the device registry that the host bridge (pci.c) exposes
 * through configuration mechanism #1 and ECAM, and that virtio-pci and
 * other PCI devices plug into.
 *
 * A device embeds (or points to) a struct pci_device, fills it with
 * pci__device_init(), declares its BARs with pci__set_bar() and its
 * capabilities with pci__add_capability(), then calls
 * pci__register_device().  The PCI core then owns config space: it applies
 * the write mask, implements BAR sizing, and maps/unmaps each BAR's
 * bus_dev_ops on vm->pio / vm->mmio whenever the guest moves the BAR or
 * toggles decoding in the command register. */
#ifndef VIREO_DEVICES_PCI_H
#define VIREO_DEVICES_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm/bus.h"
#include "vm/platform.h"

struct vm;

#define PCI_CFG_SIZE        4096
#define PCI_CFG_LEGACY_SIZE 256    /* what mechanism #1 can reach */
#define PCI_MAX_SLOTS       32
#define PCI_NR_BARS         6

/* Standard header offsets */
#define PCI_VENDOR_ID       0x00
#define PCI_DEVICE_ID       0x02
#define PCI_COMMAND         0x04
#define PCI_STATUS          0x06
#define PCI_REVISION_ID     0x08
#define PCI_CLASS_PROG      0x09
#define PCI_CLASS_DEVICE    0x0A
#define PCI_CACHE_LINE_SIZE 0x0C
#define PCI_LATENCY_TIMER   0x0D
#define PCI_HEADER_TYPE     0x0E
#define PCI_BAR0            0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2C
#define PCI_SUBSYSTEM_ID    0x2E
#define PCI_ROM_ADDRESS     0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE  0x3C
#define PCI_INTERRUPT_PIN   0x3D

#define PCI_COMMAND_IO          0x0001
#define PCI_COMMAND_MEMORY      0x0002
#define PCI_COMMAND_MASTER      0x0004
#define PCI_COMMAND_PARITY      0x0040
#define PCI_COMMAND_SERR        0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT    0x0008
#define PCI_STATUS_CAP_LIST     0x0010
#define PCI_STATUS_W1C          0xF900

#define PCI_BAR_SPACE_IO        0x01
#define PCI_BAR_MEM_TYPE_64     0x04
#define PCI_BAR_MEM_PREFETCH    0x08

#define PCI_CAP_FIRST           0x40

/* Host bridge identity (00:00.0): the generic PCIe host bridge IDs that
 * Linux and QEMU's "gpex" use; class 06/00/00. */
#define PCI_HOST_VENDOR_ID  0x1b36
#define PCI_HOST_DEVICE_ID  0x0008
#define PCI_HOST_CLASS      0x060000

/* INTx routing, shared with the MP/ACPI tables (_PRT): pin 0 = INTA. */
#define PCI_INTX_GSI(slot, pin) (IRQ_PCI_BASE + (((slot) + (pin)) % 4))

enum pci_bar_type {
	PCI_BAR_UNUSED = 0,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,   /* consumes the next BAR slot for the high half */
};

struct pci_bar {
	/* Set by the device through pci__set_bar(). */
	enum pci_bar_type type;
	bool prefetchable;
	uint64_t size;                  /* power of two */
	const struct bus_dev_ops *ops;  /* may be NULL: nothing is mapped */
	void *opaque;
	/* Owned by the PCI core. */
	bool mapped;
	uint64_t addr;                  /* valid when mapped */
};

struct pci_device;

/* All callbacks are optional and run with the PCI host lock held, on the
 * vCPU thread doing the config access: they must not access config space
 * through the host (deadlock) and should be quick. */
struct pci_device_ops {
	/* A BAR was mapped at addr (mapped=true) or unmapped. */
	void (*bar_moved)(struct pci_device *dev, int bar, bool mapped, uint64_t addr);
	/* After the core applied a guest write of len bytes at off (e.g.
	 * for a capability's control register). */
	void (*config_write)(struct pci_device *dev, unsigned off, unsigned len);
	/* Before the core answers a read: refresh volatile registers. */
	void (*config_read)(struct pci_device *dev, unsigned off, unsigned len);
};

struct pci_device {
	const struct pci_device_ops *ops;
	void *opaque;
	const char *name;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* 1 = guest-writable bit */
	uint8_t w1cmask[PCI_CFG_SIZE]; /* 1 = write-1-to-clear bit */
	struct pci_bar bars[PCI_NR_BARS];
	uint8_t cap_last;              /* offset of the last capability, 0: none */
	uint16_t cap_next_free;        /* where the next capability goes */

	/* Assigned by pci__register_device(). */
	struct vm *vm;
	int slot;
	unsigned gsi;
	pthread_mutex_t irq_lock;      /* orders INTx updates */
	atomic_bool intx_level;        /* the device's wish (status bit 3) */
	bool intx_disabled;            /* command bit 10, under irq_lock */
	bool intx_asserted;            /* the line as driven, under irq_lock */
};

/* Fill header fields and default write masks.  class_code is 24-bit
 * (base << 16 | sub << 8 | prog-if). */
void pci__device_init(struct pci_device *dev, uint16_t vendor, uint16_t device,
		      uint32_t class_code, uint8_t revision,
		      const struct pci_device_ops *ops, void *opaque, const char *name);
void pci__device_destroy(struct pci_device *dev);
void pci__set_subsystem(struct pci_device *dev, uint16_t vendor, uint16_t id);
/* Declare a BAR before registration.  size: power of two, >= 16 for memory
 * (4 KiB or more recommended) and 4..256 for I/O.  A 64-bit BAR uses bar
 * and bar + 1.  Returns 0 / -EINVAL. */
int pci__set_bar(struct pci_device *dev, int bar, enum pci_bar_type type,
		 uint64_t size, bool prefetchable,
		 const struct bus_dev_ops *ops, void *opaque);
/* Append a capability.  body/len is the whole structure including the two
 * header bytes (ID and next pointer), which the helper fills in.  wmask
 * (may be NULL) gives the guest-writable bits of the structure.  The
 * capability's offset is returned in *offset.  0 / -EINVAL / -ENOSPC. */
int pci__add_capability(struct pci_device *dev, uint8_t cap_id, const void *body,
			unsigned len, const void *wmask, unsigned *offset);
/* Config-space accessors for device code (little-endian, bounds-checked:
 * out-of-range reads give 0 and writes are ignored). */
uint32_t pci__cfg_get(const struct pci_device *dev, unsigned off, unsigned len);
void pci__cfg_set(struct pci_device *dev, unsigned off, unsigned len, uint32_t val);

/* Plug a device into the next free slot on bus 0 (1..31), assign its INTx
 * GSI (pin INTA) and make it visible.  0 / -ENODEV (no host) / -ENOSPC. */
int pci__register_device(struct vm *vm, struct pci_device *dev);
/* Unmap its BARs and remove it from the bus.  Call pci__device_destroy()
 * afterwards (or on a device that was never registered). */
void pci__unregister_device(struct vm *vm, struct pci_device *dev);
/* Drive the device's INTx line (level semantics).  Honors the command
 * register's INTx-disable bit; the status register's interrupt bit follows
 * the requested level.  Safe from any thread. */
void pci__irq_set(struct pci_device *dev, bool level);

#endif
