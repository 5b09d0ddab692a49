/* RTC/CMOS, i8042, ACPI PM, isa-debug-exit and the legacy port sink. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "devices/devices.h"
#include "test_devices_fake.h"

/* ---- RTC ---- */

static uint8_t cmos_read(struct vm *vm, uint8_t idx)
{
	outb(vm, PORT_RTC, idx);
	return inb(vm, PORT_RTC + 1);
}

static void cmos_write(struct vm *vm, uint8_t idx, uint8_t v)
{
	outb(vm, PORT_RTC, idx);
	outb(vm, PORT_RTC + 1, v);
}

static int dec(uint8_t v, bool bcd)
{
	return bcd ? (v >> 4) * 10 + (v & 0x0F) : v;
}

/* Read the clock the way Linux's mc146818_get_time does and convert. */
static time_t rtc_time(struct vm *vm, bool bcd, bool h24)
{
	struct tm tm = { 0 };
	uint8_t hr;

	while (cmos_read(vm, 0x0A) & 0x80)
		;
	tm.tm_sec = dec(cmos_read(vm, 0), bcd);
	tm.tm_min = dec(cmos_read(vm, 2), bcd);
	hr = cmos_read(vm, 4);
	tm.tm_hour = dec(hr & 0x7F, bcd);
	if (!h24)
		tm.tm_hour = tm.tm_hour % 12 + ((hr & 0x80) ? 12 : 0);
	tm.tm_mday = dec(cmos_read(vm, 7), bcd);
	tm.tm_mon = dec(cmos_read(vm, 8), bcd) - 1;
	tm.tm_year = dec(cmos_read(vm, 0x32), bcd) * 100 + dec(cmos_read(vm, 9), bcd) - 1900;
	return timegm(&tm);
}

static void check_rtc_matches_host(struct vm *vm, bool bcd, bool h24)
{
	for (int tries = 0; tries < 3; tries++) {
		time_t t0 = time(NULL), t = rtc_time(vm, bcd, h24), t1 = time(NULL);

		if (t >= t0 && t <= t1)
			return;
		cr_assert_leq(llabs((long long)(t - t0)), 2, "rtc %lld host %lld (bcd=%d 24h=%d)",
			      (long long)t, (long long)t0, bcd, h24);
	}
}

Test(rtc, bcd_and_binary_time_match_host, .timeout = 20)
{
	struct vm *vm = fake_vm_new(256 << 20);

	cr_assert_eq(rtc__init(vm), 0);
	cr_assert_eq(cmos_read(vm, 0x0B) & 0x06, 0x02, "default BCD, 24h");
	check_rtc_matches_host(vm, true, true);
	cmos_write(vm, 0x0B, 0x06);
	check_rtc_matches_host(vm, false, true);
	cmos_write(vm, 0x0B, 0x04);
	check_rtc_matches_host(vm, false, false);
	cmos_write(vm, 0x0B, 0x00);
	check_rtc_matches_host(vm, true, false);
	/* Weekday agrees too (1 = Sunday). */
	cmos_write(vm, 0x0B, 0x06);
	{
		time_t now = time(NULL);
		struct tm tm;
		uint8_t wday = cmos_read(vm, 6);

		gmtime_r(&now, &tm);
		cr_assert(wday == tm.tm_wday + 1 || wday == (tm.tm_wday + 1) % 7 + 1);
	}
	rtc__exit(vm);
	fake_vm_free(vm);
}

