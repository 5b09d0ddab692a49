/* Zydis decode into a per-vCPU cache of decoded instructions.
 *
 * Why per guest-physical page with an offset map (and not basic blocks):
 * the invalidation unit is the page (the store path only knows which page
 * it hit), a jump into the middle of already-decoded code costs one array
 * load, and the run loop can keep executing from the same page without any
 * lookup while RIP stays inside it.  Each page records the code_gen it was
 * decoded at; a store to a page with code (any vCPU, or DMA through
 * soft_code__invalidate_range) bumps that generation, and a vCPU re-checks
 * it whenever it enters a page, so the caches are private (no locks) yet
 * coherent.  The cache is keyed by (page, decode mode) because 16/32/64-bit
 * decoding of the same bytes differ.
 *
 * An instruction that crosses into the next page is cached with its raw
 * bytes and re-validated against memory on every execution (the second page
 * may be remapped or rewritten independently). */
#include <errno.h>
#include <stdlib.h>

#include "accel/soft/ops.h"
#include "util/log.h"
#include "vm/vm.h"

int soft_code__create(struct soft_cpu *cpu)
{
	struct soft_code_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	if (ZYAN_FAILED(ZydisDecoderInit(&c->dec[0], ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16)) ||
	    ZYAN_FAILED(ZydisDecoderInit(&c->dec[1], ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32)) ||
	    ZYAN_FAILED(ZydisDecoderInit(&c->dec[2], ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64))) {
		free(c);
		return -EINVAL;
	}
	c->empty = calloc(1, sizeof(*c->empty));
	if (!c->empty) {
		free(c);
		return -ENOMEM;
	}
	cpu->code = c;
	soft_code__reset_cursor(cpu);
	return 0;
}

void soft_code__flush_all(struct soft_cpu *cpu)
{
	struct soft_code_cache *c = cpu->code;

	for (unsigned i = 0; i < (1u << CODE_HASH_BITS); i++) {
		struct soft_code_page *p = c->hash[i], *next;

		for (; p; p = next) {
			next = p->next;
			free(p->insns);
			free(p);
		}
		c->hash[i] = NULL;
	}
	c->nr_pages = 0;
	soft_code__reset_cursor(cpu);
	cpu->stats.code_flushes++;
}

void soft_code__destroy(struct soft_cpu *cpu)
{
	if (!cpu->code)
		return;
	soft_code__flush_all(cpu);
	free(cpu->code->empty);
	free(cpu->code);
	cpu->code = NULL;
}

void soft_code__invalidate_ram_page(struct soft_vm *svm, uint64_t ram_page)
{
	if (ram_page >= svm->ram_pages)
		return;
	if (atomic_exchange_explicit(&svm->code_present[ram_page], 0, memory_order_acq_rel)) {
		atomic_fetch_add_explicit(&svm->code_gen[ram_page], 1, memory_order_acq_rel);
		atomic_fetch_add_explicit(&svm->nr_invalidations, 1, memory_order_relaxed);
	}
}

void soft_code__invalidate_range(struct vm *vm, uint64_t gpa, uint64_t len)
{
	struct soft_vm *svm;

	if (!vm || vm->accel_kind != ACCEL_SOFT || !vm->accel_data || !len)
		return;
	svm = vm->accel_data;
	for (uint64_t p = gpa & SOFT_PAGE_MASK; p < gpa + len && p >= (gpa & SOFT_PAGE_MASK); p += 4096) {
		uint8_t *hva = vm__gpa_to_hva(vm, p, 1);

		if (hva)
			soft_code__invalidate_ram_page(svm, (uint64_t)(hva - vm->ram) >> 12);
	}
}

static struct soft_code_page *page_get(struct soft_cpu *cpu, uint64_t gpa_page, uint32_t ram_page)
{
	struct soft_code_cache *c = cpu->code;
	struct soft_vm *svm = cpu->svm;
	uint64_t key = gpa_page | cpu->mode_key;
	unsigned h = (unsigned)((gpa_page >> 12) ^ (gpa_page >> 24) ^ cpu->mode_key) &
		     ((1u << CODE_HASH_BITS) - 1);
	struct soft_code_page *p;
	unsigned gen;

