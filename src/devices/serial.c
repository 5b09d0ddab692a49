/* 8250/16550A UART: the register model.  Transmission is instantaneous (the
 * byte goes to the host console as soon as THR is written), so THR and the
 * transmit shift register are always empty as seen by the guest; only the
 * receive side has a real FIFO, fed by the console thread
 * (serial_console.c) or by THR in loopback mode. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devices.h"
#include "devices/serial_priv.h"
#include "util/log.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define SERIAL_NR_PORTS 8

unsigned serial__rx_capacity(const struct serial *s)
{
	/* With the FIFO disabled the 16550 behaves like a 16450: one RBR. */
	return (s->fcr & UART_FCR_ENABLE) ? SERIAL_FIFO_SIZE : 1;
}

static unsigned serial__rx_trigger(const struct serial *s)
{
	static const unsigned levels[4] = { 1, 4, 8, 14 };

	return levels[(s->fcr & UART_FCR_TRIGGER) >> 6];
}

static void serial__rx_clear(struct serial *s)
{
	s->rx.head = 0;
	s->rx.count = 0;
	pthread_cond_broadcast(&s->rx_space);
}

void serial__rx_push_locked(struct serial *s, uint8_t byte)
{
	unsigned cap = serial__rx_capacity(s);

	if (s->rx.count >= cap) {
		/* Like hardware: the FIFO keeps its contents, the new character
		 * is lost (16450 mode: it overwrites RBR) and OE is flagged. */
		if (cap == 1)
			s->rx.data[s->rx.head] = byte;
		s->lsr_errs |= UART_LSR_OE;
		return;
	}
	s->rx.data[(s->rx.head + s->rx.count) % SERIAL_FIFO_SIZE] = byte;
	s->rx.count++;
}

static bool serial__rx_pop(struct serial *s, uint8_t *byte)
{
	if (!s->rx.count)
		return false;
	*byte = s->rx.data[s->rx.head];
	s->rx.head = (s->rx.head + 1) % SERIAL_FIFO_SIZE;
	s->rx.count--;
	pthread_cond_signal(&s->rx_space);
	return true;
}

/* Modem status inputs.  Outside loopback a "null modem" with the other end
 * always ready; in loopback the outputs are wired back to the inputs. */
