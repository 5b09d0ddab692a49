/* i8042 keyboard controller with an AT keyboard and a PS/2 mouse that never
 * produce input: enough for Linux's i8042/atkbd/psmouse drivers to probe
 * without timeouts, and for the 0xFE "pulse reset line" reboot. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devices.h"
#include "util/log.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define STS_OBF       0x01
#define STS_SYS       0x04
#define STS_CMD       0x08  /* last write went to the command port */
#define STS_UNLOCKED  0x10  /* keyboard not inhibited by the key lock */
#define STS_AUX_OBF   0x20

#define CTR_KBD_INT   0x01
#define CTR_AUX_INT   0x02
#define CTR_SYS       0x04
#define CTR_KBD_DIS   0x10
#define CTR_AUX_DIS   0x20
#define CTR_XLATE     0x40

#define OUTP_RESET    0x01  /* 0 = CPU held in reset */
#define OUTP_A20      0x02

#define KBD_ACK       0xFA
#define KBD_RESEND    0xFE
#define KBD_BAT_OK    0xAA

#define QUEUE_SIZE    32

enum i8042_src { SRC_KBD, SRC_AUX };

/* What the next byte written to port 0x60 means. */
enum i8042_pending {
	PEND_NONE,          /* a keyboard command */
	PEND_CTR,           /* 0x60: command byte */
	PEND_OUTPORT,       /* 0xD1: output port */
	PEND_KBD_OBUF,      /* 0xD2: fake keyboard byte */
	PEND_AUX_OBUF,      /* 0xD3: fake mouse byte (loopback) */
	PEND_AUX_CMD,       /* 0xD4: byte for the mouse */
};

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t ctr;
	uint8_t outport;
	bool last_was_cmd;
	bool self_tested;
	enum i8042_pending pending;
	uint8_t kbd_param_cmd;   /* keyboard command waiting for its parameter */
	uint8_t aux_param_cmd;   /* mouse command waiting for its parameter */
	bool kbd_scanning, aux_streaming;
	uint8_t aux_rate, aux_resolution, aux_scaling;
	uint8_t data_last;
	struct {
		uint8_t byte;
		uint8_t src;
	} queue[QUEUE_SIZE];
	unsigned head, count;
	bool kbd_irq, aux_irq;
};

static void i8042__queue(struct i8042 *k, enum i8042_src src, uint8_t byte)
{
	if (k->count == QUEUE_SIZE) {
		guest_err("i8042: output queue full, byte %#x dropped", byte);
		return;
	}
	k->queue[(k->head + k->count) % QUEUE_SIZE].byte = byte;
	k->queue[(k->head + k->count) % QUEUE_SIZE].src = (uint8_t)src;
	k->count++;
}

static void i8042__update_irq(struct i8042 *k)
{
	bool kbd = false, aux = false;

	if (k->count) {
		if (k->queue[k->head].src == SRC_AUX)
			aux = k->ctr & CTR_AUX_INT;
		else
			kbd = k->ctr & CTR_KBD_INT;
	}
	if (kbd != k->kbd_irq) {
		k->kbd_irq = kbd;
		vm__irq_line(k->vm, IRQ_KBD, kbd);
	}
	if (aux != k->aux_irq) {
		k->aux_irq = aux;
		vm__irq_line(k->vm, IRQ_MOUSE, aux);
	}
}

static uint8_t i8042__status(const struct i8042 *k)
{
	uint8_t s = STS_UNLOCKED;

	if (k->count) {
		s |= STS_OBF;
		if (k->queue[k->head].src == SRC_AUX)
			s |= STS_AUX_OBF;
	}
	if (k->ctr & CTR_SYS)
		s |= STS_SYS;
	if (k->last_was_cmd)
		s |= STS_CMD;
	return s;
}

static void i8042__reset_line(struct i8042 *k)
{
	pr_debug("i8042: reset line pulsed");
	vm__request_stop(k->vm, VM_STOP_RESET, 0);
}

static void i8042__kbd_command(struct i8042 *k, uint8_t cmd)
{
	if (k->kbd_param_cmd) {
		uint8_t pcmd = k->kbd_param_cmd;

		k->kbd_param_cmd = 0;
		i8042__queue(k, SRC_KBD, KBD_ACK);
		/* F0 00: report the current scan-code set. */
		if (pcmd == 0xF0 && cmd == 0x00)
			i8042__queue(k, SRC_KBD, 0x02);
		return;
	}
	switch (cmd) {
	case 0xFF:  /* reset + self test */
		k->kbd_scanning = true;
		i8042__queue(k, SRC_KBD, KBD_ACK);
		i8042__queue(k, SRC_KBD, KBD_BAT_OK);
		break;
	case 0xF2:  /* identify: MF2 keyboard */
		i8042__queue(k, SRC_KBD, KBD_ACK);
		i8042__queue(k, SRC_KBD, 0xAB);
		i8042__queue(k, SRC_KBD, 0x83);
		break;
	case 0xEE:  /* echo */
		i8042__queue(k, SRC_KBD, 0xEE);
		break;
	case 0xED:  /* set LEDs */
	case 0xF0:  /* scan-code set */
	case 0xF3:  /* typematic rate */
		k->kbd_param_cmd = cmd;
		i8042__queue(k, SRC_KBD, KBD_ACK);
		break;
	case 0xF4:
		k->kbd_scanning = true;
		i8042__queue(k, SRC_KBD, KBD_ACK);
		break;
	case 0xF5:
		k->kbd_scanning = false;
		i8042__queue(k, SRC_KBD, KBD_ACK);
		break;
	default:
		i8042__queue(k, SRC_KBD, KBD_ACK);
	}
}

