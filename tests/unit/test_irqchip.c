/* irqchip: 8259 pair, IOAPIC, LAPIC priority, IPIs, INIT/SIPI.  Registers
 * are driven through the buses / LAPIC MMIO entry points like a guest would;
 * results are observed through lapic__pending_vector/accept and the hooks. */
#include "test_irqchip_common.h"

TestSuite(pic, .init = setup, .fini = teardown);
TestSuite(ioapic, .init = setup, .fini = teardown);
TestSuite(lapic, .init = setup, .fini = teardown);
TestSuite(ipi, .init = setup, .fini = teardown);

/* ---- 8259 -------------------------------------------------------------- */

Test(pic, init_mask_eoi)
{
	pic_init(0xFD, 0xFF);          /* only IRQ1 */
	cr_assert_eq(inb(0x21), 0xFD);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);

	soft_irqchip__set_irq(chip, 1, 1);
	soft_irqchip__set_irq(chip, 1, 0);
	cr_assert_gt(atomic_load(&rec[0].wake), 0, "BSP not woken by ExtINT");
	cr_assert_eq(atomic_load(&rec[1].wake), 0, "AP LINT0 is masked after reset");
	cr_assert_eq(lapic__pending_vector(L(0)), 0x21);
	cr_assert_eq(lapic__pending_vector(L(1)), -1);

	outb(0x20, 0x0A);              /* OCW3: read IRR */
	cr_assert_eq(inb(0x20), 0x02);
	cr_assert_eq(lapic__accept(L(0)), 0x21);
	cr_assert_eq(inb(0x20), 0x00, "edge IRR consumed by INTA");
	outb(0x20, 0x0B);              /* OCW3: read ISR */
	cr_assert_eq(inb(0x20), 0x02);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	outb(0x20, 0x20);              /* non-specific EOI */
	cr_assert_eq(inb(0x20), 0x00);

	/* A masked edge stays requested in IRR and fires when unmasked. */
	soft_irqchip__set_irq(chip, 3, 1);
	soft_irqchip__set_irq(chip, 3, 0);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	outb(0x21, 0xF5);
	cr_assert_eq(lapic__accept(L(0)), 0x23);
}

Test(pic, priority_and_nesting)
{
	pic_init(0x00, 0xFF);
	soft_irqchip__set_irq(chip, 4, 1);
	soft_irqchip__set_irq(chip, 1, 1);
	cr_assert_eq(lapic__accept(L(0)), 0x21, "IRQ1 beats IRQ4");
	/* IRQ4 is lower priority than in-service IRQ1: held. */
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	/* IRQ0 is higher: nests. */
	soft_irqchip__set_irq(chip, 0, 1);
	cr_assert_eq(lapic__accept(L(0)), 0x20);
	outb(0x20, 0x20);              /* EOI IRQ0 */
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	outb(0x20, 0x61);              /* specific EOI IRQ1 */
	cr_assert_eq(lapic__accept(L(0)), 0x24);
	outb(0x20, 0x0B);
	cr_assert_eq(inb(0x20), 0x10);

	/* Rotation (OCW2 set priority): IRQ4 lowest makes IRQ5 the highest. */
	outb(0x20, 0x20);
	soft_irqchip__set_irq(chip, 0, 0);
	soft_irqchip__set_irq(chip, 0, 1);
	soft_irqchip__set_irq(chip, 6, 1);
	outb(0x20, 0xC4);
	cr_assert_eq(lapic__accept(L(0)), 0x26);
}

Test(pic, cascade)
{
	pic_init(0xFB, 0xEF);          /* master: only IR2; slave: only IRQ12 */
	soft_irqchip__set_irq(chip, 12, 1);
	soft_irqchip__set_irq(chip, 12, 0);
	cr_assert_eq(lapic__accept(L(0)), 0x2C);
	outb(0x20, 0x0B);
	outb(0xA0, 0x0B);
	cr_assert_eq(inb(0x20), 0x04, "master ISR: cascade line");
	cr_assert_eq(inb(0xA0), 0x10, "slave ISR: IRQ12");
	outb(0xA0, 0x20);
	outb(0x20, 0x20);
	cr_assert_eq(inb(0x20), 0);
	cr_assert_eq(inb(0xA0), 0);
	/* Masked at the slave: nothing reaches the master. */
	soft_irqchip__set_irq(chip, 9, 1);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
}

