/* SPDX-License-Identifier: MIT */
/*
 * VesselDisplay on a real guest: frames arrive and are drawn with the expected renderer
 * (argv[1]: "gl", or "software" when run with VESSEL_DISPLAY_GL=0), the screenshot shows
 * the guest's screen, the letterbox geometry, the keyboard grab (the window's shortcuts
 * are switched off while grabbed, left Ctrl+Alt releases it), and keys typed through the
 * display's key handler reach the guest's shell on tty1.
 */
#include <math.h>

#include "vmwin-test.h"

static gboolean frames_ok(gpointer data)
{
    VesselDisplay *d = data;
    return vessel_display_get_frames(d) > 0 && vessel_display_get_has_image(d);
}

static gboolean renderer_decided(gpointer data)
{
    /* The GL area decides after realize; the software switch comes from an idle. */
    return gtk_widget_get_realized(GTK_WIDGET(data));
}

static void check_letterbox(void)
{
    graphene_rect_t r;
    /* Smaller than the guest: scaled down, centred vertically. */
    vessel_display_letterbox(800, 640, 1, 1024, 768, &r);
    GUI_CHECK(r.origin.x == 0 && r.origin.y == 20 && r.size.width == 800 && r.size.height == 600);
    /* A bit larger: 1:1 (sharp), centred. */
    vessel_display_letterbox(1100, 850, 1, 1024, 768, &r);
    GUI_CHECK(r.size.width == 1024 && r.size.height == 768 && r.origin.x == 38 && r.origin.y == 41);
    /* Much larger than the guest (1.56 times): filled, not a small 1:1 island. */
    vessel_display_letterbox(1600, 1200, 1, 1024, 768, &r);
    GUI_CHECK(r.origin.x == 0 && r.origin.y == 0 && r.size.width == 1600 && r.size.height == 1200);
    /* HiDPI: a 1024x768 logical area at scale 2 holds the guest twice over (2:1 device). */
    vessel_display_letterbox(1024, 768, 2, 1024, 768, &r);
    GUI_CHECK(r.origin.x == 0 && r.origin.y == 0 && r.size.width == 1024 && r.size.height == 768);
    /* HiDPI, a 640x480 guest in 1024x768 logical = 2048x1536 device: 3:1 device pixels. */
    vessel_display_letterbox(1024, 768, 2, 640, 480, &r);
    GUI_CHECK(r.size.width == 960 && r.size.height == 720 && r.origin.x == 32 && r.origin.y == 24);
    /* Nothing to show. */
    vessel_display_letterbox(800, 600, 1, 0, 0, &r);
    GUI_CHECK(r.size.width == 0 && r.size.height == 0);
}

static void console_line(VesselVm *vm, const char *line)
{
    vessel_vm_console_input(vm, (const guint8 *)line, strlen(line));
}

/* The last ABS_X / ABS_Y values in `od -A n -t d4 -w24` output of input events (riscv64:
 * 16 bytes of time, then type and code in one int, then the value). */
static void last_abs(const char *dump, long *x, long *y)
{
    *x = *y = -1;
    char **lines = g_strsplit(dump, "\n", -1);
    for (char **l = lines; *l; l++) {
        long f[6];
        if (sscanf(*l, "%ld %ld %ld %ld %ld %ld", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5]) != 6)
            continue;
        if (f[4] == 3) /* EV_ABS, ABS_X */
            *x = f[5];
        else if (f[4] == 3 + 65536) /* EV_ABS, ABS_Y */
            *y = f[5];
    }
    g_strfreev(lines);
}

static void emit_motion(GtkWidget *display, double x, double y)
{
    GListModel *controllers = gtk_widget_observe_controllers(display);
    gboolean sent = FALSE;
    for (guint i = 0; i < g_list_model_get_n_items(controllers); i++) {
        GtkEventController *c = g_list_model_get_item(controllers, i);
        if (GTK_IS_EVENT_CONTROLLER_MOTION(c)) {
            g_signal_emit_by_name(c, "motion", x, y);
            sent = TRUE;
        }
        g_object_unref(c);
    }
    g_object_unref(controllers);
    GUI_CHECK(sent);
}

