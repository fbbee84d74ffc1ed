/* SPDX-License-Identifier: MIT */
/*
 * gui-main-window: the main window over a fresh library (a VesselStore on a temporary
 * file). The empty state shows; two VMs created through the store appear in name order
 * with their states; selecting shows details (the share's guest mount command among
 * them); rename through the dialog, a duplicate-name rename refused with the library's
 * message and nothing changed; clone with numbered names; delete with and without
 * "Keep disk images"; a 360 px window folds the leaflet. Screenshots of each state go to
 * $VESSEL_SCREENSHOT_DIR.
 */
#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "gui-test.h"
#include "vessel-application.h"
#include "vessel-store.h"
#include "vessel-window.h"

/* The guest's shell is up (its init printed the interactive-shell line). */
static gboolean guest_ready(gpointer data)
{
    GBytes *b = vessel_vm_get_console_history(VESSEL_VM(data));
    gsize n = 0;
    const char *p = g_bytes_get_data(b, &n);
    gboolean ready = p && g_strstr_len(p, (gssize)n, "interactive shell") != NULL;
    g_bytes_unref(b);
    return ready;
}

static const char *screenshot_dir;

/* ---- Widget-tree helpers ---------------------------------------------------------- */

/* The first widget under root (root included) of the given type that is mapped, when
 * mapped_only, and whose label text contains text (for labels), or NULL. */
static GtkWidget *find_widget(GtkWidget *root, GType type, const char *text, gboolean mapped_only)
{
    if (mapped_only && !gtk_widget_get_mapped(root))
        return NULL;
    if (G_TYPE_CHECK_INSTANCE_TYPE(root, type)) {
        if (!text)
            return root;
        if (GTK_IS_LABEL(root) && strstr(gtk_label_get_text(GTK_LABEL(root)), text))
            return root;
    }
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *found = find_widget(c, type, text, mapped_only);
        if (found)
            return found;
    }
    return NULL;
}

/* The VM list: the list box styled as a sidebar (preference groups hold list boxes too). */
static GtkWidget *find_vm_list(GtkWidget *root)
{
    if (GTK_IS_LIST_BOX(root) && gtk_widget_has_css_class(root, "navigation-sidebar"))
        return root;
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *found = find_vm_list(c);
        if (found)
            return found;
    }
    return NULL;
}

static GtkWidget *find_label(GtkWidget *root, const char *text)
{
    return find_widget(root, GTK_TYPE_LABEL, text, TRUE);
}

static gboolean label_shown(gpointer data)
{
    const char **args = data; /* { (const char *)window, text } */
    return find_label((GtkWidget *)args[0], args[1]) != NULL;
}

static gboolean wait_label(GtkWidget *window, const char *text)
{
    const char *args[2] = { (const char *)window, text };
    return gui_wait_until(label_shown, args, 5000);
}

/* The visible message dialog over parent, or NULL. */
static AdwMessageDialog *find_dialog(GtkWindow *parent)
{
    AdwMessageDialog *found = NULL;
    GList *tops = gtk_window_list_toplevels();
    for (GList *l = tops; l; l = l->next) {
        if (ADW_IS_MESSAGE_DIALOG(l->data) && gtk_widget_get_visible(l->data) &&
            gtk_window_get_transient_for(l->data) == parent)
            found = l->data;
    }
    g_list_free(tops);
    return found;
}

static gboolean dialog_shown(gpointer data)
{
    return find_dialog(data) != NULL;
}

static AdwMessageDialog *wait_dialog(GtkWindow *parent)
{
    GUI_CHECK(gui_wait_until(dialog_shown, parent, 5000));
    return find_dialog(parent);
}

/* What a click on a response button does: emit the response, then close. */
static void respond(AdwMessageDialog *dialog, const char *response)
{
    adw_message_dialog_response(dialog, response);
    gtk_window_destroy(GTK_WINDOW(dialog));
}

static gboolean dialog_gone(gpointer data)
{
    return find_dialog(data) == NULL;
}

static void screenshot(GtkWidget *window, const char *name)
{
    g_autofree char *file = g_strdup_printf("main-window-%s.png", name);
    g_autofree char *path = g_build_filename(screenshot_dir, file, NULL);
    gui_spin(300); /* let transitions finish */
    int colours = gui_screenshot(window, path);
    fprintf(stderr, "screenshot %s: %d colours\n", path, colours);
    /* A real window has text, icons and anti-aliasing: far more than a blank fill. */
    GUI_CHECK(colours > 16);
}

/* A button whose label (or AdwButtonContent label) contains text. */
static GtkWidget *find_button(GtkWidget *root, const char *text)
{
    if (GTK_IS_BUTTON(root) && gtk_widget_get_mapped(root) && find_label(root, text))
        return root;
    for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
        GtkWidget *found = find_button(c, text);
        if (found)
            return found;
    }
    return NULL;
}

/* ---- The application's actions, recorded ------------------------------------------ */

/* The window reaches the other parts through app.* actions (vessel-application.h). The
 * test stands in for the application and records what was activated. */
