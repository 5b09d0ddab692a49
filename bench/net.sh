#!/usr/bin/env bash
# TCP throughput through user networking (slirp) of vireo (--accel soft, the
# default Debian guest, --net user) against QEMU TCG with
# -netdev user -device virtio-net-pci, same guest, same run:
#   tx: guest -> host, `dd if=/dev/zero | nc 10.0.2.2 PORT` into a listener
#       on the host's 127.0.0.1 (tests/linux/tcp_sink.py, timed on the host
#       from first to last byte)
#   rx: host -> guest, busybox wget of a file from a python3 http.server on
#       127.0.0.1 into /dev/null (timed on the guest clock)
#   tx via hostfwd: the host downloads a file from busybox httpd in the guest
#       through a hostfwd port on 127.0.0.1 (tests/linux/http_pull.py, host
#       clock)
# BENCH_MB MiB each way (default 16).  Loopback only; slowness never fails
# this script.
# usage: bench/net.sh [build-dir]   env: BENCH_MB, BENCH_TIMEOUT (900 s),
#        BENCH_VMMS (default "vireo qemu")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[[ $build = /* ]] || build=$root/$build
vireo=$build/src/cli/vireo
mb=${BENCH_MB:-16}
tmo=${BENCH_TIMEOUT:-900}
vmms=${BENCH_VMMS:-vireo qemu}
guest=${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo}/guest
[[ -x $vireo ]] || { echo "bench/net.sh: $vireo missing (build first: ninja -C $build)" >&2; exit 1; }
for f in "$guest/vmlinuz" "$guest/initramfs.cpio.gz"; do
	[[ -s $f ]] || { echo "bench/net.sh: $f missing (run scripts/build-guest.sh)" >&2; exit 1; }
done
help=$("$vireo" run --help 2>&1 || true)
if ! grep -q -- '--net' <<<"$help"; then
	echo "bench/net.sh: SKIP: this vireo has no --net option (virtio-net not built yet)"
	exit 0
