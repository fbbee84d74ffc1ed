/* SPDX-License-Identifier: MIT */
/*
 * Shared by the VM-window GUI tests (gui-display, gui-vm-window): a guest record for the
 * test assets, waiting on VM state and console output, typing through the keyboard.
 */
#ifndef VESSEL_VMWIN_TEST_H
#define VESSEL_VMWIN_TEST_H

#include <string.h>

#include "gui-test.h"
#include "vessel-application.h"
#include "vessel-display.h"
#include "vessel-vm.h"

/* The riscv64 test guest with its display: kernel boot, 256 MiB, shell on ttyS0 and tty1. */
static inline gboolean vmwin_guest_record(VlVm *rec, const char *name)
{
    char *kernel = NULL, *initrd = NULL, *firmware = NULL;
    if (!vessel_demo_find_assets(&kernel, &initrd, &firmware, NULL))
        return FALSE;
    vl_vm_init(rec);
    g_strlcpy(rec->name, name, sizeof rec->name);
    g_strlcpy(rec->arch, "riscv64", sizeof rec->arch);
    g_strlcpy(rec->os_kind, "linux", sizeof rec->os_kind);
    rec->memory_bytes = 256ull << 20;
    rec->vcpus = 1;
    rec->pin = VL_PIN_NONE;
    rec->boot = VL_BOOT_KERNEL;
    g_strlcpy(rec->kernel, kernel, sizeof rec->kernel);
    g_strlcpy(rec->initrd, initrd, sizeof rec->initrd);
    g_strlcpy(rec->firmware, firmware, sizeof rec->firmware);
    g_strlcpy(rec->cmdline, "console=tty0 console=ttyS0", sizeof rec->cmdline);
    rec->display.width = 1024;
    rec->display.height = 768;
    g_free(kernel);
    g_free(initrd);
    g_free(firmware);
    return TRUE;
}

typedef struct {
    VesselVm *vm;
    VesselVmState state;
    const char *text;
} VmwinWait;

static gboolean vmwin_state_is(gpointer data)
{
    VmwinWait *w = data;
    return vessel_vm_get_state(w->vm) == w->state;
}

static inline void vmwin_wait_state(VesselVm *vm, VesselVmState state, guint ms)
{
    VmwinWait w = { vm, state, NULL };
    if (!gui_wait_until(vmwin_state_is, &w, ms)) {
        fprintf(stderr, "state %u never reached (now %u, stop message \"%s\")\n", state,
                vessel_vm_get_state(vm), vessel_vm_get_stop_message(vm));
        exit(1);
    }
}

static gboolean vmwin_console_has(gpointer data)
{
    VmwinWait *w = data;
    GBytes *history = vessel_vm_get_console_history(w->vm);
    gsize len = 0;
    const char *p = g_bytes_get_data(history, &len);
    gboolean found = p && g_strstr_len(p, (gssize)len, w->text) != NULL;
    g_bytes_unref(history);
    return found;
}

static inline gboolean vmwin_wait_console(VesselVm *vm, const char *text, guint ms)
{
    VmwinWait w = { vm, 0, text };
    return gui_wait_until(vmwin_console_has, &w, ms);
}

static inline void vmwin_dump_console(VesselVm *vm)
{
    GBytes *history = vessel_vm_get_console_history(vm);
    gsize len = 0;
    const char *p = g_bytes_get_data(history, &len);
    fprintf(stderr, "---- console ----\n%.*s\n-----------------\n", (int)len, p ? p : "");
    g_bytes_unref(history);
}

