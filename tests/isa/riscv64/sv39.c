/* SPDX-License-Identifier: MIT */
/*
 * sv39: Sv39 translation (see paging.h for the common part: R/W/X/U permission
 * checks from S and U, SUM, MXR, hardware A/D updates, reserved encodings, sfence.vma,
 * misaligned accesses across pages, MPRV). Sv39-specific: non-canonical addresses,
 * 2 MiB / 1 GiB superpages and misaligned superpages.
 */
#define PT_LEVELS 3
#include "paging.h"

static u64 s_sv39(u64 arg)
{
    (void)arg;
    show("S", P_LD, "non-canonical 0x0000004000000000", 0x0000004000000000ul, 0);
    show("S", P_LD, "non-canonical 0x8000000040000000", 0x8000000040000000ul, 0);
    show("S", P_LD, "non-canonical 0x0000008000000010", 0x0000008000000010ul, 0);
    show("S", P_LD, "canonical high unmapped", 0xffffffc000000000ul, 0);
    show("S", P_EX, "non-canonical fetch", 0x0000004000000000ul, 0);
    show("S", P_LD, "megapage +0x1238", 0x40400000ul + 0x1238, 0);
    show("S", P_LD, "megapage +0x1ff000", 0x40400000ul + 0x1ff000, 0);
    show("S", P_SD, "megapage +0x10", 0x40400000ul + 0x10, 0xabcdef);
    show("S", P_LD, "megapage +0x10", 0x40400000ul + 0x10, 0);
    show("S", P_LD, "misaligned megapage", 0x40600000ul + 0x10, 0);
    show("S", P_LD, "misaligned gigapage", 0xc0000000ul + 0x10, 0);
    show("S", P_LD, "high-half page", 0xffffffffc0001000ul + 16, 0);
    return 0;
}

int main(void)
{
    pr("# " MODE_NAME "\n");
    common_tests();
    /* superpages: 2 MiB at 0x40400000 -> 0x80400000 (data written physically first) */
    for (u64 off = 0; off < 0x200000; off += 0x1000)
        *(volatile u64 *)(0x80400000ul + off + 0x238) = 0x4d00000000000000ul | off;
    *(volatile u64 *)(0x80400000ul + 0x10) = 0;
    map(0x40400000ul, 0x80400000ul, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D, 1);
    map(0x40600000ul, 0x80401000ul, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D, 1);
    map(0xc0000000ul, 0x80200000ul, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D, 2);
    map(0xffffffffc0001000ul, (u64)tpages[1], PTE_V | PTE_R | PTE_W | PTE_A | PTE_D, 0);
    flush();
    g_expect = 1;
    run_in_mode(PRV_S, s_sv39, 0, 0);
    g_expect = 0;
    pr("megapage phys +0x10 %p\n", *(volatile u64 *)(0x80400000ul + 0x10));
    csr_write(satp, 0);
    flush();
    return 0;
}
