#!/usr/bin/env bash
# Issue-2 VMM benchmarks, vireo (--accel kvm) against QEMU (-enable-kvm) on the
# same host in the same run:
#   1. wall time from process start to the first serial byte (hello guest)
#   2. peak RSS of the VMM running the hello guest with --mem 256M (target <= 5 MiB)
#   3. cost of a port-I/O exit: 100,000 OUTs in a 64-bit loop, timed between
#      serial markers the guest prints around the loop (both guests run the
#      same 4-instruction loop in long mode)
# usage: bench/vmm.sh [build-dir]     (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[[ $build = /* ]] || build=$root/$build
vireo=$build/src/cli/vireo
runstat=$build/bench/runstat
g=$build/tests/guests
for f in "$vireo" "$runstat" "$g/hello.elf" "$g/portio_bench.elf"; do
	[[ -x $f || -f $f ]] || { echo "bench/vmm.sh: $f missing (build first: ninja -C $build)" >&2; exit 1; }
done
[[ -r /dev/kvm ]] || { echo "bench/vmm.sh: /dev/kvm not usable: nothing to measure" >&2; exit 1; }

field() { sed -n "s/.*$1=\([-0-9.]*\).*/\1/p"; }
runs=${BENCH_RUNS:-3}

# median of $runs runs of a command's metric
measure() { # metric cmd...   (the command's stderr is discarded)
	local metric=$1; shift
	for ((i = 0; i < runs; i++)); do "$runstat" "$@" 2>/dev/null | field "$metric"; done |
		sort -n | sed -n "$(((runs + 1) / 2))p"
}

echo "== vireo vs QEMU, KVM backend ($(grep -q -w -E 'vmx|svm' /proc/cpuinfo && echo hardware virtualization || echo 'no VMX/SVM: KVM emulates guest code'))"
v_first=$(measure first_byte_ms "$vireo" run --accel kvm --mem 256M --kernel "$g/hello.elf")
v_rss=$(measure maxrss_kib "$vireo" run --accel kvm --mem 256M --kernel "$g/hello.elf")
# The exit loop is timed between serial markers printed around it, so
# boot time (and its noise) stays out of the per-exit figure.
span=(-b "portio_bench: " -e "portio_bench: done")
v_io=$(measure span_ms "${span[@]}" "$vireo" run --accel kvm --mem 256M --kernel "$g/portio_bench.elf" --cmdline count=100000)

have_qemu=0
if command -v qemu-system-x86_64 >/dev/null; then
	have_qemu=1
	q=(qemu-system-x86_64 -enable-kvm -m 256 -nographic -no-reboot -display none
	   -device isa-debug-exit,iobase=0xf4,iosize=4)
	q_first=$(measure first_byte_ms "${q[@]}" -kernel "$build/bench/mb_portio_0.elf")
	q_rss=$(measure maxrss_kib "${q[@]}" -kernel "$build/bench/mb_portio_0.elf")
	q_io=$(measure span_ms "${span[@]}" "${q[@]}" -kernel "$build/bench/mb_portio_100000.elf")
fi

awk -v vf="$v_first" -v vr="$v_rss" -v vs="$v_io" \
    -v hq="$have_qemu" -v qf="${q_first:-0}" -v qr="${q_rss:-0}" -v qs="${q_io:-0}" '
function ratio(a, b) { return (hq && b > 0) ? sprintf("%.3f", a / b) : "n/a" }
function ref(fmt, v) { return hq ? sprintf(fmt, v) : "n/a" }
BEGIN {
	vio = vs * 1000 / 100000; qio = qs * 1000 / 100000
	printf("%-34s %12s %12s %10s\n", "metric (median of runs)", "vireo", "qemu", "vireo/qemu")
	printf("%-34s %12.1f %12s %10s\n", "first serial byte (ms)", vf, ref("%.1f", qf), ratio(vf, qf))
	printf("%-34s %12.0f %12s %10s\n", "peak RSS, --mem 256M (KiB)", vr, ref("%.0f", qr), ratio(vr, qr))
	printf("%-34s %12.2f %12s %10s\n", "port-I/O exit (us, 100k exits)", vio, ref("%.2f", qio), ratio(vio, qio))
	printf("target: VMM peak RSS <= 5120 KiB (Firecracker-class): %s\n", (vr <= 5120) ? "met" : "NOT met")
}'
