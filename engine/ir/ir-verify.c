/* SPDX-License-Identifier: MIT */
/*
 * IR verifier: checks the rules ir.h states, so that the interpreter, the JIT and the
 * optimiser may assume them. It stops at the first problem and names the op.
 *
 * Rules:
 *   - value table: globals are ids [0, globals->count) and match their definitions;
 *     temps have a slot below ntemps (at most IR_MAX_TEMPS); I32 constants fit 32 bits;
 *   - each op: opcode and type in range; used operands are valid ids, unused ones
 *     IR_NONE; the destination is not a constant; a temp destination has the op's type
 *     (setcond may also write an I64 temp: its 0/1 result is the same in both); a global
 *     destination is I64 or has the op's type;
 *   - temps are written before they are read, in linear op order;
 *   - labels are defined exactly once and every branch target is defined;
 *   - calls: a helper with at most IR_MAX_HELPER_ARGS arguments, exactly nargs of them;
 *   - insn_start/goto_block index pcs[]; memory flags, conditions, atomic ops, fence
 *     kinds and exit codes are known values;
 *   - the last op that is not a NOP ends the block: goto_block, goto_ptr, exit, or a call
 *     to a helper that never returns.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

#define MEM_FLAGS_KNOWN 0x1ffu /* size, sign, align, mmu index, acq, rel */

typedef struct Verifier {
    const IrFunc *f;
    char *msg;
    size_t msglen;
    uint8_t *defined; /* per value id: temp written so far (linear order) */
    uint8_t *labels;  /* per label: times defined */
} Verifier;

