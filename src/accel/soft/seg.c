/* Segmentation: descriptor tables, segment register loads with the
 * protected-mode checks, and the instructions that only move descriptors
 * around (MOV/POP Sreg, LDS..LSS, LGDT/LIDT/SGDT/SIDT, LLDT/LTR/SLDT/STR,
 * LAR/LSL/VERR/VERW).  Far transfers are in modes.c. */
#include "accel/soft/sys.h"
#include "util/log.h"

#define DESC_TYPE(d)  ((unsigned)((d) >> 40) & 0xf)
#define DESC_S(d)     ((unsigned)((d) >> 44) & 1)
#define DESC_DPL(d)   ((unsigned)((d) >> 45) & 3)
#define DESC_P(d)     ((unsigned)((d) >> 47) & 1)
#define DESC_L(d)     ((unsigned)((d) >> 53) & 1)
#define DESC_DB(d)    ((unsigned)((d) >> 54) & 1)
#define TYPE_CODE     0x8u
#define TYPE_CONFORM  0x4u   /* code */
#define TYPE_READ     0x2u   /* code */
#define TYPE_WRITE    0x2u   /* data */
#define TYPE_ACCESSED 0x1u

static uint64_t desc_base(uint64_t d)
{
	return ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
}

void soft_seg__decode(uint64_t d, uint16_t sel, struct soft_seg *s)
{
	uint32_t limit = (uint32_t)(d & 0xffff) | (uint32_t)((d >> 32) & 0xf0000);

	s->g = (d >> 55) & 1;
	if (s->g)
		limit = limit << 12 | 0xfff;
	s->limit = limit;
	s->base = desc_base(d);
	s->sel = sel;
	s->type = (uint8_t)DESC_TYPE(d);
	s->s = (uint8_t)DESC_S(d);
	s->dpl = (uint8_t)DESC_DPL(d);
	s->present = (uint8_t)DESC_P(d);
	s->avl = (d >> 52) & 1;
	s->l = (uint8_t)DESC_L(d);
	s->db = (uint8_t)DESC_DB(d);
	s->unusable = 0;
}

int soft_seg__read_desc(struct soft_cpu *cpu, uint16_t sel, uint64_t *desc, int exc_vector)
{
	uint64_t base, idx = sel & ~7u;
	uint32_t limit;

	if (sel & 4) {
		const struct soft_seg *ldt = &cpu->seg[SOFT_LDTR];

		if (ldt->unusable || !ldt->present)
			return soft_raise(cpu, exc_vector, sel & 0xfffc);
		base = ldt->base;
		limit = ldt->limit;
	} else {
		base = cpu->gdtr.base;
		limit = cpu->gdtr.limit;
	}
	if (idx + 7 > limit)
		return soft_raise(cpu, exc_vector, sel & 0xfffc);
	return soft_lin_read(cpu, base + idx, desc, 8, SOFT_ACC_READ | SOFT_ACC_SUPER);
}

int soft_seg__set_accessed(struct soft_cpu *cpu, uint16_t sel, uint64_t desc)
{
	uint64_t base = (sel & 4) ? cpu->seg[SOFT_LDTR].base : cpu->gdtr.base;
	uint8_t b;

	/* Only when clear: Linux maps its GDT read-only and presets the bit. */
	if (desc & (1ull << 40))
		return SOFT_OK;
	b = (uint8_t)(desc >> 40) | TYPE_ACCESSED;
	return soft_lin_write(cpu, base + (sel & ~7u) + 5, &b, 1, SOFT_ACC_WRITE | SOFT_ACC_SUPER);
}

void soft_seg__load_null(struct soft_cpu *cpu, unsigned seg, uint16_t sel)
{
	struct soft_seg *s = &cpu->seg[seg];

	/* FS/GS keep their base in 64-bit mode (Intel); others are unusable. */
	s->sel = sel;
	s->unusable = 1;
	s->present = 0;
	if (!cpu->lm64 || (seg != SOFT_FS && seg != SOFT_GS))
		s->base = 0;
	if (seg == SOFT_SS)
		s->dpl = sel & 3;
}

void soft_seg__load_real(struct soft_cpu *cpu, unsigned seg, uint16_t sel)
{
	struct soft_seg *s = &cpu->seg[seg];

	s->sel = sel;
	s->base = (uint64_t)sel << 4;
	s->unusable = 0;
	s->present = 1;
	if (cpu->rflags & SOFT_FL_VM) {
		s->limit = 0xffff;
		s->dpl = 3;
		s->type = seg == SOFT_CS ? 0xb : 0x3;
		s->s = 1;
		s->db = 0;
		s->g = 0;
	}
}

