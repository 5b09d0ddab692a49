/* Exception and interrupt delivery: real-mode IVT, protected-mode and
 * long-mode IDT (interrupt/trap gates; task gates are not supported), the
 * double-fault table and the triple fault, INT n/INT3/INTO/INT1 and IRET.
 *
 * Every delivery reads everything it needs and writes the new stack frame
 * before it touches a register, so a fault in the middle (a #PF on the
 * handler stack, a bad gate) leaves the interrupted state intact and the
 * double-fault rules can deliver the second exception instead. */
#include <stdio.h>

#include "accel/soft/sys.h"
#include "accel/x86_dump.h"
#include "util/log.h"
#include "vm/vm.h"

static bool has_error_code(int v)
{
	return v == SOFT_EXC_DF || v == SOFT_EXC_TS || v == SOFT_EXC_NP ||
	       v == SOFT_EXC_SS || v == SOFT_EXC_GP || v == SOFT_EXC_PF ||
	       v == SOFT_EXC_AC;
}

/* SDM Vol. 3 table 6-4/6-5 */
enum exc_class { EXC_BENIGN, EXC_CONTRIB, EXC_PF, EXC_DF };

static enum exc_class exc_class(int v)
{
	switch (v) {
	case SOFT_EXC_DE: case SOFT_EXC_TS: case SOFT_EXC_NP:
	case SOFT_EXC_SS: case SOFT_EXC_GP:
		return EXC_CONTRIB;
	case SOFT_EXC_PF:
		return EXC_PF;
	case SOFT_EXC_DF:
		return EXC_DF;
	default:
		return EXC_BENIGN;
	}
}

/* Write a frame of `n` slots of `size` bytes ending below linear stack top
 * `top`, slot 0 at the highest address (pushed first). */
static int write_frame(struct soft_cpu *cpu, uint64_t seg_base, uint64_t sp, uint64_t sp_mask,
		       const uint64_t *vals, unsigned n, unsigned size, bool super,
		       uint64_t *new_sp)
{
	unsigned acc = SOFT_ACC_WRITE | (super ? SOFT_ACC_SUPER : 0);

	for (unsigned i = 0; i < n; i++) {
		uint64_t off = (sp - (uint64_t)(i + 1) * size) & sp_mask;
		int ret = soft_lin_write(cpu, seg_base + off, &vals[i], size, acc);

		if (ret)
			return ret;
	}
	*new_sp = (sp - (uint64_t)n * size) & sp_mask;
	return SOFT_OK;
}

static uint32_t idt_err(int vector, unsigned flags)
{
	return (uint32_t)vector * 8 + 2 + ((flags & SOFT_EV_EXT) ? 1 : 0);
}

static int deliver_real(struct soft_cpu *cpu, int vector, uint64_t return_rip)
{
	uint16_t ivt[2];
	uint64_t vals[3], sp;
	int ret;

	if ((uint64_t)vector * 4 + 3 > cpu->idtr.limit)
		return soft_raise(cpu, SOFT_EXC_GP, 0);
	ret = soft_lin_read(cpu, cpu->idtr.base + (uint64_t)vector * 4, ivt, 4,
			    SOFT_ACC_READ | SOFT_ACC_SUPER);
	if (ret)
		return ret;
	vals[0] = soft_flags__get(cpu) & 0xffff;
	vals[1] = cpu->seg[SOFT_CS].sel;
	vals[2] = return_rip & 0xffff;
	ret = write_frame(cpu, cpu->seg[SOFT_SS].base, cpu->gpr[SOFT_RSP],
			  cpu->seg[SOFT_SS].db ? 0xffffffffull : 0xffff, vals, 3, 2, true, &sp);
	if (ret)
		return ret;
	soft_gpr_set(cpu, SOFT_RSP, cpu->seg[SOFT_SS].db ? 4 : 2, sp);
	soft_flags__set(cpu, soft_flags__get(cpu) & ~(SOFT_FL_IF | SOFT_FL_TF | SOFT_FL_AC | SOFT_FL_RF));
	soft_seg__load_real(cpu, SOFT_CS, ivt[1]);
	cpu->rip = ivt[0];
	soft_cpu__update_mode(cpu);
	return SOFT_OK;
}

/* Protected/long mode: gate lookup and target code segment checks. */
struct gate {
	uint64_t offset;
	uint16_t sel;
	unsigned type, dpl, ist;
	uint64_t code_desc;
};

