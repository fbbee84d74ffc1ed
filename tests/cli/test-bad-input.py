#!/usr/bin/env python3
"""Bad input to vessel-run: each case must give a one-line error naming the problem,
a non-zero exit status, no crash (no sanitizer report, no signal) and no hang."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

VR = sys.argv[1]
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"


def run(args, timeout=30):
    try:
        p = subprocess.run([VR] + args, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", ""
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def main():
    tmp = tempfile.mkdtemp(prefix="vessel-bad-")
    empty = os.path.join(tmp, "empty")
    open(empty, "wb").close()
    garbage = os.path.join(tmp, "garbage")
    with open(garbage, "wb") as f:
        f.write(os.urandom(4096))
    tiny_elf = os.path.join(tmp, "short.elf")
    with open(tiny_elf, "wb") as f:
        f.write(b"\x7fELF\x02\x01\x01" + b"\0" * 20)  # truncated header
    fw = ["--firmware", FW] if os.path.exists(FW) else ["--firmware", garbage]
    # A minimal valid riscv64 ELF (one PT_LOAD segment at 0x80200000) as a kernel, so the
    # initrd cases get past the kernel checks.
    good_elf = os.path.join(tmp, "good.elf")
    code = b"\x73\x00\x50\x10" * 4  # wfi
    ehdr = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, b"\0" * 7,
                       2, 243, 1, 0x80200000, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 120, 0x80200000, 0x80200000, len(code), len(code),
                       4096)
    with open(good_elf, "wb") as f:
        f.write(ehdr + phdr + code)
    host_elf = "/bin/true"

    # arm64 Images (Documentation/arm64/booting.rst): a 64-byte header, "ARM\x64" at 0x38.
    def a64_image(path, body, flags=0, mz=False, pe_off=0):
        hdr = struct.pack("<4sIQQQQQQ4sI", b"MZ\0\0" if mz else b"\0" * 4, 0, 0,
                          len(body) + 64, flags, 0, 0, 0, b"ARM\x64", pe_off)
        with open(path, "wb") as f:
            f.write(hdr + body)
    a64_cut_header = os.path.join(tmp, "a64-cut-header")
    with open(a64_cut_header, "wb") as f:
        f.write(b"\0" * 0x38 + b"ARM\x64")  # ends inside the 64-byte header
    a64_cut_pe = os.path.join(tmp, "a64-cut-pe")
    # An EFI-stub Image whose PE header lists one section of 64 KiB at offset 0x1000, but the
    # file ends after 0x200 bytes.
    pe = struct.pack("<4sHHIIIHH", b"PE\0\0", 0xaa64, 1, 0, 0, 0, 0, 0)
    section = struct.pack("<8sIIIIIIHHI", b".text", 0x10000, 0x1000, 0x10000, 0x1000, 0, 0,
                          0, 0, 0)
    a64_image(a64_cut_pe, pe + section + b"\0" * 0x100, mz=True, pe_off=64)
    a64_be = os.path.join(tmp, "a64-be")
    a64_image(a64_be, b"\0" * 256, flags=1)
    a64_good = os.path.join(tmp, "a64-good")
    a64_image(a64_good, b"\x00\x00\x00\x14" * 64)  # b . (an endless loop)
    rv_image = os.path.join(tmp, "rv-image")
    with open(rv_image, "wb") as f:
        f.write(b"\0" * 0x30 + b"RISCV\0\0\0" + b"RSC\x05" + b"\0" * 4 + b"\0" * 256)
    gz = os.path.join(tmp, "vmlinuz")
    with open(gz, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00" + b"\0" * 100)
    a64 = ["--guest-arch", "arm64"]

    cases = [
        # (name, args, words the error must contain)
        ("missing kernel", fw + ["--kernel", os.path.join(tmp, "nope")], ["nope", "No such file"]),
        ("empty kernel", fw + ["--kernel", empty], ["empty"]),
        ("kernel is a directory", fw + ["--kernel", tmp], ["director"]),
        ("garbage kernel", fw + ["--kernel", garbage], ["not a riscv64"]),
        ("truncated ELF kernel", fw + ["--kernel", tiny_elf], ["short.elf"]),
        ("kernel for another arch", fw + ["--kernel", host_elf], ["x86-64"]),
        ("missing firmware", ["--firmware", os.path.join(tmp, "fw"), "--kernel", garbage],
         ["fw", "No such file"]),
        ("empty firmware", ["--firmware", empty], ["empty"]),
        ("missing initrd", fw + ["--kernel", good_elf, "--initrd", os.path.join(tmp, "rd")],
         ["initrd", "No such file"]),
        ("empty initrd", fw + ["--kernel", good_elf, "--initrd", empty], ["initrd", "empty"]),
        ("memory malformed", fw + ["--memory", "12XB"], ["--memory"]),
        ("memory zero", fw + ["--memory", "0"], ["--memory"]),
        ("memory too small", fw + ["--memory", "4M"], ["16 MiB"]),
        ("memory absurd", fw + ["--memory", "99999999999999999999G"], ["--memory"]),
        ("unknown arch", ["--guest-arch", "sparc64"], ["sparc64"]),
        ("unknown flag", ["--frobnicate"], ["--frobnicate"]),
        ("flag without value", ["--kernel"], ["--kernel"]),
        ("smp zero", fw + ["--smp", "0"], ["--smp"]),
        ("smp garbage", fw + ["--smp", "two"], ["--smp"]),
        ("nothing to boot", [], ["boot"]),
        ("unknown accel", ["--accel", "warp"], ["warp"]),
        ("unknown trace item", ["--trace", "ir,bogus-item"], ["'bogus-item'", "mmio"]),
        ("stray argument", ["extra"], ["extra"]),
        # Device options.
        ("disk without file", fw + ["--disk", ",readonly"], ["--disk", "file name"]),
        ("disk bad format", fw + ["--disk", "x.img,format=vmdk"], ["vmdk", "raw or qcow2"]),
        ("disk bad option", fw + ["--disk", "x.img,cache=none"], ["cache=none"]),
        ("iso empty name", fw + ["--iso", ""], ["--iso"]),
        ("net mode unknown", fw + ["--net-mode", "wifi"], ["wifi", "user, bridge or none"]),
        ("hostfwd malformed", fw + ["--net-mode", "user,hostfwd=tcp:2222:22"],
         ["hostfwd", "tcp:127.0.0.1:2222-:22"]),
        ("hostfwd port range", fw + ["--net-mode", "user,hostfwd=tcp::70000-:22"], ["70000"]),
        ("hostfwd on bridge", fw + ["--net-mode", "bridge,hostfwd=tcp::2222-:22"],
         ["--net-mode user"]),
        ("bad mac", fw + ["--net-mode", "user,mac=01:00:5e:00:00:01"], ["unicast"]),
        ("bridge without if", fw + ["--net-mode", "bridge"], ["--net-if"]),
        ("net-if without bridge", fw + ["--net-if", "tap0"], ["--net-mode bridge"]),
        ("share without tag", fw + ["--share", "path=" + tmp], ["tag=NAME"]),
        ("share unknown key", fw + ["--share", "path=" + tmp + ",tag=a,security=none"],
         ["security=none"]),
        ("share tag twice", fw + ["--share", "path=" + tmp + ",tag=a", "--share",
                                  "path=" + tmp + ",tag=a"], ["tag 'a'"]),
        ("display unknown", fw + ["--display", "sdl"], ["sdl", "none or virtio"]),
        ("console unknown", fw + ["--console", "tty"], ["tty", "uart or virtio"]),
        ("control not unix", fw + ["--control", "tcp:127.0.0.1:4444"], ["--control", "unix:PATH"]),
        ("control empty path", fw + ["--control", "unix:"], ["--control", "unix:PATH"]),
        # Core pinning.
        ("pin reversed range", fw + ["--pin", "3-1"], ["--pin", "3-1"]),
        ("pin garbage", fw + ["--pin", "abc"], ["--pin", "abc", "auto, performance, none"]),
        ("pin duplicate", fw + ["--pin", "0,0"], ["CPU 0 is listed twice"]),
        ("pin trailing comma", fw + ["--pin", "0,"], ["--pin", "at the end"]),
        ("pin out of range", fw + ["--pin", "0-99999999999999999999"], ["out of range"]),
        ("pin empty", fw + ["--pin", ""], ["--pin"]),
        # arm64 guests: the wrong architecture's kernel, truncated or unusable Images.
        ("arm64 Image on riscv64", fw + ["--kernel", a64_good], ["arm64", "--guest-arch arm64"]),
        ("riscv64 ELF on arm64", a64 + ["--kernel", good_elf], ["RISC-V", "arm64"]),
        ("riscv64 Image on arm64", a64 + ["--kernel", rv_image], ["riscv64 Linux Image",
                                                                  "--guest-arch riscv64"]),
        ("x86-64 ELF on arm64", a64 + ["--kernel", host_elf], ["x86-64"]),
        ("arm64 Image cut in header", a64 + ["--kernel", a64_cut_header], ["truncated"]),
        ("arm64 Image cut in body", a64 + ["--kernel", a64_cut_pe], ["truncated"]),
        ("arm64 big-endian Image", a64 + ["--kernel", a64_be], ["big-endian"]),
        ("arm64 gzip kernel", a64 + ["--kernel", gz], ["gzip"]),
        ("arm64 garbage kernel", a64 + ["--kernel", garbage], ["arm64"]),
        ("arm64 nothing to boot", a64, ["--kernel"]),
        ("arm64 firmware", a64 + ["--kernel", a64_good, "--firmware", garbage], ["--kernel"]),
        ("arm64 memory not 2 MiB", a64 + ["--kernel", a64_good, "--memory", "33M"], ["2 MiB"]),
        ("arm64 memory too small", a64 + ["--kernel", a64_good, "--memory", "8M"], ["16 MiB"]),
    ]
    # arm64 firmware boot (--firmware takes a UEFI flash image).
    fw_loop = os.path.join(tmp, "fw-loop.fd")
    with open(fw_loop, "wb") as f:
        f.write(struct.pack("<I", 0x14000000))  # b . (a usable, if idle, arm64 firmware)
    ovmf_like = os.path.join(tmp, "ovmf-like.fd")
    with open(ovmf_like, "wb") as f:  # a firmware volume header at 0, as x86 OVMF starts
        f.write(b"\0" * 0x20 + struct.pack("<Q", 0x1000) + b"_FVH" + b"\0" * (0x1000 - 0x2c))
    fw_cut = os.path.join(tmp, "fw-cut.fd")
    with open(fw_cut, "wb") as f:  # b 0x1000, then a 2 MiB volume in an 8 KiB file
        vol = b"\0" * 0x20 + struct.pack("<Q", 0x200000) + b"_FVH" + b"\0" * (0x1000 - 0x2c)
        f.write(struct.pack("<I", 0x14000400) + b"\0" * 0xffc + vol)
    fw_big = os.path.join(tmp, "fw-big.fd")
    with open(fw_big, "wb") as f:
        f.truncate(65 * 1024 * 1024)
    cases += [
        ("arm64 firmware missing", a64 + ["--firmware", os.path.join(tmp, "nope.fd")],
         ["nope.fd"]),
        ("arm64 firmware empty", a64 + ["--firmware", empty], ["empty"]),
        ("arm64 firmware a kernel", a64 + ["--firmware", a64_good], ["--kernel"]),
        ("arm64 firmware an ELF", a64 + ["--firmware", good_elf], ["ELF"]),
        ("arm64 firmware x86 OVMF", a64 + ["--firmware", ovmf_like], ["x86"]),
        ("arm64 firmware truncated", a64 + ["--firmware", fw_cut], ["truncated"]),
        ("arm64 firmware too big", a64 + ["--firmware", fw_big], ["64 MiB code flash"]),
        ("efi-vars without firmware", a64 + ["--kernel", a64_good, "--efi-vars", empty],
         ["--efi-vars"]),
        ("efi-vars a directory", a64 + ["--firmware", fw_loop, "--efi-vars", tmp],
         ["regular file"]),
        ("virtio transport unknown", a64 + ["--virtio-transport", "isa"], ["mmio or pci"]),
        ("virtio transport riscv64", fw + ["--virtio-transport", "pci"], ["arm64"]),
    ]
    # Installer ISOs that cannot boot an arm64 VM through UEFI (made with xorriso, as
    # tools/guest-assets makes the real one): no EFI loader at all, or an x86-64 one only.
    if shutil.which("xorriso"):
        for name, path in (("data", "readme.txt"), ("x86", "EFI/BOOT/BOOTX64.EFI")):
            tree = os.path.join(tmp, "iso-" + name)
            os.makedirs(os.path.dirname(os.path.join(tree, path)), exist_ok=True)
            with open(os.path.join(tree, path), "wb") as f:
                f.write(b"MZ" + b"\0" * 510)
            subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-J", "-R", "-o",
                            os.path.join(tmp, name + ".iso"), tree], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        uefi = a64 + ["--firmware", fw_loop, "--efi-vars", os.path.join(tmp, "vars.fd")]
        cases += [
            ("arm64 ISO without EFI loader", uefi + ["--iso", os.path.join(tmp, "data.iso")],
             ["data.iso", "no EFI boot image", "BOOTAA64.EFI"]),
            ("arm64 ISO for x86-64", uefi + ["--iso", os.path.join(tmp, "x86.iso")],
             ["x86.iso", "x86_64", "BOOTX64.EFI", "BOOTAA64.EFI"]),
            ("arm64 ISO missing", uefi + ["--iso", os.path.join(tmp, "nope.iso")],
             ["nope.iso", "No such file"]),
        ]
    else:
        print("note: xorriso is missing (tools/bootstrap installs it); the ISO cases are skipped")
    usable = os.sched_getaffinity(0)
    for cpu in (99, 1023):
        if cpu not in usable:
            cases.append(("pin CPU %d unusable" % cpu, fw + ["--pin", str(cpu)],
                          ["--pin %d" % cpu, "CPU %d" % cpu]))
    if os.getuid() != 0:
        unreadable = os.path.join(tmp, "unreadable")
        with open(unreadable, "wb") as f:
            f.write(b"x" * 100)
        os.chmod(unreadable, 0)
        cases.append(("unreadable kernel", fw + ["--kernel", unreadable], ["Permission denied"]))
    else:
        print("note: running as root, the unreadable-file case cannot be made; skipped")

    failures = 0
    for name, args, words in cases:
        rc, out, err = run(args)
        problems = []
        if rc is None:
            problems.append("hung (no exit within 30 s)")
        else:
            lines = [l for l in err.splitlines() if l.strip()]
            if rc == 0:
                problems.append("exit status 0")
            if rc < 0:
                problems.append("killed by signal %d" % -rc)
            if "Sanitizer" in err or "runtime error" in err:
                problems.append("sanitizer report")
            if len(lines) != 1:
                problems.append("expected one line on stderr, got %d" % len(lines))
            for w in words:
                if w.lower() not in err.lower():
                    problems.append("error does not mention %r" % w)
        status = "ok" if not problems else "FAIL: " + "; ".join(problems)
        print("%-26s rc=%s %s\n    %s" % (name, rc, status, err.strip().replace("\n", "\n    ")))
        failures += bool(problems)
    print("%d of %d cases failed" % (failures, len(cases)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
