/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the IR: printer, verifier (one case per rule), constant folding, copy
 * propagation and dead temp elimination, plus a differential test that runs random
 * functions through a small reference interpreter before and after ir_optimize.
 *
 * Standalone: prints each failure and exits non-zero if there was any.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static int failures;
static int checks;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        checks++;                                                            \
        if (!(cond)) {                                                       \
            failures++;                                                      \
            fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

/* ---- Fixtures: a small guest state and some helpers ---- */

enum { G_PC, G_X5, G_X6, G_X7, G_FFLAGS, NGLOBALS };

static const IrGlobalDef global_defs[NGLOBALS] = {
    [G_PC] = { "pc", 0, IR_I64 },          [G_X5] = { "x5", 8, IR_I64 },
    [G_X6] = { "x6", 16, IR_I64 },         [G_X7] = { "x7", 24, IR_I64 },
    [G_FFLAGS] = { "fflags", 32, IR_I32 },
};

static const IrGlobals test_globals = { global_defs, NGLOBALS, G_PC };

/* The test interpreter calls helpers with the globals array and the argument values. */
typedef uint64_t (*TestHelperFn)(uint64_t *g, const uint64_t *args);

static uint64_t fn_fadd(uint64_t *g, const uint64_t *args)
{
    (void)g;
    return args[0] + args[1] + args[2];
}

static uint64_t fn_mix(uint64_t *g, const uint64_t *args)
{
    (void)g;
    return (args[0] * 0x9e3779b97f4a7c15ull) ^ (args[1] >> 3);
}

static uint64_t fn_set_x6(uint64_t *g, const uint64_t *args)
{
    g[G_X6] += args[0];
    return g[G_X5] ^ args[0];
}

static uint64_t fn_read_x5(uint64_t *g, const uint64_t *args)
{
    return g[G_X5] + args[0];
}

static uint64_t fn_raise(uint64_t *g, const uint64_t *args)
{
    (void)g;
    (void)args;
    return 0;
}

static const IrHelper h_fadd = { "rv_fadd_d", (void *)fn_fadd, 3, IR_HELPER_PURE };
static const IrHelper h_mix = { "mix", (void *)fn_mix, 2, IR_HELPER_PURE };
static const IrHelper h_set_x6 = { "set_x6", (void *)fn_set_x6, 1,
                                   IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE };
static const IrHelper h_read_x5 = { "read_x5", (void *)fn_read_x5, 1, IR_HELPER_READS_STATE };
static const IrHelper h_raise = { "raise", (void *)fn_raise, 1,
                                  IR_HELPER_MAY_RAISE | IR_HELPER_NO_RETURN };

static IrVal c64(IrFunc *f, uint64_t v)
{
    return ir_const(f, IR_I64, v);
}

static IrVal c32(IrFunc *f, uint64_t v)
{
    return ir_const(f, IR_I32, v);
}

static IrVal g_(unsigned index)
{
    return (IrVal)index;
}

static char *print_to_string(const IrFunc *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        perror("open_memstream");
        exit(2);
    }
    ir_print(f, out);
    fclose(out);
    return buf;
}

static void dump(const char *title, const IrFunc *f)
{
    fprintf(stderr, "---- %s (%u ops)\n", title, f->nops);
    ir_print(f, stderr);
}

static bool verify_ok(const IrFunc *f, const char *what)
{
    char msg[256];
    bool ok = ir_verify(f, msg, sizeof(msg));
    CHECK(ok, "%s: verifier rejected: %s", what, msg);
    if (!ok)
        dump(what, f);
    return ok;
}

static unsigned count_op(const IrFunc *f, IrOpcode opc)
{
    unsigned n = 0;
    for (unsigned i = 0; i < f->nops; i++)
        n += f->ops[i].opc == opc;
    return n;
}

/* The op writing d (last one), or NULL. */
static const IrOp *def_of(const IrFunc *f, IrVal d)
{
    const IrOp *found = NULL;
    for (unsigned i = 0; i < f->nops; i++) {
        if (ir_op_has_dst[f->ops[i].opc] && f->ops[i].d == d)
            found = &f->ops[i];
    }
    return found;
}

/* ---- Printer ---- */

static void test_names(void)
{
    for (unsigned i = 0; i < IR_OP_COUNT; i++) {
        const char *name = ir_opcode_name((IrOpcode)i);
        CHECK(name && strcmp(name, "?") != 0, "opcode %u has no name", i);
        for (unsigned j = 0; j < i; j++)
            CHECK(strcmp(name, ir_opcode_name((IrOpcode)j)) != 0, "duplicate name %s", name);
    }
    CHECK(strcmp(ir_opcode_name(IR_OP_ADD), "add") == 0, "add");
    CHECK(strcmp(ir_opcode_name(IR_OP_GOTO_BLOCK), "goto_block") == 0, "goto_block");
    CHECK(strcmp(ir_opcode_name((IrOpcode)200), "?") == 0, "out of range");
    for (unsigned i = 0; i < IR_COND_COUNT; i++)
        CHECK(strcmp(ir_cond_name((IrCond)i), "?") != 0, "cond %u has no name", i);
    CHECK(strcmp(ir_cond_name(IR_LTU), "ltu") == 0, "ltu");
    CHECK(strcmp(ir_cond_name(IR_COND_COUNT), "?") == 0, "cond out of range");

    CHECK(ir_op_nsrc[IR_OP_ADD] == 2 && ir_op_has_dst[IR_OP_ADD] == 1, "add table");
    CHECK(ir_op_nsrc[IR_OP_SELECT] == 3 && ir_op_has_dst[IR_OP_SELECT] == 1, "select table");
    CHECK(ir_op_nsrc[IR_OP_ST] == 2 && ir_op_has_dst[IR_OP_ST] == 0, "st table");
    CHECK(ir_op_nsrc[IR_OP_GOTO_PTR] == 1 && ir_op_has_dst[IR_OP_GOTO_PTR] == 0, "goto_ptr");
    CHECK(ir_op_nsrc[IR_OP_CALL] == 0 && ir_op_has_dst[IR_OP_CALL] == 1, "call table");
    CHECK(ir_op_nsrc[IR_OP_EXIT] == 0 && ir_op_has_dst[IR_OP_EXIT] == 0, "exit table");
}

static void expect_line(const char *text, const char *line)
{
    /* A whole line: preceded by a newline (or the start) and followed by one. */
    size_t n = strlen(line);
    const char *p = text;
    bool found = false;
    while ((p = strstr(p, line)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            found = true;
            break;
        }
        p++;
    }
    CHECK(found, "printed output lacks the line \"%s\"; got:\n%s", line, text);
}

/* Builds a function that uses every opcode; valid for the verifier. */
static void build_everything(IrFunc *f)
{
    unsigned l_skip = ir_new_label(f);
    unsigned l_loop = ir_new_label(f);

    ir_insn_start(f, 0x80000010);
    IrVal t0 = ir_add(f, IR_I64, g_(G_X5), c64(f, 0x10));
    ir_store(f, IR_MEMFLAGS(2, 0, 0, 1), t0, 8, g_(G_X6));
    IrVal t1 = ir_load(f, IR_I64, IR_MEMFLAGS(2, 1, 1, 2), t0, -4);
    ir_brcond(f, IR_I64, IR_LT, t1, c64(f, 0), l_skip);
    IrVal t2 = ir_call3(f, &h_fadd, true, t0, t1, c64(f, 7));
    ir_mov(f, g_(G_X7), t2);
    ir_label(f, l_skip);
    ir_insn_start(f, 0x80000014);
    IrVal t3 = ir_sub(f, IR_I32, g_(G_X5), c32(f, 1));
    ir_mov(f, g_(G_FFLAGS), t3);
    static const IrOpcode binops[] = {
        IR_OP_MUL,  IR_OP_MULSH, IR_OP_MULUH, IR_OP_MULSUH, IR_OP_DIV,  IR_OP_DIVU,
        IR_OP_REM,  IR_OP_REMU,  IR_OP_AND,   IR_OP_OR,     IR_OP_XOR,  IR_OP_ANDC,
        IR_OP_ORC,  IR_OP_SHL,   IR_OP_SHR,   IR_OP_SAR,    IR_OP_ROTL, IR_OP_ROTR,
        IR_OP_SMIN, IR_OP_SMAX,  IR_OP_UMIN,  IR_OP_UMAX,
    };
    static const IrOpcode unops[] = {
        IR_OP_NOT,    IR_OP_NEG,    IR_OP_SEXT8, IR_OP_SEXT16, IR_OP_SEXT32, IR_OP_ZEXT8,
        IR_OP_ZEXT16, IR_OP_ZEXT32, IR_OP_CLZ,   IR_OP_CTZ,    IR_OP_POPCNT, IR_OP_BSWAP,
    };
    IrVal acc = t1;
    for (size_t i = 0; i < sizeof(binops) / sizeof(binops[0]); i++)
        acc = ir_binop(f, binops[i], (i & 1) ? IR_I32 : IR_I64, acc, g_(G_X6));
    for (size_t i = 0; i < sizeof(unops) / sizeof(unops[0]); i++)
        acc = ir_unop(f, unops[i], (i & 1) ? IR_I32 : IR_I64, acc);
    IrVal t4 = ir_setcond(f, IR_I32, IR_GEU, acc, g_(G_X7));
    IrVal t5 = ir_select(f, IR_I64, t4, acc, t0);
    IrVal t6 = ir_atomic_rmw(f, IR_I64, IR_MEMFLAGS(2, 1, 1, 0) | IR_MEM_ACQ | IR_MEM_REL,
                             IR_AMO_ADD, t5, c64(f, 1));
    IrVal t7 = ir_cmpxchg(f, IR_I64, IR_MEMFLAGS(3, 0, 1, 0), t5, t6, c64(f, 2));
    ir_fence(f, IR_FENCE_FULL);
    ir_call1(f, &h_set_x6, false, t7);
    ir_label(f, l_loop);
    ir_brcond(f, IR_I32, IR_TSTNE, t7, c32(f, 0x80), l_loop);
    ir_br(f, l_skip);
    ir_goto_block(f, 0x80000020);
    ir_goto_ptr(f, t5);
    ir_exit(f, IR_EXIT_HALT);
}

