/* SPDX-License-Identifier: MIT */
/*
 * The JIT against the interpreter (the reference semantics): random IR blocks covering
 * every op, type, condition, memory size/sign/alignment, atomic op and helper kind, with
 * globals, temps and constants in every operand position, forward branches and counted
 * loops, run once interpreted and once compiled from the same state. The result code,
 * every global, the pc, guest RAM, the MMIO device's last write and, when the block
 * faults, the fault address and the guest pc of the faulting insn must be identical.
 * Each block is tested as built (unoptimised: constant-constant operands) and after
 * ir_optimize. RISC-V's FP add/sub/mul/div helpers (IR_HELPER_HOST_FP, which the JIT
 * computes inline in the common case) run on inputs, rounding modes and accrued flags that
 * hit and miss that fast path; results and flags must match the helper's bit for bit.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/riscv64/rv-cpu.h"
#include "arch/riscv64/rv-fpu.h"
#include "core/blocks.h"
#include "core/cpu.h"
#include "core/machine.h"
#include "ir/interp.h"
#include "ir/ir.h"
#include "jit/jit.h"

#define NG       8
#define RAM_BASE 0x10000000ull
#define RAM_SIZE 0x4000ull
#define MMIO     0x20000000ull
#define BAD      0x30000000ull

typedef struct TestCpu {
    VsCpu common;
    uint64_t g[NG];
    uint64_t pc;
    uint64_t fflags; /* accrued FP flags of the host-FP helpers (not a global) */
} TestCpu;

static const IrGlobalDef defs[NG + 1] = {
    { "g0", offsetof(TestCpu, g[0]), IR_I64 }, { "g1", offsetof(TestCpu, g[1]), IR_I64 },
    { "g2", offsetof(TestCpu, g[2]), IR_I64 }, { "g3", offsetof(TestCpu, g[3]), IR_I64 },
    { "g4", offsetof(TestCpu, g[4]), IR_I64 }, { "g5", offsetof(TestCpu, g[5]), IR_I64 },
    { "g6", offsetof(TestCpu, g[6]), IR_I64 }, { "w7", offsetof(TestCpu, g[7]), IR_I32 },
    { "pc", offsetof(TestCpu, pc), IR_I64 },
};
static const IrGlobals globals = { defs, NG + 1, NG };

static int fails;
static unsigned blocks_run, faults_seen;
#define CHECK(cond, ...)                                    \
    do {                                                    \
        if (!(cond)) {                                      \
            fails++;                                        \
            if (fails < 20) {                               \
                printf("FAIL %s:%d: ", __FILE__, __LINE__); \
                printf(__VA_ARGS__);                        \
                printf("\n");                               \
            }                                               \
        }                                                   \
    } while (0)

/* ---- machine fixture: RAM, an MMIO device, nothing mapped at BAD and above ---- */

static bool t_fill(VsCpu *cpu, uint64_t vaddr, int access, unsigned idx, uint64_t *paddr, int *prot,
                   uint64_t *ps, int *kind)
{
    (void)cpu, (void)access, (void)idx;
    if (vaddr >= BAD) {
        *kind = 0;
        return false;
    }
    *paddr = vaddr;
    *prot = MMU_PROT_R | MMU_PROT_W | MMU_PROT_X;
    *ps = GUEST_PAGE_SIZE;
    return true;
}

typedef struct Fault {
    bool hit;
    uint64_t addr, pc;
    int kind;
} Fault;
static Fault fault;

static uint64_t current_pc(VsCpu *cpu)
{
    uint64_t pc;
    if (jit_block_pc(cpu->cur_block, cpu->cur_op, &pc))
        return pc;
    return block_pc_of_op(cpu->cur_block, cpu->cur_op);
}

static __attribute__((noreturn)) void t_raise(VsCpu *cpu, uint64_t vaddr, int access, int kind)
{
    (void)access;
    fault = (Fault){ true, vaddr, current_pc(cpu), kind };
    siglongjmp(cpu->unwind, 1);
}

static const VsArchOps test_arch = {
    .name = "test",
    .cpu_size = sizeof(TestCpu),
    .globals = &globals,
    .mmu_modes = 1,
    .tlb_fill = t_fill,
    .raise_mmu_fault = t_raise,
};

static uint64_t mmio_last[3];
static uint64_t mmio_read(void *o, uint64_t off, unsigned size)
{
    (void)o;
    return 0xA0 + off * 3 + size;
}
static void mmio_write(void *o, uint64_t off, uint64_t v, unsigned size)
{
    (void)o;
    mmio_last[0] = off;
    mmio_last[1] = v;
    mmio_last[2] = size;
}
static const MmioOps mmio_ops = { mmio_read, mmio_write };

static VsMachine machine;
static TestCpu *cpu;
static VsCpu *cpus[1];
static uint8_t *ram;

/* ---- helpers of every kind ---- */

static uint64_t h_pure(uint64_t a, uint64_t b)
{
    return a * 31 + (b >> 3);
}
static uint64_t h_state(VsCpu *c, uint64_t a)
{
    TestCpu *t = (TestCpu *)c;
    t->g[1] = t->g[0] + a;
    return t->g[2] ^ a;
}
static uint64_t h_six(VsCpu *c, uint64_t a, uint64_t b, uint64_t d, uint64_t e, uint64_t f,
                      uint64_t g)
{
    (void)c;
    return a ^ (b << 1) ^ (d << 2) ^ (e << 3) ^ (f << 4) ^ (g << 5);
}
static uint64_t h_raise(VsCpu *c, uint64_t a)
{
    if ((a & 31) == 3)
        t_raise(c, a, 0, 9); /* a guest exception from a helper */
    ((TestCpu *)c)->g[3] += 1;
    return a + 1;
}
static const IrHelper hp_pure = { "pure", (void *)h_pure, 2, IR_HELPER_PURE };
static const IrHelper hp_state = {
    "state", (void *)h_state, 1, IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE
};
static const IrHelper hp_six = { "six", (void *)h_six, 6, IR_HELPER_PASS_CPU | IR_HELPER_PURE };
static const IrHelper hp_raise = { "raise", (void *)h_raise, 1,
                                   IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE |
                                       IR_HELPER_WRITES_STATE | IR_HELPER_MAY_RAISE };

/*
 * RISC-V's FP helpers (rv-fpu.c) on a RISC-V cpu that takes frm from g6 and fflags from
 * the test cpu; test descriptors like rv_hf_* but with those offsets in TestCpu. An invalid
 * dynamic rounding mode raises (a fault of kind 7 at the insn).
 */
static RvCpu rvc;
static unsigned fp_calls, fp_fast_calls;

/* Whether the helper call returning r took rv-fpu's fast path (RNE, NX accrued, boxed
 * singles, result normal and finite): the calls the JIT must have inlined. */
static bool fast_case(bool dbl, uint64_t a, uint64_t b, uint64_t rm, uint64_t frm, uint64_t fl,
                      uint64_t r)
{
    if ((rm == RV_RM_DYN ? frm : rm) != RV_RM_RNE || !(fl & RV_FFLAG_NX))
        return false;
    if (dbl) {
        uint64_t m = r & ~(1ull << 63);
        return m > (1ull << 52) && m < (0x7ffull << 52);
    }
    uint32_t m = (uint32_t)r & 0x7fffffffu;
    return (a >> 32) == 0xffffffffu && (b >> 32) == 0xffffffffu && m > (1u << 23) &&
           m < (0xffu << 23);
}

void rv_raise_exception(RvCpu *c, uint64_t cause, uint64_t tval)
{
    (void)c, (void)tval;
    fault = (Fault){ true, cause, current_pc(&cpu->common), 7 };
    siglongjmp(cpu->common.unwind, 1);
}

