/* SPDX-License-Identifier: MIT */
/*
 * IR optimiser passes: constant folding with copy propagation, and dead temp elimination.
 *
 * Both passes work on one function in place and keep it valid for ir_verify. They key what
 * they know about temps by temp slot (IrValInfo.offset), the storage the interpreter and
 * the JIT use, so they stay correct even if two temp ids ever share a slot.
 *
 * Folding is one forward pass. For each op it first replaces operands by what is known
 * about them, then evaluates or simplifies the op, then records what its destination now
 * holds. Knowledge is "slot s holds exactly the 64-bit value v" where v is a constant,
 * another temp or a global, learnt from `mov s, v`; and "global g holds constant c", learnt
 * from `mov g, $c` (frontends write guest registers directly, so `li`-style sequences fold
 * too). It is dropped:
 *   - all of it at a LABEL, which may be reached from several places;
 *   - a copy of temp u when u is written again; a copy or the constant of global g when g
 *     is written (by any op, or by a call to a helper that writes state).
 * Each source records a version number instead of being searched for at every write.
 * Writes to globals are never removed, so helpers and fault handlers that read the state
 * in memory still see every value.
 */
#include <string.h>

#include "ir/ir.h"

/* ---- Evaluation: the semantics ir.h defines, for constant operands ---- */

__extension__ typedef __int128 Int128; /* for the high half of 64x64 products */
__extension__ typedef unsigned __int128 Uint128;

static uint64_t type_mask(IrType type)
{
    return type == IR_I32 ? UINT32_MAX : UINT64_MAX;
}

static unsigned type_bits(IrType type)
{
    return type == IR_I32 ? 32 : 64;
}

/* The operand as the op reads it: its low 32 bits for I32 ops, sign-extended when signed. */
static int64_t as_signed(IrType type, uint64_t x)
{
    return type == IR_I32 ? (int64_t)(int32_t)(uint32_t)x : (int64_t)x;
}

static bool cond_holds(IrType type, IrCond cond, uint64_t a, uint64_t b)
{
    int64_t sa = as_signed(type, a), sb = as_signed(type, b);
    switch (cond) {
    case IR_EQ: return a == b;
    case IR_NE: return a != b;
    case IR_LT: return sa < sb;
    case IR_GE: return sa >= sb;
    case IR_LE: return sa <= sb;
    case IR_GT: return sa > sb;
    case IR_LTU: return a < b;
    case IR_GEU: return a >= b;
    case IR_LEU: return a <= b;
    case IR_GTU: return a > b;
    case IR_TSTEQ: return (a & b) == 0;
    case IR_TSTNE: return (a & b) != 0;
    default: return false;
    }
}

static uint64_t mul_high(IrOpcode opc, IrType type, uint64_t a, uint64_t b)
{
    int64_t sa = as_signed(type, a), sb = as_signed(type, b);
    if (type == IR_I32) {
        /* 32x32 products fit 64 bits; the operands are already masked to 32 bits. */
        switch (opc) {
        case IR_OP_MULSH: return (uint64_t)(sa * sb) >> 32;
        case IR_OP_MULUH: return (a * b) >> 32;
        default: return (uint64_t)(sa * (int64_t)b) >> 32; /* MULSUH */
        }
    }
    switch (opc) {
    case IR_OP_MULSH: return (uint64_t)(((Int128)sa * sb) >> 64);
    case IR_OP_MULUH: return (uint64_t)(((Uint128)a * b) >> 64);
    default: return (uint64_t)(((Int128)sa * (Int128)b) >> 64); /* MULSUH */
    }
}

static uint64_t divide(IrOpcode opc, IrType type, uint64_t a, uint64_t b)
{
    uint64_t mask = type_mask(type);
    int64_t sa = as_signed(type, a), sb = as_signed(type, b);
    int64_t smin = type == IR_I32 ? INT32_MIN : INT64_MIN;

    switch (opc) {
    case IR_OP_DIV:
        if (b == 0)
            return mask;
        if (sa == smin && sb == -1)
            return a;
        return (uint64_t)(sa / sb);
    case IR_OP_REM:
        if (b == 0)
            return a;
        if (sa == smin && sb == -1)
            return 0;
        return (uint64_t)(sa % sb);
    case IR_OP_DIVU: return b == 0 ? mask : a / b;
    default: /* REMU */ return b == 0 ? a : a % b;
    }
}