static void test_print(void)
{
    IrFunc f;
    ir_init(&f, &test_globals);
    build_everything(&f);
    verify_ok(&f, "everything");
    char *text = print_to_string(&f);

    expect_line(text, " ---- insn 0x80000010");
    expect_line(text, "  t0:i64 = add x5, $0x10");
    expect_line(text, "  st.w [t0+8], x6 mmu=1");
    expect_line(text, "  t1:i64 = ld.sw [t0-4] mmu=2 align");
    expect_line(text, "  brcond.i64 lt t1, $0 -> L0");
    expect_line(text, "  t2 = call rv_fadd_d(t0, t1, $7)");
    expect_line(text, "  x7:i64 = mov t2");
    expect_line(text, "L0:");
    expect_line(text, "  t3:i32 = sub x5, $1");
    expect_line(text, "  fflags:i32 = mov t3");
    expect_line(text, "  t4:i64 = mul t1, x6");
    expect_line(text, "  t5:i32 = mulsh t4, x6");
    expect_line(text, "  fence rw");
    expect_line(text, "  call set_x6(t41)");
    expect_line(text, "  brcond.i32 tstne t41, $0x80 -> L1");
    expect_line(text, "  br L0");
    expect_line(text, "  goto_block 0x80000020");
    expect_line(text, "  goto_ptr t39");
    expect_line(text, "  exit halt");
    expect_line(text, "  t38:i64 = setcond.i32 geu t37, x7");
    expect_line(text, "  t39:i64 = select t38, t37, t0");
    expect_line(text, "  t40:i64 = atomic_rmw.add.sw [t39], $1 mmu=0 align acq rel");
    expect_line(text, "  t41:i64 = cmpxchg.d [t39], t40, $2 mmu=0 align");
    expect_line(text, "  t37:i32 = bswap t36");
    /* One line per op. */
    unsigned lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    CHECK(lines == f.nops, "%u lines for %u ops", lines, f.nops);
    free(text);

    /* A broken function still prints. */
    ir_reset(&f);
    ir_emit(&f, IR_OP_ADD, IR_I64, 0, 9999, 9998, IR_NONE, IR_NONE, 0);
    ir_emit(&f, IR_OP_GOTO_BLOCK, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, 5);
    ir_emit(&f, (IrOpcode)200, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, 0);
    text = print_to_string(&f);
    expect_line(text, "  ?9999:i64 = add ?9998, -");
    expect_line(text, "  goto_block ?pc5");
    expect_line(text, "  ??? opc=200");
    free(text);
    ir_free(&f);
}

/* ---- Verifier: one rejection per rule ---- */

typedef void (*Breaker)(IrFunc *f);

/*
 * A valid base function: a small block with a branch and a call. Each test builds it,
 * breaks one thing and expects the verifier's message to mention `want`.
 */
typedef struct Base {
    IrVal t_sum, t_ld;
    unsigned op_add, op_ld, op_st, op_brcond, op_call, op_label, op_end;
    unsigned label;
} Base;

static Base build_base(IrFunc *f)
{
    Base b;
    b.label = ir_new_label(f);
    ir_insn_start(f, 0x1000);
    b.t_sum = ir_add(f, IR_I64, g_(G_X5), c64(f, 3));
    b.op_add = f->nops - 1;
    b.t_ld = ir_load(f, IR_I64, IR_MEMFLAGS(3, 0, 0, 1), b.t_sum, 0);
    b.op_ld = f->nops - 1;
    ir_store(f, IR_MEMFLAGS(2, 0, 0, 1), b.t_sum, 4, b.t_ld);
    b.op_st = f->nops - 1;
    ir_brcond(f, IR_I64, IR_EQ, b.t_ld, c64(f, 0), b.label);
    b.op_brcond = f->nops - 1;
    ir_call2(f, &h_mix, true, b.t_sum, b.t_ld);
    b.op_call = f->nops - 1;
    ir_label(f, b.label);
    b.op_label = f->nops - 1;
    ir_goto_block(f, 0x1004);
    b.op_end = f->nops - 1;
    return b;
}

