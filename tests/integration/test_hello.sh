#!/usr/bin/env bash
# The simplest boot: serial output and the PASS exit.  stdout must carry
# exactly the guest's console bytes (vireo's diagnostics go to stderr), and
# a clean run prints nothing on stderr.
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
if ! printf 'Hello from vireo guest\r\nPASS\r\n' | cmp -s - "$IT_WORK/out.raw"; then
	it_report "stdout is not exactly the guest's console output"
fi
if [ -s "$VM_ERR" ]; then
	it_report "stderr is not empty on a clean run"
fi

# The same with 4 vCPUs: the APs never leave wait-for-SIPI, and the run
# must still end as soon as the BSP exits.
run_vm --kernel "$guest" --cpus 4
expect_guest_pass
it_finish
