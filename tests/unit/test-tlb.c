/* SPDX-License-Identifier: MIT */
/*
 * The software TLB (engine/mmu/softmmu.c) on a small machine: RAM, ROM and MMIO, and a
 * fake page walker that counts its walks. Checks the dynamic sizing (growth when the
 * working set does not fit, the upper bound, shrinking after lightly used flushes), the
 * victim TLB, flushes by page, by MMU index and in full, and that the CODE, MMIO and
 * ROM flags survive every path an entry can take (fill, victim round trip, resize).
 * The block cache is a fake that records which pages a store invalidated.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/blocks.h"
#include "core/cpu.h"
#include "core/machine.h"
#include "ir/ir.h"

#define RAM_BASE  0x10000000ull
#define RAM_PAGES 256u
#define MMIO_BASE 0x20000000ull
#define ROM_BASE  0x30000000ull
/* Virtual addresses from here map onto RAM page (vpage % RAM_PAGES): many virtual pages,
 * little RAM. Below it the mapping is the identity. */
#define ALIAS_BASE 0x100000000ull
/* From here every access page-faults. */
#define FAULT_BASE 0x800000000000ull

/* ---- fakes: the block cache and the arch hooks ---- */

static unsigned invalidations;
static uint64_t last_invalidated;
/* As the block cache does: the page's translations go, and with them its code mark;
 * with remark set, another vCPU translates from the page again meanwhile. */
static bool remark;

bool blocks_invalidate_page(VsMachine *m, uint64_t paddr)
{
    invalidations++;
    last_invalidated = paddr;
    mmu_clear_code_page(m, paddr & GUEST_PAGE_MASK);
    if (remark)
        mmu_mark_code_page(m, paddr & GUEST_PAGE_MASK);
    return true;
}

/* A store's invalidation: the exact bytes written; with keep, blocks elsewhere in the page
 * survive it, and so does the page's code mark. */
static unsigned last_size;
static bool keep;

bool blocks_invalidate_write(VsMachine *m, uint64_t paddr, unsigned size)
{
    last_size = size;
    if (keep) {
        invalidations++;
        last_invalidated = paddr;
        return true;
    }
    return blocks_invalidate_page(m, paddr);
}

static unsigned walks;
static bool t_fill(VsCpu *cpu, uint64_t vaddr, int access, unsigned idx, uint64_t *paddr, int *prot,
                   uint64_t *ps, int *kind)
{
    (void)cpu, (void)access, (void)idx;
    walks++;
    if (vaddr >= FAULT_BASE) {
        *kind = 0;
        return false;
    }
    if (vaddr >= ALIAS_BASE)
        *paddr = RAM_BASE + (((vaddr >> GUEST_PAGE_BITS) % RAM_PAGES) << GUEST_PAGE_BITS) +
                 (vaddr & ~GUEST_PAGE_MASK);
    else
        *paddr = vaddr;
    *prot = MMU_PROT_R | MMU_PROT_W | MMU_PROT_X;
    *ps = GUEST_PAGE_SIZE;
    return true;
}

static unsigned faults;
static __attribute__((noreturn)) void t_raise(VsCpu *cpu, uint64_t vaddr, int access, int kind)
{
    (void)vaddr, (void)access, (void)kind;
    faults++;
    siglongjmp(cpu->unwind, 1);
}

static const VsArchOps test_arch = {
    .name = "test",
    .cpu_size = sizeof(VsCpu),
    .mmu_modes = 3,
    .tlb_fill = t_fill,
    .raise_mmu_fault = t_raise,
};

static uint64_t mmio_reads, mmio_writes;
static uint64_t mmio_read(void *o, uint64_t off, unsigned size)
{
    (void)o;
    mmio_reads++;
    return 0x5500 + off + size;
}
static void mmio_write(void *o, uint64_t off, uint64_t v, unsigned size)
{
    (void)o, (void)off, (void)v, (void)size;
    mmio_writes++;
}
static const MmioOps mmio_ops = { mmio_read, mmio_write };

static VsMachine machine;
static VsCpu *cpus[2];