static uint8_t serial__msr_lines(const struct serial *s)
{
	uint8_t m = 0;

	if (!(s->mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	if (s->mcr & UART_MCR_DTR)
		m |= UART_MSR_DSR;
	if (s->mcr & UART_MCR_RTS)
		m |= UART_MSR_CTS;
	if (s->mcr & UART_MCR_OUT1)
		m |= UART_MSR_RI;
	if (s->mcr & UART_MCR_OUT2)
		m |= UART_MSR_DCD;
	return m;
}

/* Pending interrupt in priority order, without side effects. */
static uint8_t serial__iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;

	if ((s->ier & UART_IER_ELSI) && (s->lsr_errs & UART_LSR_ERRS))
		return UART_IIR_RLSI | fifo;
	if ((s->ier & UART_IER_ERBFI) && s->rx.count) {
		/* No character-timeout timer: data below the trigger level is
		 * reported at once as a timeout interrupt, which drivers
		 * service exactly like a trigger-level one. */
		if (fifo && s->rx.count < serial__rx_trigger(s))
			return UART_IIR_CTI | fifo;
		return UART_IIR_RDI | fifo;
	}
	if ((s->ier & UART_IER_ETBEI) && s->thri_pending)
		return UART_IIR_THRI | fifo;
	if ((s->ier & UART_IER_EDSSI) && s->msr_delta)
		return UART_IIR_MSI | fifo;
	return UART_IIR_NO_INT | fifo;
}

void serial__update_irq_locked(struct serial *s)
{
	bool level = !(serial__iir(s) & UART_IIR_NO_INT);

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	vm__irq_line(s->vm, s->irq, level);
}

static void serial__write_thr(struct serial *s, uint8_t v)
{
	/* Writing THR clears a THRE interrupt; the byte leaves at once, so
	 * THRE is set again right after, giving the edge real hardware
	 * gives at the end of each character. */
	s->thri_pending = false;
	serial__update_irq_locked(s);
	if (s->mcr & UART_MCR_LOOP)
		serial__rx_push_locked(s, v);
	else
		serial__tx_byte_locked(s, v);
	s->thri_pending = true;
}

static void serial__write_ier(struct serial *s, uint8_t v)
{
	uint8_t old = s->ier;

	s->ier = v & 0x0F;
	/* THR is always empty: enabling ETBEI raises THRE at once (Linux's
	 * UART_BUG_THRE probe checks exactly this). */
	if ((s->ier & UART_IER_ETBEI) && !(old & UART_IER_ETBEI))
		s->thri_pending = true;
}

static void serial__write_fcr(struct serial *s, uint8_t v)
{
	if ((v ^ s->fcr) & UART_FCR_ENABLE)
		serial__rx_clear(s);
	if (v & UART_FCR_CLEAR_RX)
		serial__rx_clear(s);
	/* CLEAR_TX: the transmitter is always empty. */
	if (v & UART_FCR_ENABLE)
		s->fcr = v & (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIGGER);
	else
		s->fcr = 0;
}

static void serial__write_mcr(struct serial *s, uint8_t v)
{
	uint8_t before = serial__msr_lines(s), after, changed;
	bool was_loop = s->mcr & UART_MCR_LOOP;

	s->mcr = v & 0x1F;
	after = serial__msr_lines(s);
	changed = before ^ after;
	if (changed & UART_MSR_CTS)
		s->msr_delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		s->msr_delta |= UART_MSR_DDSR;
	if ((before & UART_MSR_RI) && !(after & UART_MSR_RI))
		s->msr_delta |= UART_MSR_TERI;
	if (changed & UART_MSR_DCD)
		s->msr_delta |= UART_MSR_DDCD;
	/* Host input waits while the guest is in loopback. */
	if (was_loop && !(s->mcr & UART_MCR_LOOP))
		pthread_cond_broadcast(&s->rx_space);
}

static uint8_t serial__read_reg(struct serial *s, unsigned reg)
{
	uint8_t v = 0, iir, b;

	switch (reg) {
	case UART_RBR:
		if (s->lcr & UART_LCR_DLAB)
			return s->dll;
		if (serial__rx_pop(s, &b))
			s->rbr_last = b;
		/* An empty RBR reads as the last character, like hardware. */
		return s->rbr_last;
	case UART_IER:
		return (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR:
		iir = serial__iir(s);
		if ((iir & 0x0F) == UART_IIR_THRI)
			s->thri_pending = false;
		return iir;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT | s->lsr_errs;
		if (s->rx.count)
			v |= UART_LSR_DR;
		s->lsr_errs = 0;
		return v;
	case UART_MSR:
		v = serial__msr_lines(s) | s->msr_delta;
		s->msr_delta = 0;
		return v;
	case UART_SCR:
		return s->scr;
	}
	return 0xFF;
}

static void serial__write_reg(struct serial *s, unsigned reg, uint8_t v)
{
	switch (reg) {
	case UART_THR:
		if (s->lcr & UART_LCR_DLAB)
			s->dll = v;
		else
			serial__write_thr(s, v);
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB)
			s->dlm = v;
		else
			serial__write_ier(s, v);
		break;
	case UART_FCR:
		serial__write_fcr(s, v);
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		serial__write_mcr(s, v);
		break;
	case UART_LSR:
	case UART_MSR:
		/* Read-only on a 16550A (factory test on some parts). */
		guest_err("serial %#x: write %#x to read-only register %u",
			  s->port, v, reg);
		break;
	case UART_SCR:
		s->scr = v;
		break;
	}
}

/* The UART is an 8-bit ISA device: a wider access is split into byte
 * cycles on consecutive registers, as the bus would do. */
static void serial__io_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct serial *s = opaque;
	uint8_t *out = data;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < len; i++)
		out[i] = (offset + i < SERIAL_NR_PORTS) ?
			 serial__read_reg(s, (unsigned)(offset + i)) : 0xFF;
	serial__update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial__io_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct serial *s = opaque;
	const uint8_t *in = data;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < len; i++)
		if (offset + i < SERIAL_NR_PORTS)
			serial__write_reg(s, (unsigned)(offset + i), in[i]);
	serial__update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_dev_ops serial_ops = {
	.read = serial__io_read,
	.write = serial__io_write,
};

int serial__init(struct vm *vm, uint16_t port, unsigned irq, int in_fd, int out_fd)
{
	struct serial *s;
	int ret;

	if (vm->dev.com1)
		return -EEXIST;
	if (irq >= IOAPIC_NR_PINS)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->port = port;
	s->irq = irq;
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->wake_fd = -1;
	s->drop_rl = (struct ratelimit){ 0, 1 };
	ret = pthread_mutex_init(&s->lock, NULL);
	if (ret) {
		ret = -ret;
		goto err_free;
	}
	ret = pthread_cond_init(&s->rx_space, NULL);
	if (ret) {
		ret = -ret;
		goto err_mutex;
	}
	ret = bus__register(&vm->pio, port, SERIAL_NR_PORTS, &serial_ops, s, "serial");
	if (ret)
		goto err_cond;
	ret = serial__console_start(s);
	if (ret)
		goto err_unregister;
	vm->dev.com1 = s;
	return 0;

err_unregister:
	bus__unregister(&vm->pio, port);
err_cond:
	pthread_cond_destroy(&s->rx_space);
err_mutex:
	pthread_mutex_destroy(&s->lock);
err_free:
	free(s);
	return ret;
}

void serial__exit(struct vm *vm)
{
	struct serial *s = vm->dev.com1;

	if (!s)
		return;
	bus__unregister(&vm->pio, s->port);
	serial__console_stop(s);
	pthread_mutex_lock(&s->lock);
	serial__tx_flush_locked(s, 200);
	pthread_mutex_unlock(&s->lock);
	pthread_cond_destroy(&s->rx_space);
	pthread_mutex_destroy(&s->lock);
	free(s);
	vm->dev.com1 = NULL;
}
