#!/usr/bin/env bash
# linux-net: the default Debian guest on user networking (--net user):
#   - DHCP from slirp (udhcpc; static 10.0.2.15/24 if that fails),
#   - wget of a file from a python3 http.server on the host's 127.0.0.1
#     (slirp maps the gateway 10.0.2.2 to the host's loopback),
#   - hostfwd: the guest listens with nc on port 8080 and the host talks to
#     it through 127.0.0.1:HOSTPORT, in both directions.
# Everything stays on loopback; every wait is bounded.
#   test_net.sh VIREO
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lx_init "$1"
here=$(cd "$(dirname "$0")" && pwd)

help=$("$VIREO" run --help 2>&1 || true)
grep -q -- '--net' <<<"$help" ||
	it_skip "this vireo has no --net option (virtio-net not built yet)"
command -v python3 >/dev/null || it_skip "python3 is needed for the host side"

w=$IT_WORK
srv_pid= vm_pid=
cleanup()
{
	[ -z "$srv_pid" ] || kill "$srv_pid" 2>/dev/null || true
	[ -z "$vm_pid" ] || kill "$vm_pid" 2>/dev/null || true
	rm -rf "$w"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir "$w/www"
head -c 1048576 /dev/urandom >"$w/www/file.bin"
want_sha=$(sha256sum <"$w/www/file.bin" | cut -d' ' -f1)
http_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$w/www" "$http_port" \
	>"$w/http.log" 2>&1 &
srv_pid=$!
for _ in $(seq 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $http_port), 1)" 2>/dev/null && break
	sleep 0.2
done
fwd_port=$(free_port)
marker="vireo-net-marker-$$-$RANDOM"
hello="host-hello-$RANDOM"

cat >"$LX_ROOT/net.conf" <<CONF
HTTP_PORT=$http_port
MARKER=$marker
CONF
cat >"$LX_ROOT/udhcpc.sh" <<'SCRIPT'
#!/bin/sh
case "$1" in
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -z "$router" ] || ip route add default via "${router%% *}" dev "$interface"
	echo "LX-DHCP $ip ${router%% *}"
	;;
esac
exit 0
SCRIPT
chmod 0755 "$LX_ROOT/udhcpc.sh"

lx_autorun <<'AUTORUN'
#!/bin/sh
. /net.conf
echo "LX-UPTIME $(cut -d' ' -f1 /proc/uptime)"
echo "LX-IFACE $(ls /sys/class/net | grep -v '^lo$' | head -n 1)"
ip link set eth0 up; echo "LX-RC linkup $?"
udhcpc -i eth0 -s /udhcpc.sh -n -q -t 5 -T 2 >/tmp/dhcp.log 2>&1
echo "LX-RC udhcpc $?"
if ! ip -4 addr show eth0 | grep -q 'inet '; then
	ip addr add 10.0.2.15/24 dev eth0
	ip route add default via 10.0.2.2
	echo "LX-STATIC"
fi
echo "LX-ADDR $(ip -4 addr show eth0 | awk '/inet / { print $2 }')"
t0=$(cut -d' ' -f1 /proc/uptime)
timeout 300 wget -q -O /tmp/got "http://10.0.2.2:$HTTP_PORT/file.bin"; echo "LX-RC wget $?"
echo "LX-WGET-TIME $t0 $(cut -d' ' -f1 /proc/uptime)"
echo "LX-WGET-SHA $(sha256sum </tmp/got | cut -d' ' -f1)"
echo "$MARKER" >/tmp/nc.out
echo "LX-NC-READY"
timeout 300 nc -l -p 8080 </tmp/nc.out >/tmp/nc.in; echo "LX-RC nc $?"
echo "LX-NC-IN $(head -n 1 /tmp/nc.in)"
cat /tmp/dhcp.log
echo "LX-UPTIME-END $(cut -d' ' -f1 /proc/uptime)"
echo "LX-NET-DONE"
AUTORUN
lx_initrd

# The VM runs in the background: the host side of hostfwd needs the guest
# to be listening first.
VM_DESC="vireo run --accel $IT_ACCEL --net user,hostfwd=tcp::$fwd_port-:8080 ..."
t0=$(lx_now)
timeout -k 5 "$VM_TIMEOUT" "$VIREO" run --accel "$IT_ACCEL" --kernel "$LX_KERNEL" \
	--initrd "$LX_INITRD" --mem 256M --cmdline "$LX_CMDLINE" \
	--net "user,hostfwd=tcp::$fwd_port-:8080" \
	>"$w/out.raw" 2>"$w/err" </dev/null &
vm_pid=$!
fwd_got=
while kill -0 "$vm_pid" 2>/dev/null; do
	if grep -q '^LX-NC-READY' "$w/out.raw" 2>/dev/null; then
		echo "guest listening after $(lx_elapsed "$t0") s; connecting to 127.0.0.1:$fwd_port"
		fwd_got=$(python3 "$here/tcp_client.py" "$fwd_port" "$marker" "$hello" 60 || true)
		break
	fi
	sleep 1
done
set +e
wait "$vm_pid"
VM_RC=$?
set -e
vm_pid=
LX_WALL=$(lx_elapsed "$t0")
tr -d '\r' <"$w/out.raw" >"$w/out"
VM_OUT=$w/out VM_ERR=$w/err IT_DUMPED=0
echo "ran: $VM_DESC -> exit $VM_RC"
echo "wall time: ${LX_WALL} s (timeout ${VM_TIMEOUT} s)"

expect_rc 0 "guest powered off"
expect_field LX-IFACE eth0
expect_field "LX-RC linkup" 0
expect_match '^LX-ADDR 10\.0\.2\.[0-9]+/24$'
expect_field "LX-RC wget" 0
expect_field LX-WGET-SHA "$want_sha"
expect_field "LX-RC nc" 0
expect_field LX-NC-IN "$hello"
[ "$(head -n 1 <<<"$fwd_got")" = "$marker" ] ||
	it_report "hostfwd 127.0.0.1:$fwd_port -> guest:8080: expected '$marker', read '${fwd_got:-<nothing>}'"
expect_line LX-NET-DONE
if grep -q '^LX-STATIC' "$VM_OUT"; then
	it_report "DHCP from slirp failed (udhcpc: $(lx_field "LX-RC udhcpc")); the rest ran on a static address"
fi
expect_no_match 'Kernel panic|BUG:|Oops|NETDEV WATCHDOG'
tm=$(lx_field LX-WGET-TIME)
[ -z "$tm" ] || awk -v a="${tm% *}" -v b="${tm#* }" 'BEGIN { if (b > a) printf "wget of 1 MiB: %.2f s guest time (%.2f MB/s)\n", b - a, 1.048576 / (b - a) }'
echo "guest time for the autorun: $(lx_field LX-UPTIME) s -> $(lx_field LX-UPTIME-END) s"
it_finish
