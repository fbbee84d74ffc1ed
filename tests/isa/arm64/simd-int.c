/* SPDX-License-Identifier: MIT */
/* Advanced SIMD integer operations as gcc, glibc and Linux use them, on fixed inputs with
 * extreme lane values (0, 1, the signed minimum and maximum, all ones): immediates, element
 * moves, logic, arithmetic, compares, across-lane and pairwise, shifts, widening and
 * narrowing, permutes, table lookups, reversals, saturating forms (and FPSR.QC), scalar
 * forms and FMOV between general and vector registers. Each result is the whole 128-bit
 * destination (the upper half of 64-bit results must be zero). */
#include "isa.h"

static const uint64_t in_a[2]
    __attribute__((aligned(16))) = { 0x80017fff0000ffffull, 0x0123456789abcdefull };
static const uint64_t in_b[2]
    __attribute__((aligned(16))) = { 0x7fff80000001fffeull, 0xfedcba9876543210ull };
static const uint64_t in_d[2]
    __attribute__((aligned(16))) = { 0x5555aaaa5555aaaaull, 0x0f0f0f0ff0f0f0f0ull };
static const uint8_t tbl_idx[16]
    __attribute__((aligned(16))) = { 0, 17, 31, 32, 5, 200, 15, 16, 47, 48, 63, 64, 1, 2, 3, 255 };
static uint64_t out[2] __attribute__((aligned(16)));

static void show(const char *name)
{
    pr_str(name);
    putc_(' ');
    pr_hex(out[1]);
    putc_(' ');
    pr_hex(out[0]);
    putc_('\n');
}

/* v1 = a, v2 = b, v0 = d (accumulator), v3 = a, v4 = b; result in v0. */
#define OP(insn)                                                                       \
    do {                                                                               \
        __asm__ volatile("ldr q1, [%1]\n ldr q2, [%2]\n ldr q0, [%3]\n ldr q3, [%1]\n" \
                         "ldr q4, [%2]\n" insn "\n str q0, [%0]" ::"r"(out),           \
                         "r"(in_a), "r"(in_b), "r"(in_d)                               \
                         : "v0", "v1", "v2", "v3", "v4", "memory");                    \
        show(insn);                                                                    \
    } while (0)

/* The same with FPSR.QC cleared first and shown after. */
#define OPQ(insn)                            \
    do {                                     \
        SYSREG_WRITE(fpsr, 0);               \
        OP(insn);                            \
        pr("  qc", SYSREG_READ(fpsr) >> 27); \
    } while (0)

/* The same with the FPSR exception flags cleared first and shown after. */
#define OPF(insn)                                \
    do {                                         \
        SYSREG_WRITE(fpsr, 0);                   \
        OP(insn);                                \
        pr("  flags", SYSREG_READ(fpsr) & 0x9f); \
    } while (0)

/* Result in a general register. */
#define OPX(insn)                                                                           \
    do {                                                                                    \
        uint64_t x_;                                                                        \
        __asm__ volatile("ldr q1, [%1]\n ldr q2, [%2]\n mov x9, #-1\n" insn "\n mov %0, x9" \
                         : "=r"(x_)                                                         \
                         : "r"(in_a), "r"(in_b)                                             \
                         : "v1", "v2", "x9", "memory");                                     \
        pr(insn, x_);                                                                       \
    } while (0)

