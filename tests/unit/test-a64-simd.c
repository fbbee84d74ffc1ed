/* SPDX-License-Identifier: MIT */
/*
 * The A64 FP/AdvSIMD data-processing helper on random instruction words of its encoding
 * space (bits 28:25 = x111), with random register contents and FPCR settings: it must never
 * crash or trip the sanitizers; an UNDEFINED encoding must raise EC 0 and leave the whole
 * CPU state untouched (the helper decodes before it writes anything); an executed one may
 * change only the V and X registers, NZCV and FPSR (never FPSR bits outside its mask).
 * The exception entry and the SoftMMU are fakes below (the data-processing helper does not
 * access memory).
 *
 * Second part: the x86-64 host fast path for FP arithmetic (a64_simd_set_host_fpu) against
 * the exact soft-float path: scalar and vector FADD, FSUB, FMUL, FDIV, FNMUL, FSQRT, FMADD,
 * FMSUB, FNMADD, FNMSUB, FMLA, FMLS in single and double precision on operands chosen near
 * the interesting boundaries (smallest normal, overflow, products and quotients landing
 * there, exact results, halfway alignments, specials), in every rounding mode with FZ and DN
 * on and off and FPSR.IXC clear or set (set enables the path without the MXCSR round trip):
 * the whole CPU state after the instruction (results and FPSR) must be identical.
 *
 * Third part: URECPE, URSQRTE, FRECPE and FRSQRTE on every input the estimate tables read,
 * against the Arm ARM's RecipEstimate/RecipSqrtEstimate pseudocode written out here; and
 * encodings whose feature the ID registers call absent (AES/SHA and 64-bit PMULL, RDM,
 * DotProd, FHM, FP16) or that are unallocated next to the new instructions must be UNDEFINED.
 */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/a64-internal.h"
#include "check.h"

static jmp_buf g_jmp;
static unsigned g_ec;

void a64_raise_sync(A64Cpu *cpu, unsigned ec, uint32_t iss, uint64_t far, bool far_valid)
{
    (void)cpu, (void)iss, (void)far, (void)far_valid;
    g_ec = ec;
    longjmp(g_jmp, 1);
}

uint64_t a64_nzcv(A64Cpu *cpu)
{
    return ((cpu->nf >> 63) << 31) | ((uint64_t)(cpu->zf == 0) << 30) | ((cpu->cf & 1) << 29) |
           ((cpu->vf >> 63) << 28);
}

void a64_set_nzcv(A64Cpu *cpu, uint64_t v)
{
    cpu->nf = (v >> 31) & 1 ? ~0ull : 0;
    cpu->zf = (v >> 30) & 1 ? 0 : 1;
    cpu->cf = (v >> 29) & 1;
    cpu->vf = (v >> 28) & 1 ? ~0ull : 0;
}

uint64_t mmu_load_slow(VsCpu *cpu, uint64_t vaddr, unsigned flags)
{
    (void)cpu, (void)vaddr, (void)flags;
    abort(); /* data processing never loads */
}

