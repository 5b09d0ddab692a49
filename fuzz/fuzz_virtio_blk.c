/* libFuzzer harness for virtio-blk's guest-facing side: the input is the
 * guest's view of the world — descriptor table, avail ring, request
 * headers, discard segments and indirect tables all come from it — and
 * the device processes the queue against a small raw disk.  blk.c is
 * included so its static request path runs exactly as in vireo, but
 * synchronously (no worker thread), which keeps runs reproducible. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../src/devices/virtio/blk.c"
#include "vm/vm.h"

#define RAM   (16ull << 20)
#define QSZ   16
#define DESC  0x1000ull
#define AVAIL 0x1100ull
#define USED  0x1200ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm *vm;
static struct virtio_blk *blk;

static void setup(void)
{
	struct disk_config dc = { .format = BLOCK_FMT_RAW };
	char path[64];
	int fd;

	log_set_level(LOG_SILENT);
	vm = calloc(1, sizeof(*vm));
	if (!vm || vm__alloc_ram(vm, RAM))
		abort();
	fd = memfd_create("disk", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dc.path = path;
	blk = calloc(1, sizeof(*blk));
	if (!blk || block__open(path, BLOCK_FMT_RAW, BLOCK_OPEN_NOLOCK, &blk->bd))
		abort();
	blk->cfg.capacity = htole64(blk->bd->size / SECTOR);
	snprintf(blk->name, sizeof(blk->name), "fuzz-blk");
	blk->vdev.opaque = blk;
	blk->vdev.name = blk->name;
	blk->vdev.vm = vm;
	blk->vdev.nr_queues = 1;
	blk->vdev.msix_enabled = true;   /* no vectors: signalling is a no-op */
	blk->vdev.config_msix_vector = VIRTIO_MSI_NO_VECTOR;
	blk->vdev.vqs[0].dev = &blk->vdev;
	(void)dc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtqueue *vq;

	if (!vm)
		setup();
	/* The input becomes guest RAM from 0x1000 on (rings + buffers). */
	memset(vm->ram, 0, 0x100000);
	/* Rings are packed at the start of the input so short inputs reach them;
	 * buffers may point anywhere, including into the rings. */
	memcpy(vm->ram + DESC, data, size < 0xff000 ? size : 0xff000);
	blk->vdev.broken = false;
	blk->vdev.guest_features = size ? ((uint64_t)data[0] << 24) : 0; /* indirect/event-idx or not */
	vq = &blk->vdev.vqs[0];
	virtq__reset(vq);
	vq->size = QSZ;
	vq->desc_gpa = DESC;
	vq->avail_gpa = AVAIL;
	vq->used_gpa = USED;
	if (virtq__enable(vq))
		abort();
	blk_handle_queue(&blk->vdev, vq);
	return 0;
}
