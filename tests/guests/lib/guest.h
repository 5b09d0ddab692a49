/* The test-guest library: everything a vireo test guest needs, with no libc.
 *
 * A guest defines `int main(void)`; returning 0 passes, anything else fails.
 * Before main runs, the library has loaded its own GDT (CS 0x10, DS 0x18,
 * the same selectors as vireo's boot GDT), a stack, an IDT that reports any
 * unexpected exception or interrupt and fails, and set up COM1.
 *
 * Guests run in KVM's instruction emulator on hosts without VMX/SVM, at
 * about 1.6 MIPS: keep loops short.  See docs/test-guests.md. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MAX_CPUS 64

/* Platform constants (mirrors src/vm/platform.h and src/vm/vm.h; guests are
 * built separately and must not include VMM headers). */
#define PORT_COM1          0x3F8
#define PORT_DEBUG_EXIT    0xF4
#define PORT_PM1A_CNT      0x604
#define PORT_PM_TMR        0x608
#define PM_TMR_HZ          3579545u
#define LAPIC_DEFAULT_BASE  0xFEE00000ull
#define IOAPIC_DEFAULT_BASE 0xFEC00000ull
#define ECAM_DEFAULT_BASE   0xE0000000ull

/* Debug-exit codes: vireo exits with (code << 1) | 1. */
#define GUEST_PASS_CODE 0x10   /* exit status 33 */
#define GUEST_FAIL_CODE 0x11   /* exit status 35 */

int main(void);

/* ---- port I/O, MMIO, MSRs, control registers ---- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
/* A pointer to guest-physical memory (identity mapped).  The empty asm
 * hides the constant from GCC, which otherwise warns about dereferencing
 * small fixed addresses (-Warray-bounds). */
static inline void *phys(uint64_t addr)
{
	uintptr_t p = addr;

	__asm__("" : "+r"(p));
	return (void *)p;
}
static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)(uintptr_t)addr;
}
static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)addr = v;
}
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}
static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}
static inline void irq_enable(void)
{
	__asm__ volatile("sti" ::: "memory");
}
static inline void irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}
/* sti takes effect after the next instruction, so an interrupt that is
 * already pending wakes this hlt instead of being taken before it. */
static inline void safe_halt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}
_Noreturn void halt_forever(void);

/* ---- string helpers (the compiler may also emit calls to these) ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* ---- spinlocks (bounded: a lost lock degrades output, never hangs) ---- */
typedef struct {
	volatile uint32_t locked;
} spinlock_t;
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);

/* ---- serial console (COM1), safe to call from any CPU ---- */
void serial_init(void);
void putc(char c);
void puts(const char *s);     /* no newline added */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* %d %i %u %x %X %s %c %p %%, length l/ll/z, flags '0' and width. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- verdicts ---- */
_Noreturn void debug_exit(uint8_t code);
_Noreturn void pass(void);
_Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- boot parameters (the zero page vireo hands over in RSI) ---- */
extern uint8_t *guest_boot_params;
#define BP_ACPI_RSDP_ADDR   0x070  /* u64 */
#define BP_EXT_CMD_LINE_PTR 0x0C8  /* u32 */
#define BP_E820_ENTRIES     0x1E8  /* u8 */
#define BP_CMD_LINE_PTR     0x228  /* u32 */
#define BP_CMDLINE_SIZE     0x238  /* u32 */
#define BP_E820_TABLE       0x2D0  /* 20-byte entries */
#define BP_E820_MAX         128
uint64_t bp_read(unsigned off, unsigned size);
/* NUL-terminated kernel command line, or "" when there is none. */
const char *cmdline(void);
/* Value of "key=N" (decimal or 0x hex) on the command line, else def. */
uint64_t cmdline_u64(const char *key, uint64_t def);
/* True if the command line contains the word `word` (space separated). */
bool cmdline_has(const char *word);

/* ---- time: ACPI PM timer, 3.579545 MHz, 24 bits (wraps every 4.6 s) ---- */
uint32_t pmtmr_read(void);
/* Ticks elapsed since `start`; intervals must stay below 4.6 s. */
uint32_t pmtmr_since(uint32_t start);
static inline uint32_t pmtmr_us_to_ticks(uint32_t us)
{
	return (uint32_t)((uint64_t)us * PM_TMR_HZ / 1000000u);
}
static inline uint32_t pmtmr_ticks_to_us(uint32_t t)
{
	return (uint32_t)((uint64_t)t * 1000000u / PM_TMR_HZ);
}
/* Busy-wait; also gives up after a loop bound in case the timer is dead. */
void udelay(uint32_t us);

/* ---- interrupts ---- */
struct isr_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef void (*isr_handler_t)(struct isr_frame *f);
void idt_init(void);       /* done before main(); APs call idt_load() */
void idt_load(void);
void gdt_load(void);       /* the library's GDT; for APs */
void idt_set_handler(uint8_t vector, isr_handler_t h);
const char *exception_name(unsigned vector);

/* ---- LAPIC / IOAPIC ---- */
#define LAPIC_ID      0x020
#define LAPIC_VER     0x030
#define LAPIC_TPR     0x080
#define LAPIC_EOI     0x0B0
#define LAPIC_SVR     0x0F0
#define LAPIC_ESR     0x280
#define LAPIC_ICR_LO  0x300
#define LAPIC_ICR_HI  0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3E0
#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_TIMER_PERIODIC (1u << 17)
#define SPURIOUS_VECTOR 0xFF

uint64_t lapic_base(void);
uint32_t lapic_read(unsigned reg);
void lapic_write(unsigned reg, uint32_t v);
uint32_t lapic_id(void);
void lapic_enable(void);   /* software-enable, TPR 0, spurious vector 0xFF */
void lapic_eoi(void);
/* Send an IPI and wait (bounded) for the delivery-status bit to clear. */
int lapic_send_ipi(uint32_t apic_id, uint32_t icr_lo);

void ioapic_set_base(uint64_t base);
uint32_t ioapic_read(unsigned reg);
void ioapic_write(unsigned reg, uint32_t v);
/* Edge-triggered, active-high, fixed delivery, physical destination. */
void ioapic_route(unsigned pin, uint8_t vector, uint32_t dest_apic_id);
void ioapic_mask(unsigned pin);

/* Mask both 8259s so only the IOAPIC delivers ISA interrupts. */
void pic_disable(void);

/* ---- ACPI ---- */
struct acpi_sdt_hdr {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

/* The RSDP from the zero page's acpi_rsdp_addr, else a scan of the BIOS
 * area; checksums verified.  NULL if none. */
const uint8_t *acpi_find_rsdp(void);
/* A table by signature via the XSDT (or RSDT), checksum verified. */
const struct acpi_sdt_hdr *acpi_find_table(const char sig[4]);

struct madt_info {
	uint64_t lapic_base;
	uint64_t ioapic_base;
	int nr_cpus;
	uint32_t apic_ids[GUEST_MAX_CPUS];
	uint32_t isa_gsi[16];   /* ISA IRQ -> GSI after source overrides */
};
/* 0, or -1 when there is no usable MADT. */
int acpi_parse_madt(struct madt_info *mi);

/* Enabled processors in the MP table (their APIC IDs), or -1 if there is no
 * valid MP table. */
int mptable_cpus(uint32_t *apic_ids, int max);

#endif
