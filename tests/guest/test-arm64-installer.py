#!/usr/bin/env python3
"""Debian 12's arm64 installer from an ISO through UEFI, unmodified: Debian's firmware
(qemu-efi-aarch64: AAVMF_CODE.fd, a fresh copy of AAVMF_VARS.fd as the VM's variable store)
finds the read-only ISO on virtio-pci, runs its EFI loader (Debian's GRUB), GRUB boots
Debian's installer kernel and initrd, and the installer shows its first screen ("Select a
language") on the serial console. The installer also runs on the virtio-gpu display (its
rootskel starts debian-installer on every console, tty1 included, once Linux's virtio-gpu
driver has taken the display over from the firmware): screendumps are taken until the
display shows the same screen, recognised by newt's palette as QEMU's display shows it with
the same ISO and firmware: the VGA blue background (#0000aa), the grey dialog (#aaaaaa) and
the red highlight of the selected language (#aa0000).

usage: test-arm64-installer.py VESSEL_RUN ACCEL

The ISO is built by `tools/guest-assets --arch arm64 --installer` (a mini.iso-style image of
debian-installer-12-netboot-arm64); without it, or without the firmware, the test exits 77.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import guestlib

SKIP = 77
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CODE = "/usr/share/AAVMF/AAVMF_CODE.fd"
VARS = "/usr/share/AAVMF/AAVMF_VARS.fd"
TIMEOUT = 540  # seconds to the first screen (about 70 s in a release build)
DISPLAY_TIMEOUT = 300  # seconds more for it on the display (about 60 s in a release build)
# The share of the display each colour of newt's first screen covers, at least. Measured on
# QEMU's display of the same screen (1280x800): blue 8.1%, grey 86.8%, red 0.57%; on Vessel's
# (1024x768): blue 7.1%, grey 87.0%, red 0.74%. The firmware's and GRUB's screens are black
# with at most a grey line.
PALETTE = [((0x00, 0x00, 0xAA), 0.03, "newt's blue background"),
           ((0xAA, 0xAA, 0xAA), 0.50, "the dialog's grey"),
           ((0xAA, 0x00, 0x00), 0.002, "the red bar on the selected language")]
# What the serial console shows, in order.
STAGES = [
    ("UEFI firmware (version", "the firmware's banner"),
    ("BdsDxe: starting Boot0001", "the boot manager starting the ISO's EFI loader"),
    ("GNU GRUB  version", "GRUB's menu"),
    ("Select a language", "the installer's first screen"),
]


def png_pixels(path):
    """(width, height, {RGB colour: pixel count}, count of non-black pixels) of the
    screendump's PNG."""
    with open(path, "rb") as f:
        w, h, rows = guestlib.png_decode(f.read())
    colours = {}
    for row in rows:
        for x in range(0, len(row), 3):
            rgb = row[x:x + 3]
            colours[rgb] = colours.get(rgb, 0) + 1
    return w, h, colours, w * h - colours.get(b"\0\0\0", 0)


def palette_missing(pixels):
    """What of newt's first screen (PALETTE) the screendump lacks: [] when it shows it."""
    w, h, colours, _ = pixels
    return [f"{what} (#{bytes(rgb).hex()}: {colours.get(bytes(rgb), 0) / (w * h):.1%}, "
            f"at least {share:.1%})" for rgb, share, what in PALETTE
            if colours.get(bytes(rgb), 0) < share * w * h]


def control(path, cmd):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(path)
    s.sendall((json.dumps(cmd) + "\n").encode())
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    s.close()
    return json.loads(reply)


