/* SPDX-License-Identifier: MIT */
/*
 * Arm GICv3 interrupt controller (Arm IHI 0069) as a guest of QEMU's arm64 `virt` board sees
 * it when there is no EL3: one distributor, one redistributor per vCPU and the CPU interface
 * as system registers (ICC_*_EL1).
 *
 * The subset, and why:
 * - Single Security state (GICD_TYPER.SecurityExtn = 0, GICD_CTLR.DS reads 1): the guest
 *   runs at EL1 with no EL3. Group 0 (signalled as FIQ) and Group 1 (signalled as IRQ) both
 *   exist, as the architecture says for DS = 1; Linux puts everything in Group 1.
 * - Affinity routing only (GICD_CTLR.ARE reads 1, writes ignored): GICv2-compatible legacy
 *   registers (ITARGETSR, SGIR, CPENDSGIR, SPENDSGIR) are RAZ/WI. No 1-of-N routing
 *   (GICD_TYPER.No1N = 1, IROUTER.IRM RAZ/WI).
 * - SGIs 0..15, PPIs 16..31, SPIs 32..32+nspis-1; no LPIs/ITS, no extended SPI/PPI ranges,
 *   no virtualisation (no ICH_* registers, no GICv4), no message-based SPIs.
 * - 5 priority bits (ICC_CTLR_EL1.PRIbits = 4, priorities in steps of 8), 16-bit INTIDs,
 *   so ICC_AP0R0/ICC_AP1R0 hold all 32 preemption levels; AP0R1..3/AP1R1..3 do not exist
 *   (UNDEFINED, as the architecture says for 5 priority bits).
 * - SGIs: ICC_SGI1R_EL1 forwards an SGI of either group (GICD_CTLR.DS = 1 lets Non-secure
 *   EL1 reach Group 0 SGIs); ICC_SGI0R_EL1 and ICC_ASGI1R_EL1 forward Group 0 SGIs only.
 * - Register writes take effect at once (GICD_CTLR.RWP and GICR_CTLR.RWP read 0).
 * - GICR_WAKER: ProcessorSleep resets to 1 and ChildrenAsleep follows it. As in QEMU, a
 *   sleeping redistributor still forwards interrupts (firmware that never wakes it works).
 * Accesses of a wrong size, misaligned or to offsets with no register read 0 and are ignored;
 * INTIDs out of range are ignored: nothing the guest does reaches outside the model.
 *
 * Affinity: vCPU i has MPIDR_EL1 affinity Aff1 = i / 16, Aff0 = i % 16 (QEMU virt's
 * clustering, so SGI target lists of 16 bits reach every vCPU); gicv3_mpidr_affinity()
 * returns that value and the CPU model must report the same in MPIDR_EL1.
 *
 * Threads: every entry point may be called from any thread (vCPU threads for MMIO and system
 * registers, the I/O and timer threads for lines). One mutex guards the whole state.
 * The per-vCPU output callback is called with that mutex held whenever the IRQ or FIQ level
 * of that vCPU changes; it must only record the level and kick the vCPU: never call back
 * into the GIC, never take a lock that is held around a call into the GIC.
 *
 * QEMU virt layout (the board's business; sizes from here):
 *   distributor   0x08000000, GICV3_DIST_SIZE
 *   redistributor 0x080A0000, gicv3_redist_size(ncpus) (two 64 KiB frames per vCPU:
 *                 RD_base, then SGI_base; QEMU's first region holds up to 123 vCPUs)
 */
#ifndef VESSEL_ARM_GICV3_H
#define VESSEL_ARM_GICV3_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/mmu.h"

#define GICV3_DIST_SIZE     0x10000u
#define GICV3_REDIST_STRIDE 0x20000u /* RD_base + SGI_base frames of one vCPU */
#define GICV3_MAX_CPUS      123u     /* what fits QEMU virt's first redistributor region */
#define GICV3_MAX_SPIS      992u     /* ITLinesNumber 31; INTIDs 1020..1023 stay special */
/* QEMU virt's guests see INTIDs 0..255: QEMU models 256 SPIs but its GICD_TYPER reports
 * ITLinesNumber 7, so Linux uses 224 of them. We report what we have (IHI 0069: the largest
 * INTID is 32 * (ITLinesNumber + 1) - 1), so the board asks for 224 to look the same. */
#define GICV3_DEFAULT_NSPIS  224u
#define GICV3_INTID_SPURIOUS 1023u

/* PPI numbers (INTID - 16) of the generic timer and friends, as device trees give them. */
#define GICV3_PPI_MAINT      9  /* INTID 25: virtual CPU interface maintenance */
#define GICV3_PPI_HYP_TIMER  10 /* INTID 26: EL2 physical timer */
#define GICV3_PPI_VIRT_TIMER 11 /* INTID 27: EL1 virtual timer (CNTV) */
#define GICV3_PPI_SEC_TIMER  13 /* INTID 29: secure EL1 physical timer */
#define GICV3_PPI_PHYS_TIMER 14 /* INTID 30: non-secure EL1 physical timer (CNTP) */
#define GICV3_PPI_PMU        7  /* INTID 23 */

/*
 * System register encodings as the CPU decodes them from MRS/MSR: bits [20:5] of the
 * instruction, i.e. op0 << 14 | op1 << 11 | CRn << 7 | CRm << 3 | op2.
 */
#define GICV3_SYSREG(op0, op1, crn, crm, op2) \
    ((unsigned)(((op0) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2)))

