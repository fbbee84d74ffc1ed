/* SPDX-License-Identifier: MIT */
/*
 * Desktop integration as the running app sees it: the icons found through GTK's icon
 * theme and rendered, the compiled GSettings schema in the build tree, the built desktop
 * entry (in English and Chinese), and the About window (in English and Chinese, with
 * screenshots).
 *
 * Usage (through run-gui.sh): test-desktop SOURCE_ROOT BUILD_ROOT
 */
#include <adwaita.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>

#include "gui-test.h"
#include "vessel-about.h"

#define APP_ID "io.github.vessel.Vessel"

static const char *source_root, *build_root;

static char *screenshot_path(const char *name)
{
    const char *dir = g_getenv("VESSEL_SCREENSHOT_DIR");
    if (!dir)
        dir = build_root;
    g_mkdir_with_parents(dir, 0755);
    return g_build_filename(dir, name, NULL);
}

/* Pixel statistics of an icon file rendered at size x size by GdkPixbuf's SVG loader (the
 * loader GTK itself uses for SVG icons). */
typedef struct {
    int covered;        /* pixels with any opacity */
    int colours;        /* distinct RGB values among covered pixels (up to 4096) */
    int opaque_colours; /* distinct RGB values among fully opaque pixels (up to 4096) */
    guint32 first;      /* RGB of the first fully opaque pixel */
    int off_colour;     /* translucent pixels whose colour is not the first opaque one */
} IconStats;

static IconStats icon_render(const char *path, int size, const char *png_name)
{
    GError *error = NULL;
    GdkPixbuf *pixbuf = gdk_pixbuf_new_from_file_at_size(path, size, size, &error);
    if (!pixbuf)
        g_error("cannot render %s: %s", path, error->message);
    GUI_CHECK(gdk_pixbuf_get_width(pixbuf) == size && gdk_pixbuf_get_height(pixbuf) == size);
    GUI_CHECK(gdk_pixbuf_get_has_alpha(pixbuf) && gdk_pixbuf_get_n_channels(pixbuf) == 4);

    IconStats st = { 0 };
    GHashTable *colours = g_hash_table_new(NULL, NULL);
    GHashTable *opaque = g_hash_table_new(NULL, NULL);
    const guchar *pixels = gdk_pixbuf_get_pixels(pixbuf);
    int stride = gdk_pixbuf_get_rowstride(pixbuf);
    for (int pass = 0; pass < 2; pass++) {
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                const guchar *p = pixels + y * stride + x * 4;
                if (p[3] == 0)
                    continue;
                guint32 rgb = (guint32)p[0] << 16 | (guint32)p[1] << 8 | p[2];
                if (pass == 0) {
                    st.covered++;
                    if (g_hash_table_size(colours) < 4096)
                        g_hash_table_add(colours, GUINT_TO_POINTER(rgb | 0x1000000u));
                    if (p[3] == 255 && g_hash_table_size(opaque) == 0)
                        st.first = rgb;
                    if (p[3] == 255 && g_hash_table_size(opaque) < 4096)
                        g_hash_table_add(opaque, GUINT_TO_POINTER(rgb | 0x1000000u));
                    continue;
                }
                /* The loader renders premultiplied and divides by alpha afterwards: an
                 * edge pixel of alpha a carries a rounding error of up to about 255 / a. */
                int tolerance = 255 / p[3] + 2;
                for (int c = 0; c < 3; c++) {
                    int want = (int)(st.first >> (16 - 8 * c)) & 0xff;
                    if (abs(p[c] - want) > tolerance) {
                        st.off_colour++;
                        break;
                    }
                }
            }
        }
    }
    st.colours = (int)g_hash_table_size(colours);
    st.opaque_colours = (int)g_hash_table_size(opaque);
    g_hash_table_destroy(colours);
    g_hash_table_destroy(opaque);

    g_autofree char *png = screenshot_path(png_name);
    GUI_CHECK(gdk_pixbuf_save(pixbuf, png, "png", NULL, NULL));
    g_object_unref(pixbuf);
    return st;
}

/* Look an icon up the way the app's windows do (by name, in the icon theme) and return
 * the file it resolved to; it must be ours, not a fallback. */
