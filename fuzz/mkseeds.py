#!/usr/bin/env python3
"""Write the tiny seed inputs of the device harnesses into fuzz/corpus/.

The encoding is fuzz_bus_ops.h's: per operation one byte (bit 0 write,
bits 1-2 width 1/2/4/8, bits 3-7 window selector), a 2-byte offset (3 if
the window is larger than 64 KiB), then the value for writes.  The seeds
are what a driver does first, so the fuzzer starts from deep states."""
import os
import shutil
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WIDX = {1: 0, 2: 1, 4: 2, 8: 3}


class Seq:
    def __init__(self, wins):
        self.wins = wins  # list of window lengths, in harness order
        self.b = bytearray()

    def _op(self, sel, write, width, off):
        self.b.append((1 if write else 0) | WIDX[width] << 1 | sel << 3)
        n = 3 if self.wins[sel] > 0x10000 else 2
        self.b += off.to_bytes(n, 'little')

    def w(self, sel, off, val, width=1):
        self._op(sel, True, width, off)
        self.b += (val & ((1 << (8 * width)) - 1)).to_bytes(width, 'little')
        return self

    def r(self, sel, off, width=1):
        self._op(sel, False, width, off)
        return self

    def special(self, bits=0, payload=b''):
        self.b.append(len(self.wins) << 3 | (bits & 7))
        self.b += payload
        return self


def save(name, seeds):
    d = os.path.join(HERE, 'corpus', name)
    os.makedirs(d, exist_ok=True)
    for fname, s in seeds.items():
        with open(os.path.join(d, fname), 'wb') as f:
            f.write(bytes(s.b))


def serial():
    W = [8, 16]
    init = (Seq(W).w(0, 3, 0x80).w(0, 0, 1).w(0, 1, 0).w(0, 3, 0x03).w(0, 2, 0xC7)
            .w(0, 4, 0x0B).w(0, 1, 0x0F).r(0, 2).r(0, 5).r(0, 6).w(0, 0, 0x41).r(0, 2))
    loop = (Seq(W).w(0, 2, 0x01).w(0, 4, 0x1F).w(0, 1, 0x0F).w(0, 0, 0x55).w(0, 0, 0xAA)
            .r(0, 2).r(0, 0).r(0, 5).r(0, 6).w(0, 7, 0x5A).r(0, 7))
    rx = (Seq(W).w(0, 2, 0xC1).w(0, 1, 0x05).special(6, bytes(range(16))).r(0, 2)
          .r(0, 5).r(0, 0).special(0, b'x').r(0, 2).w(0, 2, 0x00).special(2, b'abcdef').r(0, 5))
    save('serial', {'linux_init': init, 'loopback': loop, 'rx_fifo': rx})


def rtc():
    W = [2, 6]
    t = (Seq(W).w(0, 0, 0x0A).r(0, 1).w(0, 0, 0x0B).r(0, 1).w(0, 1, 0x42).w(0, 0, 0x0A)
         .w(0, 1, 0x26).w(0, 0, 0x0C).r(0, 1).w(0, 0, 0x00).r(0, 1).w(0, 0, 0x04).r(0, 1))
    st = (Seq(W).w(0, 0, 0x0B).w(0, 1, 0x86).w(0, 0, 0x00).w(0, 1, 0x59).w(0, 0, 0x04)
          .w(0, 1, 0x92).w(0, 0, 0x07).w(0, 1, 0x31).w(0, 0, 0x08).w(0, 1, 0x02)
          .w(0, 0, 0x0B).w(0, 1, 0x26).w(0, 0, 0x0C).r(0, 1).w(0, 0, 0x32).r(0, 1))
    alarm = (Seq(W).w(0, 0, 0x01).w(0, 1, 0xC0).w(0, 0, 0x03).w(0, 1, 0xC0).w(0, 0, 0x05)
             .w(0, 1, 0xC0).w(0, 0, 0x0B).w(0, 1, 0x32).w(0, 0, 0x8C).r(0, 1).w(1, 2, 0x8D, 2)
             .r(1, 2, 2).w(0, 0, 0x7F).w(0, 1, 0xEE).r(0, 1))
    save('rtc', {'status_regs': t, 'set_time_binary_12h': st, 'alarm_irqs': alarm})


