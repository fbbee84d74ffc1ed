/* SPDX-License-Identifier: MIT */
/*
 * RISC-V F/D arithmetic helpers, bit-exact with the unprivileged spec.
 *
 * Two implementations of the rounding operations:
 *
 *  - An exact software one (the "soft path", core/softfp.c, shared with arm64): operands
 *    are unpacked, the exact result is rounded once, with RISC-V's after-rounding
 *    tininess and canonical NaNs. Conversions, RMM and non-x86 hosts always use it.
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
 * The host operations (core/hostfp.h, shared with arm64) are asm statements on bit
 * patterns, never C floating-point expressions, so the compiler cannot move them across the
 * MXCSR accesses.
 *
 * -DRV_FPU_NO_HOST builds the portable configuration (soft path only, both architectures)
 * on x86-64 too.
 */
#include "arch/riscv64/rv-fpu.h"

#include <string.h>

#include "arch/riscv64/rv-cpu.h"
#include "core/hostfp.h"
#include "core/softfp.h"

#ifdef HOSTFP
#define RV_FPU_HOST 1
#endif

_Static_assert(SF_FLAG_NX == RV_FFLAG_NX && SF_FLAG_UF == RV_FFLAG_UF &&
                   SF_FLAG_OF == RV_FFLAG_OF && SF_FLAG_DZ == RV_FFLAG_DZ &&
                   SF_FLAG_NV == RV_FFLAG_NV,
               "softfp flags use the fflags layout");
_Static_assert((int)SF_RM_RNE == (int)RV_RM_RNE && (int)SF_RM_RTZ == (int)RV_RM_RTZ &&
                   (int)SF_RM_RDN == (int)RV_RM_RDN && (int)SF_RM_RUP == (int)RV_RM_RUP &&
                   (int)SF_RM_RMM == (int)RV_RM_RMM,
               "softfp rounding modes use the frm encoding");

/* ------------------------------------------------------------------------------------ */
/* Host path (x86-64 SSE / FMA3)                                                         */

#ifdef RV_FPU_HOST
static bool host_enabled = true;

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

/* The core/hostfp.h operations under the guest rounding mode (the RISC-V frm encoding is
 * softfp's), their flags accrued as fflags. */
#define DEF_HOST_BIN(name, U)                                   \
    static inline U host_##name(U a, U b, int rm, unsigned *fl) \
    {                                                           \
        uint32_t st;                                            \
        U r = hostfp_##name(a, b, rm, &st);                     \
        *fl |= mxcsr_to_fflags[st & 0x3f];                      \
        return r;                                               \
    }
DEF_HOST_BIN(add_s, uint32_t)
DEF_HOST_BIN(sub_s, uint32_t)
DEF_HOST_BIN(mul_s, uint32_t)
DEF_HOST_BIN(div_s, uint32_t)
DEF_HOST_BIN(add_d, uint64_t)
DEF_HOST_BIN(sub_d, uint64_t)
DEF_HOST_BIN(mul_d, uint64_t)
DEF_HOST_BIN(div_d, uint64_t)

#define DEF_HOST_SQRT(name, U)                             \
    static inline U host_##name(U a, int rm, unsigned *fl) \
    {                                                      \
        uint32_t st;                                       \
        U r = hostfp_##name(a, rm, &st);                   \
        *fl |= mxcsr_to_fflags[st & 0x3f];                 \
        return r;                                          \
    }
DEF_HOST_SQRT(sqrt_s, uint32_t)
DEF_HOST_SQRT(sqrt_d, uint64_t)

#define DEF_HOST_FMA(name, U)                                        \
    static inline U host_##name(U a, U b, U c, int rm, unsigned *fl) \
    {                                                                \
        uint32_t st;                                                 \
        U r = hostfp_##name(a, b, c, rm, &st);                       \
        *fl |= mxcsr_to_fflags[st & 0x3f];                           \
        return r;                                                    \
    }
DEF_HOST_FMA(fma_s, uint32_t)
DEF_HOST_FMA(fma_d, uint64_t)

static inline bool host_ok(int rm)
{
    return rm != RV_RM_RMM && host_enabled;
}

