#!/usr/bin/env bash
# linux-commands: the default Debian guest runs ordinary userspace work on
# the chosen backend (default: the software CPU) and every result is
# checked against the host: uname, /proc/cpuinfo, sha256sum of a file
# shipped in the initramfs, and a 100,000-line numeric sort.
#   test_commands.sh VIREO
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lx_init "$1"

head -c 196608 /dev/urandom >"$LX_ROOT/data.bin"
want_sha=$(sha256sum "$LX_ROOT/data.bin" | cut -d' ' -f1)

# Each command's status is printed on its own line so that a failing
# command is named rather than inferred from missing output.
lx_autorun <<'AUTORUN'
#!/bin/sh
echo "LX-UPTIME $(cut -d' ' -f1 /proc/uptime)"
# step NAME: guest time since the previous step, for the timing summary.
last=$(cut -d' ' -f1 /proc/uptime)
step() { now=$(cut -d' ' -f1 /proc/uptime); echo "LX-STEP $1 $last $now"; last=$now; }
u=$(uname -a); echo "LX-RC uname $?"; echo "LX-UNAME $u"
echo "LX-KREL $(uname -r)"
echo "LX-MACHINE $(uname -m)"
cat /proc/cpuinfo >/tmp/cpuinfo; echo "LX-RC cpuinfo $?"
echo "LX-NPROC-CPUINFO $(grep -c '^processor' /tmp/cpuinfo)"
echo "LX-MODELNAME $(grep -c '^model name' /tmp/cpuinfo)"
echo "LX-FLAGS $(grep -m1 '^flags' /tmp/cpuinfo | grep -c -w -e fpu -e sse2)"
step uname+cpuinfo
s=$(sha256sum /data.bin); echo "LX-RC sha256sum $?"
echo "LX-SHA256 ${s%% *}"
step sha256sum
t=$(seq 1 100000 | sort -n | tail -1); echo "LX-RC sort $?"
echo "LX-SORT-MAX $t"
step sort-n
r=$(seq 1 100000 | sort -rn | tail -1); echo "LX-SORT-MIN $r"
step sort-rn
echo "LX-WC $(seq 1 100000 | wc -l)"
step seq+wc
echo "LX-UPTIME-END $(cut -d' ' -f1 /proc/uptime)"
echo "LX-DONE"
AUTORUN
lx_initrd
lx_run

expect_rc 0 "guest powered off"
for c in uname cpuinfo sha256sum sort; do
	expect_field "LX-RC $c" 0
done
# The kernel release is the module directory name in the initramfs.
krel=$(zcat "$LX_INITRAMFS" | cpio -t --quiet 2>/dev/null |
	awk -F/ '$1 == "lib" && $2 == "modules" && $3 != "" { r = $3 } END { print r }')
expect_field LX-KREL "$krel"
expect_match '^LX-UNAME Linux vireo [^ ]+ .* x86_64( .*)?$'
expect_field LX-MACHINE x86_64
expect_field LX-NPROC-CPUINFO 1
expect_field LX-MODELNAME 1
expect_field LX-FLAGS 1
expect_field LX-SHA256 "$want_sha"
expect_field LX-SORT-MAX 100000
expect_field LX-SORT-MIN 1
expect_field LX-WC 100000
expect_line LX-DONE
expect_no_match 'Kernel panic|BUG:|Oops|general protection|segfault'
echo "guest time for the autorun: $(lx_field LX-UPTIME) s -> $(lx_field LX-UPTIME-END) s"
awk '$1 == "LX-STEP" { printf "  step %-16s %7.2f s guest time\n", $2, $4 - $3 }' "$VM_OUT"
it_finish
