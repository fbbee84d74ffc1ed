/* SPDX-License-Identifier: MIT */
/* The rest of Advanced SIMD against QEMU: the saturating doubling multiplies (SQDMULL,
 * SQDMLAL, SQDMLSL: vector, scalar, by element; SQDMULH/SQRDMULH by element), polynomial
 * multiplies (PMUL, PMULL/PMULL2 of bytes), SUQADD/USQADD, the scalar narrowing shifts,
 * URECPE/URSQRTE, and the FP estimates and steps (FRECPE, FRSQRTE, FRECPX, FRECPS, FRSQRTS),
 * FMULX (vector, scalar, by element), FCVTXN, the scalar FP pairwise forms, the FP across-lane
 * forms and the fixed-point conversions of the shift-by-immediate group.
 *
 * Integer operations run over every pair of eight 128-bit inputs whose lanes hold the
 * saturation boundaries of each element size; each result is the whole destination register
 * (its upper half only when nonzero) and FPSR.QC. FP operations run over special operands
 * (zeros, infinities, quiet and signalling NaNs with payloads, subnormals around the estimate
 * thresholds, the largest values, products near 2 and 3 and beyond the largest finite value)
 * under the FPCR rounding modes, FZ and DN; each result comes with the FPSR flags. The
 * estimates are also swept over every 8-bit input fraction (both exponent parities), and the
 * FP instructions over a fixed sequence of random operands and modes. */
#include <stdbool.h>

#include "isa.h"

static uint64_t o[2] __attribute__((aligned(16)));

static void hex_digits(uint64_t v, unsigned n)
{
    for (unsigned k = n; k-- > 0;)
        putc_("0123456789abcdef"[(v >> (4 * k)) & 15]);
}

/* " [hi_]lo:ff" (FPSR flags IOC DZC OFC UFC IXC IDC, and QC as 0x100). */
static void show_result(uint64_t fpsr)
{
    putc_(' ');
    if (o[1]) {
        hex_digits(o[1], 16);
        putc_('_');
    }
    hex_digits(o[0], 16);
    putc_(':');
    hex_digits((fpsr & 0x9f) | ((fpsr >> 27) & 1) << 8, 3);
}

/* ---- integer operations: v1 = a, v2 = b, v0 = d (accumulator / old destination) ---- */

static const uint64_t iv[][2] __attribute__((aligned(16))) = {
    { 0x8000000080000000ull, 0x8000800080008000ull }, /* S minimum, H minimum */
    { 0x7fffffff7fffffffull, 0x7fff7fff7fff7fffull }, /* S maximum, H maximum */
    { 0x8000000000000000ull, 0x7fffffffffffffffull }, /* D minimum, maximum */
    { 0xffffffffffffffffull, 0x0000000000000001ull }, /* -1, 1 */
    { 0x80017fff0000ffffull, 0x0123456789abcdefull },
    { 0x7fff80000001fffeull, 0xfedcba9876543210ull },
    { 0x8080808080808080ull, 0x7f7f7f7f01ff80ffull }, /* B minimum, maximum, mixed */
    { 0xc0000000c0004000ull, 0x4000000040008001ull },
};
#define NI (sizeof(iv) / sizeof(iv[0]))

typedef void (*IFn)(const uint64_t *a, const uint64_t *b, const uint64_t *d);

#define IOP(name, insn)                                                               \
    static void name(const uint64_t *a, const uint64_t *b, const uint64_t *d)         \
    {                                                                                 \
        __asm__ volatile("ldr q1, [%1]\n ldr q2, [%2]\n ldr q0, [%3]\n mov v20.16b, " \
                         "v2.16b\n" insn "\n str q0, [%0]" ::"r"(o),                  \
                         "r"(a), "r"(b), "r"(d)                                       \
                         : "v0", "v1", "v2", "v20", "memory");                        \
    }

