/* MC146818 CMOS RTC: 128 bytes of CMOS, the clock registers computed from
 * the host's UTC wall clock plus a guest-set offset, and the memory-size
 * bytes firmware and old loaders read.  Update-ended, periodic and alarm
 * interrupts come from a timer thread that sleeps while none is enabled;
 * flags nobody asked an interrupt for are computed lazily when register C
 * is read. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/devices.h"
#include "util/log.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define CMOS_SIZE     128
#define NMI_DISABLE   0x80

#define RTC_SECONDS   0x00
#define RTC_SEC_ALARM 0x01
#define RTC_MINUTES   0x02
#define RTC_MIN_ALARM 0x03
#define RTC_HOURS     0x04
#define RTC_HR_ALARM  0x05
#define RTC_WDAY      0x06
#define RTC_MDAY      0x07
#define RTC_MONTH     0x08
#define RTC_YEAR      0x09
#define RTC_REG_A     0x0A
#define RTC_REG_B     0x0B
#define RTC_REG_C     0x0C
#define RTC_REG_D     0x0D
#define RTC_CENTURY   0x32

#define REG_A_UIP     0x80
#define REG_A_DV      0x70
#define REG_A_RS      0x0F
#define REG_B_SET     0x80
#define REG_B_PIE     0x40
#define REG_B_AIE     0x20
#define REG_B_UIE     0x10
#define REG_B_IRQS    (REG_B_PIE | REG_B_AIE | REG_B_UIE)
#define REG_B_DM      0x04  /* 1: binary, 0: BCD */
#define REG_B_24H     0x02
#define REG_C_IRQF    0x80
#define REG_C_PF      0x40
#define REG_C_AF      0x20
#define REG_C_UF      0x10
#define REG_D_VRT     0x80

/* Divider 010 = 32.768 kHz time base, the only one that keeps time. */
#define DV_NORMAL     0x20
/* UIP is set for 244 us before each update (plus the ~2 ms update). */
#define UIP_WINDOW_NS 244000

struct rtc {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t index;
	bool nmi_disabled;   /* recorded only: we never inject NMIs */
	uint8_t cmos[CMOS_SIZE];
	int64_t offset;      /* guest time - host time, seconds */
	int64_t last_c_sec;  /* second of the last register C read (UF) */
	uint64_t last_c_ns;  /* monotonic time of the last register C read (PF) */

	/* Interrupts: the timer thread latches flags in c_pending. */
	pthread_cond_t wake;     /* register A/B changed, or stopping */
	pthread_t thread;
	bool thread_started, stopping;
	uint8_t c_pending;
	bool irq_level;
	int64_t last_tick_sec;   /* -1: not watching second boundaries */
	uint64_t next_pf_ns;     /* 0: periodic interrupt off */
};

static bool rtc__binary(const struct rtc *r)
{
	return r->cmos[RTC_REG_B] & REG_B_DM;
}

