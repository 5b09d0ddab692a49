/* Human-readable register dump shared by the CPU backends (src/accel/x86_dump.c). */
#ifndef VIREO_ACCEL_X86_DUMP_H
#define VIREO_ACCEL_X86_DUMP_H

#include <stdio.h>

#include "accel/x86_state.h"

/* Either pointer may be NULL. */
void x86_dump_state(FILE *f, const struct x86_regs *regs, const struct x86_sregs *sregs);

#endif
