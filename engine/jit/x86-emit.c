/* SPDX-License-Identifier: MIT */
/* x86-64 encodings (see x86-emit.h). Reference: Intel SDM vol. 2, chapter 2 and the tables. */
#include <string.h>

#include "jit/x86-emit.h"

void x_byte(XBuf *b, uint8_t v)
{
    if (b->p >= b->end) {
        b->overflow = true;
        return;
    }
    *b->p++ = v;
}

static void x_u16(XBuf *b, uint16_t v)
{
    x_byte(b, (uint8_t)v);
    x_byte(b, (uint8_t)(v >> 8));
}

static void x_u32(XBuf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        x_byte(b, (uint8_t)(v >> (8 * i)));
}

static void x_u64(XBuf *b, uint64_t v)
{
    x_u32(b, (uint32_t)v);
    x_u32(b, (uint32_t)(v >> 32));
}

/* REX prefix if needed. byte_reg: the register used as an 8-bit operand, or -1 (spl, bpl, sil
 * and dil are only reachable with a REX prefix). */
static void rex(XBuf *b, bool w, int reg, int index, int base, int byte_reg)
{
    uint8_t r = 0x40;
    if (w)
        r |= 8;
    if (reg >= 8)
        r |= 4;
    if (index >= 8)
        r |= 2;
    if (base >= 8)
        r |= 1;
    bool need = r != 0x40 || (byte_reg >= 4 && byte_reg < 8);
    if (need)
        x_byte(b, r);
}

/* ModRM for a register-direct operand. */
static void modrm_rr(XBuf *b, int reg, int rm)
{
    x_byte(b, (uint8_t)(0xC0 | ((reg & 7) << 3) | (rm & 7)));
}

/* ModRM/SIB/displacement for [base + index*scale + disp]. */
static void modrm_mem(XBuf *b, int reg, int base, int index, int scale, int32_t disp)
{
    int ss = scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
    int mod;
    if (disp == 0 && (base & 7) != X_RBP)
        mod = 0;
    else if (disp == (int8_t)disp)
        mod = 1;
    else
        mod = 2;
    if (index == X_NOREG && (base & 7) != X_RSP) {
        x_byte(b, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (base & 7)));
    } else {
        x_byte(b, (uint8_t)((mod << 6) | ((reg & 7) << 3) | 4));
        int idx = index == X_NOREG ? 4 : (index & 7); /* 4 = no index (rsp cannot be one) */
        x_byte(b, (uint8_t)((ss << 6) | (idx << 3) | (base & 7)));
    }
    if (mod == 1)
        x_byte(b, (uint8_t)disp);
    else if (mod == 2)
        x_u32(b, (uint32_t)disp);
}

/* opcode bytes (1..3) with a register-direct operand. */
static void op_rr(XBuf *b, bool w, const uint8_t *opc, int n, int reg, int rm, bool byte_rm)
{
    rex(b, w, reg, 0, rm, byte_rm ? rm : -1);
    for (int i = 0; i < n; i++)
        x_byte(b, opc[i]);
    modrm_rr(b, reg, rm);
}

static void op_rm(XBuf *b, bool w, const uint8_t *opc, int n, int reg, int base, int index,
                  int scale, int32_t disp, bool byte_reg)
{
    rex(b, w, reg, index == X_NOREG ? 0 : index, base, byte_reg ? reg : -1);
    for (int i = 0; i < n; i++)
        x_byte(b, opc[i]);
    modrm_mem(b, reg, base, index, scale, disp);
}

/* ---- ALU ---- */

void x_alu_rr(XBuf *b, XAlu op, bool w, int dst, int src)
{
    uint8_t o = (uint8_t)(op * 8 + 1); /* op r/m, reg */
    op_rr(b, w, &o, 1, src, dst, false);
}

