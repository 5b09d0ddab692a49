/* vireo img: create, info, check, convert disk images (raw, qcow2). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "cli/cli.h"
#include "util/log.h"
#include "util/parse.h"

static const char img_usage[] =
	"usage: vireo img <subcommand> [options]\n"
	"\n"
	"  create [-f raw|qcow2] [-b BACKING [-F raw|qcow2]] [-o cluster_size=N] FILE [SIZE]\n"
	"         make a new image; SIZE like 10G (optional with -b: the backing file's size)\n"
	"  info   FILE                 format, virtual size, disk usage, backing chain\n"
	"  check  [-r leaks] FILE      verify qcow2 metadata; exit 0 clean, 2 corrupt, 3 leaks only\n"
	"  convert [-f FMT] -O raw|qcow2 [-p] SRC DST\n"
	"         copy an image into a new one of format -O, skipping holes (-p: progress)\n";

static int bad(const char *sub, const char *msg, const char *arg)
{
	fprintf(stderr, "vireo img %s: %s%s%s\n", sub, arg ? arg : "", arg ? ": " : "", msg);
	return 1;
}

static int parse_fmt(const char *sub, const char *flag, const char *s, enum block_format *out)
{
	int f = (int)block__parse_format(s);

	if (f < 0) {
		fprintf(stderr, "vireo img %s: %s %s: must be raw or qcow2\n", sub, flag, s);
		return -1;
	}
	*out = (enum block_format)f;
	return 0;
}

/* Image sizes are bytes unless suffixed (qemu-img's convention), unlike
 * --mem where a bare number is MiB. */
static int parse_bytes(const char *s, uint64_t *out)
{
	size_t n = strlen(s);
	char buf[64];

	if (n && n < sizeof(buf) - 1 && s[n - 1] >= '0' && s[n - 1] <= '9') {
		snprintf(buf, sizeof(buf), "%sB", s);
		return parse_size(buf, out);
	}
	return parse_size(s, out);
}

