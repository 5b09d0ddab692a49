/* 8250/16550A UART register semantics and the host console paths. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "devices/devices.h"
#include "test_devices_fake.h"

#define COM   PORT_COM1
#define THR   (COM + 0)
#define RBR   (COM + 0)
#define DLL   (COM + 0)
#define IER   (COM + 1)
#define DLM   (COM + 1)
#define IIR   (COM + 2)
#define FCR   (COM + 2)
#define LCR   (COM + 3)
#define MCR   (COM + 4)
#define LSR   (COM + 5)
#define MSR   (COM + 6)
#define SCR   (COM + 7)

static struct vm *vm;
static int out_pipe[2] = { -1, -1 };

static void setup(void)
{
	vm = fake_vm_new(256 << 20);
	cr_assert_eq(pipe2(out_pipe, O_CLOEXEC), 0);
	cr_assert_eq(serial__init(vm, COM, IRQ_COM1, -1, out_pipe[1]), 0);
}

static void teardown(void)
{
	serial__exit(vm);
	fake_vm_free(vm);
	close(out_pipe[0]);
	close(out_pipe[1]);
}

/* Bytes the UART wrote to out_fd so far (non-blocking). */
static ssize_t drain_output(char *buf, size_t len)
{
	struct pollfd p = { .fd = out_pipe[0], .events = POLLIN };

	if (poll(&p, 1, 0) <= 0)
		return 0;
	return read(out_pipe[0], buf, len);
}

TestSuite(serial, .init = setup, .fini = teardown, .timeout = 20);

Test(serial, lsr_after_write_and_output)
{
	char buf[8];

	cr_assert_eq(inb(vm, LSR), 0x60, "THRE|TEMT, no data: got %#x", inb(vm, LSR));
	outb(vm, THR, 'O');
	outb(vm, THR, 'K');
	cr_assert_eq(inb(vm, LSR) & 0x61, 0x60);
	cr_assert_eq(drain_output(buf, sizeof(buf)), 2);
	cr_assert_eq(buf[0], 'O');
	cr_assert_eq(buf[1], 'K');
}

Test(serial, thre_interrupt_raise_and_clear)
{
	cr_assert_eq(inb(vm, IIR) & 0x0F, 0x01);
	cr_assert_eq(fake_irq_level(IRQ_COM1), 0);
	outb(vm, IER, 0x02);
	cr_assert_eq(fake_irq_level(IRQ_COM1), 1, "enabling ETBEI with THR empty raises");
	cr_assert_eq(inb(vm, IIR) & 0x0F, 0x02);
	cr_assert_eq(fake_irq_level(IRQ_COM1), 0, "reading IIR cleared THRE");
	cr_assert_eq(inb(vm, IIR) & 0x0F, 0x01);
	/* Linux's UART_BUG_THRE probe: disable and re-enable reasserts. */
	outb(vm, IER, 0x00);
	outb(vm, IER, 0x02);
	cr_assert_eq(inb(vm, IIR) & 0x0F, 0x02);
	/* Writing THR: the character leaves, THRE comes back as a new edge. */
	int before = fake_irq_raises(IRQ_COM1);
	outb(vm, THR, 'x');
	cr_assert_eq(fake_irq_level(IRQ_COM1), 1);
	cr_assert_eq(fake_irq_raises(IRQ_COM1), before + 1);
	outb(vm, IER, 0x00);
	cr_assert_eq(fake_irq_level(IRQ_COM1), 0);
}

Test(serial, iir_priority_order)
{
	outb(vm, MCR, 0x10);   /* loopback, all modem outputs low */
	outb(vm, IER, 0x0F);
	(void)inb(vm, MSR);
	(void)inb(vm, IIR);    /* consume the THRE from enabling ETBEI */
	/* 16450 mode (no FIFO): two characters overrun the RBR. */
	outb(vm, THR, 'a');
	outb(vm, THR, 'b');
	outb(vm, MCR, 0x12);   /* RTS -> CTS: a modem status change */
	cr_assert_eq(inb(vm, IIR), 0x06, "line status first");
	cr_assert_eq(inb(vm, LSR) & 0x03, 0x03, "DR and OE");
	cr_assert_eq(inb(vm, IIR), 0x04, "then received data");
	cr_assert_eq(inb(vm, RBR), 'b', "16450 overrun keeps the newest");
	cr_assert_eq(inb(vm, IIR), 0x02, "then THRE");
	cr_assert_eq(inb(vm, IIR), 0x00, "then modem status");
	cr_assert_eq(inb(vm, MSR) & 0x01, 0x01, "DCTS");
	cr_assert_eq(inb(vm, IIR), 0x01, "nothing left");
	cr_assert_eq(fake_irq_level(IRQ_COM1), 0);
}

