/* SPDX-License-Identifier: MIT */
/*
 * rv64f: every RV64F instruction. Binary ops over all pairs of an edge-value table
 * (zeros, subnormals, extremes, infinities, quiet/signalling NaNs), FMA forms over
 * triples of a smaller table, unary ops, comparisons, fclass, conversions to and from
 * integers (W/WU/L/LU), moves, loads/stores. Every line ends with the fflags value.
 * Single results are printed as the full 64-bit register so NaN-boxing is checked.
 * Also: non-NaN-boxed inputs, flag accrual, FS=Off traps and FS dirty tracking.
 */
#include "fp.h"

static const u32 fv[] = {
    0x00000000, /* +0 */
    0x80000000, /* -0 */
    0x3f800000, /* 1 */
    0xbf800000, /* -1 */
    0x3fc00000, /* 1.5 */
    0x40400000, /* 3 */
    0x00000001, /* min subnormal */
    0x807fffff, /* -max subnormal */
    0x00800000, /* min normal */
    0x7f7fffff, /* max */
    0xff7fffff, /* -max */
    0x7f800000, /* +inf */
    0xff800000, /* -inf */
    0x7fc00000, /* canonical qNaN */
    0x7f800001, /* sNaN */
    0xffc12345, /* -qNaN with payload */
    0x3dcccccd, /* 0.1 */
    0xc0200000, /* -2.5 */
};
#define NFV ARRAY_SIZE(fv)
/* operands for FMA triples */
static const unsigned fma_idx[] = { 0, 1, 5, 6, 9, 11, 12, 13, 14 };

FOP2(f_add, "fadd.s ft2, ft0, ft1")
FOP2(f_sub, "fsub.s ft2, ft0, ft1")
FOP2(f_mul, "fmul.s ft2, ft0, ft1")
FOP2(f_div, "fdiv.s ft2, ft0, ft1")
FOP2(f_min, "fmin.s ft2, ft0, ft1")
FOP2(f_max, "fmax.s ft2, ft0, ft1")
FOP2(f_sgnj, "fsgnj.s ft2, ft0, ft1")
FOP2(f_sgnjn, "fsgnjn.s ft2, ft0, ft1")
FOP2(f_sgnjx, "fsgnjx.s ft2, ft0, ft1")
FCMP(f_eq, "feq.s %0, ft0, ft1")
FCMP(f_lt, "flt.s %0, ft0, ft1")
FCMP(f_le, "fle.s %0, ft0, ft1")
FOP3(f_madd, "fmadd.s ft2, ft0, ft1, ft3")
FOP3(f_msub, "fmsub.s ft2, ft0, ft1, ft3")
FOP3(f_nmadd, "fnmadd.s ft2, ft0, ft1, ft3")
FOP3(f_nmsub, "fnmsub.s ft2, ft0, ft1, ft3")
FOP1(f_sqrt, "fsqrt.s ft2, ft0")
FOP1(f_cvt_d_s, "fcvt.d.s ft2, ft0")
FTOX(f_class, "fclass.s %0, ft0")
FTOX(f_mv_x_w, "fmv.x.w %0, ft0")
FTOX(f_cvt_w, "fcvt.w.s %0, ft0, rtz")
FTOX(f_cvt_wu, "fcvt.wu.s %0, ft0, rtz")
FTOX(f_cvt_l, "fcvt.l.s %0, ft0, rtz")
FTOX(f_cvt_lu, "fcvt.lu.s %0, ft0, rtz")
FTOX(f_cvt_w_rne, "fcvt.w.s %0, ft0, rne")
FTOX(f_cvt_wu_rne, "fcvt.wu.s %0, ft0, rne")
FTOX(f_cvt_l_rne, "fcvt.l.s %0, ft0, rne")
FTOX(f_cvt_lu_rne, "fcvt.lu.s %0, ft0, rne")
XTOF(f_cvt_s_w, "fcvt.s.w ft2, %2")
XTOF(f_cvt_s_wu, "fcvt.s.wu ft2, %2")
XTOF(f_cvt_s_l, "fcvt.s.l ft2, %2")
XTOF(f_cvt_s_lu, "fcvt.s.lu ft2, %2")
XTOF(f_mv_w_x, "fmv.w.x ft2, %2")

