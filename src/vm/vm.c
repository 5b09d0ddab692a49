/* The VM builder and lifecycle.  Devices are attached in a fixed, documented
 * order (as Firecracker's builder does) because later steps depend on
 * earlier ones:
 *   1. guest RAM            (the backend maps it)
 *   2. CPU backend          (creates the interrupt controllers and PIT)
 *   3. platform devices     (need irq lines: serial, RTC, i8042, PCI host,
 *                            ACPI PM, debug-exit, legacy sinks)
 *   3b. virtio-pci devices  (need the PCI host): disks in --disk order get
 *                            slots 1.., then virtio-rng
 *   4. vCPUs                (APs wait for INIT/SIPI)
 *   5. kernel + firmware tables, BSP entry state (need RAM and nr_cpus) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "devices/devices.h"
#include "devices/virtio/devices.h"
#include "net/net.h"
#include "util/log.h"
#include "vm/platform.h"
#include "vm/vm.h"

static int attach_devices(struct vm *vm)
{
	int ret;

	ret = serial__init(vm, PORT_COM1, IRQ_COM1, vm->cfg.console_in, vm->cfg.console_out);
	if (ret) {
		pr_err("serial: %s", strerror(-ret));
		return ret;
	}
	if ((ret = rtc__init(vm)) || (ret = i8042__init(vm)) || (ret = pci__init(vm)) ||
	    (ret = acpi_pm__init(vm)) || (ret = debug_exit__init(vm)) ||
	    (ret = legacy_sink__init(vm))) {
		pr_err("platform devices: %s", strerror(-ret));
		return ret;
	}
	for (int i = 0; i < vm->cfg.nr_disks; i++) {
		/* Reports its own errors (one line naming the disk). */
		ret = virtio_blk__create(vm, &vm->cfg.disks[i]);
		if (ret)
			return ret;
	}
	for (int i = 0; i < vm->cfg.nr_nets; i++) {
		/* The backends report their own errors (one line naming --net). */
		ret = virtio_net__create(vm, &vm->cfg.nets[i]);
		if (ret)
			return ret;
	}
	if (vm->cfg.virtio_console &&
	    (ret = virtio_console__create(vm, vm->cfg.vcon_in, vm->cfg.vcon_out))) {
		pr_err("virtio-console: %s", strerror(-ret));
		return ret;
	}
	if (vm->cfg.rng && (ret = virtio_rng__create(vm))) {
		pr_err("virtio-rng: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

static void detach_devices(struct vm *vm)
{
	debug_exit__exit(vm);
	acpi_pm__exit(vm);
	pci__exit(vm);
	i8042__exit(vm);
	rtc__exit(vm);
	serial__exit(vm);
}

int vm__create(struct vm **out, const struct vm_config *cfg)
{
	struct x86_regs regs;
	struct x86_sregs sregs;
	struct vm *vm;
	int ret, i;

	if (cfg->nr_cpus < 1 || cfg->nr_cpus > VM_MAX_CPUS)
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->cfg = *cfg;
	vm->nr_cpus = cfg->nr_cpus;
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	bus__init(&vm->pio, "pio");
	bus__init(&vm->mmio, "mmio");

	ret = vm__alloc_ram(vm, cfg->mem_size);
	if (ret) {
		pr_err("--mem: cannot allocate %llu MiB of guest memory: %s",
		       (unsigned long long)(cfg->mem_size >> 20), strerror(-ret));
		goto err_free;
	}

	vm->accel_kind = cfg->accel;
	vm->accel = accel__ops(cfg->accel);
	if (!vm->accel) {
		pr_err("--accel %s: backend not available in this build", accel__name(cfg->accel));
		ret = -ENOSYS;
		goto err_ram;
	}
	ret = vm->accel->vm_init(vm);
	if (ret)
		goto err_ram_noaccel;

	ret = attach_devices(vm);
	if (ret)
		goto err_devices;

	for (i = 0; i < vm->nr_cpus; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].id = i;
		ret = vm->accel->vcpu_init(&vm->vcpus[i]);
		if (ret)
			goto err_vcpus;
	}

	memset(&regs, 0, sizeof(regs));
	memset(&sregs, 0, sizeof(sregs));
	ret = boot__setup(vm, &regs, &sregs);
	if (ret)
		goto err_vcpus;
	ret = vm->accel->vcpu_set_state(&vm->vcpus[0], &regs, &sregs);
	if (ret)
		goto err_vcpus;

	*out = vm;
	return 0;

err_vcpus:
	while (--i >= 0)
		vm->accel->vcpu_destroy(&vm->vcpus[i]);
err_devices:
	detach_devices(vm);
	vm->accel->vm_destroy(vm);
err_ram_noaccel:
	vm->accel = NULL;
err_ram:
	vm__free_ram(vm);
err_free:
	bus__exit(&vm->pio);
	bus__exit(&vm->mmio);
	free(vm);
	return ret;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%d", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	vcpu->vm->accel->vcpu_run(vcpu);
	return NULL;
}

/* Host signals that end the VM are taken synchronously by one thread, so
 * no handler ever runs device or backend code in signal context. */
static void *signal_thread(void *arg)
{
	struct vm *vm = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigwait(&set, &sig) == 0 && !vm__stopping(vm)) {
		pr_info("received signal %d, stopping the VM", sig);
		vm__request_stop(vm, VM_STOP_SIGNAL, 128 + sig);
	}
	return NULL;
}

int vm__run(struct vm *vm)
{
	pthread_t sig_tid;
	sigset_t set, old;
	int i, started = 0, status;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1); /* vCPU kick: unblocked by each vCPU thread */
	pthread_sigmask(SIG_BLOCK, &set, &old);

	if (pthread_create(&sig_tid, NULL, signal_thread, vm)) {
		pr_err("cannot create the signal thread");
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return VM_EXIT_ERROR;
	}
	for (i = 0; i < vm->nr_cpus; i++) {
		if (pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i])) {
			pr_err("cannot create vCPU thread %d", i);
			vm__request_stop(vm, VM_STOP_INTERNAL, VM_EXIT_ERROR);
			break;
		}
		started++;
	}

	pthread_mutex_lock(&vm->stop_lock);
	while (!vm__stopping(vm))
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	pthread_mutex_unlock(&vm->stop_lock);

	for (i = 0; i < started; i++)
		pthread_join(vm->vcpus[i].thread, NULL);
	pthread_kill(sig_tid, SIGTERM); /* wake sigwait; it sees the stop */
	pthread_join(sig_tid, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	status = vm->stop_status;
	switch (atomic_load(&vm->stop_reason)) {
	case VM_STOP_POWEROFF: pr_info("guest powered off"); break;
	case VM_STOP_RESET: pr_info("guest reset: stopping (reboot is not supported)"); break;
	case VM_STOP_DEBUG_EXIT: pr_info("guest wrote to isa-debug-exit: status %d", status); break;
	default: break;
	}
	return status;
}

void vm__destroy(struct vm *vm)
{
	if (!vm)
		return;
	for (int i = 0; i < vm->nr_cpus; i++)
		if (vm->vcpus[i].accel_data)
			vm->accel->vcpu_destroy(&vm->vcpus[i]);
	detach_devices(vm);
	vm->accel->vm_destroy(vm);
	vm__free_ram(vm);
	bus__exit(&vm->pio);
	bus__exit(&vm->mmio);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_cond_destroy(&vm->stop_cond);
	free(vm);
}
