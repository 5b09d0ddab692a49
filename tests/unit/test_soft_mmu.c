/* Soft CPU core: page walk and #PF error codes, A/D bits, TLB flushing,
 * decode-cache invalidation (store and DMA), page-crossing fetches and data
 * accesses, REP MOVS/STOS across pages. */
#include <criterion/criterion.h>

#include "soft_test_util.h"

#define MB2 (2ull << 20)

static struct st_env env;

static void setup(void) { st_init(&env, 64); }
static void teardown(void) { st_fini(&env); }

TestSuite(soft_mmu, .init = setup, .fini = teardown);

static void set_cpl(struct soft_cpu *cpu, unsigned cpl)
{
	cpu->seg[SOFT_SS].dpl = (uint8_t)cpl;
	cpu->seg[SOFT_CS].dpl = (uint8_t)cpl;
	soft_cpu__update_mode(cpu);
}

Test(soft_mmu, pf_error_codes)
{
	struct soft_cpu *cpu = env.cpu;
	uint64_t va = MB2 + 0x5000, v = 0;

	/* not present, read: err 0 */
	*st_pte(&env, va) &= ~1ull;
	soft_tlb__flush(cpu, true);
	cr_assert_eq(soft_lin_read(cpu, va + 8, &v, 8, SOFT_ACC_READ), SOFT_EXC);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_PF);
	cr_expect_eq(cpu->exc.error_code, 0u);
	cr_expect_eq(cpu->cr2, va + 8);
	/* not present, user write: W|U */
	set_cpl(cpu, 3);
	cr_assert_eq(soft_lin_write(cpu, va, &v, 8, SOFT_ACC_WRITE), SOFT_EXC);
	cr_expect_eq(cpu->exc.error_code, SOFT_PF_W | SOFT_PF_U);
	/* supervisor page from CPL 3: P|U */
	*st_pte(&env, va) = va | 3;
	soft_tlb__flush(cpu, true);
	cr_assert_eq(soft_lin_read(cpu, va, &v, 8, SOFT_ACC_READ), SOFT_EXC);
	cr_expect_eq(cpu->exc.error_code, SOFT_PF_P | SOFT_PF_U);
	/* ... but fine as an implicit supervisor access */
	cr_expect_eq(soft_lin_read(cpu, va, &v, 8, SOFT_ACC_READ | SOFT_ACC_SUPER), SOFT_OK);
	/* read-only user page, user write: P|W|U; supervisor write with WP: P|W */
	*st_pte(&env, va) = va | 5;
	soft_tlb__flush(cpu, true);
	cr_expect_eq(soft_lin_read(cpu, va, &v, 8, SOFT_ACC_READ), SOFT_OK);
	cr_assert_eq(soft_lin_write(cpu, va, &v, 8, SOFT_ACC_WRITE), SOFT_EXC);
	cr_expect_eq(cpu->exc.error_code, SOFT_PF_P | SOFT_PF_W | SOFT_PF_U);
	set_cpl(cpu, 0);
	cr_assert_eq(soft_lin_write(cpu, va, &v, 8, SOFT_ACC_WRITE), SOFT_EXC);
	cr_expect_eq(cpu->exc.error_code, SOFT_PF_P | SOFT_PF_W);
	/* CR0.WP = 0: the supervisor may write */
	soft_cpu__set_cr0(cpu, cpu->cr0 & ~X86_CR0_WP);
	cr_expect_eq(soft_lin_write(cpu, va, &v, 8, SOFT_ACC_WRITE), SOFT_OK);
	soft_cpu__set_cr0(cpu, cpu->cr0 | X86_CR0_WP);
	/* NX page fetch: P|I; reserved bit: P|RSVD */
	*st_pte(&env, va) = va | 7 | (1ull << 63);
	soft_tlb__flush(cpu, true);
	cr_assert_eq(soft_lin_read(cpu, va, &v, 1, SOFT_ACC_EXEC), SOFT_EXC);
	cr_expect_eq(cpu->exc.error_code, SOFT_PF_P | SOFT_PF_I);
	cr_expect_eq(soft_lin_read(cpu, va, &v, 1, SOFT_ACC_READ), SOFT_OK);
	*st_pte(&env, va) = va | 7 | (1ull << 45);
	soft_tlb__flush(cpu, true);
	cr_assert_eq(soft_lin_read(cpu, va, &v, 1, SOFT_ACC_READ), SOFT_EXC);
	cr_expect_eq(cpu->exc.error_code, SOFT_PF_P | SOFT_PF_RSVD);
	/* non-canonical: #GP(0) */
	cr_assert_eq(soft_lin_read(cpu, 0x0000800000000000ull, &v, 1, SOFT_ACC_READ), SOFT_EXC);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_GP);
}

