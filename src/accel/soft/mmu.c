/* Segmentation, paging and the software TLB.
 *
 * The TLB is direct-mapped, one array per privilege class (mmu_idx) so a
 * hit needs no U/S check.  An entry keeps one tag per access kind: a tag is
 * only set when that kind may take the fast path, so a read-filled entry of
 * a clean page makes the first write miss, walk again and set the D bit.
 * Entries are 4 KiB even for large pages (tlb_large remembers that INVLPG
 * must then look further than one slot).  Non-RAM pages (MMIO, the LAPIC
 * page) are never entered: their accesses always walk. */
#include "accel/soft/ops.h"
#include "util/log.h"
#include "vm/bus.h"
#include "vm/vm.h"

#define PTE_P  (1ull << 0)
#define PTE_W  (1ull << 1)
#define PTE_U  (1ull << 2)
#define PTE_A  (1ull << 5)
#define PTE_D  (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G  (1ull << 8)
#define PTE_NX (1ull << 63)
#define ADDR_MASK (((1ull << SOFT_PHYS_ADDR_BITS) - 1) & ~0xfffull)
/* bits 51:MAXPHYADDR */
#define RSVD_HIGH (((1ull << 52) - 1) & ~((1ull << SOFT_PHYS_ADDR_BITS) - 1))

#define TLBF_GLOBAL 1u
#define TLBF_LARGE  2u

struct walk {
	uint64_t gpa;
	uint64_t page_mask;   /* size of the mapping - 1 */
	bool w, u, x, g, dirty;
};

static inline uint64_t *pte_ptr(struct soft_cpu *cpu, uint64_t gpa)
{
	return vm__gpa_to_hva(cpu->vm, gpa, 8);
}

static inline uint64_t pte_load(uint64_t *p)
{
	/* An entry outside RAM reads as all ones: present with reserved bits
	 * set, so the walk reports RSVD rather than touching device space. */
	return p ? __atomic_load_n(p, __ATOMIC_RELAXED) : ~0ull;
}

static inline void pte_set(uint64_t *p, uint64_t pte, uint64_t bits)
{
	if (p && (pte & bits) != bits)
		__atomic_fetch_or(p, bits, __ATOMIC_SEQ_CST);
}

/* Long-mode 4-level and legacy PAE 3-level walks; 32-bit 2-level. */
static int walk(struct soft_cpu *cpu, uint64_t la, unsigned kind, bool user,
		struct walk *w, uint32_t *err)
{
	bool nxe = cpu->efer & X86_EFER_NXE;
	uint64_t rsvd = RSVD_HIGH | (nxe ? 0 : PTE_NX);
	uint64_t *ptrs[4];
	uint64_t ptes[4];
	int n = 0, level;
	uint64_t table, pte = 0;
	bool wr = true, us = true, nx = false;
	uint32_t e = 0;

	if (kind == SOFT_ACC_WRITE)
		e |= SOFT_PF_W;
	if (user)
		e |= SOFT_PF_U;
	if (kind == SOFT_ACC_EXEC && nxe)
		e |= SOFT_PF_I;

	if (!(cpu->cr4 & X86_CR4_PAE)) {
		/* 32-bit paging: no NX, 4 MiB pages with CR4.PSE */
		uint32_t l32 = (uint32_t)la;
		uint64_t *p = vm__gpa_to_hva(cpu->vm, (cpu->cr3 & 0xfffff000u) + ((l32 >> 22) * 4), 4);
		uint32_t pde = p ? __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED) : 0;
		uint32_t *pp;

