/* SSE/SSE2/MMX semantics of the software CPU (src/accel/soft/sse_*.c)
 * compared bit for bit with the host executing the same instruction. */
#include <criterion/criterion.h>
#include <emmintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "accel/soft/fpu_ops.h"

/* ---- deterministic inputs ---------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd64(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

/* Byte patterns hitting saturation and sign edges in every lane width. */
static const uint64_t edge_q[] = {
	0, ~0ull, 0x8000000000000000ull, 0x7FFFFFFFFFFFFFFFull,
	0x8080808080808080ull, 0x7F7F7F7F7F7F7F7Full, 0x0101010101010101ull,
	0x8000800080008000ull, 0x7FFF7FFF7FFF7FFFull, 0x8000000080000000ull,
	0x7FFFFFFF7FFFFFFFull, 0xFF00FF00FF00FF00ull, 0x00FF00FF00FF00FFull,
	0x0001000100010001ull, 0xFFFF0000FFFF0000ull, 0x0123456789ABCDEFull,
};
#define NR_EDGE (sizeof(edge_q) / sizeof(edge_q[0]))

static void fill(union soft_xmm *v, unsigned i)
{
	if (i < NR_EDGE * NR_EDGE) {
		v->q[0] = edge_q[i % NR_EDGE];
		v->q[1] = edge_q[(i / NR_EDGE) % NR_EDGE];
	} else {
		v->q[0] = rnd64();
		v->q[1] = rnd64();
	}
}

/* ---- host references ---------------------------------------------------- */

typedef void (*host_xmm_fn)(union soft_xmm *d, const union soft_xmm *s);
typedef void (*host_mmx_fn)(uint64_t *d, uint64_t s);

#define HOST_OP(name, insn)                                                 \
	static void hx_##name(union soft_xmm *d, const union soft_xmm *s)   \
	{                                                                   \
		__m128i a, b;                                               \
		memcpy(&a, d, 16);                                          \
		memcpy(&b, s, 16);                                          \
		asm(insn " %1, %0" : "+x"(a) : "x"(b));                     \
		memcpy(d, &a, 16);                                          \
	}                                                                   \
	static void hm_##name(uint64_t *d, uint64_t s)                      \
	{                                                                   \
		asm volatile("movq %0, %%mm0\n\tmovq %1, %%mm1\n\t"         \
			     insn " %%mm1, %%mm0\n\tmovq %%mm0, %0\n\temms" \
			     : "+m"(*d) : "m"(s) : "mm0", "mm1");           \
	}

/* SSE2-only ones (no MMX form). */
#define HOST_OPX(name, insn)                                                \
	static void hx_##name(union soft_xmm *d, const union soft_xmm *s)   \
	{                                                                   \
		__m128i a, b;                                               \
		memcpy(&a, d, 16);                                          \
		memcpy(&b, s, 16);                                          \
		asm(insn " %1, %0" : "+x"(a) : "x"(b));                     \
		memcpy(d, &a, 16);                                          \
	}

HOST_OP(paddb, "paddb") HOST_OP(paddw, "paddw") HOST_OP(paddd, "paddd")
HOST_OP(paddq, "paddq") HOST_OP(psubb, "psubb") HOST_OP(psubw, "psubw")
HOST_OP(psubd, "psubd") HOST_OP(psubq, "psubq") HOST_OP(paddsb, "paddsb")
HOST_OP(paddsw, "paddsw") HOST_OP(paddusb, "paddusb") HOST_OP(paddusw, "paddusw")
HOST_OP(psubsb, "psubsb") HOST_OP(psubsw, "psubsw") HOST_OP(psubusb, "psubusb")
HOST_OP(psubusw, "psubusw") HOST_OP(pcmpeqb, "pcmpeqb") HOST_OP(pcmpeqw, "pcmpeqw")
HOST_OP(pcmpeqd, "pcmpeqd") HOST_OP(pcmpgtb, "pcmpgtb") HOST_OP(pcmpgtw, "pcmpgtw")
HOST_OP(pcmpgtd, "pcmpgtd") HOST_OP(pminub, "pminub") HOST_OP(pmaxub, "pmaxub")
HOST_OP(pminsw, "pminsw") HOST_OP(pmaxsw, "pmaxsw") HOST_OP(pavgb, "pavgb")
HOST_OP(pavgw, "pavgw") HOST_OP(psadbw, "psadbw") HOST_OP(pmullw, "pmullw")
HOST_OP(pmulhw, "pmulhw") HOST_OP(pmulhuw, "pmulhuw") HOST_OP(pmuludq, "pmuludq")
HOST_OP(pmaddwd, "pmaddwd") HOST_OP(pand, "pand") HOST_OP(pandn, "pandn")
HOST_OP(por, "por") HOST_OP(pxor, "pxor") HOST_OP(punpcklbw, "punpcklbw")
HOST_OP(punpcklwd, "punpcklwd") HOST_OP(punpckldq, "punpckldq")
HOST_OPX(punpcklqdq, "punpcklqdq") HOST_OP(punpckhbw, "punpckhbw")
HOST_OP(punpckhwd, "punpckhwd") HOST_OP(punpckhdq, "punpckhdq")
HOST_OPX(punpckhqdq, "punpckhqdq") HOST_OP(packsswb, "packsswb")
HOST_OP(packssdw, "packssdw") HOST_OP(packuswb, "packuswb")
HOST_OP(psllw, "psllw") HOST_OP(pslld, "pslld") HOST_OP(psllq, "psllq")
HOST_OP(psrlw, "psrlw") HOST_OP(psrld, "psrld") HOST_OP(psrlq, "psrlq")
HOST_OP(psraw, "psraw") HOST_OP(psrad, "psrad")

