/* Time as the software CPU's guest sees it.  CPUID leaf 0x15/0x16, RDTSC,
 * the LAPIC timer and the PIT all derive from the host's CLOCK_MONOTONIC
 * through these constants, so Linux's calibration agrees with itself.
 *
 * The LAPIC timer input clock is 1 GHz because that is what KVM's
 * in-kernel LAPIC uses: a guest sees the same timer rate under --accel kvm
 * and --accel soft.  CPUID.15H reports it as the crystal (ECX) with a 1:1
 * TSC ratio, so Linux takes both the TSC and the LAPIC timer rate from
 * CPUID without calibrating against the PIT. */
#ifndef VIREO_ACCEL_SOFT_TIMEBASE_H
#define VIREO_ACCEL_SOFT_TIMEBASE_H

#define SOFT_CRYSTAL_HZ   1000000000ull /* CPUID.15H:ECX, LAPIC timer input clock */
#define SOFT_TSC_RATIO    1             /* CPUID.15H:EBX/EAX = 1/1 */
#define SOFT_TSC_HZ       (SOFT_CRYSTAL_HZ * SOFT_TSC_RATIO)  /* 1 GHz: TSC == ns */
#define SOFT_PIT_HZ       1193182ull

#endif
