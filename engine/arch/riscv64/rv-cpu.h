/* SPDX-License-Identifier: MIT */
/* RISC-V64 CPU state (RV64IMAFDC + Zicsr + Zifencei + Zba/Zbb), M/S/U, Sv39/Sv48. */
#ifndef VESSEL_RV_CPU_H
#define VESSEL_RV_CPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cpu.h"

enum { RV_PRV_U = 0, RV_PRV_S = 1, RV_PRV_M = 3 };

/* MMU indexes (TLBs). Data accesses in S-mode with SUM=1 use their own index so Linux's
 * frequent SUM toggling never flushes anything. */
enum {
    RV_MMU_U = 0,     /* user */
    RV_MMU_S = 1,     /* supervisor, SUM=0 */
    RV_MMU_S_SUM = 2, /* supervisor, SUM=1 */
    RV_MMU_M = 3,     /* machine: bare (no translation) */
    RV_MMU_COUNT = 4,
};

/* Translation mode bits (block key). */
enum {
    RV_MODE_PRV_MASK = 0x3, /* privilege the code runs in */
    RV_MODE_DMMU_SHIFT = 2, /* data MMU index (bits 2..3), includes MPRV/SUM */
    RV_MODE_DMMU_MASK = 0x3u << 2,
    RV_MODE_FS_ON = 1u << 4, /* mstatus.FS != Off */
};

/* mstatus bits */
#define RV_MSTATUS_SIE       (1ull << 1)
#define RV_MSTATUS_MIE       (1ull << 3)
#define RV_MSTATUS_SPIE      (1ull << 5)
#define RV_MSTATUS_UBE       (1ull << 6)
#define RV_MSTATUS_MPIE      (1ull << 7)
#define RV_MSTATUS_SPP       (1ull << 8)
#define RV_MSTATUS_MPP_SHIFT 11
#define RV_MSTATUS_MPP       (3ull << 11)
#define RV_MSTATUS_FS_SHIFT  13
#define RV_MSTATUS_FS        (3ull << 13)
#define RV_MSTATUS_XS        (3ull << 15)
#define RV_MSTATUS_MPRV      (1ull << 17)
#define RV_MSTATUS_SUM       (1ull << 18)
#define RV_MSTATUS_MXR       (1ull << 19)
#define RV_MSTATUS_TVM       (1ull << 20)
#define RV_MSTATUS_TW        (1ull << 21)
#define RV_MSTATUS_TSR       (1ull << 22)
#define RV_MSTATUS_UXL       (3ull << 32)
#define RV_MSTATUS_SXL       (3ull << 34)
#define RV_MSTATUS_SD        (1ull << 63)

/* Interrupt bits (mip/mie) */
#define RV_IRQ_SSI 1
#define RV_IRQ_MSI 3
#define RV_IRQ_STI 5
#define RV_IRQ_MTI 7
#define RV_IRQ_SEI 9
#define RV_IRQ_MEI 11

/* Exception causes */
enum {
    RV_EXC_INSN_MISALIGNED = 0,
    RV_EXC_INSN_ACCESS = 1,
    RV_EXC_ILLEGAL_INSN = 2,
    RV_EXC_BREAKPOINT = 3,
    RV_EXC_LOAD_MISALIGNED = 4,
    RV_EXC_LOAD_ACCESS = 5,
    RV_EXC_STORE_MISALIGNED = 6,
    RV_EXC_STORE_ACCESS = 7,
    RV_EXC_ECALL_U = 8,
    RV_EXC_ECALL_S = 9,
    RV_EXC_ECALL_M = 11,
    RV_EXC_INSN_PAGE_FAULT = 12,
    RV_EXC_LOAD_PAGE_FAULT = 13,
    RV_EXC_STORE_PAGE_FAULT = 15,
};

/* fflags */
#define RV_FFLAG_NX 0x01
#define RV_FFLAG_UF 0x02
#define RV_FFLAG_OF 0x04
#define RV_FFLAG_DZ 0x08
#define RV_FFLAG_NV 0x10
/* rounding modes */
enum { RV_RM_RNE = 0, RV_RM_RTZ = 1, RV_RM_RDN = 2, RV_RM_RUP = 3, RV_RM_RMM = 4, RV_RM_DYN = 7 };