static void immediates_moves(void)
{
    OP("movi v0.16b, #0x5a");
    OP("movi v0.8b, #0xff");
    OP("movi v0.4h, #0x12, lsl #8");
    OP("movi v0.4s, #0x34, lsl #16");
    OP("movi v0.4s, #0x56, msl #8");
    OP("movi v0.2s, #0x78, msl #16");
    OP("movi d0, #0xff00ff0000ff00ff");
    OP("movi v0.2d, #0xffffffff00000000");
    OP("mvni v0.4s, #0x12, lsl #24");
    OP("mvni v0.8h, #0x80");
    OP("mvni v0.2s, #0x9a, msl #16");
    OP("orr v0.4s, #0x11, lsl #8");
    OP("orr v0.4h, #0x22");
    OP("bic v0.8h, #0xaa, lsl #8");
    OP("bic v0.2s, #0xff");
    OP("fmov v0.4s, #1.0");
    OP("fmov v0.2d, #-0.125");
    OP("fmov v0.2s, #31.0");
    OP("dup v0.16b, v1.b[15]");
    OP("dup v0.4h, v2.h[3]");
    OP("dup v0.4s, v1.s[2]");
    OP("dup v0.2d, v2.d[1]");
    OP("mov x9, #0x1234\n dup v0.8h, w9");
    OP("mov x9, #-2\n dup v0.2d, x9");
    OP("mov x9, #0x77\n dup v0.8b, w9");
    OP("mov v0.b[7], v1.b[0]");
    OP("mov v0.h[6], v2.h[1]");
    OP("mov v0.s[0], v2.s[3]");
    OP("mov v0.d[1], v1.d[0]");
    OP("mov x9, #0xabcd\n mov v0.h[5], w9");
    OP("mov x9, #-3\n mov v0.d[0], x9");
    OP("mov b0, v1.b[9]");
    OP("mov d0, v2.d[1]");
    OPX("umov w9, v1.b[15]");
    OPX("umov w9, v1.h[4]");
    OPX("umov w9, v2.s[1]");
    OPX("umov x9, v2.d[1]");
    OPX("smov w9, v1.b[7]");
    OPX("smov x9, v1.h[3]");
    OPX("smov x9, v2.s[0]");
    OPX("fmov x9, d1");
    OPX("fmov w9, s2");
    OPX("fmov x9, v2.d[1]");
    OP("mov x9, #-5\n fmov d0, x9");
    OP("mov x9, #-5\n fmov s0, w9");
    OP("mov x9, #7\n fmov v0.d[1], x9");
    OP("fmov s0, s2");
    OP("fmov d0, d1");
    OP("fmov s0, #0.5");
    OP("fmov d0, #-3.0");
    OP("fabs d0, d1");
    OP("fneg s0, s1");
    OP("fneg d0, d2");
}

static void logic_arith(void)
{
    OP("and v0.16b, v1.16b, v2.16b");
    OP("orr v0.8b, v1.8b, v2.8b");
    OP("orn v0.16b, v1.16b, v2.16b");
    OP("eor v0.16b, v1.16b, v2.16b");
    OP("bic v0.16b, v1.16b, v2.16b");
    OP("bsl v0.16b, v1.16b, v2.16b");
    OP("bit v0.16b, v1.16b, v2.16b");
    OP("bif v0.8b, v1.8b, v2.8b");
    OP("mov v0.16b, v2.16b");
    OP("not v0.16b, v1.16b");
    OP("add v0.16b, v1.16b, v2.16b");
    OP("add v0.4h, v1.4h, v2.4h");
    OP("add v0.4s, v1.4s, v2.4s");
    OP("add v0.2d, v1.2d, v2.2d");
    OP("sub v0.8h, v1.8h, v2.8h");
    OP("sub v0.2d, v1.2d, v2.2d");
    OP("add d0, d1, d2");
    OP("sub d0, d1, d2");
    OP("mul v0.16b, v1.16b, v2.16b");
    OP("mul v0.8h, v1.8h, v2.8h");
    OP("mul v0.4s, v1.4s, v2.4s");
    OP("mla v0.4s, v1.4s, v2.4s");
    OP("mls v0.8b, v1.8b, v2.8b");
    OP("abs v0.16b, v1.16b");
    OP("abs v0.2d, v2.2d");
    OP("neg v0.8h, v1.8h");
    OP("neg d0, d1");
    OP("abs d0, d2");
    OP("smax v0.8h, v1.8h, v2.8h");
    OP("umax v0.16b, v1.16b, v2.16b");
    OP("smin v0.4s, v1.4s, v2.4s");
    OP("umin v0.4h, v1.4h, v2.4h");
    OP("sabd v0.8h, v1.8h, v2.8h");
    OP("uabd v0.16b, v1.16b, v2.16b");
    OP("uaba v0.4s, v1.4s, v2.4s");
    OP("shadd v0.8h, v1.8h, v2.8h");
    OP("uhadd v0.16b, v1.16b, v2.16b");
    OP("uhsub v0.4s, v1.4s, v2.4s");
    OP("cnt v0.16b, v1.16b");
    OP("cnt v0.8b, v2.8b");
    OP("rbit v0.16b, v1.16b");
    OP("clz v0.16b, v1.16b");
    OP("clz v0.4s, v2.4s");
    OP("cls v0.8h, v1.8h");
    OP("cls v0.4s, v2.4s");
}

