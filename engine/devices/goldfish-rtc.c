/* SPDX-License-Identifier: MIT */
/* Goldfish RTC: wall clock with a guest offset, one alarm driven by a host timer. */
#include "devices/goldfish-rtc.h"

#include <string.h>
#include <time.h>

enum {
    RTC_TIME_LOW = 0x00,
    RTC_TIME_HIGH = 0x04,
    RTC_ALARM_LOW = 0x08,
    RTC_ALARM_HIGH = 0x0c,
    RTC_IRQ_ENABLED = 0x10,
    RTC_CLEAR_ALARM = 0x14,
    RTC_ALARM_STATUS = 0x18,
    RTC_CLEAR_INTERRUPT = 0x1c,
};

static uint64_t host_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rtc_now(const GoldfishRtc *r)
{
    return r->realtime_ns() + r->offset_ns;
}

static void update_irq(GoldfishRtc *r)
{
    int level = r->irq_pending && r->irq_enabled;
    if (level != r->irq_level) {
        r->irq_level = level;
        if (r->set_irq)
            r->set_irq(r->irq_opaque, level);
    }
}

static void raise_alarm(GoldfishRtc *r)
{
    r->alarm_running = false;
    r->irq_pending = true;
    update_irq(r);
}

static void timer_cb(void *opaque)
{
    GoldfishRtc *r = opaque;

    pthread_mutex_lock(&r->lock);
    /* A stale timer (alarm cleared or moved since it was armed) finds nothing to do. */
    if (r->alarm_running && vs_clock_ns() >= r->alarm_deadline)
        raise_alarm(r);
    pthread_mutex_unlock(&r->lock);
}

void goldfish_rtc_init(GoldfishRtc *r, VsTimerService *svc,
                       void (*set_irq)(void *opaque, int level), void *irq_opaque)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->set_irq = set_irq;
    r->irq_opaque = irq_opaque;
    r->realtime_ns = host_realtime_ns;
    r->alarm_deadline = UINT64_MAX;
    vs_timer_init(&r->timer, svc, timer_cb, r);
}

void goldfish_rtc_destroy(GoldfishRtc *r)
{
    vs_timer_del(&r->timer);
    pthread_mutex_destroy(&r->lock);
}

void goldfish_rtc_reset(GoldfishRtc *r)
{
    vs_timer_del(&r->timer);
    pthread_mutex_lock(&r->lock);
    r->alarm_next = 0;
    r->alarm_running = false;
    r->irq_pending = false;
    r->irq_enabled = false;
    r->alarm_deadline = UINT64_MAX;
    update_irq(r);
    pthread_mutex_unlock(&r->lock);
}

static uint64_t goldfish_rtc_read(void *opaque, uint64_t offset, unsigned size)
{
    GoldfishRtc *r = opaque;
    uint64_t val = 0;

    /* 32-bit registers; smaller or misaligned accesses read 0. */
    if (size < 4 || (offset & 3))
        return 0;
    pthread_mutex_lock(&r->lock);
    switch (offset) {
    case RTC_TIME_LOW: {
        uint64_t now = rtc_now(r);
        r->time_high = (uint32_t)(now >> 32);
        val = (uint32_t)now;
        break;
    }
    case RTC_TIME_HIGH: val = r->time_high; break;
    case RTC_ALARM_LOW: val = (uint32_t)r->alarm_next; break;
    case RTC_ALARM_HIGH: val = (uint32_t)(r->alarm_next >> 32); break;
    case RTC_IRQ_ENABLED: val = r->irq_enabled; break;
    case RTC_ALARM_STATUS: val = r->alarm_running; break;
    default: break;
    }
    pthread_mutex_unlock(&r->lock);
    return val;
}

/* Replace one 32-bit half of the guest time, keeping the clock running. */
static void set_time_half(GoldfishRtc *r, bool high, uint32_t value)
{
    uint64_t now = rtc_now(r);
    uint64_t want =
        high ? ((uint64_t)value << 32) | (uint32_t)now : (now & 0xffffffff00000000ull) | value;
    r->offset_ns += want - now;
}

/* Arm the alarm for alarm_next with the lock held. Returns the host deadline to give the
 * timer after unlocking, or UINT64_MAX for none. */
static uint64_t arm_alarm(GoldfishRtc *r)
{
    uint64_t now = rtc_now(r);
    if (r->alarm_next <= now) {
        r->alarm_deadline = UINT64_MAX;
        raise_alarm(r);
        return UINT64_MAX;
    }
    uint64_t mono = vs_clock_ns();
    uint64_t delta = r->alarm_next - now;
    r->alarm_running = true;
    r->alarm_deadline = delta < UINT64_MAX - mono ? mono + delta : UINT64_MAX - 1;
    return r->alarm_deadline;
}

static void goldfish_rtc_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    GoldfishRtc *r = opaque;
    uint32_t val = (uint32_t)value;
    uint64_t deadline = UINT64_MAX;
    bool touch_timer = false;

    if (size < 4 || (offset & 3))
        return;
    pthread_mutex_lock(&r->lock);
    switch (offset) {
    case RTC_TIME_LOW: set_time_half(r, false, val); break;
    case RTC_TIME_HIGH: set_time_half(r, true, val); break;
    case RTC_ALARM_LOW:
        r->alarm_next = (r->alarm_next & 0xffffffff00000000ull) | val;
        deadline = arm_alarm(r);
        touch_timer = true;
        break;
    case RTC_ALARM_HIGH: r->alarm_next = ((uint64_t)val << 32) | (uint32_t)r->alarm_next; break;
    case RTC_IRQ_ENABLED:
        r->irq_enabled = val & 1;
        update_irq(r);
        break;
    case RTC_CLEAR_ALARM:
        r->alarm_running = false;
        r->alarm_deadline = UINT64_MAX;
        touch_timer = true;
        break;
    case RTC_CLEAR_INTERRUPT:
        r->irq_pending = false;
        update_irq(r);
        break;
    default: break;
    }
    pthread_mutex_unlock(&r->lock);

    /* The timer service is called without our lock so its callback can take it. */
    if (touch_timer) {
        if (deadline == UINT64_MAX)
            vs_timer_del(&r->timer);
        else
            vs_timer_mod(&r->timer, deadline);
    }
}

const MmioOps goldfish_rtc_mmio_ops = {
    .read = goldfish_rtc_read,
    .write = goldfish_rtc_write,
};
