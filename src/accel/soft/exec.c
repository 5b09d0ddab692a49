/* The dispatch loop, vCPU/VM lifecycle of the core, exceptions and the
 * operand/stack/branch helpers shared by every handler.
 *
 * The loop's per-instruction work is: one relaxed load of exit_req (the
 * single flag through which everything unusual reaches the loop: kicks from
 * other threads, mode/mapping changes, code invalidation, interrupt
 * shadows), the decoded-page lookup inlined from decode.c, and an indirect
 * call.  Everything else lives in the slow path.  The hot handlers go further
 * and run their successors themselves (threaded dispatch, see soft_chain in
 * ops_fast.c and docs/soft-cpu.md "Performance"); the loop hands them a
 * budget in cpu->chain_left and counts what they used. */
#include <errno.h>
#include <stdlib.h>

#include "accel/soft/ops.h"
#include "util/log.h"
#include "vm/vm.h"

int soft_vm__create(struct vm *vm, struct soft_vm **out)
{
	struct soft_vm *svm = calloc(1, sizeof(*svm));

	if (!svm)
		return -ENOMEM;
	svm->vm = vm;
	svm->ram_pages = (vm->ram_size + 4095) >> 12;
	svm->code_present = calloc(svm->ram_pages + 1, sizeof(*svm->code_present));
	svm->code_gen = calloc(svm->ram_pages + 1, sizeof(*svm->code_gen));
	if (!svm->code_present || !svm->code_gen) {
		free(svm->code_present);
		free(svm->code_gen);
		free(svm);
		return -ENOMEM;
	}
	soft_ops_alu__register(svm);
	soft_ops_bit__register(svm);
	soft_ops_mov__register(svm);
	soft_ops_branch__register(svm);
	soft_ops_string__register(svm);
	soft_ops_misc__register(svm);
	memcpy(svm->core_table, svm->table, sizeof(svm->table));
	vm->accel_data = svm;
	*out = svm;
	return 0;
}

void soft_vm__destroy(struct soft_vm *svm)
{
	if (!svm)
		return;
	if (svm->vm && svm->vm->accel_data == svm)
		svm->vm->accel_data = NULL;
	free(svm->code_present);
	free(svm->code_gen);
	free(svm);
}

void soft_exec__register(struct soft_vm *svm, unsigned mnemonic, soft_handler_fn fn)
{
	if (mnemonic < SOFT_MNEM_NR)
		svm->table[mnemonic].fn = fn;
}

int soft_exec__unimplemented(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const char *name = in->mnemonic <= ZYDIS_MNEMONIC_MAX_VALUE ?
			   ZydisMnemonicGetString((ZydisMnemonic)in->mnemonic) : "(pseudo)";

	guest_err("cpu%d: #UD at rip 0x%llx: %s (%u) bytes %02x %02x %02x %02x\n", cpu->id,
		  (unsigned long long)cpu->rip, name ? name : "?", in->mnemonic,
		  in->bytes[0], in->bytes[1], in->bytes[2], in->bytes[3]);
	return soft_raise_ud(cpu);
}

