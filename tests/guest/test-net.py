#!/usr/bin/env python3
"""virtio-net in the test guest (riscv64; arm64 with VESSEL_TEST_ARCH=arm64: the user
networking run only, the rest is host-side code the riscv64 run covers).

User networking (libslirp):
- the guest brings eth0 up and gets 10.0.2.15 and the default route 10.0.2.2 from slirp's
  DHCP (busybox udhcpc with a small script of ours: the guest has no default one);
- it fetches a page of random bytes from an HTTP server this test runs on 127.0.0.1, via
  the gateway 10.0.2.2, and its sha256 matches;
- a guest port is reached through a host forward: the guest listens with nc on 8080, the
  test connects to 127.0.0.1:PORT (--net-mode user,hostfwd=tcp:127.0.0.1:PORT-:8080),
  sends a line and gets the guest's reply; the guest prints the line it got.
Bad input:
- a forward whose host port is already bound: vessel-run exits 1 with a clear message;
- --net-mode bridge with an interface that does not exist: exit 1, clear message.
TAP (--net-mode bridge): in a network namespace of its own with a tap device 10.77.0.1/24,
the guest takes 10.77.0.2, pings the namespace side and exchanges a line over TCP with a
server there. Then, as user nobody without capabilities: /dev/net/tun refused (when it is
0600) and, with a 0666 node bind-mounted in a private mount namespace, attaching to a tap
owned by root refused: both exit 1 with a clear message. The TAP part is skipped (and
says so) when the namespace or tap cannot be made here (no CAP_NET_ADMIN).
"""
import hashlib
import http.server
import os
import select
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time

import guestlib

UDHCPC_SCRIPT = r"""#!/bin/sh
# udhcpc calls this with deconfig, bound, renew or nak; the lease is in the environment.
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for r in $router; do
        ip route replace default via "$r" dev "$interface"
        break
    done
    echo "lease: ip=$ip router=$router dns=$dns"
    ;;
esac
exit 0
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass


def http_server(directory):
    handler = lambda *a, **kw: QuietHandler(*a, directory=directory, **kw)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def talk_to_guest(port, line, tries=20):
    """Connect to the forwarded port, send a line, return the reply ('' if none)."""
    for _ in range(tries):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                s.sendall(line)
                s.shutdown(socket.SHUT_WR)
                reply = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
                if reply:
                    return reply.decode(errors="replace")
        except OSError as e:
            print("connect to the forward: %s (retrying)" % e, flush=True)
        time.sleep(1)
    return ""


def run_with_action(cmd, marker, action, timeout=240):
    """Run vessel-run; once `marker` appears in its output, run action() in a thread.
    Returns (status or None, output, action's result)."""
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = b""
    result = {}
    worker = None
    while True:
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            p.kill()
            p.wait()
            print(out.decode(errors="replace")[-8000:])
            print("FAIL: the guest did not power off within %.0f s" % timeout)
            return None, out.decode(errors="replace"), result.get("r")
        r, _, _ = select.select([p.stdout], [], [], min(left, 1.0))
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
        if worker is None and marker.encode() in out:
            worker = threading.Thread(target=lambda: result.update(r=action()), daemon=True)
            worker.start()
    status = p.wait()
    if worker:
        worker.join(60)
    text = out.decode(errors="replace")
    print(text[-8000:])
    print("exit status %d after %.1f s" % (status, time.monotonic() - t0), flush=True)
    return status, text, result.get("r")


def test_user(vessel_run, files, c):
    page = os.urandom(192 * 1024 + 123)
    digest = hashlib.sha256(page).hexdigest()
    fwd_port = free_port()
    with guestlib.tempdir("vessel-net-") as wd:
        www = os.path.join(wd, "www")
        os.mkdir(www)
        with open(os.path.join(www, "page.bin"), "wb") as f:
            f.write(page)
        srv = http_server(www)
        http_port = srv.server_address[1]
        script = r"""
ip link set lo up
echo "driver: $(basename $(readlink /sys/class/net/eth0/device/driver))"
echo "mac: $(cat /sys/class/net/eth0/address)"
echo "features: $(cat /sys/class/net/eth0/device/features)"
udhcpc -i eth0 -s /t/udhcpc.sh -n -q -t 10 -T 3 || echo udhcpc-failed
ip -4 addr show dev eth0 | grep -o 'inet [0-9./]*' | sed 's/^/addr: /'
ip route | grep default | sed 's/^/route: /'
wget -q -O /tmp/page http://10.0.2.2:%d/page.bin || echo wget-failed
sha256sum /tmp/page | sed 's/^/guest-sha256=/'
echo reply-from-guest-$((6*7)) > /tmp/reply
nc -l -p 8080 < /tmp/reply > /tmp/got &
sleep 1
echo GUEST-LISTENING
wait
sed 's/^/guest-got:/' /tmp/got
for s in rx_errors rx_length_errors tx_errors; do
    echo "stat $s=$(cat /sys/class/net/eth0/statistics/$s)"
done
""" % http_port
        initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"],
                                       {"/t/test.sh": script, "/t/udhcpc.sh": UDHCPC_SCRIPT}, wd)
        cmd = guestlib.command(vessel_run, files, run="sh /t/test.sh", initrd=initrd,
                               extra=["--net-mode",
                                      "user,hostfwd=tcp:127.0.0.1:%d-:8080" % fwd_port])
        status, out, reply = run_with_action(
            cmd, "GUEST-LISTENING", lambda: talk_to_guest(fwd_port, b"hello-from-host\n"))
        srv.shutdown()
    c.check(status == 0, "user: vessel-run exit status %r (expected 0)" % status)
    c.expect(out, "driver: virtio_net")
    c.expect(out, "mac: 52:54:00:12:34:56")
    # The driver took CSUM, GUEST_CSUM, MAC, MRG_RXBUF, STATUS and VERSION_1 (bit i is
    # character i), so the transfers below ran with both checksum offloads.
    feats = out.split("features: ", 1)[1].split()[0] if "features: " in out else ""
    c.check(len(feats) > 32 and all(feats[b] == "1" for b in (0, 1, 5, 15, 16, 32)),
            "user: negotiated features %r" % feats)
    c.expect(out, "lease: ip=10.0.2.15 router=10.0.2.2 dns=10.0.2.3")
    c.expect(out, "addr: inet 10.0.2.15/24")
    c.expect(out, "route: default via 10.0.2.2")
    c.expect(out, "guest-sha256=" + digest)
    c.check(reply is not None and "reply-from-guest-42" in reply,
            "user: the host forward did not bring the guest's reply (got %r)" % reply)
    c.expect(out, "guest-got:hello-from-host")
    for stat in ("rx_errors", "rx_length_errors", "tx_errors"):
        c.expect(out, "stat %s=0" % stat)
    c.expect(out, "VESSEL-RUN-EXIT=0")


