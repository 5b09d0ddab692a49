#!/usr/bin/env bash
# ACPI S5 through PM1a_CNT ends the run with status 0.
#   test_poweroff.sh VIREO POWEROFF_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

run_vm --kernel "$guest"
expect_rc 0 "guest powered off"
expect_line "poweroff: FADT PM1a_CNT_BLK = 0x604"
expect_line "poweroff: entering S5"
expect_no_match '^FAIL'

# Powering off with APs running must stop them too.
run_vm --kernel "$guest" --cpus 2
expect_rc 0 "guest powered off with 2 vCPUs"
expect_line "poweroff: entering S5"
it_finish
