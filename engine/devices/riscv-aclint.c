/* SPDX-License-Identifier: MIT */
/* CLINT: software interrupts, mtime and per-hart mtimecmp with host timers. */
#include "devices/riscv-aclint.h"

#include <stdlib.h>
#include <string.h>

#include "devices/riscv-hart.h"

static uint64_t mtime_at(const RvAclint *c, uint64_t now_ns)
{
    uint64_t ticks = (now_ns - c->start_ns) / ACLINT_NS_PER_TICK;
    return ticks + atomic_load_explicit(&c->mtime_offset, memory_order_relaxed);
}

uint64_t aclint_read_mtime(void *opaque)
{
    const RvAclint *c = opaque;
    return mtime_at(c, vs_clock_ns());
}

/*
 * Re-evaluate MTIP of one hart with the lock held. Returns the host deadline at which the
 * hart's timer must fire, or UINT64_MAX when it must not be armed. The caller arms it after
 * dropping the lock, so the lock is never held while calling into the timer service.
 */
static uint64_t update_hart(RvAclint *c, RvAclintHart *h, uint64_t now_ns)
{
    uint64_t now = mtime_at(c, now_ns);
    bool level = now >= h->mtimecmp;
    uint64_t deadline = UINT64_MAX;

    if (!level) {
        uint64_t delta = h->mtimecmp - now;
        /* mtime advances exactly one tick every 100 ns of the host clock, so the tick count
         * reaches mtimecmp delta*100 ns from now. Far-away deadlines are never reached. */
        if (delta <= (UINT64_MAX - now_ns) / ACLINT_NS_PER_TICK)
            deadline = now_ns + delta * ACLINT_NS_PER_TICK;
    }
    if (level != h->mtip) {
        h->mtip = level;
        rv_machine_set_irq(c->m, h->index, RV_IRQ_MTI, level);
    }
    return deadline;
}

static void arm_timer(RvAclintHart *h, uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        vs_timer_del(&h->timer);
    else
        vs_timer_mod(&h->timer, deadline);
}

static void timer_cb(void *opaque)
{
    RvAclintHart *h = opaque;
    RvAclint *c = h->clint;

    /* A timer armed for an older mtimecmp may fire late; the check below uses the current
     * value, and whoever changed it has armed the timer for the new deadline. */
    pthread_mutex_lock(&c->lock);
    uint64_t now = mtime_at(c, vs_clock_ns());
    if (now >= h->mtimecmp && !h->mtip) {
        h->mtip = true;
        rv_machine_set_irq(c->m, h->index, RV_IRQ_MTI, true);
    }
    pthread_mutex_unlock(&c->lock);
}

bool aclint_init(RvAclint *c, VsMachine *m, unsigned nharts)
{
    memset(c, 0, sizeof(*c));
    if (nharts == 0 || nharts > ACLINT_MAX_HARTS)
        return false;
    c->harts = calloc(nharts, sizeof(*c->harts));
    if (!c->harts)
        return false;
    pthread_mutex_init(&c->lock, NULL);
    c->m = m;
    c->nharts = nharts;
    c->start_ns = vs_clock_ns();
    for (unsigned i = 0; i < nharts; i++) {
        RvAclintHart *h = &c->harts[i];
        h->clint = c;
        h->index = i;
        h->mtimecmp = UINT64_MAX;
        vs_timer_init(&h->timer, m ? &m->timers : NULL, timer_cb, h);
    }
    return true;
}

void aclint_destroy(RvAclint *c)
{
    if (!c->harts)
        return;
    for (unsigned i = 0; i < c->nharts; i++)
        vs_timer_del(&c->harts[i].timer);
    pthread_mutex_destroy(&c->lock);
    free(c->harts);
    c->harts = NULL;
}

void aclint_reset(RvAclint *c)
{
    for (unsigned i = 0; i < c->nharts; i++)
        vs_timer_del(&c->harts[i].timer);
    pthread_mutex_lock(&c->lock);
    /* mtime restarts at 0; start_ns stays fixed because vCPUs read it without the lock. */
    uint64_t raw = (vs_clock_ns() - c->start_ns) / ACLINT_NS_PER_TICK;
    atomic_store(&c->mtime_offset, 0 - raw);
    for (unsigned i = 0; i < c->nharts; i++) {
        RvAclintHart *h = &c->harts[i];
        h->msip = 0;
        h->mtimecmp = UINT64_MAX;
        h->mtip = false;
        rv_machine_set_irq(c->m, i, RV_IRQ_MSI, false);
        rv_machine_set_irq(c->m, i, RV_IRQ_MTI, false);
    }
    pthread_mutex_unlock(&c->lock);
}

