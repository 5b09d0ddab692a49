/* x87 operations executed on the host's x87 unit (see fpu_host.h).
 *
 * Why the host and not a soft-float library: the host is the same
 * architecture, so running the very instruction under the guest's FCW
 * rounding and precision control gives bit-identical results, flags and
 * condition codes, transcendental functions included.  Host exceptions are
 * always masked (a guest must never be able to raise SIGFPE in vireo); the
 * caller applies the guest's masks to the returned flags.
 *
 * The x86-64 ABI guarantees the host x87 stack is empty here; each asm
 * statement pushes at most two values and pops everything it pushed. */
#include <string.h>

#include "accel/soft/fpu_host.h"

/* Guest PC and RC, all exceptions masked. */
static inline uint16_t host_fcw(uint16_t fcw)
{
	return (uint16_t)((fcw & 0x0F00) | 0x007F);
}

#define X87_ENTER "fnstcw %[saved]\n\tfldcw %[run]\n\tfnclex\n\t"
#define X87_LEAVE "fnclex\n\tfldcw %[saved]\n\t"
#define X87_CLOBBER "st", "st(1)", "memory"

#define X87_BIN(insn)                                                      \
	asm volatile(X87_ENTER "fldt %[b]\n\tfldt %[a]\n\t" insn "\n\t"    \
		     "fnstsw %[sw]\n\tfstpt %[r]\n\tfstp %%st(0)\n\t"      \
		     X87_LEAVE                                             \
		     : [r] "=m"(*res), [sw] "=m"(sw), [saved] "=m"(saved)  \
		     : [a] "m"(*st0), [b] "m"(*st1), [run] "m"(run)        \
		     : X87_CLOBBER)

/* Instructions that pop: st1 receives the result, then st0 is popped. */
#define X87_BIN_POP(insn)                                                  \
	asm volatile(X87_ENTER "fldt %[b]\n\tfldt %[a]\n\t" insn "\n\t"    \
		     "fnstsw %[sw]\n\tfstpt %[r]\n\t" X87_LEAVE            \
		     : [r] "=m"(*res), [sw] "=m"(sw), [saved] "=m"(saved)  \
		     : [a] "m"(*st0), [b] "m"(*st1), [run] "m"(run)        \
		     : X87_CLOBBER)

uint16_t x87_host__binop(enum x87_binop op, uint16_t fcw, struct soft_x87_reg *res,
			 const struct soft_x87_reg *st0, const struct soft_x87_reg *st1)
{
	uint16_t run = host_fcw(fcw), saved, sw = 0;

	memset(res, 0, sizeof(*res));
	switch (op) {
	case X87_ADD:    X87_BIN("fadd %%st(1), %%st"); break;
	case X87_MUL:    X87_BIN("fmul %%st(1), %%st"); break;
	case X87_SUB:    X87_BIN("fsub %%st(1), %%st"); break;
	case X87_SUBR:   X87_BIN("fsubr %%st(1), %%st"); break;
	case X87_DIV:    X87_BIN("fdiv %%st(1), %%st"); break;
	case X87_DIVR:   X87_BIN("fdivr %%st(1), %%st"); break;
	case X87_PREM:   X87_BIN("fprem"); break;
	case X87_PREM1:  X87_BIN("fprem1"); break;
	case X87_SCALE:  X87_BIN("fscale"); break;
	case X87_PATAN:  X87_BIN_POP("fpatan"); break;
	case X87_YL2X:   X87_BIN_POP("fyl2x"); break;
	case X87_YL2XP1: X87_BIN_POP("fyl2xp1"); break;
	}
	return sw;
}

#define X87_UN(insn)                                                       \
	asm volatile(X87_ENTER "fldt %[a]\n\t" insn "\n\t"                 \
		     "fnstsw %[sw]\n\tfstpt %[r]\n\t" X87_LEAVE            \
		     : [r] "=m"(*res), [sw] "=m"(sw), [saved] "=m"(saved)  \
		     : [a] "m"(*a), [run] "m"(run)                         \
		     : X87_CLOBBER)