#define HOST_FP_FLAGS                                                                            \
    (IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE | IR_HELPER_MAY_RAISE | \
     IR_HELPER_KEEPS_GLOBALS | IR_HELPER_HOST_FP)
#define DEF_FPW(name, hop, d)                                               \
    static uint64_t w_##name(VsCpu *c, uint64_t a, uint64_t b, uint64_t rm) \
    {                                                                       \
        TestCpu *t = (TestCpu *)c;                                          \
        fp_calls++;                                                         \
        rvc.frm = t->g[6];                                                  \
        rvc.fflags = t->fflags;                                             \
        uint64_t r = rv_##name(&rvc.common, a, b, rm);                      \
        fp_fast_calls += fast_case(d, a, b, rm, t->g[6], t->fflags, r);     \
        t->fflags = rvc.fflags;                                             \
        return r;                                                           \
    }                                                                       \
    static const IrHostFpHelper hf_##name = {                               \
        .helper = { "rv_" #name, (void *)w_##name, 3, HOST_FP_FLAGS },      \
        .op = (hop),                                                        \
        .dbl = (d),                                                         \
        .rm_rne = RV_RM_RNE,                                                \
        .rm_dyn = RV_RM_DYN,                                                \
        .flags_off = offsetof(TestCpu, fflags),                             \
        .frm_off = offsetof(TestCpu, g[6]),                                 \
        .nx_mask = RV_FFLAG_NX,                                             \
    };
DEF_FPW(fadd_s, IR_HOSTFP_ADD, false)
DEF_FPW(fsub_s, IR_HOSTFP_SUB, false)
DEF_FPW(fmul_s, IR_HOSTFP_MUL, false)
DEF_FPW(fdiv_s, IR_HOSTFP_DIV, false)
DEF_FPW(fadd_d, IR_HOSTFP_ADD, true)
DEF_FPW(fsub_d, IR_HOSTFP_SUB, true)
DEF_FPW(fmul_d, IR_HOSTFP_MUL, true)
DEF_FPW(fdiv_d, IR_HOSTFP_DIV, true)
static const IrHostFpHelper *const host_fp[8] = { &hf_fadd_s, &hf_fsub_s, &hf_fmul_s, &hf_fdiv_s,
                                                  &hf_fadd_d, &hf_fsub_d, &hf_fmul_d, &hf_fdiv_d };
static const IrHostFpHelper *const rv_host_fp[8] = { &rv_hf_fadd_s, &rv_hf_fsub_s, &rv_hf_fmul_s,
                                                     &rv_hf_fdiv_s, &rv_hf_fadd_d, &rv_hf_fsub_d,
                                                     &rv_hf_fmul_d, &rv_hf_fdiv_d };

/* ---- random IR ---- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static unsigned rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static const uint64_t edge[] = {
    0,          1,           2,          31,     32,     63,         64,
    0x7f,       0x80,        0xff,       0x8000, 0xffff, 0x7fffffff, 0x80000000,
    0xffffffff, 0x100000000, 1ull << 63, ~0ull,  ~1ull,  ~0ull >> 1, 0x123456789abcdef0ull,
};

static uint64_t rand_value(void)
{
    switch (rn(3)) {
    case 0: return edge[rn(sizeof(edge) / sizeof(edge[0]))];
    case 1: return rnd() & 0xff;
    default: return rnd();
    }
}

typedef struct Gen {
    IrFunc *f;
    IrVal pool[512];
    unsigned npool;
    uint64_t pc;
} Gen;

static IrVal konst(Gen *g, IrType t)
{
    uint64_t v = rand_value();
    return ir_const(g->f, t, t == IR_I32 ? (uint32_t)v : v);
}

/* A source operand: a global, a defined temp or a constant. */
static IrVal src(Gen *g, IrType t)
{
    unsigned k = rn(10);
    if (k < 2)
        return konst(g, t);
    if (k < 5 || g->npool == 0)
        return ir_global(g->f, rn(NG));
    return g->pool[rn(g->npool)];
}

static void add_pool(Gen *g, IrVal v)
{
    if (g->npool < 512)
        g->pool[g->npool++] = v;
}

/* A destination: a new temp of type t (usually) or a global. */
static IrVal dst(Gen *g, IrType t)
{
    if (rn(4) == 0) {
        unsigned k = rn(NG);
        if (defs[k].type == IR_I64 || t == defs[k].type)
            return ir_global(g->f, k);
    }
    IrVal d = ir_temp(g->f, t);
    add_pool(g, d);
    return d;
}

/* An address: RAM (sometimes misaligned or crossing a page), MMIO, or unmapped. */
static IrVal address(Gen *g, unsigned size, bool aligned)
{
    uint64_t base;
    unsigned k = rn(80);
    if (k < 4)
        base = MMIO + 0x10;
    else if (k == 4)
        base = BAD;
    else
        base = RAM_BASE + (rn(2) ? 0 : 0x1000);
    if (rn(4))
        aligned = true;
    uint64_t mask = aligned ? (0xff8 & ~(uint64_t)(size - 1)) : 0xfff;
    if (base == MMIO)
        mask &= ~(uint64_t)(size - 1) & 0xff;
    IrVal t = ir_and(g->f, IR_I64, src(g, IR_I64), ir_const(g->f, IR_I64, mask));
    return ir_add(g->f, IR_I64, t, ir_const(g->f, IR_I64, base));
}

static const IrOpcode binops[] = {
    IR_OP_ADD,  IR_OP_SUB,  IR_OP_MUL,  IR_OP_MULSH, IR_OP_MULUH, IR_OP_MULSUH,
    IR_OP_DIV,  IR_OP_DIVU, IR_OP_REM,  IR_OP_REMU,  IR_OP_AND,   IR_OP_OR,
    IR_OP_XOR,  IR_OP_ANDC, IR_OP_ORC,  IR_OP_SHL,   IR_OP_SHR,   IR_OP_SAR,
    IR_OP_ROTL, IR_OP_ROTR, IR_OP_SMIN, IR_OP_SMAX,  IR_OP_UMIN,  IR_OP_UMAX,
};
static const IrOpcode unops[] = {
    IR_OP_NOT,    IR_OP_NEG,    IR_OP_SEXT8, IR_OP_SEXT16, IR_OP_SEXT32, IR_OP_ZEXT8,
    IR_OP_ZEXT16, IR_OP_ZEXT32, IR_OP_CLZ,   IR_OP_CTZ,    IR_OP_POPCNT, IR_OP_BSWAP,
};
#define NBIN (sizeof(binops) / sizeof(binops[0]))
#define NUN  (sizeof(unops) / sizeof(unops[0]))

