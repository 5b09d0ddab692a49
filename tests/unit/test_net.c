/* virtio-net over a fake backend in a fake VM (rings built by hand in RAM,
 * no PCI), and --net / MAC / hostfwd parsing. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/devices.h"
#include "devices/virtio/virtio.h"
#include "net/net.h"
#include "vm/vm.h"

#define QSZ 16
#define RX 0
#define TX 1
#define F_MRG_RXBUF (1ull << 15)
#define HDR 12

/* Per queue: desc / avail / used rings, then a data area. */
static const uint64_t ring_base[2] = { 0x10000, 0x20000 };
#define DESC(q)  (ring_base[q])
#define AVAIL(q) (ring_base[q] + 0x1000)
#define USED(q)  (ring_base[q] + 0x2000)
#define DATA     0x100000ull

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; } __attribute__((packed));

/* The fake backend: records what the guest sends, serves queued frames. */
struct fake {
	struct net_backend nb;
	uint8_t sent[8][2048];
	size_t sent_len[8];
	unsigned nr_sent;
	uint8_t rx[32][2048];
	size_t rx_len[32];
	unsigned rx_head, rx_tail;
};

static struct vm vm;
static struct fake *fake;
static struct virtio_dev *dev;
static uint16_t next_desc[2];

static int fake_send(struct net_backend *nb, const void *frame, size_t len)
{
	struct fake *f = nb->priv;

	if (f->nr_sent < 8 && len <= sizeof(f->sent[0])) {
		memcpy(f->sent[f->nr_sent], frame, len);
		f->sent_len[f->nr_sent] = len;
	}
	f->nr_sent++;
	return 0;
}

static ssize_t fake_recv(struct net_backend *nb, void *buf, size_t len)
{
	struct fake *f = nb->priv;
	unsigned i;

	if (f->rx_head == f->rx_tail)
		return 0;
	i = f->rx_head++ % 32;
	memcpy(buf, f->rx[i], f->rx_len[i]);
	return (ssize_t)f->rx_len[i];
}

static void fake_close(struct net_backend *nb)
{
	close(nb->rx_fd);
	free(nb->priv);
}

static const struct net_backend_ops fake_ops = {
	.name = "fake", .send = fake_send, .recv = fake_recv, .close = fake_close,
};

static void setup_features(uint64_t extra)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };

	memset(&vm, 0, sizeof(vm));
	cr_assert_eq(vm__alloc_ram(&vm, 16 << 20), 0);
	fake = calloc(1, sizeof(*fake));
	fake->nb.ops = &fake_ops;
	fake->nb.priv = fake;
	fake->nb.rx_fd = eventfd(0, EFD_NONBLOCK);
	strcpy(fake->nb.name, "fake");
	dev = virtio_net__new(&vm, mac, &fake->nb);
	cr_assert_not_null(dev);
	/* MSI-X on, no vector: signalling is a no-op without a PCI device. */
	dev->msix_enabled = true;
	dev->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
	dev->guest_features = (1ull << VIRTIO_F_RING_INDIRECT_DESC) |
			      (1ull << VIRTIO_F_RING_EVENT_IDX) | (1ull << VIRTIO_F_VERSION_1) | extra;
	cr_assert_eq(dev->guest_features & ~dev->host_features & ~(1ull << VIRTIO_F_VERSION_1), 0,
		     "test negotiates only offered features");
	for (int q = 0; q < 2; q++) {
		struct virtqueue *vq = &dev->vqs[q];

		virtq__reset(vq);
		vq->size = QSZ;
		vq->desc_gpa = DESC(q);
		vq->avail_gpa = AVAIL(q);
		vq->used_gpa = USED(q);
		cr_assert_eq(virtq__enable(vq), 0);
		next_desc[q] = 0;
	}
	dev->status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;
}

static void setup(void) { setup_features(F_MRG_RXBUF); }
static void setup_nomrg(void) { setup_features(0); }

static void teardown(void)
{
	virtio_net__free(dev);
	vm__free_ram(&vm);
}

/* Add a chain of (gpa, len, writable) buffers; returns its head. */
static uint16_t add_chain(int q, const uint64_t *gpa, const uint32_t *len, const bool *wr, int n)
{
	uint16_t head = next_desc[q];
	uint16_t *avail = (uint16_t *)(vm.ram + AVAIL(q));

	for (int i = 0; i < n; i++) {
		uint16_t d = next_desc[q]++ % QSZ;
		struct desc de = { gpa[i], len[i], (uint16_t)((i + 1 < n ? 1 : 0) | (wr[i] ? 2 : 0)),
				   (uint16_t)((d + 1) % QSZ) };

		memcpy(vm.ram + DESC(q) + 16 * d, &de, sizeof(de));
	}
	avail[2 + avail[1] % QSZ] = head % QSZ;
	avail[1]++;
	return head % QSZ;
}

