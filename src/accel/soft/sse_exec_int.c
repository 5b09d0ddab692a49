/* MMX/SSE2 integer and bitwise handlers: arithmetic, compares, logic
 * (P-prefixed and the PS/PD bitwise forms), unpacks/packs, shifts and shuffles.
 * One handler per operand shape; the mnemonic selects the operation. */
#include "accel/soft/fpu_exec.h"

static bool iop_of(unsigned mnemonic, enum simd_iop *op)
{
	switch (mnemonic) {
#define M(z, o) case ZYDIS_MNEMONIC_##z: *op = SIMD_##o; return true
	M(PADDB, PADDB); M(PADDW, PADDW); M(PADDD, PADDD); M(PADDQ, PADDQ);
	M(PSUBB, PSUBB); M(PSUBW, PSUBW); M(PSUBD, PSUBD); M(PSUBQ, PSUBQ);
	M(PADDSB, PADDSB); M(PADDSW, PADDSW); M(PADDUSB, PADDUSB); M(PADDUSW, PADDUSW);
	M(PSUBSB, PSUBSB); M(PSUBSW, PSUBSW); M(PSUBUSB, PSUBUSB); M(PSUBUSW, PSUBUSW);
	M(PCMPEQB, PCMPEQB); M(PCMPEQW, PCMPEQW); M(PCMPEQD, PCMPEQD);
	M(PCMPGTB, PCMPGTB); M(PCMPGTW, PCMPGTW); M(PCMPGTD, PCMPGTD);
	M(PMINUB, PMINUB); M(PMAXUB, PMAXUB); M(PMINSW, PMINSW); M(PMAXSW, PMAXSW);
	M(PAVGB, PAVGB); M(PAVGW, PAVGW); M(PSADBW, PSADBW);
	M(PMULLW, PMULLW); M(PMULHW, PMULHW); M(PMULHUW, PMULHUW);
	M(PMULUDQ, PMULUDQ); M(PMADDWD, PMADDWD);
	M(PAND, PAND); M(PANDN, PANDN); M(POR, POR); M(PXOR, PXOR);
	M(ANDPS, PAND); M(ANDPD, PAND); M(ANDNPS, PANDN); M(ANDNPD, PANDN);
	M(ORPS, POR); M(ORPD, POR); M(XORPS, PXOR); M(XORPD, PXOR);
	M(PUNPCKLBW, PUNPCKLBW); M(PUNPCKLWD, PUNPCKLWD); M(PUNPCKLDQ, PUNPCKLDQ);
	M(PUNPCKLQDQ, PUNPCKLQDQ); M(PUNPCKHBW, PUNPCKHBW); M(PUNPCKHWD, PUNPCKHWD);
	M(PUNPCKHDQ, PUNPCKHDQ); M(PUNPCKHQDQ, PUNPCKHQDQ);
	M(UNPCKLPS, PUNPCKLDQ); M(UNPCKHPS, PUNPCKHDQ);
	M(UNPCKLPD, PUNPCKLQDQ); M(UNPCKHPD, PUNPCKHQDQ);
	M(PACKSSWB, PACKSSWB); M(PACKSSDW, PACKSSDW); M(PACKUSWB, PACKUSWB);
	M(PSLLW, PSLLW); M(PSLLD, PSLLD); M(PSLLQ, PSLLQ);
	M(PSRLW, PSRLW); M(PSRLD, PSRLD); M(PSRLQ, PSRLQ);
	M(PSRAW, PSRAW); M(PSRAD, PSRAD);
#undef M
	default:
		return false;
	}
}

/* "op dst, src" with src = register, memory (m128 aligned / m64 / m32 for
 * the MMX unpacks) or, for the shifts, imm8. */
