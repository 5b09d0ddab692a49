/* difftest: random instruction sequences, host CPU vs software CPU.
 *
 *   difftest [--seed S] [--count N] [--max-insns K] [--index I] [--keep-going]
 *            [--verbose] [--dump]
 *
 * Test i of seed S is fully determined by (S, i): `--seed S --index i`
 * replays one failure.  Exit status 0 when every test agreed, 1 otherwise,
 * 2 on set-up errors. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <Zydis/Zydis.h>

#include "difftest.h"
#include "gen.h"

struct opts {
	uint64_t seed;
	unsigned long count;
	unsigned max_insns;
	long index;
	bool keep_going, verbose, dump;
};

static void usage(void)
{
	fprintf(stderr, "usage: difftest [--seed S] [--count N] [--max-insns K] [--index I]\n"
			"                [--keep-going] [--verbose] [--dump]\n");
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .seed = 1, .count = 20000, .max_insns = 8, .index = -1 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--keep-going")) {
			o->keep_going = true;
		} else if (!strcmp(a, "--dump")) {
			o->dump = true;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o->verbose = true;
		} else if (i + 1 < argc && !strcmp(a, "--seed")) {
			o->seed = strtoull(argv[++i], NULL, 0);
		} else if (i + 1 < argc && !strcmp(a, "--count")) {
			o->count = strtoul(argv[++i], NULL, 0);
		} else if (i + 1 < argc && !strcmp(a, "--max-insns")) {
			o->max_insns = (unsigned)strtoul(argv[++i], NULL, 0);
			if (!o->max_insns || o->max_insns > DT_MAX_INSNS / 3)
				usage();
		} else if (i + 1 < argc && !strcmp(a, "--index")) {
			o->index = strtol(argv[++i], NULL, 0);
		} else {
			usage();
		}
	}
}

static const char *const gpr_name[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static void disasm(const struct dt_seq *seq, uint64_t mark_rip)
{
	for (unsigned i = 0; i < seq->n; i++) {
		ZydisDisassembledInstruction d;
		uint64_t va = DT_CODE_VA + seq->insn[i].off;
		char hex[64] = "";

		for (unsigned b = 0; b < seq->insn[i].len && b < 15; b++)
			snprintf(hex + 3 * b, sizeof(hex) - 3 * b, "%02x ", seq->code[seq->insn[i].off + b]);
		if (ZYAN_FAILED(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, va,
						      seq->code + seq->insn[i].off,
						      seq->insn[i].len, &d)))
			strcpy(d.text, "(?)");
		printf("  %s%#" PRIx64 ": %-45s %-40s [%s]\n", va == mark_rip ? "=>" : "  ", va,
		       hex, d.text, dt_tmpl_name(seq->insn[i].tmpl));
	}
	printf("    %#" PRIx64 ": ud2 (end)\n", DT_CODE_VA + seq->len - 2);
}

static void print_state(const char *what, const struct dt_state *s)
{
	printf("  %s: vector %d rip %#" PRIx64 " rflags %#" PRIx64 " mxcsr %#x\n", what,
	       s->vector, s->rip, s->rflags, s->mxcsr);
	for (int i = 0; i < 16; i++)
		printf("    %-3s %016" PRIx64 "%s", gpr_name[i], s->gpr[i], i % 4 == 3 ? "\n" : "");
}

static void print_xmm(const char *what, int i, const uint8_t *x)
{
	uint64_t lo, hi;

	memcpy(&lo, x, 8);
	memcpy(&hi, x + 8, 8);
	printf("    %s xmm%-2d %016" PRIx64 "_%016" PRIx64 "\n", what, i, hi, lo);
}

/* The arithmetic flags undefined where the runs stopped. */
static uint16_t poison_at(const struct dt_seq *seq, uint64_t rip)
{
	for (unsigned i = 0; i < seq->n; i++)
		if (DT_CODE_VA + seq->insn[i].off == rip)
			return seq->insn[i].poison;
	return seq->poison;
}

