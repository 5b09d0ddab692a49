/* LAPIC timer (one-shot, periodic, TSC-deadline) and message routing on the
 * APIC bus (IPIs, IOAPIC messages, ExtINT wake-ups). */
#include <string.h>

#include "accel/soft/irqchip/irqchip_priv.h"
#include "accel/soft/timebase.h"
#include "util/log.h"

_Static_assert(SOFT_TSC_HZ == NSEC_PER_SEC, "TSC-deadline assumes TSC ticks are ns");
_Static_assert(NSEC_PER_SEC % SOFT_CRYSTAL_HZ == 0, "crystal period must be whole ns");

#define LVT_MASKED    0x10000
#define TIMER_ONESHOT  0
#define TIMER_PERIODIC 1
#define TIMER_TSCDL    2

/* ---- routing ----------------------------------------------------------- */

int lapic__deliver(struct soft_irqchip *chip, struct lapic *src, const struct apic_msg *msg,
		   struct hook_batch *batch)
{
	int n = 0;

	for (int i = 0; i < chip->nr_cpus; i++) {
		struct lapic *apic = &chip->lapic[i];
		bool hit;

		switch (msg->shorthand) {
		case 1: hit = apic == src; break;
		case 2: hit = true; break;
		case 3: hit = apic != src; break;
		default: hit = lapic__match(apic, msg); break;
		}
		if (!hit)
			continue;
		if (lapic__accept_irq(apic, msg, batch))
			n++;
		/* Lowest priority: the lowest-numbered destination that takes
		 * it stands in for the arbitration winner. */
		if (msg->mode == DM_LOWEST && n)
			break;
	}
	return n;
}

void lapic__extint_notify(struct soft_irqchip *chip)
{
	for (int i = 0; i < chip->nr_cpus; i++)
		if (atomic_load(&chip->lapic[i].extint_ok))
			lapic__wake(&chip->lapic[i]);
}

/* ---- timer ------------------------------------------------------------- */

static unsigned timer_mode(uint32_t lvt)
{
	return (lvt >> 17) & 3;
}

static uint64_t ns_per_count(uint32_t tdcr)
{
	unsigned v = (tdcr & 3) | ((tdcr >> 1) & 4);
	uint64_t div = v == 7 ? 1 : 2u << v;

	return div * (NSEC_PER_SEC / SOFT_CRYSTAL_HZ);
}

static uint64_t period(const struct lapic *apic)
{
	uint64_t p = (uint64_t)apic->tmict * apic->ns_per_count;

	if (timer_mode(apic->lvt[LVT_TIMER]) == TIMER_PERIODIC && p < IRQCHIP_MIN_PERIOD_NS)
		p = IRQCHIP_MIN_PERIOD_NS;
	return p;
}

static void arm(struct lapic *apic, uint64_t deadline)
{
	apic->deadline_ns = deadline;
	if (deadline)
		irqchip__timer_kick(apic->chip);
}

uint32_t lapic__timer_current(struct lapic *apic, uint64_t now)
{
	uint64_t rem, count;

	if (timer_mode(apic->lvt[LVT_TIMER]) == TIMER_TSCDL || !apic->deadline_ns)
		return 0;
	if (apic->deadline_ns > now) {
		rem = apic->deadline_ns - now;
	} else if (timer_mode(apic->lvt[LVT_TIMER]) == TIMER_PERIODIC && apic->period_ns) {
		/* Expired but the timer thread has not reloaded it yet. */
		rem = apic->period_ns - (now - apic->deadline_ns) % apic->period_ns;
	} else {
		return 0;
	}
	count = rem / apic->ns_per_count;
	return count > apic->tmict ? apic->tmict : (uint32_t)count;
}

