/* libFuzzer harness for the 8250/16550A UART as the guest sees it: port
 * accesses at COM1 (and straddling its edges), plus a "special" operation
 * standing for host console input, so the receive FIFO, overrun, trigger
 * levels and every interrupt source are reachable.  Output goes to
 * /dev/null; no input thread runs, so runs are reproducible. */
#include <fcntl.h>
#include <unistd.h>

#include "devices/devices.h"
#include "devices/serial_priv.h"
#include "fuzz_bus_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fuzz_window windows[] = {
	{ false, PORT_COM1, 8 },
	{ false, PORT_COM1 - 4, 16 },   /* accesses across both ends */
};

static void host_input(struct fuzz_target *t, uint8_t op, struct fuzz_input *in)
{
	struct serial *s = t->vm->dev.com1;
	unsigned n = 1 + ((op >> 1) & 3) * 5;   /* 1..16 bytes: fills the FIFO */

	pthread_mutex_lock(&s->lock);
	while (n--)
		serial__rx_push_locked(s, (uint8_t)fuzz__take(in, 1));
	serial__update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int null_fd = -1;
	struct fuzz_target t = {
		.win = windows, .nr_win = sizeof(windows) / sizeof(windows[0]),
		.special = host_input,
	};

	if (null_fd < 0) {
		fuzz__quiet();
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null_fd < 0)
			abort();
	}
	t.vm = fuzz__vm_new(NULL, 0);
	if (serial__init(t.vm, PORT_COM1, IRQ_COM1, -1, null_fd))
		abort();
	fuzz__run(&t, data, size);
	serial__exit(t.vm);
	fuzz__vm_free(t.vm);
	return 0;
}
