/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for engine/arch/riscv64/rv-mmu.c: Sv39/Sv48/Sv57 walks over page tables built
 * in guest RAM (the real physmem from engine/mmu/physmem.c), permissions per MMU index,
 * SUM/MXR, A/D updates, superpages, reserved bits, canonical addresses.
 *
 * Expected outcomes follow Debian 12's qemu-system-riscv64 7.2 (measured with bare-metal
 * probes), e.g. a PTE at an unmapped physical address is a page fault.
 *
 * Build (standalone):
 *   gcc -std=gnu11 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
 *       -Iengine -Iengine/include tests/unit/test-rv-mmu.c \
 *       engine/arch/riscv64/rv-csr.c engine/arch/riscv64/rv-mmu.c engine/mmu/physmem.c \
 *       -lpthread
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/riscv64/rv-cpu.h"
#include "core/cpu.h"
#include "core/machine.h"
#include "mmu/mmu.h"

/* ---- fakes for symbols rv-csr.c needs (rv_csr_write is used for satp/mstatus) ---- */

static unsigned flushed;

void vs_cpu_kick(VsCpu *cpu, uint32_t req)
{
    (void)cpu;
    (void)req;
}

void vs_cpu_unwind(VsCpu *cpu)
{
    (void)cpu;
    fprintf(stderr, "unexpected unwind\n");
    abort();
}

uint64_t vs_cpu_current_pc(VsCpu *cpu)
{
    (void)cpu;
    return 0;
}

void tlb_flush_mask(VsCpu *cpu, unsigned idx_mask)
{
    (void)cpu;
    flushed |= idx_mask;
}

/* ---- tiny test framework ---- */

static int failures, checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                        \
    do {                                                                                      \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                      \
        checks++;                                                                             \
        if (a_ != b_) {                                                                       \
            failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s == 0x%llx, expected 0x%llx\n", __FILE__, __LINE__, #a, \
                    (unsigned long long)a_, (unsigned long long)b_);                          \
        }                                                                                     \
    } while (0)

/* ---- guest memory ---- */

#define RAM_BASE  0x80000000ull
#define RAM_SIZE  (16ull << 20)
#define ROM_BASE  0x1000ull
#define MMIO_BASE 0x10000000ull

#define PTE_V     0x01ull
#define PTE_R     0x02ull
#define PTE_W     0x04ull
#define PTE_X     0x08ull
#define PTE_U     0x10ull
#define PTE_G     0x20ull
#define PTE_A     0x40ull
#define PTE_D     0x80ull

/* Page-table pages and data pages (physical). */
#define ROOT    0x80001000ull
#define L1      0x80002000ull
#define L0      0x80003000ull
#define L2_48   0x80004000ull
#define ROOT48  0x80005000ull
#define ROOT57  0x80006000ull
#define DATA(i) (0x80100000ull + (uint64_t)(i)*0x1000)
#define VA(i)   (0x40000000ull + (uint64_t)(i)*0x1000)

static VsMachine machine;
static RvCpu *cpu;
static uint64_t mmio_value;

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)size;
    return mmio_value;
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)val;
    (void)size;
}

static const MmioOps mmio_ops = { mmio_read, mmio_write };

static void put64(uint64_t pa, uint64_t v)
{
    if (!physmem_write(&machine.mem, pa, &v, 8)) {
        fprintf(stderr, "put64 0x%llx failed\n", (unsigned long long)pa);
        exit(2);
    }
}

static uint64_t get64(uint64_t pa)
{
    uint64_t v = 0;
    if (!physmem_read(&machine.mem, pa, &v, 8)) {
        fprintf(stderr, "get64 0x%llx failed\n", (unsigned long long)pa);
        exit(2);
    }
    return v;
}

static uint64_t pte(uint64_t pa, uint64_t flags)
{
    return (pa >> 12) << 10 | flags;
}