/* clang-format off */
#define ICC_PMR_EL1     GICV3_SYSREG(3, 0, 4, 6, 0)
#define ICC_IAR0_EL1    GICV3_SYSREG(3, 0, 12, 8, 0)
#define ICC_EOIR0_EL1   GICV3_SYSREG(3, 0, 12, 8, 1)
#define ICC_HPPIR0_EL1  GICV3_SYSREG(3, 0, 12, 8, 2)
#define ICC_BPR0_EL1    GICV3_SYSREG(3, 0, 12, 8, 3)
#define ICC_AP0R_EL1(n) GICV3_SYSREG(3, 0, 12, 8, 4 + (n)) /* n = 0..3 */
#define ICC_AP1R_EL1(n) GICV3_SYSREG(3, 0, 12, 9, (n))     /* n = 0..3 */
#define ICC_DIR_EL1     GICV3_SYSREG(3, 0, 12, 11, 1)
#define ICC_RPR_EL1     GICV3_SYSREG(3, 0, 12, 11, 3)
#define ICC_SGI1R_EL1   GICV3_SYSREG(3, 0, 12, 11, 5)
#define ICC_ASGI1R_EL1  GICV3_SYSREG(3, 0, 12, 11, 6)
#define ICC_SGI0R_EL1   GICV3_SYSREG(3, 0, 12, 11, 7)
#define ICC_IAR1_EL1    GICV3_SYSREG(3, 0, 12, 12, 0)
#define ICC_EOIR1_EL1   GICV3_SYSREG(3, 0, 12, 12, 1)
#define ICC_HPPIR1_EL1  GICV3_SYSREG(3, 0, 12, 12, 2)
#define ICC_BPR1_EL1    GICV3_SYSREG(3, 0, 12, 12, 3)
#define ICC_CTLR_EL1    GICV3_SYSREG(3, 0, 12, 12, 4)
#define ICC_SRE_EL1     GICV3_SYSREG(3, 0, 12, 12, 5)
#define ICC_IGRPEN0_EL1 GICV3_SYSREG(3, 0, 12, 12, 6)
#define ICC_IGRPEN1_EL1 GICV3_SYSREG(3, 0, 12, 12, 7)
/* clang-format on */

typedef struct Gicv3 Gicv3;

/*
 * The IRQ and FIQ levels of one vCPU changed (or gicv3_sync_cpu asked for them again).
 * Called with the GIC's lock held: record the levels, kick the vCPU, return.
 */
typedef void (*Gicv3OutputFn)(void *opaque, unsigned cpu, bool irq, bool fiq);

/*
 * A GIC for ncpus vCPUs (1..GICV3_MAX_CPUS) and nspis SPIs (a multiple of 32 from 32 to
 * GICV3_MAX_SPIS; see GICV3_DEFAULT_NSPIS). In the reset state.
 * Returns NULL when the numbers are out of range or memory runs out.
 */
Gicv3 *gicv3_new(unsigned ncpus, unsigned nspis);
void gicv3_free(Gicv3 *gic);
/* System reset: every register to its reset value. Input line levels are kept (devices still
 * drive them) and pending state is recomputed from them. Outputs are updated. */
void gicv3_reset(Gicv3 *gic);

unsigned gicv3_ncpus(const Gicv3 *gic);
unsigned gicv3_nspis(const Gicv3 *gic);
/* MPIDR_EL1 affinity fields (Aff1 << 8 | Aff0) the GIC expects of vCPU `cpu`. */
uint64_t gicv3_mpidr_affinity(unsigned cpu);
/* Bytes of redistributor space for ncpus vCPUs. */
static inline uint64_t gicv3_redist_size(unsigned ncpus)
{
    return (uint64_t)ncpus * GICV3_REDIST_STRIDE;
}

/* Set the output callback of vCPU `cpu` (NULL fn: outputs are not reported). The current
 * levels are reported at once. */
void gicv3_set_output(Gicv3 *gic, unsigned cpu, Gicv3OutputFn fn, void *opaque);
/* Report the current IRQ/FIQ levels of `cpu` again (after the vCPU was reset). */
void gicv3_sync_cpu(Gicv3 *gic, unsigned cpu);

/* Drive SPI `spi` (INTID 32 + spi, the number device trees give with GIC_SPI). Out-of-range
 * numbers are ignored. Any thread. */
void gicv3_set_spi(Gicv3 *gic, unsigned spi, bool level);
/* Drive PPI `ppi` (0..15, INTID 16 + ppi) of vCPU `cpu`. Any thread. */
void gicv3_set_ppi(Gicv3 *gic, unsigned cpu, unsigned ppi, bool level);

/*
 * CPU interface, for MRS/MSR of vCPU `cpu` at EL1 (encoding: GICV3_SYSREG / ICC_*).
 * Return false when `sysreg` is not a CPU interface register this GIC has, or the access
 * direction does not exist (e.g. a read of ICC_EOIR1_EL1): the CPU then treats the
 * instruction as UNDEFINED. Any thread, but normally the vCPU's own.
 */
bool gicv3_cpuif_read(Gicv3 *gic, unsigned cpu, unsigned sysreg, uint64_t *val);
bool gicv3_cpuif_write(Gicv3 *gic, unsigned cpu, unsigned sysreg, uint64_t val);

/*
 * MMIO: the distributor (GICV3_DIST_SIZE bytes) and the redistributors
 * (gicv3_redist_size(ncpus) bytes, vCPU i's frames at i * GICV3_REDIST_STRIDE). The opaque
 * pointer of both is the Gicv3. gicv3_map adds both regions to a physical memory map.
 */
extern const MmioOps gicv3_dist_mmio_ops;
extern const MmioOps gicv3_redist_mmio_ops;
bool gicv3_map(Gicv3 *gic, PhysMem *mem, uint64_t dist_base, uint64_t redist_base);

#endif