static const struct {
    const char *name;
    fop2_t fn;
} bin[] = {
    { "fadd.s", f_add },     { "fsub.s", f_sub }, { "fmul.s", f_mul },   { "fdiv.s", f_div },
    { "fmin.s", f_min },     { "fmax.s", f_max }, { "fsgnj.s", f_sgnj }, { "fsgnjn.s", f_sgnjn },
    { "fsgnjx.s", f_sgnjx }, { "feq.s", f_eq },   { "flt.s", f_lt },     { "fle.s", f_le },
};
static const struct {
    const char *name;
    fop3_t fn;
} tri[] = {
    { "fmadd.s", f_madd },
    { "fmsub.s", f_msub },
    { "fnmadd.s", f_nmadd },
    { "fnmsub.s", f_nmsub },
};
static const struct {
    const char *name;
    fop1_t fn;
} un[] = {
    { "fsqrt.s", f_sqrt },       { "fcvt.d.s", f_cvt_d_s },     { "fclass.s", f_class },
    { "fmv.x.w", f_mv_x_w },     { "fcvt.w.s.rtz", f_cvt_w },   { "fcvt.wu.s.rtz", f_cvt_wu },
    { "fcvt.l.s.rtz", f_cvt_l }, { "fcvt.lu.s.rtz", f_cvt_lu },
};

/* float -> int domain edges */
static const u32 cvt_in[] = {
    0x3f000000,           /* 0.5 */ 0xbf000000,     /* -0.5 */ 0x3fc00000,
    /* 1.5 */ 0xc0200000,                                                      /* -2.5 */
    0xbf800000,           /* -1 */ 0x4effffff,      /* 2^31-128 */ 0x4f000000, /* 2^31 */
    0xcf000000,           /* -2^31 */ 0xcf000001,   /* < -2^31 */ 0x4f7fffff,  /* < 2^32 */
    0x4f800000,           /* 2^32 */ 0x5effffff,    /* < 2^63 */ 0x5f000000,   /* 2^63 */
    0xdf000000,           /* -2^63 */ 0xdf000001,   /* < -2^63 */ 0x5f7fffff,  /* < 2^64 */
    0x5f800000,           /* 2^64 */ 0x7f800000,    /* inf */ 0xff800000,      /* -inf */
    0x7fc00000,           /* qNaN */ 0xffc00000,    /* -qNaN */ 0x7f800001,    /* sNaN */
    0x00000001,           /* min sub */ 0x80000000,                            /* -0 */
};
static const struct {
    const char *name;
    fop1_t fn;
} cvt_ops[] = {
    { "fcvt.w.s.rtz", f_cvt_w },     { "fcvt.wu.s.rtz", f_cvt_wu },
    { "fcvt.l.s.rtz", f_cvt_l },     { "fcvt.lu.s.rtz", f_cvt_lu },
    { "fcvt.w.s.rne", f_cvt_w_rne }, { "fcvt.wu.s.rne", f_cvt_wu_rne },
    { "fcvt.l.s.rne", f_cvt_l_rne }, { "fcvt.lu.s.rne", f_cvt_lu_rne },
};

/* int -> float inputs (upper bits garbage for the W forms on purpose) */
static const u64 int_in[] = {
    0,
    1,
    0xfffffffffffffffful,
    0x000000007ffffffful,
    0xffffffff80000000ul,
    0x00000000fffffffful,
    0x0000000001000001ul,
    0x0000000001000003ul,
    0x123456780000002aul,
    0xdeadbeef80000001ul,
    0x7ffffffffffffffful,
    0x8000000000000000ul,
    0x0020000000000001ul,
    0xffffff7fffffffffull,
    0x00000000ffffff80ul,
    0x7fffffbfffffffffull,
};
static const struct {
    const char *name;
    fop1_t fn;
} from_int[] = {
    { "fcvt.s.w", f_cvt_s_w },   { "fcvt.s.wu", f_cvt_s_wu }, { "fcvt.s.l", f_cvt_s_l },
    { "fcvt.s.lu", f_cvt_s_lu }, { "fmv.w.x", f_mv_w_x },
};

