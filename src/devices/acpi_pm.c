/* ACPI fixed hardware: PM1a event block (status + enable), PM1a control
 * block and the PM timer.  There is no SMI_CMD in the FADT, so the machine
 * is always in ACPI mode (SCI_EN reads 1).  Sleeping to S5 powers off;
 * other sleep states wake up at once (WAK_STS), since we cannot suspend. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/devices.h"
#include "util/log.h"
#include "vm/platform.h"
#include "vm/vm.h"

#define PM_RANGE_LEN  12   /* EVT 0-3, CNT 4-5, reserved 6-7, TMR 8-11 */
#define PM_STS        0
#define PM_EN         2
#define PM_CNT        4
#define PM_TMR        8

#define STS_TMR       0x0001
#define STS_GBL       0x0020
#define STS_PWRBTN    0x0100
#define STS_SLPBTN    0x0200
#define STS_RTC       0x0400
#define STS_WAK       0x8000
#define STS_MASK      (STS_TMR | STS_GBL | STS_PWRBTN | STS_SLPBTN | STS_RTC | STS_WAK)
/* Every architected enable bit is storage, as on hardware: ACPICA enables
 * the global lock and RTC events and reads the bits back.  Only the timer
 * and power button ever raise their status bits here. */
#define EN_MASK       (STS_TMR | STS_GBL | STS_PWRBTN | STS_SLPBTN | STS_RTC)

#define CNT_SCI_EN    0x0001
#define CNT_SLP_TYP_SHIFT 10
#define CNT_SLP_TYP   (7u << CNT_SLP_TYP_SHIFT)
#define CNT_SLP_EN    0x2000
#define CNT_RW_MASK   (0x0002 | CNT_SLP_TYP)  /* BM_RLD, SLP_TYP */

#define PM_TIMER_HZ   3579545ull
#define PM_TIMER_MASK 0xFFFFFFu

struct acpi_pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint64_t start_ns;
	uint32_t last_tmr;   /* for TMR_STS (bit 23 toggles) */
	bool sci_level;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t acpi_pm__timer(const struct acpi_pm *pm)
{
	uint64_t ns = mono_ns() - pm->start_ns;
	/* Split to keep the product in 64 bits for centuries of uptime. */
	uint64_t ticks = (ns / 1000000000ull) * PM_TIMER_HZ +
			 (ns % 1000000000ull) * PM_TIMER_HZ / 1000000000ull;

	return (uint32_t)(ticks & PM_TIMER_MASK);
}

/* TMR_STS is set whenever bit 23 of the counter changes; noticed lazily at
 * each access, which is all a guest can observe without the SCI. */
static void acpi_pm__sample_timer(struct acpi_pm *pm)
{
	uint32_t now = acpi_pm__timer(pm);

	if ((now ^ pm->last_tmr) & 0x800000)
		pm->sts |= STS_TMR;
	pm->last_tmr = now;
}

static void acpi_pm__update_sci(struct acpi_pm *pm)
{
	bool level = (pm->cnt & CNT_SCI_EN) && (pm->sts & pm->en & EN_MASK);

	if (level == pm->sci_level)
		return;
	pm->sci_level = level;
	vm__irq_line(pm->vm, IRQ_SCI, level);
}

static void acpi_pm__write_cnt(struct acpi_pm *pm, uint16_t v)
{
	unsigned typ;

	pm->cnt = (uint16_t)((pm->cnt & ~CNT_RW_MASK) | (v & CNT_RW_MASK)) | CNT_SCI_EN;
	if (!(v & CNT_SLP_EN))
		return;
	typ = (v & CNT_SLP_TYP) >> CNT_SLP_TYP_SHIFT;
	if (typ == ACPI_S5_SLP_TYP) {
		pr_debug("acpi: S5 requested, powering off");
		vm__request_stop(pm->vm, VM_STOP_POWEROFF, 0);
		return;
	}
	/* Not an S-state we model: pretend we slept and woke up, so a guest
	 * polling WAK_STS does not spin forever. */
	guest_err("acpi: sleep type %u not supported, waking at once", typ);
	pm->sts |= STS_WAK;
}

