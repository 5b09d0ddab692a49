/* Random instruction sequences from the templates in gen_table.c.
 *
 * Register plan: one base register B (RBX or R12-R15) holds the scratch
 * address + DT_BASE_OFF and is never written; RSP points into the scratch
 * buffer and only moves by amounts the generator knows.  Memory operands
 * are [B + disp], [RSP + disp] or [B + I*scale + disp] with I set just
 * before, so every access lands in the scratch buffer (some straddle a page
 * boundary).
 *
 * Operand tokens: r writable GPR, R any GPR, e writable GPR or memory,
 * E any GPR or memory, m memory, M memory (size digits required), i
 * immediate of the operand size (imm32 for 64-bit), I full-size immediate,
 * b imm8, c CL, k a GPR just set to a small signed bit offset, L an LEA
 * address (any registers), x XMM, X XMM or memory (16 bytes unless digits
 * say otherwise; 16-byte memory aligned for TF_SSE), U XMM or unaligned
 * memory, y MMX register, Y MMX register or memory (8 bytes).  Digits
 * after a token give that operand's size in bytes instead of the
 * template's operand size.  A few accesses use 32-bit addressing (67h) or
 * straddle the ends of the scratch buffer into unmapped pages (#PF).
 *
 * Flags: `poison` holds the arithmetic flags that are undefined at this
 * point; an instruction that reads a poisoned flag gets a CMP in front of it
 * (so results never depend on undefined flags), and the final poison is
 * masked out of the RFLAGS comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "gen.h"

/* ---- random values ------------------------------------------------------ */

