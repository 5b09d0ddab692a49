/* Private to the FPU/SSE files: instruction semantics as functions over
 * struct soft_fpu / union soft_xmm, independent of the decoder so the unit
 * tests can compare them with the host executing the same instruction. */
#ifndef VIREO_ACCEL_SOFT_FPU_OPS_H
#define VIREO_ACCEL_SOFT_FPU_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/soft/fpu.h"
#include "accel/soft/fpu_host.h"

/* ---- integer SIMD (sse_int.c).  `len` is 16 for XMM and 8 for MMX
 * operands; bytes of *d beyond len are left unspecified. */
enum simd_iop {
	SIMD_PADDB, SIMD_PADDW, SIMD_PADDD, SIMD_PADDQ,
	SIMD_PSUBB, SIMD_PSUBW, SIMD_PSUBD, SIMD_PSUBQ,
	SIMD_PADDSB, SIMD_PADDSW, SIMD_PADDUSB, SIMD_PADDUSW,
	SIMD_PSUBSB, SIMD_PSUBSW, SIMD_PSUBUSB, SIMD_PSUBUSW,
	SIMD_PCMPEQB, SIMD_PCMPEQW, SIMD_PCMPEQD,
	SIMD_PCMPGTB, SIMD_PCMPGTW, SIMD_PCMPGTD,
	SIMD_PMINUB, SIMD_PMAXUB, SIMD_PMINSW, SIMD_PMAXSW,
	SIMD_PAVGB, SIMD_PAVGW, SIMD_PSADBW,
	SIMD_PMULLW, SIMD_PMULHW, SIMD_PMULHUW, SIMD_PMULUDQ, SIMD_PMADDWD,
	SIMD_PAND, SIMD_PANDN, SIMD_POR, SIMD_PXOR,
	SIMD_PUNPCKLBW, SIMD_PUNPCKLWD, SIMD_PUNPCKLDQ, SIMD_PUNPCKLQDQ,
	SIMD_PUNPCKHBW, SIMD_PUNPCKHWD, SIMD_PUNPCKHDQ, SIMD_PUNPCKHQDQ,
	SIMD_PACKSSWB, SIMD_PACKSSDW, SIMD_PACKUSWB,
	/* shifts: count = s->q[0] (the imm8 forms pass it there) */
	SIMD_PSLLW, SIMD_PSLLD, SIMD_PSLLQ,
	SIMD_PSRLW, SIMD_PSRLD, SIMD_PSRLQ,
	SIMD_PSRAW, SIMD_PSRAD,
	SIMD_IOP_COUNT
};
void simd__iop(enum simd_iop op, union soft_xmm *d, const union soft_xmm *s, unsigned len);
void simd__pslldq(union soft_xmm *d, unsigned imm);
void simd__psrldq(union soft_xmm *d, unsigned imm);
void simd__pshufd(union soft_xmm *d, const union soft_xmm *s, unsigned imm);
void simd__pshuflw(union soft_xmm *d, const union soft_xmm *s, unsigned imm);
void simd__pshufhw(union soft_xmm *d, const union soft_xmm *s, unsigned imm);
void simd__shufps(union soft_xmm *d, const union soft_xmm *s, unsigned imm);
void simd__shufpd(union soft_xmm *d, const union soft_xmm *s, unsigned imm);
unsigned simd__pmovmskb(const union soft_xmm *s, unsigned len);
unsigned simd__movmskps(const union soft_xmm *s);
unsigned simd__movmskpd(const union soft_xmm *s);

/* ---- SIMD FP exceptions (fpu_state.c): apply the guest's MXCSR masks to
 * the flags a host SSE operation raised.  Returns FPU_OK with *d updated and the flags ORed
 * into MXCSR, or FPU_FAULT_XM / FPU_FAULT_SSE_UD (per cr4 OSXMMEXCPT) with
 * *d unchanged. */
enum fpu_fault sse__commit(struct soft_fpu *f, uint32_t flags, bool osxmmexcpt);

/* ---- x87 (fpu_x87.c).  All operate on ST(i) indices (stack-relative);
 * they record exceptions in FSW (setting ES/B when unmasked) and never
 * fault by themselves: the #MF comes at the next waiting instruction. */
extern const struct soft_x87_reg x87_indefinite;   /* default QNaN */

void x87__push_value(struct soft_fpu *f, const struct soft_x87_reg *v);
/* FLD ST(i), FLD m, FILD m, FBLD m. */
void x87__fld_st(struct soft_fpu *f, unsigned i);
void x87__fld_mem(struct soft_fpu *f, enum x87_mem kind, const void *mem);
/* FLD1/FLDL2T/FLDL2E/FLDPI/FLDLG2/FLDLN2/FLDZ: which = ModRM.rm (0..6) of
 * D9 E8+which. */
void x87__fld_const(struct soft_fpu *f, unsigned which);
/* FST/FSTP ST(i). */
void x87__fst_st(struct soft_fpu *f, unsigned i, bool pop);
/* FST/FSTP/FIST/FISTP/FISTTP/FBSTP m: fills mem; returns false if nothing
 * may be stored (unmasked invalid/underflow).  Pops if `pop` and allowed. */
bool x87__fst_mem(struct soft_fpu *f, enum x87_mem kind, void *mem, bool pop);
/* Arithmetic: ST(dst) = ST(dst) op ST(src) (SUBR/DIVR reversed), pop if
 * asked.  The memory forms: ST(0) = ST(0) op converted(mem). */
void x87__arith(struct soft_fpu *f, enum x87_binop op, unsigned dst, unsigned src, bool pop);
void x87__arith_mem(struct soft_fpu *f, enum x87_binop op, enum x87_mem kind, const void *mem);
/* FCOM/FUCOM family: ST(0) vs ST(i) or vs mem; then pop `pops` times. */
void x87__com(struct soft_fpu *f, unsigned i, bool quiet, unsigned pops);
void x87__com_mem(struct soft_fpu *f, enum x87_mem kind, const void *mem, bool pop);
/* FCOMI/FUCOMI(P): returns ZF|PF|CF bits (X87_ZPC_*) for EFLAGS, or
 * X87_COMI_NONE if an unmasked exception leaves EFLAGS alone. */
#define X87_COMI_NONE 0x100u
unsigned x87__comi(struct soft_fpu *f, unsigned i, bool quiet, bool pop);
void x87__ftst(struct soft_fpu *f);
void x87__fxam(struct soft_fpu *f);
void x87__fchs(struct soft_fpu *f);
void x87__fabs(struct soft_fpu *f);
void x87__unop(struct soft_fpu *f, enum x87_unop op);
void x87__unop2(struct soft_fpu *f, enum x87_unop2 op);
/* FPREM/FPREM1/FSCALE (ST0 op ST1) and FPATAN/FYL2X/FYL2XP1 (ST1 = ..., pop). */
void x87__binop_st1(struct soft_fpu *f, enum x87_binop op);
void x87__fxch(struct soft_fpu *f, unsigned i);
void x87__fcmov(struct soft_fpu *f, unsigned i, bool cond);
void x87__ffree(struct soft_fpu *f, unsigned i, bool pop);
void x87__fincstp(struct soft_fpu *f);
void x87__fdecstp(struct soft_fpu *f);
void x87__fnclex(struct soft_fpu *f);
void x87__fldcw(struct soft_fpu *f, uint16_t cw);
/* Emulated EMMS: all registers empty. */
void x87__emms(struct soft_fpu *f);

#endif
