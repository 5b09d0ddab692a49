/* Entry, verdicts, string helpers, spinlocks, boot parameters, PM timer. */
#include "guest.h"

uint8_t *guest_boot_params;

void guest_entry(uint64_t zero_page);

void guest_entry(uint64_t zero_page)
{
	int ret;

	/* Only trust the pointer if it lies inside the identity map. */
	if (zero_page && zero_page < (4ull << 30) - 4096)
		guest_boot_params = (uint8_t *)(uintptr_t)zero_page;
	serial_init();
	idt_init();
	/* Firmware (or a previous boot) may have left the 8259s unmasked with
	 * the PIT running: mask them so only what a guest sets up arrives. */
	pic_disable();
	ret = main();
	if (ret == 0)
		pass();
	fail("main() returned %d", ret);
}

_Noreturn void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" ::: "memory");
}

_Noreturn void debug_exit(uint8_t code)
{
	outb(PORT_DEBUG_EXIT, code);
	/* Without an isa-debug-exit device we just stop here; the test
	 * harness's timeout reports it. */
	halt_forever();
}

_Noreturn void pass(void)
{
	puts("PASS\n");
	debug_exit(GUEST_PASS_CODE);
}

_Noreturn void fail(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("FAIL: %s\n", buf);
	debug_exit(GUEST_FAIL_CODE);
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	if (dp < sp)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *pa = a, *pb = b;

	for (; n; n--, pa++, pb++)
		if (*pa != *pb)
			return *pa - *pb;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

/* About a second of spinning in KVM's emulator; far longer natively. */
#define SPIN_LOCK_BOUND 500000u

void spin_lock(spinlock_t *l)
{
	uint32_t n;

	for (n = 0; n < SPIN_LOCK_BOUND; n++) {
		if (!__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
			return;
		cpu_relax();
	}
	/* The holder is probably stuck in an exception handler: go ahead
	 * rather than deadlock the report. */
}

void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

uint64_t bp_read(unsigned off, unsigned size)
{
	const uint8_t *p;
	uint64_t v = 0;
	unsigned i;

	if (!guest_boot_params || off + size > 4096)
		return 0;
	p = guest_boot_params + off;
	for (i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

const char *cmdline(void)
{
	uint64_t p = bp_read(BP_CMD_LINE_PTR, 4) |
		     (bp_read(BP_EXT_CMD_LINE_PTR, 4) << 32);

	if (!p || p >= (4ull << 30) - 4096)
		return "";
	return (const char *)(uintptr_t)p;
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10, digits = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s && *s != ' '; s++, digits++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		v = v * base + d;
	}
	if (!digits)
		return -1;
	*out = v;
	return 0;
}

uint64_t cmdline_u64(const char *key, uint64_t def)
{
	const char *s = cmdline();
	size_t klen = strlen(key);
	unsigned scanned = 0;
	uint64_t v;

	/* The command line is guest memory written by the VMM: bound the scan. */
	while (*s && scanned < 4096) {
		while (*s == ' ')
			s++, scanned++;
		if (!strncmp(s, key, klen) && s[klen] == '=')
			return parse_u64(s + klen + 1, &v) ? def : v;
		while (*s && *s != ' ' && scanned < 4096)
			s++, scanned++;
	}
	return def;
}

bool cmdline_has(const char *word)
{
	const char *s = cmdline();
	size_t wlen = strlen(word);
	unsigned scanned = 0;

	while (*s && scanned < 4096) {
		while (*s == ' ')
			s++, scanned++;
		if (!strncmp(s, word, wlen) && (s[wlen] == ' ' || !s[wlen]))
			return true;
		while (*s && *s != ' ' && scanned < 4096)
			s++, scanned++;
	}
	return false;
}

uint32_t pmtmr_read(void)
{
	return inl(PORT_PM_TMR) & 0xFFFFFF;
}

uint32_t pmtmr_since(uint32_t start)
{
	return (pmtmr_read() - start) & 0xFFFFFF;
}

void udelay(uint32_t us)
{
	uint32_t start = pmtmr_read(), ticks = pmtmr_us_to_ticks(us);
	uint64_t n, bound = 1000 + (uint64_t)us * 4;

	for (n = 0; n < bound && pmtmr_since(start) < ticks; n++)
		cpu_relax();
}
