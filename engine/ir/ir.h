/* SPDX-License-Identifier: MIT */
/*
 * Vessel IR: typed three-address micro-ops, one fixed-size record each, a block is one array.
 *
 * Values are 16-bit ids into the block's value table:
 *   - globals: guest state fields, addressed by byte offset from the CPU state base (the
 *     VsCpu at the start of the arch CPU struct). Registered once per arch; ids
 *     [0, nglobals). They live in memory; the interpreter reads them in place, the JIT may
 *     cache them in host registers within a block.
 *   - temps: block-local scratch values. They may live across labels inside the block but
 *     never across blocks.
 *   - consts: 64-bit constants (typed).
 *
 * Types: I32 and I64. Every value occupies a 64-bit slot; an I32 result is stored
 * zero-extended to 64 bits, and I32 ops read only the low 32 bits of their operands.
 *
 * Semantics that the IR defines (frontends rely on them; the JIT must match):
 *   - shifts and rotates take the count modulo the type width;
 *   - div/rem: divide by zero gives div = all ones, rem = dividend (unsigned and signed);
 *     signed overflow (MIN / -1) gives div = MIN, rem = 0 (the RISC-V rules). Other
 *     frontends adjust with select where their architecture differs;
 *   - clz/ctz of zero give the width;
 *   - loads/stores: size 1/2/4/8, little-endian guest memory, misaligned allowed unless
 *     IR_MEM_ALIGN is set (then a misaligned address raises the arch's alignment fault).
 */
#ifndef VESSEL_IR_H
#define VESSEL_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef uint16_t IrVal;
#define IR_NONE            ((IrVal)0xffff)
#define IR_MAX_VALUES      0xfff0
#define IR_MAX_GLOBALS     256
#define IR_MAX_TEMPS       1024 /* per block; the interpreter's temp frame has this many slots */
#define IR_MAX_HELPER_ARGS 6

typedef enum IrType { IR_I32 = 0, IR_I64 = 1 } IrType;

typedef enum IrValKind { IR_VK_GLOBAL = 0, IR_VK_TEMP = 1, IR_VK_CONST = 2 } IrValKind;

/* Conditions for setcond/brcond (integer compares). */
typedef enum IrCond {
    IR_EQ = 0,
    IR_NE,
    IR_LT,
    IR_GE,
    IR_LE,
    IR_GT, /* signed */
    IR_LTU,
    IR_GEU,
    IR_LEU,
    IR_GTU, /* unsigned */
    IR_TSTEQ,
    IR_TSTNE, /* (a & b) == 0, != 0 */
    IR_COND_COUNT
} IrCond;

/* Memory op flags (IrOp.flags for ld/st/atomics). */
enum {
    IR_MEM_SIZE_MASK = 0x3, /* log2 of size: 0..3 */
    IR_MEM_SIGN = 1u << 2,  /* sign-extend a load */
    IR_MEM_ALIGN = 1u << 3, /* misaligned access faults */
    IR_MEM_IDX_SHIFT = 4,   /* MMU index (0..7) in bits 4..6 */
    IR_MEM_IDX_MASK = 0x7u << 4,
    IR_MEM_ACQ = 1u << 7, /* acquire ordering (atomics) */
    IR_MEM_REL = 1u << 8, /* release ordering (atomics) */
};
#define IR_MEMFLAGS(log2size, sign, align, mmu_idx)                                      \
    ((uint16_t)((log2size) | ((sign) ? IR_MEM_SIGN : 0) | ((align) ? IR_MEM_ALIGN : 0) | \
                ((unsigned)(mmu_idx) << IR_MEM_IDX_SHIFT)))
#define IR_MEM_LOG2SIZE(f) ((f)&IR_MEM_SIZE_MASK)
#define IR_MEM_MMUIDX(f)   (((f)&IR_MEM_IDX_MASK) >> IR_MEM_IDX_SHIFT)

/* Atomic read-modify-write operations (IR_OP_ATOMIC_RMW, in IrOp.aux). */
typedef enum IrAtomicOp {
    IR_AMO_XCHG = 0,
    IR_AMO_ADD,
    IR_AMO_AND,
    IR_AMO_OR,
    IR_AMO_XOR,
    IR_AMO_SMIN,
    IR_AMO_SMAX,
    IR_AMO_UMIN,
    IR_AMO_UMAX,
    IR_AMO_COUNT
} IrAtomicOp;