uint64_t dt_rand(struct dt_rng *r)
{
	/* splitmix64: tiny, and the seed fully determines the run */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t dt_edge_value(struct dt_rng *r)
{
	static const uint64_t edge[] = {
		0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
		0x8000000000000000ull, 0xffffffffffffffffull, 0xfffffffffffffffeull,
		0x8000000000000001ull, 0x00000000ffffff80ull, 0xffffffff80000000ull,
	};
	uint64_t v;

	switch (dt_below(r, 8)) {
	case 0: case 1: case 2:
		return edge[dt_below(r, sizeof(edge) / sizeof(edge[0]))];
	case 3:
		return dt_below(r, 64);                      /* small: counts, indices */
	case 4:
		return -(uint64_t)dt_below(r, 64);           /* small negative */
	case 5:
		v = 1ull << dt_below(r, 64);                 /* one bit, +/- 1 */
		return v + dt_below(r, 3) - 1;
	default:
		v = dt_rand(r);
		return dt_below(r, 2) ? v : v >> dt_below(r, 64);
	}
}

static uint32_t edge_f32(struct dt_rng *r)
{
	static const uint32_t f[] = {
		0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
		0x7fc00000, 0xffc00000, 0x7fa00000, 0x00000001, 0x807fffff, 0x00800000,
		0x7f7fffff, 0x4f000000, 0xcf000000, 0x3f000000, 0x4b800000, 0x5f000000,
	};

	if (dt_below(r, 3))
		return f[dt_below(r, sizeof(f) / sizeof(f[0]))] ^ (dt_below(r, 4) ? 0 : 1);
	return (uint32_t)dt_rand(r);
}

static uint64_t edge_f64(struct dt_rng *r)
{
	static const uint64_t f[] = {
		0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
		0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
		0x7ff4000000000000ull, 0x0000000000000001ull, 0x000fffffffffffffull,
		0x0010000000000000ull, 0x7fefffffffffffffull, 0x41e0000000000000ull,
		0xc1e0000000000000ull, 0x43e0000000000000ull, 0x3fe0000000000000ull,
		0x41dfffffffc00000ull, 0xc3e0000000000000ull,
	};

	if (dt_below(r, 3))
		return f[dt_below(r, sizeof(f) / sizeof(f[0]))] ^ (dt_below(r, 4) ? 0 : 1);
	return dt_rand(r);
}

static void fill_vector(struct dt_rng *r, uint8_t *p, unsigned len)
{
	for (unsigned i = 0; i < len; i += 8) {
		uint64_t v;

		switch (dt_below(r, 4)) {
		case 0:
			v = edge_f64(r);
			break;
		case 1:
			v = edge_f32(r) | (uint64_t)edge_f32(r) << 32;
			break;
		default:
			v = dt_edge_value(r);
			break;
		}
		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

unsigned dt_gen_pick_base(struct dt_rng *r)
{
	static const unsigned bases[] = { R_BX, R_R12, R_R13, R_R14, R_R15 };

	return bases[dt_below(r, 5)];
}

void dt_gen_state(struct dt_rng *r, struct dt_state *st, unsigned base_reg)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < 16; i++)
		st->gpr[i] = dt_edge_value(r);
	st->gpr[base_reg] = DT_SCRATCH_VA + DT_BASE_OFF;
	st->gpr[R_SP] = DT_SCRATCH_VA + DT_STACK_OFF;
	/* IF is 1 natively in user mode; the soft CPU gets the same value */
	st->rflags = 0x202 | (dt_rand(r) & FL_ARITH) | (dt_below(r, 5) ? 0 : FL_DF);
	st->mxcsr = 0x1f80;
	if (!dt_below(r, 4))
		st->mxcsr |= (dt_below(r, 4) << 13) | (dt_below(r, 2) ? 0x8000 : 0) |
			     (dt_below(r, 2) ? 0x40 : 0);
	for (int i = 0; i < 16; i++)
		fill_vector(r, st->xmm[i], 16);
	fill_vector(r, (uint8_t *)st->mm, sizeof(st->mm));
	fill_vector(r, st->mem, DT_SCRATCH_SIZE);
	st->vector = -1;
}

/* ---- emission ------------------------------------------------------------ */

bool gen_put(struct gen *g, const uint8_t *b, unsigned n, unsigned tmpl)
{
	struct dt_seq *s = g->seq;

	if (s->n >= DT_MAX_INSNS - 1 || s->len + n > DT_CODE_MAX - 2) {
		g->full = true;
		return false;
	}
	memcpy(s->code + s->len, b, n);
	s->insn[s->n].off = (uint16_t)s->len;
	s->insn[s->n].len = (uint8_t)n;
	s->insn[s->n].tmpl = (uint16_t)tmpl;
	s->insn[s->n].poison = g->poison;
	s->n++;
	s->len += n;
	return true;
}

void gen_req_init(ZydisEncoderRequest *req, ZydisMnemonic m)
{
	memset(req, 0, sizeof(*req));
	req->machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	req->mnemonic = m;
}

bool gen_encode(struct gen *g, const ZydisEncoderRequest *req, unsigned tmpl)
{
	uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
	ZyanUSize len = sizeof(buf);

	if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(req, buf, &len)))
		return false;
	return gen_put(g, buf, (unsigned)len, tmpl);
}

ZydisRegister gen_gpr(unsigned n, unsigned size)
{
	switch (size) {
	case 1:
		if (n < 4)
			return ZYDIS_REGISTER_AL + n;
		if (n < 8)
			return ZYDIS_REGISTER_SPL + (n - 4);
		return ZYDIS_REGISTER_R8B + (n - 8);
	case 2: return ZYDIS_REGISTER_AX + n;
	case 4: return ZYDIS_REGISTER_EAX + n;
	default: return ZYDIS_REGISTER_RAX + n;
	}
}

void gen_op_reg(ZydisEncoderOperand *op, ZydisRegister reg)
{
	op->type = ZYDIS_OPERAND_TYPE_REGISTER;
	op->reg.value = reg;
}

void gen_op_imm(ZydisEncoderOperand *op, int64_t v)
{
	op->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
	op->imm.s = v;
}

unsigned gen_pick_writable(struct gen *g)
{
	unsigned n;

	do
		n = dt_below(g->r, 16);
	while (g->protect & (1u << n));
	return n;
}

/* A GPR operand; AH-BH sometimes for byte operands. */
static ZydisRegister pick_gpr(struct gen *g, unsigned size, bool writable)
{
	unsigned n = writable ? gen_pick_writable(g) : dt_below(g->r, 16);

	if (size == 1 && n < 4 && !dt_below(g->r, 5))
		return ZYDIS_REGISTER_AH + n;  /* AH CH DH BH share RAX-RBX */
	return gen_gpr(n, size);
}

