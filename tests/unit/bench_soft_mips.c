/* By-hand micro-benchmark of the soft CPU's interpreter loop: a 64-bit
 * flat guest runs `add rax, rbx; xor rdx, rax; dec rcx; jnz` 25e6 times
 * (1e8 instructions) and the MIPS figure is printed.  Not a test. */
#include <stdio.h>
#include <time.h>

#include "soft_test_util.h"

int main(int argc, char **argv)
{
	static const uint8_t loop[] = {
		0xb9, 0x40, 0x78, 0x7d, 0x01,   /* mov ecx, 25000000 */
		0x48, 0x01, 0xd8,               /* L: add rax, rbx */
		0x48, 0x31, 0xc2,               /* xor rdx, rax */
		0x48, 0xff, 0xc9,               /* dec rcx */
		0x75, 0xf5,                     /* jnz L */
		0x0f, 0x0b,                     /* ud2: ends the run */
	};
	struct st_env e;
	struct timespec t0, t1, c0, c1;
	double s, cs;
	int r;

	st_init(&e, 64);
	st_code(&e, 0x100000, loop, sizeof(loop));
	e.cpu->rip = 0x100000;
	e.cpu->gpr[SOFT_RBX] = 3;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	r = soft_exec__run(e.cpu, ~0ull);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cs = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	/* CPU time too: on a loaded host the wall-clock figure is meaningless */
	printf("result %d (exception %d at %#llx), %llu instructions in %.3f s wall, %.3f s CPU: "
	       "%.1f MIPS wall, %.1f MIPS per CPU-second\n",
	       r, e.cpu->exc.vector, (unsigned long long)e.cpu->rip,
	       (unsigned long long)e.cpu->stats.insns, s, cs,
	       (double)e.cpu->stats.insns / s / 1e6, (double)e.cpu->stats.insns / cs / 1e6);
	st_fini(&e);
	(void)argc;
	(void)argv;
	return 0;
}
