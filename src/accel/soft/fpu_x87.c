/* x87 instruction semantics over struct soft_fpu: register stack, tags,
 * stack faults and exception bookkeeping here; the arithmetic itself runs
 * on the host x87 (fpu_host.c).
 *
 * Masked responses follow SDM vol. 1 ch. 8.5: stack underflow/overflow set
 * IE|SF (C1 = 1 for overflow) and produce the QNaN indefinite.  With the
 * exception unmasked, ES/B are set, nothing is written or popped, and the
 * #MF is raised by the next waiting instruction.  Precision control is
 * honoured (the host runs with the guest's FCW.PC). */
#include <string.h>

#include "accel/soft/fpu_ops.h"

const struct soft_x87_reg x87_indefinite = {
	.mant = 0xC000000000000000ull, .sexp = 0xFFFF,
};
static const struct soft_x87_reg x87_zero;

static struct soft_x87_reg *st(struct soft_fpu *f, unsigned i)
{
	return &f->st[soft_fpu__phys(f, i)];
}

static void set_st(struct soft_fpu *f, unsigned i, const struct soft_x87_reg *v)
{
	unsigned p = soft_fpu__phys(f, i);

	f->st[p] = *v;
	memset(f->st[p].pad, 0, sizeof(f->st[p].pad));
	f->ftw |= (uint8_t)(1u << p);
}

static void pop(struct soft_fpu *f)
{
	f->ftw &= (uint8_t)~(1u << soft_fpu__phys(f, 0));
	soft_fpu__set_top(f, soft_fpu__top(f) + 1);
}

void x87__push_value(struct soft_fpu *f, const struct soft_x87_reg *v)
{
	soft_fpu__set_top(f, soft_fpu__top(f) - 1);
	set_st(f, 0, v);
}

#define SUPPRESS_ARITH (FSW_IE | FSW_DE | FSW_ZE)
#define SUPPRESS_STORE (FSW_IE | FSW_DE | FSW_ZE | FSW_OE | FSW_UE)

/* Record the status of an operation: exception bits are sticky, the bits
 * in ccmask are replaced.  Returns false if an unmasked exception in
 * `suppress` forbids writing the result. */
static bool status(struct soft_fpu *f, uint16_t sw, uint16_t ccmask, uint16_t suppress)
{
	uint16_t ex = sw & (FSW_EXC | FSW_SF);
	uint16_t unmasked = ex & FSW_EXC & ~f->fcw;

	f->fsw = (uint16_t)((f->fsw & ~ccmask) | (sw & ccmask) | ex);
	if (unmasked)
		f->fsw |= FSW_ES | FSW_B;
	return !(unmasked & suppress);
}

#define UNDERFLOW (FSW_IE | FSW_SF)
#define OVERFLOW  (FSW_IE | FSW_SF | FSW_C1)

static bool ok_status(struct soft_fpu *f, uint16_t sw)
{
	return status(f, sw, FSW_C1, SUPPRESS_ARITH);
}

/* Push `v`; a full stack gives the masked overflow response (an empty
 * source register, sw = UNDERFLOW, takes precedence). */
static void push_checked(struct soft_fpu *f, const struct soft_x87_reg *v, uint16_t sw)
{
	if (!soft_fpu__st_empty(f, 7) && !(sw & FSW_SF)) {
		if (!ok_status(f, OVERFLOW))
			return;
		v = &x87_indefinite;
	} else if (!ok_status(f, sw & ~FSW_C1)) {
		return;
	}
	x87__push_value(f, v);
}

void x87__fld_st(struct soft_fpu *f, unsigned i)
{
	struct soft_x87_reg v = *st(f, i);
	uint16_t sw = 0;

	if (soft_fpu__st_empty(f, i)) {
		v = x87_indefinite;
		sw = UNDERFLOW;
	}
	push_checked(f, &v, sw);
}

void x87__fld_mem(struct soft_fpu *f, enum x87_mem kind, const void *mem)
{
	struct soft_x87_reg v;
	uint16_t sw = x87_host__load(kind, f->fcw, &v, mem);

	push_checked(f, &v, sw);
}