/* Set-up: MOV r64, simm32 (no flags). */
bool gen_setup_mov(struct gen *g, unsigned reg, int32_t v)
{
	ZydisEncoderRequest req;

	gen_req_init(&req, ZYDIS_MNEMONIC_MOV);
	req.operand_count = 2;
	gen_op_reg(&req.operands[0], gen_gpr(reg, 8));
	gen_op_imm(&req.operands[1], v);
	return gen_encode(g, &req, dt_tmpl_setup);
}

/* Set-up: LEA r64, [B + disp]. */
bool gen_setup_lea(struct gen *g, unsigned reg, int32_t disp)
{
	ZydisEncoderRequest req;

	gen_req_init(&req, ZYDIS_MNEMONIC_LEA);
	req.operand_count = 2;
	gen_op_reg(&req.operands[0], gen_gpr(reg, 8));
	req.operands[1].type = ZYDIS_OPERAND_TYPE_MEMORY;
	req.operands[1].mem.base = gen_gpr(g->base, 8);
	req.operands[1].mem.displacement = disp;
	req.operands[1].mem.size = 8;
	return gen_encode(g, &req, dt_tmpl_setup);
}

static int32_t align_disp(int64_t addr_off, int32_t disp, unsigned align)
{
	/* addr_off: offset of base(+index) from the scratch start */
	if (align > 1)
		disp -= (int32_t)((addr_off + disp) & (align - 1));
	return disp;
}

/* A memory operand inside the scratch buffer.  align: required alignment
 * (1 = none); a few percent are deliberately misaligned to check #GP. */
bool gen_mem(struct gen *g, ZydisEncoderOperand *op, unsigned size, unsigned align)
{
	struct dt_rng *r = g->r;
	unsigned choice = dt_below(r, 20);
	int64_t base_off;
	int32_t disp;

	op->type = ZYDIS_OPERAND_TYPE_MEMORY;
	op->mem.size = (ZyanU16)size;
	if (choice < 3 && g->rsp_off > -0x800 && g->rsp_off < 0x400) {
		op->mem.base = ZYDIS_REGISTER_RSP;
		base_off = DT_STACK_OFF + g->rsp_off;
		disp = (int32_t)dt_below(r, 0x200) - 0x100;
	} else if (choice < 6) {
		unsigned idx = gen_pick_writable(g), k = dt_below(r, 32);
		static const uint8_t scales[] = { 1, 2, 4, 8 };
		uint8_t sc = scales[dt_below(r, 4)];

		if (!gen_setup_mov(g, idx, (int32_t)k))
			return false;
		op->mem.base = gen_gpr(g->base, 8);
		op->mem.index = gen_gpr(idx, 8);
		op->mem.scale = sc;
		base_off = DT_BASE_OFF + (int64_t)k * sc;
		disp = (int32_t)dt_below(r, 0x400) - 0x200;
	} else {
		op->mem.base = gen_gpr(g->base, 8);
		base_off = DT_BASE_OFF;
		if (choice < 8 && size > 1)  /* straddle the page boundary */
			disp = -(int32_t)(1 + dt_below(r, size - 1));
		else
			disp = (int32_t)dt_below(r, 0x800) - 0x400;
	}
	if (align > 1 || dt_below(r, 2))
		disp = align_disp(base_off, disp, align > 1 ? align : size);
	/* Rarely: straddle the end or the start of the scratch buffer into an
	 * unmapped page, for #PF and "no partial write" behaviour. */
	if (!dt_below(r, 60) && op->mem.index == ZYDIS_REGISTER_NONE &&
	    op->mem.base != ZYDIS_REGISTER_RSP) {
		int32_t k = (int32_t)(size > 1 ? 1 + dt_below(r, size - 1) : 0);

		disp = dt_below(r, 2) ? (int32_t)(DT_SCRATCH_SIZE - DT_BASE_OFF) - k :
					-(int32_t)DT_BASE_OFF - k;
	}
	if (align > 1 && !dt_below(r, 50))
		disp += 1 + dt_below(r, align - 1);
	op->mem.displacement = disp;
	/* Sometimes a 67h (32-bit) address: the scratch buffer is below 4 GiB
	 * and RSP-based addresses then use ESP. */
	if (!dt_below(r, 10)) {
		op->mem.base = op->mem.base == ZYDIS_REGISTER_RSP ? ZYDIS_REGISTER_ESP :
			       gen_gpr(g->base, 4);
		if (op->mem.index != ZYDIS_REGISTER_NONE)
			op->mem.index = op->mem.index - ZYDIS_REGISTER_RAX + ZYDIS_REGISTER_EAX;
	}
	return true;
}

