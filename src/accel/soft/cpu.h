/* The software x86-64 CPU: architectural state, the decoded-instruction
 * record, the handler/dispatch API and the memory-access API that every
 * instruction handler (core, fpu, system) uses.  docs/soft-cpu.md has the
 * design; this header is the contract between the files of src/accel/soft.
 *
 * Conventions for handlers:
 *  - a handler runs with cpu->rip = address of the instruction and
 *    cpu->next_rip = address of the next one; a branch writes next_rip
 *    (use soft_branch()), everything else leaves it alone;
 *  - it returns SOFT_OK, or the value of soft_raise*() (exception recorded
 *    in cpu->exc, delivered by the run loop through hooks.deliver_exception
 *    with cpu->rip still pointing at the faulting instruction), or
 *    SOFT_EXIT (leave soft_exec__run after this instruction; rip advances);
 *  - architectural state is only modified once every check that can fault
 *    has passed (read operands and check permissions first, write last). */
#ifndef VIREO_ACCEL_SOFT_CPU_H
#define VIREO_ACCEL_SOFT_CPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "accel/soft/fpu.h"
#include "accel/x86_state.h"

struct vm;
struct lapic;
struct soft_irqchip;
struct soft_cpu;
struct soft_insn;
struct soft_code_cache;

#ifndef SOFT_PHYS_ADDR_BITS
#define SOFT_PHYS_ADDR_BITS 40   /* MAXPHYADDR: CPUID 0x80000008 and PTE reserved bits */
#endif

/* ---- handler return codes ------------------------------------------- */
#define SOFT_OK   0
#define SOFT_EXC  1   /* exception recorded in cpu->exc */
#define SOFT_EXIT 2   /* stop the run loop after this instruction */

/* soft_exec__run() results */
enum soft_run_result {
	SOFT_RUN_BUDGET = 0,   /* budget used up */
	SOFT_RUN_EXIT,         /* a handler or hook asked to leave (HLT, stop, ...) */
	SOFT_RUN_EXCEPTION,    /* exception pending and no deliver hook (tests) */
	SOFT_RUN_FATAL,        /* cannot continue (exec from non-RAM, triple fault...) */
};

/* ---- exception vectors ------------------------------------------------ */
enum {
	SOFT_EXC_DE = 0, SOFT_EXC_DB = 1, SOFT_EXC_NMI = 2, SOFT_EXC_BP = 3,
	SOFT_EXC_OF = 4, SOFT_EXC_BR = 5, SOFT_EXC_UD = 6, SOFT_EXC_NM = 7,
	SOFT_EXC_DF = 8, SOFT_EXC_TS = 10, SOFT_EXC_NP = 11, SOFT_EXC_SS = 12,
	SOFT_EXC_GP = 13, SOFT_EXC_PF = 14, SOFT_EXC_MF = 16, SOFT_EXC_AC = 17,
	SOFT_EXC_MC = 18, SOFT_EXC_XM = 19,
};

/* #PF error code bits */
#define SOFT_PF_P    (1u << 0)
#define SOFT_PF_W    (1u << 1)
#define SOFT_PF_U    (1u << 2)
#define SOFT_PF_RSVD (1u << 3)
#define SOFT_PF_I    (1u << 4)

/* ---- registers -------------------------------------------------------- */
enum soft_gpr {
	SOFT_RAX, SOFT_RCX, SOFT_RDX, SOFT_RBX, SOFT_RSP, SOFT_RBP, SOFT_RSI, SOFT_RDI,
	SOFT_R8, SOFT_R9, SOFT_R10, SOFT_R11, SOFT_R12, SOFT_R13, SOFT_R14, SOFT_R15,
};
#define SOFT_REG_NONE 0xff
#define SOFT_REG_RIP  16      /* soft_mem.base for RIP-relative operands */

/* Segment register numbers: the x86 encoding (ModRM.reg of MOV Sreg). */
enum soft_segreg {
	SOFT_ES = 0, SOFT_CS, SOFT_SS, SOFT_DS, SOFT_FS, SOFT_GS,
	SOFT_NR_SEGS,
	SOFT_LDTR = SOFT_NR_SEGS, SOFT_TR,  /* index into soft_cpu.seg[] too */
	SOFT_NR_SEGREGS,
};

/* A segment register with its descriptor cache (same fields as
 * struct x86_segment so conversion is field-by-field). */
