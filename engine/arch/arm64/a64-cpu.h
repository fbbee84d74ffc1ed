/* SPDX-License-Identifier: MIT */
/*
 * ARM64 (AArch64) CPU state: the base A64 integer ISA with LSE atomics, EL0 and EL1 (no EL2
 * or EL3: PSCI calls by HVC go to the board), VMSAv8-64 with the 4 KiB granule, the generic
 * timer, FP and Advanced SIMD (the 32 128-bit V registers are IR globals, two 64-bit halves
 * each; see a64-simd.c for what is implemented).
 *
 * Condition flags. The IR has no flags register, so NZCV live in four globals chosen so that
 * a flag-setting instruction costs one op per flag and every condition is one or two
 * compares (the representation QEMU's TCG frontend uses too):
 *   nf: N is bit 63 (a 32-bit result is stored sign-extended),
 *   zf: Z is set exactly when zf == 0,
 *   cf: C is 0 or 1,
 *   vf: V is bit 63 (sign-extended for 32-bit operations).
 * Flags stay in these globals between blocks (no lazy "last operation" record to
 * re-evaluate), so a consumer in any block is one or two ops; the cost is one op per flag
 * for each flag-setting instruction, which the JIT keeps in host registers within a block.
 * NZCV as one word is only assembled for MRS NZCV and exception entry (SPSR).
 */
#ifndef VESSEL_A64_CPU_H
#define VESSEL_A64_CPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cpu.h"
#include "core/timer.h"

/* MMU indexes: the EL1&0 translation regime seen from EL0 and from EL1. */
enum { A64_MMU_EL0 = 0, A64_MMU_EL1 = 1, A64_MMU_COUNT = 2 };

/* Translation mode bits (block key). */
enum {
    A64_MODE_EL1 = 1u << 0,   /* code runs at EL1 (else EL0) */
    A64_MODE_ALIGN = 1u << 1, /* SCTLR_EL1.A: every data access must be aligned */
    A64_MODE_IL = 1u << 2,    /* PSTATE.IL: the next instruction takes an Illegal state fault */
    A64_MODE_FP = 1u << 3,    /* CPACR_EL1.FPEN lets the current EL use FP/AdvSIMD */
};

/* Exception classes (ESR_ELx.EC). */
enum {
    A64_EC_UNKNOWN = 0x00,
    A64_EC_WFX = 0x01,
    A64_EC_FP_ACCESS = 0x07,
    A64_EC_ILLEGAL_STATE = 0x0e,
    A64_EC_SVC = 0x15,
    A64_EC_HVC = 0x16,
    A64_EC_SMC = 0x17,
    A64_EC_SYSREG = 0x18,
    A64_EC_IABORT_LOWER = 0x20,
    A64_EC_IABORT_SAME = 0x21,
    A64_EC_PC_ALIGN = 0x22,
    A64_EC_DABORT_LOWER = 0x24,
    A64_EC_DABORT_SAME = 0x25,
    A64_EC_SP_ALIGN = 0x26,
    A64_EC_BRK = 0x3c,
};

/* Vector offsets from VBAR_EL1. */
enum { A64_VEC_SYNC = 0x000, A64_VEC_IRQ = 0x080, A64_VEC_FIQ = 0x100, A64_VEC_SERROR = 0x180 };

/* PSTATE.DAIF bits as in the DAIF register and SPSR. */
#define A64_DAIF_F (1u << 6)
#define A64_DAIF_I (1u << 7)
#define A64_DAIF_A (1u << 8)
#define A64_DAIF_D (1u << 9)

/* SCTLR_EL1 bits used here. */
#define A64_SCTLR_M    (1ull << 0)
#define A64_SCTLR_A    (1ull << 1)
#define A64_SCTLR_UMA  (1ull << 9)
#define A64_SCTLR_DZE  (1ull << 14)
#define A64_SCTLR_UCT  (1ull << 15)
#define A64_SCTLR_NTWI (1ull << 16)
#define A64_SCTLR_NTWE (1ull << 18)
#define A64_SCTLR_WXN  (1ull << 19)
#define A64_SCTLR_UCI  (1ull << 26)

/* FPCR: AHP (26), DN (25), FZ (24), RMode (23:22); no FZ16 (no half-precision arithmetic)
 * and no trapped exceptions (the enable bits 15, 12:8 are RAZ/WI, as on Cortex-A72). */
#define A64_FPCR_AHP  (1u << 26)
#define A64_FPCR_DN   (1u << 25)
#define A64_FPCR_FZ   (1u << 24)
#define A64_FPCR_MASK 0x07c00000ull
/* FPSR: QC (27), IDC (7), IXC (4), UFC (3), OFC (2), DZC (1), IOC (0); NZCV (31:28) are for
 * AArch32 and RAZ/WI here. */
#define A64_FPSR_IOC  (1u << 0)
#define A64_FPSR_DZC  (1u << 1)
#define A64_FPSR_OFC  (1u << 2)
#define A64_FPSR_UFC  (1u << 3)
#define A64_FPSR_IXC  (1u << 4)
#define A64_FPSR_IDC  (1u << 7)
#define A64_FPSR_QC   (1u << 27)
#define A64_FPSR_MASK 0x0800009full

/* Generic timer: QEMU's 62.5 MHz (a 16 ns tick). */
#define A64_CNTFRQ_HZ 62500000ull
#define A64_TIMER_NS  16u

enum { A64_TIMER_PHYS = 0, A64_TIMER_VIRT = 1 };

typedef struct A64Cpu A64Cpu;

