/* SPDX-License-Identifier: MIT */
/*
 * gui-settings: the settings window on a VesselStore over a temporary library. Every
 * change is made through the window's widgets and actions; the record is then read back
 * from the library file (vl_vm_get on the store's worker) to check that each valid change
 * landed and each invalid one did not.
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "gui-test.h"
#include "vessel-application.h"
#include "vessel-settings.h"
#include "vessel-store.h"
#include "vessel-vm.h"

typedef struct {
    gboolean done;
    gboolean ok;
    gint64 id;
    GError *error;
} Wait;

static gboolean wait_done(gpointer data)
{
    return ((Wait *)data)->done;
}

static void opened(GObject *source, GAsyncResult *res, gpointer data)
{
    Wait *w = data;
    w->ok = vessel_store_open_finish(VESSEL_STORE(source), res, &w->error);
    w->done = TRUE;
}

static void created(GObject *source, GAsyncResult *res, gpointer data)
{
    Wait *w = data;
    w->id = vessel_store_create_vm_finish(VESSEL_STORE(source), res, &w->error);
    w->done = TRUE;
}

static void deleted(GObject *source, GAsyncResult *res, gpointer data)
{
    Wait *w = data;
    w->ok = vessel_store_delete_vm_finish(VESSEL_STORE(source), res, &w->error);
    w->done = TRUE;
}

static void ran(GObject *source, GAsyncResult *res, gpointer data)
{
    Wait *w = data;
    w->ok = vessel_store_run_finish(VESSEL_STORE(source), res, &w->error);
    w->done = TRUE;
}

static gint64 create_vm(VesselStore *store, const char *name, gboolean with_nat)
{
    VlVm rec;
    vl_vm_init(&rec);
    g_strlcpy(rec.name, name, sizeof(rec.name));
    if (with_nat) {
        VlNic *nic = vl_vm_add_nic(&rec);
        nic->mode = VL_NET_USER;
    }
    Wait w = { 0 };
    vessel_store_create_vm_async(store, &rec, NULL, created, &w);
    GUI_CHECK(gui_wait_until(wait_done, &w, 10000));
    if (w.error)
        fprintf(stderr, "create %s: %s\n", name, w.error->message);
    GUI_CHECK(w.id > 0);
    vl_vm_clear(&rec);
    return w.id;
}

/* Read a VM straight from the library (on the store's worker thread). */
typedef struct {
    gint64 id;
    VlVm vm;
} ReadBack;

static VlStatus read_vm(VlLibrary *lib, gpointer data, VlError *err)
{
    ReadBack *rb = data;
    return vl_vm_get(lib, rb->id, &rb->vm, err);
}

static void read_back(VesselStore *store, gint64 id, VlVm *out)
{
    ReadBack *rb = g_new0(ReadBack, 1);
    rb->id = id;
    Wait w = { 0 };
    vessel_store_run_async(store, read_vm, rb, NULL, NULL, ran, &w);
    GUI_CHECK(gui_wait_until(wait_done, &w, 10000));
    if (w.error)
        fprintf(stderr, "vl_vm_get: %s\n", w.error->message);
    GUI_CHECK(w.ok);
    *out = rb->vm;
    g_free(rb);
}

static gboolean widget_gone(gpointer data);
static void screenshot(GtkWidget *win, const char *page, const char *file);
static void wait_idle(GtkWidget *win);
static GtkWidget *need(GtkWidget *win, const char *name);

static GtkWidget *find_named(GtkWidget *root, const char *name)
{
    if (!g_strcmp0(gtk_widget_get_name(root), name))
        return root;
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *found = find_named(c, name);
        if (found)
            return found;
    }
    return NULL;
}

static GtkWidget *need(GtkWidget *win, const char *name)
{
    GtkWidget *w = find_named(win, name);
    if (!w)
        fprintf(stderr, "no widget named %s\n", name);
    GUI_CHECK(w != NULL);
    return w;
}

static gboolean idle_cond(gpointer data)
{
    return !vessel_settings_is_busy(VESSEL_SETTINGS(data));
}

static void wait_idle(GtkWidget *win)
{
    gui_spin(20);
    GUI_CHECK(gui_wait_until(idle_cond, win, 10000));
}

static const char *row_title(GtkWidget *row)
{
    return adw_preferences_row_get_title(ADW_PREFERENCES_ROW(row));
}

