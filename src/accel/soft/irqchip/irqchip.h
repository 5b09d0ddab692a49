/* Userspace interrupt controllers and timers for the software CPU: the
 * machine KVM's in-kernel irqchip gives a guest, so one guest sees one
 * machine under --accel kvm and --accel soft (docs/irqchip.md).
 *
 *   GSI 0-15  -> 8259 pair (ELCR picks edge/level per line) AND IOAPIC pins
 *                0-15 (identity: GSI n -> pin n, no IRQ0 -> pin 2 override)
 *   GSI 16-23 -> IOAPIC pins 16-23
 *   PIC INT   -> LINT0 of every LAPIC whose LVT0 is unmasked ExtINT (after
 *                reset only the BSP's), or straight to the CPU when its
 *                LAPIC is hardware-disabled (APIC_BASE.EN = 0)
 *   PIT ch0   -> GSI 0;  PIT ch2 gate/OUT <-> port 0x61
 *
 * Threads: every function here may be called from any thread (vCPU threads,
 * device threads, the irqchip's own timer thread).  The hooks a vCPU
 * installs with lapic__set_cpu_hooks are always called with no irqchip lock
 * held, so they may take the vCPU's own locks; they may even be called on
 * the vCPU's own thread (self-IPI from its own ICR write).
 *
 * Time: the LAPIC timer counts at SOFT_CRYSTAL_HZ, the PIT at SOFT_PIT_HZ,
 * both derived from CLOCK_MONOTONIC (timebase.h).  A timer thread owned by
 * the irqchip fires them, so expiry never depends on a vCPU executing. */
#ifndef VIREO_ACCEL_SOFT_IRQCHIP_H
#define VIREO_ACCEL_SOFT_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct soft_irqchip;
struct lapic;

/* ---- per VM ---------------------------------------------------------- */

/* Creates PIC pair, IOAPIC, PIT and nr_cpus LAPICs (IDs 0..nr_cpus-1, CPU 0
 * is the BSP), registers ports 0x20-0x21, 0xA0-0xA1, 0x4D0-0x4D1,
 * 0x40-0x43, 0x61 on vm->pio and [VM_IOAPIC_BASE, +0x100) on vm->mmio, and
 * starts the timer thread.  The LAPIC pages are NOT on vm->mmio: they are
 * per vCPU, the CPU routes its own accesses to lapic__mmio_read/write.
 * Returns 0 or -errno. */
int soft_irqchip__create(struct vm *vm, int nr_cpus, struct soft_irqchip **out);
/* Stops the timer thread, unregisters the ranges, frees everything.  No
 * vCPU may be using a LAPIC any more.  NULL is fine. */
void soft_irqchip__destroy(struct soft_irqchip *chip);
/* Drive a GSI (0-23) to `level` (nonzero = asserted).  GSI 0-15 reach both
 * the PIC and the IOAPIC, like KVM.  Edge devices pulse (1 then 0).
 * Returns 0, or -EINVAL for a GSI out of range. */
int soft_irqchip__set_irq(struct soft_irqchip *chip, unsigned gsi, int level);
/* One MSI as a device wrote it (MSI-X table address/data): address
 * 0xFEExxxxx with destination ID in bits 19:12 and logical mode in bit 2;
 * data with the vector in bits 7:0, delivery mode in 10:8, trigger in 15.
 * Returns 0, or -EINVAL for an address outside the interrupt window. */
int soft_irqchip__signal_msi(struct soft_irqchip *chip, uint64_t addr, uint32_t data);
/* Machine reset: PICs, IOAPIC, PIT and every LAPIC back to power-on state
 * (line levels driven by devices are kept). */
void soft_irqchip__reset(struct soft_irqchip *chip);

/* ---- per vCPU LAPIC --------------------------------------------------- */

struct lapic_cpu_hooks {
	/* Something became pending for this CPU (fixed interrupt, ExtINT,
	 * NMI, timer): wake the vCPU if it is HLTed / make it re-check
	 * lapic__pending_vector at its next instruction boundary. */
	void (*wake)(void *opaque);
	/* An INIT IPI arrived.  The LAPIC has already reset itself (ID and
	 * APIC_BASE kept); the hook resets the CPU and puts it into
	 * wait-for-SIPI (an INIT to the BSP is delivered the same way). */
	void (*init)(void *opaque);
	/* A STARTUP IPI arrived with this vector (start at vector << 12 in real
	 * mode).  The CPU ignores it unless it is in wait-for-SIPI. */
	void (*sipi)(void *opaque, uint8_t vector);
};

