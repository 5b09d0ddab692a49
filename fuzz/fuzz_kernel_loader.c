/* libFuzzer harness: arbitrary bytes as a kernel image, through the same
 * detection and loaders boot__setup uses for files, then the zero page
 * built from whatever the loader accepted.  Build with -Dfuzz=true and
 * CC=clang; see docs/boot.md. */
#include <stdint.h>
#include <stdlib.h>

#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "vm/vm.h"

#define FUZZ_GUEST_MEM (64ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One guest for the whole run: allocating 64 MiB per input would dominate. */
static struct vm *fuzz_vm;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_kernel k;
	uint64_t initrd = 0;

	if (!fuzz_vm) {
		fuzz_vm = calloc(1, sizeof(*fuzz_vm));
		if (!fuzz_vm || vm__alloc_ram(fuzz_vm, FUZZ_GUEST_MEM))
			abort();
		fuzz_vm->nr_cpus = 1;
	}
	if (boot__load_kernel(fuzz_vm, "fuzz", data, size, &k))
		return 0;
	/* What the loader reports must be self-consistent. */
	if (k.lo > k.hi || k.hi > fuzz_vm->lowmem_size)
		abort();
	if (!vm__gpa_to_hva(fuzz_vm, k.entry, 1))
		abort();
	if (initrd__place(fuzz_vm, &k, 1 << 20, &initrd) == 0 &&
	    (initrd < k.hi && initrd + (1 << 20) > k.lo))
		abort();
	zero_page__build(fuzz_vm, &k, "console=ttyS0", initrd, initrd ? 1 << 20 : 0,
			 BOOT_ACPI_ADDR);
	return 0;
}
