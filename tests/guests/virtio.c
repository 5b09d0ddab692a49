/* virtio: drive vireo's virtio-pci transport the way a driver would, with
 * no interrupts (polling the used ring):
 *   - find virtio devices on bus 0 through ECAM, assign BAR0, walk the
 *     vendor capabilities, negotiate VERSION_1, set up one queue;
 *   - virtio-blk: check the host's signature in sector 0, write a pattern
 *     to sector 2 (the host checks the image afterwards), read it back,
 *     GET_ID;
 *   - virtio-rng: read 32 bytes;
 *   - virtio-net (user backend): an ARP request answered by slirp.
 * The command line says what to expect: "blk=N rng=N net=N". */
#include "guest.h"

#define VIRTIO_VENDOR 0x1af4
#define BAR_WINDOW    0xC0000000ull
#define QSZ           8
#define MEM_BASE      0x400000ull   /* rings and buffers, per device 64 KiB */

struct vdev {
	int slot;
	uint16_t id;
	uint64_t bar;
	uint64_t common, notify, isr, devcfg;
	uint32_t notify_mult;
	uint64_t mem;
	uint16_t last_used[2];
};

/* Per device 64 KiB at d->mem: queue q's rings at mem + q*0x4000 (desc,
 * avail +0x1000, used +0x2000), request headers/buffers from mem + 0x8000. */
#define QMEM(d, q) ((d)->mem + (uint64_t)(q) * 0x4000)
#define BUFS(d)    ((d)->mem + 0x8000)

static uint64_t ecam(int slot, unsigned off)
{
	return ECAM_DEFAULT_BASE + ((uint64_t)slot << 15) + off;
}

static uint8_t cfg8(int slot, unsigned off) { return *(volatile uint8_t *)phys(ecam(slot, off)); }
static uint32_t cfg32(int slot, unsigned off) { return mmio_read32(ecam(slot, off)); }
static void cfg32w(int slot, unsigned off, uint32_t v) { mmio_write32(ecam(slot, off), v); }
static void w8(uint64_t a, uint8_t v) { *(volatile uint8_t *)phys(a) = v; }
static void w16(uint64_t a, uint16_t v) { *(volatile uint16_t *)phys(a) = v; }
static uint8_t r8(uint64_t a) { return *(volatile uint8_t *)phys(a); }
static uint16_t r16(uint64_t a) { return *(volatile uint16_t *)phys(a); }

static int probe(struct vdev *d, int slot)
{
	uint32_t id = cfg32(slot, 0);
	unsigned cap;

	if ((id & 0xffff) != VIRTIO_VENDOR || (id >> 16) < 0x1040)
		return -1;
	d->slot = slot;
	d->id = (uint16_t)((id >> 16) - 0x1040);
	/* Firmware's job: place BAR0 (64-bit) and enable decoding. */
	d->bar = BAR_WINDOW + (uint64_t)slot * 0x10000;
	cfg32w(slot, 0x10, (uint32_t)d->bar);
	cfg32w(slot, 0x14, (uint32_t)(d->bar >> 32));
	cfg32w(slot, 0x04, cfg32(slot, 0x04) | 0x6);
	for (cap = cfg8(slot, 0x34); cap; cap = cfg8(slot, cap + 1)) {
		uint8_t type;
		uint64_t off;

		if (cfg8(slot, cap) != 0x09)
			continue;
		type = cfg8(slot, cap + 3);
		if (cfg8(slot, cap + 4) != 0)
			return -2;
		off = d->bar + cfg32(slot, cap + 8);
		if (type == 1)
			d->common = off;
		else if (type == 2) {
			d->notify = off;
			d->notify_mult = cfg32(slot, cap + 16);
		} else if (type == 3)
			d->isr = off;
		else if (type == 4)
			d->devcfg = off;
	}
	if (!d->common || !d->notify || !d->isr)
		return -3;
	d->mem = MEM_BASE + (uint64_t)slot * 0x10000;
	memset(phys(d->mem), 0, 0x10000);
	d->last_used[0] = d->last_used[1] = 0;
	return 0;
}

/* Reset, negotiate VERSION_1 only, set up queues 0..nq-1 with QSZ entries. */
static int init(struct vdev *d, int nq)
{
	uint64_t c = d->common;

	w8(c + 0x14, 0);
	if (r8(c + 0x14) != 0)
		return -1;
	w8(c + 0x14, 1 | 2);
	mmio_write32(c + 0x00, 1);
	if (!(mmio_read32(c + 0x04) & 1))
		return -2;                         /* no VERSION_1 */
	mmio_write32(c + 0x08, 0);
	mmio_write32(c + 0x0c, 0);
	mmio_write32(c + 0x08, 1);
	mmio_write32(c + 0x0c, 1);
	w8(c + 0x14, 1 | 2 | 8);
	if (!(r8(c + 0x14) & 8))
		return -3;                         /* FEATURES_OK refused */
	for (int q = 0; q < nq; q++) {
		uint64_t m = QMEM(d, q);

		w16(c + 0x16, (uint16_t)q);
		if (r16(c + 0x18) < QSZ)
			return -4;
		w16(c + 0x18, QSZ);
		mmio_write32(c + 0x20, (uint32_t)m);            /* desc */
		mmio_write32(c + 0x24, 0);
		mmio_write32(c + 0x28, (uint32_t)(m + 0x1000)); /* avail */
		mmio_write32(c + 0x2c, 0);
		mmio_write32(c + 0x30, (uint32_t)(m + 0x2000)); /* used */
		mmio_write32(c + 0x34, 0);
		w16(c + 0x1c, 1);
		if (r16(c + 0x1c) != 1)
			return -5;
	}
	w8(c + 0x14, 1 | 2 | 4 | 8);
	return (r8(c + 0x14) & 0x40) ? -6 : 0;     /* NEEDS_RESET? */
}

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };

