/* Specialised handlers for the hottest instruction forms (profiled on a
 * Linux boot: register-register and register-immediate ALU operations,
 * MOV between registers and memory, IMUL, shifts by an immediate), chosen
 * at decode time so the handler does no operand-kind or size dispatch.
 * The generic handlers stay the reference; these must match them exactly
 * (the ALU tests run through both, see test_soft_alu.c). */
#include "accel/soft/ops.h"

#define R(in, n) ((in)->op[n].reg)

/* Threaded dispatch: a handler that completed normally runs the next
 * record of the current decoded page by tail-calling its handler (a jump
 * at -O2), so each handler has its own indirect branch, which the host
 * predicts far better than the run loop's single call site, and the loop's
 * bookkeeping is skipped.  The successor is cached in the record as an
 * index delta (valid across realloc of the page's array; a page reset
 * rewrites every record, so no delta outlives its generation).  A chain
 * stops (back to the loop, which goes on from cpu->next_rip) at anything
 * the loop must see: the end of the chain budget, exit_req (interrupts,
 * kicks, code invalidation, mode changes), the end of the page, an
 * undecoded or page-crossing record.  cpu->rip stays exact so a fault in
 * a chained instruction is reported at that instruction. */
static __attribute__((noinline)) int soft_chain_lookup(struct soft_cpu *cpu,
						       const struct soft_insn *in,
						       uint64_t off, int16_t *slot)
{
	const struct soft_code_page *pg = cpu->code->cur;
	const struct soft_insn *nin;
	unsigned idx;

	/* `in` must be a record of the current page (not the scratch copy
	 * of a page-crossing instruction) for a delta to mean anything */
	if (off >= 4096 || (uintptr_t)in < (uintptr_t)pg->insns ||
	    (uintptr_t)in >= (uintptr_t)(pg->insns + pg->n))
		return SOFT_OK;
	idx = pg->map[off];
	if ((uint16_t)(idx - 1) >= CODE_MAP_CROSS - 1)
		return SOFT_OK;
	nin = &pg->insns[idx - 1];
	if (nin == in)
		return SOFT_OK;     /* a branch to itself: delta 0 would read as unknown */
	*slot = (int16_t)(nin - in);
	cpu->chain_left--;
	cpu->rip = cpu->next_rip;
	cpu->next_rip = cpu->rip + nin->len;
	return nin->fn(cpu, nin);
}

static inline int soft_chain_at(struct soft_cpu *cpu, const struct soft_insn *in,
				uint64_t off, int16_t *slot)
{
	const struct soft_insn *nin;
	int16_t d;

	if (!cpu->chain_left || atomic_load_explicit(&cpu->exit_req, memory_order_relaxed))
		return SOFT_OK;
	d = *slot;
	if (unlikely(!d))
		return soft_chain_lookup(cpu, in, off, slot);
	nin = in + d;
	cpu->chain_left--;
	cpu->rip = cpu->next_rip;
	cpu->next_rip = cpu->rip + nin->len;
	return nin->fn(cpu, nin);
}

/* After a linear instruction: the one that follows it in the page. */
static inline int soft_chain(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return soft_chain_at(cpu, in, (uint64_t)in->pgoff + in->len,
			     (int16_t *)&in->next_delta);
}

/* A taken branch to t from a 64-bit-mode direct branch `in`: through the
 * record's cached delta if t lies in its page (then it is canonical: that
 * page is mapped), else back to the loop after soft_branch's checks.
 * (Chaining calls and returns into other pages through decode.c's
 * page-switch cache was tried: no measurable gain.) */
static inline int soft_chain_taken(struct soft_cpu *cpu, const struct soft_insn *in, uint64_t t)
{
	uint64_t off = t - cpu->rip + in->pgoff;

	if (off < 4096) {
		cpu->next_rip = t;
		return soft_chain_at(cpu, in, off, (int16_t *)&in->taken_delta);
	}
	return soft_branch(cpu, t, 8);
}

static inline int chain_ok(struct soft_cpu *cpu, const struct soft_insn *in, int r)
{
	return likely(r == SOFT_OK) ? soft_chain(cpu, in) : r;
}

/* ---- MOV ---------------------------------------------------------------- */
static int mov_rr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[R(in, 0)] = cpu->gpr[R(in, 1)];
	return soft_chain(cpu, in);
}

static int mov_rr32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[R(in, 0)] = (uint32_t)cpu->gpr[R(in, 1)];
	return soft_chain(cpu, in);
}

static int mov_ri64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[R(in, 0)] = in->imm;
	return soft_chain(cpu, in);
}