#define RV_PMP_COUNT 16

typedef struct RvCpu {
    VsCpu common;

    /* IR globals (keep together: hot). */
    uint64_t x[32];
    uint64_t pc;
    uint64_t f[32];    /* FP registers; single-precision values are NaN-boxed */
    uint64_t fflags;   /* accrued exception flags (5 bits) */
    uint64_t frm;      /* dynamic rounding mode (3 bits) */
    uint64_t res_addr; /* LR reservation address, or -1 */
    uint64_t res_val;  /* value loaded by LR */

    uint64_t priv; /* RV_PRV_* */

    /* Machine CSRs */
    uint64_t mstatus;
    uint64_t misa;
    uint64_t medeleg, mideleg;
    uint64_t mie;
    _Atomic uint64_t mip; /* set by devices from other threads: atomic */
    uint64_t mtvec, mscratch, mepc, mcause, mtval;
    uint64_t mcounteren, menvcfg, mcountinhibit;
    uint64_t mhartid;
    uint64_t pmpcfg[RV_PMP_COUNT / 8];
    uint64_t pmpaddr[RV_PMP_COUNT];
    /* Supervisor CSRs (sstatus/sie/sip are views of mstatus/mie/mip) */
    uint64_t stvec, sscratch, sepc, scause, stval, scounteren, senvcfg;
    uint64_t satp;
    /* Counters: mcycle/minstret offsets so writes work */
    int64_t cycle_offset, instret_offset;

    /* Time source: the board's CLINT mtime in ticks (10 MHz). */
    uint64_t (*read_mtime)(void *opaque);
    void *mtime_opaque;

    /* Wait-for-interrupt state handled by the vCPU loop. */
} RvCpu;

static inline RvCpu *rv_cpu(VsCpu *c)
{
    return (RvCpu *)c;
}

/* Raise/lower an interrupt-pending bit (device side, any thread). */
void rv_cpu_set_irq(RvCpu *cpu, unsigned irq, bool level);

/* ---- rv-csr.c: CSRs, traps, privilege changes ---- */
/* Read/write a CSR at the current privilege. Return false if the access is illegal
 * (caller raises illegal instruction). `write_mask` = bits being written (for csrrs/c:
 * zero means no write side effects). */
bool rv_csr_read(RvCpu *cpu, unsigned csr, uint64_t *val);
bool rv_csr_write(RvCpu *cpu, unsigned csr, uint64_t val);
/* Enter a trap at the current pc `epc` (exception: interrupt=false). Sets pc to handler. */
void rv_trap_enter(RvCpu *cpu, uint64_t cause, bool interrupt, uint64_t epc, uint64_t tval);
/* Raise an exception from inside a block (uses vs_cpu_current_pc), never returns. */
void rv_raise_exception(RvCpu *cpu, uint64_t cause, uint64_t tval) __attribute__((noreturn));
/* mret / sret: return target pc; updates priv/mstatus. */
uint64_t rv_do_mret(RvCpu *cpu);
uint64_t rv_do_sret(RvCpu *cpu);
/* Pending-and-enabled interrupt to take now, or -1. */
int rv_pending_interrupt(RvCpu *cpu);
/* Current translation mode bits (RV_MODE_*). */
uint32_t rv_exec_mode(RvCpu *cpu);
/* Data MMU index for the current privilege and mstatus (MPRV/MPP/SUM). */
unsigned rv_data_mmu_idx(RvCpu *cpu);
void rv_cpu_reset(RvCpu *cpu);

/* ---- rv-mmu.c: Sv39/Sv48 page walk ---- */
/* Returns true with *paddr and *prot on success (A/D updated atomically per the privileged
 * spec); false means page fault (or access fault in *access_fault). */
bool rv_page_walk(RvCpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx, uint64_t *paddr,
                  int *prot, uint64_t *page_size, bool *access_fault);

/* ---- rv-fpu.c: floating point helpers (IR helpers; see rv-fpu.h) ---- */

/* The arch ops for VsArchOps. */
extern const VsArchOps rv_arch_ops;

#endif