struct soft_seg {
	uint64_t base;
	uint32_t limit;    /* byte granular (already scaled if g=1) */
	uint16_t sel;
	uint8_t type;      /* 4-bit descriptor type */
	uint8_t s, dpl, present, db, l, g, avl, unusable;
};

struct soft_dtable {
	uint64_t base;
	uint16_t limit;
};

/* RFLAGS bits */
#define SOFT_FL_CF   (1ull << 0)
#define SOFT_FL_FIXED (1ull << 1)
#define SOFT_FL_PF   (1ull << 2)
#define SOFT_FL_AF   (1ull << 4)
#define SOFT_FL_ZF   (1ull << 6)
#define SOFT_FL_SF   (1ull << 7)
#define SOFT_FL_TF   (1ull << 8)
#define SOFT_FL_IF   (1ull << 9)
#define SOFT_FL_DF   (1ull << 10)
#define SOFT_FL_OF   (1ull << 11)
#define SOFT_FL_IOPL (3ull << 12)
#define SOFT_FL_NT   (1ull << 14)
#define SOFT_FL_RF   (1ull << 16)
#define SOFT_FL_VM   (1ull << 17)
#define SOFT_FL_AC   (1ull << 18)
#define SOFT_FL_VIF  (1ull << 19)
#define SOFT_FL_VIP  (1ull << 20)
#define SOFT_FL_ID   (1ull << 21)
#define SOFT_FL_ARITH (SOFT_FL_CF | SOFT_FL_PF | SOFT_FL_AF | SOFT_FL_ZF | \
		       SOFT_FL_SF | SOFT_FL_OF)

/* Lazy flags: arithmetic instructions record (op, size, operands, result);
 * the six arithmetic flags are computed only when something reads them.
 * cc_op = SOFT_CC_<op> * 4 + log2(size in bytes).  SOFT_CC_EAGER: the
 * arithmetic flags are in cpu->rflags. */
enum soft_cc_op {
	SOFT_CC_EAGER = 0,
	SOFT_CC_ADD,    /* res = src1 + src2 */
	SOFT_CC_ADC,    /* res = src1 + src2 + 1 (ADC with CF=1) */
	SOFT_CC_SUB,    /* res = src1 - src2 (SUB, CMP, NEG with src1 = 0) */
	SOFT_CC_SBB,    /* res = src1 - src2 - 1 (SBB with CF=1) */
	SOFT_CC_LOGIC,  /* CF = OF = AF = 0 */
	SOFT_CC_INC,    /* res = src1 + 1, src2 = CF before */
	SOFT_CC_DEC,    /* res = src1 - 1, src2 = CF before */
	SOFT_CC_SHIFT,  /* res; src2 bit 0 = CF, bit 11 = OF (eagerly computed), AF=0 */
	SOFT_CC_NR,
};
#define SOFT_CC(op, size_log2) ((uint32_t)(op) * 4 + (size_log2))

/* ---- decoded instruction ---------------------------------------------- */
enum soft_opkind {
	SOFT_OPK_NONE = 0,
	SOFT_OPK_REG,
	SOFT_OPK_MEM,     /* the instruction's (single) memory operand: soft_insn.mem */
	SOFT_OPK_IMM,     /* soft_insn.imm (second immediate of ENTER: imm2) */
	SOFT_OPK_PTR,     /* far pointer: selector imm2 : offset imm */
};

/* Register classes (soft_operand.rclass) */
enum soft_rclass {
	SOFT_RC_GPR = 0,   /* reg = 0-15, gpr_off = byte offset in soft_cpu */
	SOFT_RC_SEG,       /* reg = enum soft_segreg */
	SOFT_RC_CR,        /* reg = n of CRn */
	SOFT_RC_DR,        /* reg = n of DRn */
	SOFT_RC_XMM,       /* reg = n of XMMn */
	SOFT_RC_MMX,       /* reg = n of MMn */
	SOFT_RC_X87,       /* reg = i of ST(i) */
	SOFT_RC_OTHER,     /* see zreg */
};

