#!/usr/bin/env python3
"""Debian's arm64 kernel (linux-image-arm64:arm64, unmodified) on Vessel's arm64 virt board:
boots through the GICv3, generic timer, PL011, PL031, PL061 and PSCI (CPU_ON with --smp 2),
unpacks the initramfs, runs Debian's static busybox (busybox-static:arm64, unmodified glibc
code using FP and Advanced SIMD) as /init at EL0 with a few applets whose output is checked,
and powers off through PSCI SYSTEM_OFF, on the interpreter and on the JIT.

usage: test-arm64-boot.py VESSEL_RUN ACCEL SMP [reset-loop | gicv2 | pci]

With gicv2 the board has a GICv2 (--gic-version 2) instead of the GICv3: the same boot,
with the kernel's GICv2 driver (no redistributor lines, no GICv3 lines at all).

With pci the virtio devices (a disk, an ISO, the rng) are on the PCIe host bridge
(--virtio-transport pci): Linux's pci-host-generic driver must find the bridge from the device
tree (ECAM, windows), enumerate the virtio-pci functions and size and assign their 64-bit BARs
in the 64-bit window; guest/arm64/init then loads virtio_pci and the drivers, which bind.

With reset-loop there is no initramfs: the kernel panics for want of a root file system and,
with panic=-1, reboots through PSCI SYSTEM_RESET at once. Every reboot must boot the same
way again (a full system reset: devices, GIC, timers, vCPUs, boot images), until vessel-run
stops after 8 quick resets in a row with status 3.

The assets come from `tools/guest-assets --arch arm64`; without them the test exits 77.
The /init script is guest/arm64/init.
"""
import os
import subprocess
import sys
import time

SKIP = 77
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Boot log lines that show each part of the board working, in order.
MARKERS = [
    "Booting Linux on physical CPU 0x0000000000 [0x410fd083]",
    "psci: PSCIv1.1 detected in firmware.",
    "GICv3: CPU0: found redistributor 0 region 0:0x00000000080a0000",
    "arch_timer: cp15 timer(s) running at 62.50MHz (virt).",
    "9000000.pl011: ttyAMA0 at MMIO 0x9000000 (irq = ",
    "PL061 GPIO chip registered",
    "rtc-pl031 9010000.pl031: registered as rtc0",
    "Run /init as init process",
    "VESSEL-ARM64-INIT-OK pid 1 machine aarch64",
    # Applet results (expected values computed on the host: sha256sum, md5sum of seq 1 1000,
    # 500 numbers and their newlines, awk's double arithmetic and formatting).
    "VESSEL-APPLET sha256 0c291e8d84e45ce2418acafad3b54b15ab1c41cd7548c1b861a3247a4bd5a7f5  -",
    "VESSEL-APPLET md5 53d025127ae99ab79e8502aae2d9bea6  -",
    "VESSEL-APPLET sort apple fig pear ",
    "VESSEL-APPLET sed hell0 w0rld",
    "VESSEL-APPLET wc 1892",
    "VESSEL-APPLET expr 367",
    "VESSEL-APPLET cmp 524288 same",
    "VESSEL-APPLET awk 3.141593 3.333e-01 23 0.3",
    "VESSEL-APPLET cpus ",
    "Features\t: fp asimd evtstrm crc32 atomics cpuid",
    "VESSEL-APPLETS-DONE",
    "reboot: Power down",
]
PCI_MARKERS = [
    "pci-host-generic 4010000000.pcie: ECAM at [mem 0x4010000000-0x401fffffff] for [bus 00-ff]",
    "pci_bus 0000:00: root bus resource [mem 0x10000000-0x3efeffff]",
    "pci_bus 0000:00: root bus resource [mem 0x8000000000-0xffffffffff]",
    "pci 0000:00:00.0: [1b36:0008] type 00 class 0x060000",
    "pci 0000:00:01.0: [1af4:1042] type 00 class 0x018000",
    "pci 0000:00:02.0: [1af4:1042] type 00 class 0x018000",
    "pci 0000:00:03.0: [1af4:1044] type 00 class 0xff0000",
    "pci 0000:00:01.0: BAR 4 [mem 0x8000000000-0x8000003fff 64bit pref]: assigned",
    "pci 0000:00:03.0: BAR 4 [mem 0x8000008000-0x800000bfff 64bit pref]: assigned",
    # guest/arm64/init's modprobe: virtio_pci binds the functions, virtio_blk the disks.
    "virtio-pci 0000:00:01.0: enabling device (0000 -> 0002)",
    "virtio_blk virtio0: [vda] 16384 512-byte logical blocks",
    "virtio_blk virtio1: [vdb] 4096 512-byte logical blocks",
]
SMP2_MARKERS = ["CPU1: Booted secondary processor 0x0000000001 [0x410fd083]",
                "smp: Brought up 1 node, 2 CPUs"]


