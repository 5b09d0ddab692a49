/* The irqchip as a whole: creation and wiring on the VM's buses, GSI
 * routing, and the timer thread that fires the PIT and LAPIC timers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accel/soft/irqchip/irqchip_priv.h"
#include "util/log.h"
#include "vm/vm.h"

#define IOAPIC_MMIO_SIZE 0x100   /* what KVM's in-kernel IOAPIC claims */
#define PORT_ELCR        0x4D0

static const struct {
	bool mmio;
	uint64_t base, len;
	const struct bus_dev_ops *ops;
	const char *name;
} ranges[] = {
	{ false, PORT_PIC_MASTER, 2, &i8259__master_ops, "pic-master" },
	{ false, PORT_PIC_SLAVE, 2, &i8259__slave_ops, "pic-slave" },
	{ false, PORT_ELCR, 2, &i8259__elcr_ops, "elcr" },
	{ false, PORT_PIT, 4, &i8254__ops, "pit" },
	{ false, PORT_SPEAKER, 1, &i8254__port61_ops, "port61" },
	{ true, VM_IOAPIC_BASE, IOAPIC_MMIO_SIZE, &ioapic__ops, "ioapic" },
};

uint64_t irqchip__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

void irqchip__timer_kick(struct soft_irqchip *chip)
{
	pthread_mutex_lock(&chip->tlock);
	chip->tgen++;
	pthread_cond_signal(&chip->tcond);
	pthread_mutex_unlock(&chip->tlock);
}

static void *timer_thread(void *arg)
{
	struct soft_irqchip *chip = arg;

	pthread_mutex_lock(&chip->tlock);
	while (!chip->tstop) {
		uint64_t gen = chip->tgen, next, now;

		/* Devices take their own locks: never hold tlock meanwhile. */
		pthread_mutex_unlock(&chip->tlock);
		now = irqchip__now_ns();
		next = i8254__tick(&chip->pit, now);
		for (int i = 0; i < chip->nr_cpus; i++) {
			uint64_t t = lapic__timer_tick(&chip->lapic[i], now);
			if (t < next)
				next = t;
		}
		pthread_mutex_lock(&chip->tlock);
		if (chip->tstop || chip->tgen != gen)
			continue;   /* something re-armed while we scanned */
		if (next == UINT64_MAX) {
			pthread_cond_wait(&chip->tcond, &chip->tlock);
		} else if (next > irqchip__now_ns()) {
			struct timespec ts = {
				.tv_sec = next / NSEC_PER_SEC,
				.tv_nsec = next % NSEC_PER_SEC,
			};
			pthread_cond_timedwait(&chip->tcond, &chip->tlock, &ts);
		}
	}
	pthread_mutex_unlock(&chip->tlock);
	return NULL;
}

static void unregister_all(struct soft_irqchip *chip)
{
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if (!(chip->registered & (1u << i)))
			continue;
		bus__unregister(ranges[i].mmio ? &chip->vm->mmio : &chip->vm->pio,
				ranges[i].base);
	}
	chip->registered = 0;
}

int soft_irqchip__create(struct vm *vm, int nr_cpus, struct soft_irqchip **out)
{
	struct soft_irqchip *chip;
	pthread_condattr_t cattr;
	int ret;

	if (nr_cpus < 1 || nr_cpus > VM_MAX_CPUS)
		return -EINVAL;
	chip = calloc(1, sizeof(*chip));
	if (!chip)
		return -ENOMEM;
	chip->lapic = calloc(nr_cpus, sizeof(*chip->lapic));
	if (!chip->lapic) {
		ret = -ENOMEM;
		goto err_free_chip;
	}
	chip->vm = vm;
	chip->nr_cpus = nr_cpus;
	i8259__init(&chip->pic);
	ioapic__init(&chip->ioapic, chip);
	i8254__init(&chip->pit, chip);
	for (int i = 0; i < nr_cpus; i++)
		lapic__init(&chip->lapic[i], chip, i);

	pthread_mutex_init(&chip->tlock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&chip->tcond, &cattr);
	pthread_condattr_destroy(&cattr);

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		ret = bus__register(ranges[i].mmio ? &vm->mmio : &vm->pio, ranges[i].base,
				    ranges[i].len, ranges[i].ops, chip, ranges[i].name);
		if (ret) {
			pr_err("irqchip: cannot claim %s at %#llx: %d\n", ranges[i].name,
			       (unsigned long long)ranges[i].base, ret);
			goto err_unregister;
		}
		chip->registered |= 1u << i;
	}

	ret = -pthread_create(&chip->timer, NULL, timer_thread, chip);
	if (ret)
		goto err_unregister;
	chip->timer_running = true;
	*out = chip;
	return 0;

err_unregister:
	unregister_all(chip);
	soft_irqchip__destroy(chip);
	return ret;
err_free_chip:
	free(chip);
	return ret;
}

void soft_irqchip__destroy(struct soft_irqchip *chip)
{
	if (!chip)
		return;
	if (chip->timer_running) {
		pthread_mutex_lock(&chip->tlock);
		chip->tstop = true;
		pthread_cond_signal(&chip->tcond);
		pthread_mutex_unlock(&chip->tlock);
		pthread_join(chip->timer, NULL);
		chip->timer_running = false;
	}
	unregister_all(chip);
	for (int i = 0; i < chip->nr_cpus; i++)
		lapic__exit(&chip->lapic[i]);
	i8254__exit(&chip->pit);
	ioapic__exit(&chip->ioapic);
	i8259__exit(&chip->pic);
	pthread_cond_destroy(&chip->tcond);
	pthread_mutex_destroy(&chip->tlock);
	free(chip->lapic);
	free(chip);
}

void soft_irqchip__reset(struct soft_irqchip *chip)
{
	i8259__reset(&chip->pic);
	ioapic__reset(&chip->ioapic);
	i8254__reset(&chip->pit);
	for (int i = 0; i < chip->nr_cpus; i++)
		lapic__reset(&chip->lapic[i]);
	irqchip__timer_kick(chip);
}

int soft_irqchip__set_irq(struct soft_irqchip *chip, unsigned gsi, int level)
{
	if (gsi >= IOAPIC_NR_PINS)
		return -EINVAL;
	if (gsi < 16 && i8259__set_irq(&chip->pic, gsi, level))
		lapic__extint_notify(chip);
	ioapic__set_irq(&chip->ioapic, gsi, level);
	return 0;
}

int soft_irqchip__signal_msi(struct soft_irqchip *chip, uint64_t addr, uint32_t data)
{
	struct hook_batch batch = { .n = 0 };
	struct apic_msg msg;

	/* Only the interrupt window 0xFEExxxxx reaches the LAPICs; a write
	 * elsewhere would be an ordinary memory write, not an interrupt. */
	if ((addr >> 20) != 0xfee)
		return -EINVAL;
	msg = (struct apic_msg){
		.vector = data & 0xff,
		.mode = (data >> 8) & 7,
		.logical = addr & (1u << 2),
		.level_trig = data & (1u << 15),
		.assert = true,
		.dest = (addr >> 12) & 0xff,
		.shorthand = 0,
	};
	lapic__deliver(chip, NULL, &msg, &batch);
	hook_batch__run(&batch);
	return 0;
}

struct lapic *soft_irqchip__lapic(struct soft_irqchip *chip, int cpu)
{
	if (cpu < 0 || cpu >= chip->nr_cpus)
		return NULL;
	return &chip->lapic[cpu];
}
