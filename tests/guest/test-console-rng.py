#!/usr/bin/env python3
"""virtio-console and virtio-rng in the test guest (riscv64, or arm64 with
VESSEL_TEST_ARCH=arm64).

- The guest's hvc0 is the virtio console: output written there reaches the host, and
  host input (vessel-run --console virtio feeds stdin to it) reaches a reader in the guest.
- /dev/hwrng reads come from virtio-rng: 4 KiB read, and two reads differ.
- A 3 MB flood of console output arrives whole, and rng reads complete during it (a
  device's per-turn budget keeps one busy queue from starving the others).
- With --no-rng there is no virtio-rng device.
"""
import sys

import guestlib


def main():
    vessel_run = sys.argv[1]
    files = guestlib.assets_or_skip()
    c = guestlib.Checker()
    script = r"""
cat /sys/class/misc/hw_random/rng_current
a=$(dd if=/dev/hwrng bs=4096 count=1 2>/dev/null | wc -c)
echo hwrng-bytes=$a
x=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
y=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
[ -n "$x" ] && [ "$x" != "$y" ] && echo hwrng-differs
echo to-host-via-hvc0 > /dev/hvc0
# A console flood must not starve the other devices: rng reads complete meanwhile.
head -c 3000000 /dev/zero | tr '\0' 'z' > /dev/hvc0 &
f=$!
echo rng-during-flood=$(dd if=/dev/hwrng bs=64 count=4 2>/dev/null | wc -c)
wait $f
echo flood-done
exec 3</dev/hvc0
stty -echo <&3
echo ready-for-input
head -n1 <&3 | sed 's/^/hvc0-got:/'
"""
    with guestlib.tempdir("vessel-console-") as wd:
        initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/test.sh": script}, wd)
        cmd = guestlib.command(vessel_run, files, run="sh /t/test.sh", initrd=initrd,
                               extra=["--console", "virtio"])
        # Input is sent once the guest holds hvc0 open (a tty drops what arrives while
        # nobody has it open).
        status, out = guestlib.run_interactive(cmd, [("ready-for-input", b"line-from-host\n")])
        c.check(status == 0, "vessel-run exit status %r (expected 0)" % status)
        c.expect(out, "virtio_rng.0")
        c.expect(out, "hwrng-bytes=4096")
        c.expect(out, "hwrng-differs")
        c.expect(out, "to-host-via-hvc0")
        c.expect(out, "hvc0-got:line-from-host")
        c.expect(out, "rng-during-flood=256")
        c.expect(out, "flood-done")
        c.check(out.count("z") >= 3000000, "the 3 MB console flood did not all arrive")
        c.expect(out, "VESSEL-RUN-EXIT=0")

        cmd = guestlib.command(vessel_run, files, run="ls /sys/bus/virtio/devices | wc -l",
                               extra=["--no-rng"])
        status, out = guestlib.run(cmd)
        c.check(status == 0, "--no-rng: exit status %r" % status)
        c.check("\n0\r\n" in out or "\n0\n" in out, "--no-rng: the guest still sees a device")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
