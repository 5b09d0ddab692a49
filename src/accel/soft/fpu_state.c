/* x87/SSE state: reset, availability checks, and the memory images of
 * FXSAVE/FXRSTOR, FNSTENV/FLDENV and FNSAVE/FRSTOR (Intel SDM vol. 1,
 * 8.1.10 and 10.5.1). */
#include <string.h>

#include "accel/x86_state.h"
#include "accel/soft/fpu_ops.h"

void soft_fpu__fninit(struct soft_fpu *f)
{
	f->fcw = FCW_DEFAULT;
	f->fsw = 0;
	f->ftw = 0;
	f->fop = 0;
	f->fip = 0;
	f->fdp = 0;
	f->fcs = 0;
	f->fds = 0;
}

void soft_fpu__reset(struct soft_fpu *f)
{
	memset(f, 0, sizeof(*f));
	soft_fpu__fninit(f);
	f->fcw = 0x0040;   /* power-on value, before the OS's FNINIT */
	f->mxcsr = MXCSR_DEFAULT;
}

enum fpu_fault soft_fpu__check(const struct soft_fpu *f, enum fpu_class cls,
			       uint64_t cr0, uint64_t cr4)
{
	/* With CR0.NE=0 a pending x87 error would go out through FERR#/IRQ13;
	 * no 64-bit OS runs that way, so only native #MF is modelled. */
	bool pending = (f->fsw & FSW_ES) && (cr0 & X86_CR0_NE);

	switch (cls) {
	case FPU_CLASS_X87:
		if (cr0 & (X86_CR0_EM | X86_CR0_TS))
			return FPU_FAULT_NM;
		return pending ? FPU_FAULT_MF : FPU_OK;
	case FPU_CLASS_X87_NOWAIT:
	case FPU_CLASS_FXSR:
		if (cr0 & (X86_CR0_EM | X86_CR0_TS))
			return FPU_FAULT_NM;
		return FPU_OK;
	case FPU_CLASS_WAIT:
		if ((cr0 & X86_CR0_TS) && (cr0 & X86_CR0_MP))
			return FPU_FAULT_NM;
		return pending ? FPU_FAULT_MF : FPU_OK;
	case FPU_CLASS_MMX:
		if (cr0 & X86_CR0_EM)
			return FPU_FAULT_UD;
		if (cr0 & X86_CR0_TS)
			return FPU_FAULT_NM;
		return pending ? FPU_FAULT_MF : FPU_OK;
	case FPU_CLASS_SSE:
	case FPU_CLASS_SSE_MMX:
		if ((cr0 & X86_CR0_EM) || !(cr4 & X86_CR4_OSFXSR))
			return FPU_FAULT_UD;
		if (cr0 & X86_CR0_TS)
			return FPU_FAULT_NM;
		if (cls == FPU_CLASS_SSE_MMX && pending)
			return FPU_FAULT_MF;
		return FPU_OK;
	}
	return FPU_FAULT_UD;
}

enum fpu_fault soft_fpu__ldmxcsr(struct soft_fpu *f, uint32_t v)
{
	if (v & ~SOFT_MXCSR_MASK)
		return FPU_FAULT_GP;
	f->mxcsr = v;
	return FPU_OK;
}

/* FCW bit 6 reads as one and bits 13-15 as zero, however it was loaded. */
static uint16_t fcw_fix(uint16_t cw)
{
	return (uint16_t)((cw & 0x1F3F) | 0x0040);
}

/* After loading FCW and FSW, ES and B reflect the unmasked exception
 * flags, whatever the image said (as FLDCW does). */
static void fsw_fix(struct soft_fpu *f)
{
	if (f->fsw & FSW_EXC & ~f->fcw)
		f->fsw |= FSW_ES | FSW_B;
	else
		f->fsw &= (uint16_t)~(FSW_ES | FSW_B);
}

