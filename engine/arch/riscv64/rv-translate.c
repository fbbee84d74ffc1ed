/* SPDX-License-Identifier: MIT */
/*
 * RISC-V64 frontend: guest instructions -> IR, one block at a time.
 * RV64IMAFDC, Zicsr, Zifencei, Zba, Zbb. Compressed instructions are expanded to their
 * 32-bit equivalents first, so each operation has one translation.
 */
#include <stddef.h>
#include <string.h>

#include "arch/riscv64/rv-cpu.h"
#include "arch/riscv64/rv-fpu.h"
#include "arch/riscv64/rv-internal.h"

#define MAX_BLOCK_INSNS 64
#define MAX_BLOCK_TEMPS 800

typedef struct Ctx {
    VsCpu *cpu;
    IrFunc *f;
    uint64_t pc;   /* this instruction */
    unsigned len;  /* 2 or 4 */
    uint32_t insn; /* 32-bit form (expanded if compressed) */
    uint32_t raw;  /* the bits as fetched (for tval) */
    unsigned priv;
    unsigned dmmu;
    bool fs_on;
    bool fs_dirty; /* FS already marked dirty in this block */
    bool end;      /* the instruction ended the block */
} Ctx;

/* ---- operand helpers ---- */

static IrVal X(Ctx *c, unsigned r)
{
    return r == 0 ? ir_const(c->f, IR_I64, 0) : ir_global(c->f, RV_G_X(r));
}

static IrVal F(Ctx *c, unsigned r)
{
    return ir_global(c->f, RV_G_F(r));
}

static IrVal K(Ctx *c, uint64_t v)
{
    return ir_const(c->f, IR_I64, v);
}

static void set_x(Ctx *c, unsigned rd, IrVal v)
{
    if (rd != 0)
        ir_mov(c->f, ir_global(c->f, RV_G_X(rd)), v);
}

/* rd = a OP b, written straight into the register (one op). */
static void bin_to(Ctx *c, IrOpcode opc, unsigned rd, IrVal a, IrVal b)
{
    if (rd == 0)
        return;
    ir_emit(c->f, opc, IR_I64, 0, ir_global(c->f, RV_G_X(rd)), a, b, IR_NONE, 0);
}

static void un_to(Ctx *c, IrOpcode opc, unsigned rd, IrVal a)
{
    if (rd == 0)
        return;
    ir_emit(c->f, opc, IR_I64, 0, ir_global(c->f, RV_G_X(rd)), a, IR_NONE, IR_NONE, 0);
}

/* 32-bit op, result sign-extended into rd (the *W instructions). */
static void binw_to(Ctx *c, IrOpcode opc, unsigned rd, IrVal a, IrVal b)
{
    if (rd == 0)
        return;
    IrVal t = ir_binop(c->f, opc, IR_I32, a, b);
    un_to(c, IR_OP_SEXT32, rd, t);
}

static void set_f(Ctx *c, unsigned rd, IrVal v)
{
    ir_mov(c->f, F(c, rd), v);
}

static uint16_t memflags(Ctx *c, unsigned log2, bool sign, bool align)
{
    return IR_MEMFLAGS(log2, sign, align, c->dmmu);
}

static void raise_exc(Ctx *c, uint64_t cause, uint64_t tval)
{
    ir_call2(c->f, &rv_helper_raise, false, K(c, cause), K(c, tval));
    ir_exit(c->f, IR_EXIT_NORMAL); /* not reached */
    c->end = true;
}

static bool illegal(Ctx *c)
{
    raise_exc(c, RV_EXC_ILLEGAL_INSN, rv_illegal_tval(c->raw));
    return true;
}

static void goto_pc(Ctx *c, uint64_t target)
{
    ir_goto_block(c->f, target);
    c->end = true;
}

/* End the block after this instruction, returning to the vCPU loop. */
static void exit_next(Ctx *c, IrExitCode code)
{
    ir_mov(c->f, ir_global(c->f, RV_G_PC), K(c, c->pc + c->len));
    ir_exit(c->f, code);
    c->end = true;
}

static void mark_fs_dirty(Ctx *c)
{
    if (c->fs_dirty)
        return;
    IrVal ms = ir_global(c->f, RV_G_MSTATUS);
    ir_emit(c->f, IR_OP_OR, IR_I64, 0, ms, ms, K(c, RV_MSTATUS_FS | RV_MSTATUS_SD), IR_NONE, 0);
    c->fs_dirty = true;
}