static int mov_ri32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[R(in, 0)] = (uint32_t)in->imm;
	return soft_chain(cpu, in);
}

static int mov_rm64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* Load into a local: a faulting (page-crossing) load must leave the
	 * destination untouched, as it may also be the address's base. */
	uint64_t v;
	int r = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &v, 8);

	if (likely(!r))
		cpu->gpr[R(in, 0)] = v;
	return chain_ok(cpu, in, r);
}

static int mov_rm32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &v, 4);

	if (likely(!r))
		cpu->gpr[R(in, 0)] = (uint32_t)v;
	return chain_ok(cpu, in, r);
}

static int mov_mr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return chain_ok(cpu, in, mem_wr(cpu, in->mem.seg, soft_ea(cpu, in), cpu->gpr[R(in, 1)], 8));
}

static int mov_mr32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return chain_ok(cpu, in, mem_wr(cpu, in->mem.seg, soft_ea(cpu, in), cpu->gpr[R(in, 1)], 4));
}

static int movzx_rm8(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &v, 1);

	if (likely(!r))
		soft_gpr_write(cpu, &in->op[0], v);
	return chain_ok(cpu, in, r);
}

static int movsxd_rr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[R(in, 0)] = (uint64_t)(int64_t)(int32_t)cpu->gpr[R(in, 1)];
	return soft_chain(cpu, in);
}

static int lea64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[R(in, 0)] = soft_ea(cpu, in);
	return soft_chain(cpu, in);
}

/* ---- ALU ---------------------------------------------------------------- */
#define ALU_FAST(name, expr, ccop, write, T, SZ, src)                              \
	static int name(struct soft_cpu *cpu, const struct soft_insn *in)          \
	{                                                                          \
		T a = (T)cpu->gpr[R(in, 0)], b = (T)(src), res = (T)(expr);        \
		set_cc(cpu, ccop, SZ, a, b, res);                                  \
		if (write)                                                         \
			cpu->gpr[R(in, 0)] = res;                                  \
		return soft_chain(cpu, in);                                                    \
	}