/* 2-bit tag of a non-empty register from its contents. */
static unsigned tag_of(const struct soft_x87_reg *r)
{
	unsigned exp = r->sexp & 0x7FFF;

	if (exp == 0x7FFF)
		return 2;                      /* NaN, infinity */
	if (exp == 0)
		return r->mant ? 2 : 1;        /* denormal : zero */
	return (r->mant >> 63) ? 0 : 2;        /* valid : unnormal */
}

uint16_t soft_fpu__full_tag(const struct soft_fpu *f)
{
	uint16_t t = 0;

	for (unsigned i = 0; i < 8; i++) {
		unsigned tag = (f->ftw & (1u << i)) ? tag_of(&f->st[i]) : 3;

		t |= (uint16_t)(tag << (2 * i));
	}
	return t;
}

uint8_t soft_fpu__abridge_tag(uint16_t full)
{
	uint8_t t = 0;

	for (unsigned i = 0; i < 8; i++)
		if (((full >> (2 * i)) & 3) != 3)
			t |= (uint8_t)(1u << i);
	return t;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Bytes 416..511 are never written: 464..511 belong to software (Linux
 * keeps its signal-frame magic there). */
void soft_fpu__fxsave(const struct soft_fpu *f, uint8_t img[512], bool wide,
		      unsigned nr_xmm)
{
	unsigned top = soft_fpu__top(f);

	memset(img, 0, 160);
	put16(img + 0, f->fcw);
	put16(img + 2, f->fsw);
	img[4] = f->ftw;
	put16(img + 6, f->fop & 0x7FF);
	if (wide) {
		put64(img + 8, f->fip);
		put64(img + 16, f->fdp);
	} else {
		put32(img + 8, (uint32_t)f->fip);
		put16(img + 12, f->fcs);
		put32(img + 16, (uint32_t)f->fdp);
		put16(img + 20, f->fds);
	}
	put32(img + 24, f->mxcsr);
	put32(img + 28, SOFT_MXCSR_MASK);
	for (unsigned i = 0; i < 8; i++)
		memcpy(img + 32 + 16 * i, &f->st[(top + i) & 7], 10);
	if (nr_xmm > 16)
		nr_xmm = 16;
	for (unsigned i = 0; i < nr_xmm; i++)
		memcpy(img + 160 + 16 * i, &f->xmm[i], 16);
}

enum fpu_fault soft_fpu__fxrstor(struct soft_fpu *f, const uint8_t img[512],
				 bool wide, unsigned nr_xmm)
{
	uint32_t mxcsr = get32(img + 24);
	unsigned top;

	if (mxcsr & ~SOFT_MXCSR_MASK)
		return FPU_FAULT_GP;
	f->fcw = fcw_fix(get16(img + 0));
	f->fsw = get16(img + 2);
	f->ftw = img[4];
	f->fop = get16(img + 6) & 0x7FF;
	if (wide) {
		f->fip = get64(img + 8);
		f->fdp = get64(img + 16);
	} else {
		f->fip = get32(img + 8);
		f->fcs = get16(img + 12);
		f->fdp = get32(img + 16);
		f->fds = get16(img + 20);
	}
	f->mxcsr = mxcsr;
	fsw_fix(f);
	top = soft_fpu__top(f);
	for (unsigned i = 0; i < 8; i++) {
		struct soft_x87_reg *r = &f->st[(top + i) & 7];

		memset(r, 0, sizeof(*r));
		memcpy(r, img + 32 + 16 * i, 10);
	}
	if (nr_xmm > 16)
		nr_xmm = 16;
	for (unsigned i = 0; i < nr_xmm; i++)
		memcpy(&f->xmm[i], img + 160 + 16 * i, 16);
	return FPU_OK;
}

unsigned soft_fpu__env_size(bool op32)
{
	return op32 ? 28 : 14;
}

/* Protected-mode layout.  The reserved upper halves read back as ones on
 * Intel parts. */
static void store_env(const struct soft_fpu *f, uint8_t *b, bool op32)
{
	uint16_t tag = soft_fpu__full_tag(f);

	if (op32) {
		put32(b + 0, 0xFFFF0000u | f->fcw);
		put32(b + 4, 0xFFFF0000u | f->fsw);
		put32(b + 8, 0xFFFF0000u | tag);
		put32(b + 12, (uint32_t)f->fip);
		put32(b + 16, f->fcs | ((uint32_t)(f->fop & 0x7FF) << 16));
		put32(b + 20, (uint32_t)f->fdp);
		put32(b + 24, 0xFFFF0000u | f->fds);
	} else {
		put16(b + 0, f->fcw);
		put16(b + 2, f->fsw);
		put16(b + 4, tag);
		put16(b + 6, (uint16_t)f->fip);
		put16(b + 8, f->fcs);
		put16(b + 10, (uint16_t)f->fdp);
		put16(b + 12, f->fds);
	}
}

static void load_env(struct soft_fpu *f, const uint8_t *b, bool op32)
{
	if (op32) {
		f->fcw = fcw_fix(get16(b + 0));
		f->fsw = get16(b + 4);
		f->ftw = soft_fpu__abridge_tag(get16(b + 8));
		f->fip = get32(b + 12);
		f->fcs = get16(b + 16);
		f->fop = get16(b + 18) & 0x7FF;
		f->fdp = get32(b + 20);
		f->fds = get16(b + 24);
	} else {
		f->fcw = fcw_fix(get16(b + 0));
		f->fsw = get16(b + 2);
		f->ftw = soft_fpu__abridge_tag(get16(b + 4));
		f->fip = get16(b + 6);
		f->fcs = get16(b + 8);
		f->fdp = get16(b + 10);
		f->fds = get16(b + 12);
	}
}

void soft_fpu__fnstenv(struct soft_fpu *f, uint8_t *buf, bool op32)
{
	store_env(f, buf, op32);
	f->fcw |= FCW_MASKS;
}

void soft_fpu__fldenv(struct soft_fpu *f, const uint8_t *buf, bool op32)
{
	load_env(f, buf, op32);
	fsw_fix(f);
}

void soft_fpu__fnsave(struct soft_fpu *f, uint8_t *buf, bool op32)
{
	unsigned off = soft_fpu__env_size(op32);

	store_env(f, buf, op32);
	for (unsigned i = 0; i < 8; i++)
		memcpy(buf + off + 10 * i, &f->st[soft_fpu__phys(f, i)], 10);
	soft_fpu__fninit(f);
}

void soft_fpu__frstor(struct soft_fpu *f, const uint8_t *buf, bool op32)
{
	unsigned off = soft_fpu__env_size(op32);

	load_env(f, buf, op32);
	fsw_fix(f);
	for (unsigned i = 0; i < 8; i++) {
		struct soft_x87_reg *r = &f->st[soft_fpu__phys(f, i)];

		memset(r, 0, sizeof(*r));
		memcpy(r, buf + off + 10 * i, 10);
	}
}

/* Flags come from a run with everything masked.  With an unmasked
 * exception the destination is left alone; if it is a pre-computation one
 * (invalid, denormal, divide-by-zero) the post-computation flags were never
 * reached on hardware, so they are not recorded. */
enum fpu_fault sse__commit(struct soft_fpu *f, uint32_t flags, bool osxmmexcpt)
{
	uint32_t unmasked = flags & ~(f->mxcsr >> MXCSR_MASK_SHIFT) & MXCSR_FLAGS;

	if (!unmasked) {
		f->mxcsr |= flags;
		return FPU_OK;
	}
	if (unmasked & (MXCSR_IE | MXCSR_DE | MXCSR_ZE))
		flags &= MXCSR_IE | MXCSR_DE | MXCSR_ZE;
	f->mxcsr |= flags;
	return osxmmexcpt ? FPU_FAULT_XM : FPU_FAULT_SSE_UD;
}
