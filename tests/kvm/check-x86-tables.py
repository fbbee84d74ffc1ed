#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check the microvm board's ACPI and MP tables with ACPICA (Debian's acpica-tools).

usage: check-x86-tables.py DUMP-X86-TABLES

For a few configurations, dump-x86-tables writes the tables; then
- `iasl -d` disassembles the XSDT, FADT, DSDT and MADT: no firmware warning (a bad checksum
  is one), and the decoded fields must be what the board promises (processors and their
  APIC IDs, the IOAPIC, one override per level-triggered ISA line, the LINT1 NMI, the
  hardware-reduced flag, reset and sleep registers);
- `acpiexec` loads FADT, DSDT and MADT together and evaluates \\_S5 (must be 5, 0, 0, 0);
- the RSDP and the MP table (which iasl does not decode) are parsed here by their
  specifications (ACPI 6.4 5.2.5.3; MP 1.4 chapter 4), checksums included.
A corrupted copy of the MADT must make iasl report its checksum, so this check can fail.
Exit 77 when iasl or acpiexec is missing (package acpica-tools, in tools/bootstrap).
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


def iasl(path):
    p = subprocess.run(["iasl", "-d", path], capture_output=True, text=True, timeout=60)
    dsl = path[:-4] + ".dsl"
    text = open(dsl).read() if os.path.exists(dsl) else ""
    return p.returncode, p.stdout + p.stderr, text


def field(text, name):
    """Values of the decoded lines 'name : value' in an iasl listing."""
    return [m.group(1).strip() for m in
            re.finditer(r"^\[[0-9A-F]+h [0-9]+ +[0-9]+\] +" + re.escape(name) + r" : (\S+)",
                        text, re.M)]


