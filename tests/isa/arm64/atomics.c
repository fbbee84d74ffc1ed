/* SPDX-License-Identifier: MIT */
/* Exclusives (LDXR/STXR and pairs, acquire/release forms, CLREX), LDAR/STLR, and the LSE
 * atomics of every size: LDADD, LDCLR, LDEOR, LDSET, LD{S,U}{MAX,MIN}, SWP, CAS, CASP. */
#include "isa.h"

static uint64_t mem[8] __attribute__((aligned(64)));

static void reset(void)
{
    mem[0] = 0x8070605040302010ull;
    mem[1] = 0xfedcba9876543210ull;
    mem[2] = 0x00000000ffffff80ull;
    mem[3] = 0x7fffffff00000001ull;
}

static void dump(const char *name, uint64_t old)
{
    pr_str(name);
    putc_(' ');
    pr_hex(old);
    putc_(' ');
    pr_hex(mem[0]);
    putc_(' ');
    pr_hex(mem[1]);
    putc_('\n');
}

#define LSE_AT(name, insn, val, ptr)                                                   \
    do {                                                                               \
        uint64_t o;                                                                    \
        reset();                                                                       \
        __asm__ volatile(insn : "=&r"(o) : "r"((uint64_t)(val)), "r"(ptr) : "memory"); \
        dump(name, o);                                                                 \
    } while (0)
/* 8/16/32-bit operations at mem + 4, 64-bit ones at mem + 8. */
#define LSE(name, insn, val)   LSE_AT(name, insn, val, (uint8_t *)mem + 4)
#define LSE64(name, insn, val) LSE_AT(name, insn, val, (uint8_t *)mem + 8)

static void lse(void)
{
    static const uint64_t vals[] = { 0x1, 0x80, 0xff01, 0x7fffffff80000000ull,
                                     0x8000000000000001ull };
    for (unsigned i = 0; i < 5; i++) {
        uint64_t v = vals[i];
        pr("value", v);
        LSE("ldaddb", "ldaddb %w1, %w0, [%2]", v);
        LSE("ldaddh", "ldaddah %w1, %w0, [%2]", v);
        LSE("ldadd w", "ldaddl %w1, %w0, [%2]", v);
        LSE("ldclrb", "ldclrb %w1, %w0, [%2]", v);
        LSE("ldclr w", "ldclr %w1, %w0, [%2]", v);
        LSE("ldeorh", "ldeorh %w1, %w0, [%2]", v);
        LSE("ldseth", "ldsetlh %w1, %w0, [%2]", v);
        LSE("ldsmaxb", "ldsmaxb %w1, %w0, [%2]", v);
        LSE("ldsminh", "ldsminh %w1, %w0, [%2]", v);
        LSE("ldumaxb", "ldumaxb %w1, %w0, [%2]", v);
        LSE("lduminh", "lduminh %w1, %w0, [%2]", v);
        LSE("ldsmax w", "ldsmax %w1, %w0, [%2]", v);
        LSE("ldsmin w", "ldsminal %w1, %w0, [%2]", v);
        LSE("ldumax w", "ldumax %w1, %w0, [%2]", v);
        LSE("ldumin w", "ldumin %w1, %w0, [%2]", v);
        LSE("swpb", "swpb %w1, %w0, [%2]", v);
        LSE("swph", "swpah %w1, %w0, [%2]", v);
        LSE("swp w", "swp %w1, %w0, [%2]", v);
        LSE("casb", "mov %w0, #0x50\n casb %w0, %w1, [%2]", v);
        LSE("cash miss", "mov %w0, #0x50\n cash %w0, %w1, [%2]", v);
        LSE("cas w", "ldr %w0, [%2]\n casal %w0, %w1, [%2]", v);
        /* 64-bit: aligned at mem[1] */
        LSE64("ldadd x", "ldadd %1, %0, [%2]", v);
        LSE64("ldclr x", "ldclra %1, %0, [%2]", v);
        LSE64("ldeor x", "ldeor %1, %0, [%2]", v);
        LSE64("ldset x", "ldset %1, %0, [%2]", v);
        LSE64("ldsmax x", "ldsmax %1, %0, [%2]", v);
        LSE64("ldsmin x", "ldsmin %1, %0, [%2]", v);
        LSE64("ldumax x", "ldumax %1, %0, [%2]", v);
        LSE64("ldumin x", "ldumin %1, %0, [%2]", v);
        LSE64("swp x", "swpal %1, %0, [%2]", v);
        LSE64("cas x", "ldr %0, [%2]\n cas %0, %1, [%2]", v);
        LSE64("cas x miss", "mov %0, #1\n casl %0, %1, [%2]", v);
        LSE64("stadd x", "stadd %1, [%2]\n mov %0, #0", v);
        LSE("stsetb", "stsetb %w1, [%2]\n mov %0, #0", v);
    }
}

static void casp(void)
{
    register uint64_t x0 __asm__("x0"), x1 __asm__("x1"), x2 __asm__("x2"), x3 __asm__("x3");
    reset();
    x0 = mem[0];
    x1 = mem[1];
    x2 = 0x1111111111111111ull;
    x3 = 0x2222222222222222ull;
    __asm__ volatile("caspal x0, x1, x2, x3, [%4]"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                     : "r"(mem)
                     : "memory");
    {
        uint64_t r0 = x0, r1 = x1;
        dump("casp hit x0", r0);
        pr("casp hit x1", r1);
    }
    x0 = 5;
    x1 = 6;
    __asm__ volatile("casp x0, x1, x2, x3, [%4]"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                     : "r"(mem)
                     : "memory");
    {
        uint64_t r0 = x0, r1 = x1;
        dump("casp miss x0", r0);
        pr("casp miss x1", r1);
    }
    reset();
    x0 = (uint32_t)mem[1];
    x1 = mem[1] >> 32;
    x2 = 0xabcdef01;
    x3 = 0x12345678;
    __asm__ volatile("caspa w0, w1, w2, w3, [%4]"
                     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                     : "r"(&mem[1])
                     : "memory");
    {
        uint64_t r0 = x0, r1 = x1;
        dump("casp w x0", r0);
        pr("casp w x1", r1);
    }
}

