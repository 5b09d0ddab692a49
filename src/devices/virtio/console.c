/* virtio-console (virtio v1.2 section 5.3): a single port (no MULTIPORT),
 * receiveq 0 / transmitq 1, which Linux makes hvc0.  With --console virtio
 * it owns the terminal: it alone reads in_fd (the UART gets no input) and
 * guest output goes to out_fd.
 *
 * Input: a reader thread blocks on in_fd (as the UART's does) and appends
 * to a bounded buffer, waiting while it is full, so typed input is never
 * dropped and the worker never spins on a readable fd it cannot drain; it
 * signals an eventfd that the device worker polls.  The worker moves the
 * buffer into the guest's receive buffers.  Ctrl-A x stops the VM when
 * in_fd is a terminal, like the serial console. */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/devices.h"
#include "devices/virtio/virtio.h"
#include "util/log.h"
#include "vm/vm.h"

#define VIRTIO_CONSOLE_F_EMERG_WRITE 2
#define RXQ 0
#define TXQ 1
#define CON_INBUF     4096
#define CON_ESCAPE    0x01   /* Ctrl-A */
#define CON_WRITE_WAIT_MS 1000

struct virtio_console_config {
	uint16_t cols, rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));

struct virtio_console {
	struct virtio_dev vdev;
	struct virtio_console_config cfg;
	int in_fd, out_fd;
	int ev_fd;               /* reader -> worker: input is buffered */
	int wake_fd;             /* -> reader: stop */
	pthread_t reader;
	bool reader_started;
	pthread_mutex_t lock;    /* inbuf, inlen, stopping */
	pthread_cond_t space;
	uint8_t inbuf[CON_INBUF];
	size_t inlen;
	bool stopping;
	bool in_is_tty, escape_pending;
	bool out_broken;
	struct virtq_elem elem;
};

static void kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("virtio-console: eventfd: %s", strerror(errno));
}

/* Write all of buf, waiting a bounded time for a slow terminal. */
static void con_write(struct virtio_console *c, const uint8_t *buf, size_t len)
{
	while (len && !c->out_broken && c->out_fd >= 0) {
		ssize_t n = write(c->out_fd, buf, len);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };

			if (poll(&p, 1, CON_WRITE_WAIT_MS) > 0)
				continue;
			log_once(LOG_WARN, "virtio-console: output not draining; dropping");
			return;
		}
		pr_warn("virtio-console: output failed (%s); discarding output",
			n < 0 ? strerror(errno) : "short write");
		c->out_broken = true;
	}
}

/* QEMU-style escapes on an interactive terminal only. */
static bool con_escape_filter(struct virtio_console *c, uint8_t byte)
{
	if (!c->in_is_tty)
		return true;
	if (!c->escape_pending) {
		if (byte != CON_ESCAPE)
			return true;
		c->escape_pending = true;
		return false;
	}
	c->escape_pending = false;
	switch (byte) {
	case CON_ESCAPE:
		return true;
	case 'x':
	case 'X':
		pr_info("virtio-console: C-a x: stopping the VM");
		vm__request_stop(c->vdev.vm, VM_STOP_SIGNAL, 0);
		return false;
	case 'h':
	case '?':
		fprintf(stderr, "\r\nC-a x    stop the VM\r\nC-a C-a  send C-a\r\nC-a h    this help\r\n");
		return false;
	default:
		return false;
	}
}

static void *con_reader(void *arg)
{
	struct virtio_console *c = arg;
	uint8_t buf[256];

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c->in_fd, .events = POLLIN },
			{ .fd = c->wake_fd, .events = POLLIN },
		};
		ssize_t n;
		size_t k = 0, off = 0;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents || (p[0].revents & POLLNVAL))
			break;
		if (!p[0].revents)
			continue;
		n = read(c->in_fd, buf, sizeof(buf));
		if (n == 0)
			break;      /* EOF: no more input, the guest keeps running */
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			pr_warn("virtio-console: read: %s; input stopped", strerror(errno));
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			if (con_escape_filter(c, buf[i]))
				buf[k++] = buf[i];
		pthread_mutex_lock(&c->lock);
		while (off < k && !c->stopping) {
			size_t room = sizeof(c->inbuf) - c->inlen, m = k - off < room ? k - off : room;

			if (!m) {
				pthread_cond_wait(&c->space, &c->lock);
				continue;
			}
			memcpy(c->inbuf + c->inlen, buf + off, m);
			c->inlen += m;
			off += m;
			kick(c->ev_fd);
		}
		if (c->stopping) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

