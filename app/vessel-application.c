/* SPDX-License-Identifier: MIT */
#include "vessel-application.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "vessel-about.h"
#include "vessel-settings.h"
#include "vessel-vm-window.h"
#include "vessel-window.h"
#include "vessel-wizard.h"

struct _VesselApplication {
    AdwApplication parent_instance;
    VesselStore *store;
    GSettings *settings;
    GtkWindow *main_window;
    GHashTable *vm_windows; /* gint64 id -> GtkWindow (weak: removed on destroy) */
    char *library_path;     /* --library */
    gboolean demo;          /* --demo: start the demo VM once the library is open */
    gboolean open_started;
    gboolean opened;
    gboolean quitting;
};

G_DEFINE_FINAL_TYPE(VesselApplication, vessel_application, ADW_TYPE_APPLICATION)

/* ---- helpers ---- */

static GtkWindow *active_window(VesselApplication *app)
{
    GtkWindow *w = gtk_application_get_active_window(GTK_APPLICATION(app));
    return w ? w : app->main_window;
}

/* A dialog that says what failed and why (the message is one a person can act on). */
static void show_error(VesselApplication *app, const char *heading, const char *body)
{
    AdwMessageDialog *d =
        ADW_MESSAGE_DIALOG(adw_message_dialog_new(active_window(app), heading, body));
    adw_message_dialog_add_response(d, "close", _("_Close"));
    gtk_window_present(GTK_WINDOW(d));
}

static VesselVm *vm_for_id(VesselApplication *app, gint64 id)
{
    return app->opened ? vessel_store_lookup(app->store, id) : NULL;
}

/* ---- settings ---- */

static GSettings *load_settings(void)
{
    GSettingsSchemaSource *def = g_settings_schema_source_get_default();
    GSettingsSchema *schema =
        def ? g_settings_schema_source_lookup(def, VESSEL_APP_ID, TRUE) : NULL;
    if (!schema) {
        /* Running from the build tree: data/ holds the compiled schema. */
        GSettingsSchemaSource *src =
            g_settings_schema_source_new_from_directory(VESSEL_BUILD_SCHEMADIR, def, FALSE, NULL);
        if (src) {
            schema = g_settings_schema_source_lookup(src, VESSEL_APP_ID, FALSE);
            g_settings_schema_source_unref(src);
        }
    }
    if (!schema) {
        g_message("GSettings schema %s not found: window sizes and folders are not remembered",
                  VESSEL_APP_ID);
        return NULL;
    }
    GSettings *s = g_settings_new_full(schema, NULL, NULL);
    g_settings_schema_unref(schema);
    return s;
}

/* ---- VM windows ---- */

static void vm_window_destroyed(gpointer data, GObject *where)
{
    VesselApplication *app = data;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, app->vm_windows);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (value == (gpointer)where) {
            g_hash_table_iter_remove(&it);
            break;
        }
    }
}

GtkWindow *vessel_application_lookup_vm_window(VesselApplication *app, VesselVm *vm)
{
    gint64 id = vessel_vm_get_id(vm);
    return g_hash_table_lookup(app->vm_windows, &id);
}

GtkWindow *vessel_application_open_vm_window(VesselApplication *app, VesselVm *vm)
{
    GtkWindow *w = vessel_application_lookup_vm_window(app, vm);
    if (!w) {
        w = vessel_vm_window_new(app, vm);
        gint64 *key = g_new(gint64, 1);
        *key = vessel_vm_get_id(vm);
        g_hash_table_insert(app->vm_windows, key, w);
        g_object_weak_ref(G_OBJECT(w), vm_window_destroyed, app);
    }
    gtk_window_present(w);
    return w;
}

/* ---- starting VMs ---- */

static void start_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    VesselApplication *app = user_data;
    VesselVm *vm = VESSEL_VM(source);
    g_autoptr(GError) error = NULL;
    if (!vessel_vm_start_finish(vm, result, &error)) {
        g_autofree char *heading =
            g_strdup_printf(_("“%s” could not start"), vessel_vm_get_name(vm));
        show_error(app, heading, error->message);
    }
    g_object_unref(app);
}

static void start_vm(VesselApplication *app, VesselVm *vm)
{
    if (vessel_vm_is_active(vm))
        return;
    vessel_vm_start_async(vm, NULL, start_done, g_object_ref(app));
}

/* ---- the demo VM ---- */

