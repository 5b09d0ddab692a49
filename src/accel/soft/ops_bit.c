/* Shifts, rotates, double shifts, bit tests and bit scans, BSWAP.
 * Counts are masked to 5 bits (6 with 64-bit operands); a masked count of
 * zero leaves every flag alone.  Flags the SDM calls undefined follow what
 * the common CPUs do where that is cheap (OF as for count 1), else are
 * left unchanged or cleared (AF). */
#include "accel/soft/ops.h"

static int read_dst(struct soft_cpu *cpu, const struct soft_insn *in, uint64_t *v)
{
	if (in->op[0].kind == SOFT_OPK_REG) {
		*v = soft_gpr_read(cpu, &in->op[0]);
		return SOFT_OK;
	}
	return opnd_rd(cpu, in, 0, v);
}

static unsigned shift_count(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n)
{
	uint64_t c = in->op[n].kind == SOFT_OPK_IMM ? in->imm : soft_gpr_read(cpu, &in->op[n]);

	return (unsigned)(c & (in->op[0].size == 8 ? 63 : 31));
}

/* op: 0 ROL 1 ROR 2 RCL 3 RCR 4 SHL 5 SHR 6 SAL 7 SAR (ModRM.reg order) */
static int shift_common(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op)
{
	unsigned size = in->op[0].size, bits = size * 8;
	uint64_t m = soft_size_mask(size), sign = 1ull << (bits - 1);
	uint64_t a, res, cf = 0, of = 0;
	unsigned cnt = shift_count(cpu, in, 1);
	int r;

	if ((r = read_dst(cpu, in, &a)))
		return r;
	a &= m;
	if (!cnt) {
		/* no flag change; a 32-bit register destination is still written */
		return in->op[0].kind == SOFT_OPK_REG ? opnd_wr(cpu, in, 0, a) : SOFT_OK;
	}
	switch (op) {
	case 4:
	case 6:
		res = cnt < 64 ? (a << cnt) & m : 0;
		cf = cnt <= bits ? (a >> (bits - cnt)) & 1 : 0;
		of = ((res & sign) != 0) ^ cf;
		break;
	case 5:
		res = cnt < 64 ? a >> cnt : 0;
		cf = cnt <= bits ? (a >> (cnt - 1)) & 1 : 0;
		of = (a & sign) != 0;
		break;
	case 7: {
		int64_t s = sign_extend(a, size);
		unsigned c = cnt > 63 ? 63 : cnt;

		res = (uint64_t)(s >> c) & m;
		cf = (uint64_t)(s >> (c - 1)) & 1;
		of = 0;
		break;
	}
	default: {
		/* rotates: only CF and OF change */
		uint64_t f = soft_flags__get(cpu) & ~(SOFT_FL_CF | SOFT_FL_OF);
		uint64_t c = (cpu->rflags & SOFT_FL_CF) != 0;

		res = a;
		if (op == 0 || op == 1) {
			unsigned n = cnt % bits;

			if (n)
				res = op == 0 ? ((a << n) | (a >> (bits - n))) & m :
						((a >> n) | (a << (bits - n))) & m;
			if (op == 0) {
				c = res & 1;
				of = ((res & sign) != 0) ^ c;
			} else {
				c = (res & sign) != 0;
				of = c ^ ((res >> (bits - 2)) & 1);
			}
		} else {
			unsigned n = size <= 2 ? cnt % (bits + 1) : cnt;

			for (unsigned i = 0; i < n; i++) {
				if (op == 2) {
					uint64_t out = (res & sign) != 0;
					res = ((res << 1) | c) & m;
					c = out;
				} else {
					uint64_t out = res & 1;
					res = (res >> 1) | (c ? sign : 0);
					c = out;
				}
			}
			if (op == 2)
				of = ((res & sign) != 0) ^ c;
			else
				of = ((res & sign) != 0) ^ ((res >> (bits - 2)) & 1);
		}
		if ((r = opnd_wr(cpu, in, 0, res)))
			return r;
		set_arith_flags(cpu, f | (c ? SOFT_FL_CF : 0) | (of ? SOFT_FL_OF : 0));
		return SOFT_OK;
	}
	}
	if ((r = opnd_wr(cpu, in, 0, res)))
		return r;
	set_cc(cpu, SOFT_CC_SHIFT, size, a, cf | (of ? SOFT_FL_OF : 0), res);
	return SOFT_OK;
}

