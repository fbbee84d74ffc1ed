/* SPDX-License-Identifier: MIT */
/*
 * The per-VM settings window.
 *
 * Apply model: `record` is a working copy of the VM's library record that only ever holds
 * valid settings. Each valid change goes into it and is written at once (like GNOME
 * Settings); input that is not valid stays in its widget with the reason beside it.
 *
 * Writes go through a queue with one write in flight, so they reach the library in the
 * order they were made and a rename never races a save:
 *   OP_SAVE    write the working copy (skipped when nothing changed since the last write)
 *   OP_RENAME  rename through the library (its duplicate-name message shown inline)
 *   OP_ADD     add one drive, forward or share to the working copy and write it; when the
 *              library refuses (a duplicate host port or tag) the item is taken out again
 *              and the library's message shown beside the form it came from.
 * After each write the MAC address the library generated for a new adapter (and the ids
 * of new rows) are copied from the VM's refreshed record into the working copy, so the
 * next write keeps that MAC instead of having another one generated.
 */
#include "vessel-settings.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024ull * 1024ull)

typedef enum { OP_SAVE, OP_RENAME, OP_ADD } OpKind;
typedef enum { ADD_DRIVE, ADD_FORWARD, ADD_SHARE } AddKind;

typedef struct {
    OpKind kind;
    char *name; /* OP_RENAME */
    AddKind add;
    VlDrive drive;
    VlForward forward;
    VlShare share;
} Op;

struct _VesselSettings {
    AdwPreferencesWindow parent_instance;

    VesselStore *store;
    GSettings *settings;
    VesselVm *vm;
    VlVm *record;
    GQueue ops;     /* Op, waiting */
    Op *current;    /* the write in flight, or NULL */
    gboolean dirty; /* the working copy changed since the last write started */
    gboolean loading;
    gboolean disposed;
    gboolean restart_needed;
    gboolean close_when_idle;
    gboolean last_save_failed;
    char *share_path;
    GtkFileChooserNative *chooser;
    GCancellable *cancellable; /* file probes (not writes: those always finish) */
    guint64 host_mib;
    int host_cpus;
    GPtrArray *drive_rows, *forward_rows, *share_rows;
    guint check_source; /* idle: is the VM still in the library? */

    /* template children */
    GtkRevealer *restart_note_general, *restart_note_performance, *restart_note_storage,
        *restart_note_network, *restart_note_shares, *restart_note_display;
    AdwEntryRow *name_row;
    AdwActionRow *name_error_row;
    AdwComboRow *os_row;
    AdwActionRow *arch_row, *memory_row, *vcpus_row;
    GtkSpinButton *memory_spin, *vcpus_spin;
    AdwComboRow *accel_row;
    GtkSpinButton *jit_spin;
    AdwActionRow *tier_row;
    AdwComboRow *pin_row;
    AdwEntryRow *pin_list_row;
    AdwActionRow *pin_error_row, *host_cpus_row, *pin_summary_row;
    AdwPreferencesGroup *drives_group;
    AdwActionRow *media_row;
    AdwComboRow *net_mode_row;
    AdwEntryRow *ifname_row;
    AdwActionRow *net_error_row, *mac_row;
    AdwPreferencesGroup *forwards_group, *forward_add_group;
    AdwComboRow *forward_proto_row;
    GtkSpinButton *forward_host_spin, *forward_guest_spin;
    AdwActionRow *forward_error_row;
    AdwPreferencesGroup *shares_group;
    AdwActionRow *share_path_row;
    AdwEntryRow *share_tag_row;
    GtkSwitch *share_readonly_switch;
    AdwActionRow *share_error_row;
    GtkSpinButton *width_spin, *height_spin;
    GtkSwitch *scale_switch;
    AdwComboRow *gl_row;
};

G_DEFINE_FINAL_TYPE(VesselSettings, vessel_settings, ADW_TYPE_PREFERENCES_WINDOW)

enum { PROP_0, PROP_BUSY, N_PROPS };
static GParamSpec *props[N_PROPS];

/* Combo row positions follow the library's enums. */
static const char *const os_kinds[] = { "linux", "windows", "bsd", "other" };
static const char *const protos[] = { "tcp", "udp" };

static void run_next_op(VesselSettings *self);
static void load_widgets(VesselSettings *self);
static void rebuild_drives(VesselSettings *self);
static void rebuild_forwards(VesselSettings *self);
static void rebuild_shares(VesselSettings *self);

/* ---- small helpers ---- */

static void op_free(Op *op)
{
    g_free(op->name);
    g_free(op);
}

static void show_toast(VesselSettings *self, const char *message)
{
    AdwToast *toast = adw_toast_new(message);
    adw_toast_set_timeout(toast, 0); /* stays until dismissed: the user has to act on it */
    adw_preferences_window_add_toast(ADW_PREFERENCES_WINDOW(self), toast);
}

/* An inline error row: visible with the message, hidden with NULL. */
static void set_error(AdwActionRow *row, const char *message)
{
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), message ? message : "");
    gtk_widget_set_visible(GTK_WIDGET(row), message != NULL);
}

static void set_entry_error(AdwEntryRow *entry, AdwActionRow *row, const char *message)
{
    set_error(row, message);
    if (message)
        gtk_widget_add_css_class(GTK_WIDGET(entry), "error");
    else
        gtk_widget_remove_css_class(GTK_WIDGET(entry), "error");
}

static void update_busy(VesselSettings *self)
{
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_BUSY]);
}

gboolean vessel_settings_is_busy(VesselSettings *self)
{
    g_return_val_if_fail(VESSEL_IS_SETTINGS(self), FALSE);
    return self->current || !g_queue_is_empty(&self->ops);
}

static VlNic *first_nic(VlVm *vm)
{
    return vm->n_nics ? &vm->nics[0] : NULL;
}

static VlMedia *cd_slot(VlVm *vm)
{
    for (size_t i = 0; i < vm->n_media; i++)
        if (vm->media[i].slot == 0)
            return &vm->media[i];
    return NULL;
}

/* ---- the write queue ---- */

/* Copy ids of rows the library created (and a MAC it generated) into the working copy. */
static void adopt_ids(VlVm *w, const VlVm *r)
{
    for (size_t i = 0; i < w->n_drives; i++)
        for (size_t j = 0; !w->drives[i].id && j < r->n_drives; j++)
            if (r->drives[j].position == w->drives[i].position)
                w->drives[i].id = r->drives[j].id;
    for (size_t i = 0; i < w->n_media; i++)
        for (size_t j = 0; !w->media[i].id && j < r->n_media; j++)
            if (r->media[j].slot == w->media[i].slot)
                w->media[i].id = r->media[j].id;
    for (size_t i = 0; i < w->n_shares; i++)
        for (size_t j = 0; !w->shares[i].id && j < r->n_shares; j++)
            if (!strcmp(r->shares[j].tag, w->shares[i].tag))
                w->shares[i].id = r->shares[j].id;
    for (size_t i = 0; i < w->n_nics; i++) {
        VlNic *wn = &w->nics[i];
        const VlNic *rn = NULL;
        for (size_t j = 0; j < r->n_nics && !rn; j++)
            if (r->nics[j].position == wn->position)
                rn = &r->nics[j];
        if (!rn)
            continue;
        if (!wn->id)
            wn->id = rn->id;
        if (!wn->mac[0])
            g_strlcpy(wn->mac, rn->mac, sizeof(wn->mac));
        for (size_t k = 0; k < wn->n_forwards; k++)
            for (size_t j = 0; !wn->forwards[k].id && j < rn->n_forwards; j++)
                if (rn->forwards[j].host_port == wn->forwards[k].host_port &&
                    !strcmp(rn->forwards[j].proto, wn->forwards[k].proto))
                    wn->forwards[k].id = rn->forwards[j].id;
    }
}

static void remove_added_item(VesselSettings *self, const Op *op)
{
    VlVm *w = self->record;
    switch (op->add) {
    case ADD_DRIVE:
        for (size_t i = 0; i < w->n_drives; i++) {
            if (w->drives[i].position == op->drive.position && !w->drives[i].id) {
                memmove(&w->drives[i], &w->drives[i + 1],
                        (w->n_drives - i - 1) * sizeof(*w->drives));
                w->n_drives--;
                break;
            }
        }
        break;
    case ADD_FORWARD: {
        VlNic *nic = first_nic(w);
        for (size_t i = 0; nic && i < nic->n_forwards; i++) {
            VlForward *f = &nic->forwards[i];
            if (!f->id && f->host_port == op->forward.host_port &&
                !strcmp(f->proto, op->forward.proto)) {
                memmove(f, f + 1, (nic->n_forwards - i - 1) * sizeof(*f));
                nic->n_forwards--;
                break;
            }
        }
        break;
    }
    case ADD_SHARE:
        for (size_t i = 0; i < w->n_shares; i++) {
            if (!w->shares[i].id && !strcmp(w->shares[i].tag, op->share.tag)) {
                memmove(&w->shares[i], &w->shares[i + 1],
                        (w->n_shares - i - 1) * sizeof(*w->shares));
                w->n_shares--;
                break;
            }
        }
        break;
    }
}