/* Core handlers that never write next_rip (see soft_exec__run). */
static bool linear_mnemonic(unsigned m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_MOV: case ZYDIS_MNEMONIC_MOVZX: case ZYDIS_MNEMONIC_MOVSX:
	case ZYDIS_MNEMONIC_MOVSXD: case ZYDIS_MNEMONIC_LEA: case ZYDIS_MNEMONIC_ADD:
	case ZYDIS_MNEMONIC_OR: case ZYDIS_MNEMONIC_ADC: case ZYDIS_MNEMONIC_SBB:
	case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_SUB: case ZYDIS_MNEMONIC_XOR:
	case ZYDIS_MNEMONIC_CMP: case ZYDIS_MNEMONIC_TEST: case ZYDIS_MNEMONIC_INC:
	case ZYDIS_MNEMONIC_DEC: case ZYDIS_MNEMONIC_NEG: case ZYDIS_MNEMONIC_NOT:
	case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR:
	case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL:
	case ZYDIS_MNEMONIC_RCR: case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
	case ZYDIS_MNEMONIC_IMUL: case ZYDIS_MNEMONIC_MUL: case ZYDIS_MNEMONIC_DIV:
	case ZYDIS_MNEMONIC_IDIV: case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS:
	case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC: case ZYDIS_MNEMONIC_BSF:
	case ZYDIS_MNEMONIC_BSR: case ZYDIS_MNEMONIC_TZCNT: case ZYDIS_MNEMONIC_LZCNT:
	case ZYDIS_MNEMONIC_POPCNT: case ZYDIS_MNEMONIC_BSWAP: case ZYDIS_MNEMONIC_PUSH:
	case ZYDIS_MNEMONIC_POP: case ZYDIS_MNEMONIC_XCHG: case ZYDIS_MNEMONIC_CMPXCHG:
	case ZYDIS_MNEMONIC_XADD: case ZYDIS_MNEMONIC_CBW: case ZYDIS_MNEMONIC_CWDE:
	case ZYDIS_MNEMONIC_CDQE: case ZYDIS_MNEMONIC_CWD: case ZYDIS_MNEMONIC_CDQ:
	case ZYDIS_MNEMONIC_CQO: case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_ENDBR64:
	case ZYDIS_MNEMONIC_CMOVO: case ZYDIS_MNEMONIC_CMOVNO: case ZYDIS_MNEMONIC_CMOVB:
	case ZYDIS_MNEMONIC_CMOVNB: case ZYDIS_MNEMONIC_CMOVZ: case ZYDIS_MNEMONIC_CMOVNZ:
	case ZYDIS_MNEMONIC_CMOVBE: case ZYDIS_MNEMONIC_CMOVNBE: case ZYDIS_MNEMONIC_CMOVS:
	case ZYDIS_MNEMONIC_CMOVNS: case ZYDIS_MNEMONIC_CMOVP: case ZYDIS_MNEMONIC_CMOVNP:
	case ZYDIS_MNEMONIC_CMOVL: case ZYDIS_MNEMONIC_CMOVNL: case ZYDIS_MNEMONIC_CMOVLE:
	case ZYDIS_MNEMONIC_CMOVNLE:
	case ZYDIS_MNEMONIC_SETO: case ZYDIS_MNEMONIC_SETNO: case ZYDIS_MNEMONIC_SETB:
	case ZYDIS_MNEMONIC_SETNB: case ZYDIS_MNEMONIC_SETZ: case ZYDIS_MNEMONIC_SETNZ:
	case ZYDIS_MNEMONIC_SETBE: case ZYDIS_MNEMONIC_SETNBE: case ZYDIS_MNEMONIC_SETS:
	case ZYDIS_MNEMONIC_SETNS: case ZYDIS_MNEMONIC_SETP: case ZYDIS_MNEMONIC_SETNP:
	case ZYDIS_MNEMONIC_SETL: case ZYDIS_MNEMONIC_SETNL: case ZYDIS_MNEMONIC_SETLE:
	case ZYDIS_MNEMONIC_SETNLE:
		return true;
	default:
		return false;
	}
}

soft_handler_fn soft_exec__resolve(struct soft_cpu *cpu, struct soft_insn *in)
{
	soft_handler_fn fn = cpu->svm->table[in->mnemonic].fn;

	/* LOCK is only legal on a read-modify-write memory destination */
	if ((in->prefix & SOFT_PFX_LOCK) && (in->nops == 0 || in->op[0].kind != SOFT_OPK_MEM))
		return soft_exec__unimplemented;
	if (fn && fn == cpu->svm->core_table[in->mnemonic].fn) {
		soft_handler_fn fast = soft_ops_fast__select(in);

		if (linear_mnemonic(in->mnemonic))
			in->flags |= SOFT_INSN_LINEAR;
		if (fast)
			return fast;
	}
	return fn ? fn : soft_exec__unimplemented;
}

