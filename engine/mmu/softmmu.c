/* SPDX-License-Identifier: MIT */
/* Software TLB: fills, flushes and the slow paths behind the inline fast path. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/blocks.h"
#include "core/cpu.h"
#include "core/machine.h"
#include "ir/ir.h"
#include "mmu/mmu.h"
#include "osal/osal.h"

/* The guest physical address of a host pointer into RAM/ROM. */
static bool host_to_phys(const PhysMem *pm, const void *host, uint64_t *paddr)
{
    const uint8_t *h = host;
    for (unsigned i = 0; i < pm->count; i++) {
        const MemRegion *r = pm->regions[i];
        if (r->kind != MR_MMIO && h >= r->host && h < r->host + r->size) {
            *paddr = r->base + (uint64_t)(h - r->host);
            return true;
        }
    }
    return false;
}

static const TlbEntry empty_entry = { TLB_INVALID, TLB_INVALID, TLB_INVALID, 0 };

#define TLB_TABLE_BYTES(bits) (sizeof(TlbEntry) << (bits))

static bool entry_is_empty(const TlbEntry *e)
{
    return (e->addr_read & e->addr_write & e->addr_code & TLB_INVALID) != 0;
}

bool tlb_init(VsCpu *cpu)
{
    size_t per_idx = TLB_TABLE_BYTES(TLB_MAX_BITS);
    cpu->tlb_mem_size = per_idx * TLB_MAX_MMU_IDX;
    /* Reserved lazily: only the part of each table in use is ever touched. */
    cpu->tlb_mem = vs_mem_map(cpu->tlb_mem_size, false);
    cpu->tlb_desc = calloc(TLB_MAX_MMU_IDX, sizeof(TlbDesc));
    if (!cpu->tlb_mem || !cpu->tlb_desc) {
        tlb_destroy(cpu);
        return false;
    }
    for (unsigned i = 0; i < TLB_MAX_MMU_IDX; i++) {
        TlbDesc *d = &cpu->tlb_desc[i];
        TlbEntry *t = (TlbEntry *)((uint8_t *)cpu->tlb_mem + i * per_idx);
        d->bits = TLB_INIT_BITS;
        for (size_t j = 0; j < ((size_t)1 << d->bits); j++)
            t[j] = empty_entry;
        for (unsigned v = 0; v < TLB_VICTIM_SIZE; v++)
            d->victim[v] = empty_entry;
        cpu->tlb[i].table = t;
        cpu->tlb[i].mask = (((uintptr_t)1 << d->bits) - 1) << TLB_ENTRY_BITS;
    }
    return true;
}

void tlb_destroy(VsCpu *cpu)
{
    vs_mem_unmap(cpu->tlb_mem, cpu->tlb_mem_size);
    free(cpu->tlb_desc);
    cpu->tlb_mem = NULL;
    cpu->tlb_desc = NULL;
    memset(cpu->tlb, 0, sizeof(cpu->tlb));
}

unsigned tlb_size(const VsCpu *cpu, unsigned idx)
{
    return 1u << cpu->tlb_desc[idx].bits;
}

static void victims_clear(TlbDesc *d)
{
    for (unsigned v = 0; v < TLB_VICTIM_SIZE; v++)
        d->victim[v] = empty_entry;
}

/*
 * Give index idx a table of 1 << bits entries, all invalid (a resize is also a flush).
 * The table stays where it is; other threads (mmu_mark_code_page) read the mask with an
 * acquire load and see either size, and every entry they can reach is valid memory.
 */
static void tlb_resize(VsCpu *cpu, unsigned idx, unsigned bits)
{
    TlbDesc *d = &cpu->tlb_desc[idx];
    TlbEntry *t = cpu->tlb[idx].table;
    size_t n = (size_t)1 << bits;
    if (bits < d->bits) {
        /* Publish the smaller mask before the tail goes away. */
        __atomic_store_n(&cpu->tlb[idx].mask, (uintptr_t)(n - 1) << TLB_ENTRY_BITS,
                         __ATOMIC_RELEASE);
        vs_mem_discard((uint8_t *)t + TLB_TABLE_BYTES(bits),
                       TLB_TABLE_BYTES(d->bits) - TLB_TABLE_BYTES(bits));
    }
    for (size_t j = 0; j < n; j++)
        t[j] = empty_entry;
    /* Growing: the new entries are invalid before the larger mask makes them reachable. */
    __atomic_store_n(&cpu->tlb[idx].mask, (uintptr_t)(n - 1) << TLB_ENTRY_BITS, __ATOMIC_RELEASE);
    d->bits = bits;
    d->used = d->evictions = 0;
    d->window_used = d->window_flushes = 0;
    victims_clear(d);
    cpu->stats.tlb_resizes++;
}