/* Slot of the PTE for va at `level` (0 = 4K) in the table at `table`. */
static uint64_t slot(uint64_t table, uint64_t va, int level)
{
    return table + ((va >> (12 + 9 * level)) & 511) * 8;
}

typedef struct Walk {
    bool ok;
    bool access_fault;
    uint64_t paddr;
    int prot;
    uint64_t page_size;
} Walk;

static Walk walk(uint64_t va, int access, unsigned idx)
{
    Walk w = { 0 };
    w.prot = -1;
    w.ok = rv_page_walk(cpu, va, access, idx, &w.paddr, &w.prot, &w.page_size, &w.access_fault);
    return w;
}

static bool ok(uint64_t va, int access, unsigned idx)
{
    Walk w = walk(va, access, idx);
    CHECK(!w.access_fault);
    return w.ok;
}

static void set_satp(uint64_t mode, uint64_t root)
{
    cpu->priv = RV_PRV_M;
    CHECK(rv_csr_write(cpu, 0x180, (mode << 60) | (root >> 12)));
    CHECK_EQ(cpu->satp, (mode << 60) | (root >> 12));
}

static void set_mstatus_bits(uint64_t bits, bool on)
{
    uint64_t v;
    cpu->priv = RV_PRV_M;
    CHECK(rv_csr_read(cpu, 0x300, &v));
    CHECK(rv_csr_write(cpu, 0x300, on ? v | bits : v & ~bits));
}

/* Fresh Sv39 tables: VA(i) -> L0 slot i via root[1] -> L1[0] -> L0. */
static void fresh_tables(void)
{
    uint8_t *ram = physmem_host_ptr(&machine.mem, RAM_BASE, RAM_SIZE, false);
    memset(ram, 0, 0x10000);
    put64(slot(ROOT, VA(0), 2), pte(L1, PTE_V));
    put64(slot(L1, VA(0), 1), pte(L0, PTE_V));
    for (int i = 0; i < 8; i++)
        put64(DATA(i), 0x1000 + (uint64_t)i);
    cpu->mstatus &= ~(RV_MSTATUS_MXR | RV_MSTATUS_SUM);
    set_satp(8, ROOT);
}

/* ---- tests ---- */

static void test_bare(void)
{
    fresh_tables();
    Walk w = walk(0x80001234, MMU_WRITE, RV_MMU_M);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, 0x80001234);
    CHECK_EQ(w.prot, MMU_PROT_R | MMU_PROT_W | MMU_PROT_X);
    CHECK_EQ(w.page_size, 4096);
    /* M ignores satp even for non-canonical addresses. */
    CHECK(walk(0x123456789abcdef0ull, MMU_EXEC, RV_MMU_M).ok);

    set_satp(0, 0);
    for (unsigned idx = 0; idx < RV_MMU_COUNT; idx++) {
        w = walk(0xdeadbeef0, MMU_EXEC, idx);
        CHECK(w.ok);
        CHECK_EQ(w.paddr, 0xdeadbeef0);
        CHECK_EQ(w.prot, MMU_PROT_R | MMU_PROT_W | MMU_PROT_X);
    }
    /* A mode satp can never hold (set behind the CSR code's back) faults. */
    cpu->satp = 1ull << 60;
    CHECK(!ok(0x1000, MMU_READ, RV_MMU_S));
}