static inline int64_t sext(uint64_t v, unsigned bits)
{
    return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

#define BITS(v, hi, lo) (((v) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))

/* ---- immediates ---- */

static int64_t imm_i(uint32_t i)
{
    return (int32_t)i >> 20;
}
static int64_t imm_s(uint32_t i)
{
    return sext((BITS(i, 31, 25) << 5) | BITS(i, 11, 7), 12);
}
static int64_t imm_b(uint32_t i)
{
    return sext((BITS(i, 31, 31) << 12) | (BITS(i, 7, 7) << 11) | (BITS(i, 30, 25) << 5) |
                    (BITS(i, 11, 8) << 1),
                13);
}
static int64_t imm_u(uint32_t i)
{
    return (int32_t)(i & 0xfffff000u);
}
static int64_t imm_j(uint32_t i)
{
    return sext((BITS(i, 31, 31) << 20) | (BITS(i, 19, 12) << 12) | (BITS(i, 20, 20) << 11) |
                    (BITS(i, 30, 21) << 1),
                21);
}

/* ---- compressed expansion (RVC for RV64) ---- */

static uint32_t enc_i(unsigned op, unsigned rd, unsigned f3, unsigned rs1, int32_t imm)
{
    return ((uint32_t)(imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
}
static uint32_t enc_s(unsigned op, unsigned f3, unsigned rs1, unsigned rs2, int32_t imm)
{
    return ((uint32_t)((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
           ((uint32_t)(imm & 0x1f) << 7) | op;
}
static uint32_t enc_r(unsigned op, unsigned rd, unsigned f3, unsigned rs1, unsigned rs2,
                      unsigned f7)
{
    return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op;
}
static uint32_t enc_b(unsigned f3, unsigned rs1, unsigned rs2, int32_t imm)
{
    uint32_t u = (uint32_t)imm;
    return (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) |
           (f3 << 12) | (((u >> 1) & 0xf) << 8) | (((u >> 11) & 1) << 7) | 0x63;
}
static uint32_t enc_j(unsigned rd, int32_t imm)
{
    uint32_t u = (uint32_t)imm;
    return (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3ff) << 21) | (((u >> 11) & 1) << 20) |
           (((u >> 12) & 0xff) << 12) | (rd << 7) | 0x6f;
}

/* Returns the 32-bit equivalent, or 0 for an illegal/reserved encoding. */
static uint32_t rvc_expand(uint16_t i)
{
    unsigned op = i & 3, f3 = (i >> 13) & 7;
    unsigned rd = (i >> 7) & 31, rs2 = (i >> 2) & 31;
    unsigned rdp = 8 + ((i >> 2) & 7), rs1p = 8 + ((i >> 7) & 7);
    switch (op) {
    case 0:
        switch (f3) {
        case 0: { /* c.addi4spn */
            uint32_t nz = (BITS(i, 10, 7) << 6) | (BITS(i, 12, 11) << 4) | (BITS(i, 5, 5) << 3) |
                          (BITS(i, 6, 6) << 2);
            if (!nz)
                return 0;
            return enc_i(0x13, rdp, 0, 2, (int32_t)nz);
        }
        case 1: /* c.fld */
            return enc_i(0x07, rdp, 3, rs1p,
                         (int32_t)((BITS(i, 12, 10) << 3) | (BITS(i, 6, 5) << 6)));
        case 2: /* c.lw */
            return enc_i(
                0x03, rdp, 2, rs1p,
                (int32_t)((BITS(i, 12, 10) << 3) | (BITS(i, 6, 6) << 2) | (BITS(i, 5, 5) << 6)));
        case 3: /* c.ld */
            return enc_i(0x03, rdp, 3, rs1p,
                         (int32_t)((BITS(i, 12, 10) << 3) | (BITS(i, 6, 5) << 6)));
        case 5: /* c.fsd */
            return enc_s(0x27, 3, rs1p, rdp,
                         (int32_t)((BITS(i, 12, 10) << 3) | (BITS(i, 6, 5) << 6)));
        case 6: /* c.sw */
            return enc_s(
                0x23, 2, rs1p, rdp,
                (int32_t)((BITS(i, 12, 10) << 3) | (BITS(i, 6, 6) << 2) | (BITS(i, 5, 5) << 6)));
        case 7: /* c.sd */
            return enc_s(0x23, 3, rs1p, rdp,
                         (int32_t)((BITS(i, 12, 10) << 3) | (BITS(i, 6, 5) << 6)));
        default: return 0;
        }
    case 1: {
        int32_t imm6 = (int32_t)sext((BITS(i, 12, 12) << 5) | BITS(i, 6, 2), 6);
        switch (f3) {
        case 0: /* c.addi / c.nop */ return enc_i(0x13, rd, 0, rd, imm6);
        case 1: /* c.addiw */
            if (rd == 0)
                return 0;
            return enc_i(0x1b, rd, 0, rd, imm6);
        case 2: /* c.li */ return enc_i(0x13, rd, 0, 0, imm6);
        case 3:
            if (rd == 2) { /* c.addi16sp */
                int32_t nz = (int32_t)sext((BITS(i, 12, 12) << 9) | (BITS(i, 4, 3) << 7) |
                                               (BITS(i, 5, 5) << 6) | (BITS(i, 2, 2) << 5) |
                                               (BITS(i, 6, 6) << 4),
                                           10);
                if (!nz)
                    return 0;
                return enc_i(0x13, 2, 0, 2, nz);
            }
            if (imm6 == 0) /* c.lui with nzimm = 0 is reserved */
                return 0;
            return ((uint32_t)(imm6 & 0xfffff) << 12) | (rd << 7) | 0x37;
        case 4: {
            unsigned f2 = BITS(i, 11, 10);
            unsigned sh = (BITS(i, 12, 12) << 5) | BITS(i, 6, 2);
            switch (f2) {
            case 0: /* c.srli */ return enc_i(0x13, rs1p, 5, rs1p, (int32_t)sh);
            case 1: /* c.srai */ return enc_i(0x13, rs1p, 5, rs1p, (int32_t)(sh | 0x400));
            case 2: /* c.andi */ return enc_i(0x13, rs1p, 7, rs1p, imm6);
            default: {
                unsigned rs2p = 8 + ((i >> 2) & 7);
                unsigned f = (BITS(i, 12, 12) << 2) | BITS(i, 6, 5);
                switch (f) {
                case 0: return enc_r(0x33, rs1p, 0, rs1p, rs2p, 0x20); /* c.sub */
                case 1: return enc_r(0x33, rs1p, 4, rs1p, rs2p, 0);    /* c.xor */
                case 2: return enc_r(0x33, rs1p, 6, rs1p, rs2p, 0);    /* c.or */
                case 3: return enc_r(0x33, rs1p, 7, rs1p, rs2p, 0);    /* c.and */
                case 4: return enc_r(0x3b, rs1p, 0, rs1p, rs2p, 0x20); /* c.subw */
                case 5: return enc_r(0x3b, rs1p, 0, rs1p, rs2p, 0);    /* c.addw */
                default: return 0;
                }
            }
            }
        }
        case 5: { /* c.j */
            int32_t off = (int32_t)sext((BITS(i, 12, 12) << 11) | (BITS(i, 8, 8) << 10) |
                                            (BITS(i, 10, 9) << 8) | (BITS(i, 6, 6) << 7) |
                                            (BITS(i, 7, 7) << 6) | (BITS(i, 2, 2) << 5) |
                                            (BITS(i, 11, 11) << 4) | (BITS(i, 5, 3) << 1),
                                        12);
            return enc_j(0, off);
        }
        default: { /* c.beqz / c.bnez */
            int32_t off =
                (int32_t)sext((BITS(i, 12, 12) << 8) | (BITS(i, 6, 5) << 6) | (BITS(i, 2, 2) << 5) |
                                  (BITS(i, 11, 10) << 3) | (BITS(i, 4, 3) << 1),
                              9);
            return enc_b(f3 == 6 ? 0 : 1, rs1p, 0, off);
        }
        }
    }
    case 2: {
        unsigned sh = (BITS(i, 12, 12) << 5) | BITS(i, 6, 2);
        switch (f3) {
        case 0: /* c.slli */ return enc_i(0x13, rd, 1, rd, (int32_t)sh);
        case 1: /* c.fldsp */
            return enc_i(
                0x07, rd, 3, 2,
                (int32_t)((BITS(i, 12, 12) << 5) | (BITS(i, 6, 5) << 3) | (BITS(i, 4, 2) << 6)));
        case 2: /* c.lwsp */
            if (rd == 0)
                return 0;
            return enc_i(
                0x03, rd, 2, 2,
                (int32_t)((BITS(i, 12, 12) << 5) | (BITS(i, 6, 4) << 2) | (BITS(i, 3, 2) << 6)));
        case 3: /* c.ldsp */
            if (rd == 0)
                return 0;
            return enc_i(
                0x03, rd, 3, 2,
                (int32_t)((BITS(i, 12, 12) << 5) | (BITS(i, 6, 5) << 3) | (BITS(i, 4, 2) << 6)));
        case 4:
            if (!BITS(i, 12, 12)) {
                if (rs2 == 0) { /* c.jr */
                    if (rd == 0)
                        return 0;
                    return enc_i(0x67, 0, 0, rd, 0);
                }
                return enc_r(0x33, rd, 0, 0, rs2, 0); /* c.mv */
            }
            if (rs2 == 0) {
                if (rd == 0)
                    return 0x00100073;           /* c.ebreak */
                return enc_i(0x67, 1, 0, rd, 0); /* c.jalr */
            }
            return enc_r(0x33, rd, 0, rd, rs2, 0); /* c.add */
        case 5:                                    /* c.fsdsp */
            return enc_s(0x27, 3, 2, rs2, (int32_t)((BITS(i, 12, 10) << 3) | (BITS(i, 9, 7) << 6)));
        case 6: /* c.swsp */
            return enc_s(0x23, 2, 2, rs2, (int32_t)((BITS(i, 12, 9) << 2) | (BITS(i, 8, 7) << 6)));
        default: /* c.sdsp */
            return enc_s(0x23, 3, 2, rs2, (int32_t)((BITS(i, 12, 10) << 3) | (BITS(i, 9, 7) << 6)));
        }
    }
    default: return 0;
    }
}

/* ---- instruction groups ---- */

static bool tr_branch(Ctx *c, uint32_t i)
{
    static const IrCond conds[8] = { IR_EQ, IR_NE, IR_COND_COUNT, IR_COND_COUNT,
                                     IR_LT, IR_GE, IR_LTU,        IR_GEU };
    unsigned f3 = BITS(i, 14, 12);
    if (conds[f3] == IR_COND_COUNT)
        return illegal(c);
    unsigned taken = ir_new_label(c->f);
    ir_brcond(c->f, IR_I64, conds[f3], X(c, BITS(i, 19, 15)), X(c, BITS(i, 24, 20)), taken);
    ir_goto_block(c->f, c->pc + c->len);
    ir_label(c->f, taken);
    goto_pc(c, c->pc + (uint64_t)imm_b(i));
    return true;
}

static bool tr_load(Ctx *c, uint32_t i)
{
    unsigned f3 = BITS(i, 14, 12);
    if (f3 == 7)
        return illegal(c);
    unsigned log2 = f3 & 3;
    bool sign = !(f3 & 4) && log2 != 3;
    unsigned rd = BITS(i, 11, 7);
    IrVal v = ir_load(c->f, IR_I64, memflags(c, log2, sign, false), X(c, BITS(i, 19, 15)),
                      (int32_t)imm_i(i));
    set_x(c, rd, v);
    return true;
}

static bool tr_store(Ctx *c, uint32_t i)
{
    unsigned f3 = BITS(i, 14, 12);
    if (f3 > 3)
        return illegal(c);
    ir_store(c->f, memflags(c, f3, false, false), X(c, BITS(i, 19, 15)), (int32_t)imm_s(i),
             X(c, BITS(i, 24, 20)));
    return true;
}

static bool tr_op_imm(Ctx *c, uint32_t i)
{
    unsigned rd = BITS(i, 11, 7), rs1 = BITS(i, 19, 15), f3 = BITS(i, 14, 12);
    int64_t imm = imm_i(i);
    IrVal a = X(c, rs1);
    unsigned sh = BITS(i, 25, 20), f6 = BITS(i, 31, 26);
    switch (f3) {
    case 0: bin_to(c, IR_OP_ADD, rd, a, K(c, (uint64_t)imm)); return true;
    case 2: set_x(c, rd, ir_setcond(c->f, IR_I64, IR_LT, a, K(c, (uint64_t)imm))); return true;
    case 3: set_x(c, rd, ir_setcond(c->f, IR_I64, IR_LTU, a, K(c, (uint64_t)imm))); return true;
    case 4: bin_to(c, IR_OP_XOR, rd, a, K(c, (uint64_t)imm)); return true;
    case 6: bin_to(c, IR_OP_OR, rd, a, K(c, (uint64_t)imm)); return true;
    case 7: bin_to(c, IR_OP_AND, rd, a, K(c, (uint64_t)imm)); return true;
    case 1:
        if (f6 == 0) {
            bin_to(c, IR_OP_SHL, rd, a, K(c, sh));
            return true;
        }
        if (BITS(i, 31, 20) == 0x600) {
            un_to(c, IR_OP_CLZ, rd, a);
            return true;
        }
        if (BITS(i, 31, 20) == 0x601) {
            un_to(c, IR_OP_CTZ, rd, a);
            return true;
        }
        if (BITS(i, 31, 20) == 0x602) {
            un_to(c, IR_OP_POPCNT, rd, a);
            return true;
        }
        if (BITS(i, 31, 20) == 0x604) {
            un_to(c, IR_OP_SEXT8, rd, a);
            return true;
        }
        if (BITS(i, 31, 20) == 0x605) {
            un_to(c, IR_OP_SEXT16, rd, a);
            return true;
        }
        return illegal(c);
    case 5:
        if (f6 == 0) {
            bin_to(c, IR_OP_SHR, rd, a, K(c, sh));
            return true;
        }
        if (f6 == 0x10) {
            bin_to(c, IR_OP_SAR, rd, a, K(c, sh));
            return true;
        }
        if (f6 == 0x18) {
            bin_to(c, IR_OP_ROTR, rd, a, K(c, sh));
            return true;
        }                               /* rori */
        if (BITS(i, 31, 20) == 0x287) { /* orc.b */
            if (rd)
                set_x(c, rd, ir_call1(c->f, &rv_helper_orc_b, true, a));
            return true;
        }
        if (BITS(i, 31, 20) == 0x6b8) {
            un_to(c, IR_OP_BSWAP, rd, a);
            return true;
        } /* rev8 */
        return illegal(c);
    }
    return illegal(c);
}

static bool tr_op_imm32(Ctx *c, uint32_t i)
{
    unsigned rd = BITS(i, 11, 7), rs1 = BITS(i, 19, 15), f3 = BITS(i, 14, 12);
    unsigned f7 = BITS(i, 31, 25), sh = BITS(i, 24, 20);
    IrVal a = X(c, rs1);
    switch (f3) {
    case 0: binw_to(c, IR_OP_ADD, rd, a, K(c, (uint64_t)imm_i(i))); return true;
    case 1:
        if (f7 == 0) {
            binw_to(c, IR_OP_SHL, rd, a, K(c, sh));
            return true;
        }
        if (BITS(i, 31, 26) == 0x02) { /* slli.uw */
            if (rd) {
                IrVal z = ir_unop(c->f, IR_OP_ZEXT32, IR_I64, a);
                bin_to(c, IR_OP_SHL, rd, z, K(c, BITS(i, 25, 20)));
            }
            return true;
        }
        if (BITS(i, 31, 20) == 0x600) { /* clzw */
            if (rd)
                set_x(c, rd, ir_unop(c->f, IR_OP_CLZ, IR_I32, a));
            return true;
        }
        if (BITS(i, 31, 20) == 0x601) {
            if (rd)
                set_x(c, rd, ir_unop(c->f, IR_OP_CTZ, IR_I32, a));
            return true;
        }
        if (BITS(i, 31, 20) == 0x602) {
            if (rd)
                set_x(c, rd, ir_unop(c->f, IR_OP_POPCNT, IR_I32, a));
            return true;
        }
        return illegal(c);
    case 5:
        if (f7 == 0) {
            binw_to(c, IR_OP_SHR, rd, a, K(c, sh));
            return true;
        }
        if (f7 == 0x20) {
            binw_to(c, IR_OP_SAR, rd, a, K(c, sh));
            return true;
        }
        if (f7 == 0x30) {
            binw_to(c, IR_OP_ROTR, rd, a, K(c, sh));
            return true;
        } /* roriw */
        return illegal(c);
    }
    return illegal(c);
}

static bool tr_op(Ctx *c, uint32_t i)
{
    unsigned rd = BITS(i, 11, 7), f3 = BITS(i, 14, 12), f7 = BITS(i, 31, 25);
    IrVal a = X(c, BITS(i, 19, 15)), b = X(c, BITS(i, 24, 20));
    switch (f7) {
    case 0x00: {
        static const IrOpcode ops[8] = { IR_OP_ADD, IR_OP_SHL, IR_OP_NOP, IR_OP_NOP,
                                         IR_OP_XOR, IR_OP_SHR, IR_OP_OR,  IR_OP_AND };
        if (f3 == 2) {
            set_x(c, rd, ir_setcond(c->f, IR_I64, IR_LT, a, b));
            return true;
        }
        if (f3 == 3) {
            set_x(c, rd, ir_setcond(c->f, IR_I64, IR_LTU, a, b));
            return true;
        }
        bin_to(c, ops[f3], rd, a, b);
        return true;
    }
    case 0x20:
        switch (f3) {
        case 0: bin_to(c, IR_OP_SUB, rd, a, b); return true;
        case 5: bin_to(c, IR_OP_SAR, rd, a, b); return true;
        case 4: /* xnor */
            if (rd)
                un_to(c, IR_OP_NOT, rd, ir_binop(c->f, IR_OP_XOR, IR_I64, a, b));
            return true;
        case 6: bin_to(c, IR_OP_ORC, rd, a, b); return true;  /* orn */
        case 7: bin_to(c, IR_OP_ANDC, rd, a, b); return true; /* andn */
        }
        return illegal(c);
    case 0x01: {
        static const IrOpcode ops[8] = { IR_OP_MUL, IR_OP_MULSH, IR_OP_MULSUH, IR_OP_MULUH,
                                         IR_OP_DIV, IR_OP_DIVU,  IR_OP_REM,    IR_OP_REMU };
        bin_to(c, ops[f3], rd, a, b);
        return true;
    }
    case 0x10: /* sh1add, sh2add, sh3add */
        if (f3 == 2 || f3 == 4 || f3 == 6) {
            if (rd)
                bin_to(c, IR_OP_ADD, rd, ir_binop(c->f, IR_OP_SHL, IR_I64, a, K(c, f3 / 2)), b);
            return true;
        }
        return illegal(c);
    case 0x05: /* min, minu, max, maxu */
        switch (f3) {
        case 4: bin_to(c, IR_OP_SMIN, rd, a, b); return true;
        case 5: bin_to(c, IR_OP_UMIN, rd, a, b); return true;
        case 6: bin_to(c, IR_OP_SMAX, rd, a, b); return true;
        case 7: bin_to(c, IR_OP_UMAX, rd, a, b); return true;
        }
        return illegal(c);
    case 0x30: /* rol, ror */
        if (f3 == 1) {
            bin_to(c, IR_OP_ROTL, rd, a, b);
            return true;
        }
        if (f3 == 5) {
            bin_to(c, IR_OP_ROTR, rd, a, b);
            return true;
        }
        return illegal(c);
    }
    return illegal(c);
}

static bool tr_op32(Ctx *c, uint32_t i)
{
    unsigned rd = BITS(i, 11, 7), f3 = BITS(i, 14, 12), f7 = BITS(i, 31, 25);
    unsigned rs2 = BITS(i, 24, 20);
    IrVal a = X(c, BITS(i, 19, 15)), b = X(c, rs2);
    switch (f7) {
    case 0x00:
        if (f3 == 0) {
            binw_to(c, IR_OP_ADD, rd, a, b);
            return true;
        }
        if (f3 == 1) {
            binw_to(c, IR_OP_SHL, rd, a, b);
            return true;
        }
        if (f3 == 5) {
            binw_to(c, IR_OP_SHR, rd, a, b);
            return true;
        }
        return illegal(c);
    case 0x20:
        if (f3 == 0) {
            binw_to(c, IR_OP_SUB, rd, a, b);
            return true;
        }
        if (f3 == 5) {
            binw_to(c, IR_OP_SAR, rd, a, b);
            return true;
        }
        return illegal(c);
    case 0x01: {
        static const IrOpcode ops[8] = { IR_OP_MUL, IR_OP_NOP,  IR_OP_NOP, IR_OP_NOP,
                                         IR_OP_DIV, IR_OP_DIVU, IR_OP_REM, IR_OP_REMU };
        if (ops[f3] == IR_OP_NOP)
            return illegal(c);
        binw_to(c, ops[f3], rd, a, b);
        return true;
    }
    case 0x04:
        if (f3 == 0) { /* add.uw */
            if (rd)
                bin_to(c, IR_OP_ADD, rd, ir_unop(c->f, IR_OP_ZEXT32, IR_I64, a), b);
            return true;
        }
        if (f3 == 4 && rs2 == 0) { /* zext.h */
            un_to(c, IR_OP_ZEXT16, rd, a);
            return true;
        }
        return illegal(c);
    case 0x10: /* shNadd.uw */
        if (f3 == 2 || f3 == 4 || f3 == 6) {
            if (rd) {
                IrVal z = ir_unop(c->f, IR_OP_ZEXT32, IR_I64, a);
                bin_to(c, IR_OP_ADD, rd, ir_binop(c->f, IR_OP_SHL, IR_I64, z, K(c, f3 / 2)), b);
            }
            return true;
        }
        return illegal(c);
    case 0x30:
        if (f3 == 1) {
            binw_to(c, IR_OP_ROTL, rd, a, b);
            return true;
        }
        if (f3 == 5) {
            binw_to(c, IR_OP_ROTR, rd, a, b);
            return true;
        }
        return illegal(c);
    }
    return illegal(c);
}

static bool tr_amo(Ctx *c, uint32_t i)
{
    unsigned f3 = BITS(i, 14, 12), f5 = BITS(i, 31, 27);
    unsigned rd = BITS(i, 11, 7), rs1 = BITS(i, 19, 15), rs2 = BITS(i, 24, 20);
    if (f3 != 2 && f3 != 3)
        return illegal(c);
    bool w = f3 == 2;
    unsigned log2 = w ? 2 : 3;
    IrVal addr = X(c, rs1);
    IrVal res_addr = ir_global(c->f, RV_G_RES_ADDR), res_val = ir_global(c->f, RV_G_RES_VAL);
    IrType t = w ? IR_I32 : IR_I64;
    switch (f5) {
    case 0x02: { /* lr */
        if (rs2 != 0)
            return illegal(c);
        IrVal a = ir_temp(c->f, IR_I64);
        ir_mov(c->f, a, addr);
        IrVal v = ir_load(c->f, IR_I64, memflags(c, log2, true, true), a, 0);
        ir_mov(c->f, res_addr, a);
        ir_mov(c->f, res_val, v);
        set_x(c, rd, v);
        return true;
    }
    case 0x03: { /* sc */
        unsigned fail = ir_new_label(c->f), done = ir_new_label(c->f);
        IrVal a = ir_temp(c->f, IR_I64);
        ir_mov(c->f, a, addr);
        ir_brcond(c->f, IR_I64, IR_NE, res_addr, a, fail);
        IrVal old = ir_cmpxchg(c->f, t, memflags(c, log2, false, true), a, res_val, X(c, rs2));
        set_x(c, rd, ir_setcond(c->f, t, IR_NE, old, res_val));
        ir_br(c->f, done);
        ir_label(c->f, fail);
        set_x(c, rd, K(c, 1));
        ir_label(c->f, done);
        ir_mov(c->f, res_addr, K(c, ~0ull));
        return true;
    }
    default: {
        IrAtomicOp op;
        switch (f5) {
        case 0x01: op = IR_AMO_XCHG; break;
        case 0x00: op = IR_AMO_ADD; break;
        case 0x04: op = IR_AMO_XOR; break;
        case 0x0c: op = IR_AMO_AND; break;
        case 0x08: op = IR_AMO_OR; break;
        case 0x10: op = IR_AMO_SMIN; break;
        case 0x14: op = IR_AMO_SMAX; break;
        case 0x18: op = IR_AMO_UMIN; break;
        case 0x1c: op = IR_AMO_UMAX; break;
        default: return illegal(c);
        }
        IrVal old = ir_atomic_rmw(c->f, t, memflags(c, log2, false, true), op, addr, X(c, rs2));
        if (w)
            un_to(c, IR_OP_SEXT32, rd, old);
        else
            set_x(c, rd, old);
        return true;
    }
    }
}

/* ---- floating point ---- */

static bool fp_ok(Ctx *c)
{
    if (!c->fs_on) {
        illegal(c);
        return false;
    }
    return true;
}

/* A reserved static rm is illegal at translation time; the dynamic mode is checked when
 * the instruction runs, so the exception carries the instruction bits like any other. */
static bool rm_ok(Ctx *c, unsigned rm)
{
    if (rm == 5 || rm == 6) {
        illegal(c);
        return false;
    }
    if (rm == 7) {
        unsigned ok = ir_new_label(c->f);
        ir_brcond(c->f, IR_I64, IR_LTU, ir_global(c->f, RV_G_FRM), K(c, 5), ok);
        ir_call2(c->f, &rv_helper_raise, false, K(c, RV_EXC_ILLEGAL_INSN),
                 K(c, rv_illegal_tval(c->raw)));
        ir_label(c->f, ok);
    }
    return true;
}

static bool tr_fload(Ctx *c, uint32_t i)
{
    unsigned f3 = BITS(i, 14, 12);
    if (f3 != 2 && f3 != 3)
        return illegal(c);
    if (!fp_ok(c))
        return true;
    IrVal v = ir_load(c->f, IR_I64, memflags(c, f3, false, false), X(c, BITS(i, 19, 15)),
                      (int32_t)imm_i(i));
    mark_fs_dirty(c);
    if (f3 == 2)
        v = ir_binop(c->f, IR_OP_OR, IR_I64, v, K(c, 0xffffffff00000000ull));
    set_f(c, BITS(i, 11, 7), v);
    return true;
}

static bool tr_fstore(Ctx *c, uint32_t i)
{
    unsigned f3 = BITS(i, 14, 12);
    if (f3 != 2 && f3 != 3)
        return illegal(c);
    if (!fp_ok(c))
        return true;
    ir_store(c->f, memflags(c, f3, false, false), X(c, BITS(i, 19, 15)), (int32_t)imm_s(i),
             F(c, BITS(i, 24, 20)));
    return true;
}

static bool tr_fma(Ctx *c, uint32_t i, unsigned which)
{
    static const IrHelper *const hs[2][4] = {
        { &rv_helper_fmadd_s, &rv_helper_fmsub_s, &rv_helper_fnmsub_s, &rv_helper_fnmadd_s },
        { &rv_helper_fmadd_d, &rv_helper_fmsub_d, &rv_helper_fnmsub_d, &rv_helper_fnmadd_d }
    };
    unsigned fmt = BITS(i, 26, 25), rm = BITS(i, 14, 12);
    if (fmt > 1)
        return illegal(c);
    if (!fp_ok(c) || !rm_ok(c, rm))
        return true;
    mark_fs_dirty(c);
    IrVal r = ir_call4(c->f, hs[fmt][which], true, F(c, BITS(i, 19, 15)), F(c, BITS(i, 24, 20)),
                       F(c, BITS(i, 31, 27)), K(c, rm));
    set_f(c, BITS(i, 11, 7), r);
    return true;
}

static bool tr_fp(Ctx *c, uint32_t i)
{
    unsigned f7 = BITS(i, 31, 25), rm = BITS(i, 14, 12);
    unsigned rd = BITS(i, 11, 7), rs1 = BITS(i, 19, 15), rs2 = BITS(i, 24, 20);
    bool d = f7 & 1;
    if (!fp_ok(c))
        return true;
#define H(s_, d_) (d ? &rv_helper_##d_ : &rv_helper_##s_)
    const IrHelper *h = NULL;
    switch (f7 >> 2) {
    case 0x00: h = H(fadd_s, fadd_d); goto arith;
    case 0x01: h = H(fsub_s, fsub_d); goto arith;
    case 0x02: h = H(fmul_s, fmul_d); goto arith;
    case 0x03:
        h = H(fdiv_s, fdiv_d);
    arith:
        if ((f7 & 2) || !rm_ok(c, rm))
            return (f7 & 2) ? illegal(c) : true;
        mark_fs_dirty(c);
        set_f(c, rd, ir_call3(c->f, h, true, F(c, rs1), F(c, rs2), K(c, rm)));
        return true;
    case 0x0b: /* fsqrt */
        if ((f7 & 2) || rs2 != 0)
            return illegal(c);
        if (!rm_ok(c, rm))
            return true;
        mark_fs_dirty(c);
        set_f(c, rd, ir_call2(c->f, H(fsqrt_s, fsqrt_d), true, F(c, rs1), K(c, rm)));
        return true;
    case 0x04: /* fsgnj */
        if (f7 & 2)
            return illegal(c);
        if (rm == 0)
            h = H(fsgnj_s, fsgnj_d);
        else if (rm == 1)
            h = H(fsgnjn_s, fsgnjn_d);
        else if (rm == 2)
            h = H(fsgnjx_s, fsgnjx_d);
        else
            return illegal(c);
        mark_fs_dirty(c);
        set_f(c, rd, ir_call2(c->f, h, true, F(c, rs1), F(c, rs2)));
        return true;
    case 0x05: /* fmin/fmax */
        if ((f7 & 2) || rm > 1)
            return illegal(c);
        mark_fs_dirty(c);
        h = rm == 0 ? H(fmin_s, fmin_d) : H(fmax_s, fmax_d);
        set_f(c, rd, ir_call2(c->f, h, true, F(c, rs1), F(c, rs2)));
        return true;
    case 0x08: /* fcvt.s.d / fcvt.d.s */
        if ((f7 & 2) || !rm_ok(c, rm))
            return (f7 & 2) ? illegal(c) : true;
        if (!d && rs2 == 1)
            h = &rv_helper_fcvt_s_d;
        else if (d && rs2 == 0)
            h = &rv_helper_fcvt_d_s;
        else
            return illegal(c);
        mark_fs_dirty(c);
        set_f(c, rd, ir_call2(c->f, h, true, F(c, rs1), K(c, rm)));
        return true;
    case 0x14: /* compare */
        if (f7 & 2)
            return illegal(c);
        if (rm == 2)
            h = H(feq_s, feq_d);
        else if (rm == 1)
            h = H(flt_s, flt_d);
        else if (rm == 0)
            h = H(fle_s, fle_d);
        else
            return illegal(c);
        mark_fs_dirty(c); /* may set fflags */
        {
            IrVal r = ir_call2(c->f, h, true, F(c, rs1), F(c, rs2));
            set_x(c, rd, r);
        }
        return true;
    case 0x18: { /* fcvt.int.fp */
        static const IrHelper *const cv[2][4] = { { &rv_helper_fcvt_w_s, &rv_helper_fcvt_wu_s,
                                                    &rv_helper_fcvt_l_s, &rv_helper_fcvt_lu_s },
                                                  { &rv_helper_fcvt_w_d, &rv_helper_fcvt_wu_d,
                                                    &rv_helper_fcvt_l_d, &rv_helper_fcvt_lu_d } };
        if ((f7 & 2) || rs2 > 3)
            return illegal(c);
        if (!rm_ok(c, rm))
            return true;
        mark_fs_dirty(c);
        IrVal r = ir_call2(c->f, cv[d][rs2], true, F(c, rs1), K(c, rm));
        set_x(c, rd, r);
        return true;
    }
    case 0x1a: { /* fcvt.fp.int */
        static const IrHelper *const cv[2][4] = { { &rv_helper_fcvt_s_w, &rv_helper_fcvt_s_wu,
                                                    &rv_helper_fcvt_s_l, &rv_helper_fcvt_s_lu },
                                                  { &rv_helper_fcvt_d_w, &rv_helper_fcvt_d_wu,
                                                    &rv_helper_fcvt_d_l, &rv_helper_fcvt_d_lu } };
        if ((f7 & 2) || rs2 > 3)
            return illegal(c);
        if (!rm_ok(c, rm))
            return true;
        mark_fs_dirty(c);
        set_f(c, rd, ir_call2(c->f, cv[d][rs2], true, X(c, rs1), K(c, rm)));
        return true;
    }
    case 0x1c: /* fmv.x.w/d, fclass */
        if ((f7 & 2) || rs2 != 0)
            return illegal(c);
        if (rm == 0) {
            if (d)
                set_x(c, rd, F(c, rs1));
            else
                un_to(c, IR_OP_SEXT32, rd, F(c, rs1));
            return true;
        }
        if (rm == 1) {
            set_x(c, rd, ir_call1(c->f, H(fclass_s, fclass_d), true, F(c, rs1)));
            return true;
        }
        return illegal(c);
    case 0x1e: /* fmv.w.x / fmv.d.x */
        if ((f7 & 2) || rs2 != 0 || rm != 0)
            return illegal(c);
        mark_fs_dirty(c);
        if (d)
            set_f(c, rd, X(c, rs1));
        else
            set_f(c, rd, ir_binop(c->f, IR_OP_OR, IR_I64, X(c, rs1), K(c, 0xffffffff00000000ull)));
        return true;
    }
#undef H
    return illegal(c);
}

/* ---- system ---- */

static bool tr_system(Ctx *c, uint32_t i)
{
    unsigned f3 = BITS(i, 14, 12), rd = BITS(i, 11, 7), rs1 = BITS(i, 19, 15);
    unsigned csr = BITS(i, 31, 20);
    if (f3 == 0) {
        if (rd != 0)
            return illegal(c);
        if (i == 0x00000073) { /* ecall */
            raise_exc(c,
                      c->priv == RV_PRV_U   ? RV_EXC_ECALL_U
                      : c->priv == RV_PRV_S ? RV_EXC_ECALL_S
                                            : RV_EXC_ECALL_M,
                      0);
            return true;
        }
        if (i == 0x00100073) {                  /* ebreak */
            raise_exc(c, RV_EXC_BREAKPOINT, 0); /* QEMU 7.2 reports tval 0 */
            return true;
        }
        if (i == 0x30200073) { /* mret */
            if (c->priv != RV_PRV_M)
                return illegal(c);
            IrVal pc = ir_call0(c->f, &rv_helper_mret, true);
            ir_mov(c->f, ir_global(c->f, RV_G_PC), pc);
            ir_exit(c->f, IR_EXIT_NORMAL);
            c->end = true;
            return true;
        }
        if (i == 0x10200073) { /* sret */
            if (c->priv == RV_PRV_U)
                return illegal(c);
            IrVal pc = ir_call0(c->f, &rv_helper_sret, true);
            ir_mov(c->f, ir_global(c->f, RV_G_PC), pc);
            ir_exit(c->f, IR_EXIT_NORMAL);
            c->end = true;
            return true;
        }
        if (i == 0x10500073) { /* wfi */
            if (c->priv == RV_PRV_U)
                return illegal(c);
            ir_call0(c->f, &rv_helper_wfi, false);
            exit_next(c, IR_EXIT_HALT);
            return true;
        }
        if (BITS(i, 31, 25) == 0x09) { /* sfence.vma */
            if (c->priv == RV_PRV_U)
                return illegal(c);
            ir_call3(c->f, &rv_helper_sfence_vma, false, X(c, rs1), K(c, rs1 != 0), K(c, i));
            exit_next(c, IR_EXIT_NORMAL);
            return true;
        }
        return illegal(c);
    }
    if (f3 == 4)
        return illegal(c);
    /* CSR access. op: 1 = write, 2 = set, 3 = clear; reads are skipped for csrrw rd=x0,
     * writes are skipped for csrrs/c with a zero source. */
    unsigned op = f3 & 3;
    bool imm = f3 & 4;
    IrVal src = imm ? K(c, rs1) : X(c, rs1);
    bool do_write = op == 1 || rs1 != 0;
    bool do_read = op != 1 || rd != 0;
    uint64_t flags =
        (do_read ? RV_CSR_READ : 0) | (do_write ? RV_CSR_WRITE : 0) | op | ((uint64_t)c->raw << 32);
    IrVal old = ir_call3(c->f, &rv_helper_csr, true, K(c, csr), src, K(c, flags));
    set_x(c, rd, old);
    /* A write may change the privilege, the MMU, the translation mode or the pending
     * interrupts: back to the vCPU loop. fflags, frm and fcsr change none of these (the
     * dynamic rounding mode is read when an instruction runs, FS stays on), so the block
     * goes on: FP code saves and restores fflags around quiet compares (frflags/fsflags). */
    if (do_write && !(csr >= 0x001 && csr <= 0x003))
        exit_next(c, IR_EXIT_NORMAL);
    return true;
}

static bool tr_insn(Ctx *c, uint32_t i)
{
    unsigned rd = BITS(i, 11, 7);
    switch (i & 0x7f) {
    case 0x37: /* lui */ set_x(c, rd, K(c, (uint64_t)imm_u(i))); return true;
    case 0x17: /* auipc */ set_x(c, rd, K(c, c->pc + (uint64_t)imm_u(i))); return true;
    case 0x6f: /* jal */
        set_x(c, rd, K(c, c->pc + c->len));
        goto_pc(c, c->pc + (uint64_t)imm_j(i));
        return true;
    case 0x67: { /* jalr */
        if (BITS(i, 14, 12) != 0)
            return illegal(c);
        IrVal t =
            ir_binop(c->f, IR_OP_ADD, IR_I64, X(c, BITS(i, 19, 15)), K(c, (uint64_t)imm_i(i)));
        t = ir_binop(c->f, IR_OP_AND, IR_I64, t, K(c, ~1ull));
        set_x(c, rd, K(c, c->pc + c->len));
        ir_goto_ptr(c->f, t);
        c->end = true;
        return true;
    }
    case 0x63: return tr_branch(c, i);
    case 0x03: return tr_load(c, i);
    case 0x23: return tr_store(c, i);
    case 0x13: return tr_op_imm(c, i);
    case 0x1b: return tr_op_imm32(c, i);
    case 0x33: return tr_op(c, i);
    case 0x3b: return tr_op32(c, i);
    case 0x0f: /* fence, fence.i */
        if (BITS(i, 14, 12) == 0) {
            ir_fence(c->f, IR_FENCE_FULL);
            return true;
        }
        if (BITS(i, 14, 12) == 1) {
            exit_next(c, IR_EXIT_FLUSH);
            return true;
        }
        return illegal(c);
    case 0x2f: return tr_amo(c, i);
    case 0x07: return tr_fload(c, i);
    case 0x27: return tr_fstore(c, i);
    case 0x43: return tr_fma(c, i, 0);
    case 0x47: return tr_fma(c, i, 1);
    case 0x4b: return tr_fma(c, i, 2);
    case 0x4f: return tr_fma(c, i, 3);
    case 0x53: return tr_fp(c, i);
    case 0x73: return tr_system(c, i);
    default: return illegal(c);
    }
}

unsigned rv_translate(VsCpu *cpu, IrFunc *f, uint64_t vpc, uint32_t mode, unsigned *ninsns,
                      uint64_t *ppc2)
{
    Ctx c = { .cpu = cpu, .f = f };
    c.priv = mode & RV_MODE_PRV_MASK;
    c.dmmu = (mode & RV_MODE_DMMU_MASK) >> RV_MODE_DMMU_SHIFT;
    c.fs_on = mode & RV_MODE_FS_ON;
    unsigned code_idx = rv_code_mmu_idx(mode);
    uint8_t *host;
    mmu_translate_code(cpu, vpc, code_idx, &host);
    const uint64_t page_end = (vpc | (GUEST_PAGE_SIZE - 1)) + 1;
    uint64_t pc = vpc;
    unsigned n = 0;

    for (;;) {
        if (n >= MAX_BLOCK_INSNS || f->ntemps > MAX_BLOCK_TEMPS) {
            ir_goto_block(f, pc);
            break;
        }
        const uint8_t *p = host + (pc - vpc);
        uint16_t lo;
        memcpy(&lo, p, 2);
        uint32_t raw;
        unsigned len;
        if ((lo & 3) == 3) {
            len = 4;
            uint16_t hi;
            if (pc + 2 >= page_end) {
                /* The instruction crosses into the next page: only as a block of its own. */
                if (n > 0) {
                    ir_goto_block(f, pc);
                    break;
                }
                uint8_t *host2;
                uint64_t p2 = mmu_translate_code(cpu, page_end, code_idx, &host2);
                memcpy(&hi, host2, 2);
                *ppc2 = p2 & GUEST_PAGE_MASK;
            } else {
                memcpy(&hi, p + 2, 2);
            }
            raw = lo | ((uint32_t)hi << 16);
        } else {
            len = 2;
            raw = lo;
        }
        c.pc = pc;
        c.len = len;
        c.raw = raw;
        c.insn = len == 4 ? raw : rvc_expand((uint16_t)raw);
        ir_insn_start(f, pc);
        n++;
        if (c.insn == 0)
            illegal(&c);
        else
            tr_insn(&c, c.insn);
        pc += len;
        if (c.end)
            break;
        if (pc >= page_end || *ppc2 != UINT64_MAX) {
            ir_goto_block(f, pc);
            break;
        }
    }
    *ninsns = n;
    return (unsigned)(pc - vpc);
}
