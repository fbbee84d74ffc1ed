/* SPDX-License-Identifier: MIT */
/* SIMD&FP loads and stores: LDR/STR of B/H/S/D/Q with every addressing mode (unsigned
 * offset, unscaled, pre/post index, register offset, literal), LDP/STP/LDNP/STNP of S/D/Q,
 * LD1-LD4/ST1-ST4 (multiple and single structures, post-index by immediate and register),
 * LD1R-LD4R; the untouched bytes of destination registers and memory are checked too. */
#include "isa.h"

static uint8_t src[256] __attribute__((aligned(16)));
static uint8_t dst[256] __attribute__((aligned(16)));
static uint64_t regs[8][2] __attribute__((aligned(16)));

static void init(void)
{
    for (unsigned k = 0; k < sizeof(src); k++) {
        src[k] = (uint8_t)(k * 7 + 1);
        dst[k] = 0xee;
    }
    __asm__ volatile("movi v0.16b, #0xaa\n movi v1.16b, #0xbb\n movi v2.16b, #0xcc\n"
                     "movi v3.16b, #0xdd\n movi v31.16b, #0x11" ::
                         : "v0", "v1", "v2", "v3", "v31", "memory");
}

static void dump_regs(const char *name)
{
    __asm__ volatile("stp q0, q1, [%0]\n stp q2, q3, [%0, #32]\n str q31, [%0, #64]" ::"r"(regs)
                     : "memory");
    pr_str(name);
    putc_('\n');
    for (unsigned k = 0; k < 5; k++) {
        pr_str("  ");
        pr_hex(regs[k][1]);
        pr_str(" ");
        pr_hex(regs[k][0]);
        putc_('\n');
    }
}

static void dump_dst(const char *name)
{
    uint64_t h = 0;
    pr_str(name);
    pr_str(" dst");
    for (unsigned k = 0; k < 64; k += 8) {
        uint64_t w = 0;
        for (unsigned b = 0; b < 8; b++)
            w |= (uint64_t)dst[k + b] << (8 * b);
        putc_(' ');
        pr_hex(w);
    }
    for (unsigned k = 64; k < sizeof(dst); k++)
        h = h * 31 + dst[k];
    pr_str(" rest ");
    pr_hex(h);
    putc_('\n');
}

#define LOAD(name, asm_)                                             \
    do {                                                             \
        init();                                                      \
        uint64_t base_ = (uint64_t)src + 32, idx_ = 16;              \
        __asm__ volatile(asm_                                        \
                         : "+r"(base_)                               \
                         : "r"(idx_)                                 \
                         : "v0", "v1", "v2", "v3", "v31", "memory"); \
        dump_regs(name);                                             \
        pr("  base", base_ - (uint64_t)src);                         \
    } while (0)

#define STORE(name, asm_)                                                              \
    do {                                                                               \
        init();                                                                        \
        __asm__ volatile(                                                              \
            "ldp q0, q1, [%0]\n ldp q2, q3, [%0, #32]\n ldr q31, [%0, #64]" ::"r"(src) \
            : "v0", "v1", "v2", "v3", "v31", "memory");                                \
        uint64_t base_ = (uint64_t)dst + 32, idx_ = 16;                                \
        __asm__ volatile(asm_ : "+r"(base_) : "r"(idx_) : "memory");                   \
        dump_dst(name);                                                                \
        pr("  base", base_ - (uint64_t)dst);                                           \
    } while (0)

static void single(void)
{
    LOAD("ldr b", "ldr b0, [%0, #3]");
    LOAD("ldr h", "ldr h1, [%0, #6]");
    LOAD("ldr s", "ldr s2, [%0, #12]");
    LOAD("ldr d", "ldr d3, [%0, #24]");
    LOAD("ldr q", "ldr q31, [%0, #48]");
    LOAD("ldur q", "ldur q0, [%0, #-17]");
    LOAD("ldur h", "ldur h0, [%0, #-1]");
    LOAD("ldr q pre", "ldr q1, [%0, #-16]!");
    LOAD("ldr d post", "ldr d2, [%0], #-24");
    LOAD("ldr s post", "ldr s2, [%0], #255");
    LOAD("ldr q reg", "ldr q0, [%0, %1]");
    LOAD("ldr q reg lsl", "ldr q0, [%0, %1, lsl #4]");
    LOAD("ldr d reg sxtw", "ldr d0, [%0, %w1, sxtw #3]");
    LOAD("ldr b reg uxtw", "ldr b0, [%0, %w1, uxtw]");
    LOAD("ldr h reg lsl", "ldr h0, [%0, %1, lsl #1]");
    LOAD("ldr q literal", "ldr q3, 1f\n b 2f\n .balign 16\n1: .quad 0x0123456789abcdef, "
                          "0xfedcba9876543210\n2:");
    LOAD("ldr d literal", "ldr d3, 1f\n b 2f\n .balign 8\n1: .quad 0x0123456789abcdef\n2:");
    LOAD("ldr s literal", "ldr s3, 1f\n b 2f\n .balign 4\n1: .word 0x89abcdef\n2:");
    STORE("str b", "str b0, [%0, #3]");
    STORE("str h", "str h1, [%0, #6]");
    STORE("str s", "str s2, [%0, #12]");
    STORE("str d", "str d3, [%0, #24]");
    STORE("str q", "str q31, [%0, #16]");
    STORE("stur q", "stur q1, [%0, #-3]");
    STORE("str q pre", "str q2, [%0, #-32]!");
    STORE("str d post", "str d3, [%0], #8");
    STORE("str q reg", "str q1, [%0, %1]");
    STORE("str s reg lsl", "str s1, [%0, %1, lsl #2]");
}

