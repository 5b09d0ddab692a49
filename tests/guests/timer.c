/* Interrupt delivery from two timers, waiting with HLT:
 *  1. PIT channel 0 at 100 Hz -> ISA IRQ0 -> IOAPIC pin 0 (vireo has no
 *     MADT source override; one would be honoured) -> vector 0x30.  Watchdog: a one-shot LAPIC
 *     timer, so a PIT that never fires ends in a FAIL, not a hang.
 *  2. LAPIC timer, periodic -> vector 0x40.  Watchdog: the PIT, still
 *     running.
 * The ACPI PM timer checks the PIT does not tick faster than programmed.
 * "ticks=N" sets how many ticks each phase counts (default 10). */
#include "guest.h"

#define PIT_VECTOR     0x30
#define LAPIC_VECTOR   0x40
#define WDOG_VECTOR    0x41
#define PIT_HZ         1193182u
#define PIT_RATE       100u

static volatile uint32_t pit_ticks, lapic_ticks;
static volatile bool wdog_fired;

static void on_pit(struct isr_frame *f)
{
	(void)f;
	pit_ticks++;
	lapic_eoi();
}

static void on_lapic(struct isr_frame *f)
{
	(void)f;
	lapic_ticks++;
	lapic_eoi();
}

static void on_wdog(struct isr_frame *f)
{
	(void)f;
	wdog_fired = true;
	lapic_eoi();
}

static void pit_periodic(unsigned hz)
{
	uint16_t div = PIT_HZ / hz;

	outb(0x43, 0x34);          /* channel 0, lo/hi byte, mode 2, binary */
	outb(0x40, div & 0xFF);
	outb(0x40, div >> 8);
}

static void pit_stop(void)
{
	outb(0x43, 0x30);          /* mode 0, count not yet written: idle */
}

int main(void)
{
	uint32_t want = cmdline_u64("ticks", 10), start, us, n, pin;
	struct madt_info mi;

	if (want == 0 || want > 1000)
		fail("ticks=%u out of range 1-1000", want);
	if (acpi_parse_madt(&mi))
		puts("timer: no MADT, using default IOAPIC address\n");
	ioapic_set_base(mi.ioapic_base);
	pin = mi.isa_gsi[0];
	if (pin >= 24)
		fail("IRQ0 is overridden to GSI %u, beyond the IOAPIC", pin);
	pic_disable();
	lapic_enable();
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	idt_set_handler(PIT_VECTOR, on_pit);
	idt_set_handler(LAPIC_VECTOR, on_lapic);
	idt_set_handler(WDOG_VECTOR, on_wdog);
	printf("timer: IOAPIC version 0x%08x, LAPIC id %u version 0x%08x, IRQ0 on pin %u\n",
	       ioapic_read(1), lapic_id(), lapic_read(LAPIC_VER), pin);

	/* Phase 1: PIT through the IOAPIC. */
	lapic_write(LAPIC_TIMER_DIV, 0xB);            /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, WDOG_VECTOR);    /* one-shot */
	lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFF);    /* >= 4 s at 1 GHz */
	ioapic_route(pin, PIT_VECTOR, lapic_id());
	start = pmtmr_read();
	pit_periodic(PIT_RATE);
	/* pit_ticks only grows in the handler; the first hlt may return for a
	 * different reason, so the loop is bounded by a count as well. */
	for (n = 0; pit_ticks < want && !wdog_fired && n < 100000; n++)
		safe_halt();
	irq_disable();
	us = pmtmr_ticks_to_us(pmtmr_since(start));
	lapic_write(LAPIC_TIMER_INIT, 0);
	printf("timer: PIT: %u ticks in %u us (%u halts)\n", pit_ticks, us, n);
	if (pit_ticks < want)
		fail("PIT: only %u of %u ticks arrived (watchdog %s)", pit_ticks,
		     want, wdog_fired ? "fired" : "did not fire");
	/* At 100 Hz, N ticks need at least (N - 1) * 10 ms; allow 10% slack
	 * for the first period starting before `start` was read. */
	if (us < (want - 1) * (1000000 / PIT_RATE) * 9 / 10)
		fail("PIT: %u ticks in %u us is faster than %u Hz", pit_ticks, us,
		     PIT_RATE);

	/* Phase 2: LAPIC timer, periodic; the PIT keeps running as watchdog. */
	pit_ticks = 0;
	lapic_write(LAPIC_TIMER_DIV, 0x3);            /* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LAPIC_VECTOR | LAPIC_TIMER_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, 62500);         /* 1 ms at a 1 GHz bus */
	for (n = 0; lapic_ticks < want && pit_ticks < 300 && n < 100000; n++)
		safe_halt();
	irq_disable();
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0);
	pit_stop();
	ioapic_mask(pin);
	printf("timer: LAPIC: %u ticks (%u PIT ticks meanwhile, %u halts)\n",
	       lapic_ticks, pit_ticks, n);
	if (lapic_ticks < want)
		fail("LAPIC timer: only %u of %u ticks in %u PIT periods",
		     lapic_ticks, want, pit_ticks);
	printf("timer: %u PIT ticks and %u LAPIC timer ticks\n", want, want);
	return 0;
}
