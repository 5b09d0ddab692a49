#include <errno.h>

#include "util/log.h"
#include "vm/vm.h"

void vm__request_stop(struct vm *vm, enum vm_stop_reason reason, int status)
{
	int expected = VM_STOP_NONE;

	pthread_mutex_lock(&vm->stop_lock);
	if (atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)reason)) {
		vm->stop_status = status;
		pthread_cond_broadcast(&vm->stop_cond);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	/* Kick every vCPU so it notices, whoever won the race. */
	if (vm->accel && vm->accel->vcpu_kick) {
		for (int i = 0; i < vm->nr_cpus; i++)
			if (vm->vcpus[i].accel_data)
				vm->accel->vcpu_kick(&vm->vcpus[i]);
	}
}

int vm__irq_line(struct vm *vm, unsigned gsi, int level)
{
	if (!vm->accel || !vm->accel->irq_line)
		return -ENODEV;
	return vm->accel->irq_line(vm, gsi, level);
}

int vm__irq_pulse(struct vm *vm, unsigned gsi)
{
	int ret = vm__irq_line(vm, gsi, 1);

	if (ret)
		return ret;
	return vm__irq_line(vm, gsi, 0);
}

int vm__signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	if (!vm->accel || !vm->accel->signal_msi)
		return -ENOSYS;
	return vm->accel->signal_msi(vm, addr, data);
}

int vm__ioeventfd(struct vm *vm, uint64_t addr, unsigned len, int fd, bool assign)
{
	if (!vm->accel || !vm->accel->ioeventfd)
		return -ENOSYS;
	return vm->accel->ioeventfd(vm, addr, len, fd, assign);
}
