#!/usr/bin/env bash
# The virtio-pci transport driven by a test guest (no Linux needed): a
# virtio-blk round trip on a raw and a qcow2 image, checked from the host
# afterwards, virtio-rng, and a virtio-net round trip (ARP through the user
# backend, answered by slirp's gateway).
#   test_virtio.sh VIREO VIRTIO_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

sig() { printf 'VIREO-DISK-SIGNATURE' | dd of="$1" conv=notrunc status=none; }
written() { dd if="$1" bs=512 skip=2 count=1 status=none | head -c 16 | tr -d '\0'; }

raw=$IT_WORK/disk.raw
truncate -s 1M "$raw"; sig "$raw"
run_vm --kernel "$guest" --disk "$raw" --rng --net user --cmdline "blk=1 rng=1 net=1"
expect_guest_pass
expect_line "blk: write/flush/read round trip OK, id 'disk.raw'"
expect_match '^net: ARP reply: 10\.0\.2\.2 is at 52:55:0a:00:02:02$'
expect_line "virtio: 1 blk, 1 rng, 1 net"
if [ "$(written "$raw")" = "WRITTEN-BY-GUEST" ]; then
	echo "ok: the guest's write reached the raw image"
else
	it_report "sector 2 of the raw image does not hold the guest's data"
fi

# qcow2: the same through the qcow2 driver; the result must convert back
# to a raw image carrying both the signature and the guest's write.
qcow=$IT_WORK/disk.qcow2
"$VIREO" img convert -O qcow2 "$raw" "$qcow" >/dev/null
truncate -s 0 "$raw"; truncate -s 1M "$raw"; sig "$raw"
"$VIREO" img convert -O qcow2 "$raw" "$qcow" >/dev/null
run_vm --kernel "$guest" --disk "$qcow,format=qcow2" --cmdline "blk=1 rng=0"
expect_guest_pass
"$VIREO" img convert -O raw "$qcow" "$IT_WORK/back.raw" >/dev/null
if [ "$(written "$IT_WORK/back.raw")" = "WRITTEN-BY-GUEST" ] &&
   "$VIREO" img check "$qcow" >/dev/null; then
	echo "ok: the guest's write reached the qcow2 image, which checks clean"
else
	it_report "qcow2 image lacks the guest's write or does not check clean"
fi

# Two disks and a read-only one: the read-only disk must refuse the write.
cp "$raw" "$IT_WORK/ro.raw"
run_vm --kernel "$guest" --disk "$IT_WORK/ro.raw,readonly=on" --cmdline "blk=1 rng=0"
expect_rc 35 "guest FAIL: a read-only disk refuses writes"
expect_match '^FAIL: blk: write sector 2: status 1'
if [ "$(written "$IT_WORK/ro.raw")" = "WRITTEN-BY-GUEST" ]; then
	it_report "the read-only image was modified"
fi
it_finish