#define ALU_FAMILY(op, expr, ccop, write)                                          \
	ALU_FAST(op##_rr64, expr, ccop, write, uint64_t, 8, cpu->gpr[R(in, 1)])    \
	ALU_FAST(op##_rr32, expr, ccop, write, uint32_t, 4, cpu->gpr[R(in, 1)])    \
	ALU_FAST(op##_ri64, expr, ccop, write, uint64_t, 8, in->imm)               \
	ALU_FAST(op##_ri32, expr, ccop, write, uint32_t, 4, in->imm)

ALU_FAMILY(add, a + b, SOFT_CC_ADD, 1)
ALU_FAMILY(sub, a - b, SOFT_CC_SUB, 1)
ALU_FAMILY(cmp, a - b, SOFT_CC_SUB, 0)
ALU_FAMILY(and, a & b, SOFT_CC_LOGIC, 1)
ALU_FAMILY(or, a | b, SOFT_CC_LOGIC, 1)
ALU_FAMILY(xor, a ^ b, SOFT_CC_LOGIC, 1)
ALU_FAMILY(test, a & b, SOFT_CC_LOGIC, 0)

static int imul_rr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	__int128 p = (__int128)(int64_t)cpu->gpr[R(in, 0)] * (int64_t)cpu->gpr[R(in, 1)];
	uint64_t lo = (uint64_t)p;

	set_cc(cpu, SOFT_CC_SHIFT, 8, 0, p != (int64_t)lo ? (SOFT_FL_CF | SOFT_FL_OF) : 0, lo);
	cpu->gpr[R(in, 0)] = lo;
	return soft_chain(cpu, in);
}

static int imul_rr32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	int64_t p = (int64_t)(int32_t)cpu->gpr[R(in, 0)] * (int32_t)cpu->gpr[R(in, 1)];
	uint32_t lo = (uint32_t)p;

	set_cc(cpu, SOFT_CC_SHIFT, 4, 0, p != (int32_t)lo ? (SOFT_FL_CF | SOFT_FL_OF) : 0, lo);
	cpu->gpr[R(in, 0)] = lo;
	return soft_chain(cpu, in);
}

/* Shifts by an immediate whose masked count is known non-zero at decode. */
#define SHIFT_FAST(name, T, SZ, body)                                              \
	static int name(struct soft_cpu *cpu, const struct soft_insn *in)          \
	{                                                                          \
		typedef T val_t;                                                   \
		enum { vsz = SZ, bits = SZ * 8 };                                  \
		unsigned c = (unsigned)in->imm & (SZ == 8 ? 63 : 31);              \
		val_t a = (val_t)cpu->gpr[R(in, 0)], res;                          \
		uint64_t cf, of;                                                   \
		body                                                               \
		set_cc(cpu, SOFT_CC_SHIFT, SZ, a, cf | (of ? SOFT_FL_OF : 0), res); \
		cpu->gpr[R(in, 0)] = res;                                          \
		(void)bits;                                                        \
		return soft_chain(cpu, in);                                                    \
	}

#define SHL_BODY res = (val_t)(a << c); cf = (a >> (bits - c)) & 1; of = ((res >> (bits - 1)) & 1) ^ cf;
#define SHR_BODY res = (val_t)(a >> c); cf = (a >> (c - 1)) & 1; of = (a >> (bits - 1)) & 1;
#define SAR_BODY                                                                   \
	res = (val_t)(vsz == 8 ? (uint64_t)((int64_t)(uint64_t)a >> c) :            \
			    (uint64_t)(uint32_t)((int32_t)(uint32_t)a >> c));        \
	cf = (vsz == 8 ? (uint64_t)((int64_t)(uint64_t)a >> (c - 1)) :              \
			(uint64_t)((int32_t)(uint32_t)a >> (c - 1))) & 1;            \
	of = 0;

SHIFT_FAST(shl_ri64, uint64_t, 8, SHL_BODY)
SHIFT_FAST(shl_ri32, uint32_t, 4, SHL_BODY)
SHIFT_FAST(shr_ri64, uint64_t, 8, SHR_BODY)
SHIFT_FAST(shr_ri32, uint32_t, 4, SHR_BODY)
SHIFT_FAST(sar_ri64, uint64_t, 8, SAR_BODY)
SHIFT_FAST(sar_ri32, uint32_t, 4, SAR_BODY)

/* The same by CL (inflate's bit buffer): a zero masked count changes no
 * flags, but a 32-bit destination is still zero-extended. */
#define SHIFT_CL(name, T, SZ, body)                                                \
	static int name(struct soft_cpu *cpu, const struct soft_insn *in)          \
	{                                                                          \
		typedef T val_t;                                                   \
		enum { vsz = SZ, bits = SZ * 8 };                                  \
		unsigned c = (unsigned)cpu->gpr[SOFT_RCX] & (SZ == 8 ? 63 : 31);   \
		val_t a = (val_t)cpu->gpr[R(in, 0)], res;                          \
		uint64_t cf, of;                                                   \
		if (!c) {                                                          \
			cpu->gpr[R(in, 0)] = a;                                    \
			return soft_chain(cpu, in);                                \
		}                                                                  \
		body                                                               \
		set_cc(cpu, SOFT_CC_SHIFT, SZ, a, cf | (of ? SOFT_FL_OF : 0), res); \
		cpu->gpr[R(in, 0)] = res;                                          \
		(void)bits;                                                        \
		return soft_chain(cpu, in);                                        \
	}
SHIFT_CL(shl_rc64, uint64_t, 8, SHL_BODY)
SHIFT_CL(shl_rc32, uint32_t, 4, SHL_BODY)
SHIFT_CL(shr_rc64, uint64_t, 8, SHR_BODY)
SHIFT_CL(shr_rc32, uint32_t, 4, SHR_BODY)
SHIFT_CL(sar_rc64, uint64_t, 8, SAR_BODY)
SHIFT_CL(sar_rc32, uint32_t, 4, SAR_BODY)

static int inc_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t a = cpu->gpr[R(in, 0)], cf = lazy_cf(cpu);

	cpu->gpr[R(in, 0)] = a + 1;
	set_cc(cpu, SOFT_CC_INC, 8, a, cf, a + 1);
	return soft_chain(cpu, in);
}

static int dec_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t a = cpu->gpr[R(in, 0)], cf = lazy_cf(cpu);

	cpu->gpr[R(in, 0)] = a - 1;
	set_cc(cpu, SOFT_CC_DEC, 8, a, cf, a - 1);
	return soft_chain(cpu, in);
}

/* 64-bit mode only (opsize 8), one handler per condition so cond_fast()
 * folds to a compare.  A taken branch inside the current page chains
 * there: that page is mapped, so the target is canonical. */
#define JCC_FAST(cc)                                                               \
	static int jcc_fast_##cc(struct soft_cpu *cpu, const struct soft_insn *in) \
	{                                                                          \
		uint64_t t;                                                        \
		if (!cond_fast(cpu, cc))                                           \
			return soft_chain(cpu, in);                                \
		t = cpu->next_rip + in->imm;                                       \
		return soft_chain_taken(cpu, in, t);                               \
	}