static void compares(void)
{
    OP("cmeq v0.16b, v1.16b, v2.16b");
    OP("cmeq v0.8h, v1.8h, v3.8h");
    OP("cmhi v0.8h, v1.8h, v2.8h");
    OP("cmhs v0.4s, v1.4s, v2.4s");
    OP("cmgt v0.16b, v1.16b, v2.16b");
    OP("cmge v0.2d, v1.2d, v2.2d");
    OP("cmtst v0.8h, v1.8h, v2.8h");
    OP("cmeq v0.16b, v1.16b, #0");
    OP("cmgt v0.8h, v1.8h, #0");
    OP("cmge v0.4s, v2.4s, #0");
    OP("cmle v0.16b, v1.16b, #0");
    OP("cmlt v0.8h, v2.8h, #0");
    OP("cmeq d0, d1, d2");
    OP("cmhi d0, d1, d2");
    OP("cmgt d0, d2, d1");
    OP("cmtst d0, d1, d2");
    OP("cmeq d0, d1, #0");
    OP("cmlt d0, d2, #0");
}

static void across_pairwise(void)
{
    OP("addv b0, v1.16b");
    OP("addv h0, v2.8h");
    OP("addv s0, v1.4s");
    OP("addv b0, v2.8b");
    OP("umaxv b0, v1.16b");
    OP("umaxv h0, v2.4h");
    OP("uminv s0, v1.4s");
    OP("smaxv b0, v2.16b");
    OP("sminv h0, v1.8h");
    OP("uaddlv h0, v1.16b");
    OP("uaddlv s0, v2.8h");
    OP("uaddlv d0, v1.4s");
    OP("saddlv s0, v1.8h");
    OP("addp v0.16b, v1.16b, v2.16b");
    OP("addp v0.2s, v1.2s, v2.2s");
    OP("addp v0.2d, v1.2d, v2.2d");
    OP("addp d0, v2.2d");
    OP("umaxp v0.16b, v1.16b, v2.16b");
    OP("umaxp v0.4h, v1.4h, v2.4h");
    OP("uminp v0.4s, v1.4s, v2.4s");
    OP("smaxp v0.8h, v1.8h, v2.8h");
    OP("sminp v0.8b, v1.8b, v2.8b");
    OP("uaddlp v0.8h, v1.16b");
    OP("saddlp v0.2d, v2.4s");
    OP("uadalp v0.4s, v1.8h");
}