void mmu_store_slow(VsCpu *cpu, uint64_t vaddr, uint64_t value, unsigned flags)
{
    (void)cpu, (void)vaddr, (void)value, (void)flags;
    abort();
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Interesting lane values: zeros, ones, signed extremes, FP specials of each size. */
static uint64_t lane_value(void)
{
    static const uint64_t special[] = {
        0,
        ~0ull,
        0x8000000000000000ull,
        0x7fffffffffffffffull,
        0x7ff0000000000000ull,
        0x7ff8000000000001ull,
        0x7ff0000000000001ull,
        0x0000000000000001ull,
        0x000fffffffffffffull,
        0x7f8000007fc00001ull,
        0x7f80000100800000ull,
        0x7c007e0000017bffull,
        0x3ff0000000000000ull,
        0x80000000ffffffffull,
    };
    uint64_t r = next();
    return (r & 3) ? special[(r >> 2) % (sizeof(special) / sizeof(special[0]))] : next();
}

typedef uint64_t (*SimdFn)(VsCpu *, uint64_t, uint64_t);
typedef struct Vec128 {
    uint64_t lo, hi;
} Vec128;

/* Run one word: 1 when it executed, 0 when it raised. */
static int run_word(SimdFn simd, A64Cpu *cpu, uint32_t w)
{
    if (setjmp(g_jmp) != 0)
        return 0;
    simd(&cpu->common, w, 0x1000);
    return 1;
}

/* An operand of the format (dbl: double, else single) near an interesting boundary. */
static uint64_t fp_operand(bool dbl)
{
    int p = dbl ? 53 : 24, bias = dbl ? 1023 : 127, top = 2 * bias; /* largest finite field */
    uint64_t fracmask = (1ull << (p - 1)) - 1, frac, r = next();
    uint64_t sign = (r & 1) ? 1ull << (dbl ? 63 : 31) : 0;
    switch ((r >> 1) % 6) {
    case 0: frac = next() & fracmask; break;
    case 1: frac = 0; break;
    case 2: frac = fracmask; break;
    case 3: frac = 1ull << (next() % (unsigned)(p - 1)); break;
    case 4: frac = fracmask ^ (1ull << (next() % (unsigned)(p - 1))); break;
    default: frac = next() & fracmask & ~((1ull << (next() % (unsigned)(p - 1))) - 1); break;
    }
    int d = (int)((r >> 8) % 5) - 2, ef;
    switch ((r >> 16) % 9) {
    case 0: ef = bias + d; break;                            /* near 1 */
    case 1: ef = 1 + (int)((r >> 24) % 4); break;            /* near the smallest normal */
    case 2: ef = top - (int)((r >> 24) % 4); break;          /* near the largest finite */
    case 3: ef = bias - bias / 2 + d; break;                 /* products near the smallest normal */
    case 4: ef = bias + bias / 2 + d; break;                 /* products near overflow */
    case 5: ef = bias + ((r >> 24) & 1 ? p : -p) + d; break; /* sums at halfway alignment */
    case 6: ef = 1 + (int)(next() % (unsigned)top); break;
    case 7:
        ef = bias + (int)((r >> 24) % 3);
        frac &= ~((1ull << (p - 4)) - 1);
        break; /* exact */
    default: { /* special */
        static const uint64_t sp_d[] = { 0,
                                         1,
                                         0x000fffffffffffffull,
                                         0x7ff0000000000000ull,
                                         0x7ff8000000000001ull,
                                         0x7ff0000000000001ull };
        static const uint64_t sp_s[] = { 0, 1, 0x007fffff, 0x7f800000, 0x7fc00001, 0x7f800001 };
        return sign | (dbl ? sp_d : sp_s)[(r >> 24) % 6];
    }
    }
    return sign | ((uint64_t)ef << (p - 1)) | frac;
}

static bool fast_range(bool dbl, uint64_t x)
{
    uint64_t m = x & (dbl ? ~0ull >> 1 : 0x7fffffffu);
    return m > (dbl ? 1ull << 52 : 1ull << 23) && m < (dbl ? 0x7fefffffffffffffull : 0x7f7fffffu);
}

/* One FP arithmetic word with random registers, precision and (for vectors) arrangement. */
static uint32_t fp_word(bool *dbl, bool *vec)
{
    unsigned rd = next() % 32, rn = next() % 32, rm = next() % 32, ra = next() % 32;
    unsigned sz = next() & 1, q = next() & 1, kind = next() % 12;
    *dbl = sz;
    *vec = kind >= 7;
    if (*vec && sz)
        q = 1; /* 2D only */
    uint32_t v3 = 0x0e200400u | q << 30 | sz << 22 | rm << 16 | rn << 5 | rd;
    switch (kind) {
    case 0: { /* FMUL FDIV FADD FSUB FNMUL */
        static const unsigned opc[5] = { 0, 1, 2, 3, 8 };
        return 0x1e200800u | sz << 22 | rm << 16 | opc[next() % 5] << 12 | rn << 5 | rd;
    }
    case 1:
    case 2:
    case 3: /* FMADD FMSUB FNMADD FNMSUB */
        return 0x1f000000u | sz << 22 | (unsigned)(next() & 1) << 21 | rm << 16 |
               (unsigned)(next() & 1) << 15 | ra << 10 | rn << 5 | rd;
    case 4: return 0x1e21c000u | sz << 22 | rn << 5 | rd;            /* FSQRT */
    case 5: return 0x1e202800u | sz << 22 | rm << 16 | rn << 5 | rd; /* FADD */
    case 6: return 0x1e200800u | sz << 22 | rm << 16 | rn << 5 | rd; /* FMUL */
    case 7: return v3 | 0x1au << 11 | (unsigned)(next() & 1) << 23;  /* FADD, FSUB */
    case 8: return v3 | 1u << 29 | 0x1bu << 11;                      /* FMUL */
    case 9: return v3 | 1u << 29 | 0x1fu << 11;                      /* FDIV */
    case 10: return v3 | 0x19u << 11 | (unsigned)(next() & 1) << 23; /* FMLA, FMLS */
    default: return 0x2ea1f800u | q << 30 | sz << 22 | rn << 5 | rd; /* FSQRT (vector) */
    }
}

static void host_vs_exact(SimdFn simd)
{
    A64Cpu *cpu = calloc(1, sizeof(A64Cpu)), *start = calloc(1, sizeof(A64Cpu));
    A64Cpu *host = calloc(1, sizeof(A64Cpu));
    unsigned in_range = 0, fails = 0, iter;
    for (iter = 0; iter < 300000 && fails < 10; iter++) {
        bool dbl, vec;
        uint32_t w = fp_word(&dbl, &vec);
        for (unsigned r = 0; r < 32; r++)
            for (unsigned h = 0; h < 2; h++)
                cpu->v[r][h] = dbl ? fp_operand(true) : fp_operand(false) | fp_operand(false) << 32;
        cpu->fpcr = (next() & (A64_FPCR_FZ | A64_FPCR_DN | A64_FPCR_AHP)) | (next() & 3) << 22;
        cpu->fpsr = next() & 1 ? A64_FPSR_IXC : 0;
        if (next() % 4 == 0)
            cpu->fpsr |= next() & A64_FPSR_MASK;
        memcpy(start, cpu, sizeof(A64Cpu));
        a64_simd_set_host_fpu(true);
        int ok_host = run_word(simd, cpu, w);
        memcpy(host, cpu, sizeof(A64Cpu));
        memcpy(cpu, start, sizeof(A64Cpu));
        a64_simd_set_host_fpu(false);
        int ok_exact = run_word(simd, cpu, w);
        a64_simd_set_host_fpu(true);
        unsigned rd = w & 31;
        if (ok_host != ok_exact || memcmp(host, cpu, sizeof(A64Cpu)) != 0) {
            fails++;
            fprintf(stderr,
                    "word %08x fpcr %08" PRIx64 " fpsr %08" PRIx64 ": host %016" PRIx64
                    "%016" PRIx64 " fpsr %08" PRIx64 ", exact %016" PRIx64 "%016" PRIx64
                    " fpsr %08" PRIx64 "\n",
                    w, start->fpcr, start->fpsr, host->v[rd][1], host->v[rd][0], host->fpsr,
                    cpu->v[rd][1], cpu->v[rd][0], cpu->fpsr);
        }
        CHECK(ok_host && ok_exact);
        if (fast_range(dbl, dbl ? cpu->v[rd][0] : (uint32_t)cpu->v[rd][0]))
            in_range++;
        (void)vec;
    }
    CHECK(fails == 0);
    printf("host fast path vs exact: %u of %u results in the fast range\n", in_range, iter);
    CHECK(in_range > 50000); /* the comparison covers the fast path, not only its fall-backs */
    free(cpu);
    free(start);
    free(host);
}

/* The Arm ARM's RecipEstimate and RecipSqrtEstimate, written out as the pseudocode has them
 * (the latter counting b up one at a time). */
static unsigned ref_recip_estimate(unsigned a)
{
    a = a * 2 + 1;
    unsigned b = (1u << 19) / a;
    return (b + 1) / 2;
}

static unsigned ref_rsqrt_estimate(unsigned a)
{
    if (a < 256) {
        a = a * 2 + 1;
    } else {
        a = (a >> 1) << 1;
        a = (a + 1) * 2;
    }
    unsigned b = 512;
    while (a * (b + 1) * (b + 1) < (1u << 28))
        b = b + 1;
    return (b + 1) / 2;
}

/* One instruction on v1 = {lo, hi}; the result is v0. */
static Vec128 run_v1(SimdFn simd, A64Cpu *cpu, uint32_t w, uint64_t lo, uint64_t hi, bool *ok)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->v[1][0] = lo;
    cpu->v[1][1] = hi;
    *ok = run_word(simd, cpu, w) == 1;
    Vec128 r = { cpu->v[0][0], cpu->v[0][1] };
    return r;
}

