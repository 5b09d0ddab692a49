/* libFuzzer harness for virtio-net (net.c) behind the virtio-pci
 * transport: the guest side (rings, tx frames with their virtio-net
 * headers, rx buffers, mergeable buffers, config space) comes from the
 * input, and so do frames arriving from the host (special operation kind
 * 3), which go through a fake backend into the device's handle_fd path as
 * on the worker.  The fake backend checks every frame the device sends.
 * net.c is included to reach its private state; see fuzz_virtio_common.h
 * for the rest. */
#include <sys/eventfd.h>

#include "../src/devices/virtio/net.c"

#include "fuzz_virtio_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAKE_MAX_RX 8

struct fake_nb {
	struct net_backend nb;
	size_t rx_len[FAKE_MAX_RX];
	uint8_t rx_fill[FAKE_MAX_RX];
	unsigned rx_head, rx_count;
};

static int fake_send(struct net_backend *nb, const void *frame, size_t len)
{
	if (len < NET_MIN_FRAME || len > NET_MAX_FRAME)
		__builtin_trap();
	/* Touch every byte: ASan checks the device handed over what it said. */
	volatile uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += ((const uint8_t *)frame)[i];
	(void)sum;
	return len & 1 ? -ENOBUFS : 0;   /* exercise the drop path too */
}

static ssize_t fake_recv(struct net_backend *nb, void *buf, size_t len)
{
	struct fake_nb *f = (struct fake_nb *)nb;
	size_t n;

	if (!f->rx_count)
		return 0;
	n = f->rx_len[f->rx_head];
	if (n > len)
		__builtin_trap();
	memset(buf, f->rx_fill[f->rx_head], n);
	f->rx_head = (f->rx_head + 1) % FAKE_MAX_RX;
	f->rx_count--;
	return (ssize_t)n;
}

static void fake_close(struct net_backend *nb)
{
	struct fake_nb *f = (struct fake_nb *)nb;

	close(nb->rx_fd);
	free(f);
}

static const struct net_backend_ops fake_ops = {
	.name = "fuzz", .send = fake_send, .recv = fake_recv, .close = fake_close,
};

/* Kind 3: up to 8 frames of fuzzer-chosen length (0..65535 plus the
 * largest legal size) arrive, then the worker's rx_fd branch runs. */
static void special(struct fuzz_target *t, uint8_t op, struct fuzz_input *in)
{
	struct virtio_dev *dev = t->opaque;
	struct virtio_net *n = dev->opaque;
	struct fake_nb *f = (struct fake_nb *)n->nb;
	unsigned count;

	if (fv_ram_write(op, in))
		return;
	count = 1 + (unsigned)fuzz__take(in, 1) % FAKE_MAX_RX;
	for (unsigned i = 0; i < count && f->rx_count < FAKE_MAX_RX; i++) {
		unsigned slot = (f->rx_head + f->rx_count) % FAKE_MAX_RX;
		uint16_t len = (uint16_t)fuzz__take(in, 2);

		f->rx_len[slot] = len == 0xffff ? NET_MAX_FRAME : len;
		f->rx_fill[slot] = (uint8_t)slot;
		f->rx_count++;
	}
	fv_handle_fd(dev, f->nb.rx_fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	static bool quiet;
	struct fuzz_target t = {
		.win = fv_windows, .nr_win = FV_NR_WINDOWS,
		.special = special, .after = fv_service,
	};
	struct fake_nb *f = calloc(1, sizeof(*f));
	struct virtio_dev *dev;

	if (!quiet) {
		fuzz__quiet();
		quiet = true;
	}
	if (!f)
		abort();
	f->nb.ops = &fake_ops;
	f->nb.rx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	snprintf(f->nb.name, sizeof(f->nb.name), "fuzz");
	t.vm = fv_vm_new();
	dev = virtio_net__new(t.vm, mac, &f->nb);
	if (f->nb.rx_fd < 0 || !dev || virtio_pci__register(t.vm, dev))
		abort();
	fv_take_device(&t);
	fuzz__run(&t, data, size);
	fv_finish(&t, dev);
	virtio_net__free(dev);
	fv_vm_free(t.vm);
	return 0;
}