static void gen_op(Gen *g, unsigned kind)
{
    IrFunc *f = g->f;
    IrType t = rn(3) ? IR_I64 : IR_I32;
    switch (kind) {
    case 0:
    case 1:
    case 2: {
        IrOpcode opc = binops[rn(NBIN)];
        IrVal a = src(g, t), b = src(g, t);
        ir_emit(f, opc, t, 0, dst(g, t), a, b, IR_NONE, 0);
        return;
    }
    case 3: {
        IrOpcode opc = unops[rn(NUN)];
        IrVal a = src(g, t);
        ir_emit(f, opc, t, 0, dst(g, t), a, IR_NONE, IR_NONE, 0);
        return;
    }
    case 4: {
        IrVal a = src(g, t), b = src(g, t);
        IrType dt = rn(2) ? t : IR_I64;
        ir_emit(f, IR_OP_SETCOND, t, (uint16_t)rn(IR_COND_COUNT), dst(g, dt), a, b, IR_NONE, 0);
        return;
    }
    case 5: {
        IrVal a = src(g, IR_I64), b = src(g, t), c = src(g, t);
        ir_emit(f, IR_OP_SELECT, t, 0, dst(g, t), a, b, c, 0);
        return;
    }
    case 6: {
        IrVal a = src(g, t);
        ir_emit(f, IR_OP_MOV, t, 0, dst(g, t), a, IR_NONE, IR_NONE, 0);
        return;
    }
    case 7:
    case 8: {
        unsigned log2 = rn(4);
        if (t == IR_I32 && log2 == 3)
            t = IR_I64;
        bool align = rn(8) == 0;
        IrVal a = address(g, 1u << log2, false);
        uint16_t fl = IR_MEMFLAGS(log2, rn(2), align, 0);
        ir_emit(f, IR_OP_LD, t, fl, dst(g, t), a, IR_NONE, IR_NONE,
                (uint32_t)(int32_t)(rn(17) - 8));
        return;
    }
    case 9:
    case 10: {
        unsigned log2 = rn(4);
        IrVal a = address(g, 1u << log2, false);
        IrVal v = src(g, IR_I64);
        ir_emit(f, IR_OP_ST, IR_I64, IR_MEMFLAGS(log2, 0, rn(8) == 0, 0), IR_NONE, a, v, IR_NONE,
                (uint32_t)(int32_t)(rn(17) - 8));
        return;
    }
    case 11: {
        unsigned log2 = 2 + rn(2);
        IrType at = log2 == 3 ? IR_I64 : (rn(2) ? IR_I32 : IR_I64);
        IrVal a = address(g, 1u << log2, true);
        IrVal v = src(g, at);
        ir_emit(f, IR_OP_ATOMIC_RMW, at, IR_MEMFLAGS(log2, 0, 1, 0), dst(g, at), a, v, IR_NONE,
                rn(IR_AMO_COUNT));
        return;
    }
    case 12: {
        unsigned log2 = 2 + rn(2);
        IrType at = log2 == 3 ? IR_I64 : IR_I32;
        IrVal a = address(g, 1u << log2, true);
        IrVal exp;
        if (rn(2)) /* the current value, so that the exchange happens */
            exp = ir_load(f, at, IR_MEMFLAGS(log2, 0, 1, 0), a, 0);
        else
            exp = src(g, at);
        IrVal v = src(g, at);
        ir_emit(f, IR_OP_CMPXCHG, at, IR_MEMFLAGS(log2, 0, 1, 0), dst(g, at), a, exp, v, 0);
        return;
    }
    case 13: ir_fence(f, rn(2) ? IR_FENCE_FULL : IR_FENCE_LOAD); return;
    case 14: {
        IrVal args[6];
        switch (rn(4)) {
        case 0:
            args[0] = src(g, IR_I64);
            args[1] = src(g, IR_I64);
            add_pool(g, ir_call(f, &hp_pure, true, args));
            return;
        case 1:
            args[0] = src(g, IR_I64);
            add_pool(g, ir_call(f, &hp_state, true, args));
            return;
        case 2:
            for (int k = 0; k < 6; k++)
                args[k] = src(g, IR_I64);
            add_pool(g, ir_call(f, &hp_six, true, args));
            return;
        default:
            args[0] = src(g, IR_I64);
            ir_call(f, &hp_raise, rn(2), args);
            return;
        }
    }
    default: return;
    }
}

/* One random block; returns false if the builder overflowed. */
/*
 * Patterns the code generator fuses (RISC-V idioms): a scaled add (shl by a constant, then
 * an add of its result, maybe across an insn_start: one lea) and sext.w (mov.i32, then
 * sext32 of it: one movsxd); the intermediate value is sometimes dead after the pair (a
 * temp not read again, or overwritten by the add) and sometimes read later.
 */
static void gen_idiom(Gen *g)
{
    IrFunc *f = g->f;
    if (rn(2)) {
        IrVal a = src(g, IR_I64);
        IrVal d = dst(g, IR_I64);
        ir_emit(f, IR_OP_SHL, IR_I64, 0, d, a, ir_const(f, IR_I64, rn(5)), IR_NONE, 0);
        if (rn(2)) {
            ir_insn_start(f, g->pc);
            g->pc += 4;
        }
        IrVal b = src(g, IR_I64);
        IrVal e = rn(2) ? d : dst(g, IR_I64);
        if (rn(2))
            ir_emit(f, IR_OP_ADD, IR_I64, 0, e, d, b, IR_NONE, 0);
        else
            ir_emit(f, IR_OP_ADD, IR_I64, 0, e, b, d, IR_NONE, 0);
    } else {
        IrVal a = src(g, IR_I64);
        IrVal t = ir_temp(f, IR_I32);
        ir_emit(f, IR_OP_MOV, IR_I32, 0, t, a, IR_NONE, IR_NONE, 0);
        IrVal d = dst(g, IR_I64);
        ir_emit(f, IR_OP_SEXT32, IR_I64, 0, d, t, IR_NONE, IR_NONE, 0);
        if (rn(4) == 0)
            add_pool(g, t);
    }
}

static void gen_block(Gen *g, unsigned nops)
{
    IrFunc *f = g->f;
    ir_reset(f);
    g->npool = 0;
    g->pc = 0x80001000 + 4 * rn(64);
    unsigned open_label = UINT32_MAX, open_pool = 0, open_left = 0;
    for (unsigned i = 0; i < nops; i++) {
        if (i % 3 == 0) {
            ir_insn_start(f, g->pc);
            g->pc += 4;
        }
        if (open_label != UINT32_MAX && open_left-- == 0) {
            ir_label(f, open_label);
            g->npool = open_pool; /* temps defined on one path only are not used after */
            open_label = UINT32_MAX;
        }
        unsigned k = rn(20);
        if (k == 15 && open_label == UINT32_MAX) {
            open_label = ir_new_label(f);
            open_pool = g->npool;
            open_left = 1 + rn(6);
            IrType t = rn(2) ? IR_I64 : IR_I32;
            IrVal a = src(g, t), b = src(g, t);
            ir_brcond(f, t, (IrCond)rn(IR_COND_COUNT), a, b, open_label);
            continue;
        }
        if (k == 16 && open_label == UINT32_MAX) {
            /* A counted loop (a backward branch): 1..4 runs of a few ops. */
            IrVal cnt = ir_temp(f, IR_I64);
            ir_mov(f, cnt, ir_const(f, IR_I64, 1 + rn(4)));
            unsigned top = ir_new_label(f);
            ir_label(f, top);
            unsigned body = 1 + rn(4);
            for (unsigned j = 0; j < body; j++)
                gen_op(g, rn(7));
            ir_emit(f, IR_OP_SUB, IR_I64, 0, cnt, cnt, ir_const(f, IR_I64, 1), IR_NONE, 0);
            ir_brcond(f, IR_I64, IR_NE, cnt, ir_const(f, IR_I64, 0), top);
            continue;
        }
        if (k == 17) {
            gen_idiom(g);
            continue;
        }
        gen_op(g, k < 15 ? k : rn(15));
    }
    if (open_label != UINT32_MAX) {
        ir_label(f, open_label);
        g->npool = open_pool;
    }
    switch (rn(3)) {
    case 0: ir_goto_block(f, 0x80002000 + 4 * rn(100)); break;
    case 1: ir_goto_ptr(f, src(g, IR_I64)); break;
    default: ir_exit(f, (IrExitCode)rn(3)); break;
    }
}

