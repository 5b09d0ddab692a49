/* virtio-pci "modern" transport (virtio v1.2 section 4.1): everything in
 * one 64-bit memory BAR, described by vendor capabilities.
 *
 *   BAR0 + 0x0000  common configuration
 *   BAR0 + 0x1000  ISR status
 *   BAR0 + 0x2000  device-specific configuration
 *   BAR0 + 0x3000  notifications: queue i at 0x3000 + 4 * i
 *   BAR0 + 0x4000  MSI-X table, BAR0 + 0x5000 MSI-X PBA */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/virtio/virtio.h"
#include "util/log.h"
#include "vm/vm.h"

#define BAR_SIZE        0x8000
#define OFF_COMMON      0x0000
#define OFF_ISR         0x1000
#define OFF_DEVICE      0x2000
#define OFF_NOTIFY      0x3000
#define OFF_MSIX_TABLE  0x4000
#define OFF_MSIX_PBA    0x5000
#define NOTIFY_MULT     4

#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR    3
#define VIRTIO_PCI_CAP_DEVICE 4
#define PCI_CAP_ID_VNDR       0x09
#define PCI_CAP_ID_MSIX       0x11
#define MSIX_CTRL_ENABLE      (1u << 15)
#define MSIX_CTRL_MASKALL     (1u << 14)

struct virtio_pci_cap {
	uint8_t id, next, len, cfg_type, bar, cap_id, pad[2];
	uint32_t offset, length;
} __attribute__((packed));

struct virtio_pci_notify_cap {
	struct virtio_pci_cap cap;
	uint32_t multiplier;
} __attribute__((packed));

struct msix_cap {
	uint8_t id, next;
	uint16_t ctrl;
	uint32_t table, pba;
} __attribute__((packed));

static unsigned nr_vectors(const struct virtio_dev *dev)
{
	return dev->nr_queues + 1;
}

void virtio__set_broken(struct virtio_dev *dev, const char *why)
{
	if (!dev->broken)
		guest_err("%s: %s; device needs reset", dev->name, why);
	dev->broken = true;
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
	virtio__signal_config(dev);
}

static void msix_deliver(struct virtio_dev *dev, uint16_t vec)
{
	if (vec >= nr_vectors(dev))
		return;
	if (dev->msix_masked || (dev->msix[vec].ctrl & 1)) {
		__atomic_or_fetch(&dev->msix_pending, 1ull << vec, __ATOMIC_SEQ_CST);
		return;
	}
	vm__signal_msi(dev->vm, ((uint64_t)dev->msix[vec].addr_hi << 32) | dev->msix[vec].addr_lo,
		       dev->msix[vec].data);
}

static void signal(struct virtio_dev *dev, uint16_t vec, unsigned isr_bit)
{
	if (dev->msix_enabled) {
		if (vec != VIRTIO_MSI_NO_VECTOR)
			msix_deliver(dev, vec);
		return;
	}
	atomic_fetch_or(&dev->isr, isr_bit);
	pci__irq_set(&dev->pci, true);
}

void virtio__signal_queue(struct virtio_dev *dev, struct virtqueue *vq)
{
	signal(dev, vq->msix_vector, 1);
}

void virtio__signal_config(struct virtio_dev *dev)
{
	dev->config_generation++;
	signal(dev, dev->config_msix_vector, 2);
}

static void device_reset(struct virtio_dev *dev)
{
	if (dev->ops->reset)
		dev->ops->reset(dev);
	for (unsigned i = 0; i < dev->nr_queues; i++)
		virtq__reset(&dev->vqs[i]);
	dev->status = 0;
	dev->guest_features = 0;
	dev->dfselect = dev->gfselect = 0;
	dev->queue_select = 0;
	dev->config_msix_vector = VIRTIO_MSI_NO_VECTOR;
	dev->broken = false;
	atomic_store(&dev->isr, 0);
	pci__irq_set(&dev->pci, false);
}

static void set_status(struct virtio_dev *dev, uint8_t st)
{
	if (st == 0) {
		device_reset(dev);
		return;
	}
	if ((st & VIRTIO_STATUS_FEATURES_OK) && !(dev->status & VIRTIO_STATUS_FEATURES_OK)) {
		/* Refuse feature sets we did not offer, and legacy drivers. */
		if ((dev->guest_features & ~dev->host_features) ||
		    !(dev->guest_features & (1ull << VIRTIO_F_VERSION_1)))
			st &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(dev->status & VIRTIO_STATUS_DRIVER_OK) &&
	    dev->ops->activate)
		dev->ops->activate(dev);
	dev->status = st | (dev->status & VIRTIO_STATUS_NEEDS_RESET);
	/* Wake the worker: queues may have become live. */
	for (unsigned i = 0; i < dev->nr_queues; i++)
		if (dev->vqs[i].enabled) {
			uint64_t one = 1;
			if (write(dev->vqs[i].kick_fd, &one, 8) < 0)
				break;
		}
}

