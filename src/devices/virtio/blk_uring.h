/* virtio-blk's asynchronous raw-image path (blk_uring.c): IN/OUT/FLUSH go
 * to an io_uring as readv/writev/fdatasync straight on the guest's buffers,
 * many at a time; completions arrive on an eventfd the device's worker
 * watches.  Everything runs on the worker with the device lock held (or,
 * for drain, on the thread that holds the lock during a reset), so there
 * is no locking here.  Per-request state is indexed by descriptor head. */
#ifndef VIREO_DEVICES_VIRTIO_BLK_URING_H
#define VIREO_DEVICES_VIRTIO_BLK_URING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct virtqueue;
struct blk_uring;

/* Ring over fd (a raw image; direct: opened O_DIRECT).  NULL when io_uring
 * is unavailable (old kernel, seccomp): the caller stays synchronous. */
struct blk_uring *blk_uring__new(int fd, bool direct, const char *name);
void blk_uring__free(struct blk_uring *u);
/* The eventfd that becomes readable when completions are ready. */
int blk_uring__eventfd(const struct blk_uring *u);
/* Is a request with this head still in flight? */
bool blk_uring__busy(const struct blk_uring *u, uint16_t head);
unsigned blk_uring__inflight(const struct blk_uring *u);

/* Queue a read (write: false) or write of len bytes at off, to/from the
 * iovecs iov[0..n) after skipping skip bytes.  *status is the guest's status
 * byte; written is what the used ring reports on completion.
 * Returns 0 if queued, -EAGAIN if the caller must serve it synchronously
 * (O_DIRECT with misaligned buffers, no free SQE, out of memory). */
int blk_uring__rw(struct blk_uring *u, uint16_t head, const struct iovec *iov, unsigned n,
		  size_t skip, size_t len, uint64_t off, bool write, uint8_t *status,
		  uint32_t written);
/* fdatasync, ordered after every request queued before it. */
int blk_uring__flush(struct blk_uring *u, uint16_t head, uint8_t *status, uint32_t written);
/* Hand queued requests to the kernel. */
void blk_uring__submit(struct blk_uring *u);
/* Reap completions: finish short transfers, write status bytes, push to vq
 * and notify once.  Returns the number of requests completed. */
unsigned blk_uring__complete(struct blk_uring *u, struct virtqueue *vq);
/* Wait until nothing is in flight and forget the results (device reset:
 * the ring they belong to is going away). */
void blk_uring__drain(struct blk_uring *u);

#endif
