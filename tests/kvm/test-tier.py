#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The tier choice and the host probe as vessel-run shows them.

usage: test-tier.py VESSEL_RUN HELLO.elf

Always checked: --probe prints every line (arch, cpu, simd, cores, accelerators); KVM for a
riscv64 guest and the interpreter for an x86_64 guest are errors that say why. With KVM
usable: --accel auto for x86_64 prints the KVM summary and runs the guest. As root on a
host whose /dev/kvm is not world-accessible: an unprivileged user gets "permission denied"
from --probe, --accel kvm (an error) and --accel auto (an error: no other x86_64 tier).
"""
import os
import shutil
import stat
import subprocess
import sys

failures = 0


def check(cond, what):
    global failures
    if not cond:
        print(f"FAIL: {what}")
        failures += 1


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, **kw)


def main():
    vr, hello = sys.argv[1], sys.argv[2]
    p = run([vr, "--probe"])
    print(p.stdout)
    check(p.returncode == 0, "--probe exit status")
    for key in ("host arch:", "cpu:", "simd:", "cores:", "accelerators:", "kvm:"):
        check(key in p.stdout, f"--probe has no '{key}' line")
    if os.uname().machine == "x86_64":
        check(" sse2" in " " + p.stdout.split("simd:")[1].splitlines()[0],
              "x86_64 host without sse2 in the probe")
    kvm_ok = "kvm: available" in p.stdout

    p = run([vr, "--guest-arch", "riscv64", "--accel", "kvm", "--firmware", hello])
    check(p.returncode == 1 and "KVM needs a guest of the host's architecture" in p.stderr,
          f"riscv64 --accel kvm: {p.returncode} {p.stderr.strip()}")
    p = run([vr, "--guest-arch", "x86_64", "--accel", "interp", "--kernel", hello])
    check(p.returncode == 1 and "x86_64 guests run only under KVM" in p.stderr,
          f"x86_64 --accel interp: {p.returncode} {p.stderr.strip()}")

    if kvm_ok:
        p = run([vr, "--guest-arch", "x86_64", "--memory", "64M", "--kernel", hello])
        check(p.returncode == 0 and "hello from x86_64 long mode" in p.stdout,
              f"x86_64 auto did not run the guest: {p.returncode} {p.stderr.strip()}")
        check("KVM (x86_64 guest on a x86_64 host): automatic choice: /dev/kvm opened" in
              p.stderr and "VM created" in p.stderr, f"auto summary: {p.stderr.strip()}")
    else:
        print("KVM unavailable here: the auto run is not checked")

    st = os.stat("/dev/kvm") if os.path.exists("/dev/kvm") else None
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and st and not (st.st_mode & stat.S_IROTH and st.st_mode & stat.S_IWOTH) \
            and setpriv and os.access(vr, os.X_OK):
        nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        p = run(nobody + [vr, "--probe"])
        check("kvm: unavailable: /dev/kvm: permission denied" in p.stdout,
              f"probe as nobody: {p.stdout.strip()} {p.stderr.strip()}")
        p = run(nobody + [vr, "--guest-arch", "x86_64", "--accel", "kvm", "--kernel", hello])
        check(p.returncode == 1 and "--accel kvm: KVM unavailable: /dev/kvm: permission denied"
              in p.stderr, f"--accel kvm as nobody: {p.stderr.strip()}")
        p = run(nobody + [vr, "--guest-arch", "x86_64", "--kernel", hello])
        check(p.returncode == 1 and "KVM unavailable: /dev/kvm: permission denied" in p.stderr,
              f"auto as nobody: {p.stderr.strip()}")
    else:
        print("not root, or /dev/kvm is open to everyone: the permission case is not checked")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
