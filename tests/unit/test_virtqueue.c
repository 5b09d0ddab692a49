#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devices/virtio/virtio.h"
#include "vm/vm.h"

/* Ring layout in guest RAM for a 16-entry queue. */
#define QSZ   16
#define DESC  0x10000ull
#define AVAIL 0x11000ull
#define USED  0x12000ull
#define BUF   0x20000ull
#define IND   0x30000ull

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; } __attribute__((packed));

static struct vm vm;
static struct virtio_dev dev;
static struct virtqueue *vq;
static struct virtq_elem elem;

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	memset(&dev, 0, sizeof(dev));
	cr_assert_eq(vm__alloc_ram(&vm, 16 << 20), 0);
	dev.vm = &vm;
	dev.name = "test";
	dev.nr_queues = 1;
	/* MSI-X on, no vector: signalling is a no-op without a PCI device. */
	dev.msix_enabled = true;
	dev.config_msix_vector = VIRTIO_MSI_NO_VECTOR;
	dev.guest_features = (1ull << VIRTIO_F_RING_INDIRECT_DESC) | (1ull << VIRTIO_F_RING_EVENT_IDX);
	vq = &dev.vqs[0];
	vq->dev = &dev;
	virtq__reset(vq);
	vq->size = QSZ;
	vq->desc_gpa = DESC;
	vq->avail_gpa = AVAIL;
	vq->used_gpa = USED;
	cr_assert_eq(virtq__enable(vq), 0);
}

static void teardown(void)
{
	vm__free_ram(&vm);
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct desc d = { addr, len, flags, next };

	memcpy(vm.ram + DESC + 16 * i, &d, sizeof(d));
}

static void make_avail(uint16_t head)
{
	uint16_t *avail = (uint16_t *)(vm.ram + AVAIL);
	uint16_t idx = avail[1];

	avail[2 + idx % QSZ] = head;
	avail[1] = idx + 1;
}

Test(virtqueue, simple_chain, .init = setup, .fini = teardown)
{
	set_desc(0, BUF, 16, 1, 1);        /* readable, NEXT */
	set_desc(1, BUF + 0x100, 512, 2, 0); /* writable */
	make_avail(0);
	cr_assert_eq(virtq__pop(vq, &elem), 1);
	cr_expect_eq(elem.nr_out, 1);
	cr_expect_eq(elem.nr_in, 1);
	cr_expect_eq(elem.out[0].iov_base, vm.ram + BUF);
	cr_expect_eq(elem.in_len, 512);
	virtq__push(vq, &elem, 512);
	cr_expect_eq(((uint16_t *)(vm.ram + USED))[1], 1, "used idx advanced");
	cr_expect_eq(virtq__pop(vq, &elem), 0, "ring now empty");
	cr_expect_not(dev.broken);
}

Test(virtqueue, loop_is_detected, .init = setup, .fini = teardown)
{
	set_desc(0, BUF, 16, 1, 1);
	set_desc(1, BUF, 16, 1, 0);        /* 1 -> 0 -> 1 ... */
	make_avail(0);
	cr_expect_eq(virtq__pop(vq, &elem), -EINVAL);
	cr_expect(dev.broken);
	cr_expect(dev.status & VIRTIO_STATUS_NEEDS_RESET);
	cr_expect_eq(virtq__pop(vq, &elem), 0, "a broken device does no more work");
}

Test(virtqueue, buffer_outside_ram, .init = setup, .fini = teardown)
{
	set_desc(0, (16 << 20) - 8, 16, 0, 0); /* straddles the end of RAM */
	make_avail(0);
	cr_expect_eq(virtq__pop(vq, &elem), -EINVAL);
	cr_expect(dev.broken);
}

Test(virtqueue, huge_length_wrapping, .init = setup, .fini = teardown)
{
	set_desc(0, 0xfffffffffffff000ull, 0xffffffff, 0, 0);
	make_avail(0);
	cr_expect_eq(virtq__pop(vq, &elem), -EINVAL);
}

Test(virtqueue, head_and_next_out_of_range, .init = setup, .fini = teardown)
{
	make_avail(QSZ + 3);
	cr_expect_eq(virtq__pop(vq, &elem), -EINVAL);
	setup();
	set_desc(0, BUF, 16, 1, 200);
	make_avail(0);
	cr_expect_eq(virtq__pop(vq, &elem), -EINVAL);
}