		if (!(pde & PTE_P))
			goto not_present;
		wr = pde & PTE_W;
		us = pde & PTE_U;
		if ((pde & PTE_PS) && (cpu->cr4 & (1u << 4))) {
			w->gpa = (pde & 0xffc00000u) | (l32 & 0x3fffff);
			w->page_mask = 0x3fffff;
			pte = pde;
			pp = (uint32_t *)p;
		} else {
			uint32_t *q = vm__gpa_to_hva(cpu->vm, (pde & 0xfffff000u) + ((l32 >> 12) & 1023) * 4, 4);
			uint32_t pt = q ? __atomic_load_n(q, __ATOMIC_RELAXED) : 0;

			if (!(pt & PTE_P))
				goto not_present;
			wr = wr && (pt & PTE_W);
			us = us && (pt & PTE_U);
			if (!(pde & PTE_A))
				__atomic_fetch_or((uint32_t *)p, (uint32_t)PTE_A, __ATOMIC_SEQ_CST);
			w->gpa = (pt & 0xfffff000u) | (l32 & 0xfff);
			w->page_mask = 0xfff;
			pte = pt;
			pp = q;
		}
		if (user && !us)
			goto prot;
		if (kind == SOFT_ACC_WRITE && !wr && (user || (cpu->cr0 & X86_CR0_WP)))
			goto prot;
		{
			uint32_t bits = PTE_A | (kind == SOFT_ACC_WRITE ? PTE_D : 0);

			if (pp && (pte & bits) != bits)
				__atomic_fetch_or(pp, bits, __ATOMIC_SEQ_CST);
		}
		w->w = wr;
		w->u = us;
		w->x = true;
		w->g = pte & PTE_G;
		w->dirty = (pte & PTE_D) || kind == SOFT_ACC_WRITE;
		return 0;
	}

	if (cpu->long_mode) {
		table = cpu->cr3 & ADDR_MASK;
		level = 4;
	} else {
		/* PAE: the 4 PDPTEs (read at walk time, not at CR3 load) */
		uint64_t *p = pte_ptr(cpu, (cpu->cr3 & 0xffffffe0u) + ((la >> 30) & 3) * 8);
		uint64_t pdpte = pte_load(p);

		if (!(pdpte & PTE_P))
			goto not_present;
		if (pdpte & (RSVD_HIGH | PTE_NX | 0x1e6))
			goto reserved;
		table = pdpte & ADDR_MASK;
		level = 2;
	}

	for (;; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t *p = pte_ptr(cpu, table + ((la >> shift) & 511) * 8);

		pte = pte_load(p);
		if (!(pte & PTE_P))
			goto not_present;
		if (pte & rsvd)
			goto reserved;
		ptrs[n] = p;
		ptes[n++] = pte;
		wr = wr && (pte & PTE_W);
		us = us && (pte & PTE_U);
		nx = nx || (nxe && (pte & PTE_NX));
		if (level == 1)
			break;
		if (pte & PTE_PS) {
			uint64_t size_mask = (1ull << shift) - 1;

			if (level == 4)
				goto reserved;
			/* bits 29:13 (1 GiB) or 20:13 (2 MiB) must be zero */
			if (pte & size_mask & ~0x1fffull)
				goto reserved;
			w->page_mask = size_mask;
			w->gpa = (pte & ADDR_MASK & ~size_mask) | (la & size_mask);
			goto leaf;
		}
		table = pte & ADDR_MASK;
	}
	w->page_mask = 0xfff;
	w->gpa = (pte & ADDR_MASK) | (la & 0xfff);
leaf:
	if (user && !us)
		goto prot;
	if (kind == SOFT_ACC_WRITE && !wr && (user || (cpu->cr0 & X86_CR0_WP)))
		goto prot;
	if (kind == SOFT_ACC_EXEC && nx)
		goto prot;
	for (int i = 0; i < n - 1; i++)
		pte_set(ptrs[i], ptes[i], PTE_A);
	pte_set(ptrs[n - 1], pte, PTE_A | (kind == SOFT_ACC_WRITE ? PTE_D : 0));
	w->w = wr;
	w->u = us;
	w->x = !nx;
	w->g = pte & PTE_G;
	w->dirty = (pte & PTE_D) || kind == SOFT_ACC_WRITE;
	return 0;

not_present:
	*err = e;
	return -1;
reserved:
	*err = e | SOFT_PF_P | SOFT_PF_RSVD;
	return -1;
prot:
	*err = e | SOFT_PF_P;
	return -1;
}

static inline bool canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

/* Translate la for `kind` (access by mmu index idx).  On success *host is
 * the host pointer of la, or NULL for non-RAM (then *gpa is valid). */
