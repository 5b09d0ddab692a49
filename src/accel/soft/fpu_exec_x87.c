/* x87 arithmetic/data handlers: decode the operand shapes Zydis gives
 * (ST(i) registers, m16/m32/m64/m80 memory) and call fpu_x87.c. */
#include <string.h>

#include "accel/soft/fpu_exec.h"

static bool is_mem(const struct soft_insn *in)
{
	return in->nops >= 1 && in->op[0].kind == SOFT_OPK_MEM;
}

static enum x87_mem fp_kind(unsigned size)
{
	return size == 4 ? X87_M32 : size == 8 ? X87_M64 : X87_M80;
}

static enum x87_mem int_kind(unsigned size)
{
	return size == 2 ? X87_I16 : size == 4 ? X87_I32 : X87_I64;
}

static int read_mem(struct soft_cpu *cpu, const struct soft_insn *in, enum x87_mem kind,
		    uint8_t buf[16])
{
	memset(buf, 0, 16);
	return fpu_exec__mem_read(cpu, in, buf, x87_host__mem_size(kind));
}

static int h_fld(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint8_t buf[16];
	enum x87_mem kind;
	int r = fpu_exec__avail(cpu, FPU_CLASS_X87);

	if (r)
		return r;
	if (!is_mem(in)) {
		if (in->nops < 1)
			return soft_raise_ud(cpu);
		x87__fld_st(&cpu->fpu, in->op[0].reg & 7);
		return SOFT_OK;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_FILD: kind = int_kind(in->op[0].size); break;
	case ZYDIS_MNEMONIC_FBLD: kind = X87_BCD; break;
	default: kind = fp_kind(in->op[0].size); break;
	}
	r = read_mem(cpu, in, kind, buf);
	if (!r)
		x87__fld_mem(&cpu->fpu, kind, buf);
	return r;
}

static int h_fst(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct soft_fpu *f = &cpu->fpu;
	bool pop = true;
	uint16_t fsw = f->fsw;
	uint8_t ftw = f->ftw;
	uint8_t buf[16] = { 0 };
	enum x87_mem kind;
	unsigned size = in->op[0].size;
	int r = fpu_exec__avail(cpu, FPU_CLASS_X87);

	if (r)
		return r;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_FST: case ZYDIS_MNEMONIC_FIST:
		pop = false;
		break;
	default:
		break;
	}
	if (!is_mem(in)) {
		if (in->nops < 1)
			return soft_raise_ud(cpu);
		x87__fst_st(f, in->op[0].reg & 7, pop);
		return SOFT_OK;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_FIST: case ZYDIS_MNEMONIC_FISTP:
		kind = int_kind(size);
		break;
	case ZYDIS_MNEMONIC_FISTTP:
		kind = size == 2 ? X87_I16_TRUNC : size == 4 ? X87_I32_TRUNC : X87_I64_TRUNC;
		break;
	case ZYDIS_MNEMONIC_FBSTP:
		kind = X87_BCD;
		break;
	default:
		kind = fp_kind(size);
		break;
	}
	if (!x87__fst_mem(f, kind, buf, pop))
		return SOFT_OK;
	r = fpu_exec__mem_write(cpu, in, buf, x87_host__mem_size(kind));
	if (r) {
		/* A store only changes status, tags and TOP: undo them. */
		f->fsw = fsw;
		f->ftw = ftw;
	}
	return r;
}

static enum x87_binop arith_op(unsigned mnemonic)
{
	switch (mnemonic) {
	case ZYDIS_MNEMONIC_FADD: case ZYDIS_MNEMONIC_FADDP: case ZYDIS_MNEMONIC_FIADD:
		return X87_ADD;
	case ZYDIS_MNEMONIC_FMUL: case ZYDIS_MNEMONIC_FMULP: case ZYDIS_MNEMONIC_FIMUL:
		return X87_MUL;
	case ZYDIS_MNEMONIC_FSUB: case ZYDIS_MNEMONIC_FSUBP: case ZYDIS_MNEMONIC_FISUB:
		return X87_SUB;
	case ZYDIS_MNEMONIC_FSUBR: case ZYDIS_MNEMONIC_FSUBRP: case ZYDIS_MNEMONIC_FISUBR:
		return X87_SUBR;
	case ZYDIS_MNEMONIC_FDIV: case ZYDIS_MNEMONIC_FDIVP: case ZYDIS_MNEMONIC_FIDIV:
		return X87_DIV;
	default:
		return X87_DIVR;
	}
}

