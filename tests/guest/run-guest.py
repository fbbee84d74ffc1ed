#!/usr/bin/env python3
"""Boot the riscv64 guest on vessel-run and check what it prints.

Usage: run-guest.py VESSEL_RUN [--smp N] [--run CMD] --expect TEXT [--expect TEXT ...]

The guest assets come from tools/guest-assets (VESSEL_GUEST_DIR or the default cache).
Exits 77 (skip) with a reason when they are missing.
"""
import argparse
import os
import re
import subprocess
import sys
import time


def asset_dir():
    if os.environ.get("VESSEL_GUEST_DIR"):
        return os.path.join(os.environ["VESSEL_GUEST_DIR"], "riscv64")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "vessel", "guests", "riscv64")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vessel_run")
    ap.add_argument("--smp", type=int, default=1)
    ap.add_argument("--memory", default="256M")
    ap.add_argument("--run", help="command for the guest init to run, then power off")
    ap.add_argument("--expect", action="append", default=[], help="text that must appear")
    ap.add_argument("--timeout", type=float, default=240)
    ap.add_argument("--accel", default="interp")
    ap.add_argument("--vessel-arg", action="append", default=[],
                    help="extra vessel-run argument (repeatable)")
    ap.add_argument("--expect-re", action="append", default=[],
                    help="regular expression that must match the output")
    ap.add_argument("--verbose", action="store_true", help="boot without 'quiet'")
    ap.add_argument("--status", type=int, default=0, help="expected vessel-run exit status")
    ap.add_argument("--count", action="append", default=[], metavar="N:TEXT",
                    help="TEXT must appear exactly N times")
    args = ap.parse_args()

    d = asset_dir()
    files = {n: os.path.join(d, n) for n in ("Image", "fw_jump.bin", "initramfs.cpio.gz")}
    missing = [p for p in files.values() if not os.path.isfile(p)]
    if missing:
        print("SKIP: guest assets missing (%s); run tools/guest-assets" % ", ".join(missing))
        return 77

    # panic=-1: a guest kernel panic reboots at once, so vessel-run stops on its reset-loop
    # detection (status 3) instead of a panic loop running into the timeout.
    append = "console=ttyS0 earlycon=sbi panic=-1" + ("" if args.verbose else " quiet")
    append += ' vessel.run="%s"' % args.run if args.run else " vessel.poweroff=1"
    cmd = [args.vessel_run, "--guest-arch", "riscv64", "--accel", args.accel,
           "--memory", args.memory, "--smp", str(args.smp),
           "--firmware", files["fw_jump.bin"], "--kernel", files["Image"],
           "--initrd", files["initramfs.cpio.gz"], "--append", append] + args.vessel_arg
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=args.timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        print(out[-4000:])
        print("FAIL: the guest did not power off within %.0f s" % args.timeout)
        return 1
    out = p.stdout.decode(errors="replace")
    print(out[-6000:])
    print("exit status %d after %.1f s" % (p.returncode, time.monotonic() - t0))
    ok = True
    if p.returncode != args.status:
        print("FAIL: vessel-run exited with %d (expected %d)" % (p.returncode, args.status))
        ok = False
    for rx in args.expect_re:
        if not re.search(rx, out):
            print("FAIL: no match for %r" % rx)
            ok = False
    for spec in args.count:
        n, text = spec.split(":", 1)
        if out.count(text) != int(n):
            print("FAIL: %r appears %d times, expected %s" % (text, out.count(text), n))
            ok = False
    for text in ["VESSEL-INIT-OK"] + args.expect:
        if text not in out:
            print("FAIL: expected output not found: %r" % text)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