static int tlb_fill(struct soft_cpu *cpu, uint64_t la, unsigned kind, unsigned idx,
		    uint8_t **host, uint64_t *gpa_out, uint32_t *ram_page)
{
	struct soft_tlb_entry *e;
	struct walk w;
	uint64_t page = la & SOFT_PAGE_MASK, gpa_page;
	uint8_t *hva;

	cpu->stats.tlb_misses++;
	if (cpu->long_mode && !canonical(la))
		return soft_raise(cpu, SOFT_EXC_GP, 0);
	if (cpu->paging) {
		uint32_t err;

		if (walk(cpu, la, kind, idx == SOFT_MMU_USER, &w, &err))
			return soft_raise_pf(cpu, la, err);
	} else {
		w = (struct walk){ .gpa = la, .page_mask = 0xfff, .w = true, .u = true,
				   .x = true, .g = false, .dirty = true };
	}
	*gpa_out = w.gpa;
	gpa_page = w.gpa & SOFT_PAGE_MASK;
	hva = vm__gpa_to_hva(cpu->vm, gpa_page, 4096);
	if (!hva) {
		*host = NULL;
		return SOFT_OK;
	}
	e = &cpu->tlb[idx][(la >> 12) & (SOFT_TLB_SIZE - 1)];
	e->tag_r = page;
	e->tag_w = (w.w || (idx == SOFT_MMU_SUPER && !(cpu->cr0 & X86_CR0_WP))) && w.dirty ?
		   page : SOFT_TLB_NOPE;
	e->tag_x = w.x ? page : SOFT_TLB_NOPE;
	e->addend = (uintptr_t)hva - page;
	e->gpa = gpa_page;
	e->ram_page = (uint32_t)((hva - cpu->vm->ram) >> 12);
	e->flags = (w.g && (cpu->cr4 & X86_CR4_PGE) ? TLBF_GLOBAL : 0) |
		   (w.page_mask > 0xfff ? TLBF_LARGE : 0);
	if (w.page_mask > 0xfff)
		cpu->tlb_large = 1;
	*host = hva + (la & 0xfff);
	*ram_page = e->ram_page;
	return SOFT_OK;
}

/* Host pointer for [la, la+len) inside one page, NULL for MMIO. */
static inline int xlate(struct soft_cpu *cpu, uint64_t la, unsigned kind, unsigned idx,
			uint8_t **host, uint64_t *gpa, uint32_t *ram_page)
{
	struct soft_tlb_entry *e = &cpu->tlb[idx][(la >> 12) & (SOFT_TLB_SIZE - 1)];
	uint64_t tag = kind == SOFT_ACC_READ ? e->tag_r : kind == SOFT_ACC_WRITE ? e->tag_w : e->tag_x;

	if (likely(tag == (la & SOFT_PAGE_MASK))) {
		*host = (uint8_t *)(e->addend + la);
		*ram_page = e->ram_page;
		return SOFT_OK;
	}
	return tlb_fill(cpu, la, kind, idx, host, gpa, ram_page);
}

static void mmio_access(struct soft_cpu *cpu, uint64_t gpa, uint8_t *p, unsigned len, bool write)
{
	const struct soft_hooks *h = &cpu->svm->hooks;

	cpu->stats.mmio_accesses++;
	while (len) {
		unsigned n = len >= 8 && !(gpa & 7) ? 8 : len >= 4 && !(gpa & 3) ? 4 :
			     len >= 2 && !(gpa & 1) ? 2 : 1;

		if (!h->lapic_mmio || !h->lapic_mmio(cpu, gpa, p, n, write)) {
			if (write)
				bus__write(&cpu->vm->mmio, gpa, p, n);
			else
				bus__read(&cpu->vm->mmio, gpa, p, n);
		}
		gpa += n;
		p += n;
		len -= n;
	}
}

static inline void note_code_write(struct soft_cpu *cpu, uint32_t ram_page)
{
	if (unlikely(atomic_load_explicit(&cpu->svm->code_present[ram_page], memory_order_relaxed))) {
		soft_code__invalidate_ram_page(cpu->svm, ram_page);
		cpu->stats.code_invalidations++;
		/* this vCPU may be executing from that page right now */
		cpu->cursor_stale = true;
		atomic_store_explicit(&cpu->exit_req, 1, memory_order_relaxed);
	}
}