static uint32_t common_read(struct virtio_dev *dev, unsigned off)
{
	struct virtqueue *vq = dev->queue_select < dev->nr_queues ? &dev->vqs[dev->queue_select] : NULL;

	switch (off) {
	case 0x00: return dev->dfselect;
	case 0x04: return dev->dfselect < 2 ? (uint32_t)(dev->host_features >> (32 * dev->dfselect)) : 0;
	case 0x08: return dev->gfselect;
	case 0x0c: return dev->gfselect < 2 ? (uint32_t)(dev->guest_features >> (32 * dev->gfselect)) : 0;
	case 0x10: return dev->config_msix_vector;
	case 0x12: return dev->nr_queues;
	case 0x14: return dev->status;
	case 0x15: return dev->config_generation;
	case 0x16: return dev->queue_select;
	case 0x18: return vq ? vq->size : 0;
	case 0x1a: return vq ? vq->msix_vector : VIRTIO_MSI_NO_VECTOR;
	case 0x1c: return vq ? vq->enabled : 0;
	case 0x1e: return vq ? vq->index : 0;
	case 0x20: return vq ? (uint32_t)vq->desc_gpa : 0;
	case 0x24: return vq ? (uint32_t)(vq->desc_gpa >> 32) : 0;
	case 0x28: return vq ? (uint32_t)vq->avail_gpa : 0;
	case 0x2c: return vq ? (uint32_t)(vq->avail_gpa >> 32) : 0;
	case 0x30: return vq ? (uint32_t)vq->used_gpa : 0;
	case 0x34: return vq ? (uint32_t)(vq->used_gpa >> 32) : 0;
	default: return 0;
	}
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	*v = high ? ((*v & 0xffffffffull) | ((uint64_t)val << 32)) : ((*v & ~0xffffffffull) | val);
}

static void common_write(struct virtio_dev *dev, unsigned off, uint32_t val)
{
	struct virtqueue *vq = dev->queue_select < dev->nr_queues ? &dev->vqs[dev->queue_select] : NULL;
	bool setup_ok = vq && !vq->enabled;

	switch (off) {
	case 0x00: dev->dfselect = val; break;
	case 0x08: dev->gfselect = val; break;
	case 0x0c:
		if (dev->gfselect < 2 && !(dev->status & VIRTIO_STATUS_FEATURES_OK)) {
			uint64_t mask = 0xffffffffull << (32 * dev->gfselect);
			dev->guest_features = (dev->guest_features & ~mask) |
					      ((uint64_t)val << (32 * dev->gfselect));
		}
		break;
	case 0x10:
		dev->config_msix_vector = val < nr_vectors(dev) ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
		break;
	case 0x14: set_status(dev, (uint8_t)val); break;
	case 0x16: dev->queue_select = (uint16_t)val; break;
	case 0x18: if (setup_ok) vq->size = (uint16_t)val; break;
	case 0x1a:
		if (vq)
			vq->msix_vector = val < nr_vectors(dev) ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
		break;
	case 0x1c:
		if (setup_ok && val == 1) {
			int ret = virtq__enable(vq);
			if (ret)
				virtio__set_broken(dev, ret == -EFAULT ? "queue rings outside guest RAM"
								       : "bad queue size or alignment");
		}
		break;
	case 0x20: case 0x24: if (setup_ok) set_half(&vq->desc_gpa, off & 4, val); break;
	case 0x28: case 0x2c: if (setup_ok) set_half(&vq->avail_gpa, off & 4, val); break;
	case 0x30: case 0x34: if (setup_ok) set_half(&vq->used_gpa, off & 4, val); break;
	default: break;
	}
}

/* Field widths of the common config, to split odd-sized accesses. */
static unsigned field_size(unsigned off)
{
	if (off < 0x10)
		return 4;
	if (off < 0x14)
		return 2;
	if (off < 0x16)
		return 1;
	if (off < 0x20)
		return 2;
	return 4;
}

