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
/* Pin the I/O, timer and worker threads as planned (after they exist). */
VsStatus vs_machine_pin_helpers(VsMachine *m, VsError *err);
/* vs_vdevs_create with the calling thread temporarily on the helper CPUs, so that the
 * worker threads devices start (disk I/O pool, 9P worker) run there too. */
VsStatus vs_machine_pin_create_devices(VsMachine *m, VsError *err);
/* Put vCPU `index`'s CPUs into attr when the plan pins vCPUs. Returns 0 or an errno. */
int vs_machine_pin_vcpu_attr(VsMachine *m, unsigned index, pthread_attr_t *attr);
void vs_machine_pin_free(VsMachine *m);

#endif
