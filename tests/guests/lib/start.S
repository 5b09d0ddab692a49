/* Guest entry.  vireo enters here in 64-bit mode with paging on (identity
 * map of 0-4 GiB), RSI = zero page, interrupts off.  We switch to our own
 * GDT and stack at once so nothing depends on vireo's boot scratch areas. */
	.section .text.start, "ax"
	.code64
	.globl _start
_start:
	cli
	cld
	movq	%rsi, %r12
	call	gdt_load
	leaq	boot_stack_top(%rip), %rsp
	/* .bss is zero in a fresh VM, but a loader bug must not look like a
	 * guest bug: clear it anyway. */
	leaq	__bss_start(%rip), %rdi
	leaq	__bss_end(%rip), %rcx
	subq	%rdi, %rcx
	shrq	$3, %rcx
	xorl	%eax, %eax
	rep stosq
	movq	%r12, %rdi
	call	guest_entry
1:	cli
	hlt
	jmp	1b

/* Load the library GDT and reload every segment register; callable from
 * the BSP and from APs. */
	.text
	.globl gdt_load
gdt_load:
	lgdt	gdt_ptr(%rip)
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	popq	%rax
	pushq	$0x10
	pushq	%rax
	lretq

	.section .rodata
	.align 16
	.globl guest_gdt
guest_gdt:
	.quad	0
	.quad	0x00cf9b000000ffff	/* 0x08: 32-bit code (AP trampoline) */
	.quad	0x00af9b000000ffff	/* 0x10: 64-bit code */
	.quad	0x00cf93000000ffff	/* 0x18: data */
guest_gdt_end:
	.align 8
gdt_ptr:
	.word	guest_gdt_end - guest_gdt - 1
	.quad	guest_gdt

	.section .stacks, "aw", @nobits
	.align 16
	.space	16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