static uint64_t c_notify(struct vdev *d, int q)
{
	w16(d->common + 0x16, (uint16_t)q);
	return d->notify + (uint64_t)r16(d->common + 0x1e) * d->notify_mult;
}

/* Post a chain of n buffers on queue q (flags per buffer: 2 = device-
 * writable) and kick; with wait, poll for its completion and return the
 * used length (-1 on timeout). */
static int64_t wait_used(struct vdev *d, int q)
{
	volatile uint16_t *used = phys(QMEM(d, q) + 0x2000);

	for (int spin = 0; spin < 200000; spin++) {
		if (used[1] != d->last_used[q]) {
			volatile uint32_t *elem = (volatile uint32_t *)(used + 2) + 2 * (d->last_used[q] % QSZ);
			d->last_used[q]++;
			return elem[1];
		}
		if (spin > 1000)
			udelay(20);
		cpu_relax();
	}
	return -1;
}

static int64_t post(struct vdev *d, int q, const uint64_t *addr, const uint32_t *len,
		    const uint16_t *flags, int n, bool wait)
{
	struct desc *desc = phys(QMEM(d, q));
	volatile uint16_t *avail = phys(QMEM(d, q) + 0x1000);
	uint16_t idx = avail[1];
	unsigned base = (idx % QSZ) * 4 % QSZ;  /* room for chains of up to 4 */

	for (int i = 0; i < n; i++) {
		desc[base + i].addr = addr[i];
		desc[base + i].len = len[i];
		desc[base + i].flags = (uint16_t)(flags[i] | (i + 1 < n ? 1 : 0));
		desc[base + i].next = (uint16_t)(base + i + 1);
	}
	avail[2 + idx % QSZ] = (uint16_t)base;
	__asm__ volatile("" ::: "memory");
	avail[1] = (uint16_t)(idx + 1);
	__asm__ volatile("mfence" ::: "memory");
	w16(c_notify(d, q), (uint16_t)q);
	return wait ? wait_used(d, q) : 0;
}

static int64_t submit(struct vdev *d, const uint64_t *addr, const uint32_t *len,
		      const uint16_t *flags, int n)
{
	return post(d, 0, addr, len, flags, n, true);
}

static int blk_rw(struct vdev *d, uint32_t type, uint64_t sector, uint64_t buf, uint32_t len,
		  uint8_t *status)
{
	uint64_t hdr = BUFS(d), st = BUFS(d) + 0x100;
	uint32_t *h = phys(hdr);
	uint64_t a[3] = { hdr, buf, st };
	uint32_t l[3] = { 16, len, 1 };
	uint16_t f[3] = { 0, (uint16_t)(type == 1 ? 0 : 2), 2 };
	int64_t used;

	h[0] = type;
	h[1] = 0;
	*(uint64_t *)(h + 2) = sector;
	w8(st, 0xff);
	if (len == 0) {
		a[1] = st;
		l[1] = 1;
		f[1] = 2;
	}
	used = submit(d, a, l, f, len ? 3 : 2);
	*status = r8(st);
	return (int)used;
}

