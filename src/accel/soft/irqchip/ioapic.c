/* IOAPIC: 24 pins at VM_IOAPIC_BASE, IOREGSEL at +0x00, IOWIN at +0x10.
 * Version 0x11 (82093AA) with no EOI register, as KVM's in-kernel IOAPIC
 * reports on x86 (measured: IOAPIC_VER reads 0x00170011 under KVM here) and
 * as the MP table says (src/boot/mptable.c).  Remote IRR is cleared by the
 * LAPIC's EOI broadcast.
 *
 * Polarity: like KVM, the IOAPIC's input is the logical "asserted" state
 * that soft_irqchip__set_irq is given; the polarity bit is stored and read
 * back but never inverts a line.  Devices and the firmware tables agree on
 * active-high ISA / active-low PCI wiring, so both backends behave alike. */
#include <string.h>

#include "accel/soft/irqchip/irqchip_priv.h"
#include "util/log.h"

#define IOAPIC_VERSION    0x11
#define IOAPIC_REG_SEL    0x00
#define IOAPIC_REG_WIN    0x10

#define RTE_VECTOR        0xffull
#define RTE_MODE_SHIFT    8
#define RTE_DEST_LOGICAL  (1ull << 11)
#define RTE_DELIV_STATUS  (1ull << 12)
#define RTE_POLARITY      (1ull << 13)
#define RTE_REMOTE_IRR    (1ull << 14)
#define RTE_LEVEL         (1ull << 15)
#define RTE_MASKED        (1ull << 16)
#define RTE_DEST_SHIFT    56
/* Bits the guest may write: everything but delivery status and remote IRR
 * (and the reserved 17-55). */
#define RTE_WRITABLE      (0xff000000000000ffull | 0x700 | RTE_DEST_LOGICAL | \
			   RTE_POLARITY | RTE_LEVEL | RTE_MASKED)

void ioapic__init(struct ioapic *io, struct soft_irqchip *chip)
{
	memset(io, 0, sizeof(*io));
	pthread_mutex_init(&io->lock, NULL);
	io->chip = chip;
	ioapic__reset(io);
}

void ioapic__exit(struct ioapic *io)
{
	pthread_mutex_destroy(&io->lock);
}

void ioapic__reset(struct ioapic *io)
{
	pthread_mutex_lock(&io->lock);
	io->ioregsel = 0;
	io->id = 0;
	for (int i = 0; i < IOAPIC_NR_PINS; i++)
		io->redir[i] = RTE_MASKED;
	pthread_mutex_unlock(&io->lock);
}

/* Send pin's message if the pin is asserted and allowed to.  Lock held. */
static void service(struct ioapic *io, unsigned pin, struct hook_batch *batch)
{
	uint64_t e = io->redir[pin];
	struct apic_msg msg;
	int n;

	if (e & RTE_MASKED)
		return;
	if ((e & RTE_LEVEL) && (e & RTE_REMOTE_IRR))
		return;
	msg = (struct apic_msg){
		.vector = e & RTE_VECTOR,
		.mode = (e >> RTE_MODE_SHIFT) & 7,
		.logical = e & RTE_DEST_LOGICAL,
		.level_trig = e & RTE_LEVEL,
		.assert = true,
		.dest = e >> RTE_DEST_SHIFT,
		.shorthand = 0,
	};
	n = lapic__deliver(io->chip, NULL, &msg, batch);
	/* Remote IRR stays clear when nobody took the message, so the pin is
	 * not wedged (KVM does the same). */
	if (n > 0 && (e & RTE_LEVEL))
		io->redir[pin] |= RTE_REMOTE_IRR;
}

void ioapic__set_irq(struct ioapic *io, unsigned pin, int level)
{
	struct hook_batch batch;
	uint32_t bit;

	if (pin >= IOAPIC_NR_PINS)
		return;
	bit = 1u << pin;
	batch.n = 0;
	pthread_mutex_lock(&io->lock);
	if (!level) {
		io->lines &= ~bit;
	} else {
		bool rising = !(io->lines & bit);

		io->lines |= bit;
		/* An edge pin delivers on the rising edge only (an edge that
		 * arrives while masked is lost); a level pin delivers whenever
		 * asserted and not already in service (remote IRR). */
		if (rising || (io->redir[pin] & RTE_LEVEL))
			service(io, pin, &batch);
	}
	pthread_mutex_unlock(&io->lock);
	hook_batch__run(&batch);
}

