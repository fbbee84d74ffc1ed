/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the GUI tests (tests/gui): each test is a C program linking the app's
 * objects, run under Xvfb by tests/gui/run-gui.sh with private XDG directories and
 * the build tree's GSettings schema and translations.
 */
#ifndef VESSEL_GUI_TEST_H
#define VESSEL_GUI_TEST_H

#include <gtk/gtk.h>
#include <stdio.h>
#include <stdlib.h>

#define GUI_CHECK(cond)                                                              \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

typedef gboolean (*GuiCond)(gpointer data);

static gboolean gui_timeout_cb(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

/* Iterate the main loop until cond(data) is true or timeout_ms pass; returns cond's result. */
static inline gboolean gui_wait_until(GuiCond cond, gpointer data, guint timeout_ms)
{
    gboolean timed_out = FALSE;
    guint id = g_timeout_add(timeout_ms, gui_timeout_cb, &timed_out);
    while (!cond(data) && !timed_out)
        g_main_context_iteration(NULL, TRUE);
    if (!timed_out)
        g_source_remove(id);
    return cond(data);
}

/* Run the main loop for ms milliseconds. */
static inline void gui_spin(guint ms)
{
    gboolean done = FALSE;
    g_timeout_add(ms, gui_timeout_cb, &done);
    while (!done)
        g_main_context_iteration(NULL, TRUE);
}

/* The first toplevel window of this type (visible or not), or NULL. */
static inline GtkWindow *gui_find_toplevel(GType type)
{
    GListModel *tops = gtk_window_get_toplevels();
    for (guint i = 0; i < g_list_model_get_n_items(tops); i++) {
        GObject *w = g_list_model_get_item(tops, i);
        g_object_unref(w); /* the list keeps it alive */
        if (G_TYPE_CHECK_INSTANCE_TYPE(w, type))
            return GTK_WINDOW(w);
    }
    return NULL;
}

/*
 * Render a widget (normally a window) to a PNG with the widget's own renderer, as it
 * appears on screen. Returns the number of distinct pixel colours in the image (a
 * screenshot of a blank window has 1 or 2), or -1 when it could not be rendered.
 */
static inline int gui_screenshot_once(GtkWidget *widget, const char *path)
{
    int w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
    if (w <= 0 || h <= 0) {
        fprintf(stderr, "screenshot %s: the widget has no size yet (%d x %d)\n", path, w, h);
        return -1;
    }
    GdkPaintable *paintable = gtk_widget_paintable_new(widget);
    GtkSnapshot *snapshot = gtk_snapshot_new();
    gdk_paintable_snapshot(paintable, snapshot, w, h);
    GskRenderNode *node = gtk_snapshot_free_to_node(snapshot);
    g_object_unref(paintable);
    if (!node) {
        fprintf(stderr, "screenshot %s: nothing to draw yet\n", path);
        return -1;
    }
    GskRenderer *renderer = gtk_native_get_renderer(gtk_widget_get_native(widget));
    GdkTexture *texture =
        gsk_renderer_render_texture(renderer, node, &GRAPHENE_RECT_INIT(0, 0, w, h));
    gsk_render_node_unref(node);
    if (!texture) {
        fprintf(stderr, "screenshot %s: the renderer made no texture\n", path);
        return -1;
    }
    gboolean saved = gdk_texture_save_to_png(texture, path);
    int tw = gdk_texture_get_width(texture), th = gdk_texture_get_height(texture);
    guint32 *pixels = g_malloc((gsize)tw * th * 4);
    gdk_texture_download(texture, (guchar *)pixels, (gsize)tw * 4);
    g_object_unref(texture);
    GHashTable *colours = g_hash_table_new(NULL, NULL);
    for (gsize i = 0; i < (gsize)tw * th && g_hash_table_size(colours) < 4096; i++)
        g_hash_table_add(colours, GUINT_TO_POINTER(pixels[i] | 0xff000000u));
    int n = (int)g_hash_table_size(colours);
    g_hash_table_destroy(colours);
    g_free(pixels);
    return saved ? n : -1;
}

/* gui_screenshot_once, retried for a few frames while the widget is not ready to draw (a
 * window just shown or resized may have no size or no render node for a frame or two). */
static inline int gui_screenshot(GtkWidget *widget, const char *path)
{
    int n = -1;
    for (int attempt = 0; attempt < 20 && n < 0; attempt++) {
        if (attempt)
            gui_spin(100);
        n = gui_screenshot_once(widget, path);
    }
    return n;
}

#endif
