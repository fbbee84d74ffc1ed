/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for engine/arch/riscv64/rv-csr.c: CSR WARL behaviour, privilege checks, trap
 * entry and delegation, mret/sret, interrupt selection, device interrupt lines.
 *
 * Expected values are what Debian 12's qemu-system-riscv64 7.2 (-cpu rv64,h=false) shows
 * to bare-metal code, measured with probe programs.
 *
 * Build (standalone):
 *   gcc -std=gnu11 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
 *       -Iengine -Iengine/include tests/unit/test-rv-csr.c \
 *       engine/arch/riscv64/rv-csr.c engine/arch/riscv64/rv-mmu.c engine/mmu/physmem.c \
 *       -lpthread
 */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/riscv64/rv-cpu.h"
#include "core/cpu.h"
#include "mmu/mmu.h"

/* ---- fakes for the vCPU loop / softmmu ---- */

static sigjmp_buf unwind_env;
static bool unwind_armed;
static uint64_t fake_pc;
static uint32_t kicked;
static unsigned flushed;

void vs_cpu_kick(VsCpu *cpu, uint32_t req)
{
    (void)cpu;
    kicked |= req;
}

void vs_cpu_unwind(VsCpu *cpu)
{
    cpu->stats.exceptions++;
    if (!unwind_armed) {
        fprintf(stderr, "unexpected unwind\n");
        abort();
    }
    unwind_armed = false;
    siglongjmp(unwind_env, 1);
}

uint64_t vs_cpu_current_pc(VsCpu *cpu)
{
    (void)cpu;
    return fake_pc;
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

/* Run stmt expecting it to raise (unwind); evaluates to true if it did. */
#define RAISES(stmt)                         \
    ({                                       \
        bool raised_ = false;                \
        unwind_armed = true;                 \
        if (sigsetjmp(unwind_env, 0) == 0) { \
            stmt;                            \
            unwind_armed = false;            \
        } else {                             \
            raised_ = true;                  \
        }                                    \
        raised_;                             \
    })

static RvCpu *cpu;

static uint64_t rd(unsigned csr)
{
    uint64_t v = 0xdeadbeef;
    if (!rv_csr_read(cpu, csr, &v)) {
        fprintf(stderr, "unexpected illegal read of csr 0x%x\n", csr);
        failures++;
    }
    return v;
}

static void wr(unsigned csr, uint64_t v)
{
    if (!rv_csr_write(cpu, csr, v)) {
        fprintf(stderr, "unexpected illegal write of csr 0x%x\n", csr);
        failures++;
    }
}

static bool can_rd(unsigned csr)
{
    uint64_t v;
    return rv_csr_read(cpu, csr, &v);
}

static bool can_wr(unsigned csr, uint64_t v)
{
    return rv_csr_write(cpu, csr, v);
}

static uint64_t fake_mtime = 12345;

static uint64_t read_mtime(void *opaque)
{
    return *(uint64_t *)opaque;
}

static void fresh(void)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->common.index = 2;
    cpu->read_mtime = read_mtime;
    cpu->mtime_opaque = &fake_mtime;
    rv_cpu_reset(cpu);
    kicked = 0;
    flushed = 0;
}

/* Make one PMP entry active so mret to S/U is allowed (QEMU 7.2 rule). */
static void pmp_allow_all(void)
{
    wr(0x3b0, ~0ull);
    wr(0x3a0, 0x1f);
}

/* ---- tests ---- */

static void test_reset(void)
{
    fresh();
    CHECK_EQ(cpu->priv, RV_PRV_M);
    CHECK_EQ(rd(0x301), 0x800000000014112dull);
    CHECK_EQ(rd(0x300), 0x0000000a00000000ull);
    CHECK_EQ(rd(0xf14), 2);
    CHECK_EQ(cpu->res_addr, ~0ull);
    CHECK_EQ(rd(0x305), 0);
    CHECK_EQ(rd(0x344), 0);
    CHECK_EQ(rd(0x304), 0);
    CHECK_EQ(rd(0x180), 0);
    CHECK_EQ(rd(0x3a0), 0);
    CHECK_EQ(rd(0xf11), 0);
    CHECK_EQ(rd(0xf15), 0);
    CHECK_EQ(rv_exec_mode(cpu), RV_PRV_M | (RV_MMU_M << RV_MODE_DMMU_SHIFT));
}

static void test_misa(void)
{
    fresh();
    wr(0x301, 0);
    CHECK_EQ(rd(0x301), 0x800000000014112dull);
}

