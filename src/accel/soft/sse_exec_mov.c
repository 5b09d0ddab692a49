/* MMX/SSE/SSE2 data movement: full and partial register moves, GPR
 * transfers, non-temporal stores (plain stores here: there is no cache to
 * bypass), masks (MOVMSK*, PMOVMSKB), PINSRW/PEXTRW, MASKMOVDQU/MASKMOVQ. */
#include <string.h>

#include "accel/soft/fpu_exec.h"

static bool is_reg(const struct soft_operand *op, unsigned rclass)
{
	return op->kind == SOFT_OPK_REG && op->rclass == rclass;
}

/* MOVAPS/MOVUPS/MOVDQA/... and the non-temporal stores: 16 bytes. */
static int h_mov128(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool align;
	union soft_xmm v;
	int r;

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOVUPS: case ZYDIS_MNEMONIC_MOVUPD: case ZYDIS_MNEMONIC_MOVDQU:
		align = false;
		break;
	default:
		align = true;
		break;
	}
	r = fpu_exec__avail(cpu, FPU_CLASS_SSE);
	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &v, align);
	if (!r)
		r = fpu_exec__write_vec(cpu, in, 0, &v, 16, align);
	return r;
}

/* MOVNTQ m64, mm. */
static int h_movntq(struct soft_cpu *cpu, const struct soft_insn *in)
{
	union soft_xmm v;
	int r = fpu_exec__avail(cpu, FPU_CLASS_MMX);

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &v, false);
	if (!r)
		r = fpu_exec__write_vec(cpu, in, 0, &v, 8, false);
	return r;
}

/* MOVNTI m32/m64, r: an integer instruction, no FPU/SSE checks. */
static int h_movnti(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v = soft_gpr_read(cpu, &in->op[1]);

	return fpu_exec__mem_write(cpu, in, &v, in->op[1].size == 8 ? 8 : 4);
}

/* MOVD/MOVQ in all their forms, MOVQ2DQ, MOVDQ2Q: the low 4 or 8 bytes of
 * the source; a register destination is zero-extended. */
static int h_movdq(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_operand *dst = &in->op[0], *src = &in->op[1];
	unsigned size = src->size == 4 ? 4 : 8;
	union soft_xmm v;
	int r = fpu_exec__avail(cpu, fpu_exec__vec_class(in));

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &v, false);
	if (r)
		return r;
	v.q[0] &= soft_size_mask(size);
	v.q[1] = 0;
	if (dst->kind == SOFT_OPK_MEM)
		return fpu_exec__write_vec(cpu, in, 0, &v, size, false);
	if (is_reg(dst, SOFT_RC_GPR)) {
		soft_gpr_write(cpu, dst, v.q[0]);
		return SOFT_OK;
	}
	return fpu_exec__write_vec(cpu, in, 0, &v, 16, false);
}

/* MOVSS/MOVSD (SSE; the decoder gives the string MOVSD its own
 * mnemonic): register-register merges the low lane, a load
 * zero-extends, a store writes the low lane. */
static int h_movs(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->mnemonic == ZYDIS_MNEMONIC_MOVSS ? 4 : 8;
	union soft_xmm v, *d;
	int r = fpu_exec__avail(cpu, FPU_CLASS_SSE);

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &v, false);
	if (r)
		return r;
	if (in->op[0].kind == SOFT_OPK_MEM)
		return fpu_exec__write_vec(cpu, in, 0, &v, size, false);
	d = fpu_exec__xmm(cpu, &in->op[0]);
	if (in->op[1].kind == SOFT_OPK_MEM) {
		*d = v;   /* already zero-extended */
		return SOFT_OK;
	}
	memcpy(d, &v, size);
	return SOFT_OK;
}

/* MOVLPS/MOVLPD/MOVHPS/MOVHPD (8-byte memory half), MOVHLPS/MOVLHPS. */
static int h_movhalf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool high = in->mnemonic == ZYDIS_MNEMONIC_MOVHPS ||
		    in->mnemonic == ZYDIS_MNEMONIC_MOVHPD;
	union soft_xmm v, *d;
	int r = fpu_exec__avail(cpu, FPU_CLASS_SSE);

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &v, false);
	if (r)
		return r;
	if (in->op[0].kind == SOFT_OPK_MEM) {
		if (high)
			v.q[0] = v.q[1];
		return fpu_exec__write_vec(cpu, in, 0, &v, 8, false);
	}
	d = fpu_exec__xmm(cpu, &in->op[0]);
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOVHLPS: d->q[0] = v.q[1]; break;
	case ZYDIS_MNEMONIC_MOVLHPS: d->q[1] = v.q[0]; break;
	default: d->q[high] = v.q[0]; break;
	}
	return SOFT_OK;
}