static void check_pointer(VesselVm *vm, GtkWidget *display)
{
    /* The tablet is the second input device (keyboard, tablet, mouse). */
    /* Events sent before the reader has the device open are lost: wait until it has. */
    console_line(vm, "cat /sys/class/input/event1/device/name; "
                     "cat /dev/input/event1 >/tmp/tablet & "
                     "while ! ls -l /proc/$!/fd 2>/dev/null | grep -q event1; do sleep 0.1; "
                     "done; echo tablet-reader-$((3*4))\n");
    GUI_CHECK(vmwin_wait_console(vm, "Vessel Virtio Tablet", 10000));
    GUI_CHECK(vmwin_wait_console(vm, "tablet-reader-12", 30000));
    graphene_rect_t r;
    vessel_display_letterbox(gtk_widget_get_width(display), gtk_widget_get_height(display),
                             gtk_widget_get_scale_factor(display), 1024, 768, &r);
    static const double points[][2] = { { 0.25, 0.75 }, { 0.5, 0.1 } };
    for (gsize i = 0; i < G_N_ELEMENTS(points); i++) {
        double px = points[i][0], py = points[i][1];
        emit_motion(display, r.origin.x + px * r.size.width, r.origin.y + py * r.size.height);
        gui_spin(300);
        char marker[32], line[160];
        g_snprintf(marker, sizeof marker, "tablet-%zu-end", i + 1);
        g_snprintf(line, sizeof line,
                   "echo tablet-$((%zu*0))-begin; od -A n -t d4 -w24 /tmp/tablet; "
                   "echo tablet-$((%zu+1))-end\n",
                   i, i);
        GBytes *before = vessel_vm_get_console_history(vm);
        gsize from = g_bytes_get_size(before);
        g_bytes_unref(before);
        console_line(vm, line);
        if (!vmwin_wait_console(vm, marker, 10000)) {
            vmwin_dump_console(vm);
            exit(1);
        }
        GBytes *after = vessel_vm_get_console_history(vm);
        gsize len = 0;
        const char *all = g_bytes_get_data(after, &len);
        char *dump = g_strndup(all + from, len - from);
        g_bytes_unref(after);
        long x, y;
        last_abs(dump, &x, &y);
        g_free(dump);
        long want_x = lround(px * 32767), want_y = lround(py * 32767);
        printf("pointer at %.2f,%.2f of the image: tablet %ld,%ld (expected about %ld,%ld)\n", px,
               py, x, y, want_x, want_y);
        /* One widget pixel is about 40 tablet units here. */
        GUI_CHECK(labs(x - want_x) <= 100 && labs(y - want_y) <= 100);
    }

    /* The wheel: GTK's dy > 0 (scroll down) is a REL_WHEEL of -1 on the tablet. */
    GListModel *controllers = gtk_widget_observe_controllers(display);
    gboolean scrolled = FALSE;
    for (guint i = 0; i < g_list_model_get_n_items(controllers); i++) {
        GtkEventController *c = g_list_model_get_item(controllers, i);
        if (GTK_IS_EVENT_CONTROLLER_SCROLL(c)) {
            gboolean handled = FALSE;
            g_signal_emit_by_name(c, "scroll", 0.0, 1.0, &handled);
            scrolled = handled;
        }
        g_object_unref(c);
    }
    g_object_unref(controllers);
    GUI_CHECK(scrolled);
    gui_spin(300);
    GBytes *before = vessel_vm_get_console_history(vm);
    gsize from = g_bytes_get_size(before);
    g_bytes_unref(before);
    console_line(vm, "od -A n -t d4 -w24 /tmp/tablet; echo wheel-$((2*3))-end\n");
    GUI_CHECK(vmwin_wait_console(vm, "wheel-6-end", 10000));
    GBytes *after = vessel_vm_get_console_history(vm);
    gsize len = 0;
    const char *all = g_bytes_get_data(after, &len);
    char *dump = g_strndup(all + from, len - from);
    g_bytes_unref(after);
    long wheel = 0;
    char **lines = g_strsplit(dump, "\n", -1);
    for (char **l = lines; *l; l++) {
        long f[6];
        if (sscanf(*l, "%ld %ld %ld %ld %ld %ld", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5]) == 6 &&
            f[4] == 2 + (8 << 16)) /* EV_REL, REL_WHEEL */
            wheel = f[5];
    }
    g_strfreev(lines);
    g_free(dump);
    printf("wheel: %ld\n", wheel);
    GUI_CHECK(wheel == -1);
    console_line(vm, "kill %1\n");
}

