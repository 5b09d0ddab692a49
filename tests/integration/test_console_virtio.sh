#!/usr/bin/env bash
# --console virtio: the default Debian guest writes to hvc0 and reads a line
# typed on vireo's stdin from it; both must go through virtio-console (stdout
# and stdin), while the UART's output (the early console) goes to stderr.
#   test_console_virtio.sh VIREO
# Software CPU by default (KVM here cannot boot Linux).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
VM_TIMEOUT=${VIREO_TEST_TIMEOUT:-400}

require_accel
require_linux_guest
kernel=$GUEST_KERNEL
initramfs=$GUEST_INITRAMFS

token="vireo-hvc-$$-$RANDOM"
mkdir "$IT_WORK/root"
cat >"$IT_WORK/root/autorun.sh" <<AUTORUN
#!/bin/sh
echo "SERIAL-$token"
echo "HVC-OUT-$token" >/dev/hvc0
line=\$(timeout 120 head -n 1 </dev/hvc0)
echo "HVC-GOT: \$line" >/dev/hvc0
AUTORUN
chmod 0755 "$IT_WORK/root/autorun.sh"
initrd=$IT_WORK/initramfs-autorun.cpio
cp "$initramfs" "$initrd"
pad=$(( (4 - $(stat -c %s "$initrd") % 4) % 4 ))
head -c "$pad" /dev/zero >>"$initrd"
(cd "$IT_WORK/root" && echo autorun.sh | cpio -o -H newc -R 0:0 --quiet) >>"$initrd"

# Like run_vm, but stdin is a slow typist: one line every 3 s, so some
# arrive after the guest has opened hvc0.
VM_DESC="vireo run --accel $IT_ACCEL --console virtio ..."
set +e
for i in $(seq 1 $(( VM_TIMEOUT / 3 ))); do echo "ping-$i"; sleep 3; done 2>/dev/null |
	timeout -k 5 "$VM_TIMEOUT" "$VIREO" run --accel "$IT_ACCEL" --kernel "$kernel" \
		--initrd "$initrd" --mem 256M --console virtio \
		--cmdline "console=ttyS0 console=hvc0 panic=-1 quiet" \
		>"$IT_WORK/out.raw" 2>"$IT_WORK/err"
VM_RC=${PIPESTATUS[1]}
set -e
tr -d '\r' <"$IT_WORK/out.raw" >"$IT_WORK/out"
VM_OUT=$IT_WORK/out
VM_ERR=$IT_WORK/err
echo "ran: $VM_DESC -> exit $VM_RC"

expect_rc 0 "guest powered off"
expect_line "HVC-OUT-$token"
expect_match '^HVC-GOT: ping-[0-9]+$'
grep -q "SERIAL-$token" "$VM_ERR" || it_report "the UART's output did not go to stderr"
if grep -q "SERIAL-$token" "$VM_OUT"; then
	it_report "the UART's output went to stdout"
fi
it_finish
