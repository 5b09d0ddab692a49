/* One worker thread per virtio device: it sleeps in epoll on the queues'
 * kick eventfds (signalled by KVM's ioeventfd or by the notify MMIO
 * handler), a stop eventfd and the device's backend fds (tap, slirp,
 * console), so no device work ever runs on a vCPU thread. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/virtio.h"
#include "util/log.h"

#define TAG_STOP  0xffffffffu
#define TAG_EXTRA 0x10000u

static void *worker_main(void *arg)
{
	struct virtio_dev *dev = arg;
	struct epoll_event ev[16];

	for (;;) {
		int n = epoll_wait(dev->epoll_fd, ev, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("%s: epoll_wait: %s", dev->name, strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			uint32_t tag = ev[i].data.u32;
			uint64_t cnt;

			if (tag == TAG_STOP)
				return NULL;
			if (tag >= TAG_EXTRA) {
				unsigned k = tag - TAG_EXTRA;
				if (k < dev->nr_extra_fds && dev->ops->handle_fd) {
					pthread_mutex_lock(&dev->lock);
					dev->ops->handle_fd(dev, dev->extra_fds[k]);
					pthread_mutex_unlock(&dev->lock);
				}
				continue;
			}
			if (tag >= dev->nr_queues)
				continue;
			if (read(dev->vqs[tag].kick_fd, &cnt, 8) < 0 && errno != EAGAIN)
				continue;
			pthread_mutex_lock(&dev->lock);
			if ((dev->status & VIRTIO_STATUS_DRIVER_OK) && !dev->broken &&
			    dev->vqs[tag].enabled)
				dev->ops->handle_queue(dev, &dev->vqs[tag]);
			pthread_mutex_unlock(&dev->lock);
		}
	}
}

int virtio__worker_start(struct virtio_dev *dev)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char name[16];

	dev->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	dev->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->epoll_fd < 0 || dev->stop_fd < 0)
		return -errno;
	ev.data.u32 = TAG_STOP;
	if (epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, dev->stop_fd, &ev))
		return -errno;
	for (unsigned i = 0; i < dev->nr_queues; i++) {
		ev.data.u32 = i;
		if (epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, dev->vqs[i].kick_fd, &ev))
			return -errno;
	}
	for (unsigned i = 0; i < dev->nr_extra_fds; i++) {
		ev.data.u32 = TAG_EXTRA + i;
		if (epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, dev->extra_fds[i], &ev))
			return -errno;
	}
	if (pthread_create(&dev->worker, NULL, worker_main, dev))
		return -EAGAIN;
	snprintf(name, sizeof(name), "virtio-%s", dev->name);
	pthread_setname_np(dev->worker, name);
	dev->worker_started = true;
	return 0;
}

int virtio__worker_add_fd(struct virtio_dev *dev, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (dev->nr_extra_fds >= sizeof(dev->extra_fds) / sizeof(dev->extra_fds[0]))
		return -ENOSPC;
	dev->extra_fds[dev->nr_extra_fds] = fd;
	ev.data.u32 = TAG_EXTRA + dev->nr_extra_fds;
	if (dev->worker_started && epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	dev->nr_extra_fds++;
	return 0;
}

void virtio__worker_stop(struct virtio_dev *dev)
{
	uint64_t one = 1;

	if (dev->worker_started) {
		if (write(dev->stop_fd, &one, 8) == 8)
			pthread_join(dev->worker, NULL);
		dev->worker_started = false;
	}
	if (dev->epoll_fd >= 0)
		close(dev->epoll_fd);
	if (dev->stop_fd >= 0)
		close(dev->stop_fd);
	dev->epoll_fd = dev->stop_fd = -1;
}