static VsCpu *new_cpu(void)
{
    VsCpu *c = aligned_alloc(64, (sizeof(VsCpu) + 63) & ~(size_t)63);
    if (!c)
        abort();
    memset(c, 0, sizeof(*c));
    c->ops = &test_arch;
    c->machine = &machine;
    if (!tlb_init(c))
        abort();
    return c;
}

/* ---- helpers ---- */

static unsigned idx_flags(unsigned idx, unsigned log2size)
{
    return (idx << IR_MEM_IDX_SHIFT) | log2size;
}

/* A 64-bit load through the slow path (which also serves TLB hits); -1 when it faulted. */
static uint64_t load(VsCpu *c, unsigned idx, uint64_t va)
{
    c->in_exec = true;
    if (sigsetjmp(c->unwind, 0))
        return UINT64_MAX;
    return mmu_load_slow(c, va, idx_flags(idx, 3));
}

static void store(VsCpu *c, unsigned idx, uint64_t va, uint64_t v)
{
    c->in_exec = true;
    if (sigsetjmp(c->unwind, 0))
        return;
    mmu_store_slow(c, va, v, idx_flags(idx, 3));
}

/* What the inline lookups (interpreter and JIT) would see for a load of va. */
static bool inline_hit(VsCpu *c, unsigned idx, uint64_t va)
{
    const TlbEntry *e = tlb_entry(&c->tlb[idx], va);
    return (va & (GUEST_PAGE_MASK | 7)) == e->addr_read;
}

static uint64_t *ram_word(uint64_t paddr)
{
    return physmem_host_ptr(&machine.mem, paddr, 8, false);
}

/* ---- tests ---- */

static void test_init_and_fill(void)
{
    VsCpu *c = cpus[0];
    for (unsigned i = 0; i < TLB_MAX_MMU_IDX; i++)
        CHECK_EQ(tlb_size(c, i), 1u << TLB_INIT_BITS);
    CHECK_EQ(c->tlb[0].mask, ((1u << TLB_INIT_BITS) - 1) << TLB_ENTRY_BITS);
    *ram_word(RAM_BASE + 0x2008) = 0x1122334455667788ull;
    CHECK(!inline_hit(c, 0, RAM_BASE + 0x2008));
    unsigned w = walks;
    CHECK_EQ(load(c, 0, RAM_BASE + 0x2008), 0x1122334455667788ull);
    CHECK_EQ(walks, w + 1);
    CHECK(inline_hit(c, 0, RAM_BASE + 0x2008));
    CHECK(!inline_hit(c, 0, RAM_BASE + 0x2009)); /* misaligned: not a fast-path hit */
    CHECK(!inline_hit(c, 1, RAM_BASE + 0x2008)); /* another MMU index */
    CHECK_EQ(load(c, 0, RAM_BASE + 0x2008), 0x1122334455667788ull);
    CHECK_EQ(walks, w + 1); /* hit: no second walk */
    /* A fault fills nothing. */
    unsigned f = faults;
    CHECK_EQ(load(c, 0, FAULT_BASE + 0x10), UINT64_MAX);
    CHECK_EQ(faults, f + 1);
    CHECK(!inline_hit(c, 0, FAULT_BASE + 0x10));
}

static void test_grow(void)
{
    VsCpu *c = cpus[0];
    tlb_flush_all(c);
    /* A working set of 4 Ki pages does not fit in the initial 1 Ki entries. */
    const unsigned pages = 4096;
    for (unsigned pass = 0; pass < 6; pass++)
        for (unsigned p = 0; p < pages; p++)
            load(c, 2, ALIAS_BASE + ((uint64_t)p << GUEST_PAGE_BITS));
    CHECK(tlb_size(c, 2) >= pages);
    CHECK(tlb_size(c, 2) <= 4 * pages);
    CHECK_EQ(tlb_size(c, 0), 1u << TLB_INIT_BITS); /* the other indexes did not grow */
    CHECK_EQ(c->tlb[2].mask, (uintptr_t)(tlb_size(c, 2) - 1) << TLB_ENTRY_BITS);
    /* Now the working set fits: another pass walks nothing and every page hits inline. */
    unsigned w = walks, hits = 0;
    for (unsigned p = 0; p < pages; p++) {
        uint64_t va = ALIAS_BASE + ((uint64_t)p << GUEST_PAGE_BITS);
        CHECK_EQ(load(c, 2, va), *ram_word(RAM_BASE + ((p % RAM_PAGES) << GUEST_PAGE_BITS)));
        hits += inline_hit(c, 2, va);
    }
    CHECK_EQ(walks, w);
    CHECK_EQ(hits, pages);
    CHECK(c->stats.tlb_resizes >= 2);
}