/* clang-format off */
IOP(sqdmull_4s, "sqdmull v0.4s, v1.4h, v2.4h") IOP(sqdmull2_4s, "sqdmull2 v0.4s, v1.8h, v2.8h")
IOP(sqdmull_2d, "sqdmull v0.2d, v1.2s, v2.2s") IOP(sqdmull2_2d, "sqdmull2 v0.2d, v1.4s, v2.4s")
IOP(sqdmlal_4s, "sqdmlal v0.4s, v1.4h, v2.4h") IOP(sqdmlal2_2d, "sqdmlal2 v0.2d, v1.4s, v2.4s")
IOP(sqdmlal_2d, "sqdmlal v0.2d, v1.2s, v2.2s") IOP(sqdmlsl_2d, "sqdmlsl v0.2d, v1.2s, v2.2s")
IOP(sqdmlsl2_4s, "sqdmlsl2 v0.4s, v1.8h, v2.8h") IOP(sqdmlsl_4s, "sqdmlsl v0.4s, v1.4h, v2.4h")
IOP(sqdmull_sh, "sqdmull s0, h1, h2") IOP(sqdmull_ds, "sqdmull d0, s1, s2")
IOP(sqdmlal_sh, "sqdmlal s0, h1, h2") IOP(sqdmlal_ds, "sqdmlal d0, s1, s2")
IOP(sqdmlsl_sh, "sqdmlsl s0, h1, h2") IOP(sqdmlsl_ds, "sqdmlsl d0, s1, s2")
IOP(sqdmull_e4s, "sqdmull v0.4s, v1.4h, v2.h[7]")
IOP(sqdmull2_e2d, "sqdmull2 v0.2d, v1.4s, v2.s[3]")
IOP(sqdmlal_e2d, "sqdmlal v0.2d, v1.2s, v20.s[0]")
IOP(sqdmlal2_e4s, "sqdmlal2 v0.4s, v1.8h, v2.h[1]")
IOP(sqdmlsl_e4s, "sqdmlsl v0.4s, v1.4h, v2.h[3]")
IOP(sqdmlsl2_e2d, "sqdmlsl2 v0.2d, v1.4s, v20.s[2]")
IOP(sqdmull_esh, "sqdmull s0, h1, v2.h[5]") IOP(sqdmull_eds, "sqdmull d0, s1, v20.s[1]")
IOP(sqdmlal_esh, "sqdmlal s0, h1, v2.h[6]") IOP(sqdmlal_eds, "sqdmlal d0, s1, v2.s[3]")
IOP(sqdmlsl_esh, "sqdmlsl s0, h1, v2.h[0]") IOP(sqdmlsl_eds, "sqdmlsl d0, s1, v2.s[2]")
IOP(sqdmulh_e8h, "sqdmulh v0.8h, v1.8h, v2.h[4]") IOP(sqrdmulh_e2s, "sqrdmulh v0.2s, v1.2s, v20.s[3]")
IOP(sqdmulh_es, "sqdmulh s0, s1, v2.s[1]") IOP(sqrdmulh_eh, "sqrdmulh h0, h1, v2.h[3]")
IOP(pmull_8h, "pmull v0.8h, v1.8b, v2.8b") IOP(pmull2_8h, "pmull2 v0.8h, v1.16b, v2.16b")
IOP(pmul_16b, "pmul v0.16b, v1.16b, v2.16b") IOP(pmul_8b, "pmul v0.8b, v1.8b, v2.8b")
IOP(suqadd_16b, "suqadd v0.16b, v1.16b") IOP(suqadd_4h, "suqadd v0.4h, v1.4h")
IOP(suqadd_4s, "suqadd v0.4s, v1.4s") IOP(suqadd_2d, "suqadd v0.2d, v1.2d")
IOP(usqadd_8b, "usqadd v0.8b, v1.8b") IOP(usqadd_8h, "usqadd v0.8h, v1.8h")
IOP(usqadd_2s, "usqadd v0.2s, v1.2s") IOP(usqadd_2d, "usqadd v0.2d, v1.2d")
IOP(suqadd_b, "suqadd b0, b1") IOP(suqadd_h, "suqadd h0, h1")
IOP(suqadd_s, "suqadd s0, s1") IOP(suqadd_d, "suqadd d0, d1")
IOP(usqadd_b, "usqadd b0, b1") IOP(usqadd_h, "usqadd h0, h1")
IOP(usqadd_s, "usqadd s0, s1") IOP(usqadd_d, "usqadd d0, d1")
IOP(sqshrn_bh, "sqshrn b0, h1, #1") IOP(sqshrn_hs, "sqshrn h0, s1, #16")
IOP(sqshrn_sd, "sqshrn s0, d1, #32") IOP(sqshrn_sd1, "sqshrn s0, d1, #1")
IOP(uqshrn_bh, "uqshrn b0, h1, #8") IOP(uqshrn_hs, "uqshrn h0, s1, #3")
IOP(uqshrn_sd, "uqshrn s0, d1, #32") IOP(sqrshrn_bh, "sqrshrn b0, h1, #8")
IOP(sqrshrn_hs, "sqrshrn h0, s1, #1") IOP(sqrshrn_sd, "sqrshrn s0, d1, #17")
IOP(uqrshrn_bh, "uqrshrn b0, h1, #1") IOP(uqrshrn_hs, "uqrshrn h0, s1, #16")
IOP(uqrshrn_sd, "uqrshrn s0, d1, #31") IOP(sqshrun_bh, "sqshrun b0, h1, #3")
IOP(sqshrun_hs, "sqshrun h0, s1, #16") IOP(sqshrun_sd, "sqshrun s0, d1, #1")
IOP(sqrshrun_bh, "sqrshrun b0, h1, #8") IOP(sqrshrun_hs, "sqrshrun h0, s1, #7")
IOP(sqrshrun_sd, "sqrshrun s0, d1, #32")
IOP(urecpe_4s, "urecpe v0.4s, v1.4s") IOP(urecpe_2s, "urecpe v0.2s, v2.2s")
IOP(ursqrte_4s, "ursqrte v0.4s, v1.4s") IOP(ursqrte_2s, "ursqrte v0.2s, v2.2s")
    /* clang-format on */

    static void isweep(const char *name, IFn fn, bool binary)
{
    for (unsigned i = 0; i < NI; i++) {
        pr_str(name);
        putc_(' ');
        putc_((char)('0' + i));
        putc_(':');
        for (unsigned j = 0; j < (binary ? NI : 1); j++) {
            SYSREG_WRITE(fpsr, 0);
            fn(iv[i], iv[j], iv[(i + j + 1) % NI]);
            show_result(SYSREG_READ(fpsr));
        }
        putc_('\n');
    }
}