static char *icon_lookup(GtkIconTheme *theme, const char *name, int size)
{
    GUI_CHECK(gtk_icon_theme_has_icon(theme, name));
    GtkIconPaintable *icon =
        gtk_icon_theme_lookup_icon(theme, name, NULL, size, 1, GTK_TEXT_DIR_NONE, 0);
    GFile *file = gtk_icon_paintable_get_file(icon);
    GUI_CHECK(file != NULL);
    char *path = g_file_get_path(file);
    g_object_unref(file);
    g_autofree char *ours = g_build_filename(source_root, "data", "icons", NULL);
    if (!g_str_has_prefix(path, ours))
        g_error("icon %s resolved to %s, not to a file under %s", name, path, ours);
    g_object_unref(icon);
    return path;
}

static void check_icons(void)
{
    GtkIconTheme *theme = gtk_icon_theme_get_for_display(gdk_display_get_default());
    g_autofree char *icons_dir = g_build_filename(source_root, "data", "icons", NULL);
    gtk_icon_theme_add_search_path(theme, icons_dir);

    /* The full-colour icon: a 128x128 canvas (GNOME's app icon grid), drawn in colour,
     * mostly but not entirely covering the canvas, and still something at 16 px. */
    g_autofree char *colour = icon_lookup(theme, APP_ID, 128);
    GUI_CHECK(g_str_has_suffix(colour, "/hicolor/scalable/apps/" APP_ID ".svg"));
    int w = 0, h = 0;
    GUI_CHECK(gdk_pixbuf_get_file_info(colour, &w, &h) != NULL);
    GUI_CHECK(w == 128 && h == 128);
    IconStats big = icon_render(colour, 128, "desktop-icon-128.png");
    g_print("icon 128: %d of %d pixels covered, %d colours\n", big.covered, 128 * 128, big.colours);
    GUI_CHECK(big.covered > 128 * 128 * 5 / 10 && big.covered < 128 * 128 * 95 / 100);
    GUI_CHECK(big.colours >= 64);
    IconStats small = icon_render(colour, 16, "desktop-icon-16.png");
    GUI_CHECK(small.covered > 16 * 16 / 2 && small.colours >= 16);

    /* The symbolic icon: 16x16, one colour only (GTK recolours it to the text colour;
     * anything drawn in another colour, or with a stroke GTK does not recolour, shows). */
    g_autofree char *symbolic = icon_lookup(theme, APP_ID "-symbolic", 16);
    GUI_CHECK(g_str_has_suffix(symbolic, "/hicolor/symbolic/apps/" APP_ID "-symbolic.svg"));
    GUI_CHECK(gdk_pixbuf_get_file_info(symbolic, &w, &h) != NULL);
    GUI_CHECK(w == 16 && h == 16);
    IconStats sym = icon_render(symbolic, 16, "desktop-icon-symbolic-16.png");
    g_print("symbolic 16: %d pixels covered, %d opaque colour(s), %d edge pixels off-colour\n",
            sym.covered, sym.opaque_colours, sym.off_colour);
    GUI_CHECK(sym.opaque_colours == 1 && sym.off_colour == 0);
    GUI_CHECK(sym.covered > 16 * 16 / 4 && sym.covered < 16 * 16 * 9 / 10);
    IconStats sym64 = icon_render(symbolic, 64, "desktop-icon-symbolic-64.png");
    GUI_CHECK(sym64.opaque_colours == 1 && sym64.off_colour == 0 && sym64.first == sym.first);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The same icons compiled into the app (app/desktop.gresource.xml), where GtkApplication
 * makes the icon theme find them when Vessel runs uninstalled. */
static void check_resource_icons(void)
{
    static const char *const names[] = { APP_ID, APP_ID "-symbolic" };
    static const char *const files[] = {
        "hicolor/scalable/apps/" APP_ID ".svg",
        "hicolor/symbolic/apps/" APP_ID "-symbolic.svg",
    };
    /* A fresh theme: the system's directories (for hicolor's index.theme) and the app's
     * resource path, which is what GtkApplication sets up; not the source tree. */
    GtkIconTheme *theme = gtk_icon_theme_new();
    gtk_icon_theme_set_theme_name(theme, "hicolor");
    gtk_icon_theme_add_resource_path(theme, "/io/github/vessel/Vessel/icons");
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        GtkIconPaintable *icon =
            gtk_icon_theme_lookup_icon(theme, names[i], NULL, 48, 1, GTK_TEXT_DIR_NONE, 0);
        GFile *file = gtk_icon_paintable_get_file(icon);
        GUI_CHECK(file != NULL);
        g_autofree char *uri = g_file_get_uri(file);
        g_autofree char *want =
            g_strdup_printf("resource:///io/github/vessel/Vessel/icons/%s", files[i] + 8);
        if (strcmp(uri, want) != 0)
            g_error("icon %s resolved to %s, not %s", names[i], uri, want);

        /* Byte for byte the icon that gets installed. */
        g_autofree char *path = g_build_filename(source_root, "data", "icons", files[i], NULL);
        g_autofree char *installed = NULL;
        gsize installed_len = 0;
        GUI_CHECK(g_file_get_contents(path, &installed, &installed_len, NULL));
        GBytes *bytes = g_file_load_bytes(file, NULL, NULL, NULL);
        GUI_CHECK(bytes != NULL);
        GUI_CHECK(g_bytes_get_size(bytes) == installed_len &&
                  memcmp(g_bytes_get_data(bytes, NULL), installed, installed_len) == 0);
        g_bytes_unref(bytes);
        g_object_unref(file);
        g_object_unref(icon);
    }
    g_object_unref(theme);
}

