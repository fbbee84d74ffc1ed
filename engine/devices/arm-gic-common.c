/* SPDX-License-Identifier: MIT */
/* The part of the GIC models that does not depend on the architecture version. */
#include "devices/arm-gic-common.h"

void gic_core_init(GicCore *core, const GicModel *model, unsigned ncpus, unsigned nspis, void *cpus,
                   size_t cpu_size)
{
    pthread_mutex_init(&core->lock, NULL);
    core->model = model;
    core->ncpus = ncpus;
    core->nspis = nspis;
    core->nwords = (GIC_NUM_LOCAL + nspis) / 32;
    core->nirqs = GIC_NUM_LOCAL + nspis;
    if (core->nirqs > GIC_FIRST_SPECIAL)
        core->nirqs = GIC_FIRST_SPECIAL;
    core->cpus = cpus;
    core->cpu_size = cpu_size;
}

void gic_core_destroy(GicCore *core)
{
    pthread_mutex_destroy(&core->lock);
}

void gic_output(GicCore *core, unsigned cpu, bool irq, bool fiq)
{
    GicCpuCore *c = gic_cpu_core(core, cpu);
    if (irq != c->irq || fiq != c->fiq) {
        c->irq = irq;
        c->fiq = fiq;
        if (c->fn)
            c->fn(c->opaque, cpu, irq, fiq);
    }
}

void gic_update_all(GicCore *core)
{
    for (unsigned i = 0; i < core->ncpus; i++)
        core->model->update_cpu(core, i);
}

void gic_reset_spis(GicCore *core)
{
    for (unsigned w = 0; w < GIC_MAX_WORDS; w++) {
        IrqWord *iw = &core->spi[w];
        iw->group = iw->enable = iw->latch = iw->active = iw->edge = 0;
    }
}

void gic_core_reset(GicCore *core)
{
    pthread_mutex_lock(&core->lock);
    core->model->reset(core);
    gic_update_all(core);
    pthread_mutex_unlock(&core->lock);
}

void gic_core_set_output(GicCore *core, unsigned cpu, GicOutputFn fn, void *opaque)
{
    if (cpu >= core->ncpus)
        return;
    pthread_mutex_lock(&core->lock);
    GicCpuCore *c = gic_cpu_core(core, cpu);
    c->fn = fn;
    c->opaque = opaque;
    if (fn)
        fn(opaque, cpu, c->irq, c->fiq);
    pthread_mutex_unlock(&core->lock);
}

void gic_core_sync_cpu(GicCore *core, unsigned cpu)
{
    if (cpu >= core->ncpus)
        return;
    pthread_mutex_lock(&core->lock);
    GicCpuCore *c = gic_cpu_core(core, cpu);
    if (c->fn)
        c->fn(c->opaque, cpu, c->irq, c->fiq);
    pthread_mutex_unlock(&core->lock);
}

void gic_core_set_spi(GicCore *core, unsigned spi, bool level)
{
    if (spi >= core->nspis || GIC_NUM_LOCAL + spi >= core->nirqs)
        return;
    unsigned intid = GIC_NUM_LOCAL + spi;
    pthread_mutex_lock(&core->lock);
    gic_set_line(&core->spi[intid / 32], intid % 32, level);
    core->model->spi_changed(core, intid);
    pthread_mutex_unlock(&core->lock);
}

void gic_core_set_ppi(GicCore *core, unsigned cpu, unsigned ppi, bool level)
{
    if (cpu >= core->ncpus || ppi >= 16)
        return;
    pthread_mutex_lock(&core->lock);
    gic_set_line(&gic_cpu_core(core, cpu)->local, 16 + ppi, level);
    core->model->update_cpu(core, cpu);
    pthread_mutex_unlock(&core->lock);
}
