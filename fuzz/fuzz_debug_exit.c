/* libFuzzer harness for isa-debug-exit (0xF4) and the legacy port sinks
 * (POST 0x80, port 0x92, ...): a guest write must only *request* a stop —
 * vireo exits later, from vm__run — never exit the process (libFuzzer
 * reports an exit as a crash).  Also checks the first stop wins and its
 * status is (v << 1) | 1 truncated to 8 bits, as documented. */
#include "devices/devices.h"
#include "fuzz_bus_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fuzz_window windows[] = {
	{ false, PORT_DEBUG_EXIT, 4 },
	{ false, PORT_DEBUG_EXIT - 4, 12 },
	{ false, PORT_POST, 0x20 },
	{ false, 0x90, 8 },
};

struct expect {
	int reason, status;
};

static void check(struct fuzz_target *t, bool write)
{
	struct expect *e = t->opaque;
	int reason = atomic_load(&t->vm->stop_reason);

	if (e->reason == VM_STOP_NONE) {
		e->reason = reason;
		e->status = t->vm->stop_status;
		if (reason == VM_STOP_DEBUG_EXIT && !(e->status & 1))
			__builtin_trap();
		if (e->status < 0 || e->status > 0xff)
			__builtin_trap();
	} else if (reason != e->reason || t->vm->stop_status != e->status) {
		__builtin_trap();   /* a later stop overrode the first */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct expect e = { VM_STOP_NONE, 0 };
	struct fuzz_target t = {
		.win = windows, .nr_win = sizeof(windows) / sizeof(windows[0]),
		.after = check, .opaque = &e,
	};

	if (!quiet) {
		fuzz__quiet();
		quiet = true;
	}
	t.vm = fuzz__vm_new(NULL, 0);
	if (debug_exit__init(t.vm) || legacy_sink__init(t.vm))
		abort();
	fuzz__run(&t, data, size);
	debug_exit__exit(t.vm);
	fuzz__vm_free(t.vm);
	return 0;
}
