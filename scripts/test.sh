#!/usr/bin/env bash
# Runs vireo's whole test suite from any state, a fresh machine included:
# set-up without booting a VM, `meson test` over every suite, then the unit
# suite again in an AddressSanitizer/UBSan build. The last line of output is
# always the summary `N passed, N failed, N skipped` (read by CI), and the
# exit status is non-zero when anything failed. See docs/setup.md.
set -uo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/test.sh [--suite NAME]... [--quick] [-- MESON-TEST-ARGS...]
  --suite NAME  run only this meson suite (repeatable): unit, integration, ...
  --quick       skip the sanitizer build (same as VIREO_TEST_QUICK=1)
  -- ARGS       passed to `meson test` (e.g. -- --timeout-multiplier 3)
Environment: VIREO_BUILD_DIR (default: build; the sanitizer build goes to
<build dir>-asan), VIREO_TEST_QUICK=1, VIREO_JOBS (ninja -j).
USAGE
}

quick=${VIREO_TEST_QUICK:-0}
suites=()
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--suite) [ $# -ge 2 ] || { usage >&2; exit 2; }; suites+=("$2"); shift ;;
	--suite=*) suites+=("${1#--suite=}") ;;
	--quick) quick=1 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; extra=("$@"); break ;;
	*) usage >&2; echo "test: unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
build=${VIREO_BUILD_DIR:-build}
asan=${build}-asan

passed=0
failed=0
skipped=0
failures=()

note_failure() { failures+=("$1"); failed=$((failed + 1)); }

# Adds one meson testlog.json (JSON lines, one per test) to the totals.
# Prints "<passed> <failed> <skipped>" then the failed tests, one a line.
parse_testlog() {
	python3 - "$1" <<'PY'
import json, sys
ok = ("OK", "EXPECTEDFAIL")
skip = ("SKIP",)
p = f = s = 0
bad = []
with open(sys.argv[1], encoding="utf-8", errors="replace") as log:
    for line in log:
        line = line.strip()
        if not line:
            continue
        try:
            t = json.loads(line)
        except ValueError:
            continue
        r = str(t.get("result", "ERROR")).upper()
        if r in ok:
            p += 1
        elif r in skip:
            s += 1
        else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, anything new
            f += 1
            bad.append("%s (%s)" % (t.get("name", "?"), r))
print(p, f, s)
for b in bad:
    print(b)
PY
}

# Tests of a partly built tree: prints "RUN <name>" for tests whose programs
# exist and "MISSING <name>" for the others (a name with any unbuilt instance
# is missing as a whole, since meson selects tests by name).
# Args: BUILD_DIR [SUITE...]
select_built_tests() {
	local tests bdir
	tests=$(meson introspect --tests "$1") || return 1
	bdir=$(cd "$1" && pwd -P)
	shift
	python3 - "$bdir" "$@" 3<<<"$tests" <<'PY'
import json, os, sys
bdir = sys.argv[1].rstrip("/") + "/"
want = set(sys.argv[2:])
tests = json.load(os.fdopen(3))
state = {}
for t in tests:
    suites = {s.split(":", 1)[-1] for s in t.get("suite", [])}
    if want and not (want & suites):
        continue
    cmd = t.get("cmd") or [""]
    # The program, and any argument naming a file of the build tree (such as
    # the vireo binary or a test guest), must exist.
    built = all(os.path.exists(c) for c in cmd
                if c == cmd[0] or os.path.realpath(c).startswith(bdir))
    state[t["name"]] = state.get(t["name"], True) and built
for name, built in state.items():
    print("RUN" if built else "MISSING", name)
PY
}