void x_alu_ri(XBuf *b, XAlu op, bool w, int dst, int32_t imm)
{
    uint8_t o = imm == (int8_t)imm ? 0x83 : 0x81;
    op_rr(b, w, &o, 1, (int)op, dst, false);
    if (o == 0x83)
        x_byte(b, (uint8_t)imm);
    else
        x_u32(b, (uint32_t)imm);
}

void x_alu_rm(XBuf *b, XAlu op, bool w, int dst, int base, int32_t disp)
{
    uint8_t o = (uint8_t)(op * 8 + 3); /* op reg, r/m */
    op_rm(b, w, &o, 1, dst, base, X_NOREG, 1, disp, false);
}

void x_alu_mi(XBuf *b, XAlu op, bool w, int base, int32_t disp, int32_t imm)
{
    uint8_t o = imm == (int8_t)imm ? 0x83 : 0x81;
    op_rm(b, w, &o, 1, (int)op, base, X_NOREG, 1, disp, false);
    if (o == 0x83)
        x_byte(b, (uint8_t)imm);
    else
        x_u32(b, (uint32_t)imm);
}

void x_test_rr(XBuf *b, bool w, int a, int c)
{
    static const uint8_t o = 0x85;
    op_rr(b, w, &o, 1, c, a, false);
}

void x_test_ri(XBuf *b, bool w, int a, int32_t imm)
{
    static const uint8_t o = 0xF7;
    op_rr(b, w, &o, 1, 0, a, false);
    x_u32(b, (uint32_t)imm);
}

void x_shift_ri(XBuf *b, XShift op, bool w, int r, uint8_t count)
{
    uint8_t o = count == 1 ? 0xD1 : 0xC1;
    op_rr(b, w, &o, 1, (int)op, r, false);
    if (count != 1)
        x_byte(b, count);
}

void x_shift_rcl(XBuf *b, XShift op, bool w, int r)
{
    static const uint8_t o = 0xD3;
    op_rr(b, w, &o, 1, (int)op, r, false);
}

void x_unary(XBuf *b, XUnary op, bool w, int r)
{
    static const uint8_t o = 0xF7;
    op_rr(b, w, &o, 1, (int)op, r, false);
}

void x_imul_rr(XBuf *b, bool w, int dst, int src)
{
    static const uint8_t o[2] = { 0x0F, 0xAF };
    op_rr(b, w, o, 2, dst, src, false);
}

void x_imul_rri(XBuf *b, bool w, int dst, int src, int32_t imm)
{
    uint8_t o = imm == (int8_t)imm ? 0x6B : 0x69;
    op_rr(b, w, &o, 1, dst, src, false);
    if (o == 0x6B)
        x_byte(b, (uint8_t)imm);
    else
        x_u32(b, (uint32_t)imm);
}

void x_cqo(XBuf *b, bool w)
{
    if (w)
        x_byte(b, 0x48);
    x_byte(b, 0x99);
}

/* ---- moves ---- */

void x_mov_rr(XBuf *b, bool w, int dst, int src)
{
    static const uint8_t o = 0x89;
    op_rr(b, w, &o, 1, src, dst, false);
}

void x_mov_ri(XBuf *b, int dst, uint64_t imm)
{
    if (imm == 0) {
        x_alu_rr(b, X_XOR, false, dst, dst);
    } else if (imm <= UINT32_MAX) {
        rex(b, false, 0, 0, dst, -1);
        x_byte(b, (uint8_t)(0xB8 + (dst & 7)));
        x_u32(b, (uint32_t)imm);
    } else if (x_fits_i32((int64_t)imm)) {
        static const uint8_t o = 0xC7;
        op_rr(b, true, &o, 1, 0, dst, false);
        x_u32(b, (uint32_t)imm);
    } else {
        rex(b, true, 0, 0, dst, -1);
        x_byte(b, (uint8_t)(0xB8 + (dst & 7)));
        x_u64(b, imm);
    }
}

