#!/usr/bin/env bash
# Smoke test of the MMIO benchmark guest with a small count.
#   test_mmio_bench.sh VIREO MMIO_BENCH_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

run_vm --kernel "$guest" --cmdline "count=2000"
expect_guest_pass
expect_line "mmio_bench: 2000 ECAM reads"
expect_line "mmio_bench: done"
it_finish