static void test_blk(struct vdev *d)
{
	uint64_t buf = BUFS(d) + 0x1000;
	uint8_t st;
	uint8_t *p = phys(buf);
	uint64_t cap = mmio_read32(d->devcfg) | (uint64_t)mmio_read32(d->devcfg + 4) << 32;
	int used;

	printf("virtio-blk at 00:%02x.0: capacity %u sectors\n", d->slot, (unsigned)cap);
	used = blk_rw(d, 0, 0, buf, 512, &st);
	if (used != 513 || st != 0)
		fail("blk: read sector 0: used %d status %u", used, st);
	if (memcmp(p, "VIREO-DISK-SIGNATURE", 20))
		fail("blk: sector 0 lacks the host's signature");
	printf("blk: sector 0 has the host's signature\n");
	for (int i = 0; i < 512; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	memcpy(p, "WRITTEN-BY-GUEST", 16);
	used = blk_rw(d, 1, 2, buf, 512, &st);
	if (st != 0)
		fail("blk: write sector 2: status %u", st);
	used = blk_rw(d, 4, 0, 0, 0, &st);
	if (st != 0)
		fail("blk: flush: status %u", st);
	memset(p, 0, 512);
	used = blk_rw(d, 0, 2, buf, 512, &st);
	if (st != 0 || memcmp(p, "WRITTEN-BY-GUEST", 16) || p[100] != (uint8_t)(100 * 7 + 3))
		fail("blk: sector 2 read back differs");
	used = blk_rw(d, 0, cap, buf, 512, &st);
	if (st != 1)
		fail("blk: read past the end gave status %u, want IOERR", st);
	memset(p, 0, 32);
	used = blk_rw(d, 8, 0, buf, 20, &st);
	if (st != 0 || !p[0])
		fail("blk: GET_ID failed (status %u)", st);
	printf("blk: write/flush/read round trip OK, id '%s'\n", (char *)p);
}

static void test_rng(struct vdev *d)
{
	uint64_t buf = BUFS(d) + 0x1000;
	uint64_t a[1] = { buf };
	uint32_t l[1] = { 32 };
	uint16_t f[1] = { 2 };
	uint8_t *p = phys(buf), any = 0;
	int64_t used;

	memset(p, 0, 32);
	used = submit(d, a, l, f, 1);
	for (int i = 0; i < 32; i++)
		any |= p[i];
	if (used != 32 || !any)
		fail("rng: got %d bytes", (int)used);
	printf("virtio-rng at 00:%02x.0: 32 random bytes\n", d->slot);
}

/* virtio-net: ARP "who has 10.0.2.2" from 10.0.2.15 through the user
 * backend; slirp's gateway must answer.  Frames carry the 12-byte
 * virtio_net_hdr_v1 (VERSION_1, no offloads, no mergeable buffers). */
static void test_net(struct vdev *d)
{
	static const uint8_t ip_me[4] = { 10, 0, 2, 15 }, ip_gw[4] = { 10, 0, 2, 2 };
	uint64_t rx = BUFS(d), tx = BUFS(d) + 0x1000;
	uint8_t *f = phys(tx + 12), *r = phys(rx + 12), mac[6];
	uint64_t a[1];
	uint32_t l[1];
	uint16_t fl[1];
	int64_t got;

	for (int i = 0; i < 6; i++)
		mac[i] = r8(d->devcfg + (unsigned)i);
	printf("virtio-net at 00:%02x.0: mac %02x:%02x:%02x:%02x:%02x:%02x\n", d->slot,
	       mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	/* One receive buffer, posted before anything is sent. */
	memset(phys(rx), 0, 2048);
	a[0] = rx; l[0] = 2048; fl[0] = 2;
	post(d, 0, a, l, fl, 1, false);
	/* ARP request */
	memset(phys(tx), 0, 12 + 42);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08; f[13] = 0x06;                  /* ethertype ARP */
	f[14] = 0; f[15] = 1; f[16] = 0x08; f[17] = 0; f[18] = 6; f[19] = 4;
	f[20] = 0; f[21] = 1;                        /* request */
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, ip_me, 4);
	memcpy(f + 38, ip_gw, 4);
	a[0] = tx; l[0] = 12 + 42; fl[0] = 0;
	if (post(d, 1, a, l, fl, 1, true) < 0)
		fail("net: tx not completed");
	got = wait_used(d, 0);
	if (got < 12 + 42)
		fail("net: no reply frame (used len %d)", (int)got);
	if (r[12] != 0x08 || r[13] != 0x06 || r[21] != 2 || memcmp(r + 28, ip_gw, 4) ||
	    memcmp(r, mac, 6))
		fail("net: frame is not an ARP reply from 10.0.2.2 to us");
	printf("net: ARP reply: 10.0.2.2 is at %02x:%02x:%02x:%02x:%02x:%02x\n",
	       r[22], r[23], r[24], r[25], r[26], r[27]);
}

int main(void)
{
	unsigned want_blk = (unsigned)cmdline_u64("blk", 0), want_rng = (unsigned)cmdline_u64("rng", 0);
	unsigned want_net = (unsigned)cmdline_u64("net", 0);
	unsigned nblk = 0, nrng = 0, nnet = 0;
	struct vdev d;

	for (int slot = 1; slot < 32; slot++) {
		int ret;

		memset(&d, 0, sizeof(d));
		if (probe(&d, slot))
			continue;
		ret = init(&d, d.id == 1 ? 2 : 1);
		if (ret)
			fail("virtio device %u at slot %d: init step %d failed", d.id, slot, -ret);
		if (d.id == 2) {
			test_blk(&d);
			nblk++;
		} else if (d.id == 4) {
			test_rng(&d);
			nrng++;
		} else if (d.id == 1) {
			test_net(&d);
			nnet++;
		}
	}
	printf("virtio: %u blk, %u rng, %u net\n", nblk, nrng, nnet);
	if (nblk != want_blk || nrng != want_rng || nnet != want_net)
		fail("expected %u blk, %u rng and %u net devices", want_blk, want_rng, want_net);
	return 0;
}