/* URECPE, URSQRTE and FRECPE, FRSQRTE (single and double) on every 8/9-bit input the tables
 * read, with noise below it, against the pseudocode; and values known from hardware. */
static void estimates(SimdFn simd)
{
    A64Cpu *cpu = calloc(1, sizeof(A64Cpu));
    bool ok;
    unsigned bad = 0;
    for (unsigned a = 128; a < 512; a++) {
        uint64_t x = (uint64_t)a << 23 | ((a * 0x2545f491u) & 0x7fffff);
        /* Lane 1 is 0: below 0.25, all ones. */
        Vec128 r = run_v1(simd, cpu, 0x2ea1c820u, x, 0, &ok); /* ursqrte v0.2s, v1.2s */
        bad += !ok || r.lo != (0xffffffff00000000ull | (uint64_t)ref_rsqrt_estimate(a) << 23);
        if (a >= 256) {
            r = run_v1(simd, cpu, 0x0ea1c820u, x, 0, &ok); /* urecpe v0.2s, v1.2s */
            bad += !ok || r.lo != (0xffffffff00000000ull | (uint64_t)ref_recip_estimate(a) << 23);
        }
        /* frsqrte: 1.f (odd biased exponent: '01':f) and 2.f (even: '1':f) */
        unsigned f8 = a & 0xff;
        uint64_t one = 0x3f800000u | f8 << 15 | (x & 0x7fff), two = one + (1u << 23);
        r = run_v1(simd, cpu, 0x7ea1d820u, one, 0, &ok); /* frsqrte s0, s1 */
        bad += !ok || r.lo != (126u << 23 | (ref_rsqrt_estimate(128 | f8 >> 1) & 0xffu) << 15);
        r = run_v1(simd, cpu, 0x7ea1d820u, two, 0, &ok);
        bad += !ok || r.lo != (126u << 23 | (ref_rsqrt_estimate(256 | f8) & 0xffu) << 15);
        uint64_t dbl = 0x3ff0000000000000ull | (uint64_t)f8 << 44 | (x << 20 & 0xfffffffffffull);
        r = run_v1(simd, cpu, 0x5ee1d820u, dbl, 0, &ok); /* frecpe d0, d1 */
        uint64_t want = (uint64_t)1022 << 52 | (uint64_t)(ref_recip_estimate(256 | f8) & 0xff)
                                                   << 44;
        bad += !ok || r.lo != want;
    }
    CHECK(bad == 0);
    /* FRECPE(1.0) and FRSQRTE(1.0) = 0.998046875; FRSQRTE(4.0) = 0.4990234375. */
    CHECK(run_v1(simd, cpu, 0x5ea1d820u, 0x3f800000u, 0, &ok).lo == 0x3f7f8000u && ok);
    CHECK(run_v1(simd, cpu, 0x7ea1d820u, 0x3f800000u, 0, &ok).lo == 0x3f7f8000u && ok);
    CHECK(run_v1(simd, cpu, 0x7ea1d820u, 0x40800000u, 0, &ok).lo == 0x3eff8000u && ok);
    free(cpu);
}

