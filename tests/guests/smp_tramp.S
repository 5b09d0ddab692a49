/* AP start-up trampoline.  smp.c copies [ap_tramp_start, ap_tramp_end) to
 * TRAMP_BASE (a page in the 0x2000-0x6FFF area vireo leaves free) and
 * fills in the data block; the SIPI vector is TRAMP_BASE >> 12.  The AP
 * starts in real mode at CS:IP = (TRAMP_BASE >> 4):0 and goes through
 * 32-bit protected mode to 64-bit long mode on the BSP's page tables. */
#define TRAMP_BASE 0x3000
#define REL(x) ((x) - ap_tramp_start)
#define ABS(x) (TRAMP_BASE + REL(x))

	.section .rodata.tramp, "a"
	.globl ap_tramp_start, ap_tramp_end
	.globl ap_tramp_cr3, ap_tramp_efer, ap_tramp_stack, ap_tramp_entry

	.code16
ap_tramp_start:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds
	lgdtl	REL(tramp_gdt_ptr)
	movl	%cr0, %eax
	orl	$1, %eax		/* PE */
	movl	%eax, %cr0
	ljmpl	$0x08, $ABS(tramp32)

	.code32
tramp32:
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%cr4, %eax
	orl	$0x20, %eax		/* PAE */
	movl	%eax, %cr4
	movl	ABS(ap_tramp_cr3), %eax
	movl	%eax, %cr3
	movl	$0xC0000080, %ecx	/* EFER: the BSP's value, so NXE etc. match */
	movl	ABS(ap_tramp_efer), %eax
	xorl	%edx, %edx
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax	/* PG | PE */
	movl	%eax, %cr0
	ljmpl	$0x10, $ABS(tramp64)

	.code64
tramp64:
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movq	ABS(ap_tramp_stack), %rsp
	movq	ABS(ap_tramp_entry), %rax
	call	*%rax
1:	cli
	hlt
	jmp	1b

	.align 8
tramp_gdt:
	.quad	0
	.quad	0x00cf9b000000ffff	/* 0x08: 32-bit code */
	.quad	0x00af9b000000ffff	/* 0x10: 64-bit code */
	.quad	0x00cf93000000ffff	/* 0x18: data */
tramp_gdt_end:
tramp_gdt_ptr:
	.word	tramp_gdt_end - tramp_gdt - 1
	.long	ABS(tramp_gdt)
	.align 8
ap_tramp_cr3:	.quad 0
ap_tramp_efer:	.quad 0
ap_tramp_stack:	.quad 0
ap_tramp_entry:	.quad 0
ap_tramp_end:

	.section .note.GNU-stack, "", @progbits
