/* SPDX-License-Identifier: MIT */
/* Exact software floating point shared by the FP helpers; see softfp.h. */
#include "core/softfp.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(RV_FPU_NO_HOST)
#define SF_HOST 1
#endif

const FpFmt sf_fmt_s = {
    .p = 24,
    .bias = 127,
    .emin = -126,
    .emax = 127,
    .expmask = 0xff,
    .sign = 0x80000000u,
    .max = 0x7f7fffffu,
    .inf = 0x7f800000u,
    .qnan = 0x7fc00000u,
};
const FpFmt sf_fmt_d = {
    .p = 53,
    .bias = 1023,
    .emin = -1022,
    .emax = 1023,
    .expmask = 0x7ff,
    .sign = 0x8000000000000000ull,
    .max = 0x7fefffffffffffffull,
    .inf = 0x7ff0000000000000ull,
    .qnan = 0x7ff8000000000000ull,
};

/* Arm's alternative half precision (FPCR.AHP): no infinities or NaNs, the all-ones exponent
 * is a normal binade; only fp_round_pack and the field layout apply (inf and qnan are not
 * used: an overflow is the caller's business). */
const FpFmt sf_fmt_ahp = {
    .p = 11,
    .bias = 15,
    .emin = -14,
    .emax = 16,
    .expmask = 0x1f,
    .sign = 0x8000u,
    .max = 0x7fffu,
    .inf = 0x7fffu,
    .qnan = 0,
};
const FpFmt sf_fmt_h = {
    .p = 11,
    .bias = 15,
    .emin = -14,
    .emax = 15,
    .expmask = 0x1f,
    .sign = 0x8000u,
    .max = 0x7bffu,
    .inf = 0x7c00u,
    .qnan = 0x7e00u,
};

/* Accumulates NX/UF/OF into *fl. */
uint64_t fp_round_pack(const FpFmt *f, int sign, int e, u128 m, bool st, int rm, unsigned *fl)
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

    if ((rm & SF_FLUSH_OUTPUT) && E < f->emin) {
        *fl |= SF_FLAG_UF; /* flushed to zero: underflow, not inexact */
        return sbit;
    }
    if (nz) {
        *fl |= SF_FLAG_NX;
        if (E < f->emin) {
            /* Tiny after rounding: rounded to p bits with an unbounded exponent, the result
             * is still below 2^emin. Only E == emin - 1 can round up to 2^emin. */
            bool tiny = true;
            if (E == f->emin - 1 && !(rm & SF_TININESS_BEFORE)) {
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
                *fl |= SF_FLAG_UF;
        }
    }
    q += round_up(rm, sign, q & 1, gt, eq, nz);

    if (E <= f->emax) {
        /* The hidden bit of q adds one to the exponent field; a carry out of the
         * significand (or from the largest subnormal into the normals) propagates. */
        uint64_t bits = ((uint64_t)(ebase + f->bias - 1) << (f->p - 1)) + q;
        if ((bits >> (f->p - 1)) <= (uint64_t)(f->emax + f->bias))
            return bits | sbit;
    }
    *fl |= SF_FLAG_OF | SF_FLAG_NX;
    int mode = rm & SF_RM_MASK;
    bool to_inf = mode == SF_RM_RNE || mode == SF_RM_RMM || (mode == SF_RM_RUP && !sign) ||
                  (mode == SF_RM_RDN && sign);
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
            return (rm & SF_RM_MASK) == SF_RM_RDN ? f->sign : 0;
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
        *fl |= SF_FLAG_NV;
    return x->cls >= FC_QNAN || y->cls >= FC_QNAN;
}

uint64_t sf_add(const FpFmt *f, uint64_t a, uint64_t b, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(f, a), y = fp_unpack(f, b);
    if (nan_operands(&x, &y, fl))
        return f->qnan;
    if (x.cls == FC_INF) {
        if (y.cls == FC_INF && x.sign != y.sign) {
            *fl |= SF_FLAG_NV;
            return f->qnan;
        }
        return a;
    }
    if (y.cls == FC_INF)
        return b;
    if (y.cls == FC_ZERO) {
        if (x.cls == FC_ZERO && x.sign != y.sign)
            return (rm & SF_RM_MASK) == SF_RM_RDN ? f->sign : 0;
        return a;
    }
    if (x.cls == FC_ZERO)
        return b;
    return fp_add_finite(f, x.sign, x.e, x.m, y.sign, y.e, y.m, rm, fl);
}

uint64_t sf_mul(const FpFmt *f, uint64_t a, uint64_t b, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(f, a), y = fp_unpack(f, b);
    int sign = x.sign ^ y.sign;
    if (nan_operands(&x, &y, fl))
        return f->qnan;
    if ((x.cls == FC_INF && y.cls == FC_ZERO) || (x.cls == FC_ZERO && y.cls == FC_INF)) {
        *fl |= SF_FLAG_NV;
        return f->qnan;
    }
    if (x.cls == FC_INF || y.cls == FC_INF)
        return f->inf | (sign ? f->sign : 0);
    if (x.cls == FC_ZERO || y.cls == FC_ZERO)
        return sign ? f->sign : 0;
    return fp_round_pack(f, sign, x.e + y.e, (u128)x.m * y.m, false, rm, fl);
}

