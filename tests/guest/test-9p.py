#!/usr/bin/env python3
"""virtio-9p shared folders in the test guest (vessel-run --share): riscv64, or arm64 with
VESSEL_TEST_ARCH=arm64 (everything but the two bad-path runs, which are host-side).

- The guest mounts a read-write share (mount -t 9p -o trans=virtio,version=9p2000.L),
  reads a host file (sha256 compared with the host's), writes a file back (checked on the
  host), makes, renames and removes files and directories (checked on the host).
- chmod and chown in the guest show in `ls -ln` in the guest, while the host file stays
  owned by the host user with its host mode (the mapped-xattr model).
- A guest symlink and a guest FIFO are regular files on the host.
- A host symlink in the share pointing outside it (absolute and relative) cannot be used
  to read the file outside.
- A second, read-only share refuses writes, creates, removes and chmod.
- The guest resets (reboot -f) three times with 9p reads and writes in flight; each boot
  mounts the share again (a new session) and the last one reads it correctly.
- A share path that is a file or does not exist is a clear error.
"""
import hashlib
import os
import stat
import sys
import tempfile

import guestlib

SCRIPT = r"""
mkdir -p /mnt/rw /mnt/ro
mount -t 9p -o trans=virtio,version=9p2000.L rwshare /mnt/rw && echo mounted-rw
mount -t 9p -o trans=virtio,version=9p2000.L roshare /mnt/ro && echo mounted-ro
echo "sha=$(sha256sum /mnt/rw/data.bin | cut -d' ' -f1)"
i=0; while [ $i -lt 200 ]; do echo "guest line $i"; i=$((i+1)); done > /mnt/rw/from-guest.txt
sync
echo wrote-from-guest
mkdir /mnt/rw/newdir && echo payload > /mnt/rw/newdir/f && mv /mnt/rw/newdir /mnt/rw/renamed \
  && echo moved
mkdir /mnt/rw/tmpdir && echo x > /mnt/rw/tmpdir/y && rm -r /mnt/rw/tmpdir && echo removed
echo owned > /mnt/rw/owned.txt
chmod 640 /mnt/rw/owned.txt && chown 1234:4321 /mnt/rw/owned.txt && echo chowned
ls -ln /mnt/rw/owned.txt | sed 's/^/LS:/'
ln -s /etc/passwd /mnt/rw/guest-link && echo "link=$(readlink /mnt/rw/guest-link)"
mkfifo /mnt/rw/guest-fifo && ls -ln /mnt/rw/guest-fifo | sed 's/^/FIFO:/'
cat /mnt/rw/escape-abs/secret.txt 2>/dev/null || echo escape-abs-blocked
cat /mnt/rw/escape-rel 2>/dev/null || echo escape-rel-blocked
cat /mnt/rw/escape-file 2>/dev/null || echo escape-file-blocked
ls /mnt/rw/escape-abs/ 2>/dev/null | sed 's/^/ESCAPE-LS:/'
cat /mnt/ro/ro.txt
echo x > /mnt/ro/new.txt 2>/dev/null || echo ro-create-refused
echo x >> /mnt/ro/ro.txt 2>/dev/null || echo ro-write-refused
rm /mnt/ro/ro.txt 2>/dev/null || echo ro-rm-refused
mkdir /mnt/ro/d 2>/dev/null || echo ro-mkdir-refused
chmod 777 /mnt/ro/ro.txt 2>/dev/null || echo ro-chmod-refused
umount /mnt/rw && umount /mnt/ro && echo unmounted
"""

# Resets with 9p I/O in flight: the boot count lives in the share (it survives the reset).
RESET_SCRIPT = r"""
mkdir -p /mnt/rw
mount -t 9p -o trans=virtio,version=9p2000.L rwshare /mnt/rw || exit 1
n=$(cat /mnt/rw/boots 2>/dev/null || echo 0); n=$((n+1)); echo $n > /mnt/rw/boots
echo "boot-$n"
if [ $n -lt 4 ]; then
  (while true; do cat /mnt/rw/data.bin > /dev/null; done) &
  (while true; do echo more >> /mnt/rw/junk; ls -l /mnt/rw > /dev/null; done) &
  sleep 0.5
  echo "reset-with-io-$n"
  reboot -f
fi
echo "sha=$(sha256sum /mnt/rw/data.bin | cut -d' ' -f1)"
echo after-resets-ok
"""


def xattr_dir():
    """A directory whose filesystem has user xattrs: the temporary one, else the current."""
    for d in (tempfile.gettempdir(), os.getcwd()):
        try:
            with tempfile.NamedTemporaryFile(dir=d) as f:
                os.setxattr(f.name, "user.vessel-test", b"1")
            return d
        except OSError:
            continue
    return None


