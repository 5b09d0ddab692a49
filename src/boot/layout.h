/* Where boot__setup puts things in guest-physical low memory.  Test guests
 * (tests/guests/) rely on the free areas listed here.
 *
 *   0x00000-0x00FFF  real-mode IVT + BDA (left zero)
 *   0x01000-0x01FFF  boot GDT (+ TSS)
 *   0x02000-0x06FFF  free for the guest (test guests put AP trampolines here)
 *   0x07000-0x07FFF  zero page (struct boot_params)
 *   0x08000-0x08FFF  initial stack (RSP = 0x9000 at entry)
 *   0x09000-0x0EFFF  identity page tables: PML4, PDPT, 4 PDs (2 MiB pages, 0-4 GiB)
 *   0x20000-0x2FFFF  kernel command line
 *   0x9FC00-0x9FFFF  EBDA: MP floating pointer + MP config table
 *   0xE0000-0xEFFFF  ACPI tables (RSDP first), reserved in e820
 *   0xF0000-0xFFFFF  MP config table if it outgrows the EBDA (> 39 vCPUs)
 *   0x100000-        kernel (bzImage protected-mode part, or ELF PT_LOADs)
 *   top of low RAM   initrd, page aligned, below initrd_addr_max
 */
#ifndef VIREO_BOOT_LAYOUT_H
#define VIREO_BOOT_LAYOUT_H

#define BOOT_GDT_ADDR        0x1000ull
#define BOOT_TSS_ADDR        0x1800ull
#define BOOT_GUEST_FREE_LO   0x2000ull
#define BOOT_GUEST_FREE_HI   0x7000ull
#define BOOT_ZERO_PAGE_ADDR  0x7000ull
#define BOOT_STACK_TOP       0x9000ull
#define BOOT_PML4_ADDR       0x9000ull
#define BOOT_PDPT_ADDR       0xA000ull
#define BOOT_PD_ADDR         0xB000ull  /* 4 pages */
#define BOOT_CMDLINE_ADDR    0x20000ull
#define BOOT_CMDLINE_MAX     0x10000ull
#define BOOT_EBDA_ADDR       0x9FC00ull
#define BOOT_ACPI_ADDR       0xE0000ull
#define BOOT_ACPI_END        0x100000ull
#define BOOT_KERNEL_ADDR     0x100000ull

/* Added by the boot loader work: */
#define BOOT_EBDA_END        0xA0000ull   /* the EBDA is 1 KiB */
/* With more than 39 vCPUs the MP config table outgrows the EBDA; it then
 * goes here, and the ACPI tables stay below this address. */
#define BOOT_MP_SPILL_ADDR   0xF0000ull
#define BOOT_ACPI_LIMIT      BOOT_MP_SPILL_ADDR

#define BOOT_SEL_CS          0x10  /* __BOOT_CS */
#define BOOT_SEL_DS          0x18  /* __BOOT_DS */
#define BOOT_SEL_TSS         0x20

#endif
