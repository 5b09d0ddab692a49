/* x87, MMX, SSE and SSE2 state of the software CPU, and the semantics of
 * their instructions as functions over that state.
 *
 * The semantics here are independent of the decoder: a handler (fpu_exec*.c,
 * sse_exec*.c) fetches operands through the core's API and calls these.
 * Floating-point arithmetic runs on the host's own x87/SSE unit (the host is
 * x86-64 with SSE2), under the guest's rounding/precision/DAZ/FTZ control
 * with every host exception masked, so results and exception flags are
 * bit-exact with a real CPU without a software IEEE implementation; integer
 * SIMD is portable C.
 *
 * Known approximations:
 *  - unmasked SIMD FP exceptions: flags are computed with everything masked,
 *    so an unmasked underflow that is exact is not reported (Linux masks all);
 *  - unmasked x87 overflow/underflow: the masked result is written to a
 *    register destination (hardware writes a bias-adjusted one); invalid,
 *    denormal and divide-by-zero leave the destination alone as on hardware;
 *  - FIP/FDP/FOP/FCS/FDS are not tracked: zero unless loaded by FXRSTOR,
 *    FLDENV or FRSTOR;
 *  - FNSTENV/FNSAVE always use the protected-mode layout (no real-mode one);
 *  - #MF needs CR0.NE=1 (the FERR#/IRQ13 path of NE=0 is not modelled).
 * Condition-code details the SDM leaves undefined follow the host CPU (the
 * unit tests compare against it). */
#ifndef VIREO_ACCEL_SOFT_FPU_H
#define VIREO_ACCEL_SOFT_FPU_H

#include <stdbool.h>
#include <stdint.h>

union soft_xmm {
	uint8_t b[16];
	int8_t sb[16];
	uint16_t w[8];
	int16_t sw[8];
	uint32_t d[4];
	int32_t sd[4];
	uint64_t q[2];
	int64_t sq[2];
	float fs[4];
	double fd[2];
} __attribute__((aligned(16)));

/* One x87 data register in the FXSAVE slot layout: 64-bit significand with
 * explicit integer bit, then sign+15-bit exponent.  MMX register i aliases
 * `mant` of physical register i. */
struct soft_x87_reg {
	uint64_t mant;
	uint16_t sexp;
	uint16_t pad[3];
};

struct soft_fpu {
	union soft_xmm xmm[16];
	struct soft_x87_reg st[8];  /* physical R0..R7, not stack order */
	uint32_t mxcsr;
	uint16_t fcw;
	uint16_t fsw;               /* TOP lives in bits 13:11 */
	uint8_t ftw;                /* abridged: bit i = physical Ri not empty */
	uint8_t pad0;
	uint16_t fop;               /* 11-bit last opcode */
	uint64_t fip, fdp;          /* last x87 instruction / data pointer */
	uint16_t fcs, fds;          /* selectors, for 32-bit save formats */
	uint32_t pad1;
} __attribute__((aligned(16)));

/* --- architectural constants ------------------------------------------ */

#define MXCSR_IE   0x0001u
#define MXCSR_DE   0x0002u
#define MXCSR_ZE   0x0004u
#define MXCSR_OE   0x0008u
#define MXCSR_UE   0x0010u
#define MXCSR_PE   0x0020u
#define MXCSR_FLAGS 0x003Fu
#define MXCSR_DAZ  0x0040u
#define MXCSR_MASKS 0x1F80u
#define MXCSR_MASK_SHIFT 7
#define MXCSR_RC_SHIFT 13
#define MXCSR_FZ   0x8000u
#define MXCSR_DEFAULT 0x1F80u
/* MXCSR_MASK reported by FXSAVE: every bit of the low word is supported
 * (DAZ included, as on every x86-64 CPU since the Pentium 4). */
#define SOFT_MXCSR_MASK 0x0000FFFFu

#define FSW_IE 0x0001u
#define FSW_DE 0x0002u
#define FSW_ZE 0x0004u
#define FSW_OE 0x0008u
#define FSW_UE 0x0010u
#define FSW_PE 0x0020u
#define FSW_SF 0x0040u
#define FSW_ES 0x0080u
#define FSW_C0 0x0100u
#define FSW_C1 0x0200u
#define FSW_C2 0x0400u
#define FSW_TOP_SHIFT 11
#define FSW_TOP_MASK 0x3800u
#define FSW_C3 0x4000u
#define FSW_B  0x8000u
#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)
#define FSW_EXC 0x003Fu

#define FCW_MASKS 0x003Fu
#define FCW_PC_SHIFT 8
#define FCW_RC_SHIFT 10
#define FCW_DEFAULT 0x037Fu   /* FNINIT */

/* Outcome of a semantic function: nothing, or the fault it raises.  The
 * handler maps these onto the core's exception delivery. */
enum fpu_fault {
	FPU_OK = 0,
	FPU_FAULT_UD,     /* #UD */
	FPU_FAULT_NM,     /* #NM, device not available */
	FPU_FAULT_GP,     /* #GP(0) */
	FPU_FAULT_MF,     /* #MF, x87 pending exception */
	FPU_FAULT_XM,     /* #XM, SIMD FP exception (CR4.OSXMMEXCPT=1) */
	FPU_FAULT_SSE_UD, /* unmasked SIMD exception with OSXMMEXCPT=0 -> #UD */
};

