/* SPDX-License-Identifier: MIT */
/*
 * VesselSettings: one VM's settings window (an AdwPreferencesWindow). It edits a copy of
 * the VM's library record and saves every valid change at once through the store; input
 * that is not valid stays in its widget with the reason shown beside it and is never
 * written. Closing the window waits for the last write.
 *
 * Actions (group "settings", for the buttons and the GUI tests):
 *   settings.choose-drive / choose-media / choose-share   open a file or folder chooser
 *   settings.add-drive-path (s)     add a disk image (format detected from its header)
 *   settings.insert-media-path (s)  put an ISO in the CD slot
 *   settings.eject-media            empty the CD slot
 *   settings.remove-drive (i)       remove the drive at this position
 *   settings.add-forward            add the port forward described by the "Add" rows
 *   settings.remove-forward (s)     remove "tcp:8080"
 *   settings.set-share-path (s)     the folder for the next shared folder
 *   settings.add-share              add it with the tag in the "Mount tag" row
 *   settings.remove-share (s)       remove the share with this tag
 */
#ifndef VESSEL_SETTINGS_H
#define VESSEL_SETTINGS_H

#include <adwaita.h>

#include "vessel-application.h"
#include "vessel-store.h"
#include "vessel-vm.h"

G_BEGIN_DECLS

#define VESSEL_TYPE_SETTINGS (vessel_settings_get_type())
G_DECLARE_FINAL_TYPE(VesselSettings, vessel_settings, VESSEL, SETTINGS, AdwPreferencesWindow)

/* The settings window of vm, transient for parent (may be NULL). */
GtkWindow *vessel_settings_new(VesselApplication *app, VesselVm *vm, GtkWindow *parent);

/*
 * The same with an explicit store and settings (settings may be NULL: the file choosers
 * then do not remember folders). vessel_settings_new calls this; GUI tests call it with
 * a store on a temporary library.
 */
GtkWindow *vessel_settings_new_for_store(VesselStore *store, GSettings *settings, VesselVm *vm,
                                         GtkWindow *parent);

/* TRUE while a write to the library is queued or running (the "busy" property). */
gboolean vessel_settings_is_busy(VesselSettings *self);

G_END_DECLS

#endif
