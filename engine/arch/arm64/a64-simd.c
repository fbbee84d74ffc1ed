/* SPDX-License-Identifier: MIT */
/*
 * A64 Advanced SIMD and scalar floating point data processing (Arm ARM C4.1.95 "Data
 * Processing -- Scalar Floating-Point and Advanced SIMD"), run by one helper per instruction
 * on the V registers in the CPU state, and the structure loads and stores (LD1-LD4, ST1-ST4,
 * LD1R-LD4R) as a helper doing element accesses through the SoftMMU.
 *
 * The translator emits a64_helper_simd for every encoding of that space when CPACR_EL1.FPEN
 * allows FP at the current EL; the helper decodes the instruction, raises UNDEFINED for what
 * is unallocated or not implemented, and writes its results (V, X, NZCV, FPSR) only after
 * the decode succeeded. The decode is table-free but mirrors the encoding groups of the
 * Arm ARM; each group lists what it implements. That is all of ARMv8.0 FP and Advanced SIMD;
 * what raises UNDEFINED besides the unallocated encodings belongs to features the ID registers
 * (a64-sysreg.c) call absent: half-precision arithmetic, the cryptographic extension (AES and
 * with it 64-bit PMULL, SHA), RDM, DotProd, FCMA, FHM and later ones. A few scalar FP
 * instructions are translated inline or to a direct helper call instead (a64-translate.c,
 * tr_fp_scalar).
 */
#include <stddef.h>
#include <string.h>

#include "arch/arm64/a64-cpu.h"
#include "arch/arm64/a64-internal.h"
#include "core/hostfp.h"
#include "core/softfp.h"
#include "mmu/mmu.h"

#define BITS(v, hi, lo) (((v) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))
#define BIT(v, n)       (((v) >> (n)) & 1u)

typedef struct Vec {
    uint64_t d[2];
} Vec;

static __attribute__((noreturn)) void undef(A64Cpu *c)
{
    a64_raise_sync(c, A64_EC_UNKNOWN, 0, 0, false);
}

/* ---- elements: es is log2 of the element size in bytes (0..3) ---- */

static inline uint64_t emask(unsigned es)
{
    return es == 3 ? ~0ull : (1ull << (8u << es)) - 1;
}

static inline uint64_t eget(const Vec *v, unsigned es, unsigned i)
{
    unsigned pos = i << (es + 3);
    return (v->d[(pos >> 6) & 1] >> (pos & 63)) & emask(es);
}

static inline void eset(Vec *v, unsigned es, unsigned i, uint64_t x)
{
    unsigned pos = i << (es + 3);
    uint64_t m = emask(es) << (pos & 63);
    uint64_t *w = &v->d[(pos >> 6) & 1];
    *w = (*w & ~m) | ((x << (pos & 63)) & m);
}

static inline int64_t sx(uint64_t x, unsigned es)
{
    unsigned sh = 64 - (8u << es);
    return (int64_t)(x << sh) >> sh;
}

static inline Vec vget(A64Cpu *c, unsigned r)
{
    Vec v = { { c->v[r][0], c->v[r][1] } };
    return v;
}

/* Write Vd; a 64-bit (or narrower scalar) result clears the rest. */
static inline void vset(A64Cpu *c, unsigned r, Vec v, bool q)
{
    c->v[r][0] = v.d[0];
    c->v[r][1] = q ? v.d[1] : 0;
}

static inline void set_x(A64Cpu *c, unsigned r, uint64_t v)
{
    if (r != 31)
        c->x[r] = v;
}

static inline uint64_t get_x(A64Cpu *c, unsigned r)
{
    return r == 31 ? 0 : c->x[r];
}

/* Saturate a signed value to es; *qc set on saturation. */
static inline uint64_t sat_s(int64_t v, unsigned es, bool *qc)
{
    int64_t max = (int64_t)(emask(es) >> 1), min = -max - 1;
    if (v > max) {
        *qc = true;
        return (uint64_t)max & emask(es);
    }
    if (v < min) {
        *qc = true;
        return (uint64_t)min & emask(es);
    }
    return (uint64_t)v & emask(es);
}

static inline uint64_t sat_u(int64_t v, unsigned es, bool *qc)
{
    if (v < 0) {
        *qc = true;
        return 0;
    }
    if ((uint64_t)v > emask(es)) {
        *qc = true;
        return emask(es);
    }
    return (uint64_t)v;
}

/* 64-bit saturating add/sub (signed or unsigned). */
static uint64_t sat_add64(uint64_t a, uint64_t b, bool sub, bool u, bool *qc)
{
    uint64_t r;
    if (u) {
        if (sub) {
            if (__builtin_sub_overflow(a, b, &r)) {
                *qc = true;
                return 0;
            }
        } else if (__builtin_add_overflow(a, b, &r)) {
            *qc = true;
            return ~0ull;
        }
        return r;
    }
    int64_t sr;
    bool ov = sub ? __builtin_sub_overflow((int64_t)a, (int64_t)b, &sr)
                  : __builtin_add_overflow((int64_t)a, (int64_t)b, &sr);
    if (ov) {
        *qc = true;
        return (int64_t)a < 0 ? 1ull << 63 : (1ull << 63) - 1;
    }
    return (uint64_t)sr;
}

/* SSHL/USHL by the signed low byte of b. */
static uint64_t shl_reg(uint64_t a, uint64_t b, unsigned es, bool u)
{
    int sh = (int8_t)b;
    unsigned bits = 8u << es;
    if (sh >= 0) {
        if ((unsigned)sh >= bits)
            return 0;
        return (a << sh) & emask(es);
    }
    sh = -sh;
    if (u)
        return (unsigned)sh >= bits ? 0 : a >> sh;
    if ((unsigned)sh >= bits)
        sh = (int)bits - 1;
    return (uint64_t)(sx(a, es) >> sh) & emask(es);
}

/* SRSHL/URSHL, SQSHL/UQSHL, SQRSHL/UQRSHL (register): shift by the signed low byte of b,
 * optionally rounding (right shifts) and saturating (left shifts). */
static uint64_t shl_full(uint64_t a, uint64_t b, unsigned es, bool u, bool round, bool sat,
                         bool *qc)
{
    int sh = (int8_t)b;
    int bits = 8 << es;
    __int128 v = u ? (__int128)a : (__int128)sx(a, es);
    if (sh < 0) {
        int n = -sh > bits + 1 ? bits + 1 : -sh; /* beyond that the result no longer changes */
        if (round)
            v += (__int128)1 << (n - 1);
        v >>= n;
    } else if (v != 0) {
        if (sh >= bits) {
            if (!sat)
                return 0;
            *qc = true;
            if (u)
                return emask(es);
            return v < 0 ? (emask(es) >> 1) + 1 : emask(es) >> 1;
        }
        v *= (__int128)1 << sh;
    }
    if (sat) {
        __int128 hi = u ? (__int128)emask(es) : (__int128)(emask(es) >> 1);
        __int128 lo = u ? 0 : -hi - 1;
        if (v > hi) {
            *qc = true;
            v = hi;
        } else if (v < lo) {
            *qc = true;
            v = lo;
        }
    }
    return (uint64_t)v & emask(es);
}

/* SQDMULH/SQRDMULH: the high half of 2 * a * b (rounded), saturated. */
static uint64_t sqdmulh(int64_t a, int64_t b, unsigned es, bool round, bool *qc)
{
    int bits = 8 << es;
    __int128 p = (__int128)a * b * 2;
    if (round)
        p += (__int128)1 << (bits - 1);
    p >>= bits;
    __int128 hi = (__int128)(emask(es) >> 1);
    if (p > hi) { /* only MIN * MIN */
        *qc = true;
        p = hi;
    }
    return (uint64_t)p & emask(es);
}

/* Saturate a 128-bit value to a signed or unsigned element of size es; *qc set on saturation. */
static uint64_t sat128(__int128 v, unsigned es, bool is_signed, bool *qc)
{
    __int128 hi = is_signed ? (__int128)(emask(es) >> 1) : (__int128)emask(es);
    __int128 lo = is_signed ? -hi - 1 : 0;
    if (v > hi) {
        *qc = true;
        v = hi;
    } else if (v < lo) {
        *qc = true;
        v = lo;
    }
    return (uint64_t)v & emask(es);
}

/* SQDMULL, SQDMLAL, SQDMLSL on one element of size es (1 or 2): 2 * a * b saturated to twice
 * the size (only MIN * MIN saturates), then (acc 1: SQDMLAL, -1: SQDMLSL) added to or
 * subtracted from the accumulator with a second saturation. */
static uint64_t sqdmull(int64_t a, int64_t b, uint64_t acc, int op, unsigned es, bool *qc)
{
    unsigned ws = es + 1;
    uint64_t p = sat128((__int128)a * b * 2, ws, true, qc);
    if (op == 0)
        return p;
    __int128 sa = sx(acc, ws), sp = sx(p, ws);
    return sat128(op > 0 ? sa + sp : sa - sp, ws, true, qc);
}

/* Polynomial (carry-less) product of two bytes: PMUL keeps its low 8 bits, PMULL all 16. */
static uint64_t clmul8(uint64_t a, uint64_t b)
{
    uint64_t r = 0;
    for (unsigned k = 0; k < 8; k++)
        if (b & (1u << k))
            r ^= a << k;
    return r;
}

/*
 * One element of a three-same integer operation (opcode bits 15:11, U). d is the old
 * destination element (accumulating forms). Returns false when not implemented.
 */
static bool int3(unsigned opc, unsigned u, unsigned es, uint64_t a, uint64_t b, uint64_t d,
                 uint64_t *r, bool *qc)
{
    int64_t sa = sx(a, es), sb = sx(b, es);
    uint64_t m = emask(es);
    switch (opc) {
    case 0x00: /* SHADD/UHADD (size 3 is reserved) */
        if (es == 3)
            return false;
        *r = (u ? (a + b) >> 1 : (uint64_t)((sa + sb) >> 1)) & m;
        return true;
    case 0x01: /* SQADD/UQADD */
        if (es == 3)
            *r = sat_add64(a, b, false, u, qc);
        else
            *r = u ? sat_u((int64_t)(a + b), es, qc) : sat_s(sa + sb, es, qc);
        return true;
    case 0x02: /* SRHADD/URHADD */
        if (es == 3)
            return false;
        *r = (u ? (a + b + 1) >> 1 : (uint64_t)((sa + sb + 1) >> 1)) & m;
        return true;
    case 0x09: *r = shl_full(a, b, es, u, false, true, qc); return true; /* SQSHL/UQSHL */
    case 0x0a: *r = shl_full(a, b, es, u, true, false, qc); return true; /* SRSHL/URSHL */
    case 0x0b: *r = shl_full(a, b, es, u, true, true, qc); return true;  /* SQRSHL/UQRSHL */
    case 0x04:                                                           /* SHSUB/UHSUB */
        if (es == 3)
            return false;
        *r = (uint64_t)((u ? (int64_t)a - (int64_t)b : sa - sb) >> 1) & m;
        return true;
    case 0x05: /* SQSUB/UQSUB */
        if (es == 3)
            *r = sat_add64(a, b, true, u, qc);
        else
            *r = u ? sat_u((int64_t)a - (int64_t)b, es, qc) : sat_s(sa - sb, es, qc);
        return true;
    case 0x06: *r = (u ? a > b : sa > sb) ? m : 0; return true;   /* CMGT/CMHI */
    case 0x07: *r = (u ? a >= b : sa >= sb) ? m : 0; return true; /* CMGE/CMHS */
    case 0x08: *r = shl_reg(a, b, es, u); return true;            /* SSHL/USHL */
    case 0x0c: *r = (u ? (a > b ? a : b) : (uint64_t)(sa > sb ? sa : sb)) & m; return es != 3;
    case 0x0d: *r = (u ? (a < b ? a : b) : (uint64_t)(sa < sb ? sa : sb)) & m; return es != 3;
    case 0x0e: /* SABD/UABD */
    case 0x0f: /* SABA/UABA */
        if (es == 3)
            return false;
        *r = u ? (a > b ? a - b : b - a) : (uint64_t)(sa > sb ? sa - sb : sb - sa);
        if (opc == 0x0f)
            *r += d;
        *r &= m;
        return true;
    case 0x10: *r = (u ? a - b : a + b) & m; return true;             /* ADD/SUB */
    case 0x11: *r = (u ? a == b : (a & b) != 0) ? m : 0; return true; /* CMTST/CMEQ */
    case 0x12: *r = (u ? d - a * b : d + a * b) & m; return es != 3;  /* MLA/MLS */
    case 0x13: /* MUL; PMUL (U = 1, bytes only) */
        *r = u ? clmul8(a, b) & 0xff : (a * b) & m;
        return u ? es == 0 : es != 3;
    case 0x14: *r = (u ? (a > b ? a : b) : (uint64_t)(sa > sb ? sa : sb)) & m; return es != 3;
    case 0x15: *r = (u ? (a < b ? a : b) : (uint64_t)(sa < sb ? sa : sb)) & m; return es != 3;
    case 0x16: /* SQDMULH/SQRDMULH */
        if (es == 0 || es == 3)
            return false;
        *r = sqdmulh(sa, sb, es, u, qc);
        return true;
    case 0x17: *r = (a + b) & m; return !u; /* ADDP */
    default: return false;
    }
}

/* ---- Advanced SIMD groups ---- */

static void vfp_three_same(A64Cpu *c, uint32_t i, bool scalar);
static uint64_t fp_to_int(A64Cpu *c, const FpFmt *f, uint64_t a, int rm, unsigned width,
                          bool is_signed, unsigned fbits, unsigned *fl);
static uint64_t fp_from_int(A64Cpu *c, const FpFmt *f, uint64_t x, unsigned width, bool is_signed,
                            unsigned fbits, unsigned *fl);
static void fp_accrue(A64Cpu *c, unsigned fl);
static uint64_t fp_arith2(A64Cpu *c, const FpFmt *f, unsigned op, uint64_t a, uint64_t b,
                          unsigned *fl);
static void vfp_two_misc(A64Cpu *c, uint32_t i, bool scalar);

