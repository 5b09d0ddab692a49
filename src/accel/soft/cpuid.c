/* CPUID of the software CPU.
 *
 * The guest sees a plain x86-64 baseline Intel CPU that advertises exactly
 * what the interpreter implements: nothing that would make Linux or glibc
 * pick an instruction we would answer with #UD.  Three groups of leaves
 * matter beyond feature bits:
 *  - caches (leaf 2 -> leaf 4, 0x80000006): glibc sizes its memcpy/memset
 *    thresholds from them and misbehaves on zeros, so they describe one
 *    coherent hierarchy (checked by tests/unit/test_soft_sys_cpuid.c);
 *  - topology (leaf 1 EBX, leaf 4 EAX[31:26], leaf 0xB): N cores, one thread
 *    each, one package, APIC ID = vCPU index;
 *  - clocks (0x15/0x16, invariant TSC): with these Linux takes the TSC and
 *    LAPIC timer rates from timebase.h instead of calibrating them against
 *    the PIT, which an interpreter would make noisy.
 *
 * Family 6 model 15 (Core 2): old enough to be on none of Linux's
 * model-based erratum/vulnerability lists, new enough for constant_tsc; the
 * ARCH_CAPABILITIES MSR (msr.c) then tells Linux the speculation bugs are
 * absent, so it does not enable PTI (a CR3 switch per syscall is costly for
 * a software TLB) or the MDS/BHI clearing sequences. */
#include <string.h>

#include "accel/soft/sys.h"
#include "accel/soft/timebase.h"

#define SIG_EBX 0x756e6547u  /* "Genu" */
#define SIG_EDX 0x49656e69u  /* "ineI" */
#define SIG_ECX 0x6c65746eu  /* "ntel" */

#define FAMILY_MODEL_STEPPING 0x000006FBu  /* family 6, model 0xF, stepping 11 */

/* Leaf 1 EDX: FPU PSE TSC MSR PAE CX8 APIC MTRR PGE CMOV PAT CLFSH MMX FXSR
 * SSE SSE2.  Not: VME/DE (no V86 mode, no debug extensions), MCE/MCA (no
 * machine check architecture), SEP (SYSENTER: 32-bit only), PSE36, DS,
 * ACPI (thermal MSRs), SS, TM, PBE. */
#define CPUID1_EDX ((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | \
		    (1u << 8) | (1u << 9) | (1u << 12) | (1u << 13) | (1u << 15) | \
		    (1u << 16) | (1u << 19) | (1u << 23) | (1u << 24) | (1u << 25) | \
		    (1u << 26))
#define CPUID1_EDX_HTT (1u << 28)
/* Leaf 1 ECX: MOVBE and POPCNT (the core implements them), TSC-deadline
 * (the irqchip does) and "running under a hypervisor".  SSE3+, CX16,
 * XSAVE, AVX, RDRAND, x2APIC, PCID, MONITOR are not implemented. */
#define CPUID1_ECX ((1u << 22) | (1u << 23) | (1u << 24) | (1u << 31))
/* Leaf 6 EAX: ARAT, the LAPIC timer keeps running in every C-state (it is a
 * host timer), so Linux needs no broadcast timer. */
#define CPUID6_EAX (1u << 2)
/* Leaf 7.0: TSC_ADJUST (with constant + nonstop TSC it makes Linux drop
 * the clocksource watchdog, which otherwise declares the TSC unstable
 * whenever a busy host delays the jiffies it is compared with); ERMS and
 * FSRM are hints only (REP MOVSB is the cheapest way to copy for an
 * interpreter); RDPID; ARCH_CAPABILITIES MSR. */
#define CPUID7_EBX ((1u << 1) | (1u << 9))
#define CPUID7_ECX (1u << 22)
#define CPUID7_EDX ((1u << 4) | (1u << 29))
/* 0x80000001: LAHF/SAHF in 64-bit mode; SYSCALL, NX, RDTSCP, LM.  Not
 * 1 GiB pages, not LZCNT/PREFETCHW. */
#define CPUID81_ECX (1u << 0)
#define CPUID81_EDX ((1u << 11) | (1u << 20) | (1u << 27) | (1u << 29))

#define MAX_BASIC 0x16u
#define MAX_EXT   0x80000008u

/* The cache hierarchy, one table feeding leaves 4 and 0x80000006.  The
 * size is ways * partitions * line * sets by construction. */
struct cache_desc {
	uint8_t type;     /* 1 data, 2 instruction, 3 unified */
	uint8_t level;
	uint16_t ways;
	uint16_t line;
	uint32_t sets;
	bool shared;      /* shared by all cores of the package */
};

static const struct cache_desc caches[] = {
	{ 1, 1, 8, 64, 64, false },     /* L1d 32 KiB */
	{ 2, 1, 8, 64, 64, false },     /* L1i 32 KiB */
	{ 3, 2, 16, 64, 1024, false },  /* L2 1 MiB */
	{ 3, 3, 16, 64, 8192, true },   /* L3 8 MiB */
};

#define CACHE_LINE 64u

static const char brand[48] = "Vireo software x86-64 CPU @ 1.00GHz";

/* Bits needed to number nr_cpus APIC IDs (leaf 0xB shift, leaf 4 counts). */
static unsigned core_bits(unsigned nr_cpus)
{
	unsigned b = 0;

	while ((1u << b) < nr_cpus && b < 8)
		b++;
	return b;
}

