/* RDMSR/WRMSR.  Unknown MSRs raise #GP like hardware (Linux probes with
 * rdmsr_safe and copes); the ones Linux 6.1 touches without a fault
 * handler on an Intel family-6 CPU with our CPUID are implemented. */
#include "accel/soft/irqchip/irqchip.h"
#include "accel/soft/sys.h"
#include "util/log.h"

#define MSR_TSC              0x10
#define MSR_PLATFORM_ID      0x17
#define MSR_APIC_BASE        0x1b
#define MSR_FEATURE_CONTROL  0x3a
#define MSR_TSC_ADJUST       0x3b
#define MSR_UCODE_REV        0x8b
#define MSR_MTRRCAP          0xfe
#define MSR_ARCH_CAPABILITIES 0x10a
#define MSR_SYSENTER_CS      0x174
#define MSR_SYSENTER_ESP     0x175
#define MSR_SYSENTER_EIP     0x176
#define MSR_MISC_ENABLE      0x1a0
#define MSR_DEBUGCTL         0x1d9
#define MSR_PAT              0x277
#define MSR_MTRR_DEF_TYPE    0x2ff
#define MSR_TSC_DEADLINE     0x6e0
#define MSR_EFER             0xc0000080
#define MSR_STAR             0xc0000081
#define MSR_LSTAR            0xc0000082
#define MSR_CSTAR            0xc0000083
#define MSR_SFMASK           0xc0000084
#define MSR_FS_BASE          0xc0000100
#define MSR_GS_BASE          0xc0000101
#define MSR_KERNEL_GS_BASE   0xc0000102
#define MSR_TSC_AUX          0xc0000103

/* RDCL_NO SKIP_L1DFL SSB_NO MDS_NO PSCHANGE_MC_NO TAA_NO SBDR_SSDP_NO
 * FBSDP_NO PSDP_NO BHI_NO PBRSB_NO GDS_NO RFDS_NO ITS_NO: an interpreter has no
 * speculative side channels, and saying so keeps Linux from PTI and the
 * buffer-clearing sequences (cpuid.c explains why that matters). */
#define ARCH_CAP_VALUE ((1ull << 0) | (1ull << 3) | (1ull << 4) | (1ull << 5) | (1ull << 6) | \
			(1ull << 8) | (1ull << 13) | (1ull << 14) | (1ull << 15) | \
			(1ull << 20) | (1ull << 24) | (1ull << 26) | (1ull << 27) | \
			(1ull << 62))
/* FAST_STRING, BTS/PEBS unavailable */
#define MISC_ENABLE_RO ((1ull << 0) | (1ull << 11) | (1ull << 12))
#define EFER_VALID (X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE)

/* Linux probes MSRs it is not sure about with rdmsr_safe on every boot, so
 * a #GP here is normal guest behaviour: debug level, rate-limited. */
#define msr_note(...)                                                    \
	do {                                                             \
		static struct ratelimit rl__ = { 0, 10 };                \
		if (log_get_level() >= LOG_DEBUG && ratelimit_ok(&rl__)) \
			pr_debug("guest: " __VA_ARGS__);                 \
	} while (0)

static bool pat_valid(uint64_t v)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned t = (v >> (i * 8)) & 0xff;

		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

int soft_msr__read(struct soft_cpu *cpu, uint32_t idx, uint64_t *val)
{
	switch (idx) {
	case MSR_TSC: *val = soft_sys__tsc(cpu); break;
	case MSR_PLATFORM_ID: *val = 0; break;
	case MSR_APIC_BASE:
		*val = cpu->lapic ? lapic__get_base(cpu->lapic) : cpu->apic_base;
		break;
	case MSR_FEATURE_CONTROL: *val = 1; break;   /* locked, VMX off */
	case MSR_TSC_ADJUST:
		*val = cpu->sys ? (uint64_t)((struct soft_sys_cpu *)cpu->sys)->tsc_adjust : 0;
		break;
	case MSR_UCODE_REV: *val = 0; break;
	case MSR_MTRRCAP: *val = 0; break;           /* no variable/fixed ranges, no WC */
	case MSR_ARCH_CAPABILITIES: *val = ARCH_CAP_VALUE; break;
	case MSR_SYSENTER_CS: *val = cpu->sysenter_cs; break;
	case MSR_SYSENTER_ESP: *val = cpu->sysenter_esp; break;
	case MSR_SYSENTER_EIP: *val = cpu->sysenter_eip; break;
	case MSR_MISC_ENABLE: *val = cpu->misc_enable | MISC_ENABLE_RO; break;
	case MSR_DEBUGCTL: *val = 0; break;
	case MSR_PAT: *val = cpu->pat; break;
	case MSR_MTRR_DEF_TYPE: *val = cpu->mtrr_def_type; break;
	case MSR_TSC_DEADLINE:
		*val = cpu->lapic ? lapic__get_tsc_deadline(cpu->lapic, soft_sys__tsc(cpu)) : 0;
		break;
	case MSR_EFER: *val = cpu->efer; break;
	case MSR_STAR: *val = cpu->star; break;
	case MSR_LSTAR: *val = cpu->lstar; break;
	case MSR_CSTAR: *val = cpu->cstar; break;
	case MSR_SFMASK: *val = cpu->sfmask; break;
	case MSR_FS_BASE: *val = cpu->seg[SOFT_FS].base; break;
	case MSR_GS_BASE: *val = cpu->seg[SOFT_GS].base; break;
	case MSR_KERNEL_GS_BASE: *val = cpu->kernel_gs_base; break;
	case MSR_TSC_AUX: *val = cpu->tsc_aux; break;
	default:
		return -1;
	}
	return 0;
}

