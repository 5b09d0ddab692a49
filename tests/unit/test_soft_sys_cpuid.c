/* CPUID of the software CPU: the cache leaves agree with each other, the
 * topology agrees with the vCPU count, the clock leaves agree with
 * timebase.h, and only implemented features are advertised. */
#include <criterion/criterion.h>

#include "accel/soft/timebase.h"
#include "test_soft_sys.h"

static void q(unsigned id, unsigned n, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	struct soft_cpuid_cfg cfg = { .apic_id = id, .nr_cpus = n };

	soft_cpuid(&cfg, leaf, sub, r);
}

struct cache { unsigned type, level, size, line, ways, sharing; };

static unsigned leaf4_caches(unsigned n, struct cache *c, unsigned max)
{
	unsigned i;
	uint32_t r[4];

	for (i = 0; i < max; i++) {
		q(0, n, 4, i, r);
		if ((r[0] & 0x1f) == 0)
			break;
		c[i].type = r[0] & 0x1f;
		c[i].level = (r[0] >> 5) & 7;
		c[i].ways = ((r[1] >> 22) & 0x3ff) + 1;
		c[i].line = (r[1] & 0xfff) + 1;
		c[i].size = c[i].ways * (((r[1] >> 12) & 0x3ff) + 1) * c[i].line * (r[2] + 1);
		c[i].sharing = ((r[0] >> 14) & 0xfff) + 1;
	}
	return i;
}

Test(soft_sys_cpuid, vendor_and_max_leaves)
{
	uint32_t r[4];
	char v[13];

	q(0, 1, 0, 0, r);
	memcpy(v, &r[1], 4);
	memcpy(v + 4, &r[3], 4);
	memcpy(v + 8, &r[2], 4);
	v[12] = 0;
	cr_expect_str_eq(v, "GenuineIntel");
	cr_expect_geq(r[0], 0x16u);
	q(0, 1, 0x80000000u, 0, r);
	cr_expect_geq(r[0], 0x80000008u);
	q(0, 1, 0x80000008u, 0, r);
	cr_expect_eq(r[0] & 0xff, 40u, "physical address bits");
	cr_expect_eq((r[0] >> 8) & 0xff, 48u, "linear address bits");
	/* not KVM: no kvmclock */
	q(0, 1, 0x40000000u, 0, r);
	cr_expect_neq(r[1], 0x4b4d564bu, "must not claim KVMKVMKVM");
}

Test(soft_sys_cpuid, cache_leaves_coherent)
{
	struct cache c[8];
	unsigned n = leaf4_caches(4, c, 8), l1d = 0, l2 = 0, l3 = 0;
	uint32_t r[4];
	bool ff = false;

	cr_assert_geq(n, 3u);
	for (unsigned i = 0; i < n; i++) {
		if (c[i].level == 1 && c[i].type == 1) l1d = c[i].size;
		if (c[i].level == 2) l2 = i + 1;
		if (c[i].level == 3) l3 = i + 1;
		cr_expect_eq(c[i].line, 64u);
	}
	cr_expect_geq(l1d, 16u * 1024, "L1d");
	cr_assert(l2, "no L2");
	/* leaf 2: either "see leaf 4" (0xFF) or descriptors */
	q(0, 4, 2, 0, r);
	cr_expect_eq(r[0] & 0xff, 1u);
	for (unsigned i = 1; i < 16; i++)
		if (((uint8_t *)r)[i] == 0xff)
			ff = true;
	cr_expect(ff, "leaf 2 must defer to leaf 4");
	/* 0x80000006 ECX describes the same L2 */
	q(0, 4, 0x80000006u, 0, r);
	cr_expect_eq((r[2] >> 16) * 1024, c[l2 - 1].size, "L2 size 0x80000006 vs leaf 4");
	cr_expect_eq(r[2] & 0xff, c[l2 - 1].line);
	cr_expect_eq((r[2] >> 12) & 0xf, c[l2 - 1].ways == 16 ? 8u : c[l2 - 1].ways == 8 ? 6u : 0xfu);
	/* CLFLUSH line size agrees */
	q(0, 4, 1, 0, r);
	cr_expect_eq(((r[1] >> 8) & 0xff) * 8, c[0].line);
	/* the L3 is shared by all 4 cores, L1/L2 are private */
	if (l3)
		cr_expect_geq(c[l3 - 1].sharing, 4u);
	cr_expect_eq(c[l2 - 1].sharing, 1u);
}