static char *last_app_action;
static gint64 last_app_id;

static gboolean start_failed;

static void app_start_done(GObject *source, GAsyncResult *result, gpointer data)
{
    (void)data;
    g_autoptr(GError) error = NULL;
    if (!vessel_vm_start_finish(VESSEL_VM(source), result, &error)) {
        fprintf(stderr, "start failed: %s\n", error->message);
        start_failed = TRUE;
    }
}

/* data: the store. app.start-vm starts the VM, as the application does. */
static void record_app_action(GSimpleAction *action, GVariant *param, gpointer data)
{
    g_free(last_app_action);
    last_app_action = g_strdup(g_action_get_name(G_ACTION(action)));
    last_app_id = param ? g_variant_get_int64(param) : 0;
    VesselVm *vm = param ? vessel_store_lookup(data, last_app_id) : NULL;
    if (g_str_equal(last_app_action, "start-vm") && vm && !vessel_vm_is_active(vm))
        vessel_vm_start_async(vm, NULL, app_start_done, NULL);
}

static gboolean start_has_failed(gpointer data)
{
    (void)data;
    return start_failed;
}

static void install_app_actions(GtkWidget *window, VesselStore *store)
{
    static const GActionEntry entries[] = {
        { .name = "new-vm", .activate = record_app_action },
        { .name = "demo-vm", .activate = record_app_action },
        { .name = "start-vm", .activate = record_app_action, .parameter_type = "x" },
        { .name = "open-vm", .activate = record_app_action, .parameter_type = "x" },
        { .name = "settings", .activate = record_app_action, .parameter_type = "x" },
        { .name = "about", .activate = record_app_action },
        { .name = "quit", .activate = record_app_action },
    };
    GSimpleActionGroup *group = g_simple_action_group_new();
    g_action_map_add_action_entries(G_ACTION_MAP(group), entries, G_N_ELEMENTS(entries), store);
    gtk_widget_insert_action_group(window, "app", G_ACTION_GROUP(group));
    g_object_unref(group);
}

/* Click the button labelled text; it must activate app.<action> (with the VM id). */
static void click_expect(GtkWidget *window, const char *text, const char *action, gint64 id)
{
    GtkWidget *button = find_button(window, text);
    if (!button)
        fprintf(stderr, "no button \"%s\"\n", text);
    GUI_CHECK(button != NULL && gtk_widget_is_sensitive(button));
    g_clear_pointer(&last_app_action, g_free);
    g_signal_emit_by_name(button, "clicked");
    GUI_CHECK(last_app_action && g_str_equal(last_app_action, action));
    GUI_CHECK(last_app_id == id);
}

/* ---- Store helpers ---------------------------------------------------------------- */

typedef struct {
    gboolean done;
    gboolean ok;
    gint64 id;
    GError *error;
} Op;

static gboolean op_done(gpointer data)
{
    return ((Op *)data)->done;
}

static void open_cb(GObject *source, GAsyncResult *res, gpointer data)
{
    Op *op = data;
    op->ok = vessel_store_open_finish(VESSEL_STORE(source), res, &op->error);
    op->done = TRUE;
}

static void create_cb(GObject *source, GAsyncResult *res, gpointer data)
{
    Op *op = data;
    op->id = vessel_store_create_vm_finish(VESSEL_STORE(source), res, &op->error);
    op->done = TRUE;
}

static gint64 create_vm(VesselStore *store, const VlVm *vm)
{
    Op op = { 0 };
    vessel_store_create_vm_async(store, vm, NULL, create_cb, &op);
    GUI_CHECK(gui_wait_until(op_done, &op, 10000));
    if (op.error)
        fprintf(stderr, "create_vm: %s\n", op.error->message);
    GUI_CHECK(op.id > 0);
    return op.id;
}

typedef struct {
    GListModel *model;
    guint n;
} CountWait;

static gboolean count_is(gpointer data)
{
    CountWait *w = data;
    return g_list_model_get_n_items(w->model) == w->n;
}

static void wait_count(GListModel *model, guint n)
{
    CountWait w = { model, n };
    GUI_CHECK(gui_wait_until(count_is, &w, 10000));
}

static VesselVm *vm_at(GListModel *model, guint i)
{
    VesselVm *vm = g_list_model_get_item(model, i);
    g_object_unref(vm); /* the model keeps it */
    return vm;
}

static VesselVm *vm_named(GListModel *model, const char *name)
{
    for (guint i = 0; i < g_list_model_get_n_items(model); i++) {
        VesselVm *vm = vm_at(model, i);
        if (g_str_equal(vessel_vm_get_name(vm), name))
            return vm;
    }
    return NULL;
}

typedef struct {
    GListModel *model;
    const char *name;
} NameWait;

static gboolean name_present(gpointer data)
{
    NameWait *w = data;
    return vm_named(w->model, w->name) != NULL;
}

static void wait_name(GListModel *model, const char *name)
{
    NameWait w = { model, name };
    GUI_CHECK(gui_wait_until(name_present, &w, 10000));
}