static void test_max_size(void)
{
    VsCpu *c = cpus[0];
    /* Far more pages than the largest table holds: it stops at TLB_MAX_BITS. */
    const unsigned pages = 4u << TLB_MAX_BITS;
    for (unsigned p = 0; p < pages; p++)
        load(c, 2, ALIAS_BASE + ((uint64_t)p << GUEST_PAGE_BITS));
    CHECK_EQ(tlb_size(c, 2), 1u << TLB_MAX_BITS);
    CHECK_EQ(c->tlb[2].mask, ((1ull << TLB_MAX_BITS) - 1) << TLB_ENTRY_BITS);
    /* The last pages are there and correct. */
    uint64_t va = ALIAS_BASE + ((uint64_t)(pages - 1) << GUEST_PAGE_BITS);
    CHECK(inline_hit(c, 2, va));
}

static void test_shrink(void)
{
    VsCpu *c = cpus[0];
    CHECK_EQ(tlb_size(c, 2), 1u << TLB_MAX_BITS);
    /* Lightly used between flushes (a few pages): each window of flushes halves it, except
     * the first, whose first flush found the table full. */
    unsigned prev = tlb_size(c, 2), windows = 0;
    while (tlb_size(c, 2) > (1u << TLB_MIN_BITS) && windows < 64) {
        for (unsigned f = 0; f < TLB_SHRINK_WINDOW; f++) {
            for (unsigned p = 0; p < 4; p++)
                load(c, 2, ALIAS_BASE + ((uint64_t)p << GUEST_PAGE_BITS));
            tlb_flush_mask(c, 1u << 2);
        }
        windows++;
        CHECK_EQ(tlb_size(c, 2), windows == 1 ? prev : prev / 2);
        prev = tlb_size(c, 2);
    }
    CHECK_EQ(tlb_size(c, 2), 1u << TLB_MIN_BITS);
    CHECK_EQ(windows, 1 + TLB_MAX_BITS - TLB_MIN_BITS);
    /* Never below the minimum; and a shrunk table starts empty and still works. */
    for (unsigned f = 0; f < 2 * TLB_SHRINK_WINDOW; f++)
        tlb_flush_mask(c, 1u << 2);
    CHECK_EQ(tlb_size(c, 2), 1u << TLB_MIN_BITS);
    for (unsigned p = 0; p < 4; p++)
        CHECK(!inline_hit(c, 2, ALIAS_BASE + ((uint64_t)p << GUEST_PAGE_BITS)));
    *ram_word(RAM_BASE + 0x3000) = 42;
    CHECK_EQ(load(c, 2, ALIAS_BASE + 0x3000), 42);
    CHECK(inline_hit(c, 2, ALIAS_BASE + 0x3000));

    /* A busy table (more than 1/8 used at each flush) keeps its size. */
    tlb_flush_all(c);
    unsigned size = tlb_size(c, 0);
    for (unsigned f = 0; f < 2 * TLB_SHRINK_WINDOW; f++) {
        for (unsigned p = 0; p < size / 4; p++)
            load(c, 0, ALIAS_BASE + ((uint64_t)p << GUEST_PAGE_BITS));
        tlb_flush_mask(c, 1u << 0);
    }
    CHECK_EQ(tlb_size(c, 0), size);
}