static void test_mstatus(void)
{
    fresh();
    wr(0x300, ~0ull);
    CHECK_EQ(rd(0x300), 0x800000cb007e7faaull); /* QEMU 7.2: UXL=3, VS, MPV, GVA stick */
    wr(0x300, 0);
    CHECK_EQ(rd(0x300), 0x0000000b00000000ull); /* UXL=0 writes are ignored */
    wr(0x300, 2ull << 11);
    CHECK_EQ(rd(0x300), 0x0000000b00001000ull); /* MPP=2 stored as is */
    wr(0x300, 1ull << 32);
    CHECK_EQ(rd(0x300), 0x0000000900000000ull);
    wr(0x300, 1ull << 34); /* SXL read-only */
    CHECK_EQ(rd(0x300), 0x0000000900000000ull);
    wr(0x300, 3ull << 9);
    CHECK_EQ(rd(0x300), 0x8000000900000600ull); /* VS dirty -> SD */
    wr(0x300, 3ull << 15);
    CHECK_EQ(rd(0x300), 0x0000000900000000ull); /* XS read-only */
    wr(0x300, 3ull << 13);
    CHECK_EQ(rd(0x300), 0x8000000900006000ull);
    wr(0x300, 1ull << 13);
    CHECK_EQ(rd(0x300), 0x0000000900002000ull);
    wr(0x300, 3ull << 36 | 1ull << 6 | 1ull << 63); /* SBE/MBE/UBE/SD ignored */
    CHECK_EQ(rd(0x300), 0x0000000900000000ull);

    /* sstatus view */
    fresh();
    wr(0x100, ~0ull);
    CHECK_EQ(rd(0x100), 0x80000003000c6722ull);
    CHECK_EQ(rd(0x300), 0x8000000b000c6722ull);
    wr(0x100, 0);
    CHECK_EQ(rd(0x100), 0x0000000300000000ull);
    CHECK_EQ(rd(0x300), 0x0000000b00000000ull);

    /* SD is recomputed on read even if FS was dirtied behind our back. */
    fresh();
    cpu->mstatus |= RV_MSTATUS_FS;
    CHECK(rd(0x300) & RV_MSTATUS_SD);

    /* MXR changes flush the S/U TLBs; SUM/MPRV/MPP changes do not. */
    fresh();
    flushed = 0;
    wr(0x300, RV_MSTATUS_SUM | RV_MSTATUS_MPRV | RV_MSTATUS_MPP);
    CHECK_EQ(flushed, 0);
    wr(0x300, RV_MSTATUS_MXR);
    CHECK_EQ(flushed, (1u << RV_MMU_U) | (1u << RV_MMU_S) | (1u << RV_MMU_S_SUM));
}

static void test_deleg_ie_ip(void)
{
    fresh();
    wr(0x302, ~0ull);
    CHECK_EQ(rd(0x302), 0xf0bfff);
    wr(0x303, ~0ull);
    CHECK_EQ(rd(0x303), 0x2666);
    wr(0x304, ~0ull);
    CHECK_EQ(rd(0x304), 0x2eee);
    CHECK_EQ(rd(0x104), 0x2222);
    wr(0x304, 0);
    wr(0x104, ~0ull);
    CHECK_EQ(rd(0x104), 0x2222);
    CHECK_EQ(rd(0x304), 0x2222);
    wr(0x304, 0);

    wr(0x344, ~0ull);
    CHECK_EQ(rd(0x344), 0x2666); /* MSIP/MTIP/MEIP not writable */
    wr(0x144, 0);                /* sip: only SSIP and LCOFIP writable */
    CHECK_EQ(rd(0x344), 0x0664);
    CHECK_EQ(rd(0x144), 0x0220);
    wr(0x144, ~0ull);
    CHECK_EQ(rd(0x344), 0x2666);
    wr(0x344, 0);
    CHECK_EQ(rd(0x344), 0);

    /* Nothing delegated: sie/sip read 0 and ignore writes. */
    wr(0x303, 0);
    wr(0x104, ~0ull);
    CHECK_EQ(rd(0x104), 0);
    CHECK_EQ(rd(0x304), 0);
    wr(0x304, ~0ull);
    CHECK_EQ(rd(0x104), 0);
    wr(0x144, ~0ull);
    CHECK_EQ(rd(0x144), 0);
    CHECK_EQ(rd(0x344), 0);
}