static void shifts(void)
{
    OP("shl v0.16b, v1.16b, #3");
    OP("shl v0.2d, v2.2d, #63");
    OP("ushr v0.8h, v1.8h, #16");
    OP("ushr v0.4s, v2.4s, #1");
    OP("sshr v0.16b, v1.16b, #8");
    OP("sshr v0.2d, v2.2d, #20");
    OP("usra v0.4s, v1.4s, #4");
    OP("ssra v0.8h, v2.8h, #3");
    OP("urshr v0.16b, v1.16b, #1");
    OP("srshr v0.4s, v2.4s, #7");
    OP("sri v0.8h, v1.8h, #4");
    OP("sli v0.4s, v2.4s, #12");
    OP("shl d0, d1, #5");
    OP("ushr d0, d2, #64");
    OP("sshr d0, d2, #64");
    OP("usra d0, d1, #3");
    OP("sli d0, d1, #17");
    OP("shrn v0.8b, v1.8h, #4");
    OP("shrn2 v0.16b, v2.8h, #8");
    OP("rshrn v0.4h, v1.4s, #16");
    OP("shrn v0.2s, v2.2d, #32");
    OP("xtn v0.8b, v1.8h");
    OP("xtn2 v0.4s, v2.2d");
    OP("ushll v0.8h, v1.8b, #0");
    OP("ushll2 v0.4s, v2.8h, #3");
    OP("sshll v0.2d, v1.2s, #0");
    OP("sshll2 v0.8h, v2.16b, #7");
    OP("uxtl v0.4s, v1.4h");
    OP("sxtl2 v0.2d, v2.4s");
    OP("shll v0.8h, v1.8b, #8");
    OP("shll2 v0.2d, v2.4s, #32");
    OP("ushl v0.16b, v1.16b, v2.16b");
    OP("sshl v0.8h, v1.8h, v2.8h");
    OP("ushl v0.4s, v2.4s, v1.4s");
    OP("sshl v0.2d, v2.2d, v1.2d");
    OP("ushl d0, d1, d2");
    OP("sshl d0, d2, d1");
}

static void permutes(void)
{
    OP("ext v0.16b, v1.16b, v2.16b, #3");
    OP("ext v0.8b, v1.8b, v2.8b, #7");
    OP("ext v0.16b, v1.16b, v2.16b, #15");
    OP("zip1 v0.16b, v1.16b, v2.16b");
    OP("zip2 v0.8h, v1.8h, v2.8h");
    OP("zip1 v0.2s, v1.2s, v2.2s");
    OP("zip2 v0.2d, v1.2d, v2.2d");
    OP("uzp1 v0.16b, v1.16b, v2.16b");
    OP("uzp2 v0.4s, v1.4s, v2.4s");
    OP("uzp1 v0.4h, v1.4h, v2.4h");
    OP("trn1 v0.8h, v1.8h, v2.8h");
    OP("trn2 v0.16b, v1.16b, v2.16b");
    OP("trn1 v0.2d, v1.2d, v2.2d");
    OP("rev64 v0.16b, v1.16b");
    OP("rev64 v0.4s, v2.4s");
    OP("rev32 v0.8h, v1.8h");
    OP("rev32 v0.8b, v2.8b");
    OP("rev16 v0.16b, v1.16b");
}

static void tables(void)
{
    uint64_t idx = (uint64_t)tbl_idx;
    __asm__ volatile(
        "ldr q1, [%1]\n ldr q2, [%2]\n ldr q3, [%3]\n ldr q4, [%1]\n"
        "ldr q5, [%4]\n ldr q0, [%3]\n tbl v0.16b, {v1.16b}, v5.16b\n str q0, [%0]" ::"r"(out),
        "r"(in_a), "r"(in_b), "r"(in_d), "r"(idx)
        : "v0", "v1", "v2", "v3", "v4", "v5", "memory");
    show("tbl 1");
    __asm__ volatile("ldr q1, [%1]\n ldr q2, [%2]\n ldr q3, [%3]\n ldr q4, [%1]\n"
                     "ldr q5, [%4]\n ldr q0, [%3]\n tbx v0.16b, {v1.16b, v2.16b}, v5.16b\n"
                     "str q0, [%0]" ::"r"(out),
                     "r"(in_a), "r"(in_b), "r"(in_d), "r"(idx)
                     : "v0", "v1", "v2", "v3", "v4", "v5", "memory");
    show("tbx 2");
    __asm__ volatile("ldr q1, [%1]\n ldr q2, [%2]\n ldr q3, [%3]\n ldr q4, [%1]\n"
                     "ldr q5, [%4]\n ldr q0, [%3]\n tbl v0.8b, {v1.16b, v2.16b, v3.16b}, v5.8b\n"
                     "str q0, [%0]" ::"r"(out),
                     "r"(in_a), "r"(in_b), "r"(in_d), "r"(idx)
                     : "v0", "v1", "v2", "v3", "v4", "v5", "memory");
    show("tbl 3");
    __asm__ volatile("ldr q1, [%1]\n ldr q2, [%2]\n ldr q3, [%3]\n ldr q4, [%1]\n"
                     "ldr q5, [%4]\n ldr q0, [%3]\n"
                     "tbx v0.16b, {v1.16b, v2.16b, v3.16b, v4.16b}, v5.16b\n"
                     "str q0, [%0]" ::"r"(out),
                     "r"(in_a), "r"(in_b), "r"(in_d), "r"(idx)
                     : "v0", "v1", "v2", "v3", "v4", "v5", "memory");
    show("tbx 4");
}

