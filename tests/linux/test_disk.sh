#!/usr/bin/env bash
# linux-disk: the default Debian guest writes to virtio-blk disks and the
# host reads the data back from the image files, in one boot with four
# disks (each recognised in the guest by its size):
#   raw 32M      host data is read by the guest; the guest writes at 5 MiB
#   qcow2 24M    the guest writes at 0 and 20 MiB (sparse clusters)
#   qcow2 16M    overlay on a qcow2 backing file: the guest reads backing
#                data through it and overwrites part of one cluster (COW)
#   raw 8M       the guest makes an ext2 file system and writes files
# The host checks the qcow2 images with `vireo img check` and `qemu-img
# check`, and reads them back with `vireo img convert -O raw`.
#   test_disk.sh VIREO
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lx_init "$1"

w=$IT_WORK
img() { "$VIREO" img "$@"; }
sha() { sha256sum | cut -d' ' -f1; }
# region FILE OFFSET LEN: LEN bytes of FILE from byte OFFSET
region() { dd if="$1" bs=65536 iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none; }

head -c 65536 /dev/urandom >"$w/hostpat.bin"
head -c 102400 /dev/urandom >"$LX_ROOT/pay1.bin"
head -c 69632 /dev/urandom >"$LX_ROOT/pay2.bin"
head -c 12288 /dev/urandom >"$LX_ROOT/pay3.bin"
head -c 2097152 /dev/urandom >"$w/basepat.bin"

img create -f raw "$w/raw.img" 32M >/dev/null
dd if="$w/hostpat.bin" of="$w/raw.img" bs=65536 seek=16 conv=notrunc status=none
img create -f qcow2 "$w/q.qcow2" 24M >/dev/null
cp "$w/basepat.bin" "$w/base.raw"
truncate -s 16M "$w/base.raw"
img convert -f raw -O qcow2 "$w/base.raw" "$w/base.qcow2"
img create -f qcow2 -b "$w/base.qcow2" -F qcow2 "$w/ov.qcow2" >/dev/null
img create -f raw "$w/fs.img" 8M >/dev/null
base_sha_before=$(sha <"$w/base.qcow2")

lx_autorun <<'AUTORUN'
#!/bin/sh
echo "LX-UPTIME $(cut -d' ' -f1 /proc/uptime)"
dev_of() {
	for d in /sys/block/vd*; do
		[ "$(cat "$d/size" 2>/dev/null)" = "$1" ] && { echo "/dev/${d##*/}"; return; }
	done
	echo /dev/missing-$1
}
RAW=$(dev_of 65536); Q=$(dev_of 49152); OV=$(dev_of 32768); FS=$(dev_of 16384)
echo "LX-DEVS $RAW $Q $OV $FS"
sum() { sha256sum | cut -d' ' -f1; }

# raw: host data at 1 MiB, guest data at 5 MiB
echo "LX-RAW-HOST $(dd if=$RAW bs=65536 skip=16 count=1 iflag=direct 2>/dev/null | sum)"
dd if=/pay1.bin of=$RAW bs=4096 seek=1280 conv=fsync 2>/dev/null; echo "LX-RC raw-write $?"
echo "LX-RAW-BACK $(dd if=$RAW bs=4096 skip=1280 count=25 iflag=direct 2>/dev/null | sum)"

# qcow2: two writes far apart
dd if=/pay2.bin of=$Q bs=4096 conv=fsync 2>/dev/null; echo "LX-RC q-write0 $?"
dd if=/pay2.bin of=$Q bs=4096 seek=5120 conv=fsync 2>/dev/null; echo "LX-RC q-write20 $?"
echo "LX-Q-BACK $(dd if=$Q bs=4096 skip=5120 count=17 iflag=direct 2>/dev/null | sum)"
echo "LX-Q-HOLE $(dd if=$Q bs=65536 skip=64 count=1 iflag=direct 2>/dev/null | sum)"

# overlay: backing data visible, then a write into the middle of a cluster
echo "LX-OV-BASE $(dd if=$OV bs=65536 count=32 iflag=direct 2>/dev/null | sum)"
dd if=/pay3.bin of=$OV bs=512 seek=2049 conv=fsync 2>/dev/null; echo "LX-RC ov-write $?"
echo "LX-OV-CLUSTER $(dd if=$OV bs=65536 skip=16 count=1 iflag=direct 2>/dev/null | sum)"

# ext2 file system
mke2fs -q $FS >/tmp/mke2fs.log 2>&1; echo "LX-RC mke2fs $?"
mkdir -p /mnt/fs
mount -t ext2 $FS /mnt/fs 2>/tmp/mount.log || mount -t ext4 $FS /mnt/fs 2>>/tmp/mount.log
echo "LX-RC mount $?"
echo "hello from the vireo guest" >/mnt/fs/hello.txt
cp /pay1.bin /mnt/fs/pay1.bin; echo "LX-RC cp $?"
umount /mnt/fs; echo "LX-RC umount $?"
cat /tmp/mke2fs.log /tmp/mount.log
sync
echo "LX-UPTIME-END $(cut -d' ' -f1 /proc/uptime)"
echo "LX-DISK-DONE"
AUTORUN
lx_initrd
lx_run --disk "$w/raw.img,format=raw" --disk "$w/q.qcow2,format=qcow2" \
	--disk "$w/ov.qcow2,format=qcow2" --disk "$w/fs.img,format=raw"

