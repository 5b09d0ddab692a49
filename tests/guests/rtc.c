/* CMOS RTC and CMOS memory-size bytes, as firmware and Linux read them:
 *  - date/time, waiting out update-in-progress and re-reading until two
 *    reads agree, in BCD or binary and 12/24 h as register B says; printed
 *    as "rtc: YYYY-MM-DD hh:mm:ss" (UTC) for the test to compare with the
 *    host clock;
 *  - register D reports valid time (VRT);
 *  - setting the clock (SET bit) takes effect: the year is written one
 *    higher and read back;
 *  - CMOS 0x34/0x35 (RAM from 16 MiB to the hole, 64 KiB units) and
 *    0x5B-0x5D (RAM above 4 GiB, 64 KiB units) agree with the e820 map:
 *    installed RAM covers the usable RAM and exceeds it by at most a few
 *    MiB that firmware may reserve (vireo reserves none up there; the
 *    integration test checks the exact values). */
#include "guest.h"

#define FW_SLACK (4ull << 20)

struct rtc_time {
	unsigned sec, min, hour, mday, mon, year;
};

static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg);   /* bit 7 clear: NMI stays enabled */
	return inb(0x71);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	outb(0x70, reg);
	outb(0x71, v);
}

static unsigned from_bcd(uint8_t v, bool bcd)
{
	return bcd ? (v >> 4) * 10 + (v & 0xF) : v;
}

static void read_raw(uint8_t r[10])
{
	unsigned n;

	/* UIP is set for a short while before each update; bounded wait. */
	for (n = 0; n < 100000 && (cmos_read(0x0A) & 0x80); n++)
		cpu_relax();
	r[0] = cmos_read(0x00);
	r[1] = cmos_read(0x02);
	r[2] = cmos_read(0x04);
	r[3] = cmos_read(0x07);
	r[4] = cmos_read(0x08);
	r[5] = cmos_read(0x09);
	r[6] = cmos_read(0x32);   /* century (ACPI FADT default location) */
}

static void rtc_read(struct rtc_time *t)
{
	uint8_t a[10], b[10], regb;
	bool bcd, pm;
	unsigned n;

	read_raw(a);
	for (n = 0; n < 10; n++) {
		read_raw(b);
		if (!memcmp(a, b, 7))
			break;
		memcpy(a, b, 7);
	}
	if (n == 10)
		fail("rtc: time never read the same twice");
	regb = cmos_read(0x0B);
	bcd = !(regb & 0x04);
	pm = !(regb & 0x02) && (a[2] & 0x80);
	t->sec = from_bcd(a[0], bcd);
	t->min = from_bcd(a[1], bcd);
	t->hour = from_bcd(a[2] & 0x7F, bcd);
	if (!(regb & 0x02))
		t->hour = (t->hour % 12) + (pm ? 12 : 0);
	t->mday = from_bcd(a[3], bcd);
	t->mon = from_bcd(a[4], bcd);
	t->year = from_bcd(a[5], bcd) + 100 * (a[6] ? from_bcd(a[6], bcd) : 20);
}

static uint64_t e820_ram(uint64_t lo, uint64_t hi)
{
	const uint8_t *e = guest_boot_params + BP_E820_TABLE;
	unsigned n = bp_read(BP_E820_ENTRIES, 1), i;
	uint64_t total = 0;

	for (i = 0; i < n && i < BP_E820_MAX; i++, e += 20) {
		uint64_t a, s, x, y;
		uint32_t type;

		memcpy(&a, e, 8);
		memcpy(&s, e + 8, 8);
		memcpy(&type, e + 16, 4);
		x = a > lo ? a : lo;
		y = a + s < hi ? a + s : hi;
		if (type == 1 && y > x)
			total += y - x;
	}
	return total;
}

int main(void)
{
	struct rtc_time t, t2;
	uint8_t regb, regd = cmos_read(0x0D);
	uint64_t mid, high, e_mid, e_high;
	bool bcd;

	regb = cmos_read(0x0B);
	bcd = !(regb & 0x04);
	printf("rtc: register A 0x%02x B 0x%02x D 0x%02x (%s, %s)\n",
	       cmos_read(0x0A), regb, regd, bcd ? "BCD" : "binary",
	       regb & 0x02 ? "24h" : "12h");
	if (!(regd & 0x80))
		fail("rtc: register D VRT clear: time not valid");
	rtc_read(&t);
	printf("rtc: %04u-%02u-%02u %02u:%02u:%02u\n", t.year, t.mon, t.mday,
	       t.hour, t.min, t.sec);
	if (t.year < 2020 || t.year > 2199 || t.mon < 1 || t.mon > 12 ||
	    t.mday < 1 || t.mday > 31 || t.hour > 23 || t.min > 59 || t.sec > 59)
		fail("rtc: implausible date/time");

	/* Set the year one higher, read it back, then put it back. */
	cmos_write(0x0B, regb | 0x80);
	cmos_write(0x09, bcd ? (((t.year + 1) % 100 / 10) << 4 | (t.year + 1) % 10)
			     : (t.year + 1) % 100);
	cmos_write(0x0B, regb);
	rtc_read(&t2);
	printf("rtc: after setting the year: %04u\n", t2.year);
	if (t2.year != t.year + 1 && !(t2.year == t.year + 1 - 100))
		fail("rtc: wrote year %u, read back %u", t.year + 1, t2.year);
	cmos_write(0x0B, regb | 0x80);
	cmos_write(0x09, bcd ? ((t.year % 100 / 10) << 4 | t.year % 10) : t.year % 100);
	cmos_write(0x0B, regb);

	mid = (uint64_t)(cmos_read(0x34) | cmos_read(0x35) << 8) << 16;
	high = (uint64_t)(cmos_read(0x5B) | cmos_read(0x5C) << 8 |
			  (uint32_t)cmos_read(0x5D) << 16) << 16;
	e_mid = e820_ram(16ull << 20, 4ull << 30);
	e_high = e820_ram(4ull << 30, ~0ull);
	printf("rtc: CMOS memory: %lu MiB from 16 MiB, %lu MiB above 4 GiB\n",
	       mid >> 20, high >> 20);
	/* CMOS counts whole 64 KiB units of installed RAM. */
	if (mid < (e_mid & ~0xFFFFull) || mid > e_mid + FW_SLACK)
		fail("rtc: CMOS 0x34/0x35 say %lu KiB above 16 MiB, e820 %lu KiB",
		     mid >> 10, e_mid >> 10);
	if (high < (e_high & ~0xFFFFull) || high > e_high + FW_SLACK)
		fail("rtc: CMOS 0x5B-0x5D say %lu KiB above 4 GiB, e820 %lu KiB",
		     high >> 10, e_high >> 10);
	return 0;
}
