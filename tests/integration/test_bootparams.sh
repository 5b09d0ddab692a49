#!/usr/bin/env bash
# The e820 map in the zero page.  vireo's map (src/vm/vm.h, src/boot/
# layout.h): RAM is [0, min(mem, 3 GiB)) and [4 GiB, 4 GiB + rest), minus
# 0x9FC00-0xFFFFF (EBDA, legacy video/BIOS area, ACPI tables), which is not
# usable.  So usable RAM = mem - 385 KiB exactly, and everything beyond
# 3 GiB of RAM sits above 4 GiB.
#   test_bootparams.sh VIREO BOOTPARAMS_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

HOLE_KIB=$(( (0x100000 - 0x9FC00) / 1024 ))   # 385
for mem_mib in 64 256 5120; do
	if ! fits_host "$mem_mib"; then
		echo "note: not testing --mem ${mem_mib}M: more than this host's RAM"
		continue
	fi
	if [ "$mem_mib" -ge 1024 ]; then
		arg="$((mem_mib / 1024))G"
	else
		arg="${mem_mib}M"
	fi
	kib=$((mem_mib * 1024 - HOLE_KIB))
	high=$((mem_mib > 3072 ? mem_mib - 3072 : 0))
	run_vm --kernel "$guest" --mem "$arg"
	expect_guest_pass
	expect_line "e820: total RAM $((kib / 1024)) MiB ($kib KiB), $high MiB above 4 GiB"
	expect_match '^e820: \[mem 0x0000000000000000-0x[0-9a-f]+\] usable$'
	if [ "$high" -gt 0 ]; then
		expect_line "e820: [mem 0x0000000100000000-$(printf '0x%016x' $(( (4 + high / 1024) * 1024 * 1024 * 1024 - 1 )))] usable"
	fi
done
it_finish
