/* IDT: every vector points at a stub (isr.S); isr_dispatch calls the
 * registered handler, ignores spurious LAPIC interrupts, and turns anything
 * else into a FAIL with the vector and the interrupted state printed. */
#include "guest.h"

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
static isr_handler_t handlers[256];

extern const char isr_stubs[], isr_stubs_end[];

void isr_dispatch(struct isr_frame *f);

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "reserved",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

const char *exception_name(unsigned vector)
{
	if (vector < 32 && exc_names[vector])
		return exc_names[vector];
	return vector < 32 ? "reserved" : "interrupt";
}

void idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) ptr = { sizeof(idt) - 1, (uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(ptr));
}

void idt_init(void)
{
	unsigned v;

	if (isr_stubs_end - isr_stubs != 256 * 16)
		fail("isr stubs are not 16 bytes apart");
	for (v = 0; v < 256; v++) {
		uint64_t a = (uintptr_t)isr_stubs + 16 * v;

		idt[v].off_lo = a & 0xFFFF;
		idt[v].sel = 0x10;
		idt[v].ist = 0;
		idt[v].type = 0x8E;   /* present, DPL 0, 64-bit interrupt gate */
		idt[v].off_mid = (a >> 16) & 0xFFFF;
		idt[v].off_hi = a >> 32;
		idt[v].zero = 0;
	}
	idt_load();
}

void idt_set_handler(uint8_t vector, isr_handler_t h)
{
	__atomic_store_n(&handlers[vector], h, __ATOMIC_RELEASE);
}

void isr_dispatch(struct isr_frame *f)
{
	isr_handler_t h = __atomic_load_n(&handlers[f->vector & 0xFF], __ATOMIC_ACQUIRE);

	if (h) {
		h(f);
		return;
	}
	/* A spurious LAPIC interrupt needs no EOI and is harmless. */
	if (f->vector == SPURIOUS_VECTOR)
		return;
	printf("EXCEPTION: vector %u (%s) error=0x%lx\n",
	       (unsigned)f->vector, exception_name(f->vector), f->error);
	printf("  rip=0x%016lx cs=0x%lx rflags=0x%lx rsp=0x%016lx ss=0x%lx\n",
	       f->rip, f->cs, f->rflags, f->rsp, f->ss);
	printf("  rax=0x%016lx rbx=0x%016lx rcx=0x%016lx rdx=0x%016lx\n",
	       f->rax, f->rbx, f->rcx, f->rdx);
	printf("  rsi=0x%016lx rdi=0x%016lx rbp=0x%016lx cr2=0x%016lx\n",
	       f->rsi, f->rdi, f->rbp, read_cr2());
	fail("unexpected %s %u", f->vector < 32 ? "exception" : "interrupt",
	     (unsigned)f->vector);
}
