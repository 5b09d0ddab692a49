/* Backend-neutral x86 register state.  The boot code fills these in; each
 * CPU backend translates them to its own representation (kvm_regs/kvm_sregs
 * for KVM, its own struct for the software CPU). */
#ifndef VIREO_ACCEL_X86_STATE_H
#define VIREO_ACCEL_X86_STATE_H

#include <stdint.h>

struct x86_segment {
	uint64_t base;
	uint32_t limit;    /* byte granular, already expanded if g=1 */
	uint16_t selector;
	uint8_t type;      /* 4-bit descriptor type */
	uint8_t present, dpl, db, s, l, g, avl;
	uint8_t unusable;
};

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

struct x86_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

struct x86_sregs {
	struct x86_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
};

#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_EM (1ull << 2)
#define X86_CR0_TS (1ull << 3)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_NW (1ull << 29)
#define X86_CR0_CD (1ull << 30)
#define X86_CR0_PG (1ull << 31)

#define X86_CR4_PAE        (1ull << 5)
#define X86_CR4_PGE        (1ull << 7)
#define X86_CR4_OSFXSR     (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)

#define X86_EFER_SCE (1ull << 0)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)

#define X86_RFLAGS_FIXED (1ull << 1)
#define X86_RFLAGS_IF    (1ull << 9)

#endif
