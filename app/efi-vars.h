/* SPDX-License-Identifier: MIT */
/*
 * UEFI for arm64 VMs: Debian's AAVMF firmware (package qemu-efi-aarch64) and each VM's own
 * variable store, a copy of AAVMF_VARS.fd in the VM's bundle (nvram/efi-vars.fd) that keeps
 * the boot entries an installer writes across runs.
 */
#ifndef VESSEL_EFI_VARS_H
#define VESSEL_EFI_VARS_H

#include <glib.h>

#include "library.h"

/* Where qemu-efi-aarch64 installs the firmware. $VESSEL_AAVMF_DIR replaces it (tests). */
#define VESSEL_AAVMF_DIR "/usr/share/AAVMF"

/* An arm64 VM that boots an ISO or a disk: it needs UEFI firmware and a variable store.
 * (A kernel boot loads Linux directly and needs neither.) */
gboolean vessel_uefi_vm_needs_firmware(const VlVm *r);

/*
 * The AAVMF code image and variable-store template (either out pointer may be NULL; free
 * with g_free). Fails (VESSEL_VM_ERROR, VS_ERR_UNSUPPORTED) with what to install when the
 * files are not there.
 */
gboolean vessel_uefi_find_aavmf(char **code, char **vars_template, GError **error);

typedef enum {
    VESSEL_EFI_VARS_KEPT,      /* the store was there and looked sound: used as it is */
    VESSEL_EFI_VARS_CREATED,   /* there was none: a fresh copy of the template */
    VESSEL_EFI_VARS_RECREATED, /* it was damaged: moved to <path>.corrupt, fresh copy made */
} VesselEfiVarsResult;

/*
 * Make sure path holds a usable variable store: create it from template when missing, and
 * when it is damaged (not the template's size, or a header that is neither the template's
 * nor a firmware volume's) keep it as <path>.corrupt and start again from the template.
 * Both are logged. The copy is written to a temporary file and renamed into place, so a
 * crash never leaves half a store. Fails (VESSEL_VM_ERROR) when the store cannot be
 * written or path is not a regular file. result may be NULL.
 */
gboolean vessel_efi_vars_prepare(const char *path, const char *template,
                                 VesselEfiVarsResult *result, GError **error);

#endif
