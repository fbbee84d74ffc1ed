/* SPDX-License-Identifier: MIT */
/*
 * VesselVmWindow (see vessel-vm-window.h).
 */
#include "vessel-vm-window.h"

#include <glib/gi18n.h>
#include <vte/vte.h>

#include "vessel-display.h"
#include "vessel-drop.h"

#define MOUNT_HINT "mount -t 9p -o trans=virtio,version=9p2000.L %s /mnt"

struct _VesselVmWindow {
    AdwApplicationWindow parent_instance;

    VesselVm *vm;
    GPtrArray *vm_handlers; /* signal ids on vm */
    char *view;
    gboolean disposed;
    gboolean close_confirmed;

    /* Drop copies. */
    GCancellable *copy_cancellable;
    gboolean copying;

    /* Template children. */
    AdwToastOverlay *toast_overlay;
    AdwWindowTitle *window_title;
    GtkWidget *start_button;
    GtkWidget *resume_button;
    GtkWidget *pause_button;
    GtkWidget *powerdown_button;
    GtkRevealer *copy_revealer;
    GtkLabel *copy_label;
    GtkProgressBar *copy_progress;
    AdwViewStack *view_stack;
    GtkStack *display_stack;
    VesselDisplay *display;
    AdwStatusPage *stopped_page;
    GtkSpinner *starting_spinner;
    VteTerminal *terminal;
};

G_DEFINE_FINAL_TYPE(VesselVmWindow, vessel_vm_window, ADW_TYPE_APPLICATION_WINDOW)

enum { PROP_0, PROP_VM, PROP_VIEW, PROP_SHOW_CONSOLE, PROP_COPYING, N_PROPS };
static GParamSpec *props[N_PROPS];

static void toast(VesselVmWindow *self, const char *text, guint timeout)
{
    if (self->disposed || !self->toast_overlay)
        return;
    char *escaped = g_markup_escape_text(text, -1);
    AdwToast *t = adw_toast_new(escaped);
    adw_toast_set_timeout(t, timeout);
    adw_toast_overlay_add_toast(self->toast_overlay, t);
    g_free(escaped);
}

static GSettings *settings(VesselVmWindow *self)
{
    GtkApplication *app = gtk_window_get_application(GTK_WINDOW(self));
    return VESSEL_IS_APPLICATION(app) ? vessel_application_get_settings(VESSEL_APPLICATION(app))
                                      : NULL;
}

static VesselStore *store(VesselVmWindow *self)
{
    GtkApplication *app = gtk_window_get_application(GTK_WINDOW(self));
    return VESSEL_IS_APPLICATION(app) ? vessel_application_get_store(VESSEL_APPLICATION(app))
                                      : NULL;
}

/* ---- State ---- */

static void update_title(VesselVmWindow *self)
{
    const char *name = vessel_vm_get_name(self->vm);
    adw_window_title_set_title(self->window_title, name);
    adw_window_title_set_subtitle(self->window_title,
                                  vessel_vm_state_label(vessel_vm_get_state(self->vm)));
    gtk_window_set_title(GTK_WINDOW(self), name);
}

static gboolean vm_has_display(VesselVmWindow *self)
{
    gboolean has = FALSE;
    g_object_get(self->vm, "has-display", &has, NULL);
    return has;
}

