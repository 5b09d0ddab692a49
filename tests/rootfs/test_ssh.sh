#!/usr/bin/env bash
# rootfs-ssh: the Debian disk guest's sshd is reachable through --net user's
# hostfwd on 127.0.0.1 with the key from the guest cache: `uname -a` runs
# over ssh, then `poweroff` over ssh stops the VM (exit status 0) well before
# the autorun's own bounded wait ends. Loopback only; every wait is bounded.
#   test_ssh.sh VIREO
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rf_init "$1"
command -v ssh >/dev/null || it_skip "ssh (openssh-client) is not installed"
command -v python3 >/dev/null || it_skip "python3 is needed to pick a free port"
[ -s "$RF_KEY" ] || it_skip "no guest ssh key at $RF_KEY"

w=$IT_WORK
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
# ssh refuses a private key that others can read.
cp "$RF_KEY" "$w/key"
chmod 0600 "$w/key"
ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o LogLevel=ERROR -o ConnectTimeout=120 -o ServerAliveInterval=30
	-i "$w/key" -p "$port" root@127.0.0.1)

# The guest stays up (bounded) until poweroff arrives over ssh.
lx_autorun <<'AUTORUN'
#!/bin/sh
echo "RF-UPTIME $(cut -d' ' -f1 /proc/uptime)"
echo "RF-ADDR $(ip -4 -o addr show dev eth0 | awk '{ print $4; exit }')"
echo "RF-SSHD $(pidof sshd >/dev/null && echo running || echo absent)"
echo "RF-READY"
sleep 400
echo "RF-TIMED-OUT"
AUTORUN
lx_initrd

VM_DESC="vireo run --accel $IT_ACCEL --disk overlay.qcow2 --rng --net user,hostfwd=tcp::$port-:22 ..."
t0=$(lx_now)
timeout -k 5 "$VM_TIMEOUT" "$VIREO" run --accel "$IT_ACCEL" --kernel "$LX_KERNEL" \
	--initrd "$LX_INITRD" --mem 256M --cmdline "$LX_CMDLINE" \
	--disk "$RF_OVERLAY,format=qcow2" --rng --net "user,hostfwd=tcp::$port-:22" \
	>"$w/out.raw" 2>"$w/err" </dev/null &
vm_pid=$!
trap 'kill "$vm_pid" 2>/dev/null; rm -rf "$IT_WORK"' EXIT

uname_rc=- uname_out='' off_rc=- off_out=''
while kill -0 "$vm_pid" 2>/dev/null; do
	if grep -q '^RF-READY' "$w/out.raw" 2>/dev/null; then
		echo "guest ready after $(lx_elapsed "$t0") s; ssh to 127.0.0.1:$port"
		t1=$(lx_now)
		set +e
		uname_out=$(timeout 240 ssh "${ssh_opts[@]}" uname -a 2>"$w/ssh1.err"); uname_rc=$?
		set -e
		echo "ssh uname -a: exit $uname_rc after $(lx_elapsed "$t1") s: $uname_out"
		t1=$(lx_now)
		set +e
		# Power off a moment later, so this session ends cleanly first.
		off_out=$(timeout 240 ssh "${ssh_opts[@]}" \
			'(sleep 2; poweroff) </dev/null >/dev/null 2>&1 & echo RF-BYE' 2>"$w/ssh2.err"); off_rc=$?
		set -e
		echo "ssh poweroff: exit $off_rc after $(lx_elapsed "$t1") s: $off_out"
		break
	fi
	sleep 1
done
set +e
wait "$vm_pid"
VM_RC=$?
set -e
trap 'rm -rf "$IT_WORK"' EXIT
LX_WALL=$(lx_elapsed "$t0")
tr -d '\r' <"$w/out.raw" >"$w/out"
VM_OUT=$w/out
VM_ERR=$w/err
IT_DUMPED=0
echo "ran: $VM_DESC -> exit $VM_RC"
echo "wall time: ${LX_WALL} s (timeout ${VM_TIMEOUT} s)"

expect_rc 0 "guest powered off over ssh"
expect_line RF-READY
expect_field RF-ADDR 10.0.2.15/24
expect_field RF-SSHD running
[ "$uname_rc" = 0 ] || it_report "ssh uname -a exited $uname_rc: $(cat "$w/ssh1.err" 2>/dev/null)"
[[ "$uname_out" == Linux\ vireo\ * ]] || it_report "ssh uname -a printed '$uname_out'"
[ "$off_rc" = 0 ] || it_report "ssh poweroff exited $off_rc: $(cat "$w/ssh2.err" 2>/dev/null)"
[ "$off_out" = RF-BYE ] || it_report "ssh poweroff printed '$off_out'"
expect_match '^vireo-init: poweroff$'
expect_no_match 'RF-TIMED-OUT|Kernel panic|BUG:|Oops|EXT4-fs error'
rf_check_base
it_finish
