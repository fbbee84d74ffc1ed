/* SPDX-License-Identifier: MIT */
/* Block cache: translation, lookup, per-page invalidation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blocks.h"
#include "core/machine.h"
#include "ir/interp.h"

#define HASH_BITS      16
#define HASH_SIZE      (1u << HASH_BITS)
#define PAGE_HASH_BITS 14
#define PAGE_HASH_SIZE (1u << PAGE_HASH_BITS)
/* Invalidated blocks are freed (in an exclusive section) once they take this much memory,
 * or an eighth of the cache limit if that is smaller. */
#define REAP_THRESHOLD (8u << 20)
#define CACHE_DEFAULT  (512u << 20) /* bytes of live blocks before a full flush */

typedef struct PageEntry {
    uint64_t ppage;
    VsBlock *blocks;
    struct PageEntry *next;
} PageEntry;

struct BlockCache {
    pthread_mutex_t lock;
    VsBlock *hash[HASH_SIZE];
    PageEntry *pages[PAGE_HASH_SIZE];
    VsBlock *zombies;
    size_t zombie_bytes, live_bytes, limit, reap_at;
    BlockCacheStats stats;
    _Atomic uint64_t inval_gen; /* bumped by every page invalidation */
    void (*flush_hook)(void *opaque);
    void *flush_opaque;
    void (*invalidate_hook)(void *opaque, VsBlock *b);
    void *invalidate_opaque;
};

static unsigned key_hash(uint64_t vpc, uint64_t ppc, uint32_t mode)
{
    uint64_t h = (vpc * 0x9E3779B97F4A7C15ull) ^ (ppc >> 1) ^ ((uint64_t)mode << 40);
    h ^= h >> 29;
    return (unsigned)(h & (HASH_SIZE - 1));
}

static unsigned page_hash(uint64_t ppage)
{
    return (unsigned)(((ppage >> GUEST_PAGE_BITS) * 0x9E3779B1u) >> 7) & (PAGE_HASH_SIZE - 1);
}

/* A block and what the JIT hung on it (its direct-jump links). */
static void block_free(VsBlock *b)
{
    free(b->jit_links);
    free(b);
}

BlockCache *blocks_create(uint64_t limit)
{
    BlockCache *bc = calloc(1, sizeof(*bc));
    if (bc) {
        pthread_mutex_init(&bc->lock, NULL);
        bc->limit = limit ? limit : CACHE_DEFAULT;
        bc->reap_at = bc->limit / 8 < REAP_THRESHOLD ? bc->limit / 8 : REAP_THRESHOLD;
    }
    return bc;
}

static void free_pages(BlockCache *bc)
{
    for (unsigned i = 0; i < PAGE_HASH_SIZE; i++) {
        PageEntry *p = bc->pages[i];
        while (p) {
            PageEntry *n = p->next;
            free(p);
            p = n;
        }
        bc->pages[i] = NULL;
    }
}

void blocks_destroy(BlockCache *bc)
{
    if (!bc)
        return;
    for (unsigned i = 0; i < HASH_SIZE; i++) {
        VsBlock *b = bc->hash[i];
        while (b) {
            VsBlock *n = b->hash_next;
            block_free(b);
            b = n;
        }
        bc->hash[i] = NULL;
    }
    blocks_reap(bc);
    free_pages(bc);
    pthread_mutex_destroy(&bc->lock);
    free(bc);
}

/*
 * Lock-free: writers publish a block with a release store of the bucket head after filling
 * it, and unlink with plain pointer updates under the lock; a reader racing with an unlink
 * may still walk through an invalidated block, which stays allocated until an exclusive
 * section and is skipped by its valid flag.
 */
VsBlock *blocks_lookup(BlockCache *bc, uint64_t vpc, uint64_t ppc, uint32_t mode)
{
    VsBlock *b = __atomic_load_n(&bc->hash[key_hash(vpc, ppc, mode)], __ATOMIC_ACQUIRE);
    while (b && !(b->vpc == vpc && b->ppc == ppc && b->mode == mode &&
                  atomic_load_explicit(&b->valid, memory_order_relaxed)))
        b = __atomic_load_n(&b->hash_next, __ATOMIC_ACQUIRE);
    return b;
}

