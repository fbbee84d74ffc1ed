/* SPDX-License-Identifier: MIT */
/*
 * SiFive CLINT layout of the RISC-V ACLINT (MSWI + MTIMER in one 64 KiB region):
 *   0x0000 + 4*hart  msip      (bit 0 drives the hart's MSIP)
 *   0x4000 + 8*hart  mtimecmp  (64-bit; 32-bit halves accepted)
 *   0xbff8           mtime     (64-bit, 10 MHz, shared by all harts)
 * MTIP is a level: high while mtime >= mtimecmp. A host timer per hart raises it on time.
 */
#ifndef VESSEL_RISCV_ACLINT_H
#define VESSEL_RISCV_ACLINT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/machine.h"
#include "core/timer.h"
#include "mmu/mmu.h"

#define ACLINT_MMIO_SIZE     0x10000
#define ACLINT_MSIP_BASE     0x0000
#define ACLINT_MTIMECMP_BASE 0x4000
#define ACLINT_MTIME         0xbff8
#define ACLINT_TIMEBASE_HZ   10000000u
#define ACLINT_NS_PER_TICK   100u
#define ACLINT_MAX_HARTS     4095 /* mtimecmp slots before mtime */

typedef struct RvAclint RvAclint;

typedef struct RvAclintHart {
    RvAclint *clint;
    unsigned index;
    uint32_t msip;
    uint64_t mtimecmp;
    bool mtip;     /* level last sent to the hart */
    VsTimer timer; /* fires when mtime reaches mtimecmp */
} RvAclintHart;

struct RvAclint {
    pthread_mutex_t lock; /* harts[] state; taken by MMIO and timer callbacks */
    VsMachine *m;
    unsigned nharts;
    RvAclintHart *harts;
    uint64_t start_ns;             /* vs_clock_ns() at creation; never changes */
    _Atomic uint64_t mtime_offset; /* ticks added by guest writes to mtime (mod 2^64) */
};

/* Returns false when out of memory or nharts is 0 or too large. */
bool aclint_init(RvAclint *c, VsMachine *m, unsigned nharts);
void aclint_destroy(RvAclint *c);
/* Power-on state: mtime restarts at 0, msip 0, mtimecmp all ones, lines low. */
void aclint_reset(RvAclint *c);
/* Send the current MSIP/MTIP levels of one hart again (after the hart was reset). */
void aclint_sync_hart(RvAclint *c, unsigned hart);
/* mtime now, in ticks. Lock-free; for RvCpu.read_mtime (opaque is the RvAclint). */
uint64_t aclint_read_mtime(void *opaque);

extern const MmioOps aclint_mmio_ops;

#endif
