/* x87 state and semantics of the software CPU (src/accel/soft/fpu_*.c):
 * register stack and tags, stack faults, masked/unmasked exceptions,
 * FXSAVE/FNSTENV layouts (against the host's own FXSAVE64/FNSTENV), and
 * the #NM/#UD/#MF availability rules. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "accel/x86_state.h"
#include "accel/soft/fpu_ops.h"

static struct soft_fpu fpu;

static void setup(void)
{
	soft_fpu__reset(&fpu);
	soft_fpu__fninit(&fpu);
}

TestSuite(soft_fpu, .init = setup);

static struct soft_x87_reg ld(long double v)
{
	struct soft_x87_reg r = { 0 };

	memcpy(&r, &v, 10);
	return r;
}

static long double val(const struct soft_x87_reg *r)
{
	long double v = 0;

	memcpy(&v, r, 10);
	return v;
}

static long double st(unsigned i)
{
	return val(&fpu.st[soft_fpu__phys(&fpu, i)]);
}

static void push(long double v)
{
	struct soft_x87_reg r = ld(v);

	x87__fld_mem(&fpu, X87_M80, &r);
}

Test(soft_fpu, push_pop_tags_and_top)
{
	push(1.5L);
	push(2.5L);
	cr_assert_eq(soft_fpu__top(&fpu), 6u);
	cr_assert_eq(fpu.ftw, 0xC0, "physical R6 and R7 valid");
	cr_assert_eq(st(0), 2.5L);
	cr_assert_eq(st(1), 1.5L);
	x87__arith(&fpu, X87_SUB, 1, 0, true);    /* FSUBP ST(1), ST(0) */
	cr_assert_eq(soft_fpu__top(&fpu), 7u);
	cr_assert_eq(st(0), -1.0L);
	cr_assert_eq(fpu.ftw, 0x80);
	cr_assert_eq(fpu.fsw & FSW_EXC, 0);
	x87__fxch(&fpu, 0);
	x87__fst_st(&fpu, 0, true);               /* FSTP ST(0) */
	cr_assert_eq(fpu.ftw, 0);
	cr_assert_eq(soft_fpu__top(&fpu), 0u);
}

Test(soft_fpu, stack_overflow_and_underflow_masked)
{
	for (unsigned i = 0; i < 8; i++)
		x87__fld_const(&fpu, 0);
	cr_assert_eq(fpu.ftw, 0xFF);
	cr_assert_eq(fpu.fsw & (FSW_IE | FSW_SF), 0);
	x87__fld_const(&fpu, 3);                  /* 9th push */
	cr_assert_eq(fpu.fsw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF | FSW_C1);
	cr_assert(isnan(st(0)), "masked overflow pushes the indefinite");
	cr_assert_eq(fpu.st[soft_fpu__phys(&fpu, 0)].mant, 0xC000000000000000ull);
	cr_assert_eq(fpu.st[soft_fpu__phys(&fpu, 0)].sexp, 0xFFFF);
	cr_assert_eq(fpu.fsw & FSW_ES, 0, "masked: no error summary");

	setup();
	push(3.0L);
	x87__arith(&fpu, X87_ADD, 0, 1, false);   /* ST(1) empty */
	cr_assert_eq(fpu.fsw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF);
	cr_assert(isnan(st(0)));
}

Test(soft_fpu, unmasked_exception_sets_es_and_keeps_destination)
{
	x87__fldcw(&fpu, FCW_DEFAULT & ~FSW_ZE);  /* unmask divide-by-zero */
	push(0.0L);
	push(1.0L);
	x87__arith(&fpu, X87_DIV, 0, 1, false);   /* 1 / 0 */
	cr_assert(fpu.fsw & FSW_ZE);
	cr_assert(fpu.fsw & FSW_ES);
	cr_assert(fpu.fsw & FSW_B);
	cr_assert_eq(st(0), 1.0L, "destination unchanged");
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_X87, X86_CR0_PE | X86_CR0_NE, 0), FPU_FAULT_MF);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_X87_NOWAIT, X86_CR0_NE, 0), FPU_OK);
	x87__fnclex(&fpu);
	cr_assert_eq(fpu.fsw & (FSW_ES | FSW_B | FSW_ZE), 0);
	/* masked: the infinity is delivered */
	x87__fldcw(&fpu, FCW_DEFAULT);
	x87__arith(&fpu, X87_DIV, 0, 1, false);
	cr_assert(isinf(st(0)));
	cr_assert_eq(fpu.fsw & FSW_ES, 0);
}

