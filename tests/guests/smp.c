/* SMP bring-up the way an OS does it: the CPU list comes from the ACPI
 * MADT, each AP gets INIT-SIPI-SIPI through the xAPIC ICR and runs the
 * trampoline (smp_tramp.S) up to long mode, then bumps a shared counter and
 * says hello.  APs are started one at a time, each with its own stack; the
 * BSP waits a bounded time for each.  Passes only if every CPU in the MADT
 * came up, only if the MP table lists the same CPUs as the MADT, and only
 * if every CPU's CPUID initial APIC ID is its LAPIC ID.
 * Then IPIs: the BSP pings every AP with a fixed IPI, directed and then as
 * an all-excluding-self broadcast, and each AP answers with an IPI back
 * (what Linux does for reschedules and TLB shootdowns). */
#include "guest.h"

#define TRAMP_BASE 0x3000ull
#define AP_STACK_SIZE 4096
#define AP_START_TIMEOUT_US 1000000u
#define PING_VECTOR 0x60
#define PONG_VECTOR 0x61

extern const char ap_tramp_start[], ap_tramp_end[];
extern const char ap_tramp_cr3[], ap_tramp_efer[], ap_tramp_stack[],
	ap_tramp_entry[];

static uint8_t ap_stacks[GUEST_MAX_CPUS][AP_STACK_SIZE]
	__attribute__((section(".stacks"), aligned(16)));

static volatile uint32_t cpus_up = 1;     /* the BSP */
static volatile int32_t starting_index;   /* index of the AP being started */
static volatile int32_t started_index = -1;
static volatile uint32_t bsp_apic_id;
static volatile uint32_t ap_ready[GUEST_MAX_CPUS];
static volatile uint32_t pings[GUEST_MAX_CPUS], pongs, pong_irqs;
static volatile int32_t ap_index_of[256];   /* APIC ID -> AP index */
static volatile uint32_t cpuid_mismatch;   /* cpus whose CPUID APIC ID != LAPIC ID */

/* CPUID.1:EBX[31:24] is the initial APIC ID; Linux builds the topology from
 * it, so it must be the ID the LAPIC (and the MADT) use. */
static void check_cpuid_apic_id(void)
{
	uint32_t r[4], id = lapic_id();

	cpuid(1, 0, r);
	if (r[1] >> 24 != (id & 0xFF)) {
		__atomic_fetch_add(&cpuid_mismatch, 1, __ATOMIC_SEQ_CST);
		printf("smp: apic id %u: CPUID.1 says initial APIC ID %u\n", id,
		       r[1] >> 24);
	}
}

static void tramp_set(const char *field, uint64_t v)
{
	memcpy((void *)(uintptr_t)(TRAMP_BASE + (field - ap_tramp_start)), &v, 8);
}

static void on_ping(struct isr_frame *f)
{
	uint32_t id = lapic_id();

	(void)f;
	if (id < 256 && ap_index_of[id] > 0)
		__atomic_fetch_add(&pings[ap_index_of[id]], 1, __ATOMIC_SEQ_CST);
	/* Pongs from several APs may coalesce in the BSP's IRR (one bit per
	 * vector), so the count lives in memory and the IPI only wakes. */
	__atomic_fetch_add(&pongs, 1, __ATOMIC_SEQ_CST);
	lapic_send_ipi(bsp_apic_id, 0x4000 | PONG_VECTOR);
	lapic_eoi();
}

static void on_pong(struct isr_frame *f)
{
	(void)f;
	__atomic_fetch_add(&pong_irqs, 1, __ATOMIC_SEQ_CST);
	lapic_eoi();
}

static void ap_main(void)
{
	int32_t idx = starting_index;

	gdt_load();
	idt_load();
	lapic_enable();
	check_cpuid_apic_id();
	__atomic_fetch_add(&cpus_up, 1, __ATOMIC_SEQ_CST);
	printf("cpu %d up (apic id %u)\n", idx, lapic_id());
	__atomic_store_n(&started_index, idx, __ATOMIC_RELEASE);
	__atomic_store_n(&ap_ready[idx], 1, __ATOMIC_RELEASE);
	for (;;)
		safe_halt();   /* woken by pings */
}

/* Waits (bounded, interrupts on) until `want` pongs were sent and at
 * least `want_irqs` pong interrupts arrived. */
static bool wait_pongs(uint32_t want, uint32_t want_irqs)
{
	unsigned n;

	for (n = 0; n < 1000; n++) {
		if (__atomic_load_n(&pongs, __ATOMIC_ACQUIRE) >= want &&
		    __atomic_load_n(&pong_irqs, __ATOMIC_ACQUIRE) >= want_irqs)
			return true;
		irq_enable();
		udelay(1000);
		irq_disable();
	}
	return false;
}