static uint8_t to_reg(const struct rtc *r, unsigned v)
{
	v %= 100;
	return rtc__binary(r) ? (uint8_t)v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Returns -1 on a value that is not valid BCD. */
static int from_reg(const struct rtc *r, uint8_t v)
{
	if (rtc__binary(r))
		return v;
	if ((v & 0x0F) > 9 || (v >> 4) > 9)
		return -1;
	return (v >> 4) * 10 + (v & 0x0F);
}

static void rtc__now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* Write the clock registers for guest time t. */
static void rtc__store_time(struct rtc *r, time_t t)
{
	struct tm tm;
	unsigned hour;

	gmtime_r(&t, &tm);
	r->cmos[RTC_SECONDS] = to_reg(r, (unsigned)tm.tm_sec);
	r->cmos[RTC_MINUTES] = to_reg(r, (unsigned)tm.tm_min);
	hour = (unsigned)tm.tm_hour;
	if (r->cmos[RTC_REG_B] & REG_B_24H) {
		r->cmos[RTC_HOURS] = to_reg(r, hour);
	} else {
		/* 12-hour mode: 12, 1..11 with bit 7 = PM. */
		unsigned h12 = hour % 12 ? hour % 12 : 12;

		r->cmos[RTC_HOURS] = to_reg(r, h12) | (hour >= 12 ? 0x80 : 0);
	}
	r->cmos[RTC_WDAY] = to_reg(r, (unsigned)tm.tm_wday + 1);
	r->cmos[RTC_MDAY] = to_reg(r, (unsigned)tm.tm_mday);
	r->cmos[RTC_MONTH] = to_reg(r, (unsigned)tm.tm_mon + 1);
	r->cmos[RTC_YEAR] = to_reg(r, (unsigned)(tm.tm_year + 1900) % 100);
	r->cmos[RTC_CENTURY] = to_reg(r, (unsigned)(tm.tm_year + 1900) / 100);
}

/* Decode the clock registers (as the guest set them) into a time_t.
 * Returns false when they do not form a valid date. */
static bool rtc__load_time(const struct rtc *r, time_t *out)
{
	struct tm tm = { 0 };
	int sec = from_reg(r, r->cmos[RTC_SECONDS]);
	int min = from_reg(r, r->cmos[RTC_MINUTES]);
	int hour = from_reg(r, r->cmos[RTC_HOURS] & 0x7F);
	int mday = from_reg(r, r->cmos[RTC_MDAY]);
	int mon = from_reg(r, r->cmos[RTC_MONTH]);
	int year = from_reg(r, r->cmos[RTC_YEAR]);
	int century = from_reg(r, r->cmos[RTC_CENTURY]);

	if (!(r->cmos[RTC_REG_B] & REG_B_24H)) {
		if (hour < 1 || hour > 12)
			return false;
		hour %= 12;
		if (r->cmos[RTC_HOURS] & 0x80)
			hour += 12;
	}
	if (sec < 0 || sec > 59 || min < 0 || min > 59 || hour < 0 || hour > 23 ||
	    mday < 1 || mday > 31 || mon < 1 || mon > 12 || year < 0 || year > 99)
		return false;
	/* A century byte the guest left invalid: assume 20xx. */
	if (century < 19 || century > 99)
		century = 20;
	tm.tm_sec = sec;
	tm.tm_min = min;
	tm.tm_hour = hour;
	tm.tm_mday = mday;
	tm.tm_mon = mon - 1;
	tm.tm_year = century * 100 + year - 1900;
	*out = timegm(&tm);
	return *out != (time_t)-1;
}

static bool rtc__running(const struct rtc *r)
{
	return !(r->cmos[RTC_REG_B] & REG_B_SET) &&
	       (r->cmos[RTC_REG_A] & REG_A_DV) == DV_NORMAL;
}

static void rtc__refresh(struct rtc *r)
{
	struct timespec ts;

	if (!rtc__running(r))
		return;
	rtc__now(&ts);
	rtc__store_time(r, ts.tv_sec + r->offset);
}

static void rtc__adopt_guest_time(struct rtc *r)
{
	struct timespec ts;
	time_t t;

	if (!rtc__load_time(r, &t)) {
		guest_err("rtc: guest set an invalid date; clock not changed");
		return;
	}
	rtc__now(&ts);
	r->offset = (int64_t)t - (int64_t)ts.tv_sec;
}

static uint8_t rtc__read_reg_a(const struct rtc *r)
{
	struct timespec ts;
	uint8_t v = r->cmos[RTC_REG_A] & ~REG_A_UIP;

	if (rtc__running(r)) {
		rtc__now(&ts);
		if (ts.tv_nsec >= 1000000000L - UIP_WINDOW_NS)
			v |= REG_A_UIP;
	}
	return v;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Periodic interrupt period for register A's rate select; 0 when off.
 * RS 1 and 2 are the odd ones out (256 and 128 Hz), RS n >= 3 is
 * 65536 >> n Hz. */
static uint64_t rtc__period_ns(const struct rtc *r)
{
	unsigned rs = r->cmos[RTC_REG_A] & REG_A_RS;
	unsigned shift;

	if (!rs || (r->cmos[RTC_REG_A] & REG_A_DV) != DV_NORMAL)
		return 0;
	shift = rs < 3 ? rs + 6 : rs - 1;
	return (1000000000ull << shift) / 32768;
}

/* IRQ 8 is asserted while a flag is latched whose interrupt is enabled,
 * until the guest reads register C. */
static void rtc__update_irq(struct rtc *r)
{
	bool level = r->c_pending & r->cmos[RTC_REG_B] & REG_B_IRQS;

	if (level == r->irq_level)
		return;
	r->irq_level = level;
	vm__irq_line(r->vm, IRQ_RTC, level);
}

/* Flags that real hardware sets regardless of the interrupt enables: UF
 * once per second, PF at the rate-select frequency.  Computed lazily. */
static uint8_t rtc__read_reg_c(struct rtc *r)
{
	struct timespec ts;
	uint64_t now = mono_ns();
	unsigned rs = r->cmos[RTC_REG_A] & REG_A_RS;
	uint8_t v = 0;

	rtc__now(&ts);
	if (rtc__running(r) && ts.tv_sec != r->last_c_sec)
		v |= REG_C_UF;
	if (rs && rtc__period_ns(r) && now - r->last_c_ns >= rtc__period_ns(r))
		v |= REG_C_PF;
	v |= r->c_pending;
	if (r->c_pending & REG_C_PF)
		pthread_cond_signal(&r->wake);
	r->c_pending = 0;
	/* PF/AF/UF sit at the same bit positions as PIE/AIE/UIE in B. */
	if (v & r->cmos[RTC_REG_B] & REG_B_IRQS)
		v |= REG_C_IRQF;
	r->last_c_sec = ts.tv_sec;
	r->last_c_ns = now;
	rtc__update_irq(r);
	return v;
}

static uint8_t rtc__read_data(struct rtc *r)
{
	uint8_t idx = r->index;

	switch (idx) {
	case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_WDAY:
	case RTC_MDAY: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
		rtc__refresh(r);
		return r->cmos[idx];
	case RTC_REG_A:
		return rtc__read_reg_a(r);
	case RTC_REG_C:
		return rtc__read_reg_c(r);
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return r->cmos[idx];
	}
}

static bool rtc__is_time_reg(uint8_t idx)
{
	return idx == RTC_SECONDS || idx == RTC_MINUTES || idx == RTC_HOURS ||
	       idx == RTC_WDAY || idx == RTC_MDAY || idx == RTC_MONTH ||
	       idx == RTC_YEAR || idx == RTC_CENTURY;
}

static void rtc__write_data(struct rtc *r, uint8_t v)
{
	uint8_t idx = r->index;
	uint8_t old;

	if (rtc__is_time_reg(idx)) {
		/* While running, a write sets that field of the current time;
		 * with SET held the guest composes the date and we adopt it
		 * when SET is released. */
		bool running = rtc__running(r);

		if (running)
			rtc__refresh(r);
		r->cmos[idx] = v;
		if (running)
			rtc__adopt_guest_time(r);
		return;
	}
	switch (idx) {
	case RTC_REG_A:
		old = r->cmos[RTC_REG_A];
		/* Stopping the divider freezes the clock where it is. */
		if ((v & REG_A_DV) != DV_NORMAL)
			rtc__refresh(r);
		r->cmos[RTC_REG_A] = v & ~REG_A_UIP;
		if ((old & REG_A_DV) != DV_NORMAL && rtc__running(r))
			rtc__adopt_guest_time(r);
		r->next_pf_ns = 0;   /* restart the periodic timer at the new rate */
		pthread_cond_signal(&r->wake);
		break;
	case RTC_REG_B:
		old = r->cmos[RTC_REG_B];
		if (!(old & REG_B_SET) && (v & REG_B_SET))
			rtc__refresh(r);   /* freeze the current time */
		if (v & REG_B_SET)
			v &= ~REG_B_UIE;
		/* Changing DM or 12/24 while running: regenerate the registers
		 * in the new format on the next read. */
		r->cmos[RTC_REG_B] = v;
		if ((old & REG_B_SET) && !(v & REG_B_SET))
			rtc__adopt_guest_time(r);
		rtc__update_irq(r);
		pthread_cond_signal(&r->wake);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;  /* read-only */
	default:
		r->cmos[idx] = v;
	}
}

static bool alarm_field_match(uint8_t alarm, uint8_t now)
{
	/* 11xxxxxx is "don't care" in either format. */
	return (alarm & 0xC0) == 0xC0 || alarm == now;
}

static bool rtc__alarm_match(struct rtc *r)
{
	rtc__refresh(r);
	return alarm_field_match(r->cmos[RTC_SEC_ALARM], r->cmos[RTC_SECONDS]) &&
	       alarm_field_match(r->cmos[RTC_MIN_ALARM], r->cmos[RTC_MINUTES]) &&
	       alarm_field_match(r->cmos[RTC_HR_ALARM], r->cmos[RTC_HOURS]);
}

/* One pass of the timer: latch due events, return the next deadline
 * (monotonic ns) or UINT64_MAX when no interrupt is enabled. */
static uint64_t rtc__timer_step(struct rtc *r)
{
	uint8_t en = r->cmos[RTC_REG_B] & REG_B_IRQS;
	uint64_t now = mono_ns(), deadline = UINT64_MAX, period;
	struct timespec rt;

	if ((en & (REG_B_UIE | REG_B_AIE)) && rtc__running(r)) {
		rtc__now(&rt);
		if (r->last_tick_sec >= 0 && rt.tv_sec != r->last_tick_sec) {
			if (en & REG_B_UIE)
				r->c_pending |= REG_C_UF;
			if ((en & REG_B_AIE) && rtc__alarm_match(r))
				r->c_pending |= REG_C_AF;
		}
		r->last_tick_sec = rt.tv_sec;
		/* Just past the boundary, so the registers already changed. */
		deadline = now + (uint64_t)(1000000000L - rt.tv_nsec) + 1000;
	} else {
		r->last_tick_sec = -1;
	}

	period = rtc__period_ns(r);
	if ((en & REG_B_PIE) && period && (r->c_pending & REG_C_PF)) {
		/* Already latched: nothing to do until the guest reads C
		 * (which wakes us), however fast the rate. */
	} else if ((en & REG_B_PIE) && period) {
		if (!r->next_pf_ns) {
			r->next_pf_ns = now + period;
		} else if (now >= r->next_pf_ns) {
			r->c_pending |= REG_C_PF;
			r->next_pf_ns += period;
			/* A late wake-up does not replay missed ticks. */
			if (r->next_pf_ns <= now)
				r->next_pf_ns = now + period;
		}
		if (r->next_pf_ns < deadline)
			deadline = r->next_pf_ns;
	} else {
		r->next_pf_ns = 0;
	}
	rtc__update_irq(r);
	return deadline;
}

static void *rtc__timer_thread(void *arg)
{
	struct rtc *r = arg;

	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		uint64_t deadline = rtc__timer_step(r);
		struct timespec ts;

		if (deadline == UINT64_MAX) {
			pthread_cond_wait(&r->wake, &r->lock);
			continue;
		}
		ts.tv_sec = (time_t)(deadline / 1000000000ull);
		ts.tv_nsec = (long)(deadline % 1000000000ull);
		pthread_cond_timedwait(&r->wake, &r->lock, &ts);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void rtc__io_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct rtc *r = opaque;
	uint8_t *out = data;

	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < len; i++) {
		/* The index port is write-only. */
		out[i] = offset + i == 1 ? rtc__read_data(r) : 0xFF;
	}
	pthread_mutex_unlock(&r->lock);
}

static void rtc__io_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct rtc *r = opaque;
	const uint8_t *in = data;

	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < len; i++) {
		if (offset + i == 0) {
			r->index = in[i] & (CMOS_SIZE - 1);
			r->nmi_disabled = in[i] & NMI_DISABLE;
		} else if (offset + i == 1) {
			rtc__write_data(r, in[i]);
		}
	}
	pthread_mutex_unlock(&r->lock);
}