/* MOVMSKPS/MOVMSKPD/PMOVMSKB r32, xmm/mm. */
static int h_movmsk(struct soft_cpu *cpu, const struct soft_insn *in)
{
	union soft_xmm v;
	unsigned m;
	int r = fpu_exec__avail(cpu, fpu_exec__vec_class(in));

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &v, false);
	if (r)
		return r;
	if (!is_reg(&in->op[0], SOFT_RC_GPR))
		return soft_raise_ud(cpu);
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOVMSKPS: m = simd__movmskps(&v); break;
	case ZYDIS_MNEMONIC_MOVMSKPD: m = simd__movmskpd(&v); break;
	default: m = simd__pmovmskb(&v, is_reg(&in->op[1], SOFT_RC_MMX) ? 8 : 16); break;
	}
	soft_gpr_write(cpu, &in->op[0], m);
	return SOFT_OK;
}

static int h_pextrw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool mmx = is_reg(&in->op[1], SOFT_RC_MMX);
	union soft_xmm v;
	int r = fpu_exec__avail(cpu, fpu_exec__vec_class(in));

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &v, false);
	if (r)
		return r;
	if (!is_reg(&in->op[0], SOFT_RC_GPR))
		return soft_raise_ud(cpu);
	soft_gpr_write(cpu, &in->op[0], v.w[in->imm & (mmx ? 3 : 7)]);
	return SOFT_OK;
}

static int h_pinsrw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool mmx = is_reg(&in->op[0], SOFT_RC_MMX);
	union soft_xmm d, s;
	int r = fpu_exec__avail(cpu, fpu_exec__vec_class(in));

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &s, false);
	if (!r)
		r = fpu_exec__read_vec(cpu, in, 0, &d, false);
	if (r)
		return r;
	d.w[in->imm & (mmx ? 3 : 7)] = s.w[0];
	return fpu_exec__write_vec(cpu, in, 0, &d, 16, false);
}

/* MASKMOVDQU xmm, xmm / MASKMOVQ mm, mm: byte stores to DS:rDI. */
static int h_maskmov(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned len = in->mnemonic == ZYDIS_MNEMONIC_MASKMOVQ ? 8 : 16;
	uint64_t addr = cpu->gpr[SOFT_RDI] & soft_size_mask(in->addrsize);
	union soft_xmm v, m;
	int r = fpu_exec__avail(cpu, fpu_exec__vec_class(in));

	if (!r)
		r = fpu_exec__read_vec(cpu, in, 0, &v, false);
	if (!r)
		r = fpu_exec__read_vec(cpu, in, 1, &m, false);
	for (unsigned i = 0; !r && i < len; i++) {
		if (!(m.b[i] & 0x80))
			continue;
		r = soft_mem_write(cpu, in->mem.seg, (addr + i) & soft_size_mask(in->addrsize),
				   &v.b[i], 1);
	}
	return r;
}

void soft_sse__register_mov(struct soft_vm *svm)
{
	static const struct { uint16_t mnemonic; soft_handler_fn fn; } tab[] = {
		{ ZYDIS_MNEMONIC_MOVAPS, h_mov128 }, { ZYDIS_MNEMONIC_MOVAPD, h_mov128 },
		{ ZYDIS_MNEMONIC_MOVDQA, h_mov128 }, { ZYDIS_MNEMONIC_MOVUPS, h_mov128 },
		{ ZYDIS_MNEMONIC_MOVUPD, h_mov128 }, { ZYDIS_MNEMONIC_MOVDQU, h_mov128 },
		{ ZYDIS_MNEMONIC_MOVNTPS, h_mov128 }, { ZYDIS_MNEMONIC_MOVNTPD, h_mov128 },
		{ ZYDIS_MNEMONIC_MOVNTDQ, h_mov128 }, { ZYDIS_MNEMONIC_MOVNTQ, h_movntq },
		{ ZYDIS_MNEMONIC_MOVNTI, h_movnti },
		{ ZYDIS_MNEMONIC_MOVD, h_movdq }, { ZYDIS_MNEMONIC_MOVQ, h_movdq },
		{ ZYDIS_MNEMONIC_MOVQ2DQ, h_movdq }, { ZYDIS_MNEMONIC_MOVDQ2Q, h_movdq },
		{ ZYDIS_MNEMONIC_MOVSS, h_movs }, { ZYDIS_MNEMONIC_MOVSD, h_movs },
		{ ZYDIS_MNEMONIC_MOVLPS, h_movhalf }, { ZYDIS_MNEMONIC_MOVLPD, h_movhalf },
		{ ZYDIS_MNEMONIC_MOVHPS, h_movhalf }, { ZYDIS_MNEMONIC_MOVHPD, h_movhalf },
		{ ZYDIS_MNEMONIC_MOVHLPS, h_movhalf }, { ZYDIS_MNEMONIC_MOVLHPS, h_movhalf },
		{ ZYDIS_MNEMONIC_MOVMSKPS, h_movmsk }, { ZYDIS_MNEMONIC_MOVMSKPD, h_movmsk },
		{ ZYDIS_MNEMONIC_PMOVMSKB, h_movmsk },
		{ ZYDIS_MNEMONIC_PEXTRW, h_pextrw }, { ZYDIS_MNEMONIC_PINSRW, h_pinsrw },
		{ ZYDIS_MNEMONIC_MASKMOVDQU, h_maskmov }, { ZYDIS_MNEMONIC_MASKMOVQ, h_maskmov },
	};

	for (unsigned i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		soft_exec__register(svm, tab[i].mnemonic, tab[i].fn);
}