static void integer_ops(void)
{
    isweep("sqdmull.4s", sqdmull_4s, true);
    isweep("sqdmull2.4s", sqdmull2_4s, true);
    isweep("sqdmull.2d", sqdmull_2d, true);
    isweep("sqdmull2.2d", sqdmull2_2d, true);
    isweep("sqdmlal.4s", sqdmlal_4s, true);
    isweep("sqdmlal2.2d", sqdmlal2_2d, true);
    isweep("sqdmlal.2d", sqdmlal_2d, true);
    isweep("sqdmlsl.2d", sqdmlsl_2d, true);
    isweep("sqdmlsl2.4s", sqdmlsl2_4s, true);
    isweep("sqdmlsl.4s", sqdmlsl_4s, true);
    isweep("sqdmull.sh", sqdmull_sh, true);
    isweep("sqdmull.ds", sqdmull_ds, true);
    isweep("sqdmlal.sh", sqdmlal_sh, true);
    isweep("sqdmlal.ds", sqdmlal_ds, true);
    isweep("sqdmlsl.sh", sqdmlsl_sh, true);
    isweep("sqdmlsl.ds", sqdmlsl_ds, true);
    isweep("sqdmull.e4s", sqdmull_e4s, true);
    isweep("sqdmull2.e2d", sqdmull2_e2d, true);
    isweep("sqdmlal.e2d", sqdmlal_e2d, true);
    isweep("sqdmlal2.e4s", sqdmlal2_e4s, true);
    isweep("sqdmlsl.e4s", sqdmlsl_e4s, true);
    isweep("sqdmlsl2.e2d", sqdmlsl2_e2d, true);
    isweep("sqdmull.esh", sqdmull_esh, true);
    isweep("sqdmull.eds", sqdmull_eds, true);
    isweep("sqdmlal.esh", sqdmlal_esh, true);
    isweep("sqdmlal.eds", sqdmlal_eds, true);
    isweep("sqdmlsl.esh", sqdmlsl_esh, true);
    isweep("sqdmlsl.eds", sqdmlsl_eds, true);
    isweep("sqdmulh.e8h", sqdmulh_e8h, true);
    isweep("sqrdmulh.e2s", sqrdmulh_e2s, true);
    isweep("sqdmulh.es", sqdmulh_es, true);
    isweep("sqrdmulh.eh", sqrdmulh_eh, true);
    isweep("pmull.8h", pmull_8h, true);
    isweep("pmull2.8h", pmull2_8h, true);
    isweep("pmul.16b", pmul_16b, true);
    isweep("pmul.8b", pmul_8b, true);
    /* The accumulating unary forms: v0 (the accumulator) is the third input. */
    isweep("suqadd.16b", suqadd_16b, true);
    isweep("suqadd.4h", suqadd_4h, true);
    isweep("suqadd.4s", suqadd_4s, true);
    isweep("suqadd.2d", suqadd_2d, true);
    isweep("usqadd.8b", usqadd_8b, true);
    isweep("usqadd.8h", usqadd_8h, true);
    isweep("usqadd.2s", usqadd_2s, true);
    isweep("usqadd.2d", usqadd_2d, true);
    isweep("suqadd.b", suqadd_b, true);
    isweep("suqadd.h", suqadd_h, true);
    isweep("suqadd.s", suqadd_s, true);
    isweep("suqadd.d", suqadd_d, true);
    isweep("usqadd.b", usqadd_b, true);
    isweep("usqadd.h", usqadd_h, true);
    isweep("usqadd.s", usqadd_s, true);
    isweep("usqadd.d", usqadd_d, true);
    isweep("sqshrn.bh", sqshrn_bh, false);
    isweep("sqshrn.hs", sqshrn_hs, false);
    isweep("sqshrn.sd", sqshrn_sd, false);
    isweep("sqshrn.sd1", sqshrn_sd1, false);
    isweep("uqshrn.bh", uqshrn_bh, false);
    isweep("uqshrn.hs", uqshrn_hs, false);
    isweep("uqshrn.sd", uqshrn_sd, false);
    isweep("sqrshrn.bh", sqrshrn_bh, false);
    isweep("sqrshrn.hs", sqrshrn_hs, false);
    isweep("sqrshrn.sd", sqrshrn_sd, false);
    isweep("uqrshrn.bh", uqrshrn_bh, false);
    isweep("uqrshrn.hs", uqrshrn_hs, false);
    isweep("uqrshrn.sd", uqrshrn_sd, false);
    isweep("sqshrun.bh", sqshrun_bh, false);
    isweep("sqshrun.hs", sqshrun_hs, false);
    isweep("sqshrun.sd", sqshrun_sd, false);
    isweep("sqrshrun.bh", sqrshrun_bh, false);
    isweep("sqrshrun.hs", sqrshrun_hs, false);
    isweep("sqrshrun.sd", sqrshrun_sd, false);
    isweep("urecpe.4s", urecpe_4s, false);
    isweep("urecpe.2s", urecpe_2s, false);
    isweep("ursqrte.4s", ursqrte_4s, false);
    isweep("ursqrte.2s", ursqrte_2s, false);
}