static const struct {
	enum simd_iop op;
	const char *name;
	host_xmm_fn x;
	host_mmx_fn m;   /* NULL: no MMX form */
	bool shift;
} iops[] = {
#define E(o, n) { SIMD_##o, #n, hx_##n, hm_##n, false }
#define EX(o, n) { SIMD_##o, #n, hx_##n, NULL, false }
#define ES(o, n) { SIMD_##o, #n, hx_##n, hm_##n, true }
	E(PADDB, paddb), E(PADDW, paddw), E(PADDD, paddd), E(PADDQ, paddq),
	E(PSUBB, psubb), E(PSUBW, psubw), E(PSUBD, psubd), E(PSUBQ, psubq),
	E(PADDSB, paddsb), E(PADDSW, paddsw), E(PADDUSB, paddusb), E(PADDUSW, paddusw),
	E(PSUBSB, psubsb), E(PSUBSW, psubsw), E(PSUBUSB, psubusb), E(PSUBUSW, psubusw),
	E(PCMPEQB, pcmpeqb), E(PCMPEQW, pcmpeqw), E(PCMPEQD, pcmpeqd),
	E(PCMPGTB, pcmpgtb), E(PCMPGTW, pcmpgtw), E(PCMPGTD, pcmpgtd),
	E(PMINUB, pminub), E(PMAXUB, pmaxub), E(PMINSW, pminsw), E(PMAXSW, pmaxsw),
	E(PAVGB, pavgb), E(PAVGW, pavgw), E(PSADBW, psadbw),
	E(PMULLW, pmullw), E(PMULHW, pmulhw), E(PMULHUW, pmulhuw),
	E(PMULUDQ, pmuludq), E(PMADDWD, pmaddwd),
	E(PAND, pand), E(PANDN, pandn), E(POR, por), E(PXOR, pxor),
	E(PUNPCKLBW, punpcklbw), E(PUNPCKLWD, punpcklwd), E(PUNPCKLDQ, punpckldq),
	EX(PUNPCKLQDQ, punpcklqdq), E(PUNPCKHBW, punpckhbw), E(PUNPCKHWD, punpckhwd),
	E(PUNPCKHDQ, punpckhdq), EX(PUNPCKHQDQ, punpckhqdq),
	E(PACKSSWB, packsswb), E(PACKSSDW, packssdw), E(PACKUSWB, packuswb),
	ES(PSLLW, psllw), ES(PSLLD, pslld), ES(PSLLQ, psllq),
	ES(PSRLW, psrlw), ES(PSRLD, psrld), ES(PSRLQ, psrlq),
	ES(PSRAW, psraw), ES(PSRAD, psrad),
#undef E
#undef EX
#undef ES
};

static const uint64_t shift_counts[] = {
	0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 256,
	0x100000001ull, 0x8000000000000000ull, ~0ull,
};