Test(pic, elcr_level)
{
	pic_init(0xFB, 0xFB);          /* IRQ10 via cascade */
	outb(0x4D1, 0x04);
	cr_assert_eq(inb(0x4D1), 0x04);
	outb(0x4D0, 0xFF);
	cr_assert_eq(inb(0x4D0), 0xF8, "IRQ0-2 cannot be level");

	soft_irqchip__set_irq(chip, 10, 1);
	cr_assert_eq(lapic__accept(L(0)), 0x2A);
	outb(0xA0, 0x20);
	outb(0x20, 0x20);
	cr_assert_eq(lapic__accept(L(0)), 0x2A, "level line still high: again");
	outb(0xA0, 0x20);
	outb(0x20, 0x20);
	soft_irqchip__set_irq(chip, 10, 0);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
}

Test(pic, auto_eoi_and_poll)
{
	outb(0x20, 0x11); outb(0x21, 0x30); outb(0x21, 0x04); outb(0x21, 0x03);
	outb(0x21, 0xF9);
	soft_irqchip__set_irq(chip, 1, 1);
	cr_assert_eq(lapic__accept(L(0)), 0x31);
	outb(0x20, 0x0B);
	cr_assert_eq(inb(0x20), 0, "auto-EOI leaves ISR clear");

	soft_irqchip__set_irq(chip, 1, 0);
	soft_irqchip__set_irq(chip, 1, 1);
	outb(0x20, 0x0C);              /* poll */
	cr_assert_eq(inb(0x20), 0x81);
	outb(0x20, 0x0C);
	cr_assert_eq(inb(0x20), 0x00);
}

Test(pic, lint0_masked_blocks_extint)
{
	pic_init(0xFD, 0xFF);
	apic_enable(0);
	apic_w(0, 0x350, 0x10700);     /* LINT0 ExtINT, masked */
	soft_irqchip__set_irq(chip, 1, 1);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	apic_w(0, 0x350, 0x00700);
	cr_assert_eq(lapic__pending_vector(L(0)), 0x21);
}

/* ---- IOAPIC ------------------------------------------------------------ */

Test(ioapic, id_version)
{
	cr_assert_eq(ioapic_r(1), 0x00170011, "KVM's in-kernel IOAPIC version");
	ioapic_w(0, 0x05000000);
	cr_assert_eq(ioapic_r(0), 0x05000000);
	cr_assert_eq(ioapic_r(0x10) & 0x10000, 0x10000, "pins masked at reset");
}

Test(ioapic, edge)
{
	pic_init(0xFF, 0xFF);
	apic_enable(0);
	apic_enable(1);
	ioapic_route(5, (1ull << 56) | 0x45);  /* physical dest 1, edge */
	soft_irqchip__set_irq(chip, 5, 1);
	cr_assert_eq(lapic__pending_vector(L(1)), 0x45);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	cr_assert_gt(atomic_load(&rec[1].wake), 0);
	/* Line held high: no new edge. */
	cr_assert_eq(lapic__accept(L(1)), 0x45);
	soft_irqchip__set_irq(chip, 5, 1);
	cr_assert_eq(lapic__pending_vector(L(1)), -1);
	cr_assert(!apic_bit(1, 0x180, 0x45), "edge: TMR clear");
	apic_w(1, 0xB0, 0);
	soft_irqchip__set_irq(chip, 5, 0);
	/* Masked edge is lost. */
	ioapic_route(5, (1ull << 56) | 0x10000 | 0x45);
	soft_irqchip__set_irq(chip, 5, 1);
	soft_irqchip__set_irq(chip, 5, 0);
	ioapic_route(5, (1ull << 56) | 0x45);
	cr_assert_eq(lapic__pending_vector(L(1)), -1);
	/* GSI 16-23 exist only on the IOAPIC. */
	ioapic_route(17, 0x57);
	cr_assert_eq(soft_irqchip__set_irq(chip, 17, 1), 0);
	cr_assert_eq(lapic__pending_vector(L(0)), 0x57);
	cr_assert_eq(soft_irqchip__set_irq(chip, 24, 1), -EINVAL);
}

