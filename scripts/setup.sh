#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a booted guest: installs the
# Debian packages vireo needs, builds vireo, builds the default guest
# (scripts/build-guest.sh) and its Debian disk image (scripts/build-rootfs.sh)
# and runs it. Every step is skipped when already done, so a second run is
# quick. See docs/setup.md.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/setup.sh [--no-run] [-- VIREO-RUN-ARGS...]
  --no-run   install, build vireo and the default guest, but do not boot it
  -- ARGS    passed to `vireo run` (e.g. -- --accel soft --mem 512M)
Environment: VIREO_BUILD_DIR (default: build), VIREO_JOBS (ninja -j),
VIREO_CACHE (guest cache root), VIREO_SKIP_APT=1 (never call apt-get).
USAGE
}

log() { echo "[setup] $*"; }
# Exit status tells scripts/test.sh which step failed: 1 usage or packages,
# 3 building vireo, 4 building the guest.
die() { echo "[setup] error: $*" >&2; exit 1; }
die_build() { echo "[setup] error: $*" >&2; exit 3; }

run_vm=1
while [ $# -gt 0 ]; do
	case "$1" in
	--no-run) run_vm=0 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; die "unknown argument: $1 (vireo run arguments go after --)" ;;
	esac
	shift
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=${VIREO_BUILD_DIR:-build}

# Build and runtime dependencies; docs/setup.md says why each is needed.
# qemu-system-x86 is only a reference for tests and benchmarks.
packages=(
	build-essential meson ninja-build pkg-config python3
	libzydis-dev libcriterion-dev libjansson-dev libslirp-dev libglib2.0-dev liburing-dev
	libseccomp-dev zlib1g-dev
	busybox-static cpio kmod zstd lz4 xz-utils
	debootstrap e2fsprogs openssh-client
	clang libclang-rt-14-dev
	qemu-system-x86 qemu-utils
)

missing_packages() {
	local p status
	for p in "${packages[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) || status=
		case "$status" in ii*) ;; *) echo "$p" ;; esac
	done
}

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $* (run as root or install sudo)"
	fi
}

apt_lists_present() {
	compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

apt_lists_stale() {
	# Older than a day, or none at all (fresh container images).
	apt_lists_present || return 0
	[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit)" ] && return 1
	return 0
}

install_packages() {
	local missing updated=0
	mapfile -t missing < <(missing_packages)
	if [ ${#missing[@]} = 0 ]; then
		log "packages: all ${#packages[@]} installed"
		return 0
	fi
	[ "${VIREO_SKIP_APT:-0}" = 1 ] && die "missing packages: ${missing[*]} (VIREO_SKIP_APT=1)"
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found; this script needs Debian 12"
	export DEBIAN_FRONTEND=noninteractive
	if apt_lists_stale; then
		log "apt-get update"
		as_root apt-get update -q || die "apt-get update failed"
		updated=1
	fi
	log "installing: ${missing[*]}"
	if ! as_root apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null; then
		[ "$updated" = 0 ] || die "apt-get install failed"
		# The lists may name versions the mirror no longer has.
		log "apt-get install failed; retrying after apt-get update"
		as_root apt-get update -q || die "apt-get update failed"
		as_root apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null ||
			die "apt-get install failed"
	fi
	mapfile -t missing < <(missing_packages)
	[ ${#missing[@]} = 0 ] || die "still missing after apt-get install: ${missing[*]}"
}

build_vireo() {
	if [ ! -f "$build/build.ninja" ]; then
		local wipe=()
		# A directory left by an interrupted or older configure.
		[ -d "$build/meson-private" ] && wipe=(--wipe)
		log "meson setup $build"
		meson setup "${wipe[@]}" "$build" || die_build "meson setup $build failed"
	fi
	local jobs=()
	[ -n "${VIREO_JOBS:-}" ] && jobs=(-j "$VIREO_JOBS")
	log "ninja -C $build"
	# -k 0: build everything that compiles, so scripts/test.sh can still run
	# the tests of the parts that are not broken.
	ninja -C "$build" -k 0 "${jobs[@]}" || die_build "build failed (ninja -C $build)"
}

install_packages
build_vireo
if ! "$repo/scripts/build-guest.sh"; then
	echo "[setup] error: building the default guest failed" >&2
	exit 4
fi
# The Debian disk image (debian.qcow2) boots with the guest's kernel.
if ! VIREO="$build/src/cli/vireo" "$repo/scripts/build-rootfs.sh"; then
	echo "[setup] error: building the Debian disk image failed (the initramfs guest is ready)" >&2
	exit 4
fi

if [ "$run_vm" = 0 ]; then
	log "done (--no-run); boot the default guest with: $build/src/cli/vireo run"
	log "the Debian disk guest: see docs/guest-images.md"
	exit 0
fi
log "starting: $build/src/cli/vireo run $*"
log "leave the guest with 'poweroff' (or exit the shell), or press Ctrl-A x"
exec "$build/src/cli/vireo" run "$@"
