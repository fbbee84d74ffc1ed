/* SPDX-License-Identifier: MIT */
/*
 * Arm GICv2: distributor and CPU interface (Arm IHI 0048B), without Security Extensions.
 * See arm-gicv2.h for the subset. Every change recomputes each vCPU's highest-priority
 * pending interrupt and output levels; there are at most 8 vCPUs and 1020 INTIDs, and a scan
 * touches only the words with candidates.
 */
#include "devices/arm-gicv2.h"

#include "devices/arm-gic-common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NUM_SGIS  16
#define IDLE_PRIO 0x100u /* internal: nothing active */
#define MIN_BPR   0u
#define MIN_ABPR  1u

/* GICD_CTLR */
#define GICD_CTLR_EN_GRP0 (1u << 0)
#define GICD_CTLR_EN_GRP1 (1u << 1)

/* GICC_CTLR (no Security Extensions) */
#define GICC_CTLR_EN_GRP0 (1u << 0)
#define GICC_CTLR_EN_GRP1 (1u << 1)
#define GICC_CTLR_ACKCTL  (1u << 2)
#define GICC_CTLR_FIQEN   (1u << 3)
#define GICC_CTLR_CBPR    (1u << 4)
#define GICC_CTLR_EOIMODE (1u << 9)
#define GICC_CTLR_MASK    0x3ffu /* bits 5..8: bypass disables, kept as written */

#define GICC_IIDR         0x0002043bu /* architecture version 2, implementer Arm */
#define GICD_IIDR         0x0000043bu /* implementer Arm */

enum {
    GICD_CTLR = 0x000,
    GICD_TYPER = 0x004,
    GICD_IIDR_OFF = 0x008,
    GICD_IGROUPR = 0x080,
    GICD_ISENABLER = 0x100,
    GICD_ICENABLER = 0x180,
    GICD_ISPENDR = 0x200,
    GICD_ICPENDR = 0x280,
    GICD_ISACTIVER = 0x300,
    GICD_ICACTIVER = 0x380,
    GICD_IPRIORITYR = 0x400,
    GICD_ITARGETSR = 0x800,
    GICD_ICFGR = 0xc00,
    GICD_SGIR = 0xf00,
    GICD_CPENDSGIR = 0xf10,
    GICD_SPENDSGIR = 0xf20,
    GICD_IDREGS = 0xfd0,
};

enum {
    GICC_CTLR = 0x00,
    GICC_PMR = 0x04,
    GICC_BPR = 0x08,
    GICC_IAR = 0x0c,
    GICC_EOIR = 0x10,
    GICC_RPR = 0x14,
    GICC_HPPIR = 0x18,
    GICC_ABPR = 0x1c,
    GICC_APR = 0xd0,
    GICC_NSAPR = 0xe0,
    GICC_IIDR_OFF = 0xfc,
    GICC_DIR = 0x1000,
};

