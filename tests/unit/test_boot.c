/* Boot loaders: bzImage and ELF acceptance/rejection, initrd placement,
 * the zero page and the entry state, on synthetic images (no KVM). */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "vm/vm.h"

static struct vm *new_vm(uint64_t mem, int cpus)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	cr_assert_not_null(vm);
	cr_assert_eq(vm__alloc_ram(vm, mem), 0);
	vm->nr_cpus = cpus;
	vm->cfg.nr_cpus = cpus;
	vm->cfg.mem_size = mem;
	return vm;
}

static void free_vm(struct vm *vm)
{
	vm__free_ram(vm);
	free(vm);
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

#define BZ_SETUP_SECTS 4
#define BZ_SETUP_SIZE  ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PM_SIZE     8192
#define BZ_LEN         (BZ_SETUP_SIZE + BZ_PM_SIZE)
#define BZ_PREF        0x1000000u
#define BZ_INIT_SIZE   0x2000000u

/* A minimal bzImage as the kernel's build tools lay it out: setup sectors
 * with the header at 0x1f1, then the protected-mode payload. */
static uint8_t *make_bzimage(size_t *len)
{
	uint8_t *b = calloc(1, BZ_LEN);

	b[0x1f1] = BZ_SETUP_SECTS;
	put32(b + 0x1f4, BZ_PM_SIZE / 16);
	put16(b + 0x1fe, 0xAA55);
	b[0x200] = 0xEB;
	b[0x201] = 0x6a;                   /* header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	put16(b + 0x206, 0x020f);
	b[0x211] = LOADED_HIGH | QUIET_FLAG | KEEP_SEGMENTS;
	put32(b + 0x22c, 0x7fffffff);       /* initrd_addr_max */
	put32(b + 0x230, 0x200000);         /* kernel_alignment */
	b[0x234] = 1;                       /* relocatable */
	put16(b + 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put32(b + 0x238, 2047);             /* cmdline_size */
	put64(b + 0x258, BZ_PREF);
	put32(b + 0x260, BZ_INIT_SIZE);
	for (size_t i = BZ_SETUP_SIZE; i < BZ_LEN; i++)
		b[i] = (uint8_t)(i * 7 + 3);
	*len = BZ_LEN;
	return b;
}

static char *write_tmp(const void *data, size_t len)
{
	char *path = strdup("/tmp/vireo-test-boot-XXXXXX");
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

Test(boot_bzimage, accepts_valid_image)
{
	struct vm *vm = new_vm(256 << 20, 1);
	struct boot_kernel k;
	size_t len;
	uint8_t *img = make_bzimage(&len);

	cr_assert_eq(boot__load_kernel(vm, "bz", img, len, &k), 0);
	cr_assert_eq(k.kind, BOOT_KERNEL_BZIMAGE);
	cr_assert_eq(k.entry, BOOT_KERNEL_ADDR + 0x200);
	cr_assert_eq(k.lo, BOOT_KERNEL_ADDR);
	/* relocatable: runtime start = max(align_up(1 MiB, 2 MiB), pref) */
	cr_assert_eq(k.hi, (uint64_t)BZ_PREF + BZ_INIT_SIZE);
	cr_assert_eq(k.initrd_max, 0x7fffffff);
	cr_assert_eq(k.cmdline_max, 2047);
	cr_assert_eq(memcmp(vm->ram + BOOT_KERNEL_ADDR, img + BZ_SETUP_SIZE, BZ_PM_SIZE), 0);
	cr_assert_eq(k.hdr_len, 0x26c - 0x1f1);
	free(img);
	free_vm(vm);
}

Test(boot_bzimage, setup_sects_zero_means_four)
{
	struct vm *vm = new_vm(64 << 20, 1);
	struct boot_kernel k;
	size_t len;
	uint8_t *img = make_bzimage(&len);

	img[0x1f1] = 0;
	cr_assert_eq(boot__load_kernel(vm, "bz", img, len, &k), 0);
	cr_assert_eq(vm->ram[BOOT_KERNEL_ADDR], img[BZ_SETUP_SIZE]);
	free(img);
	free_vm(vm);
}

static int load_modified(void (*mod)(uint8_t *img, size_t *len), uint64_t mem)
{
	struct vm *vm = new_vm(mem, 1);
	struct boot_kernel k;
	size_t len;
	uint8_t *img = make_bzimage(&len);
	int ret;

	mod(img, &len);
	ret = boot__load_kernel(vm, "bz", img, len, &k);
	free(img);
	free_vm(vm);
	return ret;
}

static void mod_magic(uint8_t *b, size_t *len) { memcpy(b + 0x202, "HdrX", 4); }
static void mod_old(uint8_t *b, size_t *len) { put16(b + 0x206, 0x020b); }
static void mod_no64(uint8_t *b, size_t *len) { put16(b + 0x236, XLF_CAN_BE_LOADED_ABOVE_4G); }
static void mod_trunc(uint8_t *b, size_t *len) { *len -= 1; }
static void mod_trunc_setup(uint8_t *b, size_t *len) { *len = 0x300; }
static void mod_tiny(uint8_t *b, size_t *len) { *len = 0x100; }
static void mod_align(uint8_t *b, size_t *len) { put32(b + 0x230, 0x300000); }
static void mod_huge_init(uint8_t *b, size_t *len) { put32(b + 0x260, 0x8000000); }
static void mod_nosys(uint8_t *b, size_t *len) { put32(b + 0x1f4, 0); }
static void mod_low_pref(uint8_t *b, size_t *len) { b[0x234] = 0; put64(b + 0x258, 0x1000); }
static void mod_fixed(uint8_t *b, size_t *len) { b[0x234] = 0; put64(b + 0x258, 0x400000); }

Test(boot_bzimage, rejects_bad_headers)
{
	cr_assert_eq(load_modified(mod_magic, 64 << 20), -ENOEXEC);
	cr_assert_eq(load_modified(mod_old, 64 << 20), -ENOEXEC);
	cr_assert_eq(load_modified(mod_no64, 64 << 20), -ENOEXEC);
	cr_assert_eq(load_modified(mod_trunc, 64 << 20), -ENOEXEC);
	cr_assert_eq(load_modified(mod_trunc_setup, 64 << 20), -ENOEXEC);
	cr_assert_eq(load_modified(mod_tiny, 64 << 20), -ENOEXEC);
	cr_assert_eq(load_modified(mod_align, 64 << 20), -ENOEXEC);
	cr_assert_eq(load_modified(mod_nosys, 64 << 20), -ENOEXEC);
	cr_assert_eq(load_modified(mod_low_pref, 64 << 20), -ENOEXEC);
	/* a non-relocatable kernel at 4 MiB + 32 MiB init_size fits in 64 MiB */
	cr_assert_eq(load_modified(mod_fixed, 64 << 20), 0);
}

Test(boot_kernel, read_file_limits)
{
	uint8_t data[5000], *buf;
	char *path;
	size_t len;

	memset(data, 0x77, sizeof(data));
	path = write_tmp(data, sizeof(data));
	cr_assert_eq(boot__read_file(path, sizeof(data), &buf, &len), 0);
	cr_assert_eq(len, sizeof(data));
	cr_assert_eq(memcmp(buf, data, len), 0);
	free(buf);
	cr_assert_eq(boot__read_file(path, sizeof(data) - 1, &buf, &len), -EFBIG);
	cr_assert_eq(boot__read_file("/proc/self/stat", 1 << 20, &buf, &len), 0);
	cr_assert_gt(len, 0);
	free(buf);
	cr_assert_eq(boot__read_file("/tmp", 1 << 20, &buf, &len), -EISDIR);
	unlink(path);
	free(path);
}

Test(boot_bzimage, init_size_must_fit_in_ram)
{
	/* 16 MiB pref + 128 MiB init_size in a 64 MiB guest */
	cr_assert_eq(load_modified(mod_huge_init, 64 << 20), -EFBIG);
	cr_assert_eq(load_modified(mod_huge_init, 256 << 20), 0);
}

/* ELF: two PT_LOADs, the second with bss. */
#define ELF_SEG1 0x200000ull
#define ELF_SEG2 0x300000ull

struct elf_img {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[3];
	uint8_t code[0x100];
	uint8_t data[0x80];
};

static struct elf_img *make_elf(void)
{
	struct elf_img *e = calloc(1, sizeof(*e));

	memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
	e->eh.e_ident[EI_CLASS] = ELFCLASS64;
	e->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	e->eh.e_ident[EI_VERSION] = EV_CURRENT;
	e->eh.e_type = ET_EXEC;
	e->eh.e_machine = EM_X86_64;
	e->eh.e_version = EV_CURRENT;
	e->eh.e_entry = ELF_SEG1 + 0x10;
	e->eh.e_phoff = offsetof(struct elf_img, ph);
	e->eh.e_ehsize = sizeof(Elf64_Ehdr);
	e->eh.e_phentsize = sizeof(Elf64_Phdr);
	e->eh.e_phnum = 3;
	e->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = offsetof(struct elf_img, code),
				 .p_paddr = ELF_SEG1, .p_vaddr = ELF_SEG1,
				 .p_filesz = sizeof(e->code), .p_memsz = sizeof(e->code) };
	e->ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0xdeadbeef, .p_filesz = 0x1000 };
	e->ph[2] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = offsetof(struct elf_img, data),
				 .p_paddr = ELF_SEG2, .p_vaddr = ELF_SEG2,
				 .p_filesz = sizeof(e->data), .p_memsz = 0x1000 };
	for (size_t i = 0; i < sizeof(e->code); i++)
		e->code[i] = (uint8_t)(0x90 + i);
	memset(e->data, 0x5a, sizeof(e->data));
	return e;
}