static void update_state(VesselVmWindow *self)
{
    VesselVmState state = vessel_vm_get_state(self->vm);
    GtkWidget *w = GTK_WIDGET(self);
    gboolean has_app = gtk_window_get_application(GTK_WINDOW(self)) != NULL;

    gtk_widget_action_set_enabled(w, "vm.start", state == VESSEL_VM_STOPPED);
    gtk_widget_action_set_enabled(w, "vm.pause", state == VESSEL_VM_RUNNING);
    gtk_widget_action_set_enabled(w, "vm.resume", state == VESSEL_VM_PAUSED);
    gtk_widget_action_set_enabled(w, "vm.powerdown", state == VESSEL_VM_RUNNING);
    gtk_widget_action_set_enabled(w, "vm.force-stop",
                                  state == VESSEL_VM_RUNNING || state == VESSEL_VM_PAUSED ||
                                      state == VESSEL_VM_STOPPING);
    gtk_widget_action_set_enabled(w, "vm.reset",
                                  state == VESSEL_VM_RUNNING || state == VESSEL_VM_PAUSED);
    gtk_widget_action_set_enabled(w, "vm.ctrl-alt-del",
                                  state == VESSEL_VM_RUNNING && vm_has_display(self));
    gtk_widget_action_set_enabled(w, "vm.settings", has_app);

    gtk_widget_set_visible(self->start_button, state == VESSEL_VM_STOPPED);
    gtk_widget_set_visible(self->resume_button, state == VESSEL_VM_PAUSED);
    gtk_widget_set_visible(self->pause_button,
                           state != VESSEL_VM_STOPPED && state != VESSEL_VM_PAUSED);
    gtk_widget_set_visible(self->powerdown_button, state != VESSEL_VM_STOPPED);

    const char *page;
    switch (state) {
    case VESSEL_VM_STOPPED: page = "stopped"; break;
    case VESSEL_VM_STARTING: page = "starting"; break;
    default: page = vm_has_display(self) ? "screen" : "no-display"; break;
    }
    gtk_spinner_set_spinning(self->starting_spinner, state == VESSEL_VM_STARTING);
    gtk_stack_set_visible_child_name(self->display_stack, page);

    const char *message = vessel_vm_get_stop_message(self->vm);
    adw_status_page_set_description(
        self->stopped_page,
        message && *message ? message : _("Start the virtual machine to see its screen here."));
    update_title(self);
}

static void on_vm_state(VesselVm *vm, GParamSpec *pspec, VesselVmWindow *self)
{
    (void)pspec;
    /* The console history restarts with the machine: so does the terminal. */
    if (vessel_vm_get_state(vm) == VESSEL_VM_STARTING)
        vte_terminal_reset(self->terminal, TRUE, TRUE);
    update_state(self);
}

static void on_vm_changed(VesselVm *vm, GParamSpec *pspec, VesselVmWindow *self)
{
    (void)vm, (void)pspec;
    update_state(self);
}

static void on_record_changed(VesselVm *vm, VesselVmWindow *self)
{
    (void)vm;
    update_title(self);
}

static void on_console_output(VesselVm *vm, GBytes *bytes, VesselVmWindow *self)
{
    (void)vm;
    gsize len = 0;
    const char *data = g_bytes_get_data(bytes, &len);
    if (len)
        vte_terminal_feed(self->terminal, data, (gssize)len);
}

static void on_terminal_commit(VteTerminal *terminal, const char *text, guint size,
                               VesselVmWindow *self)
{
    (void)terminal;
    if (vessel_vm_is_active(self->vm))
        vessel_vm_console_input(self->vm, (const guint8 *)text, size);
}

/* ---- Actions ---- */

static void on_start_done(GObject *source, GAsyncResult *result, gpointer data)
{
    VesselVmWindow *self = data;
    GError *error = NULL;
    if (!vessel_vm_start_finish(VESSEL_VM(source), result, &error)) {
        toast(self, error->message, 10);
        g_error_free(error);
    }
    g_object_unref(self);
}

static void action_start(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    VesselVmWindow *self = VESSEL_VM_WINDOW(widget);
    /* The application starts VMs (and reports its errors); without one, start it here. */
    if (!gtk_widget_activate_action(widget, "app.start-vm", "x", vessel_vm_get_id(self->vm)))
        vessel_vm_start_async(self->vm, NULL, on_start_done, g_object_ref(self));
}

typedef struct {
    VesselVmWindow *self;
    gboolean close_after;
} ActionCall;

static void on_action_done(GObject *source, GAsyncResult *result, gpointer data)
{
    ActionCall *call = data;
    GError *error = NULL;
    if (!vessel_vm_action_finish(VESSEL_VM(source), result, &error)) {
        toast(call->self, error->message, 10);
        g_error_free(error);
    } else if (call->close_after && !call->self->disposed) {
        call->self->close_confirmed = TRUE;
        gtk_window_close(GTK_WINDOW(call->self));
    }
    g_object_unref(call->self);
    g_free(call);
}

