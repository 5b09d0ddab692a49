/* libFuzzer harness for the ACPI PM1a event/control blocks and PM timer at
 * 0x600, plus the host's power button as the "special" operation.  The only
 * stop a guest may cause here is a power-off (SLP_TYP=S5 with SLP_EN). */
#include "devices/devices.h"
#include "fuzz_bus_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fuzz_window windows[] = {
	{ false, PORT_ACPI_PM_BASE, 12 },
	{ false, PORT_ACPI_PM_BASE - 4, 20 },
};

static void power_button(struct fuzz_target *t, uint8_t op, struct fuzz_input *in)
{
	acpi_pm__power_button(t->vm);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct fuzz_target t = {
		.win = windows, .nr_win = sizeof(windows) / sizeof(windows[0]),
		.special = power_button,
	};
	int reason;

	if (!quiet) {
		fuzz__quiet();
		quiet = true;
	}
	t.vm = fuzz__vm_new(NULL, 0);
	if (acpi_pm__init(t.vm))
		abort();
	fuzz__run(&t, data, size);
	reason = atomic_load(&t.vm->stop_reason);
	if (reason != VM_STOP_NONE && reason != VM_STOP_POWEROFF)
		__builtin_trap();
	acpi_pm__exit(t.vm);
	fuzz__vm_free(t.vm);
	return 0;
}
