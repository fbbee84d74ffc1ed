/* SPDX-License-Identifier: MIT */
/*
 * SiFive PLIC configured like QEMU's virt board: 96 interrupt ids (source 0 does not exist,
 * 1..95 are usable), 3-bit priorities, two contexts per hart (2*h: M-mode -> MEIP,
 * 2*h+1: S-mode -> SEIP). Register map (all 32-bit):
 *   0x000000 + 4*src          priority
 *   0x001000 + 4*word         pending bits (read-only)
 *   0x002000 + 0x80*ctx + 4*w enable bits
 *   0x200000 + 0x1000*ctx     threshold; +4 claim (read) / complete (write)
 * Inputs are level-triggered lines driven by plic_set_irq() from any thread.
 */
#ifndef VESSEL_RISCV_PLIC_H
#define VESSEL_RISCV_PLIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/machine.h"
#include "mmu/mmu.h"

#define PLIC_NUM_SOURCES    96 /* ids 0..95; riscv,ndev = 95 */
#define PLIC_NUM_WORDS      ((PLIC_NUM_SOURCES + 31) / 32)
#define PLIC_PRIORITY_MASK  7u
#define PLIC_MMIO_SIZE      0x600000 /* QEMU maps room for 512 harts whatever the vCPU count */
#define PLIC_MAX_HARTS      512

#define PLIC_PRIORITY_BASE  0x0
#define PLIC_PENDING_BASE   0x1000
#define PLIC_ENABLE_BASE    0x2000
#define PLIC_ENABLE_STRIDE  0x80
#define PLIC_CONTEXT_BASE   0x200000
#define PLIC_CONTEXT_STRIDE 0x1000

typedef struct RvPlicContext {
    uint32_t enable[PLIC_NUM_WORDS];
    uint32_t threshold;
    bool out; /* level last sent to the hart */
} RvPlicContext;

typedef struct RvPlic {
    pthread_mutex_t lock; /* everything below; innermost lock of the interrupt path */
    VsMachine *m;
    unsigned nharts, ncontexts;
    uint32_t priority[PLIC_NUM_SOURCES];
    uint32_t level[PLIC_NUM_WORDS];   /* input lines */
    uint32_t pending[PLIC_NUM_WORDS]; /* gateway has forwarded a request */
    uint32_t claimed[PLIC_NUM_WORDS]; /* claimed, waiting for complete */
    RvPlicContext *ctx;
} RvPlic;

/* Returns false when out of memory or nharts is 0 or too large. */
bool plic_init(RvPlic *p, VsMachine *m, unsigned nharts);
void plic_destroy(RvPlic *p);
/* Power-on state (input levels are kept: devices still drive their lines). */
void plic_reset(RvPlic *p);
/* Drive input line `source` (1..95); other ids are ignored. Thread-safe. */
void plic_set_irq(RvPlic *p, unsigned source, int level);
/* Send the current MEIP/SEIP levels of one hart again (after the hart was reset). */
void plic_sync_hart(RvPlic *p, unsigned hart);

extern const MmioOps plic_mmio_ops;

#endif
