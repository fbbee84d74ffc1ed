/* SPDX-License-Identifier: MIT */
/*
 * Arm GICv3: distributor, redistributors and the system-register CPU interface (Arm IHI 0069).
 * The subset is described in arm-gicv3.h.
 *
 * State is kept as 32-interrupt words of bits (IrqWord): the distributor has one per 32 SPIs,
 * each redistributor one for its SGIs and PPIs. An interrupt is pending when its pending latch
 * is set (edge seen, ISPENDR write, SGI) or, if level-sensitive, while its input line is high.
 * Every change recomputes each vCPU's highest-priority pending interrupt and output levels.
 */
#include "devices/arm-gicv3.h"

#include "devices/arm-gic-common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PRIO_BITS 5
#define PRIO_MASK 0xf8u /* implemented priority bits */
#define IDLE_PRIO 0xffu
#define MIN_BPR0  (7 - PRIO_BITS) /* group priority = the 5 implemented bits */
#define MIN_BPR1  (MIN_BPR0 + 1)
#define NO_TARGET 0xffffu

/* GICD_CTLR (single Security state view) */
#define GICD_CTLR_EN_GRP0 (1u << 0)
#define GICD_CTLR_EN_GRP1 (1u << 1)
#define GICD_CTLR_ARE     (1u << 4)
#define GICD_CTLR_DS      (1u << 6)

/* ICC_CTLR_EL1 */
#define ICC_CTLR_CBPR    (1u << 0)
#define ICC_CTLR_EOIMODE (1u << 1)
#define ICC_CTLR_PRIBITS ((PRIO_BITS - 1u) << 8)
#define ICC_SRE_VALUE    0x7u /* SRE, DFB, DIB: system registers only */

/* GICR_WAKER */
#define WAKER_PROCESSOR_SLEEP (1u << 1)
#define WAKER_CHILDREN_ASLEEP (1u << 2)

#define GIC_IIDR              0x0000043bu /* implementer Arm, product 0, revision 0 */

/* Distributor register offsets */
enum {
    GICD_CTLR = 0x0000,
    GICD_TYPER = 0x0004,
    GICD_IIDR = 0x0008,
    GICD_IGROUPR = 0x0080,
    GICD_ISENABLER = 0x0100,
    GICD_ICENABLER = 0x0180,
    GICD_ISPENDR = 0x0200,
    GICD_ICPENDR = 0x0280,
    GICD_ISACTIVER = 0x0300,
    GICD_ICACTIVER = 0x0380,
    GICD_IPRIORITYR = 0x0400,
    GICD_ICFGR = 0x0c00,
    GICD_IROUTER = 0x6000,
    GICD_IROUTER_END = 0x8000,
    GIC_IDREGS = 0xffd0,
};

/* Redistributor register offsets: RD_base frame, then SGI_base frame */
enum {
    GICR_CTLR = 0x0000,
    GICR_IIDR = 0x0004,
    GICR_TYPER = 0x0008,
    GICR_WAKER = 0x0014,
    GICR_SGI_BASE = 0x10000,
    GICR_IGROUPR0 = 0x0080,
    GICR_ISENABLER0 = 0x0100,
    GICR_ICENABLER0 = 0x0180,
    GICR_ISPENDR0 = 0x0200,
    GICR_ICPENDR0 = 0x0280,
    GICR_ISACTIVER0 = 0x0300,
    GICR_ICACTIVER0 = 0x0380,
    GICR_IPRIORITYR = 0x0400,
    GICR_ICFGR0 = 0x0c00,
    GICR_ICFGR1 = 0x0c04,
};

/*
 * PIDR4..7, PIDR0..3, CIDR0..3 at 0xffd0..: an Arm part (JEP106 0x43b), PIDR2.ArchRev 3
 * (GICv3). The part numbers are GIC-500's distributor (0x492) and redistributor (0x493),
 * the values QEMU's virt board shows, and consistent with GICD_IIDR (Arm, r0p0).
 */
static const uint8_t gic_idregs[12] = { 0x44, 0x00, 0x00, 0x00, 0x92, 0xb4,
                                        0x3b, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };
#define GICR_PIDR0 0x93

typedef struct GicCpu {
    GicCpuCore core; /* the redistributor's INTIDs 0..31, outputs */
    /* Redistributor */
    uint8_t prio[GIC_NUM_LOCAL];
    uint32_t waker;
    /* CPU interface */
    uint32_t pmr, bpr[2], ctlr, igrpen[2], apr[2];
} GicCpu;

