#!/usr/bin/env python3
"""virtio-gpu, the control socket and vessel-run's signals, with the test guest (riscv64, or
arm64 with VESSEL_TEST_ARCH=arm64).

usage: test-gpu.py VESSEL_RUN [powerdown]

1. --display virtio --control unix:SOCK, kernel console on tty0 (the framebuffer console
   on the virtio-gpu scanout) and the UART. The guest writes a marker on tty1 and watches its
   virtio keyboard. Over the socket: status, pause/resume, screendump (the PNG is decoded
   here: 1024x768, and the console text makes it far from blank), invalid JSON, a line
   over 64 KiB, unknown commands and keys, send-key (the guest sees the key codes in
   order: presses, then releases in reverse). Then SIGTERM: vessel-run asks the guest to
   power down (KEY_POWER on the virtio keyboard), the guest's watcher powers off, exit 0,
   and the socket file is gone.
2. A guest that ignores the power key: the first SIGTERM leaves it running, the second
   stops it (exit 4).
3. A stale socket file (nothing listening) is replaced; a second vessel-run on a socket in
   use is refused; the quit command stops the machine (exit 4).
4. Without a display: screendump and send-key get error replies; SIGTERM cannot ask the
   guest and stops it at once (exit 4).
5. --control on an existing file that is not a socket is refused.

On arm64 only run 1 runs (2-5 are host-side code the riscv64 run covers), and vs_machine_
powerdown presses the board's power key (PL061 GPIO -> gpio-keys) rather than KEY_POWER on the
virtio keyboard, so the guest's acpid (guest/arm64/init) powers it off.

With `powerdown` (arm64): no display; the control socket's powerdown command presses the
board's power key, the guest's acpid runs poweroff, Linux powers off through PSCI SYSTEM_OFF
and vessel-run exits 0; screendump without a display is an error.
"""
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

import guestlib

# The keyboard watcher: print each key event (code, value) of the virtio keyboard; power off
# on a KEY_POWER press. struct input_event on riscv64: 16-byte time, u16 type, u16 code,
# s32 value.
WATCH = r"""
kbd=
for d in /sys/class/input/event*; do
    case "$(cat $d/device/name)" in *Keyboard*) kbd=/dev/input/${d##*/};; esac
done
echo "keyboard=$kbd"
exec 3<$kbd
while :; do
    ev=$(dd bs=24 count=1 <&3 2>/dev/null | od -An -tx1 -v | tr -d ' \n')
    type=${ev:32:4}
    [ "$type" = 0100 ] || continue
    code=$((0x${ev:38:2}${ev:36:2}))
    value=$((0x${ev:40:2}))
    echo "key-event code=$code value=$value"
    if [ "$code" = 116 ] && [ "$value" = 1 ] && [ "$POWER" = 1 ]; then
        echo "guest-got-power-key"
        poweroff -f
    fi
done
"""

SCRIPT = r"""
echo VESSEL-GPU-MARKER-ON-TTY1 > /dev/tty1
for i in 1 2 3 4 5 6 7 8; do echo "line $i of the framebuffer console test" > /dev/tty1; done
POWER=%(power)s sh /t/watch.sh &
sleep 1
echo gpu-guest-ready
while :; do sleep 10; done
"""