static PageEntry *page_get(BlockCache *bc, uint64_t ppage, bool create)
{
    unsigned h = page_hash(ppage);
    for (PageEntry *p = bc->pages[h]; p; p = p->next)
        if (p->ppage == ppage)
            return p;
    if (!create)
        return NULL;
    PageEntry *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->ppage = ppage;
    p->next = bc->pages[h];
    bc->pages[h] = p;
    return p;
}

static void page_link(BlockCache *bc, VsBlock *b, int which, uint64_t paddr)
{
    PageEntry *p = page_get(bc, paddr & GUEST_PAGE_MASK, true);
    b->page_next[which] = p->blocks;
    p->blocks = b;
}

uint64_t block_pc_of_op(const VsBlock *b, const InterpInsn *op)
{
    uint32_t idx = (uint32_t)(op - b->code);
    unsigned lo = 0, hi = b->ninsn_map;
    /* Last map entry with first_op <= idx. */
    while (hi - lo > 1) {
        unsigned mid = (lo + hi) / 2;
        if (b->insn_map[mid].first_op <= idx)
            lo = mid;
        else
            hi = mid;
    }
    return b->ninsn_map ? b->insn_map[lo].pc : b->vpc;
}

static bool op_looks_up_tlb(uint8_t opc)
{
    return opc == IR_OP_LD || opc == IR_OP_ST || opc == IR_OP_ATOMIC_RMW || opc == IR_OP_CMPXCHG;
}

static uint64_t h_count_tlb_lookup(VsCpu *cpu)
{
    cpu->stats.tlb_lookups++;
    return 0;
}

static const IrHelper count_tlb_lookup = { "count_tlb_lookup", (void *)h_count_tlb_lookup, 0,
                                           IR_HELPER_PASS_CPU };

/*
 * --stats only: put a call counting TLB lookups before every load, store and atomic, so
 * the statistics can give an exact TLB hit rate. It costs a helper call per access, which
 * is why normal runs never have it (their inline lookups stay as they are).
 */
static void count_tlb_lookups(IrFunc *f)
{
    unsigned n = f->nops, nmem = 0;
    for (unsigned i = 0; i < n; i++)
        nmem += op_looks_up_tlb(f->ops[i].opc);
    if (!nmem)
        return;
    ir_call0(f, &count_tlb_lookup, false); /* appended: the template for the others */
    IrOp call = f->ops[n];
    IrOp *ops = malloc((size_t)(n + nmem) * sizeof(IrOp));
    if (!ops)
        abort();
    unsigned j = 0;
    for (unsigned i = 0; i < n; i++) {
        if (op_looks_up_tlb(f->ops[i].opc))
            ops[j++] = call;
        ops[j++] = f->ops[i];
    }
    free(f->ops);
    f->ops = ops;
    f->nops = f->cap_ops = n + nmem;
}