/* Host reference for the binary operations: st0 op st1 under fcw. */
static long double host_bin(enum x87_binop op, uint16_t fcw, long double a, long double b,
			    uint16_t *sw)
{
	uint16_t saved, cw = fcw | 0x3F;
	long double r;

#define HB(insn) asm volatile("fnstcw %[s]\n\tfldcw %[cw]\n\tfnclex\n\t" insn "\n\t"  \
			      "fnstsw %[sw]\n\tfldcw %[s]"                           \
			      : "=t"(r), [sw] "=m"(*sw), [s] "=m"(saved)           \
			      : "0"(a), "u"(b), [cw] "m"(cw))
	switch (op) {
	case X87_ADD: HB("fadd %%st(1), %%st"); break;
	case X87_SUB: HB("fsub %%st(1), %%st"); break;
	case X87_SUBR: HB("fsubr %%st(1), %%st"); break;
	case X87_MUL: HB("fmul %%st(1), %%st"); break;
	case X87_DIV: HB("fdiv %%st(1), %%st"); break;
	case X87_DIVR: HB("fdivr %%st(1), %%st"); break;
	case X87_PREM: HB("fprem"); break;
	case X87_PREM1: HB("fprem1"); break;
	default: HB("fscale"); break;
	}
#undef HB
	return r;
}

Test(soft_fpu, arithmetic_matches_host_for_every_rc_and_pc)
{
	static const long double vals[] = {
		0.0L, -0.0L, 1.0L, -1.0L, 3.0L, 1e-4940L, 1.18973149535723176502e+4932L,
		1.0L / 3.0L, 123456789.123456789L, INFINITY, -INFINITY, NAN, 0.1L, 1e300L,
	};
	static const enum x87_binop ops[] = {
		X87_ADD, X87_SUB, X87_SUBR, X87_MUL, X87_DIV, X87_DIVR, X87_PREM, X87_PREM1, X87_SCALE,
	};
	const unsigned nv = sizeof(vals) / sizeof(vals[0]);

	for (unsigned cwi = 0; cwi < 16; cwi++) {
		uint16_t fcw = (uint16_t)(0x007F | ((cwi & 3) << FCW_RC_SHIFT) | ((cwi >> 2) << FCW_PC_SHIFT));

		for (unsigned i = 0; i < nv; i++) {
			for (unsigned j = 0; j < nv; j++) {
				for (unsigned k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
					uint16_t sw;
					long double want = host_bin(ops[k], fcw, vals[i], vals[j], &sw);
					struct soft_x87_reg w = ld(want);

					setup();
					x87__fldcw(&fpu, fcw);
					push(vals[j]);
					push(vals[i]);
					if (ops[k] >= X87_PREM)
						x87__binop_st1(&fpu, ops[k]);
					else
						x87__arith(&fpu, ops[k], 0, 1, false);
					cr_assert(!memcmp(&fpu.st[soft_fpu__phys(&fpu, 0)], &w, 10),
						  "op %u fcw %04x %La %La", ops[k], fcw, vals[i], vals[j]);
					cr_assert_eq(fpu.fsw & (FSW_EXC | FSW_C1), sw & (FSW_EXC | FSW_C1),
						     "op %u fcw %04x flags", ops[k], fcw);
					if (ops[k] == X87_PREM || ops[k] == X87_PREM1)
						cr_assert_eq(fpu.fsw & FSW_CC, sw & FSW_CC);
				}
			}
		}
	}
}

Test(soft_fpu, compare_and_fcomi)
{
	push(2.0L);
	push(1.0L);
	x87__com(&fpu, 1, false, 0);              /* 1 < 2 */
	cr_assert_eq(fpu.fsw & (FSW_C0 | FSW_C2 | FSW_C3), FSW_C0);
	cr_assert_eq(x87__comi(&fpu, 1, false, false), X87_ZPC_CF);
	x87__fld_st(&fpu, 0);
	cr_assert_eq(x87__comi(&fpu, 1, true, true), X87_ZPC_ZF);
	cr_assert_eq(soft_fpu__top(&fpu), 6u, "FUCOMIP popped");
	push(NAN);
	x87__com(&fpu, 1, true, 0);               /* FUCOM with QNaN: unordered, no IE */
	cr_assert_eq(fpu.fsw & (FSW_C0 | FSW_C2 | FSW_C3), FSW_C0 | FSW_C2 | FSW_C3);
	cr_assert_eq(fpu.fsw & FSW_IE, 0);
	x87__com(&fpu, 1, false, 2);              /* FCOMPP with QNaN: IE, two pops */
	cr_assert(fpu.fsw & FSW_IE);
	cr_assert_eq(soft_fpu__top(&fpu), 7u);
	x87__ftst(&fpu);                          /* ST0 = 2.0 > 0 */
	cr_assert_eq(fpu.fsw & (FSW_C0 | FSW_C2 | FSW_C3), 0);
}

