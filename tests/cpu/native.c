/* Run a sequence on the host CPU.
 *
 * A stub written into the second code page loads RFLAGS, MXCSR, XMM0-15 and
 * all 16 GPRs (RSP included: it points into the scratch buffer) and jumps to
 * the sequence.  The sequence ends with UD2, so every run ends in a signal;
 * the handler (on its own stack, since RSP is the guest's) copies the
 * registers out of the signal context and siglongjmps back.  A fault inside
 * the sequence (#DE from DIV, #GP from a misaligned MOVDQA, ...) ends the
 * run the same way, with its vector from the context's trap number. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "difftest.h"

/* The signal handler has no argument to find these through: file scope,
 * single-threaded test program. */
static sigjmp_buf dt_jmp;
static struct dt_state *dt_out;

static const int greg_of[16] = {
	REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
	REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	struct dt_state *o = dt_out;

	(void)sig;
	(void)si;
	for (int i = 0; i < 16; i++)
		o->gpr[i] = uc->uc_mcontext.gregs[greg_of[i]];
	o->rip = uc->uc_mcontext.gregs[REG_RIP];
	o->rflags = uc->uc_mcontext.gregs[REG_EFL];
	o->vector = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
	if (uc->uc_mcontext.fpregs) {
		const struct _libc_fpstate *f = uc->uc_mcontext.fpregs;

		memcpy(o->xmm, f->_xmm, sizeof(o->xmm));
		o->mxcsr = f->mxcsr;
		o->top = (f->swd >> 11) & 7;
		o->ftw = (uint8_t)f->ftw;
		/* FXSAVE stores ST(i); with TOP = 0 that is physical R(i) */
		for (int i = 0; i < 8; i++) {
			int phys = (i + o->top) & 7;

			memcpy(&o->mm[phys], f->_st[i].significand, 8);
			o->mm_exp[phys] = f->_st[i].exponent;
		}
	}
	siglongjmp(dt_jmp, 1);
}

static void *map_fixed(uint64_t va, size_t len)
{
	void *p = mmap((void *)va, len, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED || p != (void *)va) {
		fprintf(stderr, "difftest: cannot map %#llx: %s\n", (unsigned long long)va,
			strerror(errno));
		return NULL;
	}
	return p;
}

int dt_native_init(void)
{
	static uint8_t altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;
	const int sigs[] = { SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP };

	if (!map_fixed(DT_SCRATCH_VA, DT_SCRATCH_SIZE) || !map_fixed(DT_CODE_VA, 0x2000))
		return -1;
	if (sigaltstack(&ss, NULL))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL))
			return -1;
	return 0;
}

/* Entry stub layout in the page at DT_STUB_VA. */
#define STUB_DATA_RFLAGS 0x800
#define STUB_DATA_MXCSR  0x808
#define STUB_DATA_XMM    0x810
#define STUB_DATA_MM     0x910

static uint8_t *emit_rip_rel(uint8_t *p, uint64_t target)
{
	/* disp32 relative to the end of this 4-byte field */
	int32_t d = (int32_t)(target - ((uint64_t)(uintptr_t)p + 4));

	memcpy(p, &d, 4);
	return p + 4;
}

static void build_stub(const struct dt_state *in)
{
	uint8_t *page = (uint8_t *)DT_STUB_VA, *p = page;
	uint64_t fl = in->rflags;
	int32_t rel;

	memcpy(page + STUB_DATA_RFLAGS, &fl, 8);
	memcpy(page + STUB_DATA_MXCSR, &in->mxcsr, 4);
	memcpy(page + STUB_DATA_XMM, in->xmm, sizeof(in->xmm));
	memcpy(page + STUB_DATA_MM, in->mm, sizeof(in->mm));

	/* lea rsp, [rip + rflags]; popfq */
	*p++ = 0x48; *p++ = 0x8d; *p++ = 0x25;
	p = emit_rip_rel(p, DT_STUB_VA + STUB_DATA_RFLAGS);
	*p++ = 0x9d;
	/* ldmxcsr [rip + mxcsr] */
	*p++ = 0x0f; *p++ = 0xae; *p++ = 0x15;
	p = emit_rip_rel(p, DT_STUB_VA + STUB_DATA_MXCSR);
	/* movdqu xmmN, [rip + xmm + 16 N] */
	for (int n = 0; n < 16; n++) {
		*p++ = 0xf3;
		if (n >= 8)
			*p++ = 0x44;
		*p++ = 0x0f; *p++ = 0x6f;
		*p++ = (uint8_t)(((n & 7) << 3) | 5);
		p = emit_rip_rel(p, DT_STUB_VA + STUB_DATA_XMM + 16 * n);
	}
	/* movq mmN, [rip + mm + 8 N]: also TOP = 0, all tags valid */
	for (int n = 0; n < 8; n++) {
		*p++ = 0x0f; *p++ = 0x6f;
		*p++ = (uint8_t)((n << 3) | 5);
		p = emit_rip_rel(p, DT_STUB_VA + STUB_DATA_MM + 8 * n);
	}
	/* movabs reg, imm64 for every GPR (no flags touched) */
	for (int r = 0; r < 16; r++) {
		*p++ = r >= 8 ? 0x49 : 0x48;
		*p++ = (uint8_t)(0xb8 + (r & 7));
		memcpy(p, &in->gpr[r], 8);
		p += 8;
	}
	/* jmp sequence */
	*p++ = 0xe9;
	rel = (int32_t)(DT_CODE_VA - ((uint64_t)(uintptr_t)p + 4));
	memcpy(p, &rel, 4);
}

void dt_native_run(const struct dt_seq *seq, const struct dt_state *in, struct dt_state *out)
{
	memcpy((void *)DT_SCRATCH_VA, in->mem, DT_SCRATCH_SIZE);
	memcpy((void *)DT_CODE_VA, seq->code, seq->len);
	build_stub(in);
	memset(out, 0, offsetof(struct dt_state, mem));
	out->vector = -1;
	dt_out = out;
	if (!sigsetjmp(dt_jmp, 1))
		((void (*)(void))(uintptr_t)DT_STUB_VA)();
	memcpy(out->mem, (void *)DT_SCRATCH_VA, DT_SCRATCH_SIZE);
}