static uint64_t rotate_left(IrType type, uint64_t a, unsigned n)
{
    unsigned bits = type_bits(type);
    n &= bits - 1;
    return n ? (a << n) | (a >> (bits - n)) : a;
}

/*
 * Evaluates an op whose sources are the constants a, b, c (already masked to the op's
 * width). Returns false for ops that are not pure computations.
 */
static bool evaluate(const IrOp *op, uint64_t a, uint64_t b, uint64_t c, uint64_t *out)
{
    IrType type = (IrType)op->type;
    unsigned bits = type_bits(type);
    unsigned n = (unsigned)b & (bits - 1); /* shift count */
    int64_t sa = as_signed(type, a), sb = as_signed(type, b);
    uint64_t r;

    switch (op->opc) {
    case IR_OP_MOV: r = a; break;
    case IR_OP_ADD: r = a + b; break;
    case IR_OP_SUB: r = a - b; break;
    case IR_OP_MUL: r = a * b; break;
    case IR_OP_MULSH:
    case IR_OP_MULUH:
    case IR_OP_MULSUH: r = mul_high((IrOpcode)op->opc, type, a, b); break;
    case IR_OP_DIV:
    case IR_OP_DIVU:
    case IR_OP_REM:
    case IR_OP_REMU: r = divide((IrOpcode)op->opc, type, a, b); break;
    case IR_OP_AND: r = a & b; break;
    case IR_OP_OR: r = a | b; break;
    case IR_OP_XOR: r = a ^ b; break;
    case IR_OP_ANDC: r = a & ~b; break;
    case IR_OP_ORC: r = a | ~b; break;
    case IR_OP_NOT: r = ~a; break;
    case IR_OP_NEG: r = 0 - a; break;
    case IR_OP_SHL: r = a << n; break;
    case IR_OP_SHR: r = a >> n; break;
    case IR_OP_SAR: r = (uint64_t)(sa >> n); break;
    case IR_OP_ROTL: r = rotate_left(type, a, n); break;
    case IR_OP_ROTR: r = rotate_left(type, a, (bits - n) & (bits - 1)); break;
    case IR_OP_SEXT8: r = (uint64_t)(int64_t)(int8_t)(uint8_t)a; break;
    case IR_OP_SEXT16: r = (uint64_t)(int64_t)(int16_t)(uint16_t)a; break;
    case IR_OP_SEXT32: r = (uint64_t)(int64_t)(int32_t)(uint32_t)a; break;
    case IR_OP_ZEXT8: r = (uint8_t)a; break;
    case IR_OP_ZEXT16: r = (uint16_t)a; break;
    case IR_OP_ZEXT32: r = (uint32_t)a; break;
    case IR_OP_CLZ: r = a == 0 ? bits : (unsigned)__builtin_clzll(a) - (64 - bits); break;
    case IR_OP_CTZ: r = a == 0 ? bits : (unsigned)__builtin_ctzll(a); break;
    case IR_OP_POPCNT: r = (unsigned)__builtin_popcountll(a); break;
    case IR_OP_BSWAP:
        r = type == IR_I32 ? __builtin_bswap32((uint32_t)a) : __builtin_bswap64(a);
        break;
    case IR_OP_SMIN: r = sa < sb ? a : b; break;
    case IR_OP_SMAX: r = sa > sb ? a : b; break;
    case IR_OP_UMIN: r = a < b ? a : b; break;
    case IR_OP_UMAX: r = a > b ? a : b; break;
    case IR_OP_SETCOND: r = cond_holds(type, (IrCond)op->flags, a, b); break;
    case IR_OP_SELECT: r = a ? b : c; break;
    default: return false;
    }
    *out = r & type_mask(type);
    return true;
}

/* ---- Folding pass ---- */

