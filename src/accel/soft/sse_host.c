/* SSE/SSE2 floating-point operations executed on the host's SSE unit (see
 * fpu_host.h for why).  The guest MXCSR's RC/DAZ/FZ are used with all
 * exceptions masked and the flags cleared; the flags the instruction raised
 * are returned and the host MXCSR is restored, all in one asm statement. */
#include <emmintrin.h>
#include <string.h>

#include "accel/soft/fpu_host.h"

static inline uint32_t host_mxcsr(uint32_t mxcsr)
{
	return (mxcsr & ~MXCSR_FLAGS & 0xFFFF) | MXCSR_MASKS;
}

#define SSE_ENTER "stmxcsr %[saved]\n\tldmxcsr %[run]\n\t"
#define SSE_LEAVE "\n\tstmxcsr %[out]\n\tldmxcsr %[saved]"

#define SSE_RUN(insn)                                                      \
	asm volatile(SSE_ENTER insn " %[s], %[d]" SSE_LEAVE                \
		     : [d] "+x"(dv), [saved] "=m"(saved), [out] "=m"(out)  \
		     : [s] "x"(sv), [run] "m"(run))

#define SSE_CASE(name, insn) case name: SSE_RUN(insn); break

uint32_t sse_host__op(enum sse_op op, uint32_t mxcsr, union soft_xmm *d,
		      const union soft_xmm *s)
{
	uint32_t run = host_mxcsr(mxcsr), saved, out = 0;
	__m128i dv, sv;

	memcpy(&dv, d, 16);
	memcpy(&sv, s, 16);
	switch (op) {
	SSE_CASE(SSE_ADDPS, "addps"); SSE_CASE(SSE_ADDSS, "addss");
	SSE_CASE(SSE_ADDPD, "addpd"); SSE_CASE(SSE_ADDSD, "addsd");
	SSE_CASE(SSE_SUBPS, "subps"); SSE_CASE(SSE_SUBSS, "subss");
	SSE_CASE(SSE_SUBPD, "subpd"); SSE_CASE(SSE_SUBSD, "subsd");
	SSE_CASE(SSE_MULPS, "mulps"); SSE_CASE(SSE_MULSS, "mulss");
	SSE_CASE(SSE_MULPD, "mulpd"); SSE_CASE(SSE_MULSD, "mulsd");
	SSE_CASE(SSE_DIVPS, "divps"); SSE_CASE(SSE_DIVSS, "divss");
	SSE_CASE(SSE_DIVPD, "divpd"); SSE_CASE(SSE_DIVSD, "divsd");
	SSE_CASE(SSE_MINPS, "minps"); SSE_CASE(SSE_MINSS, "minss");
	SSE_CASE(SSE_MINPD, "minpd"); SSE_CASE(SSE_MINSD, "minsd");
	SSE_CASE(SSE_MAXPS, "maxps"); SSE_CASE(SSE_MAXSS, "maxss");
	SSE_CASE(SSE_MAXPD, "maxpd"); SSE_CASE(SSE_MAXSD, "maxsd");
	SSE_CASE(SSE_SQRTPS, "sqrtps"); SSE_CASE(SSE_SQRTSS, "sqrtss");
	SSE_CASE(SSE_SQRTPD, "sqrtpd"); SSE_CASE(SSE_SQRTSD, "sqrtsd");
	SSE_CASE(SSE_RCPPS, "rcpps"); SSE_CASE(SSE_RCPSS, "rcpss");
	SSE_CASE(SSE_RSQRTPS, "rsqrtps"); SSE_CASE(SSE_RSQRTSS, "rsqrtss");
	SSE_CASE(SSE_CVTPS2PD, "cvtps2pd"); SSE_CASE(SSE_CVTPD2PS, "cvtpd2ps");
	SSE_CASE(SSE_CVTSS2SD, "cvtss2sd"); SSE_CASE(SSE_CVTSD2SS, "cvtsd2ss");
	SSE_CASE(SSE_CVTDQ2PS, "cvtdq2ps"); SSE_CASE(SSE_CVTPS2DQ, "cvtps2dq");
	SSE_CASE(SSE_CVTTPS2DQ, "cvttps2dq");
	SSE_CASE(SSE_CVTDQ2PD, "cvtdq2pd"); SSE_CASE(SSE_CVTPD2DQ, "cvtpd2dq");
	SSE_CASE(SSE_CVTTPD2DQ, "cvttpd2dq");
	case SSE_OP_COUNT:
		return 0;
	}
	memcpy(d, &dv, 16);
	return out & MXCSR_FLAGS;
}

#define SSE_CMP_RUN(insn, imm)                                             \
	asm volatile(SSE_ENTER insn " $" #imm ", %[s], %[d]" SSE_LEAVE     \
		     : [d] "+x"(dv), [saved] "=m"(saved), [out] "=m"(out)  \
		     : [s] "x"(sv), [run] "m"(run))

#define SSE_CMP_SWITCH(insn)                                               \
	switch (imm & 7) {                                                 \
	case 0: SSE_CMP_RUN(insn, 0); break;                               \
	case 1: SSE_CMP_RUN(insn, 1); break;                               \
	case 2: SSE_CMP_RUN(insn, 2); break;                               \
	case 3: SSE_CMP_RUN(insn, 3); break;                               \
	case 4: SSE_CMP_RUN(insn, 4); break;                               \
	case 5: SSE_CMP_RUN(insn, 5); break;                               \
	case 6: SSE_CMP_RUN(insn, 6); break;                               \
	default: SSE_CMP_RUN(insn, 7); break;                              \
	}

