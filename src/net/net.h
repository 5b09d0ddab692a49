/* Network backends: where a virtio-net device's Ethernet frames go.
 *
 *   user  libslirp: unprivileged NAT, guest net 10.0.2.0/24, gateway
 *         10.0.2.2, DNS 10.0.2.3, DHCP hands out 10.0.2.15; host ports
 *         forwarded into the guest with hostfwd=.
 *   tap   a /dev/net/tun TAP interface (needs CAP_NET_ADMIN).
 *
 * The device's worker thread is the only caller of send() and recv().  A
 * backend exposes rx_fd, which the worker polls: readable means recv() may
 * have frames.  Backends never touch guest memory. */
#ifndef VIREO_NET_NET_H
#define VIREO_NET_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NET_MAX_NICS     8
#define NET_MAX_HOSTFWD  8
/* Largest Ethernet frame a backend or the guest may hand over: a 64 KiB
 * IP packet plus Ethernet and VLAN headers. */
#define NET_MAX_FRAME    65550
#define NET_MIN_FRAME    14      /* an Ethernet header */
#define NET_IFNAMSIZ     16

enum net_backend_kind {
	NET_BACKEND_USER,
	NET_BACKEND_TAP,
};

struct net_hostfwd {
	bool udp;
	struct in_addr host_addr;   /* default 127.0.0.1 */
	uint16_t host_port;
	struct in_addr guest_addr;  /* default 10.0.2.15 */
	uint16_t guest_port;
};

/* --net user[,hostfwd=tcp::2222-:22]...[,mac=..] | tap[,ifname=..][,mac=..] */
struct net_config {
	enum net_backend_kind kind;
	uint8_t mac[6];
	char ifname[NET_IFNAMSIZ];        /* tap; empty: the kernel picks */
	struct net_hostfwd fwd[NET_MAX_HOSTFWD];
	unsigned nr_fwd;
};

/* Parse one --net argument for NIC number `index` (default MAC
 * 52:54:00:12:34:(56+index)).  Prints one line naming the flag and the bad
 * part and returns -EINVAL if bad. */
int net_config__parse(const char *arg, unsigned index, struct net_config *out);
/* "52:54:00:12:34:56" -> mac; 0 or -EINVAL (multicast MACs are refused). */
int net__parse_mac(const char *s, uint8_t mac[6]);
/* "tcp:[hostaddr]:hostport-[guestaddr]:guestport" (tcp: may be udp: or
 * omitted); 0 or -EINVAL. */
int net__parse_hostfwd(const char *s, struct net_hostfwd *out);

struct net_backend;

struct net_backend_ops {
	const char *name;
	/* One frame from the guest; the backend copies it.  Returns 0 or
	 * -errno (the frame is dropped either way). */
	int (*send)(struct net_backend *nb, const void *frame, size_t len);
	/* Next frame for the guest into buf (len >= NET_MAX_FRAME): its
	 * length, 0 when there is none right now, or -errno. */
	ssize_t (*recv)(struct net_backend *nb, void *buf, size_t len);
	void (*close)(struct net_backend *nb);
};

struct net_backend {
	const struct net_backend_ops *ops;
	int rx_fd;          /* readable: recv() may return frames */
	void *priv;
	char name[32];
};

/* Open the backend a config names.  Errors are reported (one line naming
 * --net and the reason) before returning -errno. */
int net_backend__open(const struct net_config *cfg, struct net_backend **out);
void net_backend__close(struct net_backend *nb);

/* Backend constructors (net_slirp.c, net_tap.c). */
int net_slirp__open(const struct net_config *cfg, struct net_backend **out);
int net_tap__open(const struct net_config *cfg, struct net_backend **out);

/* A bounded FIFO of frames, shared by a producer and a consumer thread
 * (the slirp thread and the device worker).  Frames beyond `max` are
 * dropped and counted. */
struct net_frame {
	struct net_frame *next;
	size_t len;
	uint8_t data[];
};

struct net_fifo {
	struct net_frame *head, *tail;
	unsigned count, max;
	uint64_t dropped;
};

void net_fifo__init(struct net_fifo *f, unsigned max);
/* Copies the frame; false if it was dropped (full or out of memory). */
bool net_fifo__push(struct net_fifo *f, const void *data, size_t len);
/* The oldest frame (caller frees it), or NULL. */
struct net_frame *net_fifo__pop(struct net_fifo *f);
void net_fifo__clear(struct net_fifo *f);

#endif