typedef struct Known {
    IrVal val;      /* what the slot holds; IR_NONE: nothing known */
    uint32_t epoch; /* valid only in the epoch it was learnt in (labels start a new one) */
    uint32_t ver;   /* version of val's storage (temp slot or global) when learnt */
} Known;

typedef struct Folder {
    IrFunc *f;
    unsigned nglobals;
    uint32_t epoch;
    Known known[IR_MAX_TEMPS];
    Known global_known[IR_MAX_GLOBALS]; /* constants only */
    uint32_t slot_ver[IR_MAX_TEMPS];
    uint32_t global_ver[IR_MAX_GLOBALS];
} Folder;

static bool is_temp(const IrFunc *f, IrVal v)
{
    return v != IR_NONE && v < f->nvals && f->vals[v].kind == IR_VK_TEMP;
}

static bool is_global(const IrFunc *f, IrVal v)
{
    return v != IR_NONE && v < f->nvals && f->vals[v].kind == IR_VK_GLOBAL;
}

/* The constant value of v as an op of `type` reads it. */
static bool const_of(const IrFunc *f, IrVal v, IrType type, uint64_t *out)
{
    if (v == IR_NONE || v >= f->nvals || f->vals[v].kind != IR_VK_CONST)
        return false;
    *out = f->vals[v].value & type_mask(type);
    return true;
}

static uint32_t source_version(const Folder *s, IrVal v)
{
    const IrFunc *f = s->f;
    if (is_temp(f, v))
        return s->slot_ver[f->vals[v].offset];
    if (is_global(f, v))
        return s->global_ver[v];
    return 0;
}

/* What to read instead of v: a known constant or an older copy, else v itself. */
static IrVal lookup(const Folder *s, IrVal v)
{
    const IrFunc *f = s->f;
    if (is_global(f, v)) {
        const Known *k = &s->global_known[v];
        if (k->epoch == s->epoch && k->val != IR_NONE && s->global_ver[v] == k->ver)
            return k->val;
        return v;
    }
    if (!is_temp(f, v))
        return v;
    const Known *k = &s->known[f->vals[v].offset];
    if (k->epoch != s->epoch || k->val == IR_NONE)
        return v;
    if (f->vals[k->val].kind != IR_VK_CONST && source_version(s, k->val) != k->ver)
        return v; /* the copied temp or global has been written since */
    return k->val;
}

static void substitute_sources(Folder *s, IrOp *op)
{
    IrFunc *f = s->f;
    unsigned nsrc = ir_op_nsrc[op->opc];
    if (nsrc > 0)
        op->a = lookup(s, op->a);
    if (nsrc > 1)
        op->b = lookup(s, op->b);
    if (nsrc > 2)
        op->c = lookup(s, op->c);
    if (op->opc == IR_OP_CALL && op->aux < f->ncalls) {
        IrCall *call = &f->calls[op->aux];
        for (unsigned i = 0; i < IR_MAX_HELPER_ARGS; i++)
            call->args[i] = lookup(s, call->args[i]);
    }
}

/*
 * A new constant, or IR_NONE if the value table is full. Note that ir_const may move
 * f->vals: no IrValInfo pointer may be held across this call.
 */
static IrVal new_const(IrFunc *f, IrType type, uint64_t value)
{
    IrVal c = ir_const(f, type, value);
    if (f->overflow) {
        f->overflow = false; /* the pass started with it clear; just skip this fold */
        return IR_NONE;
    }
    return c;
}

static void make_nop(IrOp *op)
{
    *op = (IrOp){
        .opc = IR_OP_NOP, .type = IR_I64, .d = IR_NONE, .a = IR_NONE, .b = IR_NONE, .c = IR_NONE
    };
}

/*
 * The type of a MOV replacing op: its own type, except that setcond may write an I64
 * temp whatever it compares (its 0/1 result reads the same in both types).
 */
static IrType mov_type(const IrFunc *f, const IrOp *op)
{
    if (op->opc == IR_OP_SETCOND && is_temp(f, op->d))
        return (IrType)f->vals[op->d].type;
    return (IrType)op->type;
}

