#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Process-wide verbosity, set once from the command line before any thread
 * starts; read-only afterwards. */
static enum log_level current_level = LOG_WARN;

void log_set_level(enum log_level level)
{
	current_level = level;
}

enum log_level log_get_level(void)
{
	return current_level;
}

static const char *const prefix[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warning",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One fprintf per message keeps lines from different vCPU threads whole. */
	fprintf(stderr, "vireo: %s: %s\n", prefix[level], buf);
}

/* Logging never changes errno, so callers can log and then return -errno. */
void log_msg(enum log_level level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (level > current_level)
		return;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
	errno = saved;
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

bool ratelimit_ok(struct ratelimit *rl)
{
	struct timespec ts;
	uint64_t now, next;

	if (atomic_load(&rl->burst_left) > 0) {
		atomic_fetch_sub(&rl->burst_left, 1);
		return true;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	next = atomic_load(&rl->next_ns);
	if (now < next)
		return false;
	return atomic_compare_exchange_strong(&rl->next_ns, &next, now + 1000000000ull);
}
