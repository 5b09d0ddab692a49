/* SSE/SSE2 floating-point handlers: arithmetic, min/max, sqrt/rcp/rsqrt,
 * compares (CMPPS..CMPSD, COMISS/UCOMISS/COMISD/UCOMISD) and conversions.  The computation runs
 * on the host SSE unit (sse_host.c); MXCSR masks and #XM are applied by
 * sse__commit(). */
#include <string.h>

#include "accel/soft/fpu_exec.h"

static bool osxmmexcpt(const struct soft_cpu *cpu)
{
	return (cpu->cr4 & X86_CR4_OSXMMEXCPT) != 0;
}

static bool fp_op_of(unsigned mnemonic, enum sse_op *op)
{
	switch (mnemonic) {
#define M(z) case ZYDIS_MNEMONIC_##z: *op = SSE_##z; return true
	M(ADDPS); M(ADDSS); M(ADDPD); M(ADDSD);
	M(SUBPS); M(SUBSS); M(SUBPD); M(SUBSD);
	M(MULPS); M(MULSS); M(MULPD); M(MULSD);
	M(DIVPS); M(DIVSS); M(DIVPD); M(DIVSD);
	M(MINPS); M(MINSS); M(MINPD); M(MINSD);
	M(MAXPS); M(MAXSS); M(MAXPD); M(MAXSD);
	M(SQRTPS); M(SQRTSS); M(SQRTPD); M(SQRTSD);
	M(RCPPS); M(RCPSS); M(RSQRTPS); M(RSQRTSS);
	M(CVTPS2PD); M(CVTPD2PS); M(CVTSS2SD); M(CVTSD2SS);
	M(CVTDQ2PS); M(CVTPS2DQ); M(CVTTPS2DQ);
	M(CVTDQ2PD); M(CVTPD2DQ); M(CVTTPD2DQ);
#undef M
	default:
		return false;
	}
}

/* "op xmm, xmm/m": the host computes into a copy of the destination so
 * scalar forms keep its upper lanes. */
static int h_fp(struct soft_cpu *cpu, const struct soft_insn *in)
{
	union soft_xmm d, s;
	enum sse_op op;
	enum fpu_fault f;
	uint32_t flags;
	int r;

	if (!fp_op_of(in->mnemonic, &op) || in->nops < 2)
		return soft_raise_ud(cpu);
	r = fpu_exec__avail(cpu, FPU_CLASS_SSE);
	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &s, true);
	if (r)
		return r;
	d = *fpu_exec__xmm(cpu, &in->op[0]);
	flags = sse_host__op(op, cpu->fpu.mxcsr, &d, &s);
	f = sse__commit(&cpu->fpu, flags, osxmmexcpt(cpu));
	if (f)
		return fpu_exec__fault(cpu, f);
	*fpu_exec__xmm(cpu, &in->op[0]) = d;
	return SOFT_OK;
}

static int h_cmp(struct soft_cpu *cpu, const struct soft_insn *in)
{
	union soft_xmm d, s;
	enum sse_cmp_kind kind;
	enum fpu_fault f;
	uint32_t flags;
	int r;

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_CMPPS: kind = SSE_CMPPS; break;
	case ZYDIS_MNEMONIC_CMPSS: kind = SSE_CMPSS; break;
	case ZYDIS_MNEMONIC_CMPPD: kind = SSE_CMPPD; break;
	default: kind = SSE_CMPSD; break;
	}
	r = fpu_exec__avail(cpu, FPU_CLASS_SSE);
	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &s, true);
	if (r)
		return r;
	d = *fpu_exec__xmm(cpu, &in->op[0]);
	flags = sse_host__cmp(kind, in->imm & 7, cpu->fpu.mxcsr, &d, &s);
	f = sse__commit(&cpu->fpu, flags, osxmmexcpt(cpu));
	if (f)
		return fpu_exec__fault(cpu, f);
	*fpu_exec__xmm(cpu, &in->op[0]) = d;
	return SOFT_OK;
}

