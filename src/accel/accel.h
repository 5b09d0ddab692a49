/* CPU backends ("accelerators") behind one small ops table, so the machine
 * model, devices and boot code are shared between KVM and the software CPU.
 *
 * Contract:
 *  - vm_init runs once after guest RAM is allocated (vm->ram) and before any
 *    device is created; it sets up the interrupt controllers (in-kernel for
 *    KVM, userspace for soft) with the standard PC wiring: 8259 pair on
 *    GSI 0-15, IOAPIC at 0xFEC00000 with 24 pins, LAPICs at 0xFEE00000,
 *    PIT on IRQ0.
 *  - vcpu_init creates the vCPU; vCPU 0 is runnable, the others wait for
 *    INIT/SIPI like real APs.
 *  - vcpu_run is called on the vCPU's own thread and loops until the VM is
 *    stopping (vm__stopping()); it dispatches port I/O and MMIO exits to
 *    vm->pio / vm->mmio.  Returns 0, or -errno on a fatal backend error
 *    (after calling vm__request_exit with a reason).
 *  - vcpu_kick makes vcpu_run notice vm__stopping() promptly, from any thread.
 *  - irq_line raises/lowers a GSI, from any thread.
 *  - signal_msi delivers one MSI (address/data as the guest programmed them
 *    into an MSI-X table), from any thread.
 *  - guest_ram_written (optional, may be NULL): a device or the VMM wrote
 *    guest RAM [gpa, gpa+len) behind the vCPUs' back (DMA); the soft CPU
 *    drops decoded code for those pages.
 *  - ioeventfd (optional, may be NULL): make guest writes of len bytes to
 *    MMIO address addr signal eventfd fd without a userspace exit.  Callers
 *    fall back to handling the MMIO write themselves when it is NULL or
 *    fails. */
#ifndef VIREO_ACCEL_ACCEL_H
#define VIREO_ACCEL_ACCEL_H

#include <stdbool.h>
#include <stdint.h>

#include "accel/x86_state.h"

struct vm;
struct vcpu;

enum accel_kind { ACCEL_AUTO, ACCEL_KVM, ACCEL_SOFT };

struct accel_ops {
	const char *name;
	int (*vm_init)(struct vm *vm);
	void (*vm_destroy)(struct vm *vm);
	int (*vcpu_init)(struct vcpu *vcpu);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	int (*vcpu_set_state)(struct vcpu *vcpu, const struct x86_regs *regs,
			      const struct x86_sregs *sregs);
	int (*vcpu_get_state)(struct vcpu *vcpu, struct x86_regs *regs,
			      struct x86_sregs *sregs);
	int (*vcpu_run)(struct vcpu *vcpu);
	void (*vcpu_kick)(struct vcpu *vcpu);
	int (*irq_line)(struct vm *vm, unsigned gsi, int level);
	int (*signal_msi)(struct vm *vm, uint64_t addr, uint32_t data);
	int (*ioeventfd)(struct vm *vm, uint64_t addr, unsigned len, int fd, bool assign);
	void (*guest_ram_written)(struct vm *vm, uint64_t gpa, uint64_t len);
};

extern const struct accel_ops kvm_accel_ops;
extern const struct accel_ops soft_accel_ops;

/* What the host can do, for `vireo host` and --accel auto. */
struct host_caps {
	bool kvm_present;      /* /dev/kvm exists */
	bool kvm_usable;       /* opened and KVM_GET_API_VERSION == 12 */
	int kvm_errno;         /* why not usable */
	bool hw_virt;          /* vmx or svm in /proc/cpuinfo */
	bool pvm;              /* kvm_pvm module loaded */
	bool cap_irqchip, cap_ioeventfd, cap_irqfd, cap_user_memory;
	bool cap_pit2, cap_immediate_exit;
	int max_vcpus;
	bool soft_available;   /* software CPU compiled in and working */
};

void accel__probe_host(struct host_caps *caps);
/* Resolve --accel auto; *why receives a static human-readable reason. */
enum accel_kind accel__choose(const struct host_caps *caps, enum accel_kind want,
			      const char **why);
const struct accel_ops *accel__ops(enum accel_kind kind);
const char *accel__name(enum accel_kind kind);

#endif
