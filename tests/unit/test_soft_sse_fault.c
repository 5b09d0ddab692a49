/* x87/MMX/SSE/SSE2 handlers of the software CPU: the fault conditions
 * (#NM, #UD, alignment #GP, MXCSR #GP, #XM, #MF) and 32-bit-mode FXSAVE,
 * through the normal decode and dispatch. */
#include <criterion/criterion.h>
#include <math.h>

#include "soft_test_util.h"
#include "accel/soft/fpu_ops.h"

#define CODE  0x100000ull
#define DATA  0x200000ull   /* guest-physical = linear (identity map) */

static struct st_env env;

static void setup(void)
{
	st_init(&env, 64);
	soft_fpu__register_handlers(env.svm);
	env.cpu->cr4 |= X86_CR4_OSXMMEXCPT;
}

static void teardown(void)
{
	st_fini(&env);
}

TestSuite(soft_sse_fault, .init = setup, .fini = teardown);

/* ---- faults ------------------------------------------------------------- */
#define EXC_INSNS(X)                                                               \
	X(e_movaps, "movaps 8(%rsi), %xmm0")                                       \
	X(e_movups, "movups 8(%rsi), %xmm0")                                       \
	X(e_movaps_st, "movaps %xmm0, 8(%rsi)")                                    \
	X(e_paddb, "paddb 8(%rsi), %xmm0")                                         \
	X(e_paddb_mm, "paddb 8(%rsi), %mm0")                                       \
	X(e_addps, "addps %xmm1, %xmm0")                                           \
	X(e_divss, "divss %xmm1, %xmm0")                                           \
	X(e_fadd, "fadd %st(1), %st")                                              \
	X(e_fdiv, "fdiv %st(1), %st")                                              \
	X(e_fwait, "fwait")                                                        \
	X(e_fnclex, "fnclex")                                                      \
	X(e_fxsave, "fxsave64 (%rsi)")                                             \
	X(e_fxrstor, "fxrstor64 (%rsi)")                                           \
	X(e_ldmxcsr, "ldmxcsr (%rsi)")

#define DEFE(id, text) DEF(id, text, 0)
#define DEF(id, text, kind)                                                        \
	asm(".pushsection .rodata\n" "ti_" #id "_s:\n\t" text "\n" "ti_" #id "_e:\n\t" \
	    ".popsection");                                                        \
	extern const uint8_t ti_##id##_s[], ti_##id##_e[];
EXC_INSNS(DEFE)
#undef DEF
#undef DEFE

/* Run one instruction at CODE; returns the exception vector, or -1. */
static int run_one(const uint8_t *s, const uint8_t *e, uint64_t rsi)
{
	struct soft_cpu *cpu = env.cpu;
	int r;

	st_code(&env, CODE, s, (size_t)(e - s));
	cpu->rip = CODE;
	cpu->gpr[SOFT_RSI] = rsi;
	cpu->exc.vector = -1;
	r = soft_exec__run(cpu, 1);
	if (r == SOFT_RUN_EXCEPTION) {
		cr_assert_eq(cpu->rip, CODE, "fault leaves RIP at the instruction");
		return cpu->exc.vector;
	}
	cr_assert_eq(r, SOFT_RUN_BUDGET);
	cr_assert_eq(cpu->rip, CODE + (uint64_t)(e - s));
	return -1;
}

#define RUN(id, rsi) run_one(ti_##id##_s, ti_##id##_e, rsi)