static void run_action(VesselVmWindow *self, VesselVmAction action, gboolean close_after)
{
    ActionCall *call = g_new0(ActionCall, 1);
    call->self = g_object_ref(self);
    call->close_after = close_after;
    vessel_vm_action_async(self->vm, action, NULL, on_action_done, call);
}

static void action_vm(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)param;
    VesselVmWindow *self = VESSEL_VM_WINDOW(widget);
    static const struct {
        const char *name;
        VesselVmAction action;
    } map[] = {
        { "vm.pause", VESSEL_VM_ACTION_PAUSE },
        { "vm.resume", VESSEL_VM_ACTION_RESUME },
        { "vm.powerdown", VESSEL_VM_ACTION_POWERDOWN },
        { "vm.force-stop", VESSEL_VM_ACTION_FORCE_STOP },
        { "vm.reset", VESSEL_VM_ACTION_RESET },
    };
    for (gsize i = 0; i < G_N_ELEMENTS(map); i++) {
        if (g_str_equal(name, map[i].name)) {
            run_action(self, map[i].action, FALSE);
            return;
        }
    }
}

static void action_settings(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    VesselVmWindow *self = VESSEL_VM_WINDOW(widget);
    gtk_widget_activate_action(widget, "app.settings", "x", vessel_vm_get_id(self->vm));
}

static void action_ctrl_alt_del(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    vessel_display_send_ctrl_alt_del(VESSEL_VM_WINDOW(widget)->display);
}

static void action_cancel_copy(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    VesselVmWindow *self = VESSEL_VM_WINDOW(widget);
    if (self->copy_cancellable)
        g_cancellable_cancel(self->copy_cancellable);
}

static void set_view(VesselVmWindow *self, const char *view)
{
    if (g_strcmp0(view, "display") != 0 && g_strcmp0(view, "console") != 0)
        return;
    if (g_strcmp0(self->view, view) == 0)
        return;
    g_free(self->view);
    self->view = g_strdup(view);
    adw_view_stack_set_visible_child_name(self->view_stack, view);
    if (g_str_equal(view, "console"))
        gtk_widget_grab_focus(GTK_WIDGET(self->terminal));
    else
        vessel_display_ungrab(self->display);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_VIEW]);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_SHOW_CONSOLE]);
}

/* ---- Closing ---- */

static void save_size(VesselVmWindow *self)
{
    GSettings *s = settings(self);
    if (!s || gtk_window_is_maximized(GTK_WINDOW(self)))
        return;
    int w = 0, h = 0;
    gtk_window_get_default_size(GTK_WINDOW(self), &w, &h);
    if (w > 0 && h > 0) {
        g_settings_set_int(s, "vm-window-width", w);
        g_settings_set_int(s, "vm-window-height", h);
    }
}

static gboolean close_idle(gpointer data)
{
    if (!VESSEL_VM_WINDOW(data)->disposed)
        gtk_window_close(GTK_WINDOW(data));
    return G_SOURCE_REMOVE;
}

static void on_close_response(AdwMessageDialog *dialog, const char *response, VesselVmWindow *self)
{
    (void)dialog;
    if (g_str_equal(response, "powerdown")) {
        run_action(self, VESSEL_VM_ACTION_POWERDOWN, TRUE);
    } else if (g_str_equal(response, "force-stop")) {
        run_action(self, VESSEL_VM_ACTION_FORCE_STOP, TRUE);
    } else if (g_str_equal(response, "keep")) {
        /* After the dialog (transient for this window) has gone. */
        self->close_confirmed = TRUE;
        g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, close_idle, g_object_ref(self), g_object_unref);
    }
}

