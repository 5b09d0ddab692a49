#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "accel/accel.h"
#include "cli/cli.h"

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

int cmd_host(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct host_caps c;
	enum accel_kind pick;
	const char *why;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'h') {
			printf("usage: vireo host\n\nPrints what this host can do: whether /dev/kvm is usable,\n"
			       "hardware VMX/SVM or PVM, the KVM capabilities vireo relies on,\n"
			       "and which backend '--accel auto' picks and why.\n");
			return 0;
		}
		fprintf(stderr, "vireo host: unknown option '%s' (try --help)\n", argv[optind - 1]);
		return 1;
	}
	if (optind < argc) {
		fprintf(stderr, "vireo host: unexpected argument '%s'\n", argv[optind]);
		return 1;
	}

	accel__probe_host(&c);
	printf("kvm device:        %s\n", c.kvm_present ? "/dev/kvm present" : "/dev/kvm missing");
	if (c.kvm_present)
		printf("kvm usable:        %s%s%s\n", yes_no(c.kvm_usable), c.kvm_usable ? "" : " - ",
		       c.kvm_usable ? "" : strerror(c.kvm_errno));
	printf("hardware virt:     %s (vmx/svm in /proc/cpuinfo)\n", yes_no(c.hw_virt));
	printf("kvm flavour:       %s\n", c.pvm ? "PVM (kvm_pvm): standard guests run in KVM's instruction emulator"
					      : (c.hw_virt ? "hardware-assisted" : "unknown/none"));
	if (c.kvm_usable) {
		printf("kvm capabilities:  irqchip=%s pit2=%s ioeventfd=%s irqfd=%s user_memory=%s immediate_exit=%s\n",
		       yes_no(c.cap_irqchip), yes_no(c.cap_pit2), yes_no(c.cap_ioeventfd), yes_no(c.cap_irqfd),
		       yes_no(c.cap_user_memory), yes_no(c.cap_immediate_exit));
		printf("kvm max vcpus:     %d\n", c.max_vcpus);
	}
	printf("soft cpu:          %s\n", c.soft_available ? "available" : "not available in this build");
	pick = accel__choose(&c, ACCEL_AUTO, &why);
	if (pick == ACCEL_AUTO)
		printf("--accel auto:      none: %s\n", why);
	else
		printf("--accel auto:      %s: %s\n", accel__name(pick), why);
	printf("linux on kvm:      %s\n", (c.kvm_usable && c.hw_virt && !c.pvm) ?
	       "yes" : "no (needs hardware VMX/SVM)");
	return 0;
}