void lapic__timer_mmio_write(struct lapic *apic, unsigned reg, uint32_t val, uint64_t now)
{
	if (reg == 0) {             /* initial count */
		if (timer_mode(apic->lvt[LVT_TIMER]) == TIMER_TSCDL)
			return;
		apic->tmict = val;
		apic->period_ns = period(apic);
		apic->start_ns = now;
		arm(apic, val ? now + apic->period_ns : 0);
		return;
	}
	/* Divide configuration: keep the counts still to go, at the new rate. */
	uint32_t left = lapic__timer_current(apic, now);

	apic->tdcr = val & 0xb;
	apic->ns_per_count = ns_per_count(apic->tdcr);
	if (timer_mode(apic->lvt[LVT_TIMER]) == TIMER_TSCDL)
		return;
	apic->period_ns = period(apic);
	if (apic->deadline_ns)
		arm(apic, now + (uint64_t)left * apic->ns_per_count);
}

void lapic__timer_lvt_changed(struct lapic *apic, uint32_t old, uint64_t now)
{
	unsigned om = timer_mode(old), nm = timer_mode(apic->lvt[LVT_TIMER]);

	if (om == nm)
		return;
	/* Entering or leaving TSC-deadline mode stops the timer (as KVM);
	 * one-shot <-> periodic keeps the current countdown. */
	if (om == TIMER_TSCDL || nm == TIMER_TSCDL) {
		apic->tmict = 0;
		apic->tsc_deadline = 0;
		apic->deadline_ns = 0;
		return;
	}
	apic->period_ns = period(apic);
}

uint64_t lapic__timer_tick(struct lapic *apic, uint64_t now)
{
	uint32_t lvt;
	uint64_t next;
	bool wake = false;
	unsigned v;

	pthread_mutex_lock(&apic->lock);
	if (!apic->deadline_ns || apic->deadline_ns > now)
		goto out_unlock;
	lvt = apic->lvt[LVT_TIMER];
	if (timer_mode(lvt) == TIMER_PERIODIC && apic->period_ns) {
		apic->deadline_ns += apic->period_ns;
		/* Far behind (host stalled): skip the lost periods instead of
		 * firing a burst; they would coalesce in IRR anyway. */
		if (apic->deadline_ns <= now)
			apic->deadline_ns = now + apic->period_ns -
					    (now - apic->deadline_ns) % apic->period_ns;
	} else {
		apic->deadline_ns = 0;
		apic->tsc_deadline = 0;
	}
	v = lvt & 0xff;
	if (!(lvt & LVT_MASKED)) {
		if (v < 16) {
			wake = lapic__error(apic, 0x40);
		} else {
			apic->irr[v / 32] |= 1u << (v % 32);
			apic->tmr[v / 32] &= ~(1u << (v % 32));
			atomic_store(&apic->irr_hint, true);
			wake = true;
		}
	}
out_unlock:
	next = apic->deadline_ns ? apic->deadline_ns : UINT64_MAX;
	pthread_mutex_unlock(&apic->lock);
	if (wake)
		lapic__wake(apic);
	return next;
}

void lapic__set_tsc_deadline(struct lapic *apic, uint64_t deadline, uint64_t guest_tsc_now)
{
	uint64_t now = irqchip__now_ns();

	pthread_mutex_lock(&apic->lock);
	/* Ignored outside TSC-deadline mode, like KVM. */
	if (timer_mode(apic->lvt[LVT_TIMER]) == TIMER_TSCDL) {
		apic->tsc_deadline = deadline;
		if (!deadline)
			arm(apic, 0);
		else
			arm(apic, deadline > guest_tsc_now ? now + (deadline - guest_tsc_now) : now);
	}
	pthread_mutex_unlock(&apic->lock);
}

uint64_t lapic__get_tsc_deadline(struct lapic *apic, uint64_t guest_tsc_now)
{
	uint64_t v;

	(void)guest_tsc_now;
	pthread_mutex_lock(&apic->lock);
	v = timer_mode(apic->lvt[LVT_TIMER]) == TIMER_TSCDL ? apic->tsc_deadline : 0;
	pthread_mutex_unlock(&apic->lock);
	return v;
}