static int64_t imm_of_size(struct gen *g, unsigned size)
{
	uint64_t v = dt_edge_value(g->r);

	switch (size) {
	case 1: return (int8_t)v;
	case 2: return (int16_t)v;
	default: return (int32_t)v;
	}
}

/* Fill one operand from its token.  *is_mem tells whether it became memory. */
static bool gen_operand(struct gen *g, const struct tmpl *t, const char **tok,
			unsigned opsize, ZydisEncoderOperand *op, bool *is_mem, int64_t imm8)
{
	char kind = **tok;
	unsigned size = opsize;
	bool sse16;

	(*tok)++;
	if (kind == 'X' || kind == 'U')
		size = 16;
	else if (kind == 'Y')
		size = 8;
	if (**tok >= '0' && **tok <= '9')
		size = (unsigned)strtoul(*tok, (char **)tok, 10);
	if (**tok == ',')
		(*tok)++;
	sse16 = (t->tflags & TF_SSE) && size == 16;
	switch (kind) {
	case 'r': gen_op_reg(op, pick_gpr(g, size, true)); return true;
	case 'R': gen_op_reg(op, pick_gpr(g, size, false)); return true;
	case 'c': gen_op_reg(op, ZYDIS_REGISTER_CL); return true;
	case 'x': gen_op_reg(op, ZYDIS_REGISTER_XMM0 + dt_below(g->r, 16)); return true;
	case 'y': gen_op_reg(op, ZYDIS_REGISTER_MM0 + dt_below(g->r, 8)); return true;
	case 'b': gen_op_imm(op, imm8); return true;
	case 'i': gen_op_imm(op, imm_of_size(g, size)); return true;
	case 'I': gen_op_imm(op, (int64_t)dt_edge_value(g->r)); return true;
	case 'k': {
		unsigned reg = gen_pick_writable(g);

		if (!gen_setup_mov(g, reg, (int32_t)dt_below(g->r, 320) - 64))
			return false;
		gen_op_reg(op, gen_gpr(reg, size));
		return true;
	}
	case 'e':
	case 'E':
	case 'X':
	case 'U':
	case 'Y':
		if (dt_below(g->r, 2)) {
			if (kind == 'Y')
				gen_op_reg(op, ZYDIS_REGISTER_MM0 + dt_below(g->r, 8));
			else if (kind == 'X' || kind == 'U')
				gen_op_reg(op, ZYDIS_REGISTER_XMM0 + dt_below(g->r, 16));
			else
				gen_op_reg(op, pick_gpr(g, size, kind == 'e'));
			return true;
		}
		*is_mem = true;
		return gen_mem(g, op, size, kind == 'X' && sse16 ? 16 : 1);
	case 'm':
	case 'M':
		*is_mem = true;
		return gen_mem(g, op, size, sse16 ? 16 : 1);
	case 'L':
		op->type = ZYDIS_OPERAND_TYPE_MEMORY;
		op->mem.size = (ZyanU16)size;  /* Zydis wants LEA's "size" = dest size */
		op->mem.base = dt_below(g->r, 4) ? gen_gpr(dt_below(g->r, 16), 8) : ZYDIS_REGISTER_NONE;
		if (dt_below(g->r, 2)) {
			unsigned idx;

			do
				idx = dt_below(g->r, 16);
			while (idx == R_SP);
			op->mem.index = gen_gpr(idx, 8);
			op->mem.scale = (ZyanU8)(1u << dt_below(g->r, 4));
		}
		op->mem.displacement = (int32_t)dt_edge_value(g->r);
		return true;
	}
	return false;
}

void gen_flags_after(struct gen *g, uint16_t fw, uint16_t fu)
{
	g->poison = (uint16_t)((g->poison & ~fw) | fu);
}

