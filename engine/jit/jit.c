/* SPDX-License-Identifier: MIT */
/*
 * IR -> x86-64 code generation (see jit.h and docs/JIT.md).
 *
 * One linear pass over the optimised IR. Every guest global and temp slot has a home in
 * the CPU state ([rbp + offset]); a small register cache maps homes to host registers
 * with a dirty bit. Values are loaded on first use, written back when evicted, at labels
 * and branches (where control flow merges), before helper calls that need the state in
 * memory, and at block exits. Temps whose last use has passed are never written back.
 *
 * Fixed registers: rbp = the CPU state, rax/rcx/rdx = scratch for the code generator
 * (division, shifts, the TLB lookup, atomics). Allocatable: rbx, r12-r15 (kept across
 * calls) and rsi, rdi, r8-r11.
 *
 * Loads and stores do the SoftMMU lookup inline; misses go to an out-of-line slow path after
 * the block body that saves the live caller-saved registers, writes the dirty globals
 * back (so a fault sees the state the interpreter would), records the faulting host pc
 * in cpu->cur_op (mapped back to the guest pc through the block's insn map) and calls
 * the same slow-path functions the interpreter uses.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/blocks.h"
#include "core/cpu.h"
#include "core/machine.h"
#include "ir/interp.h"
#include "jit/code-buffer.h"
#include "jit/jit.h"
#include "jit/x86-emit.h"

#define CACHE_DEFAULT ((size_t)256 << 20)
/* push rbp, rbx, r12-r15 (10 bytes), sub rsp, 8 (4), mov rbp, rdi (3) */
#define JIT_PROLOGUE_SIZE 17
#define NHOST             16
/* Pinned globals: rbx, r12-r15, then r10, r11 (caller-saved: reloaded after helper calls).
 * rsi, rdi, r8 and r9 stay free for the other values: an op needs at most four registers. */
#define NPIN_MAX    7
#define NPIN_CALLEE 5
/* A region: at most REGION_MAX_BLOCKS blocks (of one guest page), and about this many IR
 * ops. */
#define REGION_MAX_OPS 1500
#define NO_LOC         (-1)
#define ENV            X_RBP

/* Allocation order: callee-saved first (they survive helper calls). */
static const int alloc_order[] = { X_RBX, X_R12, X_R13, X_R14, X_R15, X_RSI,
                                   X_RDI, X_R8,  X_R9,  X_R10, X_R11 };
#define NALLOC (int)(sizeof(alloc_order) / sizeof(alloc_order[0]))
#define CALLER_SAVED_MASK \
    ((1u << X_RSI) | (1u << X_RDI) | (1u << X_R8) | (1u << X_R9) | (1u << X_R10) | (1u << X_R11))

struct JitState {
    pthread_mutex_t lock;
    JitCodeBuf buf;
    _Atomic bool want_flush;
    bool profile; /* count block runs in generated code (--stats) */
    JitStats stats;
    FILE *perf_map; /* VESSEL_PERF_MAP set: /tmp/perf-PID.map for perf report */
};

/* ---- code generation state ---- */

typedef enum SlowPathKind { SLOW_LOAD, SLOW_STORE, SLOW_ATOMIC } SlowPathKind;

typedef struct SlowPath {
    SlowPathKind kind;
    size_t jcc_disp;  /* the jne to this slow path */
    size_t site;      /* host offset identifying the guest insn (for cur_op) */
    size_t resume;    /* where to continue in the body */
    int rd;           /* load: destination register */
    int val_reg;      /* store: value register or -1 */
    uint64_t val_imm; /* store: value when constant */
    uint16_t flags;   /* IR_MEM_* */
    bool sext, w64;   /* load extension */
    uint32_t save_mask;
    uint8_t ndirty;
    uint8_t dirty_reg[NHOST];
    int32_t dirty_home[NHOST];
} SlowPath;

typedef struct Fixup {
    size_t disp;
    uint32_t label;
} Fixup;

typedef struct Cg {
    const IrFunc *f;
    VsBlock *block; /* the block being compiled */
    bool profile;
    JitLink *links; /* [nlinks], one per direct exit (owned by the block once compiled) */
    unsigned nlinks, cap_links_ops;
    XBuf x;
    unsigned op_index;
    unsigned nglobals;
    /* Register cache: loc = global index, or nglobals + temp slot. */
    int *loc_reg; /* [nlocs] host register or -1 */
    unsigned nlocs;
    int reg_loc[NHOST]; /* NO_LOC when free */
    bool reg_dirty[NHOST];
    unsigned reg_tick[NHOST];
    uint32_t locked;        /* registers the current op uses */
    uint32_t scratch_const; /* registers holding a constant for the current op only */
    unsigned tick;
    uint32_t *last_use; /* per temp slot: last op index reading it */
    bool back_branch;
    uint32_t pc_off;
    size_t *label_pos; /* SIZE_MAX until placed */
    Fixup *fixups;
    unsigned nfixups, cap_fixups;
    SlowPath *slow; /* out-of-line TLB-miss, MMIO and alignment paths */
    unsigned nslow, cap_slow;
    JitPcMap *map;
    unsigned nmap, cap_map;
    size_t *exit_jumps;
    unsigned nexits, cap_exits;
    /* A region (several blocks of one guest page in one function, see compile_region):
     * labels 0..nmembers-1 start the member blocks; a goto_block between members became
     * a `br` to the member's label. 0 for a single block. */
    unsigned nmembers;
    const uint64_t *member_pc;
    const uint32_t *member_ninsns;
    /* Pinned globals (regions only): each lives in a callee-saved register for the whole
     * function, so values stay in registers from block to block and around loops. They
     * are written back at exits, before stateful helpers and in slow paths; at labels
     * they count as dirty. */
    unsigned npins;
    int pin_loc[NPIN_MAX], pin_r[NPIN_MAX];
    uint32_t pinned_regs;
    int fix_loc, fix_reg; /* a pinned destination computed elsewhere this op (end_op) */
    struct {
        size_t jcc_disp;
        unsigned member;
    } * back_exits; /* interrupt checks on member edges */
    unsigned nback, cap_back;
    bool fail;        /* something the JIT does not handle: fall back to the interpreter */
    unsigned skip_op; /* an op an earlier one already did (0: none) */
} Cg;