Test(boot_elf, loads_segments_and_zeroes_bss)
{
	struct vm *vm = new_vm(64 << 20, 1);
	struct elf_img *e = make_elf();
	struct boot_kernel k;

	memset(vm->ram + ELF_SEG2, 0xee, 0x2000);   /* stale bytes the bss must clear */
	cr_assert_eq(boot__load_kernel(vm, "elf", (uint8_t *)e, sizeof(*e), &k), 0);
	cr_assert_eq(k.kind, BOOT_KERNEL_ELF);
	cr_assert_eq(k.entry, ELF_SEG1 + 0x10);
	cr_assert_eq(k.lo, ELF_SEG1);
	cr_assert_eq(k.hi, ELF_SEG2 + 0x1000);
	cr_assert_eq(memcmp(vm->ram + ELF_SEG1, e->code, sizeof(e->code)), 0);
	cr_assert_eq(memcmp(vm->ram + ELF_SEG2, e->data, sizeof(e->data)), 0);
	for (uint64_t a = ELF_SEG2 + sizeof(e->data); a < ELF_SEG2 + 0x1000; a++)
		cr_assert_eq(vm->ram[a], 0, "bss byte at %#lx", (unsigned long)a);
	cr_assert_eq(vm->ram[ELF_SEG2 + 0x1000], 0xee, "bss overran memsz");
	cr_assert_eq(k.initrd_max, vm->lowmem_size - 1);
	free(e);
	free_vm(vm);
}