static inline unsigned acc_idx(struct soft_cpu *cpu, unsigned acc)
{
	return (acc & SOFT_ACC_SUPER) ? SOFT_MMU_SUPER : cpu->mmu_idx;
}

int soft_lin_read(struct soft_cpu *cpu, uint64_t la, void *buf, unsigned len, unsigned acc)
{
	unsigned kind = acc & SOFT_ACC_KIND, idx = acc_idx(cpu, acc);
	uint8_t *out = buf;

	if (!cpu->long_mode)
		la = (uint32_t)la;
	while (len) {
		unsigned n = 4096 - (la & 0xfff);
		uint8_t *host;
		uint64_t gpa;
		uint32_t rp;
		int r;

		if (n > len)
			n = len;
		r = xlate(cpu, la, kind, idx, &host, &gpa, &rp);
		if (r)
			return r;
		if (host)
			memcpy(out, host, n);
		else
			mmio_access(cpu, gpa, out, n, false);
		out += n;
		len -= n;
		la += n;
		if (!cpu->long_mode)
			la = (uint32_t)la;
	}
	return SOFT_OK;
}

int soft_lin_write(struct soft_cpu *cpu, uint64_t la, const void *buf, unsigned len, unsigned acc)
{
	unsigned idx = acc_idx(cpu, acc);
	const uint8_t *in = buf;
	uint64_t l = la;
	unsigned left = len;

	if (!cpu->long_mode)
		la = (uint32_t)la;
	/* Check every page first: a faulting page-crossing store writes nothing. */
	if ((la & 0xfff) + len > 4096) {
		l = la;
		while (left) {
			unsigned n = 4096 - (l & 0xfff);
			uint8_t *host;
			uint64_t gpa;
			uint32_t rp;
			int r;

			if (n > left)
				n = left;
			r = xlate(cpu, l, SOFT_ACC_WRITE, idx, &host, &gpa, &rp);
			if (r)
				return r;
			left -= n;
			l += n;
			if (!cpu->long_mode)
				l = (uint32_t)l;
		}
	}
	while (len) {
		unsigned n = 4096 - (la & 0xfff);
		uint8_t *host;
		uint64_t gpa;
		uint32_t rp;
		int r;

		if (n > len)
			n = len;
		r = xlate(cpu, la, SOFT_ACC_WRITE, idx, &host, &gpa, &rp);
		if (r)
			return r;
		if (host) {
			memcpy(host, in, n);
			note_code_write(cpu, rp);
		} else {
			mmio_access(cpu, gpa, (uint8_t *)in, n, true);
		}
		in += n;
		len -= n;
		la += n;
		if (!cpu->long_mode)
			la = (uint32_t)la;
	}
	return SOFT_OK;
}

int soft_seg__linear(struct soft_cpu *cpu, unsigned seg, uint64_t off, unsigned len,
		     unsigned acc, uint64_t *la)
{
	const struct soft_seg *s = &cpu->seg[seg];
	uint64_t last;

	if (likely(cpu->lm64)) {
		*la = seg >= SOFT_FS ? s->base + off : off;
		return SOFT_OK;
	}
	if (cpu->pe && !(cpu->rflags & SOFT_FL_VM)) {
		if (s->unusable || !s->present)
			goto fault;
		if ((acc & SOFT_ACC_KIND) == SOFT_ACC_WRITE) {
			/* writable data segment only */
			if (!s->s || (s->type & 8) || !(s->type & 2))
				goto fault;
		} else if ((acc & SOFT_ACC_KIND) == SOFT_ACC_READ) {
			if (s->s && (s->type & 8) && !(s->type & 2))
				goto fault;   /* execute-only code */
		}
	}
	off &= 0xffffffffull;
	last = off + (len ? len - 1 : 0);
	if (s->s && !(s->type & 8) && (s->type & 4)) {
		/* expand-down data segment */
		uint64_t top = s->db ? 0xffffffffull : 0xffffull;

		if (off <= s->limit || last > top)
			goto fault;
	} else if (last > s->limit) {
		goto fault;
	}
	*la = (uint32_t)(s->base + off);
	return SOFT_OK;
fault:
	return soft_raise(cpu, seg == SOFT_SS ? SOFT_EXC_SS : SOFT_EXC_GP,
			  0);
}

