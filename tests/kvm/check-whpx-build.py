#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Build the WHPX backend for 64-bit Windows with mingw-w64 (a build check: nothing runs).

usage: check-whpx-build.py SOURCE-ROOT

Configures tests/kvm/whpx with the cross file tools/cross/x86_64-w64-mingw32.ini in a
temporary directory, compiles engine/accel/whpx.c and whpx-probe.c with -Werror, links
whpx-probe.exe, and checks that the executable imports the Windows Hypervisor Platform
(WinHvPlatform.dll, WinHvEmulation.dll). Exit 77 when the cross compiler is missing
(packages gcc-mingw-w64-x86-64 and mingw-w64-x86-64-dev, in tools/bootstrap).
"""
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    root = os.path.abspath(sys.argv[1])
    if not shutil.which("x86_64-w64-mingw32-gcc"):
        print("SKIP: x86_64-w64-mingw32-gcc not found (Debian package gcc-mingw-w64-x86-64)")
        return 77
    build = tempfile.mkdtemp(prefix="vessel-whpx-")
    try:
        for cmd in (["meson", "setup", "--cross-file",
                     os.path.join(root, "tools/cross/x86_64-w64-mingw32.ini"),
                     "-Dengine=" + os.path.join(root, "engine"), build,
                     os.path.join(root, "tests/kvm/whpx")],
                    ["meson", "compile", "-C", build]):
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            if p.returncode != 0:
                print(p.stdout[-4000:], p.stderr[-4000:])
                print("FAIL: " + " ".join(cmd))
                return 1
        exe = os.path.join(build, "whpx-probe.exe")
        p = subprocess.run(["x86_64-w64-mingw32-objdump", "-p", exe], capture_output=True,
                           text=True, timeout=60)
        dlls = {l.split(":", 1)[1].strip().lower() for l in p.stdout.splitlines()
                if "DLL Name:" in l}
        print("whpx-probe.exe imports: " + ", ".join(sorted(dlls)))
        missing = {"winhvplatform.dll", "winhvemulation.dll"} - dlls
        if missing:
            print("FAIL: not imported: " + ", ".join(sorted(missing)))
            return 1
        print("WHPX backend built for x86_64-w64-mingw32 (compiled and linked only, never run)")
        return 0
    finally:
        shutil.rmtree(build)


if __name__ == "__main__":
    sys.exit(main())
