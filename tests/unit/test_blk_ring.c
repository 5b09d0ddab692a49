/* The fake guest of test_blk_ring.h. */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "test_blk_ring.h"

struct tdesc { uint64_t addr; uint32_t len; uint16_t flags, next; } __attribute__((packed));

int tring_open(struct tring *t, const struct disk_config *dc, uint16_t qsz, uint64_t ram)
{
	int err = 0;

	memset(t, 0, sizeof(*t));
	if (vm__alloc_ram(&t->vm, ram))
		return -ENOMEM;
	t->dev = virtio_blk__new(&t->vm, dc, &err);
	if (!t->dev) {
		vm__free_ram(&t->vm);
		return err;
	}
	/* MSI-X on, no vector: signalling is a no-op without a PCI device. */
	t->dev->msix_enabled = true;
	t->dev->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
	t->dev->guest_features = 1ull << VIRTIO_F_VERSION_1;
	t->dev->status = VIRTIO_STATUS_DRIVER_OK;
	t->qsz = qsz;
	t->vq = &t->dev->vqs[0];
	t->vq->dev = t->dev;
	virtq__reset(t->vq);
	t->vq->size = qsz;
	t->vq->desc_gpa = T_DESC;
	t->vq->avail_gpa = T_AVAIL;
	t->vq->used_gpa = T_USED;
	return virtq__enable(t->vq);
}

void tring_close(struct tring *t)
{
	virtio_blk__free(t->dev);
	vm__free_ram(&t->vm);
}

void *tring_hva(struct tring *t, uint64_t gpa)
{
	return t->vm.ram + gpa;
}

static void set_desc(struct tring *t, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags)
{
	struct tdesc d = { addr, len, flags, (uint16_t)((i + 1) % t->qsz) };

	memcpy(t->vm.ram + T_DESC + 16ull * i, &d, sizeof(d));
}

uint16_t tring_req(struct tring *t, uint32_t type, uint64_t sector, uint64_t data_gpa,
		   uint32_t len, unsigned nseg)
{
	uint16_t head = t->next_desc, i = head;
	uint16_t *avail = (uint16_t *)(t->vm.ram + T_AVAIL);
	struct { uint32_t type, reserved; uint64_t sector; } hdr = { htole32(type), 0, htole64(sector) };
	uint16_t dflag = type == T_IN ? 2 : 0;

	memcpy(t->vm.ram + T_HDR + 16ull * head, &hdr, sizeof(hdr));
	t->vm.ram[T_STATUS + head] = 0xee;  /* "not written" */
	set_desc(t, i, T_HDR + 16ull * head, 16, 1);
	i = (i + 1) % t->qsz;
	if (type != T_FLUSH && len) {
		/* Whole sectors per segment, as real drivers send. */
		uint32_t seg = len / nseg >= 512 ? (len / nseg) & ~511u : len / nseg;

		for (unsigned s = 0; s < nseg; s++) {
			uint32_t l = s == nseg - 1 ? len - seg * (nseg - 1) : seg;

			set_desc(t, i, data_gpa + (uint64_t)seg * s, l, dflag | 1);
			i = (i + 1) % t->qsz;
		}
	}
	set_desc(t, i, T_STATUS + head, 1, 2);
	t->next_desc = (i + 1) % t->qsz;
	avail[2 + avail[1] % t->qsz] = head;
	__atomic_store_n(&avail[1], (uint16_t)(avail[1] + 1), __ATOMIC_RELEASE);
	return head;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void tring_kick(struct tring *t)
{
	double t0 = now();

	t->dev->ops->handle_queue(t->dev, t->vq);
	t->busy += now() - t0;
}

uint16_t tring_used_idx(struct tring *t)
{
	return __atomic_load_n((uint16_t *)(t->vm.ram + T_USED) + 1, __ATOMIC_ACQUIRE);
}

void tring_used(struct tring *t, uint16_t i, uint16_t *head, uint32_t *len)
{
	uint32_t *e = (uint32_t *)(t->vm.ram + T_USED + 4 + 8ull * (i % t->qsz));

	*head = (uint16_t)e[0];
	*len = e[1];
}

uint8_t tring_status(struct tring *t, uint16_t head)
{
	return t->vm.ram[T_STATUS + head];
}

bool tring_wait(struct tring *t, uint16_t n, int timeout_ms)
{
	while (tring_used_idx(t) != n) {
		struct pollfd p;
		double t0;

		if (!t->dev->nr_extra_fds)
			return false;  /* synchronous device: nothing will come */
		p = (struct pollfd){ .fd = t->dev->extra_fds[0], .events = POLLIN };
		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		t0 = now();
		t->dev->ops->handle_fd(t->dev, p.fd);
		t->busy += now() - t0;
	}
	return true;
}
