#!/usr/bin/env python3
"""virtio-blk in the test guest (riscv64, or arm64 with VESSEL_TEST_ARCH=arm64), with
qemu-img / qemu-io as the oracle.

- qcow2 (made by qemu-img, pattern written by qemu-io) and raw disks: the guest reads the
  pattern (sha256 compared with the host's), writes its own pattern, discards a range of
  the raw disk, powers off; qemu-img check is clean and qemu-img compare says the images
  equal what the host expects. Once on io_uring, once with VESSEL_AIO=threads.
- a qcow2 over a qcow2 backing file: reads fall through, writes land in the top image,
  the base is unchanged.
- --disk FILE,readonly and --iso FILE: reads work, writes fail, the files are unchanged.
- durability: the guest writes with conv=fsync (a FLUSH), prints a marker, and the test
  kill -9s vessel-run: the data is in the image and qemu-img check is clean.
- guest resets with I/O in flight on both disks, 8 in a row: no hang, qcow2 stays clean.
- bad host input: a missing file, a file that claims qcow2 but is not, an image in use by
  another program (qemu-io holding it): vessel-run exits 1 with a clear message; and while
  Vessel holds an image, qemu-io / qemu-img refuse it (the locks are QEMU-compatible).

On arm64 a representative subset runs (the rest is host-side code the riscv64 run covers):
the qcow2 + raw read/write/discard run on the default AIO back end, the read-only disk and
ISO, and the kill -9 durability run.
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import guestlib

MiB = 1 << 20


def sh(args, check=True):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode(errors="replace")
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(args), p.returncode, out))
    return p.returncode, out


def make_raw(path, size, patterns):
    """A raw file of `size` bytes with patterns [(offset, length, byte)] (a sparse file)."""
    with open(path, "wb") as f:
        f.truncate(size)
        for off, length, byte in patterns:
            f.seek(off)
            f.write(bytes([byte]) * length)


def sha(byte, length):
    return hashlib.sha256(bytes([byte]) * length).hexdigest()


def compare(c, image, fmt, expected, what):
    rc, out = sh(["qemu-img", "compare", "-f", fmt, "-F", "raw", image, expected], check=False)
    c.check(rc == 0 and "identical" in out, "%s: qemu-img compare: %s" % (what, out.strip()))


def qcheck(c, image, what):
    rc, out = sh(["qemu-img", "check", image], check=False)
    c.check(rc == 0 and "No errors were found" in out,
            "%s: qemu-img check: %s" % (what, out.strip()))


def rw_test(c, vessel_run, files, wd, env_aio):
    tag = "[aio=%s] " % (env_aio or "default")
    q = os.path.join(wd, "d.qcow2")
    r = os.path.join(wd, "d.raw")
    for p in (q, r):
        if os.path.exists(p):
            os.unlink(p)
    sh(["qemu-img", "create", "-f", "qcow2", q, "64M"])
    sh(["qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 1M", q])
    sh(["qemu-img", "create", "-f", "raw", r, "16M"])
    sh(["qemu-io", "-f", "raw", "-c", "write -P 0xcd 0 2M", r])
    script = r"""
