/* Run a sequence on the software CPU: a bare VM with 16 MiB of RAM, 64-bit
 * flat mode, 4-level page tables mapping the scratch and code pages at the
 * addresses the native run uses.  No exception hook is installed, so the
 * run loop stops at the first exception (normally the terminating UD2) with
 * RIP at the faulting instruction, which is what the native signal reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/soft/cpu.h"
#include "difftest.h"
#include "vm/vm.h"

#define GPA_PML4    0x1000ull
#define GPA_PDPT    0x2000ull
#define GPA_PD      0x3000ull
#define GPA_PT      0x4000ull
#define GPA_SCRATCH 0x100000ull
#define GPA_CODE    0x200000ull
#define PTE_P  1ull
#define PTE_W  2ull

static struct vm *dt_vm;
static struct soft_vm *dt_svm;
static struct soft_cpu *dt_cpu;

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(dt_vm->ram + gpa, &v, 8);
}

static void build_page_tables(void)
{
	/* Everything lives under one PT: both ranges are in the same 2 MiB. */
	_Static_assert((DT_SCRATCH_VA >> 21) == (DT_CODE_VA >> 21), "one page table");
	_Static_assert((DT_SCRATCH_VA >> 30) == 0, "PML4/PDPT index 0");
	put64(GPA_PML4, GPA_PDPT | PTE_P | PTE_W);
	put64(GPA_PDPT, GPA_PD | PTE_P | PTE_W);
	put64(GPA_PD + 8 * ((DT_SCRATCH_VA >> 21) & 511), GPA_PT | PTE_P | PTE_W);
	for (unsigned i = 0; i < DT_SCRATCH_SIZE / 4096; i++)
		put64(GPA_PT + 8 * (((DT_SCRATCH_VA >> 12) + i) & 511),
		      (GPA_SCRATCH + 4096ull * i) | PTE_P | PTE_W);
	for (unsigned i = 0; i < 2; i++)
		put64(GPA_PT + 8 * (((DT_CODE_VA >> 12) + i) & 511),
		      (GPA_CODE + 4096ull * i) | PTE_P | PTE_W);
}

int dt_soft_init(void)
{
	dt_vm = calloc(1, sizeof(*dt_vm));
	if (!dt_vm)
		return -1;
	bus__init(&dt_vm->pio, "pio");
	bus__init(&dt_vm->mmio, "mmio");
	dt_vm->accel_kind = ACCEL_SOFT;
	if (vm__alloc_ram(dt_vm, VM_MEM_MIN))
		return -1;
	if (soft_vm__create(dt_vm, &dt_svm))
		return -1;
	soft_fpu__register_handlers(dt_svm);
	if (soft_cpu__create(dt_svm, 0, &dt_cpu))
		return -1;
	build_page_tables();
	return 0;
}

void dt_soft_exit(void)
{
	soft_cpu__destroy(dt_cpu);
	soft_vm__destroy(dt_svm);
	vm__free_ram(dt_vm);
	bus__exit(&dt_vm->pio);
	bus__exit(&dt_vm->mmio);
	free(dt_vm);
}

bool dt_soft_implemented(unsigned mnemonic)
{
	return mnemonic < SOFT_MNEM_NR && dt_svm->table[mnemonic].fn != NULL;
}

void dt_soft_list_untested(bool (*has_template)(unsigned mnemonic))
{
	printf("implemented but not generated:");
	for (unsigned m = 1; m < SOFT_MNEM_NR; m++) {
		const char *name;

		if (!dt_svm->table[m].fn || has_template(m))
			continue;
		name = m <= ZYDIS_MNEMONIC_MAX_VALUE ? ZydisMnemonicGetString((ZydisMnemonic)m) : NULL;
		if (name)
			printf(" %s", name);
		else
			printf(" pseudo#%u", m);
	}
	printf("\n");
}

void dt_soft_run(const struct dt_seq *seq, const struct dt_state *in, struct dt_state *out)
{
	struct soft_cpu *cpu = dt_cpu;
	int r;

	memcpy(dt_vm->ram + GPA_SCRATCH, in->mem, DT_SCRATCH_SIZE);
	memcpy(dt_vm->ram + GPA_CODE, seq->code, seq->len);
	soft_code__invalidate_range(dt_vm, GPA_CODE, 0x1000);

	soft_cpu__setup_flat(cpu, 64, GPA_PML4);
	soft_cpu__set_cr4(cpu, cpu->cr4 | (1ull << 10));  /* OSXMMEXCPT, as Linux */
	memcpy(cpu->gpr, in->gpr, sizeof(cpu->gpr));
	soft_flags__set(cpu, in->rflags);
	memcpy(cpu->fpu.xmm, in->xmm, sizeof(in->xmm));
	cpu->fpu.mxcsr = in->mxcsr;
	/* what the native stub's MOVQ mm loads leave behind */
	for (int i = 0; i < 8; i++) {
		cpu->fpu.st[i].mant = in->mm[i];
		cpu->fpu.st[i].sexp = 0xffff;
	}
	cpu->fpu.ftw = 0xff;
	cpu->fpu.fsw = 0;
	cpu->rip = DT_CODE_VA;
	cpu->exc.vector = -1;

	r = soft_exec__run(cpu, 100000);

	memcpy(out->gpr, cpu->gpr, sizeof(out->gpr));
	out->rip = cpu->rip;
	out->rflags = soft_flags__get(cpu);
	memcpy(out->xmm, cpu->fpu.xmm, sizeof(out->xmm));
	out->mxcsr = cpu->fpu.mxcsr;
	for (int i = 0; i < 8; i++) {
		out->mm[i] = cpu->fpu.st[i].mant;
		out->mm_exp[i] = cpu->fpu.st[i].sexp;
	}
	out->ftw = cpu->fpu.ftw;
	out->top = (cpu->fpu.fsw >> 11) & 7;
	out->vector = r == SOFT_RUN_EXCEPTION ? cpu->exc.vector : -100 - r;
	memcpy(out->mem, dt_vm->ram + GPA_SCRATCH, DT_SCRATCH_SIZE);
}