void ioapic__eoi(struct ioapic *io, uint8_t vector)
{
	struct hook_batch batch;

	batch.n = 0;
	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < IOAPIC_NR_PINS; pin++) {
		uint64_t e = io->redir[pin];

		if ((e & RTE_VECTOR) != vector || !(e & RTE_LEVEL) || !(e & RTE_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		/* Still asserted: the device wants another interrupt. */
		if (io->lines & (1u << pin))
			service(io, pin, &batch);
	}
	pthread_mutex_unlock(&io->lock);
	hook_batch__run(&batch);
}

static uint32_t read_reg(struct ioapic *io)
{
	uint32_t sel = io->ioregsel;

	switch (sel) {
	case 0x00:
		return io->id << 24;
	case 0x01:
		return ((IOAPIC_NR_PINS - 1) << 16) | IOAPIC_VERSION;
	case 0x02:
		return io->id << 24;  /* arbitration ID */
	}
	if (sel >= 0x10 && sel < 0x10 + 2 * IOAPIC_NR_PINS) {
		uint64_t e = io->redir[(sel - 0x10) / 2];
		return (sel & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
	}
	return 0;
}

static void write_reg(struct ioapic *io, uint32_t val, struct hook_batch *batch)
{
	uint32_t sel = io->ioregsel;
	unsigned pin;
	uint64_t old, e;

	if (sel == 0x00) {
		io->id = (val >> 24) & 0x0f;
		return;
	}
	if (sel < 0x10 || sel >= 0x10 + 2 * IOAPIC_NR_PINS)
		return;  /* version, arbitration: read-only */
	pin = (sel - 0x10) / 2;
	old = io->redir[pin];
	if (sel & 1)
		e = (old & 0xffffffffull) | ((uint64_t)val << 32);
	else
		e = (old & ~0xffffffffull) | val;
	e = (e & RTE_WRITABLE) | (old & (RTE_REMOTE_IRR | RTE_DELIV_STATUS));
	/* Remote IRR only means something for level pins. */
	if (!(e & RTE_LEVEL))
		e &= ~RTE_REMOTE_IRR;
	io->redir[pin] = e;
	/* Unmasking an asserted level pin delivers it now. */
	if ((e & RTE_LEVEL) && !(e & RTE_MASKED) && (io->lines & (1u << pin)))
		service(io, pin, batch);
}

static void ioapic_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct ioapic *io = &((struct soft_irqchip *)opaque)->ioapic;
	uint32_t val = 0;

	pthread_mutex_lock(&io->lock);
	switch (offset & ~3ull) {
	case IOAPIC_REG_SEL:
		val = io->ioregsel;
		break;
	case IOAPIC_REG_WIN:
		val = read_reg(io);
		break;
	}
	pthread_mutex_unlock(&io->lock);
	/* Narrow reads return the addressed bytes of the 32-bit register. */
	val >>= 8 * (offset & 3);
	memset(data, 0, len);
	memcpy(data, &val, len > 4 - (offset & 3) ? 4 - (offset & 3) : len);
}

static void ioapic_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct ioapic *io = &((struct soft_irqchip *)opaque)->ioapic;
	struct hook_batch batch;
	uint32_t val = 0;

	batch.n = 0;
	if (offset & 3) {
		guest_err("ioapic: misaligned write at +%#llx\n", (unsigned long long)offset);
		return;
	}
	memcpy(&val, data, len > 4 ? 4 : len);
	pthread_mutex_lock(&io->lock);
	switch (offset) {
	case IOAPIC_REG_SEL:
		io->ioregsel = val & 0xff;
		break;
	case IOAPIC_REG_WIN:
		if (len < 4)
			guest_err("ioapic: %u-byte IOWIN write\n", len);
		else
			write_reg(io, val, &batch);
		break;
	default:
		break;  /* no EOI register on a version 0x11 IOAPIC */
	}
	pthread_mutex_unlock(&io->lock);
	hook_batch__run(&batch);
}

const struct bus_dev_ops ioapic__ops = { ioapic_read, ioapic_write };
