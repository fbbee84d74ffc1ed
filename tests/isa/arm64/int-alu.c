/* SPDX-License-Identifier: MIT */
/* Integer data processing and NZCV: every operation over pairs of boundary values; one
 * line per operation with a hash of all its results and flags. */
#include "isa.h"

static const uint64_t vals[] = {
    0,
    1,
    2,
    0x7f,
    0x80,
    0xffff,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0x100000000,
    0x7fffffffffffffff,
    0x8000000000000000,
    0xffffffffffffffff,
    0x123456789abcdef0,
    0xfedcba9876543210,
    63,
    64,
    31,
    32,
    0xfffffffffffffffe,
};
#define NV (sizeof(vals) / sizeof(vals[0]))

static uint64_t h;
static void mix(uint64_t v)
{
    h = (h ^ v) * 0x100000001b3ull;
    h ^= h >> 29;
}

static void set_nzcv(uint64_t v)
{
    SYSREG_WRITE(nzcv, v);
}

#define BIN(name, insn)                                             \
    do {                                                            \
        h = 0;                                                      \
        for (unsigned i = 0; i < NV; i++)                           \
            for (unsigned j = 0; j < NV; j++)                       \
                for (unsigned c = 0; c < 2; c++) {                  \
                    uint64_t r, f;                                  \
                    set_nzcv(c ? 0x20000000 : 0xd0000000);          \
                    __asm__ volatile(insn "\n mrs %1, nzcv"         \
                                     : "=&r"(r), "=r"(f)            \
                                     : "r"(vals[i]), "r"(vals[j])); \
                    mix(r);                                         \
                    mix(f);                                         \
                }                                                   \
        pr(name, h);                                                \
    } while (0)

#define UN(name, insn)                                                                   \
    do {                                                                                 \
        h = 0;                                                                           \
        for (unsigned i = 0; i < NV; i++) {                                              \
            uint64_t r, f;                                                               \
            set_nzcv(0x60000000);                                                        \
            __asm__ volatile(insn "\n mrs %1, nzcv" : "=&r"(r), "=r"(f) : "r"(vals[i])); \
            mix(r);                                                                      \
            mix(f);                                                                      \
        }                                                                                \
        pr(name, h);                                                                     \
    } while (0)