Test(serial, loopback_msr_and_data)
{
	char buf[8];

	/* What Linux's autoconfig loopback test does. */
	outb(vm, MCR, 0x10 | 0x0A);
	cr_assert_eq(inb(vm, MSR) & 0xF0, 0x90, "DCD|CTS, got %#x", inb(vm, MSR));
	outb(vm, MCR, 0x10 | 0x05);
	cr_assert_eq(inb(vm, MSR) & 0xF0, 0x60, "DSR|RI");
	outb(vm, THR, 'L');
	cr_assert_eq(inb(vm, LSR) & 0x01, 0x01);
	cr_assert_eq(inb(vm, RBR), 'L');
	cr_assert_eq(inb(vm, LSR) & 0x01, 0x00);
	cr_assert_eq(drain_output(buf, sizeof(buf)), 0, "loopback data must not leave");
	outb(vm, MCR, 0x0B);
	cr_assert_eq(inb(vm, MSR) & 0xF0, 0xB0, "outside loopback: DCD|DSR|CTS");
}

Test(serial, dlab_divisor_latch)
{
	char buf[8];

	outb(vm, IER, 0x05);
	outb(vm, LCR, 0x83);
	outb(vm, DLL, 0x0C);
	outb(vm, DLM, 0x01);
	cr_assert_eq(inb(vm, DLL), 0x0C);
	cr_assert_eq(inb(vm, DLM), 0x01);
	outb(vm, LCR, 0x03);
	cr_assert_eq(inb(vm, IER), 0x05, "IER survives DLAB");
	cr_assert_eq(drain_output(buf, sizeof(buf)), 0, "DLL write is not THR");
	outb(vm, IER, 0xFF);
	cr_assert_eq(inb(vm, IER), 0x0F, "IER high nibble reads 0");
	outb(vm, LCR, 0x80);
	cr_assert_eq(inb(vm, DLL), 0x0C);
	outb(vm, LCR, 0x00);
	outb(vm, SCR, 0xA5);
	cr_assert_eq(inb(vm, SCR), 0xA5);
}

Test(serial, fifo_ordering_and_overrun)
{
	outb(vm, FCR, 0x07);
	cr_assert_eq(inb(vm, IIR) & 0xC0, 0xC0, "16550A FIFO bits");
	outb(vm, MCR, 0x10);
	for (int i = 0; i < 16; i++)
		outb(vm, THR, (uint8_t)('A' + i));
	cr_assert_eq(inb(vm, LSR) & 0x02, 0, "16 bytes fit");
	outb(vm, THR, '!');
	cr_assert_eq(inb(vm, LSR) & 0x03, 0x03, "17th overruns");
	for (int i = 0; i < 16; i++)
		cr_assert_eq(inb(vm, RBR), 'A' + i);
	cr_assert_eq(inb(vm, LSR) & 0x01, 0);
	/* FCR clear-rx empties the FIFO. */
	outb(vm, THR, 'z');
	outb(vm, FCR, 0x03);
	cr_assert_eq(inb(vm, LSR) & 0x01, 0);
}

Test(serial, rx_trigger_level_iir)
{
	outb(vm, FCR, 0x81);   /* FIFO on, trigger 8 */
	outb(vm, MCR, 0x10);
	outb(vm, IER, 0x01);
	outb(vm, THR, '1');
	cr_assert_eq(inb(vm, IIR), 0xCC, "below trigger: timeout interrupt");
	for (int i = 0; i < 7; i++)
		outb(vm, THR, '2');
	cr_assert_eq(inb(vm, IIR), 0xC4, "at trigger: rx data available");
	cr_assert_eq(fake_irq_level(IRQ_COM1), 1);
}

Test(serial, output_not_draining_never_blocks)
{
	uint64_t t0, t1;

	/* A 4 KiB pipe nobody reads, then 20000 bytes of output. */
	fcntl(out_pipe[1], F_SETPIPE_SZ, 4096);
	t0 = fake_mono_ns();
	for (int i = 0; i < 20000; i++)
		outb(vm, THR, 'x');
	t1 = fake_mono_ns();
	cr_assert_lt(t1 - t0, 3000000000ull, "took %llu ns", (unsigned long long)(t1 - t0));
	cr_assert_eq(inb(vm, LSR) & 0x60, 0x60);
}

/* Console input tests own their own device (with an input pipe). */
static struct vm *ivm;
static int in_pipe[2], iout_pipe[2];

