#ifndef VIREO_UTIL_PARSE_H
#define VIREO_UTIL_PARSE_H

#include <stdint.h>

/* "256M", "2G", "512K", "1048576" (bytes) -> bytes.  A bare number is MiB
 * like QEMU's -m.  Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *out);

/* Decimal integer in [min, max]. Returns 0 or -EINVAL / -ERANGE. */
int parse_int(const char *s, long min, long max, long *out);

#endif