bool gen_emit_flagdef(struct gen *g)
{
	ZydisEncoderRequest req;

	gen_req_init(&req, ZYDIS_MNEMONIC_CMP);
	req.operand_count = 2;
	gen_op_reg(&req.operands[0], gen_gpr(dt_below(g->r, 16), 8));
	gen_op_reg(&req.operands[1], gen_gpr(dt_below(g->r, 16), 8));
	if (!gen_encode(g, &req, dt_tmpl_flagdef))
		return false;
	g->poison = 0;
	return true;
}

static uint8_t shift_count(struct gen *g, const struct tmpl *t, unsigned size)
{
	static const uint8_t edge[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255 };
	uint8_t c = dt_below(g->r, 3) ? edge[dt_below(g->r, sizeof(edge))] : (uint8_t)dt_rand(g->r);

	/* SHLD/SHRD of 16 bits: counts above 16 give undefined results */
	if (t->kind == K_SHXD && size == 2 && (c & 31) > 16)
		c = (uint8_t)dt_below(g->r, 17);
	return c;
}

/* Flags written / left undefined by a shift or rotate of `size` bytes by c. */
static void shift_flags(const struct tmpl *t, unsigned size, uint8_t c, uint16_t *fw,
			uint16_t *fu)
{
	unsigned mc = c & (size == 8 ? 63 : 31);

	*fw = *fu = 0;
	if (!mc)
		return;  /* masked count 0: no flag changes at all */
	switch (t->kind) {
	case K_SHIFT:
		*fw = FL_ARITH;
		*fu = FL_AF | (mc != 1 ? FL_OF : 0);
		if (t->aux == 0 && mc >= size * 8)  /* SHL/SHR past the width */
			*fu |= FL_CF;
		break;
	case K_ROT:
	case K_RCX:
		*fw = FL_CF | FL_OF;
		*fu = mc != 1 ? FL_OF : 0;
		break;
	case K_SHXD:
		*fw = FL_ARITH;
		*fu = FL_AF | (mc != 1 ? FL_OF : 0);
		break;
	}
}

static unsigned pick_size(struct gen *g, uint8_t sizes)
{
	unsigned cand[4], n = 0;

	for (unsigned s = 1; s <= 8; s <<= 1)
		if (sizes & s)
			cand[n++] = s;
	return n ? cand[dt_below(g->r, n)] : 8;
}

/* K_NORMAL and the operand-driven kinds.  Returns false if nothing usable
 * was emitted (encoding failure or the sequence is full). */
bool gen_emit_operands(struct gen *g, unsigned ti)
{
	struct tmpl *t = &dt_tmpl[ti];
	ZydisEncoderRequest req;
	const char *tok = t->ops;
	unsigned size = pick_size(g, t->sizes);
	bool mem = false, op0_mem = false;
	uint16_t fw = t->fw, fu = t->fu;
	int64_t imm8 = dt_below(g->r, 2) ? (int64_t)dt_below(g->r, 256) :
					   (int64_t)(int8_t)dt_edge_value(g->r);
	uint8_t count = 0;

	if (t->kind == K_SHIFT || t->kind == K_ROT || t->kind == K_RCX || t->kind == K_SHXD) {
		count = shift_count(g, t, size);
		imm8 = count;
		shift_flags(t, size, count, &fw, &fu);
		if (strchr(t->ops, 'c')) {
			uint8_t b[2] = { 0xb1, count };  /* mov cl, count */
			if (!gen_put(g, b, 2, dt_tmpl_setup))
				return false;
		}
	}
	gen_req_init(&req, (ZydisMnemonic)t->mnem);
	/* CL holds the count now: operand set-ups must not reuse RCX */
	if (strchr(t->ops, 'c'))
		g->protect |= 1u << R_CX;
	while (*tok && req.operand_count < 4) {
		if (!gen_operand(g, t, &tok, size, &req.operands[req.operand_count], &mem, imm8)) {
			g->protect &= ~(1u << R_CX);
			return false;
		}
		if (req.operand_count == 0)
			op0_mem = mem;
		req.operand_count++;
	}
	g->protect &= ~(1u << R_CX);
	if ((t->tflags & TF_LOCK) && op0_mem && !dt_below(g->r, 3))
		req.prefixes |= ZYDIS_ATTRIB_HAS_LOCK;
	if (!gen_encode(g, &req, ti))
		return false;
	gen_flags_after(g, fw, fu);
	t->emitted++;
	return true;
}