/* Instruction classes for the CR0/CR4 availability checks. */
enum fpu_class {
	FPU_CLASS_X87,        /* waiting x87: EM/TS -> #NM, ES -> #MF */
	FPU_CLASS_X87_NOWAIT, /* FN* control instructions: no #MF check */
	FPU_CLASS_WAIT,       /* WAIT/FWAIT: #NM only if TS and MP */
	FPU_CLASS_MMX,        /* EM -> #UD, TS -> #NM, ES -> #MF */
	FPU_CLASS_SSE,        /* EM or !OSFXSR -> #UD, TS -> #NM */
	FPU_CLASS_SSE_MMX,    /* SSE with an MM register operand: also #MF */
	FPU_CLASS_FXSR,       /* FXSAVE/FXRSTOR: EM or TS -> #NM */
};

/* --- handlers ---------------------------------------------------------- */

struct soft_vm;
/* Register every x87/MMX/SSE/SSE2 handler into the core's dispatch table
 * (called at init, after the core's own registration). */
void soft_fpu__register_handlers(struct soft_vm *svm);

/* --- state (fpu_state.c) ----------------------------------------------- */

/* Power-on/RESET state (FCW 0x0040, all tags empty, MXCSR 0x1F80). */
void soft_fpu__reset(struct soft_fpu *f);
/* FNINIT: x87 part only. */
void soft_fpu__fninit(struct soft_fpu *f);
enum fpu_fault soft_fpu__check(const struct soft_fpu *f, enum fpu_class cls,
			       uint64_t cr0, uint64_t cr4);

/* FXSAVE/FXRSTOR image (512 bytes).  `wide` = REX.W form (64-bit FIP/FDP);
 * `nr_xmm` = 16 in 64-bit mode, 8 otherwise.  fxrstor returns FPU_FAULT_GP
 * (and changes nothing) if the image's MXCSR has reserved bits set. */
void soft_fpu__fxsave(const struct soft_fpu *f, uint8_t img[512], bool wide,
		      unsigned nr_xmm);
enum fpu_fault soft_fpu__fxrstor(struct soft_fpu *f, const uint8_t img[512],
				 bool wide, unsigned nr_xmm);
/* FNSTENV/FLDENV (protected-mode format; 28 bytes if op32 else 14) and
 * FNSAVE/FRSTOR (108 or 94 bytes).  fnstenv also masks all exceptions;
 * fnsave also does FNINIT. */
unsigned soft_fpu__env_size(bool op32);
void soft_fpu__fnstenv(struct soft_fpu *f, uint8_t *buf, bool op32);
void soft_fpu__fldenv(struct soft_fpu *f, const uint8_t *buf, bool op32);
void soft_fpu__fnsave(struct soft_fpu *f, uint8_t *buf, bool op32);
void soft_fpu__frstor(struct soft_fpu *f, const uint8_t *buf, bool op32);
/* LDMXCSR: FPU_FAULT_GP on reserved bits. */
enum fpu_fault soft_fpu__ldmxcsr(struct soft_fpu *f, uint32_t v);
/* Full 16-bit tag word computed from register contents (FNSTENV). */
uint16_t soft_fpu__full_tag(const struct soft_fpu *f);
/* Abridged tag from a full one (FLDENV/FRSTOR keep only empty/non-empty). */
uint8_t soft_fpu__abridge_tag(uint16_t full);

static inline unsigned soft_fpu__top(const struct soft_fpu *f)
{
	return (f->fsw >> FSW_TOP_SHIFT) & 7;
}

static inline void soft_fpu__set_top(struct soft_fpu *f, unsigned top)
{
	f->fsw = (uint16_t)((f->fsw & ~FSW_TOP_MASK) | ((top & 7) << FSW_TOP_SHIFT));
}

/* Physical register index of ST(i). */
static inline unsigned soft_fpu__phys(const struct soft_fpu *f, unsigned i)
{
	return (soft_fpu__top(f) + i) & 7;
}

static inline bool soft_fpu__st_empty(const struct soft_fpu *f, unsigned i)
{
	return !(f->ftw & (1u << soft_fpu__phys(f, i)));
}

/* MMX: any MMX instruction sets TOP=0 and marks all registers valid; a
 * write also sets the exponent field to all ones. */
static inline void soft_fpu__mmx_enter(struct soft_fpu *f)
{
	soft_fpu__set_top(f, 0);
	f->ftw = 0xFF;
}

static inline uint64_t soft_fpu__mm_read(struct soft_fpu *f, unsigned r)
{
	soft_fpu__mmx_enter(f);
	return f->st[r & 7].mant;
}

static inline void soft_fpu__mm_write(struct soft_fpu *f, unsigned r, uint64_t v)
{
	soft_fpu__mmx_enter(f);
	f->st[r & 7].mant = v;
	f->st[r & 7].sexp = 0xFFFF;
}

#endif
