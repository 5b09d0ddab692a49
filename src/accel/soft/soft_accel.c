/* soft_accel_ops: the software x86-64 CPU behind the accel_ops contract.
 *
 * One host thread per vCPU (vm__run starts them; vcpu_run is the loop):
 * the guest's spinlocks and IPIs need its CPUs to make progress at the
 * same time, and with real host threads they do without the interpreter
 * needing preemption points inside guest spin loops (a round-robin
 * scheduler would).  Guest atomics are host atomics on shared guest RAM,
 * so the threads need no lock of their own around guest memory.
 *
 * A vCPU blocks (never spins) while halted or waiting for a SIPI, on its
 * own mutex/condvar pair; the irqchip's wake hook, INIT/SIPI hooks and
 * vcpu_kick signal it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "accel/accel.h"
#include "accel/soft/irqchip/irqchip.h"
#include "accel/soft/sys.h"
#include "accel/x86_dump.h"
#include "util/log.h"
#include "vm/vm.h"

/* Instructions per soft_exec__run call: long enough to amortise the call,
 * short enough that nothing waits long for an outer-loop check. */
#define RUN_SLICE 200000
/* MTRRdefType as firmware leaves it: MTRRs enabled, default write-back. */
#define MTRR_DEF_TYPE_BOOT 0x806

static struct soft_vm *to_svm(struct vm *vm)
{
	return vm->accel_data;
}

/* ---- LAPIC hooks (any thread) ------------------------------------------ */

static void wake(struct soft_sys_cpu *sc)
{
	pthread_mutex_lock(&sc->lock);
	sc->woken = true;
	pthread_cond_signal(&sc->cond);
	pthread_mutex_unlock(&sc->lock);
	soft_cpu__kick(sc->cpu);
}

static void hook_wake(void *opaque)
{
	wake(opaque);
}

static void hook_init(void *opaque)
{
	struct soft_sys_cpu *sc = opaque;

	atomic_store(&sc->sipi_vector, -1);
	atomic_store(&sc->init_pending, true);
	wake(sc);
}

static void hook_sipi(void *opaque, uint8_t vector)
{
	struct soft_sys_cpu *sc = opaque;
	int none = -1;

	/* INIT-SIPI may arrive back to back, before this vCPU's thread has
	 * applied the INIT: a pending INIT counts as wait-for-SIPI. */
	if (!atomic_load(&sc->init_pending) && !sc->cpu->wait_for_sipi)
		return;
	atomic_compare_exchange_strong(&sc->sipi_vector, &none, vector);
	wake(sc);
}

static const struct lapic_cpu_hooks cpu_hooks = {
	.wake = hook_wake,
	.init = hook_init,
	.sipi = hook_sipi,
};

/* ---- VM ------------------------------------------------------------------ */

static void free_sys_cpu(struct soft_sys_cpu *sc)
{
	if (!sc)
		return;
	soft_cpu__destroy(sc->cpu);
	pthread_mutex_destroy(&sc->lock);
	pthread_cond_destroy(&sc->cond);
	free(sc);
}

static void soft_vm_destroy(struct vm *vm)
{
	struct soft_vm *svm = to_svm(vm);

	struct soft_sys_vm *sv;

	if (!svm)
		return;
	sv = svm->sys;
	soft_irqchip__destroy(svm->irqchip);
	svm->irqchip = NULL;
	for (unsigned i = 0; sv && i < sizeof(sv->cpus) / sizeof(sv->cpus[0]); i++)
		free_sys_cpu(sv->cpus[i]);
	free(sv);
	soft_vm__destroy(svm);
	vm->accel_data = NULL;
}

static int soft_vm_init(struct vm *vm)
{
	struct soft_sys_vm *sv;
	struct soft_vm *svm;
	int ret;

	ret = soft_vm__create(vm, &svm);
	if (ret)
		return ret;
	vm->accel_data = svm;
	sv = calloc(1, sizeof(*sv));
	if (!sv) {
		ret = -ENOMEM;
		goto err;
	}
	sv->tsc_base_ns = soft_sys__host_ns();
	svm->sys = sv;
	ret = soft_irqchip__create(vm, vm->nr_cpus, &svm->irqchip);
	if (ret) {
		pr_err("soft: cannot create the interrupt controllers: %d", ret);
		goto err;
	}
	soft_system__install_hooks(svm);
	soft_fpu__register_handlers(svm);
	soft_system__register_handlers(svm);
	return 0;
err:
	soft_vm_destroy(vm);
	return ret;
}

static int soft_irq_line(struct vm *vm, unsigned gsi, int level)
{
	struct soft_vm *svm = to_svm(vm);

	if (!svm || !svm->irqchip)
		return -ENODEV;
	return soft_irqchip__set_irq(svm->irqchip, gsi, level);
}

