/* The root object: one struct vm owns guest memory, the two buses, the CPU
 * backend, the vCPUs and every device.  Nothing else holds mutable global
 * state.
 *
 * Guest-physical memory map (see docs/memory-map.md):
 *   [0, lowmem)              RAM (lowmem = min(mem, 3 GiB))
 *   [3 GiB, 4 GiB)           32-bit hole: PCI MMIO, ECAM, IOAPIC, LAPIC
 *   [4 GiB, 4 GiB + highmem) RAM above the hole, if mem > 3 GiB
 * Host side it is one anonymous MAP_NORESERVE mapping of `mem` bytes:
 * low RAM first, high RAM right after it. */
#ifndef VIREO_VM_VM_H
#define VIREO_VM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel/accel.h"
#include "vm/bus.h"

#define VM_MAX_CPUS       64
#define VM_MAX_DISKS      8
#define VM_MEM_MIN        (16ull << 20)
#define VM_LOWMEM_LIMIT   0xC0000000ull  /* start of the 32-bit hole */
#define VM_HIGHMEM_BASE   0x100000000ull
#define VM_IOAPIC_BASE    0xFEC00000ull
#define VM_LAPIC_BASE     0xFEE00000ull
#define VM_PCI_ECAM_BASE  0xE0000000ull  /* 256 buses would be 256 MiB; we use bus 0 only */
#define VM_PCI_ECAM_SIZE  0x00100000ull  /* 1 MiB = bus 0 */
#define VM_PCI_MMIO_BASE  0xC0000000ull  /* BAR window for PCI devices */
#define VM_PCI_MMIO_SIZE  0x20000000ull

/* Exit status of `vireo run` (documented in docs/exit-codes.md). */
#define VM_EXIT_OK          0  /* guest powered off or reset */
#define VM_EXIT_ERROR       1  /* configuration / host error */
#define VM_EXIT_GUEST_CRASH 2  /* triple fault, or the backend gave up */

enum vm_stop_reason {
	VM_STOP_NONE = 0,
	VM_STOP_POWEROFF,
	VM_STOP_RESET,
	VM_STOP_DEBUG_EXIT,   /* isa-debug-exit: status (v << 1) | 1 */
	VM_STOP_TRIPLE_FAULT,
	VM_STOP_INTERNAL,     /* backend failure */
	VM_STOP_SIGNAL,       /* SIGINT/SIGTERM on the host */
};

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;
	int nr_cpus;
	enum accel_kind accel;
	const struct disk_config *disks;  /* virtio-blk, in --disk order */
	int nr_disks;
	bool rng;         /* virtio-rng */
	int console_in;   /* fd the UART reads from (-1: none) */
	int console_out;  /* fd the UART writes to */
	const struct net_config *nets;    /* virtio-net, in --net order */
	int nr_nets;
	bool virtio_console;  /* --console virtio: hvc0 on vcon_in/vcon_out */
	int vcon_in, vcon_out;
};

struct vcpu {
	struct vm *vm;
	int id;
	pthread_t thread;
	void *accel_data;   /* backend private */
};

struct serial;
struct rtc;
struct i8042;
struct pci_host;
struct acpi_pm;
struct debug_exit;
struct disk_config;
struct net_config;

struct vm {
	struct vm_config cfg;

	/* Guest RAM */
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t lowmem_size;
	uint64_t highmem_size;

	struct bus pio;
	struct bus mmio;

	const struct accel_ops *accel;
	enum accel_kind accel_kind;
	void *accel_data;   /* backend private */

	int nr_cpus;
	struct vcpu vcpus[VM_MAX_CPUS];

	struct {
		struct serial *com1;
		struct rtc *rtc;
		struct i8042 *i8042;
		struct pci_host *pci;
		struct acpi_pm *acpi_pm;
		struct debug_exit *debug_exit;
	} dev;

	/* Stop handshake: the first vm__request_exit wins. */
	atomic_int stop_reason;
	int stop_status;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
};

/* Lifecycle (src/vm/vm.c).  vm__create runs the builder: memory, backend,
 * platform devices, kernel + firmware tables, vCPUs, in that order. */
int vm__create(struct vm **out, const struct vm_config *cfg);
/* Start all vCPU threads, wait for a stop, join them; returns the process
 * exit status (VM_EXIT_* or the debug-exit value). */
int vm__run(struct vm *vm);
void vm__destroy(struct vm *vm);

/* Memory (src/vm/memory.c).  Every guest-physical access from the VMM goes
 * through these; they return NULL / -EFAULT when any byte of the range is
 * outside RAM, so guest-supplied addresses can be used safely. */
int vm__alloc_ram(struct vm *vm, uint64_t size);
void vm__free_ram(struct vm *vm);
void *vm__gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);
int vm__read_guest(struct vm *vm, uint64_t gpa, void *dst, uint64_t len);
int vm__write_guest(struct vm *vm, uint64_t gpa, const void *src, uint64_t len);
/* Devices that wrote guest RAM through a host pointer (DMA into buffers
 * from vm__gpa_to_hva) report it here, so a CPU backend that caches
 * decoded guest code can drop stale pages.  Cheap when nothing is cached. */
void vm__dma_written(struct vm *vm, const void *hva, uint64_t len);

/* Stop the VM.  Safe from any thread, including vCPU threads and signal
 * context-free device code; only the first call's reason/status stick. */
void vm__request_stop(struct vm *vm, enum vm_stop_reason reason, int status);
static inline bool vm__stopping(struct vm *vm)
{
	return atomic_load_explicit(&vm->stop_reason, memory_order_acquire) != VM_STOP_NONE;
}

/* Raise/lower an interrupt line (GSI), from any thread. */
int vm__irq_line(struct vm *vm, unsigned gsi, int level);
/* Edge: raise then lower. */
int vm__irq_pulse(struct vm *vm, unsigned gsi);
/* Deliver an MSI (address/data from an MSI-X table entry). */
int vm__signal_msi(struct vm *vm, uint64_t addr, uint32_t data);
/* Ask the backend to turn guest writes to addr into eventfd signals;
 * -ENOSYS when it cannot (the MMIO handler then sees the write). */
int vm__ioeventfd(struct vm *vm, uint64_t addr, unsigned len, int fd, bool assign);

#endif
