"""Shared helpers for the guest tests: find the guest assets, build a vessel-run command
line, add files to the initramfs, run the guest with a timeout.

The guest architecture is $VESSEL_TEST_ARCH: riscv64 (the default: tools/guest-assets,
guest/riscv64/init, OpenSBI's fw_jump.bin) or arm64 (tools/guest-assets --arch arm64: Debian's
kernel with its modules, guest/arm64/init, booted directly). ARCH, SERIAL (the UART's
console name) and INIT_MARKER say which.

A test that needs a script in the guest adds it with extra_initrd() (Linux unpacks
concatenated cpio archives in order, so the base initramfs stays as it is) and runs it
with run="sh /t/test.sh". The guest's /init prints VESSEL-RUN-EXIT=<status> after the
command and powers off.
"""
import gzip
import io
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib

SKIP = 77

ARCH = os.environ.get("VESSEL_TEST_ARCH") or "riscv64"
if ARCH not in ("riscv64", "arm64"):
    sys.exit("VESSEL_TEST_ARCH=%s: the guest tests know riscv64 and arm64" % ARCH)
# The console on the board's UART, and what the guest's /init prints once it runs.
SERIAL = {"riscv64": "ttyS0", "arm64": "ttyAMA0"}[ARCH]
INIT_MARKER = {"riscv64": "VESSEL-INIT-OK", "arm64": "VESSEL-ARM64-INIT-OK"}[ARCH]


def asset_dir():
    if os.environ.get("VESSEL_GUEST_DIR"):
        return os.path.join(os.environ["VESSEL_GUEST_DIR"], ARCH)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "vessel", "guests", ARCH)


def assets_or_skip():
    """The asset paths, or exit with the skip status when they are missing."""
    d = asset_dir()
    names = ("Image", "initramfs.cpio.gz") + (("fw_jump.bin",) if ARCH == "riscv64" else ())
    files = {n: os.path.join(d, n) for n in names}
    missing = [p for p in files.values() if not os.path.isfile(p)]
    if missing:
        print("SKIP: guest assets missing (%s); run tools/guest-assets%s"
              % (", ".join(missing), "" if ARCH == "riscv64" else " --arch " + ARCH))
        sys.exit(SKIP)
    return files


def _cpio_entry(name, data, mode):
    name_b = name.encode() + b"\0"
    hdr = "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X" % (
        0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0)
    out = hdr.encode() + name_b
    out += b"\0" * ((4 - len(out) % 4) % 4)
    out += data
    out += b"\0" * ((4 - len(data) % 4) % 4)
    return out


def extra_initrd(base, files, workdir):
    """A copy of the initramfs `base` with `files` ({guest path: str|bytes}) added.
    Directories on the way are created. Scripts get mode 0755."""
    buf = io.BytesIO()
    dirs = set()
    for path in files:
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    for d in sorted(dirs):
        buf.write(_cpio_entry(d, b"", 0o040755))
    for path, data in files.items():
        if isinstance(data, str):
            data = data.encode()
        buf.write(_cpio_entry(path.strip("/"), data, 0o100755))
    buf.write(_cpio_entry("TRAILER!!!", b"", 0))
    out = os.path.join(workdir, "initramfs-test.cpio.gz")
    with open(base, "rb") as f, open(out, "wb") as o:
        o.write(f.read())
        o.write(gzip.compress(buf.getvalue()))
    return out


def command(vessel_run, files, run=None, memory="256M", smp=1, accel=None, extra=(),
            initrd=None, verbose=False, console=None):
    """The vessel-run command line for the test guest. accel: the --accel value; by
    default $VESSEL_TEST_ACCEL (so meson can run a device test on another tier), else
    interp. console: the kernel's console= options (default: the UART, SERIAL)."""
    if accel is None:
        accel = os.environ.get("VESSEL_TEST_ACCEL") or "interp"
    if console is None:
        console = "console=" + SERIAL
    append = console + (" earlycon=sbi" if ARCH == "riscv64" else "") + " panic=-1"
    append += "" if verbose else " quiet"
    append += ' vessel.run="%s"' % run if run else " vessel.poweroff=1"
    fw = ["--firmware", files["fw_jump.bin"]] if ARCH == "riscv64" else []
    return [vessel_run, "--guest-arch", ARCH, "--accel", accel, "--memory", memory,
            "--smp", str(smp)] + fw + ["--kernel", files["Image"],
            "--initrd", initrd or files["initramfs.cpio.gz"], "--append", append] + list(extra)


def run(cmd, timeout=240, stdin=None, show=6000):
    """Run vessel-run; returns (exit status or None on timeout, output text)."""
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        print(out[-show:])
        print("FAIL: the guest did not power off within %.0f s" % timeout)
        return None, out
    out = p.stdout.decode(errors="replace")
    print(out[-show:])
    print("exit status %d after %.1f s" % (p.returncode, time.monotonic() - t0), flush=True)
    return p.returncode, out


def run_interactive(cmd, steps, timeout=240, show=6000):
    """Run vessel-run with a pipe on stdin. steps: [(text, bytes)]: once `text` has
    appeared in the output, write `bytes` to stdin. Returns (status or None, output)."""
    import select
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = b""
    steps = list(steps)
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            p.kill()
            p.wait()
            text = out.decode(errors="replace")
            print(text[-show:])
            print("FAIL: the guest did not power off within %.0f s" % timeout)
            return None, text
        r, _, _ = select.select([p.stdout], [], [], min(left, 1.0))
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
        while steps and steps[0][0].encode() in out:
            p.stdin.write(steps[0][1])
            p.stdin.flush()
            steps.pop(0)
    status = p.wait()
    text = out.decode(errors="replace")
    print(text[-show:])
    print("exit status %d after %.1f s" % (status, time.monotonic() - t0), flush=True)
    return status, text


class Checker:
    """Collects failures; finish() prints the verdict and returns the exit status."""

    def __init__(self):
        self.failed = []

    def check(self, cond, what):
        if not cond:
            print("FAIL: " + what, flush=True)
            self.failed.append(what)
        return cond

    def expect(self, out, text):
        return self.check(text in out, "output lacks %r" % text)

    def finish(self):
        if self.failed:
            print("%d check(s) failed" % len(self.failed))
            return 1
        print("PASS")
        return 0


def tempdir(prefix):
    return tempfile.TemporaryDirectory(prefix=prefix)


def png_decode(data):
    """(width, height, rows of (r, g, b) bytes) of an 8-bit RGB or RGBA non-interlaced PNG, as
    the control socket's screendump writes them (alpha is dropped); CRCs are checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        assert zlib.crc32(kind + body) & 0xffffffff == crc, "bad CRC in %r" % kind
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG type %r" % (ihdr,)
    raw = zlib.decompress(idat)
    bpp = 3 if ctype == 2 else 4
    stride = w * bpp
    rows, prev, p = [], bytearray(stride), 0
    for _ in range(h):
        ft = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
            elif ft != 0:
                raise AssertionError("bad filter type %d" % ft)
        if bpp == 4:
            rgb = bytearray(w * 3)
            for k in range(3):
                rgb[k::3] = line[k::4]
            rows.append(bytes(rgb))
        else:
            rows.append(bytes(line))
        prev = line
    return w, h, rows
