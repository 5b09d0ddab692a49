/* Templates that need more than one instruction or hand-made bytes:
 * branches over an instruction, CALL/RET, LOOP, string operations with
 * their pointer set-up, ENTER/LEAVE, DIV with a sane dividend, LDMXCSR,
 * MASKMOVDQU, and the stack accounting of PUSH/POP. */
#include <string.h>

#include "gen.h"

/* Emit the branch bytes (rel field zero), then one instruction, then patch
 * the displacement to skip it.  Flags after: the union of both paths'
 * undefined flags. */
static bool over_inner(struct gen *g, const uint8_t *op, unsigned oplen, unsigned rel_size,
		       unsigned ti, bool may_skip)
{
	uint8_t b[8] = { 0 };
	unsigned start = g->seq->len, n0 = g->seq->n, after;
	uint16_t poison0 = g->poison;
	int64_t rel;

	memcpy(b, op, oplen);
	if (!gen_put(g, b, oplen + rel_size, ti))
		return false;
	after = g->seq->len;
	if (!gen_emit_inner(g)) {
		g->seq->len = start;
		g->seq->n = n0;
		g->poison = poison0;
		return false;
	}
	rel = g->seq->len - after;
	if (rel_size == 1 && rel > 127) {
		g->seq->len = start;
		g->seq->n = n0;
		g->poison = poison0;
		return false;
	}
	if (rel_size == 1) {
		g->seq->code[after - 1] = (uint8_t)rel;
	} else {
		int32_t r32 = (int32_t)rel;
		memcpy(g->seq->code + after - 4, &r32, 4);
	}
	/* Flags: a conditional branch leaves either path's state, an
	 * unconditional one never runs the instruction at all. */
	if (may_skip)
		g->poison |= poison0;
	else
		g->poison = poison0;
	return true;
}

static bool emit_ret(struct gen *g, unsigned ti)
{
	unsigned reg = gen_pick_writable(g), start = g->seq->len, n0 = g->seq->n;
	uint16_t imm = (uint16_t)(8 * dt_below(g->r, 3));
	uint8_t lea[7] = { (uint8_t)(reg >= 8 ? 0x4c : 0x48), 0x8d,
			   (uint8_t)(((reg & 7) << 3) | 5), 0, 0, 0, 0 };
	uint8_t push[2], ret[3];
	unsigned np = 0, nr = 0, lea_end;
	uint16_t poison0;
	int32_t disp;

	if (g->rsp_off + imm > 0x400)
		imm = 0;
	if (reg >= 8)
		push[np++] = 0x41;
	push[np++] = (uint8_t)(0x50 + (reg & 7));
	if (imm) {
		ret[nr++] = 0xc2;
		memcpy(ret + nr, &imm, 2);
		nr += 2;
	} else {
		ret[nr++] = 0xc3;
	}
	if (!gen_put(g, lea, 7, dt_tmpl_setup) || !gen_put(g, push, np, dt_tmpl_setup) ||
	    !gen_put(g, ret, nr, ti))
		goto err_rollback;
	lea_end = start + 7;
	/* the instruction after RET is jumped over: its flags never happen */
	poison0 = g->poison;
	if (!gen_emit_inner(g))
		goto err_rollback;
	g->poison = poison0;
	disp = (int32_t)(g->seq->len - lea_end);
	memcpy(g->seq->code + start + 3, &disp, 4);
	g->rsp_off += imm;
	return true;
err_rollback:
	g->seq->len = start;
	g->seq->n = n0;
	return false;
}

static bool emit_string(struct gen *g, const struct tmpl *t, unsigned ti)
{
	uint8_t b[4];
	unsigned n = 0;
	bool rep = (t->tflags & (TF_REP | TF_REPCC)) && dt_below(g->r, 2);

	int32_t si = (int32_t)dt_below(g->r, 0x600) - 0x300;
	int32_t di = (int32_t)dt_below(g->r, 0x600) - 0x300;

	/* Overlapping source and destination, often: element-by-element
	 * semantics (pattern propagation) are where copies go wrong. */
	if (dt_below(g->r, 3) == 0)
		di = si + (int32_t)dt_below(g->r, 33) - 16;
	if (!gen_setup_lea(g, R_SI, si) || !gen_setup_lea(g, R_DI, di))
		return false;
	if (rep && !gen_setup_mov(g, R_CX, (int32_t)dt_below(g->r, 13)))
		return false;
	if (rep)
		b[n++] = (t->tflags & TF_REPCC) && dt_below(g->r, 2) ? 0xf2 : 0xf3;
	if (t->sizes == S16)
		b[n++] = 0x66;
	if (t->sizes == S64)
		b[n++] = 0x48;
	b[n++] = t->aux;
	if (!gen_put(g, b, n, ti))
		return false;
	/* CMPS/SCAS define every flag, unless a REP with RCX = 0 runs zero
	 * iterations: then nothing changes, which is still defined. */
	if ((t->tflags & TF_REPCC) && !rep)
		gen_flags_after(g, FL_ARITH, 0);
	return true;
}