/* ---- floating point: d1 = a, d2 = b, v0 = all ones before the instruction ---- */

typedef void (*FFn)(uint64_t a, uint64_t b);

#define FOP(name, insn)                                                                  \
    static void name(uint64_t a, uint64_t b)                                             \
    {                                                                                    \
        __asm__ volatile("fmov d1, %1\n fmov d2, %2\n movi v0.2d, #0xffffffffffffffff\n" \
                         "mov v20.16b, v2.16b\n" insn "\n str q0, [%0]" ::"r"(o),        \
                         "r"(a), "r"(b)                                                  \
                         : "v0", "v1", "v2", "v3", "v20", "memory");                     \
    }

/* Lane arrangements: S2 puts a in the even and b in the odd single lanes of v1 (and b, a in
 * v2); D2 puts a, b in v1 and b, a in v2. */
#define S2  "mov v1.s[1], v2.s[0]\n mov v3.16b, v1.16b\n mov v1.d[1], v3.d[0]\n rev64 v2.4s, v1.4s\n"
#define D2  "mov v1.d[1], v2.d[0]\n ext v2.16b, v1.16b, v1.16b, #8\n"
#define DUP "dup v1.4s, v1.s[0]\n"

/* clang-format off */
FOP(frecpe_s, "frecpe s0, s1") FOP(frecpe_d, "frecpe d0, d1")
FOP(frsqrte_s, "frsqrte s0, s1") FOP(frsqrte_d, "frsqrte d0, d1")
FOP(frecpx_s, "frecpx s0, s1") FOP(frecpx_d, "frecpx d0, d1")
FOP(frecpe_4s, S2 "frecpe v0.4s, v1.4s") FOP(frecpe_2d, D2 "frecpe v0.2d, v1.2d")
FOP(frsqrte_2s, S2 "frsqrte v0.2s, v1.2s") FOP(frsqrte_2d, D2 "frsqrte v0.2d, v1.2d")
FOP(frecps_s, "frecps s0, s1, s2") FOP(frecps_d, "frecps d0, d1, d2")
FOP(frsqrts_s, "frsqrts s0, s1, s2") FOP(frsqrts_d, "frsqrts d0, d1, d2")
FOP(fmulx_s, "fmulx s0, s1, s2") FOP(fmulx_d, "fmulx d0, d1, d2")
FOP(frecps_4s, S2 "frecps v0.4s, v1.4s, v2.4s") FOP(frecps_2d, D2 "frecps v0.2d, v1.2d, v2.2d")
FOP(frsqrts_2s, S2 "frsqrts v0.2s, v1.2s, v2.2s") FOP(frsqrts_2d, D2 "frsqrts v0.2d, v1.2d, v2.2d")
FOP(fmulx_4s, S2 "fmulx v0.4s, v1.4s, v2.4s") FOP(fmulx_2d, D2 "fmulx v0.2d, v1.2d, v2.2d")
FOP(fmulx_e4s, S2 "fmulx v0.4s, v1.4s, v2.s[1]") FOP(fmulx_e2d, D2 "fmulx v0.2d, v1.2d, v2.d[1]")
FOP(fmulx_es, "fmulx s0, s1, v20.s[0]") FOP(fmulx_ed, D2 "fmulx d0, d1, v2.d[0]")
FOP(fmulx_e2s, S2 "fmulx v0.2s, v1.2s, v20.s[3]")
FOP(fcvtxn_s, "fcvtxn s0, d1") FOP(fcvtxn_2s, D2 "fcvtxn v0.2s, v1.2d")
FOP(fcvtxn2_4s, D2 "fcvtxn2 v0.4s, v1.2d")
FOP(faddp_s, S2 "faddp s0, v1.2s") FOP(faddp_d, D2 "faddp d0, v1.2d")
FOP(fmaxp_s, S2 "fmaxp s0, v1.2s") FOP(fminp_d, D2 "fminp d0, v1.2d")
FOP(fmaxnmp_d, D2 "fmaxnmp d0, v1.2d") FOP(fminnmp_s, S2 "fminnmp s0, v1.2s")
FOP(fminp_s, S2 "fminp s0, v1.2s") FOP(fmaxp_d, D2 "fmaxp d0, v1.2d")
FOP(fmaxnmp_s, S2 "fmaxnmp s0, v1.2s") FOP(fminnmp_d, D2 "fminnmp d0, v1.2d")
FOP(fmaxnmv_4s, S2 "fmaxnmv s0, v1.4s") FOP(fminnmv_4s, S2 "fminnmv s0, v2.4s")
FOP(fmaxv_4s, S2 "fmaxv s0, v1.4s") FOP(fminv_4s, S2 "fminv s0, v2.4s")
FOP(fcvtzs_s1, "fcvtzs s0, s1, #1") FOP(fcvtzs_d64, "fcvtzs d0, d1, #64")
FOP(fcvtzu_4s32, DUP "fcvtzu v0.4s, v1.4s, #32") FOP(fcvtzu_2d1, D2 "fcvtzu v0.2d, v1.2d, #1")
FOP(fcvtzs_2s5, S2 "fcvtzs v0.2s, v1.2s, #5") FOP(fcvtzu_d3, "fcvtzu d0, d1, #3")
FOP(scvtf_s32, "scvtf s0, s1, #32") FOP(ucvtf_d64, "ucvtf d0, d1, #64")
FOP(scvtf_2d13, D2 "scvtf v0.2d, v1.2d, #13") FOP(ucvtf_2s1, S2 "ucvtf v0.2s, v1.2s, #1")
FOP(scvtf_d1, "scvtf d0, d1, #1") FOP(ucvtf_4s24, S2 "ucvtf v0.4s, v1.4s, #24")
    /* clang-format on */

    /* Estimates: both ends of every threshold (2^-128 / 2^-1024 overflow, 2^126 / 2^1022
     * flushing with FZ, subnormal results), subnormals with and without the top fraction bit. */
    static const uint64_t s_est[] = {
        0,          0x80000000, 0x3f800000, 0xbfc00000, 0x7f800000, 0xff800000,
        0x7fc00123, 0x7f800456, 0xffc00789, 1,          0x007fffff, 0x00800000,
        0x001fffff, 0x00200000, 0x00400000, 0x80300000, 0x7e800000, 0x7e7fffff,
        0x7f000000, 0x7f7fffff, 0xfeffffff, 0x40490fdb, 0x3eaaaaab, 0x00000003,
    };