static inline bool host_fma_ok(int rm)
{
    return host_ok(rm) && hostfp_has_fma();
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
    const FpFmt *f = dbl ? &sf_fmt_d : &sf_fmt_s;
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
        if (rm == RV_RM_RNE && nx_set && hostfp_env_default()) {
            switch (op) {
            case OP_ADD:
                r = dbl ? hostfp_plain_add_d(a, b) : hostfp_plain_add_s((uint32_t)a, (uint32_t)b);
                break;
            case OP_SUB:
                r = dbl ? hostfp_plain_sub_d(a, b) : hostfp_plain_sub_s((uint32_t)a, (uint32_t)b);
                break;
            case OP_MUL:
                r = dbl ? hostfp_plain_mul_d(a, b) : hostfp_plain_mul_s((uint32_t)a, (uint32_t)b);
                break;
            case OP_DIV:
                r = dbl ? hostfp_plain_div_d(a, b) : hostfp_plain_div_s((uint32_t)a, (uint32_t)b);
                break;
            case OP_SQRT:
                r = dbl ? hostfp_plain_sqrt_d(a) : hostfp_plain_sqrt_s((uint32_t)a);
                break;
            default:
                r = dbl ? hostfp_plain_fma_d(a, b, c)
                        : hostfp_plain_fma_s((uint32_t)a, (uint32_t)b, (uint32_t)c);
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

#define DEF_MINMAX(name, is_max)                                            \
    uint64_t rv_##name##_s(VsCpu *cpu, uint64_t a, uint64_t b)              \
    {                                                                       \
        unsigned fl = 0;                                                    \
        uint64_t r = fp_minmax(&sf_fmt_s, unbox(a), unbox(b), is_max, &fl); \
        accrue(cpu, fl);                                                    \
        return box(r);                                                      \
    }                                                                       \
    uint64_t rv_##name##_d(VsCpu *cpu, uint64_t a, uint64_t b)              \
    {                                                                       \
        unsigned fl = 0;                                                    \
        uint64_t r = fp_minmax(&sf_fmt_d, a, b, is_max, &fl);               \
        accrue(cpu, fl);                                                    \
        return r;                                                           \
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

#define DEF_CMP(name, kind)                                      \
    uint64_t rv_##name##_s(VsCpu *cpu, uint64_t a, uint64_t b)   \
    {                                                            \
        return fp_cmp(cpu, &sf_fmt_s, unbox(a), unbox(b), kind); \
    }                                                            \
    uint64_t rv_##name##_d(VsCpu *cpu, uint64_t a, uint64_t b)   \
    {                                                            \
        return fp_cmp(cpu, &sf_fmt_d, a, b, kind);               \
    }
DEF_CMP(feq, CMP_EQ)
DEF_CMP(flt, CMP_LT)
DEF_CMP(fle, CMP_LE)

/* ---- conversions ---- */

static inline uint64_t sext32(uint64_t v)
{
    return (uint64_t)(int64_t)(int32_t)(uint32_t)v;
}

#define DEF_TO_INT(name, dbl, width, is_signed)                                                  \
    uint64_t rv_##name(VsCpu *cpu, uint64_t a, uint64_t rm)                                      \
    {                                                                                            \
        int m = get_rm(cpu, rm);                                                                 \
        unsigned fl = 0;                                                                         \
        uint64_t r = sf_to_int((dbl) ? &sf_fmt_d : &sf_fmt_s, (dbl) ? a : unbox(a), 0, m, width, \
                               is_signed, &fl);                                                  \
        accrue(cpu, fl);                                                                         \
        return (width) == 32 ? sext32(r) : r;                                                    \
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

#define DEF_FROM_INT(name, dbl, SRC)                                                \
    uint64_t rv_##name(VsCpu *cpu, uint64_t a, uint64_t rm)                         \
    {                                                                               \
        int m = get_rm(cpu, rm);                                                    \
        unsigned fl = 0;                                                            \
        uint64_t r = sf_from_int((dbl) ? &sf_fmt_d : &sf_fmt_s, SRC(a), 0, m, &fl); \
        accrue(cpu, fl);                                                            \
        return (dbl) ? r : box(r);                                                  \
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
    uint64_t r = sf_cvt(&sf_fmt_s, &sf_fmt_d, a, m, &fl);
    accrue(cpu, fl);
    return box(r);
}

uint64_t rv_fcvt_d_s(VsCpu *cpu, uint64_t a, uint64_t rm)
{
    int m = get_rm(cpu, rm);
    unsigned fl = 0;
    uint64_t r = sf_cvt(&sf_fmt_d, &sf_fmt_s, unbox(a), m, &fl);
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
    return fp_class(&sf_fmt_s, unbox(a));
}

uint64_t rv_fclass_d(uint64_t a)
{
    return fp_class(&sf_fmt_d, a);
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