static bool grow(void **p, unsigned *cap, unsigned need, size_t elem)
{
    if (need <= *cap)
        return true;
    unsigned n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static bool host_has_popcnt;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static void host_probe(void)
{
    __builtin_cpu_init();
    host_has_popcnt = __builtin_cpu_supports("popcnt");
}

bool jit_host_supported(void)
{
#if defined(__x86_64__)
    return true;
#else
    return false;
#endif
}

/* ---- values and homes ---- */

static int loc_of(Cg *g, IrVal v)
{
    const IrValInfo *vi = &g->f->vals[v];
    if (vi->kind == IR_VK_GLOBAL)
        return (int)v;
    if (vi->kind == IR_VK_TEMP)
        return (int)(g->nglobals + vi->offset);
    return NO_LOC;
}

static int32_t home_of_loc(Cg *g, int loc)
{
    if ((unsigned)loc < g->nglobals)
        return (int32_t)g->f->globals->defs[loc].offset;
    return (int32_t)(offsetof(VsCpu, temps) + 8u * ((unsigned)loc - g->nglobals));
}

/*
 * Last reads of temp slots from op `from` to the end of its block: the whole function for
 * a single block, up to the next member's label in a region (member blocks share temp
 * slots, and a block's temps are dead at its exit).
 */
static void compute_last_use(Cg *g, unsigned from)
{
    const IrFunc *f = g->f;
    memset(g->last_use, 0, (f->ntemps ? f->ntemps : 1) * sizeof(uint32_t));
    for (unsigned i = from; i < f->nops; i++) {
        const IrOp *op = &f->ops[i];
        if (op->opc == IR_OP_LABEL && op->aux < g->nmembers)
            break;
        IrVal src[3 + IR_MAX_HELPER_ARGS];
        unsigned n = 0;
        unsigned nsrc = ir_op_nsrc[op->opc];
        if (nsrc > 0)
            src[n++] = op->a;
        if (nsrc > 1)
            src[n++] = op->b;
        if (nsrc > 2)
            src[n++] = op->c;
        if (op->opc == IR_OP_CALL) {
            const IrCall *c = &f->calls[op->aux];
            for (unsigned k = 0; k < c->helper->nargs; k++)
                src[n++] = c->args[k];
        }
        for (unsigned k = 0; k < n; k++)
            if (src[k] != IR_NONE && f->vals[src[k]].kind == IR_VK_TEMP)
                g->last_use[f->vals[src[k]].offset] = i;
    }
}

/* A temp slot is needed after op `at` (inclusive) or the block has loops. */
static bool loc_live(Cg *g, int loc, unsigned at)
{
    if ((unsigned)loc < g->nglobals)
        return true;
    return g->back_branch || g->last_use[(unsigned)loc - g->nglobals] >= at;
}

static void reg_store_home(Cg *g, int r)
{
    x_store(&g->x, 8, ENV, X_NOREG, 1, home_of_loc(g, g->reg_loc[r]), r);
}

static void unbind_reg(Cg *g, int r)
{
    if (g->reg_loc[r] != NO_LOC)
        g->loc_reg[g->reg_loc[r]] = -1;
    g->reg_loc[r] = NO_LOC;
    g->reg_dirty[r] = false;
}

/* Write r back if that matters at op `at`, then free it. */
static void spill_reg(Cg *g, int r, unsigned at)
{
    if (g->reg_loc[r] != NO_LOC && g->reg_dirty[r] && loc_live(g, g->reg_loc[r], at))
        reg_store_home(g, r);
    unbind_reg(g, r);
}

/*
 * How far ahead (in ops) the value each register of `regs` holds is next read, from op
 * `from`: 0 for the next op, into dist[r]. A label, branch or exit first ends the search (the
 * cache is written back there anyway), as does a write of the location without a read;
 * UINT32_MAX then, and for a temp whose last read has passed. One scan for all registers
 * (alloc_reg asks for every candidate at once: this is a large part of compile time).
 */
static void next_reads(Cg *g, uint32_t regs, unsigned from, uint32_t *dist)
{
    const IrFunc *f = g->f;
    uint32_t open = 0;
    for (int r = 0; r < NHOST; r++) {
        if (!(regs & (1u << r)) || g->reg_loc[r] == NO_LOC)
            continue;
        int loc = g->reg_loc[r];
        dist[r] = UINT32_MAX;
        if ((unsigned)loc >= g->nglobals && !loc_live(g, loc, from))
            continue;
        open |= 1u << r;
    }
    for (unsigned i = from; open && i < f->nops && i < from + 256; i++) {
        const IrOp *op = &f->ops[i];
        unsigned nsrc = ir_op_nsrc[op->opc];
        IrVal src[3] = { op->a, op->b, op->c };
        for (unsigned k = 0; k < nsrc && k < 3; k++) {
            int loc = src[k] != IR_NONE ? loc_of(g, src[k]) : NO_LOC;
            int r = loc != NO_LOC ? g->loc_reg[loc] : -1;
            if (r >= 0 && (open & (1u << r))) {
                dist[r] = i - from;
                open &= ~(1u << r);
            }
        }
        if (op->opc == IR_OP_CALL) {
            const IrCall *c = &f->calls[op->aux];
            for (unsigned k = 0; k < c->helper->nargs; k++) {
                int loc = loc_of(g, c->args[k]);
                int r = loc != NO_LOC ? g->loc_reg[loc] : -1;
                if (r >= 0 && (open & (1u << r))) {
                    dist[r] = i - from;
                    open &= ~(1u << r);
                }
            }
        }
        switch ((IrOpcode)op->opc) {
        case IR_OP_LABEL:
        case IR_OP_BR:
        case IR_OP_BRCOND:
        case IR_OP_GOTO_BLOCK:
        case IR_OP_GOTO_PTR:
        case IR_OP_EXIT: return;
        default: break;
        }
        if (ir_op_has_dst[op->opc] && op->d != IR_NONE) {
            int loc = loc_of(g, op->d);
            int r = loc != NO_LOC ? g->loc_reg[loc] : -1;
            if (r >= 0)
                open &= ~(1u << r);
        }
    }
}

/*
 * A free register, or the one whose value is needed latest (Belady): a value not read
 * again before the cache is written back costs nothing to drop but its store when dirty;
 * between equals, a clean one (no store), then the least recently used.
 */
static int alloc_reg(Cg *g)
{
    int best = -1;
    uint32_t best_next = 0, cand = 0, dist[NHOST];
    for (int i = 0; i < NALLOC; i++) {
        int r = alloc_order[i];
        if ((g->locked | g->pinned_regs) & (1u << r))
            continue;
        if (g->reg_loc[r] == NO_LOC)
            return r;
        cand |= 1u << r;
    }
    next_reads(g, cand, g->op_index + 1, dist);
    for (int i = 0; i < NALLOC; i++) {
        int r = alloc_order[i];
        if (!(cand & (1u << r)))
            continue;
        uint32_t next = dist[r];
        if (best < 0 || next > best_next ||
            (next == best_next &&
             (g->reg_dirty[best] > g->reg_dirty[r] ||
              (g->reg_dirty[best] == g->reg_dirty[r] && g->reg_tick[r] < g->reg_tick[best])))) {
            best = r;
            best_next = next;
        }
    }
    if (best < 0) {
        g->fail = true; /* cannot happen: an op locks at most a few registers */
        return X_RBX;
    }
    spill_reg(g, best, g->op_index);
    return best;
}

static void lock_reg(Cg *g, int r)
{
    g->locked |= 1u << r;
    g->reg_tick[r] = ++g->tick;
}

/* A register holding v (loaded or materialised); locked for the current op. */
static int use_reg(Cg *g, IrVal v)
{
    const IrValInfo *vi = &g->f->vals[v];
    if (vi->kind == IR_VK_CONST) {
        int r = alloc_reg(g);
        x_mov_ri(&g->x, r, vi->value);
        lock_reg(g, r);
        g->scratch_const |= 1u << r;
        return r;
    }
    int loc = loc_of(g, v);
    int r = g->loc_reg[loc];
    if (r < 0) {
        r = alloc_reg(g);
        x_load(&g->x, 8, r, ENV, X_NOREG, 1, home_of_loc(g, loc));
        g->reg_loc[r] = loc;
        g->reg_dirty[r] = false;
        g->loc_reg[loc] = r;
    }
    lock_reg(g, r);
    return r;
}

typedef struct Opnd {
    bool imm;
    int reg;
    int32_t val;
} Opnd;

/* v as an immediate when the instruction can take it (sign-extended imm32 for 64-bit). */
static Opnd opnd(Cg *g, IrVal v, bool w)
{
    const IrValInfo *vi = &g->f->vals[v];
    if (vi->kind == IR_VK_CONST && (!w || x_fits_i32((int64_t)vi->value)))
        return (Opnd){ .imm = true, .val = (int32_t)(uint32_t)vi->value };
    return (Opnd){ .reg = use_reg(g, v) };
}

static bool temp_dead_after(Cg *g, IrVal v)
{
    const IrValInfo *vi = &g->f->vals[v];
    return vi->kind == IR_VK_TEMP && !g->back_branch && g->last_use[vi->offset] <= g->op_index;
}

/*
 * The register that receives d. `reuse` (or -1): an operand register that may be
 * overwritten when it already holds d's home, a temp dead after this op, or a constant.
 */
static int def_reg(Cg *g, IrVal d, int reuse)
{
    int loc = loc_of(g, d);
    int rd = -1;
    if (g->pinned_regs && (unsigned)loc < g->nglobals) {
        for (unsigned k = 0; k < g->npins; k++) {
            if (g->pin_loc[k] != loc)
                continue;
            int p = g->pin_r[k];
            if (reuse == p || !(g->locked & (1u << p))) {
                /* Its register may be overwritten: it holds d itself, which this op does
                 * not read (or reads only as `reuse`). */
                g->reg_dirty[p] = true;
                lock_reg(g, p);
                return p;
            }
            /* d is also an operand of this op: compute elsewhere, move at end_op. */
            rd = alloc_reg(g);
            g->loc_reg[loc] = -1;
            g->reg_loc[p] = NO_LOC;
            g->reg_loc[rd] = loc;
            g->reg_dirty[rd] = true;
            g->loc_reg[loc] = rd;
            lock_reg(g, rd);
            g->fix_loc = loc;
            g->fix_reg = rd;
            return rd;
        }
    }
    if (reuse >= 0) {
        int rl = g->reg_loc[reuse];
        if ((g->scratch_const & (1u << reuse)) || rl == loc ||
            (rl != NO_LOC && (unsigned)rl >= g->nglobals && !g->back_branch &&
             g->last_use[(unsigned)rl - g->nglobals] <= g->op_index)) {
            rd = reuse;
            unbind_reg(g, rd);
            g->scratch_const &= ~(1u << rd);
        }
    }
    if (rd < 0)
        rd = alloc_reg(g);
    int old = g->loc_reg[loc];
    if (old >= 0 && old != rd)
        unbind_reg(g, old); /* overwritten: the old value is not written back */
    g->reg_loc[rd] = loc;
    g->reg_dirty[rd] = true;
    g->loc_reg[loc] = rd;
    lock_reg(g, rd);
    return rd;
}

static int pin_reg_of(Cg *g, int loc)
{
    for (unsigned k = 0; k < g->npins; k++)
        if (g->pin_loc[k] == loc)
            return g->pin_r[k];
    return -1;
}

static void end_op(Cg *g)
{
    if (g->fix_reg >= 0) {
        int p = pin_reg_of(g, g->fix_loc);
        x_mov_rr(&g->x, true, p, g->fix_reg);
        unbind_reg(g, g->fix_reg);
        g->reg_loc[p] = g->fix_loc;
        g->loc_reg[g->fix_loc] = p;
        g->reg_dirty[p] = true;
        g->fix_reg = -1;
    }
    for (int r = 0; r < NHOST; r++)
        if (g->scratch_const & (1u << r))
            unbind_reg(g, r);
    g->scratch_const = 0;
    g->locked = 0;
}

/* Write back everything dirty that matters from op `at` on; mask: registers to consider. */
static void writeback(Cg *g, unsigned at, uint32_t mask, bool globals_only)
{
    for (int r = 0; r < NHOST; r++) {
        if (!(mask & (1u << r)) || g->reg_loc[r] == NO_LOC || !g->reg_dirty[r])
            continue;
        int loc = g->reg_loc[r];
        if (globals_only && (unsigned)loc >= g->nglobals)
            continue;
        if (loc_live(g, loc, at))
            reg_store_home(g, r);
        g->reg_dirty[r] = false;
    }
}

static void drop_regs(Cg *g, uint32_t mask, bool globals_only)
{
    for (int r = 0; r < NHOST; r++) {
        if (!(mask & (1u << r)) || g->reg_loc[r] == NO_LOC)
            continue;
        if (globals_only && (unsigned)g->reg_loc[r] >= g->nglobals)
            continue;
        unbind_reg(g, r);
    }
}

/* Load the pinned globals in the registers of `mask` from their homes (clean). */
static void load_pins_mask(Cg *g, uint32_t mask)
{
    for (unsigned k = 0; k < g->npins; k++) {
        int p = g->pin_r[k], loc = g->pin_loc[k];
        if (!(mask & (1u << p)))
            continue;
        if (g->loc_reg[loc] >= 0 && g->loc_reg[loc] != p)
            unbind_reg(g, g->loc_reg[loc]);
        x_load(&g->x, 8, p, ENV, X_NOREG, 1, home_of_loc(g, loc));
        g->reg_loc[p] = loc;
        g->loc_reg[loc] = p;
        g->reg_dirty[p] = false;
    }
}

static void load_pins(Cg *g)
{
    load_pins_mask(g, 0xffffu);
}

/* At a label: control arrives from several places, so every pinned global may be dirty. */
static void pins_dirty(Cg *g)
{
    for (unsigned k = 0; k < g->npins; k++)
        g->reg_dirty[g->pin_r[k]] = true;
}

/* ---- helpers for emission ---- */

/* Before a call that may raise: which insn of which block is running (chained blocks do
 * not store cur_block on entry, so every site stores both). */
static void set_cur_op(Cg *g, size_t site, int scratch)
{
    x_lea_rip(&g->x, scratch, site);
    x_store(&g->x, 8, ENV, X_NOREG, 1, (int32_t)offsetof(VsCpu, cur_op), scratch);
    x_mov_ri(&g->x, scratch, (uint64_t)(uintptr_t)g->block);
    x_store(&g->x, 8, ENV, X_NOREG, 1, (int32_t)offsetof(VsCpu, cur_block), scratch);
}

static void call_abs(Cg *g, const void *fn)
{
    x_mov_ri(&g->x, X_RAX, (uint64_t)(uintptr_t)fn);
    x_call_r(&g->x, X_RAX);
}

static void alu(Cg *g, XAlu op, bool w, int rd, Opnd b)
{
    if (b.imm)
        x_alu_ri(&g->x, op, w, rd, b.val);
    else
        x_alu_rr(&g->x, op, w, rd, b.reg);
}

static XCond cond_cc(IrCond c)
{
    static const XCond map[IR_COND_COUNT] = {
        [IR_EQ] = X_CC_E,   [IR_NE] = X_CC_NE, [IR_LT] = X_CC_L,    [IR_GE] = X_CC_GE,
        [IR_LE] = X_CC_LE,  [IR_GT] = X_CC_G,  [IR_LTU] = X_CC_B,   [IR_GEU] = X_CC_AE,
        [IR_LEU] = X_CC_BE, [IR_GTU] = X_CC_A, [IR_TSTEQ] = X_CC_E, [IR_TSTNE] = X_CC_NE,
    };
    return map[c];
}

/* Compare a with b for cond c; returns the x86 condition that holds when cond(a, b). */
static XCond emit_compare(Cg *g, IrType t, IrCond c, IrVal a, IrVal b)
{
    bool w = t == IR_I64;
    if (ir_is_const(g->f, a) && !ir_is_const(g->f, b)) {
        IrVal tmp = a;
        a = b;
        b = tmp;
        c = ir_cond_swap(c);
    }
    int ra = use_reg(g, a);
    Opnd ob = opnd(g, b, w);
    if (c == IR_TSTEQ || c == IR_TSTNE) {
        if (ob.imm)
            x_test_ri(&g->x, w, ra, ob.val);
        else
            x_test_rr(&g->x, w, ra, ob.reg);
    } else {
        alu(g, X_CMP, w, ra, ob);
    }
    return cond_cc(c);
}

static bool commutative(IrOpcode opc)
{
    switch (opc) {
    case IR_OP_ADD:
    case IR_OP_MUL:
    case IR_OP_AND:
    case IR_OP_OR:
    case IR_OP_XOR:
    case IR_OP_SMIN:
    case IR_OP_SMAX:
    case IR_OP_UMIN:
    case IR_OP_UMAX: return true;
    default: return false;
    }
}

/* ---- the ops ---- */

/*
 * d = shl a, 1..3 followed (across insn_starts) by e = add d, b (or b, d) where d dies
 * there (a temp read last by the add, or the add's own destination) and b is not a
 * constant: one lea e, [b + a * scale], the usual RISC-V address arithmetic.
 */
static bool emit_shl_add(Cg *g, const IrOp *op)
{
    const IrFunc *f = g->f;
    if (op->type != IR_I64 || !ir_is_const(f, op->b) || ir_is_const(f, op->a))
        return false;
    uint64_t count = ir_const_value(f, op->b) & 63;
    if (count < 1 || count > 3)
        return false;
    unsigned j = g->op_index + 1;
    while (j < f->nops && f->ops[j].opc == IR_OP_INSN_START)
        j++;
    if (j >= f->nops)
        return false;
    const IrOp *add = &f->ops[j];
    if (add->opc != IR_OP_ADD || add->type != IR_I64 || (add->a == op->d) == (add->b == op->d))
        return false;
    IrVal other = add->a == op->d ? add->b : add->a;
    int dloc = loc_of(g, op->d);
    if (ir_is_const(f, other) || loc_of(g, other) == dloc)
        return false;
    bool dead = loc_of(g, add->d) == dloc;
    if (!dead && f->vals[op->d].kind == IR_VK_TEMP && !g->back_branch)
        dead = g->last_use[f->vals[op->d].offset] <= j;
    if (!dead)
        return false;
    int rb = use_reg(g, other);
    int ra = use_reg(g, op->a);
    int rd = def_reg(g, add->d, ra);
    x_lea(&g->x, true, rd, rb, ra, 1 << count, 0);
    g->skip_op = j;
    return true;
}

static void emit_binop(Cg *g, const IrOp *op)
{
    IrOpcode opc = (IrOpcode)op->opc;
    bool w = op->type == IR_I64;
    unsigned width = w ? 64 : 32;
    IrVal a = op->a, b = op->b;
    /* Commutative: a constant goes second (an immediate); so does an operand in another
     * home when b is d itself (x = y op x), so the result is computed in d's register. */
    if (commutative(opc) && ((ir_is_const(g->f, a) && !ir_is_const(g->f, b)) ||
                             (!ir_is_const(g->f, a) && loc_of(g, b) == loc_of(g, op->d) &&
                              loc_of(g, a) != loc_of(g, op->d)))) {
        IrVal t = a;
        a = b;
        b = t;
    }
    switch (opc) {
    case IR_OP_ADD:
    case IR_OP_SUB:
    case IR_OP_AND:
    case IR_OP_OR:
    case IR_OP_XOR: {
        static const XAlu ops[] = { [IR_OP_ADD] = X_ADD,
                                    [IR_OP_SUB] = X_SUB,
                                    [IR_OP_AND] = X_AND,
                                    [IR_OP_OR] = X_OR,
                                    [IR_OP_XOR] = X_XOR };
        int ra = use_reg(g, a);
        Opnd ob = opnd(g, b, w);
        int rd = def_reg(g, op->d, ra);
        if (rd != ra)
            x_mov_rr(&g->x, w, rd, ra);
        alu(g, ops[opc], w, rd, ob);
        return;
    }
    case IR_OP_ANDC:
    case IR_OP_ORC: {
        int ra = use_reg(g, a);
        Opnd ob = opnd(g, b, w);
        if (ob.imm) {
            ob.val = ~ob.val;
        } else {
            x_mov_rr(&g->x, w, X_RCX, ob.reg);
            x_unary(&g->x, X_NOT, w, X_RCX);
            ob.reg = X_RCX;
        }
        int rd = def_reg(g, op->d, ra);
        if (rd != ra)
            x_mov_rr(&g->x, w, rd, ra);
        alu(g, opc == IR_OP_ANDC ? X_AND : X_OR, w, rd, ob);
        return;
    }
    case IR_OP_MUL: {
        int ra = use_reg(g, a);
        Opnd ob = opnd(g, b, w);
        int rd = def_reg(g, op->d, ra);
        if (ob.imm) {
            x_imul_rri(&g->x, w, rd, ra, ob.val);
        } else {
            if (rd == ob.reg) {
                x_imul_rr(&g->x, w, rd, ra);
            } else {
                if (rd != ra)
                    x_mov_rr(&g->x, w, rd, ra);
                x_imul_rr(&g->x, w, rd, ob.reg);
            }
        }
        return;
    }
    case IR_OP_MULUH:
    case IR_OP_MULSH: {
        int ra = use_reg(g, a);
        int rb = use_reg(g, b);
        x_mov_rr(&g->x, w, X_RAX, ra);
        x_unary(&g->x, opc == IR_OP_MULUH ? X_MUL : X_IMUL1, w, rb);
        int rd = def_reg(g, op->d, -1);
        x_mov_rr(&g->x, w, rd, X_RDX);
        return;
    }
    case IR_OP_MULSUH: {
        int ra = use_reg(g, a);
        int rb = use_reg(g, b);
        if (w) {
            /* high(signed a * unsigned b) = high(unsigned a * b) - (a < 0 ? b : 0) */
            x_mov_rr(&g->x, true, X_RAX, ra);
            x_unary(&g->x, X_MUL, true, rb);
            x_mov_rr(&g->x, true, X_RCX, ra);
            x_shift_ri(&g->x, X_SAR, true, X_RCX, 63);
            x_alu_rr(&g->x, X_AND, true, X_RCX, rb);
            x_alu_rr(&g->x, X_SUB, true, X_RDX, X_RCX);
        } else {
            x_movsx_rr(&g->x, 4, true, X_RAX, ra);
            x_mov_rr(&g->x, false, X_RCX, rb);
            x_imul_rr(&g->x, true, X_RAX, X_RCX);
            x_shift_ri(&g->x, X_SHR, true, X_RAX, 32);
            x_mov_rr(&g->x, false, X_RDX, X_RAX);
        }
        int rd = def_reg(g, op->d, -1);
        x_mov_rr(&g->x, w, rd, X_RDX);
        return;
    }
    case IR_OP_DIV:
    case IR_OP_DIVU:
    case IR_OP_REM:
    case IR_OP_REMU: {
        bool rem = opc == IR_OP_REM || opc == IR_OP_REMU;
        bool sign = opc == IR_OP_DIV || opc == IR_OP_REM;
        int ra = use_reg(g, a);
        int rb = use_reg(g, b);
        int res = rem ? X_RDX : X_RAX;
        x_mov_rr(&g->x, w, X_RAX, ra);
        x_test_rr(&g->x, w, rb, rb);
        size_t jz = x_jcc8_label(&g->x, X_CC_E);
        size_t jm1 = 0;
        if (sign) {
            x_alu_ri(&g->x, X_CMP, w, rb, -1);
            jm1 = x_jcc8_label(&g->x, X_CC_E);
            x_cqo(&g->x, w);
            x_unary(&g->x, X_IDIV, w, rb);
        } else {
            x_alu_rr(&g->x, X_XOR, false, X_RDX, X_RDX);
            x_unary(&g->x, X_DIV, w, rb);
        }
        size_t jdone = x_jmp8_label(&g->x);
        if (sign) {
            /* divisor -1: quotient -a (MIN stays MIN), remainder 0 */
            x_patch_rel8(&g->x, jm1, x_pos(&g->x));
            if (rem)
                x_alu_rr(&g->x, X_XOR, false, X_RDX, X_RDX);
            else
                x_unary(&g->x, X_NEG, w, X_RAX);
            size_t j2 = x_jmp8_label(&g->x);
            x_patch_rel8(&g->x, jz, x_pos(&g->x));
            if (rem)
                x_mov_rr(&g->x, true, X_RDX, X_RAX);
            else
                x_mov_ri(&g->x, X_RAX, w ? ~0ull : 0xffffffffull);
            x_patch_rel8(&g->x, j2, x_pos(&g->x));
        } else {
            x_patch_rel8(&g->x, jz, x_pos(&g->x));
            if (rem)
                x_mov_rr(&g->x, true, X_RDX, X_RAX);
            else
                x_mov_ri(&g->x, X_RAX, w ? ~0ull : 0xffffffffull);
        }
        x_patch_rel8(&g->x, jdone, x_pos(&g->x));
        int rd = def_reg(g, op->d, -1);
        x_mov_rr(&g->x, w, rd, res);
        return;
    }
    case IR_OP_SHL:
        if (emit_shl_add(g, op))
            return;
        /* fall through */
    case IR_OP_SHR:
    case IR_OP_SAR:
    case IR_OP_ROTL:
    case IR_OP_ROTR: {
        static const XShift ops[] = { [IR_OP_SHL] = X_SHL,
                                      [IR_OP_SHR] = X_SHR,
                                      [IR_OP_SAR] = X_SAR,
                                      [IR_OP_ROTL] = X_ROL,
                                      [IR_OP_ROTR] = X_ROR };
        int ra = use_reg(g, a);
        bool imm = ir_is_const(g->f, b);
        unsigned count = imm ? (unsigned)(ir_const_value(g->f, b) & (width - 1)) : 0;
        if (!imm) {
            int rb = use_reg(g, b);
            x_mov_rr(&g->x, false, X_RCX, rb);
        }
        int rd = def_reg(g, op->d, ra);
        if (rd != ra || !w) /* 32-bit: the mov zero-extends even when the count is 0 */
            x_mov_rr(&g->x, w, rd, ra);
        if (!imm)
            x_shift_rcl(&g->x, ops[opc], w, rd);
        else if (count)
            x_shift_ri(&g->x, ops[opc], w, rd, (uint8_t)count);
        return;
    }
    case IR_OP_SMIN:
    case IR_OP_SMAX:
    case IR_OP_UMIN:
    case IR_OP_UMAX: {
        static const XCond cc[] = { [IR_OP_SMIN] = X_CC_G,
                                    [IR_OP_SMAX] = X_CC_L,
                                    [IR_OP_UMIN] = X_CC_A,
                                    [IR_OP_UMAX] = X_CC_B };
        int ra = use_reg(g, a);
        int rb = use_reg(g, b);
        int rd = def_reg(g, op->d, ra);
        if (rd != ra)
            x_mov_rr(&g->x, w, rd, ra);
        x_alu_rr(&g->x, X_CMP, w, rd, rb);
        x_cmov(&g->x, cc[opc], w, rd, rb);
        if (!w)
            x_mov_rr(&g->x, false, rd, rd); /* cmov with a false condition keeps all 64 */
        return;
    }
    default: g->fail = true; return;
    }
}

static void emit_unop(Cg *g, const IrOp *op)
{
    IrOpcode opc = (IrOpcode)op->opc;
    bool w = op->type == IR_I64;
    int ra = use_reg(g, op->a);
    switch (opc) {
    case IR_OP_NOT:
    case IR_OP_NEG:
    case IR_OP_BSWAP: {
        int rd = def_reg(g, op->d, ra);
        if (rd != ra || !w)
            x_mov_rr(&g->x, w, rd, ra);
        if (opc == IR_OP_BSWAP)
            x_bswap(&g->x, w, rd);
        else
            x_unary(&g->x, opc == IR_OP_NOT ? X_NOT : X_NEG, w, rd);
        return;
    }
    case IR_OP_SEXT8:
    case IR_OP_SEXT16: {
        int rd = def_reg(g, op->d, ra);
        x_movsx_rr(&g->x, opc == IR_OP_SEXT8 ? 1 : 2, w, rd, ra);
        return;
    }
    case IR_OP_SEXT32: {
        int rd = def_reg(g, op->d, ra);
        if (w)
            x_movsx_rr(&g->x, 4, true, rd, ra);
        else
            x_mov_rr(&g->x, false, rd, ra);
        return;
    }
    case IR_OP_ZEXT8:
    case IR_OP_ZEXT16: {
        int rd = def_reg(g, op->d, ra);
        x_movzx_rr(&g->x, opc == IR_OP_ZEXT8 ? 1 : 2, rd, ra);
        return;
    }
    case IR_OP_ZEXT32: {
        int rd = def_reg(g, op->d, ra);
        x_mov_rr(&g->x, false, rd, ra);
        return;
    }
    case IR_OP_CLZ:
        /* bsr leaves ZF set for 0: then use 2W-1, whose xor with W-1 is W. */
        x_mov_ri(&g->x, X_RAX, w ? 127 : 63);
        x_bsr(&g->x, w, X_RCX, ra);
        x_cmov(&g->x, X_CC_E, w, X_RCX, X_RAX);
        x_alu_ri(&g->x, X_XOR, w, X_RCX, w ? 63 : 31);
        x_mov_rr(&g->x, w, def_reg(g, op->d, -1), X_RCX);
        return;
    case IR_OP_CTZ:
        x_mov_ri(&g->x, X_RAX, w ? 64 : 32);
        x_bsf(&g->x, w, X_RCX, ra);
        x_cmov(&g->x, X_CC_E, w, X_RCX, X_RAX);
        x_mov_rr(&g->x, w, def_reg(g, op->d, -1), X_RCX);
        return;
    case IR_OP_POPCNT:
        if (!host_has_popcnt) {
            g->fail = true; /* such blocks run interpreted */
            return;
        }
        x_popcnt(&g->x, w, X_RCX, ra);
        x_mov_rr(&g->x, w, def_reg(g, op->d, -1), X_RCX);
        return;
    default: g->fail = true; return;
    }
}

/*
 * The inline TLB lookup: va in rax. On a hit, with `indexed` rax stays the va and rcx
 * becomes the entry's addend (the access then uses [rax + rcx]: one add fewer on the
 * dependency chain from the address to the loaded value), else rax becomes the host
 * address. Returns the position of the jne to the slow path (entered with the va in rax).
 * Uses rcx and rdx.
 */
static size_t emit_tlb(Cg *g, uint16_t flags, size_t tag_off, bool indexed)
{
    unsigned size = 1u << IR_MEM_LOG2SIZE(flags);
    /* The table's mask and base come from the CPU state: the TLB is resized at run time. */
    int32_t fast = (int32_t)(offsetof(VsCpu, tlb) + IR_MEM_MMUIDX(flags) * sizeof(TlbFast));
    _Static_assert(sizeof(TlbEntry) == 1u << TLB_ENTRY_BITS, "entry size is the index scale");
    x_mov_rr(&g->x, true, X_RDX, X_RAX);
    x_shift_ri(&g->x, X_SHR, true, X_RDX, GUEST_PAGE_BITS - TLB_ENTRY_BITS);
    x_alu_rm(&g->x, X_AND, true, X_RDX, ENV, fast + (int32_t)offsetof(TlbFast, mask));
    x_alu_rm(&g->x, X_ADD, true, X_RDX, ENV, fast + (int32_t)offsetof(TlbFast, table));
    x_mov_rr(&g->x, true, X_RCX, X_RAX);
    x_alu_ri(&g->x, X_AND, true, X_RCX, (int32_t)(GUEST_PAGE_MASK | (size - 1)));
    x_alu_rm(&g->x, X_CMP, true, X_RCX, X_RDX, (int32_t)tag_off);
    size_t j = x_jcc_label(&g->x, X_CC_NE);
    if (indexed)
        x_load(&g->x, 8, X_RCX, X_RDX, X_NOREG, 1, (int32_t)offsetof(TlbEntry, addend));
    else
        x_alu_rm(&g->x, X_ADD, true, X_RAX, X_RDX, (int32_t)offsetof(TlbEntry, addend));
    return j;
}

/* Address (a + off) into rax. */
static void emit_addr(Cg *g, IrVal a, int32_t off)
{
    if (ir_is_const(g->f, a)) {
        x_mov_ri(&g->x, X_RAX, ir_const_value(g->f, a) + (uint64_t)(int64_t)off);
        return;
    }
    int ra = use_reg(g, a);
    if (off)
        x_lea(&g->x, true, X_RAX, ra, X_NOREG, 1, off);
    else
        x_mov_rr(&g->x, true, X_RAX, ra);
}

static SlowPath *new_slow_path(Cg *g, SlowPathKind kind, uint16_t flags)
{
    if (!grow((void **)&g->slow, &g->cap_slow, g->nslow + 1, sizeof(SlowPath))) {
        g->fail = true;
        return NULL;
    }
    SlowPath *s = &g->slow[g->nslow++];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->flags = flags;
    s->rd = -1;
    s->val_reg = -1;
    /* What the slow path must preserve and write back, as of now. */
    for (int r = 0; r < NHOST; r++) {
        bool bound = g->reg_loc[r] != NO_LOC;
        if ((bound || (g->locked & (1u << r))) && (CALLER_SAVED_MASK & (1u << r)))
            s->save_mask |= 1u << r;
        if (bound && g->reg_dirty[r] && (unsigned)g->reg_loc[r] < g->nglobals) {
            s->dirty_reg[s->ndirty] = (uint8_t)r;
            s->dirty_home[s->ndirty] = home_of_loc(g, g->reg_loc[r]);
            s->ndirty++;
        }
    }
    return s;
}

static void emit_load(Cg *g, const IrOp *op)
{
    unsigned size = 1u << IR_MEM_LOG2SIZE(op->flags);
    bool sign = (op->flags & IR_MEM_SIGN) && size < 8;
    bool w = op->type == IR_I64;
    emit_addr(g, op->a, (int32_t)op->aux);
    SlowPath *s = new_slow_path(g, SLOW_LOAD, op->flags);
    if (!s)
        return;
    int rd = def_reg(g, op->d, -1);
    s->site = x_pos(&g->x);
    s->jcc_disp = emit_tlb(g, op->flags, offsetof(TlbEntry, addr_read), true);
    if (sign)
        x_load_sx(&g->x, size, w, rd, X_RAX, X_RCX, 1, 0);
    else
        x_load(&g->x, size, rd, X_RAX, X_RCX, 1, 0);
    s->rd = rd;
    s->sext = sign;
    s->w64 = w;
    s->resume = x_pos(&g->x);
}

static void emit_store(Cg *g, const IrOp *op)
{
    unsigned size = 1u << IR_MEM_LOG2SIZE(op->flags);
    Opnd v = opnd(g, op->b, size == 8);
    emit_addr(g, op->a, (int32_t)op->aux);
    SlowPath *s = new_slow_path(g, SLOW_STORE, op->flags);
    if (!s)
        return;
    s->site = x_pos(&g->x);
    s->jcc_disp = emit_tlb(g, op->flags, offsetof(TlbEntry, addr_write), !v.imm);
    if (v.imm) {
        x_store_imm(&g->x, size, X_RAX, 0, v.val);
        s->val_imm = ir_const_value(g->f, op->b);
    } else {
        x_store(&g->x, size, X_RAX, X_RCX, 1, 0, v.reg);
        s->val_reg = v.reg;
    }
    s->resume = x_pos(&g->x);
}

/* Host pointer of an atomic access into rdx (fast path or mmu_atomic_host). */
static void emit_atomic_ptr(Cg *g, const IrOp *op)
{
    emit_addr(g, op->a, 0);
    SlowPath *s = new_slow_path(g, SLOW_ATOMIC, op->flags);
    if (!s)
        return;
    s->site = x_pos(&g->x);
    s->jcc_disp = emit_tlb(g, op->flags, offsetof(TlbEntry, addr_write), false);
    s->resume = x_pos(&g->x);
    x_mov_rr(&g->x, true, X_RDX, X_RAX);
}

static void emit_atomic(Cg *g, const IrOp *op)
{
    unsigned size = 1u << IR_MEM_LOG2SIZE(op->flags);
    bool w = size == 8;
    if (size != 4 && size != 8) {
        g->fail = true;
        return;
    }
    int rb = use_reg(g, op->b);
    int rc = op->opc == IR_OP_CMPXCHG ? use_reg(g, op->c) : -1;
    emit_atomic_ptr(g, op);
    int res;
    if (op->opc == IR_OP_CMPXCHG) {
        x_mov_rr(&g->x, w, X_RAX, rb);
        x_mov_rr(&g->x, w, X_RCX, rc);
        x_lock_cmpxchg(&g->x, size, X_RDX, 0, X_RCX);
        res = X_RAX;
    } else if (op->aux == IR_AMO_XCHG || op->aux == IR_AMO_ADD) {
        x_mov_rr(&g->x, w, X_RCX, rb);
        if (op->aux == IR_AMO_XCHG)
            x_xchg_mr(&g->x, size, X_RDX, 0, X_RCX);
        else
            x_lock_xadd(&g->x, size, X_RDX, 0, X_RCX);
        res = X_RCX;
    } else if (op->aux < IR_AMO_COUNT) {
        x_load(&g->x, size, X_RAX, X_RDX, X_NOREG, 1, 0);
        size_t loop = x_pos(&g->x);
        x_mov_rr(&g->x, w, X_RCX, rb);
        switch (op->aux) {
        case IR_AMO_AND: x_alu_rr(&g->x, X_AND, w, X_RCX, X_RAX); break;
        case IR_AMO_OR: x_alu_rr(&g->x, X_OR, w, X_RCX, X_RAX); break;
        case IR_AMO_XOR: x_alu_rr(&g->x, X_XOR, w, X_RCX, X_RAX); break;
        default: {
            static const XCond cc[] = { [IR_AMO_SMIN] = X_CC_L,
                                        [IR_AMO_SMAX] = X_CC_G,
                                        [IR_AMO_UMIN] = X_CC_B,
                                        [IR_AMO_UMAX] = X_CC_A };
            x_alu_rr(&g->x, X_CMP, w, X_RAX, X_RCX);
            x_cmov(&g->x, cc[op->aux], w, X_RCX, X_RAX);
            break;
        }
        }
        x_lock_cmpxchg(&g->x, size, X_RDX, 0, X_RCX);
        x_jcc_to(&g->x, X_CC_NE, loop);
        res = X_RAX;
    } else {
        g->fail = true;
        return;
    }
    int rd = def_reg(g, op->d, -1);
    x_mov_rr(&g->x, w, rd, res);
}

/* Arguments go in rdi, rsi, rdx, rcx, r8, r9, then on the stack. */
/* Whether a helper may change globals the code generator holds in registers. */
static bool helper_clobbers_globals(const IrHelper *h)
{
    return (h->flags & IR_HELPER_WRITES_STATE) && !(h->flags & IR_HELPER_KEEPS_GLOBALS);
}

/* A value (constant, register or home) into host register r. */
static void load_val(Cg *g, IrVal v, int r)
{
    const IrValInfo *vi = &g->f->vals[v];
    if (vi->kind == IR_VK_CONST) {
        x_mov_ri(&g->x, r, vi->value);
        return;
    }
    int loc = loc_of(g, v);
    if (g->loc_reg[loc] >= 0)
        x_mov_rr(&g->x, true, r, g->loc_reg[loc]);
    else
        x_load(&g->x, 8, r, ENV, X_NOREG, 1, home_of_loc(g, loc));
}

/*
 * The inline fast path of an IR_HELPER_HOST_FP helper (conditions in ir.h), emitted after
 * the writeback before its call: on success the result is in rax (unused when the call's
 * result is dead: the helper would only have accrued flags) and control jumps past the
 * call (*done, to patch); every failed check branches to the call, which follows. Uses only
 * rax, rcx, rdx, xmm0 and xmm1, which hold nothing here (caller-saved registers were just
 * dropped; pinned r10/r11 are not touched, so their values stay valid). The host MXCSR is
 * the default (RNE, all exceptions masked, no DAZ/FTZ): jit_run() guarantees it.
 */
static bool emit_host_fp(Cg *g, const IrCall *ic, size_t *done)
{
    const IrHostFpHelper *hf = (const IrHostFpHelper *)ic->helper;
    const IrValInfo *rmv = &g->f->vals[ic->args[2]];
    if (rmv->kind != IR_VK_CONST || (rmv->value != hf->rm_rne && rmv->value != hf->rm_dyn) ||
        hf->nx_mask > INT32_MAX || hf->flags_off > INT32_MAX || hf->frm_off > INT32_MAX)
        return false;
    static const uint8_t sse_op[4] = { [IR_HOSTFP_ADD] = 0x58,
                                       [IR_HOSTFP_SUB] = 0x5C,
                                       [IR_HOSTFP_MUL] = 0x59,
                                       [IR_HOSTFP_DIV] = 0x5E };
    XBuf *x = &g->x;
    size_t slow[4];
    unsigned nslow = 0;
    if (rmv->value == hf->rm_dyn) {
        x_alu_mi(x, X_CMP, true, ENV, (int32_t)hf->frm_off, hf->rm_rne);
        slow[nslow++] = x_jcc_label(x, X_CC_NE);
    }
    x_load(x, 8, X_RAX, ENV, X_NOREG, 1, (int32_t)hf->flags_off);
    x_test_ri(x, true, X_RAX, (int32_t)hf->nx_mask);
    slow[nslow++] = x_jcc_label(x, X_CC_E);
    load_val(g, ic->args[0], X_RAX);
    load_val(g, ic->args[1], X_RCX);
    if (!hf->dbl) { /* both NaN-boxed: the upper halves' AND is all ones */
        x_mov_rr(x, true, X_RDX, X_RAX);
        x_alu_rr(x, X_AND, true, X_RDX, X_RCX);
        x_shift_ri(x, X_SHR, true, X_RDX, 32);
        x_alu_ri(x, X_CMP, false, X_RDX, -1);
        slow[nslow++] = x_jcc_label(x, X_CC_NE);
    }
    /* For a single, the ss op keeps xmm0's bits 32-63 (a's all-ones box): rax is boxed. */
    x_movq_xr(x, 0, X_RAX);
    x_movq_xr(x, 1, X_RCX);
    x_sse_arith(x, sse_op[hf->op & 3], hf->dbl, 0, 1);
    x_movq_rx(x, X_RAX, 0);
    /* |r| above the smallest normal and below infinity: with m = |r| << 1 (no sign), the
     * unsigned m - (2 * min_normal + 2) < 2 * inf - (2 * min_normal + 2). */
    if (hf->dbl) {
        const uint64_t lo = (2ull << 52) + 2, hi = 0x7ffull << 53;
        x_lea(x, true, X_RCX, X_RAX, X_RAX, 1, 0);
        x_mov_ri(x, X_RDX, 0 - lo);
        x_alu_rr(x, X_ADD, true, X_RCX, X_RDX);
        x_mov_ri(x, X_RDX, hi - lo);
        x_alu_rr(x, X_CMP, true, X_RCX, X_RDX);
    } else {
        const uint32_t lo = (2u << 23) + 2, hi = 0xffu << 24;
        x_lea(x, false, X_RCX, X_RAX, X_RAX, 1, 0);
        x_alu_ri(x, X_SUB, false, X_RCX, (int32_t)lo);
        x_alu_ri(x, X_CMP, false, X_RCX, (int32_t)(hi - lo));
    }
    slow[nslow++] = x_jcc_label(x, X_CC_AE);
    *done = x_jmp_label(x);
    for (unsigned k = 0; k < nslow; k++)
        x_patch_rel32(x, slow[k], x_pos(x));
    return true;
}

static void emit_call(Cg *g, const IrOp *op)
{
    const IrCall *ic = &g->f->calls[op->aux];
    const IrHelper *h = ic->helper;
    bool pure = (h->flags & IR_HELPER_PURE) &&
                !(h->flags & (IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_RAISE |
                              IR_HELPER_PASS_CPU));
    unsigned i = g->op_index;
    /* Caller-saved registers do not survive the call; a stateful helper needs every
     * global in memory (and a raising one the registers written so far). */
    bool clobbers = helper_clobbers_globals(h);
    writeback(g, i, pure ? CALLER_SAVED_MASK : 0xffffu, false);
    drop_regs(g, CALLER_SAVED_MASK, false);
    if (clobbers)
        drop_regs(g, 0xffffu, true);
    size_t fast_done = 0;
    bool fast = (h->flags & IR_HELPER_HOST_FP) && h->nargs == 3 && emit_host_fp(g, ic, &fast_done);
    static const int argreg[6] = { X_RDI, X_RSI, X_RDX, X_RCX, X_R8, X_R9 };
    unsigned n = 0;
    uint64_t stack_arg = 0;
    int stack_src = -2; /* -2: none, -1: constant, else a register or home */
    int32_t stack_home = 0;
    if (h->flags & IR_HELPER_PASS_CPU)
        x_mov_rr(&g->x, true, argreg[n++], ENV);
    for (unsigned k = 0; k < h->nargs; k++, n++) {
        IrVal v = ic->args[k];
        const IrValInfo *vi = &g->f->vals[v];
        int src = -1;
        int32_t home = 0;
        if (vi->kind != IR_VK_CONST) {
            int loc = loc_of(g, v);
            src = g->loc_reg[loc];
            if (src < 0) {
                src = -3;
                home = home_of_loc(g, loc);
            }
        }
        if (n >= 6) {
            stack_src = src;
            stack_home = home;
            stack_arg = vi->value;
            continue;
        }
        if (src == -1)
            x_mov_ri(&g->x, argreg[n], vi->value);
        else if (src == -3)
            x_load(&g->x, 8, argreg[n], ENV, X_NOREG, 1, home);
        else
            x_mov_rr(&g->x, true, argreg[n], src);
    }
    if (!pure)
        set_cur_op(g, x_pos(&g->x), X_RAX);
    if (stack_src != -2) {
        x_alu_ri(&g->x, X_SUB, true, X_RSP, 8);
        if (stack_src == -1)
            x_mov_ri(&g->x, X_RAX, stack_arg);
        else if (stack_src == -3)
            x_load(&g->x, 8, X_RAX, ENV, X_NOREG, 1, stack_home);
        else
            x_mov_rr(&g->x, true, X_RAX, stack_src);
        x_push(&g->x, X_RAX);
    }
    call_abs(g, h->fn);
    if (stack_src != -2)
        x_alu_ri(&g->x, X_ADD, true, X_RSP, 16);
    if (g->npins) /* the helper may have changed them; caller-saved ones did not survive */
        load_pins_mask(g, clobbers ? 0xffffu : CALLER_SAVED_MASK);
    if (fast)
        x_patch_rel32(&g->x, fast_done, x_pos(&g->x));
    if (op->d != IR_NONE) {
        int rd = def_reg(g, op->d, -1);
        x_mov_rr(&g->x, op->type == IR_I64, rd, X_RAX);
    }
}

static void add_fixup(Cg *g, size_t disp, uint32_t label)
{
    if (!grow((void **)&g->fixups, &g->cap_fixups, g->nfixups + 1, sizeof(Fixup))) {
        g->fail = true;
        return;
    }
    g->fixups[g->nfixups++] = (Fixup){ disp, label };
}

static void jump_to_label(Cg *g, int cc, uint32_t label)
{
    size_t pos = g->label_pos[label];
    if (pos != SIZE_MAX) {
        if (cc < 0)
            x_jmp_to(&g->x, pos);
        else
            x_jcc_to(&g->x, (XCond)cc, pos);
        return;
    }
    add_fixup(g, cc < 0 ? x_jmp_label(&g->x) : x_jcc_label(&g->x, (XCond)cc), label);
}

static void emit_exit(Cg *g, int code)
{
    x_mov_ri(&g->x, X_RAX, (uint64_t)code);
    if (!grow((void **)&g->exit_jumps, &g->cap_exits, g->nexits + 1, sizeof(size_t))) {
        g->fail = true;
        return;
    }
    g->exit_jumps[g->nexits++] = x_jmp_label(&g->x);
}

/*
 * Block chaining through the vCPU's jump cache, inline, for goto_ptr and for goto_block to
 * another guest page: after the exit has stored the next pc (also in rax), look the pc up
 * in cpu->jmp_cache as jit_run would and, when the entry is for this mode, its block
 * valid and compiled, jump straight past the next block's prologue (every block has the
 * same frame). Otherwise return INTERP_RET_LOOKUP to jit_run. interrupt_request is
 * checked first, so interrupts and stop requests end a chain at the next block boundary.
 */
static void emit_chain_exit(Cg *g)
{
    XBuf *x = &g->x;
    _Static_assert(sizeof(JmpCacheEntry) == 24 && offsetof(JmpCacheEntry, mode) == 8 &&
                       offsetof(JmpCacheEntry, block) == 16,
                   "the inline probe assumes this JmpCacheEntry layout");
    size_t miss[7];
    unsigned nmiss = 0;
    x_load(x, 4, X_RCX, ENV, X_NOREG, 1, (int32_t)offsetof(VsCpu, interrupt_request));
    x_test_rr(x, false, X_RCX, X_RCX);
    miss[nmiss++] = x_jcc_label(x, X_CC_NE);
    /* jmp_cache_hash(pc) */
    x_mov_rr(x, true, X_RCX, X_RAX);
    x_shift_ri(x, X_SHR, true, X_RCX, 1);
    x_mov_rr(x, true, X_RDX, X_RAX);
    x_shift_ri(x, X_SHR, true, X_RDX, 1 + JMP_CACHE_BITS);
    x_alu_rr(x, X_XOR, true, X_RCX, X_RDX);
    x_alu_ri(x, X_AND, false, X_RCX, (int32_t)(JMP_CACHE_SIZE - 1));
    x_lea(x, true, X_RCX, X_RCX, X_RCX, 2, 0); /* * 3 */
    x_load(x, 8, X_RDX, ENV, X_NOREG, 1, (int32_t)offsetof(VsCpu, jmp_cache));
    x_lea(x, true, X_RDX, X_RDX, X_RCX, 8, 0); /* the entry */
    x_alu_rm(x, X_CMP, true, X_RAX, X_RDX, (int32_t)offsetof(JmpCacheEntry, vpc));
    miss[nmiss++] = x_jcc_label(x, X_CC_NE);
    x_load(x, 4, X_RCX, ENV, X_NOREG, 1, (int32_t)offsetof(VsCpu, mode));
    x_alu_rm(x, X_CMP, false, X_RCX, X_RDX, (int32_t)offsetof(JmpCacheEntry, mode));
    miss[nmiss++] = x_jcc_label(x, X_CC_NE);
    x_load(x, 8, X_RDX, X_RDX, X_NOREG, 1, (int32_t)offsetof(JmpCacheEntry, block));
    x_test_rr(x, true, X_RDX, X_RDX);
    miss[nmiss++] = x_jcc_label(x, X_CC_E);
    x_load(x, 1, X_RCX, X_RDX, X_NOREG, 1, (int32_t)offsetof(VsBlock, valid));
    x_test_rr(x, false, X_RCX, X_RCX);
    miss[nmiss++] = x_jcc_label(x, X_CC_E);
    x_load(x, 8, X_RCX, X_RDX, X_NOREG, 1, (int32_t)offsetof(VsBlock, jit_code));
    x_test_rr(x, true, X_RCX, X_RCX);
    miss[nmiss++] = x_jcc_label(x, X_CC_E);
    /* The next block's entry counts its instructions itself (see codegen). */
    x_alu_ri(x, X_ADD, true, X_RCX, JIT_PROLOGUE_SIZE);
    x_jmp_r(x, X_RCX);
    size_t here = x_pos(x);
    for (unsigned k = 0; k < nmiss; k++)
        x_patch_rel32(x, miss[k], here);
    emit_exit(g, INTERP_RET_LOOKUP);
}

/*
 * goto_block to the block's own guest page: a patchable direct jump (see JitLink). The
 * same page is what makes a permanent link safe: the source was entered through the
 * current mapping of that page, so the target pc maps to the same physical page; a
 * mapping change flushes the jump caches, which is how chains from elsewhere enter.
 */
static void emit_direct_exit(Cg *g, uint64_t pc)
{
    XBuf *x = &g->x;
    JitLink *l = &g->links[g->nlinks++];
    *l = (JitLink){ .src = g->block, .pc = pc };
    x_alu_mi(x, X_CMP, false, ENV, (int32_t)offsetof(VsCpu, interrupt_request), 0);
    l->stub_off = (uint32_t)x_jcc_label(x, X_CC_NE); /* patched to the stub later */
    while ((x_pos(x) + 1) & 3)
        x_byte(x, 0x90);
    l->jmp_off = (uint32_t)x_jmp_label(x);
}

static void emit_link_stub(Cg *g, JitLink *l, size_t epilogue)
{
    XBuf *x = &g->x;
    size_t stub = x_pos(x);
    x_patch_rel32(x, l->stub_off, stub);
    x_patch_rel32(x, l->jmp_off, stub);
    l->stub_off = (uint32_t)stub;
    x_mov_ri(x, X_RAX, l->pc);
    x_store(x, 8, ENV, X_NOREG, 1, (int32_t)g->pc_off, X_RAX);
    x_mov_ri(x, X_RCX, (uint64_t)(uintptr_t)l);
    x_store(x, 8, ENV, X_NOREG, 1, (int32_t)offsetof(VsCpu, jit_link), X_RCX);
    x_mov_ri(x, X_RAX, INTERP_RET_LOOKUP);
    x_jmp_to(x, epilogue);
}

/*
 * goto_block to another member of the region: the globals that are not pinned go to
 * memory (the member's temps are dead), the pinned ones stay in their registers. Every
 * edge checks interrupt_request first, as a chained exit does (a loop must still take
 * interrupts and stop requests, and --trace-state sees every block boundary), leaving
 * through a stub that writes the pinned globals back.
 */
static void emit_region_edge(Cg *g, unsigned member)
{
    writeback(g, g->op_index, 0xffffu & ~g->pinned_regs, true);
    {
        if (!grow((void **)&g->back_exits, &g->cap_back, g->nback + 1, sizeof(*g->back_exits))) {
            g->fail = true;
            return;
        }
        x_alu_mi(&g->x, X_CMP, false, ENV, (int32_t)offsetof(VsCpu, interrupt_request), 0);
        g->back_exits[g->nback].jcc_disp = x_jcc_label(&g->x, X_CC_NE);
        g->back_exits[g->nback++].member = member;
    }
    const IrOp *next = g->op_index + 1 < g->f->nops ? &g->f->ops[g->op_index + 1] : NULL;
    if (next && next->opc == IR_OP_LABEL && next->aux == member)
        return; /* falls through into it */
    jump_to_label(g, -1, member);
}

static void emit_op(Cg *g, const IrOp *op)
{
    const IrFunc *f = g->f;
    IrOpcode opc = (IrOpcode)op->opc;
    unsigned i = g->op_index;
    switch (opc) {
    case IR_OP_NOP: return;
    case IR_OP_INSN_START:
        if (!grow((void **)&g->map, &g->cap_map, g->nmap + 1, sizeof(JitPcMap))) {
            g->fail = true;
            return;
        }
        g->map[g->nmap++] = (JitPcMap){ .host_off = (uint32_t)x_pos(&g->x), .pc = f->pcs[op->aux] };
        return;
    case IR_OP_MOV: {
        bool w = op->type == IR_I64;
        if (ir_is_const(f, op->a)) {
            uint64_t v = ir_const_value(f, op->a);
            int rd = def_reg(g, op->d, -1);
            x_mov_ri(&g->x, rd, w ? v : (uint32_t)v);
            return;
        }
        const IrOp *next = i + 1 < f->nops ? &f->ops[i + 1] : NULL;
        if (!w && next && next->opc == IR_OP_SEXT32 && next->type == IR_I64 && next->a == op->d &&
            f->vals[op->d].kind == IR_VK_TEMP && !g->back_branch &&
            g->last_use[f->vals[op->d].offset] <= i + 1) {
            /* t:i32 = mov x; y = sext32 t (RISC-V sext.w) with t dead after: one movsxd. */
            int ra = use_reg(g, op->a);
            int rd = def_reg(g, next->d, ra);
            x_movsx_rr(&g->x, 4, true, rd, ra);
            g->skip_op = i + 1;
            return;
        }
        int ra = use_reg(g, op->a);
        if (w && temp_dead_after(g, op->a) && loc_of(g, op->a) != loc_of(g, op->d)) {
            /* The temp's register becomes the destination's (unless it is pinned). */
            int rd = def_reg(g, op->d, ra);
            if (rd != ra)
                x_mov_rr(&g->x, true, rd, ra);
            return;
        }
        int rd = def_reg(g, op->d, ra);
        if (rd != ra || !w)
            x_mov_rr(&g->x, w, rd, ra);
        return;
    }
    case IR_OP_ADD:
    case IR_OP_SUB:
    case IR_OP_MUL:
    case IR_OP_MULSH:
    case IR_OP_MULUH:
    case IR_OP_MULSUH:
    case IR_OP_DIV:
    case IR_OP_DIVU:
    case IR_OP_REM:
    case IR_OP_REMU:
    case IR_OP_AND:
    case IR_OP_OR:
    case IR_OP_XOR:
    case IR_OP_ANDC:
    case IR_OP_ORC:
    case IR_OP_SHL:
    case IR_OP_SHR:
    case IR_OP_SAR:
    case IR_OP_ROTL:
    case IR_OP_ROTR:
    case IR_OP_SMIN:
    case IR_OP_SMAX:
    case IR_OP_UMIN:
    case IR_OP_UMAX: emit_binop(g, op); return;
    case IR_OP_NOT:
    case IR_OP_NEG:
    case IR_OP_SEXT8:
    case IR_OP_SEXT16:
    case IR_OP_SEXT32:
    case IR_OP_ZEXT8:
    case IR_OP_ZEXT16:
    case IR_OP_ZEXT32:
    case IR_OP_CLZ:
    case IR_OP_CTZ:
    case IR_OP_POPCNT:
    case IR_OP_BSWAP: emit_unop(g, op); return;
    case IR_OP_SETCOND: {
        XCond cc = emit_compare(g, (IrType)op->type, (IrCond)op->flags, op->a, op->b);
        x_setcc(&g->x, cc, X_RAX);
        int rd = def_reg(g, op->d, -1);
        x_movzx_rr(&g->x, 1, rd, X_RAX);
        return;
    }
    case IR_OP_SELECT: {
        int rc = use_reg(g, op->c);
        int rb = use_reg(g, op->b);
        int ra = use_reg(g, op->a);
        x_test_rr(&g->x, true, ra, ra);
        int rd = def_reg(g, op->d, -1);
        x_mov_rr(&g->x, true, rd, rc); /* mov keeps the flags */
        x_cmov(&g->x, X_CC_NE, true, rd, rb);
        return;
    }
    case IR_OP_LD: emit_load(g, op); return;
    case IR_OP_ST: emit_store(g, op); return;
    case IR_OP_ATOMIC_RMW:
    case IR_OP_CMPXCHG: emit_atomic(g, op); return;
    case IR_OP_FENCE:
        /* Load and store fences need nothing on x86 (TSO); generated code keeps program
         * order, which is what the interpreter's signal fence asks of the compiler. */
        if (op->aux == IR_FENCE_FULL)
            x_mfence(&g->x);
        return;
    case IR_OP_CALL: emit_call(g, op); return;
    case IR_OP_LABEL:
        writeback(g, i, 0xffffu & ~g->pinned_regs, false);
        drop_regs(g, 0xffffu & ~g->pinned_regs, false);
        pins_dirty(g);
        g->label_pos[op->aux] = x_pos(&g->x);
        if (op->aux < g->nmembers) {
            /* A member block starts: its temps, its instructions. */
            compute_last_use(g, i + 1);
            if (g->member_ninsns[op->aux])
                x_alu_mi(&g->x, X_ADD, true, ENV, (int32_t)offsetof(VsCpu, insn_count),
                         (int32_t)g->member_ninsns[op->aux]);
            /* The pc global holds the running block's pc, as after an exit to it. */
            uint64_t pc = g->member_pc[op->aux];
            if (x_fits_i32((int64_t)pc)) {
                x_store_imm(&g->x, 8, ENV, (int32_t)g->pc_off, (int32_t)pc);
            } else {
                x_mov_ri(&g->x, X_RAX, pc);
                x_store(&g->x, 8, ENV, X_NOREG, 1, (int32_t)g->pc_off, X_RAX);
            }
        }
        return;
    case IR_OP_BR:
        if (op->aux < g->nmembers) {
            emit_region_edge(g, op->aux);
            return;
        }
        writeback(g, i, 0xffffu & ~g->pinned_regs, false);
        jump_to_label(g, -1, op->aux);
        return;
    case IR_OP_BRCOND: {
        writeback(g, i, 0xffffu & ~g->pinned_regs, false);
        XCond cc = emit_compare(g, (IrType)op->type, (IrCond)op->flags, op->a, op->b);
        jump_to_label(g, (int)cc, op->aux);
        return;
    }
    case IR_OP_GOTO_BLOCK: {
        writeback(g, i, 0xffffu, true);
        if (g->block && g->nlinks < g->cap_links_ops &&
            ((f->pcs[op->aux] ^ g->block->vpc) & GUEST_PAGE_MASK) == 0) {
            emit_direct_exit(g, f->pcs[op->aux]);
            return;
        }
        x_mov_ri(&g->x, X_RAX, f->pcs[op->aux]);
        x_store(&g->x, 8, ENV, X_NOREG, 1, (int32_t)g->pc_off, X_RAX);
        emit_chain_exit(g);
        return;
    }
    case IR_OP_GOTO_PTR: {
        writeback(g, i, 0xffffu, true);
        if (ir_is_const(f, op->a)) {
            x_mov_ri(&g->x, X_RAX, ir_const_value(f, op->a));
        } else {
            int ra = use_reg(g, op->a);
            x_mov_rr(&g->x, true, X_RAX, ra);
        }
        x_store(&g->x, 8, ENV, X_NOREG, 1, (int32_t)g->pc_off, X_RAX);
        emit_chain_exit(g);
        return;
    }
    case IR_OP_EXIT:
        writeback(g, i, 0xffffu, true);
        emit_exit(g, INTERP_RET_EXIT_BASE + (int)op->aux);
        return;
    default: g->fail = true; return;
    }
}

static const int saved_regs[] = { X_RBP, X_RBX, X_R12, X_R13, X_R14, X_R15 };
#define NSAVED 6

static void emit_slow_path(Cg *g, const SlowPath *s)
{
    XBuf *x = &g->x;
    x_patch_rel32(x, s->jcc_disp, x_pos(x));
    int pushed[NHOST], npushed = 0;
    for (int r = 0; r < NHOST; r++)
        if (s->save_mask & (1u << r))
            pushed[npushed++] = r;
    if (npushed & 1)
        x_alu_ri(x, X_SUB, true, X_RSP, 8);
    for (int k = 0; k < npushed; k++)
        x_push(x, pushed[k]);
    for (unsigned k = 0; k < s->ndirty; k++)
        x_store(x, 8, ENV, X_NOREG, 1, s->dirty_home[k], s->dirty_reg[k]);
    set_cur_op(g, s->site, X_RCX);
    switch (s->kind) {
    case SLOW_LOAD:
        x_mov_rr(x, true, X_RSI, X_RAX);
        x_mov_rr(x, true, X_RDI, ENV);
        x_mov_ri(x, X_RDX, s->flags);
        call_abs(g, (const void *)mmu_load_slow);
        /* Narrow the slow path's result to the access as the interpreter does (an MMIO
         * device may return more bits than the access size), then extend it. */
        switch (IR_MEM_LOG2SIZE(s->flags)) {
        case 0:
        case 1:
            if (s->sext)
                x_movsx_rr(x, 1u << IR_MEM_LOG2SIZE(s->flags), s->w64, X_RAX, X_RAX);
            else
                x_movzx_rr(x, 1u << IR_MEM_LOG2SIZE(s->flags), X_RAX, X_RAX);
            break;
        case 2:
            if (s->sext && s->w64)
                x_movsx_rr(x, 4, true, X_RAX, X_RAX);
            else
                x_mov_rr(x, false, X_RAX, X_RAX);
            break;
        default: break;
        }
        break;
    case SLOW_STORE: {
        /* The value truncated to the access size, as the interpreter passes it. */
        unsigned size = 1u << IR_MEM_LOG2SIZE(s->flags);
        if (s->val_reg < 0)
            x_mov_ri(x, X_RDX, size == 8 ? s->val_imm : s->val_imm & ((1ull << (8 * size)) - 1));
        else if (size == 8)
            x_mov_rr(x, true, X_RDX, s->val_reg);
        else if (size == 4)
            x_mov_rr(x, false, X_RDX, s->val_reg);
        else
            x_movzx_rr(x, size, X_RDX, s->val_reg);
        x_mov_rr(x, true, X_RSI, X_RAX);
        x_mov_rr(x, true, X_RDI, ENV);
        x_mov_ri(x, X_RCX, s->flags);
        call_abs(g, (const void *)mmu_store_slow);
        break;
    }
    case SLOW_ATOMIC:
        x_mov_rr(x, true, X_RSI, X_RAX);
        x_mov_rr(x, true, X_RDI, ENV);
        x_mov_ri(x, X_RDX, s->flags);
        call_abs(g, (const void *)mmu_atomic_host);
        break;
    }
    for (int k = npushed - 1; k >= 0; k--)
        x_pop(x, pushed[k]);
    if (npushed & 1)
        x_alu_ri(x, X_ADD, true, X_RSP, 8);
    if (s->kind == SLOW_LOAD)
        x_mov_rr(x, true, s->rd, X_RAX);
    x_jmp_to(x, s->resume);
}

/* Generate the whole block into g->x. */
static void codegen(Cg *g)
{
    const IrFunc *f = g->f;
    XBuf *x = &g->x;
    /* Prologue: callee-saved registers, 16-byte stack alignment, rbp = cpu. */
    for (int k = 0; k < NSAVED; k++)
        x_push(x, saved_regs[k]);
    x_alu_ri(x, X_SUB, true, X_RSP, 8);
    x_mov_rr(x, true, ENV, X_RDI);
    if (x_pos(x) != JIT_PROLOGUE_SIZE) /* chained blocks enter right after it */
        g->fail = true;
    /* The entry of chained blocks: with --stats count the block's runs; count its
     * instructions (minstret; a region counts each member at its label); load the pinned
     * globals. */
    if (g->profile && g->block) {
        x_mov_ri(x, X_RAX, (uint64_t)(uintptr_t)g->block);
        x_alu_mi(x, X_ADD, true, X_RAX, (int32_t)offsetof(VsBlock, exec_count), 1);
        x_alu_mi(x, X_ADD, true, ENV, (int32_t)offsetof(VsCpu, stats.blocks_executed), 1);
    }
    if (!g->nmembers && g->block && g->block->ninsns)
        x_alu_mi(x, X_ADD, true, ENV, (int32_t)offsetof(VsCpu, insn_count),
                 (int32_t)g->block->ninsns);
    load_pins(g);
    for (unsigned i = 0; i < f->nops && !g->fail && !x->overflow; i++) {
        if (g->skip_op && i == g->skip_op) {
            g->skip_op = 0;
            continue;
        }
        g->op_index = i;
        emit_op(g, &f->ops[i]);
        end_op(g);
    }
    size_t epilogue = x_pos(x);
    x_alu_ri(x, X_ADD, true, X_RSP, 8);
    for (int k = NSAVED - 1; k >= 0; k--)
        x_pop(x, saved_regs[k]);
    x_ret(x);
    for (unsigned k = 0; k < g->nexits; k++)
        x_patch_rel32(x, g->exit_jumps[k], epilogue);
    for (unsigned k = 0; k < g->nlinks; k++)
        emit_link_stub(g, &g->links[k], epilogue);
    for (unsigned k = 0; k < g->nback; k++) {
        /* An edge saw a request: write the pinned globals back, leave at the member. */
        x_patch_rel32(x, g->back_exits[k].jcc_disp, x_pos(x));
        for (unsigned p = 0; p < g->npins; p++)
            x_store(x, 8, ENV, X_NOREG, 1, home_of_loc(g, g->pin_loc[p]), g->pin_r[p]);
        x_mov_ri(x, X_RAX, g->member_pc[g->back_exits[k].member]);
        x_store(x, 8, ENV, X_NOREG, 1, (int32_t)g->pc_off, X_RAX);
        x_mov_ri(x, X_RAX, INTERP_RET_LOOKUP);
        x_jmp_to(x, epilogue);
    }
    for (unsigned k = 0; k < g->nfixups; k++) {
        size_t pos = g->label_pos[g->fixups[k].label];
        if (pos == SIZE_MAX)
            g->fail = true;
        else
            x_patch_rel32(x, g->fixups[k].disp, pos);
    }
    for (unsigned k = 0; k < g->nslow; k++)
        emit_slow_path(g, &g->slow[k]);
}

/* The blocks of a region (compile_region). */
typedef struct Region {
    unsigned n;
    uint64_t pc[REGION_MAX_BLOCKS];
    uint32_t ninsns[REGION_MAX_BLOCKS];
} Region;

/*
 * Pin the globals a region uses most (not the pc) to rbx, r12-r15, r10, r11; a use inside a
 * loop (a member on a cycle of the region's edges) counts 16 times.
 */
static void choose_pins(Cg *g)
{
    static const int pin_regs[NPIN_MAX] = { X_RBX, X_R12, X_R13, X_R14, X_R15, X_R10, X_R11 };
    const IrFunc *f = g->f;
    unsigned *uses = calloc(g->nglobals ? g->nglobals : 1, sizeof(unsigned));
    if (!uses)
        return;
    /* reach[k]: members reachable from member k by region edges (bit mask). */
    uint32_t reach[REGION_MAX_BLOCKS] = { 0 };
    int cur = -1;
    for (unsigned i = 0; i < f->nops; i++) {
        const IrOp *op = &f->ops[i];
        if (op->opc == IR_OP_LABEL && op->aux < g->nmembers)
            cur = (int)op->aux;
        else if (op->opc == IR_OP_BR && op->aux < g->nmembers && cur >= 0)
            reach[cur] |= 1u << op->aux;
    }
    for (unsigned it = 0; it < g->nmembers; it++)
        for (unsigned k = 0; k < g->nmembers; k++)
            for (unsigned j = 0; j < g->nmembers; j++)
                if (reach[k] & (1u << j))
                    reach[k] |= reach[j];
    unsigned weight = 1, cost = 0, cost_cs = 0;
    for (unsigned i = 0; i < f->nops; i++) {
        const IrOp *op = &f->ops[i];
        if (op->opc == IR_OP_LABEL && op->aux < g->nmembers)
            weight = (reach[op->aux] & (1u << op->aux)) ? 16 : 1;
        /* A helper that may change globals costs every pinned global a store and a load. */
        if (op->opc == IR_OP_CALL && helper_clobbers_globals(f->calls[op->aux].helper))
            cost += 2 * weight;
        /* Any call costs a global pinned to a caller-saved register a store and a load. */
        if (op->opc == IR_OP_CALL)
            cost_cs += 2 * weight;
        IrVal v[4 + IR_MAX_HELPER_ARGS];
        unsigned n = 0;
        v[n++] = op->d;
        v[n++] = op->a;
        v[n++] = op->b;
        v[n++] = op->c;
        if (op->opc == IR_OP_CALL)
            for (unsigned k = 0; k < IR_MAX_HELPER_ARGS; k++)
                v[n++] = f->calls[op->aux].args[k];
        for (unsigned k = 0; k < n; k++) {
            bool used = k == 0 ? ir_op_has_dst[op->opc] : k <= 3 ? k <= ir_op_nsrc[op->opc] : true;
            if (used && v[k] != IR_NONE && v[k] < g->nglobals)
                uses[v[k]] += weight;
        }
    }
    uses[f->globals->pc_global] = 0;
    for (unsigned k = 0; k < NPIN_MAX; k++) {
        /* A global used once gains nothing; one used less than the helpers cost loses. */
        unsigned min_uses = cost + (k >= NPIN_CALLEE ? cost_cs : 0);
        if (min_uses < 1)
            min_uses = 1;
        unsigned best = 0, best_uses = min_uses;
        for (unsigned gl = 0; gl < g->nglobals; gl++)
            if (uses[gl] > best_uses) {
                best = gl;
                best_uses = uses[gl];
            }
        if (best_uses <= min_uses)
            break;
        uses[best] = 0;
        g->pin_loc[g->npins] = (int)best;
        g->pin_r[g->npins] = pin_regs[k];
        g->pinned_regs |= 1u << pin_regs[k];
        g->npins++;
    }
    free(uses);
}

static bool cg_setup(Cg *g, const IrFunc *f, VsBlock *b, bool profile, const Region *rg)
{
    memset(g, 0, sizeof(*g));
    g->f = f;
    g->block = b;
    g->profile = profile;
    g->fix_reg = -1;
    if (rg) {
        g->nmembers = rg->n;
        g->member_pc = rg->pc;
        g->member_ninsns = rg->ninsns;
    }
    unsigned ngoto = 0;
    for (unsigned i = 0; i < f->nops; i++)
        ngoto += f->ops[i].opc == IR_OP_GOTO_BLOCK;
    if (ngoto) {
        g->links = calloc(ngoto, sizeof(JitLink));
        if (!g->links)
            return false;
        g->cap_links_ops = ngoto;
    }
    g->nglobals = f->globals->count;
    g->pc_off = f->globals->defs[f->globals->pc_global].offset;
    g->nlocs = g->nglobals + f->ntemps;
    g->loc_reg = malloc((g->nlocs ? g->nlocs : 1) * sizeof(int));
    g->last_use = calloc(f->ntemps ? f->ntemps : 1, sizeof(uint32_t));
    g->label_pos = malloc((f->nlabels ? f->nlabels : 1) * sizeof(size_t));
    if (!g->loc_reg || !g->last_use || !g->label_pos)
        return false;
    for (unsigned i = 0; i < g->nlocs; i++)
        g->loc_reg[i] = -1;
    for (int r = 0; r < NHOST; r++)
        g->reg_loc[r] = NO_LOC;
    for (unsigned i = 0; i < f->nlabels; i++)
        g->label_pos[i] = SIZE_MAX;
    /* Whether any branch goes backwards; then the last reads of temp slots. */
    bool *seen = calloc(f->nlabels ? f->nlabels : 1, sizeof(bool));
    if (!seen)
        return false;
    for (unsigned i = 0; i < f->nops; i++) {
        const IrOp *op = &f->ops[i];
        if (op->opc == IR_OP_LABEL && op->aux < f->nlabels)
            seen[op->aux] = true;
        /* (A region's edges between member blocks are not loops inside a block.) */
        if ((op->opc == IR_OP_BR || op->opc == IR_OP_BRCOND) && op->aux < f->nlabels &&
            seen[op->aux] && op->aux >= g->nmembers)
            g->back_branch = true;
    }
    compute_last_use(g, 0); /* a region's are computed again at each member's label */
    free(seen);
    if (g->nmembers)
        choose_pins(g);
    return true;
}

static void cg_free(Cg *g)
{
    free(g->links);
    free(g->back_exits);
    free(g->loc_reg);
    free(g->last_use);
    free(g->label_pos);
    free(g->fixups);
    free(g->slow);
    free(g->map);
    free(g->exit_jumps);
}

/* ---- the JIT state ---- */

JitState *jit_create(size_t cache_bytes, bool profile)
{
    pthread_once(&host_once, host_probe);
    if (!jit_host_supported())
        return NULL;
    JitState *js = calloc(1, sizeof(*js));
    if (!js)
        return NULL;
    if (!jit_buf_init(&js->buf, cache_bytes ? cache_bytes : CACHE_DEFAULT)) {
        free(js);
        return NULL;
    }
    pthread_mutex_init(&js->lock, NULL);
    js->profile = profile;
    js->stats.cache_size = js->buf.size;
    /* Profiling aid: the symbol file perf reads for JIT code (one line per compiled block:
     * start, size, name), so `perf report` names guest blocks instead of raw addresses.
     * Code reused after a flush gets a second line; perf takes the latest. */
    const char *pm = getenv("VESSEL_PERF_MAP");
    if (pm && *pm && strcmp(pm, "0") != 0) {
        char path[64];
        snprintf(path, sizeof(path), "/tmp/perf-%ld.map", (long)getpid());
        js->perf_map = fopen(path, "w");
    }
    return js;
}

void jit_destroy(JitState *js)
{
    if (!js)
        return;
    jit_buf_destroy(&js->buf);
    pthread_mutex_destroy(&js->lock);
    if (js->perf_map)
        fclose(js->perf_map);
    free(js);
}

bool jit_wants_flush(JitState *js)
{
    return js && atomic_load_explicit(&js->want_flush, memory_order_relaxed);
}

void jit_flush(JitState *js)
{
    if (!js)
        return;
    pthread_mutex_lock(&js->lock);
    jit_buf_reset(&js->buf);
    atomic_store(&js->want_flush, false);
    js->stats.flushes++;
    pthread_mutex_unlock(&js->lock);
}

void jit_get_stats(JitState *js, JitStats *out)
{
    pthread_mutex_lock(&js->lock);
    *out = js->stats;
    pthread_mutex_unlock(&js->lock);
}

/* Room asked for a block: generous, the unused tail is given back. */
static size_t block_budget(const IrFunc *f)
{
    return 4096 + (size_t)f->nops * 160;
}

static bool compile(JitState *js, VsBlock *b, const IrFunc *f, const Region *rg)
{
    if (__atomic_load_n(&b->jit_code, __ATOMIC_ACQUIRE) || b->jit_failed)
        return b->jit_code != NULL;
    uint64_t t0 = vs_clock_ns();
    Cg g;
    bool ok = cg_setup(&g, f, b, js->profile, rg);
    if (!ok || f->overflow) {
        cg_free(&g);
        b->jit_failed = true;
        return false;
    }
    pthread_mutex_lock(&js->lock);
    if (b->jit_code) {
        pthread_mutex_unlock(&js->lock);
        cg_free(&g);
        return true;
    }
    size_t budget = block_budget(f);
    size_t avail = jit_buf_avail(&js->buf);
    if (avail < 64 + 1024) {
        atomic_store(&js->want_flush, true);
        pthread_mutex_unlock(&js->lock);
        cg_free(&g);
        return false;
    }
    if (budget > avail - 64)
        budget = avail - 64;
    uint8_t *mem = jit_buf_alloc(&js->buf, budget, 64);
    if (!mem) {
        atomic_store(&js->want_flush, true);
        pthread_mutex_unlock(&js->lock);
        cg_free(&g);
        return false;
    }
    x_init(&g.x, mem, budget);
    codegen(&g);
    size_t code_size = x_pos(&g.x);
    size_t map_off = (code_size + 7) & ~(size_t)7;
    size_t total = map_off + (size_t)g.nmap * sizeof(JitPcMap);
    if (g.fail || g.x.overflow || total > budget) {
        bool full = !g.fail; /* out of room: a flush gives the block another chance */
        jit_buf_shrink_last(&js->buf, mem, budget, 0);
        if (full && budget < block_budget(f))
            atomic_store(&js->want_flush, true);
        else
            b->jit_failed = true;
        js->stats.failed += b->jit_failed;
        pthread_mutex_unlock(&js->lock);
        cg_free(&g);
        return false;
    }
    memcpy(mem + map_off, g.map, (size_t)g.nmap * sizeof(JitPcMap));
    jit_buf_shrink_last(&js->buf, mem, budget, total);
    b->jit_size = (uint32_t)code_size;
    b->jit_map = jit_buf_rx(&js->buf, mem + map_off);
    b->jit_nmap = g.nmap;
    if (g.nlinks) { /* the stubs point at these links: the block owns them from now on */
        b->jit_links = g.links;
        b->jit_nlinks = g.nlinks;
        g.links = NULL;
    }
    __atomic_store_n(&b->jit_code, jit_buf_rx(&js->buf, mem), __ATOMIC_RELEASE);
    if (js->perf_map)
        fprintf(js->perf_map, "%lx %zx vessel:%llx:%x%s\n", (unsigned long)(uintptr_t)b->jit_code,
                code_size, (unsigned long long)b->vpc, (unsigned)b->mode, rg ? ":region" : "");
    js->stats.blocks++;
    js->stats.code_bytes += total;
    js->stats.compile_ns += vs_clock_ns() - t0;
    pthread_mutex_unlock(&js->lock);
    cg_free(&g);
    return true;
}

/*
 * A block with a direct exit to its own start (a loop in one block: a counted loop, a
 * search, a copy) is compiled as a region of that one block: the back edge becomes a jump
 * inside the function, with the region's pinned registers and its interrupt check, instead
 * of a chained exit that stores and reloads every global. Blocks crossing a page are left
 * alone (as compile_hot does).
 */
static bool compile_self_loop(JitState *js, VsBlock *b, const IrFunc *f)
{
    bool loop = false;
    for (unsigned i = 0; i < f->nops && !loop; i++)
        loop = f->ops[i].opc == IR_OP_GOTO_BLOCK && f->pcs[f->ops[i].aux] == b->vpc;
    if (!loop || b->ppc2 != UINT64_MAX)
        return false;
    int32_t *goto_label = malloc((f->nops ? f->nops : 1) * sizeof(int32_t));
    if (!goto_label)
        return false;
    for (unsigned i = 0; i < f->nops; i++)
        goto_label[i] =
            f->ops[i].opc == IR_OP_GOTO_BLOCK && f->pcs[f->ops[i].aux] == b->vpc ? 0 : -1;
    IrFunc rf;
    ir_init(&rf, f->globals);
    rf.nlabels = 1;
    ir_emit(&rf, IR_OP_LABEL, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, 0);
    bool ok = ir_append(&rf, f, goto_label) && !rf.overflow;
    free(goto_label);
    if (ok) {
        Region rg = { .n = 1, .pc = { b->vpc }, .ninsns = { b->ninsns } };
        ok = compile(js, b, &rf, &rg);
        if (ok) {
            js->stats.regions++;
            js->stats.region_blocks++;
        } else if (b->jit_failed && !jit_wants_flush(js)) {
            b->jit_failed = false; /* the block alone, then */
        }
    }
    ir_free(&rf);
    return ok;
}

bool jit_compile(JitState *js, VsBlock *b, const IrFunc *f)
{
    if (compile_self_loop(js, b, f))
        return true;
    return compile(js, b, f, NULL);
}

bool jit_compile_region(JitState *js, VsBlock *b, const IrFunc *f, unsigned n, const uint64_t *pcs,
                        const uint32_t *ninsns)
{
    if (n == 0 || n > REGION_MAX_BLOCKS)
        return false;
    Region rg = { .n = n };
    memcpy(rg.pc, pcs, n * sizeof(uint64_t));
    memcpy(rg.ninsns, ninsns, n * sizeof(uint32_t));
    return compile(js, b, f, &rg);
}

bool jit_block_pc(const VsBlock *b, const void *host_pc, uint64_t *pc)
{
    const uint8_t *code = __atomic_load_n(&b->jit_code, __ATOMIC_ACQUIRE);
    const uint8_t *p = host_pc;
    if (!code || p < code || p >= code + b->jit_size)
        return false;
    uint32_t off = (uint32_t)(p - code);
    const JitPcMap *m = b->jit_map;
    unsigned lo = 0, hi = b->jit_nmap;
    if (hi == 0) {
        *pc = b->vpc;
        return true;
    }
    while (hi - lo > 1) {
        unsigned mid = (lo + hi) / 2;
        if (m[mid].host_off <= off)
            lo = mid;
        else
            hi = mid;
    }
    *pc = m[lo].pc;
    return true;
}

/* ---- direct jumps between blocks ---- */

static void patch_jump(JitState *js, const JitLink *l, const uint8_t *target)
{
    const uint8_t *disp = (const uint8_t *)l->src->jit_code + l->jmp_off;
    uint32_t rel = (uint32_t)(int32_t)(target - (disp + 4));
    /* An aligned 4-byte store: a vCPU running this code sees the old or the new jump. */
    __atomic_store_n((uint32_t *)jit_buf_rw(&js->buf, disp), rel, __ATOMIC_RELEASE);
}

/* Link l (an exit of a compiled block that left through its stub) to dst, the block
 * jit_run found next, when dst is the exit's target in the same mode and page. */
static void jit_link(JitState *js, JitLink *l, VsBlock *dst)
{
    VsBlock *src = l->src;
    if (l->pc != dst->vpc || dst->mode != src->mode ||
        ((dst->ppc ^ src->ppc) & GUEST_PAGE_MASK) != 0)
        return;
    const uint8_t *target = (const uint8_t *)dst->jit_code + JIT_PROLOGUE_SIZE;
    const uint8_t *disp = (const uint8_t *)src->jit_code + l->jmp_off;
    if (target - (disp + 4) != (int32_t)(target - (disp + 4)))
        return; /* a code cache above 2 GiB */
    pthread_mutex_lock(&js->lock);
    /* Checked under the lock: invalidation clears `valid` first and then unlinks under it. */
    if (!l->dst && atomic_load(&src->valid) && atomic_load(&dst->valid)) {
        patch_jump(js, l, target);
        l->dst = dst;
        l->next_in = dst->jit_in;
        dst->jit_in = l;
        js->stats.links++;
    }
    pthread_mutex_unlock(&js->lock);
}

static void unlink_one(JitState *js, JitLink *l)
{
    patch_jump(js, l, (const uint8_t *)l->src->jit_code + l->stub_off);
    l->dst = NULL;
    l->next_in = NULL;
    js->stats.unlinks++;
}

/* blocks_invalidate_page's hook: no direct jump may lead into b any more, and b's own
 * exits go back to their stubs (so b can be freed without leaving a link to it). */
void jit_block_invalidated(JitState *js, VsBlock *b)
{
    if (!b->jit_code)
        return;
    pthread_mutex_lock(&js->lock);
    for (JitLink *l = b->jit_in, *n; l; l = n) {
        n = l->next_in;
        unlink_one(js, l);
    }
    b->jit_in = NULL;
    for (unsigned k = 0; k < b->jit_nlinks; k++) {
        JitLink *l = &b->jit_links[k];
        if (!l->dst)
            continue;
        JitLink **pp = &l->dst->jit_in;
        while (*pp && *pp != l)
            pp = &(*pp)->next_in;
        if (*pp)
            *pp = l->next_in;
        unlink_one(js, l);
    }
    pthread_mutex_unlock(&js->lock);
}

/* ---- execution ---- */

typedef int (*JitEntry)(VsCpu *cpu);

int jit_exec_block(VsCpu *cpu, VsBlock *b)
{
    JitEntry fn = (JitEntry)__atomic_load_n(&b->jit_code, __ATOMIC_ACQUIRE);
    cpu->cur_block = b;
    cpu->cur_op = NULL;
    return fn(cpu);
}

/*
 * A hot block is compiled as a region: the block and the blocks its direct exits lead to
 * in the same guest page (breadth first, at most REGION_MAX_BLOCKS), translated again
 * (the IR is not kept) and compiled as one function in which goto_block between members
 * are jumps (back edges check for requests) and the most used guest registers stay in
 * host registers throughout (choose_pins). Members lie in the head's physical page, and the
 * head is marked covers_page, so any store to that page invalidates the region. Members whose block
 * would cross into the next page are left out (translating them could fault here).
 */
static void compile_region(VsCpu *cpu, VsBlock *h)
{
    JitState *js = cpu->machine->jit;
    Region rg = { .n = 1, .pc = { h->vpc } };
    IrFunc fs[REGION_MAX_BLOCKS];
    bool ok[REGION_MAX_BLOCKS] = { false };
    unsigned total_ops = 0;
    unsigned code_idx = cpu->ops->code_mmu_idx(h->mode);
    /* The region's code will hold other blocks of the page: from now on a store anywhere
     * in the page invalidates the head (blocks_invalidate_write). Set before the members'
     * bytes are read: a store racing with this either is seen by the translation or sees
     * the mark (both sides order their write before their read with a full fence). */
    atomic_store(&h->covers_page, true);
    atomic_thread_fence(memory_order_seq_cst);
    /* Translating fetches from the guest page again, which may fault if the guest changed
     * the mapping: that fault is reported at the block's first insn (the pc global, which
     * the previous exit set), not inside the previous block. */
    cpu->cur_block = NULL;
    cpu->cur_op = NULL;
    for (unsigned k = 0; k < rg.n; k++) {
        IrFunc *f = &fs[k];
        ir_init(f, cpu->ops->globals);
        unsigned ninsns = 0;
        uint64_t ppc2 = UINT64_MAX;
        if (k > 0) {
            uint8_t *host;
            uint64_t ppc = mmu_translate_code(cpu, rg.pc[k], code_idx, &host);
            if ((ppc ^ h->ppc) & GUEST_PAGE_MASK)
                continue;
        }
        unsigned size = cpu->ops->translate(cpu, f, rg.pc[k], h->mode, &ninsns, &ppc2);
        if (ppc2 != UINT64_MAX || f->overflow ||
            (k == 0 && (size != h->size || ninsns != h->ninsns)))
            continue;
        ir_optimize(f);
        ok[k] = true;
        rg.ninsns[k] = ninsns;
        total_ops += f->nops;
        for (unsigned i = 0; i < f->nops; i++) {
            if (f->ops[i].opc != IR_OP_GOTO_BLOCK)
                continue;
            uint64_t pc = f->pcs[f->ops[i].aux];
            bool known = false;
            for (unsigned j = 0; j < rg.n; j++)
                known |= rg.pc[j] == pc;
            if (!known && rg.n < REGION_MAX_BLOCKS && total_ops < REGION_MAX_OPS &&
                ((pc ^ h->vpc) & GUEST_PAGE_MASK) == 0 &&
                (pc & (GUEST_PAGE_SIZE - 1)) < GUEST_PAGE_SIZE - 2)
                rg.pc[rg.n++] = pc;
        }
    }
    if (!ok[0]) {
        h->jit_failed = true;
    } else {
        /* The members that translated, as labels 0..n-1 in that order. */
        int label_of[REGION_MAX_BLOCKS];
        Region used = { 0 };
        for (unsigned k = 0; k < rg.n; k++) {
            label_of[k] = ok[k] ? (int)used.n : -1;
            if (ok[k]) {
                used.pc[used.n] = rg.pc[k];
                used.ninsns[used.n++] = rg.ninsns[k];
            }
        }
        IrFunc *out = &cpu->xlate;
        ir_reset(out);
        out->nlabels = used.n;
        bool edges = false, built = true;
        int32_t *goto_label = NULL;
        for (unsigned k = 0; k < rg.n && built; k++) {
            if (!ok[k])
                continue;
            IrFunc *f = &fs[k];
            free(goto_label);
            goto_label = malloc((f->nops ? f->nops : 1) * sizeof(int32_t));
            if (!goto_label) {
                built = false;
                break;
            }
            for (unsigned i = 0; i < f->nops; i++) {
                goto_label[i] = -1;
                if (f->ops[i].opc != IR_OP_GOTO_BLOCK)
                    continue;
                for (unsigned j = 0; j < rg.n; j++)
                    if (ok[j] && rg.pc[j] == f->pcs[f->ops[i].aux])
                        goto_label[i] = label_of[j];
                edges |= goto_label[i] >= 0;
            }
            ir_emit(out, IR_OP_LABEL, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE,
                    (uint32_t)label_of[k]);
            built = ir_append(out, f, goto_label);
        }
        free(goto_label);
        bool compiled = false;
        if (built && edges) {
            compiled = jit_compile_region(js, h, out, used.n, used.pc, used.ninsns);
            if (compiled) {
                js->stats.regions++;
                js->stats.region_blocks += used.n;
            } else if (h->jit_failed && !jit_wants_flush(js)) {
                h->jit_failed = false; /* the block alone, then */
            }
        }
        if (!compiled && !h->jit_failed && !jit_wants_flush(js))
            compile(js, h, &fs[0], NULL);
    }
    for (unsigned k = 0; k < rg.n; k++)
        ir_free(&fs[k]);
}

/* A block became hot: compile it (with what follows it in its page). */
static void compile_hot(VsCpu *cpu, VsBlock *b)
{
    if (b->ppc2 != UINT64_MAX) {
        /* A page-crossing insn: translating again would fetch from the second page,
         * which may fault here, outside the block's execution. */
        b->jit_failed = true;
        return;
    }
    compile_region(cpu, b);
}

/*
 * Generated code computes IR_HELPER_HOST_FP operations with plain SSE instructions, which
 * need the IEEE default MXCSR control bits (RNE, all exceptions masked, DAZ/FTZ off). A
 * thread's first jit_run sets them if it started otherwise (e.g. FTZ/DAZ inherited from
 * -ffast-math startup code); afterwards nothing on a vCPU thread changes them (the FP
 * helpers restore the MXCSR they found), so the check is done once per thread.
 */
static __thread bool jit_mxcsr_ok __attribute__((tls_model("initial-exec")));

static void jit_default_mxcsr(void)
{
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    if ((m & 0xffc0u) != 0x1f80u) {
        m = 0x1f80u | (m & 0x3fu);
        __asm__ volatile("ldmxcsr %0" : : "m"(m));
    }
    jit_mxcsr_ok = true;
}

int jit_run(VsCpu *cpu, VsBlock *b)
{
    if (__builtin_expect(!jit_mxcsr_ok, 0))
        jit_default_mxcsr();
    JitState *js = cpu->machine->jit;
    const uint32_t pc_off = cpu->ops->globals->defs[cpu->ops->globals->pc_global].offset;
    for (;;) {
        int r;
        if (!__atomic_load_n(&b->jit_code, __ATOMIC_ACQUIRE) && !b->jit_failed &&
            __atomic_load_n(&b->exec_count, __ATOMIC_RELAXED) >= cpu->jit_threshold &&
            !jit_wants_flush(js)) {
            compile_hot(cpu, b);
            if (jit_wants_flush(js))
                atomic_fetch_or(&cpu->interrupt_request, CPU_REQ_EXIT);
        }
        JitLink *l = cpu->jit_link;
        cpu->jit_link = NULL;
        if (__atomic_load_n(&b->jit_code, __ATOMIC_ACQUIRE)) {
            /* The block counts its own instructions (and runs, with --stats). */
            if (l)
                jit_link(js, l, b);
            r = jit_exec_block(cpu, b);
        } else {
            r = interp_exec(cpu, b);
        }
        if (r != INTERP_RET_LOOKUP)
            return r;
        /* Follow the exit through the jump cache, as the interpreter's chain does. */
        if (atomic_load_explicit(&cpu->interrupt_request, memory_order_relaxed))
            return INTERP_RET_REQUEST;
        uint64_t pc = *(uint64_t *)((uint8_t *)cpu + pc_off);
        const JmpCacheEntry *je = &cpu->jmp_cache[jmp_cache_hash(pc)];
        VsBlock *nb = je->block;
        if (!nb || je->vpc != pc || je->mode != cpu->mode ||
            !atomic_load_explicit(&nb->valid, memory_order_relaxed)) {
            cpu->stats.jmp_cache_misses++;
            return INTERP_RET_LOOKUP;
        }
        b = nb;
    }
}
