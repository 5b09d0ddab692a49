/* irqchip timers: LAPIC one-shot/periodic/TSC-deadline, PIT mode 2 period,
 * counter latch and read-back, port 0x61 gate and OUT.  Real time on a
 * shared host: the bounds are deliberately generous, this is no benchmark. */
#include "test_irqchip_common.h"
#include "accel/soft/timebase.h"

/* LAPIC timer counts per millisecond at divide-by-1 */
#define CNT_MS ((uint32_t)(SOFT_CRYSTAL_HZ / 1000))

TestSuite(lapic_timer, .init = setup, .fini = teardown, .timeout = 30);
TestSuite(pit, .init = setup, .fini = teardown, .timeout = 30);

/* Wait up to limit_ms for cpu's pending vector to become `want`. */
static bool wait_vector(int cpu, int want, unsigned limit_ms)
{
	uint64_t end = mono_ns() + limit_ms * 1000000ull;

	while (mono_ns() < end) {
		if (lapic__pending_vector(L(cpu)) == want)
			return true;
		sleep_ms(1);
	}
	return false;
}

Test(lapic_timer, one_shot)
{
	uint64_t t0, dt;
	uint32_t cc;

	apic_enable(1);
	apic_w(1, 0x3E0, 0xB);         /* divide by 1: SOFT_CRYSTAL_HZ */
	apic_w(1, 0x320, 0x31);        /* one-shot, vector 0x31 */
	t0 = mono_ns();
	apic_w(1, 0x380, 20 * CNT_MS); /* 20 ms */
	cc = apic_r(1, 0x390);
	cr_assert(cc > 0 && cc <= 20 * CNT_MS, "current count %u", cc);
	cr_assert_eq(apic_r(1, 0x380), 20 * CNT_MS);
	cr_assert_eq(lapic__pending_vector(L(1)), -1);
	cr_assert(wait_vector(1, 0x31, 2000), "timer never fired");
	dt = mono_ns() - t0;
	cr_assert_geq(dt, 19000000ull, "fired early: %llu ns", (unsigned long long)dt);
	cr_assert_lt(dt, 1000000000ull, "fired very late: %llu ns", (unsigned long long)dt);
	cr_assert_eq(apic_r(1, 0x390), 0, "one-shot ends at 0");
	cr_assert_gt(atomic_load(&rec[1].wake), 0, "HLTed CPU must be woken");
	cr_assert_eq(lapic__accept(L(1)), 0x31);
	apic_w(1, 0xB0, 0);
	sleep_ms(40);
	cr_assert_eq(lapic__pending_vector(L(1)), -1, "one-shot fired twice");
}

Test(lapic_timer, divide_and_mask)
{
	uint32_t a, b;

	apic_enable(0);
	apic_w(0, 0x3E0, 0x3);         /* divide by 16 */
	apic_w(0, 0x320, 0x10032);     /* masked */
	apic_w(0, 0x380, 4 * CNT_MS);  /* 64 ms */
	a = apic_r(0, 0x390);
	sleep_ms(20);
	b = apic_r(0, 0x390);
	/* 20 ms at divide-by-16 = 20 * CNT_MS / 16 counts; a wide range. */
	cr_assert(a > b && a - b > 10 * CNT_MS / 16 && a - b < 4 * CNT_MS, "a=%u b=%u", a, b);
	sleep_ms(80);
	cr_assert_eq(apic_r(0, 0x390), 0);
	cr_assert_eq(lapic__pending_vector(L(0)), -1, "masked timer interrupts");
	/* Writing 0 stops a running timer. */
	apic_w(0, 0x380, 4 * CNT_MS);
	apic_w(0, 0x380, 0);
	cr_assert_eq(apic_r(0, 0x390), 0);
}

Test(lapic_timer, periodic)
{
	uint64_t end;
	int n = 0;

	apic_enable(0);
	apic_w(0, 0x3E0, 0xB);
	apic_w(0, 0x320, 0x20040);     /* periodic, vector 0x40 */
	apic_w(0, 0x380, 5 * CNT_MS);  /* 5 ms */
	end = mono_ns() + 200000000ull;
	while (mono_ns() < end) {
		if (lapic__accept(L(0)) == 0x40) {
			n++;
			apic_w(0, 0xB0, 0);
		}
		sleep_ms(1);
	}
	/* 40 periods in 200 ms; a loaded host loses some to coalescing, but
	 * the upper bound catches a wrong rate (1.25x and up). */
	cr_assert(n >= 8 && n <= 42, "periodic ticks in 200 ms: %d", n);
	cr_assert_neq(apic_r(0, 0x390), 0, "periodic reloads");
}

