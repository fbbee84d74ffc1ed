#!/usr/bin/env python3
"""Write the seed inputs of fuzz-virtio-pci (operation format at the top of fuzz-virtio-pci.c)
into corpus/virtio-pci: a driver that initialises the device and runs one request, and the
same with a queue size that is not a power of two, so the fuzzer starts from deep states.

usage: make-virtio-pci-seeds.py CORPUS-DIR
"""
import os
import struct
import sys

RAM = 0x40000000


def op(kind, a, b, value=0):
    return struct.pack("<BBHQ", kind, a, b, value)


def bar_write(off, size, value):
    return op(3, {1: 0, 2: 1, 4: 2, 8: 3}[size], off, value)


def bar_read(off, size):
    return op(2, {1: 0, 2: 1, 4: 2, 8: 3}[size], off)


def ram(off, value):
    return op(4, 0, off, value)


def init(queue_size):
    s = bar_write(0x14, 1, 0) + bar_write(0x14, 1, 3)
    s += bar_write(0x08, 4, 1) + bar_write(0x0c, 4, 1) + bar_write(0x14, 1, 0x0b)
    s += bar_write(0x16, 2, 0) + bar_write(0x18, 2, queue_size)
    s += bar_write(0x20, 8, RAM + 0x1000) + bar_write(0x28, 8, RAM + 0x2000)
    s += bar_write(0x30, 8, RAM + 0x3000) + bar_write(0x1c, 2, 1) + bar_write(0x14, 1, 0x0f)
    return s


def request():
    s = ram(0x1000, RAM + 0x4000) + ram(0x1008, 5 | 1 << 32 | 1 << 48)
    s += ram(0x1010, RAM + 0x5000) + ram(0x1018, 16 | 2 << 32)
    s += ram(0x4000, int.from_bytes(b"hello\0\0\0", "little"))
    s += ram(0x2000, 1 << 16)  # avail: flags 0, idx 1, ring[0] = 0
    s += bar_write(0x3000, 2, 0) + bar_read(0x1000, 1) + bar_read(0x3000 - 0x1000, 1)
    return s


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    seeds = {"init-request": init(8) + request(),
             "bad-queue-size": init(3) + request()}
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
