#!/usr/bin/env bash
# linux-smp: the default Debian guest with --cpus 2 brings up both CPUs and
# runs a two-process workload, one process pinned to each CPU, to the end;
# both results are checked against the host.
#   test_smp.sh VIREO
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lx_init "$1"

head -c 65536 /dev/urandom >"$LX_ROOT/data.bin"
want_sha=$(sha256sum "$LX_ROOT/data.bin" | cut -d' ' -f1)

lx_autorun <<'AUTORUN'
#!/bin/sh
echo "LX-UPTIME $(cut -d' ' -f1 /proc/uptime)"
echo "LX-CPUS $(grep -c ^processor /proc/cpuinfo)"
echo "LX-ONLINE $(cat /sys/devices/system/cpu/online)"
echo "LX-NPROC $(nproc)"
# Pinning makes each CPU run one of the processes (if CPU 1 never ran
# anything, taskset or the job itself would fail or hang).
taskset -c 0 sh -c 'i=0; while [ $i -lt 8 ]; do sha256sum /data.bin; i=$((i+1)); done' >/tmp/a &
pa=$!
taskset -c 1 sh -c 'seq 1 30000 | sort -rn | head -n 1' >/tmp/b &
pb=$!
wait $pa; echo "LX-RC job0 $?"
wait $pb; echo "LX-RC job1 $?"
echo "LX-JOB0 $(cut -d' ' -f1 /tmp/a | sort -u | tr '\n' ' ')"
echo "LX-JOB0-LINES $(wc -l </tmp/a)"
echo "LX-JOB1 $(cat /tmp/b)"
# Per-CPU time from /proc/stat: both CPUs must have accounted some.
awk '/^cpu[01] / { print "LX-STAT " $1 " " ($2 + $3 + $4 > 0 ? "busy" : "idle") }' /proc/stat
echo "LX-UPTIME-END $(cut -d' ' -f1 /proc/uptime)"
echo "LX-SMP-DONE"
AUTORUN
lx_initrd
lx_run --cpus 2

expect_rc 0 "guest powered off"
expect_field LX-CPUS 2
expect_field LX-ONLINE 0-1
expect_field LX-NPROC 2
expect_field "LX-RC job0" 0
expect_field "LX-RC job1" 0
expect_field LX-JOB0 "$want_sha "
expect_field LX-JOB0-LINES 8
expect_field LX-JOB1 30000
expect_field "LX-STAT cpu0" busy
expect_field "LX-STAT cpu1" busy
expect_line LX-SMP-DONE
expect_no_match 'Kernel panic|BUG:|Oops|general protection|segfault|soft lockup|rcu.*stall'
echo "guest time for the autorun: $(lx_field LX-UPTIME) s -> $(lx_field LX-UPTIME-END) s"
it_finish