static gboolean append_added_item(VesselSettings *self, Op *op)
{
    VlVm *w = self->record;
    switch (op->add) {
    case ADD_DRIVE: {
        VlDrive *d = vl_vm_add_drive(w);
        if (!d)
            return FALSE;
        *d = op->drive;
        return TRUE;
    }
    case ADD_FORWARD: {
        VlNic *nic = first_nic(w);
        VlForward *f = nic && nic->mode == VL_NET_USER ? vl_nic_add_forward(nic) : NULL;
        if (!f)
            return FALSE;
        *f = op->forward;
        return TRUE;
    }
    case ADD_SHARE: {
        VlShare *s = vl_vm_add_share(w);
        if (!s)
            return FALSE;
        *s = op->share;
        return TRUE;
    }
    }
    return FALSE;
}

static AdwActionRow *error_row_for(VesselSettings *self, AddKind kind)
{
    switch (kind) {
    case ADD_FORWARD: return self->forward_error_row;
    case ADD_SHARE: return self->share_error_row;
    default: return NULL;
    }
}

static gboolean queue_has_save(VesselSettings *self)
{
    for (GList *l = self->ops.head; l; l = l->next)
        if (((Op *)l->data)->kind == OP_SAVE)
            return TRUE;
    return FALSE;
}

static void op_finished(VesselSettings *self)
{
    self->current = NULL;
    run_next_op(self);
}

static void save_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    VesselSettings *self = user_data;
    Op *op = self->current;
    g_autoptr(GError) error = NULL;
    if (vessel_store_save_vm_finish(VESSEL_STORE(source), result, &error)) {
        self->last_save_failed = FALSE;
        adopt_ids(self->record, vessel_vm_get_record(self->vm));
        if (op->kind == OP_ADD && !self->disposed) {
            AdwActionRow *row = error_row_for(self, op->add);
            if (row)
                set_error(row, NULL);
            if (op->add == ADD_SHARE && !g_strcmp0(self->share_path, op->share.path)) {
                /* Ready for the next one. */
                g_clear_pointer(&self->share_path, g_free);
                adw_action_row_set_subtitle(self->share_path_row, _("None chosen"));
                gtk_editable_set_text(GTK_EDITABLE(self->share_tag_row), "");
                gtk_switch_set_active(self->share_readonly_switch, FALSE);
            }
        }
    } else if (op->kind == OP_ADD) {
        /* The library refused the new item: take it out again, say why beside its form. */
        remove_added_item(self, op);
        if (!self->disposed) {
            AdwActionRow *row = error_row_for(self, op->add);
            if (row)
                set_error(row, error->message);
            else
                show_toast(self, error->message);
        }
        /* Other edits made since were in this write too: write them again without it. */
        self->dirty = TRUE;
        if (!queue_has_save(self)) {
            Op *save = g_new0(Op, 1);
            save->kind = OP_SAVE;
            g_queue_push_tail(&self->ops, save);
        }
    } else {
        /* Keep the edits: they are written with the next change or when the window closes. */
        self->dirty = TRUE;
        self->last_save_failed = TRUE;
        if (!self->disposed) {
            g_autofree char *msg =
                g_strdup_printf(_("Could not save the settings: %s"), error->message);
            show_toast(self, msg);
        }
    }
    if (!self->disposed && op->kind == OP_ADD) {
        switch (op->add) {
        case ADD_DRIVE: rebuild_drives(self); break;
        case ADD_FORWARD: rebuild_forwards(self); break;
        case ADD_SHARE: rebuild_shares(self); break;
        }
    }
    op_free(op);
    op_finished(self);
    g_object_unref(self);
}

static void rename_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    VesselSettings *self = user_data;
    Op *op = self->current;
    g_autoptr(GError) error = NULL;
    if (vessel_store_rename_vm_finish(VESSEL_STORE(source), result, &error)) {
        g_strlcpy(self->record->name, op->name, sizeof(self->record->name));
        if (!self->disposed) {
            set_entry_error(self->name_row, self->name_error_row, NULL);
            g_autofree char *title = g_strdup_printf(_("%s — Settings"), op->name);
            gtk_window_set_title(GTK_WINDOW(self), title);
        }
    } else if (!self->disposed) {
        set_entry_error(self->name_row, self->name_error_row, error->message);
        self->close_when_idle = FALSE; /* stay open: the name typed has not been kept */
    }
    op_free(op);
    op_finished(self);
    g_object_unref(self);
}

/* Skip a queued save while nothing changed (an earlier write took the change along). */
static void run_next_op(VesselSettings *self)
{
    while (!g_queue_is_empty(&self->ops)) {
        Op *op = g_queue_pop_head(&self->ops);
        if (op->kind == OP_SAVE && !self->dirty) {
            op_free(op);
            continue;
        }
        if (op->kind == OP_RENAME) {
            self->current = op;
            vessel_store_rename_vm_async(self->store, self->record->id, op->name, NULL, rename_done,
                                         g_object_ref(self));
            return;
        }
        if (op->kind == OP_ADD && !append_added_item(self, op)) {
            VlNic *nic = first_nic(self->record);
            gboolean no_nat = op->add == ADD_FORWARD && (!nic || nic->mode != VL_NET_USER);
            AdwActionRow *row = error_row_for(self, op->add);
            const char *msg =
                no_nat ? _("Port forwards need the NAT network mode.") : _("Out of memory");
            if (!self->disposed && row)
                set_error(row, msg);
            else if (!self->disposed)
                show_toast(self, msg);
            op_free(op);
            continue;
        }
        self->dirty = FALSE;
        self->current = op;
        /* The store copies the record before returning. */
        vessel_store_save_vm_async(self->store, self->record, NULL, save_done, g_object_ref(self));
        return;
    }
    update_busy(self);
    if (self->close_when_idle && !self->disposed) {
        self->close_when_idle = FALSE;
        /* After a failed write the toast says why, and the window stays open with the edits. */
        if (!self->dirty && !self->last_save_failed)
            gtk_window_destroy(GTK_WINDOW(self));
    }
}

static void push_op(VesselSettings *self, Op *op)
{
    g_queue_push_tail(&self->ops, op);
    if (!self->current)
        run_next_op(self);
    update_busy(self);
}

static void note_restart(VesselSettings *self)
{
    if (!vessel_vm_is_active(self->vm) || self->restart_needed)
        return;
    self->restart_needed = TRUE;
    GtkRevealer *notes[] = { self->restart_note_general, self->restart_note_performance,
                             self->restart_note_storage, self->restart_note_network,
                             self->restart_note_shares,  self->restart_note_display };
    for (size_t i = 0; i < G_N_ELEMENTS(notes); i++)
        gtk_revealer_set_reveal_child(notes[i], TRUE);
}

/* The working copy changed (a valid edit): write it. */
static void changed(VesselSettings *self)
{
    self->dirty = TRUE;
    note_restart(self);
    Op *tail = g_queue_peek_tail(&self->ops);
    if (tail && tail->kind == OP_SAVE)
        return; /* a queued save writes this change too */
    Op *op = g_new0(Op, 1);
    op->kind = OP_SAVE;
    push_op(self, op);
}

static void add_item(VesselSettings *self, Op *op)
{
    op->kind = OP_ADD;
    note_restart(self);
    push_op(self, op);
}

/* ---- General ---- */

static void on_name_apply(VesselSettings *self)
{
    const char *text = gtk_editable_get_text(GTK_EDITABLE(self->name_row));
    g_autofree char *name = g_strstrip(g_strdup(text));
    if (!*name) {
        set_entry_error(self->name_row, self->name_error_row, _("A VM needs a name."));
        return;
    }
    if (strlen(name) >= VL_NAME_MAX) {
        g_autofree char *msg =
            g_strdup_printf(_("A VM name is at most %d bytes long."), VL_NAME_MAX - 1);
        set_entry_error(self->name_row, self->name_error_row, msg);
        return;
    }
    set_entry_error(self->name_row, self->name_error_row, NULL);
    if (!strcmp(name, self->record->name))
        return;
    Op *op = g_new0(Op, 1);
    op->kind = OP_RENAME;
    op->name = g_steal_pointer(&name);
    push_op(self, op);
}