Test(ioapic, level_remote_irr_eoi)
{
	pic_init(0xFF, 0xFF);
	apic_enable(0);
	ioapic_route(9, 0x8000 | 0x59);        /* level, dest 0 */
	soft_irqchip__set_irq(chip, 9, 1);
	cr_assert_eq(ioapic_r(0x10 + 18) & 0x4000, 0x4000, "remote IRR set");
	cr_assert_eq(lapic__accept(L(0)), 0x59);
	cr_assert(apic_bit(0, 0x180, 0x59), "level: TMR set");
	/* Still in service: no second delivery. */
	soft_irqchip__set_irq(chip, 9, 1);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	/* EOI with the line still asserted: remote IRR cleared, re-delivered. */
	apic_w(0, 0xB0, 0);
	cr_assert_eq(lapic__pending_vector(L(0)), 0x59);
	cr_assert_eq(ioapic_r(0x10 + 18) & 0x4000, 0x4000);
	cr_assert_eq(lapic__accept(L(0)), 0x59);
	soft_irqchip__set_irq(chip, 9, 0);
	apic_w(0, 0xB0, 0);
	cr_assert_eq(ioapic_r(0x10 + 18) & 0x4000, 0, "remote IRR cleared by EOI");
	cr_assert_eq(lapic__pending_vector(L(0)), -1);

	/* Masked level line delivers when unmasked. */
	ioapic_route(9, 0x18000 | 0x59);
	soft_irqchip__set_irq(chip, 9, 1);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	ioapic_route(9, 0x08000 | 0x59);
	cr_assert_eq(lapic__pending_vector(L(0)), 0x59);

	/* Version 0x11 has no EOI register (KVM ignores +0x40 too): only the
	 * LAPIC's EOI broadcast clears remote IRR. */
	lapic__accept(L(0));
	soft_irqchip__set_irq(chip, 9, 0);
	uint32_t eoi = 0x59;
	bus__write(&vm->mmio, VM_IOAPIC_BASE + 0x40, &eoi, 4);
	cr_assert_eq(ioapic_r(0x10 + 18) & 0x4000, 0x4000);
	apic_w(0, 0xB0, 0);
	cr_assert_eq(ioapic_r(0x10 + 18) & 0x4000, 0);
}

Test(ioapic, logical_and_nmi)
{
	pic_init(0xFF, 0xFF);
	for (int i = 0; i < NCPU; i++) {
		apic_enable(i);
		apic_w(i, 0xE0, 0xFFFFFFFF);
		apic_w(i, 0xD0, (1u << i) << 24);
	}
	ioapic_route(6, (0x06ull << 56) | 0x800 | 0x66);  /* logical 1|2 */
	soft_irqchip__set_irq(chip, 6, 1);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	cr_assert_eq(lapic__pending_vector(L(1)), 0x66);
	cr_assert_eq(lapic__pending_vector(L(2)), 0x66);
	cr_assert_eq(lapic__pending_vector(L(3)), -1);

	ioapic_route(7, (3ull << 56) | 0x400);  /* NMI to CPU 3 */
	soft_irqchip__set_irq(chip, 7, 1);
	cr_assert(lapic__nmi_pending(L(3)));
	cr_assert(lapic__take_nmi(L(3)));
	cr_assert(!lapic__nmi_pending(L(3)));
}

/* ---- LAPIC -------------------------------------------------------------- */

Test(lapic, reset_values)
{
	cr_assert_eq(apic_r(2, 0x20), 2u << 24);
	cr_assert_eq(apic_r(0, 0x30), 0x00050014);
	cr_assert_eq(apic_r(0, 0xE0), 0xFFFFFFFF);
	cr_assert_eq(apic_r(0, 0xF0), 0xFF);
	cr_assert_eq(apic_r(0, 0x350), 0x700, "BSP LINT0 ExtINT");
	cr_assert_eq(apic_r(1, 0x350), 0x10000, "AP LINT0 masked");
	cr_assert_eq(lapic__get_base(L(0)), 0xFEE00000 | 0x900);
	cr_assert_eq(lapic__get_base(L(1)), 0xFEE00000 | 0x800);
	cr_assert_eq(lapic__mmio_page(L(1)), 0xFEE00000);
}

