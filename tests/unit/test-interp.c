/* SPDX-License-Identifier: MIT */
/*
 * Interpreter tests: every ALU op, condition and type is run through the interpreter in
 * both operand forms (register/register and register/immediate) and compared with the
 * optimiser's constant folding of the same op, over edge values and random values.
 * Memory ops run against a real physical map and TLB: fast path, misaligned, page
 * crossing, MMIO.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/blocks.h"
#include "core/cpu.h"
#include "core/machine.h"
#include "ir/interp.h"
#include "ir/ir.h"

typedef struct TestCpu {
    VsCpu common;
    uint64_t g[4];
    uint64_t pc;
} TestCpu;

static const IrGlobalDef defs[5] = {
    { "g0", offsetof(TestCpu, g[0]), IR_I64 }, { "g1", offsetof(TestCpu, g[1]), IR_I64 },
    { "g2", offsetof(TestCpu, g[2]), IR_I64 }, { "g3", offsetof(TestCpu, g[3]), IR_I64 },
    { "pc", offsetof(TestCpu, pc), IR_I64 },
};
static const IrGlobals globals = { defs, 5, 4 };

static int fails;
#define CHECK(cond, ...)                                    \
    do {                                                    \
        if (!(cond)) {                                      \
            fails++;                                        \
            if (fails < 30) {                               \
                printf("FAIL %s:%d: ", __FILE__, __LINE__); \
                printf(__VA_ARGS__);                        \
                printf("\n");                               \
            }                                               \
        }                                                   \
    } while (0)

/* ---- a minimal machine: RAM at 0x1000_0000, MMIO at 0x2000_0000, identity mapping ---- */

static bool t_fill(VsCpu *cpu, uint64_t vaddr, int access, unsigned idx, uint64_t *paddr, int *prot,
                   uint64_t *ps, int *kind)
{
    (void)cpu, (void)access, (void)idx;
    if (vaddr >= 0x30000000) {
        *kind = 0;
        return false;
    }
    *paddr = vaddr;
    *prot = MMU_PROT_R | MMU_PROT_W | MMU_PROT_X;
    *ps = GUEST_PAGE_SIZE;
    return true;
}

