/* Time as the software CPU's guest sees it.  CPUID leaf 0x15/0x16, RDTSC,
 * the LAPIC timer and the PIT all derive from the host's CLOCK_MONOTONIC
 * through these constants, so Linux's calibration agrees with itself. */
#ifndef VIREO_ACCEL_SOFT_TIMEBASE_H
#define VIREO_ACCEL_SOFT_TIMEBASE_H

#define SOFT_CRYSTAL_HZ   25000000ull   /* CPUID.15H:ECX, LAPIC timer input clock */
#define SOFT_TSC_RATIO    40            /* CPUID.15H:EBX/EAX = 40/1 */
#define SOFT_TSC_HZ       (SOFT_CRYSTAL_HZ * SOFT_TSC_RATIO)  /* 1 GHz: TSC == ns */
#define SOFT_PIT_HZ       1193182ull

#endif