static void make_mov(const IrFunc *f, IrOp *op, IrVal src)
{
    IrType type = mov_type(f, op);
    *op = (IrOp){
        .opc = IR_OP_MOV, .type = (uint8_t)type, .d = op->d, .a = src, .b = IR_NONE, .c = IR_NONE
    };
}

static void make_const(IrFunc *f, IrOp *op, uint64_t value)
{
    IrType type = mov_type(f, op);
    IrVal c = new_const(f, type, value & type_mask(type));
    if (c != IR_NONE)
        make_mov(f, op, c);
}

/* Decides a compare that does not need constant operands: 1 true, 0 false, -1 unknown. */
static int compare_known(const IrFunc *f, const IrOp *op)
{
    IrType type = (IrType)op->type;
    IrCond cond = (IrCond)op->flags;
    uint64_t a, b;

    if (const_of(f, op->a, type, &a) && const_of(f, op->b, type, &b))
        return cond_holds(type, cond, a, b);
    if (op->a == op->b) {
        switch (cond) {
        case IR_EQ:
        case IR_GE:
        case IR_LE:
        case IR_GEU:
        case IR_LEU: return 1;
        case IR_NE:
        case IR_LT:
        case IR_GT:
        case IR_LTU:
        case IR_GTU: return 0;
        default: return -1;
        }
    }
    if (const_of(f, op->b, type, &b) && b == 0) {
        if (cond == IR_LTU || cond == IR_TSTNE)
            return 0;
        if (cond == IR_GEU || cond == IR_TSTEQ)
            return 1;
    }
    return -1;
}

/* x op x, x op 0, x op 1, x op -1 and friends. Only called when some operand is not const. */
static void simplify(IrFunc *f, IrOp *op)
{
    IrType type = (IrType)op->type;
    uint64_t mask = type_mask(type);
    uint64_t ca = 0, cb = 0;
    bool ka = const_of(f, op->a, type, &ca);
    bool kb = const_of(f, op->b, type, &cb);
    bool same = op->a == op->b;
    bool shift_by_zero = kb && (cb & (type_bits(type) - 1)) == 0;

    switch (op->opc) {
    case IR_OP_ADD:
        if (ka && ca == 0)
            make_mov(f, op, op->b);
        else if (kb && cb == 0)
            make_mov(f, op, op->a);
        break;
    case IR_OP_SUB:
        if (same)
            make_const(f, op, 0);
        else if (kb && cb == 0)
            make_mov(f, op, op->a);
        break;
    case IR_OP_MUL:
        if ((ka && ca == 0) || (kb && cb == 0))
            make_const(f, op, 0);
        else if (ka && ca == 1)
            make_mov(f, op, op->b);
        else if (kb && cb == 1)
            make_mov(f, op, op->a);
        break;
    case IR_OP_MULSH:
    case IR_OP_MULUH:
    case IR_OP_MULSUH:
        if ((ka && ca == 0) || (kb && cb == 0))
            make_const(f, op, 0);
        break;
    case IR_OP_DIV:
    case IR_OP_DIVU:
        if (kb && cb == 1)
            make_mov(f, op, op->a);
        break;
    case IR_OP_REM:
    case IR_OP_REMU:
        if (kb && cb == 1)
            make_const(f, op, 0);
        break;
    case IR_OP_AND:
        if ((ka && ca == 0) || (kb && cb == 0))
            make_const(f, op, 0);
        else if (same || (kb && cb == mask))
            make_mov(f, op, op->a);
        else if (ka && ca == mask)
            make_mov(f, op, op->b);
        break;
    case IR_OP_OR:
        if ((ka && ca == mask) || (kb && cb == mask))
            make_const(f, op, mask);
        else if (same || (kb && cb == 0))
            make_mov(f, op, op->a);
        else if (ka && ca == 0)
            make_mov(f, op, op->b);
        break;
    case IR_OP_XOR:
        if (same)
            make_const(f, op, 0);
        else if (kb && cb == 0)
            make_mov(f, op, op->a);
        else if (ka && ca == 0)
            make_mov(f, op, op->b);
        break;
    case IR_OP_ANDC: /* a & ~b */
        if (same || (ka && ca == 0) || (kb && cb == mask))
            make_const(f, op, 0);
        else if (kb && cb == 0)
            make_mov(f, op, op->a);
        break;
    case IR_OP_ORC: /* a | ~b */
        if (same || (ka && ca == mask) || (kb && cb == 0))
            make_const(f, op, mask);
        else if (kb && cb == mask)
            make_mov(f, op, op->a);
        break;
    case IR_OP_SHL:
    case IR_OP_SHR:
    case IR_OP_SAR:
    case IR_OP_ROTL:
    case IR_OP_ROTR:
        if (shift_by_zero)
            make_mov(f, op, op->a);
        else if (ka && ca == 0)
            make_const(f, op, 0);
        break;
    case IR_OP_SMIN:
    case IR_OP_SMAX:
    case IR_OP_UMIN:
    case IR_OP_UMAX:
        if (same)
            make_mov(f, op, op->a);
        break;
    case IR_OP_SEXT32:
    case IR_OP_ZEXT32:
        if (type == IR_I32) /* an I32 op already reads and writes 32 bits */
            make_mov(f, op, op->a);
        break;
    case IR_OP_SETCOND: {
        int known = compare_known(f, op);
        if (known >= 0)
            make_const(f, op, (uint64_t)known);
        break;
    }
    case IR_OP_SELECT: /* a != 0 ? b : c */
        if (ka)
            make_mov(f, op, ca ? op->b : op->c);
        else if (op->b == op->c)
            make_mov(f, op, op->b);
        break;
    default: break;
    }
}