static void conds(void)
{
    /* Every condition after a compare, through CSET (csinc) and through B.cond. */
#define COND(cc)                                                                               \
    do {                                                                                       \
        h = 0;                                                                                 \
        for (unsigned i = 0; i < NV; i++)                                                      \
            for (unsigned j = 0; j < NV; j++) {                                                \
                uint64_t r, b;                                                                 \
                __asm__ volatile("cmp %2, %3\n cset %0, " #cc "\n mov %1, #0\n b." #cc " 1f\n" \
                                 " mov %1, #1\n1:"                                             \
                                 : "=&r"(r), "=&r"(b)                                          \
                                 : "r"(vals[i]), "r"(vals[j]));                                \
                mix(r * 2 + b);                                                                \
                __asm__ volatile("cmp %w2, %w3\n cset %w0, " #cc "\n mov %1, #0\n b." #cc      \
                                 " 1f\n mov %1, #1\n1:"                                        \
                                 : "=&r"(r), "=&r"(b)                                          \
                                 : "r"(vals[i]), "r"(vals[j]));                                \
                mix(r * 2 + b);                                                                \
            }                                                                                  \
        pr("cond " #cc, h);                                                                    \
    } while (0)
    COND(eq);
    COND(ne);
    COND(cs);
    COND(cc);
    COND(mi);
    COND(pl);
    COND(vs);
    COND(vc);
    COND(hi);
    COND(ls);
    COND(ge);
    COND(lt);
    COND(gt);
    COND(le);
}

static void imms(void)
{
    uint64_t r[16];
    __asm__ volatile("movz %0, #0x1234, lsl #16\n"
                     "movk %0, #0xabcd, lsl #48\n"
                     "movn %1, #0x55, lsl #32\n"
                     "movn %w2, #0x55\n"
                     "mov %3, #0x5555555555555555\n"
                     "orr %w4, wzr, #0x3c3c3c3c\n"
                     "and %5, %3, #0xfff0000000000fff\n"
                     "eor %6, %3, #0x7ffffffe\n"
                     "adr %7, .\n"
                     "adrp %8, .\n"
                     "sub %7, %7, %8\n"
                     "mov %9, #-1\n"
                     "movk %w9, #0x7777, lsl #16\n"
                     : "=&r"(r[0]), "=&r"(r[1]), "=&r"(r[2]), "=&r"(r[3]), "=&r"(r[4]), "=&r"(r[5]),
                       "=&r"(r[6]), "=&r"(r[7]), "=&r"(r[8]), "=&r"(r[9]));
    pr("movz/movk", r[0]);
    pr("movn", r[1]);
    pr("movn w", r[2]);
    pr("mov bitmask", r[3]);
    pr("orr w imm", r[4]);
    pr("and imm", r[5]);
    pr("eor imm", r[6]);
    pr("adr-adrp <4k", r[7] < 4096);
    pr("movk w", r[9]);
}

static void bitfield(void)
{
    h = 0;
    for (unsigned i = 0; i < NV; i++) {
        uint64_t v = vals[i], d = 0x0123456789abcdefull, r[10];
        __asm__ volatile("ubfx %0, %10, #3, #17\n"
                         "sbfx %1, %10, #60, #4\n"
                         "ubfiz %2, %10, #40, #20\n"
                         "sbfiz %3, %10, #7, #31\n"
                         "mov %4, %11\n bfi %4, %10, #13, #22\n"
                         "mov %5, %11\n bfxil %5, %10, #9, #40\n"
                         "sxtb %6, %w10\n"
                         "uxth %w7, %w10\n"
                         "sbfx %w8, %w10, #5, #7\n"
                         "mov %9, %11\n bfi %w9, %w10, #28, #4\n"
                         : "=&r"(r[0]), "=&r"(r[1]), "=&r"(r[2]), "=&r"(r[3]), "=&r"(r[4]),
                           "=&r"(r[5]), "=&r"(r[6]), "=&r"(r[7]), "=&r"(r[8]), "=&r"(r[9])
                         : "r"(v), "r"(d));
        for (int k = 0; k < 10; k++)
            mix(r[k]);
        /* The aliases with a field at the top or the bottom (a translator may drop the
         * mask or the shift there), in both widths. */
        __asm__ volatile("lsr %0, %10, #13\n"
                         "lsr %w1, %w10, #31\n"
                         "lsl %2, %10, #7\n"
                         "lsl %w3, %w10, #29\n"
                         "asr %4, %10, #63\n"
                         "asr %w5, %w10, #3\n"
                         "uxtb %w6, %w10\n"
                         "sxth %7, %w10\n"
                         "sxtw %8, %w10\n"
                         "sxtb %w9, %w10\n"
                         : "=&r"(r[0]), "=&r"(r[1]), "=&r"(r[2]), "=&r"(r[3]), "=&r"(r[4]),
                           "=&r"(r[5]), "=&r"(r[6]), "=&r"(r[7]), "=&r"(r[8]), "=&r"(r[9])
                         : "r"(v));
        for (int k = 0; k < 10; k++)
            mix(r[k]);
        __asm__ volatile("ubfx %0, %5, #0, #12\n"
                         "ubfx %w1, %w5, #0, #31\n"
                         "sbfx %2, %5, #0, #40\n"
                         "lsr %w3, %w5, #0\n"
                         "lsl %4, %5, #0\n"
                         : "=&r"(r[0]), "=&r"(r[1]), "=&r"(r[2]), "=&r"(r[3]), "=&r"(r[4])
                         : "r"(v));
        for (int k = 0; k < 5; k++)
            mix(r[k]);
    }
    pr("bitfield", h);
}

static void crc(void)
{
    uint64_t a = 0xffffffff, b = 0xffffffff;
    for (unsigned i = 0; i < NV; i++) {
        __asm__ volatile("crc32b %w0, %w0, %w2\n crc32h %w0, %w0, %w2\n crc32w %w0, %w0, %w2\n"
                         "crc32x %w0, %w0, %2\n"
                         "crc32cb %w1, %w1, %w2\n crc32ch %w1, %w1, %w2\n"
                         "crc32cw %w1, %w1, %w2\n crc32cx %w1, %w1, %2\n"
                         : "+r"(a), "+r"(b)
                         : "r"(vals[i]));
    }
    pr("crc32", a);
    pr("crc32c", b);
}

int main(void)
{
    BIN("add", "add %0, %2, %3");
    BIN("adds", "adds %0, %2, %3");
    BIN("adds w", "adds %w0, %w2, %w3");
    BIN("subs", "subs %0, %2, %3");
    BIN("subs w", "subs %w0, %w2, %w3");
    BIN("adc", "adc %0, %2, %3");
    BIN("adcs", "adcs %0, %2, %3");
    BIN("adcs w", "adcs %w0, %w2, %w3");
    BIN("sbcs", "sbcs %0, %2, %3");
    BIN("sbcs w", "sbcs %w0, %w2, %w3");
    BIN("sbc w", "sbc %w0, %w2, %w3");
    BIN("cmn", "cmn %2, %3\n mov %0, #0");
    BIN("ands", "ands %0, %2, %3");
    BIN("ands w", "ands %w0, %w2, %w3");
    BIN("bics", "bics %0, %2, %3, lsl #7");
    BIN("orr shifted", "orr %0, %2, %3, asr #13");
    BIN("orn", "orn %0, %2, %3, ror #9");
    BIN("eon w", "eon %w0, %w2, %w3, lsr #3");
    BIN("eor w", "eor %w0, %w2, %w3, ror #31");
    BIN("add shifted", "add %0, %2, %3, lsl #12");
    BIN("subs asr", "subs %0, %2, %3, asr #63");
    BIN("adds w lsr", "adds %w0, %w2, %w3, lsr #31");
    BIN("add uxtb", "add %0, %2, %w3, uxtb #2");
    BIN("add sxth", "add %0, %2, %w3, sxth #1");
    BIN("adds sxtw", "adds %0, %2, %w3, sxtw #4");
    BIN("subs uxtx", "subs %0, %2, %3, uxtx #3");
    BIN("sub w sxtb", "sub %w0, %w2, %w3, sxtb");
    BIN("lslv", "lsl %0, %2, %3");
    BIN("lsrv", "lsr %0, %2, %3");
    BIN("asrv", "asr %0, %2, %3");
    BIN("rorv", "ror %0, %2, %3");
    BIN("lslv w", "lsl %w0, %w2, %w3");
    BIN("asrv w", "asr %w0, %w2, %w3");
    BIN("rorv w", "ror %w0, %w2, %w3");
    BIN("mul", "mul %0, %2, %3");
    BIN("madd", "madd %0, %2, %3, %2");
    BIN("msub w", "msub %w0, %w2, %w3, %w3");
    BIN("smaddl", "smaddl %0, %w2, %w3, %2");
    BIN("umsubl", "umsubl %0, %w2, %w3, %3");
    BIN("smulh", "smulh %0, %2, %3");
    BIN("umulh", "umulh %0, %2, %3");
    BIN("udiv", "udiv %0, %2, %3");
    BIN("sdiv", "sdiv %0, %2, %3");
    BIN("udiv w", "udiv %w0, %w2, %w3");
    BIN("sdiv w", "sdiv %w0, %w2, %w3");
    BIN("csel", "cmp %2, %3\n csel %0, %2, %3, lt");
    BIN("csinc", "cmp %2, %3\n csinc %0, %2, %3, hi");
    BIN("csinv w", "cmp %w2, %w3\n csinv %w0, %w2, %w3, ge");
    BIN("csneg", "cmp %2, %3\n csneg %0, %2, %3, vs");
    BIN("ccmp", "cmp %2, #5\n ccmp %2, %3, #0x5, ne\n mov %0, #0");
    BIN("ccmn imm", "cmp %2, %3\n ccmn %3, #7, #0xa, lt\n mov %0, #0");
    BIN("ccmp w", "tst %2, #1\n ccmp %w2, %w3, #0xf, eq\n mov %0, #0");
    BIN("extr", "extr %0, %2, %3, #23");
    BIN("extr w", "extr %w0, %w2, %w3, #5");
    BIN("ngcs", "ngcs %0, %2\n add %0, %0, %3");
    UN("clz", "clz %0, %2");
    UN("clz w", "clz %w0, %w2");
    UN("cls", "cls %0, %2");
    UN("cls w", "cls %w0, %w2");
    UN("rbit", "rbit %0, %2");
    UN("rbit w", "rbit %w0, %w2");
    UN("rev", "rev %0, %2");
    UN("rev w", "rev %w0, %w2");
    UN("rev16", "rev16 %0, %2");
    UN("rev16 w", "rev16 %w0, %w2");
    UN("rev32", "rev32 %0, %2");
    UN("neg", "negs %0, %2");
    UN("tst imm", "tst %2, #0x8000000000000001\n mov %0, #0");
    UN("adds imm", "adds %0, %2, #0xfff");
    UN("subs imm12", "subs %w0, %w2, #1, lsl #12");
    UN("cmp imm", "cmp %2, #1\n cset %0, hi");
    UN("mvn", "mvn %w0, %w2");
    conds();
    imms();
    bitfield();
    crc();
    return 0;
}
