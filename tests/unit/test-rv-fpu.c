/* SPDX-License-Identifier: MIT */
/*
 * Unit test for engine/arch/riscv64/rv-fpu.c (RISC-V F/D helpers).
 *
 *  1. Hand-derived vectors from the RISC-V unprivileged spec for every helper: all rounding
 *     modes (RMM ties included), overflow/underflow flags, subnormals, NaN rules, NaN-boxing,
 *     conversion domain edges, dynamic/invalid rounding modes, flag accrual, descriptors.
 *  2. Randomised comparison against an independent slow reference: the exact result is
 *     described by big-integer comparisons (a*b + c - v, a - v*b, a - v^2 for a candidate v)
 *     and the correctly rounded result is found by searching the ordered bit patterns; flags
 *     follow the IEEE 754 definitions (overflow / tininess after rounding computed from the
 *     exact value with an unbounded exponent). Float-to-int uses long double libm rounding.
 *
 * Every vector and random case runs through both the host-FPU path and the software path
 * (rv_fpu_set_host_fpu), each with fflags starting at 0 and at NX (the latter enables the
 * host's RNE fast path). Exit status is non-zero on failure.
 *
 * Usage: test-rv-fpu [scale [seed]]   (scale multiplies the number of random cases)
 *
 * Build: gcc -std=gnu11 -O2 -Wall -Wextra -Werror -frounding-math -fsignaling-nans
 *        -fsanitize=address,undefined -Iengine -Iengine/include
 *        tests/unit/test-rv-fpu.c engine/arch/riscv64/rv-fpu.c -lm
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/riscv64/rv-cpu.h"
#include "arch/riscv64/rv-fpu.h"

typedef unsigned __int128 u128;

/* ---- fake CPU and exception hook ---- */

static RvCpu g_rv;
static VsCpu *const cpu = &g_rv.common;
static jmp_buf g_jmp;
static bool g_expect_raise;
static uint64_t g_cause;

void rv_raise_exception(RvCpu *c, uint64_t cause, uint64_t tval)
{
    (void)tval;
    if (!g_expect_raise || c != &g_rv) {
        fprintf(stderr, "unexpected rv_raise_exception(cause=%llu)\n", (unsigned long long)cause);
        abort();
    }
    g_cause = cause;
    longjmp(g_jmp, 1);
}

static unsigned g_failures, g_checks;

#define FAILF(...)                        \
    do {                                  \
        g_failures++;                     \
        if (g_failures <= 60)             \
            fprintf(stderr, __VA_ARGS__); \
    } while (0)

/* ---- operations ---- */

enum {
    ADD,
    SUB,
    MUL,
    DIV,
    SQRT,
    MADD,
    MSUB,
    NMSUB,
    NMADD,
    MIN,
    MAX,
    EQ,
    LT,
    LE,
    SGNJ,
    SGNJN,
    SGNJX,
    CLASS,
    CVT_W,
    CVT_WU,
    CVT_L,
    CVT_LU,
    CVT_FW,
    CVT_FWU,
    CVT_FL,
    CVT_FLU,
    CVT_SD,
    CVT_DS,
    NOPS
};

static const char *const op_names[NOPS] = {
    "fadd",    "fsub",     "fmul",      "fdiv",     "fsqrt",     "fmadd",    "fmsub",
    "fnmsub",  "fnmadd",   "fmin",      "fmax",     "feq",       "flt",      "fle",
    "fsgnj",   "fsgnjn",   "fsgnjx",    "fclass",   "fcvt.w",    "fcvt.wu",  "fcvt.l",
    "fcvt.lu", "fcvt.f.w", "fcvt.f.wu", "fcvt.f.l", "fcvt.f.lu", "fcvt.s.d", "fcvt.d.s"
};

static const char *const rm_names[8] = { "rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn" };

/* Input kind: 0 = float of fmt (boxed if single), 1 = integer, 2 = double, 3 = single. */
static int op_in_kind(int op)
{
    if (op >= CVT_FW && op <= CVT_FLU)
        return 1;
    if (op == CVT_SD)
        return 2;
    if (op == CVT_DS)
        return 3;
    return 0;
}

/* Output kind: 0 = float of fmt, 1 = integer, 2 = double, 3 = single. */
static int op_out_kind(int op)
{
    if ((op >= EQ && op <= LE) || op == CLASS || (op >= CVT_W && op <= CVT_LU))
        return 1;
    if (op == CVT_SD)
        return 3;
    if (op == CVT_DS)
        return 2;
    return 0;
}

static uint64_t call_op(int op, int dbl, uint64_t a, uint64_t b, uint64_t c, uint64_t rm)
{
#define PICK(fs, fd) (dbl ? fd : fs)
    switch (op) {
    case ADD: return PICK(rv_fadd_s, rv_fadd_d)(cpu, a, b, rm);
    case SUB: return PICK(rv_fsub_s, rv_fsub_d)(cpu, a, b, rm);
    case MUL: return PICK(rv_fmul_s, rv_fmul_d)(cpu, a, b, rm);
    case DIV: return PICK(rv_fdiv_s, rv_fdiv_d)(cpu, a, b, rm);
    case SQRT: return PICK(rv_fsqrt_s, rv_fsqrt_d)(cpu, a, rm);
    case MADD: return PICK(rv_fmadd_s, rv_fmadd_d)(cpu, a, b, c, rm);
    case MSUB: return PICK(rv_fmsub_s, rv_fmsub_d)(cpu, a, b, c, rm);
    case NMSUB: return PICK(rv_fnmsub_s, rv_fnmsub_d)(cpu, a, b, c, rm);
    case NMADD: return PICK(rv_fnmadd_s, rv_fnmadd_d)(cpu, a, b, c, rm);
    case MIN: return PICK(rv_fmin_s, rv_fmin_d)(cpu, a, b);
    case MAX: return PICK(rv_fmax_s, rv_fmax_d)(cpu, a, b);
    case EQ: return PICK(rv_feq_s, rv_feq_d)(cpu, a, b);
    case LT: return PICK(rv_flt_s, rv_flt_d)(cpu, a, b);
    case LE: return PICK(rv_fle_s, rv_fle_d)(cpu, a, b);
    case SGNJ: return PICK(rv_fsgnj_s, rv_fsgnj_d)(a, b);
    case SGNJN: return PICK(rv_fsgnjn_s, rv_fsgnjn_d)(a, b);
    case SGNJX: return PICK(rv_fsgnjx_s, rv_fsgnjx_d)(a, b);
    case CLASS: return PICK(rv_fclass_s, rv_fclass_d)(a);
    case CVT_W: return PICK(rv_fcvt_w_s, rv_fcvt_w_d)(cpu, a, rm);
    case CVT_WU: return PICK(rv_fcvt_wu_s, rv_fcvt_wu_d)(cpu, a, rm);
    case CVT_L: return PICK(rv_fcvt_l_s, rv_fcvt_l_d)(cpu, a, rm);
    case CVT_LU: return PICK(rv_fcvt_lu_s, rv_fcvt_lu_d)(cpu, a, rm);
    case CVT_FW: return PICK(rv_fcvt_s_w, rv_fcvt_d_w)(cpu, a, rm);
    case CVT_FWU: return PICK(rv_fcvt_s_wu, rv_fcvt_d_wu)(cpu, a, rm);
    case CVT_FL: return PICK(rv_fcvt_s_l, rv_fcvt_d_l)(cpu, a, rm);
    case CVT_FLU: return PICK(rv_fcvt_s_lu, rv_fcvt_d_lu)(cpu, a, rm);
    case CVT_SD: return rv_fcvt_s_d(cpu, a, rm);
    case CVT_DS: return rv_fcvt_d_s(cpu, a, rm);
    }
#undef PICK
    abort();
}

/* fflags before each checked op: 0, or NX (enables the host fast path). */
static unsigned g_preset;

/* Run one op with fflags = g_preset; returns the result and the flags afterwards. */
static uint64_t run_op(int op, int dbl, uint64_t a, uint64_t b, uint64_t c, uint64_t rm,
                       unsigned *fl)
{
    g_rv.fflags = g_preset;
    uint64_t r = call_op(op, dbl, a, b, c, rm);
    *fl = (unsigned)g_rv.fflags;
    return r;
}

static void flags_str(unsigned fl, char *buf)
{
    sprintf(buf, "%s%s%s%s%s%s", fl & RV_FFLAG_NV ? "NV " : "", fl & RV_FFLAG_DZ ? "DZ " : "",
            fl & RV_FFLAG_OF ? "OF " : "", fl & RV_FFLAG_UF ? "UF " : "",
            fl & RV_FFLAG_NX ? "NX " : "", fl ? "" : "-");
}

static void check_result(const char *what, int op, int dbl, uint64_t a, uint64_t b, uint64_t c,
                         int rm, uint64_t got, unsigned gotfl, uint64_t exp, unsigned expfl)
{
    g_checks++;
    expfl |= g_preset;
    if (got == exp && gotfl == expfl)
        return;
    char f1[32], f2[32];
    flags_str(gotfl, f1);
    flags_str(expfl, f2);
    FAILF("FAIL %s%s: %s.%c %s a=%016llx b=%016llx c=%016llx: got %016llx [%s] expected %016llx "
          "[%s]\n",
          what, g_preset ? " (NX preset)" : "", op_names[op], dbl ? 'd' : 's', rm_names[rm & 7],
          (unsigned long long)a, (unsigned long long)b, (unsigned long long)c,
          (unsigned long long)got, f1, (unsigned long long)exp, f2);
}

/* ================================================================================== */
/* Hand-derived vectors                                                                */

#define NX RV_FFLAG_NX
#define UF RV_FFLAG_UF
#define OF RV_FFLAG_OF
#define DZ RV_FFLAG_DZ
#define NV RV_FFLAG_NV

enum { RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4 };

/* single constants */
#define S_ONE   0x3f800000u
#define S_MONE  0xbf800000u
#define S_TWO   0x40000000u
#define S_HALF  0x3f000000u
#define S_INF   0x7f800000u
#define S_NINF  0xff800000u
#define S_QNAN  0x7fc00000u
#define S_SNAN  0x7f800001u
#define S_MAX   0x7f7fffffu
#define S_NMAX  0xff7fffffu
#define S_MINN  0x00800000u
#define S_NZERO 0x80000000u
/* double constants */
#define D_ONE   0x3ff0000000000000ull
#define D_MONE  0xbff0000000000000ull
#define D_TWO   0x4000000000000000ull
#define D_HALF  0x3fe0000000000000ull
#define D_INF   0x7ff0000000000000ull
#define D_NINF  0xfff0000000000000ull
#define D_QNAN  0x7ff8000000000000ull
#define D_SNAN  0x7ff0000000000001ull
#define D_MAX   0x7fefffffffffffffull
#define D_NMAX  0xffefffffffffffffull
#define D_MINN  0x0010000000000000ull
#define D_NZERO 0x8000000000000000ull

typedef struct Vec {
    int op, dbl;
    uint64_t a, b, c;
    int rm;
    uint64_t exp;
    unsigned fl;
    bool raw; /* single inputs passed as given (no NaN-boxing) */
    int line;
} Vec;

#define VS(op, a, b, c, rm, exp, fl)                 \
    {                                                \
        op, 0, a, b, c, rm, exp, fl, false, __LINE__ \
    }
#define VD(op, a, b, c, rm, exp, fl)                 \
    {                                                \
        op, 1, a, b, c, rm, exp, fl, false, __LINE__ \
    }
#define VSRAW(op, a, b, c, rm, exp, fl)             \
    {                                               \
        op, 0, a, b, c, rm, exp, fl, true, __LINE__ \
    }
/* the same vector in all five rounding modes: expected results per mode */
#define VS5(op, a, b, c, e0, f0, e1, f1, e2, f2, e3, f3, e4, f4)                              \
    VS(op, a, b, c, RNE, e0, f0), VS(op, a, b, c, RTZ, e1, f1), VS(op, a, b, c, RDN, e2, f2), \
        VS(op, a, b, c, RUP, e3, f3), VS(op, a, b, c, RMM, e4, f4)
#define VD5(op, a, b, c, e0, f0, e1, f1, e2, f2, e3, f3, e4, f4)                              \
    VD(op, a, b, c, RNE, e0, f0), VD(op, a, b, c, RTZ, e1, f1), VD(op, a, b, c, RDN, e2, f2), \
        VD(op, a, b, c, RUP, e3, f3), VD(op, a, b, c, RMM, e4, f4)
/* same expected result and flags in every mode */
#define VSA(op, a, b, c, e, f) VS5(op, a, b, c, e, f, e, f, e, f, e, f, e, f)
#define VDA(op, a, b, c, e, f) VD5(op, a, b, c, e, f, e, f, e, f, e, f, e, f)

