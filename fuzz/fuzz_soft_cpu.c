/* libFuzzer harness for the software CPU's decoder and executor, the one
 * CPU surface a guest controls byte by byte: the input is machine code run
 * in 64-bit mode (ring 0, or ring 3 if bit 0 of the first byte is set; bit
 * 1 sets TF, bit 2 IOPL 3; bit 3 runs it in 32-bit protected mode without
 * paging instead, ring 0) on a soft CPU with every handler (core, x87/SSE,
 * system) and the system hooks installed, over 16 MiB of RAM and empty
 * buses.  Whatever the bytes, vireo must neither crash nor hang: unknown
 * opcodes raise #UD, bad accesses #GP/#PF, and so on.
 *
 * Guest layout: GDT 0x1000, IDT 0x2000 (32-bit one at 0x5000), exception
 * stubs 0x3000, TSS 0x4000, identity page tables for 1 GiB at 0x10000,
 * stacks below 0x80000, code at 0x100000.  Every IDT vector points at a
 * stub that steps the saved RIP one byte forward and IRETs, so execution
 * resynchronises after any exception
 * and carries on until the instruction budget is spent, execution reaches
 * the HLTs that follow the code, or the guest breaks delivery itself
 * (triple fault).  The budget is small: decoding under the sanitizers costs
 * ~10 us an instruction.  A REP instruction counts once per 64 Ki
 * iterations, so the run is also cut after 100 ms of CPU time: a slow input
 * is not a hang, only one that never returns from soft_exec__run is. */
#include <sys/mman.h>
#include <time.h>

#include "accel/soft/cpu.h"
#include "accel/soft/fpu.h"
#include "accel/soft/sys.h"
#include "fuzz_bus_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM      (16ull << 20)
#define GDT      0x1000ull
#define IDT      0x2000ull
#define STUBS    0x3000ull
#define TSS      0x4000ull
#define IDT32    0x5000ull
#define CS32     0x38
#define PT       0x10000ull
#define KSTACK   0x80000ull
#define USTACK   0x70000ull
#define CODE     0x100000ull
#define MAX_CODE 4096
#define BUDGET   2000
#define MAX_RUNS 4000   /* soft_exec__run calls (HLT/EXIT may make no progress) */
#define SLICE    4     /* a REP chunk over MMIO takes ~0.1 s here */
#define MAX_NS   100000000ull

static struct vm *vm;

static void put(uint64_t gpa, const void *p, size_t n)
{
	memcpy(vm->ram + gpa, p, n);
}

static void put64(uint64_t gpa, uint64_t v)
{
	put(gpa, &v, 8);
}

static uint64_t seg_desc(unsigned type, unsigned dpl, bool l, bool db)
{
	return 0xffffull | (0xfull << 48) | ((uint64_t)type << 40) | (1ull << 44) |
	       ((uint64_t)dpl << 45) | (1ull << 47) | ((uint64_t)l << 53) |
	       ((uint64_t)db << 54) | (1ull << 55);
}

static bool has_error_code(unsigned vec)
{
	return vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 ||
	       vec == 29 || vec == 30;
}

static void build_guest(void)
{
	/* add qword [rsp], 1; iretq  /  add rsp, 8; add qword [rsp], 1; iretq */
	static const uint8_t stub[] = { 0x48, 0x83, 0x04, 0x24, 0x01, 0x48, 0xcf };
	static const uint8_t stub_err[] = { 0x48, 0x83, 0xc4, 0x08,
					    0x48, 0x83, 0x04, 0x24, 0x01, 0x48, 0xcf };
	/* add dword [esp], 1; iretd  /  add esp, 4; add dword [esp], 1; iretd */
	static const uint8_t stub32[] = { 0x83, 0x04, 0x24, 0x01, 0xcf };
	static const uint8_t stub32_err[] = { 0x83, 0xc4, 0x04, 0x83, 0x04, 0x24, 0x01, 0xcf };
	uint64_t tss_lo = 0x67 | (TSS << 16) | (0x9ull << 40) | (1ull << 47);

	put64(GDT + 0x08, seg_desc(0xb, 0, true, false));
	put64(GDT + 0x10, seg_desc(0x3, 0, false, true));
	put64(GDT + 0x18, seg_desc(0x3, 3, false, true));
	put64(GDT + 0x20, seg_desc(0xb, 3, true, false));
	put64(GDT + 0x28, tss_lo);
	put64(GDT + 0x30, 0);
	put64(GDT + CS32, seg_desc(0xb, 0, false, true));
	put(STUBS, stub, sizeof(stub));
	put(STUBS + 0x10, stub_err, sizeof(stub_err));
	put(STUBS + 0x20, stub32, sizeof(stub32));
	put(STUBS + 0x30, stub32_err, sizeof(stub32_err));
	for (unsigned v = 0; v < 256; v++) {
		uint64_t off = has_error_code(v) ? STUBS + 0x30 : STUBS + 0x20;

		put64(IDT32 + 8 * v, (off & 0xffff) | ((uint64_t)CS32 << 16) | (0xeull << 40) |
				     (3ull << 45) | (1ull << 47) | ((off >> 16) & 0xffff) << 48);
	}
	for (unsigned v = 0; v < 256; v++) {
		uint64_t off = has_error_code(v) ? STUBS + 0x10 : STUBS;
		uint64_t lo = (off & 0xffff) | (0x08ull << 16) | (0xeull << 40) | (3ull << 45) |
			      (1ull << 47) | ((off >> 16) & 0xffff) << 48;

		put64(IDT + 16 * v, lo);
		put64(IDT + 16 * v + 8, off >> 32);
	}
	put64(TSS + 4, KSTACK);   /* RSP0 */
	put64(PT, (PT + 0x1000) | 7);
	put64(PT + 0x1000, (PT + 0x2000) | 7);
	for (uint64_t i = 0; i < 512; i++)
		put64(PT + 0x2000 + i * 8, (i << 21) | 0x87);
}

