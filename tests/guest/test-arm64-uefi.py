#!/usr/bin/env python3
"""Debian's UEFI firmware for QEMU's arm64 virt board (package qemu-efi-aarch64, unmodified:
/usr/share/AAVMF/AAVMF_CODE.fd) on Vessel's arm64 virt board, with a variable store created
from AAVMF_VARS.fd, a virtio disk and an ISO on PCI.

usage: test-arm64-uefi.py VESSEL_RUN ACCEL

Checks: the firmware runs from the code flash, finds the device tree at the base of RAM and
the PL011 from it, and prints its banner ("UEFI firmware (version ...)", from ArmVirtQemu's
PrePi) on the serial port; the per-VM variable store is created from the template. The later stages it reaches are reported (boot manager, shell,
GRUB): at the time of writing the A64 frontend has no FP/SIMD, and the DXE core stops at its
first SIMD instruction (a MOVI in its memory library) with a synchronous exception, so the
banner is as far as the firmware gets; the stages are listed here so the report shows when
that changes.

Exits 77 when the firmware package is not installed.
"""
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
CODE = "/usr/share/AAVMF/AAVMF_CODE.fd"
VARS = "/usr/share/AAVMF/AAVMF_VARS.fd"
BANNER = "UEFI firmware (version"
# Later stages, in boot order, with what reaching each shows.
STAGES = [
    ("BdsDxe", "the boot manager ran (DXE, PCI enumeration, virtio drivers)"),
    ("UEFI Interactive Shell", "the UEFI shell started"),
    ("Shell>", "the UEFI shell prompt"),
    ("GNU GRUB", "GRUB from a disk"),
]
WAIT_BANNER = 120  # seconds: the interpreter under ASan is slow
WAIT_MORE = 30     # seconds after the banner to watch for later stages


def main():
    vessel, accel = sys.argv[1], sys.argv[2]
    for f in (CODE, VARS):
        if not os.path.isfile(f):
            print(f"SKIP: {f} is missing; install Debian's qemu-efi-aarch64 (tools/bootstrap)")
            return SKIP
    tmp = tempfile.mkdtemp(prefix="vessel-uefi-")
    vars_file = os.path.join(tmp, "vars.fd")
    disk = os.path.join(tmp, "disk.img")
    iso = os.path.join(tmp, "empty.iso")
    with open(disk, "wb") as f:
        f.truncate(16 * 1024 * 1024)
    with open(iso, "wb") as f:
        f.truncate(2 * 1024 * 1024)
    cmd = [vessel, "--guest-arch", "arm64", "--accel", accel, "--memory", "1G",
           "--firmware", CODE, "--efi-vars", vars_file, "--disk", disk + ",format=raw",
           "--iso", iso, "--no-rng"]
    print("running:", " ".join(cmd))
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out = b""
    start = time.monotonic()
    deadline = start + WAIT_BANNER
    banner_at = None
    while time.monotonic() < deadline and p.poll() is None:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
        text = out.decode(errors="replace")
        if banner_at is None and BANNER in text:
            banner_at = time.monotonic()
            deadline = banner_at + WAIT_MORE
        if "Shell>" in text or "GNU GRUB" in text:
            break
        if "Synchronous Exception at" in text:
            time.sleep(1)  # the firmware prints its register dump, then hangs
            break
    exited = p.poll()
    if exited is None:
        p.send_signal(signal.SIGTERM)
        p.send_signal(signal.SIGTERM)  # the second one stops at once
    try:
        rest, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, err = p.communicate()
    out += rest
    text = out.decode(errors="replace")
    err = err.decode(errors="replace")

    problems = []
    if exited is not None:
        problems.append(f"vessel-run exited by itself with status {exited}: {err.strip()[-400:]}")
    if banner_at is None:
        problems.append(f"no {BANNER!r} on the serial port")
    if "Sanitizer" in err or "runtime error" in err:
        problems.append("sanitizer report")
    try:
        size = os.path.getsize(vars_file)
        if size != os.path.getsize(VARS):
            problems.append(f"variable store is {size} bytes, the template "
                            f"{os.path.getsize(VARS)}")
        with open(vars_file, "rb") as a, open(VARS, "rb") as b:
            same = a.read() == b.read()
        # (Debian's template is all zeros: the firmware formats the store the first time its
        # variable driver runs, which is after the DXE core has started.)
        print("variable store:", "a copy of the template" if same else "written by the firmware")
    except OSError as e:
        problems.append(f"variable store not created: {e}")

    print("serial log (last lines):")
    print("\n".join(text.splitlines()[-15:]))
    reached = [what for marker, what in STAGES if marker in text]
    if banner_at is not None:
        print(f"reached: the firmware banner after {banner_at - start:.1f} s")
    for what in reached:
        print("reached:", what)
    if "Synchronous Exception at" in text:
        line = [l for l in text.splitlines() if "Synchronous Exception at" in l][0]
        print(f"stopped: {line.strip()} (the firmware's exception report)")
    for pr in problems:
        print("FAIL:", pr)
    if problems:
        print("stderr:", err.strip()[-800:])
        return 1
    print(f"PASS: Debian's AAVMF firmware started ({accel})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
