/* SPDX-License-Identifier: MIT */
/*
 * x86-64 host floating point primitives shared by the architectures' FP helpers (riscv64's
 * rv-fpu.c, arm64's a64-simd.c): one SSE/FMA3 instruction on bit patterns, as asm statements
 * so that the compiler cannot move them across the MXCSR accesses (never C floating-point
 * expressions).
 *
 *  - hostfp_<op>_<s|d>(..., rm, &st) run the instruction under an MXCSR of their own
 *    (rounding control from the SF_RM_* mode rm, which must not be SF_RM_RMM; all exceptions
 *    masked; DAZ/FTZ off; flags clear), store the MXCSR after the instruction in st (its low
 *    six bits are the flags IE DE ZE OE UE PE) and restore the caller's MXCSR.
 *  - hostfp_plain_<op>_<s|d>() run the instruction in the thread's MXCSR, which is only
 *    meaningful when hostfp_env_default() says it is the IEEE default (RNE, masked, no
 *    DAZ/FTZ); they give no flags.
 *
 * HOSTFP is defined where they exist (x86-64 with GNU C); -DRV_FPU_NO_HOST builds the
 * portable configuration (every FP helper on the exact soft path, core/softfp.c).
 */
#ifndef VESSEL_HOSTFP_H
#define VESSEL_HOSTFP_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(RV_FPU_NO_HOST)
#define HOSTFP 1

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/softfp.h"

#define HOSTFP_PE 0x20 /* MXCSR precision (inexact) flag */

/* MXCSR: all exceptions masked (0x1f80), DAZ/FTZ off, flags clear, RC per SF_RM_* mode. */
static inline uint32_t hostfp_mxcsr(int rm)
{
    static const uint32_t csr[4] = {
        [SF_RM_RNE] = 0x1f80 | (0u << 13),
        [SF_RM_RTZ] = 0x1f80 | (3u << 13),
        [SF_RM_RDN] = 0x1f80 | (1u << 13),
        [SF_RM_RUP] = 0x1f80 | (2u << 13),
    };
    return csr[rm & 3];
}

/* One instruction `insn` under the mode's MXCSR; `ops` is its operand list in AT&T order and
 * `iops` in Intel order. */
#define HOSTFP_ASM(insn, ops, iops, outs, ...)                           \
    __asm__ volatile("stmxcsr %[old]\n\t"                                \
                     "ldmxcsr %[csr]\n\t" insn " {" ops "|" iops "}\n\t" \
                     "stmxcsr %[st]\n\t"                                 \
                     "ldmxcsr %[old]"                                    \
                     : outs, [old] "+m"(old_), [st] "=m"(st_)            \
                     : __VA_ARGS__, [csr] "m"(csr_))

#define HOSTFP_DEF_BIN(name, insn, T, U)                                       \
    static inline U name(U a, U b, int rm, uint32_t *st)                       \
    {                                                                          \
        uint32_t csr_ = hostfp_mxcsr(rm), old_ = 0, st_;                       \
        T x, y;                                                                \
        U r;                                                                   \
        memcpy(&x, &a, sizeof(x));                                             \
        memcpy(&y, &b, sizeof(y));                                             \
        HOSTFP_ASM(insn, "%[y], %[x]", "%[x], %[y]", [x] "+x"(x), [y] "x"(y)); \
        *st = st_;                                                             \
        memcpy(&r, &x, sizeof(r));                                             \
        return r;                                                              \
    }
HOSTFP_DEF_BIN(hostfp_add_s, "addss", float, uint32_t)
HOSTFP_DEF_BIN(hostfp_sub_s, "subss", float, uint32_t)
HOSTFP_DEF_BIN(hostfp_mul_s, "mulss", float, uint32_t)
HOSTFP_DEF_BIN(hostfp_div_s, "divss", float, uint32_t)
HOSTFP_DEF_BIN(hostfp_add_d, "addsd", double, uint64_t)
HOSTFP_DEF_BIN(hostfp_sub_d, "subsd", double, uint64_t)
HOSTFP_DEF_BIN(hostfp_mul_d, "mulsd", double, uint64_t)
HOSTFP_DEF_BIN(hostfp_div_d, "divsd", double, uint64_t)

#define HOSTFP_DEF_SQRT(name, insn, T, U)                                      \
    static inline U name(U a, int rm, uint32_t *st)                            \
    {                                                                          \
        uint32_t csr_ = hostfp_mxcsr(rm), old_ = 0, st_;                       \
        T x, y;                                                                \
        U r;                                                                   \
        memcpy(&x, &a, sizeof(x));                                             \
        HOSTFP_ASM(insn, "%[x], %[y]", "%[y], %[x]", [y] "=x"(y), [x] "x"(x)); \
        *st = st_;                                                             \
        memcpy(&r, &y, sizeof(r));                                             \
        return r;                                                              \
    }
HOSTFP_DEF_SQRT(hostfp_sqrt_s, "sqrtss", float, uint32_t)
HOSTFP_DEF_SQRT(hostfp_sqrt_d, "sqrtsd", double, uint64_t)

