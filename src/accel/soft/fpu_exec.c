/* Handler glue shared by the FPU/SSE handler files, the x87/SSE state
 * instructions (FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, FNINIT, FNSTCW/FLDCW,
 * FNSTSW, FNCLEX, FWAIT, FNSTENV/FLDENV, FNSAVE/FRSTOR, EMMS), fences and
 * prefetches, and soft_fpu__register_handlers(). */
#include <stdatomic.h>
#include <string.h>

#include "accel/soft/fpu_exec.h"
#include "util/log.h"

int fpu_exec__fault(struct soft_cpu *cpu, enum fpu_fault f)
{
	switch (f) {
	case FPU_OK:
		return SOFT_OK;
	case FPU_FAULT_NM:
		return soft_raise(cpu, SOFT_EXC_NM, 0);
	case FPU_FAULT_GP:
		return soft_raise_gp0(cpu);
	case FPU_FAULT_MF:
		return soft_raise(cpu, SOFT_EXC_MF, 0);
	case FPU_FAULT_XM:
		return soft_raise(cpu, SOFT_EXC_XM, 0);
	case FPU_FAULT_UD:
	case FPU_FAULT_SSE_UD:
		break;
	}
	return soft_raise_ud(cpu);
}

static uint64_t mem_linear(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t ea = soft_ea(cpu, in);
	unsigned seg = in->mem.seg;

	if (cpu->lm64 && seg != SOFT_FS && seg != SOFT_GS)
		return ea;
	return cpu->seg[seg < SOFT_NR_SEGS ? seg : SOFT_DS].base + ea;
}

int fpu_exec__check_align16(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (mem_linear(cpu, in) & 15)
		return soft_raise_gp0(cpu);
	return SOFT_OK;
}

int fpu_exec__read_vec(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n,
		       union soft_xmm *v, bool align)
{
	const struct soft_operand *op = &in->op[n];
	unsigned size;
	int r;

	memset(v, 0, sizeof(*v));
	switch (op->kind) {
	case SOFT_OPK_REG:
		switch (op->rclass) {
		case SOFT_RC_XMM:
			*v = cpu->fpu.xmm[op->reg & 15];
			return SOFT_OK;
		case SOFT_RC_MMX:
			/* Storing an MM register to memory: the x87 tag state
			 * must stay as it was if the store faults, so the MMX
			 * transition happens in write_vec after the store. */
			if (n != 0 && in->op[0].kind == SOFT_OPK_MEM)
				v->q[0] = cpu->fpu.st[op->reg & 7].mant;
			else
				v->q[0] = soft_fpu__mm_read(&cpu->fpu, op->reg);
			return SOFT_OK;
		case SOFT_RC_GPR:
			v->q[0] = soft_gpr_read(cpu, op);
			return SOFT_OK;
		default:
			return soft_raise_ud(cpu);
		}
	case SOFT_OPK_MEM:
		size = op->size;
		if (size == 0 || size > 16)
			size = 16;
		if (align && size == 16) {
			r = fpu_exec__check_align16(cpu, in);
			if (r)
				return r;
		}
		return fpu_exec__mem_read(cpu, in, v, size);
	case SOFT_OPK_IMM:
		v->q[0] = in->imm & 0xFF;
		return SOFT_OK;
	default:
		return soft_raise_ud(cpu);
	}
}

int fpu_exec__write_vec(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n,
			const union soft_xmm *v, unsigned size, bool align)
{
	const struct soft_operand *op = &in->op[n];
	int r;

	if (op->kind == SOFT_OPK_MEM) {
		if (align && size == 16) {
			r = fpu_exec__check_align16(cpu, in);
			if (r)
				return r;
		}
		r = fpu_exec__mem_write(cpu, in, v, size);
		if (r == SOFT_OK && in->op[1].kind == SOFT_OPK_REG && in->op[1].rclass == SOFT_RC_MMX)
			soft_fpu__mmx_enter(&cpu->fpu);
		return r;
	}
	if (op->kind != SOFT_OPK_REG)
		return soft_raise_ud(cpu);
	switch (op->rclass) {
	case SOFT_RC_XMM:
		cpu->fpu.xmm[op->reg & 15] = *v;
		return SOFT_OK;
	case SOFT_RC_MMX:
		soft_fpu__mm_write(&cpu->fpu, op->reg, v->q[0]);
		return SOFT_OK;
	case SOFT_RC_GPR:
		soft_gpr_write(cpu, op, v->q[0]);
		return SOFT_OK;
	default:
		return soft_raise_ud(cpu);
	}
}

