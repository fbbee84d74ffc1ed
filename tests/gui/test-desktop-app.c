/* SPDX-License-Identifier: MIT */
/*
 * The desktop integration inside the running application, as a user meets it from the
 * build tree: the settings schema is found, app.about opens the About window over the
 * main window, and its icon comes from the icons compiled into the app (GtkApplication's
 * resource path), not from any icon directory added by hand.
 *
 * Usage (through run-gui.sh): test-desktop-app
 */
#include <string.h>

#include "gui-test.h"
#include "vessel-about.h"
#include "vessel-application.h"

static int status = 1;

static AdwAboutWindow *find_about(void)
{
    return (AdwAboutWindow *)gui_find_toplevel(ADW_TYPE_ABOUT_WINDOW);
}

static gboolean about_drawn(gpointer data)
{
    AdwAboutWindow **about = data;
    *about = find_about();
    return *about && gtk_widget_get_mapped(GTK_WIDGET(*about)) &&
           gtk_widget_get_width(GTK_WIDGET(*about)) > 0;
}

static gboolean window_shown(gpointer data)
{
    return gtk_widget_get_mapped(GTK_WIDGET(data)) && gtk_widget_get_width(GTK_WIDGET(data)) > 0;
}

static gboolean run_checks(gpointer data)
{
    VesselApplication *app = data;

    /* The schema compiled into build/data is the one the app loaded. */
    GSettings *settings = vessel_application_get_settings(app);
    GUI_CHECK(settings != NULL);
    GUI_CHECK(g_settings_get_int(settings, "vm-window-width") == 1024);

    GtkWindow *main_window = vessel_application_get_main_window(app);
    GUI_CHECK(main_window != NULL);
    GUI_CHECK(gui_wait_until(window_shown, main_window, 10000));

    /* The app's icons are reachable by name through GtkApplication's resource path alone. */
    GtkIconTheme *theme = gtk_icon_theme_get_for_display(gdk_display_get_default());
    char **resource_paths = gtk_icon_theme_get_resource_path(theme);
    gboolean has_path = FALSE;
    for (char **p = resource_paths; p && *p; p++) {
        /* GtkApplication adds it with a trailing slash. */
        has_path |= strcmp(*p, "/io/github/vessel/Vessel/icons") == 0 ||
                    strcmp(*p, "/io/github/vessel/Vessel/icons/") == 0;
    }
    GUI_CHECK(has_path);
    g_strfreev(resource_paths);
    static const char *const names[] = { VESSEL_APP_ID, VESSEL_APP_ID "-symbolic" };
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        GtkIconPaintable *icon =
            gtk_icon_theme_lookup_icon(theme, names[i], NULL, 128, 1, GTK_TEXT_DIR_NONE, 0);
        GFile *file = gtk_icon_paintable_get_file(icon);
        GUI_CHECK(file != NULL);
        g_autofree char *uri = g_file_get_uri(file);
        g_print("%s -> %s\n", names[i], uri);
        GUI_CHECK(g_str_has_prefix(uri, "resource:///io/github/vessel/Vessel/icons/"));
        g_object_unref(file);
        g_object_unref(icon);
    }

    /* app.about: the About window, transient for the main window. */
    AdwAboutWindow *about = NULL;
    g_action_group_activate_action(G_ACTION_GROUP(app), "about", NULL);
    GUI_CHECK(gui_wait_until(about_drawn, &about, 10000));
    GUI_CHECK(gtk_window_get_transient_for(GTK_WINDOW(about)) == main_window);
    GUI_CHECK(strcmp(adw_about_window_get_application_icon(about), VESSEL_APP_ID) == 0);
    GUI_CHECK(strcmp(adw_about_window_get_version(about), VESSEL_VERSION) == 0);
    gui_spin(500);

    const char *dir = g_getenv("VESSEL_SCREENSHOT_DIR");
    g_autofree char *png = g_build_filename(dir ? dir : ".", "desktop-app-about.png", NULL);
    if (dir)
        g_mkdir_with_parents(dir, 0755);
    int colours = gui_screenshot(GTK_WIDGET(about), png);
    g_print("about from app.about: %d colours, %s\n", colours, png);
    GUI_CHECK(colours > 100);
    /* The icon itself is on screen: the ship's red hull (#e01b24), a colour nothing else in
     * the window has, covers a good patch of it. */
    GdkPixbuf *shot = gdk_pixbuf_new_from_file(png, NULL);
    GUI_CHECK(shot != NULL && gdk_pixbuf_get_n_channels(shot) >= 3);
    int hull = 0, n = gdk_pixbuf_get_n_channels(shot), stride = gdk_pixbuf_get_rowstride(shot);
    const guchar *px = gdk_pixbuf_get_pixels(shot);
    for (int y = 0; y < gdk_pixbuf_get_height(shot); y++) {
        for (int x = 0; x < gdk_pixbuf_get_width(shot); x++) {
            const guchar *p = px + y * stride + x * n;
            hull += p[0] == 0xe0 && p[1] == 0x1b && p[2] == 0x24;
        }
    }
    g_object_unref(shot);
    g_print("hull-red pixels: %d\n", hull);
    GUI_CHECK(hull > 100);

    gtk_window_destroy(GTK_WINDOW(about));
    status = 0;
    g_application_quit(G_APPLICATION(app));
    return G_SOURCE_REMOVE;
}

static void on_activate(GApplication *app)
{
    g_idle_add(run_checks, app);
}

int main(void)
{
    /* A strong reference to the About window's object: the application refers to it weakly
     * until the parts are assembled, and a weak reference alone does not link it (volatile: the
     * compiler must not drop the reference). */
    void (*volatile about_show)(GtkWindow *) = vessel_about_show;
    GUI_CHECK(about_show != NULL);

    g_autoptr(VesselApplication) app = vessel_application_new();
    g_application_set_flags(G_APPLICATION(app), G_APPLICATION_NON_UNIQUE);
    g_signal_connect_after(app, "activate", G_CALLBACK(on_activate), NULL);
    int rc = g_application_run(G_APPLICATION(app), 0, NULL);
    GUI_CHECK(rc == 0);
    if (status == 0)
        g_print("desktop integration in the app OK\n");
    return status;
}
