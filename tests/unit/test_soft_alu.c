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

/* Shifts by an immediate (C1 /r ib): the decoder picks specialised
 * handlers for 32/64-bit register forms, compare them with the host too. */
#define SHIFT_IMM_TEST(name, mn, reg)                                               \
	Test(soft_alu, name)                                                        \
	{                                                                           \
		static const unsigned sizes[] = { 2, 4, 8 };                        \
		static const uint8_t counts[] = { 1, 2, 7, 8, 15, 16, 31, 32, 33, 63 }; \
		for (unsigned s = 0; s < 3; s++)                                    \
		for (unsigned i = 0; i < NV; i++)                                   \
		for (unsigned c = 0; c < sizeof(counts); c++) {                     \
			unsigned sz = sizes[s];                                     \
			uint8_t op[3] = { 0xc1, (uint8_t)(0xc0 | ((reg) << 3)), counts[c] }; \
			uint64_t a = vals[i], b = counts[c], d = 0, f = 2 | SOFT_FL_AF; \
			unsigned mc = counts[c] & (sz == 8 ? 63 : 31);              \
			uint64_t mask = ALL & ~SOFT_FL_AF;                          \
			struct res g = guest(sz, op, 3, a, b, 0, f);                \
			HOST_SIZED(sz, mn, CL, a, b, d, f);                         \
			if (mc != 1)                                                \
				mask &= ~SOFT_FL_OF;                                \
			if (mc >= sz * 8)                                           \
				mask &= ~SOFT_FL_CF;                                \
			check(#name, sz, vals[i], b, 0, g, a, d, f, mc ? mask : ALL, false); \
		}                                                                   \
	}

SHIFT_IMM_TEST(shl_imm, "shl", 4)
SHIFT_IMM_TEST(shr_imm, "shr", 5)
SHIFT_IMM_TEST(sar_imm, "sar", 7)

/* MOV forms the decoder specialises: r/r, r/imm, r/m, m/r in 32 and 64 bits. */
Test(soft_alu, mov_forms)
{
	struct soft_cpu *cpu = env.cpu;
	uint8_t code[] = {
		0x48, 0x89, 0xd8,                         /* mov rax, rbx */
		0x89, 0xd9,                               /* mov ecx, ebx (zero-extends) */
		0x48, 0x89, 0x1c, 0x25, 0x00, 0x00, 0x20, 0x00, /* mov [0x200000], rbx */
		0x8b, 0x14, 0x25, 0x04, 0x00, 0x20, 0x00, /* mov edx, [0x200004] */
		0xbe, 0x78, 0x56, 0x34, 0x12,             /* mov esi, 0x12345678 */
		0x48, 0xc7, 0xc7, 0xff, 0xff, 0xff, 0xff, /* mov rdi, -1 */
	};

	st_code(&env, CODE, code, sizeof(code));
	cpu->gpr[SOFT_RBX] = 0x1122334455667788ull;
	cpu->gpr[SOFT_RCX] = cpu->gpr[SOFT_RDX] = cpu->gpr[SOFT_RSI] = ~0ull;
	cpu->rip = CODE;
	cr_assert_eq(soft_exec__run(cpu, 6), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->gpr[SOFT_RAX], 0x1122334455667788ull);
	cr_expect_eq(cpu->gpr[SOFT_RCX], 0x55667788ull);
	cr_expect_eq(*st_u64(&env, 0x200000), 0x1122334455667788ull);
	cr_expect_eq(cpu->gpr[SOFT_RDX], 0x11223344ull);
	cr_expect_eq(cpu->gpr[SOFT_RSI], 0x12345678ull);
	cr_expect_eq(cpu->gpr[SOFT_RDI], ~0ull);
}

/* ALU r, [m] and CMP/TEST [m], r/imm (specialised memory forms) vs host. */
#define DATA 0x200000ull
#define RM_TEST(name, mn, opc)                                                      \
	Test(soft_alu, name)                                                        \
	{                                                                           \
		static const unsigned sizes[] = { 4, 8 };                           \
		for (unsigned s = 0; s < 2; s++)                                    \
		for (unsigned i = 0; i < NV; i++)                                   \
		for (unsigned j = 0; j < NV; j += 2) {                              \
			unsigned sz = sizes[s];                                     \
			uint8_t op[7] = { opc, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00 }; \
			uint64_t a = vals[i], b = vals[j], d = 0, f = 2, m = b;     \
			uint32_t m32 = (uint32_t)b;                                 \
			struct res g;                                               \
			*st_u64(&env, DATA) = b;                                    \
			g = guest(sz, op, 7, a, 0, 0, f);                           \
			if (sz == 4)                                                \
				asm volatile("sub $128, %%rsp\n\tpush %[fl]\n\tpopfq\n\t" mn "l (%[m]), %%eax\n\t" \
					     "pushfq\n\tpop %[fl]\n\tadd $128, %%rsp"  \
					     : "+a"(a), [fl] "+r"(f) : [m] "r"(&m32) : "cc", "memory"); \
			else                                                        \
				asm volatile("sub $128, %%rsp\n\tpush %[fl]\n\tpopfq\n\t" mn "q (%[m]), %%rax\n\t" \
					     "pushfq\n\tpop %[fl]\n\tadd $128, %%rsp"  \
					     : "+a"(a), [fl] "+r"(f) : [m] "r"(&m) : "cc", "memory"); \
			check(#name, sz, vals[i], b, 0, g, a, d, f, ALL, false);    \
		}                                                                   \
	}

RM_TEST(add_rm, "add", 0x03)
RM_TEST(sub_rm, "sub", 0x2b)
RM_TEST(cmp_rm, "cmp", 0x3b)
RM_TEST(and_rm, "and", 0x23)
RM_TEST(or_rm, "or", 0x0b)
RM_TEST(xor_rm, "xor", 0x33)

Test(soft_alu, cmp_test_mem_first)
{
	struct soft_cpu *cpu = env.cpu;

	for (unsigned i = 0; i < NV; i++)
		for (unsigned j = 0; j < NV; j++) {
			/* cmp qword [DATA], rbx ; test dword [DATA], ebx ; cmp qword [DATA], -1 ; cmp byte [DATA], 0x80 */
			static const uint8_t cmpq[] = { 0x48, 0x39, 0x1c, 0x25, 0x00, 0x00, 0x20, 0x00 };
			static const uint8_t testd[] = { 0x85, 0x1c, 0x25, 0x00, 0x00, 0x20, 0x00 };
			static const uint8_t cmpi[] = { 0x48, 0x83, 0x3c, 0x25, 0x00, 0x00, 0x20, 0x00, 0xff };
			static const uint8_t cmpb[] = { 0x80, 0x3c, 0x25, 0x00, 0x00, 0x20, 0x00, 0x80 };
			uint64_t m = vals[i], b = vals[j], f1 = 2, f2 = 2, f3 = 2, f4 = 2;
			uint32_t m32 = (uint32_t)m;
			uint8_t m8 = (uint8_t)m;

			asm volatile("sub $128, %%rsp\n\tpush %[fl]\n\tpopfq\n\tcmpq %[b], (%[m])\n\tpushfq\n\tpop %[fl]\n\tadd $128, %%rsp"
				     : [fl] "+r"(f1) : [m] "r"(&m), [b] "r"(b) : "cc", "memory");
			asm volatile("sub $128, %%rsp\n\tpush %[fl]\n\tpopfq\n\ttestl %k[b], (%[m])\n\tpushfq\n\tpop %[fl]\n\tadd $128, %%rsp"
				     : [fl] "+r"(f2) : [m] "r"(&m32), [b] "r"(b) : "cc", "memory");
			asm volatile("sub $128, %%rsp\n\tpush %[fl]\n\tpopfq\n\tcmpq $-1, (%[m])\n\tpushfq\n\tpop %[fl]\n\tadd $128, %%rsp"
				     : [fl] "+r"(f3) : [m] "r"(&m) : "cc", "memory");
			asm volatile("sub $128, %%rsp\n\tpush %[fl]\n\tpopfq\n\tcmpb $0x80, (%[m])\n\tpushfq\n\tpop %[fl]\n\tadd $128, %%rsp"
				     : [fl] "+r"(f4) : [m] "r"(&m8) : "cc", "memory");
			const uint8_t *codes[] = { cmpq, testd, cmpi, cmpb };
			size_t lens[] = { sizeof(cmpq), sizeof(testd), sizeof(cmpi), sizeof(cmpb) };
			uint64_t fl[] = { f1, f2, f3, f4 };

			for (unsigned k = 0; k < 4; k++) {
				*st_u64(&env, DATA) = m;
				st_code(&env, CODE, codes[k], lens[k]);
				cpu->gpr[SOFT_RBX] = b;
				cpu->rip = CODE;
				soft_flags__set(cpu, 2);
				cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
				cr_expect_eq(soft_flags__get(cpu) & ALL, fl[k] & ALL,
					     "form %u m=%#llx b=%#llx", k, (unsigned long long)m,
					     (unsigned long long)b);
			}
		}
}

Test(soft_alu, push_pop)
{
	struct soft_cpu *cpu = env.cpu;
	static const uint8_t code[] = { 0x53, 0x41, 0x54, 0x5c, 0x58 };   /* push rbx; push r12; pop rsp; pop rax */

	st_code(&env, CODE, code, sizeof(code));
	cpu->gpr[SOFT_RSP] = 0x300000;
	cpu->gpr[SOFT_RBX] = 0x1111;
	cpu->gpr[SOFT_R12] = 0x2ffff8;
	cpu->rip = CODE;
	cr_assert_eq(soft_exec__run(cpu, 3), SOFT_RUN_BUDGET);
	cr_expect_eq(*st_u64(&env, 0x2ffff8), 0x1111);
	cr_expect_eq(cpu->gpr[SOFT_RSP], 0x2ffff8, "pop rsp: the popped value wins");
	cr_assert_eq(soft_exec__run(cpu, 1), SOFT_RUN_BUDGET);
	cr_expect_eq(cpu->gpr[SOFT_RAX], 0x1111);
	cr_expect_eq(cpu->gpr[SOFT_RSP], 0x300000);
}

/* [m] op= reg (01/29/21/09/31 /r) and IMUL r, r, imm8 (6B) vs host. */
#define MW_TEST(name, mn, opc)                                                      \
	Test(soft_alu, name)                                                        \
	{                                                                           \
		static const unsigned sizes[] = { 4, 8 };                           \
		for (unsigned s = 0; s < 2; s++)                                    \
		for (unsigned i = 0; i < NV; i++)                                   \
		for (unsigned j = 0; j < NV; j += 2) {                              \
			unsigned sz = sizes[s];                                     \
			uint8_t op[7] = { opc, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00 }; \
			uint64_t m = vals[i], r = vals[j], f = 2;                   \
			uint32_t m32 = (uint32_t)m;                                 \
			struct res g;                                               \
			*st_u64(&env, DATA) = m;                                    \
			g = guest(sz, op, 7, r, 0, 0, f);                           \
			if (sz == 4)                                                \
				asm volatile("sub $128, %%rsp\n\tpush %[fl]\n\tpopfq\n\t" mn "l %k[r], (%[m])\n\t" \
					     "pushfq\n\tpop %[fl]\n\tadd $128, %%rsp"  \
					     : [fl] "+r"(f) : [m] "r"(&m32), [r] "r"(r) : "cc", "memory"); \
			else                                                        \
				asm volatile("sub $128, %%rsp\n\tpush %[fl]\n\tpopfq\n\t" mn "q %[r], (%[m])\n\t" \
					     "pushfq\n\tpop %[fl]\n\tadd $128, %%rsp"  \
					     : [fl] "+r"(f) : [m] "r"(&m), [r] "r"(r) : "cc", "memory"); \
			cr_expect_eq(*st_u64(&env, DATA), sz == 4 ? (m & ~0xffffffffull) | m32 : m, \
				     #name "/%u m=%#llx r=%#llx", sz, (unsigned long long)vals[i], \
				     (unsigned long long)r);                        \
			cr_expect_eq(g.flags & ALL, f & ALL, #name "/%u flags", sz); \
		}                                                                   \
	}

MW_TEST(add_mr, "add", 0x01)
MW_TEST(sub_mr, "sub", 0x29)
MW_TEST(and_mr, "and", 0x21)
MW_TEST(or_mr, "or", 0x09)
MW_TEST(xor_mr, "xor", 0x31)

Test(soft_alu, imul3)
{
	static const unsigned sizes[] = { 4, 8 };
	static const int8_t imms[] = { 0, 1, -1, 3, 127, -128 };

	for (unsigned s = 0; s < 2; s++)
		for (unsigned i = 0; i < NV; i++)
			for (unsigned k = 0; k < sizeof(imms); k++) {
				unsigned sz = sizes[s];
				uint8_t op[3] = { 0x6b, 0xc3, (uint8_t)imms[k] };   /* imul eax/rax, ebx/rbx, imm8 */
				uint64_t a, b = vals[i], f = 2;
				struct res g = guest(sz, op, 3, 0, b, 0, f);

				/* reference computed in C: 128-bit products are exact */
				if (sz == 4) {
					int64_t p = (int64_t)(int32_t)b * imms[k];
					a = (uint32_t)p;
					f = p != (int32_t)p ? (SOFT_FL_CF | SOFT_FL_OF) : 0;
				} else {
					__int128 p = (__int128)(int64_t)b * imms[k];
					a = (uint64_t)p;
					f = p != (int64_t)p ? (SOFT_FL_CF | SOFT_FL_OF) : 0;
				}
				cr_expect_eq(g.rax, a, "imul3/%u b=%#llx imm=%d", sz, (unsigned long long)b, imms[k]);
				cr_expect_eq(g.flags & (SOFT_FL_CF | SOFT_FL_OF), f, "imul3/%u flags", sz);
			}
}
