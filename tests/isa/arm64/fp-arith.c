/* SPDX-License-Identifier: MIT */
/* Scalar floating point against QEMU: arithmetic, fused multiply-add, square root, min/max,
 * compares, rounding to integral, conversions between precisions, to and from integers and
 * fixed point, and some vector forms; on operands covering zeros, infinities, quiet and
 * signalling NaNs with payloads, subnormals, the normal boundaries and values whose results
 * are tiny before but not after rounding; under every FPCR rounding mode and with FZ and DN.
 * Each result is printed with the FPSR flags it raised (IOC DZC OFC UFC IXC IDC). */
#include <stdbool.h>

#include "isa.h"

static const uint64_t dvals[] = {
    0,
    0x8000000000000000ull,
    0x3ff0000000000000ull,
    0xbff8000000000000ull,
    0x7ff0000000000000ull,
    0xfff0000000000000ull,
    0x7ff8000000000123ull,
    0x7ff0000000000456ull,
    0xfff8000000000789ull,
    1,
    0x000fffffffffffffull,
    0x0010000000000000ull,
    0x7fefffffffffffffull,
    0x3fd5555555555555ull,
    0x3fefffffffffffffull,
    0x3ff0000000000001ull,
    0xc1e0000000000000ull,
    0x43e0000000000000ull,
    0x4338000000000001ull,
    0x3fe8000000000000ull,
};
static const uint64_t svals[] = {
    0,          0x80000000, 0x3f800000, 0xbfc00000, 0x7f800000, 0xff800000, 0x7fc00123,
    0x7f800456, 0xffc00789, 1,          0x007fffff, 0x00800000, 0x7f7fffff, 0x3eaaaaab,
    0x3f7fffff, 0x3f800001, 0xcf000000, 0x4f800000, 0x4b400001, 0x3f400000,
};
#define NV (sizeof(dvals) / sizeof(dvals[0]))

/* FPCR values: RN, RP, RM, RZ; RN with FZ; RN with DN; RZ with FZ and DN; AHP; AHP with RP
 * and FZ. */
static const uint64_t modes[] = { 0,        1u << 22,   2u << 22, 3u << 22,  1u << 24,
                                  1u << 25, 0x03c00000, 1u << 26, 0x05400000 };
#define NM (sizeof(modes) / sizeof(modes[0]))

typedef uint64_t (*Fn)(uint64_t a, uint64_t b, uint64_t c);

#define D2(name, insn)                                                       \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                 \
    {                                                                        \
        uint64_t r;                                                          \
        (void)c;                                                             \
        __asm__ volatile("fmov d1, %1\n fmov d2, %2\n" insn "\n fmov %0, d0" \
                         : "=r"(r)                                           \
                         : "r"(a), "r"(b)                                    \
                         : "v0", "v1", "v2", "memory");                      \
        return r;                                                            \
    }
#define S2(name, insn)                                                         \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                   \
    {                                                                          \
        uint64_t r;                                                            \
        (void)c;                                                               \
        __asm__ volatile("fmov s1, %w1\n fmov s2, %w2\n" insn "\n fmov %0, d0" \
                         : "=r"(r)                                             \
                         : "r"(a), "r"(b)                                      \
                         : "v0", "v1", "v2", "memory");                        \
        return r;                                                              \
    }
#define D3(name, insn)                                                                     \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                               \
    {                                                                                      \
        uint64_t r;                                                                        \
        __asm__ volatile("fmov d1, %1\n fmov d2, %2\n fmov d3, %3\n" insn "\n fmov %0, d0" \
                         : "=r"(r)                                                         \
                         : "r"(a), "r"(b), "r"(c)                                          \
                         : "v0", "v1", "v2", "v3", "memory");                              \
        return r;                                                                          \
    }
#define S3(name, insn)                                                                        \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                                  \
    {                                                                                         \
        uint64_t r;                                                                           \
        __asm__ volatile("fmov s1, %w1\n fmov s2, %w2\n fmov s3, %w3\n" insn "\n fmov %0, d0" \
                         : "=r"(r)                                                            \
                         : "r"(a), "r"(b), "r"(c)                                             \
                         : "v0", "v1", "v2", "v3", "memory");                                 \
        return r;                                                                             \
    }