static int read_gate(struct soft_cpu *cpu, int vector, unsigned flags, struct gate *g)
{
	unsigned esize = cpu->long_mode ? 16 : 8;
	uint64_t e[2] = { 0, 0 };
	uint32_t err = idt_err(vector, flags);
	int ret;

	if ((uint64_t)vector * esize + esize - 1 > cpu->idtr.limit)
		return soft_raise(cpu, SOFT_EXC_GP, err);
	ret = soft_lin_read(cpu, cpu->idtr.base + (uint64_t)vector * esize, e, esize,
			    SOFT_ACC_READ | SOFT_ACC_SUPER);
	if (ret)
		return ret;
	g->type = (e[0] >> 40) & 0xf;
	g->dpl = (e[0] >> 45) & 3;
	g->sel = (uint16_t)(e[0] >> 16);
	g->ist = cpu->long_mode ? (e[0] >> 32) & 7 : 0;
	g->offset = (e[0] & 0xffff) | ((e[0] >> 32) & 0xffff0000ull);
	if (cpu->long_mode) {
		g->offset |= (e[1] & 0xffffffffull) << 32;
		if (g->type != 0xe && g->type != 0xf)
			return soft_raise(cpu, SOFT_EXC_GP, err);
	} else if (g->type != 0xe && g->type != 0xf && g->type != 0x6 && g->type != 0x7) {
		if (g->type == 0x5)
			log_once(LOG_WARN, "soft: task gates are not supported");
		return soft_raise(cpu, SOFT_EXC_GP, err);
	}
	if ((e[0] >> 44) & 1)
		return soft_raise(cpu, SOFT_EXC_GP, err);
	if ((flags & SOFT_EV_SOFT) && !(flags & SOFT_EV_ICEBP) && g->dpl < cpu->cpl)
		return soft_raise(cpu, SOFT_EXC_GP, err);
	if (!((e[0] >> 47) & 1))
		return soft_raise(cpu, SOFT_EXC_NP, err);
	/* target code segment */
	if ((g->sel & ~3u) == 0)
		return soft_raise(cpu, SOFT_EXC_GP, (flags & SOFT_EV_EXT) ? 1 : 0);
	ret = soft_seg__read_desc(cpu, g->sel, &g->code_desc, SOFT_EXC_GP);
	if (ret)
		return ret;
	{
		uint64_t d = g->code_desc;
		unsigned dpl = (d >> 45) & 3;
		uint32_t serr = (g->sel & 0xfffc) | ((flags & SOFT_EV_EXT) ? 1 : 0);

		if (!((d >> 44) & 1) || !((d >> 43) & 1) || dpl > cpu->cpl)
			return soft_raise(cpu, SOFT_EXC_GP, serr);
		if (cpu->long_mode && (!((d >> 53) & 1) || ((d >> 54) & 1)))
			return soft_raise(cpu, SOFT_EXC_GP, serr);
		if (!((d >> 47) & 1))
			return soft_raise(cpu, SOFT_EXC_NP, serr);
	}
	return SOFT_OK;
}

static int tss_read(struct soft_cpu *cpu, uint32_t off, void *buf, unsigned len, unsigned flags)
{
	const struct soft_seg *tr = &cpu->seg[SOFT_TR];
	uint32_t err = (tr->sel & 0xfffc) | ((flags & SOFT_EV_EXT) ? 1 : 0);

	if (tr->unusable || (uint64_t)off + len - 1 > tr->limit)
		return soft_raise(cpu, SOFT_EXC_TS, err);
	return soft_lin_read(cpu, tr->base + off, buf, len, SOFT_ACC_READ | SOFT_ACC_SUPER);
}

static void enter_handler_flags(struct soft_cpu *cpu, const struct gate *g)
{
	uint64_t f = soft_flags__get(cpu);

	f &= ~(SOFT_FL_TF | SOFT_FL_NT | SOFT_FL_RF | SOFT_FL_VM);
	if (!(g->type & 1))   /* interrupt gate */
		f &= ~SOFT_FL_IF;
	soft_flags__set(cpu, f);
}

static void load_target_cs(struct soft_cpu *cpu, const struct gate *g, unsigned new_cpl)
{
	uint16_t sel = (uint16_t)((g->sel & ~3u) | new_cpl);

	soft_seg__decode(g->code_desc | (1ull << 40), sel, &cpu->seg[SOFT_CS]);
}