static bool fail(Verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(Verifier *v, const char *fmt, ...)
{
    if (v->msg && v->msglen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->msg, v->msglen, fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool fail_op(Verifier *v, unsigned i, const char *what, unsigned detail)
{
    const IrOp *op = &v->f->ops[i];
    return fail(v, "op %u (%s): %s (%u)", i, ir_opcode_name((IrOpcode)op->opc), what, detail);
}

static bool check_values(Verifier *v)
{
    const IrFunc *f = v->f;
    unsigned nglobals = f->globals ? f->globals->count : 0;

    if (f->overflow)
        return fail(v, "function overflowed a builder limit");
    if (f->nvals > IR_MAX_VALUES)
        return fail(v, "%u values, more than %u", f->nvals, (unsigned)IR_MAX_VALUES);
    if (nglobals > IR_MAX_GLOBALS)
        return fail(v, "%u globals, more than %u", nglobals, (unsigned)IR_MAX_GLOBALS);
    if (f->nvals < nglobals)
        return fail(v, "value table (%u) shorter than the globals (%u)", f->nvals, nglobals);
    if (f->globals && f->globals->pc_global >= nglobals)
        return fail(v, "pc global %u out of range", f->globals->pc_global);
    if (f->ntemps > IR_MAX_TEMPS)
        return fail(v, "%u temp slots, more than %u", f->ntemps, (unsigned)IR_MAX_TEMPS);

    for (unsigned i = 0; i < f->nvals; i++) {
        const IrValInfo *vi = &f->vals[i];
        if (vi->type > IR_I64)
            return fail(v, "value %u: bad type %u", i, (unsigned)vi->type);
        if (i < nglobals) {
            const IrGlobalDef *g = &f->globals->defs[i];
            if (vi->kind != IR_VK_GLOBAL)
                return fail(v, "value %u: not a global but below the global count", i);
            if (vi->type != g->type || vi->offset != g->offset)
                return fail(v, "value %u: differs from global '%s'", i, g->name ? g->name : "?");
            continue;
        }
        switch (vi->kind) {
        case IR_VK_GLOBAL:
            return fail(v, "value %u: global id beyond the global count %u", i, nglobals);
        case IR_VK_TEMP:
            if (vi->offset >= f->ntemps)
                return fail(v, "value %u: temp slot %u not below ntemps %u", i,
                            (unsigned)vi->offset, f->ntemps);
            break;
        case IR_VK_CONST:
            if (vi->type == IR_I32 && vi->value > UINT32_MAX)
                return fail(v, "value %u: i32 constant 0x%llx wider than 32 bits", i,
                            (unsigned long long)vi->value);
            break;
        default: return fail(v, "value %u: bad kind %u", i, (unsigned)vi->kind);
        }
    }
    return true;
}

/* A source operand: a valid id; a temp must have been written earlier. */
static bool check_src(Verifier *v, unsigned i, IrVal val, const char *what)
{
    const IrFunc *f = v->f;
    if (val == IR_NONE || val >= f->nvals)
        return fail_op(v, i, what, val);
    if (f->vals[val].kind == IR_VK_TEMP && !v->defined[val])
        return fail(v, "op %u (%s): temp t%u read before it is written", i,
                    ir_opcode_name((IrOpcode)f->ops[i].opc), (unsigned)f->vals[val].offset);
    return true;
}

static bool check_dst(Verifier *v, unsigned i)
{
    const IrFunc *f = v->f;
    const IrOp *op = &f->ops[i];

    if (op->d == IR_NONE) {
        if (op->opc == IR_OP_CALL)
            return true; /* result not wanted */
        return fail_op(v, i, "missing destination", op->d);
    }
    if (op->d >= f->nvals)
        return fail_op(v, i, "destination id out of range", op->d);
    const IrValInfo *d = &f->vals[op->d];
    switch (d->kind) {
    case IR_VK_CONST: return fail_op(v, i, "destination is a constant", op->d);
    case IR_VK_GLOBAL:
        if (d->type != IR_I64 && d->type != op->type)
            return fail_op(v, i, "i64 op writes an i32 global", op->d);
        break;
    default: /* temp */
        if (d->type != op->type && !(op->opc == IR_OP_SETCOND && d->type == IR_I64))
            return fail_op(v, i, "destination temp type differs from the op type", op->d);
        break;
    }
    return true;
}

static bool check_mem(Verifier *v, unsigned i)
{
    const IrOp *op = &v->f->ops[i];
    if (op->flags & ~MEM_FLAGS_KNOWN)
        return fail_op(v, i, "unknown memory flags", op->flags);
    /* An 8-byte value does not fit an i32 result (a store has no result type). */
    if (op->opc != IR_OP_ST && op->type == IR_I32 && IR_MEM_LOG2SIZE(op->flags) == 3)
        return fail_op(v, i, "8-byte access into an i32", op->flags);
    return true;
}

static bool check_call(Verifier *v, unsigned i)
{
    const IrFunc *f = v->f;
    const IrOp *op = &f->ops[i];
    if (op->aux >= f->ncalls)
        return fail_op(v, i, "call index out of range", op->aux);
    const IrCall *call = &f->calls[op->aux];
    if (!call->helper)
        return fail_op(v, i, "call without a helper", op->aux);
    unsigned nargs = call->helper->nargs;
    if (nargs > IR_MAX_HELPER_ARGS)
        return fail_op(v, i, "helper takes too many arguments", nargs);
    for (unsigned k = 0; k < IR_MAX_HELPER_ARGS; k++) {
        if (k >= nargs) {
            if (call->args[k] != IR_NONE)
                return fail_op(v, i, "more arguments than the helper takes", k + 1);
        } else if (call->args[k] == IR_NONE) {
            return fail_op(v, i, "fewer arguments than the helper takes", k);
        } else if (!check_src(v, i, call->args[k], "argument id out of range")) {
            return false;
        }
    }
    return true;
}

/* Opcode-specific immediates: flags and aux. */
static bool check_imm(Verifier *v, unsigned i)
{
    const IrFunc *f = v->f;
    const IrOp *op = &f->ops[i];

    switch (op->opc) {
    case IR_OP_INSN_START:
    case IR_OP_GOTO_BLOCK:
        if (op->aux >= f->npcs)
            return fail_op(v, i, "pc index out of range", op->aux);
        break;
    case IR_OP_SETCOND:
    case IR_OP_BRCOND:
        if (op->flags >= IR_COND_COUNT)
            return fail_op(v, i, "bad condition", op->flags);
        if (op->opc == IR_OP_BRCOND && op->aux >= f->nlabels)
            return fail_op(v, i, "label out of range", op->aux);
        break;
    case IR_OP_BR:
    case IR_OP_LABEL:
        if (op->aux >= f->nlabels)
            return fail_op(v, i, "label out of range", op->aux);
        break;
    case IR_OP_LD:
    case IR_OP_ST:
    case IR_OP_CMPXCHG: return check_mem(v, i);
    case IR_OP_ATOMIC_RMW:
        if (op->aux >= IR_AMO_COUNT)
            return fail_op(v, i, "bad atomic operation", op->aux);
        return check_mem(v, i);
    case IR_OP_FENCE:
        if (op->aux < IR_FENCE_LOAD || op->aux > IR_FENCE_FULL)
            return fail_op(v, i, "bad fence kind", op->aux);
        break;
    case IR_OP_EXIT:
        if (op->aux > IR_EXIT_FLUSH)
            return fail_op(v, i, "bad exit code", op->aux);
        break;
    case IR_OP_CALL: return check_call(v, i);
    default: break;
    }
    return true;
}

static bool check_op(Verifier *v, unsigned i)
{
    const IrFunc *f = v->f;
    const IrOp *op = &f->ops[i];
    static const char *const src_err[3] = { "operand a out of range", "operand b out of range",
                                            "operand c out of range" };

    if (op->opc >= IR_OP_COUNT)
        return fail(v, "op %u: bad opcode %u", i, (unsigned)op->opc);
    if (op->type > IR_I64)
        return fail_op(v, i, "bad type", op->type);

    const IrVal src[3] = { op->a, op->b, op->c };
    unsigned nsrc = ir_op_nsrc[op->opc];
    for (unsigned k = 0; k < 3; k++) {
        if (k < nsrc) {
            if (!check_src(v, i, src[k], src_err[k]))
                return false;
        } else if (src[k] != IR_NONE) {
            return fail_op(v, i, "unused operand is not IR_NONE", k);
        }
    }
    if (!check_imm(v, i))
        return false;

    if (ir_op_has_dst[op->opc]) {
        if (!check_dst(v, i))
            return false;
        /* After the sources: an op may not read the temp it defines for the first time. */
        if (op->d != IR_NONE)
            v->defined[op->d] = 1;
    } else if (op->d != IR_NONE) {
        return fail_op(v, i, "destination on an op without one", op->d);
    }

    if (op->opc == IR_OP_LABEL && v->labels[op->aux]++)
        return fail_op(v, i, "label defined twice", op->aux);
    return true;
}

static bool check_branches(Verifier *v)
{
    const IrFunc *f = v->f;
    for (unsigned i = 0; i < f->nops; i++) {
        const IrOp *op = &f->ops[i];
        if ((op->opc == IR_OP_BR || op->opc == IR_OP_BRCOND) && !v->labels[op->aux])
            return fail_op(v, i, "branch to an undefined label", op->aux);
    }
    return true;
}

static bool check_end(Verifier *v)
{
    const IrFunc *f = v->f;
    unsigned i = f->nops;
    while (i > 0 && f->ops[i - 1].opc == IR_OP_NOP)
        i--;
    if (i == 0)
        return fail(v, "empty function");
    const IrOp *op = &f->ops[i - 1];
    switch (op->opc) {
    case IR_OP_GOTO_BLOCK:
    case IR_OP_GOTO_PTR:
    case IR_OP_EXIT: return true;
    case IR_OP_CALL:
        /* check_call has validated the call index. */
        if (f->calls[op->aux].helper->flags & IR_HELPER_NO_RETURN)
            return true;
        break;
    default: break;
    }
    return fail_op(v, i - 1, "function does not end in a block exit", 0);
}

bool ir_verify(const IrFunc *f, char *msg, size_t msglen)
{
    Verifier v = { .f = f, .msg = msg, .msglen = msglen };
    bool ok = false;

    if (msg && msglen)
        msg[0] = '\0';
    if (!check_values(&v))
        return false;
    v.defined = calloc(f->nvals ? f->nvals : 1, 1);
    v.labels = calloc(f->nlabels ? f->nlabels : 1, 1);
    if (!v.defined || !v.labels) {
        fail(&v, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < f->nops; i++) {
        if (!check_op(&v, i))
            goto out;
    }
    ok = check_branches(&v) && check_end(&v);
out:
    free(v.defined);
    free(v.labels);
    return ok;
}
