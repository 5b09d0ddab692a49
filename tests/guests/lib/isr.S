/* 256 interrupt stubs, 16 bytes apart, so vector v's stub is at
 * isr_stubs + 16 * v.  Each pushes a dummy error code where the CPU pushes
 * none, then the vector, so every frame has the same layout
 * (struct isr_frame in guest.h). */
	.text
	.code64

.macro isr_stub
	.align 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
.endm

	.align 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	isr_stub
	.set vec, vec + 1
	.endr
	.align 16
	.globl isr_stubs_end
isr_stubs_end:

isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	cld
	movq	%rsp, %rdi
	call	isr_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp
	iretq

	.section .note.GNU-stack, "", @progbits
