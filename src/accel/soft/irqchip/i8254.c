/* 8254 programmable interval timer at 0x40-0x43, and port 0x61 (channel 2
 * gate, speaker enable, channel 2 OUT, refresh toggle).
 *
 * Counters are not ticked: a channel remembers when counting started and
 * its value and OUT are computed from CLOCK_MONOTONIC at SOFT_PIT_HZ.  Only
 * channel 0 raises an interrupt (a pulse on GSI 0 at each rising edge of its
 * OUT, as KVM's PIT does), scheduled through the irqchip's timer thread. */
#include <string.h>

#include "accel/soft/irqchip/irqchip_priv.h"
#include "accel/soft/timebase.h"
#include "util/log.h"

#define RW_LATCH 0
#define RW_LSB   1
#define RW_MSB   2
#define RW_WORD  3

static uint64_t ns_to_ticks(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * SOFT_PIT_HZ / NSEC_PER_SEC);
}

/* The first instant at which ns_to_ticks() reaches `ticks`. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * NSEC_PER_SEC + SOFT_PIT_HZ - 1) /
			  SOFT_PIT_HZ);
}

/* Gate low suspends counting in modes 0, 2, 3, 4; in 1 and 5 it only
 * triggers on rising edges. */
static bool gate_pauses(const struct pit_channel *c)
{
	return c->mode != 1 && c->mode != 5;
}

static uint64_t elapsed(const struct pit_channel *c, uint64_t now)
{
	if (!c->gate && gate_pauses(c))
		return c->frozen_ticks;
	return now > c->load_ns ? ns_to_ticks(now - c->load_ns) : 0;
}

static uint16_t counter_value(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = elapsed(c, now);

	switch (c->mode) {
	case 2:
		return c->count - d % c->count;
	case 3:
		/* Decrements by two, reloading each half period. */
		return c->count - (2 * d) % c->count;
	default:
		return (c->count - d) & 0xffff;
	}
}

static bool out_level(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = elapsed(c, now);

	switch (c->mode) {
	case 0:
	case 1:
		return d >= c->count;
	case 2:
		if (!c->gate)
			return true;
		return d % c->count != c->count - 1;
	case 3:
		if (!c->gate)
			return true;
		return d % c->count < (c->count + 1) / 2;
	default:  /* 4, 5: one low clock at terminal count */
		return d != c->count;
	}
}

static void arm_irq(struct i8254 *pit)
{
	struct pit_channel *c = &pit->ch[0];

	c->irq_periodic = c->mode == 2 || c->mode == 3;
	c->next_irq_tick = c->count;
	c->irq_armed = true;
	irqchip__timer_kick(pit->chip);
}

static void load_count(struct i8254 *pit, int idx, uint32_t val, uint64_t now)
{
	struct pit_channel *c = &pit->ch[idx];

	c->count = val ? val : 0x10000;
	c->load_ns = now;
	c->frozen_ticks = 0;
	if (idx == 0)
		arm_irq(pit);
}

static void latch_count(struct pit_channel *c, uint64_t now)
{
	if (c->latch_bytes)
		return;  /* a pending latch is not overwritten */
	c->latched_count = counter_value(c, now);
	c->latch_bytes = c->rw_mode == RW_WORD ? 2 : 1;
	c->latch_msb_next = c->rw_mode == RW_MSB;
}

static void reset_locked(struct i8254 *pit)
{
	for (int i = 0; i < 3; i++) {
		struct pit_channel *c = &pit->ch[i];

		memset(c, 0, sizeof(*c));
		c->count = 0x10000;
		c->rw_mode = RW_WORD;
		c->gate = i != 2;  /* only channel 2's gate is wired (port 0x61) */
	}
	pit->speaker_data = false;
}

void i8254__init(struct i8254 *pit, struct soft_irqchip *chip)
{
	memset(pit, 0, sizeof(*pit));
	pthread_mutex_init(&pit->lock, NULL);
	pit->chip = chip;
	reset_locked(pit);
}

void i8254__exit(struct i8254 *pit)
{
	pthread_mutex_destroy(&pit->lock);
}

void i8254__reset(struct i8254 *pit)
{
	pthread_mutex_lock(&pit->lock);
	reset_locked(pit);
	pthread_mutex_unlock(&pit->lock);
}

uint64_t i8254__tick(struct i8254 *pit, uint64_t now)
{
	struct pit_channel *c = &pit->ch[0];
	uint64_t next = UINT64_MAX;
	bool fire = false;

	pthread_mutex_lock(&pit->lock);
	if (c->irq_armed && now >= c->load_ns + ticks_to_ns(c->next_irq_tick)) {
		fire = true;
		if (c->irq_periodic) {
			uint64_t period = c->count;
			uint64_t min = ns_to_ticks(IRQCHIP_MIN_PERIOD_NS);
			uint64_t d = ns_to_ticks(now - c->load_ns);

			if (period < min)
				period = min;
			c->next_irq_tick += period;
			/* Behind by whole periods (host stall): skip them. */
			if (c->next_irq_tick <= d)
				c->next_irq_tick += (d - c->next_irq_tick) / period * period + period;
		} else {
			c->irq_armed = false;
		}
	}
	if (c->irq_armed)
		next = c->load_ns + ticks_to_ns(c->next_irq_tick);
	pthread_mutex_unlock(&pit->lock);
	if (fire) {
		soft_irqchip__set_irq(pit->chip, IRQ_PIT, 1);
		soft_irqchip__set_irq(pit->chip, IRQ_PIT, 0);
	}
	return next;
}

