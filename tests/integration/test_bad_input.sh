#!/usr/bin/env bash
# The error contract of `vireo run`: for each bad input, exit status 1,
# exactly one line on stderr naming the offending file or flag, and no
# crash (no signal, no sanitizer report).  Every case has exactly one thing
# wrong; the rest of the command line is valid, so a vireo that accepted
# the bad input would boot the hello guest and exit 33, and fail here.
# Needs no KVM: configuration errors must be reported before any backend
# work, and --accel is left at auto.
#   test_bad_input.sh VIREO HELLO_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
good=$2
require_file "$good" "guest"
W=$IT_WORK

CASES=0
# bad_case NAME NEEDLE ARGS...: run `vireo run ARGS...`; NEEDLE (fixed
# string, case-insensitive) must appear on the single stderr line.
bad_case()
{
	local name=$1 needle=$2 lines
	shift 2
	CASES=$((CASES + 1))
	VM_DESC="vireo run $*"
	set +e
	timeout -k 5 30 "$VIREO" run "$@" >"$W/out" 2>"$W/err" </dev/null
	VM_RC=$?
	set -e
	VM_OUT=$W/out
	VM_ERR=$W/err
	IT_DUMPED=0
	lines=$(awk 'END { print NR }' "$W/err")
	echo "case '$name': exit $VM_RC, $lines stderr line(s): $(head -c 200 "$W/err" | head -n 1)"
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|Segmentation fault|core dumped|Aborted' "$W/err"; then
		it_report "case '$name': crash or sanitizer report"
	elif [ "$VM_RC" -ge 124 ]; then
		it_report "case '$name': killed (signal or timeout), exit $VM_RC"
	elif [ "$VM_RC" -ne 1 ]; then
		it_report "case '$name': expected exit status 1, got $VM_RC"
	elif [ "$lines" -ne 1 ]; then
		it_report "case '$name': expected exactly one line on stderr, got $lines"
	elif ! grep -qiF -- "$needle" "$W/err"; then
		it_report "case '$name': the stderr line does not name '$needle'"
	fi
}

# Inputs.  Paths contain a distinctive name so the needle check is real.
empty=$W/empty-kernel.img
: >"$empty"
garbage=$W/garbage-kernel.img
head -c 65536 /dev/urandom >"$garbage"
printf 'XX' | dd of="$garbage" conv=notrunc status=none   # never \x7fELF / MZ
# A truncated bzImage: the first 1000 bytes of a real one when there is one,
# and always a synthetic one whose header claims 8 setup sectors and a
# 1 MiB payload (boot protocol 2.15 header: 0xAA55 at 0x1FE, "HdrS" at
# 0x202, version at 0x206, setup_sects at 0x1F1, syssize at 0x1F4).
fake_bz=$W/fake-bzimage-truncated.img
head -c 1000 /dev/zero >"$fake_bz"
put() { printf "$2" | dd of="$fake_bz" bs=1 seek=$(($1)) conv=notrunc status=none; }
put 0x1F1 '\x08'
put 0x1F4 '\x00\x00\x01\x00'
put 0x1FE '\x55\xaa'
put 0x200 '\xeb\x66'
put 0x202 'HdrS'
put 0x206 '\x0f\x02'
put 0x211 '\x01'
real_bz=
cache=${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo}
for k in "$cache/guest/vmlinuz" /boot/vmlinuz-*; do
	if [ -s "$k" ] && [ -r "$k" ]; then
		real_bz=$W/real-bzimage-truncated.img
		head -c 1000 "$k" >"$real_bz"
		break
	fi
done
# Hostile ELF64 files, made from the good guest by patching one field.
# The ELF64 header has e_phoff at 32; a program header has p_paddr at +24
# and p_memsz at +40.
patch64() { # FILE OFFSET VALUE
	printf "$(printf '%016x' "$3" | sed 's/\(..\)/\1 /g' |
		awk '{ for (i = NF; i > 0; i--) printf "\\x%s", $i }')" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
phoff=$(od -An -t u8 -j 32 -N 8 "$good" | tr -d ' ')
elf_trunc=$W/truncated-elf.img
head -c 2000 "$good" >"$elf_trunc"
elf_far=$W/far-segment-elf.img
cp "$good" "$elf_far"
patch64 "$elf_far" $((phoff + 24)) 0x7fffffff0000
elf_wrap=$W/wrapping-segment-elf.img
cp "$good" "$elf_wrap"
patch64 "$elf_wrap" $((phoff + 40)) 0xffffffffffffff00
elf_phoff=$W/bad-phoff-elf.img
cp "$good" "$elf_phoff"
patch64 "$elf_phoff" 32 0x7fffffff
elf_low=$W/low-segment-elf.img
cp "$good" "$elf_low"
patch64 "$elf_low" $((phoff + 24)) 0x9000   # on top of the boot page tables
big_initrd=$W/huge-initrd.img
truncate -s 64M "$big_initrd"   # sparse: costs no disk
missing=$W/no-such-kernel.img
missing_initrd=$W/no-such-initrd.img

bad_case "missing kernel file" "no-such-kernel.img" --kernel "$missing"
bad_case "kernel is a directory" "$W" --kernel "$W"
bad_case "empty kernel file" "empty-kernel.img" --kernel "$empty"
bad_case "truncated synthetic bzImage" "fake-bzimage-truncated.img" --kernel "$fake_bz"
if [ -n "$real_bz" ]; then
	bad_case "truncated real bzImage" "real-bzimage-truncated.img" --kernel "$real_bz"
else
	echo "note: no real bzImage found (default guest not built); synthetic header only"
fi
bad_case "garbage kernel" "garbage-kernel.img" --kernel "$garbage"
bad_case "truncated ELF" "truncated-elf.img" --kernel "$elf_trunc"
bad_case "ELF segment outside RAM" "far-segment-elf.img" --kernel "$elf_far"
bad_case "ELF segment size wraps" "wrapping-segment-elf.img" --kernel "$elf_wrap"
bad_case "ELF program headers beyond the file" "bad-phoff-elf.img" --kernel "$elf_phoff"
bad_case "ELF segment over the boot structures" "low-segment-elf.img" --kernel "$elf_low"
bad_case "missing initrd file" "no-such-initrd.img" --kernel "$good" --initrd "$missing_initrd"
bad_case "initrd larger than memory" "huge-initrd.img" --kernel "$good" --mem 32M --initrd "$big_initrd"
bad_case "--mem 0" "mem" --kernel "$good" --mem 0
bad_case "--mem 1T" "mem" --kernel "$good" --mem 1T
bad_case "--mem abc" "mem" --kernel "$good" --mem abc
bad_case "--cpus 0" "cpus" --kernel "$good" --cpus 0
bad_case "--cpus 999" "cpus" --kernel "$good" --cpus 999
bad_case "--cpus x" "cpus" --kernel "$good" --cpus x
bad_case "--accel bogus" "accel" --kernel "$good" --accel bogus
bad_case "unknown flag --bogus" "--bogus" --kernel "$good" --bogus
bad_case "missing value for --mem" "mem" --kernel "$good" --mem
bad_case "missing value for --kernel" "kernel" --kernel
bad_case "command line too long" "command line" --kernel "$good" \
	--cmdline "$(head -c 70000 /dev/zero | tr '\0' a)"

echo "$CASES cases"
it_finish
