/* INT n / INT3 / INTO / INT1 and IRET in all modes (NMI unblocking, returns
 * to an outer privilege level).  Task switches and virtual-8086 mode are
 * not supported (#GP, logged once). */
#include "accel/soft/sys.h"
#include "util/log.h"

static int do_int(struct soft_cpu *cpu, int vector, unsigned flags)
{
	int ret = soft_except__deliver(cpu, vector, flags | SOFT_EV_SOFT, 0, cpu->next_rip);

	if (ret == SOFT_OK) {
		cpu->next_rip = cpu->rip;
		soft_sys__cancel_step(cpu);   /* the gate cleared TF: no trap */
	}
	return ret;
}

static int h_int(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if ((cpu->rflags & SOFT_FL_VM) && soft_sys__iopl(cpu) < 3)
		return soft_raise_gp0(cpu);
	return do_int(cpu, (int)(in->imm & 0xff), 0);
}

static int h_int3(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return do_int(cpu, SOFT_EXC_BP, 0);
}

static int h_int1(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return do_int(cpu, SOFT_EXC_DB, SOFT_EV_ICEBP);
}

static int h_into(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (cpu->lm64)
		return soft_raise_ud(cpu);
	if (!(soft_flags__get(cpu) & SOFT_FL_OF))
		return SOFT_OK;
	return do_int(cpu, SOFT_EXC_OF, 0);
}

/* RFLAGS after IRET/POPF-like loads: which bits the current CPL may set. */
uint64_t soft_sys__flags_mask(struct soft_cpu *cpu, unsigned size, bool iret)
{
	uint64_t m = SOFT_FL_ARITH | SOFT_FL_TF | SOFT_FL_DF | SOFT_FL_NT |
		     SOFT_FL_AC | SOFT_FL_ID;

	if (iret)
		m |= SOFT_FL_RF;
	if (!(cpu->cr0 & X86_CR0_PE) || cpu->cpl == 0) {
		m |= SOFT_FL_IOPL | SOFT_FL_IF;
		if (iret)
			m |= SOFT_FL_VIF | SOFT_FL_VIP;
	} else if (cpu->cpl <= soft_sys__iopl(cpu)) {
		m |= SOFT_FL_IF;
	}
	if (size == 2)
		m &= 0xffff;
	else if (size == 4)
		m &= 0xffffffffull;
	return m;
}

static void apply_flags(struct soft_cpu *cpu, uint64_t val, uint64_t mask)
{
	uint64_t old = soft_flags__get(cpu);
	uint64_t f = (old & ~mask) | (val & mask);

	soft_flags__set(cpu, f);
	/* interrupts may have become deliverable, or single-stepping starts:
	 * look at the next boundary */
	if (((f & SOFT_FL_IF) && !(old & SOFT_FL_IF)) || (f & SOFT_FL_TF))
		soft_cpu__kick(cpu);
}

static int iret_real(struct soft_cpu *cpu, unsigned size)
{
	uint64_t rsp = cpu->gpr[SOFT_RSP], ip, cs, fl;
	int ret;

	ret = soft_pop(cpu, &ip, size);
	if (!ret)
		ret = soft_pop(cpu, &cs, size);
	if (!ret)
		ret = soft_pop(cpu, &fl, size);
	if (ret) {
		cpu->gpr[SOFT_RSP] = rsp;
		return ret;
	}
	soft_seg__load_real(cpu, SOFT_CS, (uint16_t)cs);
	apply_flags(cpu, fl, soft_sys__flags_mask(cpu, size, true));
	cpu->next_rip = size == 2 ? (ip & 0xffff) : (ip & 0xffffffffull);
	soft_cpu__update_mode(cpu);
	return SOFT_OK;
}

