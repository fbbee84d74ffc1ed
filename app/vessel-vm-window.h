/* SPDX-License-Identifier: MIT */
/*
 * VesselVmWindow: one VM's window. Its display (VesselDisplay) and serial console
 * (VteTerminal) in an AdwViewStack, the VM's state in the title, its controls as window
 * actions, and files dropped on it copied into the VM's shared folder.
 *
 * Actions (enabled only in the states where they apply):
 *   vm.start, vm.pause, vm.resume, vm.powerdown, vm.force-stop, vm.reset, vm.settings,
 *   vm.ctrl-alt-del, vm.view (s: "display" or "console"), vm.show-console (a toggle),
 *   vm.cancel-copy.
 * Properties: "vm" (VesselVm, construct-only), "view" (string), "show-console" (boolean),
 * "copying" (boolean).
 */
#ifndef VESSEL_VM_WINDOW_H
#define VESSEL_VM_WINDOW_H

#include <adwaita.h>

#include "vessel-application.h"
#include "vessel-vm.h"

G_BEGIN_DECLS

#define VESSEL_TYPE_VM_WINDOW (vessel_vm_window_get_type())
G_DECLARE_FINAL_TYPE(VesselVmWindow, vessel_vm_window, VESSEL, VM_WINDOW, AdwApplicationWindow)

GtkWindow *vessel_vm_window_new(VesselApplication *app, VesselVm *vm);
VesselVm *vessel_vm_window_get_vm(VesselVmWindow *self);

/* What a drop does: copy these files (GFile) into the VM's writable shared folder,
 * offering to create one when it has none. */
void vessel_vm_window_copy_files(VesselVmWindow *self, GList *files);

G_END_DECLS

#endif
