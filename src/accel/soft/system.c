/* Miscellaneous privileged and system instructions (CLI/STI, HLT, INVLPG,
 * cache control, RDTSC/RDTSCP/RDPID, CPUID, UD0/1/2; fences, CLFLUSH and
 * PREFETCH are the fpu's), the
 * hooks the core calls (POPF rules, I/O permission bitmap, interrupt
 * acceptance at instruction boundaries, the LAPIC page), and registration
 * of every system handler. */
#include <time.h>

#include "accel/soft/irqchip/irqchip.h"
#include "accel/soft/sys.h"
#include "accel/soft/timebase.h"
#include "util/log.h"
#include "vm/vm.h"

#define CR4_TSD (1ull << 2)

uint64_t soft_sys__host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One clock for all vCPUs (TSC synchronized, starting near 0 at VM
 * creation); WRMSR TSC moves only the writing vCPU's offset. */
uint64_t soft_sys__tsc(struct soft_cpu *cpu)
{
	struct soft_sys_vm *sv = cpu->svm ? cpu->svm->sys : NULL;
	uint64_t ns = soft_sys__host_ns() - (sv ? sv->tsc_base_ns : 0);
	uint64_t ticks;

	/* ns * HZ / 1e9 without overflow for centuries at 1 GHz */
	ticks = (ns / 1000000000ull) * SOFT_TSC_HZ +
		(ns % 1000000000ull) * SOFT_TSC_HZ / 1000000000ull;
	return ticks + cpu->tsc_offset;
}

static int h_cli_sti(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t f = cpu->rflags;

	if (cpu->pe && cpu->cpl > soft_sys__iopl(cpu))
		return soft_raise_gp0(cpu);
	if (in->mnemonic == ZYDIS_MNEMONIC_CLI) {
		cpu->rflags = f & ~SOFT_FL_IF;
	} else if (!(f & SOFT_FL_IF)) {
		cpu->rflags = f | SOFT_FL_IF;
		/* one-instruction shadow, then pending interrupts get a look */
		cpu->int_shadow = true;
		soft_cpu__kick(cpu);
	}
	return SOFT_OK;
}

static int h_hlt(struct soft_cpu *cpu, const struct soft_insn *in)
{
	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	cpu->halted = true;
	return SOFT_EXIT;
}

static int h_invlpg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t la;

	if (in->op[0].kind != SOFT_OPK_MEM)
		return soft_raise_ud(cpu);
	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	la = cpu->seg[in->mem.seg].base + soft_ea(cpu, in);
	if (!cpu->lm64)
		la = (uint32_t)la;
	soft_tlb__flush_page(cpu, la);
	return SOFT_OK;
}

static int h_priv_nop(struct soft_cpu *cpu, const struct soft_insn *in)
{
	/* WBINVD/INVD: caches are coherent with the host's */
	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	return SOFT_OK;
}

static int h_ud(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return soft_raise_ud(cpu);
}

static int h_rdtsc(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t t;

	if ((cpu->cr4 & CR4_TSD) && cpu->pe && cpu->cpl)
		return soft_raise_gp0(cpu);
	t = soft_sys__tsc(cpu);
	cpu->gpr[SOFT_RAX] = (uint32_t)t;
	cpu->gpr[SOFT_RDX] = t >> 32;
	if (in->mnemonic == ZYDIS_MNEMONIC_RDTSCP)
		cpu->gpr[SOFT_RCX] = (uint32_t)cpu->tsc_aux;
	return SOFT_OK;
}

static int h_rdpid(struct soft_cpu *cpu, const struct soft_insn *in)
{
	return soft_op_write(cpu, in, 0, cpu->lm64 ? cpu->tsc_aux : (uint32_t)cpu->tsc_aux);
}