def i8042():
    W = [1, 1, 6]
    probe = (Seq(W).w(1, 0, 0xAA).r(1, 0).r(0, 0).w(1, 0, 0x20).r(0, 0).w(1, 0, 0x60)
             .w(0, 0, 0x47).w(1, 0, 0xAB).r(0, 0).w(1, 0, 0xA9).r(0, 0).w(1, 0, 0xAE))
    kbd = (Seq(W).w(0, 0, 0xFF).r(1, 0).r(0, 0).r(0, 0).w(0, 0, 0xF2).r(0, 0).r(0, 0)
           .r(0, 0).w(0, 0, 0xED).w(0, 0, 0x07).r(0, 0).w(0, 0, 0xF0).w(0, 0, 0x02).r(0, 0))
    aux = (Seq(W).w(1, 0, 0xA8).w(1, 0, 0xD4).w(0, 0, 0xFF).r(0, 0).r(0, 0).r(0, 0)
           .w(1, 0, 0xD3).w(0, 0, 0x5A).r(1, 0).r(0, 0).w(1, 0, 0xD4).w(0, 0, 0xF4).r(0, 0))
    reset = Seq(W).w(1, 0, 0xD1).w(0, 0, 0xFE).w(1, 0, 0xFE).r(1, 0)
    save('i8042', {'linux_probe': probe, 'kbd_cmds': kbd, 'aux': aux, 'reset': reset})


def acpi_pm():
    W = [12, 20]
    sci = (Seq(W).w(0, 2, 0x0121, 2).w(0, 4, 0x0001, 2).special().r(0, 0, 2).r(0, 0, 4)
           .w(0, 0, 0x0100, 2).r(0, 8, 4).r(0, 8, 4).r(0, 4, 2).w(0, 1, 0xFF))
    s5 = Seq(W).w(0, 4, 0x0001, 2).w(0, 4, (5 << 10) | 0x2001, 2).r(0, 0, 4)
    save('acpi_pm', {'power_button_sci': sci, 's5': s5})


def debug_exit():
    W = [4, 12, 0x20, 8]
    save('debug_exit', {
        'exit_0x31': Seq(W).r(0, 0).w(2, 0, 0x12).w(0, 0, 0x31).w(0, 0, 0x7F),
        'port92': Seq(W).r(3, 2).w(3, 2, 0x02).w(3, 2, 0x01).w(0, 1, 0x1234, 2),
    })


def pci():
    W = [8, 0x1000, 0x1000, 0x100000, 0x40000, 0x100]
    s = Seq(W)

    def cfg(reg, val=None, width=4):
        s.w(0, 0, 0x80000000 | 1 << 11 | (reg & 0xFC), 4)
        if val is None:
            s.r(0, 4 + (reg & 3), width)
        else:
            s.w(0, 4 + (reg & 3), val, width)
    cfg(0)
    for bar in range(6):
        cfg(0x10 + 4 * bar, 0xFFFFFFFF)
        cfg(0x10 + 4 * bar)
    cfg(0x10, 0xC001)
    cfg(0x14, 0xC0000000)
    cfg(0x18, 0xC0010000)
    cfg(0x1C, 0)
    cfg(0x20, 0xC0020000)
    cfg(0x04, 0x0007, 2)
    s.r(4, 0, 4).w(4, 0x10008, 0x55, 8).r(5, 0, 1).w(5, 0x1f, 0xAA)
    s.w(2, 0x18, 0xC0030000, 4).r(2, 0x18, 4).w(2, 0x34, 0, 1).r(2, 0x34, 1)
    s.r(2, 0x40, 4).w(2, 0x40, 0xFFFFFFFF, 4).r(2, 0x44, 4).special(2).r(2, 6, 2)
    s.w(2, 4, 0x0407, 2).special(0).w(2, 4, 0, 2).w(0, 1, 0x06).r(0, 1)
    save('pci', {'probe_and_map': s})