static int load_elf(struct elf_img *e, size_t len, uint64_t mem)
{
	struct vm *vm = new_vm(mem, 1);
	struct boot_kernel k;
	int ret = boot__load_kernel(vm, "elf", (uint8_t *)e, len, &k);

	free_vm(vm);
	free(e);
	return ret;
}

Test(boot_elf, rejects_bad_segments)
{
	struct elf_img *e;

	e = make_elf();
	e->ph[2].p_offset = sizeof(*e) - 0x10;       /* runs past EOF */
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), -ENOEXEC);

	e = make_elf();
	e->ph[0].p_offset = UINT64_MAX - 4;          /* offset + size wraps */
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), -ENOEXEC);

	e = make_elf();
	e->ph[2].p_filesz = 0x2000;                   /* filesz > memsz */
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), -ENOEXEC);

	e = make_elf();
	e->ph[0].p_paddr = BOOT_ZERO_PAGE_ADDR;       /* on the zero page */
	e->eh.e_entry = BOOT_ZERO_PAGE_ADDR;
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), -ENOEXEC);

	e = make_elf();
	e->ph[2].p_paddr = 0xF0000;                   /* on the ACPI tables */
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), -ENOEXEC);

	e = make_elf();
	e->ph[2].p_paddr = (64 << 20) - 0x800;        /* bss past the end of RAM */
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), -EFBIG);

	e = make_elf();
	e->ph[2].p_paddr = UINT64_MAX - 0x100;        /* paddr + memsz wraps */
	cr_assert_neq(load_elf(e, sizeof(*e), 64 << 20), 0);

	e = make_elf();
	e->eh.e_entry = 0x5000000;                    /* entry outside the segments */
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), -ENOEXEC);

	e = make_elf();
	e->eh.e_phnum = 200;                          /* table runs past EOF */
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), -ENOEXEC);

	e = make_elf();
	e->eh.e_machine = EM_386;
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), -ENOEXEC);

	e = make_elf();
	e->eh.e_type = ET_DYN;
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), -ENOEXEC);

	e = make_elf();
	cr_assert_eq(load_elf(e, sizeof(Elf64_Ehdr) - 1, 64 << 20), -ENOEXEC);
}