static void on_os_selected(VesselSettings *self)
{
    guint i = adw_combo_row_get_selected(self->os_row);
    if (self->loading || i >= G_N_ELEMENTS(os_kinds))
        return;
    g_strlcpy(self->record->os_kind, os_kinds[i], sizeof(self->record->os_kind));
    changed(self);
}

static void on_memory_changed(VesselSettings *self)
{
    if (self->loading)
        return;
    guint64 mib = (guint64)gtk_spin_button_get_value_as_int(self->memory_spin);
    if (mib * MIB == self->record->memory_bytes)
        return;
    self->record->memory_bytes = mib * MIB;
    changed(self);
}

static void on_vcpus_changed(VesselSettings *self)
{
    int n = gtk_spin_button_get_value_as_int(self->vcpus_spin);
    if (self->loading || n == self->record->vcpus)
        return;
    self->record->vcpus = n;
    changed(self);
}

/* ---- Performance ---- */

static void on_accel_selected(VesselSettings *self)
{
    guint i = adw_combo_row_get_selected(self->accel_row);
    if (self->loading || i > VL_ACCEL_INTERPRETER || (VlAccel)i == self->record->accel)
        return;
    self->record->accel = (VlAccel)i;
    changed(self);
}

static void on_jit_changed(VesselSettings *self)
{
    int n = gtk_spin_button_get_value_as_int(self->jit_spin);
    if (self->loading || n == self->record->jit_threshold)
        return;
    self->record->jit_threshold = n;
    changed(self);
}

/* A CPU list as the engine reads it; the message for the inline error otherwise. */
static gboolean pin_list_valid(const char *text, char **message)
{
    VsPinPolicy policy;
    VsError err = { 0 };
    if (!*text) {
        *message = g_strdup(_("Enter the CPUs to use, like 0-3,6."));
        return FALSE;
    }
    if (strlen(text) >= sizeof(((VlVm *)NULL)->pin_cpus)) {
        *message = g_strdup(_("The CPU list is too long."));
        return FALSE;
    }
    if (vs_pin_parse(text, &policy, &err) != VS_OK) {
        /* The engine words it for vessel-run ("invalid --pin '0-': why"): keep the why. */
        const char *why = err.message;
        if (g_str_has_prefix(why, "invalid --pin '") && strstr(why, "': "))
            why = strstr(why, "': ") + 3;
        *message = g_strdup_printf(_("Not a CPU list (write it like 0-3,6): %s"), why);
        return FALSE;
    }
    if (policy != VS_PIN_LIST) {
        *message = g_strdup(_("Enter CPU numbers, like 0-3,6."));
        return FALSE;
    }
    return TRUE;
}

static const char *pin_description(VlPin pin)
{
    switch (pin) {
    case VL_PIN_AUTO: return _("vCPUs on performance cores, I/O on efficiency cores");
    case VL_PIN_PERFORMANCE: return _("vCPUs and I/O on performance cores");
    case VL_PIN_LIST: return _("vCPU i on the i-th CPU of the list");
    case VL_PIN_NONE: return _("The host’s scheduler decides");
    }
    return "";
}

static void apply_pin(VesselSettings *self)
{
    guint i = adw_combo_row_get_selected(self->pin_row);
    if (i > VL_PIN_NONE)
        return;
    gtk_widget_set_visible(GTK_WIDGET(self->pin_list_row), i == VL_PIN_LIST);
    adw_action_row_set_subtitle(ADW_ACTION_ROW(self->pin_row), pin_description((VlPin)i));
    if (i != VL_PIN_LIST) {
        set_entry_error(self->pin_list_row, self->pin_error_row, NULL);
        if ((VlPin)i != self->record->pin) {
            self->record->pin = (VlPin)i;
            changed(self);
        }
        return;
    }
    const char *text = gtk_editable_get_text(GTK_EDITABLE(self->pin_list_row));
    g_autofree char *message = NULL;
    if (!pin_list_valid(text, &message)) {
        set_entry_error(self->pin_list_row, self->pin_error_row, message);
        return; /* stays local until the list is valid */
    }
    set_entry_error(self->pin_list_row, self->pin_error_row, NULL);
    if (self->record->pin == VL_PIN_LIST && !strcmp(self->record->pin_cpus, text))
        return;
    self->record->pin = VL_PIN_LIST;
    g_strlcpy(self->record->pin_cpus, text, sizeof(self->record->pin_cpus));
    changed(self);
}

static void on_pin_selected(VesselSettings *self)
{
    if (!self->loading)
        apply_pin(self);
}

static void on_pin_list_apply(VesselSettings *self)
{
    if (!self->loading)
        apply_pin(self);
}

static void update_running_rows(VesselSettings *self)
{
    gboolean active = vessel_vm_is_active(self->vm);
    const char *tier = vessel_vm_get_accel_summary(self->vm);
    const char *pin = vessel_vm_get_pin_summary(self->vm);
    adw_action_row_set_subtitle(self->tier_row, active && tier && *tier ? tier : _("Not running"));
    adw_action_row_set_subtitle(self->pin_summary_row,
                                active && pin && *pin ? pin : _("Not running"));
}

static void host_cpus_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    (void)source, (void)data, (void)cancel;
    char buf[1024];
    VsError err = { 0 };
    if (vs_host_cpu_summary(buf, sizeof(buf), &err) == VS_OK)
        g_task_return_pointer(task, g_strdup(buf), g_free);
    else
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
}

static void host_cpus_done(GObject *source, GAsyncResult *result, gpointer data)
{
    (void)data;
    VesselSettings *self = VESSEL_SETTINGS(source);
    g_autoptr(GError) error = NULL;
    g_autofree char *summary = g_task_propagate_pointer(G_TASK(result), &error);
    if (self->disposed || g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
    adw_action_row_set_subtitle(self->host_cpus_row, summary ? summary : error->message);
}

/* ---- Storage ---- */

typedef struct {
    char *path;
    gboolean want_dir;
} Probe;

static void probe_free(Probe *p)
{
    g_free(p->path);
    g_free(p);
}

/* Off the main thread: the file can be read (and for images, its format from the magic). */
static void probe_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
    (void)source, (void)cancel;
    Probe *p = data;
    struct stat st;
    if (stat(p->path, &st) != 0) {
        int e = errno;
        g_task_return_new_error(task, G_IO_ERROR, g_io_error_from_errno(e), _("Cannot open %s: %s"),
                                p->path, g_strerror(e));
        return;
    }
    if (p->want_dir) {
        if (!S_ISDIR(st.st_mode))
            g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                                    _("%s is not a folder"), p->path);
        else
            g_task_return_pointer(task, g_strdup(""), g_free);
        return;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
                                _("%s is not a disk image file"), p->path);
        return;
    }
    int fd = open(p->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        g_task_return_new_error(task, G_IO_ERROR, g_io_error_from_errno(e), _("Cannot read %s: %s"),
                                p->path, g_strerror(e));
        return;
    }
    unsigned char magic[4] = { 0 };
    ssize_t n = read(fd, magic, sizeof(magic));
    int e = errno;
    close(fd);
    if (n < 0) {
        g_task_return_new_error(task, G_IO_ERROR, g_io_error_from_errno(e), _("Cannot read %s: %s"),
                                p->path, g_strerror(e));
        return;
    }
    gboolean qcow2 = n == 4 && !memcmp(magic, "QFI\xfb", 4);
    g_task_return_pointer(task, g_strdup(qcow2 ? "qcow2" : "raw"), g_free);
}

static void probe_async(VesselSettings *self, const char *path, gboolean want_dir,
                        GAsyncReadyCallback done)
{
    GTask *task = g_task_new(self, self->cancellable, done, NULL);
    Probe *p = g_new0(Probe, 1);
    p->path = g_strdup(path);
    p->want_dir = want_dir;
    g_task_set_task_data(task, p, (GDestroyNotify)probe_free);
    g_task_run_in_thread(task, probe_thread);
    g_object_unref(task);
}

static char *probe_finish(GAsyncResult *result, char **path, GError **error)
{
    Probe *p = g_task_get_task_data(G_TASK(result));
    *path = g_strdup(p->path);
    return g_task_propagate_pointer(G_TASK(result), error);
}