static int soft_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct soft_vm *svm = to_svm(vm);

	if (!svm || !svm->irqchip)
		return -ENODEV;
	return soft_irqchip__signal_msi(svm->irqchip, addr, data);
}

/* ---- vCPU ---------------------------------------------------------------- */

static void cpu_power_on(struct soft_cpu *cpu)
{
	cpu->mtrr_def_type = MTRR_DEF_TYPE_BOOT;
	if (cpu->lapic)
		cpu->apic_base = lapic__get_base(cpu->lapic);
}

static int soft_vcpu_init(struct vcpu *vcpu)
{
	struct soft_vm *svm = to_svm(vcpu->vm);
	struct soft_sys_vm *sv = svm->sys;
	struct soft_sys_cpu *sc;
	struct soft_cpu *cpu;
	int ret;

	if (vcpu->id < 0 || (size_t)vcpu->id >= sizeof(sv->cpus) / sizeof(sv->cpus[0]) ||
	    sv->cpus[vcpu->id])
		return -EINVAL;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	ret = soft_cpu__create(svm, vcpu->id, &cpu);
	if (ret) {
		free(sc);
		return ret;
	}
	pthread_mutex_init(&sc->lock, NULL);
	pthread_cond_init(&sc->cond, NULL);
	atomic_init(&sc->sipi_vector, -1);
	sc->cpu = cpu;
	sc->vcpu = vcpu;
	cpu->sys = sc;
	cpu->lapic = svm->irqchip ? soft_irqchip__lapic(svm->irqchip, vcpu->id) : NULL;
	cpu_power_on(cpu);
	cpu->wait_for_sipi = vcpu->id != 0;
	if (cpu->lapic)
		lapic__set_cpu_hooks(cpu->lapic, &cpu_hooks, sc);
	sv->cpus[vcpu->id] = sc;
	vcpu->accel_data = cpu;
	return 0;
}

/* The vCPU stops being used here; its memory goes with the VM (see
 * soft_vm_destroy). */
static void soft_vcpu_destroy(struct vcpu *vcpu)
{
	struct soft_cpu *cpu = vcpu->accel_data;

	if (!cpu)
		return;
	if (cpu->lapic)
		lapic__set_cpu_hooks(cpu->lapic, NULL, NULL);
	vcpu->accel_data = NULL;
}

static void soft_vcpu_kick(struct vcpu *vcpu)
{
	struct soft_cpu *cpu = vcpu->accel_data;

	if (cpu && cpu->sys)
		wake(cpu->sys);
}

static bool wait_done_sipi(struct soft_cpu *cpu)
{
	struct soft_sys_cpu *sc = cpu->sys;

	return atomic_load(&sc->init_pending) || atomic_load(&sc->sipi_vector) >= 0;
}

static bool wait_done_hlt(struct soft_cpu *cpu)
{
	struct soft_sys_cpu *sc = cpu->sys;

	return atomic_load(&sc->init_pending) || soft_sys__wake_pending(cpu);
}

static bool wait_done_never(struct soft_cpu *cpu)
{
	return false;
}

static void wait_for(struct soft_cpu *cpu, bool (*done)(struct soft_cpu *))
{
	struct soft_sys_cpu *sc = cpu->sys;

	pthread_mutex_lock(&sc->lock);
	while (!sc->woken && !vm__stopping(cpu->vm) && !done(cpu))
		pthread_cond_wait(&sc->cond, &sc->lock);
	sc->woken = false;
	pthread_mutex_unlock(&sc->lock);
}

static void apply_init(struct soft_cpu *cpu)
{
	soft_cpu__reset(cpu);
	cpu_power_on(cpu);
	cpu->wait_for_sipi = true;
}

/* SIPI: real mode at vector:0000, i.e. CS.base = vector << 12. */
static void apply_sipi(struct soft_cpu *cpu, int vector)
{
	struct soft_seg *cs = &cpu->seg[SOFT_CS];

	cs->sel = (uint16_t)(vector << 8);
	cs->base = (uint64_t)vector << 12;
	cs->limit = 0xffff;
	cpu->rip = 0;
	cpu->wait_for_sipi = false;
	cpu->halted = false;
	soft_cpu__update_mode(cpu);
}

static void fatal_stop(struct soft_cpu *cpu, const char *why)
{
	struct x86_regs r;
	struct x86_sregs s;

	soft_sys__get_state(cpu, &r, &s);
	fprintf(stderr, "vireo: soft vCPU %d: %s\n", cpu->id, why);
	x86_dump_state(stderr, &r, &s);
	vm__request_stop(cpu->vm, VM_STOP_INTERNAL, VM_EXIT_GUEST_CRASH);
}

