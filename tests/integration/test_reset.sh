#!/usr/bin/env bash
# A guest reset ends the run with status 0: through the i8042 (0xFE to port
# 0x64) and through the PCI reset-control register (0x06 to port 0xCF9).
#   test_reset.sh VIREO RESET_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

run_vm --kernel "$guest"
expect_rc 0 "reset via port 0x64"
expect_line "reset: writing 0xFE to port 0x64"
expect_no_match '^FAIL'

run_vm --kernel "$guest" --cmdline cf9
expect_rc 0 "reset via port 0xCF9"
expect_line "reset: writing 0x06 to port 0xCF9"
expect_no_match '^FAIL'
it_finish