static void test_tvec_epc_misc(void)
{
    fresh();
    wr(0x305, 0x80000020);
    wr(0x305, 0x80000003);
    CHECK_EQ(rd(0x305), 0x80000020); /* reserved mode: write ignored */
    wr(0x305, 0x80000002);
    CHECK_EQ(rd(0x305), 0x80000020);
    wr(0x305, 0x80000005);
    CHECK_EQ(rd(0x305), 0x80000005);
    wr(0x305, ~0ull);
    CHECK_EQ(rd(0x305), 0x80000005);
    wr(0x305, -3ull);
    CHECK_EQ(rd(0x305), -3ull);
    wr(0x105, 0x80000003);
    CHECK_EQ(rd(0x105), 0);
    wr(0x105, -4ull);
    CHECK_EQ(rd(0x105), -4ull);

    wr(0x341, ~0ull);
    CHECK_EQ(rd(0x341), ~0ull); /* QEMU 7.2: no masking of xepc */
    wr(0x341, 0x80000001);
    CHECK_EQ(rd(0x341), 0x80000001);
    wr(0x141, ~0ull);
    CHECK_EQ(rd(0x141), ~0ull);
    static const unsigned raw[] = { 0x342, 0x343, 0x340, 0x142, 0x143, 0x140, 0x306, 0x106, 0x320 };
    for (unsigned i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        wr(raw[i], ~0ull);
        CHECK_EQ(rd(raw[i]), ~0ull);
        wr(raw[i], 0);
    }
    wr(0x30a, ~0ull);
    CHECK_EQ(rd(0x30a), 0xc0000000000000f1ull);
    wr(0x10a, ~0ull);
    CHECK_EQ(rd(0x10a), 0xf1);
}

static void test_satp(void)
{
    fresh();
    const unsigned su = (1u << RV_MMU_U) | (1u << RV_MMU_S) | (1u << RV_MMU_S_SUM);
    wr(0x180, (8ull << 60) | 0x0fffffffffffffffull);
    CHECK_EQ(rd(0x180), 0x8fffffffffffffffull);
    CHECK_EQ(flushed, su);
    CHECK(kicked & CPU_REQ_FLUSH);
    flushed = 0;
    kicked = 0;
    wr(0x180, 0x8fffffffffffffffull); /* same value: nothing to flush */
    CHECK_EQ(flushed, 0);
    CHECK_EQ(kicked, 0);
    wr(0x180, (9ull << 60) | 0x1234);
    CHECK_EQ(rd(0x180), 0x9000000000001234ull);
    wr(0x180, (10ull << 60) | 0x1234);
    CHECK_EQ(rd(0x180), 0xa000000000001234ull); /* Sv57 accepted like QEMU 7.2 */
    flushed = 0;
    wr(0x180, (1ull << 60) | 0x55);
    CHECK_EQ(rd(0x180), 0xa000000000001234ull);
    wr(0x180, (15ull << 60) | 0x55);
    CHECK_EQ(rd(0x180), 0xa000000000001234ull);
    CHECK_EQ(flushed, 0);
    wr(0x180, 0x0fffffffffffffffull);
    CHECK_EQ(rd(0x180), 0x0fffffffffffffffull);

    /* TVM: S-mode access illegal, whatever is written. */
    fresh();
    wr(0x300, RV_MSTATUS_TVM);
    cpu->priv = RV_PRV_S;
    CHECK(!can_rd(0x180));
    CHECK(!can_wr(0x180, 0));
    CHECK(!can_wr(0x180, 1ull << 60));
    cpu->priv = RV_PRV_M;
    CHECK(can_rd(0x180));
    wr(0x300, 0);
    cpu->priv = RV_PRV_S;
    CHECK(can_wr(0x180, (1ull << 60) | 5));
    CHECK_EQ(rd(0x180), 0);
    CHECK(can_wr(0x180, 8ull << 60));
    CHECK_EQ(rd(0x180), 8ull << 60);
}

static void test_pmp(void)
{
    fresh();
    wr(0x3a0, 0x7f7f7f7f7f7f7f7full);
    CHECK_EQ(rd(0x3a0), 0x7f7f7f7f7f7f7f7full);
    wr(0x3a0, 0x0202020202020202ull);
    CHECK_EQ(rd(0x3a0), 0x0202020202020202ull);
    wr(0x3a2, 0x7f7f7f7f7f7f7f7full);
    CHECK_EQ(rd(0x3a2), 0x7f7f7f7f7f7f7f7full);
    CHECK(!can_rd(0x3a1));
    CHECK(!can_rd(0x3a3));
    CHECK(!can_wr(0x3a4, 0));
    wr(0x3b0, ~0ull);
    CHECK_EQ(rd(0x3b0), ~0ull);
    wr(0x3bf, ~0ull);
    CHECK_EQ(rd(0x3bf), ~0ull);
    CHECK(!can_rd(0x3c0));

    /* Locked entry 0: its cfg byte and address ignore writes. */
    fresh();
    wr(0x3b0, 0x1000);
    wr(0x3a0, 0x9f);
    wr(0x3a0, 0x0000000000001f00ull);
    CHECK_EQ(rd(0x3a0), 0x0000000000001f9full);
    wr(0x3b0, 0x2000);
    CHECK_EQ(rd(0x3b0), 0x1000);
    /* Entry 2 locked in TOR mode protects pmpaddr1 too. */
    wr(0x3a0, 0x0000000000881f9full);
    wr(0x3b1, 0x3000);
    CHECK_EQ(rd(0x3b1), 0);
    wr(0x3b3, 0x4000);
    CHECK_EQ(rd(0x3b3), 0x4000);
}