static void long_narrow_sat(void)
{
    OP("uaddl v0.8h, v1.8b, v2.8b");
    OP("saddl2 v0.4s, v1.8h, v2.8h");
    OP("usubl v0.2d, v1.2s, v2.2s");
    OP("saddw v0.8h, v1.8h, v2.8b");
    OP("usubw2 v0.4s, v1.4s, v2.8h");
    OP("umull v0.8h, v1.8b, v2.8b");
    OP("smull2 v0.2d, v1.4s, v2.4s");
    OP("umull v0.2d, v1.2s, v2.2s");
    OP("umlal v0.4s, v1.4h, v2.4h");
    OP("smlsl v0.8h, v1.8b, v2.8b");
    OP("uabdl v0.8h, v1.8b, v2.8b");
    OP("sabal2 v0.4s, v1.8h, v2.8h");
    OP("addhn v0.8b, v1.8h, v2.8h");
    OP("raddhn2 v0.8h, v1.4s, v2.4s");
    OP("subhn v0.2s, v1.2d, v2.2d");
    OPQ("sqadd v0.16b, v1.16b, v2.16b");
    OPQ("uqadd v0.8h, v1.8h, v2.8h");
    OPQ("sqsub v0.4s, v1.4s, v2.4s");
    OPQ("uqsub v0.16b, v1.16b, v2.16b");
    OPQ("sqadd v0.2d, v1.2d, v2.2d");
    OPQ("uqsub v0.2d, v1.2d, v2.2d");
    OPQ("uqadd d0, d1, d2");
    OPQ("sqsub b0, b1, b2");
    OPQ("sqadd h0, h3, h4");
    OPQ("uqadd s0, s1, s1");
    OPQ("add v0.4s, v1.4s, v2.4s");
    OPQ("sqxtn v0.8b, v1.8h");
    OPQ("uqxtn2 v0.8h, v2.4s");
    OPQ("sqxtun v0.4h, v1.4s");
    OPQ("sqxtn s0, d2");
    OPQ("sqabs v0.16b, v1.16b");
    OPQ("sqneg v0.8h, v1.8h");
    OPQ("sqabs d0, d1");
    OPQ("sqshl v0.16b, v1.16b, #3");
    OPQ("uqshl v0.4s, v2.4s, #1");
    OPQ("sqshlu v0.8h, v1.8h, #2");
    OPQ("sqshrn v0.8b, v1.8h, #4");
    OPQ("uqshrn v0.4h, v2.4s, #8");
    OPQ("sqrshrun v0.2s, v2.2d, #16");
    OPQ("uqrshrn2 v0.16b, v1.8h, #1");
    OPQ("srhadd v0.8h, v1.8h, v2.8h");
    OPQ("urhadd v0.16b, v1.16b, v2.16b");
    OPQ("srshl v0.16b, v1.16b, v2.16b");
    OPQ("urshl v0.4s, v2.4s, v1.4s");
    OPQ("srshl v0.2d, v1.2d, v2.2d");
    OPQ("sqshl v0.8h, v1.8h, v2.8h");
    OPQ("uqshl v0.16b, v2.16b, v1.16b");
    OPQ("sqrshl v0.4s, v1.4s, v2.4s");
    OPQ("uqrshl v0.2d, v2.2d, v1.2d");
    OPQ("sqshl d0, d1, d2");
    OPQ("uqrshl b0, b2, b1");
    OPQ("urshl d0, d2, d1");
    OPQ("sqshl h0, h1, h4");
    OPQ("sqdmulh v0.8h, v1.8h, v2.8h");
    OPQ("sqrdmulh v0.4s, v1.4s, v2.4s");
    OPQ("sqdmulh v0.8h, v1.8h, v1.8h");
    OPQ("sqrdmulh h0, h1, h2");
    OPQ("sqdmulh s0, s1, s1");
    OPQ("sqdmulh v0.4s, v1.4s, v2.s[1]");
    OPQ("sqrdmulh v0.4h, v1.4h, v1.h[4]");
    OPQ("sqdmulh h0, h1, v1.h[7]");
    OPQ("movi v3.8h, #0x80, lsl #8\n sqdmulh v0.8h, v3.8h, v3.8h");
    OPQ("movi v3.4s, #0x80, lsl #24\n sqrdmulh v0.4s, v3.4s, v3.s[2]");
}