Test(soft_sse, integer_ops_match_host_xmm_and_mmx)
{
	unsigned n = NR_EDGE * NR_EDGE + 200;

	cr_assert_eq(sizeof(iops) / sizeof(iops[0]), SIMD_IOP_COUNT,
		     "every integer op has a host reference");
	for (unsigned k = 0; k < sizeof(iops) / sizeof(iops[0]); k++) {
		for (unsigned i = 0; i < n; i++) {
			union soft_xmm a, b, want, got;
			uint64_t wm;

			fill(&a, i);
			fill(&b, i * 7 + 3);
			if (iops[k].shift) {
				b.q[0] = shift_counts[i % (sizeof(shift_counts) / sizeof(shift_counts[0]))];
				b.q[1] = rnd64();
			}
			want = a;
			iops[k].x(&want, &b);
			got = a;
			simd__iop(iops[k].op, &got, &b, 16);
			cr_assert(!memcmp(&want, &got, 16),
				  "%s xmm: a=%016lx%016lx b=%016lx%016lx want %016lx%016lx got %016lx%016lx",
				  iops[k].name, a.q[1], a.q[0], b.q[1], b.q[0],
				  want.q[1], want.q[0], got.q[1], got.q[0]);
			if (!iops[k].m)
				continue;
			wm = a.q[0];
			iops[k].m(&wm, b.q[0]);
			got = a;
			simd__iop(iops[k].op, &got, &b, 8);
			cr_assert_eq(got.q[0], wm, "%s mmx: a=%016lx b=%016lx want %016lx got %016lx",
				     iops[k].name, a.q[0], b.q[0], wm, got.q[0]);
		}
	}
}

#define IMM_CASES(X) X(0) X(1) X(2) X(3) X(7) X(8) X(15) X(16) X(17) X(0x1B) X(0x4E) X(0xB1) X(0xE4) X(0xFF)

static void host_imm(const char *what, unsigned imm, union soft_xmm *d, const union soft_xmm *s)
{
	__m128i a, b;

	memcpy(&a, d, 16);
	memcpy(&b, s, 16);
#define H(insn, i) if (!strcmp(what, insn) && imm == i) asm(insn " $" #i ", %1, %0" : "+x"(a) : "x"(b));
#define HS(insn, i) if (!strcmp(what, insn) && imm == i) asm(insn " $" #i ", %0" : "+x"(a));
#define ALL(i) H("pshufd", i) H("pshuflw", i) H("pshufhw", i) H("shufps", i) H("shufpd", i) \
	HS("pslldq", i) HS("psrldq", i)
	IMM_CASES(ALL)
#undef ALL
#undef H
#undef HS
	memcpy(d, &a, 16);
}

Test(soft_sse, shuffles_and_byte_shifts_match_host)
{
	static const unsigned imms[] = { 0, 1, 2, 3, 7, 8, 15, 16, 17, 0x1B, 0x4E, 0xB1, 0xE4, 0xFF };
	static const char *const names[] = {
		"pshufd", "pshuflw", "pshufhw", "shufps", "shufpd", "pslldq", "psrldq",
	};

	for (unsigned t = 0; t < 20; t++) {
		union soft_xmm a, b;

		a.q[0] = rnd64(); a.q[1] = rnd64();
		b.q[0] = rnd64(); b.q[1] = rnd64();
		for (unsigned k = 0; k < sizeof(imms) / sizeof(imms[0]); k++) {
			for (unsigned n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
				union soft_xmm want = a, got = a;

				host_imm(names[n], imms[k], &want, &b);
				switch (n) {
				case 0: simd__pshufd(&got, &b, imms[k]); break;
				case 1: simd__pshuflw(&got, &b, imms[k]); break;
				case 2: simd__pshufhw(&got, &b, imms[k]); break;
				case 3: simd__shufps(&got, &b, imms[k]); break;
				case 4: simd__shufpd(&got, &b, imms[k]); break;
				case 5: simd__pslldq(&got, imms[k]); break;
				default: simd__psrldq(&got, imms[k]); break;
				}
				cr_assert(!memcmp(&want, &got, 16), "%s $%u", names[n], imms[k]);
			}
		}
	}
}

Test(soft_sse, movemasks_match_host)
{
	for (unsigned i = 0; i < NR_EDGE * NR_EDGE + 100; i++) {
		union soft_xmm a;
		__m128i v;
		int want;

		fill(&a, i);
		memcpy(&v, &a, 16);
		asm("pmovmskb %1, %0" : "=r"(want) : "x"(v));
		cr_assert_eq(simd__pmovmskb(&a, 16), (unsigned)want);
		cr_assert_eq(simd__pmovmskb(&a, 8), (unsigned)want & 0xFF);
		asm("movmskps %1, %0" : "=r"(want) : "x"(v));
		cr_assert_eq(simd__movmskps(&a), (unsigned)want);
		asm("movmskpd %1, %0" : "=r"(want) : "x"(v));
		cr_assert_eq(simd__movmskpd(&a), (unsigned)want);
	}
}