struct Gicv3 {
    GicCore core;  /* lock, sizes, SPI words */
    uint32_t ctlr; /* EnableGrp0, EnableGrp1 */
    uint8_t prio[GIC_MAX_WORDS * 32];
    uint64_t irouter[GIC_MAX_WORDS * 32];
    uint16_t target[GIC_MAX_WORDS * 32]; /* vCPU index IROUTER names, or NO_TARGET */
    GicCpu *cpu;
};

/* ---- Helpers ---- */

uint64_t gicv3_mpidr_affinity(unsigned cpu)
{
    return ((uint64_t)(cpu / 16) << 8) | (cpu % 16);
}

static unsigned affinity_to_cpu(const Gicv3 *g, uint64_t aff)
{
    /* IROUTER / SGI affinity: Aff3 [39:32], Aff2 [23:16], Aff1 [15:8], Aff0 [7:0] */
    unsigned aff0 = aff & 0xff, aff1 = (aff >> 8) & 0xff;
    if (((aff >> 16) & 0xff) || ((aff >> 32) & 0xff) || aff0 >= 16)
        return NO_TARGET;
    unsigned cpu = aff1 * 16 + aff0;
    return cpu < g->core.ncpus ? cpu : NO_TARGET;
}

static IrqWord *irq_word(Gicv3 *g, unsigned cpu, unsigned intid)
{
    return intid < GIC_NUM_LOCAL ? &g->cpu[cpu].core.local : &g->core.spi[intid / 32];
}

/* Interrupts of a word that may be signalled: pending, enabled, inactive, group enabled. */
static uint32_t candidates(const Gicv3 *g, const IrqWord *w)
{
    uint32_t grp = 0;
    if (g->ctlr & GICD_CTLR_EN_GRP0)
        grp |= ~w->group;
    if (g->ctlr & GICD_CTLR_EN_GRP1)
        grp |= w->group;
    return gic_pending(w) & w->enable & ~w->active & grp;
}

static Hppi highest_pending(Gicv3 *g, unsigned ci)
{
    Hppi best = { GICV3_INTID_SPURIOUS, 0x100, 0 };
    GicCpu *c = &g->cpu[ci];

    uint32_t bits = candidates(g, &c->core.local);
    while (bits) {
        unsigned i = (unsigned)__builtin_ctz(bits);
        bits &= bits - 1;
        gic_consider(&best, i, c->prio[i], (c->core.local.group >> i) & 1);
    }
    for (unsigned w = 1; w < g->core.nwords; w++) {
        bits = candidates(g, &g->core.spi[w]);
        while (bits) {
            unsigned i = w * 32 + (unsigned)__builtin_ctz(bits);
            bits &= bits - 1;
            if (g->target[i] == ci)
                gic_consider(&best, i, g->prio[i], (g->core.spi[w].group >> (i % 32)) & 1);
        }
    }
    return best;
}

/* Mask selecting the group priority of a priority in group grp (BPR0, BPR1 or CBPR). */
static uint32_t gprio_mask(const GicCpu *c, unsigned grp)
{
    unsigned bpr;
    if (grp == 1 && !(c->ctlr & ICC_CTLR_CBPR))
        bpr = c->bpr[1] - 1; /* BPR1 n splits like BPR0 n - 1 */
    else
        bpr = c->bpr[0];
    return (0xffu << (bpr + 1)) & 0xffu;
}

/* Running priority: the highest active group priority, IDLE_PRIO when nothing is active. */
static unsigned running_prio(const GicCpu *c)
{
    uint32_t ap = c->apr[0] | c->apr[1];
    return ap ? (unsigned)__builtin_ctz(ap) << (8 - PRIO_BITS) : IDLE_PRIO;
}

/* Whether the CPU interface signals h to the PE: priority mask, group enable, preemption. */
static bool can_signal(const GicCpu *c, const Hppi *h)
{
    if (h->intid == GICV3_INTID_SPURIOUS || h->prio >= c->pmr || !(c->igrpen[h->grp] & 1))
        return false;
    unsigned rp = running_prio(c);
    uint32_t mask = gprio_mask(c, h->grp);
    return rp == IDLE_PRIO || (h->prio & mask) < (rp & mask);
}

