#!/usr/bin/env bash
# vireo img + the qcow2 driver against qemu-img, the reference implementation:
# images each one writes must be accepted by the other, and a writer killed
# with SIGKILL must leave an image both checkers accept (leaks allowed).
# usage: test_img.sh VIREO IMG_WRITER
set -uo pipefail
vireo=$1 writer=$2
command -v qemu-img >/dev/null || { echo "SKIP: qemu-img not installed (Debian qemu-utils)"; exit 77; }
d=$(mktemp -d /tmp/vireo-img-XXXXXX)
trap 'rm -rf "$d"' EXIT
fails=0 n=0
ok()   { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
t()    { local name=$1; shift; if "$@" >"$d/out" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/    /' "$d/out"; fi; }
# qemu-img check: 0 clean, 3 leaks only -> accepted; 2 corrupt -> not
qcheck() { qemu-img check "$1" >"$d/qc" 2>&1; local rc=$?; [[ $rc -eq 0 || $rc -eq 3 ]] || { cat "$d/qc"; return 1; }; }
vcheck() { "$vireo" img check "$1" >"$d/vc" 2>&1; local rc=$?; [[ $rc -eq 0 || $rc -eq 3 ]] || { cat "$d/vc"; return 1; }; }

t "create qcow2 accepted by qemu-img" bash -c "'$vireo' img create -f qcow2 '$d/a.qcow2' 1G && qemu-img check '$d/a.qcow2'"
t "create raw has the right size" bash -c "'$vireo' img create -f raw '$d/a.raw' 3M && [[ \$(stat -c %s '$d/a.raw') -eq 3145728 ]]"

qemu-img create -q -f qcow2 "$d/q.qcow2" 64M
qemu-io -c "write -P 0xab 0 1M" -c "write -P 0xcd 5M 100k" -c "write -z 8M 1M" "$d/q.qcow2" >/dev/null
t "vireo checks a qemu-written image clean" "$vireo" img check "$d/q.qcow2"
t "vireo reads a qemu-written image" bash -c "'$vireo' img convert -O raw '$d/q.qcow2' '$d/q.raw' && qemu-img compare -q '$d/q.qcow2' '$d/q.raw'"

head -c 5000000 /dev/urandom >"$d/rand"
truncate -s 32M "$d/r.raw"; dd if="$d/rand" of="$d/r.raw" bs=4096 seek=333 conv=notrunc status=none
t "convert raw->qcow2: qemu-img check + compare" bash -c "'$vireo' img convert -p -O qcow2 '$d/r.raw' '$d/r.qcow2' && qemu-img check -q '$d/r.qcow2' && qemu-img compare -q '$d/r.raw' '$d/r.qcow2'"
t "compressed clusters readable" bash -c "qemu-img convert -c -O qcow2 '$d/r.raw' '$d/c.qcow2' && '$vireo' img convert -O raw '$d/c.qcow2' '$d/c.raw' && cmp '$d/c.raw' '$d/r.raw'"

t "random writes (small clusters): qemu-img check + compare" bash -c "'$vireo' img create -o cluster_size=4096 '$d/w.qcow2' 16M >/dev/null && '$writer' '$d/w.qcow2' 1 200 && qemu-img check -q '$d/w.qcow2' && qemu-img compare -q -f raw -F qcow2 '$d/w.qcow2.expect' '$d/w.qcow2'"
t "overlay on a backing file: qemu-img check + compare" bash -c "'$vireo' img create -b '$d/r.qcow2' '$d/ov.qcow2' >/dev/null && cp '$d/r.raw' '$d/ov.qcow2.expect.base' && '$writer' '$d/ov.qcow2' 2 100 && qemu-img check -q '$d/ov.qcow2' && qemu-img compare -q -f raw -F qcow2 '$d/ov.qcow2.expect' '$d/ov.qcow2'"
t "qemu-img reads the overlay chain" bash -c "qemu-img info --backing-chain '$d/ov.qcow2' | grep -q 'backing file: .*r.qcow2'"

# SIGKILL in the middle of writes, three times at different moments
for i in 1 2 3; do
	"$vireo" img create -o cluster_size=4096 "$d/k$i.qcow2" 64M >/dev/null
	"$writer" "$d/k$i.qcow2" $i 0 & pid=$!
	sleep 0.$((2 * i)); kill -9 $pid; wait $pid 2>/dev/null
	t "SIGKILL mid-write #$i: qemu-img check accepts" qcheck "$d/k$i.qcow2"
	t "SIGKILL mid-write #$i: vireo img check accepts" vcheck "$d/k$i.qcow2"
done

# bad input: one line, exit 1, no crash
head -c 100000 /dev/urandom >"$d/garbage"; printf 'QFI\xfb\0\0\0\3' >"$d/trunc.qcow2"
for c in "info $d/missing.qcow2" "info $d/trunc.qcow2" "check $d/trunc.qcow2" "create -f vmdk $d/x 1G" "create $d/x 12Q" "convert -O raw $d/trunc.qcow2 $d/y" "frobnicate"; do
	"$vireo" img $c >"$d/o" 2>"$d/e"; rc=$?
	if [[ $rc -eq 1 && $(wc -l <"$d/e") -eq 1 ]]; then ok "bad input rejected: img $c"; else fail "bad input: img $c (rc=$rc)"; cat "$d/e"; fi
done
t "image in use is locked" bash -c "'$vireo' img create '$d/lk.qcow2' 1M >/dev/null && ('$writer' '$d/lk.qcow2' 9 0 & p=\$!; sleep 0.3; '$writer' '$d/lk.qcow2' 9 1 2>&1 | grep -q 'in use'; r=\$?; kill -9 \$p; exit \$r)"

echo "$((n - fails)) passed, $fails failed"
[[ $fails -eq 0 ]]