VsBlock *blocks_translate(VsCpu *cpu, uint64_t vpc, uint64_t ppc, uint32_t mode)
{
    VsMachine *m = cpu->machine;
    BlockCache *bc = m->blocks;
    const VsArchOps *arch = cpu->ops;

    /* Translation may raise a fetch fault (second page of an insn): translate into the
     * vCPU's own IrFunc outside the lock, then insert. */
    IrFunc *const f = &cpu->xlate;
    uint64_t t0 = vs_clock_ns();
    /* Stores to the page must invalidate from before its bytes are read; a block read while
     * its page was invalidated (rewritten) runs once but is not kept. */
    mmu_mark_code_page(m, ppc);
    uint64_t gen = atomic_load(&bc->inval_gen);
    unsigned ninsns = 0;
    uint64_t ppc2 = UINT64_MAX;
    ir_reset(f);
    unsigned size = arch->translate(cpu, f, vpc, mode, &ninsns, &ppc2);
    if (m->cfg.trace & VS_TRACE_IR) {
        fprintf(stderr, "IN: vpc=0x%llx ppc=0x%llx mode=0x%x\n", (unsigned long long)vpc,
                (unsigned long long)ppc, mode);
        ir_print(f, stderr);
    }
#ifndef NDEBUG
    char msg[256];
    if (!ir_verify(f, msg, sizeof(msg))) {
        vs_log("IR verifier failed for block at 0x%llx: %s", (unsigned long long)vpc, msg);
        ir_print(f, stderr);
        abort();
    }
#endif
    unsigned nops_before = f->nops;
    ir_optimize(f);
    if (m->cfg.stats)
        count_tlb_lookups(f);
    if (m->cfg.trace & VS_TRACE_IR_OPT) {
        fprintf(stderr, "OPT: vpc=0x%llx\n", (unsigned long long)vpc);
        ir_print(f, stderr);
    }
#ifndef NDEBUG
    if (!ir_verify(f, msg, sizeof(msg))) {
        vs_log("IR verifier failed after optimisation at 0x%llx: %s", (unsigned long long)vpc, msg);
        ir_print(f, stderr);
        abort();
    }
#endif
    unsigned ncode, ncalls, nmap;
    if (!interp_size(f, &ncode, &ncalls, &nmap)) {
        vs_log("block at 0x%llx is too large to interpret", (unsigned long long)vpc);
        abort();
    }
    size_t bytes = sizeof(VsBlock) + ncode * sizeof(InterpInsn) + ncalls * sizeof(InterpCall) +
                   (nmap ? nmap : 1) * sizeof(VsInsnMap);
    VsBlock *b = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (!b)
        abort();
    memset(b, 0, sizeof(*b));
    b->code = (InterpInsn *)(b + 1);
    InterpCall *calls = (InterpCall *)(b->code + ncode);
    b->insn_map = (VsInsnMap *)(calls + ncalls);
    b->ncode = ncode;
    interp_compile(f, b->code, calls, b->insn_map, &b->ninsn_map);
    b->vpc = vpc;
    b->ppc = ppc;
    b->ppc2 = ppc2;
    b->mode = mode;
    b->size = size;
    b->ninsns = ninsns;
    b->alloc_bytes = bytes;
    atomic_store(&b->valid, true);

    pthread_mutex_lock(&bc->lock);
    if (atomic_load(&bc->inval_gen) != gen) {
        atomic_store(&b->valid, false);
        b->zombie_next = bc->zombies;
        bc->zombies = b;
        bc->zombie_bytes += bytes;
        pthread_mutex_unlock(&bc->lock);
        return b;
    }
    /* Another vCPU may have translated the same block meanwhile: keep theirs. */
    unsigned h = key_hash(vpc, ppc, mode);
    for (VsBlock *o = bc->hash[h]; o; o = o->hash_next) {
        if (o->vpc == vpc && o->ppc == ppc && o->mode == mode) {
            pthread_mutex_unlock(&bc->lock);
            free(b);
            return o;
        }
    }
    b->hash_next = bc->hash[h];
    __atomic_store_n(&bc->hash[h], b, __ATOMIC_RELEASE);
    page_link(bc, b, 0, ppc);
    if (ppc2 != UINT64_MAX)
        page_link(bc, b, 1, ppc2);
    bc->live_bytes += bytes;
    bc->stats.translated++;
    bc->stats.guest_bytes += size;
    bc->stats.ir_ops += nops_before;
    bc->stats.interp_bytes += bytes;
    bc->stats.translate_ns += vs_clock_ns() - t0;
    bool housekeeping = bc->live_bytes > bc->limit || bc->zombie_bytes > bc->reap_at;
    /* Stores to these pages must now invalidate. Under the lock, so an invalidation of the
     * page (which clears its code bit) cannot fall between the insertion and the mark. */
    mmu_mark_code_page(m, ppc);
    if (ppc2 != UINT64_MAX)
        mmu_mark_code_page(m, ppc2);
    pthread_mutex_unlock(&bc->lock);
    if (housekeeping) /* flush or reap at the next block boundary */
        atomic_fetch_or(&cpu->interrupt_request, CPU_REQ_EXIT);
    return b;
}