struct soft_operand {
	uint8_t kind;      /* enum soft_opkind */
	uint8_t size;      /* bytes (1, 2, 4, 8, 10, 16, 6 for m16:32 ...) */
	uint8_t rclass;    /* enum soft_rclass, for SOFT_OPK_REG */
	uint8_t reg;       /* see enum soft_rclass */
	uint16_t zreg;     /* ZydisRegister, for anything unusual */
	uint16_t gpr_off;  /* GPR operand: offsetof(struct soft_cpu, gpr[reg]) (+1 for AH..BH) */
};

struct soft_mem {
	int64_t disp;
	uint8_t base;      /* GPR, SOFT_REG_RIP or SOFT_REG_NONE */
	uint8_t index;     /* GPR or SOFT_REG_NONE */
	uint8_t scale;     /* 1, 2, 4, 8 */
	uint8_t seg;       /* enum soft_segreg, after overrides and defaults */
};

/* soft_insn.prefix */
#define SOFT_PFX_LOCK  (1u << 0)
#define SOFT_PFX_REP   (1u << 1)   /* REP / REPE / REPZ */
#define SOFT_PFX_REPNE (1u << 2)
#define SOFT_PFX_SEG   (1u << 3)   /* explicit segment override present */
#define SOFT_PFX_OPSZ  (1u << 4)   /* 0x66 */
#define SOFT_PFX_ADSZ  (1u << 5)   /* 0x67 */
#define SOFT_PFX_REXW  (1u << 6)

typedef int (*soft_handler_fn)(struct soft_cpu *cpu, const struct soft_insn *in);

struct soft_insn {
	soft_handler_fn fn;
	uint64_t imm;        /* immediate, sign-extended to 64 bits where the
			      * encoding sign-extends; relative branches: the
			      * displacement (target = next_rip + imm) */
	struct soft_mem mem;
	struct soft_operand op[4];   /* visible operands, Zydis order (dest first) */
	uint16_t mnemonic;   /* ZydisMnemonic, or SOFT_MNEM_* */
	uint16_t imm2;       /* ENTER level / far pointer selector */
	uint8_t len;
	uint8_t nops;        /* number of visible operands */
	uint8_t opsize;      /* effective operand size, bytes (2/4/8) */
	uint8_t addrsize;    /* effective address size, bytes (2/4/8) */
	uint8_t prefix;      /* SOFT_PFX_* */
	uint8_t opcode;      /* last opcode byte (Zydis opcode) */
	uint8_t opmap;       /* ZydisOpcodeMap */
	uint8_t modrm_reg;   /* ModRM.reg (opcode extension), 0 if none */
	uint8_t flags;       /* SOFT_INSN_* */
	uint8_t bytes[15];   /* raw bytes (page-crossing check, debugging) */
	/* threaded dispatch (ops_fast.c): offset of the instruction in its
	 * page, and the record (relative to this one, in the same page's
	 * array) that follows it / that a taken in-page branch goes to;
	 * 0 = not looked up yet */
	uint16_t pgoff;
	int16_t next_delta, taken_delta;
};

#define SOFT_INSN_CROSS_PAGE (1u << 0)
#define SOFT_INSN_LINEAR     (1u << 1)   /* core-internal: handler never writes next_rip */

/* Pseudo mnemonics for forms that Zydis files under a common mnemonic but
 * belong to another owner (registered like ZydisMnemonic values). */
enum soft_pseudo_mnemonic {
	SOFT_MNEM_MOV_TO_SEG = ZYDIS_MNEMONIC_MAX_VALUE + 1, /* MOV Sreg, r/m (system) */
	SOFT_MNEM_MOV_FROM_SEG,  /* MOV r/m, Sreg (core) */
	SOFT_MNEM_MOV_CR,        /* MOV CRn <-> reg, either direction (system) */
	SOFT_MNEM_MOV_DR,        /* MOV DRn <-> reg (system) */
	SOFT_MNEM_PUSH_SEG,      /* PUSH Sreg (core) */
	SOFT_MNEM_POP_SEG,       /* POP Sreg (system) */
	SOFT_MNEM_JMP_FAR,       /* JMP ptr16:xx / m16:xx (system) */
	SOFT_MNEM_CALL_FAR,      /* CALL far (system) */
	SOFT_MNEM_RET_FAR,       /* RETF [imm16] (system) */
	SOFT_MNEM_MOVSD_STR,     /* string MOVSD (A5); ZYDIS_MNEMONIC_MOVSD is then SSE only */
	SOFT_MNEM_CMPSD_STR,     /* string CMPSD (A7); ZYDIS_MNEMONIC_CMPSD is then SSE only */
	SOFT_MNEM_NR,
};