static void test_basic_4k_and_ad(void)
{
    fresh_tables();
    /* Read-only page without A: load succeeds, A set by the walker. */
    put64(slot(L0, VA(0), 0), pte(DATA(0), PTE_V | PTE_R));
    Walk w = walk(VA(0) + 0x123, MMU_READ, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, DATA(0) + 0x123);
    CHECK_EQ(w.prot, MMU_PROT_R);
    CHECK_EQ(w.page_size, 4096);
    CHECK_EQ(get64(slot(L0, VA(0), 0)), pte(DATA(0), PTE_V | PTE_R | PTE_A));

    /* Writable clean page: a load sets only A and does not grant W. */
    put64(slot(L0, VA(1), 0), pte(DATA(1), PTE_V | PTE_R | PTE_W | PTE_A));
    w = walk(VA(1), MMU_READ, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.prot, MMU_PROT_R);
    CHECK_EQ(get64(slot(L0, VA(1), 0)), pte(DATA(1), PTE_V | PTE_R | PTE_W | PTE_A));
    /* The store sets D and gets W. */
    w = walk(VA(1) + 8, MMU_WRITE, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, DATA(1) + 8);
    CHECK_EQ(w.prot, MMU_PROT_R | MMU_PROT_W);
    CHECK_EQ(get64(slot(L0, VA(1), 0)), pte(DATA(1), PTE_V | PTE_R | PTE_W | PTE_A | PTE_D));
    /* Dirty page: a load grants W right away. */
    w = walk(VA(1), MMU_READ, RV_MMU_S);
    CHECK_EQ(w.prot, MMU_PROT_R | MMU_PROT_W);
    /* A store to a page with neither A nor D sets both. */
    put64(slot(L0, VA(2), 0), pte(DATA(2), PTE_V | PTE_R | PTE_W));
    CHECK(ok(VA(2), MMU_WRITE, RV_MMU_S));
    CHECK_EQ(get64(slot(L0, VA(2), 0)), pte(DATA(2), PTE_V | PTE_R | PTE_W | PTE_A | PTE_D));

    /* Store to a read-only page faults and leaves A clear. */
    put64(slot(L0, VA(3), 0), pte(DATA(3), PTE_V | PTE_R));
    CHECK(!ok(VA(3), MMU_WRITE, RV_MMU_S));
    CHECK_EQ(get64(slot(L0, VA(3), 0)), pte(DATA(3), PTE_V | PTE_R));

    /* Fetch sets A; prot X (+R). */
    put64(slot(L0, VA(4), 0), pte(DATA(4), PTE_V | PTE_R | PTE_X));
    w = walk(VA(4), MMU_EXEC, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.prot, MMU_PROT_R | MMU_PROT_X);
    CHECK_EQ(get64(slot(L0, VA(4), 0)), pte(DATA(4), PTE_V | PTE_R | PTE_X | PTE_A));
    CHECK(!ok(VA(3), MMU_EXEC, RV_MMU_S));

    /* V=0, even with other bits set. */
    put64(slot(L0, VA(5), 0), pte(DATA(5), PTE_R | PTE_W | PTE_X | PTE_A | PTE_D));
    CHECK(!ok(VA(5), MMU_READ, RV_MMU_S));
    /* Unmapped slot. */
    CHECK(!ok(VA(6), MMU_READ, RV_MMU_S));
    /* A pointer at level 0 is not a leaf. */
    put64(slot(L0, VA(7), 0), pte(DATA(7), PTE_V));
    CHECK(!ok(VA(7), MMU_READ, RV_MMU_S));
    /* G and the RSW bits are ignored. */
    put64(slot(L0, VA(7), 0), pte(DATA(7), PTE_V | PTE_R | PTE_A | PTE_G) | (3ull << 8));
    CHECK(ok(VA(7), MMU_READ, RV_MMU_S));
}

