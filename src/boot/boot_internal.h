/* Internal interfaces between the pieces of boot__setup.  Each piece works on
 * a struct vm with RAM allocated and nothing else, so unit tests and the
 * fuzzer can drive them one at a time. */
#ifndef VIREO_BOOT_BOOT_INTERNAL_H
#define VIREO_BOOT_BOOT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "accel/x86_state.h"
#include "boot/bootparam.h"

struct vm;

enum boot_kernel_kind {
	BOOT_KERNEL_BZIMAGE = 1,
	BOOT_KERNEL_ELF,
};

/* What a kernel loader leaves behind for the zero page and the initrd. */
struct boot_kernel {
	enum boot_kernel_kind kind;
	uint64_t entry;          /* 64-bit entry point (guest-physical) */
	uint64_t lo, hi;         /* [lo, hi): RAM the kernel occupies or may use while decompressing */
	uint64_t initrd_max;     /* highest byte address the initrd may occupy */
	uint32_t cmdline_max;    /* longest cmdline the kernel accepts, without NUL */
	uint16_t version;        /* boot protocol version (synthetic for ELF) */
	struct setup_header hdr; /* bzImage: copied from the image; ELF: synthesized */
	size_t hdr_len;          /* bytes of hdr that belong in the zero page */
};

/* Largest kernel command line for ELF kernels, which carry no cmdline_size:
 * Linux's x86 COMMAND_LINE_SIZE (2048) minus the NUL. */
#define BOOT_ELF_CMDLINE_MAX 2047u

/* kernel.c: read a whole file (at most max_len bytes, else -EFBIG). */
int boot__read_file(const char *path, uint64_t max_len, uint8_t **out, size_t *out_len);
/* Detect the format by content and load it into guest RAM.  `name` is only
 * used in messages. */
int boot__load_kernel(struct vm *vm, const char *name, const uint8_t *buf, size_t len,
		      struct boot_kernel *k);

/* bzimage.c / elf.c: called by boot__load_kernel once the magic matched. */
int bzimage__load(struct vm *vm, const char *name, const uint8_t *buf, size_t len,
		  struct boot_kernel *k);
int elf__load(struct vm *vm, const char *name, const uint8_t *buf, size_t len,
	      struct boot_kernel *k);
/* Does [gpa, gpa + len) collide with a structure boot__setup writes?
 * (The free areas of layout.h are not reserved.) */
int boot__overlaps_reserved(uint64_t gpa, uint64_t len);

/* initrd.c */
/* Where an initrd of `size` bytes goes: the highest page-aligned address
 * below min(k->initrd_max + 1, lowmem) clear of the kernel.  -EFBIG if none. */
int initrd__place(const struct vm *vm, const struct boot_kernel *k, uint64_t size,
		  uint64_t *addr);
int initrd__load(struct vm *vm, const char *path, const struct boot_kernel *k,
		 uint64_t *addr, uint64_t *size);

/* zero_page.c */
/* Fill `tab` (room for `max` entries) with the guest's memory map. */
int e820__build(const struct vm *vm, struct e820_entry *tab, int max);
int zero_page__write_cmdline(struct vm *vm, const struct boot_kernel *k, const char *cmdline);
int zero_page__build(struct vm *vm, const struct boot_kernel *k, const char *cmdline,
		     uint64_t initrd_addr, uint64_t initrd_size, uint64_t rsdp_addr);

/* mptable.c: returns the address of the MP floating pointer via *fp. */
int mptable__build(struct vm *vm, int nr_cpus, uint64_t *fp);

/* acpi.c: builds every ACPI table; returns the RSDP address. */
int acpi__build(struct vm *vm, int nr_cpus, uint64_t *rsdp);
/* acpi_dsdt.c: the DSDT (AML) into buf; returns its length or -ENOSPC. */
int acpi__build_dsdt(uint8_t *buf, size_t cap);
uint8_t acpi__checksum(const void *p, size_t len);
struct acpi_header;
/* Header with vireo's OEM fields and the checksum over `len` bytes at h
 * (the whole table must already be written). */
void acpi__fill_header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev);

/* pagetables.c */
int pagetables__build(struct vm *vm);
int gdt__build(struct vm *vm);
void boot__entry_state(uint64_t entry, struct x86_regs *regs, struct x86_sregs *sregs);

#endif
