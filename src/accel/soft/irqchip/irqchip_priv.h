/* Internals shared by the irqchip's devices.  Not for use outside
 * src/accel/soft/irqchip/.
 *
 * Lock order (a lock may only be taken while holding locks to its left):
 *
 *     ioapic.lock  ->  lapic.lock  ->  pic.lock
 *     pit.lock, chip.tlock: leaves (nothing else is taken while held)
 *
 * - The IOAPIC delivers into LAPICs with its lock held, so remote IRR is set
 *   only when some LAPIC accepted the message (as KVM does).
 * - A LAPIC never calls the IOAPIC (EOI broadcast) or another LAPIC (IPI)
 *   with its own lock held: it records what to do, unlocks, then acts.
 * - The PIC never calls out with its lock held; the vCPU may read the PIC's
 *   vector while holding nothing (lapic__accept).
 * - The timer thread holds no lock while it calls a device's tick function;
 *   the device takes its own lock and calls out after dropping it.
 * - vCPU hooks (wake/init/sipi) are called with no irqchip lock held. */
#ifndef VIREO_ACCEL_SOFT_IRQCHIP_PRIV_H
#define VIREO_ACCEL_SOFT_IRQCHIP_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/soft/irqchip/irqchip.h"
#include "vm/bus.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define NSEC_PER_SEC 1000000000ull

/* Periodic timers (LAPIC periodic, PIT modes 2/3) are clamped to this
 * period, KVM's default min_timer_period_us, so a guest cannot make the
 * timer thread spin. */
#define IRQCHIP_MIN_PERIOD_NS 200000ull

uint64_t irqchip__now_ns(void);

/* ---- 8259A pair ------------------------------------------------------ */

struct pic_unit {
	uint8_t irr, imr, isr;
	uint8_t last_level;     /* line levels seen, for edge detection */
	uint8_t elcr, elcr_mask;
	uint8_t vector_base;    /* ICW2 & 0xf8 */
	uint8_t lowest_prio;    /* IR with the lowest priority (rotation) */
	uint8_t init_step;      /* 0: operational, 2/3/4: expecting ICWn */
	uint8_t icw3;
	bool need_icw4, single, auto_eoi, rotate_on_aeoi, sfnm;
	bool read_isr, poll, special_mask;
};

struct i8259 {
	pthread_mutex_t lock;
	struct pic_unit unit[2];  /* 0: master, 1: slave on master IR2 */
	atomic_bool output;       /* INT pin of the master */
};

void i8259__init(struct i8259 *pic);
void i8259__exit(struct i8259 *pic);
void i8259__reset(struct i8259 *pic);
/* Returns true if INT rose (the caller wakes ExtINT-accepting CPUs). */
bool i8259__set_irq(struct i8259 *pic, unsigned irq, int level);
/* INTA cycle: the vector to deliver, or -1 if INT is low. */
int i8259__inta(struct i8259 *pic);
/* The vector INTA would return now, without acknowledging; -1 if none. */
int i8259__peek(struct i8259 *pic);
extern const struct bus_dev_ops i8259__master_ops, i8259__slave_ops, i8259__elcr_ops;

/* ---- IOAPIC ---------------------------------------------------------- */

struct ioapic {
	pthread_mutex_t lock;
	struct soft_irqchip *chip;
	uint32_t ioregsel;
	uint32_t id;
	uint32_t lines;           /* asserted input pins */
	uint64_t redir[IOAPIC_NR_PINS];
};

void ioapic__init(struct ioapic *io, struct soft_irqchip *chip);
void ioapic__exit(struct ioapic *io);
void ioapic__reset(struct ioapic *io);
void ioapic__set_irq(struct ioapic *io, unsigned pin, int level);
/* A LAPIC EOI'd a level-triggered vector (TMR bit was set). */
void ioapic__eoi(struct ioapic *io, uint8_t vector);
extern const struct bus_dev_ops ioapic__ops;

/* ---- 8254 PIT + port 0x61 --------------------------------------------- */

struct pit_channel {
	uint32_t count;           /* reload value, 1..65536 */
	uint64_t load_ns;         /* when counting (re)started */
	uint64_t frozen_ticks;    /* elapsed ticks while the gate is low */
	uint8_t mode, rw_mode;
	bool gate;
	bool armed;               /* a count has been written since the control word */
	/* Reads/writes of 16-bit values in two byte accesses. */
	bool read_msb_next, write_msb_next;
	uint8_t write_lsb;
	uint16_t latched_count;
	uint8_t latch_bytes;      /* bytes of latched_count still to read (0-2) */
	bool latch_msb_next;
	uint8_t status;
	bool status_latched;
	/* Channel 0 only: tick index of the next output edge that raises GSI 0. */
	uint64_t next_irq_tick;
	bool irq_armed, irq_periodic;
};

struct i8254 {
	pthread_mutex_t lock;
	struct soft_irqchip *chip;
	struct pit_channel ch[3];
	bool speaker_data;        /* port 0x61 bit 1 */
};