static void simd_three_same(A64Cpu *c, uint32_t i, bool scalar)
{
    unsigned q = BIT(i, 30), u = BIT(i, 29), size = BITS(i, 23, 22), opc = BITS(i, 15, 11);
    unsigned rm = BITS(i, 20, 16), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    Vec a = vget(c, rn), b = vget(c, rm), d = vget(c, rd), r = { { 0, 0 } };
    if (opc == 0x03) { /* logical, size selects the operation */
        if (scalar)
            undef(c);
        for (unsigned k = 0; k < 2; k++) {
            uint64_t x = a.d[k], y = b.d[k], z = d.d[k];
            switch (u << 2 | size) {
            case 0: r.d[k] = x & y; break;               /* AND */
            case 1: r.d[k] = x & ~y; break;              /* BIC */
            case 2: r.d[k] = x | y; break;               /* ORR */
            case 3: r.d[k] = x | ~y; break;              /* ORN */
            case 4: r.d[k] = x ^ y; break;               /* EOR */
            case 5: r.d[k] = (x & z) | (y & ~z); break;  /* BSL */
            case 6: r.d[k] = (x & y) | (z & ~y); break;  /* BIT */
            default: r.d[k] = (z & y) | (x & ~y); break; /* BIF */
            }
        }
        vset(c, rd, r, q);
        return;
    }
    if (opc >= 0x18) {
        vfp_three_same(c, i, scalar);
        return;
    }
    bool pairwise = opc >= 0x14 && opc != 0x16;
    if (scalar) {
        /* Scalar forms: the D-sized ones, and the saturating ones of every size. */
        bool sat = opc == 0x01 || opc == 0x05 || opc == 0x09 || opc == 0x0b || opc == 0x16;
        bool d_only =
            opc == 0x06 || opc == 0x07 || opc == 0x08 || opc == 0x0a || opc == 0x10 || opc == 0x11;
        if (!sat && !(d_only && size == 3))
            undef(c);
        bool qc = false;
        uint64_t res;
        if (!int3(opc, u, size, eget(&a, size, 0), eget(&b, size, 0), 0, &res, &qc))
            undef(c);
        r.d[0] = res;
        vset(c, rd, r, false);
        if (qc)
            c->fpsr |= A64_FPSR_QC;
        return;
    }
    if (size == 3 && !q)
        undef(c);
    unsigned n = (q ? 16 : 8) >> size;
    bool qc = false;
    for (unsigned e = 0; e < n; e++) {
        uint64_t x, y, res;
        if (pairwise) {
            const Vec *src = e < n / 2 ? &a : &b;
            unsigned k = (e % (n / 2)) * 2;
            x = eget(src, size, k);
            y = eget(src, size, k + 1);
        } else {
            x = eget(&a, size, e);
            y = eget(&b, size, e);
        }
        if (!int3(opc, u, size, x, y, eget(&d, size, e), &res, &qc))
            undef(c);
        eset(&r, size, e, res);
    }
    vset(c, rd, r, q);
    if (qc)
        c->fpsr |= A64_FPSR_QC;
}

/* Three different: long, wide and narrowing forms, the saturating doubling multiplies (also
 * scalar) and PMULL. */
static void simd_three_diff(A64Cpu *c, uint32_t i, bool scalar)
{
    unsigned q = BIT(i, 30), u = BIT(i, 29), size = BITS(i, 23, 22), opc = BITS(i, 15, 12);
    unsigned rm = BITS(i, 20, 16), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    /* size 3: reserved, except PMULL/PMULL2 of 64-bit elements (FEAT_PMULL, with the AES
     * instructions: not implemented, and ID_AA64ISAR0_EL1.AES = 0 says so). */
    if (size == 3)
        undef(c);
    Vec a = vget(c, rn), b = vget(c, rm), d = vget(c, rd), r = { { 0, 0 } };
    unsigned n = scalar ? 1 : 8 >> size, off = q && !scalar ? n : 0, ws = size + 1;
    bool wide_a = opc == 1 || opc == 3;
    bool narrow = opc == 4 || opc == 6;
    if (opc == 9 || opc == 11 || opc == 13) { /* SQDMLAL, SQDMLSL, SQDMULL (vector, scalar) */
        if (u || size == 0)
            undef(c);
        bool qc = false;
        int op = opc == 9 ? 1 : opc == 11 ? -1 : 0;
        for (unsigned e = 0; e < n; e++)
            eset(&r, ws, e,
                 sqdmull(sx(eget(&a, size, e + off), size), sx(eget(&b, size, e + off), size),
                         eget(&d, ws, e), op, size, &qc));
        vset(c, rd, r, !scalar);
        if (qc)
            c->fpsr |= A64_FPSR_QC;
        return;
    }
    if (scalar || opc == 15 || (opc == 14 && (u || size != 0)))
        undef(c);
    if (opc == 14) { /* PMULL, PMULL2 (8 x 8 -> 16 bits) */
        for (unsigned e = 0; e < 8; e++)
            eset(&r, 1, e, clmul8(eget(&a, 0, e + off), eget(&b, 0, e + off)));
        vset(c, rd, r, true);
        return;
    }
    if (narrow) {
        for (unsigned e = 0; e < n; e++) {
            uint64_t x = eget(&a, ws, e), y = eget(&b, ws, e);
            uint64_t s = opc == 4 ? x + y : x - y;
            if (u)
                s += 1ull << ((8u << size) - 1); /* RADDHN/RSUBHN */
            s &= emask(ws);
            eset(&r, size, e + off, s >> (8u << size));
        }
        if (q)
            r.d[0] = d.d[0];
        vset(c, rd, r, q);
        return;
    }
    for (unsigned e = 0; e < n; e++) {
        /* Operands extended to 64 bits (the wide operand is already ws bits; for 64-bit
         * results it is used whole), arithmetic modulo 2^64. */
        uint64_t xa = wide_a ? eget(&a, ws, e) : eget(&a, size, e + off);
        uint64_t xb = eget(&b, size, e + off);
        uint64_t x =
            wide_a ? (u || ws == 3 ? xa : (uint64_t)sx(xa, ws)) : (u ? xa : (uint64_t)sx(xa, size));
        uint64_t y = u ? xb : (uint64_t)sx(xb, size);
        uint64_t acc = eget(&d, ws, e), res;
        bool gt = u ? x > y : (int64_t)x > (int64_t)y;
        switch (opc) {
        case 0:
        case 1: res = x + y; break;
        case 2:
        case 3: res = x - y; break;
        case 5: res = acc + (gt ? x - y : y - x); break;
        case 7: res = gt ? x - y : y - x; break;
        case 8: res = acc + x * y; break;
        case 10: res = acc - x * y; break;
        default: res = x * y; break;
        }
        eset(&r, ws, e, res);
    }
    vset(c, rd, r, true);
}

static uint64_t rev_bits8(uint64_t x)
{
    x = ((x >> 1) & 0x55) | ((x & 0x55) << 1);
    x = ((x >> 2) & 0x33) | ((x & 0x33) << 2);
    return ((x >> 4) & 0x0f) | ((x & 0x0f) << 4);
}

/* Two-register miscellaneous (integer part). */
static void simd_two_misc(A64Cpu *c, uint32_t i, bool scalar)
{
    unsigned q = BIT(i, 30), u = BIT(i, 29), size = BITS(i, 23, 22), opc = BITS(i, 16, 12);
    unsigned rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (opc >= 0x0c && opc != 0x12 && opc != 0x13 && opc != 0x14) {
        vfp_two_misc(c, i, scalar);
        return;
    }
    Vec a = vget(c, rn), d = vget(c, rd), r = { { 0, 0 } };
    unsigned n = scalar ? 1 : (q ? 16 : 8) >> size;
    bool qc = false;
    uint64_t m = emask(size);
    if (scalar) {
        bool ok = (opc >= 0x08 && opc <= 0x0b && size == 3 && !(opc == 0x0a && u)) || opc == 0x03 ||
                  opc == 0x07 || ((opc == 0x14 || opc == 0x12) && size < 3 && (opc == 0x14 || u));
        if (!ok)
            undef(c);
    } else if (size == 3 && !q && opc != 0x12 && opc != 0x14 && opc != 0x13) {
        undef(c);
    }
    switch (opc) {
    case 0x00:                                      /* REV64 / REV32 */
    case 0x01: {                                    /* REV16 */
        unsigned cont = opc == 1 ? 1 : (u ? 2 : 3); /* log2 container bytes */
        if (opc == 1 && u)
            undef(c);
        if (size >= cont)
            undef(c);
        unsigned per = 1u << (cont - size);
        for (unsigned e = 0; e < n; e++)
            eset(&r, size, e, eget(&a, size, (e / per) * per + (per - 1 - e % per)));
        break;
    }
    case 0x02:   /* SADDLP/UADDLP */
    case 0x06: { /* SADALP/UADALP */
        if (size == 3)
            undef(c);
        for (unsigned e = 0; e < n / 2; e++) {
            uint64_t x = eget(&a, size, 2 * e), y = eget(&a, size, 2 * e + 1);
            int64_t s = u ? (int64_t)(x + y) : sx(x, size) + sx(y, size);
            if (opc == 6)
                s += (int64_t)eget(&d, size + 1, e);
            eset(&r, size + 1, e, (uint64_t)s);
        }
        break;
    }
    case 0x04: /* CLS/CLZ */
        if (size == 3)
            undef(c);
        for (unsigned e = 0; e < n; e++) {
            unsigned bits = 8u << size;
            uint64_t x = eget(&a, size, e);
            if (!u) /* CLS = CLZ(x ^ (x >> 1, arithmetic)) - 1 */
                x = (x ^ ((uint64_t)sx(x, size) >> 1)) & m;
            unsigned lz = x ? (unsigned)__builtin_clzll(x) - (64 - bits) : bits;
            eset(&r, size, e, u ? lz : lz - 1);
        }
        break;
    case 0x05: /* CNT, NOT, RBIT */
        if (size != (u ? (unsigned)size : 0u) || (u && size > 1))
            undef(c);
        for (unsigned e = 0; e < (q ? 16u : 8u); e++) { /* byte elements whatever size */
            uint64_t x = eget(&a, 0, e);
            eset(&r, 0, e,
                 !u          ? (uint64_t)__builtin_popcountll(x)
                 : size == 0 ? ~x & 0xff
                             : rev_bits8(x));
        }
        break;
    case 0x03: /* SUQADD (unsigned into signed), USQADD (signed into unsigned) */
        for (unsigned e = 0; e < n; e++) {
            uint64_t x = eget(&a, size, e), acc = eget(&d, size, e);
            __int128 v = u ? (__int128)acc + sx(x, size) : (__int128)sx(acc, size) + x;
            eset(&r, size, e, sat128(v, size, !u, &qc));
        }
        break;
    case 0x07: /* SQABS/SQNEG */
        for (unsigned e = 0; e < n; e++) {
            int64_t x = sx(eget(&a, size, e), size);
            uint64_t res;
            if (size == 3) {
                if (x == INT64_MIN) {
                    qc = true;
                    res = (uint64_t)INT64_MAX;
                } else {
                    res = (uint64_t)(u ? -x : (x < 0 ? -x : x));
                }
            } else {
                res = sat_s(u ? -x : (x < 0 ? -x : x), size, &qc);
            }
            eset(&r, size, e, res);
        }
        break;
    case 0x08: /* CMGT/CMGE #0 */
    case 0x09: /* CMEQ/CMLE #0 */
    case 0x0a: /* CMLT #0 */
        if (opc == 0x0a && u)
            undef(c);
        for (unsigned e = 0; e < n; e++) {
            int64_t x = sx(eget(&a, size, e), size);
            bool t;
            if (opc == 0x08)
                t = u ? x >= 0 : x > 0;
            else if (opc == 0x09)
                t = u ? x <= 0 : x == 0;
            else
                t = x < 0;
            eset(&r, size, e, t ? m : 0);
        }
        break;
    case 0x0b: /* ABS/NEG */
        for (unsigned e = 0; e < n; e++) {
            uint64_t x = eget(&a, size, e);
            eset(&r, size, e, (u || sx(x, size) < 0) ? -x : x);
        }
        break;
    case 0x12:   /* XTN/SQXTUN */
    case 0x14: { /* SQXTN/UQXTN */
        if (size == 3)
            undef(c);
        unsigned ws = size + 1, off = (!scalar && q) ? (8 >> size) : 0;
        unsigned cnt = scalar ? 1 : 8 >> size;
        for (unsigned e = 0; e < cnt; e++) {
            uint64_t x = eget(&a, ws, e), res;
            if (opc == 0x12 && !u) {
                res = x & m;
            } else if (opc == 0x12) { /* SQXTUN: signed source, unsigned result */
                int64_t sv = ws == 3 ? (int64_t)x : sx(x, ws);
                res = sat_u(sv, size, &qc);
            } else if (u) {
                res = x > m ? (qc = true, m) : x;
            } else {
                res = sat_s(ws == 3 ? (int64_t)x : sx(x, ws), size, &qc);
            }
            eset(&r, size, e + off, res);
        }
        if (off)
            r.d[0] = d.d[0];
        vset(c, rd, r, !scalar && q);
        if (qc)
            c->fpsr |= A64_FPSR_QC;
        return;
    }
    case 0x13: { /* SHLL (U = 1) */
        if (!u || size == 3)
            undef(c);
        unsigned off = q ? (8 >> size) : 0;
        for (unsigned e = 0; e < (8u >> size); e++)
            eset(&r, size + 1, e, eget(&a, size, e + off) << (8u << size));
        vset(c, rd, r, true);
        return;
    }
    default: undef(c); /* unallocated (the FP forms went to vfp_two_misc) */
    }
    vset(c, rd, r, !scalar && q);
    if (qc)
        c->fpsr |= A64_FPSR_QC;
}