static int deliver_long(struct soft_cpu *cpu, int vector, unsigned flags, uint32_t error_code,
			uint64_t return_rip)
{
	struct gate g;
	uint64_t vals[6], rsp, new_sp;
	unsigned n = 0, dpl, old_cpl = cpu->cpl;
	int ret;

	ret = read_gate(cpu, vector, flags, &g);
	if (ret)
		return ret;
	dpl = (g.code_desc >> 45) & 3;
	if ((g.code_desc >> 42) & 1)   /* conforming: stays at CPL */
		dpl = old_cpl;
	if (!soft_sys__canonical(g.offset))
		return soft_raise(cpu, SOFT_EXC_GP, (flags & SOFT_EV_EXT) ? 1 : 0);
	rsp = cpu->gpr[SOFT_RSP];
	if (g.ist) {
		ret = tss_read(cpu, 36 + (g.ist - 1) * 8, &rsp, 8, flags);
	} else if (dpl < old_cpl) {
		ret = tss_read(cpu, 4 + dpl * 8, &rsp, 8, flags);
	}
	if (ret)
		return ret;
	if (!soft_sys__canonical(rsp))
		return soft_raise(cpu, SOFT_EXC_SS, (flags & SOFT_EV_EXT) ? 1 : 0);
	rsp &= ~0xfull;
	vals[n++] = cpu->seg[SOFT_SS].sel;
	vals[n++] = cpu->gpr[SOFT_RSP];
	vals[n++] = soft_flags__get(cpu);
	vals[n++] = cpu->seg[SOFT_CS].sel;
	vals[n++] = return_rip;
	if (flags & SOFT_EV_ERR)
		vals[n++] = error_code;
	ret = write_frame(cpu, 0, rsp, ~0ull, vals, n, 8, dpl < 3, &new_sp);
	if (ret)
		return ret;
	/* commit */
	if (dpl < old_cpl) {
		soft_seg__load_null(cpu, SOFT_SS, (uint16_t)dpl);
		cpu->seg[SOFT_SS].dpl = (uint8_t)dpl;
	}
	cpu->gpr[SOFT_RSP] = new_sp;
	load_target_cs(cpu, &g, dpl);
	enter_handler_flags(cpu, &g);
	cpu->rip = g.offset;
	soft_cpu__update_mode(cpu);
	return SOFT_OK;
}

static int deliver_prot(struct soft_cpu *cpu, int vector, unsigned flags, uint32_t error_code,
			uint64_t return_rip)
{
	struct gate g;
	uint64_t vals[6], sp, ss_base, sp_mask, new_sp;
	unsigned n = 0, dpl, old_cpl = cpu->cpl, size;
	struct soft_seg new_ss = cpu->seg[SOFT_SS];
	uint16_t ss_sel = cpu->seg[SOFT_SS].sel;
	bool outer;
	int ret;

	if (cpu->rflags & SOFT_FL_VM) {
		log_once(LOG_WARN, "soft: virtual-8086 mode is not supported");
		return soft_raise(cpu, SOFT_EXC_GP, 0);
	}
	ret = read_gate(cpu, vector, flags, &g);
	if (ret)
		return ret;
	size = (g.type & 8) ? 4 : 2;
	dpl = (g.code_desc >> 45) & 3;
	if ((g.code_desc >> 42) & 1)
		dpl = old_cpl;
	outer = dpl < old_cpl;
	sp = cpu->gpr[SOFT_RSP];
	if (outer) {
		uint32_t esp;
		uint16_t sel;
		uint64_t d;

		ret = tss_read(cpu, 4 + dpl * 8, &esp, 4, flags);
		if (!ret)
			ret = tss_read(cpu, 8 + dpl * 8, &sel, 2, flags);
		if (ret)
			return ret;
		if ((sel & ~3u) == 0)
			return soft_raise(cpu, SOFT_EXC_TS, (flags & SOFT_EV_EXT) ? 1 : 0);
		ret = soft_seg__read_desc(cpu, sel, &d, SOFT_EXC_TS);
		if (ret)
			return ret;
		if ((sel & 3) != dpl || ((d >> 45) & 3) != dpl || !((d >> 44) & 1) ||
		    ((d >> 43) & 1) || !((d >> 41) & 1))
			return soft_raise(cpu, SOFT_EXC_TS, sel & 0xfffc);
		if (!((d >> 47) & 1))
			return soft_raise(cpu, SOFT_EXC_SS, sel & 0xfffc);
		soft_seg__decode(d | (1ull << 40), sel, &new_ss);
		ss_sel = sel;
		sp = esp;
		vals[n++] = cpu->seg[SOFT_SS].sel;
		vals[n++] = cpu->gpr[SOFT_RSP];
	}
	ss_base = new_ss.base;
	sp_mask = new_ss.db ? 0xffffffffull : 0xffff;
	vals[n++] = soft_flags__get(cpu);
	vals[n++] = cpu->seg[SOFT_CS].sel;
	vals[n++] = return_rip;
	if (flags & SOFT_EV_ERR)
		vals[n++] = error_code;
	if (size == 2)
		g.offset &= 0xffff;
	{
		struct soft_seg cs;

		soft_seg__decode(g.code_desc, g.sel, &cs);
		if (g.offset > cs.limit)
			return soft_raise(cpu, SOFT_EXC_GP, (flags & SOFT_EV_EXT) ? 1 : 0);
	}
	ret = write_frame(cpu, ss_base, sp, sp_mask, vals, n, size, dpl < 3, &new_sp);
	if (ret)
		return ret;
	if (outer) {
		cpu->seg[SOFT_SS] = new_ss;
		cpu->seg[SOFT_SS].sel = ss_sel;
	}
	if (new_ss.db)
		cpu->gpr[SOFT_RSP] = (uint32_t)new_sp;
	else
		soft_gpr_set(cpu, SOFT_RSP, 2, new_sp);
	load_target_cs(cpu, &g, dpl);
	enter_handler_flags(cpu, &g);
	cpu->rip = g.offset;
	soft_cpu__update_mode(cpu);
	return SOFT_OK;
}