Test(boot_elf, free_low_area_is_allowed)
{
	struct elf_img *e = make_elf();

	e->ph[0].p_paddr = BOOT_GUEST_FREE_LO;        /* e.g. an AP trampoline */
	e->eh.e_entry = BOOT_GUEST_FREE_LO;
	cr_assert_eq(load_elf(e, sizeof(*e), 64 << 20), 0);
}

Test(boot_kernel, rejects_unknown_format)
{
	struct vm *vm = new_vm(64 << 20, 1);
	uint8_t junk[4096];
	struct boot_kernel k;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 31);
	cr_assert_eq(boot__load_kernel(vm, "junk", junk, sizeof(junk), &k), -ENOEXEC);
	cr_assert_eq(boot__load_kernel(vm, "empty", junk, 0, &k), -ENOEXEC);
	memcpy(junk, "\177ELF\001", 5);              /* ELF32 */
	cr_assert_eq(boot__load_kernel(vm, "elf32", junk, sizeof(junk), &k), -ENOEXEC);
	free_vm(vm);
}

Test(boot_initrd, placed_high_and_aligned)
{
	struct vm *vm = new_vm(256 << 20, 1);
	struct boot_kernel k = { .lo = BOOT_KERNEL_ADDR, .hi = 0x3000000, .initrd_max = 0x37FFFFFF };
	uint64_t addr;

	cr_assert_eq(initrd__place(vm, &k, 0x123456, &addr), 0);
	cr_assert_eq(addr & 0xfff, 0);
	cr_assert_leq(addr + 0x123456, vm->lowmem_size);
	cr_assert_gt(addr + 0x123456 + 0x1000, vm->lowmem_size, "not the highest spot");

	/* initrd_addr_max below lowmem wins */
	k.initrd_max = 0x7FFFFFF;
	cr_assert_eq(initrd__place(vm, &k, 0x100000, &addr), 0);
	cr_assert_eq(addr, 0x8000000 - 0x100000);

	/* too big */
	cr_assert_eq(initrd__place(vm, &k, 300 << 20, &addr), -EFBIG);
	k.initrd_max = 0x37FFFFFF;
	cr_assert_eq(initrd__place(vm, &k, (256 << 20) - 0x2000000, &addr), -EFBIG);

	/* kernel at the top: goes below it */
	k.lo = 0xF000000;
	k.hi = 0x10000000;
	cr_assert_eq(initrd__place(vm, &k, 0x100000, &addr), 0);
	cr_assert_eq(addr, 0xF000000 - 0x100000);
	free_vm(vm);
}

