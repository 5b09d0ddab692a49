/* Data movement: MOV MOVZX MOVSX MOVSXD LEA XCHG CMPXCHG CMPXCHG8B XADD
 * CMOVcc SETcc CBW/CWDE/CDQE CWD/CDQ/CQO PUSH POP ENTER LEAVE, MOV from a
 * segment register, PUSH Sreg, MOVBE. */
#include "accel/soft/ops.h"

static int op_mov(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r;

	if (in->op[1].kind == SOFT_OPK_REG)
		v = soft_gpr_read(cpu, &in->op[1]);
	else if (in->op[1].kind == SOFT_OPK_IMM)
		v = in->imm;
	else if ((r = opnd_rd(cpu, in, 1, &v)))
		return r;
	if (likely(in->op[0].kind == SOFT_OPK_REG)) {
		soft_gpr_write(cpu, &in->op[0], v);
		return SOFT_OK;
	}
	return opnd_wr(cpu, in, 0, v);
}

static int op_movzx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r = opnd_rd(cpu, in, 1, &v);

	if (r)
		return r;
	soft_gpr_write(cpu, &in->op[0], v & soft_size_mask(in->op[1].size));
	return SOFT_OK;
}

static int op_movsx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r = opnd_rd(cpu, in, 1, &v);

	if (r)
		return r;
	soft_gpr_write(cpu, &in->op[0], (uint64_t)sign_extend(v, in->op[1].size));
	return SOFT_OK;
}

static int op_lea(struct soft_cpu *cpu, const struct soft_insn *in)
{
	soft_gpr_write(cpu, &in->op[0], soft_ea(cpu, in));
	return SOFT_OK;
}

static int op_xchg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_operand *a = &in->op[0], *b = &in->op[1];
	unsigned size = a->size;
	uint64_t va, vb;
	int r;

	if (a->kind == SOFT_OPK_REG && b->kind == SOFT_OPK_REG) {
		va = soft_gpr_read(cpu, a);
		vb = soft_gpr_read(cpu, b);
		soft_gpr_write(cpu, a, vb);
		soft_gpr_write(cpu, b, va);
		return SOFT_OK;
	}
	if (a->kind == SOFT_OPK_REG) {
		const struct soft_operand *t = a;
		a = b;
		b = t;
	}
	/* memory operand: implicitly locked */
	vb = soft_gpr_read(cpu, b);
	{
		void *p = soft_mem_rmw_ptr(cpu, in->mem.seg, soft_ea(cpu, in), size, &r);

		if (r)
			return r;
		if (p) {
			switch (size) {
			case 1: va = __atomic_exchange_n((uint8_t *)p, (uint8_t)vb, __ATOMIC_SEQ_CST); break;
			case 2: va = __atomic_exchange_n((uint16_t *)p, (uint16_t)vb, __ATOMIC_SEQ_CST); break;
			case 4: va = __atomic_exchange_n((uint32_t *)p, (uint32_t)vb, __ATOMIC_SEQ_CST); break;
			default: va = __atomic_exchange_n((uint64_t *)p, vb, __ATOMIC_SEQ_CST); break;
			}
			soft_gpr_write(cpu, b, va);
			return SOFT_OK;
		}
	}
	va = 0;
	if ((r = soft_mem_read(cpu, in->mem.seg, soft_ea(cpu, in), &va, size)) ||
	    (r = soft_mem_write(cpu, in->mem.seg, soft_ea(cpu, in), &vb, size)))
		return r;
	soft_gpr_write(cpu, b, va);
	return SOFT_OK;
}

