/* KVM backend.  One VM fd, one vCPU fd + kvm_run mapping per vCPU, the
 * in-kernel irqchip (PIC, IOAPIC, LAPICs) and PIT, so interrupts and timers
 * never leave the kernel.  Port I/O and MMIO exits go to the vm buses. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/kvm/kvm_internal.h"
#include "accel/x86_dump.h"
#include "util/log.h"
#include "vm/vm.h"

/* Addresses KVM on Intel needs for its real-mode TSS and identity map; they
 * sit in the 32-bit hole just below the BIOS area, away from RAM. */
#define KVM_TSS_ADDR         0xFFFBD000ull
#define KVM_IDENTITY_MAP     0xFFFBC000ull

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return -EINTR */
}

/* The MP table and MADT give the IOAPIC the first ID after the CPUs; make
 * the in-kernel IOAPIC's ID register agree. */
static int set_ioapic_id(struct kvm_vm *kvm, int id)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	if (ioctl(kvm->vm_fd, KVM_GET_IRQCHIP, &chip) < 0) {
		pr_err("KVM_GET_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	chip.chip.ioapic.id = (uint8_t)id;
	if (ioctl(kvm->vm_fd, KVM_SET_IRQCHIP, &chip) < 0) {
		pr_err("KVM_SET_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int kvm_vm_init(struct vm *vm)
{
	struct kvm_vm *kvm;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct sigaction sa = { .sa_handler = kick_handler };
	int ret;

	kvm = calloc(1, sizeof(*kvm));
	if (!kvm)
		return -ENOMEM;
	kvm->sys_fd = kvm->vm_fd = -1;
	vm->accel_data = kvm;

	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		ret = -errno;
		pr_err("/dev/kvm: %s", strerror(errno));
		goto err;
	}
	if (ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		ret = -EPROTO;
		pr_err("/dev/kvm: unsupported KVM API version");
		goto err;
	}
	kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0) {
		ret = -errno;
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		goto err;
	}
	kvm->run_size = ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run)) {
		ret = -EPROTO;
		pr_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto err;
	}
	kvm->immediate_exit = ioctl(kvm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0;

	/* Only meaningful on VMX; other implementations may refuse: harmless. */
	if (ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		pr_debug("KVM_SET_TSS_ADDR: %s (ignored)", strerror(errno));
	{
		uint64_t idmap = KVM_IDENTITY_MAP;
		if (ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
			pr_debug("KVM_SET_IDENTITY_MAP_ADDR: %s (ignored)", strerror(errno));
	}

	ret = kvm__map_memory(vm, kvm);
	if (ret)
		goto err;

	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		ret = -errno;
		pr_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		goto err;
	}
	ret = set_ioapic_id(kvm, vm->nr_cpus);
	if (ret)
		goto err;
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		ret = -errno;
		pr_err("KVM_CREATE_PIT2: %s", strerror(errno));
		goto err;
	}

	sigemptyset(&sa.sa_mask);
	sigaction(KVM_KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: KVM_RUN must return */
	return 0;
err:
	vm->accel_data = NULL;
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	free(kvm);
	return ret;
}

static void kvm_vm_destroy(struct vm *vm)
{
	struct kvm_vm *kvm = vm->accel_data;

	if (!kvm)
		return;
	close(kvm->vm_fd);
	close(kvm->sys_fd);
	free(kvm);
	vm->accel_data = NULL;
}

static int kvm_vcpu_init(struct vcpu *vcpu)
{
	struct kvm_vm *kvm = vcpu->vm->accel_data;
	struct kvm_vcpu *kv;
	int ret;

	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	kv->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)vcpu->id);
	if (kv->fd < 0) {
		ret = -errno;
		pr_err("KVM_CREATE_VCPU %d: %s", vcpu->id, strerror(errno));
		goto err_free;
	}
	kv->run = mmap(NULL, kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
	if (kv->run == MAP_FAILED) {
		ret = -errno;
		pr_err("mmap kvm_run: %s", strerror(errno));
		goto err_close;
	}
	vcpu->accel_data = kv;
	ret = kvm__setup_cpuid(vcpu);
	if (ret)
		goto err_unmap;
	ret = kvm__setup_msrs(vcpu);
	if (ret)
		goto err_unmap;
	ret = kvm__setup_lapic(vcpu);
	if (ret)
		goto err_unmap;
	ret = kvm__setup_fpu(vcpu);
	if (ret)
		goto err_unmap;
	return 0;
err_unmap:
	vcpu->accel_data = NULL;
	munmap(kv->run, kvm->run_size);
err_close:
	close(kv->fd);
err_free:
	free(kv);
	return ret;
}

static void kvm_vcpu_destroy(struct vcpu *vcpu)
{
	struct kvm_vm *kvm = vcpu->vm->accel_data;
	struct kvm_vcpu *kv = vcpu->accel_data;

	if (!kv)
		return;
	munmap(kv->run, kvm->run_size);
	close(kv->fd);
	free(kv);
	vcpu->accel_data = NULL;
}

static void dump_vcpu(struct vcpu *vcpu)
{
	struct x86_regs r;
	struct x86_sregs s;

	if (kvm__get_state(vcpu, &r, &s) == 0)
		fprintf(stderr, "vCPU %d registers:\n", vcpu->id), x86_dump_state(stderr, &r, &s);
}

static void handle_io(struct vcpu *vcpu, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	struct bus *pio = &vcpu->vm->pio;

	/* data_offset/size/count come from the kernel, not the guest, and
	 * describe a buffer inside the kvm_run page. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			if (!bus__write(pio, run->io.port, data, run->io.size))
				guest_err("write to unmapped port 0x%x", run->io.port);
		} else {
			bus__read(pio, run->io.port, data, run->io.size);
		}
	}
}

static void handle_mmio(struct vcpu *vcpu, struct kvm_run *run)
{
	struct bus *mmio = &vcpu->vm->mmio;
	unsigned len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	if (run->mmio.is_write) {
		if (!bus__write(mmio, run->mmio.phys_addr, run->mmio.data, len))
			guest_err("write to unmapped MMIO 0x%llx", (unsigned long long)run->mmio.phys_addr);
	} else {
		bus__read(mmio, run->mmio.phys_addr, run->mmio.data, len);
	}
}

static int kvm_vcpu_run(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;
	struct kvm_run *run = kv->run;
	struct vm *vm = vcpu->vm;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, KVM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	atomic_store(&kv->started, true);

	while (!vm__stopping(vm)) {
		if (ioctl(kv->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				run->immediate_exit = 0;
				continue;
			}
			pr_err("vCPU %d: KVM_RUN: %s", vcpu->id, strerror(errno));
			vm__request_stop(vm, VM_STOP_INTERNAL, VM_EXIT_GUEST_CRASH);
			return -errno;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(vcpu, run);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(vcpu, run);
			break;
		case KVM_EXIT_INTR:
		case KVM_EXIT_HLT:
			break;
		case KVM_EXIT_SHUTDOWN:
			if (vm__stopping(vm))
				break;
			fprintf(stderr, "vireo: vCPU %d: triple fault, guest shut down\n", vcpu->id);
			dump_vcpu(vcpu);
			vm__request_stop(vm, VM_STOP_TRIPLE_FAULT, VM_EXIT_GUEST_CRASH);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				vm__request_stop(vm, VM_STOP_RESET, VM_EXIT_OK);
			else
				vm__request_stop(vm, VM_STOP_POWEROFF, VM_EXIT_OK);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			fprintf(stderr, "vireo: vCPU %d: KVM entry failed, reason 0x%llx\n", vcpu->id,
				(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			dump_vcpu(vcpu);
			vm__request_stop(vm, VM_STOP_INTERNAL, VM_EXIT_GUEST_CRASH);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			fprintf(stderr, "vireo: vCPU %d: KVM internal error, suberror %u%s\n", vcpu->id,
				run->internal.suberror,
				run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
				" (instruction emulation failed)" : "");
			dump_vcpu(vcpu);
			vm__request_stop(vm, VM_STOP_INTERNAL, VM_EXIT_GUEST_CRASH);
			break;
		default:
			fprintf(stderr, "vireo: vCPU %d: unexpected KVM exit %u\n", vcpu->id,
				run->exit_reason);
			dump_vcpu(vcpu);
			vm__request_stop(vm, VM_STOP_INTERNAL, VM_EXIT_GUEST_CRASH);
			break;
		}
	}
	return 0;
}

static void kvm_vcpu_kick(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = vcpu->accel_data;

	if (!kv)
		return;
	kv->run->immediate_exit = 1;
	/* Only signal a thread that exists; one that has not started yet
	 * checks vm__stopping() before its first KVM_RUN. */
	if (atomic_load(&kv->started) && !pthread_equal(pthread_self(), vcpu->thread))
		pthread_kill(vcpu->thread, KVM_KICK_SIGNAL);
}

static int kvm_irq_line(struct vm *vm, unsigned gsi, int level)
{
	struct kvm_vm *kvm = vm->accel_data;
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };

	if (gsi >= IOAPIC_PINS)
		return -EINVAL;
	if (ioctl(kvm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

static int kvm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_vm *kvm = vm->accel_data;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	/* Returns > 0 when delivered, 0 when the guest masked/blocked it. */
	if (ioctl(kvm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
		return -errno;
	return 0;
}

static int kvm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, int fd, bool assign)
{
	struct kvm_vm *kvm = vm->accel_data;
	struct kvm_ioeventfd ev = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	if (ioctl(kvm->vm_fd, KVM_IOEVENTFD, &ev) < 0)
		return -errno;
	return 0;
}

const struct accel_ops kvm_accel_ops = {
	.name = "kvm",
	.vm_init = kvm_vm_init,
	.vm_destroy = kvm_vm_destroy,
	.vcpu_init = kvm_vcpu_init,
	.vcpu_destroy = kvm_vcpu_destroy,
	.vcpu_set_state = kvm__set_state,
	.vcpu_get_state = kvm__get_state,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.irq_line = kvm_irq_line,
	.signal_msi = kvm_signal_msi,
	.ioeventfd = kvm_ioeventfd,
};