static void setup_cpu(struct soft_cpu *cpu, uint8_t flags)
{
	bool pm32 = flags & 8;

	soft_cpu__setup_flat(cpu, pm32 ? 32 : 64, pm32 ? 0 : PT);
	cpu->gdtr = (struct soft_dtable){ GDT, CS32 + 7 };
	cpu->idtr = pm32 ? (struct soft_dtable){ IDT32, 0x7ff } : (struct soft_dtable){ IDT, 0xfff };
	if (pm32)
		soft_seg__decode(seg_desc(0xb, 0, false, true), CS32, &cpu->seg[SOFT_CS]);
	soft_seg__decode(0x67 | (TSS << 16) | (0x9ull << 40) | (1ull << 47), 0x28,
			 &cpu->seg[SOFT_TR]);
	for (unsigned i = 0; i < 16; i++)
		cpu->gpr[i] = 0x200000 + 0x1000 * i;
	cpu->gpr[SOFT_RSP] = KSTACK;
	if ((flags & 1) && !pm32) {
		soft_seg__decode(seg_desc(0xb, 3, true, false), 0x23, &cpu->seg[SOFT_CS]);
		for (unsigned s = 0; s < SOFT_NR_SEGS; s++)
			if (s != SOFT_CS)
				soft_seg__decode(seg_desc(0x3, 3, false, true), 0x1b, &cpu->seg[s]);
		cpu->gpr[SOFT_RSP] = USTACK;
	}
	if (flags & 2)
		cpu->rflags |= SOFT_FL_TF;
	if (flags & 4)
		cpu->rflags |= SOFT_FL_IOPL;
	cpu->rip = CODE;
	soft_cpu__update_mode(cpu);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct soft_sys_cpu sc;
	struct soft_vm *svm;
	struct soft_cpu *cpu;
	size_t code_len;
	uint64_t start;
	uint8_t flags;

	if (!vm) {
		fuzz__quiet();
		vm = fuzz__vm_new(NULL, 0);
		vm->accel = NULL;          /* no backend: the soft CPU is driven here */
		vm->accel_kind = ACCEL_SOFT;
		if (vm__alloc_ram(vm, RAM))
			abort();
	}
	if (!size)
		return 0;
	/* Fresh zero RAM: only the pages the last run touched cost anything. */
	madvise(vm->ram, RAM, MADV_DONTNEED);
	atomic_store(&vm->stop_reason, VM_STOP_NONE);
	build_guest();
	flags = data[0];
	code_len = size - 1 < MAX_CODE ? size - 1 : MAX_CODE;
	put(CODE, data + 1, code_len);
	memset(vm->ram + CODE + code_len, 0xf4, 16);   /* HLT: the end */

	if (soft_vm__create(vm, &svm))
		abort();
	vm->accel_data = svm;
	soft_system__install_hooks(svm);
	soft_fpu__register_handlers(svm);
	soft_system__register_handlers(svm);
	if (soft_cpu__create(svm, 0, &cpu))
		abort();
	memset(&sc, 0, sizeof(sc));
	sc.cpu = cpu;
	atomic_init(&sc.sipi_vector, -1);
	pthread_mutex_init(&sc.lock, NULL);
	pthread_cond_init(&sc.cond, NULL);
	cpu->sys = &sc;
	setup_cpu(cpu, flags);

	start = cpu_ns();
	for (int runs = 0; runs < MAX_RUNS && cpu->stats.insns < BUDGET; runs++) {
		uint64_t left = BUDGET - cpu->stats.insns;
		int r = soft_exec__run(cpu, left < SLICE ? left : SLICE);

		if (r == SOFT_RUN_FATAL || r == SOFT_RUN_EXCEPTION || sc.shutdown ||
		    vm__stopping(vm))
			break;
		if (cpu->halted && cpu->rip >= CODE + code_len && cpu->rip < CODE + code_len + 16)
			break;
		/* As if an interrupt had woken it. */
		cpu->halted = false;
		if (cpu_ns() - start > MAX_NS)
			break;
	}

	soft_cpu__destroy(cpu);
	soft_vm__destroy(svm);
	pthread_mutex_destroy(&sc.lock);
	pthread_cond_destroy(&sc.cond);
	return 0;
}
