/* SPDX-License-Identifier: MIT */
/*
 * IR printer (--trace ir) and the per-opcode tables.
 *
 * One op per line, in the spirit of QEMU's -d op:
 *
 *    ---- insn 0x80000010
 *     t3:i64 = add x5, $0x10
 *     st.w [t2+8], x6 mmu=1
 *     brcond.i64 lt t1, $0 -> L2
 *   L2:
 *     t4 = call rv_fadd_d(t1, t2, $7)
 *     goto_block 0x80000020
 *
 * The printer never trusts the function: out-of-range ids and indices print as '?' so a
 * broken function can still be dumped next to the verifier's complaint.
 */
#include <inttypes.h>

#include "ir/ir.h"

const uint8_t ir_op_nsrc[IR_OP_COUNT] = {
#define IR_X_NSRC(name, nsrc, dst) [IR_OP_##name] = (nsrc),
    IR_OPCODES(IR_X_NSRC)
#undef IR_X_NSRC
};

const uint8_t ir_op_has_dst[IR_OP_COUNT] = {
#define IR_X_DST(name, nsrc, dst) [IR_OP_##name] = (dst),
    IR_OPCODES(IR_X_DST)
#undef IR_X_DST
};

/*
 * Lower-case names (the X-macro spells them in capitals). Designated initialisers keep
 * each name next to its enum; tests/unit/test-ir.c checks that none is missing.
 */
static const char *const opcode_names[IR_OP_COUNT] = {
    [IR_OP_NOP] = "nop",
    [IR_OP_INSN_START] = "insn_start",
    [IR_OP_MOV] = "mov",
    [IR_OP_ADD] = "add",
    [IR_OP_SUB] = "sub",
    [IR_OP_MUL] = "mul",
    [IR_OP_MULSH] = "mulsh",
    [IR_OP_MULUH] = "muluh",
    [IR_OP_MULSUH] = "mulsuh",
    [IR_OP_DIV] = "div",
    [IR_OP_DIVU] = "divu",
    [IR_OP_REM] = "rem",
    [IR_OP_REMU] = "remu",
    [IR_OP_AND] = "and",
    [IR_OP_OR] = "or",
    [IR_OP_XOR] = "xor",
    [IR_OP_ANDC] = "andc",
    [IR_OP_ORC] = "orc",
    [IR_OP_NOT] = "not",
    [IR_OP_NEG] = "neg",
    [IR_OP_SHL] = "shl",
    [IR_OP_SHR] = "shr",
    [IR_OP_SAR] = "sar",
    [IR_OP_ROTL] = "rotl",
    [IR_OP_ROTR] = "rotr",
    [IR_OP_SEXT8] = "sext8",
    [IR_OP_SEXT16] = "sext16",
    [IR_OP_SEXT32] = "sext32",
    [IR_OP_ZEXT8] = "zext8",
    [IR_OP_ZEXT16] = "zext16",
    [IR_OP_ZEXT32] = "zext32",
    [IR_OP_CLZ] = "clz",
    [IR_OP_CTZ] = "ctz",
    [IR_OP_POPCNT] = "popcnt",
    [IR_OP_BSWAP] = "bswap",
    [IR_OP_SMIN] = "smin",
    [IR_OP_SMAX] = "smax",
    [IR_OP_UMIN] = "umin",
    [IR_OP_UMAX] = "umax",
    [IR_OP_SETCOND] = "setcond",
    [IR_OP_SELECT] = "select",
    [IR_OP_LD] = "ld",
    [IR_OP_ST] = "st",
    [IR_OP_ATOMIC_RMW] = "atomic_rmw",
    [IR_OP_CMPXCHG] = "cmpxchg",
    [IR_OP_FENCE] = "fence",
    [IR_OP_CALL] = "call",
    [IR_OP_LABEL] = "label",
    [IR_OP_BR] = "br",
    [IR_OP_BRCOND] = "brcond",
    [IR_OP_GOTO_BLOCK] = "goto_block",
    [IR_OP_GOTO_PTR] = "goto_ptr",
    [IR_OP_EXIT] = "exit",
};

static const char *const cond_names[IR_COND_COUNT] = {
    [IR_EQ] = "eq",   [IR_NE] = "ne",   [IR_LT] = "lt",       [IR_GE] = "ge",
    [IR_LE] = "le",   [IR_GT] = "gt",   [IR_LTU] = "ltu",     [IR_GEU] = "geu",
    [IR_LEU] = "leu", [IR_GTU] = "gtu", [IR_TSTEQ] = "tsteq", [IR_TSTNE] = "tstne",
};

