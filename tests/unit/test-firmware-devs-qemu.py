#!/usr/bin/env python3
"""Differential test of the arm64 virt firmware devices against QEMU's: the CFI flash
(variable bank at 0x04000000) and fw_cfg (0x09020000). The same access script runs on
qemu-system-aarch64 -M virt through its qtest interface (guest physical reads and writes, no
CPU) and on Vessel's models through dev-script; every read must return the same value, and
the variable files both wrote must end up identical. QEMU is only the oracle.

Known, intended differences are marked in the script (compared, printed, not counted) or
left out of it: Vessel's read-only code bank is plain ROM (QEMU's answers commands), a bad
command sequence sets status bits 5 and 4 as Intel's
datasheet says (QEMU drops back to read-array), and programming only clears bits (QEMU
stores the value as is); fw_cfg's item set differs beyond the signature and id.

usage: test-firmware-devs-qemu.py DEV-SCRIPT QEMU-BINARY. Exits 77 when QEMU is missing.
"""
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
FLASH = 0x04000000
FWCFG = 0x09020000
RAM = 0x40000000
SIZE = 64 << 20


def dual(c):
    return c << 16 | c


KNOWN = {}  # script line -> why Vessel differs on purpose


def script():
    s = []

    def r(size, a, known=None):
        s.append(f"read{size} 0x{a:x}")
        if known:
            KNOWN[len(s) - 1] = known

    w = lambda size, a, v: s.append(f"write{size} 0x{a:x} 0x{v:x}")
    # Array reads of every width, then the CFI query table (JESD68 part and PRI header).
    for sz, a in (("b", 0x13), ("w", 0x22), ("l", 0x100), ("q", 0x208)):
        r(sz, FLASH + a)
    w("l", FLASH + 0x55 * 4, dual(0x98))
    for i in range(0x10, 0x36):
        r("l", FLASH + 4 * i)
    r("w", FLASH + 0x40)
    r("w", FLASH + 0x42)
    r("b", FLASH + 0x42)
    r("b", FLASH + 0x43, "x16 chip: the high byte of a query answer is 0 (QEMU repeats the "
      "byte on every lane)")
    r("q", FLASH + 0x40)
    # Identifier codes, back to the array.
    w("l", FLASH, dual(0x90))
    for a in (0, 4, 8):
        r("l", FLASH + a)
    w("l", FLASH, dual(0xff))
    r("l", FLASH + 0x40)
    # Erase the second block: status while waiting, after, then the array.
    blk = FLASH + 0x40000
    w("l", blk + 0x40, dual(0x20))
    r("l", blk)
    w("l", blk + 0x40, dual(0xd0))
    r("l", blk)
    w("l", blk, dual(0xff))
    for a in (0, 0x40, 0x3fffc):
        r("l", blk + a)
    r("l", blk - 4)
    r("l", blk + 0x40000)
    # Word program into the erased block, 32 and 16 bits.
    w("l", blk + 0x10, dual(0x40))
    w("l", blk + 0x10, 0x12345678)
    r("l", blk + 0x10)
    w("l", blk + 0x14, dual(0x10))
    w("w", blk + 0x14, 0xbeef)
    w("l", blk, dual(0xff))
    r("l", blk + 0x10)
    r("l", blk + 0x14)
    # Buffered program of 8 words (NorFlashDxe's sequence), then read back.
    at = blk + 0x800
    w("l", at, dual(0xe8))
    r("l", at)
    w("l", at, dual(7))
    for i in range(8):
        w("l", at + 4 * i, 0xa5000000 + i * 0x10101)
    w("l", at, dual(0xd0))
    r("l", at)
    w("l", at, dual(0xff))
    for i in range(9):
        r("l", at + 4 * i)
    # Clear status, read status.
    w("l", FLASH, dual(0x50))
    w("l", FLASH, dual(0x70))
    r("l", FLASH, "status bit 7 (ready) stays set while idle, as Intel's status register "
      "(QEMU clears it with the other bits)")
    w("l", FLASH, dual(0xff))
    r("l", FLASH)
    # fw_cfg: signature and id through the data register, the DMA signature.
    w("w", FWCFG + 8, 0x0000)  # key 0, big-endian
    r("l", FWCFG)
    r("b", FWCFG)
    w("w", FWCFG + 8, 0x0100)  # key 1
    r("l", FWCFG)
    r("q", FWCFG + 0x10)
    r("l", FWCFG + 0x14)
    # A DMA read of the signature: descriptor at RAM + 0x100 (big-endian), data to 0x200.
    desc = RAM + 0x100
    w("l", desc, int.from_bytes((0x0a).to_bytes(4, "big"), "little"))  # select key 0 + read
    w("l", desc + 4, int.from_bytes((6).to_bytes(4, "big"), "little"))
    w("l", desc + 8, int.from_bytes((RAM >> 32).to_bytes(4, "big"), "little"))
    w("l", desc + 12, int.from_bytes(((RAM + 0x200) & 0xffffffff).to_bytes(4, "big"), "little"))
    w("q", RAM + 0x200, 0x1111111111111111)
    w("l", FWCFG + 0x10, 0)
    w("l", FWCFG + 0x14, int.from_bytes(desc.to_bytes(4, "big"), "little"))
    r("l", desc)
    r("q", RAM + 0x200)
    # A DMA write (no item accepts it): the error bit.
    w("l", desc, int.from_bytes((0x00000018).to_bytes(4, "big"), "little"))
    w("l", FWCFG + 0x14, int.from_bytes(desc.to_bytes(4, "big"), "little"))
    r("l", desc)
    return s


