/* SPDX-License-Identifier: MIT */
/*
 * The A64 frontend on arbitrary instruction words: every block it builds must pass the IR
 * verifier before and after the optimiser (which the JIT relies on), end in a block exit and
 * cover whole instructions; hand-picked encodings must end their blocks where the
 * architecture says (branches, exception generation, system register writes, ISB) and fall
 * through elsewhere. Random words cover every encoding group, unallocated ones included:
 * those must become an exception, never a crash; SIMD&FP encodings are translated with
 * CPACR_EL1.FPEN open and closed (then every one of them is a trap that ends the block).
 * The CPU and MMU are fakes below.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/a64-internal.h"
#include "check.h"

/* ---- fakes: the helpers are only named, never called; code comes from g_page ---- */

#define H(n, args) const IrHelper a64_helper_##n = { #n, NULL, args, IR_HELPER_PASS_CPU }
H(exception, 2);
H(pc_align, 1);
H(mrs, 2);
H(msr, 2);
H(msr_pstate, 2);
H(eret, 0);
H(wfx, 2);
H(hvc, 2);
H(sys, 3);
H(atomic, 3);
H(cas, 4);
H(cas128, 6);
H(ld128, 2);
H(simd, 2);
H(vldst, 3);
const IrHelper a64_helper_crc32 = { "crc32", NULL, 3, IR_HELPER_PURE };
const IrHelper a64_helper_rbit = { "rbit", NULL, 1, IR_HELPER_PURE };
const IrHelper a64_helper_cls = { "cls", NULL, 2, IR_HELPER_PURE };
static const IrHelper fp_binop = { "fp_binop", NULL, 3, IR_HELPER_PASS_CPU };
const IrHelper *const a64_helper_fp_binop_s[4] = { &fp_binop, &fp_binop, &fp_binop, &fp_binop };
const IrHelper *const a64_helper_fp_binop_d[4] = { &fp_binop, &fp_binop, &fp_binop, &fp_binop };
const IrHelper a64_helper_fcmp = { "fcmp", NULL, 3, IR_HELPER_PASS_CPU };
const IrHelper a64_helper_fsqrt = { "fsqrt", NULL, 2, IR_HELPER_PASS_CPU };

static uint32_t g_page[1024];

unsigned a64_code_mmu_idx(uint32_t mode)
{
    return (mode & A64_MODE_EL1) ? A64_MMU_EL1 : A64_MMU_EL0;
}

uint64_t mmu_translate_code(VsCpu *cpu, uint64_t vaddr, unsigned mmu_idx, uint8_t **host)
{
    (void)cpu, (void)mmu_idx;
    *host = (uint8_t *)g_page; /* the page, whatever the offset */
    return vaddr & ~0xfffull;
}

/* ---- checks ---- */

static IrFunc g_f;

