/* Integer SIMD (MMX/SSE2) semantics in portable C.  Integer operations
 * have no rounding or flags, so unlike the FP side there is nothing to gain
 * from the host unit, and the tests can compare against it. */
#include <string.h>

#include "accel/soft/fpu_ops.h"

static inline int8_t sat8(int v)
{
	return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
}

static inline uint8_t satu8(int v)
{
	return (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
}

static inline int16_t sat16(int32_t v)
{
	return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

static inline uint16_t satu16(int32_t v)
{
	return (uint16_t)(v > 65535 ? 65535 : v < 0 ? 0 : v);
}

/* Interleave the low (hi=false) or high halves of d and s in units of
 * `e` bytes. */
static inline __attribute__((always_inline)) void unpack(union soft_xmm *d, const union soft_xmm *s, unsigned len,
		   unsigned e, bool hi)
{
	union soft_xmm r = { .q = { 0, 0 } };
	unsigned half = len / 2, base = hi ? half : 0;

	for (unsigned i = 0; i < half / e; i++) {
		memcpy(&r.b[2 * i * e], &d->b[base + i * e], e);
		memcpy(&r.b[(2 * i + 1) * e], &s->b[base + i * e], e);
	}
	memcpy(d, &r, len);
}

static inline __attribute__((always_inline)) void shift(enum simd_iop op, union soft_xmm *d, uint64_t count, unsigned len)
{
	unsigned n;

	switch (op) {
	case SIMD_PSLLW: case SIMD_PSRLW: case SIMD_PSRAW:
		n = len / 2;
		for (unsigned i = 0; i < n; i++) {
			if (op == SIMD_PSRAW)
				d->sw[i] = (int16_t)(d->sw[i] >> (count > 15 ? 15 : count));
			else if (count > 15)
				d->w[i] = 0;
			else if (op == SIMD_PSLLW)
				d->w[i] = (uint16_t)(d->w[i] << count);
			else
				d->w[i] = (uint16_t)(d->w[i] >> count);
		}
		break;
	case SIMD_PSLLD: case SIMD_PSRLD: case SIMD_PSRAD:
		n = len / 4;
		for (unsigned i = 0; i < n; i++) {
			if (op == SIMD_PSRAD)
				d->sd[i] = d->sd[i] >> (count > 31 ? 31 : count);
			else if (count > 31)
				d->d[i] = 0;
			else if (op == SIMD_PSLLD)
				d->d[i] <<= count;
			else
				d->d[i] >>= count;
		}
		break;
	default:   /* Q */
		n = len / 8;
		for (unsigned i = 0; i < n; i++) {
			if (count > 63)
				d->q[i] = 0;
			else if (op == SIMD_PSLLQ)
				d->q[i] <<= count;
			else
				d->q[i] >>= count;
		}
		break;
	}
}

/* Instantiated for len = 16 and len = 8 so the lane loops have constant
 * trip counts (the compiler turns them into host SIMD). */
static inline __attribute__((always_inline)) void
iop(enum simd_iop op, union soft_xmm *d, const union soft_xmm *s, unsigned len)
{
	union soft_xmm r;
	unsigned nb = len, nw = len / 2, nd = len / 4, nq = len / 8;

	switch (op) {
	case SIMD_PADDB: for (unsigned i = 0; i < nb; i++) d->b[i] += s->b[i]; break;
	case SIMD_PADDW: for (unsigned i = 0; i < nw; i++) d->w[i] += s->w[i]; break;
	case SIMD_PADDD: for (unsigned i = 0; i < nd; i++) d->d[i] += s->d[i]; break;
	case SIMD_PADDQ: for (unsigned i = 0; i < nq; i++) d->q[i] += s->q[i]; break;
	case SIMD_PSUBB: for (unsigned i = 0; i < nb; i++) d->b[i] -= s->b[i]; break;
	case SIMD_PSUBW: for (unsigned i = 0; i < nw; i++) d->w[i] -= s->w[i]; break;
	case SIMD_PSUBD: for (unsigned i = 0; i < nd; i++) d->d[i] -= s->d[i]; break;
	case SIMD_PSUBQ: for (unsigned i = 0; i < nq; i++) d->q[i] -= s->q[i]; break;
	case SIMD_PADDSB:
		for (unsigned i = 0; i < nb; i++) d->sb[i] = sat8(d->sb[i] + s->sb[i]);
		break;
	case SIMD_PADDSW:
		for (unsigned i = 0; i < nw; i++) d->sw[i] = sat16(d->sw[i] + s->sw[i]);
		break;
	case SIMD_PADDUSB:
		for (unsigned i = 0; i < nb; i++) d->b[i] = satu8(d->b[i] + s->b[i]);
		break;
	case SIMD_PADDUSW:
		for (unsigned i = 0; i < nw; i++) d->w[i] = satu16(d->w[i] + s->w[i]);
		break;
	case SIMD_PSUBSB:
		for (unsigned i = 0; i < nb; i++) d->sb[i] = sat8(d->sb[i] - s->sb[i]);
		break;
	case SIMD_PSUBSW:
		for (unsigned i = 0; i < nw; i++) d->sw[i] = sat16(d->sw[i] - s->sw[i]);
		break;
	case SIMD_PSUBUSB:
		for (unsigned i = 0; i < nb; i++) d->b[i] = satu8(d->b[i] - s->b[i]);
		break;
	case SIMD_PSUBUSW:
		for (unsigned i = 0; i < nw; i++) d->w[i] = satu16(d->w[i] - s->w[i]);
		break;
	case SIMD_PCMPEQB:
		for (unsigned i = 0; i < nb; i++) d->b[i] = d->b[i] == s->b[i] ? 0xFF : 0;
		break;
	case SIMD_PCMPEQW:
		for (unsigned i = 0; i < nw; i++) d->w[i] = d->w[i] == s->w[i] ? 0xFFFF : 0;
		break;
	case SIMD_PCMPEQD:
		for (unsigned i = 0; i < nd; i++) d->d[i] = d->d[i] == s->d[i] ? ~0u : 0;
		break;
	case SIMD_PCMPGTB:
		for (unsigned i = 0; i < nb; i++) d->b[i] = d->sb[i] > s->sb[i] ? 0xFF : 0;
		break;
	case SIMD_PCMPGTW:
		for (unsigned i = 0; i < nw; i++) d->w[i] = d->sw[i] > s->sw[i] ? 0xFFFF : 0;
		break;
	case SIMD_PCMPGTD:
		for (unsigned i = 0; i < nd; i++) d->d[i] = d->sd[i] > s->sd[i] ? ~0u : 0;
		break;
	case SIMD_PMINUB:
		for (unsigned i = 0; i < nb; i++) if (s->b[i] < d->b[i]) d->b[i] = s->b[i];
		break;
	case SIMD_PMAXUB:
		for (unsigned i = 0; i < nb; i++) if (s->b[i] > d->b[i]) d->b[i] = s->b[i];
		break;
	case SIMD_PMINSW:
		for (unsigned i = 0; i < nw; i++) if (s->sw[i] < d->sw[i]) d->sw[i] = s->sw[i];
		break;
	case SIMD_PMAXSW:
		for (unsigned i = 0; i < nw; i++) if (s->sw[i] > d->sw[i]) d->sw[i] = s->sw[i];
		break;
	case SIMD_PAVGB:
		for (unsigned i = 0; i < nb; i++)
			d->b[i] = (uint8_t)((d->b[i] + s->b[i] + 1) >> 1);
		break;
	case SIMD_PAVGW:
		for (unsigned i = 0; i < nw; i++)
			d->w[i] = (uint16_t)((d->w[i] + s->w[i] + 1) >> 1);
		break;
	case SIMD_PSADBW:
		for (unsigned i = 0; i < nq; i++) {
			unsigned sum = 0;

			for (unsigned j = 0; j < 8; j++) {
				int a = d->b[8 * i + j], b = s->b[8 * i + j];

				sum += (unsigned)(a > b ? a - b : b - a);
			}
			d->q[i] = sum;
		}
		break;
	case SIMD_PMULLW:
		for (unsigned i = 0; i < nw; i++)
			d->w[i] = (uint16_t)((int32_t)d->sw[i] * s->sw[i]);
		break;
	case SIMD_PMULHW:
		for (unsigned i = 0; i < nw; i++)
			d->w[i] = (uint16_t)(((int32_t)d->sw[i] * s->sw[i]) >> 16);
		break;
	case SIMD_PMULHUW:
		for (unsigned i = 0; i < nw; i++)
			d->w[i] = (uint16_t)(((uint32_t)d->w[i] * s->w[i]) >> 16);
		break;
	case SIMD_PMULUDQ:
		for (unsigned i = 0; i < nq; i++)
			d->q[i] = (uint64_t)d->d[2 * i] * s->d[2 * i];
		break;
	case SIMD_PMADDWD:
		for (unsigned i = 0; i < nd; i++) {
			int64_t v = (int64_t)d->sw[2 * i] * s->sw[2 * i] +
				    (int64_t)d->sw[2 * i + 1] * s->sw[2 * i + 1];

			d->d[i] = (uint32_t)v;
		}
		break;
	case SIMD_PAND: for (unsigned i = 0; i < nq; i++) d->q[i] &= s->q[i]; break;
	case SIMD_PANDN: for (unsigned i = 0; i < nq; i++) d->q[i] = ~d->q[i] & s->q[i]; break;
	case SIMD_POR: for (unsigned i = 0; i < nq; i++) d->q[i] |= s->q[i]; break;
	case SIMD_PXOR: for (unsigned i = 0; i < nq; i++) d->q[i] ^= s->q[i]; break;
	case SIMD_PUNPCKLBW: unpack(d, s, len, 1, false); break;
	case SIMD_PUNPCKLWD: unpack(d, s, len, 2, false); break;
	case SIMD_PUNPCKLDQ: unpack(d, s, len, 4, false); break;
	case SIMD_PUNPCKLQDQ: unpack(d, s, len, 8, false); break;
	case SIMD_PUNPCKHBW: unpack(d, s, len, 1, true); break;
	case SIMD_PUNPCKHWD: unpack(d, s, len, 2, true); break;
	case SIMD_PUNPCKHDQ: unpack(d, s, len, 4, true); break;
	case SIMD_PUNPCKHQDQ: unpack(d, s, len, 8, true); break;
	case SIMD_PACKSSWB:
		for (unsigned i = 0; i < nw; i++) {
			r.sb[i] = sat8(d->sw[i]);
			r.sb[nw + i] = sat8(s->sw[i]);
		}
		memcpy(d, &r, len);
		break;
	case SIMD_PACKUSWB:
		for (unsigned i = 0; i < nw; i++) {
			r.b[i] = satu8(d->sw[i]);
			r.b[nw + i] = satu8(s->sw[i]);
		}
		memcpy(d, &r, len);
		break;
	case SIMD_PACKSSDW:
		for (unsigned i = 0; i < nd; i++) {
			r.sw[i] = sat16(d->sd[i]);
			r.sw[nd + i] = sat16(s->sd[i]);
		}
		memcpy(d, &r, len);
		break;
	case SIMD_PSLLW: case SIMD_PSLLD: case SIMD_PSLLQ:
	case SIMD_PSRLW: case SIMD_PSRLD: case SIMD_PSRLQ:
	case SIMD_PSRAW: case SIMD_PSRAD:
		shift(op, d, s->q[0], len);
		break;
	case SIMD_IOP_COUNT:
		break;
	}
}

/* GCC vector extensions (not host intrinsics: they compile for any
 * target) for the operations glibc's string functions live on. */
typedef uint8_t v16u8 __attribute__((vector_size(16)));
typedef int8_t v16s8 __attribute__((vector_size(16)));
typedef uint16_t v8u16 __attribute__((vector_size(16)));
typedef int16_t v8s16 __attribute__((vector_size(16)));
typedef uint32_t v4u32 __attribute__((vector_size(16)));
typedef int32_t v4s32 __attribute__((vector_size(16)));
typedef uint64_t v2u64 __attribute__((vector_size(16)));

static bool iop_vec16(enum simd_iop op, union soft_xmm *d, const union soft_xmm *s)
{
	v16u8 a, b, m;
	v8u16 aw, bw;
	v4u32 ad, bd;
	v2u64 aq, bq;

	memcpy(&a, d, 16);
	memcpy(&b, s, 16);
	switch (op) {
	case SIMD_PCMPEQB: a = (v16u8)(a == b); break;
	case SIMD_PXOR: a ^= b; break;
	case SIMD_POR: a |= b; break;
	case SIMD_PAND: a &= b; break;
	case SIMD_PANDN: a = ~a & b; break;
	case SIMD_PADDB: a += b; break;
	case SIMD_PSUBB: a -= b; break;
	case SIMD_PMINUB: m = (v16u8)(b < a); a = (b & m) | (a & ~m); break;
	case SIMD_PMAXUB: m = (v16u8)(b > a); a = (b & m) | (a & ~m); break;
	case SIMD_PCMPGTB: a = (v16u8)((v16s8)a > (v16s8)b); break;
	case SIMD_PCMPEQW: case SIMD_PADDW: case SIMD_PSUBW:
		memcpy(&aw, &a, 16);
		memcpy(&bw, &b, 16);
		aw = op == SIMD_PCMPEQW ? (v8u16)(aw == bw) : op == SIMD_PADDW ? aw + bw : aw - bw;
		memcpy(&a, &aw, 16);
		break;
	case SIMD_PCMPEQD: case SIMD_PADDD: case SIMD_PSUBD:
		memcpy(&ad, &a, 16);
		memcpy(&bd, &b, 16);
		ad = op == SIMD_PCMPEQD ? (v4u32)(ad == bd) : op == SIMD_PADDD ? ad + bd : ad - bd;
		memcpy(&a, &ad, 16);
		break;
	case SIMD_PADDQ: case SIMD_PSUBQ:
		memcpy(&aq, &a, 16);
		memcpy(&bq, &b, 16);
		aq = op == SIMD_PADDQ ? aq + bq : aq - bq;
		memcpy(&a, &aq, 16);
		break;
	default:
		return false;
	}
	memcpy(d, &a, 16);
	return true;
}

void simd__iop(enum simd_iop op, union soft_xmm *d, const union soft_xmm *s, unsigned len)
{
	if (len == 16) {
		if (!iop_vec16(op, d, s))
			iop(op, d, s, 16);
	} else {
		iop(op, d, s, 8);
	}
}

void simd__pslldq(union soft_xmm *d, unsigned imm)
{
	union soft_xmm r = { .q = { 0, 0 } };

	if (imm < 16)
		memcpy(&r.b[imm], d->b, 16 - imm);
	*d = r;
}

void simd__psrldq(union soft_xmm *d, unsigned imm)
{
	union soft_xmm r = { .q = { 0, 0 } };

	if (imm < 16)
		memcpy(r.b, &d->b[imm], 16 - imm);
	*d = r;
}

void simd__pshufd(union soft_xmm *d, const union soft_xmm *s, unsigned imm)
{
	union soft_xmm r;

	for (unsigned i = 0; i < 4; i++)
		r.d[i] = s->d[(imm >> (2 * i)) & 3];
	*d = r;
}

/* Also PSHUFW (MMX): the low quadword only. */
void simd__pshuflw(union soft_xmm *d, const union soft_xmm *s, unsigned imm)
{
	union soft_xmm r;

	for (unsigned i = 0; i < 4; i++)
		r.w[i] = s->w[(imm >> (2 * i)) & 3];
	r.q[1] = s->q[1];
	*d = r;
}

void simd__pshufhw(union soft_xmm *d, const union soft_xmm *s, unsigned imm)
{
	union soft_xmm r;

	r.q[0] = s->q[0];
	for (unsigned i = 0; i < 4; i++)
		r.w[4 + i] = s->w[4 + ((imm >> (2 * i)) & 3)];
	*d = r;
}

void simd__shufps(union soft_xmm *d, const union soft_xmm *s, unsigned imm)
{
	union soft_xmm r;

	r.d[0] = d->d[imm & 3];
	r.d[1] = d->d[(imm >> 2) & 3];
	r.d[2] = s->d[(imm >> 4) & 3];
	r.d[3] = s->d[(imm >> 6) & 3];
	*d = r;
}

void simd__shufpd(union soft_xmm *d, const union soft_xmm *s, unsigned imm)
{
	union soft_xmm r;

	r.q[0] = d->q[imm & 1];
	r.q[1] = s->q[(imm >> 1) & 1];
	*d = r;
}

/* The top bit of each byte of a quadword gathered into 8 bits: the
 * multiply shifts bit 8k+7 to bit 56+k with no carries between them. */
static inline unsigned msb8(uint64_t q)
{
	return (unsigned)(((q & 0x8080808080808080ull) >> 7) * 0x0102040810204080ull >> 56);
}

unsigned simd__pmovmskb(const union soft_xmm *s, unsigned len)
{
	unsigned m = msb8(s->q[0]);

	if (len == 16)
		m |= msb8(s->q[1]) << 8;
	return m;
}

unsigned simd__movmskps(const union soft_xmm *s)
{
	unsigned m = 0;

	for (unsigned i = 0; i < 4; i++)
		m |= (s->d[i] >> 31) << i;
	return m;
}

unsigned simd__movmskpd(const union soft_xmm *s)
{
	return (unsigned)((s->q[0] >> 63) | ((s->q[1] >> 63) << 1));
}
