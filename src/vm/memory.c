#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/vm.h"

int vm__alloc_ram(struct vm *vm, uint64_t size)
{
	void *p;

	if (size < VM_MEM_MIN)
		return -EINVAL;
	/* NORESERVE: a 2 GiB guest that touches 100 MiB costs 100 MiB. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, size, MADV_MERGEABLE);
	vm->ram = p;
	vm->ram_size = size;
	vm->lowmem_size = size < VM_LOWMEM_LIMIT ? size : VM_LOWMEM_LIMIT;
	vm->highmem_size = size - vm->lowmem_size;
	return 0;
}

void vm__free_ram(struct vm *vm)
{
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	vm->ram = NULL;
	vm->ram_size = vm->lowmem_size = vm->highmem_size = 0;
}

void *vm__gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa < vm->lowmem_size) {
		if (len > vm->lowmem_size - gpa)
			return NULL;
		return vm->ram + gpa;
	}
	if (gpa >= VM_HIGHMEM_BASE) {
		uint64_t off = gpa - VM_HIGHMEM_BASE;
		if (off >= vm->highmem_size || len > vm->highmem_size - off)
			return NULL;
		return vm->ram + vm->lowmem_size + off;
	}
	return NULL;
}

int vm__read_guest(struct vm *vm, uint64_t gpa, void *dst, uint64_t len)
{
	void *src = vm__gpa_to_hva(vm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int vm__write_guest(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = vm__gpa_to_hva(vm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	if (vm->accel && vm->accel->guest_ram_written)
		vm->accel->guest_ram_written(vm, gpa, len);
	return 0;
}

void vm__dma_written(struct vm *vm, const void *hva, uint64_t len)
{
	uint64_t off;

	if (!len || !vm->accel || !vm->accel->guest_ram_written)
		return;
	off = (uint64_t)((const uint8_t *)hva - vm->ram);
	if (off >= vm->ram_size || len > vm->ram_size - off)
		return;
	/* Host RAM is low RAM then high RAM; split at the 32-bit hole. */
	if (off < vm->lowmem_size) {
		uint64_t n = len < vm->lowmem_size - off ? len : vm->lowmem_size - off;
		vm->accel->guest_ram_written(vm, off, n);
		off += n;
		len -= n;
	}
	if (len)
		vm->accel->guest_ram_written(vm, VM_HIGHMEM_BASE + (off - vm->lowmem_size), len);
}