static void isetup(void)
{
	ivm = fake_vm_new(256 << 20);
	cr_assert_eq(pipe2(in_pipe, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(iout_pipe, O_CLOEXEC), 0);
	cr_assert_eq(serial__init(ivm, COM, IRQ_COM1, in_pipe[0], iout_pipe[1]), 0);
}

static void iteardown(void)
{
	serial__exit(ivm);
	fake_vm_free(ivm);
	close(in_pipe[0]);
	if (in_pipe[1] >= 0)
		close(in_pipe[1]);
	close(iout_pipe[0]);
	close(iout_pipe[1]);
}

static bool wait_dr(struct vm *v, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (inb(v, LSR) & 0x01)
			return true;
		usleep(1000);
	}
	return false;
}

TestSuite(serial_input, .init = isetup, .fini = iteardown, .timeout = 20);

Test(serial_input, pipe_reaches_rbr_with_irq)
{
	outb(ivm, FCR, 0x01);
	outb(ivm, IER, 0x01);
	cr_assert_eq(write(in_pipe[1], "hi", 2), 2);
	cr_assert(wait_dr(ivm, 2000), "DR never set");
	/* Give the thread time to queue the second byte too. */
	for (int i = 0; i < 2000 && fake_irq_level(IRQ_COM1) == 0; i++)
		usleep(1000);
	cr_assert_eq(fake_irq_level(IRQ_COM1), 1);
	cr_assert_eq(inb(ivm, RBR), 'h');
	cr_assert(wait_dr(ivm, 2000));
	cr_assert_eq(inb(ivm, RBR), 'i');
	cr_assert_eq(inb(ivm, LSR) & 0x01, 0);
	cr_assert_eq(fake_irq_level(IRQ_COM1), 0);
}

Test(serial_input, full_fifo_waits_instead_of_dropping)
{
	char msg[100];

	for (unsigned i = 0; i < sizeof(msg); i++)
		msg[i] = (char)(' ' + i % 90);
	outb(ivm, FCR, 0x01);
	cr_assert_eq(write(in_pipe[1], msg, sizeof(msg)), (ssize_t)sizeof(msg));
	usleep(100000);   /* let the thread fill the FIFO and block */
	for (unsigned i = 0; i < sizeof(msg); i++) {
		cr_assert(wait_dr(ivm, 2000), "byte %u never arrived", i);
		cr_assert_eq(inb(ivm, LSR) & 0x02, 0, "overrun at byte %u", i);
		cr_assert_eq(inb(ivm, RBR), (uint8_t)msg[i], "byte %u", i);
	}
}

Test(serial_input, eof_stops_reading_and_exit_joins)
{
	cr_assert_eq(write(in_pipe[1], "z", 1), 1);
	close(in_pipe[1]);
	in_pipe[1] = -1;
	cr_assert(wait_dr(ivm, 2000));
	cr_assert_eq(inb(ivm, RBR), 'z');
	usleep(50000);
	cr_assert_eq(inb(ivm, LSR) & 0x01, 0, "nothing after EOF");
	cr_assert_eq(fake_stop_reason(ivm), VM_STOP_NONE, "a pipe has no escape");
}

Test(serial_input, loopback_holds_host_input)
{
	outb(ivm, FCR, 0x01);
	outb(ivm, MCR, 0x10);
	cr_assert_eq(write(in_pipe[1], "q", 1), 1);
	usleep(50000);
	cr_assert_eq(inb(ivm, LSR) & 0x01, 0, "host input must wait during loopback");
	outb(ivm, MCR, 0x0B);
	cr_assert(wait_dr(ivm, 2000));
	cr_assert_eq(inb(ivm, RBR), 'q');
}

/* Escapes only apply to an interactive terminal: use a pty in raw mode. */
Test(serial_tty, ctrl_a_escapes, .timeout = 20)
{
	struct vm *v = fake_vm_new(256 << 20);
	int master, slave, devnull;
	struct termios tio;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	cr_assert_geq(slave, 0);
	cr_assert_eq(tcgetattr(slave, &tio), 0);
	cfmakeraw(&tio);
	cr_assert_eq(tcsetattr(slave, TCSANOW, &tio), 0);
	devnull = open("/dev/null", O_WRONLY);
	cr_assert_eq(serial__init(v, COM, IRQ_COM1, slave, devnull), 0);
	outb(v, FCR, 0x01);

	/* C-a C-a: one literal C-a; C-a h: swallowed (help); then 'k'. */
	cr_assert_eq(write(master, "\x01\x01\x01hk", 5), 5);
	cr_assert(wait_dr(v, 2000));
	cr_assert_eq(inb(v, RBR), 0x01);
	cr_assert(wait_dr(v, 2000));
	cr_assert_eq(inb(v, RBR), 'k');
	cr_assert_eq(fake_stop_reason(v), VM_STOP_NONE);

	cr_assert_eq(write(master, "\x01x", 2), 2);
	for (int i = 0; i < 2000 && fake_stop_reason(v) == VM_STOP_NONE; i++)
		usleep(1000);
	cr_assert_eq(fake_stop_reason(v), VM_STOP_SIGNAL);
	cr_assert_eq(v->stop_status, 0);
	cr_assert_eq(inb(v, LSR) & 0x01, 0, "escape bytes are not data");

	serial__exit(v);
	fake_vm_free(v);
	close(slave);
	close(master);
	close(devnull);
}

