/* Soft CPU threaded dispatch (ops_fast.c soft_chain*): handlers running
 * each other must keep the run loop's contract: exact instruction budget
 * and count, precise faults (RIP of the faulting instruction, earlier
 * instructions retired, later ones not), and code invalidation noticed. */
#include <criterion/criterion.h>

#include "soft_test_util.h"

#define CODE 0x100000ull
#define MB2 (2ull << 20)

static struct st_env env;

static void setup(void) { st_init(&env, 64); }
static void teardown(void) { st_fini(&env); }

TestSuite(soft_chain, .init = setup, .fini = teardown);

/*  0: xor eax, eax;  2: mov ecx, 100;  7: add rax, rcx;  10: dec rcx;
 * 13: jnz 7;  15: ud2 */
static const uint8_t loop[] = {
	0x31, 0xc0, 0xb9, 0x64, 0x00, 0x00, 0x00, 0x48, 0x01, 0xc8,
	0x48, 0xff, 0xc9, 0x75, 0xf8, 0x0f, 0x0b,
};

Test(soft_chain, loop_result_and_count)
{
	struct soft_cpu *cpu = env.cpu;

	st_code(&env, CODE, loop, sizeof(loop));
	cpu->rip = CODE;
	cr_assert_eq(soft_exec__run(cpu, 100000), SOFT_RUN_EXCEPTION);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_UD);
	cr_expect_eq(cpu->rip, CODE + 15);
	cr_expect_eq(cpu->gpr[SOFT_RAX], 5050u);
	cr_expect_eq(cpu->gpr[SOFT_RCX], 0u);
	/* 2 + 100 iterations of 3 + the faulting UD2 */
	cr_expect_eq(cpu->stats.insns, 303u);
}

Test(soft_chain, exact_budget)
{
	struct soft_cpu *cpu = env.cpu;

	st_code(&env, CODE, loop, sizeof(loop));
	cpu->rip = CODE;
	cr_assert_eq(soft_exec__run(cpu, 20), SOFT_RUN_BUDGET);   /* decoded, warm */
	cpu->rip = CODE;
	cr_assert_eq(soft_exec__run(cpu, 50), SOFT_RUN_BUDGET);
	/* 2 + 16 iterations: at the ADD of the 17th */
	cr_expect_eq(cpu->rip, CODE + 7);
	cr_expect_eq(cpu->gpr[SOFT_RCX], 84u);
	cr_expect_eq(cpu->gpr[SOFT_RAX], (100u + 85u) * 16u / 2u);
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->rip, CODE + 10);
	cr_expect_eq(cpu->gpr[SOFT_RAX], (100u + 85u) * 16u / 2u + 84u);
	cr_expect_eq(cpu->stats.insns, 20u + 50u + 1u);
}

/*  0: mov eax, 1;  5: mov ebx, 2;  10: mov rdx, [rsi];  13: mov ecx, 3;
 * 18: ud2 */
static const uint8_t seq[] = {
	0xb8, 0x01, 0x00, 0x00, 0x00, 0xbb, 0x02, 0x00, 0x00, 0x00,
	0x48, 0x8b, 0x16, 0xb9, 0x03, 0x00, 0x00, 0x00, 0x0f, 0x0b,
};

Test(soft_chain, fault_inside_chain_is_precise)
{
	struct soft_cpu *cpu = env.cpu;
	uint64_t va = MB2 + 0x5000;

	st_code(&env, CODE, seq, sizeof(seq));
	cpu->gpr[SOFT_RSI] = va;
	cpu->rip = CODE;
	cr_assert_eq(soft_exec__run(cpu, 100), SOFT_RUN_EXCEPTION);   /* decode all */
	cr_expect_eq(cpu->rip, CODE + 18);
	/* now the load faults, with the records cached and chaining */
	*st_pte(&env, va) &= ~1ull;
	soft_tlb__flush(cpu, true);
	cpu->gpr[SOFT_RAX] = cpu->gpr[SOFT_RBX] = cpu->gpr[SOFT_RCX] = 0x55;
	cpu->gpr[SOFT_RDX] = 0x66;
	cpu->exc.vector = -1;
	cpu->stats.insns = 0;
	cpu->rip = CODE;
	cr_assert_eq(soft_exec__run(cpu, 100), SOFT_RUN_EXCEPTION);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_PF);
	cr_expect_eq(cpu->rip, CODE + 10);
	cr_expect_eq(cpu->cr2, va);
	cr_expect_eq(cpu->gpr[SOFT_RAX], 1u);
	cr_expect_eq(cpu->gpr[SOFT_RBX], 2u);
	cr_expect_eq(cpu->gpr[SOFT_RDX], 0x66u);
	cr_expect_eq(cpu->gpr[SOFT_RCX], 0x55u, "instruction after the fault ran");
	cr_expect_eq(cpu->stats.insns, 3u);
}

/* A chained store rewrites the immediate of the next instruction, whose
 * record is cached: the chain must stop and the new bytes run.
 *  0: mov eax, 0;  5: mov byte [rdi], 7;  8: mov al, 1;  10: ud2 */
Test(soft_chain, store_into_next_instruction)
{
	struct soft_cpu *cpu = env.cpu;
	const uint8_t code[] = {
		0xb8, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x07, 0x07, 0xb0, 0x01, 0x0f, 0x0b,
	};

	st_code(&env, CODE, code, sizeof(code));
	/* warm the cache with the store aimed at a data page */
	cpu->gpr[SOFT_RDI] = MB2 + 0x6000;
	cpu->rip = CODE;
	cr_assert_eq(soft_exec__run(cpu, 100), SOFT_RUN_EXCEPTION);
	cr_expect_eq(cpu->gpr[SOFT_RAX], 1u);
	cr_expect_eq(env.vm->ram[MB2 + 0x6000], 7u);
	cpu->gpr[SOFT_RDI] = CODE + 9;
	cpu->exc.vector = -1;
	cpu->rip = CODE;
	cr_assert_eq(soft_exec__run(cpu, 100), SOFT_RUN_EXCEPTION);
	cr_expect_eq(cpu->rip, CODE + 10);
	cr_expect_eq(cpu->gpr[SOFT_RAX], 7u, "stale decoded instruction ran");
}
