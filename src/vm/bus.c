#include "vm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus__init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void bus__exit(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose base is > addr. */
static size_t upper_bound(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus__register(struct bus *bus, uint64_t base, uint64_t len,
		  const struct bus_dev_ops *ops, void *opaque, const char *name)
{
	size_t i;
	int ret = 0;

	if (len == 0 || base + len - 1 < base || !ops)
		return -EINVAL;

	pthread_rwlock_wrlock(&bus->lock);
	i = upper_bound(bus, base);
	/* Overlap with the previous range or the next one? */
	if (i > 0) {
		const struct bus_range *p = &bus->ranges[i - 1];
		if (p->base + p->len - 1 >= base) {
			ret = -EEXIST;
			goto out_unlock;
		}
	}
	if (i < bus->nr && bus->ranges[i].base <= base + len - 1) {
		ret = -EEXIST;
		goto out_unlock;
	}
	if (bus->nr == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));
		if (!r) {
			ret = -ENOMEM;
			goto out_unlock;
		}
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){ base, len, ops, opaque, name };
	bus->nr++;
out_unlock:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus__unregister(struct bus *bus, uint64_t base)
{
	size_t i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = upper_bound(bus, base);
	if (i > 0 && bus->ranges[i - 1].base == base) {
		i--;
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nr - i - 1) * sizeof(bus->ranges[0]));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* Find the range containing the whole access [addr, addr+len).  An access
 * that straddles a range end is treated as unmapped. */
static const struct bus_range *lookup(const struct bus *bus, uint64_t addr, unsigned len)
{
	size_t i = upper_bound(bus, addr);
	const struct bus_range *r;

	if (i == 0)
		return NULL;
	r = &bus->ranges[i - 1];
	if (addr - r->base >= r->len || len > r->len - (addr - r->base))
		return NULL;
	return r;
}

bool bus__read(struct bus *bus, uint64_t addr, void *data, unsigned len)
{
	const struct bus_range *r;
	struct bus_range copy;

	pthread_rwlock_rdlock(&bus->lock);
	r = lookup(bus, addr, len);
	if (r)
		copy = *r;
	pthread_rwlock_unlock(&bus->lock);
	if (!r || !copy.ops->read) {
		memset(data, 0xff, len);
		return r != NULL;
	}
	copy.ops->read(copy.opaque, addr - copy.base, data, len);
	return true;
}

bool bus__write(struct bus *bus, uint64_t addr, const void *data, unsigned len)
{
	const struct bus_range *r;
	struct bus_range copy;

	pthread_rwlock_rdlock(&bus->lock);
	r = lookup(bus, addr, len);
	if (r)
		copy = *r;
	pthread_rwlock_unlock(&bus->lock);
	if (!r)
		return false;
	if (copy.ops->write)
		copy.ops->write(copy.opaque, addr - copy.base, data, len);
	return true;
}
