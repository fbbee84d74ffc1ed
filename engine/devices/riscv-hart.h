/* SPDX-License-Identifier: MIT */
/* How riscv64 interrupt controllers find the hart behind an interrupt line. */
#ifndef VESSEL_RISCV_HART_H
#define VESSEL_RISCV_HART_H

#include "arch/riscv64/rv-cpu.h"
#include "core/machine.h"

/*
 * The vCPUs may be created after the board's devices, so devices look the hart up when they
 * drive a line instead of caching a pointer. A line driven before its hart exists is lost;
 * the board re-sends every level in cpu_boot_state (see *_sync_hart).
 */
static inline RvCpu *rv_machine_hart(VsMachine *m, unsigned hart)
{
    if (!m || !m->cpus || hart >= m->ncpus || !m->cpus[hart])
        return NULL;
    return rv_cpu(m->cpus[hart]);
}

static inline void rv_machine_set_irq(VsMachine *m, unsigned hart, unsigned irq, bool level)
{
    RvCpu *cpu = rv_machine_hart(m, hart);
    if (cpu)
        rv_cpu_set_irq(cpu, irq, level);
}

#endif
