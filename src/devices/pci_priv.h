/* Shared between the host bridge (pci.c) and the per-device config-space
 * logic (pci_dev.c). */
#ifndef VIREO_DEVICES_PCI_PRIV_H
#define VIREO_DEVICES_PCI_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include "devices/pci.h"

struct pci_host {
	struct vm *vm;
	/* Serialises all config-space accesses and (un)registration. */
	pthread_mutex_t lock;
	uint32_t config_address;  /* 0xCF8 */
	uint8_t rcr;              /* 0xCF9 reset control */
	struct pci_device *slots[PCI_MAX_SLOTS];
	struct pci_device bridge;
};

/* Called with the host lock held; off/len already validated to lie within
 * config space (len 1, 2 or 4, not crossing a dword). */
uint32_t pci_dev__config_read(struct pci_device *dev, unsigned off, unsigned len);
void pci_dev__config_write(struct pci_device *dev, unsigned off, unsigned len, uint32_t val);
void pci_dev__unmap_bars(struct pci_device *dev);

#endif