static void pairs(void)
{
    LOAD("ldp s", "ldp s0, s1, [%0, #-8]");
    LOAD("ldp d", "ldp d2, d3, [%0, #16]");
    LOAD("ldp q", "ldp q0, q31, [%0, #32]");
    LOAD("ldp q pre", "ldp q1, q2, [%0, #-32]!");
    LOAD("ldp d post", "ldp d1, d2, [%0], #-16");
    LOAD("ldnp q", "ldnp q3, q0, [%0, #-32]");
    LOAD("ldnp s", "ldnp s3, s0, [%0, #4]");
    STORE("stp s", "stp s0, s1, [%0, #-8]");
    STORE("stp d", "stp d2, d3, [%0, #16]");
    STORE("stp q", "stp q0, q31, [%0, #-32]");
    STORE("stp q pre", "stp q1, q2, [%0, #32]!");
    STORE("stp q post", "stp q3, q0, [%0], #-32");
    STORE("stnp d", "stnp d3, d0, [%0, #8]");
}

static void structures(void)
{
    LOAD("ld1 1 reg 8b", "ld1 {v0.8b}, [%0]");
    LOAD("ld1 2 reg 16b post", "ld1 {v0.16b, v1.16b}, [%0], #32");
    LOAD("ld1 3 reg 4h", "ld1 {v1.4h, v2.4h, v3.4h}, [%0]");
    LOAD("ld1 4 reg 2d post reg", "ld1 {v0.2d, v1.2d, v2.2d, v3.2d}, [%0], %1");
    LOAD("ld1 wrap", "ld1 {v31.4s, v0.4s}, [%0]");
    LOAD("ld2 8h", "ld2 {v0.8h, v1.8h}, [%0]");
    LOAD("ld2 8b post", "ld2 {v2.8b, v3.8b}, [%0], #16");
    LOAD("ld3 4s", "ld3 {v0.4s, v1.4s, v2.4s}, [%0]");
    LOAD("ld3 16b post", "ld3 {v1.16b, v2.16b, v3.16b}, [%0], #48");
    LOAD("ld4 16b", "ld4 {v0.16b, v1.16b, v2.16b, v3.16b}, [%0]");
    LOAD("ld4 2s post", "ld4 {v0.2s, v1.2s, v2.2s, v3.2s}, [%0], #32");
    LOAD("ld4 2d", "ld4 {v0.2d, v1.2d, v2.2d, v3.2d}, [%0]");
    LOAD("ld1 lane b", "ld1 {v0.b}[13], [%0]");
    LOAD("ld1 lane h post", "ld1 {v1.h}[5], [%0], #2");
    LOAD("ld1 lane s", "ld1 {v2.s}[3], [%0]");
    LOAD("ld1 lane d post reg", "ld1 {v3.d}[1], [%0], %1");
    LOAD("ld2 lane s", "ld2 {v0.s, v1.s}[1], [%0]");
    LOAD("ld3 lane h post", "ld3 {v1.h, v2.h, v3.h}[7], [%0], #6");
    LOAD("ld4 lane b", "ld4 {v0.b, v1.b, v2.b, v3.b}[9], [%0]");
    LOAD("ld4 lane d", "ld4 {v31.d, v0.d, v1.d, v2.d}[0], [%0]");
    LOAD("ld1r 16b", "ld1r {v0.16b}, [%0]");
    LOAD("ld1r 4h post", "ld1r {v1.4h}, [%0], #2");
    LOAD("ld2r 4s", "ld2r {v0.4s, v1.4s}, [%0]");
    LOAD("ld3r 2d post reg", "ld3r {v1.2d, v2.2d, v3.2d}, [%0], %1");
    LOAD("ld4r 8b", "ld4r {v0.8b, v1.8b, v2.8b, v3.8b}, [%0]");
    STORE("st1 1 reg 16b", "st1 {v0.16b}, [%0]");
    STORE("st1 2 reg 4h post", "st1 {v1.4h, v2.4h}, [%0], #16");
    STORE("st1 4 reg 2d", "st1 {v0.2d, v1.2d, v2.2d, v3.2d}, [%0]");
    STORE("st2 4s post reg", "st2 {v0.4s, v1.4s}, [%0], %1");
    STORE("st3 8b", "st3 {v1.8b, v2.8b, v3.8b}, [%0]");
    STORE("st4 8h post", "st4 {v0.8h, v1.8h, v2.8h, v3.8h}, [%0], #64");
    STORE("st1 lane s", "st1 {v1.s}[2], [%0]");
    STORE("st2 lane d post", "st2 {v2.d, v3.d}[1], [%0], #16");
    STORE("st3 lane b", "st3 {v31.b, v0.b, v1.b}[15], [%0]");
    STORE("st4 lane h post reg", "st4 {v0.h, v1.h, v2.h, v3.h}[3], [%0], %1");
}

int main(void)
{
    SYSREG_WRITE(cpacr_el1, 3ull << 20);
    ISB();
    single();
    pairs();
    structures();
    return 0;
}
