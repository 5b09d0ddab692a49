/* A register dump in one format for every backend, printed when a guest
 * triple-faults or a backend gives up, so bug reports look alike whichever
 * CPU ran the guest. */
#include <inttypes.h>
#include <stdio.h>

#include "accel/x86_dump.h"

static void dump_seg(FILE *f, const char *name, const struct x86_segment *s)
{
	fprintf(f, "%-3s=%04x base=%016" PRIx64 " limit=%08x type=%x s=%u dpl=%u"
		" p=%u db=%u l=%u g=%u%s\n", name, s->selector, s->base, s->limit,
		s->type, s->s, s->dpl, s->present, s->db, s->l, s->g,
		s->unusable ? " unusable" : "");
}

void x86_dump_state(FILE *f, const struct x86_regs *r, const struct x86_sregs *s)
{
	if (r) {
		fprintf(f, "RAX=%016" PRIx64 " RBX=%016" PRIx64 " RCX=%016" PRIx64
			" RDX=%016" PRIx64 "\n", r->rax, r->rbx, r->rcx, r->rdx);
		fprintf(f, "RSI=%016" PRIx64 " RDI=%016" PRIx64 " RBP=%016" PRIx64
			" RSP=%016" PRIx64 "\n", r->rsi, r->rdi, r->rbp, r->rsp);
		fprintf(f, "R8 =%016" PRIx64 " R9 =%016" PRIx64 " R10=%016" PRIx64
			" R11=%016" PRIx64 "\n", r->r8, r->r9, r->r10, r->r11);
		fprintf(f, "R12=%016" PRIx64 " R13=%016" PRIx64 " R14=%016" PRIx64
			" R15=%016" PRIx64 "\n", r->r12, r->r13, r->r14, r->r15);
		fprintf(f, "RIP=%016" PRIx64 " RFLAGS=%08" PRIx64 "\n", r->rip, r->rflags);
	}
	if (!s)
		return;
	dump_seg(f, "ES", &s->es);
	dump_seg(f, "CS", &s->cs);
	dump_seg(f, "SS", &s->ss);
	dump_seg(f, "DS", &s->ds);
	dump_seg(f, "FS", &s->fs);
	dump_seg(f, "GS", &s->gs);
	dump_seg(f, "LDT", &s->ldt);
	dump_seg(f, "TR", &s->tr);
	fprintf(f, "GDT=%016" PRIx64 " %04x  IDT=%016" PRIx64 " %04x\n",
		s->gdt.base, s->gdt.limit, s->idt.base, s->idt.limit);
	fprintf(f, "CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64
		" CR4=%08" PRIx64 " CR8=%" PRIx64 "\n", s->cr0, s->cr2, s->cr3,
		s->cr4, s->cr8);
	fprintf(f, "EFER=%08" PRIx64 " APIC_BASE=%08" PRIx64 "\n", s->efer, s->apic_base);
}
