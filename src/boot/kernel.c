/* Reading kernel/initrd files and telling kernel formats apart by content. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "util/log.h"
#include "vm/vm.h"

int boot__read_file(const char *path, uint64_t max_len, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL, *nbuf;
	size_t len = 0, cap;
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto out_close;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_len) {
		ret = -EFBIG;
		goto out_close;
	}
	/* st_size is only a hint (pipes, /proc files): read until EOF. */
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
	for (;;) {
		if (len == cap || !buf) {
			if (buf)
				cap = cap * 2 > max_len + 1 ? max_len + 1 : cap * 2;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				ret = -ENOMEM;
				goto out_free;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max_len) {
			ret = -EFBIG;
			goto out_free;
		}
	}
	close(fd);
	*out = buf;
	*out_len = len;
	return 0;

out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}

/* Areas below 1 MiB that boot__setup fills in; a kernel segment landing on
 * them would be overwritten (or would overwrite them). */
static const struct { uint64_t lo, hi; } reserved_low[] = {
	{ 0, BOOT_GUEST_FREE_LO },                    /* IVT/BDA, GDT, TSS */
	{ BOOT_ZERO_PAGE_ADDR, BOOT_PD_ADDR + 4 * 0x1000 }, /* zero page, stack, page tables */
	{ BOOT_CMDLINE_ADDR, BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX },
	{ BOOT_EBDA_ADDR, BOOT_KERNEL_ADDR },         /* EBDA, VGA hole, ACPI, MP */
};

int boot__overlaps_reserved(uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	if (end < gpa)
		return 1;
	for (size_t i = 0; i < sizeof(reserved_low) / sizeof(reserved_low[0]); i++)
		if (gpa < reserved_low[i].hi && end > reserved_low[i].lo)
			return 1;
	return 0;
}

int boot__load_kernel(struct vm *vm, const char *name, const uint8_t *buf, size_t len,
		      struct boot_kernel *k)
{
	uint32_t magic;

	memset(k, 0, sizeof(*k));
	if (len >= 5 && !memcmp(buf, "\177ELF", 4) && buf[4] == 2 /* ELFCLASS64 */)
		return elf__load(vm, name, buf, len, k);
	if (len >= 0x206) {
		memcpy(&magic, buf + 0x202, 4);
		if (magic == SETUP_HDR_MAGIC)
			return bzimage__load(vm, name, buf, len, k);
	}
	pr_err("%s: not a bzImage or ELF64 kernel", name);
	return -ENOEXEC;
}
