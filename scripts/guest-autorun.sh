#!/usr/bin/env bash
# Makes a test initramfs: the default guest's initramfs with a second cpio
# archive appended that holds /autorun.sh (Linux unpacks concatenated
# archives, later files winning). The guest's /init runs /autorun.sh with sh
# and then powers off, so a test only has to boot it and read the console.
#
#   scripts/guest-autorun.sh SCRIPT OUT [BASE_INITRAMFS]
#
# SCRIPT is a file, or '-' for stdin. BASE_INITRAMFS defaults to the cached
# default guest (scripts/build-guest.sh builds it).
set -euo pipefail

die() { echo "guest-autorun: $*" >&2; exit 1; }

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: $0 SCRIPT OUT [BASE_INITRAMFS]"
script=$1
out=$2
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
base=${3:-$("$repo/scripts/build-guest.sh" --print-dir)/initramfs.cpio.gz}
[ -s "$base" ] || die "no base initramfs at $base (run scripts/build-guest.sh)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$script" = - ]; then
	cat > "$work/autorun.sh"
else
	[ -r "$script" ] || die "cannot read $script"
	cp "$script" "$work/autorun.sh"
fi
chmod 0755 "$work/autorun.sh"

cp "$base" "$work/out"
# The kernel looks for an uncompressed archive only at 4-byte aligned offsets
# and skips zero bytes between archives, so pad the base to a multiple of 4.
pad=$(( (4 - $(stat -c %s "$work/out") % 4) % 4 ))
head -c "$pad" /dev/zero >> "$work/out"
# Uncompressed newc after the gzip member: the kernel accepts that mix.
(cd "$work" && echo autorun.sh | cpio -o -H newc -R 0:0 --quiet) >> "$work/out"
mv -f "$work/out" "$out"