/* ---- running ---- */

typedef struct State {
    uint64_t g[NG], pc, fflags;
    uint8_t ram[RAM_SIZE];
    uint64_t mmio[3];
    Fault fault;
    int ret;
} State;

static void set_state(const State *s)
{
    memcpy(cpu->g, s->g, sizeof(s->g));
    cpu->pc = s->pc;
    cpu->fflags = s->fflags;
    memcpy(ram, s->ram, RAM_SIZE);
    memcpy(mmio_last, s->mmio, sizeof(mmio_last));
    fault = (Fault){ 0 };
    tlb_flush_all(&cpu->common);
    memset(cpu->common.jmp_cache, 0, JMP_CACHE_SIZE * sizeof(JmpCacheEntry));
    cpu->common.cur_op = NULL;
    cpu->common.cur_block = NULL;
}

static void get_state(State *s, int ret)
{
    memcpy(s->g, cpu->g, sizeof(s->g));
    s->pc = cpu->pc;
    s->fflags = cpu->fflags;
    memcpy(s->ram, ram, RAM_SIZE);
    memcpy(s->mmio, mmio_last, sizeof(mmio_last));
    s->fault = fault;
    s->ret = ret;
}

static VsBlock *make_block(const IrFunc *f)
{
    unsigned n, nc, nm;
    if (!interp_size(f, &n, &nc, &nm))
        return NULL;
    VsBlock *b = calloc(1, sizeof(VsBlock) + n * sizeof(InterpInsn) + nc * sizeof(InterpCall) +
                               (nm + 1) * sizeof(VsInsnMap));
    b->code = (InterpInsn *)(b + 1);
    InterpCall *calls = (InterpCall *)(b->code + n);
    b->insn_map = (VsInsnMap *)(calls + nc);
    b->ncode = n;
    interp_compile(f, b->code, calls, b->insn_map, &b->ninsn_map);
    b->vpc = 0x80001000;
    b->ppc2 = UINT64_MAX;
    atomic_store(&b->valid, true);
    return b;
}

static int run_interp(VsBlock *b)
{
    if (sigsetjmp(cpu->common.unwind, 0) == 0)
        return interp_exec(&cpu->common, b);
    return -2;
}

static int run_jit(VsBlock *b)
{
    if (sigsetjmp(cpu->common.unwind, 0) == 0)
        return jit_exec_block(&cpu->common, b);
    return -2;
}

static State s0, s_int, s_jit;

static void compare(const IrFunc *f, const char *what)
{
    bool same = s_int.ret == s_jit.ret && memcmp(s_int.g, s_jit.g, sizeof(s_int.g)) == 0 &&
                s_int.pc == s_jit.pc && s_int.fflags == s_jit.fflags &&
                memcmp(s_int.mmio, s_jit.mmio, sizeof(s_int.mmio)) == 0 &&
                s_int.fault.hit == s_jit.fault.hit &&
                (!s_int.fault.hit ||
                 (s_int.fault.addr == s_jit.fault.addr && s_int.fault.pc == s_jit.fault.pc &&
                  s_int.fault.kind == s_jit.fault.kind)) &&
                memcmp(s_int.ram, s_jit.ram, RAM_SIZE) == 0;
    CHECK(same, "%s block differs between the interpreter and the JIT", what);
    if (!same && fails < 4) {
        printf("  ret %d / %d, pc %llx / %llx, fault %d %llx pc %llx / %d %llx pc %llx\n",
               s_int.ret, s_jit.ret, (unsigned long long)s_int.pc, (unsigned long long)s_jit.pc,
               s_int.fault.hit, (unsigned long long)s_int.fault.addr,
               (unsigned long long)s_int.fault.pc, s_jit.fault.hit,
               (unsigned long long)s_jit.fault.addr, (unsigned long long)s_jit.fault.pc);
        printf("  fault kind %d / %d, mmio %llx %llx %llu / %llx %llx %llu\n", s_int.fault.kind,
               s_jit.fault.kind, (unsigned long long)s_int.mmio[0],
               (unsigned long long)s_int.mmio[1], (unsigned long long)s_int.mmio[2],
               (unsigned long long)s_jit.mmio[0], (unsigned long long)s_jit.mmio[1],
               (unsigned long long)s_jit.mmio[2]);
        for (int k = 0; k < NG; k++)
            if (s_int.g[k] != s_jit.g[k])
                printf("  g%d: %llx / %llx (start %llx)\n", k, (unsigned long long)s_int.g[k],
                       (unsigned long long)s_jit.g[k], (unsigned long long)s0.g[k]);
        for (unsigned k = 0; k < RAM_SIZE; k++)
            if (s_int.ram[k] != s_jit.ram[k]) {
                printf("  ram[%#x]: %02x / %02x\n", k, s_int.ram[k], s_jit.ram[k]);
                break;
            }
        ir_print(f, stdout);
    }
}

static void test_block(JitState *js, IrFunc *f, const char *what)
{
    char msg[200];
    if (!ir_verify(f, msg, sizeof(msg))) {
        CHECK(false, "generator made invalid IR: %s", msg);
        ir_print(f, stdout);
        return;
    }
    VsBlock *b = make_block(f);
    CHECK(b != NULL, "interpreter refused the block");
    if (!b)
        return;
    CHECK(jit_compile(js, b, f), "the JIT did not compile the block");
    if (!b->jit_code) {
        free(b->jit_links);
        free(b);
        return;
    }
    set_state(&s0);
    get_state(&s_int, run_interp(b));
    set_state(&s0);
    get_state(&s_jit, run_jit(b));
    faults_seen += s_int.fault.hit;
    blocks_run++;
    compare(f, what);
    free(b->jit_links);
    free(b);
}

static void random_start(void)
{
    for (int k = 0; k < NG; k++)
        s0.g[k] = rand_value();
    s0.g[7] = (uint32_t)s0.g[7]; /* an I32 global holds a zero-extended value */
    s0.pc = 0x80000000;
    for (unsigned k = 0; k < RAM_SIZE; k++)
        s0.ram[k] = (uint8_t)rnd();
    memset(s0.mmio, 0, sizeof(s0.mmio));
}

/* Register pressure: many values live at once, then all used. */
static void test_pressure(JitState *js, IrFunc *f)
{
    ir_reset(f);
    ir_insn_start(f, 0x80001000);
    IrVal t[40];
    for (int k = 0; k < 40; k++)
        t[k] = ir_add(f, IR_I64, ir_global(f, k % NG), ir_const(f, IR_I64, (uint64_t)k * 77));
    IrVal acc = ir_const(f, IR_I64, 0);
    for (int k = 0; k < 40; k++)
        acc = ir_xor(f, IR_I64, ir_rotl(f, IR_I64, acc, ir_const(f, IR_I64, 5)), t[k]);
    ir_mov(f, ir_global(f, 0), acc);
    ir_goto_block(f, 0x1234);
    random_start();
    test_block(js, f, "register pressure");
}

/*
 * Chaining: block A jumps to B's pc in another guest page; with B (compiled) in the jump
 * cache A's code runs B directly (B's result, B's instructions counted by B's entry);
 * with interrupt_request set, an invalid B or a B without code, A returns
 * INTERP_RET_LOOKUP to the dispatcher instead.
 */
