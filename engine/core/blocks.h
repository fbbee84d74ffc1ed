/* SPDX-License-Identifier: MIT */
/*
 * Translated blocks and the machine-wide block cache.
 *
 * A block is keyed by (virtual pc, physical pc, mode). Each vCPU has a direct-mapped jump
 * cache on (virtual pc, mode) in front of the machine-wide hash table. Blocks are listed
 * per physical page so a store to a page with code invalidates exactly its blocks.
 * Invalidated blocks stay allocated (another vCPU may still be running one) until the next
 * exclusive section frees them.
 */
#ifndef VESSEL_BLOCKS_H
#define VESSEL_BLOCKS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cpu.h"
#include "ir/interp.h"

typedef struct BlockCache BlockCache;

typedef struct VsInsnMap {
    uint32_t first_op; /* index of the first interpreter op of the guest insn */
    uint32_t pad;
    uint64_t pc;
} VsInsnMap;

struct VsBlock {
    uint64_t vpc, ppc, ppc2; /* ppc2: second page for a page-crossing insn, or UINT64_MAX */
    uint32_t mode;
    uint32_t size;   /* guest bytes */
    uint32_t ninsns; /* guest instructions */
    _Atomic bool valid;
    /* Its code depends on all of its page, not only on its own bytes (a JIT region, which
     * holds other blocks of the page): any store to the page invalidates it. */
    _Atomic bool covers_page;
    uint64_t exec_count;
    VsBlock *hash_next;
    VsBlock *page_next[2]; /* in the lists of ppc's page and ppc2's page */
    VsBlock *zombie_next;
    /* Interpreter code. */
    InterpInsn *code;
    unsigned ncode;
    VsInsnMap *insn_map;
    unsigned ninsn_map;
    size_t alloc_bytes;
    /* Generated code (engine/jit): the entry point in the code cache's executable view, or
     * NULL. Published with a release store; lives until the code cache is flushed, which
     * frees every block first. */
    void *jit_code;
    uint32_t jit_size; /* bytes of code (the map follows) */
    uint32_t jit_nmap;
    const struct JitPcMap *jit_map; /* host offset -> guest pc, one entry per insn */
    /* Direct jumps (engine/jit): links out of this block's exits, and the links of other
     * blocks' exits patched to jump into this one. Changed under the JIT's lock. */
    struct JitLink *jit_links, *jit_in;
    uint32_t jit_nlinks;
    bool jit_failed; /* the JIT cannot compile it: it stays interpreted */
};

typedef struct BlockCacheStats {
    uint64_t translated, invalidated, flushes, reaps;
    uint64_t guest_bytes, ir_ops, interp_bytes;
    uint64_t translate_ns;
} BlockCacheStats;

/* limit: bytes of live translations before a full flush (0: the default, 512 MiB). */
BlockCache *blocks_create(uint64_t limit);
void blocks_destroy(BlockCache *bc);
/* Find a valid block; NULL if none. Lock-free. */
VsBlock *blocks_lookup(BlockCache *bc, uint64_t vpc, uint64_t ppc, uint32_t mode);
/* Translate and insert (vCPU thread). Raises guest faults for fetch failures. */
VsBlock *blocks_translate(VsCpu *cpu, uint64_t vpc, uint64_t ppc, uint32_t mode);
/* Invalidate every block touching the physical page of paddr. Returns true if any. */
bool blocks_invalidate_page(VsMachine *m, uint64_t paddr);
/* A store of size bytes at paddr (within one page) to a page with code: invalidate the
 * blocks whose guest bytes it overlaps; the page stays marked while blocks remain. */
bool blocks_invalidate_write(VsMachine *m, uint64_t paddr, unsigned size);
/* Drop everything (called inside an exclusive section). */
void blocks_flush_all(VsMachine *m);
/* Called by blocks_flush_all after every block is freed (the JIT drops its code cache). */
void blocks_set_flush_hook(BlockCache *bc, void (*hook)(void *opaque), void *opaque);
/* Called for each block blocks_invalidate_page invalidates, with the cache locked and after
 * b->valid is false (the JIT unlinks direct jumps into b and out of it). */
void blocks_set_invalidate_hook(BlockCache *bc, void (*hook)(void *opaque, VsBlock *b),
                                void *opaque);
/* Free invalidated blocks (inside an exclusive section). */
void blocks_reap(BlockCache *bc);
bool blocks_need_reap(BlockCache *bc);
/* The live translations exceed the cache limit: flush everything (exclusive section). */
bool blocks_over_limit(BlockCache *bc);
void blocks_get_stats(BlockCache *bc, BlockCacheStats *out);
/* The n live blocks executed most often, hottest first; returns how many were found. */
unsigned blocks_hottest(BlockCache *bc, VsBlock **out, unsigned n);

/* The guest pc of interpreter op `op` inside block b. */
uint64_t block_pc_of_op(const VsBlock *b, const InterpInsn *op);

/* Per-vCPU jump cache. */
static inline unsigned jmp_cache_hash(uint64_t vpc)
{
    return (unsigned)((vpc >> 1) ^ (vpc >> (1 + JMP_CACHE_BITS))) & (JMP_CACHE_SIZE - 1);
}
void jmp_cache_flush(VsCpu *cpu);
/* Drop the entries for pcs in the virtual page of vaddr (after a change to its mapping). */
void jmp_cache_flush_page(VsCpu *cpu, uint64_t vaddr);
/* Record that an entry for vpc is being made (see VsCpu.jmp_pages). */
static inline void jmp_cache_note_page(VsCpu *cpu, uint64_t vpc)
{
    uint64_t n = (vpc >> GUEST_PAGE_BITS) % JMP_PAGE_BITS;
    cpu->jmp_pages[n / 64] |= 1ull << (n % 64);
}

#endif
