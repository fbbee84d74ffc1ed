/* SPDX-License-Identifier: MIT */
/*
 * tlb-stress: Sv39 with a working set larger than a small software TLB, so an emulator
 * that sizes its TLB at run time grows it, evicts entries on conflicts and refills them
 * (Vessel: engine/mmu/softmmu.c). Every phase prints a hash or value that QEMU must
 * reproduce:
 *   - pages that share a slot of a 1 Ki, 2 Ki or 4 Ki-entry table read in turn, then
 *     remapped one by one with sfence.vma va (before and after the growth below);
 *   - 4096 virtual pages (16 MiB) mapped onto 64 physical pages, read in several passes;
 *   - single pages remapped after the TLB grew, each followed by sfence.vma va;
 *   - stores through one alias read back through another (same physical page);
 *   - code on the pages (each starts with "li a0, n; ret") run through many aliases,
 *     before and after stores to those pages;
 *   - every page remapped, then sfence.vma with no operands, with an ASID operand, and
 *     after a satp write (ASID 1, same root) sfence.vma for ASID 1;
 *   - a page whose PTE lost A and D: the store after sfence.vma va sets them again.
 */
#include "isa.h"

#define PTE_V   (1ul << 0)
#define PTE_R   (1ul << 1)
#define PTE_W   (1ul << 2)
#define PTE_X   (1ul << 3)
#define PTE_A   (1ul << 6)
#define PTE_D   (1ul << 7)

#define NVPAGES 4096u
#define NPPAGES 64u
#define VBASE   0x100000000ul /* gigabyte 4 */
#define VA(i)   (VBASE + (u64)(i)*4096)

static u64 pt[12][512] PAGE_ALIGNED; /* root, L1 + L0 for the UART, L1 + 8 L0 for VBASE */
static u8 data[NPPAGES][4096] PAGE_ALIGNED;

static u64 pte_for(u64 pa, u64 flags)
{
    return ((pa >> 12) << 10) | flags;
}

static volatile u64 *leaf(unsigned i)
{
    return &pt[4 + i / 512][i % 512];
}