Test(soft_mmu, accessed_dirty_and_invlpg)
{
	struct soft_cpu *cpu = env.cpu;
	uint64_t va = MB2 + 0x7000, v = 0x1122334455667788ull, pa2 = MB2 + 0x9000;

	*st_pte(&env, va) = va | 7;
	soft_tlb__flush(cpu, true);
	cr_assert_eq(soft_lin_read(cpu, va, &v, 8, SOFT_ACC_READ), SOFT_OK);
	cr_expect_eq(*st_pte(&env, va) & 0x60, 0x20, "A set, D clear after a read");
	v = 0x1122334455667788ull;
	cr_assert_eq(soft_lin_write(cpu, va, &v, 8, SOFT_ACC_WRITE), SOFT_OK);
	cr_expect_eq(*st_pte(&env, va) & 0x60, 0x60, "D set after a write");
	cr_expect_eq(*st_u64(&env, va), v);
	/* remap: stale until INVLPG */
	*st_pte(&env, va) = pa2 | 7;
	*st_u64(&env, pa2) = 42;
	cr_assert_eq(soft_lin_read(cpu, va, &v, 8, SOFT_ACC_READ), SOFT_OK);
	cr_expect_eq(v, 0x1122334455667788ull, "the TLB still holds the old mapping");
	soft_tlb__flush_page(cpu, va);
	cr_assert_eq(soft_lin_read(cpu, va, &v, 8, SOFT_ACC_READ), SOFT_OK);
	cr_expect_eq(v, 42);
}

Test(soft_mmu, page_crossing_data)
{
	struct soft_cpu *cpu = env.cpu;
	uint64_t va = MB2 + 0x3000, v = 0x0807060504030201ull, r = 0;
	uint64_t p1 = MB2 + 0x20000, p2 = MB2 + 0x10000;   /* not contiguous */

	*st_pte(&env, va) = p1 | 7;
	*st_pte(&env, va + 0x1000) = p2 | 7;
	soft_tlb__flush(cpu, true);
	cr_assert_eq(soft_mem_write(cpu, SOFT_DS, va + 0xffd, &v, 8), SOFT_OK);
	cr_expect_eq(env.vm->ram[p1 + 0xffd], 1);
	cr_expect_eq(env.vm->ram[p1 + 0xfff], 3);
	cr_expect_eq(env.vm->ram[p2], 4);
	cr_expect_eq(env.vm->ram[p2 + 4], 8);
	cr_assert_eq(soft_mem_read(cpu, SOFT_DS, va + 0xffd, &r, 8), SOFT_OK);
	cr_expect_eq(r, v);
	/* second page not present: nothing written, #PF at its start */
	*st_pte(&env, va + 0x1000) = 0;
	soft_tlb__flush(cpu, true);
	v = ~0ull;
	cr_assert_eq(soft_mem_write(cpu, SOFT_DS, va + 0xffd, &v, 8), SOFT_EXC);
	cr_expect_eq(cpu->cr2, va + 0x1000);
	cr_expect_eq(cpu->exc.error_code, SOFT_PF_W);
	cr_expect_eq(env.vm->ram[p1 + 0xffd], 1, "first page untouched");
}