uint16_t x87_host__unop(enum x87_unop op, uint16_t fcw, struct soft_x87_reg *res,
			const struct soft_x87_reg *a)
{
	uint16_t run = host_fcw(fcw), saved, sw = 0;

	memset(res, 0, sizeof(*res));
	switch (op) {
	case X87_SQRT:   X87_UN("fsqrt"); break;
	case X87_RNDINT: X87_UN("frndint"); break;
	case X87_SIN:    X87_UN("fsin"); break;
	case X87_COS:    X87_UN("fcos"); break;
	case X87_F2XM1:  X87_UN("f2xm1"); break;
	}
	return sw;
}

/* FPTAN/FSINCOS leave a single value (and C2=1) for out-of-range input.
 * sw is early-clobber: %ax is written by fnstsw before the fstpt memory
 * operands, whose addresses the compiler may otherwise put in %rax. */
#define X87_UN2_MAYBE(insn)                                                \
	asm volatile(X87_ENTER "fldt %[a]\n\t" insn "\n\t"                 \
		     "fnstsw %%ax\n\t"                                     \
		     "testw $0x400, %%ax\n\tjnz 1f\n\t"                    \
		     "fstpt %[hi]\n"                                       \
		     "1:\n\tfstpt %[lo]\n\t" X87_LEAVE                     \
		     : [lo] "=m"(*lo), [hi] "=m"(*hi), "=&a"(sw),          \
		       [saved] "=m"(saved)                                 \
		     : [a] "m"(*a), [run] "m"(run)                         \
		     : X87_CLOBBER, "cc")

uint16_t x87_host__unop2(enum x87_unop2 op, uint16_t fcw, struct soft_x87_reg *lo,
			 struct soft_x87_reg *hi, const struct soft_x87_reg *a)
{
	uint16_t run = host_fcw(fcw), saved, sw = 0;
	struct soft_x87_reg in = *a;

	a = &in;   /* lo may alias a */
	memset(lo, 0, sizeof(*lo));
	switch (op) {
	case X87_PTAN:   X87_UN2_MAYBE("fptan"); break;
	case X87_SINCOS: X87_UN2_MAYBE("fsincos"); break;
	case X87_XTRACT:
		memset(hi, 0, sizeof(*hi));
		asm volatile(X87_ENTER "fldt %[a]\n\tfxtract\n\t"
			     "fnstsw %[sw]\n\tfstpt %[hi]\n\tfstpt %[lo]\n\t"
			     X87_LEAVE
			     : [lo] "=m"(*lo), [hi] "=m"(*hi), [sw] "=m"(sw),
			       [saved] "=m"(saved)
			     : [a] "m"(*a), [run] "m"(run)
			     : X87_CLOBBER);
		break;
	}
	return sw;
}

uint16_t x87_host__compare(bool quiet, uint16_t fcw, const struct soft_x87_reg *a,
			   const struct soft_x87_reg *b)
{
	uint16_t run = host_fcw(fcw), saved, sw = 0;

#define X87_CMP(insn)                                                      \
	asm volatile(X87_ENTER "fldt %[b]\n\tfldt %[a]\n\t" insn "\n\t"    \
		     "fnstsw %[sw]\n\t" X87_LEAVE                          \
		     : [sw] "=m"(sw), [saved] "=m"(saved)                  \
		     : [a] "m"(*a), [b] "m"(*b), [run] "m"(run)            \
		     : X87_CLOBBER)
	if (quiet)
		X87_CMP("fucompp");
	else
		X87_CMP("fcompp");
#undef X87_CMP
	return sw;
}

unsigned x87_host__mem_size(enum x87_mem kind)
{
	switch (kind) {
	case X87_M32: case X87_I32: case X87_I32_TRUNC: return 4;
	case X87_M64: case X87_I64: case X87_I64_TRUNC: return 8;
	case X87_I16: case X87_I16_TRUNC: return 2;
	case X87_M80: case X87_BCD: return 10;
	}
	return 0;
}

#define X87_LD(insn)                                                       \
	asm volatile(X87_ENTER insn " %[m]\n\t"                            \
		     "fnstsw %[sw]\n\tfstpt %[r]\n\t" X87_LEAVE            \
		     : [r] "=m"(*res), [sw] "=m"(sw), [saved] "=m"(saved)  \
		     : [m] "m"(buf), [run] "m"(run)                        \
		     : X87_CLOBBER)