/* PIDR4..PIDR7, PIDR0..PIDR3, CIDR0..CIDR3 at 0xfd0..0xffc: an Arm GIC, architecture 2. */
static const uint8_t gic_idregs[12] = { 0x04, 0x00, 0x00, 0x00, 0x90, 0xb4,
                                        0x2b, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

typedef struct GicCpu {
    GicCpuCore core;             /* INTIDs 0..31, outputs */
    uint8_t prio[GIC_NUM_LOCAL]; /* banked priorities */
    uint8_t sgi_src[NUM_SGIS];   /* pending SGIs: one bit per source vCPU */
    uint32_t ctlr, pmr, bpr, abpr;
    uint32_t apr[4]; /* active preemption levels (group priority >> 1) */
} GicCpu;

struct Gicv2 {
    GicCore core; /* lock, sizes, SPI words */
    uint32_t ctlr;
    uint8_t prio[GIC_MAX_WORDS * 32];
    uint8_t targets[GIC_MAX_WORDS * 32];
    GicCpu cpu[GICV2_MAX_CPUS];
    Gicv2WhoFn who; /* the vCPU making an MMIO access */
    void *who_opaque;
};

/* ---- State helpers ---- */

static uint32_t local_pending(const GicCpu *c)
{
    uint32_t sgis = 0;
    for (unsigned i = 0; i < NUM_SGIS; i++)
        if (c->sgi_src[i])
            sgis |= 1u << i;
    return sgis | c->core.local.latch | (c->core.local.level & ~c->core.local.edge & ~0xffffu);
}

static uint32_t group_enabled(const Gicv2 *g, uint32_t group)
{
    uint32_t m = 0;
    if (g->ctlr & GICD_CTLR_EN_GRP0)
        m |= ~group;
    if (g->ctlr & GICD_CTLR_EN_GRP1)
        m |= group;
    return m;
}

/* The highest-priority pending, enabled, inactive interrupt forwarded to vCPU ci. */
static Hppi highest_pending(const Gicv2 *g, unsigned ci)
{
    Hppi best = { GICV2_INTID_SPURIOUS, IDLE_PRIO, 0 };
    const GicCpu *c = &g->cpu[ci];
    uint32_t bits = local_pending(c) & c->core.local.enable & ~c->core.local.active &
                    group_enabled(g, c->core.local.group);
    while (bits) {
        unsigned i = (unsigned)__builtin_ctz(bits);
        bits &= bits - 1;
        gic_consider(&best, i, c->prio[i], (c->core.local.group >> i) & 1);
    }
    for (unsigned w = 1; w < g->core.nwords; w++) {
        const IrqWord *iw = &g->core.spi[w];
        bits = gic_pending(iw) & iw->enable & ~iw->active & group_enabled(g, iw->group);
        while (bits) {
            unsigned i = w * 32 + (unsigned)__builtin_ctz(bits);
            bits &= bits - 1;
            if (i < g->core.nirqs && (g->core.ncpus == 1 || ((g->targets[i] >> ci) & 1)))
                gic_consider(&best, i, g->prio[i], (iw->group >> (i % 32)) & 1);
        }
    }
    return best;
}

/* Group priority of priority p in group grp: BPR, or ABPR - 1 for Group 1 without CBPR. */
static unsigned group_prio(const GicCpu *c, unsigned p, unsigned grp)
{
    unsigned bpr = (grp == 1 && !(c->ctlr & GICC_CTLR_CBPR)) ? c->abpr - 1 : c->bpr;
    return p & ((0xffu << (bpr + 1)) & 0xffu);
}

static unsigned running_prio(const GicCpu *c)
{
    for (unsigned i = 0; i < 4; i++)
        if (c->apr[i])
            return ((i * 32 + (unsigned)__builtin_ctz(c->apr[i])) << 1);
    return IDLE_PRIO;
}

/* Whether h may be signalled (and acknowledged): group enabled in the CPU interface, above
 * the priority mask, and preempting what is active. */
static bool can_signal(const GicCpu *c, const Hppi *h)
{
    if (h->intid == GICV2_INTID_SPURIOUS || h->prio >= c->pmr)
        return false;
    if (!(c->ctlr & (h->grp ? GICC_CTLR_EN_GRP1 : GICC_CTLR_EN_GRP0)))
        return false;
    return group_prio(c, h->prio, h->grp) < running_prio(c);
}

static void update_cpu(Gicv2 *g, unsigned ci)
{
    GicCpu *c = &g->cpu[ci];
    Hppi h = highest_pending(g, ci);
    bool sig = can_signal(c, &h);
    bool fiq = sig && h.grp == 0 && (c->ctlr & GICC_CTLR_FIQEN);
    gic_output(&g->core, ci, sig && !fiq, fiq);
}

/* ---- Life cycle ---- */

static void reset_locked(Gicv2 *g)
{
    g->ctlr = 0;
    gic_reset_spis(&g->core);
    memset(g->prio, 0, sizeof(g->prio));
    memset(g->targets, 0, sizeof(g->targets));
    for (unsigned i = 0; i < g->core.ncpus; i++) {
        GicCpu *c = &g->cpu[i];
        c->core.local.group = c->core.local.latch = c->core.local.active = 0;
        c->core.local.enable = 0xffff; /* SGIs: always enabled */
        c->core.local.edge = 0xffff;   /* SGIs: always edge-triggered; PPIs reset level */
        memset(c->prio, 0, sizeof(c->prio));
        memset(c->sgi_src, 0, sizeof(c->sgi_src));
        c->ctlr = 0;
        c->pmr = 0;
        c->bpr = MIN_BPR;
        c->abpr = MIN_ABPR;
        memset(c->apr, 0, sizeof(c->apr));
    }
}

static void model_reset(GicCore *core)
{
    reset_locked((Gicv2 *)core);
}

static void model_update_cpu(GicCore *core, unsigned cpu)
{
    update_cpu((Gicv2 *)core, cpu);
}

/* An SPI may be forwarded to several vCPUs (1-of-N over its ITARGETSR mask): update all. */
static void model_spi_changed(GicCore *core, unsigned intid)
{
    (void)intid;
    gic_update_all(core);
}

static const GicModel gicv2_model = {
    .reset = model_reset,
    .update_cpu = model_update_cpu,
    .spi_changed = model_spi_changed,
};

Gicv2 *gicv2_new(unsigned ncpus, unsigned nspis)
{
    if (ncpus == 0 || ncpus > GICV2_MAX_CPUS || nspis == 0 || nspis % 32 || nspis > GICV2_MAX_SPIS)
        return NULL;
    Gicv2 *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    gic_core_init(&g->core, &gicv2_model, ncpus, nspis, g->cpu, sizeof(g->cpu[0]));
    reset_locked(g);
    return g;
}

void gicv2_free(Gicv2 *g)
{
    if (!g)
        return;
    gic_core_destroy(&g->core);
    free(g);
}

void gicv2_reset(Gicv2 *g)
{
    gic_core_reset(&g->core);
}

void gicv2_set_output(Gicv2 *g, unsigned cpu, Gicv2OutputFn fn, void *opaque)
{
    gic_core_set_output(&g->core, cpu, fn, opaque);
}

void gicv2_sync_cpu(Gicv2 *g, unsigned cpu)
{
    gic_core_sync_cpu(&g->core, cpu);
}

/* ---- Input lines ---- */

void gicv2_set_spi(Gicv2 *g, unsigned spi, bool level)
{
    gic_core_set_spi(&g->core, spi, level);
}

void gicv2_set_ppi(Gicv2 *g, unsigned cpu, unsigned ppi, bool level)
{
    gic_core_set_ppi(&g->core, cpu, ppi, level);
}

/* ---- Distributor ---- */

/* The word of INTIDs [32*n, 32*n+31] as vCPU ci sees it; NULL beyond the implemented ones. */
static IrqWord *word_of(Gicv2 *g, unsigned ci, unsigned n)
{
    if (n == 0)
        return &g->cpu[ci].core.local;
    return n < g->core.nwords ? &g->core.spi[n] : NULL;
}

static uint8_t *prio_of(Gicv2 *g, unsigned ci, unsigned intid)
{
    return intid < GIC_NUM_LOCAL ? &g->cpu[ci].prio[intid] : &g->prio[intid];
}

static uint32_t dist_read_word(Gicv2 *g, unsigned ci, uint32_t off)
{
    if (off == GICD_CTLR)
        return g->ctlr;
    if (off == GICD_TYPER)
        return (g->core.nwords - 1) | ((g->core.ncpus - 1) << 5);
    if (off == GICD_IIDR_OFF)
        return GICD_IIDR;
    if (off >= GICD_IGROUPR && off < GICD_ICFGR && off < GICD_IPRIORITYR) {
        unsigned n = (off & 0x7f) / 4;
        IrqWord *w = word_of(g, ci, n);
        if (!w)
            return 0;
        switch (off & ~0x7fu) {
        case GICD_IGROUPR: return w->group;
        case GICD_ISENABLER:
        case GICD_ICENABLER: return w->enable;
        case GICD_ISPENDR:
        case GICD_ICPENDR: return n == 0 ? local_pending(&g->cpu[ci]) : gic_pending(w);
        case GICD_ISACTIVER:
        case GICD_ICACTIVER: return w->active;
        default: return 0;
        }
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + 2 * GIC_MAX_WORDS * 4) {
        unsigned first = (off - GICD_ICFGR) * 4; /* 16 INTIDs per register */
        IrqWord *w = word_of(g, ci, first / 32);
        if (!w)
            return 0;
        uint32_t edge = (w->edge >> (first % 32)) & 0xffff, v = 0;
        for (unsigned i = 0; i < 16; i++)
            if (edge & (1u << i))
                v |= 2u << (2 * i);
        return v;
    }
    if (off >= GICD_IDREGS && off < 0x1000)
        return gic_idregs[(off - GICD_IDREGS) / 4];
    return 0;
}

static uint8_t dist_read_byte(Gicv2 *g, unsigned ci, uint32_t off)
{
    if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 1020) {
        unsigned intid = off - GICD_IPRIORITYR;
        return intid < g->core.nirqs ? *prio_of(g, ci, intid) : 0;
    }
    if (off >= GICD_ITARGETSR && off < GICD_ITARGETSR + 1020) {
        unsigned intid = off - GICD_ITARGETSR;
        if (g->core.ncpus == 1 || intid >= g->core.nirqs)
            return 0; /* uniprocessor: RAZ/WI */
        return intid < GIC_NUM_LOCAL ? (uint8_t)(1u << ci) : g->targets[intid];
    }
    if (off >= GICD_CPENDSGIR && off < GICD_SPENDSGIR + NUM_SGIS)
        return g->cpu[ci].sgi_src[(off - GICD_CPENDSGIR) % NUM_SGIS];
    return 0;
}