/* Smallest table size (as bits) that keeps `used` entries at most a quarter full. */
static unsigned bits_for_use(uint32_t used)
{
    unsigned bits = TLB_MIN_BITS;
    while (bits < TLB_MAX_BITS && ((uint64_t)used << 2) > ((uint64_t)1 << bits))
        bits++;
    return bits;
}

/* An empty slot of index idx is being filled. */
static void note_fill(VsCpu *cpu, unsigned idx, const TlbEntry *e)
{
    TlbDesc *d = &cpu->tlb_desc[idx];
    if (d->used < TLB_FILL_LOG)
        d->filled[d->used] = (uint32_t)(e - cpu->tlb[idx].table);
    d->used++;
}

static void tlb_flush_idx(VsCpu *cpu, unsigned idx)
{
    TlbDesc *d = &cpu->tlb_desc[idx];
    if (d->used > d->window_used)
        d->window_used = d->used;
    if (++d->window_flushes >= TLB_SHRINK_WINDOW) {
        /* A whole window of flushes found the table at most 1/8 used: halve it (at most
         * down to what the busiest of them needed). */
        bool shrink =
            d->bits > TLB_MIN_BITS && ((uint64_t)d->window_used << 3) <= ((uint64_t)1 << d->bits);
        unsigned want = bits_for_use(d->window_used);
        d->window_used = d->window_flushes = 0;
        if (shrink && want < d->bits) {
            tlb_resize(cpu, idx, d->bits - 1);
            cpu->stats.tlb_flushes++;
            return;
        }
    }
    victims_clear(d);
    d->evictions = 0;
    if (d->used == 0)
        return; /* nothing was filled since the last flush: every entry is still empty */
    TlbEntry *t = cpu->tlb[idx].table;
    if (d->used <= TLB_FILL_LOG) {
        for (unsigned j = 0; j < d->used; j++)
            t[d->filled[j]] = empty_entry;
    } else {
        for (size_t j = 0, n = (size_t)1 << d->bits; j < n; j++)
            t[j] = empty_entry;
    }
    d->used = 0;
    cpu->stats.tlb_flushes++;
}

void tlb_flush_mask(VsCpu *cpu, unsigned idx_mask)
{
    for (unsigned i = 0; i < TLB_MAX_MMU_IDX; i++)
        if (idx_mask & (1u << i))
            tlb_flush_idx(cpu, i);
}

void tlb_flush_all(VsCpu *cpu)
{
    tlb_flush_mask(cpu, (1u << TLB_MAX_MMU_IDX) - 1);
}

/* A non-empty entry is for one page: every tag without TLB_INVALID holds it. */
static bool entry_has_page(const TlbEntry *e, uint64_t page)
{
    const uint64_t tags[3] = { e->addr_read, e->addr_write, e->addr_code };
    for (unsigned i = 0; i < 3; i++)
        if (!(tags[i] & TLB_INVALID))
            return (tags[i] & GUEST_PAGE_MASK) == page;
    return false;
}

void tlb_flush_page_mask(VsCpu *cpu, uint64_t vaddr, unsigned idx_mask)
{
    uint64_t page = vaddr & GUEST_PAGE_MASK;
    cpu->stats.tlb_page_flushes++;
    for (unsigned i = 0; i < TLB_MAX_MMU_IDX; i++) {
        if (!(idx_mask & (1u << i)))
            continue;
        TlbEntry *e = tlb_entry(&cpu->tlb[i], vaddr);
        if (entry_has_page(e, page))
            *e = empty_entry;
        TlbDesc *d = &cpu->tlb_desc[i];
        for (unsigned v = 0; v < TLB_VICTIM_SIZE; v++)
            if (entry_has_page(&d->victim[v], page))
                d->victim[v] = empty_entry;
    }
}