static void test_ids_and_unknown(void)
{
    fresh();
    CHECK_EQ(rd(0xf11), 0);
    CHECK_EQ(rd(0xf12), 0);
    CHECK_EQ(rd(0xf13), 0);
    CHECK(!can_wr(0xf11, 0)); /* read-only CSR */
    CHECK(!can_wr(0xf14, 0));
    static const unsigned unknown[] = { 0x7a0, 0x7a1, 0x14d, 0x747, 0xb03, 0xb13, 0x323,
                                        0xc03, 0xda0, 0x310, 0x34a, 0x600, 0x7c0, 0x015,
                                        0xc80, 0x150, 0x350, 0xfb0, 0x5a8, 0x7b0 };
    for (unsigned i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        CHECK(!can_rd(unknown[i]));
        CHECK(!can_wr(unknown[i], 0));
    }
    CHECK(!can_rd(0x1000));
}

static void test_privilege(void)
{
    fresh();
    cpu->priv = RV_PRV_S;
    CHECK(!can_rd(0x300));
    CHECK(!can_wr(0x300, 0));
    CHECK(!can_rd(0x344));
    CHECK(can_rd(0x100));
    CHECK(can_wr(0x140, 5));
    cpu->priv = RV_PRV_U;
    CHECK(!can_rd(0x100));
    CHECK(!can_wr(0x140, 5));
    CHECK(!can_rd(0x300));
}

static void test_fp_csrs(void)
{
    fresh();
    CHECK(!can_rd(0x001));
    CHECK(!can_wr(0x001, 1));
    CHECK(!can_rd(0x002));
    CHECK(!can_rd(0x003));
    CHECK(!can_wr(0x003, 1));
    wr(0x300, 1ull << 13); /* FS = Initial */
    CHECK_EQ(rv_exec_mode(cpu) & RV_MODE_FS_ON, RV_MODE_FS_ON);
    wr(0x001, ~0ull);
    CHECK_EQ(rd(0x001), 0x1f);
    CHECK_EQ(rd(0x300), 0x8000000a00006000ull);
    CHECK_EQ(cpu->mstatus & RV_MSTATUS_SD, RV_MSTATUS_SD);
    wr(0x300, 1ull << 13);
    wr(0x002, ~0ull);
    CHECK_EQ(rd(0x002), 7);
    CHECK_EQ(rd(0x300), 0x8000000a00006000ull);
    wr(0x003, ~0ull);
    CHECK_EQ(rd(0x003), 0xff);
    wr(0x003, 0x20);
    CHECK_EQ(rd(0x001), 0);
    CHECK_EQ(rd(0x002), 1);
    CHECK_EQ(cpu->frm, 1);
    /* U-mode may use them. */
    cpu->priv = RV_PRV_U;
    CHECK(can_rd(0x003));
}

static void test_counters(void)
{
    fresh();
    cpu->common.insn_count = 1000;
    CHECK_EQ(rd(0xc00), 1000);
    CHECK_EQ(rd(0xb02), 1000);
    CHECK_EQ(rd(0xc01), 12345);
    wr(0xb00, 100);
    cpu->common.insn_count = 1050;
    CHECK_EQ(rd(0xb00), 150);
    CHECK_EQ(rd(0xc00), 150);
    CHECK_EQ(rd(0xc02), 1050);
    CHECK(!can_wr(0xc00, 5)); /* read-only */
    CHECK(!can_wr(0xc01, 5));

    /* mcountinhibit freezes mcycle/minstret. */
    wr(0x320, 5);
    cpu->common.insn_count = 2000;
    CHECK_EQ(rd(0xb00), 150);
    CHECK_EQ(rd(0xb02), 1050);
    wr(0xb02, 7);
    cpu->common.insn_count = 2500;
    CHECK_EQ(rd(0xb02), 7);
    wr(0x320, 0);
    cpu->common.insn_count = 2600;
    CHECK_EQ(rd(0xb00), 250);
    CHECK_EQ(rd(0xb02), 107);

    /* counteren: S needs mcounteren, U needs both. */
    for (int m = 0; m < 2; m++) {
        for (int s = 0; s < 2; s++) {
            cpu->priv = RV_PRV_M;
            wr(0x306, m ? 7 : 0);
            wr(0x106, s ? 7 : 0);
            for (unsigned c = 0xc00; c <= 0xc02; c++) {
                cpu->priv = RV_PRV_S;
                CHECK_EQ(can_rd(c), m);
                cpu->priv = RV_PRV_U;
                CHECK_EQ(can_rd(c), m && s);
            }
        }
    }
    /* Only the matching bit counts. */
    cpu->priv = RV_PRV_M;
    wr(0x306, 2);
    cpu->priv = RV_PRV_S;
    CHECK(!can_rd(0xc00));
    CHECK(can_rd(0xc01));
    CHECK(!can_rd(0xc02));
    CHECK(!can_rd(0xb00));

    /* No time source: time is illegal. */
    cpu->priv = RV_PRV_M;
    cpu->read_mtime = NULL;
    CHECK(!can_rd(0xc01));
}