class Vessel:
    """vessel-run in the background with its output collected."""

    def __init__(self, cmd):
        print("$ " + " ".join(cmd), flush=True)
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.out = b""
        self.t0 = time.monotonic()

    def pump(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if r:
            chunk = os.read(self.p.stdout.fileno(), 65536)
            self.out += chunk
            return bool(chunk)
        return True

    def text(self):
        return self.out.decode(errors="replace")

    def wait_for(self, text, timeout=120):
        end = time.monotonic() + timeout
        while text.encode() not in self.out:
            if time.monotonic() > end or self.p.poll() is not None and not self.pump(0):
                return False
            self.pump(0.2)
        return True

    def wait_exit(self, timeout=60):
        end = time.monotonic() + timeout
        while self.p.poll() is None and time.monotonic() < end:
            self.pump(0.2)
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
            print(self.text()[-4000:])
            print("FAIL: vessel-run did not exit within %d s" % timeout)
            return None
        while self.pump(0.05) and self.p.stdout in select.select([self.p.stdout], [], [], 0)[0]:
            pass
        print(self.text()[-3000:])
        print("exit status %d after %.1f s" % (self.p.returncode, time.monotonic() - self.t0),
              flush=True)
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


class Client:
    def __init__(self, path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        end = time.monotonic() + timeout
        while True:
            try:
                self.s.connect(path)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)
        self.s.settimeout(60)
        self.buf = b""

    def send_raw(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("control socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, obj):
        self.send_raw(json.dumps(obj).encode() + b"\n")
        r = self.line()
        print("  %s -> %s" % (json.dumps(obj)[:100], json.dumps(r)[:200]), flush=True)
        return r

    def close(self):
        self.s.close()


def make_initrd(files, wd, power):
    return guestlib.extra_initrd(files["initramfs.cpio.gz"], {
        "/t/test.sh": SCRIPT % {"power": power}, "/t/watch.sh": WATCH}, wd)


def boot(vessel_run, files, initrd, sock, display=True):
    extra = ["--control", "unix:" + sock]
    if display:
        extra += ["--display", "virtio"]
    cmd = guestlib.command(vessel_run, files, run="sh /t/test.sh", initrd=initrd, extra=extra,
                           console="console=tty0 console=" + guestlib.SERIAL)
    return Vessel(cmd)


def check_screendump(c, cl, path):
    """Screendump until the console text is there (fbcon flushes in a deferred worker)."""
    for attempt in range(20):
        if os.path.exists(path):
            os.unlink(path)
        r = cl.cmd({"execute": "screendump", "file": path})
        if not c.check(r == {"return": {}}, "screendump reply %r" % r):
            return
        if not c.check(os.path.isfile(path), "screendump wrote no file"):
            return
        with open(path, "rb") as f:
            w, h, rows = guestlib.png_decode(f.read())
        colours = set()
        bg = rows[0][0:3]
        lit = 0
        for row in rows:
            for x in range(0, len(row), 3):
                px = row[x:x + 3]
                if px != bg:
                    lit += 1
                if len(colours) < 16:
                    colours.add(px)
        print("  screendump: %dx%d, %d pixels differ from the background, %s colours"
              % (w, h, lit, len(colours) if len(colours) < 16 else "16+"), flush=True)
        c.check((w, h) == (1024, 768), "screendump size %dx%d, expected 1024x768" % (w, h))
        # Text of a few dozen console lines lights thousands of pixels.
        if lit > 5000 and len(colours) > 1:
            return
        time.sleep(0.5)
    c.check(False, "the screendump stayed (nearly) blank: %d lit pixels" % lit)


def powerdown_test(c, vessel_run, files, wd, sock, shot):
    """The control socket's powerdown on a machine without a display (arm64: the board's
    power key through gpio-keys to the guest's acpid)."""
    v = boot(vessel_run, files, make_initrd(files, wd, 0), sock, display=False)
    try:
        c.check(v.wait_for("gpu-guest-ready"), "powerdown: guest did not get ready")
        cl = Client(sock)
        r = cl.cmd({"execute": "screendump", "file": shot})
        c.check(r.get("error", {}).get("class") == "StateError",
                "powerdown: screendump without a display: %r" % r)
        c.check(cl.cmd({"execute": "powerdown", "id": 7}) == {"return": {}, "id": 7},
                "powerdown: the command failed")
        status = v.wait_exit()
        out = v.text()
        c.check(status == 0, "powerdown: vessel-run exit status %r (expected 0)" % status)
        c.expect(out, "vessel-init: power button pressed, powering off")
        c.expect(out, "reboot: Power down")
        c.check(not os.path.exists(sock), "powerdown: the control socket was not removed")
        cl.close()
    finally:
        v.kill()


def main():
    vessel_run = sys.argv[1]
    files = guestlib.assets_or_skip()
    c = guestlib.Checker()
    arm = guestlib.ARCH == "arm64"
    with guestlib.tempdir("vessel-gpu-") as wd:
        sock = os.path.join(wd, "control.sock")
        shot = os.path.join(wd, "screen.png")
        keep = os.environ.get("VESSEL_GPU_SCREENDUMP")  # copy the PNG here to look at it

        if sys.argv[2:] == ["powerdown"]:
            if not arm:
                print("SKIP: the riscv64 board has no power key of its own (run 1 and "
                      "test-input press KEY_POWER on the virtio keyboard there)")
                return guestlib.SKIP
            powerdown_test(c, vessel_run, files, wd, sock, shot)
            return c.finish()

        # ---- 1: display, control commands, send-key, SIGTERM -> power key -> poweroff ----
        v = boot(vessel_run, files, make_initrd(files, wd, 1), sock)
        try:
            c.check(v.wait_for("gpu-guest-ready"), "guest did not get ready")
            c.check(v.wait_for("keyboard=/dev/input/event"), "no virtio keyboard in the guest")
            cl = Client(sock)
            c.check(cl.cmd({"execute": "status"}) == {"return": {"state": "running"}},
                    "status is not running")
            check_screendump(c, cl, shot)
            if keep and os.path.exists(shot):
                with open(shot, "rb") as f, open(keep, "wb") as o:
                    o.write(f.read())
            c.check(cl.cmd({"execute": "pause", "id": 1}) == {"return": {}, "id": 1},
                    "pause failed")
            c.check(cl.cmd({"execute": "status"}) == {"return": {"state": "paused"}},
                    "status is not paused")
            r = cl.cmd({"execute": "pause"})
            c.check("error" in r and r["error"]["class"] == "StateError",
                    "pausing twice: %r" % r)
            c.check(cl.cmd({"execute": "resume"}) == {"return": {}}, "resume failed")
            c.check(cl.cmd({"execute": "status"}) == {"return": {"state": "running"}},
                    "status is not running after resume")
            # A second client at the same time.
            cl2 = Client(sock)
            c.check(cl2.cmd({"execute": "status"}) == {"return": {"state": "running"}},
                    "second client: status")
            # Bad input.
            for bad in (b"{not json\n", b"\"just a string\"\n", b"{\"execute\":1}\n",
                        b"{\"a\":1} trailing\n", b"\xff\xfe\n"):
                cl.send_raw(bad)
                r = cl.line()
                print("  %r -> %s" % (bad, json.dumps(r)), flush=True)
                c.check("error" in r and r["error"]["class"] in ("ParseError", "InvalidRequest"),
                        "bad line %r got %r" % (bad, r))
            cl.send_raw(b"{\"execute\":\"status\",\"pad\":\"" + b"x" * 70000 + b"\"}\n")
            r = cl.line()
            c.check("error" in r and "longer than" in r["error"]["desc"],
                    "over-long line got %r" % r)
            r = cl.cmd({"execute": "no-such-command"})
            c.check(r.get("error", {}).get("class") == "CommandNotFound", "unknown command: %r" % r)
            r = cl.cmd({"execute": "send-key", "keys": ["ctrl", "no-such-key"]})
            c.check(r.get("error", {}).get("class") == "InvalidParameter", "unknown key: %r" % r)
            r = cl.cmd({"execute": "screendump", "file": os.path.join(wd, "no-dir", "x.png")})
            c.check(r.get("error", {}).get("class") == "IOError", "unwritable file: %r" % r)
            c.check(cl2.cmd({"execute": "status"}) == {"return": {"state": "running"}},
                    "the connection is not usable after bad input")
            # send-key: shift (42), a (30), KEY_B as an evdev name (48), 46 (c) as a code.
            r = cl.cmd({"execute": "send-key", "keys": ["shift", "a", "KEY_B", 46]})
            c.check(r == {"return": {}}, "send-key failed: %r" % r)
            c.check(v.wait_for("key-event code=42 value=0", 60), "the guest saw no key release")
            events = [l.split("key-event ")[1].strip() for l in v.text().splitlines()
                      if "key-event " in l]
            want = ["code=%d value=%d" % (k, 1) for k in (42, 30, 48, 46)]
            want += ["code=%d value=%d" % (k, 0) for k in (46, 48, 30, 42)]
            c.check(events == want, "guest key events %r, expected %r" % (events, want))
            cl.close()
            cl2.close()
            v.p.send_signal(signal.SIGTERM)
            status = v.wait_exit()
            out = v.text()
            c.check(status == 0, "SIGTERM with a guest that honours the power key: exit %r" % status)
            c.expect(out, "asked the guest to power down")
            if arm:
                c.expect(out, "vessel-init: power button pressed, powering off")
            else:
                c.expect(out, "guest-got-power-key")
            c.check(not os.path.exists(sock), "the control socket was not removed")
        finally:
            v.kill()
        if arm:
            return c.finish()

        # ---- 2: the guest ignores the power key: the second SIGTERM stops it ----
        v = boot(vessel_run, files, make_initrd(files, wd, 0), sock)
        try:
            c.check(v.wait_for("gpu-guest-ready"), "run 2: guest did not get ready")
            v.p.send_signal(signal.SIGTERM)
            c.check(v.wait_for("asked the guest to power down", 30), "run 2: no SIGTERM message")
            c.check(v.wait_for("key-event code=116 value=1", 30), "run 2: no KEY_POWER in guest")
            cl = Client(sock)
            c.check(cl.cmd({"execute": "status"}) == {"return": {"state": "running"}},
                    "run 2: not running after one SIGTERM")
            cl.close()
            v.p.send_signal(signal.SIGTERM)
            status = v.wait_exit()
            c.check(status == 4, "run 2: second SIGTERM: exit %r (expected 4)" % status)
            c.expect(v.text(), "stopped by signal 15")
        finally:
            v.kill()

        # ---- 3: a stale socket file is replaced; a socket in use is refused; quit ----
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(sock)
        stale.close()
        v = boot(vessel_run, files, make_initrd(files, wd, 0), sock)
        try:
            c.check(v.wait_for("gpu-guest-ready"), "run 3: guest did not get ready")
            cmd = guestlib.command(vessel_run, files, extra=["--control", "unix:" + sock])
            status, out = guestlib.run(cmd, timeout=60)
            c.check(status == 1, "a second vessel-run on the same socket: exit %r" % status)
            c.expect(out, "is in use by another process")
            cl = Client(sock)
            c.check(cl.cmd({"execute": "quit"}) == {"return": {}}, "run 3: quit reply")
            status = v.wait_exit()
            c.check(status == 4, "run 3: quit: exit %r (expected 4)" % status)
            c.expect(v.text(), "quit command")
            cl.close()
        finally:
            v.kill()

        # ---- 4: no display ----
        v = boot(vessel_run, files, make_initrd(files, wd, 0), sock, display=False)
        try:
            c.check(v.wait_for("gpu-guest-ready"), "run 4: guest did not get ready")
            cl = Client(sock)
            r = cl.cmd({"execute": "screendump", "file": shot})
            c.check(r.get("error", {}).get("class") == "StateError",
                    "run 4: screendump without a display: %r" % r)
            r = cl.cmd({"execute": "send-key", "keys": ["a"]})
            c.check("error" in r, "run 4: send-key without a keyboard: %r" % r)
            r = cl.cmd({"execute": "powerdown"})
            c.check(r.get("error", {}).get("class") == "Unsupported",
                    "run 4: powerdown without a power button or keyboard: %r" % r)
            cl.close()
            v.p.send_signal(signal.SIGTERM)
            status = v.wait_exit()
            c.check(status == 4, "run 4: SIGTERM: exit %r (expected 4)" % status)
            c.expect(v.text(), "cannot ask the guest to power down")
        finally:
            v.kill()

        # ---- 5: a path that is not a socket ----
        plain = os.path.join(wd, "plain-file")
        with open(plain, "w") as f:
            f.write("keep me\n")
        cmd = guestlib.command(vessel_run, files, extra=["--control", "unix:" + plain])
        status, out = guestlib.run(cmd, timeout=60)
        c.check(status == 1, "--control on a regular file: exit %r (expected 1)" % status)
        c.expect(out, "exists and is not a socket")
        with open(plain) as f:
            c.check(f.read() == "keep me\n", "the regular file was changed")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
