#!/usr/bin/env python3
"""virtio-input in the riscv64 guest, through the public engine API (input-driver).

The guest lists its input devices (names and capability bits, checked against what the
device describes), then reads struct input_event records (24 bytes on riscv64: timeval,
type, code, value) from each event device while the driver sends a key press and
release, a tablet move and button, a mouse move and wheel click, and a power-button press
(vs_machine_powerdown). Each expected (type, code, value) must arrive in order, each group
ended by SYN_REPORT.
"""
import struct
import subprocess
import sys

import guestlib

SCRIPT = r"""
for d in /sys/class/input/input*; do
  echo "dev $(cat $d/name) ev=$(cat $d/capabilities/ev) abs=$(cat $d/capabilities/abs) rel=$(cat $d/capabilities/rel)"
done
for i in 0 1 2; do
  n=$(cat /sys/class/input/event$i/device/name)
  case "$n" in
  *Keyboard) c=8 ;;
  *Tablet) c=5 ;;
  *Mouse) c=5 ;;
  esac
  (timeout 60 od -An -tx1 -v -w24 -N $((c * 24)) /dev/input/event$i | sed "s/^/ev-$n:/") &
done
sleep 1
echo ready-for-input
wait
"""


def events(out, name):
    evs = []
    for line in out.splitlines():
        if line.startswith("ev-" + name + ":"):
            b = bytes(int(x, 16) for x in line.split(":", 1)[1].split())
            if len(b) == 24:
                evs.append(struct.unpack("<HHi", b[16:24]))
    return evs


def main():
    driver = sys.argv[1]
    files = guestlib.assets_or_skip()
    c = guestlib.Checker()
    with guestlib.tempdir("vessel-input-") as wd:
        initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/test.sh": SCRIPT}, wd)
        cmd = [driver, guestlib.asset_dir(), initrd]
        print("$ " + " ".join(cmd), flush=True)
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
        except subprocess.TimeoutExpired:
            print("FAIL: timeout")
            return 1
        out = p.stdout.decode(errors="replace")
        print(out[-5000:])
        c.check(p.returncode == 0, "input-driver exited with %d" % p.returncode)
        # EV_SYN|EV_KEY|EV_LED|EV_REP; EV_SYN|KEY|REL|ABS with ABS_X|ABS_Y; mouse REL X/Y/HWHEEL/WHEEL
        c.expect(out, "dev Vessel Virtio Keyboard ev=120003 abs=0 rel=0")
        c.expect(out, "dev Vessel Virtio Tablet ev=f abs=3 rel=140")
        c.expect(out, "dev Vessel Virtio Mouse ev=7 abs=0 rel=143")
        c.expect(out, "input-driver: powerdown sent")
        syn = (0, 0, 0)
        kbd = [(1, 30, 1), syn, (1, 30, 0), syn, (1, 116, 1), syn, (1, 116, 0), syn]
        tablet = [(3, 0, 16384), (3, 1, 32767), syn, (1, 0x110, 1), syn]
        mouse = [(2, 0, 3), (2, 1, -2), syn, (2, 8, 1), syn]
        for name, want in (("Vessel Virtio Keyboard", kbd), ("Vessel Virtio Tablet", tablet),
                           ("Vessel Virtio Mouse", mouse)):
            got = events(out, name)
            c.check(got == want, "%s: got %s, want %s" % (name, got, want))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