static int h_cpuid(struct soft_cpu *cpu, const struct soft_insn *in)
{
	struct soft_cpuid_cfg cfg = {
		.apic_id = (unsigned)cpu->id,
		.nr_cpus = cpu->vm && cpu->vm->nr_cpus > 0 ? (unsigned)cpu->vm->nr_cpus : 1,
	};
	uint32_t r[4];

	soft_cpuid(&cfg, (uint32_t)cpu->gpr[SOFT_RAX], (uint32_t)cpu->gpr[SOFT_RCX], r);
	cpu->gpr[SOFT_RAX] = r[0];
	cpu->gpr[SOFT_RBX] = r[1];
	cpu->gpr[SOFT_RCX] = r[2];
	cpu->gpr[SOFT_RDX] = r[3];
	return SOFT_OK;
}

/* ---- hooks ------------------------------------------------------------- */

static int hook_popf(struct soft_cpu *cpu, uint64_t value, unsigned size)
{
	uint64_t old = soft_flags__get(cpu), mask, f;

	if ((cpu->rflags & SOFT_FL_VM) && soft_sys__iopl(cpu) < 3)
		return soft_raise_gp0(cpu);
	mask = soft_sys__flags_mask(cpu, size, false);
	f = ((old & ~mask) | (value & mask)) & ~SOFT_FL_RF;
	soft_flags__set(cpu, f);
	if (((f & SOFT_FL_IF) && !(old & SOFT_FL_IF)) || (f & SOFT_FL_TF))
		soft_cpu__kick(cpu);
	return SOFT_OK;
}

/* TSS I/O permission bitmap (CPL > IOPL): every bit of the access clear. */
static bool hook_io_allowed(struct soft_cpu *cpu, uint16_t port, unsigned len)
{
	const struct soft_seg *tr = &cpu->seg[SOFT_TR];
	uint16_t iomap, bits;
	uint32_t off;

	if (tr->unusable || !tr->present || (tr->type & 0x9) != 0x9 || tr->limit < 103)
		return false;
	if (soft_lin_read(cpu, tr->base + 102, &iomap, 2, SOFT_ACC_READ | SOFT_ACC_SUPER))
		goto fault;
	off = (uint32_t)iomap + port / 8;
	if (off + 1 > tr->limit)
		return false;
	if (soft_lin_read(cpu, tr->base + off, &bits, 2, SOFT_ACC_READ | SOFT_ACC_SUPER))
		goto fault;
	return !((bits >> (port & 7)) & ((1u << len) - 1));
fault:
	/* a #PF on the TSS: report #GP(0) like a denied access */
	cpu->exc.vector = -1;
	return false;
}

static bool hook_lapic_mmio(struct soft_cpu *cpu, uint64_t gpa, void *data, unsigned len,
			    bool write)
{
	uint64_t page, off;

	if (!cpu->lapic)
		return false;
	page = lapic__mmio_page(cpu->lapic);
	if (page == UINT64_MAX || (gpa & ~0xfffull) != page)
		return false;
	off = gpa & 0xfff;
	if (len == 8) {
		if (write) {
			lapic__mmio_write(cpu->lapic, off, data, 4);
			lapic__mmio_write(cpu->lapic, off + 4, (const uint8_t *)data + 4, 4);
		} else {
			lapic__mmio_read(cpu->lapic, off, data, 4);
			lapic__mmio_read(cpu->lapic, off + 4, (uint8_t *)data + 4, 4);
		}
	} else if (write) {
		lapic__mmio_write(cpu->lapic, off, data, len);
	} else {
		lapic__mmio_read(cpu->lapic, off, data, len);
	}
	return true;
}

/* Interrupt acceptance at an instruction boundary (also used by the run
 * loop to leave HLT).  SOFT_OK or SOFT_EXIT (triple fault). */
int soft_sys__check_interrupts(struct soft_cpu *cpu)
{
	int v, ret;

	if (!cpu->lapic)
		return SOFT_OK;
	if (!cpu->nmi_blocked && lapic__nmi_pending(cpu->lapic)) {
		if (cpu->int_shadow) {
			soft_cpu__kick(cpu);
			return SOFT_OK;
		}
		if (lapic__take_nmi(cpu->lapic)) {
			ret = soft_except__deliver_event(cpu, SOFT_EXC_NMI, true);
			soft_cpu__kick(cpu);
			return ret;
		}
	}
	/* the lock-free peek first: this runs on every mode change too */
	if (!(cpu->rflags & SOFT_FL_IF) || lapic__pending_vector(cpu->lapic) < 0)
		return SOFT_OK;
	if (cpu->int_shadow) {
		soft_cpu__kick(cpu);
		return SOFT_OK;
	}
	v = lapic__accept(cpu->lapic);
	if (v < 0)
		return SOFT_OK;
	ret = soft_except__deliver_event(cpu, v, false);
	/* a trap gate leaves IF set: the next one may be deliverable too */
	soft_cpu__kick(cpu);
	return ret;
}

