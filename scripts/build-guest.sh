#!/usr/bin/env bash
# Builds vireo's default guest: Debian's cloud kernel plus a busybox
# initramfs, into ${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo}/guest.
# Idempotent: a guest whose stamp matches the kernel package version and the
# initramfs sources is left alone. See docs/setup.md.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/build-guest.sh [--force] [--print-dir]
  --force      rebuild the guest even if it is up to date (the kernel .deb
               already in the cache is reused)
  --print-dir  print the guest directory and exit
Environment: VIREO_CACHE (cache root), VIREO_GUEST_KERNEL_PKG (kernel
metapackage, default linux-image-cloud-amd64).
USAGE
}

tag=guest
# shellcheck source=scripts/guest-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/guest-common.sh"
meta=${VIREO_GUEST_KERNEL_PKG:-linux-image-cloud-amd64}
cmdline_default="console=ttyS0 panic=-1 quiet"

if [ "$print_dir" = 1 ]; then
	echo "$guest"
	exit 0
fi

for tool in apt-cache apt-get dpkg-deb depmod modprobe cpio gzip sha256sum readelf; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found; run scripts/setup.sh (it installs kmod, cpio, binutils)"
done
busybox=$(command -v busybox 2>/dev/null || true)
[ -n "$busybox" ] || die "busybox not found; apt-get install busybox-static"
# The initramfs has no libc: a dynamically linked busybox cannot run there.
if readelf -l "$busybox" 2>/dev/null | grep -q 'program interpreter'; then
	die "$busybox is dynamically linked; apt-get install busybox-static"
fi

for f in init modules profile udhcpc.script; do
	[ -r "$src/$f" ] || die "missing $src/$f"
done
# Anything that changes the initramfs content invalidates the stamp.
inputs_hash=$( (cat "$src/init" "$src/modules" "$src/profile" "$src/udhcpc.script" "${BASH_SOURCE[0]}"
		sha256sum "$busybox" | cut -d' ' -f1) | sha256sum | cut -c1-16)

guest_complete() {
	[ -s "$guest/vmlinuz" ] && [ -s "$guest/initramfs.cpio.gz" ] &&
		[ -s "$guest/version" ] && [ -s "$guest/stamp" ]
}

# Kernel package behind the metapackage, e.g. linux-image-6.1.0-56-cloud-amd64,
# and its version. Debian's metapackage pins it ("Depends: pkg (= ver)"), so
# one apt-cache call (about a second without a pkgcache) usually suffices.
# Output is captured before parsing: with pipefail, a reader that stops early
# would turn apt-cache's SIGPIPE into a failure.
pkg=
pkg_ver=
resolve_kernel_pkg() {
	local info
	info=$(apt-cache show --no-all-versions "$meta" 2>/dev/null) || return 0
	read -r pkg pkg_ver < <(awk '$1 == "Depends:" {
		for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-[0-9]/) {
			v = ""
			if ($(i + 1) == "(=") { v = $(i + 2); sub(/[),].*/, "", v) }
			print $i, v; exit
		} }' <<<"$info") || true
	if [ -n "$pkg" ] && [ -z "$pkg_ver" ]; then
		info=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null) || return 0
		pkg_ver=$(awk '$1 == "Version:" { print $2; exit }' <<<"$info")
	fi
}

resolve_kernel_pkg
if [ -z "$pkg_ver" ] && [ "$(id -u)" = 0 ] && ! guest_complete; then
	# A fresh machine may have empty package lists.
	log "package lists do not know $meta; running apt-get update"
	apt-get update -qq >/dev/null || die "apt-get update failed"
	resolve_kernel_pkg
fi
if [ -z "$pkg" ] || [ -z "$pkg_ver" ]; then
	if guest_complete; then
		log "warning: cannot resolve $meta (offline?); keeping the existing guest in $guest"
		exit 0
	fi
	die "cannot resolve the kernel package behind $meta (apt-get update? is this Debian 12?)"
fi

stamp="$pkg $pkg_ver $inputs_hash"
if [ "$force" = 0 ] && guest_complete && [ "$(cat "$guest/stamp")" = "$stamp" ]; then
	log "up to date: $guest (Debian $(cat "$guest/version"))"
	exit 0
fi

mkdir -p "$guest/debs" || die "cannot create $guest"

# Reuse a downloaded .deb of the right version; apt-get download names files
# with the epoch's ':' escaped, so match on the package and check the version.
deb=
for f in "$guest/debs/${pkg}_"*.deb; do
	[ -f "$f" ] || continue
	if [ "$(dpkg-deb -f "$f" Version 2>/dev/null)" = "$pkg_ver" ]; then
		deb=$f
		break
	fi
done
if [ -z "$deb" ]; then
	log "downloading $pkg ($pkg_ver)"
	apt_opts=(-q)
	# As root apt would try to drop to the _apt user, which cannot write to
	# a private cache directory, and then warn; download as root directly.
	[ "$(id -u)" = 0 ] && apt_opts+=(-o APT::Sandbox::User=root)
	(cd "$guest/debs" && apt-get "${apt_opts[@]}" download "$pkg=$pkg_ver" >/dev/null) ||
		die "apt-get download $pkg=$pkg_ver failed"
	for f in "$guest/debs/${pkg}_"*.deb; do
		if [ -f "$f" ] && [ "$(dpkg-deb -f "$f" Version 2>/dev/null)" = "$pkg_ver" ]; then
			deb=$f
		fi
	done
	[ -n "$deb" ] || die "apt-get download did not produce ${pkg}_*.deb in $guest/debs"
