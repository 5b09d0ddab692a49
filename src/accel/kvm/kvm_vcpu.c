/* Per-vCPU set-up for KVM: CPUID, MSRs, LAPIC LVTs, FPU, and conversion
 * between the backend-neutral register structs and KVM's. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accel/kvm/kvm_internal.h"
#include "util/log.h"
#include "vm/vm.h"

int kvm__map_memory(struct vm *vm, struct kvm_vm *kvm)
{
	struct kvm_userspace_memory_region low = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->lowmem_size,
		.userspace_addr = (uintptr_t)vm->ram,
	};
	struct kvm_userspace_memory_region high = {
		.slot = 1,
		.guest_phys_addr = VM_HIGHMEM_BASE,
		.memory_size = vm->highmem_size,
		.userspace_addr = (uintptr_t)(vm->ram + vm->lowmem_size),
	};

	if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &low) < 0) {
		pr_err("KVM_SET_USER_MEMORY_REGION (low RAM): %s", strerror(errno));
		return -errno;
	}
	if (vm->highmem_size && ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &high) < 0) {
		pr_err("KVM_SET_USER_MEMORY_REGION (high RAM): %s", strerror(errno));
		return -errno;
	}
	return 0;
}

#define CPUID_MAX_ENTRIES 256
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_ECX_MONITOR    (1u << 3)

int kvm__setup_cpuid(struct vcpu *vcpu)
{
	struct kvm_vm *kvm = vcpu->vm->accel_data;
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_cpuid2 *cpuid;
	int ret = 0;

	cpuid = calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm->sys_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		ret = -errno;
		pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 1:
			/* Initial APIC ID, logical processor count, and the
			 * hypervisor bit; we have no MONITOR/MWAIT model. */
			e->ebx = (e->ebx & 0x0000ffff) | ((uint32_t)vcpu->id << 24) |
				 ((uint32_t)(vcpu->vm->nr_cpus & 0xff) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			e->ecx &= ~CPUID_1_ECX_MONITOR;
			if (vcpu->vm->nr_cpus > 1)
				e->edx |= 1u << 28; /* HTT: EBX[23:16] is valid */
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC topology: one thread per core, one core per vCPU. */
			e->edx = (uint32_t)vcpu->id;
			break;
		case 0xa:
			/* No guest PMU: we do not virtualise perf counters. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		default:
			break;
		}
	}
	if (ioctl(kv->fd, KVM_SET_CPUID2, cpuid) < 0) {
		ret = -errno;
		pr_err("KVM_SET_CPUID2: %s", strerror(errno));
	}
out:
	free(cpuid);
	return ret;
}

#define MSR_IA32_SYSENTER_CS     0x174
#define MSR_IA32_SYSENTER_ESP    0x175
#define MSR_IA32_SYSENTER_EIP    0x176
#define MSR_STAR                 0xc0000081
#define MSR_LSTAR                0xc0000082
#define MSR_CSTAR                0xc0000083
#define MSR_SYSCALL_MASK         0xc0000084
#define MSR_KERNEL_GS_BASE       0xc0000102
#define MSR_IA32_TSC             0x10
#define MSR_IA32_MISC_ENABLE     0x1a0
#define MSR_MTRR_DEF_TYPE        0x2ff
#define MISC_ENABLE_FAST_STRING  1ull
#define MTRR_ENABLE_WB           ((1ull << 11) | 6)

int kvm__setup_msrs(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	static const struct { uint32_t index; uint64_t value; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 }, { MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		/* Without MTRRs enabled Linux maps all RAM uncached. */
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE_WB },
	};
	const size_t n = sizeof(init) / sizeof(init[0]);
	struct kvm_msrs *msrs;
	int ret;

	/* kvm_msrs ends in a flexible array: allocate it with its entries. */
	msrs = calloc(1, sizeof(*msrs) + n * sizeof(msrs->entries[0]));
	if (!msrs)
		return -ENOMEM;
	msrs->nmsrs = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		msrs->entries[i].index = init[i].index;
		msrs->entries[i].data = init[i].value;
	}
	ret = ioctl(kv->fd, KVM_SET_MSRS, msrs);
	if (ret < 0)
		ret = -errno;
	free(msrs);
	if (ret < 0) {
		pr_err("KVM_SET_MSRS: %s", strerror(-ret));
		return ret;
	}
	if ((size_t)ret != n)
		pr_debug("vCPU %d: KVM accepted %d of %zu boot MSRs", vcpu->id, ret, n);
	return 0;
}

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static void lapic_set_lvt_mode(struct kvm_lapic_state *l, unsigned reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, 4);
}