static void test_chaining(JitState *js, IrFunc *f)
{
    ir_reset(f);
    ir_insn_start(f, 0x80004000);
    ir_mov(f, ir_global(f, 1), ir_add(f, IR_I64, ir_global(f, 1), ir_const(f, IR_I64, 100)));
    ir_exit(f, IR_EXIT_HALT);
    VsBlock *b = make_block(f);
    b->vpc = 0x80004000;
    b->ninsns = 1;
    CHECK(jit_compile(js, b, f), "block B compiled");
    ir_reset(f);
    ir_insn_start(f, 0x80003000);
    ir_mov(f, ir_global(f, 0), ir_add(f, IR_I64, ir_global(f, 0), ir_const(f, IR_I64, 5)));
    ir_goto_block(f, 0x80004000);
    VsBlock *a = make_block(f);
    a->vpc = 0x80003000;
    CHECK(jit_compile(js, a, f), "block A compiled");
    for (int pass = 0; pass < 5; pass++) {
        random_start();
        set_state(&s0);
        cpu->common.mode = 3;
        JmpCacheEntry *je = &cpu->common.jmp_cache[jmp_cache_hash(0x80004000)];
        *je = (JmpCacheEntry){ .vpc = 0x80004000, .mode = 3, .block = b };
        void *code = b->jit_code;
        if (pass == 1)
            atomic_store(&cpu->common.interrupt_request, CPU_REQ_IRQ);
        if (pass == 2)
            atomic_store(&b->valid, false);
        if (pass == 3)
            b->jit_code = NULL;
        if (pass == 4)
            je->mode = 1;
        uint64_t count = b->exec_count, insns = cpu->common.insn_count;
        int r = run_jit(a);
        bool chained = pass == 0;
        CHECK(cpu->g[0] == s0.g[0] + 5, "pass %d: A ran", pass);
        CHECK(cpu->pc == 0x80004000, "pass %d: pc of B set", pass);
        CHECK(r == (chained ? INTERP_RET_EXIT_BASE + IR_EXIT_HALT : INTERP_RET_LOOKUP),
              "pass %d: result %d", pass, r);
        CHECK(cpu->g[1] == (chained ? s0.g[1] + 100 : s0.g[1]), "pass %d: B ran or not", pass);
        CHECK(b->exec_count == count && cpu->common.insn_count == insns + chained,
              "pass %d: counts", pass);
        atomic_store(&cpu->common.interrupt_request, 0);
        atomic_store(&b->valid, true);
        b->jit_code = code;
    }
    memset(cpu->common.jmp_cache, 0, JMP_CACHE_SIZE * sizeof(JmpCacheEntry));
    free(a);
    free(b);
}

/*
 * Direct links: A's goto_block to B in the same guest page leaves through its stub
 * (INTERP_RET_LOOKUP, cpu->jit_link set) until jit_run has found B; then A's jmp is
 * patched and A runs straight into B. Invalidating B (or A) sets the jump back; a request
 * still ends the chain at A's exit; a block of another mode is never linked.
 */
static void test_links(JitState *js, IrFunc *f)
{
    ir_reset(f);
    ir_insn_start(f, 0x80005100);
    ir_mov(f, ir_global(f, 1), ir_add(f, IR_I64, ir_global(f, 1), ir_const(f, IR_I64, 100)));
    ir_exit(f, IR_EXIT_HALT);
    VsBlock *b = make_block(f);
    b->vpc = 0x80005100;
    b->ppc = 0x80005100;
    b->mode = 3;
    b->ninsns = 1;
    CHECK(jit_compile(js, b, f), "block B compiled");
    ir_reset(f);
    ir_insn_start(f, 0x80005000);
    ir_mov(f, ir_global(f, 0), ir_add(f, IR_I64, ir_global(f, 0), ir_const(f, IR_I64, 5)));
    ir_goto_block(f, 0x80005100);
    VsBlock *a = make_block(f);
    a->vpc = 0x80005000;
    a->ppc = 0x80005000;
    a->mode = 3;
    a->ninsns = 1;
    CHECK(jit_compile(js, a, f), "block A compiled");
    CHECK(a->jit_nlinks == 1, "A has one direct exit (%u)", a->jit_nlinks);
    cpu->common.mode = 3;
    for (int pass = 0; pass < 8; pass++) {
        set_state(&s0);
        uint64_t insns = cpu->common.insn_count;
        cpu->common.jit_link = NULL;
        if (pass == 3)
            atomic_store(&cpu->common.interrupt_request, CPU_REQ_IRQ);
        int r = run_jit(a);
        /* Linked by pass 0's jit_run; pass 3 has a request pending and then invalidates B;
         * pass 5's jit_run links again. */
        bool linked = pass == 1 || pass == 2 || pass == 6 || pass == 7;
        CHECK(cpu->g[0] == s0.g[0] + 5, "pass %d: A ran", pass);
        CHECK(r == (linked ? INTERP_RET_EXIT_BASE + IR_EXIT_HALT : INTERP_RET_LOOKUP),
              "pass %d: result %d", pass, r);
        CHECK(cpu->g[1] == (linked ? s0.g[1] + 100 : s0.g[1]), "pass %d: B ran or not", pass);
        CHECK(cpu->common.insn_count == insns + 1 + linked, "pass %d: insns counted", pass);
        CHECK(linked || cpu->pc == 0x80005100, "pass %d: pc of B set", pass);
        CHECK(linked == (cpu->common.jit_link == NULL), "pass %d: jit_link", pass);
        atomic_store(&cpu->common.interrupt_request, 0);
        if (!linked && pass != 4) {
            /* What the dispatcher does next: run B through jit_run, which links A to B. */
            r = jit_run(&cpu->common, b);
            CHECK(r == INTERP_RET_EXIT_BASE + IR_EXIT_HALT, "pass %d: B through jit_run", pass);
            CHECK(cpu->common.jit_link == NULL, "pass %d: link consumed", pass);
        }
        if (pass == 3) {
            /* Invalidate B: A's jump goes back to its stub. */
            atomic_store(&b->valid, false);
            jit_block_invalidated(js, b);
            CHECK(b->jit_in == NULL && a->jit_links[0].dst == NULL, "B's links undone");
            atomic_store(&b->valid, true);
        }
        if (pass == 4) {
            /* A block of another mode at the same pc is not linked. */
            b->mode = 1;
            cpu->common.jit_link = NULL;
            run_jit(a);
            CHECK(cpu->common.jit_link != NULL, "stub left the link");
            jit_run(&cpu->common, b);
            CHECK(a->jit_links[0].dst == NULL, "not linked across modes");
            b->mode = 3;
        }
    }
    atomic_store(&a->valid, false);
    jit_block_invalidated(js, a); /* A's own exit unlinked, B's incoming list emptied */
    CHECK(b->jit_in == NULL && a->jit_links[0].dst == NULL, "A's links undone");
    free(a->jit_links);
    free(a);
    free(b);
}

/*
 * Regions: random member blocks whose goto_block may lead to a later member, compiled as
 * one function (jit_compile_region), against the interpreter running the members one
 * after the other from the same state.
 */
static unsigned regions_run;