static VesselVm *find_demo(VesselApplication *app)
{
    GListModel *vms = vessel_store_get_vms(app->store);
    for (guint i = 0; i < g_list_model_get_n_items(vms); i++) {
        g_autoptr(VesselVm) vm = g_list_model_get_item(vms, i);
        if (vessel_vm_get_record(vm)->boot == VL_BOOT_DEMO)
            return vm;
    }
    return NULL;
}

static void open_and_start(VesselApplication *app, VesselVm *vm)
{
    GtkWindow *main = app->main_window;
    if (main)
        gtk_widget_activate_action(GTK_WIDGET(main), "win.select-vm", "x", vessel_vm_get_id(vm));
    vessel_application_open_vm_window(app, vm);
    start_vm(app, vm);
}

static void demo_share_saved(GObject *source, GAsyncResult *result, gpointer user_data)
{
    VesselApplication *app = user_data;
    g_autoptr(GError) error = NULL;
    if (!vessel_store_save_vm_finish(VESSEL_STORE(source), result, &error))
        g_warning("demo VM: adding its shared folder failed: %s", error->message);
    VesselVm *vm = find_demo(app);
    if (vm)
        open_and_start(app, vm);
    g_object_unref(app);
}

static void demo_created(GObject *source, GAsyncResult *result, gpointer user_data)
{
    VesselApplication *app = user_data;
    g_autoptr(GError) error = NULL;
    gint64 id = vessel_store_create_vm_finish(VESSEL_STORE(source), result, &error);
    VesselVm *vm = id ? vessel_store_lookup(app->store, id) : NULL;
    if (!vm) {
        show_error(app, _("The demo VM could not be created"),
                   error ? error->message : _("It is missing from the library."));
        g_object_unref(app);
        return;
    }
    /* The demo shares a folder in its bundle, so drag-and-drop works from the start. */
    const VlVm *rec = vessel_vm_get_record(vm);
    g_autofree char *bundle = vessel_store_bundle_path(app->store, rec->uuid);
    g_autofree char *shared = bundle ? g_build_filename(bundle, "shared", NULL) : NULL;
    if (shared && g_mkdir_with_parents(shared, 0755) == 0) {
        VlVm *copy = vessel_vm_record_dup(rec);
        VlShare *sh = vl_vm_add_share(copy);
        if (sh) {
            snprintf(sh->path, sizeof(sh->path), "%s", shared);
            snprintf(sh->tag, sizeof(sh->tag), "vessel");
            vessel_store_save_vm_async(app->store, copy, NULL, demo_share_saved, app);
            vessel_vm_record_free(copy);
            return;
        }
        vessel_vm_record_free(copy);
    }
    open_and_start(app, vm);
    g_object_unref(app);
}

static void run_demo(VesselApplication *app)
{
    VesselVm *vm = find_demo(app);
    if (vm) {
        open_and_start(app, vm);
        return;
    }
    VlVm rec;
    g_autoptr(GError) error = NULL;
    if (!vessel_demo_fill_record(&rec, &error)) {
        show_error(app, _("The demo VM is not available"), error->message);
        return;
    }
    vessel_store_create_vm_async(app->store, &rec, NULL, demo_created, g_object_ref(app));
    vl_vm_clear(&rec);
}

/* ---- opening the library ---- */

static void open_error_response(AdwMessageDialog *d, const char *response, gpointer user_data)
{
    (void)d;
    (void)response;
    /* Nothing was changed in the library file; without it there is nothing to show. */
    g_application_quit(G_APPLICATION(user_data));
}

static void store_opened(GObject *source, GAsyncResult *result, gpointer user_data)
{
    VesselApplication *app = user_data;
    g_autoptr(GError) error = NULL;
    if (!vessel_store_open_finish(VESSEL_STORE(source), result, &error)) {
        g_autoptr(GString) body = g_string_new(error->message);
        const char *backup = vessel_store_get_backup_path(app->store);
        if (backup[0] && !strstr(error->message, backup))
            g_string_append_printf(body, "\n\n%s %s", _("A copy of the file was saved as"), backup);
        g_string_append_printf(body, "\n\n%s",
                               _("Vessel did not change the library file. Quit, fix or move the "
                                 "file, and start Vessel again."));
        AdwMessageDialog *d = ADW_MESSAGE_DIALOG(adw_message_dialog_new(
            app->main_window, _("The VM library cannot be opened"), body->str));
        adw_message_dialog_add_response(d, "quit", _("_Quit"));
        g_signal_connect(d, "response", G_CALLBACK(open_error_response), app);
        gtk_window_present(GTK_WINDOW(d));
        g_object_unref(app);
        return;
    }
    app->opened = TRUE;
    if (app->demo)
        run_demo(app);
    g_object_unref(app);
}