static const Vec vectors[] = {
    /* ---- add/sub: ties, signs of zero, specials, overflow ---- */
    /* 1 + 2^-24: exact tie between 1 and 1+ulp (1 is even) */
    VS5(ADD, S_ONE, 0x33800000, 0, S_ONE, NX, S_ONE, NX, S_ONE, NX, 0x3f800001, NX, 0x3f800001, NX),
    /* (1+ulp) + 2^-24: tie, 1+ulp is odd */
    VS5(ADD, 0x3f800001, 0x33800000, 0, 0x3f800002, NX, 0x3f800001, NX, 0x3f800001, NX, 0x3f800002,
        NX, 0x3f800002, NX),
    /* -1 - 2^-24 */
    VS5(ADD, S_MONE, 0xb3800000, 0, S_MONE, NX, S_MONE, NX, 0xbf800001, NX, S_MONE, NX, 0xbf800001,
        NX),
    /* 1 - 2^-25: tie between 1-2^-24 (odd) and 1 */
    VS5(SUB, S_ONE, 0x33000000, 0, S_ONE, NX, 0x3f7fffff, NX, 0x3f7fffff, NX, S_ONE, NX, S_ONE, NX),
    /* double: 1 + 2^-53 tie, (1+ulp) + 2^-53 tie */
    VD5(ADD, D_ONE, 0x3ca0000000000000, 0, D_ONE, NX, D_ONE, NX, D_ONE, NX, 0x3ff0000000000001, NX,
        0x3ff0000000000001, NX),
    VD5(ADD, 0x3ff0000000000001, 0x3ca0000000000000, 0, 0x3ff0000000000002, NX, 0x3ff0000000000001,
        NX, 0x3ff0000000000001, NX, 0x3ff0000000000002, NX, 0x3ff0000000000002, NX),
    VD5(SUB, D_MONE, 0x3ca0000000000000, 0, D_MONE, NX, D_MONE, NX, 0xbff0000000000001, NX, D_MONE,
        NX, 0xbff0000000000001, NX),
    /* x + (-x) = +0, -0 in RDN; -0 + -0 = -0; +0 + -0 = +0 except RDN */
    VS5(ADD, S_ONE, S_MONE, 0, 0, 0, 0, 0, S_NZERO, 0, 0, 0, 0, 0),
    VD5(SUB, D_TWO, D_TWO, 0, 0, 0, 0, 0, D_NZERO, 0, 0, 0, 0, 0),
    VSA(ADD, S_NZERO, S_NZERO, 0, S_NZERO, 0),
    VDA(SUB, D_NZERO, 0, 0, D_NZERO, 0),
    VS5(ADD, 0, S_NZERO, 0, 0, 0, 0, 0, S_NZERO, 0, 0, 0, 0, 0),
    VD5(ADD, D_NZERO, 0, 0, 0, 0, 0, 0, D_NZERO, 0, 0, 0, 0, 0),
    /* x + 0 = x exactly, even for subnormals */
    VSA(ADD, 0x00000001, S_NZERO, 0, 0x00000001, 0),
    VSA(ADD, 0x00000003, 0x00000005, 0, 0x00000008, 0),
    VDA(ADD, 0x000fffffffffffff, 0x0000000000000001, 0, D_MINN, 0),
    /* specials */
    VSA(ADD, S_INF, S_NINF, 0, S_QNAN, NV),
    VSA(SUB, S_INF, S_INF, 0, S_QNAN, NV),
    VSA(ADD, S_INF, S_ONE, 0, S_INF, 0),
    VSA(SUB, S_ONE, S_INF, 0, S_NINF, 0),
    VDA(ADD, D_NINF, D_MAX, 0, D_NINF, 0),
    VDA(ADD, D_INF, D_NINF, 0, D_QNAN, NV),
    VSA(ADD, S_QNAN, S_ONE, 0, S_QNAN, 0),
    VSA(ADD, 0x7fc12345, S_ONE, 0, S_QNAN, 0),
    VSA(ADD, 0xffc00000, S_ONE, 0, S_QNAN, 0),
    VSA(ADD, S_ONE, S_SNAN, 0, S_QNAN, NV),
    VSA(SUB, 0xffbfffff, S_QNAN, 0, S_QNAN, NV),
    VSA(ADD, S_INF, S_SNAN, 0, S_QNAN, NV),
    VDA(ADD, 0x7ff8000000012345, D_ONE, 0, D_QNAN, 0),
    VDA(ADD, 0xfff8000000000000, D_INF, 0, D_QNAN, 0),
    VDA(SUB, D_ONE, 0x7ff4000000000000, 0, D_QNAN, NV),
    VDA(ADD, D_SNAN, D_SNAN, 0, D_QNAN, NV),
    /* overflow */
    VS5(ADD, S_MAX, S_MAX, 0, S_INF, OF | NX, S_MAX, OF | NX, S_MAX, OF | NX, S_INF, OF | NX, S_INF,
        OF | NX),
    VS5(ADD, S_NMAX, S_NMAX, 0, S_NINF, OF | NX, S_NMAX, OF | NX, S_NINF, OF | NX, S_NMAX, OF | NX,
        S_NINF, OF | NX),
    /* max + half ulp: tie, max is odd -> rounds up into overflow */
    VS5(ADD, S_MAX, 0x73000000, 0, S_INF, OF | NX, S_MAX, NX, S_MAX, NX, S_INF, OF | NX, S_INF,
        OF | NX),
    /* max + quarter ulp: no overflow except RUP */
    VS5(ADD, S_MAX, 0x72800000, 0, S_MAX, NX, S_MAX, NX, S_MAX, NX, S_INF, OF | NX, S_MAX, NX),
    VD5(ADD, D_MAX, 0x7c90000000000000, 0, D_INF, OF | NX, D_MAX, NX, D_MAX, NX, D_INF, OF | NX,
        D_INF, OF | NX),
    VD5(SUB, D_NMAX, D_MAX, 0, D_NINF, OF | NX, D_NMAX, OF | NX, D_NINF, OF | NX, D_NMAX, OF | NX,
        D_NINF, OF | NX),
    /* exact subnormal difference: no UF */
    VSA(SUB, 0x00800001, S_MINN, 0, 0x00000001, 0),
    VDA(SUB, 0x0010000000000003, 0x000fffffffffffff, 0, 0x0000000000000004, 0),

    /* ---- mul ---- */
    /* (1+2^-12)^2 = 1 + 2^-11 + 2^-24: tie, even below */
    VS5(MUL, 0x3f800800, 0x3f800800, 0, 0x3f801000, NX, 0x3f801000, NX, 0x3f801000, NX, 0x3f801001,
        NX, 0x3f801001, NX),
    VS5(MUL, 0xbf800800, 0x3f800800, 0, 0xbf801000, NX, 0xbf801000, NX, 0xbf801001, NX, 0xbf801000,
        NX, 0xbf801001, NX),
    /* (1+2^-26)(1+2^-27) = 1 + 2^-26 + 2^-27 + 2^-53: tie */
    VD5(MUL, 0x3ff0000004000000, 0x3ff0000002000000, 0, 0x3ff0000006000000, NX, 0x3ff0000006000000,
        NX, 0x3ff0000006000000, NX, 0x3ff0000006000001, NX, 0x3ff0000006000001, NX),
    /* DBL_MIN(1+2^-27) * (1-2^-27) = DBL_MIN(1-2^-54): tiny before rounding, but after
     * rounding (unbounded exponent) RNE/RUP/RMM give DBL_MIN: no UF. */
    VD5(MUL, 0x0010000002000000, 0x3feffffffc000000, 0, D_MINN, NX, 0x000fffffffffffff, UF | NX,
        0x000fffffffffffff, UF | NX, D_MINN, NX, D_MINN, NX),
    /* single: (31 * 2^-130) * (1082401 * 2^-21) = FLT_MIN(1-2^-25) (2^25-1 = 31*601*1801) */
    VS5(MUL, 0x00f80000, 0x3f042108, 0, S_MINN, NX, 0x007fffff, UF | NX, 0x007fffff, UF | NX,
        S_MINN, NX, S_MINN, NX),
    /* FLT_MIN(1+2^-12) * (1-2^-12) = FLT_MIN(1-2^-24): exact with an unbounded exponent, so
     * tiny; a tie on the subnormal grid */
    VS5(MUL, 0x00800800, 0x3f7ff000, 0, S_MINN, UF | NX, 0x007fffff, UF | NX, 0x007fffff, UF | NX,
        S_MINN, UF | NX, S_MINN, UF | NX),
    /* exact subnormal results: no flags */
    VDA(MUL, D_MINN, D_HALF, 0, 0x0008000000000000, 0),
    VSA(MUL, S_MINN, S_HALF, 0, 0x00400000, 0),
    VSA(MUL, 0x00000002, S_HALF, 0, 0x00000001, 0),
    /* minsub/2: tie between 0 and minsub */
    VD5(MUL, 0x0000000000000001, D_HALF, 0, 0, UF | NX, 0, UF | NX, 0, UF | NX, 0x0000000000000001,
        UF | NX, 0x0000000000000001, UF | NX),
    VD5(MUL, 0x8000000000000001, D_HALF, 0, D_NZERO, UF | NX, D_NZERO, UF | NX, 0x8000000000000001,
        UF | NX, D_NZERO, UF | NX, 0x8000000000000001, UF | NX),
    /* 1.5 minsub and 2.5 minsub */
    VS5(MUL, 0x00000003, S_HALF, 0, 0x00000002, UF | NX, 0x00000001, UF | NX, 0x00000001, UF | NX,
        0x00000002, UF | NX, 0x00000002, UF | NX),
    VS5(MUL, 0x00000005, S_HALF, 0, 0x00000002, UF | NX, 0x00000002, UF | NX, 0x00000002, UF | NX,
        0x00000003, UF | NX, 0x00000003, UF | NX),
    /* far below the subnormal range */
    VS5(MUL, 0x00000001, 0x00000001, 0, 0, UF | NX, 0, UF | NX, 0, UF | NX, 0x00000001, UF | NX, 0,
        UF | NX),
    VD5(MUL, 0x8000000000000001, 0x0000000000000001, 0, D_NZERO, UF | NX, D_NZERO, UF | NX,
        0x8000000000000001, UF | NX, D_NZERO, UF | NX, D_NZERO, UF | NX),
    /* overflow, specials */
    VD5(MUL, D_MAX, D_TWO, 0, D_INF, OF | NX, D_MAX, OF | NX, D_MAX, OF | NX, D_INF, OF | NX, D_INF,
        OF | NX),
    VS5(MUL, S_MAX, 0xc0000000, 0, S_NINF, OF | NX, S_NMAX, OF | NX, S_NINF, OF | NX, S_NMAX,
        OF | NX, S_NINF, OF | NX),
    VSA(MUL, 0, S_INF, 0, S_QNAN, NV),
    VDA(MUL, D_NINF, D_NZERO, 0, D_QNAN, NV),
    VSA(MUL, S_NZERO, 0x40a00000, 0, S_NZERO, 0),
    VDA(MUL, D_NINF, D_MONE, 0, D_INF, 0),
    VDA(MUL, D_QNAN, 0, 0, D_QNAN, 0),
    VSA(MUL, S_SNAN, 0, 0, S_QNAN, NV),

    /* ---- div ---- */
    /* 1/3 */
    VS5(DIV, S_ONE, 0x40400000, 0, 0x3eaaaaab, NX, 0x3eaaaaaa, NX, 0x3eaaaaaa, NX, 0x3eaaaaab, NX,
        0x3eaaaaab, NX),
    VD5(DIV, D_ONE, 0x4008000000000000, 0, 0x3fd5555555555555, NX, 0x3fd5555555555555, NX,
        0x3fd5555555555555, NX, 0x3fd5555555555556, NX, 0x3fd5555555555555, NX),
    VD5(DIV, D_MONE, 0x4008000000000000, 0, 0xbfd5555555555555, NX, 0xbfd5555555555555, NX,
        0xbfd5555555555556, NX, 0xbfd5555555555555, NX, 0xbfd5555555555555, NX),
    /* ties can only happen in the subnormal range: 3 minsub / 2, 5 minsub / 2 */
    VS5(DIV, 0x00000003, S_TWO, 0, 0x00000002, UF | NX, 0x00000001, UF | NX, 0x00000001, UF | NX,
        0x00000002, UF | NX, 0x00000002, UF | NX),
    VD5(DIV, 0x8000000000000005, D_TWO, 0, 0x8000000000000002, UF | NX, 0x8000000000000002, UF | NX,
        0x8000000000000003, UF | NX, 0x8000000000000002, UF | NX, 0x8000000000000003, UF | NX),
    VDA(DIV, D_ONE, D_TWO, 0, D_HALF, 0),
    VDA(DIV, 0x0000000000000004, D_TWO, 0, 0x0000000000000002, 0),
    VSA(DIV, S_ONE, 0, 0, S_INF, DZ),
    VSA(DIV, S_MONE, 0, 0, S_NINF, DZ),
    VDA(DIV, D_ONE, D_NZERO, 0, D_NINF, DZ),
    VDA(DIV, 0x0000000000000001, 0, 0, D_INF, DZ),
    VSA(DIV, 0, 0, 0, S_QNAN, NV),
    VDA(DIV, D_NZERO, 0, 0, D_QNAN, NV),
    VSA(DIV, S_INF, S_NINF, 0, S_QNAN, NV),
    VSA(DIV, S_INF, 0, 0, S_INF, 0),
    VDA(DIV, D_NINF, 0, 0, D_NINF, 0),
    VSA(DIV, S_ONE, S_NINF, 0, S_NZERO, 0),
    VDA(DIV, 0, D_ONE, 0, 0, 0),
    VDA(DIV, D_QNAN, 0, 0, D_QNAN, 0),
    VDA(DIV, D_SNAN, 0, 0, D_QNAN, NV),
    VD5(DIV, D_MAX, D_HALF, 0, D_INF, OF | NX, D_MAX, OF | NX, D_MAX, OF | NX, D_INF, OF | NX,
        D_INF, OF | NX),
    VSA(DIV, S_MINN, 0x4b000000, 0, 0x00000001, 0),
    VS5(DIV, S_MINN, 0x4b800000, 0, 0, UF | NX, 0, UF | NX, 0, UF | NX, 0x00000001, UF | NX,
        0x00000001, UF | NX),

    /* ---- sqrt ---- */
    VD5(SQRT, D_TWO, 0, 0, 0x3ff6a09e667f3bcd, NX, 0x3ff6a09e667f3bcc, NX, 0x3ff6a09e667f3bcc, NX,
        0x3ff6a09e667f3bcd, NX, 0x3ff6a09e667f3bcd, NX),
    VS5(SQRT, S_TWO, 0, 0, 0x3fb504f3, NX, 0x3fb504f3, NX, 0x3fb504f3, NX, 0x3fb504f4, NX,
        0x3fb504f3, NX),
    VSA(SQRT, 0x40800000, 0, 0, S_TWO, 0),
    VDA(SQRT, 0x0000000000000001, 0, 0, 0x1e60000000000000, 0),
    VSA(SQRT, 0x00000002, 0, 0, 0x1a800000, 0), /* sqrt(2^-148) = 2^-74 */
    VSA(SQRT, S_NZERO, 0, 0, S_NZERO, 0),
    VDA(SQRT, 0, 0, 0, 0, 0),
    VSA(SQRT, S_MONE, 0, 0, S_QNAN, NV),
    VDA(SQRT, 0x8000000000000001, 0, 0, D_QNAN, NV),
    VDA(SQRT, D_NINF, 0, 0, D_QNAN, NV),
    VDA(SQRT, D_INF, 0, 0, D_INF, 0),
    VSA(SQRT, 0xffc00000, 0, 0, S_QNAN, 0),
    VSA(SQRT, S_SNAN, 0, 0, S_QNAN, NV),

    /* ---- fused multiply-add ---- */
    VSA(MADD, S_INF, 0, S_QNAN, S_QNAN, NV),
    VDA(MADD, 0, D_NINF, D_QNAN, D_QNAN, NV),
    VDA(NMADD, D_NZERO, D_INF, D_ONE, D_QNAN, NV),
    VSA(MADD, S_INF, S_ONE, S_QNAN, S_QNAN, 0),
    VSA(MADD, S_INF, S_ONE, S_NINF, S_QNAN, NV),
    VSA(MSUB, S_INF, S_ONE, S_INF, S_QNAN, NV),
    VDA(MADD, D_INF, D_MONE, D_NINF, D_NINF, 0),
    VDA(MADD, D_ONE, D_ONE, D_SNAN, D_QNAN, NV),
    VDA(MADD, D_QNAN, D_ONE, D_SNAN, D_QNAN, NV),
    VSA(MADD, S_ONE, S_ONE, S_INF, S_INF, 0),
    /* single rounding: (1+2^-12)^2 - 1 = 2^-11 + 2^-24 exactly */
    VSA(MADD, 0x3f800800, 0x3f800800, S_MONE, 0x3a000400, 0),
    VDA(MSUB, 0x3ff0000004000000, 0x3ff0000002000000, D_ONE, 0x3e58000002000000, 0),
    /* ties */
    VS5(MADD, S_ONE, S_ONE, 0x33800000, S_ONE, NX, S_ONE, NX, S_ONE, NX, 0x3f800001, NX, 0x3f800001,
        NX),
    VS5(MADD, 0x3f800800, 0x3f800800, 0, 0x3f801000, NX, 0x3f801000, NX, 0x3f801000, NX, 0x3f801001,
        NX, 0x3f801001, NX),
    VD5(NMSUB, 0x3ff0000004000000, 0x3ff0000002000000, D_NZERO, 0xbff0000006000000, NX,
        0xbff0000006000000, NX, 0xbff0000006000001, NX, 0xbff0000006000000, NX, 0xbff0000006000001,
        NX),
    /* exact zero results and their signs */
    VS5(MADD, S_ONE, S_ONE, S_MONE, 0, 0, 0, 0, S_NZERO, 0, 0, 0, 0, 0),
    VS5(MADD, 0, S_ONE, S_NZERO, 0, 0, 0, 0, S_NZERO, 0, 0, 0, 0, 0),
    VDA(MADD, D_NZERO, D_ONE, D_NZERO, D_NZERO, 0),
    /* fnmadd(+0, 1, -0) = -(+0) - (-0) = -0 + +0 = +0 (not -(0 + -0) = -0) */
    VD5(NMADD, 0, D_ONE, D_NZERO, 0, 0, 0, 0, D_NZERO, 0, 0, 0, 0, 0),
    VDA(NMADD, 0, D_ONE, 0, D_NZERO, 0),
    VS5(MSUB, 0, S_ONE, 0, 0, 0, 0, 0, S_NZERO, 0, 0, 0, 0, 0),
    VS5(NMSUB, 0, S_ONE, 0, 0, 0, 0, 0, S_NZERO, 0, 0, 0, 0, 0),
    VSA(NMSUB, S_NZERO, S_ONE, 0, 0, 0),
    /* fnmsub/fnmadd signs */
    VSA(NMSUB, S_TWO, S_TWO, S_ONE, 0xc0400000, 0), /* -(4) + 1 = -3 */
    VSA(NMADD, S_TWO, S_TWO, S_ONE, 0xc0a00000, 0), /* -(4) - 1 = -5 */
    VSA(MSUB, S_TWO, S_TWO, S_ONE, 0x40400000, 0),  /* 4 - 1 = 3 */
    /* product underflows alone, but the sum is normal: exact */
    VD5(MADD, 0x0000000000000001, D_HALF, D_MINN, D_MINN, NX, D_MINN, NX, D_MINN, NX,
        0x0010000000000001, NX, 0x0010000000000001, NX),
    VD5(MADD, 0x0000000000000003, D_HALF, D_MINN, 0x0010000000000002, NX, 0x0010000000000001, NX,
        0x0010000000000001, NX, 0x0010000000000002, NX, 0x0010000000000002, NX),
    /* overflow in the product, cancelled by c? no: c is finite, product is exact */
    VDA(MADD, D_MAX, D_TWO, D_NMAX, D_MAX, 0),
    VD5(MADD, D_MAX, D_TWO, 0, D_INF, OF | NX, D_MAX, OF | NX, D_MAX, OF | NX, D_INF, OF | NX,
        D_INF, OF | NX),
    /* after-rounding tininess through fma */
    VD5(MADD, 0x0010000002000000, 0x3feffffffc000000, 0, D_MINN, NX, 0x000fffffffffffff, UF | NX,
        0x000fffffffffffff, UF | NX, D_MINN, NX, D_MINN, NX),

    /* ---- min/max ---- */
    VSA(MIN, S_NZERO, 0, 0, S_NZERO, 0),
    VSA(MIN, 0, S_NZERO, 0, S_NZERO, 0),
    VSA(MAX, S_NZERO, 0, 0, 0, 0),
    VDA(MAX, 0, D_NZERO, 0, 0, 0),
    VDA(MIN, D_NZERO, 0, 0, D_NZERO, 0),
    VSA(MIN, S_QNAN, S_ONE, 0, S_ONE, 0),
    VSA(MAX, S_ONE, 0xffc12345, 0, S_ONE, 0),
    VSA(MIN, S_SNAN, S_ONE, 0, S_ONE, NV),
    VDA(MAX, D_MONE, D_SNAN, 0, D_MONE, NV),
    VSA(MIN, S_QNAN, S_QNAN, 0, S_QNAN, 0),
    VSA(MAX, 0x7fc12345, 0xffc00001, 0, S_QNAN, 0),
    VDA(MIN, D_SNAN, D_QNAN, 0, D_QNAN, NV),
    VDA(MAX, 0x7ff8000000000abc, 0x7ff8000000000abc, 0, D_QNAN, 0),
    VSA(MIN, S_ONE, S_TWO, 0, S_ONE, 0),
    VSA(MAX, S_ONE, S_TWO, 0, S_TWO, 0),
    VSA(MIN, S_MONE, 0xc0000000, 0, 0xc0000000, 0),
    VSA(MAX, S_MONE, 0xc0000000, 0, S_MONE, 0),
    VDA(MIN, D_NINF, D_ONE, 0, D_NINF, 0),
    VDA(MAX, D_NINF, D_INF, 0, D_INF, 0),
    VDA(MIN, 0x8000000000000001, 0, 0, 0x8000000000000001, 0),
    VDA(MAX, 0x0000000000000002, 0x0000000000000001, 0, 0x0000000000000002, 0),

    /* ---- compares ---- */
    VSA(EQ, S_ONE, S_ONE, 0, 1, 0),
    VSA(EQ, S_NZERO, 0, 0, 1, 0),
    VSA(EQ, S_ONE, S_TWO, 0, 0, 0),
    VSA(EQ, S_QNAN, S_ONE, 0, 0, 0),
    VSA(EQ, S_QNAN, S_QNAN, 0, 0, 0),
    VSA(EQ, S_ONE, S_SNAN, 0, 0, NV),
    VDA(EQ, D_INF, D_INF, 0, 1, 0),
    VDA(EQ, D_QNAN, D_QNAN, 0, 0, 0),
    VDA(EQ, D_SNAN, D_ONE, 0, 0, NV),
    VSA(LT, S_ONE, S_TWO, 0, 1, 0),
    VSA(LT, S_TWO, S_ONE, 0, 0, 0),
    VSA(LT, S_NZERO, 0, 0, 0, 0),
    VSA(LT, 0xc0000000, S_MONE, 0, 1, 0),
    VSA(LT, S_MONE, 0xc0000000, 0, 0, 0),
    VSA(LT, S_QNAN, S_ONE, 0, 0, NV),
    VSA(LT, S_ONE, S_SNAN, 0, 0, NV),
    VDA(LT, D_NINF, D_INF, 0, 1, 0),
    VDA(LT, 0x8000000000000001, 0, 0, 1, 0),
    VDA(LT, 0, 0x8000000000000001, 0, 0, 0),
    VDA(LT, D_QNAN, D_QNAN, 0, 0, NV),
    VSA(LE, S_NZERO, 0, 0, 1, 0),
    VSA(LE, 0, S_NZERO, 0, 1, 0),
    VSA(LE, S_TWO, S_ONE, 0, 0, 0),
    VSA(LE, S_ONE, S_QNAN, 0, 0, NV),
    VDA(LE, D_INF, D_INF, 0, 1, 0),
    VDA(LE, D_MONE, D_MONE, 0, 1, 0),
    VDA(LE, D_ONE, D_MONE, 0, 0, 0),
    VDA(LE, D_SNAN, D_ONE, 0, 0, NV),

    /* ---- sign injection ---- */
    VSA(SGNJ, S_ONE, 0xc0000000, 0, S_MONE, 0),
    VSA(SGNJ, S_MONE, S_TWO, 0, S_ONE, 0),
    VSA(SGNJN, S_ONE, S_TWO, 0, S_MONE, 0),
    VSA(SGNJN, S_ONE, S_MONE, 0, S_ONE, 0),
    VSA(SGNJX, S_MONE, S_MONE, 0, S_ONE, 0),
    VSA(SGNJX, S_MONE, S_ONE, 0, S_MONE, 0),
    VSA(SGNJ, S_SNAN, S_MONE, 0, 0xff800001, 0), /* payload preserved */
    VDA(SGNJ, D_ONE, D_NZERO, 0, D_MONE, 0),
    VDA(SGNJN, D_MONE, D_MONE, 0, D_ONE, 0),
    VDA(SGNJN, D_QNAN, D_QNAN, 0, 0xfff8000000000000, 0),
    VDA(SGNJX, D_NINF, D_NZERO, 0, D_INF, 0),
    VDA(SGNJX, D_ONE, D_ONE, 0, D_ONE, 0),

    /* ---- fclass ---- */
    VSA(CLASS, S_NINF, 0, 0, 1 << 0, 0),
    VSA(CLASS, S_MONE, 0, 0, 1 << 1, 0),
    VSA(CLASS, 0x807fffff, 0, 0, 1 << 2, 0),
    VSA(CLASS, S_NZERO, 0, 0, 1 << 3, 0),
    VSA(CLASS, 0, 0, 0, 1 << 4, 0),
    VSA(CLASS, 0x00000001, 0, 0, 1 << 5, 0),
    VSA(CLASS, S_MINN, 0, 0, 1 << 6, 0),
    VSA(CLASS, S_INF, 0, 0, 1 << 7, 0),
    VSA(CLASS, 0xffbfffff, 0, 0, 1 << 8, 0),
    VSA(CLASS, 0xffc00000, 0, 0, 1 << 9, 0),
    VDA(CLASS, D_NINF, 0, 0, 1 << 0, 0),
    VDA(CLASS, D_NMAX, 0, 0, 1 << 1, 0),
    VDA(CLASS, 0x8000000000000001, 0, 0, 1 << 2, 0),
    VDA(CLASS, D_NZERO, 0, 0, 1 << 3, 0),
    VDA(CLASS, 0, 0, 0, 1 << 4, 0),
    VDA(CLASS, 0x000fffffffffffff, 0, 0, 1 << 5, 0),
    VDA(CLASS, D_MAX, 0, 0, 1 << 6, 0),
    VDA(CLASS, D_INF, 0, 0, 1 << 7, 0),
    VDA(CLASS, D_SNAN, 0, 0, 1 << 8, 0),
    VDA(CLASS, D_QNAN, 0, 0, 1 << 9, 0),

    /* ---- float -> int ---- */
    /* 2.5, -2.5, 0.5, -0.5, 1.5 */
    VS5(CVT_W, 0x40200000, 0, 0, 2, NX, 2, NX, 2, NX, 3, NX, 3, NX),
    VS5(CVT_W, 0xc0200000, 0, 0, -2ull, NX, -2ull, NX, -3ull, NX, -2ull, NX, -3ull, NX),
    VS5(CVT_W, S_HALF, 0, 0, 0, NX, 0, NX, 0, NX, 1, NX, 1, NX),
    VS5(CVT_L, 0xbf000000, 0, 0, 0, NX, 0, NX, -1ull, NX, 0, NX, -1ull, NX),
    VD5(CVT_L, 0x3ff8000000000000, 0, 0, 2, NX, 1, NX, 1, NX, 2, NX, 2, NX),
    VD5(CVT_W, 0xc004000000000000, 0, 0, -2ull, NX, -2ull, NX, -3ull, NX, -2ull, NX, -3ull, NX),
    /* NaN / inf / out of range */
    VSA(CVT_W, S_QNAN, 0, 0, 0x7fffffff, NV),
    VSA(CVT_W, 0xffc00000, 0, 0, 0x7fffffff, NV),
    VSA(CVT_W, S_SNAN, 0, 0, 0x7fffffff, NV),
    VSA(CVT_W, S_INF, 0, 0, 0x7fffffff, NV),
    VSA(CVT_W, S_NINF, 0, 0, 0xffffffff80000000, NV),
    VSA(CVT_W, 0x4f000000, 0, 0, 0x7fffffff, NV),         /* 2^31 */
    VSA(CVT_W, 0xcf000000, 0, 0, 0xffffffff80000000, 0),  /* -2^31 */
    VSA(CVT_W, 0x4effffff, 0, 0, 0x7fffff80, 0),          /* 2^31 - 128 */
    VSA(CVT_W, 0xcf000001, 0, 0, 0xffffffff80000000, NV), /* -2^31 - 256 */
    VSA(CVT_W, S_NZERO, 0, 0, 0, 0),
    /* 2^31 - 0.5 and -2^31 - 0.5 */
    VD5(CVT_W, 0x41dfffffffe00000, 0, 0, 0x7fffffff, NV, 0x7fffffff, NX, 0x7fffffff, NX, 0x7fffffff,
        NV, 0x7fffffff, NV),
    VD5(CVT_W, 0xc1e0000000100000, 0, 0, 0xffffffff80000000, NX, 0xffffffff80000000, NX,
        0xffffffff80000000, NV, 0xffffffff80000000, NX, 0xffffffff80000000, NV),
    VDA(CVT_W, 0x41dfffffffc00000, 0, 0, 0x7fffffff, 0),
    VDA(CVT_W, D_NINF, 0, 0, 0xffffffff80000000, NV),
    VDA(CVT_W, 0x7ff8000000000000, 0, 0, 0x7fffffff, NV),
    VDA(CVT_W, 0xfff0000000000001, 0, 0, 0x7fffffff, NV),
    /* unsigned: negative values that round to 0 give 0 with NX only */
    VS5(CVT_WU, 0xbe99999a, 0, 0, 0, NX, 0, NX, 0, NV, 0, NX, 0, NX), /* -0.3 */
    VS5(CVT_WU, 0xbf333333, 0, 0, 0, NV, 0, NX, 0, NV, 0, NX, 0, NV), /* -0.7 */
    VS5(CVT_LU, 0xbf000000, 0, 0, 0, NX, 0, NX, 0, NV, 0, NX, 0, NV), /* -0.5 */
    VSA(CVT_WU, S_MONE, 0, 0, 0, NV),
    VSA(CVT_WU, S_NZERO, 0, 0, 0, 0),
    VSA(CVT_WU, S_QNAN, 0, 0, 0xffffffffffffffff, NV),
    VSA(CVT_WU, S_INF, 0, 0, 0xffffffffffffffff, NV),
    VSA(CVT_WU, S_NINF, 0, 0, 0, NV),
    VSA(CVT_WU, 0x4f800000, 0, 0, 0xffffffffffffffff, NV), /* 2^32 */
    VSA(CVT_WU, 0x4f000000, 0, 0, 0xffffffff80000000, 0),  /* 2^31, sign-extended */
    VSA(CVT_WU, 0x4f32d05e, 0, 0, 0xffffffffb2d05e00, 0),  /* 3e9 */
    VSA(CVT_WU, 0x3f800000, 0, 0, 1, 0),
    VDA(CVT_WU, 0x41efffffffe00000, 0, 0, 0xffffffffffffffff, 0), /* 2^32 - 1 */
    VD5(CVT_WU, 0x41effffffff00000, 0, 0, 0xffffffffffffffff, NV, 0xffffffffffffffff, NX,
        0xffffffffffffffff, NX, 0xffffffffffffffff, NV, 0xffffffffffffffff, NV),
    VDA(CVT_WU, 0xc1e0000000000000, 0, 0, 0, NV),
    VDA(CVT_L, 0x43e0000000000000, 0, 0, 0x7fffffffffffffff, NV), /* 2^63 */
    VDA(CVT_L, 0xc3e0000000000000, 0, 0, 0x8000000000000000, 0),  /* -2^63 */
    VDA(CVT_L, 0x43dfffffffffffff, 0, 0, 0x7ffffffffffffc00, 0),
    VDA(CVT_L, 0xc3e0000000000001, 0, 0, 0x8000000000000000, NV),
    VDA(CVT_L, D_QNAN, 0, 0, 0x7fffffffffffffff, NV),
    VDA(CVT_L, D_INF, 0, 0, 0x7fffffffffffffff, NV),
    VDA(CVT_L, D_NINF, 0, 0, 0x8000000000000000, NV),
    VDA(CVT_L, 0x4330000000000001, 0, 0, 0x0010000000000001, 0),
    VSA(CVT_L, 0x5f000000, 0, 0, 0x7fffffffffffffff, NV),
    VSA(CVT_L, 0xdf000000, 0, 0, 0x8000000000000000, 0),
    VSA(CVT_L, 0x5effffff, 0, 0, 0x7fffff8000000000, 0),
    VDA(CVT_LU, 0x43f0000000000000, 0, 0, 0xffffffffffffffff, NV), /* 2^64 */
    VDA(CVT_LU, 0x43efffffffffffff, 0, 0, 0xfffffffffffff800, 0),
    VDA(CVT_LU, D_MONE, 0, 0, 0, NV),
    VDA(CVT_LU, D_QNAN, 0, 0, 0xffffffffffffffff, NV),
    VDA(CVT_LU, D_NINF, 0, 0, 0, NV),
    VSA(CVT_LU, 0x5f800000, 0, 0, 0xffffffffffffffff, NV),
    VSA(CVT_LU, 0x5f7fffff, 0, 0, 0xffffff0000000000, 0),
    /* tiny values */
    VD5(CVT_L, 0x0000000000000001, 0, 0, 0, NX, 0, NX, 0, NX, 1, NX, 0, NX),
    VD5(CVT_W, 0x8000000000000001, 0, 0, 0, NX, 0, NX, -1ull, NX, 0, NX, 0, NX),
    VS5(CVT_LU, 0x00000001, 0, 0, 0, NX, 0, NX, 0, NX, 1, NX, 0, NX),
    VS5(CVT_WU, 0x80000001, 0, 0, 0, NX, 0, NX, 0, NV, 0, NX, 0, NX),
    VD5(CVT_L, 0x01a56e1fc2f8f359, 0, 0, 0, NX, 0, NX, 0, NX, 1, NX, 0, NX), /* 1e-300 */

    /* ---- int -> float ---- */
    /* 2^24 + 1: tie (2^24 even); 2^24 + 3: tie (2^24+2 odd) */
    VS5(CVT_FW, 16777217, 0, 0, 0x4b800000, NX, 0x4b800000, NX, 0x4b800000, NX, 0x4b800001, NX,
        0x4b800001, NX),
    VS5(CVT_FW, 16777219, 0, 0, 0x4b800002, NX, 0x4b800001, NX, 0x4b800001, NX, 0x4b800002, NX,
        0x4b800002, NX),
    VS5(CVT_FW, (uint64_t)-16777217, 0, 0, 0xcb800000, NX, 0xcb800000, NX, 0xcb800001, NX,
        0xcb800000, NX, 0xcb800001, NX),
    VSA(CVT_FW, 0, 0, 0, 0, 0),
    VSA(CVT_FW, 0xffffffff80000000, 0, 0, 0xcf000000, 0),
    VSA(CVT_FW, 0x0000000080000000, 0, 0, 0xcf000000, 0), /* only the low 32 bits count */
    VSA(CVT_FW, 0x12345678ffffffff, 0, 0, S_MONE, 0),
    VS5(CVT_FWU, 0xffffffff, 0, 0, 0x4f800000, NX, 0x4f7fffff, NX, 0x4f7fffff, NX, 0x4f800000, NX,
        0x4f800000, NX),
    VSA(CVT_FWU, 0xffffffff00000001, 0, 0, S_ONE, 0),
    VS5(CVT_FL, 0x7fffffffffffffff, 0, 0, 0x5f000000, NX, 0x5effffff, NX, 0x5effffff, NX,
        0x5f000000, NX, 0x5f000000, NX),
    VSA(CVT_FL, 0x8000000000000000, 0, 0, 0xdf000000, 0),
    VS5(CVT_FLU, 0xffffffffffffffff, 0, 0, 0x5f800000, NX, 0x5f7fffff, NX, 0x5f7fffff, NX,
        0x5f800000, NX, 0x5f800000, NX),
    VD5(CVT_FL, 0x0020000000000001, 0, 0, 0x4340000000000000, NX, 0x4340000000000000, NX,
        0x4340000000000000, NX, 0x4340000000000001, NX, 0x4340000000000001, NX),
    VD5(CVT_FL, 0xffdfffffffffffff, 0, 0, 0xc340000000000000, NX, 0xc340000000000000, NX,
        0xc340000000000001, NX, 0xc340000000000000, NX, 0xc340000000000001, NX),
    VDA(CVT_FL, 0x8000000000000000, 0, 0, 0xc3e0000000000000, 0),
    VDA(CVT_FL, 0, 0, 0, 0, 0),
    VD5(CVT_FLU, 0xffffffffffffffff, 0, 0, 0x43f0000000000000, NX, 0x43efffffffffffff, NX,
        0x43efffffffffffff, NX, 0x43f0000000000000, NX, 0x43f0000000000000, NX),
    VDA(CVT_FW, 0xffffffff, 0, 0, D_MONE, 0),
    VDA(CVT_FW, 0x7fffffff, 0, 0, 0x41dfffffffc00000, 0),
    VDA(CVT_FWU, 0xffffffff, 0, 0, 0x41efffffffe00000, 0),
    VDA(CVT_FWU, 0, 0, 0, 0, 0),

    /* ---- double -> single ---- */
    VS5(CVT_SD, 0x3fd5555555555555, 0, 0, 0x3eaaaaab, NX, 0x3eaaaaaa, NX, 0x3eaaaaaa, NX,
        0x3eaaaaab, NX, 0x3eaaaaab, NX),
    VS5(CVT_SD, 0x3ff0000010000000, 0, 0, S_ONE, NX, S_ONE, NX, S_ONE, NX, 0x3f800001, NX,
        0x3f800001, NX),
    VS5(CVT_SD, 0xbff0000030000000, 0, 0, 0xbf800002, NX, 0xbf800001, NX, 0xbf800002, NX,
        0xbf800001, NX, 0xbf800002, NX),
    VS5(CVT_SD, D_MAX, 0, 0, S_INF, OF | NX, S_MAX, OF | NX, S_MAX, OF | NX, S_INF, OF | NX, S_INF,
        OF | NX),
    VSA(CVT_SD, 0x47efffffe0000000, 0, 0, S_MAX, 0),
    VS5(CVT_SD, 0x47effffff0000000, 0, 0, S_INF, OF | NX, S_MAX, NX, S_MAX, NX, S_INF, OF | NX,
        S_INF, OF | NX), /* FLT_MAX + half ulp */
    VS5(CVT_SD, 0x47efffffe8000000, 0, 0, S_MAX, NX, S_MAX, NX, S_MAX, NX, S_INF, OF | NX, S_MAX,
        NX), /* FLT_MAX + quarter ulp */
    VS5(CVT_SD, 0x47efffffd0000000, 0, 0, 0x7f7ffffe, NX, 0x7f7ffffe, NX, 0x7f7ffffe, NX, S_MAX, NX,
        S_MAX, NX), /* FLT_MAX - half ulp: tie, FLT_MAX is odd */
    VS5(CVT_SD, 0x3596d1cb4ad9d43c, 0, 0, 0, UF | NX, 0, UF | NX, 0, UF | NX, 0x00000001, UF | NX,
        0, UF | NX), /* ~1e-50 */
    VS5(CVT_SD, 0x36a8000000000000, 0, 0, 0x00000002, UF | NX, 0x00000001, UF | NX, 0x00000001,
        UF | NX, 0x00000002, UF | NX, 0x00000002, UF | NX), /* 1.5 * 2^-149 */
    VS5(CVT_SD, 0x36a4000000000000, 0, 0, 0x00000001, UF | NX, 0x00000001, UF | NX, 0x00000001,
        UF | NX, 0x00000002, UF | NX, 0x00000001, UF | NX), /* 1.25 * 2^-149 */
    VS5(CVT_SD, 0x3690000000000000, 0, 0, 0, UF | NX, 0, UF | NX, 0, UF | NX, 0x00000001, UF | NX,
        0x00000001, UF | NX), /* 2^-150: tie between 0 and minsub */
    /* FLT_MIN (1 - 2^-25): not tiny after rounding in RNE/RUP/RMM */
    VS5(CVT_SD, 0x380ffffff0000000, 0, 0, S_MINN, NX, 0x007fffff, UF | NX, 0x007fffff, UF | NX,
        S_MINN, NX, S_MINN, NX),
    /* FLT_MIN (1 - 2^-24): exactly representable with unbounded exponent: tiny */
    VS5(CVT_SD, 0x380fffffe0000000, 0, 0, S_MINN, UF | NX, 0x007fffff, UF | NX, 0x007fffff, UF | NX,
        S_MINN, UF | NX, S_MINN, UF | NX),
    VSA(CVT_SD, 0x36a0000000000000, 0, 0, 0x00000001, 0),
    VSA(CVT_SD, 0x3810000000000000, 0, 0, S_MINN, 0),
    VSA(CVT_SD, D_SNAN, 0, 0, S_QNAN, NV),
    VSA(CVT_SD, 0xfff8000012345678, 0, 0, S_QNAN, 0),
    VSA(CVT_SD, D_NINF, 0, 0, S_NINF, 0),
    VSA(CVT_SD, D_NZERO, 0, 0, S_NZERO, 0),
    VS5(CVT_SD, 0x8000000000000001, 0, 0, S_NZERO, UF | NX, S_NZERO, UF | NX, 0x80000001, UF | NX,
        S_NZERO, UF | NX, S_NZERO, UF | NX),
    /* ---- single -> double (exact) ---- */
    VDA(CVT_DS, 0x00000001, 0, 0, 0x36a0000000000000, 0),
    VDA(CVT_DS, 0x807fffff, 0, 0, 0xb80fffffc0000000, 0),
    VDA(CVT_DS, S_MAX, 0, 0, 0x47efffffe0000000, 0),
    VDA(CVT_DS, S_SNAN, 0, 0, D_QNAN, NV),
    VDA(CVT_DS, 0xffc00001, 0, 0, D_QNAN, 0),
    VDA(CVT_DS, S_NINF, 0, 0, D_NINF, 0),
    VDA(CVT_DS, S_NZERO, 0, 0, D_NZERO, 0),

    /* ---- NaN-boxing: improperly boxed single inputs read as the canonical qNaN ---- */
    VSRAW(ADD, 0x000000003f800000, 0xffffffff3f800000, 0, RNE, 0xffffffff7fc00000, 0),
    VSRAW(MUL, 0xffffffff3f800000, 0xfffffffe3f800000, 0, RNE, 0xffffffff7fc00000, 0),
    VSRAW(MADD, 0xffffffff3f800000, 0xffffffff3f800000, 0x7fffffff3f800000, RMM, 0xffffffff7fc00000,
          0),
    VSRAW(SQRT, 0x40800000, 0, 0, RUP, 0xffffffff7fc00000, 0),
    VSRAW(EQ, 0x3f800000, 0x3f800000, 0, RNE, 0, 0),
    VSRAW(LT, 0x3f800000, 0xffffffff40000000, 0, RNE, 0, NV),
    VSRAW(LE, 0xffffffff3f800000, 0x3f800000, 0, RNE, 0, NV),
    VSRAW(CLASS, 0xff800000, 0, 0, RNE, 1 << 9, 0),
    VSRAW(CLASS, 0xffffffffff800000, 0, 0, RNE, 1 << 0, 0),
    VSRAW(MIN, 0x3f800000, 0xffffffff40000000, 0, RNE, 0xffffffff40000000, 0),
    VSRAW(MAX, 0xffffffff40000000, 0x0000000100000000, 0, RNE, 0xffffffff40000000, 0),
    VSRAW(MIN, 0x3f800000, 0x40000000, 0, RNE, 0xffffffff7fc00000, 0),
    VSRAW(SGNJ, 0x3f800000, 0xffffffffbf800000, 0, RNE, 0xffffffffffc00000, 0),
    VSRAW(SGNJN, 0xffffffffbf800000, 0x3f800000, 0, RNE, 0xffffffffbf800000, 0),
    VSRAW(SGNJX, 0x3f800000, 0xffffffff3f800000, 0, RNE, 0xffffffff7fc00000, 0),
    VSRAW(CVT_W, 0x3f800000, 0, 0, RNE, 0x7fffffff, NV),
    VSRAW(CVT_DS, 0x3f800000, 0, 0, RNE, D_QNAN, 0),
    VSRAW(CVT_DS, 0xffffffff3f800000, 0, 0, RNE, D_ONE, 0),
    VSRAW(CVT_FW, 5, 0, 0, RNE, 0xffffffff40a00000, 0),
    VSRAW(CVT_SD, D_ONE, 0, 0, RNE, 0xffffffff3f800000, 0),
};

