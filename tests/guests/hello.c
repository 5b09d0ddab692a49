/* The smallest guest: proves entry, serial output and debug-exit work. */
#include "guest.h"

int main(void)
{
	puts("Hello from vireo guest\n");
	return 0;
}