static int h_iop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool mmx = in->op[0].kind == SOFT_OPK_REG && in->op[0].rclass == SOFT_RC_MMX;
	union soft_xmm d, s;
	enum simd_iop op;
	int r;

	if (!iop_of(in->mnemonic, &op) || in->nops < 2)
		return soft_raise_ud(cpu);
	/* hot path: XMM, XMM (glibc's string functions) */
	if (in->op[0].rclass == SOFT_RC_XMM && in->op[1].kind == SOFT_OPK_REG &&
	    in->op[1].rclass == SOFT_RC_XMM && in->op[0].kind == SOFT_OPK_REG) {
		r = fpu_exec__avail(cpu, FPU_CLASS_SSE);
		if (r)
			return r;
		s = *fpu_exec__xmm(cpu, &in->op[1]);
		simd__iop(op, fpu_exec__xmm(cpu, &in->op[0]), &s, 16);
		return SOFT_OK;
	}
	r = fpu_exec__avail(cpu, fpu_exec__vec_class(in));
	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &s, true);
	if (!r)
		r = fpu_exec__read_vec(cpu, in, 0, &d, false);
	if (r)
		return r;
	simd__iop(op, &d, &s, mmx ? 8 : 16);
	return fpu_exec__write_vec(cpu, in, 0, &d, 16, false);
}

/* PSLLDQ/PSRLDQ xmm, imm8. */
static int h_byteshift(struct soft_cpu *cpu, const struct soft_insn *in)
{
	union soft_xmm *d;
	int r = fpu_exec__avail(cpu, FPU_CLASS_SSE);

	if (r)
		return r;
	d = fpu_exec__xmm(cpu, &in->op[0]);
	if (in->mnemonic == ZYDIS_MNEMONIC_PSLLDQ)
		simd__pslldq(d, in->imm & 0xFF);
	else
		simd__psrldq(d, in->imm & 0xFF);
	return SOFT_OK;
}

/* PSHUFD/PSHUFLW/PSHUFHW/PSHUFW dst, src, imm8; SHUFPS/SHUFPD. */
static int h_shuffle(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned imm = in->imm & 0xFF;
	union soft_xmm d, s;
	int r = fpu_exec__avail(cpu, fpu_exec__vec_class(in));

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &s, true);
	if (!r)
		r = fpu_exec__read_vec(cpu, in, 0, &d, false);
	if (r)
		return r;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_PSHUFD: simd__pshufd(&d, &s, imm); break;
	case ZYDIS_MNEMONIC_PSHUFHW: simd__pshufhw(&d, &s, imm); break;
	case ZYDIS_MNEMONIC_SHUFPS: simd__shufps(&d, &s, imm); break;
	case ZYDIS_MNEMONIC_SHUFPD: simd__shufpd(&d, &s, imm); break;
	default: simd__pshuflw(&d, &s, imm); break;   /* PSHUFLW, PSHUFW */
	}
	return fpu_exec__write_vec(cpu, in, 0, &d, 16, false);
}

