/* Boot GDT, TSS, identity page tables and the BSP's 64-bit entry state
 * (boot.rst "64-bit boot protocol": paging on, flat __BOOT_CS/__BOOT_DS,
 * interrupts off, RSI = zero page). */
#include <errno.h>
#include <string.h>

#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "vm/vm.h"

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_PS  (1ull << 7)
#define PAGE_4K 0x1000ull
#define PAGE_2M 0x200000ull
#define BOOT_NR_PD 4   /* 4 GiB */

#define TSS_LIMIT 0x67
#define TSS_TYPE_BUSY64 0xb
#define SEG_TYPE_CODE_XRA 0xb
#define SEG_TYPE_DATA_RWA 0x3

int pagetables__build(struct vm *vm)
{
	uint64_t *pml4, *pdpt, *pd;

	pml4 = vm__gpa_to_hva(vm, BOOT_PML4_ADDR, PAGE_4K);
	pdpt = vm__gpa_to_hva(vm, BOOT_PDPT_ADDR, PAGE_4K);
	pd = vm__gpa_to_hva(vm, BOOT_PD_ADDR, BOOT_NR_PD * PAGE_4K);
	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, PAGE_4K);
	memset(pdpt, 0, PAGE_4K);
	pml4[0] = BOOT_PDPT_ADDR | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < BOOT_NR_PD; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * PAGE_4K) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < BOOT_NR_PD * 512; i++)
		pd[i] = (i * PAGE_2M) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

/* An 8-byte code/data descriptor. */
static uint64_t gdt_entry(uint64_t flags, uint64_t base, uint64_t limit)
{
	return ((base & 0xff000000ull) << 32) | ((flags & 0xf0ffull) << 40) |
	       ((limit & 0xf0000ull) << 32) | ((base & 0x00ffffffull) << 16) |
	       (limit & 0xffffull);
}

/* Flags as in the descriptor's bytes 5-6: G, D/B, L, AVL | P, DPL, S, type. */
#define GDT_CODE64 0xa09bull  /* G=1 L=1, P=1 S=1 type=0xb */
#define GDT_DATA   0xc093ull  /* G=1 D/B=1, P=1 S=1 type=0x3 */
#define GDT_TSS64  0x008bull  /* P=1 S=0 type=0xb (busy) */

int gdt__build(struct vm *vm)
{
	uint64_t gdt[BOOT_SEL_TSS / 8 + 2] = { 0 };
	uint8_t tss[TSS_LIMIT + 1] = { 0 };

	gdt[BOOT_SEL_CS / 8] = gdt_entry(GDT_CODE64, 0, 0xfffff);
	gdt[BOOT_SEL_DS / 8] = gdt_entry(GDT_DATA, 0, 0xfffff);
	/* A 64-bit TSS descriptor is 16 bytes: the second half holds base 63:32. */
	gdt[BOOT_SEL_TSS / 8] = gdt_entry(GDT_TSS64, BOOT_TSS_ADDR, TSS_LIMIT);
	gdt[BOOT_SEL_TSS / 8 + 1] = BOOT_TSS_ADDR >> 32;
	/* I/O map base beyond the limit: no I/O permission bitmap. */
	tss[102] = TSS_LIMIT + 1;
	if (vm__write_guest(vm, BOOT_GDT_ADDR, gdt, sizeof(gdt)) ||
	    vm__write_guest(vm, BOOT_TSS_ADDR, tss, sizeof(tss)))
		return -EFAULT;
	return 0;
}

static struct x86_segment seg_flat(uint16_t sel, uint8_t type, int code)
{
	return (struct x86_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0,
		.g = 1,
	};
}

void boot__entry_state(uint64_t entry, struct x86_regs *regs, struct x86_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	memset(sregs, 0, sizeof(*sregs));

	sregs->cs = seg_flat(BOOT_SEL_CS, SEG_TYPE_CODE_XRA, 1);
	sregs->ds = seg_flat(BOOT_SEL_DS, SEG_TYPE_DATA_RWA, 0);
	sregs->es = sregs->ds;
	sregs->fs = sregs->ds;
	sregs->gs = sregs->ds;
	sregs->ss = sregs->ds;
	sregs->tr = (struct x86_segment){
		.base = BOOT_TSS_ADDR, .limit = TSS_LIMIT, .selector = BOOT_SEL_TSS,
		.type = TSS_TYPE_BUSY64, .present = 1, .s = 0,
	};
	sregs->ldt = (struct x86_segment){ .type = 2, .unusable = 1 };
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = (uint16_t)(BOOT_SEL_TSS + 16 - 1);
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	sregs->cr3 = BOOT_PML4_ADDR;
	sregs->cr4 = X86_CR4_PAE;
	sregs->efer = X86_EFER_LME | X86_EFER_LMA;
	sregs->apic_base = VM_LAPIC_BASE | (1ull << 11) /* enable */ | (1ull << 8) /* BSP */;

	regs->rflags = X86_RFLAGS_FIXED;
	regs->rsp = BOOT_STACK_TOP;
	regs->rsi = BOOT_ZERO_PAGE_ADDR;
	regs->rip = entry;
}
