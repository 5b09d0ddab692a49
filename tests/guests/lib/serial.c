/* COM1 output and a small printf.  One lock serialises whole lines across
 * CPUs so "cpu N up" messages never interleave. */
#include "guest.h"

static spinlock_t serial_lock;

#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20

void serial_init(void)
{
	outb(PORT_COM1 + UART_IER, 0x00);   /* polled: no UART interrupts */
	outb(PORT_COM1 + UART_LCR, 0x03);   /* 8N1 */
	outb(PORT_COM1 + UART_FCR, 0x07);   /* FIFO on, cleared */
	outb(PORT_COM1 + UART_MCR, 0x03);   /* DTR | RTS */
}

static void uart_putc(char c)
{
	unsigned n;

	/* Bounded: a UART that never reports THRE must not hang the guest. */
	for (n = 0; n < 10000; n++)
		if (inb(PORT_COM1 + UART_LSR) & UART_LSR_THRE)
			break;
	outb(PORT_COM1 + UART_THR, (uint8_t)c);
}

static void uart_puts(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			uart_putc('\r');
		uart_putc(*s);
	}
}

void putc(char c)
{
	char s[2] = { c, 0 };

	puts(s);
}

void puts(const char *s)
{
	spin_lock(&serial_lock);
	uart_puts(s);
	spin_unlock(&serial_lock);
}

struct out {
	char *buf;
	size_t size, len;
};

static void emit(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void emit_num(struct out *o, uint64_t v, unsigned base, bool upper,
		     bool neg, unsigned width, char pad)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	/* With zero padding the sign goes before the zeros. */
	if (neg && pad == '0') {
		emit(o, '-');
		n--;
		if (width)
			width--;
	}
	while (width > n) {
		emit(o, pad);
		width--;
	}
	while (n)
		emit(o, tmp[--n]);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		unsigned width = 0, lng = 0;
		char pad = ' ';
		uint64_t u;
		int64_t s;
		const char *str;

		if (*fmt != '%') {
			emit(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			emit_num(&o, s < 0 ? -(uint64_t)s : (uint64_t)s, 10,
				 false, s < 0, width, pad);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			emit_num(&o, u, *fmt == 'u' ? 10 : 16, *fmt == 'X',
				 false, width, pad);
			break;
		case 'p':
			emit(&o, '0');
			emit(&o, 'x');
			emit_num(&o, (uintptr_t)va_arg(ap, void *), 16, false,
				 false, width, pad);
			break;
		case 'c':
			emit(&o, (char)va_arg(ap, int));
			break;
		case 's':
			str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			for (u = strlen(str); width > u; width--)
				emit(&o, ' ');
			while (*str)
				emit(&o, *str++);
			break;
		case '%':
			emit(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			emit(&o, '%');
			emit(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	puts(buf);
	return n;
}
