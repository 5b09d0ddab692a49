#!/usr/bin/env bash
# AP bring-up with INIT-SIPI-SIPI: every vCPU listed in the MADT must start
# and check in, for 1, 2, 4 and 64 (vireo's maximum) vCPUs; the MP table must list the same CPUs
# (the guest checks the APIC IDs match); then IPIs from the BSP to every AP
# (directed and broadcast) and back.
#   test_smp.sh VIREO SMP_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

for n in 1 2 4 64; do
	run_vm --kernel "$guest" --cpus "$n"
	expect_guest_pass
	expect_match "^smp: MADT lists $n cpus"
	expect_line "smp: MP table lists $n cpus"
	expect_line "smp: $n of $n cpus up"
	expect_count '^cpu [0-9]+ up' $((n - 1))
	for ((i = 1; i < n; i++)); do
		expect_match "^cpu $i up "
	done
	if [ "$n" -gt 1 ]; then
		expect_line "smp: IPI ping-pong with $((n - 1)) cpus OK"
	fi
done
it_finish