static void test_reserved_encodings(void)
{
    fresh_tables();
    /* W without R. */
    put64(slot(L0, VA(0), 0), pte(DATA(0), PTE_V | PTE_W | PTE_A | PTE_D));
    CHECK(!ok(VA(0), MMU_READ, RV_MMU_S));
    CHECK(!ok(VA(0), MMU_WRITE, RV_MMU_S));
    put64(slot(L0, VA(0), 0), pte(DATA(0), PTE_V | PTE_W | PTE_X | PTE_A | PTE_D));
    CHECK(!ok(VA(0), MMU_EXEC, RV_MMU_S));
    CHECK(!ok(VA(0), MMU_WRITE, RV_MMU_S));

    /* Bits 63:54 (N, PBMT, reserved) in a leaf. */
    static const int bits[] = { 54, 60, 61, 62, 63 };
    for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        put64(slot(L0, VA(1), 0), pte(DATA(1), PTE_V | PTE_R | PTE_A) | (1ull << bits[i]));
        CHECK(!ok(VA(1), MMU_READ, RV_MMU_S));
    }
    /* Bit 53 is PPN: the walk works (the address is just not RAM). */
    put64(slot(L0, VA(1), 0), pte(DATA(1), PTE_V | PTE_R | PTE_A) | (1ull << 53));
    Walk w = walk(VA(1), MMU_READ, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, DATA(1) | (1ull << 55));

    /* Non-leaf: D, A, U and bits 63:54 are reserved; G is fine. */
    put64(slot(L0, VA(0), 0), pte(DATA(0), PTE_V | PTE_R | PTE_A));
    static const uint64_t nl_bad[] = { PTE_A, PTE_D, PTE_U, 1ull << 54, 1ull << 61, 1ull << 63 };
    for (unsigned i = 0; i < sizeof(nl_bad) / sizeof(nl_bad[0]); i++) {
        put64(slot(L1, VA(0), 1), pte(L0, PTE_V) | nl_bad[i]);
        CHECK(!ok(VA(0), MMU_READ, RV_MMU_S));
    }
    put64(slot(L1, VA(0), 1), pte(L0, PTE_V | PTE_G) | (1ull << 8));
    CHECK(ok(VA(0), MMU_READ, RV_MMU_S));
}

static void test_user_sum_mxr(void)
{
    fresh_tables();
    /* Execute-only page: loads need MXR. */
    put64(slot(L0, VA(0), 0), pte(DATA(0), PTE_V | PTE_X | PTE_A));
    CHECK(!ok(VA(0), MMU_READ, RV_MMU_S));
    Walk w = walk(VA(0), MMU_EXEC, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.prot, MMU_PROT_X);
    flushed = 0;
    set_mstatus_bits(RV_MSTATUS_MXR, true);
    CHECK_EQ(flushed, (1u << RV_MMU_U) | (1u << RV_MMU_S) | (1u << RV_MMU_S_SUM));
    w = walk(VA(0), MMU_READ, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.prot, MMU_PROT_R | MMU_PROT_X);
    CHECK(ok(VA(0), MMU_READ, RV_MMU_U) == false); /* supervisor page */
    set_mstatus_bits(RV_MSTATUS_MXR, false);

    /* User page RWX. */
    put64(slot(L0, VA(1), 0), pte(DATA(1), PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D));
    w = walk(VA(1), MMU_READ, RV_MMU_U);
    CHECK(w.ok);
    CHECK_EQ(w.prot, MMU_PROT_R | MMU_PROT_W | MMU_PROT_X);
    /* S without SUM: no access at all. */
    CHECK(!ok(VA(1), MMU_READ, RV_MMU_S));
    CHECK(!ok(VA(1), MMU_WRITE, RV_MMU_S));
    CHECK(!ok(VA(1), MMU_EXEC, RV_MMU_S));
    /* S with SUM: loads and stores, never execute (and prot never says X). */
    w = walk(VA(1), MMU_READ, RV_MMU_S_SUM);
    CHECK(w.ok);
    CHECK_EQ(w.prot, MMU_PROT_R | MMU_PROT_W);
    CHECK(ok(VA(1), MMU_WRITE, RV_MMU_S_SUM));
    CHECK(!ok(VA(1), MMU_EXEC, RV_MMU_S_SUM));

    /* U cannot touch supervisor pages. */
    put64(slot(L0, VA(2), 0), pte(DATA(2), PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D));
    CHECK(!ok(VA(2), MMU_READ, RV_MMU_U));
    CHECK(!ok(VA(2), MMU_EXEC, RV_MMU_U));
    /* S_SUM on a supervisor page behaves like S. */
    w = walk(VA(2), MMU_READ, RV_MMU_S_SUM);
    CHECK(w.ok);
    CHECK_EQ(w.prot, MMU_PROT_R | MMU_PROT_W | MMU_PROT_X);

    /* U with MXR on an execute-only user page. */
    put64(slot(L0, VA(3), 0), pte(DATA(3), PTE_V | PTE_X | PTE_U | PTE_A));
    CHECK(!ok(VA(3), MMU_READ, RV_MMU_U));
    set_mstatus_bits(RV_MSTATUS_MXR, true);
    CHECK(ok(VA(3), MMU_READ, RV_MMU_U));
    w = walk(VA(3), MMU_READ, RV_MMU_S_SUM);
    CHECK(w.ok);
    CHECK_EQ(w.prot, MMU_PROT_R);
    set_mstatus_bits(RV_MSTATUS_MXR, false);
}