/* Result in a general register (conversions to integer, compares: NZCV). */
#define DX(name, insn)                                                                    \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                              \
    {                                                                                     \
        uint64_t r;                                                                       \
        (void)c;                                                                          \
        __asm__ volatile("fmov d1, %1\n fmov d2, %2\n mov x9, #-1\n msr nzcv, xzr\n" insn \
                         "\n mov %0, x9"                                                  \
                         : "=r"(r)                                                        \
                         : "r"(a), "r"(b)                                                 \
                         : "v1", "v2", "x9", "cc", "memory");                             \
        return r;                                                                         \
    }
#define SX(name, insn)                                                                      \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)                                \
    {                                                                                       \
        uint64_t r;                                                                         \
        (void)c;                                                                            \
        __asm__ volatile("fmov s1, %w1\n fmov s2, %w2\n mov x9, #-1\n msr nzcv, xzr\n" insn \
                         "\n mov %0, x9"                                                    \
                         : "=r"(r)                                                          \
                         : "r"(a), "r"(b)                                                   \
                         : "v1", "v2", "x9", "cc", "memory");                               \
        return r;                                                                           \
    }
/* From a general register. */
#define XD(name, insn)                                        \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t c)  \
    {                                                         \
        uint64_t r;                                           \
        (void)b, (void)c;                                     \
        __asm__ volatile("mov x9, %1\n" insn "\n fmov %0, d0" \
                         : "=r"(r)                            \
                         : "r"(a)                             \
                         : "v0", "x9", "memory");             \
        return r;                                             \
    }

/* clang-format off */
D2(fadd_d, "fadd d0, d1, d2") D2(fsub_d, "fsub d0, d1, d2") D2(fmul_d, "fmul d0, d1, d2")
D2(fdiv_d, "fdiv d0, d1, d2") D2(fnmul_d, "fnmul d0, d1, d2") D2(fmax_d, "fmax d0, d1, d2")
D2(fmin_d, "fmin d0, d1, d2") D2(fmaxnm_d, "fmaxnm d0, d1, d2") D2(fminnm_d, "fminnm d0, d1, d2")
S2(fadd_s, "fadd s0, s1, s2") S2(fsub_s, "fsub s0, s1, s2") S2(fmul_s, "fmul s0, s1, s2")
S2(fdiv_s, "fdiv s0, s1, s2") S2(fmin_s, "fmin s0, s1, s2") S2(fmaxnm_s, "fmaxnm s0, s1, s2")
D3(fmadd_d, "fmadd d0, d1, d2, d3") D3(fmsub_d, "fmsub d0, d1, d2, d3")
D3(fnmadd_d, "fnmadd d0, d1, d2, d3") D3(fnmsub_d, "fnmsub d0, d1, d2, d3")
S3(fmadd_s, "fmadd s0, s1, s2, s3") S3(fnmsub_s, "fnmsub s0, s1, s2, s3")
D2(fsqrt_d, "fsqrt d0, d1") S2(fsqrt_s, "fsqrt s0, s1")
D2(fabs_d, "fabs d0, d1") S2(fneg_s, "fneg s0, s1")
D2(frintn_d, "frintn d0, d1") D2(frintp_d, "frintp d0, d1") D2(frintm_d, "frintm d0, d1")
D2(frintz_d, "frintz d0, d1") D2(frinta_d, "frinta d0, d1") D2(frintx_d, "frintx d0, d1")
D2(frinti_d, "frinti d0, d1") S2(frintx_s, "frintx s0, s1") S2(frinta_s, "frinta s0, s1")
D2(fcvt_sd, "fcvt s0, d1") S2(fcvt_ds, "fcvt d0, s1") D2(fcvt_hd, "fcvt h0, d1")
S2(fcvt_hs, "fcvt h0, s1") S2(fcvt_sh, "fcvt s0, h1") S2(fcvt_dh, "fcvt d0, h1")
DX(fcvtzs_xd, "fcvtzs x9, d1") DX(fcvtzu_xd, "fcvtzu x9, d1") DX(fcvtzs_wd, "fcvtzs w9, d1")
DX(fcvtzu_wd, "fcvtzu w9, d1") DX(fcvtns_xd, "fcvtns x9, d1") DX(fcvtas_wd, "fcvtas w9, d1")
DX(fcvtps_xd, "fcvtps x9, d1") DX(fcvtmu_xd, "fcvtmu x9, d1") SX(fcvtzs_ws, "fcvtzs w9, s1")
SX(fcvtnu_xs, "fcvtnu x9, s1") SX(fcvtau_ws, "fcvtau w9, s1")
DX(fcvtzs_fix, "fcvtzs x9, d1, #8") SX(fcvtzu_fix, "fcvtzu w9, s1, #31")
DX(fcmp_d, "fcmp d1, d2\n mrs x9, nzcv") DX(fcmpe_d, "fcmpe d1, d2\n mrs x9, nzcv")
SX(fcmp_s, "fcmp s1, s2\n mrs x9, nzcv") SX(fcmpe_s0, "fcmpe s1, #0.0\n mrs x9, nzcv")
DX(fccmp_d, "cmp x9, x9\n fccmp d1, d2, #5, eq\n mrs x9, nzcv")
DX(fccmpe_d, "cmp x9, xzr\n fccmpe d1, d2, #5, eq\n mrs x9, nzcv")
DX(fcsel_d, "cmp x9, x9\n fcsel d0, d1, d2, ne\n fmov x9, d0")
XD(scvtf_dx, "scvtf d0, x9") XD(ucvtf_dx, "ucvtf d0, x9") XD(scvtf_sw, "scvtf s0, w9")
XD(ucvtf_sx, "ucvtf s0, x9") XD(scvtf_dfix, "scvtf d0, x9, #12") XD(ucvtf_sfix, "ucvtf s0, w9, #32")
D2(fadd_4s, "dup v1.2d, v1.d[0]\n dup v2.2d, v2.d[0]\n fadd v0.4s, v1.4s, v2.4s\n"
            "addp d0, v0.2d")
