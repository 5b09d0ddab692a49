/* Platform devices.  Each lives in its own file with a const bus_dev_ops
 * table and registers itself on vm->pio / vm->mmio.  All return 0 / -errno
 * and store the device in vm->dev.  Guest mistakes are answered like
 * hardware would (all-ones reads, ignored writes), logged rate-limited. */
#ifndef VIREO_DEVICES_DEVICES_H
#define VIREO_DEVICES_DEVICES_H

#include <stdint.h>

struct vm;

/* 8250/16550A UART.  Reads guest input from in_fd (-1: none) on a
 * background thread, writes output to out_fd. */
int serial__init(struct vm *vm, uint16_t port, unsigned irq, int in_fd, int out_fd);
void serial__exit(struct vm *vm);

/* MC146818 CMOS RTC at 0x70/0x71, host wall-clock time, RAM size bytes. */
int rtc__init(struct vm *vm);
void rtc__exit(struct vm *vm);

/* i8042: enough for Linux to probe it and for reset via 0xFE to port 0x64. */
int i8042__init(struct vm *vm);
void i8042__exit(struct vm *vm);

/* PCI host bridge: config mechanism #1 (0xCF8/0xCFC), ECAM for bus 0 at
 * VM_PCI_ECAM_BASE, reset control at 0xCF9.  Device 00:00.0 is the host
 * bridge (1b36:0008); devices plug in with pci__register_device()
 * (src/devices/pci.h). */
int pci__init(struct vm *vm);
void pci__exit(struct vm *vm);

/* ACPI fixed hardware: PM1a event/control blocks, PM timer.  Writing
 * SLP_TYP=S5 with SLP_EN powers the VM off. */
int acpi_pm__init(struct vm *vm);
void acpi_pm__exit(struct vm *vm);
/* Press the ACPI power button (PWRBTN_STS, SCI if enabled): lets the host
 * ask the guest for an orderly shutdown. */
void acpi_pm__power_button(struct vm *vm);

/* isa-debug-exit at 0xF4: a write of v stops the VM with status (v<<1)|1. */
int debug_exit__init(struct vm *vm);
void debug_exit__exit(struct vm *vm);

/* Ports Linux pokes that need no model (POST 0x80, ...): sink them quietly.
 * Port 0x92 reads A20-on and resets the VM when bit 0 is written.  There is
 * no exit function: the claims go away with vm->pio. */
int legacy_sink__init(struct vm *vm);

#endif