# run_meson_test LABEL BUILD_DIR PARTIAL MESON-TEST-ARGS...
# PARTIAL=1: the build failed; run only the tests that were built and count
# the others as failed.
run_meson_test() {
	local label=$1 dir=$2 partial=$3 rc line p f s
	shift 3
	local log=$dir/meson-logs/testlog.json
	local names=()
	if [ "$partial" = 1 ]; then
		local sel=()
		for ((i = 1; i <= $#; i++)); do
			[ "${!i}" = --suite ] && { j=$((i + 1)); sel+=("${!j}"); }
		done
		while read -r what name; do
			case "$what" in
			RUN) names+=("$name") ;;
			MISSING) note_failure "$label$name (NOT BUILT)" ;;
			esac
		done < <(select_built_tests "$dir" "${sel[@]}")
		if [ ${#names[@]} = 0 ]; then
			echo "[test] no built tests to run in $dir"
			return
		fi
		set -- --no-rebuild "$@" "${names[@]}"
	fi
	rm -f "$log"
	echo "[test] meson test -C $dir $*"
	meson test -C "$dir" --print-errorlogs "$@"
	rc=$?
	if [ -f "$log" ]; then
		{
			read -r p f s
			passed=$((passed + p))
			skipped=$((skipped + s))
			while IFS= read -r line; do
				note_failure "$label$line"
			done
			# meson failing with no failed test: a build or harness error.
			if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
				note_failure "${label}meson test exited with status $rc"
			fi
		} < <(parse_testlog "$log" || echo "0 0 0")
	elif [ "$rc" != 0 ]; then
		note_failure "${label}meson test exited with status $rc before running tests (build error?)"
	else
		echo "[test] (no tests in this selection)"
	fi
}

finish() {
	echo
	if [ ${#failures[@]} -gt 0 ]; then
		echo "[test] failed:"
		printf '  %s\n' "${failures[@]}"
	fi
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
	exit $?
}

echo "[test] set-up: scripts/setup.sh --no-run"
VIREO_BUILD_DIR=$build "$repo/scripts/setup.sh" --no-run
rc=$?
partial=0
case $rc in
0) ;;
4) note_failure "set-up: building the default guest failed (tests that boot it will fail too)" ;;
3)
	# setup.sh built with ninja -k 0, so everything that compiles exists:
	# run those tests too, a broken file elsewhere should not hide them.
	note_failure "set-up: building vireo failed (ninja -C $build), errors above"
	[ -f "$build/build.ninja" ] || finish
	partial=1
	"$repo/scripts/build-guest.sh" || note_failure "set-up: building the default guest failed"
	;;
*) note_failure "set-up: scripts/setup.sh --no-run failed (status $rc)"; finish ;;
esac

VIREO_GUEST_DIR=$("$repo/scripts/build-guest.sh" --print-dir)
export VIREO_GUEST_DIR
# Undefined behaviour must fail a test, not just print a warning.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Leaks inside the test framework itself are not vireo's.
export LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$repo/scripts/lsan.supp:print_suppressions=0

suite_args=()
for s in "${suites[@]}"; do
	suite_args+=(--suite "$s")
done
run_meson_test "" "$build" "$partial" "${suite_args[@]}" "${extra[@]}"

want_asan=0
if [ "$quick" != 1 ]; then
	want_asan=1
	if [ ${#suites[@]} -gt 0 ]; then
		want_asan=0
		for s in "${suites[@]}"; do [ "$s" = unit ] && want_asan=1; done
	fi
fi
if [ "$want_asan" = 1 ]; then
	asan_ok=1
	# b_lundef=false: clang's sanitizer runtimes leave symbols undefined.
	# werror=false: instrumented code draws false-positive warnings from gcc
	# (-Warray-bounds and friends); warnings are the main build's job.
	asan_opts=("-Db_sanitize=address,undefined" -Db_lundef=false -Dwerror=false)
	if [ ! -f "$asan/build.ninja" ]; then
		wipe=()
		[ -d "$asan/meson-private" ] && wipe=(--wipe)
		echo "[test] meson setup $asan (AddressSanitizer + UBSan)"
		meson setup "${wipe[@]}" "$asan" "${asan_opts[@]}" ||
			{ note_failure "asan: meson setup $asan failed"; asan_ok=0; }
	else
		# An older directory may predate an option; unchanged ones cost nothing.
		meson configure "$asan" "${asan_opts[@]}" >/dev/null ||
			{ note_failure "asan: meson configure $asan failed"; asan_ok=0; }
	fi
	if [ "$asan_ok" = 1 ]; then
		jobs=()
		[ -n "${VIREO_JOBS:-}" ] && jobs=(-j "$VIREO_JOBS")
		echo "[test] ninja -C $asan"
		if ninja -C "$asan" -k 0 "${jobs[@]}"; then
			run_meson_test "asan: " "$asan" 0 --suite unit --timeout-multiplier 3 "${extra[@]}"
		else
			note_failure "asan: build failed (ninja -C $asan), errors above"
			run_meson_test "asan: " "$asan" 1 --suite unit --timeout-multiplier 3 "${extra[@]}"
		fi
	fi
else
	echo "[test] sanitizer build skipped"
fi

finish