VW = [0x40, 0x8000, 0x20, 0x90, 0x100, 8, 0x20]
C, BAR, NOTIFY, MSIX, CFG, CF8, DEVCFG = range(7)


def ramw(s, off, data):
    # special op kind 2: 32 bytes of guest RAM at off
    data = data.ljust(32, b'\0')
    s.b.append(len(VW) << 3 | 2 << 1)
    s.b += off.to_bytes(2, 'little') + data
    return s


def host_event(s, payload):
    s.b.append(len(VW) << 3 | 3 << 1)
    s.b += payload
    return s


def virtio_driver(s, nq=1, msix=False, feat_lo=0):
    s.w(C, 0x14, 0).w(C, 0x14, 1).w(C, 0x14, 3)
    s.w(C, 0x00, 0, 4).r(C, 0x04, 4).w(C, 0x00, 1, 4).r(C, 0x04, 4)
    s.w(C, 0x08, 1, 4).w(C, 0x0c, 1, 4).w(C, 0x08, 0, 4).w(C, 0x0c, feat_lo | 1 << 28, 4)
    s.w(C, 0x14, 0x0B).r(C, 0x14)
    if msix:
        s.w(C, 0x10, 0, 2)
    for q in range(nq):
        base = 0x1000 + q * 0x3000
        s.w(C, 0x16, q, 2).r(C, 0x18, 2).w(C, 0x18, 16, 2)
        s.w(C, 0x20, base, 4).w(C, 0x24, 0, 4).w(C, 0x28, base + 0x1000, 4).w(C, 0x2c, 0, 4)
        s.w(C, 0x30, base + 0x2000, 4).w(C, 0x34, 0, 4)
        if msix:
            s.w(C, 0x1a, q + 1, 2)
        s.w(C, 0x1c, 1, 2)
    s.w(C, 0x14, 0x0F)
    return s


def virtio_pci():
    W = VW


    plain = Seq(W)
    virtio_driver(plain)
    # desc 0: 0x8000, 64 bytes, WRITE; avail idx 1 ring[0]=0
    ramw(plain, 0x1000, struct.pack('<QIHH', 0x8000, 64, 2, 0))
    ramw(plain, 0x2000, struct.pack('<HHH', 0, 1, 0))
    plain.w(NOTIFY, 0, 0, 2).r(BAR, 0x1000, 1).r(C, 0x15).r(BAR, 0x3000, 4)

    msix = Seq(W)
    # MSI-X capability is the last one: walk and enable via ECAM dword at cap
    msix.r(CFG, 0x34, 1)
    for off in range(0x40, 0x80, 4):
        msix.r(CFG, off, 4)
    msix.w(CFG, 0x76, 0x8000, 2)
    for v in range(2):
        msix.w(MSIX, 16 * v, 0xFEE00000, 4).w(MSIX, 16 * v + 4, 0, 4)
        msix.w(MSIX, 16 * v + 8, 0x40 + v, 4).w(MSIX, 16 * v + 12, 0, 4)
    virtio_driver(msix, msix=True)
    ramw(msix, 0x1000, struct.pack('<QIHHQIHH', 0x8000, 16, 3, 1, 0x8100, 16, 2, 0))
    ramw(msix, 0x2000, struct.pack('<HHHH', 0, 2, 0, 0))
    msix.w(NOTIFY, 0, 0, 2).w(MSIX, 12, 1, 4).w(NOTIFY, 0, 0, 2).r(BAR, 0x5000, 4)
    msix.w(MSIX, 12, 0, 4).w(CFG, 0x10, 0xC0100000, 4).w(CFG, 4, 0, 2).w(CFG, 4, 6, 2)

    save('virtio_pci', {'driver_init_kick': plain, 'msix_kick': msix})