void fpu_exec__set_zpc(struct soft_cpu *cpu, unsigned zpc)
{
	uint64_t fl = soft_flags__get(cpu) & ~SOFT_FL_ARITH;

	if (zpc & X87_ZPC_ZF)
		fl |= SOFT_FL_ZF;
	if (zpc & X87_ZPC_PF)
		fl |= SOFT_FL_PF;
	if (zpc & X87_ZPC_CF)
		fl |= SOFT_FL_CF;
	soft_flags__set(cpu, fl);
}

/* ---- FXSAVE / FXRSTOR ------------------------------------------------- */

static int h_fxsave(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool wide = in->mnemonic == ZYDIS_MNEMONIC_FXSAVE64;
	unsigned nr_xmm = cpu->lm64 ? 16 : 8;
	uint8_t img[512];
	int r;

	if (in->op[0].kind != SOFT_OPK_MEM)
		return soft_raise_ud(cpu);
	r = fpu_exec__avail(cpu, FPU_CLASS_FXSR);
	if (!r)
		r = fpu_exec__check_align16(cpu, in);
	if (r)
		return r;
	soft_fpu__fxsave(&cpu->fpu, img, wide, nr_xmm);
	return fpu_exec__mem_write(cpu, in, img, 160 + 16 * nr_xmm);
}

static int h_fxrstor(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool wide = in->mnemonic == ZYDIS_MNEMONIC_FXRSTOR64;
	unsigned nr_xmm = cpu->lm64 ? 16 : 8;
	uint8_t img[512];
	int r;

	if (in->op[0].kind != SOFT_OPK_MEM)
		return soft_raise_ud(cpu);
	r = fpu_exec__avail(cpu, FPU_CLASS_FXSR);
	if (!r)
		r = fpu_exec__check_align16(cpu, in);
	if (!r)
		r = fpu_exec__mem_read(cpu, in, img, sizeof(img));
	if (r)
		return r;
	return fpu_exec__fault(cpu, soft_fpu__fxrstor(&cpu->fpu, img, wide, nr_xmm));
}

/* ---- MXCSR ------------------------------------------------------------ */

static int h_ldmxcsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint32_t v;
	int r = fpu_exec__avail(cpu, FPU_CLASS_SSE);

	if (!r)
		r = fpu_exec__mem_read(cpu, in, &v, 4);
	if (r)
		return r;
	return fpu_exec__fault(cpu, soft_fpu__ldmxcsr(&cpu->fpu, v));
}

static int h_stmxcsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	int r = fpu_exec__avail(cpu, FPU_CLASS_SSE);

	if (r)
		return r;
	return fpu_exec__mem_write(cpu, in, &cpu->fpu.mxcsr, 4);
}

/* ---- x87 control ------------------------------------------------------ */

static int h_x87_control(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct soft_fpu *f = &cpu->fpu;
	bool waiting = in->mnemonic == ZYDIS_MNEMONIC_FLDCW ||
		       in->mnemonic == ZYDIS_MNEMONIC_FLDENV ||
		       in->mnemonic == ZYDIS_MNEMONIC_FRSTOR;
	bool op32 = in->opsize != 2;
	uint8_t buf[108];
	uint16_t v16;
	int r = fpu_exec__avail(cpu, waiting ? FPU_CLASS_X87 : FPU_CLASS_X87_NOWAIT);

	if (r)
		return r;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_FNINIT:
		soft_fpu__fninit(f);
		return SOFT_OK;
	case ZYDIS_MNEMONIC_FNCLEX:
		x87__fnclex(f);
		return SOFT_OK;
	case ZYDIS_MNEMONIC_FNSTCW:
		return fpu_exec__mem_write(cpu, in, &f->fcw, 2);
	case ZYDIS_MNEMONIC_FNSTSW:
		if (in->op[0].kind == SOFT_OPK_REG) {
			soft_gpr_set(cpu, SOFT_RAX, 2, f->fsw);
			return SOFT_OK;
		}
		return fpu_exec__mem_write(cpu, in, &f->fsw, 2);
	case ZYDIS_MNEMONIC_FLDCW:
		r = fpu_exec__mem_read(cpu, in, &v16, 2);
		if (!r)
			x87__fldcw(f, v16);
		return r;
	case ZYDIS_MNEMONIC_FNSTENV: {
		struct soft_fpu tmp = *f;

		soft_fpu__fnstenv(&tmp, buf, op32);
		r = fpu_exec__mem_write(cpu, in, buf, soft_fpu__env_size(op32));
		if (!r)
			*f = tmp;
		return r;
	}
	case ZYDIS_MNEMONIC_FLDENV:
		r = fpu_exec__mem_read(cpu, in, buf, soft_fpu__env_size(op32));
		if (!r)
			soft_fpu__fldenv(f, buf, op32);
		return r;
	case ZYDIS_MNEMONIC_FNSAVE: {
		struct soft_fpu tmp = *f;

		soft_fpu__fnsave(&tmp, buf, op32);
		r = fpu_exec__mem_write(cpu, in, buf, soft_fpu__env_size(op32) + 80);
		if (!r)
			*f = tmp;
		return r;
	}
	case ZYDIS_MNEMONIC_FRSTOR:
		r = fpu_exec__mem_read(cpu, in, buf, soft_fpu__env_size(op32) + 80);
		if (!r)
			soft_fpu__frstor(f, buf, op32);
		return r;
	default:
		/* FNOP-like 8087/287 leftovers (FENI, FDISI, FSETPM). */
		return SOFT_OK;
	}
}

