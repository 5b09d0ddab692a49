/* xAPIC (MMIO), IOAPIC and 8259 helpers. */
#include "guest.h"

#define MSR_APIC_BASE 0x1B
#define APIC_BASE_ENABLE (1ull << 11)

static uint64_t ioapic_base = IOAPIC_DEFAULT_BASE;

uint64_t lapic_base(void)
{
	uint64_t v = rdmsr(MSR_APIC_BASE);

	/* Fall back to the architectural default if the MSR is odd rather
	 * than poke an address outside the identity map. */
	v &= 0xFFFFF000ull;
	return v ? v : LAPIC_DEFAULT_BASE;
}

uint32_t lapic_read(unsigned reg)
{
	return mmio_read32(lapic_base() + reg);
}

void lapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(lapic_base() + reg, v);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_enable(void)
{
	uint64_t msr = rdmsr(MSR_APIC_BASE);

	if (!(msr & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, msr | APIC_BASE_ENABLE);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

int lapic_send_ipi(uint32_t apic_id, uint32_t icr_lo)
{
	unsigned n;

	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	for (n = 0; n < 100000; n++) {
		if (!(lapic_read(LAPIC_ICR_LO) & (1u << 12)))
			return 0;
		cpu_relax();
	}
	return -1;
}

void ioapic_set_base(uint64_t base)
{
	ioapic_base = base;
}

uint32_t ioapic_read(unsigned reg)
{
	mmio_write32(ioapic_base, reg);
	return mmio_read32(ioapic_base + 0x10);
}

void ioapic_write(unsigned reg, uint32_t v)
{
	mmio_write32(ioapic_base, reg);
	mmio_write32(ioapic_base + 0x10, v);
}

void ioapic_route(unsigned pin, uint8_t vector, uint32_t dest_apic_id)
{
	/* Mask while rewriting so a half-written entry never fires. */
	ioapic_write(0x10 + 2 * pin, 1u << 16);
	ioapic_write(0x11 + 2 * pin, dest_apic_id << 24);
	ioapic_write(0x10 + 2 * pin, vector);
}

void ioapic_mask(unsigned pin)
{
	ioapic_write(0x10 + 2 * pin, 1u << 16);
}

void pic_disable(void)
{
	/* Remap first (ICW1-4) so a stray 8259 interrupt lands on vectors
	 * 0xF0-0xFF instead of looking like a CPU exception, then mask all. */
	outb(0x20, 0x11);
	outb(0xA0, 0x11);
	outb(0x21, 0xF0);
	outb(0xA1, 0xF8);
	outb(0x21, 0x04);
	outb(0xA1, 0x02);
	outb(0x21, 0x01);
	outb(0xA1, 0x01);
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
}
