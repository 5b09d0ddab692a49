# shellcheck shell=bash
# Helpers for the Debian disk guest tests (sourced, not run). They build on
# tests/linux/lib.sh (lx_init, lx_autorun, lx_initrd, run_vm, expect_*) and
# add the disk image: RF_IMAGE (the cached guest/debian.qcow2, never written)
# and RF_OVERLAY, a qcow2 overlay on it that the guest boots from.

. "$(dirname "${BASH_SOURCE[0]}")/../linux/lib.sh"

# rf_init VIREO: lx_init plus the image and an overlay on it; skips (with the
# reason) when the image was not built, e.g. because the mirror was down.
rf_init()
{
	lx_init "$1"
	RF_IMAGE=$LX_GUEST_DIR/debian.qcow2
	RF_KEY=$LX_GUEST_DIR/id_ed25519
	[ -s "$RF_IMAGE" ] && [ -s "$LX_GUEST_DIR/rootfs.stamp" ] ||
		it_skip "Debian disk image not built: $RF_IMAGE (scripts/build-rootfs.sh; see its log $LX_GUEST_DIR/debootstrap.log)"
	if [ -s "$LX_GUEST_DIR/cmdline.disk" ]; then
		LX_CMDLINE=$(cat "$LX_GUEST_DIR/cmdline.disk")
	else
		LX_CMDLINE="console=ttyS0 panic=-1 quiet root=/dev/vda rw"
	fi
	RF_OVERLAY=$IT_WORK/overlay.qcow2
	"$VIREO" img create -f qcow2 -b "$RF_IMAGE" -F qcow2 "$RF_OVERLAY" >/dev/null ||
		{ echo "ERROR: vireo img create -b $RF_IMAGE failed"; exit 1; }
	RF_IMAGE_SUM=$(sha256sum <"$RF_IMAGE" | cut -d' ' -f1)
}

# rf_check_base: the cached image is unchanged (the guest wrote the overlay).
rf_check_base()
{
	[ "$(sha256sum <"$RF_IMAGE" | cut -d' ' -f1)" = "$RF_IMAGE_SUM" ] ||
		it_report "the cached image $RF_IMAGE was modified"
}
