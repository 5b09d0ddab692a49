/* Far control transfers (JMP/CALL/RET far to code segments; call gates and
 * task switches are not supported), SYSCALL/SYSRET/SWAPGS, and the control
 * and debug registers (MOV CRn/DRn, CLTS, LMSW, SMSW): everything that moves
 * the CPU between real, protected, compatibility and 64-bit mode. */
#include "accel/soft/sys.h"
#include "accel/soft/irqchip/irqchip.h"
#include "util/log.h"

/* CR4 bits we accept: TSD DE PSE PAE PGE PCE OSFXSR OSXMMEXCPT (no VME/PVI,
 * no MCE, no UMIP/SMEP/SMAP/PCIDE/OSXSAVE/FSGSBASE/LA57: not advertised). */
#define CR4_VALID ((1ull << 2) | (1ull << 3) | (1ull << 4) | X86_CR4_PAE | X86_CR4_PGE | \
		   (1ull << 8) | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)
#define CR4_TSD (1ull << 2)
#define CR4_DE  (1ull << 3)

static bool pm_active(const struct soft_cpu *cpu)
{
	return (cpu->cr0 & X86_CR0_PE) && !(cpu->rflags & SOFT_FL_VM);
}

/* Far pointer operand of JMP/CALL far: selector and offset. */
static int far_target(struct soft_cpu *cpu, const struct soft_insn *in, uint16_t *sel,
		      uint64_t *off, unsigned *osize)
{
	const struct soft_operand *o = &in->op[0];
	uint64_t ea;
	int ret;

	if (o->kind == SOFT_OPK_PTR) {
		*sel = in->imm2;
		*off = in->imm & soft_size_mask(in->opsize);
		*osize = in->opsize;
		return SOFT_OK;
	}
	if (o->kind != SOFT_OPK_MEM)
		return soft_raise_ud(cpu);
	*osize = o->size > 2 ? o->size - 2u : in->opsize;
	if (*osize != 2 && *osize != 4 && *osize != 8)
		*osize = in->opsize;
	ea = soft_ea(cpu, in);
	*off = 0;
	ret = soft_mem_read(cpu, in->mem.seg, ea, off, *osize);
	if (!ret)
		ret = soft_mem_read(cpu, in->mem.seg, (ea + *osize) & soft_size_mask(in->addrsize),
				    sel, 2);
	return ret;
}

/* Checks for a far JMP/CALL straight to a code segment; fills *cs. */
static int far_code_target(struct soft_cpu *cpu, uint16_t sel, uint64_t off, struct soft_seg *cs)
{
	unsigned cpl = cpu->cpl, rpl = sel & 3, dpl;
	uint64_t d;
	int ret;

	if ((sel & ~3u) == 0)
		return soft_raise_gp0(cpu);
	ret = soft_seg__read_desc(cpu, sel, &d, SOFT_EXC_GP);
	if (ret)
		return ret;
	if (!((d >> 44) & 1)) {
		log_once(LOG_WARN, "soft: far transfer through a gate/TSS is not supported");
		return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
	}
	dpl = (d >> 45) & 3;
	if (!((d >> 43) & 1))
		return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
	if ((d >> 42) & 1 ? dpl > cpl : (rpl > cpl || dpl != cpl))
		return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
	ret = soft_seg__check_code(cpu, sel, d);
	if (ret)
		return ret;
	soft_seg__decode(d | (1ull << 40), (uint16_t)((sel & ~3u) | cpl), cs);
	if (cpu->long_mode && cs->l ? !soft_sys__canonical(off) : off > cs->limit)
		return soft_raise_gp0(cpu);
	return soft_seg__set_accessed(cpu, sel, d);
}

static int h_jmp_far(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct soft_seg cs;
	uint64_t off;
	unsigned osize = 0;   /* set by far_target(); -O3 cannot see it */
	uint16_t sel;
	int ret;

	ret = far_target(cpu, in, &sel, &off, &osize);
	if (ret)
		return ret;
	if (!pm_active(cpu)) {
		soft_seg__load_real(cpu, SOFT_CS, sel);
		cpu->next_rip = off & soft_size_mask(osize);
		soft_cpu__update_mode(cpu);
		return SOFT_OK;
	}
	ret = far_code_target(cpu, sel, off, &cs);
	if (ret)
		return ret;
	cpu->seg[SOFT_CS] = cs;
	cpu->next_rip = off;
	soft_cpu__update_mode(cpu);
	return SOFT_OK;
}