Test(lapic_timer, tsc_deadline)
{
	uint64_t t0 = mono_ns();

	apic_enable(2);
	apic_w(2, 0x320, 0x40050);     /* TSC-deadline mode, vector 0x50 */
	apic_w(2, 0x380, 1000);        /* ignored in this mode */
	cr_assert_eq(apic_r(2, 0x380), 0);
	/* Guest TSC 1000 now; deadline 10 ms (1e7 TSC ticks at 1 GHz) ahead. */
	lapic__set_tsc_deadline(L(2), 1000 + 10000000, 1000);
	cr_assert_eq(lapic__get_tsc_deadline(L(2), 1000), 1000 + 10000000);
	cr_assert(wait_vector(2, 0x50, 2000));
	cr_assert_geq(mono_ns() - t0, 9000000ull);
	cr_assert_eq(lapic__get_tsc_deadline(L(2), 0), 0, "cleared once fired");
	/* Leaving TSC-deadline mode disarms. */
	lapic__accept(L(2));
	apic_w(2, 0xB0, 0);
	lapic__set_tsc_deadline(L(2), 5000000, 0);
	apic_w(2, 0x320, 0x00050);
	sleep_ms(20);
	cr_assert_eq(lapic__pending_vector(L(2)), -1);
}

/* ---- PIT ---------------------------------------------------------------- */

Test(pit, mode2_period_via_pic)
{
	uint64_t end;
	int n = 0;

	pic_init(0xFE, 0xFF);
	outb(0x43, 0x34);              /* ch0, lo/hi, mode 2 */
	outb(0x40, 11932 & 0xff);      /* 10 ms */
	outb(0x40, 11932 >> 8);
	end = mono_ns() + 300000000ull;
	while (mono_ns() < end) {
		if (lapic__accept(L(0)) == 0x20) {
			n++;
			outb(0x20, 0x20);
		}
		sleep_ms(1);
	}
	cr_assert(n >= 8 && n <= 31, "PIT ticks in 300 ms: %d", n);
}

Test(pit, mode2_via_ioapic_pin0)
{
	pic_init(0xFF, 0xFF);
	apic_enable(0);
	ioapic_route(0, 0x30);         /* identity: GSI 0 -> pin 0 */
	outb(0x43, 0x34);
	outb(0x40, 0x9c);              /* 1193 = ~1 ms */
	outb(0x40, 0x04);
	cr_assert(wait_vector(0, 0x30, 2000));
}

Test(pit, latch_and_readback)
{
	uint8_t lo, hi, st;
	uint16_t v1, v2;

	outb(0x43, 0x70);              /* ch1, lo/hi, mode 0 */
	outb(0x41, 0xff);
	outb(0x41, 0xff);
	outb(0x43, 0x40);              /* latch ch1 */
	sleep_ms(10);
	lo = inb(0x41);
	hi = inb(0x41);
	v1 = lo | hi << 8;
	lo = inb(0x41);
	hi = inb(0x41);
	v2 = lo | hi << 8;
	/* ~11932 counts in 10 ms between latch and live read. */
	cr_assert(v1 > v2 && v1 - v2 > 5000 && v1 - v2 < 50000, "v1=%u v2=%u", v1, v2);
	cr_assert_gt(v1, 60000, "latched right after the load");

	outb(0x43, 0xC4);              /* read-back: count + status of ch1 */
	st = inb(0x41);
	cr_assert_eq(st & 0x3f, 0x30, "status: lo/hi, mode 0 (%#x)", st);
	cr_assert_eq(st & 0x80, 0, "OUT low before terminal count");
	lo = inb(0x41);
	hi = inb(0x41);
	cr_assert_leq((uint16_t)(lo | hi << 8), v2, "read-back latch counts down");

	/* Mode 0 terminal count: OUT rises. */
	outb(0x41, 0x10);
	outb(0x41, 0x00);              /* 16 counts */
	sleep_ms(2);
	outb(0x43, 0xE4);              /* read-back: status only */
	cr_assert_eq(inb(0x41) & 0x80, 0x80);
}

Test(pit, port61_gate_out)
{
	uint8_t v, lo, hi;

	outb(0x61, 0x00);              /* gate low */
	v = inb(0x61);
	cr_assert_eq(v & 0x03, 0);
	outb(0x43, 0xB0);              /* ch2, lo/hi, mode 0 */
	outb(0x42, 0xa9);
	outb(0x42, 0x04);              /* 1193 counts = 1 ms */
	sleep_ms(5);
	cr_assert_eq(inb(0x61) & 0x20, 0, "gate low: not counting");
	lo = inb(0x42);
	hi = inb(0x42);
	cr_assert_eq(lo | hi << 8, 1193, "frozen at the load value");
	outb(0x61, 0x03);              /* gate high, speaker data on */
	cr_assert_eq(inb(0x61) & 0x03, 0x03);
	cr_assert_eq(inb(0x61) & 0x20, 0);
	sleep_ms(5);
	cr_assert_eq(inb(0x61) & 0x20, 0x20, "OUT high after terminal count");

	/* Refresh bit toggles. */
	bool seen0 = false, seen1 = false;
	for (int i = 0; i < 2000 && !(seen0 && seen1); i++) {
		if (inb(0x61) & 0x10)
			seen1 = true;
		else
			seen0 = true;
		struct timespec ts = { 0, 5000 };
		nanosleep(&ts, NULL);
	}
	cr_assert(seen0 && seen1, "refresh toggle stuck");
}