static gboolean vessel_vm_window_close_request(GtkWindow *window)
{
    VesselVmWindow *self = VESSEL_VM_WINDOW(window);
    if (!self->close_confirmed && vessel_vm_is_active(self->vm)) {
        char *body = g_strdup_printf(
            _("“%s” is still running. Power it down, stop it at once (unsaved work in the "
              "guest is lost), or keep it running without its window: you can reopen it "
              "from the main window."),
            vessel_vm_get_name(self->vm));
        GtkWidget *dialog = adw_message_dialog_new(window, _("Close the Virtual Machine?"), body);
        g_free(body);
        AdwMessageDialog *d = ADW_MESSAGE_DIALOG(dialog);
        adw_message_dialog_add_responses(d, "cancel", _("_Cancel"), "keep", _("_Keep Running"),
                                         "force-stop", _("_Force Stop"), "powerdown",
                                         _("_Power Down"), NULL);
        adw_message_dialog_set_response_appearance(d, "force-stop", ADW_RESPONSE_DESTRUCTIVE);
        adw_message_dialog_set_response_appearance(d, "powerdown", ADW_RESPONSE_SUGGESTED);
        adw_message_dialog_set_response_enabled(d, "powerdown",
                                                vessel_vm_get_state(self->vm) == VESSEL_VM_RUNNING);
        adw_message_dialog_set_default_response(d, "cancel");
        adw_message_dialog_set_close_response(d, "cancel");
        g_signal_connect_object(dialog, "response", G_CALLBACK(on_close_response), self, 0);
        gtk_window_present(GTK_WINDOW(dialog));
        return TRUE;
    }
    save_size(self);
    if (self->copy_cancellable)
        g_cancellable_cancel(self->copy_cancellable);
    GtkWindowClass *parent = GTK_WINDOW_CLASS(vessel_vm_window_parent_class);
    return parent->close_request ? parent->close_request(window) : FALSE;
}

/* ---- Drop: copies into the shared folder ---- */

typedef struct {
    VesselVmWindow *self;
    char *tag;
} CopyCall;

static void on_copy_progress(guint files_done, guint files_total, guint64 bytes_done,
                             guint64 bytes_total, const char *current, gpointer data)
{
    VesselVmWindow *self = data;
    if (self->disposed || !self->copy_label)
        return;
    char *done = g_format_size(bytes_done), *total = g_format_size(bytes_total);
    char *text;
    if (current)
        text = g_strdup_printf(_("Copying “%s” — file %u of %u, %s of %s"), current,
                               MIN(files_done + 1, files_total), files_total, done, total);
    else
        text = g_strdup_printf(_("Copying %u of %u files, %s of %s"), files_done, files_total, done,
                               total);
    gtk_label_set_text(self->copy_label, text);
    gtk_progress_bar_set_fraction(self->copy_progress,
                                  bytes_total ? (double)bytes_done / (double)bytes_total : 0.0);
    g_free(text);
    g_free(done);
    g_free(total);
}

static void on_copy_done(GObject *source, GAsyncResult *result, gpointer data)
{
    (void)source;
    CopyCall *call = data;
    VesselVmWindow *self = call->self;
    guint n_files = 0, n_skipped = 0;
    guint64 n_bytes = 0;
    GError *error = NULL;
    gboolean ok = vessel_drop_copy_finish(result, &n_files, &n_bytes, &n_skipped, &error);

    self->copying = FALSE;
    g_clear_object(&self->copy_cancellable);
    if (!self->disposed) {
        gtk_revealer_set_reveal_child(self->copy_revealer, FALSE);
        g_object_notify_by_pspec(G_OBJECT(self), props[PROP_COPYING]);
    }

    GString *text = g_string_new(NULL);
    if (!ok && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_string_append(text, _("Copy cancelled: the file being copied was removed"));
    } else if (!ok) {
        g_string_append(text, error->message);
    } else if (n_files == 0) {
        g_string_append(text, _("Nothing was copied: links and special files are not copied"));
    } else {
        g_string_append_printf(text,
                               ngettext("Copied %u file to the shared folder “%s”",
                                        "Copied %u files to the shared folder “%s”", n_files),
                               n_files, call->tag);
        if (n_skipped)
            g_string_append_printf(text,
                                   ngettext(" (%u link or special file skipped)",
                                            " (%u links or special files skipped)", n_skipped),
                                   n_skipped);
        char *mount = g_strdup_printf(MOUNT_HINT, call->tag);
        /* The mount command the guest runs to see the shared folder. */
        g_string_append_printf(text, _(" — in the guest: %s"), mount);
        g_free(mount);
    }
    toast(self, text->str, ok ? 10 : 0);
    g_string_free(text, TRUE);
    g_clear_error(&error);
    g_object_unref(self);
    g_free(call->tag);
    g_free(call);
}