static void test_region(JitState *js, Gen *g, IrFunc *out)
{
    enum { NM = 4 };
    IrFunc fs[NM];
    VsBlock *mb[NM] = { NULL };
    uint64_t pcs[NM];
    uint32_t ninsns[NM];
    unsigned n = 2 + rn(NM - 1);
    for (unsigned k = 0; k < n; k++)
        pcs[k] = 0x80002000 + 0x100 * k;
    for (unsigned k = 0; k < n; k++) {
        ir_init(&fs[k], &globals);
        g->f = &fs[k];
        gen_block(g, 5 + rn(30));
        ninsns[k] = 1;
        /* Most direct exits go to a later member. */
        for (unsigned i = 0; i < fs[k].nops; i++)
            if (fs[k].ops[i].opc == IR_OP_GOTO_BLOCK && k + 1 < n && rn(4))
                fs[k].pcs[fs[k].ops[i].aux] = pcs[k + 1 + rn(n - 1 - k)];
        if (rn(2))
            ir_optimize(&fs[k]);
        mb[k] = make_block(&fs[k]);
        mb[k]->vpc = pcs[k];
    }
    ir_reset(out);
    out->nlabels = n;
    bool ok = true;
    for (unsigned k = 0; k < n && ok; k++) {
        int32_t *gl = malloc((fs[k].nops + 1) * sizeof(int32_t));
        for (unsigned i = 0; i < fs[k].nops; i++) {
            gl[i] = -1;
            if (fs[k].ops[i].opc == IR_OP_GOTO_BLOCK)
                for (unsigned j = k + 1; j < n; j++)
                    if (fs[k].pcs[fs[k].ops[i].aux] == pcs[j])
                        gl[i] = (int32_t)j;
        }
        ir_emit(out, IR_OP_LABEL, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, k);
        ok = ir_append(out, &fs[k], gl);
        free(gl);
    }
    VsBlock *head = make_block(&fs[0]);
    head->vpc = pcs[0];
    if (ok && jit_compile_region(js, head, out, n, pcs, ninsns)) {
        random_start();
        s0.pc = pcs[0]; /* as when the dispatcher enters the head */
        set_state(&s0);
        /* The interpreter: member after member while an exit leads to a later one. */
        int r;
        unsigned k = 0;
        for (;;) {
            r = run_interp(mb[k]);
            unsigned next = k;
            if (r == INTERP_RET_LOOKUP)
                for (unsigned j = k + 1; j < n; j++)
                    if (cpu->pc == pcs[j])
                        next = j;
            if (next == k)
                break;
            k = next;
        }
        get_state(&s_int, r);
        set_state(&s0);
        get_state(&s_jit, run_jit(head));
        if (s_jit.ret == INTERP_RET_LOOKUP && s_int.ret == INTERP_RET_LOOKUP)
            cpu->common.jit_link = NULL;
        faults_seen += s_int.fault.hit;
        regions_run++;
        compare(out, "region");
    } else {
        CHECK(!ok, "the JIT did not compile the region");
    }
    free(head->jit_links);
    free(head);
    for (unsigned k = 0; k < n; k++) {
        free(mb[k]);
        ir_free(&fs[k]);
    }
}

/*
 * A loop across two members: M0 adds 3 to g1, M1 counts g0 down and jumps back to M0
 * until it is 0. Runs to the end in generated code; with a request pending it leaves at
 * the first edge (M0 to M1) with every register written back and the pc of M1.
 */
static void test_region_loop(JitState *js, IrFunc *out)
{
    IrFunc f0, f1;
    ir_init(&f0, &globals);
    ir_init(&f1, &globals);
    ir_insn_start(&f0, 0x80006000);
    ir_mov(&f0, ir_global(&f0, 1),
           ir_add(&f0, IR_I64, ir_global(&f0, 1), ir_const(&f0, IR_I64, 3)));
    ir_goto_block(&f0, 0x80006100);
    ir_insn_start(&f1, 0x80006100);
    ir_mov(&f1, ir_global(&f1, 0),
           ir_binop(&f1, IR_OP_SUB, IR_I64, ir_global(&f1, 0), ir_const(&f1, IR_I64, 1)));
    unsigned l = ir_new_label(&f1);
    ir_brcond(&f1, IR_I64, IR_NE, ir_global(&f1, 0), ir_const(&f1, IR_I64, 0), l);
    ir_exit(&f1, IR_EXIT_HALT);
    ir_label(&f1, l);
    ir_goto_block(&f1, 0x80006000);
    ir_reset(out);
    out->nlabels = 2;
    int32_t gl0[8] = { -1, -1, -1, -1, -1, -1, -1, -1 }, gl1[16];
    for (unsigned i = 0; i < f0.nops; i++)
        if (f0.ops[i].opc == IR_OP_GOTO_BLOCK)
            gl0[i] = 1;
    for (unsigned i = 0; i < f1.nops; i++)
        gl1[i] = f1.ops[i].opc == IR_OP_GOTO_BLOCK ? 0 : -1;
    ir_emit(out, IR_OP_LABEL, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, 0);
    CHECK(ir_append(out, &f0, gl0), "append M0");
    ir_emit(out, IR_OP_LABEL, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, 1);
    CHECK(ir_append(out, &f1, gl1), "append M1");
    VsBlock *head = make_block(&f0);
    head->vpc = 0x80006000;
    uint64_t pcs[2] = { 0x80006000, 0x80006100 };
    uint32_t ninsns[2] = { 1, 1 };
    CHECK(jit_compile_region(js, head, out, 2, pcs, ninsns), "loop region compiled");
    for (int pass = 0; pass < 2; pass++) {
        random_start();
        s0.g[0] = 10;
        set_state(&s0);
        uint64_t insns = cpu->common.insn_count;
        if (pass == 1)
            atomic_store(&cpu->common.interrupt_request, CPU_REQ_IRQ);
        int r = run_jit(head);
        if (pass == 0) {
            CHECK(r == INTERP_RET_EXIT_BASE + IR_EXIT_HALT, "loop: result %d", r);
            CHECK(cpu->g[0] == 0 && cpu->g[1] == s0.g[1] + 30, "loop: ran 10 times");
            CHECK(cpu->common.insn_count == insns + 20, "loop: 20 insns counted");
            CHECK(cpu->pc == 0x80006100, "loop: pc of the last block run");
        } else {
            CHECK(r == INTERP_RET_LOOKUP && cpu->pc == 0x80006100, "request: left for M1");
            CHECK(cpu->g[0] == 10 && cpu->g[1] == s0.g[1] + 3, "request: state written back");
        }
        atomic_store(&cpu->common.interrupt_request, 0);
    }
    free(head->jit_links);
    free(head);
    ir_free(&f0);
    ir_free(&f1);
}

/* A block whose direct exit leads to its own start: jit_compile makes it a one-block region
 * (the back edge a jump inside the code, checking requests), with the same results. */
static void test_self_loop(JitState *js)
{
    IrFunc f0;
    ir_init(&f0, &globals);
    ir_insn_start(&f0, 0x80007000);
    ir_mov(&f0, ir_global(&f0, 1),
           ir_add(&f0, IR_I64, ir_global(&f0, 1), ir_const(&f0, IR_I64, 5)));
    ir_insn_start(&f0, 0x80007004);
    ir_mov(&f0, ir_global(&f0, 0),
           ir_binop(&f0, IR_OP_SUB, IR_I64, ir_global(&f0, 0), ir_const(&f0, IR_I64, 1)));
    unsigned l = ir_new_label(&f0);
    ir_brcond(&f0, IR_I64, IR_NE, ir_global(&f0, 0), ir_const(&f0, IR_I64, 0), l);
    ir_goto_block(&f0, 0x80007008);
    ir_label(&f0, l);
    ir_goto_block(&f0, 0x80007000);
    VsBlock *b = make_block(&f0);
    b->vpc = 0x80007000;
    b->ninsns = 2;
    JitStats before, after;
    jit_get_stats(js, &before);
    CHECK(jit_compile(js, b, &f0), "self loop compiled");
    jit_get_stats(js, &after);
    CHECK(after.regions == before.regions + 1, "self loop: compiled as a region");
    for (int pass = 0; pass < 2; pass++) {
        random_start();
        s0.g[0] = 7;
        set_state(&s0);
        uint64_t insns = cpu->common.insn_count;
        if (pass == 1)
            atomic_store(&cpu->common.interrupt_request, CPU_REQ_IRQ);
        int r = run_jit(b);
        if (pass == 0) {
            CHECK(r == INTERP_RET_LOOKUP && cpu->pc == 0x80007008, "loop: left at the end");
            CHECK(cpu->g[0] == 0 && cpu->g[1] == s0.g[1] + 35, "loop: ran 7 times");
            CHECK(cpu->common.insn_count == insns + 14, "loop: 14 insns counted");
        } else {
            CHECK(r == INTERP_RET_LOOKUP && cpu->pc == 0x80007000, "request: left at the head");
            CHECK(cpu->g[0] == 6 && cpu->g[1] == s0.g[1] + 5, "request: state written back");
        }
        atomic_store(&cpu->common.interrupt_request, 0);
    }
    cpu->common.jit_link = NULL; /* the exit stub's link into b, freed here */
    free(b->jit_links);
    free(b);
    ir_free(&f0);
}