static void by_element(void)
{
    OP("mul v0.4s, v1.4s, v2.s[3]");
    OP("mul v0.8h, v1.8h, v2.h[6]");
    OP("mla v0.8h, v1.8h, v2.h[5]");
    OP("mls v0.4h, v1.4h, v2.h[0]");
    OP("mla v0.2s, v1.2s, v2.s[1]");
    OP("umull v0.2d, v1.2s, v2.s[1]");
    OP("smull v0.4s, v1.4h, v2.h[2]");
    OP("smlal2 v0.4s, v1.8h, v2.h[7]");
    OP("umlsl2 v0.2d, v1.4s, v2.s[0]");
    OP("fmul v0.4s, v1.4s, v2.s[2]");
    OP("fmla v0.2d, v1.2d, v2.d[1]");
    OP("fmls v0.2s, v1.2s, v2.s[1]");
    OP("fmul s0, s1, v2.s[3]");
    OP("fmla d0, d1, v2.d[0]");
    OP("fcvtl v0.2d, v1.2s");
    OP("fcvtl2 v0.2d, v2.4s");
    OP("fcvtl v0.4s, v1.4h");
    OP("fcvtn v0.2s, v2.2d");
    OP("fcvtn2 v0.4s, v1.2d");
    OP("fcvtn v0.4h, v2.4s");
    OP("fcvtzs v0.4s, v2.4s");
    OP("scvtf v0.2d, v1.2d");
    OP("ucvtf v0.4s, v2.4s");
    OP("fcvtzu d0, d2");
    OP("scvtf s0, s1");
    OP("fadd v0.4s, v1.4s, v2.4s");
    OP("fmaxp v0.4s, v1.4s, v2.4s");
    OP("fabs v0.2d, v2.2d");
    OP("fcmeq v0.4s, v1.4s, #0.0");
    OPF("scvtf v0.4s, v1.4s, #16");
    OPF("ucvtf v0.2d, v2.2d, #64");
    OPF("fcvtzs v0.4s, v2.4s, #3");
    OPF("fcvtzu v0.2d, v1.2d, #1");
    OPF("fcvtzu d0, d2, #10");
    OPF("scvtf s0, s1, #32");
    OPF("fcvtzs s0, s2, #31");
    OPF("fmaxv s0, v1.4s");
    OPF("fminv s0, v2.4s");
    OPF("fmaxnmv s0, v1.4s");
    OPF("fminnmv s0, v2.4s");
}

int main(void)
{
    SYSREG_WRITE(cpacr_el1, 3ull << 20);
    ISB();
    immediates_moves();
    logic_arith();
    compares();
    across_pairwise();
    shifts();
    permutes();
    tables();
    long_narrow_sat();
    by_element();
    return 0;
}
