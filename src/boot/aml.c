/* AML byte builder (ACPI 6.4, chapter 20 "ACPI Machine Language
 * Specification"). */
#include <errno.h>
#include <string.h>

#include "boot/aml.h"

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

long aml_finish(struct aml *a)
{
	if (!a->err && a->depth)
		a->err = -EINVAL;
	return a->err ? a->err : (long)a->len;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err)
		return;
	if (n > a->cap - a->len) {
		a->err = -ENOSPC;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static int aml_seg_char_ok(char c, int first)
{
	if (c == '_' || (c >= 'A' && c <= 'Z'))
		return 1;
	return !first && c >= '0' && c <= '9';
}

/* One NameSeg from s (up to '.' or NUL); returns chars consumed or -1. */
static int aml_seg(struct aml *a, const char *s)
{
	char seg[4] = { '_', '_', '_', '_' };
	int n = 0;

	while (s[n] && s[n] != '.') {
		if (n == 4 || !aml_seg_char_ok(s[n], n == 0))
			return -1;
		seg[n] = s[n];
		n++;
	}
	if (n == 0)
		return -1;
	aml_bytes(a, seg, 4);
	return n;
}

void aml_namestring(struct aml *a, const char *name)
{
	int nseg = 1;

	if (*name == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		name++;
	}
	for (const char *p = name; *p; p++)
		nseg += *p == '.';
	if (nseg == 2) {
		aml_byte(a, AML_DUAL_PREFIX);
	} else if (nseg > 2) {
		aml_byte(a, AML_MULTI_PREFIX);
		aml_byte(a, (uint8_t)nseg);
	}
	for (int i = 0; i < nseg; i++) {
		int n = aml_seg(a, name);

		if (n < 0) {
			if (!a->err)
				a->err = -EINVAL;
			return;
		}
		name += n + (name[n] == '.');
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	size_t n;

	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
		return;
	}
	if (v == 1) {
		aml_byte(a, AML_ONE_OP);
		return;
	}
	if (v <= 0xff) {
		b[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= 0xffff) {
		b[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= 0xffffffffull) {
		b[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		b[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n + 1);
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7f) {
			if (!a->err)
				a->err = -EINVAL;
			return;
		}
	}
	aml_bytes(a, s, strlen(s) + 1);
}

static int aml_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint32_t aml_eisaid_value(const char *id)
{
	uint32_t v = 0;
	int d;

	if (strlen(id) != 7)
		return 0;
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return 0;
	}
	v |= (uint32_t)((id[0] - 0x40) << 2 | (id[1] - 0x40) >> 3);
	v |= (uint32_t)(((id[1] - 0x40) & 7) << 5 | (id[2] - 0x40)) << 8;
	for (int i = 0; i < 4; i++) {
		d = aml_hex(id[3 + i]);
		if (d < 0)
			return 0;
		/* Hex digits 0,1 form byte 2 and digits 2,3 byte 3. */
		v |= (uint32_t)d << (16 + 8 * (i / 2) + 4 * (1 - i % 2));
	}
	return v;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = aml_eisaid_value(id);

	if (!v && !a->err)
		a->err = -EINVAL;
	/* Always a DWordConst, as ASL compilers emit it. */
	aml_byte(a, AML_DWORD_PREFIX);
	for (int i = 0; i < 4; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
}

static void aml_open(struct aml *a)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		a->err = -EINVAL;
		return;
	}
	a->open[a->depth++] = a->len;
}

/* PkgLength counts its own 1-4 bytes; the body is moved up to make room
 * once its size is known. */
void aml_end(struct aml *a)
{
	size_t pos, body, total, nb;
	uint8_t enc[4];

	if (a->err)
		return;
	if (a->depth == 0) {
		a->err = -EINVAL;
		return;
	}
	pos = a->open[--a->depth];
	body = a->len - pos;
	if (body + 1 < 0x40) {
		nb = 1;
		enc[0] = (uint8_t)(body + 1);
	} else {
		for (nb = 2; nb <= 4; nb++) {
			total = body + nb;
			if (total < (1ull << (4 + 8 * (nb - 1))))
				break;
		}
		if (nb > 4) {
			a->err = -ENOSPC;
			return;
		}
		total = body + nb;
		enc[0] = (uint8_t)((nb - 1) << 6 | (total & 0xf));
		for (size_t i = 1; i < nb; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (nb > a->cap - a->len) {
		a->err = -ENOSPC;
		return;
	}
	memmove(a->buf + pos + nb, a->buf + pos, body);
	memcpy(a->buf + pos, enc, nb);
	a->len += nb;
}

void aml_scope_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_SCOPE_OP);
	aml_open(a);
	aml_namestring(a, name);
}

void aml_device_begin(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	aml_open(a);
	aml_namestring(a, name);
}

void aml_package_begin(struct aml *a, uint8_t nelems)
{
	aml_byte(a, AML_PACKAGE_OP);
	aml_open(a);
	aml_byte(a, nelems);
}

void aml_buffer(struct aml *a, const void *data, size_t len)
{
	aml_byte(a, AML_BUFFER_OP);
	aml_open(a);
	aml_integer(a, len);
	aml_bytes(a, data, len);
	aml_end(a);
}

/* Resource descriptors */

static void res_bytes(struct aml_res *r, const uint8_t *p, size_t n)
{
	if (r->err)
		return;
	if (n > sizeof(r->buf) - r->len) {
		r->err = -ENOSPC;
		return;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

#define RES_GFLAGS_PRODUCER_FIXED 0x0C  /* _MAF | _MIF, positive decode, producer */

/* Word Address Space Descriptor (6.4.3.5.3) */
static void res_word_space(struct aml_res *r, uint8_t type, uint8_t tflags, uint16_t min,
			   uint16_t max)
{
	uint8_t d[16] = { 0x88, 13, 0, type, RES_GFLAGS_PRODUCER_FIXED, tflags };

	put16(d + 6, 0);                          /* granularity */
	put16(d + 8, min);
	put16(d + 10, max);
	put16(d + 12, 0);                         /* translation */
	put16(d + 14, (uint16_t)(max - min + 1));
	res_bytes(r, d, sizeof(d));
}

void aml_res_word_bus(struct aml_res *r, uint16_t min, uint16_t max)
{
	res_word_space(r, 2, 0, min, max);
}

void aml_res_word_io(struct aml_res *r, uint16_t min, uint16_t max)
{
	res_word_space(r, 1, 3 /* _RNG: ISA and non-ISA */, min, max);
}

/* I/O Port Descriptor (6.4.2.5), 16-bit decode */
void aml_res_io(struct aml_res *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	uint8_t d[8] = { 0x47, 1 };

	put16(d + 2, min);
	put16(d + 4, max);
	d[6] = align;
	d[7] = len;
	res_bytes(r, d, sizeof(d));
}

/* DWord Address Space Descriptor (6.4.3.5.2), memory, non-cacheable, RW */
void aml_res_dword_mem(struct aml_res *r, uint32_t min, uint32_t max)
{
	uint8_t d[26] = { 0x87, 23, 0, 0, RES_GFLAGS_PRODUCER_FIXED, 1 };

	put32(d + 6, 0);
	put32(d + 10, min);
	put32(d + 14, max);
	put32(d + 18, 0);
	put32(d + 22, max - min + 1);
	res_bytes(r, d, sizeof(d));
}

/* 32-Bit Fixed Memory Range Descriptor (6.4.3.4), RW */
void aml_res_mem32_fixed(struct aml_res *r, uint32_t base, uint32_t len)
{
	uint8_t d[12] = { 0x86, 9, 0, 1 };

	put32(d + 4, base);
	put32(d + 8, len);
	res_bytes(r, d, sizeof(d));
}

void aml_res_end(struct aml_res *r)
{
	/* A zero checksum byte means "treat as correct". */
	static const uint8_t d[2] = { 0x79, 0 };

	res_bytes(r, d, sizeof(d));
}

void aml_name_res(struct aml *a, const char *name, struct aml_res *r)
{
	if (r->err && !a->err)
		a->err = r->err;
	aml_name(a, name);
	aml_buffer(a, r->buf, r->len);
}