void x87__fld_const(struct soft_fpu *f, unsigned which)
{
	struct soft_x87_reg v;
	uint16_t sw = x87_host__const(which, f->fcw, &v);

	push_checked(f, &v, sw);
}

void x87__fst_st(struct soft_fpu *f, unsigned i, bool do_pop)
{
	struct soft_x87_reg v = *st(f, 0);

	if (soft_fpu__st_empty(f, 0)) {
		if (!ok_status(f, UNDERFLOW))
			return;
		v = x87_indefinite;
	} else {
		f->fsw &= (uint16_t)~FSW_C1;
	}
	set_st(f, i, &v);
	if (do_pop)
		pop(f);
}

bool x87__fst_mem(struct soft_fpu *f, enum x87_mem kind, void *mem, bool do_pop)
{
	uint16_t sw;

	if (soft_fpu__st_empty(f, 0)) {
		if (!status(f, UNDERFLOW, FSW_C1, SUPPRESS_STORE))
			return false;
		sw = x87_host__store(kind, f->fcw, mem, &x87_indefinite);
		status(f, sw & ~FSW_C1, FSW_C1, 0);
	} else {
		sw = x87_host__store(kind, f->fcw, mem, st(f, 0));
		if (!status(f, sw, FSW_C1, SUPPRESS_STORE))
			return false;
	}
	if (do_pop)
		pop(f);
	return true;
}

void x87__arith(struct soft_fpu *f, enum x87_binop op, unsigned dst, unsigned src,
		bool do_pop)
{
	struct soft_x87_reg res;

	if (soft_fpu__st_empty(f, dst) || soft_fpu__st_empty(f, src)) {
		if (!ok_status(f, UNDERFLOW))
			return;
		res = x87_indefinite;
	} else {
		uint16_t sw = x87_host__binop(op, f->fcw, &res, st(f, dst), st(f, src));

		if (!ok_status(f, sw))
			return;
	}
	set_st(f, dst, &res);
	if (do_pop)
		pop(f);
}

void x87__arith_mem(struct soft_fpu *f, enum x87_binop op, enum x87_mem kind,
		    const void *mem)
{
	struct soft_x87_reg res;
	uint16_t sw;

	if (soft_fpu__st_empty(f, 0)) {
		if (!ok_status(f, UNDERFLOW))
			return;
		res = x87_indefinite;
	} else {
		sw = x87_host__binop_mem(op, kind, f->fcw, &res, st(f, 0), mem);
		if (!ok_status(f, sw))
			return;
	}
	set_st(f, 0, &res);
}

/* Record a compare's outcome (host_sw: from the host compare, unless
 * ST(0) or the other register is empty); returns false if an unmasked
 * exception stops the instruction.  FCOM* replace C0-C3; FCOMI* only touch
 * C1 on a stack fault and report through EFLAGS. */
static bool compare_status(struct soft_fpu *f, bool empty, uint16_t host_sw, bool comi,
			   uint16_t *cc)
{
	uint16_t sw = empty ? (UNDERFLOW | FSW_C0 | FSW_C2 | FSW_C3) : (host_sw & ~FSW_C1);
	uint16_t ccmask = comi ? (empty ? FSW_C1 : 0) : FSW_CC;

	*cc = sw & (FSW_C0 | FSW_C2 | FSW_C3);
	return status(f, sw, ccmask, FSW_IE | FSW_DE);
}

static uint16_t host_compare(struct soft_fpu *f, unsigned i, bool quiet, bool *empty)
{
	*empty = soft_fpu__st_empty(f, 0) || soft_fpu__st_empty(f, i);
	return *empty ? 0 : x87_host__compare(quiet, f->fcw, st(f, 0), st(f, i));
}

void x87__com(struct soft_fpu *f, unsigned i, bool quiet, unsigned pops)
{
	bool empty;
	uint16_t cc, sw = host_compare(f, i, quiet, &empty);

	if (!compare_status(f, empty, sw, false, &cc))
		return;
	while (pops--)
		pop(f);
}