static void add_rx_buf(uint64_t gpa, uint32_t len)
{
	add_chain(RX, &gpa, &len, (bool[]){ true }, 1);
}

static uint16_t used_idx(int q) { return ((uint16_t *)(vm.ram + USED(q)))[1]; }
static uint32_t used_id(int q, unsigned i) { return *(uint32_t *)(vm.ram + USED(q) + 4 + 8 * i); }
static uint32_t used_len(int q, unsigned i) { return *(uint32_t *)(vm.ram + USED(q) + 8 + 8 * i); }

static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
}

static void backend_queue(const uint8_t *frame, size_t len)
{
	unsigned i = fake->rx_tail++ % 32;

	memcpy(fake->rx[i], frame, len);
	fake->rx_len[i] = len;
}

static void kick(int q)
{
	dev->ops->handle_queue(dev, &dev->vqs[q]);
}

Test(net, tx_split_header_and_frame, .init = setup, .fini = teardown)
{
	uint8_t frame[60];

	make_frame(frame, sizeof(frame), 1);
	memset(vm.ram + DATA, 0, HDR);
	memcpy(vm.ram + DATA + 0x100, frame, sizeof(frame));
	add_chain(TX, (uint64_t[]){ DATA, DATA + 0x100 }, (uint32_t[]){ HDR, 60 },
		  (bool[]){ false, false }, 2);
	/* Header and frame in one buffer, as Linux sends with any_header_sg. */
	memset(vm.ram + DATA + 0x200, 0, HDR);
	make_frame(vm.ram + DATA + 0x200 + HDR, 100, 9);
	add_chain(TX, (uint64_t[]){ DATA + 0x200 }, (uint32_t[]){ HDR + 100 }, (bool[]){ false }, 1);
	kick(TX);
	cr_assert_eq(fake->nr_sent, 2);
	cr_expect_eq(fake->sent_len[0], 60);
	cr_expect_arr_eq(fake->sent[0], frame, 60);
	cr_expect_eq(fake->sent_len[1], 100);
	cr_expect_arr_eq(fake->sent[1], vm.ram + DATA + 0x200 + HDR, 100);
	cr_expect_eq(used_idx(TX), 2, "both chains returned");
	cr_expect_not(dev->broken);
}

Test(net, tx_bad_frames_dropped, .init = setup, .fini = teardown)
{
	memset(vm.ram + DATA, 0, 0x20000);
	/* Header only, short header, runt frame, oversize frame, GSO frame. */
	add_chain(TX, (uint64_t[]){ DATA }, (uint32_t[]){ HDR }, (bool[]){ false }, 1);
	add_chain(TX, (uint64_t[]){ DATA }, (uint32_t[]){ 8 }, (bool[]){ false }, 1);
	add_chain(TX, (uint64_t[]){ DATA }, (uint32_t[]){ HDR + 13 }, (bool[]){ false }, 1);
	add_chain(TX, (uint64_t[]){ DATA }, (uint32_t[]){ HDR + NET_MAX_FRAME + 1 }, (bool[]){ false }, 1);
	vm.ram[DATA + 0x10000 + 1] = 1;   /* gso_type TCPV4 */
	add_chain(TX, (uint64_t[]){ DATA + 0x10000 }, (uint32_t[]){ HDR + 60 }, (bool[]){ false }, 1);
	kick(TX);
	cr_expect_eq(fake->nr_sent, 0, "nothing reached the backend");
	cr_expect_eq(used_idx(TX), 5, "every chain was still returned");
	cr_expect_not(dev->broken, "bad frames are not a protocol violation");
	/* The device keeps working afterwards. */
	add_chain(TX, (uint64_t[]){ DATA }, (uint32_t[]){ HDR + 14 }, (bool[]){ false }, 1);
	kick(TX);
	cr_expect_eq(fake->nr_sent, 1);
}

Test(net, rx_frame_lands_with_header, .init = setup, .fini = teardown)
{
	uint8_t frame[100];
	uint16_t num_buffers;

	make_frame(frame, sizeof(frame), 3);
	memset(vm.ram + DATA, 0xee, 2048);
	add_rx_buf(DATA, 1526);
	backend_queue(frame, sizeof(frame));
	dev->ops->handle_fd(dev, fake->nb.rx_fd);
	cr_assert_eq(used_idx(RX), 1);
	cr_expect_eq(used_len(RX, 0), HDR + 100);
	for (int i = 0; i < 10; i++)
		cr_expect_eq(vm.ram[DATA + i], 0, "header byte %d is zero (no offloads)", i);
	memcpy(&num_buffers, vm.ram + DATA + 10, 2);
	cr_expect_eq(num_buffers, 1);
	cr_expect_arr_eq(vm.ram + DATA + HDR, frame, 100);
	cr_expect_eq(vm.ram[DATA + HDR + 100], 0xee, "nothing written past the frame");
}