static bool region_page_has_code(const MemRegion *r, uint64_t paddr)
{
    uint64_t pg = (paddr - r->base) >> GUEST_PAGE_BITS;
    return __atomic_load_n(&r->code_bitmap[pg / 8], __ATOMIC_SEQ_CST) & (1u << (pg % 8));
}

/*
 * A writable RAM entry that was not built by tlb_set_page just now (one coming back from
 * the victim TLB) may have missed a concurrent mmu_mark_code_page: after the entry is in
 * the table, look at the page's code bit again, as tlb_set_page does.
 */
static void entry_recheck_code(VsCpu *cpu, TlbEntry *e)
{
    uint64_t tag = e->addr_write;
    if (tag & (TLB_INVALID | TLB_MMIO | TLB_CODE | TLB_ROM))
        return;
    atomic_thread_fence(memory_order_seq_cst);
    uint64_t paddr;
    const void *host = (const void *)(uintptr_t)((tag & GUEST_PAGE_MASK) + e->addend);
    if (host_to_phys(&cpu->machine->mem, host, &paddr)) {
        MemRegion *r = physmem_find(&cpu->machine->mem, paddr);
        if (r && r->kind == MR_RAM && region_page_has_code(r, paddr))
            __atomic_or_fetch(&e->addr_write, TLB_CODE, __ATOMIC_RELAXED);
    }
}

/*
 * The slot for vaddr in index idx is about to be overwritten: keep a valid entry in the
 * victim TLB, count the eviction and grow the table when a table's worth of valid entries
 * has been replaced since the last flush or resize. Returns the slot to fill.
 */
static TlbEntry *tlb_make_room(VsCpu *cpu, unsigned idx, uint64_t vaddr)
{
    TlbDesc *d = &cpu->tlb_desc[idx];
    TlbEntry *e = tlb_entry(&cpu->tlb[idx], vaddr);
    if (entry_is_empty(e)) {
        note_fill(cpu, idx, e);
        return e;
    }
    if (!entry_has_page(e, vaddr & GUEST_PAGE_MASK)) {
        /* Another page: a conflict. (The same page is refilled for another access
         * kind, e.g. the first store after loads, and replaces itself.) */
        d->victim[d->victim_next] = *e;
        d->victim_next = (d->victim_next + 1) % TLB_VICTIM_SIZE;
        if (++d->evictions >= (1u << d->bits) && d->bits < TLB_MAX_BITS) {
            tlb_resize(cpu, idx, d->bits + 1);
            e = tlb_entry(&cpu->tlb[idx], vaddr);
            note_fill(cpu, idx, e);
        }
    }
    return e;
}

static void tlb_set_page_in(VsCpu *cpu, unsigned mmu_idx, uint64_t vaddr, uint64_t paddr, int prot,
                            MemRegion *r)
{
    uint64_t vpage = vaddr & GUEST_PAGE_MASK, ppage = paddr & GUEST_PAGE_MASK;
    TlbEntry *e = tlb_make_room(cpu, mmu_idx, vpage);
    TlbEntry n = empty_entry;
    uint64_t flags = 0;
    if (!r || r->kind == MR_MMIO) {
        flags = TLB_MMIO;
        n.addend = (uintptr_t)(ppage - vpage);
    } else {
        n.addend = (uintptr_t)(r->host + (ppage - r->base)) - (uintptr_t)vpage;
    }
    if (prot & MMU_PROT_R)
        n.addr_read = vpage | flags;
    if (prot & MMU_PROT_X)
        n.addr_code = vpage | flags;
    if (prot & MMU_PROT_W) {
        uint64_t wflags = flags;
        if (r && r->kind == MR_ROM)
            wflags |= TLB_ROM; /* ROM writes are dropped in the slow path */
        else if (r && r->kind == MR_RAM && region_page_has_code(r, ppage))
            wflags |= TLB_CODE;
        n.addr_write = vpage | wflags;
    }
    *e = n;
    cpu->stats.tlb_fills++;
    /* Pairs with mmu_mark_code_page: either it sees this entry or we see its bit. */
    atomic_thread_fence(memory_order_seq_cst);
    if (r && r->kind == MR_RAM && (prot & MMU_PROT_W) && region_page_has_code(r, ppage))
        __atomic_or_fetch(&e->addr_write, TLB_CODE, __ATOMIC_RELAXED);
}

