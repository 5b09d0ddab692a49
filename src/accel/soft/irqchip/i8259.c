/* 8259A programmable interrupt controller pair: master at 0x20/0x21, slave
 * at 0xA0/0xA1 cascaded on master IR2, ELCR at 0x4D0/0x4D1 choosing edge or
 * level sensing per line.  The master's INT goes to LINT0 (lapic.c). */
#include <string.h>

#include "accel/soft/irqchip/irqchip_priv.h"
#include "util/log.h"

/* IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge on a PC. */
#define ELCR_MASK_MASTER 0xf8
#define ELCR_MASK_SLAVE  0xde

/* Initialisation (ICW1 or machine reset) resets the edge-sense logic: an
 * edge line already high must go low and high again to request, while a
 * level line keeps requesting.  Line levels themselves belong to the
 * devices and survive. */
static void unit_reset(struct pic_unit *u)
{
	struct pic_unit keep = *u;

	memset(u, 0, sizeof(*u));
	u->elcr = keep.elcr;
	u->elcr_mask = keep.elcr_mask;
	u->last_level = keep.last_level;
	u->irr = keep.last_level & keep.elcr;
	u->lowest_prio = 7;
}

/* Priority rank of an IR: 0 is the highest.  After rotation the IR after
 * lowest_prio has rank 0. */
static int rank(const struct pic_unit *u, int ir)
{
	return (ir - u->lowest_prio - 1) & 7;
}

/* The highest-priority IR set in mask, or -1. */
static int highest(const struct pic_unit *u, uint8_t mask)
{
	for (int r = 0; r < 8; r++) {
		int ir = (r + u->lowest_prio + 1) & 7;
		if (mask & (1u << ir))
			return ir;
	}
	return -1;
}

/* The IR this unit would present on INT now, or -1. */
static int unit_pending(const struct pic_unit *u, bool master)
{
	int req = highest(u, u->irr & ~u->imr);
	uint8_t in_service = u->isr;
	int cur;

	if (req < 0)
		return -1;
	if (u->special_mask)
		in_service &= ~u->imr;
	/* Special fully nested mode: the slave may interrupt its own in-service
	 * cascade line, so nested slave interrupts are seen. */
	if (master && u->sfnm)
		in_service &= ~(1u << 2);
	cur = highest(u, in_service);
	if (cur >= 0 && rank(u, cur) <= rank(u, req))
		return -1;
	return req;
}

static void unit_set_line(struct pic_unit *u, int ir, bool level)
{
	uint8_t bit = 1u << ir;

	if (u->elcr & bit) {
		if (level)
			u->irr |= bit;
		else
			u->irr &= ~bit;
	} else {
		if (level && !(u->last_level & bit))
			u->irr |= bit;
	}
	if (level)
		u->last_level |= bit;
	else
		u->last_level &= ~bit;
}

/* Recompute the cascade line and INT; returns true if INT rose. */
static bool update(struct i8259 *pic)
{
	bool old = atomic_load(&pic->output);
	bool now;

	/* The cascade wire is level-sensitive whatever ELCR says: master IR2
	 * requests exactly while the slave does, so a slave request withdrawn
	 * before INTA leaves no stale cascade request (spurious IRQ15). */
	if (unit_pending(&pic->unit[1], false) >= 0)
		pic->unit[0].irr |= 1u << 2;
	else
		pic->unit[0].irr &= ~(1u << 2);
	now = unit_pending(&pic->unit[0], true) >= 0;
	atomic_store(&pic->output, now);
	return now && !old;
}

static void unit_ack(struct pic_unit *u, int ir)
{
	uint8_t bit = 1u << ir;

	if (u->auto_eoi) {
		if (u->rotate_on_aeoi)
			u->lowest_prio = ir;
	} else {
		u->isr |= bit;
	}
	/* Level lines stay requested while asserted; an edge is consumed. */
	if (!(u->elcr & bit))
		u->irr &= ~bit;
}

