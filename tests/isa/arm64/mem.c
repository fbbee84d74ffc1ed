/* SPDX-License-Identifier: MIT */
/* Loads and stores in every addressing mode: sizes, sign extension, unsigned/unscaled
 * offsets, pre/post-index writeback, register offsets with extend and shift, literals,
 * pairs (LDP/STP/LDPSW/LDNP/STNP), unprivileged forms at EL1, misaligned accesses. */
#include "isa.h"

static uint8_t buf[512] __attribute__((aligned(64)));
static uint64_t h;
static void mix(uint64_t v)
{
    h = (h ^ v) * 0x100000001b3ull;
    h ^= h >> 29;
}

static void fill(void)
{
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 37 + 0x81);
}

static uint64_t buf_hash(void)
{
    uint64_t s = 0;
    for (unsigned i = 0; i < sizeof(buf); i++)
        s = (s ^ buf[i]) * 0x100000001b3ull;
    return s;
}

static const uint64_t lit64 = 0x8877665544332211ull;

static void loads(void)
{
    fill();
    uint8_t *p = buf + 64;
    uint64_t r[16];
    __asm__ volatile("ldrb %w0, [%16]\n"
                     "ldrsb %1, [%16, #1]\n"
                     "ldrsb %w2, [%16, #3]\n"
                     "ldrh %w3, [%16, #2]\n"
                     "ldrsh %4, [%16, #6]\n"
                     "ldrsh %w5, [%16, #10]\n"
                     "ldr %w6, [%16, #4]\n"
                     "ldrsw %7, [%16, #12]\n"
                     "ldr %8, [%16, #16]\n"
                     "ldur %9, [%16, #-3]\n"
                     "ldursh %10, [%16, #-1]\n"
                     "ldurb %w11, [%16, #255]\n"
                     "ldr %12, [%16, #4088 - 4088 + 248]\n"
                     "ldtr %13, [%16, #9]\n"
                     "ldtrsb %14, [%16, #-256 + 300]\n"
                     "ldtrsw %15, [%16, #21]\n"
                     : "=&r"(r[0]), "=&r"(r[1]), "=&r"(r[2]), "=&r"(r[3]), "=&r"(r[4]), "=&r"(r[5]),
                       "=&r"(r[6]), "=&r"(r[7]), "=&r"(r[8]), "=&r"(r[9]), "=&r"(r[10]),
                       "=&r"(r[11]), "=&r"(r[12]), "=&r"(r[13]), "=&r"(r[14]), "=&r"(r[15])
                     : "r"(p)
                     : "memory");
    for (int i = 0; i < 16; i++)
        pr("load", r[i]);

    /* Register offsets: every extend and both scalings. */
    int64_t idx[] = { 0, 1, 3, -5, 7, -1 };
    h = 0;
    for (unsigned i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
        uint64_t a, b, c, d, e, f, g;
        __asm__ volatile("ldr %0, [%7, %8, lsl #3]\n"
                         "ldr %w1, [%7, %w8, sxtw #2]\n"
                         "ldrh %w2, [%7, %w8, sxtw]\n"
                         "ldrsb %3, [%7, %8]\n"
                         "ldrsh %w4, [%7, %8, lsl #1]\n"
                         "ldrsw %5, [%7, %w8, sxtw #2]\n"
                         "ldr %6, [%7, %w9, uxtw #3]\n"
                         : "=&r"(a), "=&r"(b), "=&r"(c), "=&r"(d), "=&r"(e), "=&r"(f), "=&r"(g)
                         : "r"(buf + 128), "r"(idx[i]),
                           "r"((uint64_t)(i * 3) | 0xffffffff00000000ull)
                         : "memory");
        mix(a);
        mix(b);
        mix(c);
        mix(d);
        mix(e);
        mix(f);
        mix(g);
    }
    pr("register offsets", h);

    uint64_t l1, l2, l3;
    __asm__ volatile("ldr %0, 1f\n ldr %w1, 1f\n ldrsw %2, 2f\n b 3f\n"
                     ".balign 8\n1: .quad 0x8877665544332211\n2: .word 0x80000001\n .word 0\n3:\n"
                     "prfm pldl1keep, 1b\n"
                     : "=&r"(l1), "=&r"(l2), "=&r"(l3));
    pr("literal x", l1);
    pr("literal w", l2);
    pr("literal sw", l3);
    pr("const", lit64);
}

