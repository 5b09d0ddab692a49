/* A tiny AML (ACPI Machine Language) byte builder: enough for a static DSDT
 * made of names, integers, strings, packages, buffers, scopes and devices.
 * No methods.  Errors (overflow, unbalanced nesting, bad names) are sticky
 * and reported once by aml_finish, so callers can build without checking
 * every call. */
#ifndef VIREO_BOOT_AML_H
#define VIREO_BOOT_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

struct aml {
	uint8_t *buf;
	size_t cap, len;
	int err;
	int depth;
	size_t open[AML_MAX_DEPTH];  /* where each open PkgLength goes */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
/* Returns the length built, or the first error (-ENOSPC, -EINVAL). */
long aml_finish(struct aml *a);

void aml_bytes(struct aml *a, const void *p, size_t n);
/* NameString: "\\_S5_", "_SB_", "\\_SB_.PCI0": segments of 1-4 chars,
 * padded with '_'. */
void aml_namestring(struct aml *a, const char *name);
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0A08") -> its 32-bit compressed form, as an integer. */
void aml_eisaid(struct aml *a, const char *id);
uint32_t aml_eisaid_value(const char *id);

/* Name(name, <object>): emit the NameOp and name; the caller then emits
 * exactly one data object. */
void aml_name(struct aml *a, const char *name);

/* Nested objects: *_begin opens a PkgLength, aml_end closes the innermost. */
void aml_scope_begin(struct aml *a, const char *name);
void aml_device_begin(struct aml *a, const char *name);
void aml_package_begin(struct aml *a, uint8_t nelems);
void aml_buffer(struct aml *a, const void *data, size_t len);
void aml_end(struct aml *a);

/* Resource template descriptors (ACPI 6.x, 6.4), appended to a byte array
 * that later becomes a Buffer. */
struct aml_res {
	uint8_t buf[256];
	size_t len;
	int err;
};
void aml_res_word_bus(struct aml_res *r, uint16_t min, uint16_t max);
void aml_res_io(struct aml_res *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_word_io(struct aml_res *r, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml_res *r, uint32_t min, uint32_t max);
void aml_res_mem32_fixed(struct aml_res *r, uint32_t base, uint32_t len);
void aml_res_end(struct aml_res *r);
/* Name(name, ResourceTemplate(){...}) */
void aml_name_res(struct aml *a, const char *name, struct aml_res *r);

/* Opcodes the tests' decoder also needs. */
#define AML_ZERO_OP      0x00
#define AML_ONE_OP       0x01
#define AML_NAME_OP      0x08
#define AML_BYTE_PREFIX  0x0A
#define AML_WORD_PREFIX  0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_QWORD_PREFIX 0x0E
#define AML_SCOPE_OP     0x10
#define AML_BUFFER_OP    0x11
#define AML_PACKAGE_OP   0x12
#define AML_ONES_OP      0xFF
#define AML_EXT_PREFIX   0x5B
#define AML_DEVICE_OP    0x82  /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR    '\\'
#define AML_DUAL_PREFIX  0x2E
#define AML_MULTI_PREFIX 0x2F

#endif
