/* user backend: libslirp, an unprivileged userspace NAT.
 *
 * Threading: libslirp is not thread-safe and wants one event loop that
 * polls its sockets and runs its timers.  That loop runs on a dedicated
 * thread per backend rather than on the device's worker, because the
 * worker's epoll set is fixed per fd while slirp's socket set changes on
 * every iteration (slirp_pollfds_fill).  Every slirp_* call after
 * net_slirp__open happens on that thread.  Frames cross between it and the
 * device worker through two bounded FIFOs under one mutex:
 *   guest -> slirp: send() queues, writes wake_fd; the thread slirp_input()s.
 *   slirp -> guest: send_packet queues, writes rx_fd (an eventfd the worker
 *                   polls); the worker's recv() pops.
 * Neither side ever blocks on the other, and slirp never sees guest memory. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#include "net/net.h"
#include "util/log.h"

#define SLIRP_FIFO_FRAMES 256
#define SLIRP_MAX_WAIT_MS 1000

struct slirp_timer {
	struct slirp_timer *next;
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms;      /* -1: not armed */
};

struct slirp_backend {
	struct net_backend nb;
	Slirp *slirp;
	pthread_t thread;
	bool thread_started;
	int wake_fd;
	pthread_mutex_t lock;   /* the FIFOs and `stopping` */
	struct net_fifo to_slirp, to_guest;
	bool stopping;
	struct slirp_timer *timers;   /* slirp thread only */
	struct pollfd *pfd;           /* slirp thread only */
	unsigned nr_pfd, cap_pfd;
	uint8_t frame[NET_MAX_FRAME]; /* slirp thread: one frame being input */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("net: eventfd write: %s", strerror(errno));
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_debug("net: eventfd read: %s", strerror(errno));
}

/* libslirp callbacks: all on the slirp thread. */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct slirp_backend *sb = opaque;
	bool queued;

	pthread_mutex_lock(&sb->lock);
	queued = net_fifo__push(&sb->to_guest, buf, len);
	pthread_mutex_unlock(&sb->lock);
	if (queued)
		kick(sb->nb.rx_fd);
	/* A frame the guest is too slow to take is lost, as on a wire; TCP
	 * inside slirp retransmits. */
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	guest_err("net user: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct slirp_backend *sb = opaque;
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cb = cb;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = sb->timers;
	sb->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct slirp_backend *sb = opaque;

	for (struct slirp_timer **p = &sb->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = ((struct slirp_timer *)timer)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	if (timer)
		((struct slirp_timer *)timer)->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque) {}
static void cb_unregister_poll_fd(int fd, void *opaque) {}

static void cb_notify(void *opaque)
{
	struct slirp_backend *sb = opaque;

	kick(sb->wake_fd);
}

static const SlirpCb slirp_cbs = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
};

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct slirp_backend *sb = opaque;
	short ev = 0;

	if (sb->nr_pfd == sb->cap_pfd) {
		unsigned cap = sb->cap_pfd ? sb->cap_pfd * 2 : 32;
		struct pollfd *p = realloc(sb->pfd, cap * sizeof(*p));

		if (!p)
			return -1;  /* slirp skips this socket for one round */
		sb->pfd = p;
		sb->cap_pfd = cap;
	}
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	sb->pfd[sb->nr_pfd] = (struct pollfd){ .fd = fd, .events = ev };
	return (int)sb->nr_pfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct slirp_backend *sb = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || (unsigned)idx >= sb->nr_pfd)
		return 0;
	r = sb->pfd[idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & (POLLERR | POLLNVAL))
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* Fire expired timers; returns ms until the next one (or max_ms). */
static uint32_t run_timers(struct slirp_backend *sb, uint32_t max_ms)
{
	int64_t now = now_ns() / 1000000;
	uint32_t wait = max_ms;
	struct slirp_timer *t;

again:
	for (t = sb->timers; t; t = t->next) {
		if (t->expire_ms >= 0 && t->expire_ms <= now) {
			t->expire_ms = -1;
			/* The callback may re-arm or free timers: rescan. */
			t->cb(t->cb_opaque);
			goto again;
		}
	}
	for (t = sb->timers; t; t = t->next)
		if (t->expire_ms >= 0 && (uint64_t)(t->expire_ms - now) < wait)
			wait = (uint32_t)(t->expire_ms - now);
	return wait;
}

static void input_frames(struct slirp_backend *sb)
{
	for (;;) {
		struct net_frame *f;

		pthread_mutex_lock(&sb->lock);
		f = net_fifo__pop(&sb->to_slirp);
		pthread_mutex_unlock(&sb->lock);
		if (!f)
			return;
		slirp_input(sb->slirp, f->data, (int)f->len);
		free(f);
	}
}

static void *slirp_thread(void *arg)
{
	struct slirp_backend *sb = arg;

	for (;;) {
		uint32_t timeout;
		bool stop;
		int n;

		pthread_mutex_lock(&sb->lock);
		stop = sb->stopping;
		pthread_mutex_unlock(&sb->lock);
		if (stop)
			return NULL;
		input_frames(sb);
		timeout = run_timers(sb, SLIRP_MAX_WAIT_MS);
		sb->nr_pfd = 0;
		cb_add_poll(sb->wake_fd, SLIRP_POLL_IN, sb);
		slirp_pollfds_fill(sb->slirp, &timeout, cb_add_poll, sb);
		n = poll(sb->pfd, sb->nr_pfd, (int)timeout);
		if (n < 0 && errno != EINTR)
			pr_warn("net user: poll: %s", strerror(errno));
		if (n > 0 && sb->pfd[0].revents)
			drain(sb->wake_fd);
		slirp_pollfds_poll(sb->slirp, n < 0, cb_get_revents, sb);
	}
}

