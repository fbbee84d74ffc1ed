/* SPDX-License-Identifier: MIT */
/*
 * fp-rounding: all five rounding modes (RNE, RTZ, RDN, RUP, RMM), both as the static
 * rm field and through frm (dyn), on operations whose exact result is a tie, just above
 * or below a tie, overflows or underflows, for single and double: fadd/fsub/fmul/fdiv/
 * fsqrt/fmadd, fcvt to and from integers, fcvt.s.d. Every line ends with fflags.
 * Also the fcsr/frm/fflags CSR views and illegal rounding modes (static 5/6, frm 5-7).
 */
#include "fp.h"

/* One function per (instruction, rounding mode): static rm field. */
#define RM_SET(mac, fn, insn, operands)                                                   \
    mac(fn##_rne, insn " " operands ", rne") mac(fn##_rtz, insn " " operands ", rtz")     \
        mac(fn##_rdn, insn " " operands ", rdn") mac(fn##_rup, insn " " operands ", rup") \
            mac(fn##_rmm, insn " " operands ", rmm") mac(fn##_dyn, insn " " operands ", dyn")

RM_SET(FOP2, fadds, "fadd.s", "ft2, ft0, ft1")
RM_SET(FOP2, fsubs, "fsub.s", "ft2, ft0, ft1")
RM_SET(FOP2, fmuls, "fmul.s", "ft2, ft0, ft1")
RM_SET(FOP2, fdivs, "fdiv.s", "ft2, ft0, ft1")
RM_SET(FOP1, fsqrts, "fsqrt.s", "ft2, ft0")
RM_SET(FOP3, fmadds, "fmadd.s", "ft2, ft0, ft1, ft3")
RM_SET(FOP3, fnmsubs, "fnmsub.s", "ft2, ft0, ft1, ft3")
RM_SET(FTOX, fcvtws, "fcvt.w.s", "%0, ft0")
RM_SET(FTOX, fcvtwus, "fcvt.wu.s", "%0, ft0")
RM_SET(FTOX, fcvtls, "fcvt.l.s", "%0, ft0")
RM_SET(XTOF, fcvtsl, "fcvt.s.l", "ft2, %2")
RM_SET(XTOF, fcvtsw, "fcvt.s.w", "ft2, %2")
RM_SET(XTOF, fcvtslu, "fcvt.s.lu", "ft2, %2")
RM_SET(FOP2, faddd, "fadd.d", "ft2, ft0, ft1")
RM_SET(FOP2, fmuld, "fmul.d", "ft2, ft0, ft1")
RM_SET(FOP2, fdivd, "fdiv.d", "ft2, ft0, ft1")
RM_SET(FOP1, fsqrtd, "fsqrt.d", "ft2, ft0")
RM_SET(FOP3, fmaddd, "fmadd.d", "ft2, ft0, ft1, ft3")
RM_SET(FTOX, fcvtld, "fcvt.l.d", "%0, ft0")
RM_SET(FTOX, fcvtwd, "fcvt.w.d", "%0, ft0")
RM_SET(FTOX, fcvtlud, "fcvt.lu.d", "%0, ft0")
RM_SET(XTOF, fcvtdl, "fcvt.d.l", "ft2, %2")
RM_SET(FOP1, fcvtsd, "fcvt.s.d", "ft2, ft0")

#define FN6(fn)                                                    \
    {                                                              \
        fn##_rne, fn##_rtz, fn##_rdn, fn##_rup, fn##_rmm, fn##_dyn \
    }

struct case2 {
    u64 a, b;
};
struct case3 {
    u64 a, b, c;
};

#define S(x) FBOX(x)
/* single-precision binary cases: ties, near-ties, overflow, underflow, signs */
static const struct case2 add_s[] = {
    { S(0x3f800000), S(0x33800000) }, /* 1 + 2^-24: exact tie, even below */
    { S(0x3f800001), S(0x33800000) }, /* tie, odd below: RNE rounds up */
    { S(0xbf800000), S(0xb3800000) }, /* negative tie */
    { S(0x3f800000), S(0x33c00000) }, /* 1 + 1.5*2^-24: above tie */
    { S(0x3f800000), S(0x33000000) }, /* 1 + 2^-25: below tie */
    { S(0xbf800001), S(0xb3800000) }, /* negative tie, odd */
    { S(0x7f7fffff), S(0x73800000) }, /* max + half ulp: overflow tie */
    { S(0xff7fffff), S(0xf3800000) }, /* -max - half ulp */
    { S(0x3f800000), S(0xbf800000) }, /* x - x: +0 except RDN -0 */
    { S(0x00000001), S(0x80000001) }, /* tiny x - x */
    { S(0x40400000), S(0x33800000) }, /* 3 + 2^-24: inexact, not a tie */
};
static const struct case2 mul_s[] = {
    { S(0x3f800001), S(0x3f800001) }, /* (1+2^-23)^2 : inexact */
    { S(0x3fc00000), S(0x3f800001) }, /* 1.5*(1+2^-23): tie */
    { S(0x00800000), S(0x3f000000) }, /* min normal / 2: exact subnormal */
    { S(0x00000001), S(0x3f000000) }, /* min sub / 2: underflow tie to 0 */
    { S(0x00000001), S(0x3f400000) }, /* min sub * 0.75 */
    { S(0x80000003), S(0x3f000000) }, /* -3 sub / 2: tie */
    { S(0x7f000000), S(0x40000000) }, /* overflow */
    { S(0xff000000), S(0x40000000) }, /* negative overflow */
    { S(0x00ffffff), S(0x3f000000) }, /* halves into the subnormal range, tie */
};
static const struct case2 div_s[] = {
    { S(0x3f800000), S(0x40400000) }, /* 1/3 */
    { S(0xbf800000), S(0x40400000) }, /* -1/3 */
    { S(0x40000000), S(0x40400000) }, /* 2/3 */
    { S(0x00000001), S(0x40000000) }, /* underflow tie */
    { S(0x7f7fffff), S(0x3f000000) }, /* overflow */
    { S(0x3f800000), S(0x00000000) }, /* DZ */
    { S(0x00000003), S(0x40000000) }, /* 1.5 sub: tie */
};
static const u64 sqrt_s[] = { S(0x40000000), S(0x40400000), S(0x3f800001), S(0x00000002),
                              S(0x7f7fffff) };
static const struct case3 fma_s[] = {
    { S(0x3f800001), S(0x3f800001), S(0xbf800000) }, /* exact small product part */
    { S(0x3f800000), S(0x3f800000), S(0x33800000) }, /* 1*1 + 2^-24 tie */
    { S(0x3f800001), S(0x3f800000), S(0x33800000) }, /* odd tie */
    { S(0xbf800000), S(0x3f800000), S(0xb3800000) }, /* negative tie */
    { S(0x7f7fffff), S(0x40000000), S(0xff7fffff) }, /* overflow in the product only */
    { S(0x3f800000), S(0x3f800000), S(0xbf800000) }, /* exact zero: sign per mode */
    { S(0x00000001), S(0x3f000000), S(0x00000000) }, /* underflow tie */
};
static const u64 to_int_s[] = {
    S(0x3f000000), S(0xbf000000), S(0x3fc00000), S(0xbfc00000), S(0x40200000), S(0xc0200000),
    S(0x40600000), S(0xc0600000), S(0x401ccccd), S(0xc01ccccd), S(0x3f400000), S(0xbf400000),
    S(0x4effffff), S(0x4f000000), S(0xcf000000), S(0x3e800000), S(0xbe800000),
};
static const u64 from_int_s[] = {
    0x0000000001000001ul, 0x0000000001000003ul, 0xfffffffffefffffful, 0xfffffffffefffffdul,
    0x0000000001000002ul, 0x000000007ffffffful, 0x7ffffffffffffffful, 0x8000000000000001ul,
    0xfffffffffffffffful, 0x0000000002000006ul, 0x00000000ffffffc0ul,
};
#define D(x) (x)
static const struct case2 add_d[] = {
    { 0x3ff0000000000000ul, 0x3ca0000000000000ul },  /* 1 + 2^-53 tie */
    { 0x3ff0000000000001ul, 0x3ca0000000000000ul },  /* odd tie */
    { 0xbff0000000000000ul, 0xbca0000000000000ul },  /* negative tie */
    { 0x3ff0000000000000ul, 0x3ca8000000000000ul },  /* above tie */
    { 0x7fefffffffffffffull, 0x7c90000000000000ul }, /* overflow tie */
    { 0x3ff0000000000000ul, 0xbff0000000000000ul },  /* x - x */
};
static const struct case2 mul_d[] = {
    { 0x3ff8000000000000ul, 0x3ff0000000000001ul }, /* tie */
    { 0x0000000000000001ul, 0x3fe0000000000000ul }, /* underflow tie */
    { 0x8000000000000003ul, 0x3fe0000000000000ul }, /* negative tie */
    { 0x7fe0000000000000ul, 0x4000000000000000ul }, /* overflow */
};
static const struct case2 div_d[] = {
    { 0x3ff0000000000000ul, 0x4008000000000000ul },
    { 0xbff0000000000000ul, 0x4008000000000000ul },
    { 0x4000000000000000ul, 0x4008000000000000ul },
};
static const u64 sqrt_d[] = { 0x4000000000000000ul, 0x4008000000000000ul, 0x0000000000000002ul };
static const struct case3 fma_d[] = {
    { 0x3ff0000000000000ul, 0x3ff0000000000000ul, 0x3ca0000000000000ul },
    { 0x3ff0000000000001ul, 0x3ff0000000000001ul, 0xbff0000000000000ul },
    { 0x3ff0000000000000ul, 0x3ff0000000000000ul, 0xbff0000000000000ul },
};
static const u64 to_int_d[] = {
    0x3fe0000000000000ul, 0xbfe0000000000000ul, 0x3ff8000000000000ul, 0xbff8000000000000ul,
    0x4004000000000000ul, 0xc004000000000000ul, 0x400c000000000000ul, 0xc00c000000000000ul,
    0x41dfffffffe00000ul, 0xc1e0000000100000ul, 0x41effffffff00000ul, 0x43dffffffffffffful,
    0x3fd0000000000000ul, 0xbfd0000000000000ul,
};
static const u64 from_int_d[] = {
    0x0020000000000001ul, 0x0020000000000003ul, 0xffdffffffffffffful,
    0x7ffffffffffffffful, 0x8000000000000001ul, 0x0040000000000006ul,
};
static const u64 narrow[] = {
    0x3ff0000010000000ul, 0x3ff0000030000000ul, 0xbff0000010000000ul, 0x3ff0000010000001ul,
    0x47effffff0000000ul, 0xc7effffff0000000ul, 0x3690000000000000ul, 0xb690000000000000ul,
    0x380ffffff0000000ul, 0x3fd5555555555555ul,
};

static void run2(const char *name, const fop2_t fns[6], const struct case2 *c, unsigned n)
{
    u64 fl, r;
    for (unsigned i = 0; i < n; i++) {
        pr("%s %u", name, i);
        for (unsigned m = 0; m < 5; m++) {
            r = fns[m](c[i].a, c[i].b, &fl);
            pr(" %s=%p/%02lx", rm_names[m], r, fl);
        }
        pr("\n");
        /* same through frm */
        pr("%s %u dyn", name, i);
        for (unsigned m = 0; m < 5; m++) {
            fp_set_frm(m);
            r = fns[5](c[i].a, c[i].b, &fl);
            pr(" %p/%02lx", r, fl);
        }
        fp_set_frm(0);
        pr("\n");
    }
}

static void run1(const char *name, const fop1_t fns[6], const u64 *c, unsigned n)
{
    u64 fl, r;
    for (unsigned i = 0; i < n; i++) {
        pr("%s %p", name, c[i]);
        for (unsigned m = 0; m < 5; m++) {
            r = fns[m](c[i], &fl);
            pr(" %s=%p/%02lx", rm_names[m], r, fl);
        }
        pr("\n");
        pr("%s %p dyn", name, c[i]);
        for (unsigned m = 0; m < 5; m++) {
            fp_set_frm(m);
            r = fns[5](c[i], &fl);
            pr(" %p/%02lx", r, fl);
        }
        fp_set_frm(0);
        pr("\n");
    }
}

static void run3(const char *name, const fop3_t fns[6], const struct case3 *c, unsigned n)
{
    u64 fl, r;
    for (unsigned i = 0; i < n; i++) {
        pr("%s %u", name, i);
        for (unsigned m = 0; m < 5; m++) {
            r = fns[m](c[i].a, c[i].b, c[i].c, &fl);
            pr(" %s=%p/%02lx", rm_names[m], r, fl);
        }
        pr("\n");
        pr("%s %u dyn", name, i);
        for (unsigned m = 0; m < 5; m++) {
            fp_set_frm(m);
            r = fns[5](c[i].a, c[i].b, c[i].c, &fl);
            pr(" %p/%02lx", r, fl);
        }
        fp_set_frm(0);
        pr("\n");
    }
}

static const fop2_t t_fadds[6] = FN6(fadds), t_fsubs[6] = FN6(fsubs), t_fmuls[6] = FN6(fmuls),
                    t_fdivs[6] = FN6(fdivs), t_faddd[6] = FN6(faddd), t_fmuld[6] = FN6(fmuld),
                    t_fdivd[6] = FN6(fdivd);
static const fop1_t t_fsqrts[6] = FN6(fsqrts), t_fcvtws[6] = FN6(fcvtws),
                    t_fcvtwus[6] = FN6(fcvtwus), t_fcvtls[6] = FN6(fcvtls),
                    t_fcvtsl[6] = FN6(fcvtsl), t_fcvtsw[6] = FN6(fcvtsw),
                    t_fcvtslu[6] = FN6(fcvtslu), t_fsqrtd[6] = FN6(fsqrtd),
                    t_fcvtld[6] = FN6(fcvtld), t_fcvtwd[6] = FN6(fcvtwd),
                    t_fcvtlud[6] = FN6(fcvtlud), t_fcvtdl[6] = FN6(fcvtdl),
                    t_fcvtsd[6] = FN6(fcvtsd);
static const fop3_t t_fmadds[6] = FN6(fmadds), t_fnmsubs[6] = FN6(fnmsubs),
                    t_fmaddd[6] = FN6(fmaddd);

static void csr_views(void)
{
    u64 a, b, c;
    asm volatile("csrw fcsr, %0" ::"r"(0xfffffffful));
    a = csr_read(fcsr);
    b = csr_read(frm);
    c = csr_read(fflags);
    pr("fcsr all-ones: fcsr=%lx frm=%lx fflags=%lx\n", a, b, c);
    asm volatile("csrw frm, %0" ::"r"(0x2ul));
    asm volatile("csrw fflags, %0" ::"r"(0x25ul));
    pr("frm=2 fflags=0x25: fcsr=%lx\n", csr_read(fcsr));
    asm volatile("fsrmi %0, 4" : "=r"(a));
    asm volatile("fsflagsi %0, 0x3" : "=r"(b));
    pr("fsrmi old=%lx fsflagsi old=%lx fcsr=%lx\n", a, b, csr_read(fcsr));
    asm volatile("csrsi fflags, 0x18\n csrci frm, 0x4");
    pr("csrsi/csrci fcsr=%lx\n", csr_read(fcsr));
    asm volatile("fscsr %0, %1" : "=r"(a) : "r"(0x1234ul));
    pr("fscsr old=%lx new=%lx\n", a, csr_read(fcsr));
    csr_write(fcsr, 0);
}

static void illegal_rm(void)
{
    g_expect = 1;
    /* static rm = 5 and 6 are reserved: illegal instruction */
    trap_reset();
    asm volatile(".insn r 0x53, 5, 0x00, ft2, ft0, ft1"); /* fadd.s rm=5 */
    trap_print("fadd.s rm=5", 0);
    trap_reset();
    asm volatile(".insn r 0x53, 6, 0x01, ft2, ft0, ft1"); /* fadd.d rm=6 */
    trap_print("fadd.d rm=6", 0);
    trap_reset();
    asm volatile(".insn r 0x53, 5, 0x60, a0, ft0, f0" ::: "a0"); /* fcvt.w.s rm=5 */
    trap_print("fcvt.w.s rm=5", 0);
    /* dynamic with an invalid frm */
    for (unsigned m = 5; m < 8; m++) {
        fp_set_frm(m);
        trap_reset();
        asm volatile("fmul.d ft2, ft0, ft1, dyn");
        pr("frm=%u ", m);
        trap_print("fmul.d dyn", 0);
        trap_reset();
        asm volatile("fmadd.s ft2, ft0, ft1, ft3, dyn");
        pr("frm=%u ", m);
        trap_print("fmadd.s dyn", 0);
        /* instructions without rounding are unaffected */
        trap_reset();
        asm volatile("fsgnj.d ft2, ft0, ft1\n fmv.x.d a0, ft2\n flt.s a0, ft0, ft1" ::: "a0");
        pr("frm=%u ", m);
        trap_print("fsgnj/fmv/flt", 0);
        pr("frm=%u readback %lx\n", m, csr_read(frm));
    }
    fp_set_frm(0);
    g_expect = 0;
}

int main(void)
{
    pr("# fp-rounding\n");
    csr_write(fcsr, 0);
    run2("fadd.s", t_fadds, add_s, ARRAY_SIZE(add_s));
    run2("fsub.s", t_fsubs, add_s, ARRAY_SIZE(add_s));
    run2("fmul.s", t_fmuls, mul_s, ARRAY_SIZE(mul_s));
    run2("fdiv.s", t_fdivs, div_s, ARRAY_SIZE(div_s));
    run1("fsqrt.s", t_fsqrts, sqrt_s, ARRAY_SIZE(sqrt_s));
    run3("fmadd.s", t_fmadds, fma_s, ARRAY_SIZE(fma_s));
    run3("fnmsub.s", t_fnmsubs, fma_s, ARRAY_SIZE(fma_s));
    run1("fcvt.w.s", t_fcvtws, to_int_s, ARRAY_SIZE(to_int_s));
    run1("fcvt.wu.s", t_fcvtwus, to_int_s, ARRAY_SIZE(to_int_s));
    run1("fcvt.l.s", t_fcvtls, to_int_s, ARRAY_SIZE(to_int_s));
    run1("fcvt.s.l", t_fcvtsl, from_int_s, ARRAY_SIZE(from_int_s));
    run1("fcvt.s.w", t_fcvtsw, from_int_s, ARRAY_SIZE(from_int_s));
    run1("fcvt.s.lu", t_fcvtslu, from_int_s, ARRAY_SIZE(from_int_s));
    run2("fadd.d", t_faddd, add_d, ARRAY_SIZE(add_d));
    run2("fmul.d", t_fmuld, mul_d, ARRAY_SIZE(mul_d));
    run2("fdiv.d", t_fdivd, div_d, ARRAY_SIZE(div_d));
    run1("fsqrt.d", t_fsqrtd, sqrt_d, ARRAY_SIZE(sqrt_d));
    run3("fmadd.d", t_fmaddd, fma_d, ARRAY_SIZE(fma_d));
    run1("fcvt.l.d", t_fcvtld, to_int_d, ARRAY_SIZE(to_int_d));
    run1("fcvt.w.d", t_fcvtwd, to_int_d, ARRAY_SIZE(to_int_d));
    run1("fcvt.lu.d", t_fcvtlud, to_int_d, ARRAY_SIZE(to_int_d));
    run1("fcvt.d.l", t_fcvtdl, from_int_d, ARRAY_SIZE(from_int_d));
    run1("fcvt.s.d", t_fcvtsd, narrow, ARRAY_SIZE(narrow));
    csr_views();
    illegal_rm();
    return 0;
}