static void test_flush_skips_empty(void)
{
    VsCpu *c = cpus[0];
    tlb_flush_all(c);
    uint64_t n = c->stats.tlb_flushes;
    tlb_flush_all(c); /* nothing filled since: nothing to clear */
    CHECK_EQ(c->stats.tlb_flushes, n);
    load(c, 1, RAM_BASE);
    tlb_flush_all(c);
    CHECK_EQ(c->stats.tlb_flushes, n + 1);
    CHECK(!inline_hit(c, 1, RAM_BASE));
}

/* Two virtual pages that share a slot of index idx. */
static void conflicting_pages(VsCpu *c, unsigned idx, uint64_t *a, uint64_t *b)
{
    *a = ALIAS_BASE + 0x5000;
    *b = *a + ((uint64_t)tlb_size(c, idx) << GUEST_PAGE_BITS);
    CHECK(tlb_entry(&c->tlb[idx], *a) == tlb_entry(&c->tlb[idx], *b));
}

/* A flush after few fills clears just the logged slots; every way a slot gets filled must
 * be logged, or a stale entry would survive the flush. */
static void test_flush_partial(void)
{
    VsCpu *c = cpus[0];
    const unsigned counts[] = { 1, TLB_FILL_LOG - 1, TLB_FILL_LOG, TLB_FILL_LOG + 1, 300 };
    for (unsigned k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        tlb_flush_all(c);
        for (unsigned p = 0; p < counts[k]; p++)
            load(c, 0, ALIAS_BASE + ((uint64_t)p << GUEST_PAGE_BITS));
        tlb_flush_mask(c, 1u << 0);
        unsigned stale = 0;
        for (unsigned p = 0; p < counts[k]; p++)
            stale += inline_hit(c, 0, ALIAS_BASE + ((uint64_t)p << GUEST_PAGE_BITS));
        CHECK_EQ(stale, 0);
    }
    /* A slot refilled from the victim TLB after a page flush emptied it. */
    tlb_flush_all(c);
    uint64_t a, b;
    conflicting_pages(c, 0, &a, &b);
    load(c, 0, a);
    load(c, 0, b);                      /* a -> victim */
    tlb_flush_page_mask(c, b, 1u << 0); /* the slot is empty again */
    unsigned w = walks;
    load(c, 0, a); /* from the victim TLB into the empty slot */
    CHECK_EQ(walks, w);
    tlb_flush_mask(c, 1u << 0);
    CHECK(!inline_hit(c, 0, a));
    /* A slot filled right after a growth. */
    tlb_flush_all(c);
    unsigned before = tlb_size(c, 0);
    uint64_t last = 0;
    for (unsigned p = 0; tlb_size(c, 0) == before; p++)
        load(c, 0, last = ALIAS_BASE + ((uint64_t)p << GUEST_PAGE_BITS));
    CHECK(inline_hit(c, 0, last));
    tlb_flush_mask(c, 1u << 0);
    CHECK(!inline_hit(c, 0, last));
}

static void test_victim(void)
{
    VsCpu *c = cpus[0];
    tlb_flush_all(c);
    uint64_t a, b;
    conflicting_pages(c, 0, &a, &b);
    *ram_word(RAM_BASE + (((a >> GUEST_PAGE_BITS) % RAM_PAGES) << GUEST_PAGE_BITS)) = 0xAAAA;
    CHECK_EQ(load(c, 0, a), 0xAAAA);
    load(c, 0, b); /* evicts a into the victim TLB */
    CHECK(inline_hit(c, 0, b));
    CHECK(!inline_hit(c, 0, a));
    unsigned w = walks;
    uint64_t vh = c->stats.tlb_victim_hits, misses = c->stats.tlb_misses;
    CHECK_EQ(load(c, 0, a), 0xAAAA); /* from the victim: no walk */
    CHECK_EQ(walks, w);
    CHECK_EQ(c->stats.tlb_victim_hits, vh + 1);
    CHECK_EQ(c->stats.tlb_misses, misses + 1);
    CHECK(inline_hit(c, 0, a));
    CHECK(!inline_hit(c, 0, b));
    load(c, 0, b); /* and b came back from the victim in exchange */
    CHECK_EQ(walks, w);
    CHECK_EQ(c->stats.tlb_victim_hits, vh + 2);

    /* The victim TLB holds TLB_VICTIM_SIZE entries: one more conflict pushes the oldest
     * out and it needs a walk again. */
    tlb_flush_all(c);
    uint64_t stride = (uint64_t)tlb_size(c, 0) << GUEST_PAGE_BITS;
    for (unsigned k = 0; k <= TLB_VICTIM_SIZE + 1; k++)
        load(c, 0, a + k * stride);
    w = walks;
    load(c, 0, a); /* the first one: evicted from the victim TLB */
    CHECK_EQ(walks, w + 1);
    w = walks;
    load(c, 0, a + (TLB_VICTIM_SIZE + 0) * stride); /* a recent one: still there */
    CHECK_EQ(walks, w);
}