static void update_cpu(Gicv3 *g, unsigned ci)
{
    GicCpu *c = &g->cpu[ci];
    Hppi h = highest_pending(g, ci);
    bool sig = can_signal(c, &h);
    gic_output(&g->core, ci, sig && h.grp == 1, sig && h.grp == 0);
}

/* After a change to interrupt intid made through vCPU ci: ci's view and, for an SPI, the view
 * of the vCPU it is routed to. */
static void update_intid(Gicv3 *g, unsigned ci, unsigned intid)
{
    update_cpu(g, ci);
    if (intid >= GIC_NUM_LOCAL && intid < g->core.nirqs && g->target[intid] != NO_TARGET &&
        g->target[intid] != ci)
        update_cpu(g, g->target[intid]);
}

/* ---- Life cycle ---- */

static void reset_locked(Gicv3 *g)
{
    g->ctlr = 0;
    gic_reset_spis(&g->core);
    memset(g->prio, 0, sizeof(g->prio));
    memset(g->irouter, 0, sizeof(g->irouter));
    for (unsigned i = 0; i < GIC_MAX_WORDS * 32; i++)
        g->target[i] = 0; /* IROUTER 0 names vCPU 0 */
    for (unsigned i = 0; i < g->core.ncpus; i++) {
        GicCpu *c = &g->cpu[i];
        c->core.local.group = c->core.local.enable = c->core.local.latch = c->core.local.active = 0;
        c->core.local.edge = 0xffff; /* SGIs are always edge-triggered; PPIs reset level */
        memset(c->prio, 0, sizeof(c->prio));
        c->waker = WAKER_PROCESSOR_SLEEP;
        c->pmr = 0;
        c->bpr[0] = MIN_BPR0;
        c->bpr[1] = MIN_BPR1;
        c->ctlr = 0;
        c->igrpen[0] = c->igrpen[1] = 0;
        c->apr[0] = c->apr[1] = 0;
    }
}

static void model_reset(GicCore *core)
{
    reset_locked((Gicv3 *)core);
}

static void model_update_cpu(GicCore *core, unsigned cpu)
{
    update_cpu((Gicv3 *)core, cpu);
}

/* An SPI is signalled to the one vCPU its IROUTER names, if any. */
static void model_spi_changed(GicCore *core, unsigned intid)
{
    Gicv3 *g = (Gicv3 *)core;
    unsigned t = g->target[intid];
    if (t != NO_TARGET)
        update_cpu(g, t);
}

static const GicModel gicv3_model = {
    .reset = model_reset,
    .update_cpu = model_update_cpu,
    .spi_changed = model_spi_changed,
};

Gicv3 *gicv3_new(unsigned ncpus, unsigned nspis)
{
    if (ncpus == 0 || ncpus > GICV3_MAX_CPUS || nspis == 0 || nspis % 32 || nspis > GICV3_MAX_SPIS)
        return NULL;
    Gicv3 *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->cpu = calloc(ncpus, sizeof(*g->cpu));
    if (!g->cpu) {
        free(g);
        return NULL;
    }
    gic_core_init(&g->core, &gicv3_model, ncpus, nspis, g->cpu, sizeof(g->cpu[0]));
    reset_locked(g);
    return g;
}

void gicv3_free(Gicv3 *g)
{
    if (!g)
        return;
    gic_core_destroy(&g->core);
    free(g->cpu);
    free(g);
}

void gicv3_reset(Gicv3 *g)
{
    gic_core_reset(&g->core);
}

unsigned gicv3_ncpus(const Gicv3 *g)
{
    return g->core.ncpus;
}

unsigned gicv3_nspis(const Gicv3 *g)
{
    return g->core.nspis;
}

void gicv3_set_output(Gicv3 *g, unsigned cpu, Gicv3OutputFn fn, void *opaque)
{
    gic_core_set_output(&g->core, cpu, fn, opaque);
}

void gicv3_sync_cpu(Gicv3 *g, unsigned cpu)
{
    gic_core_sync_cpu(&g->core, cpu);
}

/* ---- Input lines ---- */

void gicv3_set_spi(Gicv3 *g, unsigned spi, bool level)
{
    gic_core_set_spi(&g->core, spi, level);
}

void gicv3_set_ppi(Gicv3 *g, unsigned cpu, unsigned ppi, bool level)
{
    gic_core_set_ppi(&g->core, cpu, ppi, level);
}

/* ---- CPU interface ---- */