Test(rtc, guest_sets_the_clock, .timeout = 20)
{
	struct vm *vm = fake_vm_new(256 << 20);
	struct tm want = { .tm_year = 2001 - 1900, .tm_mon = 8, .tm_mday = 9,
			   .tm_hour = 13, .tm_min = 46, .tm_sec = 40 };
	time_t target = timegm(&want), got;

	cr_assert_eq(rtc__init(vm), 0);
	cmos_write(vm, 0x0B, 0x82);          /* SET, BCD, 24h */
	cmos_write(vm, 0x00, 0x40);
	cmos_write(vm, 0x02, 0x46);
	cmos_write(vm, 0x04, 0x13);
	cmos_write(vm, 0x07, 0x09);
	cmos_write(vm, 0x08, 0x09);
	cmos_write(vm, 0x09, 0x01);
	cmos_write(vm, 0x32, 0x20);
	cr_assert_eq(cmos_read(vm, 0x02), 0x46, "SET freezes the registers");
	cmos_write(vm, 0x0B, 0x02);
	got = rtc_time(vm, true, true);
	cr_assert(got >= target && got <= target + 2, "got %lld want %lld",
		  (long long)got, (long long)target);
	rtc__exit(vm);
	fake_vm_free(vm);
}

Test(rtc, status_registers_and_cmos_ram)
{
	struct vm *vm = fake_vm_new(256 << 20);

	cr_assert_eq(rtc__init(vm), 0);
	cr_assert_eq(cmos_read(vm, 0x0D), 0x80, "VRT");
	cmos_write(vm, 0x0D, 0x00);
	cr_assert_eq(cmos_read(vm, 0x0D), 0x80, "D is read-only");
	cr_assert_eq(cmos_read(vm, 0x0A) & 0x7F, 0x26);
	cr_assert_eq(cmos_read(vm, 0x0C) & 0x80, 0, "no IRQF with interrupts off");
	cmos_write(vm, 0x40, 0x5A);
	cmos_write(vm, 0x7F, 0xA5);
	cr_assert_eq(cmos_read(vm, 0x40), 0x5A);
	/* Index bit 7 is NMI-disable, not part of the address. */
	cr_assert_eq(cmos_read(vm, 0x80 | 0x40), 0x5A);
	cr_assert_eq(cmos_read(vm, 0xFF), 0xA5);
	cr_assert_eq(inb(vm, PORT_RTC), 0xFF, "index port is write-only");
	rtc__exit(vm);
	fake_vm_free(vm);
}

Test(rtc, register_c_flags, .timeout = 20)
{
	struct vm *vm = fake_vm_new(256 << 20);
	uint8_t c;

	cr_assert_eq(rtc__init(vm), 0);
	(void)cmos_read(vm, 0x0C);
	/* PF at 1024 Hz (rate 6) without PIE: flag but no IRQF. */
	usleep(3000);
	c = cmos_read(vm, 0x0C);
	cr_assert_eq(c & 0xC0, 0x40, "PF only: %#x", c);
	cmos_write(vm, 0x0B, 0x02 | 0x40);   /* PIE */
	usleep(3000);
	c = cmos_read(vm, 0x0C);
	cr_assert_eq(c & 0xC0, 0xC0, "PF and IRQF: %#x", c);
	/* UF once per second, with UIE -> IRQF. */
	cmos_write(vm, 0x0A, 0x20);          /* rate 0: no PF */
	cmos_write(vm, 0x0B, 0x02 | 0x10);
	(void)cmos_read(vm, 0x0C);
	usleep(1100000);
	c = cmos_read(vm, 0x0C);
	cr_assert_eq(c & 0xD0, 0x90, "UF and IRQF: %#x", c);
	c = cmos_read(vm, 0x0C);
	cr_assert_eq(c & 0x40, 0, "no PF at rate 0");
	rtc__exit(vm);
	fake_vm_free(vm);
}

static bool wait_irq(unsigned gsi, int level, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (fake_irq_level(gsi) == level)
			return true;
		usleep(1000);
	}
	return fake_irq_level(gsi) == level;
}

