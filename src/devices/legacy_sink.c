/* Ports that Linux and firmware touch but that need no model: the POST
 * diagnostic port (also Linux's I/O delay), 0xED (alternative I/O delay),
 * a DMA page register, and System Control Port A at 0x92 (fast A20 and
 * fast reset).  Claiming them keeps them out of the "unhandled port" logs.
 * The PIC, PIT and speaker port belong to the CPU backends. */
#include <errno.h>
#include <string.h>

#include "devices/devices.h"
#include "util/log.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define PORT_IO_DELAY_ALT 0xED
#define PORT_DMA_PAGE     0x87
#define PORT_SYSCTL_A     0x92

#define SYSCTL_A_RESET    0x01
#define SYSCTL_A_A20      0x02

static void sink__read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	memset(data, 0xFF, len);
}

static void sink__write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
}

static const struct bus_dev_ops sink_ops = {
	.read = sink__read,
	.write = sink__write,
};

static void sysctl_a__read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	memset(data, 0xFF, len);
	/* A20 is always on; the reset bit reads back 0. */
	((uint8_t *)data)[0] = SYSCTL_A_A20;
}

static void sysctl_a__write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct vm *vm = opaque;
	uint8_t v = ((const uint8_t *)data)[0];

	if (v & SYSCTL_A_RESET)
		vm__request_stop(vm, VM_STOP_RESET, 0);
	else if (!(v & SYSCTL_A_A20))
		guest_err("port 0x92: A20 cannot be disabled");
}

static const struct bus_dev_ops sysctl_a_ops = {
	.read = sysctl_a__read,
	.write = sysctl_a__write,
};

int legacy_sink__init(struct vm *vm)
{
	static const struct {
		uint16_t port;
		const struct bus_dev_ops *ops;
		const char *name;
	} ports[] = {
		{ PORT_POST, &sink_ops, "post" },
		{ PORT_IO_DELAY_ALT, &sink_ops, "io-delay" },
		{ PORT_DMA_PAGE, &sink_ops, "dma-page" },
		{ PORT_SYSCTL_A, &sysctl_a_ops, "sysctl-a" },
	};
	unsigned i;
	int ret;

	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		ret = bus__register(&vm->pio, ports[i].port, 1, ports[i].ops, vm, ports[i].name);
		if (ret)
			goto err_unregister;
	}
	return 0;

err_unregister:
	while (i--)
		bus__unregister(&vm->pio, ports[i].port);
	return ret;
}
