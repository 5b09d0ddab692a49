/* Integer arithmetic: ADD ADC SUB SBB CMP AND OR XOR TEST NEG NOT INC DEC,
 * MUL IMUL DIV IDIV.  Each two-operand handler is one static inline body
 * specialised per operation by the compiler; a LOCKed memory destination
 * is a compare-and-swap loop on the host pointer, so the guest's atomics
 * are the host's. */
#include "accel/soft/ops.h"

enum alu_op { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP, ALU_TEST };

static inline __attribute__((always_inline)) uint64_t alu_compute(struct soft_cpu *cpu, enum alu_op op, unsigned size,
				   uint64_t a, uint64_t b, uint64_t cin)
{
	uint64_t res;

	switch (op) {
	case ALU_ADD:
		res = a + b;
		set_cc(cpu, SOFT_CC_ADD, size, a, b, res);
		break;
	case ALU_ADC:
		res = a + b + cin;
		set_cc(cpu, cin ? SOFT_CC_ADC : SOFT_CC_ADD, size, a, b, res);
		break;
	case ALU_SUB:
	case ALU_CMP:
		res = a - b;
		set_cc(cpu, SOFT_CC_SUB, size, a, b, res);
		break;
	case ALU_SBB:
		res = a - b - cin;
		set_cc(cpu, cin ? SOFT_CC_SBB : SOFT_CC_SUB, size, a, b, res);
		break;
	case ALU_AND:
	case ALU_TEST:
		res = a & b;
		set_cc(cpu, SOFT_CC_LOGIC, size, 0, 0, res);
		break;
	case ALU_OR:
		res = a | b;
		set_cc(cpu, SOFT_CC_LOGIC, size, 0, 0, res);
		break;
	default:
		res = a ^ b;
		set_cc(cpu, SOFT_CC_LOGIC, size, 0, 0, res);
		break;
	}
	return res & soft_size_mask(size);
}

/* Atomic read-modify-write of a naturally-held host location. */
#define CAS_LOOP(type, ptr, expr)                                              \
	do {                                                                   \
		type *p__ = (type *)(ptr);                                     \
		type old__ = __atomic_load_n(p__, __ATOMIC_RELAXED), new__;    \
		do {                                                           \
			a = old__;                                             \
			new__ = (type)(expr);                                  \
		} while (!__atomic_compare_exchange_n(p__, &old__, new__, false, \
						      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)); \
	} while (0)

static inline __attribute__((always_inline)) int alu_binop(struct soft_cpu *cpu, const struct soft_insn *in, enum alu_op op)
{
	const struct soft_operand *d = &in->op[0];
	unsigned size = d->size;
	uint64_t mask = soft_size_mask(size);
	uint64_t a, b, res, cin = 0;
	int r;

	if (in->op[1].kind == SOFT_OPK_REG)
		b = soft_gpr_read(cpu, &in->op[1]);
	else if (in->op[1].kind == SOFT_OPK_IMM)
		b = in->imm & mask;
	else if ((r = opnd_rd(cpu, in, 1, &b)))
		return r;
	if (op == ALU_ADC || op == ALU_SBB)
		cin = lazy_cf(cpu);
	if (likely(d->kind == SOFT_OPK_REG)) {
		a = soft_gpr_read(cpu, d);
		res = alu_compute(cpu, op, size, a, b, cin);
		if (op != ALU_CMP && op != ALU_TEST)
			soft_gpr_write(cpu, d, res);
		return SOFT_OK;
	}
	if ((in->prefix & SOFT_PFX_LOCK) && op != ALU_CMP && op != ALU_TEST) {
		void *p = soft_mem_rmw_ptr(cpu, in->mem.seg, soft_ea(cpu, in), size, &r);

		if (r)
			return r;
		if (p) {
			switch (size) {
			case 1: CAS_LOOP(uint8_t, p, alu_compute(cpu, op, size, a, b, cin)); break;
			case 2: CAS_LOOP(uint16_t, p, alu_compute(cpu, op, size, a, b, cin)); break;
			case 4: CAS_LOOP(uint32_t, p, alu_compute(cpu, op, size, a, b, cin)); break;
			default: CAS_LOOP(uint64_t, p, alu_compute(cpu, op, size, a, b, cin)); break;
			}
			return SOFT_OK;
		}
	}
	if ((r = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &a, size)))
		return r;
	if (op == ALU_CMP || op == ALU_TEST) {
		alu_compute(cpu, op, size, a, b, cin);
		return SOFT_OK;
	}
	{
		uint64_t save[4] = { cpu->cc_op, cpu->cc_src1, cpu->cc_src2, cpu->cc_res };

		res = alu_compute(cpu, op, size, a, b, cin);
		r = mem_wr(cpu, in->mem.seg, soft_ea(cpu, in), res, size);
		if (r) {
			/* faulting store: flags unchanged */
			cpu->cc_op = (uint32_t)save[0];
			cpu->cc_src1 = save[1];
			cpu->cc_src2 = save[2];
			cpu->cc_res = save[3];
		}
		return r;
	}
}