/* The schema the app reads, compiled into build/data (GSETTINGS_SCHEMA_DIR). */
static void check_schema(void)
{
    static const struct {
        const char *key, *type, *def;
    } expected[] = {
        { "last-disk-folder", "s", "''" },    { "last-drop-folder", "s", "''" },
        { "last-iso-folder", "s", "''" },     { "last-kernel-folder", "s", "''" },
        { "last-share-folder", "s", "''" },   { "vm-window-height", "i", "800" },
        { "vm-window-width", "i", "1024" },   { "window-height", "i", "640" },
        { "window-maximized", "b", "false" }, { "window-width", "i", "960" },
    };
    GSettingsSchemaSource *source = g_settings_schema_source_get_default();
    GUI_CHECK(source != NULL);
    GSettingsSchema *schema = g_settings_schema_source_lookup(source, APP_ID, FALSE);
    if (!schema)
        g_error("schema %s is not in GSETTINGS_SCHEMA_DIR=%s", APP_ID,
                g_getenv("GSETTINGS_SCHEMA_DIR"));
    GUI_CHECK(g_strcmp0(g_settings_schema_get_path(schema), "/io/github/vessel/Vessel/") == 0);

    char **keys = g_settings_schema_list_keys(schema);
    guint n = g_strv_length(keys);
    qsort(keys, n, sizeof(char *), compare_strings);
    GUI_CHECK(n == G_N_ELEMENTS(expected));
    for (guint i = 0; i < n; i++) {
        GUI_CHECK(strcmp(keys[i], expected[i].key) == 0);
        GSettingsSchemaKey *key = g_settings_schema_get_key(schema, keys[i]);
        GUI_CHECK(g_variant_type_equal(g_settings_schema_key_get_value_type(key),
                                       G_VARIANT_TYPE(expected[i].type)));
        GVariant *def = g_settings_schema_key_get_default_value(key);
        g_autofree char *text = g_variant_print(def, FALSE);
        if (strcmp(text, expected[i].def) != 0)
            g_error("key %s: default %s, expected %s", keys[i], text, expected[i].def);
        GUI_CHECK(g_settings_schema_key_get_summary(key) != NULL);
        GUI_CHECK(g_settings_schema_key_get_description(key) != NULL);
        g_variant_unref(def);
        g_settings_schema_key_unref(key);
    }
    g_strfreev(keys);
    g_settings_schema_unref(schema);

    /* Usable as the app uses it (memory backend under run-gui.sh). */
    GSettings *settings = g_settings_new(APP_ID);
    GUI_CHECK(g_settings_get_int(settings, "window-width") == 960);
    GUI_CHECK(g_settings_set_string(settings, "last-iso-folder", "/tmp"));
    g_autofree char *folder = g_settings_get_string(settings, "last-iso-folder");
    GUI_CHECK(strcmp(folder, "/tmp") == 0);
    g_object_unref(settings);
}

