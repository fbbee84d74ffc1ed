/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the FP tests. Every operation moves raw bit patterns through integer
 * registers (fmv.d.x / fmv.x.d) so NaN-boxing of single-precision results is visible,
 * clears fflags right before the instruction under test and reads them right after.
 */
#ifndef ISA_FP_H
#define ISA_FP_H

#include "isa.h"

#define FBOX(x) (0xffffffff00000000ul | (u32)(x))

/* fd = insn(fs1, fs2) */
#define FOP2(fn, insn)                              \
    static u64 fn(u64 a, u64 b, u64 *fl)            \
    {                                               \
        u64 r, f;                                   \
        asm volatile("fmv.d.x ft0, %2\n\t"          \
                     "fmv.d.x ft1, %3\n\t"          \
                     "fsflags zero\n\t" insn "\n\t" \
                     "frflags %1\n\t"               \
                     "fmv.x.d %0, ft2"              \
                     : "=r"(r), "=r"(f)             \
                     : "r"(a), "r"(b)               \
                     : "ft0", "ft1", "ft2");        \
        *fl = f;                                    \
        return r;                                   \
    }
/* fd = insn(fs1, fs2, fs3) */
#define FOP3(fn, insn)                              \
    static u64 fn(u64 a, u64 b, u64 c, u64 *fl)     \
    {                                               \
        u64 r, f;                                   \
        asm volatile("fmv.d.x ft0, %2\n\t"          \
                     "fmv.d.x ft1, %3\n\t"          \
                     "fmv.d.x ft3, %4\n\t"          \
                     "fsflags zero\n\t" insn "\n\t" \
                     "frflags %1\n\t"               \
                     "fmv.x.d %0, ft2"              \
                     : "=r"(r), "=r"(f)             \
                     : "r"(a), "r"(b), "r"(c)       \
                     : "ft0", "ft1", "ft2", "ft3"); \
        *fl = f;                                    \
        return r;                                   \
    }
/* x = insn(fs1, fs2) -- insn writes %0 */
#define FCMP(fn, insn)                              \
    static u64 fn(u64 a, u64 b, u64 *fl)            \
    {                                               \
        u64 r, f;                                   \
        asm volatile("fmv.d.x ft0, %2\n\t"          \
                     "fmv.d.x ft1, %3\n\t"          \
                     "fsflags zero\n\t" insn "\n\t" \
                     "frflags %1"                   \
                     : "=&r"(r), "=&r"(f)           \
                     : "r"(a), "r"(b)               \
                     : "ft0", "ft1");               \
        *fl = f;                                    \
        return r;                                   \
    }
/* x = insn(fs1) -- insn writes %0 */
#define FTOX(fn, insn)                              \
    static u64 fn(u64 a, u64 *fl)                   \
    {                                               \
        u64 r, f;                                   \
        asm volatile("fmv.d.x ft0, %2\n\t"          \
                     "fsflags zero\n\t" insn "\n\t" \
                     "frflags %1"                   \
                     : "=&r"(r), "=&r"(f)           \
                     : "r"(a)                       \
                     : "ft0");                      \
        *fl = f;                                    \
        return r;                                   \
    }
/* fd = insn(x) -- insn reads %2 and writes ft2 */
#define XTOF(fn, insn)                              \
    static u64 fn(u64 a, u64 *fl)                   \
    {                                               \
        u64 r, f;                                   \
        asm volatile("fmv.d.x ft2, zero\n\t"        \
                     "fsflags zero\n\t" insn "\n\t" \
                     "frflags %1\n\t"               \
                     "fmv.x.d %0, ft2"              \
                     : "=&r"(r), "=&r"(f)           \
                     : "r"(a)                       \
                     : "ft2");                      \
        *fl = f;                                    \
        return r;                                   \
    }
/* fd = insn(fs1) */
#define FOP1(fn, insn)                              \
    static u64 fn(u64 a, u64 *fl)                   \
    {                                               \
        u64 r, f;                                   \
        asm volatile("fmv.d.x ft0, %2\n\t"          \
                     "fsflags zero\n\t" insn "\n\t" \
                     "frflags %1\n\t"               \
                     "fmv.x.d %0, ft2"              \
                     : "=r"(r), "=r"(f)             \
                     : "r"(a)                       \
                     : "ft0", "ft2");               \
        *fl = f;                                    \
        return r;                                   \
    }

typedef u64 (*fop1_t)(u64, u64 *);
typedef u64 (*fop2_t)(u64, u64, u64 *);
typedef u64 (*fop3_t)(u64, u64, u64, u64 *);

static inline void fp_set_frm(unsigned rm)
{
    asm volatile("fsrm %0" ::"r"((u64)rm));
}

static const char *const rm_names[8] = { "rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn" };

#endif
