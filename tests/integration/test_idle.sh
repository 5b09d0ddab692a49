#!/usr/bin/env bash
# An idle guest must not burn host CPU.  The guest sleeps in HLT between
# 10 Hz LAPIC-timer ticks for 2.5 s; over one second of that, no vireo
# thread may want the CPU (time running + time waiting on a run queue, from
# /proc/PID/task/TID/schedstat) for more than half the time.  A vCPU or
# device loop that spins wants it all the time, however busy the host is,
# while plain CPU time would shrink on a loaded host and hide it.
#   test_idle.sh VIREO IDLE_ELF
set -euo pipefail
. "$(dirname "$0")/lib.sh"
it_init "$1"
guest=$2
require_file "$guest" "guest"
require_accel
command -v pgrep >/dev/null || it_skip "pgrep (procps) is not installed"
[ -r /proc/self/schedstat ] || it_skip "no /proc/PID/schedstat (kernel without CONFIG_SCHED_INFO)"

# snapshot PID FILE: "TID COMM demand_ns" for every thread.
snapshot()
{
	local t
	for t in /proc/"$1"/task/*; do
		read -r run wait _ <"$t/schedstat" 2>/dev/null || continue
		echo "${t##*/} $(cat "$t/comm" 2>/dev/null | tr ' ' _) $((run + wait))"
	done >"$2"
}

args=(--kernel "$guest" --cmdline "hz=10 ticks=25")
VM_DESC="vireo run --accel $IT_ACCEL ${args[*]}"
timeout -k 5 "$VM_TIMEOUT" "$VIREO" run --accel "$IT_ACCEL" "${args[@]}" \
	>"$IT_WORK/out.raw" 2>"$IT_WORK/err" </dev/null &
tpid=$!
vpid=
for _ in $(seq 100); do
	vpid=$(pgrep -P "$tpid" || true)
	[ -n "$vpid" ] && break
	sleep 0.02
done

measured=0
if [ -n "$vpid" ]; then
	sleep 0.5                       # boot and calibration
	t0=$(date +%s%N)
	snapshot "$vpid" "$IT_WORK/s0"
	sleep 1
	t1=$(date +%s%N)
	snapshot "$vpid" "$IT_WORK/s1"
	# Worst thread present in both snapshots: demand in per mille.
	worst=$(awk -v wall=$((t1 - t0)) '
		NR == FNR { d[$1] = $3; next }
		($1 in d) { pm = int(($3 - d[$1]) * 1000 / wall)
			    if (pm > max) { max = pm; who = $2 " (tid " $1 ")" } }
		END { printf "%d %s\n", max, who }' "$IT_WORK/s0" "$IT_WORK/s1")
	measured=1
fi
set +e
wait "$tpid"
VM_RC=$?
set -e
tr -d '\r' <"$IT_WORK/out.raw" >"$IT_WORK/out"
VM_OUT=$IT_WORK/out
VM_ERR=$IT_WORK/err
IT_DUMPED=0
echo "ran: $VM_DESC -> exit $VM_RC"

expect_guest_pass
expect_match '^idle: 25 ticks in [0-9]+ ms'
if [ "$measured" = 0 ]; then
	it_report "could not find the vireo process to watch"
elif [ ! -s "$IT_WORK/s1" ] || [ "$(wc -l <"$IT_WORK/s1")" -eq 0 ]; then
	it_report "vireo ended before the measurement window closed"
else
	echo "busiest vireo thread while idle: ${worst#* } wanted the CPU $((${worst%% *} / 10))% of the time"
	if [ "${worst%% *}" -gt 500 ]; then
		it_report "vireo thread ${worst#* } wanted the CPU $((${worst%% *} / 10))% of an idle second"
	fi
fi
it_finish
