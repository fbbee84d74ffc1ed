/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory map and the software TLB.
 *
 * The physical map is a sorted array of regions: RAM/ROM (host-backed) and MMIO
 * (callbacks). It is built before the vCPUs start and does not change while they run.
 *
 * The SoftMMU keeps one TLB per vCPU per MMU index. An entry's tags are page-aligned
 * guest virtual addresses with flag bits in the low bits (see TLB_*); a hit is one compare
 * (which also rejects misaligned accesses, since the low address bits are kept in the
 * compare) and an add of the host addend.
 */
#ifndef VESSEL_MMU_H
#define VESSEL_MMU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_PAGE_BITS 12
#define GUEST_PAGE_SIZE (1ull << GUEST_PAGE_BITS)
#define GUEST_PAGE_MASK (~(GUEST_PAGE_SIZE - 1))

typedef struct VsCpu VsCpu;
typedef struct VsMachine VsMachine;

/* ---- MMIO devices ---- */

/*
 * An MMIO device: read/write callbacks with the offset inside the region and the access
 * size (1, 2, 4 or 8). Callbacks run on the vCPU thread that made the access, with the
 * device's lock held by the caller (each region has its own lock), so two vCPUs never
 * run one device's callbacks at once. Reads of unimplemented registers return 0 and
 * writes are ignored (a device never crashes on a guest access).
 */
typedef struct MmioOps {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
} MmioOps;

typedef enum MemRegionKind { MR_RAM = 0, MR_ROM = 1, MR_MMIO = 2 } MemRegionKind;

typedef struct MemRegion {
    const char *name;
    MemRegionKind kind;
    uint64_t base, size;
    uint8_t *host;        /* RAM/ROM: host mapping of the whole region */
    const MmioOps *ops;   /* MMIO */
    void *opaque;         /* MMIO */
    pthread_mutex_t lock; /* MMIO: serialises callbacks */
    /* RAM: one bit per guest page, set while the page holds translated code. */
    uint8_t *code_bitmap;
} MemRegion;

typedef struct PhysMem {
    MemRegion **regions; /* sorted by base, non-overlapping */
    unsigned count, cap;
    /* The largest RAM region, which physmem_find tries first: page-table walks and most
     * other lookups land there. */
    MemRegion *main_ram;
    /* Called by physmem_dma_written() for each RAM page holding translated code that a
     * device wrote (the machine invalidates the page's translations). May be NULL. */
    void (*code_written)(void *opaque, uint64_t paddr);
    void *code_written_opaque;
} PhysMem;

void physmem_init(PhysMem *pm);
void physmem_destroy(PhysMem *pm);
/* Add RAM (anonymous, MAP_NORESERVE, THP advised). Returns NULL on failure. */
MemRegion *physmem_add_ram(PhysMem *pm, const char *name, uint64_t base, uint64_t size);
/* Add ROM: host-backed, guest writes are ignored. Contents copied from data. */
MemRegion *physmem_add_rom(PhysMem *pm, const char *name, uint64_t base, uint64_t size,
                           const void *data, size_t len);
MemRegion *physmem_add_mmio(PhysMem *pm, const char *name, uint64_t base, uint64_t size,
                            const MmioOps *ops, void *opaque);
/* Find the region containing paddr, or NULL. */
MemRegion *physmem_find(const PhysMem *pm, uint64_t paddr);
/*
 * Host pointer for [paddr, paddr+len) if it lies entirely inside one RAM (or, when
 * allow_rom, ROM) region; NULL otherwise. This is how devices and loaders reach guest
 * memory; it never returns memory outside guest RAM.
 */
void *physmem_host_ptr(const PhysMem *pm, uint64_t paddr, uint64_t len, bool allow_rom);
/*
 * A device wrote [host, host+len) of guest RAM directly (DMA through a host pointer from
 * physmem_host_ptr). Pages of it that hold translated code get their translations
 * invalidated (code_written), as a vCPU store there would. Call it before the device
 * tells the guest the data is there. Any thread.
 */