static int h_comi(struct soft_cpu *cpu, const struct soft_insn *in)
{
	union soft_xmm s;
	enum sse_comi_kind kind;
	enum fpu_fault f;
	uint32_t flags;
	unsigned zpc;
	int r;

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_COMISS: kind = SSE_COMISS; break;
	case ZYDIS_MNEMONIC_UCOMISS: kind = SSE_UCOMISS; break;
	case ZYDIS_MNEMONIC_COMISD: kind = SSE_COMISD; break;
	default: kind = SSE_UCOMISD; break;
	}
	r = fpu_exec__avail(cpu, FPU_CLASS_SSE);
	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &s, false);
	if (r)
		return r;
	flags = sse_host__comi(kind, cpu->fpu.mxcsr, fpu_exec__xmm(cpu, &in->op[0]), &s, &zpc);
	f = sse__commit(&cpu->fpu, flags, osxmmexcpt(cpu));
	if (f)
		return fpu_exec__fault(cpu, f);
	fpu_exec__set_zpc(cpu, zpc);
	return SOFT_OK;
}

/* CVTSI2SS/CVTSI2SD xmm, r/m32/64. */
static int h_cvt_i2f(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool dbl = in->mnemonic == ZYDIS_MNEMONIC_CVTSI2SD;
	union soft_xmm d, s;
	enum fpu_fault f;
	uint32_t flags;
	int r = fpu_exec__avail(cpu, FPU_CLASS_SSE);

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &s, false);
	if (r)
		return r;
	d = *fpu_exec__xmm(cpu, &in->op[0]);
	flags = sse_host__cvt_i2f(dbl, in->op[1].size == 8, cpu->fpu.mxcsr, &d, s.q[0]);
	f = sse__commit(&cpu->fpu, flags, osxmmexcpt(cpu));
	if (f)
		return fpu_exec__fault(cpu, f);
	*fpu_exec__xmm(cpu, &in->op[0]) = d;
	return SOFT_OK;
}

/* CVT(T)SS2SI/CVT(T)SD2SI r32/64, xmm/m. */
static int h_cvt_f2i(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned m = in->mnemonic;
	bool dbl = m == ZYDIS_MNEMONIC_CVTSD2SI || m == ZYDIS_MNEMONIC_CVTTSD2SI;
	bool trunc = m == ZYDIS_MNEMONIC_CVTTSS2SI || m == ZYDIS_MNEMONIC_CVTTSD2SI;
	union soft_xmm s;
	enum fpu_fault f;
	uint64_t v;
	uint32_t flags;
	int r = fpu_exec__avail(cpu, FPU_CLASS_SSE);

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &s, false);
	if (r)
		return r;
	if (in->op[0].kind != SOFT_OPK_REG || in->op[0].rclass != SOFT_RC_GPR)
		return soft_raise_ud(cpu);
	flags = sse_host__cvt_f2i(dbl, trunc, in->op[0].size == 8, cpu->fpu.mxcsr, &s, &v);
	f = sse__commit(&cpu->fpu, flags, osxmmexcpt(cpu));
	if (f)
		return fpu_exec__fault(cpu, f);
	soft_gpr_write(cpu, &in->op[0], v);
	return SOFT_OK;
}

/* The MMX-operand conversions, expressed through their packed-XMM
 * counterparts on zeroed spare lanes (converting zero raises nothing):
 * CVTPI2PS, CVTPS2PI, CVTTPS2PI, CVTPI2PD, CVTPD2PI, CVTTPD2PI. */
static int h_cvt_mmx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	union soft_xmm s, t = { .q = { 0, 0 } };
	enum sse_op op;
	enum fpu_fault f;
	uint32_t flags;
	int r;

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_CVTPI2PS: op = SSE_CVTDQ2PS; break;
	case ZYDIS_MNEMONIC_CVTPS2PI: op = SSE_CVTPS2DQ; break;
	case ZYDIS_MNEMONIC_CVTTPS2PI: op = SSE_CVTTPS2DQ; break;
	case ZYDIS_MNEMONIC_CVTPI2PD: op = SSE_CVTDQ2PD; break;
	case ZYDIS_MNEMONIC_CVTPD2PI: op = SSE_CVTPD2DQ; break;
	default: op = SSE_CVTTPD2DQ; break;
	}
	r = fpu_exec__avail(cpu, fpu_exec__vec_class(in));
	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &s, true);
	if (r)
		return r;
	if (op != SSE_CVTPD2DQ && op != SSE_CVTTPD2DQ)
		s.q[1] = 0;
	flags = sse_host__op(op, cpu->fpu.mxcsr, &t, &s);
	f = sse__commit(&cpu->fpu, flags, osxmmexcpt(cpu));
	if (f)
		return fpu_exec__fault(cpu, f);
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_CVTPI2PS:
		fpu_exec__xmm(cpu, &in->op[0])->q[0] = t.q[0];
		return SOFT_OK;
	case ZYDIS_MNEMONIC_CVTPI2PD:
		*fpu_exec__xmm(cpu, &in->op[0]) = t;
		return SOFT_OK;
	default:
		soft_fpu__mm_write(&cpu->fpu, in->op[0].reg, t.q[0]);
		return SOFT_OK;
	}
}