static void expect_reject(const char *name, const IrFunc *f, const char *want)
{
    char msg[256];
    bool ok = ir_verify(f, msg, sizeof(msg));
    CHECK(!ok, "%s: verifier accepted a broken function", name);
    if (!ok)
        CHECK(strstr(msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", name, msg, want);
    /* A NULL message buffer is allowed. */
    CHECK(!ir_verify(f, NULL, 0), "%s: NULL msg", name);
}

static void test_verify(void)
{
    IrFunc f;
    char msg[256];
    Base b;
    ir_init(&f, &test_globals);

#define CASE(name, want, ...)          \
    do {                               \
        ir_reset(&f);                  \
        b = build_base(&f);            \
        verify_ok(&f, "base");         \
        __VA_ARGS__;                   \
        expect_reject(name, &f, want); \
    } while (0)

    CASE("opcode out of range", "bad opcode", f.ops[b.op_add].opc = IR_OP_COUNT);
    CASE("type out of range", "bad type", f.ops[b.op_add].type = 2);
    CASE("operand out of range", "operand b out of range", f.ops[b.op_add].b = (IrVal)f.nvals);
    CASE("used operand is IR_NONE", "operand a out of range", f.ops[b.op_add].a = IR_NONE);
    CASE("unused operand set", "unused operand", f.ops[b.op_add].c = g_(G_X6));
    CASE("unused operand on a goto_block", "unused operand", f.ops[b.op_end].a = g_(G_X6));
    CASE("destination is a constant", "destination is a constant", f.ops[b.op_add].d = c64(&f, 1));
    CASE("missing destination", "missing destination", f.ops[b.op_add].d = IR_NONE);
    CASE("destination out of range", "destination id out of range",
         f.ops[b.op_add].d = (IrVal)(f.nvals + 3));
    CASE("destination on a store", "destination on an op without one", f.ops[b.op_st].d = b.t_sum);
    CASE("i64 op writes an i32 global", "i32 global", {
        f.ops[b.op_add].d = g_(G_FFLAGS);
        f.ops[b.op_add].type = IR_I64;
    });
    CASE("temp type differs", "destination temp type", f.ops[b.op_add].type = IR_I32);
    CASE("temp read before written", "read before it is written", {
        IrVal t = ir_temp(&f, IR_I64);
        f.ops[b.op_add].b = t;
    });
    CASE("temp read before written (own dst)", "read before it is written",
         f.ops[b.op_add].a = b.t_sum);
    CASE("temp written only after the use", "read before it is written", {
        IrVal t = ir_temp(&f, IR_I64);
        f.ops[b.op_st].b = t;
        f.ops[b.op_call].d = t;
    });
    CASE("call argument read before written", "read before it is written", {
        IrVal t = ir_temp(&f, IR_I64);
        f.calls[f.ops[b.op_call].aux].args[1] = t;
    });
    CASE("label defined twice", "label defined twice",
         ir_emit(&f, IR_OP_LABEL, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, b.label));
    CASE("branch to an undefined label", "undefined label",
         f.ops[b.op_brcond].aux = ir_new_label(&f));
    CASE("br to an undefined label", "undefined label", {
        f.ops[b.op_brcond] = (IrOp){ .opc = IR_OP_BR,
                                     .type = IR_I64,
                                     .d = IR_NONE,
                                     .a = IR_NONE,
                                     .b = IR_NONE,
                                     .c = IR_NONE,
                                     .aux = ir_new_label(&f) };
    });
    CASE("label out of range", "label out of range", f.ops[b.op_label].aux = f.nlabels);
    CASE("branch label out of range", "label out of range", f.ops[b.op_brcond].aux = f.nlabels + 7);
    CASE("bad condition", "bad condition", f.ops[b.op_brcond].flags = IR_COND_COUNT);
    CASE("call index out of range", "call index out of range", f.ops[b.op_call].aux = f.ncalls);
    CASE("call with fewer arguments", "fewer arguments",
         f.calls[f.ops[b.op_call].aux].args[1] = IR_NONE);
    CASE("call with more arguments", "more arguments",
         f.calls[f.ops[b.op_call].aux].args[2] = g_(G_X5));
    CASE("call argument out of range", "argument id out of range",
         f.calls[f.ops[b.op_call].aux].args[0] = (IrVal)(f.nvals + 1));
    CASE("call without helper", "without a helper", f.calls[f.ops[b.op_call].aux].helper = NULL);
    CASE("insn_start pc out of range", "pc index out of range", f.ops[0].aux = f.npcs);
    CASE("goto_block pc out of range", "pc index out of range", f.ops[b.op_end].aux = 99);
    CASE("unknown memory flag", "unknown memory flags", f.ops[b.op_st].flags |= 1u << 12);
    CASE("8-byte load into i32", "8-byte access into an i32", {
        f.ops[b.op_ld].type = IR_I32;
        f.vals[b.t_ld].type = IR_I32;
    });
    CASE("ends without an exit", "does not end in a block exit", f.ops[b.op_end] = f.ops[b.op_add]);
    CASE("ends in a label", "does not end in a block exit", ir_label(&f, ir_new_label(&f)));
    CASE("ends in a returning call", "does not end in a block exit",
         ir_call1(&f, &h_read_x5, false, g_(G_X5)));
    CASE("ends in a branch", "does not end in a block exit", ir_br(&f, b.label));
    CASE("empty", "empty function", f.nops = 0);
    CASE("only nops", "empty function", {
        f.nops = 0;
        ir_emit(&f, IR_OP_NOP, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, 0);
    });
    CASE("overflow", "overflowed", f.overflow = true);
    CASE("i32 constant wider than 32 bits", "wider than 32 bits", {
        IrVal k = f.ops[b.op_add].b;
        f.vals[k].type = IR_I32;
        f.vals[k].value = 0x100000000;
    });
    CASE("temp slot beyond ntemps", "temp slot", f.ntemps = 1);
    CASE("global table mismatch", "differs from global", f.vals[G_X6].offset = 99);
    CASE("global id beyond the table", "global id beyond", {
        IrVal t = ir_temp(&f, IR_I64);
        f.vals[t].kind = IR_VK_GLOBAL;
    });
    CASE("bad value kind", "bad kind", f.vals[b.t_sum].kind = 7);
    CASE("bad atomic op", "bad atomic operation", {
        f.nops--;
        IrVal t = ir_atomic_rmw(&f, IR_I64, IR_MEMFLAGS(3, 0, 0, 0), IR_AMO_ADD, b.t_sum, b.t_ld);
        (void)t;
        f.ops[f.nops - 1].aux = IR_AMO_COUNT;
        ir_goto_block(&f, 0x1004);
    });
    CASE("bad fence kind", "bad fence kind", {
        f.nops--;
        ir_fence(&f, 0);
        ir_goto_block(&f, 0x1004);
    });
    CASE("bad exit code", "bad exit code", {
        f.nops--;
        ir_exit(&f, (IrExitCode)9);
    });
#undef CASE

    /* Accepted variations. */
    ir_reset(&f);
    b = build_base(&f);
    ir_emit(&f, IR_OP_NOP, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, 0);
    verify_ok(&f, "trailing nops after goto_block");

    ir_reset(&f);
    b = build_base(&f);
    f.nops--;
    ir_call1(&f, &h_raise, false, b.t_sum);
    verify_ok(&f, "ends in a no-return call");

    ir_reset(&f);
    b = build_base(&f);
    f.nops--;
    ir_exit(&f, IR_EXIT_FLUSH);
    verify_ok(&f, "ends in exit");

    ir_reset(&f);
    {
        unsigned l = ir_new_label(&f);
        IrVal a = ir_add(&f, IR_I32, g_(G_X5), c64(&f, 0x123456789)); /* I32 reads I64 */
        IrVal w = ir_add(&f, IR_I64, a, g_(G_FFLAGS));                /* I64 reads I32 */
        IrVal s = ir_setcond(&f, IR_I32, IR_LT, a, w);                /* I64 temp */
        ir_mov(&f, g_(G_X5), a); /* I32 value into an I64 global */
        ir_emit(&f, IR_OP_MOV, IR_I32, 0, g_(G_X6), s, IR_NONE, IR_NONE, 0); /* I32 op */
        ir_label(&f, l); /* backward branch target */
        ir_brcond(&f, IR_I64, IR_NE, w, s, l);
        ir_goto_ptr(&f, w);
        verify_ok(&f, "mixed widths and a loop");
    }

    CHECK(ir_verify(&f, msg, sizeof(msg)) && msg[0] == '\0', "message cleared when valid");
    ir_free(&f);
}

/* ---- Constant folding of every computation ---- */

typedef struct FoldCase {
    IrOpcode opc;
    IrType type;
    uint16_t cond;
    uint64_t a, b, c;
    uint64_t want;
} FoldCase;

#define I64_MIN 0x8000000000000000ull
#define ONES    0xffffffffffffffffull
#define ONES32  0xffffffffull

static const FoldCase fold_cases[] = {
    { IR_OP_ADD, IR_I64, 0, 2, 3, 0, 5 },
    { IR_OP_ADD, IR_I32, 0, 0xffffffff, 1, 0, 0 },
    { IR_OP_ADD, IR_I32, 0, 0x100000005, 1, 0, 6 },
    { IR_OP_ADD, IR_I64, 0, ONES, 1, 0, 0 },
    { IR_OP_SUB, IR_I64, 0, 0, 1, 0, ONES },
    { IR_OP_SUB, IR_I32, 0, 0, 1, 0, ONES32 },
    { IR_OP_MUL, IR_I64, 0, 0x100000000, 0x100000000, 0, 0 },
    { IR_OP_MUL, IR_I32, 0, 0x10000, 0x10001, 0, 0x10000 },
    { IR_OP_MULSH, IR_I64, 0, ONES, ONES, 0, 0 },
    { IR_OP_MULSH, IR_I64, 0, I64_MIN, 2, 0, ONES },
    { IR_OP_MULSH, IR_I32, 0, 0xfffffffe, 3, 0, ONES32 },
    { IR_OP_MULSH, IR_I32, 0, 0x40000000, 8, 0, 2 },
    { IR_OP_MULUH, IR_I64, 0, ONES, ONES, 0, 0xfffffffffffffffe },
    { IR_OP_MULUH, IR_I32, 0, 0xffffffff, 0xffffffff, 0, 0xfffffffe },
    { IR_OP_MULSUH, IR_I64, 0, ONES, ONES, 0, ONES },
    { IR_OP_MULSUH, IR_I64, 0, 2, ONES, 0, 1 },
    { IR_OP_MULSUH, IR_I32, 0, 0xffffffff, 0xffffffff, 0, ONES32 },
    { IR_OP_MULSUH, IR_I32, 0, 2, 0xffffffff, 0, 1 },
    { IR_OP_DIV, IR_I64, 0, 7, 2, 0, 3 },
    { IR_OP_DIV, IR_I64, 0, (uint64_t)-7, 2, 0, (uint64_t)-3 },
    { IR_OP_DIV, IR_I64, 0, 7, 0, 0, ONES },
    { IR_OP_DIV, IR_I64, 0, I64_MIN, ONES, 0, I64_MIN },
    { IR_OP_DIV, IR_I32, 0, 0x80000000, 0xffffffff, 0, 0x80000000 },
    { IR_OP_DIV, IR_I32, 0, 5, 0, 0, ONES32 },
    { IR_OP_DIV, IR_I32, 0, 0x100000007, 2, 0, 3 },
    { IR_OP_DIV, IR_I32, 0, 0xfffffff9, 2, 0, 0xfffffffd },
    { IR_OP_DIVU, IR_I64, 0, ONES, 2, 0, 0x7fffffffffffffff },
    { IR_OP_DIVU, IR_I64, 0, 9, 0, 0, ONES },
    { IR_OP_DIVU, IR_I32, 0, 9, 0, 0, ONES32 },
    { IR_OP_DIVU, IR_I32, 0, 0xfffffff9, 2, 0, 0x7ffffffc },
    { IR_OP_REM, IR_I64, 0, (uint64_t)-7, 2, 0, ONES },
    { IR_OP_REM, IR_I64, 0, 7, 0, 0, 7 },
    { IR_OP_REM, IR_I64, 0, I64_MIN, ONES, 0, 0 },
    { IR_OP_REM, IR_I32, 0, 0xfffffff9, 2, 0, ONES32 },
    { IR_OP_REM, IR_I32, 0, 0x80000000, 0xffffffff, 0, 0 },
    { IR_OP_REM, IR_I32, 0, 5, 0, 0, 5 },
    { IR_OP_REM, IR_I32, 0, 0x100000005, 0x100000000, 0, 5 },
    { IR_OP_REMU, IR_I64, 0, 7, 3, 0, 1 },
    { IR_OP_REMU, IR_I64, 0, 7, 0, 0, 7 },
    { IR_OP_REMU, IR_I32, 0, 0xffffffff, 0, 0, ONES32 },
    { IR_OP_AND, IR_I64, 0, 0xf0f0, 0xff00, 0, 0xf000 },
    { IR_OP_OR, IR_I64, 0, 0xf0f0, 0xff00, 0, 0xfff0 },
    { IR_OP_XOR, IR_I64, 0, 0xf0f0, 0xff00, 0, 0x0ff0 },
    { IR_OP_ANDC, IR_I64, 0, 0xf0f0, 0xff00, 0, 0x00f0 },
    { IR_OP_ORC, IR_I64, 0, 0xf0f0, 0xff00, 0, 0xfffffffffffff0ff },
    { IR_OP_ORC, IR_I32, 0, 0xf0f0, 0xff00, 0, 0xfffff0ff },
    { IR_OP_NOT, IR_I64, 0, 0, 0, 0, ONES },
    { IR_OP_NOT, IR_I32, 0, 0, 0, 0, ONES32 },
    { IR_OP_NEG, IR_I64, 0, 1, 0, 0, ONES },
    { IR_OP_NEG, IR_I32, 0, 1, 0, 0, ONES32 },
    { IR_OP_SHL, IR_I64, 0, 1, 65, 0, 2 },
    { IR_OP_SHL, IR_I32, 0, 1, 33, 0, 2 },
    { IR_OP_SHL, IR_I32, 0, 0x80000000, 1, 0, 0 },
    { IR_OP_SHR, IR_I64, 0, ONES, 60, 0, 0xf },
    { IR_OP_SHR, IR_I32, 0, ONES, 28, 0, 0xf },
    { IR_OP_SAR, IR_I64, 0, I64_MIN, 63, 0, ONES },
    { IR_OP_SAR, IR_I32, 0, 0x80000000, 31, 0, ONES32 },
    { IR_OP_SAR, IR_I32, 0, 0x80000000, 4, 0, 0xf8000000 },
    { IR_OP_SAR, IR_I32, 0, 0x180000000, 36, 0, 0xf8000000 },
    { IR_OP_ROTL, IR_I64, 0, 0x8000000000000001, 1, 0, 3 },
    { IR_OP_ROTL, IR_I32, 0, 0x80000001, 1, 0, 3 },
    { IR_OP_ROTL, IR_I32, 0, 0x80000001, 32, 0, 0x80000001 },
    { IR_OP_ROTR, IR_I64, 0, 1, 1, 0, I64_MIN },
    { IR_OP_ROTR, IR_I32, 0, 1, 1, 0, 0x80000000 },
    { IR_OP_ROTR, IR_I64, 0, 0x12, 64, 0, 0x12 },
    { IR_OP_SEXT8, IR_I64, 0, 0x80, 0, 0, 0xffffffffffffff80 },
    { IR_OP_SEXT8, IR_I32, 0, 0x80, 0, 0, 0xffffff80 },
    { IR_OP_SEXT16, IR_I64, 0, 0x18000, 0, 0, 0xffffffffffff8000 },
    { IR_OP_SEXT32, IR_I64, 0, 0x80000000, 0, 0, 0xffffffff80000000 },
    { IR_OP_SEXT32, IR_I32, 0, 0x180000000, 0, 0, 0x80000000 },
    { IR_OP_ZEXT8, IR_I64, 0, 0x1234, 0, 0, 0x34 },
    { IR_OP_ZEXT16, IR_I64, 0, 0x12345678, 0, 0, 0x5678 },
    { IR_OP_ZEXT32, IR_I64, 0, ONES, 0, 0, ONES32 },
    { IR_OP_CLZ, IR_I64, 0, 0, 0, 0, 64 },
    { IR_OP_CLZ, IR_I32, 0, 0, 0, 0, 32 },
    { IR_OP_CLZ, IR_I64, 0, 1, 0, 0, 63 },
    { IR_OP_CLZ, IR_I32, 0, 1, 0, 0, 31 },
    { IR_OP_CLZ, IR_I32, 0, 0x100000000, 0, 0, 32 },
    { IR_OP_CTZ, IR_I64, 0, 0, 0, 0, 64 },
    { IR_OP_CTZ, IR_I32, 0, 0, 0, 0, 32 },
    { IR_OP_CTZ, IR_I32, 0, 0x100000000, 0, 0, 32 },
    { IR_OP_CTZ, IR_I64, 0, 8, 0, 0, 3 },
    { IR_OP_POPCNT, IR_I64, 0, ONES, 0, 0, 64 },
    { IR_OP_POPCNT, IR_I32, 0, ONES, 0, 0, 32 },
    { IR_OP_BSWAP, IR_I64, 0, 0x0102030405060708, 0, 0, 0x0807060504030201 },
    { IR_OP_BSWAP, IR_I32, 0, 0x1001020304, 0, 0, 0x04030201 },
    { IR_OP_SMIN, IR_I64, 0, ONES, 1, 0, ONES },
    { IR_OP_SMAX, IR_I64, 0, ONES, 1, 0, 1 },
    { IR_OP_UMIN, IR_I64, 0, ONES, 1, 0, 1 },
    { IR_OP_UMAX, IR_I64, 0, ONES, 1, 0, ONES },
    { IR_OP_SMIN, IR_I32, 0, 0xffffffff, 1, 0, ONES32 },
    { IR_OP_SMAX, IR_I32, 0, 0x1ffffffff, 1, 0, 1 },
    { IR_OP_UMAX, IR_I32, 0, 0x100000000, 1, 0, 1 },
    { IR_OP_SETCOND, IR_I64, IR_LT, ONES, 0, 0, 1 },
    { IR_OP_SETCOND, IR_I64, IR_LTU, ONES, 0, 0, 0 },
    { IR_OP_SETCOND, IR_I32, IR_LT, 0xffffffff, 0, 0, 1 },
    { IR_OP_SETCOND, IR_I64, IR_LT, 0xffffffff, 0, 0, 0 },
    { IR_OP_SETCOND, IR_I32, IR_EQ, 0x100000000, 0, 0, 1 },
    { IR_OP_SETCOND, IR_I64, IR_NE, 0x100000000, 0, 0, 1 },
    { IR_OP_SETCOND, IR_I64, IR_GE, 5, 5, 0, 1 },
    { IR_OP_SETCOND, IR_I64, IR_LE, ONES, 0, 0, 1 },
    { IR_OP_SETCOND, IR_I64, IR_GT, ONES, 0, 0, 0 },
    { IR_OP_SETCOND, IR_I64, IR_GEU, ONES, 0, 0, 1 },
    { IR_OP_SETCOND, IR_I64, IR_LEU, ONES, 0, 0, 0 },
    { IR_OP_SETCOND, IR_I64, IR_GTU, ONES, 0, 0, 1 },
    { IR_OP_SETCOND, IR_I64, IR_TSTEQ, 6, 1, 0, 1 },
    { IR_OP_SETCOND, IR_I64, IR_TSTNE, 6, 2, 0, 1 },
    { IR_OP_SETCOND, IR_I32, IR_TSTNE, 0x100000000, 0x100000000, 0, 0 },
    { IR_OP_SELECT, IR_I64, 0, 1, 5, 6, 5 },
    { IR_OP_SELECT, IR_I64, 0, 0, 5, 6, 6 },
    { IR_OP_SELECT, IR_I64, 0, 0x100000000, 5, 6, 5 },
    { IR_OP_SELECT, IR_I32, 0, 0x100000000, 5, 6, 6 },
    { IR_OP_SELECT, IR_I32, 0, 1, 0x100000005, 6, 5 },
    { IR_OP_MOV, IR_I32, 0, 0x123456789, 0, 0, 0x23456789 },
    { IR_OP_MOV, IR_I64, 0, 0x123456789, 0, 0, 0x123456789 },
};

/*
 * x5 = op(constants); goto_block. After ir_optimize it must be `x5 = mov $want` and the
 * goto_block. Operands are I64 constants, so I32 ops also see high bits they must ignore.
 */
static void test_fold_case(const FoldCase *fc)
{
    IrFunc f;
    ir_init(&f, &test_globals);
    IrVal d = ir_temp(&f, fc->opc == IR_OP_SETCOND ? IR_I64 : fc->type);
    unsigned nsrc = ir_op_nsrc[fc->opc];
    IrVal a = nsrc > 0 ? c64(&f, fc->a) : IR_NONE;
    IrVal b = nsrc > 1 ? c64(&f, fc->b) : IR_NONE;
    IrVal c = nsrc > 2 ? c64(&f, fc->c) : IR_NONE;
    ir_emit(&f, fc->opc, fc->type, fc->cond, d, a, b, c, 0);
    ir_mov(&f, g_(G_X5), d);
    ir_goto_block(&f, 0x2000);
    verify_ok(&f, "fold case (before)");

    ir_optimize(&f);
    char what[96];
    snprintf(what, sizeof(what), "%s.%s 0x%" PRIx64 ", 0x%" PRIx64, ir_opcode_name(fc->opc),
             fc->type == IR_I32 ? "i32" : "i64", fc->a, fc->b);
    verify_ok(&f, what);
    const IrOp *op = &f.ops[0];
    bool shape = f.nops == 2 && op->opc == IR_OP_MOV && op->d == g_(G_X5) && ir_is_const(&f, op->a);
    CHECK(shape, "%s: not folded to a constant move", what);
    if (shape)
        CHECK(ir_const_value(&f, op->a) == fc->want, "%s: got 0x%" PRIx64 ", want 0x%" PRIx64, what,
              ir_const_value(&f, op->a), fc->want);
    else
        dump(what, &f);
    ir_free(&f);
}

static void test_fold_constants(void)
{
    for (size_t i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]); i++)
        test_fold_case(&fold_cases[i]);

    /* A chain: t1 = 2 + 3; t2 = t1 * 4; t3 = t2 - t1 -> 15. */
    IrFunc f;
    ir_init(&f, &test_globals);
    IrVal t1 = ir_add(&f, IR_I64, c64(&f, 2), c64(&f, 3));
    IrVal t2 = ir_mul(&f, IR_I64, t1, c64(&f, 4));
    IrVal t3 = ir_sub(&f, IR_I64, t2, t1);
    ir_store(&f, IR_MEMFLAGS(3, 0, 0, 0), g_(G_X7), 0, t3);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "chain");
    CHECK(f.nops == 2 && f.ops[0].opc == IR_OP_ST && ir_is_const(&f, f.ops[0].b) &&
              ir_const_value(&f, f.ops[0].b) == 15,
          "chain not folded into the store");
    ir_free(&f);
}