int soft_cpu__create(struct soft_vm *svm, int id, struct soft_cpu **out)
{
	struct soft_cpu *cpu = aligned_alloc(64, (sizeof(*cpu) + 63) & ~(size_t)63);
	int r;

	if (!cpu)
		return -ENOMEM;
	memset(cpu, 0, sizeof(*cpu));
	cpu->svm = svm;
	cpu->vm = svm->vm;
	cpu->id = id;
	r = soft_code__create(cpu);
	if (r) {
		free(cpu);
		return r;
	}
	soft_cpu__reset(cpu);
	*out = cpu;
	return 0;
}

void soft_cpu__destroy(struct soft_cpu *cpu)
{
	if (!cpu)
		return;
	pr_info("soft cpu%d: %llu instructions, %llu decoded, %llu TLB misses, %llu TLB flushes, "
		"%llu exceptions, %llu code invalidations, %llu MMIO accesses\n", cpu->id,
		(unsigned long long)cpu->stats.insns, (unsigned long long)cpu->stats.decodes,
		(unsigned long long)cpu->stats.tlb_misses, (unsigned long long)cpu->stats.tlb_flushes,
		(unsigned long long)cpu->stats.exceptions,
		(unsigned long long)cpu->stats.code_invalidations,
		(unsigned long long)cpu->stats.mmio_accesses);
	soft_code__destroy(cpu);
	free(cpu);
}

static void seg_set(struct soft_seg *s, uint16_t sel, uint64_t base, uint32_t limit,
		    uint8_t type, uint8_t sflag)
{
	*s = (struct soft_seg){ .base = base, .limit = limit, .sel = sel, .type = type,
				.s = sflag, .present = 1 };
}

void soft_cpu__reset(struct soft_cpu *cpu)
{
	memset(cpu->gpr, 0, sizeof(cpu->gpr));
	cpu->rip = 0xfff0;
	cpu->rflags = SOFT_FL_FIXED;
	cpu->cc_op = SOFT_CC_EAGER;
	seg_set(&cpu->seg[SOFT_CS], 0xf000, 0xffff0000ull, 0xffff, 0xb, 1);
	for (unsigned s = 0; s < SOFT_NR_SEGS; s++)
		if (s != SOFT_CS)
			seg_set(&cpu->seg[s], 0, 0, 0xffff, 0x3, 1);
	seg_set(&cpu->seg[SOFT_LDTR], 0, 0, 0xffff, 0x2, 0);
	seg_set(&cpu->seg[SOFT_TR], 0, 0, 0xffff, 0xb, 0);
	cpu->gdtr = (struct soft_dtable){ 0, 0xffff };
	cpu->idtr = (struct soft_dtable){ 0, 0xffff };
	cpu->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
	cpu->cr2 = cpu->cr3 = cpu->cr4 = cpu->cr8 = 0;
	cpu->efer = 0;
	memset(cpu->dr, 0, sizeof(cpu->dr));
	cpu->dr[6] = 0xffff0ff0;
	cpu->dr[7] = 0x400;
	cpu->pat = 0x0007040600070406ull;
	cpu->int_shadow = cpu->nmi_blocked = cpu->halted = false;
	cpu->exc.vector = -1;
	memset(&cpu->fpu, 0, sizeof(cpu->fpu));
	cpu->fpu.fcw = 0x40;
	cpu->fpu.mxcsr = MXCSR_DEFAULT;
	soft_tlb__flush(cpu, true);
	soft_cpu__update_mode(cpu);
}