static void run_vectors(void)
{
    for (int run = 0; run < 4; run++) {
        int host = !(run & 1);
        g_preset = run & 2 ? RV_FFLAG_NX : 0;
        rv_fpu_set_host_fpu(host);
        for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
            const Vec *v = &vectors[i];
            uint64_t a = v->a, b = v->b, c = v->c, exp = v->exp;
            int in = op_in_kind(v->op), out = op_out_kind(v->op);
            if (!v->raw) {
                bool box_in = (in == 0 && !v->dbl) || in == 3;
                bool box_out = (out == 0 && !v->dbl) || out == 3;
                if (box_in) {
                    a |= 0xffffffff00000000ull;
                    b |= 0xffffffff00000000ull;
                    c |= 0xffffffff00000000ull;
                }
                if (box_out)
                    exp |= 0xffffffff00000000ull;
            }
            unsigned fl;
            uint64_t r = run_op(v->op, v->dbl, a, b, c, (uint64_t)v->rm, &fl);
            char what[48];
            snprintf(what, sizeof(what), "vector line %d (%s)", v->line, host ? "host" : "soft");
            check_result(what, v->op, v->dbl, a, b, c, v->rm, r, fl, exp, v->fl);
        }
    }
    rv_fpu_set_host_fpu(true);
    g_preset = 0;
}

