#ifndef VIREO_ACCEL_KVM_INTERNAL_H
#define VIREO_ACCEL_KVM_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "accel/x86_state.h"

struct vm;
struct vcpu;
struct kvm_run;

#define KVM_KICK_SIGNAL SIGUSR1
#define IOAPIC_PINS 24

struct kvm_vm {
	int sys_fd;
	int vm_fd;
	int run_size;
	bool immediate_exit;
};

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;
	atomic_bool started;
};

int kvm__map_memory(struct vm *vm, struct kvm_vm *kvm);
int kvm__setup_cpuid(struct vcpu *vcpu);
int kvm__setup_msrs(struct vcpu *vcpu);
int kvm__setup_lapic(struct vcpu *vcpu);
int kvm__setup_fpu(struct vcpu *vcpu);
int kvm__set_state(struct vcpu *vcpu, const struct x86_regs *regs, const struct x86_sregs *sregs);
int kvm__get_state(struct vcpu *vcpu, struct x86_regs *regs, struct x86_sregs *sregs);

#endif