Test(net, rx_waits_for_buffers_then_delivers_in_order, .init = setup, .fini = teardown)
{
	uint8_t a[64], b[80];

	make_frame(a, sizeof(a), 10);
	make_frame(b, sizeof(b), 20);
	backend_queue(a, sizeof(a));
	backend_queue(b, sizeof(b));
	dev->ops->handle_fd(dev, fake->nb.rx_fd);
	cr_expect_eq(used_idx(RX), 0, "no buffers: nothing delivered");
	cr_expect_eq(fake->rx_head, 2, "but the backend was drained");
	/* The device asked to be kicked at the next avail entry. */
	cr_expect_eq(*(uint16_t *)(vm.ram + USED(RX) + 4 + 8 * QSZ), 0);
	add_rx_buf(DATA, 1526);
	kick(RX);
	cr_assert_eq(used_idx(RX), 1);
	cr_expect_arr_eq(vm.ram + DATA + HDR, a, sizeof(a));
	cr_expect_eq(*(uint16_t *)(vm.ram + USED(RX) + 4 + 8 * QSZ), 1, "re-armed kick");
	add_rx_buf(DATA + 0x1000, 1526);
	kick(RX);
	cr_assert_eq(used_idx(RX), 2);
	cr_expect_eq(used_len(RX, 1), HDR + sizeof(b));
	cr_expect_arr_eq(vm.ram + DATA + 0x1000 + HDR, b, sizeof(b));
}

Test(net, rx_mergeable_spans_buffers, .init = setup, .fini = teardown)
{
	uint8_t frame[150];
	uint16_t num_buffers;

	make_frame(frame, sizeof(frame), 5);
	add_rx_buf(DATA, 64);
	add_rx_buf(DATA + 0x100, 64);
	add_rx_buf(DATA + 0x200, 64);
	add_rx_buf(DATA + 0x300, 64);
	backend_queue(frame, sizeof(frame));
	dev->ops->handle_fd(dev, fake->nb.rx_fd);
	cr_assert_eq(used_idx(RX), 3, "12 + 150 bytes need three 64-byte buffers");
	memcpy(&num_buffers, vm.ram + DATA + 10, 2);
	cr_expect_eq(num_buffers, 3);
	cr_expect_eq(used_len(RX, 0), 64);
	cr_expect_eq(used_len(RX, 1), 64);
	cr_expect_eq(used_len(RX, 2), 12 + 150 - 128);
	cr_expect_eq(used_id(RX, 2), 2);
	cr_expect_arr_eq(vm.ram + DATA + HDR, frame, 52);
	cr_expect_arr_eq(vm.ram + DATA + 0x100, frame + 52, 64);
	cr_expect_arr_eq(vm.ram + DATA + 0x200, frame + 116, 34);
}

Test(net, rx_mergeable_partial_buffers_are_not_consumed, .init = setup, .fini = teardown)
{
	uint8_t frame[150];

	make_frame(frame, sizeof(frame), 5);
	add_rx_buf(DATA, 64);
	backend_queue(frame, sizeof(frame));
	dev->ops->handle_fd(dev, fake->nb.rx_fd);
	cr_expect_eq(used_idx(RX), 0, "one 64-byte buffer is not enough: wait");
	cr_expect_eq(dev->vqs[RX].last_avail, 0, "and the buffer was given back");
	cr_expect_eq(*(uint16_t *)(vm.ram + USED(RX) + 4 + 8 * QSZ), 1,
		     "kick requested for the next buffer, not the one already seen");
	add_rx_buf(DATA + 0x100, 64);
	add_rx_buf(DATA + 0x200, 64);
	kick(RX);
	cr_expect_eq(used_idx(RX), 3);
	cr_expect_arr_eq(vm.ram + DATA + 0x200, frame + 116, 34);
}