D2(fmul_2d, "mov v1.d[1], v2.d[0]\n fmul v0.2d, v1.2d, v1.2d\n fadd d0, d0, d0")
D2(fcvtzs_4s, "mov v1.d[1], v2.d[0]\n fcvtzs v0.4s, v1.4s\n addp d0, v0.2d")
D2(fcmge_2d, "mov v1.d[1], v2.d[0]\n fcmge v0.2d, v1.2d, v2.2d\n addp d0, v0.2d")
D2(fmla_2s, "movi v0.2d, #0\n fmla v0.2s, v1.2s, v2.2s")
D2(fcvtl_4h, "fcvtl v0.4s, v1.4h")
D2(fcvtn_4s, "dup v1.4s, v1.s[0]\n fcvtn v0.4h, v1.4s")
    /* clang-format on */

    static unsigned flags_of(uint64_t fpsr)
{
    return (unsigned)(fpsr & 0x9f);
}

/* FPSR before each operation: 0, or IXC already set (the state in which a JIT may compute
 * FADD/FSUB/FMUL/FDIV with one host instruction: the runs with it check that path). */
static uint64_t fpsr_init;

/* Every operand of the list against every other (two-operand ops), or alone. */
static void run(const char *name, Fn fn, const uint64_t *vals, unsigned nvals, bool binary)
{
    for (unsigned m = 0; m < NM; m++) {
        for (unsigned i = 0; i < nvals; i++) {
            pr_str(name);
            pr_str(" m");
            putc_((char)('0' + m));
            pr_str(" a");
            putc_((char)('a' + i));
            putc_(':');
            for (unsigned j = 0; j < (binary ? nvals : 1); j++) {
                SYSREG_WRITE(fpcr, modes[m]);
                SYSREG_WRITE(fpsr, fpsr_init);
                uint64_t r = fn(vals[i], vals[j], 0);
                uint64_t fl = SYSREG_READ(fpsr);
                SYSREG_WRITE(fpcr, 0);
                putc_(' ');
                pr_hex(r);
                putc_(':');
                putc_("0123456789abcdef"[flags_of(fl) >> 4]);
                putc_("0123456789abcdef"[flags_of(fl) & 15]);
            }
            putc_('\n');
        }
    }
}