static void simd_across(A64Cpu *c, uint32_t i)
{
    unsigned q = BIT(i, 30), u = BIT(i, 29), size = BITS(i, 23, 22), opc = BITS(i, 16, 12);
    unsigned rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (u && (opc == 0x0c || opc == 0x0f)) { /* FMAXNMV, FMINNMV, FMAXV, FMINV (4S) */
        if (!q || (size & 1))
            undef(c); /* only 4S: 2S and sz = 1 are reserved (4H/8H is U = 0, FEAT_FP16) */
        Vec a = vget(c, rn), r = { { 0, 0 } };
        unsigned fl = 0, op = (opc == 0x0c ? 6 : 4) + (size >> 1); /* fp_arith2 codes */
        /* Arm's Reduce(): the halves first, pairwise. */
        uint64_t lo = fp_arith2(c, &sf_fmt_s, op, eget(&a, 2, 0), eget(&a, 2, 1), &fl);
        uint64_t hi = fp_arith2(c, &sf_fmt_s, op, eget(&a, 2, 2), eget(&a, 2, 3), &fl);
        r.d[0] = fp_arith2(c, &sf_fmt_s, op, lo, hi, &fl);
        vset(c, rd, r, false);
        fp_accrue(c, fl);
        return;
    }
    if (size == 3 || (size == 2 && !q))
        undef(c);
    Vec a = vget(c, rn), r = { { 0, 0 } };
    unsigned n = (q ? 16 : 8) >> size;
    uint64_t acc = eget(&a, size, 0);
    int64_t sacc = sx(acc, size);
    switch (opc) {
    case 0x03: /* SADDLV/UADDLV */
        if (u) {
            uint64_t s = 0;
            for (unsigned e = 0; e < n; e++)
                s += eget(&a, size, e);
            eset(&r, size + 1, 0, s);
        } else {
            int64_t s = 0;
            for (unsigned e = 0; e < n; e++)
                s += sx(eget(&a, size, e), size);
            eset(&r, size + 1, 0, (uint64_t)s);
        }
        break;
    case 0x0a:   /* SMAXV/UMAXV */
    case 0x1a: { /* SMINV/UMINV */
        bool mx = opc == 0x0a;
        for (unsigned e = 1; e < n; e++) {
            uint64_t x = eget(&a, size, e);
            int64_t s = sx(x, size);
            if (u)
                acc = mx ? (x > acc ? x : acc) : (x < acc ? x : acc);
            else
                sacc = mx ? (s > sacc ? s : sacc) : (s < sacc ? s : sacc);
        }
        eset(&r, size, 0, u ? acc : (uint64_t)sacc);
        break;
    }
    case 0x1b: /* ADDV */
        if (u)
            undef(c);
        for (unsigned e = 1; e < n; e++)
            acc += eget(&a, size, e);
        eset(&r, size, 0, acc);
        break;
    default: undef(c); /* unallocated, or FMAXNMV & co. on 4H/8H (U = 0: FEAT_FP16) */
    }
    vset(c, rd, r, false);
}

/* DUP, INS, SMOV, UMOV. */
static void simd_copy(A64Cpu *c, uint32_t i, bool scalar)
{
    unsigned q = BIT(i, 30), op = BIT(i, 29), imm5 = BITS(i, 20, 16), imm4 = BITS(i, 14, 11);
    unsigned rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if ((imm5 & 0xf) == 0)
        undef(c);
    unsigned es = (unsigned)__builtin_ctz(imm5), idx = imm5 >> (es + 1);
    Vec a = vget(c, rn), r = vget(c, rd);
    if (scalar) { /* DUP (element), scalar: MOV Bd/Hd/Sd/Dd, Vn.T[i] */
        if (op || imm4 != 0)
            undef(c);
        Vec s = { { eget(&a, es, idx), 0 } };
        vset(c, rd, s, false);
        return;
    }
    if (op) { /* INS (element) */
        if (!q)
            undef(c);
        eset(&r, es, idx, eget(&a, es, imm4 >> es));
        vset(c, rd, r, true);
        return;
    }
    switch (imm4) {
    case 0:   /* DUP (element) */
    case 1: { /* DUP (general) */
        if (es == 3 && !q)
            undef(c);
        uint64_t x = imm4 == 0 ? eget(&a, es, idx) : get_x(c, rn) & emask(es);
        Vec v = { { 0, 0 } };
        for (unsigned e = 0; e < (16u >> es); e++)
            eset(&v, es, e, x);
        vset(c, rd, v, q);
        return;
    }
    case 3: /* INS (general) */
        if (!q)
            undef(c);
        eset(&r, es, idx, get_x(c, rn));
        vset(c, rd, r, true);
        return;
    case 5: /* SMOV */
        if (es >= (q ? 3u : 2u))
            undef(c);
        set_x(c, rd, q ? (uint64_t)sx(eget(&a, es, idx), es) : (uint32_t)sx(eget(&a, es, idx), es));
        return;
    case 7: /* UMOV */
        if ((q && es != 3) || (!q && es == 3))
            undef(c);
        set_x(c, rd, eget(&a, es, idx));
        return;
    default: undef(c);
    }
}

/* AdvSIMDExpandImm. */
static uint64_t expand_imm(unsigned op, unsigned cmode, uint64_t imm8)
{
    switch (cmode >> 1) {
    case 0: return imm8 * 0x0000000100000001ull;
    case 1: return (imm8 << 8) * 0x0000000100000001ull;
    case 2: return (imm8 << 16) * 0x0000000100000001ull;
    case 3: return (imm8 << 24) * 0x0000000100000001ull;
    case 4: return imm8 * 0x0001000100010001ull;
    case 5: return (imm8 << 8) * 0x0001000100010001ull;
    case 6:
        if (cmode & 1)
            return ((imm8 << 16) | 0xffff) * 0x0000000100000001ull;
        return ((imm8 << 8) | 0xff) * 0x0000000100000001ull;
    default:
        if (!(cmode & 1) && !op)
            return imm8 * 0x0101010101010101ull;
        if (!(cmode & 1) && op) {
            uint64_t r = 0;
            for (unsigned k = 0; k < 8; k++)
                if (imm8 & (1u << k))
                    r |= 0xffull << (8 * k);
            return r;
        }
        if (!op) { /* FMOV (vector, single) */
            uint64_t s = ((imm8 & 0x80) << 24) | ((imm8 & 0x40) ? 0x3e000000u : 0x40000000u) |
                         ((imm8 & 0x3f) << 19);
            return s * 0x0000000100000001ull;
        }
        /* FMOV (vector, double) */
        return ((imm8 & 0x80) << 56) |
               ((imm8 & 0x40) ? 0x3fc0000000000000ull : 0x4000000000000000ull) |
               ((imm8 & 0x3f) << 48);
    }
}

/* MOVI, MVNI, ORR, BIC (vector, immediate), FMOV (vector, immediate). */
static void simd_mod_imm(A64Cpu *c, uint32_t i)
{
    unsigned q = BIT(i, 30), op = BIT(i, 29), cmode = BITS(i, 15, 12), o2 = BIT(i, 11);
    unsigned rd = BITS(i, 4, 0);
    uint64_t imm8 = (BITS(i, 18, 16) << 5) | BITS(i, 9, 5);
    if (o2 || (cmode == 15 && op && !q))
        undef(c);
    uint64_t imm = expand_imm(op, cmode, imm8);
    Vec r = vget(c, rd);
    bool logic = cmode < 12 && (cmode & 1); /* 0xx1, 10x1: ORR, BIC */
    if (logic) {
        for (unsigned k = 0; k < 2; k++)
            r.d[k] = op ? r.d[k] & ~imm : r.d[k] | imm; /* BIC / ORR */
    } else {
        bool mvn = op && cmode < 14; /* MVNI */
        r.d[0] = r.d[1] = mvn ? ~imm : imm;
    }
    vset(c, rd, r, q);
}

/* Shift by immediate (vector and scalar). */
static void simd_shift_imm(A64Cpu *c, uint32_t i, bool scalar)
{
    unsigned q = BIT(i, 30), u = BIT(i, 29), immh = BITS(i, 22, 19), immb = BITS(i, 18, 16);
    unsigned opc = BITS(i, 15, 11), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    unsigned es = 31 - (unsigned)__builtin_clz(immh); /* element size: 8 << es bits */
    unsigned bits = 8u << es, immhb = (immh << 3) | immb;
    unsigned rsh = 2 * bits - immhb, lsh = immhb - bits;
    Vec a = vget(c, rn), d = vget(c, rd), r = { { 0, 0 } };
    bool qc = false;
    uint64_t m = emask(es);
    bool narrow = opc >= 0x10 && opc <= 0x13, longer = opc == 0x14;
    if (opc == 0x1c || opc == 0x1f) { /* SCVTF/UCVTF, FCVTZS/FCVTZU (fixed point, #fbits) */
        if (es < 2 || (es == 3 && !q && !scalar))
            undef(c); /* half precision (FEAT_FP16) or reserved */
        const FpFmt *f = es == 3 ? &sf_fmt_d : &sf_fmt_s;
        unsigned n = scalar ? 1 : (q ? 16 : 8) >> es, fl = 0;
        for (unsigned e = 0; e < n; e++) {
            uint64_t x = eget(&a, es, e);
            eset(&r, es, e,
                 opc == 0x1c ? fp_from_int(c, f, x, bits, !u, rsh, &fl)
                             : fp_to_int(c, f, x, SF_RM_RTZ, bits, !u, rsh, &fl));
        }
        vset(c, rd, r, !scalar && q);
        fp_accrue(c, fl);
        return;
    }
    if (scalar) {
        /* D only, except the saturating shifts; no SHRN/RSHRN or SSHLL/USHLL. */
        if (longer || (narrow && opc < 0x12 && !u) ||
            (!narrow && es != 3 && opc != 0x0e && opc != 0x0c))
            undef(c);
    } else if (es == 3 && !q && !narrow && !longer) {
        undef(c);
    }
    if (narrow || longer) {
        if (es == 3)
            undef(c);
        unsigned n = scalar ? 1 : 8 >> es, off = q && !scalar ? n : 0;
        if (longer) { /* SSHLL/USHLL (UXTL/SXTL): source es, result es + 1 */
            for (unsigned e = 0; e < n; e++) {
                uint64_t x = eget(&a, es, e + off);
                uint64_t w = u ? x : (uint64_t)sx(x, es);
                eset(&r, es + 1, e, w << lsh);
            }
            vset(c, rd, r, true);
            return;
        }
        /* Narrowing: source elements are es + 1, shift right by rsh (1..bits). */
        for (unsigned e = 0; e < n; e++) {
            uint64_t x = eget(&a, es + 1, e);
            int64_t sxv = es + 1 == 3 ? (int64_t)x : sx(x, es + 1);
            bool round = opc & 1;
            uint64_t res;
            if (opc == 0x10 || opc == 0x11) {
                if (!u) { /* SHRN, RSHRN */
                    unsigned __int128 v = x;
                    if (round)
                        v += (unsigned __int128)1 << (rsh - 1);
                    res = (uint64_t)(v >> rsh) & m;
                } else { /* SQSHRUN, SQRSHRUN */
                    __int128 v = sxv;
                    if (round)
                        v += (__int128)1 << (rsh - 1);
                    v >>= rsh;
                    res = v < 0 ? (qc = true, 0) : (v > (__int128)m ? (qc = true, m) : (uint64_t)v);
                }
            } else { /* SQSHRN/UQSHRN, SQRSHRN/UQRSHRN */
                __int128 v = u ? (__int128)x : (__int128)sxv;
                if (round)
                    v += (__int128)1 << (rsh - 1);
                v >>= rsh;
                if (u)
                    res = v > (__int128)m ? (qc = true, m) : (uint64_t)v;
                else {
                    __int128 mx = (__int128)(m >> 1), mn = -mx - 1;
                    res = v > mx   ? (qc = true, (uint64_t)mx)
                          : v < mn ? (qc = true, (uint64_t)mn & m)
                                   : (uint64_t)v & m;
                }
            }
            eset(&r, es, e + off, res);
        }
        if (off)
            r.d[0] = d.d[0];
        vset(c, rd, r, off != 0);
        if (qc)
            c->fpsr |= A64_FPSR_QC;
        return;
    }
    unsigned n = scalar ? 1 : (q ? 16 : 8) >> es;
    for (unsigned e = 0; e < n; e++) {
        uint64_t x = eget(&a, es, e), old = eget(&d, es, e), res;
        int64_t s = sx(x, es);
        switch (opc) {
        case 0x00:   /* SSHR/USHR */
        case 0x02:   /* SSRA/USRA */
        case 0x04:   /* SRSHR/URSHR */
        case 0x06: { /* SRSRA/URSRA */
            __int128 v = u ? (__int128)x : (__int128)s;
            if (opc & 4)
                v += (__int128)1 << (rsh - 1);
            res = (uint64_t)(v >> rsh) & m;
            if (opc & 2)
                res = (res + old) & m;
            break;
        }
        case 0x08: { /* SRI */
            if (!u)
                undef(c);
            uint64_t keep = rsh == bits ? m : (m >> rsh) ^ m;
            res = (rsh == bits ? 0 : x >> rsh) | (old & keep);
            break;
        }
        case 0x0a: /* SHL / SLI */
            res = (x << lsh) & m;
            if (u)
                res |= old & ((1ull << lsh) - 1);
            break;
        case 0x0c:   /* SQSHLU */
        case 0x0e: { /* SQSHL/UQSHL (immediate) */
            if (opc == 0x0c && !u)
                undef(c);
            if (opc == 0x0e && u) {
                res = lsh && (x >> (bits - lsh)) ? (qc = true, m) : (x << lsh) & m;
            } else if (opc == 0x0e) {
                __int128 v = (__int128)s * ((__int128)1 << lsh);
                __int128 mx = (__int128)(m >> 1), mn = -mx - 1;
                res = v > mx   ? (qc = true, (uint64_t)mx)
                      : v < mn ? (qc = true, (uint64_t)mn & m)
                               : (uint64_t)v & m;
            } else {
                __int128 v = (__int128)s * ((__int128)1 << lsh);
                res = v < 0 ? (qc = true, 0) : v > (__int128)m ? (qc = true, m) : (uint64_t)v;
            }
            break;
        }
        default: undef(c); /* unallocated */
        }
        eset(&r, es, e, res);
    }
    vset(c, rd, r, !scalar && q);
    if (qc)
        c->fpsr |= A64_FPSR_QC;
}

/* ZIP, UZP, TRN. */
static void simd_permute(A64Cpu *c, uint32_t i)
{
    unsigned q = BIT(i, 30), size = BITS(i, 23, 22), opc = BITS(i, 14, 12);
    unsigned rm = BITS(i, 20, 16), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if ((size == 3 && !q) || (opc & 3) == 0)
        undef(c);
    Vec a = vget(c, rn), b = vget(c, rm), r = { { 0, 0 } };
    unsigned n = (q ? 16 : 8) >> size, part = opc >> 2;
    for (unsigned e = 0; e < n; e++) {
        uint64_t x;
        switch (opc & 3) {
        case 1: { /* UZP */
            unsigned k = 2 * e + part;
            x = k < n ? eget(&a, size, k) : eget(&b, size, k - n);
            break;
        }
        case 2: /* TRN */ x = eget((e & 1) ? &b : &a, size, (e & ~1u) + part); break;
        default: /* ZIP */ x = eget((e & 1) ? &b : &a, size, part * (n / 2) + e / 2); break;
        }
        eset(&r, size, e, x);
    }
    vset(c, rd, r, q);
}

