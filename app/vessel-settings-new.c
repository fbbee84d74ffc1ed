/* SPDX-License-Identifier: MIT */
/*
 * The application-facing constructor of the settings window. It lives apart from
 * vessel-settings.c so a GUI test links the window without the application object.
 */
#include "vessel-settings.h"

GtkWindow *vessel_settings_new(VesselApplication *app, VesselVm *vm, GtkWindow *parent)
{
    g_return_val_if_fail(VESSEL_IS_APPLICATION(app), NULL);
    GtkWindow *win = vessel_settings_new_for_store(
        vessel_application_get_store(app), vessel_application_get_settings(app), vm, parent);
    gtk_window_set_application(win, GTK_APPLICATION(app));
    return win;
}