Test(rtc, update_periodic_and_alarm_interrupts, .timeout = 30)
{
	struct vm *vm = fake_vm_new(256 << 20);
	uint8_t c;

	cr_assert_eq(rtc__init(vm), 0);
	usleep(1200000);
	cr_assert_eq(fake_irq_raises(IRQ_RTC), 0, "no interrupt while none is enabled");

	/* Update-ended: once per second, held until C is read. */
	cmos_write(vm, 0x0B, 0x02 | 0x10);
	cr_assert(wait_irq(IRQ_RTC, 1, 1500), "no update interrupt");
	usleep(20000);
	cr_assert_eq(fake_irq_level(IRQ_RTC), 1, "held until C is read");
	c = cmos_read(vm, 0x0C);
	cr_assert_eq(c & 0x90, 0x90, "UF|IRQF: %#x", c);
	cr_assert_eq(fake_irq_level(IRQ_RTC), 0);
	cr_assert(wait_irq(IRQ_RTC, 1, 1500), "no second update interrupt");
	cmos_write(vm, 0x0B, 0x02);
	cr_assert_eq(fake_irq_level(IRQ_RTC), 0, "disabling UIE drops the line");
	(void)cmos_read(vm, 0x0C);

	/* Periodic at 8 Hz (RS = 13): several raises in half a second. */
	int before = fake_irq_raises(IRQ_RTC);
	uint64_t t0 = fake_mono_ns(), t1;
	cmos_write(vm, 0x0A, 0x20 | 13);
	cmos_write(vm, 0x0B, 0x02 | 0x40);
	for (int i = 0; i < 50; i++) {
		usleep(10000);
		if (fake_irq_level(IRQ_RTC))
			(void)cmos_read(vm, 0x0C);
	}
	t1 = fake_mono_ns();
	int n = fake_irq_raises(IRQ_RTC) - before;
	/* Ticks every 125 ms; a loaded host may stretch the loop. */
	int most = (int)((t1 - t0) / 125000000ull) + 1;
	cr_assert(n >= 2 && n <= most, "8 Hz over %llu ms gave %d interrupts",
		  (unsigned long long)((t1 - t0) / 1000000), n);
	cmos_write(vm, 0x0B, 0x02);
	(void)cmos_read(vm, 0x0C);

	/* Alarm with every field "don't care": fires at the next second. */
	cmos_write(vm, 0x01, 0xC0);
	cmos_write(vm, 0x03, 0xC0);
	cmos_write(vm, 0x05, 0xC0);
	cmos_write(vm, 0x0B, 0x02 | 0x20);
	cr_assert(wait_irq(IRQ_RTC, 1, 1500), "no alarm interrupt");
	c = cmos_read(vm, 0x0C);
	cr_assert_eq(c & 0xA0, 0xA0, "AF|IRQF: %#x", c);
	/* An alarm that cannot match (hour 0x25 in BCD) never fires. */
	cmos_write(vm, 0x05, 0x25);
	(void)cmos_read(vm, 0x0C);
	usleep(1200000);
	cr_assert_eq(fake_irq_level(IRQ_RTC), 0);
	cr_assert_eq(cmos_read(vm, 0x0C) & 0x20, 0);
	rtc__exit(vm);
	fake_vm_free(vm);
}

Test(rtc, memory_size_bytes_256m)
{
	struct vm *vm = fake_vm_new(256ull << 20);

	cr_assert_eq(rtc__init(vm), 0);
	cr_assert_eq(cmos_read(vm, 0x15) | cmos_read(vm, 0x16) << 8, 640);
	cr_assert_eq(cmos_read(vm, 0x17) | cmos_read(vm, 0x18) << 8, 65535, "capped");
	cr_assert_eq(cmos_read(vm, 0x30) | cmos_read(vm, 0x31) << 8, 65535);
	cr_assert_eq(cmos_read(vm, 0x34) | cmos_read(vm, 0x35) << 8, (256 - 16) * 16);
	cr_assert_eq(cmos_read(vm, 0x5b) | cmos_read(vm, 0x5c) << 8 | cmos_read(vm, 0x5d) << 16, 0);
	rtc__exit(vm);
	fake_vm_free(vm);
}

