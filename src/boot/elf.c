/* ELF64 loader for vmlinux-style kernels and vireo's own test guests: every
 * PT_LOAD goes to its p_paddr, entry at e_entry in 64-bit mode.  All header
 * fields are validated before the first byte is written to the guest. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "util/log.h"
#include "vm/vm.h"

static int elf__check_phdr(struct vm *vm, const char *name, const Elf64_Phdr *ph,
			   size_t len, int idx)
{
	if (ph->p_filesz > ph->p_memsz) {
		pr_err("%s: segment %d: file size %#llx exceeds memory size %#llx", name, idx,
		       (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
		return -ENOEXEC;
	}
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset) {
		pr_err("%s: segment %d: file range %#llx+%#llx is outside the file (%zu bytes)",
		       name, idx, (unsigned long long)ph->p_offset,
		       (unsigned long long)ph->p_filesz, len);
		return -ENOEXEC;
	}
	if (ph->p_memsz == 0)
		return 0;
	if (!vm__gpa_to_hva(vm, ph->p_paddr, ph->p_memsz)) {
		pr_err("%s: segment %d: [%#llx, +%#llx) is outside guest RAM", name, idx,
		       (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
		return -EFBIG;
	}
	if (boot__overlaps_reserved(ph->p_paddr, ph->p_memsz)) {
		pr_err("%s: segment %d: [%#llx, +%#llx) overlaps vireo's boot structures "
		       "(see docs/memory-map.md)", name, idx,
		       (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
		return -ENOEXEC;
	}
	return 0;
}

static const Elf64_Phdr *elf__phdr(const uint8_t *buf, const Elf64_Ehdr *eh, int i,
				   Elf64_Phdr *tmp)
{
	/* The file buffer has no alignment guarantee: copy out. */
	memcpy(tmp, buf + eh->e_phoff + (uint64_t)i * sizeof(*tmp), sizeof(*tmp));
	return tmp;
}

int elf__load(struct vm *vm, const char *name, const uint8_t *buf, size_t len,
	      struct boot_kernel *k)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	const Elf64_Phdr *ph;
	Elf64_Phdr tmp;
	Elf64_Ehdr eh;
	int nload = 0, entry_ok = 0, ret;

	if (len < sizeof(eh)) {
		pr_err("%s: truncated (%zu bytes, header says %zu)", name, len, sizeof(eh));
		return -ENOEXEC;
	}
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64) {
		pr_err("%s: not a bzImage or ELF64 kernel (ELF, but not x86-64)", name);
		return -ENOEXEC;
	}
	if (eh.e_type != ET_EXEC) {
		pr_err("%s: ELF type %u is not an executable (ET_EXEC)", name, eh.e_type);
		return -ENOEXEC;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0) {
		pr_err("%s: bad ELF program header table (entry size %u, %u entries)", name,
		       eh.e_phentsize, eh.e_phnum);
		return -ENOEXEC;
	}
	if (eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff) {
		pr_err("%s: truncated (%zu bytes, header says %llu)", name, len,
		       (unsigned long long)(eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)));
		return -ENOEXEC;
	}

	for (int i = 0; i < eh.e_phnum; i++) {
		ph = elf__phdr(buf, &eh, i, &tmp);
		if (ph->p_type != PT_LOAD)
			continue;
		ret = elf__check_phdr(vm, name, ph, len, i);
		if (ret)
			return ret;
		if (ph->p_memsz == 0)
			continue;
		nload++;
		if (ph->p_paddr < lo)
			lo = ph->p_paddr;
		if (ph->p_paddr + ph->p_memsz > hi)
			hi = ph->p_paddr + ph->p_memsz;
		if (eh.e_entry >= ph->p_paddr && eh.e_entry - ph->p_paddr < ph->p_memsz)
			entry_ok = 1;
	}
	if (!nload) {
		pr_err("%s: ELF kernel has no loadable segment", name);
		return -ENOEXEC;
	}
	if (!entry_ok) {
		pr_err("%s: entry point %#llx is not inside a loadable segment", name,
		       (unsigned long long)eh.e_entry);
		return -ENOEXEC;
	}

	for (int i = 0; i < eh.e_phnum; i++) {
		uint8_t *dst;

		ph = elf__phdr(buf, &eh, i, &tmp);
		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		dst = vm__gpa_to_hva(vm, ph->p_paddr, ph->p_memsz);
		if (!dst)
			return -EFAULT;
		memcpy(dst, buf + ph->p_offset, ph->p_filesz);
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	}

	k->kind = BOOT_KERNEL_ELF;
	k->entry = eh.e_entry;
	k->lo = lo;
	k->hi = hi;
	k->version = 0x020f;
	k->initrd_max = vm->lowmem_size - 1;
	k->cmdline_max = BOOT_ELF_CMDLINE_MAX;

	/* A vmlinux entered at startup_64 reads the same zero page a
	 * decompressed bzImage would; give it the header fields it checks. */
	memset(&k->hdr, 0, sizeof(k->hdr));
	k->hdr.boot_flag = SETUP_BOOT_FLAG;
	k->hdr.header = SETUP_HDR_MAGIC;
	k->hdr.version = k->version;
	k->hdr.loadflags = LOADED_HIGH;
	k->hdr.kernel_alignment = 0x200000;
	k->hdr.xloadflags = XLF_KERNEL_64;
	k->hdr.cmdline_size = k->cmdline_max;
	k->hdr.initrd_addr_max = (uint32_t)(k->initrd_max > UINT32_MAX ? UINT32_MAX : k->initrd_max);
	k->hdr_len = sizeof(k->hdr);
	return 0;
}