/* The built desktop entry, localized for the current language as a shell reads it.
 * (GKeyFile rather than GDesktopAppInfo: that refuses an entry whose Exec is not in PATH,
 * and `vessel` is not installed here.) */
static char *entry_string(GKeyFile *entry, const char *key, gboolean localized)
{
    GError *error = NULL;
    char *value =
        localized ? g_key_file_get_locale_string(entry, G_KEY_FILE_DESKTOP_GROUP, key, NULL, &error)
                  : g_key_file_get_string(entry, G_KEY_FILE_DESKTOP_GROUP, key, &error);
    if (!value)
        g_error("desktop entry: %s", error->message);
    return value;
}

static void check_desktop_entry(const char *generic_name, const char *comment)
{
    g_autofree char *path = g_build_filename(build_root, "data", APP_ID ".desktop", NULL);
    GKeyFile *entry = g_key_file_new();
    GError *error = NULL;
    if (!g_key_file_load_from_file(entry, path, G_KEY_FILE_NONE, &error))
        g_error("%s: %s", path, error->message);
    g_autofree char *name = entry_string(entry, "Name", TRUE);
    g_autofree char *generic = entry_string(entry, "GenericName", TRUE);
    g_autofree char *comm = entry_string(entry, "Comment", TRUE);
    g_autofree char *exec = entry_string(entry, "Exec", FALSE);
    g_autofree char *icon = entry_string(entry, "Icon", FALSE);
    g_autofree char *categories = entry_string(entry, "Categories", FALSE);
    g_print("desktop entry: %s / %s / %s\n", name, generic, comm);
    GUI_CHECK(strcmp(name, "Vessel") == 0);
    GUI_CHECK(strcmp(generic, generic_name) == 0);
    GUI_CHECK(strcmp(comm, comment) == 0);
    GUI_CHECK(strcmp(exec, "vessel") == 0);
    GUI_CHECK(strcmp(categories, "System;Emulator;GTK;GNOME;") == 0);
    GUI_CHECK(g_key_file_get_boolean(entry, G_KEY_FILE_DESKTOP_GROUP, "StartupNotify", NULL));
    /* No D-Bus activation: the application does not implement it. */
    GUI_CHECK(!g_key_file_has_key(entry, G_KEY_FILE_DESKTOP_GROUP, "DBusActivatable", NULL));
    /* The icon the entry names is one the theme has (ours, see check_icons). */
    GUI_CHECK(strcmp(icon, APP_ID) == 0);
    GtkIconTheme *theme = gtk_icon_theme_get_for_display(gdk_display_get_default());
    GUI_CHECK(gtk_icon_theme_has_icon(theme, icon));
    g_key_file_free(entry);
}

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

static gboolean window_gone(gpointer data)
{
    return *(gpointer *)data == NULL;
}

/* credits: the translator credits expected, or NULL for the untranslated key (which
 * AdwAboutWindow does not show). */