static void simd_ext(A64Cpu *c, uint32_t i)
{
    unsigned q = BIT(i, 30), imm4 = BITS(i, 14, 11);
    unsigned rm = BITS(i, 20, 16), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (BITS(i, 23, 22) != 0 || (!q && imm4 >= 8))
        undef(c);
    Vec a = vget(c, rn), b = vget(c, rm), r = { { 0, 0 } };
    unsigned n = q ? 16 : 8;
    for (unsigned e = 0; e < n; e++) {
        unsigned k = e + imm4;
        eset(&r, 0, e, k < n ? eget(&a, 0, k) : eget(&b, 0, k - n));
    }
    vset(c, rd, r, q);
}

static void simd_tbl(A64Cpu *c, uint32_t i)
{
    unsigned q = BIT(i, 30), len = BITS(i, 14, 13) + 1, tbx = BIT(i, 12);
    unsigned rm = BITS(i, 20, 16), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (BITS(i, 23, 22) != 0)
        undef(c);
    Vec tab[4], idx = vget(c, rm), r = vget(c, rd);
    for (unsigned k = 0; k < len; k++)
        tab[k] = vget(c, (rn + k) % 32);
    for (unsigned e = 0; e < (q ? 16u : 8u); e++) {
        unsigned x = (unsigned)eget(&idx, 0, e);
        if (x < 16 * len)
            eset(&r, 0, e, eget(&tab[x / 16], 0, x % 16));
        else if (!tbx)
            eset(&r, 0, e, 0);
    }
    vset(c, rd, r, q);
}

/* ---- scalar floating point (Arm ARM shared pseudocode: FPUnpack, FPProcessNaNs, FPRound) ---- */

/* ftype 00 single, 01 double, 11 half; 10 is reserved. */
static const FpFmt *fp_fmt(A64Cpu *c, unsigned ftype, bool half_ok)
{
    switch (ftype) {
    case 0: return &sf_fmt_s;
    case 1: return &sf_fmt_d;
    case 3:
        if (half_ok)
            return &sf_fmt_h;
        undef(c); /* half-precision arithmetic (FEAT_FP16) is not implemented */
    default: undef(c);
    }
}

static inline uint64_t fmask(const FpFmt *f)
{
    return (f->sign << 1) - 1;
}

/* Rounding: FPCR.RMode (RN, RP, RM, RZ), Arm's tininess before rounding, FZ on S/D. */
static int fp_rm(A64Cpu *c, const FpFmt *f, int mode)
{
    static const int rmode[4] = { SF_RM_RNE, SF_RM_RUP, SF_RM_RDN, SF_RM_RTZ };
    int rm = mode >= 0 ? mode : rmode[(c->fpcr >> 22) & 3];
    rm |= SF_TININESS_BEFORE;
    if ((c->fpcr & A64_FPCR_FZ) && f != &sf_fmt_h)
        rm |= SF_FLUSH_OUTPUT;
    return rm;
}

static void fp_accrue(A64Cpu *c, unsigned fl)
{
    c->fpsr |= ((fl & SF_FLAG_NV) ? A64_FPSR_IOC : 0) | ((fl & SF_FLAG_DZ) ? A64_FPSR_DZC : 0) |
               ((fl & SF_FLAG_OF) ? A64_FPSR_OFC : 0) | ((fl & SF_FLAG_UF) ? A64_FPSR_UFC : 0) |
               ((fl & SF_FLAG_NX) ? A64_FPSR_IXC : 0);
}

/* FPUnpack with FPCR.FZ: a subnormal single/double input reads as a zero of its sign and
 * sets IDC. */
static uint64_t fp_in(A64Cpu *c, const FpFmt *f, uint64_t x)
{
    x &= fmask(f);
    if ((c->fpcr & A64_FPCR_FZ) && f != &sf_fmt_h && (x & ~f->sign) != 0 &&
        (x & ~f->sign) < (1ull << (f->p - 1))) {
        c->fpsr |= A64_FPSR_IDC;
        return x & f->sign;
    }
    return x;
}

/* FPProcessNaNs (two or three operands, in the architecture's order): the first signalling
 * NaN quietened (IOC), else the first quiet NaN; the default NaN with FPCR.DN. */
static bool fp_nans(A64Cpu *c, const FpFmt *f, const uint64_t *ops, unsigned n, uint64_t *r,
                    unsigned *fl)
{
    int pick = -1;
    for (unsigned k = 0; k < n && pick < 0; k++)
        if (fp_is_snan(f, ops[k])) {
            pick = (int)k;
            *fl |= SF_FLAG_NV;
        }
    for (unsigned k = 0; k < n && pick < 0; k++)
        if (fp_is_nan(f, ops[k]))
            pick = (int)k;
    if (pick < 0)
        return false;
    *r = (c->fpcr & A64_FPCR_DN) ? f->qnan : ops[pick] | (1ull << (f->p - 2));
    return true;
}

static inline void set_vfp(A64Cpu *c, unsigned rd, uint64_t v)
{
    c->v[rd][0] = v;
    c->v[rd][1] = 0;
}

/* FPConvertNaN: sign and the top fraction bits kept, quietened. */
static uint64_t fp_convert_nan(const FpFmt *to, const FpFmt *from, uint64_t x)
{
    uint64_t frac = x & ((1ull << (from->p - 1)) - 1);
    int sh = to->p - from->p;
    frac = sh >= 0 ? frac << sh : frac >> -sh;
    return ((x & from->sign) ? to->sign : 0) | to->inf | frac | (1ull << (to->p - 2));
}

/* FPConvert between precisions: FZ on single/double inputs, NaNs converted (or the default
 * NaN), and FPCR.AHP's alternative half precision (no infinities or NaNs: those convert to
 * zero or the largest magnitude with IOC; the all-ones exponent is a normal binade). */
static uint64_t fp_convert(A64Cpu *c, const FpFmt *to, const FpFmt *from, uint64_t a, unsigned *fl)
{
    bool ahp = (c->fpcr & A64_FPCR_AHP) != 0;
    a = fp_in(c, from, a);
    if (ahp && from == &sf_fmt_h) {
        if (((a >> 10) & 0x1f) == 0x1f) { /* 2^16 * 1.frac: exact in single precision */
            uint64_t s = ((a & 0x8000) << 16) | ((uint64_t)(16 + 127) << 23) | ((a & 0x3ff) << 13);
            return to == &sf_fmt_s ? s : sf_cvt(to, &sf_fmt_s, s, SF_RM_RNE, fl);
        }
        return sf_cvt(to, from, a, SF_RM_RNE, fl); /* exact */
    }
    if (ahp && to == &sf_fmt_h) {
        uint64_t sign = (a & from->sign) ? 0x8000 : 0;
        if (fp_is_nan(from, a)) {
            *fl |= SF_FLAG_NV;
            return sign;
        }
        if ((a & ~from->sign) == from->inf) {
            *fl |= SF_FLAG_NV;
            return sign | 0x7fff;
        }
        FpVal x = fp_unpack(from, a);
        if (x.cls == FC_ZERO)
            return sign;
        unsigned t = 0;
        uint64_t r = fp_round_pack(&sf_fmt_ahp, x.sign, x.e, x.m, false, fp_rm(c, to, -1), &t);
        if (t & SF_FLAG_OF) { /* beyond the largest exponent: invalid, not overflow */
            *fl |= SF_FLAG_NV;
            return sign | 0x7fff;
        }
        *fl |= t;
        return r;
    }
    if (fp_is_nan(from, a)) {
        if (fp_is_snan(from, a))
            *fl |= SF_FLAG_NV;
        return (c->fpcr & A64_FPCR_DN) ? to->qnan : fp_convert_nan(to, from, a);
    }
    return sf_cvt(to, from, a, fp_rm(c, to, -1), fl);
}