static uint16_t host_fxam(long double v)
{
	uint16_t sw;

	asm volatile("fxam\n\tfnstsw %0" : "=m"(sw) : "t"(v));
	return sw & FSW_CC;
}

Test(soft_fpu, fxam_matches_host)
{
	static const long double vals[] = {
		0.0L, -0.0L, 1.0L, -2.0L, 1e-4940L, -1e-4940L, INFINITY, -INFINITY, NAN, -NAN,
	};
	struct soft_x87_reg unnormal = { .mant = 0x4000000000000000ull, .sexp = 0x3FFF };

	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		setup();
		push(vals[i]);
		x87__fxam(&fpu);
		cr_assert_eq(fpu.fsw & FSW_CC, host_fxam(vals[i]), "value %La", vals[i]);
	}
	setup();
	x87__fxam(&fpu);
	cr_assert_eq(fpu.fsw & (FSW_C0 | FSW_C2 | FSW_C3), FSW_C3 | FSW_C0, "empty");
	x87__push_value(&fpu, &unnormal);
	x87__fxam(&fpu);
	cr_assert_eq(fpu.fsw & (FSW_C0 | FSW_C2 | FSW_C3), 0, "unsupported");
}

Test(soft_fpu, integer_stores_and_loads)
{
	uint8_t m[16];
	int16_t i16;
	int32_t i32;
	int64_t i64 = INT64_MIN;

	push(2.5L);
	cr_assert(x87__fst_mem(&fpu, X87_I32, m, false));
	memcpy(&i32, m, 4);
	cr_assert_eq(i32, 2, "round to nearest even");
	cr_assert(fpu.fsw & FSW_PE);
	cr_assert(x87__fst_mem(&fpu, X87_I32_TRUNC, m, false));
	memcpy(&i32, m, 4);
	cr_assert_eq(i32, 2);
	x87__fldcw(&fpu, FCW_DEFAULT | (2u << FCW_RC_SHIFT));   /* round up */
	cr_assert(x87__fst_mem(&fpu, X87_I16, m, true));
	memcpy(&i16, m, 2);
	cr_assert_eq(i16, 3);
	cr_assert_eq(fpu.ftw, 0, "FISTP popped");
	push(1e10L);
	cr_assert(x87__fst_mem(&fpu, X87_I16, m, false), "masked IE still stores");
	memcpy(&i16, m, 2);
	cr_assert_eq((uint16_t)i16, 0x8000, "integer indefinite");
	cr_assert(fpu.fsw & FSW_IE);
	x87__fld_mem(&fpu, X87_I64, &i64);
	cr_assert_eq(st(0), -9223372036854775808.0L);
	/* FST m32 from an empty stack: masked underflow stores the QNaN */
	setup();
	cr_assert(x87__fst_mem(&fpu, X87_M32, m, true));
	cr_assert_eq(*(uint32_t *)m, 0xFFC00000u);
	cr_assert_eq(fpu.fsw & (FSW_IE | FSW_SF), FSW_IE | FSW_SF);
	/* unmasked: nothing stored, no pop */
	setup();
	x87__fldcw(&fpu, FCW_DEFAULT & ~FSW_IE);
	cr_assert(!x87__fst_mem(&fpu, X87_M32, m, true));
	cr_assert_eq(soft_fpu__top(&fpu), 0u);
}

Test(soft_fpu, transcendentals_and_fptan_range)
{
	struct soft_x87_reg big = ld(1e30L);

	push(0.5L);
	x87__unop2(&fpu, X87_PTAN);
	cr_assert_eq(st(0), 1.0L, "FPTAN pushes 1.0");
	cr_assert(fabsl(st(1) - tanl(0.5L)) < 1e-18L);
	setup();
	x87__push_value(&fpu, &big);
	x87__unop2(&fpu, X87_PTAN);
	cr_assert(fpu.fsw & FSW_C2, "out of range: C2");
	cr_assert_eq(soft_fpu__top(&fpu), 7u, "nothing pushed");
	cr_assert_eq(st(0), 1e30L);
	setup();
	push(8.0L);
	x87__unop2(&fpu, X87_XTRACT);
	cr_assert_eq(st(0), 1.0L, "significand");
	cr_assert_eq(st(1), 3.0L, "exponent");
	setup();
	push(2.0L);      /* ST1 = y */
	push(1.0L);      /* ST0 = x */
	x87__binop_st1(&fpu, X87_PATAN);
	cr_assert(fabsl(st(0) - atan2l(2.0L, 1.0L)) < 1e-18L);
	cr_assert_eq(soft_fpu__top(&fpu), 7u);
}