Test(rtc, memory_size_bytes_5g_and_small)
{
	struct vm *vm = fake_vm_new(5ull << 30);

	cr_assert_eq(rtc__init(vm), 0);
	cr_assert_eq(cmos_read(vm, 0x15) | cmos_read(vm, 0x16) << 8, 640);
	cr_assert_eq(cmos_read(vm, 0x17) | cmos_read(vm, 0x18) << 8, 65535);
	/* Below 4G there are 3 GiB: (3G - 16M) / 64K */
	cr_assert_eq(cmos_read(vm, 0x34) | cmos_read(vm, 0x35) << 8, (3072 - 16) * 16);
	/* 2 GiB above 4G in 64K units */
	cr_assert_eq(cmos_read(vm, 0x5b) | cmos_read(vm, 0x5c) << 8 | cmos_read(vm, 0x5d) << 16,
		     2 * 16384);
	rtc__exit(vm);
	fake_vm_free(vm);

	vm = fake_vm_new(16ull << 20);
	cr_assert_eq(rtc__init(vm), 0);
	cr_assert_eq(cmos_read(vm, 0x17) | cmos_read(vm, 0x18) << 8, 15 * 1024);
	cr_assert_eq(cmos_read(vm, 0x34) | cmos_read(vm, 0x35) << 8, 0);
	rtc__exit(vm);
	fake_vm_free(vm);
}

/* ---- i8042 ---- */

static struct vm *kvm_;

static void kbd_setup(void)
{
	kvm_ = fake_vm_new(256 << 20);
	cr_assert_eq(i8042__init(kvm_), 0);
}

static void kbd_teardown(void)
{
	i8042__exit(kvm_);
	fake_vm_free(kvm_);
}

static uint8_t kbd_read(void)
{
	cr_assert_neq(inb(kvm_, PORT_I8042_CMD) & 0x01, 0, "OBF expected");
	return inb(kvm_, PORT_I8042_DATA);
}

TestSuite(i8042, .init = kbd_setup, .fini = kbd_teardown, .timeout = 20);

Test(i8042, self_test_and_interface_tests)
{
	cr_assert_eq(inb(kvm_, PORT_I8042_CMD) & 0x01, 0, "empty at start");
	outb(kvm_, PORT_I8042_CMD, 0xAA);
	cr_assert_eq(kbd_read(), 0x55);
	cr_assert_eq(inb(kvm_, PORT_I8042_CMD) & 0x01, 0);
	cr_assert_neq(inb(kvm_, PORT_I8042_CMD) & 0x04, 0, "system flag");
	outb(kvm_, PORT_I8042_CMD, 0xAB);
	cr_assert_eq(kbd_read(), 0x00);
	outb(kvm_, PORT_I8042_CMD, 0xA9);
	cr_assert_eq(kbd_read(), 0x00);
}

Test(i8042, command_byte_and_port_enables)
{
	outb(kvm_, PORT_I8042_CMD, 0x20);
	cr_assert_eq(kbd_read(), 0x47);
	outb(kvm_, PORT_I8042_CMD, 0xA7);
	outb(kvm_, PORT_I8042_CMD, 0xAD);
	outb(kvm_, PORT_I8042_CMD, 0x20);
	cr_assert_eq(kbd_read(), 0x77);
	outb(kvm_, PORT_I8042_CMD, 0xA8);
	outb(kvm_, PORT_I8042_CMD, 0xAE);
	outb(kvm_, PORT_I8042_CMD, 0x60);
	outb(kvm_, PORT_I8042_DATA, 0x44);
	outb(kvm_, PORT_I8042_CMD, 0x20);
	cr_assert_eq(kbd_read(), 0x44);
}

