/* SPDX-License-Identifier: MIT */
/*
 * rv64c: every RV64C instruction written explicitly with its c.* mnemonic (so the
 * assembler cannot pick the 32-bit form), immediates at their encoding limits,
 * register-register ops over an operand sweep, stack-pointer relative loads/stores,
 * compressed control transfer (link = pc + 2), HINT encodings (must be no-ops),
 * reserved encodings (illegal instruction) and c.ebreak.
 */
#include "isa.h"

static const u64 vals[] = {
    0,
    1,
    0xfffffffffffffffful,
    0x7ffffffful,
    0x80000000ul,
    0xfffffffful,
    0x100000000ul,
    0x7ffffffffffffffful,
    0x8000000000000000ul,
    0x0123456789abcdeful,
    0xfedcba9876543210ul,
};
#define NV ARRAY_SIZE(vals)

#define CRR(id, insn)                                                       \
    static u64 id(u64 a, u64 b)                                             \
    {                                                                       \
        u64 r;                                                              \
        asm volatile(".option push\n .option rvc\n"                         \
                     "mv a0, %1\n mv a1, %2\n" insn " a0, a1\n mv %0, a0\n" \
                     ".option pop"                                          \
                     : "=r"(r)                                              \
                     : "r"(a), "r"(b)                                       \
                     : "a0", "a1");                                         \
        return r;                                                           \
    }
/* clang-format off */
CRR(c_add, "c.add")
CRR(c_sub, "c.sub")
CRR(c_xor, "c.xor")
CRR(c_or, "c.or")
CRR(c_and, "c.and")
CRR(c_addw, "c.addw")
CRR(c_subw, "c.subw")
CRR(c_mv, "c.mv")
/* clang-format on */

static const struct {
    const char *name;
    u64 (*fn)(u64, u64);
} rr[] = {
    { "c.add", c_add }, { "c.sub", c_sub },   { "c.xor", c_xor },   { "c.or", c_or },
    { "c.and", c_and }, { "c.addw", c_addw }, { "c.subw", c_subw }, { "c.mv", c_mv },
};

/* register-immediate forms, imm must be a literal */
#define CRI(id, insn, imm)                                            \
    static u64 id(u64 a)                                              \
    {                                                                 \
        u64 r;                                                        \
        asm volatile(".option push\n .option rvc\n"                   \
                     "mv a0, %1\n" insn " a0, " #imm "\n mv %0, a0\n" \
                     ".option pop"                                    \
                     : "=r"(r)                                        \
                     : "r"(a)                                         \
                     : "a0");                                         \
        return r;                                                     \
    }
/* clang-format off */
CRI(c_addi_1, "c.addi", 1)
CRI(c_addi_m1, "c.addi", -1)
CRI(c_addi_31, "c.addi", 31)
CRI(c_addi_m32, "c.addi", -32)
CRI(c_addiw_0, "c.addiw", 0)
CRI(c_addiw_1, "c.addiw", 1)
CRI(c_addiw_m1, "c.addiw", -1)
CRI(c_addiw_31, "c.addiw", 31)
CRI(c_addiw_m32, "c.addiw", -32)
CRI(c_li_0, "c.li", 0)
CRI(c_li_31, "c.li", 31)
CRI(c_li_m32, "c.li", -32)
CRI(c_lui_1, "c.lui", 1)
CRI(c_lui_31, "c.lui", 31)
CRI(c_lui_m32, "c.lui", 0xfffe0)
CRI(c_lui_m1, "c.lui", 0xfffff)
CRI(c_slli_1, "c.slli", 1)
CRI(c_slli_31, "c.slli", 31)
CRI(c_slli_32, "c.slli", 32)
CRI(c_slli_63, "c.slli", 63)
CRI(c_srli_1, "c.srli", 1)
CRI(c_srli_31, "c.srli", 31)
CRI(c_srli_32, "c.srli", 32)
CRI(c_srli_63, "c.srli", 63)
CRI(c_srai_1, "c.srai", 1)
CRI(c_srai_31, "c.srai", 31)
CRI(c_srai_32, "c.srai", 32)
CRI(c_srai_63, "c.srai", 63)
CRI(c_andi_0, "c.andi", 0)
CRI(c_andi_31, "c.andi", 31)
CRI(c_andi_m32, "c.andi", -32)
CRI(c_andi_m1, "c.andi", -1)
/* clang-format on */