static void leaf4(const struct soft_cpuid_cfg *cfg, uint32_t sub, uint32_t r[4])
{
	unsigned cores = 1u << core_bits(cfg->nr_cpus);
	const struct cache_desc *c;

	if (sub >= sizeof(caches) / sizeof(caches[0]))
		return;   /* type 0: no more caches */
	c = &caches[sub];
	r[0] = c->type | (uint32_t)c->level << 5 | 1u << 8 /* self-init */ |
	       (uint32_t)(c->shared ? cores - 1 : 0) << 14 |
	       (uint32_t)(cores - 1) << 26;
	r[1] = (uint32_t)(c->ways - 1) << 22 | 0u << 12 | (uint32_t)(c->line - 1);
	r[2] = c->sets - 1;
	r[3] = c->level == 3 ? 1u << 1 /* inclusive */ : 0;
}

static void leaf_b(const struct soft_cpuid_cfg *cfg, uint32_t sub, uint32_t r[4])
{
	r[3] = cfg->apic_id;
	r[2] = sub & 0xff;
	if (sub == 0) {          /* SMT level: one thread per core */
		r[0] = 0;
		r[1] = 1;
		r[2] |= 1u << 8;
	} else if (sub == 1) {   /* core level: the whole package */
		r[0] = core_bits(cfg->nr_cpus);
		r[1] = cfg->nr_cpus;
		r[2] |= 2u << 8;
	}
}

static void basic(const struct soft_cpuid_cfg *cfg, uint32_t leaf, uint32_t sub,
		  uint32_t r[4])
{
	unsigned cb = core_bits(cfg->nr_cpus);

	switch (leaf) {
	case 0:
		r[0] = MAX_BASIC;
		r[1] = SIG_EBX;
		r[2] = SIG_ECX;
		r[3] = SIG_EDX;
		break;
	case 1:
		r[0] = FAMILY_MODEL_STEPPING;
		r[1] = (CACHE_LINE / 8) << 8 | (uint32_t)(cfg->apic_id & 0xff) << 24;
		r[2] = CPUID1_ECX;
		r[3] = CPUID1_EDX;
		if (cb) {
			r[1] |= (1u << cb) << 16;
			r[3] |= CPUID1_EDX_HTT;
		} else {
			r[1] |= 1u << 16;
		}
		break;
	case 2:
		/* One iteration; 0xFF: "see leaf 4", 0xF0: 64-byte prefetch,
		 * as current Intel CPUs report. */
		r[0] = 0x0000FF01u;
		r[1] = 0x000000F0u;
		break;
	case 4:
		leaf4(cfg, sub, r);
		break;
	case 6:
		r[0] = CPUID6_EAX;
		break;
	case 7:
		if (sub == 0) {
			r[1] = CPUID7_EBX;
			r[2] = CPUID7_ECX;
			r[3] = CPUID7_EDX;
		}
		break;
	case 0xB:
		leaf_b(cfg, sub, r);
		break;
	case 0x15:
		r[0] = 1;
		r[1] = SOFT_TSC_RATIO;
		r[2] = (uint32_t)SOFT_CRYSTAL_HZ;
		break;
	case 0x16:
		r[0] = (uint32_t)(SOFT_TSC_HZ / 1000000u);  /* base MHz */
		r[1] = r[0];                                /* max MHz */
		r[2] = 100;                                 /* bus MHz */
		break;
	default:
		break;   /* 3, 5, 8-0xA, 0xC-0x14: reserved or features we lack */
	}
}

static void extended(const struct soft_cpuid_cfg *cfg, uint32_t leaf, uint32_t r[4])
{
	const struct cache_desc *l2 = &caches[2];

	switch (leaf) {
	case 0x80000000:
		r[0] = MAX_EXT;
		break;
	case 0x80000001:
		r[2] = CPUID81_ECX;
		r[3] = CPUID81_EDX;
		break;
	case 0x80000002:
	case 0x80000003:
	case 0x80000004:
		memcpy(r, brand + (leaf - 0x80000002) * 16, 16);
		break;
	case 0x80000006:
		/* size KiB | associativity code (8 = 16 ways) | line */
		r[2] = (uint32_t)(l2->ways * l2->line * l2->sets / 1024) << 16 |
		       (l2->ways == 16 ? 0x8u : 0x6u) << 12 | l2->line;
		break;
	case 0x80000007:
		r[3] = 1u << 8;   /* invariant TSC */
		break;
	case 0x80000008:
		r[0] = 48u << 8 | SOFT_PHYS_ADDR_BITS;
		break;
	default:
		break;
	}
}

void soft_cpuid(const struct soft_cpuid_cfg *cfg, uint32_t leaf, uint32_t sub,
		uint32_t r[4])
{
	r[0] = r[1] = r[2] = r[3] = 0;
	if (leaf >= 0x80000000u && leaf <= MAX_EXT) {
		extended(cfg, leaf, r);
		return;
	}
	if (leaf >= 0x40000000u && leaf <= 0x4FFFFFFFu) {
		/* A signature nobody recognises: Linux looks no further (it
		 * must not believe it runs on KVM and try kvmclock). */
		if (leaf == 0x40000000u) {
			r[0] = 0x40000000u;
			memcpy(&r[1], "VireoVireoVi", 12);
		}
		return;
	}
	/* Out-of-range leaves return the highest basic leaf, like Intel. */
	if (leaf > MAX_BASIC)
		leaf = MAX_BASIC;
	basic(cfg, leaf, sub, r);
}
