/* boot__setup: kernel, initrd, firmware tables and entry state, in the order
 * that lets each step see what the previous one placed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/boot_internal.h"
#include "util/log.h"
#include "vm/vm.h"

int boot__setup(struct vm *vm, struct x86_regs *regs, struct x86_sregs *sregs)
{
	const char *path = vm->cfg.kernel;
	uint64_t initrd_addr = 0, initrd_size = 0, rsdp = 0, mpf;
	struct boot_kernel k;
	uint8_t *image = NULL;
	size_t image_len;
	int ret;

	if (!path) {
		pr_err("no kernel image given");
		return -EINVAL;
	}
	if (!vm->ram || vm->nr_cpus < 1 || vm->nr_cpus > VM_MAX_CPUS)
		return -EINVAL;
	ret = boot__read_file(path, vm->ram_size, &image, &image_len);
	if (ret == -EFBIG) {
		pr_err("%s: larger than guest memory (%llu MiB)", path,
		       (unsigned long long)(vm->ram_size >> 20));
		return ret;
	}
	if (ret) {
		pr_err("%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = boot__load_kernel(vm, path, image, image_len, &k);
	free(image);
	if (ret)
		return ret;

	if (vm->cfg.initrd) {
		ret = initrd__load(vm, vm->cfg.initrd, &k, &initrd_addr, &initrd_size);
		if (ret)
			return ret;
	}

	ret = acpi__build(vm, vm->nr_cpus, &rsdp);
	if (ret) {
		pr_err("ACPI tables do not fit in the firmware area: %s", strerror(-ret));
		return ret;
	}
	ret = mptable__build(vm, vm->nr_cpus, &mpf);
	if (ret) {
		pr_err("MP table: %s", strerror(-ret));
		return ret;
	}
	ret = zero_page__build(vm, &k, vm->cfg.cmdline, initrd_addr, initrd_size, rsdp);
	if (ret)
		return ret;
	ret = pagetables__build(vm);
	if (!ret)
		ret = gdt__build(vm);
	if (ret)
		return ret;
	boot__entry_state(k.entry, regs, sregs);
	pr_debug("boot: %s kernel entry %#llx, initrd %#llx+%#llx, RSDP %#llx",
		 k.kind == BOOT_KERNEL_BZIMAGE ? "bzImage" : "ELF",
		 (unsigned long long)k.entry, (unsigned long long)initrd_addr,
		 (unsigned long long)initrd_size, (unsigned long long)rsdp);
	return 0;
}