static const struct bus_dev_ops rtc_ops = {
	.read = rtc__io_read,
	.write = rtc__io_write,
};

static void cmos_put16(uint8_t *cmos, unsigned idx, uint64_t v)
{
	if (v > 0xFFFF)
		v = 0xFFFF;
	cmos[idx] = (uint8_t)v;
	cmos[idx + 1] = (uint8_t)(v >> 8);
}

/* Memory size bytes as SeaBIOS reads them from QEMU's CMOS. */
static void rtc__fill_memory(uint8_t *cmos, uint64_t below_4g, uint64_t above_4g, int nr_cpus)
{
	uint64_t ext, v;
	unsigned sum = 0;

	cmos_put16(cmos, 0x15, below_4g >= (640 << 10) ? 640 : below_4g >> 10);
	ext = below_4g > (1 << 20) ? (below_4g - (1 << 20)) >> 10 : 0;
	cmos_put16(cmos, 0x17, ext);
	cmos_put16(cmos, 0x30, ext);
	v = below_4g > (16 << 20) ? (below_4g - (16 << 20)) >> 16 : 0;
	cmos_put16(cmos, 0x34, v);
	v = above_4g >> 16;
	if (v > 0xFFFFFF)
		v = 0xFFFFFF;
	cmos[0x5b] = (uint8_t)v;
	cmos[0x5c] = (uint8_t)(v >> 8);
	cmos[0x5d] = (uint8_t)(v >> 16);
	cmos[0x5f] = (uint8_t)(nr_cpus > 0 ? nr_cpus - 1 : 0);
	/* Equipment byte: FPU present, PS/2 mouse port. */
	cmos[0x14] = 0x06;
	/* The AT checksum over 0x10-0x2D. */
	for (unsigned i = 0x10; i <= 0x2D; i++)
		sum += cmos[i];
	cmos[0x2E] = (uint8_t)(sum >> 8);
	cmos[0x2F] = (uint8_t)sum;
}

