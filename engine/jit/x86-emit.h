/* SPDX-License-Identifier: MIT */
/*
 * A small x86-64 instruction emitter: the encodings the JIT needs, each a function that
 * appends bytes to an XBuf. Register numbers are the hardware ones (X_RAX = 0 .. X_R15 =
 * 15); `w` selects 64-bit operand size (REX.W) over 32-bit. Memory operands are
 * [base + index*scale + disp] with index X_NOREG for none; disp8 is used when it fits.
 *
 * Jumps: the *_label forms emit a rel32 jump and return the offset of its displacement
 * for x_patch_rel32; backward jumps to a known position pick rel8 when it fits.
 * Running out of room sets XBuf.overflow (and stops writing); callers check it once.
 */
#ifndef VESSEL_X86_EMIT_H
#define VESSEL_X86_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    X_RAX = 0,
    X_RCX,
    X_RDX,
    X_RBX,
    X_RSP,
    X_RBP,
    X_RSI,
    X_RDI,
    X_R8,
    X_R9,
    X_R10,
    X_R11,
    X_R12,
    X_R13,
    X_R14,
    X_R15,
    X_NOREG = -1,
};

/* Group-1 ALU operations (the /digit of 0x81/0x83 and the opcode row of the r/m forms). */
typedef enum XAlu {
    X_ADD = 0,
    X_OR = 1,
    X_ADC = 2,
    X_SBB = 3,
    X_AND = 4,
    X_SUB = 5,
    X_XOR = 6,
    X_CMP = 7
} XAlu;
/* Group-2 shifts and rotates. */
typedef enum XShift { X_ROL = 0, X_ROR = 1, X_SHL = 4, X_SHR = 5, X_SAR = 7 } XShift;
/* Group-3 unary operations (0xF7 /digit). */
typedef enum XUnary { X_NOT = 2, X_NEG = 3, X_MUL = 4, X_IMUL1 = 5, X_DIV = 6, X_IDIV = 7 } XUnary;
/* Condition codes (the low nibble of Jcc/SETcc/CMOVcc). */
typedef enum XCond {
    X_CC_O = 0,
    X_CC_NO = 1,
    X_CC_B = 2,
    X_CC_AE = 3,
    X_CC_E = 4,
    X_CC_NE = 5,
    X_CC_BE = 6,
    X_CC_A = 7,
    X_CC_S = 8,
    X_CC_NS = 9,
    X_CC_P = 10,
    X_CC_NP = 11,
    X_CC_L = 12,
    X_CC_GE = 13,
    X_CC_LE = 14,
    X_CC_G = 15,
} XCond;

typedef struct XBuf {
    uint8_t *start, *p, *end;
    bool overflow;
} XBuf;

static inline void x_init(XBuf *b, void *mem, size_t size)
{
    b->start = b->p = mem;
    b->end = b->start + size;
    b->overflow = false;
}
static inline size_t x_pos(const XBuf *b)
{
    return (size_t)(b->p - b->start);
}

void x_byte(XBuf *b, uint8_t v);

/* Integer ALU. */
void x_alu_rr(XBuf *b, XAlu op, bool w, int dst, int src);
void x_alu_ri(XBuf *b, XAlu op, bool w, int dst, int32_t imm);
void x_alu_rm(XBuf *b, XAlu op, bool w, int dst, int base, int32_t disp); /* op dst, [m] */
void x_alu_mi(XBuf *b, XAlu op, bool w, int base, int32_t disp, int32_t imm);
void x_test_rr(XBuf *b, bool w, int a, int c);
void x_test_ri(XBuf *b, bool w, int a, int32_t imm);
void x_shift_ri(XBuf *b, XShift op, bool w, int r, uint8_t count);
void x_shift_rcl(XBuf *b, XShift op, bool w, int r); /* count in cl */
void x_unary(XBuf *b, XUnary op, bool w, int r);     /* not/neg/mul/imul/div/idiv r */
void x_imul_rr(XBuf *b, bool w, int dst, int src);
void x_imul_rri(XBuf *b, bool w, int dst, int src, int32_t imm);
void x_cqo(XBuf *b, bool w); /* cqo (w) or cdq */

