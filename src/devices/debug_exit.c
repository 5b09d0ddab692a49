/* QEMU's isa-debug-exit: a test harness inside the guest writes v to the
 * port and vireo exits with status (v << 1) | 1, so "success" can never be
 * confused with a clean 0 exit. */
#include <errno.h>
#include <stdlib.h>

#include "devices/devices.h"
#include "util/log.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define DEBUG_EXIT_LEN 4

struct debug_exit {
	struct vm *vm;
};

static void debug_exit__io_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct debug_exit *d = opaque;
	const uint8_t *in = data;
	uint32_t v = 0;

	/* Any width and offset within the claim, like QEMU; the status is a
	 * process exit code, so only its low 8 bits survive anyway. */
	for (unsigned i = 0; i < len && i < 4; i++)
		v |= (uint32_t)in[i] << (8 * i);
	pr_debug("debug-exit: guest wrote %#x", v);
	vm__request_stop(d->vm, VM_STOP_DEBUG_EXIT, (int)((((uint64_t)v << 1) | 1) & 0xFF));
}

static const struct bus_dev_ops debug_exit_ops = {
	.read = NULL,   /* the bus answers all-ones */
	.write = debug_exit__io_write,
};

int debug_exit__init(struct vm *vm)
{
	struct debug_exit *d;
	int ret;

	if (vm->dev.debug_exit)
		return -EEXIST;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	ret = bus__register(&vm->pio, PORT_DEBUG_EXIT, DEBUG_EXIT_LEN, &debug_exit_ops, d,
			    "debug-exit");
	if (ret) {
		free(d);
		return ret;
	}
	vm->dev.debug_exit = d;
	return 0;
}

void debug_exit__exit(struct vm *vm)
{
	struct debug_exit *d = vm->dev.debug_exit;

	if (!d)
		return;
	bus__unregister(&vm->pio, PORT_DEBUG_EXIT);
	free(d);
	vm->dev.debug_exit = NULL;
}
