/* SPDX-License-Identifier: MIT */
/*
 * rv64i-branch: conditional branches over an operand sweep (taken / not taken, forward
 * and backward), JAL/JALR link values and targets (odd JALR targets, rd == rs1),
 * long-distance branches, and compressed-free branch offsets.
 */
#include "isa.h"

static const u64 vals[] = {
    0,
    1,
    2,
    0xfffffffffffffffful,
    0xfffffffffffffffeul,
    0x7ffffffful,
    0x80000000ul,
    0xfffffffful,
    0xffffffff80000000ul,
    0x7ffffffffffffffful,
    0x8000000000000000ul,
    0x8000000000000001ul,
    0x100000000ul,
};
#define NV ARRAY_SIZE(vals)

/* Forward form: returns 1 when taken. */
#define BR(name)                                                                                   \
    static u64 br_##name(u64 a, u64 b)                                                             \
    {                                                                                              \
        u64 r;                                                                                     \
        asm volatile("li %0, 1\n" #name " %1, %2, 1f\n li %0, 0\n1:" : "=&r"(r) : "r"(a), "r"(b)); \
        return r;                                                                                  \
    }
/* Backward form: a branch that jumps back to an earlier label. */
#define BRB(name)                                \
    static u64 brb_##name(u64 a, u64 b)          \
    {                                            \
        u64 r;                                   \
        asm volatile("li %0, 0\n j 2f\n"         \
                     "1: li %0, 1\n j 3f\n"      \
                     "2: " #name " %1, %2, 1b\n" \
                     "3:"                        \
                     : "=&r"(r)                  \
                     : "r"(a), "r"(b));          \
        return r;                                \
    }
/* clang-format off */
BR(beq)
BR(bne)
BR(blt)
BR(bge)
BR(bltu)
BR(bgeu)
BRB(beq)
BRB(bne)
BRB(blt)
BRB(bge)
BRB(bltu)
BRB(bgeu)
/* clang-format on */
/* pseudo-instructions with swapped operands / zero */
/* clang-format off */
BR(bgt)
BR(ble)
BR(bgtu)
BR(bleu)
/* clang-format on */

static u64 br_beqz(u64 a, u64 b)
{
    u64 r;
    (void)b;
    asm volatile("li %0, 1\n beqz %1, 1f\n li %0, 0\n1:" : "=&r"(r) : "r"(a));
    return r;
}
static u64 br_bltz(u64 a, u64 b)
{
    u64 r;
    (void)b;
    asm volatile("li %0, 1\n bltz %1, 1f\n li %0, 0\n1:" : "=&r"(r) : "r"(a));
    return r;
}
static u64 br_bgez(u64 a, u64 b)
{
    u64 r;
    (void)b;
    asm volatile("li %0, 1\n bgez %1, 1f\n li %0, 0\n1:" : "=&r"(r) : "r"(a));
    return r;
}

struct br {
    const char *name;
    u64 (*fn)(u64, u64);
};
static const struct br brs[] = {
#define E(n) { #n, br_##n },
    /* clang-format off */
E(beq)
E(bne)
E(blt)
E(bge)
E(bltu)
E(bgeu)
E(bgt)
E(ble)
E(bgtu)
E(bleu)
/* clang-format on */
#undef E
#define E(n) { #n "-back", brb_##n },
    /* clang-format off */
E(beq)
E(bne)
E(blt)
E(bge)
E(bltu)
E(bgeu)
/* clang-format on */
#undef E
};

/* A branch spanning ~4 KiB (close to the +-4 KiB limit) in both directions. */
static u64 far_branches(u64 a)
{
    u64 r;
    asm volatile(".option push\n .option norvc\n"
                 "li %0, 0\n"
                 "beq %1, zero, 2f\n"
                 "j 4f\n"
                 "1: addi %0, %0, 16\n j 3f\n"
                 "2: addi %0, %0, 1\n"
                 ".fill 1000, 4, 0x00000013\n" /* nops */
                 "bne %1, x0, 4f\n"
                 "beq %1, x0, 1b\n"
                 "3: addi %0, %0, 256\n"
                 "4:\n"
                 ".option pop\n"
                 : "=&r"(r)
                 : "r"(a));
    return r;
}

/* Target of direct and indirect calls. */
NOINLINE static u64 far_target(u64 a)
{
    return a * 3 + 1;
}

static void jumps(void)
{
    u64 link, here, r;
    /* jal: link = address of the next instruction */
    asm volatile(".option push\n .option norvc\n"
                 "1: jal %0, 2f\n"
                 "2: la %1, 1b\n"
                 ".option pop\n"
                 : "=r"(link), "=r"(here));
    pr("jal link-pc %ld\n", (i64)(link - here));
    /* jal x0 (plain jump) does not write x0 */
    asm volatile("li %0, 5\n j 1f\n li %0, 6\n1: add %0, %0, x0" : "=&r"(r));
    pr("j skip %ld\n", (i64)r);
    /* jalr with offset and odd target: bit 0 cleared */
    asm volatile(".option push\n .option norvc\n"
                 "la t0, 3f\n"
                 "addi t0, t0, 1\n" /* odd */
                 "li %0, 0\n"
                 "1: jalr t1, 0(t0)\n"
                 "li %0, 99\n"
                 "3: la t2, 1b\n"
                 "sub %1, t1, t2\n"
                 "addi %0, %0, 1\n"
                 ".option pop\n"
                 : "=&r"(r), "=&r"(link)::"t0", "t1", "t2");
    pr("jalr odd-target r=%ld link-pc=%ld\n", (i64)r, (i64)link);
    /* jalr with negative offset */
    asm volatile(".option push\n .option norvc\n"
                 "la t0, 3f\n"
                 "addi t0, t0, 64\n"
                 "li %0, 0\n"
                 "jalr t1, -64(t0)\n"
                 "li %0, 99\n"
                 "3: addi %0, %0, 2\n"
                 ".option pop\n"
                 : "=&r"(r)::"t0", "t1");
    pr("jalr neg-offset r=%ld\n", (i64)r);
    /* jalr rd == rs1: target computed from the old value */
    asm volatile(".option push\n .option norvc\n"
                 "la t0, 3f\n"
                 "1: jalr t0, 0(t0)\n"
                 "li t0, 0\n"
                 "3: la t1, 1b\n"
                 "sub %0, t0, t1\n"
                 ".option pop\n"
                 : "=&r"(r)::"t0", "t1");
    pr("jalr rd=rs1 link-pc %ld\n", (i64)r);
    /* call/ret through a far function */
    pr("far call %ld\n", (i64)far_target(14));
    u64 (*fp)(u64) = far_target;
    asm volatile("" : "+r"(fp));
    pr("indirect call %ld\n", (i64)fp(5));
}

/* A loop driven by a backward bne, counting iterations. */
static void loops(void)
{
    u64 n, acc;
    asm volatile("li %0, 0\n li %1, 0\n li t0, 100\n"
                 "1: addi %0, %0, 1\n add %1, %1, %0\n bne %0, t0, 1b\n"
                 : "=&r"(n), "=&r"(acc)::"t0");
    pr("loop n=%lu acc=%lu\n", n, acc);
    asm volatile("li %0, -5\n li %1, 0\n"
                 "1: addi %1, %1, 3\n addi %0, %0, 1\n bltz %0, 1b\n"
                 : "=&r"(n), "=&r"(acc));
    pr("loop2 n=%ld acc=%lu\n", (i64)n, acc);
}

int main(void)
{
    pr("# rv64i-branch\n");
    for (unsigned i = 0; i < NV; i++)
        pr("val %u %p\n", i, vals[i]);
    for (unsigned k = 0; k < ARRAY_SIZE(brs); k++)
        for (unsigned i = 0; i < NV; i++) {
            pr("%s %u", brs[k].name, i);
            for (unsigned j = 0; j < NV; j++)
                pr(" %lu", brs[k].fn(vals[i], vals[j]));
            pr("\n");
        }
    for (unsigned i = 0; i < NV; i++)
        pr("beqz/bltz/bgez %u %lu %lu %lu\n", i, br_beqz(vals[i], 0), br_bltz(vals[i], 0),
           br_bgez(vals[i], 0));
    pr("far-branch 0 %lu\n", far_branches(0));
    pr("far-branch 1 %lu\n", far_branches(1));
    jumps();
    loops();
    return 0;
}
