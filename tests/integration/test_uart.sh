#!/usr/bin/env bash
# The COM1 16550A as Linux's 8250 driver probes it: scratch, divisor latch,
# FIFO, loopback, THR-empty interrupt on IRQ4.  Bytes sent in loopback
# mode must not reach the console: the marker may appear only once, in the
# guest's own report.
#   test_uart.sh VIREO UART_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel

run_vm --kernel "$guest"
expect_guest_pass
expect_match '^uart: scratch 0x5a, divisor 1, IIR 0xc[0-9a-f], idle IIR 0xc1$'
expect_match '^uart: loopback MSR 0x90/0xf0, echoed "LOOPBACK-ONLY"'
expect_match '^uart: 1 THRE interrupt\(s\) on IRQ4'
n=$(grep -o 'LOOPBACK-ONLY' "$VM_OUT" | wc -l)
[ "$n" -eq 1 ] || it_report "loopback bytes leaked to the console ($n occurrences of LOOPBACK-ONLY)"
it_finish