/* Round to an integral value in the same format (FRINT*); exact is whether NX is raised. */
static uint64_t fp_round_int(const FpFmt *f, uint64_t a, int rm, bool exact, unsigned *fl)
{
    FpVal x = fp_unpack(f, a);
    if (x.cls != FC_FINITE || x.e >= 0)
        return a;
    uint64_t q;
    bool nz;
    if (x.e < -64) {
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
    if (nz && exact)
        *fl |= SF_FLAG_NX;
    if (q == 0)
        return x.sign ? f->sign : 0; /* a zero keeps the operand's sign */
    unsigned dummy = 0;
    return fp_round_pack(f, x.sign, 0, q, false, SF_RM_RTZ, &dummy);
}

static uint64_t fp_minmax(A64Cpu *c, const FpFmt *f, uint64_t a, uint64_t b, bool is_max, bool num,
                          unsigned *fl)
{
    uint64_t r;
    if (num) { /* FMAXNM/FMINNM: a quiet NaN loses against a number */
        bool qa = fp_is_nan(f, a) && !fp_is_snan(f, a), qb = fp_is_nan(f, b) && !fp_is_snan(f, b);
        if (qa && !fp_is_nan(f, b))
            a = b;
        else if (qb && !fp_is_nan(f, a))
            b = a;
    }
    uint64_t ops[2] = { a, b };
    if (fp_nans(c, f, ops, 2, &r, fl))
        return r;
    bool sa = a & f->sign, sb = b & f->sign;
    uint64_t ma = a & ~f->sign, mb = b & ~f->sign;
    if (ma == 0 && mb == 0) /* max(+0, -0) = +0, min = -0 */
        return is_max ? (sa && sb ? a : (sa ? b : a)) : (sa ? a : b);
    /* Order of sign-magnitude values. */
    bool a_lt_b = sa != sb ? sa : (sa ? ma > mb : ma < mb);
    return (a_lt_b == is_max) ? b : a;
}

/* FPCompare as NZCV: unordered 0011, equal 0110, less 1000, greater 0010. */
static unsigned fp_compare(A64Cpu *c, const FpFmt *f, uint64_t a, uint64_t b, bool signal_all,
                           unsigned *fl)
{
    if (fp_is_nan(f, a) || fp_is_nan(f, b)) {
        if (signal_all || fp_is_snan(f, a) || fp_is_snan(f, b))
            *fl |= SF_FLAG_NV;
        return 0x3;
    }
    (void)c;
    bool sa = a & f->sign, sb = b & f->sign;
    uint64_t ma = a & ~f->sign, mb = b & ~f->sign;
    if ((ma == 0 && mb == 0) || a == b)
        return 0x6;
    bool lt = sa != sb ? sa : (sa ? ma > mb : ma < mb);
    return lt ? 0x8 : 0x2;
}

static bool cond_holds(A64Cpu *c, unsigned cond)
{
    uint64_t nzcv = a64_nzcv(c) >> 28;
    bool n = nzcv & 8, z = nzcv & 4, cf = nzcv & 2, v = nzcv & 1, t;
    switch (cond >> 1) {
    case 0: t = z; break;
    case 1: t = cf; break;
    case 2: t = n; break;
    case 3: t = v; break;
    case 4: t = cf && !z; break;
    case 5: t = n == v; break;
    case 6: t = n == v && !z; break;
    default: t = true; break;
    }
    if ((cond & 1) && cond != 15)
        t = !t;
    return t;
}

/*
 * Host fast path (x86-64, core/hostfp.h) for single/double FMUL, FDIV, FADD, FSUB, FSQRT and
 * the fused multiply-adds (FMA3 CPUs only): one SSE instruction whose result is used only
 * when it is certain to equal the exact path's, FPSR included. The operands must be normal
 * or zero (no NaN, so no FPProcessNaNs or DN; no infinity; no subnormal, so no FZ input
 * flushing or IDC) and the rounded result finite, normal, above the smallest normal and
 * below the largest finite magnitude: rounding is monotonic, so the exact value was then
 * neither tiny (Arm detects tininess before rounding, x86 after; FZ flushes tiny results)
 * nor an overflow, and the only flag the operation can raise is IXC, which is x86's PE.
 * Anything else goes to the exact path. In RN with IXC already set and the thread's
 * default MXCSR the instruction runs as is; otherwise under its own MXCSR (RC from
 * FPCR.RMode), reading PE back. a64_simd_set_host_fpu(false) forces the exact path.
 */
enum { HOP_MUL = 0, HOP_DIV = 1, HOP_ADD = 2, HOP_SUB = 3, HOP_SQRT, HOP_FMA };

#ifdef HOSTFP
static bool host_enabled = true;

static inline bool host_operand(const FpFmt *f, uint64_t x)
{
    uint64_t m = x & ~f->sign;
    return m == 0 || (m >= (1ull << (f->p - 1)) && m < f->inf);
}

/* op on masked operands (FMA: a * b + c); true with *r and *fl set when the host did it. */
static inline __attribute__((always_inline)) bool host_arith(A64Cpu *c, const FpFmt *f, int op,
                                                             uint64_t a, uint64_t b, uint64_t d,
                                                             uint64_t *r, unsigned *fl)
{
    if (!host_enabled || f == &sf_fmt_h || !host_operand(f, a) ||
        (op != HOP_SQRT && !host_operand(f, b)) || (op == HOP_FMA && !host_operand(f, d)) ||
        (op == HOP_FMA && !hostfp_has_fma()))
        return false;
    bool dbl = f == &sf_fmt_d;
    uint32_t sa = (uint32_t)a, sb = (uint32_t)b, sd = (uint32_t)d, st = 0;
    uint64_t x;
    unsigned mode = (c->fpcr >> 22) & 3; /* RMode: RN, RP, RM, RZ */
    if (mode == 0 && (c->fpsr & A64_FPSR_IXC) && hostfp_env_default()) {
        switch (op) {
        case HOP_MUL: x = dbl ? hostfp_plain_mul_d(a, b) : hostfp_plain_mul_s(sa, sb); break;
        case HOP_DIV: x = dbl ? hostfp_plain_div_d(a, b) : hostfp_plain_div_s(sa, sb); break;
        case HOP_ADD: x = dbl ? hostfp_plain_add_d(a, b) : hostfp_plain_add_s(sa, sb); break;
        case HOP_SUB: x = dbl ? hostfp_plain_sub_d(a, b) : hostfp_plain_sub_s(sa, sb); break;
        case HOP_SQRT: x = dbl ? hostfp_plain_sqrt_d(a) : hostfp_plain_sqrt_s(sa); break;
        default: x = dbl ? hostfp_plain_fma_d(a, b, d) : hostfp_plain_fma_s(sa, sb, sd); break;
        }
    } else {
        static const int rms[4] = { SF_RM_RNE, SF_RM_RUP, SF_RM_RDN, SF_RM_RTZ };
        int rm = rms[mode];
        switch (op) {
        case HOP_MUL: x = dbl ? hostfp_mul_d(a, b, rm, &st) : hostfp_mul_s(sa, sb, rm, &st); break;
        case HOP_DIV: x = dbl ? hostfp_div_d(a, b, rm, &st) : hostfp_div_s(sa, sb, rm, &st); break;
        case HOP_ADD: x = dbl ? hostfp_add_d(a, b, rm, &st) : hostfp_add_s(sa, sb, rm, &st); break;
        case HOP_SUB: x = dbl ? hostfp_sub_d(a, b, rm, &st) : hostfp_sub_s(sa, sb, rm, &st); break;
        case HOP_SQRT: x = dbl ? hostfp_sqrt_d(a, rm, &st) : hostfp_sqrt_s(sa, rm, &st); break;
        default:
            x = dbl ? hostfp_fma_d(a, b, d, rm, &st) : hostfp_fma_s(sa, sb, sd, rm, &st);
            break;
        }
    }
    uint64_t mag = x & ~f->sign;
    if (mag <= (1ull << (f->p - 1)) || mag >= f->max)
        return false;
    if (st & HOSTFP_PE)
        *fl |= SF_FLAG_NX;
    *r = x;
    return true;
}
#else
static bool host_enabled = false;

static inline bool host_arith(A64Cpu *c, const FpFmt *f, int op, uint64_t a, uint64_t b, uint64_t d,
                              uint64_t *r, unsigned *fl)
{
    (void)c, (void)f, (void)op, (void)a, (void)b, (void)d, (void)r, (void)fl;
    return false;
}
#endif

bool a64_simd_set_host_fpu(bool enable)
{
    bool old = host_enabled;
#ifdef HOSTFP
    host_enabled = enable;
#else
    (void)enable;
#endif
    return old;
}

/* Two-operand arithmetic: FMUL, FDIV, FADD, FSUB, FMAX, FMIN, FMAXNM, FMINNM, FNMUL. */
static uint64_t fp_arith2(A64Cpu *c, const FpFmt *f, unsigned op, uint64_t a, uint64_t b,
                          unsigned *fl)
{
    uint64_t r;
    if ((op < 4 || op == 8) &&
        host_arith(c, f, op == 8 ? HOP_MUL : (int)op, a & fmask(f), b & fmask(f), 0, &r, fl))
        return op == 8 ? r ^ f->sign : r; /* FNMUL: FPNeg of the product */
    int rm = fp_rm(c, f, -1);
    a = fp_in(c, f, a);
    b = fp_in(c, f, b);
    if (op >= 4 && op <= 7)
        return fp_minmax(c, f, a, b, !(op & 1), op >= 6, fl);
    uint64_t ops[2] = { a, b };
    if (!fp_nans(c, f, ops, 2, &r, fl)) {
        switch (op) {
        case 0:
        case 8: r = sf_mul(f, a, b, rm, fl); break;
        case 1: r = sf_div(f, a, b, rm, fl); break;
        case 2: r = sf_add(f, a, b, rm, fl); break;
        default: r = sf_add(f, a, b ^ f->sign, rm, fl); break;
        }
    }
    if (op == 8)
        r ^= f->sign; /* FNMUL: FPNeg of the product, NaN included */
    return r;
}

/* FMADD, FMSUB, FNMADD, FNMSUB: (addend, op1, op2) after the negations. */
static uint64_t fp_muladd(A64Cpu *c, const FpFmt *f, uint64_t ad, uint64_t n, uint64_t m,
                          unsigned *fl)
{
    uint64_t r;
    if (host_arith(c, f, HOP_FMA, n & fmask(f), m & fmask(f), ad & fmask(f), &r, fl))
        return r;
    int rm = fp_rm(c, f, -1);
    ad = fp_in(c, f, ad);
    n = fp_in(c, f, n);
    m = fp_in(c, f, m);
    uint64_t ops[3] = { ad, n, m };
    bool nan = fp_nans(c, f, ops, 3, &r, fl);
    uint64_t mn = n & ~f->sign, mm = m & ~f->sign;
    bool inf_zero = (mn == f->inf && mm == 0) || (mn == 0 && mm == f->inf);
    if (fp_is_nan(f, ad) && !fp_is_snan(f, ad) && inf_zero) {
        *fl |= SF_FLAG_NV;
        return f->qnan;
    }
    if (nan)
        return r;
    return sf_fma(f, n, m, ad, rm, fl);
}

/* Float to integer or fixed point (fbits), saturating; NaN gives 0 (IOC). */
static uint64_t fp_to_int(A64Cpu *c, const FpFmt *f, uint64_t a, int rm, unsigned width,
                          bool is_signed, unsigned fbits, unsigned *fl)
{
    a = fp_in(c, f, a);
    if (fp_is_nan(f, a)) {
        *fl |= SF_FLAG_NV;
        return 0;
    }
    uint64_t r = sf_to_int(f, a, (int)fbits, rm & SF_RM_MASK, (int)width, is_signed, fl);
    return width == 32 ? (uint32_t)r : r;
}

static uint64_t fp_from_int(A64Cpu *c, const FpFmt *f, uint64_t x, unsigned width, bool is_signed,
                            unsigned fbits, unsigned *fl)
{
    if (width == 32)
        x = is_signed ? (uint64_t)(int64_t)(int32_t)x : (uint32_t)x;
    bool neg = is_signed && (int64_t)x < 0;
    return sf_from_int(f, neg, neg ? -x : x, -(int)fbits, fp_rm(c, f, -1), fl);
}

/* Conversion between floating point and integer, FMOV (general); fixed-point forms when
 * !BIT(21). */
static void fp_int(A64Cpu *c, uint32_t i)
{
    unsigned sf = BIT(i, 31), ftype = BITS(i, 23, 22), rmode = BITS(i, 20, 19);
    unsigned opc = BITS(i, 18, 16), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    unsigned width = sf ? 64 : 32, fbits = 0;
    if (BIT(i, 29))
        undef(c);
    if (!BIT(i, 21)) { /* fixed point: FCVTZS/FCVTZU (rmode 11), SCVTF/UCVTF (rmode 00) */
        unsigned scale = BITS(i, 15, 10);
        if (!sf && scale < 32)
            undef(c);
        fbits = 64 - scale;
        if (!((rmode == 3 && opc < 2) || (rmode == 0 && (opc == 2 || opc == 3))))
            undef(c);
    } else if (opc == 6 || opc == 7) {
        bool to_v = opc == 7;
        unsigned kind; /* 0: 32-bit S, 1: 64-bit D, 2: V.D[1] */
        if (rmode == 0 && ftype == 0 && !sf)
            kind = 0;
        else if (rmode == 0 && ftype == 1 && sf)
            kind = 1;
        else if (rmode == 1 && ftype == 2 && sf)
            kind = 2;
        else
            undef(c); /* and the half-precision forms (FEAT_FP16) */
        if (to_v) {
            uint64_t x = get_x(c, rn);
            if (kind == 2) {
                c->v[rd][1] = x;
            } else {
                c->v[rd][0] = kind == 0 ? (uint32_t)x : x;
                c->v[rd][1] = 0;
            }
        } else {
            uint64_t x = kind == 2 ? c->v[rn][1] : c->v[rn][0];
            set_x(c, rd, kind == 0 ? (uint32_t)x : x);
        }
        return;
    } else if (!(opc < 2 || ((opc == 2 || opc == 3 || opc == 4 || opc == 5) && rmode == 0))) {
        undef(c);
    }
    const FpFmt *f = fp_fmt(c, ftype, false);
    unsigned fl = 0;
    if (opc == 2 || opc == 3) { /* SCVTF, UCVTF */
        uint64_t r = fp_from_int(c, f, get_x(c, rn), width, opc == 2, fbits, &fl);
        set_vfp(c, rd, r);
    } else {
        static const int rmodes[4] = { SF_RM_RNE, SF_RM_RUP, SF_RM_RDN, SF_RM_RTZ };
        int rm = opc >= 4 ? SF_RM_RMM : rmodes[rmode];
        uint64_t r = fp_to_int(c, f, c->v[rn][0], rm, width, !(opc & 1), fbits, &fl);
        set_x(c, rd, r);
    }
    fp_accrue(c, fl);
}

/* FP data processing, one source. */
static void fp_dp1(A64Cpu *c, uint32_t i)
{
    unsigned ftype = BITS(i, 23, 22), opc = BITS(i, 20, 15), rn = BITS(i, 9, 5);
    unsigned rd = BITS(i, 4, 0);
    if (BIT(i, 31) || BIT(i, 29))
        undef(c);
    if ((opc & 0x3c) == 0x04) { /* FCVT between precisions */
        const FpFmt *from = fp_fmt(c, ftype, true), *to = fp_fmt(c, opc & 3, true);
        if (from == to)
            undef(c);
        unsigned fl = 0;
        uint64_t r = fp_convert(c, to, from, c->v[rn][0], &fl);
        set_vfp(c, rd, r);
        fp_accrue(c, fl);
        return;
    }
    const FpFmt *f = fp_fmt(c, ftype, false);
    uint64_t a = c->v[rn][0] & fmask(f), r;
    unsigned fl = 0;
    switch (opc) {
    case 0: r = a; break;            /* FMOV */
    case 1: r = a & ~f->sign; break; /* FABS */
    case 2: r = a ^ f->sign; break;  /* FNEG */
    case 3:                          /* FSQRT */
        if (host_arith(c, f, HOP_SQRT, a, 0, 0, &r, &fl))
            break;
        a = fp_in(c, f, a);
        if (!fp_nans(c, f, &a, 1, &r, &fl))
            r = sf_sqrt(f, a, fp_rm(c, f, -1), &fl);
        break;
    case 8:    /* FRINTN */
    case 9:    /* FRINTP */
    case 10:   /* FRINTM */
    case 11:   /* FRINTZ */
    case 12:   /* FRINTA */
    case 14:   /* FRINTX */
    case 15: { /* FRINTI */
        static const int modes[8] = { SF_RM_RNE, SF_RM_RUP, SF_RM_RDN, SF_RM_RTZ,
                                      SF_RM_RMM, 0,         -1,        -1 };
        int rm = modes[opc - 8] >= 0 ? modes[opc - 8] : fp_rm(c, f, -1) & SF_RM_MASK;
        a = fp_in(c, f, a);
        if (!fp_nans(c, f, &a, 1, &r, &fl))
            r = fp_round_int(f, a, rm, opc == 14, &fl);
        break;
    }
    default: undef(c);
    }
    set_vfp(c, rd, r);
    fp_accrue(c, fl);
}

static void fp_dp2(A64Cpu *c, uint32_t i)
{
    unsigned ftype = BITS(i, 23, 22), rm = BITS(i, 20, 16), opc = BITS(i, 15, 12);
    unsigned rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (BIT(i, 31) || BIT(i, 29) || opc > 8)
        undef(c);
    const FpFmt *f = fp_fmt(c, ftype, false);
    unsigned fl = 0;
    uint64_t r = fp_arith2(c, f, opc, c->v[rn][0], c->v[rm][0], &fl);
    set_vfp(c, rd, r);
    fp_accrue(c, fl);
}

static void fp_dp3(A64Cpu *c, uint32_t i)
{
    unsigned ftype = BITS(i, 23, 22), o1 = BIT(i, 21), rm = BITS(i, 20, 16), o0 = BIT(i, 15);
    unsigned ra = BITS(i, 14, 10), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (BIT(i, 31) || BIT(i, 29))
        undef(c);
    const FpFmt *f = fp_fmt(c, ftype, false);
    uint64_t a = c->v[ra][0] & fmask(f), n = c->v[rn][0] & fmask(f), m = c->v[rm][0] & fmask(f);
    if (o1) /* FNMADD, FNMSUB: the addend negated */
        a ^= f->sign;
    if (o0 != o1) /* FMSUB, FNMADD: the first factor negated */
        n ^= f->sign;
    unsigned fl = 0;
    uint64_t r = fp_muladd(c, f, a, n, m, &fl);
    set_vfp(c, rd, r);
    fp_accrue(c, fl);
}

/* FCMP, FCMPE (register or #0.0). */
static void fp_cmp(A64Cpu *c, uint32_t i)
{
    unsigned ftype = BITS(i, 23, 22), rm = BITS(i, 20, 16), rn = BITS(i, 9, 5);
    unsigned op2 = BITS(i, 4, 0);
    if (BIT(i, 31) || BIT(i, 29) || BITS(i, 15, 14) != 0 || (op2 & 7) != 0)
        undef(c);
    const FpFmt *f = fp_fmt(c, ftype, false);
    unsigned fl = 0;
    uint64_t a = fp_in(c, f, c->v[rn][0]);
    uint64_t b = (op2 & 8) ? 0 : fp_in(c, f, c->v[rm][0]);
    a64_set_nzcv(c, (uint64_t)fp_compare(c, f, a, b, op2 & 16, &fl) << 28);
    fp_accrue(c, fl);
}

/* FCCMP, FCCMPE. */
static void fp_ccmp(A64Cpu *c, uint32_t i)
{
    unsigned ftype = BITS(i, 23, 22), rm = BITS(i, 20, 16), cond = BITS(i, 15, 12);
    unsigned rn = BITS(i, 9, 5), e = BIT(i, 4), nzcv = BITS(i, 3, 0);
    if (BIT(i, 31) || BIT(i, 29))
        undef(c);
    const FpFmt *f = fp_fmt(c, ftype, false);
    if (!cond_holds(c, cond)) {
        a64_set_nzcv(c, (uint64_t)nzcv << 28);
        return;
    }
    unsigned fl = 0;
    uint64_t a = fp_in(c, f, c->v[rn][0]), b = fp_in(c, f, c->v[rm][0]);
    a64_set_nzcv(c, (uint64_t)fp_compare(c, f, a, b, e, &fl) << 28);
    fp_accrue(c, fl);
}

/* FMOV (scalar, immediate): VFPExpandImm. */
static void fp_imm(A64Cpu *c, uint32_t i)
{
    unsigned ftype = BITS(i, 23, 22), rd = BITS(i, 4, 0);
    uint64_t imm8 = BITS(i, 20, 13);
    if (BIT(i, 31) || BIT(i, 29) || BITS(i, 9, 5) != 0)
        undef(c);
    const FpFmt *f = fp_fmt(c, ftype, false);
    uint64_t v = expand_imm(f == &sf_fmt_d, 15, imm8);
    set_vfp(c, rd, f == &sf_fmt_d ? v : (uint32_t)v);
}

/* FCSEL. */
static void fp_csel(A64Cpu *c, uint32_t i)
{
    unsigned ftype = BITS(i, 23, 22), rm = BITS(i, 20, 16), cond = BITS(i, 15, 12);
    unsigned rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (BIT(i, 31) || BIT(i, 29))
        undef(c);
    const FpFmt *f = fp_fmt(c, ftype, false);
    uint64_t x = cond_holds(c, cond) ? c->v[rn][0] : c->v[rm][0];
    set_vfp(c, rd, x & fmask(f));
}

/* ---- Advanced SIMD floating point (vector and scalar forms, single and double) ---- */

/* FPCompareEQ/GE/GT as an all-ones mask (kind 0 EQ, 1 GE, 2 GT; abs: FACGE/FACGT). */
static uint64_t fp_cmp_mask(A64Cpu *c, const FpFmt *f, uint64_t a, uint64_t b, unsigned kind,
                            bool abs, unsigned *fl)
{
    a = fp_in(c, f, a);
    b = fp_in(c, f, b);
    if (abs) {
        a &= ~f->sign;
        b &= ~f->sign;
    }
    unsigned nzcv = fp_compare(c, f, a, b, kind != 0, fl);
    bool t = kind == 0 ? nzcv == 0x6 : kind == 1 ? (nzcv == 0x6 || nzcv == 0x2) : nzcv == 0x2;
    return t ? fmask(f) : 0;
}

/* 2.0 (1.5 with half set) of format f, with the given sign bit. */
static inline uint64_t fp_two(const FpFmt *f, uint64_t sign, bool half)
{
    return sign | (half ? (uint64_t)f->bias << (f->p - 1) | 1ull << (f->p - 2)
                        : (uint64_t)(f->bias + 1) << (f->p - 1));
}

/* FMULX (FPMulX): FMUL, except that infinity times zero is 2.0 with the product's sign. */
static uint64_t fp_mulx(A64Cpu *c, const FpFmt *f, uint64_t a, uint64_t b, unsigned *fl)
{
    a = fp_in(c, f, a);
    b = fp_in(c, f, b);
    uint64_t ops[2] = { a, b }, r, ma = a & ~f->sign, mb = b & ~f->sign;
    if (fp_nans(c, f, ops, 2, &r, fl))
        return r;
    if ((ma == f->inf && mb == 0) || (ma == 0 && mb == f->inf))
        return fp_two(f, (a ^ b) & f->sign, false);
    return sf_mul(f, a, b, fp_rm(c, f, -1), fl);
}

/* FRECPS, 2 - a * b (FPRecipStepFused), and FRSQRTS, (3 - a * b) / 2 (FPRSqrtStepFused), each
 * rounded once; infinity times zero gives exactly 2.0 or 1.5. The negation of a comes first,
 * so a NaN from a keeps the flipped sign. */
static uint64_t fp_step(A64Cpu *c, const FpFmt *f, uint64_t a, uint64_t b, bool rsqrt, unsigned *fl)
{
    a = fp_in(c, f, a ^ f->sign);
    b = fp_in(c, f, b);
    uint64_t ops[2] = { a, b }, r, ma = a & ~f->sign, mb = b & ~f->sign;
    if (fp_nans(c, f, ops, 2, &r, fl))
        return r;
    if ((ma == f->inf && mb == 0) || (ma == 0 && mb == f->inf))
        return fp_two(f, 0, rsqrt);
    if (ma == f->inf || mb == f->inf)
        return f->inf | ((a ^ b) & f->sign);
    uint64_t addend = rsqrt ? fp_two(f, 0, true) + (1ull << (f->p - 1)) : fp_two(f, 0, false);
    return sf_fma_scaled(f, a, b, addend, rsqrt ? -1 : 0, fp_rm(c, f, -1), fl);
}

/* RecipEstimate: a in [256, 512) stands for a / 512 in [0.5, 1); the result in [256, 512)
 * for its reciprocal in (1, 2], in steps of 1/256. */
static unsigned recip_estimate(unsigned a)
{
    a = a * 2 + 1;
    unsigned b = (1u << 19) / a;
    return (b + 1) / 2;
}

/* RecipSqrtEstimate: a in [128, 512) stands for a / 512 in [0.25, 1); the result in [256, 512)
 * for its reciprocal square root. The Arm ARM counts b up from 512 while
 * a * (b + 1)^2 < 2^28; the predicate falls as b grows, so a binary search for the first b
 * where it fails gives the same b. */
static unsigned rsqrt_estimate(unsigned a)
{
    uint64_t x = a < 256 ? a * 2 + 1 : ((a >> 1 << 1) + 1) * 2;
    unsigned lo = 512, hi = 1024; /* the answer is in [lo, hi] */
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (x * (mid + 1) * (mid + 1) < (1u << 28))
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo + 1) / 2;
}

