/* Linux x86 boot protocol and firmware tables.
 *
 * boot__setup loads cfg.kernel (bzImage or ELF64 vmlinux-style) and
 * cfg.initrd into guest RAM, writes the zero page (boot_params with e820,
 * cmdline pointer, initrd location, acpi_rsdp_addr), the MP table and the
 * ACPI tables (RSDP, XSDT, FADT, DSDT with \_S5, MADT, MCFG), identity page
 * tables, a GDT, and returns the BSP's entry state: 64-bit mode, paging on,
 * RIP = kernel 64-bit entry, RSI = zero page address.
 *
 * Every byte read from a kernel/initrd file is bounds-checked; malformed
 * input returns -EINVAL/-ENOEXEC/-EFBIG with one line logged via pr_err
 * naming the file and the reason. */
#ifndef VIREO_BOOT_BOOT_H
#define VIREO_BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "accel/x86_state.h"

struct vm;

int boot__setup(struct vm *vm, struct x86_regs *regs, struct x86_sregs *sregs);

#endif
