/* The system half of the software CPU (system.c, seg.c, except.c, modes.c,
 * msr.c, cpuid.c, soft_accel.c): privileged instructions, segmentation,
 * mode switches, exception/interrupt delivery, CPUID, MSRs and the vCPU
 * threads.  Private to those files and their unit tests. */
#ifndef VIREO_ACCEL_SOFT_SYS_H
#define VIREO_ACCEL_SOFT_SYS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/soft/cpu.h"

/* ---- CPUID (cpuid.c) -------------------------------------------------- */
struct soft_cpuid_cfg {
	unsigned apic_id;
	unsigned nr_cpus;
};
/* r = EAX, EBX, ECX, EDX */
void soft_cpuid(const struct soft_cpuid_cfg *cfg, uint32_t leaf, uint32_t sub,
		uint32_t r[4]);

/* ---- per-VM / per-vCPU system state ----------------------------------- */
struct soft_sys_cpu;

struct soft_sys_vm {
	uint64_t tsc_base_ns;     /* CLOCK_MONOTONIC at VM creation: TSC 0 */
	/* vCPUs are freed only after the irqchip (whose timer thread may be
	 * inside a wake hook of theirs) is gone: see soft_accel.c */
	struct soft_sys_cpu *cpus[64];
};

struct soft_sys_cpu {
	struct soft_cpu *cpu;
	struct vcpu *vcpu;
	/* wake-up: guarded by lock; `woken` is set by the irqchip's wake hook
	 * and by kicks, consumed by the HLT / wait-for-SIPI wait */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool woken;
	/* INIT/SIPI arrive on other threads; the vCPU applies them itself */
	atomic_bool init_pending;
	atomic_int sipi_vector;   /* -1: none */
	bool shutdown;            /* triple fault: never runs again */
	int64_t tsc_adjust;       /* IA32_TSC_ADJUST */
	/* single-step: TF was set at the boundary before the current
	 * instruction, so a #DB trap follows it (system.c) */
	bool tf_pending;
};

/* ---- registration (system.c) ----------------------------------------- */
void soft_system__register_handlers(struct soft_vm *svm);
void soft_seg__register(struct soft_vm *svm);
void soft_modes__register(struct soft_vm *svm);
void soft_except__register(struct soft_vm *svm);
void soft_msr__register(struct soft_vm *svm);
void soft_intr__register(struct soft_vm *svm);
/* Install the hooks (deliver_exception, events, io_allowed, popf, lapic_mmio). */
void soft_system__install_hooks(struct soft_vm *svm);

/* ---- segments (seg.c) -------------------------------------------------- */
/* Raw 8-byte descriptor for selector `sel` from the GDT/LDT.  On an
 * out-of-limit selector raises #GP(sel) (or exc_vector). */
int soft_seg__read_desc(struct soft_cpu *cpu, uint16_t sel, uint64_t *desc, int exc_vector);
/* Decode a (code/data or system) descriptor into a segment cache. */
void soft_seg__decode(uint64_t desc, uint16_t sel, struct soft_seg *s);
/* Set the accessed bit in memory if clear. */
int soft_seg__set_accessed(struct soft_cpu *cpu, uint16_t sel, uint64_t desc);
/* Load ES/SS/DS/FS/GS with the checks of MOV/POP Sreg in the current mode. */
int soft_seg__load(struct soft_cpu *cpu, unsigned seg, uint16_t sel);
/* A null selector in a data segment register (unusable). */
void soft_seg__load_null(struct soft_cpu *cpu, unsigned seg, uint16_t sel);
/* Real-mode / VM86 style load: base = sel << 4. */
void soft_seg__load_real(struct soft_cpu *cpu, unsigned seg, uint16_t sel);
/* Check a code segment descriptor as the target of a far JMP/CALL/RET/IRET
 * to privilege level `cpl` (RPL rules done by the caller), raising
 * #GP(sel)/#NP(sel). */