static const uint64_t d_est[] = {
    0,
    0x8000000000000000ull,
    0x3ff0000000000000ull,
    0xbff8000000000000ull,
    0x7ff0000000000000ull,
    0xfff0000000000000ull,
    0x7ff8000000000123ull,
    0x7ff0000000000456ull,
    0xfff8000000000789ull,
    1,
    0x000fffffffffffffull,
    0x0010000000000000ull,
    0x0003ffffffffffffull,
    0x0004000000000000ull,
    0x0008000000000000ull,
    0x8006000000000000ull,
    0x7fd0000000000000ull,
    0x7fcfffffffffffffull,
    0x7fe0000000000000ull,
    0x7fefffffffffffffull,
    0xffdfffffffffffffull,
    0x400921fb54442d18ull,
    0x3fd5555555555555ull,
    0x0000000000000003ull,
};
#define NE (sizeof(s_est) / sizeof(s_est[0]))

/* Steps and FMULX: products near 2 and 3 (cancellation, exact zero), beyond the largest
 * value (where (3 - a * b) / 2 is still finite), tiny products, infinity times zero. */
static const uint64_t s_ar[] = {
    0,          0x80000000, 0x3f800000, 0xbfc00000, 0x3fc00000, 0x40000000, 0x40400000, 0x7f800000,
    0xff800000, 0x7fc00123, 0x7f800456, 0xffc00789, 1,          0x007fffff, 0x00800000, 0x7f7fffff,
    0x3eaaaaab, 0x3f7fffff, 0x3f800001, 0x5f800000, 0x1f800000, 0xc0000000, 0x3fb504f3, 0x3f3504f3,
};
static const uint64_t d_ar[] = {
    0,
    0x8000000000000000ull,
    0x3ff0000000000000ull,
    0xbff8000000000000ull,
    0x3ff8000000000000ull,
    0x4000000000000000ull,
    0x4008000000000000ull,
    0x7ff0000000000000ull,
    0xfff0000000000000ull,
    0x7ff8000000000123ull,
    0x7ff0000000000456ull,
    0xfff8000000000789ull,
    1,
    0x000fffffffffffffull,
    0x0010000000000000ull,
    0x7fefffffffffffffull,
    0x3fd5555555555555ull,
    0x3fefffffffffffffull,
    0x3ff0000000000001ull,
    0x5ff0000000000000ull,
    0x1ff0000000000000ull,
    0xc000000000000000ull,
    0x3ff6a09e667f3bcdull,
    0x3fe6a09e667f3bcdull,
};
#define NA (sizeof(s_ar) / sizeof(s_ar[0]))