/* Call an op expecting an illegal-instruction exception; true if it raised. */
static bool call_raises(int op, int dbl, uint64_t v, uint64_t rm)
{
    g_expect_raise = true;
    g_cause = 0;
    if (setjmp(g_jmp) == 0) {
        (void)call_op(op, dbl, v, v, v, rm);
        g_expect_raise = false;
        return false;
    }
    g_expect_raise = false;
    return true;
}

/* Dynamic rounding mode, invalid modes, flag accrual. */
static void run_mode_tests(void)
{
    static const uint64_t s1 = 0xffffffff3f800000ull, tie = 0xffffffff33800000ull;
    unsigned fl;
    for (int host = 1; host >= 0; host--) {
        rv_fpu_set_host_fpu(host);
        static const uint64_t dyn_exp[5] = { 0x3f800000, 0x3f800000, 0x3f800000, 0x3f800001,
                                             0x3f800001 };
        for (int m = 0; m < 5; m++) {
            g_rv.frm = (uint64_t)m;
            uint64_t r = run_op(ADD, 0, s1, tie, 0, RV_RM_DYN, &fl);
            check_result("dynamic rm", ADD, 0, s1, tie, 0, RV_RM_DYN, r, fl,
                         dyn_exp[m] | 0xffffffff00000000ull, NX);
            r = run_op(CVT_W, 1, 0x4004000000000000ull, 0, 0, RV_RM_DYN, &fl);
            static const uint64_t cvt_exp[5] = { 2, 2, 2, 3, 3 };
            check_result("dynamic rm", CVT_W, 1, 0x4004000000000000ull, 0, 0, RV_RM_DYN, r, fl,
                         cvt_exp[m], NX);
        }
        /* invalid rounding modes raise illegal instruction and leave fflags alone */
        static const struct {
            uint64_t rm, frm;
        } bad[] = { { 5, 0 }, { 6, 0 }, { 7, 5 }, { 7, 6 }, { 7, 7 } };
        static const int bad_ops[] = { ADD,   SUB,    MUL,    DIV,     SQRT,   MADD,  NMADD,
                                       CVT_W, CVT_LU, CVT_FW, CVT_FLU, CVT_SD, CVT_DS };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            for (size_t j = 0; j < sizeof(bad_ops) / sizeof(bad_ops[0]); j++) {
                for (int dbl = 0; dbl < 2; dbl++) {
                    g_rv.frm = bad[i].frm;
                    g_rv.fflags = 0x1f;
                    bool raised = call_raises(bad_ops[j], dbl, s1, bad[i].rm);
                    g_checks++;
                    if (!raised || g_cause != RV_EXC_ILLEGAL_INSN || g_rv.fflags != 0x1f)
                        FAILF("FAIL invalid rm %llu frm %llu: %s.%c raised=%d cause=%llu "
                              "fflags=%llx\n",
                              (unsigned long long)bad[i].rm, (unsigned long long)bad[i].frm,
                              op_names[bad_ops[j]], dbl ? 'd' : 's', (int)raised,
                              (unsigned long long)g_cause, (unsigned long long)g_rv.fflags);
                }
            }
        }
        g_rv.frm = 0;
        /* ops without a rounding mode ignore a bad frm */
        g_rv.frm = 6;
        uint64_t r = run_op(MIN, 1, D_ONE, D_TWO, 0, 0, &fl);
        check_result("frm ignored", MIN, 1, D_ONE, D_TWO, 0, 0, r, fl, D_ONE, 0);
        g_rv.frm = 0;
        /* flags accrue with OR */
        g_rv.fflags = RV_FFLAG_NV | RV_FFLAG_DZ;
        (void)rv_fadd_d(cpu, D_ONE, 0x3ca0000000000000ull, RNE);
        g_checks++;
        if (g_rv.fflags != (RV_FFLAG_NV | RV_FFLAG_DZ | RV_FFLAG_NX))
            FAILF("FAIL flag accrual: fflags=%llx\n", (unsigned long long)g_rv.fflags);
        g_rv.fflags = RV_FFLAG_OF;
        (void)rv_fadd_d(cpu, D_ONE, D_ONE, RNE);
        (void)rv_feq_d(cpu, D_ONE, D_ONE);
        (void)rv_fmin_s(cpu, s1, s1);
        g_checks++;
        if (g_rv.fflags != RV_FFLAG_OF)
            FAILF("FAIL exact ops changed fflags: %llx\n", (unsigned long long)g_rv.fflags);
        g_rv.fflags = 0;
    }
    rv_fpu_set_host_fpu(true);
}