static int iret_prot(struct soft_cpu *cpu, unsigned size)
{
	uint64_t rsp = cpu->gpr[SOFT_RSP], ip = 0, cs = 0, fl = 0, nsp = 0, nss = 0;
	unsigned old_cpl = cpu->cpl, new_cpl;
	struct soft_seg old_ss = cpu->seg[SOFT_SS], old_cs = cpu->seg[SOFT_CS], ncs;
	bool to64, outer;
	uint64_t d, mask;
	int ret;

	if (!cpu->long_mode && (cpu->rflags & SOFT_FL_NT)) {
		log_once(LOG_WARN, "soft: IRET task return is not supported");
		return soft_raise_gp0(cpu);
	}
	ret = soft_pop(cpu, &ip, size);
	if (!ret)
		ret = soft_pop(cpu, &cs, size);
	if (!ret)
		ret = soft_pop(cpu, &fl, size);
	if (ret)
		goto restore;
	if (!cpu->long_mode && (fl & SOFT_FL_VM) && old_cpl == 0) {
		log_once(LOG_WARN, "soft: IRET to virtual-8086 mode is not supported");
		ret = soft_raise_gp0(cpu);
		goto restore;
	}
	cs &= 0xffff;
	new_cpl = cs & 3;
	if ((cs & ~3u) == 0) {
		ret = soft_raise_gp0(cpu);
		goto restore;
	}
	ret = soft_seg__read_desc(cpu, (uint16_t)cs, &d, SOFT_EXC_GP);
	if (ret)
		goto restore;
	if (new_cpl < old_cpl) {
		ret = soft_raise(cpu, SOFT_EXC_GP, cs & 0xfffc);
		goto restore;
	}
	ret = soft_seg__check_code(cpu, (uint16_t)cs, d);
	if (ret)
		goto restore;
	/* conforming: DPL <= RPL; non-conforming: DPL == RPL */
	if (((d >> 42) & 1) ? ((d >> 45) & 3) > new_cpl : ((d >> 45) & 3) != new_cpl) {
		ret = soft_raise(cpu, SOFT_EXC_GP, cs & 0xfffc);
		goto restore;
	}
	to64 = cpu->long_mode && ((d >> 53) & 1);
	outer = new_cpl > old_cpl;
	if (cpu->lm64 || outer) {
		ret = soft_pop(cpu, &nsp, size);
		if (!ret)
			ret = soft_pop(cpu, &nss, size);
		if (ret)
			goto restore;
	}
	soft_seg__decode(d | (1ull << 40), (uint16_t)cs, &ncs);
	if (to64 ? !soft_sys__canonical(ip) : ip > ncs.limit) {
		ret = soft_raise_gp0(cpu);
		goto restore;
	}
	/* flags are checked against the old CPL */
	mask = soft_sys__flags_mask(cpu, size, true);
	if (cpu->lm64 || outer) {
		ret = soft_seg__load_ss_for(cpu, (uint16_t)nss, new_cpl, to64);
		if (ret)
			goto restore;
	}
	cpu->seg[SOFT_CS] = ncs;
	apply_flags(cpu, fl, mask);
	if (cpu->lm64 || outer) {
		if (size == 8 || to64)
			cpu->gpr[SOFT_RSP] = nsp;
		else if (cpu->seg[SOFT_SS].db || cpu->long_mode)
			cpu->gpr[SOFT_RSP] = (uint32_t)nsp;
		else
			soft_gpr_set(cpu, SOFT_RSP, 2, nsp);
	}
	cpu->next_rip = size == 2 ? (ip & 0xffff) : size == 4 ? (ip & 0xffffffffull) : ip;
	soft_cpu__update_mode(cpu);
	if (outer)
		soft_seg__scrub_data_segs(cpu);
	return SOFT_OK;
restore:
	cpu->gpr[SOFT_RSP] = rsp;
	cpu->seg[SOFT_SS] = old_ss;
	cpu->seg[SOFT_CS] = old_cs;
	return ret;
}

static int h_iret(struct soft_cpu *cpu, const struct soft_insn *in)
{
	int ret;

	if (!(cpu->cr0 & X86_CR0_PE))
		ret = iret_real(cpu, in->opsize);
	else if (cpu->rflags & SOFT_FL_VM)
		ret = soft_raise_gp0(cpu);
	else
		ret = iret_prot(cpu, in->opsize);
	if (ret == SOFT_OK && cpu->nmi_blocked) {
		cpu->nmi_blocked = false;
		soft_cpu__kick(cpu);
	}
	return ret;
}

void soft_intr__register(struct soft_vm *svm)
{
	soft_exec__register(svm, ZYDIS_MNEMONIC_INT, h_int);
	soft_exec__register(svm, ZYDIS_MNEMONIC_INT3, h_int3);
	soft_exec__register(svm, ZYDIS_MNEMONIC_INT1, h_int1);
	soft_exec__register(svm, ZYDIS_MNEMONIC_INTO, h_into);
	soft_exec__register(svm, ZYDIS_MNEMONIC_IRET, h_iret);
	soft_exec__register(svm, ZYDIS_MNEMONIC_IRETD, h_iret);
	soft_exec__register(svm, ZYDIS_MNEMONIC_IRETQ, h_iret);
}