typedef struct {
    VesselWindow *window;
    VesselVm *vm;
} SelWait;

static gboolean selected_is(gpointer data)
{
    SelWait *w = data;
    return vessel_window_get_selected_vm(w->window) == w->vm;
}

static void wait_selected(VesselWindow *window, VesselVm *vm)
{
    SelWait w = { window, vm };
    GUI_CHECK(gui_wait_until(selected_is, &w, 5000));
}

static gboolean has_selection(gpointer data)
{
    return vessel_window_get_selected_vm(data) != NULL;
}

static void select_vm(VesselWindow *window, VesselVm *vm)
{
    gtk_widget_activate_action(GTK_WIDGET(window), "win.select-vm", "x", vessel_vm_get_id(vm));
    SelWait w = { window, vm };
    GUI_CHECK(gui_wait_until(selected_is, &w, 5000));
}

/* The list row at index i shows the VM's name and state. */
static void check_row(GtkListBox *list, guint i, const char *name)
{
    GtkListBoxRow *row = gtk_list_box_get_row_at_index(list, (int)i);
    GUI_CHECK(row != NULL);
    GtkWidget *label = find_label(GTK_WIDGET(row), name);
    if (!label)
        fprintf(stderr, "row %u has no label \"%s\"\n", i, name);
    GUI_CHECK(label && g_str_equal(gtk_label_get_text(GTK_LABEL(label)), name));
    GUI_CHECK(find_label(GTK_WIDGET(row), vessel_vm_state_label(VESSEL_VM_STOPPED)) != NULL);
}

static gboolean widget_mapped(gpointer data)
{
    return gtk_widget_get_mapped(data);
}

static gboolean widget_unmapped(gpointer data)
{
    return !gtk_widget_get_mapped(data);
}

static gboolean no_toast(gpointer data)
{
    return !find_label(data, "Could not") && !find_label(data, "copied") &&
           !find_label(data, "stop it before");
}

typedef struct {
    VesselVm *vm;
    VesselVmState state;
} VmStateWait;

static gboolean vm_state_is(gpointer data)
{
    VmStateWait *w = data;
    return vessel_vm_get_state(w->vm) == w->state;
}

/* Click a lifecycle button (a window action, no app action) and wait for the state. */
static void click_expect_state(GtkWidget *window, const char *text, VesselVm *vm,
                               VesselVmState state)
{
    GtkWidget *button = find_button(window, text);
    GUI_CHECK(button != NULL && gtk_widget_is_sensitive(button));
    g_signal_emit_by_name(button, "clicked");
    VmStateWait w = { vm, state };
    GUI_CHECK(gui_wait_until(vm_state_is, &w, 20000));
}

static gboolean leaflet_folded(gpointer data)
{
    return adw_leaflet_get_folded(data);
}

static gboolean window_sized(gpointer data)
{
    return gtk_widget_get_width(data) > 0 && gtk_widget_get_mapped(data);
}

/* ---- The application's window: its size in GSettings ------------------------------ */

/*
 * The schema is DESKTOP's (data/, compiled into the build tree). When this tree has no
 * compiled schema, compile one with the window keys the app's schema defines, so the
 * window's GSettings code is exercised either way. Must run before GSettings is first used.
 */
static char *ensure_schema(void)
{
    /* Not the default source: it is created once and would miss the directory set below. */
    const char *env_dir = g_getenv("GSETTINGS_SCHEMA_DIR");
    GSettingsSchemaSource *src =
        env_dir ? g_settings_schema_source_new_from_directory(env_dir, NULL, FALSE, NULL) : NULL;
    GSettingsSchema *schema =
        src ? g_settings_schema_source_lookup(src, VESSEL_APP_ID, FALSE) : NULL;
    if (src)
        g_settings_schema_source_unref(src);
    if (schema) {
        g_settings_schema_unref(schema);
        return NULL;
    }
    char *dir = g_dir_make_tmp("vessel-schema-XXXXXX", NULL);
    GUI_CHECK(dir != NULL);
    static const char xml[] =
        "<schemalist><schema id='io.github.vessel.Vessel' path='/io/github/vessel/Vessel/'>"
        "<key name='window-width' type='i'><default>960</default></key>"
        "<key name='window-height' type='i'><default>640</default></key>"
        "<key name='window-maximized' type='b'><default>false</default></key>"
        "</schema></schemalist>";
    g_autofree char *file = g_build_filename(dir, "io.github.vessel.Vessel.gschema.xml", NULL);
    GUI_CHECK(g_file_set_contents(file, xml, -1, NULL));
    const char *argv[] = { "glib-compile-schemas", dir, NULL };
    int status = -1;
    GUI_CHECK(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                           &status, NULL));
    GUI_CHECK(g_spawn_check_wait_status(status, NULL));
    g_setenv("GSETTINGS_SCHEMA_DIR", dir, TRUE);
    return dir;
}

