#!/usr/bin/env bash
# End to end through virtio-net and the user (libslirp) backend: the default
# Debian guest gets 10.0.2.15 by DHCP, fetches a file over HTTP from a
# server on the host's 127.0.0.1 (reached as 10.0.2.2), and serves one HTTP
# reply that a host client fetches through hostfwd.  Loopback only.
#   test_net_linux.sh VIREO
# Runs on the software CPU by default (KVM here cannot boot Linux, see
# test_linux_kvm.sh).  Interrupts are MSI-X, as under KVM.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
VM_TIMEOUT=${VIREO_TEST_TIMEOUT:-400}

require_accel
require_linux_guest
kernel=$GUEST_KERNEL
initramfs=$GUEST_INITRAMFS
for tool in python3 curl; do
	command -v "$tool" >/dev/null || it_skip "$tool is not installed"
done

free_port()
{
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
http_port=$(free_port)
fwd_port=$(free_port)
token="vireo-net-$$-$RANDOM"

mkdir "$IT_WORK/www" "$IT_WORK/root"
echo "$token" >"$IT_WORK/www/hello.txt"
python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$IT_WORK/www" \
	>"$IT_WORK/http.log" 2>&1 &
http_pid=$!
client_pid=
trap 'kill $http_pid $client_pid 2>/dev/null || true; rm -rf "$IT_WORK"' EXIT

cat >"$IT_WORK/root/autorun.sh" <<AUTORUN
#!/bin/sh
ip link set eth0 up
udhcpc -i eth0 -n -q -f -t 5 -s /bin/true 2>&1 | grep 'lease of'
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
echo "NET-HTTP: \$(printf 'GET /hello.txt HTTP/1.0\r\n\r\n' | timeout 60 nc 10.0.2.2 $http_port | tail -n 1)"
printf 'HTTP/1.0 200 OK\r\n\r\nfrom-guest-$token\r\n' | timeout 120 nc -l -p 80 >/dev/null
echo NET-SERVED
AUTORUN
chmod 0755 "$IT_WORK/root/autorun.sh"
initrd=$IT_WORK/initramfs-autorun.cpio
cp "$initramfs" "$initrd"
pad=$(( (4 - $(stat -c %s "$initrd") % 4) % 4 ))
head -c "$pad" /dev/zero >>"$initrd"
(cd "$IT_WORK/root" && echo autorun.sh | cpio -o -H newc -R 0:0 --quiet) >>"$initrd"

# The host client keeps trying until the guest's listener answers; the
# software CPU is slow, so one attempt may wait long for the reply.
(
	for _ in $(seq 1 $(( VM_TIMEOUT / 2 ))); do
		if curl -s -m 60 "http://127.0.0.1:$fwd_port/" >"$IT_WORK/client.out" 2>/dev/null &&
		   grep -q "from-guest-$token" "$IT_WORK/client.out"; then
			exit 0
		fi
		sleep 2
	done
) &
client_pid=$!

run_vm --kernel "$kernel" --initrd "$initrd" --mem 256M \
	--cmdline "console=ttyS0 panic=-1 quiet" \
	--net "user,hostfwd=tcp:127.0.0.1:$fwd_port-:80"
expect_rc 0 "guest powered off"
expect_match 'lease of 10\.0\.2\.15 obtained from 10\.0\.2\.2'
expect_line "NET-HTTP: $token"
expect_line "NET-SERVED"
grep -q "from-guest-$token" "$IT_WORK/client.out" 2>/dev/null ||
	it_report "the host client did not get the guest's reply through hostfwd"
expect_no_match 'Kernel panic'
it_finish