static void start_copy(VesselVmWindow *self, GList *files, const char *path, const char *tag)
{
    GFile *dest = g_file_new_for_path(path);
    self->copying = TRUE;
    self->copy_cancellable = g_cancellable_new();
    gtk_label_set_text(self->copy_label, _("Preparing to copy…"));
    gtk_progress_bar_set_fraction(self->copy_progress, 0);
    gtk_revealer_set_reveal_child(self->copy_revealer, TRUE);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_COPYING]);

    CopyCall *call = g_new0(CopyCall, 1);
    call->self = g_object_ref(self);
    call->tag = g_strdup(tag);
    vessel_drop_copy_async(files, dest, self->copy_cancellable, on_copy_progress, self,
                           on_copy_done, call);
    g_object_unref(dest);
}

typedef struct {
    VesselVmWindow *self;
    GList *files;
    char *path;
    char tag[VL_TAG_MAX];
    VlVm *record;
    gboolean answered; /* the offer in the dialog was taken */
} ShareCall;

static void share_call_free(ShareCall *call)
{
    g_object_unref(call->self);
    g_list_free_full(call->files, g_object_unref);
    g_free(call->path);
    if (call->record)
        vessel_vm_record_free(call->record);
    g_free(call);
}

static void on_share_saved(GObject *source, GAsyncResult *result, gpointer data)
{
    ShareCall *call = data;
    GError *error = NULL;
    if (!vessel_store_save_vm_finish(VESSEL_STORE(source), result, &error)) {
        char *text = g_strdup_printf(_("Could not add the shared folder: %s"), error->message);
        toast(call->self, text, 0);
        g_free(text);
        g_error_free(error);
    } else if (!call->self->disposed) {
        toast(call->self,
              _("Shared folder added: the guest sees it the next time the virtual machine "
                "starts"),
              5);
        start_copy(call->self, call->files, call->path, call->tag);
    }
    share_call_free(call);
}

static void on_share_dir_made(GObject *source, GAsyncResult *result, gpointer data)
{
    ShareCall *call = data;
    GError *error = NULL;
    if (!g_file_make_directory_finish(G_FILE(source), result, &error) &&
        !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_EXISTS)) {
        char *text = g_strdup_printf(_("Could not create the shared folder %s: %s"), call->path,
                                     error->message);
        toast(call->self, text, 0);
        g_free(text);
        g_error_free(error);
        share_call_free(call);
        return;
    }
    g_clear_error(&error);
    VesselStore *st = store(call->self);
    if (!st || call->self->disposed) {
        share_call_free(call);
        return;
    }
    call->record = vessel_vm_record_dup(vessel_vm_get_record(call->self->vm));
    /* The tag must be unique in the VM: "vessel", else "vessel-2", "vessel-3"... */
    for (guint n = 1;; n++) {
        if (n == 1)
            g_strlcpy(call->tag, "vessel", sizeof call->tag);
        else
            g_snprintf(call->tag, sizeof call->tag, "vessel-%u", n);
        gboolean taken = FALSE;
        for (size_t i = 0; i < call->record->n_shares; i++)
            taken |= g_str_equal(call->record->shares[i].tag, call->tag);
        if (!taken)
            break;
    }
    VlShare *share = vl_vm_add_share(call->record);
    if (!share) {
        toast(call->self, _("Could not add the shared folder: out of memory"), 0);
        share_call_free(call);
        return;
    }
    g_strlcpy(share->path, call->path, sizeof share->path);
    g_strlcpy(share->tag, call->tag, sizeof share->tag);
    share->readonly = false;
    vessel_store_save_vm_async(st, call->record, NULL, on_share_saved, call);
}

