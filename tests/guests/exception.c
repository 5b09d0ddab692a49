/* Checks the library's IDT: a registered #PF handler that resumes at a
 * fixup address returns and execution continues (twice); then an
 * unhandled #UD must produce the EXCEPTION report and a FAIL exit (status
 * 35).  The integration test expects exactly that, which also proves a
 * failing guest is told apart from a passing one.
 * int3 is avoided on purpose: KVM's instruction emulator (all that runs
 * guest code on hosts without VMX/SVM) cannot emulate INT n outside real
 * mode. */
#include "guest.h"

#define UNMAPPED 0x100000000ul    /* vireo's identity map stops at 4 GiB */

static volatile unsigned pf_hits;
static volatile uint64_t fixup_rip, fault_addr;

static void on_pf(struct isr_frame *f)
{
	if (!fixup_rip)
		fail("#PF at rip 0x%lx with no fixup", f->rip);
	fault_addr = read_cr2();
	f->rip = fixup_rip;
	fixup_rip = 0;
	pf_hits++;
}

/* Reads addr; returns true if the read faulted. */
static bool probe_read(uint64_t addr)
{
	unsigned before = pf_hits;
	uint64_t v;

	__asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
			 "movq %%rax, %1\n\t"
			 "movq (%2), %0\n"
			 "1:"
			 : "=&r"(v), "=m"(fixup_rip)
			 : "r"(addr)
			 : "rax", "memory");
	(void)v;
	return pf_hits != before;
}

int main(void)
{
	idt_set_handler(14, on_pf);
	if (probe_read(0x100000))
		fail("reading mapped memory faulted");
	if (!probe_read(UNMAPPED) || fault_addr != UNMAPPED)
		fail("reading 0x%lx did not fault (cr2 0x%lx)", UNMAPPED, fault_addr);
	if (!probe_read(UNMAPPED + 0x1000))
		fail("second unmapped read did not fault");
	printf("exception: #PF handler ran %u times, cr2 0x%lx\n", pf_hits, fault_addr);
	if (pf_hits != 2)
		fail("#PF handler ran %u times, expected 2", pf_hits);
	puts("exception: executing ud2, expecting a #UD report\n");
	__asm__ volatile("ud2");
	puts("exception: ud2 did not fault\n");
	return 0;
}
