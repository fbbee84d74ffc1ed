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
    char *firmware;      /* arm64 UEFI: the AAVMF code found when the record names none */
    char *vars_template; /* arm64 UEFI: AAVMF_VARS.fd, the variable store's template */
} VesselMachineConfig;

/*
 * Fill mc from the record. Fails (domain VESSEL_VM_ERROR, code a VsStatus) for a record
 * the engine cannot run, with a message that says what to change: an unknown
 * architecture, a boot source the architecture has no firmware for, a kernel boot
 * without a kernel, a malformed MAC address, an arm64 installer or disk VM on a host
 * without UEFI firmware (qemu-efi-aarch64). Otherwise files are not opened here: the
 * engine reports missing or unreadable ones when the machine is built.
 *
 * An arm64 VM that boots an ISO or a disk boots through UEFI: the record's firmware (else
 * Debian's AAVMF_CODE.fd), its own variable store (record's efi_vars, the template
 * AAVMF_VARS.fd to create it from), virtio over PCI (where UEFI looks for disks), the ISO
 * as a read-only CD-ROM. An arm64 kernel boot stays a direct kernel boot over virtio-mmio.
 */
/* On failure mc holds nothing (no need to clear it). */
gboolean vessel_machine_config_build(const VlVm *vm, VesselMachineConfig *mc, GError **error);
void vessel_machine_config_clear(VesselMachineConfig *mc);

#endif