static int h_fwait(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return fpu_exec__avail(cpu, FPU_CLASS_WAIT);
}

static int h_emms(struct soft_cpu *cpu, const struct soft_insn *in)
{
	int r = fpu_exec__avail(cpu, FPU_CLASS_MMX);

	if (!r)
		x87__emms(&cpu->fpu);
	return r;
}

/* ---- fences, prefetches, cache control -------------------------------- */

static int h_fence(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* Guest memory is host memory: host fences order it.  Only MFENCE
	 * needs one (x86 already orders everything but store->load). */
	if (in->mnemonic == ZYDIS_MNEMONIC_MFENCE)
		atomic_thread_fence(memory_order_seq_cst);
	return SOFT_OK;
}

/* Prefetches never fault.  (CLFLUSH is not one of them: it faults like a
 * byte read, the core's op_clflush in ops_misc.c.) */
static int h_hint(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return SOFT_OK;
}

void soft_fpu__register_state(struct soft_vm *svm)
{
	static const uint16_t control[] = {
		ZYDIS_MNEMONIC_FNINIT, ZYDIS_MNEMONIC_FNCLEX, ZYDIS_MNEMONIC_FNSTCW,
		ZYDIS_MNEMONIC_FNSTSW, ZYDIS_MNEMONIC_FLDCW, ZYDIS_MNEMONIC_FNSTENV,
		ZYDIS_MNEMONIC_FLDENV, ZYDIS_MNEMONIC_FNSAVE, ZYDIS_MNEMONIC_FRSTOR,
		ZYDIS_MNEMONIC_FENI8087_NOP, ZYDIS_MNEMONIC_FDISI8087_NOP,
		ZYDIS_MNEMONIC_FSETPM287_NOP,
	};
	static const uint16_t hints[] = {
		ZYDIS_MNEMONIC_PREFETCHNTA, ZYDIS_MNEMONIC_PREFETCHT0,
		ZYDIS_MNEMONIC_PREFETCHT1, ZYDIS_MNEMONIC_PREFETCHT2,
		ZYDIS_MNEMONIC_PREFETCH, ZYDIS_MNEMONIC_PREFETCHW,
	};

	for (unsigned i = 0; i < sizeof(control) / sizeof(control[0]); i++)
		soft_exec__register(svm, control[i], h_x87_control);
	for (unsigned i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		soft_exec__register(svm, hints[i], h_hint);
	soft_exec__register(svm, ZYDIS_MNEMONIC_FXSAVE, h_fxsave);
	soft_exec__register(svm, ZYDIS_MNEMONIC_FXSAVE64, h_fxsave);
	soft_exec__register(svm, ZYDIS_MNEMONIC_FXRSTOR, h_fxrstor);
	soft_exec__register(svm, ZYDIS_MNEMONIC_FXRSTOR64, h_fxrstor);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LDMXCSR, h_ldmxcsr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_STMXCSR, h_stmxcsr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_FWAIT, h_fwait);
	soft_exec__register(svm, ZYDIS_MNEMONIC_EMMS, h_emms);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SFENCE, h_fence);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LFENCE, h_fence);
	soft_exec__register(svm, ZYDIS_MNEMONIC_MFENCE, h_fence);
}

void soft_fpu__register_handlers(struct soft_vm *svm)
{
	soft_fpu__register_state(svm);
	soft_fpu__register_x87(svm);
	soft_sse__register_int(svm);
	soft_sse__register_mov(svm);
	soft_sse__register_fp(svm);
}
