/* An address-space bus: one for port I/O, one for MMIO.  Devices claim
 * [base, base+len) ranges; zero-size and overlapping claims are rejected
 * (as in Cloud Hypervisor) so two devices can never both answer an access.
 *
 * Lookups happen on every vCPU exit, concurrently from all vCPU threads;
 * registration is rare (start-up, PCI BAR moves), hence the rwlock.
 * Devices serialise their own state. */
#ifndef VIREO_VM_BUS_H
#define VIREO_VM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_dev_ops {
	/* offset is relative to the range base; len is 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t offset, void *data, unsigned len);
	void (*write)(void *opaque, uint64_t offset, const void *data, unsigned len);
};

struct bus_range {
	uint64_t base, len;
	const struct bus_dev_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	size_t nr, cap;
	pthread_rwlock_t lock;
};

void bus__init(struct bus *bus, const char *name);
void bus__exit(struct bus *bus);
/* 0, -EINVAL (zero size / wraps), -EEXIST (overlap), -ENOMEM. */
int bus__register(struct bus *bus, uint64_t base, uint64_t len,
		  const struct bus_dev_ops *ops, void *opaque, const char *name);
int bus__unregister(struct bus *bus, uint64_t base);
/* Dispatch an access.  Returns false when nothing is mapped there: reads
 * then return all-ones like an unclaimed ISA/PCI cycle, writes are dropped. */
bool bus__read(struct bus *bus, uint64_t addr, void *data, unsigned len);
bool bus__write(struct bus *bus, uint64_t addr, const void *data, unsigned len);

#endif