static int img_create(int argc, char **argv)
{
	struct block_create_opts o = { .fmt = BLOCK_FMT_QCOW2 };
	int opt;

	optind = 1;
	while ((opt = getopt(argc, argv, ":f:b:F:o:h")) != -1) {
		switch (opt) {
		case 'f':
			if (parse_fmt("create", "-f", optarg, &o.fmt))
				return 1;
			break;
		case 'b': o.backing = optarg; break;
		case 'F':
			if (parse_fmt("create", "-F", optarg, &o.backing_fmt))
				return 1;
			break;
		case 'o': {
			uint64_t cs;
			if (strncmp(optarg, "cluster_size=", 13) || parse_bytes(optarg + 13, &cs) ||
			    (cs & (cs - 1)) || cs < 512 || cs > (2u << 20))
				return bad("create", "expected cluster_size=N with N a power of two, 512-2M", optarg);
			o.cluster_bits = (unsigned)__builtin_ctzll(cs);
			break;
		}
		case 'h': fputs(img_usage, stdout); return 0;
		case ':': return bad("create", "missing value", argv[optind - 1]);
		default: return bad("create", "unknown option", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return bad("create", "missing FILE", NULL);
	if (optind + 1 < argc) {
		if (parse_bytes(argv[optind + 1], &o.size))
			return bad("create", "not a size (use e.g. 10G)", argv[optind + 1]);
	} else if (!o.backing) {
		return bad("create", "missing SIZE", NULL);
	}
	if (optind + 2 < argc)
		return bad("create", "unexpected argument", argv[optind + 2]);
	if (block__create(argv[optind], &o))
		return 1;
	printf("Formatting '%s', fmt=%s size=%" PRIu64 "%s%s\n", argv[optind],
	       o.fmt == BLOCK_FMT_QCOW2 ? "qcow2" : "raw", o.size,
	       o.backing ? " backing_file=" : "", o.backing ? o.backing : "");
	return 0;
}

static int img_info(int argc, char **argv)
{
	struct blockdev *bd, *b;
	struct stat st;
	int depth = 0;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(img_usage, stdout);
		return 0;
	}
	if (argc != 2)
		return bad("info", argc < 2 ? "missing FILE" : "unexpected argument",
			   argc < 2 ? NULL : argv[2]);
	if (block__open(argv[1], BLOCK_FMT_AUTO, BLOCK_OPEN_RDONLY | BLOCK_OPEN_NOLOCK, &bd))
		return 1;
	for (b = bd; b; b = b->backing, depth++) {
		if (depth)
			printf("\nbacking file (depth %d):\n", depth);
		printf("image: %s\nfile format: %s\nvirtual size: %.2f GiB (%" PRIu64 " bytes)\n",
		       b->path, block__format_name(b), b->size / 1073741824.0, b->size);
		if (!fstat(b->fd, &st))
			printf("disk size: %.2f MiB\n", st.st_blocks * 512.0 / 1048576.0);
		if (b->backing)
			printf("backing file: %s\n", b->backing->path);
	}
	block__close(bd);
	return 0;
}

static int img_check(int argc, char **argv)
{
	struct block_check_result r;
	struct blockdev *bd;
	bool repair = false;
	int opt, ret;

	optind = 1;
	while ((opt = getopt(argc, argv, ":r:h")) != -1) {
		switch (opt) {
		case 'r':
			if (strcmp(optarg, "leaks"))
				return bad("check", "only '-r leaks' is supported", optarg);
			repair = true;
			break;
		case 'h': fputs(img_usage, stdout); return 0;
		default: return bad("check", "unknown option or missing value", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return bad("check", "expected exactly one FILE", NULL);
	if (block__open(argv[optind], BLOCK_FMT_AUTO,
			repair ? 0 : (BLOCK_OPEN_RDONLY | BLOCK_OPEN_NOLOCK), &bd))
		return 1;
	ret = block__check(bd, &r, true, repair);
	block__close(bd);
	if (ret) {
		fprintf(stderr, "vireo img check: %s: %s\n", argv[optind], strerror(-ret));
		return 1;
	}
	if (!r.checked) {
		printf("%s: raw images have no metadata to check\n", argv[optind]);
		return 0;
	}
	if (r.corruptions)
		printf("%" PRIu64 " errors were found on the image.\nData may be corrupted.\n", r.corruptions);
	else
		printf("No errors were found on the image.\n");
	if (r.leaks)
		printf("%" PRIu64 " leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n", r.leaks);
	printf("%" PRIu64 "/%" PRIu64 " = %.2f%% allocated\n", r.allocated_clusters, r.total_clusters,
	       r.total_clusters ? 100.0 * r.allocated_clusters / r.total_clusters : 0.0);
	return r.corruptions ? 2 : r.leaks ? 3 : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int img_convert(int argc, char **argv)
{
	enum block_format in_fmt = BLOCK_FMT_AUTO, out_fmt = (enum block_format)-1;
	struct block_create_opts o = { 0 };
	struct blockdev *src, *dst;
	const size_t chunk = 1 << 20;
	bool progress = false;
	double last = 0;
	uint8_t *buf;
	int opt, ret = 1;

	optind = 1;
	while ((opt = getopt(argc, argv, ":f:O:ph")) != -1) {
		switch (opt) {
		case 'f':
			if (parse_fmt("convert", "-f", optarg, &in_fmt))
				return 1;
			break;
		case 'O':
			if (parse_fmt("convert", "-O", optarg, &out_fmt))
				return 1;
			break;
		case 'p': progress = true; break;
		case 'h': fputs(img_usage, stdout); return 0;
		case ':': return bad("convert", "missing value", argv[optind - 1]);
		default: return bad("convert", "unknown option", argv[optind - 1]);
		}
	}
	if ((int)out_fmt < 0)
		return bad("convert", "-O raw|qcow2 is required", NULL);
	if (optind + 2 != argc)
		return bad("convert", "expected SRC and DST", NULL);
	if (!strcmp(argv[optind], argv[optind + 1]))
		return bad("convert", "SRC and DST are the same file", argv[optind]);
	if (block__open(argv[optind], in_fmt, BLOCK_OPEN_RDONLY, &src))
		return 1;
	o.fmt = out_fmt;
	o.size = src->size;
	if (block__create(argv[optind + 1], &o))
		goto out_src;
	if (block__open(argv[optind + 1], out_fmt, 0, &dst)) {
		unlink(argv[optind + 1]);   /* nothing half-made is left behind */
		goto out_src;
	}
	buf = malloc(chunk);
	if (!buf)
		goto out_dst;
	for (uint64_t off = 0; off < src->size; off += chunk) {
		size_t n = src->size - off < chunk ? (size_t)(src->size - off) : chunk;
		bool alloc = true, zero = true;

		/* Holes in the source (including its backing chain) stay holes. */
		if (!src->backing && block__is_allocated(src, off, n, &alloc) == 0 && !alloc)
			goto next;
		if ((ret = block__read(src, buf, off, n))) {
			fprintf(stderr, "vireo img convert: %s: read at %" PRIu64 ": %s\n",
				src->path, off, strerror(-ret));
			ret = 1;
			goto out_buf;
		}
		for (size_t i = 0; i < n && zero; i += 8)
			zero = *(uint64_t *)(buf + i) == 0;
		if (!zero && (ret = block__write(dst, buf, off, n))) {
			fprintf(stderr, "vireo img convert: %s: write at %" PRIu64 ": %s\n",
				dst->path, off, strerror(-ret));
			ret = 1;
			goto out_buf;
		}
next:
		if (progress && (now_s() - last > 0.2 || off + n >= src->size)) {
			last = now_s();
			fprintf(stderr, "\r    (%.2f/100%%)", 100.0 * (double)(off + n) / (double)src->size);
		}
	}
	if (progress)
		fprintf(stderr, "\r    (100.00/100%%)\n");
	ret = block__flush(dst) ? 1 : 0;
out_buf:
	free(buf);
out_dst:
	block__close(dst);
	if (ret)
		unlink(argv[optind + 1]);
out_src:
	block__close(src);
	return ret;
}

int cmd_img(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(int, char **); } subs[] = {
		{ "create", img_create }, { "info", img_info },
		{ "check", img_check }, { "convert", img_convert },
	};

	if (argc < 2) {
		fputs(img_usage, stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(img_usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vireo img: unknown subcommand '%s' (try 'vireo img --help')\n", argv[1]);
	return 1;
}