void tlb_set_page(VsCpu *cpu, unsigned mmu_idx, uint64_t vaddr, uint64_t paddr, int prot)
{
    tlb_set_page_in(cpu, mmu_idx, vaddr, paddr, prot,
                    physmem_find(&cpu->machine->mem, paddr & GUEST_PAGE_MASK));
}

static inline uint64_t tag_of(const TlbEntry *e, int access)
{
    return access == MMU_READ ? e->addr_read : access == MMU_WRITE ? e->addr_write : e->addr_code;
}

static bool tag_matches(uint64_t tag, uint64_t vaddr)
{
    return (tag & (GUEST_PAGE_MASK | TLB_INVALID)) == (vaddr & GUEST_PAGE_MASK);
}

/* Look for vaddr/access in the victim TLB; on a hit swap it with the main entry e. */
static bool tlb_victim_swap(VsCpu *cpu, unsigned idx, uint64_t vaddr, int access, TlbEntry *e)
{
    TlbDesc *d = &cpu->tlb_desc[idx];
    for (unsigned v = 0; v < TLB_VICTIM_SIZE; v++) {
        TlbEntry *ve = &d->victim[v];
        if (!tag_matches(tag_of(ve, access), vaddr))
            continue;
        TlbEntry old = *e;
        if (entry_is_empty(&old))
            note_fill(cpu, idx, e);
        *e = *ve;
        *ve = old;
        entry_recheck_code(cpu, e);
        cpu->stats.tlb_victim_hits++;
        return true;
    }
    return false;
}

/* Walk + fill for one access; raises the guest fault on failure. Returns the entry. */
static TlbEntry *tlb_fill_or_raise(VsCpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx)
{
    uint64_t paddr, page_size;
    int prot, kind = 0;
    if (!cpu->ops->tlb_fill(cpu, vaddr, access, mmu_idx, &paddr, &prot, &page_size, &kind))
        cpu->ops->raise_mmu_fault(cpu, vaddr, access, kind);
    MemRegion *r = physmem_find(&cpu->machine->mem, paddr);
    if (!r)
        cpu->ops->raise_mmu_fault(cpu, vaddr, access, 1);
    tlb_set_page_in(cpu, mmu_idx, vaddr, paddr, prot, r);
    return tlb_entry(&cpu->tlb[mmu_idx], vaddr);
}

/* Entry valid for this page and access (flags other than INVALID allowed). */
static TlbEntry *tlb_lookup_access(VsCpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx)
{
    TlbEntry *e = tlb_entry(&cpu->tlb[mmu_idx], vaddr);
    if (tag_matches(tag_of(e, access), vaddr))
        return e;
    if (access != MMU_EXEC)
        cpu->stats.tlb_misses++;
    if (tlb_victim_swap(cpu, mmu_idx, vaddr, access, e))
        return e;
    return tlb_fill_or_raise(cpu, vaddr, access, mmu_idx);
}

static uint64_t load_bytes(const void *p, unsigned size)
{
    uint64_t v = 0;
    memcpy(&v, p, size); /* little-endian host and guest */
    return v;
}

/* One access that stays within a page. */
static uint64_t load_in_page(VsCpu *cpu, uint64_t vaddr, unsigned size, unsigned mmu_idx)
{
    TlbEntry *e = tlb_lookup_access(cpu, vaddr, MMU_READ, mmu_idx);
    if (e->addr_read & TLB_MMIO) {
        uint64_t paddr = vaddr + e->addend, val;
        /* MMIO accesses must be naturally aligned for the device; split otherwise. */
        if ((paddr & (size - 1)) == 0) {
            if (!physmem_load(&cpu->machine->mem, paddr, size, &val))
                cpu->ops->raise_mmu_fault(cpu, vaddr, MMU_READ, 1);
            return val;
        }
        val = 0;
        for (unsigned i = 0; i < size; i++) {
            uint64_t b;
            if (!physmem_load(&cpu->machine->mem, paddr + i, 1, &b))
                cpu->ops->raise_mmu_fault(cpu, vaddr, MMU_READ, 1);
            val |= b << (8 * i);
        }
        return val;
    }
    return load_bytes((const void *)(uintptr_t)(vaddr + e->addend), size);
}

