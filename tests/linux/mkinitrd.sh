#!/usr/bin/env bash
# mkinitrd.sh BASE ROOTDIR OUT: OUT = the initramfs BASE followed by a newc
# archive of the files under ROOTDIR (e.g. ROOTDIR/autorun.sh), which Linux
# unpacks over BASE.  The appended archive must start 4-byte aligned.
# Used by the benchmarks in bench/; tests/linux/lib.sh does the same.
set -euo pipefail
base=${1:?usage: mkinitrd.sh BASE ROOTDIR OUT} root=${2:?} out=${3:?}
cp "$base" "$out"
pad=$(( (4 - $(stat -c %s "$out") % 4) % 4 ))
head -c "$pad" /dev/zero >>"$out"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >>"$out"