uint32_t sse_host__cmp(enum sse_cmp_kind kind, unsigned imm, uint32_t mxcsr,
		       union soft_xmm *d, const union soft_xmm *s)
{
	uint32_t run = host_mxcsr(mxcsr), saved, out = 0;
	__m128i dv, sv;

	memcpy(&dv, d, 16);
	memcpy(&sv, s, 16);
	switch (kind) {
	case SSE_CMPPS: SSE_CMP_SWITCH("cmpps"); break;
	case SSE_CMPSS: SSE_CMP_SWITCH("cmpss"); break;
	case SSE_CMPPD: SSE_CMP_SWITCH("cmppd"); break;
	case SSE_CMPSD: SSE_CMP_SWITCH("cmpsd"); break;
	}
	memcpy(d, &dv, 16);
	return out & MXCSR_FLAGS;
}

#define SSE_COMI_RUN(insn)                                                 \
	asm volatile(SSE_ENTER insn " %[b], %[a]\n\t"                      \
		     "setz %[z]\n\tsetp %[p]\n\tsetc %[c]" SSE_LEAVE       \
		     : [z] "=q"(z), [p] "=q"(p), [c] "=q"(c),              \
		       [saved] "=m"(saved), [out] "=m"(out)                \
		     : [a] "x"(av), [b] "x"(bv), [run] "m"(run)            \
		     : "cc")

uint32_t sse_host__comi(enum sse_comi_kind kind, uint32_t mxcsr,
			const union soft_xmm *a, const union soft_xmm *b,
			unsigned *zpc)
{
	uint32_t run = host_mxcsr(mxcsr), saved, out = 0;
	uint8_t z = 0, p = 0, c = 0;
	__m128i av, bv;

	memcpy(&av, a, 16);
	memcpy(&bv, b, 16);
	switch (kind) {
	case SSE_COMISS:  SSE_COMI_RUN("comiss"); break;
	case SSE_UCOMISS: SSE_COMI_RUN("ucomiss"); break;
	case SSE_COMISD:  SSE_COMI_RUN("comisd"); break;
	case SSE_UCOMISD: SSE_COMI_RUN("ucomisd"); break;
	}
	*zpc = (z ? X87_ZPC_ZF : 0) | (p ? X87_ZPC_PF : 0) | (c ? X87_ZPC_CF : 0);
	return out & MXCSR_FLAGS;
}

#define SSE_I2F_RUN(insn, cons, val)                                       \
	asm volatile(SSE_ENTER insn " %[s], %[d]" SSE_LEAVE                \
		     : [d] "+x"(dv), [saved] "=m"(saved), [out] "=m"(out)  \
		     : [s] cons(val), [run] "m"(run))

uint32_t sse_host__cvt_i2f(bool dbl, bool src64, uint32_t mxcsr,
			   union soft_xmm *d, uint64_t src)
{
	uint32_t run = host_mxcsr(mxcsr), saved, out = 0;
	uint32_t s32 = (uint32_t)src;
	__m128i dv;

	memcpy(&dv, d, 16);
	if (dbl && src64)
		SSE_I2F_RUN("cvtsi2sdq", "r", src);
	else if (dbl)
		SSE_I2F_RUN("cvtsi2sdl", "r", s32);
	else if (src64)
		SSE_I2F_RUN("cvtsi2ssq", "r", src);
	else
		SSE_I2F_RUN("cvtsi2ssl", "r", s32);
	memcpy(d, &dv, 16);
	return out & MXCSR_FLAGS;
}

#define SSE_F2I_RUN(insn, val)                                             \
	asm volatile(SSE_ENTER insn " %[s], %[o]" SSE_LEAVE                \
		     : [o] "=r"(val), [saved] "=m"(saved), [out] "=m"(out) \
		     : [s] "x"(sv), [run] "m"(run))

uint32_t sse_host__cvt_f2i(bool dbl, bool trunc, bool dst64, uint32_t mxcsr,
			   const union soft_xmm *s, uint64_t *res)
{
	uint32_t run = host_mxcsr(mxcsr), saved, out = 0;
	uint64_t r64 = 0;
	uint32_t r32 = 0;
	__m128i sv;

	memcpy(&sv, s, 16);
	switch ((dbl ? 4 : 0) | (trunc ? 2 : 0) | (dst64 ? 1 : 0)) {
	case 0: SSE_F2I_RUN("cvtss2si", r32); break;
	case 1: SSE_F2I_RUN("cvtss2si", r64); break;
	case 2: SSE_F2I_RUN("cvttss2si", r32); break;
	case 3: SSE_F2I_RUN("cvttss2si", r64); break;
	case 4: SSE_F2I_RUN("cvtsd2si", r32); break;
	case 5: SSE_F2I_RUN("cvtsd2si", r64); break;
	case 6: SSE_F2I_RUN("cvttsd2si", r32); break;
	default: SSE_F2I_RUN("cvttsd2si", r64); break;
	}
	*res = dst64 ? r64 : r32;
	return out & MXCSR_FLAGS;
}