static int op_cmpxchg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0];
	unsigned size = d->size;
	uint64_t m = soft_size_mask(size);
	uint64_t acc = cpu->gpr[SOFT_RAX] & m, src = soft_gpr_read(cpu, &in->op[1]), cur;
	int r;

	if (d->kind == SOFT_OPK_REG) {
		cur = soft_gpr_read(cpu, d);
		if (cur == acc)
			soft_gpr_write(cpu, d, src);
		else
			soft_gpr_set(cpu, SOFT_RAX, size, cur);
		set_cc(cpu, SOFT_CC_SUB, size, acc, cur, acc - cur);
		return SOFT_OK;
	}
	{
		void *p = soft_mem_rmw_ptr(cpu, in->mem.seg, soft_ea(cpu, in), size, &r);

		if (r)
			return r;
		if (p) {
			bool ok;

			switch (size) {
			case 1: { uint8_t e = (uint8_t)acc; ok = __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)src, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); cur = e; break; }
			case 2: { uint16_t e = (uint16_t)acc; ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)src, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); cur = e; break; }
			case 4: { uint32_t e = (uint32_t)acc; ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)src, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); cur = e; break; }
			default: { uint64_t e = acc; ok = __atomic_compare_exchange_n((uint64_t *)p, &e, src, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); cur = e; break; }
			}
			if (!ok)
				soft_gpr_set(cpu, SOFT_RAX, size, cur);
			set_cc(cpu, SOFT_CC_SUB, size, acc, cur, acc - cur);
			return SOFT_OK;
		}
	}
	cur = 0;
	if ((r = soft_mem_read(cpu, in->mem.seg, soft_ea(cpu, in), &cur, size)))
		return r;
	/* the processor always writes the destination */
	if ((r = soft_mem_write(cpu, in->mem.seg, soft_ea(cpu, in), cur == acc ? &src : &cur, size)))
		return r;
	if (cur != acc)
		soft_gpr_set(cpu, SOFT_RAX, size, cur);
	set_cc(cpu, SOFT_CC_SUB, size, acc, cur, acc - cur);
	return SOFT_OK;
}

static int op_cmpxchg8b(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t exp, nv, cur;
	bool ok;
	int r;
	void *p;

	if (in->op[0].kind != SOFT_OPK_MEM || in->op[0].size != 8)
		return soft_raise_ud(cpu);   /* CMPXCHG16B: CX16 not advertised */
	exp = (cpu->gpr[SOFT_RDX] << 32) | (uint32_t)cpu->gpr[SOFT_RAX];
	nv = (cpu->gpr[SOFT_RCX] << 32) | (uint32_t)cpu->gpr[SOFT_RBX];
	p = soft_mem_rmw_ptr(cpu, in->mem.seg, soft_ea(cpu, in), 8, &r);
	if (r)
		return r;
	if (p) {
		cur = exp;
		ok = __atomic_compare_exchange_n((uint64_t *)p, &cur, nv, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	} else {
		cur = 0;
		if ((r = soft_mem_read(cpu, in->mem.seg, soft_ea(cpu, in), &cur, 8)))
			return r;
		ok = cur == exp;
		if ((r = soft_mem_write(cpu, in->mem.seg, soft_ea(cpu, in), ok ? &nv : &cur, 8)))
			return r;
	}
	if (!ok) {
		cpu->gpr[SOFT_RAX] = (uint32_t)cur;
		cpu->gpr[SOFT_RDX] = cur >> 32;
	}
	set_arith_flags(cpu, (soft_flags__get(cpu) & ~SOFT_FL_ZF) | (ok ? SOFT_FL_ZF : 0));
	return SOFT_OK;
}

static int op_xadd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0];
	unsigned size = d->size;
	uint64_t src = soft_gpr_read(cpu, &in->op[1]), cur;
	int r;

	if (d->kind == SOFT_OPK_REG) {
		cur = soft_gpr_read(cpu, d);
		soft_gpr_write(cpu, &in->op[1], cur);
		soft_gpr_write(cpu, d, cur + src);
		set_cc(cpu, SOFT_CC_ADD, size, cur, src, cur + src);
		return SOFT_OK;
	}
	{
		void *p = soft_mem_rmw_ptr(cpu, in->mem.seg, soft_ea(cpu, in), size, &r);

		if (r)
			return r;
		if (p) {
			switch (size) {
			case 1: cur = __atomic_fetch_add((uint8_t *)p, (uint8_t)src, __ATOMIC_SEQ_CST); break;
			case 2: cur = __atomic_fetch_add((uint16_t *)p, (uint16_t)src, __ATOMIC_SEQ_CST); break;
			case 4: cur = __atomic_fetch_add((uint32_t *)p, (uint32_t)src, __ATOMIC_SEQ_CST); break;
			default: cur = __atomic_fetch_add((uint64_t *)p, src, __ATOMIC_SEQ_CST); break;
			}
			soft_gpr_write(cpu, &in->op[1], cur);
			set_cc(cpu, SOFT_CC_ADD, size, cur, src, cur + src);
			return SOFT_OK;
		}
	}
	cur = 0;
	if ((r = soft_mem_read(cpu, in->mem.seg, soft_ea(cpu, in), &cur, size)))
		return r;
	{
		uint64_t sum = cur + src;

		if ((r = soft_mem_write(cpu, in->mem.seg, soft_ea(cpu, in), &sum, size)))
			return r;
	}
	soft_gpr_write(cpu, &in->op[1], cur);
	set_cc(cpu, SOFT_CC_ADD, size, cur, src, cur + src);
	return SOFT_OK;
}