static void nan_boxing(void)
{
    u64 fl, r;
    /* improperly boxed inputs behave as the canonical NaN */
    static const u64 bad[] = { 0x000000003f800000ul, 0x7fffffff3f800000ul, 0xfffffffe40000000ul };
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        u64 one = FBOX(0x3f800000);
        r = f_add(bad[i], one, &fl);
        pr("unboxed %u fadd.s %p %02lx\n", i, r, fl);
        r = f_add(one, bad[i], &fl);
        pr("unboxed %u fadd.s(b) %p %02lx\n", i, r, fl);
        r = f_mul(bad[i], bad[i], &fl);
        pr("unboxed %u fmul.s %p %02lx\n", i, r, fl);
        r = f_sgnj(bad[i], one, &fl);
        pr("unboxed %u fsgnj.s %p %02lx\n", i, r, fl);
        r = f_sgnjn(one, bad[i], &fl);
        pr("unboxed %u fsgnjn.s(b) %p %02lx\n", i, r, fl);
        r = f_min(bad[i], one, &fl);
        pr("unboxed %u fmin.s %p %02lx\n", i, r, fl);
        r = f_eq(bad[i], bad[i], &fl);
        pr("unboxed %u feq.s %p %02lx\n", i, r, fl);
        r = f_lt(bad[i], one, &fl);
        pr("unboxed %u flt.s %p %02lx\n", i, r, fl);
        r = f_class(bad[i], &fl);
        pr("unboxed %u fclass.s %p %02lx\n", i, r, fl);
        r = f_cvt_d_s(bad[i], &fl);
        pr("unboxed %u fcvt.d.s %p %02lx\n", i, r, fl);
        r = f_cvt_w(bad[i], &fl);
        pr("unboxed %u fcvt.w.s %p %02lx\n", i, r, fl);
        r = f_sqrt(bad[i], &fl);
        pr("unboxed %u fsqrt.s %p %02lx\n", i, r, fl);
        r = f_madd(one, one, bad[i], &fl);
        pr("unboxed %u fmadd.s %p %02lx\n", i, r, fl);
        /* transfers do not check boxing */
        r = f_mv_x_w(bad[i], &fl);
        pr("unboxed %u fmv.x.w %p %02lx\n", i, r, fl);
        volatile u64 slot = 0x5555555555555555ul;
        asm volatile("fmv.d.x ft0, %1\n fsw ft0, 0(%0)" ::"r"(&slot), "r"(bad[i])
                     : "ft0", "memory");
        pr("unboxed %u fsw %p\n", i, slot);
    }
    /* loads box; fmv.w.x boxes */
    volatile u64 m = 0x12345678c0490fdbul;
    asm volatile("flw ft0, 0(%1)\n fmv.x.d %0, ft0" : "=r"(r) : "r"(&m) : "ft0", "memory");
    pr("flw box %p\n", r);
    asm volatile("flw ft0, 4(%1)\n fmv.x.d %0, ft0" : "=r"(r) : "r"(&m) : "ft0", "memory");
    pr("flw+4 box %p\n", r);
    asm volatile("fmv.w.x ft0, %1\n fmv.x.d %0, ft0" : "=r"(r) : "r"(0xabcdef0180000000ul) : "ft0");
    pr("fmv.w.x box %p\n", r);
    asm volatile("fmv.w.x ft0, %1\n fmv.x.w %0, ft0" : "=r"(r) : "r"(0x80000000ul) : "ft0");
    pr("fmv.x.w sext %p\n", r);
    /* fld of a boxed pattern is a valid single */
    volatile u64 boxed = FBOX(0x40400000);
    asm volatile("fld ft0, 0(%1)\n fadd.s ft1, ft0, ft0\n fmv.x.d %0, ft1"
                 : "=r"(r)
                 : "r"(&boxed)
                 : "ft0", "ft1", "memory");
    pr("fld boxed fadd.s %p\n", r);
}

static void loads_stores(void)
{
    volatile u32 w[4] = { 0x3f800000, 0x7f800001, 0xff800000, 0x00000001 };
    volatile u32 o[4] = { 0 };
    for (unsigned i = 0; i < 4; i++) {
        u64 r;
        asm volatile("flw ft0, 0(%1)\n fsw ft0, 0(%2)\n fmv.x.d %0, ft0"
                     : "=r"(r)
                     : "r"(&w[i]), "r"(&o[i])
                     : "ft0", "memory");
        pr("flw/fsw %u %p %08x\n", i, r, o[i]);
    }
    /* offsets */
    u64 r;
    asm volatile("flw ft0, 12(%1)\n fsw ft0, -4(%2)\n fmv.x.d %0, ft0"
                 : "=r"(r)
                 : "r"(&w[0]), "r"(&o[3])
                 : "ft0", "memory");
    pr("flw/fsw offsets %p %08x\n", r, o[2]);
}

static void accrual(void)
{
    u64 fl;
    asm volatile("fsflags zero\n"
                 "fmv.w.x ft0, %1\n fmv.w.x ft1, zero\n"
                 "fdiv.s ft2, ft0, ft1\n" /* DZ */
                 "fmv.w.x ft1, %2\n"
                 "fadd.s ft2, ft0, ft1\n" /* NX */
                 "frflags %0"
                 : "=r"(fl)
                 : "r"(0x3f800000ul), "r"(0x33800000ul)
                 : "ft0", "ft1", "ft2");
    pr("accrued %02lx\n", fl);
    u64 old;
    asm volatile("fsflags %0, %1" : "=r"(old) : "r"(0x1ful));
    asm volatile("frflags %0" : "=r"(fl));
    pr("fsflags swap old=%02lx new=%02lx\n", old, fl);
    /* an exact op leaves flags alone */
    asm volatile("fmv.w.x ft0, %1\n fadd.s ft2, ft0, ft0\n frflags %0"
                 : "=r"(fl)
                 : "r"(0x3f800000ul)
                 : "ft0", "ft2");
    pr("sticky %02lx\n", fl);
    asm volatile("fsflags zero");
}