	for (p = c->hash[h]; p; p = p->next)
		if (p->key == key)
			break;
	if (!p) {
		if (c->nr_pages >= CODE_MAX_PAGES)
			soft_code__flush_all(cpu);
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->key = key;
		p->ram_page = ram_page;
		p->next = c->hash[h];
		c->hash[h] = p;
		c->nr_pages++;
		p->gen = ~0u;
	}
	/* Mark first, then read the generation, then decode: a store that
	 * misses the mark must have happened before our decode reads. */
	if (!atomic_load_explicit(&svm->code_present[ram_page], memory_order_acquire))
		atomic_store_explicit(&svm->code_present[ram_page], 1, memory_order_seq_cst);
	gen = atomic_load_explicit(&svm->code_gen[ram_page], memory_order_acquire);
	if (p->gen != gen) {
		memset(p->map, 0, sizeof(p->map));
		p->n = 0;
		p->gen = gen;
	}
	return p;
}

static int reg_gpr(ZydisRegister r, uint8_t *hi8)
{
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);

	*hi8 = r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH;
	if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15)
		return -1;
	return big - ZYDIS_REGISTER_RAX;
}

static void convert_reg(struct soft_operand *o, ZydisRegister r)
{
	uint8_t hi8 = 0;
	int g;

	o->zreg = r;
	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8:
	case ZYDIS_REGCLASS_GPR16:
	case ZYDIS_REGCLASS_GPR32:
	case ZYDIS_REGCLASS_GPR64:
		g = reg_gpr(r, &hi8);
		o->rclass = SOFT_RC_GPR;
		o->reg = (uint8_t)(g < 0 ? 0 : g);
		o->gpr_off = (uint16_t)(offsetof(struct soft_cpu, gpr) + o->reg * 8 + hi8);
		break;
	case ZYDIS_REGCLASS_SEGMENT:
		o->rclass = SOFT_RC_SEG;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_ES);
		break;
	case ZYDIS_REGCLASS_CONTROL:
		o->rclass = SOFT_RC_CR;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_CR0);
		break;
	case ZYDIS_REGCLASS_DEBUG:
		o->rclass = SOFT_RC_DR;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_DR0);
		break;
	case ZYDIS_REGCLASS_XMM:
		o->rclass = SOFT_RC_XMM;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_XMM0);
		break;
	case ZYDIS_REGCLASS_MMX:
		o->rclass = SOFT_RC_MMX;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_MM0);
		break;
	case ZYDIS_REGCLASS_X87:
		o->rclass = SOFT_RC_X87;
		o->reg = (uint8_t)(r - ZYDIS_REGISTER_ST0);
		break;
	default:
		o->rclass = SOFT_RC_OTHER;
		break;
	}
}

static uint8_t mem_reg(ZydisRegister r)
{
	uint8_t hi8;
	int g;

	if (r == ZYDIS_REGISTER_NONE)
		return SOFT_REG_NONE;
	if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP)
		return SOFT_REG_RIP;
	g = reg_gpr(r, &hi8);
	return g < 0 ? SOFT_REG_NONE : (uint8_t)g;
}

/* Convert a Zydis result; returns false for instructions we refuse to
 * represent (they then decode as #UD). */