static bool emit_enter(struct gen *g, unsigned ti)
{
	uint16_t size = (uint16_t)(8 * dt_below(g->r, 5));
	uint8_t level = (uint8_t)dt_below(g->r, 2);
	uint8_t b[4] = { 0xc8, (uint8_t)size, (uint8_t)(size >> 8), level };
	uint8_t leave = 0xc9;
	int drop = 8 + size + (level ? 8 : 0);
	bool ok;

	if (g->rsp_off - drop < -0x800)
		return false;
	if (!gen_put(g, b, 4, ti))
		return false;
	g->rsp_off -= drop;
	g->protect |= 1u << R_BP;   /* LEAVE needs the frame pointer intact */
	ok = gen_emit_inner(g);
	g->protect &= ~(1u << R_BP);
	g->rsp_off += drop;
	/* Even if the inner instruction failed, LEAVE balances ENTER. */
	return gen_put(g, &leave, 1, ti) || ok;
}

static bool emit_div(struct gen *g, unsigned ti)
{
	const struct tmpl *t = &dt_tmpl[ti];
	bool is_idiv = t->mnem == ZYDIS_MNEMONIC_IDIV;
	static const uint8_t movzx_al[3] = { 0x0f, 0xb6, 0xc0 };   /* movzx eax, al */
	static const uint8_t zero_edx[5] = { 0xba, 0, 0, 0, 0 };   /* mov edx, 0 */
	static const uint8_t cbw[2] = { 0x66, 0x98 }, cwd[2] = { 0x66, 0x99 };
	static const uint8_t cdq[1] = { 0x99 }, cqo[2] = { 0x48, 0x99 };

	/* Random RDX:RAX mostly overflows the quotient (#DE); set up a
	 * dividend that fits most of the time, keep some #DE cases. */
	if (dt_below(g->r, 5)) {
		const uint8_t *b;
		unsigned n;

		switch (dt_below(g->r, 4)) {
		case 0: b = is_idiv ? cbw : movzx_al; n = is_idiv ? 2 : 3; break;
		case 1: b = is_idiv ? cwd : zero_edx; n = is_idiv ? 2 : 5; break;
		case 2: b = is_idiv ? cdq : zero_edx; n = is_idiv ? 1 : 5; break;
		default: b = is_idiv ? cqo : zero_edx; n = is_idiv ? 2 : 5; break;
		}
		if (!gen_put(g, b, n, dt_tmpl_setup))
			return false;
	}
	return gen_emit_operands(g, ti);
}

static bool emit_ldmxcsr(struct gen *g, unsigned ti)
{
	ZydisEncoderRequest req;
	ZydisEncoderOperand mem;
	uint32_t v = 0x1f80 | (dt_below(g->r, 4) << 13) | (uint32_t)dt_below(g->r, 64);

	/* Reserved bits: from 18 up only.  Bit 17 is AMD's misaligned-SSE
	 * mask (MXCSR_MASK 0x2ffff on this kind of host), while the soft CPU
	 * is an Intel part with MXCSR_MASK 0xffff. */

	if (dt_below(g->r, 2))
		v |= 0x8000;
	if (dt_below(g->r, 2))
		v |= 0x40;
	/* Unmask one exception, but not underflow: the soft CPU computes
	 * flags with everything masked and so misses exact tiny results that
	 * an unmasked UM must report (documented approximation, fpu.h). */
	if (!dt_below(g->r, 8)) {
		unsigned bit = dt_below(g->r, 5);
		v &= ~(0x80u << (bit >= 4 ? bit + 1 : bit));
	}
	if (!dt_below(g->r, 30))
		v |= 0x40000u << dt_below(g->r, 14);     /* reserved bit: #GP */
	memset(&mem, 0, sizeof(mem));
	if (!gen_mem(g, &mem, 4, 4))
		return false;
	gen_req_init(&req, ZYDIS_MNEMONIC_MOV);
	req.operand_count = 2;
	req.operands[0] = mem;
	gen_op_imm(&req.operands[1], (int32_t)v);
	if (!gen_encode(g, &req, dt_tmpl_setup))
		return false;
	gen_req_init(&req, ZYDIS_MNEMONIC_LDMXCSR);
	req.operand_count = 1;
	req.operands[0] = mem;
	if (!gen_encode(g, &req, ti))
		return false;
	dt_tmpl[ti].emitted++;
	return true;
}