/* ---- per-VM shared state ---------------------------------------------- */

/* Hooks the system part installs (all optional; NULL = behaviour noted). */
struct soft_hooks {
	/* Deliver cpu->exc through the IDT (double/triple fault logic is the
	 * hook's).  Returns SOFT_OK to continue at the new cpu->rip, or
	 * SOFT_EXIT (e.g. triple fault: after vm__request_stop).  NULL: the run
	 * loop returns SOFT_RUN_EXCEPTION with cpu->exc filled in. */
	int (*deliver_exception)(struct soft_cpu *cpu);
	/* Called at an instruction boundary when cpu->exit_req was set (kick,
	 * interrupt pending, ...), after the core handled its own reasons.
	 * cpu->int_shadow tells whether interrupts are inhibited for this
	 * boundary.  Returns SOFT_OK (maybe after delivering an interrupt,
	 * i.e. changing rip) or SOFT_EXIT to leave soft_exec__run. */
	int (*events)(struct soft_cpu *cpu);
	/* IN/OUT/INS/OUTS permission when CPL > IOPL (or VM86): return true if
	 * the TSS I/O bitmap allows the access.  NULL: deny (#GP(0)). */
	bool (*io_allowed)(struct soft_cpu *cpu, uint16_t port, unsigned len);
	/* POPF (from the core's POPF handler): apply the IOPL/IF/VM/RF rules
	 * and write the new flags with soft_flags__set().  NULL: the core
	 * writes all bits except VM/RF/VIP/VIF (ring-0 semantics). */
	int (*popf)(struct soft_cpu *cpu, uint64_t value, unsigned size);
	/* Accesses to non-RAM guest-physical addresses go here first: return
	 * true if gpa is this vCPU's LAPIC page (and do the access with
	 * lapic__mmio_read/write), false to send it to vm->mmio.  len is 1,
	 * 2, 4 or 8.  NULL: everything goes to vm->mmio. */
	bool (*lapic_mmio)(struct soft_cpu *cpu, uint64_t gpa, void *data, unsigned len,
			   bool write);
};

struct soft_dispatch {
	soft_handler_fn fn;
};

struct soft_vm {
	struct vm *vm;
	struct soft_irqchip *irqchip;     /* set by system's vm_init */
	void *sys;                        /* system's private per-VM data */
	struct soft_hooks hooks;
	/* dispatch table, indexed by ZydisMnemonic / SOFT_MNEM_*; filled at
	 * init (core, then fpu, then system: a later registration wins) and
	 * read-only while vCPUs run */
	struct soft_dispatch table[SOFT_MNEM_NR];
	/* self-modifying-code detection, one entry per 4 KiB of guest RAM
	 * (indexed by host offset >> 12): code_present != 0 if some vCPU has
	 * decoded instructions from the page; code_gen bumps on every
	 * invalidation so each vCPU's cache notices */
	atomic_uchar *code_present;
	atomic_uint *code_gen;
	uint64_t ram_pages;
	atomic_uint_fast64_t nr_invalidations;
	/* private to exec.c: the core's own registrations, so it only swaps
	 * in its specialised fast handlers where nobody overrode it */
	struct soft_dispatch core_table[SOFT_MNEM_NR];
};

/* ---- TLB --------------------------------------------------------------- */
#define SOFT_TLB_BITS 10
#define SOFT_TLB_SIZE (1u << SOFT_TLB_BITS)
#define SOFT_PAGE_MASK (~(uint64_t)0xfff)

/* One direct-mapped entry.  tag_r/w/x = linear page address when that
 * access kind is allowed through the fast path, SOFT_TLB_NOPE otherwise
 * (never page aligned, so it never matches).  host = addend + linear. */
struct soft_tlb_entry {
	uint64_t tag_r, tag_w, tag_x;
	uintptr_t addend;
	uint64_t gpa;        /* guest-physical page */
	uint32_t ram_page;   /* index into soft_vm.code_present */
	uint32_t flags;      /* private to mmu.c */
};
#define SOFT_TLB_NOPE 1ull

/* mmu index: separate TLBs for user (CPL 3) and supervisor accesses */
#define SOFT_MMU_SUPER 0
#define SOFT_MMU_USER  1