/* a * b + c, rounded once (FMA3: only when hostfp_has_fma()). */
#define HOSTFP_DEF_FMA(name, insn, T, U)                                     \
    static inline U name(U a, U b, U c, int rm, uint32_t *st)                \
    {                                                                        \
        uint32_t csr_ = hostfp_mxcsr(rm), old_ = 0, st_;                     \
        T x, y, z;                                                           \
        U r;                                                                 \
        memcpy(&x, &a, sizeof(x));                                           \
        memcpy(&y, &b, sizeof(y));                                           \
        memcpy(&z, &c, sizeof(z));                                           \
        HOSTFP_ASM(insn, "%[y], %[x], %[z]",                                 \
                   "%[z], %[x], %[y]", [z] "+x"(z), [x] "x"(x), [y] "x"(y)); \
        *st = st_;                                                           \
        memcpy(&r, &z, sizeof(r));                                           \
        return r;                                                            \
    }
HOSTFP_DEF_FMA(hostfp_fma_s, "vfmadd231ss", float, uint32_t)
HOSTFP_DEF_FMA(hostfp_fma_d, "vfmadd231sd", double, uint64_t)

/* Without touching MXCSR. */
#define HOSTFP_PLAIN_ASM(insn, ops, iops, outs, ...) \
    __asm__(insn " {" ops "|" iops "}" : outs : __VA_ARGS__)

#define HOSTFP_DEF_PLAIN_BIN(name, insn, T, U)                                       \
    static inline U name(U a, U b)                                                   \
    {                                                                                \
        T x, y;                                                                      \
        U r;                                                                         \
        memcpy(&x, &a, sizeof(x));                                                   \
        memcpy(&y, &b, sizeof(y));                                                   \
        HOSTFP_PLAIN_ASM(insn, "%[y], %[x]", "%[x], %[y]", [x] "+x"(x), [y] "x"(y)); \
        memcpy(&r, &x, sizeof(r));                                                   \
        return r;                                                                    \
    }
HOSTFP_DEF_PLAIN_BIN(hostfp_plain_add_s, "addss", float, uint32_t)
HOSTFP_DEF_PLAIN_BIN(hostfp_plain_sub_s, "subss", float, uint32_t)
HOSTFP_DEF_PLAIN_BIN(hostfp_plain_mul_s, "mulss", float, uint32_t)
HOSTFP_DEF_PLAIN_BIN(hostfp_plain_div_s, "divss", float, uint32_t)
HOSTFP_DEF_PLAIN_BIN(hostfp_plain_add_d, "addsd", double, uint64_t)
HOSTFP_DEF_PLAIN_BIN(hostfp_plain_sub_d, "subsd", double, uint64_t)
HOSTFP_DEF_PLAIN_BIN(hostfp_plain_mul_d, "mulsd", double, uint64_t)
HOSTFP_DEF_PLAIN_BIN(hostfp_plain_div_d, "divsd", double, uint64_t)

#define HOSTFP_DEF_PLAIN_SQRT(name, insn, T, U)                                      \
    static inline U name(U a)                                                        \
    {                                                                                \
        T x, y;                                                                      \
        U r;                                                                         \
        memcpy(&x, &a, sizeof(x));                                                   \
        HOSTFP_PLAIN_ASM(insn, "%[x], %[y]", "%[y], %[x]", [y] "=x"(y), [x] "x"(x)); \
        memcpy(&r, &y, sizeof(r));                                                   \
        return r;                                                                    \
    }
HOSTFP_DEF_PLAIN_SQRT(hostfp_plain_sqrt_s, "sqrtss", float, uint32_t)
HOSTFP_DEF_PLAIN_SQRT(hostfp_plain_sqrt_d, "sqrtsd", double, uint64_t)

#define HOSTFP_DEF_PLAIN_FMA(name, insn, T, U)                                     \
    static inline U name(U a, U b, U c)                                            \
    {                                                                              \
        T x, y, z;                                                                 \
        U r;                                                                       \
        memcpy(&x, &a, sizeof(x));                                                 \
        memcpy(&y, &b, sizeof(y));                                                 \
        memcpy(&z, &c, sizeof(z));                                                 \
        HOSTFP_PLAIN_ASM(insn, "%[y], %[x], %[z]",                                 \
                         "%[z], %[x], %[y]", [z] "+x"(z), [x] "x"(x), [y] "x"(y)); \
        memcpy(&r, &z, sizeof(r));                                                 \
        return r;                                                                  \
    }
HOSTFP_DEF_PLAIN_FMA(hostfp_plain_fma_s, "vfmadd231ss", float, uint32_t)
HOSTFP_DEF_PLAIN_FMA(hostfp_plain_fma_d, "vfmadd231sd", double, uint64_t)

/*
 * Whether the calling thread's MXCSR is the IEEE default (RNE, exceptions masked, no
 * DAZ/FTZ), which the plain operations rely on. stmxcsr is slow (microcoded), so a positive
 * answer is cached per thread (one cache per translation unit): vCPU threads never change
 * their MXCSR (hostfp_* restore it). A thread started with FTZ/DAZ (e.g. -ffast-math
 * startup code) simply never takes the plain path.
 */
static inline bool hostfp_env_default(void)
{
    static __thread bool is_default __attribute__((tls_model("initial-exec")));
    if (__builtin_expect(is_default, 1))
        return true;
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    is_default = (m & 0xffc0) == 0x1f80;
    return is_default;
}

static inline bool hostfp_has_fma(void)
{
    return __builtin_cpu_supports("fma");
}

#endif /* x86-64 GNU C */
#endif