/* Three operands: a smaller set (every third value). */
static void run3(const char *name, Fn fn, const uint64_t *vals)
{
    for (unsigned m = 0; m < NM; m += 3) {
        for (unsigned i = 0; i < NV; i += 2) {
            for (unsigned j = 0; j < NV; j += 3) {
                pr_str(name);
                pr_str(" m");
                putc_((char)('0' + m));
                putc_(' ');
                putc_((char)('a' + i));
                putc_((char)('a' + j));
                putc_(':');
                for (unsigned k = 0; k < NV; k += 2) {
                    SYSREG_WRITE(fpcr, modes[m]);
                    SYSREG_WRITE(fpsr, 0);
                    uint64_t r = fn(vals[i], vals[j], vals[k]);
                    uint64_t fl = SYSREG_READ(fpsr);
                    SYSREG_WRITE(fpcr, 0);
                    putc_(' ');
                    pr_hex(r);
                    putc_(':');
                    putc_("0123456789abcdef"[flags_of(fl) >> 4]);
                    putc_("0123456789abcdef"[flags_of(fl) & 15]);
                }
                putc_('\n');
            }
        }
    }
}

/* Half precision: zeros, one, subnormals, the largest normal, infinity, NaNs, the top
 * binade (normal under AHP), and single/double values near the half range. */
static const uint64_t hvals[] = {
    0,      0x8000, 0x3c00, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00,
    0xfc00, 0x7e01, 0x7d02, 0xfe03, 0x7c01, 0x7fff, 0xffff, 0xc000,
};

static const uint64_t ints[] = {
    0,
    1,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0x7fffffffffffffffull,
    0x8000000000000000ull,
    0xffffffffffffffffull,
    0x0020000000000001ull,
    0x00000000ffffff81ull,
    12345,
    0x1000001,
};