int soft_seg__check_code(struct soft_cpu *cpu, uint16_t sel, uint64_t desc);
/* Load SS for a privilege change to `cpl` (IRET/RETF to outer level),
 * with the SS checks; null allowed in 64-bit mode for cpl < 3. */
int soft_seg__load_ss_for(struct soft_cpu *cpu, uint16_t sel, unsigned cpl, bool to64);
/* After a return to an outer level: null DS/ES/FS/GS that the new CPL may
 * not use. */
void soft_seg__scrub_data_segs(struct soft_cpu *cpu);

/* ---- MSRs (msr.c): 0, or -1 for #GP ---------------------------------- */
int soft_msr__read(struct soft_cpu *cpu, uint32_t idx, uint64_t *val);
int soft_msr__write(struct soft_cpu *cpu, uint32_t idx, uint64_t val);

/* ---- delivery (except.c) ---------------------------------------------- */
#define SOFT_EV_EXT   (1u << 0)   /* external interrupt / NMI: EXT bit in error codes */
#define SOFT_EV_SOFT  (1u << 1)   /* INT n / INT3 / INTO: gate DPL check, return after */
#define SOFT_EV_ERR   (1u << 2)   /* push error_code */
#define SOFT_EV_ICEBP (1u << 3)   /* INT1: no DPL check */
/* Deliver one event through IVT/IDT.  return_rip is pushed.  On success
 * cpu->rip = handler.  SOFT_EXC with cpu->exc set on a nested fault. */
int soft_except__deliver(struct soft_cpu *cpu, int vector, unsigned flags,
			 uint32_t error_code, uint64_t return_rip);
/* Hook: deliver cpu->exc with the #DF / triple-fault rules. */
int soft_except__deliver_hook(struct soft_cpu *cpu);
/* Deliver an external interrupt / NMI at an instruction boundary (the
 * double-fault rules apply to faults during its delivery). */
int soft_except__deliver_event(struct soft_cpu *cpu, int vector, bool nmi);
/* Triple fault: dump, stop the VM, park this vCPU. */
int soft_except__triple_fault(struct soft_cpu *cpu);

/* Single-step bookkeeping: an instruction faulted or raised INT n, so the
 * pending TF trap does not happen (except.c, intr.c). */
static inline void soft_sys__cancel_step(struct soft_cpu *cpu)
{
	struct soft_sys_cpu *sc = cpu->sys;

	if (sc)
		sc->tf_pending = false;
}

/* Interrupt/NMI acceptance at a boundary (system.c): SOFT_OK / SOFT_EXIT. */
int soft_sys__check_interrupts(struct soft_cpu *cpu);
/* Would a HLT end now (NMI, or IF and a pending vector)? */
bool soft_sys__wake_pending(struct soft_cpu *cpu);

/* ---- time (system.c) -------------------------------------------------- */
uint64_t soft_sys__host_ns(void);
uint64_t soft_sys__tsc(struct soft_cpu *cpu);

/* ---- state conversion (soft_accel.c) ----------------------------------- */
void soft_sys__get_state(struct soft_cpu *cpu, struct x86_regs *r, struct x86_sregs *s);
int soft_sys__set_state(struct soft_cpu *cpu, const struct x86_regs *r,
			const struct x86_sregs *s);

/* RFLAGS bits an IRET (iret) or POPF of `size` bytes may change at the
 * current CPL/IOPL (intr.c). */
uint64_t soft_sys__flags_mask(struct soft_cpu *cpu, unsigned size, bool iret);

/* Flags helpers */
static inline void soft_sys__set_zf(struct soft_cpu *cpu, bool zf)
{
	uint64_t f = soft_flags__get(cpu);

	soft_flags__set(cpu, zf ? f | SOFT_FL_ZF : f & ~SOFT_FL_ZF);
}

static inline unsigned soft_sys__iopl(struct soft_cpu *cpu)
{
	return (unsigned)((cpu->rflags & SOFT_FL_IOPL) >> 12);
}

static inline bool soft_sys__canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

#endif
