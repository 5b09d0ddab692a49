/* SSE/SSE2 floating point of the software CPU: host-run operations under
 * the guest MXCSR (src/accel/soft/sse_host.c) checked against independent
 * references (C arithmetic under <fenv.h>, IEEE known answers), plus the
 * MXCSR masking rules (sse__commit) and host-state hygiene. */
#include <criterion/criterion.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "accel/soft/fpu_ops.h"

#define RC_N 0u
#define RC_D 1u
#define RC_U 2u
#define RC_Z 3u

static uint32_t mx(unsigned rc)
{
	return MXCSR_DEFAULT | (rc << MXCSR_RC_SHIFT);
}

static const int fe_rc[] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };

static uint32_t host_mxcsr(void)
{
	uint32_t v;

	asm volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static float f32(uint32_t bits) { float f; memcpy(&f, &bits, 4); return f; }
static uint32_t b32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
static double f64(uint64_t bits) { double d; memcpy(&d, &bits, 8); return d; }
static uint64_t b64(double d) { uint64_t b; memcpy(&b, &d, 8); return b; }

static const uint32_t edge32[] = {
	0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x3F800000,
	0xBF800000, 0x40400000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000,
	0x7FC00000, 0x7F800001, 0xFFC12345, 0x3EAAAAAB, 0x4B800001, 0x33800000,
	0x0C000000, 0x72000000,
};
static const uint64_t edge64[] = {
	0, 0x8000000000000000ull, 1, 0x800FFFFFFFFFFFFFull, 0x0010000000000000ull,
	0x3FF0000000000000ull, 0xBFF0000000000000ull, 0x4008000000000000ull,
	0x7FEFFFFFFFFFFFFFull, 0x7FF0000000000000ull, 0xFFF0000000000000ull,
	0x7FF8000000000000ull, 0x7FF0000000000001ull, 0x3CA0000000000000ull,
	0x4340000000000001ull, 0x0100000000000000ull, 0x7E00000000000000ull,
};
#define N32 (sizeof(edge32) / sizeof(edge32[0]))
#define N64 (sizeof(edge64) / sizeof(edge64[0]))

/* fetestexcept/feclearexcept ignore DE: use MXCSR directly. */
static void c_clear(void)
{
	uint32_t v = host_mxcsr() & ~MXCSR_FLAGS;

	asm volatile("ldmxcsr %0" : : "m"(v));
}

static uint32_t c_flags(void)
{
	return host_mxcsr() & MXCSR_FLAGS;
}

/* Scalar single ops against C arithmetic under the same rounding mode
 * (square root: the host instruction, C's sqrtf may take a libm path). */
Test(soft_sse_fp, scalar_single_matches_c_under_every_rounding_mode)
{
	static const enum sse_op ops[] = { SSE_ADDSS, SSE_SUBSS, SSE_MULSS, SSE_DIVSS, SSE_SQRTSS };

	for (unsigned rc = 0; rc < 4; rc++) {
		for (unsigned i = 0; i < N32; i++) {
			for (unsigned j = 0; j < N32; j++) {
				for (unsigned k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
					volatile float a = f32(edge32[i]), b = f32(edge32[j]), r;
					union soft_xmm d = { .d = { edge32[i], 0x11111111, 0x22222222, 0x33333333 } };
					union soft_xmm s = { .d = { edge32[j], 0x44444444, 0x55555555, 0x66666666 } };
					uint32_t flags, want_flags;

					fesetround(fe_rc[rc]);
					c_clear();
					switch (ops[k]) {
					case SSE_ADDSS: r = a + b; break;
					case SSE_SUBSS: r = a - b; break;
					case SSE_MULSS: r = a * b; break;
					case SSE_DIVSS: r = a / b; break;
					default: { float t = b; asm volatile("sqrtss %0, %0" : "+x"(t)); r = t; break; }
					}
					want_flags = c_flags();
					fesetround(FE_TONEAREST);
					flags = sse_host__op(ops[k], mx(rc), &d, &s);
					if (isnan(r))   /* C may pick either NaN; x86 picks the first */
						cr_assert(isnan(f32(d.d[0])));
					else
						cr_assert_eq(d.d[0], b32(r), "op %u rc %u %08x %08x: %08x vs %08x",
							     ops[k], rc, edge32[i], edge32[j], d.d[0], b32(r));
					cr_assert_eq(flags, want_flags, "op %u rc %u %08x %08x flags %x vs %x",
						     ops[k], rc, edge32[i], edge32[j], flags, want_flags);
					cr_assert_eq(d.d[1], 0x11111111u, "upper lanes kept");
					cr_assert_eq(d.d[3], 0x33333333u);
				}
			}
		}
	}
}

Test(soft_sse_fp, scalar_double_matches_c_under_every_rounding_mode)
{
	static const enum sse_op ops[] = { SSE_ADDSD, SSE_SUBSD, SSE_MULSD, SSE_DIVSD, SSE_SQRTSD };

	for (unsigned rc = 0; rc < 4; rc++) {
		for (unsigned i = 0; i < N64; i++) {
			for (unsigned j = 0; j < N64; j++) {
				for (unsigned k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
					volatile double a = f64(edge64[i]), b = f64(edge64[j]), r;
					union soft_xmm d = { .q = { edge64[i], 0x1234 } };
					union soft_xmm s = { .q = { edge64[j], 0x5678 } };
					uint32_t flags, want_flags;

					fesetround(fe_rc[rc]);
					c_clear();
					switch (ops[k]) {
					case SSE_ADDSD: r = a + b; break;
					case SSE_SUBSD: r = a - b; break;
					case SSE_MULSD: r = a * b; break;
					case SSE_DIVSD: r = a / b; break;
					default: { double t = b; asm volatile("sqrtsd %0, %0" : "+x"(t)); r = t; break; }
					}
					want_flags = c_flags();
					fesetround(FE_TONEAREST);
					flags = sse_host__op(ops[k], mx(rc), &d, &s);
					if (isnan(r))
						cr_assert(isnan(f64(d.q[0])));
					else
						cr_assert_eq(d.q[0], b64(r), "op %u rc %u %016lx %016lx: %016lx vs %016lx",
							     ops[k], rc, edge64[i], edge64[j], d.q[0], b64(r));
					cr_assert_eq(flags, want_flags, "op %u rc %u %016lx %016lx",
						     ops[k], rc, edge64[i], edge64[j]);
					cr_assert_eq(d.q[1], 0x1234u);
				}
			}
		}
	}
}

Test(soft_sse_fp, one_third_rounds_by_mxcsr_rc)
{
	static const uint32_t want_s[4] = { 0x3EAAAAAB, 0x3EAAAAAA, 0x3EAAAAAB, 0x3EAAAAAA };
	static const uint32_t want_neg[4] = { 0xBEAAAAAB, 0xBEAAAAAB, 0xBEAAAAAA, 0xBEAAAAAA };
	static const uint64_t want_d[4] = {
		0x3FD5555555555555ull, 0x3FD5555555555555ull,
		0x3FD5555555555556ull, 0x3FD5555555555555ull,
	};

	for (unsigned rc = 0; rc < 4; rc++) {
		union soft_xmm d = { .fs = { 1.0f, 1.0f, -1.0f, 2.0f } }, s = { .fs = { 3.0f, 3.0f, 3.0f, 3.0f } };
		uint32_t flags = sse_host__op(SSE_DIVPS, mx(rc), &d, &s);

		cr_assert_eq(d.d[0], want_s[rc]);
		cr_assert_eq(d.d[2], want_neg[rc], "negative rounds the other way");
		cr_assert_eq(flags, MXCSR_PE);
		d.fd[0] = 1.0;
		d.fd[1] = 1.0;
		s.fd[0] = 3.0;
		s.fd[1] = 3.0;
		flags = sse_host__op(SSE_DIVPD, mx(rc), &d, &s);
		cr_assert_eq(d.q[0], want_d[rc]);
		cr_assert_eq(flags, MXCSR_PE);
	}
}

Test(soft_sse_fp, daz_ftz_and_host_mxcsr_untouched)
{
	uint32_t before = host_mxcsr();
	/* smallest denormal * 1: DE without DAZ, zero and no DE with DAZ */
	union soft_xmm d = { .d = { 0x00000001 } }, s = { .fs = { 1.0f } };
	uint32_t flags = sse_host__op(SSE_MULSS, MXCSR_DEFAULT, &d, &s);

	cr_assert_eq(d.d[0], 1u);
	cr_assert_eq(flags, MXCSR_DE);
	d.d[0] = 1;
	flags = sse_host__op(SSE_MULSS, MXCSR_DEFAULT | MXCSR_DAZ, &d, &s);
	cr_assert_eq(d.d[0], 0u);
	cr_assert_eq(flags, 0u);
	/* tiny product: denormal result, or zero with FTZ */
	d.fs[0] = 1e-30f;
	s.fs[0] = 1e-15f;
	flags = sse_host__op(SSE_MULSS, MXCSR_DEFAULT, &d, &s);
	cr_assert(d.d[0] != 0 && d.d[0] < 0x00800000);
	cr_assert_eq(flags, MXCSR_UE | MXCSR_PE);
	d.fs[0] = 1e-30f;
	flags = sse_host__op(SSE_MULSS, MXCSR_DEFAULT | MXCSR_FZ, &d, &s);
	cr_assert_eq(d.d[0], 0u);
	cr_assert_eq(flags, MXCSR_UE | MXCSR_PE);
	/* all exceptions unmasked in the guest: the host must not trap */
	d.fs[0] = 1.0f;
	s.fs[0] = 0.0f;
	flags = sse_host__op(SSE_DIVSS, MXCSR_FZ | MXCSR_DAZ | (RC_U << MXCSR_RC_SHIFT), &d, &s);
	cr_assert_eq(flags, MXCSR_ZE);
	cr_assert_eq(d.d[0], 0x7F800000u);
	cr_assert_eq(host_mxcsr(), before, "host MXCSR restored");
}

Test(soft_sse_fp, commit_applies_masks)
{
	struct soft_fpu f;

	soft_fpu__reset(&f);
	cr_assert_eq(sse__commit(&f, MXCSR_PE | MXCSR_ZE, true), FPU_OK);
	cr_assert_eq(f.mxcsr, MXCSR_DEFAULT | MXCSR_PE | MXCSR_ZE);
	f.mxcsr = MXCSR_DEFAULT & ~(MXCSR_ZE << MXCSR_MASK_SHIFT);
	cr_assert_eq(sse__commit(&f, MXCSR_ZE, true), FPU_FAULT_XM);
	cr_assert_eq(f.mxcsr & MXCSR_FLAGS, MXCSR_ZE);
	cr_assert_eq(sse__commit(&f, MXCSR_ZE, false), FPU_FAULT_SSE_UD);
	/* unmasked pre-computation exception hides post-computation flags */
	f.mxcsr = MXCSR_DEFAULT & ~(MXCSR_IE << MXCSR_MASK_SHIFT);
	cr_assert_eq(sse__commit(&f, MXCSR_IE | MXCSR_PE, true), FPU_FAULT_XM);
	cr_assert_eq(f.mxcsr & MXCSR_FLAGS, MXCSR_IE);
	/* masked flags only: no fault even if other exceptions are unmasked */
	f.mxcsr = MXCSR_DEFAULT & ~(MXCSR_OE << MXCSR_MASK_SHIFT);
	cr_assert_eq(sse__commit(&f, MXCSR_PE, true), FPU_OK);
}

static bool pred(unsigned p, double a, double b)
{
	bool un = isnan(a) || isnan(b);

	switch (p) {
	case 0: return !un && a == b;
	case 1: return !un && a < b;
	case 2: return !un && a <= b;
	case 3: return un;
	case 4: return un || a != b;
	case 5: return un || !(a < b);
	case 6: return un || !(a <= b);
	default: return !un;
	}
}

static bool is_snan32(uint32_t v)
{
	return (v & 0x7F800000) == 0x7F800000 && (v & 0x7FFFFF) && !(v & 0x400000);
}

Test(soft_sse_fp, compare_predicates_and_comi_flags)
{
	for (unsigned i = 0; i < N32; i++) {
		for (unsigned j = 0; j < N32; j++) {
			float a = f32(edge32[i]), b = f32(edge32[j]);
			bool un = isnan(a) || isnan(b);
			bool snan = is_snan32(edge32[i]) || is_snan32(edge32[j]);
			unsigned zpc;

			for (unsigned p = 0; p < 8; p++) {
				union soft_xmm d = { .d = { edge32[i], 7, 8, 9 } }, s = { .d = { edge32[j] } };
				bool signalling = p == 1 || p == 2 || p == 5 || p == 6;
				uint32_t flags = sse_host__cmp(SSE_CMPSS, p, MXCSR_DEFAULT, &d, &s);
				uint32_t want_ie = snan || (un && signalling) ? MXCSR_IE : 0;

				cr_assert_eq(d.d[0], pred(p, a, b) ? ~0u : 0u, "cmpss %u %08x %08x", p,
					     edge32[i], edge32[j]);
				cr_assert_eq(d.d[1], 7u);
				cr_assert_eq(flags & MXCSR_IE, want_ie);
			}
			sse_host__comi(SSE_UCOMISS, MXCSR_DEFAULT, &(union soft_xmm){ .fs = { a } },
				       &(union soft_xmm){ .fs = { b } }, &zpc);
			if (un)
				cr_assert_eq(zpc, X87_ZPC_ZF | X87_ZPC_PF | X87_ZPC_CF);
			else if (a < b)
				cr_assert_eq(zpc, X87_ZPC_CF);
			else if (a == b)
				cr_assert_eq(zpc, X87_ZPC_ZF);
			else
				cr_assert_eq(zpc, 0u);
			cr_assert_eq(sse_host__comi(SSE_COMISS, MXCSR_DEFAULT,
						    &(union soft_xmm){ .fs = { a } },
						    &(union soft_xmm){ .fs = { b } }, &zpc) & MXCSR_IE,
				     un ? MXCSR_IE : 0u, "COMISS signals on QNaN");
		}
	}
}

Test(soft_sse_fp, float_to_int_rounding_and_indefinite)
{
	static const struct { double v; int64_t n, d, u, z; } c[] = {
		{ 2.5, 2, 2, 3, 2 }, { -2.5, -2, -3, -2, -2 }, { 3.5, 4, 3, 4, 3 },
		{ -0.4, 0, -1, 0, 0 }, { 1e10, 10000000000, 10000000000, 10000000000, 10000000000 },
	};
	uint64_t out;

	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const int64_t want[4] = { c[i].n, c[i].d, c[i].u, c[i].z };

		for (unsigned rc = 0; rc < 4; rc++) {
			union soft_xmm s = { .fd = { c[i].v } };

			sse_host__cvt_f2i(true, false, true, mx(rc), &s, &out);
			cr_assert_eq((int64_t)out, want[rc]);
			sse_host__cvt_f2i(true, true, true, mx(rc), &s, &out);
			cr_assert_eq((int64_t)out, c[i].z, "truncating form ignores RC");
			s.fs[0] = (float)c[i].v;
			sse_host__cvt_f2i(false, false, true, mx(rc), &s, &out);
			cr_assert_eq((int64_t)out, want[rc]);
		}
	}
	/* out of range and NaN: integer indefinite with IE */
	cr_assert_eq(sse_host__cvt_f2i(true, false, false, MXCSR_DEFAULT,
				       &(union soft_xmm){ .fd = { 1e10 } }, &out), MXCSR_IE);
	cr_assert_eq(out, 0x80000000u);
	cr_assert_eq(sse_host__cvt_f2i(false, true, true, MXCSR_DEFAULT,
				       &(union soft_xmm){ .d = { 0x7FC00000 } }, &out), MXCSR_IE);
	cr_assert_eq(out, 0x8000000000000000ull);
	/* int -> float rounding: 2^24 + 1 is not representable */
	for (unsigned rc = 0; rc < 4; rc++) {
		union soft_xmm d = { .d = { 0, 0xAAAA, 0xBBBB, 0xCCCC } };
		uint32_t flags = sse_host__cvt_i2f(false, false, mx(rc), &d, 16777217);

		cr_assert_eq(d.fs[0], rc == RC_U ? 16777218.0f : 16777216.0f);
		cr_assert_eq(flags, MXCSR_PE);
		cr_assert_eq(d.d[1], 0xAAAAu);
		flags = sse_host__cvt_i2f(true, true, mx(rc), &d, (uint64_t)INT64_MIN);
		cr_assert_eq(d.fd[0], -9223372036854775808.0);
		cr_assert_eq(flags, 0u);
	}
}