static int op_rol(struct soft_cpu *cpu, const struct soft_insn *in) { return shift_common(cpu, in, 0); }
static int op_ror(struct soft_cpu *cpu, const struct soft_insn *in) { return shift_common(cpu, in, 1); }
static int op_rcl(struct soft_cpu *cpu, const struct soft_insn *in) { return shift_common(cpu, in, 2); }
static int op_rcr(struct soft_cpu *cpu, const struct soft_insn *in) { return shift_common(cpu, in, 3); }
static int op_shl(struct soft_cpu *cpu, const struct soft_insn *in) { return shift_common(cpu, in, 4); }
static int op_shr(struct soft_cpu *cpu, const struct soft_insn *in) { return shift_common(cpu, in, 5); }
static int op_sar(struct soft_cpu *cpu, const struct soft_insn *in) { return shift_common(cpu, in, 7); }

static int dshift(struct soft_cpu *cpu, const struct soft_insn *in, bool left)
{
	unsigned size = in->op[0].size, bits = size * 8;
	uint64_t m = soft_size_mask(size), sign = 1ull << (bits - 1);
	uint64_t a, b = soft_gpr_read(cpu, &in->op[1]) & m, res, cf, of;
	unsigned cnt = shift_count(cpu, in, 2);
	int r;

	if ((r = read_dst(cpu, in, &a)))
		return r;
	a &= m;
	if (!cnt)
		return in->op[0].kind == SOFT_OPK_REG ? opnd_wr(cpu, in, 0, a) : SOFT_OK;
	if (size == 2 && cnt > 16) {
		/* undefined; behave like a 32-bit shift of b:a (what Intel does) */
		uint64_t wide = left ? (a << 16) | b : (b << 16) | a;
		uint64_t x = left ? (wide << cnt) >> 16 : wide >> cnt;

		res = x & m;
		cf = left ? (wide >> (32 - cnt)) & 1 : (wide >> (cnt - 1)) & 1;
	} else if (left) {
		res = ((a << cnt) | (cnt == bits ? b : b >> (bits - cnt))) & m;
		cf = (a >> (bits - cnt)) & 1;
	} else {
		res = ((a >> cnt) | (cnt == bits ? b : b << (bits - cnt))) & m;
		if (cnt == bits)
			res = b;
		cf = (a >> (cnt - 1)) & 1;
	}
	if (left && cnt == bits)
		res = b;
	of = ((res ^ a) & sign) != 0;
	if ((r = opnd_wr(cpu, in, 0, res)))
		return r;
	set_cc(cpu, SOFT_CC_SHIFT, size, a, cf | (of ? SOFT_FL_OF : 0), res);
	return SOFT_OK;
}

static int op_shld(struct soft_cpu *cpu, const struct soft_insn *in) { return dshift(cpu, in, true); }
static int op_shrd(struct soft_cpu *cpu, const struct soft_insn *in) { return dshift(cpu, in, false); }

/* BT family: 0 BT, 1 BTS, 2 BTR, 3 BTC */
static int bitop(struct soft_cpu *cpu, const struct soft_insn *in, unsigned op)
{
	unsigned size = in->op[0].size, bits = size * 8;
	uint64_t off, v, mask, nv;
	int64_t soff;
	int r;

	if (in->op[1].kind == SOFT_OPK_IMM) {
		off = in->imm & (bits - 1);
		soff = 0;
	} else {
		off = soft_gpr_read(cpu, &in->op[1]);
		soff = sign_extend(off, size);
		off &= bits - 1;
	}
	mask = 1ull << off;
	if (in->op[0].kind == SOFT_OPK_REG) {
		v = soft_gpr_read(cpu, &in->op[0]);
		nv = op == 1 ? v | mask : op == 2 ? v & ~mask : v ^ mask;
		if (op)
			soft_gpr_write(cpu, &in->op[0], nv);
	} else {
		/* register bit offsets address memory beyond the operand */
		uint64_t ea = soft_ea(cpu, in);

		if (in->op[1].kind != SOFT_OPK_IMM)
			ea += (uint64_t)((soff >> (size == 8 ? 6 : size == 4 ? 5 : 4)) * (int64_t)size);
		if (in->addrsize != 8)
			ea &= soft_size_mask(in->addrsize);
		if (op && (in->prefix & SOFT_PFX_LOCK)) {
			void *p = soft_mem_rmw_ptr(cpu, in->mem.seg, ea, size, &r);

			if (r)
				return r;
			if (p) {
				/* atomic on the containing byte is enough and never splits */
				uint8_t *bp = (uint8_t *)p + off / 8, bm = (uint8_t)(1u << (off % 8)), old;

				old = op == 1 ? __atomic_fetch_or(bp, bm, __ATOMIC_SEQ_CST) :
				      op == 2 ? __atomic_fetch_and(bp, (uint8_t)~bm, __ATOMIC_SEQ_CST) :
						__atomic_fetch_xor(bp, bm, __ATOMIC_SEQ_CST);
				set_arith_flags(cpu, (soft_flags__get(cpu) & ~SOFT_FL_CF) |
						     ((old & bm) ? SOFT_FL_CF : 0));
				return SOFT_OK;
			}
		}
		v = 0;
		if ((r = soft_mem_read(cpu, in->mem.seg, ea, &v, size)))
			return r;
		nv = op == 1 ? v | mask : op == 2 ? v & ~mask : v ^ mask;
		if (op && (r = soft_mem_write(cpu, in->mem.seg, ea, &nv, size)))
			return r;
	}
	set_arith_flags(cpu, (soft_flags__get(cpu) & ~SOFT_FL_CF) | ((v & mask) ? SOFT_FL_CF : 0));
	return SOFT_OK;
}