void soft_cpu__update_mode(struct soft_cpu *cpu)
{
	const struct soft_seg *cs = &cpu->seg[SOFT_CS], *ss = &cpu->seg[SOFT_SS];

	cpu->pe = cpu->cr0 & X86_CR0_PE;
	cpu->paging = cpu->cr0 & X86_CR0_PG;
	cpu->long_mode = cpu->efer & X86_EFER_LMA;
	cpu->lm64 = cpu->long_mode && cs->l;
	if (cpu->lm64) {
		cpu->code_bits = 64;
		cpu->stack_bits = 64;
	} else {
		cpu->code_bits = cs->db ? 32 : 16;
		cpu->stack_bits = ss->db ? 32 : 16;
	}
	if (!cpu->pe)
		cpu->cpl = 0;
	else if (cpu->rflags & SOFT_FL_VM)
		cpu->cpl = 3;
	else
		cpu->cpl = ss->dpl;
	cpu->mmu_idx = cpu->cpl == 3 ? SOFT_MMU_USER : SOFT_MMU_SUPER;
	cpu->mode_key = cpu->code_bits == 64 ? 2 : cpu->code_bits == 32 ? 1 : 0;
	cpu->cursor_stale = true;
	atomic_store_explicit(&cpu->exit_req, 1, memory_order_relaxed);
}

void soft_cpu__setup_flat(struct soft_cpu *cpu, int bits, uint64_t cr3)
{
	struct soft_seg code = { .base = 0, .limit = 0xffffffff, .sel = 0x08, .type = 0xb,
				 .s = 1, .present = 1, .g = 1 };
	struct soft_seg data = { .base = 0, .limit = 0xffffffff, .sel = 0x10, .type = 0x3,
				 .s = 1, .present = 1, .g = 1 };

	code.db = bits == 32;
	code.l = bits == 64;
	data.db = bits != 16;
	for (unsigned s = 0; s < SOFT_NR_SEGS; s++)
		cpu->seg[s] = data;
	cpu->seg[SOFT_CS] = code;
	cpu->rflags = SOFT_FL_FIXED;
	cpu->cc_op = SOFT_CC_EAGER;
	cpu->cr3 = cr3;
	cpu->cr4 = bits == 64 ? X86_CR4_PAE | X86_CR4_PGE | X86_CR4_OSFXSR : X86_CR4_OSFXSR;
	cpu->efer = bits == 64 ? X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE | X86_EFER_SCE : 0;
	cpu->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_MP |
		   (bits == 64 || cr3 ? X86_CR0_PG : 0);
	if (bits != 64 && cr3)
		cpu->cr4 |= X86_CR4_PAE;
	soft_tlb__flush(cpu, true);
	soft_cpu__update_mode(cpu);
}

int soft_raise(struct soft_cpu *cpu, int vector, uint32_t error_code)
{
	cpu->exc.vector = vector;
	cpu->exc.error_code = error_code;
	cpu->exc.has_error = vector == SOFT_EXC_DF || (vector >= SOFT_EXC_TS && vector <= SOFT_EXC_PF) ||
			     vector == SOFT_EXC_AC;
	return SOFT_EXC;
}

int soft_raise_pf(struct soft_cpu *cpu, uint64_t addr, uint32_t error_code)
{
	cpu->cr2 = addr;
	return soft_raise(cpu, SOFT_EXC_PF, error_code);
}

int soft_op_read(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t *val)
{
	const struct soft_operand *o = &in->op[n];

	switch (o->kind) {
	case SOFT_OPK_REG:
		if (likely(o->rclass == SOFT_RC_GPR))
			*val = soft_gpr_read(cpu, o);
		else if (o->rclass == SOFT_RC_SEG)
			*val = cpu->seg[o->reg].sel;
		else
			*val = 0;
		return SOFT_OK;
	case SOFT_OPK_MEM: {
		uint64_t v = 0;
		int r = soft_mem_read(cpu, in->mem.seg, soft_ea(cpu, in), &v,
				      o->size > 8 ? 8 : o->size);

		*val = v;
		return r;
	}
	case SOFT_OPK_IMM:
		*val = in->imm;
		return SOFT_OK;
	default:
		*val = 0;
		return SOFT_OK;
	}
}

int soft_op_write(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint64_t val)
{
	const struct soft_operand *o = &in->op[n];

	if (likely(o->kind == SOFT_OPK_REG)) {
		if (likely(o->rclass == SOFT_RC_GPR))
			soft_gpr_write(cpu, o, val);
		return SOFT_OK;
	}
	if (o->kind == SOFT_OPK_MEM)
		return soft_mem_write(cpu, in->mem.seg, soft_ea(cpu, in), &val, o->size > 8 ? 8 : o->size);
	return SOFT_OK;
}