/* The dialog owns the offer (freed with it); "create" starts a call of its own, once. */
static void on_share_response(AdwMessageDialog *dialog, const char *response, ShareCall *offer)
{
    (void)dialog;
    if (!g_str_equal(response, "create") || offer->self->disposed || offer->answered)
        return;
    offer->answered = TRUE;
    ShareCall *call = g_new0(ShareCall, 1);
    call->self = g_object_ref(offer->self);
    call->path = g_strdup(offer->path);
    for (GList *l = offer->files; l; l = l->next)
        call->files = g_list_prepend(call->files, g_object_ref(l->data));
    call->files = g_list_reverse(call->files);
    GFile *dir = g_file_new_for_path(call->path);
    g_file_make_directory_async(dir, G_PRIORITY_DEFAULT, NULL, on_share_dir_made, call);
    g_object_unref(dir);
}

static void offer_share(VesselVmWindow *self, GList *files)
{
    VesselStore *st = store(self);
    const VlVm *record = vessel_vm_get_record(self->vm);
    if (!st || !record) {
        toast(self, _("This virtual machine has no shared folder the guest can write to"), 0);
        return;
    }
    char *bundle = vessel_store_bundle_path(st, record->uuid);
    ShareCall *call = g_new0(ShareCall, 1);
    call->self = g_object_ref(self);
    call->path = g_build_filename(bundle, "shared", NULL);
    for (GList *l = files; l; l = l->next)
        call->files = g_list_prepend(call->files, g_object_ref(l->data));
    call->files = g_list_reverse(call->files);
    g_free(bundle);

    char *body = g_strdup_printf(
        _("“%s” has no shared folder it can write to. Vessel can create the folder %s and "
          "share it with the guest under the tag “vessel”, then copy the files there. The "
          "guest sees the new shared folder the next time the virtual machine starts."),
        vessel_vm_get_name(self->vm), call->path);
    GtkWidget *dialog =
        adw_message_dialog_new(GTK_WINDOW(self), _("Create a Shared Folder?"), body);
    g_free(body);
    AdwMessageDialog *d = ADW_MESSAGE_DIALOG(dialog);
    adw_message_dialog_add_responses(d, "cancel", _("_Cancel"), "create", _("_Create and Copy"),
                                     NULL);
    adw_message_dialog_set_response_appearance(d, "create", ADW_RESPONSE_SUGGESTED);
    adw_message_dialog_set_default_response(d, "create");
    adw_message_dialog_set_close_response(d, "cancel");
    g_signal_connect_data(dialog, "response", G_CALLBACK(on_share_response), call,
                          (GClosureNotify)(void (*)(void))share_call_free, 0);
    gtk_window_present(GTK_WINDOW(dialog));
}

void vessel_vm_window_copy_files(VesselVmWindow *self, GList *files)
{
    g_return_if_fail(VESSEL_IS_VM_WINDOW(self));
    if (!files)
        return;
    if (self->copying) {
        toast(self, _("Another copy is still running: wait for it or cancel it first"), 5);
        return;
    }
    const VlVm *record = vessel_vm_get_record(self->vm);
    for (size_t i = 0; record && i < record->n_shares; i++) {
        if (!record->shares[i].readonly) {
            start_copy(self, files, record->shares[i].path, record->shares[i].tag);
            return;
        }
    }
    offer_share(self, files);
}

static gboolean on_drop(GtkDropTarget *target, const GValue *value, double x, double y,
                        VesselVmWindow *self)
{
    (void)target, (void)x, (void)y;
    if (!G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST))
        return FALSE;
    GSList *list = gdk_file_list_get_files(g_value_get_boxed(value));
    GList *files = NULL;
    for (GSList *l = list; l; l = l->next)
        files = g_list_prepend(files, l->data);
    files = g_list_reverse(files);
    vessel_vm_window_copy_files(self, files);
    g_list_free(files);
    g_slist_free(list);
    return TRUE;
}

/* ---- GObject ---- */

VesselVm *vessel_vm_window_get_vm(VesselVmWindow *self)
{
    return self->vm;
}