static void map_page(unsigned i, unsigned p)
{
    *leaf(i) = pte_for((u64)data[p], PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
}

static void setup(void)
{
    memset(pt, 0, sizeof(pt));
    u64 *root = pt[0];
    root[RAM_BASE >> 30] = pte_for(RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
    root[0] = pte_for((u64)pt[1], PTE_V);
    pt[1][UART_BASE >> 21] = pte_for((u64)pt[2], PTE_V);
    pt[2][(UART_BASE >> 12) & 511] = pte_for(UART_BASE, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    root[VBASE >> 30] = pte_for((u64)pt[3], PTE_V);
    for (unsigned t = 0; t < NVPAGES / 512; t++)
        pt[3][t] = pte_for((u64)pt[4 + t], PTE_V);
    for (unsigned i = 0; i < NVPAGES; i++)
        map_page(i, i % NPPAGES);
    for (unsigned p = 0; p < NPPAGES; p++) {
        u32 *w = (u32 *)data[p];
        w[0] = (p << 20) | (10u << 7) | 0x13; /* addi a0, zero, p */
        w[1] = 0x00008067;                    /* ret */
        u64 *d = (u64 *)data[p];
        for (unsigned k = 1; k < 512; k++)
            d[k] = ((u64)p << 48) | ((u64)k << 24) | (0x9e37u * k + p);
    }
    asm volatile("fence.i" ::: "memory");
}

static u64 mix(u64 h, u64 v)
{
    return (h ^ v) * 0x100000001b3ul;
}

/* One load from every virtual page, at an offset that changes with the page. */
static u64 pass(void)
{
    u64 h = 0xcbf29ce484222325ul;
    for (unsigned i = 0; i < NVPAGES; i++)
        h = mix(h, *(volatile u64 *)(VA(i) + 8 * (1 + (i / NPPAGES) % 511)));
    return h;
}

static u64 s_grow(u64 arg)
{
    (void)arg;
    u64 h = 0;
    for (unsigned r = 0; r < 3; r++)
        h = mix(h, pass());
    return h;
}

static u64 s_remap_pages(u64 arg)
{
    (void)arg;
    static const unsigned which[] = { 5, 1029, 2053, 3077, 4095 };
    u64 h = 0;
    for (unsigned k = 0; k < ARRAY_SIZE(which); k++) {
        unsigned i = which[k];
        h = mix(h, *(volatile u64 *)(VA(i) + 16)); /* in the TLB now */
        map_page(i, (i * 7 + 3) % NPPAGES);
        asm volatile("sfence.vma %0, zero" ::"r"(VA(i)) : "memory");
        h = mix(h, *(volatile u64 *)(VA(i) + 16));
    }
    /* Neighbours kept their mappings. */
    for (unsigned k = 0; k < ARRAY_SIZE(which); k++)
        h = mix(h, *(volatile u64 *)(VA(which[k] - 1) + 16));
    return h;
}

static u64 s_conflicts(u64 arg)
{
    (void)arg;
    u64 h = 0;
    static const unsigned strides[] = { 1024, 2048, 512 };
    for (unsigned s = 0; s < ARRAY_SIZE(strides); s++)
        for (unsigned r = 0; r < 50; r++)
            for (unsigned j = 0; j < NVPAGES / strides[s]; j++)
                h = mix(h, *(volatile u64 *)(VA(9 + j * strides[s]) + 8 * (1 + j + r % 7)));
    /* Remap each of four pages sharing a slot (some are in a victim TLB by now). */
    for (unsigned j = 0; j < 4; j++) {
        map_page(9 + j * 1024, (j * 13 + 1) % NPPAGES);
        asm volatile("sfence.vma %0, zero" ::"r"(VA(9 + j * 1024)) : "memory");
        for (unsigned k = 0; k < 4; k++)
            h = mix(h, *(volatile u64 *)(VA(9 + k * 1024) + 8));
    }
    for (unsigned j = 0; j < 4; j++)
        map_page(9 + j * 1024, 9);
    asm volatile("sfence.vma" ::: "memory");
    return h;
}

typedef u64 (*fn_t)(void);

static u64 s_exec(u64 arg)
{
    (void)arg;
    u64 h = 0;
    for (unsigned r = 0; r < 2; r++)
        for (unsigned i = 0; i < NVPAGES; i += 3)
            h = mix(h, ((fn_t)VA(i))());
    return h;
}

static u64 s_aliases(u64 arg)
{
    (void)arg;
    u64 h = 0;
    *(volatile u64 *)(VA(10) + 24) = 0x1111222233334444ul;
    h = mix(h, *(volatile u64 *)(VA(10 + NPPAGES) + 24));
    *(volatile u64 *)(VA(10 + 2 * NPPAGES) + 32) = 0x5555666677778888ul;
    h = mix(h, *(volatile u64 *)(VA(10) + 32));
    /* Stores to pages whose code has run, through pages that share TLB slots. */
    for (unsigned j = 0; j < 4; j++)
        *(volatile u64 *)(VA(11 + j * 1024) + 40) = 0xabc0ul + j;
    for (unsigned j = 0; j < 4; j++)
        h = mix(h, *(volatile u64 *)(VA(11 + j * 1024 + NPPAGES) + 40));
    return h;
}

static u64 s_remap_all(u64 shift)
{
    for (unsigned i = 0; i < NVPAGES; i++)
        map_page(i, (i + shift) % NPPAGES);
    if (shift == 1)
        asm volatile("sfence.vma" ::: "memory");
    else
        asm volatile("sfence.vma zero, %0" ::"r"(0ul) : "memory");
    return pass();
}

static u64 s_pass(u64 arg)
{
    (void)arg;
    return pass();
}

static u64 s_dirty(u64 arg)
{
    (void)arg;
    unsigned i = 20;
    (void)*(volatile u64 *)(VA(i) + 8);
    *leaf(i) &= ~(PTE_A | PTE_D);
    asm volatile("sfence.vma %0, zero" ::"r"(VA(i)) : "memory");
    u64 before = *leaf(i) & 0xff;
    (void)*(volatile u64 *)(VA(i) + 8); /* sets A */
    u64 after_load = *leaf(i) & 0xff;
    *(volatile u64 *)(VA(i) + 8) = 7; /* sets D */
    u64 after_store = *leaf(i) & 0xff;
    return before | after_load << 8 | after_store << 16;
}

int main(void)
{
    pr("# tlb-stress\n");
    setup();
    csr_write(satp, (8ul << 60) | ((u64)pt[0] >> 12));
    asm volatile("sfence.vma" ::: "memory");
    pr("conflicts %p\n", run_in_mode(PRV_S, s_conflicts, 0, 0));
    pr("grow %p\n", run_in_mode(PRV_S, s_grow, 0, 0));
    pr("remap pages %p\n", run_in_mode(PRV_S, s_remap_pages, 0, 0));
    pr("conflicts after growth %p\n", run_in_mode(PRV_S, s_conflicts, 0, 0));
    pr("exec %p\n", run_in_mode(PRV_S, s_exec, 0, 0));
    pr("aliases %p\n", run_in_mode(PRV_S, s_aliases, 0, 0));
    pr("exec after stores %p\n", run_in_mode(PRV_S, s_exec, 0, 0));
    pr("remap all, sfence.vma %p\n", run_in_mode(PRV_S, s_remap_all, 1, 0));
    pr("remap all, sfence.vma asid %p\n", run_in_mode(PRV_S, s_remap_all, 2, 0));
    /* Remap from M, switch to ASID 1 and fence that ASID only. */
    for (unsigned i = 0; i < NVPAGES; i++)
        map_page(i, (i * 5) % NPPAGES);
    csr_write(satp, (8ul << 60) | (1ul << 44) | ((u64)pt[0] >> 12));
    asm volatile("sfence.vma zero, %0" ::"r"(1ul) : "memory");
    pr("satp asid 1 %p\n", run_in_mode(PRV_S, s_pass, 0, 0));
    pr("dirty %p\n", run_in_mode(PRV_S, s_dirty, 0, 0));
    csr_write(satp, 0);
    asm volatile("sfence.vma" ::: "memory");
    return 0;
}