int soft_mem_read(struct soft_cpu *cpu, unsigned seg, uint64_t off, void *buf, unsigned len)
{
	uint64_t la;
	int r;

	if (likely(cpu->lm64)) {
		la = seg >= SOFT_FS ? cpu->seg[seg].base + off : off;
		if (likely((la & 0xfff) + len <= 4096)) {
			struct soft_tlb_entry *e = &cpu->tlb[cpu->mmu_idx][(la >> 12) & (SOFT_TLB_SIZE - 1)];

			if (likely(e->tag_r == (la & SOFT_PAGE_MASK))) {
				memcpy(buf, (void *)(e->addend + la), len);
				return SOFT_OK;
			}
		}
	} else {
		r = soft_seg__linear(cpu, seg, off, len, SOFT_ACC_READ, &la);
		if (r)
			return r;
	}
	return soft_lin_read(cpu, la, buf, len, SOFT_ACC_READ);
}

int soft_mem_write(struct soft_cpu *cpu, unsigned seg, uint64_t off, const void *buf, unsigned len)
{
	uint64_t la;
	int r;

	if (likely(cpu->lm64)) {
		la = seg >= SOFT_FS ? cpu->seg[seg].base + off : off;
		if (likely((la & 0xfff) + len <= 4096)) {
			struct soft_tlb_entry *e = &cpu->tlb[cpu->mmu_idx][(la >> 12) & (SOFT_TLB_SIZE - 1)];

			if (likely(e->tag_w == (la & SOFT_PAGE_MASK))) {
				memcpy((void *)(e->addend + la), buf, len);
				note_code_write(cpu, e->ram_page);
				return SOFT_OK;
			}
		}
	} else {
		r = soft_seg__linear(cpu, seg, off, len, SOFT_ACC_WRITE, &la);
		if (r)
			return r;
	}
	return soft_lin_write(cpu, la, buf, len, SOFT_ACC_WRITE);
}

void *soft_mem_host(struct soft_cpu *cpu, unsigned seg, uint64_t off, unsigned len,
		    unsigned kind, int *ret)
{
	uint64_t la, gpa;
	uint8_t *host;
	uint32_t rp;
	int r;

	r = soft_seg__linear(cpu, seg, off, len, kind, &la);
	if (!r && !cpu->long_mode)
		la = (uint32_t)la;
	if (!r && (la & 0xfff) + len > 4096) {
		*ret = SOFT_OK;
		return NULL;
	}
	if (!r)
		r = xlate(cpu, la, kind, cpu->mmu_idx, &host, &gpa, &rp);
	*ret = r;
	if (r || !host)
		return NULL;
	if (kind == SOFT_ACC_WRITE)
		note_code_write(cpu, rp);
	return host;
}

void *soft_mem_rmw_ptr(struct soft_cpu *cpu, unsigned seg, uint64_t off, unsigned len, int *ret)
{
	return soft_mem_host(cpu, seg, off, len, SOFT_ACC_WRITE, ret);
}

void *soft_mmu__fetch_ptr(struct soft_cpu *cpu, uint64_t la, uint64_t *gpa,
			  uint32_t *ram_page, int *ret)
{
	uint8_t *host;
	struct soft_tlb_entry *e;

	if (!cpu->long_mode)
		la = (uint32_t)la;
	*ret = xlate(cpu, la, SOFT_ACC_EXEC, cpu->mmu_idx, &host, gpa, ram_page);
	if (*ret)
		return NULL;
	e = &cpu->tlb[cpu->mmu_idx][(la >> 12) & (SOFT_TLB_SIZE - 1)];
	if (host)
		*gpa = e->gpa | (la & 0xfff);
	return host;
}