def main():
    vessel, accel, smp = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else ""
    reset_loop = mode == "reset-loop"
    gicv2 = mode == "gicv2"
    markers = MARKERS
    if gicv2:
        markers = [m for m in MARKERS if not m.startswith("GICv3:")]
        markers.insert(2, "Root IRQ handler: gic_handle_irq")
    pci = mode == "pci"
    try:
        d = subprocess.run([os.path.join(REPO, "tools", "guest-assets"), "--arch", "arm64",
                            "--print-dir"], capture_output=True, text=True,
                           check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"SKIP: cannot ask tools/guest-assets for the arm64 directory: {e}")
        return SKIP
    kernel = os.path.join(d, "Image")
    initrd = os.path.join(d, "initramfs.cpio.gz")
    for f in (kernel, initrd):
        if not os.path.isfile(f):
            print(f"SKIP: {f} is missing; run tools/guest-assets --arch arm64")
            return SKIP
    cmd = [vessel, "--guest-arch", "arm64", "--accel", accel, "--smp", str(smp),
           "--memory", "512M", "--kernel", kernel, "--append", "console=ttyAMA0 panic=-1"]
    if not reset_loop:
        cmd += ["--initrd", initrd]
    if gicv2:
        cmd += ["--gic-version", "2"]
    if pci:
        import tempfile
        tmp = tempfile.mkdtemp(prefix="vessel-a64pci-")
        for name, size in (("disk.img", 8 << 20), ("cd.iso", 2 << 20)):
            with open(os.path.join(tmp, name), "wb") as f:
                f.truncate(size)
        cmd += ["--virtio-transport", "pci", "--disk", os.path.join(tmp, "disk.img") +
                ",format=raw", "--iso", os.path.join(tmp, "cd.iso")]
    print("running:", " ".join(cmd))
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=240)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        print("FAIL: no power-off within 240 s; last lines:")
        print("\n".join(out.splitlines()[-20:]))
        return 1
    secs = time.monotonic() - start
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    problems = []
    if reset_loop:
        boots = out.count("Booting Linux on physical CPU 0x0000000000")
        panics = out.count("Kernel panic - not syncing: VFS: Unable to mount root fs")
        if p.returncode != 3 or "reset 8 times in a row" not in err:
            problems.append(f"expected the reset-loop stop (status 3), got {p.returncode}: "
                            f"{err.strip()[-300:]}")
        if boots < 8 or panics < 8:
            problems.append(f"{boots} boots and {panics} root-mount panics; want 8 of each")
        if smp > 1 and out.count("smp: Brought up 1 node, 2 CPUs") < 8:
            problems.append("the second vCPU did not come up after every reset")
        for pr in problems:
            print("FAIL:", pr)
        if problems:
            print("\n".join(out.splitlines()[-30:]))
            return 1
        print(f"PASS: {boots} boots, each to the same panic, in {secs:.1f} s ({accel}, {smp} vCPUs)")
        return 0
    if p.returncode != 0:
        problems.append(f"vessel-run exited with status {p.returncode}: {err.strip()[-500:]}")
    pos = 0
    for m in markers + (SMP2_MARKERS if smp > 1 else []) + (PCI_MARKERS if pci else []):
        i = out.find(m, pos if m in markers else 0)
        if i < 0:
            problems.append(f"missing (in order): {m!r}")
        elif m in markers:
            pos = i
    if gicv2 and "GICv3" in out:
        problems.append("the kernel found a GICv3 although the board has a GICv2")
    for bad in ("Kernel panic", "Internal error", "Unable to handle", "BUG:", "WARNING:",
                "Oops", "undefined instruction", "Illegal instruction", "applet not found"):
        if bad in out:
            problems.append(f"the log contains {bad!r}")
    if problems:
        print("\n".join(out.splitlines()[-30:]))
        for pr in problems:
            print("FAIL:", pr)
        return 1
    print("\n".join(out.splitlines()[-6:]))
    print(f"PASS: booted to /init and powered off in {secs:.1f} s ({accel}, {smp} vCPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
