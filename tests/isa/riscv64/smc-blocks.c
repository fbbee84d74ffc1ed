/* SPDX-License-Identifier: MIT */
/*
 * smc-blocks: self-modifying code at the level of translated blocks, in hot loops (so the
 * tiered JIT has compiled and chained the blocks before they are patched):
 *  - own block: a store patches an instruction of the block that is executing (already
 *    executed in this iteration); after fence.i the next iteration runs the new one;
 *  - next block: a store patches an instruction after the fence.i that ends the block;
 *  - data in the code page: a hot loop stores to a word in its own page every iteration
 *    (no code changes; every store invalidates the running block);
 *  - another block: a function on its own page, called from a hot loop (chained into
 *    the caller), patched to another immediate, another kind of instruction, and to a
 *    jump elsewhere (the block's exit changes), then back;
 *  - branch target: the target of a hot direct jump is rewritten while the jump's block
 *    (on another page) stays valid, so a chained jump must not keep the old code.
 * The RISC-V unprivileged spec (Zifencei) makes stores visible to this hart's instruction
 * fetches after fence.i, so every printed value is defined.
 */
#include "isa.h"

static u32 addi(unsigned rd, unsigned rs1, int imm)
{
    return ((u32)(imm & 0xfff) << 20) | (rs1 << 15) | (rd << 7) | 0x13;
}
static u32 slli(unsigned rd, unsigned rs1, unsigned sh)
{
    return (sh << 20) | (rs1 << 15) | (1u << 12) | (rd << 7) | 0x13;
}
static u32 xori(unsigned rd, unsigned rs1, int imm)
{
    return ((u32)(imm & 0xfff) << 20) | (rs1 << 15) | (4u << 12) | (rd << 7) | 0x13;
}
static u32 jal(unsigned rd, long off)
{
    u32 o = (u32)off;
    return (((o >> 20) & 1) << 31) | (((o >> 1) & 0x3ff) << 21) | (((o >> 11) & 1) << 20) |
           (((o >> 12) & 0xff) << 12) | (rd << 7) | 0x6f;
}

static void fencei(void)
{
    asm volatile("fence.i" ::: "memory");
}

/* a0 = n; iteration i runs `addi a1, a1, imm` patched by iteration i - 1 (imm = i - 1),
 * then patches it with imm = i: the store hits the block it is executing in. */
u64 own_block(u64 n);
/* Iteration i patches the `addi` after fence.i to imm = i, then runs it. */
u64 next_block(u64 n);
/* n iterations each storing the counter into a word in the loop's own page and adding
 * it back from there: n (n + 1) / 2. */
u64 data_in_code(u64 n);
asm(".text\n .option push\n .option norvc\n"
    ".balign 4096\n"
    ".globl own_block\n"
    "own_block:\n"
    "  li a1, 0\n"
    "  li t2, 0\n"
    "  la t3, 1f\n"
    "  li t5, 0x00058593\n"
    "1:addi a1, a1, 0\n"
    "  andi t4, t2, 0x7ff\n"
    "  slli t4, t4, 20\n"
    "  or t4, t4, t5\n"
    "  sw t4, 0(t3)\n"
    "  fence.i\n"
    "  addi t2, t2, 1\n"
    "  blt t2, a0, 1b\n"
    "  mv a0, a1\n"
    "  ret\n"
    ".globl next_block\n"
    "next_block:\n"
    "  li a1, 0\n"
    "  li t2, 0\n"
    "  la t3, 2f\n"
    "  li t5, 0x00058593\n"
    "1:andi t4, t2, 0x7ff\n"
    "  slli t4, t4, 20\n"
    "  or t4, t4, t5\n"
    "  sw t4, 0(t3)\n"
    "  fence.i\n"
    "2:addi a1, a1, 0\n"
    "  addi t2, t2, 1\n"
    "  blt t2, a0, 1b\n"
    "  mv a0, a1\n"
    "  ret\n"
    ".globl data_in_code\n"
    "data_in_code:\n"
    "  li a1, 0\n"
    "  la t3, 3f\n"
    "1:sd a0, 0(t3)\n"
    "  ld t4, 0(t3)\n"
    "  add a1, a1, t4\n"
    "  addi a0, a0, -1\n"
    "  bnez a0, 1b\n"
    "  mv a0, a1\n"
    "  ret\n"
    ".balign 8\n"
    "3:.dword 0\n"
    ".option pop\n");

/* A callee alone on its page; `far_target` on a third page. */
u64 callee(u64 x);
u64 far_target(u64 x);
extern u32 callee_slot[];
asm(".text\n .option push\n .option norvc\n"
    ".balign 4096\n"
    ".globl callee\n"
    "callee:\n"
    ".globl callee_slot\n"
    "callee_slot:\n"
    "  addi a0, a0, 1\n"
    "  ret\n"
    ".balign 4096\n"
    ".globl far_target\n"
    "far_target:\n"
    "  addi a0, a0, 1000\n"
    "  ret\n"
    ".option pop\n");

/* A hot direct jump (in jumper, on its own page) whose target block is rewritten. */
u64 jumper(u64 x);
extern u32 jump_target[];
asm(".text\n .option push\n .option norvc\n"
    ".balign 4096\n"
    ".globl jumper\n"
    "jumper:\n"
    "  addi a0, a0, 3\n"
    "  j jump_target\n"
    ".balign 4096\n"
    ".globl jump_target\n"
    "jump_target:\n"
    "  addi a0, a0, 5\n"
    "  ret\n"
    ".option pop\n");

static u64 hot_calls(u64 (*fn)(u64), int n)
{
    u64 acc = 0;
    for (int i = 0; i < n; i++)
        acc = acc * 3 + fn((u64)i);
    return acc;
}

static void another_block(void)
{
    pr("callee before: %lx\n", hot_calls(callee, 3000));
    static const struct {
        const char *what;
        int kind, arg;
    } patches[] = {
        { "addi 7", 0, 7 },  { "slli 3", 1, 3 },   { "xori 0x55", 2, 0x55 },
        { "jal far", 3, 0 }, { "addi -1", 0, -1 }, { "jal far again", 3, 0 },
        { "addi 1", 0, 1 },
    };
    for (unsigned k = 0; k < ARRAY_SIZE(patches); k++) {
        u32 insn;
        switch (patches[k].kind) {
        case 0: insn = addi(10, 10, patches[k].arg); break;
        case 1: insn = slli(10, 10, (unsigned)patches[k].arg); break;
        case 2: insn = xori(10, 10, patches[k].arg); break;
        default: insn = jal(0, (long)((u64)far_target - (u64)callee_slot)); break;
        }
        callee_slot[0] = insn;
        fencei();
        pr("callee %s: %lx\n", patches[k].what, hot_calls(callee, 3000));
    }
}

static void branch_target(void)
{
    pr("jumper before: %lx\n", hot_calls(jumper, 3000));
    for (int k = 0; k < 6; k++) {
        jump_target[0] = k % 3 == 2 ? slli(10, 10, (unsigned)k) : addi(10, 10, 100 * k);
        fencei();
        pr("jumper target %d: %lx\n", k, hot_calls(jumper, 3000));
    }
}

int main(void)
{
    pr("# smc-blocks\n");
    for (u64 n = 1; n <= 2001; n += 500)
        pr("own block %lu: %lu\n", n, own_block(n));
    for (u64 n = 1; n <= 2001; n += 500)
        pr("next block %lu: %lu\n", n, next_block(n));
    pr("data in code: %lu\n", data_in_code(3000));
    another_block();
    branch_target();
    return 0;
}
