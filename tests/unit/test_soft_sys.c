/* System half of the software CPU: descriptor loads and their error codes,
 * IDT delivery in long mode (IST, privilege change, frame contents), IRETQ
 * to CPL 3, SYSCALL/SYSRET, the real -> protected -> long mode sequence,
 * double and triple faults. */
#include <criterion/criterion.h>

#include "test_soft_sys.h"

#define GDT   0x1000ull
#define IDT   0x2000ull
#define TSS   0x3000ull
#define PT    0x10000ull

/* GDT like Linux's: 0x10 kernel CS64, 0x18 kernel DS, 0x23 user CS32,
 * 0x2b user DS, 0x33 user CS64, 0x40 TSS; plus test entries. */
static void put_gdt(struct sys_env *e)
{
	put64(e, GDT + 0x00, 0);
	put64(e, GDT + 0x08, desc(0xb, 0, false, true, true));   /* CS32 ring 0 */
	put64(e, GDT + 0x10, desc(0xb, 0, true, false, true));   /* CS64 ring 0 */
	put64(e, GDT + 0x18, desc(0x3, 0, false, true, true));   /* DS ring 0 */
	put64(e, GDT + 0x20, desc(0xb, 3, false, true, true));   /* CS32 ring 3 */
	put64(e, GDT + 0x28, desc(0x3, 3, false, true, true));   /* DS ring 3 */
	put64(e, GDT + 0x30, desc(0xb, 3, true, false, true));   /* CS64 ring 3 */
	put64(e, GDT + 0x38, desc(0x2, 0, false, true, false));  /* DS, not present */
	put_tss64(e, GDT, 8, TSS);                                /* 0x40 */
	put64(e, GDT + 0x50, desc(0x8, 0, false, true, true));   /* code, execute-only */
	put64(e, GDT + 0x58, desc(0x1, 0, false, true, true));   /* read-only data, accessed */
	e->cpu->gdtr.base = GDT;
	e->cpu->gdtr.limit = 0x5f;
}

static void setup_long(struct sys_env *e)
{
	soft_cpu__setup_flat(e->cpu, 64, put_identity_map(e, PT));
	e->cpu->seg[SOFT_CS].sel = 0x10;
	e->cpu->seg[SOFT_SS].sel = 0x18;
	put_gdt(e);
	e->cpu->idtr.base = IDT;
	e->cpu->idtr.limit = 256 * 16 - 1;
	soft_cpu__update_mode(e->cpu);
}

/* ---- descriptor loads --------------------------------------------------- */

Test(soft_sys, seg_load_errors)
{
	struct sys_env e;
	struct soft_cpu *cpu;

	env_init(&e, 1, false);
	cpu = e.cpu;
	soft_cpu__setup_flat(cpu, 32, 0);
	put_gdt(&e);

	/* not present -> #NP(sel) */
	cr_expect_eq(soft_seg__load(cpu, SOFT_DS, 0x38), SOFT_EXC);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_NP);
	cr_expect_eq(cpu->exc.error_code, 0x38);
	/* beyond the GDT limit -> #GP(sel), RPL bits dropped */
	cr_expect_eq(soft_seg__load(cpu, SOFT_ES, 0x63), SOFT_EXC);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_GP);
	cr_expect_eq(cpu->exc.error_code, 0x60);
	/* execute-only code into DS -> #GP(sel) */
	cr_expect_eq(soft_seg__load(cpu, SOFT_DS, 0x50), SOFT_EXC);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_GP);
	cr_expect_eq(cpu->exc.error_code, 0x50);
	/* read-only data into SS -> #GP(sel) */
	cr_expect_eq(soft_seg__load(cpu, SOFT_SS, 0x58), SOFT_EXC);
	cr_expect_eq(cpu->exc.error_code, 0x58);
	/* SS with DPL 3 at CPL 0 -> #GP(sel) */
	cr_expect_eq(soft_seg__load(cpu, SOFT_SS, 0x2b), SOFT_EXC);
	cr_expect_eq(cpu->exc.error_code, 0x28);
	/* null SS outside 64-bit mode -> #GP(0) */
	cr_expect_eq(soft_seg__load(cpu, SOFT_SS, 0), SOFT_EXC);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_GP);
	cr_expect_eq(cpu->exc.error_code, 0);
	/* a good one: accessed bit set in memory, cache filled */
	cpu->exc.vector = -1;
	cr_expect_eq(soft_seg__load(cpu, SOFT_DS, 0x18), SOFT_OK);
	cr_expect_eq(cpu->seg[SOFT_DS].sel, 0x18);
	cr_expect_eq(cpu->seg[SOFT_DS].limit, 0xffffffffu);
	cr_expect(cpu->seg[SOFT_DS].db);
	cr_expect(get64(&e, GDT + 0x18) & (1ull << 40), "accessed bit not written");
	/* null into DS is fine and unusable */
	cr_expect_eq(soft_seg__load(cpu, SOFT_FS, 0), SOFT_OK);
	cr_expect(cpu->seg[SOFT_FS].unusable);
	env_fini(&e);
}