def check_config(tool, ncpus, level_mask):
    tag = f"{ncpus} vCPUs, level mask {level_mask:#x}"
    d = tempfile.mkdtemp(prefix="vessel-acpi-")
    try:
        subprocess.run([tool, d, str(ncpus), hex(level_mask)], check=True, timeout=30)
        dis = {}
        for t in ["xsdt", "facp", "dsdt", "apic"]:
            rc, out, text = iasl(os.path.join(d, t + ".dat"))
            check(rc == 0, f"{tag}: iasl -d {t}.dat exited {rc}")
            check("Warning" not in out and "Error" not in out,
                  f"{tag}: iasl on {t}.dat: {out.strip().splitlines()[-1] if out else ''}")
            check("Incorrect checksum" not in text, f"{tag}: {t} checksum")
            dis[t] = text
        xsdt, facp, dsdt, apic = dis["xsdt"], dis["facp"], dis["dsdt"], dis["apic"]
        isos = [i for i in range(16) if level_mask >> i & 1]
        check(len(field(apic, "Local Apic ID")) == ncpus, f"{tag}: MADT processor count")
        check(field(apic, "Local Apic ID") == [f"{i:02X}" for i in range(ncpus)],
              f"{tag}: MADT APIC IDs")
        check(apic.count("Processor Enabled : 1") == ncpus, f"{tag}: processors enabled")
        check(field(apic, "I/O Apic ID") == ["00"], f"{tag}: one IOAPIC, ID 0")
        check("FEC00000" in field(apic, "Address"), f"{tag}: IOAPIC address")
        check(field(apic, "Local Apic Address") == ["FEE00000"], f"{tag}: LAPIC address")
        check(field(apic, "Source") == [f"{i:02X}" for i in isos], f"{tag}: overrides")
        check(apic.count("Trigger Mode : 3") == len(isos), f"{tag}: level-triggered overrides")
        check(field(apic, "Interrupt Input LINT") == ["01"], f"{tag}: LINT1 NMI")
        check("Hardware Reduced (V5) : 1" in facp, f"{tag}: FADT hardware-reduced flag")
        check("Reset Register Supported (V2) : 1" in facp, f"{tag}: FADT reset flag")
        check(field(facp, "Value to cause reset") == ["42"], f"{tag}: FADT reset value")
        addrs = field(facp, "Address")
        for port in ["0000000000000602", "0000000000000600", "0000000000000601"]:
            check(port in addrs, f"{tag}: FADT register at port {port}")
        check(field(facp, "Space ID").count("01") == 3, f"{tag}: FADT registers in SystemIO")
        check(re.search(r"Name \(_S5, Package \(0x04\)\s*// _S5_: S5 System State\s*\{\s*0x05,",
                        dsdt) is not None, f"{tag}: DSDT \\_S5")
        xs = [int(v, 16) for v in re.findall(r"ACPI Table Address +[0-9]+ : ([0-9A-F]+)", xsdt)]
        check(len(xs) == 2 and len(set(xs)) == 2 and all(0xe0000 <= a < 0xe1000 for a in xs),
              f"{tag}: XSDT entries {xs}")

        p = subprocess.run(["acpiexec", "-b", "evaluate \\_S5",
                            os.path.join(d, "facp.dat"), os.path.join(d, "dsdt.dat"),
                            os.path.join(d, "apic.dat")],
                           capture_output=True, text=True, timeout=60)
        out = p.stdout + p.stderr
        check(p.returncode == 0 and "Warning" not in out and "Error" not in out,
              f"{tag}: acpiexec: {out[-400:]}")
        ints = re.findall(r"\[Integer\] = ([0-9A-F]+)", out)
        check([int(x, 16) for x in ints] == [5, 0, 0, 0], f"{tag}: acpiexec \\_S5 = {ints}")

        r = open(os.path.join(d, "rsdp.dat"), "rb").read()
        check(len(r) == 36 and r[:8] == b"RSD PTR " and sum(r[:20]) % 256 == 0 and
              sum(r) % 256 == 0 and r[15] == 2 and struct.unpack_from("<I", r, 20)[0] == 36,
              f"{tag}: RSDP")
        xsdt_addr = struct.unpack_from("<Q", r, 24)[0]
        check(0xe0000 + 36 <= xsdt_addr < 0xe1000 and xsdt_addr % 16 == 0,
              f"{tag}: RSDP's XSDT address {xsdt_addr:#x}")

        m = open(os.path.join(d, "mptable.dat"), "rb").read()
        check(m[:4] == b"_MP_" and sum(m[:16]) % 256 == 0 and m[8] == 1 and m[9] == 4,
              f"{tag}: MP floating pointer")
        t = m[16:]
        base_len, nentries = struct.unpack_from("<H", t, 4)[0], struct.unpack_from("<H", t, 34)[0]
        check(t[:4] == b"PCMP" and sum(t[:base_len]) % 256 == 0, f"{tag}: MP table checksum")
        off, cpus, bsp, ioapics, irqs = 44, [], [], 0, {}
        for _ in range(nentries):
            kind = t[off]
            if kind == 0:
                if t[off + 3] & 1:
                    cpus.append(t[off + 1])
                if t[off + 3] & 2:
                    bsp.append(t[off + 1])
                off += 20
                continue
            if kind == 2:
                ioapics += 1
                check(struct.unpack_from("<I", t, off + 4)[0] == 0xfec00000,
                      f"{tag}: MP IOAPIC address")
            if kind == 3:
                irqs[t[off + 5]] = (struct.unpack_from("<H", t, off + 2)[0], t[off + 7])
            off += 8
        check(off == base_len, f"{tag}: MP entries fill the table ({off} of {base_len})")
        check(cpus == list(range(ncpus)) and bsp == [0], f"{tag}: MP processors {cpus}")
        check(ioapics == 1, f"{tag}: MP IOAPICs")
        check(all(irqs.get(i) == ((0xd if level_mask >> i & 1 else 0), i) for i in range(24)),
              f"{tag}: MP interrupt assignments")
    finally:
        shutil.rmtree(d)


def check_can_fail(tool):
    d = tempfile.mkdtemp(prefix="vessel-acpi-")
    try:
        subprocess.run([tool, d, "2", "0x20"], check=True, timeout=30)
        a = bytearray(open(os.path.join(d, "apic.dat"), "rb").read())
        a[47] ^= 0x40  # the first processor's APIC ID
        open(os.path.join(d, "apic.dat"), "wb").write(a)
        rc, out, text = iasl(os.path.join(d, "apic.dat"))
        check("Incorrect checksum" in text and "Warning" in out,
              "iasl did not report the corrupted MADT's checksum")
    finally:
        shutil.rmtree(d)


def main():
    for t in ["iasl", "acpiexec"]:
        if not shutil.which(t):
            print(f"SKIP: {t} not found (Debian package acpica-tools)")
            return 77
    tool = sys.argv[1]
    for ncpus, mask in [(1, 0x20), (4, 0x60), (8, 0xffe0), (255, 0)]:
        check_config(tool, ncpus, mask)
    check_can_fail(tool)
    r = subprocess.run([tool, tempfile.gettempdir(), "256", "0"], capture_output=True)
    check(r.returncode != 0, "256 vCPUs (8-bit APIC IDs) must be refused")
    print(f"{len(failures)} failures" if failures else "ACPI and MP tables ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
