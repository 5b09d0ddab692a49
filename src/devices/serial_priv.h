/* 8250/16550A UART internals shared by the register model (serial.c) and
 * the host console side (serial_console.c).  Not part of the public API. */
#ifndef VIREO_DEVICES_SERIAL_PRIV_H
#define VIREO_DEVICES_SERIAL_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/log.h"

struct vm;

/* Register offsets (DLAB=0 / DLAB=1) */
#define UART_RBR 0 /* read, DLAB=0 */
#define UART_THR 0 /* write, DLAB=0 */
#define UART_DLL 0 /* DLAB=1 */
#define UART_IER 1 /* DLAB=0 */
#define UART_DLM 1 /* DLAB=1 */
#define UART_IIR 2 /* read */
#define UART_FCR 2 /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_ERBFI 0x01
#define UART_IER_ETBEI 0x02
#define UART_IER_ELSI  0x04
#define UART_IER_EDSSI 0x08

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_RLSI   0x06
#define UART_IIR_CTI    0x0C
#define UART_IIR_FIFO   0xC0

#define UART_FCR_ENABLE   0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_FCR_DMA      0x08
#define UART_FCR_TRIGGER  0xC0

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_PE   0x04
#define UART_LSR_FE   0x08
#define UART_LSR_BI   0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_ERRS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80

#define SERIAL_FIFO_SIZE  16
#define SERIAL_TXBUF_SIZE 4096

struct serial_fifo {
	uint8_t data[SERIAL_FIFO_SIZE];
	unsigned head, count;
};

struct serial {
	struct vm *vm;
	/* Guards everything below except the input-thread-only fields. */
	pthread_mutex_t lock;
	/* Signalled when the guest makes room in the rx FIFO (or on stop). */
	pthread_cond_t rx_space;
	uint16_t port;
	unsigned irq;
	bool irq_level;

	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
	uint8_t lsr_errs;   /* sticky LSR error bits, cleared by reading LSR */
	uint8_t msr_delta;  /* MSR bits 0-3, cleared by reading MSR */
	bool thri_pending;
	uint8_t rbr_last;
	struct serial_fifo rx;

	/* Host console */
	int in_fd, out_fd;
	bool in_is_tty;
	int wake_fd;        /* eventfd: tells the input thread to quit */
	bool stopping;
	bool thread_started;
	pthread_t thread;
	bool escape_pending;  /* input thread only */

	uint8_t txbuf[SERIAL_TXBUF_SIZE];
	size_t txlen;
	bool tx_congested;  /* last flush could not write: do not wait again */
	bool tx_broken;     /* out_fd failed for good: discard output */
	uint64_t tx_dropped;
	struct ratelimit drop_rl;
};

/* serial.c */
unsigned serial__rx_capacity(const struct serial *s);
void serial__rx_push_locked(struct serial *s, uint8_t byte);
void serial__update_irq_locked(struct serial *s);

/* serial_console.c.  Called with s->lock held. */
void serial__tx_byte_locked(struct serial *s, uint8_t byte);
void serial__tx_flush_locked(struct serial *s, int timeout_ms);
int serial__console_start(struct serial *s);
void serial__console_stop(struct serial *s);

#endif
