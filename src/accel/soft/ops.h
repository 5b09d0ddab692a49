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
	/* ADC/SBB chains (bignum loops) read the CF of the previous ADC/SBB */
	case SOFT_CC_ADC: return (cpu->cc_res & m) <= (cpu->cc_src1 & m);
	case SOFT_CC_SUB: return (cpu->cc_src1 & m) < (cpu->cc_src2 & m);
	case SOFT_CC_SBB: return (cpu->cc_src1 & m) <= (cpu->cc_src2 & m);
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

/* Jcc/SETcc/CMOVcc condition: the common lazy cases inline. */
static inline bool cond_fast(struct soft_cpu *cpu, unsigned cc)
{
	unsigned op = cpu->cc_op >> 2, sz = cpu->cc_op & 3;
	unsigned sh = 64 - (8u << sz);
	uint64_t a = cpu->cc_src1 << sh, b = cpu->cc_src2 << sh, res = cpu->cc_res << sh;
	bool r;

	/* operands shifted to the top: unsigned and signed compares work on
	 * any size without masking */
	if (op == SOFT_CC_SUB) {
		switch (cc >> 1) {
		case 1: r = a < b; break;
		case 2: r = a == b; break;
		case 3: r = a <= b; break;
		case 4: r = (int64_t)res < 0; break;
		case 6: r = (int64_t)a < (int64_t)b; break;
		case 7: r = (int64_t)a <= (int64_t)b; break;
		default: return soft_flags__cond(cpu, cc);
		}
		return r ^ (cc & 1);
	}
	if (op != SOFT_CC_EAGER) {
		switch (cc >> 1) {
		case 2: r = res == 0; break;
		case 4: r = (int64_t)res < 0; break;
		default: return soft_flags__cond(cpu, cc);
		}
		return r ^ (cc & 1);
	}
	return soft_flags__cond(cpu, cc);
}

/* ---- inline fast paths for handlers ---------------------------------- */

/* TLB entry for an access of len bytes at linear la that stays in its
 * page, if the fast path may take it (NULL otherwise). */
static inline struct soft_tlb_entry *tlb_hit(struct soft_cpu *cpu, uint64_t la, unsigned len,
					     bool write)
{
	struct soft_tlb_entry *e = &cpu->tlb[cpu->mmu_idx][(la >> 12) & (SOFT_TLB_SIZE - 1)];

	if (likely((write ? e->tag_w : e->tag_r) == (la & SOFT_PAGE_MASK) &&
		   (la & 0xfff) <= 4096 - len))
		return e;
	return NULL;
}