/* FRECPE (FPRecipEstimate): 8 bits of 1/x. */
static uint64_t fp_recip_estimate(A64Cpu *c, const FpFmt *f, uint64_t x, unsigned *fl)
{
    const uint64_t frac52 = (1ull << 52) - 1;
    int mb = f->p - 1;
    uint64_t r;
    x = fp_in(c, f, x);
    if (fp_nans(c, f, &x, 1, &r, fl))
        return r;
    uint64_t sign = x & f->sign, mag = x & ~f->sign;
    if (mag == f->inf)
        return sign;
    if (mag == 0) {
        *fl |= SF_FLAG_DZ;
        return sign | f->inf;
    }
    if (mag < 1ull << (mb - 2)) {            /* |x| < 2^-(bias + 1): the reciprocal overflows */
        unsigned mode = (c->fpcr >> 22) & 3; /* RN, RP, RM, RZ */
        bool to_inf = mode == 0 || (mode == 1 && !sign) || (mode == 2 && sign);
        *fl |= SF_FLAG_OF | SF_FLAG_NX;
        return sign | (to_inf ? f->inf : f->max);
    }
    int exp = (int)(mag >> mb);
    if ((c->fpcr & A64_FPCR_FZ) && exp >= 2 * f->bias - 1) { /* |1/x| < 2^(1 - bias) */
        *fl |= SF_FLAG_UF;                                   /* UFC only, not IXC */
        return sign;
    }
    uint64_t frac = (mag << (52 - mb)) & frac52; /* the fraction as 52 bits */
    if (exp == 0) {
        if (!(frac >> 51)) {
            exp = -1;
            frac = (frac << 2) & frac52;
        } else {
            frac = (frac << 1) & frac52;
        }
    }
    unsigned est = recip_estimate(256 | (unsigned)(frac >> 44));
    int rexp = 2 * f->bias - 1 - exp;
    frac = (uint64_t)(est & 0xff) << 44;
    if (rexp == 0) {
        frac = 1ull << 51 | frac >> 1;
    } else if (rexp == -1) {
        frac = 1ull << 50 | frac >> 2;
        rexp = 0;
    }
    return sign | (uint64_t)rexp << mb | frac >> (52 - mb);
}

/* FRSQRTE (FPRSqrtEstimate): 8 bits of 1/sqrt(x). */
static uint64_t fp_rsqrt_estimate(A64Cpu *c, const FpFmt *f, uint64_t x, unsigned *fl)
{
    const uint64_t frac52 = (1ull << 52) - 1;
    int mb = f->p - 1;
    uint64_t r;
    x = fp_in(c, f, x);
    if (fp_nans(c, f, &x, 1, &r, fl))
        return r;
    uint64_t sign = x & f->sign, mag = x & ~f->sign;
    if (mag == 0) {
        *fl |= SF_FLAG_DZ;
        return sign | f->inf;
    }
    if (sign) {
        *fl |= SF_FLAG_NV;
        return f->qnan;
    }
    if (mag == f->inf)
        return 0;
    int exp = (int)(mag >> mb);
    uint64_t frac = (mag << (52 - mb)) & frac52;
    if (exp == 0) { /* subnormal: normalise, the exponent going below zero */
        while (!(frac >> 51)) {
            frac <<= 1;
            exp--;
        }
        frac = (frac << 1) & frac52;
    }
    /* Scaled to [0.25, 1), keeping the parity of the exponent. */
    unsigned scaled = (exp & 1) ? 128 | (unsigned)(frac >> 45) : 256 | (unsigned)(frac >> 44);
    int rexp = (3 * f->bias - 1 - exp) / 2;
    unsigned est = rsqrt_estimate(scaled);
    return (uint64_t)rexp << mb | (uint64_t)(est & 0xff) << (mb - 8);
}

/* URECPE, URSQRTE (UnsignedRecipEstimate, UnsignedRSqrtEstimate) on 32-bit fixed point
 * fractions: values below 0.5 (0.25) give all ones. */
static uint64_t urecip_estimate(uint64_t x, bool rsqrt)
{
    if (rsqrt)
        return x >> 30 ? (uint64_t)rsqrt_estimate((unsigned)(x >> 23)) << 23 : 0xffffffffu;
    return x >> 31 ? (uint64_t)recip_estimate((unsigned)(x >> 23)) << 23 : 0xffffffffu;
}

/* FRECPX (FPRecpX): the sign, the exponent inverted (zeros and subnormals: the largest finite
 * exponent), a zero fraction. */
static uint64_t fp_recpx(A64Cpu *c, const FpFmt *f, uint64_t x, unsigned *fl)
{
    uint64_t raw = x & fmask(f), r;
    x = fp_in(c, f, x);
    if (fp_nans(c, f, &x, 1, &r, fl))
        return r;
    int mb = f->p - 1;
    uint64_t exp = (raw >> mb) & f->expmask;
    return (raw & f->sign) | (exp == 0 ? f->expmask - 1 : ~exp & f->expmask) << mb;
}

/* FCVTXN: double to single rounding to odd (truncate, then set the lowest bit if inexact);
 * NaNs, FZ and DN as FCVT. */
static uint64_t fp_cvt_odd(A64Cpu *c, uint64_t a, unsigned *fl)
{
    a = fp_in(c, &sf_fmt_d, a);
    if (fp_is_nan(&sf_fmt_d, a)) {
        if (fp_is_snan(&sf_fmt_d, a))
            *fl |= SF_FLAG_NV;
        return (c->fpcr & A64_FPCR_DN) ? sf_fmt_s.qnan : fp_convert_nan(&sf_fmt_s, &sf_fmt_d, a);
    }
    unsigned t = 0;
    uint64_t r = sf_cvt(&sf_fmt_s, &sf_fmt_d, a, fp_rm(c, &sf_fmt_s, SF_RM_RTZ), &t);
    *fl |= t;
    return (t & SF_FLAG_NX) ? r | 1 : r;
}

/* One element of the FP two-register miscellaneous group; false: not implemented. */
static bool vfp_misc(A64Cpu *c, const FpFmt *f, unsigned opc, unsigned u, unsigned a_bit,
                     uint64_t x, uint64_t *r, unsigned *fl)
{
    unsigned width = f == &sf_fmt_d ? 64 : 32;
    x &= fmask(f);
    switch (opc) {
    case 0x1a:   /* FCVTN*, FCVTP* */
    case 0x1b:   /* FCVTM*, FCVTZ* */
    case 0x1c: { /* FCVTA*; URECPE, URSQRTE (A = 1: 32-bit integer elements only) */
        static const int rms[3][2] = { { SF_RM_RNE, SF_RM_RUP },
                                       { SF_RM_RDN, SF_RM_RTZ },
                                       { SF_RM_RMM, -1 } };
        int rm = rms[opc - 0x1a][a_bit];
        if (rm < 0) {
            if (f != &sf_fmt_s)
                return false;
            *r = urecip_estimate(x, u);
            return true;
        }
        *r = fp_to_int(c, f, x, rm, width, !u, 0, fl);
        return true;
    }
    case 0x1d: /* SCVTF, UCVTF; FRECPE, FRSQRTE */
        if (a_bit)
            *r = u ? fp_rsqrt_estimate(c, f, x, fl) : fp_recip_estimate(c, f, x, fl);
        else
            *r = fp_from_int(c, f, x, width, !u, 0, fl);
        return true;
    case 0x0c: /* FCMGT/FCMGE #0 */
    case 0x0d: /* FCMEQ/FCMLE #0 */
    case 0x0e: /* FCMLT #0 */
        if (!a_bit || (opc == 0x0e && u))
            return false;
        if (opc == 0x0c)
            *r = fp_cmp_mask(c, f, x, 0, u ? 1 : 2, false, fl);
        else if (opc == 0x0d && !u)
            *r = fp_cmp_mask(c, f, x, 0, 0, false, fl);
        else /* FCMLE: 0 >= x, FCMLT: 0 > x */
            *r = fp_cmp_mask(c, f, 0, x, opc == 0x0d ? 1 : 2, false, fl);
        return true;
    case 0x0f: /* FABS, FNEG */
        if (!a_bit)
            return false;
        *r = u ? x ^ f->sign : x & ~f->sign;
        return true;
    case 0x1f: /* FSQRT (vector); FRECPX (U = 0, scalar) */
        if (!a_bit)
            return false;
        if (!u) {
            *r = fp_recpx(c, f, x, fl);
            return true;
        }
        if (host_arith(c, f, HOP_SQRT, x, 0, 0, r, fl))
            return true;
        x = fp_in(c, f, x);
        if (!fp_nans(c, f, &x, 1, r, fl))
            *r = sf_sqrt(f, x, fp_rm(c, f, -1), fl);
        return true;
    case 0x18:   /* FRINTN, FRINTP; FRINTA (U) */
    case 0x19: { /* FRINTM, FRINTZ; FRINTX, FRINTI (U) */
        int rm;
        bool exact = false;
        if (!u)
            rm = opc == 0x18 ? (a_bit ? SF_RM_RUP : SF_RM_RNE) : (a_bit ? SF_RM_RTZ : SF_RM_RDN);
        else if (opc == 0x18 && !a_bit)
            rm = SF_RM_RMM;
        else if (opc == 0x19) {
            rm = fp_rm(c, f, -1) & SF_RM_MASK;
            exact = !a_bit;
        } else
            return false;
        x = fp_in(c, f, x);
        if (!fp_nans(c, f, &x, 1, r, fl))
            *r = fp_round_int(f, x, rm, exact, fl);
        return true;
    }
    default: return false;
    }
}

