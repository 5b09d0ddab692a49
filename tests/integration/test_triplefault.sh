#!/usr/bin/env bash
# A triple fault ends the run with status 2 and a register dump on stderr.
#   test_triplefault.sh VIREO TRIPLEFAULT_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

run_vm --kernel "$guest"
expect_rc 2 "triple fault"
expect_line "triplefault: loading a zero-limit IDT, then ud2"
expect_no_match '^FAIL'
expect_err_match 'RIP'
expect_err_match '[Tt]riple fault'
it_finish