Test(soft_fpu, fxsave_round_trips_host_image)
{
	uint8_t host[512] __attribute__((aligned(16))), mine[512];
	long double a = 1.25L, b = -3.0L;
	uint16_t cw = 0x0B7F;

	memset(host, 0xA5, sizeof(host));
	/* a host state with two stack entries, a non-default FCW, set flags */
	asm volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\tfld1\n\tfldz\n\t"
		     "fdivr %%st(1), %%st\n\t"   /* 1/0 -> ZE (masked) */
		     "fstp %%st(1)\n\t"
		     "fxsave64 %[img]\n\tfninit"
		     : [img] "=m"(host) : [a] "m"(a), [b] "m"(b), [cw] "m"(cw) : "memory");
	memcpy(mine, host, sizeof(mine));
	cr_assert_eq(soft_fpu__fxrstor(&fpu, host, true, 16), FPU_OK);
	cr_assert_eq(fpu.fcw, 0x0B7F);
	cr_assert_eq(soft_fpu__top(&fpu), 5u);
	cr_assert_eq(fpu.ftw, 0xE0);
	cr_assert(isinf(st(0)));
	cr_assert_eq(st(1), 1.25L);
	cr_assert_eq(st(2), -3.0L);
	soft_fpu__fxsave(&fpu, mine, true, 16);
	/* FOP/FIP/FDP are allowed to differ (we do not track them) */
	cr_assert(!memcmp(mine, host, 6), "FCW/FSW/FTW");
	cr_assert(!memcmp(mine + 24, host + 24, 4), "MXCSR");
	cr_assert(!memcmp(mine + 32, host + 32, 416 - 32), "ST, XMM");
	cr_assert_eq(*(uint32_t *)(mine + 28), SOFT_MXCSR_MASK);
	for (unsigned i = 416; i < 512; i++)
		cr_assert_eq(mine[i], 0xA5, "bytes 416..511 untouched");
	/* reserved MXCSR bits: #GP and no change */
	mine[27] = 0x80;
	fpu.fcw = 0x1234;
	cr_assert_eq(soft_fpu__fxrstor(&fpu, mine, true, 16), FPU_FAULT_GP);
	cr_assert_eq(fpu.fcw, 0x1234);
}

Test(soft_fpu, fxsave_layout_offsets)
{
	uint8_t img[512] = { 0 };

	fpu.fcw = 0x027F;
	push(7.0L);
	fpu.mxcsr = 0x1FA0;
	fpu.xmm[0].q[0] = 0x1111;
	fpu.xmm[15].q[1] = 0xFFFF000000000000ull;
	fpu.fip = 0x123456789Aull;
	soft_fpu__fxsave(&fpu, img, true, 16);
	cr_assert_eq(*(uint16_t *)(img + 0), 0x027F);
	cr_assert_eq((*(uint16_t *)(img + 2) >> 11) & 7, 7u, "TOP in FSW");
	cr_assert_eq(img[4], 0x80, "abridged tag: physical R7");
	cr_assert_eq(*(uint64_t *)(img + 8), 0x123456789Aull, "64-bit FIP");
	cr_assert_eq(*(uint32_t *)(img + 24), 0x1FA0u);
	cr_assert_eq(*(uint64_t *)(img + 32), 0xE000000000000000ull, "ST0 significand of 7.0");
	cr_assert_eq(*(uint16_t *)(img + 40), 0x4001);
	cr_assert_eq(*(uint64_t *)(img + 160), 0x1111u);
	cr_assert_eq(*(uint64_t *)(img + 160 + 15 * 16 + 8), 0xFFFF000000000000ull);
	memset(img, 0, sizeof(img));
	soft_fpu__fxsave(&fpu, img, false, 8);
	cr_assert_eq(*(uint32_t *)(img + 8), 0x3456789Au, "32-bit FIP");
	cr_assert_eq(*(uint64_t *)(img + 160 + 8 * 16 + 8), 0u, "XMM8+ not stored");
}