Test(soft_mmu, page_crossing_fetch)
{
	struct soft_cpu *cpu = env.cpu;
	uint64_t va = MB2 + 0x3000;
	/* mov rax, imm64 starting 3 bytes before the page end */
	uint8_t code[] = { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 0x0f, 0x0b };

	*st_pte(&env, va) = va | 7;
	*st_pte(&env, va + 0x1000) = (va + 0x1000) | 7;
	soft_tlb__flush(cpu, true);
	st_code(&env, va + 0xffd, code, sizeof(code));
	cpu->rip = va + 0xffd;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->gpr[SOFT_RAX], 0x0807060504030201ull);
	cr_expect_eq(cpu->rip, va + 0xffd + 10);
	/* rewrite the tail in the second page: the cached copy must notice */
	env.vm->ram[va + 0x1000 + 6] = 0x99;
	cpu->rip = va + 0xffd;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->gpr[SOFT_RAX], 0x9907060504030201ull);
	/* second page not present: #PF on the fetch, CR2 = its start, I/D set */
	*st_pte(&env, va + 0x1000) = 0;
	soft_tlb__flush(cpu, true);
	cpu->rip = va + 0xffd;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_EXCEPTION);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_PF);
	cr_expect_eq(cpu->cr2, va + 0x1000);
	cr_expect_eq(cpu->exc.error_code, SOFT_PF_I);
	cr_expect_eq(cpu->rip, va + 0xffd);
}

Test(soft_mmu, self_modifying_code)
{
	struct soft_cpu *cpu = env.cpu;
	uint64_t a = 0x100000, b = 0x100100;
	uint8_t movi[] = { 0xb0, 0x01 };                                   /* mov al, 1 */
	uint8_t store[] = { 0xc6, 0x04, 0x25, 0x01, 0x00, 0x10, 0x00, 0x07 }; /* mov byte [0x100001], 7 */

	st_code(&env, a, movi, sizeof(movi));
	st_code(&env, b, store, sizeof(store));
	cpu->rip = a;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->gpr[SOFT_RAX] & 0xff, 1);
	cpu->rip = b;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	cr_expect_gt(cpu->stats.code_invalidations, 0);
	cpu->rip = a;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->gpr[SOFT_RAX] & 0xff, 7, "stale decoded instruction ran");
	/* DMA-style write + invalidate hook */
	env.vm->ram[a + 1] = 9;
	soft_code__invalidate_range(env.vm, a, 2);
	cpu->rip = a;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->gpr[SOFT_RAX] & 0xff, 9);
}

/* The store patches the very next instruction of the same page. */
Test(soft_mmu, smc_next_instruction)
{
	struct soft_cpu *cpu = env.cpu;
	uint8_t code[] = {
		0xb0, 0x01,                                     /* L: mov al, 1 */
		0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x05,       /* mov byte [rip+1], 5 */
		0xeb, 0xf5,                                     /* jmp L (when patched: 0xeb 0x05 -> jmp +5) */
		0x0f, 0x0b,
	};

	st_code(&env, 0x100000, code, sizeof(code));
	cpu->rip = 0x100000;
	/* mov, store (patches jmp disp to 5), jmp +5 lands past ud2... */
	cr_assert_eq(soft_exec__run(cpu, 3), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->rip, 0x100000 + 11 + 5, "patched jump not taken (rip %#llx)",
		     (unsigned long long)cpu->rip);
}

