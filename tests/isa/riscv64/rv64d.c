/* SPDX-License-Identifier: MIT */
/*
 * rv64d: every RV64D instruction, same structure as rv64f: binary ops over all pairs
 * of an edge-value table, FMA over triples, unary ops, fclass, comparisons, conversions
 * (to/from W/WU/L/LU and to/from single, including NaN and overflow/underflow cases),
 * fmv.x.d/fmv.d.x, fld/fsd. Every line ends with the fflags value.
 */
#include "fp.h"

static const u64 dv[] = {
    0x0000000000000000ul, /* +0 */
    0x8000000000000000ul, /* -0 */
    0x3ff0000000000000ul, /* 1 */
    0xbff0000000000000ul, /* -1 */
    0x4008000000000000ul, /* 3 */
    0x0000000000000001ul, /* min subnormal */
    0x800ffffffffffffful, /* -max subnormal */
    0x0010000000000000ul, /* min normal */
    0x7feffffffffffffful, /* max */
    0xffeffffffffffffful, /* -max */
    0x7ff0000000000000ul, /* +inf */
    0xfff0000000000000ul, /* -inf */
    0x7ff8000000000000ul, /* canonical qNaN */
    0x7ff0000000000001ul, /* sNaN */
    0xfff8000012345678ul, /* -qNaN with payload */
    0x3fb999999999999aul, /* 0.1 */
    0xc004000000000000ul, /* -2.5 */
    0x47efffffe0000000ul, /* FLT_MAX as double */
};
#define NDV ARRAY_SIZE(dv)
static const unsigned fma_idx[] = { 0, 1, 4, 5, 8, 10, 11, 12, 13 };

FOP2(d_add, "fadd.d ft2, ft0, ft1")
FOP2(d_sub, "fsub.d ft2, ft0, ft1")
FOP2(d_mul, "fmul.d ft2, ft0, ft1")
FOP2(d_div, "fdiv.d ft2, ft0, ft1")
FOP2(d_min, "fmin.d ft2, ft0, ft1")
FOP2(d_max, "fmax.d ft2, ft0, ft1")
FOP2(d_sgnj, "fsgnj.d ft2, ft0, ft1")
FOP2(d_sgnjn, "fsgnjn.d ft2, ft0, ft1")
FOP2(d_sgnjx, "fsgnjx.d ft2, ft0, ft1")
FCMP(d_eq, "feq.d %0, ft0, ft1")
FCMP(d_lt, "flt.d %0, ft0, ft1")
FCMP(d_le, "fle.d %0, ft0, ft1")
FOP3(d_madd, "fmadd.d ft2, ft0, ft1, ft3")
FOP3(d_msub, "fmsub.d ft2, ft0, ft1, ft3")
FOP3(d_nmadd, "fnmadd.d ft2, ft0, ft1, ft3")
FOP3(d_nmsub, "fnmsub.d ft2, ft0, ft1, ft3")
FOP1(d_sqrt, "fsqrt.d ft2, ft0")
FOP1(d_cvt_s_d, "fcvt.s.d ft2, ft0")
FTOX(d_class, "fclass.d %0, ft0")
FTOX(d_mv_x_d, "fmv.x.d %0, ft0")
FTOX(d_cvt_w, "fcvt.w.d %0, ft0, rtz")
FTOX(d_cvt_wu, "fcvt.wu.d %0, ft0, rtz")
FTOX(d_cvt_l, "fcvt.l.d %0, ft0, rtz")
FTOX(d_cvt_lu, "fcvt.lu.d %0, ft0, rtz")
FTOX(d_cvt_w_rne, "fcvt.w.d %0, ft0, rne")
FTOX(d_cvt_wu_rne, "fcvt.wu.d %0, ft0, rne")
FTOX(d_cvt_l_rne, "fcvt.l.d %0, ft0, rne")
FTOX(d_cvt_lu_rne, "fcvt.lu.d %0, ft0, rne")
XTOF(d_cvt_d_w, "fcvt.d.w ft2, %2")
XTOF(d_cvt_d_wu, "fcvt.d.wu ft2, %2")
XTOF(d_cvt_d_l, "fcvt.d.l ft2, %2")
XTOF(d_cvt_d_lu, "fcvt.d.lu ft2, %2")
XTOF(d_mv_d_x, "fmv.d.x ft2, %2")
FOP1(s_cvt_d_s, "fcvt.d.s ft2, ft0")