static void test_trap_entry(void)
{
    fresh();
    wr(0x305, 0x80001000);
    wr(0x105, 0x80002000);
    wr(0x302, (1u << RV_EXC_ILLEGAL_INSN) | (1u << RV_EXC_ECALL_U) | (1u << RV_EXC_ECALL_M));

    /* Delegated exception from S with SIE=1. */
    cpu->priv = RV_PRV_S;
    cpu->mstatus |= RV_MSTATUS_SIE;
    cpu->res_addr = 0x1234;
    rv_trap_enter(cpu, RV_EXC_ILLEGAL_INSN, false, 0x400, 0xffffffff);
    CHECK_EQ(cpu->priv, RV_PRV_S);
    CHECK_EQ(cpu->pc, 0x80002000);
    CHECK_EQ(rd(0x142), 2);
    CHECK_EQ(rd(0x141), 0x400);
    CHECK_EQ(rd(0x143), 0xffffffff);
    CHECK_EQ(rd(0x100), 0x0000000200000120ull); /* SPP=1 SPIE=1 SIE=0 */
    CHECK_EQ(cpu->res_addr, ~0ull);

    /* Delegated ecall from U: SPP=0, SPIE takes SIE (0 now). */
    cpu->priv = RV_PRV_U;
    rv_trap_enter(cpu, RV_EXC_ECALL_U, false, 0x500, 0);
    CHECK_EQ(cpu->priv, RV_PRV_S);
    CHECK_EQ(rd(0x142), 8);
    CHECK_EQ(rd(0x100), 0x0000000200000000ull);

    /* Not delegated from S: to M, MPP=S, MPIE=MIE. */
    cpu->priv = RV_PRV_S;
    cpu->mstatus |= RV_MSTATUS_MIE;
    rv_trap_enter(cpu, RV_EXC_ECALL_S, false, 0x600, 0);
    CHECK_EQ(cpu->priv, RV_PRV_M);
    CHECK_EQ(cpu->pc, 0x80001000);
    CHECK_EQ(rd(0x342), 9);
    CHECK_EQ(rd(0x341), 0x600);
    CHECK_EQ(rd(0x300) & (RV_MSTATUS_MPP | RV_MSTATUS_MPIE | RV_MSTATUS_MIE),
             (1ull << 11) | RV_MSTATUS_MPIE);

    /* Delegated exception raised in M stays in M. */
    rv_trap_enter(cpu, RV_EXC_ILLEGAL_INSN, false, 0x700, 0x1);
    CHECK_EQ(cpu->priv, RV_PRV_M);
    CHECK_EQ(rd(0x342), 2);
    CHECK_EQ(rd(0x343), 1);
    CHECK_EQ(rd(0x300) & RV_MSTATUS_MPP, RV_MSTATUS_MPP);
    rv_trap_enter(cpu, RV_EXC_ECALL_M, false, 0x700, 0);
    CHECK_EQ(cpu->priv, RV_PRV_M);
    CHECK_EQ(rd(0x342), 11);

    /* Vectored mode: interrupts at base + 4 * cause, exceptions at base. */
    wr(0x305, 0x80001001);
    rv_trap_enter(cpu, RV_IRQ_MTI, true, 0x800, 0);
    CHECK_EQ(cpu->pc, 0x80001000 + 4 * RV_IRQ_MTI);
    CHECK_EQ(rd(0x342), (1ull << 63) | RV_IRQ_MTI);
    rv_trap_enter(cpu, RV_EXC_BREAKPOINT, false, 0x800, 0);
    CHECK_EQ(cpu->pc, 0x80001000);

    /* Delegated interrupt to S, vectored. */
    wr(0x303, 1u << RV_IRQ_SSI);
    wr(0x105, 0x80002001);
    cpu->priv = RV_PRV_U;
    rv_trap_enter(cpu, RV_IRQ_SSI, true, 0x900, 0);
    CHECK_EQ(cpu->priv, RV_PRV_S);
    CHECK_EQ(cpu->pc, 0x80002000 + 4 * RV_IRQ_SSI);
    CHECK_EQ(rd(0x142), (1ull << 63) | RV_IRQ_SSI);
    CHECK_EQ(rd(0x141), 0x900);
}

