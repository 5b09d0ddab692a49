/* Differential test of the software CPU against the host CPU: random
 * instruction sequences run natively (native.c) and on the soft CPU
 * (softrun.c) from the same state; difftest.c compares the results.
 *
 * Both runs see the same virtual addresses: the scratch buffer and the code
 * live at fixed addresses natively (MAP_FIXED_NOREPLACE) and are mapped at
 * the same linear addresses in the soft CPU's page tables, so addresses in
 * registers, pushed return addresses and RIP-relative LEAs agree. */
#ifndef VIREO_TESTS_CPU_DIFFTEST_H
#define VIREO_TESTS_CPU_DIFFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DT_SCRATCH_VA   UINT64_C(0x10000000)
#define DT_SCRATCH_SIZE 0x4000u          /* 4 pages: accesses may cross pages */
#define DT_BASE_OFF     0x1000u          /* the base register points here */
#define DT_STACK_OFF    0x3000u          /* initial RSP */
#define DT_CODE_VA      UINT64_C(0x10100000)    /* the sequence starts here */
#define DT_CODE_MAX     0x0f00u          /* bytes of sequence, UD2 included */
#define DT_STUB_VA      (DT_CODE_VA + 0x1000)  /* native entry stub + its data */
#define DT_MAX_INSNS    48

/* GPR numbers: x86 encoding order. */
enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI,
       R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15 };

#define FL_CF 0x001u
#define FL_PF 0x004u
#define FL_AF 0x010u
#define FL_ZF 0x040u
#define FL_SF 0x080u
#define FL_DF 0x400u
#define FL_OF 0x800u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
#define FL_COMPARED (FL_ARITH | FL_DF)

struct dt_state {
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t rflags;
	uint8_t xmm[16][16];
	uint32_t mxcsr;
	/* MMX: MMi is physical x87 register i (TOP is 0 after any MMX
	 * instruction); the exponent word becomes all ones on an MMX write. */
	uint64_t mm[8];
	uint16_t mm_exp[8];
	uint8_t ftw;               /* abridged tag byte */
	uint8_t top;
	int vector;                /* exception that ended the run (6: the UD2) */
	uint8_t mem[DT_SCRATCH_SIZE];
};

struct dt_seq {
	uint8_t code[DT_CODE_MAX];
	unsigned len;              /* bytes, terminating UD2 included */
	unsigned n;
	struct {
		uint16_t off;
		uint8_t len;
		uint16_t tmpl;         /* index into the template table */
		uint16_t poison;       /* flags undefined before this one */
	} insn[DT_MAX_INSNS];
	uint32_t poison;           /* arithmetic flags undefined at the end */
};

/* gen.c */
struct dt_rng {
	uint64_t s;
};
uint64_t dt_rand(struct dt_rng *r);
static inline unsigned dt_below(struct dt_rng *r, unsigned n)
{
	return (unsigned)(dt_rand(r) % n);
}
uint64_t dt_edge_value(struct dt_rng *r);
/* Prepare the generator; `implemented(mnemonic)` says whether the soft CPU
 * has a handler (templates for missing ones are skipped, and listed). */
int dt_gen_init(bool (*implemented)(unsigned mnemonic), bool verbose);
void dt_gen_state(struct dt_rng *r, struct dt_state *st, unsigned base_reg);
/* Fill seq with a random sequence; the caller's state must have been made
 * by dt_gen_state with the same base register. */
void dt_gen_seq(struct dt_rng *r, struct dt_seq *seq, unsigned base_reg, unsigned max_insns);
unsigned dt_gen_pick_base(struct dt_rng *r);
const char *dt_tmpl_name(unsigned tmpl);
/* Coverage: how many times each template was emitted; print a summary. */
void dt_gen_report(void);
bool dt_gen_has_template(unsigned mnemonic);

/* native.c */
int dt_native_init(void);
void dt_native_run(const struct dt_seq *seq, const struct dt_state *in, struct dt_state *out);

/* softrun.c */
int dt_soft_init(void);
void dt_soft_exit(void);
bool dt_soft_implemented(unsigned mnemonic);
/* Print the soft CPU's handlers that no template exercises. */
void dt_soft_list_untested(bool (*has_template)(unsigned mnemonic));
void dt_soft_run(const struct dt_seq *seq, const struct dt_state *in, struct dt_state *out);

#endif
