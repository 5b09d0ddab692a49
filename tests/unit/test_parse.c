#include <criterion/criterion.h>
#include <errno.h>

#include "util/parse.h"

Test(parse, sizes)
{
	uint64_t v;

	cr_expect_eq(parse_size("256M", &v), 0);
	cr_expect_eq(v, 256ull << 20);
	cr_expect_eq(parse_size("2G", &v), 0);
	cr_expect_eq(v, 2ull << 30);
	cr_expect_eq(parse_size("2g", &v), 0);
	cr_expect_eq(v, 2ull << 30);
	cr_expect_eq(parse_size("512K", &v), 0);
	cr_expect_eq(v, 512ull << 10);
	cr_expect_eq(parse_size("1GiB", &v), 0);
	cr_expect_eq(v, 1ull << 30);
	cr_expect_eq(parse_size("128MB", &v), 0);
	cr_expect_eq(v, 128ull << 20);
	cr_expect_eq(parse_size("100", &v), 0, "bare numbers are MiB, as with qemu -m");
	cr_expect_eq(v, 100ull << 20);
	cr_expect_eq(parse_size("4096B", &v), 0);
	cr_expect_eq(v, 4096);
	cr_expect_eq(parse_size("1T", &v), 0);
	cr_expect_eq(v, 1ull << 40);
}

Test(parse, bad_sizes)
{
	uint64_t v = 7;

	cr_expect_eq(parse_size("", &v), -EINVAL);
	cr_expect_eq(parse_size("abc", &v), -EINVAL);
	cr_expect_eq(parse_size("-1G", &v), -EINVAL);
	cr_expect_eq(parse_size("12X", &v), -EINVAL);
	cr_expect_eq(parse_size("1G1", &v), -EINVAL);
	cr_expect_eq(parse_size(" 1G", &v), -EINVAL);
	cr_expect_eq(parse_size("99999999999999999999999", &v), -ERANGE);
	cr_expect_eq(parse_size("17179869184T", &v), -ERANGE);
	cr_expect_eq(v, 7, "failed parses leave the output alone");
}

Test(parse, ints)
{
	long v;

	cr_expect_eq(parse_int("4", 1, 64, &v), 0);
	cr_expect_eq(v, 4);
	cr_expect_eq(parse_int("0", 1, 64, &v), -ERANGE);
	cr_expect_eq(parse_int("999", 1, 64, &v), -ERANGE);
	cr_expect_eq(parse_int("x", 1, 64, &v), -EINVAL);
	cr_expect_eq(parse_int("4x", 1, 64, &v), -EINVAL);
	cr_expect_eq(parse_int("", 1, 64, &v), -EINVAL);
}