static void drive_probed(GObject *source, GAsyncResult *result, gpointer data)
{
    (void)data;
    VesselSettings *self = VESSEL_SETTINGS(source);
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    g_autofree char *format = probe_finish(result, &path, &error);
    if (self->disposed || g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
    if (!format) {
        show_toast(self, error->message);
        return;
    }
    if (strlen(path) >= VL_PATH_MAX) {
        show_toast(self, _("The disk image’s path is too long."));
        return;
    }
    int position = 0;
    for (size_t i = 0; i < self->record->n_drives; i++)
        position = MAX(position, self->record->drives[i].position + 1);
    if (position > 63) {
        show_toast(self, _("A VM has at most 64 drives."));
        return;
    }
    Op *op = g_new0(Op, 1);
    op->add = ADD_DRIVE;
    g_strlcpy(op->drive.path, path, sizeof(op->drive.path));
    g_strlcpy(op->drive.format, format, sizeof(op->drive.format));
    op->drive.position = position;
    add_item(self, op);
}

static void media_probed(GObject *source, GAsyncResult *result, gpointer data)
{
    (void)data;
    VesselSettings *self = VESSEL_SETTINGS(source);
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    g_autofree char *format = probe_finish(result, &path, &error);
    if (self->disposed || g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
    if (!format) {
        show_toast(self, error->message);
        return;
    }
    if (strlen(path) >= VL_PATH_MAX) {
        show_toast(self, _("The image’s path is too long."));
        return;
    }
    VlMedia *m = cd_slot(self->record);
    if (!m && !(m = vl_vm_add_media(self->record))) {
        show_toast(self, _("Out of memory"));
        return;
    }
    m->slot = 0;
    g_strlcpy(m->path, path, sizeof(m->path));
    adw_action_row_set_subtitle(self->media_row, m->path);
    changed(self);
}

static void share_probed(GObject *source, GAsyncResult *result, gpointer data)
{
    (void)data;
    VesselSettings *self = VESSEL_SETTINGS(source);
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    g_autofree char *ok = probe_finish(result, &path, &error);
    if (self->disposed || g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
    if (!ok) {
        set_error(self->share_error_row, error->message);
        return;
    }
    set_error(self->share_error_row, NULL);
    g_free(self->share_path);
    self->share_path = g_steal_pointer(&path);
    adw_action_row_set_subtitle(self->share_path_row, self->share_path);
    /* Suggest a tag from the folder's name when none was typed. */
    const char *tag = gtk_editable_get_text(GTK_EDITABLE(self->share_tag_row));
    if (!*tag) {
        g_autofree char *base = g_path_get_basename(self->share_path);
        GString *s = g_string_new(NULL);
        for (const char *c = base; *c && s->len < VL_TAG_MAX - 1; c++)
            if (g_ascii_isalnum(*c) || *c == '_' || *c == '.' || *c == '-')
                g_string_append_c(s, *c);
        gtk_editable_set_text(GTK_EDITABLE(self->share_tag_row), s->len ? s->str : "share");
        g_string_free(s, TRUE);
    }
}

static VlDrive *drive_at(VesselSettings *self, int position)
{
    for (size_t i = 0; i < self->record->n_drives; i++)
        if (self->record->drives[i].position == position)
            return &self->record->drives[i];
    return NULL;
}

static void on_drive_readonly(GtkSwitch *sw, GParamSpec *pspec, VesselSettings *self)
{
    (void)pspec;
    VlDrive *d = drive_at(self, GPOINTER_TO_INT(g_object_get_data(G_OBJECT(sw), "position")));
    if (self->loading || !d || d->readonly == gtk_switch_get_active(sw))
        return;
    d->readonly = gtk_switch_get_active(sw);
    changed(self);
}

static void on_drive_format(GtkDropDown *dd, GParamSpec *pspec, VesselSettings *self)
{
    (void)pspec;
    VlDrive *d = drive_at(self, GPOINTER_TO_INT(g_object_get_data(G_OBJECT(dd), "position")));
    const char *format = gtk_drop_down_get_selected(dd) == 1 ? "qcow2" : "raw";
    if (self->loading || !d || !strcmp(d->format, format))
        return;
    g_strlcpy(d->format, format, sizeof(d->format));
    changed(self);
}

static void clear_rows(AdwPreferencesGroup *group, GPtrArray *rows)
{
    for (guint i = 0; i < rows->len; i++)
        adw_preferences_group_remove(group, g_ptr_array_index(rows, i));
    g_ptr_array_set_size(rows, 0);
}

static GtkWidget *remove_button(const char *action, GVariant *target, const char *tooltip)
{
    GtkWidget *b = gtk_button_new_from_icon_name("user-trash-symbolic");
    gtk_widget_set_valign(b, GTK_ALIGN_CENTER);
    gtk_widget_set_tooltip_text(b, tooltip);
    gtk_widget_add_css_class(b, "flat");
    gtk_actionable_set_action_name(GTK_ACTIONABLE(b), action);
    gtk_actionable_set_action_target_value(GTK_ACTIONABLE(b), target);
    return b;
}

/* A switch with a short label before it, for a row that already has a title. */
static GtkWidget *labelled_switch(const char *label, gboolean active, GtkSwitch **out)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    GtkWidget *l = gtk_label_new(label);
    gtk_widget_add_css_class(l, "dim-label");
    GtkWidget *sw = gtk_switch_new();
    gtk_switch_set_active(GTK_SWITCH(sw), active);
    gtk_widget_set_valign(sw, GTK_ALIGN_CENTER);
    gtk_box_append(GTK_BOX(box), l);
    gtk_box_append(GTK_BOX(box), sw);
    gtk_widget_set_valign(box, GTK_ALIGN_CENTER);
    *out = GTK_SWITCH(sw);
    return box;
}

static void rebuild_drives(VesselSettings *self)
{
    gboolean was_loading = self->loading;
    self->loading = TRUE;
    clear_rows(self->drives_group, self->drive_rows);
    VlVm *w = self->record;
    if (!w->n_drives) {
        GtkWidget *row = adw_action_row_new();
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), _("No drives"));
        gtk_widget_add_css_class(row, "dim-label");
        adw_preferences_group_add(self->drives_group, row);
        g_ptr_array_add(self->drive_rows, row);
    }
    for (size_t i = 0; i < w->n_drives; i++) {
        const VlDrive *d = &w->drives[i];
        GtkWidget *row = adw_action_row_new();
        g_autofree char *base = g_path_get_basename(d->path);
        g_autofree char *name = g_strdup_printf("drive-%d", d->position);
        gtk_widget_set_name(row, name);
        adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), base);
        adw_action_row_set_subtitle(ADW_ACTION_ROW(row), d->path);
        adw_action_row_set_subtitle_lines(ADW_ACTION_ROW(row), 2);
        adw_action_row_add_prefix(ADW_ACTION_ROW(row),
                                  gtk_image_new_from_icon_name("drive-harddisk-symbolic"));

        const char *const formats[] = { "raw", "qcow2", NULL };
        GtkWidget *dd = gtk_drop_down_new_from_strings(formats);
        gtk_drop_down_set_selected(GTK_DROP_DOWN(dd), !strcmp(d->format, "qcow2") ? 1 : 0);
        gtk_widget_set_valign(dd, GTK_ALIGN_CENTER);
        gtk_widget_set_tooltip_text(dd, _("Disk image format"));
        g_object_set_data(G_OBJECT(dd), "position", GINT_TO_POINTER(d->position));
        g_signal_connect(dd, "notify::selected", G_CALLBACK(on_drive_format), self);
        adw_action_row_add_suffix(ADW_ACTION_ROW(row), dd);

        GtkSwitch *sw;
        adw_action_row_add_suffix(ADW_ACTION_ROW(row),
                                  labelled_switch(_("Read-only"), d->readonly, &sw));
        g_object_set_data(G_OBJECT(sw), "position", GINT_TO_POINTER(d->position));
        g_signal_connect(sw, "notify::active", G_CALLBACK(on_drive_readonly), self);

        adw_action_row_add_suffix(ADW_ACTION_ROW(row),
                                  remove_button("settings.remove-drive",
                                                g_variant_new_int32(d->position),
                                                _("Remove this drive (the image file is kept)")));
        adw_preferences_group_add(self->drives_group, row);
        g_ptr_array_add(self->drive_rows, row);
    }
    self->loading = was_loading;
}

/* ---- Network ---- */

/* The kernel's rule for interface names (dev_valid_name), and IFNAMSIZ. */
static gboolean ifname_valid(const char *name, char **message)
{
    size_t n = strlen(name);
    if (n == 0) {
        *message = g_strdup(_("Enter the name of the TAP interface, like tap0."));
        return FALSE;
    }
    if (n >= VL_IFNAME_MAX) {
        *message =
            g_strdup_printf(_("Interface names are at most %d characters."), VL_IFNAME_MAX - 1);
        return FALSE;
    }
    if (!strcmp(name, ".") || !strcmp(name, "..")) {
        *message = g_strdup(_("“.” and “..” are not interface names."));
        return FALSE;
    }
    for (const char *c = name; *c; c++) {
        if (*c == '/' || *c == ':' || g_ascii_isspace(*c) || !g_ascii_isprint(*c)) {
            *message = g_strdup(_("Interface names cannot contain “/”, “:” or spaces."));
            return FALSE;
        }
    }
    return TRUE;
}

