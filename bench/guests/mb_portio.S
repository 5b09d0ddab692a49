/* The QEMU-side equivalent of tests/guests' hello + portio_bench guests.
 * QEMU's -kernel loads 32-bit multiboot kernels only, so this one enters
 * in 32-bit protected mode, switches to 64-bit long mode (identity-mapped
 * first 1 GiB, as vireo's ELF entry provides), then does exactly what the
 * vireo guest does: print one line on COM1, COUNT OUTs to port 0x80 in a
 * 64-bit loop, isa-debug-exit with 0x10.  COUNT is set at build time. */
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x0
	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD: 512 x 2 MiB pages. */
	mov $pd, %edi
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax
	mov %eax, (%edi,%ecx,8)
	movl $0, 4(%edi,%ecx,8)
	inc %ecx
	cmp $512, %ecx
	jne 1b
	mov $pdpt, %eax
	or $3, %eax
	mov %eax, pml4
	mov $pd, %eax
	or $3, %eax
	mov %eax, pdpt
	mov $pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax              /* PAE */
	mov %eax, %cr4
	mov $0xC0000080, %ecx       /* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax        /* PG | PE */
	mov %eax, %cr0
	lgdt gdt_desc
	ljmp $0x08, $long_mode

	.code64
long_mode:
	mov $msg, %esi             /* addresses are below 4 GiB */
	mov $0x3f8, %dx
2:	lodsb
	test %al, %al
	jz 3f
	out %al, %dx
	jmp 2b
3:	mov $COUNT, %ebx
	test %rbx, %rbx
	jz 5f
	xor %eax, %eax
4:	out %al, $0x80              /* same 4-instruction loop as the vireo guest */
	add $1, %rax
	cmp %rax, %rbx
	jne 4b
5:	mov $done, %esi
7:	lodsb
	test %al, %al
	jz 8f
	out %al, %dx
	jmp 7b
8:	mov $0x10, %al
	out %al, $0xf4
6:	cli
	hlt
	jmp 6b

	.section .rodata
	.align 8
gdt:	.quad 0
	.quad 0x00209a0000000000    /* 64-bit code */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt
msg:	.asciz "Hello from the reference guest\nportio_bench: start\n"
done:	.asciz "portio_bench: done\n"

	.section .bss
	.align 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096