static int h_arith(struct soft_cpu *cpu, const struct soft_insn *in)
{
	enum x87_binop op = arith_op(in->mnemonic);
	bool pop, integer;
	uint8_t buf[16];
	enum x87_mem kind;
	int r = fpu_exec__avail(cpu, FPU_CLASS_X87);

	if (r)
		return r;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_FADDP: case ZYDIS_MNEMONIC_FMULP: case ZYDIS_MNEMONIC_FSUBP:
	case ZYDIS_MNEMONIC_FSUBRP: case ZYDIS_MNEMONIC_FDIVP: case ZYDIS_MNEMONIC_FDIVRP:
		pop = true;
		break;
	default:
		pop = false;
		break;
	}
	if (!is_mem(in)) {
		/* Zydis: "op ST(dst), ST(src)"; the bare DE-form aliases show
		 * as ST(1), ST(0) too. */
		unsigned dst = in->nops >= 1 ? in->op[0].reg & 7 : 1;
		unsigned src = in->nops >= 2 ? in->op[1].reg & 7 : 0;

		x87__arith(&cpu->fpu, op, dst, src, pop);
		return SOFT_OK;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_FIADD: case ZYDIS_MNEMONIC_FIMUL: case ZYDIS_MNEMONIC_FISUB:
	case ZYDIS_MNEMONIC_FISUBR: case ZYDIS_MNEMONIC_FIDIV: case ZYDIS_MNEMONIC_FIDIVR:
		integer = true;
		break;
	default:
		integer = false;
		break;
	}
	kind = integer ? int_kind(in->op[0].size) : fp_kind(in->op[0].size);
	r = read_mem(cpu, in, kind, buf);
	if (!r)
		x87__arith_mem(&cpu->fpu, op, kind, buf);
	return r;
}

static int h_compare(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct soft_fpu *f = &cpu->fpu;
	bool quiet = false, pop = false;
	unsigned pops = 0, zpc;
	uint8_t buf[16];
	enum x87_mem kind;
	int r = fpu_exec__avail(cpu, FPU_CLASS_X87);

	if (r)
		return r;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_FUCOM: quiet = true; break;
	case ZYDIS_MNEMONIC_FUCOMP: quiet = true; pops = 1; break;
	case ZYDIS_MNEMONIC_FUCOMPP: quiet = true; pops = 2; break;
	case ZYDIS_MNEMONIC_FCOMP: case ZYDIS_MNEMONIC_FICOMP: pops = 1; break;
	case ZYDIS_MNEMONIC_FCOMPP: pops = 2; break;
	case ZYDIS_MNEMONIC_FUCOMI: quiet = true; break;
	case ZYDIS_MNEMONIC_FUCOMIP: quiet = true; pop = true; break;
	case ZYDIS_MNEMONIC_FCOMIP: pop = true; break;
	case ZYDIS_MNEMONIC_FTST:
		x87__ftst(f);
		return SOFT_OK;
	default: break;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_FCOMI: case ZYDIS_MNEMONIC_FCOMIP:
	case ZYDIS_MNEMONIC_FUCOMI: case ZYDIS_MNEMONIC_FUCOMIP:
		zpc = x87__comi(f, in->nops >= 2 ? in->op[1].reg & 7 : 1, quiet, pop);
		if (zpc != X87_COMI_NONE)
			fpu_exec__set_zpc(cpu, zpc);
		return SOFT_OK;
	default:
		break;
	}
	if (!is_mem(in)) {
		unsigned i = in->nops >= 1 ? in->op[in->nops - 1].reg & 7 : 1;

		if (in->nops >= 2)   /* "fcom st0, st(i)" spelling */
			i = in->op[1].reg & 7;
		x87__com(f, i, quiet, pops);
		return SOFT_OK;
	}
	if (in->mnemonic == ZYDIS_MNEMONIC_FICOM || in->mnemonic == ZYDIS_MNEMONIC_FICOMP)
		kind = int_kind(in->op[0].size);
	else
		kind = fp_kind(in->op[0].size);
	r = read_mem(cpu, in, kind, buf);
	if (!r)
		x87__com_mem(f, kind, buf, pops != 0);
	return r;
}