void x_load(XBuf *b, unsigned size, int dst, int base, int index, int scale, int32_t disp)
{
    static const uint8_t movzx8[2] = { 0x0F, 0xB6 }, movzx16[2] = { 0x0F, 0xB7 }, mov = 0x8B;
    switch (size) {
    case 1: op_rm(b, false, movzx8, 2, dst, base, index, scale, disp, false); break;
    case 2: op_rm(b, false, movzx16, 2, dst, base, index, scale, disp, false); break;
    case 4: op_rm(b, false, &mov, 1, dst, base, index, scale, disp, false); break;
    default: op_rm(b, true, &mov, 1, dst, base, index, scale, disp, false); break;
    }
}

void x_load_sx(XBuf *b, unsigned size, bool w, int dst, int base, int index, int scale,
               int32_t disp)
{
    static const uint8_t movsx8[2] = { 0x0F, 0xBE }, movsx16[2] = { 0x0F, 0xBF }, movsxd = 0x63,
                         mov = 0x8B;
    switch (size) {
    case 1: op_rm(b, w, movsx8, 2, dst, base, index, scale, disp, false); break;
    case 2: op_rm(b, w, movsx16, 2, dst, base, index, scale, disp, false); break;
    default:
        if (w)
            op_rm(b, true, &movsxd, 1, dst, base, index, scale, disp, false);
        else
            op_rm(b, false, &mov, 1, dst, base, index, scale, disp, false);
        break;
    }
}

void x_store(XBuf *b, unsigned size, int base, int index, int scale, int32_t disp, int src)
{
    static const uint8_t mov8 = 0x88, mov = 0x89;
    switch (size) {
    case 1: op_rm(b, false, &mov8, 1, src, base, index, scale, disp, true); break;
    case 2:
        x_byte(b, 0x66);
        op_rm(b, false, &mov, 1, src, base, index, scale, disp, false);
        break;
    case 4: op_rm(b, false, &mov, 1, src, base, index, scale, disp, false); break;
    default: op_rm(b, true, &mov, 1, src, base, index, scale, disp, false); break;
    }
}

void x_store_imm(XBuf *b, unsigned size, int base, int32_t disp, int32_t imm)
{
    static const uint8_t mov8 = 0xC6, mov = 0xC7;
    switch (size) {
    case 1:
        op_rm(b, false, &mov8, 1, 0, base, X_NOREG, 1, disp, false);
        x_byte(b, (uint8_t)imm);
        break;
    case 2:
        x_byte(b, 0x66);
        op_rm(b, false, &mov, 1, 0, base, X_NOREG, 1, disp, false);
        x_u16(b, (uint16_t)imm);
        break;
    default:
        op_rm(b, size == 8, &mov, 1, 0, base, X_NOREG, 1, disp, false);
        x_u32(b, (uint32_t)imm);
        break;
    }
}

void x_lea(XBuf *b, bool w, int dst, int base, int index, int scale, int32_t disp)
{
    static const uint8_t o = 0x8D;
    op_rm(b, w, &o, 1, dst, base, index, scale, disp, false);
}

void x_lea_rip(XBuf *b, int dst, size_t target)
{
    rex(b, true, dst, 0, 0, -1);
    x_byte(b, 0x8D);
    x_byte(b, (uint8_t)(((dst & 7) << 3) | 5));
    int64_t rel = (int64_t)target - (int64_t)(x_pos(b) + 4);
    x_u32(b, (uint32_t)(int32_t)rel);
}

void x_movzx_rr(XBuf *b, unsigned size, int dst, int src)
{
    static const uint8_t movzx8[2] = { 0x0F, 0xB6 }, movzx16[2] = { 0x0F, 0xB7 };
    if (size == 1)
        op_rr(b, false, movzx8, 2, dst, src, true);
    else
        op_rr(b, false, movzx16, 2, dst, src, false);
}

