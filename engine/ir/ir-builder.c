/* SPDX-License-Identifier: MIT */
/* IR builder: growable arrays reused across translations. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static void *grow(void *ptr, unsigned *cap, unsigned need, size_t elem)
{
    if (need <= *cap)
        return ptr;
    unsigned ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *n = realloc(ptr, (size_t)ncap * elem);
    if (!n)
        abort(); /* translation cannot continue without memory */
    *cap = ncap;
    return n;
}

void ir_init(IrFunc *f, const IrGlobals *globals)
{
    memset(f, 0, sizeof(*f));
    f->globals = globals;
    ir_reset(f);
}

void ir_reset(IrFunc *f)
{
    f->nops = 0;
    f->ncalls = 0;
    f->npcs = 0;
    f->nlabels = 0;
    f->ntemps = 0;
    f->overflow = false;
    unsigned ng = f->globals ? f->globals->count : 0;
    f->vals = grow(f->vals, &f->cap_vals, ng + 64, sizeof(IrValInfo));
    for (unsigned i = 0; i < ng; i++) {
        const IrGlobalDef *g = &f->globals->defs[i];
        f->vals[i] = (IrValInfo){ .kind = IR_VK_GLOBAL, .type = g->type, .offset = g->offset };
    }
    f->nvals = ng;
}

void ir_free(IrFunc *f)
{
    free(f->ops);
    free(f->vals);
    free(f->calls);
    free(f->pcs);
    memset(f, 0, sizeof(*f));
}

static IrVal new_val(IrFunc *f, IrValInfo info)
{
    if (f->nvals >= IR_MAX_VALUES) {
        f->overflow = true;
        return (IrVal)(f->nvals - 1); /* keep going; the block is discarded */
    }
    f->vals = grow(f->vals, &f->cap_vals, f->nvals + 1, sizeof(IrValInfo));
    f->vals[f->nvals] = info;
    return (IrVal)f->nvals++;
}

IrVal ir_temp(IrFunc *f, IrType type)
{
    if (f->ntemps >= IR_MAX_TEMPS) {
        f->overflow = true;
        return new_val(f, (IrValInfo){ .kind = IR_VK_TEMP, .type = type, .offset = 0 });
    }
    return new_val(f, (IrValInfo){ .kind = IR_VK_TEMP, .type = type, .offset = f->ntemps++ });
}

IrVal ir_const(IrFunc *f, IrType type, uint64_t value)
{
    if (type == IR_I32)
        value = (uint32_t)value;
    /* Reuse a recent identical constant: keeps the value table small. */
    unsigned ng = f->globals ? f->globals->count : 0;
    unsigned lo = f->nvals > ng + 16 ? f->nvals - 16 : ng;
    for (unsigned i = f->nvals; i-- > lo;) {
        const IrValInfo *v = &f->vals[i];
        if (v->kind == IR_VK_CONST && v->type == type && v->value == value)
            return (IrVal)i;
    }
    return new_val(f, (IrValInfo){ .kind = IR_VK_CONST, .type = type, .value = value });
}

unsigned ir_new_label(IrFunc *f)
{
    return f->nlabels++;
}

unsigned ir_emit(IrFunc *f, IrOpcode opc, IrType type, uint16_t flags, IrVal d, IrVal a, IrVal b,
                 IrVal c, uint32_t aux)
{
    f->ops = grow(f->ops, &f->cap_ops, f->nops + 1, sizeof(IrOp));
    f->ops[f->nops] = (IrOp){ .opc = (uint8_t)opc,
                              .type = (uint8_t)type,
                              .flags = flags,
                              .d = d,
                              .a = a,
                              .b = b,
                              .c = c,
                              .aux = aux };
    return f->nops++;
}

static uint32_t add_pc(IrFunc *f, uint64_t pc)
{
    f->pcs = grow(f->pcs, &f->cap_pcs, f->npcs + 1, sizeof(uint64_t));
    f->pcs[f->npcs] = pc;
    return f->npcs++;
}