static inline uint64_t stack_mask(const struct soft_cpu *cpu)
{
	return cpu->stack_bits == 64 ? ~0ull : cpu->stack_bits == 32 ? 0xffffffffull : 0xffffull;
}

static inline void set_rsp(struct soft_cpu *cpu, uint64_t v)
{
	uint64_t m = stack_mask(cpu);

	cpu->gpr[SOFT_RSP] = (cpu->gpr[SOFT_RSP] & ~m) | (v & m);
}

int soft_push(struct soft_cpu *cpu, uint64_t val, unsigned size)
{
	uint64_t sp = (cpu->gpr[SOFT_RSP] - size) & stack_mask(cpu);
	int r = mem_wr(cpu, SOFT_SS, sp, val, size);

	if (r)
		return r;
	set_rsp(cpu, sp);
	return SOFT_OK;
}

int soft_pop(struct soft_cpu *cpu, uint64_t *val, unsigned size)
{
	uint64_t sp = cpu->gpr[SOFT_RSP] & stack_mask(cpu);
	uint64_t v;
	int r = mem_rd(cpu, SOFT_SS, sp, &v, size);

	if (r)
		return r;
	set_rsp(cpu, sp + size);
	*val = v;
	return SOFT_OK;
}

int soft_branch(struct soft_cpu *cpu, uint64_t target, unsigned opsize)
{
	if (opsize == 2)
		target &= 0xffff;
	else if (opsize == 4)
		target &= 0xffffffffull;
	else if ((uint64_t)((int64_t)(target << 16) >> 16) != target)
		return soft_raise_gp0(cpu);
	if (!cpu->lm64 && target > cpu->seg[SOFT_CS].limit)
		return soft_raise_gp0(cpu);
	cpu->next_rip = target;
	return SOFT_OK;
}

int soft_io_check(struct soft_cpu *cpu, uint16_t port, unsigned len)
{
	unsigned iopl = (cpu->rflags >> 12) & 3;

	if (!cpu->pe || (!(cpu->rflags & SOFT_FL_VM) && cpu->cpl <= iopl))
		return SOFT_OK;
	if (cpu->svm->hooks.io_allowed && cpu->svm->hooks.io_allowed(cpu, port, len))
		return SOFT_OK;
	return soft_raise_gp0(cpu);
}

/* SOFT_RUN_* to return, or -1 to go on. */
static int deliver(struct soft_cpu *cpu)
{
	int r;

	cpu->stats.exceptions++;
	soft_code__reset_cursor(cpu);
	if (!cpu->svm->hooks.deliver_exception)
		return SOFT_RUN_EXCEPTION;
	r = cpu->svm->hooks.deliver_exception(cpu);
	if (r == SOFT_EXIT)
		return SOFT_RUN_EXIT;
	return -1;
}

/* Slow path at an instruction boundary.  SOFT_RUN_* to return, -1 to go on. */
static int slow_path(struct soft_cpu *cpu)
{
	uint64_t rip = cpu->rip;
	int r;

	atomic_store_explicit(&cpu->exit_req, 0, memory_order_seq_cst);
	if (vm__stopping(cpu->vm))
		return SOFT_RUN_EXIT;
	if (cpu->svm->hooks.events) {
		r = cpu->svm->hooks.events(cpu);
		if (r == SOFT_EXIT)
			return SOFT_RUN_EXIT;
		if (r == SOFT_EXC)
			return deliver(cpu);
	}
	/* after the hook: delivering an interrupt may change mode or CR3 */
	soft_code__revalidate(cpu, cpu->rip != rip);
	return -1;
}