/* FCVTXN: doubles whose single-precision truncation is exact, odd, even, inexact, tiny,
 * subnormal, beyond the largest single. */
static const uint64_t d_cvt[] = {
    0,
    0x8000000000000000ull,
    0x3ff0000000000000ull,
    0x3ff0000010000000ull,
    0x3ff0000020000000ull,
    0x3ff0000030000000ull,
    0xbff00000efffffffull,
    0x7ff0000000000000ull,
    0xfff0000000000000ull,
    0x7ff8000000000123ull,
    0x7ff0000000000456ull,
    0xfff8000000000789ull,
    1,
    0x36a0000000000000ull,
    0x3690000000000000ull,
    0x380fffffe0000000ull,
    0x380ffffff0000000ull,
    0x3810000000000001ull,
    0x47efffffe0000000ull,
    0x47efffffefffffffull,
    0x47effffff0000000ull,
    0x7fefffffffffffffull,
    0xc7f0000000000000ull,
    0x400921fb54442d18ull,
};
#define NC (sizeof(d_cvt) / sizeof(d_cvt[0]))

static const uint64_t ints[] = {
    0,
    1,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0x7fffffffffffffffull,
    0x8000000000000000ull,
    0xffffffffffffffffull,
    0x0020000000000001ull,
    0x00000000ffffff81ull,
    0x00ffffff01000001ull,
    0x1000001,
};

/* FPCR: RN, RP, RM, RZ; RN with FZ; RN with DN; RZ with FZ and DN. */
static const uint64_t modes[] = { 0, 1u << 22, 2u << 22, 3u << 22, 1u << 24, 1u << 25, 0x03c00000 };
#define ALL_MODES 0x7fu
#define FZ_DN     0x31u /* RN, FZ, DN */

static void fsweep(const char *name, FFn fn, const uint64_t *vals, unsigned n, bool binary,
                   unsigned mode_set)
{
    for (unsigned m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        if (!(mode_set & (1u << m)))
            continue;
        for (unsigned i = 0; i < n; i++) {
            pr_str(name);
            pr_str(" m");
            putc_((char)('0' + m));
            putc_(' ');
            putc_((char)('a' + i));
            putc_(':');
            for (unsigned j = 0; j < (binary ? n : 1); j++) {
                SYSREG_WRITE(fpcr, modes[m]);
                SYSREG_WRITE(fpsr, 0);
                fn(vals[i], vals[j]);
                uint64_t fl = SYSREG_READ(fpsr);
                SYSREG_WRITE(fpcr, 0);
                show_result(fl);
            }
            putc_('\n');
        }
    }
}

/* Every 8-bit input fraction (the part the estimates read), with noise in the bits below:
 * x = base | k << shift | noise, for k < count; results 8 to a line. */
static void esweep(const char *name, FFn fn, uint64_t base, unsigned shift, unsigned count)
{
    for (unsigned k = 0; k < count; k++) {
        if (k % 8 == 0) {
            pr_str(name);
            putc_(' ');
            hex_digits(k, 3);
            putc_(':');
        }
        uint64_t noise = ((uint64_t)k * 0x9e3779b97f4a7c15ull) & ((1ull << shift) - 1);
        SYSREG_WRITE(fpsr, 0);
        fn(base | (uint64_t)k << shift | noise, 0);
        show_result(SYSREG_READ(fpsr));
        if (k % 8 == 7)
            putc_('\n');
    }
}