JCC_FAST(0) JCC_FAST(1) JCC_FAST(2) JCC_FAST(3) JCC_FAST(4) JCC_FAST(5) JCC_FAST(6) JCC_FAST(7)
JCC_FAST(8) JCC_FAST(9) JCC_FAST(10) JCC_FAST(11) JCC_FAST(12) JCC_FAST(13) JCC_FAST(14) JCC_FAST(15)

static const soft_handler_fn jcc_fast[16] = {
	jcc_fast_0, jcc_fast_1, jcc_fast_2, jcc_fast_3, jcc_fast_4, jcc_fast_5, jcc_fast_6,
	jcc_fast_7, jcc_fast_8, jcc_fast_9, jcc_fast_10, jcc_fast_11, jcc_fast_12, jcc_fast_13,
	jcc_fast_14, jcc_fast_15,
};

/* JMP rel in 64-bit mode: chains when the target is in the current page. */
static int jmp_rel64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return soft_chain_taken(cpu, in, cpu->next_rip + in->imm);
}

/* ADC/SBB register forms (multi-word arithmetic: bignum crypto). */
#define ADC_FAST(name, T, SZ, src, sbb)                                            \
	static int name(struct soft_cpu *cpu, const struct soft_insn *in)          \
	{                                                                          \
		uint64_t cin = lazy_cf(cpu);                                       \
		T a = (T)cpu->gpr[R(in, 0)], b = (T)(src);                         \
		T res = sbb ? (T)(a - b - cin) : (T)(a + b + cin);                 \
		set_cc(cpu, sbb ? (cin ? SOFT_CC_SBB : SOFT_CC_SUB) :              \
			   (cin ? SOFT_CC_ADC : SOFT_CC_ADD), SZ, a, b, res);      \
		cpu->gpr[R(in, 0)] = res;                                          \
		return soft_chain(cpu, in);                                        \
	}
ADC_FAST(adc_rr64, uint64_t, 8, cpu->gpr[R(in, 1)], 0)
ADC_FAST(adc_rr32, uint32_t, 4, cpu->gpr[R(in, 1)], 0)
ADC_FAST(adc_ri64, uint64_t, 8, in->imm, 0)
ADC_FAST(adc_ri32, uint32_t, 4, in->imm, 0)
ADC_FAST(sbb_rr64, uint64_t, 8, cpu->gpr[R(in, 1)], 1)
ADC_FAST(sbb_rr32, uint32_t, 4, cpu->gpr[R(in, 1)], 1)
ADC_FAST(sbb_ri64, uint64_t, 8, in->imm, 1)
ADC_FAST(sbb_ri32, uint32_t, 4, in->imm, 1)

/* CMOVcc between registers; the 32-bit form zero-extends either way. */
static int cmov_rr64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (cond_fast(cpu, in->opcode & 15))
		cpu->gpr[R(in, 0)] = cpu->gpr[R(in, 1)];
	return soft_chain(cpu, in);
}

static int cmov_rr32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[R(in, 0)] = (uint32_t)cpu->gpr[cond_fast(cpu, in->opcode & 15) ? R(in, 1) : R(in, 0)];
	return soft_chain(cpu, in);
}

/* ALU with a memory source: r op= [m] */
#define ALU_RM(name, expr, ccop, write, T, SZ)                                      \
	static int name(struct soft_cpu *cpu, const struct soft_insn *in)          \
	{                                                                          \
		uint64_t m;                                                        \
		int r_ = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &m, SZ);       \
		T a = (T)cpu->gpr[R(in, 0)], b = (T)m, res = (T)(expr);            \
		if (unlikely(r_))                                                  \
			return r_;                                                 \
		set_cc(cpu, ccop, SZ, a, b, res);                                  \
		if (write)                                                         \
			cpu->gpr[R(in, 0)] = res;                                  \
		return soft_chain(cpu, in);                                                    \
	}