Test(i8042, keyboard_commands_and_irq)
{
	outb(kvm_, PORT_I8042_DATA, 0xFF);
	cr_assert_eq(fake_irq_level(IRQ_KBD), 1, "OBF with KBD_INT raises IRQ1");
	cr_assert_eq(kbd_read(), 0xFA);
	cr_assert_eq(fake_irq_level(IRQ_KBD), 1, "next byte pending");
	cr_assert_eq(kbd_read(), 0xAA);
	cr_assert_eq(fake_irq_level(IRQ_KBD), 0);
	cr_assert_eq(fake_irq_raises(IRQ_KBD), 2, "one edge per byte");
	outb(kvm_, PORT_I8042_DATA, 0xF2);
	cr_assert_eq(kbd_read(), 0xFA);
	cr_assert_eq(kbd_read(), 0xAB);
	cr_assert_eq(kbd_read(), 0x83);
	outb(kvm_, PORT_I8042_DATA, 0xF4);
	cr_assert_eq(kbd_read(), 0xFA);
	outb(kvm_, PORT_I8042_DATA, 0xF5);
	cr_assert_eq(kbd_read(), 0xFA);
	outb(kvm_, PORT_I8042_DATA, 0xED);   /* LEDs + parameter */
	cr_assert_eq(kbd_read(), 0xFA);
	outb(kvm_, PORT_I8042_DATA, 0x07);
	cr_assert_eq(kbd_read(), 0xFA);
	outb(kvm_, PORT_I8042_DATA, 0x42);   /* unknown */
	cr_assert_eq(kbd_read(), 0xFA);
	cr_assert_eq(inb(kvm_, PORT_I8042_CMD) & 0x01, 0);
	/* With KBD_INT off, no interrupt. */
	outb(kvm_, PORT_I8042_CMD, 0x60);
	outb(kvm_, PORT_I8042_DATA, 0x44);
	outb(kvm_, PORT_I8042_DATA, 0xF4);
	cr_assert_eq(fake_irq_level(IRQ_KBD), 0);
	cr_assert_eq(kbd_read(), 0xFA);
}

Test(i8042, aux_loop_and_mouse)
{
	outb(kvm_, PORT_I8042_CMD, 0xD3);
	outb(kvm_, PORT_I8042_DATA, 0x5A);
	cr_assert_eq(inb(kvm_, PORT_I8042_CMD) & 0x21, 0x21, "AUX data in buffer");
	cr_assert_eq(fake_irq_level(IRQ_MOUSE), 1);
	cr_assert_eq(kbd_read(), 0x5A);
	cr_assert_eq(fake_irq_level(IRQ_MOUSE), 0);
	outb(kvm_, PORT_I8042_CMD, 0xD4);
	outb(kvm_, PORT_I8042_DATA, 0xF2);
	cr_assert_eq(kbd_read(), 0xFA);
	cr_assert_eq(kbd_read(), 0x00, "plain PS/2 mouse");
}

/* Linux's i8042 probe (drivers/input/serio/i8042.c), replayed: flush,
 * self test, CTR handshake, AUX loop/IRQ test and AUX bit toggling. */
Test(i8042, linux_probe_sequence)
{
	uint8_t ctr[2];

	for (int i = 0; i < 16 && (inb(kvm_, PORT_I8042_CMD) & 0x01); i++)
		(void)inb(kvm_, PORT_I8042_DATA);
	cr_assert_eq(inb(kvm_, PORT_I8042_CMD) & 0x01, 0, "flush leaves it empty");
	outb(kvm_, PORT_I8042_CMD, 0xAA);
	cr_assert_eq(kbd_read(), 0x55);
	/* CTR read twice until stable, then written back with KBD enabled. */
	for (int n = 0; n < 2; n++) {
		outb(kvm_, PORT_I8042_CMD, 0x20);
		ctr[n] = kbd_read();
	}
	cr_assert_eq(ctr[0], ctr[1]);
	ctr[0] = (uint8_t)((ctr[0] & ~0x10) | 0x01);
	outb(kvm_, PORT_I8042_CMD, 0x60);
	outb(kvm_, PORT_I8042_DATA, ctr[0]);
	/* AUX loopback with the result tagged as AUX data on IRQ 12. */
	outb(kvm_, PORT_I8042_CMD, 0xD3);
	outb(kvm_, PORT_I8042_DATA, 0xA5);
	cr_assert_eq(inb(kvm_, PORT_I8042_CMD) & 0x21, 0x21);
	cr_assert_eq(fake_irq_level(IRQ_MOUSE), 1);
	cr_assert_eq(fake_irq_level(IRQ_KBD), 0, "AUX data does not raise IRQ 1");
	cr_assert_eq(inb(kvm_, PORT_I8042_DATA), 0xA5);
	/* i8042_toggle_aux(false/true) checks CTR bit 5 follows. */
	outb(kvm_, PORT_I8042_CMD, 0xA7);
	outb(kvm_, PORT_I8042_CMD, 0x20);
	cr_assert_neq(kbd_read() & 0x20, 0);
	outb(kvm_, PORT_I8042_CMD, 0xA8);
	outb(kvm_, PORT_I8042_CMD, 0x20);
	cr_assert_eq(kbd_read() & 0x20, 0);
	/* psmouse: reset, then the status request (3 bytes after ACK). */
	outb(kvm_, PORT_I8042_CMD, 0xD4);
	outb(kvm_, PORT_I8042_DATA, 0xFF);
	cr_assert_eq(kbd_read(), 0xFA);
	cr_assert_eq(kbd_read(), 0xAA);
	cr_assert_eq(kbd_read(), 0x00);
	outb(kvm_, PORT_I8042_CMD, 0xD4);
	outb(kvm_, PORT_I8042_DATA, 0xE9);
	cr_assert_eq(kbd_read(), 0xFA);
	(void)kbd_read();
	(void)kbd_read();
	cr_assert_eq(kbd_read(), 100, "sample rate");
	cr_assert_eq(inb(kvm_, PORT_I8042_CMD) & 0x01, 0);
}

