/* SPDX-License-Identifier: MIT */
/*
 * rv64m: MUL/MULH/MULHSU/MULHU/MULW, DIV/DIVU/REM/REMU and the W forms over an edge
 * operand sweep (division by zero, INT_MIN / -1 overflow, 32-bit boundaries,
 * non-sign-extended W inputs). Format: "<insn> <i> <j> <result>".
 */
#include "isa.h"

static const u64 vals[] = {
    0x0000000000000000ul, 0x0000000000000001ul, 0x0000000000000002ul, 0x0000000000000003ul,
    0xfffffffffffffffful, 0xfffffffffffffffdul, 0x000000007ffffffful, 0x0000000080000000ul,
    0x00000000fffffffful, 0x0000000100000000ul, 0xffffffff80000000ul, 0x7ffffffffffffffful,
    0x8000000000000000ul, 0x0123456789abcdeful, 0xfedcba9876543210ul, 0x00000001fffffffful,
    0x12345678ffffffe9ul,
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
RR(mul)
RR(mulh)
RR(mulhsu)
RR(mulhu)
RR(mulw)
RR(div)
RR(divu)
RR(rem)
RR(remu)
RR(divw)
RR(divuw)
RR(remw)
RR(remuw)
/* clang-format on */

static const struct {
    const char *name;
    u64 (*fn)(u64, u64);
} ops[] = {
#define E(n) { #n, op_##n },
    /* clang-format off */
E(mul)
E(mulh)
E(mulhsu)
E(mulhu)
E(mulw)
E(div)
E(divu)
E(rem)
E(remu)
E(divw)
E(divuw)
E(remw)
E(remuw)
/* clang-format on */
#undef E
};

int main(void)
{
    pr("# rv64m\n");
    for (unsigned i = 0; i < NV; i++)
        pr("val %u %p\n", i, vals[i]);
    for (unsigned k = 0; k < ARRAY_SIZE(ops); k++)
        for (unsigned i = 0; i < NV; i++)
            for (unsigned j = 0; j < NV; j++)
                pr("%s %u %u %p\n", ops[k].name, i, j, ops[k].fn(vals[i], vals[j]));
    /* the recommended fused sequences (mulh+mul, div+rem) with rd overlapping sources */
    u64 a = 0xfedcba9876543210ul, b = 0x0123456789abcdeful, hi, lo, q, r;
    asm volatile("mulh %0, %2, %3\n mul %1, %2, %3" : "=&r"(hi), "=&r"(lo) : "r"(a), "r"(b));
    pr("mulh+mul %p %p\n", hi, lo);
    asm volatile("div %0, %2, %3\n rem %1, %2, %3" : "=&r"(q), "=&r"(r) : "r"(a), "r"(b));
    pr("div+rem %p %p\n", q, r);
    u64 x = 12345;
    asm volatile("mul %0, %0, %0" : "+r"(x));
    pr("mul rd=rs1=rs2 %p\n", x);
    return 0;
}