void i8259__init(struct i8259 *pic)
{
	memset(pic, 0, sizeof(*pic));
	pthread_mutex_init(&pic->lock, NULL);
	i8259__reset(pic);
}

void i8259__exit(struct i8259 *pic)
{
	pthread_mutex_destroy(&pic->lock);
}

void i8259__reset(struct i8259 *pic)
{
	pthread_mutex_lock(&pic->lock);
	pic->unit[0].elcr = pic->unit[1].elcr = 0;
	pic->unit[0].elcr_mask = ELCR_MASK_MASTER;
	pic->unit[1].elcr_mask = ELCR_MASK_SLAVE;
	unit_reset(&pic->unit[0]);
	unit_reset(&pic->unit[1]);
	atomic_store(&pic->output, false);
	pthread_mutex_unlock(&pic->lock);
}

bool i8259__set_irq(struct i8259 *pic, unsigned irq, int level)
{
	bool rose;

	if (irq >= 16 || irq == 2)  /* IR2 of the master is the cascade */
		return false;
	pthread_mutex_lock(&pic->lock);
	unit_set_line(&pic->unit[irq >> 3], irq & 7, level != 0);
	rose = update(pic);
	pthread_mutex_unlock(&pic->lock);
	return rose;
}

static int inta_locked(struct i8259 *pic, bool ack)
{
	struct pic_unit *m = &pic->unit[0], *s = &pic->unit[1];
	int ir = unit_pending(m, true), sir, vector;

	if (ir < 0)
		return -1;
	if (ir != 2) {
		vector = m->vector_base + ir;
		if (ack)
			unit_ack(m, ir);
		return vector;
	}
	sir = unit_pending(s, false);
	/* The slave dropped its request between INT and INTA: spurious IR7. */
	vector = s->vector_base + (sir < 0 ? 7 : sir);
	if (ack) {
		unit_ack(m, 2);
		if (sir >= 0)
			unit_ack(s, sir);
	}
	return vector;
}

int i8259__inta(struct i8259 *pic)
{
	int vector;

	pthread_mutex_lock(&pic->lock);
	vector = inta_locked(pic, true);
	if (vector >= 0)
		update(pic);
	pthread_mutex_unlock(&pic->lock);
	return vector;
}

int i8259__peek(struct i8259 *pic)
{
	int vector;

	pthread_mutex_lock(&pic->lock);
	vector = inta_locked(pic, false);
	pthread_mutex_unlock(&pic->lock);
	return vector;
}

/* OCW3 poll: acknowledge the highest request like an INTA, report it in the
 * data byte instead of as a vector. */
static uint8_t poll_locked(struct i8259 *pic, int idx)
{
	struct pic_unit *u = &pic->unit[idx];
	int ir = unit_pending(u, idx == 0);

	u->poll = false;
	if (ir < 0)
		return 0;
	unit_ack(u, ir);
	if (idx == 1) {
		/* The master's cascade request is retired with the slave's. */
		pic->unit[0].irr &= ~(1u << 2);
	}
	update(pic);
	return 0x80 | ir;
}

static void eoi(struct pic_unit *u, int ir, bool rotate)
{
	if (ir < 0)
		return;
	u->isr &= ~(1u << ir);
	if (rotate)
		u->lowest_prio = ir;
}

static void write_cmd(struct pic_unit *u, uint8_t val)
{
	if (val & 0x10) {           /* ICW1 */
		unit_reset(u);
		u->need_icw4 = val & 1;
		u->single = val & 2;
		if (val & 0x08)
			guest_err("8259: level-triggered mode via ICW1 ignored (use ELCR)\n");
		u->init_step = 2;
		return;
	}
	if (val & 0x08) {           /* OCW3 */
		if (val & 0x04)
			u->poll = true;
		if (val & 0x02)
			u->read_isr = val & 0x01;
		if (val & 0x40)
			u->special_mask = val & 0x20;
		return;
	}
	switch (val >> 5) {         /* OCW2 */
	case 0: u->rotate_on_aeoi = false; break;
	case 4: u->rotate_on_aeoi = true; break;
	case 1: eoi(u, highest(u, u->isr), false); break;
	case 5: eoi(u, highest(u, u->isr), true); break;
	case 3: eoi(u, val & 7, false); break;
	case 7: eoi(u, val & 7, true); break;
	case 6: u->lowest_prio = val & 7; break;
	default: break;             /* 2: no operation */
	}
}