/* Returns true if the two end states agree. */
static bool compare(const struct dt_seq *seq, const struct dt_state *in,
		    const struct dt_state *nat, const struct dt_state *soft, bool report)
{
	uint64_t fmask = FL_COMPARED & ~(uint64_t)poison_at(seq, nat->rip);
	bool same = nat->vector == soft->vector && nat->rip == soft->rip;

	for (int i = 0; i < 16; i++)
		same &= nat->gpr[i] == soft->gpr[i];
	same &= ((nat->rflags ^ soft->rflags) & fmask) == 0;
	same &= !memcmp(nat->xmm, soft->xmm, sizeof(nat->xmm));
	same &= nat->mxcsr == soft->mxcsr;
	same &= !memcmp(nat->mm, soft->mm, sizeof(nat->mm));
	same &= !memcmp(nat->mm_exp, soft->mm_exp, sizeof(nat->mm_exp));
	same &= nat->ftw == soft->ftw && nat->top == soft->top;
	same &= !memcmp(nat->mem, soft->mem, DT_SCRATCH_SIZE);
	if (same || !report)
		return same;

	printf("MISMATCH\n");
	disasm(seq, nat->rip);
	print_state("initial", in);
	print_state("native ", nat);
	print_state("soft   ", soft);
	printf("  differences:\n");
	if (nat->vector != soft->vector || nat->rip != soft->rip)
		printf("    end: native vector %d at %#" PRIx64 ", soft vector %d at %#" PRIx64
		       "%s\n", nat->vector, nat->rip, soft->vector, soft->rip,
		       soft->vector == 6 && soft->rip != nat->rip ?
		       " (soft #UD: unimplemented form?)" : "");
	for (int i = 0; i < 16; i++)
		if (nat->gpr[i] != soft->gpr[i])
			printf("    %s native %016" PRIx64 " soft %016" PRIx64 "\n", gpr_name[i],
			       nat->gpr[i], soft->gpr[i]);
	if ((nat->rflags ^ soft->rflags) & fmask)
		printf("    rflags native %#" PRIx64 " soft %#" PRIx64 " (compared bits %#" PRIx64
		       ")\n", nat->rflags & fmask, soft->rflags & fmask, fmask);
	for (int i = 0; i < 16; i++)
		if (memcmp(nat->xmm[i], soft->xmm[i], 16)) {
			print_xmm("native", i, nat->xmm[i]);
			print_xmm("soft  ", i, soft->xmm[i]);
		}
	if (nat->mxcsr != soft->mxcsr)
		printf("    mxcsr native %#x soft %#x\n", nat->mxcsr, soft->mxcsr);
	for (int i = 0; i < 8; i++)
		if (nat->mm[i] != soft->mm[i] || nat->mm_exp[i] != soft->mm_exp[i])
			printf("    mm%d native %04x:%016" PRIx64 " soft %04x:%016" PRIx64 "\n", i,
			       nat->mm_exp[i], nat->mm[i], soft->mm_exp[i], soft->mm[i]);
	if (nat->ftw != soft->ftw || nat->top != soft->top)
		printf("    x87 tags/TOP native %#x/%u soft %#x/%u\n", nat->ftw, nat->top,
		       soft->ftw, soft->top);
	for (unsigned off = 0, shown = 0; off < DT_SCRATCH_SIZE && shown < 8; off++) {
		if (nat->mem[off] == soft->mem[off])
			continue;
		printf("    mem %#" PRIx64 ": native %02x soft %02x (initial %02x)\n",
		       DT_SCRATCH_VA + off, nat->mem[off], soft->mem[off], in->mem[off]);
		shown++;
	}
	return false;
}

static struct dt_state st_in, st_nat, st_soft;

int main(int argc, char **argv)
{
	struct opts o;
	struct dt_seq seq;
	unsigned long failures = 0, first, last, ran = 0, ends[33] = { 0 };
	time_t t0 = time(NULL);

	parse(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (dt_soft_init() || dt_native_init()) {
		fprintf(stderr, "difftest: set-up failed\n");
		return 2;
	}
	if (dt_gen_init(dt_soft_implemented, o.verbose)) {
		fprintf(stderr, "difftest: the soft CPU implements none of the templates\n");
		return 2;
	}
	first = o.index >= 0 ? (unsigned long)o.index : 0;
	last = o.index >= 0 ? first + 1 : o.count;
	printf("difftest: seed %" PRIu64 ", tests %lu..%lu, up to %u instructions each\n",
	       o.seed, first, last - 1, o.max_insns);
	for (unsigned long i = first; i < last; i++) {
		struct dt_rng r = { o.seed * 0x9e3779b97f4a7c15ull + i * 0xd1b54a32d192ed03ull };
		unsigned base = dt_gen_pick_base(&r);

		dt_gen_state(&r, &st_in, base);
		dt_gen_seq(&r, &seq, base, o.max_insns);
		if (o.dump) {
			printf("test %lu:\n", i);
			disasm(&seq, 0);
		}
		dt_native_run(&seq, &st_in, &st_nat);
		dt_soft_run(&seq, &st_in, &st_soft);
		ran++;
		ends[st_nat.vector >= 0 && st_nat.vector < 32 ? st_nat.vector : 32]++;
		if (compare(&seq, &st_in, &st_nat, &st_soft, false))
			continue;
		failures++;
		printf("\n--- test %lu (replay: difftest --seed %" PRIu64 " --index %lu)\n", i,
		       o.seed, i);
		compare(&seq, &st_in, &st_nat, &st_soft, true);
		if (!o.keep_going)
			break;
	}
	if (o.verbose) {
		dt_gen_report();
		dt_soft_list_untested(dt_gen_has_template);
	}
	printf("difftest: runs ended by vector:");
	for (int v = 0; v < 33; v++)
		if (ends[v])
			printf(" %s%d=%lu", v == 32 ? "other" : "#", v, ends[v]);
	printf(" (6 = the final UD2)\n");
	printf("difftest: %lu tests, %lu mismatches, %ld s\n", ran, failures,
	       (long)(time(NULL) - t0));
	dt_soft_exit();
	return failures ? 1 : 0;
}