/* ---- host FP fast path ---- */

/* A double or (NaN-boxed, sometimes improperly) single bit pattern of every class. */
static uint64_t fp_value(bool dbl)
{
    const unsigned mbits = dbl ? 52 : 23, emax = dbl ? 0x7ff : 0xff, bias = dbl ? 1023 : 127;
    const uint64_t mmask = (1ull << mbits) - 1, quiet = 1ull << (mbits - 1);
    uint64_t sign = (uint64_t)rn(2) << (mbits + (dbl ? 11 : 8)), m = rnd() & mmask, e;
    switch (rn(30)) {
    case 0: e = 0, m = 0; break;                                 /* zero */
    case 1: e = 0, m = m ? m : 1; break;                         /* subnormal */
    case 2: e = emax, m = 0; break;                              /* infinity */
    case 3: e = emax, m |= quiet; break;                         /* quiet NaN */
    case 4: e = emax, m = (m & ~quiet) | 1; break;               /* signalling NaN */
    case 5: e = 1 + rn(3), m &= rn(2) ? 0 : mmask; break;        /* near the smallest normal */
    case 6: e = emax - 1 - rn(3), m |= rn(2) ? mmask : 0; break; /* near the largest */
    case 7: e = 1 + rn(bias / 2); break;                         /* tiny: products underflow */
    case 8: e = emax - 1 - rn(bias / 2); break;                  /* huge: products overflow */
    case 9: e = bias, m = 0; break;                              /* +-1 */
    case 10: /* 1 +- a few ulps: times a value near the smallest normal, it rounds across */
    case 11: e = bias - rn(2), m = e == bias ? rn(4) : mmask - rn(4); break;
    default: e = bias - 20 + rn(40); break; /* ordinary */
    }
    uint64_t v = sign | (e << mbits) | m;
    if (dbl)
        return v;
    switch (rn(10)) {
    case 0: return v;                          /* not boxed */
    case 1: return v | ((rnd() | 1) << 32);    /* partly boxed */
    default: return v | 0xffffffff00000000ull; /* NaN-boxed */
    }
}

/*
 * Blocks of FP add/sub/mul/div (each an insn) on operands of both formats, static and
 * dynamic rounding modes (frm in g6, sometimes invalid, sometimes set inside the block) and
 * NX set or clear in fflags, compared between the interpreter (the helper) and the JIT.
 */
static void test_host_fp(JitState *js, IrFunc *f, IrFunc *rf)
{
    static const uint8_t rms[] = {
        RV_RM_RNE, RV_RM_RNE, RV_RM_RNE, RV_RM_RNE, RV_RM_DYN, RV_RM_DYN,
        RV_RM_DYN, RV_RM_DYN, RV_RM_RTZ, RV_RM_RDN, RV_RM_RUP, RV_RM_RMM
    };
    unsigned before = blocks_run, calls_int = 0, calls_jit = 0, fast_int = 0, fast_jit = 0;
    for (unsigned iter = 0; iter < 4000; iter++) {
        uint64_t seed = rng;
        bool opt = iter & 1, region = iter & 2, pins = iter & 4;
        for (int pass = 0; pass < 2; pass++) {
            /* pass 0 builds the block and its start state; pass 1 runs it. */
            rng = seed;
            ir_reset(f);
            uint64_t pc = 0x80001000;
            IrVal res[8];
            unsigned nres = 0, nops = 1 + rn(6);
            bool dbl_block = rn(2);
            for (unsigned i = 0; i < nops; i++) {
                ir_insn_start(f, pc);
                pc += 4;
                if (rn(8) == 0) /* csrw frm inside the block */
                    ir_mov(f, ir_global(f, 6), ir_const(f, IR_I64, rn(8) ? 0 : rn(8)));
                bool dbl = rn(8) ? dbl_block : !dbl_block;
                const IrHostFpHelper *h = host_fp[(dbl ? 4 : 0) + rn(4)];
                IrVal a = nres && rn(3) == 0 ? res[rn(nres)] : ir_global(f, rn(6));
                IrVal b = nres && rn(3) == 0 ? res[rn(nres)] : ir_global(f, rn(6));
                if (rn(16) == 0)
                    b = ir_const(f, IR_I64, fp_value(dbl));
                IrVal r =
                    ir_call3(f, &h->helper, true, a, b, ir_const(f, IR_I64, rms[rn(sizeof(rms))]));
                if (nres < 8)
                    res[nres++] = r;
                if (rn(2))
                    ir_mov(f, ir_global(f, rn(6)), r);
                /* Integer uses of the globals (dead), so that a region pins them. */
                for (unsigned k = pins ? 6 : 0; k; k--)
                    ir_binop(f, IR_OP_XOR, IR_I64, ir_global(f, rn(6)), ir_global(f, rn(6)));
            }
            ir_goto_block(f, 0x80002000);
            if (opt)
                ir_optimize(f);
            for (int k = 0; k < 6; k++)
                s0.g[k] = fp_value(rn(8) ? dbl_block : !dbl_block);
            unsigned fr = rn(16);
            s0.g[6] = fr < 13 ? RV_RM_RNE : fr < 15 ? 1 + rn(4) : 5 + rn(3);
            s0.g[7] = 0;
            s0.pc = 0x80001000; /* as when the dispatcher enters the block */
            s0.fflags = rn(6) ? RV_FFLAG_NX | (rnd() & 0x1e) : rnd() & 0x1e;
            memset(s0.ram, 0, RAM_SIZE);
            memset(s0.mmio, 0, sizeof(s0.mmio));
            if (pass == 0)
                continue;
            unsigned c0 = fp_calls;
            fp_fast_calls = 0;
            VsBlock *blk = make_block(f);
            bool compiled;
            if (region) { /* a one-member region: globals pinned in registers */
                static const uint64_t rpc[1] = { 0x80001000 };
                static const uint32_t rn1[1] = { 1 };
                int32_t *gl = malloc((f->nops + 1) * sizeof(int32_t));
                for (unsigned i = 0; i < f->nops; i++)
                    gl[i] = -1;
                ir_reset(rf);
                rf->nlabels = 1;
                ir_emit(rf, IR_OP_LABEL, IR_I64, 0, IR_NONE, IR_NONE, IR_NONE, IR_NONE, 0);
                compiled = ir_append(rf, f, gl) && jit_compile_region(js, blk, rf, 1, rpc, rn1);
                free(gl);
            } else {
                compiled = blk && jit_compile(js, blk, f);
            }
            if (!blk || !compiled) {
                CHECK(false, "host fp block not compiled");
                free(blk);
                continue;
            }
            set_state(&s0);
            get_state(&s_int, run_interp(blk));
            calls_int += fp_calls - c0;
            fast_int += fp_fast_calls;
            c0 = fp_calls;
            fp_fast_calls = 0;
            set_state(&s0);
            get_state(&s_jit, run_jit(blk));
            calls_jit += fp_calls - c0;
            fast_jit += fp_fast_calls;
            blocks_run++;
            faults_seen += s_int.fault.hit;
            compare(f, "host fp");
            if (s_int.fflags != s_jit.fflags && fails < 4)
                printf("  fflags %llx / %llx\n", (unsigned long long)s_int.fflags,
                       (unsigned long long)s_jit.fflags);
            free(blk->jit_links);
            free(blk);
        }
    }
    /* The JIT inlined exactly the calls that take the helper's fast path, and those are a
     * fair share (so the comparison covered both paths). */
    CHECK(fast_jit == 0 && calls_jit == calls_int - fast_int,
          "host fp: the JIT called the helper %u times (%u of them fast cases), the "
          "interpreter %u times (%u fast)",
          calls_jit, fast_jit, calls_int, fast_int);
    CHECK(fast_int > calls_int / 8 && fast_int < calls_int * 7 / 8,
          "host fp: %u of %u calls are fast cases", fast_int, calls_int);
    printf("host fp: %u blocks, helper calls %u interpreted (%u fast cases) / %u compiled\n",
           blocks_run - before, calls_int, fast_int, calls_jit);
}