/* Helper flags. */
enum {
    IR_HELPER_PURE = 1u << 0,         /* no side effects, result depends only on args */
    IR_HELPER_READS_STATE = 1u << 1,  /* reads guest state through the cpu pointer */
    IR_HELPER_WRITES_STATE = 1u << 2, /* writes guest state through the cpu pointer */
    IR_HELPER_MAY_RAISE = 1u << 3,    /* may raise a guest exception (needs precise PC) */
    IR_HELPER_NO_RETURN = 1u << 4,    /* always raises or exits; never returns */
    IR_HELPER_PASS_CPU = 1u << 5,     /* first C argument is the VsCpu* (not an IR arg) */
    /* With WRITES_STATE: the state it writes is never accessed as an IR global by any
     * translation (RISC-V's accrued FP flags), so globals held in host registers stay valid
     * across the call (the JIT keeps them; ordering against other state is unchanged). */
    IR_HELPER_KEEPS_GLOBALS = 1u << 6,
    /* The helper is the `helper` member of an IrHostFpHelper (a JIT may inline its common
     * case as one host SSE instruction; see there). */
    IR_HELPER_HOST_FP = 1u << 7,
};

/*
 * A helper: a C function taking up to six uint64_t arguments (after the optional cpu
 * pointer) and returning uint64_t. Helpers are described by a static IrHelper so the
 * printer can name them.
 */
typedef struct IrHelper {
    const char *name;
    void *fn;
    uint8_t nargs; /* IR arguments, not counting the cpu pointer */
    uint8_t flags;
} IrHelper;

/*
 * An IEEE 754 binary operation helper (args: a, b, rounding-mode constant) whose result a
 * JIT may compute inline as one host SSE instruction (addsd/subsd/mulsd/divsd, or the ss
 * form on the low 32 bits), skipping the call, when all of these hold:
 *  - the rounding-mode argument is the constant rm_rne, or rm_dyn and the 64-bit word at
 *    frm_off (from the cpu pointer; a global, current in memory at the call) is rm_rne;
 *  - the 64-bit word at flags_off (accrued flags, never an IR global) has nx_mask set;
 *  - for single (!dbl): both operands have all-ones upper 32 bits (NaN-boxed);
 *  - the host result (round-to-nearest-even, DAZ/FTZ off, exceptions masked) has a
 *    magnitude above the smallest normal number and below infinity.
 * The helper then returns exactly that result (singles NaN-boxed) and changes no state.
 */
enum { IR_HOSTFP_ADD, IR_HOSTFP_SUB, IR_HOSTFP_MUL, IR_HOSTFP_DIV };
typedef struct IrHostFpHelper {
    IrHelper helper; /* flags include IR_HELPER_HOST_FP */
    uint8_t op;      /* IR_HOSTFP_* */
    bool dbl;
    uint8_t rm_rne, rm_dyn;
    uint32_t flags_off, frm_off;
    uint64_t nx_mask;
} IrHostFpHelper;