Test(i8042, pulse_reset_line)
{
	outb(kvm_, PORT_I8042_CMD, 0xFF);   /* pulse nothing */
	cr_assert_eq(fake_stop_reason(kvm_), VM_STOP_NONE);
	outb(kvm_, PORT_I8042_CMD, 0xFE);
	cr_assert_eq(fake_stop_reason(kvm_), VM_STOP_RESET);
}

/* ---- ACPI PM ---- */

#define PM1_STS (PORT_ACPI_PM_BASE + 0)
#define PM1_EN  (PORT_ACPI_PM_BASE + 2)
#define PM1_CNT (PORT_ACPI_PM_BASE + 4)
#define PM_TMR  (PORT_ACPI_PM_BASE + 8)

Test(acpi_pm, s5_powers_off)
{
	struct vm *vm = fake_vm_new(256 << 20);

	cr_assert_eq(acpi_pm__init(vm), 0);
	cr_assert_eq(inw(vm, PM1_CNT) & 1, 1, "SCI_EN at reset");
	outw(vm, PM1_CNT, (uint16_t)(ACPI_S5_SLP_TYP << 10));
	cr_assert_eq(fake_stop_reason(vm), VM_STOP_NONE, "SLP_TYP without SLP_EN");
	outw(vm, PM1_CNT, (uint16_t)(ACPI_S5_SLP_TYP << 10 | 0x2000 | 1));
	cr_assert_eq(fake_stop_reason(vm), VM_STOP_POWEROFF);
	acpi_pm__exit(vm);
	fake_vm_free(vm);
}

Test(acpi_pm, other_sleep_types_do_not_stop)
{
	struct vm *vm = fake_vm_new(256 << 20);

	cr_assert_eq(acpi_pm__init(vm), 0);
	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ == ACPI_S5_SLP_TYP)
			continue;
		outw(vm, PM1_CNT, (uint16_t)(typ << 10 | 0x2000));
		cr_assert_eq(fake_stop_reason(vm), VM_STOP_NONE, "SLP_TYP %u", typ);
		cr_assert_neq(inw(vm, PM1_STS) & 0x8000, 0, "WAK_STS after sleep %u", typ);
		outw(vm, PM1_STS, 0x8000);
		cr_assert_eq(inw(vm, PM1_STS) & 0x8000, 0, "write-1-to-clear");
		cr_assert_eq(inw(vm, PM1_CNT) & 0x2000, 0, "SLP_EN reads 0");
	}
	outw(vm, PM1_EN, 0xFFFF);
	/* TMR, GBL, PWRBTN, SLPBTN, RTC enables are storage; reserved bits are not. */
	cr_assert_eq(inw(vm, PM1_EN), 0x0721, "architected PM1 enable bits stick");
	acpi_pm__exit(vm);
	fake_vm_free(vm);
}