static void test_flush_page(void)
{
    VsCpu *c = cpus[0];
    tlb_flush_all(c);
    uint64_t a, b;
    conflicting_pages(c, 1, &a, &b);
    load(c, 1, a);
    load(c, 1, b); /* a in the victim TLB, b in the table */
    load(c, 0, a); /* and a in index 0 */
    tlb_flush_page_mask(c, a, 1u << 1);
    unsigned w = walks;
    load(c, 1, a); /* the victim copy was dropped too: walk */
    CHECK_EQ(walks, w + 1);
    CHECK(inline_hit(c, 0, a)); /* index 0 untouched */
    CHECK(!inline_hit(c, 1, b));
    w = walks;
    load(c, 1, b); /* b went to the victim TLB when a was refilled */
    CHECK_EQ(walks, w);
    tlb_flush_page_mask(c, b, 1u << 1);
    CHECK(!inline_hit(c, 1, b));
    w = walks;
    load(c, 1, a); /* a, in the victim TLB (another page), was kept */
    CHECK_EQ(walks, w);
    w = walks;
    load(c, 1, b);
    CHECK_EQ(walks, w + 1);

    /* Flush by index mask: only the indexes named. */
    tlb_flush_mask(c, 1u << 1);
    CHECK(!inline_hit(c, 1, a));
    CHECK(inline_hit(c, 0, a));
}