static const char *const amo_names[IR_AMO_COUNT] = {
    [IR_AMO_XCHG] = "xchg", [IR_AMO_ADD] = "add",   [IR_AMO_AND] = "and",
    [IR_AMO_OR] = "or",     [IR_AMO_XOR] = "xor",   [IR_AMO_SMIN] = "smin",
    [IR_AMO_SMAX] = "smax", [IR_AMO_UMIN] = "umin", [IR_AMO_UMAX] = "umax",
};

const char *ir_opcode_name(IrOpcode opc)
{
    if ((unsigned)opc >= IR_OP_COUNT || !opcode_names[opc])
        return "?";
    return opcode_names[opc];
}

const char *ir_cond_name(IrCond cond)
{
    if ((unsigned)cond >= IR_COND_COUNT)
        return "?";
    return cond_names[cond];
}

static const char *type_name(unsigned type)
{
    return type == IR_I32 ? "i32" : type == IR_I64 ? "i64" : "i?";
}

static void print_val(const IrFunc *f, IrVal v, FILE *out)
{
    if (v == IR_NONE) {
        fputs("-", out);
        return;
    }
    if (v >= f->nvals) {
        fprintf(out, "?%u", (unsigned)v);
        return;
    }
    const IrValInfo *vi = &f->vals[v];
    switch (vi->kind) {
    case IR_VK_GLOBAL:
        if (f->globals && v < f->globals->count && f->globals->defs[v].name)
            fputs(f->globals->defs[v].name, out);
        else
            fprintf(out, "g%u", (unsigned)v);
        break;
    case IR_VK_TEMP: fprintf(out, "t%" PRIu32, vi->offset); break;
    case IR_VK_CONST:
        /* Small numbers read better in decimal; anything else as an address would. */
        if (vi->value < 10)
            fprintf(out, "$%" PRIu64, vi->value);
        else
            fprintf(out, "$0x%" PRIx64, vi->value);
        break;
    default: fprintf(out, "?kind%u:%u", (unsigned)vi->kind, (unsigned)v); break;
    }
}

static void print_pc(const IrFunc *f, uint32_t index, FILE *out)
{
    if (index < f->npcs)
        fprintf(out, "0x%" PRIx64, f->pcs[index]);
    else
        fprintf(out, "?pc%" PRIu32, index);
}

static void print_mem_flags(uint16_t flags, FILE *out)
{
    fprintf(out, " mmu=%u", (unsigned)IR_MEM_MMUIDX(flags));
    if (flags & IR_MEM_ALIGN)
        fputs(" align", out);
    if (flags & IR_MEM_ACQ)
        fputs(" acq", out);
    if (flags & IR_MEM_REL)
        fputs(" rel", out);
    if (flags & ~(uint16_t)0x1ff)
        fprintf(out, " flags=0x%x", (unsigned)flags);
}

/* "[t2+8]", "[t2-4]", "[t2]" */
static void print_addr(const IrFunc *f, IrVal base, int32_t offset, FILE *out)
{
    fputc('[', out);
    print_val(f, base, out);
    if (offset > 0)
        fprintf(out, "+%" PRId32, offset);
    else if (offset < 0)
        fprintf(out, "-%" PRIu32, (uint32_t)0 - (uint32_t)offset);
    fputc(']', out);
}

static char size_suffix(uint16_t flags)
{
    return "bhwd"[IR_MEM_LOG2SIZE(flags)];
}

static void print_call(const IrFunc *f, const IrOp *op, FILE *out)
{
    if (op->aux >= f->ncalls || !f->calls[op->aux].helper) {
        fprintf(out, "call ?call%" PRIu32 "()", op->aux);
        return;
    }
    const IrCall *call = &f->calls[op->aux];
    fprintf(out, "call %s(", call->helper->name ? call->helper->name : "?");
    unsigned n =
        call->helper->nargs <= IR_MAX_HELPER_ARGS ? call->helper->nargs : IR_MAX_HELPER_ARGS;
    for (unsigned i = 0; i < n; i++) {
        if (i)
            fputs(", ", out);
        print_val(f, call->args[i], out);
    }
    fputc(')', out);
}

static void print_srcs(const IrFunc *f, const IrOp *op, unsigned nsrc, FILE *out)
{
    const IrVal src[3] = { op->a, op->b, op->c };
    for (unsigned i = 0; i < nsrc && i < 3; i++) {
        fputs(i ? ", " : " ", out);
        print_val(f, src[i], out);
    }
}