int soft_except__deliver(struct soft_cpu *cpu, int vector, unsigned flags,
			 uint32_t error_code, uint64_t return_rip)
{
	if (!(cpu->cr0 & X86_CR0_PE))
		return deliver_real(cpu, vector, return_rip);
	if (cpu->long_mode)
		return deliver_long(cpu, vector, flags, error_code, return_rip);
	return deliver_prot(cpu, vector, flags, error_code, return_rip);
}

int soft_except__triple_fault(struct soft_cpu *cpu)
{
	struct soft_sys_cpu *sc = cpu->sys;
	struct x86_regs r;
	struct x86_sregs s;

	soft_sys__get_state(cpu, &r, &s);
	fprintf(stderr, "vireo: vCPU %d triple fault (shutdown)\n", cpu->id);
	x86_dump_state(stderr, &r, &s);
	if (sc)
		sc->shutdown = true;
	if (cpu->vm)
		vm__request_stop(cpu->vm, VM_STOP_TRIPLE_FAULT, VM_EXIT_GUEST_CRASH);
	return SOFT_EXIT;
}

/* Deliver `vector` (an exception, or an event with first_flags), applying
 * the double-fault table to anything raised on the way. */
static int deliver_chain(struct soft_cpu *cpu, int vector, unsigned flags, uint32_t err,
			 uint64_t return_rip)
{
	int cur = vector;

	for (int depth = 0; depth < 4; depth++) {
		int ret, next;
		enum exc_class c1, c2;

		cpu->exc.vector = -1;
		ret = soft_except__deliver(cpu, cur, flags, err, return_rip);
		if (ret == SOFT_OK)
			return SOFT_OK;
		if (ret != SOFT_EXC || cpu->exc.vector < 0)
			return ret;
		next = cpu->exc.vector;
		c1 = (flags & (SOFT_EV_EXT | SOFT_EV_SOFT)) ? EXC_BENIGN : exc_class(cur);
		c2 = exc_class(next);
		if (c1 == EXC_DF)
			return soft_except__triple_fault(cpu);
		if ((c1 == EXC_CONTRIB && c2 == EXC_CONTRIB) ||
		    (c1 == EXC_PF && (c2 == EXC_CONTRIB || c2 == EXC_PF))) {
			cur = SOFT_EXC_DF;
			err = 0;
		} else {
			cur = next;
			err = cpu->exc.error_code;
		}
		/* the nested fault is reported at the faulting instruction */
		flags = (flags & SOFT_EV_EXT) | (has_error_code(cur) ? SOFT_EV_ERR : 0);
		return_rip = cpu->rip;
	}
	return soft_except__triple_fault(cpu);
}

int soft_except__deliver_hook(struct soft_cpu *cpu)
{
	int v = cpu->exc.vector;
	uint32_t err = cpu->exc.error_code;

	if (v < 0)
		return SOFT_OK;
	if (v == SOFT_EXC_DF)   /* raised directly by a handler: unusual */
		err = 0;
	cpu->halted = false;
	soft_sys__cancel_step(cpu);   /* a faulting instruction does not trap */
	return deliver_chain(cpu, v, has_error_code(v) ? SOFT_EV_ERR : 0, err, cpu->rip);
}

int soft_except__deliver_event(struct soft_cpu *cpu, int vector, bool nmi)
{
	int ret;

	cpu->halted = false;
	ret = deliver_chain(cpu, vector, SOFT_EV_EXT, 0, cpu->rip);
	if (ret == SOFT_OK) {
		/* the next instruction did not run: no single-step trap for it */
		soft_sys__cancel_step(cpu);
		if (nmi)
			cpu->nmi_blocked = true;
	}
	cpu->exc.vector = -1;
	return ret;
}