GtkWindow *vessel_vm_window_new(VesselApplication *app, VesselVm *vm)
{
    g_return_val_if_fail(VESSEL_IS_VM(vm), NULL);
    return g_object_new(VESSEL_TYPE_VM_WINDOW, "application", app, "vm", vm, NULL);
}

/* "application" is set after construction: the saved size and the app's actions follow. */
static void on_application(VesselVmWindow *self, GParamSpec *pspec, gpointer data)
{
    (void)pspec, (void)data;
    GSettings *s = settings(self);
    if (s && !gtk_widget_get_realized(GTK_WIDGET(self))) {
        int w = g_settings_get_int(s, "vm-window-width");
        int h = g_settings_get_int(s, "vm-window-height");
        if (w > 0 && h > 0)
            gtk_window_set_default_size(GTK_WINDOW(self), w, h);
    }
    if (self->vm)
        update_state(self);
}

static void connect_vm(VesselVmWindow *self, const char *signal, GCallback cb)
{
    gulong id = g_signal_connect(self->vm, signal, cb, self);
    g_ptr_array_add(self->vm_handlers, GSIZE_TO_POINTER((gsize)id));
}

static void vessel_vm_window_constructed(GObject *object)
{
    VesselVmWindow *self = VESSEL_VM_WINDOW(object);
    G_OBJECT_CLASS(vessel_vm_window_parent_class)->constructed(object);

    connect_vm(self, "notify::state", G_CALLBACK(on_vm_state));
    connect_vm(self, "notify::has-display", G_CALLBACK(on_vm_changed));
    connect_vm(self, "notify::stop-message", G_CALLBACK(on_vm_changed));
    connect_vm(self, "notify::name", G_CALLBACK(on_vm_changed));
    connect_vm(self, "record-changed", G_CALLBACK(on_record_changed));
    connect_vm(self, "console-output", G_CALLBACK(on_console_output));
    vessel_display_set_vm(self->display, self->vm);

    GBytes *history = vessel_vm_get_console_history(self->vm);
    if (history) {
        gsize len = 0;
        const char *data = g_bytes_get_data(history, &len);
        if (len)
            vte_terminal_feed(self->terminal, data, (gssize)len);
        g_bytes_unref(history);
    }
    update_state(self);
    /* A VM without a screen opens on its console. */
    set_view(self, vessel_vm_is_active(self->vm) && !vm_has_display(self) ? "console" : "display");
}

static void vessel_vm_window_dispose(GObject *object)
{
    VesselVmWindow *self = VESSEL_VM_WINDOW(object);
    self->disposed = TRUE;
    if (self->copy_cancellable)
        g_cancellable_cancel(self->copy_cancellable);
    if (self->vm) {
        for (guint i = 0; i < self->vm_handlers->len; i++)
            g_signal_handler_disconnect(self->vm, GPOINTER_TO_SIZE(self->vm_handlers->pdata[i]));
        g_ptr_array_set_size(self->vm_handlers, 0);
        if (self->display)
            vessel_display_set_vm(self->display, NULL);
    }
    gtk_widget_dispose_template(GTK_WIDGET(self), VESSEL_TYPE_VM_WINDOW);
    G_OBJECT_CLASS(vessel_vm_window_parent_class)->dispose(object);
}

static void vessel_vm_window_finalize(GObject *object)
{
    VesselVmWindow *self = VESSEL_VM_WINDOW(object);
    g_clear_object(&self->vm);
    g_clear_object(&self->copy_cancellable);
    g_ptr_array_unref(self->vm_handlers);
    g_free(self->view);
    G_OBJECT_CLASS(vessel_vm_window_parent_class)->finalize(object);
}

static void vessel_vm_window_get_property(GObject *object, guint id, GValue *value,
                                          GParamSpec *pspec)
{
    VesselVmWindow *self = VESSEL_VM_WINDOW(object);
    switch (id) {
    case PROP_VM: g_value_set_object(value, self->vm); break;
    case PROP_VIEW: g_value_set_string(value, self->view); break;
    case PROP_SHOW_CONSOLE: g_value_set_boolean(value, g_str_equal(self->view, "console")); break;
    case PROP_COPYING: g_value_set_boolean(value, self->copying); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    }
}

