#!/usr/bin/env bash
# Smoke test of the benchmark guest with a small count (the benchmark
# itself lives in bench/).
#   test_portio_bench.sh VIREO PORTIO_BENCH_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

run_vm --kernel "$guest" --cmdline "count=2000"
expect_guest_pass
expect_line "portio_bench: 2000 OUTs to port 0x80"
expect_line "portio_bench: done"
it_finish