static bool pm_active(const struct soft_cpu *cpu)
{
	return (cpu->cr0 & X86_CR0_PE) && !(cpu->rflags & SOFT_FL_VM);
}

/* MOV/POP/LxS into a data segment register or SS. */
int soft_seg__load(struct soft_cpu *cpu, unsigned seg, uint16_t sel)
{
	unsigned rpl = sel & 3, cpl = cpu->cpl, dpl, type;
	uint64_t d;
	int ret;

	if (!pm_active(cpu)) {
		soft_seg__load_real(cpu, seg, sel);
		if (seg == SOFT_SS)
			soft_cpu__update_mode(cpu);
		return SOFT_OK;
	}
	if ((sel & ~3u) == 0) {
		if (seg == SOFT_SS && (!cpu->lm64 || cpl == 3 || rpl != cpl))
			return soft_raise(cpu, SOFT_EXC_GP, 0);
		soft_seg__load_null(cpu, seg, sel);
		if (seg == SOFT_SS)
			soft_cpu__update_mode(cpu);
		return SOFT_OK;
	}
	ret = soft_seg__read_desc(cpu, sel, &d, SOFT_EXC_GP);
	if (ret)
		return ret;
	dpl = DESC_DPL(d);
	type = DESC_TYPE(d);
	if (seg == SOFT_SS) {
		if (rpl != cpl || dpl != cpl || !DESC_S(d) || (type & TYPE_CODE) ||
		    !(type & TYPE_WRITE))
			return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
		if (!DESC_P(d))
			return soft_raise(cpu, SOFT_EXC_SS, sel & 0xfffc);
	} else {
		if (!DESC_S(d) || ((type & TYPE_CODE) && !(type & TYPE_READ)))
			return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
		/* data and non-conforming code: DPL >= max(CPL, RPL) */
		if ((!(type & TYPE_CODE) || !(type & TYPE_CONFORM)) &&
		    (dpl < cpl || dpl < rpl))
			return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
		if (!DESC_P(d))
			return soft_raise(cpu, SOFT_EXC_NP, sel & 0xfffc);
	}
	ret = soft_seg__set_accessed(cpu, sel, d);
	if (ret)
		return ret;
	soft_seg__decode(d | (1ull << 40), sel, &cpu->seg[seg]);
	if (seg == SOFT_SS)
		soft_cpu__update_mode(cpu);
	return SOFT_OK;
}

int soft_seg__check_code(struct soft_cpu *cpu, uint16_t sel, uint64_t d)
{
	if (!DESC_S(d) || !(DESC_TYPE(d) & TYPE_CODE))
		return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
	if (cpu->long_mode && DESC_L(d) && DESC_DB(d))
		return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
	if (!DESC_P(d))
		return soft_raise(cpu, SOFT_EXC_NP, sel & 0xfffc);
	return SOFT_OK;
}

int soft_seg__load_ss_for(struct soft_cpu *cpu, uint16_t sel, unsigned cpl, bool to64)
{
	uint64_t d;
	int ret;

	if ((sel & ~3u) == 0) {
		if (!to64 || cpl == 3 || (sel & 3) != cpl)
			return soft_raise(cpu, SOFT_EXC_GP, 0);
		soft_seg__load_null(cpu, SOFT_SS, sel);
		cpu->seg[SOFT_SS].dpl = (uint8_t)cpl;
		return SOFT_OK;
	}
	ret = soft_seg__read_desc(cpu, sel, &d, SOFT_EXC_GP);
	if (ret)
		return ret;
	if ((sel & 3) != cpl || DESC_DPL(d) != cpl || !DESC_S(d) ||
	    (DESC_TYPE(d) & TYPE_CODE) || !(DESC_TYPE(d) & TYPE_WRITE))
		return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
	if (!DESC_P(d))
		return soft_raise(cpu, SOFT_EXC_SS, sel & 0xfffc);
	ret = soft_seg__set_accessed(cpu, sel, d);
	if (ret)
		return ret;
	soft_seg__decode(d | (1ull << 40), sel, &cpu->seg[SOFT_SS]);
	return SOFT_OK;
}