/* The screenshot name's suffix for the HiDPI and GLES runs. */
static const char *variant(void)
{
    if (g_strcmp0(g_getenv("GDK_SCALE"), "2") == 0)
        return "-hidpi";
    if (g_strcmp0(g_getenv("GDK_DEBUG"), "gl-gles") == 0)
        return "-gles";
    return "";
}

static gboolean quit_fired;

static gboolean on_quit_shortcut(GtkWidget *widget, GVariant *args, gpointer data)
{
    (void)widget, (void)args, (void)data;
    quit_fired = TRUE;
    return TRUE;
}

int main(int argc, char **argv)
{
    const char *want = argc > 1 ? argv[1] : "gl";
    check_letterbox();
    VlVm rec;
    if (!vmwin_guest_record(&rec, "display test")) {
        printf("SKIP: guest assets missing; run tools/guest-assets\n");
        return 77;
    }
    gtk_init();

    GtkWidget *window = gtk_window_new();
    gtk_window_set_default_size(GTK_WINDOW(window), 800, 640);
    GtkWidget *display = vessel_display_new();
    gtk_window_set_child(GTK_WINDOW(window), display);
    /* An application-style shortcut on the window (like Ctrl+Q), capture phase. */
    GtkEventController *shortcuts = gtk_shortcut_controller_new();
    gtk_event_controller_set_propagation_phase(shortcuts, GTK_PHASE_CAPTURE);
    gtk_shortcut_controller_add_shortcut(
        GTK_SHORTCUT_CONTROLLER(shortcuts),
        gtk_shortcut_new(gtk_keyval_trigger_new(GDK_KEY_q, GDK_CONTROL_MASK),
                         gtk_callback_action_new(on_quit_shortcut, NULL, NULL)));
    gtk_widget_add_controller(window, shortcuts);
    gtk_window_present(GTK_WINDOW(window));
    GUI_CHECK(gui_wait_until(renderer_decided, display, 10000));
    gui_spin(200);
    printf("renderer: %s\n", vessel_display_get_renderer(VESSEL_DISPLAY(display)));
    GUI_CHECK(g_str_equal(vessel_display_get_renderer(VESSEL_DISPLAY(display)), want));

    VesselVm *vm = vessel_vm_new(&rec);
    vl_vm_clear(&rec);
    vessel_display_set_vm(VESSEL_DISPLAY(display), vm);
    GUI_CHECK(!vessel_display_get_has_image(VESSEL_DISPLAY(display)));
    vessel_vm_start_async(vm, NULL, NULL, NULL);
    vmwin_wait_state(vm, VESSEL_VM_RUNNING, 30000);
    GUI_CHECK(gui_wait_until(frames_ok, display, 60000));
    if (!vmwin_wait_console(vm, "interactive shell", 60000)) {
        vmwin_dump_console(vm);
        return 1;
    }
    /* Let the shell on tty1 start and the framebuffer console draw. */
    gui_spin(2000);
    guint64 frames = vessel_display_get_frames(VESSEL_DISPLAY(display));
    printf("frames drawn: %" G_GUINT64_FORMAT "\n", frames);
    GUI_CHECK(frames > 0);

    /* The grab: the window's shortcuts are off while grabbed, back afterwards. */
    GUI_CHECK(!vessel_display_get_grabbed(VESSEL_DISPLAY(display)));
    GUI_CHECK(!vmwin_key_event(display, 30, TRUE)); /* not grabbed: keys are not taken */
    /* Without a mouse: Enter on the display grabs (and is not sent to the guest). */
    GUI_CHECK(vmwin_key_event_full(display, GDK_KEY_Return, 28, TRUE));
    GUI_CHECK(vessel_display_get_grabbed(VESSEL_DISPLAY(display)));
    vessel_display_ungrab(VESSEL_DISPLAY(display));
    GUI_CHECK(!vessel_display_get_grabbed(VESSEL_DISPLAY(display)));
    GUI_CHECK(gtk_event_controller_get_propagation_phase(shortcuts) == GTK_PHASE_CAPTURE);
    vessel_display_grab(VESSEL_DISPLAY(display));
    GUI_CHECK(vessel_display_get_grabbed(VESSEL_DISPLAY(display)));
    GUI_CHECK(gtk_event_controller_get_propagation_phase(shortcuts) == GTK_PHASE_NONE);
    GUI_CHECK(gtk_widget_has_focus(display));
    gui_spin(400);
    char path[4096];
    char name[64];
    g_snprintf(name, sizeof name, "display-grabbed-%s%s.png", want, variant());
    vmwin_screenshot_path(path, sizeof path, name);
    printf("screenshot %s: %d colours\n", path, vmwin_screenshot(window, path));

    /* Type through the display's key handler; the shell on tty1 writes to the serial
     * console, so the answer shows up in the console history. */
    gboolean answered = FALSE;
    for (int attempt = 0; attempt < 6 && !answered; attempt++) {
        if (!vessel_display_get_grabbed(VESSEL_DISPLAY(display)))
            vessel_display_grab(VESSEL_DISPLAY(display));
        vmwin_type(display, "echo hi-$((6*7)) >/dev/ttyS0\n");
        answered = vmwin_wait_console(vm, "hi-42", 10000);
    }
    if (!answered) {
        vmwin_dump_console(vm);
        fprintf(stderr, "the keys typed on the display never reached the guest's shell\n");
        return 1;
    }
    /* Left Ctrl + Alt releases the grab; the shortcuts come back. */
    if (!vessel_display_get_grabbed(VESSEL_DISPLAY(display)))
        vessel_display_grab(VESSEL_DISPLAY(display));
    GUI_CHECK(vmwin_key_event(display, 29, TRUE));
    GUI_CHECK(vessel_display_get_grabbed(VESSEL_DISPLAY(display)));
    GUI_CHECK(vmwin_key_event(display, 56, TRUE));
    GUI_CHECK(!vessel_display_get_grabbed(VESSEL_DISPLAY(display)));
    vmwin_key_event(display, 56, FALSE);
    vmwin_key_event(display, 29, FALSE);
    GUI_CHECK(gtk_event_controller_get_propagation_phase(shortcuts) == GTK_PHASE_CAPTURE);
    GUI_CHECK(!quit_fired);

    /* The pointer: widget coordinates through the letterbox to the tablet's 0..32767. */
    check_pointer(vm, display);

    /* Colours come through right: a red bar drawn on tty1 is red on the host, not blue
     * (the scanout is XRGB8888; the texture is uploaded as BGRA bytes). */
    const char *bar = "printf '\\033[41m%60s\\033[0m\\n' '' >/dev/tty1\n";
    vessel_vm_console_input(vm, (const guint8 *)bar, strlen(bar));
    guint red = 0, blue = 0;
    for (int i = 0; i < 100 && red < 1000; i++) {
        gui_spin(100);
        vmwin_count_red_blue(window, &red, &blue);
    }
    printf("red pixels %u, blue pixels %u\n", red, blue);
    GUI_CHECK(red >= 1000 && blue == 0);

    /* The screenshot shows the guest's screen (text of the framebuffer console). */
    gui_spin(500);
    g_snprintf(name, sizeof name, "display-%s%s.png", want, variant());
    vmwin_screenshot_path(path, sizeof path, name);
    int colours = vmwin_screenshot(window, path);
    printf("screenshot %s: %d colours\n", path, colours);
    GUI_CHECK(colours > 2);
    GUI_CHECK(vessel_display_get_frames(VESSEL_DISPLAY(display)) > frames);

    /* Stopping clears the image. */
    vessel_vm_action_async(vm, VESSEL_VM_ACTION_FORCE_STOP, NULL, NULL, NULL);
    vmwin_wait_state(vm, VESSEL_VM_STOPPED, 30000);
    GUI_CHECK(!vessel_display_get_has_image(VESSEL_DISPLAY(display)));

    gtk_window_destroy(GTK_WINDOW(window));
    g_object_unref(vm);
    printf("gui-display (%s): OK\n", want);
    return 0;
}