def main():
    dev_script, qemu = sys.argv[1], sys.argv[2]
    if not shutil.which(qemu):
        print(f"SKIP: {qemu} not found (Debian's qemu-system-arm package)")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="vessel-fwdevs-")
    pattern = bytes((i * 7 + 3) & 0xff for i in range(4096)) * (SIZE // 4096)
    paths = {}
    for who in ("qemu", "vessel"):
        paths[who] = os.path.join(tmp, who + "-vars.fd")
        with open(paths[who], "wb") as f:
            f.write(pattern)
    code = os.path.join(tmp, "code.fd")
    with open(code, "wb") as f:
        f.truncate(SIZE)
    lines = script()
    text = "\n".join(lines) + "\n"
    # QEMU answers each command on stdout; it keeps running after the script, so read the
    # answers and then stop it (its flash writes are synchronous, done by then).
    q = subprocess.Popen([qemu, "-M", "virt", "-cpu", "cortex-a72", "-m", "256M", "-display",
                          "none", "-S", "-qtest", "stdio",
                          "-drive", f"if=pflash,format=raw,readonly=on,file={code}",
                          "-drive", f"if=pflash,format=raw,file={paths['qemu']}"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    q.stdin.write(text)
    q.stdin.flush()
    qout = []
    while len(qout) < len(lines):
        l = q.stdout.readline()
        if not l:
            break
        if l.startswith("OK"):
            qout.append(l.strip())
    q.kill()
    q.wait()
    v = subprocess.run([dev_script, paths["vessel"]], input=text, capture_output=True,
                       text=True, timeout=60)
    vout = [l for l in v.stdout.splitlines() if l.startswith("OK")]
    if len(qout) != len(lines):
        print(f"FAIL: QEMU answered {len(qout)} of {len(lines)} commands")
        return 1
    failures = 0
    if len(vout) != len(lines):
        print(f"FAIL: dev-script answered {len(vout)} of {len(lines)}: {v.stderr[-500:]}")
        return 1
    reads = 0
    for i, (cmd, a, b) in enumerate(zip(lines, qout, vout)):
        if cmd.startswith("read"):
            reads += 1
            if i in KNOWN:
                print(f"known {cmd}: QEMU {a.split()[1]}, Vessel {b.split()[1]}: {KNOWN[i]}")
                continue
            if int(a.split()[1], 16) != int(b.split()[1], 16):
                print(f"DIFF {cmd}: QEMU {a.split()[1]}, Vessel {b.split()[1]}")
                failures += 1
    with open(paths["qemu"], "rb") as f:
        qf = f.read()
    with open(paths["vessel"], "rb") as f:
        vf = f.read()
    if qf != vf:
        first = next(i for i in range(min(len(qf), len(vf))) if qf[i] != vf[i]) \
            if len(qf) == len(vf) else 0
        print(f"FAIL: the variable files differ (sizes {len(qf)}/{len(vf)}, first at 0x{first:x})")
        failures += 1
    print(f"{reads} reads compared, {failures} differences")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