/*
 * Encodings that must stay UNDEFINED because the ID registers (a64-sysreg.c) say their
 * feature is absent: ID_AA64ISAR0_EL1.AES/SHA1/SHA2 = 0 (so also PMULL of 64-bit elements),
 * RDM = 0, DP = 0, FHM = 0; ID_AA64PFR0_EL1.FP/AdvSIMD = 0 (no half precision); and
 * encodings that are unallocated next to the new ones.
 */
static void undefined_encodings(SimdFn simd)
{
    static const uint32_t words[] = {
        0x0ee2e020u, /* pmull v0.1q, v1.1d, v2.1d */
        0x4ee2e020u, /* pmull2 v0.1q, v1.2d, v2.2d */
        0x4e284820u, /* aese v0.16b, v1.16b */
        0x5e020020u, /* sha1c q0, s1, v2.4s */
        0x5e024020u, /* sha256h q0, q1, v2.4s */
        0x6e828420u, /* sqrdmlah v0.4s, v1.4s, v2.4s (FEAT_RDM) */
        0x6f82d020u, /* sqrdmlah v0.4s, v1.4s, v2.s[0] */
        0x4e829420u, /* sdot v0.4s, v1.16b, v2.16b (FEAT_DotProd) */
        0x0e22ec20u, /* fmlal v0.2s, v1.2h, v2.2h (FEAT_FHM) */
        0x5ef9d820u, /* frecpe h0, h1 (FEAT_FP16) */
        0x5e30c820u, /* fmaxnmp h0, v1.2h (FEAT_FP16) */
        0x2e216820u, /* fcvtxn with sz = 0 */
        0x5ea1c820u, /* urecpe: no scalar form */
        0x4ea1f820u, /* frecpx: no vector form */
        0x5f088420u, /* shrn: no scalar form */
        0x5f82a020u, /* smull (by element): no scalar form */
        0x6e629c20u, /* pmul of halfwords */
        0x0e22d020u, /* sqdmull of bytes */
        0x2e62d020u, /* U = 1 next to sqdmull */
        0x7e62d020u, /* U = 1 next to sqdmull (scalar) */
        0x0ee03820u, /* suqadd v0.1d: reserved */
        0x5f7b9c20u, /* sqrshrn from 128 bits (scalar, immh = 1xxx) */
        0x7ef0d820u, /* faddp with size = 1x */
    };
    A64Cpu *cpu = calloc(1, sizeof(A64Cpu)), *before = calloc(1, sizeof(A64Cpu));
    for (unsigned k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
        for (unsigned r = 0; r < 32; r++)
            cpu->v[r][0] = cpu->v[r][1] = lane_value();
        memcpy(before, cpu, sizeof(A64Cpu));
        int ran = run_word(simd, cpu, words[k]);
        if (ran || g_ec != A64_EC_UNKNOWN || memcmp(cpu, before, sizeof(A64Cpu)) != 0)
            fprintf(stderr, "word %08x: expected UNDEFINED\n", words[k]);
        CHECK(!ran && g_ec == A64_EC_UNKNOWN && memcmp(cpu, before, sizeof(A64Cpu)) == 0);
    }
    free(cpu);
    free(before);
}