uint16_t x87_host__load(enum x87_mem kind, uint16_t fcw, struct soft_x87_reg *res,
			const void *mem)
{
	uint16_t run = host_fcw(fcw), saved, sw = 0;
	uint8_t buf[16] __attribute__((aligned(16))) = { 0 };
	unsigned n = x87_host__mem_size(kind);

	memcpy(buf, mem, n);
	memset(res, 0, sizeof(*res));
	switch (kind) {
	case X87_M32: X87_LD("flds"); break;
	case X87_M64: X87_LD("fldl"); break;
	case X87_I16: X87_LD("filds"); break;
	case X87_I32: X87_LD("fildl"); break;
	case X87_I64: X87_LD("fildll"); break;
	case X87_BCD: X87_LD("fbld"); break;
	case X87_M80:
		/* FLD m80 is a plain copy: no exception, even for an SNaN. */
		memcpy(res, buf, 10);
		break;
	case X87_I16_TRUNC: case X87_I32_TRUNC: case X87_I64_TRUNC:
		break;
	}
	return sw;
}

#define X87_ST(insn)                                                       \
	asm volatile(X87_ENTER "fldt %[a]\n\t" insn " %[m]\n\t"            \
		     "fnstsw %[sw]\n\t" X87_LEAVE                          \
		     : [m] "=m"(buf), [sw] "=m"(sw), [saved] "=m"(saved)   \
		     : [a] "m"(*a), [run] "m"(run)                         \
		     : X87_CLOBBER)

uint16_t x87_host__store(enum x87_mem kind, uint16_t fcw, void *mem,
			 const struct soft_x87_reg *a)
{
	uint16_t run = host_fcw(fcw), saved, sw = 0;
	uint8_t buf[16] __attribute__((aligned(16))) = { 0 };

	switch (kind) {
	case X87_M32: X87_ST("fstps"); break;
	case X87_M64: X87_ST("fstpl"); break;
	case X87_I16: X87_ST("fistps"); break;
	case X87_I32: X87_ST("fistpl"); break;
	case X87_I64: X87_ST("fistpll"); break;
	case X87_I16_TRUNC: X87_ST("fisttps"); break;
	case X87_I32_TRUNC: X87_ST("fisttpl"); break;
	case X87_I64_TRUNC: X87_ST("fisttpll"); break;
	case X87_BCD: X87_ST("fbstp"); break;
	case X87_M80:
		memcpy(buf, a, 10);
		break;
	}
	memcpy(mem, buf, x87_host__mem_size(kind));
	return sw;
}

/* FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ: the irrational ones
 * are rounded according to FCW.RC on current CPUs, so take them from the
 * host under the guest's control word. */
#define X87_CONST(insn)                                                    \
	asm volatile(X87_ENTER insn "\n\tfnstsw %[sw]\n\tfstpt %[r]\n\t"   \
		     X87_LEAVE                                             \
		     : [r] "=m"(*res), [sw] "=m"(sw), [saved] "=m"(saved)  \
		     : [run] "m"(run)                                      \
		     : X87_CLOBBER)

uint16_t x87_host__const(unsigned which, uint16_t fcw, struct soft_x87_reg *res)
{
	uint16_t run = host_fcw(fcw), saved, sw = 0;

	memset(res, 0, sizeof(*res));
	switch (which) {
	case 0: X87_CONST("fld1"); break;
	case 1: X87_CONST("fldl2t"); break;
	case 2: X87_CONST("fldl2e"); break;
	case 3: X87_CONST("fldpi"); break;
	case 4: X87_CONST("fldlg2"); break;
	case 5: X87_CONST("fldln2"); break;
	default: X87_CONST("fldz"); break;
	}
	return sw;
}

/* Memory-operand arithmetic and compares run in their memory form: which
 * of DE/IE a NaN or denormal operand raises, and which NaN propagates,
 * depend on the operand being in memory. */
#define X87_MEMOP(insn)                                                    \
	asm volatile(X87_ENTER "fldt %[a]\n\t" insn " %[m]\n\t"            \
		     "fnstsw %[sw]\n\tfstpt %[r]\n\t" X87_LEAVE            \
		     : [r] "=m"(*res), [sw] "=m"(sw), [saved] "=m"(saved)  \
		     : [a] "m"(*st0), [m] "m"(buf), [run] "m"(run)         \
		     : X87_CLOBBER)