def test_bad_input(vessel_run, files, c):
    # A forward onto a port someone already holds.
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    cmd = guestlib.command(vessel_run, files,
                           extra=["--net-mode", "user,hostfwd=tcp:127.0.0.1:%d-:22" % port])
    status, out = guestlib.run(cmd, timeout=60)
    busy.close()
    c.check(status == 1, "port in use: exit status %r (expected 1)" % status)
    c.expect(out, "cannot forward host port 127.0.0.1:%d (tcp) to the guest: "
                  "Address already in use" % port)
    c.check(guestlib.INIT_MARKER not in out, "port in use: the guest booted anyway")

    cmd = guestlib.command(vessel_run, files,
                           extra=["--net-mode", "bridge", "--net-if", "doesnotexist0"])
    status, out = guestlib.run(cmd, timeout=60)
    c.check(status == 1, "missing tap: exit status %r (expected 1)" % status)
    c.expect(out, "there is no network interface 'doesnotexist0'")


def sh(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


TAP_SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.1", 5555))
s.listen(1)
s.settimeout(200)
print("server-ready", flush=True)
conn, peer = s.accept()
conn.settimeout(60)
data = b""
while not data.endswith(b"\n"):
    chunk = conn.recv(4096)
    if not chunk:
        break
    data += chunk
print("server-got:" + data.decode().strip() + " from " + peer[0], flush=True)
conn.sendall(data.upper())
conn.close()
"""


def test_tap(vessel_run, files, c):
    """Returns False when it could not run here (skip), True otherwise."""
    ns = "vessel-net-%d" % os.getpid()
    r = sh(["ip", "netns", "add", ns])
    if r.returncode != 0:
        print("SKIP tap: cannot create a network namespace (%s)" % r.stdout.strip())
        return False
    server = None
    try:
        ex = ["ip", "netns", "exec", ns]
        for args in (["ip", "link", "set", "lo", "up"],
                     ["ip", "tuntap", "add", "dev", "vtap0", "mode", "tap"],
                     ["ip", "addr", "add", "10.77.0.1/24", "dev", "vtap0"],
                     ["ip", "link", "set", "vtap0", "up"]):
            r = sh(ex + args)
            if r.returncode != 0:
                print("SKIP tap: %s: %s" % (" ".join(args), r.stdout.strip()))
                return False
        server = subprocess.Popen(ex + [sys.executable, "-c", TAP_SERVER],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = server.stdout.readline()
        if "server-ready" not in ready:
            print("SKIP tap: the server in the namespace did not start: %s" % ready)
            return False
        script = r"""
ip link set eth0 up
ip addr add 10.77.0.2/24 dev eth0
ping -c 3 -W 5 10.77.0.1 | grep -E 'packets transmitted' | sed 's/^/tap-ping: /'
echo hello-over-tap | nc 10.77.0.1 5555 | sed 's/^/tap-reply:/'
"""
        with guestlib.tempdir("vessel-net-tap-") as wd:
            initrd = guestlib.extra_initrd(files["initramfs.cpio.gz"], {"/t/test.sh": script}, wd)
            cmd = ex + guestlib.command(vessel_run, files, run="sh /t/test.sh", initrd=initrd,
                                        extra=["--net-mode", "bridge", "--net-if", "vtap0"])
            status, out = guestlib.run(cmd)
        try:
            server_out, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server_out, _ = server.communicate()
        print(server_out)
        c.check(status == 0, "tap: vessel-run exit status %r (expected 0)" % status)
        c.expect(out, "tap-ping: 3 packets transmitted, 3 packets received")
        c.expect(out, "tap-reply:HELLO-OVER-TAP")
        c.check("server-got:hello-over-tap from 10.77.0.2" in server_out,
                "tap: the namespace's server did not get the guest's line")

        # Without the privilege to attach: a clear error, exit 1. Where /dev/net/tun is
        # 0600 (as here, perhaps) open() already refuses; where it is 0666 (as on Debian),
        # TUNSETIFF refuses for a tap owned by someone else: both, the second with a 0666
        # node bind-mounted over /dev/net/tun in a private mount namespace.
        if shutil.which("setpriv"):
            nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                      "--inh-caps=-all"]
            cmd = ex + nobody + guestlib.command(
                vessel_run, files, extra=["--net-mode", "bridge", "--net-if", "vtap0"])
            status, out = guestlib.run(cmd, timeout=60)
            c.check(status == 1, "tap without privilege: exit status %r (expected 1)" % status)
            c.check("cannot attach to TAP interface 'vtap0': permission denied" in out or
                    "cannot open /dev/net/tun: Permission denied" in out,
                    "tap without privilege: no clear message")
            with guestlib.tempdir("vessel-net-tun-") as td:
                node = os.path.join(td, "tun")
                made = (sh(["mknod", node, "c", "10", "200"]).returncode == 0 and
                        sh(["chmod", "666", node]).returncode == 0 and
                        sh(ex + ["ip", "tuntap", "add", "dev", "vtapown", "mode", "tap",
                                 "user", "0"]).returncode == 0)
                if made:
                    inner = shlex.join(ex + nobody + guestlib.command(
                        vessel_run, files, extra=["--net-mode", "bridge", "--net-if", "vtapown"]))
                    cmd = ["unshare", "-m", "sh", "-c",
                           "mount --bind %s /dev/net/tun && exec %s" % (shlex.quote(node), inner)]
                    status, out = guestlib.run(cmd, timeout=60)
                    c.check(status == 1, "tap owned by root: exit status %r" % status)
                    c.expect(out, "cannot attach to TAP interface 'vtapown': permission denied "
                                  "(run with CAP_NET_ADMIN")
                else:
                    print("note: could not set up the TUNSETIFF permission check here")
        return True
    finally:
        if server and server.poll() is None:
            server.kill()
            server.wait()
        sh(["ip", "netns", "del", ns])


def main():
    vessel_run = sys.argv[1]
    files = guestlib.assets_or_skip()
    c = guestlib.Checker()
    if guestlib.ARCH != "riscv64":
        test_user(vessel_run, files, c)
        return c.finish()
    test_bad_input(vessel_run, files, c)
    test_user(vessel_run, files, c)
    ran_tap = test_tap(vessel_run, files, c)
    status = c.finish()
    if status == 0 and not ran_tap:
        print("(the TAP part was skipped: see above)")
    return status


if __name__ == "__main__":
    sys.exit(main())