#define ALU_RM_FAMILY(op, expr, ccop, write)                                       \
	ALU_RM(op##_rm64, expr, ccop, write, uint64_t, 8)                          \
	ALU_RM(op##_rm32, expr, ccop, write, uint32_t, 4)
ALU_RM_FAMILY(add, a + b, SOFT_CC_ADD, 1)
ALU_RM_FAMILY(sub, a - b, SOFT_CC_SUB, 1)
ALU_RM_FAMILY(cmp, a - b, SOFT_CC_SUB, 0)
ALU_RM_FAMILY(and, a & b, SOFT_CC_LOGIC, 1)
ALU_RM_FAMILY(or, a | b, SOFT_CC_LOGIC, 1)
ALU_RM_FAMILY(xor, a ^ b, SOFT_CC_LOGIC, 1)
ALU_RM_FAMILY(test, a & b, SOFT_CC_LOGIC, 0)

/* CMP/TEST with a memory first operand and an immediate or register second
 * (no write-back, so no atomicity question). */
#define CMP_M(name, expr, ccop, SZ, T, src)                                        \
	static int name(struct soft_cpu *cpu, const struct soft_insn *in)          \
	{                                                                          \
		uint64_t m;                                                        \
		int r_ = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &m, SZ);       \
		T a = (T)m, b = (T)(src), res = (T)(expr);                         \
		if (unlikely(r_))                                                  \
			return r_;                                                 \
		set_cc(cpu, ccop, SZ, a, b, res);                                  \
		return soft_chain(cpu, in);                                                    \
	}
#define CMP_M_SIZES(op, expr, ccop)                                                \
	CMP_M(op##_mi64, expr, ccop, 8, uint64_t, in->imm)                         \
	CMP_M(op##_mi32, expr, ccop, 4, uint32_t, in->imm)                         \
	CMP_M(op##_mi8, expr, ccop, 1, uint8_t, in->imm)                           \
	CMP_M(op##_mr64, expr, ccop, 8, uint64_t, cpu->gpr[R(in, 1)])              \
	CMP_M(op##_mr32, expr, ccop, 4, uint32_t, cpu->gpr[R(in, 1)])
CMP_M_SIZES(cmp, a - b, SOFT_CC_SUB)
CMP_M_SIZES(test, a & b, SOFT_CC_LOGIC)

static int push_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t sp = cpu->gpr[SOFT_RSP] - 8;
	int r = mem_wr(cpu, SOFT_SS, sp, cpu->gpr[R(in, 0)], 8);

	if (likely(!r))
		cpu->gpr[SOFT_RSP] = sp;
	return chain_ok(cpu, in, r);
}

static int pop_r64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r = mem_rd(cpu, SOFT_SS, cpu->gpr[SOFT_RSP], &v, 8);

	if (likely(!r)) {
		cpu->gpr[SOFT_RSP] += 8;
		cpu->gpr[R(in, 0)] = v;   /* POP RSP: the popped value wins */
	}
	return chain_ok(cpu, in, r);
}

static int mov_mi64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return chain_ok(cpu, in, mem_wr(cpu, in->mem.seg, soft_ea(cpu, in), in->imm, 8));
}

static int mov_mi32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return chain_ok(cpu, in, mem_wr(cpu, in->mem.seg, soft_ea(cpu, in), in->imm, 4));
}

static int movzx_rr8(struct soft_cpu *cpu, const struct soft_insn *in)
{
	cpu->gpr[R(in, 0)] = soft_gpr_read(cpu, &in->op[1]) & 0xff;
	return soft_chain(cpu, in);
}

static int movzx_rm16(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &v, 2);

	if (likely(!r))
		soft_gpr_write(cpu, &in->op[0], v);
	return chain_ok(cpu, in, r);
}

/* Read-modify-write of memory without LOCK: [m] op= r/imm. */
#define ALU_MW(name, expr, ccop, T, SZ, src)                                       \
	static int name(struct soft_cpu *cpu, const struct soft_insn *in)          \
	{                                                                          \
		uint64_t ea = soft_ea(cpu, in), m;                                 \
		int r_ = mem_rd(cpu, in->mem.seg, ea, &m, SZ);                     \
		T a = (T)m, b = (T)(src), res = (T)(expr);                         \
		if (unlikely(r_))                                                  \
			return r_;                                                 \
		r_ = mem_wr(cpu, in->mem.seg, ea, res, SZ);                        \
		if (likely(!r_))                                                   \
			set_cc(cpu, ccop, SZ, a, b, res);                          \
		return chain_ok(cpu, in, r_);                                                         \
	}
#define ALU_MW_FAMILY(op, expr, ccop)                                              \
	ALU_MW(op##_mr64w, expr, ccop, uint64_t, 8, cpu->gpr[R(in, 1)])            \
	ALU_MW(op##_mr32w, expr, ccop, uint32_t, 4, cpu->gpr[R(in, 1)])            \
	ALU_MW(op##_mi64w, expr, ccop, uint64_t, 8, in->imm)                       \
	ALU_MW(op##_mi32w, expr, ccop, uint32_t, 4, in->imm)
ALU_MW_FAMILY(add, a + b, SOFT_CC_ADD)
ALU_MW_FAMILY(sub, a - b, SOFT_CC_SUB)
ALU_MW_FAMILY(and, a & b, SOFT_CC_LOGIC)
ALU_MW_FAMILY(or, a | b, SOFT_CC_LOGIC)
ALU_MW_FAMILY(xor, a ^ b, SOFT_CC_LOGIC)

static inline int imul_common(struct soft_cpu *cpu, const struct soft_insn *in, unsigned sz,
			      uint64_t x, uint64_t y)
{
	if (sz == 8) {
		__int128 p = (__int128)(int64_t)x * (int64_t)y;
		uint64_t lo = (uint64_t)p;

		set_cc(cpu, SOFT_CC_SHIFT, 8, 0, p != (int64_t)lo ? (SOFT_FL_CF | SOFT_FL_OF) : 0, lo);
		cpu->gpr[R(in, 0)] = lo;
	} else {
		int64_t p = (int64_t)(int32_t)x * (int32_t)y;
		uint32_t lo = (uint32_t)p;

		set_cc(cpu, SOFT_CC_SHIFT, 4, 0, p != (int32_t)lo ? (SOFT_FL_CF | SOFT_FL_OF) : 0, lo);
		cpu->gpr[R(in, 0)] = lo;
	}
	return soft_chain(cpu, in);
}

static int imul_rri64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return imul_common(cpu, in, 8, cpu->gpr[R(in, 1)], in->imm);
}

static int imul_rri32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return imul_common(cpu, in, 4, cpu->gpr[R(in, 1)], in->imm);
}

static int imul_rm64(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t m;
	int r = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &m, 8);

	return r ? r : imul_common(cpu, in, 8, cpu->gpr[R(in, 0)], m);
}

static int imul_rm32(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t m;
	int r = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &m, 4);

	return r ? r : imul_common(cpu, in, 4, cpu->gpr[R(in, 0)], m);
}

/* byte moves */
static int mov_rm8(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r = mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), &v, 1);

	if (likely(!r))
		soft_gpr_write(cpu, &in->op[0], v);
	return chain_ok(cpu, in, r);
}