/* Would a HLT end now? */
bool soft_sys__wake_pending(struct soft_cpu *cpu)
{
	if (!cpu->lapic)
		return false;
	if (!cpu->nmi_blocked && lapic__nmi_pending(cpu->lapic))
		return true;
	return (cpu->rflags & SOFT_FL_IF) && lapic__pending_vector(cpu->lapic) >= 0;
}

/* TF: the run loop has no per-instruction debug check, so while TF is set
 * the events hook keeps itself scheduled at every boundary; the trap of the
 * previous instruction goes before external interrupts, as on hardware. */
static int single_step(struct soft_cpu *cpu, struct soft_sys_cpu *sc)
{
	int ret;

	if (sc->tf_pending) {
		sc->tf_pending = false;
		cpu->dr[6] |= 1ull << 14;   /* BS */
		ret = soft_except__deliver_event(cpu, SOFT_EXC_DB, false);
		if (ret != SOFT_OK)
			return ret;
	}
	if (cpu->rflags & SOFT_FL_TF) {
		sc->tf_pending = true;
		soft_cpu__kick(cpu);
	}
	return SOFT_OK;
}

static int hook_events(struct soft_cpu *cpu)
{
	struct soft_sys_cpu *sc = cpu->sys;
	int ret;

	if (sc) {
		if (sc->shutdown || cpu->wait_for_sipi || atomic_load(&sc->init_pending))
			return SOFT_EXIT;
		if (sc->tf_pending || (cpu->rflags & SOFT_FL_TF)) {
			ret = single_step(cpu, sc);
			if (ret != SOFT_OK)
				return ret;
		}
	}
	return soft_sys__check_interrupts(cpu);
}

void soft_system__install_hooks(struct soft_vm *svm)
{
	svm->hooks.deliver_exception = soft_except__deliver_hook;
	svm->hooks.events = hook_events;
	svm->hooks.io_allowed = hook_io_allowed;
	svm->hooks.popf = hook_popf;
	svm->hooks.lapic_mmio = hook_lapic_mmio;
}

void soft_system__register_handlers(struct soft_vm *svm)
{
	soft_exec__register(svm, ZYDIS_MNEMONIC_CLI, h_cli_sti);
	soft_exec__register(svm, ZYDIS_MNEMONIC_STI, h_cli_sti);
	soft_exec__register(svm, ZYDIS_MNEMONIC_HLT, h_hlt);
	soft_exec__register(svm, ZYDIS_MNEMONIC_INVLPG, h_invlpg);
	soft_exec__register(svm, ZYDIS_MNEMONIC_WBINVD, h_priv_nop);
	soft_exec__register(svm, ZYDIS_MNEMONIC_INVD, h_priv_nop);
	soft_exec__register(svm, ZYDIS_MNEMONIC_RDTSC, h_rdtsc);
	soft_exec__register(svm, ZYDIS_MNEMONIC_RDTSCP, h_rdtsc);
	soft_exec__register(svm, ZYDIS_MNEMONIC_RDPID, h_rdpid);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CPUID, h_cpuid);
	soft_exec__register(svm, ZYDIS_MNEMONIC_UD0, h_ud);
	soft_exec__register(svm, ZYDIS_MNEMONIC_UD1, h_ud);
	soft_exec__register(svm, ZYDIS_MNEMONIC_UD2, h_ud);
	soft_seg__register(svm);
	soft_modes__register(svm);
	soft_intr__register(svm);
	soft_msr__register(svm);
}
