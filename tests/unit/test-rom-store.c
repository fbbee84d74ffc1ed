/* SPDX-License-Identifier: MIT */
/*
 * Guest stores to ROM through both execution tiers: IR blocks run by the interpreter and by
 * the JIT against a real physical map (RAM, then a ROM page right after it) and the real
 * software TLB. A ROM page's write tag carries TLB_ROM, so the inline store of either tier
 * never hits on it: every store to ROM goes to mmu_store_slow (counted here by wrapping it
 * at link time) and is dropped there, of every size, aligned or not, and the RAM half of a
 * store that crosses from RAM into ROM is written. Loads from ROM stay inline hits. An
 * atomic on ROM raises the access fault. Stores to RAM, once the TLB holds the page, never
 * reach mmu_store_slow.
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/blocks.h"
#include "core/cpu.h"
#include "core/machine.h"
#include "ir/interp.h"
#include "ir/ir.h"
#include "jit/jit.h"

#define RAM_BASE 0x10000000ull
#define RAM_SIZE 0x4000ull
#define ROM_BASE (RAM_BASE + RAM_SIZE) /* adjacent: a store can cross from RAM into ROM */
#define ROM_SIZE 0x1000ull
#define BAD      0x30000000ull

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

/* ---- the slow store path, counted ---- */

void __real_mmu_store_slow(VsCpu *cpu, uint64_t vaddr, uint64_t value, unsigned flags);
void __wrap_mmu_store_slow(VsCpu *cpu, uint64_t vaddr, uint64_t value, unsigned flags);

static unsigned slow_stores;

void __wrap_mmu_store_slow(VsCpu *cpu, uint64_t vaddr, uint64_t value, unsigned flags)
{
    slow_stores++;
    __real_mmu_store_slow(cpu, vaddr, value, flags);
}

/* ---- machine fixture: identity mapping, read/write/execute everywhere below BAD ---- */

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

static bool fault_hit;
static uint64_t fault_addr;
static int fault_kind;

