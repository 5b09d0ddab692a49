/* --net option parsing, backend selection and the frame FIFO. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "util/parse.h"

int net__parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		/* sscanf's %x accepts signs and spaces; a MAC has neither. */
		if (s[3 * i + 2] != ':' && i < 5)
			return -EINVAL;
		for (int k = 0; k < 2; k++) {
			char c = s[3 * i + k];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
				return -EINVAL;
		}
		mac[i] = (uint8_t)v[i];
	}
	if (mac[0] & 1)
		return -EINVAL;   /* a multicast address cannot be a NIC's */
	return 0;
}

static int parse_port(const char *s, uint16_t *out)
{
	long v;

	if (parse_int(s, 1, 65535, &v))
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* "[addr]:port" */
static int parse_addr_port(char *s, struct in_addr def, struct in_addr *addr, uint16_t *port)
{
	char *colon = strrchr(s, ':');

	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (!*s)
		*addr = def;
	else if (inet_pton(AF_INET, s, addr) != 1)
		return -EINVAL;
	return parse_port(colon + 1, port);
}

int net__parse_hostfwd(const char *arg, struct net_hostfwd *out)
{
	char buf[128], *s = buf, *dash;
	struct in_addr lo = { htonl(INADDR_LOOPBACK) }, guest;

	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	memset(out, 0, sizeof(*out));
	inet_pton(AF_INET, "10.0.2.15", &guest);
	if (!strncmp(s, "tcp:", 4)) {
		s += 4;
	} else if (!strncmp(s, "udp:", 4)) {
		out->udp = true;
		s += 4;
	}
	dash = strchr(s, '-');
	if (!dash)
		return -EINVAL;
	*dash = '\0';
	if (parse_addr_port(s, lo, &out->host_addr, &out->host_port) ||
	    parse_addr_port(dash + 1, guest, &out->guest_addr, &out->guest_port))
		return -EINVAL;
	return 0;
}

static int bad(const char *arg, const char *part, const char *why)
{
	fprintf(stderr, "vireo run: --net %s: %s '%s'\n", arg, why, part);
	return -EINVAL;
}

int net_config__parse(const char *arg, unsigned index, struct net_config *out)
{
	char buf[512], *save = NULL, *tok;

	memset(out, 0, sizeof(*out));
	if (strlen(arg) >= sizeof(buf)) {
		fprintf(stderr, "vireo run: --net: argument too long\n");
		return -EINVAL;
	}
	strcpy(buf, arg);
	/* Locally administered QEMU-style default, unique per NIC. */
	memcpy(out->mac, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
	out->mac[5] = (uint8_t)(0x56 + index);

	tok = strtok_r(buf, ",", &save);
	if (!tok)
		return bad(arg, "", "missing backend (user or tap)");
	if (!strcmp(tok, "user"))
		out->kind = NET_BACKEND_USER;
	else if (!strcmp(tok, "tap"))
		out->kind = NET_BACKEND_TAP;
	else
		return bad(arg, tok, "unknown backend (use user or tap)");

	while ((tok = strtok_r(NULL, ",", &save))) {
		if (!strncmp(tok, "mac=", 4)) {
			if (net__parse_mac(tok + 4, out->mac))
				return bad(arg, tok, "bad MAC address (want unicast xx:xx:xx:xx:xx:xx)");
		} else if (!strncmp(tok, "hostfwd=", 8) && out->kind == NET_BACKEND_USER) {
			if (out->nr_fwd >= NET_MAX_HOSTFWD)
				return bad(arg, tok, "too many hostfwd (at most 8)");
			if (net__parse_hostfwd(tok + 8, &out->fwd[out->nr_fwd]))
				return bad(arg, tok, "bad hostfwd (want [tcp|udp]:[hostaddr]:port-[guestaddr]:port)");
			out->nr_fwd++;
		} else if (!strncmp(tok, "ifname=", 7) && out->kind == NET_BACKEND_TAP) {
			const char *n = tok + 7;
			if (!*n || strlen(n) >= NET_IFNAMSIZ || strchr(n, '/') || strchr(n, ' '))
				return bad(arg, tok, "bad interface name (1-15 characters, no '/')");
			strcpy(out->ifname, n);
		} else {
			return bad(arg, tok, out->kind == NET_BACKEND_USER ?
				   "unknown option for user (hostfwd=, mac=)" :
				   "unknown option for tap (ifname=, mac=)");
		}
	}
	return 0;
}

int net_backend__open(const struct net_config *cfg, struct net_backend **out)
{
	switch (cfg->kind) {
	case NET_BACKEND_USER:
		return net_slirp__open(cfg, out);
	case NET_BACKEND_TAP:
		return net_tap__open(cfg, out);
	}
	return -EINVAL;
}

void net_backend__close(struct net_backend *nb)
{
	if (nb)
		nb->ops->close(nb);
}

void net_fifo__init(struct net_fifo *f, unsigned max)
{
	memset(f, 0, sizeof(*f));
	f->max = max;
}

bool net_fifo__push(struct net_fifo *f, const void *data, size_t len)
{
	struct net_frame *fr;

	if (f->count >= f->max || len > NET_MAX_FRAME ||
	    !(fr = malloc(sizeof(*fr) + len))) {
		f->dropped++;
		return false;
	}
	fr->next = NULL;
	fr->len = len;
	memcpy(fr->data, data, len);
	if (f->tail)
		f->tail->next = fr;
	else
		f->head = fr;
	f->tail = fr;
	f->count++;
	return true;
}

struct net_frame *net_fifo__pop(struct net_fifo *f)
{
	struct net_frame *fr = f->head;

	if (!fr)
		return NULL;
	f->head = fr->next;
	if (!f->head)
		f->tail = NULL;
	f->count--;
	return fr;
}

void net_fifo__clear(struct net_fifo *f)
{
	struct net_frame *fr;

	while ((fr = net_fifo__pop(f)))
		free(fr);
}
