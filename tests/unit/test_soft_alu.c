/* Soft CPU core: results and flags of the integer ALU compared with the
 * host CPU executing the same instruction (the host is x86-64).  Flags the
 * SDM leaves undefined for an operation are masked out of the comparison. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "soft_test_util.h"

#define CODE 0x100000ull
#define ALL (SOFT_FL_CF | SOFT_FL_PF | SOFT_FL_AF | SOFT_FL_ZF | SOFT_FL_SF | SOFT_FL_OF)

static const uint64_t vals[] = {
	0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
	0x8000000000000000ull, 0xffffffffffffffffull, 0x123456789abcdef0ull,
	0xfedcba9876543210ull, 0x5555555555555555ull,
};
#define NV (sizeof(vals) / sizeof(vals[0]))

/* Run `insn` on the host with RAX=a, RBX/RCX=b, RDX=d and the given flags. */
#define HOST_ASM(text, a, b, d, f)                                                  \
	asm volatile("sub $128, %%rsp\n\tpush %[fl]\n\tpopfq\n\t" text "\n\t"       \
		     "pushfq\n\tpop %[fl]\n\tadd $128, %%rsp"                       \
		     : "+a"(a), "+d"(d), [fl] "+r"(f) : "b"(b), "c"(b) : "cc", "memory")