#if defined(__x86_64__)
/* The host path must not depend on (or change) the caller's MXCSR: in a fresh thread (the
 * fast path's environment check is cached per thread) run with FTZ, DAZ, round-toward-zero
 * and stale flags set, with NX already accrued (fast-path condition) and without. */
static void *mxcsr_thread(void *arg)
{
    (void)arg;
    uint32_t odd = 0x8000 | 0x0040 | (3u << 13) | 0x1f80 | 0x3f, now;
    __asm__ volatile("ldmxcsr %0" : : "m"(odd));
    for (int pre = 0; pre < 2; pre++) {
        unsigned pf = pre ? RV_FFLAG_NX : 0, fl;
        struct {
            int op;
            uint64_t a, b, c;
            int rm;
            uint64_t exp;
            unsigned fl;
        } t[] = {
            /* subnormal input and output, RNE tie up: 3 minsub / 2 = 2 minsub */
            { DIV, 3, D_TWO, 0, RNE, 2, UF | NX },
            /* 1 + 2^-53 in RUP */
            { ADD, D_ONE, 0x3ca0000000000000ull, 0, RUP, 0x3ff0000000000001ull, NX },
            /* RNE, normal result: the fast-path shape */
            { MUL, 0x3ff0000004000000ull, 0x3ff0000002000000ull, 0, RNE, 0x3ff0000006000000ull,
              NX },
            { ADD, 0x3ff0000000000001ull, 0x3ca0000000000000ull, 0, RNE, 0x3ff0000000000002ull,
              NX },
            /* subnormal operand (DAZ would flush it) */
            { ADD, 0x000fffffffffffffull, D_MINN, 0, RNE, 0x001fffffffffffffull, 0 },
            { MADD, 1, D_HALF, D_MINN, RUP, 0x0010000000000001ull, NX },
            { SQRT, D_TWO, 0, 0, RNE, 0x3ff6a09e667f3bcdull, NX },
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
            g_rv.fflags = pf;
            uint64_t r = call_op(t[i].op, 1, t[i].a, t[i].b, t[i].c, (uint64_t)t[i].rm);
            fl = (unsigned)g_rv.fflags;
            check_result("mxcsr", t[i].op, 1, t[i].a, t[i].b, t[i].c, t[i].rm, r, fl, t[i].exp,
                         t[i].fl | pf);
        }
    }
    __asm__ volatile("stmxcsr %0" : "=m"(now));
    g_checks++;
    if ((now & ~0x3fu) != (odd & ~0x3fu))
        FAILF("FAIL mxcsr not restored: %#x -> %#x\n", odd, now);
    return NULL;
}

static void run_mxcsr_tests(void)
{
    pthread_t th;
    for (int host = 1; host >= 0; host--) {
        rv_fpu_set_host_fpu(host);
        if (pthread_create(&th, NULL, mxcsr_thread, NULL) != 0 || pthread_join(th, NULL) != 0) {
            FAILF("FAIL pthread_create\n");
            return;
        }
    }
    rv_fpu_set_host_fpu(true);
}
#endif

/*
 * A helper flagged IR_HELPER_KEEPS_GLOBALS may write no guest state but fflags (the JIT keeps
 * globals in host registers across it): run it on a CPU state filled with a pattern, with
 * static and dynamic rounding, NX clear and set, and compare every other byte.
 */
