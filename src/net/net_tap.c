/* tap backend: a /dev/net/tun TAP interface without packet info or vnet
 * header (no offloads are negotiated, so frames are plain Ethernet).  The
 * fd is non-blocking and polled directly by the device's worker. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "net/net.h"
#include "util/log.h"

static int tap_send(struct net_backend *nb, const void *frame, size_t len)
{
	ssize_t n;

	do
		n = write(nb->rx_fd, frame, len);
	while (n < 0 && errno == EINTR);
	/* A full tap queue drops the frame, as a congested wire would. */
	return n < 0 ? -errno : 0;
}

static ssize_t tap_recv(struct net_backend *nb, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(nb->rx_fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return -EIO;    /* the interface went away */
	return n;
}

static void tap_close(struct net_backend *nb)
{
	close(nb->rx_fd);
	free(nb);
}

static const struct net_backend_ops tap_ops = {
	.name = "tap",
	.send = tap_send,
	.recv = tap_recv,
	.close = tap_close,
};

int net_tap__open(const struct net_config *cfg, struct net_backend **out)
{
	struct net_backend *nb;
	struct ifreq ifr;
	int fd, ret;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, "vireo run: --net tap: /dev/net/tun: %s%s\n", strerror(errno),
			errno == EACCES || errno == EPERM ? " (tap needs root or CAP_NET_ADMIN)" : "");
		return ret;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (cfg->ifname[0])
		memcpy(ifr.ifr_name, cfg->ifname, strnlen(cfg->ifname, IFNAMSIZ - 1));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		if (errno == EPERM || errno == EACCES)
			fprintf(stderr, "vireo run: --net tap: creating or attaching %s needs root "
				"or CAP_NET_ADMIN (or a persistent tap owned by this user)\n",
				cfg->ifname[0] ? cfg->ifname : "a tap interface");
		else if (errno == EBUSY)
			fprintf(stderr, "vireo run: --net tap: %s is busy (in use by another "
				"process, or not a tap)\n", cfg->ifname);
		else
			fprintf(stderr, "vireo run: --net tap: TUNSETIFF %s: %s\n",
				cfg->ifname[0] ? cfg->ifname : "", strerror(errno));
		close(fd);
		return ret;
	}
	nb = calloc(1, sizeof(*nb));
	if (!nb) {
		close(fd);
		return -ENOMEM;
	}
	nb->ops = &tap_ops;
	nb->rx_fd = fd;
	snprintf(nb->name, sizeof(nb->name), "tap(%.16s)", ifr.ifr_name);
	pr_info("net: attached to tap interface %s", ifr.ifr_name);
	*out = nb;
	return 0;
}