/*
 * jit_run on a thread whose MXCSR rounds toward zero with FTZ and DAZ (as -ffast-math
 * startup code leaves it) first restores the default control bits: the inline fmul.d of
 * 1/3 and 3 in RNE then gives the helper's 1.0, not RTZ's 0x3fefffffffffffff.
 */
static VsBlock *mx_block;
static uint64_t mx_result;
static uint32_t mx_after;

static void *mxcsr_thread(void *arg)
{
    (void)arg;
    uint32_t m = 0x1f80u | 0x8000u | 0x40u | (3u << 13);
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
    set_state(&s0);
    if (sigsetjmp(cpu->common.unwind, 0) == 0)
        jit_run(&cpu->common, mx_block);
    mx_result = cpu->g[2];
    __asm__ volatile("stmxcsr %0" : "=m"(mx_after));
    return NULL;
}

static void test_mxcsr(JitState *js, IrFunc *f)
{
    ir_reset(f);
    ir_insn_start(f, 0x80005000);
    ir_mov(f, ir_global(f, 2),
           ir_call3(f, &hf_fmul_d.helper, true, ir_global(f, 0), ir_global(f, 1),
                    ir_const(f, IR_I64, RV_RM_RNE)));
    ir_exit(f, IR_EXIT_HALT);
    mx_block = make_block(f);
    mx_block->vpc = 0x80005000;
    mx_block->ninsns = 1;
    CHECK(jit_compile(js, mx_block, f), "mxcsr block compiled");
    memset(&s0, 0, sizeof(s0));
    s0.g[0] = 0x3fd5555555555555ull; /* 1/3 */
    s0.g[1] = 0x4008000000000000ull; /* 3 */
    s0.pc = 0x80005000;
    s0.fflags = RV_FFLAG_NX;
    set_state(&s0);
    run_interp(mx_block);
    uint64_t want = cpu->g[2];
    unsigned c0 = fp_calls;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, mxcsr_thread, NULL) == 0, "thread");
    pthread_join(t, NULL);
    CHECK(want == 0x3ff0000000000000ull && mx_result == want && fp_calls == c0,
          "mxcsr: interpreter %llx, JIT %llx (inline: %d)", (unsigned long long)want,
          (unsigned long long)mx_result, fp_calls == c0);
    CHECK((mx_after & 0xffc0u) == 0x1f80u, "MXCSR after jit_run %#x", mx_after);
    free(mx_block->jit_links);
    free(mx_block);
}

int main(void)
{
    physmem_init(&machine.mem);
    MemRegion *r = physmem_add_ram(&machine.mem, "ram", RAM_BASE, RAM_SIZE);
    physmem_add_mmio(&machine.mem, "dev", MMIO, 0x1000, &mmio_ops, NULL);
    ram = r->host;
    machine.blocks = blocks_create(0);
    cpu = aligned_alloc(64, (sizeof(TestCpu) + 63) & ~(size_t)63);
    memset(cpu, 0, sizeof(*cpu));
    cpu->common.ops = &test_arch;
    cpu->common.machine = &machine;
    if (!tlb_init(&cpu->common))
        abort();
    cpu->common.jmp_cache = calloc(JMP_CACHE_SIZE, sizeof(JmpCacheEntry));
    cpus[0] = &cpu->common;
    machine.cpus = cpus;
    machine.ncpus = 1;
    JitState *js = jit_create(64u << 20, false);
    if (!js) {
        printf("cannot create the JIT state\n");
        return 1;
    }
    machine.jit = js;

    IrFunc f;
    ir_init(&f, &globals);
    Gen g = { .f = &f };
    test_pressure(js, &f);
    test_chaining(js, &f);
    test_links(js, &f);
    test_region_loop(js, &f);
    test_self_loop(js);
    /* The rv-fpu descriptors the riscv64 frontend uses are the ones tested here, with
     * RvCpu's field offsets. */
    for (int k = 0; k < 8; k++) {
        const IrHostFpHelper *t = host_fp[k], *r = rv_host_fp[k];
        CHECK(r->helper.flags == t->helper.flags && r->helper.nargs == 3 && r->op == t->op &&
                  r->dbl == t->dbl && r->rm_rne == t->rm_rne && r->rm_dyn == t->rm_dyn &&
                  r->nx_mask == t->nx_mask &&
                  r->flags_off == offsetof(RvCpu, fflags) - offsetof(RvCpu, common) &&
                  r->frm_off == offsetof(RvCpu, frm) - offsetof(RvCpu, common) &&
                  strcmp(r->helper.name, t->helper.name) == 0,
              "descriptor %s", r->helper.name);
    }
    IrFunc rf;
    ir_init(&rf, &globals);
    test_host_fp(js, &f, &rf);
    test_mxcsr(js, &f);
    ir_free(&rf);
    for (unsigned iter = 0; iter < 3000; iter++) {
        uint64_t seed = rng;
        gen_block(&g, 10 + rn(50));
        random_start();
        test_block(js, &f, "unoptimised");
        /* The same block after the optimiser (as blocks_translate runs it). */
        rng = seed;
        gen_block(&g, 10 + rn(50));
        ir_optimize(&f);
        random_start();
        test_block(js, &f, "optimised");
        test_region(js, &g, &f);
        g.f = &f;
        if (iter % 500 == 499) {
            JitStats st;
            jit_get_stats(js, &st);
            if (st.code_bytes > (48u << 20))
                jit_flush(js);
        }
    }
    CHECK(faults_seen > 100, "the generator should make faulting blocks (%u)", faults_seen);
    JitStats st;
    jit_get_stats(js, &st);
    CHECK(regions_run > 1000, "regions compared: %u", regions_run);
    printf("%u blocks and %u regions compared (%u faulting), %llu compiled, %llu KiB code, "
           "%d failures\n",
           blocks_run, regions_run, faults_seen, (unsigned long long)st.blocks,
           (unsigned long long)(st.code_bytes >> 10), fails);
    ir_free(&f);
    jit_destroy(js);
    blocks_destroy(machine.blocks);
    tlb_destroy(&cpu->common);
    free(cpu->common.jmp_cache);
    free(cpu);
    physmem_destroy(&machine.mem);
    return fails ? 1 : 0;
}
