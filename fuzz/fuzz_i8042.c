/* libFuzzer harness for the i8042 keyboard controller: data (0x60) and
 * command/status (0x64) ports, so controller, keyboard and aux (mouse)
 * command state machines, the output buffer and the reset line are all
 * driven by the input.  A reset request only records a stop; the run goes
 * on, as the vCPU may keep issuing accesses until it notices. */
#include "devices/devices.h"
#include "fuzz_bus_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fuzz_window windows[] = {
	{ false, PORT_I8042_DATA, 1 },
	{ false, PORT_I8042_CMD, 1 },
	{ false, PORT_I8042_DATA - 1, 6 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct fuzz_target t = { .win = windows, .nr_win = sizeof(windows) / sizeof(windows[0]) };
	int reason;

	if (!quiet) {
		fuzz__quiet();
		quiet = true;
	}
	t.vm = fuzz__vm_new(NULL, 0);
	if (i8042__init(t.vm))
		abort();
	fuzz__run(&t, data, size);
	reason = atomic_load(&t.vm->stop_reason);
	if (reason != VM_STOP_NONE && reason != VM_STOP_RESET)
		__builtin_trap();
	i8042__exit(t.vm);
	fuzz__vm_free(t.vm);
	return 0;
}