Test(boot_setup, full_bzimage_boot)
{
	struct vm *vm = new_vm(256 << 20, 2);
	struct x86_regs regs;
	struct x86_sregs sregs;
	struct boot_params *bp;
	size_t len;
	uint8_t *img = make_bzimage(&len), initrd[10000];
	char *kpath = write_tmp(img, len), *ipath;
	uint64_t rd;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ (i >> 8));
	ipath = write_tmp(initrd, sizeof(initrd));
	vm->cfg.kernel = kpath;
	vm->cfg.initrd = ipath;
	vm->cfg.cmdline = "console=ttyS0 panic=-1";
	cr_assert_eq(boot__setup(vm, &regs, &sregs), 0);

	bp = (struct boot_params *)(vm->ram + BOOT_ZERO_PAGE_ADDR);
	cr_assert_eq(bp->hdr.header, SETUP_HDR_MAGIC);
	cr_assert_eq(bp->hdr.version, 0x020f);
	cr_assert_eq(bp->hdr.type_of_loader, 0xff);
	cr_assert_eq(bp->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	cr_assert_eq(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	cr_assert_str_eq((char *)vm->ram + bp->hdr.cmd_line_ptr, "console=ttyS0 panic=-1");
	rd = bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32;
	cr_assert_eq(bp->hdr.ramdisk_size, sizeof(initrd));
	cr_assert_eq(rd & 0xfff, 0);
	cr_assert_geq(rd, (uint64_t)BZ_PREF + BZ_INIT_SIZE);
	cr_assert_eq(memcmp(vm->ram + rd, initrd, sizeof(initrd)), 0);
	cr_assert_eq(bp->acpi_rsdp_addr, BOOT_ACPI_ADDR);
	cr_assert_eq(memcmp(vm->ram + bp->acpi_rsdp_addr, "RSD PTR ", 8), 0);
	cr_assert_eq(bp->e820_entries, 4);
	cr_assert_eq(bp->sentinel, 0);

	cr_assert_eq(regs.rip, BOOT_KERNEL_ADDR + 0x200);
	cr_assert_eq(regs.rsi, BOOT_ZERO_PAGE_ADDR);
	cr_assert_eq(regs.rsp, BOOT_STACK_TOP);
	cr_assert_eq(regs.rflags, 2);
	cr_assert_eq(sregs.cr3, BOOT_PML4_ADDR);
	cr_assert_eq(sregs.cs.selector, BOOT_SEL_CS);
	cr_assert_eq(sregs.cs.l, 1);
	cr_assert_eq(sregs.cs.db, 0);
	cr_assert_eq(sregs.ss.selector, BOOT_SEL_DS);
	cr_assert_eq(sregs.efer, X86_EFER_LME | X86_EFER_LMA);
	cr_assert_eq(sregs.apic_base, 0xFEE00900);

	unlink(kpath);
	unlink(ipath);
	free(kpath);
	free(ipath);
	free(img);
	free_vm(vm);
}

Test(boot_setup, errors_are_reported)
{
	struct vm *vm = new_vm(64 << 20, 1);
	struct x86_regs regs;
	struct x86_sregs sregs;
	size_t len;
	uint8_t *img = make_bzimage(&len);
	char *kpath = write_tmp(img, len), *ipath;
	char *big = malloc(70 << 20), *longcmd = malloc(3000);

	vm->cfg.kernel = "/nonexistent/vmlinuz";
	cr_assert_eq(boot__setup(vm, &regs, &sregs), -ENOENT);

	vm->cfg.kernel = kpath;
	memset(longcmd, 'a', 2999);
	longcmd[2999] = 0;
	vm->cfg.cmdline = longcmd;
	cr_assert_eq(boot__setup(vm, &regs, &sregs), -E2BIG);
	longcmd[2047] = 0;       /* exactly cmdline_size (2047) is fine */
	cr_assert_eq(boot__setup(vm, &regs, &sregs), 0);

	vm->cfg.cmdline = NULL;
	memset(big, 0, 70 << 20);
	ipath = write_tmp(big, 70 << 20);
	vm->cfg.initrd = ipath;
	cr_assert_eq(boot__setup(vm, &regs, &sregs), -EFBIG);
	vm->cfg.initrd = "/nonexistent/initrd";
	cr_assert_eq(boot__setup(vm, &regs, &sregs), -ENOENT);

	unlink(kpath);
	unlink(ipath);
	free(kpath);
	free(ipath);
	free(big);
	free(longcmd);
	free(img);
	free_vm(vm);
}

Test(boot_setup, elf_kernel_gets_zero_page)
{
	struct vm *vm = new_vm(64 << 20, 1);
	struct elf_img *e = make_elf();
	char *kpath = write_tmp(e, sizeof(*e));
	struct x86_regs regs;
	struct x86_sregs sregs;
	struct boot_params *bp;

	vm->cfg.kernel = kpath;
	vm->cfg.cmdline = "hello";
	cr_assert_eq(boot__setup(vm, &regs, &sregs), 0);
	bp = (struct boot_params *)(vm->ram + BOOT_ZERO_PAGE_ADDR);
	cr_assert_eq(regs.rip, ELF_SEG1 + 0x10);
	cr_assert_eq(regs.rsi, BOOT_ZERO_PAGE_ADDR);
	cr_assert_eq(bp->hdr.boot_flag, 0xAA55);
	cr_assert_eq(bp->hdr.header, SETUP_HDR_MAGIC);
	cr_assert_str_eq((char *)vm->ram + bp->hdr.cmd_line_ptr, "hello");
	cr_assert_eq(bp->e820_entries, 4);
	cr_assert_eq(bp->acpi_rsdp_addr, BOOT_ACPI_ADDR);
	unlink(kpath);
	free(kpath);
	free(e);
	free_vm(vm);
}