static void update_network_visibility(VesselSettings *self)
{
    guint mode = adw_combo_row_get_selected(self->net_mode_row);
    VlNic *nic = first_nic(self->record);
    gtk_widget_set_visible(GTK_WIDGET(self->ifname_row), mode == VL_NET_BRIDGE);
    gtk_widget_set_visible(GTK_WIDGET(self->forwards_group), mode == VL_NET_USER);
    gtk_widget_set_visible(GTK_WIDGET(self->forward_add_group), mode == VL_NET_USER);
    gtk_widget_set_visible(GTK_WIDGET(self->mac_row), mode != VL_NET_NONE || nic);
    adw_action_row_set_subtitle(
        self->mac_row, nic && nic->mac[0] ? nic->mac : _("Chosen when the adapter is saved"));
}

static void apply_network(VesselSettings *self)
{
    guint mode = adw_combo_row_get_selected(self->net_mode_row);
    if (mode > VL_NET_NONE)
        return;
    update_network_visibility(self);
    VlNic *nic = first_nic(self->record);
    const char *ifname = gtk_editable_get_text(GTK_EDITABLE(self->ifname_row));
    g_autofree char *message = NULL;
    if (mode == VL_NET_BRIDGE && !ifname_valid(ifname, &message)) {
        set_entry_error(self->ifname_row, self->net_error_row, message);
        return; /* stays local until the name is valid */
    }
    set_entry_error(self->ifname_row, self->net_error_row, NULL);
    if (!nic) {
        if (mode == VL_NET_NONE)
            return;
        if (!(nic = vl_vm_add_nic(self->record))) {
            show_toast(self, _("Out of memory"));
            return;
        }
        nic->position = 0;
        nic->mac[0] = 0; /* the library generates one */
    } else if (nic->mode == (VlNetMode)mode &&
               (mode != VL_NET_BRIDGE || !strcmp(nic->ifname, ifname))) {
        return;
    }
    nic->mode = (VlNetMode)mode;
    g_strlcpy(nic->ifname, mode == VL_NET_BRIDGE ? ifname : "", sizeof(nic->ifname));
    if (mode != VL_NET_USER) {
        g_free(nic->forwards); /* forwards belong to NAT (the group's description says so) */
        nic->forwards = NULL;
        nic->n_forwards = 0;
    }
    rebuild_forwards(self);
    update_network_visibility(self);
    changed(self);
}

static void on_net_mode_selected(VesselSettings *self)
{
    if (!self->loading)
        apply_network(self);
}

static void on_ifname_apply(VesselSettings *self)
{
    if (!self->loading)
        apply_network(self);
}

static void rebuild_forwards(VesselSettings *self)
{
    clear_rows(self->forwards_group, self->forward_rows);
    VlNic *nic = first_nic(self->record);
    size_t n = nic ? nic->n_forwards : 0;
    if (!n) {
        GtkWidget *row = adw_action_row_new();
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), _("No port forwards"));
        gtk_widget_add_css_class(row, "dim-label");
        adw_preferences_group_add(self->forwards_group, row);
        g_ptr_array_add(self->forward_rows, row);
    }
    for (size_t i = 0; i < n; i++) {
        const VlForward *f = &nic->forwards[i];
        GtkWidget *row = adw_action_row_new();
        g_autofree char *key = g_strdup_printf("%s:%d", f->proto, f->host_port);
        g_autofree char *name = g_strdup_printf("forward-%s", key);
        gtk_widget_set_name(row, name);
        g_autofree char *upper = g_ascii_strup(f->proto, -1);
        /* TRANSLATORS: a port forward, e.g. "TCP: host port 8080 → guest port 80" */
        g_autofree char *title = g_strdup_printf(_("%s: host port %d → guest port %d"), upper,
                                                 f->host_port, f->guest_port);
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
        adw_action_row_add_suffix(
            ADW_ACTION_ROW(row), remove_button("settings.remove-forward", g_variant_new_string(key),
                                               _("Remove this port forward")));
        adw_preferences_group_add(self->forwards_group, row);
        g_ptr_array_add(self->forward_rows, row);
    }
}

/* ---- Shared folders ---- */

static gboolean tag_valid(const char *tag)
{
    size_t n = strlen(tag);
    if (n < 1 || n >= VL_TAG_MAX)
        return FALSE;
    for (const char *c = tag; *c; c++)
        if (!g_ascii_isalnum(*c) && *c != '_' && *c != '.' && *c != '-')
            return FALSE;
    return TRUE;
}

static VlShare *share_with_tag(VesselSettings *self, const char *tag)
{
    for (size_t i = 0; i < self->record->n_shares; i++)
        if (!strcmp(self->record->shares[i].tag, tag))
            return &self->record->shares[i];
    return NULL;
}

static void on_share_readonly(GtkSwitch *sw, GParamSpec *pspec, VesselSettings *self)
{
    (void)pspec;
    VlShare *s = share_with_tag(self, g_object_get_data(G_OBJECT(sw), "tag"));
    if (self->loading || !s || s->readonly == gtk_switch_get_active(sw))
        return;
    s->readonly = gtk_switch_get_active(sw);
    changed(self);
}

static void rebuild_shares(VesselSettings *self)
{
    gboolean was_loading = self->loading;
    self->loading = TRUE;
    clear_rows(self->shares_group, self->share_rows);
    VlVm *w = self->record;
    if (!w->n_shares) {
        GtkWidget *row = adw_action_row_new();
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), _("No shared folders"));
        gtk_widget_add_css_class(row, "dim-label");
        adw_preferences_group_add(self->shares_group, row);
        g_ptr_array_add(self->share_rows, row);
    }
    for (size_t i = 0; i < w->n_shares; i++) {
        const VlShare *s = &w->shares[i];
        GtkWidget *row = adw_action_row_new();
        g_autofree char *name = g_strdup_printf("share-%s", s->tag);
        gtk_widget_set_name(row, name);
        adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), s->path);
        g_autofree char *mount =
            g_strdup_printf("mount -t 9p -o trans=virtio,version=9p2000.L %s /mnt", s->tag);
        /* TRANSLATORS: the share's mount tag, then the guest command that mounts it */
        g_autofree char *cmd = g_strdup_printf(_("Tag “%s”; in the guest: %s"), s->tag, mount);
        adw_action_row_set_subtitle(ADW_ACTION_ROW(row), cmd);
        adw_action_row_set_subtitle_lines(ADW_ACTION_ROW(row), 3);
        adw_action_row_add_prefix(ADW_ACTION_ROW(row),
                                  gtk_image_new_from_icon_name("folder-symbolic"));
        GtkSwitch *sw;
        adw_action_row_add_suffix(ADW_ACTION_ROW(row),
                                  labelled_switch(_("Read-only"), s->readonly, &sw));
        g_object_set_data_full(G_OBJECT(sw), "tag", g_strdup(s->tag), g_free);
        g_signal_connect(sw, "notify::active", G_CALLBACK(on_share_readonly), self);
        adw_action_row_add_suffix(ADW_ACTION_ROW(row),
                                  remove_button("settings.remove-share",
                                                g_variant_new_string(s->tag),
                                                _("Stop sharing this folder")));
        adw_preferences_group_add(self->shares_group, row);
        g_ptr_array_add(self->share_rows, row);
    }
    self->loading = was_loading;
}

/* ---- Display ---- */

static void on_display_changed(VesselSettings *self)
{
    if (self->loading)
        return;
    VlDisplay *d = &self->record->display;
    int w = gtk_spin_button_get_value_as_int(self->width_spin);
    int h = gtk_spin_button_get_value_as_int(self->height_spin);
    gboolean fit = gtk_switch_get_active(self->scale_switch);
    guint gl = adw_combo_row_get_selected(self->gl_row);
    if (gl > VL_GL_OFF)
        return;
    if (d->width == w && d->height == h && d->scale_to_fit == fit && d->gl == (VlGl)gl)
        return;
    d->width = w;
    d->height = h;
    d->scale_to_fit = fit;
    d->gl = (VlGl)gl;
    changed(self);
}

/* ---- loading the widgets from the working copy ---- */