static void ipi_test(const struct madt_info *mi, int naps)
{
	int i, idx;
	unsigned n;

	if (!naps)
		return;
	for (idx = 1; idx <= naps; idx++)
		for (n = 0; n < 1000000 && !ap_ready[idx]; n++)
			cpu_relax();
	idt_set_handler(PONG_VECTOR, on_pong);
	for (i = 0; i < mi->nr_cpus; i++)
		if (mi->apic_ids[i] != bsp_apic_id &&
		    lapic_send_ipi(mi->apic_ids[i], 0x4000 | PING_VECTOR))
			printf("smp: ping to apic id %u still pending\n", mi->apic_ids[i]);
	if (!wait_pongs(naps, 1))
		fail("directed IPIs: %u of %d answered, %u pong interrupts",
		     pongs, naps, pong_irqs);
	/* Shorthand 11b: all excluding self. */
	if (lapic_send_ipi(0, (3u << 18) | 0x4000 | PING_VECTOR))
		puts("smp: broadcast ping still pending\n");
	n = pong_irqs;
	if (!wait_pongs(2 * naps, n + 1))
		fail("broadcast IPI: %u of %d answered, %u pong interrupts",
		     pongs - naps, naps, pong_irqs - n);
	for (idx = 1; idx <= naps; idx++)
		if (pings[idx] != 2)
			fail("cpu %d got %u pings, expected 2", idx, pings[idx]);
	printf("smp: IPI ping-pong with %d cpus OK\n", naps);
}

static bool start_ap(int idx, uint32_t apic_id)
{
	uint32_t t0;
	unsigned n;

	starting_index = idx;
	tramp_set(ap_tramp_stack, (uintptr_t)ap_stacks[idx] + AP_STACK_SIZE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	/* INIT (assert), then two SIPIs as in the MP specification. */
	if (lapic_send_ipi(apic_id, 0x4500))
		printf("smp: INIT to apic id %u still pending\n", apic_id);
	udelay(10000);
	for (n = 0; n < 2; n++) {
		if (lapic_send_ipi(apic_id, 0x4600 | (TRAMP_BASE >> 12)))
			printf("smp: SIPI to apic id %u still pending\n", apic_id);
		udelay(200);
		if (__atomic_load_n(&started_index, __ATOMIC_ACQUIRE) == idx)
			return true;
	}
	t0 = pmtmr_read();
	for (n = 0; n < 2000000; n++) {
		if (__atomic_load_n(&started_index, __ATOMIC_ACQUIRE) == idx)
			return true;
		if ((n & 63) == 0 &&
		    pmtmr_since(t0) > pmtmr_us_to_ticks(AP_START_TIMEOUT_US))
			break;
		cpu_relax();
	}
	return false;
}

int main(void)
{
	size_t len = ap_tramp_end - ap_tramp_start;
	uint32_t bsp = lapic_id();
	uint32_t mp_ids[GUEST_MAX_CPUS];
	struct madt_info mi;
	int i, idx = 0, failed = 0, mp_n;

	if (acpi_parse_madt(&mi))
		fail("no usable ACPI MADT");
	printf("smp: MADT lists %d cpus, BSP apic id %u\n", mi.nr_cpus, bsp);
	mp_n = mptable_cpus(mp_ids, GUEST_MAX_CPUS);
	if (mp_n < 0)
		fail("no valid MP table");
	printf("smp: MP table lists %d cpus\n", mp_n);
	if (mp_n != mi.nr_cpus || memcmp(mp_ids, mi.apic_ids, mp_n * sizeof(mp_ids[0])))
		fail("MP table and MADT disagree on the cpus");
	if (len > 0x1000)
		fail("trampoline is %lu bytes, more than a page", (uint64_t)len);
	memcpy((void *)(uintptr_t)TRAMP_BASE, ap_tramp_start, len);
	tramp_set(ap_tramp_cr3, read_cr3());
	tramp_set(ap_tramp_efer, rdmsr(0xC0000080) & ~(1ull << 10)); /* not LMA */
	tramp_set(ap_tramp_entry, (uintptr_t)ap_main);
	bsp_apic_id = bsp;
	idt_set_handler(PING_VECTOR, on_ping);
	lapic_enable();
	lapic_write(LAPIC_ESR, 0);

	for (i = 0; i < mi.nr_cpus; i++) {
		if (mi.apic_ids[i] == bsp)
			continue;
		idx++;
		if (mi.apic_ids[i] < 256)
			ap_index_of[mi.apic_ids[i]] = idx;
		if (!start_ap(idx, mi.apic_ids[i])) {
			printf("smp: cpu %d (apic id %u) did not come up\n", idx,
			       mi.apic_ids[i]);
			failed++;
		}
	}
	printf("smp: %u of %d cpus up\n", cpus_up, mi.nr_cpus);
	if (cpus_up > (uint32_t)mi.nr_cpus)
		fail("more cpus checked in than exist (a SIPI restarted a running AP?)");
	if (failed || cpus_up != (uint32_t)mi.nr_cpus)
		fail("%d cpus did not start", mi.nr_cpus - (int)cpus_up);
	check_cpuid_apic_id();
	if (cpuid_mismatch)
		fail("%u cpus report a CPUID APIC ID different from their LAPIC ID",
		     cpuid_mismatch);
	ipi_test(&mi, idx);
	return 0;
}