static void con_rx_flush(struct virtio_console *c)
{
	struct virtqueue *vq = &c->vdev.vqs[RXQ];
	bool delivered = false;

	if (!(c->vdev.status & VIRTIO_STATUS_DRIVER_OK) || c->vdev.broken || !vq->enabled)
		return;
	pthread_mutex_lock(&c->lock);
	while (c->inlen) {
		size_t n;
		int r = virtq__pop(vq, &c->elem);

		if (r < 0)
			break;
		if (r == 0) {
			if (virtq__enable_kicks(vq))
				continue;
			break;
		}
		n = buf_to_iov(c->elem.in, c->elem.nr_in, 0, c->inbuf, c->inlen);
		memmove(c->inbuf, c->inbuf + n, c->inlen - n);
		c->inlen -= n;
		virtq__push(vq, &c->elem, (uint32_t)n);
		delivered = true;
	}
	pthread_cond_broadcast(&c->space);
	pthread_mutex_unlock(&c->lock);
	if (delivered)
		virtq__notify(vq);
}

static void con_tx(struct virtio_console *c, struct virtqueue *vq)
{
	do {
		while (virtq__pop(vq, &c->elem) == 1) {
			for (unsigned i = 0; i < c->elem.nr_out; i++)
				con_write(c, c->elem.out[i].iov_base, c->elem.out[i].iov_len);
			virtq__push(vq, &c->elem, 0);
		}
		virtq__notify(vq);
	} while (virtq__enable_kicks(vq) && !c->vdev.broken);
}

static void con_handle_queue(struct virtio_dev *dev, struct virtqueue *vq)
{
	struct virtio_console *c = dev->opaque;

	if (vq->index == TXQ)
		con_tx(c, vq);
	else if (vq->index == RXQ)
		con_rx_flush(c);
}

static void con_handle_fd(struct virtio_dev *dev, int fd)
{
	struct virtio_console *c = dev->opaque;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug("virtio-console: eventfd: %s", strerror(errno));
	con_rx_flush(c);
}

static void con_config_read(struct virtio_dev *dev, unsigned off, void *data, unsigned len)
{
	struct virtio_console *c = dev->opaque;

	if (off + len <= sizeof(c->cfg))
		memcpy(data, (uint8_t *)&c->cfg + off, len);
}

/* emerg_wr: one character, written even before the driver is up. */
static void con_config_write(struct virtio_dev *dev, unsigned off, const void *data, unsigned len)
{
	struct virtio_console *c = dev->opaque;
	uint8_t ch;

	if (off != offsetof(struct virtio_console_config, emerg_wr) || len < 1)
		return;
	memcpy(&ch, data, 1);
	if (c->out_fd >= 0 && !c->out_broken && write(c->out_fd, &ch, 1) < 0)
		log_once(LOG_WARN, "virtio-console: emergency write: %s", strerror(errno));
}

static const struct virtio_dev_ops con_ops = {
	.config_read = con_config_read,
	.config_write = con_config_write,
	.handle_queue = con_handle_queue,
	.handle_fd = con_handle_fd,
};

int virtio_console__create(struct vm *vm, int in_fd, int out_fd)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return -ENOMEM;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->cfg.max_nr_ports = htole32(1);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->space, NULL);
	c->ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->ev_fd < 0 || c->wake_fd < 0) {
		ret = -errno;
		goto err;
	}
	c->vdev.ops = &con_ops;
	c->vdev.opaque = c;
	c->vdev.vm = vm;
	c->vdev.name = "virtio-console";
	c->vdev.device_id = VIRTIO_ID_CONSOLE;
	c->vdev.pci_class = 0x078000;
	c->vdev.nr_queues = 2;
	c->vdev.config_len = sizeof(c->cfg);
	c->vdev.host_features = (1ull << VIRTIO_F_RING_EVENT_IDX) |
		(1ull << VIRTIO_F_RING_INDIRECT_DESC) | (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE);
	ret = virtio__worker_add_fd(&c->vdev, c->ev_fd);
	if (ret)
		goto err;
	ret = virtio_pci__register(vm, &c->vdev);
	if (ret)
		return ret;   /* the worker may run: leave c allocated (VM not built) */
	if (in_fd >= 0) {
		c->in_is_tty = isatty(in_fd);
		ret = -pthread_create(&c->reader, NULL, con_reader, c);
		if (ret)
			return ret;
		pthread_setname_np(c->reader, "vcon-input");
		c->reader_started = true;
	}
	return 0;

err:
	if (c->ev_fd >= 0)
		close(c->ev_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	free(c);
	return ret;
}
