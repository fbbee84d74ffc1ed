/* SPDX-License-Identifier: MIT */
/*
 * The A64 FP/AdvSIMD data-processing helper on random instruction words of its encoding
 * space (bits 28:25 = x111), with random register contents and FPCR settings: it must never
 * crash or trip the sanitizers; an UNDEFINED encoding must raise EC 0 and leave the whole
 * CPU state untouched (the helper decodes before it writes anything); an executed one may
 * change only the V and X registers, NZCV and FPSR (never FPSR bits outside its mask).
 * The exception entry and the SoftMMU are fakes below (the data-processing helper does not
 * access memory).
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

/* Run one word: 1 when it executed, 0 when it raised. */
static int run_word(SimdFn simd, A64Cpu *cpu, uint32_t w)
{
    if (setjmp(g_jmp) != 0)
        return 0;
    simd(&cpu->common, w, 0x1000);
    return 1;
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
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