/* Translate the block at page offset `off` in mode; returns the number of instructions. */
static unsigned translate(unsigned off, uint32_t mode, uint32_t word_for_msg)
{
    VsCpu cpu;
    memset(&cpu, 0, sizeof(cpu));
    ir_reset(&g_f);
    unsigned n = 0;
    uint64_t ppc2 = UINT64_MAX;
    uint64_t vpc = 0x40000000ull + off;
    unsigned bytes = a64_translate(&cpu, &g_f, vpc, mode, &n, &ppc2);
    char msg[256];
    bool ok = ir_verify(&g_f, msg, sizeof(msg));
    if (!ok) {
        fprintf(stderr, "word %08x mode %u: invalid IR: %s\n", word_for_msg, mode, msg);
        ir_print(&g_f, stderr);
    }
    CHECK(ok);
    ir_optimize(&g_f);
    ok = ir_verify(&g_f, msg, sizeof(msg));
    if (!ok)
        fprintf(stderr, "word %08x: invalid IR after optimising: %s\n", word_for_msg, msg);
    CHECK(ok);
    CHECK(n >= 1 && bytes == 4 * n && off + bytes <= 4096);
    return n;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_word(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void random_words(void)
{
    int fails0 = g_fail;
    for (unsigned iter = 0; iter < 200000 && g_fail == fails0; iter++) {
        uint32_t w = next_word();
        /* Bias half the words towards the allocated groups (bits 28:25). */
        if (iter & 1)
            w = (w & ~(0xfu << 25)) | ((uint32_t)(iter >> 1) % 16u << 25);
        for (unsigned i = 0; i < 4; i++)
            g_page[i] = w;
        g_page[4] = 0xd65f03c0; /* ret: the block ends here at the latest */
        uint32_t mode = iter % 3 == 0 ? 0 : A64_MODE_EL1 | (iter % 5 == 0 ? A64_MODE_ALIGN : 0);
        if (iter % 7 != 0)
            mode |= A64_MODE_FP;
        translate(0, mode, w);
    }
}

/* One instruction followed by NOPs: does the block stop after it? */
static void ends_block_mode(uint32_t w, bool want_end, const char *name, uint32_t mode)
{
    g_page[0] = w;
    for (unsigned i = 1; i < 16; i++)
        g_page[i] = 0xd503201f; /* nop */
    g_page[16] = 0xd65f03c0;
    unsigned n = translate(0, mode, w);
    bool ended = n == 1;
    if (ended != want_end)
        fprintf(stderr, "%s (%08x): block of %u instructions\n", name, w, n);
    CHECK(ended == want_end);
}

static void ends_block(uint32_t w, bool want_end, const char *name)
{
    ends_block_mode(w, want_end, name, A64_MODE_EL1 | A64_MODE_FP);
}

static void block_ends(void)
{
    ends_block(0x14000010, true, "b");
    ends_block(0x94000010, true, "bl");
    ends_block(0x54000040, true, "b.eq");
    ends_block(0xb4000040, true, "cbz");
    ends_block(0x37000040, true, "tbnz");
    ends_block(0xd61f0020, true, "br x1");
    ends_block(0xd63f0020, true, "blr x1");
    ends_block(0xd65f03c0, true, "ret");
    ends_block(0xd69f03e0, true, "eret");
    ends_block(0xd4000001, true, "svc #0");
    ends_block(0xd4200000, true, "brk #0");
    ends_block(0xd4000002, true, "hvc #0");
    ends_block(0x00000000, true, "udf");
    ends_block(0xd5033fdf, true, "isb");
    ends_block(0xd503207f, true, "wfi");
    ends_block(0xd518c000, true, "msr vbar_el1, x0");
    ends_block(0xd50342df, true, "msr daifset, #2");
    ends_block(0xd508871f, true, "tlbi vmalle1");
    ends_block(0x1e204020, false, "fmov s0, s1");
    ends_block(0x4e083c00, false, "umov x0, v0.d[0]");
    ends_block(0x1e622820, false, "fadd d0, d1, d2");
    ends_block(0x1e211820, false, "fdiv s0, s1, s1");
    ends_block(0x1e614020, false, "fneg d0, d1");
    ends_block(0x9e670020, false, "fmov d0, x1");
    ends_block(0x1e260020, false, "fmov w0, s1");
    ends_block(0x9eaf0020, false, "fmov v0.d[1], x1");
    ends_block(0x1e602108, false, "fcmp d8, #0.0");
    ends_block(0x1e61c100, false, "fsqrt d0, d8");
    ends_block(0x1e222030, false, "fcmpe s1, s2");
    ends_block(0x3dc00020, false, "ldr q0, [x1]");
    ends_block(0xad7f0420, false, "ldp q0, q1, [x1, #-32]");
    ends_block(0x9c000040, false, "ldr q0, literal");
    ends_block(0x4cdf7020, false, "ld1 {v0.16b}, [x1], #16");
    ends_block(0x4d40c020, false, "ld1r {v0.16b}, [x1]");
    ends_block(0xd53b4400, false, "mrs x0, fpcr");
    /* CPACR_EL1.FPEN closed: every SIMD&FP instruction traps (EC 0x07) and ends the block. */
    ends_block_mode(0x1e204020, true, "fmov s0, s1 (FP trapped)", A64_MODE_EL1);
    ends_block_mode(0x1e622820, true, "fadd d0, d1, d2 (FP trapped)", A64_MODE_EL1);
    ends_block_mode(0x9e670020, true, "fmov d0, x1 (FP trapped)", 0);
    ends_block_mode(0x3dc00020, true, "ldr q0, [x1] (FP trapped)", A64_MODE_EL1);
    ends_block_mode(0x4cdf7020, true, "ld1 (FP trapped)", 0);
    ends_block_mode(0xd53b4400, true, "mrs x0, fpcr (FP trapped)", A64_MODE_EL1);
    ends_block_mode(0x8b020020, false, "add x0, x1, x2 (FP trapped)", A64_MODE_EL1);
    ends_block(0x8b020020, false, "add x0, x1, x2");
    ends_block(0xab020020, false, "adds x0, x1, x2");
    ends_block(0xf9400020, false, "ldr x0, [x1]");
    ends_block(0xa9bf7bfd, false, "stp x29, x30, [sp, #-16]!");
    ends_block(0xc85f7c20, false, "ldxr x0, [x1]");
    ends_block(0xf8200020, false, "ldadd x0, x0, [x1]");
    ends_block(0xd5033bbf, false, "dmb ish");
    ends_block(0xd53b4200, false, "mrs x0, nzcv");
    ends_block(0xd503201f, false, "nop");
    ends_block(0x9ac10c00, false, "sdiv x0, x0, x1");
    /* At EL0, ERET and HVC are UNDEFINED: an exception, still one instruction. */
    g_page[0] = 0xd69f03e0;
    CHECK_EQ(translate(0, 0, 0xd69f03e0), 1);
    /* A block stops at the end of its page. */
    for (unsigned i = 0; i < 1024; i++)
        g_page[i] = 0xd503201f;
    CHECK_EQ(translate(4096 - 8, A64_MODE_EL1, 0), 2);
    /* A misaligned pc: one PC alignment fault, which covers up to the next word. */
    VsCpu cpu;
    memset(&cpu, 0, sizeof(cpu));
    ir_reset(&g_f);
    unsigned n;
    uint64_t ppc2 = UINT64_MAX;
    CHECK_EQ(a64_translate(&cpu, &g_f, 0x40000002ull, A64_MODE_EL1, &n, &ppc2), 2);
    CHECK(ir_verify(&g_f, NULL, 0));
}

int main(void)
{
    ir_init(&g_f, &a64_globals);
    block_ends();
    random_words();
    ir_free(&g_f);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
