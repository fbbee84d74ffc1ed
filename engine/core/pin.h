/* SPDX-License-Identifier: MIT */
/* The machine's side of core pinning (VsConfig.pin): plan, helper threads, vCPU threads. */
#ifndef VESSEL_PIN_H
#define VESSEL_PIN_H

#include <pthread.h>

#include "vessel/engine.h"

/* Detect the host's cores (sysfs under `sysfs_root`, or $VESSEL_SYSFS_ROOT when set), check the
 * policy against them and the process's allowed CPUs, and keep the plan in m. VS_ERR_INVALID with a
 * message when a listed CPU cannot be used. */
VsStatus vs_machine_pin_prepare(VsMachine *m, const char *sysfs_root, VsError *err);
/* Pin the I/O and timer threads as planned (after they exist), and set m->helper_attr for
 * the worker threads devices start later (disk I/O pool, 9P worker). */
VsStatus vs_machine_pin_helpers(VsMachine *m, VsError *err);
/* Put vCPU `index`'s CPUs into attr when the plan pins vCPUs. Returns 0 or an errno. */
int vs_machine_pin_vcpu_attr(VsMachine *m, unsigned index, pthread_attr_t *attr);
void vs_machine_pin_free(VsMachine *m);

#endif