static void activate(Gicv3 *g, unsigned ci, const Hppi *h)
{
    GicCpu *c = &g->cpu[ci];
    IrqWord *w = irq_word(g, ci, h->intid);
    uint32_t m = 1u << (h->intid % 32);

    w->active |= m;
    w->latch &= ~m; /* a level-sensitive line that stays high keeps it pending */
    unsigned gp = h->prio & gprio_mask(c, h->grp);
    c->apr[h->grp] |= 1u << (gp >> (8 - PRIO_BITS));
}

static uint64_t acknowledge(Gicv3 *g, unsigned ci, unsigned grp)
{
    GicCpu *c = &g->cpu[ci];
    Hppi h = highest_pending(g, ci);
    if (h.grp != grp || !can_signal(c, &h))
        return GICV3_INTID_SPURIOUS;
    activate(g, ci, &h);
    update_intid(g, ci, h.intid);
    return h.intid;
}

static void deactivate(Gicv3 *g, unsigned ci, unsigned intid)
{
    if (intid >= g->core.nirqs)
        return;
    irq_word(g, ci, intid)->active &= ~(1u << (intid % 32));
}

/* Priority drop for an EOI of group grp; false when grp's priority is not the running one. */
static bool drop_priority(GicCpu *c, unsigned grp)
{
    uint32_t ap = c->apr[0] | c->apr[1];
    if (!ap)
        return false;
    uint32_t lowest = ap & -ap;
    unsigned highest_grp = (c->apr[0] & lowest) ? 0 : 1;
    if (highest_grp != grp)
        return false;
    c->apr[grp] &= ~lowest;
    return true;
}

static void end_of_interrupt(Gicv3 *g, unsigned ci, unsigned grp, uint64_t val)
{
    GicCpu *c = &g->cpu[ci];
    unsigned intid = val & 0xffffff;
    if (intid >= g->core.nirqs) /* special INTIDs 1020..1023 and ids that do not exist */
        return;
    if (!drop_priority(c, grp))
        return;
    if (!(c->ctlr & ICC_CTLR_EOIMODE))
        deactivate(g, ci, intid);
    update_intid(g, ci, intid);
}

static void generate_sgi(Gicv3 *g, unsigned self, uint64_t val, bool group0_only)
{
    unsigned intid = (val >> 24) & 0xf;
    bool irm = (val >> 40) & 1;
    uint16_t targets = val & 0xffff;
    unsigned rs = (val >> 44) & 0xf;
    uint64_t aff_hi = ((val >> 16) & 0xff) | (((val >> 32) & 0xff) << 8) |
                      (((val >> 48) & 0xff) << 16); /* Aff1, Aff2, Aff3 */

    for (unsigned t = 0; t < g->core.ncpus; t++) {
        if (irm) {
            if (t == self)
                continue;
        } else {
            if (rs != 0 || aff_hi != (t / 16) || !((targets >> (t % 16)) & 1))
                continue;
        }
        GicCpu *c = &g->cpu[t];
        bool g1 = (c->core.local.group >> intid) & 1;
        if (group0_only && g1)
            continue;
        c->core.local.latch |= 1u << intid;
        update_cpu(g, t);
    }
}

bool gicv3_cpuif_read(Gicv3 *g, unsigned cpu, unsigned sysreg, uint64_t *val)
{
    if (cpu >= g->core.ncpus)
        return false;
    bool ok = true;
    uint64_t v = 0;
    pthread_mutex_lock(&g->core.lock);
    GicCpu *c = &g->cpu[cpu];
    switch (sysreg) {
    case ICC_PMR_EL1: v = c->pmr; break;
    case ICC_IAR0_EL1: v = acknowledge(g, cpu, 0); break;
    case ICC_IAR1_EL1: v = acknowledge(g, cpu, 1); break;
    case ICC_HPPIR0_EL1:
    case ICC_HPPIR1_EL1: {
        Hppi h = highest_pending(g, cpu);
        v = h.grp == (sysreg == ICC_HPPIR1_EL1) ? h.intid : GICV3_INTID_SPURIOUS;
        break;
    }
    case ICC_BPR0_EL1: v = c->bpr[0]; break;
    case ICC_BPR1_EL1:
        v = (c->ctlr & ICC_CTLR_CBPR) ? (c->bpr[0] + 1 > 7 ? 7 : c->bpr[0] + 1) : c->bpr[1];
        break;
    case ICC_AP0R_EL1(0): v = c->apr[0]; break;
    case ICC_AP1R_EL1(0): v = c->apr[1]; break;
    case ICC_RPR_EL1: v = running_prio(c); break;
    case ICC_CTLR_EL1: v = c->ctlr | ICC_CTLR_PRIBITS; break;
    case ICC_SRE_EL1: v = ICC_SRE_VALUE; break;
    case ICC_IGRPEN0_EL1: v = c->igrpen[0]; break;
    case ICC_IGRPEN1_EL1: v = c->igrpen[1]; break;
    default: ok = false; break; /* write-only (EOIR, DIR, SGI*R) or not ours */
    }
    pthread_mutex_unlock(&g->core.lock);
    if (ok)
        *val = v;
    return ok;
}

