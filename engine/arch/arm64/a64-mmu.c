/* SPDX-License-Identifier: MIT */
/*
 * VMSAv8-64 stage 1 translation for the EL1&0 regime, 4 KiB granule (Arm ARM D8,
 * AArch64.S1Translate and friends), as an ARMv8.0 CPU without the optional extensions:
 *   - TTBR0/TTBR1 chosen by VA bit 55; TCR_EL1.TnSZ (clamped to 16..39), EPDn, TBIn, IPS;
 *   - levels 0..3 (blocks at levels 1 and 2), hierarchical APTable/UXNTable/PXNTable;
 *   - no hardware Access flag or dirty state management (FEAT_HAFDBS is not advertised):
 *     AF = 0 is an Access flag fault and AP[2] = 1 a permission fault on write;
 *   - PARange 44 bits (ID_AA64MMFR0_EL1.PARange = 4, as QEMU's cortex-a72): output and
 *     table addresses above min(IPS, PARange) are Address size faults;
 *   - the TG0/TG1 fields are ignored: only the 4 KiB granule exists (MMFR0 says the 16 and
 *     64 KiB granules are not implemented; a reserved or unimplemented TGn value may be
 *     treated as any implemented size).
 * ASIDs are not tagged in the software TLB: writing TTBR0/TTBR1/TCR flushes it (see
 * a64-sysreg.c), which is always correct and costs only refills.
 */
#include <stdbool.h>
#include <stdint.h>

#include "arch/arm64/a64-cpu.h"
#include "core/machine.h"
#include "mmu/mmu.h"

#define PA_BITS_MAX 44

/* Fault status codes (ESR ISS DFSC/IFSC). */
#define FSC_ADDR_SIZE(l)   (0x00u + (l))
#define FSC_TRANSLATION(l) (0x04u + (l))
#define FSC_ACCESS_FLAG(l) (0x08u + (l))
#define FSC_PERMISSION(l)  (0x0cu + (l))
#define FSC_EXT_WALK(l)    (0x14u + (l))

#define DESC_ADDR_MASK     0x0000fffffffff000ull

static unsigned ips_bits(uint64_t tcr)
{
    static const unsigned bits[8] = { 32, 36, 40, 42, 44, 48, 52, 52 };
    unsigned b = bits[(tcr >> 32) & 7];
    return b > PA_BITS_MAX ? PA_BITS_MAX : b;
}

typedef struct WalkResult {
    uint64_t paddr;
    int prot;
    uint64_t size;
    unsigned attrindx, sh;
} WalkResult;