Test(lapic, tpr_ppr)
{
	apic_enable(0);
	apic_w(0, 0x300, 0x40050);     /* self IPI, vector 0x50 */
	cr_assert_eq(lapic__pending_vector(L(0)), 0x50);
	apic_w(0, 0x80, 0x50);
	cr_assert_eq(lapic__pending_vector(L(0)), -1, "class 5 not above TPR 5");
	cr_assert_eq(lapic__get_tpr(L(0)), 5);
	lapic__set_tpr(L(0), 4);
	cr_assert_eq(apic_r(0, 0x80), 0x40);
	cr_assert_eq(lapic__pending_vector(L(0)), 0x50);
	cr_assert_eq(lapic__accept(L(0)), 0x50);
	cr_assert_eq(apic_r(0, 0xA0), 0x50, "PPR = ISR class");
	cr_assert(apic_bit(0, 0x100, 0x50));

	apic_w(0, 0x300, 0x40045);
	cr_assert_eq(lapic__pending_vector(L(0)), -1, "0x45 below in-service 0x50");
	apic_w(0, 0x300, 0x40061);
	cr_assert_eq(lapic__accept(L(0)), 0x61);
	apic_w(0, 0xB0, 0);            /* EOI 0x61 */
	apic_w(0, 0xB0, 0);            /* EOI 0x50 */
	cr_assert_eq(apic_r(0, 0xA0), 0x40, "PPR = TPR");
	cr_assert_eq(lapic__pending_vector(L(0)), -1, "0x45 not above TPR 0x40");
	lapic__set_tpr(L(0), 0);
	cr_assert_eq(lapic__accept(L(0)), 0x45);
	cr_assert_eq(lapic__accept(L(0)), -1);
}

Test(lapic, sw_disabled_drops_fixed)
{
	/* SVR bit 8 clear (reset state): fixed interrupts are dropped. */
	apic_w(0, 0x300, 0x40050);
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	apic_w(0, 0x320, 0x30);        /* LVT writes keep the mask */
	cr_assert_eq(apic_r(0, 0x320), 0x10030);
}

Test(lapic, esr_illegal_vector)
{
	apic_enable(0);
	apic_w(0, 0x370, 0xFE);        /* error LVT */
	apic_w(0, 0x300, 0x40005);     /* self, vector 5: illegal */
	apic_w(0, 0x280, 0);
	cr_assert_eq(apic_r(0, 0x280), 0x20, "send illegal vector");
	cr_assert_eq(lapic__accept(L(0)), 0xFE);
	apic_w(0, 0x280, 0);
	cr_assert_eq(apic_r(0, 0x280), 0);
}

Test(lapic, apic_base_msr)
{
	cr_assert_eq(lapic__set_base(L(0), 0xFEE00000 | 0xC00), -EINVAL, "x2APIC");
	cr_assert_eq(lapic__set_base(L(0), 0xFEE00001 | 0x800), -EINVAL, "reserved");
	cr_assert_eq(lapic__set_base(L(0), 0xFED00000 | 0x800), 0);
	cr_assert_eq(lapic__mmio_page(L(0)), 0xFED00000);
	cr_assert_eq(lapic__get_base(L(0)), 0xFED00900, "BSP bit is read-only");
	/* Hardware-disabled: IPIs ignored, PIC reaches the CPU directly. */
	apic_enable(1);
	apic_w(1, 0x350, 0x10000);
	pic_init(0xFD, 0xFF);
	cr_assert_eq(lapic__set_base(L(1), 0xFEE00000), 0);
	cr_assert_eq(lapic__mmio_page(L(1)), UINT64_MAX);
	soft_irqchip__set_irq(chip, 1, 1);
	cr_assert_eq(lapic__pending_vector(L(1)), 0x21);
}

/* ---- IPIs --------------------------------------------------------------- */

static void enable_all(void)
{
	for (int i = 0; i < NCPU; i++)
		apic_enable(i);
}

Test(ipi, shorthands)
{
	enable_all();
	apic_w(0, 0x300, 0xC0070);     /* all but self */
	cr_assert_eq(lapic__pending_vector(L(0)), -1);
	for (int i = 1; i < NCPU; i++) {
		cr_assert_eq(lapic__accept(L(i)), 0x70, "cpu %d", i);
		cr_assert_eq(atomic_load(&rec[i].wake), 1, "wake %d", atomic_load(&rec[i].wake));
		apic_w(i, 0xB0, 0);
	}
	apic_w(2, 0x300, 0x80071);     /* all including self */
	for (int i = 0; i < NCPU; i++)
		cr_assert_eq(lapic__accept(L(i)), 0x71, "cpu %d", i);
	cr_assert_eq(apic_r(2, 0x300) & 0x1000, 0, "delivery status idle");
}

Test(ipi, physical_and_broadcast)
{
	enable_all();
	apic_w(0, 0x310, 2u << 24);
	apic_w(0, 0x300, 0x00072);
	for (int i = 0; i < NCPU; i++)
		cr_assert_eq(lapic__pending_vector(L(i)), i == 2 ? 0x72 : -1, "cpu %d", i);
	apic_w(0, 0x310, 0xFFu << 24);
	apic_w(0, 0x300, 0x00073);
	for (int i = 0; i < NCPU; i++)
		cr_assert_eq(lapic__accept(L(i)), 0x73, "cpu %d", i);
}