static bool convert(struct soft_cpu *cpu, struct soft_insn *in, const ZydisDecodedInstruction *zi,
		    const ZydisDecodedOperand *zo)
{
	unsigned nimm = 0;

	memset(in, 0, sizeof(*in));
	in->mnemonic = (uint16_t)zi->mnemonic;
	in->len = zi->length;
	in->opsize = zi->operand_width / 8;
	in->addrsize = zi->address_width / 8;
	in->opcode = zi->opcode;
	in->opmap = (uint8_t)zi->opcode_map;
	in->modrm_reg = zi->raw.modrm.reg;
	in->mem.base = in->mem.index = SOFT_REG_NONE;
	in->mem.seg = SOFT_DS;
	in->mem.scale = 1;
	if (zi->attributes & ZYDIS_ATTRIB_HAS_LOCK)
		in->prefix |= SOFT_PFX_LOCK;
	if (zi->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
		in->prefix |= SOFT_PFX_REP;
	if (zi->attributes & ZYDIS_ATTRIB_HAS_REPNE)
		in->prefix |= SOFT_PFX_REPNE;
	if (zi->attributes & ZYDIS_ATTRIB_HAS_SEGMENT)
		in->prefix |= SOFT_PFX_SEG;
	if (zi->attributes & ZYDIS_ATTRIB_HAS_OPERANDSIZE)
		in->prefix |= SOFT_PFX_OPSZ;
	if (zi->attributes & ZYDIS_ATTRIB_HAS_ADDRESSSIZE)
		in->prefix |= SOFT_PFX_ADSZ;
	if (zi->raw.rex.W)
		in->prefix |= SOFT_PFX_REXW;
	/* string instructions' implicit segment (DS unless overridden) */
	if (zi->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_CS) in->mem.seg = SOFT_CS;
	else if (zi->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_SS) in->mem.seg = SOFT_SS;
	else if (zi->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_ES) in->mem.seg = SOFT_ES;
	else if (zi->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_FS) in->mem.seg = SOFT_FS;
	else if (zi->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_GS) in->mem.seg = SOFT_GS;

	in->nops = zi->operand_count_visible > 4 ? 4 : zi->operand_count_visible;
	for (unsigned i = 0; i < in->nops; i++) {
		const ZydisDecodedOperand *z = &zo[i];
		struct soft_operand *o = &in->op[i];

		o->size = (uint8_t)(z->size / 8);
		switch (z->type) {
		case ZYDIS_OPERAND_TYPE_REGISTER:
			o->kind = SOFT_OPK_REG;
			convert_reg(o, z->reg.value);
			break;
		case ZYDIS_OPERAND_TYPE_MEMORY:
			o->kind = SOFT_OPK_MEM;
			in->mem.disp = z->mem.disp.value;
			in->mem.base = mem_reg(z->mem.base);
			in->mem.index = mem_reg(z->mem.index);
			in->mem.scale = z->mem.scale ? z->mem.scale : 1;
			if (z->mem.segment >= ZYDIS_REGISTER_ES && z->mem.segment <= ZYDIS_REGISTER_GS)
				in->mem.seg = (uint8_t)(z->mem.segment - ZYDIS_REGISTER_ES);
			break;
		case ZYDIS_OPERAND_TYPE_IMMEDIATE:
			o->kind = SOFT_OPK_IMM;
			if (nimm++ == 0)
				in->imm = z->imm.value.u;
			else
				in->imm2 = (uint16_t)z->imm.value.u;
			break;
		case ZYDIS_OPERAND_TYPE_POINTER:
			o->kind = SOFT_OPK_PTR;
			in->imm = z->ptr.offset;
			in->imm2 = z->ptr.segment;
			break;
		default:
			return false;
		}
	}
	if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) {
		if (zi->mnemonic == ZYDIS_MNEMONIC_JMP)
			in->mnemonic = SOFT_MNEM_JMP_FAR;
		else if (zi->mnemonic == ZYDIS_MNEMONIC_CALL)
			in->mnemonic = SOFT_MNEM_CALL_FAR;
		else if (zi->mnemonic == ZYDIS_MNEMONIC_RET)
			in->mnemonic = SOFT_MNEM_RET_FAR;
	} else if (zi->mnemonic == ZYDIS_MNEMONIC_MOV && in->nops == 2) {
		if (in->op[0].kind == SOFT_OPK_REG && in->op[0].rclass == SOFT_RC_SEG)
			in->mnemonic = SOFT_MNEM_MOV_TO_SEG;
		else if (in->op[1].kind == SOFT_OPK_REG && in->op[1].rclass == SOFT_RC_SEG)
			in->mnemonic = SOFT_MNEM_MOV_FROM_SEG;
		else if (in->op[0].rclass == SOFT_RC_CR || in->op[1].rclass == SOFT_RC_CR)
			in->mnemonic = SOFT_MNEM_MOV_CR;
		else if (in->op[0].rclass == SOFT_RC_DR || in->op[1].rclass == SOFT_RC_DR)
			in->mnemonic = SOFT_MNEM_MOV_DR;
	} else if ((zi->mnemonic == ZYDIS_MNEMONIC_MOVSD || zi->mnemonic == ZYDIS_MNEMONIC_CMPSD) &&
		   zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT) {
		in->mnemonic = zi->mnemonic == ZYDIS_MNEMONIC_MOVSD ? SOFT_MNEM_MOVSD_STR : SOFT_MNEM_CMPSD_STR;
	} else if ((zi->mnemonic == ZYDIS_MNEMONIC_PUSH || zi->mnemonic == ZYDIS_MNEMONIC_POP) &&
		   in->nops == 1 && in->op[0].kind == SOFT_OPK_REG &&
		   in->op[0].rclass == SOFT_RC_SEG) {
		in->mnemonic = zi->mnemonic == ZYDIS_MNEMONIC_PUSH ? SOFT_MNEM_PUSH_SEG : SOFT_MNEM_POP_SEG;
	}
	return true;
}