/* FCVTN/FCVTN2 (narrow: double to single, single to half) and FCVTL/FCVTL2 (widen). */
static void vfp_cvt_long_narrow(A64Cpu *c, uint32_t i)
{
    unsigned q = BIT(i, 30), sz = BIT(i, 22), opc = BITS(i, 16, 12);
    unsigned rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    const FpFmt *wide = sz ? &sf_fmt_d : &sf_fmt_s, *nar = sz ? &sf_fmt_s : &sf_fmt_h;
    unsigned wes = sz ? 3 : 2, nes = wes - 1, n = sz ? 2 : 4;
    Vec a = vget(c, rn), d = vget(c, rd), r = { { 0, 0 } };
    unsigned fl = 0;
    for (unsigned e = 0; e < n; e++) {
        const FpFmt *from = opc == 0x16 ? wide : nar, *to = opc == 0x16 ? nar : wide;
        uint64_t x = opc == 0x16 ? eget(&a, wes, e) : eget(&a, nes, e + (q ? n : 0));
        uint64_t res = fp_convert(c, to, from, x, &fl);
        if (opc == 0x16)
            eset(&r, nes, e + (q ? n : 0), res);
        else
            eset(&r, wes, e, res);
    }
    if (opc == 0x16 && q)
        r.d[0] = d.d[0];
    vset(c, rd, r, opc == 0x17 || q);
    fp_accrue(c, fl);
}

static void vfp_two_misc(A64Cpu *c, uint32_t i, bool scalar)
{
    unsigned q = BIT(i, 30), u = BIT(i, 29), a_bit = BIT(i, 23), sz = BIT(i, 22);
    unsigned opc = BITS(i, 16, 12), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if ((opc == 0x16 || opc == 0x17) && !u && !a_bit && !scalar) {
        vfp_cvt_long_narrow(c, i);
        return;
    }
    if (opc == 0x16 && u && !a_bit) { /* FCVTXN, FCVTXN2 (vector), FCVTXN (scalar) */
        if (!sz)
            undef(c);
        Vec a = vget(c, rn), d = vget(c, rd), r = { { 0, 0 } };
        unsigned n = scalar ? 1 : 2, off = q && !scalar ? 2 : 0, fl = 0;
        for (unsigned e = 0; e < n; e++)
            eset(&r, 2, e + off, fp_cvt_odd(c, eget(&a, 3, e), &fl));
        if (off)
            r.d[0] = d.d[0];
        vset(c, rd, r, off != 0);
        fp_accrue(c, fl);
        return;
    }
    if (!scalar && sz && !q)
        undef(c);
    /* No scalar FABS/FNEG, FRINT*, URECPE/URSQRTE or FSQRT; FRECPX has no vector form. */
    if (scalar &&
        (opc == 0x0f || opc == 0x18 || opc == 0x19 || (opc == 0x1c && a_bit) || (opc == 0x1f && u)))
        undef(c);
    if (!scalar && opc == 0x1f && !u)
        undef(c);
    const FpFmt *f = sz ? &sf_fmt_d : &sf_fmt_s;
    unsigned es = sz ? 3 : 2, n = scalar ? 1 : (q ? 16 : 8) >> es;
    Vec a = vget(c, rn), r = { { 0, 0 } };
    unsigned fl = 0;
    uint32_t fpsr0 = (uint32_t)c->fpsr;
    for (unsigned e = 0; e < n; e++) {
        uint64_t res;
        if (!vfp_misc(c, f, opc, u, a_bit, eget(&a, es, e), &res, &fl)) {
            c->fpsr = fpsr0; /* IDC from an earlier element */
            undef(c);
        }
        eset(&r, es, e, res);
    }
    vset(c, rd, r, !scalar && q);
    fp_accrue(c, fl);
}

static void vfp_three_same(A64Cpu *c, uint32_t i, bool scalar)
{
    unsigned q = BIT(i, 30), u = BIT(i, 29), a_bit = BIT(i, 23), sz = BIT(i, 22);
    unsigned opc = BITS(i, 15, 11), rm = BITS(i, 20, 16), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (!scalar && sz && !q)
        undef(c);
    const FpFmt *f = sz ? &sf_fmt_d : &sf_fmt_s;
    unsigned es = sz ? 3 : 2, n = scalar ? 1 : (q ? 16 : 8) >> es;
    unsigned key = (opc & 7) << 2 | u << 1 | a_bit; /* opcode 11xxx */
    bool pairwise = u && !scalar &&
                    (key == (0 << 2 | 2) || key == (0 << 2 | 3) || key == (2 << 2 | 2) ||
                     key == (6 << 2 | 2) || key == (6 << 2 | 3));
    /* Scalar forms: FABD, the compares, FMULX, FRECPS, FRSQRTS. */
    if (scalar && !(key == (2 << 2 | 3) || key == (4 << 2 | 0) || key == (4 << 2 | 2) ||
                    key == (4 << 2 | 3) || key == (5 << 2 | 2) || key == (5 << 2 | 3) ||
                    key == (3 << 2 | 0) || key == (7 << 2 | 0) || key == (7 << 2 | 1)))
        undef(c);
    Vec a = vget(c, rn), b = vget(c, rm), d = vget(c, rd), r = { { 0, 0 } };
    unsigned fl = 0;
    uint32_t fpsr0 = (uint32_t)c->fpsr;
    for (unsigned e = 0; e < n; e++) {
        uint64_t x, y, res;
        if (pairwise) {
            const Vec *src = e < n / 2 ? &a : &b;
            unsigned k = (e % (n / 2)) * 2;
            x = eget(src, es, k);
            y = eget(src, es, k + 1);
        } else {
            x = eget(&a, es, e);
            y = eget(&b, es, e);
        }
        switch (key) {
        case 0 << 2 | 0: res = fp_arith2(c, f, 6, x, y, &fl); break; /* FMAXNM */
        case 0 << 2 | 1: res = fp_arith2(c, f, 7, x, y, &fl); break; /* FMINNM */
        case 0 << 2 | 2: res = fp_arith2(c, f, 6, x, y, &fl); break; /* FMAXNMP */
        case 0 << 2 | 3: res = fp_arith2(c, f, 7, x, y, &fl); break; /* FMINNMP */
        case 1 << 2 | 0:                                             /* FMLA */
        case 1 << 2 | 1:                                             /* FMLS */
            res = fp_muladd(c, f, eget(&d, es, e), a_bit ? x ^ f->sign : x, y, &fl);
            break;
        case 2 << 2 | 0: res = fp_arith2(c, f, 2, x, y, &fl); break; /* FADD */
        case 2 << 2 | 1: res = fp_arith2(c, f, 3, x, y, &fl); break; /* FSUB */
        case 2 << 2 | 2: res = fp_arith2(c, f, 2, x, y, &fl); break; /* FADDP */
        case 2 << 2 | 3:                                             /* FABD */
            res = fp_arith2(c, f, 3, x, y, &fl);
            res &= ~f->sign;
            break;
        case 3 << 2 | 0: res = fp_mulx(c, f, x, y, &fl); break;               /* FMULX */
        case 3 << 2 | 2: res = fp_arith2(c, f, 0, x, y, &fl); break;          /* FMUL */
        case 4 << 2 | 0: res = fp_cmp_mask(c, f, x, y, 0, false, &fl); break; /* FCMEQ */
        case 4 << 2 | 2: res = fp_cmp_mask(c, f, x, y, 1, false, &fl); break; /* FCMGE */
        case 4 << 2 | 3: res = fp_cmp_mask(c, f, x, y, 2, false, &fl); break; /* FCMGT */
        case 5 << 2 | 2: res = fp_cmp_mask(c, f, x, y, 1, true, &fl); break;  /* FACGE */
        case 5 << 2 | 3: res = fp_cmp_mask(c, f, x, y, 2, true, &fl); break;  /* FACGT */
        case 6 << 2 | 0: res = fp_arith2(c, f, 4, x, y, &fl); break;          /* FMAX */
        case 6 << 2 | 1: res = fp_arith2(c, f, 5, x, y, &fl); break;          /* FMIN */
        case 6 << 2 | 2: res = fp_arith2(c, f, 4, x, y, &fl); break;          /* FMAXP */
        case 6 << 2 | 3: res = fp_arith2(c, f, 5, x, y, &fl); break;          /* FMINP */
        case 7 << 2 | 0: res = fp_step(c, f, x, y, false, &fl); break;        /* FRECPS */
        case 7 << 2 | 1: res = fp_step(c, f, x, y, true, &fl); break;         /* FRSQRTS */
        case 7 << 2 | 2: res = fp_arith2(c, f, 1, x, y, &fl); break;          /* FDIV */
        default: c->fpsr = fpsr0; undef(c); /* unallocated; FMLAL & co. (FEAT_FHM) */
        }
        eset(&r, es, e, res);
    }
    vset(c, rd, r, !scalar && q);
    fp_accrue(c, fl);
}

/* Vector and scalar "by element" forms: MUL, MLA, MLS, SMULL/UMULL, SMLAL/UMLAL,
 * SMLSL/UMLSL (with the "2" variants), SQDMULL, SQDMLAL, SQDMLSL, SQDMULH, SQRDMULH, FMUL,
 * FMLA, FMLS, FMULX. */
static void simd_by_elem(A64Cpu *c, uint32_t i, bool scalar)
{
    unsigned q = BIT(i, 30), u = BIT(i, 29), size = BITS(i, 23, 22), l = BIT(i, 21);
    unsigned mbit = BIT(i, 20), rm = BITS(i, 19, 16), opc = BITS(i, 15, 12), h = BIT(i, 11);
    unsigned rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    bool fp = ((opc == 1 || opc == 5) && !u) || opc == 9; /* opc 9, U = 1: FMULX */
    unsigned idx;
    if (fp) {
        if (!(size & 2))
            undef(c); /* half precision (FEAT_FP16) */
        size &= 1;    /* sz */
        if (size && (l || (!scalar && !q)))
            undef(c);
        idx = size ? h : (h << 1 | l);
        rm |= mbit << 4;
        const FpFmt *f = size ? &sf_fmt_d : &sf_fmt_s;
        unsigned es = size ? 3 : 2, n = scalar ? 1 : (q ? 16 : 8) >> es;
        Vec a = vget(c, rn), b = vget(c, rm), d = vget(c, rd), r = { { 0, 0 } };
        uint64_t y = eget(&b, es, idx);
        unsigned fl = 0;
        for (unsigned e = 0; e < n; e++) {
            uint64_t x = eget(&a, es, e), res;
            if (opc == 9)
                res = u ? fp_mulx(c, f, x, y, &fl) : fp_arith2(c, f, 0, x, y, &fl);
            else
                res = fp_muladd(c, f, eget(&d, es, e), opc == 5 ? x ^ f->sign : x, y, &fl);
            eset(&r, es, e, res);
        }
        vset(c, rd, r, !scalar && q);
        fp_accrue(c, fl);
        return;
    }
    if (size == 0 || size == 3)
        undef(c);
    if (size == 1) {
        idx = h << 2 | l << 1 | mbit;
    } else {
        idx = h << 1 | l;
        rm |= mbit << 4;
    }
    Vec a = vget(c, rn), b = vget(c, rm), d = vget(c, rd), r = { { 0, 0 } };
    uint64_t y = eget(&b, size, idx), m = emask(size);
    bool longer = opc == 2 || opc == 6 || opc == 10;
    if ((opc == 3 || opc == 7 || opc == 11) && !u) { /* SQDMLAL, SQDMLSL, SQDMULL */
        unsigned n = scalar ? 1 : 8 >> size, off = q && !scalar ? n : 0;
        int op = opc == 3 ? 1 : opc == 7 ? -1 : 0;
        int64_t sy = sx(y, size);
        bool qc = false;
        for (unsigned e = 0; e < n; e++)
            eset(&r, size + 1, e,
                 sqdmull(sx(eget(&a, size, e + off), size), sy, eget(&d, size + 1, e), op, size,
                         &qc));
        vset(c, rd, r, !scalar);
        if (qc)
            c->fpsr |= A64_FPSR_QC;
        return;
    }
    if (longer && !scalar) { /* SMLAL/UMLAL, SMLSL/UMLSL, SMULL/UMULL */
        unsigned n = 8 >> size, off = q ? n : 0, ws = size + 1;
        uint64_t yy = u ? y : (uint64_t)sx(y, size);
        for (unsigned e = 0; e < n; e++) {
            uint64_t x = eget(&a, size, e + off);
            uint64_t p = (u ? x : (uint64_t)sx(x, size)) * yy, acc = eget(&d, ws, e);
            eset(&r, ws, e, opc == 2 ? acc + p : opc == 6 ? acc - p : p);
        }
        vset(c, rd, r, true);
        return;
    }
    if ((opc == 12 || opc == 13) && !u) { /* SQDMULH, SQRDMULH (by element) */
        unsigned n = scalar ? 1 : (q ? 16 : 8) >> size;
        bool qc = false;
        for (unsigned e = 0; e < n; e++)
            eset(&r, size, e,
                 sqdmulh(sx(eget(&a, size, e), size), sx(y, size), size, opc == 13, &qc));
        vset(c, rd, r, !scalar && q);
        if (qc)
            c->fpsr |= A64_FPSR_QC;
        return;
    }
    if (scalar)
        undef(c);
    bool mul = opc == 8 && !u, mla = opc == 0 && u, mls = opc == 4 && u;
    if (!mul && !mla && !mls)
        undef(c); /* unallocated; SDOT/UDOT, SQRDMLAH/SQRDMLSH, FCMLA, FMLAL/FMLSL: their
                   * features (DotProd, RDM, FCMA, FHM) are absent from the ID registers */
    unsigned n = (q ? 16 : 8) >> size;
    for (unsigned e = 0; e < n; e++) {
        uint64_t p = eget(&a, size, e) * y, acc = eget(&d, size, e);
        eset(&r, size, e, (mul ? p : mla ? acc + p : acc - p) & m);
    }
    vset(c, rd, r, q);
}

/* Scalar pairwise: ADDP (D); FADDP, FMAXP, FMINP, FMAXNMP, FMINNMP of the two elements of a
 * 2S or 2D vector (U = 1; the half-precision forms, U = 0, need FEAT_FP16). */