struct soft_stats {
	uint64_t insns;
	uint64_t decodes;
	uint64_t tlb_misses;
	uint64_t tlb_flushes;
	uint64_t exceptions;
	uint64_t code_invalidations;
	uint64_t code_flushes;
	uint64_t mmio_accesses;
};

/* ---- the CPU ----------------------------------------------------------- */
struct soft_cpu {
	uint64_t gpr[16];             /* first: gpr_off fits in 16 bits */
	uint64_t rip;                 /* current instruction */
	uint64_t next_rip;            /* during a handler: the next one / branch target */

	/* lazy flags (see enum soft_cc_op) */
	uint32_t cc_op;
	uint64_t cc_res, cc_src1, cc_src2;
	uint64_t rflags;              /* non-arithmetic bits always valid */

	/* set from any thread to make the run loop look at its slow path:
	 * kick, pending interrupt, stop; also set by the core itself (mode or
	 * mapping change, code invalidation) */
	atomic_int exit_req;
	/* how many more instructions handlers may run by chaining to each
	 * other (threaded dispatch, ops_fast.c); only the run loop sets it
	 * non-zero, around its handler calls */
	uint32_t chain_left;
	/* the decode cursor and page-switch cache (decode.c) may be wrong:
	 * set with exit_req by TLB flushes, mode changes and code writes, so
	 * the slow path drops them only then, not on every kick (the kernel's
	 * POPF/STI open interrupt windows tens of thousands of times a second) */
	bool cursor_stale;

	struct soft_seg seg[SOFT_NR_SEGREGS];   /* ES CS SS DS FS GS LDTR TR */
	struct soft_dtable gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t dr[8];

	/* MSRs (system's msr.c owns the semantics; FS/GS base are seg[].base) */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t tsc_aux, pat, apic_base, misc_enable, tsc_offset;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[16];

	/* derived mode state: soft_cpu__update_mode() recomputes these from
	 * CR0, EFER, CS and SS; call it after changing any of them */
	uint8_t cpl;
	uint8_t code_bits;            /* 16, 32, 64 */
	uint8_t stack_bits;           /* 16, 32, 64 */
	uint8_t mode_key;             /* 0/1/2 = 16/32/64-bit decoding; keys the decode cache */
	bool long_mode;               /* EFER.LMA */
	bool lm64;                    /* 64-bit submode (LMA && CS.L) */
	bool paging;                  /* CR0.PG */
	bool pe;                      /* CR0.PE */
	uint8_t mmu_idx;              /* SOFT_MMU_USER if cpl == 3 */

	/* interrupt state */
	bool int_shadow;              /* STI / MOV SS / POP SS shadow for the next boundary */
	bool nmi_blocked;             /* until IRET */
	bool halted;
	bool wait_for_sipi;

	/* pending exception (soft_raise) */
	struct {
		int vector;               /* -1: none */
		bool has_error;
		uint32_t error_code;
	} exc;

	struct soft_fpu fpu;

	struct soft_vm *svm;
	struct vm *vm;
	struct lapic *lapic;          /* set by system */
	void *sys;                    /* system's private per-vCPU data */
	int id;

	/* software TLB [mmu_idx][index] */
	struct soft_tlb_entry tlb[2][SOFT_TLB_SIZE];
	uint32_t tlb_large;           /* entries from 2M/4M/1G pages present */

	struct soft_code_cache *code;  /* decode cache (decode.c) */
	struct soft_stats stats;
};

/* ---- lifecycle / init (exec.c) --------------------------------------- */

/* Create the per-VM state; registers the core's handlers and sets
 * vm->accel_data = svm.  System then sets hooks/irqchip and calls
 * soft_fpu__register_handlers() / soft_system__register_handlers(). */
int soft_vm__create(struct vm *vm, struct soft_vm **out);
void soft_vm__destroy(struct soft_vm *svm);
/* Register (or override) the handler for a ZydisMnemonic or SOFT_MNEM_*. */
void soft_exec__register(struct soft_vm *svm, unsigned mnemonic, soft_handler_fn fn);

/* A vCPU in its power-on state (real mode, CS:IP = F000:FFF0). */
int soft_cpu__create(struct soft_vm *svm, int id, struct soft_cpu **out);
void soft_cpu__destroy(struct soft_cpu *cpu);
void soft_cpu__reset(struct soft_cpu *cpu);
/* Recompute cpl/code_bits/stack_bits/mode_key/lm64/... from CR0, EFER,
 * CS, SS and tell the run loop (decode mode may have changed). */