static void test_superpages(void)
{
    fresh_tables();
    /* 2 MiB page at 0x40200000 -> RAM_BASE. */
    put64(slot(L1, 0x40200000, 1), pte(RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D));
    Walk w = walk(0x40200000 + 0x123456, MMU_WRITE, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, RAM_BASE + 0x123456);
    CHECK_EQ(w.page_size, 2ull << 20);
    /* Misaligned 2 MiB leaf (PPN[0] != 0). */
    put64(slot(L1, 0x40200000, 1), pte(RAM_BASE + 0x1000, PTE_V | PTE_R | PTE_A));
    CHECK(!ok(0x40200000, MMU_READ, RV_MMU_S));

    /* 1 GiB page at 0xc0000000 -> RAM_BASE (aligned), and a misaligned one. */
    put64(slot(ROOT, 0xc0000000, 2), pte(RAM_BASE, PTE_V | PTE_R | PTE_X | PTE_A));
    w = walk(0xc0000000 + 0x3456789, MMU_EXEC, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, RAM_BASE + 0x3456789);
    CHECK_EQ(w.page_size, 1ull << 30);
    put64(slot(ROOT, 0xc0000000, 2), pte(RAM_BASE + (2ull << 20), PTE_V | PTE_R | PTE_A));
    CHECK(!ok(0xc0000000, MMU_READ, RV_MMU_S));

    /* A/D of a superpage leaf are updated in place. */
    put64(slot(ROOT, 0xc0000000, 2), pte(RAM_BASE, PTE_V | PTE_R | PTE_W));
    CHECK(ok(0xc0000010, MMU_WRITE, RV_MMU_S));
    CHECK_EQ(get64(slot(ROOT, 0xc0000000, 2)),
             pte(RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D));
}

static void test_canonical_sv39(void)
{
    fresh_tables();
    put64(slot(L0, VA(0), 0), pte(DATA(0), PTE_V | PTE_R | PTE_A));
    /* Bits 63:39 must equal bit 38. */
    CHECK(!ok(0x0000004000000000ull, MMU_READ, RV_MMU_S));
    CHECK(!ok(0xffff800000000000ull, MMU_READ, RV_MMU_S));
    CHECK(!ok(0x0000008000000000ull | VA(0), MMU_READ, RV_MMU_S));
    CHECK(!ok(0x8000000000000000ull | VA(0), MMU_READ, RV_MMU_S));
    /* A canonical high address: VPN[2] = 256. */
    CHECK(!ok(0xffffffc000000000ull, MMU_READ, RV_MMU_S));
    put64(slot(ROOT, 0xffffffc000000000ull, 2), pte(L1, PTE_V));
    Walk w = walk(0xffffffc000000000ull + 0x10, MMU_READ, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, DATA(0) + 0x10);
}