bool gicv3_cpuif_write(Gicv3 *g, unsigned cpu, unsigned sysreg, uint64_t val)
{
    if (cpu >= g->core.ncpus)
        return false;
    bool ok = true;
    pthread_mutex_lock(&g->core.lock);
    GicCpu *c = &g->cpu[cpu];
    switch (sysreg) {
    case ICC_PMR_EL1:
        c->pmr = val & PRIO_MASK;
        update_cpu(g, cpu);
        break;
    case ICC_EOIR0_EL1: end_of_interrupt(g, cpu, 0, val); break;
    case ICC_EOIR1_EL1: end_of_interrupt(g, cpu, 1, val); break;
    case ICC_DIR_EL1:
        /* With EOImode 0 a DIR write is UNPREDICTABLE; we ignore it. */
        if (c->ctlr & ICC_CTLR_EOIMODE) {
            deactivate(g, cpu, val & 0xffffff);
            update_intid(g, cpu, val & 0xffffff);
        }
        break;
    case ICC_BPR0_EL1:
        c->bpr[0] = (val & 7) < MIN_BPR0 ? MIN_BPR0 : (val & 7);
        update_cpu(g, cpu);
        break;
    case ICC_BPR1_EL1:
        if (!(c->ctlr & ICC_CTLR_CBPR))
            c->bpr[1] = (val & 7) < MIN_BPR1 ? MIN_BPR1 : (val & 7);
        update_cpu(g, cpu);
        break;
    case ICC_AP0R_EL1(0):
        c->apr[0] = (uint32_t)val;
        update_cpu(g, cpu);
        break;
    case ICC_AP1R_EL1(0):
        c->apr[1] = (uint32_t)val;
        update_cpu(g, cpu);
        break;
    case ICC_CTLR_EL1:
        c->ctlr = val & (ICC_CTLR_CBPR | ICC_CTLR_EOIMODE);
        update_cpu(g, cpu);
        break;
    case ICC_SRE_EL1: break; /* SRE, DFB, DIB are RAO/WI */
    case ICC_IGRPEN0_EL1:
        c->igrpen[0] = val & 1;
        update_cpu(g, cpu);
        break;
    case ICC_IGRPEN1_EL1:
        c->igrpen[1] = val & 1;
        update_cpu(g, cpu);
        break;
    case ICC_SGI1R_EL1: generate_sgi(g, cpu, val, false); break;
    case ICC_SGI0R_EL1:
    case ICC_ASGI1R_EL1: generate_sgi(g, cpu, val, true); break;
    default: ok = false; break; /* read-only (IAR, HPPIR, RPR) or not ours */
    }
    pthread_mutex_unlock(&g->core.lock);
    return ok;
}

/* ---- Bit-array registers shared by the distributor and the SGI frame ---- */

enum BitReg {
    BR_GROUP,
    BR_SETENABLE,
    BR_CLRENABLE,
    BR_SETPEND,
    BR_CLRPEND,
    BR_SETACTIVE,
    BR_CLRACTIVE,
    BR_NONE
};

static enum BitReg bit_reg(uint64_t off)
{
    if (off < GICD_IGROUPR || off >= GICD_IPRIORITYR)
        return BR_NONE;
    return (enum BitReg)((off - GICD_IGROUPR) / 0x80);
}

static uint32_t bit_reg_read(const IrqWord *w, enum BitReg r)
{
    switch (r) {
    case BR_GROUP: return w->group;
    case BR_SETENABLE:
    case BR_CLRENABLE: return w->enable;
    case BR_SETPEND:
    case BR_CLRPEND: return gic_pending(w);
    case BR_SETACTIVE:
    case BR_CLRACTIVE: return w->active;
    default: return 0;
    }
}

