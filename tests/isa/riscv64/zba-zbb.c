/* SPDX-License-Identifier: MIT */
/*
 * zba-zbb: every Zba and Zbb instruction over an operand sweep (register forms over
 * all pairs; unary forms and immediates over the table). Built with
 * -march=..._zba_zbb (the only program that is). Format as rv64i-alu.
 */
#include "isa.h"

static const u64 vals[] = {
    0x0000000000000000ul, 0x0000000000000001ul, 0x000000000000001ful, 0x0000000000000020ul,
    0x000000000000003ful, 0x0000000000000040ul, 0xfffffffffffffffful, 0x000000007ffffffful,
    0x0000000080000000ul, 0x00000000fffffffful, 0x0000000100000000ul, 0xffffffff80000000ul,
    0x7ffffffffffffffful, 0x8000000000000000ul, 0x0123456789abcdeful, 0xfedcba9876543210ul,
    0x0000000000008080ul, 0x00ff00000000ff80ul, 0x8000000000000001ul,
};
#define NV ARRAY_SIZE(vals)

#define RR(id, insn)                                                 \
    static u64 id(u64 a, u64 b)                                      \
    {                                                                \
        u64 r;                                                       \
        asm volatile(insn " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); \
        return r;                                                    \
    }
#define R1(id, insn)                                     \
    static u64 id(u64 a, u64 b)                          \
    {                                                    \
        u64 r;                                           \
        (void)b;                                         \
        asm volatile(insn " %0, %1" : "=r"(r) : "r"(a)); \
        return r;                                        \
    }
#define RI(id, insn, imm)                                       \
    static u64 id(u64 a, u64 b)                                 \
    {                                                           \
        u64 r;                                                  \
        (void)b;                                                \
        asm volatile(insn " %0, %1, " #imm : "=r"(r) : "r"(a)); \
        return r;                                               \
    }

/* clang-format off */
RR(op_add_uw, "add.uw")
RR(op_sh1add, "sh1add")
RR(op_sh2add, "sh2add")
RR(op_sh3add, "sh3add")
RR(op_sh1add_uw, "sh1add.uw")
RR(op_sh2add_uw, "sh2add.uw")
RR(op_sh3add_uw, "sh3add.uw")
RR(op_andn, "andn")
RR(op_orn, "orn")
RR(op_xnor, "xnor")
RR(op_max, "max")
RR(op_maxu, "maxu")
RR(op_min, "min")
RR(op_minu, "minu")
RR(op_rol, "rol")
RR(op_rolw, "rolw")
RR(op_ror, "ror")
RR(op_rorw, "rorw")
/* clang-format on */

static const struct {
    const char *name;
    u64 (*fn)(u64, u64);
} bin[] = {
    { "add.uw", op_add_uw },
    { "sh1add", op_sh1add },
    { "sh2add", op_sh2add },
    { "sh3add", op_sh3add },
    { "sh1add.uw", op_sh1add_uw },
    { "sh2add.uw", op_sh2add_uw },
    { "sh3add.uw", op_sh3add_uw },
    { "andn", op_andn },
    { "orn", op_orn },
    { "xnor", op_xnor },
    { "max", op_max },
    { "maxu", op_maxu },
    { "min", op_min },
    { "minu", op_minu },
    { "rol", op_rol },
    { "rolw", op_rolw },
    { "ror", op_ror },
    { "rorw", op_rorw },
};

/* clang-format off */
R1(op_clz, "clz")
R1(op_clzw, "clzw")
R1(op_ctz, "ctz")
R1(op_ctzw, "ctzw")
R1(op_cpop, "cpop")
R1(op_cpopw, "cpopw")
R1(op_sext_b, "sext.b")
R1(op_sext_h, "sext.h")
R1(op_zext_h, "zext.h")
R1(op_orc_b, "orc.b")
R1(op_rev8, "rev8")
R1(op_zext_w, "zext.w")
RI(op_slli_uw_0, "slli.uw", 0)
RI(op_slli_uw_1, "slli.uw", 1)
RI(op_slli_uw_31, "slli.uw", 31)
RI(op_slli_uw_32, "slli.uw", 32)
RI(op_slli_uw_63, "slli.uw", 63)
RI(op_rori_0, "rori", 0)
RI(op_rori_1, "rori", 1)
RI(op_rori_31, "rori", 31)
RI(op_rori_32, "rori", 32)
RI(op_rori_63, "rori", 63)
RI(op_roriw_0, "roriw", 0)
RI(op_roriw_1, "roriw", 1)
RI(op_roriw_16, "roriw", 16)
RI(op_roriw_31, "roriw", 31)
/* clang-format on */

static const struct {
    const char *name;
    u64 (*fn)(u64, u64);
} un[] = {
    { "clz", op_clz },
    { "clzw", op_clzw },
    { "ctz", op_ctz },
    { "ctzw", op_ctzw },
    { "cpop", op_cpop },
    { "cpopw", op_cpopw },
    { "sext.b", op_sext_b },
    { "sext.h", op_sext_h },
    { "zext.h", op_zext_h },
    { "orc.b", op_orc_b },
    { "rev8", op_rev8 },
    { "zext.w", op_zext_w },
    { "slli.uw 0", op_slli_uw_0 },
    { "slli.uw 1", op_slli_uw_1 },
    { "slli.uw 31", op_slli_uw_31 },
    { "slli.uw 32", op_slli_uw_32 },
    { "slli.uw 63", op_slli_uw_63 },
    { "rori 0", op_rori_0 },
    { "rori 1", op_rori_1 },
    { "rori 31", op_rori_31 },
    { "rori 32", op_rori_32 },
    { "rori 63", op_rori_63 },
    { "roriw 0", op_roriw_0 },
    { "roriw 1", op_roriw_1 },
    { "roriw 16", op_roriw_16 },
    { "roriw 31", op_roriw_31 },
};

int main(void)
{
    pr("# zba-zbb\n");
    for (unsigned i = 0; i < NV; i++)
        pr("val %u %p\n", i, vals[i]);
    for (unsigned k = 0; k < ARRAY_SIZE(bin); k++)
        for (unsigned i = 0; i < NV; i++)
            for (unsigned j = 0; j < NV; j++)
                pr("%s %u %u %p\n", bin[k].name, i, j, bin[k].fn(vals[i], vals[j]));
    for (unsigned k = 0; k < ARRAY_SIZE(un); k++)
        for (unsigned i = 0; i < NV; i++)
            pr("%s %u %p\n", un[k].name, i, un[k].fn(vals[i], 0));
    return 0;
}