static int op_bt(struct soft_cpu *cpu, const struct soft_insn *in) { return bitop(cpu, in, 0); }
static int op_bts(struct soft_cpu *cpu, const struct soft_insn *in) { return bitop(cpu, in, 1); }
static int op_btr(struct soft_cpu *cpu, const struct soft_insn *in) { return bitop(cpu, in, 2); }
static int op_btc(struct soft_cpu *cpu, const struct soft_insn *in) { return bitop(cpu, in, 3); }

/* BSF/BSR; TZCNT/LZCNT are not advertised, so F3 0F BC/BD run as BSF/BSR
 * like on a CPU without BMI1/ABM (Linux's "rep; bsf" relies on that). */
static int bitscan(struct soft_cpu *cpu, const struct soft_insn *in, bool reverse)
{
	unsigned size = in->op[0].size;
	uint64_t v;
	int r = opnd_rd(cpu, in, 1, &v);
	uint64_t f;

	if (r)
		return r;
	v &= soft_size_mask(size);
	f = soft_flags__get(cpu) & ~SOFT_FL_ZF;
	if (!v) {
		set_arith_flags(cpu, f | SOFT_FL_ZF);
		return SOFT_OK;   /* destination unchanged */
	}
	set_arith_flags(cpu, f);
	soft_gpr_write(cpu, &in->op[0], reverse ? 63 - (uint64_t)__builtin_clzll(v) :
					    (uint64_t)__builtin_ctzll(v));
	return SOFT_OK;
}

static int op_bsf(struct soft_cpu *cpu, const struct soft_insn *in) { return bitscan(cpu, in, false); }
static int op_bsr(struct soft_cpu *cpu, const struct soft_insn *in) { return bitscan(cpu, in, true); }

static int op_popcnt(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int r = opnd_rd(cpu, in, 1, &v);

	if (r)
		return r;
	v &= soft_size_mask(in->op[0].size);
	set_arith_flags(cpu, v ? 0 : SOFT_FL_ZF);
	soft_gpr_write(cpu, &in->op[0], (uint64_t)__builtin_popcountll(v));
	return SOFT_OK;
}

static int op_bswap(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_operand *o = &in->op[0];
	uint64_t v = soft_gpr_read(cpu, o);

	if (o->size == 8)
		v = __builtin_bswap64(v);
	else if (o->size == 4)
		v = __builtin_bswap32((uint32_t)v);
	else
		v = 0;    /* 16-bit BSWAP is undefined; hardware gives 0 */
	soft_gpr_write(cpu, o, v);
	return SOFT_OK;
}

void soft_ops_bit__register(struct soft_vm *svm)
{
	soft_exec__register(svm, ZYDIS_MNEMONIC_ROL, op_rol);
	soft_exec__register(svm, ZYDIS_MNEMONIC_ROR, op_ror);
	soft_exec__register(svm, ZYDIS_MNEMONIC_RCL, op_rcl);
	soft_exec__register(svm, ZYDIS_MNEMONIC_RCR, op_rcr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SHL, op_shl);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SHR, op_shr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SAR, op_sar);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SHLD, op_shld);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SHRD, op_shrd);
	soft_exec__register(svm, ZYDIS_MNEMONIC_BT, op_bt);
	soft_exec__register(svm, ZYDIS_MNEMONIC_BTS, op_bts);
	soft_exec__register(svm, ZYDIS_MNEMONIC_BTR, op_btr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_BTC, op_btc);
	soft_exec__register(svm, ZYDIS_MNEMONIC_BSF, op_bsf);
	soft_exec__register(svm, ZYDIS_MNEMONIC_BSR, op_bsr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_TZCNT, op_bsf);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LZCNT, op_bsr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_POPCNT, op_popcnt);
	soft_exec__register(svm, ZYDIS_MNEMONIC_BSWAP, op_bswap);
}
