/* SPDX-License-Identifier: MIT */
#include "vessel-about.h"

#include <adwaita.h>
#include <glib/gi18n.h>

#define VESSEL_WEBSITE   "https://github.com/vessel-vm/vessel"
#define VESSEL_ISSUE_URL "https://github.com/vessel-vm/vessel/issues"

/* What a bug report needs: versions of Vessel and of the libraries it runs on. */
static char *about_debug_info(void)
{
    return g_strdup_printf("Vessel %s\n"
                           "GTK %u.%u.%u\n"
                           "libadwaita %u.%u.%u\n"
                           "GLib %u.%u.%u\n",
                           VESSEL_VERSION, gtk_get_major_version(), gtk_get_minor_version(),
                           gtk_get_micro_version(), adw_get_major_version(),
                           adw_get_minor_version(), adw_get_micro_version(), glib_major_version,
                           glib_minor_version, glib_micro_version);
}

void vessel_about_show(GtkWindow *parent)
{
    g_autofree char *debug_info = about_debug_info();
    g_autofree char *release_notes = g_markup_printf_escaped(
        "<p>%s</p>", _("The first release: riscv64 Linux guests with virtio devices, shared "
                       "folders and drag-and-drop."));
    AdwAboutWindow *about = ADW_ABOUT_WINDOW(adw_about_window_new());

    adw_about_window_set_application_name(about, "Vessel");
    adw_about_window_set_application_icon(about, "io.github.vessel.Vessel");
    adw_about_window_set_version(about, VESSEL_VERSION);
    /* The release notes of the metainfo (data/io.github.vessel.Vessel.metainfo.xml.in),
     * shown under "What's New"; the same message, so one translation serves both. */
    adw_about_window_set_release_notes_version(about, "0.1.0");
    adw_about_window_set_release_notes(about, release_notes);
    adw_about_window_set_comments(about, _("Run virtual machines"));
    adw_about_window_set_developer_name(about, _("The Vessel developers"));
    adw_about_window_set_copyright(about, _("© 2026 The Vessel developers"));
    adw_about_window_set_license_type(about, GTK_LICENSE_MIT_X11);
    adw_about_window_set_website(about, VESSEL_WEBSITE);
    adw_about_window_set_issue_url(about, VESSEL_ISSUE_URL);
    adw_about_window_set_debug_info(about, debug_info);
    adw_about_window_set_debug_info_filename(about, "vessel-debug-info.txt");
    /* Translators: your names and email addresses, one translator a line. */
    adw_about_window_set_translator_credits(about, _("translator-credits"));

    if (parent) {
        gtk_window_set_transient_for(GTK_WINDOW(about), parent);
        gtk_window_set_modal(GTK_WINDOW(about), TRUE);
    }
    gtk_window_present(GTK_WINDOW(about));
}