/* ---- actions ---- */

static void act_new_vm(GSimpleAction *a, GVariant *p, gpointer data)
{
    (void)a;
    (void)p;
    VesselApplication *app = data;
    if (!app->opened)
        return;
    gtk_window_present(vessel_wizard_new(app, app->main_window));
}

static void act_demo_vm(GSimpleAction *a, GVariant *p, gpointer data)
{
    (void)a;
    (void)p;
    VesselApplication *app = data;
    if (app->opened)
        run_demo(app);
    else
        app->demo = TRUE;
}

static void act_open_vm(GSimpleAction *a, GVariant *p, gpointer data)
{
    (void)a;
    VesselApplication *app = data;
    VesselVm *vm = vm_for_id(app, g_variant_get_int64(p));
    if (vm)
        vessel_application_open_vm_window(app, vm);
}

static void act_start_vm(GSimpleAction *a, GVariant *p, gpointer data)
{
    (void)a;
    VesselApplication *app = data;
    VesselVm *vm = vm_for_id(app, g_variant_get_int64(p));
    if (vm)
        start_vm(app, vm);
}

static void act_settings(GSimpleAction *a, GVariant *p, gpointer data)
{
    (void)a;
    VesselApplication *app = data;
    VesselVm *vm = vm_for_id(app, g_variant_get_int64(p));
    if (vm)
        gtk_window_present(vessel_settings_new(app, vm, active_window(app)));
}

static void act_about(GSimpleAction *a, GVariant *p, gpointer data)
{
    (void)a;
    (void)p;
    vessel_about_show(active_window(data));
}

static guint count_active(VesselApplication *app)
{
    guint n = 0;
    if (!app->opened)
        return 0;
    GListModel *vms = vessel_store_get_vms(app->store);
    for (guint i = 0; i < g_list_model_get_n_items(vms); i++) {
        g_autoptr(VesselVm) vm = g_list_model_get_item(vms, i);
        n += vessel_vm_is_active(vm);
    }
    return n;
}

static void quit_response(AdwMessageDialog *d, const char *response, gpointer data)
{
    (void)d;
    VesselApplication *app = data;
    if (!g_strcmp0(response, "quit")) {
        app->quitting = TRUE;
        g_application_quit(G_APPLICATION(app));
    }
}

/* Quit, asking first when VMs run (they are stopped on the way out). */
static void request_quit(VesselApplication *app)
{
    guint n = count_active(app);
    if (n == 0 || app->quitting) {
        app->quitting = TRUE;
        g_application_quit(G_APPLICATION(app));
        return;
    }
    g_autofree char *body = g_strdup_printf(
        g_dngettext(GETTEXT_PACKAGE,
                    "%u virtual machine is running. Quitting stops it without asking the guest, "
                    "as pulling the plug would; unsaved work in it is lost.",
                    "%u virtual machines are running. Quitting stops them without asking the "
                    "guests, as pulling the plug would; unsaved work in them is lost.",
                    n),
        n);
    AdwMessageDialog *d =
        ADW_MESSAGE_DIALOG(adw_message_dialog_new(active_window(app), _("Quit Vessel?"), body));
    adw_message_dialog_add_responses(d, "cancel", _("_Cancel"), "quit", _("Stop VMs and _Quit"),
                                     NULL);
    adw_message_dialog_set_response_appearance(d, "quit", ADW_RESPONSE_DESTRUCTIVE);
    adw_message_dialog_set_default_response(d, "cancel");
    adw_message_dialog_set_close_response(d, "cancel");
    g_signal_connect(d, "response", G_CALLBACK(quit_response), app);
    gtk_window_present(GTK_WINDOW(d));
}

static void act_quit(GSimpleAction *a, GVariant *p, gpointer data)
{
    (void)a;
    (void)p;
    request_quit(data);
}

/* Closing the main window while VMs run is quitting: ask the same question. */
static gboolean main_close_request(GtkWindow *w, gpointer data)
{
    (void)w;
    VesselApplication *app = data;
    if (app->quitting || count_active(app) == 0)
        return FALSE;
    request_quit(app);
    return TRUE;
}

/* ---- GApplication ---- */