static void test_code_pages(void)
{
    VsCpu *c0 = cpus[0], *c1 = cpus[1];
    tlb_flush_all(c0);
    tlb_flush_all(c1);
    const uint64_t code = RAM_BASE + 0x7000;
    /* Both vCPUs have the page writable; marking it as code reaches both. */
    store(c0, 0, code, 1);
    store(c1, 2, code + 8, 2);
    mmu_mark_code_page(&machine, code);
    CHECK(tlb_entry(&c0->tlb[0], code)->addr_write & TLB_CODE);
    CHECK(tlb_entry(&c1->tlb[2], code)->addr_write & TLB_CODE);
    CHECK(!(tlb_entry(&c0->tlb[0], code)->addr_read & TLB_CODE)); /* loads stay fast */
    CHECK(inline_hit(c0, 0, code));
    unsigned inv = invalidations;
    store(c0, 0, code, 3); /* slow path: the page's translations go */
    CHECK_EQ(invalidations, inv + 1);
    CHECK_EQ(last_invalidated, code);
    CHECK_EQ(*ram_word(code), 3);
    CHECK(!(tlb_entry(&c0->tlb[0], code)->addr_write & TLB_CODE));
    /* Marked again by another vCPU while the store invalidated: the writer's next store
     * must still invalidate (the mark must not be lost). */
    mmu_mark_code_page(&machine, code);
    remark = true;
    store(c0, 0, code, 5);
    remark = false;
    CHECK(tlb_entry(&c0->tlb[0], code)->addr_write & TLB_CODE);
    inv = invalidations;
    store(c0, 0, code, 6);
    CHECK_EQ(invalidations, inv + 1);
    CHECK_EQ(*ram_word(code), 6);
    /* Blocks elsewhere in the page survive a store: the page stays marked, the writer's
     * entry keeps the flag and its next store reports its exact bytes again. */
    mmu_mark_code_page(&machine, code);
    keep = true;
    inv = invalidations;
    store(c0, 0, code + 8, 9);
    CHECK_EQ(invalidations, inv + 1);
    CHECK_EQ(last_invalidated, code + 8);
    CHECK(tlb_entry(&c0->tlb[0], code)->addr_write & TLB_CODE);
    store(c0, 0, code + 24, 10);
    CHECK_EQ(invalidations, inv + 2);
    CHECK_EQ(last_invalidated, code + 24);
    CHECK_EQ(last_size, 8);
    keep = false;
    mmu_clear_code_page(&machine, code);

    /* A fill of a page already marked carries the flag. */
    mmu_clear_code_page(&machine, code);
    tlb_flush_all(c0);
    mmu_mark_code_page(&machine, code);
    load(c0, 1, code);
    CHECK(tlb_entry(&c0->tlb[1], code)->addr_write & TLB_CODE);
    inv = invalidations;
    store(c0, 1, code, 4);
    CHECK_EQ(invalidations, inv + 1);

    /* Marked while the entry sits in the victim TLB: it gets the flag when it comes back. */
    mmu_clear_code_page(&machine, code);
    tlb_flush_all(c0);
    uint64_t va = ALIAS_BASE + (((code - RAM_BASE) >> GUEST_PAGE_BITS) << GUEST_PAGE_BITS);
    uint64_t other = va + ((uint64_t)tlb_size(c0, 0) << GUEST_PAGE_BITS);
    CHECK_EQ(RAM_BASE + (((va >> GUEST_PAGE_BITS) % RAM_PAGES) << GUEST_PAGE_BITS), code);
    store(c0, 0, va, 5);
    CHECK(!(tlb_entry(&c0->tlb[0], va)->addr_write & TLB_CODE));
    load(c0, 0, other); /* va goes to the victim TLB */
    mmu_mark_code_page(&machine, code);
    unsigned w = walks;
    inv = invalidations;
    store(c0, 0, va, 6);
    CHECK_EQ(walks, w); /* came from the victim TLB */
    CHECK_EQ(invalidations, inv + 1);
    CHECK_EQ(*ram_word(code), 6);

    /* Growth refills the page with its flag. */
    mmu_clear_code_page(&machine, code);
    mmu_mark_code_page(&machine, code);
    tlb_flush_all(c0);
    unsigned before = tlb_size(c0, 0);
    for (unsigned pass = 0; pass < 4; pass++)
        for (unsigned p = 0; p < 4 * before; p++)
            load(c0, 0, ALIAS_BASE + ((uint64_t)p << GUEST_PAGE_BITS) + 0x100000000ull);
    CHECK(tlb_size(c0, 0) > before);
    load(c0, 0, code);
    CHECK(tlb_entry(&c0->tlb[0], code)->addr_write & TLB_CODE);
    inv = invalidations;
    store(c0, 0, code + 16, 7);
    CHECK_EQ(invalidations, inv + 1);
    mmu_clear_code_page(&machine, code);
}