static void test_raise_exception(void)
{
    fresh();
    wr(0x305, 0x80001000);
    fake_pc = 0x80000abc;
    uint64_t before = cpu->common.stats.exceptions;
    CHECK(RAISES(rv_raise_exception(cpu, RV_EXC_LOAD_PAGE_FAULT, 0xdead000)));
    CHECK_EQ(cpu->pc, 0x80001000);
    CHECK_EQ(rd(0x341), 0x80000abc);
    CHECK_EQ(rd(0x342), RV_EXC_LOAD_PAGE_FAULT);
    CHECK_EQ(rd(0x343), 0xdead000);
    CHECK_EQ(cpu->common.stats.exceptions, before + 1);
}

static void test_mret_sret(void)
{
    fresh();
    wr(0x305, 0x80001000);
    fake_pc = 0x80000100;

    /* No active PMP entry: mret to S is illegal (QEMU 7.2), mret to M is fine. */
    wr(0x300, (1ull << 11) | RV_MSTATUS_MPIE);
    wr(0x341, 0x80004000);
    CHECK(RAISES(rv_do_mret(cpu)));
    CHECK_EQ(rd(0x342), RV_EXC_ILLEGAL_INSN);
    CHECK_EQ(rd(0x343), 0x30200073);
    CHECK_EQ(rd(0x341), 0x80000100);
    CHECK_EQ(cpu->priv, RV_PRV_M);

    fresh();
    wr(0x300, (3ull << 11) | RV_MSTATUS_MPIE);
    wr(0x341, 0x80004000);
    CHECK_EQ(rv_do_mret(cpu), 0x80004000);
    CHECK_EQ(cpu->priv, RV_PRV_M);
    CHECK_EQ(rd(0x300) & (RV_MSTATUS_MPP | RV_MSTATUS_MPIE | RV_MSTATUS_MIE),
             RV_MSTATUS_MPIE | RV_MSTATUS_MIE);

    /* mret to S: MIE=MPIE, MPIE=1, MPP=U, MPV cleared, MPRV kept (QEMU 7.2), GVA kept. */
    fresh();
    pmp_allow_all();
    wr(0x300, (1ull << 11) | RV_MSTATUS_MPRV | (3ull << 38));
    wr(0x341, 0x80004002);
    cpu->res_addr = 0x40;
    CHECK_EQ(rv_do_mret(cpu), 0x80004002);
    CHECK_EQ(cpu->priv, RV_PRV_S);
    CHECK_EQ(cpu->res_addr, ~0ull);
    CHECK_EQ(cpu->mstatus & ~RV_MSTATUS_SD,
             0x0000004a00000000ull | RV_MSTATUS_MPIE | RV_MSTATUS_MPRV);

    /* MPP=2 returns to U. */
    cpu->priv = RV_PRV_M;
    wr(0x300, 2ull << 11);
    rv_do_mret(cpu);
    CHECK_EQ(cpu->priv, RV_PRV_U);
    CHECK_EQ(rv_data_mmu_idx(cpu), RV_MMU_U);

    /* mret outside M is illegal. */
    cpu->priv = RV_PRV_S;
    fake_pc = 0x1230;
    CHECK(RAISES(rv_do_mret(cpu)));
    CHECK_EQ(cpu->priv, RV_PRV_M);
    CHECK_EQ(rd(0x342), RV_EXC_ILLEGAL_INSN);
    CHECK_EQ(rd(0x343), 0x30200073);
    CHECK_EQ(rd(0x341), 0x1230);

    /* Odd mepc: QEMU keeps the bit in the CSR; the jump target stays 2-byte aligned. */
    wr(0x300, 3ull << 11);
    wr(0x341, 0x80000011);
    CHECK_EQ(rv_do_mret(cpu), 0x80000010);

    /* sret */
    fresh();
    wr(0x305, 0x80001000);
    wr(0x300, RV_MSTATUS_SPP | RV_MSTATUS_SPIE);
    wr(0x141, 0x80005000);
    cpu->priv = RV_PRV_S;
    CHECK_EQ(rv_do_sret(cpu), 0x80005000);
    CHECK_EQ(cpu->priv, RV_PRV_S);
    CHECK_EQ(cpu->mstatus & (RV_MSTATUS_SPP | RV_MSTATUS_SPIE | RV_MSTATUS_SIE),
             RV_MSTATUS_SPIE | RV_MSTATUS_SIE);
    CHECK_EQ(rv_do_sret(cpu), 0x80005000);
    CHECK_EQ(cpu->priv, RV_PRV_U);

    /* sret from M works and keeps MPRV. */
    cpu->priv = RV_PRV_M;
    wr(0x300, RV_MSTATUS_SPP | RV_MSTATUS_MPRV);
    rv_do_sret(cpu);
    CHECK_EQ(cpu->priv, RV_PRV_S);
    CHECK(cpu->mstatus & RV_MSTATUS_MPRV);

    /* TSR: sret in S illegal; sret in U always illegal. */
    cpu->priv = RV_PRV_M;
    wr(0x300, RV_MSTATUS_TSR | RV_MSTATUS_SPP);
    cpu->priv = RV_PRV_S;
    fake_pc = 0x2000;
    CHECK(RAISES(rv_do_sret(cpu)));
    CHECK_EQ(cpu->priv, RV_PRV_M);
    CHECK_EQ(rd(0x342), RV_EXC_ILLEGAL_INSN);
    CHECK_EQ(rd(0x343), 0x10200073);
    CHECK_EQ(rd(0x341), 0x2000);
    /* TSR does not apply in M. */
    wr(0x300, RV_MSTATUS_TSR);
    CHECK_EQ(rv_do_sret(cpu), 0x80005000);
    CHECK_EQ(cpu->priv, RV_PRV_U);
    CHECK(RAISES(rv_do_sret(cpu)));
    CHECK_EQ(cpu->priv, RV_PRV_M);
    CHECK_EQ(rd(0x343), 0x10200073);
}

