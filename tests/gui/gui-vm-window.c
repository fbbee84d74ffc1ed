/* SPDX-License-Identifier: MIT */
/*
 * The VM window on a real guest, driven through its actions: the title follows the state,
 * actions are enabled only where they apply, the console page shows the boot output and
 * sends typed text, pause/resume/power down work, closing a running VM asks (Keep
 * Running leaves it running and the window can be reopened), and files dropped on the
 * window land in the VM's shared folder (created on request when it has none).
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <vte/vte.h>

#include "vessel-store.h"
#include "vessel-vm-window.h"
#include "vmwin-test.h"

typedef struct {
    gboolean done, ok;
    gint64 id;
    GError *error;
} Result;

static gboolean result_done(gpointer data)
{
    return ((Result *)data)->done;
}

static gboolean store_open(gpointer data)
{
    return vessel_store_get_path(data)[0] != '\0';
}

static void created(GObject *src, GAsyncResult *res, gpointer data)
{
    Result *r = data;
    r->id = vessel_store_create_vm_finish(VESSEL_STORE(src), res, &r->error);
    r->ok = r->id != 0;
    r->done = TRUE;
}

static void find_widgets(GtkWidget *w, GType type, const char *action, GPtrArray *out)
{
    if (G_TYPE_CHECK_INSTANCE_TYPE(w, type)) {
        if (!action || (GTK_IS_ACTIONABLE(w) &&
                        g_strcmp0(gtk_actionable_get_action_name(GTK_ACTIONABLE(w)), action) == 0))
            g_ptr_array_add(out, w);
    }
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c))
        find_widgets(c, type, action, out);
}

static GtkWidget *find_one(GtkWidget *root, GType type)
{
    GPtrArray *all = g_ptr_array_new();
    find_widgets(root, type, NULL, all);
    GtkWidget *w = all->len ? all->pdata[0] : NULL;
    g_ptr_array_unref(all);
    return w;
}

/* Whether the buttons bound to this action are sensitive (all of them agree). */
static gboolean action_enabled(GtkWidget *root, const char *action)
{
    GPtrArray *buttons = g_ptr_array_new();
    find_widgets(root, GTK_TYPE_BUTTON, action, buttons);
    GUI_CHECK(buttons->len > 0);
    gboolean first = gtk_widget_get_sensitive(buttons->pdata[0]);
    for (guint i = 1; i < buttons->len; i++)
        GUI_CHECK(gtk_widget_get_sensitive(buttons->pdata[i]) == first);
    g_ptr_array_unref(buttons);
    return first;
}

static const char *subtitle(GtkWidget *win)
{
    AdwWindowTitle *t = ADW_WINDOW_TITLE(find_one(win, ADW_TYPE_WINDOW_TITLE));
    GUI_CHECK(t);
    return adw_window_title_get_subtitle(t);
}

static gboolean subtitle_is(gpointer data)
{
    void **pair = data;
    return g_strcmp0(subtitle(pair[0]), pair[1]) == 0;
}

static void wait_subtitle(GtkWidget *win, VesselVmState state)
{
    void *pair[2] = { win, (void *)vessel_vm_state_label(state) };
    if (!gui_wait_until(subtitle_is, pair, 30000)) {
        fprintf(stderr, "subtitle \"%s\", expected \"%s\"\n", subtitle(win), (const char *)pair[1]);
        exit(1);
    }
}

static AdwMessageDialog *find_dialog(GtkWindow *parent)
{
    AdwMessageDialog *found = NULL;
    GList *tops = gtk_window_list_toplevels();
    for (GList *l = tops; l; l = l->next) {
        if (ADW_IS_MESSAGE_DIALOG(l->data) &&
            gtk_window_get_transient_for(GTK_WINDOW(l->data)) == parent &&
            gtk_widget_get_visible(l->data))
            found = l->data;
    }
    g_list_free(tops);
    return found;
}

static gboolean dialog_shown(gpointer data)
{
    return find_dialog(data) != NULL;
}

/* As a click on a response button: the response, then the dialog goes. */
static void respond(AdwMessageDialog *dialog, const char *response)
{
    GUI_CHECK(dialog && adw_message_dialog_has_response(dialog, response));
    adw_message_dialog_response(dialog, response);
    gtk_window_destroy(GTK_WINDOW(dialog));
}