/* ---- Algebraic identities ---- */

typedef struct IdentCase {
    IrOpcode opc;
    IrType type;
    int x_side; /* 0: x op c, 1: c op x, 2: x op x */
    uint64_t c;
    int result; /* 0: mov x, 1: constant `value` */
    uint64_t value;
} IdentCase;

static const IdentCase ident_cases[] = {
    { IR_OP_ADD, IR_I64, 0, 0, 0, 0 },    { IR_OP_ADD, IR_I64, 1, 0, 0, 0 },
    { IR_OP_SUB, IR_I64, 0, 0, 0, 0 },    { IR_OP_SUB, IR_I64, 2, 0, 1, 0 },
    { IR_OP_MUL, IR_I64, 0, 1, 0, 0 },    { IR_OP_MUL, IR_I64, 1, 1, 0, 0 },
    { IR_OP_MUL, IR_I64, 0, 0, 1, 0 },    { IR_OP_MUL, IR_I64, 1, 0, 1, 0 },
    { IR_OP_AND, IR_I64, 0, 0, 1, 0 },    { IR_OP_AND, IR_I64, 0, ONES, 0, 0 },
    { IR_OP_AND, IR_I64, 1, ONES, 0, 0 }, { IR_OP_AND, IR_I64, 2, 0, 0, 0 },
    { IR_OP_OR, IR_I64, 0, 0, 0, 0 },     { IR_OP_OR, IR_I64, 1, 0, 0, 0 },
    { IR_OP_OR, IR_I64, 2, 0, 0, 0 },     { IR_OP_OR, IR_I64, 0, ONES, 1, ONES },
    { IR_OP_XOR, IR_I64, 0, 0, 0, 0 },    { IR_OP_XOR, IR_I64, 1, 0, 0, 0 },
    { IR_OP_XOR, IR_I64, 2, 0, 1, 0 },    { IR_OP_ANDC, IR_I64, 2, 0, 1, 0 },
    { IR_OP_ANDC, IR_I64, 0, 0, 0, 0 },   { IR_OP_ORC, IR_I64, 2, 0, 1, ONES },
    { IR_OP_SHL, IR_I64, 0, 0, 0, 0 },    { IR_OP_SHL, IR_I64, 0, 64, 0, 0 },
    { IR_OP_SHR, IR_I64, 0, 0, 0, 0 },    { IR_OP_SAR, IR_I64, 0, 0, 0, 0 },
    { IR_OP_ROTL, IR_I64, 0, 0, 0, 0 },   { IR_OP_ROTR, IR_I64, 0, 128, 0, 0 },
    { IR_OP_SHL, IR_I64, 1, 0, 1, 0 },    { IR_OP_DIV, IR_I64, 0, 1, 0, 0 },
    { IR_OP_DIVU, IR_I64, 0, 1, 0, 0 },   { IR_OP_REM, IR_I64, 0, 1, 1, 0 },
    { IR_OP_MULUH, IR_I64, 0, 0, 1, 0 },  { IR_OP_SMIN, IR_I64, 2, 0, 0, 0 },
    { IR_OP_UMAX, IR_I64, 2, 0, 0, 0 },   { IR_OP_AND, IR_I32, 0, 0, 1, 0 },
    { IR_OP_SUB, IR_I32, 2, 0, 1, 0 },    { IR_OP_OR, IR_I32, 0, 0xffffffff, 1, ONES32 },
};

/* x6 = op(x5, c); goto_block -> x6 = mov x5 or x6 = mov $value. */
static void test_identities(void)
{
    for (size_t i = 0; i < sizeof(ident_cases) / sizeof(ident_cases[0]); i++) {
        const IdentCase *ic = &ident_cases[i];
        IrFunc f;
        ir_init(&f, &test_globals);
        IrVal x = g_(G_X5), k = c64(&f, ic->c);
        IrVal a = ic->x_side == 1 ? k : x;
        IrVal b = ic->x_side == 0 ? k : x;
        IrVal d = ir_binop(&f, ic->opc, ic->type, a, b);
        ir_mov(&f, g_(G_X6), d);
        ir_goto_block(&f, 0x2000);
        ir_optimize(&f);

        char what[64];
        snprintf(what, sizeof(what), "identity %zu (%s)", i, ir_opcode_name(ic->opc));
        verify_ok(&f, what);
        const IrOp *op = &f.ops[0];
        bool ok =
            op->opc == IR_OP_MOV && op->d == g_(G_X6) &&
            (ic->result == 0 ? op->a == x
                             : ir_is_const(&f, op->a) && ir_const_value(&f, op->a) == ic->value);
        if (ic->type == IR_I64 || ic->result == 1)
            ok = ok && f.nops == 2;
        CHECK(ok, "%s not simplified", what);
        if (!ok)
            dump(what, &f);
        ir_free(&f);
    }

    /* An I32 and with 0xffffffff is an I32 mov: it still truncates x5, so x6 must not
     * become a plain I64 copy of x5. */
    IrFunc f;
    ir_init(&f, &test_globals);
    IrVal d = ir_and(&f, IR_I32, g_(G_X5), c64(&f, 0xffffffff));
    ir_mov(&f, g_(G_X6), d);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "and.i32 x, -1");
    const IrOp *def = def_of(&f, g_(G_X6));
    CHECK(f.nops == 2 && def && def->opc == IR_OP_MOV && def->type == IR_I32 && def->a == g_(G_X5),
          "and.i32 x5, 0xffffffff into x6 is not x6 = mov.i32 x5");
    ir_free(&f);
}

/* ---- Branches ---- */