void x87__com_mem(struct soft_fpu *f, enum x87_mem kind, const void *mem, bool do_pop)
{
	bool empty = soft_fpu__st_empty(f, 0);
	uint16_t cc, sw = empty ? 0 : x87_host__compare_mem(kind, f->fcw, st(f, 0), mem);

	if (!compare_status(f, empty, sw, false, &cc))
		return;
	if (do_pop)
		pop(f);
}

unsigned x87__comi(struct soft_fpu *f, unsigned i, bool quiet, bool do_pop)
{
	bool empty;
	uint16_t cc, sw = host_compare(f, i, quiet, &empty);
	unsigned zpc;

	if (!compare_status(f, empty, sw, true, &cc))
		return X87_COMI_NONE;
	zpc = ((cc & FSW_C3) ? X87_ZPC_ZF : 0) | ((cc & FSW_C2) ? X87_ZPC_PF : 0) |
	      ((cc & FSW_C0) ? X87_ZPC_CF : 0);
	if (do_pop)
		pop(f);
	return zpc;
}

void x87__ftst(struct soft_fpu *f)
{
	bool empty = soft_fpu__st_empty(f, 0);
	uint16_t cc, sw = empty ? 0 : x87_host__compare(false, f->fcw, st(f, 0), &x87_zero);

	compare_status(f, empty, sw, false, &cc);
}

void x87__fxam(struct soft_fpu *f)
{
	const struct soft_x87_reg *r = st(f, 0);
	unsigned exp = r->sexp & 0x7FFF;
	bool j = r->mant >> 63;
	uint16_t cc;

	if (soft_fpu__st_empty(f, 0))
		cc = FSW_C3 | FSW_C0;
	else if (exp == 0x7FFF)
		cc = !j ? 0 : (r->mant << 1) ? FSW_C0 : (FSW_C2 | FSW_C0);
	else if (exp == 0)
		cc = r->mant ? (FSW_C3 | FSW_C2) : FSW_C3;
	else
		cc = j ? FSW_C2 : 0;
	if (r->sexp & 0x8000)
		cc |= FSW_C1;
	f->fsw = (uint16_t)((f->fsw & ~FSW_CC) | cc);
}

static void sign_op(struct soft_fpu *f, bool chs)
{
	struct soft_x87_reg v = *st(f, 0);

	if (soft_fpu__st_empty(f, 0)) {
		if (!ok_status(f, UNDERFLOW))
			return;
		v = x87_indefinite;
	} else {
		f->fsw &= (uint16_t)~FSW_C1;
		v.sexp = (uint16_t)(chs ? v.sexp ^ 0x8000 : v.sexp & 0x7FFF);
	}
	set_st(f, 0, &v);
}

void x87__fchs(struct soft_fpu *f) { sign_op(f, true); }
void x87__fabs(struct soft_fpu *f) { sign_op(f, false); }

void x87__unop(struct soft_fpu *f, enum x87_unop op)
{
	struct soft_x87_reg res;
	uint16_t cc = FSW_C1;

	if (op == X87_SIN || op == X87_COS)
		cc |= FSW_C2;
	if (soft_fpu__st_empty(f, 0)) {
		if (!status(f, UNDERFLOW, cc, SUPPRESS_ARITH))
			return;
		res = x87_indefinite;
	} else {
		uint16_t sw = x87_host__unop(op, f->fcw, &res, st(f, 0));

		if (!status(f, sw, cc, SUPPRESS_ARITH))
			return;
	}
	set_st(f, 0, &res);
}

void x87__unop2(struct soft_fpu *f, enum x87_unop2 op)
{
	struct soft_x87_reg lo, hi;
	uint16_t cc = op == X87_XTRACT ? FSW_C1 : (FSW_C1 | FSW_C2), sw;

	if (soft_fpu__st_empty(f, 0) || !soft_fpu__st_empty(f, 7)) {
		sw = soft_fpu__st_empty(f, 0) ? UNDERFLOW : OVERFLOW;
		if (!status(f, sw, cc, SUPPRESS_ARITH))
			return;
		set_st(f, 0, &x87_indefinite);
		x87__push_value(f, &x87_indefinite);
		return;
	}
	sw = x87_host__unop2(op, f->fcw, &lo, &hi, st(f, 0));
	if (op == X87_XTRACT)
		sw &= (uint16_t)~FSW_C2;
	if (!status(f, sw, cc, SUPPRESS_ARITH))
		return;
	set_st(f, 0, &lo);
	if (!(sw & FSW_C2))
		x87__push_value(f, &hi);
}