static bool byte_register(uint32_t off)
{
    return (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 1020) ||
           (off >= GICD_ITARGETSR && off < GICD_ITARGETSR + 1020) ||
           (off >= GICD_CPENDSGIR && off < GICD_SPENDSGIR + NUM_SGIS);
}

static void send_sgi(Gicv2 *g, unsigned ci, uint32_t v)
{
    unsigned id = v & 0xf, filter = (v >> 24) & 3;
    uint32_t targets;
    switch (filter) {
    case 0: targets = (v >> 16) & 0xff; break;
    case 1: targets = 0xffu & ~(1u << ci); break;
    case 2: targets = 1u << ci; break;
    default: return; /* reserved */
    }
    for (unsigned t = 0; t < g->core.ncpus; t++)
        if (targets & (1u << t))
            g->cpu[t].sgi_src[id] |= (uint8_t)(1u << ci);
}

static void dist_write_word(Gicv2 *g, unsigned ci, uint32_t off, uint32_t v)
{
    if (off == GICD_CTLR) {
        g->ctlr = v & (GICD_CTLR_EN_GRP0 | GICD_CTLR_EN_GRP1);
        return;
    }
    if (off == GICD_SGIR) {
        send_sgi(g, ci, v);
        return;
    }
    if (off >= GICD_IGROUPR && off < GICD_IPRIORITYR) {
        unsigned n = (off & 0x7f) / 4;
        IrqWord *w = word_of(g, ci, n);
        if (!w)
            return;
        uint32_t fixed = n == 0 ? 0xffffu : 0; /* SGI enables: RAO/WI; SGI pending: SGIR */
        switch (off & ~0x7fu) {
        case GICD_IGROUPR: w->group = v; break;
        case GICD_ISENABLER: w->enable |= v; break;
        case GICD_ICENABLER: w->enable &= ~(v & ~fixed); break;
        case GICD_ISPENDR: w->latch |= v & ~fixed; break;
        case GICD_ICPENDR: w->latch &= ~(v & ~fixed); break;
        case GICD_ISACTIVER: w->active |= v; break;
        case GICD_ICACTIVER: w->active &= ~v; break;
        default: break;
        }
        return;
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + 2 * GIC_MAX_WORDS * 4) {
        unsigned first = (off - GICD_ICFGR) * 4;
        IrqWord *w = word_of(g, ci, first / 32);
        if (!w || first < NUM_SGIS)
            return; /* SGIs: always edge-triggered */
        for (unsigned i = 0; i < 16; i++) {
            uint32_t m = 1u << ((first + i) % 32);
            if (v & (2u << (2 * i)))
                w->edge |= m;
            else
                w->edge &= ~m;
        }
    }
}

