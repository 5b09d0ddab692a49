/* runstat: run a command, report wall time to its first stdout byte, total
 * wall time, exit status and peak RSS (of the command itself, via wait4).
 * With -b BEGIN -e END it also reports the time between the first
 * appearance of the two marker strings in the command's stdout (span_ms),
 * which times a stretch of guest work without the boot around it.
 * Output, one line: first_byte_ms=.. total_ms=.. span_ms=.. status=.. maxrss_kib=..
 * The command's stdout is drained (and echoed to stderr with -v). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	int fds[2], status, verbose = 0, argi = 1;
	double t0, first = -1, end, t_begin = -1, t_end = -1;
	const char *mbegin = NULL, *mend = NULL;
	char window[8192];
	size_t wlen = 0;
	struct rusage ru;
	char buf[4096];
	pid_t pid;

	while (argi < argc && argv[argi][0] == '-') {
		if (!strcmp(argv[argi], "-v")) {
			verbose = 1;
			argi++;
		} else if (!strcmp(argv[argi], "-b") && argi + 1 < argc) {
			mbegin = argv[argi + 1];
			argi += 2;
		} else if (!strcmp(argv[argi], "-e") && argi + 1 < argc) {
			mend = argv[argi + 1];
			argi += 2;
		} else {
			break;
		}
	}
	if (argi >= argc) {
		fprintf(stderr, "usage: runstat [-v] [-b BEGIN -e END] command [args...]\n");
		return 2;
	}
	if (pipe(fds))
		return 2;
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", 0);
		dup2(devnull, 0);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[argi], argv + argi);
		fprintf(stderr, "runstat: %s: %s\n", argv[argi], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (first < 0)
			first = now_ms();
		if (mbegin || mend) {
			/* Keep a sliding window so markers split across reads match. */
			size_t keep = wlen > 256 ? 256 : wlen;
			memmove(window, window + wlen - keep, keep);
			wlen = keep;
			memcpy(window + wlen, buf, (size_t)n < sizeof(window) - wlen - 1 ?
			       (size_t)n : sizeof(window) - wlen - 1);
			wlen += (size_t)n < sizeof(window) - wlen - 1 ? (size_t)n : sizeof(window) - wlen - 1;
			window[wlen] = '\0';
			if (mbegin && t_begin < 0 && strstr(window, mbegin))
				t_begin = now_ms();
			if (mend && t_begin >= 0 && t_end < 0 && strstr(window, mend))
				t_end = now_ms();
		}
		if (verbose)
			fwrite(buf, 1, (size_t)n, stderr);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return 2;
	end = now_ms();
	printf("first_byte_ms=%.1f total_ms=%.1f span_ms=%.1f status=%d maxrss_kib=%ld\n",
	       first < 0 ? -1.0 : first - t0, end - t0,
	       t_begin >= 0 && t_end >= 0 ? t_end - t_begin : -1.0,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ru.ru_maxrss);
	return 0;
}