#define ALU_HANDLER(name, op) \
	static int name(struct soft_cpu *cpu, const struct soft_insn *in) { return alu_binop(cpu, in, op); }
ALU_HANDLER(op_add, ALU_ADD)
ALU_HANDLER(op_or, ALU_OR)
ALU_HANDLER(op_adc, ALU_ADC)
ALU_HANDLER(op_sbb, ALU_SBB)
ALU_HANDLER(op_and, ALU_AND)
ALU_HANDLER(op_sub, ALU_SUB)
ALU_HANDLER(op_xor, ALU_XOR)
ALU_HANDLER(op_cmp, ALU_CMP)
ALU_HANDLER(op_test, ALU_TEST)

enum un_op { UN_INC, UN_DEC, UN_NEG, UN_NOT };

static inline __attribute__((always_inline)) uint64_t un_compute(struct soft_cpu *cpu, enum un_op op, unsigned size,
				  uint64_t a, uint64_t cf)
{
	uint64_t res;

	switch (op) {
	case UN_INC:
		res = a + 1;
		set_cc(cpu, SOFT_CC_INC, size, a, cf, res);
		break;
	case UN_DEC:
		res = a - 1;
		set_cc(cpu, SOFT_CC_DEC, size, a, cf, res);
		break;
	case UN_NEG:
		res = 0 - a;
		set_cc(cpu, SOFT_CC_SUB, size, 0, a, res);
		break;
	default:
		res = ~a;
		break;
	}
	return res & soft_size_mask(size);
}

static inline __attribute__((always_inline)) int unop(struct soft_cpu *cpu, const struct soft_insn *in, enum un_op op)
{
	const struct soft_operand *d = &in->op[0];
	unsigned size = d->size;
	uint64_t a, res, cf = (op == UN_INC || op == UN_DEC) ? lazy_cf(cpu) : 0;
	int r;

	if (likely(d->kind == SOFT_OPK_REG)) {
		a = soft_gpr_read(cpu, d);
		soft_gpr_write(cpu, d, un_compute(cpu, op, size, a, cf));
		return SOFT_OK;
	}
	if (in->prefix & SOFT_PFX_LOCK) {
		void *p = soft_mem_rmw_ptr(cpu, in->mem.seg, soft_ea(cpu, in), size, &r);

		if (r)
			return r;
		if (p) {
			switch (size) {
			case 1: CAS_LOOP(uint8_t, p, un_compute(cpu, op, size, a, cf)); break;
			case 2: CAS_LOOP(uint16_t, p, un_compute(cpu, op, size, a, cf)); break;
			case 4: CAS_LOOP(uint32_t, p, un_compute(cpu, op, size, a, cf)); break;
			default: CAS_LOOP(uint64_t, p, un_compute(cpu, op, size, a, cf)); break;
			}
			return SOFT_OK;
		}
	}
	if ((r = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &a, size)))
		return r;
	{
		uint64_t save[4] = { cpu->cc_op, cpu->cc_src1, cpu->cc_src2, cpu->cc_res };

		res = un_compute(cpu, op, size, a, cf);
		r = mem_wr(cpu, in->mem.seg, soft_ea(cpu, in), res, size);
		if (r) {
			cpu->cc_op = (uint32_t)save[0];
			cpu->cc_src1 = save[1];
			cpu->cc_src2 = save[2];
			cpu->cc_res = save[3];
		}
	}
	return r;
}

static int op_inc(struct soft_cpu *cpu, const struct soft_insn *in) { return unop(cpu, in, UN_INC); }
static int op_dec(struct soft_cpu *cpu, const struct soft_insn *in) { return unop(cpu, in, UN_DEC); }
static int op_neg(struct soft_cpu *cpu, const struct soft_insn *in) { return unop(cpu, in, UN_NEG); }
static int op_not(struct soft_cpu *cpu, const struct soft_insn *in) { return unop(cpu, in, UN_NOT); }

