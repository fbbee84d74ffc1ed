#!/usr/bin/env python3
"""vessel-run --pin: the engine's threads really run pinned. Boots OpenSBI with a tiny
kernel that loops on wfi, reads Cpus_allowed_list of each thread from
/proc/PID/task/*/status (vCPU threads are named vcpuN, the I/O thread vessel-io, the timer
thread vessel-timer) and compares it with the policy and with the summary vessel-run
prints. Exits 77 when the firmware is missing or fewer than two CPUs are usable."""
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

VR = sys.argv[1]
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"


def parse_list(text):
    cpus = set()
    for item in text.strip().split(","):
        if "-" in item:
            a, b = item.split("-")
            cpus.update(range(int(a), int(b) + 1))
        else:
            cpus.add(int(item))
    return cpus


def thread_list(pid):
    """[(tid, name, set of allowed CPUs)] of the process's threads."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                status = f.read()
        except OSError:
            continue
        m = re.search(r"^Cpus_allowed_list:\s*(\S+)", status, re.M)
        if m:
            out.append((int(tid), name, parse_list(m.group(1))))
    return out


def threads(pid):
    """{thread name: set of allowed CPUs} (names are unique among the ones we check)."""
    out = {}
    for _, name, cpus in thread_list(pid):
        out.setdefault(name, cpus)
    return out


def run_case(kernel, args, nvcpus, env=None, extra_threads=0):
    """Start vessel-run, wait for its vCPU threads, return (summary, {name: cpus}, stderr,
    exit status, [(tid, name, cpus)], pid)."""
    errf = tempfile.TemporaryFile()
    p = subprocess.Popen([VR, "--firmware", FW, "--kernel", kernel, "--serial", "none",
                          "--smp", str(nvcpus)] + args, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
    names, tlist = {}, []
    deadline = time.time() + 60
    try:
        while time.time() < deadline and p.poll() is None:
            tlist = thread_list(p.pid)
            names = threads(p.pid)
            if all("vcpu%d" % i in names for i in range(nvcpus)) and "vessel-io" in names \
                    and "vessel-timer" in names \
                    and len(tlist) >= nvcpus + 3 + extra_threads:
                break
            time.sleep(0.05)
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    errf.seek(0)
    err = errf.read().decode(errors="replace")
    m = re.search(r"^vessel-run: pinning: (.*)$", err, re.M)
    return (m.group(1) if m else None), names, err, p.returncode, tlist, p.pid


def expected_from_summary(summary):
    """{thread name: set} for what the summary says is pinned."""
    want = {}
    cpulist = r"(\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*)"  # a ", " after it separates entries
    for m in re.finditer(r"vCPU (\d+) -> CPUs? " + cpulist, summary):
        want["vcpu" + m.group(1)] = parse_list(m.group(2))
    m = re.search(r"I/O, timer and worker threads -> CPUs? " + cpulist, summary)
    if m:
        want["vessel-io"] = want["vessel-timer"] = parse_list(m.group(1))
    return want


def main():
    if not os.path.exists(FW):
        print("SKIP: no OpenSBI firmware at %s" % FW)
        return 77
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        print("SKIP: only one usable CPU (%s): pinned and unpinned look the same" % usable)
        return 77
    a, b = usable[0], usable[1]
    allowed = set(usable)
    tmp = tempfile.mkdtemp(prefix="vessel-pin-")
    kernel = os.path.join(tmp, "wfi.elf")
    code = b"\x73\x00\x50\x10" * 4 + b"\x6f\xf0\x1f\xff"  # wfi x4; j .-16
    ehdr = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, b"\0" * 7,
                       2, 243, 1, 0x80200000, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 120, 0x80200000, 0x80200000, len(code), len(code),
                       4096)
    with open(kernel, "wb") as f:
        f.write(ehdr + phdr + code)

    # (args, vCPUs, exact affinities required: name -> set; None: the process's whole set)
    cases = [
        (["--pin", str(a)], 1, {"vcpu0": {a}, "vessel-io": None, "vessel-timer": None}),
        (["--pin", str(b)], 1, {"vcpu0": {b}, "vessel-io": None, "vessel-timer": None}),
        (["--pin", "%d,%d" % (b, a)], 2, {"vcpu0": {b}, "vcpu1": {a}, "vessel-io": None}),
        (["--pin", "%d-%d" % (a, b) if b == a + 1 else "%d,%d" % (a, b)], 3,
         {"vcpu0": {a, b}, "vcpu2": {a, b}}),
        (["--pin", "auto"], 2, {}),
        (["--pin", "performance"], 1, {}),
        (["--pin", "none"], 2, {"vcpu0": None, "vcpu1": None, "vessel-io": None,
                                "vessel-timer": None}),
        ([], 1, {"vcpu0": None, "vessel-io": None}),
    ]
    failures = 0
    for args, nv, required in cases:
        summary, names, err, rc, _, _ = run_case(kernel, args, nv)
        problems = []
        if "Sanitizer" in err or "runtime error" in err:
            problems.append("sanitizer report")
        if rc is not None and rc < 0:
            problems.append("killed by signal %d" % -rc)
        for i in range(nv):
            if "vcpu%d" % i not in names:
                problems.append("no thread vcpu%d seen" % i)
        if args and summary is None:
            problems.append("no 'pinning:' line on stderr")
        if not args and summary is not None:
            problems.append("a pinning line without --pin")
        want = {}
        if summary is not None:
            if args == ["--pin", "none"] and summary != "no pinning":
                problems.append("summary for none is %r" % summary)
            want = expected_from_summary(summary)
            if args[1] in ("auto", "performance") and len(want) < nv:
                problems.append("summary does not place every vCPU")
        for name, cpus in required.items():
            cpus = allowed if cpus is None else cpus
            if name in want and want[name] != cpus:
                problems.append("summary puts %s on %s, expected %s" % (name, want[name], cpus))
            want[name] = cpus
        for name in ("vessel-io", "vessel-timer"):
            want.setdefault(name, allowed)  # not pinned: the whole set
        for name, cpus in sorted(want.items()):
            if name in names and names[name] != cpus:
                problems.append("%s allowed on %s, expected %s" % (name, sorted(names[name]),
                                                                    sorted(cpus)))
            elif name not in names:
                problems.append("no thread %s" % name)
        status = "ok" if not problems else "FAIL: " + "; ".join(problems)
        print("%-28s %s\n    summary: %s\n    threads: %s" % (
            " ".join(args) or "(no --pin)", status, summary,
            ", ".join("%s=%s" % (n, sorted(c)) for n, c in sorted(names.items())
                      if n.startswith("vcpu") or n.startswith("vessel-"))))
        failures += bool(problems)
    failures += fake_hybrid(tmp, kernel, a, b, allowed)
    print("%d failure(s)" % failures)
    return 1 if failures else 0


def fake_hybrid(tmp, kernel, a, b, allowed):
    """A fake big.LITTLE sysfs (VESSEL_SYSFS_ROOT) over two real CPUs: CPU a big, CPU b
    little. auto must put the vCPU on a and every helper thread (I/O, timer, the 9P worker
    worker and the disk I/O pool) on b, and give the main thread
    back its own CPUs; performance puts everything on a."""
    root = os.path.join(tmp, "sys")
    cpu = os.path.join(root, "devices", "system", "cpu")
    os.makedirs(cpu)
    with open(os.path.join(cpu, "online"), "w") as f:
        f.write("%d,%d\n" % (a, b) if a + 1 != b else "%d-%d\n" % (a, b))
    for n, cap in ((a, 1024), (b, 446)):
        os.makedirs(os.path.join(cpu, "cpu%d" % n))
        with open(os.path.join(cpu, "cpu%d" % n, "cpu_capacity"), "w") as f:
            f.write("%d\n" % cap)
    share = os.path.join(tmp, "share")
    os.makedirs(share)
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    env = dict(os.environ, VESSEL_SYSFS_ROOT=root)
    devs = ["--share", "path=%s,tag=t" % share, "--disk", disk]
    failures = 0
    for policy, vcpu, helpers in (("auto", {a}, {b}), ("performance", {a}, {a})):
        summary, names, err, rc, tlist, pid = run_case(kernel, ["--pin", policy] + devs, 1,
                                                       env=env, extra_threads=3)
        problems = []
        if "Sanitizer" in err or "runtime error" in err:
            problems.append("sanitizer report")
        if summary is None:
            problems.append("no 'pinning:' line on stderr: %s" % err.strip())
        elif "(performance cores %d, efficiency cores %d, from cpu_capacity)" % (a, b) \
                not in summary:
            problems.append("summary does not show the fake big.LITTLE host")
        for name, cpus in (("vcpu0", vcpu), ("vessel-io", helpers), ("vessel-timer", helpers)):
            if names.get(name) != cpus:
                problems.append("%s allowed on %s, expected %s" % (name, names.get(name),
                                                                    sorted(cpus)))
        main_thread = [c for tid, _, c in tlist if tid == pid]
        if main_thread != [allowed]:
            problems.append("main thread on %s, expected its own %s back" % (main_thread,
                                                                             sorted(allowed)))
        # Device workers: the disk I/O pool (vessel-aio) and the unnamed 9P worker.
        aio = [c for _, n, c in tlist if n == "vessel-aio"]
        if not aio or any(c != helpers for c in aio):
            problems.append("disk I/O pool threads on %s, expected %s" % (aio, sorted(helpers)))
        p9 = [c for tid, n, c in tlist if n == "vessel-run" and tid != pid and c == helpers]
        if len(p9) != 1:
            problems.append("%d unnamed threads on %s, expected the 9P worker" % (
                len(p9), sorted(helpers)))
        status = "ok" if not problems else "FAIL: " + "; ".join(problems)
        print("fake big.LITTLE --pin %-11s %s\n    summary: %s\n    threads: %s" % (
            policy, status, summary,
            ", ".join("%s=%s" % (n, sorted(c)) for _, n, c in sorted(tlist))))
        failures += bool(problems)
    return failures


if __name__ == "__main__":
    sys.exit(main())