Test(soft_sys, mov_seg_instruction_faults)
{
	/* mov ax, 0x38 ; mov ds, ax  (32-bit code) */
	static const uint8_t code[] = { 0x66, 0xb8, 0x38, 0x00, 0x8e, 0xd8, 0xf4 };
	struct sys_env e;
	int r;

	env_init(&e, 1, false);
	soft_cpu__setup_flat(e.cpu, 32, 0);
	put_gdt(&e);
	put(&e, 0x8000, code, sizeof(code));
	e.cpu->rip = 0x8000;
	r = soft_exec__run(e.cpu, 10);
	cr_assert_eq(r, SOFT_RUN_EXCEPTION);
	cr_expect_eq(e.cpu->exc.vector, SOFT_EXC_NP);
	cr_expect_eq(e.cpu->exc.error_code, 0x38);
	cr_expect_eq(e.cpu->rip, 0x8004, "fault must point at the MOV");
	env_fini(&e);
}

Test(soft_sys, ltr_marks_busy_and_str)
{
	/* mov ax, 0x40 ; ltr ax ; str bx ; hlt */
	static const uint8_t code[] = { 0x66, 0xb8, 0x40, 0x00, 0x0f, 0x00, 0xd8,
					0x0f, 0x00, 0xcb, 0xf4 };
	struct sys_env e;

	env_init(&e, 1, true);
	setup_long(&e);
	put(&e, 0x8000, code, sizeof(code));
	e.cpu->rip = 0x8000;
	cr_assert_eq(soft_exec__run(e.cpu, 10), SOFT_RUN_EXIT);
	cr_expect_eq(e.cpu->seg[SOFT_TR].base, TSS);
	cr_expect_eq(e.cpu->seg[SOFT_TR].type, 0xb);
	cr_expect_eq((get64(&e, GDT + 0x40) >> 40) & 0xf, 0xb, "busy bit not set in GDT");
	cr_expect_eq(e.cpu->gpr[SOFT_RBX] & 0xffff, 0x40);
	env_fini(&e);
}

/* ---- long-mode delivery, IST, privilege change, IRETQ ----------------- */