static void vessel_application_startup(GApplication *gapp)
{
    G_APPLICATION_CLASS(vessel_application_parent_class)->startup(gapp);
    VesselApplication *app = VESSEL_APPLICATION(gapp);
    static const GActionEntry entries[] = {
        { "new-vm", act_new_vm, NULL, NULL, NULL, { 0 } },
        { "demo-vm", act_demo_vm, NULL, NULL, NULL, { 0 } },
        { "open-vm", act_open_vm, "x", NULL, NULL, { 0 } },
        { "start-vm", act_start_vm, "x", NULL, NULL, { 0 } },
        { "settings", act_settings, "x", NULL, NULL, { 0 } },
        { "about", act_about, NULL, NULL, NULL, { 0 } },
        { "quit", act_quit, NULL, NULL, NULL, { 0 } },
    };
    g_action_map_add_action_entries(G_ACTION_MAP(app), entries, G_N_ELEMENTS(entries), app);
    static const char *const quit_accels[] = { "<Control>q", NULL };
    static const char *const new_accels[] = { "<Control>n", NULL };
    gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.quit", quit_accels);
    gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.new-vm", new_accels);
    app->settings = load_settings();
    app->store = vessel_store_new(app->library_path);
}

static void vessel_application_activate(GApplication *gapp)
{
    VesselApplication *app = VESSEL_APPLICATION(gapp);
    if (!app->main_window) {
        app->main_window = vessel_window_new(app);
        g_object_add_weak_pointer(G_OBJECT(app->main_window), (gpointer *)&app->main_window);
        g_signal_connect(app->main_window, "close-request", G_CALLBACK(main_close_request), app);
    }
    gtk_window_present(app->main_window);
    if (!app->open_started) {
        app->open_started = TRUE;
        vessel_store_open_async(app->store, NULL, store_opened, g_object_ref(app));
    }
}

static gint vessel_application_handle_local_options(GApplication *gapp, GVariantDict *options)
{
    VesselApplication *app = VESSEL_APPLICATION(gapp);
    if (g_variant_dict_contains(options, "version")) {
        printf("vessel %s\n", VESSEL_VERSION);
        return 0;
    }
    const char *library = NULL;
    if (g_variant_dict_lookup(options, "library", "&s", &library)) {
        g_free(app->library_path);
        app->library_path = g_strdup(library);
    }
    if (g_variant_dict_contains(options, "demo"))
        app->demo = TRUE;
    return -1;
}

static void vessel_application_shutdown(GApplication *gapp)
{
    VesselApplication *app = VESSEL_APPLICATION(gapp);
    /* Every machine stops before the process exits (disks flushed, images unlocked). */
    if (app->opened) {
        GListModel *vms = vessel_store_get_vms(app->store);
        for (guint i = 0; i < g_list_model_get_n_items(vms); i++) {
            g_autoptr(VesselVm) vm = g_list_model_get_item(vms, i);
            vessel_vm_force_stop_sync(vm);
        }
    }
    G_APPLICATION_CLASS(vessel_application_parent_class)->shutdown(gapp);
}

static void vessel_application_finalize(GObject *object)
{
    VesselApplication *app = VESSEL_APPLICATION(object);
    g_clear_object(&app->store);
    g_clear_object(&app->settings);
    g_hash_table_destroy(app->vm_windows);
    g_free(app->library_path);
    G_OBJECT_CLASS(vessel_application_parent_class)->finalize(object);
}

static void vessel_application_class_init(VesselApplicationClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = vessel_application_finalize;
    GApplicationClass *ac = G_APPLICATION_CLASS(klass);
    ac->startup = vessel_application_startup;
    ac->activate = vessel_application_activate;
    ac->shutdown = vessel_application_shutdown;
    ac->handle_local_options = vessel_application_handle_local_options;
}

static void vessel_application_init(VesselApplication *app)
{
    app->vm_windows = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    static const GOptionEntry options[] = {
        { "library", 0, 0, G_OPTION_ARG_FILENAME, NULL,
          N_("Use the VM library at PATH instead of the default one"), N_("PATH") },
        { "demo", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Create (once) and start the demo VM"), NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_application_add_main_option_entries(G_APPLICATION(app), options);
}

VesselApplication *vessel_application_new(void)
{
    /* NON_UNIQUE: each `vessel` process owns its library connection and its machines; a
     * second instance sees the library locked for writing only while a write runs. */
    return g_object_new(VESSEL_TYPE_APPLICATION, "application-id", VESSEL_APP_ID, "flags",
                        G_APPLICATION_NON_UNIQUE, NULL);
}

VesselStore *vessel_application_get_store(VesselApplication *app)
{
    return app->store;
}

GSettings *vessel_application_get_settings(VesselApplication *app)
{
    return app->settings;
}

GtkWindow *vessel_application_get_main_window(VesselApplication *app)
{
    return app->main_window;
}