static void set_spin(GtkSpinButton *spin, double lower, double upper, double value)
{
    gtk_spin_button_set_range(spin, lower, MAX(upper, value));
    gtk_spin_button_set_value(spin, value);
}

static void load_widgets(VesselSettings *self)
{
    VlVm *w = self->record;
    self->loading = TRUE;

    g_autofree char *title = g_strdup_printf(_("%s — Settings"), w->name);
    gtk_window_set_title(GTK_WINDOW(self), title);
    gtk_editable_set_text(GTK_EDITABLE(self->name_row), w->name);
    guint os = 3;
    for (guint i = 0; i < G_N_ELEMENTS(os_kinds); i++)
        if (!strcmp(w->os_kind, os_kinds[i]))
            os = i;
    adw_combo_row_set_selected(self->os_row, os);
    adw_action_row_set_subtitle(self->arch_row, w->arch);

    /* Memory up to the host's RAM (a record from a bigger host keeps its value). */
    set_spin(self->memory_spin, 16, (double)MIN(self->host_mib, 1024ull * 1024ull),
             (double)(w->memory_bytes / MIB));
    g_autofree char *mem_sub =
        g_strdup_printf(_("This host has %llu MiB"), (unsigned long long)self->host_mib);
    adw_action_row_set_subtitle(self->memory_row, mem_sub);
    /*
     * vCPUs up to twice the host's CPUs: the library allows 512, but vCPUs beyond the host's
     * CPUs only take turns on them, and far beyond that the guest's spinlocks stall.
     */
    set_spin(self->vcpus_spin, 1, MIN(512, self->host_cpus * 2), w->vcpus);
    g_autofree char *cpu_sub = g_strdup_printf(
        g_dngettext(GETTEXT_PACKAGE,
                    "This host has %d CPU; up to twice as many vCPUs are offered, and vCPUs "
                    "beyond the host’s CPUs take turns on them",
                    "This host has %d CPUs; up to twice as many vCPUs are offered, and vCPUs "
                    "beyond the host’s CPUs take turns on them",
                    self->host_cpus),
        self->host_cpus);
    adw_action_row_set_subtitle(self->vcpus_row, cpu_sub);

    adw_combo_row_set_selected(self->accel_row, w->accel);
    set_spin(self->jit_spin, 1, 1000000, w->jit_threshold);
    adw_combo_row_set_selected(self->pin_row, w->pin);
    adw_action_row_set_subtitle(ADW_ACTION_ROW(self->pin_row), pin_description(w->pin));
    gtk_editable_set_text(GTK_EDITABLE(self->pin_list_row),
                          w->pin == VL_PIN_LIST ? w->pin_cpus : "");
    gtk_widget_set_visible(GTK_WIDGET(self->pin_list_row), w->pin == VL_PIN_LIST);
    set_entry_error(self->pin_list_row, self->pin_error_row, NULL);
    update_running_rows(self);

    rebuild_drives(self);
    VlMedia *m = cd_slot(w);
    adw_action_row_set_subtitle(self->media_row, m && m->path[0] ? m->path : _("Empty"));

    VlNic *nic = first_nic(w);
    adw_combo_row_set_selected(self->net_mode_row, nic ? nic->mode : VL_NET_NONE);
    gtk_editable_set_text(GTK_EDITABLE(self->ifname_row), nic ? nic->ifname : "");
    set_entry_error(self->ifname_row, self->net_error_row, NULL);
    rebuild_forwards(self);
    update_network_visibility(self);

    rebuild_shares(self);

    set_spin(self->width_spin, 320, 16384, w->display.width);
    set_spin(self->height_spin, 200, 16384, w->display.height);
    gtk_switch_set_active(self->scale_switch, w->display.scale_to_fit);
    adw_combo_row_set_selected(self->gl_row, w->display.gl);

    self->loading = FALSE;
}

/* ---- actions ---- */

static void remember_folder(VesselSettings *self, const char *key, GFile *file)
{
    if (!self->settings)
        return;
    g_autoptr(GSettingsSchema) schema = NULL;
    g_object_get(self->settings, "settings-schema", &schema, NULL);
    if (!schema || !g_settings_schema_has_key(schema, key))
        return;
    g_autoptr(GFile) parent = g_file_get_parent(file);
    g_autofree char *path = parent ? g_file_get_path(parent) : NULL;
    if (path)
        g_settings_set_string(self->settings, key, path);
}

static void start_in_folder(VesselSettings *self, GtkFileChooser *chooser, const char *key)
{
    if (!self->settings)
        return;
    g_autoptr(GSettingsSchema) schema = NULL;
    g_object_get(self->settings, "settings-schema", &schema, NULL);
    if (!schema || !g_settings_schema_has_key(schema, key))
        return;
    g_autofree char *dir = g_settings_get_string(self->settings, key);
    if (dir && *dir) {
        g_autoptr(GFile) f = g_file_new_for_path(dir);
        gtk_file_chooser_set_current_folder(chooser, f, NULL);
    }
}

typedef enum { CHOOSE_DRIVE, CHOOSE_MEDIA, CHOOSE_SHARE } ChooseKind;

static void on_chooser_response(GtkNativeDialog *dialog, int response, VesselSettings *self)
{
    ChooseKind kind = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(dialog), "kind"));
    g_autoptr(GFile) file = NULL;
    if (response == GTK_RESPONSE_ACCEPT)
        file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    g_autofree char *path = file ? g_file_get_path(file) : NULL;
    if (file && !path)
        show_toast(self, _("Only local files can be used."));
    if (path) {
        static const char *const keys[] = { "last-disk-folder", "last-iso-folder",
                                            "last-share-folder" };
        if (kind == CHOOSE_SHARE) {
            if (self->settings) {
                g_autoptr(GSettingsSchema) schema = NULL;
                g_object_get(self->settings, "settings-schema", &schema, NULL);
                if (schema && g_settings_schema_has_key(schema, keys[kind]))
                    g_settings_set_string(self->settings, keys[kind], path);
            }
        } else {
            remember_folder(self, keys[kind], file);
        }
        switch (kind) {
        case CHOOSE_DRIVE: probe_async(self, path, FALSE, drive_probed); break;
        case CHOOSE_MEDIA: probe_async(self, path, FALSE, media_probed); break;
        case CHOOSE_SHARE: probe_async(self, path, TRUE, share_probed); break;
        }
    }
    if (self->chooser == GTK_FILE_CHOOSER_NATIVE(dialog))
        g_clear_object(&self->chooser);
}

static void open_chooser(VesselSettings *self, ChooseKind kind)
{
    static const char *const titles[] = { N_("Add Existing Disk Image"),
                                          N_("Insert a CD/DVD Image"),
                                          N_("Choose a Folder to Share") };
    static const char *const keys[] = { "last-disk-folder", "last-iso-folder",
                                        "last-share-folder" };
    if (self->chooser) {
        gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
        g_clear_object(&self->chooser);
    }
    self->chooser = gtk_file_chooser_native_new(
        _(titles[kind]), GTK_WINDOW(self),
        kind == CHOOSE_SHARE ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER : GTK_FILE_CHOOSER_ACTION_OPEN,
        kind == CHOOSE_SHARE ? _("_Choose") : _("_Open"), _("_Cancel"));
    gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->chooser), TRUE);
    g_object_set_data(G_OBJECT(self->chooser), "kind", GINT_TO_POINTER(kind));
    if (kind == CHOOSE_MEDIA) {
        GtkFileFilter *iso = gtk_file_filter_new();
        gtk_file_filter_set_name(iso, _("CD/DVD images"));
        gtk_file_filter_add_pattern(iso, "*.iso");
        gtk_file_filter_add_pattern(iso, "*.ISO");
        gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(self->chooser), iso);
        g_object_unref(iso);
    }
    if (kind != CHOOSE_SHARE) {
        GtkFileFilter *all = gtk_file_filter_new();
        gtk_file_filter_set_name(all, _("All files"));
        gtk_file_filter_add_pattern(all, "*");
        gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(self->chooser), all);
        g_object_unref(all);
    }
    start_in_folder(self, GTK_FILE_CHOOSER(self->chooser), keys[kind]);
    g_signal_connect(self->chooser, "response", G_CALLBACK(on_chooser_response), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

static void action_choose(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)param;
    VesselSettings *self = VESSEL_SETTINGS(widget);
    if (!strcmp(name, "settings.choose-drive"))
        open_chooser(self, CHOOSE_DRIVE);
    else if (!strcmp(name, "settings.choose-media"))
        open_chooser(self, CHOOSE_MEDIA);
    else
        open_chooser(self, CHOOSE_SHARE);
}