static void simd_scalar_pairwise(A64Cpu *c, uint32_t i)
{
    unsigned u = BIT(i, 29), size = BITS(i, 23, 22), opc = BITS(i, 16, 12);
    unsigned rn = BITS(i, 9, 5), rd = BITS(i, 4, 0), op;
    Vec a = vget(c, rn), r = { { 0, 0 } };
    if (!u) {
        if (size != 3 || opc != 0x1b)
            undef(c);
        r.d[0] = a.d[0] + a.d[1];
        vset(c, rd, r, false);
        return;
    }
    switch (opc) {                             /* fp_arith2 codes; size<1> selects the minimum */
    case 0x0c: op = (size & 2) ? 7 : 6; break; /* FMAXNMP, FMINNMP */
    case 0x0d:                                 /* FADDP */
        if (size & 2)
            undef(c);
        op = 2;
        break;
    case 0x0f: op = (size & 2) ? 5 : 4; break; /* FMAXP, FMINP */
    default: undef(c);
    }
    const FpFmt *f = (size & 1) ? &sf_fmt_d : &sf_fmt_s;
    unsigned es = (size & 1) ? 3 : 2, fl = 0;
    eset(&r, es, 0, fp_arith2(c, f, op, eget(&a, es, 0), eget(&a, es, 1), &fl));
    vset(c, rd, r, false);
    fp_accrue(c, fl);
}

/* Scalar floating point: bit 30 = 0, bits 28:24 = 1111x. */
static void fp_scalar(A64Cpu *c, uint32_t i)
{
    if (BIT(i, 24)) {
        fp_dp3(c, i);
        return;
    }
    if (!BIT(i, 21)) {
        fp_int(c, i); /* fixed-point conversions */
        return;
    }
    switch (BITS(i, 11, 10)) {
    case 1: fp_ccmp(c, i); return;
    case 2: fp_dp2(c, i); return;
    case 3: fp_csel(c, i); return;
    default: break;
    }
    if (BITS(i, 15, 10) == 0)
        fp_int(c, i);
    else if (BITS(i, 14, 10) == 0x10)
        fp_dp1(c, i);
    else if (BITS(i, 12, 10) == 4)
        fp_imm(c, i);
    else if (BITS(i, 13, 10) == 8)
        fp_cmp(c, i);
    else
        undef(c);
}

/* ---- top-level decode ---- */

static uint64_t h_simd(VsCpu *cpu, uint64_t insn64, uint64_t pc)
{
    (void)pc;
    A64Cpu *c = a64_cpu(cpu);
    uint32_t i = (uint32_t)insn64;
    if ((i & 0x5e000000u) == 0x1e000000u) {
        fp_scalar(c, i);
        return 0;
    }
    if (BIT(i, 31))
        undef(c);
    if ((i & 0x9f200400u) == 0x0e200400u)
        simd_three_same(c, i, false);
    else if ((i & 0x9f200c00u) == 0x0e200000u)
        simd_three_diff(c, i, false);
    else if ((i & 0x9f3e0c00u) == 0x0e200800u)
        simd_two_misc(c, i, false);
    else if ((i & 0x9f3e0c00u) == 0x0e300800u)
        simd_across(c, i);
    else if ((i & 0x9fe08400u) == 0x0e000400u)
        simd_copy(c, i, false);
    else if ((i & 0x9ff80400u) == 0x0f000400u)
        simd_mod_imm(c, i);
    else if ((i & 0x9f800400u) == 0x0f000400u)
        simd_shift_imm(c, i, false);
    else if ((i & 0x9f000400u) == 0x0f000000u)
        simd_by_elem(c, i, false);
    else if ((i & 0xbf208400u) == 0x2e000000u)
        simd_ext(c, i);
    else if ((i & 0xbf208c00u) == 0x0e000000u)
        simd_tbl(c, i);
    else if ((i & 0xbf208c00u) == 0x0e000800u)
        simd_permute(c, i);
    else if ((i & 0xdf200400u) == 0x5e200400u)
        simd_three_same(c, i, true);
    else if ((i & 0xdf200c00u) == 0x5e200000u)
        simd_three_diff(c, i, true);
    else if ((i & 0xdf3e0c00u) == 0x5e200800u)
        simd_two_misc(c, i, true);
    else if ((i & 0xdf3e0c00u) == 0x5e300800u)
        simd_scalar_pairwise(c, i);
    else if ((i & 0xdf800400u) == 0x5f000400u && BITS(i, 22, 19) != 0)
        simd_shift_imm(c, i, true);
    else if ((i & 0xdfe08400u) == 0x5e000400u)
        simd_copy(c, i, true);
    else if ((i & 0xdf000400u) == 0x5f000000u)
        simd_by_elem(c, i, true);
    else
        undef(c); /* unallocated, and the cryptographic extension (AES, SHA: ID_AA64ISAR0) */
    return 0;
}

/* ---- LD1-LD4, ST1-ST4, LD1R-LD4R ---- */

static uint64_t h_vldst(VsCpu *cpu, uint64_t insn64, uint64_t base, uint64_t idx)
{
    A64Cpu *c = a64_cpu(cpu);
    uint32_t i = (uint32_t)insn64;
    unsigned q = BIT(i, 30), l = BIT(i, 22), opcode = BITS(i, 15, 12), size = BITS(i, 11, 10);
    unsigned rt = BITS(i, 4, 0);
    bool align = (c->sctlr & A64_SCTLR_A) != 0;
    Vec regs[4];
    uint64_t addr = base;
    if (!BIT(i, 24)) { /* multiple structures */
        unsigned rpt, selem;
        switch (opcode) {
        case 0: rpt = 1, selem = 4; break;
        case 2: rpt = 4, selem = 1; break;
        case 4: rpt = 1, selem = 3; break;
        case 6: rpt = 3, selem = 1; break;
        case 7: rpt = 1, selem = 1; break;
        case 8: rpt = 1, selem = 2; break;
        default: rpt = 2, selem = 1; break;
        }
        unsigned nregs = rpt * selem, n = (q ? 16 : 8) >> size;
        unsigned fl = IR_MEMFLAGS(size, false, align, idx);
        for (unsigned k = 0; k < nregs; k++) {
            regs[k] = vget(c, (rt + k) % 32);
            if (l && !q)
                regs[k].d[1] = 0;
        }
        for (unsigned r = 0; r < rpt; r++)
            for (unsigned e = 0; e < n; e++)
                for (unsigned s = 0; s < selem; s++) {
                    Vec *v = &regs[r + s];
                    if (l)
                        eset(v, size, e, mmu_load_slow(cpu, addr, fl));
                    else
                        mmu_store_slow(cpu, addr, eget(v, size, e), fl);
                    addr += 1u << size;
                }
        if (l)
            for (unsigned k = 0; k < nregs; k++)
                vset(c, (rt + k) % 32, regs[k], true);
        return 0;
    }
    /* single structure */
    unsigned op3 = opcode >> 1, s = BIT(i, 12);
    unsigned selem = ((op3 & 1) << 1 | BIT(i, 21)) + 1, scale = op3 >> 1;
    unsigned index = 0;
    bool replicate = false;
    switch (scale) {
    case 0: index = q << 3 | s << 2 | size; break;
    case 1: index = q << 2 | s << 1 | size >> 1; break;
    case 2:
        if (size == 0) {
            index = q << 1 | s;
        } else {
            index = q;
            scale = 3;
        }
        break;
    default:
        replicate = true;
        scale = size;
        break;
    }
    unsigned fl = IR_MEMFLAGS(scale, false, align, idx);
    for (unsigned k = 0; k < selem; k++)
        regs[k] = vget(c, (rt + k) % 32);
    for (unsigned k = 0; k < selem; k++) {
        if (replicate) {
            uint64_t x = mmu_load_slow(cpu, addr, fl);
            Vec v = { { 0, 0 } };
            for (unsigned e = 0; e < (16u >> scale); e++)
                eset(&v, scale, e, x);
            if (!q)
                v.d[1] = 0;
            regs[k] = v;
        } else if (l) {
            eset(&regs[k], scale, index, mmu_load_slow(cpu, addr, fl));
        } else {
            mmu_store_slow(cpu, addr, eget(&regs[k], scale, index), fl);
        }
        addr += 1u << scale;
    }
    if (l)
        for (unsigned k = 0; k < selem; k++)
            vset(c, (rt + k) % 32, regs[k], true);
    return 0;
}

#define STATEFUL (IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE)

/*
 * Scalar FMUL, FDIV, FADD, FSUB called by the translation itself (a64-translate.c), not
 * through h_simd's decode: (a, b, rm) -> the result (the caller writes Vd), FPSR accrued. rm
 * is ignored: FPCR is read here. FPSR is never an IR global, so globals held in host
 * registers survive the call (IR_HELPER_KEEPS_GLOBALS); nothing here raises (FP exception
 * trapping is not implemented, the format is decoded at translation time).
 *
 * The double forms are IrHostFpHelpers: the JIT inlines the case FPCR == 0 (rm_dyn with the
 * 64-bit word FPCR equal to rm_rne = 0: RN, no FZ, no DN, no AHP), IXC already set, result
 * magnitude above the smallest normal and below infinity, as one SSE instruction. In that
 * case this helper returns the same result and accrues nothing new: without FZ an
 * operand is never flushed and raises no IDC; a NaN or infinite operand gives a NaN, an
 * infinity or a zero (all rejected); a result above the smallest normal was not tiny before
 * rounding (rounding is monotonic) and a finite one in RN did not overflow, so IXC is the
 * only flag it can raise (host_arith takes the same instruction when the operands are
 * normal or zero, and sf_* gives the correctly rounded IEEE result otherwise).
 */
static uint64_t fp_binop(VsCpu *cpu, const FpFmt *f, unsigned op, uint64_t a, uint64_t b)
{
    A64Cpu *c = a64_cpu(cpu);
    unsigned fl = 0;
    uint64_t r = fp_arith2(c, f, op, a, b, &fl);
    fp_accrue(c, fl);
    return r;
}

#define FP_BINOP_FLAGS \
    (IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_KEEPS_GLOBALS)
#define DEF_FP_BINOP(name, opc, hop)                                                           \
    static uint64_t h_##name##_s(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm)              \
    {                                                                                          \
        (void)rm;                                                                              \
        return fp_binop(cpu, &sf_fmt_s, opc, a, b);                                            \
    }                                                                                          \
    static uint64_t h_##name##_d(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t rm)              \
    {                                                                                          \
        (void)rm;                                                                              \
        return fp_binop(cpu, &sf_fmt_d, opc, a, b);                                            \
    }                                                                                          \
    static const IrHelper a64_h_##name##_s = { #name "_s", (void *)h_##name##_s, 3,            \
                                               FP_BINOP_FLAGS };                               \
    static const IrHostFpHelper a64_h_##name##_d = {                                           \
        .helper = { #name "_d", (void *)h_##name##_d, 3, FP_BINOP_FLAGS | IR_HELPER_HOST_FP }, \
        .op = (hop),                                                                           \
        .dbl = true,                                                                           \
        .rm_rne = A64_FP_RM_FPCR0,                                                             \
        .rm_dyn = A64_FP_RM_DYN,                                                               \
        .flags_off = (uint32_t)(offsetof(A64Cpu, fpsr) - offsetof(A64Cpu, common)),            \
        .frm_off = (uint32_t)(offsetof(A64Cpu, fpcr) - offsetof(A64Cpu, common)),              \
        .nx_mask = A64_FPSR_IXC,                                                               \
    };
DEF_FP_BINOP(fmul, 0, IR_HOSTFP_MUL)
DEF_FP_BINOP(fdiv, 1, IR_HOSTFP_DIV)
DEF_FP_BINOP(fadd, 2, IR_HOSTFP_ADD)
DEF_FP_BINOP(fsub, 3, IR_HOSTFP_SUB)

/* FCMP, FCMPE (scalar, also with #0.0) called by the translation: (Vn bits 63:0, Vm bits
 * 63:0, ftype | E << 1) -> NZCV in bits 3:0 (the caller sets the flags); FPSR accrued as by
 * fp_cmp. */
static uint64_t h_fcmp(VsCpu *cpu, uint64_t a, uint64_t b, uint64_t desc)
{
    A64Cpu *c = a64_cpu(cpu);
    const FpFmt *f = (desc & 1) ? &sf_fmt_d : &sf_fmt_s;
    unsigned fl = 0;
    unsigned nzcv = fp_compare(c, f, fp_in(c, f, a), fp_in(c, f, b), (desc & 2) != 0, &fl);
    fp_accrue(c, fl);
    return nzcv;
}
const IrHelper a64_helper_fcmp = { "fcmp", (void *)h_fcmp, 3, FP_BINOP_FLAGS };

/* FSQRT (scalar) called by the translation: (Vn bits 63:0, ftype) -> the result for Vd; FPSR
 * accrued as by fp_dp1. */
static uint64_t h_fsqrt(VsCpu *cpu, uint64_t x, uint64_t ftype)
{
    A64Cpu *c = a64_cpu(cpu);
    const FpFmt *f = ftype ? &sf_fmt_d : &sf_fmt_s;
    uint64_t a = x & fmask(f), r;
    unsigned fl = 0;
    if (!host_arith(c, f, HOP_SQRT, a, 0, 0, &r, &fl)) {
        a = fp_in(c, f, a);
        if (!fp_nans(c, f, &a, 1, &r, &fl))
            r = sf_sqrt(f, a, fp_rm(c, f, -1), &fl);
    }
    fp_accrue(c, fl);
    return r;
}
const IrHelper a64_helper_fsqrt = { "fsqrt", (void *)h_fsqrt, 2, FP_BINOP_FLAGS };

/* Indexed by the FP data-processing (2 source) opcode: FMUL, FDIV, FADD, FSUB. */
const IrHelper *const a64_helper_fp_binop_s[4] = { &a64_h_fmul_s, &a64_h_fdiv_s, &a64_h_fadd_s,
                                                   &a64_h_fsub_s };
const IrHelper *const a64_helper_fp_binop_d[4] = { &a64_h_fmul_d.helper, &a64_h_fdiv_d.helper,
                                                   &a64_h_fadd_d.helper, &a64_h_fsub_d.helper };
const IrHelper a64_helper_simd = { "simd", (void *)h_simd, 2, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_vldst = { "vldst", (void *)h_vldst, 3, STATEFUL | IR_HELPER_MAY_RAISE };
