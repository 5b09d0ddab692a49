/* With a zero-limit IDT, ud2 raises #UD, which cannot be delivered (#GP),
 * nor can that (#DF): a triple fault.  vireo must exit 2 and dump the
 * registers.  (ud2 rather than int3: KVM's instruction emulator, which
 * runs guest code on hosts without VMX/SVM, cannot emulate INT n in long
 * mode.) */
#include "guest.h"

int main(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { 0, 0 };

	puts("triplefault: loading a zero-limit IDT, then ud2\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(empty) : "memory");
	fail("survived a triple fault");
}