static void dist_write_byte(Gicv2 *g, unsigned ci, uint32_t off, uint8_t v)
{
    if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 1020) {
        unsigned intid = off - GICD_IPRIORITYR;
        if (intid < g->core.nirqs)
            *prio_of(g, ci, intid) = v;
    } else if (off >= GICD_ITARGETSR && off < GICD_ITARGETSR + 1020) {
        unsigned intid = off - GICD_ITARGETSR;
        if (intid >= GIC_NUM_LOCAL && intid < g->core.nirqs && g->core.ncpus > 1)
            g->targets[intid] = v & (uint8_t)((1u << g->core.ncpus) - 1);
    } else if (off >= GICD_CPENDSGIR && off < GICD_SPENDSGIR) {
        g->cpu[ci].sgi_src[off - GICD_CPENDSGIR] &= (uint8_t)~v;
    } else if (off >= GICD_SPENDSGIR && off < GICD_SPENDSGIR + NUM_SGIS) {
        g->cpu[ci].sgi_src[off - GICD_SPENDSGIR] |= v & (uint8_t)((1u << g->core.ncpus) - 1);
    }
}

uint64_t gicv2_dist_read(Gicv2 *g, unsigned ci, uint64_t offset, unsigned size)
{
    if (ci >= g->core.ncpus || offset >= GICV2_DIST_SIZE || (offset & (size - 1)))
        return 0;
    uint32_t off = (uint32_t)offset, v = 0;
    pthread_mutex_lock(&g->core.lock);
    if (byte_register(off & ~3u) && (size == 1 || size == 4)) {
        for (unsigned i = 0; i < size; i++)
            v |= (uint32_t)dist_read_byte(g, ci, off + i) << (8 * i);
    } else if (size == 4) {
        v = dist_read_word(g, ci, off);
    }
    pthread_mutex_unlock(&g->core.lock);
    return v;
}