static void vessel_vm_window_set_property(GObject *object, guint id, const GValue *value,
                                          GParamSpec *pspec)
{
    VesselVmWindow *self = VESSEL_VM_WINDOW(object);
    switch (id) {
    case PROP_VM: self->vm = g_value_dup_object(value); break;
    case PROP_VIEW: set_view(self, g_value_get_string(value)); break;
    case PROP_SHOW_CONSOLE:
        set_view(self, g_value_get_boolean(value) ? "console" : "display");
        break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    }
}

static void vessel_vm_window_class_init(VesselVmWindowClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    GtkWindowClass *window_class = GTK_WINDOW_CLASS(klass);

    object_class->constructed = vessel_vm_window_constructed;
    object_class->dispose = vessel_vm_window_dispose;
    object_class->finalize = vessel_vm_window_finalize;
    object_class->get_property = vessel_vm_window_get_property;
    object_class->set_property = vessel_vm_window_set_property;
    window_class->close_request = vessel_vm_window_close_request;

    props[PROP_VM] =
        g_param_spec_object("vm", NULL, NULL, VESSEL_TYPE_VM,
                            G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
    props[PROP_VIEW] =
        g_param_spec_string("view", NULL, NULL, "display",
                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    props[PROP_SHOW_CONSOLE] =
        g_param_spec_boolean("show-console", NULL, NULL, FALSE,
                             G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    props[PROP_COPYING] =
        g_param_spec_boolean("copying", NULL, NULL, FALSE,
                             G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties(object_class, N_PROPS, props);

    g_type_ensure(VESSEL_TYPE_DISPLAY);
    g_type_ensure(VTE_TYPE_TERMINAL);
    gtk_widget_class_set_template_from_resource(widget_class,
                                                "/io/github/vessel/Vessel/vessel-vm-window.ui");
    /* clang-format off */
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, toast_overlay);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, window_title);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, start_button);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, resume_button);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, pause_button);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, powerdown_button);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, copy_revealer);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, copy_label);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, copy_progress);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, view_stack);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, display_stack);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, display);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, stopped_page);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, starting_spinner);
    gtk_widget_class_bind_template_child(widget_class, VesselVmWindow, terminal);
    /* clang-format on */

    gtk_widget_class_install_action(widget_class, "vm.start", NULL, action_start);
    gtk_widget_class_install_action(widget_class, "vm.pause", NULL, action_vm);
    gtk_widget_class_install_action(widget_class, "vm.resume", NULL, action_vm);
    gtk_widget_class_install_action(widget_class, "vm.powerdown", NULL, action_vm);
    gtk_widget_class_install_action(widget_class, "vm.force-stop", NULL, action_vm);
    gtk_widget_class_install_action(widget_class, "vm.reset", NULL, action_vm);
    gtk_widget_class_install_action(widget_class, "vm.settings", NULL, action_settings);
    gtk_widget_class_install_action(widget_class, "vm.ctrl-alt-del", NULL, action_ctrl_alt_del);
    gtk_widget_class_install_action(widget_class, "vm.cancel-copy", NULL, action_cancel_copy);
    gtk_widget_class_install_property_action(widget_class, "vm.view", "view");
    gtk_widget_class_install_property_action(widget_class, "vm.show-console", "show-console");
}

static void vessel_vm_window_init(VesselVmWindow *self)
{
    self->vm_handlers = g_ptr_array_new();
    self->view = g_strdup("display");
    gtk_widget_init_template(GTK_WIDGET(self));

    g_signal_connect(self->terminal, "commit", G_CALLBACK(on_terminal_commit), self);
    g_signal_connect(self, "notify::application", G_CALLBACK(on_application), NULL);

    GtkDropTarget *drop = gtk_drop_target_new(GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
    g_signal_connect(drop, "drop", G_CALLBACK(on_drop), self);
    gtk_widget_add_controller(GTK_WIDGET(self->toast_overlay), GTK_EVENT_CONTROLLER(drop));
}
