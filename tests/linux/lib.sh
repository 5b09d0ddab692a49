# Helpers for the Linux guest tests (sourced, not run).  They build on
# tests/integration/lib.sh (run_vm, expect_*, it_skip, it_finish) and add:
# the default Debian guest, an initramfs with an appended /autorun.sh
# archive, and wall-time reporting.  The default backend is the software
# CPU: this host's KVM (PVM) cannot run a standard Linux kernel.

VIREO_TEST_ACCEL=${VIREO_TEST_ACCEL:-soft}
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
# A Linux boot takes ~1.5 min of wall time on the software CPU today;
# bounded, but generous so a loaded machine does not cause false failures.
VM_TIMEOUT=${VIREO_TEST_TIMEOUT:-600}
LX_CMDLINE=${LX_CMDLINE:-"console=ttyS0 panic=-1 quiet"}

# lx_init VIREO: it_init plus the checks that skip (never silently) when
# the backend or the default guest is not there.
lx_init()
{
	it_init "$1"
	require_accel
	LX_GUEST_DIR=${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo}/guest
	LX_KERNEL=$LX_GUEST_DIR/vmlinuz
	LX_INITRAMFS=$LX_GUEST_DIR/initramfs.cpio.gz
	local f
	for f in "$LX_KERNEL" "$LX_INITRAMFS"; do
		[ -s "$f" ] || it_skip "default guest not built: $f is missing (run scripts/build-guest.sh)"
	done
	command -v cpio >/dev/null || it_skip "cpio is not installed"
	LX_ROOT=$IT_WORK/root
	mkdir -p "$LX_ROOT"
}

# lx_autorun: the autorun script is read from stdin into the overlay root.
lx_autorun()
{
	cat >"$LX_ROOT/autorun.sh"
	chmod 0755 "$LX_ROOT/autorun.sh"
}

# lx_initrd: LX_INITRD = the default initramfs followed by an archive of
# everything under $LX_ROOT.  Linux unpacks concatenated archives (later
# files win); an uncompressed archive after a compressed one must start
# 4-byte aligned, hence the zero padding.
lx_initrd()
{
	LX_INITRD=$IT_WORK/initramfs-autorun.cpio
	cp "$LX_INITRAMFS" "$LX_INITRD"
	local pad=$(( (4 - $(stat -c %s "$LX_INITRD") % 4) % 4 ))
	head -c "$pad" /dev/zero >>"$LX_INITRD"
	(cd "$LX_ROOT" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) >>"$LX_INITRD"
}

lx_now() { date +%s.%N; }
lx_elapsed() { awk -v a="$1" -v b="$(lx_now)" 'BEGIN { printf "%.1f", b - a }'; }

# lx_run ARGS...: boot the default kernel with LX_INITRD and extra vireo
# options; prints the wall time.  Sets what run_vm sets, plus LX_WALL.
lx_run()
{
	local t0
	t0=$(lx_now)
	run_vm --kernel "$LX_KERNEL" --initrd "$LX_INITRD" --mem "${LX_MEM:-256M}" \
		--cmdline "$LX_CMDLINE" "$@"
	LX_WALL=$(lx_elapsed "$t0")
	echo "wall time: ${LX_WALL} s (timeout ${VM_TIMEOUT} s)"
	local up
	up=$(grep -m1 '^LX-UPTIME ' "$VM_OUT" | cut -d' ' -f2 || true)
	[ -z "$up" ] || echo "guest uptime when autorun started: ${up} s"
}

# lx_field NAME: the rest of the first stdout line "NAME VALUE...".
lx_field()
{
	awk -v p="$1 " 'index($0, p) == 1 { print substr($0, length(p) + 1); exit }' "$VM_OUT"
}

# expect_field NAME VALUE: stdout has the line "NAME VALUE".
expect_field()
{
	local got
	got=$(lx_field "$1")
	[ "$got" = "$2" ] || it_report "$1: expected '$2', got '${got:-<no line>}'"
}