void soft_sse__register_int(struct soft_vm *svm)
{
	static const uint16_t iops[] = {
		ZYDIS_MNEMONIC_PADDB, ZYDIS_MNEMONIC_PADDW, ZYDIS_MNEMONIC_PADDD,
		ZYDIS_MNEMONIC_PADDQ, ZYDIS_MNEMONIC_PSUBB, ZYDIS_MNEMONIC_PSUBW,
		ZYDIS_MNEMONIC_PSUBD, ZYDIS_MNEMONIC_PSUBQ, ZYDIS_MNEMONIC_PADDSB,
		ZYDIS_MNEMONIC_PADDSW, ZYDIS_MNEMONIC_PADDUSB, ZYDIS_MNEMONIC_PADDUSW,
		ZYDIS_MNEMONIC_PSUBSB, ZYDIS_MNEMONIC_PSUBSW, ZYDIS_MNEMONIC_PSUBUSB,
		ZYDIS_MNEMONIC_PSUBUSW, ZYDIS_MNEMONIC_PCMPEQB, ZYDIS_MNEMONIC_PCMPEQW,
		ZYDIS_MNEMONIC_PCMPEQD, ZYDIS_MNEMONIC_PCMPGTB, ZYDIS_MNEMONIC_PCMPGTW,
		ZYDIS_MNEMONIC_PCMPGTD, ZYDIS_MNEMONIC_PMINUB, ZYDIS_MNEMONIC_PMAXUB,
		ZYDIS_MNEMONIC_PMINSW, ZYDIS_MNEMONIC_PMAXSW, ZYDIS_MNEMONIC_PAVGB,
		ZYDIS_MNEMONIC_PAVGW, ZYDIS_MNEMONIC_PSADBW, ZYDIS_MNEMONIC_PMULLW,
		ZYDIS_MNEMONIC_PMULHW, ZYDIS_MNEMONIC_PMULHUW, ZYDIS_MNEMONIC_PMULUDQ,
		ZYDIS_MNEMONIC_PMADDWD, ZYDIS_MNEMONIC_PAND, ZYDIS_MNEMONIC_PANDN,
		ZYDIS_MNEMONIC_POR, ZYDIS_MNEMONIC_PXOR, ZYDIS_MNEMONIC_ANDPS,
		ZYDIS_MNEMONIC_ANDPD, ZYDIS_MNEMONIC_ANDNPS, ZYDIS_MNEMONIC_ANDNPD,
		ZYDIS_MNEMONIC_ORPS, ZYDIS_MNEMONIC_ORPD, ZYDIS_MNEMONIC_XORPS,
		ZYDIS_MNEMONIC_XORPD, ZYDIS_MNEMONIC_PUNPCKLBW, ZYDIS_MNEMONIC_PUNPCKLWD,
		ZYDIS_MNEMONIC_PUNPCKLDQ, ZYDIS_MNEMONIC_PUNPCKLQDQ,
		ZYDIS_MNEMONIC_PUNPCKHBW, ZYDIS_MNEMONIC_PUNPCKHWD,
		ZYDIS_MNEMONIC_PUNPCKHDQ, ZYDIS_MNEMONIC_PUNPCKHQDQ,
		ZYDIS_MNEMONIC_UNPCKLPS, ZYDIS_MNEMONIC_UNPCKHPS,
		ZYDIS_MNEMONIC_UNPCKLPD, ZYDIS_MNEMONIC_UNPCKHPD,
		ZYDIS_MNEMONIC_PACKSSWB, ZYDIS_MNEMONIC_PACKSSDW, ZYDIS_MNEMONIC_PACKUSWB,
		ZYDIS_MNEMONIC_PSLLW, ZYDIS_MNEMONIC_PSLLD, ZYDIS_MNEMONIC_PSLLQ,
		ZYDIS_MNEMONIC_PSRLW, ZYDIS_MNEMONIC_PSRLD, ZYDIS_MNEMONIC_PSRLQ,
		ZYDIS_MNEMONIC_PSRAW, ZYDIS_MNEMONIC_PSRAD,
	};
	static const uint16_t shuffles[] = {
		ZYDIS_MNEMONIC_PSHUFD, ZYDIS_MNEMONIC_PSHUFLW, ZYDIS_MNEMONIC_PSHUFHW,
		ZYDIS_MNEMONIC_PSHUFW, ZYDIS_MNEMONIC_SHUFPS, ZYDIS_MNEMONIC_SHUFPD,
	};

	for (unsigned i = 0; i < sizeof(iops) / sizeof(iops[0]); i++)
		soft_exec__register(svm, iops[i], h_iop);
	for (unsigned i = 0; i < sizeof(shuffles) / sizeof(shuffles[0]); i++)
		soft_exec__register(svm, shuffles[i], h_shuffle);
	soft_exec__register(svm, ZYDIS_MNEMONIC_PSLLDQ, h_byteshift);
	soft_exec__register(svm, ZYDIS_MNEMONIC_PSRLDQ, h_byteshift);
}
