/* Lazy arithmetic flags.  Handlers record (op, size, operands, result) in
 * four stores; the six arithmetic flags are only computed when RFLAGS is
 * read as a whole, and Jcc/SETcc/CMOVcc after the common CMP/SUB/TEST/AND
 * cases answer from the recorded operands without building RFLAGS. */
#include "accel/soft/cpu.h"
#include "accel/soft/ops.h"

static inline uint64_t parity_flag(uint64_t res)
{
	return __builtin_parityll(res & 0xff) ? 0 : SOFT_FL_PF;
}

static uint64_t compute_arith(const struct soft_cpu *cpu)
{
	unsigned sz = cpu->cc_op & 3;
	unsigned op = cpu->cc_op >> 2;
	unsigned bits = 8u << sz;
	uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	uint64_t sign = 1ull << (bits - 1);
	uint64_t a = cpu->cc_src1 & mask, b = cpu->cc_src2 & mask, r = cpu->cc_res & mask;
	uint64_t f = 0;

	switch (op) {
	case SOFT_CC_ADD:
		f |= r < a ? SOFT_FL_CF : 0;
		f |= ((a ^ r) & (b ^ r) & sign) ? SOFT_FL_OF : 0;
		f |= (a ^ b ^ r) & SOFT_FL_AF;
		break;
	case SOFT_CC_ADC:
		f |= r <= a ? SOFT_FL_CF : 0;
		f |= ((a ^ r) & (b ^ r) & sign) ? SOFT_FL_OF : 0;
		f |= (a ^ b ^ r) & SOFT_FL_AF;
		break;
	case SOFT_CC_SUB:
		f |= a < b ? SOFT_FL_CF : 0;
		f |= ((a ^ b) & (a ^ r) & sign) ? SOFT_FL_OF : 0;
		f |= (a ^ b ^ r) & SOFT_FL_AF;
		break;
	case SOFT_CC_SBB:
		f |= a <= b ? SOFT_FL_CF : 0;
		f |= ((a ^ b) & (a ^ r) & sign) ? SOFT_FL_OF : 0;
		f |= (a ^ b ^ r) & SOFT_FL_AF;
		break;
	case SOFT_CC_LOGIC:
		break;
	case SOFT_CC_INC:
		f |= cpu->cc_src2 & SOFT_FL_CF;
		f |= r == sign ? SOFT_FL_OF : 0;
		f |= (a ^ r) & SOFT_FL_AF;
		break;
	case SOFT_CC_DEC:
		f |= cpu->cc_src2 & SOFT_FL_CF;
		f |= a == sign ? SOFT_FL_OF : 0;
		f |= (a ^ r) & SOFT_FL_AF;
		break;
	case SOFT_CC_SHIFT:
		f |= cpu->cc_src2 & (SOFT_FL_CF | SOFT_FL_OF | SOFT_FL_AF);
		break;
	default:
		return cpu->rflags & SOFT_FL_ARITH;
	}
	f |= r == 0 ? SOFT_FL_ZF : 0;
	f |= (r & sign) ? SOFT_FL_SF : 0;
	f |= parity_flag(r);
	return f;
}

uint64_t soft_flags__get(struct soft_cpu *cpu)
{
	if (cpu->cc_op != SOFT_CC_EAGER) {
		cpu->rflags = (cpu->rflags & ~SOFT_FL_ARITH) | compute_arith(cpu);
		cpu->cc_op = SOFT_CC_EAGER;
	}
	return cpu->rflags | SOFT_FL_FIXED;
}

void soft_flags__set(struct soft_cpu *cpu, uint64_t rflags)
{
	cpu->rflags = (rflags | SOFT_FL_FIXED) & ~(0x8ull | 0x20ull | 0x8000ull);
	cpu->cc_op = SOFT_CC_EAGER;
}

static bool cond_from_flags(uint64_t f, unsigned cc)
{
	bool r;

	switch (cc >> 1) {
	case 0: r = f & SOFT_FL_OF; break;
	case 1: r = f & SOFT_FL_CF; break;
	case 2: r = f & SOFT_FL_ZF; break;
	case 3: r = f & (SOFT_FL_CF | SOFT_FL_ZF); break;
	case 4: r = f & SOFT_FL_SF; break;
	case 5: r = f & SOFT_FL_PF; break;
	case 6: r = !(f & SOFT_FL_SF) != !(f & SOFT_FL_OF); break;
	default: r = (f & SOFT_FL_ZF) || (!(f & SOFT_FL_SF) != !(f & SOFT_FL_OF)); break;
	}
	return r ^ (cc & 1);
}

static inline int64_t sext(uint64_t v, unsigned sz)
{
	unsigned sh = 64 - (8u << sz);

	return (int64_t)(v << sh) >> sh;
}

bool soft_flags__cond(struct soft_cpu *cpu, unsigned cc)
{
	unsigned op = cpu->cc_op >> 2, sz = cpu->cc_op & 3;
	uint64_t mask = soft_size_mask(1u << sz);
	bool r;

	if (op == SOFT_CC_SUB) {
		uint64_t a = cpu->cc_src1 & mask, b = cpu->cc_src2 & mask;

		switch (cc >> 1) {
		case 1: r = a < b; break;
		case 2: r = a == b; break;
		case 3: r = a <= b; break;
		case 6: r = sext(a, sz) < sext(b, sz); break;
		case 7: r = sext(a, sz) <= sext(b, sz); break;
		default: goto slow;
		}
		return r ^ (cc & 1);
	}
	if (op != SOFT_CC_EAGER && op != SOFT_CC_LOGIC && ((cc >> 1) == 2 || (cc >> 1) == 4)) {
		/* ZF and SF come from the result for every lazy operation */
		uint64_t res = cpu->cc_res & mask;

		r = (cc >> 1) == 2 ? res == 0 : sext(res, sz) < 0;
		return r ^ (cc & 1);
	}
	if (op == SOFT_CC_LOGIC) {
		uint64_t res = cpu->cc_res & mask;

		switch (cc >> 1) {
		case 0: r = false; break;
		case 1: r = false; break;
		case 2: r = res == 0; break;
		case 3: r = res == 0; break;
		case 4: case 6: r = sext(res, sz) < 0; break;
		case 7: r = sext(res, sz) <= 0; break;
		default: goto slow;
		}
		return r ^ (cc & 1);
	}
slow:
	return cond_from_flags(soft_flags__get(cpu), cc);
}
