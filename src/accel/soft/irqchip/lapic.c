/* Local APIC, xAPIC mode: the register page, priority (TPR/PPR), EOI,
 * interrupt acceptance by the CPU, APIC_BASE, reset.  Message routing and
 * the timer are in lapic_bus.c and lapic_timer.c. */
#include <errno.h>
#include <string.h>

#include "accel/soft/irqchip/irqchip_priv.h"
#include "accel/soft/timebase.h"
#include "util/log.h"
#include "vm/vm.h"

#define APIC_ID       0x020
#define APIC_LVR      0x030
#define APIC_TPR      0x080
#define APIC_APR      0x090
#define APIC_PPR      0x0A0
#define APIC_EOI      0x0B0
#define APIC_LDR      0x0D0
#define APIC_DFR      0x0E0
#define APIC_SVR      0x0F0
#define APIC_ISR      0x100
#define APIC_TMR      0x180
#define APIC_IRR      0x200
#define APIC_ESR      0x280
#define APIC_ICR_LO   0x300
#define APIC_ICR_HI   0x310
#define APIC_LVT_BASE 0x320
#define APIC_TMICT    0x380
#define APIC_TMCCT    0x390
#define APIC_TDCR     0x3E0

#define SVR_ENABLE    0x100
#define LVT_MASKED    0x10000

#define BASE_BSP      (1ull << 8)
#define BASE_EXTD     (1ull << 10)
#define BASE_EN       (1ull << 11)
#define BASE_RESERVED (0xfff0000000000000ull | 0x6ffull)

/* Version 0x14 (integrated APIC), max LVT index in bits 23:16. */
#define APIC_VERSION  (0x14 | ((LAPIC_NR_LVT - 1) << 16))

/* Writable bits per LVT: timer has the mode field (17-18), LINT0/1 the
 * delivery mode, polarity and trigger mode. */
static const uint32_t lvt_writable[LAPIC_NR_LVT] = {
	[LVT_TIMER] = 0x600ff | LVT_MASKED,
	[LVT_THERMAL] = 0x007ff | LVT_MASKED,
	[LVT_PERF] = 0x007ff | LVT_MASKED,
	[LVT_LINT0] = 0x0a7ff | LVT_MASKED,
	[LVT_LINT1] = 0x0a7ff | LVT_MASKED,
	[LVT_ERROR] = 0x000ff | LVT_MASKED,
};

static bool hw_enabled(const struct lapic *apic)
{
	return atomic_load(&apic->base) & BASE_EN;
}

static bool sw_enabled(const struct lapic *apic)
{
	return apic->svr & SVR_ENABLE;
}

static int highest_bit(const uint32_t v[8])
{
	for (int i = 7; i >= 0; i--)
		if (v[i])
			return i * 32 + 31 - __builtin_clz(v[i]);
	return -1;
}

int lapic__highest_irr(const struct lapic *apic)
{
	return highest_bit(apic->irr);
}