Test(soft_mmu, rep_movs_stos_across_pages)
{
	struct soft_cpu *cpu = env.cpu;
	uint64_t src = MB2 + 0x10800, dst = MB2 + 0x20400, n = 10000;
	uint8_t movsb[] = { 0xf3, 0xa4 }, stosq[] = { 0xf3, 0x48, 0xab };

	for (uint64_t i = 0; i < n; i++)
		env.vm->ram[src + i] = (uint8_t)(i * 7 + 1);
	st_code(&env, 0x100000, movsb, sizeof(movsb));
	cpu->gpr[SOFT_RSI] = src;
	cpu->gpr[SOFT_RDI] = dst;
	cpu->gpr[SOFT_RCX] = n;
	cpu->rip = 0x100000;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->gpr[SOFT_RCX], 0);
	cr_expect_eq(cpu->gpr[SOFT_RSI], src + n);
	cr_expect_eq(cpu->gpr[SOFT_RDI], dst + n);
	cr_expect_eq(memcmp(env.vm->ram + src, env.vm->ram + dst, n), 0);
	/* overlapping forward copy replicates (memset idiom) */
	env.vm->ram[dst] = 0xab;
	cpu->gpr[SOFT_RSI] = dst;
	cpu->gpr[SOFT_RDI] = dst + 1;
	cpu->gpr[SOFT_RCX] = 5000;
	cpu->rip = 0x100000;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	for (uint64_t i = 0; i <= 5000; i++)
		cr_assert_eq(env.vm->ram[dst + i], 0xab, "byte %llu", (unsigned long long)i);
	/* REP STOSQ with a non-present page in the middle: stops there,
	 * registers say how far it got, RIP stays on the instruction */
	*st_pte(&env, dst + 0x2000) = 0;
	soft_tlb__flush(cpu, true);
	st_code(&env, 0x100000, stosq, sizeof(stosq));
	cpu->gpr[SOFT_RAX] = 0x5a5a5a5a5a5a5a5aull;
	cpu->gpr[SOFT_RDI] = dst;
	cpu->gpr[SOFT_RCX] = 1024;
	cpu->rip = 0x100000;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_EXCEPTION);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_PF);
	cr_expect_eq(cpu->cr2, (dst + 0x2000) & ~0xfffull);
	cr_expect_eq(cpu->gpr[SOFT_RDI], (dst + 0x2000) & ~0xfffull);
	cr_expect_eq(cpu->gpr[SOFT_RCX], 1024 - (((dst + 0x2000) & ~0xfffull) - dst) / 8);
	cr_expect_eq(cpu->rip, 0x100000);
	cr_expect_eq(*st_u64(&env, dst + 8), 0x5a5a5a5a5a5a5a5aull);
}

/* Two vCPUs on two host threads hammer counters with LOCK ADD and LOCK
 * XADD: guest atomics must be host atomics. */
#include <pthread.h>

static void *run_cpu(void *arg)
{
	struct soft_cpu *cpu = arg;

	return (void *)(intptr_t)soft_exec__run(cpu, ~0ull);
}

Test(soft_mmu, smp_lock_add_is_atomic)
{
	static const uint8_t loop[] = {
		0xb9, 0xa0, 0x86, 0x01, 0x00,                         /* mov ecx, 100000 */
		0xf0, 0x48, 0x83, 0x04, 0x25, 0x00, 0x00, 0x30, 0x00, 0x01, /* L: lock add qword [0x300000], 1 */
		0xbb, 0x02, 0x00, 0x00, 0x00,                         /* mov ebx, 2 */
		0xf0, 0x48, 0x0f, 0xc1, 0x1c, 0x25, 0x08, 0x00, 0x30, 0x00, /* lock xadd [0x300008], rbx */
		0x48, 0xff, 0xc9,                                     /* dec rcx */
		0x75, 0xe2,                                           /* jnz L */
		0x0f, 0x0b,                                           /* ud2 */
	};
	struct soft_cpu *cpu2;
	pthread_t t1, t2;
	void *r1, *r2;

	cr_assert_eq(soft_cpu__create(env.svm, 1, &cpu2), 0);
	soft_cpu__setup_flat(cpu2, 64, ST_PML4);
	st_code(&env, 0x100000, loop, sizeof(loop));
	*st_u64(&env, 0x300000) = 0;
	*st_u64(&env, 0x300008) = 0;
	env.cpu->rip = cpu2->rip = 0x100000;
	pthread_create(&t1, NULL, run_cpu, env.cpu);
	pthread_create(&t2, NULL, run_cpu, cpu2);
	pthread_join(t1, &r1);
	pthread_join(t2, &r2);
	cr_expect_eq((intptr_t)r1, SOFT_RUN_EXCEPTION);
	cr_expect_eq(env.cpu->exc.vector, SOFT_EXC_UD);
	cr_expect_eq((intptr_t)r2, SOFT_RUN_EXCEPTION);
	cr_expect_eq(*st_u64(&env, 0x300000), 200000);
	cr_expect_eq(*st_u64(&env, 0x300008), 400000);
	soft_cpu__destroy(cpu2);
}