Test(soft_fpu, fnstenv_matches_host_and_fnsave_round_trips)
{
	uint8_t host[28], mine[28], save[108];
	long double a = 0.0L, b = 5.0L;

	asm volatile("fninit\n\tfldt %[b]\n\tfldt %[a]\n\tfnstenv %[env]\n\tfninit"
		     : [env] "=m"(host) : [a] "m"(a), [b] "m"(b) : "memory");
	push(5.0L);
	push(0.0L);
	soft_fpu__fnstenv(&fpu, mine, true);
	for (unsigned i = 0; i < 12; i += 4)
		cr_assert_eq(*(uint16_t *)(mine + i), *(uint16_t *)(host + i),
			     "FCW, FSW, full tag word (field at %u)", i);
	cr_assert_eq(*(uint16_t *)(mine + 8), 0x1FFF, "R7 valid, R6 zero, rest empty");
	cr_assert_eq(fpu.fcw & FCW_MASKS, FCW_MASKS);
	soft_fpu__fnsave(&fpu, save, true);
	cr_assert_eq(fpu.ftw, 0, "FNSAVE reinitialises");
	cr_assert_eq(fpu.fcw, FCW_DEFAULT);
	soft_fpu__frstor(&fpu, save, true);
	cr_assert_eq(st(0), 0.0L);
	cr_assert_eq(st(1), 5.0L);
	cr_assert_eq(fpu.ftw, 0xC0);
}

Test(soft_fpu, fldcw_reserved_bits_like_host)
{
	uint16_t in[] = { 0x0000, 0xFFFF, 0x037F, 0x1F40, 0xE000 };

	for (unsigned i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		uint16_t out, saved;

		asm volatile("fnclex\n\tfnstcw %1\n\tfldcw %2\n\tfnstcw %0\n\tfldcw %1"
			     : "=m"(out), "=m"(saved) : "m"(in[i]));
		x87__fldcw(&fpu, in[i]);
		cr_assert_eq(fpu.fcw, out, "fldcw %04x", in[i]);
	}
}

Test(soft_fpu, availability_rules)
{
	const uint64_t pe = X86_CR0_PE | X86_CR0_NE, osfxsr = X86_CR4_OSFXSR;

	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_SSE, pe, osfxsr), FPU_OK);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_SSE, pe, 0), FPU_FAULT_UD);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_SSE, pe | X86_CR0_EM, osfxsr), FPU_FAULT_UD);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_SSE, pe | X86_CR0_TS, osfxsr), FPU_FAULT_NM);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_SSE, pe | X86_CR0_TS, 0), FPU_FAULT_UD,
		     "#UD has priority over #NM");
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_X87, pe | X86_CR0_EM, 0), FPU_FAULT_NM);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_X87, pe | X86_CR0_TS, 0), FPU_FAULT_NM);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_MMX, pe | X86_CR0_EM, 0), FPU_FAULT_UD);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_MMX, pe | X86_CR0_TS, 0), FPU_FAULT_NM);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_WAIT, pe | X86_CR0_TS, 0), FPU_OK,
		     "WAIT needs TS and MP");
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_WAIT, pe | X86_CR0_TS | X86_CR0_MP, 0),
		     FPU_FAULT_NM);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_FXSR, pe | X86_CR0_TS, 0), FPU_FAULT_NM);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_FXSR, pe, 0), FPU_OK,
		     "FXSAVE works without OSFXSR");
	fpu.fsw |= FSW_ES;
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_WAIT, pe, 0), FPU_FAULT_MF);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_MMX, pe, 0), FPU_FAULT_MF);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_SSE, pe, osfxsr), FPU_OK, "SSE ignores ES");
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_SSE_MMX, pe, osfxsr), FPU_FAULT_MF);
	cr_assert_eq(soft_fpu__check(&fpu, FPU_CLASS_FXSR, pe, 0), FPU_OK);
	cr_assert_eq(soft_fpu__ldmxcsr(&fpu, 0x10000), FPU_FAULT_GP);
	cr_assert_eq(soft_fpu__ldmxcsr(&fpu, 0xFFFF), FPU_OK);
}

Test(soft_fpu, mmx_aliasing)
{
	push(1.0L);
	soft_fpu__mm_write(&fpu, 3, 0x0123456789ABCDEFull);
	cr_assert_eq(soft_fpu__top(&fpu), 0u);
	cr_assert_eq(fpu.ftw, 0xFF);
	cr_assert_eq(fpu.st[3].sexp, 0xFFFF);
	cr_assert_eq(soft_fpu__mm_read(&fpu, 3), 0x0123456789ABCDEFull);
	x87__emms(&fpu);
	cr_assert_eq(fpu.ftw, 0);
}