static void check_keeps_globals(const IrHelper *h)
{
    static const uint64_t args[][3] = {
        { 0x3ff199999999999aull, 0x400a666666666666ull, 0x3fe0000000000000ull }, /* 1.1, 3.3, .5 */
        { 0xffffffff3f8ccccdull, 0xffffffff40533333ull, 0xffffffff3f000000ull }, /* floats */
        { 0x7ff0000000000000ull, 0xfff8000000000000ull, 0x0000000000000001ull }, /* inf, NaN */
        { 0xffffffffffffffffull, 0x0000000080000000ull, 0x8000000000000000ull },
    };
    static RvCpu before;
    for (unsigned a = 0; a < sizeof(args) / sizeof(args[0]); a++) {
        for (unsigned k = 0; k < 4; k++) {
            memset(&g_rv, 0xa5, sizeof(g_rv));
            g_rv.frm = 0;
            g_rv.fflags = (k & 1) ? RV_FFLAG_NX : 0;
            uint64_t rm = (k & 2) ? 7 : 0; /* RNE, or dynamic (frm = RNE) */
            memcpy(&before, &g_rv, sizeof(g_rv));
            uint64_t x = args[a][0], y = args[a][1], z = args[a][2];
            /* The last IR argument of a rounding helper is the rounding mode. */
            bool round = h->flags & IR_HELPER_MAY_RAISE;
            switch (h->nargs) {
            case 2:
                ((uint64_t(*)(VsCpu *, uint64_t, uint64_t))h->fn)(cpu, x, round ? rm : y);
                break;
            case 3:
                ((uint64_t(*)(VsCpu *, uint64_t, uint64_t, uint64_t))h->fn)(cpu, x, y, rm);
                break;
            default:
                ((uint64_t(*)(VsCpu *, uint64_t, uint64_t, uint64_t, uint64_t))h->fn)(cpu, x, y, z,
                                                                                      rm);
                break;
            }
            before.fflags = g_rv.fflags;
            g_checks++;
            if (memcmp(&before, &g_rv, sizeof(g_rv)) != 0)
                FAILF("FAIL %s: wrote guest state other than fflags (args %u, case %u)\n", h->name,
                      a, k);
        }
    }
    memset(&g_rv, 0, sizeof(g_rv));
}

/* Descriptor names, arg counts, flags and function pointers. */
static void run_descriptor_tests(void)
{
    /* KEEPS_GLOBALS: they write only fflags (check_keeps_globals). */
    const unsigned round = IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE |
                           IR_HELPER_MAY_RAISE | IR_HELPER_KEEPS_GLOBALS;
    const unsigned flags = IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE |
                           IR_HELPER_KEEPS_GLOBALS;
    /* add/sub/mul/div are IrHostFpHelpers (the JIT's inline fast path, tested by test-jit). */
    const unsigned hostfp = round | IR_HELPER_HOST_FP;
    const struct {
        const IrHelper *h;
        const char *name;
        void *fn;
        unsigned nargs, flags;
    } d[] = {
#define H(op, n, f) { &rv_helper_##op, "rv_" #op, (void *)rv_##op, n, f }
        H(fadd_s, 3, hostfp),
        H(fsub_s, 3, hostfp),
        H(fmul_s, 3, hostfp),
        H(fdiv_s, 3, hostfp),
        H(fsqrt_s, 2, round),
        H(fadd_d, 3, hostfp),
        H(fsub_d, 3, hostfp),
        H(fmul_d, 3, hostfp),
        H(fdiv_d, 3, hostfp),
        H(fsqrt_d, 2, round),
        H(fmadd_s, 4, round),
        H(fmsub_s, 4, round),
        H(fnmsub_s, 4, round),
        H(fnmadd_s, 4, round),
        H(fmadd_d, 4, round),
        H(fmsub_d, 4, round),
        H(fnmsub_d, 4, round),
        H(fnmadd_d, 4, round),
        H(fmin_s, 2, flags),
        H(fmax_s, 2, flags),
        H(fmin_d, 2, flags),
        H(fmax_d, 2, flags),
        H(feq_s, 2, flags),
        H(flt_s, 2, flags),
        H(fle_s, 2, flags),
        H(feq_d, 2, flags),
        H(flt_d, 2, flags),
        H(fle_d, 2, flags),
        H(fcvt_w_s, 2, round),
        H(fcvt_wu_s, 2, round),
        H(fcvt_l_s, 2, round),
        H(fcvt_lu_s, 2, round),
        H(fcvt_w_d, 2, round),
        H(fcvt_wu_d, 2, round),
        H(fcvt_l_d, 2, round),
        H(fcvt_lu_d, 2, round),
        H(fcvt_s_w, 2, round),
        H(fcvt_s_wu, 2, round),
        H(fcvt_s_l, 2, round),
        H(fcvt_s_lu, 2, round),
        H(fcvt_d_w, 2, round),
        H(fcvt_d_wu, 2, round),
        H(fcvt_d_l, 2, round),
        H(fcvt_d_lu, 2, round),
        H(fcvt_s_d, 2, round),
        H(fcvt_d_s, 2, round),
        H(fsgnj_s, 2, IR_HELPER_PURE),
        H(fsgnjn_s, 2, IR_HELPER_PURE),
        H(fsgnjx_s, 2, IR_HELPER_PURE),
        H(fsgnj_d, 2, IR_HELPER_PURE),
        H(fsgnjn_d, 2, IR_HELPER_PURE),
        H(fsgnjx_d, 2, IR_HELPER_PURE),
        H(fclass_s, 1, IR_HELPER_PURE),
        H(fclass_d, 1, IR_HELPER_PURE),
#undef H
    };
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        g_checks++;
        if (strcmp(d[i].h->name, d[i].name) || d[i].h->fn != d[i].fn ||
            d[i].h->nargs != d[i].nargs || d[i].h->flags != d[i].flags)
            FAILF("FAIL descriptor %s: name=%s nargs=%u flags=%#x\n", d[i].name, d[i].h->name,
                  d[i].h->nargs, d[i].h->flags);
        if (d[i].h->flags & IR_HELPER_KEEPS_GLOBALS)
            check_keeps_globals(d[i].h);
    }
}

/* ================================================================================== */
/* Independent reference                                                               */

typedef struct TF {
    int p, bias; /* precision, bias */
    bool dbl;
    uint64_t sign, inf, qnan;
} TF;

static const TF TS = { 24, 127, false, 0x80000000u, 0x7f800000u, 0x7fc00000u };
static const TF TD = {
    53, 1023, true, 0x8000000000000000ull, 0x7ff0000000000000ull, 0x7ff8000000000000ull
};

/* Value of a bit pattern as an (exact) long double, via the host's own conversions. */
static long double tval(const TF *f, uint64_t x)
{
    if (f->dbl) {
        double d;
        memcpy(&d, &x, sizeof(d));
        return d;
    }
    uint32_t u = (uint32_t)x;
    float s;
    memcpy(&s, &u, sizeof(s));
    return s;
}

static bool t_isnan(const TF *f, uint64_t x)
{
    return isnan(tval(f, x));
}

static bool t_issnan(const TF *f, uint64_t x)
{
    return t_isnan(f, x) && !((x >> (f->p - 2)) & 1);
}

static bool t_neg(const TF *f, uint64_t x)
{
    return (x & f->sign) != 0;
}

/* Finite nonzero x = (-1)^neg * m * 2^e, decomposed with frexpl. */
static void tdecomp(const TF *f, uint64_t x, int *neg, u128 *m, int *e)
{
    long double v = tval(f, x);
    int ex;
    long double fr = frexpl(fabsl(v), &ex);
    *neg = signbit(v) != 0;
    *m = (u128)(uint64_t)ldexpl(fr, 64);
    *e = ex - 64;
}

/* Fixed-size two's complement big integer; bit i has weight 2^(i - BOFF). */
#define BLIMBS 144
#define BOFF   2240
typedef struct Big {
    uint32_t w[BLIMBS];
} Big;

static void big_add(Big *b, bool neg, u128 m, int e)
{
    if (m == 0)
        return;
    int pos = e + BOFF;
    if (pos < 0 || pos + 160 > BLIMBS * 32) {
        fprintf(stderr, "reference: exponent %d out of range\n", e);
        abort();
    }
    int li = pos / 32, sh = pos % 32;
    uint32_t t[5];
    u128 lo = m << sh;
    for (int i = 0; i < 4; i++)
        t[i] = (uint32_t)(lo >> (32 * i));
    t[4] = sh ? (uint32_t)(m >> (128 - sh)) : 0;
    uint64_t carry = 0;
    for (int i = li; i < BLIMBS; i++) {
        uint64_t add = i - li < 5 ? t[i - li] : 0;
        if (i - li >= 5 && carry == 0)
            break;
        if (!neg) {
            uint64_t s = (uint64_t)b->w[i] + add + carry;
            b->w[i] = (uint32_t)s;
            carry = s >> 32;
        } else {
            uint64_t sub = add + carry;
            carry = (uint64_t)b->w[i] < sub;
            b->w[i] = (uint32_t)((uint64_t)b->w[i] - sub);
        }
    }
}

static int big_sign(const Big *b)
{
    if (b->w[BLIMBS - 1] & 0x80000000u)
        return -1;
    for (int i = 0; i < BLIMBS; i++)
        if (b->w[i])
            return 1;
    return 0;
}

enum { K_SUM, K_DIV, K_SQRT };

/* The exact (nonzero) result: SUM = sum of terms, DIV = t0 / t1, SQRT = sqrt(t0). */
typedef struct Exact {
    int kind, nterms;
    bool neg[3];
    u128 m[3];
    int e[3];
    int sign; /* +1 / -1 */
} Exact;

/* sign(|X| - vm * 2^ve) */
static int ex_cmp(const Exact *x, u128 vm, int ve)
{
    Big b;
    memset(&b, 0, sizeof(b));
    switch (x->kind) {
    case K_SUM:
        for (int i = 0; i < x->nterms; i++)
            big_add(&b, x->neg[i], x->m[i], x->e[i]);
        big_add(&b, x->sign > 0, vm, ve);
        return x->sign * big_sign(&b);
    case K_DIV:
        big_add(&b, false, x->m[0], x->e[0]);
        big_add(&b, true, vm * x->m[1], ve + x->e[1]);
        return big_sign(&b);
    default:
        big_add(&b, false, x->m[0], x->e[0]);
        big_add(&b, true, vm * vm, 2 * ve);
        return big_sign(&b);
    }
}

static int ex_sign_of_sum(const Exact *x)
{
    Big b;
    memset(&b, 0, sizeof(b));
    for (int i = 0; i < x->nterms; i++)
        big_add(&b, x->neg[i], x->m[i], x->e[i]);
    return big_sign(&b);
}

/* Value of a non-negative pattern u <= inf; the infinity pattern stands for 2^(emax+1). */
static void pat_val(const TF *f, uint64_t u, u128 *m, int *e)
{
    int mb = f->p - 1;
    uint64_t ef = u >> mb, frac = u & ((1ull << mb) - 1);
    if (u == f->inf) {
        *m = 1;
        *e = f->bias + 1;
    } else if (ef == 0) {
        *m = frac;
        *e = 1 - f->bias - mb;
    } else {
        *m = frac | (1ull << mb);
        *e = (int)ef - f->bias - mb;
    }
}

static int cmp_pat(const TF *f, const Exact *x, uint64_t u)
{
    u128 m;
    int e;
    pat_val(f, u, &m, &e);
    return ex_cmp(x, m, e);
}

static uint64_t ref_overflow(const TF *f, bool s, int rm, unsigned *fl)
{
    *fl |= RV_FFLAG_OF | RV_FFLAG_NX;
    bool inf = rm == RNE || rm == RMM || (rm == RUP && !s) || (rm == RDN && s);
    return (inf ? f->inf : f->inf - 1) | (s ? f->sign : 0);
}

/* Coverage counters for the random cases. */
static unsigned long g_cov_ties, g_cov_inexact, g_cov_exact, g_cov_uf, g_cov_of, g_cov_tinyedge,
    g_cov_sub;

/* Correctly rounded result of a nonzero exact value; `guess` only speeds up the search. */
static uint64_t ref_round(const TF *f, const Exact *x, int rm, uint64_t guess, unsigned *fl)
{
    bool s = x->sign < 0;
    uint64_t INF = f->inf, lo, hi, step = 1;
    uint64_t g = guess & ~f->sign;
    if (g > INF)
        g = INF;
    /* find u = the largest pattern with value <= |X| (val(0) = 0 < |X|) */
    if (cmp_pat(f, x, g) >= 0) {
        lo = g;
        hi = INF + 1;
        while (lo + step < hi) {
            if (cmp_pat(f, x, lo + step) >= 0) {
                lo += step;
                step <<= 1;
            } else {
                hi = lo + step;
                break;
            }
        }
    } else {
        hi = g;
        lo = 0;
        while (hi - lo > step) {
            if (cmp_pat(f, x, hi - step) >= 0) {
                lo = hi - step;
                break;
            }
            hi -= step;
            step <<= 1;
        }
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (cmp_pat(f, x, mid) >= 0)
            lo = mid;
        else
            hi = mid;
    }
    uint64_t u = lo;
    if (u == INF)
        return ref_overflow(f, s, rm, fl);
    if (cmp_pat(f, x, u) == 0) {
        g_cov_exact++;
        if (u < (1ull << (f->p - 1)))
            g_cov_sub++;
        return u | (s ? f->sign : 0);
    }

    *fl |= RV_FFLAG_NX;
    g_cov_inexact++;
    u128 m1, m2;
    int e1, e2;
    pat_val(f, u, &m1, &e1);
    pat_val(f, u + 1, &m2, &e2);
    if (m1 == 0)
        e1 = e2;
    int em = e1 < e2 ? e1 : e2;
    int cm = ex_cmp(x, (m1 << (e1 - em)) + (m2 << (e2 - em)), em - 1);
    if (cm == 0)
        g_cov_ties++;
    bool away;
    switch (rm) {
    case RNE: away = cm > 0 || (cm == 0 && (u & 1)); break;
    case RMM: away = cm >= 0; break;
    case RUP: away = !s; break;
    case RDN: away = s; break;
    default: away = false; break;
    }
    uint64_t r = u + away;
    if (r == INF) {
        g_cov_of++;
        return ref_overflow(f, s, rm, fl);
    }

    /* underflow: tiny after rounding (p bits, unbounded exponent) and inexact */
    int emin = 1 - f->bias;
    if (ex_cmp(x, 1, emin) < 0) {
        bool tiny;
        if (ex_cmp(x, ((u128)1 << f->p) - 1, emin - f->p) <= 0) {
            tiny = true; /* at most 2^emin - 2^(emin-p), the largest unbounded value below */
        } else {
            g_cov_tinyedge++;
            int c = ex_cmp(x, ((u128)1 << (f->p + 1)) - 1, emin - f->p - 1);
            switch (rm) {
            case RNE:
            case RMM: tiny = c < 0; break;
            case RUP: tiny = s; break;
            case RDN: tiny = !s; break;
            default: tiny = true; break;
            }
        }
        if (tiny) {
            *fl |= RV_FFLAG_UF;
            g_cov_uf++;
        }
    }
    return r | (s ? f->sign : 0);
}

