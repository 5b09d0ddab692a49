/* bzImage loader (boot protocol >= 2.12, 64-bit entry).
 *
 * The real-mode setup code is never run: the protected-mode part goes to
 * BOOT_KERNEL_ADDR and the BSP starts at its 64-bit entry (+0x200) with the
 * setup header copied into the zero page, as boot.rst's "64-bit boot
 * protocol" describes. */
#include <errno.h>
#include <string.h>

#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "util/log.h"
#include "vm/vm.h"

#define BZ_ENTRY64_OFFSET 0x200

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Where the kernel decompresses itself and how far it may reach, per
 * init_size's definition: from the runtime start address, which is
 * pref_address for a fixed kernel and the load address rounded up to
 * kernel_alignment (but never below pref_address, the kernel's
 * LOAD_PHYSICAL_ADDR) for a relocatable one. */
static int bzimage__footprint(const char *name, const struct setup_header *h,
			      uint64_t load, uint64_t pm_len, uint64_t *end)
{
	uint64_t start = load, align = h->kernel_alignment, need;

	if (h->relocatable_kernel) {
		if (align == 0 || (align & (align - 1)) || align > (1ull << 30)) {
			pr_err("%s: bad kernel_alignment %#llx", name, (unsigned long long)align);
			return -ENOEXEC;
		}
		start = align_up(load, align);
		if (h->pref_address > start)
			start = h->pref_address;
	} else if (h->pref_address) {
		start = h->pref_address;
	}
	if (start < load) {
		pr_err("%s: kernel wants to run at %#llx, below its load address", name,
		       (unsigned long long)start);
		return -ENOEXEC;
	}
	if (start >= (1ull << 40)) {
		pr_err("%s: preferred load address %#llx is absurd", name,
		       (unsigned long long)start);
		return -ENOEXEC;
	}
	need = h->init_size > pm_len ? h->init_size : pm_len;
	*end = start + need;
	if (load + pm_len > *end)
		*end = load + pm_len;
	return 0;
}

int bzimage__load(struct vm *vm, const char *name, const uint8_t *buf, size_t len,
		  struct boot_kernel *k)
{
	struct setup_header *h = &k->hdr;
	uint64_t setup_size, need, pm_len, end;
	size_t hdr_len;
	unsigned sects;
	uint32_t syssize;
	int ret;

	/* setup_sects and syssize sit below the magic the caller checked. */
	sects = buf[SETUP_HDR_OFFSET] ? buf[SETUP_HDR_OFFSET] : SETUP_SECTS_DEFAULT;
	setup_size = (uint64_t)(sects + 1) * SETUP_SECT_SIZE;
	memcpy(&syssize, buf + 0x1f4, sizeof(syssize));
	need = setup_size + (uint64_t)syssize * 16;
	if (len < need) {
		pr_err("%s: truncated (%zu bytes, header says %llu)", name, len,
		       (unsigned long long)need);
		return -ENOEXEC;
	}
	if (syssize == 0) {
		pr_err("%s: bzImage has no protected-mode code (syssize 0)", name);
		return -ENOEXEC;
	}

	/* setup_size >= 2560 bytes, so the whole struct is in the file.  The
	 * header's own length (0x202 + the jump's displacement byte) only
	 * limits what goes back into the zero page. */
	memcpy(h, buf + SETUP_HDR_OFFSET, sizeof(*h));
	hdr_len = 0x202 + buf[0x201] - SETUP_HDR_OFFSET;
	k->hdr_len = hdr_len < sizeof(*h) ? hdr_len : sizeof(*h);

	if (h->version < BOOT_PROTO_MIN) {
		pr_err("%s: boot protocol %u.%02u is too old (need 2.12 or newer)", name,
		       h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		pr_err("%s: bzImage has no 64-bit entry point (XLF_KERNEL_64 clear)", name);
		return -ENOEXEC;
	}

	pm_len = len - setup_size;
	ret = bzimage__footprint(name, h, BOOT_KERNEL_ADDR, pm_len, &end);
	if (ret)
		return ret;
	if (end > vm->lowmem_size) {
		pr_err("%s: kernel needs %llu MiB of low memory, guest has %llu MiB", name,
		       (unsigned long long)((end + (1 << 20) - 1) >> 20),
		       (unsigned long long)(vm->lowmem_size >> 20));
		return -EFBIG;
	}
	if (vm__write_guest(vm, BOOT_KERNEL_ADDR, buf + setup_size, pm_len))
		return -EFAULT;

	k->kind = BOOT_KERNEL_BZIMAGE;
	k->entry = BOOT_KERNEL_ADDR + BZ_ENTRY64_OFFSET;
	k->lo = BOOT_KERNEL_ADDR;
	k->hi = end;
	k->version = h->version;
	k->initrd_max = h->initrd_addr_max ? h->initrd_addr_max : BOOT_INITRD_ADDR_MAX_DEFAULT;
	/* 2.06+ always has cmdline_size; our buffer bounds it as well. */
	k->cmdline_max = h->cmdline_size;
	if (k->cmdline_max > BOOT_CMDLINE_MAX - 1)
		k->cmdline_max = BOOT_CMDLINE_MAX - 1;
	return 0;
}