static void bit_reg_write(IrqWord *w, enum BitReg r, uint32_t v)
{
    switch (r) {
    case BR_GROUP: w->group = v; break;
    case BR_SETENABLE: w->enable |= v; break;
    case BR_CLRENABLE: w->enable &= ~v; break;
    case BR_SETPEND: w->latch |= v; break;
    case BR_CLRPEND: w->latch &= ~v; break; /* a high level-sensitive line stays pending */
    case BR_SETACTIVE: w->active |= v; break;
    case BR_CLRACTIVE: w->active &= ~v; break;
    default: break;
    }
}

static uint32_t id_reg(uint64_t off, bool redist)
{
    if (redist && off == GIC_IDREGS + 0x10)
        return GICR_PIDR0;
    return gic_idregs[(off - GIC_IDREGS) / 4];
}

/* ---- Distributor ---- */

/* ITLinesNumber; CPUNumber 0 (it counts PEs usable with ARE = 0, which we do not have);
 * IDbits 16; No1N. SecurityExtn, LPIS, MBIS, A3V, RSS, ESPI are 0. */
static uint32_t dist_typer(const Gicv3 *g)
{
    return (g->core.nwords - 1) | (15u << 19) | (1u << 25);
}

static void write_irouter(Gicv3 *g, unsigned intid, uint64_t v)
{
    /* Aff3 [39:32], Aff2..Aff0 [23:0]; IRM (bit 31) is RAZ/WI since No1N = 1 */
    v &= 0xff00ffffffull;
    g->irouter[intid] = v;
    g->target[intid] = (uint16_t)affinity_to_cpu(g, v);
}

static uint64_t dist_read_locked(Gicv3 *g, uint64_t off, unsigned size)
{
    if (off >= GICD_IROUTER && off < GICD_IROUTER_END) {
        unsigned intid = (unsigned)((off - GICD_IROUTER) / 8);
        if (intid < GIC_NUM_LOCAL || intid >= g->core.nirqs)
            return 0;
        if (size == 8 && !(off & 7))
            return g->irouter[intid];
        if (size == 4)
            return (uint32_t)(g->irouter[intid] >> (off & 4 ? 32 : 0));
        return 0;
    }
    if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 0x400) {
        unsigned intid = (unsigned)(off - GICD_IPRIORITYR);
        if (size != 1 && size != 4)
            return 0;
        uint64_t v = 0;
        for (unsigned i = 0; i < size; i++)
            if (intid + i >= GIC_NUM_LOCAL && intid + i < g->core.nirqs)
                v |= (uint64_t)g->prio[intid + i] << (8 * i);
        return v;
    }
    if (size != 4)
        return 0;
    enum BitReg br = bit_reg(off);
    if (br != BR_NONE) {
        unsigned w = (unsigned)((off & 0x7f) / 4);
        return w == 0 || w >= g->core.nwords ? 0 : bit_reg_read(&g->core.spi[w], br);
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + 0x100) {
        unsigned first = (unsigned)((off - GICD_ICFGR) / 4 * 16);
        if (first < GIC_NUM_LOCAL || first >= g->core.nirqs)
            return 0;
        uint32_t edge = g->core.spi[first / 32].edge >> (first % 32), v = 0;
        for (unsigned i = 0; i < 16; i++)
            v |= ((edge >> i) & 1u) << (2 * i + 1);
        return v;
    }
    if (off >= GIC_IDREGS && off < GICV3_DIST_SIZE)
        return id_reg(off, false);
    switch (off) {
    case GICD_CTLR: return g->ctlr | GICD_CTLR_ARE | GICD_CTLR_DS;
    case GICD_TYPER: return dist_typer(g);
    case GICD_IIDR: return GIC_IIDR;
    default: return 0; /* TYPER2, STATUSR, legacy and absent registers: RAZ */
    }
}