int main(void)
{
    SimdFn simd = (SimdFn)a64_helper_simd.fn;
    A64Cpu *cpu = calloc(1, sizeof(A64Cpu));
    A64Cpu *before = calloc(1, sizeof(A64Cpu));
    unsigned executed = 0, undefined = 0;
    int fails0 = g_fail;
    for (unsigned iter = 0; iter < 400000 && g_fail == fails0; iter++) {
        uint32_t w = (uint32_t)next();
        w = (w & ~(7u << 25)) | (7u << 25); /* bits 27:25 = 111: bit 28 either */
        for (unsigned r = 0; r < 32; r++) {
            cpu->v[r][0] = lane_value();
            cpu->v[r][1] = lane_value();
        }
        for (unsigned r = 0; r < 31; r++)
            cpu->x[r] = lane_value();
        a64_set_nzcv(cpu, next() << 28);
        cpu->fpcr = next() & A64_FPCR_MASK;
        cpu->fpsr = next() & A64_FPSR_MASK;
        memcpy(before, cpu, sizeof(A64Cpu));
        if (run_word(simd, cpu, w)) {
            executed++;
            /* Only V, X, NZCV and FPSR may change. */
            A64Cpu tmp;
            memcpy(&tmp, cpu, sizeof(A64Cpu));
            memcpy(tmp.v, before->v, sizeof(tmp.v));
            memcpy(tmp.x, before->x, sizeof(tmp.x));
            tmp.nf = before->nf, tmp.zf = before->zf, tmp.cf = before->cf, tmp.vf = before->vf;
            bool fpsr_ok = (cpu->fpsr & ~A64_FPSR_MASK) == 0 &&
                           (cpu->fpsr & before->fpsr) == before->fpsr; /* flags accumulate */
            tmp.fpsr = before->fpsr;
            bool same = memcmp(&tmp, before, sizeof(A64Cpu)) == 0;
            if (!same || !fpsr_ok)
                fprintf(stderr, "word %08x changed state it must not\n", w);
            CHECK(same && fpsr_ok);
        } else {
            undefined++;
            if (g_ec != A64_EC_UNKNOWN || memcmp(cpu, before, sizeof(A64Cpu)) != 0)
                fprintf(stderr, "word %08x: UNDEFINED with ec %u or changed state\n", w, g_ec);
            CHECK(g_ec == A64_EC_UNKNOWN && memcmp(cpu, before, sizeof(A64Cpu)) == 0);
        }
    }
    printf("%u executed, %u UNDEFINED\n", executed, undefined);
    CHECK(executed > 10000 && undefined > 10000);
    free(cpu);
    free(before);
    host_vs_exact(simd);
    estimates(simd);
    undefined_encodings(simd);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