Test(soft_sse_fault, device_not_available_and_undefined)
{
	struct soft_cpu *cpu = env.cpu;
	uint64_t cr0 = cpu->cr0, cr4 = cpu->cr4;

	cr_assert_eq(RUN(e_addps, DATA), -1);
	cpu->cr0 = cr0 | X86_CR0_TS;
	cr_assert_eq(RUN(e_addps, DATA), SOFT_EXC_NM);
	cr_assert_eq(RUN(e_fadd, DATA), SOFT_EXC_NM);
	cr_assert_eq(RUN(e_paddb_mm, DATA), SOFT_EXC_NM);
	cr_assert_eq(RUN(e_fxsave, DATA), SOFT_EXC_NM);
	cpu->cr0 = (cr0 | X86_CR0_TS) & ~X86_CR0_MP;
	cr_assert_eq(RUN(e_fwait, DATA), -1, "WAIT ignores TS without MP");
	cpu->cr0 = cr0 | X86_CR0_TS | X86_CR0_MP;
	cr_assert_eq(RUN(e_fwait, DATA), SOFT_EXC_NM);
	cpu->cr0 = cr0;
	cpu->cr4 = cr4 & ~X86_CR4_OSFXSR;
	cr_assert_eq(RUN(e_addps, DATA), SOFT_EXC_UD);
	cr_assert_eq(RUN(e_movaps, DATA + 16), SOFT_EXC_UD);
	cr_assert_eq(RUN(e_fadd, DATA), -1, "x87 does not need OSFXSR");
	cr_assert_eq(RUN(e_fxsave, DATA), -1, "FXSAVE does not need OSFXSR");
	cpu->cr4 = cr4;
	cpu->cr0 = cr0 | X86_CR0_EM;
	cr_assert_eq(RUN(e_addps, DATA), SOFT_EXC_UD);
	cr_assert_eq(RUN(e_paddb_mm, DATA), SOFT_EXC_UD);
	cr_assert_eq(RUN(e_fadd, DATA), SOFT_EXC_NM);
	cpu->cr0 = cr0;
}

Test(soft_sse_fault, alignment_faults)
{
	cr_assert_eq(RUN(e_movaps, DATA + 8), -1);
	cr_assert_eq(RUN(e_movaps, DATA), SOFT_EXC_GP, "movaps 8(%%rsi) with rsi 16-aligned");
	cr_assert_eq(env.cpu->exc.error_code, 0u);
	cr_assert_eq(RUN(e_movaps_st, DATA), SOFT_EXC_GP);
	cr_assert_eq(RUN(e_movups, DATA), -1);
	cr_assert_eq(RUN(e_paddb, DATA), SOFT_EXC_GP);
	cr_assert_eq(RUN(e_paddb_mm, DATA), -1, "MMX operands need no alignment");
	cr_assert_eq(RUN(e_fxsave, DATA + 8), SOFT_EXC_GP);
	cr_assert_eq(RUN(e_fxrstor, DATA + 8), SOFT_EXC_GP);
}

Test(soft_sse_fault, mxcsr_reserved_bits_fault)
{
	struct soft_cpu *cpu = env.cpu;
	uint8_t *g = env.vm->ram + DATA;
	uint32_t v = 0x10000 | MXCSR_DEFAULT;

	memcpy(g, &v, 4);
	cr_assert_eq(RUN(e_ldmxcsr, DATA), SOFT_EXC_GP);
	cr_assert_eq(cpu->fpu.mxcsr, MXCSR_DEFAULT);
	v = MXCSR_DEFAULT | (3u << MXCSR_RC_SHIFT);
	memcpy(g, &v, 4);
	cr_assert_eq(RUN(e_ldmxcsr, DATA), -1);
	cr_assert_eq(cpu->fpu.mxcsr, v);
	/* FXRSTOR with a bad MXCSR: #GP, state unchanged */
	cr_assert_eq(RUN(e_fxsave, DATA), -1);
	v = 0x20000;
	memcpy(g + 24, &v, 4);
	cpu->fpu.xmm[0].q[0] = 0x1234;
	cr_assert_eq(RUN(e_fxrstor, DATA), SOFT_EXC_GP);
	cr_assert_eq(cpu->fpu.xmm[0].q[0], 0x1234u);
}

