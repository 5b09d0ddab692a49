/* libFuzzer harness for the MC146818 RTC/CMOS at 0x70/0x71: index and data
 * port accesses of every width, including time writes in BCD/binary and
 * 12/24-hour modes, SET/divider changes, periodic rates and alarms.  The
 * RTC's timer thread runs as in vireo (its interrupts go to the checking
 * fake backend); time comes from the host clock, so a rare finding may need
 * a few replays. */
#include "devices/devices.h"
#include "fuzz_bus_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fuzz_window windows[] = {
	{ false, PORT_RTC, 2 },
	{ false, PORT_RTC - 2, 6 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct fuzz_target t = { .win = windows, .nr_win = sizeof(windows) / sizeof(windows[0]) };

	if (!quiet) {
		fuzz__quiet();
		quiet = true;
	}
	t.vm = fuzz__vm_new(NULL, 0);
	if (rtc__init(t.vm))
		abort();
	fuzz__run(&t, data, size);
	rtc__exit(t.vm);
	fuzz__vm_free(t.vm);
	return 0;
}