void soft_cpu__update_mode(struct soft_cpu *cpu);
/* Make soft_exec__run look at its slow path (and the events hook) at the
 * next instruction boundary.  Any thread. */
static inline void soft_cpu__kick(struct soft_cpu *cpu)
{
	atomic_store_explicit(&cpu->exit_req, 1, memory_order_release);
}
/* Test/harness helper: flat protected mode with 16/32/64-bit code (64
 * needs cr3 to point at valid 4-level page tables; 16/32 run unpaged if
 * cr3 == 0), CPL 0, IF = 0. */
void soft_cpu__setup_flat(struct soft_cpu *cpu, int bits, uint64_t cr3);

/* Run until `budget` instructions have executed, a handler/hook returns
 * SOFT_EXIT, or a fatal condition.  enum soft_run_result. */
int soft_exec__run(struct soft_cpu *cpu, uint64_t budget);

/* ---- exceptions (exec.c) ----------------------------------------------- */
/* Record an exception (error code pushed for #DF/#TS/#NP/#SS/#GP/#PF/#AC)
 * and return SOFT_EXC, so handlers do `return soft_raise(...)`. */
int soft_raise(struct soft_cpu *cpu, int vector, uint32_t error_code);
/* #PF: also sets CR2. */
int soft_raise_pf(struct soft_cpu *cpu, uint64_t addr, uint32_t error_code);
static inline int soft_raise_ud(struct soft_cpu *cpu) { return soft_raise(cpu, SOFT_EXC_UD, 0); }
static inline int soft_raise_gp0(struct soft_cpu *cpu) { return soft_raise(cpu, SOFT_EXC_GP, 0); }

/* ---- flags (flags.c) ---------------------------------------------------- */
/* Full RFLAGS (materialises the lazy arithmetic flags). */
uint64_t soft_flags__get(struct soft_cpu *cpu);
/* Write RFLAGS verbatim (no privilege rules; bit 1 forced). */
void soft_flags__set(struct soft_cpu *cpu, uint64_t rflags);
/* Condition code 0-15 in Jcc encoding order (O NO B AE E NE BE A S NS P NP L GE LE G). */
bool soft_flags__cond(struct soft_cpu *cpu, unsigned cc);
static inline bool soft_flags__cf(struct soft_cpu *cpu)
{
	return (soft_flags__get(cpu) & SOFT_FL_CF) != 0;
}

/* ---- memory (mmu.c) ----------------------------------------------------- */
/* Access kinds for the linear-address API */
#define SOFT_ACC_READ   0u
#define SOFT_ACC_WRITE  1u
#define SOFT_ACC_EXEC   2u
#define SOFT_ACC_KIND   3u
#define SOFT_ACC_SUPER  4u    /* implicit supervisor access (descriptor tables, TSS, IDT) */

/* Virtual (segment:offset) accesses: segmentation checks, paging, page
 * splits, MMIO and the LAPIC page.  Any length (FXSAVE: 512).  Return
 * SOFT_OK or SOFT_EXC (exception recorded). */
int soft_mem_read(struct soft_cpu *cpu, unsigned seg, uint64_t off, void *buf, unsigned len);
int soft_mem_write(struct soft_cpu *cpu, unsigned seg, uint64_t off, const void *buf, unsigned len);
/* Linear-address accesses (no segmentation). */
int soft_lin_read(struct soft_cpu *cpu, uint64_t la, void *buf, unsigned len, unsigned acc);
int soft_lin_write(struct soft_cpu *cpu, uint64_t la, const void *buf, unsigned len, unsigned acc);
/* Segment:offset -> linear with the limit/type checks of the access
 * (acc = SOFT_ACC_READ/WRITE/EXEC).  SOFT_OK or SOFT_EXC (#GP/#SS). */
int soft_seg__linear(struct soft_cpu *cpu, unsigned seg, uint64_t off, unsigned len,
		     unsigned acc, uint64_t *la);
/* Page walk: linear -> guest-physical with the permission checks of
 * `acc` at the current CPL, setting A/D bits.  Raises #PF on failure. */