static const struct {
    const char *name;
    u64 (*fn)(u64);
} ri[] = {
#define E(insn, id, imm) { insn " " imm, id },
    /* clang-format off */
E("c.addi", c_addi_1, "1")
E("c.addi", c_addi_m1, "-1")
E("c.addi", c_addi_31, "31")
E("c.addi", c_addi_m32, "-32")
E("c.addiw", c_addiw_0, "0")
E("c.addiw", c_addiw_1, "1")
E("c.addiw", c_addiw_m1, "-1")
E("c.addiw", c_addiw_31, "31")
E("c.addiw", c_addiw_m32, "-32")
E("c.li", c_li_0, "0")
E("c.li", c_li_31, "31")
E("c.li", c_li_m32, "-32")
E("c.lui", c_lui_1, "1")
E("c.lui", c_lui_31, "31")
E("c.lui", c_lui_m32, "0xfffe0")
E("c.lui", c_lui_m1, "0xfffff")
E("c.slli", c_slli_1, "1")
E("c.slli", c_slli_31, "31")
E("c.slli", c_slli_32, "32")
E("c.slli", c_slli_63, "63")
E("c.srli", c_srli_1, "1")
E("c.srli", c_srli_31, "31")
E("c.srli", c_srli_32, "32")
E("c.srli", c_srli_63, "63")
E("c.srai", c_srai_1, "1")
E("c.srai", c_srai_31, "31")
E("c.srai", c_srai_32, "32")
E("c.srai", c_srai_63, "63")
E("c.andi", c_andi_0, "0")
E("c.andi", c_andi_31, "31")
E("c.andi", c_andi_m32, "-32")
E("c.andi", c_andi_m1, "-1")
/* clang-format on */
#undef E
};

static u64 mem[40] __attribute__((aligned(16)));

static void loads_stores(void)
{
    for (unsigned i = 0; i < ARRAY_SIZE(mem); i++)
        mem[i] = 0x8070605040302010ul + i * 0x0101010101010101ul;
    u64 r0, r1, r2, r3;
    /* c.lw/c.ld with the largest offsets (124 / 248) */
    asm volatile(".option push\n .option rvc\n"
                 "mv a1, %4\n"
                 "c.lw a0, 0(a1)\n mv %0, a0\n"
                 "c.lw a0, 124(a1)\n mv %1, a0\n"
                 "c.ld a0, 8(a1)\n mv %2, a0\n"
                 "c.ld a0, 248(a1)\n mv %3, a0\n"
                 ".option pop"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(mem)
                 : "a0", "a1", "memory");
    pr("c.lw/c.ld %p %p %p %p\n", r0, r1, r2, r3);
    asm volatile(".option push\n .option rvc\n"
                 "mv a1, %0\n li a0, -2\n"
                 "c.sw a0, 4(a1)\n c.sw a0, 124(a1)\n"
                 "li a0, 0x55\n c.sd a0, 16(a1)\n c.sd a0, 248(a1)\n"
                 ".option pop" ::"r"(mem)
                 : "a0", "a1", "memory");
    pr("c.sw/c.sd %p %p %p %p\n", mem[0], mem[15], mem[2], mem[31]);
    /* FP: c.fld / c.fsd */
    asm volatile(".option push\n .option rvc\n"
                 "mv a1, %1\n"
                 "c.fld fa0, 24(a1)\n c.fsd fa0, 32(a1)\n c.fld fa1, 248(a1)\n c.fsd fa1, 40(a1)\n"
                 "fmv.x.d %0, fa0\n"
                 ".option pop"
                 : "=r"(r0)
                 : "r"(mem)
                 : "a1", "fa0", "fa1", "memory");
    pr("c.fld/c.fsd %p %p %p\n", r0, mem[4], mem[5]);
    /* sp-relative forms on a private stack frame */
    asm volatile(".option push\n .option rvc\n"
                 "mv t0, sp\n"
                 "mv sp, %4\n"
                 "c.lwsp a0, 0(sp)\n mv %0, a0\n"
                 "c.lwsp a2, 252(sp)\n mv %1, a2\n"
                 "c.ldsp a3, 8(sp)\n mv %2, a3\n"
                 "c.ldsp s1, 256(sp)\n mv %3, s1\n"
                 "mv sp, t0\n"
                 ".option pop"
                 : "=&r"(r0), "=&r"(r1), "=&r"(r2), "=&r"(r3)
                 : "r"(mem)
                 : "t0", "a0", "a2", "a3", "s1", "memory");
    pr("c.lwsp/c.ldsp %p %p %p %p\n", r0, r1, r2, r3);
    asm volatile(".option push\n .option rvc\n"
                 "mv t0, sp\n mv sp, %0\n li a0, 0x1234\n li a4, -3\n"
                 "c.swsp a0, 252(sp)\n c.sdsp a4, 8(sp)\n c.sdsp a0, 304(sp)\n"
                 "c.fldsp ft3, 8(sp)\n c.fsdsp ft3, 16(sp)\n c.fsdsp ft3, 296(sp)\n"
                 "mv sp, t0\n"
                 ".option pop" ::"r"(mem)
                 : "t0", "a0", "a4", "ft3", "memory");
    pr("c.swsp/c.sdsp/c.fldsp/c.fsdsp %p %p %p %p %p\n", mem[31], mem[1], mem[38], mem[2], mem[37]);
}

