/* SPDX-License-Identifier: MIT */
/*
 * VesselApplication (io.github.vessel.Vessel): owns the VM library store, the main window
 * and one window per running VM.
 *
 * Application actions (used by the UI and driven by the GUI tests):
 *   app.new-vm            open the new-VM wizard
 *   app.demo-vm           create (once) and start the demo VM, open its window
 *   app.open-vm (x)       open the VM window of VM id x (present it if open)
 *   app.start-vm (x)      start VM id x
 *   app.settings (x)      open VM id x's settings window
 *   app.about, app.quit   (quit asks first when VMs run)
 */
#ifndef VESSEL_APPLICATION_H
#define VESSEL_APPLICATION_H

#include <adwaita.h>

#include "vessel-store.h"
#include "vessel-vm.h"

G_BEGIN_DECLS

#define VESSEL_APP_ID           "io.github.vessel.Vessel"

#define VESSEL_TYPE_APPLICATION (vessel_application_get_type())
G_DECLARE_FINAL_TYPE(VesselApplication, vessel_application, VESSEL, APPLICATION, AdwApplication)

VesselApplication *vessel_application_new(void);
VesselStore *vessel_application_get_store(VesselApplication *app);
/* The app's settings (schema io.github.vessel.Vessel). */
GSettings *vessel_application_get_settings(VesselApplication *app);
/* The main window (created on first activation), or NULL. */
GtkWindow *vessel_application_get_main_window(VesselApplication *app);
/* The VM's window, created if needed, presented. */
GtkWindow *vessel_application_open_vm_window(VesselApplication *app, VesselVm *vm);
/* The VM's window if it is open, else NULL. */
GtkWindow *vessel_application_lookup_vm_window(VesselApplication *app, VesselVm *vm);

/* The demo guest's files (tools/guest-assets: $VESSEL_GUEST_DIR or
 * $XDG_CACHE_HOME/vessel/guests, riscv64/{Image,initramfs.cpio.gz,fw_jump.bin}).
 * FALSE with a message that says to run tools/guest-assets when they are missing. */
gboolean vessel_demo_find_assets(char **kernel, char **initrd, char **firmware, GError **error);
/* Fill a record for the demo VM (name "Demo (riscv64)"). */
gboolean vessel_demo_fill_record(VlVm *vm, GError **error);

G_END_DECLS

#endif
