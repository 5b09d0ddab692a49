/* Interrupt acceptance of the software CPU with the real LAPIC: delivery
 * at an instruction boundary through the IDT, the STI interrupt shadow,
 * IF=0 masking, HLT leaving on an interrupt, NMI blocking until IRET. */
#include <criterion/criterion.h>

#include "accel/soft/irqchip/irqchip.h"
#include "test_soft_sys.h"

#define GDT 0x1000ull
#define IDT 0x2000ull
#define PT  0x10000ull

struct irq_env {
	struct sys_env e;
	struct soft_irqchip *chip;
};

static void irq_env_init(struct irq_env *x)
{
	uint32_t svr = 0x1ff;
	struct soft_cpu *cpu;

	env_init(&x->e, 1, true);
	cr_assert_eq(soft_irqchip__create(x->e.vm, 1, &x->chip), 0);
	x->e.svm->irqchip = x->chip;
	cpu = x->e.cpu;
	cpu->lapic = soft_irqchip__lapic(x->chip, 0);
	cr_assert_not_null(cpu->lapic);
	lapic__mmio_write(cpu->lapic, 0xf0, &svr, 4);   /* software-enable */
	soft_cpu__setup_flat(cpu, 64, put_identity_map(&x->e, PT));
	put64(&x->e, GDT + 0x10, desc(0xb, 0, true, false, true));
	put64(&x->e, GDT + 0x18, desc(0x3, 0, false, true, true));
	cpu->gdtr.base = GDT;
	cpu->gdtr.limit = 0x1f;
	cpu->seg[SOFT_CS].sel = 0x10;
	cpu->seg[SOFT_SS].sel = 0x18;
	cpu->idtr.base = IDT;
	cpu->idtr.limit = 0xfff;
	cpu->gpr[SOFT_RSP] = 0x70000;
	soft_cpu__update_mode(cpu);
}

static void irq_env_fini(struct irq_env *x)
{
	x->e.cpu->lapic = NULL;
	soft_irqchip__destroy(x->chip);
	env_fini(&x->e);
}

/* Fixed self-IPI with this vector. */
static void self_ipi(struct soft_cpu *cpu, uint8_t vector)
{
	uint32_t hi = 0, lo = vector | (1u << 18);   /* shorthand: self */

	lapic__mmio_write(cpu->lapic, 0x310, &hi, 4);
	lapic__mmio_write(cpu->lapic, 0x300, &lo, 4);
}

Test(soft_sys_irq, sti_shadow_then_delivery)
{
	/* sti ; mov eax,1 ; mov ebx,2 ; hlt   -- handler: hlt */
	static const uint8_t code[] = { 0xfb, 0xb8, 1, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0xf4 };
	static const uint8_t hlt[] = { 0xf4 };
	struct irq_env x;
	struct soft_cpu *cpu;

	irq_env_init(&x);
	cpu = x.e.cpu;
	put_gate64(&x.e, IDT, 0x40, 0x6000, 0x10, 0xe, 0, 0);
	put(&x.e, 0x8000, code, sizeof(code));
	put(&x.e, 0x6000, hlt, sizeof(hlt));
	cpu->rip = 0x8000;
	self_ipi(cpu, 0x40);   /* pending while IF = 0 */
	cr_assert_eq(soft_exec__run(cpu, 100), SOFT_RUN_EXIT);
	cr_expect_eq(cpu->rip, 0x6001, "interrupt handler did not run");
	cr_expect_eq(cpu->gpr[SOFT_RAX], 1, "the instruction after STI runs first");
	cr_expect_eq(cpu->gpr[SOFT_RBX], 0, "delivered right after the shadow");
	cr_expect_eq(get64(&x.e, 0x70000 - 40), 0x8006, "pushed RIP");
	cr_expect(!(soft_flags__get(cpu) & SOFT_FL_IF));
	irq_env_fini(&x);
}

Test(soft_sys_irq, if_clear_masks_and_hlt_wakes)
{
	/* hlt with IF=0 -> stays halted although an interrupt is pending */
	static const uint8_t code[] = { 0xf4, 0x90, 0xf4 };
	static const uint8_t iretq[] = { 0x48, 0xcf };
	struct irq_env x;
	struct soft_cpu *cpu;

	irq_env_init(&x);
	cpu = x.e.cpu;
	put_gate64(&x.e, IDT, 0x41, 0x6000, 0x10, 0xe, 0, 0);
	put(&x.e, 0x8000, code, sizeof(code));
	put(&x.e, 0x6000, iretq, sizeof(iretq));
	cpu->rip = 0x8000;
	self_ipi(cpu, 0x41);
	cr_assert_eq(soft_exec__run(cpu, 100), SOFT_RUN_EXIT);
	cr_expect(cpu->halted);
	cr_expect_eq(cpu->rip, 0x8001);
	cr_expect(!soft_sys__wake_pending(cpu), "IF=0: HLT must not end");
	cr_expect_eq(soft_sys__check_interrupts(cpu), SOFT_OK);
	cr_expect(cpu->halted, "delivered with IF=0");
	/* IF=1: the pending interrupt ends HLT, the handler IRETs to after it */
	soft_flags__set(cpu, soft_flags__get(cpu) | SOFT_FL_IF);
	cr_expect(soft_sys__wake_pending(cpu));
	cr_expect_eq(soft_sys__check_interrupts(cpu), SOFT_OK);
	cr_expect(!cpu->halted);
	cr_expect_eq(cpu->rip, 0x6000);
	cr_assert_eq(soft_exec__run(cpu, 100), SOFT_RUN_EXIT);
	cr_expect_eq(cpu->rip, 0x8003, "IRETQ back after the HLT, then the next HLT");
	irq_env_fini(&x);
}

Test(soft_sys_irq, nmi_blocked_until_iret)
{
	/* NMI handler: inc r8 ; iretq */
	static const uint8_t nmi[] = { 0x49, 0xff, 0xc0, 0x48, 0xcf };
	static const uint8_t code[] = { 0x90, 0x90, 0x90, 0x90, 0xf4 };
	struct irq_env x;
	struct soft_cpu *cpu;
	uint32_t hi = 0, lo = 4u << 8;   /* NMI to APIC ID 0 */

	irq_env_init(&x);
	cpu = x.e.cpu;
	put_gate64(&x.e, IDT, 2, 0x6000, 0x10, 0xe, 0, 0);
	put(&x.e, 0x6000, nmi, sizeof(nmi));
	put(&x.e, 0x8000, code, sizeof(code));
	cpu->rip = 0x8000;
	lapic__mmio_write(cpu->lapic, 0x310, &hi, 4);
	lapic__mmio_write(cpu->lapic, 0x300, &lo, 4);
	cr_assert_eq(soft_sys__check_interrupts(cpu), SOFT_OK);
	cr_assert_eq(cpu->rip, 0x6000, "NMI not delivered (IF=0 must not matter)");
	cr_expect(cpu->nmi_blocked);
	/* a second NMI now waits for the IRET */
	lapic__mmio_write(cpu->lapic, 0x300, &lo, 4);
	cr_expect_eq(soft_sys__check_interrupts(cpu), SOFT_OK);
	cr_expect_eq(cpu->rip, 0x6000, "nested NMI delivered while blocked");
	cr_assert_eq(soft_exec__run(cpu, 100), SOFT_RUN_EXIT);
	cr_expect_eq(cpu->gpr[SOFT_R8], 2, "second NMI after IRET");
	cr_expect(!cpu->nmi_blocked);
	cr_expect_eq(cpu->rip, 0x8005);
	irq_env_fini(&x);
}