static void test_mmio_and_rom(void)
{
    VsCpu *c = cpus[0];
    tlb_flush_all(c);
    uint64_t r = mmio_reads, w = mmio_writes;
    CHECK_EQ(load(c, 0, MMIO_BASE + 0x10), 0x5500 + 0x10 + 8);
    CHECK(tlb_entry(&c->tlb[0], MMIO_BASE)->addr_read & TLB_MMIO);
    CHECK(!inline_hit(c, 0, MMIO_BASE + 0x10)); /* never a fast-path hit */
    store(c, 0, MMIO_BASE + 0x18, 9);
    CHECK_EQ(mmio_reads, r + 1);
    CHECK_EQ(mmio_writes, w + 1);
    /* Through the victim TLB and back: still MMIO. */
    uint64_t a = ALIAS_BASE + ((MMIO_BASE >> GUEST_PAGE_BITS) % tlb_size(c, 0) << GUEST_PAGE_BITS);
    CHECK(tlb_entry(&c->tlb[0], a) == tlb_entry(&c->tlb[0], MMIO_BASE));
    load(c, 0, a); /* evicts the MMIO entry into the victim TLB */
    unsigned walks0 = walks;
    CHECK_EQ(load(c, 0, MMIO_BASE + 0x20), 0x5500 + 0x20 + 8);
    CHECK_EQ(walks, walks0);
    CHECK(tlb_entry(&c->tlb[0], MMIO_BASE)->addr_read & TLB_MMIO);
    CHECK_EQ(mmio_reads, r + 2);

    /* ROM: loads are fast, stores take the slow path and are dropped. */
    uint64_t before = load(c, 0, ROM_BASE);
    CHECK(inline_hit(c, 0, ROM_BASE));
    unsigned f0 = faults;
    store(c, 0, ROM_BASE, ~before);
    store(c, 0, ROM_BASE + 3, ~before); /* misaligned: the byte-wise path */
    CHECK_EQ(faults, f0);               /* dropped, not an access fault */
    CHECK(tlb_entry(&c->tlb[0], ROM_BASE)->addr_write & TLB_ROM);
    CHECK_EQ(load(c, 0, ROM_BASE), before);
    /* Through the victim TLB and back: still ROM, stores still dropped. */
    uint64_t ra = ALIAS_BASE + ((ROM_BASE >> GUEST_PAGE_BITS) % tlb_size(c, 0) << GUEST_PAGE_BITS);
    CHECK(tlb_entry(&c->tlb[0], ra) == tlb_entry(&c->tlb[0], ROM_BASE));
    load(c, 0, ra);
    walks0 = walks;
    store(c, 0, ROM_BASE + 8, ~before);
    CHECK_EQ(walks, walks0);
    CHECK(tlb_entry(&c->tlb[0], ROM_BASE)->addr_write & TLB_ROM);
    CHECK_EQ(faults, f0);
    CHECK_EQ(load(c, 0, ROM_BASE), before);
    /* An atomic on ROM is an access fault. */
    c->in_exec = true;
    if (!sigsetjmp(c->unwind, 0))
        mmu_atomic_host(c, ROM_BASE + 16, idx_flags(0, 3));
    CHECK_EQ(faults, f0 + 1);
}

int main(void)
{
    physmem_init(&machine.mem);
    if (!physmem_add_ram(&machine.mem, "ram", RAM_BASE, (uint64_t)RAM_PAGES << GUEST_PAGE_BITS) ||
        !physmem_add_mmio(&machine.mem, "dev", MMIO_BASE, 0x1000, &mmio_ops, NULL) ||
        !physmem_add_rom(&machine.mem, "rom", ROM_BASE, 0x1000, "ROMDATA!", 8)) {
        printf("cannot build the physical map\n");
        return 1;
    }
    /* physmem_find tries the largest RAM region first; the others are still found. */
    CHECK(machine.mem.main_ram && machine.mem.main_ram->kind == MR_RAM);
    CHECK(physmem_find(&machine.mem, RAM_BASE + 5) == machine.mem.main_ram);
    CHECK(physmem_find(&machine.mem, MMIO_BASE + 8)->kind == MR_MMIO);
    CHECK(physmem_find(&machine.mem, ROM_BASE)->kind == MR_ROM);
    CHECK(!physmem_find(&machine.mem, RAM_BASE + ((uint64_t)RAM_PAGES << GUEST_PAGE_BITS)));
    CHECK(!physmem_find(&machine.mem, RAM_BASE - 1));
    cpus[0] = new_cpu();
    cpus[1] = new_cpu();
    machine.cpus = cpus;
    machine.ncpus = 2;

    test_init_and_fill();
    test_grow();
    test_max_size();
    test_shrink();
    test_flush_skips_empty();
    test_victim();
    test_flush_partial();
    test_flush_page();
    test_code_pages();
    test_mmio_and_rom();

    for (unsigned i = 0; i < 2; i++) {
        tlb_destroy(cpus[i]);
        free(cpus[i]);
    }
    physmem_destroy(&machine.mem);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