/* A random operand-driven instruction for the inside of a construct. */
bool gen_emit_inner(struct gen *g)
{
	for (int tries = 0; tries < 20; tries++) {
		unsigned ti = dt_below(g->r, dt_ntmpl);
		const struct tmpl *t = &dt_tmpl[ti];

		if (!t->enabled || t->kind != K_NORMAL)
			continue;
		if (gen_emit_template(g, ti))
			return true;
		if (g->full)
			return false;
	}
	return false;
}

bool gen_emit_template(struct gen *g, unsigned ti)
{
	struct tmpl *t = &dt_tmpl[ti];

	if (t->fr & g->poison && !gen_emit_flagdef(g))
		return false;
	switch (t->kind) {
	case K_NORMAL:
	case K_SHIFT:
	case K_ROT:
	case K_RCX:
	case K_SHXD:
		/* an operand mix may not encode (AH with a REX prefix): retry */
		for (int tries = 0; tries < 4 && !g->full; tries++)
			if (gen_emit_operands(g, ti))
				return true;
		return false;
	default:
		return gen_emit_special(g, ti);
	}
}

void dt_gen_seq(struct dt_rng *r, struct dt_seq *seq, unsigned base_reg, unsigned max_insns)
{
	struct gen g = {
		.r = r, .seq = seq, .base = base_reg,
		.protect = (1u << R_SP) | (1u << base_reg),
	};
	unsigned want = 1 + dt_below(r, max_insns ? max_insns : 1);
	static const uint8_t ud2[2] = { 0x0f, 0x0b };

	memset(seq, 0, sizeof(*seq));
	for (unsigned i = 0; i < want && !g.full; i++) {
		unsigned ti;

		do
			ti = dt_below(r, dt_ntmpl);
		while (!dt_tmpl[ti].enabled);
		gen_emit_template(&g, ti);
	}
	/* room for the UD2 is always reserved by gen_put() */
	memcpy(seq->code + seq->len, ud2, 2);
	seq->len += 2;
	seq->poison = g.poison;
}

const char *dt_tmpl_name(unsigned tmpl)
{
	return tmpl < dt_ntmpl ? dt_tmpl[tmpl].name : "?";
}

int dt_gen_init(bool (*implemented)(unsigned mnemonic), bool verbose)
{
	unsigned on = 0;

	for (unsigned i = 0; i < dt_ntmpl; i++) {
		struct tmpl *t = &dt_tmpl[i];

		if (t->kind == K_SETUP || t->kind == K_FLAGDEF)
			continue;
		t->enabled = implemented(t->mnem);
		/* LEAVE comes with ENTER */
		if (t->kind == K_ENTER)
			t->enabled = t->enabled && implemented(ZYDIS_MNEMONIC_LEAVE);
		on += t->enabled;
		if (!t->enabled && verbose)
			fprintf(stderr, "difftest: soft CPU lacks %s (%s): template off\n",
				t->name, t->ops);
	}
	return on ? 0 : -1;
}

bool dt_gen_has_template(unsigned mnemonic)
{
	for (unsigned i = 2; i < dt_ntmpl; i++)
		if (dt_tmpl[i].mnem == mnemonic)
			return true;
	return false;
}

void dt_gen_report(void)
{
	const char *last = "";

	printf("covered mnemonics:");
	for (unsigned i = 2; i < dt_ntmpl; i++) {
		if (!dt_tmpl[i].emitted || !strcmp(dt_tmpl[i].name, last))
			continue;
		printf(" %s", dt_tmpl[i].name);
		last = dt_tmpl[i].name;
	}
	printf("\nnot exercised:");
	for (unsigned i = 2; i < dt_ntmpl; i++)
		if (!dt_tmpl[i].emitted)
			printf(" %s(%s)%s", dt_tmpl[i].name, dt_tmpl[i].ops,
			       dt_tmpl[i].enabled ? "" : "[not implemented]");
	printf("\n");
}