void soft_seg__scrub_data_segs(struct soft_cpu *cpu)
{
	static const unsigned segs[] = { SOFT_ES, SOFT_DS, SOFT_FS, SOFT_GS };

	for (unsigned i = 0; i < 4; i++) {
		struct soft_seg *s = &cpu->seg[segs[i]];
		bool conforming = (s->type & TYPE_CODE) && (s->type & TYPE_CONFORM);

		if (s->unusable || !s->s)
			continue;
		if (!conforming && s->dpl < cpu->cpl)
			soft_seg__load_null(cpu, segs[i], 0);
	}
}

/* ---- instructions ------------------------------------------------------ */

static int h_mov_to_seg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t v;
	unsigned seg = in->op[0].reg;
	int ret;

	if (seg == SOFT_CS || seg >= SOFT_NR_SEGS)
		return soft_raise_ud(cpu);
	ret = soft_op_read(cpu, in, 1, &v);
	if (ret)
		return ret;
	ret = soft_seg__load(cpu, seg, (uint16_t)v);
	if (!ret && seg == SOFT_SS) {
		cpu->int_shadow = true;
		soft_cpu__kick(cpu);
	}
	return ret;
}

static int h_pop_seg(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned seg = in->op[0].reg;
	unsigned size = in->opsize;
	uint64_t v, rsp = cpu->gpr[SOFT_RSP];
	int ret;

	if (seg == SOFT_CS || seg >= SOFT_NR_SEGS)
		return soft_raise_ud(cpu);
	ret = soft_pop(cpu, &v, size);
	if (ret)
		return ret;
	ret = soft_seg__load(cpu, seg, (uint16_t)v);
	if (ret) {
		cpu->gpr[SOFT_RSP] = rsp;
		return ret;
	}
	if (seg == SOFT_SS) {
		cpu->int_shadow = true;
		soft_cpu__kick(cpu);
	}
	return SOFT_OK;
}

/* LDS/LES/LFS/LGS/LSS r, m16:xx */
static int h_load_far_ptr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned seg, size = in->op[0].size;
	uint64_t ea = soft_ea(cpu, in), off = 0;
	uint16_t sel;
	int ret;

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_LDS: seg = SOFT_DS; break;
	case ZYDIS_MNEMONIC_LES: seg = SOFT_ES; break;
	case ZYDIS_MNEMONIC_LFS: seg = SOFT_FS; break;
	case ZYDIS_MNEMONIC_LGS: seg = SOFT_GS; break;
	default: seg = SOFT_SS; break;
	}
	if (in->op[1].kind != SOFT_OPK_MEM)
		return soft_raise_ud(cpu);
	ret = soft_mem_read(cpu, in->mem.seg, ea, &off, size);
	if (!ret)
		ret = soft_mem_read(cpu, in->mem.seg, (ea + size) & soft_size_mask(in->addrsize),
				    &sel, 2);
	if (!ret)
		ret = soft_seg__load(cpu, seg, sel);
	if (ret)
		return ret;
	soft_gpr_write(cpu, &in->op[0], off);
	if (seg == SOFT_SS) {
		cpu->int_shadow = true;
		soft_cpu__kick(cpu);
	}
	return SOFT_OK;
}

static int h_lgdt_lidt(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint64_t ea = soft_ea(cpu, in), base = 0;
	unsigned bsize = cpu->lm64 ? 8 : 4;
	uint16_t limit;
	int ret;

	if (in->op[0].kind != SOFT_OPK_MEM)
		return soft_raise_ud(cpu);
	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	ret = soft_mem_read(cpu, in->mem.seg, ea, &limit, 2);
	if (!ret)
		ret = soft_mem_read(cpu, in->mem.seg, (ea + 2) & soft_size_mask(in->addrsize),
				    &base, bsize);
	if (ret)
		return ret;
	if (!cpu->lm64 && in->opsize == 2)
		base &= 0xffffff;
	if (cpu->lm64 && !soft_sys__canonical(base))
		return soft_raise_gp0(cpu);
	if (in->mnemonic == ZYDIS_MNEMONIC_LGDT) {
		cpu->gdtr.base = base;
		cpu->gdtr.limit = limit;
	} else {
		cpu->idtr.base = base;
		cpu->idtr.limit = limit;
	}
	return SOFT_OK;
}

static int h_sgdt_sidt(struct soft_cpu *cpu, const struct soft_insn *in)
{
	const struct soft_dtable *t = in->mnemonic == ZYDIS_MNEMONIC_SGDT ? &cpu->gdtr : &cpu->idtr;
	uint8_t buf[10];
	unsigned bsize = cpu->lm64 ? 8 : 4;
	uint64_t ea = soft_ea(cpu, in);

	if (in->op[0].kind != SOFT_OPK_MEM)
		return soft_raise_ud(cpu);
	memcpy(buf, &t->limit, 2);
	memcpy(buf + 2, &t->base, 8);
	return soft_mem_write(cpu, in->mem.seg, ea, buf, 2 + bsize);
}