def virtio_net():
    feats = 1 << 3 | 1 << 5 | 1 << 15 | 1 << 16
    s = Seq(VW)
    virtio_driver(s, nq=2, feat_lo=feats)
    s.r(DEVCFG, 0, 4).r(DEVCFG, 4, 2).r(DEVCFG, 6, 2).r(DEVCFG, 10, 2)
    ramw(s, 0x1000, struct.pack('<QIHHQIHH', 0x8000, 1526, 2, 0, 0x8800, 1526, 2, 0))
    ramw(s, 0x2000, struct.pack('<HHHH', 0, 2, 0, 1))
    ramw(s, 0x4000, struct.pack('<QIHH', 0x9000, 12 + 60, 0, 0))
    ramw(s, 0x5000, struct.pack('<HHH', 0, 1, 0))
    s.w(NOTIFY, 4, 1, 2).w(NOTIFY, 0, 0, 2)
    host_event(s, bytes([1]) + (60).to_bytes(2, 'little') + (2000).to_bytes(2, 'little'))
    s.r(BAR, 0x1000, 1)
    small = Seq(VW)
    virtio_driver(small, nq=2)
    host_event(small, bytes([0]) + (14).to_bytes(2, 'little'))
    ramw(small, 0x1000, struct.pack('<QIHH', 0x8000, 8, 2, 0))
    ramw(small, 0x2000, struct.pack('<HHH', 0, 1, 0))
    small.w(NOTIFY, 0, 0, 2)
    save('virtio_net', {'tx_rx_mrg': s, 'rx_short_buffer': small})


def virtio_console():
    s = Seq(VW)
    s.w(DEVCFG, 8, 0x41, 4).r(DEVCFG, 4, 4)
    virtio_driver(s, nq=2, feat_lo=1 << 2)
    ramw(s, 0x1000, struct.pack('<QIHH', 0x8000, 64, 2, 0))
    ramw(s, 0x2000, struct.pack('<HHH', 0, 1, 0))
    ramw(s, 0x4000, struct.pack('<QIHH', 0x9000, 16, 0, 0))
    ramw(s, 0x5000, struct.pack('<HHH', 0, 1, 0))
    s.w(NOTIFY, 4, 1, 2)
    host_event(s, bytes([9]))
    s.w(NOTIFY, 0, 0, 2)
    host_event(s, bytes([0xff]))
    save('virtio_console', {'tx_rx': s})