/* Evaluates op if all its sources are constants; simplifies it otherwise. */
static void fold_value_op(IrFunc *f, IrOp *op)
{
    IrType type = (IrType)op->type;
    unsigned nsrc = ir_op_nsrc[op->opc];
    uint64_t v[3] = { 0, 0, 0 };
    const IrVal src[3] = { op->a, op->b, op->c };
    bool all_const = true;

    for (unsigned i = 0; i < nsrc; i++)
        all_const = all_const && const_of(f, src[i], type, &v[i]);

    uint64_t r;
    if (op->opc == IR_OP_MOV) {
        /* Narrow a wide constant so the copy is exact (an I32 mov keeps 32 bits). */
        if (all_const && f->vals[op->a].value != v[0])
            make_const(f, op, v[0]);
        else if (op->a == op->d && (type == IR_I64 || f->vals[op->d].type == IR_I32))
            make_nop(op);
        return;
    }
    if (all_const && evaluate(op, v[0], v[1], v[2], &r))
        make_const(f, op, r);
    else
        simplify(f, op);
}

static void fold_brcond(IrFunc *f, IrOp *op)
{
    int known = compare_known(f, op);
    if (known == 1)
        *op = (IrOp){ .opc = IR_OP_BR,
                      .type = IR_I64,
                      .d = IR_NONE,
                      .a = IR_NONE,
                      .b = IR_NONE,
                      .c = IR_NONE,
                      .aux = op->aux };
    else if (known == 0)
        make_nop(op);
}

/* Records what op's destination holds now, and what its write invalidates. */
static void record_def(Folder *s, const IrOp *op)
{
    IrFunc *f = s->f;

    if (op->opc == IR_OP_CALL && op->aux < f->ncalls && f->calls[op->aux].helper &&
        (f->calls[op->aux].helper->flags & IR_HELPER_WRITES_STATE)) {
        for (unsigned g = 0; g < s->nglobals; g++)
            s->global_ver[g]++;
    }
    if (!ir_op_has_dst[op->opc] || op->d == IR_NONE || op->d >= f->nvals)
        return;
    if (is_global(f, op->d)) {
        /* A mov of a constant is exact: fold_value_op narrowed it for an I32 mov. */
        s->global_ver[op->d]++;
        if (op->opc == IR_OP_MOV && ir_is_const(f, op->a))
            s->global_known[op->d] =
                (Known){ .val = op->a, .epoch = s->epoch, .ver = s->global_ver[op->d] };
        return;
    }
    if (!is_temp(f, op->d))
        return;

    uint32_t slot = f->vals[op->d].offset;
    Known *k = &s->known[slot];
    s->slot_ver[slot]++;
    k->val = IR_NONE;
    if (op->opc != IR_OP_MOV)
        return;

    IrVal src = op->a;
    if (src >= f->nvals || (is_temp(f, src) && f->vals[src].offset == slot))
        return;
    /* An I32 mov truncates: it copies exactly only values that are already 32-bit. */
    if (op->type == IR_I32 && f->vals[src].type != IR_I32 &&
        !(f->vals[src].kind == IR_VK_CONST && f->vals[src].value <= UINT32_MAX))
        return;
    *k = (Known){ .val = src, .epoch = s->epoch, .ver = source_version(s, src) };
}

