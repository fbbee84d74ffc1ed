#!/usr/bin/env python3
"""Write the seed corpus of fuzz-virtio-gpu (layout at the top of fuzz-virtio-gpu.c) into
corpus/virtio-gpu/. Run by hand after changing a seed; the files are checked in."""
import os
import struct

RAM0 = 0x80000000
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "virtio-gpu")

GET_DISPLAY_INFO, CREATE_2D, UNREF, SET_SCANOUT, FLUSH, TRANSFER, ATTACH, DETACH = range(0x100, 0x108)
GET_EDID = 0x10a
UPDATE_CURSOR, MOVE_CURSOR = 0x300, 0x301
FENCE = 1
BGRX, BGRA, RGBA = 2, 1, 67


def hdr(t, flags=0, fence=0):
    return struct.pack("<IIQIB3x", t, flags, fence, 0, 0)


def rec(req, queue=0, split=0, resp=15):
    return bytes([queue | split << 1 | resp << 4]) + struct.pack("<H", len(req)) + req


def create(i, fmt, w, h, **kw):
    return rec(hdr(CREATE_2D, **kw) + struct.pack("<4I", i, fmt, w, h))


def attach(i, entries, n=None):
    body = struct.pack("<2I", i, len(entries) if n is None else n)
    body += b"".join(struct.pack("<QII", a, l, 0) for a, l in entries)
    return rec(hdr(ATTACH) + body, split=3)


def transfer(i, x, y, w, h, off=0):
    return rec(hdr(TRANSFER) + struct.pack("<4IQII", x, y, w, h, off, i, 0))


def scanout(s, i, x, y, w, h):
    return rec(hdr(SET_SCANOUT) + struct.pack("<6I", x, y, w, h, s, i))


def flush(i, x, y, w, h):
    return rec(hdr(FLUSH) + struct.pack("<6I", x, y, w, h, i, 0))


def cursor(t, i, x, y, hx=0, hy=0):
    return rec(hdr(t) + struct.pack("<4I4I", 0, x & 0xffffffff, y & 0xffffffff, 0, i, hx, hy, 0),
               queue=1)


def seed(name, ram=b"", *records):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<H", len(ram)) + ram + b"".join(records))


os.makedirs(OUT, exist_ok=True)
pattern = bytes((i * 37) & 0xff for i in range(0x1000))
seed("display-info-edid", b"",
     rec(hdr(GET_DISPLAY_INFO, FENCE, 7)), rec(hdr(GET_EDID) + struct.pack("<2I", 0, 0)),
     rec(hdr(GET_EDID) + struct.pack("<2I", 3, 0)), rec(hdr(GET_DISPLAY_INFO), resp=1))
seed("framebuffer", pattern,
     create(1, BGRX, 32, 32), attach(1, [(RAM0, 0x800), (RAM0 + 0x800, 0x800)]),
     scanout(0, 1, 0, 0, 32, 32), transfer(1, 0, 0, 32, 32), flush(1, 0, 0, 32, 32),
     transfer(1, 4, 4, 8, 8, 4 * 128 + 16), flush(1, 2, 2, 40, 8), scanout(0, 0, 0, 0, 0, 0),
     rec(hdr(DETACH) + struct.pack("<2I", 1, 0)), rec(hdr(UNREF) + struct.pack("<2I", 1, 0)))
seed("scanout-offset", pattern,
     create(2, RGBA, 64, 16), attach(2, [(RAM0, 0x1000)]), transfer(2, 0, 0, 64, 16),
     scanout(0, 2, 8, 4, 48, 8), flush(2, 0, 0, 64, 16), flush(2, 60, 10, 4, 6))
seed("cursor", pattern,
     create(3, BGRA, 64, 64, flags=FENCE, fence=99), attach(3, [(RAM0, 0x4000)]),
     transfer(3, 0, 0, 64, 64), cursor(UPDATE_CURSOR, 3, 10, -20, 5, 6),
     cursor(MOVE_CURSOR, 0, 300, 200), cursor(UPDATE_CURSOR, 0, 0, 0),
     cursor(UPDATE_CURSOR, 3, 0, 0, 64, 0))
seed("bad-backing", b"",
     create(4, BGRX, 16, 16), attach(4, [(RAM0, 512), (0xfffffffffffff000, 0x2000)]),
     attach(4, [(RAM0 + 0x10000 - 100, 512)]), attach(4, [(RAM0, 0)]), attach(4, [], n=70000),
     attach(4, [(RAM0, 64)], n=3), attach(4, [(0x1000, 64)]), attach(4, [(RAM0 + 0x10000, 0x1000)]))
seed("bad-rects", b"",
     create(0, BGRX, 1, 1), create(5, 999, 1, 1), create(5, BGRX, 0, 1),
     create(5, BGRX, 20000, 1), create(5, BGRX, 16384, 16384), create(5, BGRX, 8, 8),
     create(5, BGRX, 8, 8), attach(5, [(RAM0, 200)]), transfer(5, 0, 0, 8, 8),
     transfer(5, 0xffffffff, 0, 2, 1), transfer(5, 0, 0, 1, 1, 0xffffffffffffffff),
     scanout(1, 5, 0, 0, 8, 8), scanout(0, 6, 0, 0, 8, 8), scanout(0, 5, 4, 4, 8, 8),
     flush(5, 0, 0xfffffff0, 1, 0x20), flush(7, 0, 0, 1, 1))
seed("short-and-unknown", b"",
     rec(hdr(CREATE_2D)[:20]), rec(hdr(CREATE_2D) + b"\x01\x00"), rec(hdr(0x999, FENCE, 5)),
     rec(hdr(0x200)), rec(hdr(MOVE_CURSOR)), cursor(UPDATE_CURSOR, 1, 0, 0)[0:1] + b"\x04\x00" +
     hdr(GET_DISPLAY_INFO)[:4], rec(hdr(GET_DISPLAY_INFO), queue=1), rec(b"", resp=0))
