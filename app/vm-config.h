/* SPDX-License-Identifier: MIT */
/*
 * A library record (VlVm) as an engine configuration (VsConfig): the settings the user
 * chose mapped onto the accelerator policy, core pinning and devices.
 */
#ifndef VESSEL_VM_CONFIG_H
#define VESSEL_VM_CONFIG_H

#include <glib.h>

#include "library.h"
#include "vessel/engine.h"

typedef struct {
    VsConfig cfg; /* points into the arrays below and into `record` */
    VlVm record;  /* a copy of the record the strings come from */
    VsDiskConfig *disks;
    VsNetConfig *nets;
    VsPortForward *forwards;
    VsShareConfig *shares;
} VesselMachineConfig;

/*
 * Fill mc from the record. Fails (domain VESSEL_VM_ERROR, code a VsStatus) for a record
 * the engine cannot run, with a message that says what to change: an unknown
 * architecture, a boot source the architecture has no firmware for, a kernel boot
 * without a kernel, a malformed MAC address. Files are not opened here: the engine
 * reports missing or unreadable ones when the machine is built.
 */
gboolean vessel_machine_config_build(const VlVm *vm, VesselMachineConfig *mc, GError **error);
void vessel_machine_config_clear(VesselMachineConfig *mc);

#endif