static void i8042__aux_command(struct i8042 *k, uint8_t cmd)
{
	if (k->aux_param_cmd) {
		if (k->aux_param_cmd == 0xF3)
			k->aux_rate = cmd;
		else if (k->aux_param_cmd == 0xE8)
			k->aux_resolution = cmd & 3;
		k->aux_param_cmd = 0;
		i8042__queue(k, SRC_AUX, KBD_ACK);
		return;
	}
	switch (cmd) {
	case 0xFF:  /* reset: ACK, BAT passed, device ID 0 */
		k->aux_streaming = false;
		k->aux_rate = 100;
		k->aux_resolution = 2;
		k->aux_scaling = 0;
		i8042__queue(k, SRC_AUX, KBD_ACK);
		i8042__queue(k, SRC_AUX, KBD_BAT_OK);
		i8042__queue(k, SRC_AUX, 0x00);
		break;
	case 0xF2:  /* get device ID: standard PS/2 mouse */
		i8042__queue(k, SRC_AUX, KBD_ACK);
		i8042__queue(k, SRC_AUX, 0x00);
		break;
	case 0xE9:  /* status request */
		i8042__queue(k, SRC_AUX, KBD_ACK);
		i8042__queue(k, SRC_AUX, (uint8_t)((k->aux_streaming ? 0x20 : 0) |
						  (k->aux_scaling ? 0x10 : 0)));
		i8042__queue(k, SRC_AUX, k->aux_resolution);
		i8042__queue(k, SRC_AUX, k->aux_rate);
		break;
	case 0xEB:  /* read data: an empty movement packet */
		i8042__queue(k, SRC_AUX, KBD_ACK);
		i8042__queue(k, SRC_AUX, 0x08);
		i8042__queue(k, SRC_AUX, 0x00);
		i8042__queue(k, SRC_AUX, 0x00);
		break;
	case 0xE8:
	case 0xF3:
		k->aux_param_cmd = cmd;
		i8042__queue(k, SRC_AUX, KBD_ACK);
		break;
	case 0xE6:
	case 0xE7:
		k->aux_scaling = cmd == 0xE7;
		i8042__queue(k, SRC_AUX, KBD_ACK);
		break;
	case 0xF4:
		k->aux_streaming = true;
		i8042__queue(k, SRC_AUX, KBD_ACK);
		break;
	case 0xF5:
	case 0xF6:
		k->aux_streaming = false;
		i8042__queue(k, SRC_AUX, KBD_ACK);
		break;
	case 0xEA: case 0xEC: case 0xEE: case 0xF0:
		i8042__queue(k, SRC_AUX, KBD_ACK);
		break;
	default:
		i8042__queue(k, SRC_AUX, KBD_RESEND);
	}
}

static void i8042__controller_command(struct i8042 *k, uint8_t cmd)
{
	k->pending = PEND_NONE;
	switch (cmd) {
	case 0x20:
		i8042__queue(k, SRC_KBD, k->ctr);
		break;
	case 0x60:
		k->pending = PEND_CTR;
		break;
	case 0xA7:
		k->ctr |= CTR_AUX_DIS;
		break;
	case 0xA8:
		k->ctr &= ~CTR_AUX_DIS;
		break;
	case 0xA9:  /* aux interface test: no error */
	case 0xAB:  /* keyboard interface test: no error */
		i8042__queue(k, SRC_KBD, 0x00);
		break;
	case 0xAA:
		k->ctr |= CTR_SYS;
		k->self_tested = true;
		i8042__queue(k, SRC_KBD, 0x55);
		break;
	case 0xAD:
		k->ctr |= CTR_KBD_DIS;
		break;
	case 0xAE:
		k->ctr &= ~CTR_KBD_DIS;
		break;
	case 0xC0:  /* input port: keyboard not inhibited */
		i8042__queue(k, SRC_KBD, 0x80);
		break;
	case 0xD0:
		i8042__queue(k, SRC_KBD, k->outport);
		break;
	case 0xD1:
		k->pending = PEND_OUTPORT;
		break;
	case 0xD2:
		k->pending = PEND_KBD_OBUF;
		break;
	case 0xD3:
		k->pending = PEND_AUX_OBUF;
		break;
	case 0xD4:
		k->pending = PEND_AUX_CMD;
		break;
	case 0xDD:
	case 0xDF:
		/* A20 gate: A20 is always enabled here. */
		break;
	default:
		if (cmd >= 0xF0) {
			/* Pulse output lines; bit 0 clear pulses reset. */
			if (!(cmd & 0x01))
				i8042__reset_line(k);
			break;
		}
		guest_err("i8042: unknown controller command %#x", cmd);
	}
}

