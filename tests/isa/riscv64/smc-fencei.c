/* SPDX-License-Identifier: MIT */
/*
 * smc-fencei: self-modifying code. Code is generated into RAM and run after fence.i;
 * then patched (immediates, whole instructions, compressed instructions) and run again,
 * many times, so stale translations are detected. Also: code patched in .text after it
 * has been executed many times, a function that patches its own next instruction,
 * 32-bit instructions at 2-byte-aligned addresses and straddling a page boundary, and
 * code written and run from U-mode.
 */
#include "isa.h"

enum { A0 = 10, A1 = 11, T0 = 5, T1 = 6, ZERO = 0, RA = 1 };

static u32 addi(unsigned rd, unsigned rs1, int imm)
{
    return ((u32)(imm & 0xfff) << 20) | (rs1 << 15) | (rd << 7) | 0x13;
}
static u32 add(unsigned rd, unsigned rs1, unsigned rs2)
{
    return (rs2 << 20) | (rs1 << 15) | (rd << 7) | 0x33;
}
static u32 lui(unsigned rd, u32 imm20)
{
    return (imm20 << 12) | (rd << 7) | 0x37;
}
static u32 slli(unsigned rd, unsigned rs1, unsigned sh)
{
    return (sh << 20) | (rs1 << 15) | (1u << 12) | (rd << 7) | 0x13;
}
static u32 bne(unsigned rs1, unsigned rs2, int off)
{
    u32 o = (u32)off;
    return (((o >> 12) & 1) << 31) | (((o >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) |
           (1u << 12) | (((o >> 1) & 0xf) << 8) | (((o >> 11) & 1) << 7) | 0x63;
}
#define RET 0x00008067u
static u16 c_li(unsigned rd, int imm)
{
    return (u16)((2u << 13) | (((u32)imm >> 5 & 1) << 12) | (rd << 7) | (((u32)imm & 0x1f) << 2) |
                 1);
}
static u16 c_addi(unsigned rd, int imm)
{
    return (u16)((((u32)imm >> 5 & 1) << 12) | (rd << 7) | (((u32)imm & 0x1f) << 2) | 1);
}
#define C_NOP 0x0001
#define C_RET 0x8082

static u8 code[3 * 4096] PAGE_ALIGNED;

static void fencei(void)
{
    asm volatile("fence.i" ::: "memory");
}

static u64 call(void *p, u64 arg)
{
    return ((u64(*)(u64))p)(arg);
}

static void put32(u8 *p, u32 v)
{
    /* halfword stores: p may be only 2-byte aligned */
    ((volatile u16 *)p)[0] = (u16)v;
    ((volatile u16 *)p)[1] = (u16)(v >> 16);
}

static void immediates(void)
{
    /* f(x) = x + imm, patched 24 times, called several times per patch */
    u32 *w = (u32 *)code;
    w[0] = addi(A0, A0, 0);
    w[1] = RET;
    fencei();
    pr("initial %lu\n", call(code, 5));
    for (int i = 1; i <= 24; i++) {
        int imm = (i * 173) % 4096 - 2048;
        w[0] = addi(A0, A0, imm);
        fencei();
        u64 r1 = call(code, 1000), r2 = call(code, 0);
        pr("patch %d imm=%d -> %ld %ld\n", i, imm, (i64)r1, (i64)r2);
    }
    /* replace the whole instruction kind */
    w[0] = slli(A0, A0, 7);
    fencei();
    pr("slli patch %lu\n", call(code, 3));
    w[0] = lui(A0, 0x12345);
    fencei();
    pr("lui patch %lx\n", call(code, 3));
    /* longer function: loop summing 1..n, then patch the step */
    w[0] = addi(T0, ZERO, 0); /* t0 = 0 (acc) */
    w[1] = addi(T1, ZERO, 0); /* t1 = 0 (i) */
    w[2] = addi(T1, T1, 1);   /* loop: i += 1 */
    w[3] = add(T0, T0, T1);   /* acc += i */
    w[4] = bne(T1, A0, -8);   /* while i != n */
    w[5] = addi(A0, T0, 0);
    w[6] = RET;
    fencei();
    pr("loop sum(100) %lu\n", call(code, 100));
    pr("loop sum(10) %lu\n", call(code, 10));
    w[3] = add(T0, T0, T0); /* acc += acc (acc stays 0) */
    fencei();
    pr("loop patched %lu\n", call(code, 100));
    w[0] = addi(T0, ZERO, 1);
    fencei();
    pr("loop patched2 %lu\n", call(code, 20));
}

static void compressed(void)
{
    u16 *h = (u16 *)code;
    for (int i = -32; i < 32; i += 7) {
        h[0] = c_li(A0, i);
        h[1] = c_addi(A0, 3);
        h[2] = C_RET;
        fencei();
        pr("c.li %d + 3 -> %ld\n", i, (i64)call(code, 0));
    }
    /* 32-bit instruction at a 2-byte aligned address: c.nop; addi; c.ret */
    h[0] = C_NOP;
    put32(&code[2], addi(A0, A0, 77));
    h[3] = C_RET;
    fencei();
    pr("unaligned 32-bit insn %lu\n", call(code, 1));
    put32(&code[2], addi(A0, A0, -77));
    fencei();
    pr("unaligned 32-bit insn patched %ld\n", (i64)call(code, 1));
    /* a 32-bit instruction straddling a page boundary */
    u8 *p = &code[4096 - 6];
    ((volatile u16 *)p)[0] = C_NOP;
    ((volatile u16 *)p)[1] = C_NOP;
    put32(p + 4, addi(A0, A0, 500)); /* bytes 4094..4097 */
    put32(p + 8, RET);
    fencei();
    pr("straddling insn %lu\n", call(p, 1));
    put32(p + 4, addi(A0, A0, 600));
    fencei();
    pr("straddling insn patched %lu\n", call(p, 1));
}

/* Patched in .text after being executed (hot) many times. */
u64 hot_fn(u64 x);
extern u32 hot_slot[];
asm(".text\n .option push\n .option norvc\n"
    ".globl hot_fn\n"
    "hot_fn:\n"
    ".globl hot_slot\n"
    "hot_slot:\n"
    "  addi a0, a0, 1\n"
    "  ret\n"
    ".option pop\n");

/* Patches its own next instruction: stores the word in a1 over `self_slot`, fence.i,
 * then executes it. */
u64 self_patch(u64 x, u64 insn);
asm(".text\n .option push\n .option norvc\n"
    ".globl self_patch\n"
    "self_patch:\n"
    "  la t0, self_slot\n"
    "  sw a1, 0(t0)\n"
    "  fence.i\n"
    "self_slot:\n"
    "  addi a0, a0, 1\n"
    "  ret\n"
    ".option pop\n");

static void text_patching(void)
{
    u64 acc = 0;
    for (int i = 0; i < 2000; i++)
        acc += hot_fn((u64)i);
    pr("hot before %lu\n", acc);
    for (int k = 2; k < 6; k++) {
        hot_slot[0] = addi(A0, A0, k);
        fencei();
        acc = 0;
        for (int i = 0; i < 2000; i++)
            acc += hot_fn((u64)i);
        pr("hot after patch +%d: %lu\n", k, acc);
    }
    hot_slot[0] = addi(A0, A0, 1);
    fencei();
    for (int k = 0; k < 6; k++)
        pr("self-patch %d: %lu\n", k, self_patch(100, addi(A0, A0, k * 10)));
    pr("self-patch slli: %lu\n", self_patch(3, slli(A0, A0, 4)));
}

static u64 user_smc(u64 arg)
{
    u32 *w = (u32 *)&code[8192];
    u64 sum = 0;
    for (int i = 0; i < 8; i++) {
        w[0] = addi(A0, A0, i * 3 + (int)arg);
        w[1] = RET;
        asm volatile("fence.i" ::: "memory");
        sum = sum * 31 + ((u64(*)(u64))(u64)w)(i);
    }
    return sum;
}

int main(void)
{
    pr("# smc-fencei\n");
    immediates();
    compressed();
    text_patching();
    pr("U smc %lu\n", run_in_mode(PRV_U, user_smc, 5, 0));
    pr("S smc %lu\n", run_in_mode(PRV_S, user_smc, 9, 0));
    return 0;
}