Test(net, rx_without_mrg_drops_frames_too_big_for_a_buffer, .init = setup_nomrg, .fini = teardown)
{
	uint8_t big[1000], small[60];
	uint16_t num_buffers;

	make_frame(big, sizeof(big), 1);
	make_frame(small, sizeof(small), 2);
	add_rx_buf(DATA, 512);
	backend_queue(big, sizeof(big));
	backend_queue(small, sizeof(small));
	dev->ops->handle_fd(dev, fake->nb.rx_fd);
	cr_assert_eq(used_idx(RX), 1, "the big frame is dropped, the small one delivered");
	cr_expect_eq(used_len(RX, 0), HDR + sizeof(small));
	cr_expect_arr_eq(vm.ram + DATA + HDR, small, sizeof(small));
	memcpy(&num_buffers, vm.ram + DATA + 10, 2);
	cr_expect_eq(num_buffers, 1);
	cr_expect_not(dev->broken);
}

Test(net, rx_runt_and_not_ready_dropped, .init = setup, .fini = teardown)
{
	uint8_t runt[10] = { 0 }, ok[60];

	make_frame(ok, sizeof(ok), 4);
	add_rx_buf(DATA, 1526);
	add_rx_buf(DATA + 0x1000, 1526);
	backend_queue(runt, sizeof(runt));
	dev->ops->handle_fd(dev, fake->nb.rx_fd);
	cr_expect_eq(used_idx(RX), 0, "runt frame from the backend dropped");
	dev->status &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	backend_queue(ok, sizeof(ok));
	dev->ops->handle_fd(dev, fake->nb.rx_fd);
	dev->status |= VIRTIO_STATUS_DRIVER_OK;
	kick(RX);
	cr_expect_eq(used_idx(RX), 0, "frames arriving before DRIVER_OK are dropped");
	backend_queue(ok, sizeof(ok));
	dev->ops->handle_fd(dev, fake->nb.rx_fd);
	cr_expect_eq(used_idx(RX), 1);
}

Test(net, rx_backlog_is_bounded, .init = setup, .fini = teardown)
{
	uint8_t f[60];
	unsigned delivered = 0;

	/* 32 frames per round with no buffers: far more than the backlog. */
	for (int round = 0; round < 12; round++) {
		for (int i = 0; i < 32; i++) {
			make_frame(f, sizeof(f), (uint8_t)(round * 32 + i));
			backend_queue(f, sizeof(f));
		}
		dev->ops->handle_fd(dev, fake->nb.rx_fd);
	}
	/* Drain the backlog 16 buffers at a time. */
	for (int round = 0; round < 40; round++) {
		uint16_t before = used_idx(RX);

		for (int i = 0; i < QSZ; i++)
			add_rx_buf(DATA + 0x800 * i, 1526);
		kick(RX);
		delivered += (uint16_t)(used_idx(RX) - before);
		if ((uint16_t)(used_idx(RX) - before) < QSZ)
			break;
	}
	cr_expect_eq(delivered, 256, "backlog capped at 256 frames, got %u", delivered);
	/* The oldest frames were kept: the last buffer of the last full round
	 * holds frame 255 (seed 255). */
	make_frame(f, sizeof(f), 255);
	cr_expect_arr_eq(vm.ram + DATA + 0x800 * 15 + HDR, f, sizeof(f));
}

Test(net, config_space, .init = setup, .fini = teardown)
{
	uint8_t mac[6], st[2];

	dev->ops->config_read(dev, 0, mac, 6);
	dev->ops->config_read(dev, 6, st, 2);
	cr_expect_arr_eq(mac, ((uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }), 6);
	cr_expect_eq(st[0], 1, "link up");
	cr_expect_eq(dev->device_id, 1);
	cr_expect_eq(dev->pci_class, 0x020000);
	cr_expect(dev->host_features & (1ull << 5), "F_MAC");
	cr_expect(dev->host_features & (1ull << 15), "F_MRG_RXBUF");
	cr_expect_not(dev->host_features & 3, "no checksum offloads");
}

/* ---- parsing ---- */

Test(net_parse, mac)
{
	uint8_t mac[6];

	cr_expect_eq(net__parse_mac("52:54:00:AB:cd:0f", mac), 0);
	cr_expect_arr_eq(mac, ((uint8_t[]){ 0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f }), 6);
	cr_expect_eq(net__parse_mac("52:54:00:12:34", mac), -EINVAL);
	cr_expect_eq(net__parse_mac("52:54:00:12:34:567", mac), -EINVAL);
	cr_expect_eq(net__parse_mac("52:54:00:12:34:5g", mac), -EINVAL);
	cr_expect_eq(net__parse_mac("52-54-00-12-34-56", mac), -EINVAL);
	cr_expect_eq(net__parse_mac("52:54: 0:12:34:56", mac), -EINVAL);
	cr_expect_eq(net__parse_mac("52:54:+0:12:34:56", mac), -EINVAL);
	cr_expect_eq(net__parse_mac("01:00:5e:00:00:01", mac), -EINVAL, "multicast refused");
	cr_expect_eq(net__parse_mac("", mac), -EINVAL);
}