static void write_control(struct i8254 *pit, uint8_t val, uint64_t now)
{
	unsigned sel = val >> 6;
	struct pit_channel *c;

	if (sel == 3) {             /* read-back */
		for (int i = 0; i < 3; i++) {
			if (!(val & (2 << i)))
				continue;
			c = &pit->ch[i];
			if (!(val & 0x20))
				latch_count(c, now);
			if (!(val & 0x10) && !c->status_latched) {
				c->status = (out_level(c, now) << 7) | (c->rw_mode << 4) |
					    (c->mode << 1);
				c->status_latched = true;
			}
		}
		return;
	}
	c = &pit->ch[sel];
	if (((val >> 4) & 3) == RW_LATCH) {
		latch_count(c, now);
		return;
	}
	if (val & 1)
		log_once(LOG_WARN, "pit: BCD counting not supported, counting in binary\n");
	c->rw_mode = (val >> 4) & 3;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;       /* 6, 7 are aliases of 2, 3 */
	c->read_msb_next = c->rw_mode == RW_MSB;
	c->write_msb_next = c->rw_mode == RW_MSB;
}

static void write_counter(struct i8254 *pit, int idx, uint8_t val, uint64_t now)
{
	struct pit_channel *c = &pit->ch[idx];

	switch (c->rw_mode) {
	case RW_LSB:
		load_count(pit, idx, val, now);
		break;
	case RW_MSB:
		load_count(pit, idx, (uint32_t)val << 8, now);
		break;
	default:
		if (!c->write_msb_next) {
			c->write_lsb = val;
			c->write_msb_next = true;
		} else {
			c->write_msb_next = false;
			load_count(pit, idx, c->write_lsb | ((uint32_t)val << 8), now);
		}
		break;
	}
}

static uint8_t read_counter(struct pit_channel *c, uint64_t now)
{
	uint16_t v;
	bool msb;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latch_bytes) {
		msb = c->latch_msb_next;
		c->latch_msb_next = !msb;
		c->latch_bytes--;
		return msb ? c->latched_count >> 8 : c->latched_count & 0xff;
	}
	v = counter_value(c, now);
	switch (c->rw_mode) {
	case RW_LSB:
		return v & 0xff;
	case RW_MSB:
		return v >> 8;
	default:
		msb = c->read_msb_next;
		c->read_msb_next = !msb;
		return msb ? v >> 8 : v & 0xff;
	}
}

static void pit_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct i8254 *pit = &((struct soft_irqchip *)opaque)->pit;
	uint8_t val = 0xff;

	memset(data, 0, len);
	pthread_mutex_lock(&pit->lock);
	if (offset < 3)
		val = read_counter(&pit->ch[offset], irqchip__now_ns());
	pthread_mutex_unlock(&pit->lock);  /* 0x43 is write-only: all ones */
	*(uint8_t *)data = val;
}

static void pit_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct i8254 *pit = &((struct soft_irqchip *)opaque)->pit;
	uint8_t val = *(const uint8_t *)data;
	uint64_t now = irqchip__now_ns();

	pthread_mutex_lock(&pit->lock);
	if (offset == 3)
		write_control(pit, val, now);
	else if (offset < 3)
		write_counter(pit, offset, val, now);
	pthread_mutex_unlock(&pit->lock);
}

static void set_gate2(struct i8254 *pit, bool gate, uint64_t now)
{
	struct pit_channel *c = &pit->ch[2];

	if (c->gate == gate)
		return;
	if (!gate) {
		c->frozen_ticks = elapsed(c, now);
		c->gate = false;
		return;
	}
	c->gate = true;
	if (c->mode == 0 || c->mode == 4)
		c->load_ns = now - ticks_to_ns(c->frozen_ticks);  /* resume */
	else
		c->load_ns = now;   /* rising edge (re)triggers */
	c->frozen_ticks = 0;
}

static void port61_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct i8254 *pit = &((struct soft_irqchip *)opaque)->pit;
	uint64_t now = irqchip__now_ns();
	uint8_t val;

	memset(data, 0, len);
	pthread_mutex_lock(&pit->lock);
	val = (pit->ch[2].gate ? 0x01 : 0) | (pit->speaker_data ? 0x02 : 0) |
	      (out_level(&pit->ch[2], now) ? 0x20 : 0);
	pthread_mutex_unlock(&pit->lock);
	/* DRAM refresh toggle (bit 4): old BIOS-style delay loops poll it.
	 * ~15 us per phase, like the real one and KVM's. */
	val |= ((now >> 14) & 1) << 4;
	*(uint8_t *)data = val;
}

static void port61_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct i8254 *pit = &((struct soft_irqchip *)opaque)->pit;
	uint8_t val = *(const uint8_t *)data;

	pthread_mutex_lock(&pit->lock);
	pit->speaker_data = val & 0x02;
	set_gate2(pit, val & 0x01, irqchip__now_ns());
	pthread_mutex_unlock(&pit->lock);
}

const struct bus_dev_ops i8254__ops = { pit_read, pit_write };
const struct bus_dev_ops i8254__port61_ops = { port61_read, port61_write };