/* Read a 16-bit selector operand (register or memory). */
static int read_sel(struct soft_cpu *cpu, const struct soft_insn *in, unsigned n, uint16_t *sel)
{
	uint64_t v;
	int ret;

	if (in->op[n].kind == SOFT_OPK_MEM) {
		ret = soft_mem_read(cpu, in->mem.seg, soft_ea(cpu, in), sel, 2);
		return ret;
	}
	ret = soft_op_read(cpu, in, n, &v);
	*sel = (uint16_t)v;
	return ret;
}

/* 16-byte system descriptor (LDT/TSS) in long mode: upper base from the
 * second qword. */
static int read_sys_desc(struct soft_cpu *cpu, uint16_t sel, uint64_t *d, uint64_t *hi)
{
	int ret;

	*hi = 0;
	if ((uint32_t)(sel & ~7u) + (cpu->long_mode ? 15 : 7) > cpu->gdtr.limit)
		return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
	ret = soft_lin_read(cpu, cpu->gdtr.base + (sel & ~7u), d, 8, SOFT_ACC_READ | SOFT_ACC_SUPER);
	if (!ret && cpu->long_mode)
		ret = soft_lin_read(cpu, cpu->gdtr.base + (sel & ~7u) + 8, hi, 8,
				    SOFT_ACC_READ | SOFT_ACC_SUPER);
	return ret;
}

static int h_lldt_ltr(struct soft_cpu *cpu, const struct soft_insn *in)
{
	bool ltr = in->mnemonic == ZYDIS_MNEMONIC_LTR;
	struct soft_seg s;
	uint64_t d, hi;
	uint16_t sel;
	unsigned type;
	int ret;

	if (!pm_active(cpu))
		return soft_raise_ud(cpu);
	if (cpu->cpl)
		return soft_raise_gp0(cpu);
	ret = read_sel(cpu, in, 0, &sel);
	if (ret)
		return ret;
	if ((sel & ~3u) == 0) {
		if (ltr)
			return soft_raise_gp0(cpu);
		cpu->seg[SOFT_LDTR].sel = sel;
		cpu->seg[SOFT_LDTR].unusable = 1;
		cpu->seg[SOFT_LDTR].present = 0;
		return SOFT_OK;
	}
	if (sel & 4)
		return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
	ret = read_sys_desc(cpu, sel, &d, &hi);
	if (ret)
		return ret;
	type = DESC_TYPE(d);
	if (DESC_S(d) || (ltr ? (type != 9 && !(type == 1 && !cpu->long_mode)) : type != 2))
		return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
	if (cpu->long_mode && ((hi >> 40) & 0x1f))
		return soft_raise(cpu, SOFT_EXC_GP, sel & 0xfffc);
	if (!DESC_P(d))
		return soft_raise(cpu, SOFT_EXC_NP, sel & 0xfffc);
	if (ltr) {
		uint8_t b = (uint8_t)((d >> 40) | 2);   /* busy */

		ret = soft_lin_write(cpu, cpu->gdtr.base + (sel & ~7u) + 5, &b, 1,
				     SOFT_ACC_WRITE | SOFT_ACC_SUPER);
		if (ret)
			return ret;
		d |= 2ull << 40;
	}
	soft_seg__decode(d, sel, &s);
	s.base |= (hi & 0xffffffffull) << 32;
	cpu->seg[ltr ? SOFT_TR : SOFT_LDTR] = s;
	return SOFT_OK;
}

static int h_sldt_str(struct soft_cpu *cpu, const struct soft_insn *in)
{
	uint16_t sel = cpu->seg[in->mnemonic == ZYDIS_MNEMONIC_STR ? SOFT_TR : SOFT_LDTR].sel;

	if (!pm_active(cpu))
		return soft_raise_ud(cpu);
	if (in->op[0].kind == SOFT_OPK_MEM)
		return soft_mem_write(cpu, in->mem.seg, soft_ea(cpu, in), &sel, 2);
	return soft_op_write(cpu, in, 0, sel);
}

/* LAR/LSL/VERR/VERW: ZF = whether the descriptor passes; never fault on
 * the selector itself. */