Test(virtqueue, avail_index_jump, .init = setup, .fini = teardown)
{
	((uint16_t *)(vm.ram + AVAIL))[1] = QSZ + 1;
	cr_expect_eq(virtq__pop(vq, &elem), -EINVAL);
}

Test(virtqueue, writable_before_readable_rejected, .init = setup, .fini = teardown)
{
	set_desc(0, BUF, 16, 2 | 1, 1);
	set_desc(1, BUF, 16, 0, 0);
	make_avail(0);
	cr_expect_eq(virtq__pop(vq, &elem), -EINVAL);
}

Test(virtqueue, indirect_table, .init = setup, .fini = teardown)
{
	struct desc ind[3] = {
		{ BUF, 16, 1, 1 }, { BUF + 0x200, 100, 1 | 2, 2 }, { BUF + 0x400, 1, 2, 0 },
	};

	memcpy(vm.ram + IND, ind, sizeof(ind));
	set_desc(0, IND, sizeof(ind), 4, 0);
	make_avail(0);
	cr_assert_eq(virtq__pop(vq, &elem), 1);
	cr_expect_eq(elem.nr_out, 1);
	cr_expect_eq(elem.nr_in, 2);
	cr_expect_eq(elem.in_len, 101);
}

Test(virtqueue, nested_indirect_and_indirect_loop_rejected, .init = setup, .fini = teardown)
{
	struct desc nested[1] = { { IND, 16, 4, 0 } };
	struct desc loop[2] = { { BUF, 16, 1, 1 }, { BUF, 16, 1, 0 } };

	memcpy(vm.ram + IND, nested, sizeof(nested));
	set_desc(0, IND, sizeof(nested), 4, 0);
	make_avail(0);
	cr_expect_eq(virtq__pop(vq, &elem), -EINVAL);

	setup();
	memcpy(vm.ram + IND, loop, sizeof(loop));
	set_desc(0, IND, sizeof(loop), 4, 0);
	make_avail(0);
	cr_expect_eq(virtq__pop(vq, &elem), -EINVAL);
}

Test(virtqueue, ring_setup_validation, .init = setup, .fini = teardown)
{
	virtq__reset(vq);
	vq->size = 12;                      /* not a power of two */
	vq->desc_gpa = DESC;
	vq->avail_gpa = AVAIL;
	vq->used_gpa = USED;
	cr_expect_eq(virtq__enable(vq), -EINVAL);
	vq->size = 16;
	vq->used_gpa = (16 << 20) - 4;      /* used ring past the end of RAM */
	cr_expect_eq(virtq__enable(vq), -EFAULT);
	vq->used_gpa = USED + 2;            /* misaligned */
	cr_expect_eq(virtq__enable(vq), -EINVAL);
}

Test(virtqueue, event_idx_suppresses_interrupts, .init = setup, .fini = teardown)
{
	uint16_t *used_event = (uint16_t *)(vm.ram + AVAIL) + 2 + QSZ;

	/* Driver asks for an interrupt only after used idx passes 5. */
	*used_event = 5;
	for (int i = 0; i < 3; i++) {
		set_desc(0, BUF, 16, 2, 0);
		make_avail(0);
		cr_assert_eq(virtq__pop(vq, &elem), 1);
		virtq__push(vq, &elem, 16);
		virtq__notify(vq);
	}
	cr_expect(vq->signalled_used_valid);
	cr_expect_eq(vq->signalled_used, 3);
	/* enable_kicks publishes avail_event = last_avail. */
	cr_expect_not(virtq__enable_kicks(vq));
	cr_expect_eq(*(uint16_t *)(vm.ram + USED + 4 + 8 * QSZ), 3);
}

Test(virtqueue, broken_device_asks_for_no_more_work, .init = setup, .fini = teardown)
{
	set_desc(0, BUF, 16, 1, 0);
	set_desc(1, BUF, 16, 1, 1);  /* self loop */
	make_avail(1);
	cr_expect_eq(virtq__pop(vq, &elem), -EINVAL);
	/* A handler loops "while (enable_kicks)": it must stop now. */
	cr_expect_not(virtq__enable_kicks(vq));
}