static void msix_access(struct virtio_dev *dev, unsigned off, void *data, unsigned len, bool write)
{
	uint32_t v = 0;

	if (len != 4 || (off & 3))
		goto bad;
	if (off >= OFF_MSIX_PBA) {
		if (!write && off - OFF_MSIX_PBA < 8) {
			uint64_t p = __atomic_load_n(&dev->msix_pending, __ATOMIC_SEQ_CST);
			v = (uint32_t)(p >> (8 * (off - OFF_MSIX_PBA)));
			memcpy(data, &v, 4);
		}
		return;
	}
	off -= OFF_MSIX_TABLE;
	if (off / 16 >= nr_vectors(dev))
		goto bad;
	{
		uint32_t *field = &dev->msix[off / 16].addr_lo + (off % 16) / 4;
		unsigned vec = off / 16;

		if (!write) {
			memcpy(data, field, 4);
			return;
		}
		memcpy(field, data, 4);
		if ((off % 16) == 12 && !(dev->msix[vec].ctrl & 1) &&
		    (__atomic_fetch_and(&dev->msix_pending, ~(1ull << vec), __ATOMIC_SEQ_CST) &
		     (1ull << vec)))
			msix_deliver(dev, (uint16_t)vec);
	}
	return;
bad:
	if (!write)
		memset(data, 0xff, len);
}

static void bar_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct virtio_dev *dev = opaque;
	uint32_t v = 0;

	memset(data, 0, len);
	pthread_mutex_lock(&dev->lock);
	if (off < OFF_ISR) {
		unsigned fs = field_size((unsigned)off), base = (unsigned)off & ~(fs - 1);

		/* Any access that stays inside one field reads that field. */
		if (off < 0x38 && off - base + len <= fs) {
			v = common_read(dev, base) >> (8 * (off - base));
			memcpy(data, &v, len);
		}
	} else if (off == OFF_ISR) {
		v = atomic_exchange(&dev->isr, 0);
		pci__irq_set(&dev->pci, false);
		memcpy(data, &v, len > 4 ? 4 : len);
	} else if (off >= OFF_DEVICE && off < OFF_NOTIFY) {
		unsigned o = (unsigned)(off - OFF_DEVICE);
		if (o < dev->config_len && len <= dev->config_len - o && dev->ops->config_read)
			dev->ops->config_read(dev, o, data, len);
	} else if (off >= OFF_MSIX_TABLE && off < BAR_SIZE) {
		msix_access(dev, (unsigned)off, data, len, false);
	}
	pthread_mutex_unlock(&dev->lock);
}

static void bar_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct virtio_dev *dev = opaque;
	uint32_t v = 0;

	if (off >= OFF_NOTIFY && off < OFF_MSIX_TABLE) {
		/* No lock: a notify only wakes the worker. */
		unsigned q = (unsigned)(off - OFF_NOTIFY) / NOTIFY_MULT;
		uint64_t one = 1;
		if (q < dev->nr_queues && write(dev->vqs[q].kick_fd, &one, 8) < 0)
			guest_err("%s: kick: %m", dev->name);
		return;
	}
	memcpy(&v, data, len > 4 ? 4 : len);
	pthread_mutex_lock(&dev->lock);
	if (off < OFF_ISR) {
		if (off < 0x38 && len == field_size((unsigned)off))
			common_write(dev, (unsigned)off, v);
		else
			guest_err("%s: %u-byte write to common config offset %#llx ignored", dev->name,
				  len, (unsigned long long)off);
	} else if (off >= OFF_DEVICE && off < OFF_NOTIFY) {
		unsigned o = (unsigned)(off - OFF_DEVICE);
		if (o < dev->config_len && len <= dev->config_len - o && dev->ops->config_write)
			dev->ops->config_write(dev, o, data, len);
	} else if (off >= OFF_MSIX_TABLE && off < BAR_SIZE) {
		msix_access(dev, (unsigned)off, (void *)data, len, true);
	}
	pthread_mutex_unlock(&dev->lock);
}

static const struct bus_dev_ops virtio_bar_ops = {
	.read = bar_read,
	.write = bar_write,
};

static void bar_moved(struct pci_device *pdev, int bar, bool mapped, uint64_t addr)
{
	struct virtio_dev *dev = pdev->opaque;

	if (bar != 0)
		return;
	for (unsigned i = 0; i < dev->nr_queues; i++) {
		struct virtqueue *vq = &dev->vqs[i];
		uint64_t a = addr + OFF_NOTIFY + NOTIFY_MULT * i;

		if (vq->ioeventfd && (!mapped || a != dev->bar_addr + OFF_NOTIFY + NOTIFY_MULT * i)) {
			vm__ioeventfd(dev->vm, dev->bar_addr + OFF_NOTIFY + NOTIFY_MULT * i, 2,
				      vq->kick_fd, false);
			vq->ioeventfd = false;
		}
		/* Linux writes the queue index with a 16-bit store. */
		if (mapped && !vq->ioeventfd)
			vq->ioeventfd = vm__ioeventfd(dev->vm, a, 2, vq->kick_fd, true) == 0;
	}
	dev->bar_mapped = mapped;
	dev->bar_addr = addr;
}