void gicv2_dist_write(Gicv2 *g, unsigned ci, uint64_t offset, uint64_t value, unsigned size)
{
    if (ci >= g->core.ncpus || offset >= GICV2_DIST_SIZE || (offset & (size - 1)))
        return;
    uint32_t off = (uint32_t)offset;
    pthread_mutex_lock(&g->core.lock);
    if (byte_register(off & ~3u) && (size == 1 || size == 4)) {
        for (unsigned i = 0; i < size; i++)
            dist_write_byte(g, ci, off + i, (uint8_t)(value >> (8 * i)));
    } else if (size == 4) {
        dist_write_word(g, ci, off, (uint32_t)value);
    }
    gic_update_all(&g->core);
    pthread_mutex_unlock(&g->core.lock);
}

/* ---- CPU interface ---- */

/* The interrupt GICC_IAR would return, without acknowledging it; *h receives the candidate.
 * need_sig: it must also preempt what is active (GICC_IAR), not only pass the mask
 * (GICC_HPPIR). */
static unsigned ack_candidate(Gicv2 *g, unsigned ci, Hppi *h, bool need_sig)
{
    GicCpu *c = &g->cpu[ci];
    *h = highest_pending(g, ci);
    if (h->intid == GICV2_INTID_SPURIOUS)
        return GICV2_INTID_SPURIOUS;
    if (need_sig ? !can_signal(c, h) : h->prio >= c->pmr)
        return GICV2_INTID_SPURIOUS;
    if (h->grp == 1 && !(c->ctlr & GICC_CTLR_ACKCTL))
        return GICV2_INTID_SPURIOUS1;
    return h->intid;
}

static uint32_t acknowledge(Gicv2 *g, unsigned ci)
{
    GicCpu *c = &g->cpu[ci];
    Hppi h;
    unsigned id = ack_candidate(g, ci, &h, true);
    if (id >= GIC_FIRST_SPECIAL)
        return id;
    uint32_t ret = id;
    if (id < NUM_SGIS) {
        unsigned src = (unsigned)__builtin_ctz(c->sgi_src[id]);
        c->sgi_src[id] &= (uint8_t) ~(1u << src);
        ret |= src << 10;
        c->core.local.active |= 1u << id;
    } else {
        IrqWord *w = id < GIC_NUM_LOCAL ? &c->core.local : &g->core.spi[id / 32];
        w->latch &= ~(1u << (id % 32));
        w->active |= 1u << (id % 32);
    }
    unsigned level = group_prio(c, h.prio, h.grp) >> 1;
    c->apr[level / 32] |= 1u << (level % 32);
    return ret;
}

static void deactivate(Gicv2 *g, unsigned ci, unsigned id)
{
    if (id >= g->core.nirqs)
        return;
    IrqWord *w = id < GIC_NUM_LOCAL ? &g->cpu[ci].core.local : &g->core.spi[id / 32];
    w->active &= ~(1u << (id % 32));
}

static void end_of_interrupt(Gicv2 *g, unsigned ci, uint32_t v)
{
    GicCpu *c = &g->cpu[ci];
    unsigned id = v & 0x3ff;
    if (id >= g->core.nirqs)
        return;                        /* spurious or nonexistent: ignored */
    for (unsigned i = 0; i < 4; i++) { /* priority drop: the highest active level */
        if (c->apr[i]) {
            c->apr[i] &= c->apr[i] - 1;
            break;
        }
    }
    if (!(c->ctlr & GICC_CTLR_EOIMODE))
        deactivate(g, ci, id);
}