static void unlink_hash(BlockCache *bc, VsBlock *b)
{
    VsBlock **pp = &bc->hash[key_hash(b->vpc, b->ppc, b->mode)];
    while (*pp && *pp != b)
        pp = &(*pp)->hash_next;
    if (*pp)
        __atomic_store_n(pp, b->hash_next, __ATOMIC_RELEASE);
}

static void unlink_page(BlockCache *bc, VsBlock *b, uint64_t paddr)
{
    PageEntry *p = page_get(bc, paddr & GUEST_PAGE_MASK, false);
    if (!p)
        return;
    VsBlock **pp = &p->blocks;
    while (*pp) {
        VsBlock *c = *pp;
        int which = ((c->ppc & GUEST_PAGE_MASK) == (paddr & GUEST_PAGE_MASK)) ? 0 : 1;
        if (c == b) {
            *pp = c->page_next[which];
            return;
        }
        pp = &c->page_next[which];
    }
}

/*
 * Invalidate the blocks of paddr's page whose guest bytes overlap [paddr, paddr + len) (the
 * whole page when len is the page size and paddr its start). A block with an instruction
 * crossing into another page is invalidated whenever either page is written (its extent in
 * each page is not kept), and so is one marked covers_page (a JIT region). The page keeps its code
 * mark while blocks remain in it, so later stores still come here.
 */
static bool invalidate_range(VsMachine *m, uint64_t paddr, uint64_t len)
{
    BlockCache *bc = m->blocks;
    uint64_t ppage = paddr & GUEST_PAGE_MASK;
    bool any = false;
    pthread_mutex_lock(&bc->lock);
    atomic_fetch_add(&bc->inval_gen, 1);
    PageEntry *p = page_get(bc, ppage, false);
    VsBlock **pp = p ? &p->blocks : NULL;
    while (pp && *pp) {
        VsBlock *b = *pp;
        int which = (b->ppc & GUEST_PAGE_MASK) == ppage ? 0 : 1;
        if (b->ppc2 == UINT64_MAX && !atomic_load(&b->covers_page) &&
            (b->ppc >= paddr + len || b->ppc + b->size <= paddr)) {
            pp = &b->page_next[which]; /* untouched */
            continue;
        }
        *pp = b->page_next[which];
        /* Unlink from the other page too. */
        if (b->ppc2 != UINT64_MAX) {
            uint64_t other = which == 0 ? b->ppc2 : b->ppc;
            if ((other & GUEST_PAGE_MASK) != ppage)
                unlink_page(bc, b, other);
        }
        unlink_hash(bc, b);
        atomic_store(&b->valid, false);
        if (bc->invalidate_hook)
            bc->invalidate_hook(bc->invalidate_opaque, b); /* the JIT unlinks its jumps */
        b->zombie_next = bc->zombies;
        bc->zombies = b;
        bc->zombie_bytes += b->alloc_bytes;
        bc->live_bytes -= b->alloc_bytes;
        bc->stats.invalidated++;
        any = true;
    }
    /* Under the lock: a block of this page inserted after it sets the bit again. */
    if (!p || !p->blocks)
        mmu_clear_code_page(m, ppage);
    pthread_mutex_unlock(&bc->lock);
    return any;
}

bool blocks_invalidate_page(VsMachine *m, uint64_t paddr)
{
    return invalidate_range(m, paddr & GUEST_PAGE_MASK, GUEST_PAGE_SIZE);
}

bool blocks_invalidate_write(VsMachine *m, uint64_t paddr, unsigned size)
{
    if ((paddr & ~GUEST_PAGE_MASK) + size > GUEST_PAGE_SIZE)
        return blocks_invalidate_page(m, paddr);
    return invalidate_range(m, paddr, size);
}

void blocks_reap(BlockCache *bc)
{
    if (!bc->zombies)
        return;
    /* Live blocks may have cached an invalidated successor in a direct exit. */
    for (unsigned i = 0; i < HASH_SIZE; i++)
        for (VsBlock *l = bc->hash[i]; l; l = l->hash_next)
            interp_unchain(l->code, l->ncode);
    VsBlock *b = bc->zombies;
    while (b) {
        VsBlock *n = b->zombie_next;
        block_free(b);
        b = n;
    }
    bc->zombies = NULL;
    bc->zombie_bytes = 0;
    bc->stats.reaps++;
}

