#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "accel/accel.h"

static bool cpuinfo_has_flag(const char *flag)
{
	char line[8192];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p;

		if (strncmp(line, "flags", 5))
			continue;
		for (p = strtok(line, " \t\n"); p; p = strtok(NULL, " \t\n"))
			if (!strcmp(p, flag)) {
				found = true;
				break;
			}
		break; /* the first CPU's flags are enough */
	}
	fclose(f);
	return found;
}

void accel__probe_host(struct host_caps *caps)
{
	int fd, ret;

	memset(caps, 0, sizeof(*caps));
	caps->hw_virt = cpuinfo_has_flag("vmx") || cpuinfo_has_flag("svm");
	caps->pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	caps->soft_available = soft_accel_ops.vcpu_run != NULL;
	caps->kvm_present = access("/dev/kvm", F_OK) == 0;
	if (!caps->kvm_present) {
		caps->kvm_errno = ENOENT;
		return;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		caps->kvm_errno = errno;
		return;
	}
	ret = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		caps->kvm_errno = EPROTO;
		goto out_close;
	}
	caps->kvm_usable = true;
	caps->cap_irqchip = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) > 0;
	caps->cap_ioeventfd = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;
	caps->cap_irqfd = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0;
	caps->cap_user_memory = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) > 0;
	caps->cap_pit2 = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) > 0;
	caps->cap_immediate_exit = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0;
	ret = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (ret <= 0)
		ret = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	caps->max_vcpus = ret > 0 ? ret : 4;
out_close:
	close(fd);
}

static bool kvm_complete(const struct host_caps *c)
{
	return c->kvm_usable && c->cap_irqchip && c->cap_user_memory && c->cap_pit2;
}

enum accel_kind accel__choose(const struct host_caps *caps, enum accel_kind want,
			      const char **why)
{
	if (want != ACCEL_AUTO) {
		*why = "requested with --accel";
		return want;
	}
	if (kvm_complete(caps) && caps->hw_virt && !caps->pvm) {
		*why = "/dev/kvm is usable and the CPU has hardware virtualization (VMX/SVM)";
		return ACCEL_KVM;
	}
	if (caps->soft_available) {
		if (!caps->kvm_present)
			*why = "no /dev/kvm on this host";
		else if (!caps->kvm_usable)
			*why = "/dev/kvm cannot be used (see the KVM line above)";
		else if (caps->pvm)
			*why = "KVM here is PVM: it runs only PVM-enabled kernels natively and "
			       "emulates everything else too slowly to boot a standard Linux";
		else
			*why = "the CPU has no VMX/SVM, so KVM would emulate every instruction";
		return ACCEL_SOFT;
	}
	if (kvm_complete(caps)) {
		*why = "the software CPU is not available in this build; KVM is the only backend";
		return ACCEL_KVM;
	}
	*why = "no usable backend: /dev/kvm is unusable and the software CPU is not available";
	return ACCEL_AUTO;
}

const struct accel_ops *accel__ops(enum accel_kind kind)
{
	switch (kind) {
	case ACCEL_KVM: return &kvm_accel_ops;
	case ACCEL_SOFT: return soft_accel_ops.vcpu_run ? &soft_accel_ops : NULL;
	default: return NULL;
	}
}

const char *accel__name(enum accel_kind kind)
{
	switch (kind) {
	case ACCEL_KVM: return "kvm";
	case ACCEL_SOFT: return "soft";
	default: return "auto";
	}
}
