/* SPDX-License-Identifier: MIT */
/*
 * Goldfish RTC: a 64-bit nanosecond wall clock (host CLOCK_REALTIME plus an offset the guest
 * sets by writing the time) and one alarm with a level interrupt.
 *   0x00 TIME_LOW (reading it latches TIME_HIGH)   0x04 TIME_HIGH
 *   0x08 ALARM_LOW (writing it arms the alarm)     0x0c ALARM_HIGH
 *   0x10 IRQ_ENABLED  0x14 CLEAR_ALARM  0x18 ALARM_STATUS  0x1c CLEAR_INTERRUPT
 */
#ifndef VESSEL_GOLDFISH_RTC_H
#define VESSEL_GOLDFISH_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/machine.h"
#include "core/timer.h"
#include "mmu/mmu.h"

#define GOLDFISH_RTC_MMIO_SIZE 0x1000

typedef struct GoldfishRtc {
    pthread_mutex_t lock;
    uint64_t offset_ns; /* guest time - host wall clock, modulo 2^64 */
    uint32_t time_high; /* latched by a TIME_LOW read */
    uint64_t alarm_next;
    bool alarm_running, irq_pending, irq_enabled;
    uint64_t alarm_deadline; /* vs_clock_ns() at which the armed alarm is due */
    VsTimer timer;

    int irq_level;
    void (*set_irq)(void *opaque, int level);
    void *irq_opaque;
    /* Host wall clock in ns since the epoch; CLOCK_REALTIME unless a test replaces it. */
    uint64_t (*realtime_ns)(void);
} GoldfishRtc;

/* svc may be NULL in tests that never arm an alarm. set_irq may be NULL. */
void goldfish_rtc_init(GoldfishRtc *r, VsTimerService *svc,
                       void (*set_irq)(void *opaque, int level), void *irq_opaque);
void goldfish_rtc_destroy(GoldfishRtc *r);
/* Disarm the alarm and lower the interrupt; the guest's clock offset survives a reset. */
void goldfish_rtc_reset(GoldfishRtc *r);

extern const MmioOps goldfish_rtc_mmio_ops;

#endif