static void fp_ops(void)
{
    fsweep("frecpe.s", frecpe_s, s_est, NE, false, ALL_MODES);
    fsweep("frecpe.d", frecpe_d, d_est, NE, false, ALL_MODES);
    fsweep("frsqrte.s", frsqrte_s, s_est, NE, false, FZ_DN);
    fsweep("frsqrte.d", frsqrte_d, d_est, NE, false, FZ_DN);
    fsweep("frecpx.s", frecpx_s, s_est, NE, false, FZ_DN);
    fsweep("frecpx.d", frecpx_d, d_est, NE, false, FZ_DN);
    fsweep("frecpe.4s", frecpe_4s, s_est, NE, true, 0x11);
    fsweep("frecpe.2d", frecpe_2d, d_est, NE, false, 0x04);
    fsweep("frsqrte.2s", frsqrte_2s, s_est, NE, true, 0x01);
    fsweep("frsqrte.2d", frsqrte_2d, d_est, NE, false, 0x11);
    esweep("frecpe.s.1", frecpe_s, 0x3f800000, 15, 256);
    esweep("frecpe.s.sub", frecpe_s, 0x00400000, 14, 256);
    esweep("frecpe.d.1", frecpe_d, 0x3ff0000000000000ull, 44, 256);
    esweep("frecpe.d.big", frecpe_d, 0x7fd0000000000000ull, 44, 256);
    esweep("frsqrte.s.1", frsqrte_s, 0x3f800000, 15, 256);
    esweep("frsqrte.s.2", frsqrte_s, 0x40000000, 15, 256);
    esweep("frsqrte.s.sub", frsqrte_s, 0, 15, 256);
    esweep("frsqrte.d.1", frsqrte_d, 0x3ff0000000000000ull, 44, 256);
    esweep("frsqrte.d.2", frsqrte_d, 0x4000000000000000ull, 44, 256);
    esweep("frsqrte.d.sub", frsqrte_d, 0, 43, 512);
    fsweep("frecps.s", frecps_s, s_ar, NA, true, ALL_MODES);
    fsweep("frecps.d", frecps_d, d_ar, NA, true, ALL_MODES);
    fsweep("frsqrts.s", frsqrts_s, s_ar, NA, true, ALL_MODES);
    fsweep("frsqrts.d", frsqrts_d, d_ar, NA, true, ALL_MODES);
    fsweep("fmulx.s", fmulx_s, s_ar, NA, true, ALL_MODES);
    fsweep("fmulx.d", fmulx_d, d_ar, NA, true, ALL_MODES);
    fsweep("frecps.4s", frecps_4s, s_ar, NA, true, 0x01);
    fsweep("frecps.2d", frecps_2d, d_ar, NA, true, 0x10);
    fsweep("frsqrts.2s", frsqrts_2s, s_ar, NA, true, 0x20);
    fsweep("frsqrts.2d", frsqrts_2d, d_ar, NA, true, 0x04);
    fsweep("fmulx.4s", fmulx_4s, s_ar, NA, true, 0x01);
    fsweep("fmulx.2d", fmulx_2d, d_ar, NA, true, 0x20);
    fsweep("fmulx.e4s", fmulx_e4s, s_ar, NA, true, 0x10);
    fsweep("fmulx.e2d", fmulx_e2d, d_ar, NA, true, 0x01);
    fsweep("fmulx.es", fmulx_es, s_ar, NA, true, 0x08);
    fsweep("fmulx.ed", fmulx_ed, d_ar, NA, true, 0x20);
    fsweep("fmulx.e2s", fmulx_e2s, s_ar, NA, true, 0x01);
    fsweep("fcvtxn.s", fcvtxn_s, d_cvt, NC, false, ALL_MODES);
    fsweep("fcvtxn.2s", fcvtxn_2s, d_cvt, NC, true, 0x01);
    fsweep("fcvtxn2.4s", fcvtxn2_4s, d_cvt, NC, true, 0x30);
    fsweep("faddp.s", faddp_s, s_ar, NA, true, ALL_MODES);
    fsweep("faddp.d", faddp_d, d_ar, NA, true, 0x1c);
    fsweep("fmaxp.s", fmaxp_s, s_ar, NA, true, FZ_DN);
    fsweep("fminp.s", fminp_s, s_ar, NA, true, 0x01);
    fsweep("fmaxp.d", fmaxp_d, d_ar, NA, true, 0x10);
    fsweep("fminp.d", fminp_d, d_ar, NA, true, FZ_DN);
    fsweep("fmaxnmp.s", fmaxnmp_s, s_ar, NA, true, 0x20);
    fsweep("fminnmp.s", fminnmp_s, s_ar, NA, true, FZ_DN);
    fsweep("fmaxnmp.d", fmaxnmp_d, d_ar, NA, true, FZ_DN);
    fsweep("fminnmp.d", fminnmp_d, d_ar, NA, true, 0x01);
    fsweep("fmaxnmv.4s", fmaxnmv_4s, s_ar, NA, true, FZ_DN);
    fsweep("fminnmv.4s", fminnmv_4s, s_ar, NA, true, 0x01);
    fsweep("fmaxv.4s", fmaxv_4s, s_ar, NA, true, 0x20);
    fsweep("fminv.4s", fminv_4s, s_ar, NA, true, 0x10);
    fsweep("fcvtzs.s1", fcvtzs_s1, s_ar, NA, false, FZ_DN);
    fsweep("fcvtzs.d64", fcvtzs_d64, d_ar, NA, false, FZ_DN);
    fsweep("fcvtzu.4s32", fcvtzu_4s32, s_ar, NA, false, 0x11);
    fsweep("fcvtzu.2d1", fcvtzu_2d1, d_ar, NA, true, 0x01);
    fsweep("fcvtzs.2s5", fcvtzs_2s5, s_est, NE, true, 0x01);
    fsweep("fcvtzu.d3", fcvtzu_d3, d_est, NE, false, FZ_DN);
    fsweep("scvtf.s32", scvtf_s32, ints, 12, false, ALL_MODES);
    fsweep("ucvtf.d64", ucvtf_d64, ints, 12, false, ALL_MODES);
    fsweep("scvtf.2d13", scvtf_2d13, ints, 12, true, 0x0b);
    fsweep("ucvtf.2s1", ucvtf_2s1, ints, 12, true, 0x05);
    fsweep("scvtf.d1", scvtf_d1, ints, 12, false, 0x0f);
    fsweep("ucvtf.4s24", ucvtf_4s24, ints, 12, true, 0x09);
}