void ir_insn_start(IrFunc *f, uint64_t guest_pc)
{
    ir_emit(f, IR_OP_INSN_START, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE,
            add_pc(f, guest_pc));
}

void ir_mov(IrFunc *f, IrVal dst, IrVal src)
{
    ir_emit(f, IR_OP_MOV, ir_val_type(f, dst), 0, dst, src, IR_NONE, IR_NONE, 0);
}

IrVal ir_binop(IrFunc *f, IrOpcode opc, IrType type, IrVal a, IrVal b)
{
    IrVal d = ir_temp(f, type);
    ir_emit(f, opc, type, 0, d, a, b, IR_NONE, 0);
    return d;
}

IrVal ir_unop(IrFunc *f, IrOpcode opc, IrType type, IrVal a)
{
    IrVal d = ir_temp(f, type);
    ir_emit(f, opc, type, 0, d, a, IR_NONE, IR_NONE, 0);
    return d;
}

IrVal ir_setcond(IrFunc *f, IrType type, IrCond cond, IrVal a, IrVal b)
{
    IrVal d = ir_temp(f, IR_I64);
    ir_emit(f, IR_OP_SETCOND, type, (uint16_t)cond, d, a, b, IR_NONE, 0);
    return d;
}

IrVal ir_select(IrFunc *f, IrType type, IrVal cond, IrVal if_true, IrVal if_false)
{
    IrVal d = ir_temp(f, type);
    ir_emit(f, IR_OP_SELECT, type, 0, d, cond, if_true, if_false, 0);
    return d;
}

IrVal ir_load(IrFunc *f, IrType type, uint16_t memflags, IrVal addr, int32_t offset)
{
    IrVal d = ir_temp(f, type);
    ir_emit(f, IR_OP_LD, type, memflags, d, addr, IR_NONE, IR_NONE, (uint32_t)offset);
    return d;
}

void ir_store(IrFunc *f, uint16_t memflags, IrVal addr, int32_t offset, IrVal value)
{
    ir_emit(f, IR_OP_ST, IR_I64, memflags, IR_NONE, addr, value, IR_NONE, (uint32_t)offset);
}

IrVal ir_atomic_rmw(IrFunc *f, IrType type, uint16_t memflags, IrAtomicOp op, IrVal addr,
                    IrVal value)
{
    IrVal d = ir_temp(f, type);
    ir_emit(f, IR_OP_ATOMIC_RMW, type, memflags, d, addr, value, IR_NONE, (uint32_t)op);
    return d;
}

IrVal ir_cmpxchg(IrFunc *f, IrType type, uint16_t memflags, IrVal addr, IrVal expected,
                 IrVal desired)
{
    IrVal d = ir_temp(f, type);
    ir_emit(f, IR_OP_CMPXCHG, type, memflags, d, addr, expected, desired, 0);
    return d;
}

void ir_fence(IrFunc *f, unsigned kind)
{
    ir_emit(f, IR_OP_FENCE, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, kind);
}

IrVal ir_call(IrFunc *f, const IrHelper *h, bool want_result, const IrVal *args)
{
    f->calls = grow(f->calls, &f->cap_calls, f->ncalls + 1, sizeof(IrCall));
    IrCall *c = &f->calls[f->ncalls];
    c->helper = h;
    for (unsigned i = 0; i < IR_MAX_HELPER_ARGS; i++)
        c->args[i] = i < h->nargs ? args[i] : IR_NONE;
    IrVal d = want_result ? ir_temp(f, IR_I64) : IR_NONE;
    ir_emit(f, IR_OP_CALL, IR_I64, 0, d, IR_NONE, IR_NONE, IR_NONE, f->ncalls++);
    return d;
}

IrVal ir_call0(IrFunc *f, const IrHelper *h, bool want_result)
{
    return ir_call(f, h, want_result, NULL);
}

IrVal ir_call1(IrFunc *f, const IrHelper *h, bool want_result, IrVal a0)
{
    IrVal a[1] = { a0 };
    return ir_call(f, h, want_result, a);
}

IrVal ir_call2(IrFunc *f, const IrHelper *h, bool want_result, IrVal a0, IrVal a1)
{
    IrVal a[2] = { a0, a1 };
    return ir_call(f, h, want_result, a);
}