int soft_mmu__translate(struct soft_cpu *cpu, uint64_t la, unsigned acc, uint64_t *gpa);
/* Host pointer for a naturally-contained RAM access of len bytes (for
 * atomic read-modify-write with LOCK/XCHG), NULL with *ret = SOFT_OK if the
 * target is MMIO or crosses a page (caller falls back to read + write),
 * NULL with *ret = SOFT_EXC on a fault.  Checks write permission. */
void *soft_mem_rmw_ptr(struct soft_cpu *cpu, unsigned seg, uint64_t off, unsigned len, int *ret);

/* TLB maintenance (system: CR3 write -> flush(false); CR4.PGE/PAE, CR0.PG/WP
 * change -> flush(true); INVLPG -> flush_page). */
void soft_tlb__flush(struct soft_cpu *cpu, bool include_global);
void soft_tlb__flush_page(struct soft_cpu *cpu, uint64_t la);
/* Control-register writes that the MMU depends on; no validity checks
 * (system raises #GP first).  They flush what needs flushing, set EFER.LMA
 * on paging activation with LME, and call soft_cpu__update_mode(). */
void soft_cpu__set_cr0(struct soft_cpu *cpu, uint64_t val);
void soft_cpu__set_cr3(struct soft_cpu *cpu, uint64_t val);
void soft_cpu__set_cr4(struct soft_cpu *cpu, uint64_t val);
void soft_cpu__set_efer(struct soft_cpu *cpu, uint64_t val);

/* Guest RAM written behind the CPUs' back (device DMA, loader): drop any
 * decoded instructions from those pages.  Safe to call for any VM and any
 * range; a no-op unless the soft backend is active. */
void soft_code__invalidate_range(struct vm *vm, uint64_t gpa, uint64_t len);

/* ---- operand helpers (inline, hot) ------------------------------------- */
static inline uint64_t soft_size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline uint64_t soft_gpr_read(const struct soft_cpu *cpu, const struct soft_operand *op)
{
	const uint8_t *p = (const uint8_t *)cpu + op->gpr_off;

	switch (op->size) {
	case 1: return *p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

/* 32-bit writes zero-extend to 64 bits; 8/16-bit writes merge. */
static inline void soft_gpr_write(struct soft_cpu *cpu, const struct soft_operand *op, uint64_t v)
{
	uint8_t *p = (uint8_t *)cpu + op->gpr_off;

	switch (op->size) {
	case 1: *p = (uint8_t)v; break;
	case 2: { uint16_t w = (uint16_t)v; memcpy(p, &w, 2); break; }
	case 4: { uint64_t q = (uint32_t)v; memcpy(p, &q, 8); break; }
	default: memcpy(p, &v, 8); break;
	}
}

/* Write a full GPR by number with operand-size semantics. */
static inline void soft_gpr_set(struct soft_cpu *cpu, unsigned reg, unsigned size, uint64_t v)
{
	uint64_t *r = &cpu->gpr[reg];

	switch (size) {
	case 1: *r = (*r & ~0xffull) | (uint8_t)v; break;
	case 2: *r = (*r & ~0xffffull) | (uint16_t)v; break;
	case 4: *r = (uint32_t)v; break;
	default: *r = v; break;
	}
}

/* Effective address (offset within in->mem.seg), masked to the address size. */
static inline uint64_t soft_ea(const struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t ea = (uint64_t)in->mem.disp;

	if (in->mem.base != SOFT_REG_NONE)
		ea += in->mem.base == SOFT_REG_RIP ? cpu->next_rip : cpu->gpr[in->mem.base];
	if (in->mem.index != SOFT_REG_NONE)
		ea += cpu->gpr[in->mem.index] * in->mem.scale;
	if (in->addrsize != 8)
		ea &= in->addrsize == 4 ? 0xffffffffull : 0xffffull;
	return ea;
}

/* Read/write operand n (register, memory or immediate) of its size. */
int soft_op_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t *val);
int soft_op_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t val);

/* Stack (uses SS and the stack size; size = 2, 4 or 8 bytes). */
int soft_push(struct soft_cpu *cpu, uint64_t val, unsigned size);
int soft_pop(struct soft_cpu *cpu, uint64_t *val, unsigned size);

/* Near branch: target truncated to the operand size (16/32-bit code), then
 * #GP(0) if not canonical in 64-bit mode. */
int soft_branch(struct soft_cpu *cpu, uint64_t target, unsigned opsize);

#endif