static void test_branches(void)
{
    struct {
        IrType type;
        IrCond cond;
        int a_is_x, b_is_x; /* operand is x5 instead of the constant */
        uint64_t a, b;
        int want; /* 1: becomes br, 0: removed, -1: stays */
    } cases[] = {
        { IR_I64, IR_EQ, 0, 0, 1, 1, 1 },
        { IR_I64, IR_NE, 0, 0, 1, 1, 0 },
        { IR_I32, IR_EQ, 0, 0, 0x100000000, 0, 1 },
        { IR_I64, IR_EQ, 0, 0, 0x100000000, 0, 0 },
        { IR_I64, IR_LT, 0, 0, ONES, 0, 1 },
        { IR_I64, IR_LTU, 0, 0, ONES, 0, 0 },
        { IR_I64, IR_EQ, 1, 1, 0, 0, 1 },
        { IR_I64, IR_LTU, 1, 1, 0, 0, 0 },
        { IR_I64, IR_LTU, 1, 0, 0, 0, 0 },
        { IR_I64, IR_GEU, 1, 0, 0, 0, 1 },
        { IR_I64, IR_LT, 1, 0, 0, 0, -1 },
        { IR_I64, IR_TSTEQ, 1, 1, 0, 0, -1 },
        { IR_I64, IR_TSTEQ, 1, 0, 0, 0, 1 },
        { IR_I64, IR_TSTNE, 1, 0, 0, 0, 0 },
        { IR_I32, IR_TSTNE, 1, 0, 0, 0x100000000, 0 },
        { IR_I64, IR_TSTNE, 1, 0, 0, 0x100000000, -1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        IrFunc f;
        ir_init(&f, &test_globals);
        unsigned l = ir_new_label(&f);
        IrVal a = cases[i].a_is_x ? g_(G_X5) : c64(&f, cases[i].a);
        IrVal b = cases[i].b_is_x ? g_(G_X5) : c64(&f, cases[i].b);
        ir_brcond(&f, cases[i].type, cases[i].cond, a, b, l);
        ir_goto_block(&f, 0x2000);
        ir_label(&f, l);
        ir_goto_block(&f, 0x3000);
        ir_optimize(&f);
        verify_ok(&f, "branch");
        unsigned nbr = count_op(&f, IR_OP_BR), nbrcond = count_op(&f, IR_OP_BRCOND);
        bool ok = cases[i].want == 1   ? nbr == 1 && nbrcond == 0 && f.ops[0].aux == l
                  : cases[i].want == 0 ? nbr == 0 && nbrcond == 0 && f.nops == 3
                                       : nbr == 0 && nbrcond == 1;
        CHECK(ok, "branch case %zu (%s) folded wrongly", i, ir_cond_name(cases[i].cond));
        if (!ok)
            dump("branch", &f);
        ir_free(&f);
    }
}

/* ---- Copy propagation ---- */

/* Returns the source of the mov writing x6. */
static IrVal x6_source(const IrFunc *f)
{
    const IrOp *op = def_of(f, g_(G_X6));
    return op && op->opc == IR_OP_MOV ? op->a : IR_NONE;
}

static void test_copy_propagation(void)
{
    IrFunc f;
    ir_init(&f, &test_globals);

    /* Plain: t1 = x5; x6 = t1 -> x6 = x5, t1 gone. */
    IrVal t1 = ir_temp(&f, IR_I64);
    ir_mov(&f, t1, g_(G_X5));
    ir_mov(&f, g_(G_X6), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "copy");
    CHECK(x6_source(&f) == g_(G_X5) && f.nops == 2, "global copy not propagated");

    /* A write to x5 in between: x6 must keep reading the old value through t1. */
    ir_reset(&f);
    t1 = ir_temp(&f, IR_I64);
    ir_mov(&f, t1, g_(G_X5));
    ir_mov(&f, g_(G_X5), c64(&f, 1));
    ir_mov(&f, g_(G_X6), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "copy across a global write");
    CHECK(x6_source(&f) == t1 && def_of(&f, t1), "global copy crossed a write of the global");

    /* Written by an op other than mov. */
    ir_reset(&f);
    t1 = ir_temp(&f, IR_I64);
    ir_mov(&f, t1, g_(G_X5));
    ir_emit(&f, IR_OP_ADD, IR_I64, 0, g_(G_X5), g_(G_X5), c64(&f, 4), IR_NONE, 0);
    ir_mov(&f, g_(G_X6), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "copy across add to the global");
    CHECK(x6_source(&f) == t1, "global copy crossed an add into the global");

    /* A write to another global does not matter. */
    ir_reset(&f);
    t1 = ir_temp(&f, IR_I64);
    ir_mov(&f, t1, g_(G_X5));
    ir_mov(&f, g_(G_X7), c64(&f, 1));
    ir_mov(&f, g_(G_X6), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    CHECK(x6_source(&f) == g_(G_X5), "copy blocked by an unrelated global write");

    /* A helper that writes state stops global copies; one that only reads does not. */
    ir_reset(&f);
    t1 = ir_temp(&f, IR_I64);
    ir_mov(&f, t1, g_(G_X5));
    ir_call1(&f, &h_set_x6, false, g_(G_X7));
    ir_mov(&f, g_(G_X6), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "copy across a state-writing call");
    CHECK(x6_source(&f) == t1, "global copy crossed a state-writing call");

    ir_reset(&f);
    t1 = ir_temp(&f, IR_I64);
    ir_mov(&f, t1, g_(G_X5));
    ir_call1(&f, &h_read_x5, false, g_(G_X7));
    ir_mov(&f, g_(G_X6), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    CHECK(x6_source(&f) == g_(G_X5), "copy blocked by a state-reading call");

    /* Labels: constants and copies are forgotten. */
    ir_reset(&f);
    unsigned l = ir_new_label(&f);
    t1 = ir_add(&f, IR_I64, c64(&f, 2), c64(&f, 3));
    IrVal t2 = ir_temp(&f, IR_I64);
    ir_mov(&f, t2, g_(G_X7));
    ir_brcond(&f, IR_I64, IR_EQ, g_(G_X5), c64(&f, 0), l);
    ir_mov(&f, g_(G_X5), t1); /* before the label: folds */
    ir_label(&f, l);
    ir_mov(&f, g_(G_X6), t1); /* after it: must stay t1 */
    ir_store(&f, IR_MEMFLAGS(3, 0, 0, 0), t2, 0, t2);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "label");
    CHECK(x6_source(&f) == t1, "constant propagated across a label");
    CHECK(def_of(&f, t1) && ir_is_const(&f, def_of(&f, t1)->a) &&
              ir_const_value(&f, def_of(&f, t1)->a) == 5,
          "t1 not folded to a constant");
    const IrOp *x5 = def_of(&f, g_(G_X5));
    CHECK(x5 && ir_is_const(&f, x5->a) && ir_const_value(&f, x5->a) == 5,
          "constant not propagated before the label");
    const IrOp *st = &f.ops[f.nops - 2];
    CHECK(st->opc == IR_OP_ST && st->a == t2 && st->b == t2, "copy propagated across a label");

    /* Redefining the source temp ends its copies. */
    ir_reset(&f);
    t1 = ir_load(&f, IR_I64, IR_MEMFLAGS(3, 0, 0, 0), g_(G_X7), 0);
    t2 = ir_temp(&f, IR_I64);
    ir_mov(&f, t2, t1);
    ir_emit(&f, IR_OP_LD, IR_I64, IR_MEMFLAGS(3, 0, 0, 0), t1, g_(G_X7), IR_NONE, IR_NONE, 8);
    ir_mov(&f, g_(G_X6), t2);
    ir_mov(&f, g_(G_X5), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "temp redefined");
    CHECK(x6_source(&f) == t2, "temp copy crossed a redefinition of its source");
    CHECK(count_op(&f, IR_OP_LD) == 2, "loads removed");

    /* Chains of copies resolve to the original. */
    ir_reset(&f);
    t1 = ir_temp(&f, IR_I64);
    t2 = ir_temp(&f, IR_I64);
    IrVal t3 = ir_temp(&f, IR_I64);
    ir_mov(&f, t1, g_(G_X5));
    ir_mov(&f, t2, t1);
    ir_mov(&f, t3, t2);
    ir_mov(&f, g_(G_X6), t3);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    CHECK(x6_source(&f) == g_(G_X5) && f.nops == 2, "copy chain not resolved");

    /* An I32 copy of an I64 value truncates: not a copy. */
    ir_reset(&f);
    t1 = ir_temp(&f, IR_I32);
    ir_mov(&f, t1, g_(G_X5));
    ir_mov(&f, g_(G_X7), t1);
    ir_mov(&f, g_(G_X6), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "i32 copy");
    CHECK(x6_source(&f) == t1, "i32 mov of an i64 treated as a copy");

    /* Same, when the mov into x6 absorbs the temp: it must stay an I32 mov. */
    ir_reset(&f);
    t1 = ir_temp(&f, IR_I32);
    ir_mov(&f, t1, g_(G_X5));
    ir_mov(&f, g_(G_X6), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "i32 copy absorbed");
    CHECK(f.nops == 2 && x6_source(&f) == g_(G_X5) && f.ops[0].type == IR_I32,
          "i32 mov of an i64 absorbed as an i64 copy");

    /* ... but an I32 copy of an I32 global is. */
    ir_reset(&f);
    t1 = ir_temp(&f, IR_I32);
    ir_mov(&f, t1, g_(G_FFLAGS));
    ir_mov(&f, g_(G_X6), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    CHECK(x6_source(&f) == g_(G_FFLAGS), "i32 copy of an i32 global not propagated");

    /* An I32 mov of a wide constant narrows it. */
    ir_reset(&f);
    t1 = ir_temp(&f, IR_I32);
    ir_mov(&f, t1, c64(&f, 0x1ffffffff));
    t2 = ir_add(&f, IR_I64, t1, c64(&f, 1));
    ir_mov(&f, g_(G_X6), t2);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    IrVal src = x6_source(&f);
    CHECK(ir_is_const(&f, src) && ir_const_value(&f, src) == 0x100000000,
          "i32 mov of a wide constant");

    /* Constants written to globals are known until the global is written again. */
    ir_reset(&f);
    ir_mov(&f, g_(G_X5), c64(&f, 5));
    ir_mov(&f, g_(G_X6), ir_add(&f, IR_I64, g_(G_X5), c64(&f, 3)));
    ir_emit(&f, IR_OP_ADD, IR_I64, 0, g_(G_X5), g_(G_X5), g_(G_X7), IR_NONE, 0);
    ir_mov(&f, g_(G_X7), g_(G_X5));
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "global constant");
    src = x6_source(&f);
    CHECK(ir_is_const(&f, src) && ir_const_value(&f, src) == 8, "global constant not used");
    CHECK(f.ops[2].opc == IR_OP_ADD && ir_is_const(&f, f.ops[2].a) && f.ops[2].b == g_(G_X7),
          "x5 + x7 should read the constant x5 and the unknown x7");
    CHECK(def_of(&f, g_(G_X7)) && def_of(&f, g_(G_X7))->a == g_(G_X5),
          "global constant survived a write of the global");
    CHECK(f.nops == 5, "global writes removed");

    /* ... not across a label or a state-writing call; across a state-reading call. */
    for (int variant = 0; variant < 3; variant++) {
        ir_reset(&f);
        l = ir_new_label(&f);
        ir_mov(&f, g_(G_X5), c64(&f, 5));
        if (variant == 0) {
            ir_brcond(&f, IR_I64, IR_EQ, g_(G_X7), c64(&f, 0), l);
            ir_label(&f, l);
        } else {
            ir_call1(&f, variant == 1 ? &h_set_x6 : &h_read_x5, false, g_(G_X7));
        }
        ir_mov(&f, g_(G_X6), g_(G_X5));
        ir_goto_block(&f, 0x2000);
        ir_optimize(&f);
        verify_ok(&f, "global constant barrier");
        src = x6_source(&f);
        if (variant == 2)
            CHECK(ir_is_const(&f, src), "global constant lost across a state-reading call");
        else
            CHECK(src == g_(G_X5), "global constant crossed a %s",
                  variant ? "state-writing call" : "label");
    }

    /* An I32 global holds the truncated value. */
    ir_reset(&f);
    ir_emit(&f, IR_OP_MOV, IR_I32, 0, g_(G_FFLAGS), c64(&f, 0x1ffffffff), IR_NONE, IR_NONE, 0);
    ir_mov(&f, g_(G_X6), g_(G_FFLAGS));
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "i32 global constant");
    src = x6_source(&f);
    CHECK(ir_is_const(&f, src) && ir_const_value(&f, src) == 0xffffffff,
          "i32 global constant not truncated");

    /* Call arguments and store operands are substituted too. */
    ir_reset(&f);
    t1 = ir_add(&f, IR_I64, c64(&f, 20), c64(&f, 22));
    ir_call1(&f, &h_set_x6, false, t1);
    ir_store(&f, IR_MEMFLAGS(3, 0, 0, 0), t1, 0, t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "args");
    CHECK(f.nops == 3 && ir_is_const(&f, f.calls[f.ops[0].aux].args[0]) &&
              ir_const_value(&f, f.calls[f.ops[0].aux].args[0]) == 42 &&
              ir_is_const(&f, f.ops[1].a) && ir_is_const(&f, f.ops[1].b),
          "call argument/store operands not substituted");
    ir_free(&f);
}

/* ---- Dead code ---- */

static void test_dce(void)
{
    IrFunc f;
    ir_init(&f, &test_globals);

    /* A dead chain goes; insn_start stays. */
    ir_insn_start(&f, 0x1000);
    IrVal t1 = ir_add(&f, IR_I64, g_(G_X5), g_(G_X6));
    IrVal t2 = ir_mul(&f, IR_I64, t1, t1);
    ir_xor(&f, IR_I64, t2, t1);
    ir_insn_start(&f, 0x1004);
    ir_goto_block(&f, 0x2000);
    ir_opt_dce(&f);
    verify_ok(&f, "dead chain");
    CHECK(f.nops == 3 && count_op(&f, IR_OP_INSN_START) == 2, "dead chain not removed");

    /* Loads, stores, atomics and global writes stay even when unused. */
    ir_reset(&f);
    ir_load(&f, IR_I64, IR_MEMFLAGS(3, 0, 0, 0), g_(G_X5), 0);
    ir_store(&f, IR_MEMFLAGS(3, 0, 0, 0), g_(G_X5), 0, g_(G_X6));
    ir_atomic_rmw(&f, IR_I64, IR_MEMFLAGS(3, 0, 0, 0), IR_AMO_ADD, g_(G_X5), c64(&f, 1));
    ir_cmpxchg(&f, IR_I64, IR_MEMFLAGS(3, 0, 0, 0), g_(G_X5), c64(&f, 1), c64(&f, 2));
    ir_mov(&f, g_(G_X7), c64(&f, 1));
    ir_mov(&f, g_(G_X7), c64(&f, 2));
    ir_fence(&f, IR_FENCE_FULL);
    ir_goto_block(&f, 0x2000);
    unsigned before = f.nops;
    ir_optimize(&f);
    verify_ok(&f, "side effects");
    CHECK(f.nops == before, "an op with side effects was removed (%u of %u left)", f.nops, before);

    /* Calls: an unused pure call goes; an impure one stays without its result. */
    ir_reset(&f);
    ir_call2(&f, &h_mix, true, g_(G_X5), g_(G_X6));
    IrVal r = ir_call1(&f, &h_set_x6, true, g_(G_X5));
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "calls");
    CHECK(f.nops == 2 && f.ops[0].opc == IR_OP_CALL && f.calls[f.ops[0].aux].helper == &h_set_x6 &&
              f.ops[0].d == IR_NONE,
          "calls: pure not removed or impure result kept");
    (void)r;

    /* A used pure call stays. */
    ir_reset(&f);
    r = ir_call2(&f, &h_mix, true, g_(G_X5), g_(G_X6));
    ir_mov(&f, g_(G_X7), r);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    CHECK(f.nops == 2 && f.ops[0].opc == IR_OP_CALL && f.ops[0].d == g_(G_X7),
          "used pure call removed or not written straight to x7");

    /*
     * A slot written again after its only use, which is itself dead: takes a second sweep.
     *   t1 = x5; t2 = t1 + 1 (dead); L: t1 = x6 (dead now); brcond -> L; goto_block
     */
    ir_reset(&f);
    unsigned l = ir_new_label(&f);
    t1 = ir_temp(&f, IR_I64);
    ir_emit(&f, IR_OP_ADD, IR_I64, 0, t1, g_(G_X5), g_(G_X7), IR_NONE, 0);
    ir_add(&f, IR_I64, t1, c64(&f, 1));
    ir_label(&f, l);
    ir_emit(&f, IR_OP_SUB, IR_I64, 0, t1, g_(G_X6), g_(G_X7), IR_NONE, 0);
    ir_brcond(&f, IR_I64, IR_NE, g_(G_X5), c64(&f, 0), l);
    ir_goto_block(&f, 0x2000);
    ir_opt_dce(&f);
    verify_ok(&f, "loop");
    CHECK(count_op(&f, IR_OP_ADD) == 0 && count_op(&f, IR_OP_SUB) == 0 && f.nops == 3,
          "dead defs around a loop not removed");

    /* A temp used around a loop stays. */
    ir_reset(&f);
    l = ir_new_label(&f);
    t1 = ir_temp(&f, IR_I64);
    ir_mov(&f, t1, c64(&f, 0));
    ir_label(&f, l);
    ir_emit(&f, IR_OP_ADD, IR_I64, 0, t1, t1, c64(&f, 1), IR_NONE, 0);
    ir_brcond(&f, IR_I64, IR_LTU, t1, g_(G_X5), l);
    ir_mov(&f, g_(G_X6), t1);
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "counting loop");
    CHECK(count_op(&f, IR_OP_ADD) == 1 && count_op(&f, IR_OP_MOV) == 2 &&
              count_op(&f, IR_OP_BRCOND) == 1,
          "counting loop damaged");
    const IrOp *add = def_of(&f, t1);
    CHECK(add && add->opc == IR_OP_ADD && add->a == t1, "loop counter lost its self-use");

    /* `t = op; g = mov t` with t used once becomes `g = op`. */
    ir_reset(&f);
    ir_mov(&f, g_(G_X5), ir_load(&f, IR_I64, IR_MEMFLAGS(2, 1, 0, 0), g_(G_X7), 4));
    ir_mov(&f, g_(G_X6), ir_add(&f, IR_I32, g_(G_X5), g_(G_X7)));
    ir_mov(&f, g_(G_FFLAGS), ir_or(&f, IR_I32, g_(G_FFLAGS), c64(&f, 1)));
    ir_mov(&f, g_(G_X7), ir_setcond(&f, IR_I32, IR_LT, g_(G_X5), g_(G_X6)));
    ir_goto_block(&f, 0x2000);
    ir_optimize(&f);
    verify_ok(&f, "merge");
    CHECK(f.nops == 5 && f.ops[0].opc == IR_OP_LD && f.ops[0].d == g_(G_X5) &&
              f.ops[1].opc == IR_OP_ADD && f.ops[1].d == g_(G_X6) && f.ops[2].opc == IR_OP_OR &&
              f.ops[2].d == g_(G_FFLAGS) && f.ops[3].opc == IR_OP_SETCOND && f.ops[3].d == g_(G_X7),
          "temps not merged into the global moves");

    /* Not merged: a second use, a gap, a narrowing mov of a wide result, an I32 global. */
    ir_reset(&f);
    t1 = ir_load(&f, IR_I64, IR_MEMFLAGS(3, 0, 0, 0), g_(G_X7), 0);
    ir_mov(&f, g_(G_X5), t1);
    ir_mov(&f, g_(G_X6), t1);
    t2 = ir_load(&f, IR_I64, IR_MEMFLAGS(3, 0, 0, 0), g_(G_X7), 8);
    ir_insn_start(&f, 0x1004);
    ir_mov(&f, g_(G_X5), t2);
    IrVal t3 = ir_add(&f, IR_I64, g_(G_X5), g_(G_X6));
    ir_emit(&f, IR_OP_MOV, IR_I32, 0, g_(G_X7), t3, IR_NONE, IR_NONE, 0);
    IrVal t4 = ir_add(&f, IR_I64, g_(G_X5), g_(G_X7));
    ir_mov(&f, g_(G_FFLAGS), t4);
    ir_goto_block(&f, 0x2000);
    before = f.nops;
    ir_optimize(&f);
    verify_ok(&f, "no merge");
    CHECK(f.nops == before, "merged where it must not (%u of %u ops left)", f.nops, before);
    ir_free(&f);
}