static void sp_adjust(void)
{
    u64 d16, d4;
    asm volatile(".option push\n .option rvc\n"
                 "mv t0, sp\n"
                 "c.addi16sp sp, -512\n c.addi16sp sp, 496\n c.addi16sp sp, 16\n"
                 "c.addi16sp sp, 32\n"
                 "sub %0, sp, t0\n"
                 "mv sp, t0\n"
                 "c.addi4spn a0, sp, 4\n sub a0, a0, sp\n"
                 "c.addi4spn a1, sp, 1020\n sub a1, a1, sp\n"
                 "slli a1, a1, 16\n or %1, a0, a1\n"
                 ".option pop"
                 : "=&r"(d16), "=&r"(d4)::"t0", "a0", "a1");
    pr("c.addi16sp net %ld c.addi4spn %lx\n", (i64)d16, d4);
}

static void control(void)
{
    u64 r, link;
    asm volatile(".option push\n .option rvc\n"
                 "li %0, 0\n"
                 "c.j 1f\n"
                 "li %0, 99\n"
                 "1: addi %0, %0, 1\n"
                 ".option pop"
                 : "=&r"(r));
    pr("c.j %lu\n", r);
    for (u64 v = 0; v < 3; v++) {
        u64 t1, t2;
        asm volatile(".option push\n .option rvc\n"
                     "mv a0, %2\n li %0, 0\n li %1, 0\n"
                     "c.beqz a0, 1f\n li %0, 1\n"
                     "1: c.bnez a0, 2f\n li %1, 1\n"
                     "2:\n"
                     ".option pop"
                     : "=&r"(t1), "=&r"(t2)
                     : "r"(v)
                     : "a0");
        pr("c.beqz/c.bnez %lu fallthrough %lu %lu\n", v, t1, t2);
    }
    /* backward compressed branches */
    asm volatile(".option push\n .option rvc\n"
                 "li a0, 5\n li %0, 0\n"
                 "1: addi %0, %0, 3\n c.addi a0, -1\n c.bnez a0, 1b\n"
                 ".option pop"
                 : "=&r"(r)::"a0");
    pr("c.bnez loop %lu\n", r);
    /* c.jalr: link = pc + 2 */
    asm volatile(".option push\n .option rvc\n"
                 "mv t2, ra\n"
                 "la a1, 2f\n"
                 "1: c.jalr a1\n"
                 "c.nop\n"
                 "2: la a2, 1b\n sub %0, ra, a2\n"
                 "mv ra, t2\n"
                 ".option pop"
                 : "=r"(link)::"a1", "a2", "t2", "ra");
    pr("c.jalr link-pc %ld\n", (i64)link);
    asm volatile(".option push\n .option rvc\n"
                 "la a1, 2f\n li %0, 1\n"
                 "c.jr a1\n"
                 "li %0, 2\n"
                 "2: addi %0, %0, 10\n"
                 ".option pop"
                 : "=&r"(r)::"a1");
    pr("c.jr %lu\n", r);
}