static int soft_vcpu_run(struct vcpu *vcpu)
{
	struct soft_cpu *cpu = vcpu->accel_data;
	struct soft_sys_cpu *sc = cpu->sys;
	struct vm *vm = vcpu->vm;

	while (!vm__stopping(vm)) {
		int r, v;

		if (atomic_exchange(&sc->init_pending, false))
			apply_init(cpu);
		if (sc->shutdown) {
			wait_for(cpu, wait_done_never);
			continue;
		}
		if (cpu->wait_for_sipi) {
			v = atomic_exchange(&sc->sipi_vector, -1);
			if (v >= 0)
				apply_sipi(cpu, v);
			else
				wait_for(cpu, wait_done_sipi);
			continue;
		}
		if (cpu->halted) {
			if (!soft_sys__wake_pending(cpu)) {
				wait_for(cpu, wait_done_hlt);
				continue;
			}
			if (soft_sys__check_interrupts(cpu) != SOFT_OK || cpu->halted)
				continue;
		}
		r = soft_exec__run(cpu, RUN_SLICE);
		if (r == SOFT_RUN_FATAL) {
			fatal_stop(cpu, "cannot continue (instruction fetch outside RAM?)");
			return -EFAULT;
		}
		if (r == SOFT_RUN_EXCEPTION) {
			fatal_stop(cpu, "exception with no delivery hook");
			return -EFAULT;
		}
	}
	return 0;
}

/* ---- state conversion ------------------------------------------------------ */

static void seg_to_soft(struct soft_seg *d, const struct x86_segment *s)
{
	d->base = s->base;
	d->limit = s->limit;
	d->sel = s->selector;
	d->type = s->type;
	d->s = s->s;
	d->dpl = s->dpl;
	d->present = s->present;
	d->db = s->db;
	d->l = s->l;
	d->g = s->g;
	d->avl = s->avl;
	d->unusable = s->unusable;
}

static void seg_from_soft(struct x86_segment *d, const struct soft_seg *s)
{
	d->base = s->base;
	d->limit = s->limit;
	d->selector = s->sel;
	d->type = s->type;
	d->s = s->s;
	d->dpl = s->dpl;
	d->present = s->present;
	d->db = s->db;
	d->l = s->l;
	d->g = s->g;
	d->avl = s->avl;
	d->unusable = s->unusable;
}

void soft_sys__get_state(struct soft_cpu *cpu, struct x86_regs *r, struct x86_sregs *s)
{
	r->rax = cpu->gpr[SOFT_RAX]; r->rbx = cpu->gpr[SOFT_RBX];
	r->rcx = cpu->gpr[SOFT_RCX]; r->rdx = cpu->gpr[SOFT_RDX];
	r->rsi = cpu->gpr[SOFT_RSI]; r->rdi = cpu->gpr[SOFT_RDI];
	r->rsp = cpu->gpr[SOFT_RSP]; r->rbp = cpu->gpr[SOFT_RBP];
	r->r8 = cpu->gpr[SOFT_R8];   r->r9 = cpu->gpr[SOFT_R9];
	r->r10 = cpu->gpr[SOFT_R10]; r->r11 = cpu->gpr[SOFT_R11];
	r->r12 = cpu->gpr[SOFT_R12]; r->r13 = cpu->gpr[SOFT_R13];
	r->r14 = cpu->gpr[SOFT_R14]; r->r15 = cpu->gpr[SOFT_R15];
	r->rip = cpu->rip;
	r->rflags = soft_flags__get(cpu);
	seg_from_soft(&s->cs, &cpu->seg[SOFT_CS]);
	seg_from_soft(&s->ds, &cpu->seg[SOFT_DS]);
	seg_from_soft(&s->es, &cpu->seg[SOFT_ES]);
	seg_from_soft(&s->fs, &cpu->seg[SOFT_FS]);
	seg_from_soft(&s->gs, &cpu->seg[SOFT_GS]);
	seg_from_soft(&s->ss, &cpu->seg[SOFT_SS]);
	seg_from_soft(&s->tr, &cpu->seg[SOFT_TR]);
	seg_from_soft(&s->ldt, &cpu->seg[SOFT_LDTR]);
	s->gdt.base = cpu->gdtr.base;
	s->gdt.limit = cpu->gdtr.limit;
	s->idt.base = cpu->idtr.base;
	s->idt.limit = cpu->idtr.limit;
	s->cr0 = cpu->cr0; s->cr2 = cpu->cr2; s->cr3 = cpu->cr3; s->cr4 = cpu->cr4;
	s->cr8 = cpu->lapic ? lapic__get_tpr(cpu->lapic) : cpu->cr8;
	s->efer = cpu->efer;
	s->apic_base = cpu->lapic ? lapic__get_base(cpu->lapic) : cpu->apic_base;
}