Test(soft_sys, long_mode_idt_ist_and_iretq)
{
	/* user: int 0x80 ; nop ; hlt (-> #GP at CPL 3) */
	static const uint8_t user[] = { 0xcd, 0x80, 0x90, 0xf4 };
	static const uint8_t iretq[] = { 0x48, 0xcf };
	static const uint8_t hlt[] = { 0xf4 };
	const uint64_t rsp0 = 0x80000, ist1 = 0x90000, ursp = 0x70008;
	struct sys_env e;
	struct soft_cpu *cpu;
	uint64_t f;

	env_init(&e, 1, true);
	cpu = e.cpu;
	setup_long(&e);
	put64(&e, TSS + 4, rsp0);
	put64(&e, TSS + 36, ist1);
	cpu->seg[SOFT_TR].sel = 0x40;
	cpu->seg[SOFT_TR].base = TSS;
	cpu->seg[SOFT_TR].limit = 0x67;
	cpu->seg[SOFT_TR].type = 0xb;
	cpu->seg[SOFT_TR].present = 1;
	cpu->seg[SOFT_TR].s = 0;
	put_gate64(&e, IDT, 0x80, 0x5000, 0x10, 0xe, 3, 0);
	put_gate64(&e, IDT, 13, 0x6000, 0x10, 0xe, 0, 1);
	put(&e, 0x4000, user, sizeof(user));
	put(&e, 0x5000, iretq, sizeof(iretq));
	put(&e, 0x6000, hlt, sizeof(hlt));
	/* drop to CPL 3 */
	cpu->seg[SOFT_CS].sel = 0x33;
	cpu->seg[SOFT_CS].dpl = 3;
	cpu->seg[SOFT_SS].sel = 0x2b;
	cpu->seg[SOFT_SS].dpl = 3;
	cpu->gpr[SOFT_RSP] = ursp;
	cpu->rip = 0x4000;
	soft_flags__set(cpu, SOFT_FL_FIXED | SOFT_FL_IF);
	soft_cpu__update_mode(cpu);
	cr_assert_eq(cpu->cpl, 3);

	cr_assert_eq(soft_exec__run(cpu, 100), SOFT_RUN_EXIT);
	/* the INT 0x80 frame on RSP0 (16-byte aligned, 5 slots) */
	cr_expect_eq(get64(&e, rsp0 - 8), 0x2b, "SS");
	cr_expect_eq(get64(&e, rsp0 - 16), ursp, "RSP");
	f = get64(&e, rsp0 - 24);
	cr_expect(f & SOFT_FL_IF, "RFLAGS");
	cr_expect_eq(get64(&e, rsp0 - 32), 0x33, "CS");
	cr_expect_eq(get64(&e, rsp0 - 40), 0x4002, "RIP after INT");
	/* IRETQ went back to CPL 3; HLT there raised #GP(0) through IST1 */
	cr_expect_eq(cpu->cpl, 0);
	cr_expect_eq(cpu->rip, 0x6001);
	cr_expect_eq(cpu->gpr[SOFT_RSP], ist1 - 48);
	cr_expect_eq(get64(&e, ist1 - 48), 0, "error code");
	cr_expect_eq(get64(&e, ist1 - 40), 0x4003, "faulting RIP");
	cr_expect_eq(get64(&e, ist1 - 32), 0x33, "CS of CPL 3");
	cr_expect_eq(get64(&e, ist1 - 16), ursp, "user RSP restored by IRETQ");
	cr_expect_eq(get64(&e, ist1 - 8), 0x2b, "user SS");
	/* privilege change in long mode loads a null SS with RPL = new CPL */
	cr_expect_eq(cpu->seg[SOFT_SS].sel, 0);
	cr_expect_eq(cpu->seg[SOFT_CS].sel, 0x10);
	cr_expect(!(soft_flags__get(cpu) & SOFT_FL_IF), "interrupt gate clears IF");
	env_fini(&e);
}

Test(soft_sys, int_gate_dpl_check)
{
	/* INT 0x81 from CPL 3 through a DPL 0 gate: #GP(0x81*8+2) */
	static const uint8_t user[] = { 0xcd, 0x81 };
	struct sys_env e;
	struct soft_cpu *cpu;

	env_init(&e, 1, false);
	cpu = e.cpu;
	setup_long(&e);
	put_gate64(&e, IDT, 0x81, 0x5000, 0x10, 0xe, 0, 0);
	put(&e, 0x4000, user, sizeof(user));
	cpu->seg[SOFT_CS].sel = 0x33;
	cpu->seg[SOFT_CS].dpl = 3;
	cpu->seg[SOFT_SS].sel = 0x2b;
	cpu->seg[SOFT_SS].dpl = 3;
	cpu->rip = 0x4000;
	soft_cpu__update_mode(cpu);
	cr_assert_eq(soft_exec__run(cpu, 10), SOFT_RUN_EXCEPTION);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_GP);
	cr_expect_eq(cpu->exc.error_code, 0x81 * 8 + 2);
	env_fini(&e);
}

/* ---- SYSCALL / SYSRET ---------------------------------------------------- */

