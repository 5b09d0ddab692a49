#!/usr/bin/env bash
# Boot time of the default Debian guest on vireo's software CPU against
# QEMU TCG, same kernel, same initramfs, same run: the initramfs gets an
# /autorun.sh that prints the guest's uptime and powers off at once, so the
# wall time is "process start to power-off" (kernel boot, module loads,
# busybox init).  1 and 2 vCPUs.  Slowness never fails this script; a
# failed boot is reported as such.  Issue target: vireo/qemu <= 4.
# usage: bench/soft_boot.sh [build-dir]   env: BENCH_RUNS (default 3),
#        BENCH_TIMEOUT (per boot, default 900 s), BENCH_CPUS (default "1 2"),
#        BENCH_VMMS (default "vireo qemu")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[[ $build = /* ]] || build=$root/$build
vireo=$build/src/cli/vireo
runs=${BENCH_RUNS:-3}
tmo=${BENCH_TIMEOUT:-900}
vmms=${BENCH_VMMS:-vireo qemu}
guest=${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo}/guest
[[ -x $vireo ]] || { echo "bench/soft_boot.sh: $vireo missing (build first: ninja -C $build)" >&2; exit 1; }
for f in "$guest/vmlinuz" "$guest/initramfs.cpio.gz"; do
	[[ -s $f ]] || { echo "bench/soft_boot.sh: $f missing (run scripts/build-guest.sh)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
cat >"$work/root/autorun.sh" <<'AUTORUN'
#!/bin/sh
echo "BOOT-UPTIME $(cut -d' ' -f1 /proc/uptime)"
busybox poweroff -f
AUTORUN
chmod 0755 "$work/root/autorun.sh"
"$root/tests/linux/mkinitrd.sh" "$guest/initramfs.cpio.gz" "$work/root" "$work/initrd"
cmdline="console=ttyS0 quiet panic=-1"

now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# one NAME CMD...: one boot; prints "WALL UPTIME" or "fail" (with details
# on stderr).
one()
{
	local name=$1 t0 rc up wall; shift
	t0=$(now)
	set +e
	timeout -k 5 "$tmo" "$@" >"$work/out" 2>"$work/err" </dev/null
	rc=$?
	set -e
	wall=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
	up=$(tr -d '\r' <"$work/out" | sed -n 's/^BOOT-UPTIME //p' | head -n 1)
	if [[ $rc -ne 0 || -z $up ]]; then
		{
			echo "  $name: FAILED (exit $rc after $wall s): $*"
			tr -d '\r' <"$work/out" | tail -n 8 | sed 's/^/    | /'
		} >&2
		echo fail
		return
	fi
	echo "$wall $up"
}

echo "== Linux boot to power-off: vireo --accel soft vs QEMU TCG ($runs runs each, median)"
echo "kernel: $guest/vmlinuz ($(cat "$guest/version" 2>/dev/null || echo '?'))"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
have_qemu=0
if [[ " $vmms " = *" qemu "* ]]; then
	command -v qemu-system-x86_64 >/dev/null && have_qemu=1 || echo "qemu-system-x86_64 not installed: no reference"
fi

printf "%-22s %12s %12s %14s %14s %11s\n" "guest" "vireo wall s" "qemu wall s" "vireo uptime s" "qemu uptime s" "vireo/qemu"
for cpus in ${BENCH_CPUS:-1 2}; do
	: >"$work/v" ; : >"$work/q"
	for ((i = 0; i < runs; i++)); do
		[[ " $vmms " = *" vireo "* ]] &&
		one "vireo --cpus $cpus run $i" "$vireo" run --accel soft --kernel "$guest/vmlinuz" \
			--initrd "$work/initrd" --mem 256M --cpus "$cpus" --cmdline "$cmdline" >>"$work/v"
		if [[ $have_qemu = 1 ]]; then
			one "qemu -smp $cpus run $i" qemu-system-x86_64 -accel tcg -m 256 -smp "$cpus" \
				-nographic -no-reboot -kernel "$guest/vmlinuz" -initrd "$work/initrd" \
				-append "$cmdline" >>"$work/q"
		fi
	done
	vw=$(grep -v fail "$work/v" | cut -d' ' -f1 | median)
	vu=$(grep -v fail "$work/v" | cut -d' ' -f2 | median)
	qw=$(grep -v fail "$work/q" | cut -d' ' -f1 | median)
	qu=$(grep -v fail "$work/q" | cut -d' ' -f2 | median)
	vf=$(grep -c fail "$work/v" || true)
	qf=$(grep -c fail "$work/q" || true)
	awk -v c="$cpus" -v vw="$vw" -v qw="$qw" -v vu="$vu" -v qu="$qu" -v vf="$vf" -v qf="$qf" 'BEGIN {
		r = (vw != "nan" && qw != "nan" && qw > 0) ? sprintf("%.1f", vw / qw) : "n/a"
		printf "%-22s %12s %12s %14s %14s %11s\n", c " vCPU" (c > 1 ? "s" : ""), vw, qw, vu, qu, r
		if (vf + qf > 0) printf "  (failed boots left out: vireo %d, qemu %d)\n", vf, qf
	}'
	echo "$cpus $vw $qw" >>"$work/summary"
done
awk '{ if ($2 != "nan" && $3 != "nan" && $3 > 0) { r = $2 / $3; printf "target vireo/qemu <= 4 with %d vCPU(s): %s (%.1f)\n", $1, r <= 4 ? "met" : "NOT met", r } }' "$work/summary"
