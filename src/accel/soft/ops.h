/* Private to the core's files (decode.c, exec.c, mmu.c, flags.c, alu.c,
 * ops_*.c): registration of the integer ISA and shared helpers. */
#ifndef VIREO_ACCEL_SOFT_OPS_H
#define VIREO_ACCEL_SOFT_OPS_H

#include "accel/soft/cpu.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static inline unsigned size_log2(unsigned size)
{
	return size == 8 ? 3 : size == 4 ? 2 : size == 2 ? 1 : 0;
}

static inline void set_cc(struct soft_cpu *cpu, unsigned op, unsigned size,
			  uint64_t src1, uint64_t src2, uint64_t res)
{
	cpu->cc_op = SOFT_CC(op, size_log2(size));
	cpu->cc_src1 = src1;
	cpu->cc_src2 = src2;
	cpu->cc_res = res;
}

/* Arithmetic flags computed eagerly by a handler (shifts, MUL, BT...). */
static inline void set_arith_flags(struct soft_cpu *cpu, uint64_t f)
{
	soft_flags__get(cpu);
	cpu->rflags = (cpu->rflags & ~SOFT_FL_ARITH) | (f & SOFT_FL_ARITH);
}

static inline int64_t sign_extend(uint64_t v, unsigned size)
{
	unsigned sh = 64 - size * 8;

	return (int64_t)(v << sh) >> sh;
}

/* CF without materialising the other flags (ADC/SBB/INC/DEC/RCL...). */
static inline uint64_t lazy_cf(struct soft_cpu *cpu)
{
	unsigned op = cpu->cc_op >> 2;
	uint64_t m = soft_size_mask(1u << (cpu->cc_op & 3));

	switch (op) {
	case SOFT_CC_EAGER: return cpu->rflags & SOFT_FL_CF;
	case SOFT_CC_ADD: return (cpu->cc_res & m) < (cpu->cc_src1 & m);
	case SOFT_CC_SUB: return (cpu->cc_src1 & m) < (cpu->cc_src2 & m);
	case SOFT_CC_LOGIC: return 0;
	case SOFT_CC_INC: case SOFT_CC_DEC: case SOFT_CC_SHIFT: return cpu->cc_src2 & 1;
	default: return soft_flags__get(cpu) & SOFT_FL_CF;
	}
}

/* Host pointer to [seg:off, +len) if it lies in one RAM page (NULL and
 * *ret = SOFT_OK: MMIO or page-crossing; *ret = SOFT_EXC: fault).  kind is
 * SOFT_ACC_READ or SOFT_ACC_WRITE (a write pointer has already invalidated
 * decoded code on its page). */
void *soft_mem_host(struct soft_cpu *cpu, unsigned seg, uint64_t off, unsigned len,
		    unsigned kind, int *ret);

/* registration, one per ops_*.c */
void soft_ops_alu__register(struct soft_vm *svm);
void soft_ops_mov__register(struct soft_vm *svm);
void soft_ops_branch__register(struct soft_vm *svm);
void soft_ops_string__register(struct soft_vm *svm);
void soft_ops_misc__register(struct soft_vm *svm);
void soft_ops_bit__register(struct soft_vm *svm);

/* decode.c */
#define CODE_HASH_BITS 12
#define CODE_MAX_PAGES 16384   /* then flush everything (QEMU-style) */

struct soft_code_page {
	struct soft_code_page *next;
	uint64_t key;          /* gpa page | mode_key */
	uint32_t ram_page;
	unsigned gen;
	uint32_t n, cap;
	struct soft_insn *insns;
	uint16_t map[4096];    /* offset -> index + 1 into insns, 0 = not decoded */
};

struct soft_code_cache {
	struct soft_code_page *hash[1u << CODE_HASH_BITS];
	unsigned nr_pages;
	ZydisDecoder dec[3];
	/* run-loop fast path: the page RIP is in */
	struct soft_code_page *cur;
	uint64_t cur_la;       /* linear page address of cur, 1 = none */
	struct soft_insn scratch;
};

/* Forget the current page (mapping, mode or code changed). */
void soft_code__reset_cursor(struct soft_cpu *cpu);
int soft_code__create(struct soft_cpu *cpu);
void soft_code__destroy(struct soft_cpu *cpu);
void soft_code__flush_all(struct soft_cpu *cpu);
/* The decoded instruction at linear address la (= CS.base + rip), or NULL
 * with an exception recorded (#PF on fetch) or *fatal set. */
const struct soft_insn *soft_code__fetch(struct soft_cpu *cpu, uint64_t la, bool *fatal);
/* Resolve the handler for a decoded record (used by decode.c). */
soft_handler_fn soft_exec__resolve(struct soft_cpu *cpu, struct soft_insn *in);
int soft_exec__unimplemented(struct soft_cpu *cpu, const struct soft_insn *in);

/* mmu.c */
void soft_code__invalidate_ram_page(struct soft_vm *svm, uint64_t ram_page);
/* Translate for instruction fetch: host pointer to the byte at la (NULL:
 * not RAM, then *gpa is set and ret is SOFT_OK) */
void *soft_mmu__fetch_ptr(struct soft_cpu *cpu, uint64_t la, uint64_t *gpa,
			  uint32_t *ram_page, int *ret);

/* exec.c */
int soft_io_check(struct soft_cpu *cpu, uint16_t port, unsigned len);

#endif