/* Decode the instruction at linear la (first byte at host pointer p, with
 * avail bytes left in its page) into *in.  SOFT_OK or SOFT_EXC (#PF while
 * fetching the part in the next page). */
static int decode_at(struct soft_cpu *cpu, struct soft_insn *in, uint64_t la,
		     const uint8_t *p, unsigned avail)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	uint8_t buf[16];
	const uint8_t *src = p;
	unsigned n = avail > 15 ? 15 : avail;
	ZyanStatus st;

	cpu->stats.decodes++;
	st = ZydisDecoderDecodeFull(&cpu->code->dec[cpu->mode_key], src, n, &zi, zo);
	if (st == ZYDIS_STATUS_NO_MORE_DATA && avail < 15) {
		int r;

		memcpy(buf, p, avail);
		r = soft_lin_read(cpu, la + avail, buf + avail, 15 - avail, SOFT_ACC_EXEC);
		if (r)
			return r;
		src = buf;
		n = 15;
		st = ZydisDecoderDecodeFull(&cpu->code->dec[cpu->mode_key], src, n, &zi, zo);
	}
	if (ZYAN_FAILED(st) || !convert(cpu, in, &zi, zo)) {
		memset(in, 0, sizeof(*in));
		in->mnemonic = ZYDIS_MNEMONIC_INVALID;
		in->len = 1;
		in->fn = soft_exec__unimplemented;
		memcpy(in->bytes, src, n < 15 ? n : 15);
		return SOFT_OK;
	}
	memcpy(in->bytes, src, in->len);
	in->pgoff = (uint16_t)(la & 0xfff);
	if ((la & 0xfff) + in->len > 4096)
		in->flags |= SOFT_INSN_CROSS_PAGE;
	in->fn = soft_exec__resolve(cpu, in);
	return SOFT_OK;
}

/* Slow path for an instruction that crosses a page: compare its cached
 * bytes with memory (through the TLB: the #PF of the second page is
 * raised here), re-decode into scratch if they changed. */
static const struct soft_insn *check_cross(struct soft_cpu *cpu, const struct soft_insn *in,
					   uint64_t la)
{
	struct soft_code_cache *c = cpu->code;
	uint8_t cur[15];

	if (soft_lin_read(cpu, la, cur, in->len, SOFT_ACC_EXEC))
		return NULL;
	if (!memcmp(cur, in->bytes, in->len))
		return in;
	if (decode_at(cpu, &c->scratch, la, cur, 15))
		return NULL;
	return &c->scratch;
}