/* NULL for cpu out of range. */
struct lapic *soft_irqchip__lapic(struct soft_irqchip *chip, int cpu);
/* hooks must stay valid until soft_irqchip__destroy; NULL disables. */
void lapic__set_cpu_hooks(struct lapic *apic, const struct lapic_cpu_hooks *hooks,
			  void *opaque);

/* xAPIC MMIO, offset within the 4 KiB APIC page.  Reads of 1-4 bytes inside
 * one 32-bit register work; misaligned/other writes are dropped (as KVM).
 * May call hooks of other vCPUs (IPIs) and of this one. */
void lapic__mmio_read(struct lapic *apic, uint64_t offset, void *data, unsigned len);
void lapic__mmio_write(struct lapic *apic, uint64_t offset, const void *data, unsigned len);

/* Interrupt acceptance, called by the CPU at an instruction boundary with
 * RFLAGS.IF = 1 and no interrupt shadow.
 *
 * lapic__accept: the whole INTA cycle atomically: picks the highest
 * deliverable interrupt (ExtINT from the PIC first, as KVM does, then the
 * highest IRR vector whose class is above PPR), acknowledges it (PIC INTA,
 * or IRR -> ISR) and returns the vector to deliver through the IDT, or -1.
 * Prefer this one.
 *
 * lapic__pending_vector: the same choice without acknowledging (cheap,
 * lock-free when nothing is pending): use it to decide whether to leave HLT
 * or to open an interrupt window.  lapic__ack(apic, v) then acknowledges
 * and returns the vector to deliver: normally v, but the PIC may answer a
 * spurious IRQ 7/15 vector if its line dropped in between, and -1 if
 * nothing is pending any more. */
int lapic__accept(struct lapic *apic);
int lapic__pending_vector(struct lapic *apic);
int lapic__ack(struct lapic *apic, int vector);

/* NMI (ICR NMI, LVT LINT0/LINT1 with NMI mode, IOAPIC NMI mode).  NMI
 * blocking until IRET is the CPU's business. */
bool lapic__nmi_pending(struct lapic *apic);
/* Returns whether an NMI was pending, and clears it. */
bool lapic__take_nmi(struct lapic *apic);

/* MOV to/from CR8: value in CR8 format (0-15) = TPR[7:4]; set_tpr clears
 * TPR[3:0], like hardware. */
uint8_t lapic__get_tpr(struct lapic *apic);
void lapic__set_tpr(struct lapic *apic, uint8_t cr8);

/* IA32_APIC_BASE (MSR 0x1B): bit 8 BSP (read-only), bit 11 EN, bits 51:12
 * base.  set_base returns -EINVAL for reserved bits or x2APIC enable (EXTD,
 * bit 10: x2APIC is not advertised): raise #GP.  Clearing EN disables the
 * LAPIC (it then ignores IPIs and MMIO, and the PIC reaches the CPU
 * directly); setting it again brings the LAPIC back in its reset state. */
uint64_t lapic__get_base(struct lapic *apic);
int lapic__set_base(struct lapic *apic, uint64_t value);
/* Guest-physical address of this vCPU's APIC page, or UINT64_MAX while the
 * LAPIC is hardware-disabled (then the page is ordinary bus space). */
uint64_t lapic__mmio_page(struct lapic *apic);

/* IA32_TSC_DEADLINE (MSR 0x6E0); advertise CPUID.1:ECX[24].  The guest TSC
 * runs at SOFT_TSC_HZ = 1 GHz; the caller passes the guest's current TSC so
 * the irqchip does not need to know the guest's TSC offset.  Writing 0
 * disarms; arming only takes effect while LVT timer mode is TSC-deadline.
 * get returns 0 once fired or disarmed. */
void lapic__set_tsc_deadline(struct lapic *apic, uint64_t deadline, uint64_t guest_tsc_now);
uint64_t lapic__get_tsc_deadline(struct lapic *apic, uint64_t guest_tsc_now);

/* Reset to the power-on state (the one KVM's vCPU reset gives: BSP LVT0 =
 * ExtINT unmasked so the PIC works without a BIOS; APs' LVTs masked).
 * Done by create; system calls it for a VM reset. */
void lapic__reset(struct lapic *apic);

#endif