Test(soft_sys, syscall_sysret_round_trip)
{
	/* kernel: sysretq ; ... LSTAR: hlt */
	static const uint8_t kern[] = { 0x48, 0x0f, 0x07 };
	static const uint8_t entry[] = { 0xf4 };
	/* user: syscall */
	static const uint8_t user[] = { 0x0f, 0x05 };
	struct sys_env e;
	struct soft_cpu *cpu;

	env_init(&e, 1, true);
	cpu = e.cpu;
	setup_long(&e);
	cpu->star = (0x23ull << 48) | (0x10ull << 32);
	cpu->lstar = 0x7000;
	cpu->sfmask = SOFT_FL_IF | SOFT_FL_DF;
	put(&e, 0x8000, kern, sizeof(kern));
	put(&e, 0x7000, entry, sizeof(entry));
	put(&e, 0x4000, user, sizeof(user));
	cpu->gpr[SOFT_RCX] = 0x4000;
	cpu->gpr[SOFT_R11] = SOFT_FL_FIXED | SOFT_FL_IF | SOFT_FL_DF | SOFT_FL_RF;
	cpu->rip = 0x8000;

	cr_assert_eq(soft_exec__run(cpu, 10), SOFT_RUN_EXIT);
	cr_expect_eq(cpu->rip, 0x7001);
	cr_expect_eq(cpu->cpl, 0);
	cr_expect_eq(cpu->seg[SOFT_CS].sel, 0x10);
	cr_expect_eq(cpu->seg[SOFT_SS].sel, 0x18);
	cr_expect_eq(cpu->gpr[SOFT_RCX], 0x4002, "return RIP");
	/* SYSRET dropped RF; SYSCALL saved the user flags in R11 */
	cr_expect_eq(cpu->gpr[SOFT_R11], SOFT_FL_FIXED | SOFT_FL_IF | SOFT_FL_DF);
	cr_expect_eq(soft_flags__get(cpu) & (SOFT_FL_IF | SOFT_FL_DF), 0, "SFMASK");
	cr_expect(cpu->lm64);

	/* SYSRET to a non-canonical RCX is a #GP(0) at CPL 0 */
	cpu->gpr[SOFT_RCX] = 0x0000800000000000ull;
	cpu->rip = 0x8000;
	cpu->svm->hooks.deliver_exception = NULL;
	cr_assert_eq(soft_exec__run(cpu, 10), SOFT_RUN_EXCEPTION);
	cr_expect_eq(cpu->exc.vector, SOFT_EXC_GP);
	cr_expect_eq(cpu->cpl, 0);
	env_fini(&e);
}

/* ---- real -> protected -> long mode --------------------------------------- */

