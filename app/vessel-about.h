/* SPDX-License-Identifier: MIT */
/* The About window (app.about). */
#ifndef VESSEL_ABOUT_H
#define VESSEL_ABOUT_H

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Present Vessel's About window, transient for and modal to parent (may be NULL). */
void vessel_about_show(GtkWindow *parent);

G_END_DECLS

#endif