static int h_call_far(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct soft_seg cs;
	uint64_t off, rsp = cpu->gpr[SOFT_RSP];
	unsigned osize = 0;
	uint16_t sel;
	int ret;

	ret = far_target(cpu, in, &sel, &off, &osize);
	if (ret)
		return ret;
	if (pm_active(cpu)) {
		ret = far_code_target(cpu, sel, off, &cs);
		if (ret)
			return ret;
	}
	ret = soft_push(cpu, cpu->seg[SOFT_CS].sel, osize);
	if (!ret)
		ret = soft_push(cpu, cpu->next_rip, osize);
	if (ret) {
		cpu->gpr[SOFT_RSP] = rsp;
		return ret;
	}
	if (pm_active(cpu))
		cpu->seg[SOFT_CS] = cs;
	else
		soft_seg__load_real(cpu, SOFT_CS, sel);
	cpu->next_rip = off & soft_size_mask(osize);
	soft_cpu__update_mode(cpu);
	return SOFT_OK;
}

static int h_ret_far(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned size = in->opsize, cpl = cpu->cpl, rpl, dpl;
	uint64_t rsp = cpu->gpr[SOFT_RSP], ip, csv, nsp = 0, nss = 0;
	uint64_t imm = in->nops ? in->imm & 0xffff : 0;
	struct soft_seg old_ss = cpu->seg[SOFT_SS], cs;
	uint64_t d;
	int ret;

	ret = soft_pop(cpu, &ip, size);
	if (!ret)
		ret = soft_pop(cpu, &csv, size);
	if (ret)
		goto restore;
	if (!pm_active(cpu)) {
		soft_seg__load_real(cpu, SOFT_CS, (uint16_t)csv);
		goto done;
	}
	csv &= 0xffff;
	rpl = csv & 3;
	if ((csv & ~3u) == 0) {
		ret = soft_raise_gp0(cpu);
		goto restore;
	}
	ret = soft_seg__read_desc(cpu, (uint16_t)csv, &d, SOFT_EXC_GP);
	if (ret)
		goto restore;
	dpl = (d >> 45) & 3;
	if (rpl < cpl || ((d >> 42) & 1 ? dpl > rpl : dpl != rpl)) {
		ret = soft_raise(cpu, SOFT_EXC_GP, csv & 0xfffc);
		goto restore;
	}
	ret = soft_seg__check_code(cpu, (uint16_t)csv, d);
	if (ret)
		goto restore;
	soft_seg__decode(d | (1ull << 40), (uint16_t)csv, &cs);
	if (cpu->long_mode && cs.l ? !soft_sys__canonical(ip) : ip > cs.limit) {
		ret = soft_raise_gp0(cpu);
		goto restore;
	}
	if (rpl > cpl) {
		cpu->gpr[SOFT_RSP] += imm;
		ret = soft_pop(cpu, &nsp, size);
		if (!ret)
			ret = soft_pop(cpu, &nss, size);
		if (!ret)
			ret = soft_seg__load_ss_for(cpu, (uint16_t)nss, rpl,
						    cpu->long_mode && cs.l);
		if (ret)
			goto restore;
		cpu->seg[SOFT_CS] = cs;
		soft_gpr_set(cpu, SOFT_RSP, size, nsp);
		cpu->gpr[SOFT_RSP] += imm;
		cpu->next_rip = ip & soft_size_mask(size);
		soft_cpu__update_mode(cpu);
		soft_seg__scrub_data_segs(cpu);
		return SOFT_OK;
	}
	cpu->seg[SOFT_CS] = cs;
done:
	cpu->gpr[SOFT_RSP] += imm;
	cpu->next_rip = ip & soft_size_mask(size);
	soft_cpu__update_mode(cpu);
	return SOFT_OK;
restore:
	cpu->gpr[SOFT_RSP] = rsp;
	cpu->seg[SOFT_SS] = old_ss;
	return ret;
}

/* ---- SYSCALL / SYSRET / SWAPGS ---------------------------------------- */

static void flat_seg(struct soft_seg *s, uint16_t sel, bool code, bool l, unsigned dpl)
{
	*s = (struct soft_seg){ .base = 0, .limit = 0xffffffff, .sel = sel,
				.type = code ? 0xb : 0x3, .s = 1, .dpl = (uint8_t)dpl,
				.present = 1, .db = !l, .l = l, .g = 1 };
}