Test(soft_sys_cpuid, topology_per_vcpu)
{
	uint32_t r[4];

	for (unsigned id = 0; id < 6; id++) {
		q(id, 6, 1, 0, r);
		cr_expect_eq(r[1] >> 24, id, "initial APIC ID");
		cr_expect_geq((r[1] >> 16) & 0xff, 6u, "logical processor count");
		cr_expect(r[3] & (1u << 28), "HTT");
		q(id, 6, 0xb, 1, r);
		cr_expect_eq(r[3], id, "x2APIC id in 0xB");
		cr_expect_eq(r[1] & 0xffff, 6u);
		cr_expect_geq(1u << (r[0] & 0x1f), 6u);
	}
	q(0, 6, 4, 0, r);
	cr_expect_geq(((r[0] >> 26) & 0x3f) + 1, 6u, "cores per package");
	q(0, 1, 1, 0, r);
	cr_expect_eq((r[1] >> 16) & 0xff, 1u);
}

Test(soft_sys_cpuid, clock_leaves_match_timebase)
{
	uint32_t r[4];

	q(0, 1, 0x15, 0, r);
	cr_assert_neq(r[0], 0u);
	cr_expect_eq(r[1] / r[0], (uint32_t)SOFT_TSC_RATIO);
	cr_expect_eq((uint64_t)r[2], SOFT_CRYSTAL_HZ);
	cr_expect_eq((uint64_t)r[2] * r[1] / r[0], SOFT_TSC_HZ);
	q(0, 1, 0x16, 0, r);
	cr_expect_eq((uint64_t)(r[0] & 0xffff) * 1000000u, SOFT_TSC_HZ);
	q(0, 1, 0x80000007u, 0, r);
	cr_expect(r[3] & (1u << 8), "invariant TSC");
}

Test(soft_sys_cpuid, features_exactly_implemented)
{
	uint32_t r[4];

	q(0, 1, 1, 0, r);
	/* required by x86-64 Linux and glibc's baseline */
	for (unsigned b = 0; b < 32; b++) {
		static const uint32_t need = (1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) |
			(1u << 6) | (1u << 8) | (1u << 13) | (1u << 15) | (1u << 23) |
			(1u << 24) | (1u << 25) | (1u << 26);
		if (need & (1u << b))
			cr_expect(r[3] & (1u << b), "leaf 1 EDX bit %u missing", b);
	}
	cr_expect(r[2] & (1u << 31), "hypervisor");
	cr_expect_eq(r[2] & ((1u << 3) | (1u << 17) | (1u << 21) | (1u << 26) |
			     (1u << 27) | (1u << 28) | (1u << 30)), 0u,
		     "MONITOR/PCID/x2APIC/XSAVE/OSXSAVE/AVX/RDRAND must not be advertised");
	cr_expect_eq(r[3] & (1u << 11), 0u, "SEP: SYSENTER is not implemented");
	cr_expect_eq(r[2] & ((1u << 0) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20)), 0u,
		     "SSE3/SSSE3/CX16/SSE4.x are not implemented");
	q(0, 1, 0x80000001u, 0, r);
	cr_expect(r[3] & (1u << 11), "SYSCALL");
	cr_expect(r[3] & (1u << 20), "NX");
	cr_expect(r[3] & (1u << 29), "LM");
	cr_expect(r[2] & 1u, "LAHF_LM");
	q(0, 1, 7, 0, r);
	cr_expect_eq(r[1] & ((1u << 5) | (1u << 7) | (1u << 10) | (1u << 20)), 0u,
		     "AVX2/SMEP/INVPCID/SMAP");
}

Test(soft_sys_cpuid, cpuid_instruction_per_vcpu)
{
	static const uint8_t code[] = { 0x0f, 0xa2, 0xf4 };   /* cpuid ; hlt */
	struct sys_env e;
	struct soft_cpu *cpu;

	env_init(&e, 4, true);
	cpu = e.cpu;
	cpu->id = 3;
	soft_cpu__setup_flat(cpu, 32, 0);
	put(&e, 0x8000, code, sizeof(code));
	cpu->rip = 0x8000;
	cpu->gpr[SOFT_RAX] = 1;
	cpu->gpr[SOFT_RBX] = 0xffffffffffffffffull;
	cr_assert_eq(soft_exec__run(cpu, 10), SOFT_RUN_EXIT);
	cr_expect_eq((cpu->gpr[SOFT_RBX] >> 24) & 0xff, 3u);
	cr_expect_eq(cpu->gpr[SOFT_RBX] >> 32, 0u, "CPUID zero-extends");
	cr_expect_eq(cpu->gpr[SOFT_RAX] & 0xf00, 0x600u, "family 6");
	env_fini(&e);
}