void aclint_sync_hart(RvAclint *c, unsigned hart)
{
    if (hart >= c->nharts)
        return;
    pthread_mutex_lock(&c->lock);
    RvAclintHart *h = &c->harts[hart];
    rv_machine_set_irq(c->m, hart, RV_IRQ_MSI, h->msip & 1);
    rv_machine_set_irq(c->m, hart, RV_IRQ_MTI, h->mtip);
    pthread_mutex_unlock(&c->lock);
}

/*
 * Registers are 32-bit (msip) or 64-bit (mtimecmp, mtime). An access of any size is served if
 * it lies inside one register: reads return the bytes it covers, writes replace them.
 * Anything else reads 0 and is ignored.
 */
typedef enum RegKind { REG_NONE, REG_MSIP, REG_MTIMECMP, REG_MTIME } RegKind;

static RegKind decode(const RvAclint *c, uint64_t offset, unsigned size, unsigned *hart,
                      unsigned *shift)
{
    uint64_t base, width;
    RegKind kind;

    if (size != 1 && size != 2 && size != 4 && size != 8)
        return REG_NONE;
    if (offset < ACLINT_MSIP_BASE + 4ull * c->nharts) {
        kind = REG_MSIP;
        width = 4;
        *hart = (unsigned)(offset / 4);
        base = 4ull * *hart;
    } else if (offset >= ACLINT_MTIMECMP_BASE && offset < ACLINT_MTIMECMP_BASE + 8ull * c->nharts) {
        kind = REG_MTIMECMP;
        width = 8;
        *hart = (unsigned)((offset - ACLINT_MTIMECMP_BASE) / 8);
        base = ACLINT_MTIMECMP_BASE + 8ull * *hart;
    } else if (offset >= ACLINT_MTIME && offset < ACLINT_MTIME + 8) {
        kind = REG_MTIME;
        width = 8;
        *hart = 0;
        base = ACLINT_MTIME;
    } else {
        return REG_NONE;
    }
    if (offset - base + size > width)
        return REG_NONE;
    *shift = (unsigned)(offset - base) * 8;
    return kind;
}

static uint64_t size_mask(unsigned size)
{
    return size == 8 ? UINT64_MAX : (1ull << (size * 8)) - 1;
}

static uint64_t deposit(uint64_t old, unsigned shift, unsigned size, uint64_t value)
{
    uint64_t mask = size_mask(size) << shift;
    return (old & ~mask) | ((value << shift) & mask);
}

static uint64_t aclint_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    RvAclint *c = opaque;
    unsigned hart, shift;
    uint64_t reg;

    switch (decode(c, offset, size, &hart, &shift)) {
    case REG_MSIP:
        pthread_mutex_lock(&c->lock);
        reg = c->harts[hart].msip;
        pthread_mutex_unlock(&c->lock);
        break;
    case REG_MTIMECMP:
        pthread_mutex_lock(&c->lock);
        reg = c->harts[hart].mtimecmp;
        pthread_mutex_unlock(&c->lock);
        break;
    case REG_MTIME: reg = aclint_read_mtime(c); break;
    default: return 0;
    }
    return (reg >> shift) & size_mask(size);
}

static void aclint_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    RvAclint *c = opaque;
    unsigned hart, shift;
    RegKind kind = decode(c, offset, size, &hart, &shift);

    if (kind == REG_NONE)
        return;
    pthread_mutex_lock(&c->lock);
    uint64_t now_ns = vs_clock_ns();
    if (kind == REG_MSIP) {
        RvAclintHart *h = &c->harts[hart];
        h->msip = (uint32_t)deposit(h->msip, shift, size, value) & 1;
        rv_machine_set_irq(c->m, hart, RV_IRQ_MSI, h->msip);
        pthread_mutex_unlock(&c->lock);
        return;
    }
    if (kind == REG_MTIMECMP) {
        RvAclintHart *h = &c->harts[hart];
        h->mtimecmp = deposit(h->mtimecmp, shift, size, value);
        uint64_t deadline = update_hart(c, h, now_ns);
        pthread_mutex_unlock(&c->lock);
        arm_timer(h, deadline);
        return;
    }
    /* mtime: keep the host clock running and move the offset. */
    uint64_t cur = mtime_at(c, now_ns);
    uint64_t want = deposit(cur, shift, size, value);
    atomic_fetch_add(&c->mtime_offset, want - cur);
    pthread_mutex_unlock(&c->lock);
    for (unsigned i = 0; i < c->nharts; i++) {
        pthread_mutex_lock(&c->lock);
        uint64_t deadline = update_hart(c, &c->harts[i], vs_clock_ns());
        pthread_mutex_unlock(&c->lock);
        arm_timer(&c->harts[i], deadline);
    }
}

const MmioOps aclint_mmio_ops = {
    .read = aclint_mmio_read,
    .write = aclint_mmio_write,
};