#define X87_MEMOP_KINDS(s, l, is, il)                                      \
	switch (kind) {                                                    \
	case X87_M32: X87_MEMOP(s); break;                                 \
	case X87_M64: X87_MEMOP(l); break;                                 \
	case X87_I16: X87_MEMOP(is); break;                                \
	default: X87_MEMOP(il); break;                                     \
	}

uint16_t x87_host__binop_mem(enum x87_binop op, enum x87_mem kind, uint16_t fcw,
			     struct soft_x87_reg *res, const struct soft_x87_reg *st0,
			     const void *mem)
{
	uint16_t run = host_fcw(fcw), saved, sw = 0;
	uint8_t buf[16] __attribute__((aligned(16))) = { 0 };

	memcpy(buf, mem, x87_host__mem_size(kind));
	memset(res, 0, sizeof(*res));
	switch (op) {
	case X87_ADD: X87_MEMOP_KINDS("fadds", "faddl", "fiadds", "fiaddl"); break;
	case X87_MUL: X87_MEMOP_KINDS("fmuls", "fmull", "fimuls", "fimull"); break;
	case X87_SUB: X87_MEMOP_KINDS("fsubs", "fsubl", "fisubs", "fisubl"); break;
	case X87_SUBR: X87_MEMOP_KINDS("fsubrs", "fsubrl", "fisubrs", "fisubrl"); break;
	case X87_DIV: X87_MEMOP_KINDS("fdivs", "fdivl", "fidivs", "fidivl"); break;
	default: X87_MEMOP_KINDS("fdivrs", "fdivrl", "fidivrs", "fidivrl"); break;
	}
	return sw;
}

#define X87_MEMCMP(insn)                                                   \
	asm volatile(X87_ENTER "fldt %[a]\n\t" insn " %[m]\n\t"            \
		     "fnstsw %[sw]\n\t" X87_LEAVE                          \
		     : [sw] "=m"(sw), [saved] "=m"(saved)                  \
		     : [a] "m"(*st0), [m] "m"(buf), [run] "m"(run)         \
		     : X87_CLOBBER)

uint16_t x87_host__compare_mem(enum x87_mem kind, uint16_t fcw,
			       const struct soft_x87_reg *st0, const void *mem)
{
	uint16_t run = host_fcw(fcw), saved, sw = 0;
	uint8_t buf[16] __attribute__((aligned(16))) = { 0 };

	memcpy(buf, mem, x87_host__mem_size(kind));
	switch (kind) {
	case X87_M32: X87_MEMCMP("fcomps"); break;
	case X87_M64: X87_MEMCMP("fcompl"); break;
	case X87_I16: X87_MEMCMP("ficomps"); break;
	default: X87_MEMCMP("ficompl"); break;
	}
	return sw;
}

/* FPREM/FPREM1 leave C0/C1/C3 alone for some operands (zero dividend,
 * infinite divisor, NaNs): run them with the guest's condition codes
 * loaded into the host FSW, through FLDENV, so "unchanged" comes out. */
uint16_t x87_host__prem(bool ieee, uint16_t fcw, uint16_t cc, struct soft_x87_reg *res,
			const struct soft_x87_reg *st0, const struct soft_x87_reg *st1)
{
	uint16_t saved, sw = 0;
	uint32_t env[7] = {
		0xFFFF0000u | host_fcw(fcw), 0xFFFF0000u | (cc & FSW_CC), 0xFFFFFFFFu,
		0, 0, 0, 0xFFFF0000u,
	};

	memset(res, 0, sizeof(*res));
#define X87_PREM_RUN(insn)                                                 \
	asm volatile("fnstcw %[saved]\n\tfldenv %[env]\n\t"                \
		     "fldt %[b]\n\tfldt %[a]\n\t" insn "\n\t"              \
		     "fnstsw %[sw]\n\tfstpt %[r]\n\tfstp %%st(0)\n\t"      \
		     "fnclex\n\tfldcw %[saved]\n\t"                        \
		     : [r] "=m"(*res), [sw] "=m"(sw), [saved] "=m"(saved)  \
		     : [a] "m"(*st0), [b] "m"(*st1), [env] "m"(env)        \
		     : X87_CLOBBER)
	if (ieee)
		X87_PREM_RUN("fprem1");
	else
		X87_PREM_RUN("fprem");
#undef X87_PREM_RUN
	return sw;
}