/* The register sequence of Linux's 8250 autoconfig() and
 * serial8250_do_startup() (drivers/tty/serial/8250/8250_port.c), replayed:
 * the port must be identified as a 16550A without THRE/TXEN bugs. */
Test(serial, linux_8250_probe_sees_a_working_16550a)
{
	uint8_t scratch, scratch2, scratch3, save_mcr, save_lcr, status1, status2, iir1, iir, lsr;

	/* Existence test through IER. */
	scratch = inb(vm, IER);
	outb(vm, IER, 0);
	scratch2 = inb(vm, IER) & 0x0F;
	outb(vm, IER, 0x0F);
	scratch3 = inb(vm, IER) & 0x0F;
	outb(vm, IER, scratch);
	cr_assert(scratch2 == 0 && scratch3 == 0x0F);
	/* Loopback test. */
	save_mcr = inb(vm, MCR);
	save_lcr = inb(vm, LCR);
	outb(vm, MCR, 0x10 | 0x0A);
	status1 = inb(vm, MSR) & 0xF0;
	outb(vm, MCR, save_mcr);
	cr_assert_eq(status1, 0x90);
	/* FIFO type. */
	outb(vm, LCR, 0xBF);
	outb(vm, FCR, 0);         /* EFR on enhanced parts */
	outb(vm, LCR, 0);
	outb(vm, FCR, 0x01);
	cr_assert_eq(inb(vm, IIR) >> 6, 3, "16550A FIFO signature");
	/* No EFR with DLAB (ST16C650V1) or with LCR=0xBF. */
	outb(vm, LCR, 0x80);
	cr_assert_neq(inb(vm, IIR), 0);
	outb(vm, LCR, 0xBF);
	cr_assert_neq(inb(vm, IIR), 0);
	/* Not a National SuperIO: EXCR1 does not follow MCR.LOOP. */
	outb(vm, LCR, 0);
	status1 = inb(vm, MCR);
	outb(vm, LCR, 0xE0);
	status2 = inb(vm, IIR);
	if (!((status2 ^ status1) & 0x10)) {
		outb(vm, LCR, 0);
		outb(vm, MCR, status1 ^ 0x10);
		outb(vm, LCR, 0xE0);
		status2 = inb(vm, IIR);
		outb(vm, LCR, 0);
		outb(vm, MCR, status1);
		cr_assert_eq((status2 ^ status1) & 0x10, 0, "looks like an NS16550A");
	}
	/* Not a TI16750: IIR bit 5 never follows FCR bit 5. */
	outb(vm, LCR, 0);
	outb(vm, FCR, 0x21);
	status1 = inb(vm, IIR) & 0xE0;
	outb(vm, FCR, 0);
	outb(vm, LCR, 0x80);
	outb(vm, FCR, 0x21);
	status2 = inb(vm, IIR) & 0xE0;
	outb(vm, FCR, 0);
	outb(vm, LCR, 0);
	cr_assert_not(status1 == 0xC0 && status2 == 0xE0, "looks like a 16750");
	/* Not an XScale UART: IER.UUE (bit 6) does not stick. */
	outb(vm, IER, 0x40);
	cr_assert_eq(inb(vm, IER) & 0x40, 0);
	outb(vm, IER, 0);
	outb(vm, LCR, save_lcr);

	/* Startup: clear FIFOs and interrupts, then the THRE tests. */
	outb(vm, FCR, 0x01);
	outb(vm, FCR, 0x07);
	outb(vm, FCR, 0);
	(void)inb(vm, LSR);
	(void)inb(vm, RBR);
	(void)inb(vm, IIR);
	(void)inb(vm, MSR);
	cr_assert_neq(inb(vm, LSR), 0xFF);
	outb(vm, IER, 0x02);
	iir1 = inb(vm, IIR);
	outb(vm, IER, 0);
	outb(vm, IER, 0x02);
	iir = inb(vm, IIR);
	outb(vm, IER, 0);
	cr_assert_not(!(iir1 & 0x01) && (iir & 0x01), "UART_BUG_THRE would be set");
	outb(vm, MCR, 0x0B);
	outb(vm, IER, 0x02);
	lsr = inb(vm, LSR);
	iir = inb(vm, IIR);
	outb(vm, IER, 0);
	cr_assert_not((lsr & 0x40) && (iir & 0x01), "UART_BUG_TXEN would be set");
}