static void action_add_drive_path(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name;
    probe_async(VESSEL_SETTINGS(widget), g_variant_get_string(param, NULL), FALSE, drive_probed);
}

static void action_insert_media_path(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name;
    probe_async(VESSEL_SETTINGS(widget), g_variant_get_string(param, NULL), FALSE, media_probed);
}

static void action_set_share_path(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name;
    probe_async(VESSEL_SETTINGS(widget), g_variant_get_string(param, NULL), TRUE, share_probed);
}

static void action_eject_media(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    VesselSettings *self = VESSEL_SETTINGS(widget);
    VlMedia *m = cd_slot(self->record);
    if (!m || !m->path[0])
        return;
    m->path[0] = 0;
    adw_action_row_set_subtitle(self->media_row, _("Empty"));
    changed(self);
}

static void action_remove_drive(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name;
    VesselSettings *self = VESSEL_SETTINGS(widget);
    VlVm *w = self->record;
    int position = g_variant_get_int32(param);
    for (size_t i = 0; i < w->n_drives; i++) {
        if (w->drives[i].position == position) {
            memmove(&w->drives[i], &w->drives[i + 1], (w->n_drives - i - 1) * sizeof(*w->drives));
            w->n_drives--;
            rebuild_drives(self);
            changed(self);
            return;
        }
    }
}

static void action_add_forward(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    VesselSettings *self = VESSEL_SETTINGS(widget);
    gtk_spin_button_update(self->forward_host_spin);
    gtk_spin_button_update(self->forward_guest_spin);
    VlNic *nic = first_nic(self->record);
    if (!nic || nic->mode != VL_NET_USER) {
        set_error(self->forward_error_row, _("Port forwards need the NAT network mode."));
        return;
    }
    int host = gtk_spin_button_get_value_as_int(self->forward_host_spin);
    int guest = gtk_spin_button_get_value_as_int(self->forward_guest_spin);
    if (host < 1 || host > 65535 || guest < 1 || guest > 65535) {
        set_error(self->forward_error_row, _("Ports are numbers from 1 to 65535."));
        return;
    }
    guint proto = adw_combo_row_get_selected(self->forward_proto_row);
    Op *op = g_new0(Op, 1);
    op->add = ADD_FORWARD;
    g_strlcpy(op->forward.proto, protos[proto < 2 ? proto : 0], sizeof(op->forward.proto));
    op->forward.host_port = host;
    op->forward.guest_port = guest;
    set_error(self->forward_error_row, NULL);
    add_item(self, op);
}

static void action_remove_forward(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name;
    VesselSettings *self = VESSEL_SETTINGS(widget);
    VlNic *nic = first_nic(self->record);
    const char *key = g_variant_get_string(param, NULL);
    for (size_t i = 0; nic && i < nic->n_forwards; i++) {
        VlForward *f = &nic->forwards[i];
        g_autofree char *k = g_strdup_printf("%s:%d", f->proto, f->host_port);
        if (!strcmp(k, key)) {
            memmove(f, f + 1, (nic->n_forwards - i - 1) * sizeof(*f));
            nic->n_forwards--;
            rebuild_forwards(self);
            changed(self);
            return;
        }
    }
}

static void action_add_share(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    VesselSettings *self = VESSEL_SETTINGS(widget);
    const char *tag = gtk_editable_get_text(GTK_EDITABLE(self->share_tag_row));
    if (!self->share_path) {
        set_error(self->share_error_row, _("Choose the folder to share first."));
        return;
    }
    if (!tag_valid(tag)) {
        set_entry_error(self->share_tag_row, self->share_error_row,
                        _("A mount tag is 1 to 31 of the characters A-Z a-z 0-9 _ . -"));
        return;
    }
    if (strlen(self->share_path) >= VL_PATH_MAX) {
        set_error(self->share_error_row, _("The folder’s path is too long."));
        return;
    }
    set_entry_error(self->share_tag_row, self->share_error_row, NULL);
    Op *op = g_new0(Op, 1);
    op->add = ADD_SHARE;
    g_strlcpy(op->share.path, self->share_path, sizeof(op->share.path));
    g_strlcpy(op->share.tag, tag, sizeof(op->share.tag));
    op->share.readonly = gtk_switch_get_active(self->share_readonly_switch);
    add_item(self, op);
}

static void action_remove_share(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name;
    VesselSettings *self = VESSEL_SETTINGS(widget);
    VlVm *w = self->record;
    const char *tag = g_variant_get_string(param, NULL);
    for (size_t i = 0; i < w->n_shares; i++) {
        if (!strcmp(w->shares[i].tag, tag)) {
            memmove(&w->shares[i], &w->shares[i + 1], (w->n_shares - i - 1) * sizeof(*w->shares));
            w->n_shares--;
            rebuild_shares(self);
            changed(self);
            return;
        }
    }
}

/* ---- the VM ---- */

static void on_vm_state(VesselSettings *self)
{
    if (self->disposed)
        return;
    update_running_rows(self);
    if (!vessel_vm_is_active(self->vm) && self->restart_needed) {
        self->restart_needed = FALSE;
        GtkRevealer *notes[] = { self->restart_note_general, self->restart_note_performance,
                                 self->restart_note_storage, self->restart_note_network,
                                 self->restart_note_shares,  self->restart_note_display };
        for (size_t i = 0; i < G_N_ELEMENTS(notes); i++)
            gtk_revealer_set_reveal_child(notes[i], FALSE);
    }
}

/* The record changed and not through this window (our own writes are in flight then). */
static void on_record_changed(VesselSettings *self)
{
    if (self->disposed || vessel_settings_is_busy(self) || self->dirty)
        return;
    vessel_vm_record_free(self->record);
    self->record = vessel_vm_record_dup(vessel_vm_get_record(self->vm));
    load_widgets(self);
}

/* The VM was deleted (from the main window): its settings go with it. Checked from an idle
 * callback, since a rename re-sorts the model with a removal and then an addition. */
static gboolean check_vm_exists(gpointer data)
{
    VesselSettings *self = data;
    self->check_source = 0;
    if (!self->disposed && !vessel_store_lookup(self->store, self->record->id))
        gtk_window_destroy(GTK_WINDOW(self));
    return G_SOURCE_REMOVE;
}

static void on_vms_changed(VesselSettings *self)
{
    if (!self->disposed && !self->check_source)
        self->check_source = g_idle_add(check_vm_exists, self);
}

/* ---- closing: nothing typed is lost ---- */

static gboolean vessel_settings_close_request(GtkWindow *window)
{
    VesselSettings *self = VESSEL_SETTINGS(window);
    /* Commit numbers typed but not yet entered, and entries not yet applied. */
    GtkSpinButton *spins[] = { self->memory_spin, self->vcpus_spin, self->jit_spin,
                               self->width_spin, self->height_spin };
    for (size_t i = 0; i < G_N_ELEMENTS(spins); i++)
        gtk_spin_button_update(spins[i]);
    const char *name = gtk_editable_get_text(GTK_EDITABLE(self->name_row));
    if (strcmp(name, self->record->name))
        on_name_apply(self);
    if (adw_combo_row_get_selected(self->pin_row) == VL_PIN_LIST)
        apply_pin(self);
    if (adw_combo_row_get_selected(self->net_mode_row) == VL_NET_BRIDGE)
        apply_network(self);
    if (self->dirty && !vessel_settings_is_busy(self))
        changed(self);
    if (vessel_settings_is_busy(self)) {
        self->close_when_idle = TRUE; /* closes once the last write is done */
        return TRUE;
    }
    GtkWindowClass *parent = GTK_WINDOW_CLASS(vessel_settings_parent_class);
    return parent->close_request ? parent->close_request(window) : FALSE;
}

/* ---- GObject ---- */

static void vessel_settings_dispose(GObject *object)
{
    VesselSettings *self = VESSEL_SETTINGS(object);
    self->disposed = TRUE;
    g_cancellable_cancel(self->cancellable);
    if (self->vm)
        g_signal_handlers_disconnect_by_data(self->vm, self);
    if (self->store)
        g_signal_handlers_disconnect_by_data(vessel_store_get_vms(self->store), self);
    g_clear_handle_id(&self->check_source, g_source_remove);
    if (self->chooser) {
        gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
        g_clear_object(&self->chooser);
    }
    G_OBJECT_CLASS(vessel_settings_parent_class)->dispose(object);
}