void i8254__init(struct i8254 *pit, struct soft_irqchip *chip);
void i8254__exit(struct i8254 *pit);
void i8254__reset(struct i8254 *pit);
/* Timer thread: fire what is due, return the next deadline (ns, monotonic)
 * or UINT64_MAX. */
uint64_t i8254__tick(struct i8254 *pit, uint64_t now);
extern const struct bus_dev_ops i8254__ops, i8254__port61_ops;

/* ---- LAPIC ----------------------------------------------------------- */

#define LAPIC_NR_LVT 6    /* timer, thermal, perfmon, LINT0, LINT1, error */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };

struct lapic {
	pthread_mutex_t lock;
	struct soft_irqchip *chip;
	int cpu;

	uint32_t id;              /* APIC ID register (ID in bits 31:24) */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LAPIC_NR_LVT];
	uint32_t irr[8], isr[8], tmr[8];

	/* Timer.  deadline_ns == 0: not armed. */
	uint32_t tmict, tdcr;
	uint64_t ns_per_count;
	uint64_t period_ns, start_ns, deadline_ns;
	uint64_t tsc_deadline;

	_Atomic uint64_t base;    /* IA32_APIC_BASE */
	atomic_bool irr_hint;     /* some IRR bit set */
	atomic_bool extint_ok;    /* PIC INT reaches this CPU */
	atomic_bool nmi;

	const struct lapic_cpu_hooks *hooks;
	void *hooks_opaque;
};

/* A message on the APIC bus (from the IOAPIC or an ICR). */
struct apic_msg {
	uint8_t vector;
	uint8_t mode;             /* APIC_DM_* >> 8 */
	bool logical;
	bool level_trig;
	bool assert;              /* level bit: false only for INIT deassert */
	uint8_t dest;
	uint8_t shorthand;        /* 0 none, 1 self, 2 all, 3 all but self */
};

enum { DM_FIXED = 0, DM_LOWEST = 1, DM_SMI = 2, DM_NMI = 4, DM_INIT = 5,
       DM_SIPI = 6, DM_EXTINT = 7 };

/* vCPU hook calls collected while a lock is held, run after it is
 * dropped: at most one per LAPIC per message. */
enum { HOOK_WAKE = 1, HOOK_INIT = 2, HOOK_SIPI = 4 };
struct hook_batch {
	int n;
	struct {
		struct lapic *apic;
		uint8_t what, vector;
	} call[VM_MAX_CPUS];
};

void lapic__init(struct lapic *apic, struct soft_irqchip *chip, int cpu);
void lapic__exit(struct lapic *apic);
/* Deliver msg (src: the sending LAPIC for shorthands, or NULL).  Returns
 * how many LAPICs accepted it.  Callable with the IOAPIC lock held; the
 * hook calls go to *batch, for hook_batch__run once unlocked. */
int lapic__deliver(struct soft_irqchip *chip, struct lapic *src, const struct apic_msg *msg,
		   struct hook_batch *batch);
/* Accept one interrupt into this LAPIC (its lock NOT held by the caller).
 * Returns true if accepted. */
bool lapic__accept_irq(struct lapic *apic, const struct apic_msg *msg,
		       struct hook_batch *batch);
void hook_batch__run(struct hook_batch *batch);
/* PIC INT rose: wake each CPU that takes ExtINT. */
void lapic__extint_notify(struct soft_irqchip *chip);
uint64_t lapic__timer_tick(struct lapic *apic, uint64_t now);
/* Internal, lock held. */
void lapic__timer_mmio_write(struct lapic *apic, unsigned reg, uint32_t val, uint64_t now);
uint32_t lapic__timer_current(struct lapic *apic, uint64_t now);
void lapic__timer_lvt_changed(struct lapic *apic, uint32_t old, uint64_t now);
int lapic__highest_irr(const struct lapic *apic);
void lapic__wake(struct lapic *apic);
/* Does msg's destination (not shorthand) select this LAPIC?  Takes its lock. */
bool lapic__match(struct lapic *apic, const struct apic_msg *msg);
/* Latch an ESR error and raise the error LVT.  Lock held; returns true if
 * an interrupt became pending (wake after unlocking). */
bool lapic__error(struct lapic *apic, uint32_t bit);

/* ---- the chip --------------------------------------------------------- */

struct soft_irqchip {
	struct vm *vm;
	int nr_cpus;
	struct i8259 pic;
	struct ioapic ioapic;
	struct i8254 pit;
	struct lapic *lapic;      /* [nr_cpus] */

	/* The timer thread sleeps until the earliest device deadline; devices
	 * bump tgen when they re-arm so it re-scans. */
	pthread_t timer;
	bool timer_running;
	pthread_mutex_t tlock;
	pthread_cond_t tcond;
	uint64_t tgen;
	bool tstop;

	unsigned registered;      /* bitmask of bus ranges to unregister */
};

/* A device changed its deadline. */
void irqchip__timer_kick(struct soft_irqchip *chip);

#endif
