#!/usr/bin/env python3
"""vessel-img against qemu-img as the oracle: images vessel-img creates pass `qemu-img check`,
images qemu-img creates pass `vessel-img info/check`, and `convert` both ways gives images
`qemu-img compare` calls identical. Errors are one line with a non-zero exit status.

Usage: test-vessel-img.py PATH/TO/vessel-img
Without /usr/bin/qemu-img (Debian package qemu-utils) the oracle cases are skipped."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

VI = sys.argv[1]
QEMU_IMG = shutil.which("qemu-img")
QEMU_IO = shutil.which("qemu-io")
passed = failed = skipped = 0


def run(args, timeout=120):
    try:
        p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "timeout"
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def vi(*args):
    return run([VI] + list(args))


def qi(*args):
    return run([QEMU_IMG] + list(args))


def expect_ok(name, res):
    rc, out, err = res
    check(name, rc == 0, f"exit {rc}: {err.strip()} {out.strip()[-300:]}")
    return out


def expect_error(name, res, words, code=1):
    rc, out, err = res
    lines = err.strip().splitlines()
    check(name, rc == code and len(lines) == 1 and all(w in err for w in words)
          and "Sanitizer" not in err,
          f"exit {rc}, stderr {err.strip()!r}, want {words}")


def write_pattern(path, size, seed):
    """A sparse raw file: a few data runs and zero gaps."""
    with open(path, "wb") as f:
        f.truncate(size)
        for i, off in enumerate(range(0, size, size // 7)):
            f.seek(off + 4096 * i)
            f.write(bytes((seed + i + j * 7) & 0xff for j in range(70000)))


def main():
    global skipped
    tmp = tempfile.mkdtemp(prefix="vessel-img-")
    p = lambda name: os.path.join(tmp, name)

    # Usage errors: one line, exit 1.
    expect_error("no command", vi(), ["command"])
    expect_error("unknown command", vi("frobnicate"), ["frobnicate"])
    expect_error("create without size", vi("create", p("x.qcow2")), ["SIZE"])
    expect_error("bad size", vi("create", p("x.qcow2"), "12XB"), ["12XB"])
    expect_error("bad format", vi("create", "-f", "vmdk", p("x"), "1M"), ["vmdk"])
    expect_error("bad cluster size", vi("create", "-o", "cluster_size=1000", p("x"), "1M"),
                 ["cluster size"])
    expect_error("raw with backing", vi("create", "-f", "raw", "-b", "y", p("x"), "1M"),
                 ["backing"])
    expect_error("missing backing", vi("create", "-b", "nope.qcow2", p("x.qcow2")),
                 ["nope.qcow2"])
    expect_error("info of missing file", vi("info", p("nope")), ["nope", "No such file"])
    expect_error("convert without -O", vi("convert", p("a"), p("b")), ["-O"])
    garbage = p("garbage.qcow2")
    with open(garbage, "wb") as f:
        f.write(b"QFI\xfb" + struct.pack(">I", 3) + os.urandom(200))
    expect_error("check of a garbage qcow2", vi("check", garbage), ["garbage.qcow2"])
    hostile = p("hostile.qcow2")
    expect_ok("create for patching", vi("create", hostile, "1M"))
    with open(hostile, "r+b") as f:
        f.seek(72)
        f.write(struct.pack(">Q", 1 << 5))
    expect_error("unknown incompatible bit", vi("info", hostile),
                 ["unknown incompatible feature bit 5"])
    out = expect_ok("help", vi("--help"))
    check("help text", "convert" in out)

    # Vessel creates; qemu-img checks.
    expect_ok("create qcow2", vi("create", p("v.qcow2"), "1G"))
    expect_ok("create qcow2 v2 4k", vi("create", "-o", "compat=0.10,cluster_size=4k",
                                       p("v2.qcow2"), "100M"))
    expect_ok("create raw", vi("create", "-f", "raw", p("v.raw"), "10M"))
    check("raw size", os.path.getsize(p("v.raw")) == 10 << 20)
    expect_ok("create overlay", vi("create", "-b", "v.qcow2", p("ov.qcow2")))
    out = expect_ok("info overlay", vi("info", p("ov.qcow2")))
    check("info shows the backing file", "backing file: v.qcow2" in out and
          "backing file format: qcow2" in out and "1073741824 bytes" in out, out)
    out = expect_ok("check clean", vi("check", p("v.qcow2")))
    check("check says clean", "No errors were found" in out, out)

    if not QEMU_IMG:
        print("SKIP qemu-img oracle cases: qemu-img not found (install qemu-utils)")
        skipped += 1
    else:
        for img in ("v.qcow2", "v2.qcow2", "ov.qcow2"):
            expect_ok(f"qemu-img check {img}", qi("check", p(img)))
        out = expect_ok("qemu-img info overlay", qi("info", p("ov.qcow2")))
        check("qemu sees the backing file", "backing file: v.qcow2" in out, out)

        # qemu-img creates; Vessel reads.
        expect_ok("qemu create v3", qi("create", "-f", "qcow2", p("q.qcow2"), "64M"))
        expect_ok("qemu create v2", qi("create", "-f", "qcow2", "-o", "compat=0.10",
                                       p("q2.qcow2"), "64M"))
        expect_ok("qemu overlay", qi("create", "-f", "qcow2", "-b", "q.qcow2", "-F", "qcow2",
                                     p("qo.qcow2")))
        if QEMU_IO:
            expect_ok("qemu-io write", run([QEMU_IO, "-c", "write -P 0x5a 1M 3M",
                                            "-c", "write -z 2M 64k", p("q.qcow2")]))
        for img in ("q.qcow2", "q2.qcow2", "qo.qcow2"):
            out = expect_ok(f"vessel info {img}", vi("info", p(img)))
            check(f"info {img} size", "67108864 bytes" in out, out)
            out = expect_ok(f"vessel check {img}", vi("check", p(img)))
            check(f"check {img} clean", "No errors were found" in out, out)

        # convert both ways, compared by qemu-img.
        src = p("src.raw")
        write_pattern(src, 24 << 20, 3)
        expect_ok("convert raw->qcow2", vi("convert", "-O", "qcow2", src, p("c.qcow2")))
        expect_ok("qemu check converted", qi("check", p("c.qcow2")))
        expect_ok("qemu compare raw qcow2", qi("compare", src, p("c.qcow2")))
        expect_ok("convert qcow2->raw", vi("convert", "-O", "raw", p("c.qcow2"), p("c.raw")))
        expect_ok("qemu compare qcow2 raw", qi("compare", p("c.qcow2"), p("c.raw")))
        check("raw output is sparse",
              os.stat(p("c.raw")).st_blocks * 512 < os.path.getsize(p("c.raw")))
        expect_ok("convert small clusters", vi("convert", "-O", "qcow2", "-o",
                                               "cluster_size=512", src, p("c512.qcow2")))
        expect_ok("qemu check small clusters", qi("check", p("c512.qcow2")))
        expect_ok("qemu compare small clusters", qi("compare", src, p("c512.qcow2")))
        # qemu-made compressed image and an overlay chain, converted by Vessel.
        expect_ok("qemu compress", qi("convert", "-c", "-O", "qcow2", src, p("z.qcow2")))
        expect_ok("convert compressed", vi("convert", "-O", "raw", p("z.qcow2"), p("z.raw")))
        expect_ok("compare decompressed", qi("compare", src, p("z.raw")))
        expect_ok("convert chain", vi("convert", "-f", "qcow2", "-O", "qcow2", p("qo.qcow2"),
                                      p("flat.qcow2")))
        expect_ok("compare flattened chain", qi("compare", p("qo.qcow2"), p("flat.qcow2")))
        expect_ok("qemu check flattened", qi("check", p("flat.qcow2")))
        # qemu converts Vessel's images too.
        expect_ok("qemu reads vessel qcow2", qi("convert", "-O", "raw", p("c.qcow2"),
                                                p("q.raw")))
        expect_ok("compare", qi("compare", src, p("q.raw")))

        # check exit codes: leaks 3, corruption 2, repaired 0.
        leak = p("leak.qcow2")
        expect_ok("create", vi("create", leak, "1M"))
        with open(leak, "r+b") as f:
            f.seek(48)
            rt = struct.unpack(">Q", f.read(8))[0]
            f.seek(rt)
            rb = struct.unpack(">Q", f.read(8))[0]
            f.seek(rb + 2 * 8)  # refcount of cluster 8, past everything in use
            f.write(struct.pack(">H", 1))
            f.truncate(9 * 65536)
        rc, out, _ = vi("check", leak)
        check("leak exit 3", rc == 3 and "leaked clusters" in out, f"{rc} {out}")
        check("qemu agrees on the leak", qi("check", leak)[0] == 3)
        rc, out, _ = vi("check", "--repair", leak)
        check("repair exit 0", rc == 0 and "repaired" in out, f"{rc} {out}")
        expect_ok("qemu check after repair", qi("check", leak))
        bad = p("bad.qcow2")
        expect_ok("create", vi("create", bad, "1M"))
        with open(bad, "r+b") as f:
            f.seek(48)
            rt = struct.unpack(">Q", f.read(8))[0]
            f.seek(rt)
            rb = struct.unpack(">Q", f.read(8))[0]
            f.seek(rb)
            f.write(struct.pack(">H", 0))  # the header cluster's refcount
        rc, out, _ = vi("check", bad)
        check("corruption exit 2", rc == 2 and "errors were found" in out, f"{rc} {out}")
        check("qemu agrees on the corruption", qi("check", bad)[0] == 2)
        rc, out, _ = vi("check", "-r", bad)
        check("repair corruption", rc == 0, f"{rc} {out}")
        expect_ok("qemu check after repair", qi("check", bad))

    shutil.rmtree(tmp)
    print(f"vessel-img: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
