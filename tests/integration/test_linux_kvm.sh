#!/usr/bin/env bash
# Boots the default Debian guest (scripts/build-guest.sh) with an autorun
# script that prints a marker and powers off; expects the marker and exit 0.
# Under KVM this needs hardware VMX/SVM: PVM and other emulated KVMs run a
# standard Linux kernel only in KVM's instruction emulator, which cannot
# (see docs/test-guests.md).  VIREO_TEST_ACCEL=soft runs it on the software
# CPU instead.
#   test_linux_kvm.sh VIREO
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
VM_TIMEOUT=${VIREO_TEST_TIMEOUT:-100}

require_accel
require_linux_guest
kernel=$GUEST_KERNEL
initramfs=$GUEST_INITRAMFS

# The guest's /init runs /autorun.sh when present, then powers off.  Linux
# unpacks concatenated cpio archives, later files winning, and skips zero
# bytes between them; the padding keeps the appended (uncompressed) archive
# 4-byte aligned like cpio's own records, which costs nothing.
marker="vireo-it-marker-$$-$RANDOM"
mkdir "$IT_WORK/root"
cat >"$IT_WORK/root/autorun.sh" <<AUTORUN
#!/bin/sh
echo "$marker"
echo "vireo-it: cpus=\$(grep -c ^processor /proc/cpuinfo)"
AUTORUN
chmod 0755 "$IT_WORK/root/autorun.sh"
initrd=$IT_WORK/initramfs-autorun.cpio
cp "$initramfs" "$initrd"
pad=$(( (4 - $(stat -c %s "$initrd") % 4) % 4 ))
head -c "$pad" /dev/zero >>"$initrd"
(cd "$IT_WORK/root" && echo autorun.sh | cpio -o -H newc -R 0:0 --quiet) >>"$initrd"

run_vm --kernel "$kernel" --initrd "$initrd" --mem 256M --cpus 2 \
	--cmdline "console=ttyS0 panic=-1 quiet"
expect_rc 0 "guest powered off"
expect_line "$marker"
expect_line "vireo-it: cpus=2"
expect_no_match 'Kernel panic'
it_finish
