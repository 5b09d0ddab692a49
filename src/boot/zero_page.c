/* The zero page (struct boot_params): setup header, command line, initrd,
 * e820 memory map and the RSDP address. */
#include <errno.h>
#include <string.h>

#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "util/log.h"
#include "vm/vm.h"

static int e820__add(struct e820_entry *tab, int n, int max, uint64_t addr, uint64_t size,
		     uint32_t type)
{
	if (size == 0)
		return n;
	if (n >= max)
		return -ENOSPC;
	tab[n].addr = addr;
	tab[n].size = size;
	tab[n].type = type;
	return n + 1;
}

int e820__build(const struct vm *vm, struct e820_entry *tab, int max)
{
	int n = 0;

	if (vm->lowmem_size < BOOT_KERNEL_ADDR)
		return -EINVAL;
	n = e820__add(tab, n, max, 0, BOOT_EBDA_ADDR, E820_TYPE_RAM);
	if (n >= 0)
		n = e820__add(tab, n, max, BOOT_EBDA_ADDR, BOOT_KERNEL_ADDR - BOOT_EBDA_ADDR,
			      E820_TYPE_RESERVED);
	if (n >= 0)
		n = e820__add(tab, n, max, BOOT_KERNEL_ADDR, vm->lowmem_size - BOOT_KERNEL_ADDR,
			      E820_TYPE_RAM);
	/* Linux only trusts MMCONFIG inside a reserved region. */
	if (n >= 0)
		n = e820__add(tab, n, max, VM_PCI_ECAM_BASE, VM_PCI_ECAM_SIZE, E820_TYPE_RESERVED);
	if (n >= 0)
		n = e820__add(tab, n, max, VM_HIGHMEM_BASE, vm->highmem_size, E820_TYPE_RAM);
	return n;
}

int zero_page__write_cmdline(struct vm *vm, const struct boot_kernel *k, const char *cmdline)
{
	size_t len;

	if (!cmdline)
		cmdline = "";
	len = strlen(cmdline);
	if (len > k->cmdline_max) {
		pr_err("kernel command line is %zu bytes, the kernel accepts at most %u", len,
		       k->cmdline_max);
		return -E2BIG;
	}
	return vm__write_guest(vm, BOOT_CMDLINE_ADDR, cmdline, len + 1);
}

int zero_page__build(struct vm *vm, const struct boot_kernel *k, const char *cmdline,
		     uint64_t initrd_addr, uint64_t initrd_size, uint64_t rsdp_addr)
{
	struct boot_params *bp;
	int n, ret;

	bp = vm__gpa_to_hva(vm, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	if (!bp)
		return -EFAULT;
	/* Zeroed first: boot.rst requires every field we do not know about to
	 * be zero (sentinel included). */
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, &k->hdr, k->hdr_len);

	ret = zero_page__write_cmdline(vm, k, cmdline);
	if (ret)
		return ret;

	bp->hdr.type_of_loader = LOADER_TYPE_UNDEFINED;
	/* LOADED_HIGH is the kernel's; QUIET, KEEP_SEGMENTS and KASLR_FLAG
	 * must not leak from the image into the kernel's decisions. */
	bp->hdr.loadflags = (k->hdr.loadflags & LOADED_HIGH) | CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = BOOT_HEAP_END_PTR;
	bp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = (uint32_t)(BOOT_CMDLINE_ADDR >> 32);
	bp->hdr.ramdisk_image = (uint32_t)initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	bp->hdr.setup_data = 0;

	n = e820__build(vm, bp->e820_table, E820_MAX_ENTRIES);
	if (n < 0)
		return n;
	bp->e820_entries = (uint8_t)n;
	if (k->version >= BOOT_PROTO_RSDP)
		bp->acpi_rsdp_addr = rsdp_addr;
	return 0;
}