/* MUL/IMUL flags: CF = OF = "high half significant"; SF/ZF/PF from the
 * low half, AF cleared (architecturally undefined).  Lazy, like a shift. */
static inline void mul_flags(struct soft_cpu *cpu, unsigned size, uint64_t lo, bool ovf)
{
	set_cc(cpu, SOFT_CC_SHIFT, size, 0, ovf ? (SOFT_FL_CF | SOFT_FL_OF) : 0, lo);
}

static int op_mul(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->op[0].size;
	uint64_t src, a = cpu->gpr[SOFT_RAX];
	int r = opnd_rd(cpu, in, 0, &src);

	if (r)
		return r;
	switch (size) {
	case 1: {
		uint16_t p = (uint16_t)((uint8_t)a * (uint8_t)src);
		soft_gpr_set(cpu, SOFT_RAX, 2, p);
		mul_flags(cpu, 1, p, p >> 8);
		break;
	}
	case 2: {
		uint32_t p = (uint32_t)(uint16_t)a * (uint16_t)src;
		soft_gpr_set(cpu, SOFT_RAX, 2, p);
		soft_gpr_set(cpu, SOFT_RDX, 2, p >> 16);
		mul_flags(cpu, 2, p, p >> 16);
		break;
	}
	case 4: {
		uint64_t p = (uint64_t)(uint32_t)a * (uint32_t)src;
		soft_gpr_set(cpu, SOFT_RAX, 4, p);
		soft_gpr_set(cpu, SOFT_RDX, 4, p >> 32);
		mul_flags(cpu, 4, p, p >> 32);
		break;
	}
	default: {
		unsigned __int128 p = (unsigned __int128)a * src;
		cpu->gpr[SOFT_RAX] = (uint64_t)p;
		cpu->gpr[SOFT_RDX] = (uint64_t)(p >> 64);
		mul_flags(cpu, 8, (uint64_t)p, (p >> 64) != 0);
		break;
	}
	}
	return SOFT_OK;
}

static int op_imul(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->op[0].size;
	uint64_t s1, s2;
	int r;

	if (in->nops == 1) {
		int64_t a = sign_extend(cpu->gpr[SOFT_RAX], size);

		if ((r = opnd_rd(cpu, in, 0, &s1)))
			return r;
		if (size == 8) {
			__int128 p = (__int128)a * (int64_t)s1;
			cpu->gpr[SOFT_RAX] = (uint64_t)p;
			cpu->gpr[SOFT_RDX] = (uint64_t)(p >> 64);
			mul_flags(cpu, 8, (uint64_t)p, p != (int64_t)p);
		} else {
			int64_t p = a * sign_extend(s1, size);
			bool ovf = p != sign_extend((uint64_t)p, size);

			if (size == 1) {
				soft_gpr_set(cpu, SOFT_RAX, 2, (uint64_t)p);
			} else {
				soft_gpr_set(cpu, SOFT_RAX, size, (uint64_t)p);
				soft_gpr_set(cpu, SOFT_RDX, size, (uint64_t)p >> (size * 8));
			}
			mul_flags(cpu, size, (uint64_t)p, ovf);
		}
		return SOFT_OK;
	}
	if (in->nops == 2) {
		if ((r = opnd_rd(cpu, in, 0, &s1)) || (r = opnd_rd(cpu, in, 1, &s2)))
			return r;
	} else {
		if ((r = opnd_rd(cpu, in, 1, &s1)))
			return r;
		s2 = in->imm;
	}
	{
		int64_t a = sign_extend(s1, size), b = sign_extend(s2, size);
		__int128 p = (__int128)a * b;
		bool ovf = p != (__int128)sign_extend((uint64_t)p, size);

		mul_flags(cpu, size, (uint64_t)p, ovf);
		return opnd_wr(cpu, in, 0, (uint64_t)p);
	}
}