static void dist_write_locked(Gicv3 *g, uint64_t off, uint64_t val, unsigned size)
{
    if (off >= GICD_IROUTER && off < GICD_IROUTER_END) {
        unsigned intid = (unsigned)((off - GICD_IROUTER) / 8);
        if (intid < GIC_NUM_LOCAL || intid >= g->core.nirqs)
            return;
        if (size == 8 && !(off & 7))
            write_irouter(g, intid, val);
        else if (size == 4 && (off & 4))
            write_irouter(g, intid, (g->irouter[intid] & 0xffffffffu) | (val << 32));
        else if (size == 4)
            write_irouter(g, intid, (g->irouter[intid] & ~0xffffffffull) | (uint32_t)val);
        return;
    }
    if (off >= GICD_IPRIORITYR && off < GICD_IPRIORITYR + 0x400) {
        unsigned intid = (unsigned)(off - GICD_IPRIORITYR);
        if (size != 1 && size != 4)
            return;
        for (unsigned i = 0; i < size; i++)
            if (intid + i >= GIC_NUM_LOCAL && intid + i < g->core.nirqs)
                g->prio[intid + i] = (uint8_t)(val >> (8 * i)) & PRIO_MASK;
        return;
    }
    if (size != 4)
        return;
    uint32_t v = (uint32_t)val;
    enum BitReg br = bit_reg(off);
    if (br != BR_NONE) {
        unsigned w = (unsigned)((off & 0x7f) / 4);
        if (w != 0 && w < g->core.nwords)
            bit_reg_write(&g->core.spi[w], br, v);
        return;
    }
    if (off >= GICD_ICFGR && off < GICD_ICFGR + 0x100) {
        unsigned first = (unsigned)((off - GICD_ICFGR) / 4 * 16);
        if (first < GIC_NUM_LOCAL || first >= g->core.nirqs)
            return;
        IrqWord *w = &g->core.spi[first / 32];
        for (unsigned i = 0; i < 16; i++) {
            uint32_t m = 1u << ((first + i) % 32);
            w->edge = (v >> (2 * i + 1)) & 1 ? w->edge | m : w->edge & ~m;
        }
        return;
    }
    if (off == GICD_CTLR)
        g->ctlr = v & (GICD_CTLR_EN_GRP0 | GICD_CTLR_EN_GRP1);
}

static uint64_t dist_read(void *opaque, uint64_t off, unsigned size)
{
    Gicv3 *g = opaque;
    if (size == 0 || (size & (size - 1)) || (off & (size - 1)) || off >= GICV3_DIST_SIZE)
        return 0;
    pthread_mutex_lock(&g->core.lock);
    uint64_t v = dist_read_locked(g, off, size);
    pthread_mutex_unlock(&g->core.lock);
    return v;
}

static void dist_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Gicv3 *g = opaque;
    if (size == 0 || (size & (size - 1)) || (off & (size - 1)) || off >= GICV3_DIST_SIZE)
        return;
    pthread_mutex_lock(&g->core.lock);
    dist_write_locked(g, off, val, size);
    gic_update_all(&g->core);
    pthread_mutex_unlock(&g->core.lock);
}

const MmioOps gicv3_dist_mmio_ops = {
    .read = dist_read,
    .write = dist_write,
};

/* ---- Redistributors ---- */

static uint64_t redist_typer(const Gicv3 *g, unsigned ci)
{
    bool last = ci == g->core.ncpus - 1;
    return (gicv3_mpidr_affinity(ci) << 32) | ((uint64_t)ci << 8) | ((uint64_t)last << 4);
}

static uint64_t rd_read(Gicv3 *g, unsigned ci, uint64_t off, unsigned size)
{
    GicCpu *c = &g->cpu[ci];
    if (off == GICR_TYPER && size == 8)
        return redist_typer(g, ci);
    if (size != 4)
        return 0;
    if (off >= GIC_IDREGS && off < GICR_SGI_BASE)
        return id_reg(off, true);
    switch (off) {
    case GICR_IIDR: return GIC_IIDR;
    case GICR_TYPER: return (uint32_t)redist_typer(g, ci);
    case GICR_TYPER + 4: return (uint32_t)(redist_typer(g, ci) >> 32);
    case GICR_WAKER:
        return c->waker | ((c->waker & WAKER_PROCESSOR_SLEEP) ? WAKER_CHILDREN_ASLEEP : 0);
    default: return 0; /* CTLR (no LPIs, RWP 0), STATUSR, PROPBASER, PENDBASER: RAZ */
    }
}