int soft_mmu__translate(struct soft_cpu *cpu, uint64_t la, unsigned acc, uint64_t *gpa)
{
	struct walk w;
	uint32_t err;

	if (cpu->long_mode && !canonical(la))
		return soft_raise(cpu, SOFT_EXC_GP, 0);
	if (!cpu->paging) {
		*gpa = cpu->long_mode ? la : (uint32_t)la;
		return SOFT_OK;
	}
	if (walk(cpu, la, acc & SOFT_ACC_KIND, acc_idx(cpu, acc) == SOFT_MMU_USER, &w, &err))
		return soft_raise_pf(cpu, la, err);
	*gpa = w.gpa;
	return SOFT_OK;
}

void soft_tlb__flush(struct soft_cpu *cpu, bool include_global)
{
	cpu->stats.tlb_flushes++;
	for (unsigned i = 0; i < 2; i++) {
		for (unsigned j = 0; j < SOFT_TLB_SIZE; j++) {
			struct soft_tlb_entry *e = &cpu->tlb[i][j];

			if (include_global || !(e->flags & TLBF_GLOBAL)) {
				e->tag_r = e->tag_w = e->tag_x = SOFT_TLB_NOPE;
				e->flags = 0;
			}
		}
	}
	if (include_global)
		cpu->tlb_large = 0;
	cpu->cursor_stale = true;
	atomic_store_explicit(&cpu->exit_req, 1, memory_order_relaxed);
}

void soft_tlb__flush_page(struct soft_cpu *cpu, uint64_t la)
{
	uint64_t page = la & SOFT_PAGE_MASK;

	for (unsigned i = 0; i < 2; i++) {
		struct soft_tlb_entry *e = &cpu->tlb[i][(la >> 12) & (SOFT_TLB_SIZE - 1)];

		if (e->tag_r == page || e->tag_w == page || e->tag_x == page) {
			e->tag_r = e->tag_w = e->tag_x = SOFT_TLB_NOPE;
			e->flags = 0;
		}
		if (!cpu->tlb_large)
			continue;
		/* a large page may back other slots: drop every large-page entry
		 * within 1 GiB of la (coarse, but INVLPG of large pages is rare) */
		for (unsigned j = 0; j < SOFT_TLB_SIZE; j++) {
			e = &cpu->tlb[i][j];
			if ((e->flags & TLBF_LARGE) && ((e->tag_r ^ la) >> 30) == 0) {
				e->tag_r = e->tag_w = e->tag_x = SOFT_TLB_NOPE;
				e->flags = 0;
			}
		}
	}
	cpu->cursor_stale = true;
	atomic_store_explicit(&cpu->exit_req, 1, memory_order_relaxed);
}

void soft_cpu__set_cr0(struct soft_cpu *cpu, uint64_t val)
{
	uint64_t old = cpu->cr0;

	cpu->cr0 = val;
	if ((old ^ val) & X86_CR0_PG) {
		if ((val & X86_CR0_PG) && (cpu->efer & X86_EFER_LME))
			cpu->efer |= X86_EFER_LMA;
		else if (!(val & X86_CR0_PG))
			cpu->efer &= ~X86_EFER_LMA;
	}
	if ((old ^ val) & (X86_CR0_PG | X86_CR0_WP | X86_CR0_PE))
		soft_tlb__flush(cpu, true);
	soft_cpu__update_mode(cpu);
}

void soft_cpu__set_cr3(struct soft_cpu *cpu, uint64_t val)
{
	cpu->cr3 = val;
	soft_tlb__flush(cpu, false);
}

void soft_cpu__set_cr4(struct soft_cpu *cpu, uint64_t val)
{
	uint64_t old = cpu->cr4;

	cpu->cr4 = val;
	if ((old ^ val) & (X86_CR4_PAE | X86_CR4_PGE | (1u << 4)))
		soft_tlb__flush(cpu, true);
	soft_cpu__update_mode(cpu);
}

void soft_cpu__set_efer(struct soft_cpu *cpu, uint64_t val)
{
	uint64_t old = cpu->efer;

	cpu->efer = (val & ~X86_EFER_LMA) | (old & X86_EFER_LMA);
	if ((old ^ cpu->efer) & X86_EFER_NXE)
		soft_tlb__flush(cpu, true);
	soft_cpu__update_mode(cpu);
}
