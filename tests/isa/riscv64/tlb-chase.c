/* SPDX-License-Identifier: MIT */
/*
 * tlb-chase: guest/bench/vbench.c's "mem" kernel on bare metal. 64 MiB mapped with 4 KiB
 * Sv39 pages (16 Ki PTEs), filled sequentially from S-mode, then a chain of 500 000
 * dependent loads (vbench: 2.5 M) each landing on a random page. The signature is the chase's
 * checksum; the working set needs a 16 Ki-entry TLB. Being bare metal (no timer, no devices), it
 * also gives stable host instruction counts for TLB work under callgrind, which a Linux guest does
 * not (its timer runs on the host clock):
 *   valgrind --tool=callgrind vessel-run --guest-arch riscv64 --accel jit --memory 128M \
 *       --firmware build/tests/isa/riscv64-tlb-chase.elf
 */
#include "isa.h"

#define PTE_V     (1ul << 0)
#define PTE_R     (1ul << 1)
#define PTE_W     (1ul << 2)
#define PTE_X     (1ul << 3)
#define PTE_A     (1ul << 6)
#define PTE_D     (1ul << 7)
#define MEM_BYTES (64ul << 20)
#define MEM_N     (MEM_BYTES / 8)
#define NPG       (MEM_BYTES / 4096)
#define VBASE     0x100000000ul
#ifndef STEPS
#define STEPS 500000u
#endif
static u64 root[512] PAGE_ALIGNED, l1a[512] PAGE_ALIGNED, l1b[512] PAGE_ALIGNED;
static u64 l0[NPG / 512][512] PAGE_ALIGNED, l0u[512] PAGE_ALIGNED;
static u8 arena[MEM_BYTES] PAGE_ALIGNED;
static u64 pte(u64 pa, u64 f)
{
    return ((pa >> 12) << 10) | f;
}
static u64 s_chase(u64 arg)
{
    (void)arg;
    const u64 A = 0x5851f42d4c957f2dul, C = 0x14057b7ef767814ful;
    volatile u64 *next = (volatile u64 *)VBASE;
    for (u64 i = 0; i < MEM_N; i++)
        next[i] = (A * i + C) & (MEM_N - 1);
    u64 p = 0, h = 0;
    for (u32 k = 0; k < STEPS; k++) {
        p = next[p];
        h += p ^ k;
    }
    return h ^ (p << 32);
}
int main(void)
{
    root[RAM_BASE >> 30] = pte(RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
    root[0] = pte((u64)l1a, PTE_V);
    l1a[UART_BASE >> 21] = pte((u64)l0u, PTE_V);
    l0u[(UART_BASE >> 12) & 511] = pte(UART_BASE, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    root[VBASE >> 30] = pte((u64)l1b, PTE_V);
    for (u64 t = 0; t < NPG / 512; t++)
        l1b[t] = pte((u64)l0[t], PTE_V);
    for (u64 i = 0; i < NPG; i++)
        l0[i / 512][i % 512] = pte((u64)arena + i * 4096, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    csr_write(satp, (8ul << 60) | ((u64)root >> 12));
    asm volatile("sfence.vma" ::: "memory");
    pr("chase %p\n", run_in_mode(PRV_S, s_chase, 0, 0));
    return 0;
}
