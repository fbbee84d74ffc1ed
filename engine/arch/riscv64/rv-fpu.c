/* SPDX-License-Identifier: MIT */
/*
 * RISC-V F/D arithmetic helpers, bit-exact with the unprivileged spec.
 *
 * Two implementations of the rounding operations:
 *
 *  - An exact software one (the "soft path"): operands are unpacked to sign, exponent and
 *    integer significand, the exact result (or, for div/sqrt, a quotient/root with at least
 *    ten extra bits plus a sticky remainder flag) is formed in 128-bit integers and rounded
 *    once by fp_round_pack(), which handles all five rounding modes, subnormals, overflow
 *    and RISC-V's after-rounding tininess. Conversions, RMM and non-x86 hosts always use it.
 *
 *  - On x86-64, add/sub/mul/div/sqrt/fma in RNE/RTZ/RDN/RUP run as one SSE/FMA3 instruction
 *    (FMA3 only if the CPU has it, else the soft path) inside an asm block that loads its own
 *    MXCSR (rounding control, all exceptions masked, DAZ/FTZ off, flags clear), reads the
 *    flags back and restores the caller's MXCSR. SSE implements IEEE 754 with tininess
 *    detected after rounding and, with UM masked, sets UE only for tiny *inexact* results:
 *    the same rules as RISC-V (checked by tests/unit/test-rv-fpu.c against an independent
 *    exact reference). Fix-ups: NaN results become the canonical NaN, and fma(inf, 0, qNaN)
 *    raises NV (x86 leaves it unflagged). A fast path skips the MXCSR round trip in the
 *    common case (RNE with NX already accrued, result normal and finite; see fp_arith()).
 *
 * The host operations are asm statements on bit patterns, never C floating-point
 * expressions, so the compiler cannot move them across the MXCSR accesses.
 *
 * -DRV_FPU_NO_HOST builds the portable configuration (soft path only) on x86-64 too.
 */
#include "arch/riscv64/rv-fpu.h"

#include <string.h>

#include "arch/riscv64/rv-cpu.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(RV_FPU_NO_HOST)
#define RV_FPU_HOST 1
#endif

typedef unsigned __int128 u128;

/* ------------------------------------------------------------------------------------ */
/* Formats and unpacking                                                                 */

typedef struct FpFmt {
    int p;            /* significand bits including the hidden bit */
    int bias;         /* exponent bias (= emax) */
    int emin;         /* 1 - bias */
    uint64_t expmask; /* exponent field, all ones, unshifted */
    uint64_t sign;    /* sign bit */
    uint64_t max;     /* largest finite magnitude */
    uint64_t inf;     /* +infinity */
    uint64_t qnan;    /* canonical NaN */
} FpFmt;

static const FpFmt fmt_s = {
    .p = 24,
    .bias = 127,
    .emin = -126,
    .expmask = 0xff,
    .sign = 0x80000000u,
    .max = 0x7f7fffffu,
    .inf = 0x7f800000u,
    .qnan = 0x7fc00000u,
};
static const FpFmt fmt_d = {
    .p = 53,
    .bias = 1023,
    .emin = -1022,
    .expmask = 0x7ff,
    .sign = 0x8000000000000000ull,
    .max = 0x7fefffffffffffffull,
    .inf = 0x7ff0000000000000ull,
    .qnan = 0x7ff8000000000000ull,
};

enum { FC_ZERO, FC_FINITE, FC_INF, FC_QNAN, FC_SNAN };

/* A finite nonzero value is (-1)^sign * m * 2^e. */
typedef struct FpVal {
    int cls;
    int sign;
    int e;
    uint64_t m;
} FpVal;

static inline FpVal fp_unpack(const FpFmt *f, uint64_t x)
{
    int mb = f->p - 1;
    uint64_t frac = x & ((1ull << mb) - 1);
    uint64_t ef = (x >> mb) & f->expmask;
    FpVal v = { FC_FINITE, (x & f->sign) != 0, 0, 0 };

    if (ef == f->expmask) {
        if (frac == 0)
            v.cls = FC_INF;
        else
            v.cls = (frac >> (mb - 1)) & 1 ? FC_QNAN : FC_SNAN;
    } else if (ef == 0) {
        if (frac == 0) {
            v.cls = FC_ZERO;
        } else {
            v.m = frac;
            v.e = f->emin - mb;
        }
    } else {
        v.m = frac | (1ull << mb);
        v.e = (int)ef - f->bias - mb;
    }
    return v;
}

static inline bool fp_is_nan(const FpFmt *f, uint64_t x)
{
    return (x & ~f->sign) > f->inf;
}

static inline bool fp_is_snan(const FpFmt *f, uint64_t x)
{
    return fp_is_nan(f, x) && !(x & (1ull << (f->p - 2)));
}

static inline int clz128(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64);
    return hi ? __builtin_clzll(hi) : 64 + __builtin_clzll((uint64_t)x);
}

/* ------------------------------------------------------------------------------------ */
/* Rounding                                                                              */

/* Whether to add one ulp to the truncated magnitude. gt/eq: the discarded part is more
 * than / exactly half an ulp; nz: it is nonzero. */
static inline bool round_up(int rm, int sign, bool odd, bool gt, bool eq, bool nz)
{
    switch (rm) {
    case RV_RM_RNE: return gt || (eq && odd);
    case RV_RM_RMM: return gt || eq;
    case RV_RM_RDN: return nz && sign;
    case RV_RM_RUP: return nz && !sign;
    default: /* RTZ */ return false;
    }
}

/*
 * Round (-1)^sign * (m + frac) * 2^e to format f, where frac is 0 if !st and strictly
 * between 0 and 1 if st. When st is set, m must have at least one bit below the final
 * rounding position (every caller passes >= 64 significant bits). m == 0 (and !st) gives a
 * zero of the given sign. Accumulates NX/UF/OF into *fl.
 */
