/* SPDX-License-Identifier: MIT */
/*
 * ARM PrimeCell PL031 real-time clock (ARM DDI 0224): a 32-bit seconds counter and one match
 * register with a level interrupt. All registers are 32 bits wide:
 *   0x000 RTCDR   counter (read-only)      0x004 RTCMR  match
 *   0x008 RTCLR   load (sets the counter)  0x00c RTCCR  control (RTCStart)
 *   0x010 RTCIMSC interrupt mask (1 = on)  0x014 RTCRIS raw status
 *   0x018 RTCMIS  masked status            0x01c RTCICR interrupt clear (write 1)
 *   0xfe0..0xffc  PeriphID0..3, PCellID0..3 (part 0x031, designer ARM)
 * The counter is the host's wall clock in seconds (UTC) plus an offset the guest sets through
 * RTCLR. It always runs, as on QEMU's virt board: RTCCR reads 1 and writes are ignored.
 * The match interrupt is raised when the counter reaches RTCMR: a host timer fires then.
 * Reads of 1, 2 or 4 bytes at a register's offset return its low bytes (as on QEMU; UEFI reads
 * the ID registers a byte at a time); writes must be aligned 32-bit ones. Other accesses read
 * 0 and are ignored.
 */
#ifndef VESSEL_PL031_H
#define VESSEL_PL031_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/timer.h"
#include "mmu/mmu.h"

#define PL031_MMIO_SIZE 0x1000

typedef struct Pl031 {
    pthread_mutex_t lock;
    uint32_t offset_s; /* guest counter - host seconds, modulo 2^32 */
    uint32_t mr, lr;
    bool imsc, ris;
    uint64_t alarm_deadline; /* vs_clock_ns() when the counter reaches mr; UINT64_MAX: none */
    VsTimer timer;

    int irq_level;
    void (*set_irq)(void *opaque, int level);
    void *irq_opaque;
    /* Host wall clock in ns since the epoch; CLOCK_REALTIME unless a test replaces it. */
    uint64_t (*realtime_ns)(void);
} Pl031;

/* svc may be NULL in tests that never use the match interrupt. set_irq may be NULL. */
void pl031_init(Pl031 *r, VsTimerService *svc, void (*set_irq)(void *opaque, int level),
                void *irq_opaque);
void pl031_destroy(Pl031 *r);
/* Reset: match, load, mask and status registers to 0, interrupt lowered. The guest's clock
 * offset survives (it is the battery-backed time). */
void pl031_reset(Pl031 *r);

extern const MmioOps pl031_mmio_ops;

#endif