static bool emit_maskmov(struct gen *g, unsigned ti)
{
	ZydisEncoderRequest req;

	if (!gen_setup_lea(g, R_DI, (int32_t)dt_below(g->r, 0x800) - 0x400))
		return false;
	gen_req_init(&req, (ZydisMnemonic)dt_tmpl[ti].mnem);
	req.operand_count = 2;
	if (dt_tmpl[ti].aux) {          /* MASKMOVQ */
		gen_op_reg(&req.operands[0], ZYDIS_REGISTER_MM0 + dt_below(g->r, 8));
		gen_op_reg(&req.operands[1], ZYDIS_REGISTER_MM0 + dt_below(g->r, 8));
	} else {
		gen_op_reg(&req.operands[0], ZYDIS_REGISTER_XMM0 + dt_below(g->r, 16));
		gen_op_reg(&req.operands[1], ZYDIS_REGISTER_XMM0 + dt_below(g->r, 16));
	}
	if (!gen_encode(g, &req, ti))
		return false;
	dt_tmpl[ti].emitted++;
	return true;
}

static bool emit_stack(struct gen *g, unsigned ti)
{
	const struct tmpl *t = &dt_tmpl[ti];
	bool push = t->kind == K_PUSH;

	if (push ? g->rsp_off < -0x800 : g->rsp_off > 0x400)
		return false;
	if (t->mnem == ZYDIS_MNEMONIC_POPFQ) {
		/* Pop a controlled value: TF/AC/IOPL from random memory would
		 * trap natively or mean something else at CPL 0. */
		uint32_t v = 0x202 | ((uint32_t)dt_rand(g->r) & FL_ARITH) |
			     (dt_below(g->r, 4) ? 0 : FL_DF);
		uint8_t b[5] = { 0x68 };

		memcpy(b + 1, &v, 4);
		if (!gen_put(g, b, 5, dt_tmpl_setup))
			return false;
	}
	if (!gen_emit_operands(g, ti))
		return false;
	g->rsp_off += push ? -8 : 8;
	return true;
}

static bool emit_xlat(struct gen *g, unsigned ti)
{
	static const uint8_t xlat = 0xd7;

	/* [RBX + AL]: RBX must point into the scratch buffer */
	if (g->base != R_BX && !gen_setup_lea(g, R_BX, (int32_t)dt_below(g->r, 0x600) - 0x300))
		return false;
	if (!gen_put(g, &xlat, 1, ti))
		return false;
	dt_tmpl[ti].emitted++;
	return true;
}

bool gen_emit_special(struct gen *g, unsigned ti)
{
	struct tmpl *t = &dt_tmpl[ti];
	uint8_t op[2];
	bool ok;

	switch (t->kind) {
	case K_JCC:
		if (t->aux & 0x10) {
			op[0] = 0x0f;
			op[1] = (uint8_t)(0x80 + (t->aux & 15));
			ok = over_inner(g, op, 2, 4, ti, true);
		} else {
			op[0] = (uint8_t)(0x70 + t->aux);
			ok = over_inner(g, op, 1, 1, ti, true);
		}
		break;
	case K_JMP:
		op[0] = t->aux ? 0xe9 : 0xeb;
		ok = over_inner(g, op, 1, t->aux ? 4 : 1, ti, false);
		break;
	case K_CALL:
		if (g->rsp_off < -0x800)
			return false;
		op[0] = 0xe8;
		ok = over_inner(g, op, 1, 4, ti, false);
		if (ok)
			g->rsp_off -= 8;
		break;
	case K_LOOP:
		if (dt_below(g->r, 4)) {
			op[0] = t->aux;
			ok = over_inner(g, op, 1, 1, ti, true);
		} else {
			op[0] = 0x67;   /* ECX instead of RCX */
			op[1] = t->aux;
			ok = over_inner(g, op, 2, 1, ti, true);
		}
		break;
	case K_RET:
		if (g->rsp_off < -0x800)
			return false;
		ok = emit_ret(g, ti);
		break;
	case K_STR:
		ok = emit_string(g, t, ti);
		break;
	case K_ENTER:
		ok = emit_enter(g, ti);
		break;
	case K_DIV:
		return emit_div(g, ti);        /* counts itself */
	case K_LDMXCSR:
		return emit_ldmxcsr(g, ti);
	case K_MASKMOV:
		return emit_maskmov(g, ti);
	case K_PUSH:
	case K_POP:
		return emit_stack(g, ti);
	case K_XLAT:
		return emit_xlat(g, ti);
	default:
		return false;
	}
	if (ok)
		t->emitted++;
	return ok;
}