static void store_in_page(VsCpu *cpu, uint64_t vaddr, uint64_t val, unsigned size, unsigned mmu_idx)
{
    TlbEntry *e = tlb_lookup_access(cpu, vaddr, MMU_WRITE, mmu_idx);
    uint64_t tag = e->addr_write;
    if (tag & TLB_ROM)
        return; /* guest writes to ROM are ignored */
    if (tag & TLB_MMIO) {
        uint64_t paddr = vaddr + e->addend;
        if ((paddr & (size - 1)) == 0) {
            if (!physmem_store(&cpu->machine->mem, paddr, size, val))
                cpu->ops->raise_mmu_fault(cpu, vaddr, MMU_WRITE, 1);
            return;
        }
        for (unsigned i = 0; i < size; i++)
            if (!physmem_store(&cpu->machine->mem, paddr + i, 1, (val >> (8 * i)) & 0xff))
                cpu->ops->raise_mmu_fault(cpu, vaddr, MMU_WRITE, 1);
        return;
    }
    void *host = (void *)(uintptr_t)(vaddr + e->addend);
    memcpy(host, &val, size);
    if (tag & TLB_CODE) {
        /* Self-modifying code: drop the translations of this page after the store, so a
         * translation racing with it either reads the new bytes or is dropped. */
        uint64_t paddr;
        atomic_thread_fence(memory_order_seq_cst);
        if (host_to_phys(&cpu->machine->mem, host, &paddr)) {
            blocks_invalidate_write(cpu->machine, paddr, size);
            __atomic_and_fetch(&e->addr_write, ~TLB_CODE, __ATOMIC_SEQ_CST);
            /* Another vCPU may have marked the page again meanwhile. */
            MemRegion *r = physmem_find(&cpu->machine->mem, paddr);
            if (r && r->kind == MR_RAM && region_page_has_code(r, paddr & GUEST_PAGE_MASK))
                __atomic_or_fetch(&e->addr_write, TLB_CODE, __ATOMIC_SEQ_CST);
        }
    }
}

uint64_t mmu_load_slow(VsCpu *cpu, uint64_t vaddr, unsigned flags)
{
    unsigned size = 1u << IR_MEM_LOG2SIZE(flags), idx = IR_MEM_MMUIDX(flags);
    if (vaddr & (size - 1)) {
        if (flags & IR_MEM_ALIGN)
            cpu->ops->raise_mmu_fault(cpu, vaddr, MMU_READ, 2);
        uint64_t off = vaddr & ~GUEST_PAGE_MASK;
        if (off + size > GUEST_PAGE_SIZE) {
            /* Crosses a page: both pages must be readable before anything is returned. */
            unsigned n1 = (unsigned)(GUEST_PAGE_SIZE - off);
            uint64_t lo = 0, hi = 0;
            for (unsigned i = 0; i < n1; i++)
                lo |= load_in_page(cpu, vaddr + i, 1, idx) << (8 * i);
            for (unsigned i = n1; i < size; i++)
                hi |= load_in_page(cpu, vaddr + i, 1, idx) << (8 * i);
            return lo | hi;
        }
    }
    return load_in_page(cpu, vaddr, size, idx);
}

void mmu_store_slow(VsCpu *cpu, uint64_t vaddr, uint64_t value, unsigned flags)
{
    unsigned size = 1u << IR_MEM_LOG2SIZE(flags), idx = IR_MEM_MMUIDX(flags);
    if (vaddr & (size - 1)) {
        if (flags & IR_MEM_ALIGN)
            cpu->ops->raise_mmu_fault(cpu, vaddr, MMU_WRITE, 2);
        uint64_t off = vaddr & ~GUEST_PAGE_MASK;
        if (off + size > GUEST_PAGE_SIZE) {
            /* Probe both pages for write permission before changing anything. */
            tlb_lookup_access(cpu, vaddr, MMU_WRITE, idx);
            tlb_lookup_access(cpu, (vaddr | ~GUEST_PAGE_MASK) + 1, MMU_WRITE, idx);
            for (unsigned i = 0; i < size; i++)
                store_in_page(cpu, vaddr + i, (value >> (8 * i)) & 0xff, 1, idx);
            return;
        }
    }
    store_in_page(cpu, vaddr, value, size, idx);
}