/* Returns 0 on success, else the fault status code + 1 (so 0 stays "no fault"). */
static unsigned walk(A64Cpu *cpu, uint64_t va, unsigned mmu_idx, WalkResult *r)
{
    if (!(cpu->sctlr & A64_SCTLR_M)) {
        /* MMU off: flat, with the physical address size checked. */
        if (va >> PA_BITS_MAX)
            return FSC_ADDR_SIZE(0) + 1;
        r->paddr = va;
        r->prot = MMU_PROT_R | MMU_PROT_W | MMU_PROT_X;
        r->size = GUEST_PAGE_SIZE;
        r->attrindx = 0;
        r->sh = 2;
        return 0;
    }
    const uint64_t tcr = cpu->tcr;
    const bool hi = (va >> 55) & 1;
    unsigned tsz = hi ? (tcr >> 16) & 0x3f : tcr & 0x3f;
    bool tbi = hi ? (tcr >> 38) & 1 : (tcr >> 37) & 1;
    bool epd = hi ? (tcr >> 23) & 1 : (tcr >> 7) & 1;
    if (tsz < 16)
        tsz = 16;
    if (tsz > 39)
        tsz = 39;
    unsigned inputsize = 64 - tsz;
    /* Bits [top:inputsize] must all equal bit 55 (top is 55 with TBI, else 63). */
    unsigned top = tbi ? 55 : 63;
    uint64_t upper = (va << (63 - top)) >> (63 - top + inputsize);
    uint64_t want = hi ? (~0ull >> (inputsize + 63 - top)) : 0;
    if (upper != want || epd)
        return FSC_TRANSLATION(0) + 1;

    unsigned pabits = ips_bits(tcr);
    uint64_t ttbr = hi ? cpu->ttbr1 : cpu->ttbr0;
    int level = 3 - (int)((inputsize - 12 - 1) / 9); /* 4 KiB: 9 bits per level */
    unsigned first_bits = inputsize - (12 + 9 * (unsigned)(3 - level));
    uint64_t base = ttbr & 0x0000fffffffffffeull;
    base &= ~((8ull << first_bits) - 1);
    if (base >> pabits)
        return FSC_ADDR_SIZE(0) + 1;

    bool tbl_no_el0 = false, tbl_ro = false, tbl_uxn = false, tbl_pxn = false;
    PhysMem *pm = &cpu->common.machine->mem;
    for (;; level++) {
        unsigned shift = 12 + 9 * (unsigned)(3 - level);
        unsigned nbits = level == 3 - (int)((inputsize - 12 - 1) / 9) ? first_bits : 9;
        uint64_t idx = (va >> shift) & ((1ull << nbits) - 1);
        uint64_t desc;
        if (!physmem_load(pm, base + idx * 8, 8, &desc))
            return FSC_EXT_WALK(level) + 1;
        if (!(desc & 1))
            return FSC_TRANSLATION(level) + 1;
        if (level < 3 && (desc & 2)) {
            base = desc & DESC_ADDR_MASK;
            if (base >> pabits)
                return FSC_ADDR_SIZE(level) + 1;
            tbl_pxn |= (desc >> 59) & 1;
            tbl_uxn |= (desc >> 60) & 1;
            tbl_no_el0 |= (desc >> 61) & 1;
            tbl_ro |= (desc >> 62) & 1;
            continue;
        }
        if (level == 3 ? !(desc & 2) : level == 0)
            return FSC_TRANSLATION(level) + 1; /* reserved; no level 0 blocks with 4 KiB */
        uint64_t span = 1ull << shift;
        uint64_t oa = desc & DESC_ADDR_MASK & ~(span - 1);
        if (oa >> pabits)
            return FSC_ADDR_SIZE(level) + 1;
        if (!(desc & (1ull << 10)))
            return FSC_ACCESS_FLAG(level) + 1;
        bool ap1 = ((desc >> 6) & 1) && !tbl_no_el0; /* EL0 may access */
        bool ro = ((desc >> 7) & 1) || tbl_ro;
        bool uxn = ((desc >> 54) & 1) || tbl_uxn;
        bool pxn = ((desc >> 53) & 1) || tbl_pxn;
        bool user = mmu_idx == A64_MMU_EL0;
        int prot = 0;
        if (!user || ap1) {
            prot |= MMU_PROT_R;
            if (!ro)
                prot |= MMU_PROT_W;
        }
        /* Execute: UXN at EL0; at EL1 PXN, and never from memory EL0 can write. */
        bool xn = user ? uxn : (pxn || (ap1 && !ro));
        if ((cpu->sctlr & A64_SCTLR_WXN) && (prot & MMU_PROT_W))
            xn = true;
        if (!xn)
            prot |= MMU_PROT_X;
        r->paddr = oa | (va & (span - 1));
        r->prot = prot;
        r->size = span;
        r->attrindx = (desc >> 2) & 7;
        r->sh = (desc >> 8) & 3;
        return 0;
    }
}

bool a64_page_walk(A64Cpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx, uint64_t *paddr,
                   int *prot, uint64_t *page_size, unsigned *fsc)
{
    WalkResult r;
    unsigned f = walk(cpu, vaddr, mmu_idx, &r);
    if (f) {
        *fsc = f - 1;
        return false;
    }
    static const int need[3] = { MMU_PROT_R, MMU_PROT_W, MMU_PROT_X };
    if (!(r.prot & need[access])) {
        /* The level is not kept by walk(); recompute it from the block size. */
        unsigned level = r.size == (1ull << 30) ? 1 : r.size == (1ull << 21) ? 2 : 3;
        *fsc = FSC_PERMISSION(level);
        return false;
    }
    *paddr = r.paddr & GUEST_PAGE_MASK;
    *paddr |= vaddr & (GUEST_PAGE_SIZE - 1);
    *prot = r.prot;
    *page_size = GUEST_PAGE_SIZE;
    return true;
}

uint64_t a64_at(A64Cpu *cpu, uint64_t vaddr, bool write, unsigned mmu_idx)
{
    WalkResult r;
    unsigned f = walk(cpu, vaddr, mmu_idx, &r);
    if (!f && !(r.prot & (write ? MMU_PROT_W : MMU_PROT_R))) {
        unsigned level = r.size == (1ull << 30) ? 1 : r.size == (1ull << 21) ? 2 : 3;
        f = FSC_PERMISSION(level) + 1;
    }
    if (f) /* F = 1, FST = fault status */
        return 1 | ((uint64_t)(f - 1) << 1) | (1ull << 11);
    /* NS = 1: without EL3 this CPU is in Non-secure state (as QEMU reports it). */
    uint64_t attr = (cpu->mair >> (8 * r.attrindx)) & 0xff;
    return (attr << 56) | (r.paddr & DESC_ADDR_MASK) | (1ull << 11) | (1ull << 9) |
           ((uint64_t)r.sh << 7);
}