static void cfg_write(struct pci_device *pdev, unsigned off, unsigned len)
{
	struct virtio_dev *dev = pdev->opaque;
	unsigned ctrl_off = dev->msix_cap + 2;

	if (off + len > ctrl_off && off < ctrl_off + 2) {
		uint16_t ctrl = (uint16_t)pci__cfg_get(pdev, ctrl_off, 2);
		pthread_mutex_lock(&dev->lock);
		dev->msix_enabled = ctrl & MSIX_CTRL_ENABLE;
		dev->msix_masked = ctrl & MSIX_CTRL_MASKALL;
		pthread_mutex_unlock(&dev->lock);
	}
}

static const struct pci_device_ops virtio_pci_ops = {
	.bar_moved = bar_moved,
	.config_write = cfg_write,
};

static int add_vcap(struct virtio_dev *dev, uint8_t type, uint32_t off, uint32_t len)
{
	struct virtio_pci_cap cap = {
		.len = sizeof(cap), .cfg_type = type, .bar = 0, .offset = off, .length = len,
	};
	unsigned at;

	return pci__add_capability(&dev->pci, PCI_CAP_ID_VNDR, &cap, sizeof(cap), NULL, &at);
}

int virtio_pci__register(struct vm *vm, struct virtio_dev *dev)
{
	struct virtio_pci_notify_cap ncap = {
		.cap = { .len = sizeof(ncap), .cfg_type = VIRTIO_PCI_CAP_NOTIFY, .bar = 0,
			 .offset = OFF_NOTIFY, .length = NOTIFY_MULT * VIRTIO_MAX_QUEUES },
		.multiplier = NOTIFY_MULT,
	};
	struct msix_cap mcap = {
		.ctrl = (uint16_t)(nr_vectors(dev) - 1),
		.table = OFF_MSIX_TABLE, .pba = OFF_MSIX_PBA,
	};
	struct msix_cap mmask = { .ctrl = MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL };
	unsigned at;
	int ret;

	if (dev->nr_queues == 0 || dev->nr_queues > VIRTIO_MAX_QUEUES ||
	    dev->config_len > OFF_NOTIFY - OFF_DEVICE)
		return -EINVAL;
	dev->vm = vm;
	dev->host_features |= 1ull << VIRTIO_F_VERSION_1;
	pthread_mutex_init(&dev->lock, NULL);
	for (unsigned i = 0; i < dev->nr_queues; i++) {
		dev->vqs[i].dev = dev;
		dev->vqs[i].index = i;
		dev->vqs[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (dev->vqs[i].kick_fd < 0)
			return -errno;
		virtq__reset(&dev->vqs[i]);
	}
	for (unsigned i = 0; i < nr_vectors(dev); i++)
		dev->msix[i].ctrl = 1; /* masked at reset */
	dev->config_msix_vector = VIRTIO_MSI_NO_VECTOR;

	pci__device_init(&dev->pci, 0x1af4, (uint16_t)(0x1040 + dev->device_id), dev->pci_class, 1,
			 &virtio_pci_ops, dev, dev->name);
	pci__set_subsystem(&dev->pci, 0x1af4, 0x40);
	ret = pci__set_bar(&dev->pci, 0, PCI_BAR_MEM64, BAR_SIZE, false, &virtio_bar_ops, dev);
	if (!ret)
		ret = add_vcap(dev, VIRTIO_PCI_CAP_COMMON, OFF_COMMON, 0x38);
	if (!ret)
		ret = pci__add_capability(&dev->pci, PCI_CAP_ID_VNDR, &ncap, sizeof(ncap), NULL, &at);
	if (!ret)
		ret = add_vcap(dev, VIRTIO_PCI_CAP_ISR, OFF_ISR, 4);
	if (!ret && dev->config_len)
		ret = add_vcap(dev, VIRTIO_PCI_CAP_DEVICE, OFF_DEVICE, dev->config_len);
	if (!ret)
		ret = pci__add_capability(&dev->pci, PCI_CAP_ID_MSIX, &mcap, sizeof(mcap), &mmask,
					  &dev->msix_cap);
	if (!ret)
		ret = virtio__worker_start(dev);
	if (!ret)
		ret = pci__register_device(vm, &dev->pci);
	return ret;
}

void virtio_pci__unregister(struct virtio_dev *dev)
{
	virtio__worker_stop(dev);
	pci__unregister_device(dev->vm, &dev->pci);
	pci__device_destroy(&dev->pci);
	for (unsigned i = 0; i < dev->nr_queues; i++)
		if (dev->vqs[i].kick_fd >= 0)
			close(dev->vqs[i].kick_fd);
	pthread_mutex_destroy(&dev->lock);
}