void *mmu_atomic_host(VsCpu *cpu, uint64_t vaddr, unsigned flags)
{
    unsigned size = 1u << IR_MEM_LOG2SIZE(flags), idx = IR_MEM_MMUIDX(flags);
    if (vaddr & (size - 1))
        cpu->ops->raise_mmu_fault(cpu, vaddr, MMU_WRITE, 2);
    /* Atomics need read and write permission. */
    tlb_lookup_access(cpu, vaddr, MMU_READ, idx);
    TlbEntry *e = tlb_lookup_access(cpu, vaddr, MMU_WRITE, idx);
    if (e->addr_write & (TLB_MMIO | TLB_ROM))
        cpu->ops->raise_mmu_fault(cpu, vaddr, MMU_WRITE, 1);
    void *host = (void *)(uintptr_t)(vaddr + e->addend);
    if (e->addr_write & TLB_CODE) {
        /* Drop the page's translations, then let the caller do the atomic operation on the
         * host word. Never write the word here: a load and store-back of the old value
         * would not be atomic against other vCPUs (two harts could both win a lottery). */
        uint64_t paddr;
        if (host_to_phys(&cpu->machine->mem, host, &paddr))
            blocks_invalidate_page(cpu->machine, paddr);
        __atomic_and_fetch(&e->addr_write, ~TLB_CODE, __ATOMIC_RELAXED);
    }
    return host;
}

uint64_t mmu_translate_code(VsCpu *cpu, uint64_t vaddr, unsigned mmu_idx, uint8_t **host)
{
    TlbEntry *e = tlb_lookup_access(cpu, vaddr, MMU_EXEC, mmu_idx);
    if (e->addr_code & TLB_MMIO) {
        *host = NULL;
        cpu->ops->raise_mmu_fault(cpu, vaddr, MMU_EXEC, 1);
    }
    uint8_t *h = (uint8_t *)(uintptr_t)(vaddr + e->addend);
    uint64_t paddr;
    *host = h;
    if (!host_to_phys(&cpu->machine->mem, h, &paddr))
        cpu->ops->raise_mmu_fault(cpu, vaddr, MMU_EXEC, 1);
    return paddr;
}

static MemRegion *ram_region(VsMachine *m, uint64_t paddr)
{
    MemRegion *r = physmem_find(&m->mem, paddr);
    return r && r->kind == MR_RAM ? r : NULL;
}

void mmu_mark_code_page(VsMachine *m, uint64_t paddr)
{
    MemRegion *r = ram_region(m, paddr);
    if (!r)
        return; /* ROM cannot be written by the guest */
    uint64_t pg = (paddr - r->base) >> GUEST_PAGE_BITS;
    uint8_t bit = (uint8_t)(1u << (pg % 8));
    if (__atomic_fetch_or(&r->code_bitmap[pg / 8], bit, __ATOMIC_SEQ_CST) & bit)
        return;
    /* Route stores to this page through the slow path on every vCPU. */
    uintptr_t host_page = (uintptr_t)(r->host + (pg << GUEST_PAGE_BITS));
    for (unsigned c = 0; c < m->ncpus; c++) {
        VsCpu *cpu = m->cpus[c];
        /* Entries in the victim TLBs are not marked: they get their mark when they come
         * back (entry_recheck_code). */
        for (unsigned i = 0; i < cpu->ops->mmu_modes; i++) {
            TlbEntry *e = cpu->tlb[i].table;
            size_t n = (__atomic_load_n(&cpu->tlb[i].mask, __ATOMIC_ACQUIRE) >> TLB_ENTRY_BITS) + 1;
            for (size_t j = 0; j < n; j++) {
                uint64_t tag = __atomic_load_n(&e[j].addr_write, __ATOMIC_RELAXED);
                if (tag & (TLB_INVALID | TLB_MMIO | TLB_ROM))
                    continue;
                if ((tag & GUEST_PAGE_MASK) + e[j].addend == host_page)
                    __atomic_or_fetch(&e[j].addr_write, TLB_CODE, __ATOMIC_RELAXED);
            }
        }
    }
}

void mmu_clear_code_page(VsMachine *m, uint64_t paddr)
{
    MemRegion *r = ram_region(m, paddr);
    if (!r)
        return;
    uint64_t pg = (paddr - r->base) >> GUEST_PAGE_BITS;
    __atomic_and_fetch(&r->code_bitmap[pg / 8], (uint8_t) ~(1u << (pg % 8)), __ATOMIC_SEQ_CST);
}