typedef struct {
    GtkWidget *row;
    const char *want;
} SubtitleWait;

static gboolean subtitle_is(gpointer data)
{
    SubtitleWait *s = data;
    return !g_strcmp0(adw_action_row_get_subtitle(ADW_ACTION_ROW(s->row)), s->want);
}

static gboolean subtitle_differs(gpointer data)
{
    return !subtitle_is(data);
}

static gboolean named_exists(gpointer data)
{
    gpointer *args = data;
    return find_named(args[0], args[1]) != NULL;
}

static GtkWidget *find_type(GtkWidget *root, GType type)
{
    if (G_TYPE_CHECK_INSTANCE_TYPE(root, type))
        return root;
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *found = find_type(c, type);
        if (found)
            return found;
    }
    return NULL;
}

static void started(GObject *source, GAsyncResult *res, gpointer data)
{
    Wait *w = data;
    w->ok = vessel_vm_start_finish(VESSEL_VM(source), res, &w->error);
    w->done = TRUE;
}

static void acted(GObject *source, GAsyncResult *res, gpointer data)
{
    Wait *w = data;
    w->ok = vessel_vm_action_finish(VESSEL_VM(source), res, &w->error);
    w->done = TRUE;
}

static gboolean vm_stopped(gpointer data)
{
    return vessel_vm_get_state(VESSEL_VM(data)) == VESSEL_VM_STOPPED;
}

static gboolean group_visible(GtkWidget *win, const char *note)
{
    return gtk_widget_get_visible(
        gtk_widget_get_ancestor(need(win, note), ADW_TYPE_PREFERENCES_GROUP));
}

/*
 * With the demo guest running: the tier and pinning rows show the running machine's
 * summaries, a hardware change shows the restart note (and is still saved), and both go
 * back when the VM stops.
 */
static void test_running(VesselStore *store)
{
    VlVm rec;
    g_autoptr(GError) error = NULL;
    if (!vessel_demo_fill_record(&rec, &error)) {
        printf("running-VM part skipped: %s\n", error->message);
        return;
    }
    g_strlcpy(rec.name, "Running VM", sizeof(rec.name));
    Wait w = { 0 };
    vessel_store_create_vm_async(store, &rec, NULL, created, &w);
    GUI_CHECK(gui_wait_until(wait_done, &w, 10000) && w.id > 0);
    vl_vm_clear(&rec);
    VesselVm *vm = vessel_store_lookup(store, w.id);
    GtkWidget *win = GTK_WIDGET(vessel_settings_new_for_store(store, NULL, vm, NULL));
    g_object_add_weak_pointer(G_OBJECT(win), (gpointer *)&win);
    gtk_window_present(GTK_WINDOW(win));
    gui_spin(300);
    GtkWidget *tier = need(win, "tier-row"), *pin = need(win, "pin-summary-row");
    GUI_CHECK(!strcmp(adw_action_row_get_subtitle(ADW_ACTION_ROW(tier)), "Not running"));

    w = (Wait){ 0 };
    vessel_vm_start_async(vm, NULL, started, &w);
    GUI_CHECK(gui_wait_until(wait_done, &w, 30000));
    if (w.error)
        fprintf(stderr, "start: %s\n", w.error->message);
    GUI_CHECK(w.ok);
    gui_spin(100);
    printf("running: tier '%s', pinning '%s'\n", adw_action_row_get_subtitle(ADW_ACTION_ROW(tier)),
           adw_action_row_get_subtitle(ADW_ACTION_ROW(pin)));
    GUI_CHECK(*vessel_vm_get_accel_summary(vm));
    GUI_CHECK(!strcmp(adw_action_row_get_subtitle(ADW_ACTION_ROW(tier)),
                      vessel_vm_get_accel_summary(vm)));
    GUI_CHECK(
        !strcmp(adw_action_row_get_subtitle(ADW_ACTION_ROW(pin)), vessel_vm_get_pin_summary(vm)));
    GUI_CHECK(!group_visible(win, "restart-note-general"));
    GtkSpinButton *vcpus = GTK_SPIN_BUTTON(need(win, "vcpus-spin"));
    gtk_spin_button_set_value(vcpus, gtk_spin_button_get_value(vcpus) == 1 ? 2 : 1);
    GUI_CHECK(group_visible(win, "restart-note-general"));
    GUI_CHECK(group_visible(win, "restart-note-display"));
    wait_idle(win);
    screenshot(win, "general", "settings-running.png");

    w = (Wait){ 0 };
    vessel_vm_action_async(vm, VESSEL_VM_ACTION_FORCE_STOP, NULL, acted, &w);
    GUI_CHECK(gui_wait_until(wait_done, &w, 10000) && w.ok);
    GUI_CHECK(gui_wait_until(vm_stopped, vm, 30000));
    gui_spin(100);
    GUI_CHECK(!strcmp(adw_action_row_get_subtitle(ADW_ACTION_ROW(tier)), "Not running"));
    GUI_CHECK(!group_visible(win, "restart-note-general"));
    /* The change made while running was saved. */
    GUI_CHECK(vessel_vm_get_record(vm)->vcpus == gtk_spin_button_get_value_as_int(vcpus));
    gtk_window_close(GTK_WINDOW(win));
    GUI_CHECK(gui_wait_until(widget_gone, &win, 10000));
}