static void write_data(struct pic_unit *u, uint8_t val)
{
	switch (u->init_step) {
	case 0:
		u->imr = val;
		break;
	case 2:
		u->vector_base = val & 0xf8;
		u->init_step = u->single ? (u->need_icw4 ? 4 : 0) : 3;
		break;
	case 3:
		u->icw3 = val;
		u->init_step = u->need_icw4 ? 4 : 0;
		break;
	case 4:
		u->auto_eoi = val & 0x02;
		u->sfnm = val & 0x10;
		if (!(val & 0x01))
			guest_err("8259: MCS-80 mode requested, ignored\n");
		u->init_step = 0;
		break;
	}
}

static void pic_read(struct soft_irqchip *chip, int idx, uint64_t offset, void *data,
		     unsigned len)
{
	struct i8259 *pic = &chip->pic;
	struct pic_unit *u = &pic->unit[idx];
	uint8_t val;

	memset(data, 0, len);
	pthread_mutex_lock(&pic->lock);
	if (u->poll)
		val = poll_locked(pic, idx);
	else if (offset == 0)
		val = u->read_isr ? u->isr : u->irr;
	else
		val = u->imr;
	pthread_mutex_unlock(&pic->lock);
	*(uint8_t *)data = val;
}

static void pic_write(struct soft_irqchip *chip, int idx, uint64_t offset,
		      const void *data, unsigned len)
{
	struct i8259 *pic = &chip->pic;
	uint8_t val = *(const uint8_t *)data;
	bool rose;

	pthread_mutex_lock(&pic->lock);
	if (offset == 0)
		write_cmd(&pic->unit[idx], val);
	else
		write_data(&pic->unit[idx], val);
	rose = update(pic);
	pthread_mutex_unlock(&pic->lock);
	if (rose)
		lapic__extint_notify(chip);
}

static void master_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	pic_read(opaque, 0, offset, data, len);
}

static void master_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	pic_write(opaque, 0, offset, data, len);
}

static void slave_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	pic_read(opaque, 1, offset, data, len);
}

static void slave_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	pic_write(opaque, 1, offset, data, len);
}

static void elcr_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct i8259 *pic = &((struct soft_irqchip *)opaque)->pic;

	memset(data, 0, len);
	pthread_mutex_lock(&pic->lock);
	*(uint8_t *)data = pic->unit[offset & 1].elcr;
	if (len >= 2 && offset == 0)
		((uint8_t *)data)[1] = pic->unit[1].elcr;
	pthread_mutex_unlock(&pic->lock);
}

static void elcr_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct soft_irqchip *chip = opaque;
	struct i8259 *pic = &chip->pic;
	const uint8_t *b = data;
	bool rose;

	pthread_mutex_lock(&pic->lock);
	for (unsigned i = 0; i < len && offset + i < 2; i++) {
		struct pic_unit *u = &pic->unit[offset + i];
		u->elcr = b[i] & u->elcr_mask;
		/* A line that became level-sensitive requests while high. */
		u->irr |= u->last_level & u->elcr;
	}
	rose = update(pic);
	pthread_mutex_unlock(&pic->lock);
	if (rose)
		lapic__extint_notify(chip);
}

const struct bus_dev_ops i8259__master_ops = { master_read, master_write };
const struct bus_dev_ops i8259__slave_ops = { slave_read, slave_write };
const struct bus_dev_ops i8259__elcr_ops = { elcr_read, elcr_write };