static inline uint64_t load_n(const void *p, unsigned len)
{
	switch (len) {
	case 1: return *(const uint8_t *)p;
	case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

static inline void store_n(void *p, uint64_t v, unsigned len)
{
	switch (len) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: { uint16_t w = (uint16_t)v; memcpy(p, &w, 2); break; }
	case 4: { uint32_t w = (uint32_t)v; memcpy(p, &w, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

/* 1/2/4/8-byte data accesses (64-bit mode fast path, else the full API). */
static inline int mem_rd(struct soft_cpu *cpu, unsigned seg, uint64_t off, uint64_t *v, unsigned len)
{
	if (likely(cpu->lm64)) {
		uint64_t la = seg >= SOFT_FS ? cpu->seg[seg].base + off : off;
		struct soft_tlb_entry *e = tlb_hit(cpu, la, len, false);

		if (likely(e)) {
			*v = load_n((void *)(e->addend + la), len);
			return SOFT_OK;
		}
	}
	*v = 0;
	return soft_mem_read(cpu, seg, off, v, len);
}

static inline int mem_wr(struct soft_cpu *cpu, unsigned seg, uint64_t off, uint64_t v, unsigned len)
{
	if (likely(cpu->lm64)) {
		uint64_t la = seg >= SOFT_FS ? cpu->seg[seg].base + off : off;
		struct soft_tlb_entry *e = tlb_hit(cpu, la, len, true);

		if (likely(e) && !atomic_load_explicit(&cpu->svm->code_present[e->ram_page],
						       memory_order_relaxed)) {
			store_n((void *)(e->addend + la), v, len);
			return SOFT_OK;
		}
	}
	return soft_mem_write(cpu, seg, off, &v, len);
}

/* Operand n of its own size: register, immediate or memory. */
static inline int opnd_rd(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t *v)
{
	const struct soft_operand *o = &in->op[n];

	if (likely(o->kind == SOFT_OPK_REG && o->rclass == SOFT_RC_GPR)) {
		*v = soft_gpr_read(cpu, o);
		return SOFT_OK;
	}
	if (o->kind == SOFT_OPK_IMM) {
		*v = in->imm;
		return SOFT_OK;
	}
	if (o->kind == SOFT_OPK_MEM && o->size <= 8)
		return mem_rd(cpu, in->mem.seg, soft_ea(cpu, in), v, o->size);
	return soft_op_read(cpu, in, n, v);
}

static inline int opnd_wr(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t v)
{
	const struct soft_operand *o = &in->op[n];

	if (likely(o->kind == SOFT_OPK_REG && o->rclass == SOFT_RC_GPR)) {
		soft_gpr_write(cpu, o, v);
		return SOFT_OK;
	}
	if (o->kind == SOFT_OPK_MEM && o->size <= 8)
		return mem_wr(cpu, in->mem.seg, soft_ea(cpu, in), v, o->size);
	return soft_op_write(cpu, in, n, v);
}

/* ops_fast.c: specialised handler for a decoded form, or NULL */
soft_handler_fn soft_ops_fast__select(const struct soft_insn *in);

/* registration, one per ops_*.c */
void soft_ops_alu__register(struct soft_vm *svm);
void soft_ops_mov__register(struct soft_vm *svm);
void soft_ops_branch__register(struct soft_vm *svm);
void soft_ops_string__register(struct soft_vm *svm);
void soft_ops_misc__register(struct soft_vm *svm);
void soft_ops_bit__register(struct soft_vm *svm);

/* decode.c */
#define CODE_HASH_BITS 12
#define CODE_MAP_CROSS 0x8000u
#define CODE_JC_SIZE 1024     /* kernel boot: hundreds of hot code pages */
#define CODE_MAX_PAGES 4096    /* then flush everything (QEMU-style) */

struct soft_code_page {
	struct soft_code_page *next;
	uint64_t key;          /* gpa page | mode_key */
	uint32_t ram_page;
	unsigned gen;
	uint32_t n, cap;
	struct soft_insn *insns;
	uint16_t map[4096];    /* offset -> index + 1 into insns, 0 = not decoded,
				* | CODE_MAP_CROSS for a page-crossing instruction */
};

struct soft_code_cache {
	struct soft_code_page *hash[1u << CODE_HASH_BITS];
	unsigned nr_pages;
	ZydisDecoder dec[3];
	/* run-loop fast path: the page RIP is in */
	struct soft_code_page *cur;   /* never NULL: `empty` when there is none */
	struct soft_code_page *empty; /* all-zero map: every lookup misses */
	uint64_t cur_la;       /* linear page address of cur, 1 = none */
	struct soft_insn scratch;
	/* page-switch cache: linear page | mmu_idx -> decoded page, so a call
	 * or return into another page skips the TLB and hash lookups.  Cleared
	 * with the cursor (every TLB flush and mode change goes through the
	 * run loop's slow path, which resets the cursor). */
	struct {
		uint64_t key;      /* linear page | jc_epoch << 1 | mmu_idx */
		struct soft_code_page *pg;
	} jc[CODE_JC_SIZE];
	/* bumped by every cursor reset instead of clearing jc[] (resets are
	 * frequent: every slow path); 11 bits, jc[] is cleared on wrap */
	uint32_t jc_epoch;
};

/* Longest chain of tail calls: bounds interrupt latency and, where the
 * compiler does not turn them into jumps (-O0), the recursion depth. */
#define SOFT_CHAIN_MAX 64u

/* Forget the current page (mapping, mode or code changed). */
void soft_code__reset_cursor(struct soft_cpu *cpu);
/* Slow path: reset the cursor if cpu->cursor_stale, `force`, or the current
 * page was invalidated (DMA, another vCPU); else keep it and the
 * page-switch cache. */
void soft_code__revalidate(struct soft_cpu *cpu, bool force);
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