static int op_cmovcc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r = opnd_rd(cpu, in, 1, &v);   /* the source is read (and may fault) either way */

	if (r)
		return r;
	if (cond_fast(cpu, in->opcode & 15))
		soft_gpr_write(cpu, &in->op[0], v);
	else if (in->op[0].size == 4)
		soft_gpr_write(cpu, &in->op[0], soft_gpr_read(cpu, &in->op[0]));
	return SOFT_OK;
}

static int op_setcc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return opnd_wr(cpu, in, 0, cond_fast(cpu, in->opcode & 15));
}

static int op_cbw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned s = in->opsize;

	soft_gpr_set(cpu, SOFT_RAX, s, (uint64_t)sign_extend(cpu->gpr[SOFT_RAX], s / 2));
	return SOFT_OK;
}

static int op_cwd(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned s = in->opsize;
	int64_t v = sign_extend(cpu->gpr[SOFT_RAX], s);

	soft_gpr_set(cpu, SOFT_RDX, s, v < 0 ? ~0ull : 0);
	return SOFT_OK;
}

static int op_push(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r;

	if (in->op[0].kind == SOFT_OPK_REG)
		v = soft_gpr_read(cpu, &in->op[0]);
	else if (in->op[0].kind == SOFT_OPK_IMM)
		v = in->imm;
	else if ((r = opnd_rd(cpu, in, 0, &v)))
		return r;
	return soft_push(cpu, v, in->opsize);
}

static int op_pop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v, sp = cpu->gpr[SOFT_RSP];
	int r = soft_pop(cpu, &v, in->opsize);

	if (r)
		return r;
	if (in->op[0].kind == SOFT_OPK_REG) {
		soft_gpr_write(cpu, &in->op[0], v);
		return SOFT_OK;
	}
	/* POP m: the address uses the incremented RSP; on a fault RSP reverts */
	r = opnd_wr(cpu, in, 0, v);
	if (r)
		cpu->gpr[SOFT_RSP] = sp;
	return r;
}

static int op_push_seg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return soft_push(cpu, cpu->seg[in->op[0].reg].sel, in->opsize);
}

static int op_mov_from_seg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t sel = cpu->seg[in->op[1].reg].sel;

	if (in->op[0].kind == SOFT_OPK_MEM) {
		uint16_t s = (uint16_t)sel;

		return soft_mem_write(cpu, in->mem.seg, soft_ea(cpu, in), &s, 2);
	}
	/* register destination: zero-extended with 32/64-bit operand size */
	soft_gpr_write(cpu, &in->op[0], sel);
	return SOFT_OK;
}

static int op_leave(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t sp = cpu->gpr[SOFT_RSP], v;
	uint64_t m = cpu->stack_bits == 64 ? ~0ull : cpu->stack_bits == 32 ? 0xffffffffull : 0xffff;
	int r;

	cpu->gpr[SOFT_RSP] = (sp & ~m) | (cpu->gpr[SOFT_RBP] & m);
	r = soft_pop(cpu, &v, in->opsize);
	if (r) {
		cpu->gpr[SOFT_RSP] = sp;
		return r;
	}
	soft_gpr_set(cpu, SOFT_RBP, in->opsize, v);
	return SOFT_OK;
}