IrVal ir_call3(IrFunc *f, const IrHelper *h, bool want_result, IrVal a0, IrVal a1, IrVal a2)
{
    IrVal a[3] = { a0, a1, a2 };
    return ir_call(f, h, want_result, a);
}

IrVal ir_call4(IrFunc *f, const IrHelper *h, bool want_result, IrVal a0, IrVal a1, IrVal a2,
               IrVal a3)
{
    IrVal a[4] = { a0, a1, a2, a3 };
    return ir_call(f, h, want_result, a);
}

void ir_label(IrFunc *f, unsigned label)
{
    ir_emit(f, IR_OP_LABEL, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, label);
}

void ir_br(IrFunc *f, unsigned label)
{
    ir_emit(f, IR_OP_BR, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, label);
}

void ir_brcond(IrFunc *f, IrType type, IrCond cond, IrVal a, IrVal b, unsigned label)
{
    ir_emit(f, IR_OP_BRCOND, type, (uint16_t)cond, IR_NONE, a, b, IR_NONE, label);
}

void ir_goto_block(IrFunc *f, uint64_t target_pc)
{
    ir_emit(f, IR_OP_GOTO_BLOCK, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE,
            add_pc(f, target_pc));
}

void ir_goto_ptr(IrFunc *f, IrVal target)
{
    ir_emit(f, IR_OP_GOTO_PTR, IR_I64, 0, IR_NONE, target, IR_NONE, IR_NONE, 0);
}

void ir_exit(IrFunc *f, IrExitCode code)
{
    ir_emit(f, IR_OP_EXIT, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, (uint32_t)code);
}

bool ir_append(IrFunc *dst, const IrFunc *src, const int32_t *goto_label)
{
    unsigned ng = src->globals->count;
    unsigned extra = src->nvals - ng;
    if (dst->nvals + extra >= IR_MAX_VALUES || src->overflow)
        return false;
    unsigned base = dst->nvals;
    dst->vals = grow(dst->vals, &dst->cap_vals, dst->nvals + extra, sizeof(IrValInfo));
    memcpy(&dst->vals[base], &src->vals[ng], (size_t)extra * sizeof(IrValInfo));
    dst->nvals += extra;
#define MAP(v) ((v) == IR_NONE || (v) < ng ? (v) : (IrVal)((v)-ng + base))
    unsigned label_base = dst->nlabels;
    for (unsigned i = 0; i < src->nops; i++) {
        IrOp op = src->ops[i];
        op.d = MAP(op.d);
        op.a = MAP(op.a);
        op.b = MAP(op.b);
        op.c = MAP(op.c);
        switch ((IrOpcode)op.opc) {
        case IR_OP_INSN_START: op.aux = add_pc(dst, src->pcs[op.aux]); break;
        case IR_OP_GOTO_BLOCK:
            if (goto_label && goto_label[i] >= 0) {
                op.opc = IR_OP_BR;
                op.aux = (uint32_t)goto_label[i];
            } else {
                op.aux = add_pc(dst, src->pcs[op.aux]);
            }
            break;
        case IR_OP_CALL: {
            IrCall c = src->calls[op.aux];
            for (unsigned k = 0; k < IR_MAX_HELPER_ARGS; k++)
                c.args[k] = MAP(c.args[k]);
            dst->calls = grow(dst->calls, &dst->cap_calls, dst->ncalls + 1, sizeof(IrCall));
            dst->calls[dst->ncalls] = c;
            op.aux = dst->ncalls++;
            break;
        }
        case IR_OP_LABEL:
        case IR_OP_BR:
        case IR_OP_BRCOND: op.aux += label_base; break;
        default: break;
        }
        dst->ops = grow(dst->ops, &dst->cap_ops, dst->nops + 1, sizeof(IrOp));
        dst->ops[dst->nops++] = op;
    }
#undef MAP
    dst->nlabels += src->nlabels;
    if (src->ntemps > dst->ntemps)
        dst->ntemps = src->ntemps;
    return true;
}