static gboolean widget_gone(gpointer data)
{
    return *(GtkWidget **)data == NULL;
}

static void screenshot(GtkWidget *win, const char *page, const char *file)
{
    adw_preferences_window_set_visible_page_name(ADW_PREFERENCES_WINDOW(win), page);
    gui_spin(600);
    const char *dir = g_getenv("VESSEL_SCREENSHOT_DIR");
    g_autofree char *path = g_build_filename(dir && *dir ? dir : ".", file, NULL);
    g_autofree char *parent = g_path_get_dirname(path);
    g_mkdir_with_parents(parent, 0755);
    int colours = gui_screenshot(win, path);
    printf("screenshot %s: %d colours\n", path, colours);
    GUI_CHECK(colours > 16);
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    gtk_init();
    adw_init();
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

    g_autofree char *tmp = g_dir_make_tmp("vessel-gui-settings-XXXXXX", NULL);
    GUI_CHECK(tmp != NULL);
    g_autofree char *db = g_build_filename(tmp, "library.db", NULL);
    g_autofree char *shared = g_build_filename(tmp, "shared", NULL);
    GUI_CHECK(g_mkdir(shared, 0755) == 0);

    VesselStore *store = vessel_store_new(db);
    Wait w = { 0 };
    vessel_store_open_async(store, NULL, opened, &w);
    GUI_CHECK(gui_wait_until(wait_done, &w, 10000));
    if (w.error)
        fprintf(stderr, "open: %s\n", w.error->message);
    GUI_CHECK(w.ok);

    gint64 id = create_vm(store, "Test VM", TRUE);
    create_vm(store, "Other VM", FALSE);
    VesselVm *vm = vessel_store_lookup(store, id);
    GUI_CHECK(vm != NULL);
    VlVm before, got;
    read_back(store, id, &before);

    GtkWidget *win = GTK_WIDGET(vessel_settings_new_for_store(store, NULL, vm, NULL));
    GUI_CHECK(win != NULL);
    g_object_add_weak_pointer(G_OBJECT(win), (gpointer *)&win);
    gtk_window_present(GTK_WINDOW(win));
    gui_spin(500);

    /* The host's cores (vs_host_cpu_summary) and "Not running" while stopped. */
    GtkWidget *host_row = need(win, "host-cpus-row");
    SubtitleWait detecting = { host_row, "Detecting…" };
    GUI_CHECK(gui_wait_until(subtitle_differs, &detecting, 5000));
    const char *host = adw_action_row_get_subtitle(ADW_ACTION_ROW(host_row));
    printf("host cores: %s\n", host);
    GUI_CHECK(strstr(host, "CPU") != NULL);
    GUI_CHECK(
        !strcmp(adw_action_row_get_subtitle(ADW_ACTION_ROW(need(win, "tier-row"))), "Not running"));

    /* General: a duplicate name is refused with the library's message, then a rename. */
    GtkWidget *name_row = need(win, "name-row");
    GtkWidget *name_error = need(win, "name-error-row");
    gtk_editable_set_text(GTK_EDITABLE(name_row), "Other VM");
    g_signal_emit_by_name(name_row, "apply");
    wait_idle(win);
    printf("duplicate name: %s\n", row_title(name_error));
    GUI_CHECK(gtk_widget_get_visible(name_error));
    GUI_CHECK(strstr(row_title(name_error), "Other VM") != NULL);
    gtk_editable_set_text(GTK_EDITABLE(name_row), "Renamed VM");
    g_signal_emit_by_name(name_row, "apply");
    wait_idle(win);
    GUI_CHECK(!gtk_widget_get_visible(name_error));

    /* Memory (MiB, bounded by the host's RAM) and vCPUs. */
    GtkSpinButton *memory = GTK_SPIN_BUTTON(need(win, "memory-spin"));
    double lo, hi;
    gtk_spin_button_get_range(memory, &lo, &hi);
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    GUI_CHECK(hi == (double)((guint64)pages * (guint64)psize / (1024 * 1024)));
    gtk_spin_button_set_value(memory, 768);
    GtkSpinButton *vcpus = GTK_SPIN_BUTTON(need(win, "vcpus-spin"));
    gtk_spin_button_get_range(vcpus, &lo, &hi);
    GUI_CHECK(lo == 1 && hi == MIN(512, 2 * (int)g_get_num_processors()));
    gtk_spin_button_set_value(vcpus, 2);

    /* Performance: interpreter; pinning to the explicit list "0", then "0-" refused. */
    adw_combo_row_set_selected(ADW_COMBO_ROW(need(win, "accel-row")), VL_ACCEL_INTERPRETER);
    GtkWidget *pin_list = need(win, "pin-list-row");
    GtkWidget *pin_error = need(win, "pin-error-row");
    GUI_CHECK(!gtk_widget_get_visible(pin_list));
    adw_combo_row_set_selected(ADW_COMBO_ROW(need(win, "pin-row")), VL_PIN_LIST);
    GUI_CHECK(gtk_widget_get_visible(pin_list));
    GUI_CHECK(gtk_widget_get_visible(pin_error)); /* an empty list is not one */
    gtk_editable_set_text(GTK_EDITABLE(pin_list), "0");
    g_signal_emit_by_name(pin_list, "apply");
    GUI_CHECK(!gtk_widget_get_visible(pin_error));
    wait_idle(win);
    gtk_editable_set_text(GTK_EDITABLE(pin_list), "0-");
    g_signal_emit_by_name(pin_list, "apply");
    GUI_CHECK(gtk_widget_get_visible(pin_error));
    printf("invalid CPU list: %s\n", row_title(pin_error));
    GUI_CHECK(strstr(row_title(pin_error), "0-") != NULL && !strstr(row_title(pin_error), "--pin"));
    GUI_CHECK(!vessel_settings_is_busy(VESSEL_SETTINGS(win))); /* nothing queued */

    /* Network: the MAC the library generated is shown. */
    GUI_CHECK(!strcmp(adw_action_row_get_subtitle(ADW_ACTION_ROW(need(win, "mac-row"))),
                      before.nics[0].mac));

    /* Network: a port forward, then the same host port again (the library refuses it). */
    GtkWidget *fwd_error = need(win, "forward-error-row");
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(need(win, "forward-host-spin")), 8080);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(need(win, "forward-guest-spin")), 80);
    gtk_widget_activate_action(win, "settings.add-forward", NULL);
    wait_idle(win);
    GUI_CHECK(!gtk_widget_get_visible(fwd_error));
    GUI_CHECK(find_named(win, "forward-tcp:8080") != NULL);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(need(win, "forward-guest-spin")), 8000);
    gtk_widget_activate_action(win, "settings.add-forward", NULL);
    wait_idle(win);
    printf("duplicate forward: %s\n", row_title(fwd_error));
    GUI_CHECK(gtk_widget_get_visible(fwd_error));
    GUI_CHECK(strstr(row_title(fwd_error), "8080") != NULL);
    /* A UDP forward, then removed again. */
    adw_combo_row_set_selected(ADW_COMBO_ROW(need(win, "forward-proto-row")), 1);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(need(win, "forward-host-spin")), 5353);
    gtk_widget_activate_action(win, "settings.add-forward", NULL);
    wait_idle(win);
    GUI_CHECK(!gtk_widget_get_visible(fwd_error));
    GUI_CHECK(find_named(win, "forward-udp:5353") != NULL);
    gtk_widget_activate_action(win, "settings.remove-forward", "s", "udp:5353");
    GUI_CHECK(find_named(win, "forward-udp:5353") == NULL);
    wait_idle(win);

    /* Shared folders: an invalid tag is refused inline, then a valid one is added. */
    GtkWidget *share_error = need(win, "share-error-row");
    gtk_widget_activate_action(win, "settings.set-share-path", "s", shared);
    SubtitleWait chosen = { need(win, "share-path-row"), shared };
    GUI_CHECK(gui_wait_until(subtitle_is, &chosen, 5000));
    GtkWidget *tag = need(win, "share-tag-row");
    GUI_CHECK(!strcmp(gtk_editable_get_text(GTK_EDITABLE(tag)), "shared")); /* suggested */
    gtk_editable_set_text(GTK_EDITABLE(tag), "bad tag!");
    gtk_widget_activate_action(win, "settings.add-share", NULL);
    GUI_CHECK(gtk_widget_get_visible(share_error));
    GUI_CHECK(!vessel_settings_is_busy(VESSEL_SETTINGS(win)));
    gtk_editable_set_text(GTK_EDITABLE(tag), "hostdata");
    gtk_switch_set_active(GTK_SWITCH(need(win, "share-readonly-switch")), TRUE);
    gtk_widget_activate_action(win, "settings.add-share", NULL);
    wait_idle(win);
    GUI_CHECK(!gtk_widget_get_visible(share_error));
    /* A second share, then removed again. */
    gtk_widget_activate_action(win, "settings.set-share-path", "s", tmp);
    SubtitleWait chosen2 = { need(win, "share-path-row"), tmp };
    GUI_CHECK(gui_wait_until(subtitle_is, &chosen2, 5000));
    gtk_editable_set_text(GTK_EDITABLE(tag), "extra");
    gtk_widget_activate_action(win, "settings.add-share", NULL);
    wait_idle(win);
    GUI_CHECK(find_named(win, "share-extra") != NULL);
    gtk_widget_activate_action(win, "settings.remove-share", "s", "extra");
    GUI_CHECK(find_named(win, "share-extra") == NULL);
    wait_idle(win);
    GtkWidget *share_row = need(win, "share-hostdata");
    printf("share row: %s\n", adw_action_row_get_subtitle(ADW_ACTION_ROW(share_row)));
    GUI_CHECK(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(share_row)),
                     "mount -t 9p -o trans=virtio,version=9p2000.L hostdata /mnt") != NULL);
    GUI_CHECK(!gtk_widget_get_visible(
        gtk_widget_get_ancestor(need(win, "restart-note-general"), ADW_TYPE_PREFERENCES_GROUP)));

    /* Storage: a qcow2 image and a raw one (formats from the header), a missing file. */
    g_autofree char *qcow = g_build_filename(tmp, "disk.qcow2", NULL);
    g_autofree char *raw = g_build_filename(tmp, "disk.img", NULL);
    g_autofree char *iso = g_build_filename(tmp, "boot.iso", NULL);
    GUI_CHECK(g_file_set_contents(qcow, "QFI\xfb\0\0\0\3", 8, NULL));
    GUI_CHECK(g_file_set_contents(raw, "\0\0\0\0\0\0\0\0", 8, NULL));
    GUI_CHECK(g_file_set_contents(iso, "CD001", 5, NULL));
    gtk_widget_activate_action(win, "settings.add-drive-path", "s", qcow);
    GUI_CHECK(gui_wait_until(named_exists, (gpointer[]){ win, "drive-0" }, 5000));
    wait_idle(win);
    gtk_widget_activate_action(win, "settings.add-drive-path", "s", raw);
    GUI_CHECK(gui_wait_until(named_exists, (gpointer[]){ win, "drive-1" }, 5000));
    wait_idle(win);
    gtk_widget_activate_action(win, "settings.add-drive-path", "s", "/nonexistent/disk.img");
    gui_spin(300);
    wait_idle(win);
    GUI_CHECK(find_named(win, "drive-2") == NULL);
    GtkWidget *qcow_format = find_type(need(win, "drive-0"), GTK_TYPE_DROP_DOWN);
    GUI_CHECK(gtk_drop_down_get_selected(GTK_DROP_DOWN(qcow_format)) == 1); /* qcow2 */
    GtkWidget *raw_format = find_type(need(win, "drive-1"), GTK_TYPE_DROP_DOWN);
    GUI_CHECK(gtk_drop_down_get_selected(GTK_DROP_DOWN(raw_format)) == 0); /* raw */
    gtk_switch_set_active(GTK_SWITCH(find_type(need(win, "drive-1"), GTK_TYPE_SWITCH)), TRUE);
    gtk_widget_activate_action(win, "settings.remove-drive", "i", 0);
    GUI_CHECK(find_named(win, "drive-0") == NULL);
    /* The CD slot: insert, eject, insert. */
    GtkWidget *media = need(win, "media-row");
    gtk_widget_activate_action(win, "settings.insert-media-path", "s", iso);
    SubtitleWait inserted = { media, iso };
    GUI_CHECK(gui_wait_until(subtitle_is, &inserted, 5000));
    wait_idle(win);
    gtk_widget_activate_action(win, "settings.eject-media", NULL);
    GUI_CHECK(!strcmp(adw_action_row_get_subtitle(ADW_ACTION_ROW(media)), "Empty"));
    wait_idle(win);
    read_back(store, id, &got);
    GUI_CHECK(got.n_media == 1 && got.media[0].slot == 0 && got.media[0].path[0] == 0);
    vl_vm_clear(&got);
    gtk_widget_activate_action(win, "settings.insert-media-path", "s", iso);
    GUI_CHECK(gui_wait_until(subtitle_is, &inserted, 5000));

    /* Display. */
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(need(win, "display-width-spin")), 1280);
    gtk_spin_button_set_value(GTK_SPIN_BUTTON(need(win, "display-height-spin")), 720);
    gtk_switch_set_active(GTK_SWITCH(need(win, "scale-switch")), TRUE);
    adw_combo_row_set_selected(ADW_COMBO_ROW(need(win, "gl-row")), VL_GL_OFF);
    wait_idle(win);

    /* The window's own view of the record stays as it was edited. */
    screenshot(win, "performance", "settings-performance.png");
    screenshot(win, "network", "settings-network.png");
    screenshot(win, "shares", "settings-shares.png");
    screenshot(win, "storage", "settings-storage.png");

    /* Adaptive: the window works at 360 px wide. */
    int min_width;
    /* The window's content (the window itself adds its client-side shadow). */
    gtk_widget_measure(gtk_widget_get_first_child(win), GTK_ORIENTATION_HORIZONTAL, -1, &min_width,
                       NULL, NULL, NULL);
    printf("minimum width: %d\n", min_width);
    GUI_CHECK(min_width <= 360);
    gtk_window_set_default_size(GTK_WINDOW(win), 360, 700);
    gui_spin(300);
    screenshot(win, "general", "settings-narrow.png");

    /* Read the record back from the library file. */
    read_back(store, id, &got);
    printf("library: name '%s', %" G_GUINT64_FORMAT " MiB, %d vCPUs, accel %s, pin %s '%s', "
           "%zu forwards, %zu shares, display %dx%d fit %d gl %s\n",
           got.name, (guint64)(got.memory_bytes >> 20), got.vcpus, vl_accel_name(got.accel),
           vl_pin_name(got.pin), got.pin_cpus, got.n_nics ? got.nics[0].n_forwards : 0,
           got.n_shares, got.display.width, got.display.height, got.display.scale_to_fit,
           vl_gl_name(got.display.gl));
    GUI_CHECK(!strcmp(got.name, "Renamed VM"));
    GUI_CHECK(got.memory_bytes == 768ull << 20);
    GUI_CHECK(got.vcpus == 2);
    GUI_CHECK(got.accel == VL_ACCEL_INTERPRETER);
    GUI_CHECK(got.pin == VL_PIN_LIST && !strcmp(got.pin_cpus, "0")); /* not "0-" */
    GUI_CHECK(got.n_nics == 1 && got.nics[0].mode == VL_NET_USER);
    GUI_CHECK(!strcmp(got.nics[0].mac, before.nics[0].mac)); /* the MAC is kept */
    GUI_CHECK(got.nics[0].n_forwards == 1);                  /* the duplicate did not land */
    GUI_CHECK(!strcmp(got.nics[0].forwards[0].proto, "tcp"));
    GUI_CHECK(got.nics[0].forwards[0].host_port == 8080);
    GUI_CHECK(got.nics[0].forwards[0].guest_port == 80);
    GUI_CHECK(got.n_shares == 1);
    GUI_CHECK(!strcmp(got.shares[0].tag, "hostdata") && !strcmp(got.shares[0].path, shared));
    GUI_CHECK(got.shares[0].readonly);
    GUI_CHECK(got.display.width == 1280 && got.display.height == 720);
    GUI_CHECK(got.display.scale_to_fit && got.display.gl == VL_GL_OFF);
    /* Settings not touched stay as created. */
    GUI_CHECK(got.jit_threshold == before.jit_threshold && !strcmp(got.os_kind, before.os_kind));
    GUI_CHECK(got.n_drives == 1 && !strcmp(got.drives[0].path, raw));
    GUI_CHECK(!strcmp(got.drives[0].format, "raw") && got.drives[0].readonly);
    GUI_CHECK(got.n_media == 1 && !strcmp(got.media[0].path, iso));
    vl_vm_clear(&got);

    /* Bridged: no interface name, then one too long, stay local; then tap0 is saved, and
     * the NAT port forwards go (the group's description says so). */
    GtkWidget *ifname = need(win, "ifname-row");
    GtkWidget *net_error = need(win, "net-error-row");
    adw_combo_row_set_selected(ADW_COMBO_ROW(need(win, "net-mode-row")), VL_NET_BRIDGE);
    GUI_CHECK(gtk_widget_get_visible(ifname) && gtk_widget_get_visible(net_error));
    GUI_CHECK(!vessel_settings_is_busy(VESSEL_SETTINGS(win)));
    gtk_editable_set_text(GTK_EDITABLE(ifname), "tap-name-too-long");
    g_signal_emit_by_name(ifname, "apply");
    printf("long interface name: %s\n", row_title(net_error));
    GUI_CHECK(gtk_widget_get_visible(net_error) && strstr(row_title(net_error), "15"));
    GUI_CHECK(!vessel_settings_is_busy(VESSEL_SETTINGS(win)));
    read_back(store, id, &got);
    GUI_CHECK(got.nics[0].mode == VL_NET_USER && got.nics[0].n_forwards == 1);
    vl_vm_clear(&got);
    gtk_editable_set_text(GTK_EDITABLE(ifname), "tap0");
    g_signal_emit_by_name(ifname, "apply");
    GUI_CHECK(!gtk_widget_get_visible(net_error));
    wait_idle(win);
    read_back(store, id, &got);
    GUI_CHECK(got.n_nics == 1 && got.nics[0].mode == VL_NET_BRIDGE);
    GUI_CHECK(!strcmp(got.nics[0].ifname, "tap0") && got.nics[0].n_forwards == 0);
    GUI_CHECK(!strcmp(got.nics[0].mac, before.nics[0].mac));
    vl_vm_clear(&got);

    /* A change typed but not entered is written when the window closes. */
    GtkSpinButton *jit = GTK_SPIN_BUTTON(need(win, "jit-spin"));
    gtk_editable_set_text(GTK_EDITABLE(jit), "777");
    gtk_window_close(GTK_WINDOW(win));
    GUI_CHECK(gui_wait_until(widget_gone, &win, 10000));
    read_back(store, id, &got);
    printf("after close: JIT threshold %d\n", got.jit_threshold);
    GUI_CHECK(got.jit_threshold == 777);
    GUI_CHECK(got.pin == VL_PIN_LIST && !strcmp(got.pin_cpus, "0"));
    vl_vm_clear(&got);
    vl_vm_clear(&before);

    /* Deleting a VM closes its settings window. */
    gint64 other = 0;
    for (guint i = 0; i < g_list_model_get_n_items(vessel_store_get_vms(store)); i++) {
        g_autoptr(VesselVm) v = g_list_model_get_item(vessel_store_get_vms(store), i);
        if (!strcmp(vessel_vm_get_name(v), "Other VM"))
            other = vessel_vm_get_id(v);
    }
    GUI_CHECK(other > 0);
    win = GTK_WIDGET(
        vessel_settings_new_for_store(store, NULL, vessel_store_lookup(store, other), NULL));
    g_object_add_weak_pointer(G_OBJECT(win), (gpointer *)&win);
    gtk_window_present(GTK_WINDOW(win));
    gui_spin(200);
    w = (Wait){ 0 };
    vessel_store_delete_vm_async(store, other, FALSE, NULL, deleted, &w);
    GUI_CHECK(gui_wait_until(wait_done, &w, 10000) && w.ok);
    GUI_CHECK(gui_wait_until(widget_gone, &win, 5000));

    test_running(store);

    g_object_unref(store);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", tmp);
    GUI_CHECK(system(rm) == 0);
    printf("gui-settings: ok\n");
    return 0;
}
