/* SPDX-License-Identifier: MIT */
/*
 * Exact binary floating point in software, shared by the architectures' FP helpers
 * (riscv64's rv-fpu.c, arm64's a64-fp.c): operands are unpacked to sign, exponent and
 * integer significand, the exact result (or, for div/sqrt, a quotient/root with at least
 * ten extra bits plus a sticky remainder flag) is formed in 128-bit integers and rounded
 * once by fp_round_pack(), which handles the five rounding modes, subnormals and overflow.
 *
 * Architecture rules are parameters:
 *   - `rm` is an SF_RM_* mode, ORed with SF_TININESS_BEFORE (underflow is detected on the
 *     unrounded result, as Arm does; default: after rounding, as RISC-V and x86 do) and
 *     SF_FLUSH_OUTPUT (a result that is tiny before rounding becomes a zero of its sign
 *     with UF and without NX: Arm's FPCR.FZ);
 *   - NaN results are the format's default NaN (`qnan`); an architecture that propagates
 *     payloads handles NaN operands before calling (Arm's FPProcessNaNs);
 *   - flags are SF_FLAG_* bits (the RISC-V fflags layout) ORed into *fl.
 */
#ifndef VESSEL_SOFTFP_H
#define VESSEL_SOFTFP_H

#include <stdbool.h>
#include <stdint.h>

#define SF_FLAG_NX 0x01 /* inexact */
#define SF_FLAG_UF 0x02 /* underflow */
#define SF_FLAG_OF 0x04 /* overflow */
#define SF_FLAG_DZ 0x08 /* divide by zero */
#define SF_FLAG_NV 0x10 /* invalid */

enum { SF_RM_RNE = 0, SF_RM_RTZ = 1, SF_RM_RDN = 2, SF_RM_RUP = 3, SF_RM_RMM = 4 };
#define SF_RM_MASK         7
#define SF_TININESS_BEFORE 0x10
#define SF_FLUSH_OUTPUT    0x20

typedef unsigned __int128 u128;
/* ------------------------------------------------------------------------------------ */
/* Formats and unpacking                                                                 */

typedef struct FpFmt {
    int p;            /* significand bits including the hidden bit */
    int bias;         /* exponent bias (= emax for IEEE formats) */
    int emin;         /* 1 - bias */
    int emax;         /* largest exponent of a finite value */
    uint64_t expmask; /* exponent field, all ones, unshifted */
    uint64_t sign;    /* sign bit */
    uint64_t max;     /* largest finite magnitude */
    uint64_t inf;     /* +infinity */
    uint64_t qnan;    /* canonical NaN */
} FpFmt;

extern const FpFmt sf_fmt_s, sf_fmt_d, sf_fmt_h, sf_fmt_ahp;

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
    switch (rm & SF_RM_MASK) {
    case SF_RM_RNE: return gt || (eq && odd);
    case SF_RM_RMM: return gt || eq;
    case SF_RM_RDN: return nz && sign;
    case SF_RM_RUP: return nz && !sign;
    default: /* RTZ */ return false;
    }
}

/*
 * Round (-1)^sign * (m + frac) * 2^e to format f, where frac is 0 if !st and strictly
 * between 0 and 1 if st. When st is set, m must have at least one bit below the final
 * rounding position (every caller passes >= 64 significant bits). m == 0 (and !st) gives a
 * zero of the given sign.
 */
uint64_t fp_round_pack(const FpFmt *f, int sign, int e, u128 m, bool st, int rm, unsigned *fl);
/* Operations on raw bit patterns of format f; NaN operands give the default NaN. */
uint64_t sf_add(const FpFmt *f, uint64_t a, uint64_t b, int rm, unsigned *fl);
uint64_t sf_mul(const FpFmt *f, uint64_t a, uint64_t b, int rm, unsigned *fl);
uint64_t sf_div(const FpFmt *f, uint64_t a, uint64_t b, int rm, unsigned *fl);
uint64_t sf_sqrt(const FpFmt *f, uint64_t a, int rm, unsigned *fl);
uint64_t sf_fma(const FpFmt *f, uint64_t a, uint64_t b, uint64_t c, int rm, unsigned *fl);
/* (a * b + c) * 2^scale, rounded once (Arm's FRSQRTS halves the fused result). */
uint64_t sf_fma_scaled(const FpFmt *f, uint64_t a, uint64_t b, uint64_t c, int scale, int rm,
                       unsigned *fl);
/* Float to float (exact for widening). */
uint64_t sf_cvt(const FpFmt *to, const FpFmt *from, uint64_t a, int rm, unsigned *fl);
/* Integer (sign and magnitude) times 2^e to float. Zero converts to +0. */
uint64_t sf_from_int(const FpFmt *f, int sign, uint64_t mag, int e, int rm, unsigned *fl);
/*
 * Float times 2^scale to a `width`-bit integer, saturating: NaN and too-large positive
 * values give the maximum, too-large negative values the minimum (0 for unsigned), with NV
 * only (no NX). The result is returned modulo 2^64.
 */
uint64_t sf_to_int(const FpFmt *f, uint64_t a, int scale, int rm, int width, bool is_signed,
                   unsigned *fl);

#endif
