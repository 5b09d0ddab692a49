/* String instructions (MOVS STOS LODS SCAS CMPS INS OUTS, with REP/REPE/
 * REPNE) and port I/O (IN OUT).
 *
 * A REP instruction runs at most REP_CHUNK iterations per execution and
 * then re-executes itself (next_rip = rip), so a 1 GiB memset still lets
 * the run loop see kicks and interrupts; registers are updated after every
 * element, which makes a fault in the middle restartable as on hardware.
 * Forward REP MOVS/STOS on RAM copy page-sized runs through host pointers. */
#include "accel/soft/ops.h"
#include "vm/bus.h"
#include "vm/vm.h"

#define REP_CHUNK 65536

enum str_kind { S_MOVS, S_STOS, S_LODS, S_SCAS, S_CMPS, S_INS, S_OUTS };

static inline uint64_t areg(const struct soft_cpu *cpu, unsigned r, uint64_t am)
{
	return cpu->gpr[r] & am;
}

static inline void areg_set(struct soft_cpu *cpu, unsigned r, uint64_t am, uint64_t v)
{
	if (am == 0xffffffffull)
		cpu->gpr[r] = (uint32_t)v;
	else
		cpu->gpr[r] = (cpu->gpr[r] & ~am) | (v & am);
}

static inline uint64_t lin_of(const struct soft_cpu *cpu, unsigned seg, uint64_t off)
{
	if (cpu->lm64)
		return seg >= SOFT_FS ? cpu->seg[seg].base + off : off;
	return (uint32_t)(cpu->seg[seg].base + off);
}

/* Page-run fast path for forward REP MOVS/STOS: returns elements done. */
static uint64_t fast_run(struct soft_cpu *cpu, const struct soft_insn *in, enum str_kind k,
			 unsigned size, uint64_t am, uint64_t count)
{
	uint64_t di = areg(cpu, SOFT_RDI, am), si = areg(cpu, SOFT_RSI, am);
	uint64_t dla = lin_of(cpu, SOFT_ES, di), sla = lin_of(cpu, in->mem.seg, si);
	uint64_t room = 4096 - (dla & 0xfff), n;
	uint8_t *d, *s = NULL;
	int r;

	if (k == S_MOVS && 4096 - (sla & 0xfff) < room)
		room = 4096 - (sla & 0xfff);
	n = room / size;
	if (n > count)
		n = count;
	/* stay inside the address-size wrap */
	if (n == 0 || di + n * size - 1 > am || (k == S_MOVS && si + n * size - 1 > am))
		return 0;
	if (k == S_MOVS) {
		s = soft_mem_host(cpu, in->mem.seg, si, (unsigned)(n * size), SOFT_ACC_READ, &r);
		if (!s)
			return 0;   /* MMIO or fault: the slow path redoes it properly */
	}
	d = soft_mem_host(cpu, SOFT_ES, di, (unsigned)(n * size), SOFT_ACC_WRITE, &r);
	if (!d)
		return 0;
	if (k == S_MOVS) {
		if (d > s && d < s + n * size) {
			/* Overlap with the destination above the source: hardware
			 * copies element by element going forward, so each element
			 * is read whole before it is stored (not byte by byte). */
			for (uint64_t i = 0; i < n * size; i += size) {
				uint64_t t;

				memcpy(&t, s + i, size);
				memcpy(d + i, &t, size);
			}
		} else {
			memmove(d, s, n * size);
		}
		areg_set(cpu, SOFT_RSI, am, si + n * size);
	} else {
		uint64_t v = cpu->gpr[SOFT_RAX];

		switch (size) {
		case 1: memset(d, (uint8_t)v, n); break;
		case 2: for (uint64_t i = 0; i < n; i++) memcpy(d + i * 2, &v, 2); break;
		case 4: for (uint64_t i = 0; i < n; i++) memcpy(d + i * 4, &v, 4); break;
		default: for (uint64_t i = 0; i < n; i++) memcpy(d + i * 8, &v, 8); break;
		}
	}
	areg_set(cpu, SOFT_RDI, am, di + n * size);
	return n;
}