/* clang-format off */
#define IR_OPCODES(X)                                                                             \
    /* name           nsrc has_dst */                                                             \
    X(NOP,         0, 0)                                                                          \
    X(INSN_START,  0, 0) /* aux: index into pcs[] (guest pc of the insn) */                       \
    X(MOV,         1, 1)                                                                          \
    X(ADD,         2, 1)                                                                          \
    X(SUB,         2, 1)                                                                          \
    X(MUL,         2, 1)                                                                          \
    X(MULSH,       2, 1) /* high half of signed*signed */                                         \
    X(MULUH,       2, 1) /* high half of unsigned*unsigned */                                     \
    X(MULSUH,      2, 1) /* high half of signed*unsigned */                                       \
    X(DIV,         2, 1)                                                                          \
    X(DIVU,        2, 1)                                                                          \
    X(REM,         2, 1)                                                                          \
    X(REMU,        2, 1)                                                                          \
    X(AND,         2, 1)                                                                          \
    X(OR,          2, 1)                                                                          \
    X(XOR,         2, 1)                                                                          \
    X(ANDC,        2, 1) /* a & ~b */                                                             \
    X(ORC,         2, 1) /* a | ~b */                                                             \
    X(NOT,         1, 1)                                                                          \
    X(NEG,         1, 1)                                                                          \
    X(SHL,         2, 1)                                                                          \
    X(SHR,         2, 1)                                                                          \
    X(SAR,         2, 1)                                                                          \
    X(ROTL,        2, 1)                                                                          \
    X(ROTR,        2, 1)                                                                          \
    X(SEXT8,       1, 1)                                                                          \
    X(SEXT16,      1, 1)                                                                          \
    X(SEXT32,      1, 1)                                                                          \
    X(ZEXT8,       1, 1)                                                                          \
    X(ZEXT16,      1, 1)                                                                          \
    X(ZEXT32,      1, 1)                                                                          \
    X(CLZ,         1, 1)                                                                          \
    X(CTZ,         1, 1)                                                                          \
    X(POPCNT,      1, 1)                                                                          \
    X(BSWAP,       1, 1) /* byte swap of the whole type */                                        \
    X(SMIN,        2, 1)                                                                          \
    X(SMAX,        2, 1)                                                                          \
    X(UMIN,        2, 1)                                                                          \
    X(UMAX,        2, 1)                                                                          \
    X(SETCOND,     2, 1) /* flags: IrCond; d = cond(a, b) ? 1 : 0 */                              \
    X(SELECT,      3, 1) /* d = a != 0 ? b : c */                                                 \
    X(LD,          1, 1) /* d = mem[a + (int32)aux]; flags: IR_MEM_* */                           \
    X(ST,          2, 0) /* mem[a + (int32)aux] = b; flags: IR_MEM_* */                           \
    X(ATOMIC_RMW,  2, 1) /* d = old mem[a]; mem[a] = old OP b; aux: IrAtomicOp */                 \
    X(CMPXCHG,     3, 1) /* d = old mem[a]; if old == b then mem[a] = c */                        \
    X(FENCE,       0, 0) /* aux: IR_FENCE_* */                                                    \
    X(CALL,        0, 1) /* d (or IR_NONE) = helper(args...); aux: index into calls[] */          \
    X(LABEL,       0, 0) /* aux: label id */                                                      \
    X(BR,          0, 0) /* goto label aux */                                                     \
    X(BRCOND,      2, 0) /* if cond(a, b) goto label aux; flags: IrCond */                        \
    X(GOTO_BLOCK,  0, 0) /* end: pc global := pcs[aux]; chainable direct exit */                  \
    X(GOTO_PTR,    1, 0) /* end: pc global := a; indirect exit via lookup */                      \
    X(EXIT,        0, 0) /* end: return to the vCPU loop; aux: IrExitCode; pc is set */
/* clang-format on */

typedef enum IrOpcode {
#define IR_X_ENUM(name, nsrc, dst) IR_OP_##name,
    IR_OPCODES(IR_X_ENUM)
#undef IR_X_ENUM
        IR_OP_COUNT
} IrOpcode;

enum { IR_FENCE_LOAD = 1, IR_FENCE_STORE = 2, IR_FENCE_FULL = 3 };

/* Why a block returns to the vCPU loop (IR_OP_EXIT aux). */
typedef enum IrExitCode {
    IR_EXIT_NORMAL = 0, /* state changed (CSR write, mode switch): re-evaluate */
    IR_EXIT_HALT = 1,   /* wfi: sleep until an interrupt is pending */
    IR_EXIT_FLUSH = 2,  /* translation state changed (fence.i, sfence.vma) */
} IrExitCode;

/* One op: 16 bytes, no pointers. */
typedef struct IrOp {
    uint8_t opc;    /* IrOpcode */
    uint8_t type;   /* IrType of the result / operation */
    uint16_t flags; /* IrCond, IR_MEM_* */
    IrVal d, a, b, c;
    uint32_t aux;
} IrOp;

typedef struct IrValInfo {
    uint8_t kind; /* IrValKind */
    uint8_t type; /* IrType */
    uint16_t pad;
    uint32_t offset; /* globals: byte offset in the CPU state; temps: slot index */
    uint64_t value;  /* consts */
} IrValInfo;

