#!/usr/bin/env bash
# Port-I/O and MMIO exits: PCI config space through 0xCF8/0xCFC and ECAM
# must agree, and an empty slot reads all-ones both ways.
#   test_io.sh VIREO IO_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

run_vm --kernel "$guest"
expect_guest_pass
expect_match '^io: 00:00\.0 vendor 0x[0-9a-f]{4} device 0x[0-9a-f]{4} class 0x0600'
expect_line "io: 1000 config reads through 0xCF8/0xCFC agree"
expect_match '^io: 1000 ECAM reads agree with port I/O'
expect_match '^io: empty slot 00:[0-9a-f]{2}\.0 reads 0xffffffff both ways$'
it_finish