static uint16_t io_port(const struct soft_cpu *cpu)
{
	return (uint16_t)cpu->gpr[SOFT_RDX];
}

static int string_op(struct soft_cpu *cpu, const struct soft_insn *in, enum str_kind k)
{
	unsigned size = in->opsize;
	uint64_t am = soft_size_mask(in->addrsize);
	bool rep = in->prefix & (SOFT_PFX_REP | SOFT_PFX_REPNE);
	bool df = cpu->rflags & SOFT_FL_DF;
	int64_t step = df ? -(int64_t)size : (int64_t)size;
	uint64_t count = rep ? areg(cpu, SOFT_RCX, am) : 1, done = 0;
	int r;

	if (k == S_INS || k == S_OUTS) {
		if ((r = soft_io_check(cpu, io_port(cpu), size)))
			return r;
	}
	while (count && done < REP_CHUNK) {
		uint64_t v = 0, w = 0;

		if (rep && !df && (k == S_MOVS || k == S_STOS) && count > 1) {
			uint64_t n = fast_run(cpu, in, k, size, am, count < REP_CHUNK ? count : REP_CHUNK);

			if (n) {
				count -= n;
				done += n;
				areg_set(cpu, SOFT_RCX, am, count);
				continue;
			}
		}
		switch (k) {
		case S_MOVS:
			if ((r = soft_mem_read(cpu, in->mem.seg, areg(cpu, SOFT_RSI, am), &v, size)) ||
			    (r = soft_mem_write(cpu, SOFT_ES, areg(cpu, SOFT_RDI, am), &v, size)))
				return r;
			break;
		case S_STOS:
			v = cpu->gpr[SOFT_RAX];
			if ((r = soft_mem_write(cpu, SOFT_ES, areg(cpu, SOFT_RDI, am), &v, size)))
				return r;
			break;
		case S_LODS:
			if ((r = soft_mem_read(cpu, in->mem.seg, areg(cpu, SOFT_RSI, am), &v, size)))
				return r;
			soft_gpr_set(cpu, SOFT_RAX, size, v);
			break;
		case S_SCAS:
			if ((r = soft_mem_read(cpu, SOFT_ES, areg(cpu, SOFT_RDI, am), &w, size)))
				return r;
			v = cpu->gpr[SOFT_RAX] & soft_size_mask(size);
			set_cc(cpu, SOFT_CC_SUB, size, v, w, v - w);
			break;
		case S_CMPS:
			if ((r = soft_mem_read(cpu, in->mem.seg, areg(cpu, SOFT_RSI, am), &v, size)) ||
			    (r = soft_mem_read(cpu, SOFT_ES, areg(cpu, SOFT_RDI, am), &w, size)))
				return r;
			set_cc(cpu, SOFT_CC_SUB, size, v, w, v - w);
			break;
		case S_INS:
			/* probe the destination first so a fault does not lose the port read */
			if ((r = soft_mem_write(cpu, SOFT_ES, areg(cpu, SOFT_RDI, am), &v, size)))
				return r;
			bus__read(&cpu->vm->pio, io_port(cpu), &v, size);
			if ((r = soft_mem_write(cpu, SOFT_ES, areg(cpu, SOFT_RDI, am), &v, size)))
				return r;
			break;
		case S_OUTS:
			if ((r = soft_mem_read(cpu, in->mem.seg, areg(cpu, SOFT_RSI, am), &v, size)))
				return r;
			bus__write(&cpu->vm->pio, io_port(cpu), &v, size);
			break;
		}
		if (k == S_MOVS || k == S_LODS || k == S_CMPS || k == S_OUTS)
			areg_set(cpu, SOFT_RSI, am, areg(cpu, SOFT_RSI, am) + (uint64_t)step);
		if (k != S_LODS && k != S_OUTS)
			areg_set(cpu, SOFT_RDI, am, areg(cpu, SOFT_RDI, am) + (uint64_t)step);
		done++;
		if (!rep)
			return SOFT_OK;
		count--;
		areg_set(cpu, SOFT_RCX, am, count);
		if (k == S_SCAS || k == S_CMPS) {
			bool zf = soft_flags__cond(cpu, 4);

			if ((in->prefix & SOFT_PFX_REPNE) ? zf : !zf)
				return SOFT_OK;
		}
	}
	if (count)
		cpu->next_rip = cpu->rip;   /* more to do: run this instruction again */
	return SOFT_OK;
}

