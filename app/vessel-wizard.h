/* SPDX-License-Identifier: MIT */
/*
 * VesselWizard: the modal new-VM wizard (AdwWindow). Pages: boot source, boot files (with
 * the detected architecture), memory and vCPUs, storage and a shared folder, name, summary.
 *
 * Everything the user can do is an action of the wizard, so tests drive it without clicks:
 *   wizard.set-source (s)        "iso", "disk", "kernel" or "demo" (stateful)
 *   wizard.set-file (s)          the ISO, disk image or kernel (by source); detection starts
 *   wizard.set-initrd (s)        kernel boot: the initrd ("" for none)
 *   wizard.set-cmdline (s)       kernel boot: the command line
 *   wizard.set-firmware (s)      kernel boot: the firmware ("" for none)
 *   wizard.set-arch (s)          override the architecture: "riscv64", "aarch64", "x86_64"
 *   wizard.set-memory (x)        MiB          wizard.set-vcpus (i)
 *   wizard.set-storage (s)       "new", "existing" or "none" (stateful)
 *   wizard.set-disk-size (x)     GiB of the new disk
 *   wizard.set-existing-disk (s) the existing image to attach
 *   wizard.set-share (s)         a folder to share ("" for none)
 *   wizard.set-share-tag (s)     its mount tag
 *   wizard.set-name (s)
 *   wizard.next, wizard.back, wizard.create
 *   wizard.choose-file, -initrd, -firmware, -existing-disk, -share (file choosers)
 * Read-only properties for tests and bindings: "page" (the visible page's name: source,
 * files, resources, storage, name, summary), "can-next", "busy" (detection or creation
 * running), "message" (the visible page's inline error or note, "" when none), "arch"
 * ("riscv64"...), "created-id" (the new VM's id once created, else 0).
 * Signal "vm-created" (gint64 id) on success, just before the wizard closes.
 */
#ifndef VESSEL_WIZARD_H
#define VESSEL_WIZARD_H

#include <adwaita.h>

#include "vessel-application.h"

G_BEGIN_DECLS

#define VESSEL_TYPE_WIZARD (vessel_wizard_get_type())
G_DECLARE_FINAL_TYPE(VesselWizard, vessel_wizard, VESSEL, WIZARD, AdwWindow)

/* The wizard, transient for parent (may be NULL), presented. */
GtkWindow *vessel_wizard_new(VesselApplication *app, GtkWindow *parent);

G_END_DECLS

#endif