int main(void)
{
    SYSREG_WRITE(cpacr_el1, 3ull << 20);
    ISB();
    run("fadd.d", fadd_d, dvals, NV, true);
    run("fsub.d", fsub_d, dvals, NV, true);
    run("fmul.d", fmul_d, dvals, NV, true);
    run("fdiv.d", fdiv_d, dvals, NV, true);
    run("fnmul.d", fnmul_d, dvals, NV, true);
    run("fmax.d", fmax_d, dvals, NV, true);
    run("fmin.d", fmin_d, dvals, NV, true);
    run("fmaxnm.d", fmaxnm_d, dvals, NV, true);
    run("fminnm.d", fminnm_d, dvals, NV, true);
    run("fadd.s", fadd_s, svals, NV, true);
    run("fsub.s", fsub_s, svals, NV, true);
    run("fmul.s", fmul_s, svals, NV, true);
    run("fdiv.s", fdiv_s, svals, NV, true);
    run("fmin.s", fmin_s, svals, NV, true);
    run("fmaxnm.s", fmaxnm_s, svals, NV, true);
    fpsr_init = 1u << 4; /* IXC */
    run("fadd.d.ixc", fadd_d, dvals, NV, true);
    run("fsub.d.ixc", fsub_d, dvals, NV, true);
    run("fmul.d.ixc", fmul_d, dvals, NV, true);
    run("fdiv.d.ixc", fdiv_d, dvals, NV, true);
    run("fadd.s.ixc", fadd_s, svals, NV, true);
    run("fdiv.s.ixc", fdiv_s, svals, NV, true);
    fpsr_init = 0;
    run3("fmadd.d", fmadd_d, dvals);
    run3("fmsub.d", fmsub_d, dvals);
    run3("fnmadd.d", fnmadd_d, dvals);
    run3("fnmsub.d", fnmsub_d, dvals);
    run3("fmadd.s", fmadd_s, svals);
    run3("fnmsub.s", fnmsub_s, svals);
    run("fsqrt.d", fsqrt_d, dvals, NV, false);
    run("fsqrt.s", fsqrt_s, svals, NV, false);
    run("fabs.d", fabs_d, dvals, NV, false);
    run("fneg.s", fneg_s, svals, NV, false);
    run("frintn.d", frintn_d, dvals, NV, false);
    run("frintp.d", frintp_d, dvals, NV, false);
    run("frintm.d", frintm_d, dvals, NV, false);
    run("frintz.d", frintz_d, dvals, NV, false);
    run("frinta.d", frinta_d, dvals, NV, false);
    run("frintx.d", frintx_d, dvals, NV, false);
    run("frinti.d", frinti_d, dvals, NV, false);
    run("frintx.s", frintx_s, svals, NV, false);
    run("frinta.s", frinta_s, svals, NV, false);
    run("fcvt.sd", fcvt_sd, dvals, NV, false);
    run("fcvt.ds", fcvt_ds, svals, NV, false);
    run("fcvt.hd", fcvt_hd, dvals, NV, false);
    run("fcvt.hs", fcvt_hs, svals, NV, false);
    run("fcvt.sh", fcvt_sh, svals, NV, false); /* the low 16 bits as half precision */
    run("fcvt.dh", fcvt_dh, dvals, NV, false);
    run("fcvt.dh.hvals", fcvt_dh, hvals, 16, false);
    run("fcvt.sh.hvals", fcvt_sh, hvals, 16, false);
    run("fcvtl.hvals", fcvtl_4h, hvals, 16, false);
    run("fcvtn.svals", fcvtn_4s, svals, NV, false);
    run("fcvtzs.xd", fcvtzs_xd, dvals, NV, false);
    run("fcvtzu.xd", fcvtzu_xd, dvals, NV, false);
    run("fcvtzs.wd", fcvtzs_wd, dvals, NV, false);
    run("fcvtzu.wd", fcvtzu_wd, dvals, NV, false);
    run("fcvtns.xd", fcvtns_xd, dvals, NV, false);
    run("fcvtas.wd", fcvtas_wd, dvals, NV, false);
    run("fcvtps.xd", fcvtps_xd, dvals, NV, false);
    run("fcvtmu.xd", fcvtmu_xd, dvals, NV, false);
    run("fcvtzs.ws", fcvtzs_ws, svals, NV, false);
    run("fcvtnu.xs", fcvtnu_xs, svals, NV, false);
    run("fcvtau.ws", fcvtau_ws, svals, NV, false);
    run("fcvtzs.fix", fcvtzs_fix, dvals, NV, false);
    run("fcvtzu.fix", fcvtzu_fix, svals, NV, false);
    run("fcmp.d", fcmp_d, dvals, NV, true);
    run("fcmpe.d", fcmpe_d, dvals, NV, true);
    run("fcmp.s", fcmp_s, svals, NV, true);
    run("fcmpe.s0", fcmpe_s0, svals, NV, false);
    run("fccmp.d", fccmp_d, dvals, NV, true);
    run("fccmpe.d", fccmpe_d, dvals, NV, true);
    run("fcsel.d", fcsel_d, dvals, NV, false);
    run("scvtf.dx", scvtf_dx, ints, 12, false);
    run("ucvtf.dx", ucvtf_dx, ints, 12, false);
    run("scvtf.sw", scvtf_sw, ints, 12, false);
    run("ucvtf.sx", ucvtf_sx, ints, 12, false);
    run("scvtf.dfix", scvtf_dfix, ints, 12, false);
    run("ucvtf.sfix", ucvtf_sfix, ints, 12, false);
    run("fadd.4s", fadd_4s, svals, NV, true);
    run("fmul.2d", fmul_2d, dvals, NV, true);
    run("fcvtzs.4s", fcvtzs_4s, svals, NV, true);
    run("fcmge.2d", fcmge_2d, dvals, NV, true);
    run("fmla.2s", fmla_2s, svals, NV, true);
    return 0;
}
