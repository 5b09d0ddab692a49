#!/usr/bin/env bash
# Sequential virtio-blk throughput of vireo (--accel soft, the default Debian
# guest) against the host and QEMU TCG, same run: inside the guest, dd of
# BENCH_MB MiB (default 128) with 1 MiB blocks and O_DIRECT (busybox dd
# oflag/iflag=direct) to and from a raw image; on the host, the same dd
# against the same file.  Guest-side times come from the guest clock
# (/proc/uptime) and cover the dd only, not the boot.  Slowness never fails
# this script.
# usage: bench/blk.sh [build-dir]   env: BENCH_MB, BENCH_TIMEOUT (900 s),
#        BENCH_VMMS (default "vireo qemu")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[[ $build = /* ]] || build=$root/$build
vireo=$build/src/cli/vireo
mb=${BENCH_MB:-128}
tmo=${BENCH_TIMEOUT:-900}
vmms=${BENCH_VMMS:-vireo qemu}
guest=${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo}/guest
[[ -x $vireo ]] || { echo "bench/blk.sh: $vireo missing (build first: ninja -C $build)" >&2; exit 1; }
for f in "$guest/vmlinuz" "$guest/initramfs.cpio.gz"; do
	[[ -s $f ]] || { echo "bench/blk.sh: $f missing (run scripts/build-guest.sh)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/var/tmp}/vireo-bench-blk.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
echo "MB=$mb" >"$work/root/blk.conf"
cat >"$work/root/autorun.sh" <<'AUTORUN'
#!/bin/sh
. /blk.conf
up() { cut -d' ' -f1 /proc/uptime; }
t0=$(up)
dd if=/dev/zero of=/dev/vda bs=1048576 count=$MB oflag=direct 2>/tmp/w.log; rw=$?
t1=$(up)
dd if=/dev/vda of=/dev/null bs=1048576 count=$MB iflag=direct 2>/tmp/r.log; rr=$?
t2=$(up)
echo "BLK-W $rw $t0 $t1"
echo "BLK-R $rr $t1 $t2"
tail -n 1 /tmp/w.log /tmp/r.log
busybox poweroff -f
AUTORUN
chmod 0755 "$work/root/autorun.sh"
"$root/tests/linux/mkinitrd.sh" "$guest/initramfs.cpio.gz" "$work/root" "$work/initrd"
cmdline="console=ttyS0 quiet panic=-1"

# rate LINE: MB/s (10^6 bytes) from "BLK-x RC T0 T1"
rate() { awk -v mb="$mb" '{ if ($1 != 0) print "fail"; else if ($3 > $2) printf "%.1f\n", mb * 1.048576 / ($3 - $2); else print "n/a" }'; }

# guest NAME CMD...: boot; sets W and R (MB/s or "fail")
guest_run()
{
	local name=$1 rc; shift
	truncate -s 0 "$work/disk.img"
	truncate -s $((mb + 16))M "$work/disk.img"
	set +e
	timeout -k 5 "$tmo" "$@" >"$work/out" 2>"$work/err" </dev/null
	rc=$?
	set -e
	tr -d '\r' <"$work/out" >"$work/out.txt"
	W=$(sed -n 's/^BLK-W //p' "$work/out.txt" | rate)
	R=$(sed -n 's/^BLK-R //p' "$work/out.txt" | rate)
	if [[ $rc -ne 0 || -z $W || -z $R ]]; then
		echo "  $name: FAILED (exit $rc): $*" >&2
		tail -n 8 "$work/out.txt" | sed 's/^/    | /' >&2
		W=${W:-fail} R=${R:-fail}
	fi
}

echo "== sequential virtio-blk, ${mb} MiB, 1 MiB blocks, O_DIRECT, raw image"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "image: $work/disk.img ($(df -T "$work" | awk 'NR == 2 { print $2 }'))"

# Host reference: the same dd against the same file.
truncate -s $((mb + 16))M "$work/disk.img"
hdd() { # dd args...: MB/s from the elapsed wall time
	local t0 t1
	t0=$(date +%s.%N)
	dd "$@" bs=1048576 count="$mb" status=none
	t1=$(date +%s.%N)
	awk -v mb="$mb" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", mb * 1.048576 / (b - a) }'
}
HW=$(hdd if=/dev/zero of="$work/disk.img" conv=notrunc oflag=direct)
HR=$(hdd if="$work/disk.img" of=/dev/null iflag=direct)

VW=n/a VR=n/a
[[ " $vmms " != *" vireo "* ]] ||
guest_run vireo "$vireo" run --accel soft --kernel "$guest/vmlinuz" --initrd "$work/initrd" \
	--mem 256M --cmdline "$cmdline" --disk "$work/disk.img,format=raw"
[[ " $vmms " != *" vireo "* ]] || { VW=$W VR=$R; }
QW=n/a QR=n/a
if [[ " $vmms " = *" qemu "* ]] && command -v qemu-system-x86_64 >/dev/null; then
	guest_run qemu qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot \
		-kernel "$guest/vmlinuz" -initrd "$work/initrd" -append "$cmdline" \
		-drive "file=$work/disk.img,format=raw,if=virtio"
	QW=$W QR=$R
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf "%-8s %12s %12s %12s %14s %14s\n" "MB/s" "vireo guest" "qemu guest" "host dd" "vireo/host" "vireo/qemu"
printf "%-8s %12s %12s %12s %14s %14s\n" write "$VW" "$QW" "$HW" "$(ratio "$VW" "$HW")" "$(ratio "$VW" "$QW")"
printf "%-8s %12s %12s %12s %14s %14s\n" read "$VR" "$QR" "$HR" "$(ratio "$VR" "$HR")" "$(ratio "$VR" "$QR")"