Test(net_parse, good_user_and_tap)
{
	struct net_config c;
	char a[INET_ADDRSTRLEN];

	cr_assert_eq(net_config__parse("user", 0, &c), 0);
	cr_expect_eq(c.kind, NET_BACKEND_USER);
	cr_expect_arr_eq(c.mac, ((uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }), 6);
	cr_expect_eq(c.nr_fwd, 0);

	cr_assert_eq(net_config__parse("user,hostfwd=tcp::2222-:22,mac=52:54:00:aa:bb:cc,"
				       "hostfwd=udp:127.0.0.2:5353-10.0.2.16:53", 3, &c), 0);
	cr_expect_arr_eq(c.mac, ((uint8_t[]){ 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc }), 6);
	cr_assert_eq(c.nr_fwd, 2);
	cr_expect_not(c.fwd[0].udp);
	cr_expect_eq(c.fwd[0].host_port, 2222);
	cr_expect_eq(c.fwd[0].guest_port, 22);
	cr_expect_str_eq(inet_ntop(AF_INET, &c.fwd[0].host_addr, a, sizeof(a)), "127.0.0.1");
	cr_expect_str_eq(inet_ntop(AF_INET, &c.fwd[0].guest_addr, a, sizeof(a)), "10.0.2.15");
	cr_expect(c.fwd[1].udp);
	cr_expect_str_eq(inet_ntop(AF_INET, &c.fwd[1].host_addr, a, sizeof(a)), "127.0.0.2");
	cr_expect_str_eq(inet_ntop(AF_INET, &c.fwd[1].guest_addr, a, sizeof(a)), "10.0.2.16");
	cr_expect_eq(c.fwd[1].guest_port, 53);

	cr_assert_eq(net_config__parse("tap,ifname=vireo0", 2, &c), 0);
	cr_expect_eq(c.kind, NET_BACKEND_TAP);
	cr_expect_str_eq(c.ifname, "vireo0");
	cr_expect_eq(c.mac[5], 0x58, "default MAC is unique per NIC index");
	cr_assert_eq(net_config__parse("tap", 1, &c), 0);
	cr_expect_eq(c.ifname[0], 0);
	cr_expect_eq(c.mac[5], 0x57);
}

Test(net_parse, bad_strings, .init = cr_redirect_stderr)
{
	static const char *const bad[] = {
		"", "foo", "user,ifname=x", "tap,hostfwd=tcp::1-:2", "user,mac=01:00:00:00:00:00",
		"user,mac=52:54:00:12:34", "user,hostfwd=tcp::0-:22", "user,hostfwd=tcp::70000-:22",
		"user,hostfwd=tcp:2222-:22", "user,hostfwd=tcp::2222", "user,hostfwd=sctp::1-:2",
		"user,hostfwd=tcp:999.0.0.1:1-:2", "user,hostfwd=tcp::1-:x", "tap,ifname=",
		"tap,ifname=waytoolonginterfacename", "tap,ifname=a/b", "user,bogus",
	};
	struct net_config c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(net_config__parse(bad[i], 0, &c), -EINVAL, "'%s' accepted", bad[i]);
}

Test(net_parse, error_names_flag_and_part, .init = cr_redirect_stderr)
{
	struct net_config c;

	cr_assert_eq(net_config__parse("user,hostfwd=tcp::2222-:22,speed=9", 0, &c), -EINVAL);
	fflush(stderr);
	cr_expect_stderr_eq_str("vireo run: --net user,hostfwd=tcp::2222-:22,speed=9: unknown option "
				"for user (hostfwd=, mac=) 'speed=9'\n");
}

Test(net, rx_buffer_shorter_than_header_breaks_device, .init = setup, .fini = teardown)
{
	uint8_t f[60];

	make_frame(f, sizeof(f), 1);
	add_rx_buf(DATA, 8);
	backend_queue(f, sizeof(f));
	dev->ops->handle_fd(dev, fake->nb.rx_fd);
	cr_expect(dev->broken, "a header that cannot fit is a driver bug: NEEDS_RESET");
	cr_expect(dev->status & VIRTIO_STATUS_NEEDS_RESET);
	cr_expect_eq(used_idx(RX), 0);
	/* A broken device ignores further work instead of spinning. */
	add_rx_buf(DATA + 0x1000, 1526);
	backend_queue(f, sizeof(f));
	dev->ops->handle_fd(dev, fake->nb.rx_fd);
	cr_expect_eq(used_idx(RX), 0);
}