static uint64_t fp_round_pack(const FpFmt *f, int sign, int e, u128 m, bool st, int rm,
                              unsigned *fl)
{
    uint64_t sbit = sign ? f->sign : 0;
    if (m == 0)
        return sbit;

    /* Normalise so that the leading one is bit 125. */
    int n = 128 - clz128(m);
    if (n < 126) {
        m <<= 126 - n;
        e -= 126 - n;
    } else if (n > 126) {
        int sh = n - 126;
        st |= (m & (((u128)1 << sh) - 1)) != 0;
        m >>= sh;
        e += sh;
    }
    int E = e + 125; /* value in [2^E, 2^(E+1)) */
    int ebase = E >= f->emin ? E : f->emin;
    int d = ebase - (f->p - 1) - e; /* bits to discard: >= 126 - p */

    uint64_t q;
    bool gt, eq, nz;
    if (d >= 127) { /* everything is below half an ulp */
        q = 0;
        gt = eq = false;
        nz = true;
    } else {
        u128 half = (u128)1 << (d - 1);
        u128 rem = m & ((half << 1) - 1);
        q = (uint64_t)(m >> d);
        gt = rem > half || (rem == half && st);
        eq = rem == half && !st;
        nz = rem != 0 || st;
    }

    if (nz) {
        *fl |= RV_FFLAG_NX;
        if (E < f->emin) {
            /* Tiny after rounding: rounded to p bits with an unbounded exponent, the result
             * is still below 2^emin. Only E == emin - 1 can round up to 2^emin. */
            bool tiny = true;
            if (E == f->emin - 1) {
                int d2 = d - 1;
                u128 h2 = (u128)1 << (d2 - 1);
                u128 r2 = m & ((h2 << 1) - 1);
                uint64_t q2 = (uint64_t)(m >> d2);
                bool g2 = r2 > h2 || (r2 == h2 && st);
                bool e2 = r2 == h2 && !st, n2 = r2 != 0 || st;
                if (q2 + round_up(rm, sign, q2 & 1, g2, e2, n2) == 1ull << f->p)
                    tiny = false;
            }
            if (tiny)
                *fl |= RV_FFLAG_UF;
        }
    }
    q += round_up(rm, sign, q & 1, gt, eq, nz);

    if (E <= f->bias) {
        /* The hidden bit of q adds one to the exponent field; a carry out of the
         * significand (or from the largest subnormal into the normals) propagates. */
        uint64_t bits = ((uint64_t)(ebase + f->bias - 1) << (f->p - 1)) + q;
        if ((bits >> (f->p - 1)) < f->expmask)
            return bits | sbit;
    }
    *fl |= RV_FFLAG_OF | RV_FFLAG_NX;
    bool to_inf = rm == RV_RM_RNE || rm == RV_RM_RMM || (rm == RV_RM_RUP && !sign) ||
                  (rm == RV_RM_RDN && sign);
    return (to_inf ? f->inf : f->max) | sbit;
}

/* Exact sum of two nonzero values (ma, mb < 2^107), rounded once. */
static uint64_t fp_add_finite(const FpFmt *f, int sa, int ea, u128 ma, int sb, int eb, u128 mb,
                              int rm, unsigned *fl)
{
    /* Leading ones at bit 124: leaves room for a carry and a 2-bit alignment shift. */
    int na = 125 - (128 - clz128(ma)), nb = 125 - (128 - clz128(mb));
    ma <<= na;
    ea -= na;
    mb <<= nb;
    eb -= nb;
    if (eb > ea || (eb == ea && mb > ma)) { /* make a the larger magnitude */
        int ts = sa, te = ea;
        u128 tm = ma;
        sa = sb, ea = eb, ma = mb;
        sb = ts, eb = te, mb = tm;
    }
    int diff = ea - eb;
    u128 M;
    bool st = false;
    if (diff <= 2) { /* exact: possible massive cancellation */
        ma <<= diff;
        ea = eb;
        M = sa == sb ? ma + mb : ma - mb;
        if (M == 0)
            return rm == RV_RM_RDN ? f->sign : 0;
    } else { /* b only shifts into the low bits; M keeps >= 123 significant bits */
        u128 small;
        if (diff >= 128) {
            small = 0;
            st = true;
        } else {
            small = mb >> diff;
            st = (mb & (((u128)1 << diff) - 1)) != 0;
        }
        /* a - (small + frac) = (a - small - 1) + (1 - frac) */
        M = sa == sb ? ma + small : ma - small - (st ? 1 : 0);
    }
    return fp_round_pack(f, sa, ea, M, st, rm, fl);
}

/* ------------------------------------------------------------------------------------ */
/* Software operations (operands and results are raw, unboxed bit patterns)              */

static inline bool nan_operands(const FpVal *x, const FpVal *y, unsigned *fl)
{
    if (x->cls == FC_SNAN || y->cls == FC_SNAN)
        *fl |= RV_FFLAG_NV;
    return x->cls >= FC_QNAN || y->cls >= FC_QNAN;
}

static uint64_t sf_add(const FpFmt *f, uint64_t a, uint64_t b, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(f, a), y = fp_unpack(f, b);
    if (nan_operands(&x, &y, fl))
        return f->qnan;
    if (x.cls == FC_INF) {
        if (y.cls == FC_INF && x.sign != y.sign) {
            *fl |= RV_FFLAG_NV;
            return f->qnan;
        }
        return a;
    }
    if (y.cls == FC_INF)
        return b;
    if (y.cls == FC_ZERO) {
        if (x.cls == FC_ZERO && x.sign != y.sign)
            return rm == RV_RM_RDN ? f->sign : 0;
        return a;
    }
    if (x.cls == FC_ZERO)
        return b;
    return fp_add_finite(f, x.sign, x.e, x.m, y.sign, y.e, y.m, rm, fl);
}

static uint64_t sf_mul(const FpFmt *f, uint64_t a, uint64_t b, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(f, a), y = fp_unpack(f, b);
    int sign = x.sign ^ y.sign;
    if (nan_operands(&x, &y, fl))
        return f->qnan;
    if ((x.cls == FC_INF && y.cls == FC_ZERO) || (x.cls == FC_ZERO && y.cls == FC_INF)) {
        *fl |= RV_FFLAG_NV;
        return f->qnan;
    }
    if (x.cls == FC_INF || y.cls == FC_INF)
        return f->inf | (sign ? f->sign : 0);
    if (x.cls == FC_ZERO || y.cls == FC_ZERO)
        return sign ? f->sign : 0;
    return fp_round_pack(f, sign, x.e + y.e, (u128)x.m * y.m, false, rm, fl);
}

static uint64_t sf_div(const FpFmt *f, uint64_t a, uint64_t b, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(f, a), y = fp_unpack(f, b);
    int sign = x.sign ^ y.sign;
    uint64_t sbit = sign ? f->sign : 0;
    if (nan_operands(&x, &y, fl))
        return f->qnan;
    if ((x.cls == FC_INF && y.cls == FC_INF) || (x.cls == FC_ZERO && y.cls == FC_ZERO)) {
        *fl |= RV_FFLAG_NV;
        return f->qnan;
    }
    if (x.cls == FC_INF)
        return f->inf | sbit;
    if (y.cls == FC_INF || x.cls == FC_ZERO)
        return sbit;
    if (y.cls == FC_ZERO) {
        *fl |= RV_FFLAG_DZ;
        return f->inf | sbit;
    }
    int sa = __builtin_clzll(x.m), sb = __builtin_clzll(y.m);
    uint64_t mb = y.m << sb;
    u128 n = (u128)(x.m << sa) << 64;
    u128 q = n / mb; /* in (2^63, 2^65): at least 11 bits beyond double precision */
    bool st = n % mb != 0;
    return fp_round_pack(f, sign, (x.e - sa) - 64 - (y.e - sb), q, st, rm, fl);
}