/* ---- Differential test: a reference interpreter, random functions ---- */

typedef struct RefState {
    uint64_t g[NGLOBALS];
    uint64_t t[IR_MAX_TEMPS];
    int exit_pc; /* pcs[] index of the goto_block taken, or -1 for exit */
} RefState;

static uint64_t ref_read(const IrFunc *f, const RefState *s, IrVal v)
{
    const IrValInfo *vi = &f->vals[v];
    switch (vi->kind) {
    case IR_VK_GLOBAL: return vi->type == IR_I32 ? (uint32_t)s->g[v] : s->g[v];
    case IR_VK_TEMP: return s->t[vi->offset];
    default: return vi->value;
    }
}

static void ref_write(const IrFunc *f, RefState *s, IrVal d, uint64_t x)
{
    const IrValInfo *vi = &f->vals[d];
    if (vi->kind == IR_VK_GLOBAL)
        s->g[d] = vi->type == IR_I32 ? (uint32_t)x : x;
    else
        s->t[vi->offset] = x;
}

static bool ref_cond32(IrCond c, uint32_t a, uint32_t b)
{
    switch (c) {
    case IR_EQ: return a == b;
    case IR_NE: return a != b;
    case IR_LT: return (int32_t)a < (int32_t)b;
    case IR_GE: return (int32_t)a >= (int32_t)b;
    case IR_LE: return (int32_t)a <= (int32_t)b;
    case IR_GT: return (int32_t)a > (int32_t)b;
    case IR_LTU: return a < b;
    case IR_GEU: return a >= b;
    case IR_LEU: return a <= b;
    case IR_GTU: return a > b;
    case IR_TSTEQ: return !(a & b);
    default: return (a & b) != 0;
    }
}