static int h_misc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct soft_fpu *f = &cpu->fpu;
	unsigned i = in->nops >= 1 ? in->op[in->nops - 1].reg & 7 : 1;
	int r = fpu_exec__avail(cpu, FPU_CLASS_X87);

	if (r)
		return r;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_FXAM: x87__fxam(f); break;
	case ZYDIS_MNEMONIC_FCHS: x87__fchs(f); break;
	case ZYDIS_MNEMONIC_FABS: x87__fabs(f); break;
	case ZYDIS_MNEMONIC_FSQRT: x87__unop(f, X87_SQRT); break;
	case ZYDIS_MNEMONIC_FRNDINT: x87__unop(f, X87_RNDINT); break;
	case ZYDIS_MNEMONIC_FSIN: x87__unop(f, X87_SIN); break;
	case ZYDIS_MNEMONIC_FCOS: x87__unop(f, X87_COS); break;
	case ZYDIS_MNEMONIC_F2XM1: x87__unop(f, X87_F2XM1); break;
	case ZYDIS_MNEMONIC_FPTAN: x87__unop2(f, X87_PTAN); break;
	case ZYDIS_MNEMONIC_FSINCOS: x87__unop2(f, X87_SINCOS); break;
	case ZYDIS_MNEMONIC_FXTRACT: x87__unop2(f, X87_XTRACT); break;
	case ZYDIS_MNEMONIC_FPREM: x87__binop_st1(f, X87_PREM); break;
	case ZYDIS_MNEMONIC_FPREM1: x87__binop_st1(f, X87_PREM1); break;
	case ZYDIS_MNEMONIC_FSCALE: x87__binop_st1(f, X87_SCALE); break;
	case ZYDIS_MNEMONIC_FPATAN: x87__binop_st1(f, X87_PATAN); break;
	case ZYDIS_MNEMONIC_FYL2X: x87__binop_st1(f, X87_YL2X); break;
	case ZYDIS_MNEMONIC_FYL2XP1: x87__binop_st1(f, X87_YL2XP1); break;
	case ZYDIS_MNEMONIC_FLD1: x87__fld_const(f, 0); break;
	case ZYDIS_MNEMONIC_FLDL2T: x87__fld_const(f, 1); break;
	case ZYDIS_MNEMONIC_FLDL2E: x87__fld_const(f, 2); break;
	case ZYDIS_MNEMONIC_FLDPI: x87__fld_const(f, 3); break;
	case ZYDIS_MNEMONIC_FLDLG2: x87__fld_const(f, 4); break;
	case ZYDIS_MNEMONIC_FLDLN2: x87__fld_const(f, 5); break;
	case ZYDIS_MNEMONIC_FLDZ: x87__fld_const(f, 6); break;
	case ZYDIS_MNEMONIC_FXCH: x87__fxch(f, i); break;
	case ZYDIS_MNEMONIC_FFREE: x87__ffree(f, i, false); break;
	case ZYDIS_MNEMONIC_FFREEP: x87__ffree(f, i, true); break;
	case ZYDIS_MNEMONIC_FINCSTP: x87__fincstp(f); break;
	case ZYDIS_MNEMONIC_FDECSTP: x87__fdecstp(f); break;
	default: break;   /* FNOP */
	}
	return SOFT_OK;
}

static int h_fcmov(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned cc;
	int r = fpu_exec__avail(cpu, FPU_CLASS_X87);

	if (r)
		return r;
	/* Jcc condition numbers: B=2 NB=3 E=4 NE=5 BE=6 NBE=7 P=10 NP=11 */
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_FCMOVB: cc = 2; break;
	case ZYDIS_MNEMONIC_FCMOVNB: cc = 3; break;
	case ZYDIS_MNEMONIC_FCMOVE: cc = 4; break;
	case ZYDIS_MNEMONIC_FCMOVNE: cc = 5; break;
	case ZYDIS_MNEMONIC_FCMOVBE: cc = 6; break;
	case ZYDIS_MNEMONIC_FCMOVNBE: cc = 7; break;
	case ZYDIS_MNEMONIC_FCMOVU: cc = 10; break;
	default: cc = 11; break;
	}
	x87__fcmov(&cpu->fpu, in->nops >= 2 ? in->op[1].reg & 7 : 1,
		   soft_flags__cond(cpu, cc));
	return SOFT_OK;
}