uint64_t sf_div(const FpFmt *f, uint64_t a, uint64_t b, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(f, a), y = fp_unpack(f, b);
    int sign = x.sign ^ y.sign;
    uint64_t sbit = sign ? f->sign : 0;
    if (nan_operands(&x, &y, fl))
        return f->qnan;
    if ((x.cls == FC_INF && y.cls == FC_INF) || (x.cls == FC_ZERO && y.cls == FC_ZERO)) {
        *fl |= SF_FLAG_NV;
        return f->qnan;
    }
    if (x.cls == FC_INF)
        return f->inf | sbit;
    if (y.cls == FC_INF || x.cls == FC_ZERO)
        return sbit;
    if (y.cls == FC_ZERO) {
        *fl |= SF_FLAG_DZ;
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
#ifdef SF_HOST
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

uint64_t sf_sqrt(const FpFmt *f, uint64_t a, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(f, a);
    if (x.cls >= FC_QNAN) {
        if (x.cls == FC_SNAN)
            *fl |= SF_FLAG_NV;
        return f->qnan;
    }
    if (x.cls == FC_ZERO)
        return a; /* sqrt(-0) = -0 */
    if (x.sign) {
        *fl |= SF_FLAG_NV;
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

uint64_t sf_fma(const FpFmt *f, uint64_t a, uint64_t b, uint64_t c, int rm, unsigned *fl)
{
    return sf_fma_scaled(f, a, b, c, 0, rm, fl);
}

uint64_t sf_fma_scaled(const FpFmt *f, uint64_t a, uint64_t b, uint64_t c, int scale, int rm,
                       unsigned *fl)
{
    FpVal x = fp_unpack(f, a), y = fp_unpack(f, b), z = fp_unpack(f, c);
    int sp = x.sign ^ y.sign;
    if (x.cls == FC_SNAN || y.cls == FC_SNAN || z.cls == FC_SNAN)
        *fl |= SF_FLAG_NV;
    /* inf * 0 is invalid even when the addend is a quiet NaN. */
    if ((x.cls == FC_INF && y.cls == FC_ZERO) || (x.cls == FC_ZERO && y.cls == FC_INF)) {
        *fl |= SF_FLAG_NV;
        return f->qnan;
    }
    if (x.cls >= FC_QNAN || y.cls >= FC_QNAN || z.cls >= FC_QNAN)
        return f->qnan;
    if (x.cls == FC_INF || y.cls == FC_INF) {
        if (z.cls == FC_INF && z.sign != sp) {
            *fl |= SF_FLAG_NV;
            return f->qnan;
        }
        return f->inf | (sp ? f->sign : 0);
    }
    if (z.cls == FC_INF)
        return c;
    if (x.cls == FC_ZERO || y.cls == FC_ZERO) {
        if (z.cls == FC_ZERO && z.sign != sp)
            return (rm & SF_RM_MASK) == SF_RM_RDN ? f->sign : 0;
        if (z.cls == FC_ZERO || scale == 0)
            return c;
        return fp_round_pack(f, z.sign, z.e + scale, z.m, false, rm, fl);
    }
    u128 prod = (u128)x.m * y.m;
    if (z.cls == FC_ZERO)
        return fp_round_pack(f, sp, x.e + y.e + scale, prod, false, rm, fl);
    return fp_add_finite(f, sp, x.e + y.e + scale, prod, z.sign, z.e + scale, z.m, rm, fl);
}

/* Float to float (exact for widening). */
uint64_t sf_cvt(const FpFmt *to, const FpFmt *from, uint64_t a, int rm, unsigned *fl)
{
    FpVal x = fp_unpack(from, a);
    uint64_t sbit = x.sign ? to->sign : 0;
    switch (x.cls) {
    case FC_SNAN: *fl |= SF_FLAG_NV; return to->qnan;
    case FC_QNAN: return to->qnan;
    case FC_INF: return to->inf | sbit;
    case FC_ZERO: return sbit;
    default: return fp_round_pack(to, x.sign, x.e, x.m, false, rm, fl);
    }
}

uint64_t sf_from_int(const FpFmt *f, int sign, uint64_t mag, int e, int rm, unsigned *fl)
{
    return fp_round_pack(f, mag ? sign : 0, e, mag, false, rm, fl);
}

uint64_t sf_to_int(const FpFmt *f, uint64_t a, int scale, int rm, int width, bool is_signed,
                   unsigned *fl)
{
    FpVal x = fp_unpack(f, a);
    x.e += scale;
    uint64_t pmax =
        is_signed ? (1ull << (width - 1)) - 1 : (width == 64 ? ~0ull : (1ull << width) - 1);
    uint64_t nmax = is_signed ? 1ull << (width - 1) : 0; /* largest negative magnitude */
    uint64_t q;
    bool nz = false;

    switch (x.cls) {
    case FC_QNAN:
    case FC_SNAN: *fl |= SF_FLAG_NV; return pmax;
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
        *fl |= SF_FLAG_NX;
    return q;
invalid:
    *fl |= SF_FLAG_NV;
    return x.sign ? -nmax : pmax;
}
