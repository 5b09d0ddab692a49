#!/usr/bin/env bash
# Builds vireo's Debian disk guest: a minimal Debian root file system
# (debootstrap --variant=minbase, busybox, OpenSSH server) in an ext4 image,
# converted to qcow2 with vireo's own `vireo img convert`, into
# ${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo}/guest/debian.qcow2.
# It boots with the default guest's kernel and initramfs (root=/dev/vda; the
# initramfs loads virtio_blk and switches to the disk). Idempotent: an image
# whose stamp matches the package list and the sources is left alone, and the
# downloaded packages are kept so a rebuild downloads nothing. See
# docs/guest-images.md.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/build-rootfs.sh [--force] [--print-dir]
  --force      rebuild the image even if it is up to date (the cached
               packages are reused)
  --print-dir  print the guest directory and exit
Environment: VIREO_CACHE (cache root), VIREO (the vireo binary, default
$VIREO_BUILD_DIR/src/cli/vireo), VIREO_BUILD_DIR (default build),
VIREO_ROOTFS_MIRROR (Debian mirror, default: the one apt uses),
VIREO_ROOTFS_SIZE (file system size, default 2G), VIREO_ROOTFS_TIMEOUT (seconds
allowed for the download, default 900).
USAGE
}

tag=rootfs
# shellcheck source=scripts/guest-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/guest-common.sh"
suite=bookworm
size=${VIREO_ROOTFS_SIZE:-2G}
cmdline_disk="console=ttyS0 panic=-1 quiet root=/dev/vda rw"
# Beyond minbase: busybox supplies what minbase lacks (udhcpc, ip, poweroff,
# vi, ping), the SSH server is the way in over --net user.
include=(busybox openssh-server netbase)

if [ "$print_dir" = 1 ]; then
	echo "$guest"
	exit 0
fi

image=$guest/debian.qcow2
key=$guest/id_ed25519

image_complete() {
	[ -s "$image" ] && [ -s "$guest/rootfs.stamp" ] && [ -s "$key" ] && [ -s "$key.pub" ]
}

if [ "$(id -u)" != 0 ]; then
	# debootstrap needs chroot and device nodes; setup.sh is run as root.
	image_complete && { log "not root; keeping the existing image $image"; exit 0; }
	log "skipped: building the Debian disk image needs root (debootstrap)"
	exit 0
fi

for tool in debootstrap mkfs.ext4 ssh-keygen sha256sum chroot timeout; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "'$tool' not found; run scripts/setup.sh (it installs debootstrap, e2fsprogs, openssh-client)"
done
vireo=${VIREO:-$repo/${VIREO_BUILD_DIR:-build}/src/cli/vireo}
[ -x "$vireo" ] || die "vireo binary not found at $vireo (build vireo first, or set VIREO)"
for f in vireo-init udhcpc.script; do
	[ -r "$src/$f" ] || die "missing $src/$f"
done