Test(ipi, logical_flat_cluster_lowest)
{
	enable_all();
	for (int i = 0; i < NCPU; i++)
		apic_w(i, 0xD0, (1u << i) << 24);
	apic_w(0, 0x310, 0x06u << 24);
	apic_w(0, 0x300, 0x00874);     /* logical, fixed */
	for (int i = 0; i < NCPU; i++)
		cr_assert_eq(lapic__pending_vector(L(i)), (i == 1 || i == 2) ? 0x74 : -1,
			     "flat cpu %d", i);
	for (int i = 0; i < NCPU; i++)
		if (lapic__accept(L(i)) >= 0)
			apic_w(i, 0xB0, 0);

	/* Lowest priority: one destination only (the lowest-numbered). */
	apic_w(0, 0x310, 0x0Cu << 24);
	apic_w(0, 0x300, 0x00975);
	cr_assert_eq(lapic__pending_vector(L(2)), 0x75);
	cr_assert_eq(lapic__pending_vector(L(3)), -1);
	lapic__accept(L(2));

	/* Cluster model: cluster 1 members 0x1, 0x2 are CPUs 2, 3. */
	for (int i = 0; i < NCPU; i++) {
		apic_w(i, 0xE0, 0x0FFFFFFF);
		apic_w(i, 0xD0, (((i / 2) << 4) | (1u << (i % 2))) << 24);
	}
	apic_w(0, 0x310, 0x12u << 24);
	apic_w(0, 0x300, 0x00876);
	for (int i = 0; i < NCPU; i++)
		cr_assert_eq(lapic__pending_vector(L(i)), i == 3 ? 0x76 : -1, "cluster cpu %d", i);
}

Test(ipi, nmi)
{
	enable_all();
	apic_w(0, 0x310, 1u << 24);
	apic_w(0, 0x300, 0x00400);
	cr_assert(lapic__nmi_pending(L(1)));
	cr_assert(!lapic__nmi_pending(L(0)));
	cr_assert_eq(atomic_load(&rec[1].wake), 1);
}

Test(ipi, init_sipi)
{
	enable_all();
	apic_w(1, 0x80, 0x20);
	/* INIT assert (level) to CPU 1: hook + LAPIC back to reset state. */
	apic_w(0, 0x310, 1u << 24);
	apic_w(0, 0x300, 0x0C500);
	cr_assert_eq(atomic_load(&rec[1].init), 1);
	cr_assert_eq(apic_r(1, 0xF0), 0xFF, "INIT reset the LAPIC");
	cr_assert_eq(apic_r(1, 0x80), 0);
	cr_assert_eq(apic_r(1, 0x20), 1u << 24, "ID kept");
	/* INIT de-assert: nothing. */
	apic_w(0, 0x300, 0x08500);
	cr_assert_eq(atomic_load(&rec[1].init), 1);
	/* STARTUP, vector 0x9A, sent to all but self. */
	apic_w(0, 0x300, 0xC469A);
	for (int i = 1; i < NCPU; i++) {
		cr_assert_eq(atomic_load(&rec[i].sipi), 1, "cpu %d", i);
		cr_assert_eq(atomic_load(&rec[i].sipi_vector), 0x9A);
	}
	cr_assert_eq(atomic_load(&rec[0].sipi), 0);
}

Test(ipi, msi)
{
	enable_all();
	/* physical destination 2, fixed, vector 0x41, edge */
	cr_assert_eq(soft_irqchip__signal_msi(chip, 0xFEE02000, 0x0041), 0);
	for (int i = 0; i < NCPU; i++)
		cr_assert_eq(lapic__pending_vector(L(i)), i == 2 ? 0x41 : -1, "cpu %d", i);
	cr_assert_eq(atomic_load(&rec[2].wake), 1);
	/* logical (address bit 2), flat: LDR bit 3 is CPU 3 */
	apic_w(3, 0xD0, 0x08000000);
	cr_assert_eq(soft_irqchip__signal_msi(chip, 0xFEE08004, 0x0042), 0);
	cr_assert_eq(lapic__pending_vector(L(3)), 0x42);
	cr_assert_eq(soft_irqchip__signal_msi(chip, 0xFED00000, 0x0043), -EINVAL);
}