static void i8042__data_write(struct i8042 *k, uint8_t v)
{
	enum i8042_pending p = k->pending;

	k->pending = PEND_NONE;
	switch (p) {
	case PEND_CTR:
		k->ctr = v;
		break;
	case PEND_OUTPORT:
		k->outport = v | OUTP_A20;
		if (!(v & OUTP_RESET))
			i8042__reset_line(k);
		break;
	case PEND_KBD_OBUF:
		i8042__queue(k, SRC_KBD, v);
		break;
	case PEND_AUX_OBUF:
		i8042__queue(k, SRC_AUX, v);
		break;
	case PEND_AUX_CMD:
		i8042__aux_command(k, v);
		break;
	case PEND_NONE:
		/* Writing to the keyboard re-enables its interface. */
		k->ctr &= ~CTR_KBD_DIS;
		i8042__kbd_command(k, v);
		break;
	}
}

static uint8_t i8042__data_read(struct i8042 *k)
{
	if (k->count) {
		k->data_last = k->queue[k->head].byte;
		k->head = (k->head + 1) % QUEUE_SIZE;
		k->count--;
		/* Drop the line for this byte first, so the next one is a new
		 * edge for an edge-triggered IOAPIC pin. */
		if (k->kbd_irq) {
			k->kbd_irq = false;
			vm__irq_line(k->vm, IRQ_KBD, 0);
		}
		if (k->aux_irq) {
			k->aux_irq = false;
			vm__irq_line(k->vm, IRQ_MOUSE, 0);
		}
	}
	return k->data_last;
}

static void i8042__io_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct i8042 *k = opaque;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	v = offset == 0 ? i8042__data_read(k) : i8042__status(k);
	i8042__update_irq(k);
	pthread_mutex_unlock(&k->lock);
	memset(data, 0xFF, len);
	((uint8_t *)data)[0] = v;
}

static void i8042__io_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct i8042 *k = opaque;
	uint8_t v = ((const uint8_t *)data)[0];

	pthread_mutex_lock(&k->lock);
	if (offset == 0) {
		k->last_was_cmd = false;
		i8042__data_write(k, v);
	} else {
		k->last_was_cmd = true;
		i8042__controller_command(k, v);
	}
	i8042__update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

static const struct bus_dev_ops i8042_ops = {
	.read = i8042__io_read,
	.write = i8042__io_write,
};

/* The data and command ports are four apart; each is claimed as one port
 * and the opaque offset 0/1 is encoded by which ops table answers. */
static void i8042__cmd_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	i8042__io_read(opaque, 1, data, len);
}

static void i8042__cmd_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	i8042__io_write(opaque, 1, data, len);
}

static const struct bus_dev_ops i8042_cmd_ops = {
	.read = i8042__cmd_read,
	.write = i8042__cmd_write,
};

int i8042__init(struct vm *vm)
{
	struct i8042 *k;
	int ret;

	if (vm->dev.i8042)
		return -EEXIST;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->vm = vm;
	ret = pthread_mutex_init(&k->lock, NULL);
	if (ret) {
		free(k);
		return -ret;
	}
	/* As a PC BIOS leaves it: translation on, both ports' IRQs on,
	 * POST passed. */
	k->ctr = CTR_XLATE | CTR_SYS | CTR_AUX_INT | CTR_KBD_INT;
	k->outport = OUTP_RESET | OUTP_A20;
	k->kbd_scanning = true;
	k->aux_rate = 100;
	k->aux_resolution = 2;

	ret = bus__register(&vm->pio, PORT_I8042_DATA, 1, &i8042_ops, k, "i8042-data");
	if (ret)
		goto err_free;
	ret = bus__register(&vm->pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, k, "i8042-cmd");
	if (ret)
		goto err_unregister_data;
	vm->dev.i8042 = k;
	return 0;

err_unregister_data:
	bus__unregister(&vm->pio, PORT_I8042_DATA);
err_free:
	pthread_mutex_destroy(&k->lock);
	free(k);
	return ret;
}

void i8042__exit(struct vm *vm)
{
	struct i8042 *k = vm->dev.i8042;

	if (!k)
		return;
	bus__unregister(&vm->pio, PORT_I8042_CMD);
	bus__unregister(&vm->pio, PORT_I8042_DATA);
	pthread_mutex_destroy(&k->lock);
	free(k);
	vm->dev.i8042 = NULL;
}
