/* SPDX-License-Identifier: MIT */
/*
 * rv64i-alu: every RV64I register-register and register-immediate ALU instruction,
 * swept over a table of edge operands; LUI/AUIPC; writes to x0.
 * Line format: "<insn> <i> <j> <result>" with i/j indexes into the operand table
 * (printed first), or "<insn> <i> imm=<imm> <result>".
 */
#include "isa.h"

static const u64 vals[] = {
    0x0000000000000000ul, 0x0000000000000001ul, 0x0000000000000002ul, 0x000000000000001ful,
    0x0000000000000020ul, 0x000000000000003ful, 0xfffffffffffffffful, 0xfffffffffffffffeul,
    0x000000007ffffffful, 0x0000000080000000ul, 0x00000000fffffffful, 0x0000000100000000ul,
    0xffffffff80000000ul, 0x7ffffffffffffffful, 0x8000000000000000ul, 0x0123456789abcdeful,
    0xfedcba9876543210ul, 0x00000000000007fful, 0xfffffffffffff800ul,
};
#define NV ARRAY_SIZE(vals)

#define RR(name)                                                      \
    static u64 op_##name(u64 a, u64 b)                                \
    {                                                                 \
        u64 r;                                                        \
        asm volatile(#name " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); \
        return r;                                                     \
    }
/* clang-format off */
RR(add)
RR(sub)
RR(sll)
RR(slt)
RR(sltu)
RR(xor)
RR(srl)
RR(sra)
RR(or)
RR(and)
RR(addw)
RR(subw)
RR(sllw)
RR(srlw)
RR(sraw)
/* clang-format on */

struct rr {
    const char *name;
    u64 (*fn)(u64, u64);
};
static const struct rr rrs[] = {
#define E(n) { #n, op_##n },
    /* clang-format off */
E(add)
E(sub)
E(sll)
E(slt)
E(sltu)
E(xor)
E(srl)
E(sra)
E(or)
E(and)
E(addw)
E(subw)
E(sllw)
E(srlw)
E(sraw)
/* clang-format on */
#undef E
};

/* Immediate forms: one function per (insn, imm) pair. */
#define RI(name, imm)                                                         \
    static u64 op_##name##_##imm(u64 a)                                       \
    {                                                                         \
        u64 r;                                                                \
        asm volatile(#name " %0, %1, %2" : "=r"(r) : "r"(a), "i"(IMM_##imm)); \
        return r;                                                             \
    }
#define IMM_0     0
#define IMM_1     1
#define IMM_m1    -1
#define IMM_2047  2047
#define IMM_m2048 -2048
#define IMM_0x555 0x555
#define IMM_31    31
#define IMM_32    32
#define IMM_63    63
#define IMM_5     5

#define IMMSET(name) \
    RI(name, 0) RI(name, 1) RI(name, m1) RI(name, 2047) RI(name, m2048) RI(name, 0x555)
/* clang-format off */
IMMSET(addi)
IMMSET(slti)
IMMSET(sltiu)
IMMSET(xori)
IMMSET(ori)
IMMSET(andi)
IMMSET(addiw)
/* clang-format on */
#define SH64(name) RI(name, 0) RI(name, 1) RI(name, 5) RI(name, 31) RI(name, 32) RI(name, 63)
#define SH32(name) RI(name, 0) RI(name, 1) RI(name, 5) RI(name, 31)
/* clang-format off */
SH64(slli)
SH64(srli)
SH64(srai)
SH32(slliw)
SH32(srliw)
SH32(sraiw)
/* clang-format on */

struct ri {
    const char *name;
    long imm;
    u64 (*fn)(u64);
};
static const struct ri ris[] = {
#define E(n, i) { #n, IMM_##i, op_##n##_##i },
#define EI(n)   E(n, 0) E(n, 1) E(n, m1) E(n, 2047) E(n, m2048) E(n, 0x555)
    /* clang-format off */
EI(addi)
EI(slti)
EI(sltiu)
EI(xori)
EI(ori)
EI(andi)
EI(addiw)
/* clang-format on */
#define ES64(n) E(n, 0) E(n, 1) E(n, 5) E(n, 31) E(n, 32) E(n, 63)
#define ES32(n) E(n, 0) E(n, 1) E(n, 5) E(n, 31)
    /* clang-format off */
ES64(slli)
ES64(srli)
ES64(srai)
ES32(slliw)
ES32(srliw)
ES32(sraiw)
/* clang-format on */
#undef E
};

static void upper_imm(void)
{
    u64 r;
#define LUI(imm)                             \
    asm volatile("lui %0, " #imm : "=r"(r)); \
    pr("lui %s %p\n", #imm, r);
    /* clang-format off */
LUI(0)
LUI(1)
LUI(0x7ffff)
LUI(0x80000)
LUI(0xfffff)
LUI(0x12345)
/* clang-format on */
#undef LUI
    /* auipc: print the value relative to the instruction's own address */
#define AUIPC(imm)                                                             \
    {                                                                          \
        u64 pc;                                                                \
        asm volatile("1: auipc %0, " #imm "\n la %1, 1b" : "=r"(r), "=r"(pc)); \
        pr("auipc %s %p\n", #imm, r - pc);                                     \
    }
    /* clang-format off */
AUIPC(0)
AUIPC(1)
AUIPC(0x7ffff)
AUIPC(0x80000)
AUIPC(0xfffff)
/* clang-format on */
#undef AUIPC
}

static void x0_writes(void)
{
    u64 r;
    asm volatile("li t0, 123\n"
                 "addi x0, t0, 1\n"
                 "lui x0, 0x12345\n"
                 "add x0, t0, t0\n"
                 "mv %0, x0"
                 : "=r"(r)::"t0");
    pr("x0 after writes %p\n", r);
    asm volatile("addi %0, x0, -1" : "=r"(r));
    pr("addi x0-src %p\n", r);
    /* nop and the HINT space (addi x0, x0, imm; slli x0...) must do nothing */
    asm volatile("li %0, 7\n nop\n addi x0, x0, 5\n slli x0, x0, 3\n" : "=r"(r));
    pr("after hints %p\n", r);
}

int main(void)
{
    pr("# rv64i-alu\n");
    for (unsigned i = 0; i < NV; i++)
        pr("val %u %p\n", i, vals[i]);
    for (unsigned k = 0; k < ARRAY_SIZE(rrs); k++)
        for (unsigned i = 0; i < NV; i++)
            for (unsigned j = 0; j < NV; j++)
                pr("%s %u %u %p\n", rrs[k].name, i, j, rrs[k].fn(vals[i], vals[j]));
    for (unsigned k = 0; k < ARRAY_SIZE(ris); k++)
        for (unsigned i = 0; i < NV; i++)
            pr("%s %u imm=%ld %p\n", ris[k].name, i, ris[k].imm, ris[k].fn(vals[i]));
    upper_imm();
    x0_writes();
    return 0;
}
