/* The virtio devices a VM can have, as the builder creates them. */
#ifndef VIREO_DEVICES_VIRTIO_DEVICES_H
#define VIREO_DEVICES_VIRTIO_DEVICES_H

#include <stdbool.h>

#include "block/block.h"

struct vm;

/* --disk PATH[,format=raw|qcow2][,readonly=on][,cache=none|writeback]
 *        [,aio=io_uring|sync] */
struct disk_config {
	const char *path;
	enum block_format format;
	bool readonly;
	bool cache_none;    /* O_DIRECT; default writeback */
	bool aio_sync;      /* aio=sync: no io_uring even for raw images */
};
/* Parse one --disk argument; prints one line and returns -EINVAL if bad. */
int disk_config__parse(const char *arg, struct disk_config *out);

/* Prints one line naming --disk and the reason on failure. */
int virtio_blk__create(struct vm *vm, const struct disk_config *cfg);
/* An unregistered device (tests, benchmarks): NULL with *err set on failure.
 * virtio_blk__free() drains in-flight I/O and closes the image. */
struct virtio_dev *virtio_blk__new(struct vm *vm, const struct disk_config *cfg, int *err);
void virtio_blk__free(struct virtio_dev *dev);
int virtio_rng__create(struct vm *vm);

/* virtio-net (net.c) over a backend from src/net (--net). */
struct net_config;
struct net_backend;
struct virtio_dev;
int virtio_net__create(struct vm *vm, const struct net_config *cfg);
/* An unregistered device over an open backend (tests); free() closes nb. */
struct virtio_dev *virtio_net__new(struct vm *vm, const unsigned char mac[6],
				   struct net_backend *nb);
void virtio_net__free(struct virtio_dev *dev);

/* virtio-console (console.c): hvc0 on in_fd/out_fd (--console virtio). */
int virtio_console__create(struct vm *vm, int in_fd, int out_fd);

#endif