void x_movsx_rr(XBuf *b, unsigned size, bool w, int dst, int src)
{
    static const uint8_t movsx8[2] = { 0x0F, 0xBE }, movsx16[2] = { 0x0F, 0xBF }, movsxd = 0x63;
    if (size == 1)
        op_rr(b, w, movsx8, 2, dst, src, true);
    else if (size == 2)
        op_rr(b, w, movsx16, 2, dst, src, false);
    else
        op_rr(b, true, &movsxd, 1, dst, src, false);
}

void x_setcc(XBuf *b, XCond cc, int r)
{
    uint8_t o[2] = { 0x0F, (uint8_t)(0x90 + cc) };
    op_rr(b, false, o, 2, 0, r, true);
}

void x_cmov(XBuf *b, XCond cc, bool w, int dst, int src)
{
    uint8_t o[2] = { 0x0F, (uint8_t)(0x40 + cc) };
    op_rr(b, w, o, 2, dst, src, false);
}

void x_bswap(XBuf *b, bool w, int r)
{
    rex(b, w, 0, 0, r, -1);
    x_byte(b, 0x0F);
    x_byte(b, (uint8_t)(0xC8 + (r & 7)));
}

void x_bsr(XBuf *b, bool w, int dst, int src)
{
    static const uint8_t o[2] = { 0x0F, 0xBD };
    op_rr(b, w, o, 2, dst, src, false);
}

void x_bsf(XBuf *b, bool w, int dst, int src)
{
    static const uint8_t o[2] = { 0x0F, 0xBC };
    op_rr(b, w, o, 2, dst, src, false);
}

void x_popcnt(XBuf *b, bool w, int dst, int src)
{
    static const uint8_t o[2] = { 0x0F, 0xB8 };
    x_byte(b, 0xF3); /* mandatory prefix before REX */
    op_rr(b, w, o, 2, dst, src, false);
}

void x_bt_ri(XBuf *b, bool w, int r, uint8_t bit)
{
    static const uint8_t o[2] = { 0x0F, 0xBA };
    op_rr(b, w, o, 2, 4, r, false);
    x_byte(b, bit);
}

/* ---- atomics ---- */

void x_xchg_mr(XBuf *b, unsigned size, int base, int32_t disp, int r)
{
    static const uint8_t o = 0x87; /* xchg is implicitly locked with a memory operand */
    op_rm(b, size == 8, &o, 1, r, base, X_NOREG, 1, disp, false);
}

void x_lock_xadd(XBuf *b, unsigned size, int base, int32_t disp, int r)
{
    static const uint8_t o[2] = { 0x0F, 0xC1 };
    x_byte(b, 0xF0);
    op_rm(b, size == 8, o, 2, r, base, X_NOREG, 1, disp, false);
}

void x_lock_cmpxchg(XBuf *b, unsigned size, int base, int32_t disp, int r)
{
    static const uint8_t o[2] = { 0x0F, 0xB1 };
    x_byte(b, 0xF0);
    op_rm(b, size == 8, o, 2, r, base, X_NOREG, 1, disp, false);
}

void x_mfence(XBuf *b)
{
    x_byte(b, 0x0F);
    x_byte(b, 0xAE);
    x_byte(b, 0xF0);
}

/* ---- SSE2 ---- */

void x_movq_xr(XBuf *b, int xmm, int r)
{
    static const uint8_t o[2] = { 0x0F, 0x6E };
    x_byte(b, 0x66);
    op_rr(b, true, o, 2, xmm, r, false);
}

void x_movq_rx(XBuf *b, int r, int xmm)
{
    static const uint8_t o[2] = { 0x0F, 0x7E };
    x_byte(b, 0x66);
    op_rr(b, true, o, 2, xmm, r, false);
}

void x_sse_arith(XBuf *b, uint8_t op, bool dbl, int xd, int xs)
{
    const uint8_t o[2] = { 0x0F, op };
    x_byte(b, dbl ? 0xF2 : 0xF3);
    op_rr(b, false, o, 2, xd, xs, false);
}

