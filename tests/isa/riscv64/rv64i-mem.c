/* SPDX-License-Identifier: MIT */
/*
 * rv64i-mem: every RV64I load and store width at every aligned offset of a pattern
 * buffer (sign/zero extension), positive/negative/max displacements, store-to-load
 * forwarding of partial widths, loads into x0, FENCE variants.
 */
#include "isa.h"

static u8 buf[64] __attribute__((aligned(64)));

static void fill(void)
{
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (u8)(0x80 + i * 7 + (i >> 3) * 0x31);
}

static void dump(const char *tag)
{
    pr("%s", tag);
    for (unsigned i = 0; i < 32; i += 8)
        pr(" %p", *(volatile u64 *)&buf[i]);
    pr("\n");
}

#define LD(insn)                                                        \
    static u64 ld_##insn(const void *p)                                 \
    {                                                                   \
        u64 r;                                                          \
        asm volatile(#insn " %0, 0(%1)" : "=r"(r) : "r"(p) : "memory"); \
        return r;                                                       \
    }
/* clang-format off */
LD(lb)
LD(lbu)
LD(lh)
LD(lhu)
LD(lw)
LD(lwu)
LD(ld)
/* clang-format on */
#define ST(insn)                                                      \
    static void st_##insn(void *p, u64 v)                             \
    {                                                                 \
        asm volatile(#insn " %1, 0(%0)" ::"r"(p), "r"(v) : "memory"); \
    }
/* clang-format off */
ST(sb)
ST(sh)
ST(sw)
ST(sd)
/* clang-format on */

static const struct {
    const char *name;
    u64 (*fn)(const void *);
    unsigned size;
} loads[] = {
    { "lb", ld_lb, 1 }, { "lbu", ld_lbu, 1 }, { "lh", ld_lh, 2 }, { "lhu", ld_lhu, 2 },
    { "lw", ld_lw, 4 }, { "lwu", ld_lwu, 4 }, { "ld", ld_ld, 8 },
};
static const struct {
    const char *name;
    void (*fn)(void *, u64);
    unsigned size;
} stores[] = {
    { "sb", st_sb, 1 },
    { "sh", st_sh, 2 },
    { "sw", st_sw, 4 },
    { "sd", st_sd, 8 },
};

static void displacements(void)
{
    u64 r0, r1, r2, r3;
    u8 *mid = &buf[32];
    fill();
    asm volatile("ld %0, -32(%4)\n ld %1, 24(%4)\n lbu %2, -1(%4)\n lh %3, 30(%4)"
                 : "=&r"(r0), "=&r"(r1), "=&r"(r2), "=&r"(r3)
                 : "r"(mid)
                 : "memory");
    pr("disp %p %p %p %p\n", r0, r1, r2, r3);
    /* +2047 / -2048 */
    static u8 big[4096 + 64] __attribute__((aligned(8)));
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (u8)(i ^ (i >> 8));
    u8 *c = &big[2048];
    asm volatile("lbu %0, 2047(%2)\n lbu %1, -2048(%2)" : "=&r"(r0), "=&r"(r1) : "r"(c) : "memory");
    pr("disp-max %p %p\n", r0, r1);
    asm volatile("sb %1, 2047(%0)\n sb %1, -2048(%0)" ::"r"(c), "r"(0x5a) : "memory");
    pr("disp-store %x %x %x\n", big[4095], big[0], big[1]);
}

static void forwarding(void)
{
    u64 r;
    /* store a doubleword then reload pieces; store bytes then reload the whole */
    asm volatile("sd %1, 0(%2)\n sb %3, 3(%2)\n sh %3, 6(%2)\n ld %0, 0(%2)"
                 : "=&r"(r)
                 : "r"(0x1122334455667788ul), "r"(buf), "r"(0xa5a5a5a5ul)
                 : "memory");
    pr("fwd1 %p\n", r);
    asm volatile("sw %1, 4(%2)\n lh %0, 6(%2)" : "=&r"(r) : "r"(0x8001fffful), "r"(buf) : "memory");
    pr("fwd2 %p\n", r);
    asm volatile("sd %1, 8(%2)\n lw %0, 12(%2)"
                 : "=&r"(r)
                 : "r"(0x80000000deadbeeful), "r"(buf)
                 : "memory");
    pr("fwd3 %p\n", r);
}

static void misc(void)
{
    u64 r;
    fill();
    /* load to x0 has no architectural effect (but is performed) */
    asm volatile("li %0, 77\n ld x0, 0(%1)\n lw x0, 4(%1)\n add %0, %0, x0"
                 : "=&r"(r)
                 : "r"(buf)
                 : "memory");
    pr("load-x0 %lu\n", r);
    /* base register == destination */
    u64 p = (u64)&buf[8];
    asm volatile("ld %0, 0(%0)" : "+r"(p)::"memory");
    pr("rd=rs1 %p\n", p);
    /* store of x0 */
    asm volatile("sd x0, 16(%0)\n sw x0, 24(%0)\n sh x0, 28(%0)\n sb x0, 30(%0)" ::"r"(buf)
                 : "memory");
    dump("store-x0");
    asm volatile("fence\n fence rw, rw\n fence r, r\n fence w, w\n fence iorw, iorw\n fence.tso\n"
                 "fence.i\n .word 0x0100000f /* pause hint */" ::
                     : "memory");
    pr("fences ok\n");
}

int main(void)
{
    pr("# rv64i-mem\n");
    fill();
    dump("init");
    for (unsigned k = 0; k < ARRAY_SIZE(loads); k++) {
        for (unsigned off = 0; off + loads[k].size <= 32; off += loads[k].size)
            pr("%s +%u %p\n", loads[k].name, off, loads[k].fn(&buf[off]));
    }
    static const u64 svals[] = { 0xfedcba9876543210ul, 0x0000000000000080ul, 0xffffffffffffff7ful };
    for (unsigned k = 0; k < ARRAY_SIZE(stores); k++)
        for (unsigned v = 0; v < ARRAY_SIZE(svals); v++)
            for (unsigned off = 0; off + stores[k].size <= 24; off += stores[k].size) {
                fill();
                stores[k].fn(&buf[off], svals[v]);
                pr("%s v%u +%u", stores[k].name, v, off);
                dump("");
            }
    displacements();
    forwarding();
    misc();
    return 0;
}
