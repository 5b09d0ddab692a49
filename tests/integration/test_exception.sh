#!/usr/bin/env bash
# The guest library's exception path: a handled #PF resumes, an unhandled
# #UD is reported and the guest FAILs (status 35).  This proves failing
# guests are told apart from passing ones.
#   test_exception.sh VIREO EXCEPTION_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

run_vm --kernel "$guest"
expect_rc 35 "guest FAIL via debug-exit"
expect_line "exception: #PF handler ran 2 times, cr2 0x100001000"
expect_line "EXCEPTION: vector 6 (#UD) error=0x0"
expect_line "FAIL: unexpected exception 6"
expect_no_match '^PASS'
it_finish