static void test_pending_interrupts(void)
{
    fresh();
    CHECK_EQ(rv_pending_interrupt(cpu), -1);
    wr(0x304, 0x2eee);
    wr(0x344, 0x222);                        /* SSIP STIP SEIP, none delegated */
    CHECK_EQ(rv_pending_interrupt(cpu), -1); /* M with MIE=0 */
    wr(0x300, RV_MSTATUS_MIE);
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_SSI); /* QEMU 7.2: lowest number first */
    wr(0x344, 0x220);
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_STI);
    wr(0x344, 0x200);
    rv_cpu_set_irq(cpu, RV_IRQ_MTI, true);
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_MTI);
    rv_cpu_set_irq(cpu, RV_IRQ_MSI, true);
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_MSI);
    rv_cpu_set_irq(cpu, RV_IRQ_MSI, false);
    rv_cpu_set_irq(cpu, RV_IRQ_MTI, false);
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_SEI);
    rv_cpu_set_irq(cpu, RV_IRQ_MEI, true);
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_SEI);
    wr(0x344, 0);
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_MEI);
    rv_cpu_set_irq(cpu, RV_IRQ_MEI, false);
    CHECK_EQ(rv_pending_interrupt(cpu), -1);

    /* Not enabled in mie: nothing. */
    wr(0x304, 0);
    wr(0x344, 0x2);
    CHECK_EQ(rv_pending_interrupt(cpu), -1);

    /* Delegated S interrupts are never taken in M. */
    wr(0x304, 0x2eee);
    wr(0x303, 0x2);
    CHECK_EQ(rv_pending_interrupt(cpu), -1);
    /* ... taken in U whatever SIE says ... */
    cpu->priv = RV_PRV_U;
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_SSI);
    /* ... and in S only with SIE. */
    cpu->priv = RV_PRV_S;
    CHECK_EQ(rv_pending_interrupt(cpu), -1);
    cpu->mstatus |= RV_MSTATUS_SIE;
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_SSI);
    /* M-level interrupts win over S-level ones, and are taken in S even with MIE=0. */
    cpu->mstatus &= ~RV_MSTATUS_MIE;
    cpu->priv = RV_PRV_M;
    wr(0x344, 0x22); /* SSIP (delegated) + STIP (not) */
    cpu->priv = RV_PRV_S;
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_STI);
    cpu->mstatus &= ~RV_MSTATUS_SIE;
    CHECK_EQ(rv_pending_interrupt(cpu), RV_IRQ_STI);
    cpu->priv = RV_PRV_M;
    wr(0x344, 0);
}