/* The passes index fixed tables by temp slot and global id: refuse what would overflow them. */
static bool optimisable(const IrFunc *f)
{
    unsigned nglobals = f->globals ? f->globals->count : 0;
    if (f->overflow || f->ntemps > IR_MAX_TEMPS || nglobals > IR_MAX_GLOBALS)
        return false;
    for (unsigned v = 0; v < f->nvals; v++) {
        if (f->vals[v].kind == IR_VK_GLOBAL
                ? v >= nglobals
                : f->vals[v].kind == IR_VK_TEMP && f->vals[v].offset >= f->ntemps)
            return false;
    }
    return true;
}

void ir_opt_fold(IrFunc *f)
{
    _Static_assert(IR_MAX_TEMPS <= 1024, "the folder's tables live on the stack");
    Folder s;

    if (!optimisable(f))
        return;
    s.f = f;
    s.nglobals = f->globals ? f->globals->count : 0;
    s.epoch = 1;
    memset(s.known, 0, f->ntemps * sizeof(s.known[0]));
    memset(s.slot_ver, 0, f->ntemps * sizeof(s.slot_ver[0]));
    memset(s.global_ver, 0, s.nglobals * sizeof(s.global_ver[0]));
    memset(s.global_known, 0, s.nglobals * sizeof(s.global_known[0]));

    for (unsigned i = 0; i < f->nops; i++) {
        IrOp *op = &f->ops[i];
        if (op->opc >= IR_OP_COUNT)
            continue;
        if (op->opc == IR_OP_LABEL) {
            s.epoch++;
            continue;
        }
        substitute_sources(&s, op);
        if (op->opc >= IR_OP_MOV && op->opc <= IR_OP_SELECT)
            fold_value_op(f, op);
        else if (op->opc == IR_OP_BRCOND)
            fold_brcond(f, op);
        record_def(&s, op);
    }
}

/* ---- Dead temp elimination ---- */

static bool removable(const IrFunc *f, const IrOp *op)
{
    if (op->opc >= IR_OP_MOV && op->opc <= IR_OP_SELECT)
        return true; /* pure computations; division by zero is defined, not a trap */
    if (op->opc == IR_OP_CALL && op->aux < f->ncalls && f->calls[op->aux].helper) {
        unsigned flags = f->calls[op->aux].helper->flags;
        return (flags & IR_HELPER_PURE) &&
               !(flags & (IR_HELPER_WRITES_STATE | IR_HELPER_MAY_RAISE | IR_HELPER_NO_RETURN));
    }
    return false; /* loads may fault; stores, atomics, control flow, insn_start stay */
}

/* The slots of the temps op reads, with repeats; returns how many (at most 3 + 6). */
static unsigned temp_sources(const IrFunc *f, const IrOp *op, uint32_t slots[9])
{
    const IrVal src[3] = { op->a, op->b, op->c };
    unsigned n = 0;

    for (unsigned k = 0; k < ir_op_nsrc[op->opc]; k++) {
        if (is_temp(f, src[k]))
            slots[n++] = f->vals[src[k]].offset;
    }
    if (op->opc == IR_OP_CALL && op->aux < f->ncalls) {
        const IrCall *call = &f->calls[op->aux];
        for (unsigned k = 0; k < IR_MAX_HELPER_ARGS; k++) {
            if (is_temp(f, call->args[k]))
                slots[n++] = f->vals[call->args[k]].offset;
        }
    }
    return n;
}