SOFT_GROUPS = {
 'alu': "add rax, rbx; adc ecx, 5; sub qword ptr [rbx], 7; sbb dl, bl; and r8, r9; or esi, 0x1234; xor rdi, [rbx+8]; cmp al, 3; test rcx, rdx; neg rax; not r10; inc byte ptr [rbx]; dec r11d; imul rax, rbx; imul ecx, [rbx], 9; mul qword ptr [rbx]; div rcx; idiv ecx; lea rax, [rbx+rcx*4+8]",
 'shift': "shl rax, 3; shr ecx, cl; sar r8, 1; rol dx, 4; ror byte ptr [rbx], cl; rcl rax, 1; rcr ecx, 7; shld rax, rbx, 5; shrd rcx, rdx, cl; bt rax, rbx; bts dword ptr [rbx], 3; btr rcx, 9; btc rdx, rax; bsf rax, rbx; bsr ecx, edx; popcnt rax, rbx; lzcnt rcx, rdx; tzcnt r8, r9; bswap rax",
 'mov': "mov rax, [rbx]; mov [rbx+16], ecx; movzx eax, byte ptr [rbx]; movsx rcx, word ptr [rbx]; movsxd rdx, dword ptr [rbx]; cmovz rax, rbx; setnz cl; xchg rax, [rbx]; cmpxchg [rbx], rcx; cmpxchg8b qword ptr [rbx]; xadd [rbx], eax; movbe rax, [rbx]; push rax; pop rcx; push qword ptr [rbx]; pushfq; popfq; cwd; cdq; cqo; cbw; cwde; cdqe; lahf; sahf; xlatb",
 'branch': "jz 1f; jnz 1f; 1: jc 2f; 2: loop 3f; 3: jrcxz 4f; 4: call 5f; 5: pop rax; jmp 6f; 6: lea rax, [rip+7f]; jmp rax; 7: nop; ret 8; enter 16, 1; leave",
 'string': "cld; rep movsb; rep stosq; std; lodsw; cld; repe cmpsb; repne scasb; movsq; stosd; insb; outsw; rep insd; rep outsb",
 'sys': "cpuid; rdtsc; rdtscp; rdpid rax; rdmsr; wrmsr; mov rax, cr0; mov cr0, rax; mov rax, cr4; mov cr4, rax; mov cr3, rax; mov rax, cr8; mov cr8, rax; mov rax, dr7; mov dr7, rax; invlpg [rbx]; wbinvd; invd; clts; sgdt [rbx]; sidt [rbx]; lgdt [rbx]; lidt [rbx]; sldt ax; str ax; lldt ax; ltr ax; verr ax; verw ax; lar eax, ecx; lsl eax, ecx; swapgs; syscall; sysretq; sysenter; sysexitq; iretq; int 0x80; int3; .byte 0xce; ud2; hlt; cli; sti; pause; lfence; mfence; sfence; clflush [rbx]; prefetcht0 [rbx]; xgetbv; xsetbv; monitor; mwait; rdrand rax; rdseed rcx",
 'seg': "mov ax, ds; mov es, ax; mov ss, ax; mov fs, ax; mov gs, ax; push fs; pop fs; push gs; pop gs; lss eax, [rbx]; lfs eax, [rbx]; lgs ecx, [rbx]; ljmp [rbx]; lcall [rbx]; lretq; lretq 8; wrfsbase rax; rdgsbase rcx",
 'x87': "finit; fld1; fldz; fldpi; fldl2e; fld dword ptr [rbx]; fld qword ptr [rbx]; fld tbyte ptr [rbx]; fild word ptr [rbx]; fadd st, st(1); fmul dword ptr [rbx]; fsub qword ptr [rbx]; fdivr st(1), st; fsqrt; fsin; fcos; fptan; fpatan; fprem; fprem1; fscale; fxtract; frndint; fchs; fabs; ftst; fxam; fcom st(1); fcomi st, st(1); fucomip st, st(1); fstp qword ptr [rbx]; fistp dword ptr [rbx]; fisttp qword ptr [rbx]; fbld tbyte ptr [rbx]; fbstp tbyte ptr [rbx]; fnstsw ax; fnstcw [rbx]; fldcw [rbx]; fnclex; fnsave [rbx]; frstor [rbx]; fnstenv [rbx]; fldenv [rbx]; fxsave [rbx]; fxrstor [rbx]; fcmovb st, st(1); ffree st(2); fdecstp; fincstp; fxch st(3); f2xm1; fyl2x; fyl2xp1; fwait",
 'sse': "movaps xmm0, [rbx]; movups xmm1, [rbx+1]; movss xmm2, [rbx]; movsd xmm3, xmm4; movd xmm0, eax; movq rax, xmm1; movdqa xmm2, xmm3; movdqu [rbx], xmm4; addps xmm0, xmm1; mulsd xmm2, [rbx]; divss xmm1, xmm2; sqrtpd xmm0, xmm1; minps xmm0, xmm1; maxsd xmm2, xmm3; cmpps xmm0, xmm1, 3; comiss xmm0, xmm1; ucomisd xmm2, [rbx]; cvtsi2ss xmm0, rax; cvtsi2sd xmm1, ecx; cvttss2si eax, xmm0; cvtsd2si rax, xmm1; cvtps2pd xmm0, xmm1; cvtdq2ps xmm2, xmm3; cvttpd2dq xmm0, xmm1; ldmxcsr [rbx]; stmxcsr [rbx]; andps xmm0, xmm1; xorpd xmm2, xmm3; shufps xmm0, xmm1, 0x1b; shufpd xmm2, xmm3, 1; unpcklps xmm0, xmm1; movmskps eax, xmm0; movmskpd ecx, xmm1; movhlps xmm0, xmm1; movlhps xmm2, xmm3; movhps xmm0, [rbx]; movnti [rbx], eax; movntdq [rbx], xmm0; maskmovdqu xmm0, xmm1",
 'simd': "paddb xmm0, xmm1; psubw xmm2, [rbx]; pmullw xmm0, xmm1; pmulhuw xmm2, xmm3; pmuludq xmm0, xmm1; pmaddwd xmm2, xmm3; psadbw xmm0, xmm1; pavgb xmm0, xmm1; pminub xmm2, xmm3; pmaxsw xmm0, xmm1; pcmpeqb xmm0, xmm1; pcmpgtd xmm2, xmm3; pand xmm0, xmm1; pandn xmm2, xmm3; por xmm0, xmm1; pxor xmm2, xmm2; psllw xmm0, 3; psrld xmm1, xmm2; psraw xmm2, 4; pslldq xmm0, 5; psrldq xmm1, 3; pshufd xmm0, xmm1, 0x1b; pshufhw xmm2, xmm3, 0x1b; pshuflw xmm0, xmm1, 0x1b; punpcklbw xmm0, xmm1; punpckhqdq xmm2, xmm3; packsswb xmm0, xmm1; packuswb xmm2, xmm3; pextrw eax, xmm0, 3; pinsrw xmm0, eax, 2; pmovmskb eax, xmm1; movq2dq xmm0, mm1; movdq2q mm0, xmm1; paddb mm0, mm1; pxor mm2, mm3; movq mm0, [rbx]; movntq [rbx], mm0; emms",
}