static void test_pte_outside_ram(void)
{
    fresh_tables();
    /* Next-level table in unmapped physical memory: page fault (QEMU 7.2), no access fault. */
    put64(slot(L1, 0x40400000, 1), pte(0x90000000ull, PTE_V));
    Walk w = walk(0x40400000, MMU_READ, RV_MMU_S);
    CHECK(!w.ok);
    CHECK(!w.access_fault);
    /* Root in unmapped memory. */
    set_satp(8, 0x90000000ull);
    w = walk(0x1000, MMU_READ, RV_MMU_S);
    CHECK(!w.ok);
    CHECK(!w.access_fault);
    set_satp(8, ROOT);

    /* Table in MMIO: PTEs are read through the device. With A (and D) already set the walk
     * succeeds; an A/D update cannot be done there and faults. */
    put64(slot(L1, 0x40400000, 1), pte(MMIO_BASE, PTE_V));
    mmio_value = pte(DATA(5), PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
    w = walk(0x40400000, MMU_WRITE, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, DATA(5));
    mmio_value = pte(DATA(5), PTE_V | PTE_R | PTE_W | PTE_A);
    CHECK(!ok(0x40400000, MMU_WRITE, RV_MMU_S));
    CHECK(ok(0x40400000, MMU_READ, RV_MMU_S));
    mmio_value = pte(DATA(5), PTE_V | PTE_R);
    CHECK(!ok(0x40400000, MMU_READ, RV_MMU_S));

    /* Table in ROM: readable; A/D updates are not possible there. */
    put64(slot(L1, 0x40400000, 1), pte(ROM_BASE, PTE_V));
    CHECK(ok(0x40400000, MMU_READ, RV_MMU_S));           /* ROM slot 0: V|R|A */
    CHECK(!ok(0x40400000 + 0x1000, MMU_READ, RV_MMU_S)); /* ROM slot 1: V|R, no A */
}

static void test_sv48_sv57(void)
{
    fresh_tables();
    put64(slot(L0, VA(0), 0), pte(DATA(0), PTE_V | PTE_R | PTE_A));
    /* Sv48: ROOT48[0] -> L2_48, L2_48[1] -> L1 (the Sv39 L1 table). */
    put64(slot(ROOT48, VA(0), 3), pte(L2_48, PTE_V));
    put64(slot(L2_48, VA(0), 2), pte(L1, PTE_V));
    set_satp(9, ROOT48);
    Walk w = walk(VA(0) + 0x44, MMU_READ, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, DATA(0) + 0x44);
    /* Sv39-canonical but wider addresses work in Sv48 ... */
    put64(slot(ROOT48, 0x0000008000000000ull, 3), pte(ROOT, PTE_V)); /* Sv39 root as L2 */
    w = walk(0x0000008000000000ull + VA(0), MMU_READ, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, DATA(0));
    /* ... but bits 63:48 must equal bit 47. */
    CHECK(!ok(0x0000800000000000ull, MMU_READ, RV_MMU_S));
    CHECK(!ok(0x0001000000000000ull | VA(0), MMU_READ, RV_MMU_S));
    put64(slot(ROOT48, 0xffff800000000000ull, 3), pte(L2_48, PTE_V));
    CHECK(ok(0xffff800000000000ull + VA(0), MMU_READ, RV_MMU_S));
    /* 512 GiB leaf at level 3. */
    put64(slot(ROOT48, 0x0000010000000000ull, 3), pte(0, PTE_V | PTE_R | PTE_A));
    w = walk(0x0000010000000000ull + RAM_BASE + 0x10, MMU_READ, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, RAM_BASE + 0x10);
    CHECK_EQ(w.page_size, 512ull << 30);
    /* 1 GiB leaf at level 2 under Sv48. */
    put64(slot(L2_48, 0xc0000000, 2), pte(RAM_BASE, PTE_V | PTE_R | PTE_A));
    w = walk(0xc0000000 + 0x20, MMU_READ, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, RAM_BASE + 0x20);
    CHECK_EQ(w.page_size, 1ull << 30);

    /* Sv57: ROOT57[0] -> ROOT48 (as level 3). */
    put64(slot(ROOT57, VA(0), 4), pte(ROOT48, PTE_V));
    set_satp(10, ROOT57);
    w = walk(VA(0) + 0x8, MMU_READ, RV_MMU_S);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, DATA(0) + 0x8);
    CHECK(!ok(0x0100000000000000ull, MMU_READ, RV_MMU_S));
    CHECK(!ok(0x0080000000000000ull, MMU_READ, RV_MMU_S)); /* bit 55 set, 56..63 clear */
    put64(slot(ROOT57, 0xff00000000000000ull, 4), pte(ROOT48, PTE_V));
    CHECK(ok(0xff00000000000000ull + VA(0), MMU_READ, RV_MMU_S));
    set_satp(8, ROOT);
}