/* Moves. */
void x_mov_rr(XBuf *b, bool w, int dst, int src);
void x_mov_ri(XBuf *b, int dst, uint64_t imm); /* shortest form giving the 64-bit value */
/* Loads: size 1/2/4/8 bytes zero-extended to 64 bits (movzx/mov). */
void x_load(XBuf *b, unsigned size, int dst, int base, int index, int scale, int32_t disp);
/* Sign-extending load of size 1/2/4 into 32 (w false) or 64 bits. */
void x_load_sx(XBuf *b, unsigned size, bool w, int dst, int base, int index, int scale,
               int32_t disp);
void x_store(XBuf *b, unsigned size, int base, int index, int scale, int32_t disp, int src);
void x_store_imm(XBuf *b, unsigned size, int base, int32_t disp, int32_t imm);
void x_lea(XBuf *b, bool w, int dst, int base, int index, int scale, int32_t disp);
/* lea dst, [rip + target]: target is a position in this buffer. */
void x_lea_rip(XBuf *b, int dst, size_t target);
void x_movzx_rr(XBuf *b, unsigned size, int dst, int src);         /* size 1/2 -> 32 (zero to 64) */
void x_movsx_rr(XBuf *b, unsigned size, bool w, int dst, int src); /* size 1/2/4 */
void x_setcc(XBuf *b, XCond cc, int r);                            /* 8-bit register */
void x_cmov(XBuf *b, XCond cc, bool w, int dst, int src);
void x_bswap(XBuf *b, bool w, int r);
void x_bsr(XBuf *b, bool w, int dst, int src);
void x_bsf(XBuf *b, bool w, int dst, int src);
void x_popcnt(XBuf *b, bool w, int dst, int src);
void x_bt_ri(XBuf *b, bool w, int r, uint8_t bit);

/* Atomics and fences (memory operand [base + disp]). */
void x_xchg_mr(XBuf *b, unsigned size, int base, int32_t disp, int r);
void x_lock_xadd(XBuf *b, unsigned size, int base, int32_t disp, int r);
void x_lock_cmpxchg(XBuf *b, unsigned size, int base, int32_t disp, int r);
void x_mfence(XBuf *b);

/* SSE2 moves between general registers and xmm registers / memory. */
void x_movq_xr(XBuf *b, int xmm, int r);
void x_movq_rx(XBuf *b, int r, int xmm);
void x_movsd_xm(XBuf *b, int xmm, int base, int32_t disp);
void x_movsd_mx(XBuf *b, int base, int32_t disp, int xmm);
/* Scalar SSE arithmetic xd op= xs: op is the 0F opcode byte (0x58 add, 0x59 mul, 0x5C sub,
 * 0x5E div), dbl selects the sd form (F2), else ss (F3). */
void x_sse_arith(XBuf *b, uint8_t op, bool dbl, int xd, int xs);

/* Stack and control flow. */
void x_push(XBuf *b, int r);
void x_pop(XBuf *b, int r);
void x_ret(XBuf *b);
void x_call_r(XBuf *b, int r);
void x_jmp_r(XBuf *b, int r);
/* rel32 jumps whose target is patched later; return the position of the displacement. */
size_t x_jmp_label(XBuf *b);
size_t x_jcc_label(XBuf *b, XCond cc);
/* Make the rel32 at disp_pos jump to target (a position in the buffer). */
void x_patch_rel32(XBuf *b, size_t disp_pos, size_t target);
/* Short (rel8) forward jumps for small local skips; patched by x_patch_rel8. */
size_t x_jmp8_label(XBuf *b);
size_t x_jcc8_label(XBuf *b, XCond cc);
void x_patch_rel8(XBuf *b, size_t disp_pos, size_t target);
/* Jumps to a known position (backward): rel8 when it fits, else rel32. */
void x_jmp_to(XBuf *b, size_t target);
void x_jcc_to(XBuf *b, XCond cc, size_t target);

static inline bool x_fits_i32(int64_t v)
{
    return v == (int32_t)v;
}

#endif