typedef struct A64Timer {
    A64Cpu *cpu;
    unsigned which; /* A64_TIMER_* */
    uint64_t ctl;   /* ENABLE bit 0, IMASK bit 1 (ISTATUS is computed) */
    uint64_t cval;
    VsTimer host; /* fires at the compare deadline */
    pthread_mutex_t lock;
    bool level; /* output line as last reported */
} A64Timer;

/* What the board provides to the CPU. */
typedef struct A64BoardHooks {
    void *opaque;
    /* HVC #0 at EL1: a PSCI call. Return true when handled (x0.. updated); false makes the
     * HVC UNDEFINED. */
    bool (*psci_call)(void *opaque, A64Cpu *cpu);
    /* Generic timer output line changed (which: A64_TIMER_*). */
    void (*timer_irq)(void *opaque, unsigned cpu, unsigned which, bool level);
    /* GIC CPU interface (ICC_*) system registers; false: UNDEFINED. */
    bool (*icc_read)(void *opaque, unsigned cpu, unsigned sysreg, uint64_t *val);
    bool (*icc_write)(void *opaque, unsigned cpu, unsigned sysreg, uint64_t val);
} A64BoardHooks;

struct A64Cpu {
    VsCpu common;

    /* IR globals (keep together: hot). */
    uint64_t x[31];
    uint64_t sp; /* the stack pointer selected by PSTATE.EL and SPSel */
    uint64_t pc;
    uint64_t nf, zf, cf, vf;
    uint64_t excl_addr; /* exclusive monitor: address, or -1 when open */
    uint64_t excl_val, excl_val2;
    uint64_t tmp;      /* second result of a 128-bit helper */
    uint64_t v[32][2]; /* V0..V31: [0] bits 63:0, [1] bits 127:64 */

    /* PSTATE (besides NZCV). */
    uint64_t el;       /* 0 or 1 */
    uint64_t spsel;    /* 1: EL1 uses SP_EL1 */
    uint64_t daif;     /* A64_DAIF_* */
    uint64_t sp_el[2]; /* the banked stack pointer not in `sp` */

    /* EL1 system registers. */
    uint64_t sctlr, ttbr0, ttbr1, tcr, mair, amair, vbar, contextidr, tpidr_el1, tpidr_el0,
        tpidrro_el0, cpacr, fpcr, fpsr, esr, far, elr, spsr, par, afsr0, afsr1, mdscr, cntkctl;
    uint64_t mpidr;
    uint64_t csselr, oslsr;
    uint64_t dbg[8]; /* DBGBVR0/1, DBGBCR0/1, DBGWVR0/1, DBGWCR0/1 (no debug events) */
    bool il;         /* PSTATE.IL */
    /* Generic timer (not cleared by the reset memset: from here on). */
    A64Timer timer[2];
    uint64_t cntvoff; /* virtual counter offset (CNTVOFF_EL2: 0 without EL2) */

    /* Interrupt inputs from the interrupt controller (any thread). */
    _Atomic bool irq_line, fiq_line;
    bool powered_off;   /* PSCI CPU_OFF / not yet started: halted until CPU_ON */
    bool start_pending; /* CPU_ON done, the vCPU has not run yet (wakes it from its halt) */

    /* Fault details from the last failed page walk (for raise_mmu_fault). */
    unsigned fault_fsc;

    A64BoardHooks hooks;
};

static inline A64Cpu *a64_cpu(VsCpu *c)
{
    return (A64Cpu *)c;
}

/* ---- a64-sysreg.c: system registers, exceptions, timer ---- */
/* MRS/MSR with the instruction's bits [20:5] (op0 op1 CRn CRm op2). False: UNDEFINED. */
bool a64_sysreg_read(A64Cpu *cpu, unsigned enc, uint64_t *val);
bool a64_sysreg_write(A64Cpu *cpu, unsigned enc, uint64_t val);
/* PSTATE as an SPSR value (NZCV, DAIF, M[3:0]). */
uint64_t a64_pstate(A64Cpu *cpu);
uint64_t a64_nzcv(A64Cpu *cpu);
void a64_set_nzcv(A64Cpu *cpu, uint64_t v);
/* Access from the current EL: 0 allowed, 1 UNDEFINED, 2 trapped to EL1 (EC 0x18). */
int a64_sysreg_access_check(A64Cpu *cpu, unsigned enc, bool write);
/* Take an exception to EL1: vector offset `vec` (A64_VEC_*), return address elr. */
void a64_take_exception(A64Cpu *cpu, unsigned vec, uint64_t esr, uint64_t elr, uint64_t far,
                        bool far_valid);
/* Raise a synchronous exception from inside a block (precise pc); never returns. */
void a64_raise_sync(A64Cpu *cpu, unsigned ec, uint32_t iss, uint64_t far, bool far_valid)
    __attribute__((noreturn));
/* ERET: restore PSTATE from SPSR_EL1, return the new pc. */
uint64_t a64_eret(A64Cpu *cpu);
/* Switch EL/SPSel, banking SP. */
void a64_set_el_spsel(A64Cpu *cpu, unsigned el, unsigned spsel);
uint32_t a64_exec_mode(A64Cpu *cpu);
bool a64_fp_enabled(A64Cpu *cpu);
void a64_cpu_reset(A64Cpu *cpu);
uint64_t a64_counter(void);
void a64_timer_update(A64Timer *t);
void a64_cpu_set_irq(A64Cpu *cpu, bool irq, bool fiq);

/* ---- a64-mmu.c ---- */
bool a64_page_walk(A64Cpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx, uint64_t *paddr,
                   int *prot, uint64_t *page_size, unsigned *fsc);
/* AT S1E1R/W, S1E0R/W: the PAR_EL1 value. */
uint64_t a64_at(A64Cpu *cpu, uint64_t vaddr, bool write, unsigned mmu_idx);

extern const VsArchOps a64_arch_ops;

#endif