static void test_mprv_idx(void)
{
    /* MPRV data accesses in M use the MPP index: the walker just obeys the index. */
    fresh_tables();
    put64(slot(L0, VA(0), 0), pte(DATA(0), PTE_V | PTE_R | PTE_A));
    CHECK(rv_csr_write(cpu, 0x300, RV_MSTATUS_MPRV | (1ull << RV_MSTATUS_MPP_SHIFT)));
    unsigned idx = rv_data_mmu_idx(cpu);
    CHECK_EQ(idx, RV_MMU_S);
    Walk w = walk(VA(0), MMU_READ, idx);
    CHECK(w.ok);
    CHECK_EQ(w.paddr, DATA(0));
    CHECK(rv_csr_write(cpu, 0x300, 0));
}

/* Another "hart" keeps rewriting the PTE (toggling a software bit and clearing A/D):
 * every walk must still succeed and leave A and D set by its own compare-and-swap. */
static atomic_bool racer_stop;

static void *racer(void *arg)
{
    uint64_t *p = arg;
    uint64_t i = 0;
    while (!atomic_load(&racer_stop)) {
        uint64_t v = pte(DATA(0), PTE_V | PTE_R | PTE_W) | ((i++ & 1) << 8);
        __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void test_ad_race(void)
{
    fresh_tables();
    uint64_t *p = physmem_host_ptr(&machine.mem, slot(L0, VA(0), 0), 8, false);
    *p = pte(DATA(0), PTE_V | PTE_R | PTE_W);
    pthread_t t;
    atomic_store(&racer_stop, false);
    if (pthread_create(&t, NULL, racer, p) != 0) {
        failures++;
        return;
    }
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        Walk w = walk(VA(0), MMU_WRITE, RV_MMU_S);
        if (!w.ok || w.paddr != DATA(0) || w.prot != (MMU_PROT_R | MMU_PROT_W))
            bad++;
    }
    atomic_store(&racer_stop, true);
    pthread_join(t, NULL);
    CHECK_EQ(bad, 0);
}

int main(void)
{
    physmem_init(&machine.mem);
    if (!physmem_add_ram(&machine.mem, "ram", RAM_BASE, RAM_SIZE))
        return 2;
    uint64_t rom[512] = { 0 };
    rom[0] = pte(DATA(6), PTE_V | PTE_R | PTE_A);
    rom[1] = pte(DATA(6), PTE_V | PTE_R);
    if (!physmem_add_rom(&machine.mem, "rom", ROM_BASE, 0x1000, rom, sizeof(rom)))
        return 2;
    if (!physmem_add_mmio(&machine.mem, "mmio", MMIO_BASE, 0x1000, &mmio_ops, NULL))
        return 2;

    cpu = calloc(1, sizeof(*cpu));
    if (!cpu)
        return 2;
    cpu->common.machine = &machine;
    rv_cpu_reset(cpu);

    test_bare();
    test_basic_4k_and_ad();
    test_reserved_encodings();
    test_user_sum_mxr();
    test_superpages();
    test_canonical_sv39();
    test_pte_outside_ram();
    test_sv48_sv57();
    test_mprv_idx();
    test_ad_race();

    free(cpu);
    physmem_destroy(&machine.mem);
    printf("test-rv-mmu: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