static void check_window_settings(void)
{
    VesselApplication *app = vessel_application_new();
    g_application_set_flags(G_APPLICATION(app),
                            g_application_get_flags(G_APPLICATION(app)) | G_APPLICATION_NON_UNIQUE);
    GUI_CHECK(g_application_register(G_APPLICATION(app), NULL, NULL));
    GSettings *settings = vessel_application_get_settings(app);
    GUI_CHECK(settings != NULL);
    g_settings_set_int(settings, "window-width", 720);
    g_settings_set_int(settings, "window-height", 520);
    g_settings_set_boolean(settings, "window-maximized", FALSE);

    /* The saved size is the new window's size... */
    GtkWindow *window = vessel_window_new(app);
    int width = 0, height = 0;
    gtk_window_get_default_size(window, &width, &height);
    GUI_CHECK(width == 720 && height == 520);
    gtk_window_present(window);
    GUI_CHECK(gui_wait_until(window_sized, window, 10000));
    fprintf(stderr, "window from settings: %d x %d\n", gtk_widget_get_width(GTK_WIDGET(window)),
            gtk_widget_get_height(GTK_WIDGET(window)));
    /* The default size counts the client-side frame, the widget size does not. */
    GUI_CHECK(ABS(gtk_widget_get_width(GTK_WIDGET(window)) - 720) <= 20);
    GUI_CHECK(ABS(gtk_widget_get_height(GTK_WIDGET(window)) - 520) <= 20);

    /* ...and closing it saves its size again. */
    g_settings_set_int(settings, "window-width", 400);
    g_settings_set_int(settings, "window-height", 300);
    g_settings_set_boolean(settings, "window-maximized", TRUE);
    gtk_window_close(window);
    gui_spin(100);
    GUI_CHECK(g_settings_get_int(settings, "window-width") == 720);
    GUI_CHECK(g_settings_get_int(settings, "window-height") == 520);
    GUI_CHECK(!g_settings_get_boolean(settings, "window-maximized"));
    g_object_unref(app);
}

/* ---- The test --------------------------------------------------------------------- */

/* ---- In Simplified Chinese (argument "zh_CN") --------------------------------------- */

static VesselStore *open_store(const char *dir)
{
    g_autofree char *db = g_build_filename(dir, "library.db", NULL);
    VesselStore *store = vessel_store_new(db);
    Op open = { 0 };
    vessel_store_open_async(store, NULL, open_cb, &open);
    GUI_CHECK(gui_wait_until(op_done, &open, 10000));
    GUI_CHECK(open.ok);
    return store;
}

/*
 * The window's strings come from the zh_CN catalogue (build/po, VESSEL_LOCALEDIR): the
 * empty state, then a VM's details. gettext ignores LANGUAGE under the C locale, hence
 * zh_CN.UTF-8 (tools/bootstrap generates it) or C.UTF-8.
 */
static int run_zh_cn(void)
{
    g_setenv("LANGUAGE", "zh_CN", TRUE);
    g_unsetenv("LC_ALL");
    g_unsetenv("LC_MESSAGES");
    GUI_CHECK(setlocale(LC_ALL, "zh_CN.UTF-8") || setlocale(LC_ALL, "C.UTF-8"));
    const char *localedir = g_getenv("VESSEL_LOCALEDIR");
    GUI_CHECK(localedir != NULL);
    bindtextdomain(GETTEXT_PACKAGE, localedir);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
    gtk_disable_setlocale();
    gtk_init();
    adw_init();

    g_autofree char *dir = g_dir_make_tmp("vessel-main-window-XXXXXX", NULL);
    GUI_CHECK(dir != NULL);
    VesselStore *store = open_store(dir);
    GtkWidget *window = g_object_new(VESSEL_TYPE_WINDOW, "store", store, NULL);
    install_app_actions(window, store);
    gtk_window_set_default_size(GTK_WINDOW(window), 960, 640);
    gtk_window_present(GTK_WINDOW(window));
    GUI_CHECK(gui_wait_until(window_sized, window, 10000));
    GUI_CHECK(wait_label(window, "没有虚拟机"));
    GUI_CHECK(find_button(window, "试用演示虚拟机") != NULL);
    screenshot(window, "zh_CN-empty");

    VlVm rec;
    vl_vm_init(&rec);
    g_strlcpy(rec.name, "测试虚拟机", sizeof rec.name);
    rec.memory_bytes = 2048ull << 20;
    gint64 id = create_vm(store, &rec);
    vl_vm_clear(&rec);
    wait_count(vessel_store_get_vms(store), 1);
    gtk_widget_activate_action(window, "win.select-vm", "x", id);
    GUI_CHECK(wait_label(window, "概要"));
    GtkWidget *status = find_widget(window, ADW_TYPE_STATUS_PAGE, NULL, FALSE);
    GUI_CHECK(gui_wait_until(widget_unmapped, status, 5000)); /* after the crossfade */
    GUI_CHECK(find_label(window, "内存") && find_label(window, "2 GiB"));
    GUI_CHECK(find_button(window, "启动") && find_button(window, "设置"));
    GUI_CHECK(find_label(window, "无共享文件夹") != NULL);
    screenshot(window, "zh_CN-list");

    gtk_window_destroy(GTK_WINDOW(window));
    g_object_unref(store);
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", dir);
    GUI_CHECK(system(rm) == 0);
    return 0;
}