static gboolean not_copying(gpointer data)
{
    gboolean copying = TRUE;
    g_object_get(data, "copying", &copying, NULL);
    return !copying;
}

static gboolean file_exists(gpointer data)
{
    return g_file_test(data, G_FILE_TEST_EXISTS);
}

static gboolean terminal_has(VteTerminal *term, const char *text)
{
    /* The scrollback and the screen: from the adjustment's lower bound down. */
    glong first =
        (glong)gtk_adjustment_get_lower(gtk_scrollable_get_vadjustment(GTK_SCROLLABLE(term)));
    glong last =
        (glong)gtk_adjustment_get_upper(gtk_scrollable_get_vadjustment(GTK_SCROLLABLE(term)));
    char *range = vte_terminal_get_text_range(
        term, first, 0, last, vte_terminal_get_column_count(term), NULL, NULL, NULL);
    gboolean found = range && strstr(range, text);
    g_free(range);
    return found;
}

typedef struct {
    VteTerminal *term;
    const char *text;
} TermWait;

static gboolean term_wait_cb(gpointer data)
{
    TermWait *w = data;
    return terminal_has(w->term, w->text);
}

static void wait_terminal(VteTerminal *term, const char *text)
{
    TermWait w = { term, text };
    if (!gui_wait_until(term_wait_cb, &w, 30000)) {
        fprintf(stderr, "the console page never showed \"%s\"\n", text);
        exit(1);
    }
}

static void screenshot(GtkWidget *win, const char *name, int min_colours)
{
    char path[4096];
    vmwin_screenshot_path(path, sizeof path, name);
    int colours = vmwin_screenshot(win, path);
    printf("screenshot %s: %d colours\n", path, colours);
    GUI_CHECK(colours >= min_colours);
}

/* The window's shortcut controllers that are active (or, muted: switched off). */
static guint count_shortcut_controllers(GtkWidget *win, gboolean muted)
{
    GListModel *controllers = gtk_widget_observe_controllers(win);
    guint n = 0;
    for (guint i = 0; i < g_list_model_get_n_items(controllers); i++) {
        GtkEventController *c = g_list_model_get_item(controllers, i);
        if (GTK_IS_SHORTCUT_CONTROLLER(c) &&
            (gtk_event_controller_get_propagation_phase(c) == GTK_PHASE_NONE) == muted)
            n++;
        g_object_unref(c);
    }
    g_object_unref(controllers);
    return n;
}

static void find_drop_target(GtkWidget *w, GtkDropTarget **out)
{
    GListModel *controllers = gtk_widget_observe_controllers(w);
    for (guint i = 0; i < g_list_model_get_n_items(controllers) && !*out; i++) {
        GtkEventController *c = g_list_model_get_item(controllers, i);
        if (GTK_IS_DROP_TARGET(c))
            *out = GTK_DROP_TARGET(c);
        g_object_unref(c);
    }
    g_object_unref(controllers);
    for (GtkWidget *c = gtk_widget_get_first_child(w); c && !*out;
         c = gtk_widget_get_next_sibling(c))
        find_drop_target(c, out);
}

/* What a drop of these files on the window does: the drop target's "drop" signal with a
 * GdkFileList, as GTK emits it. */
static void drop_files(GtkWidget *win, GList *files)
{
    GtkDropTarget *target = NULL;
    find_drop_target(win, &target);
    GUI_CHECK(target);
    GUI_CHECK(
        gdk_content_formats_contain_gtype(gtk_drop_target_get_formats(target), GDK_TYPE_FILE_LIST));
    GSList *list = NULL;
    for (GList *l = files; l; l = l->next)
        list = g_slist_append(list, l->data);
    GValue value = G_VALUE_INIT;
    g_value_init(&value, GDK_TYPE_FILE_LIST);
    g_value_take_boxed(&value, gdk_file_list_new_from_list(list));
    g_slist_free(list);
    gboolean accepted = FALSE;
    g_signal_emit_by_name(target, "drop", &value, 10.0, 10.0, &accepted);
    g_value_unset(&value);
    GUI_CHECK(accepted);
}