typedef struct IrCall {
    const IrHelper *helper;
    IrVal args[IR_MAX_HELPER_ARGS];
} IrCall;

/* The per-arch table of globals (guest state fields). */
typedef struct IrGlobalDef {
    const char *name;
    uint32_t offset;
    uint8_t type;
} IrGlobalDef;

typedef struct IrGlobals {
    const IrGlobalDef *defs;
    unsigned count;
    unsigned pc_global; /* index of the guest PC global */
} IrGlobals;

/*
 * A function under construction or finished: the op array and its side tables.
 * The builder owns growable arrays; it is reused across translations (no per-op malloc
 * once warmed up).
 */
typedef struct IrFunc {
    const IrGlobals *globals;
    IrOp *ops;
    unsigned nops, cap_ops;
    IrValInfo *vals;
    unsigned nvals, cap_vals;
    unsigned ntemps; /* temp slots used */
    IrCall *calls;
    unsigned ncalls, cap_calls;
    uint64_t *pcs; /* guest pcs for insn_start and goto_block targets */
    unsigned npcs, cap_pcs;
    unsigned nlabels;
    bool overflow; /* a limit was hit; the frontend must end the block earlier */
} IrFunc;

typedef IrFunc IrBuilder;

void ir_init(IrFunc *f, const IrGlobals *globals);
/* Start a new function, keeping allocated capacity. */
void ir_reset(IrFunc *f);
void ir_free(IrFunc *f);
/*
 * Append src's ops to dst (the JIT's multi-block regions): src's temps keep their slots
 * (a block's temps are dead at its exit, so blocks may share slots), its labels, values,
 * pcs and calls are renumbered. goto_label (or NULL): per op of src, a label of dst that a
 * goto_block op becomes a `br` to, or -1. False when dst would hold too many values.
 */
bool ir_append(IrFunc *dst, const IrFunc *src, const int32_t *goto_label);

/* Values. */
static inline IrVal ir_global(const IrFunc *f, unsigned index)
{
    (void)f;
    return (IrVal)index;
}
IrVal ir_temp(IrFunc *f, IrType type);
IrVal ir_const(IrFunc *f, IrType type, uint64_t value);
static inline IrValKind ir_val_kind(const IrFunc *f, IrVal v)
{
    return (IrValKind)f->vals[v].kind;
}
static inline IrType ir_val_type(const IrFunc *f, IrVal v)
{
    return (IrType)f->vals[v].type;
}
static inline bool ir_is_const(const IrFunc *f, IrVal v)
{
    return v != IR_NONE && f->vals[v].kind == IR_VK_CONST;
}
static inline uint64_t ir_const_value(const IrFunc *f, IrVal v)
{
    return f->vals[v].value;
}
unsigned ir_new_label(IrFunc *f);

/* Raw emission; the typed helpers below are what frontends use. Returns the op index. */
unsigned ir_emit(IrFunc *f, IrOpcode opc, IrType type, uint16_t flags, IrVal d, IrVal a, IrVal b,
                 IrVal c, uint32_t aux);

