/* The user (libslirp) backend without a guest: frames built by hand play
 * the guest.  DHCP must offer 10.0.2.15; a TCP connection to a hostfwd port
 * on 127.0.0.1 must reach the "guest" as a SYN to 10.0.2.15:22.  Only
 * loopback addresses are used. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static uint8_t rxbuf[NET_MAX_FRAME];

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)(p[len - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Ethernet + IPv4 + UDP 68->67 + BOOTP DHCPDISCOVER, broadcast. */
static size_t build_discover(uint8_t *f, uint32_t xid)
{
	const size_t bootp_len = 236 + 312;  /* fixed part + options area */
	uint8_t *ip = f + 14, *udp = ip + 20, *bp = udp + 8, *opt = bp + 236;
	size_t ip_len = 20 + 8 + bootp_len;

	memset(f, 0, 14 + ip_len);
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)ip_len);
	ip[8] = 64;
	ip[9] = 17;
	memset(ip + 16, 0xff, 4);               /* dst 255.255.255.255, src 0 */
	put16(ip + 10, csum(ip, 20));
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, (uint16_t)(8 + bootp_len));
	bp[0] = 1;                              /* BOOTREQUEST */
	bp[1] = 1;
	bp[2] = 6;
	memcpy(bp + 4, &xid, 4);
	/* No broadcast flag (as busybox udhcpc): the offer is unicast. */
	memcpy(bp + 28, guest_mac, 6);          /* chaddr */
	memcpy(opt, (uint8_t[]){ 99, 130, 83, 99, 53, 1, 1, 255 }, 8);
	return 14 + ip_len;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Next frame from the backend within the deadline, or 0. */
static ssize_t next_frame(struct net_backend *nb, double deadline)
{
	for (;;) {
		struct pollfd p = { .fd = nb->rx_fd, .events = POLLIN };
		ssize_t n = nb->ops->recv(nb, rxbuf, sizeof(rxbuf));
		double left = deadline - now_s();

		if (n != 0)
			return n;
		if (left <= 0)
			return 0;
		poll(&p, 1, (int)(left * 1000) + 1);
	}
}

/* Answer an ARP request for 10.0.2.15 so slirp learns the guest's MAC. */
static bool answer_arp(struct net_backend *nb, const uint8_t *f, size_t len)
{
	uint8_t r[42];

	if (len < 42 || get16(f + 12) != 0x0806 || get16(f + 20) != 1 ||
	    memcmp(f + 38, (uint8_t[]){ 10, 0, 2, 15 }, 4))
		return false;
	memcpy(r, f + 6, 6);
	memcpy(r + 6, guest_mac, 6);
	put16(r + 12, 0x0806);
	memcpy(r + 14, f + 14, 6);              /* htype, ptype, hlen, plen */
	put16(r + 20, 2);                       /* reply */
	memcpy(r + 22, guest_mac, 6);
	memcpy(r + 28, (uint8_t[]){ 10, 0, 2, 15 }, 4);
	memcpy(r + 32, f + 22, 10);             /* target = the asker */
	return nb->ops->send(nb, r, sizeof(r)) == 0;
}

