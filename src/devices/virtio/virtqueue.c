/* Split virtqueues (virtio v1.2 section 2.7).  Everything read from the
 * rings is copied into locals first and validated; ring memory was checked
 * to be guest RAM when the queue was enabled. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "devices/virtio/virtio.h"
#include "util/log.h"
#include "vm/vm.h"

#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_MAX_INDIRECT    1024

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
} __attribute__((packed));

static inline uint16_t *avail_flags(struct virtqueue *vq) { return (uint16_t *)vq->avail; }
static inline uint16_t *avail_idx(struct virtqueue *vq) { return (uint16_t *)vq->avail + 1; }
static inline uint16_t *avail_ring(struct virtqueue *vq) { return (uint16_t *)vq->avail + 2; }
static inline uint16_t *used_event(struct virtqueue *vq) { return avail_ring(vq) + vq->size; }
static inline uint16_t *used_idx_p(struct virtqueue *vq) { return (uint16_t *)vq->used + 1; }
static inline struct vring_used_elem *used_ring(struct virtqueue *vq)
{
	return (struct vring_used_elem *)((uint16_t *)vq->used + 2);
}
static inline uint16_t *avail_event(struct virtqueue *vq)
{
	return (uint16_t *)(used_ring(vq) + vq->size);
}

static bool has_feature(struct virtqueue *vq, unsigned bit)
{
	return vq->dev->guest_features & (1ull << bit);
}

void virtq__reset(struct virtqueue *vq)
{
	vq->size = VIRTQ_MAX_SIZE;
	vq->msix_vector = VIRTIO_MSI_NO_VECTOR;
	vq->enabled = false;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->desc = vq->avail = vq->used = NULL;
	vq->last_avail = vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
}

int virtq__enable(struct virtqueue *vq)
{
	struct vm *vm = vq->dev->vm;
	uint64_t n = vq->size;

	/* Split rings need a power-of-two size (spec 2.7). */
	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return -EINVAL;
	vq->desc = vm__gpa_to_hva(vm, vq->desc_gpa, 16 * n);
	vq->avail = vm__gpa_to_hva(vm, vq->avail_gpa, 6 + 2 * n);
	vq->used = vm__gpa_to_hva(vm, vq->used_gpa, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used)
		return -EFAULT;
	vq->last_avail = vq->used_idx = 0;
	vq->signalled_used_valid = false;
	vq->enabled = true;
	return 0;
}

static int add_buf(struct virtqueue *vq, struct virtq_elem *e, const struct vring_desc *d)
{
	void *hva;

	if (d->len == 0)
		return 0;
	hva = vm__gpa_to_hva(vq->dev->vm, d->addr, d->len);
	if (!hva)
		return -EFAULT;
	if (d->flags & VRING_DESC_F_WRITE) {
		if (e->nr_in >= VIRTQ_MAX_SEGS)
			return -E2BIG;
		e->in[e->nr_in++] = (struct iovec){ hva, d->len };
		e->in_len += d->len;
	} else {
		/* Readable buffers must all come before writable ones. */
		if (e->nr_in || e->nr_out >= VIRTQ_MAX_SEGS)
			return -EINVAL;
		e->out[e->nr_out++] = (struct iovec){ hva, d->len };
		e->out_len += d->len;
	}
	return 0;
}

static int walk_indirect(struct virtqueue *vq, struct virtq_elem *e, const struct vring_desc *ind)
{
	const struct vring_desc *table;
	unsigned n, i = 0, steps = 0;
	int ret;

	if (!has_feature(vq, VIRTIO_F_RING_INDIRECT_DESC) || (ind->len % 16) || ind->len == 0 ||
	    ind->len / 16 > VIRTQ_MAX_INDIRECT)
		return -EINVAL;
	n = ind->len / 16;
	table = vm__gpa_to_hva(vq->dev->vm, ind->addr, ind->len);
	if (!table)
		return -EFAULT;
	for (;;) {
		struct vring_desc d;

		memcpy(&d, &table[i], sizeof(d));  /* copy before use */
		if (d.flags & VRING_DESC_F_INDIRECT)
			return -EINVAL;            /* no nesting (2.7.5.3.1) */
		ret = add_buf(vq, e, &d);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= n || ++steps >= n)
			return -ELOOP;
		i = d.next;
	}
}