int soft_sys__set_state(struct soft_cpu *cpu, const struct x86_regs *r,
			const struct x86_sregs *s)
{
	if (r) {
		cpu->gpr[SOFT_RAX] = r->rax; cpu->gpr[SOFT_RBX] = r->rbx;
		cpu->gpr[SOFT_RCX] = r->rcx; cpu->gpr[SOFT_RDX] = r->rdx;
		cpu->gpr[SOFT_RSI] = r->rsi; cpu->gpr[SOFT_RDI] = r->rdi;
		cpu->gpr[SOFT_RSP] = r->rsp; cpu->gpr[SOFT_RBP] = r->rbp;
		cpu->gpr[SOFT_R8] = r->r8;   cpu->gpr[SOFT_R9] = r->r9;
		cpu->gpr[SOFT_R10] = r->r10; cpu->gpr[SOFT_R11] = r->r11;
		cpu->gpr[SOFT_R12] = r->r12; cpu->gpr[SOFT_R13] = r->r13;
		cpu->gpr[SOFT_R14] = r->r14; cpu->gpr[SOFT_R15] = r->r15;
		cpu->rip = r->rip;
		soft_flags__set(cpu, r->rflags);
	}
	if (s) {
		seg_to_soft(&cpu->seg[SOFT_CS], &s->cs);
		seg_to_soft(&cpu->seg[SOFT_DS], &s->ds);
		seg_to_soft(&cpu->seg[SOFT_ES], &s->es);
		seg_to_soft(&cpu->seg[SOFT_FS], &s->fs);
		seg_to_soft(&cpu->seg[SOFT_GS], &s->gs);
		seg_to_soft(&cpu->seg[SOFT_SS], &s->ss);
		seg_to_soft(&cpu->seg[SOFT_TR], &s->tr);
		seg_to_soft(&cpu->seg[SOFT_LDTR], &s->ldt);
		cpu->gdtr.base = s->gdt.base;
		cpu->gdtr.limit = s->gdt.limit;
		cpu->idtr.base = s->idt.base;
		cpu->idtr.limit = s->idt.limit;
		cpu->cr0 = s->cr0 | X86_CR0_ET;
		cpu->cr2 = s->cr2;
		cpu->cr3 = s->cr3;
		cpu->cr4 = s->cr4;
		cpu->efer = s->efer;
		cpu->cr8 = s->cr8 & 0xf;
		if (cpu->lapic) {
			lapic__set_tpr(cpu->lapic, (uint8_t)cpu->cr8);
			if (s->apic_base && s->apic_base != lapic__get_base(cpu->lapic) &&
			    lapic__set_base(cpu->lapic, s->apic_base))
				return -EINVAL;
			cpu->apic_base = lapic__get_base(cpu->lapic);
		} else if (s->apic_base) {
			cpu->apic_base = s->apic_base;
		}
		soft_tlb__flush(cpu, true);
	}
	cpu->halted = false;
	cpu->wait_for_sipi = false;
	cpu->exc.vector = -1;
	soft_cpu__update_mode(cpu);
	return 0;
}

static int soft_vcpu_set_state(struct vcpu *vcpu, const struct x86_regs *regs,
			       const struct x86_sregs *sregs)
{
	struct soft_cpu *cpu = vcpu->accel_data;

	if (!cpu)
		return -ENODEV;
	return soft_sys__set_state(cpu, regs, sregs);
}

static int soft_vcpu_get_state(struct vcpu *vcpu, struct x86_regs *regs,
			       struct x86_sregs *sregs)
{
	struct soft_cpu *cpu = vcpu->accel_data;
	struct x86_regs r;
	struct x86_sregs s;

	if (!cpu)
		return -ENODEV;
	soft_sys__get_state(cpu, &r, &s);
	if (regs)
		*regs = r;
	if (sregs)
		*sregs = s;
	return 0;
}

const struct accel_ops soft_accel_ops = {
	.name = "soft",
	.vm_init = soft_vm_init,
	.vm_destroy = soft_vm_destroy,
	.vcpu_init = soft_vcpu_init,
	.vcpu_destroy = soft_vcpu_destroy,
	.vcpu_set_state = soft_vcpu_set_state,
	.vcpu_get_state = soft_vcpu_get_state,
	.vcpu_run = soft_vcpu_run,
	.vcpu_kick = soft_vcpu_kick,
	.irq_line = soft_irq_line,
	.signal_msi = soft_signal_msi,
	.guest_ram_written = soft_code__invalidate_range,
};