int soft_exec__run(struct soft_cpu *cpu, uint64_t budget)
{
	struct soft_code_cache *c = cpu->code;
	struct soft_code_page *pg;
	uint64_t n = 0, page_la, rip;
	int result = SOFT_RUN_BUDGET;
	bool shadow = false;

	/* the current page may have been invalidated (DMA) or remapped since */
	soft_code__reset_cursor(cpu);
	pg = c->cur;
	page_la = c->cur_la;
	for (;;) {
		const struct soft_insn *in;
		uint64_t la, off;
		unsigned idx;
		int r;

		if (unlikely(atomic_load_explicit(&cpu->exit_req, memory_order_relaxed))) {
			r = slow_path(cpu);
			pg = c->cur;
			page_la = c->cur_la;
			if (r >= 0) {
				result = r;
				break;
			}
			/* the shadow covers exactly the next instruction */
			if (cpu->int_shadow)
				shadow = true;
		}
		if (unlikely(n >= budget))
			break;
		rip = cpu->rip;
		la = cpu->seg[SOFT_CS].base + rip;
		if (!cpu->lm64)
			la = (uint32_t)la;
		off = la - page_la;
		if (likely(off < 4096 && (uint16_t)((idx = pg->map[off]) - 1) < CODE_MAP_CROSS - 1)) {
			in = &pg->insns[idx - 1];
		} else {
			bool fatal = false;

			in = soft_code__fetch(cpu, la, &fatal);
			pg = c->cur;
			page_la = c->cur_la;
			off = la - page_la;
			if (unlikely(!in)) {
				if (fatal) {
					result = SOFT_RUN_FATAL;
					break;
				}
				r = deliver(cpu);
				pg = c->cur;
				page_la = c->cur_la;
				if (r >= 0) {
					result = r;
					break;
				}
				continue;
			}
		}
		/* Straight-line run: while the instructions are "linear" (their
		 * handler never redirects), RIP lives in a register and the next
		 * record comes straight from the page map, without the
		 * store/reload round trip through cpu->rip.  Anything unusual
		 * (exit_req, page end, budget, a branch) goes back to the top. */
		for (;;) {
			uint32_t left;

			/* the handler may run up to `left` more records itself
			 * (soft_chain, ops_fast.c); none in an interrupt shadow */
			left = shadow ? 0 : budget - n - 1 < SOFT_CHAIN_MAX ?
			       (uint32_t)(budget - n - 1) : SOFT_CHAIN_MAX;
			cpu->chain_left = left;
			cpu->next_rip = rip + in->len;
			r = in->fn(cpu, in);
			n += 1 + left - cpu->chain_left;
			if (unlikely(r != SOFT_OK || shadow)) {
				cpu->chain_left = 0;
				break;
			}
			if (!(in->flags & SOFT_INSN_LINEAR) || cpu->chain_left != left) {
				/* a branch, or a chain that ended elsewhere */
				cpu->chain_left = 0;
				cpu->rip = cpu->next_rip;
				goto next;
			}
			cpu->chain_left = 0;
			rip += in->len;
			off += in->len;
			cpu->rip = rip;
			if (unlikely(off >= 4096 || n >= budget ||
				     atomic_load_explicit(&cpu->exit_req, memory_order_relaxed)))
				goto next;
			idx = pg->map[off];
			if (unlikely((uint16_t)(idx - 1) >= CODE_MAP_CROSS - 1))
				goto next;
			in = &pg->insns[idx - 1];
		}
		if (unlikely(shadow)) {
			shadow = false;
			cpu->int_shadow = false;
			atomic_store_explicit(&cpu->exit_req, 1, memory_order_relaxed);
		}
		if (likely(r == SOFT_OK)) {
			cpu->rip = cpu->next_rip;
			continue;
		}
		if (r == SOFT_EXC) {
			r = deliver(cpu);
			pg = c->cur;
			page_la = c->cur_la;
			if (r >= 0) {
				result = r;
				break;
			}
			continue;
		}
		cpu->rip = cpu->next_rip;
		result = SOFT_RUN_EXIT;
		break;
next:
		;
	}
	cpu->stats.insns += n;
	return result;
}