Test(slirp, dhcp_discover_gets_offer_for_10_0_2_15, .timeout = 30)
{
	struct net_config cfg;
	struct net_backend *nb;
	uint8_t frame[1024];
	uint32_t xid = htonl(0x5eed1234);
	double deadline = now_s() + 10;
	bool offered = false;

	cr_assert_eq(net_config__parse("user", 0, &cfg), 0);
	cr_assert_eq(net_backend__open(&cfg, &nb), 0);
	cr_assert_eq(nb->ops->send(nb, frame, build_discover(frame, xid)), 0);
	while (!offered) {
		ssize_t n = next_frame(nb, deadline);
		const uint8_t *ip = rxbuf + 14, *udp = ip + 20, *bp = udp + 8, *opt = bp + 236;

		cr_assert_gt(n, 0, "no DHCP offer within 10 s");
		if (n < 14 + 20 + 8 + 240 || get16(rxbuf + 12) != 0x0800 || ip[9] != 17 ||
		    get16(udp) != 67 || get16(udp + 2) != 68)
			continue;
		/* libslirp broadcasts DHCP replies at the Ethernet level. */
		cr_expect(!memcmp(rxbuf, guest_mac, 6) ||
			  !memcmp(rxbuf, ((uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }), 6),
			  "to the guest's MAC or broadcast");
		cr_expect_arr_eq(bp + 28, guest_mac, 6, "chaddr is the guest's MAC");
		cr_expect_eq(bp[0], 2, "BOOTREPLY");
		cr_expect_arr_eq(bp + 4, &xid, 4, "same transaction");
		cr_expect_arr_eq(bp + 16, ((uint8_t[]){ 10, 0, 2, 15 }), 4, "yiaddr 10.0.2.15");
		cr_expect_arr_eq(opt, ((uint8_t[]){ 99, 130, 83, 99 }), 4, "DHCP magic");
		/* Option 53 (message type) = 2 (OFFER) somewhere in the options. */
		for (const uint8_t *o = opt + 4, *end = rxbuf + n; o < end && *o != 255;) {
			if (*o == 0) {          /* pad */
				o++;
				continue;
			}
			if (o + 2 > end || o + 2 + o[1] > end)
				break;
			if (o[0] == 53 && o[1] == 1)
				offered = o[2] == 2;
			o += 2 + o[1];
		}
		cr_assert(offered, "reply is a DHCPOFFER");
	}
	net_backend__close(nb);
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert_geq(s, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &l), 0);
	port = ntohs(a.sin_port);
	close(s);
	return port;
}

Test(slirp, hostfwd_connection_reaches_guest_as_syn, .timeout = 30)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct net_config cfg;
	struct net_backend *nb;
	char opt[64];
	int port = free_port(), s;
	double deadline;
	bool syn = false;

	snprintf(opt, sizeof(opt), "user,hostfwd=tcp:127.0.0.1:%d-:22", port);
	cr_assert_eq(net_config__parse(opt, 0, &cfg), 0);
	cr_assert_eq(net_backend__open(&cfg, &nb), 0);
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	a.sin_port = htons((uint16_t)port);
	cr_assert(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS);
	deadline = now_s() + 10;
	while (!syn) {
		ssize_t n = next_frame(nb, deadline);
		const uint8_t *ip = rxbuf + 14, *tcp = ip + 20;

		cr_assert_gt(n, 0, "no SYN for the guest within 10 s");
		if (answer_arp(nb, rxbuf, (size_t)n))
			continue;
		if (n < 14 + 20 + 20 || get16(rxbuf + 12) != 0x0800 || ip[9] != 6)
			continue;
		cr_expect_arr_eq(ip + 16, ((uint8_t[]){ 10, 0, 2, 15 }), 4, "to the guest's IP");
		cr_expect_arr_eq(rxbuf, guest_mac, 6, "to the guest's MAC");
		cr_expect_eq(get16(tcp + 2), 22, "to the forwarded guest port");
		cr_expect_eq(tcp[13] & 0x12, 0x02, "a SYN");
		syn = true;
	}
	close(s);
	net_backend__close(nb);
}

Test(slirp, hostfwd_port_in_use_is_one_clear_error, .timeout = 30)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	struct net_config cfg;
	struct net_backend *nb;
	char opt[64];
	int s = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(s, 1), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &l), 0);
	snprintf(opt, sizeof(opt), "user,hostfwd=tcp::%d-:22", ntohs(a.sin_port));
	cr_assert_eq(net_config__parse(opt, 0, &cfg), 0);
	cr_expect_lt(net_backend__open(&cfg, &nb), 0, "a busy host port fails the open");
	close(s);
}
