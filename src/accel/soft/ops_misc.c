/* Flag instructions (CLC STC CMC CLD STD LAHF SAHF PUSHF POPF), XLAT, the
 * NOP family (NOP PAUSE ENDBR PREFETCH* fences CLFLUSH) and UD0/1/2. */
#include "accel/soft/ops.h"

static int op_nop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return SOFT_OK;
}

static int op_ud(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return soft_raise_ud(cpu);
}

static int op_fence(struct soft_cpu *cpu, const struct soft_insn *in)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return SOFT_OK;
}

static int op_clflush(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint8_t b;

	/* faults like a byte read; the cache itself is the host's business */
	return soft_mem_read(cpu, in->mem.seg, soft_ea(cpu, in), &b, 1);
}

static int flag_op(struct soft_cpu *cpu, uint64_t clear, uint64_t set, uint64_t toggle)
{
	uint64_t f = soft_flags__get(cpu);

	cpu->rflags = ((f & ~clear) | set) ^ toggle;
	return SOFT_OK;
}

static int op_clc(struct soft_cpu *cpu, const struct soft_insn *in) { return flag_op(cpu, SOFT_FL_CF, 0, 0); }
static int op_stc(struct soft_cpu *cpu, const struct soft_insn *in) { return flag_op(cpu, 0, SOFT_FL_CF, 0); }
static int op_cmc(struct soft_cpu *cpu, const struct soft_insn *in) { return flag_op(cpu, 0, 0, SOFT_FL_CF); }

static int op_cld(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->rflags &= ~SOFT_FL_DF;   /* DF is never lazy */
	return SOFT_OK;
}

static int op_std(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->rflags |= SOFT_FL_DF;
	return SOFT_OK;
}

static int op_lahf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t f = soft_flags__get(cpu) & 0xff;

	cpu->gpr[SOFT_RAX] = (cpu->gpr[SOFT_RAX] & ~0xff00ull) | (f << 8);
	return SOFT_OK;
}

static int op_sahf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t m = SOFT_FL_CF | SOFT_FL_PF | SOFT_FL_AF | SOFT_FL_ZF | SOFT_FL_SF;
	uint64_t ah = (cpu->gpr[SOFT_RAX] >> 8) & 0xff;

	return flag_op(cpu, m, ah & m, 0);
}

static int op_xlat(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t off = (cpu->gpr[SOFT_RBX] + (cpu->gpr[SOFT_RAX] & 0xff)) & soft_size_mask(in->addrsize);
	uint8_t b;
	int r = soft_mem_read(cpu, in->mem.seg, off, &b, 1);

	if (r)
		return r;
	cpu->gpr[SOFT_RAX] = (cpu->gpr[SOFT_RAX] & ~0xffull) | b;
	return SOFT_OK;
}

static int op_pushf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t f = soft_flags__get(cpu) & ~(SOFT_FL_VM | SOFT_FL_RF);

	if ((cpu->rflags & SOFT_FL_VM) && ((cpu->rflags >> 12) & 3) != 3)
		return soft_raise_gp0(cpu);
	return soft_push(cpu, f, in->opsize);
}

static int op_popf(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v, old = soft_flags__get(cpu), keep, nf;
	unsigned iopl = (old >> 12) & 3;
	uint64_t sp = cpu->gpr[SOFT_RSP];
	uint64_t chg = SOFT_FL_ARITH | SOFT_FL_TF | SOFT_FL_DF | SOFT_FL_NT | SOFT_FL_AC | SOFT_FL_ID;
	int r;

	if ((old & SOFT_FL_VM) && iopl != 3)
		return soft_raise_gp0(cpu);
	if ((r = soft_pop(cpu, &v, in->opsize)))
		return r;
	if (cpu->svm->hooks.popf) {
		r = cpu->svm->hooks.popf(cpu, v, in->opsize);
		if (r == SOFT_EXC)
			cpu->gpr[SOFT_RSP] = sp;
		return r;
	}
	if (cpu->cpl == 0)
		chg |= SOFT_FL_IOPL;
	if (cpu->cpl <= iopl)
		chg |= SOFT_FL_IF;
	if (in->opsize == 2)
		chg &= 0xffff;
	keep = old & ~chg;
	nf = keep | (v & chg);
	soft_flags__set(cpu, nf);
	if ((nf & SOFT_FL_IF) && !(old & SOFT_FL_IF))
		soft_cpu__kick(cpu);   /* pending interrupts may now be taken */
	return SOFT_OK;
}

void soft_ops_misc__register(struct soft_vm *svm)
{
	static const ZydisMnemonic nops[] = {
		ZYDIS_MNEMONIC_NOP, ZYDIS_MNEMONIC_PAUSE, ZYDIS_MNEMONIC_ENDBR32, ZYDIS_MNEMONIC_ENDBR64,
		ZYDIS_MNEMONIC_PREFETCH, ZYDIS_MNEMONIC_PREFETCHNTA, ZYDIS_MNEMONIC_PREFETCHT0,
		ZYDIS_MNEMONIC_PREFETCHT1, ZYDIS_MNEMONIC_PREFETCHT2, ZYDIS_MNEMONIC_PREFETCHW,
	};

	for (unsigned i = 0; i < sizeof(nops) / sizeof(nops[0]); i++)
		soft_exec__register(svm, nops[i], op_nop);
	soft_exec__register(svm, ZYDIS_MNEMONIC_UD0, op_ud);
	soft_exec__register(svm, ZYDIS_MNEMONIC_UD1, op_ud);
	soft_exec__register(svm, ZYDIS_MNEMONIC_UD2, op_ud);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LFENCE, op_fence);
	soft_exec__register(svm, ZYDIS_MNEMONIC_MFENCE, op_fence);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SFENCE, op_fence);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CLFLUSH, op_clflush);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CLFLUSHOPT, op_clflush);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CLC, op_clc);
	soft_exec__register(svm, ZYDIS_MNEMONIC_STC, op_stc);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMC, op_cmc);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CLD, op_cld);
	soft_exec__register(svm, ZYDIS_MNEMONIC_STD, op_std);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LAHF, op_lahf);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SAHF, op_sahf);
	soft_exec__register(svm, ZYDIS_MNEMONIC_XLAT, op_xlat);
	soft_exec__register(svm, ZYDIS_MNEMONIC_PUSHF, op_pushf);
	soft_exec__register(svm, ZYDIS_MNEMONIC_PUSHFD, op_pushf);
	soft_exec__register(svm, ZYDIS_MNEMONIC_PUSHFQ, op_pushf);
	soft_exec__register(svm, ZYDIS_MNEMONIC_POPF, op_popf);
	soft_exec__register(svm, ZYDIS_MNEMONIC_POPFD, op_popf);
	soft_exec__register(svm, ZYDIS_MNEMONIC_POPFQ, op_popf);
}