Test(soft_sse_fault, unmasked_simd_exception)
{
	struct soft_cpu *cpu = env.cpu;

	cpu->fpu.xmm[0].fs[0] = 1.0f;
	cpu->fpu.xmm[1].fs[0] = 0.0f;
	cpu->fpu.mxcsr = MXCSR_DEFAULT & ~(MXCSR_ZE << MXCSR_MASK_SHIFT);
	cr_assert_eq(RUN(e_divss, DATA), SOFT_EXC_XM);
	cr_assert_eq(cpu->fpu.xmm[0].fs[0], 1.0f, "destination unchanged");
	cr_assert(cpu->fpu.mxcsr & MXCSR_ZE);
	cpu->cr4 &= ~X86_CR4_OSXMMEXCPT;
	cr_assert_eq(RUN(e_divss, DATA), SOFT_EXC_UD, "no OSXMMEXCPT: #UD");
	cpu->fpu.mxcsr = MXCSR_DEFAULT;
	cr_assert_eq(RUN(e_divss, DATA), -1);
	cr_assert(isinf(cpu->fpu.xmm[0].fs[0]));
	cr_assert_eq(cpu->fpu.mxcsr, MXCSR_DEFAULT | MXCSR_ZE);
}

Test(soft_sse_fault, pending_x87_exception_is_delivered_by_next_waiting_insn)
{
	struct soft_cpu *cpu = env.cpu;
	struct soft_x87_reg one = { .mant = 1ull << 63, .sexp = 0x3FFF };
	struct soft_x87_reg zero = { 0 };

	soft_fpu__fninit(&cpu->fpu);
	x87__fldcw(&cpu->fpu, FCW_DEFAULT & ~FSW_ZE);
	x87__push_value(&cpu->fpu, &zero);
	x87__push_value(&cpu->fpu, &one);
	cr_assert_eq(RUN(e_fdiv, DATA), -1, "the faulting instruction completes");
	cr_assert(cpu->fpu.fsw & FSW_ES);
	cr_assert_eq(RUN(e_fadd, DATA), SOFT_EXC_MF);
	cr_assert_eq(RUN(e_fwait, DATA), SOFT_EXC_MF);
	cr_assert_eq(RUN(e_addps, DATA), -1, "SSE does not look at x87 errors");
	cr_assert_eq(RUN(e_fnclex, DATA), -1);
	cr_assert_eq(RUN(e_fadd, DATA), -1);
}

/* 32-bit protected mode: FXSAVE stores XMM0-7 only and the 32-bit
 * FIP/FCS/FDP/FDS layout; SSE works the same. */
Test(soft_sse_fault, fxsave_in_32bit_mode)
{
	static const uint8_t fxsave_esi[] = { 0x0f, 0xae, 0x06 };   /* fxsave [esi] */
	struct st_env e32;
	uint8_t *g;
	int r;

	st_init(&e32, 32);
	soft_fpu__register_handlers(e32.svm);
	g = e32.vm->ram + DATA;
	memset(g, 0xEE, 512);
	e32.cpu->fpu.xmm[7].q[1] = 0x7777777777777777ull;
	e32.cpu->fpu.xmm[8].q[0] = 0x8888888888888888ull;
	e32.cpu->fpu.fip = 0x1122334455ull;
	e32.cpu->fpu.fcs = 0x10;
	st_code(&e32, CODE, fxsave_esi, sizeof(fxsave_esi));
	e32.cpu->rip = CODE;
	e32.cpu->gpr[SOFT_RSI] = DATA;
	r = soft_exec__run(e32.cpu, 1);
	cr_assert_eq(r, SOFT_RUN_BUDGET, "run %d exc %d", r, e32.cpu->exc.vector);
	cr_assert_eq(*(uint64_t *)(g + 160 + 7 * 16 + 8), 0x7777777777777777ull);
	cr_assert_eq(g[160 + 8 * 16], 0xEE, "XMM8-15 area not written");
	cr_assert_eq(*(uint32_t *)(g + 8), 0x22334455u, "32-bit FIP");
	cr_assert_eq(*(uint16_t *)(g + 12), 0x10, "FCS");
	cr_assert_eq(g[511], 0xEE);
	st_fini(&e32);
}