void x87__binop_st1(struct soft_fpu *f, enum x87_binop op)
{
	bool to_st1 = op == X87_PATAN || op == X87_YL2X || op == X87_YL2XP1;
	bool prem = op == X87_PREM || op == X87_PREM1;
	uint16_t cc = prem ? FSW_CC : FSW_C1;
	struct soft_x87_reg res;

	if (soft_fpu__st_empty(f, 0) || soft_fpu__st_empty(f, 1)) {
		/* FPREM: the quotient bits C0/C3 stay as they were */
		if (!status(f, UNDERFLOW, prem ? (FSW_C1 | FSW_C2) : cc, SUPPRESS_ARITH))
			return;
		res = x87_indefinite;
	} else {
		uint16_t sw = prem ? x87_host__prem(op == X87_PREM1, f->fcw, f->fsw, &res,
						    st(f, 0), st(f, 1))
				   : x87_host__binop(op, f->fcw, &res, st(f, 0), st(f, 1));

		if (!status(f, sw, cc, SUPPRESS_ARITH))
			return;
	}
	if (to_st1) {
		set_st(f, 1, &res);
		pop(f);
	} else {
		set_st(f, 0, &res);
	}
}

void x87__fxch(struct soft_fpu *f, unsigned i)
{
	struct soft_x87_reg a = *st(f, 0), b = *st(f, i);

	if (soft_fpu__st_empty(f, 0) || soft_fpu__st_empty(f, i)) {
		if (!ok_status(f, UNDERFLOW))
			return;
		if (soft_fpu__st_empty(f, 0))
			a = x87_indefinite;
		if (soft_fpu__st_empty(f, i))
			b = x87_indefinite;
	} else {
		f->fsw &= (uint16_t)~FSW_C1;
	}
	set_st(f, 0, &b);
	set_st(f, i, &a);
}

void x87__fcmov(struct soft_fpu *f, unsigned i, bool cond)
{
	if (soft_fpu__st_empty(f, 0) || soft_fpu__st_empty(f, i)) {
		if (ok_status(f, UNDERFLOW))
			set_st(f, 0, &x87_indefinite);
		return;
	}
	if (cond) {
		struct soft_x87_reg v = *st(f, i);

		set_st(f, 0, &v);
	}
}

void x87__ffree(struct soft_fpu *f, unsigned i, bool do_pop)
{
	f->fsw &= (uint16_t)~FSW_C1;
	f->ftw &= (uint8_t)~(1u << soft_fpu__phys(f, i));
	if (do_pop)
		pop(f);
}

void x87__fincstp(struct soft_fpu *f)
{
	f->fsw &= (uint16_t)~FSW_C1;
	soft_fpu__set_top(f, soft_fpu__top(f) + 1);
}

void x87__fdecstp(struct soft_fpu *f)
{
	f->fsw &= (uint16_t)~FSW_C1;
	soft_fpu__set_top(f, soft_fpu__top(f) - 1);
}

void x87__fnclex(struct soft_fpu *f)
{
	f->fsw &= (uint16_t)~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
}

void x87__fldcw(struct soft_fpu *f, uint16_t cw)
{
	/* Bit 6 reads as one, bits 13-15 as zero. */
	f->fcw = (uint16_t)((cw & 0x1F3F) | 0x0040);
	/* Unmasking a pending exception makes it pending for #MF. */
	if (f->fsw & FSW_EXC & ~f->fcw)
		f->fsw |= FSW_ES | FSW_B;
	else
		f->fsw &= (uint16_t)~(FSW_ES | FSW_B);
}

/* Like every MMX instruction, EMMS also resets TOP. */
void x87__emms(struct soft_fpu *f)
{
	soft_fpu__set_top(f, 0);
	f->ftw = 0;
}
