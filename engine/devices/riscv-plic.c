/* SPDX-License-Identifier: MIT */
/* SiFive PLIC: gateways, priorities, per-context enables, threshold, claim/complete. */
#include "devices/riscv-plic.h"

#include <stdlib.h>
#include <string.h>

#include "devices/riscv-hart.h"

static bool test_bit(const uint32_t *words, unsigned id)
{
    return (words[id / 32] >> (id % 32)) & 1;
}

static void set_bit(uint32_t *words, unsigned id, bool on)
{
    if (on)
        words[id / 32] |= 1u << (id % 32);
    else
        words[id / 32] &= ~(1u << (id % 32));
}

static unsigned ctx_irq(unsigned ctx)
{
    return (ctx & 1) ? RV_IRQ_SEI : RV_IRQ_MEI;
}

/* Highest-priority source that is pending, enabled in ctx and above its threshold; ties go
 * to the lowest id. 0 when there is none. */
static unsigned best_source(const RvPlic *p, const RvPlicContext *c)
{
    unsigned best = 0;
    uint32_t best_prio = c->threshold;

    for (unsigned w = 0; w < PLIC_NUM_WORDS; w++) {
        uint32_t bits = p->pending[w] & ~p->claimed[w] & c->enable[w];
        while (bits) {
            unsigned id = w * 32 + (unsigned)__builtin_ctz(bits);
            bits &= bits - 1;
            if (p->priority[id] > best_prio) {
                best_prio = p->priority[id];
                best = id;
            }
        }
    }
    return best;
}

/* Recompute every context's output with the lock held; tell the harts that changed. */
static void update_outputs(RvPlic *p)
{
    for (unsigned i = 0; i < p->ncontexts; i++) {
        RvPlicContext *c = &p->ctx[i];
        bool level = best_source(p, c) != 0;
        if (level != c->out) {
            c->out = level;
            rv_machine_set_irq(p->m, i / 2, ctx_irq(i), level);
        }
    }
}

bool plic_init(RvPlic *p, VsMachine *m, unsigned nharts)
{
    memset(p, 0, sizeof(*p));
    if (nharts == 0 || nharts > PLIC_MAX_HARTS)
        return false;
    p->ctx = calloc(2 * (size_t)nharts, sizeof(*p->ctx));
    if (!p->ctx)
        return false;
    pthread_mutex_init(&p->lock, NULL);
    p->m = m;
    p->nharts = nharts;
    p->ncontexts = 2 * nharts;
    return true;
}

void plic_destroy(RvPlic *p)
{
    if (!p->ctx)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->ctx);
    p->ctx = NULL;
}

void plic_reset(RvPlic *p)
{
    pthread_mutex_lock(&p->lock);
    memset(p->priority, 0, sizeof(p->priority));
    memset(p->claimed, 0, sizeof(p->claimed));
    /* Lines still high re-request once their priority and enable are set again. */
    memcpy(p->pending, p->level, sizeof(p->pending));
    for (unsigned i = 0; i < p->ncontexts; i++) {
        memset(p->ctx[i].enable, 0, sizeof(p->ctx[i].enable));
        p->ctx[i].threshold = 0;
    }
    update_outputs(p);
    pthread_mutex_unlock(&p->lock);
}

void plic_set_irq(RvPlic *p, unsigned source, int level)
{
    if (source == 0 || source >= PLIC_NUM_SOURCES)
        return;
    pthread_mutex_lock(&p->lock);
    set_bit(p->level, source, level != 0);
    /* Level gateway: a high line requests unless a request is already being served; a line
     * that drops before the claim withdraws its request (as QEMU does). */
    if (!test_bit(p->claimed, source))
        set_bit(p->pending, source, level != 0);
    update_outputs(p);
    pthread_mutex_unlock(&p->lock);
}

void plic_sync_hart(RvPlic *p, unsigned hart)
{
    if (hart >= p->nharts)
        return;
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 2 * hart; i < 2 * hart + 2; i++)
        rv_machine_set_irq(p->m, hart, ctx_irq(i), p->ctx[i].out);
    pthread_mutex_unlock(&p->lock);
}

static uint32_t claim(RvPlic *p, unsigned ctx)
{
    unsigned id = best_source(p, &p->ctx[ctx]);
    if (id) {
        set_bit(p->pending, id, false);
        set_bit(p->claimed, id, true);
        update_outputs(p);
    }
    return id;
}

static void complete(RvPlic *p, unsigned ctx, uint32_t id)
{
    /* Completing an id the context does not have enabled is ignored (PLIC spec). */
    if (id == 0 || id >= PLIC_NUM_SOURCES || !test_bit(p->ctx[ctx].enable, id))
        return;
    set_bit(p->claimed, id, false);
    if (test_bit(p->level, id))
        set_bit(p->pending, id, true);
    update_outputs(p);
}

/* Only aligned 32-bit accesses reach a register; anything else reads 0 and is ignored. */
static uint64_t plic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    RvPlic *p = opaque;
    uint32_t val = 0;

    if (size != 4 || (offset & 3))
        return 0;
    pthread_mutex_lock(&p->lock);
    if (offset < PLIC_PENDING_BASE) {
        uint64_t id = offset / 4;
        if (id > 0 && id < PLIC_NUM_SOURCES)
            val = p->priority[id];
    } else if (offset < PLIC_ENABLE_BASE) {
        uint64_t w = (offset - PLIC_PENDING_BASE) / 4;
        if (w < PLIC_NUM_WORDS)
            val = p->pending[w];
    } else if (offset < PLIC_CONTEXT_BASE) {
        uint64_t ctx = (offset - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE;
        uint64_t w = (offset - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4;
        if (ctx < p->ncontexts && w < PLIC_NUM_WORDS)
            val = p->ctx[ctx].enable[w];
    } else {
        uint64_t ctx = (offset - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE;
        uint64_t reg = (offset - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE;
        if (ctx < p->ncontexts && reg == 0)
            val = p->ctx[ctx].threshold;
        else if (ctx < p->ncontexts && reg == 4)
            val = claim(p, (unsigned)ctx);
    }
    pthread_mutex_unlock(&p->lock);
    return val;
}

static void plic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    RvPlic *p = opaque;
    uint32_t val = (uint32_t)value;

    if (size != 4 || (offset & 3))
        return;
    pthread_mutex_lock(&p->lock);
    if (offset < PLIC_PENDING_BASE) {
        uint64_t id = offset / 4;
        if (id > 0 && id < PLIC_NUM_SOURCES) {
            p->priority[id] = val & PLIC_PRIORITY_MASK;
            update_outputs(p);
        }
    } else if (offset < PLIC_ENABLE_BASE) {
        /* pending bits are read-only */
    } else if (offset < PLIC_CONTEXT_BASE) {
        uint64_t ctx = (offset - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE;
        uint64_t w = (offset - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4;
        if (ctx < p->ncontexts && w < PLIC_NUM_WORDS) {
            p->ctx[ctx].enable[w] = w == 0 ? val & ~1u : val; /* source 0 does not exist */
            update_outputs(p);
        }
    } else {
        uint64_t ctx = (offset - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE;
        uint64_t reg = (offset - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE;
        if (ctx < p->ncontexts && reg == 0) {
            p->ctx[ctx].threshold = val & PLIC_PRIORITY_MASK;
            update_outputs(p);
        } else if (ctx < p->ncontexts && reg == 4) {
            complete(p, (unsigned)ctx, val);
        }
    }
    pthread_mutex_unlock(&p->lock);
}

const MmioOps plic_mmio_ops = {
    .read = plic_mmio_read,
    .write = plic_mmio_write,
};