static int op_div(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->op[0].size;
	uint64_t d;
	int r = opnd_rd(cpu, in, 0, &d);

	if (r)
		return r;
	d &= soft_size_mask(size);
	if (!d)
		return soft_raise(cpu, SOFT_EXC_DE, 0);
	if (size == 8) {
		unsigned __int128 n = ((unsigned __int128)cpu->gpr[SOFT_RDX] << 64) | cpu->gpr[SOFT_RAX];
		unsigned __int128 q = n / d;

		if (q >> 64)
			return soft_raise(cpu, SOFT_EXC_DE, 0);
		cpu->gpr[SOFT_RAX] = (uint64_t)q;
		cpu->gpr[SOFT_RDX] = (uint64_t)(n % d);
		return SOFT_OK;
	}
	{
		unsigned bits = size * 8;
		uint64_t n, q;

		if (size == 1)
			n = cpu->gpr[SOFT_RAX] & 0xffff;
		else
			n = ((cpu->gpr[SOFT_RDX] & soft_size_mask(size)) << bits) |
			    (cpu->gpr[SOFT_RAX] & soft_size_mask(size));
		q = n / d;
		if (q >> bits)
			return soft_raise(cpu, SOFT_EXC_DE, 0);
		if (size == 1) {
			soft_gpr_set(cpu, SOFT_RAX, 2, (q & 0xff) | ((n % d) << 8));
		} else {
			soft_gpr_set(cpu, SOFT_RAX, size, q);
			soft_gpr_set(cpu, SOFT_RDX, size, n % d);
		}
	}
	return SOFT_OK;
}

static int op_idiv(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->op[0].size;
	uint64_t dv;
	int64_t d;
	int r = opnd_rd(cpu, in, 0, &dv);

	if (r)
		return r;
	d = sign_extend(dv, size);
	if (!d)
		return soft_raise(cpu, SOFT_EXC_DE, 0);
	if (size == 8) {
		__int128 n = (__int128)(((unsigned __int128)cpu->gpr[SOFT_RDX] << 64) | cpu->gpr[SOFT_RAX]);
		__int128 q, rem;

		if (d == -1 && n == -n && n != 0)
			return soft_raise(cpu, SOFT_EXC_DE, 0);  /* INT128_MIN / -1 */
		q = n / d;
		rem = n % d;
		if (q != (int64_t)q)
			return soft_raise(cpu, SOFT_EXC_DE, 0);
		cpu->gpr[SOFT_RAX] = (uint64_t)q;
		cpu->gpr[SOFT_RDX] = (uint64_t)rem;
		return SOFT_OK;
	}
	{
		unsigned bits = size * 8;
		int64_t n, q, rem;

		if (size == 1)
			n = (int16_t)cpu->gpr[SOFT_RAX];
		else
			n = sign_extend(((cpu->gpr[SOFT_RDX] & soft_size_mask(size)) << bits) |
					(cpu->gpr[SOFT_RAX] & soft_size_mask(size)), size * 2);
		q = n / d;
		rem = n % d;
		if (q != sign_extend((uint64_t)q, size))
			return soft_raise(cpu, SOFT_EXC_DE, 0);
		(void)bits;
		if (size == 1) {
			soft_gpr_set(cpu, SOFT_RAX, 2, ((uint64_t)q & 0xff) | (((uint64_t)rem & 0xff) << 8));
		} else {
			soft_gpr_set(cpu, SOFT_RAX, size, (uint64_t)q);
			soft_gpr_set(cpu, SOFT_RDX, size, (uint64_t)rem);
		}
	}
	return SOFT_OK;
}

void soft_ops_alu__register(struct soft_vm *svm)
{
	soft_exec__register(svm, ZYDIS_MNEMONIC_ADD, op_add);
	soft_exec__register(svm, ZYDIS_MNEMONIC_OR, op_or);
	soft_exec__register(svm, ZYDIS_MNEMONIC_ADC, op_adc);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SBB, op_sbb);
	soft_exec__register(svm, ZYDIS_MNEMONIC_AND, op_and);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SUB, op_sub);
	soft_exec__register(svm, ZYDIS_MNEMONIC_XOR, op_xor);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMP, op_cmp);
	soft_exec__register(svm, ZYDIS_MNEMONIC_TEST, op_test);
	soft_exec__register(svm, ZYDIS_MNEMONIC_INC, op_inc);
	soft_exec__register(svm, ZYDIS_MNEMONIC_DEC, op_dec);
	soft_exec__register(svm, ZYDIS_MNEMONIC_NEG, op_neg);
	soft_exec__register(svm, ZYDIS_MNEMONIC_NOT, op_not);
	soft_exec__register(svm, ZYDIS_MNEMONIC_MUL, op_mul);
	soft_exec__register(svm, ZYDIS_MNEMONIC_IMUL, op_imul);
	soft_exec__register(svm, ZYDIS_MNEMONIC_DIV, op_div);
	soft_exec__register(svm, ZYDIS_MNEMONIC_IDIV, op_idiv);
}