static bool ref_cond64(IrCond c, uint64_t a, uint64_t b)
{
    switch (c) {
    case IR_EQ: return a == b;
    case IR_NE: return a != b;
    case IR_LT: return (int64_t)a < (int64_t)b;
    case IR_GE: return (int64_t)a >= (int64_t)b;
    case IR_LE: return (int64_t)a <= (int64_t)b;
    case IR_GT: return (int64_t)a > (int64_t)b;
    case IR_LTU: return a < b;
    case IR_GEU: return a >= b;
    case IR_LEU: return a <= b;
    case IR_GTU: return a > b;
    case IR_TSTEQ: return !(a & b);
    default: return (a & b) != 0;
    }
}

__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 Uint128;

/* I32 semantics written with 32-bit C types (the optimiser uses masks instead). */
static uint32_t ref_op32(IrOpcode opc, uint16_t cond, uint32_t a, uint32_t b, uint32_t c)
{
    int32_t sa = (int32_t)a, sb = (int32_t)b;
    unsigned n = b % 32;
    switch (opc) {
    case IR_OP_MOV: return a;
    case IR_OP_ADD: return a + b;
    case IR_OP_SUB: return a - b;
    case IR_OP_MUL: return (uint32_t)((uint64_t)a * b);
    case IR_OP_MULSH: return (uint32_t)((uint64_t)((int64_t)sa * sb) >> 32);
    case IR_OP_MULUH: return (uint32_t)(((uint64_t)a * b) >> 32);
    case IR_OP_MULSUH: return (uint32_t)((uint64_t)((int64_t)sa * (int64_t)b) >> 32);
    case IR_OP_DIV:
        return b == 0 ? UINT32_MAX : (sa == INT32_MIN && sb == -1) ? a : (uint32_t)(sa / sb);
    case IR_OP_REM: return b == 0 ? a : (sa == INT32_MIN && sb == -1) ? 0 : (uint32_t)(sa % sb);
    case IR_OP_DIVU: return b == 0 ? UINT32_MAX : a / b;
    case IR_OP_REMU: return b == 0 ? a : a % b;
    case IR_OP_AND: return a & b;
    case IR_OP_OR: return a | b;
    case IR_OP_XOR: return a ^ b;
    case IR_OP_ANDC: return a & ~b;
    case IR_OP_ORC: return a | ~b;
    case IR_OP_NOT: return ~a;
    case IR_OP_NEG: return -a;
    case IR_OP_SHL: return a << n;
    case IR_OP_SHR: return a >> n;
    case IR_OP_SAR: return (uint32_t)(sa >> n);
    case IR_OP_ROTL: return n ? (a << n) | (a >> (32 - n)) : a;
    case IR_OP_ROTR: return n ? (a >> n) | (a << (32 - n)) : a;
    case IR_OP_SEXT8: return (uint32_t)(int32_t)(int8_t)a;
    case IR_OP_SEXT16: return (uint32_t)(int32_t)(int16_t)a;
    case IR_OP_SEXT32: return a;
    case IR_OP_ZEXT8: return (uint8_t)a;
    case IR_OP_ZEXT16: return (uint16_t)a;
    case IR_OP_ZEXT32: return a;
    case IR_OP_CLZ: return a ? (uint32_t)__builtin_clz(a) : 32;
    case IR_OP_CTZ: return a ? (uint32_t)__builtin_ctz(a) : 32;
    case IR_OP_POPCNT: return (uint32_t)__builtin_popcount(a);
    case IR_OP_BSWAP: return __builtin_bswap32(a);
    case IR_OP_SMIN: return sa < sb ? a : b;
    case IR_OP_SMAX: return sa > sb ? a : b;
    case IR_OP_UMIN: return a < b ? a : b;
    case IR_OP_UMAX: return a > b ? a : b;
    case IR_OP_SETCOND: return ref_cond32((IrCond)cond, a, b);
    case IR_OP_SELECT: return a ? b : c;
    default: abort();
    }
}

static uint64_t ref_op64(IrOpcode opc, uint16_t cond, uint64_t a, uint64_t b, uint64_t c)
{
    int64_t sa = (int64_t)a, sb = (int64_t)b;
    unsigned n = b % 64;
    switch (opc) {
    case IR_OP_MOV: return a;
    case IR_OP_ADD: return a + b;
    case IR_OP_SUB: return a - b;
    case IR_OP_MUL: return a * b;
    case IR_OP_MULSH: return (uint64_t)(((Int128)sa * sb) >> 64);
    case IR_OP_MULUH: return (uint64_t)(((Uint128)a * b) >> 64);
    case IR_OP_MULSUH: return (uint64_t)(((Int128)sa * (Int128)b) >> 64);
    case IR_OP_DIV:
        return b == 0 ? UINT64_MAX : (sa == INT64_MIN && sb == -1) ? a : (uint64_t)(sa / sb);
    case IR_OP_REM: return b == 0 ? a : (sa == INT64_MIN && sb == -1) ? 0 : (uint64_t)(sa % sb);
    case IR_OP_DIVU: return b == 0 ? UINT64_MAX : a / b;
    case IR_OP_REMU: return b == 0 ? a : a % b;
    case IR_OP_AND: return a & b;
    case IR_OP_OR: return a | b;
    case IR_OP_XOR: return a ^ b;
    case IR_OP_ANDC: return a & ~b;
    case IR_OP_ORC: return a | ~b;
    case IR_OP_NOT: return ~a;
    case IR_OP_NEG: return -a;
    case IR_OP_SHL: return a << n;
    case IR_OP_SHR: return a >> n;
    case IR_OP_SAR: return (uint64_t)(sa >> n);
    case IR_OP_ROTL: return n ? (a << n) | (a >> (64 - n)) : a;
    case IR_OP_ROTR: return n ? (a >> n) | (a << (64 - n)) : a;
    case IR_OP_SEXT8: return (uint64_t)(int64_t)(int8_t)a;
    case IR_OP_SEXT16: return (uint64_t)(int64_t)(int16_t)a;
    case IR_OP_SEXT32: return (uint64_t)(int64_t)(int32_t)a;
    case IR_OP_ZEXT8: return (uint8_t)a;
    case IR_OP_ZEXT16: return (uint16_t)a;
    case IR_OP_ZEXT32: return (uint32_t)a;
    case IR_OP_CLZ: return a ? (uint64_t)__builtin_clzll(a) : 64;
    case IR_OP_CTZ: return a ? (uint64_t)__builtin_ctzll(a) : 64;
    case IR_OP_POPCNT: return (uint64_t)__builtin_popcountll(a);
    case IR_OP_BSWAP: return __builtin_bswap64(a);
    case IR_OP_SMIN: return sa < sb ? a : b;
    case IR_OP_SMAX: return sa > sb ? a : b;
    case IR_OP_UMIN: return a < b ? a : b;
    case IR_OP_UMAX: return a > b ? a : b;
    case IR_OP_SETCOND: return ref_cond64((IrCond)cond, a, b);
    case IR_OP_SELECT: return a ? b : c;
    default: abort();
    }
}

static int label_index(const IrFunc *f, uint32_t label)
{
    for (unsigned i = 0; i < f->nops; i++) {
        if (f->ops[i].opc == IR_OP_LABEL && f->ops[i].aux == label)
            return (int)i;
    }
    abort();
}

/* Runs f (no memory ops) on s. Returns false if it did not finish within the step budget. */
static bool ref_run(const IrFunc *f, RefState *s)
{
    unsigned steps = 0;
    for (unsigned i = 0; i < f->nops; i++) {
        const IrOp *op = &f->ops[i];
        if (++steps > 100000)
            return false;
        switch (op->opc) {
        case IR_OP_NOP:
        case IR_OP_INSN_START:
        case IR_OP_LABEL: break;
        case IR_OP_BR: i = (unsigned)label_index(f, op->aux); break;
        case IR_OP_BRCOND: {
            uint64_t a = ref_read(f, s, op->a), b = ref_read(f, s, op->b);
            bool taken = op->type == IR_I32
                             ? ref_cond32((IrCond)op->flags, (uint32_t)a, (uint32_t)b)
                             : ref_cond64((IrCond)op->flags, a, b);
            if (taken)
                i = (unsigned)label_index(f, op->aux);
            break;
        }
        case IR_OP_GOTO_BLOCK: s->exit_pc = (int)op->aux; return true;
        case IR_OP_EXIT: s->exit_pc = -1; return true;
        case IR_OP_CALL: {
            const IrCall *call = &f->calls[op->aux];
            uint64_t args[IR_MAX_HELPER_ARGS] = { 0 };
            for (unsigned k = 0; k < call->helper->nargs; k++)
                args[k] = ref_read(f, s, call->args[k]);
            uint64_t r = ((TestHelperFn)call->helper->fn)(s->g, args);
            if (op->d != IR_NONE)
                ref_write(f, s, op->d, r);
            break;
        }
        default: {
            uint64_t a = op->a != IR_NONE ? ref_read(f, s, op->a) : 0;
            uint64_t b = op->b != IR_NONE ? ref_read(f, s, op->b) : 0;
            uint64_t c = op->c != IR_NONE ? ref_read(f, s, op->c) : 0;
            uint64_t r = op->type == IR_I32 ? ref_op32((IrOpcode)op->opc, op->flags, (uint32_t)a,
                                                       (uint32_t)b, (uint32_t)c)
                                            : ref_op64((IrOpcode)op->opc, op->flags, a, b, c);
            ref_write(f, s, op->d, r);
            break;
        }
        }
    }
    return false;
}

typedef struct Rng {
    uint64_t s;
} Rng;