fi
command -v python3 >/dev/null || { echo "bench/net.sh: python3 is needed on the host" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vireo-bench-net.XXXXXX")
srv_pid= sink_pid=
cleanup()
{
	[[ -z $srv_pid ]] || kill "$srv_pid" 2>/dev/null || true
	[[ -z $sink_pid ]] || kill "$sink_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir "$work/www" "$work/root"
head -c $((mb << 20)) /dev/zero >"$work/www/big.bin"
http_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$http_port" >"$work/http.log" 2>&1 &
srv_pid=$!

cat >"$work/root/autorun.sh" <<'AUTORUN'
#!/bin/sh
. /net.conf
up() { cut -d' ' -f1 /proc/uptime; }
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
t0=$(up)
dd if=/dev/zero bs=65536 count=$((MB * 16)) 2>/dev/null | timeout 600 nc 10.0.2.2 $SINK_PORT
rc=$?
t1=$(up)
echo "NET-TX $rc $t0 $t1"
t0=$(up)
timeout 600 wget -q -O /dev/null "http://10.0.2.2:$HTTP_PORT/big.bin"
rc=$?
t1=$(up)
echo "NET-RX $rc $t0 $t1"
# tx again, with the host pulling a file from busybox httpd through a
# hostfwd port: large writes instead of nc's.  Port 8081 says when the host
# is done.
mkdir -p /www
dd if=/dev/zero of=/www/big.bin bs=65536 count=$((MB * 16)) 2>/dev/null
httpd -p 8080 -h /www
echo "NET-HTTPD-READY"
timeout 600 nc -l -p 8081 </dev/null >/dev/null
busybox poweroff -f
AUTORUN
chmod 0755 "$work/root/autorun.sh"
cmdline="console=ttyS0 quiet panic=-1"

rate() { awk -v mb="$mb" '{ if ($1 != 0) print "fail"; else if ($3 > $2) printf "%.1f\n", mb * 1.048576 / ($3 - $2); else print "n/a" }'; }

# guest_run vireo|qemu: one boot with a fresh sink; sets TX (host clock),
# TXG (guest clock) and RX (guest clock) in MB/s, or "fail"
guest_run()
{
	local name=$1 rc sink_port fwd fwd2 vm_pid; shift
	sink_port=$(free_port) fwd=$(free_port) fwd2=$(free_port)
	printf 'MB=%s\nSINK_PORT=%s\nHTTP_PORT=%s\n' "$mb" "$sink_port" "$http_port" >"$work/root/net.conf"
	"$root/tests/linux/mkinitrd.sh" "$guest/initramfs.cpio.gz" "$work/root" "$work/initrd"
	python3 "$root/tests/linux/tcp_sink.py" "$sink_port" $((mb << 20)) "$tmo" >"$work/sink" 2>&1 &
	sink_pid=$!
	local cmd
	if [[ $name = vireo ]]; then
		cmd=("$vireo" run --accel soft --kernel "$guest/vmlinuz" --initrd "$work/initrd"
		     --mem 256M --cmdline "$cmdline"
		     --net "user,hostfwd=tcp:127.0.0.1:$fwd-:8080,hostfwd=tcp:127.0.0.1:$fwd2-:8081")
	else
		cmd=(qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot
		     -kernel "$guest/vmlinuz" -initrd "$work/initrd" -append "$cmdline"
		     -netdev "user,id=n,hostfwd=tcp:127.0.0.1:$fwd-:8080,hostfwd=tcp:127.0.0.1:$fwd2-:8081"
		     -device virtio-net-pci,netdev=n,romfile=)
	fi
	timeout -k 5 "$tmo" "${cmd[@]}" >"$work/out" 2>"$work/err" </dev/null &
	vm_pid=$!
	: >"$work/pull"
	while kill -0 "$vm_pid" 2>/dev/null; do
		if grep -q '^NET-HTTPD-READY' "$work/out" 2>/dev/null; then
			python3 "$root/tests/linux/http_pull.py" "$fwd" big.bin $((mb << 20)) "$fwd2" \
				>"$work/pull" 2>&1 || true
			break
		fi
		sleep 1
	done
	set +e
	wait "$vm_pid"
	rc=$?
	set -e
	kill "$sink_pid" 2>/dev/null || true
	wait "$sink_pid" 2>/dev/null || true
	sink_pid=
	tr -d '\r' <"$work/out" >"$work/out.txt"
	TX=$(awk -v want=$((mb << 20)) -F'[= ]' '/^bytes=/ { if ($2 >= want && $4 > 0) printf "%.1f\n", $2 / 1e6 / $4; else print "fail" }' "$work/sink")
	TXG=$(sed -n 's/^NET-TX //p' "$work/out.txt" | rate)
	RX=$(sed -n 's/^NET-RX //p' "$work/out.txt" | rate)
	PULL=$(awk -v want=$((mb << 20)) -F'[= ]' '/^bytes=/ { if ($2 >= want && $4 > 0) printf "%.1f\n", $2 / 1e6 / $4; else print "fail" }' "$work/pull")
	TX=${TX:-fail} TXG=${TXG:-fail} RX=${RX:-fail} PULL=${PULL:-fail}
	if [[ $rc -ne 0 || $TX = fail || $TXG = fail || $RX = fail || $PULL = fail ]]; then
		echo "  $name: FAILED (exit $rc; sink: $(cat "$work/sink")): ${cmd[*]}" >&2
		tail -n 8 "$work/out.txt" | sed 's/^/    | /' >&2
	fi
}

echo "== TCP through user networking, ${mb} MiB each way (guest 10.0.2.15 <-> host 127.0.0.1)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
VTX=n/a VTXG=n/a VRX=n/a VPULL=n/a QTX=n/a QTXG=n/a QRX=n/a QPULL=n/a
if [[ " $vmms " = *" vireo "* ]]; then
	guest_run vireo
	VTX=$TX VTXG=$TXG VRX=$RX VPULL=$PULL
fi
if [[ " $vmms " = *" qemu "* ]]; then
	if command -v qemu-system-x86_64 >/dev/null; then
		guest_run qemu
		QTX=$TX QTXG=$TXG QRX=$RX QPULL=$PULL
	else
		echo "qemu-system-x86_64 not installed: no reference"
	fi
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf "%-36s %10s %10s %11s\n" "MB/s" "vireo" "qemu" "vireo/qemu"
printf "%-36s %10s %10s %11s\n" "tx guest->host (host clock)" "$VTX" "$QTX" "$(ratio "$VTX" "$QTX")"
printf "%-36s %10s %10s %11s\n" "tx guest->host (guest clock)" "$VTXG" "$QTXG" "$(ratio "$VTXG" "$QTXG")"
printf "%-36s %10s %10s %11s\n" "rx host->guest, wget (guest clock)" "$VRX" "$QRX" "$(ratio "$VRX" "$QRX")"
printf "%-36s %10s %10s %11s\n" "tx guest httpd->host via hostfwd" "$VPULL" "$QPULL" "$(ratio "$VPULL" "$QPULL")"
