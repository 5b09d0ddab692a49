/* Logging.  Start-up configuration errors use die(); anything a guest can
 * trigger uses guest_err() which is rate-limited so a hostile guest cannot
 * flood the host's stderr. */
#ifndef VIREO_UTIL_LOG_H
#define VIREO_UTIL_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* LOG_SILENT suppresses everything (fuzz harnesses, where errors are the
 * expected outcome of most inputs). */
enum log_level { LOG_SILENT, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Preserves errno. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define pr_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* A per-call-site token bucket: at most `burst` messages, then one per
 * second.  The state lives at the call site (static), which is the one
 * deliberate exception to "no global mutable state": it is a log throttle. */
struct ratelimit {
	atomic_uint_fast64_t next_ns;
	atomic_uint burst_left;
};
bool ratelimit_ok(struct ratelimit *rl);

#define guest_err(...)                                                   \
	do {                                                             \
		static struct ratelimit rl__ = { 0, 10 };                \
		if (ratelimit_ok(&rl__))                                 \
			log_msg(LOG_WARN, "guest: " __VA_ARGS__);        \
	} while (0)

/* Log once per call site (e.g. an unimplemented opcode). */
#define log_once(level, ...)                                             \
	do {                                                             \
		static atomic_flag once__ = ATOMIC_FLAG_INIT;            \
		if (!atomic_flag_test_and_set(&once__))                  \
			log_msg(level, __VA_ARGS__);                     \
	} while (0)

#endif