Test(soft_sys, real_to_protected_to_long)
{
	static const uint8_t code[] = {
		/* 16-bit at 0x7c00 */
		0xfa,                               /* cli */
		0x0f, 0x01, 0x16, 0x00, 0x7e,       /* lgdt [0x7e00] */
		0x0f, 0x20, 0xc0,                   /* mov eax, cr0 */
		0x66, 0x83, 0xc8, 0x01,             /* or eax, 1 */
		0x0f, 0x22, 0xc0,                   /* mov cr0, eax */
		0x66, 0xea, 0x20, 0x7c, 0x00, 0x00, 0x08, 0x00, /* jmp dword 0x08:0x7c20 */
		0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
		/* 32-bit at 0x7c20 */
		0x66, 0xb8, 0x10, 0x00,             /* mov ax, 0x10 */
		0x8e, 0xd8,                         /* mov ds, ax */
		0x8e, 0xd0,                         /* mov ss, ax */
		0x0f, 0x20, 0xe0,                   /* mov eax, cr4 */
		0x83, 0xc8, 0x20,                   /* or eax, PAE */
		0x0f, 0x22, 0xe0,                   /* mov cr4, eax */
		0xb8, 0x00, 0x00, 0x01, 0x00,       /* mov eax, 0x10000 */
		0x0f, 0x22, 0xd8,                   /* mov cr3, eax */
		0xb9, 0x80, 0x00, 0x00, 0xc0,       /* mov ecx, EFER */
		0x0f, 0x32,                         /* rdmsr */
		0x0d, 0x00, 0x01, 0x00, 0x00,       /* or eax, LME */
		0x0f, 0x30,                         /* wrmsr */
		0x0f, 0x20, 0xc0,                   /* mov eax, cr0 */
		0x0d, 0x00, 0x00, 0x00, 0x80,       /* or eax, PG */
		0x0f, 0x22, 0xc0,                   /* mov cr0, eax */
		0xea, 0x60, 0x7c, 0x00, 0x00, 0x18, 0x00, /* jmp 0x18:0x7c60 */
	};
	static const uint8_t code64[] = {
		0x48, 0xb8, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12, /* mov rax, imm64 */
		0xf4,
	};
	struct sys_env e;
	struct soft_cpu *cpu;
	uint8_t gdtr[6] = { 0x1f, 0x00, 0x10, 0x7e, 0x00, 0x00 };

	env_init(&e, 1, true);
	cpu = e.cpu;
	cr_assert_lt(sizeof(code), 0x60u);
	put(&e, 0x7c00, code, sizeof(code));
	put(&e, 0x7c60, code64, sizeof(code64));
	put(&e, 0x7e00, gdtr, sizeof(gdtr));
	put64(&e, 0x7e10, 0);
	put64(&e, 0x7e18, desc(0xb, 0, false, true, true));
	put64(&e, 0x7e20, desc(0x3, 0, false, true, true));
	put64(&e, 0x7e28, desc(0xb, 0, true, false, true));
	put64(&e, PT, (PT + 0x1000) | 3);
	put64(&e, PT + 0x1000, (PT + 0x2000) | 3);
	put64(&e, PT + 0x2000, 0x83);
	/* power-on state, then a SIPI-like start at 0000:7c00 */
	cpu->seg[SOFT_CS].sel = 0;
	cpu->seg[SOFT_CS].base = 0;
	cpu->rip = 0x7c00;
	soft_cpu__update_mode(cpu);
	cr_assert_eq(cpu->code_bits, 16);

	cr_assert_eq(soft_exec__run(cpu, 100), SOFT_RUN_EXIT);
	cr_expect(cpu->lm64, "not in 64-bit mode");
	cr_expect(cpu->efer & X86_EFER_LMA);
	cr_expect_eq(cpu->seg[SOFT_CS].sel, 0x18);
	cr_expect_eq(cpu->seg[SOFT_SS].sel, 0x10);
	cr_expect_eq(cpu->gpr[SOFT_RAX], 0x123456789abcdef0ull);
	cr_expect_eq(cpu->rip, 0x7c6b);
	env_fini(&e);
}

/* ---- double and triple faults ------------------------------------------- */

Test(soft_sys, double_fault_from_contributory_pair)
{
	/* mov rax, [non-canonical] -> #GP(0); gate 13 not present -> #NP;
	 * #GP then #NP is contributory + contributory -> #DF (error 0) */
	static const uint8_t code[] = { 0x48, 0xa1, 0, 0, 0, 0, 0, 0, 0x00, 0x80 };
	static const uint8_t hlt[] = { 0xf4 };
	struct sys_env e;
	struct soft_cpu *cpu;

	env_init(&e, 1, true);
	cpu = e.cpu;
	setup_long(&e);
	put_gate64(&e, IDT, 8, 0x6000, 0x10, 0xe, 0, 0);
	put(&e, 0x6000, hlt, sizeof(hlt));
	put(&e, 0x8000, code, sizeof(code));
	cpu->rip = 0x8000;
	cpu->gpr[SOFT_RSP] = 0x70000;
	cr_assert_eq(soft_exec__run(cpu, 10), SOFT_RUN_EXIT);
	cr_expect_eq(cpu->rip, 0x6001, "#DF handler did not run");
	cr_expect_eq(get64(&e, 0x70000 - 48), 0, "#DF error code");
	cr_expect_eq(get64(&e, 0x70000 - 40), 0x8000, "#DF RIP");
	cr_expect_eq(atomic_load(&e.vm->stop_reason), VM_STOP_NONE);
	env_fini(&e);
}