def main():
    vessel_run = sys.argv[1]
    files = guestlib.assets_or_skip()
    c = guestlib.Checker()
    wd_parent = xattr_dir()
    if not wd_parent:
        print("SKIP: neither the temporary directory nor the build directory has user xattrs,"
              " which the mapped security model (chown/chmod in the guest) needs")
        return guestlib.SKIP
    with tempfile.TemporaryDirectory(prefix="vessel-9p-", dir=wd_parent) as wd:
        rw = os.path.join(wd, "share")
        ro = os.path.join(wd, "ro")
        outside = os.path.join(wd, "outside")
        for d in (rw, ro, outside):
            os.mkdir(d)
        data = os.urandom(3 * 1024 * 1024 + 123)
        with open(os.path.join(rw, "data.bin"), "wb") as f:
            f.write(data)
        with open(os.path.join(outside, "secret.txt"), "w") as f:
            f.write("TOPSECRET-9p\n")
        os.symlink(outside, os.path.join(rw, "escape-abs"))
        os.symlink("../outside/secret.txt", os.path.join(rw, "escape-rel"))
        os.symlink(os.path.join(outside, "secret.txt"), os.path.join(rw, "escape-file"))
        with open(os.path.join(ro, "ro.txt"), "w") as f:
            f.write("read-only content\n")

        initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/test.sh": SCRIPT}, wd)
        cmd = guestlib.command(vessel_run, files, run="sh /t/test.sh", initrd=initrd,
                               extra=["--share", "path=%s,tag=rwshare" % rw,
                                      "--share", "path=%s,tag=roshare,readonly" % ro])
        status, out = guestlib.run(cmd)
        c.check(status == 0, "vessel-run exit status %r (expected 0)" % status)
        c.expect(out, "mounted-rw")
        c.expect(out, "mounted-ro")
        c.expect(out, "sha=" + hashlib.sha256(data).hexdigest())

        c.expect(out, "wrote-from-guest")
        want = "".join("guest line %d\n" % i for i in range(200))
        try:
            with open(os.path.join(rw, "from-guest.txt")) as f:
                got = f.read()
        except OSError as e:
            got = "(%s)" % e
        c.check(got == want, "from-guest.txt on the host differs (%d bytes)" % len(got))

        c.expect(out, "moved")
        c.check(not os.path.exists(os.path.join(rw, "newdir")), "newdir still on the host")
        try:
            with open(os.path.join(rw, "renamed", "f")) as f:
                c.check(f.read() == "payload\n", "renamed/f content on the host")
        except OSError as e:
            c.check(False, "renamed/f on the host: %s" % e)
        c.expect(out, "removed")
        c.check(not os.path.exists(os.path.join(rw, "tmpdir")), "tmpdir still on the host")

        c.expect(out, "chowned")
        c.check(any(l.startswith("LS:-rw-r-----") and " 1234 " in l and " 4321 " in l
                    for l in out.splitlines()), "ls -ln in the guest does not show 640 1234:4321")
        st = os.stat(os.path.join(rw, "owned.txt"))
        c.check(st.st_uid == os.getuid(), "owned.txt on the host: uid %d, expected %d"
                % (st.st_uid, os.getuid()))
        c.check(stat.S_IMODE(st.st_mode) == 0o600, "owned.txt host mode %o, expected 600"
                % stat.S_IMODE(st.st_mode))

        c.expect(out, "link=/etc/passwd")
        gl = os.path.join(rw, "guest-link")
        c.check(not os.path.islink(gl) and os.path.isfile(gl),
                "the guest symlink is not a regular file on the host")
        c.check(any(l.startswith("FIFO:p") for l in out.splitlines()),
                "the guest FIFO is not a FIFO in the guest")
        c.check(stat.S_ISREG(os.lstat(os.path.join(rw, "guest-fifo")).st_mode),
                "the guest FIFO is not a regular file on the host")

        c.check("TOPSECRET-9p" not in out, "a file outside the share was read through a symlink")
        c.expect(out, "escape-abs-blocked")
        c.expect(out, "escape-rel-blocked")
        c.expect(out, "escape-file-blocked")
        c.check("ESCAPE-LS:secret.txt" not in out, "the outside directory was listed")

        c.expect(out, "read-only content")
        for what in ("create", "write", "rm", "mkdir", "chmod"):
            c.expect(out, "ro-%s-refused" % what)
        c.check(sorted(os.listdir(ro)) == ["ro.txt"], "the read-only share changed: %s"
                % os.listdir(ro))
        with open(os.path.join(ro, "ro.txt")) as f:
            c.check(f.read() == "read-only content\n", "ro.txt changed")
        c.expect(out, "unmounted")
        c.expect(out, "VESSEL-RUN-EXIT=0")

        # Guest resets (reboot -f) while 9p requests are in flight; the last boot still
        # mounts and reads the share correctly.
        initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/reset.sh": RESET_SCRIPT},
                                       wd)
        cmd = guestlib.command(vessel_run, files, run="sh /t/reset.sh", initrd=initrd,
                               extra=["--share", "path=%s,tag=rwshare" % rw])
        status, out = guestlib.run(cmd)
        c.check(status == 0, "reset run: exit status %r (expected 0)" % status)
        for n in (1, 2, 3):
            c.expect(out, "reset-with-io-%d" % n)
        c.expect(out, "boot-4")
        c.expect(out, "sha=" + hashlib.sha256(data).hexdigest())
        c.expect(out, "after-resets-ok")
        with open(os.path.join(rw, "boots")) as f:
            c.check(f.read().strip() == "4", "the boot counter on the host is not 4")

        if guestlib.ARCH != "riscv64":
            return c.finish()
        # A share that is not a directory is a clear error at machine creation.
        cmd = guestlib.command(vessel_run, files, extra=[
            "--share", "path=%s,tag=bad" % os.path.join(ro, "ro.txt")])
        status, out = guestlib.run(cmd, timeout=60)
        c.check(status not in (0, None), "a file as share path was accepted")
        c.expect(out, "not a directory")
        cmd = guestlib.command(vessel_run, files, extra=[
            "--share", "path=%s,tag=bad" % os.path.join(wd, "missing")])
        status, out = guestlib.run(cmd, timeout=60)
        c.check(status not in (0, None), "a missing share path was accepted")
        c.expect(out, "No such file or directory")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