/* The evdev key (US layout) and shift state for an ASCII character; 0 if none. */
static inline guint vmwin_evdev_for(char c, gboolean *shift)
{
    static const char *rows[] = { "1234567890-=", "qwertyuiop", "asdfghjkl", "zxcvbnm,./" };
    static const char *shifted[] = { "!@#$%^&*()_+", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM<>?" };
    static const guint first[] = { 2, 16, 30, 44 };
    *shift = FALSE;
    if (c == ' ')
        return 57;
    if (c == '\n')
        return 28;
    for (int r = 0; r < 4; r++) {
        const char *p = strchr(rows[r], c);
        if (p && c)
            return first[r] + (guint)(p - rows[r]);
        p = strchr(shifted[r], c);
        if (p && c) {
            *shift = TRUE;
            return first[r] + (guint)(p - shifted[r]);
        }
    }
    return 0;
}

/* Emit the display's capture-phase key controller signals, as GDK would for X11 keycodes
 * (evdev + 8): the display's own handler path. Returns FALSE if it did not take a key. */
static inline gboolean vmwin_key_event_full(GtkWidget *display, guint keyval, guint evdev,
                                            gboolean pressed)
{
    GListModel *controllers = gtk_widget_observe_controllers(display);
    gboolean handled = FALSE;
    for (guint i = 0; i < g_list_model_get_n_items(controllers); i++) {
        GtkEventController *c = g_list_model_get_item(controllers, i);
        if (GTK_IS_EVENT_CONTROLLER_KEY(c)) {
            if (pressed)
                g_signal_emit_by_name(c, "key-pressed", keyval, evdev + 8, 0, &handled);
            else {
                g_signal_emit_by_name(c, "key-released", keyval, evdev + 8, 0);
                handled = TRUE;
            }
        }
        g_object_unref(c);
    }
    g_object_unref(controllers);
    return handled;
}

static inline gboolean vmwin_key_event(GtkWidget *display, guint evdev, gboolean pressed)
{
    return vmwin_key_event_full(display, 0, evdev, pressed);
}

static inline void vmwin_type(GtkWidget *display, const char *text)
{
    for (const char *p = text; *p; p++) {
        gboolean shift;
        guint code = vmwin_evdev_for(*p, &shift);
        GUI_CHECK(code != 0);
        if (shift)
            GUI_CHECK(vmwin_key_event(display, 42, TRUE));
        GUI_CHECK(vmwin_key_event(display, code, TRUE));
        vmwin_key_event(display, code, FALSE);
        if (shift)
            vmwin_key_event(display, 42, FALSE);
    }
}

/* Render the widget as on screen and count pixels that are clearly red / clearly blue
 * (a swapped red and blue channel turns one into the other). */
static inline void vmwin_count_red_blue(GtkWidget *widget, guint *red, guint *blue)
{
    int w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
    GdkPaintable *paintable = gtk_widget_paintable_new(widget);
    GtkSnapshot *snapshot = gtk_snapshot_new();
    gdk_paintable_snapshot(paintable, snapshot, w, h);
    GskRenderNode *node = gtk_snapshot_free_to_node(snapshot);
    g_object_unref(paintable);
    *red = *blue = 0;
    if (!node) {
        return; /* a relayout is pending: the caller tries again */
    }
    GskRenderer *renderer = gtk_native_get_renderer(gtk_widget_get_native(widget));
    GdkTexture *texture =
        gsk_renderer_render_texture(renderer, node, &GRAPHENE_RECT_INIT(0, 0, w, h));
    gsk_render_node_unref(node);
    GUI_CHECK(texture);
    int tw = gdk_texture_get_width(texture), th = gdk_texture_get_height(texture);
    guint32 *px = g_malloc((gsize)tw * th * 4);
    gdk_texture_download(texture, (guchar *)px, (gsize)tw * 4);
    g_object_unref(texture);
    *red = *blue = 0;
    for (gsize i = 0; i < (gsize)tw * th; i++) {
        guint r = (px[i] >> 16) & 0xff, g = (px[i] >> 8) & 0xff, b = px[i] & 0xff;
        if (r > 0x80 && g < 0x30 && b < 0x30)
            (*red)++;
        if (b > 0x80 && r < 0x30 && g < 0x30)
            (*blue)++;
    }
    g_free(px);
}

/* gui_screenshot, tried again while a pending relayout leaves nothing to render. */
static inline int vmwin_screenshot(GtkWidget *widget, const char *path)
{
    int colours = -1;
    for (int i = 0; i < 40 && colours < 0; i++) {
        colours = gui_screenshot(widget, path);
        if (colours < 0)
            gui_spin(50);
    }
    return colours;
}

static inline void vmwin_screenshot_path(char *buf, gsize size, const char *name)
{
    const char *dir = g_getenv("VESSEL_SCREENSHOT_DIR");
    if (!dir || !*dir)
        dir = g_get_tmp_dir();
    g_mkdir_with_parents(dir, 0755);
    g_snprintf(buf, size, "%s/%s", dir, name);
}

#endif
