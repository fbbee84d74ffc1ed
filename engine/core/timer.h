/* SPDX-License-Identifier: MIT */
/*
 * Host timers for device models (CLINT mtimecmp, RTC alarms): a callback fires on the
 * timer thread when the host monotonic clock reaches a deadline. Callbacks must be short
 * and thread-safe (typically: set an interrupt line, kick a vCPU).
 */
#ifndef VESSEL_TIMER_H
#define VESSEL_TIMER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct VsTimer VsTimer;
typedef struct VsTimerService VsTimerService;

struct VsTimer {
    VsTimerService *svc;
    void (*cb)(void *opaque);
    void *opaque;
    uint64_t deadline_ns; /* UINT64_MAX when not armed */
    VsTimer *next;        /* in the service's list */
};

struct VsTimerService {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool running, stop;
    VsTimer *timers;
};

bool vs_timer_service_start(VsTimerService *svc);
void vs_timer_service_stop(VsTimerService *svc);
void vs_timer_init(VsTimer *t, VsTimerService *svc, void (*cb)(void *), void *opaque);
/* Arm (or re-arm) for an absolute vs_clock_ns() deadline. */
void vs_timer_mod(VsTimer *t, uint64_t deadline_ns);
void vs_timer_del(VsTimer *t);

#endif
