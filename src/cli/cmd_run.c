/* vireo run: parse and validate the command line (every mistake is one line
 * on stderr naming the flag or file, exit 1), pick the backend, put the
 * terminal in raw mode, build and run the VM. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "accel/accel.h"
#include "cli/cli.h"
#include "devices/virtio/devices.h"
#include "net/net.h"
#include "util/log.h"
#include "util/parse.h"
#include "vm/vm.h"

#define DEFAULT_MEM      (256ull << 20)
#define DEFAULT_CMDLINE  "console=ttyS0 panic=-1"

static const char usage_text[] =
	"usage: vireo run [options]\n"
	"\n"
	"Boots a kernel (bzImage or ELF64) with the Linux x86 boot protocol.\n"
	"Without --kernel it boots the default Debian guest built by scripts/setup.sh.\n"
	"The guest's serial console is this terminal; Ctrl-A x quits.\n"
	"Set-up also builds a Debian disk (root on virtio-blk, sshd); boot it with\n"
	"  vireo run --disk ~/.cache/vireo/guest/debian.qcow2 \\\n"
	"            --cmdline \"$(cat ~/.cache/vireo/guest/cmdline.disk)\"\n"
	"(docs/guest-images.md).\n"
	"\n"
	"options:\n"
	"  --kernel FILE     kernel image: bzImage or ELF64 (default: the default guest)\n"
	"  --initrd FILE     initial ramdisk (default: the default guest's, if --kernel is not given)\n"
	"  --cmdline STR     kernel command line (default: \"" DEFAULT_CMDLINE "\")\n"
	"  --mem SIZE        guest memory, e.g. 256M, 2G; a bare number is MiB (default: 256M)\n"
	"  --cpus N          number of vCPUs, 1-64 (default: 1)\n"
	"  --accel BACKEND   kvm, soft or auto (default: auto; see 'vireo host')\n"
	"  --disk PATH[,format=raw|qcow2][,readonly=on][,cache=none|writeback]\n"
	"                    add a virtio-blk disk (repeatable, up to 8; /dev/vda, vdb, ...)\n"
	"  --rng             add a virtio-rng device fed by the host's getrandom()\n"
	"  --net user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT][,mac=MAC]\n"
	"  --net tap[,ifname=NAME][,mac=MAC]\n"
	"                    add a virtio-net NIC (repeatable, up to 8): user is NAT via\n"
	"                    libslirp (guest 10.0.2.15 by DHCP, gateway 10.0.2.2, DNS 10.0.2.3;\n"
	"                    hostfwd listens on 127.0.0.1 unless HOSTADDR is given); tap needs\n"
	"                    CAP_NET_ADMIN; default MACs 52:54:00:12:34:56, :57, ...\n"
	"  --console serial|virtio\n"
	"                    the terminal is the UART ttyS0 (default) or virtio-console hvc0;\n"
	"                    with virtio the UART's output goes to stderr and it gets no input\n"
	"  -v, --verbose     more diagnostics on stderr (repeat for debug)\n"
	"  -h, --help        this text\n"
	"\n"
	"exit status: 0 guest powered off or reset; (v<<1)|1 guest wrote v to the\n"
	"isa-debug-exit port 0xf4; 2 guest crashed (triple fault); 1 configuration error.\n";

static struct termios saved_tio;
static int saved_tio_valid;

static void restore_terminal(void)
{
	if (saved_tio_valid) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		saved_tio_valid = 0;
	}
}

static void raw_terminal(void)
{
	struct termios tio;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	saved_tio_valid = 1;
	atexit(restore_terminal);
	tio = saved_tio;
	cfmakeraw(&tio);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio);
}

int cli__guest_path(const char *name, char *buf, unsigned len)
{
	const char *cache = getenv("VIREO_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (cache && *cache)
		n = snprintf(buf, len, "%s/guest/%s", cache, name);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/vireo/guest/%s", xdg, name);
	else
		n = snprintf(buf, len, "%s/.cache/vireo/guest/%s", home ? home : "/root", name);
	return (n < 0 || (unsigned)n >= len) ? -ENAMETOOLONG : 0;
}

static int check_readable(const char *flag, const char *path)
{
	struct stat st;

	if (stat(path, &st)) {
		fprintf(stderr, "vireo run: %s %s: %s\n", flag, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "vireo run: %s %s: not a regular file\n", flag, path);
		return -1;
	}
	if (access(path, R_OK)) {
		fprintf(stderr, "vireo run: %s %s: %s\n", flag, path, strerror(errno));
		return -1;
	}
	return 0;
}

static char *read_default_cmdline(void)
{
	static char buf[4096];
	char path[4096];
	FILE *f;
	size_t n;

	if (cli__guest_path("cmdline.default", path, sizeof(path)))
		return NULL;
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return n ? buf : NULL;
}

static uint64_t host_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	return pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
}

/* Returns 0 and fills *cfg, or prints one line and returns -1 / 1 (--help). */
static int parse_args(int argc, char **argv, struct vm_config *cfg)
{
	enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_MEM, OPT_CPUS, OPT_ACCEL,
	       OPT_DISK, OPT_RNG, OPT_NET, OPT_CONSOLE };
	static struct disk_config disks[VM_MAX_DISKS];
	static struct net_config nets[NET_MAX_NICS];
	static char cmdline_buf[4096];
	bool user_cmdline;
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "accel", required_argument, NULL, OPT_ACCEL },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "rng", no_argument, NULL, OPT_RNG },
		{ "net", required_argument, NULL, OPT_NET },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char kernel_buf[4096], initrd_buf[4096];
	int opt, verbose = 0, ret;
	long cpus;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_KERNEL: cfg->kernel = optarg; break;
		case OPT_INITRD: cfg->initrd = optarg; break;
		case OPT_CMDLINE: cfg->cmdline = optarg; break;
		case OPT_MEM:
			ret = parse_size(optarg, &cfg->mem_size);
			if (ret) {
				fprintf(stderr, "vireo run: --mem %s: %s\n", optarg, ret == -ERANGE ?
					"too large" : "not a size (use e.g. 256M or 2G)");
				return -1;
			}
			if (cfg->mem_size < VM_MEM_MIN) {
				fprintf(stderr, "vireo run: --mem %s: must be at least %llu MiB\n",
					optarg, VM_MEM_MIN >> 20);
				return -1;
			}
			if (host_ram() && cfg->mem_size > host_ram()) {
				fprintf(stderr, "vireo run: --mem %s: more than this host's %llu MiB of RAM\n",
					optarg, (unsigned long long)(host_ram() >> 20));
				return -1;
			}
			break;
		case OPT_CPUS:
			ret = parse_int(optarg, 1, VM_MAX_CPUS, &cpus);
			if (ret) {
				fprintf(stderr, "vireo run: --cpus %s: %s\n", optarg, ret == -ERANGE ?
					"must be between 1 and 64" : "not a number");
				return -1;
			}
			cfg->nr_cpus = (int)cpus;
			break;
		case OPT_ACCEL:
			if (!strcmp(optarg, "kvm"))
				cfg->accel = ACCEL_KVM;
			else if (!strcmp(optarg, "soft"))
				cfg->accel = ACCEL_SOFT;
			else if (!strcmp(optarg, "auto"))
				cfg->accel = ACCEL_AUTO;
			else {
				fprintf(stderr, "vireo run: --accel %s: must be kvm, soft or auto\n", optarg);
				return -1;
			}
			break;
		case OPT_DISK:
			if (cfg->nr_disks >= VM_MAX_DISKS) {
				fprintf(stderr, "vireo run: --disk %s: at most %d disks\n", optarg, VM_MAX_DISKS);
				return -1;
			}
			if (disk_config__parse(optarg, &disks[cfg->nr_disks]))
				return -1;
			if (check_readable("--disk", disks[cfg->nr_disks].path))
				return -1;
			cfg->disks = disks;
			cfg->nr_disks++;
			break;
		case OPT_RNG: cfg->rng = true; break;
		case OPT_NET:
			if (cfg->nr_nets >= NET_MAX_NICS) {
				fprintf(stderr, "vireo run: --net %s: at most %d NICs\n", optarg, NET_MAX_NICS);
				return -1;
			}
			if (net_config__parse(optarg, (unsigned)cfg->nr_nets, &nets[cfg->nr_nets]))
				return -1;
			cfg->nets = nets;
			cfg->nr_nets++;
			break;
		case OPT_CONSOLE:
			if (!strcmp(optarg, "serial"))
				cfg->virtio_console = false;
			else if (!strcmp(optarg, "virtio"))
				cfg->virtio_console = true;
			else {
				fprintf(stderr, "vireo run: --console %s: must be serial or virtio\n", optarg);
				return -1;
			}
			break;
		case 'v': verbose++; break;
		case 'h': fputs(usage_text, stdout); return 1;
		case ':':
			fprintf(stderr, "vireo run: %s: missing value\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "vireo run: unknown option '%s' (try --help)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vireo run: unexpected argument '%s' (try --help)\n", argv[optind]);
		return -1;
	}
	log_set_level(verbose >= 2 ? LOG_DEBUG : verbose ? LOG_INFO : LOG_WARN);
	user_cmdline = cfg->cmdline != NULL;

	if (!cfg->kernel) {
		/* The default guest built by scripts/setup.sh. */
		if (cli__guest_path("vmlinuz", kernel_buf, sizeof(kernel_buf)) ||
		    access(kernel_buf, R_OK)) {
			fprintf(stderr, "vireo run: no --kernel given and the default guest is not built "
				"(expected %s; ./scripts/setup.sh builds it)\n", kernel_buf);
			return -1;
		}
		cfg->kernel = kernel_buf;
		if (!cfg->initrd && !cli__guest_path("initramfs.cpio.gz", initrd_buf, sizeof(initrd_buf)) &&
		    !access(initrd_buf, R_OK))
			cfg->initrd = initrd_buf;
		if (!cfg->cmdline)
			cfg->cmdline = read_default_cmdline();
	}
	if (!cfg->cmdline)
		cfg->cmdline = DEFAULT_CMDLINE;
	if (cfg->virtio_console) {
		/* Only one device reads the terminal; the UART keeps its output
		 * (early boot messages, before virtio_console loads) on stderr. */
		cfg->vcon_in = cfg->console_in;
		cfg->vcon_out = cfg->console_out;
		cfg->console_in = -1;
		cfg->console_out = STDERR_FILENO;
		/* The last console= is /dev/console once hvc0 registers. */
		if (!user_cmdline) {
			snprintf(cmdline_buf, sizeof(cmdline_buf), "%s console=hvc0", cfg->cmdline);
			cfg->cmdline = cmdline_buf;
		}
	}
	if (check_readable("--kernel", cfg->kernel))
		return -1;
	if (cfg->initrd && check_readable("--initrd", cfg->initrd))
		return -1;
	return 0;
}