static int mov_mr8(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return chain_ok(cpu, in, mem_wr(cpu, in->mem.seg, soft_ea(cpu, in), soft_gpr_read(cpu, &in->op[1]), 1));
}

static int mov_mi8(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return chain_ok(cpu, in, mem_wr(cpu, in->mem.seg, soft_ea(cpu, in), in->imm, 1));
}

/* ---- selection ---------------------------------------------------------- */
static inline bool is_gpr(const struct soft_operand *o, unsigned size)
{
	return o->kind == SOFT_OPK_REG && o->rclass == SOFT_RC_GPR && o->size == size &&
	       o->gpr_off == offsetof(struct soft_cpu, gpr) + o->reg * 8;   /* not AH..BH */
}

static inline bool is_mem(const struct soft_insn *in, unsigned n, unsigned size)
{
	return in->op[n].kind == SOFT_OPK_MEM && in->op[n].size == size && !(in->prefix & SOFT_PFX_LOCK);
}

#define PICK2(fn64, fn32) (s == 8 ? (fn64) : s == 4 ? (fn32) : NULL)

soft_handler_fn soft_ops_fast__select(const struct soft_insn *in)
{
	const struct soft_operand *d = &in->op[0], *o = &in->op[1];
	unsigned s = d->size;

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_JB:
	case ZYDIS_MNEMONIC_JNB: case ZYDIS_MNEMONIC_JZ: case ZYDIS_MNEMONIC_JNZ:
	case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JNBE: case ZYDIS_MNEMONIC_JS:
	case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JNP:
	case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JLE:
	case ZYDIS_MNEMONIC_JNLE:
		return in->opsize == 8 ? jcc_fast[in->opcode & 15] : NULL;
	case ZYDIS_MNEMONIC_JMP:
		if (in->opsize == 8 && in->nops == 1 && d->kind == SOFT_OPK_IMM)
			return jmp_rel64;
		return NULL;
	default:
		break;
	}
	if (s == 1 && in->nops == 2 && d->kind == SOFT_OPK_MEM && o->kind == SOFT_OPK_IMM) {
		if (in->mnemonic == ZYDIS_MNEMONIC_CMP)
			return cmp_mi8;
		if (in->mnemonic == ZYDIS_MNEMONIC_TEST)
			return test_mi8;
	}
	if (s == 1 && in->mnemonic == ZYDIS_MNEMONIC_MOV && in->nops == 2) {
		if (d->kind == SOFT_OPK_REG && d->rclass == SOFT_RC_GPR && is_mem(in, 1, 1))
			return mov_rm8;
		if (is_mem(in, 0, 1) && o->kind == SOFT_OPK_REG && o->rclass == SOFT_RC_GPR)
			return mov_mr8;
		if (is_mem(in, 0, 1) && o->kind == SOFT_OPK_IMM)
			return mov_mi8;
	}
	if (s != 8 && s != 4)
		return NULL;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_MOV:
		if (in->nops != 2)
			return NULL;
		if (is_gpr(d, s) && is_gpr(o, s))
			return PICK2(mov_rr64, mov_rr32);
		if (is_gpr(d, s) && o->kind == SOFT_OPK_IMM)
			return PICK2(mov_ri64, mov_ri32);
		if (is_gpr(d, s) && is_mem(in, 1, s))
			return PICK2(mov_rm64, mov_rm32);
		if (is_mem(in, 0, s) && is_gpr(o, s))
			return PICK2(mov_mr64, mov_mr32);
		if (is_mem(in, 0, s) && o->kind == SOFT_OPK_IMM)
			return PICK2(mov_mi64, mov_mi32);
		return NULL;
	case ZYDIS_MNEMONIC_MOVZX:
		if (is_gpr(d, s) && is_mem(in, 1, 1))
			return movzx_rm8;
		if (is_gpr(d, s) && is_mem(in, 1, 2))
			return movzx_rm16;
		if (is_gpr(d, s) && o->kind == SOFT_OPK_REG && o->rclass == SOFT_RC_GPR && o->size == 1)
			return movzx_rr8;
		return NULL;
	case ZYDIS_MNEMONIC_PUSH:
		if (s == 8 && in->nops == 1 && is_gpr(d, 8) && in->opsize == 8)
			return push_r64;
		return NULL;
	case ZYDIS_MNEMONIC_POP:
		if (s == 8 && in->nops == 1 && is_gpr(d, 8) && in->opsize == 8)
			return pop_r64;
		return NULL;
	case ZYDIS_MNEMONIC_MOVSXD:
		if (s == 8 && is_gpr(d, 8) && is_gpr(o, 4))
			return movsxd_rr;
		return NULL;
	case ZYDIS_MNEMONIC_LEA:
		if (s == 8 && is_gpr(d, 8) && in->addrsize == 8)
			return lea64;
		return NULL;
