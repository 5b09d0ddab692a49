/* Private to the FPU/SSE files: operations executed on the host's own x87
 * and SSE units.  Each call loads the guest's control state (rounding,
 * precision, DAZ/FTZ) with every exception masked and flags cleared, runs
 * exactly one guest-equivalent instruction, reads back the flags and
 * restores the host's control state, all inside one asm statement so the
 * compiler cannot schedule its own FP code in between. */
#ifndef VIREO_ACCEL_SOFT_FPU_HOST_H
#define VIREO_ACCEL_SOFT_FPU_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/soft/fpu.h"

/* ---- x87 (fpu_host.c).  Every function returns the host FSW after the
 * operation (exception bits, C0-C3; TOP meaningless). */

enum x87_binop {
	X87_ADD, X87_MUL, X87_SUB, X87_SUBR, X87_DIV, X87_DIVR,
	X87_PREM, X87_PREM1, X87_SCALE,
	X87_PATAN, X87_YL2X, X87_YL2XP1,   /* result replaces st1, then pop */
};
/* *res = st0 op st1 (for PATAN/YL2X/YL2XP1: the value left on top after
 * the instruction's pop). */
uint16_t x87_host__binop(enum x87_binop op, uint16_t fcw, struct soft_x87_reg *res,
			 const struct soft_x87_reg *st0, const struct soft_x87_reg *st1);

enum x87_unop { X87_SQRT, X87_RNDINT, X87_SIN, X87_COS, X87_F2XM1 };
uint16_t x87_host__unop(enum x87_unop op, uint16_t fcw, struct soft_x87_reg *res,
			const struct soft_x87_reg *a);

/* Instructions that replace ST0 and push a second value: *lo = new ST(1),
 * *hi = new ST(0).  FPTAN/FSINCOS with |x| >= 2^63 set C2 and push nothing
 * (then *lo = a, *hi untouched). */
enum x87_unop2 { X87_PTAN, X87_SINCOS, X87_XTRACT };
uint16_t x87_host__unop2(enum x87_unop2 op, uint16_t fcw, struct soft_x87_reg *lo,
			 struct soft_x87_reg *hi, const struct soft_x87_reg *a);

/* FCOM (signalling: QNaN raises IE) / FUCOM: a compared with b, C0/C2/C3. */
uint16_t x87_host__compare(bool quiet, uint16_t fcw, const struct soft_x87_reg *a,
			   const struct soft_x87_reg *b);

/* Memory formats x87 loads/stores convert from/to. */
enum x87_mem {
	X87_M32, X87_M64, X87_M80, X87_I16, X87_I32, X87_I64, X87_BCD,
	X87_I16_TRUNC, X87_I32_TRUNC, X87_I64_TRUNC,   /* FISTTP, stores only */
};
unsigned x87_host__mem_size(enum x87_mem kind);
uint16_t x87_host__load(enum x87_mem kind, uint16_t fcw, struct soft_x87_reg *res,
			const void *mem);
uint16_t x87_host__store(enum x87_mem kind, uint16_t fcw, void *mem,
			 const struct soft_x87_reg *a);

/* FPREM (ieee=false) / FPREM1 with the guest's C0-C3 as starting values. */
uint16_t x87_host__prem(bool ieee, uint16_t fcw, uint16_t cc, struct soft_x87_reg *res,
			const struct soft_x87_reg *st0, const struct soft_x87_reg *st1);

/* ST0 op m32fp/m64fp/m16int/m32int (FADD m32 ... FIDIVR m16), and FCOM /
 * FICOM against memory. */
uint16_t x87_host__binop_mem(enum x87_binop op, enum x87_mem kind, uint16_t fcw,
			     struct soft_x87_reg *res, const struct soft_x87_reg *st0,
			     const void *mem);
uint16_t x87_host__compare_mem(enum x87_mem kind, uint16_t fcw,
			       const struct soft_x87_reg *st0, const void *mem);

/* FLD1/FLDL2T/FLDL2E/FLDPI/FLDLG2/FLDLN2/FLDZ for which = 0..6. */
uint16_t x87_host__const(unsigned which, uint16_t fcw, struct soft_x87_reg *res);

/* ---- SSE (sse_host.c).  Every function returns the MXCSR exception flags
 * the operation raised (0..0x3F); rounding/DAZ/FTZ come from `mxcsr`. */

enum sse_op {
	SSE_ADDPS, SSE_ADDSS, SSE_ADDPD, SSE_ADDSD,
	SSE_SUBPS, SSE_SUBSS, SSE_SUBPD, SSE_SUBSD,
	SSE_MULPS, SSE_MULSS, SSE_MULPD, SSE_MULSD,
	SSE_DIVPS, SSE_DIVSS, SSE_DIVPD, SSE_DIVSD,
	SSE_MINPS, SSE_MINSS, SSE_MINPD, SSE_MINSD,
	SSE_MAXPS, SSE_MAXSS, SSE_MAXPD, SSE_MAXSD,
	SSE_SQRTPS, SSE_SQRTSS, SSE_SQRTPD, SSE_SQRTSD,
	SSE_RCPPS, SSE_RCPSS, SSE_RSQRTPS, SSE_RSQRTSS,
	SSE_CVTPS2PD, SSE_CVTPD2PS, SSE_CVTSS2SD, SSE_CVTSD2SS,
	SSE_CVTDQ2PS, SSE_CVTPS2DQ, SSE_CVTTPS2DQ,
	SSE_CVTDQ2PD, SSE_CVTPD2DQ, SSE_CVTTPD2DQ,
	SSE_OP_COUNT
};
/* d = d op s, exactly as "op s, d" on the host (scalar forms keep d's upper
 * lanes; unary forms read only s). */
uint32_t sse_host__op(enum sse_op op, uint32_t mxcsr, union soft_xmm *d,
		      const union soft_xmm *s);

enum sse_cmp_kind { SSE_CMPPS, SSE_CMPSS, SSE_CMPPD, SSE_CMPSD };
/* Predicate imm & 7 (SSE/SSE2 only have 0-7). */
uint32_t sse_host__cmp(enum sse_cmp_kind kind, unsigned imm, uint32_t mxcsr,
		       union soft_xmm *d, const union soft_xmm *s);

enum sse_comi_kind { SSE_COMISS, SSE_UCOMISS, SSE_COMISD, SSE_UCOMISD };
/* *zpc = ZF | PF << 1 | CF << 2 as the host sets them. */
uint32_t sse_host__comi(enum sse_comi_kind kind, uint32_t mxcsr,
			const union soft_xmm *a, const union soft_xmm *b,
			unsigned *zpc);

/* CVTSI2SS/CVTSI2SD: low lane of d = (float/double)src. */
uint32_t sse_host__cvt_i2f(bool dbl, bool src64, uint32_t mxcsr,
			   union soft_xmm *d, uint64_t src);
/* CVT(T)SS2SI/CVT(T)SD2SI into a 32- or 64-bit integer. */
uint32_t sse_host__cvt_f2i(bool dbl, bool trunc, bool dst64, uint32_t mxcsr,
			   const union soft_xmm *s, uint64_t *out);

#define X87_C0_BIT 8
#define X87_ZPC_ZF 1u
#define X87_ZPC_PF 2u
#define X87_ZPC_CF 4u

#endif
