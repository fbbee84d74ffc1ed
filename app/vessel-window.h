/* SPDX-License-Identifier: MIT */
/*
 * VesselWindow: the main window. A list of the library's VMs beside the selected VM's
 * details (an AdwLeaflet that folds to one pane on a phone-width window), or an empty
 * state when the library has no VM.
 *
 * Window actions (driven by the menus and the GUI tests):
 *   win.select-vm (x)   select VM id x and show its details
 *   win.rename          rename the selected VM (a dialog with an entry)
 *   win.clone           clone the selected VM as "<name> (copy)"
 *   win.delete          delete the selected VM after a confirmation ("Keep disk images")
 *   win.start, win.pause, win.resume, win.stop, win.force-stop, win.show, win.settings
 *                       the selected VM's lifecycle, its display window, its settings
 *   win.copy-mount-command (s)  copy a shared folder's guest mount command
 *
 * Properties: "store" (VesselStore, construct-only): the library shown. vessel_window_new
 * passes the application's store; a test may create the window with
 * g_object_new(VESSEL_TYPE_WINDOW, "store", store, NULL) and no application (the app.*
 * actions then do nothing, and the window size is not saved).
 */
#ifndef VESSEL_WINDOW_H
#define VESSEL_WINDOW_H

#include <adwaita.h>

#include "vessel-application.h"

G_BEGIN_DECLS

#define VESSEL_TYPE_WINDOW (vessel_window_get_type())
G_DECLARE_FINAL_TYPE(VesselWindow, vessel_window, VESSEL, WINDOW, AdwApplicationWindow)

/* The main window of app, showing the VMs of vessel_application_get_store(app). */
GtkWindow *vessel_window_new(VesselApplication *app);

/* The VM whose details are shown, or NULL (transfer none). */
VesselVm *vessel_window_get_selected_vm(VesselWindow *self);

G_END_DECLS

#endif