#define ALU_CASE(M, op)                                                            \
	case ZYDIS_MNEMONIC_##M:                                                   \
		if (in->nops == 2 && is_mem(in, 0, s) && is_gpr(o, s))             \
			return PICK2(op##_mr64w, op##_mr32w);                      \
		if (in->nops == 2 && is_mem(in, 0, s) && o->kind == SOFT_OPK_IMM)  \
			return PICK2(op##_mi64w, op##_mi32w);                      \
		if (in->nops != 2 || !is_gpr(d, s))                                \
			return NULL;                                               \
		if (is_gpr(o, s))                                                  \
			return PICK2(op##_rr64, op##_rr32);                        \
		if (o->kind == SOFT_OPK_IMM)                                       \
			return PICK2(op##_ri64, op##_ri32);                        \
		if (is_mem(in, 1, s))                                              \
			return PICK2(op##_rm64, op##_rm32);                        \
		return NULL;
	ALU_CASE(ADD, add)
	ALU_CASE(SUB, sub)
	case ZYDIS_MNEMONIC_CMP:
	case ZYDIS_MNEMONIC_TEST:
		if (in->nops == 2 && d->kind == SOFT_OPK_MEM) {
			bool cmp = in->mnemonic == ZYDIS_MNEMONIC_CMP;

			if (o->kind == SOFT_OPK_IMM)
				return s == 8 ? (cmp ? cmp_mi64 : test_mi64) :
				       s == 4 ? (cmp ? cmp_mi32 : test_mi32) : NULL;
			if (is_gpr(o, s))
				return s == 8 ? (cmp ? cmp_mr64 : test_mr64) :
				       s == 4 ? (cmp ? cmp_mr32 : test_mr32) : NULL;
			return NULL;
		}
		if (in->mnemonic == ZYDIS_MNEMONIC_TEST)
			goto test_reg;
		if (in->nops != 2 || !is_gpr(d, s))
			return NULL;
		if (is_gpr(o, s))
			return PICK2(cmp_rr64, cmp_rr32);
		if (o->kind == SOFT_OPK_IMM)
			return PICK2(cmp_ri64, cmp_ri32);
		if (is_mem(in, 1, s))
			return PICK2(cmp_rm64, cmp_rm32);
		return NULL;
	ALU_CASE(AND, and)
	ALU_CASE(OR, or)
	ALU_CASE(XOR, xor)
test_reg:
		if (in->nops != 2 || !is_gpr(d, s))
			return NULL;
		if (is_gpr(o, s))
			return PICK2(test_rr64, test_rr32);
		if (o->kind == SOFT_OPK_IMM)
			return PICK2(test_ri64, test_ri32);
		if (is_mem(in, 1, s))
			return PICK2(test_rm64, test_rm32);
		return NULL;
	case ZYDIS_MNEMONIC_IMUL:
		if (in->nops == 2 && is_gpr(d, s) && is_gpr(o, s))
			return PICK2(imul_rr64, imul_rr32);
		if (in->nops == 2 && is_gpr(d, s) && is_mem(in, 1, s))
			return PICK2(imul_rm64, imul_rm32);
		if (in->nops == 3 && is_gpr(d, s) && is_gpr(o, s) && in->op[2].kind == SOFT_OPK_IMM)
			return PICK2(imul_rri64, imul_rri32);
		return NULL;
	case ZYDIS_MNEMONIC_SHL:
	case ZYDIS_MNEMONIC_SHR:
	case ZYDIS_MNEMONIC_SAR:
		if (in->nops == 2 && is_gpr(d, s) && o->kind == SOFT_OPK_REG &&
		    o->rclass == SOFT_RC_GPR && o->reg == SOFT_RCX && o->size == 1) {
			if (in->mnemonic == ZYDIS_MNEMONIC_SHL)
				return PICK2(shl_rc64, shl_rc32);
			if (in->mnemonic == ZYDIS_MNEMONIC_SHR)
				return PICK2(shr_rc64, shr_rc32);
			return PICK2(sar_rc64, sar_rc32);
		}
		if (!is_gpr(d, s) || o->kind != SOFT_OPK_IMM || !(in->imm & (s == 8 ? 63 : 31)))
			return NULL;
		if (in->mnemonic == ZYDIS_MNEMONIC_SHL)
			return PICK2(shl_ri64, shl_ri32);
		if (in->mnemonic == ZYDIS_MNEMONIC_SHR)
			return PICK2(shr_ri64, shr_ri32);
		return PICK2(sar_ri64, sar_ri32);
	case ZYDIS_MNEMONIC_ADC:
	case ZYDIS_MNEMONIC_SBB:
		if (in->nops != 2 || !is_gpr(d, s))
			return NULL;
		if (in->mnemonic == ZYDIS_MNEMONIC_ADC)
			return is_gpr(o, s) ? PICK2(adc_rr64, adc_rr32) :
			       o->kind == SOFT_OPK_IMM ? PICK2(adc_ri64, adc_ri32) : NULL;
		return is_gpr(o, s) ? PICK2(sbb_rr64, sbb_rr32) :
		       o->kind == SOFT_OPK_IMM ? PICK2(sbb_ri64, sbb_ri32) : NULL;
	case ZYDIS_MNEMONIC_CMOVO: case ZYDIS_MNEMONIC_CMOVNO: case ZYDIS_MNEMONIC_CMOVB:
	case ZYDIS_MNEMONIC_CMOVNB: case ZYDIS_MNEMONIC_CMOVZ: case ZYDIS_MNEMONIC_CMOVNZ:
	case ZYDIS_MNEMONIC_CMOVBE: case ZYDIS_MNEMONIC_CMOVNBE: case ZYDIS_MNEMONIC_CMOVS:
	case ZYDIS_MNEMONIC_CMOVNS: case ZYDIS_MNEMONIC_CMOVP: case ZYDIS_MNEMONIC_CMOVNP:
	case ZYDIS_MNEMONIC_CMOVL: case ZYDIS_MNEMONIC_CMOVNL: case ZYDIS_MNEMONIC_CMOVLE:
	case ZYDIS_MNEMONIC_CMOVNLE:
		if (in->nops == 2 && is_gpr(d, s) && is_gpr(o, s) && in->opmap == ZYDIS_OPCODE_MAP_0F)
			return PICK2(cmov_rr64, cmov_rr32);
		return NULL;
	case ZYDIS_MNEMONIC_INC:
		return s == 8 && is_gpr(d, 8) ? inc_r64 : NULL;
	case ZYDIS_MNEMONIC_DEC:
		return s == 8 && is_gpr(d, 8) ? dec_r64 : NULL;
	default:
		return NULL;
	}
}