int main(int argc, char **argv)
{
    screenshot_dir = g_getenv("VESSEL_SCREENSHOT_DIR");
    if (!screenshot_dir)
        screenshot_dir = g_get_tmp_dir();
    g_mkdir_with_parents(screenshot_dir, 0755);
    if (argc > 1 && g_str_equal(argv[1], "zh_CN"))
        return run_zh_cn();

    g_autofree char *schema_dir = ensure_schema();
    gtk_init();
    adw_init();

    g_autofree char *dir = g_dir_make_tmp("vessel-main-window-XXXXXX", NULL);
    GUI_CHECK(dir != NULL);
    g_autofree char *db = g_build_filename(dir, "library.db", NULL);
    VesselStore *store = vessel_store_new(db);
    Op open = { 0 };
    vessel_store_open_async(store, NULL, open_cb, &open);
    GUI_CHECK(gui_wait_until(op_done, &open, 10000));
    GUI_CHECK(open.ok);
    GListModel *vms = vessel_store_get_vms(store);

    /* The empty state. */
    GtkWidget *window = g_object_new(VESSEL_TYPE_WINDOW, "store", store, NULL);
    VesselWindow *win = VESSEL_WINDOW(window);
    install_app_actions(window, store);
    gtk_window_set_default_size(GTK_WINDOW(window), 960, 640);
    gtk_window_present(GTK_WINDOW(window));
    GUI_CHECK(gui_wait_until(window_sized, window, 10000));
    GtkWidget *status = find_widget(window, ADW_TYPE_STATUS_PAGE, NULL, FALSE);
    GtkWidget *leaflet = find_widget(window, ADW_TYPE_LEAFLET, NULL, FALSE);
    GtkListBox *list = GTK_LIST_BOX(find_vm_list(window));
    GUI_CHECK(status && leaflet && list);
    GUI_CHECK(gui_wait_until(widget_mapped, status, 5000));
    GUI_CHECK(!gtk_widget_get_mapped(leaflet));
    GUI_CHECK(wait_label(window, "No Virtual Machines"));
    click_expect(window, "New VM", "new-vm", 0);
    click_expect(window, "Try the Demo VM", "demo-vm", 0);
    GUI_CHECK(vessel_window_get_selected_vm(win) == NULL);
    screenshot(window, "empty");

    /* Two VMs, created out of name order; one boots a kernel with a drive and a share. */
    VlVm rec;
    vl_vm_init(&rec);
    g_strlcpy(rec.name, "Zeta Server", sizeof rec.name);
    g_strlcpy(rec.arch, "x86_64", sizeof rec.arch);
    g_strlcpy(rec.os_kind, "windows", sizeof rec.os_kind);
    rec.memory_bytes = 4096ull << 20;
    rec.vcpus = 4;
    gint64 zeta_id = create_vm(store, &rec);
    vl_vm_clear(&rec);

    vl_vm_init(&rec);
    g_strlcpy(rec.name, "Alpine", sizeof rec.name);
    g_strlcpy(rec.arch, "riscv64", sizeof rec.arch);
    g_strlcpy(rec.os_kind, "linux", sizeof rec.os_kind);
    rec.memory_bytes = 768ull << 20;
    rec.vcpus = 2;
    rec.boot = VL_BOOT_KERNEL;
    g_strlcpy(rec.kernel, "/srv/guests/Image", sizeof rec.kernel);
    VlDrive *drive = vl_vm_add_drive(&rec);
    g_strlcpy(drive->path, "/srv/guests/alpine.qcow2", sizeof drive->path);
    g_strlcpy(drive->format, "qcow2", sizeof drive->format);
    VlShare *share = vl_vm_add_share(&rec);
    g_strlcpy(share->path, dir, sizeof share->path);
    g_strlcpy(share->tag, "hostshare", sizeof share->tag);
    gint64 alpine_id = create_vm(store, &rec);
    vl_vm_clear(&rec);

    /* The list replaces the empty state, in name order, with each VM's state. */
    wait_count(vms, 2);
    GUI_CHECK(gui_wait_until(widget_mapped, leaflet, 5000));
    GUI_CHECK(gui_wait_until(widget_unmapped, status, 5000)); /* after the crossfade */
    VesselVm *alpine = vessel_store_lookup(store, alpine_id);
    VesselVm *zeta = vessel_store_lookup(store, zeta_id);
    GUI_CHECK(alpine && zeta);
    GUI_CHECK(vm_at(vms, 0) == alpine && vm_at(vms, 1) == zeta);
    gui_spin(100);
    check_row(list, 0, "Alpine");
    check_row(list, 1, "Zeta Server");
    GUI_CHECK(find_label(GTK_WIDGET(gtk_list_box_get_row_at_index(list, 1)), "x86_64") != NULL);
    GUI_CHECK(!adw_leaflet_get_folded(ADW_LEAFLET(leaflet)));

    /* Selecting shows the details. */
    select_vm(win, zeta);
    GUI_CHECK(wait_label(window, "4 GiB"));
    GUI_CHECK(find_label(window, "Windows") != NULL);
    GUI_CHECK(find_label(window, "No shared folder") != NULL);
    select_vm(win, alpine);
    GUI_CHECK(wait_label(window, "768 MiB"));
    GUI_CHECK(find_label(window, "/srv/guests/Image") != NULL);
    GUI_CHECK(find_label(window, "/srv/guests/alpine.qcow2") != NULL);
    GUI_CHECK(find_label(window, "Mount tag “hostshare”") != NULL);
    GUI_CHECK(find_label(window, "mount -t 9p -o trans=virtio,version=9p2000.L hostshare /mnt") !=
              NULL);
    GUI_CHECK(gtk_list_box_row_is_selected(gtk_list_box_get_row_at_index(list, 0)));
    screenshot(window, "list");
    GtkWidget *scroller =
        gtk_widget_get_ancestor(find_label(window, "hostshare /mnt"), GTK_TYPE_SCROLLED_WINDOW);
    GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(scroller));
    gtk_adjustment_set_value(adj, gtk_adjustment_get_upper(adj));
    screenshot(window, "details-end");
    gtk_adjustment_set_value(adj, 0);

    /* The details' buttons reach the application with the VM's id. */
    click_expect(window, "Start", "start-vm", alpine_id); /* its kernel does not exist */
    GUI_CHECK(gui_wait_until(start_has_failed, NULL, 20000));
    start_failed = FALSE;
    GUI_CHECK(vessel_vm_get_state(alpine) == VESSEL_VM_STOPPED);
    click_expect(window, "Show", "open-vm", alpine_id);
    click_expect(window, "Settings", "settings", alpine_id);
    GUI_CHECK(!find_button(window, "Pause") && !find_button(window, "Resume"));

    /* Rename through the dialog: the VM keeps its place in name order and its selection. */
    gtk_widget_activate_action(window, "win.rename", NULL);
    AdwMessageDialog *dialog = wait_dialog(GTK_WINDOW(window));
    GtkWidget *entry = find_widget(GTK_WIDGET(dialog), GTK_TYPE_ENTRY, NULL, FALSE);
    GUI_CHECK(entry && g_str_equal(gtk_editable_get_text(GTK_EDITABLE(entry)), "Alpine"));
    GUI_CHECK(!adw_message_dialog_get_response_enabled(dialog, "rename")); /* unchanged */
    gtk_editable_set_text(GTK_EDITABLE(entry), "Void Linux");
    GUI_CHECK(adw_message_dialog_get_response_enabled(dialog, "rename"));
    respond(dialog, "rename");
    wait_name(vms, "Void Linux");
    GUI_CHECK(vessel_store_lookup(store, alpine_id) == alpine);
    GUI_CHECK(vm_at(vms, 0) == alpine && vm_at(vms, 1) == zeta);
    GUI_CHECK(wait_label(window, "Void Linux"));
    GUI_CHECK(gui_wait_until(dialog_gone, window, 5000));
    wait_selected(win, alpine);
    check_row(list, 0, "Void Linux");

    /* A rename to a taken name: refused inline as typed, and when forced the library's
     * message shows and nothing changes. */
    gtk_widget_activate_action(window, "win.rename", NULL);
    dialog = wait_dialog(GTK_WINDOW(window));
    entry = find_widget(GTK_WIDGET(dialog), GTK_TYPE_ENTRY, NULL, FALSE);
    gtk_editable_set_text(GTK_EDITABLE(entry), "Zeta Server");
    GUI_CHECK(!adw_message_dialog_get_response_enabled(dialog, "rename"));
    GUI_CHECK(wait_label(GTK_WIDGET(dialog), "already exists"));
    screenshot(GTK_WIDGET(dialog), "rename-duplicate");
    respond(dialog, "rename");
    GUI_CHECK(wait_label(window, "Could not rename “Void Linux”"));
    GtkWidget *toast = find_label(window, "Could not rename");
    fprintf(stderr, "duplicate rename: %s\n", gtk_label_get_text(GTK_LABEL(toast)));
    GUI_CHECK(strstr(gtk_label_get_text(GTK_LABEL(toast)), "Zeta Server") != NULL);
    GUI_CHECK(g_str_equal(vessel_vm_get_name(alpine), "Void Linux"));
    GUI_CHECK(g_str_equal(vessel_vm_get_name(zeta), "Zeta Server"));
    GUI_CHECK(g_list_model_get_n_items(vms) == 2);

    /* Clone twice: "<name> (copy)", then "<name> (copy 2)"; the clone is selected. */
    gtk_widget_activate_action(window, "win.clone", NULL);
    wait_name(vms, "Void Linux (copy)");
    VesselVm *copy1 = vm_named(vms, "Void Linux (copy)");
    wait_selected(win, copy1);
    const VlVm *copy_rec = vessel_vm_get_record(copy1);
    GUI_CHECK(g_str_equal(copy_rec->kernel, "/srv/guests/Image") && copy_rec->n_shares == 1);
    select_vm(win, alpine);
    gtk_widget_activate_action(window, "win.clone", NULL);
    wait_name(vms, "Void Linux (copy 2)");
    wait_count(vms, 4);
    VesselVm *copy2 = vm_named(vms, "Void Linux (copy 2)");
    gint64 copy1_id = vessel_vm_get_id(copy1), copy2_id = vessel_vm_get_id(copy2);

    /* Delete with "Keep disk images": the VM goes, its bundle's disks/ stays. */
    g_autofree char *bundle2 = vessel_store_bundle_path(store, vessel_vm_get_record(copy2)->uuid);
    g_autofree char *disks2 = g_build_filename(bundle2, "disks", NULL);
    GUI_CHECK(g_file_test(disks2, G_FILE_TEST_IS_DIR));
    select_vm(win, copy2);
    gtk_widget_activate_action(window, "win.delete", NULL);
    dialog = wait_dialog(GTK_WINDOW(window));
    GtkWidget *keep = find_widget(GTK_WIDGET(dialog), GTK_TYPE_CHECK_BUTTON, NULL, FALSE);
    GUI_CHECK(keep != NULL);
    GUI_CHECK(!gtk_check_button_get_active(GTK_CHECK_BUTTON(keep)));
    gtk_check_button_set_active(GTK_CHECK_BUTTON(keep), TRUE);
    screenshot(GTK_WIDGET(dialog), "delete");
    respond(dialog, "delete");
    wait_count(vms, 3);
    GUI_CHECK(vessel_store_lookup(store, copy2_id) == NULL);
    GUI_CHECK(g_file_test(disks2, G_FILE_TEST_IS_DIR));
    g_autofree char *logs2 = g_build_filename(bundle2, "logs", NULL);
    GUI_CHECK(!g_file_test(logs2, G_FILE_TEST_EXISTS));
    /* A neighbour is selected in its place. */
    GUI_CHECK(gui_wait_until(has_selection, win, 5000));

    /* Cancelling changes nothing; deleting without keeping removes the bundle. */
    copy1 = vessel_store_lookup(store, copy1_id);
    g_autofree char *bundle1 = vessel_store_bundle_path(store, vessel_vm_get_record(copy1)->uuid);
    GUI_CHECK(g_file_test(bundle1, G_FILE_TEST_IS_DIR));
    select_vm(win, copy1);
    gtk_widget_activate_action(window, "win.delete", NULL);
    respond(wait_dialog(GTK_WINDOW(window)), "cancel");
    gui_spin(200);
    GUI_CHECK(g_list_model_get_n_items(vms) == 3);
    gtk_widget_activate_action(window, "win.delete", NULL);
    respond(wait_dialog(GTK_WINDOW(window)), "delete");
    wait_count(vms, 2);
    GUI_CHECK(vessel_store_lookup(store, copy1_id) == NULL);
    GUI_CHECK(!g_file_test(bundle1, G_FILE_TEST_EXISTS));

    /* A running VM (the demo guest): its state, accelerator, and the lifecycle buttons. */
    VlVm demo_rec;
    g_autoptr(GError) demo_error = NULL;
    if (!vessel_demo_fill_record(&demo_rec, &demo_error))
        fprintf(stderr, "demo guest: %s\n", demo_error->message);
    GUI_CHECK(demo_error == NULL);
    gint64 demo_id = create_vm(store, &demo_rec);
    vl_vm_clear(&demo_rec);
    wait_count(vms, 3);
    VesselVm *demo = vessel_store_lookup(store, demo_id);
    select_vm(win, demo);
    click_expect(window, "Start", "start-vm", demo_id);
    VmStateWait running = { demo, VESSEL_VM_RUNNING };
    GUI_CHECK(gui_wait_until(vm_state_is, &running, 30000));
    GUI_CHECK(!start_failed);
    const char *accel = vessel_vm_get_accel_summary(demo);
    fprintf(stderr, "running: %s\n", accel);
    GUI_CHECK(accel[0] != '\0');
    GUI_CHECK(wait_label(window, accel)); /* the accelerator row shows what runs */
    GUI_CHECK(find_button(window, "Pause") && !find_button(window, "Start"));
    GUI_CHECK(gtk_widget_get_mapped(find_widget(window, ADW_TYPE_SPLIT_BUTTON, NULL, FALSE)));
    guint demo_pos = 0;
    for (guint i = 0; i < g_list_model_get_n_items(vms); i++)
        if (vm_at(vms, i) == demo)
            demo_pos = i;
    GUI_CHECK(find_label(GTK_WIDGET(gtk_list_box_get_row_at_index(list, (int)demo_pos)),
                         vessel_vm_state_label(VESSEL_VM_RUNNING)) != NULL);
    screenshot(window, "running");

    /* Delete and clone are refused while it runs. */
    gtk_widget_activate_action(window, "win.delete", NULL);
    GUI_CHECK(wait_label(window, "stop it before deleting it"));
    GUI_CHECK(find_dialog(GTK_WINDOW(window)) == NULL);
    gtk_widget_activate_action(window, "win.clone", NULL);
    GUI_CHECK(wait_label(window, "stop it before cloning it"));
    gui_spin(300);
    GUI_CHECK(g_list_model_get_n_items(vms) == 3);

    /* Pause, resume, power down (the guest's init handles the power button). */
    click_expect_state(window, "Pause", demo, VESSEL_VM_PAUSED);
    GUI_CHECK(wait_label(window, vessel_vm_state_label(VESSEL_VM_PAUSED)));
    click_expect_state(window, "Resume", demo, VESSEL_VM_RUNNING);
    /* The guest handles the power button once its init has started acpid (before the
     * shell); a press before that is lost, as on real hardware. */
    GUI_CHECK(gui_wait_until(guest_ready, demo, 120000));
    gtk_widget_activate_action(window, "win.stop", NULL);
    VmStateWait stopped = { demo, VESSEL_VM_STOPPED };
    GUI_CHECK(gui_wait_until(vm_state_is, &stopped, 60000));
    GUI_CHECK(find_button(window, "Start") != NULL);
    /* Start again and force it off from the Stop button's menu action. */
    click_expect(window, "Start", "start-vm", demo_id);
    GUI_CHECK(gui_wait_until(vm_state_is, &running, 30000));
    gtk_widget_activate_action(window, "win.force-stop", NULL);
    GUI_CHECK(gui_wait_until(vm_state_is, &stopped, 20000));
    GUI_CHECK(wait_label(window, vessel_vm_state_label(VESSEL_VM_STOPPED)));
    gtk_widget_activate_action(window, "win.delete", NULL);
    respond(wait_dialog(GTK_WINDOW(window)), "delete");
    wait_count(vms, 2);

    /* The toast about the refused rename times out (clean screenshots below). */
    GUI_CHECK(gui_wait_until(no_toast, window, 15000));

    /* Phone width: the leaflet folds, with a back button on the details. */
    gtk_widget_set_visible(window, FALSE);
    gtk_window_set_default_size(GTK_WINDOW(window), 360, 720);
    gtk_window_present(GTK_WINDOW(window));
    GUI_CHECK(gui_wait_until(window_sized, window, 10000));
    GUI_CHECK(gui_wait_until(leaflet_folded, leaflet, 5000));
    fprintf(stderr, "phone width: %d px\n", gtk_widget_get_width(window));
    GUI_CHECK(gtk_widget_get_width(window) <= 400);
    adw_leaflet_navigate(ADW_LEAFLET(leaflet), ADW_NAVIGATION_DIRECTION_BACK);
    GUI_CHECK(gui_wait_until(widget_mapped, list, 5000));
    screenshot(window, "phone-list");
    select_vm(win, zeta);
    GUI_CHECK(wait_label(window, "4 GiB")); /* the details pane is the visible one */
    GUI_CHECK(gui_wait_until(widget_unmapped, list, 5000));
    screenshot(window, "phone-details");

    /* The mount command's copy button puts it on the clipboard. */
    select_vm(win, alpine);
    gtk_widget_activate_action(window, "win.copy-mount-command", "s",
                               "mount -t 9p -o trans=virtio,version=9p2000.L hostshare /mnt");
    GUI_CHECK(wait_label(window, "Command copied"));
    GdkClipboard *clipboard = gtk_widget_get_clipboard(window);
    GUI_CHECK(gdk_clipboard_is_local(clipboard));
    GUI_CHECK(
        gdk_content_formats_contain_gtype(gdk_clipboard_get_formats(clipboard), G_TYPE_STRING));
    select_vm(win, zeta);

    /* Back to the empty state when the last VMs go. */
    gtk_widget_activate_action(window, "win.delete", NULL);
    respond(wait_dialog(GTK_WINDOW(window)), "delete");
    wait_count(vms, 1);
    wait_selected(win, alpine);
    gtk_widget_activate_action(window, "win.delete", NULL);
    respond(wait_dialog(GTK_WINDOW(window)), "delete");
    wait_count(vms, 0);
    GUI_CHECK(gui_wait_until(widget_mapped, status, 5000));
    wait_selected(win, NULL);
    screenshot(window, "phone-empty");

    /* The window and the store are released. */
    GWeakRef weak;
    g_weak_ref_init(&weak, window);
    gtk_window_destroy(GTK_WINDOW(window));
    gui_spin(200);
    GObject *still = g_weak_ref_get(&weak);
    GUI_CHECK(still == NULL);
    g_weak_ref_clear(&weak);
    g_object_unref(store);

    check_window_settings();

    g_autofree char *rm = g_strdup_printf("rm -rf '%s' '%s'", dir, schema_dir ? schema_dir : dir);
    GUI_CHECK(system(rm) == 0);
    return 0;
}
