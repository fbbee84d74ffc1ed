/* SPDX-License-Identifier: MIT */
/*
 * What both GIC models (arm-gicv2.c, arm-gicv3.c) share: interrupts kept as 32-bit words of
 * state (IrqWord), the lock, the sizes, the SPI words, each vCPU's banked INTIDs 0..31 and its
 * IRQ/FIQ outputs, and the entry points that only drive those: output callbacks, input lines,
 * system reset. What differs (the highest-priority pending interrupt, routing, the registers)
 * stays in the model and is reached through GicModel.
 */
#ifndef VESSEL_ARM_GIC_COMMON_H
#define VESSEL_ARM_GIC_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GIC_NUM_LOCAL     32    /* SGIs and PPIs: INTIDs 0..31, banked per vCPU */
#define GIC_MAX_WORDS     32    /* 1024 INTIDs */
#define GIC_FIRST_SPECIAL 1020u /* INTIDs 1020..1023 are special */

typedef struct IrqWord {
    uint32_t group; /* 1: Group 1, 0: Group 0 */
    uint32_t enable;
    uint32_t latch; /* pending latch: edge, ISPENDR, SGI */
    uint32_t active;
    uint32_t level; /* input lines */
    uint32_t edge;  /* 1: edge-triggered */
} IrqWord;

/* An input line changed: a rising edge of an edge-triggered interrupt latches it pending; a
 * level-sensitive one is pending while its line is high. */
static inline void gic_set_line(IrqWord *w, unsigned bit, bool level)
{
    uint32_t m = 1u << bit;
    bool old = w->level & m;
    if (level)
        w->level |= m;
    else
        w->level &= ~m;
    if ((w->edge & m) && level && !old)
        w->latch |= m;
}

/* Pending: latched, or level-sensitive with the line high. */
static inline uint32_t gic_pending(const IrqWord *w)
{
    return w->latch | (w->level & ~w->edge);
}

/* The highest-priority pending interrupt found so far by a scan. */
typedef struct Hppi {
    unsigned intid, prio, grp; /* intid 1023 (spurious) when none */
} Hppi;

static inline void gic_consider(Hppi *best, unsigned intid, unsigned prio, unsigned grp)
{
    /* Ties go to the lowest INTID (IMPLEMENTATION DEFINED); callers scan upwards. */
    if (prio < best->prio) {
        best->intid = intid;
        best->prio = prio;
        best->grp = grp;
    }
}

/* The IRQ and FIQ levels of one vCPU changed (the models' Gicv2OutputFn/Gicv3OutputFn). */
typedef void (*GicOutputFn)(void *opaque, unsigned cpu, bool irq, bool fiq);

/* The shared part of a vCPU's state: each model's per-vCPU struct starts with it. */
typedef struct GicCpuCore {
    IrqWord local; /* INTIDs 0..31 */
    bool irq, fiq; /* output levels */
    GicOutputFn fn;
    void *opaque;
} GicCpuCore;

typedef struct GicCore GicCore;

/* What differs between the models. Called with the lock held. */
typedef struct GicModel {
    /* Every register to its reset value; input line levels are kept. */
    void (*reset)(GicCore *core);
    /* Recompute vCPU cpu's output levels (and report them with gic_output). */
    void (*update_cpu)(GicCore *core, unsigned cpu);
    /* The line of SPI intid changed: update the vCPUs it may be signalled to. */
    void (*spi_changed)(GicCore *core, unsigned intid);
} GicModel;

/* The shared part of a GIC: each model's struct starts with it. */
struct GicCore {
    pthread_mutex_t lock; /* guards the whole model */
    unsigned ncpus, nspis;
    unsigned nirqs;             /* INTIDs 0..nirqs-1 exist */
    unsigned nwords;            /* IrqWords in use, word 0 the banked one */
    IrqWord spi[GIC_MAX_WORDS]; /* word 0 (INTIDs 0..31) unused */
    const GicModel *model;
    uint8_t *cpus; /* vCPU i's GicCpuCore is at cpus + i * cpu_size */
    size_t cpu_size;
};

/* Set up the shared part for ncpus vCPUs and nspis SPIs (the model has checked both) whose
 * per-vCPU structs, cpu_size bytes each, start at cpus. */
void gic_core_init(GicCore *core, const GicModel *model, unsigned ncpus, unsigned nspis, void *cpus,
                   size_t cpu_size);
void gic_core_destroy(GicCore *core);

static inline GicCpuCore *gic_cpu_core(const GicCore *core, unsigned cpu)
{
    return (GicCpuCore *)(core->cpus + cpu * core->cpu_size);
}

/* New output levels of vCPU cpu: the callback hears of changes only. Lock held. */
void gic_output(GicCore *core, unsigned cpu, bool irq, bool fiq);
/* Recompute every vCPU's outputs. Lock held. */
void gic_update_all(GicCore *core);
/* The SPI words' registers to their reset values (line levels kept). Lock held. */
void gic_reset_spis(GicCore *core);

/* The models' entry points of the same names (see arm-gicv2.h, arm-gicv3.h); they take the
 * lock and ignore out-of-range vCPUs, SPIs and PPIs. */
void gic_core_reset(GicCore *core);
void gic_core_set_output(GicCore *core, unsigned cpu, GicOutputFn fn, void *opaque);
void gic_core_sync_cpu(GicCore *core, unsigned cpu);
void gic_core_set_spi(GicCore *core, unsigned spi, bool level);
void gic_core_set_ppi(GicCore *core, unsigned cpu, unsigned ppi, bool level);

#endif