Test(acpi_pm, power_button_raises_sci)
{
	struct vm *vm = fake_vm_new(256 << 20);

	cr_assert_eq(acpi_pm__init(vm), 0);
	acpi_pm__power_button(vm);
	cr_assert_neq(inw(vm, PM1_STS) & 0x0100, 0);
	cr_assert_eq(fake_irq_level(IRQ_SCI), 0, "not enabled yet");
	outw(vm, PM1_EN, 0x0100);
	cr_assert_eq(fake_irq_level(IRQ_SCI), 1);
	outw(vm, PM1_STS, 0x0100);
	cr_assert_eq(fake_irq_level(IRQ_SCI), 0);
	acpi_pm__exit(vm);
	fake_vm_free(vm);
}

Test(acpi_pm, pm_timer_runs_at_3_58_mhz)
{
	struct vm *vm = fake_vm_new(256 << 20);
	uint64_t t0, t1, t2, t3;
	uint32_t a, b, d;

	cr_assert_eq(acpi_pm__init(vm), 0);
	t0 = fake_mono_ns();
	a = inl(vm, PM_TMR);
	t1 = fake_mono_ns();
	usleep(20000);
	t2 = fake_mono_ns();
	b = inl(vm, PM_TMR);
	t3 = fake_mono_ns();
	cr_assert_eq(a >> 24, 0, "24-bit counter");
	cr_assert_eq(b >> 24, 0);
	d = (b - a) & 0xFFFFFF;
	cr_assert_geq(d, (uint32_t)((t2 - t1) * 3579545ull / 1000000000ull) - 1, "d=%u", d);
	cr_assert_leq(d, (uint32_t)((t3 - t0) * 3579545ull / 1000000000ull) + 1, "d=%u", d);
	acpi_pm__exit(vm);
	fake_vm_free(vm);
}

/* ---- isa-debug-exit and the legacy sink ---- */

Test(debug_exit, status_is_v_shl_1_or_1)
{
	struct vm *vm = fake_vm_new(256 << 20);

	cr_assert_eq(debug_exit__init(vm), 0);
	cr_assert_eq(inb(vm, PORT_DEBUG_EXIT), 0xFF);
	outb(vm, PORT_DEBUG_EXIT, 0x31);
	cr_assert_eq(fake_stop_reason(vm), VM_STOP_DEBUG_EXIT);
	cr_assert_eq(vm->stop_status, 99);
	debug_exit__exit(vm);
	fake_vm_free(vm);

	vm = fake_vm_new(256 << 20);
	cr_assert_eq(debug_exit__init(vm), 0);
	outl(vm, PORT_DEBUG_EXIT, 0);
	cr_assert_eq(fake_stop_reason(vm), VM_STOP_DEBUG_EXIT);
	cr_assert_eq(vm->stop_status, 1);
	debug_exit__exit(vm);
	fake_vm_free(vm);
}

Test(legacy_sink, ports_claimed_and_port_92)
{
	struct vm *vm = fake_vm_new(256 << 20);
	uint8_t v = 0;

	cr_assert_eq(legacy_sink__init(vm), 0);
	cr_assert(bus__write(&vm->pio, PORT_POST, &v, 1));
	cr_assert(bus__write(&vm->pio, 0xED, &v, 1));
	cr_assert(bus__write(&vm->pio, 0x87, &v, 1));
	cr_assert_not(bus__write(&vm->pio, 0x20, &v, 1), "the PIC is not ours");
	cr_assert_not(bus__write(&vm->pio, 0x61, &v, 1), "nor the speaker port");
	cr_assert_eq(inb(vm, 0x92), 0x02);
	outb(vm, 0x92, 0x02);
	cr_assert_eq(fake_stop_reason(vm), VM_STOP_NONE);
	outb(vm, 0x92, 0x03);
	cr_assert_eq(fake_stop_reason(vm), VM_STOP_RESET);
	fake_vm_free(vm);
}