static uint16_t acpi_pm__reg16(struct acpi_pm *pm, unsigned reg)
{
	switch (reg) {
	case PM_STS:
		return pm->sts;
	case PM_EN:
		return pm->en;
	case PM_CNT:
		return pm->cnt;  /* SLP_EN is write-only, reads 0 */
	default:
		return 0;
	}
}

static void acpi_pm__io_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct acpi_pm *pm = opaque;
	uint8_t *out = data;

	pthread_mutex_lock(&pm->lock);
	acpi_pm__sample_timer(pm);
	for (unsigned i = 0; i < len; i++) {
		uint64_t o = offset + i;

		if (o >= PM_TMR && o < PM_TMR + 4)
			out[i] = (uint8_t)(pm->last_tmr >> (8 * (o - PM_TMR)));
		else if (o < PM_TMR)
			out[i] = (uint8_t)(acpi_pm__reg16(pm, (unsigned)o & ~1u) >> (8 * (o & 1)));
		else
			out[i] = 0xFF;
	}
	acpi_pm__update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

/* Registers are 16 bits wide and a guest may write them a byte at a time:
 * assemble each touched register's new value, then apply it once, so
 * that e.g. a byte write to the high half of PM1_CNT carries SLP_EN. */
static void acpi_pm__io_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct acpi_pm *pm = opaque;
	const uint8_t *in = data;

	pthread_mutex_lock(&pm->lock);
	acpi_pm__sample_timer(pm);
	for (unsigned reg = PM_STS; reg <= PM_CNT; reg += 2) {
		uint16_t val = 0, mask = 0;

		for (unsigned b = 0; b < 2; b++) {
			uint64_t o = reg + b;

			if (o >= offset && o < offset + len) {
				val |= (uint16_t)(in[o - offset] << (8 * b));
				mask |= (uint16_t)(0xFF << (8 * b));
			}
		}
		if (!mask)
			continue;
		switch (reg) {
		case PM_STS:
			pm->sts &= (uint16_t)~(val & mask & STS_MASK);
			break;
		case PM_EN:
			pm->en = (uint16_t)((pm->en & ~mask) | (val & mask & EN_MASK));
			break;
		case PM_CNT:
			acpi_pm__write_cnt(pm, (uint16_t)((pm->cnt & ~mask) | (val & mask)));
			break;
		}
	}
	if (offset + len > PM_TMR)
		guest_err("acpi: write to the read-only PM timer");
	acpi_pm__update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static const struct bus_dev_ops acpi_pm_ops = {
	.read = acpi_pm__io_read,
	.write = acpi_pm__io_write,
};

void acpi_pm__power_button(struct vm *vm)
{
	struct acpi_pm *pm = vm->dev.acpi_pm;

	if (!pm)
		return;
	pthread_mutex_lock(&pm->lock);
	pm->sts |= STS_PWRBTN;
	acpi_pm__update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

int acpi_pm__init(struct vm *vm)
{
	struct acpi_pm *pm;
	int ret;

	if (vm->dev.acpi_pm)
		return -EEXIST;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->vm = vm;
	ret = pthread_mutex_init(&pm->lock, NULL);
	if (ret) {
		free(pm);
		return -ret;
	}
	pm->cnt = CNT_SCI_EN;
	pm->start_ns = mono_ns();
	ret = bus__register(&vm->pio, PORT_ACPI_PM_BASE, PM_RANGE_LEN, &acpi_pm_ops, pm,
			    "acpi-pm");
	if (ret) {
		pthread_mutex_destroy(&pm->lock);
		free(pm);
		return ret;
	}
	vm->dev.acpi_pm = pm;
	return 0;
}

void acpi_pm__exit(struct vm *vm)
{
	struct acpi_pm *pm = vm->dev.acpi_pm;

	if (!pm)
		return;
	bus__unregister(&vm->pio, PORT_ACPI_PM_BASE);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
	vm->dev.acpi_pm = NULL;
}