static uint64_t rnd(Rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static unsigned rnd_below(Rng *r, unsigned n)
{
    return (unsigned)(rnd(r) % n);
}

static uint64_t interesting(Rng *r)
{
    static const uint64_t vals[] = {
        0,
        1,
        2,
        3,
        7,
        31,
        32,
        33,
        63,
        64,
        0x7f,
        0x80,
        0xff,
        0x8000,
        0xffff,
        0x7fffffff,
        0x80000000,
        0xffffffff,
        0x100000000,
        0x7fffffffffffffff,
        0x8000000000000000,
        ONES,
        ONES - 1,
    };
    if (rnd_below(r, 4) == 0)
        return rnd(r);
    return vals[rnd_below(r, sizeof(vals) / sizeof(vals[0]))];
}

typedef struct Gen {
    IrFunc *f;
    Rng *r;
    IrVal avail[256];
    unsigned navail, nprelude;
} Gen;

static IrVal gen_operand(Gen *g)
{
    unsigned k = rnd_below(g->r, 10);
    if (k < 5 && g->navail)
        return g->avail[rnd_below(g->r, g->navail)];
    if (k < 8)
        return g_(1 + rnd_below(g->r, NGLOBALS - 1)); /* not pc */
    return ir_const(g->f, rnd_below(g->r, 2) ? IR_I64 : IR_I32, interesting(g->r));
}

static void gen_add_avail(Gen *g, IrVal t)
{
    if (g->navail < 256)
        g->avail[g->navail++] = t;
}

static const IrOpcode gen_binops[] = {
    IR_OP_ADD,  IR_OP_SUB,  IR_OP_MUL,  IR_OP_MULSH, IR_OP_MULUH, IR_OP_MULSUH,
    IR_OP_DIV,  IR_OP_DIVU, IR_OP_REM,  IR_OP_REMU,  IR_OP_AND,   IR_OP_OR,
    IR_OP_XOR,  IR_OP_ANDC, IR_OP_ORC,  IR_OP_SHL,   IR_OP_SHR,   IR_OP_SAR,
    IR_OP_ROTL, IR_OP_ROTR, IR_OP_SMIN, IR_OP_SMAX,  IR_OP_UMIN,  IR_OP_UMAX,
};

static const IrOpcode gen_unops[] = {
    IR_OP_NOT,    IR_OP_NEG,    IR_OP_SEXT8, IR_OP_SEXT16, IR_OP_SEXT32, IR_OP_ZEXT8,
    IR_OP_ZEXT16, IR_OP_ZEXT32, IR_OP_CLZ,   IR_OP_CTZ,    IR_OP_POPCNT, IR_OP_BSWAP,
};

static void gen_op(Gen *g, bool allow_branch, unsigned *next_label, unsigned nlabels)
{
    IrFunc *f = g->f;
    IrType type = rnd_below(g->r, 3) ? IR_I64 : IR_I32;
    unsigned k = rnd_below(g->r, 20);

    if (k < 5) {
        IrOpcode opc = gen_binops[rnd_below(g->r, sizeof(gen_binops) / sizeof(gen_binops[0]))];
        IrVal a = gen_operand(g);
        IrVal b = rnd_below(g->r, 4) == 0 ? a : gen_operand(g);
        gen_add_avail(g, ir_binop(f, opc, type, a, b));
    } else if (k < 7) {
        IrOpcode opc = gen_unops[rnd_below(g->r, sizeof(gen_unops) / sizeof(gen_unops[0]))];
        gen_add_avail(g, ir_unop(f, opc, type, gen_operand(g)));
    } else if (k < 8) {
        IrVal a = gen_operand(g);
        IrVal b = rnd_below(g->r, 4) == 0 ? a : gen_operand(g);
        gen_add_avail(g, ir_setcond(f, type, (IrCond)rnd_below(g->r, IR_COND_COUNT), a, b));
    } else if (k < 9) {
        IrVal a = gen_operand(g), b = gen_operand(g);
        gen_add_avail(g, ir_select(f, type, a, b, rnd_below(g->r, 4) ? gen_operand(g) : b));
    } else if (k < 12) {
        IrVal t = ir_temp(f, type);
        ir_mov(f, t, gen_operand(g));
        gen_add_avail(g, t);
    } else if (k < 14) {
        ir_mov(f, g_(1 + rnd_below(g->r, NGLOBALS - 1)), gen_operand(g));
    } else if (k < 15 && g->navail) {
        /* Write an existing temp again (same slot, its own type). */
        IrVal t = g->avail[rnd_below(g->r, g->navail)];
        IrOpcode opc = gen_binops[rnd_below(g->r, sizeof(gen_binops) / sizeof(gen_binops[0]))];
        IrOpcode use = rnd_below(g->r, 2) ? IR_OP_MOV : opc;
        ir_emit(f, use, ir_val_type(f, t), 0, t, gen_operand(g),
                use == IR_OP_MOV ? IR_NONE : gen_operand(g), IR_NONE, 0);
    } else if (k < 16) {
        IrVal r = ir_call2(f, &h_mix, rnd_below(g->r, 2), gen_operand(g), gen_operand(g));
        if (r != IR_NONE)
            gen_add_avail(g, r);
    } else if (k < 17) {
        IrVal r = ir_call1(f, rnd_below(g->r, 2) ? &h_set_x6 : &h_read_x5, true, gen_operand(g));
        gen_add_avail(g, r);
    } else if (k < 19 && allow_branch && *next_label < nlabels) {
        /* Forward only, so every run terminates. */
        unsigned target = *next_label + rnd_below(g->r, nlabels - *next_label);
        IrVal a = gen_operand(g);
        IrVal b = rnd_below(g->r, 4) == 0 ? a : gen_operand(g);
        ir_brcond(f, type, (IrCond)rnd_below(g->r, IR_COND_COUNT), a, b, target);
    } else if (allow_branch && *next_label < nlabels) {
        if (rnd_below(g->r, 2))
            ir_goto_block(f, 0x5000 + f->nops);
        ir_label(f, (*next_label)++);
        g->navail = g->nprelude; /* temps from this region may be unset on other paths */
    }
}

static void gen_function(IrFunc *f, uint64_t seed)
{
    Rng r = { seed * 0x9e3779b97f4a7c15ull + 1 };
    Gen g = { .f = f, .r = &r };
    unsigned nlabels = rnd_below(&r, 5);
    unsigned next_label = 0;
    unsigned nprelude = 2 + rnd_below(&r, 8);
    unsigned nops = 10 + rnd_below(&r, 50);

    for (unsigned i = 0; i < nlabels; i++)
        ir_new_label(f);
    ir_insn_start(f, 0x4000);
    for (unsigned i = 0; i < nprelude; i++)
        gen_op(&g, false, &next_label, nlabels);
    g.nprelude = g.navail;
    for (unsigned i = 0; i < nops; i++) {
        if (rnd_below(&r, 8) == 0)
            ir_insn_start(f, 0x4000 + 4 * i);
        gen_op(&g, true, &next_label, nlabels);
    }
    while (next_label < nlabels)
        ir_label(f, next_label++);
    if (rnd_below(&r, 4) == 0)
        ir_exit(f, IR_EXIT_NORMAL);
    else
        ir_goto_block(f, 0x6000);
}

static void init_state(RefState *s, uint64_t seed)
{
    Rng r = { seed * 0xd1b54a32d192ed03ull + 7 };
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < NGLOBALS; i++)
        s->g[i] = interesting(&r);
    s->g[G_FFLAGS] = (uint32_t)s->g[G_FFLAGS];
}

static void test_random(unsigned count)
{
    unsigned failed = 0;
    for (unsigned seed = 1; seed <= count && failed < 3; seed++) {
        for (int pass = 0; pass < 3; pass++) {
            IrFunc orig, opt;
            ir_init(&orig, &test_globals);
            ir_init(&opt, &test_globals);
            gen_function(&orig, seed);
            gen_function(&opt, seed);
            char msg[256];
            bool valid = ir_verify(&orig, msg, sizeof(msg));
            CHECK(valid, "random %u: generated function invalid: %s", seed, msg);
            if (pass == 0)
                ir_opt_fold(&opt);
            else if (pass == 1)
                ir_opt_dce(&opt);
            else
                ir_optimize(&opt);
            bool still_valid = ir_verify(&opt, msg, sizeof(msg));
            CHECK(still_valid, "random %u pass %d: optimised function invalid: %s", seed, pass,
                  msg);

            RefState s1, s2;
            init_state(&s1, seed);
            init_state(&s2, seed);
            bool ran1 = ref_run(&orig, &s1);
            bool ran2 = ref_run(&opt, &s2);
            bool same =
                ran1 && ran2 && memcmp(s1.g, s2.g, sizeof(s1.g)) == 0 &&
                (s1.exit_pc < 0 ? s2.exit_pc < 0
                                : s2.exit_pc >= 0 && orig.pcs[s1.exit_pc] == opt.pcs[s2.exit_pc]);
            CHECK(same, "random %u pass %d: results differ", seed, pass);
            CHECK(opt.nops <= orig.nops, "random %u: optimised is longer", seed);
            if (!valid || !still_valid || !same) {
                failed++;
                for (unsigned i = 0; i < NGLOBALS; i++)
                    fprintf(stderr, "  %s: 0x%" PRIx64 " vs 0x%" PRIx64 "\n", global_defs[i].name,
                            s1.g[i], s2.g[i]);
                dump("original", &orig);
                dump("optimised", &opt);
            }
            ir_free(&orig);
            ir_free(&opt);
        }
    }
}

/* The optimiser shrinks typical code and leaves the everything-function valid. */
static void test_optimize_everything(void)
{
    IrFunc f;
    ir_init(&f, &test_globals);
    build_everything(&f);
    ir_optimize(&f);
    verify_ok(&f, "everything optimised");
    CHECK(count_op(&f, IR_OP_INSN_START) == 2 && count_op(&f, IR_OP_LABEL) == 2 &&
              count_op(&f, IR_OP_ATOMIC_RMW) == 1 && count_op(&f, IR_OP_CMPXCHG) == 1 &&
              count_op(&f, IR_OP_LD) == 1 && count_op(&f, IR_OP_ST) == 1,
          "side effects or markers lost");
    ir_free(&f);

    /* An overflowed function is left alone. */
    ir_init(&f, &test_globals);
    ir_add(&f, IR_I64, c64(&f, 1), c64(&f, 2));
    ir_goto_block(&f, 0);
    f.overflow = true;
    ir_optimize(&f);
    CHECK(f.nops == 2 && f.ops[0].opc == IR_OP_ADD, "overflowed function changed");
    ir_free(&f);
}

int main(int argc, char **argv)
{
    unsigned random_count = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 10000;

    test_names();
    test_print();
    test_verify();
    test_fold_constants();
    test_identities();
    test_branches();
    test_copy_propagation();
    test_dce();
    test_optimize_everything();
    test_random(random_count);

    if (failures) {
        fprintf(stderr, "test-ir: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test-ir: all %d checks passed\n", checks);
    return 0;
}