echo vda-sha=$(dd if=/dev/vda bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
echo vdb-sha=$(dd if=/dev/vdb bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
echo vda-size=$(cat /sys/block/vda/size) vdb-size=$(cat /sys/block/vdb/size)
echo vda-serial=$(cat /sys/block/vda/serial)
head -c 1048576 /dev/zero | tr '\000' '\132' | dd of=/dev/vda bs=65536 seek=48 conv=fsync 2>/dev/null && echo vda-write-ok
head -c 524288 /dev/zero | tr '\000' '\145' | dd of=/dev/vdb bs=4096 seek=1024 oflag=direct conv=fsync 2>/dev/null && echo vdb-write-ok
blkdiscard -o 1048576 -l 1048576 /dev/vdb && echo vdb-discard-ok
echo vdb-after=$(dd if=/dev/vdb bs=1M skip=1 count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
echo vda-back=$(dd if=/dev/vda bs=1M skip=3 count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
"""
    initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/test.sh": script}, wd)
    cmd = guestlib.command(vessel_run, files, run="sh /t/test.sh", initrd=initrd,
                           extra=["--disk", q, "--disk", r + ",format=raw"])
    env = dict(os.environ)
    if env_aio:
        env["VESSEL_AIO"] = env_aio
    else:
        env.pop("VESSEL_AIO", None)
    print("$ VESSEL_AIO=%s ..." % env.get("VESSEL_AIO", ""))
    old = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        status, out = guestlib.run(cmd)
    finally:
        os.environ.clear()
        os.environ.update(old)
    c.check(status == 0, tag + "exit status %r" % status)
    c.expect(out, "vda-sha=" + sha(0xab, MiB))
    c.expect(out, "vdb-sha=" + sha(0xcd, MiB))
    c.expect(out, "vda-size=131072 vdb-size=32768")
    c.expect(out, "vda-serial=d.qcow2")
    c.expect(out, "vda-write-ok")
    c.expect(out, "vdb-write-ok")
    c.expect(out, "vdb-discard-ok")
    c.expect(out, "vdb-after=" + sha(0, MiB))
    c.expect(out, "vda-back=" + sha(0x5a, MiB))
    c.expect(out, "VESSEL-RUN-EXIT=0")
    qcheck(c, q, tag + "qcow2")
    exp_q = os.path.join(wd, "expect-q.raw")
    make_raw(exp_q, 64 * MiB, [(0, MiB, 0xab), (3 * MiB, MiB, 0x5a)])
    compare(c, q, "qcow2", exp_q, tag + "qcow2")
    # Raw: 0xcd in [0, 1M) and the rest of the qemu-io pattern discarded; 0x65 at 4M.
    exp_r = os.path.join(wd, "expect-r.raw")
    make_raw(exp_r, 16 * MiB, [(0, MiB, 0xcd), (4 * MiB, 512 * 1024, 0x65)])
    compare(c, r, "raw", exp_r, tag + "raw")


def backing_test(c, vessel_run, files, wd):
    base = os.path.join(wd, "base.qcow2")
    top = os.path.join(wd, "top.qcow2")
    sh(["qemu-img", "create", "-f", "qcow2", base, "32M"])
    sh(["qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 2M", base])
    sh(["qemu-img", "create", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", top])
    script = r"""
echo top-sha=$(dd if=/dev/vda bs=1M count=2 2>/dev/null | sha256sum | cut -d' ' -f1)
head -c 65536 /dev/zero | tr '\000' '\042' | dd of=/dev/vda bs=512 seek=1024 conv=fsync 2>/dev/null && echo top-write-ok
"""
    initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/test.sh": script}, wd)
    cmd = guestlib.command(vessel_run, files, run="sh /t/test.sh", initrd=initrd,
                           extra=["--disk", top])
    status, out = guestlib.run(cmd)
    c.check(status == 0, "backing: exit status %r" % status)
    c.expect(out, "top-sha=" + sha(0x11, 2 * MiB))
    c.expect(out, "top-write-ok")
    qcheck(c, top, "backing top")
    qcheck(c, base, "backing base")
    exp = os.path.join(wd, "expect-top.raw")
    make_raw(exp, 32 * MiB, [(0, 2 * MiB, 0x11), (512 * 1024, 65536, 0x22)])
    compare(c, top, "qcow2", exp, "backing top")
    expb = os.path.join(wd, "expect-base.raw")
    make_raw(expb, 32 * MiB, [(0, 2 * MiB, 0x11)])
    compare(c, base, "qcow2", expb, "backing base unchanged")


def readonly_test(c, vessel_run, files, wd):
    r = os.path.join(wd, "ro.raw")
    iso = os.path.join(wd, "media.iso")
    make_raw(r, 4 * MiB, [(0, MiB, 0x77)])
    make_raw(iso, 2 * MiB, [(0, MiB, 0x88)])
    before = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in (r, iso)]
    script = r"""
echo ro=$(cat /sys/block/vda/ro)$(cat /sys/block/vdb/ro)
echo vda-sha=$(dd if=/dev/vda bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
echo vdb-sha=$(dd if=/dev/vdb bs=1M count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
for d in vda vdb; do
  if echo x | dd of=/dev/$d conv=fsync 2>/dev/null; then echo $d-write-succeeded; else echo $d-write-failed; fi
done
"""
    initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/test.sh": script}, wd)
    cmd = guestlib.command(vessel_run, files, run="sh /t/test.sh", initrd=initrd,
                           extra=["--disk", r + ",readonly", "--iso", iso])
    status, out = guestlib.run(cmd)
    c.check(status == 0, "readonly: exit status %r" % status)
    c.expect(out, "ro=11")
    c.expect(out, "vda-sha=" + sha(0x77, MiB))
    c.expect(out, "vdb-sha=" + sha(0x88, MiB))
    c.expect(out, "vda-write-failed")
    c.expect(out, "vdb-write-failed")
    after = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in (r, iso)]
    c.check(before == after, "readonly: a read-only image changed")


def kill_at_marker(cmd, marker, timeout=240):
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = b""
    t0 = time.monotonic()
    import select
    while time.monotonic() - t0 < timeout:
        rd, _, _ = select.select([p.stdout], [], [], 1.0)
        if rd:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
            if marker.encode() in out:
                p.send_signal(signal.SIGKILL)
                p.wait()
                print(out.decode(errors="replace")[-3000:])
                return True, out.decode(errors="replace")
    p.kill()
    p.wait()
    print(out.decode(errors="replace")[-3000:])
    return False, out.decode(errors="replace")


def durability_test(c, vessel_run, files, wd):
    q = os.path.join(wd, "dur.qcow2")
    r = os.path.join(wd, "dur.raw")
    sh(["qemu-img", "create", "-f", "qcow2", q, "32M"])
    sh(["qemu-img", "create", "-f", "raw", r, "8M"])
    # The qcow2 write allocates clusters (metadata must be durable too); the marker comes
    # only after dd's fsync (a virtio-blk FLUSH) returned.
    script = r"""
head -c 1048576 /dev/zero | tr '\000' '\063' | dd of=/dev/vda bs=65536 seek=80 conv=fsync 2>/dev/null || echo write-failed
head -c 262144 /dev/zero | tr '\000' '\064' | dd of=/dev/vdb bs=4096 seek=100 conv=fsync 2>/dev/null || echo write-failed
echo DURABLE-MARK
sleep 1000
"""
    initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/test.sh": script}, wd)
    cmd = guestlib.command(vessel_run, files, run="sh /t/test.sh", initrd=initrd,
                           extra=["--disk", q, "--disk", r])
    killed, out = kill_at_marker(cmd, "DURABLE-MARK")
    c.check(killed, "durability: the marker never came")
    c.check("write-failed" not in out, "durability: a guest write failed")
    qcheck(c, q, "durability qcow2 after kill -9")
    exp = os.path.join(wd, "expect-dur-q.raw")
    make_raw(exp, 32 * MiB, [(80 * 65536, MiB, 0x33)])
    compare(c, q, "qcow2", exp, "durability qcow2")
    exp = os.path.join(wd, "expect-dur-r.raw")
    make_raw(exp, 8 * MiB, [(100 * 4096, 262144, 0x34)])
    compare(c, r, "raw", exp, "durability raw")


def reset_test(c, vessel_run, files, wd):
    """Guest resets (reboot -f) with reads and writes in flight on both disks, 8 times in a
    row (vessel-run then stops with status 3): no hang, no crash, the qcow2 stays clean."""
    q = os.path.join(wd, "reset.qcow2")
    r = os.path.join(wd, "reset.raw")
    sh(["qemu-img", "create", "-f", "qcow2", q, "32M"])
    sh(["qemu-img", "create", "-f", "raw", r, "8M"])
    script = r"""
(while :; do dd if=/dev/urandom of=/dev/vda bs=64k seek=$((RANDOM % 400)) count=16 oflag=direct 2>/dev/null; done) &
(while :; do dd if=/dev/vda of=/dev/null bs=64k iflag=direct 2>/dev/null; done) &
(while :; do dd if=/dev/zero of=/dev/vdb bs=64k count=64 oflag=direct 2>/dev/null; done) &
sleep 0.3
echo RESETTING
reboot -f
"""
    initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/reset.sh": script}, wd)
    cmd = guestlib.command(vessel_run, files, run="sh /t/reset.sh", initrd=initrd,
                           extra=["--disk", q, "--disk", r])
    status, out = guestlib.run(cmd, show=1500)
    c.check(status == 3, "reset: exit status %r (expected 3: the reset loop stop)" % status)
    c.check(out.count("RESETTING") == 8, "reset: %d resets seen" % out.count("RESETTING"))
    qcheck(c, q, "reset with I/O in flight")


def bad_input_test(c, vessel_run, files, wd):
    def run_bad(disk_args, want, what):
        cmd = guestlib.command(vessel_run, files, extra=disk_args)
        status, out = guestlib.run(cmd, timeout=60)
        c.check(status == 1, "%s: exit status %r (expected 1)" % (what, status))
        c.check(want in out, "%s: message lacks %r" % (what, want))

    missing = os.path.join(wd, "no-such.qcow2")
    run_bad(["--disk", missing], "cannot open disk image '%s': No such file" % missing,
            "missing file")
    fake = os.path.join(wd, "fake.qcow2")
    with open(fake, "wb") as f:
        f.write(b"QFI\xfb" + b"\x00\x00\x00\x03" + os.urandom(4000))
    run_bad(["--disk", fake], "cannot open disk image '%s'" % fake, "garbage claiming qcow2")
    text = os.path.join(wd, "notes.txt")
    with open(text, "w") as f:
        f.write("not a disk image\n")
    run_bad(["--disk", text + ",format=qcow2"], "not a qcow2 image", "text file as qcow2")
    # An image QEMU holds open for writing (qemu-io sleeping with it open).
    busy = os.path.join(wd, "busy.qcow2")
    sh(["qemu-img", "create", "-f", "qcow2", busy, "16M"])
    holder = subprocess.Popen(["qemu-io", "-f", "qcow2", "-c", "sleep 60000", busy],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        run_bad(["--disk", busy], "the image is in use by another program", "image in use")
    finally:
        holder.kill()
        holder.wait()
    # The other way round: while Vessel runs with the image, QEMU may not write it, nor
    # open it for checking (Vessel does not share writing).
    script = "echo HOLDING-DISK; sleep 1000\n"
    initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/hold.sh": script}, wd)
    cmd = guestlib.command(vessel_run, files, run="sh /t/hold.sh", initrd=initrd,
                           extra=["--disk", busy])
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        out = b""
        t0 = time.monotonic()
        while b"HOLDING-DISK" not in out and time.monotonic() - t0 < 120:
            chunk = p.stdout.read1(65536)
            if not chunk:
                break
            out += chunk
        c.check(b"HOLDING-DISK" in out, "lock: the holding guest did not start")
        rc, qout = sh(["qemu-io", "-f", "qcow2", "-c", "write 0 512", busy], check=False)
        c.check(rc != 0 and "lock" in qout, "lock: qemu-io wrote an image Vessel uses: " + qout)
        rc, qout = sh(["qemu-img", "check", busy], check=False)
        c.check(rc != 0 and "lock" in qout, "lock: qemu-img opened an image Vessel writes")
    finally:
        p.kill()
        p.wait()


def main():
    vessel_run = sys.argv[1]
    files = guestlib.assets_or_skip()
    for tool in ("qemu-img", "qemu-io"):
        if not shutil.which(tool):
            print("SKIP: %s is not installed (the oracle for this test)" % tool)
            return guestlib.SKIP
    c = guestlib.Checker()
    with guestlib.tempdir("vessel-blk-") as wd:
        rw_test(c, vessel_run, files, wd, None)
        if guestlib.ARCH != "riscv64":
            readonly_test(c, vessel_run, files, wd)
            durability_test(c, vessel_run, files, wd)
            return c.finish()
        rw_test(c, vessel_run, files, wd, "threads")
        backing_test(c, vessel_run, files, wd)
        readonly_test(c, vessel_run, files, wd)
        durability_test(c, vessel_run, files, wd)
        reset_test(c, vessel_run, files, wd)
        bad_input_test(c, vessel_run, files, wd)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