# The Debian mirror this machine's apt uses (deb822 .sources or the classic
# one-line format), so the image comes from the same place as the host.
apt_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v s="$suite" '
			function flush() {
				if (deb && suite_ok && uri != "") { print uri; found = 1; exit }
				deb = 0; suite_ok = 0; uri = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) suite_ok = 1 }
			/^URIs:/ { uri = $2 }
			END { if (!found) flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v s="$suite" '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/ && i < NF) i++
			if ($i ~ /\]$/ && $i ~ /^\[|=/) i++
			if ($(i + 1) == s) { print $i; exit } }' "$f"
	done
}
mirror=${VIREO_ROOTFS_MIRROR:-$(apt_mirror | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

mkdir -p "$guest/debs" || die "cannot create $guest"
if [ ! -s "$key" ] || [ ! -s "$key.pub" ]; then
	log "generating the guest's ssh key $key"
	rm -f "$key" "$key.pub"
	ssh-keygen -q -t ed25519 -N '' -C "vireo-guest" -f "$key" || die "ssh-keygen failed"
fi

# Anything that changes the image content invalidates the stamp.
inputs_hash=$( (echo "$suite $size ${include[*]}"
		cat "$src/vireo-init" "$src/udhcpc.script" "$key.pub" "${BASH_SOURCE[0]}") |
		sha256sum | cut -c1-16)
stamp="debian-$suite $inputs_hash"
if [ "$force" = 0 ] && image_complete && [ "$(cat "$guest/rootfs.stamp")" = "$stamp" ]; then
	log "up to date: $image"
	exit 0
fi

work=$(mktemp -d "$guest/.rootfs.XXXXXX")
cleanup() {
	# A tree left by a failed debootstrap may still have mounts in it.
	if [ -d "$work/root" ]; then
		local m
		for m in $(awk -v r="$work/root" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
			umount -l "$m" 2>/dev/null || true
		done
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# The packages are downloaded once into a tarball (debootstrap
# --make-tarball) and installed from it, so a rebuild after a script change
# or --force downloads nothing.
tarball=$guest/debs/debootstrap-$suite-$(echo "${include[*]}" | sha256sum | cut -c1-12).tgz
# Bounded: an unreachable mirror must fail, not hang set-up. Installing is
# local but slow on a loaded machine.
dl_timeout=${VIREO_ROOTFS_TIMEOUT:-900}
dbs_timeout=1200
dbs_log=$guest/debootstrap.log
if [ ! -s "$tarball" ]; then
	log "downloading Debian $suite packages from $mirror (minbase + ${include[*]})"
	if ! timeout "$dl_timeout" debootstrap --variant=minbase --include="$(IFS=,; echo "${include[*]}")" \
		--make-tarball="$work/debs.tgz" "$suite" "$work/dl" "$mirror" >"$dbs_log" 2>&1; then
		die "debootstrap could not download Debian $suite from $mirror (mirror unreachable? log: $dbs_log)"
	fi
	mv -f "$work/debs.tgz" "$tarball"
	for f in "$guest/debs/"debootstrap-*.tgz; do
		[ -f "$f" ] && [ "$f" != "$tarball" ] && rm -f "$f"
	done
	rm -rf "$work/dl"
else
	log "using cached packages $(basename "$tarball")"
fi

root=$work/root
log "installing Debian $suite into a temporary tree"
if ! timeout "$dbs_timeout" debootstrap --variant=minbase --include="$(IFS=,; echo "${include[*]}")" \
	--unpack-tarball="$tarball" "$suite" "$root" "$mirror" >"$dbs_log" 2>&1; then
	# A broken tarball would fail every time: download again next run.
	rm -f "$tarball"
	die "debootstrap failed to install Debian $suite (log: $dbs_log)"
fi

log "configuring (init, network, ssh)"
install -m 0755 "$src/vireo-init" "$root/sbin/vireo-init"
mkdir -p "$root/etc/udhcpc"
install -m 0755 "$src/udhcpc.script" "$root/etc/udhcpc/default.script"
# busybox fills the gaps of minbase (no init system, no iproute2): a link for
# each applet that Debian does not provide, in /usr/local/sbin, which is in
# every PATH including sshd's.
n_links=0
while read -r applet; do
	a=${applet##*/}
	case "$a" in ''|busybox|sh|init|linuxrc) continue ;; esac
	have=0
	for d in bin sbin usr/bin usr/sbin usr/local/bin usr/local/sbin; do
		if [ -e "$root/$d/$a" ] || [ -L "$root/$d/$a" ]; then have=1; break; fi
	done
	[ "$have" = 0 ] || continue
	ln -s /bin/busybox "$root/usr/local/sbin/$a"
	n_links=$((n_links + 1))
done < <(chroot "$root" /bin/busybox --list-full)
echo vireo > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tvireo\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
printf '/dev/vda\t/\text4\trw,relatime\t0 1\n' > "$root/etc/fstab"
# vireo's --net user DNS; replaced by udhcpc's lease at boot.
echo 'nameserver 10.0.2.3' > "$root/etc/resolv.conf"
: > "$root/etc/machine-id"

# Host keys now: generating them at boot takes minutes on a software CPU.
rm -f "$root"/etc/ssh/ssh_host_*
chroot "$root" ssh-keygen -A >/dev/null || die "ssh-keygen -A in the image failed"
mkdir -p "$root/etc/ssh/sshd_config.d"
cat > "$root/etc/ssh/sshd_config.d/vireo.conf" <<'EOF'
# vireo disk guest: root logs in with the key from the host's guest cache.
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
EOF
install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$key.pub" "$root/root/.ssh/authorized_keys"

# Smaller image: package caches and lists are not needed to boot.
chroot "$root" apt-get clean >/dev/null 2>&1 || true
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
	"$root"/var/log/*.log "$root"/var/log/apt/* "$root"/debootstrap
mkdir -p "$root/var/lib/apt/lists/partial"

log "making the ext4 file system ($size)"
# -d copies the tree (owners, modes, links, device nodes, xattrs) without
# mounting anything; inode tables are initialised now, so the first boot on a
# slow CPU spends no time in ext4lazyinit.
mkfs.ext4 -q -F -L vireo-root -d "$root" -E lazy_itable_init=0,lazy_journal_init=0 \
	"$work/root.raw" "$size" >/dev/null || die "mkfs.ext4 -d failed (e2fsprogs >= 1.43 needed)"
rm -rf "$root"

log "converting to qcow2 with vireo img convert"
"$vireo" img convert -f raw -O qcow2 "$work/root.raw" "$work/debian.qcow2" ||
	die "vireo img convert failed"
rm -f "$work/root.raw"

# Install; the stamp goes last so an interrupted build is never "complete".
rm -f "$guest/rootfs.stamp"
mv -f "$work/debian.qcow2" "$image"
echo "$cmdline_disk" > "$guest/cmdline.disk"
echo "$stamp" > "$guest/rootfs.stamp"
log "ready: $image ($(du -k "$image" | cut -f1) KiB, $n_links busybox links); boot it with:"
log "  vireo run --disk $image --rng --cmdline \"\$(cat $guest/cmdline.disk)\""