const struct soft_insn *soft_code__fetch(struct soft_cpu *cpu, uint64_t la, bool *fatal)
{
	struct soft_code_cache *c = cpu->code;
	struct soft_code_page *pg = c->cur;
	uint64_t off = la - c->cur_la;
	const struct soft_insn *in;
	unsigned idx;

	if (unlikely(off >= 4096 || pg == c->empty)) {
		uint64_t gpa, key = (la & SOFT_PAGE_MASK) | c->jc_epoch << 1 | cpu->mmu_idx;
		unsigned h = (unsigned)(la >> 12) & (CODE_JC_SIZE - 1);
		uint32_t rp;
		int r;
		uint8_t *host;

		pg = c->jc[h].pg;
		if (c->jc[h].key == key &&
		    pg->gen == atomic_load_explicit(&cpu->svm->code_gen[pg->ram_page],
						    memory_order_acquire)) {
			c->cur = pg;
			c->cur_la = la & SOFT_PAGE_MASK;
			off = la & 0xfff;
			goto lookup;
		}
		host = soft_mmu__fetch_ptr(cpu, la, &gpa, &rp, &r);
		if (r)
			return NULL;
		if (!host) {
			guest_err("cpu%d: instruction fetch from non-RAM gpa 0x%llx\n",
				  cpu->id, (unsigned long long)gpa);
			*fatal = true;
			return NULL;
		}
		pg = page_get(cpu, gpa & SOFT_PAGE_MASK, rp);
		if (!pg) {
			*fatal = true;
			return NULL;
		}
		c->cur = pg;
		c->cur_la = la & SOFT_PAGE_MASK;
		c->jc[h].key = key;
		c->jc[h].pg = pg;
		off = la & 0xfff;
	}
lookup:
	idx = pg->map[off];
	if (unlikely(!idx)) {
		struct soft_insn tmp;
		uint8_t *host;
		uint64_t gpa;
		uint32_t rp;
		int r;

		host = soft_mmu__fetch_ptr(cpu, la, &gpa, &rp, &r);
		if (r || !host) {
			*fatal = !r;
			return NULL;
		}
		if (decode_at(cpu, &tmp, la, host, 4096 - (unsigned)off))
			return NULL;
		if (pg->n == pg->cap) {
			uint32_t cap = pg->cap ? pg->cap * 2 : 16;
			struct soft_insn *ni = realloc(pg->insns, cap * sizeof(*ni));

			if (!ni) {
				*fatal = true;
				return NULL;
			}
			pg->insns = ni;
			pg->cap = cap;
		}
		pg->insns[pg->n++] = tmp;
		idx = pg->n;
		/* the run loop's fast path skips marked entries */
		if (tmp.flags & SOFT_INSN_CROSS_PAGE)
			idx |= CODE_MAP_CROSS;
		pg->map[off] = (uint16_t)idx;
	}
	in = &pg->insns[(idx & ~CODE_MAP_CROSS) - 1];
	if (unlikely(in->flags & SOFT_INSN_CROSS_PAGE))
		return check_cross(cpu, in, la);
	return in;
}

void soft_code__revalidate(struct soft_cpu *cpu, bool force)
{
	struct soft_code_cache *c = cpu->code;
	struct soft_code_page *pg = c->cur;

	if (force || cpu->cursor_stale ||
	    (pg != c->empty && pg->gen != atomic_load_explicit(&cpu->svm->code_gen[pg->ram_page],
							       memory_order_acquire)))
		soft_code__reset_cursor(cpu);
}

void soft_code__reset_cursor(struct soft_cpu *cpu)
{
	cpu->cursor_stale = false;
	cpu->code->cur = cpu->code->empty;
	cpu->code->cur_la = 1;
	if (++cpu->code->jc_epoch >= 2048) {
		/* key 0 has epoch 0, which is never current */
		for (unsigned i = 0; i < CODE_JC_SIZE; i++)
			cpu->code->jc[i].key = 0;
		cpu->code->jc_epoch = 1;
	}
}