int soft_msr__write(struct soft_cpu *cpu, uint32_t idx, uint64_t v)
{
	switch (idx) {
	case MSR_TSC:
	case MSR_TSC_ADJUST: {
		/* SDM 17.17.3: a TSC write moves TSC_ADJUST by the same delta,
		 * a TSC_ADJUST write moves the TSC */
		struct soft_sys_cpu *sc = cpu->sys;
		int64_t delta = idx == MSR_TSC ? (int64_t)(v - soft_sys__tsc(cpu)) :
			(int64_t)(v - (uint64_t)(sc ? sc->tsc_adjust : 0));

		cpu->tsc_offset += (uint64_t)delta;
		if (sc)
			sc->tsc_adjust += delta;
		break;
	}
	case MSR_APIC_BASE:
		if (cpu->lapic && lapic__set_base(cpu->lapic, v))
			return -1;
		cpu->apic_base = v;
		break;
	case MSR_UCODE_REV:   /* Linux writes 0 before reading the revision */
	case MSR_DEBUGCTL:    /* no LBR/BTF: only 0 makes sense */
		if (idx == MSR_DEBUGCTL && v)
			return -1;
		break;
	case MSR_SYSENTER_CS: cpu->sysenter_cs = v & 0xffff; break;
	case MSR_SYSENTER_ESP:
	case MSR_SYSENTER_EIP:
		if (!soft_sys__canonical(v))
			return -1;
		if (idx == MSR_SYSENTER_ESP)
			cpu->sysenter_esp = v;
		else
			cpu->sysenter_eip = v;
		break;
	case MSR_MISC_ENABLE:
		cpu->misc_enable = v & ~MISC_ENABLE_RO;
		break;
	case MSR_PAT:
		if (!pat_valid(v))
			return -1;
		cpu->pat = v;
		break;
	case MSR_MTRR_DEF_TYPE:
		if (v & ~0xcffull)
			return -1;
		cpu->mtrr_def_type = v;
		break;
	case MSR_TSC_DEADLINE:
		if (cpu->lapic)
			lapic__set_tsc_deadline(cpu->lapic, v, soft_sys__tsc(cpu));
		break;
	case MSR_EFER:
		if (v & ~EFER_VALID)
			return -1;
		/* LME cannot change while paging is on; LMA is read-only */
		if ((cpu->cr0 & X86_CR0_PG) && ((v ^ cpu->efer) & X86_EFER_LME))
			return -1;
		soft_cpu__set_efer(cpu, (v & ~X86_EFER_LMA) | (cpu->efer & X86_EFER_LMA));
		break;
	case MSR_STAR: cpu->star = v; break;
	case MSR_LSTAR:
	case MSR_CSTAR:
		if (!soft_sys__canonical(v))
			return -1;
		if (idx == MSR_LSTAR)
			cpu->lstar = v;
		else
			cpu->cstar = v;
		break;
	case MSR_SFMASK: cpu->sfmask = (uint32_t)v; break;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
		if (!soft_sys__canonical(v))
			return -1;
		if (idx == MSR_FS_BASE)
			cpu->seg[SOFT_FS].base = v;
		else if (idx == MSR_GS_BASE)
			cpu->seg[SOFT_GS].base = v;
		else
			cpu->kernel_gs_base = v;
		break;
	case MSR_TSC_AUX:
		if (v >> 32)
			return -1;
		cpu->tsc_aux = v;
		break;
	default:
		return -1;
	}
	return 0;
}

static int h_rdmsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint32_t idx = (uint32_t)cpu->gpr[SOFT_RCX];
	uint64_t v;

	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	if (soft_msr__read(cpu, idx, &v)) {
		msr_note("rdmsr of unknown MSR %#x: #GP", idx);
		return soft_raise_gp0(cpu);
	}
	cpu->gpr[SOFT_RAX] = (uint32_t)v;
	cpu->gpr[SOFT_RDX] = v >> 32;
	return SOFT_OK;
}

static int h_wrmsr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint32_t idx = (uint32_t)cpu->gpr[SOFT_RCX];
	uint64_t v = (uint32_t)cpu->gpr[SOFT_RAX] | (cpu->gpr[SOFT_RDX] << 32);

	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	if (soft_msr__write(cpu, idx, v)) {
		msr_note("wrmsr %#x <- %#llx refused: #GP", idx, (unsigned long long)v);
		return soft_raise_gp0(cpu);
	}
	return SOFT_OK;
}

void soft_msr__register(struct soft_vm *svm)
{
	soft_exec__register(svm, ZYDIS_MNEMONIC_RDMSR, h_rdmsr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_WRMSR, h_wrmsr);
}