static void stores(void)
{
    fill();
    uint8_t *p = buf + 256;
    uint64_t v = 0x0102030405060708ull, w = 0xf0e0d0c0b0a09080ull;
    __asm__ volatile("strb %w1, [%0]\n"
                     "strh %w1, [%0, #2]\n"
                     "str %w1, [%0, #4]\n"
                     "str %1, [%0, #8]\n"
                     "stur %2, [%0, #-7]\n"
                     "sturh %w2, [%0, #17]\n"
                     "sttr %2, [%0, #23]\n"
                     "sttrb %w2, [%0, #31]\n"
                     "str %2, [%0, %3, lsl #3]\n"
                     "strb %w1, [%0, %w4, sxtw]\n"
                     "strh %w2, [%0, %3, lsl #1]\n"
                     :
                     : "r"(p), "r"(v), "r"(w), "r"((uint64_t)5), "r"((uint64_t)-9)
                     : "memory");
    pr("stores", buf_hash());
}

static void writeback(void)
{
    fill();
    uint64_t p = (uint64_t)(buf + 100), r1, r2, r3, p0 = p;
    __asm__ volatile("ldr %1, [%0, #8]!\n"
                     "ldrb %w2, [%0], #-3\n"
                     "ldrsh %3, [%0, #-17]!\n"
                     "str %1, [%0], #40\n"
                     "strb %w2, [%0, #-1]!\n"
                     : "+r"(p), "=&r"(r1), "=&r"(r2), "=&r"(r3)
                     :
                     : "memory");
    pr("wb ptr", p - p0);
    pr("wb r1", r1);
    pr("wb r2", r2);
    pr("wb r3", r3);
    pr("wb mem", buf_hash());
}

static void pairs(void)
{
    fill();
    uint64_t p = (uint64_t)(buf + 200), p0 = p, a, b, c, d, e, f;
    __asm__ volatile("ldp %1, %2, [%0, #16]\n"
                     "ldp %w3, %w4, [%0, #-8]!\n"
                     "ldpsw %5, %6, [%0], #24\n"
                     "stp %1, %5, [%0, #-16]\n"
                     "stp %w3, %w6, [%0, #8]!\n"
                     "stnp %1, %2, [%0, #32]\n"
                     "ldnp %1, %2, [%0, #-64]\n"
                     "stp %3, %4, [%0], #-48\n"
                     : "+r"(p), "=&r"(a), "=&r"(b), "=&r"(c), "=&r"(d), "=&r"(e), "=&r"(f)
                     :
                     : "memory");
    pr("pair ptr", p - p0);
    pr("pair a", a);
    pr("pair b", b);
    pr("pair c", c);
    pr("pair d", d);
    pr("pair e", e);
    pr("pair f", f);
    pr("pair mem", buf_hash());
}

static void stack(void)
{
    /* SP as base register, with writeback. */
    uint64_t r, s0, s1;
    __asm__ volatile("mov %1, sp\n"
                     "stp x19, x20, [sp, #-32]!\n"
                     "str %3, [sp, #16]\n"
                     "ldr %0, [sp, #16]\n"
                     "add sp, sp, #32\n"
                     "mov %2, sp\n"
                     : "=&r"(r), "=&r"(s0), "=&r"(s1)
                     : "r"(0x5a5a5a5a12345678ull)
                     : "memory");
    pr("sp load", r);
    pr("sp restored", s0 == s1);
}

static void misaligned(void)
{
    fill();
    uint64_t r = 0;
    for (unsigned o = 0; o < 16; o++) {
        uint64_t v;
        __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(buf + 300 + o) : "memory");
        r = (r ^ v) * 0x100000001b3ull;
        __asm__ volatile("str %0, [%1]" ::"r"(v ^ o), "r"(buf + 400 + o * 3) : "memory");
    }
    pr("misaligned loads", r);
    pr("misaligned stores", buf_hash());
}

int main(void)
{
    loads();
    stores();
    writeback();
    pairs();
    stack();
    misaligned();
    return 0;
}
