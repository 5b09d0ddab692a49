# Shared by build-guest.sh and build-rootfs.sh (sourced, not run): logging
# with the caller's tag, the --force/--print-dir/--help flags, and where the
# guest cache lives.  The caller defines usage() and sets `tag` first.

log() { echo "[$tag] $*"; }
die() { echo "[$tag] error: $*" >&2; exit 1; }

force=0
print_dir=0
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1 ;;
	--print-dir) print_dir=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
	shift
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$repo/tests/guest-image
# Same lookup as vireo's cli__guest_path() (src/cli/cmd_run.c).
cache=${VIREO_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/vireo}
guest=$(realpath -m "$cache/guest")
