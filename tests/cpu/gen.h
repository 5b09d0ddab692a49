/* Generator internals: the instruction templates (gen_table.c) and the
 * engine that turns them into bytes (gen.c). */
#ifndef VIREO_TESTS_CPU_GEN_H
#define VIREO_TESTS_CPU_GEN_H

#include <stdint.h>

#include <Zydis/Zydis.h>

#include "difftest.h"

#define S8  1u
#define S16 2u
#define S32 4u
#define S64 8u
#define SALL (S8 | S16 | S32 | S64)
#define SWDQ (S16 | S32 | S64)

enum tmpl_kind {
	K_NORMAL,       /* operands from `ops`, encoded by Zydis */
	K_SHIFT,        /* SHL/SAL/SHR/SAR: count chosen here, flags by count */
	K_ROT,          /* ROL/ROR */
	K_RCX,          /* RCL/RCR */
	K_SHXD,         /* SHLD/SHRD */
	K_DIV,          /* DIV/IDIV with a dividend set-up most of the time */
	K_JCC,          /* Jcc over the next instruction; aux = cc, 0x10 = rel32 */
	K_JMP,          /* JMP over it; aux 1 = rel32 */
	K_CALL,         /* CALL over it */
	K_RET,          /* LEA target; PUSH; RET [imm16] */
	K_LOOP,         /* LOOP/LOOPE/LOOPNE/JRCXZ over it; aux = opcode */
	K_STR,          /* string op; aux = opcode, size from the template */
	K_ENTER,        /* ENTER n, 0/1; an instruction; LEAVE */
	K_LDMXCSR,      /* store a plausible MXCSR value, then LDMXCSR */
	K_MASKMOV,      /* LEA RDI into scratch; MASKMOVDQU */
	K_PUSH,         /* PUSH (stack accounting) */
	K_POP,          /* POP */
	K_XLAT,         /* RBX into the scratch buffer; XLAT */
	K_SETUP,        /* pseudo template for set-up instructions */
	K_FLAGDEF,      /* pseudo: CMP that makes the flags defined again */
};

/* template flags */
#define TF_LOCK   0x01   /* LOCK allowed when operand 0 is memory */
#define TF_SSE    0x02   /* 16-byte memory operands must be aligned */
#define TF_REP    0x04   /* string op may take REP */
#define TF_REPCC  0x08   /* ... REPE/REPNE */

struct tmpl {
	const char *name;
	unsigned mnem;          /* dispatch-table index checked for "implemented" */
	const char *ops;        /* comma-separated operand tokens, see gen.c */
	uint8_t sizes;          /* operand sizes to choose from (bytes mask) */
	uint8_t kind;
	uint8_t tflags;
	uint8_t aux;
	uint16_t fr, fw, fu;    /* arithmetic flags read / written / left undefined */
	/* filled at init */
	bool enabled;
	unsigned long emitted;
};

extern struct tmpl dt_tmpl[];
extern const unsigned dt_ntmpl;
extern const unsigned dt_tmpl_setup, dt_tmpl_flagdef;

/* Flags read by condition code cc (Jcc/SETcc/CMOVcc encoding order). */
uint16_t dt_cc_flags(unsigned cc);

/* Generator state for one sequence (gen.c, gen_special.c). */
struct gen {
	struct dt_rng *r;
	struct dt_seq *seq;
	unsigned base;
	unsigned protect;       /* GPRs that must not be written (bitmask) */
	int rsp_off;            /* RSP - (scratch + DT_STACK_OFF) */
	uint16_t poison;        /* arithmetic flags undefined now */
	bool full;              /* no room left */
};

bool gen_put(struct gen *g, const uint8_t *b, unsigned n, unsigned tmpl);
void gen_req_init(ZydisEncoderRequest *req, ZydisMnemonic m);
bool gen_encode(struct gen *g, const ZydisEncoderRequest *req, unsigned tmpl);
ZydisRegister gen_gpr(unsigned n, unsigned size);
void gen_op_reg(ZydisEncoderOperand *op, ZydisRegister reg);
void gen_op_imm(ZydisEncoderOperand *op, int64_t v);
unsigned gen_pick_writable(struct gen *g);
bool gen_setup_mov(struct gen *g, unsigned reg, int32_t v);
bool gen_setup_lea(struct gen *g, unsigned reg, int32_t disp);
bool gen_mem(struct gen *g, ZydisEncoderOperand *op, unsigned size, unsigned align);
void gen_flags_after(struct gen *g, uint16_t fw, uint16_t fu);
bool gen_emit_flagdef(struct gen *g);
bool gen_emit_inner(struct gen *g);
bool gen_emit_template(struct gen *g, unsigned ti);
bool gen_emit_special(struct gen *g, unsigned ti);
bool gen_emit_operands(struct gen *g, unsigned ti);

#endif