static void ex_term(Exact *x, bool neg, u128 m, int e)
{
    x->neg[x->nterms] = neg;
    x->m[x->nterms] = m;
    x->e[x->nterms] = e;
    x->nterms++;
}

static uint64_t zero_of(const TF *f, bool neg)
{
    return neg ? f->sign : 0;
}

static uint64_t ref_nan(const TF *f, int n, const uint64_t *v, unsigned *fl, bool *is_nan)
{
    *is_nan = false;
    for (int i = 0; i < n; i++) {
        if (t_issnan(f, v[i]))
            *fl |= RV_FFLAG_NV;
        if (t_isnan(f, v[i]))
            *is_nan = true;
    }
    return f->qnan;
}

/* a*b + c (with the product or the whole sum sign-adjusted by the caller) or a + b. */
static uint64_t ref_fma(const TF *f, uint64_t a, uint64_t b, uint64_t c, bool has_mul, int rm,
                        uint64_t guess, unsigned *fl)
{
    long double va = tval(f, a), vb = tval(f, b), vc = tval(f, c);
    bool isn;
    uint64_t v[3] = { a, b, c };
    if (has_mul && ((isinf(va) && vb == 0) || (va == 0 && isinf(vb)))) {
        ref_nan(f, 3, v, fl, &isn);
        *fl |= RV_FFLAG_NV;
        return f->qnan;
    }
    uint64_t q = ref_nan(f, 3, v, fl, &isn);
    if (isn)
        return q;
    bool pneg = has_mul ? t_neg(f, a) != t_neg(f, b) : t_neg(f, a);
    bool pinf = has_mul ? (isinf(va) || isinf(vb)) : isinf(va);
    bool pzero = has_mul ? (va == 0 || vb == 0) : va == 0;
    if (pinf && isinf(vc) && pneg != t_neg(f, c)) {
        *fl |= RV_FFLAG_NV;
        return f->qnan;
    }
    if (pinf)
        return f->inf | (pneg ? f->sign : 0);
    if (isinf(vc))
        return c;
    Exact x = { .kind = K_SUM };
    if (!pzero) {
        int n1, n2, e1, e2;
        u128 m1, m2;
        tdecomp(f, a, &n1, &m1, &e1);
        if (has_mul) {
            tdecomp(f, b, &n2, &m2, &e2);
            /* 64-bit significands from frexpl: shift the trailing zeros out first */
            while (!(m1 & 1))
                m1 >>= 1, e1++;
            while (!(m2 & 1))
                m2 >>= 1, e2++;
            ex_term(&x, pneg, m1 * m2, e1 + e2);
        } else {
            ex_term(&x, pneg, m1, e1);
        }
    }
    if (vc != 0) {
        int n, e;
        u128 m;
        tdecomp(f, c, &n, &m, &e);
        ex_term(&x, n, m, e);
    }
    int sg = x.nterms ? ex_sign_of_sum(&x) : 0;
    if (sg == 0) {
        if (pzero && vc == 0 && pneg == t_neg(f, c))
            return zero_of(f, pneg);
        return zero_of(f, rm == RDN);
    }
    x.sign = sg;
    return ref_round(f, &x, rm, guess, fl);
}

static uint64_t ref_mul(const TF *f, uint64_t a, uint64_t b, int rm, uint64_t guess, unsigned *fl)
{
    /* a*b + (-0 of the product's sign... ) is not a*b for zero products; handle directly */
    long double va = tval(f, a), vb = tval(f, b);
    bool neg = t_neg(f, a) != t_neg(f, b);
    if (!isnan(va) && !isnan(vb) && !isinf(va) && !isinf(vb) && (va == 0 || vb == 0))
        return zero_of(f, neg);
    return ref_fma(f, a, b, zero_of(f, neg), true, rm, guess, fl);
}

static uint64_t ref_div(const TF *f, uint64_t a, uint64_t b, int rm, uint64_t guess, unsigned *fl)
{
    long double va = tval(f, a), vb = tval(f, b);
    bool isn, neg = t_neg(f, a) != t_neg(f, b);
    uint64_t v[2] = { a, b };
    uint64_t q = ref_nan(f, 2, v, fl, &isn);
    if (isn)
        return q;
    if ((isinf(va) && isinf(vb)) || (va == 0 && vb == 0)) {
        *fl |= RV_FFLAG_NV;
        return f->qnan;
    }
    if (isinf(va))
        return f->inf | (neg ? f->sign : 0);
    if (isinf(vb) || va == 0)
        return zero_of(f, neg);
    if (vb == 0) {
        *fl |= RV_FFLAG_DZ;
        return f->inf | (neg ? f->sign : 0);
    }
    Exact x = { .kind = K_DIV, .sign = neg ? -1 : 1 };
    int n;
    tdecomp(f, a, &n, &x.m[0], &x.e[0]);
    tdecomp(f, b, &n, &x.m[1], &x.e[1]);
    while (!(x.m[1] & 1))
        x.m[1] >>= 1, x.e[1]++;
    return ref_round(f, &x, rm, guess, fl);
}

static uint64_t ref_sqrt(const TF *f, uint64_t a, int rm, uint64_t guess, unsigned *fl)
{
    long double va = tval(f, a);
    bool isn;
    uint64_t q = ref_nan(f, 1, &a, fl, &isn);
    if (isn)
        return q;
    if (va == 0)
        return a;
    if (va < 0) {
        *fl |= RV_FFLAG_NV;
        return f->qnan;
    }
    if (isinf(va))
        return a;
    Exact x = { .kind = K_SQRT, .sign = 1 };
    int n;
    tdecomp(f, a, &n, &x.m[0], &x.e[0]);
    return ref_round(f, &x, rm, guess, fl);
}

static uint64_t ref_cvt_ff(const TF *to, const TF *from, uint64_t a, int rm, uint64_t guess,
                           unsigned *fl)
{
    long double v = tval(from, a);
    if (isnan(v)) {
        if (t_issnan(from, a))
            *fl |= RV_FFLAG_NV;
        return to->qnan;
    }
    if (isinf(v))
        return to->inf | (t_neg(from, a) ? to->sign : 0);
    if (v == 0)
        return zero_of(to, t_neg(from, a));
    Exact x = { .kind = K_SUM };
    int n, e;
    u128 m;
    tdecomp(from, a, &n, &m, &e);
    ex_term(&x, n, m, e);
    x.sign = n ? -1 : 1;
    return ref_round(to, &x, rm, guess, fl);
}

static uint64_t ref_i2f(const TF *to, bool neg, uint64_t mag, int rm, uint64_t guess, unsigned *fl)
{
    if (mag == 0)
        return 0;
    Exact x = { .kind = K_SUM, .sign = neg ? -1 : 1 };
    ex_term(&x, neg, mag, 0);
    return ref_round(to, &x, rm, guess, fl);
}

/* float -> integer via long double libm rounding. */
static uint64_t ref_f2i(const TF *f, uint64_t a, int rm, int width, bool sgn, unsigned *fl)
{
    long double v = tval(f, a);
    long double maxv = sgn ? ldexpl(1, width - 1) - 1 : ldexpl(1, width) - 1;
    long double minv = sgn ? -ldexpl(1, width - 1) : 0;
    uint64_t rmax = sgn ? (width == 32 ? 0x7fffffffull : 0x7fffffffffffffffull) : ~0ull;
    uint64_t rmin = sgn ? (width == 32 ? 0xffffffff80000000ull : 0x8000000000000000ull) : 0;
    if (isnan(v)) {
        *fl |= RV_FFLAG_NV;
        return rmax;
    }
    long double r;
    switch (rm) {
    case RNE: r = nearbyintl(v); break;
    case RTZ: r = truncl(v); break;
    case RDN: r = floorl(v); break;
    case RUP: r = ceill(v); break;
    default: r = roundl(v); break;
    }
    if (r > maxv) {
        *fl |= RV_FFLAG_NV;
        return rmax;
    }
    if (r < minv) {
        *fl |= RV_FFLAG_NV;
        return rmin;
    }
    if (r != v)
        *fl |= RV_FFLAG_NX;
    uint64_t res = sgn ? (uint64_t)(int64_t)r : (uint64_t)r;
    if (width == 32)
        res = (uint64_t)(int64_t)(int32_t)(uint32_t)res;
    return res;
}

/* min/max/compare/class reference using host comparisons. */
static uint64_t ref_misc(int op, const TF *f, uint64_t a, uint64_t b, unsigned *fl)
{
    bool an = t_isnan(f, a), bn = t_isnan(f, b);
    bool as = t_issnan(f, a), bs = t_issnan(f, b);
    long double va = tval(f, a), vb = tval(f, b);
    switch (op) {
    case MIN:
    case MAX:
        if (as || bs)
            *fl |= RV_FFLAG_NV;
        if (an && bn)
            return f->qnan;
        if (an)
            return b;
        if (bn)
            return a;
        if (va == vb && va == 0) /* -0 < +0 */
            return (op == MIN) == t_neg(f, a) ? a : b;
        if (op == MIN)
            return va <= vb ? a : b;
        return va >= vb ? a : b;
    case EQ:
        if (as || bs)
            *fl |= RV_FFLAG_NV;
        return !an && !bn && va == vb;
    case LT:
    case LE:
        if (an || bn) {
            *fl |= RV_FFLAG_NV;
            return 0;
        }
        return op == LT ? va < vb : va <= vb;
    case SGNJ: return (a & ~f->sign) | (b & f->sign);
    case SGNJN: return (a & ~f->sign) | (~b & f->sign);
    case SGNJX: return a ^ (b & f->sign);
    default: { /* CLASS */
        bool neg = signbit(va) != 0 || (an && t_neg(f, a));
        if (an)
            return as ? 1u << 8 : 1u << 9;
        int cls = f->dbl ? fpclassify((double)va) : fpclassify((float)va);
        switch (cls) {
        case FP_INFINITE: return neg ? 1u << 0 : 1u << 7;
        case FP_NORMAL: return neg ? 1u << 1 : 1u << 6;
        case FP_SUBNORMAL: return neg ? 1u << 2 : 1u << 5;
        default: return neg ? 1u << 3 : 1u << 4;
        }
    }
    }
}

/* ================================================================================== */
/* Random inputs                                                                       */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_n(uint64_t n)
{
    return rnd() % n;
}

static uint64_t mk(const TF *f, bool neg, uint64_t ef, uint64_t frac)
{
    int mb = f->p - 1;
    return (neg ? f->sign : 0) | (ef << mb) | (frac & ((1ull << mb) - 1));
}

static uint64_t emax_field(const TF *f)
{
    return (uint64_t)(2 * f->bias + 1);
}

/* A random fraction with structure: full random, few leading bits, runs of ones/zeros. */
static uint64_t rnd_frac(const TF *f)
{
    int mb = f->p - 1;
    uint64_t mask = (1ull << mb) - 1;
    switch (rnd_n(6)) {
    case 0: /* top k bits only */ return (rnd() & mask) & ~(mask >> (1 + rnd_n(8)));
    case 1: /* top bits plus the lowest bit(s) */
        return ((rnd() & mask) & ~(mask >> (1 + rnd_n(8)))) | (rnd() & 3);
    case 2: /* all ones, or all ones but a few */ return mask ^ (rnd() & (rnd() & 7));
    case 3: return rnd() & 0xf;
    default: return rnd() & mask;
    }
}

static uint64_t rnd_special(const TF *f)
{
    bool neg = rnd() & 1;
    uint64_t emax = emax_field(f);
    switch (rnd_n(10)) {
    case 0: return mk(f, neg, 0, 0);
    case 1: return mk(f, neg, emax, 0);
    case 2: return mk(f, neg, emax, 1ull << (f->p - 2) | (rnd() & 1)); /* qNaN */
    case 3: return mk(f, neg, emax, 1 + rnd_n(7));                     /* sNaN */
    case 4: return mk(f, neg, emax - 1, (1ull << (f->p - 1)) - 1);     /* max */
    case 5: return mk(f, neg, 1, 0);                                   /* min normal */
    case 6: return mk(f, neg, 0, 1);                                   /* min subnormal */
    case 7: return mk(f, neg, 0, (1ull << (f->p - 1)) - 1);            /* max subnormal */
    case 8: return mk(f, neg, (uint64_t)f->bias, 0);                   /* 1 */
    default: return mk(f, neg, (uint64_t)f->bias + rnd_n(3), rnd_n(2) << (f->p - 2));
    }
}

