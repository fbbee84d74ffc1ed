#!/usr/bin/env python3
"""virtio-input in the test guest (riscv64, or arm64 with VESSEL_TEST_ARCH=arm64), through
the public engine API (input-driver).

The guest lists its input devices (names and capability bits, checked against what the
device describes), then reads struct input_event records (24 bytes on riscv64: timeval,
type, code, value) from each event device while the driver sends a key press and
release, a tablet move and button, a mouse move and wheel click, and a power-button press
(vs_machine_powerdown). Each expected (type, code, value) must arrive in order, each group
ended by SYN_REPORT.

On arm64 the power button is the board's (PL061 GPIO -> gpio-keys), so KEY_POWER arrives on
the gpio-keys device, not on the virtio keyboard; the script stops the guest's acpid first so
that it does not power off before the events are printed (arm64-powerdown tests acpid).
"""
import struct
import subprocess
import sys

import guestlib

SCRIPT = r"""
%(stop_acpid)s
for d in /sys/class/input/input*; do
  echo "dev $(cat $d/name) ev=$(cat $d/capabilities/ev) abs=$(cat $d/capabilities/abs) rel=$(cat $d/capabilities/rel)"
done
for e in /sys/class/input/event*; do
  i=${e##*/event}
  n=$(cat /sys/class/input/event$i/device/name)
  case "$n" in
  *Keyboard) c=%(kbd_events)d ;;
  *Tablet) c=5 ;;
  *Mouse) c=5 ;;
  gpio-keys) c=4 ;;
  *) continue ;;
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
        arm = guestlib.ARCH == "arm64"
        script = SCRIPT % {"stop_acpid": "killall acpid" if arm else "",
                           "kbd_events": 4 if arm else 8}
        initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/test.sh": script}, wd)
        cmd = [driver, guestlib.asset_dir(), initrd, guestlib.ARCH]
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
        power = [(1, 116, 1), syn, (1, 116, 0), syn]
        kbd = [(1, 30, 1), syn, (1, 30, 0), syn] + ([] if arm else power)
        tablet = [(3, 0, 16384), (3, 1, 32767), syn, (1, 0x110, 1), syn]
        mouse = [(2, 0, 3), (2, 1, -2), syn, (2, 8, 1), syn]
        devices = [("Vessel Virtio Keyboard", kbd), ("Vessel Virtio Tablet", tablet),
                   ("Vessel Virtio Mouse", mouse)]
        if arm:
            # EV_SYN|EV_KEY, KEY_POWER only.
            c.expect(out, "dev gpio-keys ev=3 abs=0 rel=0")
            devices.append(("gpio-keys", power))
        for name, want in devices:
            got = events(out, name)
            c.check(got == want, "%s: got %s, want %s" % (name, got, want))
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
