#!/usr/bin/env bash
# rootfs-boot: the Debian disk guest boots with root on virtio-blk (a qcow2
# overlay on the cached image): the initramfs switches to /dev/vda, the
# disk's /sbin/vireo-init runs the test's script, which checks the system
# and writes a file; after power-off the host finds the file in the overlay
# (vireo img convert -O raw, then debugfs) and a clean file system.
#   test_boot.sh VIREO
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rf_init "$1"
command -v debugfs >/dev/null || it_skip "debugfs (e2fsprogs) is needed to read the image back"

w=$IT_WORK
token="vireo-rootfs-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"

lx_autorun <<AUTORUN
#!/bin/sh
echo "RF-UPTIME \$(cut -d' ' -f1 /proc/uptime)"
echo "RF-DEBIAN \$(cat /etc/debian_version)"
echo "RF-ROOT \$(awk '\$2 == "/" { r = \$1 " " \$3 } END { print r }' /proc/mounts)"
echo "RF-MOUNT \$(mount | grep ' on / ')"
echo "RF-PID1 \$(tr '\\0' ' ' </proc/1/cmdline)"
echo "RF-SSHD \$(pidof sshd >/dev/null && echo running || echo absent)"
echo "$token" >/root/vireo-test.txt; echo "RF-RC write \$?"
sync; echo "RF-RC sync \$?"
echo "RF-FILE \$(cat /root/vireo-test.txt)"
echo "RF-UPTIME-END \$(cut -d' ' -f1 /proc/uptime)"
echo "RF-BOOT-DONE"
AUTORUN
lx_initrd
lx_run --disk "$RF_OVERLAY,format=qcow2" --rng

expect_rc 0 "guest powered off"
expect_match '^vireo disk guest: Debian'
expect_match '^RF-DEBIAN 12\.[0-9]+$'
expect_field RF-ROOT "/dev/vda ext4"
expect_match '^RF-MOUNT /dev/vda on / type ext4 \(rw'
expect_match '^RF-PID1 .*/sbin/vireo-init'
expect_field RF-SSHD running
expect_field "RF-RC write" 0
expect_field "RF-RC sync" 0
expect_field RF-FILE "$token"
expect_line RF-BOOT-DONE
expect_match '^vireo-init: poweroff$'
expect_no_match 'Kernel panic|BUG:|Oops|I/O error|EXT4-fs error|staying in the initramfs'

"$VIREO" img check "$RF_OVERLAY" >/dev/null 2>&1 || it_report "vireo img check $RF_OVERLAY failed"
"$VIREO" img convert -f qcow2 -O raw "$RF_OVERLAY" "$w/disk.raw" ||
	it_report "vireo img convert of the overlay failed"
got=$(debugfs -R 'cat /root/vireo-test.txt' "$w/disk.raw" 2>/dev/null || true)
[ "$got" = "$token" ] || it_report "the image's /root/vireo-test.txt is '$got', expected '$token'"
# vireo-init remounts / read-only before power-off: no journal to replay.
if command -v e2fsck >/dev/null; then
	set +e
	out=$(e2fsck -fn "$w/disk.raw" 2>&1); rc=$?
	set -e
	[ "$rc" -eq 0 ] || it_report "e2fsck -fn on the overlay's file system exited $rc: $(tail -n 3 <<<"$out")"
fi
rm -f "$w/disk.raw"
rf_check_base
echo "guest time: autorun started at $(lx_field RF-UPTIME) s, ended at $(lx_field RF-UPTIME-END) s"
it_finish