static int h_syscall(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint16_t sel = (uint16_t)(cpu->star >> 32) & 0xfffc;
	uint64_t fl;

	if (!(cpu->efer & X86_EFER_SCE) || !cpu->lm64)
		return soft_raise_ud(cpu);
	fl = soft_flags__get(cpu);
	cpu->gpr[SOFT_RCX] = cpu->next_rip;
	cpu->gpr[SOFT_R11] = fl & ~SOFT_FL_RF;
	flat_seg(&cpu->seg[SOFT_CS], sel, true, true, 0);
	flat_seg(&cpu->seg[SOFT_SS], (uint16_t)(sel + 8), false, false, 0);
	soft_flags__set(cpu, fl & ~(cpu->sfmask | SOFT_FL_RF));
	cpu->next_rip = cpu->lstar;
	soft_cpu__update_mode(cpu);
	return SOFT_OK;
}

static int h_sysret(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint16_t base = (uint16_t)(cpu->star >> 48);
	bool to64 = in->prefix & SOFT_PFX_REXW;
	uint64_t fl, old;

	if (!(cpu->efer & X86_EFER_SCE))
		return soft_raise_ud(cpu);
	if (!cpu->lm64 || cpu->cpl != 0)
		return soft_raise_gp0(cpu);
	if (to64 && !soft_sys__canonical(cpu->gpr[SOFT_RCX]))
		return soft_raise_gp0(cpu);
	old = soft_flags__get(cpu);
	fl = (cpu->gpr[SOFT_R11] & 0x3c7fd7ull) | SOFT_FL_FIXED;
	if (to64) {
		flat_seg(&cpu->seg[SOFT_CS], (uint16_t)((base + 16) | 3), true, true, 3);
		cpu->next_rip = cpu->gpr[SOFT_RCX];
	} else {
		flat_seg(&cpu->seg[SOFT_CS], (uint16_t)(base | 3), true, false, 3);
		cpu->next_rip = (uint32_t)cpu->gpr[SOFT_RCX];
	}
	/* SS keeps its (flat) cache; only selector and DPL change */
	cpu->seg[SOFT_SS].sel = (uint16_t)((base + 8) | 3);
	cpu->seg[SOFT_SS].dpl = 3;
	cpu->seg[SOFT_SS].unusable = 0;
	cpu->seg[SOFT_SS].present = 1;
	cpu->seg[SOFT_SS].s = 1;
	cpu->seg[SOFT_SS].type = 0x3;
	cpu->seg[SOFT_SS].db = 1;
	cpu->seg[SOFT_SS].base = 0;
	cpu->seg[SOFT_SS].limit = 0xffffffff;
	soft_flags__set(cpu, fl);
	if (((fl & SOFT_FL_IF) && !(old & SOFT_FL_IF)) || (fl & SOFT_FL_TF))
		soft_cpu__kick(cpu);
	soft_cpu__update_mode(cpu);
	return SOFT_OK;
}

static int h_swapgs(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t t;

	if (!cpu->lm64)
		return soft_raise_ud(cpu);
	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	t = cpu->seg[SOFT_GS].base;
	cpu->seg[SOFT_GS].base = cpu->kernel_gs_base;
	cpu->kernel_gs_base = t;
	return SOFT_OK;
}

/* ---- control and debug registers -------------------------------------- */

static int write_cr0(struct soft_cpu *cpu, uint64_t v)
{
	v |= X86_CR0_ET;
	if (v >> 32)
		return soft_raise_gp0(cpu);
	if ((v & X86_CR0_PG) && !(v & X86_CR0_PE))
		return soft_raise_gp0(cpu);
	if ((v & X86_CR0_NW) && !(v & X86_CR0_CD))
		return soft_raise_gp0(cpu);
	if ((v & X86_CR0_PG) && !(cpu->cr0 & X86_CR0_PG) && (cpu->efer & X86_EFER_LME)) {
		if (!(cpu->cr4 & X86_CR4_PAE) || cpu->seg[SOFT_CS].l)
			return soft_raise_gp0(cpu);
	}
	if (cpu->lm64 && !(v & X86_CR0_PG))
		return soft_raise_gp0(cpu);
	soft_cpu__set_cr0(cpu, v);
	return SOFT_OK;
}

static int write_cr4(struct soft_cpu *cpu, uint64_t v)
{
	if (v & ~CR4_VALID)
		return soft_raise_gp0(cpu);
	if (cpu->long_mode && !(v & X86_CR4_PAE))
		return soft_raise_gp0(cpu);
	soft_cpu__set_cr4(cpu, v);
	return SOFT_OK;
}

