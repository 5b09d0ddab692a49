/* The host side of the UART: output to out_fd without ever blocking a vCPU
 * for long, and a thread that feeds in_fd into the receive FIFO. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/serial_priv.h"
#include "util/log.h"
#include "vm/vm.h"

/* How long a vCPU may wait for a slow console before output is buffered
 * and, once the buffer is full, dropped. */
#define SERIAL_TX_WAIT_MS 50
/* Writes are kept small so that one write after POLLOUT cannot block on a
 * tty or pipe that has only a little room. */
#define SERIAL_TX_CHUNK   256
#define SERIAL_ESCAPE     0x01  /* Ctrl-A, as in QEMU */

void serial__tx_flush_locked(struct serial *s, int timeout_ms)
{
	int retries = 0;

	while (s->txlen && !s->tx_broken) {
		struct pollfd p = { .fd = s->out_fd, .events = POLLOUT };
		size_t chunk = s->txlen < SERIAL_TX_CHUNK ? s->txlen : SERIAL_TX_CHUNK;
		ssize_t n;
		int r;

		r = poll(&p, 1, s->tx_congested ? 0 : timeout_ms);
		if (r < 0) {
			if (errno == EINTR && ++retries < 8)
				continue;
			return;
		}
		if (r == 0) {
			s->tx_congested = true;
			return;
		}
		if (p.revents & POLLNVAL)
			goto broken;
		n = write(s->out_fd, s->txbuf, chunk);
		if (n > 0) {
			memmove(s->txbuf, s->txbuf + n, s->txlen - (size_t)n);
			s->txlen -= (size_t)n;
			s->tx_congested = false;
			continue;
		}
		if (n < 0 && errno == EINTR && ++retries < 8)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			s->tx_congested = true;
			return;
		}
		goto broken;
	}
	return;

broken:
	pr_warn("serial %#x: console output failed (%s); discarding output",
		s->port, strerror(errno));
	s->tx_broken = true;
	s->txlen = 0;
}

void serial__tx_byte_locked(struct serial *s, uint8_t byte)
{
	if (s->out_fd < 0 || s->tx_broken)
		return;
	if (s->txlen == sizeof(s->txbuf)) {
		/* Try once more without waiting before giving up on it. */
		serial__tx_flush_locked(s, 0);
		if (s->txlen == sizeof(s->txbuf)) {
			s->tx_dropped++;
			if (ratelimit_ok(&s->drop_rl))
				pr_warn("serial %#x: console not draining, %llu bytes dropped",
					s->port, (unsigned long long)s->tx_dropped);
			return;
		}
	}
	s->txbuf[s->txlen++] = byte;
	serial__tx_flush_locked(s, SERIAL_TX_WAIT_MS);
}

/* Wait for room, then queue one byte.  Typed input is never dropped: the
 * thread blocks until the guest reads (or leaves loopback mode). */
static int serial__feed_byte(struct serial *s, uint8_t byte)
{
	pthread_mutex_lock(&s->lock);
	while (!s->stopping &&
	       ((s->mcr & UART_MCR_LOOP) || s->rx.count >= serial__rx_capacity(s)))
		pthread_cond_wait(&s->rx_space, &s->lock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->lock);
		return -ECANCELED;
	}
	serial__rx_push_locked(s, byte);
	serial__update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void serial__escape_help(void)
{
	fprintf(stderr, "\r\nC-a x    stop the VM\r\nC-a C-a  send C-a\r\nC-a h    this help\r\n");
}

/* QEMU-style escapes, only for an interactive terminal: in a pipe or file
 * every byte is data.  Returns true when the byte is to be delivered. */
static bool serial__escape_filter(struct serial *s, uint8_t byte)
{
	if (!s->in_is_tty)
		return true;
	if (!s->escape_pending) {
		if (byte == SERIAL_ESCAPE) {
			s->escape_pending = true;
			return false;
		}
		return true;
	}
	s->escape_pending = false;
	switch (byte) {
	case SERIAL_ESCAPE:
		return true;
	case 'x':
	case 'X':
		pr_info("serial: C-a x: stopping the VM");
		vm__request_stop(s->vm, VM_STOP_SIGNAL, 0);
		return false;
	case 'h':
	case '?':
		serial__escape_help();
		return false;
	default:
		return false;
	}
}

static void *serial__input_thread(void *arg)
{
	struct serial *s = arg;
	uint8_t buf[64];

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = s->in_fd, .events = POLLIN },
			{ .fd = s->wake_fd, .events = POLLIN },
		};
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_warn("serial %#x: poll: %s; console input stopped",
				s->port, strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLNVAL) {
			pr_warn("serial %#x: console input fd invalid", s->port);
			break;
		}
		if (!p[0].revents)
			continue;
		n = read(s->in_fd, buf, sizeof(buf));
		if (n == 0) {
			pr_debug("serial %#x: console input EOF", s->port);
			break;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			pr_warn("serial %#x: console read: %s; input stopped",
				s->port, strerror(errno));
			break;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (!serial__escape_filter(s, buf[i]))
				continue;
			if (serial__feed_byte(s, buf[i]))
				return NULL;
		}
	}
	return NULL;
}

int serial__console_start(struct serial *s)
{
	int ret;

	if (s->in_fd < 0)
		return 0;
	s->in_is_tty = isatty(s->in_fd);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0)
		return -errno;
	ret = pthread_create(&s->thread, NULL, serial__input_thread, s);
	if (ret) {
		close(s->wake_fd);
		s->wake_fd = -1;
		return -ret;
	}
	s->thread_started = true;
	return 0;
}

void serial__console_stop(struct serial *s)
{
	uint64_t one = 1;

	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->rx_space);
	pthread_mutex_unlock(&s->lock);
	if (s->wake_fd >= 0 && write(s->wake_fd, &one, sizeof(one)) < 0)
		pr_debug("serial: eventfd write: %s", strerror(errno));
	if (s->thread_started) {
		pthread_join(s->thread, NULL);
		s->thread_started = false;
	}
	if (s->wake_fd >= 0) {
		close(s->wake_fd);
		s->wake_fd = -1;
	}
}