Test(soft_sys, triple_fault_stops_vm)
{
	static const uint8_t code[] = { 0x0f, 0x0b };   /* ud2 with an empty IDT */
	struct sys_env e;
	struct soft_cpu *cpu;

	env_init(&e, 1, true);
	cpu = e.cpu;
	setup_long(&e);
	cpu->idtr.limit = 0;
	put(&e, 0x8000, code, sizeof(code));
	cpu->rip = 0x8000;
	cr_assert_eq(soft_exec__run(cpu, 10), SOFT_RUN_EXIT);
	cr_expect_eq(atomic_load(&e.vm->stop_reason), VM_STOP_TRIPLE_FAULT);
	cr_expect_eq(e.vm->stop_status, VM_EXIT_GUEST_CRASH);
	cr_expect(e.sc.shutdown);
	cr_expect_eq(cpu->rip, 0x8000, "state must be the faulting one");
	env_fini(&e);
}

/* ---- misc privileged instructions ---------------------------------------- */

Test(soft_sys, msr_and_cpl_checks)
{
	struct sys_env e;
	uint64_t v;

	env_init(&e, 1, false);
	setup_long(&e);
	cr_expect_eq(soft_msr__read(e.cpu, 0xdeadbeef, &v), -1, "unknown MSR must #GP");
	cr_expect_eq(soft_msr__write(e.cpu, 0xc0000082, 0x0000800000000000ull), -1,
		     "non-canonical LSTAR must #GP");
	cr_expect_eq(soft_msr__write(e.cpu, 0x277, 0x0202020202020202ull), -1, "bad PAT");
	cr_expect_eq(soft_msr__write(e.cpu, 0xc0000100, 0xffff888000000000ull), 0);
	cr_expect_eq(e.cpu->seg[SOFT_FS].base, 0xffff888000000000ull);
	cr_expect_eq(soft_msr__read(e.cpu, 0x10a, &v), 0);
	cr_expect(v & 1, "RDCL_NO");
	cr_expect_eq(soft_msr__write(e.cpu, 0xc0000080, X86_EFER_SCE | X86_EFER_LME | X86_EFER_NXE), 0);
	cr_expect(e.cpu->efer & X86_EFER_LMA, "LMA must survive an EFER write");
	/* TSC: monotonic, synchronized: two reads 1 ms apart differ by ~1e6 */
	{
		uint64_t a = soft_sys__tsc(e.cpu), b;
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
		b = soft_sys__tsc(e.cpu);
		cr_expect_gt(b - a, 900000u);
		cr_expect_lt(b - a, 500000000u);
	}
	env_fini(&e);
}

/* ---- real mode and 32-bit protected mode delivery ------------------------ */

Test(soft_sys, real_mode_int_and_iret)
{
	static const uint8_t code[] = { 0xcd, 0x10, 0xf4 };            /* int 0x10 ; hlt */
	static const uint8_t isr[] = { 0xb8, 0x34, 0x12, 0xcf };       /* mov ax,0x1234 ; iret */
	struct sys_env e;
	struct soft_cpu *cpu;
	uint16_t ivt[2] = { 0x0000, 0x0900 };   /* 0900:0000 = 0x9000 */

	env_init(&e, 1, true);
	cpu = e.cpu;
	put(&e, 0x10 * 4, ivt, sizeof(ivt));
	put(&e, 0x7c00, code, sizeof(code));
	put(&e, 0x9000, isr, sizeof(isr));
	cpu->seg[SOFT_CS].sel = 0;
	cpu->seg[SOFT_CS].base = 0;
	cpu->idtr.base = 0;
	cpu->idtr.limit = 0x3ff;
	cpu->rip = 0x7c00;
	cpu->gpr[SOFT_RSP] = 0x7000;
	soft_flags__set(cpu, SOFT_FL_FIXED | SOFT_FL_IF);
	soft_cpu__update_mode(cpu);
	cr_assert_eq(soft_exec__run(cpu, 10), SOFT_RUN_EXIT);
	cr_expect_eq(cpu->gpr[SOFT_RAX] & 0xffff, 0x1234, "ISR did not run");
	cr_expect_eq(cpu->rip, 0x7c03);
	cr_expect_eq(cpu->gpr[SOFT_RSP], 0x7000);
	cr_expect_eq(cpu->seg[SOFT_CS].base, 0);
	cr_expect(soft_flags__get(cpu) & SOFT_FL_IF, "IRET restores IF");
	env_fini(&e);
}

