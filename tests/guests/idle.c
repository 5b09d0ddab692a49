/* An idle guest must cost the host (almost) nothing: the LAPIC timer ticks
 * at "hz=N" (default 100) for "ticks=N" (default 100) and the CPU sleeps in
 * HLT between ticks.  The integration test watches vireo's threads; the
 * guest checks the ticks came at the programmed rate (PM timer). */
#include "guest.h"

#define TICK_VECTOR 0x40

static volatile uint32_t ticks;

static void on_tick(struct isr_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

int main(void)
{
	uint32_t want = cmdline_u64("ticks", 100), hz = cmdline_u64("hz", 100);
	uint32_t count, t0, t1, elapsed_us = 0, period_us;
	uint32_t last, now;
	unsigned n;

	if (want == 0 || want > 1000)
		fail("idle: ticks=%u out of range 1-1000", want);
	if (hz < 1 || hz > 1000)
		fail("idle: hz=%u out of range 1-1000", hz);
	period_us = 1000000 / hz;
	lapic_enable();
	idt_set_handler(TICK_VECTOR, on_tick);
	/* Calibrate the LAPIC timer against the PM timer: count down from
	 * the maximum for 10 ms.  Bus clocks differ (1 GHz in KVM, tens of
	 * MHz on hardware). */
	lapic_write(LAPIC_TIMER_DIV, 0x3);               /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFF);
	t0 = pmtmr_read();
	udelay(10000);
	count = 0xFFFFFFFF - lapic_read(LAPIC_TIMER_CUR);
	t1 = pmtmr_since(t0);
	if (!count || !t1)
		fail("idle: LAPIC timer or PM timer does not count (%u, %u)", count, t1);
	count = (uint32_t)((uint64_t)count * pmtmr_us_to_ticks(10000) / t1);
	printf("idle: LAPIC timer: %u counts per 10 ms (divide by 16)\n", count);

	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_write(LAPIC_LVT_TIMER, TICK_VECTOR | LAPIC_TIMER_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, (uint32_t)((uint64_t)count * period_us / 10000));
	last = pmtmr_read();
	for (n = 0; ticks < want && n < 10 * want; n++) {
		safe_halt();
		irq_disable();
		now = pmtmr_read();
		elapsed_us += pmtmr_ticks_to_us((now - last) & 0xFFFFFF);
		last = now;
	}
	lapic_write(LAPIC_TIMER_INIT, 0);
	printf("idle: %u ticks in %u ms, %u halts\n", ticks, elapsed_us / 1000, n);
	if (ticks < want)
		fail("idle: only %u of %u ticks", ticks, want);
	/* N ticks take at least (N - 1) periods; 10% slack for calibration. */
	if (elapsed_us < (uint64_t)(want - 1) * period_us * 9 / 10)
		fail("idle: %u ticks took only %u us", want, elapsed_us);
	return 0;
}