static uint32_t ppr(const struct lapic *apic)
{
	int isrv = highest_bit(apic->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (apic->tpr & 0xf0) >= isr_class ? apic->tpr & 0xff : isr_class;
}

/* Highest IRR vector whose priority class beats PPR, or -1.  Lock held. */
static int deliverable(const struct lapic *apic)
{
	int v = highest_bit(apic->irr);

	if (v < 0 || ((uint32_t)v & 0xf0) <= (ppr(apic) & 0xf0))
		return -1;
	return v;
}

static void update_hints(struct lapic *apic)
{
	uint32_t lvt0 = apic->lvt[LVT_LINT0];
	bool any = false;

	for (int i = 0; i < 8; i++)
		any |= apic->irr[i] != 0;
	atomic_store(&apic->irr_hint, any);
	atomic_store(&apic->extint_ok, !hw_enabled(apic) ||
		     (!(lvt0 & LVT_MASKED) && ((lvt0 >> 8) & 7) == DM_EXTINT));
}

/* Register state after power-on/INIT (KVM's kvm_lapic_reset).  Lock held;
 * APIC_BASE is the caller's business. */
static void reset_locked(struct lapic *apic)
{
	apic->id = (uint32_t)apic->cpu << 24;
	apic->tpr = apic->ldr = 0;
	apic->dfr = 0xffffffff;
	apic->svr = 0xff;
	apic->esr = apic->esr_pending = 0;
	apic->icr_lo = apic->icr_hi = 0;
	for (int i = 0; i < LAPIC_NR_LVT; i++)
		apic->lvt[i] = LVT_MASKED;
	/* No BIOS programs virtual-wire mode, so the BSP starts with LINT0 as
	 * unmasked ExtINT and the PIC works from the first instruction. */
	if (apic->cpu == 0)
		apic->lvt[LVT_LINT0] = DM_EXTINT << 8;
	memset(apic->irr, 0, sizeof(apic->irr));
	memset(apic->isr, 0, sizeof(apic->isr));
	memset(apic->tmr, 0, sizeof(apic->tmr));
	apic->tmict = apic->tdcr = 0;
	apic->ns_per_count = 2 * (NSEC_PER_SEC / SOFT_CRYSTAL_HZ);
	apic->period_ns = apic->start_ns = apic->deadline_ns = 0;
	apic->tsc_deadline = 0;
	atomic_store(&apic->nmi, false);
	update_hints(apic);
}

void lapic__init(struct lapic *apic, struct soft_irqchip *chip, int cpu)
{
	memset(apic, 0, sizeof(*apic));
	pthread_mutex_init(&apic->lock, NULL);
	apic->chip = chip;
	apic->cpu = cpu;
	lapic__reset(apic);
}

void lapic__exit(struct lapic *apic)
{
	pthread_mutex_destroy(&apic->lock);
}

void lapic__reset(struct lapic *apic)
{
	pthread_mutex_lock(&apic->lock);
	atomic_store(&apic->base, VM_LAPIC_BASE | BASE_EN | (apic->cpu == 0 ? BASE_BSP : 0));
	reset_locked(apic);
	pthread_mutex_unlock(&apic->lock);
}

void lapic__set_cpu_hooks(struct lapic *apic, const struct lapic_cpu_hooks *hooks,
			  void *opaque)
{
	pthread_mutex_lock(&apic->lock);
	apic->hooks = hooks;
	apic->hooks_opaque = opaque;
	pthread_mutex_unlock(&apic->lock);
}

void lapic__wake(struct lapic *apic)
{
	const struct lapic_cpu_hooks *hooks;
	void *opaque;

	pthread_mutex_lock(&apic->lock);
	hooks = apic->hooks;
	opaque = apic->hooks_opaque;
	pthread_mutex_unlock(&apic->lock);
	if (hooks && hooks->wake)
		hooks->wake(opaque);
}

/* An error the ESR reports; raises the error LVT.  Lock held.  Returns
 * true if an interrupt became pending. */
bool lapic__error(struct lapic *apic, uint32_t bit)
{
	uint32_t lvt = apic->lvt[LVT_ERROR];
	unsigned v = lvt & 0xff;

	apic->esr_pending |= bit;
	if ((lvt & LVT_MASKED) || v < 16)
		return false;
	apic->irr[v / 32] |= 1u << (v % 32);
	apic->tmr[v / 32] &= ~(1u << (v % 32));
	atomic_store(&apic->irr_hint, true);
	return true;
}

static uint32_t read_reg(struct lapic *apic, unsigned reg, uint64_t now)
{
	switch (reg) {
	case APIC_ID: return apic->id;
	case APIC_LVR: return APIC_VERSION;
	case APIC_TPR: return apic->tpr;
	case APIC_APR: return 0;
	case APIC_PPR: return ppr(apic);
	case APIC_LDR: return apic->ldr;
	case APIC_DFR: return apic->dfr;
	case APIC_SVR: return apic->svr;
	case APIC_ESR: return apic->esr;
	case APIC_ICR_LO: return apic->icr_lo;
	case APIC_ICR_HI: return apic->icr_hi;
	case APIC_TMICT:
		return ((apic->lvt[LVT_TIMER] >> 17) & 3) == 2 ? 0 : apic->tmict;
	case APIC_TMCCT: return lapic__timer_current(apic, now);
	case APIC_TDCR: return apic->tdcr;
	}
	if (reg >= APIC_ISR && reg < APIC_ISR + 0x80)
		return apic->isr[(reg - APIC_ISR) >> 4];
	if (reg >= APIC_TMR && reg < APIC_TMR + 0x80)
		return apic->tmr[(reg - APIC_TMR) >> 4];
	if (reg >= APIC_IRR && reg < APIC_IRR + 0x80)
		return apic->irr[(reg - APIC_IRR) >> 4];
	if (reg >= APIC_LVT_BASE && reg < APIC_LVT_BASE + 0x10 * LAPIC_NR_LVT)
		return apic->lvt[(reg - APIC_LVT_BASE) >> 4];
	return 0;
}

void lapic__mmio_read(struct lapic *apic, uint64_t offset, void *data, unsigned len)
{
	unsigned in_reg = offset & 0xf;
	uint32_t val;

	memset(data, 0, len);
	if (offset >= 0x1000 || in_reg + len > 4 || len == 0) {
		guest_err("lapic: %u-byte read at +%#llx\n", len, (unsigned long long)offset);
		return;
	}
	pthread_mutex_lock(&apic->lock);
	val = hw_enabled(apic) ? read_reg(apic, offset & 0xff0, irqchip__now_ns()) : 0;
	pthread_mutex_unlock(&apic->lock);
	val >>= 8 * in_reg;
	memcpy(data, &val, len);
}

/* What a register write asks to be done once the lock is dropped. */
struct after_write {
	bool wake;
	int eoi_vector;           /* level-triggered EOI for the IOAPIC, or -1 */
	bool send;
	struct apic_msg msg;
};

static void eoi(struct lapic *apic, struct after_write *aw)
{
	int v = highest_bit(apic->isr);

	if (v < 0)
		return;
	apic->isr[v / 32] &= ~(1u << (v % 32));
	if (apic->tmr[v / 32] & (1u << (v % 32)))
		aw->eoi_vector = v;
}

static void write_icr(struct lapic *apic, uint32_t val, struct after_write *aw)
{
	struct apic_msg *m = &aw->msg;

	apic->icr_lo = val & ~0x1000u;  /* delivery is immediate: never busy */
	*m = (struct apic_msg){
		.vector = val & 0xff,
		.mode = (val >> 8) & 7,
		.logical = val & (1u << 11),
		.assert = val & (1u << 14),
		.level_trig = val & (1u << 15),
		.shorthand = (val >> 18) & 3,
		.dest = apic->icr_hi >> 24,
	};
	if ((m->mode == DM_FIXED || m->mode == DM_LOWEST) && m->vector < 16) {
		aw->wake |= lapic__error(apic, 0x20);  /* send illegal vector */
		return;
	}
	/* Only INIT has a meaningful level; everything else asserts. */
	if (m->mode != DM_INIT)
		m->assert = true;
	aw->send = true;
}

static void write_reg(struct lapic *apic, unsigned reg, uint32_t val,
		      struct after_write *aw, uint64_t now)
{
	switch (reg) {
	case APIC_ID:
		apic->id = val & 0xff000000;
		return;
	case APIC_TPR:
		apic->tpr = val & 0xff;
		aw->wake = deliverable(apic) >= 0;
		return;
	case APIC_EOI:
		eoi(apic, aw);
		aw->wake = deliverable(apic) >= 0;
		return;
	case APIC_LDR:
		apic->ldr = val & 0xff000000;
		return;
	case APIC_DFR:
		apic->dfr = val | 0x0fffffff;
		return;
	case APIC_SVR:
		apic->svr = val & 0x3ff;
		if (!sw_enabled(apic)) {
			/* Software disable masks every LVT (SDM 10.4.7.2). */
			for (int i = 0; i < LAPIC_NR_LVT; i++)
				apic->lvt[i] |= LVT_MASKED;
		}
		update_hints(apic);
		aw->wake = deliverable(apic) >= 0;
		return;
	case APIC_ESR:
		apic->esr = apic->esr_pending;
		apic->esr_pending = 0;
		return;
	case APIC_ICR_LO:
		write_icr(apic, val, aw);
		return;
	case APIC_ICR_HI:
		apic->icr_hi = val & 0xff000000;
		return;
	case APIC_TMICT:
	case APIC_TDCR:
		lapic__timer_mmio_write(apic, reg == APIC_TMICT ? 0 : 1, val, now);
		return;
	}
	if (reg >= APIC_LVT_BASE && reg < APIC_LVT_BASE + 0x10 * LAPIC_NR_LVT) {
		unsigned i = (reg - APIC_LVT_BASE) >> 4;
		uint32_t old = apic->lvt[i];

		val &= lvt_writable[i];
		if (!sw_enabled(apic))
			val |= LVT_MASKED;
		apic->lvt[i] = val;
		if (i == LVT_TIMER)
			lapic__timer_lvt_changed(apic, old, now);
		if (i == LVT_LINT0) {
			update_hints(apic);
			/* ExtINT newly unmasked with the PIC already asserting. */
			aw->wake = atomic_load(&apic->extint_ok) &&
				   atomic_load(&apic->chip->pic.output);
		}
		return;
	}
	/* Read-only or reserved: ignored, as on hardware. */
}

void lapic__mmio_write(struct lapic *apic, uint64_t offset, const void *data, unsigned len)
{
	struct after_write aw = { .eoi_vector = -1 };
	uint32_t val;

	if (offset >= 0x1000 || (offset & 0xf) || len != 4) {
		guest_err("lapic: %u-byte write at +%#llx dropped\n", len,
			  (unsigned long long)offset);
		return;
	}
	memcpy(&val, data, 4);
	pthread_mutex_lock(&apic->lock);
	if (hw_enabled(apic))
		write_reg(apic, offset & 0xff0, val, &aw, irqchip__now_ns());
	pthread_mutex_unlock(&apic->lock);

	if (aw.eoi_vector >= 0)
		ioapic__eoi(&apic->chip->ioapic, aw.eoi_vector);
	if (aw.send) {
		struct hook_batch batch = { 0 };

		lapic__deliver(apic->chip, apic, &aw.msg, &batch);
		hook_batch__run(&batch);
	}
	if (aw.wake)
		lapic__wake(apic);
}

static bool extint_pending(struct lapic *apic)
{
	return atomic_load(&apic->extint_ok) && atomic_load(&apic->chip->pic.output);
}

int lapic__pending_vector(struct lapic *apic)
{
	int v;

	if (extint_pending(apic)) {
		v = i8259__peek(&apic->chip->pic);
		if (v >= 0)
			return v;
	}
	if (!atomic_load(&apic->irr_hint))
		return -1;
	pthread_mutex_lock(&apic->lock);
	v = hw_enabled(apic) ? deliverable(apic) : -1;
	pthread_mutex_unlock(&apic->lock);
	return v;
}

int lapic__accept(struct lapic *apic)
{
	int v;

	if (extint_pending(apic)) {
		v = i8259__inta(&apic->chip->pic);
		if (v >= 0)
			return v;
	}
	if (!atomic_load(&apic->irr_hint))
		return -1;
	pthread_mutex_lock(&apic->lock);
	v = hw_enabled(apic) ? deliverable(apic) : -1;
	if (v >= 0) {
		apic->irr[v / 32] &= ~(1u << (v % 32));
		apic->isr[v / 32] |= 1u << (v % 32);
		update_hints(apic);
	}
	pthread_mutex_unlock(&apic->lock);
	return v;
}

int lapic__ack(struct lapic *apic, int vector)
{
	(void)vector;  /* re-decided atomically: see irqchip.h */
	return lapic__accept(apic);
}

bool lapic__nmi_pending(struct lapic *apic)
{
	return atomic_load(&apic->nmi);
}

bool lapic__take_nmi(struct lapic *apic)
{
	return atomic_exchange(&apic->nmi, false);
}

uint8_t lapic__get_tpr(struct lapic *apic)
{
	uint8_t cr8;

	pthread_mutex_lock(&apic->lock);
	cr8 = (apic->tpr >> 4) & 0xf;
	pthread_mutex_unlock(&apic->lock);
	return cr8;
}

void lapic__set_tpr(struct lapic *apic, uint8_t cr8)
{
	bool wake;

	pthread_mutex_lock(&apic->lock);
	apic->tpr = (uint32_t)(cr8 & 0xf) << 4;
	wake = deliverable(apic) >= 0;
	pthread_mutex_unlock(&apic->lock);
	if (wake)
		lapic__wake(apic);
}

uint64_t lapic__get_base(struct lapic *apic)
{
	return atomic_load(&apic->base);
}

int lapic__set_base(struct lapic *apic, uint64_t value)
{
	uint64_t old;

	if (value & (BASE_RESERVED | BASE_EXTD))
		return -EINVAL;
	pthread_mutex_lock(&apic->lock);
	old = atomic_load(&apic->base);
	value = (value & ~BASE_BSP) | (old & BASE_BSP);
	/* Toggling EN either way leaves the registers in their reset state:
	 * nothing stale is delivered after a re-enable. */
	if ((old ^ value) & BASE_EN)
		reset_locked(apic);
	atomic_store(&apic->base, value);
	update_hints(apic);
	pthread_mutex_unlock(&apic->lock);
	return 0;
}

uint64_t lapic__mmio_page(struct lapic *apic)
{
	uint64_t base = atomic_load(&apic->base);

	return (base & BASE_EN) ? base & 0x000ffffffffff000ull : UINT64_MAX;
}

bool lapic__match(struct lapic *apic, const struct apic_msg *msg)
{
	uint8_t ldr;
	bool ok;

	pthread_mutex_lock(&apic->lock);
	if (!hw_enabled(apic)) {
		ok = false;
	} else if (msg->dest == 0xff) {
		ok = true;  /* broadcast, physical or logical */
	} else if (!msg->logical) {
		ok = (apic->id >> 24) == msg->dest;
	} else {
		ldr = apic->ldr >> 24;
		if ((apic->dfr >> 28) == 0xf)  /* flat */
			ok = (ldr & msg->dest) != 0;
		else                            /* cluster */
			ok = (ldr >> 4) == (msg->dest >> 4) && (ldr & msg->dest & 0xf);
	}
	pthread_mutex_unlock(&apic->lock);
	return ok;
}

bool lapic__accept_irq(struct lapic *apic, const struct apic_msg *msg,
		       struct hook_batch *batch)
{
	bool accepted = false, wake = false, init = false, sipi = false;
	unsigned v = msg->vector;

	pthread_mutex_lock(&apic->lock);
	if (!hw_enabled(apic))
		goto out_unlock;
	switch (msg->mode) {
	case DM_FIXED:
	case DM_LOWEST:
		if (!sw_enabled(apic))
			break;  /* dropped, like KVM */
		if (v < 16) {
			wake = lapic__error(apic, 0x40);  /* receive illegal vector */
			break;
		}
		apic->irr[v / 32] |= 1u << (v % 32);
		if (msg->level_trig)
			apic->tmr[v / 32] |= 1u << (v % 32);
		else
			apic->tmr[v / 32] &= ~(1u << (v % 32));
		atomic_store(&apic->irr_hint, true);
		accepted = wake = true;
		break;
	case DM_NMI:
		atomic_store(&apic->nmi, true);
		accepted = wake = true;
		break;
	case DM_INIT:
		accepted = true;
		if (msg->level_trig && !msg->assert)
			break;  /* INIT level de-assert: no effect on modern CPUs */
		reset_locked(apic);
		init = true;
		break;
	case DM_SIPI:
		accepted = sipi = true;
		break;
	default:
		/* SMI has no handler here; ExtINT through the IOAPIC is ignored
		 * as in KVM (the PIC reaches the CPU through LINT0). */
		log_once(LOG_WARN, "lapic: delivery mode %u ignored\n", msg->mode);
		break;
	}
out_unlock:
	pthread_mutex_unlock(&apic->lock);
	if ((wake || init || sipi) && batch->n < VM_MAX_CPUS) {
		batch->call[batch->n].apic = apic;
		batch->call[batch->n].what = (wake ? HOOK_WAKE : 0) |
					     (init ? HOOK_INIT : 0) | (sipi ? HOOK_SIPI : 0);
		batch->call[batch->n].vector = msg->vector;
		batch->n++;
	}
	return accepted;
}

void hook_batch__run(struct hook_batch *batch)
{
	for (int i = 0; i < batch->n; i++) {
		struct lapic *apic = batch->call[i].apic;
		const struct lapic_cpu_hooks *hooks;
		void *opaque;
		uint8_t what = batch->call[i].what;

		pthread_mutex_lock(&apic->lock);
		hooks = apic->hooks;
		opaque = apic->hooks_opaque;
		pthread_mutex_unlock(&apic->lock);
		if (!hooks)
			continue;
		if ((what & HOOK_INIT) && hooks->init)
			hooks->init(opaque);
		if ((what & HOOK_SIPI) && hooks->sipi)
			hooks->sipi(opaque, batch->call[i].vector);
		if ((what & HOOK_WAKE) && hooks->wake)
			hooks->wake(opaque);
	}
	batch->n = 0;
}