static void hints(void)
{
    /* encodings that are HINTs in RV64C: must not change any register */
    u64 a0v, a1v, x;
    asm volatile(".option push\n .option rvc\n"
                 "li a0, 0x11\n li a1, 0x22\n"
                 ".hword 0x0001\n" /* c.nop */
                 ".hword 0x0005\n" /* c.nop with imm=1 (HINT) */
                 ".hword 0x0501\n" /* c.addi a0, 0 (HINT) */
                 ".hword 0x4005\n" /* c.li x0, 1 (HINT) */
                 ".hword 0x802e\n" /* c.mv x0, a1 (HINT) */
                 ".hword 0x902e\n" /* c.add x0, a1 (HINT) */
                 ".hword 0x0006\n" /* c.slli x0, 1 (HINT) */
                 ".hword 0x0502\n" /* c.slli a0, 0 (c.slli64 HINT on RV64) */
                 "mv %0, a0\n mv %1, a1\n mv %2, x0\n"
                 ".option pop"
                 : "=r"(a0v), "=r"(a1v), "=r"(x)::"a0", "a1");
    pr("hints a0=%lx a1=%lx x0=%lx\n", a0v, a1v, x);
}

static void reserved(void)
{
    static const struct {
        const char *name;
        u16 insn;
    } enc[] = {
        { "c.illegal 0x0000", 0x0000 }, { "c.addi4spn imm=0", 0x0004 }, { "c.jr x0", 0x8002 },
        { "c.lui a0,0", 0x6501 },       { "c.addi16sp 0", 0x6101 },     { "c.lwsp x0", 0x4002 },
        { "c.ldsp x0", 0x6002 },        { "c.addiw x0", 0x2005 },
    };
    static u16 buf[8] __attribute__((aligned(4)));
    g_expect = 1;
    for (unsigned i = 0; i < ARRAY_SIZE(enc); i++) {
        /* run the encoding from a small RAM buffer: insn; ret (c.jr ra) */
        buf[0] = enc[i].insn;
        buf[1] = 0x8082; /* c.jr ra */
        asm volatile("fence.i" ::: "memory");
        trap_reset();
        ((void (*)(void))(u64)buf)();
        trap_print(enc[i].name, (u64)buf);
    }
    trap_reset();
    asm volatile(".option push\n .option rvc\n c.ebreak\n .option pop");
    trap_print("c.ebreak", 0);
    g_expect = 0;
}

int main(void)
{
    pr("# rv64c\n");
    for (unsigned i = 0; i < NV; i++)
        pr("val %u %p\n", i, vals[i]);
    for (unsigned k = 0; k < ARRAY_SIZE(rr); k++)
        for (unsigned i = 0; i < NV; i++)
            for (unsigned j = 0; j < NV; j++)
                pr("%s %u %u %p\n", rr[k].name, i, j, rr[k].fn(vals[i], vals[j]));
    for (unsigned k = 0; k < ARRAY_SIZE(ri); k++)
        for (unsigned i = 0; i < NV; i++)
            pr("%s %u %p\n", ri[k].name, i, ri[k].fn(vals[i]));
    loads_stores();
    sp_adjust();
    control();
    hints();
    reserved();
    return 0;
}