void physmem_dma_written(const PhysMem *pm, const void *host, size_t len);
/* Copy to/from guest physical memory (RAM/ROM only). Return false if out of range. */
bool physmem_write(const PhysMem *pm, uint64_t paddr, const void *src, size_t len);
bool physmem_read(const PhysMem *pm, uint64_t paddr, void *dst, size_t len);
/* Physical accesses of 1/2/4/8 bytes through the map, MMIO included (page walkers use
 * these for page-table entries). Return false when nothing is mapped there. */
bool physmem_load(PhysMem *pm, uint64_t paddr, unsigned size, uint64_t *val);
bool physmem_store(PhysMem *pm, uint64_t paddr, unsigned size, uint64_t val);
/* Atomic compare-and-swap of a 4- or 8-byte RAM word (page-table A/D updates). */
bool physmem_cmpxchg(PhysMem *pm, uint64_t paddr, unsigned size, uint64_t expected,
                     uint64_t desired);

/* ---- Software TLB ---- */

/*
 * Each MMU index has its own direct-mapped table whose size follows the guest: it starts
 * at 1 << TLB_INIT_BITS entries, doubles (up to 1 << TLB_MAX_BITS) when a table's worth
 * of valid entries has been replaced since the last flush or resize (the working set
 * does not fit), and halves at flush time when the recent flushes found it mostly unused
 * (so flushes stay cheap). The inline lookups read the mask and table from the CPU state
 * (TlbFast); the table never moves, only the mask changes (the memory for the largest
 * size is reserved once, and touched only as far as it is used).
 *
 * A small fully associative victim TLB per index keeps the last entries evicted by
 * conflicts; the slow path looks there before walking the page table.
 */
#define TLB_ENTRY_BITS  5 /* log2(sizeof(TlbEntry)) */
#define TLB_MIN_BITS    8
#define TLB_INIT_BITS   10
#define TLB_MAX_BITS    16 /* 64 Ki entries: 256 MiB of 4 KiB pages, 2 MiB of table */
#define TLB_VICTIM_SIZE 8
#define TLB_MAX_MMU_IDX 8
/* Flushes per shrink decision: a table is halved only when this many flushes in a row
 * each found at most 1/8 of it used. */
#define TLB_SHRINK_WINDOW 16
/* A flush of a table with at most this many slots filled since the last flush clears just
 * those slots (they are logged), not the whole table. */
#define TLB_FILL_LOG 64

/* Flag bits in a tag's low bits. Kept above bit 2 so an 8-byte alignment compare fits. */
#define TLB_INVALID    (1ull << 11) /* entry empty / access not permitted */
#define TLB_MMIO       (1ull << 10) /* not RAM: take the slow path */
#define TLB_CODE       (1ull << 9)  /* page holds translated code: stores go slow */
#define TLB_ROM        (1ull << 8)  /* ROM (write tag only): stores go slow and are dropped */
#define TLB_FLAGS_MASK (TLB_INVALID | TLB_MMIO | TLB_CODE | TLB_ROM)

typedef struct TlbEntry {
    uint64_t addr_read;  /* tag for loads */
    uint64_t addr_write; /* tag for stores */
    uint64_t addr_code;  /* tag for instruction fetch */
    uintptr_t addend;    /* host = guest_vaddr + addend (RAM); for MMIO: paddr - vaddr */
} TlbEntry;

/* What the inline lookups read (hot, in VsCpu): entry address =
 * table + ((vaddr >> (GUEST_PAGE_BITS - TLB_ENTRY_BITS)) & mask). */
typedef struct TlbFast {
    uintptr_t mask; /* (entries - 1) << TLB_ENTRY_BITS */
    TlbEntry *table;
} TlbFast;