static void exclusives(void)
{
    uint64_t v, s, a, b;
    reset();
    __asm__ volatile("ldxr %0, [%2]\n add %0, %0, #1\n stxr %w1, %0, [%2]"
                     : "=&r"(v), "=&r"(s)
                     : "r"(&mem[1])
                     : "memory");
    dump("ldxr/stxr", s);
    __asm__ volatile("ldaxr %w0, [%2]\n clrex\n stlxr %w1, %w0, [%2]"
                     : "=&r"(v), "=&r"(s)
                     : "r"(&mem[0])
                     : "memory");
    dump("clrex then stxr", s);
    __asm__ volatile("stxr %w1, %0, [%2]" : "=&r"(v), "=&r"(s) : "r"(&mem[0]) : "memory");
    dump("stxr without ldxr", s);
    __asm__ volatile("ldxrb %w0, [%2]\n eor %w0, %w0, #0xff\n stxrb %w1, %w0, [%2]"
                     : "=&r"(v), "=&r"(s)
                     : "r"((uint8_t *)mem + 3)
                     : "memory");
    dump("ldxrb/stxrb", s);
    __asm__ volatile("ldaxrh %w0, [%2]\n add %w0, %w0, #0x100\n stlxrh %w1, %w0, [%2]"
                     : "=&r"(v), "=&r"(s)
                     : "r"((uint8_t *)mem + 6)
                     : "memory");
    dump("ldxrh/stxrh", s);
    __asm__ volatile("ldxp %0, %1, [%3]\n add %0, %0, %1\n stxp %w2, %1, %0, [%3]"
                     : "=&r"(a), "=&r"(b), "=&r"(s)
                     : "r"(&mem[0])
                     : "memory");
    dump("ldxp/stxp x", s);
    pr("ldxp b", b);
    __asm__ volatile("ldaxp %w0, %w1, [%3]\n stlxp %w2, %w1, %w0, [%3]"
                     : "=&r"(a), "=&r"(b), "=&r"(s)
                     : "r"(&mem[1])
                     : "memory");
    dump("ldaxp/stlxp w", s);
    /* A store exclusive to another address than the monitored one fails. */
    __asm__ volatile("ldxr %0, [%2]\n stxr %w1, %0, [%3]"
                     : "=&r"(v), "=&r"(s)
                     : "r"(&mem[0]), "r"(&mem[1])
                     : "memory");
    dump("stxr other address", s);
    /* A retry loop as compilers emit it. */
    for (int i = 0; i < 10; i++)
        __asm__ volatile("1: ldaxr %0, [%2]\n add %0, %0, #3\n stlxr %w1, %0, [%2]\n"
                         "cbnz %w1, 1b"
                         : "=&r"(v), "=&r"(s)
                         : "r"(&mem[2])
                         : "memory");
    pr("loop", mem[2]);
}

static void acqrel(void)
{
    uint64_t a, b, c, d;
    reset();
    __asm__ volatile("ldar %0, [%4]\n ldarb %w1, [%5]\n ldarh %w2, [%6]\n ldar %w3, [%7]\n"
                     "stlr %0, [%8]\n stlrb %w0, [%5]\n stlrh %w0, [%6]\n"
                     "dmb ish\n dsb sy\n isb"
                     : "=&r"(a), "=&r"(b), "=&r"(c), "=&r"(d)
                     : "r"(&mem[1]), "r"((uint8_t *)mem + 1), "r"((uint8_t *)mem + 2),
                       "r"((uint8_t *)mem + 12), "r"(&mem[3])
                     : "memory");
    pr("ldar", a);
    pr("ldarb", b);
    pr("ldarh", c);
    pr("ldar w", d);
    dump("stlr", mem[3]);
}

static void align_faults(void)
{
    /* Exclusives need natural alignment; LDAR/STLR and LSE atomics may not cross 16 bytes
     * (QEMU's max CPU, the oracle here, has FEAT_LSE2). */
    uint64_t v = 0, s = 0;
    trap_expected = 1;
    __asm__ volatile("ldxr %0, [%1]" : "=r"(v) : "r"((uint8_t *)mem + 4) : "memory");
    pr("ldxr misaligned esr", ESR_NO_ISV(trap.esr));
    pr("ldxr misaligned far", trap.far - (uint64_t)mem);
    trap_expected = 1;
    __asm__ volatile("stlr %w0, [%1]" ::"r"(v), "r"((uint8_t *)mem + 14) : "memory");
    pr("stlr misaligned esr", ESR_NO_ISV(trap.esr));
    trap_expected = 1;
    __asm__ volatile("ldadd %1, %0, [%2]"
                     : "=r"(v)
                     : "r"(s), "r"((uint8_t *)mem + 8 + 4)
                     : "memory");
    pr("ldadd misaligned esr", ESR_NO_ISV(trap.esr) & ~(1ull << 6));
    pr("traps", trap.count);
}

int main(void)
{
    lse();
    casp();
    exclusives();
    acqrel();
    align_faults();
    return 0;
}
