/* The tap backend against the host kernel: skipped without CAP_NET_ADMIN.
 * The interface is created by the test, never configured with an address
 * and gone when the fd closes, so nothing leaves this machine. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"

static long read_stat(const char *ifname, const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int set_up(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0), ret;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ret = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (!ret) {
		ifr.ifr_flags |= IFF_UP;
		ret = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return ret ? -errno : 0;
}

Test(net_tap, frames_cross_to_the_host_interface, .timeout = 30)
{
	struct net_config cfg;
	struct net_backend *nb;
	char ifname[16];
	uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56,
			      0x88, 0xb5 };   /* local experimental ethertype */
	long before;
	int ret;

	snprintf(ifname, sizeof(ifname), "vrtst%d", (int)(getpid() % 100000));
	cr_assert_eq(net_config__parse("tap", 0, &cfg), 0);
	snprintf(cfg.ifname, sizeof(cfg.ifname), "%s", ifname);
	ret = net_backend__open(&cfg, &nb);
	if (ret == -EPERM || ret == -EACCES || ret == -ENOENT || ret == -ENODEV)
		cr_skip_test("no tap here (needs CAP_NET_ADMIN and /dev/net/tun)");
	cr_assert_eq(ret, 0);
	cr_expect_eq(nb->ops->recv(nb, (uint8_t[NET_MAX_FRAME]){ 0 }, NET_MAX_FRAME), 0,
		     "nothing to read from a fresh, down interface");
	cr_assert_eq(set_up(ifname), 0);
	before = read_stat(ifname, "rx_packets");
	cr_assert_geq(before, 0);
	/* Guest -> host: the kernel counts the frame as received on the tap. */
	cr_assert_eq(nb->ops->send(nb, frame, sizeof(frame)), 0);
	cr_expect_eq(read_stat(ifname, "rx_packets"), before + 1);
	net_backend__close(nb);
	cr_expect_lt(read_stat(ifname, "rx_packets"), 0, "the interface is gone after close");
}