/*
 * `t = X ...; g = mov t` with t read nowhere else becomes `g = X ...` (frontends compute
 * into a temp and then copy to the guest register, e.g. every load). Only when the copy is
 * exact (an I64 mov, or an I32 mov of an I32 result) and the op may write g directly (g is
 * I64 or has the op's type). Restricted to ops that read all their sources before writing
 * and have no other effect on state than their result: pure ops, loads and calls.
 */
static void retarget_to_globals(IrFunc *f, uint32_t *uses)
{
    for (unsigned i = 0; i + 1 < f->nops; i++) {
        IrOp *op = &f->ops[i], *mov = &f->ops[i + 1];
        if (mov->opc != IR_OP_MOV || !is_global(f, mov->d) || mov->a != op->d ||
            !is_temp(f, op->d) || uses[f->vals[op->d].offset] != 1)
            continue;
        bool kind_ok = (op->opc >= IR_OP_MOV && op->opc <= IR_OP_LD) || op->opc == IR_OP_CALL;
        bool narrow_result = op->type == IR_I32 || op->opc == IR_OP_SETCOND;
        IrType gtype = (IrType)f->vals[mov->d].type;
        if (!kind_ok || (mov->type != IR_I64 && !narrow_result) ||
            (gtype != IR_I64 && gtype != op->type) || (op->opc == IR_OP_CALL && gtype != IR_I64))
            continue;
        uses[f->vals[op->d].offset] = 0;
        op->d = mov->d;
        make_nop(mov);
    }
}

static void compact(IrFunc *f)
{
    unsigned n = 0;
    for (unsigned i = 0; i < f->nops; i++) {
        if (f->ops[i].opc != IR_OP_NOP)
            f->ops[n++] = f->ops[i];
    }
    f->nops = n;
}

void ir_opt_dce(IrFunc *f)
{
    uint32_t uses[IR_MAX_TEMPS];
    uint32_t last_def[IR_MAX_TEMPS]; /* index of the last op writing the slot, plus one */

    if (!optimisable(f))
        return;
    memset(uses, 0, f->ntemps * sizeof(uses[0]));
    memset(last_def, 0, f->ntemps * sizeof(last_def[0]));
    for (unsigned i = 0; i < f->nops; i++) {
        const IrOp *op = &f->ops[i];
        if (op->opc >= IR_OP_COUNT)
            continue;
        uint32_t slots[9];
        unsigned n = temp_sources(f, op, slots);
        for (unsigned k = 0; k < n; k++)
            uses[slots[k]]++;
        if (ir_op_has_dst[op->opc] && is_temp(f, op->d))
            last_def[f->vals[op->d].offset] = i + 1;
    }

    /*
     * Backwards, so that removing a use makes the earlier op that computed it removable in
     * the same sweep; another sweep is needed only when a backward branch (a loop) puts a
     * definition after a use that became dead.
     */
    bool again = true;
    while (again) {
        again = false;
        for (unsigned i = f->nops; i-- > 0;) {
            IrOp *op = &f->ops[i];
            if (op->opc >= IR_OP_COUNT || !ir_op_has_dst[op->opc] || !is_temp(f, op->d) ||
                uses[f->vals[op->d].offset] != 0)
                continue;
            if (!removable(f, op)) {
                if (op->opc == IR_OP_CALL)
                    op->d = IR_NONE; /* keep the call, drop the unused result */
                continue;
            }
            uint32_t slots[9];
            unsigned n = temp_sources(f, op, slots);
            for (unsigned k = 0; k < n; k++) {
                if (--uses[slots[k]] == 0 && last_def[slots[k]] > i)
                    again = true;
            }
            make_nop(op);
        }
    }
    retarget_to_globals(f, uses);
    compact(f);
}

void ir_optimize(IrFunc *f)
{
    ir_opt_fold(f);
    ir_opt_dce(f);
}