static int h_mov_cr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool to_cr = in->op[0].rclass == SOFT_RC_CR;
	unsigned n = to_cr ? in->op[0].reg : in->op[1].reg;
	const struct soft_operand *gpr = to_cr ? &in->op[1] : &in->op[0];
	uint64_t v;

	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	if (to_cr) {
		v = cpu->gpr[gpr->reg];
		if (!cpu->lm64)
			v = (uint32_t)v;
		switch (n) {
		case 0: return write_cr0(cpu, v);
		case 2: cpu->cr2 = v; return SOFT_OK;
		case 3:
			if (cpu->lm64 && (v >> SOFT_PHYS_ADDR_BITS))
				return soft_raise_gp0(cpu);
			soft_cpu__set_cr3(cpu, v);
			return SOFT_OK;
		case 4: return write_cr4(cpu, v);
		case 8:
			if (v >> 4)
				return soft_raise_gp0(cpu);
			cpu->cr8 = v;
			if (cpu->lapic)
				lapic__set_tpr(cpu->lapic, (uint8_t)v);
			soft_cpu__kick(cpu);
			return SOFT_OK;
		default: return soft_raise_ud(cpu);
		}
	}
	switch (n) {
	case 0: v = cpu->cr0; break;
	case 2: v = cpu->cr2; break;
	case 3: v = cpu->cr3; break;
	case 4: v = cpu->cr4; break;
	case 8: v = cpu->lapic ? lapic__get_tpr(cpu->lapic) : cpu->cr8; break;
	default: return soft_raise_ud(cpu);
	}
	cpu->gpr[gpr->reg] = cpu->lm64 ? v : (uint32_t)v;
	return SOFT_OK;
}

static int h_mov_dr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool to_dr = in->op[0].rclass == SOFT_RC_DR;
	unsigned n = to_dr ? in->op[0].reg : in->op[1].reg;
	const struct soft_operand *gpr = to_dr ? &in->op[1] : &in->op[0];
	uint64_t v;

	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	if (n == 4 || n == 5) {
		if (cpu->cr4 & CR4_DE)
			return soft_raise_ud(cpu);
		n += 2;
	}
	if (n > 7)
		return soft_raise_ud(cpu);
	if (!to_dr) {
		v = cpu->dr[n];
		cpu->gpr[gpr->reg] = cpu->lm64 ? v : (uint32_t)v;
		return SOFT_OK;
	}
	v = cpu->gpr[gpr->reg];
	if (!cpu->lm64)
		v = (uint32_t)v;
	if ((n == 6 || n == 7) && (v >> 32))
		return soft_raise_gp0(cpu);
	/* no hardware breakpoints: the values are only kept for reading back */
	if (n == 6)
		v = (v & 0x1e00f) | 0xffff0ff0ull;
	else if (n == 7)
		v = (v & ~0xd800ull) | 0x400;
	cpu->dr[n] = v;
	return SOFT_OK;
}

static int h_clts(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	cpu->cr0 &= ~X86_CR0_TS;
	return SOFT_OK;
}

static int h_lmsw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	int ret;

	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	ret = soft_op_read(cpu, in, 0, &v);
	if (ret)
		return ret;
	/* PE can be set but not cleared; only MP, EM, TS change otherwise */
	v = (cpu->cr0 & ~0xeull) | (v & 0xf) | (cpu->cr0 & X86_CR0_PE);
	return write_cr0(cpu, v);
}

static int h_smsw(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (in->op[0].kind == SOFT_OPK_MEM) {
		uint16_t w = (uint16_t)cpu->cr0;

		return soft_mem_write(cpu, in->mem.seg, soft_ea(cpu, in), &w, 2);
	}
	return soft_op_write(cpu, in, 0, cpu->cr0);
}

void soft_modes__register(struct soft_vm *svm)
{
	soft_exec__register(svm, SOFT_MNEM_JMP_FAR, h_jmp_far);
	soft_exec__register(svm, SOFT_MNEM_CALL_FAR, h_call_far);
	soft_exec__register(svm, SOFT_MNEM_RET_FAR, h_ret_far);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SYSCALL, h_syscall);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SYSRET, h_sysret);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SWAPGS, h_swapgs);
	soft_exec__register(svm, SOFT_MNEM_MOV_CR, h_mov_cr);
	soft_exec__register(svm, SOFT_MNEM_MOV_DR, h_mov_dr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CLTS, h_clts);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LMSW, h_lmsw);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SMSW, h_smsw);
}