Test(soft_sse_fp, packed_conversions)
{
	union soft_xmm d = { .q = { ~0ull, ~0ull } }, s = { .sd = { 1, -2, INT32_MAX, INT32_MIN } };
	uint32_t flags = sse_host__op(SSE_CVTDQ2PD, MXCSR_DEFAULT, &d, &s);

	cr_assert_eq(d.fd[0], 1.0);
	cr_assert_eq(d.fd[1], -2.0);
	cr_assert_eq(flags, 0u);
	d.q[0] = d.q[1] = ~0ull;
	flags = sse_host__op(SSE_CVTDQ2PS, MXCSR_DEFAULT, &d, &s);
	cr_assert_eq(d.fs[2], 2147483648.0f);
	cr_assert_eq(flags, MXCSR_PE);
	s.fd[0] = 1.5;
	s.fd[1] = 1e300;
	flags = sse_host__op(SSE_CVTPD2PS, MXCSR_DEFAULT, &d, &s);
	cr_assert_eq(d.fs[0], 1.5f);
	cr_assert_eq(d.d[1], 0x7F800000u);
	cr_assert_eq(d.q[1], 0u, "upper half zeroed");
	cr_assert_eq(flags, MXCSR_OE | MXCSR_PE);
	s.fs[0] = -1.5f; s.fs[1] = 2.5f; s.fs[2] = 3e9f; s.fs[3] = 0.5f;
	flags = sse_host__op(SSE_CVTPS2DQ, MXCSR_DEFAULT, &d, &s);
	cr_assert_eq(d.sd[0], -2);
	cr_assert_eq(d.sd[1], 2);
	cr_assert_eq(d.d[2], 0x80000000u);
	cr_assert_eq(flags, MXCSR_IE | MXCSR_PE);
	flags = sse_host__op(SSE_CVTTPS2DQ, MXCSR_DEFAULT, &d, &s);
	cr_assert_eq(d.sd[0], -1);
	cr_assert_eq(d.sd[1], 2);
}
