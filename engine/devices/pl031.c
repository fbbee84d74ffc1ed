/* SPDX-License-Identifier: MIT */
/* PL031 RTC: seconds counter over the host wall clock, match interrupt on a host timer. */
#include "devices/pl031.h"

#include <string.h>
#include <time.h>

#include "osal/osal.h"

enum {
    RTC_DR = 0x000,
    RTC_MR = 0x004,
    RTC_LR = 0x008,
    RTC_CR = 0x00c,
    RTC_IMSC = 0x010,
    RTC_RIS = 0x014,
    RTC_MIS = 0x018,
    RTC_ICR = 0x01c,
    RTC_ID = 0xfe0,
};

#define NS_PER_S 1000000000ull

/* PeriphID0..3 (part 0x031, designer 0x41 ARM, revision 1), PCellID0..3. */
static const uint8_t pl031_id[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

static uint64_t host_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint32_t counter(const Pl031 *r, uint64_t host_ns)
{
    return (uint32_t)(host_ns / NS_PER_S) + r->offset_s;
}

static void update_irq(Pl031 *r)
{
    int level = r->ris && r->imsc;
    if (level != r->irq_level) {
        r->irq_level = level;
        if (r->set_irq)
            r->set_irq(r->irq_opaque, level);
    }
}

/*
 * Work out when the counter next equals mr, with the lock held. The counter ticks on the host
 * second boundary, so the match comes (mr - counter) seconds, less the part of the current
 * second already gone, from now. A match equal to the counter now fires at once (as QEMU
 * does); one in the past only after the counter wraps. Returns the deadline for the timer.
 */
static uint64_t arm_match(Pl031 *r)
{
    uint64_t host = r->realtime_ns();
    uint32_t ticks = r->mr - counter(r, host);
    if (ticks == 0) {
        r->alarm_deadline = UINT64_MAX;
        r->ris = true;
        update_irq(r);
        return UINT64_MAX;
    }
    uint64_t wait = (uint64_t)ticks * NS_PER_S - host % NS_PER_S;
    r->alarm_deadline = vs_clock_ns() + wait;
    return r->alarm_deadline;
}

static void timer_cb(void *opaque)
{
    Pl031 *r = opaque;

    pthread_mutex_lock(&r->lock);
    /* A stale timer (match moved since it was armed) finds nothing to do. */
    if (r->alarm_deadline != UINT64_MAX && vs_clock_ns() >= r->alarm_deadline) {
        r->alarm_deadline = UINT64_MAX;
        r->ris = true;
        update_irq(r);
    }
    pthread_mutex_unlock(&r->lock);
}

void pl031_init(Pl031 *r, VsTimerService *svc, void (*set_irq)(void *opaque, int level),
                void *irq_opaque)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->set_irq = set_irq;
    r->irq_opaque = irq_opaque;
    r->realtime_ns = host_realtime_ns;
    r->alarm_deadline = UINT64_MAX;
    vs_timer_init(&r->timer, svc, timer_cb, r);
}

void pl031_destroy(Pl031 *r)
{
    vs_timer_del(&r->timer);
    pthread_mutex_destroy(&r->lock);
}

void pl031_reset(Pl031 *r)
{
    vs_timer_del(&r->timer);
    pthread_mutex_lock(&r->lock);
    r->mr = 0;
    r->lr = 0;
    r->imsc = false;
    r->ris = false;
    r->alarm_deadline = UINT64_MAX;
    update_irq(r);
    pthread_mutex_unlock(&r->lock);
}

static uint64_t pl031_read(void *opaque, uint64_t offset, unsigned size)
{
    Pl031 *r = opaque;
    uint32_t val = 0;

    /* A read of 1 or 2 bytes at a register returns its low bytes, as QEMU's model does:
     * UEFI's PL031RealTimeClockLib identifies the device by byte reads of the ID registers,
     * and its GetTime (Linux's rtc-efi) fails without it. */
    if ((size != 1 && size != 2 && size != 4) || (offset & 3) || offset >= PL031_MMIO_SIZE)
        return 0;
    if (offset >= RTC_ID)
        return pl031_id[(offset - RTC_ID) / 4];
    pthread_mutex_lock(&r->lock);
    switch (offset) {
    case RTC_DR: val = counter(r, r->realtime_ns()); break;
    case RTC_MR: val = r->mr; break;
    case RTC_LR: val = r->lr; break; /* the last value loaded */
    case RTC_CR: val = 1; break;
    case RTC_IMSC: val = r->imsc; break;
    case RTC_RIS: val = r->ris; break;
    case RTC_MIS: val = r->ris && r->imsc; break;
    default: break;
    }
    pthread_mutex_unlock(&r->lock);
    return size == 4 ? val : val & ((1u << (8 * size)) - 1);
}

/* Arm or disarm the host timer for the deadline arm_match computed. Called with our lock held
 * so two vCPUs writing RTCMR cannot leave the older deadline armed; this is safe because the
 * timer thread calls timer_cb without holding the service's lock. */
static void set_timer(Pl031 *r, uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        vs_timer_del(&r->timer);
    else
        vs_timer_mod(&r->timer, deadline);
}

static void pl031_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Pl031 *r = opaque;
    uint32_t val = (uint32_t)value;

    if (size != 4 || (offset & 3) || offset >= PL031_MMIO_SIZE)
        return;
    pthread_mutex_lock(&r->lock);
    switch (offset) {
    case RTC_MR:
        r->mr = val;
        set_timer(r, arm_match(r));
        break;
    case RTC_LR:
        r->lr = val;
        r->offset_s = val - (uint32_t)(r->realtime_ns() / NS_PER_S);
        set_timer(r, arm_match(r)); /* the counter jumped: the match moves with it */
        break;
    case RTC_IMSC:
        r->imsc = val & 1;
        update_irq(r);
        break;
    case RTC_ICR:
        if (val & 1) {
            r->ris = false;
            update_irq(r);
        }
        break;
    default: break; /* DR, RIS, MIS are read-only; CR: the clock always runs */
    }
    pthread_mutex_unlock(&r->lock);
}

const MmioOps pl031_mmio_ops = {
    .read = pl031_read,
    .write = pl031_write,
};
