/* Near control transfer: Jcc JMP CALL RET LOOP/LOOPE/LOOPNE JCXZ/JECXZ/JRCXZ.
 * Far forms are routed to system's handlers by the decoder. */
#include "accel/soft/ops.h"

static int op_jcc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (cond_fast(cpu, in->opcode & 15))
		return soft_branch(cpu, cpu->next_rip + in->imm, in->opsize);
	return SOFT_OK;
}

static int target_of(struct soft_cpu *cpu, const struct soft_insn *in, uint64_t *t)
{
	if (in->op[0].kind == SOFT_OPK_IMM) {
		*t = cpu->next_rip + in->imm;
		return SOFT_OK;
	}
	return opnd_rd(cpu, in, 0, t);
}

static int op_jmp(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t t;
	int r = target_of(cpu, in, &t);

	if (r)
		return r;
	return soft_branch(cpu, t, in->opsize);
}

static int op_call(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t t, ret = cpu->next_rip;
	int r = target_of(cpu, in, &t);

	if (r || (r = soft_branch(cpu, t, in->opsize)))
		return r;
	r = soft_push(cpu, ret, in->opsize);
	if (r)
		cpu->next_rip = ret;
	return r;
}

static int op_ret(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t sp = cpu->gpr[SOFT_RSP], t;
	int r = soft_pop(cpu, &t, in->opsize);

	if (r)
		return r;
	r = soft_branch(cpu, t, in->opsize);
	if (r) {
		cpu->gpr[SOFT_RSP] = sp;
		return r;
	}
	if (in->nops && in->op[0].kind == SOFT_OPK_IMM) {
		uint64_t m = cpu->stack_bits == 64 ? ~0ull : cpu->stack_bits == 32 ? 0xffffffffull : 0xffff;
		uint64_t nsp = cpu->gpr[SOFT_RSP] + (in->imm & 0xffff);

		cpu->gpr[SOFT_RSP] = (cpu->gpr[SOFT_RSP] & ~m) | (nsp & m);
	}
	return SOFT_OK;
}

/* LOOP family: 0 LOOP, 1 LOOPE, 2 LOOPNE */
static int loop_common(struct soft_cpu *cpu, const struct soft_insn *in, unsigned kind)
{
	uint64_t m = soft_size_mask(in->addrsize);
	uint64_t c = (cpu->gpr[SOFT_RCX] - 1) & m;
	bool take;

	cpu->gpr[SOFT_RCX] = in->addrsize == 4 ? c : (cpu->gpr[SOFT_RCX] & ~m) | c;
	take = c != 0;
	if (take && kind == 1)
		take = soft_flags__cond(cpu, 4);
	else if (take && kind == 2)
		take = soft_flags__cond(cpu, 5);
	if (take)
		return soft_branch(cpu, cpu->next_rip + in->imm, in->opsize);
	return SOFT_OK;
}

static int op_loop(struct soft_cpu *cpu, const struct soft_insn *in) { return loop_common(cpu, in, 0); }
static int op_loope(struct soft_cpu *cpu, const struct soft_insn *in) { return loop_common(cpu, in, 1); }
static int op_loopne(struct soft_cpu *cpu, const struct soft_insn *in) { return loop_common(cpu, in, 2); }

static int op_jrcxz(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (!(cpu->gpr[SOFT_RCX] & soft_size_mask(in->addrsize)))
		return soft_branch(cpu, cpu->next_rip + in->imm, in->opsize);
	return SOFT_OK;
}

void soft_ops_branch__register(struct soft_vm *svm)
{
	static const ZydisMnemonic jcc[] = {
		ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JNB,
		ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JNBE,
		ZYDIS_MNEMONIC_JS, ZYDIS_MNEMONIC_JNS, ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JNP,
		ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JNL, ZYDIS_MNEMONIC_JLE, ZYDIS_MNEMONIC_JNLE,
	};

	for (unsigned i = 0; i < 16; i++)
		soft_exec__register(svm, jcc[i], op_jcc);
	soft_exec__register(svm, ZYDIS_MNEMONIC_JMP, op_jmp);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CALL, op_call);
	soft_exec__register(svm, ZYDIS_MNEMONIC_RET, op_ret);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LOOP, op_loop);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LOOPE, op_loope);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LOOPNE, op_loopne);
	soft_exec__register(svm, ZYDIS_MNEMONIC_JCXZ, op_jrcxz);
	soft_exec__register(svm, ZYDIS_MNEMONIC_JECXZ, op_jrcxz);
	soft_exec__register(svm, ZYDIS_MNEMONIC_JRCXZ, op_jrcxz);
}