/* Random operands (a fixed xorshift sequence): sign, fraction and an exponent near 1, near the
 * subnormals, near the largest finite value, or anywhere; every fourth one a special. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t random_fp(bool dbl)
{
    static const uint64_t sp_s[] = { 0, 0x7f800000, 0x7fc00001, 0x7f800001, 1, 0x3f800000 };
    static const uint64_t sp_d[] = {
        0, 0x7ff0000000000000ull, 0x7ff8000000000001ull, 0x7ff0000000000001ull,
        1, 0x3ff0000000000000ull
    };
    unsigned mb = dbl ? 52 : 23, bias = dbl ? 1023 : 127;
    uint64_t r = next(), sign = (r & 1) ? 1ull << (mb + (dbl ? 11 : 8)) : 0;
    if ((r >> 1) % 4 == 0)
        return sign | (dbl ? sp_d : sp_s)[(r >> 3) % 6];
    uint64_t frac = next() & ((1ull << mb) - 1), e;
    unsigned d = (unsigned)(r >> 8) % 8;
    switch ((r >> 16) % 4) {
    case 0: e = bias - 4 + d; break;
    case 1: e = d < 3 ? 0 : d - 3; break;
    case 2: e = 2 * bias - d; break;
    default: e = 1 + (next() % (2 * bias)); break;
    }
    return sign | e << mb | frac;
}

/* n operand pairs, each under one of the FPCR modes; results 8 to a line. */
static void rsweep(const char *name, FFn fn, bool dbl, bool dbl_in, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        if (k % 8 == 0) {
            pr_str(name);
            putc_(' ');
            hex_digits(k, 3);
            putc_(':');
        }
        uint64_t a = random_fp(dbl_in), b = random_fp(dbl), m = modes[next() % 7];
        SYSREG_WRITE(fpcr, m);
        SYSREG_WRITE(fpsr, 0);
        fn(a, b);
        uint64_t fl = SYSREG_READ(fpsr);
        SYSREG_WRITE(fpcr, 0);
        show_result(fl);
        if (k % 8 == 7)
            putc_('\n');
    }
}

static void random_ops(void)
{
    rsweep("rnd.frecps.s", frecps_s, false, false, 512);
    rsweep("rnd.frecps.d", frecps_d, true, true, 512);
    rsweep("rnd.frsqrts.s", frsqrts_s, false, false, 512);
    rsweep("rnd.frsqrts.d", frsqrts_d, true, true, 512);
    rsweep("rnd.fmulx.s", fmulx_s, false, false, 512);
    rsweep("rnd.fmulx.d", fmulx_d, true, true, 512);
    rsweep("rnd.frecpe.s", frecpe_s, false, false, 512);
    rsweep("rnd.frecpe.d", frecpe_d, true, true, 512);
    rsweep("rnd.frsqrte.s", frsqrte_s, false, false, 512);
    rsweep("rnd.frsqrte.d", frsqrte_d, true, true, 512);
    rsweep("rnd.frecpx.d", frecpx_d, true, true, 256);
    rsweep("rnd.fcvtxn", fcvtxn_s, false, true, 1024);
}

int main(void)
{
    SYSREG_WRITE(cpacr_el1, 3ull << 20);
    ISB();
    integer_ops();
    fp_ops();
    random_ops();
    return 0;
}
