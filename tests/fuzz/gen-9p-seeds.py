#!/usr/bin/env python3
"""Write the seed corpus of fuzz-9p (tests/fuzz/corpus/9p/). Layout of an input: see the top
of fuzz-9p.c (a reply-room byte, then le16-length-prefixed frames). The target has already
sent Tversion and Tattach(fid 0) when these frames run. Run from anywhere:
    python3 tests/fuzz/gen-9p-seeds.py"""
import os
import struct

T = dict(statfs=8, lopen=12, lcreate=14, symlink=16, mknod=18, rename=20, readlink=22,
         getattr=24, setattr=26, xattrwalk=30, xattrcreate=32, readdir=40, fsync=50, lock=52,
         getlock=54, link=70, mkdir=72, renameat=74, unlinkat=76, version=100, auth=102,
         attach=104, flush=108, walk=110, read=116, write=118, clunk=120, remove=122)


def s(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack("<H", len(x)) + x


def msg(kind, body, tag=1, size_delta=0):
    t = T[kind] if isinstance(kind, str) else kind
    return struct.pack("<IBH", 7 + len(body) + size_delta, t, tag) + body


def walk(fid, newfid, *names):
    return msg("walk", struct.pack("<IIH", fid, newfid, len(names)) + b"".join(s(n) for n in names))


def frames(*ms, room=0):
    return bytes([room]) + b"".join(struct.pack("<H", len(m)) + m for m in ms)


def lopen(fid, flags=0):
    return msg("lopen", struct.pack("<II", fid, flags))


def read(fid, off=0, count=4096):
    return msg("read", struct.pack("<IQI", fid, off, count))


def write(fid, data, off=0):
    return msg("write", struct.pack("<IQI", fid, off, len(data)) + data)


def clunk(fid):
    return msg("clunk", struct.pack("<I", fid))


def getattr(fid):
    return msg("getattr", struct.pack("<IQ", fid, 0x7ff))


SEEDS = {
    "walk-read": frames(walk(0, 1, "hello.txt"), lopen(1), read(1), getattr(1), clunk(1)),
    "create-write-read": frames(walk(0, 1), msg("lcreate", struct.pack("<I", 1) + s("new") +
                                               struct.pack("<III", 2, 0o644, 100)),
                                write(1, b"data" * 10), read(1), msg("fsync", struct.pack("<II", 1, 0)),
                                clunk(1)),
    "mkdir-readdir": frames(msg("mkdir", struct.pack("<I", 0) + s("d") + struct.pack("<II", 0o755, 0)),
                            walk(0, 1), lopen(1), msg("readdir", struct.pack("<IQI", 1, 0, 200)),
                            msg("readdir", struct.pack("<IQI", 1, 0, 40))),
    "rename-unlink": frames(walk(0, 1, "sub"), msg("renameat", struct.pack("<I", 0) + s("hello.txt") +
                                                   struct.pack("<I", 1) + s("moved")),
                            walk(1, 2, "moved"), msg("rename", struct.pack("<II", 2, 0) + s("back")),
                            msg("unlinkat", struct.pack("<I", 0) + s("back") + struct.pack("<I", 0)),
                            msg("unlinkat", struct.pack("<I", 0) + s("sub") + struct.pack("<I", 0x200))),
    "setattr": frames(walk(0, 1, "hello.txt"),
                      msg("setattr", struct.pack("<IIIIIQQQQQ", 1, 0x1ff, 0o4755, 42, 43, 3, 1, 2, 3, 4)),
                      getattr(1)),
    "symlink-readlink": frames(msg("symlink", struct.pack("<I", 0) + s("gl") + s("/etc/passwd") +
                                   struct.pack("<I", 0)), walk(0, 1, "gl"),
                               msg("readlink", struct.pack("<I", 1)), lopen(1),
                               walk(0, 2, "etc-link"), msg("readlink", struct.pack("<I", 2))),
    "mknod-link": frames(msg("mknod", struct.pack("<I", 0) + s("dev") + struct.pack("<IIII", 0o20644, 1, 3, 0)),
                         walk(0, 1, "hello.txt"), msg("link", struct.pack("<II", 0, 1) + s("hl")),
                         walk(0, 2, "out-link"), msg("link", struct.pack("<II", 0, 2) + s("x"))),
    "traversal": frames(walk(0, 1, "..", "..", "outside"), walk(0, 2, "out-link", "secret"),
                        walk(0, 3, "sub/inner"), walk(0, 4, "a\0b"), walk(0, 5, *[".."] * 17),
                        walk(0, 6, "etc-link", "passwd"), walk(0, 7, "out-link"), lopen(7)),
    "fifo": frames(walk(0, 1, "fifo"), lopen(1, 0), lopen(1, 1), getattr(1), walk(0, 2),
                   msg("lcreate", struct.pack("<I", 2) + s("fifo") + struct.pack("<III", 0, 0o644, 0))),
    "malformed": frames(msg("clunk", struct.pack("<I", 0), size_delta=1), b"\x01\x02\x03",
                        msg("walk", struct.pack("<IIHH", 0, 1, 1, 60) + b"abc"),
                        msg(200, b""), msg(111, b""), read(0, 0, 0xffffffff),
                        msg("write", struct.pack("<IQI", 0, 0, 0xfffffff0)), clunk(12345)),
    # room byte bit 1: p9_handle_iov with buffers of 1 + (byte >> 2)^2 bytes (2 and 10 here)
    "iov-walk-read": frames(walk(0, 1, "hello.txt"), lopen(1), read(1, 0, 7), read(1, 3, 100),
                            read(1, 0, 0xffffffff), read(9, 0, 1), room=0x06),
    "iov-create-write-read": frames(walk(0, 1), msg("lcreate", struct.pack("<I", 1) + s("w") +
                                                    struct.pack("<III", 2, 0o644, 0)),
                                    write(1, b"0123456789" * 5, 3), read(1, 0, 80),
                                    msg("write", struct.pack("<IQI", 1, 0, 9) + b"x"),
                                    getattr(1), room=0x0e),
    "small-room": frames(walk(0, 1, "hello.txt"), lopen(1), read(1, 0, 1000), getattr(1), room=9),
    "misc": frames(msg("statfs", struct.pack("<I", 0)), msg("flush", struct.pack("<H", 1)),
                   msg("lock", struct.pack("<IBIQQI", 0, 1, 0, 0, 10, 1) + s("c")),
                   msg("getlock", struct.pack("<IBQQI", 0, 1, 0, 10, 1) + s("c")),
                   msg("xattrwalk", struct.pack("<II", 0, 9) + s("user.x")),
                   msg("auth", struct.pack("<I", 5) + s("u") + s("") + struct.pack("<I", 0)),
                   msg("version", struct.pack("<I", 8192) + s("9P2000.u")), getattr(0),
                   msg("attach", struct.pack("<II", 0, 0xffffffff) + s("u") + s("") +
                       struct.pack("<I", 1000)), msg("remove", struct.pack("<I", 0))),
}

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "9p")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(" ".join(sorted(SEEDS)))