static uint64_t sgi_read(Gicv3 *g, unsigned ci, uint64_t off, unsigned size)
{
    GicCpu *c = &g->cpu[ci];
    if (off >= GICR_IPRIORITYR && off < GICR_IPRIORITYR + GIC_NUM_LOCAL) {
        if (size != 1 && size != 4)
            return 0;
        uint64_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= (uint64_t)c->prio[off - GICR_IPRIORITYR + i] << (8 * i);
        return v;
    }
    if (size != 4)
        return 0;
    enum BitReg br = bit_reg(off);
    if (br != BR_NONE)
        return (off & 0x7f) == 0 ? bit_reg_read(&c->core.local, br) : 0;
    if (off == GICR_ICFGR0 || off == GICR_ICFGR1) {
        uint32_t edge = c->core.local.edge >> (off == GICR_ICFGR1 ? 16 : 0), v = 0;
        for (unsigned i = 0; i < 16; i++)
            v |= ((edge >> i) & 1u) << (2 * i + 1);
        return v;
    }
    return 0; /* IGRPMODR0, NSACR: RAZ/WI with DS = 1 */
}

static void rd_write(Gicv3 *g, unsigned ci, uint64_t off, uint64_t val, unsigned size)
{
    if (off == GICR_WAKER && size == 4)
        g->cpu[ci].waker = val & WAKER_PROCESSOR_SLEEP;
}

static void sgi_write(Gicv3 *g, unsigned ci, uint64_t off, uint64_t val, unsigned size)
{
    GicCpu *c = &g->cpu[ci];
    if (off >= GICR_IPRIORITYR && off < GICR_IPRIORITYR + GIC_NUM_LOCAL) {
        if (size != 1 && size != 4)
            return;
        for (unsigned i = 0; i < size; i++)
            c->prio[off - GICR_IPRIORITYR + i] = (uint8_t)(val >> (8 * i)) & PRIO_MASK;
        return;
    }
    if (size != 4)
        return;
    enum BitReg br = bit_reg(off);
    if (br != BR_NONE) {
        if ((off & 0x7f) == 0)
            bit_reg_write(&c->core.local, br, (uint32_t)val);
        return;
    }
    if (off == GICR_ICFGR1) {
        /* SGIs (ICFGR0) are fixed edge; PPI trigger modes are programmable here. */
        uint32_t edge = 0;
        for (unsigned i = 0; i < 16; i++)
            edge |= (uint32_t)((val >> (2 * i + 1)) & 1) << i;
        c->core.local.edge = (c->core.local.edge & 0xffff) | (edge << 16);
    }
}

/* Split a redistributor offset into the vCPU and the offset in its two frames. */
static bool redist_decode(const Gicv3 *g, uint64_t off, unsigned size, unsigned *ci,
                          uint64_t *frame_off)
{
    if (size == 0 || (size & (size - 1)) || (off & (size - 1)) ||
        off >= gicv3_redist_size(g->core.ncpus))
        return false;
    *ci = (unsigned)(off / GICV3_REDIST_STRIDE);
    *frame_off = off % GICV3_REDIST_STRIDE;
    return true;
}

static uint64_t redist_read(void *opaque, uint64_t off, unsigned size)
{
    Gicv3 *g = opaque;
    unsigned ci;
    uint64_t r, v;
    if (!redist_decode(g, off, size, &ci, &r))
        return 0;
    pthread_mutex_lock(&g->core.lock);
    v = r < GICR_SGI_BASE ? rd_read(g, ci, r, size) : sgi_read(g, ci, r - GICR_SGI_BASE, size);
    pthread_mutex_unlock(&g->core.lock);
    return v;
}

static void redist_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Gicv3 *g = opaque;
    unsigned ci;
    uint64_t r;
    if (!redist_decode(g, off, size, &ci, &r))
        return;
    pthread_mutex_lock(&g->core.lock);
    if (r < GICR_SGI_BASE)
        rd_write(g, ci, r, val, size);
    else
        sgi_write(g, ci, r - GICR_SGI_BASE, val, size);
    update_cpu(g, ci);
    pthread_mutex_unlock(&g->core.lock);
}

const MmioOps gicv3_redist_mmio_ops = {
    .read = redist_read,
    .write = redist_write,
};

bool gicv3_map(Gicv3 *g, PhysMem *mem, uint64_t dist_base, uint64_t redist_base)
{
    return physmem_add_mmio(mem, "gicv3.dist", dist_base, GICV3_DIST_SIZE, &gicv3_dist_mmio_ops,
                            g) &&
           physmem_add_mmio(mem, "gicv3.redist", redist_base, gicv3_redist_size(g->core.ncpus),
                            &gicv3_redist_mmio_ops, g);
}