SOFT_PM32 = ("add eax, ebx; push eax; pop ecx; pushad; popad; aaa; daa; aam; into; "
             "bound eax, [ebx]; les eax, [ebx]; lds ecx, [ebx]; arpl cx, ax; push ds; pop es; "
             "mov ax, 0x10; mov ss, ax; mov eax, cr0; or eax, 0x80000000; mov cr3, ebx; cpuid; "
             "int 0x80; ud2; rep movsd; lcall 0x38:0x100000; ljmp 0x38:0x100040; iretd")


def assemble(code, bits):
    """Machine code for '; '-separated Intel-syntax instructions (GNU as)."""
    with tempfile.TemporaryDirectory() as d:
        src, obj, out = (os.path.join(d, n) for n in ('a.s', 'a.o', 'a.bin'))
        with open(src, 'w') as f:
            f.write('.intel_syntax noprefix\n.code%d\n' % bits + '\n'.join(code.split('; ')) + '\n')
        subprocess.run(['as', '--%d' % bits, '-o', obj, src], check=True)
        subprocess.run(['objcopy', '-O', 'binary', '-j', '.text', obj, out], check=True)
        return open(out, 'rb').read()


def soft_cpu():
    """First byte: flags (bit 0 ring 3, bit 1 TF, bit 2 IOPL 3, bit 3
    32-bit protected mode); the rest is code.  Needs binutils."""
    if not shutil.which('as') or not shutil.which('objcopy'):
        print('soft_cpu seeds skipped: no GNU as/objcopy')
        return
    d = os.path.join(HERE, 'corpus', 'soft_cpu')
    os.makedirs(d, exist_ok=True)

    def put(name, flags, code):
        with open(os.path.join(d, name), 'wb') as f:
            f.write(bytes([flags]) + code)
    for name, code in SOFT_GROUPS.items():
        b = assemble(code, 64)
        put(name + '_ring0', 0, b)
        put(name + '_ring3', 1, b)
        if name in ('x87', 'sse', 'string'):
            put(name + '_pm32', 8, b)
    put('pm32_mix', 8, assemble(SOFT_PM32, 32))
    mix = bytes.fromhex('488b03 4801c1 0fa2 0f0b f4 cc 0f31 0f32 f348a5 d9e8 0f28c1 660ffec1 '
                        'e470 ef 0f22d8 48f7f1 9c 9d 0f01f8 0f05 cf'.replace(' ', ''))
    put('ring0_mix', 0, mix)
    put('ring3_mix', 1, mix)
    put('tf_loop', 6, bytes.fromhex('48ffc0ebfb'))   # inc rax; jmp back, TF + IOPL 3


if __name__ == '__main__':
    serial()
    rtc()
    i8042()
    acpi_pm()
    debug_exit()
    pci()
    virtio_pci()
    virtio_net()
    virtio_console()
    soft_cpu()