static void print_op(const IrFunc *f, const IrOp *op, FILE *out)
{
    if (op->opc >= IR_OP_COUNT) {
        fprintf(out, "  ??? opc=%u\n", (unsigned)op->opc);
        return;
    }
    switch (op->opc) {
    case IR_OP_INSN_START:
        fputs(" ---- insn ", out);
        print_pc(f, op->aux, out);
        fputc('\n', out);
        return;
    case IR_OP_LABEL: fprintf(out, "L%" PRIu32 ":\n", op->aux); return;
    default: break;
    }

    fputs("  ", out);
    if (ir_op_has_dst[op->opc] && op->d != IR_NONE) {
        print_val(f, op->d, out);
        /*
         * The type written: the op's; a call's result is always a 64-bit helper return
         * value; a setcond may write an I64 temp whatever it compares.
         */
        if (op->opc == IR_OP_SETCOND && op->d < f->nvals)
            fprintf(out, ":%s", type_name(f->vals[op->d].type));
        else if (op->opc != IR_OP_CALL)
            fprintf(out, ":%s", type_name(op->type));
        fputs(" = ", out);
    }

    switch (op->opc) {
    case IR_OP_LD:
        fprintf(out, "ld.%s%c ", (op->flags & IR_MEM_SIGN) ? "s" : "", size_suffix(op->flags));
        print_addr(f, op->a, (int32_t)op->aux, out);
        print_mem_flags(op->flags, out);
        break;
    case IR_OP_ST:
        fprintf(out, "st.%c ", size_suffix(op->flags));
        print_addr(f, op->a, (int32_t)op->aux, out);
        fputs(", ", out);
        print_val(f, op->b, out);
        print_mem_flags(op->flags, out);
        break;
    case IR_OP_ATOMIC_RMW:
        fprintf(out, "atomic_rmw.%s.%s%c ", op->aux < IR_AMO_COUNT ? amo_names[op->aux] : "?",
                (op->flags & IR_MEM_SIGN) ? "s" : "", size_suffix(op->flags));
        print_addr(f, op->a, 0, out);
        fputs(", ", out);
        print_val(f, op->b, out);
        print_mem_flags(op->flags, out);
        break;
    case IR_OP_CMPXCHG:
        fprintf(out, "cmpxchg.%s%c ", (op->flags & IR_MEM_SIGN) ? "s" : "", size_suffix(op->flags));
        print_addr(f, op->a, 0, out);
        fputs(", ", out);
        print_val(f, op->b, out);
        fputs(", ", out);
        print_val(f, op->c, out);
        print_mem_flags(op->flags, out);
        break;
    case IR_OP_FENCE:
        fprintf(out, "fence %s",
                op->aux == IR_FENCE_LOAD    ? "r"
                : op->aux == IR_FENCE_STORE ? "w"
                : op->aux == IR_FENCE_FULL  ? "rw"
                                            : "?");
        break;
    case IR_OP_SETCOND:
        fprintf(out, "setcond.%s %s", type_name(op->type), ir_cond_name((IrCond)op->flags));
        print_srcs(f, op, 2, out);
        break;
    case IR_OP_BRCOND:
        fprintf(out, "brcond.%s %s", type_name(op->type), ir_cond_name((IrCond)op->flags));
        print_srcs(f, op, 2, out);
        fprintf(out, " -> L%" PRIu32, op->aux);
        break;
    case IR_OP_BR: fprintf(out, "br L%" PRIu32, op->aux); break;
    case IR_OP_CALL: print_call(f, op, out); break;
    case IR_OP_GOTO_BLOCK:
        fputs("goto_block ", out);
        print_pc(f, op->aux, out);
        break;
    case IR_OP_EXIT:
        fprintf(out, "exit %s",
                op->aux == IR_EXIT_NORMAL  ? "normal"
                : op->aux == IR_EXIT_HALT  ? "halt"
                : op->aux == IR_EXIT_FLUSH ? "flush"
                                           : "?");
        break;
    default:
        fputs(ir_opcode_name((IrOpcode)op->opc), out);
        print_srcs(f, op, ir_op_nsrc[op->opc], out);
        break;
    }
    fputc('\n', out);
}

void ir_print(const IrFunc *f, FILE *out)
{
    for (unsigned i = 0; i < f->nops; i++)
        print_op(f, &f->ops[i], out);
}