static int resolve_accel(struct vm_config *cfg)
{
	struct host_caps caps;
	const char *why;
	enum accel_kind kind;

	accel__probe_host(&caps);
	kind = accel__choose(&caps, cfg->accel, &why);
	switch (kind) {
	case ACCEL_AUTO:
		fprintf(stderr, "vireo run: --accel auto: %s\n", why);
		return -1;
	case ACCEL_KVM:
		if (!caps.kvm_usable) {
			fprintf(stderr, "vireo run: --accel kvm: /dev/kvm: %s\n", strerror(caps.kvm_errno));
			return -1;
		}
		if (!caps.cap_irqchip || !caps.cap_pit2 || !caps.cap_user_memory) {
			fprintf(stderr, "vireo run: --accel kvm: this KVM lacks the in-kernel irqchip/PIT\n");
			return -1;
		}
		if (cfg->nr_cpus > caps.max_vcpus) {
			fprintf(stderr, "vireo run: --cpus %d: this KVM allows at most %d vCPUs\n",
				cfg->nr_cpus, caps.max_vcpus);
			return -1;
		}
		break;
	case ACCEL_SOFT:
		if (!caps.soft_available) {
			fprintf(stderr, "vireo run: --accel soft: the software CPU is not available in this build yet\n");
			return -1;
		}
		break;
	}
	if (cfg->accel == ACCEL_AUTO)
		pr_info("--accel auto chose %s: %s", accel__name(kind), why);
	cfg->accel = kind;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct vm_config cfg = {
		.mem_size = DEFAULT_MEM,
		.nr_cpus = 1,
		.accel = ACCEL_AUTO,
		.console_in = STDIN_FILENO,
		.console_out = STDOUT_FILENO,
	};
	struct vm *vm;
	int ret;

	/* A console reader that went away (vireo run | head) must not kill
	 * the VM: the UART sees EPIPE and drops output instead. */
	signal(SIGPIPE, SIG_IGN);
	ret = parse_args(argc, argv, &cfg);
	if (ret)
		return ret > 0 ? 0 : VM_EXIT_ERROR;
	if (resolve_accel(&cfg))
		return VM_EXIT_ERROR;
	if (vm__create(&vm, &cfg))
		return VM_EXIT_ERROR;
	raw_terminal();
	ret = vm__run(vm);
	restore_terminal();
	vm__destroy(vm);
	return ret;
}