def main():
    vessel, accel = sys.argv[1], sys.argv[2]
    for f in (CODE, VARS):
        if not os.path.isfile(f):
            print(f"SKIP: {f} is missing; install Debian's qemu-efi-aarch64 (tools/bootstrap)")
            return SKIP
    try:
        d = subprocess.run([os.path.join(REPO, "tools", "guest-assets"), "--arch", "arm64",
                            "--print-dir"], capture_output=True, text=True,
                           check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"SKIP: cannot ask tools/guest-assets for the arm64 directory: {e}")
        return SKIP
    iso = os.path.join(d, "installer.iso")
    if not os.path.isfile(iso):
        print(f"SKIP: {iso} is missing; run tools/guest-assets --arch arm64 --installer")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="vessel-installer-")
    sock, shot = os.path.join(tmp, "control.sock"), os.path.join(tmp, "screen.png")
    serial_path = os.path.join(tmp, "serial.log")
    cmd = [vessel, "--guest-arch", "arm64", "--accel", accel, "--memory", "1G",
           "--firmware", CODE, "--efi-vars", os.path.join(tmp, "vars.fd"), "--iso", iso,
           "--display", "virtio", "--control", "unix:" + sock]
    print("running:", " ".join(cmd), flush=True)
    start, wall_start = time.monotonic(), time.time()
    with open(serial_path, "wb") as serial:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=serial,
                             stderr=subprocess.PIPE)
        reached_at = None
        while time.monotonic() - start < TIMEOUT and p.poll() is None:
            time.sleep(1)
            with open(serial_path, "rb") as f:
                text = f.read().decode(errors="replace")
            if STAGES[-1][0] in text:
                reached_at = time.monotonic() - start
                break
        problems, pixels, shown_at = [], None, None
        while reached_at is not None and p.poll() is None:
            try:
                r = control(sock, {"execute": "screendump", "file": shot})
                if "return" not in r:
                    problems.append(f"screendump failed: {r}")
                    break
                pixels = png_pixels(shot)
            except (OSError, ValueError, AssertionError) as e:
                problems.append(f"screendump: {e}")
                break
            if not palette_missing(pixels):
                shown_at = time.monotonic() - start
                break
            if time.monotonic() - start > reached_at + DISPLAY_TIMEOUT:
                break
            time.sleep(5)
        if p.poll() is None:
            try:
                control(sock, {"execute": "quit"})
                p.wait(timeout=30)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                p.kill()
        err = p.communicate()[1].decode(errors="replace")
    with open(serial_path, "rb") as f:
        text = f.read().decode(errors="replace")
    plain = text.replace("\x1b", "")
    for marker, what in STAGES:
        print(("reached: " if marker in text else "NOT reached: ") + what, flush=True)
    if reached_at is None:
        problems.append(f"no {STAGES[-1][0]!r} on the serial console within {TIMEOUT} s")
    else:
        print(f"the installer's first screen after {reached_at:.0f} s ({accel})")
    # The installer's status line shows the guest's clock ("][ Nov 24 19:34 ]"). Linux gets
    # it from the firmware's RTC service (rtc-efi), which reads the PL031: the host's date
    # (UTC), as on QEMU; 1970 ("Jan 01") means the firmware found no RTC.
    bare = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|[()][0-9A-Za-z])", "", text)
    dates = re.findall(r"\]\[ ([A-Z][a-z]{2} \d{2}) [ \d]\d:\d{2} \]", bare)
    host = {time.strftime("%b %d", time.gmtime(t)) for t in (wall_start, time.time())}
    if reached_at is not None:
        if not dates:
            problems.append("no date on the installer's status line")
        elif dates[-1] not in host:
            problems.append(f"the installer's clock says {dates[-1]!r}, the host's date is "
                            f"{' or '.join(sorted(host))} (UTC)")
        else:
            print(f"the installer's clock: {dates[-1]} (the host's date)")
    for bad in ("Synchronous Exception", "Kernel panic", "Internal error", "Unable to handle"):
        if bad in text:
            problems.append(f"the serial log contains {bad!r}")
    if "Sanitizer" in err or "runtime error" in err:
        problems.append("sanitizer report:\n" + err[-2000:])
    if pixels:
        w, h, colours, lit = pixels
        print(f"screendump: {w}x{h}, {len(colours)} colours, {lit} pixels not black; " +
              ", ".join(f"#{c.hex()} {n / (w * h):.1%}" for c, n in
                        sorted(colours.items(), key=lambda kv: -kv[1])[:4]))
        missing = palette_missing(pixels)
        if missing:
            problems.append(f"the display did not show the installer within {DISPLAY_TIMEOUT} s "
                            "of the serial console: it lacks " + "; ".join(missing))
        else:
            print(f"the installer's first screen on the display after {shown_at:.0f} s")
        keep = os.environ.get("VESSEL_SCREENSHOT_DIR")
        if keep:
            os.makedirs(keep, exist_ok=True)
            shutil.copy(shot, os.path.join(keep, "arm64-installer.png"))
    elif reached_at is not None and not problems:
        problems.append("no screendump was taken (vessel-run exited)")
    if problems:
        print("serial log (last lines):")
        print("\n".join(plain.splitlines()[-25:]))
        print("stderr:", err[-1500:])
        for pr in problems:
            print("FAIL:", pr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