void soft_sse__register_fp(struct soft_vm *svm)
{
	static const uint16_t fp[] = {
		ZYDIS_MNEMONIC_ADDPS, ZYDIS_MNEMONIC_ADDSS, ZYDIS_MNEMONIC_ADDPD,
		ZYDIS_MNEMONIC_ADDSD, ZYDIS_MNEMONIC_SUBPS, ZYDIS_MNEMONIC_SUBSS,
		ZYDIS_MNEMONIC_SUBPD, ZYDIS_MNEMONIC_SUBSD, ZYDIS_MNEMONIC_MULPS,
		ZYDIS_MNEMONIC_MULSS, ZYDIS_MNEMONIC_MULPD, ZYDIS_MNEMONIC_MULSD,
		ZYDIS_MNEMONIC_DIVPS, ZYDIS_MNEMONIC_DIVSS, ZYDIS_MNEMONIC_DIVPD,
		ZYDIS_MNEMONIC_DIVSD, ZYDIS_MNEMONIC_MINPS, ZYDIS_MNEMONIC_MINSS,
		ZYDIS_MNEMONIC_MINPD, ZYDIS_MNEMONIC_MINSD, ZYDIS_MNEMONIC_MAXPS,
		ZYDIS_MNEMONIC_MAXSS, ZYDIS_MNEMONIC_MAXPD, ZYDIS_MNEMONIC_MAXSD,
		ZYDIS_MNEMONIC_SQRTPS, ZYDIS_MNEMONIC_SQRTSS, ZYDIS_MNEMONIC_SQRTPD,
		ZYDIS_MNEMONIC_SQRTSD, ZYDIS_MNEMONIC_RCPPS, ZYDIS_MNEMONIC_RCPSS,
		ZYDIS_MNEMONIC_RSQRTPS, ZYDIS_MNEMONIC_RSQRTSS,
		ZYDIS_MNEMONIC_CVTPS2PD, ZYDIS_MNEMONIC_CVTPD2PS,
		ZYDIS_MNEMONIC_CVTSS2SD, ZYDIS_MNEMONIC_CVTSD2SS,
		ZYDIS_MNEMONIC_CVTDQ2PS, ZYDIS_MNEMONIC_CVTPS2DQ,
		ZYDIS_MNEMONIC_CVTTPS2DQ, ZYDIS_MNEMONIC_CVTDQ2PD,
		ZYDIS_MNEMONIC_CVTPD2DQ, ZYDIS_MNEMONIC_CVTTPD2DQ,
	};
	static const uint16_t cvt_mmx[] = {
		ZYDIS_MNEMONIC_CVTPI2PS, ZYDIS_MNEMONIC_CVTPS2PI, ZYDIS_MNEMONIC_CVTTPS2PI,
		ZYDIS_MNEMONIC_CVTPI2PD, ZYDIS_MNEMONIC_CVTPD2PI, ZYDIS_MNEMONIC_CVTTPD2PI,
	};

	for (unsigned i = 0; i < sizeof(fp) / sizeof(fp[0]); i++)
		soft_exec__register(svm, fp[i], h_fp);
	for (unsigned i = 0; i < sizeof(cvt_mmx) / sizeof(cvt_mmx[0]); i++)
		soft_exec__register(svm, cvt_mmx[i], h_cvt_mmx);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMPPS, h_cmp);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMPSS, h_cmp);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMPPD, h_cmp);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMPSD, h_cmp);
	soft_exec__register(svm, ZYDIS_MNEMONIC_COMISS, h_comi);
	soft_exec__register(svm, ZYDIS_MNEMONIC_UCOMISS, h_comi);
	soft_exec__register(svm, ZYDIS_MNEMONIC_COMISD, h_comi);
	soft_exec__register(svm, ZYDIS_MNEMONIC_UCOMISD, h_comi);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CVTSI2SS, h_cvt_i2f);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CVTSI2SD, h_cvt_i2f);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CVTSS2SI, h_cvt_f2i);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CVTTSS2SI, h_cvt_f2i);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CVTSD2SI, h_cvt_f2i);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CVTTSD2SI, h_cvt_f2i);
}
