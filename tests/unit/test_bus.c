#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vm/bus.h"

struct fake_dev {
	uint64_t last_off;
	unsigned last_len;
	uint32_t value;
	int reads, writes;
};

static void fake_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct fake_dev *d = opaque;

	d->reads++;
	d->last_off = off;
	d->last_len = len;
	memcpy(data, &d->value, len > 4 ? 4 : len);
}

static void fake_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct fake_dev *d = opaque;

	d->writes++;
	d->last_off = off;
	d->last_len = len;
	d->value = 0;
	memcpy(&d->value, data, len > 4 ? 4 : len);
}

static const struct bus_dev_ops fake_ops = { fake_read, fake_write };

Test(bus, rejects_zero_size_and_wrap)
{
	struct bus b;
	struct fake_dev d = { 0 };

	bus__init(&b, "t");
	cr_expect_eq(bus__register(&b, 0x10, 0, &fake_ops, &d, "zero"), -EINVAL);
	cr_expect_eq(bus__register(&b, UINT64_MAX - 1, 4, &fake_ops, &d, "wrap"), -EINVAL);
	cr_expect_eq(bus__register(&b, UINT64_MAX, 1, &fake_ops, &d, "last byte"), 0);
	bus__exit(&b);
}

Test(bus, rejects_overlaps_on_both_sides)
{
	struct bus b;
	struct fake_dev d = { 0 };

	bus__init(&b, "t");
	cr_assert_eq(bus__register(&b, 0x100, 0x10, &fake_ops, &d, "a"), 0);
	cr_expect_eq(bus__register(&b, 0x100, 0x10, &fake_ops, &d, "same"), -EEXIST);
	cr_expect_eq(bus__register(&b, 0xF8, 0x9, &fake_ops, &d, "tail overlaps head"), -EEXIST);
	cr_expect_eq(bus__register(&b, 0x10F, 0x1, &fake_ops, &d, "last byte"), -EEXIST);
	cr_expect_eq(bus__register(&b, 0x104, 0x2, &fake_ops, &d, "inside"), -EEXIST);
	cr_expect_eq(bus__register(&b, 0x0, 0x1000, &fake_ops, &d, "around"), -EEXIST);
	cr_expect_eq(bus__register(&b, 0xF8, 0x8, &fake_ops, &d, "adjacent below"), 0);
	cr_expect_eq(bus__register(&b, 0x110, 0x8, &fake_ops, &d, "adjacent above"), 0);
	bus__exit(&b);
}

Test(bus, dispatch_with_offsets_and_unmapped)
{
	struct bus b;
	struct fake_dev d1 = { .value = 0x11223344 }, d2 = { .value = 0xaabbccdd };
	uint32_t v = 0;

	bus__init(&b, "t");
	cr_assert_eq(bus__register(&b, 0x3f8, 8, &fake_ops, &d1, "uart"), 0);
	cr_assert_eq(bus__register(&b, 0x60, 1, &fake_ops, &d2, "kbd"), 0);

	cr_expect(bus__read(&b, 0x3fd, &v, 1));
	cr_expect_eq(d1.last_off, 5);
	cr_expect_eq(v & 0xff, 0x44);

	v = 0x5a;
	cr_expect(bus__write(&b, 0x60, &v, 1));
	cr_expect_eq(d2.writes, 1);
	cr_expect_eq(d2.value, 0x5a);

	/* Unmapped reads are all-ones and say so. */
	v = 0;
	cr_expect_not(bus__read(&b, 0x80, &v, 4));
	cr_expect_eq(v, 0xffffffffu);
	cr_expect_not(bus__write(&b, 0x80, &v, 4));

	/* An access straddling the end of a range is not delivered. */
	cr_expect_not(bus__read(&b, 0x3fe, &v, 4));
	cr_expect_eq(d1.reads, 1);
	bus__exit(&b);
}

Test(bus, unregister_frees_the_range)
{
	struct bus b;
	struct fake_dev d = { 0 };
	uint8_t v;

	bus__init(&b, "t");
	cr_assert_eq(bus__register(&b, 0x1000, 0x100, &fake_ops, &d, "bar"), 0);
	cr_expect_eq(bus__unregister(&b, 0x1001), -ENOENT);
	cr_expect_eq(bus__unregister(&b, 0x1000), 0);
	cr_expect_not(bus__read(&b, 0x1000, &v, 1));
	cr_expect_eq(bus__register(&b, 0x1080, 0x100, &fake_ops, &d, "moved"), 0);
	bus__exit(&b);
}

Test(bus, many_ranges_stay_sorted)
{
	struct bus b;
	struct fake_dev d[64];
	uint32_t v;

	memset(d, 0, sizeof(d));
	bus__init(&b, "t");
	/* Insert in a scrambled order to exercise the sorted insert. */
	for (int i = 0; i < 64; i++) {
		int k = (i * 37) % 64;
		d[k].value = (uint32_t)k;
		cr_assert_eq(bus__register(&b, 0x10000 + (uint64_t)k * 0x100, 0x100,
					   &fake_ops, &d[k], "dev"), 0);
	}
	for (int k = 0; k < 64; k++) {
		cr_assert(bus__read(&b, 0x10000 + (uint64_t)k * 0x100 + 0x10, &v, 4));
		cr_expect_eq(v, (uint32_t)k);
	}
	bus__exit(&b);
}
