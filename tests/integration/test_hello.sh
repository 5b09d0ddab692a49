#!/usr/bin/env bash
# The simplest boot: serial output and the PASS exit.
#   test_hello.sh VIREO HELLO_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

run_vm --kernel "$guest"
expect_guest_pass
expect_line "Hello from vireo guest"
it_finish