static __attribute__((noreturn)) void t_raise(VsCpu *cpu, uint64_t vaddr, int access, int kind)
{
    (void)access;
    fault_hit = true;
    fault_addr = vaddr;
    fault_kind = kind;
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

static VsMachine machine;
static TestCpu *cpu;
static VsCpu *cpus[1];
static uint8_t *ram, *rom;
static uint8_t rom_image[ROM_SIZE];
static JitState *js; /* NULL when the host cannot run generated code */

/* ---- blocks, run by one tier ---- */

enum Tier { TIER_INTERP, TIER_JIT };
static const char *const tier_name[] = { "interpreter", "JIT" };

static VsBlock *make_block(const IrFunc *f, enum Tier tier)
{
    unsigned n, nc, nm;
    if (!interp_size(f, &n, &nc, &nm))
        return NULL;
    VsBlock *b = calloc(1, sizeof(VsBlock) + n * sizeof(InterpInsn) + nc * sizeof(InterpCall) +
                               (nm + 1) * sizeof(VsInsnMap));
    if (!b)
        return NULL;
    b->code = (InterpInsn *)(b + 1);
    InterpCall *calls = (InterpCall *)(b->code + n);
    b->insn_map = (VsInsnMap *)(calls + nc);
    b->ncode = n;
    interp_compile(f, b->code, calls, b->insn_map, &b->ninsn_map);
    b->vpc = 0x80001000;
    b->ppc2 = UINT64_MAX;
    atomic_store(&b->valid, true);
    if (tier == TIER_JIT && (!jit_compile(js, b, f) || !b->jit_code)) {
        free(b->jit_links);
        free(b);
        return NULL;
    }
    return b;
}

static void free_block(VsBlock *b)
{
    free(b->jit_links);
    free(b);
}

/* Run b once; -2 when a guest fault unwound out of it. */
static int run(VsBlock *b, enum Tier tier)
{
    fault_hit = false;
    cpu->common.in_exec = true;
    int r;
    if (sigsetjmp(cpu->common.unwind, 0) == 0)
        r = tier == TIER_JIT ? jit_exec_block(&cpu->common, b) : interp_exec(&cpu->common, b);
    else
        r = -2;
    cpu->common.in_exec = false;
    return r;
}

/* A block: `stores` stores of 1 << log2 bytes of g2 at g1 + offsets[i], then g0 = the 8
 * bytes at g3 (a load). */
static void build(IrFunc *f, unsigned log2, const int32_t *offsets, unsigned stores)
{
    ir_reset(f);
    ir_insn_start(f, 0x80001000);
    for (unsigned i = 0; i < stores; i++)
        ir_store(f, IR_MEMFLAGS(log2, false, false, 0), ir_global(f, 1), offsets[i],
                 ir_global(f, 2));
    ir_mov(f, ir_global(f, 0),
           ir_load(f, IR_I64, IR_MEMFLAGS(3, false, false, 0), ir_global(f, 3), 0));
    ir_goto_block(f, 0x80002000);
}

/* One line per test: "ok" when none of its checks failed since f0 was taken. */
static void report(int f0, const char *what, const char *tier)
{
    printf("%s: %s (%s)\n", g_fail == f0 ? "ok" : "FAIL", what, tier);
}

static bool rom_intact(void)
{
    return memcmp(rom, rom_image, ROM_SIZE) == 0;
}

static uint64_t rom_word(uint64_t off)
{
    uint64_t v;
    memcpy(&v, rom_image + off, 8);
    return v;
}

/* What the inline fast path of both tiers compares for a store of `size` bytes at va. */
static bool store_would_hit(uint64_t va, unsigned size)
{
    const TlbEntry *e = tlb_entry(&cpu->common.tlb[0], va);
    return (va & (GUEST_PAGE_MASK | (size - 1))) == e->addr_write;
}

/* ---- tests ---- */

/* Stores of every size into ROM, aligned and not: each one reaches the slow path and is
 * dropped, on the first run (TLB miss) and on the second (the entry is in the TLB). */
static void test_rom_stores(enum Tier tier, IrFunc *f)
{
    int f0 = g_fail;
    for (unsigned log2 = 0; log2 < 4; log2++) {
        unsigned size = 1u << log2;
        const int32_t offsets[] = { 0x40, 0x81, (int32_t)(ROM_SIZE - size) };
        build(f, log2, offsets, 3);
        VsBlock *b = make_block(f, tier);
        CHECK(b != NULL);
        if (!b)
            continue;
        tlb_flush_all(&cpu->common);
        for (unsigned pass = 0; pass < 2; pass++) {
            cpu->g[0] = 0;
            cpu->g[1] = ROM_BASE;
            cpu->g[2] = 0xa5a5a5a5a5a5a5a5ull ^ rom_word(0x40);
            cpu->g[3] = ROM_BASE + 0x40;
            unsigned before = slow_stores;
            CHECK_EQ(run(b, tier), INTERP_RET_LOOKUP);
            CHECK(!fault_hit);                   /* dropped, not an access fault */
            CHECK_EQ(slow_stores - before, 3);   /* every ROM store took the slow path */
            CHECK(rom_intact());                 /* and wrote nothing */
            CHECK_EQ(cpu->g[0], rom_word(0x40)); /* the load reads the ROM */
        }
        const TlbEntry *e = tlb_entry(&cpu->common.tlb[0], ROM_BASE);
        CHECK(e->addr_write & TLB_ROM);
        CHECK(!(e->addr_write & TLB_MMIO));
        CHECK_EQ(e->addr_read, ROM_BASE); /* loads from ROM are inline hits */
        CHECK(!store_would_hit(ROM_BASE + 0x40, size));
        free_block(b);
    }
    report(f0, "stores to ROM of 1, 2, 4 and 8 bytes dropped through the slow path",
           tier_name[tier]);
}

/* Stores to RAM: after the first run has filled the TLB, none reaches the slow path. A
 * store to ROM in the same block still does, and the RAM stores after it stay inline. */
static void test_ram_stores(enum Tier tier, IrFunc *f)
{
    int f0 = g_fail;
    for (unsigned log2 = 0; log2 < 4; log2++) {
        unsigned size = 1u << log2;
        const int32_t offsets[] = { 0x100, 0x208, 0x3f8 };
        build(f, log2, offsets, 3);
        VsBlock *b = make_block(f, tier);
        CHECK(b != NULL);
        if (!b)
            continue;
        tlb_flush_all(&cpu->common);
        for (unsigned pass = 0; pass < 2; pass++) {
            memset(ram, 0, RAM_SIZE);
            cpu->g[1] = RAM_BASE + 0x1000;
            cpu->g[2] = 0x0102030405060708ull + pass;
            cpu->g[3] = RAM_BASE + 0x1100;
            unsigned before = slow_stores;
            CHECK_EQ(run(b, tier), INTERP_RET_LOOKUP);
            /* The first run misses once (the page is not in the TLB yet), then hits. */
            CHECK_EQ(slow_stores - before, pass == 0 ? 1 : 0);
            for (unsigned i = 0; i < 3; i++) {
                uint64_t got = 0;
                memcpy(&got, ram + 0x1000 + offsets[i], size);
                CHECK_EQ(got, cpu->g[2] & (size == 8 ? ~0ull : (1ull << (8 * size)) - 1));
            }
        }
        CHECK(store_would_hit(RAM_BASE + 0x1100, size));
        free_block(b);
    }

    /* RAM, ROM, RAM in one block: the JIT's slow path for the ROM store resumes into the
     * next inline store. */
    ir_reset(f);
    ir_insn_start(f, 0x80001000);
    ir_store(f, IR_MEMFLAGS(3, false, false, 0), ir_global(f, 1), 0, ir_global(f, 2));
    ir_store(f, IR_MEMFLAGS(3, false, false, 0), ir_global(f, 3), 0, ir_global(f, 2));
    ir_store(f, IR_MEMFLAGS(2, false, false, 0), ir_global(f, 1), 8, ir_global(f, 2));
    ir_goto_block(f, 0x80002000);
    VsBlock *b = make_block(f, tier);
    CHECK(b != NULL);
    if (b) {
        tlb_flush_all(&cpu->common);
        for (unsigned pass = 0; pass < 2; pass++) {
            memset(ram, 0, RAM_SIZE);
            cpu->g[1] = RAM_BASE + 0x2000;
            cpu->g[2] = 0x1122334455667788ull;
            cpu->g[3] = ROM_BASE + 0x10;
            unsigned before = slow_stores;
            CHECK_EQ(run(b, tier), INTERP_RET_LOOKUP);
            CHECK_EQ(slow_stores - before, pass == 0 ? 2 : 1); /* only the ROM store */
            uint64_t w0;
            uint32_t w1;
            memcpy(&w0, ram + 0x2000, 8);
            memcpy(&w1, ram + 0x2008, 4);
            CHECK_EQ(w0, 0x1122334455667788ull);
            CHECK_EQ(w1, 0x55667788u);
            CHECK(rom_intact());
        }
        free_block(b);
    }
    report(f0, "stores to RAM stay inline, next to a store to ROM", tier_name[tier]);
}

/* An 8-byte store across the end of RAM into ROM writes its RAM bytes only. An atomic on
 * ROM raises the access fault (kind 1) and changes nothing. */
static void test_crossing_and_atomic(enum Tier tier, IrFunc *f)
{
    int f0 = g_fail;
    const int32_t off[] = { 0 };
    build(f, 3, off, 1);
    VsBlock *b = make_block(f, tier);
    CHECK(b != NULL);
    if (b) {
        tlb_flush_all(&cpu->common);
        for (unsigned pass = 0; pass < 2; pass++) {
            memset(ram, 0, RAM_SIZE);
            cpu->g[1] = ROM_BASE - 3;
            cpu->g[2] = 0x8877665544332211ull;
            cpu->g[3] = ROM_BASE;
            CHECK_EQ(run(b, tier), INTERP_RET_LOOKUP);
            CHECK(!fault_hit);
            CHECK_EQ(ram[RAM_SIZE - 3], 0x11);
            CHECK_EQ(ram[RAM_SIZE - 2], 0x22);
            CHECK_EQ(ram[RAM_SIZE - 1], 0x33);
            CHECK(rom_intact());
            CHECK_EQ(cpu->g[0], rom_word(0));
        }
        free_block(b);
    }

    ir_reset(f);
    ir_insn_start(f, 0x80001000);
    IrVal old = ir_cmpxchg(f, IR_I64, IR_MEMFLAGS(3, false, true, 0), ir_global(f, 1),
                           ir_global(f, 2), ir_global(f, 3));
    ir_mov(f, ir_global(f, 0), old);
    ir_goto_block(f, 0x80002000);
    b = make_block(f, tier);
    CHECK(b != NULL);
    if (b) {
        tlb_flush_all(&cpu->common);
        for (unsigned pass = 0; pass < 2; pass++) {
            cpu->g[0] = 0x77;
            cpu->g[1] = ROM_BASE + 0x20;
            cpu->g[2] = rom_word(0x20); /* would succeed on RAM */
            cpu->g[3] = ~rom_word(0x20);
            CHECK_EQ(run(b, tier), -2);
            CHECK(fault_hit);
            CHECK_EQ(fault_addr, ROM_BASE + 0x20);
            CHECK_EQ(fault_kind, 1);
            CHECK_EQ(cpu->g[0], 0x77);
            CHECK(rom_intact());
        }
        free_block(b);
    }
    report(f0, "a store from RAM into ROM, an atomic on ROM", tier_name[tier]);
}

int main(void)
{
    for (unsigned i = 0; i < ROM_SIZE; i++)
        rom_image[i] = (uint8_t)(i * 13 + 7);
    physmem_init(&machine.mem);
    MemRegion *r = physmem_add_ram(&machine.mem, "ram", RAM_BASE, RAM_SIZE);
    MemRegion *o = physmem_add_rom(&machine.mem, "rom", ROM_BASE, ROM_SIZE, rom_image, ROM_SIZE);
    if (!r || !o) {
        printf("cannot build the physical map\n");
        return 1;
    }
    ram = r->host;
    rom = o->host;
    machine.blocks = blocks_create(0);
    cpu = aligned_alloc(64, (sizeof(TestCpu) + 63) & ~(size_t)63);
    if (!cpu || !machine.blocks)
        abort();
    memset(cpu, 0, sizeof(*cpu));
    cpu->common.ops = &test_arch;
    cpu->common.machine = &machine;
    if (!tlb_init(&cpu->common))
        abort();
    cpu->common.jmp_cache = calloc(JMP_CACHE_SIZE, sizeof(JmpCacheEntry));
    cpus[0] = &cpu->common;
    machine.cpus = cpus;
    machine.ncpus = 1;

    IrFunc f;
    ir_init(&f, &globals);
    test_rom_stores(TIER_INTERP, &f);
    test_ram_stores(TIER_INTERP, &f);
    test_crossing_and_atomic(TIER_INTERP, &f);

    bool jit_ran = false;
    if (jit_host_supported()) {
        js = jit_create(16u << 20, false);
        CHECK(js != NULL);
        if (js) {
            machine.jit = js;
            test_rom_stores(TIER_JIT, &f);
            test_ram_stores(TIER_JIT, &f);
            test_crossing_and_atomic(TIER_JIT, &f);
            jit_ran = true;
        }
    }

    ir_free(&f);
    if (js)
        jit_destroy(js);
    blocks_destroy(machine.blocks);
    tlb_destroy(&cpu->common);
    free(cpu->common.jmp_cache);
    free(cpu);
    physmem_destroy(&machine.mem);
    printf("%d checks passed, %d failed\n", g_pass, g_fail);
    if (g_fail)
        return 1;
    if (!jit_ran) {
        printf("SKIP: the JIT cannot run on this host (x86-64 only); the interpreter passed\n");
        return 77;
    }
    return 0;
}
