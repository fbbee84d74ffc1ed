/* SPDX-License-Identifier: MIT */
/*
 * RISC-V Sv39/Sv48 (and Sv57) page-table walk, privileged spec 1.12 section 4.3.2, with
 * the choices of the test oracle, QEMU 7.2 (marked "QEMU 7.2:"; checked with bare-metal
 * probes against the real binary):
 *   - A and D are set by the walker (atomic compare-and-swap, re-walk if the PTE changed);
 *   - a PTE that cannot be read (nothing mapped at its physical address) is a page fault,
 *     not an access fault; so is a PTE needing an A/D update outside RAM;
 *   - PTE bits 63:54 must be zero at every level (no Svpbmt/Svnapot);
 *   - a non-leaf PTE with D, A or U set is a page fault.
 * PMP is not checked (see rv-csr.c), so *access_fault is never set for now.
 */
#include <stdbool.h>
#include <stdint.h>

#include "arch/riscv64/rv-cpu.h"
#include "core/machine.h"
#include "mmu/mmu.h"

/* PTE bits */
#define PTE_V              (1ull << 0)
#define PTE_R              (1ull << 1)
#define PTE_W              (1ull << 2)
#define PTE_X              (1ull << 3)
#define PTE_U              (1ull << 4)
#define PTE_A              (1ull << 6)
#define PTE_D              (1ull << 7)
#define PTE_PPN_SHIFT      10
#define PTE_RESERVED_SHIFT 54 /* bits 63:54: N, PBMT, reserved */

#define SATP_MODE_SHIFT    60
#define SATP_PPN_MASK      ((1ull << 44) - 1)

#define PT_LEVEL_BITS      9
#define PTE_SIZE           8

/* Number of levels for a satp MODE, 0 for Bare, -1 for modes satp never holds. */
static int satp_levels(uint64_t satp)
{
    switch (satp >> SATP_MODE_SHIFT) {
    case 0: return 0;
    case 8: return 3;  /* Sv39 */
    case 9: return 4;  /* Sv48 */
    case 10: return 5; /* Sv57 (QEMU 7.2 accepts it in satp) */
    default: return -1;
    }
}

static void identity(uint64_t vaddr, uint64_t *paddr, int *prot, uint64_t *page_size)
{
    *paddr = vaddr;
    *prot = MMU_PROT_R | MMU_PROT_W | MMU_PROT_X;
    *page_size = GUEST_PAGE_SIZE;
}

bool rv_page_walk(RvCpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx, uint64_t *paddr,
                  int *prot, uint64_t *page_size, bool *access_fault)
{
    *access_fault = false;
    if (mmu_idx == RV_MMU_M) {
        identity(vaddr, paddr, prot, page_size);
        return true;
    }
    int levels = satp_levels(cpu->satp);
    if (levels == 0) {
        identity(vaddr, paddr, prot, page_size);
        return true;
    }
    if (levels < 0)
        return false;

    /* The address must be the sign extension of its low va_bits bits. */
    unsigned va_bits = GUEST_PAGE_BITS + PT_LEVEL_BITS * (unsigned)levels;
    if ((uint64_t)((int64_t)(vaddr << (64 - va_bits)) >> (64 - va_bits)) != vaddr)
        return false;

    const bool user = mmu_idx == RV_MMU_U;
    const bool sum = mmu_idx == RV_MMU_S_SUM;
    const bool mxr = (cpu->mstatus & RV_MSTATUS_MXR) != 0;
    PhysMem *pm = &cpu->common.machine->mem;

restart:;
    uint64_t base = (cpu->satp & SATP_PPN_MASK) << GUEST_PAGE_BITS;
    for (int level = levels - 1; level >= 0; level--) {
        unsigned shift = GUEST_PAGE_BITS + PT_LEVEL_BITS * (unsigned)level;
        uint64_t pte_addr = base + ((vaddr >> shift) & ((1u << PT_LEVEL_BITS) - 1)) * PTE_SIZE;
        uint64_t pte;
        if (!physmem_load(pm, pte_addr, PTE_SIZE, &pte))
            return false; /* QEMU 7.2: page fault, not access fault */
        if (!(pte & PTE_V) || (pte >> PTE_RESERVED_SHIFT))
            return false;
        uint64_t ppn = pte >> PTE_PPN_SHIFT;

        if (!(pte & (PTE_R | PTE_W | PTE_X))) {
            /* Pointer to the next level. D, A, U are reserved there. */
            if (pte & (PTE_D | PTE_A | PTE_U))
                return false;
            base = ppn << GUEST_PAGE_BITS;
            continue;
        }

        /* Leaf. W without R is reserved (W and W+X). */
        if ((pte & (PTE_R | PTE_W)) == PTE_W)
            return false;
        if (pte & PTE_U) {
            /* S may read/write user pages only with SUM, and never execute them. */
            if (!user && (!sum || access == MMU_EXEC))
                return false;
        } else if (user) {
            return false;
        }
        /* Superpage: the low PPN fields must be zero. */
        uint64_t span_mask = (1ull << shift) - 1;
        if ((ppn << GUEST_PAGE_BITS) & span_mask)
            return false;

        bool can_read = (pte & PTE_R) || (mxr && (pte & PTE_X));
        switch (access) {
        case MMU_READ:
            if (!can_read)
                return false;
            break;
        case MMU_WRITE:
            if (!(pte & PTE_W))
                return false;
            break;
        default:
            if (!(pte & PTE_X))
                return false;
            break;
        }

        uint64_t updated = pte | PTE_A | (access == MMU_WRITE ? PTE_D : 0);
        if (updated != pte) {
            /* QEMU 7.2: a PTE outside RAM cannot be updated -> page fault. */
            if (!physmem_host_ptr(pm, pte_addr, PTE_SIZE, false))
                return false;
            if (!physmem_cmpxchg(pm, pte_addr, PTE_SIZE, pte, updated))
                goto restart; /* the PTE changed under us: walk again */
            pte = updated;
        }

        *paddr = (ppn << GUEST_PAGE_BITS) | (vaddr & span_mask);
        *page_size = span_mask + 1;
        int p = 0;
        if (can_read)
            p |= MMU_PROT_R;
        /* W only once D is set, so the first store to a clean page comes back here. */
        if ((pte & PTE_W) && (pte & PTE_D))
            p |= MMU_PROT_W;
        /* User pages are never executable from S (this entry may serve S_SUM loads). */
        if ((pte & PTE_X) && (user || !(pte & PTE_U)))
            p |= MMU_PROT_X;
        *prot = p;
        return true;
    }
    return false; /* no leaf at level 0 */
}