/* floor(sqrt(n)) and the remainder n - root^2, for n in [2^124, 2^126). */
static uint64_t isqrt128(u128 n, u128 *rem)
{
#ifdef RV_FPU_HOST
    /* A double-precision estimate (relative error ~2^-52) and one Newton step land within
     * one of the root; the integer loops make it exact whatever the host rounding mode or
     * MXCSR state (only the speed depends on the estimate). */
    double d = (double)n, sq;
    __asm__("sqrtsd {%1, %0|%0, %1}" : "=x"(sq) : "x"(d));
    uint64_t r = (uint64_t)sq;
    r = (uint64_t)(((u128)r + n / r) >> 1);
    while ((u128)r * r > n)
        r--;
    while ((u128)(r + 1) * (r + 1) <= n)
        r++;
    *rem = n - (u128)r * r;
    return r;
#else
    u128 res = 0, bit = (u128)1 << 126;
    while (bit > n)
        bit >>= 2;
    while (bit != 0) {
        if (n >= res + bit) {
            n -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    *rem = n;
    return (uint64_t)res;
#endif
}

static uint64_t sf_sqrt(const FpFmt *f, uint64_t a, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(f, a);
    if (x.cls >= FC_QNAN) {
        if (x.cls == FC_SNAN)
            *fl |= RV_FFLAG_NV;
        return f->qnan;
    }
    if (x.cls == FC_ZERO)
        return a; /* sqrt(-0) = -0 */
    if (x.sign) {
        *fl |= RV_FFLAG_NV;
        return f->qnan;
    }
    if (x.cls == FC_INF)
        return a;
    /* m * 2^e = (m << s) * 2^(e - s) with e - s even and m << s in [2^124, 2^126). */
    int s = 125 - (64 - __builtin_clzll(x.m));
    if ((x.e - s) & 1)
        s++;
    u128 rem;
    uint64_t r = isqrt128((u128)x.m << s, &rem); /* in [2^62, 2^63) */
    return fp_round_pack(f, 0, (x.e - s) / 2, r, rem != 0, rm, fl);
}

static uint64_t sf_fma(const FpFmt *f, uint64_t a, uint64_t b, uint64_t c, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(f, a), y = fp_unpack(f, b), z = fp_unpack(f, c);
    int sp = x.sign ^ y.sign;
    if (x.cls == FC_SNAN || y.cls == FC_SNAN || z.cls == FC_SNAN)
        *fl |= RV_FFLAG_NV;
    /* inf * 0 is invalid even when the addend is a quiet NaN. */
    if ((x.cls == FC_INF && y.cls == FC_ZERO) || (x.cls == FC_ZERO && y.cls == FC_INF)) {
        *fl |= RV_FFLAG_NV;
        return f->qnan;
    }
    if (x.cls >= FC_QNAN || y.cls >= FC_QNAN || z.cls >= FC_QNAN)
        return f->qnan;
    if (x.cls == FC_INF || y.cls == FC_INF) {
        if (z.cls == FC_INF && z.sign != sp) {
            *fl |= RV_FFLAG_NV;
            return f->qnan;
        }
        return f->inf | (sp ? f->sign : 0);
    }
    if (z.cls == FC_INF)
        return c;
    if (x.cls == FC_ZERO || y.cls == FC_ZERO) {
        if (z.cls == FC_ZERO && z.sign != sp)
            return rm == RV_RM_RDN ? f->sign : 0;
        return c;
    }
    u128 prod = (u128)x.m * y.m;
    if (z.cls == FC_ZERO)
        return fp_round_pack(f, sp, x.e + y.e, prod, false, rm, fl);
    return fp_add_finite(f, sp, x.e + y.e, prod, z.sign, z.e, z.m, rm, fl);
}

/* Float to float (exact for widening). */
static uint64_t sf_cvt(const FpFmt *to, const FpFmt *from, uint64_t a, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(from, a);
    uint64_t sbit = x.sign ? to->sign : 0;
    switch (x.cls) {
    case FC_SNAN: *fl |= RV_FFLAG_NV; return to->qnan;
    case FC_QNAN: return to->qnan;
    case FC_INF: return to->inf | sbit;
    case FC_ZERO: return sbit;
    default: return fp_round_pack(to, x.sign, x.e, x.m, false, rm, fl);
    }
}

/* Integer (sign and magnitude) to float. Zero converts to +0. */
static inline uint64_t sf_from_int(const FpFmt *f, int sign, uint64_t mag, int rm, unsigned *fl)
{
    return fp_round_pack(f, mag ? sign : 0, 0, mag, false, rm, fl);
}

/*
 * Float to a `width`-bit integer, saturating per the spec's conversion-domain table: NaN and
 * too-large positive values give the maximum, too-large negative values the minimum (0 for
 * unsigned), with NV only (no NX). The result is returned modulo 2^64 (the caller
 * sign-extends 32-bit results).
 */
static uint64_t sf_to_int(const FpFmt *f, uint64_t a, int rm, int width, bool is_signed,
                          unsigned *fl)
{
    FpVal x = fp_unpack(f, a);
    uint64_t pmax =
        is_signed ? (1ull << (width - 1)) - 1 : (width == 64 ? ~0ull : (1ull << width) - 1);
    uint64_t nmax = is_signed ? 1ull << (width - 1) : 0; /* largest negative magnitude */
    uint64_t q;
    bool nz = false;

    switch (x.cls) {
    case FC_QNAN:
    case FC_SNAN: *fl |= RV_FFLAG_NV; return pmax;
    case FC_INF: goto invalid;
    case FC_ZERO: return 0;
    default: break;
    }
    if (x.e >= 0) {
        if (x.e >= 64 || ((u128)x.m << x.e) >> 64)
            goto invalid;
        q = x.m << x.e;
    } else if (x.e < -64) { /* |a| < 2^-11: below half */
        q = round_up(rm, x.sign, false, false, false, true);
        nz = true;
    } else {
        int d = -x.e;
        u128 half = (u128)1 << (d - 1);
        u128 rem = x.m & ((half << 1) - 1);
        q = (uint64_t)((u128)x.m >> d);
        nz = rem != 0;
        q += round_up(rm, x.sign, q & 1, rem > half, rem == half, nz);
    }
    if (x.sign) {
        if (q > nmax)
            goto invalid;
        q = -q;
    } else if (q > pmax) {
        goto invalid;
    }
    if (nz)
        *fl |= RV_FFLAG_NX;
    return q;
invalid:
    *fl |= RV_FFLAG_NV;
    return x.sign ? -nmax : pmax;
}

/* ------------------------------------------------------------------------------------ */
/* Host path (x86-64 SSE / FMA3)                                                         */

#ifdef RV_FPU_HOST
static bool host_enabled = true;

/* MXCSR: all exceptions masked (0x1f80), DAZ/FTZ off, flags clear, RC per RISC-V mode. */
static const uint32_t mxcsr_for_rm[4] = {
    [RV_RM_RNE] = 0x1f80 | (0u << 13),
    [RV_RM_RTZ] = 0x1f80 | (3u << 13),
    [RV_RM_RDN] = 0x1f80 | (1u << 13),
    [RV_RM_RUP] = 0x1f80 | (2u << 13),
};

/* MXCSR flags IE(0) DE(1) ZE(2) OE(3) UE(4) PE(5) -> fflags (DE has no counterpart). */
#define MXF(i)                                                                  \
    (uint8_t)((((i)&0x01) ? RV_FFLAG_NV : 0) | (((i)&0x04) ? RV_FFLAG_DZ : 0) | \
              (((i)&0x08) ? RV_FFLAG_OF : 0) | (((i)&0x10) ? RV_FFLAG_UF : 0) | \
              (((i)&0x20) ? RV_FFLAG_NX : 0))
#define MXF4(i)  MXF(i), MXF((i) + 1), MXF((i) + 2), MXF((i) + 3)
#define MXF16(i) MXF4(i), MXF4((i) + 4), MXF4((i) + 8), MXF4((i) + 12)
static const uint8_t mxcsr_to_fflags[64] = { MXF16(0), MXF16(16), MXF16(32), MXF16(48) };
#undef MXF16
#undef MXF4
#undef MXF

/* One instruction `insn` under the guest rounding mode; `ops` is its operand list in AT&T
 * order and `iops` in Intel order. */
#define HOST_ASM(insn, ops, iops, outs, ...)                             \
    __asm__ volatile("stmxcsr %[old]\n\t"                                \
                     "ldmxcsr %[csr]\n\t" insn " {" ops "|" iops "}\n\t" \
                     "stmxcsr %[st]\n\t"                                 \
                     "ldmxcsr %[old]"                                    \
                     : outs, [old] "+m"(old_), [st] "=m"(st_)            \
                     : __VA_ARGS__, [csr] "m"(csr_))

#define DEF_HOST_BIN(name, insn, T, U)                                       \
    static inline U name(U a, U b, int rm, unsigned *fl)                     \
    {                                                                        \
        uint32_t csr_ = mxcsr_for_rm[rm], old_ = 0, st_;                     \
        T x, y;                                                              \
        U r;                                                                 \
        memcpy(&x, &a, sizeof(x));                                           \
        memcpy(&y, &b, sizeof(y));                                           \
        HOST_ASM(insn, "%[y], %[x]", "%[x], %[y]", [x] "+x"(x), [y] "x"(y)); \
        *fl |= mxcsr_to_fflags[st_ & 0x3f];                                  \
        memcpy(&r, &x, sizeof(r));                                           \
        return r;                                                            \
    }
DEF_HOST_BIN(host_add_s, "addss", float, uint32_t)
DEF_HOST_BIN(host_sub_s, "subss", float, uint32_t)
DEF_HOST_BIN(host_mul_s, "mulss", float, uint32_t)
DEF_HOST_BIN(host_div_s, "divss", float, uint32_t)
DEF_HOST_BIN(host_add_d, "addsd", double, uint64_t)
DEF_HOST_BIN(host_sub_d, "subsd", double, uint64_t)
DEF_HOST_BIN(host_mul_d, "mulsd", double, uint64_t)
DEF_HOST_BIN(host_div_d, "divsd", double, uint64_t)

#define DEF_HOST_SQRT(name, insn, T, U)                                      \
    static inline U name(U a, int rm, unsigned *fl)                          \
    {                                                                        \
        uint32_t csr_ = mxcsr_for_rm[rm], old_ = 0, st_;                     \
        T x, y;                                                              \
        U r;                                                                 \
        memcpy(&x, &a, sizeof(x));                                           \
        HOST_ASM(insn, "%[x], %[y]", "%[y], %[x]", [y] "=x"(y), [x] "x"(x)); \
        *fl |= mxcsr_to_fflags[st_ & 0x3f];                                  \
        memcpy(&r, &y, sizeof(r));                                           \
        return r;                                                            \
    }
DEF_HOST_SQRT(host_sqrt_s, "sqrtss", float, uint32_t)
DEF_HOST_SQRT(host_sqrt_d, "sqrtsd", double, uint64_t)

/* z = x * y + z */
#define DEF_HOST_FMA(name, insn, T, U)                                     \
    static inline U name(U a, U b, U c, int rm, unsigned *fl)              \
    {                                                                      \
        uint32_t csr_ = mxcsr_for_rm[rm], old_ = 0, st_;                   \
        T x, y, z;                                                         \
        U r;                                                               \
        memcpy(&x, &a, sizeof(x));                                         \
        memcpy(&y, &b, sizeof(y));                                         \
        memcpy(&z, &c, sizeof(z));                                         \
        HOST_ASM(insn, "%[y], %[x], %[z]",                                 \
                 "%[z], %[x], %[y]", [z] "+x"(z), [x] "x"(x), [y] "x"(y)); \
        *fl |= mxcsr_to_fflags[st_ & 0x3f];                                \
        memcpy(&r, &z, sizeof(r));                                         \
        return r;                                                          \
    }
DEF_HOST_FMA(host_fma_s, "vfmadd231ss", float, uint32_t)
DEF_HOST_FMA(host_fma_d, "vfmadd231sd", double, uint64_t)

/* Without touching MXCSR (the fast path). */
#define PLAIN_ASM(insn, ops, iops, outs, ...) \
    __asm__(insn " {" ops "|" iops "}" : outs : __VA_ARGS__)

#define DEF_PLAIN_BIN(name, insn, T, U)                                       \
    static inline U name(U a, U b)                                            \
    {                                                                         \
        T x, y;                                                               \
        U r;                                                                  \
        memcpy(&x, &a, sizeof(x));                                            \
        memcpy(&y, &b, sizeof(y));                                            \
        PLAIN_ASM(insn, "%[y], %[x]", "%[x], %[y]", [x] "+x"(x), [y] "x"(y)); \
        memcpy(&r, &x, sizeof(r));                                            \
        return r;                                                             \
    }
DEF_PLAIN_BIN(plain_add_s, "addss", float, uint32_t)
DEF_PLAIN_BIN(plain_sub_s, "subss", float, uint32_t)
DEF_PLAIN_BIN(plain_mul_s, "mulss", float, uint32_t)
DEF_PLAIN_BIN(plain_div_s, "divss", float, uint32_t)
DEF_PLAIN_BIN(plain_add_d, "addsd", double, uint64_t)
DEF_PLAIN_BIN(plain_sub_d, "subsd", double, uint64_t)
DEF_PLAIN_BIN(plain_mul_d, "mulsd", double, uint64_t)
DEF_PLAIN_BIN(plain_div_d, "divsd", double, uint64_t)

#define DEF_PLAIN_SQRT(name, insn, T, U)                                      \
    static inline U name(U a)                                                 \
    {                                                                         \
        T x, y;                                                               \
        U r;                                                                  \
        memcpy(&x, &a, sizeof(x));                                            \
        PLAIN_ASM(insn, "%[x], %[y]", "%[y], %[x]", [y] "=x"(y), [x] "x"(x)); \
        memcpy(&r, &y, sizeof(r));                                            \
        return r;                                                             \
    }
DEF_PLAIN_SQRT(plain_sqrt_s, "sqrtss", float, uint32_t)
DEF_PLAIN_SQRT(plain_sqrt_d, "sqrtsd", double, uint64_t)

#define DEF_PLAIN_FMA(name, insn, T, U)                                     \
    static inline U name(U a, U b, U c)                                     \
    {                                                                       \
        T x, y, z;                                                          \
        U r;                                                                \
        memcpy(&x, &a, sizeof(x));                                          \
        memcpy(&y, &b, sizeof(y));                                          \
        memcpy(&z, &c, sizeof(z));                                          \
        PLAIN_ASM(insn, "%[y], %[x], %[z]",                                 \
                  "%[z], %[x], %[y]", [z] "+x"(z), [x] "x"(x), [y] "x"(y)); \
        memcpy(&r, &z, sizeof(r));                                          \
        return r;                                                           \
    }
DEF_PLAIN_FMA(plain_fma_s, "vfmadd231ss", float, uint32_t)
DEF_PLAIN_FMA(plain_fma_d, "vfmadd231sd", double, uint64_t)

/*
 * Whether the calling thread's MXCSR is the IEEE default (RNE, exceptions masked, no
 * DAZ/FTZ), which the fast path relies on. stmxcsr is slow (microcoded), so a positive
 * answer is cached per thread: vCPU threads never change their MXCSR (the slow path
 * restores it). A thread started with FTZ/DAZ (e.g. -ffast-math startup code) simply never
 * takes the fast path.
 */
static __thread bool host_env_is_default __attribute__((tls_model("initial-exec")));

static inline bool host_env_default(void)
{
    if (__builtin_expect(host_env_is_default, 1))
        return true;
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    host_env_is_default = (m & 0xffc0) == 0x1f80;
    return host_env_is_default;
}

static inline bool host_ok(int rm)
{
    return rm != RV_RM_RMM && host_enabled;
}

static inline bool host_fma_ok(int rm)
{
    return host_ok(rm) && __builtin_cpu_supports("fma");
}
#else
static bool host_enabled = false;
#endif

bool rv_fpu_set_host_fpu(bool enable)
{
    bool old = host_enabled;
#ifdef RV_FPU_HOST
    host_enabled = enable;
#else
    (void)enable;
#endif
    return old;
}

/* ------------------------------------------------------------------------------------ */
/* Dispatch                                                                              */

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_SQRT, OP_FMA };

static inline uint64_t canon(const FpFmt *f, uint64_t r)
{
    return fp_is_nan(f, r) ? f->qnan : r;
}

/* A rounding operation on unboxed operands. */
static inline __attribute__((always_inline)) uint64_t
fp_arith(int op, bool dbl, uint64_t a, uint64_t b, uint64_t c, int rm, bool nx_set, unsigned *fl)
{
    const FpFmt *f = dbl ? &fmt_d : &fmt_s;
#ifdef RV_FPU_HOST
    if (op == OP_FMA ? host_fma_ok(rm) : host_ok(rm)) {
        uint64_t r;
        /*
         * Fast path (as QEMU's hardfloat): in RNE with NX already accrued, one plain SSE
         * instruction in the thread's default environment suffices when the result is
         * finite and above the smallest normal: NaN results (invalid, NaN operands), inf
         * (overflow, divide by zero) and results <= 2^emin (possible underflow; rounding is
         * monotonic, so a larger result means the exact value was not tiny) go the slow
         * way, and NX is the only other flag an operation can raise.
         */
        if (rm == RV_RM_RNE && nx_set && host_env_default()) {
            switch (op) {
            case OP_ADD: r = dbl ? plain_add_d(a, b) : plain_add_s((uint32_t)a, (uint32_t)b); break;
            case OP_SUB: r = dbl ? plain_sub_d(a, b) : plain_sub_s((uint32_t)a, (uint32_t)b); break;
            case OP_MUL: r = dbl ? plain_mul_d(a, b) : plain_mul_s((uint32_t)a, (uint32_t)b); break;
            case OP_DIV: r = dbl ? plain_div_d(a, b) : plain_div_s((uint32_t)a, (uint32_t)b); break;
            case OP_SQRT: r = dbl ? plain_sqrt_d(a) : plain_sqrt_s((uint32_t)a); break;
            default:
                r = dbl ? plain_fma_d(a, b, c) : plain_fma_s((uint32_t)a, (uint32_t)b, (uint32_t)c);
                break;
            }
            uint64_t mag = r & ~f->sign;
            if (mag > (1ull << (f->p - 1)) && mag < f->inf)
                return r;
        }
        switch (op) {
        case OP_ADD:
            r = dbl ? host_add_d(a, b, rm, fl) : host_add_s((uint32_t)a, (uint32_t)b, rm, fl);
            break;
        case OP_SUB:
            r = dbl ? host_sub_d(a, b, rm, fl) : host_sub_s((uint32_t)a, (uint32_t)b, rm, fl);
            break;
        case OP_MUL:
            r = dbl ? host_mul_d(a, b, rm, fl) : host_mul_s((uint32_t)a, (uint32_t)b, rm, fl);
            break;
        case OP_DIV:
            r = dbl ? host_div_d(a, b, rm, fl) : host_div_s((uint32_t)a, (uint32_t)b, rm, fl);
            break;
        case OP_SQRT: r = dbl ? host_sqrt_d(a, rm, fl) : host_sqrt_s((uint32_t)a, rm, fl); break;
        default: {
            /* x86 does not flag inf * 0 + qNaN; RISC-V does. */
            uint64_t ma = a & ~f->sign, mbb = b & ~f->sign;
            if ((ma == f->inf && mbb == 0) || (ma == 0 && mbb == f->inf)) {
                *fl |= RV_FFLAG_NV;
                return f->qnan;
            }
            r = dbl ? host_fma_d(a, b, c, rm, fl)
                    : host_fma_s((uint32_t)a, (uint32_t)b, (uint32_t)c, rm, fl);
            break;
        }
        }
        return canon(f, r);
    }
#else
    (void)nx_set;
#endif
    switch (op) {
    case OP_ADD: return sf_add(f, a, b, rm, fl);
    case OP_SUB: return sf_add(f, a, b ^ f->sign, rm, fl);
    case OP_MUL: return sf_mul(f, a, b, rm, fl);
    case OP_DIV: return sf_div(f, a, b, rm, fl);
    case OP_SQRT: return sf_sqrt(f, a, rm, fl);
    default: return sf_fma(f, a, b, c, rm, fl);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Helpers                                                                               */

#define SGN_S 0x80000000ull
#define SGN_D 0x8000000000000000ull

static inline int get_rm(VsCpu *cpu, uint64_t rm)
{
    if (rm == RV_RM_DYN)
        rm = rv_cpu(cpu)->frm;
    if (__builtin_expect(rm > RV_RM_RMM, 0))
        rv_raise_exception(rv_cpu(cpu), RV_EXC_ILLEGAL_INSN, 0);
    return (int)rm;
}

/* A single-precision operand: improperly NaN-boxed values read as the canonical NaN. */
static inline uint64_t unbox(uint64_t v)
{
    return (v >> 32) == 0xffffffffu ? (v & 0xffffffffu) : 0x7fc00000u;
}

static inline uint64_t box(uint64_t v)
{
    return v | 0xffffffff00000000ull;
}

#define NX_SET(cpu) ((rv_cpu(cpu)->fflags & RV_FFLAG_NX) != 0)

static inline void accrue(VsCpu *cpu, unsigned fl)
{
    if (fl)
        rv_cpu(cpu)->fflags |= fl;
}

#define DEF_ARITH2(name, op)                                                          \
    uint64_t rv_##name##_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm)           \
    {                                                                                 \
        int m = get_rm(cpu, rm);                                                      \
        unsigned fl = 0;                                                              \
        uint64_t r = fp_arith(op, false, unbox(a), unbox(b), 0, m, NX_SET(cpu), &fl); \
        accrue(cpu, fl);                                                              \
        return box(r);                                                                \
    }                                                                                 \
    uint64_t rv_##name##_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm)           \
    {                                                                                 \
        int m = get_rm(cpu, rm);                                                      \
        unsigned fl = 0;                                                              \
        uint64_t r = fp_arith(op, true, a, b, 0, m, NX_SET(cpu), &fl);                \
        accrue(cpu, fl);                                                              \
        return r;                                                                     \
    }
DEF_ARITH2(fadd, OP_ADD)
DEF_ARITH2(fsub, OP_SUB)
DEF_ARITH2(fmul, OP_MUL)
DEF_ARITH2(fdiv, OP_DIV)

uint64_t rv_fsqrt_s(VsCpu *cpu, uint64_t a, uint64_t rm)
{
    int m = get_rm(cpu, rm);
    unsigned fl = 0;
    uint64_t r = fp_arith(OP_SQRT, false, unbox(a), 0, 0, m, NX_SET(cpu), &fl);
    accrue(cpu, fl);
    return box(r);
}

uint64_t rv_fsqrt_d(VsCpu *cpu, uint64_t a, uint64_t rm)
{
    int m = get_rm(cpu, rm);
    unsigned fl = 0;
    uint64_t r = fp_arith(OP_SQRT, true, a, 0, 0, m, NX_SET(cpu), &fl);
    accrue(cpu, fl);
    return r;
}

/* Fused ops negate operands (not the result): -(a*b) is (-a)*b, which matters for the
 * sign of exact-zero results. Negating a NaN is harmless (results are canonical). */
#define DEF_FMA(name, nega, negc)                                                                  \
    uint64_t rv_##name##_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t rm)            \
    {                                                                                              \
        int m = get_rm(cpu, rm);                                                                   \
        unsigned fl = 0;                                                                           \
        uint64_t r = fp_arith(OP_FMA, false, unbox(a) ^ ((nega) ? SGN_S : 0), unbox(b),            \
                              unbox(c) ^ ((negc) ? SGN_S : 0), m, NX_SET(cpu), &fl);               \
        accrue(cpu, fl);                                                                           \
        return box(r);                                                                             \
    }                                                                                              \
    uint64_t rv_##name##_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t rm)            \
    {                                                                                              \
        int m = get_rm(cpu, rm);                                                                   \
        unsigned fl = 0;                                                                           \
        uint64_t r = fp_arith(OP_FMA, true, a ^ ((nega) ? SGN_D : 0), b, c ^ ((negc) ? SGN_D : 0), \
                              m, NX_SET(cpu), &fl);                                                \
        accrue(cpu, fl);                                                                           \
        return r;                                                                                  \
    }
DEF_FMA(fmadd, 0, 0)
DEF_FMA(fmsub, 0, 1)
DEF_FMA(fnmsub, 1, 0)
DEF_FMA(fnmadd, 1, 1)

/* ---- min / max / compare ---- */

/* a < b for non-NaN values, optionally ordering -0 below +0. */
static inline bool fp_lt(const FpFmt *f, uint64_t a, uint64_t b, bool zero_ordered)
{
    bool sa = (a & f->sign) != 0, sb = (b & f->sign) != 0;
    if (sa != sb)
        return sa && (zero_ordered || ((a | b) & ~f->sign) != 0);
    return sa ? a > b : a < b;
}

static inline bool fp_eq(const FpFmt *f, uint64_t a, uint64_t b)
{
    return a == b || ((a | b) & ~f->sign) == 0;
}

static uint64_t fp_minmax(const FpFmt *f, uint64_t a, uint64_t b, bool is_max, unsigned *fl)
{
    bool an = fp_is_nan(f, a), bn = fp_is_nan(f, b);
    if (fp_is_snan(f, a) || fp_is_snan(f, b))
        *fl |= RV_FFLAG_NV;
    if (an && bn)
        return f->qnan;
    if (an)
        return b;
    if (bn)
        return a;
    return fp_lt(f, a, b, true) != is_max ? a : b;
}

#define DEF_MINMAX(name, is_max)                                         \
    uint64_t rv_##name##_s(VsCpu *cpu, uint64_t a, uint64_t b)           \
    {                                                                    \
        unsigned fl = 0;                                                 \
        uint64_t r = fp_minmax(&fmt_s, unbox(a), unbox(b), is_max, &fl); \
        accrue(cpu, fl);                                                 \
        return box(r);                                                   \
    }                                                                    \
    uint64_t rv_##name##_d(VsCpu *cpu, uint64_t a, uint64_t b)           \
    {                                                                    \
        unsigned fl = 0;                                                 \
        uint64_t r = fp_minmax(&fmt_d, a, b, is_max, &fl);               \
        accrue(cpu, fl);                                                 \
        return r;                                                        \
    }
DEF_MINMAX(fmin, false)
DEF_MINMAX(fmax, true)

enum { CMP_EQ, CMP_LT, CMP_LE };

static inline uint64_t fp_cmp(VsCpu *cpu, const FpFmt *f, uint64_t a, uint64_t b, int kind)
{
    if (fp_is_nan(f, a) || fp_is_nan(f, b)) {
        /* feq is a quiet comparison; flt/fle signal on any NaN. */
        if (kind != CMP_EQ || fp_is_snan(f, a) || fp_is_snan(f, b))
            accrue(cpu, RV_FFLAG_NV);
        return 0;
    }
    switch (kind) {
    case CMP_EQ: return fp_eq(f, a, b);
    case CMP_LT: return fp_lt(f, a, b, false);
    default: return fp_lt(f, a, b, false) || fp_eq(f, a, b);
    }
}

#define DEF_CMP(name, kind)                                    \
    uint64_t rv_##name##_s(VsCpu *cpu, uint64_t a, uint64_t b) \
    {                                                          \
        return fp_cmp(cpu, &fmt_s, unbox(a), unbox(b), kind);  \
    }                                                          \
    uint64_t rv_##name##_d(VsCpu *cpu, uint64_t a, uint64_t b) \
    {                                                          \
        return fp_cmp(cpu, &fmt_d, a, b, kind);                \
    }
DEF_CMP(feq, CMP_EQ)
DEF_CMP(flt, CMP_LT)
DEF_CMP(fle, CMP_LE)

/* ---- conversions ---- */

static inline uint64_t sext32(uint64_t v)
{
    return (uint64_t)(int64_t)(int32_t)(uint32_t)v;
}

#define DEF_TO_INT(name, dbl, width, is_signed)                                                 \
    uint64_t rv_##name(VsCpu *cpu, uint64_t a, uint64_t rm)                                     \
    {                                                                                           \
        int m = get_rm(cpu, rm);                                                                \
        unsigned fl = 0;                                                                        \
        uint64_t r =                                                                            \
            sf_to_int((dbl) ? &fmt_d : &fmt_s, (dbl) ? a : unbox(a), m, width, is_signed, &fl); \
        accrue(cpu, fl);                                                                        \
        return (width) == 32 ? sext32(r) : r;                                                   \
    }
DEF_TO_INT(fcvt_w_s, false, 32, true)
DEF_TO_INT(fcvt_wu_s, false, 32, false)
DEF_TO_INT(fcvt_l_s, false, 64, true)
DEF_TO_INT(fcvt_lu_s, false, 64, false)
DEF_TO_INT(fcvt_w_d, true, 32, true)
DEF_TO_INT(fcvt_wu_d, true, 32, false)
DEF_TO_INT(fcvt_l_d, true, 64, true)
DEF_TO_INT(fcvt_lu_d, true, 64, false)

/* sign and magnitude of the integer source operand */
#define SRC_W(a) \
    (int32_t)(a) < 0, (uint64_t)((int32_t)(a) < 0 ? -(int64_t)(int32_t)(a) : (int32_t)(a))
#define SRC_WU(a) 0, (uint64_t)(uint32_t)(a)
#define SRC_L(a)  (int64_t)(a) < 0, ((int64_t)(a) < 0 ? -(a) : (a))
#define SRC_LU(a) 0, (a)

#define DEF_FROM_INT(name, dbl, SRC)                                       \
    uint64_t rv_##name(VsCpu *cpu, uint64_t a, uint64_t rm)                \
    {                                                                      \
        int m = get_rm(cpu, rm);                                           \
        unsigned fl = 0;                                                   \
        uint64_t r = sf_from_int((dbl) ? &fmt_d : &fmt_s, SRC(a), m, &fl); \
        accrue(cpu, fl);                                                   \
        return (dbl) ? r : box(r);                                         \
    }
DEF_FROM_INT(fcvt_s_w, false, SRC_W)
DEF_FROM_INT(fcvt_s_wu, false, SRC_WU)
DEF_FROM_INT(fcvt_s_l, false, SRC_L)
DEF_FROM_INT(fcvt_s_lu, false, SRC_LU)
DEF_FROM_INT(fcvt_d_w, true, SRC_W)
DEF_FROM_INT(fcvt_d_wu, true, SRC_WU)
DEF_FROM_INT(fcvt_d_l, true, SRC_L)
DEF_FROM_INT(fcvt_d_lu, true, SRC_LU)

uint64_t rv_fcvt_s_d(VsCpu *cpu, uint64_t a, uint64_t rm)
{
    int m = get_rm(cpu, rm);
    unsigned fl = 0;
    uint64_t r = sf_cvt(&fmt_s, &fmt_d, a, m, &fl);
    accrue(cpu, fl);
    return box(r);
}

uint64_t rv_fcvt_d_s(VsCpu *cpu, uint64_t a, uint64_t rm)
{
    int m = get_rm(cpu, rm);
    unsigned fl = 0;
    uint64_t r = sf_cvt(&fmt_d, &fmt_s, unbox(a), m, &fl);
    accrue(cpu, fl);
    return r;
}

/* ---- sign injection and classification ---- */

uint64_t rv_fsgnj_s(uint64_t a, uint64_t b)
{
    return box((unbox(a) & ~SGN_S) | (unbox(b) & SGN_S));
}

uint64_t rv_fsgnjn_s(uint64_t a, uint64_t b)
{
    return box((unbox(a) & ~SGN_S) | (~unbox(b) & SGN_S));
}

uint64_t rv_fsgnjx_s(uint64_t a, uint64_t b)
{
    return box(unbox(a) ^ (unbox(b) & SGN_S));
}

uint64_t rv_fsgnj_d(uint64_t a, uint64_t b)
{
    return (a & ~SGN_D) | (b & SGN_D);
}

uint64_t rv_fsgnjn_d(uint64_t a, uint64_t b)
{
    return (a & ~SGN_D) | (~b & SGN_D);
}

uint64_t rv_fsgnjx_d(uint64_t a, uint64_t b)
{
    return a ^ (b & SGN_D);
}

static uint64_t fp_class(const FpFmt *f, uint64_t a)
{
    FpVal x = fp_unpack(f, a);
    bool subnormal = x.cls == FC_FINITE && x.m < (1ull << (f->p - 1));
    switch (x.cls) {
    case FC_INF: return x.sign ? 1u << 0 : 1u << 7;
    case FC_ZERO: return x.sign ? 1u << 3 : 1u << 4;
    case FC_SNAN: return 1u << 8;
    case FC_QNAN: return 1u << 9;
    default:
        if (subnormal)
            return x.sign ? 1u << 2 : 1u << 5;
        return x.sign ? 1u << 1 : 1u << 6;
    }
}

uint64_t rv_fclass_s(uint64_t a)
{
    return fp_class(&fmt_s, unbox(a));
}

uint64_t rv_fclass_d(uint64_t a)
{
    return fp_class(&fmt_d, a);
}

/* ------------------------------------------------------------------------------------ */
/* IR helper descriptors                                                                 */

/* The only state these write is fflags, which translations never access as a global (only
 * through rv_helper_csr): globals cached in host registers survive them. */
#define HF_ROUND                                                                                 \
    (IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_RAISE | \
     IR_HELPER_KEEPS_GLOBALS)
/* min/max/compare accrue flags but never raise. */
#define HF_FLAGS \
    (IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_KEEPS_GLOBALS)
#define HF_PURE IR_HELPER_PURE

#define DEF_HELPER(op, nargs, flags) \
    const IrHelper rv_helper_##op = { "rv_" #op, (void *)rv_##op, nargs, flags };

/*
 * add/sub/mul/div: the JIT may inline the fast path of fp_arith() (RNE, NX accrued, result
 * normal and finite), which returns exactly the plain SSE result and accrues nothing. The
 * JIT's check is the same one, so its result and flags are the helper's in every case.
 */
#define DEF_HOSTFP_HELPER(op_, hop, d)                                               \
    const IrHostFpHelper rv_hf_##op_ = {                                             \
        .helper = { "rv_" #op_, (void *)rv_##op_, 3, HF_ROUND | IR_HELPER_HOST_FP }, \
        .op = (hop),                                                                 \
        .dbl = (d),                                                                  \
        .rm_rne = RV_RM_RNE,                                                         \
        .rm_dyn = RV_RM_DYN,                                                         \
        .flags_off = (uint32_t)(offsetof(RvCpu, fflags) - offsetof(RvCpu, common)),  \
        .frm_off = (uint32_t)(offsetof(RvCpu, frm) - offsetof(RvCpu, common)),       \
        .nx_mask = RV_FFLAG_NX,                                                      \
    };

DEF_HOSTFP_HELPER(fadd_s, IR_HOSTFP_ADD, false)
DEF_HOSTFP_HELPER(fsub_s, IR_HOSTFP_SUB, false)
DEF_HOSTFP_HELPER(fmul_s, IR_HOSTFP_MUL, false)
DEF_HOSTFP_HELPER(fdiv_s, IR_HOSTFP_DIV, false)
DEF_HELPER(fsqrt_s, 2, HF_ROUND)
DEF_HOSTFP_HELPER(fadd_d, IR_HOSTFP_ADD, true)
DEF_HOSTFP_HELPER(fsub_d, IR_HOSTFP_SUB, true)
DEF_HOSTFP_HELPER(fmul_d, IR_HOSTFP_MUL, true)
DEF_HOSTFP_HELPER(fdiv_d, IR_HOSTFP_DIV, true)
DEF_HELPER(fsqrt_d, 2, HF_ROUND)
DEF_HELPER(fmadd_s, 4, HF_ROUND)
DEF_HELPER(fmsub_s, 4, HF_ROUND)
DEF_HELPER(fnmsub_s, 4, HF_ROUND)
DEF_HELPER(fnmadd_s, 4, HF_ROUND)
DEF_HELPER(fmadd_d, 4, HF_ROUND)
DEF_HELPER(fmsub_d, 4, HF_ROUND)
DEF_HELPER(fnmsub_d, 4, HF_ROUND)
DEF_HELPER(fnmadd_d, 4, HF_ROUND)
DEF_HELPER(fmin_s, 2, HF_FLAGS)
DEF_HELPER(fmax_s, 2, HF_FLAGS)
DEF_HELPER(fmin_d, 2, HF_FLAGS)
DEF_HELPER(fmax_d, 2, HF_FLAGS)
DEF_HELPER(feq_s, 2, HF_FLAGS)
DEF_HELPER(flt_s, 2, HF_FLAGS)
DEF_HELPER(fle_s, 2, HF_FLAGS)
DEF_HELPER(feq_d, 2, HF_FLAGS)
DEF_HELPER(flt_d, 2, HF_FLAGS)
DEF_HELPER(fle_d, 2, HF_FLAGS)
DEF_HELPER(fcvt_w_s, 2, HF_ROUND)
DEF_HELPER(fcvt_wu_s, 2, HF_ROUND)
DEF_HELPER(fcvt_l_s, 2, HF_ROUND)
DEF_HELPER(fcvt_lu_s, 2, HF_ROUND)
DEF_HELPER(fcvt_w_d, 2, HF_ROUND)
DEF_HELPER(fcvt_wu_d, 2, HF_ROUND)
DEF_HELPER(fcvt_l_d, 2, HF_ROUND)
DEF_HELPER(fcvt_lu_d, 2, HF_ROUND)
DEF_HELPER(fcvt_s_w, 2, HF_ROUND)
DEF_HELPER(fcvt_s_wu, 2, HF_ROUND)
DEF_HELPER(fcvt_s_l, 2, HF_ROUND)
DEF_HELPER(fcvt_s_lu, 2, HF_ROUND)
DEF_HELPER(fcvt_d_w, 2, HF_ROUND)
DEF_HELPER(fcvt_d_wu, 2, HF_ROUND)
DEF_HELPER(fcvt_d_l, 2, HF_ROUND)
DEF_HELPER(fcvt_d_lu, 2, HF_ROUND)
DEF_HELPER(fcvt_s_d, 2, HF_ROUND)
DEF_HELPER(fcvt_d_s, 2, HF_ROUND)
DEF_HELPER(fsgnj_s, 2, HF_PURE)
DEF_HELPER(fsgnjn_s, 2, HF_PURE)
DEF_HELPER(fsgnjx_s, 2, HF_PURE)
DEF_HELPER(fsgnj_d, 2, HF_PURE)
DEF_HELPER(fsgnjn_d, 2, HF_PURE)
DEF_HELPER(fsgnjx_d, 2, HF_PURE)
DEF_HELPER(fclass_s, 1, HF_PURE)
DEF_HELPER(fclass_d, 1, HF_PURE)
