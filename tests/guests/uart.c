/* The 16550A UART on COM1, probed the way Linux's 8250 driver does:
 * scratch register, divisor latch, FIFO identification (IIR bits 7:6),
 * loopback (MCR.LOOP: modem outputs reflected in MSR, bytes sent come back
 * in RBR and are not transmitted), and the THR-empty interrupt on IRQ4
 * through the IOAPIC, which the kernel needs to transmit from userspace.
 * Results are printed only after the UART is back to normal. */
#include "guest.h"

#define COM1 PORT_COM1
#define THR 0
#define RBR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7
#define UART_VECTOR 0x50

static const char loop_msg[] = "LOOPBACK-ONLY";
static volatile unsigned thre_irqs;
static volatile uint8_t irq_iir;

static void on_uart(struct isr_frame *f)
{
	(void)f;
	irq_iir = inb(COM1 + IIR);
	thre_irqs++;
	outb(COM1 + IER, 0);   /* one is enough */
	lapic_eoi();
}

int main(void)
{
	char err[128] = "", got[sizeof(loop_msg)] = "";
	uint8_t scr, dll, dlm, iir, msr1, msr2, lsr, iir_idle;
	struct madt_info mi;
	unsigned i, n, pin;

	acpi_parse_madt(&mi);
	ioapic_set_base(mi.ioapic_base);
	pin = mi.isa_gsi[4];
	if (pin >= 24)
		fail("uart: IRQ4 overridden to GSI %u", pin);

	outb(COM1 + SCR, 0x5A);
	scr = inb(COM1 + SCR);
	outb(COM1 + LCR, 0x83);       /* DLAB */
	outb(COM1 + DLL, 0x01);       /* 115200 baud */
	outb(COM1 + DLM, 0x00);
	dll = inb(COM1 + DLL);
	dlm = inb(COM1 + DLM);
	outb(COM1 + LCR, 0x03);
	outb(COM1 + FCR, 0x07);
	iir = inb(COM1 + IIR);

	/* Loopback: Linux's autoconfig expects MSR = 0x90 for LOOP|OUT2|RTS. */
	outb(COM1 + MCR, 0x10 | 0x0A);
	msr1 = inb(COM1 + MSR) & 0xF0;
	outb(COM1 + MCR, 0x1F);
	msr2 = inb(COM1 + MSR) & 0xF0;
	for (i = 0; i + 1 < sizeof(loop_msg); i++)
		outb(COM1 + THR, loop_msg[i]);
	for (i = 0, n = 0; i + 1 < sizeof(loop_msg) && n < 10000; n++) {
		if (inb(COM1 + LSR) & 0x01)
			got[i++] = inb(COM1 + RBR);
	}
	got[i] = 0;
	lsr = inb(COM1 + LSR);
	outb(COM1 + MCR, 0x0B);       /* DTR | RTS | OUT2 (OUT2 gates IRQ4) */

	/* THR-empty interrupt. */
	pic_disable();
	lapic_enable();
	idt_set_handler(UART_VECTOR, on_uart);
	iir_idle = inb(COM1 + IIR);
	ioapic_route(pin, UART_VECTOR, lapic_id());
	outb(COM1 + IER, 0x02);
	for (n = 0; !thre_irqs && n < 1000; n++) {
		/* The interrupt should be pending at once: poll a little
		 * instead of halting so a missing one cannot hang us. */
		irq_enable();
		udelay(1000);
		irq_disable();
	}
	outb(COM1 + IER, 0);
	ioapic_mask(pin);
	outb(COM1 + MCR, 0x03);

	printf("uart: scratch 0x%02x, divisor %u, IIR 0x%02x, idle IIR 0x%02x\n",
	       scr, dll | dlm << 8, iir, iir_idle);
	printf("uart: loopback MSR 0x%02x/0x%02x, echoed \"%s\", LSR after 0x%02x\n",
	       msr1, msr2, got, lsr);
	printf("uart: %u THRE interrupt(s) on IRQ4 (pin %u), IIR in handler 0x%02x\n",
	       thre_irqs, pin, irq_iir);
	if (scr != 0x5A)
		snprintf(err, sizeof(err), "scratch register read 0x%02x", scr);
	else if (dll != 1 || dlm != 0)
		snprintf(err, sizeof(err), "divisor latch read %u:%u", dlm, dll);
	else if ((iir & 0xC0) != 0xC0)
		snprintf(err, sizeof(err), "IIR 0x%02x: no 16550A FIFO", iir);
	else if (msr1 != 0x90 || msr2 != 0xF0)
		snprintf(err, sizeof(err), "loopback MSR 0x%02x/0x%02x, want 0x90/0xf0",
			 msr1, msr2);
	else if (strncmp(got, loop_msg, sizeof(loop_msg)))
		snprintf(err, sizeof(err), "loopback echoed \"%s\"", got);
	else if (lsr & 0x01)
		snprintf(err, sizeof(err), "LSR 0x%02x: data ready after draining", lsr);
	else if (!(iir_idle & 0x01))
		snprintf(err, sizeof(err), "IIR 0x%02x with IER 0: interrupt pending", iir_idle);
	else if (!thre_irqs)
		snprintf(err, sizeof(err), "no THRE interrupt within 1 s");
	else if ((irq_iir & 0x0F) != 0x02)
		snprintf(err, sizeof(err), "IIR 0x%02x in the handler, want THRE (0x2)",
			 irq_iir);
	if (err[0])
		fail("uart: %s", err);
	return 0;
}