static uint64_t last_fault_addr;
static int last_fault_kind;
static __attribute__((noreturn)) void t_raise(VsCpu *cpu, uint64_t vaddr, int access, int kind)
{
    (void)access;
    last_fault_addr = vaddr;
    last_fault_kind = kind;
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

static uint64_t mmio_last_off, mmio_last_val;
static unsigned mmio_last_size;
static uint64_t mmio_read(void *o, uint64_t off, unsigned size)
{
    (void)o;
    return 0xA0 + off + size;
}
static void mmio_write(void *o, uint64_t off, uint64_t v, unsigned size)
{
    (void)o;
    mmio_last_off = off;
    mmio_last_val = v;
    mmio_last_size = size;
}
static const MmioOps mmio_ops = { mmio_read, mmio_write };

static VsMachine machine;
static TestCpu *cpu;
static VsCpu *cpus[1];

static void setup(void)
{
    physmem_init(&machine.mem);
    physmem_add_ram(&machine.mem, "ram", 0x10000000, 0x100000);
    physmem_add_mmio(&machine.mem, "dev", 0x20000000, 0x1000, &mmio_ops, NULL);
    machine.blocks = blocks_create(0);
    cpu = aligned_alloc(64, (sizeof(TestCpu) + 64 + 63) & ~(size_t)63); /* a multiple of 64 */
    memset(cpu, 0, sizeof(*cpu));
    cpu->common.ops = &test_arch;
    cpu->common.machine = &machine;
    if (!tlb_init(&cpu->common))
        abort();
    cpu->common.jmp_cache = calloc(JMP_CACHE_SIZE, sizeof(JmpCacheEntry));
    tlb_flush_all(&cpu->common);
    cpus[0] = &cpu->common;
    machine.cpus = cpus;
    machine.ncpus = 1;
}

/* Compile f into a block and run it; returns the interpreter result. */
static int run(IrFunc *f)
{
    char msg[200];
    if (!ir_verify(f, msg, sizeof(msg))) {
        printf("verifier: %s\n", msg);
        ir_print(f, stdout);
        fails++;
        return -1;
    }
    unsigned n, nc, nm;
    if (!interp_size(f, &n, &nc, &nm)) {
        fails++;
        return -1;
    }
    VsBlock *b = calloc(1, sizeof(VsBlock) + n * sizeof(InterpInsn) + nc * sizeof(InterpCall) +
                               (nm + 1) * sizeof(VsInsnMap));
    b->code = (InterpInsn *)(b + 1);
    InterpCall *calls = (InterpCall *)(b->code + n);
    b->insn_map = (VsInsnMap *)(calls + nc);
    interp_compile(f, b->code, calls, b->insn_map, &b->ninsn_map);
    atomic_store(&b->valid, true);
    int r = -1;
    if (sigsetjmp(cpu->common.unwind, 0) == 0)
        r = interp_exec(&cpu->common, b);
    else
        r = -2; /* a fault unwound */
    free(b);
    return r;
}

static const uint64_t edge[] = {
    0,
    1,
    2,
    3,
    31,
    32,
    33,
    63,
    64,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0x8000,
    0xffff,
    0x7fffffff,
    0x80000000,
    0xffffffff,
    0x100000000ull,
    0x7fffffffffffffffull,
    0x8000000000000000ull,
    0xffffffffffffffffull,
    0xfffffffffffffffeull,
    0x123456789abcdef0ull,
};
#define NEDGE (sizeof(edge) / sizeof(edge[0]))

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Value the optimiser folds op(a, b) to, or false if it did not fold. */
static bool fold(IrOpcode opc, IrType t, uint16_t flags, uint64_t a, uint64_t b, uint64_t *out)
{
    IrFunc f;
    ir_init(&f, &globals);
    IrVal d = ir_temp(&f, opc == IR_OP_SETCOND ? IR_I64 : t);
    ir_emit(&f, opc, t, flags, d, ir_const(&f, t, a), ir_const(&f, t, b), IR_NONE, 0);
    ir_mov(&f, ir_global(&f, 0), d);
    ir_goto_block(&f, 0);
    ir_opt_fold(&f);
    bool ok = false;
    for (unsigned i = 0; i < f.nops; i++) {
        const IrOp *op = &f.ops[i];
        if (op->opc == IR_OP_MOV && op->d == 0 && ir_is_const(&f, op->a)) {
            *out = ir_const_value(&f, op->a);
            ok = true;
        }
    }
    ir_free(&f);
    return ok;
}

static uint64_t interp_bin(IrOpcode opc, IrType t, uint16_t flags, uint64_t a, uint64_t b,
                           bool b_imm)
{
    IrFunc f;
    ir_init(&f, &globals);
    IrVal vb = b_imm ? ir_const(&f, t, b) : ir_global(&f, 2);
    ir_emit(&f, opc, t, flags, ir_global(&f, 0), ir_global(&f, 1), vb, IR_NONE, 0);
    ir_goto_block(&f, 0x40);
    cpu->g[1] = t == IR_I32 ? (uint32_t)a : a;
    cpu->g[2] = t == IR_I32 ? (uint32_t)b : b;
    cpu->g[0] = 0xdeadbeef;
    int r = run(&f);
    CHECK(r == INTERP_RET_LOOKUP, "interp returned %d", r);
    CHECK(cpu->pc == 0x40, "pc not set by goto_block");
    ir_free(&f);
    return cpu->g[0];
}

static void test_alu(void)
{
    static const IrOpcode ops[] = {
        IR_OP_ADD,  IR_OP_SUB,  IR_OP_MUL,  IR_OP_MULSH, IR_OP_MULUH, IR_OP_MULSUH,
        IR_OP_DIV,  IR_OP_DIVU, IR_OP_REM,  IR_OP_REMU,  IR_OP_AND,   IR_OP_OR,
        IR_OP_XOR,  IR_OP_ANDC, IR_OP_ORC,  IR_OP_SHL,   IR_OP_SHR,   IR_OP_SAR,
        IR_OP_ROTL, IR_OP_ROTR, IR_OP_SMIN, IR_OP_SMAX,  IR_OP_UMIN,  IR_OP_UMAX,
    };
    unsigned checked = 0;
    for (unsigned o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
        for (int t = 0; t < 2; t++) {
            for (unsigned k = 0; k < NEDGE * NEDGE + 200; k++) {
                uint64_t a = k < NEDGE * NEDGE ? edge[k / NEDGE] : rnd();
                uint64_t b = k < NEDGE * NEDGE ? edge[k % NEDGE] : rnd();
                IrType ty = (IrType)t;
                uint64_t expect;
                if (!fold(ops[o], ty, 0, a, b, &expect)) {
                    CHECK(0, "%s did not fold", ir_opcode_name(ops[o]));
                    break;
                }
                uint64_t rr = interp_bin(ops[o], ty, 0, a, b, false);
                uint64_t ri = interp_bin(ops[o], ty, 0, a, b, true);
                CHECK(rr == expect && ri == expect,
                      "%s.%s(%#llx, %#llx): fold %#llx rr %#llx ri %#llx", ir_opcode_name(ops[o]),
                      t ? "i64" : "i32", (unsigned long long)a, (unsigned long long)b,
                      (unsigned long long)expect, (unsigned long long)rr, (unsigned long long)ri);
                if (ty == IR_I32)
                    CHECK(rr >> 32 == 0, "i32 result not zero-extended");
                checked++;
            }
        }
    }
    /* Conditions. */
    for (int c = 0; c < IR_COND_COUNT; c++) {
        for (int t = 0; t < 2; t++) {
            for (unsigned k = 0; k < NEDGE * NEDGE; k++) {
                uint64_t a = edge[k / NEDGE], b = edge[k % NEDGE], expect;
                if (!fold(IR_OP_SETCOND, (IrType)t, (uint16_t)c, a, b, &expect)) {
                    CHECK(0, "setcond %s did not fold", ir_cond_name((IrCond)c));
                    break;
                }
                uint64_t rr = interp_bin(IR_OP_SETCOND, (IrType)t, (uint16_t)c, a, b, false);
                uint64_t ri = interp_bin(IR_OP_SETCOND, (IrType)t, (uint16_t)c, a, b, true);
                CHECK(rr == expect && ri == expect, "setcond %s.%d(%#llx,%#llx) %llu/%llu/%llu",
                      ir_cond_name((IrCond)c), t, (unsigned long long)a, (unsigned long long)b,
                      (unsigned long long)expect, (unsigned long long)rr, (unsigned long long)ri);
                checked++;
            }
        }
    }
    printf("alu: %u cases checked\n", checked);
}

static void test_branches(void)
{
    /* brcond taken/not taken writes g0 = 1 / 2. */
    for (int c = 0; c < IR_COND_COUNT; c++) {
        for (unsigned k = 0; k < NEDGE * NEDGE; k += 7) {
            uint64_t a = edge[k / NEDGE], b = edge[k % NEDGE], expect;
            fold(IR_OP_SETCOND, IR_I64, (uint16_t)c, a, b, &expect);
            IrFunc f;
            ir_init(&f, &globals);
            unsigned l = ir_new_label(&f);
            ir_brcond(&f, IR_I64, (IrCond)c, ir_global(&f, 1), ir_global(&f, 2), l);
            ir_mov(&f, ir_global(&f, 0), ir_const(&f, IR_I64, 2));
            ir_goto_block(&f, 0x10);
            ir_label(&f, l);
            ir_mov(&f, ir_global(&f, 0), ir_const(&f, IR_I64, 1));
            ir_goto_block(&f, 0x20);
            cpu->g[1] = a;
            cpu->g[2] = b;
            run(&f);
            CHECK(cpu->g[0] == (expect ? 1u : 2u) && cpu->pc == (expect ? 0x20u : 0x10u),
                  "brcond %s", ir_cond_name((IrCond)c));
            ir_free(&f);
        }
    }
}

static void test_memory(void)
{
    uint8_t *ram = physmem_host_ptr(&machine.mem, 0x10000000, 0x100000, false);
    for (int i = 0; i < 0x2000; i++)
        ram[i] = (uint8_t)(i * 7 + 3);
    struct {
        uint64_t addr;
        unsigned log2;
        bool sign;
    } cases[] = {
        { 0x10000000, 3, false }, { 0x10000001, 3, false }, { 0x10000ffd, 3, false }, /* crossing */
        { 0x10000ffe, 2, true },  { 0x10000fff, 1, true },  { 0x10000010, 0, true },
        { 0x10000013, 2, false }, { 0x10000080, 1, false },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t expect = 0;
        unsigned size = 1u << cases[i].log2;
        memcpy(&expect, ram + (cases[i].addr - 0x10000000), size);
        if (cases[i].sign && size < 8)
            expect = (uint64_t)((int64_t)(expect << (64 - 8 * size)) >> (64 - 8 * size));
        for (int pass = 0; pass < 2; pass++) { /* miss, then hit */
            IrFunc f;
            ir_init(&f, &globals);
            IrVal v = ir_load(&f, IR_I64, IR_MEMFLAGS(cases[i].log2, cases[i].sign, false, 0),
                              ir_global(&f, 1), 0);
            ir_mov(&f, ir_global(&f, 0), v);
            ir_goto_block(&f, 0);
            cpu->g[1] = cases[i].addr;
            run(&f);
            CHECK(cpu->g[0] == expect, "load %u bytes at %#llx: %#llx != %#llx", size,
                  (unsigned long long)cases[i].addr, (unsigned long long)cpu->g[0],
                  (unsigned long long)expect);
            ir_free(&f);
        }
    }
    /* Store across a page boundary, then read back bytes. */
    IrFunc f;
    ir_init(&f, &globals);
    ir_store(&f, IR_MEMFLAGS(3, false, false, 0), ir_global(&f, 1), 0, ir_global(&f, 2));
    ir_goto_block(&f, 0);
    cpu->g[1] = 0x10001ffc;
    cpu->g[2] = 0x1122334455667788ull;
    run(&f);
    uint64_t back;
    memcpy(&back, ram + 0x1ffc, 8);
    CHECK(back == 0x1122334455667788ull, "crossing store");
    /* MMIO store and load. */
    cpu->g[1] = 0x20000010;
    cpu->g[2] = 0xabcd;
    ir_free(&f);
    ir_init(&f, &globals);
    ir_store(&f, IR_MEMFLAGS(2, false, false, 0), ir_global(&f, 1), 4, ir_global(&f, 2));
    IrVal v = ir_load(&f, IR_I64, IR_MEMFLAGS(1, false, false, 0), ir_global(&f, 1), 0);
    ir_mov(&f, ir_global(&f, 0), v);
    ir_goto_block(&f, 0);
    run(&f);
    CHECK(mmio_last_off == 0x14 && mmio_last_val == 0xabcd && mmio_last_size == 4, "mmio store");
    CHECK(cpu->g[0] == 0xA0 + 0x10 + 2, "mmio load %#llx", (unsigned long long)cpu->g[0]);
    ir_free(&f);
    /* Aligned-only access faults when misaligned; an unmapped address faults. */
    ir_init(&f, &globals);
    v = ir_load(&f, IR_I64, IR_MEMFLAGS(2, false, true, 0), ir_global(&f, 1), 0);
    ir_mov(&f, ir_global(&f, 0), v);
    ir_goto_block(&f, 0);
    cpu->g[1] = 0x10000002;
    CHECK(run(&f) == -2 && last_fault_kind == 2 && last_fault_addr == 0x10000002,
          "misaligned aligned-only load must fault");
    cpu->g[1] = 0x30000000;
    CHECK(run(&f) == -2 && last_fault_kind == 0, "unmapped load must page-fault");
    ir_free(&f);
    /* Atomics. */
    ir_init(&f, &globals);
    IrVal old = ir_atomic_rmw(&f, IR_I64, IR_MEMFLAGS(3, false, true, 0), IR_AMO_ADD,
                              ir_global(&f, 1), ir_global(&f, 2));
    ir_mov(&f, ir_global(&f, 0), old);
    IrVal o2 = ir_cmpxchg(&f, IR_I32, IR_MEMFLAGS(2, false, true, 0), ir_global(&f, 3),
                          ir_const(&f, IR_I32, 5), ir_const(&f, IR_I32, 9));
    ir_mov(&f, ir_global(&f, 2), o2);
    ir_goto_block(&f, 0);
    uint64_t init = 40;
    memcpy(ram + 0x100, &init, 8);
    uint32_t five = 5;
    memcpy(ram + 0x200, &five, 4);
    cpu->g[1] = 0x10000100;
    cpu->g[2] = 2;
    cpu->g[3] = 0x10000200;
    run(&f);
    uint64_t now;
    uint32_t w;
    memcpy(&now, ram + 0x100, 8);
    memcpy(&w, ram + 0x200, 4);
    CHECK(cpu->g[0] == 40 && now == 42, "amoadd");
    CHECK(cpu->g[2] == 5 && w == 9, "cmpxchg");
    ir_free(&f);
}

/* A block at vpc from a finished function (kept until the caller frees it). */
static VsBlock *make_block(IrFunc *f, uint64_t vpc)
{
    unsigned n, nc, nm;
    if (!interp_size(f, &n, &nc, &nm))
        abort();
    VsBlock *b = calloc(1, sizeof(VsBlock) + n * sizeof(InterpInsn) + nc * sizeof(InterpCall) +
                               (nm + 1) * sizeof(VsInsnMap));
    b->code = (InterpInsn *)(b + 1);
    b->ncode = n;
    InterpCall *calls = (InterpCall *)(b->code + n);
    b->insn_map = (VsInsnMap *)(calls + nc);
    interp_compile(f, b->code, calls, b->insn_map, &b->ninsn_map);
    b->vpc = vpc;
    b->mode = cpu->common.mode;
    atomic_store(&b->valid, true);
    return b;
}

static int exec_block(VsBlock *b)
{
    if (sigsetjmp(cpu->common.unwind, 0) == 0)
        return interp_exec(&cpu->common, b);
    return -2;
}

/* Direct exits cache a successor on the same guest page, never across pages, and never
 * follow one that was invalidated. */
static void test_chaining(void)
{
    IrFunc f1, f2, f3;
    ir_init(&f1, &globals);
    ir_goto_block(&f1, 0x10000100);
    ir_init(&f2, &globals);
    ir_emit(&f2, IR_OP_ADD, IR_I64, 0, ir_global(&f2, 0), ir_global(&f2, 0),
            ir_const(&f2, IR_I64, 1), IR_NONE, 0);
    ir_goto_block(&f2, 0x10000200);
    ir_init(&f3, &globals);
    ir_goto_block(&f3, 0x10000100);
    VsBlock *b1 = make_block(&f1, 0x10000000), *b2 = make_block(&f2, 0x10000100);
    VsBlock *b3 = make_block(&f3, 0x10001000); /* another page */
    JmpCacheEntry *je = &cpu->common.jmp_cache[jmp_cache_hash(0x10000100)];

    memset(cpu->common.jmp_cache, 0, JMP_CACHE_SIZE * sizeof(JmpCacheEntry));
    *je = (JmpCacheEntry){ 0x10000100, cpu->common.mode, b2 };
    cpu->g[0] = 0;
    CHECK(exec_block(b1) == INTERP_RET_LOOKUP && cpu->pc == 0x10000200 && cpu->g[0] == 1,
          "b1 -> b2 through the jump cache");
    CHECK(b1->code[b1->ncode - 1].chain == b2, "same-page exit cached its successor");
    CHECK(exec_block(b3) == INTERP_RET_LOOKUP && cpu->g[0] == 2, "b3 -> b2 through the cache");
    CHECK(b3->code[b3->ncode - 1].chain == NULL, "a cross-page exit must not be cached");

    je->block = NULL; /* b2 leaves the jump cache: only the chain reaches it now */
    CHECK(exec_block(b1) == INTERP_RET_LOOKUP && cpu->pc == 0x10000200 && cpu->g[0] == 3,
          "b1 -> b2 through the chain");
    CHECK(exec_block(b3) == INTERP_RET_LOOKUP && cpu->pc == 0x10000100 && cpu->g[0] == 3,
          "b3 has no chain: lookup");

    atomic_store(&b2->valid, false);
    CHECK(exec_block(b1) == INTERP_RET_LOOKUP && cpu->pc == 0x10000100 && cpu->g[0] == 3,
          "an invalidated successor is not followed");
    interp_unchain(b1->code, b1->ncode);
    CHECK(b1->code[b1->ncode - 1].chain == NULL, "unchain clears the cached successor");
    free(b1);
    free(b2);
    free(b3);
    ir_free(&f1);
    ir_free(&f2);
    ir_free(&f3);
}

/* Single-page jump-cache flushes (sfence.vma with an address) drop that page's entries,
 * keep the others, and skip the scan for pages no entry was noted for. */
static void test_jmp_cache_flush_page(void)
{
    VsCpu *c = &cpu->common;
    static VsBlock dummy;
    const uint64_t pcs[3] = { 0x400000, 0x400ffe, 0x401000 };
    jmp_cache_flush(c);
    for (unsigned i = 0; i < 3; i++) {
        jmp_cache_note_page(c, pcs[i]);
        JmpCacheEntry *je = &c->jmp_cache[jmp_cache_hash(pcs[i])];
        je->vpc = pcs[i];
        je->block = &dummy;
    }
    jmp_cache_flush_page(c, 0x400abc);
    CHECK(!c->jmp_cache[jmp_cache_hash(pcs[0])].block, "entry of the flushed page kept");
    CHECK(!c->jmp_cache[jmp_cache_hash(pcs[1])].block, "entry of the flushed page kept");
    CHECK(c->jmp_cache[jmp_cache_hash(pcs[2])].block == &dummy, "other page's entry dropped");
    /* An entry made without noting its page is outside the contract: its page's flush
     * does not scan, which shows the skip happens. A full flush clears the notes. */
    const uint64_t unnoted = 0x7000002;
    JmpCacheEntry *je = &c->jmp_cache[jmp_cache_hash(unnoted)];
    je->vpc = unnoted;
    je->block = &dummy;
    jmp_cache_flush_page(c, unnoted);
    CHECK(je->block == &dummy, "a page with no note was scanned");
    jmp_cache_note_page(c, unnoted);
    jmp_cache_flush_page(c, unnoted);
    CHECK(!je->block, "a noted page was not flushed");
    jmp_cache_flush(c);
    for (unsigned i = 0; i < JMP_PAGE_BITS / 64; i++)
        CHECK(c->jmp_pages[i] == 0, "a full flush keeps page notes");
}

int main(void)
{
    setup();
    test_alu();
    test_branches();
    test_memory();
    test_chaining();
    test_jmp_cache_flush_page();
    printf("%s: %d failure(s)\n", fails ? "FAIL" : "PASS", fails);
    return fails ? 1 : 0;
}