uint64_t gicv2_cpu_read(Gicv2 *g, unsigned ci, uint64_t offset, unsigned size)
{
    if (ci >= g->core.ncpus || size != 4 || (offset & 3) || offset >= GICV2_CPU_SIZE)
        return 0;
    GicCpu *c = &g->cpu[ci];
    uint32_t v = 0;
    Hppi h;
    pthread_mutex_lock(&g->core.lock);
    switch (offset) {
    case GICC_CTLR: v = c->ctlr; break;
    case GICC_PMR: v = c->pmr; break;
    case GICC_BPR: v = c->bpr; break;
    case GICC_ABPR: v = c->abpr; break;
    case GICC_IAR: v = acknowledge(g, ci); break;
    case GICC_RPR: {
        unsigned rp = running_prio(c);
        v = rp == IDLE_PRIO ? 0xff : rp;
        break;
    }
    case GICC_HPPIR: {
        unsigned id = ack_candidate(g, ci, &h, false);
        v = id;
        if (id < NUM_SGIS)
            v |= (unsigned)__builtin_ctz(c->sgi_src[id]) << 10;
        break;
    }
    case GICC_APR:
    case GICC_APR + 4:
    case GICC_APR + 8:
    case GICC_APR + 12: v = c->apr[(offset - GICC_APR) / 4]; break;
    case GICC_IIDR_OFF: v = GICC_IIDR; break;
    default: break; /* AIAR/AHPPIR, NSAPRn (Security Extensions only), write-only: RAZ */
    }
    if (offset == GICC_IAR)
        gic_update_all(&g->core); /* an SPI it took is no longer a candidate for the others */
    pthread_mutex_unlock(&g->core.lock);
    return v;
}

void gicv2_cpu_write(Gicv2 *g, unsigned ci, uint64_t offset, uint64_t value, unsigned size)
{
    if (ci >= g->core.ncpus || size != 4 || (offset & 3) || offset >= GICV2_CPU_SIZE)
        return;
    GicCpu *c = &g->cpu[ci];
    uint32_t v = (uint32_t)value;
    pthread_mutex_lock(&g->core.lock);
    switch (offset) {
    case GICC_CTLR: c->ctlr = v & GICC_CTLR_MASK; break;
    case GICC_PMR: c->pmr = v & 0xff; break;
    case GICC_BPR: c->bpr = v & 7; break; /* MIN_BPR is 0 */
    case GICC_ABPR: c->abpr = (v & 7) < MIN_ABPR ? MIN_ABPR : (v & 7); break;
    case GICC_EOIR: end_of_interrupt(g, ci, v); break;
    case GICC_DIR:
        if (c->ctlr & GICC_CTLR_EOIMODE)
            deactivate(g, ci, v & 0x3ff);
        break;
    case GICC_APR:
    case GICC_APR + 4:
    case GICC_APR + 8:
    case GICC_APR + 12: c->apr[(offset - GICC_APR) / 4] = v; break;
    default: break;
    }
    gic_update_all(&g->core); /* deactivating an SPI concerns every vCPU it targets */
    pthread_mutex_unlock(&g->core.lock);
}

/* ---- MMIO ---- */

static unsigned self_index(const Gicv2 *g)
{
    unsigned ci = g->who ? g->who(g->who_opaque) : 0;
    return ci < g->core.ncpus ? ci : 0;
}

static uint64_t dist_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    return gicv2_dist_read(opaque, self_index(opaque), offset, size);
}

static void dist_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    gicv2_dist_write(opaque, self_index(opaque), offset, value, size);
}

static uint64_t cpu_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    return gicv2_cpu_read(opaque, self_index(opaque), offset, size);
}

static void cpu_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    gicv2_cpu_write(opaque, self_index(opaque), offset, value, size);
}

const MmioOps gicv2_dist_mmio_ops = { dist_mmio_read, dist_mmio_write };
const MmioOps gicv2_cpu_mmio_ops = { cpu_mmio_read, cpu_mmio_write };

bool gicv2_map(Gicv2 *g, PhysMem *mem, uint64_t dist_base, uint64_t cpu_base, Gicv2WhoFn who,
               void *who_opaque)
{
    g->who = who;
    g->who_opaque = who_opaque;
    return physmem_add_mmio(mem, "gicv2-dist", dist_base, GICV2_DIST_SIZE, &gicv2_dist_mmio_ops,
                            g) &&
           physmem_add_mmio(mem, "gicv2-cpu", cpu_base, GICV2_CPU_SIZE, &gicv2_cpu_mmio_ops, g);
}