expect_rc 0 "guest powered off"
expect_match '^LX-DEVS /dev/vd[a-z] /dev/vd[a-z] /dev/vd[a-z] /dev/vd[a-z]$'
for c in raw-write q-write0 q-write20 ov-write mke2fs mount cp umount; do
	expect_field "LX-RC $c" 0
done
expect_line LX-DISK-DONE

# raw
expect_field LX-RAW-HOST "$(sha <"$w/hostpat.bin")"
pay1=$(sha <"$LX_ROOT/pay1.bin")
expect_field LX-RAW-BACK "$pay1"
got=$(region "$w/raw.img" $((5 << 20)) 102400 | sha)
[ "$got" = "$pay1" ] || it_report "raw.img at 5 MiB does not hold the guest's data"
[ "$(stat -c %s "$w/raw.img")" -eq $((32 << 20)) ] || it_report "raw.img changed size"

# qcow2
check_qcow2() { # FILE
	local out rc
	set +e
	out=$(img check "$1" 2>&1); rc=$?
	set -e
	[ "$rc" -eq 0 ] || it_report "vireo img check $(basename "$1") exited $rc: $out"
	if command -v qemu-img >/dev/null; then
		set +e
		out=$(qemu-img check "$1" 2>&1); rc=$?
		set -e
		[ "$rc" -eq 0 ] || it_report "qemu-img check $(basename "$1") exited $rc: $out"
	else
		echo "note: qemu-img not installed, qemu-img check left out"
	fi
}
pay2=$(sha <"$LX_ROOT/pay2.bin")
expect_field LX-Q-BACK "$pay2"
expect_field LX-Q-HOLE "$(head -c 65536 /dev/zero | sha)"
check_qcow2 "$w/q.qcow2"
img convert -f qcow2 -O raw "$w/q.qcow2" "$w/q.raw"
[ "$(region "$w/q.raw" 0 69632 | sha)" = "$pay2" ] ||
	it_report "q.qcow2 (via vireo img convert) at 0 does not hold the guest's data"
[ "$(region "$w/q.raw" $((20 << 20)) 69632 | sha)" = "$pay2" ] ||
	it_report "q.qcow2 (via vireo img convert) at 20 MiB does not hold the guest's data"
[ "$(stat -c %s "$w/q.raw")" -eq $((24 << 20)) ] || it_report "q.qcow2 converts to $(stat -c %s "$w/q.raw") bytes, not 24 MiB"
if command -v qemu-img >/dev/null; then
	qemu-img convert -f qcow2 -O raw "$w/q.qcow2" "$w/q-qemu.raw"
	cmp -s "$w/q.raw" "$w/q-qemu.raw" || it_report "vireo and qemu-img read q.qcow2 differently"
fi

# overlay: expected image = backing with pay3 at 1 MiB + 512
cp "$w/base.raw" "$w/ov-expect.raw"
dd if="$LX_ROOT/pay3.bin" of="$w/ov-expect.raw" bs=512 seek=2049 conv=notrunc status=none
expect_field LX-OV-BASE "$(sha <"$w/basepat.bin")"
expect_field LX-OV-CLUSTER "$(region "$w/ov-expect.raw" $((1 << 20)) 65536 | sha)"
check_qcow2 "$w/ov.qcow2"
img convert -f qcow2 -O raw "$w/ov.qcow2" "$w/ov.raw"
cmp -s "$w/ov.raw" "$w/ov-expect.raw" ||
	it_report "ov.qcow2 (via vireo img convert) differs from backing + guest write: $(cmp "$w/ov.raw" "$w/ov-expect.raw" 2>&1 | head -n 1)"
if command -v qemu-img >/dev/null; then
	qemu-img convert -O raw "$w/ov.qcow2" "$w/ov-qemu.raw"
	cmp -s "$w/ov-qemu.raw" "$w/ov-expect.raw" || it_report "qemu-img reads ov.qcow2 differently from backing + guest write"
fi
[ "$(sha <"$w/base.qcow2")" = "$base_sha_before" ] || it_report "the backing file base.qcow2 was modified"

# ext2
if command -v debugfs >/dev/null && command -v e2fsck >/dev/null; then
	set +e
	out=$(e2fsck -fn "$w/fs.img" 2>&1); rc=$?
	set -e
	[ "$rc" -eq 0 ] || it_report "e2fsck -fn fs.img exited $rc: $(tail -n 3 <<<"$out")"
	got=$(debugfs -R 'cat /hello.txt' "$w/fs.img" 2>/dev/null || true)
	[ "$got" = "hello from the vireo guest" ] || it_report "fs.img:/hello.txt is '$got'"
	got=$(debugfs -R 'cat /pay1.bin' "$w/fs.img" 2>/dev/null | sha)
	[ "$got" = "$pay1" ] || it_report "fs.img:/pay1.bin differs from what the guest copied"
else
	echo "note: e2fsprogs (debugfs, e2fsck) not installed: ext2 contents not checked on the host"
fi

expect_no_match 'Kernel panic|BUG:|Oops|I/O error|blk_update_request|EXT[24]-fs error'
echo "guest time for the autorun: $(lx_field LX-UPTIME) s -> $(lx_field LX-UPTIME-END) s"
it_finish
