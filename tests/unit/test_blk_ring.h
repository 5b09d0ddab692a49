/* A fake guest driving an unregistered virtio-blk over a split ring in RAM
 * (test_blk.c, test_blk_bench.c). */
#ifndef VIREO_TESTS_UNIT_TEST_BLK_RING_H
#define VIREO_TESTS_UNIT_TEST_BLK_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio/devices.h"
#include "devices/virtio/virtio.h"
#include "vm/vm.h"

#define T_DESC   0x10000ull
#define T_AVAIL  0x11000ull
#define T_USED   0x12000ull
#define T_HDR    0x20000ull  /* 16 bytes per head */
#define T_STATUS 0x30000ull  /* 1 byte per head */
#define T_DATA   0x100000ull

#define T_IN     0
#define T_OUT    1
#define T_FLUSH  4

struct tring {
	struct vm vm;
	struct virtio_dev *dev;
	struct virtqueue *vq;
	uint16_t qsz;
	uint16_t next_desc;
	double busy;    /* seconds spent inside the device's handlers */
};

/* 0 or -errno from virtio_blk__new. */
int tring_open(struct tring *t, const struct disk_config *dc, uint16_t qsz, uint64_t ram);
void tring_close(struct tring *t);
/* Make a request available; its data [data_gpa, +len) is split into nseg
 * descriptors.  Returns the head. */
uint16_t tring_req(struct tring *t, uint32_t type, uint64_t sector, uint64_t data_gpa,
		   uint32_t len, unsigned nseg);
/* Let the device look at the ring (its worker would on a kick). */
void tring_kick(struct tring *t);
/* Run completions until the used index reaches n; false on timeout. */
bool tring_wait(struct tring *t, uint16_t n, int timeout_ms);
uint16_t tring_used_idx(struct tring *t);
/* The used entry at position i: head and length. */
void tring_used(struct tring *t, uint16_t i, uint16_t *head, uint32_t *len);
uint8_t tring_status(struct tring *t, uint16_t head);
void *tring_hva(struct tring *t, uint64_t gpa);

#endif
