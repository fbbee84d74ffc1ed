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

#define TLB_BITS        12
#define TLB_SIZE        (1u << TLB_BITS)
#define TLB_MAX_MMU_IDX 8

/* Flag bits in a tag's low bits. Kept above bit 2 so an 8-byte alignment compare fits. */
#define TLB_INVALID    (1ull << 11) /* entry empty / access not permitted */
#define TLB_MMIO       (1ull << 10) /* not RAM: take the slow path */
#define TLB_CODE       (1ull << 9)  /* page holds translated code: stores go slow */
#define TLB_FLAGS_MASK (TLB_INVALID | TLB_MMIO | TLB_CODE)

typedef struct TlbEntry {
    uint64_t addr_read;  /* tag for loads */
    uint64_t addr_write; /* tag for stores */
    uint64_t addr_code;  /* tag for instruction fetch */
    uintptr_t addend;    /* host = guest_vaddr + addend (RAM); for MMIO: paddr - vaddr */
} TlbEntry;

typedef struct TlbTable {
    TlbEntry e[TLB_SIZE];
} TlbTable;

enum MmuAccess { MMU_READ = 0, MMU_WRITE = 1, MMU_EXEC = 2 };
/* Permissions produced by an arch page walk. */
enum { MMU_PROT_R = 1, MMU_PROT_W = 2, MMU_PROT_X = 4 };

static inline TlbEntry *tlb_entry(TlbTable *t, uint64_t vaddr)
{
    return &t->e[(vaddr >> GUEST_PAGE_BITS) & (TLB_SIZE - 1)];
}

/* Flush every entry of the given MMU indexes (bit mask) of one vCPU. */
void tlb_flush_mask(VsCpu *cpu, unsigned idx_mask);
void tlb_flush_all(VsCpu *cpu);
/* Flush entries mapping one page in the given MMU indexes. */
void tlb_flush_page_mask(VsCpu *cpu, uint64_t vaddr, unsigned idx_mask);

/*
 * Fill one entry after a successful arch page walk: vaddr (page) -> paddr (page) with
 * prot. Looks up the physical region, sets MMIO/CODE flags.
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