int virtq__pop(struct virtqueue *vq, struct virtq_elem *e)
{
	uint16_t avail, head, i;
	unsigned steps = 0;
	int ret;

	if (!vq->enabled || vq->dev->broken)
		return 0;
	avail = atomic_load_explicit((_Atomic uint16_t *)avail_idx(vq), memory_order_acquire);
	if (avail == vq->last_avail)
		return 0;
	if ((uint16_t)(avail - vq->last_avail) > vq->size) {
		virtio__set_broken(vq->dev, "avail index moved by more than the queue size");
		return -EINVAL;
	}
	head = avail_ring(vq)[vq->last_avail % vq->size];
	if (head >= vq->size) {
		virtio__set_broken(vq->dev, "descriptor head out of range");
		return -EINVAL;
	}
	e->head = head;
	e->nr_in = e->nr_out = 0;
	e->in_len = e->out_len = 0;
	i = head;
	for (;;) {
		struct vring_desc d;
		const struct vring_desc *ring = vq->desc;

		memcpy(&d, &ring[i], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (d.flags & VRING_DESC_F_NEXT) {
				ret = -EINVAL;
				break;
			}
			ret = walk_indirect(vq, e, &d);
			break;
		}
		ret = add_buf(vq, e, &d);
		if (ret || !(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= vq->size || ++steps >= vq->size) {
			ret = -ELOOP;
			break;
		}
		i = d.next;
	}
	if (ret) {
		virtio__set_broken(vq->dev, ret == -ELOOP ? "descriptor chain loops or is too long" :
				   ret == -EFAULT ? "descriptor points outside guest RAM" :
				   "malformed descriptor chain");
		return -EINVAL;
	}
	vq->last_avail++;
	return 1;
}

void virtq__elem_written(struct virtqueue *vq, const struct virtq_elem *e, uint32_t written)
{
	for (unsigned i = 0; i < e->nr_in && written; i++) {
		uint32_t n = e->in[i].iov_len < written ? (uint32_t)e->in[i].iov_len : written;
		vm__dma_written(vq->dev->vm, e->in[i].iov_base, n);
		written -= n;
	}
}

void virtq__push(struct virtqueue *vq, const struct virtq_elem *e, uint32_t written)
{
	struct vring_used_elem *u = &used_ring(vq)[vq->used_idx % vq->size];

	virtq__elem_written(vq, e, written);

	u->id = e->head;
	u->len = written;
	vq->used_idx++;
	atomic_store_explicit((_Atomic uint16_t *)used_idx_p(vq), vq->used_idx, memory_order_release);
}

bool virtq__enable_kicks(struct virtqueue *vq)
{
	/* A broken device must not report "more work": the entries that broke
	 * it are still in the ring and the caller would spin on them. */
	if (!vq->enabled || vq->dev->broken)
		return false;
	if (has_feature(vq, VIRTIO_F_RING_EVENT_IDX))
		atomic_store_explicit((_Atomic uint16_t *)avail_event(vq), vq->last_avail,
				      memory_order_relaxed);
	/* Pairs with the driver's barrier between writing avail idx and
	 * reading avail_event: either we see its entry or it sees our event. */
	atomic_thread_fence(memory_order_seq_cst);
	return atomic_load_explicit((_Atomic uint16_t *)avail_idx(vq), memory_order_acquire) !=
	       vq->last_avail;
}

void virtq__notify(struct virtqueue *vq)
{
	uint16_t old, new_idx = vq->used_idx;
	bool need;

	atomic_thread_fence(memory_order_seq_cst);
	if (has_feature(vq, VIRTIO_F_RING_EVENT_IDX)) {
		uint16_t event = atomic_load_explicit((_Atomic uint16_t *)used_event(vq),
						      memory_order_relaxed);
		old = vq->signalled_used;
		need = !vq->signalled_used_valid ||
		       (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
	} else {
		need = !(atomic_load_explicit((_Atomic uint16_t *)avail_flags(vq), memory_order_relaxed) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	}
	vq->signalled_used = new_idx;
	vq->signalled_used_valid = true;
	if (need)
		virtio__signal_queue(vq->dev, vq);
}

/* Copy between a flat buffer and the bytes [skip, skip+len) of an iovec
 * array; returns how many bytes were copied (less if the iovecs end). */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t skip, uint8_t *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;
		uint8_t *p = iov[i].iov_base;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len - done)
			l = len - done;
		if (to_iov)
			memcpy(p + skip, buf + done, l);
		else
			memcpy(buf + done, p + skip, l);
		done += l;
		skip = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

size_t buf_to_iov(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len)
{
	return iov_copy(iov, n, skip, (uint8_t *)buf, len, true);
}
