/* SPDX-License-Identifier: MIT */
/* The timer thread: fires device timers at host-monotonic deadlines. */
#include <errno.h>
#include <time.h>

#include "core/machine.h"
#include "core/timer.h"

static void *timer_thread(void *arg)
{
    VsTimerService *svc = arg;
    vs_thread_set_name("vessel-timer");
    pthread_mutex_lock(&svc->lock);
    while (!svc->stop) {
        uint64_t now = vs_clock_ns(), next = UINT64_MAX;
        VsTimer *due = NULL;
        for (VsTimer *t = svc->timers; t; t = t->next) {
            if (t->deadline_ns <= now) {
                due = t;
                break;
            }
            if (t->deadline_ns < next)
                next = t->deadline_ns;
        }
        if (due) {
            due->deadline_ns = UINT64_MAX;
            void (*cb)(void *) = due->cb;
            void *opaque = due->opaque;
            pthread_mutex_unlock(&svc->lock);
            cb(opaque);
            pthread_mutex_lock(&svc->lock);
            continue;
        }
        if (next == UINT64_MAX) {
            pthread_cond_wait(&svc->cond, &svc->lock);
        } else {
            struct timespec ts = { .tv_sec = (time_t)(next / 1000000000ull),
                                   .tv_nsec = (long)(next % 1000000000ull) };
            pthread_cond_timedwait(&svc->cond, &svc->lock, &ts);
        }
    }
    pthread_mutex_unlock(&svc->lock);
    return NULL;
}

bool vs_timer_service_start(VsTimerService *svc)
{
    pthread_condattr_t ca;
    pthread_mutex_init(&svc->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&svc->cond, &ca);
    pthread_condattr_destroy(&ca);
    svc->stop = false;
    svc->timers = NULL;
    if (pthread_create(&svc->thread, NULL, timer_thread, svc) != 0)
        return false;
    svc->running = true;
    return true;
}

void vs_timer_service_stop(VsTimerService *svc)
{
    if (!svc->running)
        return;
    pthread_mutex_lock(&svc->lock);
    svc->stop = true;
    pthread_cond_signal(&svc->cond);
    pthread_mutex_unlock(&svc->lock);
    pthread_join(svc->thread, NULL);
    svc->running = false;
}

void vs_timer_init(VsTimer *t, VsTimerService *svc, void (*cb)(void *), void *opaque)
{
    t->svc = svc;
    t->cb = cb;
    t->opaque = opaque;
    t->deadline_ns = UINT64_MAX;
    pthread_mutex_lock(&svc->lock);
    t->next = svc->timers;
    svc->timers = t;
    pthread_mutex_unlock(&svc->lock);
}

void vs_timer_mod(VsTimer *t, uint64_t deadline_ns)
{
    VsTimerService *svc = t->svc;
    pthread_mutex_lock(&svc->lock);
    t->deadline_ns = deadline_ns;
    pthread_cond_signal(&svc->cond);
    pthread_mutex_unlock(&svc->lock);
}

void vs_timer_del(VsTimer *t)
{
    VsTimerService *svc = t->svc;
    pthread_mutex_lock(&svc->lock);
    t->deadline_ns = UINT64_MAX;
    pthread_mutex_unlock(&svc->lock);
}