static const struct {
    const char *name;
    fop2_t fn;
} bin[] = {
    { "fadd.d", d_add },     { "fsub.d", d_sub }, { "fmul.d", d_mul },   { "fdiv.d", d_div },
    { "fmin.d", d_min },     { "fmax.d", d_max }, { "fsgnj.d", d_sgnj }, { "fsgnjn.d", d_sgnjn },
    { "fsgnjx.d", d_sgnjx }, { "feq.d", d_eq },   { "flt.d", d_lt },     { "fle.d", d_le },
};
static const struct {
    const char *name;
    fop3_t fn;
} tri[] = {
    { "fmadd.d", d_madd },
    { "fmsub.d", d_msub },
    { "fnmadd.d", d_nmadd },
    { "fnmsub.d", d_nmsub },
};
static const struct {
    const char *name;
    fop1_t fn;
} un[] = {
    { "fsqrt.d", d_sqrt },       { "fcvt.s.d", d_cvt_s_d },     { "fclass.d", d_class },
    { "fmv.x.d", d_mv_x_d },     { "fcvt.w.d.rtz", d_cvt_w },   { "fcvt.wu.d.rtz", d_cvt_wu },
    { "fcvt.l.d.rtz", d_cvt_l }, { "fcvt.lu.d.rtz", d_cvt_lu },
};

static const u64 cvt_in[] = {
    0x3fe0000000000000ul, /* 0.5 */ 0xbfe0000000000000ul,       /* -0.5 */
    0x3ff8000000000000ul, /* 1.5 */ 0xc004000000000000ul,       /* -2.5 */
    0xbff0000000000000ul, /* -1 */ 0xbfefffffffffffffull,       /* -0.999.. */
    0x41dfffffffc00000ul, /* 2^31-1 */ 0x41dfffffffe00000ul,    /* 2^31-0.5 */
    0x41e0000000000000ul, /* 2^31 */ 0xc1e0000000000000ul,      /* -2^31 */
    0xc1e0000000100000ul, /* -2^31-0.5 */ 0xc1e0000000200000ul, /* -2^31-1 */
    0x41efffffffe00000ul, /* 2^32-1 */ 0x41effffffff00000ul,    /* 2^32-0.5 */
    0x41f0000000000000ul, /* 2^32 */ 0x43dffffffffffffful,      /* < 2^63 */
    0x43e0000000000000ul, /* 2^63 */ 0xc3e0000000000000ul,      /* -2^63 */
    0xc3e0000000000001ul, /* < -2^63 */ 0x43effffffffffffful,   /* < 2^64 */
    0x43f0000000000000ul, /* 2^64 */ 0x7ff0000000000000ul,      /* inf */
    0xfff0000000000000ul, /* -inf */ 0x7ff8000000000000ul,      /* qNaN */
    0xfff8000000000000ul, /* -qNaN */ 0x7ff0000000000001ul,     /* sNaN */
    0x0000000000000001ul, /* min sub */ 0x8000000000000000ul,   /* -0 */
};
static const struct {
    const char *name;
    fop1_t fn;
} cvt_ops[] = {
    { "fcvt.w.d.rtz", d_cvt_w },     { "fcvt.wu.d.rtz", d_cvt_wu },
    { "fcvt.l.d.rtz", d_cvt_l },     { "fcvt.lu.d.rtz", d_cvt_lu },
    { "fcvt.w.d.rne", d_cvt_w_rne }, { "fcvt.wu.d.rne", d_cvt_wu_rne },
    { "fcvt.l.d.rne", d_cvt_l_rne }, { "fcvt.lu.d.rne", d_cvt_lu_rne },
};

static const u64 int_in[] = {
    0,
    1,
    0xfffffffffffffffful,
    0x000000007ffffffful,
    0xffffffff80000000ul,
    0x00000000fffffffful,
    0x123456780000002aul,
    0xdeadbeef80000001ul,
    0x7ffffffffffffffful,
    0x8000000000000000ul,
    0x0020000000000001ul,
    0x0020000000000003ul,
    0x0010000000000001ul,
    0xffdffffffffffffful,
    0xfffffffffffffc00ul,
    0x8000000000000401ul,
};
static const struct {
    const char *name;
    fop1_t fn;
} from_int[] = {
    { "fcvt.d.w", d_cvt_d_w },   { "fcvt.d.wu", d_cvt_d_wu }, { "fcvt.d.l", d_cvt_d_l },
    { "fcvt.d.lu", d_cvt_d_lu }, { "fmv.d.x", d_mv_d_x },
};