Test(devices, double_init_and_port_conflicts)
{
	struct vm *vm = fake_vm_new(256 << 20);

	cr_assert_eq(rtc__init(vm), 0);
	cr_assert_eq(rtc__init(vm), -EEXIST);
	cr_assert_eq(pci__init(vm), 0);
	cr_assert_eq(acpi_pm__init(vm), 0);
	cr_assert_eq(i8042__init(vm), 0);
	cr_assert_eq(debug_exit__init(vm), 0);
	cr_assert_eq(legacy_sink__init(vm), 0);
	cr_assert_eq(serial__init(vm, PORT_COM1, IRQ_COM1, -1, -1), 0);
	/* Every exit is safe to call twice. */
	serial__exit(vm);
	serial__exit(vm);
	debug_exit__exit(vm);
	i8042__exit(vm);
	acpi_pm__exit(vm);
	pci__exit(vm);
	pci__exit(vm);
	rtc__exit(vm);
	cr_assert_eq(fake_irq.bogus, 0, "no out-of-range irq_line calls");
	fake_vm_free(vm);
}

/* A hostile guest: random widths, offsets and values on every device port
 * and on ECAM.  Nothing may crash, hang or drive a bogus interrupt line. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

Test(devices, random_guest_accesses_are_harmless, .timeout = 60)
{
	static const uint16_t ports[] = {
		PORT_COM1, PORT_RTC, PORT_I8042_DATA, PORT_I8042_CMD, PORT_PCI_CONFIG,
		PORT_ACPI_PM_BASE, PORT_DEBUG_EXIT, PORT_POST, 0x87, 0xED, 0x92,
	};
	static const unsigned spans[] = { 8, 2, 1, 1, 8, 12, 4, 1, 1, 1, 1 };
	static const unsigned widths[] = { 1, 2, 4 };
	struct vm *vm = fake_vm_new(5ull << 30);
	int devnull = open("/dev/null", O_WRONLY);
	int claimed = 0;

	cr_assert_eq(serial__init(vm, PORT_COM1, IRQ_COM1, -1, devnull), 0);
	cr_assert_eq(rtc__init(vm), 0);
	cr_assert_eq(i8042__init(vm), 0);
	cr_assert_eq(pci__init(vm), 0);
	cr_assert_eq(acpi_pm__init(vm), 0);
	cr_assert_eq(debug_exit__init(vm), 0);
	cr_assert_eq(legacy_sink__init(vm), 0);
	for (int i = 0; i < 300000; i++) {
		uint64_t r = rng();
		unsigned d = (unsigned)(r % 11);
		unsigned len = widths[(r >> 8) % 3];
		uint64_t addr = ports[d] + (r >> 16) % spans[d];
		uint8_t buf[4];

		if (d == 4 && (r >> 40) % 2) {
			/* ECAM, any offset in the window. */
			addr = VM_PCI_ECAM_BASE + (r >> 20) % VM_PCI_ECAM_SIZE;
			memcpy(buf, &r, sizeof(buf));
			if ((r >> 62) & 1)
				claimed += bus__write(&vm->mmio, addr, buf, len);
			else
				claimed += bus__read(&vm->mmio, addr, buf, len);
			continue;
		}
		memcpy(buf, (uint8_t *)&r + 4, sizeof(buf));
		if ((r >> 63) & 1)
			claimed += bus__write(&vm->pio, addr, buf, len);
		else
			claimed += bus__read(&vm->pio, addr, buf, len);
	}
	cr_assert_eq(fake_irq.bogus, 0);
	/* Wide accesses to the 1-port devices and at range ends miss by
	 * design; about half must land. */
	cr_assert_gt(claimed, 120000, "only %d accesses reached a device", claimed);
	cr_assert_neq(fake_stop_reason(vm), VM_STOP_NONE, "the reset/exit ports were hit");
	serial__exit(vm);
	rtc__exit(vm);
	i8042__exit(vm);
	pci__exit(vm);
	acpi_pm__exit(vm);
	debug_exit__exit(vm);
	fake_vm_free(vm);
	close(devnull);
}