bool blocks_need_reap(BlockCache *bc)
{
    return __atomic_load_n(&bc->zombie_bytes, __ATOMIC_RELAXED) > bc->reap_at;
}

bool blocks_over_limit(BlockCache *bc)
{
    return __atomic_load_n(&bc->live_bytes, __ATOMIC_RELAXED) > bc->limit;
}

void blocks_flush_all(VsMachine *m)
{
    BlockCache *bc = m->blocks;
    pthread_mutex_lock(&bc->lock);
    for (unsigned i = 0; i < HASH_SIZE; i++) {
        VsBlock *b = bc->hash[i];
        while (b) {
            VsBlock *n = b->hash_next;
            mmu_clear_code_page(m, b->ppc);
            if (b->ppc2 != UINT64_MAX)
                mmu_clear_code_page(m, b->ppc2);
            block_free(b);
            b = n;
        }
        bc->hash[i] = NULL;
    }
    free_pages(bc);
    blocks_reap(bc);
    bc->live_bytes = 0;
    bc->stats.flushes++;
    if (bc->flush_hook)
        bc->flush_hook(bc->flush_opaque);
    pthread_mutex_unlock(&bc->lock);
    for (unsigned c = 0; c < m->ncpus; c++) {
        jmp_cache_flush(m->cpus[c]);
        tlb_flush_all(m->cpus[c]); /* drop TLB_CODE marks */
    }
}

void blocks_set_flush_hook(BlockCache *bc, void (*hook)(void *opaque), void *opaque)
{
    bc->flush_hook = hook;
    bc->flush_opaque = opaque;
}

void blocks_set_invalidate_hook(BlockCache *bc, void (*hook)(void *opaque, VsBlock *b),
                                void *opaque)
{
    bc->invalidate_hook = hook;
    bc->invalidate_opaque = opaque;
}

void blocks_get_stats(BlockCache *bc, BlockCacheStats *out)
{
    pthread_mutex_lock(&bc->lock);
    *out = bc->stats;
    pthread_mutex_unlock(&bc->lock);
}

unsigned blocks_hottest(BlockCache *bc, VsBlock **out, unsigned n)
{
    unsigned found = 0;
    pthread_mutex_lock(&bc->lock);
    for (unsigned i = 0; i < HASH_SIZE; i++) {
        for (VsBlock *b = bc->hash[i]; b; b = b->hash_next) {
            uint64_t c = __atomic_load_n(&b->exec_count, __ATOMIC_RELAXED);
            unsigned pos = found < n ? found++ : n;
            while (pos > 0 && __atomic_load_n(&out[pos - 1]->exec_count, __ATOMIC_RELAXED) < c) {
                if (pos < n)
                    out[pos] = out[pos - 1];
                pos--;
            }
            if (pos < n)
                out[pos] = b;
        }
    }
    pthread_mutex_unlock(&bc->lock);
    return found;
}

void jmp_cache_flush(VsCpu *cpu)
{
    memset(cpu->jmp_cache, 0, JMP_CACHE_SIZE * sizeof(JmpCacheEntry));
    cpu->jit_link = NULL; /* it may point at a block about to be freed */
    memset(cpu->jmp_pages, 0, sizeof(cpu->jmp_pages));
}

void jmp_cache_flush_page(VsCpu *cpu, uint64_t vaddr)
{
    uint64_t page = vaddr & GUEST_PAGE_MASK, n = (vaddr >> GUEST_PAGE_BITS) % JMP_PAGE_BITS;
    if (!(cpu->jmp_pages[n / 64] & (1ull << (n % 64))))
        return; /* no entry was made for a pc in this page since the last full flush */
    for (unsigned i = 0; i < JMP_CACHE_SIZE; i++)
        if ((cpu->jmp_cache[i].vpc & GUEST_PAGE_MASK) == page)
            cpu->jmp_cache[i].block = NULL;
}
