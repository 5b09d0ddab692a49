/* libFuzzer harness for virtio-console (console.c) behind the virtio-pci
 * transport: rings, transmit buffers, receive buffers, the emergency-write
 * config field from the input; host keyboard input (special operation kind
 * 3) is appended to the device's input buffer the way its reader thread
 * does, then the worker's handle_fd path runs.  No reader thread is
 * started (in_fd -1); output goes to /dev/null.  console.c is included to
 * reach its private state; see fuzz_virtio_common.h for the rest. */
#include <fcntl.h>

#include "../src/devices/virtio/console.c"

#include "fuzz_virtio_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void special(struct fuzz_target *t, uint8_t op, struct fuzz_input *in)
{
	struct virtio_dev *dev = t->opaque;
	struct virtio_console *c = dev->opaque;
	unsigned n;

	if (fv_ram_write(op, in))
		return;
	/* 1..256 bytes, or a flood that fills the buffer. */
	n = (unsigned)fuzz__take(in, 1);
	n = n == 0xff ? CON_INBUF : n + 1;
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < n && c->inlen < sizeof(c->inbuf); i++)
		c->inbuf[c->inlen++] = (uint8_t)i;
	pthread_mutex_unlock(&c->lock);
	kick(c->ev_fd);
	fv_handle_fd(dev, c->ev_fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;
	struct fuzz_target t = {
		.win = fv_windows, .nr_win = FV_NR_WINDOWS,
		.special = special, .after = fv_service,
	};
	struct virtio_console *c;
	struct virtio_dev *dev;

	if (null_fd < 0) {
		fuzz__quiet();
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null_fd < 0)
			abort();
	}
	t.vm = fv_vm_new();
	if (virtio_console__create(t.vm, -1, null_fd))
		abort();
	dev = fv_take_device(&t);
	c = dev->opaque;
	fuzz__run(&t, data, size);
	fv_finish(&t, dev);
	/* console.c has no destroy (the VM owns it until exit): undo create. */
	close(c->ev_fd);
	close(c->wake_fd);
	pthread_cond_destroy(&c->space);
	pthread_mutex_destroy(&c->lock);
	free(c);
	fv_vm_free(t.vm);
	return 0;
}
