#!/usr/bin/env python3
"""Checks the default guest against the reference, QEMU (TCG): test mode
(an appended /autorun.sh runs and the VM powers off by itself) and
interactive mode (a shell prompt on the serial console, a command typed at
it runs, `poweroff` ends the VM). QEMU is only a test reference here; vireo
never depends on it.

Exit status: 0 pass, 1 fail, 77 skip (no QEMU or no guest), as meson expects.
Usage: scripts/check-guest-qemu.py [GUEST_DIR]
"""
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOT_TIMEOUT = 90  # seconds; TCG boots this guest in ~3 s when idle


def guest_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    if os.environ.get("VIREO_GUEST_DIR"):
        return os.environ["VIREO_GUEST_DIR"]
    out = subprocess.run([os.path.join(REPO, "scripts/build-guest.sh"), "--print-dir"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def qemu_cmd(g, initrd):
    with open(os.path.join(g, "cmdline.default")) as f:
        cmdline = f.read().strip()
    return ["qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-nographic",
            "-no-reboot", "-kernel", os.path.join(g, "vmlinuz"),
            "-initrd", initrd, "-append", cmdline]


class Console:
    """QEMU's serial console on pipes: wait for text, type lines."""

    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.buf = b""

    def expect(self, text, timeout=BOOT_TIMEOUT):
        want = text.encode()
        end = time.monotonic() + timeout
        while want not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 4096)
                if not chunk:
                    return want in self.buf
                self.buf += chunk
        return True

    def send(self, line):
        self.p.stdin.write(line.encode() + b"\r")
        self.p.stdin.flush()

    def finish(self, timeout=30):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None
        finally:
            rest = self.p.stdout.read()
            if rest:
                self.buf += rest
        return self.p.returncode

    def text(self):
        return self.buf.decode(errors="replace")


def fail(what, con):
    print("FAIL: " + what)
    print("---- console ----")
    print(con.text()[-3000:])
    return 1


def main():
    if not shutil.which("qemu-system-x86_64"):
        print("SKIP: qemu-system-x86_64 not installed")
        return 77
    g = guest_dir()
    for f in ("vmlinuz", "initramfs.cpio.gz", "cmdline.default", "version"):
        if not os.path.isfile(os.path.join(g, f)):
            print("SKIP: no default guest in %s (run scripts/build-guest.sh)" % g)
            return 77
    with open(os.path.join(g, "version")) as f:
        kver = f.read().strip()
    banner = "vireo guest: Debian %s + busybox" % kver

    # Test mode: /autorun.sh from an appended archive, then power-off.
    with tempfile.TemporaryDirectory() as tmp:
        img = os.path.join(tmp, "autorun.img")
        subprocess.run([os.path.join(REPO, "scripts/guest-autorun.sh"), "-", img,
                        os.path.join(g, "initramfs.cpio.gz")],
                       input=b"echo autorun-$((6 * 7)); uname -r\n", check=True)
        con = Console(qemu_cmd(g, img))
        con.p.stdin.close()
        rc = con.finish(BOOT_TIMEOUT)
        if rc is None:
            return fail("autorun guest did not power off within %d s" % BOOT_TIMEOUT, con)
        for want in (banner, "autorun-42", kver, "reboot: Power down"):
            if want not in con.text():
                return fail("autorun guest: no '%s' on the console" % want, con)
        print("ok: autorun guest ran /autorun.sh and powered off (qemu status %d)" % rc)

    # Interactive mode: a prompt, a command, and poweroff from the shell.
    con = Console(qemu_cmd(g, os.path.join(g, "initramfs.cpio.gz")))
    try:
        if not con.expect(banner) or not con.expect("root@vireo:~# "):
            return fail("no shell prompt", con)
        con.send("echo typed-$((6 * 7)) $(tty)")
        if not con.expect("typed-42 /dev/ttyS0", 30):
            return fail("typed command did not run on /dev/ttyS0", con)
        con.send("poweroff")
        rc = con.finish(30)
        if rc is None or "reboot: Power down" not in con.text():
            return fail("poweroff at the prompt did not stop the VM", con)
        print("ok: interactive guest: prompt, command, poweroff (qemu status %d)" % rc)
    finally:
        if con.p.poll() is None:
            con.p.kill()
            con.p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