void x_movsd_xm(XBuf *b, int xmm, int base, int32_t disp)
{
    static const uint8_t o[2] = { 0x0F, 0x10 };
    x_byte(b, 0xF2);
    op_rm(b, false, o, 2, xmm, base, X_NOREG, 1, disp, false);
}

void x_movsd_mx(XBuf *b, int base, int32_t disp, int xmm)
{
    static const uint8_t o[2] = { 0x0F, 0x11 };
    x_byte(b, 0xF2);
    op_rm(b, false, o, 2, xmm, base, X_NOREG, 1, disp, false);
}

/* ---- stack and control flow ---- */

void x_push(XBuf *b, int r)
{
    rex(b, false, 0, 0, r, -1);
    x_byte(b, (uint8_t)(0x50 + (r & 7)));
}

void x_pop(XBuf *b, int r)
{
    rex(b, false, 0, 0, r, -1);
    x_byte(b, (uint8_t)(0x58 + (r & 7)));
}

void x_ret(XBuf *b)
{
    x_byte(b, 0xC3);
}

void x_call_r(XBuf *b, int r)
{
    static const uint8_t o = 0xFF;
    op_rr(b, false, &o, 1, 2, r, false);
}

void x_jmp_r(XBuf *b, int r)
{
    static const uint8_t o = 0xFF;
    op_rr(b, false, &o, 1, 4, r, false);
}

size_t x_jmp_label(XBuf *b)
{
    x_byte(b, 0xE9);
    size_t at = x_pos(b);
    x_u32(b, 0);
    return at;
}

size_t x_jcc_label(XBuf *b, XCond cc)
{
    x_byte(b, 0x0F);
    x_byte(b, (uint8_t)(0x80 + cc));
    size_t at = x_pos(b);
    x_u32(b, 0);
    return at;
}

void x_patch_rel32(XBuf *b, size_t disp_pos, size_t target)
{
    if (b->overflow || disp_pos + 4 > (size_t)(b->end - b->start))
        return;
    int32_t rel = (int32_t)((int64_t)target - (int64_t)(disp_pos + 4));
    memcpy(b->start + disp_pos, &rel, 4);
}

size_t x_jmp8_label(XBuf *b)
{
    x_byte(b, 0xEB);
    size_t at = x_pos(b);
    x_byte(b, 0);
    return at;
}

size_t x_jcc8_label(XBuf *b, XCond cc)
{
    x_byte(b, (uint8_t)(0x70 + cc));
    size_t at = x_pos(b);
    x_byte(b, 0);
    return at;
}

void x_patch_rel8(XBuf *b, size_t disp_pos, size_t target)
{
    int64_t rel = (int64_t)target - (int64_t)(disp_pos + 1);
    if (rel != (int8_t)rel) {
        b->overflow = true; /* a caller bug: the skipped code was too long */
        return;
    }
    if (!b->overflow && disp_pos < (size_t)(b->end - b->start))
        b->start[disp_pos] = (uint8_t)rel;
}

void x_jmp_to(XBuf *b, size_t target)
{
    int64_t rel8 = (int64_t)target - (int64_t)(x_pos(b) + 2);
    if (rel8 == (int8_t)rel8) {
        x_byte(b, 0xEB);
        x_byte(b, (uint8_t)rel8);
        return;
    }
    x_patch_rel32(b, x_jmp_label(b), target);
}

void x_jcc_to(XBuf *b, XCond cc, size_t target)
{
    int64_t rel8 = (int64_t)target - (int64_t)(x_pos(b) + 2);
    if (rel8 == (int8_t)rel8) {
        x_byte(b, (uint8_t)(0x70 + cc));
        x_byte(b, (uint8_t)rel8);
        return;
    }
    x_patch_rel32(b, x_jcc_label(b, cc), target);
}
