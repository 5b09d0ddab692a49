/* Private to the FPU/SSE handler files (fpu_exec*.c, sse_exec*.c): glue
 * between the decoded-instruction record of cpu.h and the semantics of
 * fpu_ops.h. */
#ifndef VIREO_ACCEL_SOFT_FPU_EXEC_H
#define VIREO_ACCEL_SOFT_FPU_EXEC_H

#include "accel/soft/cpu.h"
#include "accel/soft/fpu_ops.h"

/* Turn an enum fpu_fault into the guest exception (SOFT_OK if none). */
int fpu_exec__fault(struct soft_cpu *cpu, enum fpu_fault f);

/* CR0/CR4/pending-#MF checks of the instruction class.  The common case
 * (SSE enabled, no TS, no pending x87 error) is decided inline. */
static inline int fpu_exec__avail(struct soft_cpu *cpu, enum fpu_class cls)
{
	enum fpu_fault f;

	if (__builtin_expect(!(cpu->cr0 & (X86_CR0_EM | X86_CR0_TS)) &&
			     (cpu->cr4 & X86_CR4_OSFXSR) && !(cpu->fpu.fsw & FSW_ES), 1))
		return SOFT_OK;
	f = soft_fpu__check(&cpu->fpu, cls, cpu->cr0, cpu->cr4);
	return f == FPU_OK ? SOFT_OK : fpu_exec__fault(cpu, f);
}

/* Class of an MMX-or-SSE instruction from its operands: MM registers only
 * -> MMX; MM and XMM (CVTPI2PS, MOVQ2DQ...) -> SSE with the #MF check. */
static inline enum fpu_class fpu_exec__vec_class(const struct soft_insn *in)
{
	bool mm = false, xmm = false;

	for (unsigned i = 0; i < in->nops; i++) {
		if (in->op[i].kind != SOFT_OPK_REG)
			continue;
		mm |= in->op[i].rclass == SOFT_RC_MMX;
		xmm |= in->op[i].rclass == SOFT_RC_XMM;
	}
	if (!mm)
		return FPU_CLASS_SSE;
	return xmm ? FPU_CLASS_SSE_MMX : FPU_CLASS_MMX;
}

/* Linear address of the memory operand, #GP(0) unless 16-byte aligned
 * (legacy SSE m128 operands other than the MOVU* family). */
int fpu_exec__check_align16(struct soft_cpu *cpu, const struct soft_insn *in);

/* Read operand n as a vector: XMM, MM (entering MMX mode), or memory of
 * the operand's size, zero-extended; `align` requests the m128 check. */
int fpu_exec__read_vec(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n,
		       union soft_xmm *v, bool align);
/* Write operand n: XMM (whole register), MM (low 8 bytes) or `size` bytes
 * of memory. */
int fpu_exec__write_vec(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n,
			const union soft_xmm *v, unsigned size, bool align);

static inline union soft_xmm *fpu_exec__xmm(struct soft_cpu *cpu, const struct soft_operand *op)
{
	return &cpu->fpu.xmm[op->reg & 15];
}

static inline int fpu_exec__mem_read(struct soft_cpu *cpu, const struct soft_insn *in,
				     void *buf, unsigned len)
{
	return soft_mem_read(cpu, in->mem.seg, soft_ea(cpu, in), buf, len);
}

static inline int fpu_exec__mem_write(struct soft_cpu *cpu, const struct soft_insn *in,
				      const void *buf, unsigned len)
{
	return soft_mem_write(cpu, in->mem.seg, soft_ea(cpu, in), buf, len);
}

/* COMISS/FCOMI: ZF/PF/CF from zpc, OF/SF/AF cleared. */
void fpu_exec__set_zpc(struct soft_cpu *cpu, unsigned zpc);

/* Registration, one per handler file. */
void soft_fpu__register_x87(struct soft_vm *svm);
void soft_fpu__register_state(struct soft_vm *svm);
void soft_sse__register_int(struct soft_vm *svm);
void soft_sse__register_mov(struct soft_vm *svm);
void soft_sse__register_fp(struct soft_vm *svm);

#endif