else
	log "using cached $(basename "$deb")"
fi

work=$(mktemp -d "$guest/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "extracting $(basename "$deb")"
dpkg-deb -x "$deb" "$work/pkg" || die "dpkg-deb -x $deb failed"
kvers=("$work"/pkg/lib/modules/*)
[ ${#kvers[@]} = 1 ] && [ -d "${kvers[0]}" ] || die "$deb: expected exactly one lib/modules/<version>"
kver=$(basename "${kvers[0]}")
[ -s "$work/pkg/boot/vmlinuz-$kver" ] || die "$deb: no boot/vmlinuz-$kver"
pkgmods=$work/pkg/lib/modules/$kver

# The package ships no modules.dep; compute it to get dependency closures.
depmod -b "$work/pkg" "$kver" || die "depmod on the kernel package failed"

root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,mnt,etc,var/log}
mkdir -p "$root/lib/modules/$kver"

cp "$busybox" "$root/bin/busybox"
# Explicit links at busybox's own idea of each applet's place (busybox
# --install would point them at /proc/self/exe).
while read -r applet; do
	case "$applet" in ''|bin/busybox) continue ;; esac
	mkdir -p "$root/$(dirname "$applet")"
	ln -sf /bin/busybox "$root/$applet"
done < <("$busybox" --list-full)

# Module closure in load order, without duplicates or built-ins.
declare -A seen=()
mod_paths=()
wanted=()
while read -r name _; do
	case "$name" in ''|'#'*) continue ;; esac
	out=$(modprobe -d "$work/pkg" -S "$kver" --show-depends "$name" 2>/dev/null) || {
		log "note: module $name is not in $pkg; skipped"
		continue
	}
	if ! grep -q '^insmod ' <<<"$out"; then
		continue # built into the kernel
	fi
	wanted+=("$name")
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		[ -z "${seen[$path]:-}" ] || continue
		seen[$path]=1
		mod_paths+=("$path")
	done <<<"$out"
done < "$src/modules"

for path in "${mod_paths[@]}"; do
	rel=${path#"$pkgmods"/}
	dst=$root/lib/modules/$kver/$rel
	mkdir -p "$(dirname "$dst")"
	# busybox modprobe cannot decompress every format; store plain .ko.
	case "$rel" in
	*.ko.xz) xz -dc "$path" > "${dst%.xz}" ;;
	*.ko.zst) zstd -qdc "$path" > "${dst%.zst}" ;;
	*.ko.gz) gzip -dc "$path" > "${dst%.gz}" ;;
	*) cp "$path" "$dst" ;;
	esac || die "cannot copy module $rel"
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[ -f "$pkgmods/$f" ] && cp "$pkgmods/$f" "$root/lib/modules/$kver/"
done
depmod -b "$root" "$kver" || die "depmod on the initramfs failed"
nmods=${#mod_paths[@]}

cp "$src/init" "$root/init"
chmod 0755 "$root/init"
cp "$src/profile" "$root/etc/profile"
# udhcpc's hook, at the path Debian's busybox looks for it.
mkdir -p "$root/etc/udhcpc"
cp "$src/udhcpc.script" "$root/etc/udhcpc/default.script"
chmod 0755 "$root/etc/udhcpc/default.script"
printf '%s\n' "${wanted[@]}" > "$root/etc/modules"
echo vireo > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost vireo\n' > "$root/etc/hosts"
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\n' > "$root/etc/group"
chmod 0700 "$root/root"
chmod 1777 "$root/tmp"
if [ "$(id -u)" = 0 ]; then
	# Lets the kernel hand PID 1 a console before devtmpfs is mounted.
	mknod -m 600 "$root/dev/console" c 5 1
fi

log "building initramfs ($nmods modules)"
find "$root" -exec touch -h -d @0 {} + # reproducible timestamps
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --reproducible --quiet) |
	gzip -9n > "$work/initramfs.cpio.gz" || die "cpio/gzip failed"
# Zero padding to a multiple of 4 (the kernel skips zeros between archives,
# and finds an appended uncompressed cpio only at 4-byte aligned offsets), so
# `cat initramfs.cpio.gz extra.cpio` just works.
pad=$(( (4 - $(stat -c %s "$work/initramfs.cpio.gz") % 4) % 4 ))
head -c "$pad" /dev/zero >> "$work/initramfs.cpio.gz"

# Install; the stamp goes last so an interrupted build is never "complete".
rm -f "$guest/stamp"
cp "$work/pkg/boot/vmlinuz-$kver" "$work/vmlinuz"
mv -f "$work/vmlinuz" "$guest/vmlinuz"
mv -f "$work/initramfs.cpio.gz" "$guest/initramfs.cpio.gz"
echo "$kver" > "$guest/version"
echo "$cmdline_default" > "$guest/cmdline.default"
(cd "$root" && find lib/modules -name '*.ko' | LC_ALL=C sort) > "$guest/modules.txt"
echo "$stamp" > "$guest/stamp"
# Older kernel packages are no longer needed.
for f in "$guest/debs/"*.deb; do
	[ -f "$f" ] && [ "$f" != "$deb" ] && rm -f "$f"
done
log "ready: $guest (Debian $kver, initramfs $(du -k "$guest/initramfs.cpio.gz" | cut -f1) KiB)"
