#!/usr/bin/env bash
# Interrupt delivery: PIT through the IOAPIC, then the LAPIC timer, waiting
# with HLT (the guest fails by itself if ticks stop).
#   test_timer.sh VIREO TIMER_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

run_vm --kernel "$guest"
expect_guest_pass
expect_match '^timer: PIT: 10 ticks in [0-9]+ us'
expect_match '^timer: LAPIC: 10 ticks'
expect_line "timer: 10 PIT ticks and 10 LAPIC timer ticks"

# Same with two vCPUs: the idle AP must not disturb the BSP's interrupts.
run_vm --kernel "$guest" --cpus 2 --cmdline "ticks=5"
expect_guest_pass
expect_line "timer: 5 PIT ticks and 5 LAPIC timer ticks"
it_finish