void soft_fpu__register_x87(struct soft_vm *svm)
{
	static const struct { uint16_t mnemonic; soft_handler_fn fn; } tab[] = {
		{ ZYDIS_MNEMONIC_FLD, h_fld }, { ZYDIS_MNEMONIC_FILD, h_fld },
		{ ZYDIS_MNEMONIC_FBLD, h_fld },
		{ ZYDIS_MNEMONIC_FST, h_fst }, { ZYDIS_MNEMONIC_FSTP, h_fst },
		{ ZYDIS_MNEMONIC_FSTPNCE, h_fst }, { ZYDIS_MNEMONIC_FIST, h_fst },
		{ ZYDIS_MNEMONIC_FISTP, h_fst }, { ZYDIS_MNEMONIC_FISTTP, h_fst },
		{ ZYDIS_MNEMONIC_FBSTP, h_fst },
		{ ZYDIS_MNEMONIC_FADD, h_arith }, { ZYDIS_MNEMONIC_FADDP, h_arith },
		{ ZYDIS_MNEMONIC_FIADD, h_arith }, { ZYDIS_MNEMONIC_FMUL, h_arith },
		{ ZYDIS_MNEMONIC_FMULP, h_arith }, { ZYDIS_MNEMONIC_FIMUL, h_arith },
		{ ZYDIS_MNEMONIC_FSUB, h_arith }, { ZYDIS_MNEMONIC_FSUBP, h_arith },
		{ ZYDIS_MNEMONIC_FISUB, h_arith }, { ZYDIS_MNEMONIC_FSUBR, h_arith },
		{ ZYDIS_MNEMONIC_FSUBRP, h_arith }, { ZYDIS_MNEMONIC_FISUBR, h_arith },
		{ ZYDIS_MNEMONIC_FDIV, h_arith }, { ZYDIS_MNEMONIC_FDIVP, h_arith },
		{ ZYDIS_MNEMONIC_FIDIV, h_arith }, { ZYDIS_MNEMONIC_FDIVR, h_arith },
		{ ZYDIS_MNEMONIC_FDIVRP, h_arith }, { ZYDIS_MNEMONIC_FIDIVR, h_arith },
		{ ZYDIS_MNEMONIC_FCOM, h_compare }, { ZYDIS_MNEMONIC_FCOMP, h_compare },
		{ ZYDIS_MNEMONIC_FCOMPP, h_compare }, { ZYDIS_MNEMONIC_FUCOM, h_compare },
		{ ZYDIS_MNEMONIC_FUCOMP, h_compare }, { ZYDIS_MNEMONIC_FUCOMPP, h_compare },
		{ ZYDIS_MNEMONIC_FICOM, h_compare }, { ZYDIS_MNEMONIC_FICOMP, h_compare },
		{ ZYDIS_MNEMONIC_FCOMI, h_compare }, { ZYDIS_MNEMONIC_FCOMIP, h_compare },
		{ ZYDIS_MNEMONIC_FUCOMI, h_compare }, { ZYDIS_MNEMONIC_FUCOMIP, h_compare },
		{ ZYDIS_MNEMONIC_FTST, h_compare },
		{ ZYDIS_MNEMONIC_FXAM, h_misc }, { ZYDIS_MNEMONIC_FCHS, h_misc },
		{ ZYDIS_MNEMONIC_FABS, h_misc }, { ZYDIS_MNEMONIC_FSQRT, h_misc },
		{ ZYDIS_MNEMONIC_FRNDINT, h_misc }, { ZYDIS_MNEMONIC_FSIN, h_misc },
		{ ZYDIS_MNEMONIC_FCOS, h_misc }, { ZYDIS_MNEMONIC_F2XM1, h_misc },
		{ ZYDIS_MNEMONIC_FPTAN, h_misc }, { ZYDIS_MNEMONIC_FSINCOS, h_misc },
		{ ZYDIS_MNEMONIC_FXTRACT, h_misc }, { ZYDIS_MNEMONIC_FPREM, h_misc },
		{ ZYDIS_MNEMONIC_FPREM1, h_misc }, { ZYDIS_MNEMONIC_FSCALE, h_misc },
		{ ZYDIS_MNEMONIC_FPATAN, h_misc }, { ZYDIS_MNEMONIC_FYL2X, h_misc },
		{ ZYDIS_MNEMONIC_FYL2XP1, h_misc }, { ZYDIS_MNEMONIC_FLD1, h_misc },
		{ ZYDIS_MNEMONIC_FLDL2T, h_misc }, { ZYDIS_MNEMONIC_FLDL2E, h_misc },
		{ ZYDIS_MNEMONIC_FLDPI, h_misc }, { ZYDIS_MNEMONIC_FLDLG2, h_misc },
		{ ZYDIS_MNEMONIC_FLDLN2, h_misc }, { ZYDIS_MNEMONIC_FLDZ, h_misc },
		{ ZYDIS_MNEMONIC_FXCH, h_misc }, { ZYDIS_MNEMONIC_FFREE, h_misc },
		{ ZYDIS_MNEMONIC_FFREEP, h_misc }, { ZYDIS_MNEMONIC_FINCSTP, h_misc },
		{ ZYDIS_MNEMONIC_FDECSTP, h_misc }, { ZYDIS_MNEMONIC_FNOP, h_misc },
		{ ZYDIS_MNEMONIC_FCMOVB, h_fcmov }, { ZYDIS_MNEMONIC_FCMOVNB, h_fcmov },
		{ ZYDIS_MNEMONIC_FCMOVE, h_fcmov }, { ZYDIS_MNEMONIC_FCMOVNE, h_fcmov },
		{ ZYDIS_MNEMONIC_FCMOVBE, h_fcmov }, { ZYDIS_MNEMONIC_FCMOVNBE, h_fcmov },
		{ ZYDIS_MNEMONIC_FCMOVU, h_fcmov }, { ZYDIS_MNEMONIC_FCMOVNU, h_fcmov },
	};

	for (unsigned i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		soft_exec__register(svm, tab[i].mnemonic, tab[i].fn);
}