static int probe_desc(struct soft_cpu *cpu, uint16_t sel, uint64_t *d, bool *ok)
{
	uint64_t base, idx = sel & ~7u;
	uint32_t limit;

	*ok = false;
	if ((sel & ~3u) == 0)
		return SOFT_OK;
	if (sel & 4) {
		if (cpu->seg[SOFT_LDTR].unusable)
			return SOFT_OK;
		base = cpu->seg[SOFT_LDTR].base;
		limit = cpu->seg[SOFT_LDTR].limit;
	} else {
		base = cpu->gdtr.base;
		limit = cpu->gdtr.limit;
	}
	if (idx + 7 > limit)
		return SOFT_OK;
	*ok = true;
	return soft_lin_read(cpu, base + idx, d, 8, SOFT_ACC_READ | SOFT_ACC_SUPER);
}

static int h_lar_lsl_verx(struct soft_cpu *cpu, const struct soft_insn *in)
{
	unsigned mn = in->mnemonic, type, dpl;
	bool verx = mn == ZYDIS_MNEMONIC_VERR || mn == ZYDIS_MNEMONIC_VERW;
	bool ok, valid = false;
	uint64_t d = 0;
	uint16_t sel;
	int ret;

	if (!pm_active(cpu))
		return soft_raise_ud(cpu);
	ret = read_sel(cpu, in, verx ? 0 : 1, &sel);
	if (!ret)
		ret = probe_desc(cpu, sel, &d, &ok);
	if (ret)
		return ret;
	type = DESC_TYPE(d);
	dpl = DESC_DPL(d);
	if (ok) {
		bool conforming = DESC_S(d) && (type & TYPE_CODE) && (type & TYPE_CONFORM);

		valid = conforming || (dpl >= cpu->cpl && dpl >= (sel & 3u));
		if (!DESC_S(d)) {
			/* system types LAR/LSL accept: LDT, TSS (avail/busy), and
			 * for LAR call gates; 16-bit ones outside long mode */
			static const uint16_t lsl_ok = 1u << 2 | 1u << 9 | 1u << 11 | 1u << 1 | 1u << 3;
			static const uint16_t lsl_ok64 = 1u << 2 | 1u << 9 | 1u << 11;
			uint16_t mask = cpu->long_mode ? lsl_ok64 : lsl_ok;

			if (mn == ZYDIS_MNEMONIC_LAR)
				mask |= cpu->long_mode ? 1u << 12 : (1u << 12 | 1u << 4 | 1u << 5);
			valid = valid && !verx && (mask & (1u << type));
		} else if (mn == ZYDIS_MNEMONIC_VERR) {
			valid = valid && (!(type & TYPE_CODE) || (type & TYPE_READ));
		} else if (mn == ZYDIS_MNEMONIC_VERW) {
			valid = valid && !(type & TYPE_CODE) && (type & TYPE_WRITE);
		}
	}
	if (valid && !verx) {
		uint64_t v;

		if (mn == ZYDIS_MNEMONIC_LSL) {
			struct soft_seg s;

			soft_seg__decode(d, sel, &s);
			v = s.limit;
		} else {
			v = (d >> 32) & 0x00f0ff00u;
		}
		ret = soft_op_write(cpu, in, 0, v);
		if (ret)
			return ret;
	}
	soft_sys__set_zf(cpu, valid);
	return SOFT_OK;
}

void soft_seg__register(struct soft_vm *svm)
{
	soft_exec__register(svm, SOFT_MNEM_MOV_TO_SEG, h_mov_to_seg);
	soft_exec__register(svm, SOFT_MNEM_POP_SEG, h_pop_seg);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LDS, h_load_far_ptr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LES, h_load_far_ptr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LFS, h_load_far_ptr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LGS, h_load_far_ptr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LSS, h_load_far_ptr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LGDT, h_lgdt_lidt);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LIDT, h_lgdt_lidt);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SGDT, h_sgdt_sidt);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SIDT, h_sgdt_sidt);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LLDT, h_lldt_ltr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LTR, h_lldt_ltr);
	soft_exec__register(svm, ZYDIS_MNEMONIC_SLDT, h_sldt_str);
	soft_exec__register(svm, ZYDIS_MNEMONIC_STR, h_sldt_str);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LAR, h_lar_lsl_verx);
	soft_exec__register(svm, ZYDIS_MNEMONIC_LSL, h_lar_lsl_verx);
	soft_exec__register(svm, ZYDIS_MNEMONIC_VERR, h_lar_lsl_verx);
	soft_exec__register(svm, ZYDIS_MNEMONIC_VERW, h_lar_lsl_verx);
}