/* double -> single narrowing edges */
static const u64 narrow_in[] = {
    0x36a0000000000000ul, /* float min subnormal */
    0x3690000000000000ul, /* half of it: tie to zero */
    0x3698000000000000ul, /* 0.75 of it */
    0x380fffffe0000000ul, /* halfway max subnormal / min normal */
    0x380ffffff0000000ul, /* rounds up to min normal: tininess after rounding */
    0x47efffffe0000000ul, /* FLT_MAX */
    0x47effffff0000000ul, /* FLT_MAX + half ulp: overflow in RNE */
    0x47f0000000000000ul, /* 2^128 */
    0x3ff0000010000000ul, /* 1 + 2^-24: tie */
    0x3ff0000030000000ul, /* 1 + 3*2^-24: tie up */
    0x7ff4000000000000ul, /* sNaN with payload */
    0xfff8000000000001ul, /* -qNaN payload */
    0x3fb999999999999aul, /* 0.1 */
};
static const u32 widen_in[] = { 0x00000001, 0x807fffff, 0x7f800001,
                                0xffc00001, 0x3f800001, 0x7f7fffff };

static void loads_stores(void)
{
    volatile u64 w[4] = { 0x3ff0000000000000ul, 0x7ff0000000000001ul, 0xfff0000000000000ul, 1 };
    volatile u64 o[4] = { 0 };
    for (unsigned i = 0; i < 4; i++) {
        u64 r;
        asm volatile("fld ft0, 0(%1)\n fsd ft0, 0(%2)\n fmv.x.d %0, ft0"
                     : "=r"(r)
                     : "r"(&w[i]), "r"(&o[i])
                     : "ft0", "memory");
        pr("fld/fsd %u %p %p\n", i, r, o[i]);
    }
    u64 r;
    asm volatile("fld ft0, 24(%1)\n fsd ft0, -8(%2)\n fmv.x.d %0, ft0"
                 : "=r"(r)
                 : "r"(&w[0]), "r"(&o[3])
                 : "ft0", "memory");
    pr("fld/fsd offsets %p %p\n", r, o[2]);
    /* fsd of a boxed single stores all 64 bits */
    asm volatile("fmv.w.x ft0, %1\n fsd ft0, 0(%0)" ::"r"(&o[0]), "r"(0x3f800000ul)
                 : "ft0", "memory");
    pr("fsd boxed single %p\n", o[0]);
}

int main(void)
{
    u64 fl, r;
    pr("# rv64d\n");
    for (unsigned i = 0; i < NDV; i++)
        pr("val %u %p\n", i, dv[i]);
    for (unsigned k = 0; k < ARRAY_SIZE(bin); k++)
        for (unsigned i = 0; i < NDV; i++)
            for (unsigned j = 0; j < NDV; j++) {
                r = bin[k].fn(dv[i], dv[j], &fl);
                pr("%s %u %u %p %02lx\n", bin[k].name, i, j, r, fl);
            }
    for (unsigned k = 0; k < ARRAY_SIZE(tri); k++)
        for (unsigned i = 0; i < ARRAY_SIZE(fma_idx); i++)
            for (unsigned j = 0; j < ARRAY_SIZE(fma_idx); j++)
                for (unsigned l = 0; l < ARRAY_SIZE(fma_idx); l++) {
                    unsigned a = fma_idx[i], b = fma_idx[j], c = fma_idx[l];
                    r = tri[k].fn(dv[a], dv[b], dv[c], &fl);
                    pr("%s %u %u %u %p %02lx\n", tri[k].name, a, b, c, r, fl);
                }
    for (unsigned k = 0; k < ARRAY_SIZE(un); k++)
        for (unsigned i = 0; i < NDV; i++) {
            r = un[k].fn(dv[i], &fl);
            pr("%s %u %p %02lx\n", un[k].name, i, r, fl);
        }
    for (unsigned k = 0; k < ARRAY_SIZE(cvt_ops); k++)
        for (unsigned i = 0; i < ARRAY_SIZE(cvt_in); i++) {
            r = cvt_ops[k].fn(cvt_in[i], &fl);
            pr("%s %p %p %02lx\n", cvt_ops[k].name, cvt_in[i], r, fl);
        }
    for (unsigned k = 0; k < ARRAY_SIZE(from_int); k++)
        for (unsigned i = 0; i < ARRAY_SIZE(int_in); i++) {
            r = from_int[k].fn(int_in[i], &fl);
            pr("%s %p %p %02lx\n", from_int[k].name, int_in[i], r, fl);
        }
    for (unsigned i = 0; i < ARRAY_SIZE(narrow_in); i++) {
        r = d_cvt_s_d(narrow_in[i], &fl);
        pr("fcvt.s.d %p %p %02lx\n", narrow_in[i], r, fl);
        r = d_cvt_s_d(narrow_in[i] ^ (1ul << 63), &fl);
        pr("fcvt.s.d -%p %p %02lx\n", narrow_in[i], r, fl);
    }
    for (unsigned i = 0; i < ARRAY_SIZE(widen_in); i++) {
        r = s_cvt_d_s(FBOX(widen_in[i]), &fl);
        pr("fcvt.d.s %08x %p %02lx\n", widen_in[i], r, fl);
    }
    loads_stores();
    return 0;
}
