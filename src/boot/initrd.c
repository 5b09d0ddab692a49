/* initrd placement: as high as the kernel allows, page aligned, clear of the
 * kernel's decompression footprint (like most boot loaders, so the kernel
 * has the most room below it). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot_internal.h"
#include "boot/layout.h"
#include "util/log.h"
#include "vm/vm.h"

#define PAGE_SIZE 0x1000ull

int initrd__place(const struct vm *vm, const struct boot_kernel *k, uint64_t size,
		  uint64_t *addr)
{
	uint64_t limit = vm->lowmem_size, cand;

	if (k->initrd_max < limit - 1)
		limit = k->initrd_max + 1;
	if (size == 0) {
		*addr = 0;
		return 0;
	}
	if (size > limit)
		return -EFBIG;
	cand = (limit - size) & ~(PAGE_SIZE - 1);
	/* Above the kernel is best; below it only if there is room above
	 * 1 MiB (low memory belongs to the boot structures). */
	if (cand < k->hi && cand + size > k->lo) {
		if (k->lo < size)
			return -EFBIG;
		cand = (k->lo - size) & ~(PAGE_SIZE - 1);
	}
	if (cand < BOOT_KERNEL_ADDR)
		return -EFBIG;
	*addr = cand;
	return 0;
}

static int initrd__too_big(const struct vm *vm, const char *path, uint64_t size)
{
	pr_err("initrd %s (%llu MiB) does not fit in guest memory (%llu MiB)", path,
	       (unsigned long long)((size + (1 << 20) - 1) >> 20),
	       (unsigned long long)(vm->ram_size >> 20));
	return -EFBIG;
}

int initrd__load(struct vm *vm, const char *path, const struct boot_kernel *k,
		 uint64_t *addr, uint64_t *size)
{
	uint8_t *dst;
	struct stat st;
	uint64_t done = 0;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_err("%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		pr_err("%s: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		pr_err("%s: not a regular file", path);
		goto out_close;
	}
	ret = initrd__place(vm, k, (uint64_t)st.st_size, addr);
	if (ret) {
		initrd__too_big(vm, path, (uint64_t)st.st_size);
		goto out_close;
	}
	*size = (uint64_t)st.st_size;
	dst = vm__gpa_to_hva(vm, *addr, *size);
	if (!dst && *size) {
		ret = -EFAULT;
		goto out_close;
	}
	/* Straight into guest RAM: initrds can be hundreds of MiB. */
	while (done < *size) {
		n = read(fd, dst + done, *size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			pr_err("%s: %s", path, n < 0 ? strerror(errno) : "file shrank while reading");
			goto out_close;
		}
		done += (uint64_t)n;
	}
	ret = 0;
out_close:
	close(fd);
	return ret;
}