/* Worker thread. */
static int slirp_send(struct net_backend *nb, const void *frame, size_t len)
{
	struct slirp_backend *sb = nb->priv;
	bool queued;

	pthread_mutex_lock(&sb->lock);
	queued = net_fifo__push(&sb->to_slirp, frame, len);
	pthread_mutex_unlock(&sb->lock);
	if (!queued)
		return -ENOBUFS;
	kick(sb->wake_fd);
	return 0;
}

static ssize_t slirp_recv(struct net_backend *nb, void *buf, size_t len)
{
	struct slirp_backend *sb = nb->priv;
	struct net_frame *f;
	ssize_t n;

	/* Clear the event before looking: a frame queued after this read
	 * signals it again, so none is ever left unannounced. */
	drain(nb->rx_fd);
	pthread_mutex_lock(&sb->lock);
	f = net_fifo__pop(&sb->to_guest);
	pthread_mutex_unlock(&sb->lock);
	if (!f)
		return 0;
	n = f->len <= len ? (ssize_t)f->len : -EMSGSIZE;
	if (n > 0)
		memcpy(buf, f->data, f->len);
	free(f);
	/* More may be queued: keep the fd readable for the next round. */
	if (n > 0)
		kick(nb->rx_fd);
	return n;
}

static void slirp_close(struct net_backend *nb)
{
	struct slirp_backend *sb = nb->priv;

	if (sb->thread_started) {
		pthread_mutex_lock(&sb->lock);
		sb->stopping = true;
		pthread_mutex_unlock(&sb->lock);
		kick(sb->wake_fd);
		pthread_join(sb->thread, NULL);
	}
	if (sb->slirp)
		slirp_cleanup(sb->slirp);
	while (sb->timers)
		cb_timer_free(sb->timers, sb);
	net_fifo__clear(&sb->to_slirp);
	net_fifo__clear(&sb->to_guest);
	if (sb->wake_fd >= 0)
		close(sb->wake_fd);
	if (nb->rx_fd >= 0)
		close(nb->rx_fd);
	pthread_mutex_destroy(&sb->lock);
	free(sb->pfd);
	free(sb);
}

static const struct net_backend_ops slirp_ops = {
	.name = "user",
	.send = slirp_send,
	.recv = slirp_recv,
	.close = slirp_close,
};

static int add_hostfwds(struct slirp_backend *sb, const struct net_config *cfg)
{
	for (unsigned i = 0; i < cfg->nr_fwd; i++) {
		const struct net_hostfwd *f = &cfg->fwd[i];
		char host[INET_ADDRSTRLEN], guest[INET_ADDRSTRLEN];

		errno = 0;
		if (slirp_add_hostfwd(sb->slirp, f->udp, f->host_addr, f->host_port,
				      f->guest_addr, f->guest_port) < 0) {
			int err = errno ? errno : EADDRINUSE;

			inet_ntop(AF_INET, &f->host_addr, host, sizeof(host));
			inet_ntop(AF_INET, &f->guest_addr, guest, sizeof(guest));
			fprintf(stderr, "vireo run: --net user: hostfwd %s %s:%u -> %s:%u: cannot "
				"listen on the host port: %s\n", f->udp ? "udp" : "tcp", host,
				f->host_port, guest, f->guest_port, strerror(err));
			return -err;
		}
	}
	return 0;
}

int net_slirp__open(const struct net_config *cfg, struct net_backend **out)
{
	SlirpConfig sc = { .version = 1, .in_enabled = true, .if_mtu = 1500, .if_mru = 1500 };
	struct slirp_backend *sb;
	int ret;

	sb = calloc(1, sizeof(*sb));
	if (!sb)
		return -ENOMEM;
	sb->nb.ops = &slirp_ops;
	sb->nb.priv = sb;
	snprintf(sb->nb.name, sizeof(sb->nb.name), "user");
	pthread_mutex_init(&sb->lock, NULL);
	net_fifo__init(&sb->to_slirp, SLIRP_FIFO_FRAMES);
	net_fifo__init(&sb->to_guest, SLIRP_FIFO_FRAMES);
	sb->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sb->nb.rx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sb->wake_fd < 0 || sb->nb.rx_fd < 0) {
		ret = -errno;
		goto err;
	}
	inet_pton(AF_INET, "10.0.2.0", &sc.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &sc.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &sc.vhost);
	inet_pton(AF_INET, "10.0.2.15", &sc.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &sc.vnameserver);
	sc.vhostname = "vireo";
	sb->slirp = slirp_new(&sc, &slirp_cbs, sb);
	if (!sb->slirp) {
		fprintf(stderr, "vireo run: --net user: libslirp failed to start\n");
		ret = -ENOMEM;
		goto err;
	}
	ret = add_hostfwds(sb, cfg);
	if (ret)
		goto err;
	ret = -pthread_create(&sb->thread, NULL, slirp_thread, sb);
	if (ret)
		goto err;
	pthread_setname_np(sb->thread, "net-user");
	sb->thread_started = true;
	*out = &sb->nb;
	return 0;

err:
	slirp_close(&sb->nb);
	return ret;
}