/* Sizing state and victim entries of one MMU index (cold, owned by the vCPU thread). */
typedef struct TlbDesc {
    unsigned bits;                 /* the table has 1 << bits entries */
    uint32_t used;                 /* empty slots filled since the last flush (upper bound) */
    uint32_t filled[TLB_FILL_LOG]; /* the first TLB_FILL_LOG of those slots */
    uint32_t evictions;            /* valid entries replaced since the last flush or resize */
    uint32_t window_used;          /* largest `used` found at a flush in the shrink window */
    uint32_t window_flushes;       /* flushes in the shrink window so far */
    unsigned victim_next;          /* round-robin replacement */
    TlbEntry victim[TLB_VICTIM_SIZE];
} TlbDesc;

enum MmuAccess { MMU_READ = 0, MMU_WRITE = 1, MMU_EXEC = 2 };
/* Permissions produced by an arch page walk. */
enum { MMU_PROT_R = 1, MMU_PROT_W = 2, MMU_PROT_X = 4 };

static inline TlbEntry *tlb_entry(const TlbFast *t, uint64_t vaddr)
{
    return (TlbEntry *)((uintptr_t)t->table +
                        ((uintptr_t)(vaddr >> (GUEST_PAGE_BITS - TLB_ENTRY_BITS)) & t->mask));
}

/* Allocate a vCPU's TLBs (every index at TLB_INIT_BITS, all entries invalid) / free them.
 * tlb_init returns false when out of memory. */
bool tlb_init(VsCpu *cpu);
void tlb_destroy(VsCpu *cpu);
/* Entries of MMU index idx right now (tests, statistics). */
unsigned tlb_size(const VsCpu *cpu, unsigned idx);

/* Flush every entry of the given MMU indexes (bit mask) of one vCPU. */
void tlb_flush_mask(VsCpu *cpu, unsigned idx_mask);
void tlb_flush_all(VsCpu *cpu);
/* Flush entries mapping one page in the given MMU indexes. */
void tlb_flush_page_mask(VsCpu *cpu, uint64_t vaddr, unsigned idx_mask);

/*
 * Fill one entry after a successful arch page walk: vaddr (page) -> paddr (page) with
 * prot. Looks up the physical region, sets MMIO/CODE/ROM flags.
 */
void tlb_set_page(VsCpu *cpu, unsigned mmu_idx, uint64_t vaddr, uint64_t paddr, int prot);

/*
 * Slow paths, called from the interpreter (and later the JIT) on a TLB miss, MMIO,
 * misaligned or code-page access. They walk the page table through the arch hook, may
 * raise a guest exception (which does not return: it unwinds to the vCPU loop), and
 * handle page-crossing and misaligned accesses. `flags` are IR_MEM_* flags.
 */
uint64_t mmu_load_slow(VsCpu *cpu, uint64_t vaddr, unsigned flags);
void mmu_store_slow(VsCpu *cpu, uint64_t vaddr, uint64_t value, unsigned flags);
/* For atomics: host pointer for an aligned access needing read+write permission; raises
 * the guest fault when not permitted. MMIO atomics are not supported (access fault). */
void *mmu_atomic_host(VsCpu *cpu, uint64_t vaddr, unsigned flags);

/*
 * Instruction fetch translation: physical address of vaddr for execution in mmu_idx.
 * Raises the fetch fault on failure. *host is set to the host pointer of the page when
 * the page is RAM/ROM, NULL otherwise (fetching from MMIO raises an access fault).
 */
uint64_t mmu_translate_code(VsCpu *cpu, uint64_t vaddr, unsigned mmu_idx, uint8_t **host);

/* Host-side guest physical accessors used by the walker live in PhysMem above. */

/* ---- Self-modifying code support ---- */
/* Mark/clear a RAM page as holding translated code. Marking flushes stale writable TLB
 * entries of every vCPU so stores to the page take the slow path. */
void mmu_mark_code_page(VsMachine *m, uint64_t paddr);
void mmu_clear_code_page(VsMachine *m, uint64_t paddr);

#endif
