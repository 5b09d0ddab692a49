# Shared helpers for the integration tests (sourced, not run).
#
# A test script calls it_init with vireo's path, then run_vm for each boot
# and expect_* for each check.  Checks do not stop at the first failure:
# every mismatch is reported together with what the VM actually printed,
# and it_finish exits 1 if any check failed.  it_skip exits 77, which meson
# reports as SKIP; it always says why.

IT_FAILS=0
IT_WORK=
IT_ACCEL=${VIREO_TEST_ACCEL:-kvm}
VM_TIMEOUT=${VIREO_TEST_TIMEOUT:-60}

it_skip()
{
	echo "SKIP: $*"
	exit 77
}

it_init()
{
	VIREO=${1:?usage: $0 VIREO [ARGS...]}
	[ -x "$VIREO" ] || { echo "ERROR: vireo binary '$VIREO' is not executable"; exit 1; }
	IT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/vireo-it.XXXXXX")
	trap 'rm -rf "$IT_WORK"' EXIT
}

# Skip unless the backend chosen by VIREO_TEST_ACCEL (default kvm) can run.
require_accel()
{
	local host
	host=$("$VIREO" host 2>&1) || true
	case $IT_ACCEL in
	kvm)
		[ -e /dev/kvm ] || it_skip "/dev/kvm does not exist"
		[ -r /dev/kvm ] && [ -w /dev/kvm ] ||
			it_skip "/dev/kvm is not readable and writable by $(id -un)"
		if grep -q '^kvm usable:' <<<"$host" &&
		   ! grep -q '^kvm usable: *yes' <<<"$host"; then
			it_skip "vireo host says: $(grep '^kvm usable:' <<<"$host")"
		fi
		;;
	soft)
		if grep -q '^soft cpu: *not available' <<<"$host"; then
			it_skip "the software CPU is not available in this build"
		fi
		;;
	*)
		echo "ERROR: VIREO_TEST_ACCEL=$IT_ACCEL (kvm or soft)"
		exit 1
		;;
	esac
}

# fits_host MIB: true if a guest of MIB MiB is within this host's RAM (vireo
# refuses --mem beyond it).  Callers print a note when they leave a case out.
fits_host()
{
	local kib
	kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>/dev/null || echo 0)
	[ "$(( ${kib:-0} / 1024 ))" -gt "$1" ]
}

# require_linux_guest: skip unless this backend can boot a standard Linux
# (on KVM that needs VMX/SVM; PVM or emulated KVM cannot) and the default
# guest is built.  Sets GUEST_KERNEL and GUEST_INITRAMFS.
require_linux_guest()
{
	local host guest_dir f
	if [ "$IT_ACCEL" = kvm ]; then
		host=$("$VIREO" host 2>&1) || true
		if grep -q '^hardware virt:' <<<"$host"; then
			grep -q '^hardware virt: *yes' <<<"$host" ||
				it_skip "host has no VMX/SVM (PVM/emulated KVM cannot run a standard Linux kernel; see vireo host)"
		elif ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
			it_skip "host has no VMX/SVM (PVM/emulated KVM cannot run a standard Linux kernel; see vireo host)"
		fi
	fi
	guest_dir=${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo}/guest
	GUEST_KERNEL=$guest_dir/vmlinuz
	GUEST_INITRAMFS=$guest_dir/initramfs.cpio.gz
	for f in "$GUEST_KERNEL" "$GUEST_INITRAMFS"; do
		[ -s "$f" ] || it_skip "default guest not built: $f is missing (run scripts/build-guest.sh)"
	done
	command -v cpio >/dev/null || it_skip "cpio is not installed"
}

# require_file PATH WHAT: fail (not skip) when a build product is missing.
require_file()
{
	[ -s "$1" ] || { echo "ERROR: $2 '$1' is missing or empty"; exit 1; }
}

# run_vm ARGS...: boot with `vireo run --accel $IT_ACCEL ARGS...`.  Sets
# VM_RC, VM_OUT (stdout, CRs removed), VM_ERR, VM_DESC.
run_vm()
{
	VM_DESC="vireo run --accel $IT_ACCEL $*"
	set +e
	timeout -k 5 "$VM_TIMEOUT" "$VIREO" run --accel "$IT_ACCEL" "$@" \
		>"$IT_WORK/out.raw" 2>"$IT_WORK/err" </dev/null
	VM_RC=$?
	set -e
	tr -d '\r' <"$IT_WORK/out.raw" >"$IT_WORK/out"
	VM_OUT=$IT_WORK/out
	VM_ERR=$IT_WORK/err
	IT_DUMPED=0
	echo "ran: $VM_DESC -> exit $VM_RC"
	if [ "$VM_RC" -eq 124 ] || [ "$VM_RC" -eq 137 ]; then
		echo "     (killed by timeout after ${VM_TIMEOUT}s)"
	fi
}

# it_report MESSAGE: one failed check; the run's output is shown once.
it_report()
{
	echo "FAIL: $*"
	IT_FAILS=$((IT_FAILS + 1))
	[ "${IT_DUMPED:-0}" -eq 0 ] || return 0
	IT_DUMPED=1
	echo "  command: $VM_DESC"
	echo "  exit status: $VM_RC"
	echo "  --- stdout (last 40 lines) ---"
	tail -n 40 "$VM_OUT" | sed 's/^/  | /'
	echo "  --- stderr (last 40 lines) ---"
	tail -n 40 "$VM_ERR" | sed 's/^/  | /'
}

expect_rc()
{
	if [ "$VM_RC" -ne "$1" ]; then
		it_report "expected exit status $1${2:+ ($2)}, got $VM_RC"
	fi
}

# expect_line TEXT: stdout has a line exactly equal to TEXT.
expect_line()
{
	grep -qxF -- "$1" "$VM_OUT" || it_report "no stdout line '$1'"
}

# expect_match ERE: some stdout line matches the extended regex.
expect_match()
{
	grep -qE -- "$1" "$VM_OUT" || it_report "no stdout line matching /$1/"
}

expect_no_match()
{
	if grep -qE -- "$1" "$VM_OUT"; then
		it_report "unexpected stdout line matching /$1/: $(grep -m1 -E -- "$1" "$VM_OUT")"
	fi
}

expect_err_match()
{
	grep -qE -- "$1" "$VM_ERR" || it_report "no stderr line matching /$1/"
}

# expect_count ERE N: exactly N stdout lines match.
expect_count()
{
	local n
	n=$(grep -cE -- "$1" "$VM_OUT" || true)
	[ "$n" -eq "$2" ] || it_report "expected $2 stdout lines matching /$1/, got $n"
}

# expect_guest_pass: the PASS convention (debug-exit 0x10 -> status 33).
expect_guest_pass()
{
	expect_rc 33 "guest PASS via debug-exit"
	expect_line "PASS"
	expect_no_match '^FAIL'
}

it_finish()
{
	if [ "$IT_FAILS" -ne 0 ]; then
		echo "$IT_FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}