int kvm__setup_lapic(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_lapic_state l;

	/* Virtual-wire mode: the 8259 reaches the BSP through LINT0 until the
	 * guest switches to the IOAPIC, NMIs arrive on LINT1. */
	if (ioctl(kv->fd, KVM_GET_LAPIC, &l) < 0) {
		pr_err("KVM_GET_LAPIC: %s", strerror(errno));
		return -errno;
	}
	lapic_set_lvt_mode(&l, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_lvt_mode(&l, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(kv->fd, KVM_SET_LAPIC, &l) < 0) {
		pr_err("KVM_SET_LAPIC: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int kvm__setup_fpu(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(kv->fd, KVM_SET_FPU, &fpu) < 0) {
		pr_err("KVM_SET_FPU: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void seg_to_kvm(struct kvm_segment *k, const struct x86_segment *s)
{
	*k = (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->type, .present = s->present, .dpl = s->dpl, .db = s->db,
		.s = s->s, .l = s->l, .g = s->g, .avl = s->avl, .unusable = s->unusable,
	};
}

static void seg_from_kvm(struct x86_segment *s, const struct kvm_segment *k)
{
	*s = (struct x86_segment){
		.base = k->base, .limit = k->limit, .selector = k->selector,
		.type = k->type, .present = k->present, .dpl = k->dpl, .db = k->db,
		.s = k->s, .l = k->l, .g = k->g, .avl = k->avl, .unusable = k->unusable,
	};
}

int kvm__set_state(struct vcpu *vcpu, const struct x86_regs *r, const struct x86_sregs *s)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_regs kr = {
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx,
		.rsi = r->rsi, .rdi = r->rdi, .rsp = r->rsp, .rbp = r->rbp,
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
		.rip = r->rip, .rflags = r->rflags,
	};
	struct kvm_sregs ks;

	if (s) {
		/* Start from KVM's view to keep fields we do not model
		 * (interrupt bitmap) consistent. */
		if (ioctl(kv->fd, KVM_GET_SREGS, &ks) < 0)
			return -errno;
		seg_to_kvm(&ks.cs, &s->cs);
		seg_to_kvm(&ks.ds, &s->ds);
		seg_to_kvm(&ks.es, &s->es);
		seg_to_kvm(&ks.fs, &s->fs);
		seg_to_kvm(&ks.gs, &s->gs);
		seg_to_kvm(&ks.ss, &s->ss);
		seg_to_kvm(&ks.tr, &s->tr);
		seg_to_kvm(&ks.ldt, &s->ldt);
		ks.gdt.base = s->gdt.base;
		ks.gdt.limit = s->gdt.limit;
		ks.idt.base = s->idt.base;
		ks.idt.limit = s->idt.limit;
		ks.cr0 = s->cr0;
		ks.cr2 = s->cr2;
		ks.cr3 = s->cr3;
		ks.cr4 = s->cr4;
		ks.cr8 = s->cr8;
		ks.efer = s->efer;
		if (s->apic_base)
			ks.apic_base = s->apic_base;
		if (ioctl(kv->fd, KVM_SET_SREGS, &ks) < 0) {
			pr_err("vCPU %d: KVM_SET_SREGS: %s", vcpu->id, strerror(errno));
			return -errno;
		}
	}
	if (ioctl(kv->fd, KVM_SET_REGS, &kr) < 0) {
		pr_err("vCPU %d: KVM_SET_REGS: %s", vcpu->id, strerror(errno));
		return -errno;
	}
	return 0;
}

int kvm__get_state(struct vcpu *vcpu, struct x86_regs *r, struct x86_sregs *s)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_regs kr;
	struct kvm_sregs ks;

	if (ioctl(kv->fd, KVM_GET_REGS, &kr) < 0)
		return -errno;
	*r = (struct x86_regs){
		.rax = kr.rax, .rbx = kr.rbx, .rcx = kr.rcx, .rdx = kr.rdx,
		.rsi = kr.rsi, .rdi = kr.rdi, .rsp = kr.rsp, .rbp = kr.rbp,
		.r8 = kr.r8, .r9 = kr.r9, .r10 = kr.r10, .r11 = kr.r11,
		.r12 = kr.r12, .r13 = kr.r13, .r14 = kr.r14, .r15 = kr.r15,
		.rip = kr.rip, .rflags = kr.rflags,
	};
	if (!s)
		return 0;
	if (ioctl(kv->fd, KVM_GET_SREGS, &ks) < 0)
		return -errno;
	seg_from_kvm(&s->cs, &ks.cs);
	seg_from_kvm(&s->ds, &ks.ds);
	seg_from_kvm(&s->es, &ks.es);
	seg_from_kvm(&s->fs, &ks.fs);
	seg_from_kvm(&s->gs, &ks.gs);
	seg_from_kvm(&s->ss, &ks.ss);
	seg_from_kvm(&s->tr, &ks.tr);
	seg_from_kvm(&s->ldt, &ks.ldt);
	s->gdt = (struct x86_dtable){ ks.gdt.base, ks.gdt.limit };
	s->idt = (struct x86_dtable){ ks.idt.base, ks.idt.limit };
	s->cr0 = ks.cr0;
	s->cr2 = ks.cr2;
	s->cr3 = ks.cr3;
	s->cr4 = ks.cr4;
	s->cr8 = ks.cr8;
	s->efer = ks.efer;
	s->apic_base = ks.apic_base;
	return 0;
}