/* The timer sleeps on CLOCK_MONOTONIC so host clock steps cannot stall
 * or storm the periodic interrupt. */
static int rtc__init_cond(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int ret;

	ret = pthread_condattr_init(&attr);
	if (ret)
		return -ret;
	ret = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return -ret;
}

static void rtc__stop_thread(struct rtc *r)
{
	if (!r->thread_started)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->thread_started = false;
}

int rtc__init(struct vm *vm)
{
	struct rtc *r;
	int ret;

	if (vm->dev.rtc)
		return -EEXIST;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->vm = vm;
	r->last_tick_sec = -1;
	ret = pthread_mutex_init(&r->lock, NULL);
	if (ret) {
		free(r);
		return -ret;
	}
	ret = rtc__init_cond(&r->wake);
	if (ret)
		goto err_mutex;
	r->cmos[RTC_REG_A] = DV_NORMAL | 0x06;   /* 1024 Hz, like a PC BIOS */
	r->cmos[RTC_REG_B] = REG_B_24H;          /* BCD, 24-hour */
	r->cmos[RTC_REG_D] = REG_D_VRT;
	rtc__fill_memory(r->cmos, vm->lowmem_size, vm->highmem_size, vm->nr_cpus);
	rtc__refresh(r);
	r->last_c_ns = mono_ns();

	ret = -pthread_create(&r->thread, NULL, rtc__timer_thread, r);
	if (ret)
		goto err_cond;
	r->thread_started = true;
	ret = bus__register(&vm->pio, PORT_RTC, 2, &rtc_ops, r, "rtc");
	if (ret)
		goto err_thread;
	vm->dev.rtc = r;
	return 0;

err_thread:
	rtc__stop_thread(r);
err_cond:
	pthread_cond_destroy(&r->wake);
err_mutex:
	pthread_mutex_destroy(&r->lock);
	free(r);
	return ret;
}

void rtc__exit(struct vm *vm)
{
	struct rtc *r = vm->dev.rtc;

	if (!r)
		return;
	bus__unregister(&vm->pio, PORT_RTC);
	rtc__stop_thread(r);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
	vm->dev.rtc = NULL;
}