static int op_enter(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize, level = in->imm2 & 31;
	uint64_t alloc = in->imm & 0xffff;
	uint64_t m = cpu->stack_bits == 64 ? ~0ull : cpu->stack_bits == 32 ? 0xffffffffull : 0xffff;
	uint64_t sp0 = cpu->gpr[SOFT_RSP], bp0 = cpu->gpr[SOFT_RBP], frame;
	int r;

	if ((r = soft_push(cpu, bp0, size)))
		return r;
	frame = cpu->gpr[SOFT_RSP] & m;
	for (unsigned i = 1; i < level; i++) {
		uint64_t v = 0, bp = (cpu->gpr[SOFT_RBP] - i * size) & m;

		if ((r = soft_mem_read(cpu, SOFT_SS, bp, &v, size)) || (r = soft_push(cpu, v, size)))
			goto undo;
	}
	if (level && (r = soft_push(cpu, frame, size)))
		goto undo;
	{
		uint64_t nsp = ((cpu->gpr[SOFT_RSP] & m) - alloc) & m;
		uint8_t probe;

		/* the new stack top must be writable (#SS/#PF before any change sticks) */
		if (alloc && (r = soft_mem_read(cpu, SOFT_SS, nsp, &probe, 1)))
			goto undo;
		cpu->gpr[SOFT_RSP] = (cpu->gpr[SOFT_RSP] & ~m) | nsp;
	}
	soft_gpr_set(cpu, SOFT_RBP, size == 8 ? 8 : cpu->stack_bits == 16 ? 2 : 4, frame);
	return SOFT_OK;
undo:
	cpu->gpr[SOFT_RSP] = sp0;
	return r;
}

static int op_movbe(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	unsigned size = in->op[0].size;
	int r = opnd_rd(cpu, in, 1, &v);

	if (r)
		return r;
	v = size == 8 ? __builtin_bswap64(v) : size == 4 ? __builtin_bswap32((uint32_t)v) :
			__builtin_bswap16((uint16_t)v);
	return opnd_wr(cpu, in, 0, v);
}

void soft_ops_mov__register(struct soft_vm *svm)
{
	static const ZydisMnemonic cmov[] = {
		ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB, ZYDIS_MNEMONIC_CMOVNB,
		ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
		ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP,
		ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE,
	};
	static const ZydisMnemonic setcc[] = {
		ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_SETNB,
		ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
		ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
		ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE,
	};

	for (unsigned i = 0; i < 16; i++) {
		soft_exec__register(svm, cmov[i], op_cmovcc);
		soft_exec__register(svm, setcc[i], op_setcc);
	}
	soft_exec__register(svm, ZYDIS_MNEMONIC_MOV, op_mov);
	soft_exec__register(svm, ZYDIS_MNEMONIC_MOVZX, op_movzx);
	soft_exec__register(svm, ZYDIS_MNEMONIC_MOVSX, op_movsx);
	soft_exec__register(svm, ZYDIS_MNEMONIC_MOVSXD, op_movsx);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LEA, op_lea);
	soft_exec__register(svm, ZYDIS_MNEMONIC_XCHG, op_xchg);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMPXCHG, op_cmpxchg);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMPXCHG8B, op_cmpxchg8b);
	soft_exec__register(svm, ZYDIS_MNEMONIC_XADD, op_xadd);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CBW, op_cbw);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CWDE, op_cbw);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CDQE, op_cbw);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CWD, op_cwd);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CDQ, op_cwd);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CQO, op_cwd);
	soft_exec__register(svm, ZYDIS_MNEMONIC_PUSH, op_push);
	soft_exec__register(svm, ZYDIS_MNEMONIC_POP, op_pop);
	soft_exec__register(svm, SOFT_MNEM_PUSH_SEG, op_push_seg);
	soft_exec__register(svm, SOFT_MNEM_MOV_FROM_SEG, op_mov_from_seg);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LEAVE, op_leave);
	soft_exec__register(svm, ZYDIS_MNEMONIC_ENTER, op_enter);
	soft_exec__register(svm, ZYDIS_MNEMONIC_MOVBE, op_movbe);
}