Test(soft_sys, protected_mode_ring3_to_ring0)
{
	static const uint8_t user[] = { 0xcd, 0x80 };
	static const uint8_t hlt[] = { 0xf4 };
	const uint32_t esp0 = 0x80000, uesp = 0x70000;
	struct sys_env e;
	struct soft_cpu *cpu;
	uint32_t v;
	uint16_t ss0 = 0x18;
	uint64_t gate = 0x5000 | (0x08ull << 16) | (0xeull << 40) | (3ull << 45) | (1ull << 47);

	env_init(&e, 1, true);
	cpu = e.cpu;
	soft_cpu__setup_flat(cpu, 32, 0);
	put_gdt(&e);
	put(&e, TSS + 4, &esp0, 4);
	put(&e, TSS + 8, &ss0, 2);
	put64(&e, IDT + 0x80 * 8, gate);
	cpu->idtr.base = IDT;
	cpu->idtr.limit = 0x7ff;
	cpu->seg[SOFT_TR] = (struct soft_seg){ .base = TSS, .limit = 0x67, .sel = 0x40,
					       .type = 0xb, .present = 1 };
	put(&e, 0x4000, user, sizeof(user));
	put(&e, 0x5000, hlt, sizeof(hlt));
	cr_assert_eq(soft_seg__load(cpu, SOFT_DS, 0x2b), SOFT_OK);
	cpu->seg[SOFT_CS] = (struct soft_seg){ .base = 0, .limit = 0xffffffff, .sel = 0x23,
					       .type = 0xb, .s = 1, .dpl = 3, .present = 1,
					       .db = 1, .g = 1 };
	cpu->seg[SOFT_SS] = cpu->seg[SOFT_DS];
	cpu->gpr[SOFT_RSP] = uesp;
	cpu->rip = 0x4000;
	soft_cpu__update_mode(cpu);
	cr_assert_eq(cpu->cpl, 3);
	cr_assert_eq(soft_exec__run(cpu, 10), SOFT_RUN_EXIT);
	cr_expect_eq(cpu->cpl, 0);
	cr_expect_eq(cpu->seg[SOFT_SS].sel, 0x18);
	cr_expect_eq(cpu->gpr[SOFT_RSP], esp0 - 20);
	vm__read_guest(e.vm, esp0 - 4, &v, 4);
	cr_expect_eq(v, 0x2b, "old SS");
	vm__read_guest(e.vm, esp0 - 8, &v, 4);
	cr_expect_eq(v, uesp, "old ESP");
	vm__read_guest(e.vm, esp0 - 16, &v, 4);
	cr_expect_eq(v, 0x23, "old CS");
	vm__read_guest(e.vm, esp0 - 20, &v, 4);
	cr_expect_eq(v, 0x4002, "return EIP");
	env_fini(&e);
}

/* ---- hostile code ---------------------------------------------------------- */

/* Random bytes as code in every mode and at CPL 0 and 3, with every vector
 * pointing at a HLT: whatever the bytes do to descriptor tables, control
 * registers, MSRs or the stack, the VMM must neither crash nor hang, and a
 * stop (triple fault) must be the only way out besides HLT/budget. */