/* Builder API: each returns the destination value (a new temp) or nothing. */
void ir_insn_start(IrFunc *f, uint64_t guest_pc);
void ir_mov(IrFunc *f, IrVal dst, IrVal src); /* dst may be a global */
IrVal ir_binop(IrFunc *f, IrOpcode opc, IrType type, IrVal a, IrVal b);
IrVal ir_unop(IrFunc *f, IrOpcode opc, IrType type, IrVal a);
#define IR_BIN(name, OPC)                                                \
    static inline IrVal ir_##name(IrFunc *f, IrType t, IrVal a, IrVal b) \
    {                                                                    \
        return ir_binop(f, IR_OP_##OPC, t, a, b);                        \
    }
/* clang-format off */
IR_BIN(add, ADD)
IR_BIN(sub, SUB)
IR_BIN(mul, MUL)
IR_BIN(mulsh, MULSH)
IR_BIN(muluh, MULUH)
IR_BIN(mulsuh, MULSUH)
IR_BIN(div, DIV)
IR_BIN(divu, DIVU)
IR_BIN(rem, REM)
IR_BIN(remu, REMU)
IR_BIN(and, AND)
IR_BIN(or, OR)
IR_BIN(xor, XOR)
IR_BIN(andc, ANDC)
IR_BIN(orc, ORC)
IR_BIN(shl, SHL)
IR_BIN(shr, SHR)
IR_BIN(sar, SAR)
IR_BIN(rotl, ROTL)
IR_BIN(rotr, ROTR)
IR_BIN(smin, SMIN)
IR_BIN(smax, SMAX)
IR_BIN(umin, UMIN)
IR_BIN(umax, UMAX)
/* clang-format on */
#undef IR_BIN
IrVal ir_setcond(IrFunc *f, IrType type, IrCond cond, IrVal a, IrVal b);
IrVal ir_select(IrFunc *f, IrType type, IrVal cond, IrVal if_true, IrVal if_false);
IrVal ir_load(IrFunc *f, IrType type, uint16_t memflags, IrVal addr, int32_t offset);
void ir_store(IrFunc *f, uint16_t memflags, IrVal addr, int32_t offset, IrVal value);
IrVal ir_atomic_rmw(IrFunc *f, IrType type, uint16_t memflags, IrAtomicOp op, IrVal addr,
                    IrVal value);
IrVal ir_cmpxchg(IrFunc *f, IrType type, uint16_t memflags, IrVal addr, IrVal expected,
                 IrVal desired);
void ir_fence(IrFunc *f, unsigned kind);
/* Call a helper; returns the result temp (I64) or IR_NONE when want_result is false. */
IrVal ir_call(IrFunc *f, const IrHelper *h, bool want_result, const IrVal *args);
IrVal ir_call0(IrFunc *f, const IrHelper *h, bool want_result);
IrVal ir_call1(IrFunc *f, const IrHelper *h, bool want_result, IrVal a0);
IrVal ir_call2(IrFunc *f, const IrHelper *h, bool want_result, IrVal a0, IrVal a1);
IrVal ir_call3(IrFunc *f, const IrHelper *h, bool want_result, IrVal a0, IrVal a1, IrVal a2);
IrVal ir_call4(IrFunc *f, const IrHelper *h, bool want_result, IrVal a0, IrVal a1, IrVal a2,
               IrVal a3);
void ir_label(IrFunc *f, unsigned label);
void ir_br(IrFunc *f, unsigned label);
void ir_brcond(IrFunc *f, IrType type, IrCond cond, IrVal a, IrVal b, unsigned label);
void ir_goto_block(IrFunc *f, uint64_t target_pc);
void ir_goto_ptr(IrFunc *f, IrVal target);
void ir_exit(IrFunc *f, IrExitCode code);

/* Printer (--trace ir). */
void ir_print(const IrFunc *f, FILE *out);
const char *ir_opcode_name(IrOpcode opc);
const char *ir_cond_name(IrCond cond);

/* The condition with its operands swapped: a < b is b > a. */
static inline IrCond ir_cond_swap(IrCond c)
{
    switch (c) {
    case IR_LT: return IR_GT;
    case IR_GT: return IR_LT;
    case IR_LE: return IR_GE;
    case IR_GE: return IR_LE;
    case IR_LTU: return IR_GTU;
    case IR_GTU: return IR_LTU;
    case IR_LEU: return IR_GEU;
    case IR_GEU: return IR_LEU;
    default: return c;
    }
}

/*
 * Verifier: operands in range, types consistent, every temp defined before use on every
 * path in linear order, labels defined once and targets exist, the function ends in a
 * block exit. Returns true when valid; otherwise writes one line to *msg (may be NULL).
 */
bool ir_verify(const IrFunc *f, char *msg, size_t msglen);

/* Optimiser passes (reused by the JIT). */
void ir_opt_fold(IrFunc *f); /* constant folding + copy propagation */
void ir_opt_dce(IrFunc *f);  /* dead temp code elimination */
void ir_optimize(IrFunc *f); /* the standard pipeline */

/* Operand counts per opcode. */
extern const uint8_t ir_op_nsrc[IR_OP_COUNT];
extern const uint8_t ir_op_has_dst[IR_OP_COUNT];

#endif