static VesselVm *create_vm(VesselStore *store, VlVm *rec)
{
    Result r = { 0 };
    vessel_store_create_vm_async(store, rec, NULL, created, &r);
    GUI_CHECK(gui_wait_until(result_done, &r, 10000));
    if (!r.ok) {
        fprintf(stderr, "create: %s\n", r.error->message);
        exit(1);
    }
    VesselVm *vm = vessel_store_lookup(store, r.id);
    GUI_CHECK(vm);
    return vm;
}

static void activate(GtkWidget *win, const char *action, GVariant *param)
{
    GUI_CHECK(gtk_widget_activate_action_variant(win, action, param));
}

int main(void)
{
    VlVm rec;
    if (!vmwin_guest_record(&rec, "Window Test")) {
        printf("SKIP: guest assets missing; run tools/guest-assets\n");
        return 77;
    }
    adw_init();
    VesselApplication *app = vessel_application_new();
    GUI_CHECK(g_application_register(G_APPLICATION(app), NULL, NULL));
    /* Activation opens the library (the app's actions work once it is open). */
    g_application_activate(G_APPLICATION(app));
    VesselStore *store = vessel_application_get_store(app);
    GUI_CHECK(gui_wait_until(store_open, store, 10000));
    gui_spin(300);

    /* A VM with a writable shared folder, and one without. */
    char *tmp = g_dir_make_tmp("vessel-vmwin-XXXXXX", NULL);
    char *share_dir = g_build_filename(tmp, "share", NULL);
    GUI_CHECK(g_mkdir(share_dir, 0755) == 0);
    VlShare *ro = vl_vm_add_share(&rec);
    g_strlcpy(ro->path, tmp, sizeof ro->path);
    g_strlcpy(ro->tag, "readonly", sizeof ro->tag);
    ro->readonly = true;
    VlShare *share = vl_vm_add_share(&rec);
    g_strlcpy(share->path, share_dir, sizeof share->path);
    g_strlcpy(share->tag, "files", sizeof share->tag);
    VesselVm *vm = create_vm(store, &rec);
    vl_vm_clear(&rec);
    GUI_CHECK(vmwin_guest_record(&rec, "No Share"));
    VesselVm *bare = create_vm(store, &rec);
    vl_vm_clear(&rec);

    GtkWindow *win = vessel_application_open_vm_window(app, vm);
    GUI_CHECK(VESSEL_IS_VM_WINDOW(win));
    gtk_window_set_default_size(win, 900, 720);
    GtkWidget *w = GTK_WIDGET(win);
    gui_spin(300);
    GUI_CHECK(g_str_equal(gtk_window_get_title(win), "Window Test"));
    wait_subtitle(w, VESSEL_VM_STOPPED);
    GUI_CHECK(action_enabled(w, "vm.start"));
    GUI_CHECK(!action_enabled(w, "vm.pause"));
    GUI_CHECK(!action_enabled(w, "vm.powerdown"));
    screenshot(w, "vm-window-stopped.png", 3);
    /* Adaptive: the window fits a 360 px wide screen. */
    int min_width = 0;
    gtk_widget_measure(adw_application_window_get_content(ADW_APPLICATION_WINDOW(w)),
                       GTK_ORIENTATION_HORIZONTAL, -1, &min_width, NULL, NULL, NULL);
    printf("minimum width: %d\n", min_width);
    GUI_CHECK(min_width <= 360);
    gtk_window_set_default_size(win, 360, 640);
    gui_spin(500);
    screenshot(w, "vm-window-narrow.png", 3);
    gtk_window_set_default_size(win, 900, 720);
    gui_spin(300);

    /* Start through the window (app.start-vm); the title follows. */
    activate(w, "vm.start", NULL);
    vmwin_wait_state(vm, VESSEL_VM_RUNNING, 30000);
    wait_subtitle(w, VESSEL_VM_RUNNING);
    GUI_CHECK(!action_enabled(w, "vm.start"));
    GUI_CHECK(action_enabled(w, "vm.pause"));
    GUI_CHECK(action_enabled(w, "vm.powerdown"));
    if (!vmwin_wait_console(vm, "interactive shell", 60000)) {
        vmwin_dump_console(vm);
        return 1;
    }

    /* The console page: the boot output, and typed text goes to the guest. */
    activate(w, "vm.view", g_variant_new_string("console"));
    VteTerminal *term = VTE_TERMINAL(find_one(w, VTE_TYPE_TERMINAL));
    GUI_CHECK(term);
    wait_terminal(term, "interactive shell");
    const char *cmd = "echo win-$((5*5))\n";
    vte_terminal_feed_child(term, cmd, (gssize)strlen(cmd));
    wait_terminal(term, "win-25");
    GUI_CHECK(vmwin_wait_console(vm, "win-25", 10000));
    gui_spin(300);
    screenshot(w, "vm-window-console.png", 3);

    /* The display page with the running guest. */
    activate(w, "vm.view", g_variant_new_string("display"));
    VesselDisplay *display = VESSEL_DISPLAY(find_one(w, VESSEL_TYPE_DISPLAY));
    GUI_CHECK(display && vessel_display_get_vm(display) == vm);
    gui_spin(2000);
    GUI_CHECK(vessel_display_get_frames(display) > 0);
    screenshot(w, "vm-window.png", 10);

    /* Grabbed: the window's shortcut controllers (the application's Ctrl+Q among them) are
     * off, so every key goes to the guest; left Ctrl+Alt gives them back. */
    guint shortcut_controllers = count_shortcut_controllers(w, FALSE);
    GUI_CHECK(shortcut_controllers > 0);
    vessel_display_grab(display);
    GUI_CHECK(vessel_display_get_grabbed(display));
    GUI_CHECK(count_shortcut_controllers(w, FALSE) == 0);
    GUI_CHECK(count_shortcut_controllers(w, TRUE) == shortcut_controllers);
    gui_spin(400);
    screenshot(w, "vm-window-grabbed.png", 10);
    GUI_CHECK(vmwin_key_event(GTK_WIDGET(display), 29, TRUE));
    GUI_CHECK(vmwin_key_event(GTK_WIDGET(display), 56, TRUE));
    GUI_CHECK(!vessel_display_get_grabbed(display));
    GUI_CHECK(count_shortcut_controllers(w, FALSE) == shortcut_controllers);

    /* Pause and resume. */
    activate(w, "vm.pause", NULL);
    vmwin_wait_state(vm, VESSEL_VM_PAUSED, 10000);
    wait_subtitle(w, VESSEL_VM_PAUSED);
    GUI_CHECK(action_enabled(w, "vm.resume") && !action_enabled(w, "vm.pause"));
    GUI_CHECK(!action_enabled(w, "vm.powerdown"));
    activate(w, "vm.resume", NULL);
    vmwin_wait_state(vm, VESSEL_VM_RUNNING, 10000);
    wait_subtitle(w, VESSEL_VM_RUNNING);

    /* A drop: files land in the writable share ("files"), not the read-only one. */
    char *src = g_build_filename(tmp, "notes.txt", NULL);
    GUI_CHECK(g_file_set_contents(src, "dropped", -1, NULL));
    GList *files = g_list_append(NULL, g_file_new_for_path(src));
    drop_files(w, files); /* through the window's drop target, as a drag from Files */
    GUI_CHECK(gui_wait_until(not_copying, win, 10000));
    char *landed = g_build_filename(share_dir, "notes.txt", NULL);
    GUI_CHECK(g_file_test(landed, G_FILE_TEST_IS_REGULAR));
    /* Again: a numbered copy, the first one untouched. */
    vessel_vm_window_copy_files(VESSEL_VM_WINDOW(win), files);
    GUI_CHECK(gui_wait_until(not_copying, win, 10000));
    char *second = g_build_filename(share_dir, "notes (2).txt", NULL);
    GUI_CHECK(g_file_test(second, G_FILE_TEST_IS_REGULAR));

    /* A copy cancelled from the window (vm.cancel-copy) leaves no partial file. */
    char *big = g_build_filename(tmp, "big.bin", NULL);
    {
        gsize size = 64 * 1024 * 1024;
        char *data = g_malloc(size);
        memset(data, 0x5a, size);
        GUI_CHECK(g_file_set_contents(big, data, (gssize)size, NULL));
        g_free(data);
    }
    GList *bigs = g_list_append(NULL, g_file_new_for_path(big));
    vessel_vm_window_copy_files(VESSEL_VM_WINDOW(win), bigs);
    activate(w, "vm.cancel-copy", NULL);
    GUI_CHECK(gui_wait_until(not_copying, win, 10000));
    char *big_copy = g_build_filename(share_dir, "big.bin", NULL);
    GUI_CHECK(!g_file_test(big_copy, G_FILE_TEST_EXISTS));
    g_list_free_full(bigs, g_object_unref);

    /* Closing a running VM's window asks; Keep Running closes it and the VM runs on. */
    GSettings *settings = vessel_application_get_settings(app);
    gtk_window_close(win);
    GUI_CHECK(gui_wait_until(dialog_shown, win, 5000));
    AdwMessageDialog *dialog = find_dialog(win);
    GUI_CHECK(adw_message_dialog_has_response(dialog, "powerdown"));
    GUI_CHECK(adw_message_dialog_has_response(dialog, "force-stop"));
    respond(dialog, "keep");
    gui_spin(500);
    GUI_CHECK(vessel_application_lookup_vm_window(app, vm) == NULL);
    GUI_CHECK(vessel_vm_get_state(vm) == VESSEL_VM_RUNNING);
    if (settings) {
        GUI_CHECK(g_settings_get_int(settings, "vm-window-width") == 900);
        GUI_CHECK(g_settings_get_int(settings, "vm-window-height") == 720);
    }

    /* Reopened: the saved size, the running state and the console history are there. */
    win = vessel_application_open_vm_window(app, vm);
    w = GTK_WIDGET(win);
    if (settings) {
        int dw = 0, dh = 0;
        gtk_window_get_default_size(win, &dw, &dh);
        GUI_CHECK(dw == 900 && dh == 720);
    }
    gui_spin(300);
    wait_subtitle(w, VESSEL_VM_RUNNING);
    term = VTE_TERMINAL(find_one(w, VTE_TYPE_TERMINAL));
    wait_terminal(term, "win-25");

    /* Power down through the window: the guest powers off, the window shows Stopped. */
    activate(w, "vm.powerdown", NULL);
    vmwin_wait_state(vm, VESSEL_VM_STOPPED, 60000);
    wait_subtitle(w, VESSEL_VM_STOPPED);
    GUI_CHECK(action_enabled(w, "vm.start") && !action_enabled(w, "vm.resume"));
    gui_spin(500);
    screenshot(w, "vm-window-powered-off.png", 3);
    gtk_window_close(win); /* stopped: closes without asking */
    gui_spin(300);
    GUI_CHECK(vessel_application_lookup_vm_window(app, vm) == NULL);

    /* A VM without a writable share: the window offers to create one, then copies. */
    win = vessel_application_open_vm_window(app, bare);
    gui_spin(300);
    vessel_vm_window_copy_files(VESSEL_VM_WINDOW(win), files);
    GUI_CHECK(gui_wait_until(dialog_shown, win, 5000));
    respond(find_dialog(win), "create");
    char *bundle = vessel_store_bundle_path(store, vessel_vm_get_record(bare)->uuid);
    char *created_copy = g_build_filename(bundle, "shared", "notes.txt", NULL);
    GUI_CHECK(gui_wait_until(file_exists, created_copy, 10000));
    GUI_CHECK(gui_wait_until(not_copying, win, 10000));
    const VlVm *after = vessel_vm_get_record(bare);
    GUI_CHECK(after->n_shares == 1 && !after->shares[0].readonly);
    GUI_CHECK(g_str_equal(after->shares[0].tag, "vessel"));

    /* Closing with Power Down: the guest powers off and the window goes. */
    activate(GTK_WIDGET(win), "vm.start", NULL);
    vmwin_wait_state(bare, VESSEL_VM_RUNNING, 30000);
    if (!vmwin_wait_console(bare, "interactive shell", 60000)) {
        vmwin_dump_console(bare);
        return 1;
    }
    gtk_window_close(win);
    GUI_CHECK(gui_wait_until(dialog_shown, win, 5000));
    respond(find_dialog(win), "powerdown");
    vmwin_wait_state(bare, VESSEL_VM_STOPPED, 60000);
    gui_spin(300);
    GUI_CHECK(vessel_application_lookup_vm_window(app, bare) == NULL);
    printf("closed with Power Down: %s\n", vessel_vm_get_stop_message(bare));

    g_list_free_full(files, g_object_unref);
    char *argv[] = { "rm", "-rf", tmp, NULL };
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    printf("gui-vm-window: OK\n");
    return 0;
}