#define HOST_SIZED(sz, mn, opnds, a, b, d, f)                                       \
	do {                                                                        \
		switch (sz) {                                                       \
		case 1: HOST_ASM(mn "b " opnds##_8, a, b, d, f); break;             \
		case 2: HOST_ASM(mn "w " opnds##_16, a, b, d, f); break;            \
		case 4: HOST_ASM(mn "l " opnds##_32, a, b, d, f); break;            \
		default: HOST_ASM(mn "q " opnds##_64, a, b, d, f); break;           \
		}                                                                   \
	} while (0)

#define RR_8  "%%bl, %%al"
#define RR_16 "%%bx, %%ax"
#define RR_32 "%%ebx, %%eax"
#define RR_64 "%%rbx, %%rax"
#define CL_8  "%%cl, %%al"
#define CL_16 "%%cl, %%ax"
#define CL_32 "%%cl, %%eax"
#define CL_64 "%%cl, %%rax"
#define R1_8  "%%bl"
#define R1_16 "%%bx"
#define R1_32 "%%ebx"
#define R1_64 "%%rbx"
#define A1_8  "%%al"
#define A1_16 "%%ax"
#define A1_32 "%%eax"
#define A1_64 "%%rax"

struct res { uint64_t rax, rdx, flags; };

static struct st_env env;

static void setup(void) { st_init(&env, 64); }
static void teardown(void) { st_fini(&env); }

/* Encode: [66][REX.W] opcode(s) modrm, then run one instruction. */
static struct res guest(unsigned size, const uint8_t *op, unsigned oplen, uint64_t a,
			uint64_t b, uint64_t d, uint64_t flags)
{
	uint8_t code[16];
	unsigned n = 0;
	struct soft_cpu *cpu = env.cpu;
	int r;

	if (size == 2)
		code[n++] = 0x66;
	if (size == 8)
		code[n++] = 0x48;
	memcpy(code + n, op, oplen);
	n += oplen;
	st_code(&env, CODE, code, n);
	cpu->gpr[SOFT_RAX] = a;
	cpu->gpr[SOFT_RBX] = b;
	cpu->gpr[SOFT_RCX] = b;
	cpu->gpr[SOFT_RDX] = d;
	cpu->rip = CODE;
	soft_flags__set(cpu, flags | 2);
	r = soft_exec__run(cpu, 1);
	cr_assert_eq(r, SOFT_RUN_BUDGET, "run result %d (exc %d)", r, cpu->exc.vector);
	cr_assert_eq(cpu->rip, CODE + n);
	return (struct res){ cpu->gpr[SOFT_RAX], cpu->gpr[SOFT_RDX], soft_flags__get(cpu) };
}

static void check(const char *what, unsigned size, uint64_t a, uint64_t b, uint64_t fin,
		  struct res g, uint64_t ha, uint64_t hd, uint64_t hf, uint64_t mask, bool cmp_rdx)
{
	cr_expect_eq(g.rax, ha, "%s/%u a=%#llx b=%#llx f=%#llx: rax %#llx, host %#llx", what, size,
		     (unsigned long long)a, (unsigned long long)b, (unsigned long long)fin,
		     (unsigned long long)g.rax, (unsigned long long)ha);
	if (cmp_rdx)
		cr_expect_eq(g.rdx, hd, "%s/%u a=%#llx b=%#llx: rdx %#llx, host %#llx", what, size,
			     (unsigned long long)a, (unsigned long long)b,
			     (unsigned long long)g.rdx, (unsigned long long)hd);
	cr_expect_eq(g.flags & mask, hf & mask, "%s/%u a=%#llx b=%#llx fin=%#llx: flags %#llx, host %#llx",
		     what, size, (unsigned long long)a, (unsigned long long)b,
		     (unsigned long long)fin, (unsigned long long)(g.flags & mask),
		     (unsigned long long)(hf & mask));
}

TestSuite(soft_alu, .init = setup, .fini = teardown);

#define BINOP_TEST(name, mn, opc)                                                   \
	Test(soft_alu, name)                                                        \
	{                                                                           \
		static const unsigned sizes[] = { 1, 2, 4, 8 };                     \
		for (unsigned s = 0; s < 4; s++)                                    \
		for (unsigned i = 0; i < NV; i++)                                   \
		for (unsigned j = 0; j < NV; j++)                                   \
		for (uint64_t cf = 0; cf < 2; cf++) {                               \
			unsigned sz = sizes[s];                                     \
			uint8_t op[2] = { (uint8_t)((opc) + (sz > 1)), 0xd8 };      \
			uint64_t a = vals[i], b = vals[j], d = 0, f = cf | 2;       \
			struct res g = guest(sz, op, 2, a, b, 0, f);                \
			HOST_SIZED(sz, mn, RR, a, b, d, f);                         \
			check(#name, sz, vals[i], b, cf, g, a, d, f, ALL, false);   \
		}                                                                   \
	}

BINOP_TEST(add, "add", 0x00)
BINOP_TEST(or, "or", 0x08)
BINOP_TEST(adc, "adc", 0x10)
BINOP_TEST(sbb, "sbb", 0x18)
BINOP_TEST(and, "and", 0x20)
BINOP_TEST(sub, "sub", 0x28)
BINOP_TEST(xor, "xor", 0x30)
BINOP_TEST(cmp, "cmp", 0x38)

/* group 2 by CL: ModRM.reg selects the operation */
#define SHIFT_TEST(name, mn, reg, rotate)                                           \
	Test(soft_alu, name)                                                        \
	{                                                                           \
		static const unsigned sizes[] = { 1, 2, 4, 8 };                     \
		static const uint64_t counts[] = { 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64 }; \
		for (unsigned s = 0; s < 4; s++)                                    \
		for (unsigned i = 0; i < NV; i++)                                   \
		for (unsigned c = 0; c < sizeof(counts) / 8; c++)                   \
		for (uint64_t cf = 0; cf < 2; cf++) {                               \
			unsigned sz = sizes[s];                                     \
			uint8_t op[2] = { (uint8_t)(0xd2 + (sz > 1)), (uint8_t)(0xc0 | ((reg) << 3)) }; \
			uint64_t a = vals[i], b = counts[c], d = 0, f = cf | 2 | SOFT_FL_AF; \
			unsigned mc = (unsigned)(b & (sz == 8 ? 63 : 31));          \
			uint64_t mask = ALL;                                        \
			struct res g = guest(sz, op, 2, a, b, 0, f);                \
			HOST_SIZED(sz, mn, CL, a, b, d, f);                         \
			if (mc != 1)                                                \
				mask &= ~SOFT_FL_OF;                                \
			if (mc && !(rotate))                                        \
				mask &= ~SOFT_FL_AF;                                \
			/* CF of SHL/SHR past the operand width is undefined */     \
			if (!(rotate) && mc >= sz * 8)                              \
				mask &= ~SOFT_FL_CF;                                \
			check(#name, sz, vals[i], b, cf, g, a, d, f, mask, false);  \
		}                                                                   \
	}

SHIFT_TEST(rol, "rol", 0, 1)
SHIFT_TEST(ror, "ror", 1, 1)
SHIFT_TEST(rcl, "rcl", 2, 1)
SHIFT_TEST(rcr, "rcr", 3, 1)
SHIFT_TEST(shl, "shl", 4, 0)
SHIFT_TEST(shr, "shr", 5, 0)
SHIFT_TEST(sar, "sar", 7, 0)

/* IMUL r, r/m (0F AF /r, reg = rax, rm = rbx): CF/OF defined, rest not. */
Test(soft_alu, imul2)
{
	static const unsigned sizes[] = { 2, 4, 8 };

	for (unsigned s = 0; s < 3; s++)
		for (unsigned i = 0; i < NV; i++)
			for (unsigned j = 0; j < NV; j++) {
				unsigned sz = sizes[s];
				uint8_t op[3] = { 0x0f, 0xaf, 0xc3 };
				uint64_t a = vals[i], b = vals[j], d = 0, f = 2;
				struct res g = guest(sz, op, 3, a, b, 0, f);

				if (sz == 2)
					HOST_ASM("imulw %%bx, %%ax", a, b, d, f);
				else if (sz == 4)
					HOST_ASM("imull %%ebx, %%eax", a, b, d, f);
				else
					HOST_ASM("imulq %%rbx, %%rax", a, b, d, f);
				check("imul2", sz, vals[i], b, 0, g, a, d, f,
				      SOFT_FL_CF | SOFT_FL_OF, false);
			}
}

/* MUL / IMUL r/m (F6/F7 /4 and /5 with rm = rbx): RDX:RAX and CF/OF. */
#define MUL1_TEST(name, mn, reg)                                                    \
	Test(soft_alu, name)                                                        \
	{                                                                           \
		static const unsigned sizes[] = { 1, 2, 4, 8 };                     \
		for (unsigned s = 0; s < 4; s++)                                    \
		for (unsigned i = 0; i < NV; i++)                                   \
		for (unsigned j = 0; j < NV; j++) {                                 \
			unsigned sz = sizes[s];                                     \
			uint8_t op[2] = { (uint8_t)(0xf6 + (sz > 1)), (uint8_t)(0xc3 | ((reg) << 3)) }; \
			uint64_t a = vals[i], b = vals[j], d = 0x1111, f = 2;       \
			struct res g = guest(sz, op, 2, a, b, d, f);                \
			HOST_SIZED(sz, mn, R1, a, b, d, f);                         \
			check(#name, sz, vals[i], b, 0, g, a, d, f,                 \
			      SOFT_FL_CF | SOFT_FL_OF, true);                       \
		}                                                                   \
	}

MUL1_TEST(mul, "mul", 4)
MUL1_TEST(imul1, "imul", 5)

/* INC/DEC/NEG/NOT (FE/FF /0 /1, F6/F7 /3 /2 on rax): CF in 0 and 1. */
#define UNARY_TEST(name, mn, opc, reg)                                              \
	Test(soft_alu, name)                                                        \
	{                                                                           \
		static const unsigned sizes[] = { 1, 2, 4, 8 };                     \
		for (unsigned s = 0; s < 4; s++)                                    \
		for (unsigned i = 0; i < NV; i++)                                   \
		for (uint64_t cf = 0; cf < 2; cf++) {                               \
			unsigned sz = sizes[s];                                     \
			uint8_t op[2] = { (uint8_t)((opc) + (sz > 1)), (uint8_t)(0xc0 | ((reg) << 3)) }; \
			uint64_t a = vals[i], b = 0, d = 0, f = cf | 2;             \
			struct res g = guest(sz, op, 2, a, 0, 0, f);                \
			HOST_SIZED(sz, mn, A1, a, b, d, f);                         \
			check(#name, sz, vals[i], 0, cf, g, a, d, f, ALL, false);   \
		}                                                                   \
	}

UNARY_TEST(inc, "inc", 0xfe, 0)
UNARY_TEST(dec, "dec", 0xfe, 1)
UNARY_TEST(neg, "neg", 0xf6, 3)
UNARY_TEST(not, "not", 0xf6, 2)

/* Jcc/SETcc after CMP must agree with the materialised flags for every
 * condition: SETcc al after CMP rax, rbx vs host. */
Test(soft_alu, setcc_after_cmp)
{
	for (unsigned cc = 0; cc < 16; cc++)
		for (unsigned i = 0; i < NV; i += 2)
			for (unsigned j = 0; j < NV; j += 3) {
				uint8_t code[] = { 0x48, 0x39, 0xd8, 0x0f, (uint8_t)(0x90 + cc), 0xc0 };
				struct soft_cpu *cpu = env.cpu;
				uint64_t a = vals[i], b = vals[j], f;
				bool expect;

				st_code(&env, CODE, code, sizeof(code));
				cpu->gpr[SOFT_RAX] = a;
				cpu->gpr[SOFT_RBX] = b;
				cpu->rip = CODE;
				cr_assert_eq(soft_exec__run(cpu, 2), SOFT_RUN_BUDGET);
				f = 2;
				{
					uint64_t x = a, d = 0;
					HOST_ASM("cmpq %%rbx, %%rax", x, b, d, f);
				}
				switch (cc >> 1) {
				case 0: expect = f & SOFT_FL_OF; break;
				case 1: expect = f & SOFT_FL_CF; break;
				case 2: expect = f & SOFT_FL_ZF; break;
				case 3: expect = f & (SOFT_FL_CF | SOFT_FL_ZF); break;
				case 4: expect = f & SOFT_FL_SF; break;
				case 5: expect = f & SOFT_FL_PF; break;
				case 6: expect = !(f & SOFT_FL_SF) != !(f & SOFT_FL_OF); break;
				default: expect = (f & SOFT_FL_ZF) || (!(f & SOFT_FL_SF) != !(f & SOFT_FL_OF)); break;
				}
				expect ^= cc & 1;
				cr_expect_eq(cpu->gpr[SOFT_RAX] & 0xff, (uint64_t)expect,
					     "cc %u a=%#llx b=%#llx", cc, (unsigned long long)a,
					     (unsigned long long)b);
			}
}

/* DIV by zero and quotient overflow raise #DE with RIP at the instruction. */
Test(soft_alu, div_faults)
{
	uint8_t divz[] = { 0x48, 0xf7, 0xf3 };   /* div rbx */
	struct soft_cpu *cpu = env.cpu;

	st_code(&env, CODE, divz, sizeof(divz));
	cpu->gpr[SOFT_RAX] = 5;
	cpu->gpr[SOFT_RDX] = 0;
	cpu->gpr[SOFT_RBX] = 0;
	cpu->rip = CODE;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_EXCEPTION);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_DE);
	cr_expect_eq(cpu->rip, CODE);
	cpu->gpr[SOFT_RDX] = 7;
	cpu->gpr[SOFT_RBX] = 7;   /* quotient >= 2^64 */
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_EXCEPTION);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_DE);
	cpu->gpr[SOFT_RDX] = 1;
	cpu->gpr[SOFT_RAX] = 3;
	cpu->gpr[SOFT_RBX] = 2;
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->gpr[SOFT_RAX], 0x8000000000000001ull);
	cr_expect_eq(cpu->gpr[SOFT_RDX], 1);
}