static void fs_states(void)
{
    u64 st, r;
    /* FS = Off: FP instructions and fcsr accesses are illegal */
    csr_clear(mstatus, MSTATUS_FS);
    g_expect = 1;
    trap_reset();
    asm volatile("fmv.w.x ft0, zero");
    trap_print("fs-off fmv.w.x", 0);
    trap_reset();
    asm volatile("csrr %0, fcsr" : "=r"(r));
    trap_print("fs-off csrr fcsr", 0);
    trap_reset();
    asm volatile("fadd.d ft0, ft1, ft2");
    trap_print("fs-off fadd.d", 0);
    trap_reset();
    asm volatile("csrr %0, frm" : "=r"(r));
    trap_print("fs-off frm", 0);
    g_expect = 0;
    st = csr_read(mstatus);
    pr("fs-off mstatus.FS=%lu SD=%lu\n", (st >> 13) & 3, st >> 63);
    /* Clean -> an FP register write makes it Dirty (SD set) */
    csr_set(mstatus, 2ul << 13);
    st = csr_read(mstatus);
    pr("fs-clean mstatus.FS=%lu SD=%lu\n", (st >> 13) & 3, st >> 63);
    asm volatile("fmv.w.x ft0, zero");
    st = csr_read(mstatus);
    pr("after fp write FS=%lu SD=%lu\n", (st >> 13) & 3, st >> 63);
    csr_clear(mstatus, MSTATUS_FS);
    csr_set(mstatus, 1ul << 13);
    asm volatile("fsflags zero");
    st = csr_read(mstatus);
    pr("initial + fsflags FS=%lu SD=%lu\n", (st >> 13) & 3, st >> 63);
    csr_set(mstatus, MSTATUS_FS);
    st = csr_read(mstatus);
    pr("dirty FS=%lu SD=%lu\n", (st >> 13) & 3, st >> 63);
}

int main(void)
{
    u64 fl, r;
    pr("# rv64f\n");
    for (unsigned i = 0; i < NFV; i++)
        pr("val %u %08x\n", i, fv[i]);
    for (unsigned k = 0; k < ARRAY_SIZE(bin); k++)
        for (unsigned i = 0; i < NFV; i++)
            for (unsigned j = 0; j < NFV; j++) {
                r = bin[k].fn(FBOX(fv[i]), FBOX(fv[j]), &fl);
                pr("%s %u %u %p %02lx\n", bin[k].name, i, j, r, fl);
            }
    for (unsigned k = 0; k < ARRAY_SIZE(tri); k++)
        for (unsigned i = 0; i < ARRAY_SIZE(fma_idx); i++)
            for (unsigned j = 0; j < ARRAY_SIZE(fma_idx); j++)
                for (unsigned l = 0; l < ARRAY_SIZE(fma_idx); l++) {
                    unsigned a = fma_idx[i], b = fma_idx[j], c = fma_idx[l];
                    r = tri[k].fn(FBOX(fv[a]), FBOX(fv[b]), FBOX(fv[c]), &fl);
                    pr("%s %u %u %u %p %02lx\n", tri[k].name, a, b, c, r, fl);
                }
    for (unsigned k = 0; k < ARRAY_SIZE(un); k++)
        for (unsigned i = 0; i < NFV; i++) {
            r = un[k].fn(FBOX(fv[i]), &fl);
            pr("%s %u %p %02lx\n", un[k].name, i, r, fl);
        }
    for (unsigned k = 0; k < ARRAY_SIZE(cvt_ops); k++)
        for (unsigned i = 0; i < ARRAY_SIZE(cvt_in); i++) {
            r = cvt_ops[k].fn(FBOX(cvt_in[i]), &fl);
            pr("%s %08x %p %02lx\n", cvt_ops[k].name, cvt_in[i], r, fl);
        }
    for (unsigned k = 0; k < ARRAY_SIZE(from_int); k++)
        for (unsigned i = 0; i < ARRAY_SIZE(int_in); i++) {
            r = from_int[k].fn(int_in[i], &fl);
            pr("%s %p %p %02lx\n", from_int[k].name, int_in[i], r, fl);
        }
    nan_boxing();
    loads_stores();
    accrual();
    fs_states();
    return 0;
}