static uint64_t rnd_float(const TF *f)
{
    bool neg = rnd() & 1;
    uint64_t emax = emax_field(f);
    switch (rnd_n(10)) {
    case 0: return f->dbl ? rnd() : (uint32_t)rnd();
    case 1: return rnd_special(f);
    case 2: return mk(f, neg, 0, rnd_frac(f));                   /* subnormal */
    case 3: return mk(f, neg, 1 + rnd_n(f->p + 2), rnd_frac(f)); /* small normal */
    case 4: return mk(f, neg, emax - 1 - rnd_n(4), rnd_frac(f)); /* huge */
    default: return mk(f, neg, (uint64_t)f->bias - 8 + rnd_n(17), rnd_frac(f));
    }
}

/* Exponent field of x (0 for zero/subnormal). */
static int efield(const TF *f, uint64_t x)
{
    return (int)((x & ~f->sign) >> (f->p - 1));
}

static uint64_t with_efield(const TF *f, uint64_t x, long ef)
{
    if (ef < 1)
        ef = 1;
    if (ef > (long)emax_field(f) - 1)
        ef = (long)emax_field(f) - 1;
    int mb = f->p - 1;
    return (x & (f->sign | ((1ull << mb) - 1))) | ((uint64_t)ef << mb);
}

/* Operands for a binary op, often related so that results hit ties, cancellation,
 * underflow and overflow boundaries. */
static void rnd_operands(int op, const TF *f, uint64_t *a, uint64_t *b, uint64_t *c)
{
    *a = rnd_float(f);
    *b = rnd_float(f);
    *c = rnd_float(f);
    int ea = efield(f, *a), k = (int)rnd_n(9);
    switch (k) {
    case 0: /* add/sub: b around p bits below a (ties, sticky) */
        *b = with_efield(f, *b, ea - f->p - 1 + (long)rnd_n(4));
        break;
    case 1: /* cancellation: b near a */
        *b = with_efield(f, *b, ea - (long)rnd_n(2));
        if (rnd() & 1)
            *b = (*a & ~((1ull << (f->p - 1)) - 1)) | (*b & ((1ull << (f->p - 1)) - 1));
        break;
    case 2: /* product/quotient near the underflow threshold */
        if (op == DIV)
            *b = with_efield(f, *b, ea + f->bias - 1 + (long)rnd_n(f->p + 4) - 2);
        else
            *b = with_efield(f, *b, f->bias - ea + 1 - (long)rnd_n(f->p + 4));
        break;
    case 3: /* product/quotient near overflow */
        if (op == DIV)
            *b = with_efield(f, *b, ea - f->bias - 1 + (long)rnd_n(3));
        else
            *b = with_efield(f, *b, f->bias - ea + f->bias - 1 + (long)rnd_n(3));
        break;
    case 4: { /* mantissa product/quotient just below 2 (or 1), landing near 2^emin */
        uint64_t fm = (1ull << (f->p - 1)) - 1;
        bool neg = rnd() & 1;
        *a = mk(f, rnd() & 1, (uint64_t)(1 + rnd_n(3 * f->p)), fm - rnd_n(4));
        if (op == DIV) {
            *b = mk(f, neg, 0, rnd_n(4));
            *b = with_efield(f, *b, efield(f, *a) + f->bias - 1 + (long)rnd_n(3));
        } else {
            *b = mk(f, neg, 0, rnd_n(4));
            *b = with_efield(f, *b, f->bias - efield(f, *a) - 1 + (long)rnd_n(3));
        }
        break;
    }
    default: break;
    }
    if (op >= MADD && op <= NMADD && (rnd() & 1)) {
        /* c close to -(a*b): massive cancellation; use the helper's own RNE product */
        uint64_t ba = f->dbl ? *a : *a | 0xffffffff00000000ull;
        uint64_t bb = f->dbl ? *b : *b | 0xffffffff00000000ull;
        uint64_t p = f->dbl ? rv_fmul_d(cpu, ba, bb, RNE) : rv_fmul_s(cpu, ba, bb, RNE);
        if (!f->dbl)
            p &= 0xffffffffu;
        if (!t_isnan(f, p) && !isinf(tval(f, p))) {
            *c = p ^ (rnd() & 1 ? f->sign : 0);
            if (rnd() & 1)
                *c += rnd_n(5) - 2; /* a few ulps off (stays in the same binade mostly) */
            if (!f->dbl)
                *c &= 0xffffffffu;
        }
    }
}

static uint64_t rnd_for_int(const TF *f)
{
    bool neg = rnd() & 1;
    switch (rnd_n(6)) {
    case 0: return rnd_float(f);
    case 1: { /* near 2^31, 2^32, 2^63, 2^64 */
        static const int pw[] = { 31, 32, 63, 64 };
        int e = pw[rnd_n(4)];
        return mk(f, neg, (uint64_t)(f->bias + e - (int)rnd_n(2)), rnd_n(3) == 0 ? 0 : rnd_frac(f));
    }
    case 2: /* small: k + {0, .25, .5, .75, ...} */
        return mk(f, neg, (uint64_t)(f->bias - 2 + (int)rnd_n(8)), rnd_frac(f));
    default: return mk(f, neg, (uint64_t)(f->bias - 3 + (int)rnd_n(70)), rnd_frac(f));
    }
}

static uint64_t rnd_int(void)
{
    int bits = 1 + (int)rnd_n(64);
    uint64_t v = rnd() >> (64 - bits);
    switch (rnd_n(4)) {
    case 0: /* few significant bits at the top, then a low bit: ties */
        v &= ~((~0ull >> (64 - bits)) >> (1 + rnd_n(30)));
        v |= rnd() & 1;
        break;
    case 1: v = ~0ull >> rnd_n(64); break;
    default: break;
    }
    if (rnd() & 1)
        v = -v;
    return v;
}

/* ================================================================================== */
/* Random comparison                                                                   */

static uint64_t boxv(const TF *f, uint64_t v)
{
    return f->dbl ? v : (v | 0xffffffff00000000ull);
}

static unsigned long g_random_cases;

static void compare_impls(int op, const TF *f, uint64_t ia, uint64_t ib, uint64_t ic, int rm,
                          uint64_t ref, unsigned reffl)
{
    bool box_out = op_out_kind(op) == 3 || (op_out_kind(op) == 0 && !f->dbl);
    if (box_out)
        ref |= 0xffffffff00000000ull;
    for (int run = 0; run < 4; run++) {
        int host = !(run & 1);
        g_preset = run & 2 ? RV_FFLAG_NX : 0;
        rv_fpu_set_host_fpu(host);
        unsigned fl;
        uint64_t r = run_op(op, f->dbl, ia, ib, ic, (uint64_t)rm, &fl);
        check_result(host ? "random (host)" : "random (soft)", op, f->dbl, ia, ib, ic, rm, r, fl,
                     ref, reffl);
    }
    g_preset = 0;
    rv_fpu_set_host_fpu(true);
    g_random_cases++;
}

static void random_arith(int op, const TF *f, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t a, b, c;
        rnd_operands(op, f, &a, &b, &c);
        uint64_t ia = boxv(f, a), ib = boxv(f, b), ic = boxv(f, c);
        for (int rm = 0; rm < 5; rm++) {
            unsigned fl;
            rv_fpu_set_host_fpu(false);
            uint64_t guess = run_op(op, f->dbl, ia, ib, ic, (uint64_t)rm, &fl);
            rv_fpu_set_host_fpu(true);
            if (!f->dbl)
                guess &= 0xffffffffu;
            unsigned rfl = 0;
            uint64_t ref;
            switch (op) {
            case ADD: ref = ref_fma(f, a, 0, b, false, rm, guess, &rfl); break;
            case SUB: ref = ref_fma(f, a, 0, b ^ f->sign, false, rm, guess, &rfl); break;
            case MUL: ref = ref_mul(f, a, b, rm, guess, &rfl); break;
            case DIV: ref = ref_div(f, a, b, rm, guess, &rfl); break;
            case SQRT: ref = ref_sqrt(f, a, rm, guess, &rfl); break;
            case MADD: ref = ref_fma(f, a, b, c, true, rm, guess, &rfl); break;
            case MSUB: ref = ref_fma(f, a, b, c ^ f->sign, true, rm, guess, &rfl); break;
            case NMSUB: ref = ref_fma(f, a ^ f->sign, b, c, true, rm, guess, &rfl); break;
            default: ref = ref_fma(f, a ^ f->sign, b, c ^ f->sign, true, rm, guess, &rfl); break;
            }
            compare_impls(op, f, ia, ib, ic, rm, ref, rfl);
        }
    }
}

static void random_misc(const TF *f, int n)
{
    static const int ops[] = { MIN, MAX, EQ, LT, LE, SGNJ, SGNJN, SGNJX, CLASS };
    for (int i = 0; i < n; i++) {
        uint64_t a = rnd_n(3) ? rnd_float(f) : rnd_special(f);
        uint64_t b = rnd_n(3) ? rnd_float(f) : rnd_special(f);
        if (rnd_n(4) == 0)
            b = rnd() & 1 ? a : a ^ f->sign;
        for (size_t j = 0; j < sizeof(ops) / sizeof(ops[0]); j++) {
            unsigned rfl = 0;
            uint64_t ref = ref_misc(ops[j], f, a, b, &rfl);
            compare_impls(ops[j], f, boxv(f, a), boxv(f, b), 0, 0, ref, rfl);
        }
    }
}

static void random_conv(int n)
{
    for (int i = 0; i < n; i++) {
        for (int dbl = 0; dbl < 2; dbl++) {
            const TF *f = dbl ? &TD : &TS;
            uint64_t a = rnd_for_int(f);
            uint64_t iv = rnd_int();
            uint64_t nar = rnd_n(2)
                               ? rnd_float(&TD)
                               : with_efield(&TD, rnd_float(&TD), 1023 - 150 + (long)rnd_n(280));
            uint64_t wid = rnd_float(&TS);
            for (int rm = 0; rm < 5; rm++) {
                unsigned rfl;
                uint64_t ref;
                static const struct {
                    int op, width;
                    bool sgn;
                } f2i[] = { { CVT_W, 32, true },
                            { CVT_WU, 32, false },
                            { CVT_L, 64, true },
                            { CVT_LU, 64, false } };
                for (int k = 0; k < 4; k++) {
                    rfl = 0;
                    ref = ref_f2i(f, a, rm, f2i[k].width, f2i[k].sgn, &rfl);
                    compare_impls(f2i[k].op, f, boxv(f, a), 0, 0, rm, ref, rfl);
                }
                /* int -> float; the guess comes from the software path */
                static const int i2f[] = { CVT_FW, CVT_FWU, CVT_FL, CVT_FLU };
                for (int k = 0; k < 4; k++) {
                    bool neg;
                    uint64_t mag;
                    switch (i2f[k]) {
                    case CVT_FW:
                        neg = (int32_t)iv < 0;
                        mag = neg ? (uint64_t)(-(int64_t)(int32_t)iv) : (uint32_t)iv;
                        break;
                    case CVT_FWU: neg = false, mag = (uint32_t)iv; break;
                    case CVT_FL: neg = (int64_t)iv < 0, mag = neg ? -iv : iv; break;
                    default: neg = false, mag = iv; break;
                    }
                    unsigned gfl;
                    rv_fpu_set_host_fpu(false);
                    uint64_t g = run_op(i2f[k], dbl, iv, 0, 0, (uint64_t)rm, &gfl);
                    rv_fpu_set_host_fpu(true);
                    rfl = 0;
                    ref = ref_i2f(f, neg, mag, rm, dbl ? g : g & 0xffffffffu, &rfl);
                    compare_impls(i2f[k], f, iv, 0, 0, rm, ref, rfl);
                }
            }
            if (dbl) {
                for (int rm = 0; rm < 5; rm++) {
                    unsigned gfl, rfl = 0;
                    uint64_t g = run_op(CVT_SD, 0, nar, 0, 0, (uint64_t)rm, &gfl);
                    uint64_t ref = ref_cvt_ff(&TS, &TD, nar, rm, g & 0xffffffffu, &rfl);
                    compare_impls(CVT_SD, &TS, nar, 0, 0, rm, ref, rfl);
                    g = run_op(CVT_DS, 1, boxv(&TS, wid), 0, 0, (uint64_t)rm, &gfl);
                    rfl = 0;
                    ref = ref_cvt_ff(&TD, &TS, wid, rm, g, &rfl);
                    compare_impls(CVT_DS, &TD, boxv(&TS, wid), 0, 0, rm, ref, rfl);
                }
            }
        }
    }
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    if (argc > 2)
        rng_state = strtoull(argv[2], NULL, 0) | 1;

    run_vectors();
    unsigned hand = g_checks;
    run_mode_tests();
    run_descriptor_tests();
#if defined(__x86_64__)
    run_mxcsr_tests();
#endif
    unsigned fixed = g_checks;

    static const int arith_ops[] = { ADD, SUB, MUL, DIV, SQRT, MADD, MSUB, NMSUB, NMADD };
    for (size_t i = 0; i < sizeof(arith_ops) / sizeof(arith_ops[0]); i++) {
        random_arith(arith_ops[i], &TS, 3000 * scale);
        random_arith(arith_ops[i], &TD, 3000 * scale);
    }
    random_misc(&TS, 3000 * scale);
    random_misc(&TD, 3000 * scale);
    random_conv(2000 * scale);

    printf("test-rv-fpu: %u hand-vector checks, %u mode/descriptor checks, %lu random cases "
           "(%u checks total): %u failure(s)\n",
           hand, fixed - hand, g_random_cases, g_checks, g_failures);
    printf("random coverage (reference, all modes): %lu exact (%lu subnormal), %lu inexact, "
           "%lu ties, %lu overflow, %lu underflow, %lu just below 2^emin\n",
           g_cov_exact, g_cov_sub, g_cov_inexact, g_cov_ties, g_cov_of, g_cov_uf, g_cov_tinyedge);
    return g_failures ? 1 : 0;
}