Test(soft_sys, random_code_never_crashes, .timeout = 50)
{
	static const uint8_t hlt[] = { 0xf4 };
	struct sys_env e;
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	env_init(&e, 1, true);
	for (unsigned iter = 0; iter < 4000; iter++) {
		struct soft_cpu *cpu = e.cpu;
		uint8_t code[4096];
		unsigned mode = iter % 4;   /* 0: real, 1: 32-bit, 2: 64-bit, 3: 64-bit CPL 3 */
		int r;

		for (unsigned i = 0; i < sizeof(code); i++) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			code[i] = (uint8_t)seed;
		}
		atomic_store(&e.vm->stop_reason, VM_STOP_NONE);
		e.sc.shutdown = false;
		soft_cpu__reset(cpu);
		if (mode == 0) {
			cpu->seg[SOFT_CS].sel = 0x800;
			cpu->seg[SOFT_CS].base = 0x8000;
			cpu->idtr.base = 0;
			cpu->idtr.limit = 0x3ff;
			for (unsigned v = 0; v < 256; v++) {
				uint16_t ivt[2] = { 0x0000, 0x0600 };   /* 0600:0000 */

				put(&e, v * 4, ivt, 4);
			}
			put(&e, 0x6000, hlt, 1);
		} else {
			setup_long(&e);
			if (mode == 1) {
				soft_cpu__setup_flat(cpu, 32, 0);
				put_gdt(&e);
				cpu->seg[SOFT_CS].sel = 0x08;
				cpu->idtr.base = IDT;
				cpu->idtr.limit = 0x7ff;
				for (unsigned v = 0; v < 256; v++)
					put64(&e, IDT + v * 8, 0x6000 | (0x08ull << 16) | (0xeull << 40) |
					      (3ull << 45) | (1ull << 47));
			} else {
				for (unsigned v = 0; v < 256; v++)
					put_gate64(&e, IDT, v, 0x6000, 0x10, 0xe, 3, v & 1);
			}
			put(&e, 0x6000, hlt, 1);
			put64(&e, TSS + 4, 0x80000);
			put64(&e, TSS + 36, 0x90000);
			cpu->seg[SOFT_TR] = (struct soft_seg){ .base = TSS, .limit = 0x67, .sel = 0x40,
							       .type = 0xb, .present = 1 };
			if (mode == 3) {
				cpu->seg[SOFT_CS].sel = 0x33;
				cpu->seg[SOFT_CS].dpl = 3;
				cpu->seg[SOFT_SS].sel = 0x2b;
				cpu->seg[SOFT_SS].dpl = 3;
			}
			soft_cpu__update_mode(cpu);
		}
		cpu->gpr[SOFT_RSP] = 0x70000;
		put(&e, 0x8000, code, sizeof(code));
		cpu->rip = mode == 0 ? 0 : 0x8000;
		r = soft_exec__run(cpu, 2000);
		cr_assert(r == SOFT_RUN_BUDGET || r == SOFT_RUN_EXIT || r == SOFT_RUN_FATAL,
			  "iteration %u: result %d", iter, r);
	}
	env_fini(&e);
}

Test(soft_sys, single_step_trap_after_next_instruction)
{
	static const uint8_t code[] = {
		0x9c,                                           /* pushfq */
		0x48, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, /* or qword [rsp], TF */
		0x9d,                                           /* popfq */
		0x90, 0x90, 0xf4,                               /* nop ; nop ; hlt */
	};
	static const uint8_t hlt[] = { 0xf4 };
	struct sys_env e;
	struct soft_cpu *cpu;

	env_init(&e, 1, true);
	cpu = e.cpu;
	setup_long(&e);
	put_gate64(&e, IDT, 1, 0x6000, 0x10, 0xe, 0, 0);
	put(&e, 0x6000, hlt, sizeof(hlt));
	put(&e, 0x8000, code, sizeof(code));
	cpu->rip = 0x8000;
	cpu->gpr[SOFT_RSP] = 0x70000;
	cr_assert_eq(soft_exec__run(cpu, 20), SOFT_RUN_EXIT);
	cr_expect_eq(cpu->rip, 0x6001, "#DB handler did not run");
	cr_expect_eq(get64(&e, 0x70000 - 40), 0x800b, "trap after the first NOP");
	cr_expect(get64(&e, 0x70000 - 24) & SOFT_FL_TF, "saved RFLAGS has TF");
	cr_expect(cpu->dr[6] & (1ull << 14), "DR6.BS");
	cr_expect(!(soft_flags__get(cpu) & SOFT_FL_TF), "gate clears TF");
	env_fini(&e);
}
