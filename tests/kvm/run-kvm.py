#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run a bare-metal x86-64 guest under vessel-run --accel kvm and check its output.

usage: run-kvm.py VESSEL_RUN GUEST.elf [--status N] [--expect TEXT]... [--reject TEXT]...
                  [--stderr TEXT]... [-- VESSEL-RUN ARGS...]

Exit 77 (skip) with the reason when KVM cannot run a VM on this host (vessel-run --probe
says why). Every --expect text must appear on stdout (the guest's serial output), no
--reject text may, every --stderr text must appear on stderr, and the exit status must be N
(default 0: the guest powered off through the ACPI sleep control register).
"""
import argparse
import subprocess
import sys


def kvm_unavailable(vessel_run):
    out = subprocess.run([vessel_run, "--probe"], capture_output=True, text=True, timeout=30)
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("kvm:"):
            return None if line.startswith("kvm: available") else line[4:].strip()
    return "vessel-run --probe printed no kvm line"


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("vessel_run")
    ap.add_argument("guest")
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--reject", action="append", default=["FAIL"])
    ap.add_argument("--stderr", action="append", default=[])
    a = ap.parse_args(argv)

    why = kvm_unavailable(a.vessel_run)
    if why:
        print(f"SKIP: KVM {why}")
        return 77
    cmd = [a.vessel_run, "--guest-arch", "x86_64", "--accel", "kvm", "--memory", "64M",
           "--kernel", a.guest] + extra
    print("$ " + " ".join(cmd))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        print(f"FAIL: no exit within 60 s; output so far:\n{e.stdout}")
        return 1
    print(p.stdout)
    print(p.stderr, file=sys.stderr)
    ok = True
    if p.returncode != a.status:
        print(f"FAIL: exit status {p.returncode}, expected {a.status}")
        ok = False
    for t in a.expect:
        if t not in p.stdout:
            print(f"FAIL: '{t}' missing from the guest's output")
            ok = False
    for t in a.reject:
        if t in p.stdout:
            print(f"FAIL: '{t}' in the guest's output")
            ok = False
    for t in a.stderr:
        if t not in p.stderr:
            print(f"FAIL: '{t}' missing from vessel-run's messages")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
