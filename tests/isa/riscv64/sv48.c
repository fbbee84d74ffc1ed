/* SPDX-License-Identifier: MIT */
/*
 * sv48: Sv48 translation: the common paging.h scenario with 4-level tables, plus
 * Sv48 canonical-address rules (bits 63..48 = bit 47), addresses that are valid in
 * Sv48 but would be non-canonical in Sv39, high-half mappings, 512 GiB "terapages"
 * (aligned and misaligned), and satp MODE switches between Sv48, Sv39 and Bare.
 */
#define PT_LEVELS 4
#include "paging.h"

static u64 s_sv48(u64 arg)
{
    (void)arg;
    show("S", P_LD, "non-canonical 0x0000800000000000", 0x0000800000000000ul, 0);
    show("S", P_LD, "non-canonical 0xffff000040001010", 0xffff000040001010ul, 0);
    show("S", P_LD, "non-canonical 0x7fff800000000000", 0x7fff800000000000ul, 0);
    show("S", P_EX, "non-canonical fetch", 0x0000800000000000ul, 0);
    show("S", P_LD, "bit38 page (Sv39-non-canonical)", 0x0000004000001000ul + 16, 0);
    show("S", P_LD, "top of lower half", 0x00007ffffffff000ul + 16, 0);
    show("S", P_LD, "bottom of upper half", 0xffff800000000000ul + 16, 0);
    show("S", P_LD, "top page", 0xfffffffffffff000ul + 16, 0);
    show("S", P_LD, "unmapped upper half", 0xffff800000200000ul, 0);
    show("S", P_LD, "terapage -> RAM", 0x0000008000000000ul + (u64)&tpages[3][16], 0);
    show("S", P_LD, "misaligned terapage", 0x0000010000000000ul + 16, 0);
    return 0;
}

int main(void)
{
    pr("# " MODE_NAME "\n");
    common_tests();
    u64 rw = PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
    map(0x0000004000001000ul, (u64)tpages[5], rw, 0);
    map(0x00007ffffffff000ul, (u64)tpages[7], rw, 0);
    map(0xffff800000000000ul, (u64)tpages[9], rw, 0);
    map(0xfffffffffffff000ul, (u64)tpages[13], rw, 0);
    map(0x0000008000000000ul, 0, PTE_V | PTE_R | PTE_A | PTE_D, 3);            /* 512 GiB */
    map(0x0000010000000000ul, 0x80000000ul, PTE_V | PTE_R | PTE_A | PTE_D, 3); /* misaligned */
    flush();
    g_expect = 1;
    run_in_mode(PRV_S, s_sv48, 0, 0);
    g_expect = 0;
    /* satp MODE switches: Sv39 and Bare are accepted, a reserved mode is ignored */
    u64 old = csr_read(satp);
    csr_write(satp, (8ul << 60) | ((u64)root >> 12));
    pr("satp sv39 readback mode %lu\n", csr_read(satp) >> 60);
    csr_write(satp, (2ul << 60) | ((u64)root >> 12));
    pr("satp mode 2 (reserved) readback mode %lu\n", csr_read(satp) >> 60);
    csr_write(satp, 0);
    pr("satp bare readback %lx\n", csr_read(satp));
    csr_write(satp, old);
    flush();
    pr("satp sv48 again mode %lu\n", csr_read(satp) >> 60);
    g_expect = 1;
    run_in_mode(PRV_S, s_sv48, 0, 0);
    g_expect = 0;
    csr_write(satp, 0);
    flush();
    return 0;
}