#define STR_HANDLER(name, k) \
	static int name(struct soft_cpu *cpu, const struct soft_insn *in) { return string_op(cpu, in, k); }
STR_HANDLER(op_movs, S_MOVS)
STR_HANDLER(op_stos, S_STOS)
STR_HANDLER(op_lods, S_LODS)
STR_HANDLER(op_scas, S_SCAS)
STR_HANDLER(op_cmps, S_CMPS)
STR_HANDLER(op_ins, S_INS)
STR_HANDLER(op_outs, S_OUTS)

static int op_in(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint16_t port = in->op[1].kind == SOFT_OPK_IMM ? (uint8_t)in->imm : io_port(cpu);
	unsigned size = in->op[0].size;
	uint64_t v = 0;
	int r = soft_io_check(cpu, port, size);

	if (r)
		return r;
	bus__read(&cpu->vm->pio, port, &v, size);
	soft_gpr_write(cpu, &in->op[0], v);
	return SOFT_OK;
}

static int op_out(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint16_t port = in->op[0].kind == SOFT_OPK_IMM ? (uint8_t)in->imm : io_port(cpu);
	unsigned size = in->op[1].size;
	uint64_t v = soft_gpr_read(cpu, &in->op[1]);
	int r = soft_io_check(cpu, port, size);

	if (r)
		return r;
	bus__write(&cpu->vm->pio, port, &v, size);
	return SOFT_OK;
}

void soft_ops_string__register(struct soft_vm *svm)
{
	soft_exec__register(svm, ZYDIS_MNEMONIC_MOVSB, op_movs);
	soft_exec__register(svm, ZYDIS_MNEMONIC_MOVSW, op_movs);
	soft_exec__register(svm, SOFT_MNEM_MOVSD_STR, op_movs);
	soft_exec__register(svm, ZYDIS_MNEMONIC_MOVSQ, op_movs);
	soft_exec__register(svm, ZYDIS_MNEMONIC_STOSB, op_stos);
	soft_exec__register(svm, ZYDIS_MNEMONIC_STOSW, op_stos);
	soft_exec__register(svm, ZYDIS_MNEMONIC_STOSD, op_stos);
	soft_exec__register(svm, ZYDIS_MNEMONIC_STOSQ, op_stos);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LODSB, op_lods);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LODSW, op_lods);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LODSD, op_lods);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LODSQ, op_lods);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SCASB, op_scas);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SCASW, op_scas);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SCASD, op_scas);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SCASQ, op_scas);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMPSB, op_cmps);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMPSW, op_cmps);
	soft_exec__register(svm, SOFT_MNEM_CMPSD_STR, op_cmps);
	soft_exec__register(svm, ZYDIS_MNEMONIC_CMPSQ, op_cmps);
	soft_exec__register(svm, ZYDIS_MNEMONIC_INSB, op_ins);
	soft_exec__register(svm, ZYDIS_MNEMONIC_INSW, op_ins);
	soft_exec__register(svm, ZYDIS_MNEMONIC_INSD, op_ins);
	soft_exec__register(svm, ZYDIS_MNEMONIC_OUTSB, op_outs);
	soft_exec__register(svm, ZYDIS_MNEMONIC_OUTSW, op_outs);
	soft_exec__register(svm, ZYDIS_MNEMONIC_OUTSD, op_outs);
	soft_exec__register(svm, ZYDIS_MNEMONIC_IN, op_in);
	soft_exec__register(svm, ZYDIS_MNEMONIC_OUT, op_out);
}
