/* SPDX-License-Identifier: MIT */
/*
 * A64 frontend: guest instructions -> IR, one block at a time (Arm ARM DDI 0487, section C4
 * "A64 Instruction Set Encoding"; the groups below follow its top-level table).
 * Base integer ISA of ARMv8.0 plus LSE atomics (ARMv8.1) and CRC32, FP and Advanced SIMD
 * (loads and stores here, data processing in a64-simd.c). SVE, MTE, pointer
 * authentication and the later optional extensions are UNDEFINED.
 */
#include <stddef.h>
#include <string.h>

#include "arch/arm64/a64-cpu.h"
#include "arch/arm64/a64-internal.h"

#define MAX_BLOCK_INSNS 64
#define MAX_BLOCK_TEMPS 800

typedef struct Ctx {
    VsCpu *cpu;
    IrFunc *f;
    uint64_t pc;
    uint32_t insn;
    unsigned el;
    bool align; /* SCTLR_EL1.A */
    bool fp;    /* CPACR_EL1.FPEN lets this EL use FP/AdvSIMD */
    bool end;
} Ctx;

#define BITS(v, hi, lo) (((v) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))
#define BIT(v, n)       (((v) >> (n)) & 1u)

static inline int64_t sext(uint64_t v, unsigned bits)
{
    return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/* ---- operands ---- */

static IrVal K(Ctx *c, uint64_t v)
{
    return ir_const(c->f, IR_I64, v);
}

static IrVal K32(Ctx *c, uint32_t v)
{
    return ir_const(c->f, IR_I32, v);
}

static IrVal G(Ctx *c, unsigned g)
{
    return ir_global(c->f, g);
}

/* Xn with 31 = XZR. */
static IrVal rx(Ctx *c, unsigned r)
{
    return r == 31 ? K(c, 0) : G(c, A64_G_X(r));
}

/* Xn with 31 = SP. */
static IrVal rsp(Ctx *c, unsigned r)
{
    return G(c, r == 31 ? A64_G_SP : A64_G_X(r));
}

/* Write Xd (31 = XZR: discarded). A 32-bit value is already zero-extended in its slot. */
static void set_x(Ctx *c, unsigned r, IrVal v)
{
    if (r != 31)
        ir_mov(c->f, G(c, A64_G_X(r)), v);
}

/* Write Xd or SP (31 = SP). */
static void set_xsp(Ctx *c, unsigned r, IrVal v)
{
    ir_mov(c->f, G(c, r == 31 ? A64_G_SP : A64_G_X(r)), v);
}

static IrVal zext32(Ctx *c, IrVal v)
{
    return ir_unop(c->f, IR_OP_ZEXT32, IR_I64, v);
}

static IrType ty(bool sf)
{
    return sf ? IR_I64 : IR_I32;
}

static IrVal KT(Ctx *c, bool sf, uint64_t v)
{
    return sf ? K(c, v) : K32(c, (uint32_t)v);
}

static uint16_t mflags(Ctx *c, unsigned log2, bool sign, bool align, bool unpriv)
{
    unsigned idx = (unpriv || c->el == 0) ? A64_MMU_EL0 : A64_MMU_EL1;
    return IR_MEMFLAGS(log2, sign, align || c->align, idx);
}

static unsigned mmu_idx(Ctx *c)
{
    return c->el == 0 ? A64_MMU_EL0 : A64_MMU_EL1;
}

/* ---- exceptions ---- */

static void exception(Ctx *c, unsigned ec, uint32_t iss, uint64_t elr)
{
    uint64_t esr = ((uint64_t)ec << 26) | (1u << 25) | iss;
    ir_call2(c->f, &a64_helper_exception, false, K(c, esr), K(c, elr));
    ir_exit(c->f, IR_EXIT_NORMAL); /* not reached */
    c->end = true;
}

static bool undef(Ctx *c)
{
    exception(c, A64_EC_UNKNOWN, 0, c->pc);
    return true;
}

/* FP/AdvSIMD access trapped by CPACR_EL1.FPEN (EC 0x07; CV = 1, COND = 0b1110 from AArch64). */
static bool fp_trap(Ctx *c)
{
    exception(c, A64_EC_FP_ACCESS, (1u << 24) | (0xeu << 20), c->pc);
    return true;
}

static IrVal vreg(Ctx *c, unsigned r, unsigned hi)
{
    return G(c, A64_G_V(r, hi));
}

static void exit_next(Ctx *c, IrExitCode code)
{
    ir_mov(c->f, G(c, A64_G_PC), K(c, c->pc + 4));
    ir_exit(c->f, code);
    c->end = true;
}

/* ---- flags ---- */

/* N and Z from a result. */
static void flags_nz(Ctx *c, bool sf, IrVal r)
{
    if (sf) {
        ir_mov(c->f, G(c, A64_G_NF), r);
        ir_mov(c->f, G(c, A64_G_ZF), r);
    } else {
        ir_emit(c->f, IR_OP_SEXT32, IR_I64, 0, G(c, A64_G_NF), r, IR_NONE, IR_NONE, 0);
        ir_emit(c->f, IR_OP_ZEXT32, IR_I64, 0, G(c, A64_G_ZF), r, IR_NONE, IR_NONE, 0);
    }
}

/* dst (a global) = opc(v), 64-bit. */
static void ir_unop_to(Ctx *c, IrOpcode opc, IrVal dst, IrVal v)
{
    ir_emit(c->f, opc, IR_I64, 0, dst, v, IR_NONE, IR_NONE, 0);
}

static void flags_logic(Ctx *c, bool sf, IrVal r)
{
    flags_nz(c, sf, r);
    ir_mov(c->f, G(c, A64_G_CF), K(c, 0));
    ir_mov(c->f, G(c, A64_G_VF), K(c, 0));
}

/* r = a + b + carry_in (carry_in: IR_NONE for none). Sets NZCV when setf. */
static IrVal add_flags(Ctx *c, bool sf, IrVal a, IrVal b, IrVal cin, bool setf)
{
    IrFunc *f = c->f;
    IrType t = ty(sf);
    IrVal r = ir_add(f, t, a, b);
    if (cin != IR_NONE)
        r = ir_add(f, t, r, cin);
    if (!setf)
        return r;
    IrVal carry;
    if (sf) {
        /* carry = (r < a) || (cin && r == a), computed without 128-bit arithmetic. */
        if (cin == IR_NONE) {
            carry = ir_setcond(f, IR_I64, IR_LTU, r, a);
        } else {
            IrVal s = ir_add(f, IR_I64, a, b);
            IrVal c1 = ir_setcond(f, IR_I64, IR_LTU, s, a);
            IrVal c2 = ir_setcond(f, IR_I64, IR_LTU, r, s);
            carry = ir_or(f, IR_I64, c1, c2);
        }
    } else {
        IrVal wide = ir_add(f, IR_I64, zext32(c, a), zext32(c, b));
        if (cin != IR_NONE)
            wide = ir_add(f, IR_I64, wide, cin);
        carry = ir_shr(f, IR_I64, wide, K(c, 32));
    }
    /* V = (r ^ a) & ~(a ^ b), sign bit. */
    IrVal x1 = ir_xor(f, t, r, a);
    IrVal x2 = ir_xor(f, t, a, b);
    IrVal v = ir_andc(f, t, x1, x2);
    ir_mov(f, G(c, A64_G_CF), carry);
    if (sf)
        ir_mov(f, G(c, A64_G_VF), v);
    else
        ir_emit(f, IR_OP_SEXT32, IR_I64, 0, G(c, A64_G_VF), v, IR_NONE, IR_NONE, 0);
    flags_nz(c, sf, r);
    return r;
}

/* a - b = a + ~b + 1; with carry_in: a + ~b + C. */
static IrVal sub_flags(Ctx *c, bool sf, IrVal a, IrVal b, bool setf)
{
    IrFunc *f = c->f;
    IrType t = ty(sf);
    IrVal r = ir_sub(f, t, a, b);
    if (!setf)
        return r;
    IrVal carry = ir_setcond(f, t, IR_GEU, a, b);
    IrVal x1 = ir_xor(f, t, r, a);
    IrVal x2 = ir_xor(f, t, a, b);
    IrVal v = ir_and(f, t, x1, x2);
    ir_mov(f, G(c, A64_G_CF), carry);
    if (sf)
        ir_mov(f, G(c, A64_G_VF), v);
    else
        ir_emit(f, IR_OP_SEXT32, IR_I64, 0, G(c, A64_G_VF), v, IR_NONE, IR_NONE, 0);
    flags_nz(c, sf, r);
    return r;
}

/* Condition cond (0..15) as a 0/1 I64 temp. */
static IrVal cond_val(Ctx *c, unsigned cond)
{
    IrFunc *f = c->f;
    IrVal r;
    switch (cond >> 1) {
    case 0: r = ir_setcond(f, IR_I64, IR_EQ, G(c, A64_G_ZF), K(c, 0)); break; /* EQ */
    case 1: r = ir_setcond(f, IR_I64, IR_NE, G(c, A64_G_CF), K(c, 0)); break; /* CS */
    case 2: r = ir_setcond(f, IR_I64, IR_LT, G(c, A64_G_NF), K(c, 0)); break; /* MI */
    case 3: r = ir_setcond(f, IR_I64, IR_LT, G(c, A64_G_VF), K(c, 0)); break; /* VS */
    case 4: {                                                                 /* HI */
        IrVal cs = ir_setcond(f, IR_I64, IR_NE, G(c, A64_G_CF), K(c, 0));
        IrVal nz = ir_setcond(f, IR_I64, IR_NE, G(c, A64_G_ZF), K(c, 0));
        r = ir_and(f, IR_I64, cs, nz);
        break;
    }
    case 5: { /* GE: N == V */
        IrVal x = ir_xor(f, IR_I64, G(c, A64_G_NF), G(c, A64_G_VF));
        r = ir_setcond(f, IR_I64, IR_GE, x, K(c, 0));
        break;
    }
    case 6: { /* GT: Z == 0 && N == V */
        IrVal x = ir_xor(f, IR_I64, G(c, A64_G_NF), G(c, A64_G_VF));
        IrVal ge = ir_setcond(f, IR_I64, IR_GE, x, K(c, 0));
        IrVal nz = ir_setcond(f, IR_I64, IR_NE, G(c, A64_G_ZF), K(c, 0));
        r = ir_and(f, IR_I64, ge, nz);
        break;
    }
    default: return K(c, 1); /* AL, NV */
    }
    if (cond & 1)
        r = ir_xor(f, IR_I64, r, K(c, 1));
    return r;
}

/* Branch to `label` when cond holds. */
static void br_cond(Ctx *c, unsigned cond, unsigned label)
{
    IrFunc *f = c->f;
    bool inv = cond & 1;
    switch (cond >> 1) {
    case 0: ir_brcond(f, IR_I64, inv ? IR_NE : IR_EQ, G(c, A64_G_ZF), K(c, 0), label); return;
    case 1: ir_brcond(f, IR_I64, inv ? IR_EQ : IR_NE, G(c, A64_G_CF), K(c, 0), label); return;
    case 2: ir_brcond(f, IR_I64, inv ? IR_GE : IR_LT, G(c, A64_G_NF), K(c, 0), label); return;
    case 3: ir_brcond(f, IR_I64, inv ? IR_GE : IR_LT, G(c, A64_G_VF), K(c, 0), label); return;
    case 5: {
        IrVal x = ir_xor(f, IR_I64, G(c, A64_G_NF), G(c, A64_G_VF));
        ir_brcond(f, IR_I64, inv ? IR_LT : IR_GE, x, K(c, 0), label);
        return;
    }
    case 7: ir_br(f, label); return;
    default: ir_brcond(f, IR_I64, IR_NE, cond_val(c, cond), K(c, 0), label); return;
    }
}

/* Set NZCV from a 4-bit value (CCMP/CCMN fallback, MSR NZCV is a helper). */
static void set_nzcv_const(Ctx *c, unsigned nzcv)
{
    ir_mov(c->f, G(c, A64_G_NF), K(c, (nzcv & 8) ? ~0ull : 0));
    ir_mov(c->f, G(c, A64_G_ZF), K(c, (nzcv & 4) ? 0 : 1));
    ir_mov(c->f, G(c, A64_G_CF), K(c, (nzcv >> 1) & 1));
    ir_mov(c->f, G(c, A64_G_VF), K(c, (nzcv & 1) ? ~0ull : 0));
}

/* ---- data processing: immediate ---- */

/* DecodeBitMasks (Arm ARM, shared pseudocode). Returns false for reserved encodings. */
static bool decode_bit_masks(unsigned n, unsigned imms, unsigned immr, bool sf, uint64_t *wmask,
                             uint64_t *tmask_out)
{
    unsigned v = (n << 6) | (~imms & 0x3f);
    if (v == 0)
        return false;
    unsigned len = 31 - (unsigned)__builtin_clz(v);
    if (len < 1 || (!sf && n))
        return false;
    unsigned levels = (1u << len) - 1;
    unsigned s = imms & levels, r = immr & levels;
    if (s == levels)
        return false; /* logical immediates: all ones is reserved */
    unsigned esize = 1u << len;
    uint64_t welem = (s + 1 == 64) ? ~0ull : ((1ull << (s + 1)) - 1);
    uint64_t emask = esize == 64 ? ~0ull : ((1ull << esize) - 1);
    /* ROR(welem, r) within esize */
    uint64_t rot = r ? (((welem >> r) | (welem << (esize - r))) & emask) : welem;
    uint64_t w = 0;
    for (unsigned i = 0; i < 64; i += esize)
        w |= rot << i;
    if (!sf)
        w &= 0xffffffffull;
    *wmask = w;
    if (tmask_out) {
        unsigned d = (s - r) & levels;
        uint64_t telem = (d + 1 == 64) ? ~0ull : ((1ull << (d + 1)) - 1);
        uint64_t t = 0;
        for (unsigned i = 0; i < 64; i += esize)
            t |= telem << i;
        *tmask_out = t;
    }
    return true;
}

static bool tr_dp_imm(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    unsigned rd = BITS(i, 4, 0), rn = BITS(i, 9, 5);
    bool sf = BIT(i, 31);
    switch (BITS(i, 25, 23)) {
    case 0:
    case 1: { /* ADR, ADRP */
        uint64_t imm = (uint64_t)sext((BITS(i, 23, 5) << 2) | BITS(i, 30, 29), 21);
        uint64_t v = BIT(i, 31) ? (c->pc & ~0xfffull) + (imm << 12) : c->pc + imm;
        set_x(c, rd, K(c, v));
        return true;
    }
    case 2: { /* add/sub immediate */
        bool op = BIT(i, 30), s = BIT(i, 29);
        uint64_t imm = BITS(i, 21, 10);
        if (BIT(i, 22))
            imm <<= 12;
        IrVal a = rsp(c, rn);
        IrVal r = op ? sub_flags(c, sf, a, KT(c, sf, imm), s)
                     : add_flags(c, sf, a, KT(c, sf, imm), IR_NONE, s);
        if (s)
            set_x(c, rd, r);
        else
            set_xsp(c, rd, r);
        return true;
    }
    case 4: { /* logical immediate */
        unsigned opc = BITS(i, 30, 29);
        uint64_t imm;
        if (!decode_bit_masks(BIT(i, 22), BITS(i, 15, 10), BITS(i, 21, 16), sf, &imm, NULL))
            return undef(c);
        IrVal a = rx(c, rn), r;
        IrType t = ty(sf);
        switch (opc) {
        case 0: r = ir_and(f, t, a, KT(c, sf, imm)); break;
        case 1: r = ir_or(f, t, a, KT(c, sf, imm)); break;
        case 2: r = ir_xor(f, t, a, KT(c, sf, imm)); break;
        default:
            r = ir_and(f, t, a, KT(c, sf, imm));
            flags_logic(c, sf, r);
            set_x(c, rd, r);
            return true;
        }
        set_xsp(c, rd, r);
        return true;
    }
    case 5: { /* move wide */
        unsigned opc = BITS(i, 30, 29), hw = BITS(i, 22, 21);
        if (opc == 1 || (!sf && hw >= 2))
            return undef(c);
        uint64_t imm = (uint64_t)BITS(i, 20, 5) << (16 * hw);
        if (opc == 0) { /* MOVN */
            uint64_t v = ~imm;
            set_x(c, rd, K(c, sf ? v : (uint32_t)v));
        } else if (opc == 2) { /* MOVZ */
            set_x(c, rd, K(c, imm));
        } else { /* MOVK */
            uint64_t mask = ~(0xffffull << (16 * hw));
            IrVal r = ir_or(f, IR_I64, ir_and(f, IR_I64, rx(c, rd), K(c, mask)), K(c, imm));
            if (!sf)
                r = zext32(c, r);
            set_x(c, rd, r);
        }
        return true;
    }
    case 6: { /* bitfield */
        unsigned opc = BITS(i, 30, 29), n = BIT(i, 22);
        unsigned immr = BITS(i, 21, 16), imms = BITS(i, 15, 10);
        if (opc == 3 || n != (unsigned)sf || (!sf && (immr > 31 || imms > 31)))
            return undef(c);
        unsigned width = sf ? 64 : 32;
        IrType t = ty(sf);
        IrVal src = rx(c, rn);
        IrVal r;
        if (imms >= immr) {
            /* Extract bits [imms:immr] to the bottom. */
            unsigned len = imms - immr + 1;
            if (opc == 0) { /* SBFM */
                if (sf && immr == 0 && (imms == 7 || imms == 15 || imms == 31)) {
                    /* SXTB, SXTH, SXTW */
                    static const IrOpcode ext[4] = { IR_OP_SEXT8, IR_OP_SEXT16, 0, IR_OP_SEXT32 };
                    r = ir_unop(f, ext[imms >> 3], IR_I64, src);
                } else {
                    /* ASR when the field reaches the top: no left shift */
                    IrVal sh =
                        imms == width - 1 ? src : ir_shl(f, t, src, KT(c, sf, width - 1 - imms));
                    r = ir_sar(f, t, sh, KT(c, sf, width - len));
                }
            } else if (opc == 2) { /* UBFM */
                /* LSR (field at the top): no mask; a field at bit 0: no shift */
                IrVal sh =
                    immr == 0 && imms != width - 1 ? src : ir_shr(f, t, src, KT(c, sf, immr));
                uint64_t m = len == 64 ? ~0ull : ((1ull << len) - 1);
                r = imms == width - 1 ? sh : ir_and(f, t, sh, KT(c, sf, m));
            } else { /* BFM: insert field at bit 0 */
                uint64_t m = len == 64 ? ~0ull : ((1ull << len) - 1);
                IrVal fld = ir_and(f, t, ir_shr(f, t, src, KT(c, sf, immr)), KT(c, sf, m));
                IrVal dst = ir_and(f, t, rx(c, rd), KT(c, sf, ~m));
                r = ir_or(f, t, dst, fld);
            }
        } else {
            /* Bits [imms:0] go to position width - immr. */
            unsigned len = imms + 1, pos = width - immr;
            uint64_t m = (len == 64 ? ~0ull : ((1ull << len) - 1));
            if (opc == 0) { /* SBFIZ */
                IrVal sh = ir_shl(f, t, src, KT(c, sf, width - len));
                r = ir_sar(f, t, sh, KT(c, sf, width - len - pos));
            } else if (opc == 2) { /* UBFIZ; LSL (the field ends at the top: no mask) */
                IrVal fld = len + pos == width ? src : ir_and(f, t, src, KT(c, sf, m));
                r = ir_shl(f, t, fld, KT(c, sf, pos));
            } else { /* BFI */
                uint64_t dm = m << pos;
                IrVal fld = ir_shl(f, t, ir_and(f, t, src, KT(c, sf, m)), KT(c, sf, pos));
                IrVal dst = ir_and(f, t, rx(c, rd), KT(c, sf, ~dm));
                r = ir_or(f, t, dst, fld);
            }
        }
        set_x(c, rd, r);
        return true;
    }
    case 7: { /* EXTR */
        unsigned imms = BITS(i, 15, 10), rm = BITS(i, 20, 16);
        if (BITS(i, 30, 29) != 0 || BIT(i, 21) || BIT(i, 22) != (unsigned)sf || (!sf && imms > 31))
            return undef(c);
        IrType t = ty(sf);
        unsigned width = sf ? 64 : 32;
        IrVal r;
        if (imms == 0)
            r = sf ? rx(c, rm) : zext32(c, rx(c, rm));
        else if (rn == rm)
            r = ir_rotr(f, t, rx(c, rm), KT(c, sf, imms));
        else
            r = ir_or(f, t, ir_shr(f, t, rx(c, rm), KT(c, sf, imms)),
                      ir_shl(f, t, rx(c, rn), KT(c, sf, width - imms)));
        set_x(c, rd, r);
        return true;
    }
    default: return undef(c); /* add/sub with tags (MTE) */
    }
}

/* ---- branches, exception generation, system ---- */

static void goto_pc(Ctx *c, uint64_t target)
{
    ir_goto_block(c->f, target);
    c->end = true;
}

static void branch_cond_end(Ctx *c, unsigned taken, uint64_t target)
{
    ir_goto_block(c->f, c->pc + 4);
    ir_label(c->f, taken);
    goto_pc(c, target);
}

static bool tr_system(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    unsigned l = BIT(i, 21), op0 = BITS(i, 20, 19), op1 = BITS(i, 18, 16);
    unsigned crn = BITS(i, 15, 12), crm = BITS(i, 11, 8), op2 = BITS(i, 7, 5), rt = BITS(i, 4, 0);
    if (op0 == 0) {
        if (l)
            return undef(c);
        if (crn == 4) { /* MSR (immediate) */
            if (rt != 31)
                return undef(c);
            unsigned field = (op1 << 3) | op2;
            /* SPSel (0,5), DAIFSet (3,6), DAIFClr (3,7); UAO/PAN/SSBS/DIT need features
             * this CPU does not have. */
            if (field != 5 && field != 0x1e && field != 0x1f)
                return undef(c);
            if (c->el == 0 && field != 0x1e && field != 0x1f)
                return undef(c);
            ir_call2(f, &a64_helper_msr_pstate, false, K(c, field), K(c, crm));
            exit_next(c, IR_EXIT_NORMAL);
            return true;
        }
        if (crn == 2) { /* hints */
            if (op1 != 3)
                return undef(c);
            unsigned hint = (crm << 3) | op2;
            if (hint == 2 || hint == 3) { /* WFE, WFI */
                ir_call2(f, &a64_helper_wfx, false, K(c, hint == 2), K(c, i));
                exit_next(c, hint == 3 ? IR_EXIT_HALT : IR_EXIT_NORMAL);
                return true;
            }
            if (hint == 1) { /* YIELD: give other vCPUs a chance in spin loops */
                exit_next(c, IR_EXIT_NORMAL);
                return true;
            }
            return true; /* NOP, SEV, SEVL and every unallocated hint */
        }
        if (crn == 3) { /* barriers */
            if (op1 != 3)
                return undef(c);
            switch (op2) {
            case 2: /* CLREX */
                if (rt != 31)
                    return undef(c);
                ir_mov(f, G(c, A64_G_EXCL_ADDR), K(c, ~0ull));
                return true;
            case 4: /* DSB */
            case 5: /* DMB */
                if (rt != 31)
                    return undef(c);
                ir_fence(f, IR_FENCE_FULL);
                return true;
            case 6: /* ISB: later instructions see earlier context changes */
                if (rt != 31)
                    return undef(c);
                /* Every instruction that changes translation state already ends its block and
                 * returns to the loop; ending the block here (chainable, so the page-table
                 * loops of Linux stay fast) is the synchronisation ISB needs. */
                goto_pc(c, c->pc + 4);
                return true;
            default: return undef(c);
            }
        }
        return undef(c);
    }
    unsigned enc = (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
    if (op0 == 1) { /* SYS / SYSL: DC, IC, AT, TLBI */
        if (l)
            return undef(c); /* SYSL: nothing allocated */
        if (enc == ((1u << 14) | (3u << 11) | (7u << 7) | (4u << 3) | 1u) && c->el) {
            /* DC ZVA at EL1: zero the 64-byte block (DCZID_EL0.BS = 4) with plain stores;
             * Linux's clear_page and memset run on it. */
            IrVal a = ir_and(f, IR_I64, rx(c, rt), K(c, ~63ull));
            for (int k = 0; k < 8; k++)
                ir_store(f, IR_MEMFLAGS(3, false, false, A64_MMU_EL1), a, 8 * k, K(c, 0));
            return true;
        }
        ir_call3(f, &a64_helper_sys, false, K(c, enc), rx(c, rt), K(c, i));
        /* Cache maintenance by VA (DC) and AT change no translation: the block goes on.
         * TLBI and IC end it, so the next block is looked up afresh. */
        if (crn == 7 && (crm == 4 || crm == 8 || crm == 10 || crm == 11 || crm == 14))
            return true;
        exit_next(c, IR_EXIT_NORMAL);
        return true;
    }
    /* MRS / MSR (register) */
    if ((enc == ((3u << 14) | (3u << 11) | (4u << 7) | (4u << 3)) ||
         enc == ((3u << 14) | (3u << 11) | (4u << 7) | (4u << 3) | 1u)) &&
        !c->fp)
        return fp_trap(c); /* FPCR, FPSR */
    if (l) {
        IrVal v = ir_call2(f, &a64_helper_mrs, true, K(c, enc | ((uint64_t)rt << 16)), K(c, i));
        set_x(c, rt, v);
        return true;
    }
    ir_call2(f, &a64_helper_msr, false, K(c, enc | ((uint64_t)rt << 16) | ((uint64_t)i << 32)),
             rx(c, rt));
    exit_next(c, IR_EXIT_NORMAL);
    return true;
}

static bool tr_branch_sys(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    if (BITS(i, 30, 26) == 0x05) { /* B, BL */
        uint64_t target = c->pc + (uint64_t)(sext(BITS(i, 25, 0), 26) * 4);
        if (BIT(i, 31))
            set_x(c, 30, K(c, c->pc + 4));
        goto_pc(c, target);
        return true;
    }
    if (BITS(i, 30, 25) == 0x1a) { /* CBZ, CBNZ */
        bool sf = BIT(i, 31), nz = BIT(i, 24);
        uint64_t target = c->pc + (uint64_t)(sext(BITS(i, 23, 5), 19) * 4);
        unsigned taken = ir_new_label(f);
        ir_brcond(f, ty(sf), nz ? IR_NE : IR_EQ, rx(c, BITS(i, 4, 0)), KT(c, sf, 0), taken);
        branch_cond_end(c, taken, target);
        return true;
    }
    if (BITS(i, 30, 25) == 0x1b) { /* TBZ, TBNZ */
        unsigned bit = (BIT(i, 31) << 5) | BITS(i, 23, 19);
        uint64_t target = c->pc + (uint64_t)(sext(BITS(i, 18, 5), 14) * 4);
        unsigned taken = ir_new_label(f);
        ir_brcond(f, IR_I64, BIT(i, 24) ? IR_TSTNE : IR_TSTEQ, rx(c, BITS(i, 4, 0)),
                  K(c, 1ull << bit), taken);
        branch_cond_end(c, taken, target);
        return true;
    }
    if (BITS(i, 31, 25) == 0x2a) { /* B.cond */
        if (BIT(i, 24) || BIT(i, 4))
            return undef(c);
        uint64_t target = c->pc + (uint64_t)(sext(BITS(i, 23, 5), 19) * 4);
        unsigned cond = BITS(i, 3, 0);
        if (cond >= 14) {
            goto_pc(c, target);
            return true;
        }
        unsigned taken = ir_new_label(f);
        br_cond(c, cond, taken);
        branch_cond_end(c, taken, target);
        return true;
    }
    if (BITS(i, 31, 24) == 0xd4) { /* exception generation */
        unsigned opc = BITS(i, 23, 21), ll = BITS(i, 1, 0), imm = BITS(i, 20, 5);
        if (BITS(i, 4, 2) != 0)
            return undef(c);
        if (opc == 0 && ll == 1) { /* SVC */
            exception(c, A64_EC_SVC, imm, c->pc + 4);
            return true;
        }
        if (opc == 0 && ll == 2) { /* HVC: PSCI/SMCCC through the board */
            if (c->el == 0)
                return undef(c);
            ir_call2(f, &a64_helper_hvc, false, K(c, imm), K(c, c->pc));
            exit_next(c, IR_EXIT_NORMAL);
            return true;
        }
        if (opc == 1 && ll == 0) { /* BRK */
            exception(c, A64_EC_BRK, imm, c->pc);
            return true;
        }
        return undef(c); /* SMC (no EL3), HLT (no external debug), DCPS */
    }
    if (BITS(i, 31, 22) == 0x354) /* 1101 0101 00: system */
        return tr_system(c, i);
    if (BITS(i, 31, 25) == 0x6b) { /* unconditional branch (register) */
        unsigned opc = BITS(i, 24, 21), op2 = BITS(i, 20, 16), op3 = BITS(i, 15, 10);
        unsigned rn = BITS(i, 9, 5), op4 = BITS(i, 4, 0);
        if (op2 != 31 || op3 != 0 || op4 != 0)
            return undef(c); /* pointer authentication variants */
        switch (opc) {
        case 0:   /* BR */
        case 1:   /* BLR */
        case 2: { /* RET */
            IrVal t = ir_temp(f, IR_I64);
            ir_mov(f, t, rx(c, rn));
            if (opc == 1)
                set_x(c, 30, K(c, c->pc + 4));
            ir_goto_ptr(f, t);
            c->end = true;
            return true;
        }
        case 4: /* ERET */
            if (rn != 31 || c->el == 0)
                return undef(c);
            ir_mov(f, G(c, A64_G_PC), ir_call0(f, &a64_helper_eret, true));
            ir_exit(f, IR_EXIT_NORMAL);
            c->end = true;
            return true;
        default: return undef(c);
        }
    }
    return undef(c);
}

/* ---- loads and stores ---- */

/* Load `log2` bytes (sign-extended to 32 or 64 bits when sign) into Rt. */
static void do_load(Ctx *c, unsigned rt, IrVal addr, int32_t off, unsigned log2, bool sign,
                    bool to64, uint16_t extra_flags, bool unpriv)
{
    uint16_t fl = mflags(c, log2, sign && to64, false, unpriv) | extra_flags;
    IrVal v = ir_load(c->f, IR_I64, fl, addr, off);
    if (sign && !to64) {
        /* Sign-extend to 32 bits, then zero-extend into the X register. */
        IrOpcode se = log2 == 0 ? IR_OP_SEXT8 : IR_OP_SEXT16;
        v = zext32(c, ir_unop(c->f, se, IR_I32, v));
    }
    set_x(c, rt, v);
}

static void do_store(Ctx *c, unsigned rt, IrVal addr, int32_t off, unsigned log2,
                     uint16_t extra_flags, bool unpriv)
{
    ir_store(c->f, mflags(c, log2, false, false, unpriv) | extra_flags, addr, off, rx(c, rt));
}

/* The address register's value in a fresh temp (the load may overwrite the register). */
static IrVal base_copy(Ctx *c, unsigned rn)
{
    IrVal t = ir_temp(c->f, IR_I64);
    ir_mov(c->f, t, rsp(c, rn));
    return t;
}

/* Register offset: Rm extended/shifted per option and S. */
static IrVal ext_reg(Ctx *c, unsigned rm, unsigned option, unsigned shift)
{
    IrFunc *f = c->f;
    IrVal v = rx(c, rm);
    switch (option) {
    case 0: v = ir_unop(f, IR_OP_ZEXT8, IR_I64, v); break;
    case 1: v = ir_unop(f, IR_OP_ZEXT16, IR_I64, v); break;
    case 2: v = ir_unop(f, IR_OP_ZEXT32, IR_I64, v); break;
    case 3: break;
    case 4: v = ir_unop(f, IR_OP_SEXT8, IR_I64, v); break;
    case 5: v = ir_unop(f, IR_OP_SEXT16, IR_I64, v); break;
    case 6: v = ir_unop(f, IR_OP_SEXT32, IR_I64, v); break;
    default: break;
    }
    if (shift)
        v = ir_shl(f, IR_I64, v, K(c, shift));
    return v;
}

/* LDR/STR family: size, opc -> what to do. Returns false for UNDEFINED (and PRFM: *prfm). */
static bool ls_kind(unsigned size, unsigned opc, bool *is_load, bool *sign, bool *to64, bool *prfm)
{
    *prfm = false;
    *sign = false;
    *to64 = size == 3;
    switch (opc) {
    case 0: *is_load = false; return true;
    case 1: *is_load = true; return true;
    case 2:
        if (size == 3) {
            *prfm = true;
            return true;
        }
        *is_load = true;
        *sign = true;
        *to64 = true;
        return true;
    default:
        if (size >= 2)
            return false;
        *is_load = true;
        *sign = true;
        *to64 = false;
        return true;
    }
}

/* ---- SIMD&FP loads and stores ---- */

/* Load 2^log2 bytes (log2 0..4) into Vt, zeroing the rest of the register. */
static void v_load(Ctx *c, unsigned rt, IrVal addr, int32_t off, unsigned log2)
{
    IrFunc *f = c->f;
    if (log2 == 4) {
        uint16_t fl = mflags(c, 3, false, false, false);
        IrVal lo = ir_load(f, IR_I64, fl, addr, off);
        IrVal hi = ir_load(f, IR_I64, fl, addr, off + 8);
        ir_mov(f, vreg(c, rt, 0), lo);
        ir_mov(f, vreg(c, rt, 1), hi);
        return;
    }
    IrVal v = ir_load(f, IR_I64, mflags(c, log2, false, false, false), addr, off);
    ir_mov(f, vreg(c, rt, 0), v);
    ir_mov(f, vreg(c, rt, 1), K(c, 0));
}

static void v_store(Ctx *c, unsigned rt, IrVal addr, int32_t off, unsigned log2)
{
    IrFunc *f = c->f;
    if (log2 == 4) {
        uint16_t fl = mflags(c, 3, false, false, false);
        ir_store(f, fl, addr, off, vreg(c, rt, 0));
        ir_store(f, fl, addr, off + 8, vreg(c, rt, 1));
        return;
    }
    ir_store(f, mflags(c, log2, false, false, false), addr, off, vreg(c, rt, 0));
}

/* LDR/STR/LDUR/STUR (SIMD&FP): B, H, S, D, Q. */
static bool tr_vldst_reg(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    unsigned size = BITS(i, 31, 30), opc = BITS(i, 23, 22);
    unsigned rn = BITS(i, 9, 5), rt = BITS(i, 4, 0);
    unsigned log2 = size | ((opc & 2) ? 4 : 0);
    bool load = opc & 1;
    if (log2 > 4)
        return undef(c);
    int32_t imm9 = (int32_t)sext(BITS(i, 20, 12), 9);
    IrVal addr;
    int32_t off = 0;
    int wb = 0; /* 1: post-index, 2: pre-index */
    if (BIT(i, 24)) {
        addr = rsp(c, rn);
        off = (int32_t)(BITS(i, 21, 10) << log2);
    } else if (BIT(i, 21)) {
        unsigned option = BITS(i, 15, 13);
        if (BITS(i, 11, 10) != 2 || !(option & 2))
            return undef(c);
        addr = ir_add(f, IR_I64, rsp(c, rn),
                      ext_reg(c, BITS(i, 20, 16), option, BIT(i, 12) ? log2 : 0));
    } else {
        switch (BITS(i, 11, 10)) {
        case 0:
            addr = rsp(c, rn);
            off = imm9;
            break;
        case 2: return undef(c); /* no unprivileged SIMD&FP form */
        default:
            wb = BITS(i, 11, 10) == 1 ? 1 : 2;
            addr = IR_NONE;
            break;
        }
    }
    if (!c->fp)
        return fp_trap(c);
    IrVal wbv = IR_NONE;
    if (wb) {
        IrVal base = base_copy(c, rn);
        wbv = ir_add(f, IR_I64, base, K(c, (uint64_t)(int64_t)imm9));
        addr = wb == 2 ? wbv : base;
    }
    if (load)
        v_load(c, rt, addr, off, log2);
    else
        v_store(c, rt, addr, off, log2);
    if (wb)
        set_xsp(c, rn, wbv);
    return true;
}

/* LDP/STP/LDNP/STNP (SIMD&FP): S, D, Q. */
static bool tr_vldst_pair(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    unsigned opc = BITS(i, 31, 30), type = BITS(i, 24, 23), l = BIT(i, 22);
    unsigned rt2 = BITS(i, 14, 10), rn = BITS(i, 9, 5), rt = BITS(i, 4, 0);
    if (opc == 3)
        return undef(c);
    if (!c->fp)
        return fp_trap(c);
    unsigned log2 = opc + 2;
    int64_t off = (int64_t)((uint64_t)sext(BITS(i, 21, 15), 7) << log2);
    IrVal base = base_copy(c, rn);
    IrVal addr = type == 1 ? base : ir_add(f, IR_I64, base, K(c, (uint64_t)off));
    int32_t sz = (int32_t)(1u << log2);
    if (l) {
        /* Both loads before any register is written (a fault leaves them unchanged). */
        IrVal v[4];
        unsigned n = log2 == 4 ? 4 : 2;
        uint16_t fl = mflags(c, log2 == 4 ? 3 : log2, false, false, false);
        for (unsigned k = 0; k < n; k++)
            v[k] = ir_load(f, IR_I64, fl, addr, (int32_t)(k * (log2 == 4 ? 8 : (unsigned)sz)));
        if (log2 == 4) {
            ir_mov(f, vreg(c, rt, 0), v[0]);
            ir_mov(f, vreg(c, rt, 1), v[1]);
            ir_mov(f, vreg(c, rt2, 0), v[2]);
            ir_mov(f, vreg(c, rt2, 1), v[3]);
        } else {
            ir_mov(f, vreg(c, rt, 0), v[0]);
            ir_mov(f, vreg(c, rt, 1), K(c, 0));
            ir_mov(f, vreg(c, rt2, 0), v[1]);
            ir_mov(f, vreg(c, rt2, 1), K(c, 0));
        }
    } else {
        v_store(c, rt, addr, 0, log2);
        v_store(c, rt2, addr, sz, log2);
    }
    if (type == 1 || type == 3)
        set_xsp(c, rn, type == 1 ? ir_add(f, IR_I64, base, K(c, (uint64_t)off)) : addr);
    return true;
}

/* LD1-LD4/ST1-ST4 (multiple and single structures), LD1R-LD4R, with post-index: the
 * element accesses run in a64_helper_vldst; the base register is written back here. */
static bool tr_vldst_struct(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    unsigned q = BIT(i, 30), l = BIT(i, 22), rm = BITS(i, 20, 16), opcode = BITS(i, 15, 12);
    unsigned size = BITS(i, 11, 10), rn = BITS(i, 9, 5);
    bool post = BIT(i, 23), single = BIT(i, 24);
    unsigned total; /* bytes transferred */
    if (BIT(i, 31) || BITS(i, 29, 25) != 0x06)
        return undef(c);
    if (!post && rm != 0)
        return undef(c);
    if (!single) {
        unsigned rpt, selem;
        if (BIT(i, 21))
            return undef(c);
        switch (opcode) {
        case 0: rpt = 1, selem = 4; break;
        case 2: rpt = 4, selem = 1; break;
        case 4: rpt = 1, selem = 3; break;
        case 6: rpt = 3, selem = 1; break;
        case 7: rpt = 1, selem = 1; break;
        case 8: rpt = 1, selem = 2; break;
        case 10: rpt = 2, selem = 1; break;
        default: return undef(c);
        }
        if (size == 3 && !q && selem > 1)
            return undef(c);
        total = rpt * selem * (q ? 16 : 8);
    } else {
        unsigned op3 = opcode >> 1;
        unsigned selem = ((op3 & 1) << 1 | BIT(i, 21)) + 1, scale = op3 >> 1;
        unsigned s = BIT(i, 12);
        switch (scale) {
        case 0: break;
        case 1:
            if (size & 1)
                return undef(c);
            break;
        case 2:
            if (size >= 2 || (size == 1 && s))
                return undef(c);
            if (size == 1)
                scale = 3;
            break;
        default: /* LDnR */
            if (!l || s)
                return undef(c);
            scale = size;
            break;
        }
        total = selem << scale;
    }
    if (!c->fp)
        return fp_trap(c);
    IrVal base = base_copy(c, rn);
    ir_call3(f, &a64_helper_vldst, false, K(c, i), base, K(c, mmu_idx(c)));
    if (post) {
        IrVal inc = rm == 31 ? K(c, total) : rx(c, rm);
        set_xsp(c, rn, ir_add(f, IR_I64, base, inc));
    }
    return true;
}

static bool tr_atomic(Ctx *c, uint32_t i);

static bool tr_ldst_reg(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    unsigned size = BITS(i, 31, 30), opc = BITS(i, 23, 22);
    unsigned rn = BITS(i, 9, 5), rt = BITS(i, 4, 0);
    bool is_load, sign, to64, prfm;
    if (BIT(i, 26))
        return tr_vldst_reg(c, i);
    if (!BIT(i, 24) && BIT(i, 21)) {
        if (BITS(i, 11, 10) == 0)
            return tr_atomic(c, i);
        if (BITS(i, 11, 10) != 2)
            return undef(c); /* LDRAA/LDRAB */
    }
    if (!ls_kind(size, opc, &is_load, &sign, &to64, &prfm))
        return undef(c);
    if (BIT(i, 24)) { /* unsigned offset */
        int32_t off = (int32_t)(BITS(i, 21, 10) << size);
        if (prfm)
            return true;
        if (is_load)
            do_load(c, rt, rsp(c, rn), off, size, sign, to64, 0, false);
        else
            do_store(c, rt, rsp(c, rn), off, size, 0, false);
        return true;
    }
    if (BIT(i, 21)) { /* register offset */
        unsigned option = BITS(i, 15, 13);
        if (!(option & 2))
            return undef(c);
        IrVal off = ext_reg(c, BITS(i, 20, 16), option, BIT(i, 12) ? size : 0);
        IrVal addr = ir_add(f, IR_I64, rsp(c, rn), off);
        if (prfm)
            return true;
        if (is_load)
            do_load(c, rt, addr, 0, size, sign, to64, 0, false);
        else
            do_store(c, rt, addr, 0, size, 0, false);
        return true;
    }
    int32_t imm9 = (int32_t)sext(BITS(i, 20, 12), 9);
    switch (BITS(i, 11, 10)) {
    case 0: /* unscaled */
        if (prfm)
            return true; /* PRFUM */
        if (is_load)
            do_load(c, rt, rsp(c, rn), imm9, size, sign, to64, 0, false);
        else
            do_store(c, rt, rsp(c, rn), imm9, size, 0, false);
        return true;
    case 2: /* unprivileged */
        if (prfm)
            return undef(c);
        if (is_load)
            do_load(c, rt, rsp(c, rn), imm9, size, sign, to64, 0, true);
        else
            do_store(c, rt, rsp(c, rn), imm9, size, 0, true);
        return true;
    default: { /* post-index (1), pre-index (3) */
        if (prfm)
            return undef(c);
        bool pre = BITS(i, 11, 10) == 3;
        IrVal base = base_copy(c, rn);
        IrVal wb = ir_add(f, IR_I64, base, K(c, (uint64_t)(int64_t)imm9));
        IrVal addr = pre ? wb : base;
        /* Writeback with Rt == Rn is CONSTRAINED UNPREDICTABLE; like QEMU, the loaded value
         * wins for loads (written after the base) and stores store the old Rt. */
        if (is_load) {
            IrVal v = ir_load(f, IR_I64, mflags(c, size, sign && to64, false, false), addr, 0);
            if (sign && !to64)
                v = zext32(c, ir_unop(f, size == 0 ? IR_OP_SEXT8 : IR_OP_SEXT16, IR_I32, v));
            set_xsp(c, rn, wb);
            set_x(c, rt, v);
        } else {
            do_store(c, rt, addr, 0, size, 0, false);
            set_xsp(c, rn, wb);
        }
        return true;
    }
    }
}

static bool tr_ldst_pair(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    unsigned opc = BITS(i, 31, 30), type = BITS(i, 24, 23), l = BIT(i, 22);
    unsigned rt2 = BITS(i, 14, 10), rn = BITS(i, 9, 5), rt = BITS(i, 4, 0);
    if (BIT(i, 26))
        return tr_vldst_pair(c, i);
    if (opc == 3 || (opc == 1 && (!l || type == 0)))
        return undef(c); /* opc 01 store is STGP (MTE); LDNP has no signed form */
    unsigned log2 = opc == 2 ? 3 : 2;
    bool sign = opc == 1;
    int64_t off = (int64_t)((uint64_t)sext(BITS(i, 21, 15), 7) << log2);
    IrVal base = base_copy(c, rn);
    IrVal addr = type == 1 ? base : ir_add(f, IR_I64, base, K(c, (uint64_t)off));
    uint16_t fl = mflags(c, log2, sign, false, false);
    unsigned sz = 1u << log2;
    if (l) {
        /* LDP with Rt == Rt2 is CONSTRAINED UNPREDICTABLE; both loads happen, Rt2 last. */
        IrVal v1 = ir_load(f, IR_I64, fl, addr, 0);
        IrVal v2 = ir_load(f, IR_I64, fl, addr, (int32_t)sz);
        if (type == 1 || type == 3)
            set_xsp(c, rn, type == 1 ? ir_add(f, IR_I64, base, K(c, (uint64_t)off)) : addr);
        set_x(c, rt, v1);
        set_x(c, rt2, v2);
    } else {
        IrVal v1 = ir_temp(f, IR_I64), v2 = ir_temp(f, IR_I64);
        ir_mov(f, v1, rx(c, rt));
        ir_mov(f, v2, rx(c, rt2));
        ir_store(f, fl, addr, 0, v1);
        ir_store(f, fl, addr, (int32_t)sz, v2);
        if (type == 1 || type == 3)
            set_xsp(c, rn, type == 1 ? ir_add(f, IR_I64, base, K(c, (uint64_t)off)) : addr);
    }
    return true;
}

static bool tr_ld_literal(Ctx *c, uint32_t i)
{
    unsigned opc = BITS(i, 31, 30), rt = BITS(i, 4, 0);
    uint64_t addr = c->pc + (uint64_t)(sext(BITS(i, 23, 5), 19) * 4);
    if (BIT(i, 26)) { /* LDR (literal, SIMD&FP): S, D, Q */
        if (opc == 3)
            return undef(c);
        if (!c->fp)
            return fp_trap(c);
        v_load(c, rt, K(c, addr), 0, opc + 2);
        return true;
    }
    switch (opc) {
    case 0: do_load(c, rt, K(c, addr), 0, 2, false, false, 0, false); return true;
    case 1: do_load(c, rt, K(c, addr), 0, 3, false, true, 0, false); return true;
    case 2: do_load(c, rt, K(c, addr), 0, 2, true, true, 0, false); return true;
    default: return true; /* PRFM (literal) */
    }
}

/* LSE: LDADD, LDCLR, LDEOR, LDSET, LD{S,U}{MAX,MIN}, SWP. */
static bool tr_atomic(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    unsigned size = BITS(i, 31, 30), a = BIT(i, 23), r = BIT(i, 22);
    unsigned rs = BITS(i, 20, 16), o3 = BIT(i, 15), opc = BITS(i, 14, 12);
    unsigned rn = BITS(i, 9, 5), rt = BITS(i, 4, 0);
    unsigned op;
    if (o3) {
        if (opc != 0)
            return undef(c); /* LDAPR* (RCpc, ARMv8.3) */
        op = A64_ATOM_SWP;
    } else {
        op = opc;
    }
    uint16_t fl = mflags(c, size, false, true, false) | (a ? IR_MEM_ACQ : 0) | (r ? IR_MEM_REL : 0);
    IrVal addr = base_copy(c, rn);
    IrVal v = rx(c, rs), old;
    if (size >= 2) {
        static const IrAtomicOp ops[9] = { IR_AMO_ADD,  IR_AMO_AND,  IR_AMO_XOR,
                                           IR_AMO_OR,   IR_AMO_SMAX, IR_AMO_SMIN,
                                           IR_AMO_UMAX, IR_AMO_UMIN, IR_AMO_XCHG };
        IrType t = size == 3 ? IR_I64 : IR_I32;
        if (op == A64_ATOM_CLR)
            v = ir_unop(f, IR_OP_NOT, t, v);
        old = ir_atomic_rmw(f, t, fl, ops[op], addr, v);
    } else {
        uint64_t desc =
            (fl & (IR_MEM_SIZE_MASK | IR_MEM_IDX_MASK)) | ((uint64_t)op << A64_ATOM_OP_SHIFT);
        old = ir_call3(f, &a64_helper_atomic, true, addr, v, K(c, desc));
    }
    set_x(c, rt, old);
    return true;
}

/* Load/store exclusive, acquire/release, CAS, CASP. */
static bool tr_ldst_excl(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    unsigned size = BITS(i, 31, 30), o2 = BIT(i, 23), l = BIT(i, 22), o1 = BIT(i, 21);
    unsigned rs = BITS(i, 20, 16), o0 = BIT(i, 15), rt2 = BITS(i, 14, 10);
    unsigned rn = BITS(i, 9, 5), rt = BITS(i, 4, 0);
    IrVal excl_addr = G(c, A64_G_EXCL_ADDR), excl_val = G(c, A64_G_EXCL_VAL);
    if (BIT(i, 26))
        return undef(c);

    if (o2 && o1) { /* CAS, CASA, CASL, CASAL (Rt2 must be 31) */
        if (rt2 != 31)
            return undef(c);
        uint16_t fl =
            mflags(c, size, false, true, false) | (l ? IR_MEM_ACQ : 0) | (o0 ? IR_MEM_REL : 0);
        IrVal addr = base_copy(c, rn);
        IrVal old;
        if (size >= 2) {
            IrType t = size == 3 ? IR_I64 : IR_I32;
            old = ir_cmpxchg(f, t, fl, addr, rx(c, rs), rx(c, rt));
        } else {
            uint64_t desc = fl & (IR_MEM_SIZE_MASK | IR_MEM_IDX_MASK);
            IrVal args[6] = { addr, rx(c, rs), rx(c, rt), K(c, desc), IR_NONE, IR_NONE };
            old = ir_call(f, &a64_helper_cas, true, args);
        }
        set_x(c, rs, old);
        return true;
    }
    if (!o2 && o1 && size < 2) { /* CASP, CASPA, CASPL, CASPAL */
        if (rt2 != 31 || (rs & 1) || (rt & 1))
            return undef(c);
        IrVal addr = base_copy(c, rn);
        if (size == 0) { /* two words: one 64-bit compare-and-swap */
            uint16_t fl = mflags(c, 3, false, true, false);
            IrVal exp =
                ir_or(f, IR_I64, zext32(c, rx(c, rs)), ir_shl(f, IR_I64, rx(c, rs + 1), K(c, 32)));
            IrVal des =
                ir_or(f, IR_I64, zext32(c, rx(c, rt)), ir_shl(f, IR_I64, rx(c, rt + 1), K(c, 32)));
            IrVal old = ir_cmpxchg(f, IR_I64, fl, addr, exp, des);
            set_x(c, rs, zext32(c, old));
            set_x(c, rs + 1, ir_shr(f, IR_I64, old, K(c, 32)));
        } else {
            uint64_t desc = 4 | ((uint64_t)mmu_idx(c) << IR_MEM_IDX_SHIFT);
            IrVal args[6] = {
                addr, rx(c, rs), rx(c, rs + 1), rx(c, rt), rx(c, rt + 1), K(c, desc)
            };
            IrVal lo = ir_call(f, &a64_helper_cas128, true, args);
            set_x(c, rs, lo);
            set_x(c, rs + 1, G(c, A64_G_TMP));
        }
        return true;
    }
    if (o2) { /* STLR, LDAR (o0 = 1); STLLR/LDLAR need LOR (ARMv8.1) */
        if (!o0 || rs != 31 || rt2 != 31)
            return undef(c);
        if (l) {
            do_load(c, rt, rsp(c, rn), 0, size, false, size == 3, IR_MEM_ALIGN | IR_MEM_ACQ, false);
        } else {
            ir_fence(f, IR_FENCE_FULL);
            do_store(c, rt, rsp(c, rn), 0, size, IR_MEM_ALIGN | IR_MEM_REL, false);
        }
        return true;
    }
    /* LDXR/LDAXR/STXR/STLXR (o1 = 0) and the pair forms LDXP/STXP (o1 = 1, size 1x). */
    bool pair = o1;
    if (!pair && rt2 != 31)
        return undef(c);
    /* A pair is one access of twice the register size: 8 or 16 bytes. */
    unsigned log2 = pair ? (BIT(i, 30) ? 4 : 3) : size;
    IrVal addr = base_copy(c, rn);
    if (l) {
        if (log2 == 4) {
            uint64_t desc = 3 | ((uint64_t)mmu_idx(c) << IR_MEM_IDX_SHIFT);
            IrVal lo = ir_call2(f, &a64_helper_ld128, true, addr, K(c, desc));
            ir_mov(f, excl_addr, addr);
            ir_mov(f, excl_val, lo);
            ir_mov(f, G(c, A64_G_EXCL_VAL2), G(c, A64_G_TMP));
            set_x(c, rt, lo);
            set_x(c, rt2, G(c, A64_G_TMP));
            return true;
        }
        IrVal v = ir_load(f, IR_I64, mflags(c, log2, false, true, false) | (o0 ? IR_MEM_ACQ : 0),
                          addr, 0);
        ir_mov(f, excl_addr, addr);
        ir_mov(f, excl_val, v);
        if (pair) { /* two words */
            set_x(c, rt, zext32(c, v));
            set_x(c, rt2, ir_shr(f, IR_I64, v, K(c, 32)));
        } else {
            set_x(c, rt, v);
        }
        return true;
    }
    /* Store exclusive: Rs gets 0 on success, 1 on failure. */
    unsigned fail = ir_new_label(f), done = ir_new_label(f);
    ir_brcond(f, IR_I64, IR_NE, excl_addr, addr, fail);
    if (o0)
        ir_fence(f, IR_FENCE_FULL);
    if (log2 == 4) {
        uint64_t desc = 4 | ((uint64_t)mmu_idx(c) << IR_MEM_IDX_SHIFT);
        IrVal args[6] = {
            addr, excl_val, G(c, A64_G_EXCL_VAL2), rx(c, rt), rx(c, rt2), K(c, desc)
        };
        IrVal lo = ir_call(f, &a64_helper_cas128, true, args);
        IrVal ok1 = ir_setcond(f, IR_I64, IR_EQ, lo, excl_val);
        IrVal ok2 = ir_setcond(f, IR_I64, IR_EQ, G(c, A64_G_TMP), G(c, A64_G_EXCL_VAL2));
        IrVal ok = ir_and(f, IR_I64, ok1, ok2);
        set_x(c, rs, ir_xor(f, IR_I64, ok, K(c, 1)));
    } else {
        IrVal val;
        if (pair)
            val = ir_or(f, IR_I64, zext32(c, rx(c, rt)), ir_shl(f, IR_I64, rx(c, rt2), K(c, 32)));
        else
            val = rx(c, rt);
        IrType t = log2 == 3 ? IR_I64 : IR_I32;
        IrVal old;
        if (log2 >= 2) {
            old = ir_cmpxchg(f, t, mflags(c, log2, false, true, false), addr, excl_val, val);
        } else {
            uint64_t desc = log2 | ((uint64_t)mmu_idx(c) << IR_MEM_IDX_SHIFT);
            IrVal args[6] = { addr, excl_val, val, K(c, desc), IR_NONE, IR_NONE };
            old = ir_call(f, &a64_helper_cas, true, args);
        }
        IrVal expect = log2 == 3 ? excl_val : ir_unop(f, IR_OP_ZEXT32, IR_I64, excl_val);
        if (log2 < 2)
            expect = ir_and(f, IR_I64, excl_val, K(c, log2 == 0 ? 0xff : 0xffff));
        set_x(c, rs, ir_setcond(f, IR_I64, IR_NE, old, expect));
    }
    ir_br(f, done);
    ir_label(f, fail);
    set_x(c, rs, K(c, 1));
    ir_label(f, done);
    ir_mov(f, excl_addr, K(c, ~0ull));
    return true;
}

static bool tr_ldst(Ctx *c, uint32_t i)
{
    switch (BITS(i, 29, 27)) {
    case 1: /* 0b001: exclusive/ordered/CAS (bits 29:24 = 001000) */
        if (BIT(i, 26))
            return tr_vldst_struct(c, i);
        if (BITS(i, 25, 24) != 0)
            return undef(c);
        return tr_ldst_excl(c, i);
    case 3: /* 0b011: load literal */
        if (BIT(i, 25) || BIT(i, 24))
            return undef(c);
        return tr_ld_literal(c, i);
    case 5: /* 0b101: pairs */
        if (BIT(i, 25))
            return undef(c);
        return tr_ldst_pair(c, i);
    case 7: /* 0b111: single register */
        if (BIT(i, 25))
            return undef(c);
        return tr_ldst_reg(c, i);
    default: return undef(c);
    }
}

/* ---- data processing: register ---- */

static IrVal shift_reg(Ctx *c, bool sf, IrVal v, unsigned type, unsigned amount)
{
    IrFunc *f = c->f;
    IrType t = ty(sf);
    if (amount == 0)
        return v;
    switch (type) {
    case 0: return ir_shl(f, t, v, KT(c, sf, amount));
    case 1: return ir_shr(f, t, v, KT(c, sf, amount));
    case 2: return ir_sar(f, t, v, KT(c, sf, amount));
    default: return ir_rotr(f, t, v, KT(c, sf, amount));
    }
}

static bool tr_logic_shifted(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    bool sf = BIT(i, 31);
    unsigned opc = BITS(i, 30, 29), shift = BITS(i, 23, 22), n = BIT(i, 21);
    unsigned rm = BITS(i, 20, 16), imm6 = BITS(i, 15, 10), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (!sf && imm6 > 31)
        return undef(c);
    IrType t = ty(sf);
    IrVal b = shift_reg(c, sf, rx(c, rm), shift, imm6);
    IrVal a = rx(c, rn), r;
    switch (opc) {
    case 0: r = n ? ir_andc(f, t, a, b) : ir_and(f, t, a, b); break;
    case 1: r = n ? ir_orc(f, t, a, b) : ir_or(f, t, a, b); break;
    case 2: r = n ? ir_unop(f, IR_OP_NOT, t, ir_xor(f, t, a, b)) : ir_xor(f, t, a, b); break;
    default:
        r = n ? ir_andc(f, t, a, b) : ir_and(f, t, a, b);
        flags_logic(c, sf, r);
        break;
    }
    if (!sf && ir_is_const(f, r))
        r = zext32(c, r);
    set_x(c, rd, r);
    return true;
}

static bool tr_addsub_reg(Ctx *c, uint32_t i, bool extended)
{
    bool sf = BIT(i, 31), op = BIT(i, 30), s = BIT(i, 29);
    unsigned rm = BITS(i, 20, 16), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    IrVal a, b;
    if (extended) {
        unsigned opt = BITS(i, 15, 13), imm3 = BITS(i, 12, 10);
        if (BITS(i, 23, 22) != 0 || imm3 > 4)
            return undef(c);
        a = rsp(c, rn);
        b = ext_reg(c, rm, opt, imm3);
    } else {
        unsigned shift = BITS(i, 23, 22), imm6 = BITS(i, 15, 10);
        if (shift == 3 || (!sf && imm6 > 31))
            return undef(c);
        a = rx(c, rn);
        b = shift_reg(c, sf, rx(c, rm), shift, imm6);
    }
    IrVal r = op ? sub_flags(c, sf, a, b, s) : add_flags(c, sf, a, b, IR_NONE, s);
    if (extended && !s)
        set_xsp(c, rd, r);
    else
        set_x(c, rd, r);
    return true;
}

static bool tr_adc(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    bool sf = BIT(i, 31), op = BIT(i, 30), s = BIT(i, 29);
    unsigned rm = BITS(i, 20, 16), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (BITS(i, 15, 10) != 0)
        return undef(c);
    IrType t = ty(sf);
    IrVal b = rx(c, rm);
    if (op)
        b = ir_unop(f, IR_OP_NOT, t, b);
    IrVal cin = ir_temp(f, IR_I64);
    ir_mov(f, cin, G(c, A64_G_CF));
    IrVal r = add_flags(c, sf, rx(c, rn), b, cin, s);
    set_x(c, rd, r);
    return true;
}

static bool tr_ccmp(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    bool sf = BIT(i, 31), op = BIT(i, 30);
    unsigned cond = BITS(i, 15, 12), rn = BITS(i, 9, 5), nzcv = BITS(i, 3, 0);
    if (!BIT(i, 29) || BIT(i, 10) || BIT(i, 4))
        return undef(c);
    IrVal b = BIT(i, 11) ? KT(c, sf, BITS(i, 20, 16)) : rx(c, BITS(i, 20, 16));
    IrVal a = rx(c, rn);
    unsigned yes = ir_new_label(f), done = ir_new_label(f);
    br_cond(c, cond, yes);
    set_nzcv_const(c, nzcv);
    ir_br(f, done);
    ir_label(f, yes);
    if (op)
        sub_flags(c, sf, a, b, true);
    else
        add_flags(c, sf, a, b, IR_NONE, true);
    ir_label(f, done);
    return true;
}

static bool tr_csel(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    bool sf = BIT(i, 31), op = BIT(i, 30);
    unsigned rm = BITS(i, 20, 16), cond = BITS(i, 15, 12), o2 = BITS(i, 11, 10);
    unsigned rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (BIT(i, 29) || o2 > 1)
        return undef(c);
    IrType t = ty(sf);
    IrVal b = rx(c, rm);
    if (op && !o2)
        b = ir_unop(f, IR_OP_NOT, t, b); /* CSINV */
    else if (op && o2)
        b = ir_unop(f, IR_OP_NEG, t, b); /* CSNEG */
    else if (o2)
        b = ir_add(f, t, b, KT(c, sf, 1)); /* CSINC */
    IrVal a = rx(c, rn);
    if (!sf) {
        a = zext32(c, a);
        b = zext32(c, b);
    }
    IrVal r = ir_select(f, IR_I64, cond_val(c, cond), a, b);
    set_x(c, rd, r);
    return true;
}

static bool tr_dp2(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    bool sf = BIT(i, 31);
    unsigned rm = BITS(i, 20, 16), opc = BITS(i, 15, 10), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    IrType t = ty(sf);
    IrVal a = rx(c, rn), b = rx(c, rm), r;
    if (BIT(i, 29))
        return undef(c);
    switch (opc) {
    case 2:   /* UDIV */
    case 3: { /* SDIV: x / 0 = 0, MIN / -1 = MIN (wraps) */
        IrVal q = ir_binop(f, opc == 2 ? IR_OP_DIVU : IR_OP_DIV, t, a, b);
        IrVal nz = ir_setcond(f, t, IR_NE, b, KT(c, sf, 0));
        r = ir_select(f, t, nz, q, KT(c, sf, 0));
        break;
    }
    case 8: r = ir_shl(f, t, a, b); break;
    case 9: r = ir_shr(f, t, a, b); break;
    case 10: r = ir_sar(f, t, a, b); break;
    case 11: r = ir_rotr(f, t, a, b); break;
    case 16:
    case 17:
    case 18:
    case 19:
    case 20:
    case 21:
    case 22:
    case 23: { /* CRC32{B,H,W,X}, CRC32C{...} */
        unsigned sz = opc & 3;
        if ((sz == 3) != sf)
            return undef(c);
        r = ir_call3(f, &a64_helper_crc32, true, a, b, K(c, sz | ((opc & 4) ? 0x100 : 0)));
        break;
    }
    default: return undef(c);
    }
    if (!sf && (ir_val_type(f, r) != IR_I32 || ir_is_const(f, r)))
        r = zext32(c, r);
    set_x(c, rd, r);
    return true;
}

static bool tr_dp1(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    bool sf = BIT(i, 31);
    unsigned opc = BITS(i, 15, 10), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (BITS(i, 20, 16) != 0 || BIT(i, 29))
        return undef(c);
    IrType t = ty(sf);
    IrVal a = rx(c, rn), r;
    switch (opc) {
    case 0: /* RBIT */
        r = ir_call1(f, &a64_helper_rbit, true, a);
        if (!sf)
            r = ir_shr(f, IR_I64, r, K(c, 32));
        break;
    case 1: /* REV16 */
    {
        IrVal hi = ir_and(f, IR_I64, ir_shr(f, IR_I64, a, K(c, 8)), K(c, 0x00ff00ff00ff00ffull));
        IrVal lo = ir_shl(f, IR_I64, ir_and(f, IR_I64, a, K(c, 0x00ff00ff00ff00ffull)), K(c, 8));
        r = ir_or(f, IR_I64, hi, lo);
        if (!sf)
            r = zext32(c, r);
        break;
    }
    case 2: /* REV32 (sf) / REV (32-bit) */
        if (sf) {
            IrVal sw = ir_unop(f, IR_OP_BSWAP, IR_I64, a);
            r = ir_rotr(f, IR_I64, sw, K(c, 32));
        } else {
            r = ir_unop(f, IR_OP_BSWAP, IR_I32, a);
        }
        break;
    case 3: /* REV (64) */
        if (!sf)
            return undef(c);
        r = ir_unop(f, IR_OP_BSWAP, IR_I64, a);
        break;
    case 4: r = ir_unop(f, IR_OP_CLZ, t, a); break;
    case 5: r = ir_call2(f, &a64_helper_cls, true, a, K(c, sf)); break;
    default: return undef(c);
    }
    set_x(c, rd, r);
    return true;
}

static bool tr_dp3(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    bool sf = BIT(i, 31);
    unsigned op54 = BITS(i, 30, 29), op31 = BITS(i, 23, 21), o0 = BIT(i, 15);
    unsigned rm = BITS(i, 20, 16), ra = BITS(i, 14, 10), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if (op54 != 0)
        return undef(c);
    IrVal a = rx(c, rn), b = rx(c, rm), r;
    switch (op31) {
    case 0: { /* MADD, MSUB */
        IrType t = ty(sf);
        IrVal p = ir_mul(f, t, a, b);
        r = o0 ? ir_sub(f, t, rx(c, ra), p) : ir_add(f, t, rx(c, ra), p);
        break;
    }
    case 1:   /* SMADDL, SMSUBL */
    case 5: { /* UMADDL, UMSUBL */
        if (!sf)
            return undef(c);
        IrOpcode ext = op31 == 1 ? IR_OP_SEXT32 : IR_OP_ZEXT32;
        IrVal p = ir_mul(f, IR_I64, ir_unop(f, ext, IR_I64, a), ir_unop(f, ext, IR_I64, b));
        r = o0 ? ir_sub(f, IR_I64, rx(c, ra), p) : ir_add(f, IR_I64, rx(c, ra), p);
        break;
    }
    case 2: /* SMULH */
    case 6: /* UMULH */
        if (!sf || o0 || ra != 31)
            return undef(c);
        r = op31 == 2 ? ir_mulsh(f, IR_I64, a, b) : ir_muluh(f, IR_I64, a, b);
        break;
    default: return undef(c);
    }
    set_x(c, rd, r);
    return true;
}

static bool tr_dp_reg(Ctx *c, uint32_t i)
{
    unsigned op1 = BIT(i, 28), op2 = BITS(i, 24, 21);
    if (!op1) {
        if (!(op2 & 8))
            return tr_logic_shifted(c, i);
        return tr_addsub_reg(c, i, op2 & 1);
    }
    if (op2 & 8)
        return tr_dp3(c, i);
    switch (op2) {
    case 0:
        if (BITS(i, 15, 10) == 0)
            return tr_adc(c, i);
        return undef(c);
    case 2: return tr_ccmp(c, i);
    case 4: return tr_csel(c, i);
    case 6: return BIT(i, 30) ? tr_dp1(c, i) : tr_dp2(c, i);
    default: return undef(c);
    }
}

/*
 * The most frequent scalar FP instructions without a64_helper_simd's run-time decode and
 * its write-back of every global (single and double forms; the others, and every encoding
 * these do not match exactly, go to the helper):
 *  - FMOV/FABS/FNEG (register): Vd = Vn's element, its sign bit kept/cleared/flipped (no NaN
 *    processing, no flags: FPAbs, FPNeg), upper bits zero;
 *  - FMOV between Wn/Xn and Sd/Dd/Vd.D[1]: bit copies;
 *  - FMUL, FDIV, FADD, FSUB: a direct helper call (a64_helper_fp_binop_*), inlined by the
 *    JIT for doubles in its common case;
 *  - FSQRT: a direct helper call; FCMP, FCMPE: a helper returning NZCV, the flags set here.
 */
static bool tr_fp_scalar(Ctx *c, uint32_t i)
{
    IrFunc *f = c->f;
    unsigned ftype = BITS(i, 23, 22), rn = BITS(i, 9, 5), rd = BITS(i, 4, 0);
    if ((i & 0xff200c00u) == 0x1e200800u && ftype < 2 && BITS(i, 15, 12) < 4) {
        /* FMUL, FDIV, FADD, FSUB (scalar): M = 0, S = 0, opcode 0-3 */
        unsigned rm = BITS(i, 20, 16), op = BITS(i, 15, 12);
        const IrHelper *h = ftype ? a64_helper_fp_binop_d[op] : a64_helper_fp_binop_s[op];
        IrVal r = ir_call3(f, h, true, vreg(c, rn, 0), vreg(c, rm, 0), K(c, A64_FP_RM_DYN));
        ir_mov(f, vreg(c, rd, 0), r);
        ir_mov(f, vreg(c, rd, 1), K(c, 0));
        return true;
    }
    if ((i & 0xff20fc07u) == 0x1e202000u && ftype < 2) {
        /* FCMP, FCMPE (op2 bit 4), against #0.0 (op2 bit 3) */
        unsigned rm = BITS(i, 20, 16), op2 = BITS(i, 4, 0);
        IrVal b = (op2 & 8) ? K(c, 0) : vreg(c, rm, 0);
        IrVal n = ir_call3(f, &a64_helper_fcmp, true, vreg(c, rn, 0), b,
                           K(c, ftype | ((op2 & 16) ? 2 : 0)));
        /* As a64_set_nzcv: NF and VF all ones or zero, ZF zero when Z, CF 0 or 1. */
        IrVal one = K(c, 1);
        ir_unop_to(c, IR_OP_NEG, G(c, A64_G_NF),
                   ir_and(f, IR_I64, ir_shr(f, IR_I64, n, K(c, 3)), one));
        ir_mov(f, G(c, A64_G_ZF),
               ir_xor(f, IR_I64, ir_and(f, IR_I64, ir_shr(f, IR_I64, n, K(c, 2)), one), one));
        ir_mov(f, G(c, A64_G_CF), ir_and(f, IR_I64, ir_shr(f, IR_I64, n, one), one));
        ir_unop_to(c, IR_OP_NEG, G(c, A64_G_VF), ir_and(f, IR_I64, n, one));
        return true;
    }
    if ((i & 0xff3e7c00u) == 0x1e204000u && ftype < 2) {
        /* FMOV, FABS, FNEG (register): opc (bits 16:15) 0, 1, 2; FSQRT (3): a direct call */
        unsigned opc = BITS(i, 16, 15);
        if (opc == 3) { /* FSQRT */
            IrVal r = ir_call2(f, &a64_helper_fsqrt, true, vreg(c, rn, 0), K(c, ftype));
            ir_mov(f, vreg(c, rd, 0), r);
            ir_mov(f, vreg(c, rd, 1), K(c, 0));
            return true;
        }
        uint64_t sign = ftype ? 1ull << 63 : 1ull << 31;
        IrVal a = vreg(c, rn, 0);
        if (!ftype)
            a = zext32(c, a);
        if (opc == 1)
            a = ir_and(f, IR_I64, a, K(c, ~sign));
        else if (opc == 2)
            a = ir_xor(f, IR_I64, a, K(c, sign));
        ir_mov(f, vreg(c, rd, 0), a);
        ir_mov(f, vreg(c, rd, 1), K(c, 0));
        return true;
    }
    if ((i & 0x7f36fc00u) == 0x1e260000u) {
        /* FMOV (general): sf:0:0:11110:ftype:1:rmode:11x:000000 */
        unsigned sf = BIT(i, 31), rmode = BITS(i, 20, 19), to_v = BIT(i, 16);
        if (rmode == 0 && ftype == 0 && !sf) { /* Wd <-> Sn */
            if (to_v) {
                ir_mov(f, vreg(c, rd, 0), zext32(c, rx(c, rn)));
                ir_mov(f, vreg(c, rd, 1), K(c, 0));
            } else {
                set_x(c, rd, zext32(c, vreg(c, rn, 0)));
            }
            return true;
        }
        if (rmode == 0 && ftype == 1 && sf) { /* Xd <-> Dn */
            if (to_v) {
                ir_mov(f, vreg(c, rd, 0), rx(c, rn));
                ir_mov(f, vreg(c, rd, 1), K(c, 0));
            } else {
                set_x(c, rd, vreg(c, rn, 0));
            }
            return true;
        }
        if (rmode == 1 && ftype == 2 && sf) { /* Xd <-> Vn.D[1] */
            if (to_v)
                ir_mov(f, vreg(c, rd, 1), rx(c, rn));
            else
                set_x(c, rd, vreg(c, rn, 1));
            return true;
        }
        return false;
    }
    return false;
}

static bool tr_insn(Ctx *c, uint32_t i)
{
    unsigned op0 = BITS(i, 28, 25);
    if ((op0 & 0xe) == 0x8)
        return tr_dp_imm(c, i);
    if ((op0 & 0xe) == 0xa)
        return tr_branch_sys(c, i);
    if ((op0 & 0x5) == 0x4)
        return tr_ldst(c, i);
    if ((op0 & 0x7) == 0x5)
        return tr_dp_reg(c, i);
    if ((op0 & 0x7) == 0x7) { /* scalar FP and Advanced SIMD data processing */
        if (!c->fp)
            return fp_trap(c);
        if (tr_fp_scalar(c, i))
            return true;
        ir_call2(c->f, &a64_helper_simd, false, K(c, i), K(c, c->pc));
        return true;
    }
    return undef(c); /* UDF, SVE and unallocated space */
}

/*
 * Dead flag writes: NZCV is computed eagerly into the NF/ZF/CF/VF globals by every
 * flag-setting instruction; a write that the block itself overwrites before anything could
 * observe it is removed here (ir_optimize then removes what computed it). Backward over the
 * block: every flag is live at a block exit, at a label or branch (control flow not
 * followed), at a load, store or atomic (may fault: the exception saves NZCV in SPSR_EL1) and
 * at a call of a helper that reads or writes the state, may raise or takes the cpu; an
 * instruction that reads a flag makes it live, one that writes it without reading makes it
 * dead before that write. Interrupts are taken only at block boundaries.
 */
static void kill_dead_flags(IrFunc *f)
{
    const unsigned all = 0xf;
    unsigned live = all;
    for (unsigned i = f->nops; i-- > 0;) {
        IrOp *op = &f->ops[i];
        switch ((IrOpcode)op->opc) {
        case IR_OP_NOP:
        case IR_OP_INSN_START: continue;
        case IR_OP_CALL: {
            const IrCall *call = &f->calls[op->aux];
            if (call->helper->flags &
                (IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_RAISE |
                 IR_HELPER_NO_RETURN | IR_HELPER_PASS_CPU)) {
                live = all;
                continue;
            }
            for (unsigned k = 0; k < call->helper->nargs; k++) {
                IrVal v = call->args[k];
                if (v >= A64_G_NF && v <= A64_G_VF)
                    live |= 1u << (v - A64_G_NF);
            }
            continue;
        }
        case IR_OP_LD:
        case IR_OP_ST:
        case IR_OP_ATOMIC_RMW:
        case IR_OP_CMPXCHG:
        case IR_OP_FENCE:
        case IR_OP_LABEL:
        case IR_OP_BR:
        case IR_OP_BRCOND:
        case IR_OP_GOTO_BLOCK:
        case IR_OP_GOTO_PTR:
        case IR_OP_EXIT: live = all; break;
        default: break;
        }
        if (ir_op_has_dst[op->opc] && op->d >= A64_G_NF && op->d <= A64_G_VF &&
            op->opc != IR_OP_CALL && op->opc != IR_OP_LD) {
            unsigned bit = 1u << (op->d - A64_G_NF);
            if (!(live & bit)) {
                *op = (IrOp){ .opc = IR_OP_NOP,
                              .type = IR_I64,
                              .d = IR_NONE,
                              .a = IR_NONE,
                              .b = IR_NONE,
                              .c = IR_NONE };
                continue;
            }
            live &= ~bit;
        }
        IrVal src[3] = { op->a, op->b, op->c };
        for (unsigned k = 0; k < ir_op_nsrc[op->opc] && k < 3; k++)
            if (src[k] >= A64_G_NF && src[k] <= A64_G_VF)
                live |= 1u << (src[k] - A64_G_NF);
    }
}

unsigned a64_translate(VsCpu *cpu, IrFunc *f, uint64_t vpc, uint32_t mode, unsigned *ninsns,
                       uint64_t *ppc2)
{
    (void)ppc2; /* A64 instructions are 4-byte aligned: they never cross a page */
    Ctx c = { .cpu = cpu, .f = f };
    c.el = (mode & A64_MODE_EL1) ? 1 : 0;
    c.align = (mode & A64_MODE_ALIGN) != 0;
    c.fp = (mode & A64_MODE_FP) != 0;
    const uint64_t page_end = (vpc | (GUEST_PAGE_SIZE - 1)) + 1;
    if (vpc & 3) {
        /* A branch left the pc misaligned: PC alignment fault when it executes. */
        c.pc = vpc;
        ir_insn_start(f, vpc);
        ir_call1(f, &a64_helper_pc_align, false, K(&c, vpc));
        ir_exit(f, IR_EXIT_NORMAL);
        *ninsns = 1;
        return 4 - (unsigned)(vpc & 3);
    }
    if (mode & A64_MODE_IL) {
        /* After an illegal exception return: Illegal Execution state fault, before fetch. */
        ir_insn_start(f, vpc);
        ir_call2(f, &a64_helper_exception, false,
                 K(&c, ((uint64_t)A64_EC_ILLEGAL_STATE << 26) | (1u << 25)), K(&c, vpc));
        ir_exit(f, IR_EXIT_NORMAL);
        *ninsns = 1;
        return 4;
    }
    uint8_t *host;
    mmu_translate_code(cpu, vpc, a64_code_mmu_idx(mode), &host);
    uint64_t pc = vpc;
    unsigned n = 0;
    for (;;) {
        if (n >= MAX_BLOCK_INSNS || f->ntemps > MAX_BLOCK_TEMPS) {
            ir_goto_block(f, pc);
            break;
        }
        uint32_t insn;
        memcpy(&insn, host + (pc - vpc), 4);
        c.pc = pc;
        c.insn = insn;
        ir_insn_start(f, pc);
        n++;
        tr_insn(&c, insn);
        pc += 4;
        if (c.end)
            break;
        if (pc >= page_end) {
            ir_goto_block(f, pc);
            break;
        }
    }
    kill_dead_flags(f);
    *ninsns = n;
    return (unsigned)(pc - vpc);
}
