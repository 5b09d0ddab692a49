#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "vm/vm.h"

static struct vm vm;

static void teardown(void)
{
	vm__free_ram(&vm);
}

Test(memory, small_guest_bounds, .fini = teardown)
{
	uint8_t buf[16] = { 1, 2, 3 };

	memset(&vm, 0, sizeof(vm));
	cr_assert_eq(vm__alloc_ram(&vm, 64ull << 20), 0);
	cr_expect_eq(vm.lowmem_size, 64ull << 20);
	cr_expect_eq(vm.highmem_size, 0);
	cr_expect_not_null(vm__gpa_to_hva(&vm, 0, 64ull << 20));
	cr_expect_null(vm__gpa_to_hva(&vm, 0, (64ull << 20) + 1));
	cr_expect_null(vm__gpa_to_hva(&vm, (64ull << 20) - 8, 16), "straddles the end of RAM");
	cr_expect_null(vm__gpa_to_hva(&vm, UINT64_MAX - 4, 16), "wraps around");
	cr_expect_null(vm__gpa_to_hva(&vm, VM_HIGHMEM_BASE, 1), "no high RAM");
	cr_expect_eq(vm__write_guest(&vm, 0x1000, buf, 3), 0);
	memset(buf, 0, sizeof(buf));
	cr_expect_eq(vm__read_guest(&vm, 0x1000, buf, 3), 0);
	cr_expect_eq(buf[2], 3);
	cr_expect_eq(vm__read_guest(&vm, (64ull << 20) - 1, buf, 2), -EFAULT);
}

Test(memory, hole_and_high_ram, .fini = teardown)
{
	const uint64_t size = 5ull << 30;
	uint8_t *lo_end, *hi;

	memset(&vm, 0, sizeof(vm));
	cr_assert_eq(vm__alloc_ram(&vm, size), 0);
	cr_expect_eq(vm.lowmem_size, VM_LOWMEM_LIMIT);
	cr_expect_eq(vm.highmem_size, size - VM_LOWMEM_LIMIT);
	cr_expect_null(vm__gpa_to_hva(&vm, VM_LOWMEM_LIMIT, 1), "the 32-bit hole is not RAM");
	cr_expect_null(vm__gpa_to_hva(&vm, VM_LAPIC_BASE, 4));
	cr_expect_null(vm__gpa_to_hva(&vm, VM_LOWMEM_LIMIT - 2, 4), "straddles into the hole");
	lo_end = vm__gpa_to_hva(&vm, VM_LOWMEM_LIMIT - 1, 1);
	hi = vm__gpa_to_hva(&vm, VM_HIGHMEM_BASE, 1);
	cr_assert_not_null(lo_end);
	cr_assert_not_null(hi);
	cr_expect_eq(hi, lo_end + 1, "high RAM follows low RAM in the host mapping");
	cr_expect_not_null(vm__gpa_to_hva(&vm, VM_HIGHMEM_BASE + vm.highmem_size - 1, 1));
	cr_expect_null(vm__gpa_to_hva(&vm, VM_HIGHMEM_BASE + vm.highmem_size, 1));
}

Test(memory, refuses_tiny_guests)
{
	struct vm v;

	memset(&v, 0, sizeof(v));
	cr_expect_eq(vm__alloc_ram(&v, 1 << 20), -EINVAL);
}
