/* SPDX-License-Identifier: MIT */
/*
 * Arm GICv2 interrupt controller (Arm IHI 0048B) as QEMU's arm64 `virt` board with
 * gic-version=2 shows it to a guest with no EL3: a memory-mapped distributor and CPU
 * interface, up to 8 vCPUs.
 *
 * The subset, and why:
 * - No Security Extensions (GICD_TYPER.SecurityExtn = 0): the guest runs at EL1 with no EL3.
 *   Interrupt grouping exists, as in every GICv2: Group 0 is signalled as FIQ when
 *   GICC_CTLR.FIQEn is set, otherwise as IRQ; Group 1 as IRQ. GICC_IAR acknowledges Group 1
 *   only with GICC_CTLR.AckCtl set (1022 otherwise). The aliased registers (GICC_AIAR,
 *   AEOIR, AHPPIR) and GICC_NSAPRn belong to the Security Extensions: RAZ/WI here.
 * - 8 priority bits, so the smallest binary point is 0 (GICC_BPR) and 1 (GICC_ABPR); 128
 *   preemption levels, kept in GICC_APR0..3.
 * - SGIs are always enabled (GICD_ISENABLER0[15:0] RAO/WI) and edge-triggered; PPIs and SPIs
 *   have a programmable trigger. SPIs use the 1-of-N model over their GICD_ITARGETSR mask:
 *   pending once, signalled to every targeted vCPU, owned by the first that acknowledges.
 * - GICC_CTLR.EOImode splits priority drop (EOIR) from deactivation (GICC_DIR).
 * - No virtualisation extensions (GICH/GICV), no bypass signals.
 * Accesses of a wrong size or to offsets with no register read 0 and are ignored; INTIDs out
 * of range are ignored: nothing the guest does reaches outside the model.
 *
 * Banked registers: the distributor's registers for INTIDs 0..31 and the whole CPU
 * interface depend on which vCPU accesses them. The MMIO callbacks ask the board (the
 * Gicv2WhoFn given to gicv2_map); gicv2_dist_read/write and gicv2_cpu_read/write name the
 * vCPU explicitly (tests, other callers).
 *
 * Threads: every entry point may be called from any thread. One mutex guards the whole
 * state. The per-vCPU output callback is called with that mutex held whenever the IRQ or FIQ
 * level of that vCPU changes; it must only record the level and kick the vCPU.
 *
 * QEMU virt layout (the board's business):
 *   distributor    0x08000000, GICV2_DIST_SIZE
 *   CPU interface  0x08010000, GICV2_CPU_SIZE (GICC_DIR at 0x1000)
 */
#ifndef VESSEL_ARM_GICV2_H
#define VESSEL_ARM_GICV2_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/mmu.h"

#define GICV2_DIST_SIZE       0x10000u
#define GICV2_CPU_SIZE        0x10000u
#define GICV2_MAX_CPUS        8u
#define GICV2_MAX_SPIS        960u /* INTIDs up to 1019; 1020..1023 are special */
#define GICV2_DEFAULT_NSPIS   256u /* QEMU virt: 256 SPIs, GICD_TYPER.ITLinesNumber 8 */
#define GICV2_INTID_SPURIOUS  1023u
#define GICV2_INTID_SPURIOUS1 1022u /* Group 1 pending but AckCtl clear */

typedef struct Gicv2 Gicv2;

/* The IRQ and FIQ levels of one vCPU changed. Called with the GIC's lock held. */
typedef void (*Gicv2OutputFn)(void *opaque, unsigned cpu, bool irq, bool fiq);

/* A GIC for ncpus vCPUs (1..GICV2_MAX_CPUS) and nspis SPIs (a multiple of 32 up to
 * GICV2_MAX_SPIS), in the reset state. NULL when the numbers are out of range or memory runs
 * out. */
Gicv2 *gicv2_new(unsigned ncpus, unsigned nspis);
void gicv2_free(Gicv2 *gic);
/* System reset: every register to its reset value; input line levels are kept. */
void gicv2_reset(Gicv2 *gic);

void gicv2_set_output(Gicv2 *gic, unsigned cpu, Gicv2OutputFn fn, void *opaque);
/* Report the current IRQ/FIQ levels of `cpu` again (after the vCPU was reset). */
void gicv2_sync_cpu(Gicv2 *gic, unsigned cpu);

/* Drive SPI `spi` (INTID 32 + spi) or PPI `ppi` (0..15, INTID 16 + ppi) of vCPU `cpu`. */
void gicv2_set_spi(Gicv2 *gic, unsigned spi, bool level);
void gicv2_set_ppi(Gicv2 *gic, unsigned cpu, unsigned ppi, bool level);

/* Register accesses as vCPU `cpu` makes them (offsets within the distributor / CPU
 * interface regions). */
uint64_t gicv2_dist_read(Gicv2 *gic, unsigned cpu, uint64_t offset, unsigned size);
void gicv2_dist_write(Gicv2 *gic, unsigned cpu, uint64_t offset, uint64_t value, unsigned size);
uint64_t gicv2_cpu_read(Gicv2 *gic, unsigned cpu, uint64_t offset, unsigned size);
void gicv2_cpu_write(Gicv2 *gic, unsigned cpu, uint64_t offset, uint64_t value, unsigned size);

/* MMIO (opaque: the Gicv2). gicv2_map adds both regions; `who` names the vCPU whose thread
 * is calling (out-of-range answers and a NULL `who` mean vCPU 0). */
typedef unsigned (*Gicv2WhoFn)(void *opaque);
extern const MmioOps gicv2_dist_mmio_ops;
extern const MmioOps gicv2_cpu_mmio_ops;
bool gicv2_map(Gicv2 *gic, PhysMem *mem, uint64_t dist_base, uint64_t cpu_base, Gicv2WhoFn who,
               void *who_opaque);

#endif