static void vessel_settings_finalize(GObject *object)
{
    VesselSettings *self = VESSEL_SETTINGS(object);
    g_queue_clear_full(&self->ops, (GDestroyNotify)op_free);
    g_clear_pointer(&self->record, vessel_vm_record_free);
    g_clear_pointer(&self->share_path, g_free);
    g_clear_pointer(&self->drive_rows, g_ptr_array_unref);
    g_clear_pointer(&self->forward_rows, g_ptr_array_unref);
    g_clear_pointer(&self->share_rows, g_ptr_array_unref);
    g_clear_object(&self->cancellable);
    g_clear_object(&self->vm);
    g_clear_object(&self->store);
    g_clear_object(&self->settings);
    G_OBJECT_CLASS(vessel_settings_parent_class)->finalize(object);
}

static void vessel_settings_get_property(GObject *object, guint id, GValue *value,
                                         GParamSpec *pspec)
{
    VesselSettings *self = VESSEL_SETTINGS(object);
    switch (id) {
    case PROP_BUSY: g_value_set_boolean(value, vessel_settings_is_busy(self)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    }
}

static void vessel_settings_init(VesselSettings *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    /* A page's note group takes no room while its note is hidden. */
    GtkRevealer *notes[] = { self->restart_note_general, self->restart_note_performance,
                             self->restart_note_storage, self->restart_note_network,
                             self->restart_note_shares,  self->restart_note_display };
    for (size_t i = 0; i < G_N_ELEMENTS(notes); i++) {
        GtkWidget *group =
            gtk_widget_get_ancestor(GTK_WIDGET(notes[i]), ADW_TYPE_PREFERENCES_GROUP);
        g_object_bind_property(notes[i], "reveal-child", group, "visible", G_BINDING_SYNC_CREATE);
    }
    g_queue_init(&self->ops);
    self->cancellable = g_cancellable_new();
    self->drive_rows = g_ptr_array_new();
    self->forward_rows = g_ptr_array_new();
    self->share_rows = g_ptr_array_new();
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
    self->host_mib = pages > 0 && page_size > 0 ? (guint64)pages * (guint64)page_size / MIB : 1024;
    self->host_cpus = MAX(1, (int)g_get_num_processors());
    adw_action_row_set_subtitle(self->share_path_row, _("None chosen"));
    adw_action_row_set_subtitle(self->host_cpus_row, _("Detecting…"));
}

static void vessel_settings_class_init(VesselSettingsClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    GtkWindowClass *window_class = GTK_WINDOW_CLASS(klass);

    object_class->dispose = vessel_settings_dispose;
    object_class->finalize = vessel_settings_finalize;
    object_class->get_property = vessel_settings_get_property;
    window_class->close_request = vessel_settings_close_request;

    props[PROP_BUSY] =
        g_param_spec_boolean("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties(object_class, N_PROPS, props);

    gtk_widget_class_set_template_from_resource(widget_class,
                                                "/io/github/vessel/Vessel/vessel-settings.ui");
    /* clang-format off */
#define CHILD(name) gtk_widget_class_bind_template_child(widget_class, VesselSettings, name)
    CHILD(restart_note_general); CHILD(restart_note_performance); CHILD(restart_note_storage);
    CHILD(restart_note_network); CHILD(restart_note_shares); CHILD(restart_note_display);
    CHILD(name_row); CHILD(name_error_row); CHILD(os_row); CHILD(arch_row); CHILD(memory_row);
    CHILD(vcpus_row); CHILD(memory_spin); CHILD(vcpus_spin); CHILD(accel_row); CHILD(jit_spin);
    CHILD(tier_row); CHILD(pin_row); CHILD(pin_list_row); CHILD(pin_error_row);
    CHILD(host_cpus_row); CHILD(pin_summary_row); CHILD(drives_group); CHILD(media_row);
    CHILD(net_mode_row); CHILD(ifname_row); CHILD(net_error_row); CHILD(mac_row);
    CHILD(forwards_group); CHILD(forward_add_group); CHILD(forward_proto_row);
    CHILD(forward_host_spin); CHILD(forward_guest_spin); CHILD(forward_error_row);
    CHILD(shares_group); CHILD(share_path_row); CHILD(share_tag_row);
    CHILD(share_readonly_switch); CHILD(share_error_row); CHILD(width_spin); CHILD(height_spin);
    CHILD(scale_switch); CHILD(gl_row);
#undef CHILD
    /* clang-format on */

    gtk_widget_class_install_action(widget_class, "settings.choose-drive", NULL, action_choose);
    gtk_widget_class_install_action(widget_class, "settings.choose-media", NULL, action_choose);
    gtk_widget_class_install_action(widget_class, "settings.choose-share", NULL, action_choose);
    gtk_widget_class_install_action(widget_class, "settings.add-drive-path", "s",
                                    action_add_drive_path);
    gtk_widget_class_install_action(widget_class, "settings.insert-media-path", "s",
                                    action_insert_media_path);
    gtk_widget_class_install_action(widget_class, "settings.eject-media", NULL, action_eject_media);
    gtk_widget_class_install_action(widget_class, "settings.remove-drive", "i",
                                    action_remove_drive);
    gtk_widget_class_install_action(widget_class, "settings.add-forward", NULL, action_add_forward);
    gtk_widget_class_install_action(widget_class, "settings.remove-forward", "s",
                                    action_remove_forward);
    gtk_widget_class_install_action(widget_class, "settings.set-share-path", "s",
                                    action_set_share_path);
    gtk_widget_class_install_action(widget_class, "settings.add-share", NULL, action_add_share);
    gtk_widget_class_install_action(widget_class, "settings.remove-share", "s",
                                    action_remove_share);
}

static void connect_widgets(VesselSettings *self)
{
    g_signal_connect_swapped(self->name_row, "apply", G_CALLBACK(on_name_apply), self);
    g_signal_connect_swapped(self->os_row, "notify::selected", G_CALLBACK(on_os_selected), self);
    g_signal_connect_swapped(self->memory_spin, "value-changed", G_CALLBACK(on_memory_changed),
                             self);
    g_signal_connect_swapped(self->vcpus_spin, "value-changed", G_CALLBACK(on_vcpus_changed), self);
    g_signal_connect_swapped(self->accel_row, "notify::selected", G_CALLBACK(on_accel_selected),
                             self);
    g_signal_connect_swapped(self->jit_spin, "value-changed", G_CALLBACK(on_jit_changed), self);
    g_signal_connect_swapped(self->pin_row, "notify::selected", G_CALLBACK(on_pin_selected), self);
    g_signal_connect_swapped(self->pin_list_row, "apply", G_CALLBACK(on_pin_list_apply), self);
    g_signal_connect_swapped(self->net_mode_row, "notify::selected",
                             G_CALLBACK(on_net_mode_selected), self);
    g_signal_connect_swapped(self->ifname_row, "apply", G_CALLBACK(on_ifname_apply), self);
    g_signal_connect_swapped(self->width_spin, "value-changed", G_CALLBACK(on_display_changed),
                             self);
    g_signal_connect_swapped(self->height_spin, "value-changed", G_CALLBACK(on_display_changed),
                             self);
    g_signal_connect_swapped(self->scale_switch, "notify::active", G_CALLBACK(on_display_changed),
                             self);
    g_signal_connect_swapped(self->gl_row, "notify::selected", G_CALLBACK(on_display_changed),
                             self);
}

GtkWindow *vessel_settings_new_for_store(VesselStore *store, GSettings *settings, VesselVm *vm,
                                         GtkWindow *parent)
{
    g_return_val_if_fail(VESSEL_IS_STORE(store), NULL);
    g_return_val_if_fail(VESSEL_IS_VM(vm), NULL);
    VesselSettings *self = g_object_new(VESSEL_TYPE_SETTINGS, NULL);
    self->store = g_object_ref(store);
    self->settings = settings ? g_object_ref(settings) : NULL;
    self->vm = g_object_ref(vm);
    self->record = vessel_vm_record_dup(vessel_vm_get_record(vm));
    if (parent)
        gtk_window_set_transient_for(GTK_WINDOW(self), parent);
    load_widgets(self);
    connect_widgets(self);

    g_signal_connect_swapped(vm, "notify::state", G_CALLBACK(on_vm_state), self);
    g_signal_connect_swapped(vm, "notify::accel-summary", G_CALLBACK(update_running_rows), self);
    g_signal_connect_swapped(vm, "notify::pin-summary", G_CALLBACK(update_running_rows), self);
    g_signal_connect_swapped(vm, "record-changed", G_CALLBACK(on_record_changed), self);
    g_signal_connect_swapped(vessel_store_get_vms(store), "items-changed",
                             G_CALLBACK(on_vms_changed), self);

    GTask *task = g_task_new(self, self->cancellable, host_cpus_done, NULL);
    g_task_run_in_thread(task, host_cpus_thread);
    g_object_unref(task);
    return GTK_WINDOW(self);
}