static void test_device_lines(void)
{
    fresh();
    kicked = 0;
    rv_cpu_set_irq(cpu, RV_IRQ_MTI, true);
    CHECK_EQ(rd(0x344), 0x80);
    CHECK(kicked & CPU_REQ_IRQ);
    kicked = 0;
    rv_cpu_set_irq(cpu, RV_IRQ_MTI, true); /* no change, no kick */
    CHECK_EQ(kicked, 0);
    wr(0x344, 0); /* MTIP is read-only for software */
    CHECK_EQ(rd(0x344), 0x80);
    rv_cpu_set_irq(cpu, RV_IRQ_MTI, false);
    CHECK_EQ(rd(0x344), 0);
    rv_cpu_set_irq(cpu, 99, true);
    CHECK_EQ(rd(0x344), 0);

    /* SEIP = software bit | external line. */
    rv_cpu_set_irq(cpu, RV_IRQ_SEI, true);
    CHECK_EQ(rd(0x344), 0x200);
    wr(0x344, 0);
    CHECK_EQ(rd(0x344), 0x200); /* line still high */
    rv_cpu_set_irq(cpu, RV_IRQ_SEI, false);
    CHECK_EQ(rd(0x344), 0);
    wr(0x344, 0x200);
    CHECK_EQ(rd(0x344), 0x200);
    rv_cpu_set_irq(cpu, RV_IRQ_SEI, true);
    rv_cpu_set_irq(cpu, RV_IRQ_SEI, false);
    CHECK_EQ(rd(0x344), 0x200); /* software bit still set */
    wr(0x344, 0);
    CHECK_EQ(rd(0x344), 0);
    /* A read-modify-write of another bit must not latch the external SEIP. */
    rv_cpu_set_irq(cpu, RV_IRQ_SEI, true);
    wr(0x344, rd(0x344) | 0x2);
    rv_cpu_set_irq(cpu, RV_IRQ_SEI, false);
    CHECK_EQ(rd(0x344), 0x2);
    CHECK_EQ(atomic_load(&cpu->mip) & ~0xffffull, 0);

    /* Reset clears software bits and keeps device lines. */
    rv_cpu_set_irq(cpu, RV_IRQ_MEI, true);
    rv_cpu_set_irq(cpu, RV_IRQ_SEI, true);
    wr(0x344, 0x222);
    rv_cpu_reset(cpu);
    CHECK_EQ(rd(0x344), 0xa00);
    rv_cpu_set_irq(cpu, RV_IRQ_SEI, false);
    CHECK_EQ(rd(0x344), 0x800);
}

static void test_mmu_idx(void)
{
    fresh();
    CHECK_EQ(rv_data_mmu_idx(cpu), RV_MMU_M);
    wr(0x300, RV_MSTATUS_MPRV | (1ull << 11));
    CHECK_EQ(rv_data_mmu_idx(cpu), RV_MMU_S);
    wr(0x300, RV_MSTATUS_MPRV | (1ull << 11) | RV_MSTATUS_SUM);
    CHECK_EQ(rv_data_mmu_idx(cpu), RV_MMU_S_SUM);
    CHECK_EQ(rv_exec_mode(cpu), RV_PRV_M | (RV_MMU_S_SUM << RV_MODE_DMMU_SHIFT));
    wr(0x300, RV_MSTATUS_MPRV);
    CHECK_EQ(rv_data_mmu_idx(cpu), RV_MMU_U);
    wr(0x300, RV_MSTATUS_MPRV | (3ull << 11));
    CHECK_EQ(rv_data_mmu_idx(cpu), RV_MMU_M);
    wr(0x300, RV_MSTATUS_SUM | (1ull << 13));
    CHECK_EQ(rv_data_mmu_idx(cpu), RV_MMU_M);
    cpu->priv = RV_PRV_S;
    CHECK_EQ(rv_data_mmu_idx(cpu), RV_MMU_S_SUM);
    CHECK_EQ(rv_exec_mode(cpu), RV_PRV_S | (RV_MMU_S_SUM << RV_MODE_DMMU_SHIFT) | RV_MODE_FS_ON);
    cpu->mstatus &= ~RV_MSTATUS_SUM;
    CHECK_EQ(rv_data_mmu_idx(cpu), RV_MMU_S);
    cpu->priv = RV_PRV_U;
    cpu->mstatus |= RV_MSTATUS_MPRV | RV_MSTATUS_MPP; /* MPRV only matters in M */
    CHECK_EQ(rv_data_mmu_idx(cpu), RV_MMU_U);
    CHECK_EQ(rv_exec_mode(cpu), RV_PRV_U | (RV_MMU_U << RV_MODE_DMMU_SHIFT) | RV_MODE_FS_ON);
}

int main(void)
{
    cpu = calloc(1, sizeof(*cpu));
    if (!cpu)
        return 2;
    test_reset();
    test_misa();
    test_mstatus();
    test_deleg_ie_ip();
    test_tvec_epc_misc();
    test_satp();
    test_pmp();
    test_ids_and_unknown();
    test_privilege();
    test_fp_csrs();
    test_counters();
    test_trap_entry();
    test_raise_exception();
    test_mret_sret();
    test_pending_interrupts();
    test_device_lines();
    test_mmu_idx();
    free(cpu);
    printf("test-rv-csr: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
