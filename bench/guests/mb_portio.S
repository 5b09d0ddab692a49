/* The QEMU-side equivalent of tests/guests' hello + portio_bench guests:
 * a 32-bit multiboot kernel (QEMU's -kernel loads those), printing one line
 * on COM1, doing COUNT OUTs to port 0x80, then isa-debug-exit with 0x10.
 * COUNT is set at build time (-DCOUNT=...). */
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0x0
	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	mov $msg, %esi
1:	lodsb
	test %al, %al
	jz 2f
	mov $0x3f8, %dx
	out %al, %dx
	jmp 1b
2:	mov $COUNT, %ecx
	test %ecx, %ecx
	jz 4f
	xor %eax, %eax
3:	out %al, $0x80
	dec %ecx
	jnz 3b
4:	mov $0x10, %al
	out %al, $0xf4
5:	cli
	hlt
	jmp 5b

	.section .rodata
msg:	.asciz "Hello from the reference guest\n"