static void check_about(GtkWindow *parent, const char *lang, const char *comments,
                        const char *developer, const char *credits, const char *release_notes)
{
    AdwAboutWindow *about = NULL;
    vessel_about_show(parent);
    GUI_CHECK(gui_wait_until(about_drawn, &about, 10000));
    GUI_CHECK(gtk_window_get_transient_for(GTK_WINDOW(about)) == parent);
    GUI_CHECK(gtk_window_get_modal(GTK_WINDOW(about)));
    GUI_CHECK(strcmp(adw_about_window_get_application_name(about), "Vessel") == 0);
    GUI_CHECK(strcmp(adw_about_window_get_application_icon(about), APP_ID) == 0);
    GUI_CHECK(strcmp(adw_about_window_get_version(about), VESSEL_VERSION) == 0);
    GUI_CHECK(adw_about_window_get_license_type(about) == GTK_LICENSE_MIT_X11);
    GUI_CHECK(strcmp(adw_about_window_get_website(about), "https://github.com/vessel-vm/vessel") ==
              0);
    GUI_CHECK(strcmp(adw_about_window_get_issue_url(about),
                     "https://github.com/vessel-vm/vessel/issues") == 0);
    GUI_CHECK(strcmp(adw_about_window_get_comments(about), comments) == 0);
    GUI_CHECK(strcmp(adw_about_window_get_developer_name(about), developer) == 0);
    GUI_CHECK(strcmp(adw_about_window_get_translator_credits(about),
                     credits ? credits : "translator-credits") == 0);
    GUI_CHECK(strstr(adw_about_window_get_debug_info(about), "Vessel " VESSEL_VERSION) != NULL);
    GUI_CHECK(strcmp(adw_about_window_get_release_notes_version(about), VESSEL_VERSION) == 0);
    g_autofree char *notes = g_strdup_printf("<p>%s</p>", release_notes);
    GUI_CHECK(strcmp(adw_about_window_get_release_notes(about), notes) == 0);

    /* The icon reaches the window: the theme resolves the name to our file. */
    GtkIconTheme *theme = gtk_icon_theme_get_for_display(gdk_display_get_default());
    GUI_CHECK(gtk_icon_theme_has_icon(theme, adw_about_window_get_application_icon(about)));

    gui_spin(500);
    g_autofree char *name = g_strdup_printf("desktop-about-%s.png", lang);
    g_autofree char *png = screenshot_path(name);
    int colours = gui_screenshot(GTK_WIDGET(about), png);
    g_print("about (%s): %dx%d, %d colours, %s\n", lang, gtk_widget_get_width(GTK_WIDGET(about)),
            gtk_widget_get_height(GTK_WIDGET(about)), colours, png);
    /* Text, the coloured icon and buttons: far more than a blank window's 1-2 colours. */
    GUI_CHECK(colours > 100);

    gpointer weak = about;
    g_object_add_weak_pointer(G_OBJECT(about), &weak);
    gtk_window_destroy(GTK_WINDOW(about));
    GUI_CHECK(gui_wait_until(window_gone, &weak, 5000));
}

/* Switch the messages' language. gettext ignores LANGUAGE under the C locale, so run under
 * zh_CN.UTF-8 when it is generated (tools/bootstrap does), else C.UTF-8; LANGUAGE then
 * picks the catalogue. setlocale() and textdomain() also flush gettext's cache. */
static void use_language(const char *language)
{
    g_setenv("LANGUAGE", language, TRUE);
    g_unsetenv("LC_ALL");
    g_unsetenv("LC_MESSAGES");
    if (!setlocale(LC_ALL, "zh_CN.UTF-8") && !setlocale(LC_ALL, "C.UTF-8"))
        g_error("neither the zh_CN.UTF-8 nor the C.UTF-8 locale is available");
    textdomain(GETTEXT_PACKAGE);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOURCE_ROOT BUILD_ROOT\n", argv[0]);
        return 2;
    }
    source_root = argv[1];
    build_root = argv[2];

    /* Simplified Chinese first: GLib decides once, at the first g_dgettext(), whether
     * libraries translate at all (not in an English locale), so starting in English would
     * leave libadwaita's own labels English in the Chinese About window. */
    use_language("zh_CN");
    const char *localedir = g_getenv("VESSEL_LOCALEDIR");
    g_autofree char *build_po = g_build_filename(build_root, "po", NULL);
    bindtextdomain(GETTEXT_PACKAGE, localedir ? localedir : build_po);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);

    gtk_disable_setlocale(); /* keep the locale chosen above */
    gtk_init();
    adw_init();

    check_resource_icons();
    check_icons();
    check_schema();

    GtkWindow *parent = GTK_WINDOW(gtk_window_new());
    gtk_window_set_default_size(parent, 800, 600);
    gtk_window_present(parent);

    /* The translations the app ships (build/po/zh_CN/LC_MESSAGES/vessel.mo). */
    check_desktop_entry("虚拟机管理器", "运行虚拟机");
    check_about(parent, "zh_CN", "运行虚拟机", "Vessel 开发者", "Vessel 开发者",
                "首个版本：支持 riscv64 Linux 客户机、virtio 设备、共享文件夹和拖放。");

    use_language("en");
    check_desktop_entry("Virtual Machine Manager", "Run virtual machines");
    check_about(parent, "en", "Run virtual machines", "The Vessel developers", NULL,
                "The first release: riscv64 Linux guests with virtio devices, shared folders "
                "and drag-and-drop.");

    gtk_window_destroy(parent);
    g_print("desktop integration OK\n");
    return 0;
}
