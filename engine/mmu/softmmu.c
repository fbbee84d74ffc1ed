/* SPDX-License-Identifier: MIT */
/* Software TLB: fills, flushes and the slow paths behind the inline fast path. */
#include <stdatomic.h>
#include <string.h>

#include "core/blocks.h"
#include "core/cpu.h"
#include "core/machine.h"
#include "ir/ir.h"
#include "mmu/mmu.h"

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

void tlb_flush_mask(VsCpu *cpu, unsigned idx_mask)
{
    for (unsigned i = 0; i < TLB_MAX_MMU_IDX; i++) {
        if (!(idx_mask & (1u << i)))
            continue;
        TlbEntry *e = cpu->tlb[i].e;
        for (unsigned j = 0; j < TLB_SIZE; j++)
            e[j] = empty_entry;
    }
}

void tlb_flush_all(VsCpu *cpu)
{
    tlb_flush_mask(cpu, (1u << TLB_MAX_MMU_IDX) - 1);
}

void tlb_flush_page_mask(VsCpu *cpu, uint64_t vaddr, unsigned idx_mask)
{
    uint64_t page = vaddr & GUEST_PAGE_MASK;
    for (unsigned i = 0; i < TLB_MAX_MMU_IDX; i++) {
        if (!(idx_mask & (1u << i)))
            continue;
        TlbEntry *e = tlb_entry(&cpu->tlb[i], vaddr);
        if ((e->addr_read & GUEST_PAGE_MASK) == page || (e->addr_write & GUEST_PAGE_MASK) == page ||
            (e->addr_code & GUEST_PAGE_MASK) == page)
            *e = empty_entry;
    }
}

static bool region_page_has_code(const MemRegion *r, uint64_t paddr)
{
    uint64_t pg = (paddr - r->base) >> GUEST_PAGE_BITS;
    return __atomic_load_n(&r->code_bitmap[pg / 8], __ATOMIC_SEQ_CST) & (1u << (pg % 8));
}

void tlb_set_page(VsCpu *cpu, unsigned mmu_idx, uint64_t vaddr, uint64_t paddr, int prot)
{
    VsMachine *m = cpu->machine;
    uint64_t vpage = vaddr & GUEST_PAGE_MASK, ppage = paddr & GUEST_PAGE_MASK;
    MemRegion *r = physmem_find(&m->mem, ppage);
    TlbEntry *e = tlb_entry(&cpu->tlb[mmu_idx], vpage);
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
            wflags |= TLB_MMIO; /* ROM writes are ignored via the slow path */
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

/* Walk + fill for one access; raises the guest fault on failure. Returns the entry. */
static TlbEntry *tlb_fill_or_raise(VsCpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx)
{
    uint64_t paddr, page_size;
    int prot, kind = 0;
    if (!cpu->ops->tlb_fill(cpu, vaddr, access, mmu_idx, &paddr, &prot, &page_size, &kind))
        cpu->ops->raise_mmu_fault(cpu, vaddr, access, kind);
    if (!physmem_find(&cpu->machine->mem, paddr))
        cpu->ops->raise_mmu_fault(cpu, vaddr, access, 1);
    tlb_set_page(cpu, mmu_idx, vaddr, paddr, prot);
    return tlb_entry(&cpu->tlb[mmu_idx], vaddr);
}

static inline uint64_t tag_of(const TlbEntry *e, int access)
{
    return access == MMU_READ ? e->addr_read : access == MMU_WRITE ? e->addr_write : e->addr_code;
}

/* Entry valid for this page and access (flags other than INVALID allowed). */
static TlbEntry *tlb_lookup_access(VsCpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx)
{
    TlbEntry *e = tlb_entry(&cpu->tlb[mmu_idx], vaddr);
    uint64_t tag = tag_of(e, access);
    if ((tag & (GUEST_PAGE_MASK | TLB_INVALID)) != (vaddr & GUEST_PAGE_MASK))
        e = tlb_fill_or_raise(cpu, vaddr, access, mmu_idx);
    return e;
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
    if (tag & TLB_MMIO) {
        uint64_t paddr = vaddr + e->addend;
        MemRegion *r = physmem_find(&cpu->machine->mem, paddr);
        if (r && r->kind == MR_ROM)
            return;
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
            blocks_invalidate_page(cpu->machine, paddr);
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
    if (e->addr_write & TLB_MMIO)
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
        for (unsigned i = 0; i < cpu->ops->mmu_modes; i++) {
            TlbEntry *e = cpu->tlb[i].e;
            for (unsigned j = 0; j < TLB_SIZE; j++) {
                uint64_t tag = __atomic_load_n(&e[j].addr_write, __ATOMIC_RELAXED);
                if (tag & (TLB_INVALID | TLB_MMIO))
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
