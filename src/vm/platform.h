/* The fixed PC platform every vireo guest sees, whatever the CPU backend.
 * Boot tables (MP, ACPI) and device models both read these, so they can
 * never disagree. */
#ifndef VIREO_VM_PLATFORM_H
#define VIREO_VM_PLATFORM_H

/* Port I/O */
#define PORT_PIC_MASTER     0x20
#define PORT_PIT            0x40   /* 0x40-0x43 */
#define PORT_I8042_DATA     0x60
#define PORT_SPEAKER        0x61
#define PORT_I8042_CMD      0x64
#define PORT_RTC            0x70   /* 0x70-0x71 */
#define PORT_POST           0x80
#define PORT_PIC_SLAVE      0xA0
#define PORT_DEBUG_EXIT     0xF4   /* QEMU isa-debug-exit compatible */
#define PORT_COM1           0x3F8
#define PORT_COM2           0x2F8
#define PORT_PCI_CONFIG     0xCF8  /* 0xCF8-0xCFF; byte 0xCF9 = reset control */
#define PORT_ACPI_PM_BASE   0x600
#define PORT_ACPI_PM1A_EVT  (PORT_ACPI_PM_BASE + 0x0) /* 4 bytes: STS(2) EN(2) */
#define PORT_ACPI_PM1A_CNT  (PORT_ACPI_PM_BASE + 0x4) /* 2 bytes */
#define PORT_ACPI_PM_TMR    (PORT_ACPI_PM_BASE + 0x8) /* 4 bytes, 3.579545 MHz */
#define PORT_ACPI_RESET     0xCF9
#define ACPI_RESET_VALUE    0x06
#define ACPI_S5_SLP_TYP     5      /* value in \_S5 and PM1a_CNT.SLP_TYP */

/* ISA interrupts (GSI numbers, identity-mapped to IOAPIC pins) */
#define IRQ_PIT     0
#define IRQ_KBD     1
#define IRQ_COM2    3
#define IRQ_COM1    4
#define IRQ_RTC     8
#define IRQ_SCI     9
#define IRQ_MOUSE   12
#define IOAPIC_NR_PINS 24
/* PCI INTx: slots swizzle onto GSI 16-19 */
#define IRQ_PCI_BASE 16

#endif
