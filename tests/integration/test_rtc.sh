#!/usr/bin/env bash
# CMOS RTC: the guest's clock must match the host's (UTC, within a few
# seconds), setting the clock must work, and the CMOS memory-size bytes must
# describe the configured RAM: 0x34/0x35 = min(mem, 3 GiB) - 16 MiB,
# 0x5B-0x5D = mem - 3 GiB (if positive).
#   test_rtc.sh VIREO RTC_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

for mem_mib in 64 5120; do
	if ! fits_host "$mem_mib"; then
		echo "note: not testing --mem ${mem_mib}M: more than this host's RAM"
		continue
	fi
	if [ "$mem_mib" -ge 1024 ]; then
		arg="$((mem_mib / 1024))G"
	else
		arg="${mem_mib}M"
	fi
	low=$((mem_mib < 3072 ? mem_mib : 3072))
	high=$((mem_mib > 3072 ? mem_mib - 3072 : 0))
	before=$(date -u +%s)
	run_vm --kernel "$guest" --mem "$arg"
	after=$(date -u +%s)
	expect_guest_pass
	expect_line "rtc: CMOS memory: $((low - 16)) MiB from 16 MiB, $high MiB above 4 GiB"
	stamp=$(sed -n 's/^rtc: \([0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9:]\{8\}\)$/\1/p' "$VM_OUT" | head -n 1)
	if [ -z "$stamp" ]; then
		it_report "no 'rtc: YYYY-MM-DD hh:mm:ss' line"
	else
		t=$(date -u -d "$stamp" +%s)
		# The guest reads the clock between `before` and `after`; allow
		# 2 s either side for the seconds boundary and slow hosts.
		if [ "$t" -lt $((before - 2)) ] || [ "$t" -gt $((after + 2)) ]; then
			it_report "guest time $stamp ($t) is outside host time [$before, $after]"
		fi
	fi
done
it_finish
