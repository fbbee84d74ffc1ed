/* SPDX-License-Identifier: MIT */
/*
 * The main window: the VM list (a GtkListBox bound to the store's model), the selected
 * VM's details and the actions on it. Every library write goes through the store's async
 * calls; their errors are shown as toasts with the library's message.
 */
#include "vessel-window.h"

#include <glib/gi18n.h>
#include <string.h>

#define GIB (1024ull * 1024 * 1024)
#define MIB (1024ull * 1024)

struct _VesselWindow {
    AdwApplicationWindow parent_instance;

    VesselStore *store;
    GListModel *vms; /* the store's model (owned by the store) */
    GSettings *settings;
    VesselVm *selected;    /* the VM whose details are shown (a reference) */
    guint selected_pos;    /* its last position, to select a neighbour when it goes */
    guint reconcile_id;    /* idle source restoring the selection after model changes */
    GPtrArray *share_rows; /* rows added to shares_group for the current VM */

    /* Template children. */
    AdwToastOverlay *toast_overlay;
    GtkStack *main_stack;
    AdwLeaflet *leaflet;
    GtkWidget *sidebar;
    GtkWidget *content;
    GtkListBox *vm_list;
    AdwWindowTitle *content_title;
    GtkLabel *details_name;
    GtkImage *details_state_icon;
    GtkLabel *details_state;
    GtkLabel *details_stop_message;
    GtkWidget *start_button;
    GtkWidget *pause_button;
    GtkWidget *resume_button;
    GtkWidget *stop_button;
    AdwActionRow *arch_row;
    AdwActionRow *os_row;
    AdwActionRow *memory_row;
    AdwActionRow *vcpus_row;
    AdwActionRow *boot_row;
    AdwActionRow *drives_row;
    AdwActionRow *network_row;
    AdwPreferencesGroup *shares_group;
    AdwActionRow *accel_row;
    AdwActionRow *pin_row;
};

G_DEFINE_FINAL_TYPE(VesselWindow, vessel_window, ADW_TYPE_APPLICATION_WINDOW)

enum { PROP_0, PROP_STORE, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* ---- Helpers ---------------------------------------------------------------------- */

static void show_toast(VesselWindow *self, const char *message)
{
    /* Toast titles are Pango markup; library messages may contain '<' or '&'. */
    g_autofree char *escaped = g_markup_escape_text(message, -1);
    adw_toast_overlay_add_toast(self->toast_overlay, adw_toast_new(escaped));
}

static const char *os_label(const char *os_kind)
{
    if (g_str_equal(os_kind, "linux"))
        return "Linux";
    if (g_str_equal(os_kind, "windows"))
        return "Windows";
    if (g_str_equal(os_kind, "bsd"))
        return "BSD";
    return C_("operating system", "Other");
}

static const char *state_icon_name(VesselVmState state)
{
    switch (state) {
    case VESSEL_VM_RUNNING: return "media-playback-start-symbolic";
    case VESSEL_VM_PAUSED: return "media-playback-pause-symbolic";
    case VESSEL_VM_STARTING:
    case VESSEL_VM_STOPPING: return "content-loading-symbolic";
    case VESSEL_VM_STOPPED:
    default: return "media-playback-stop-symbolic";
    }
}

static void set_state_style(GtkWidget *widget, VesselVmState state)
{
    gtk_widget_remove_css_class(widget, "success");
    gtk_widget_remove_css_class(widget, "warning");
    if (state == VESSEL_VM_RUNNING)
        gtk_widget_add_css_class(widget, "success");
    else if (state == VESSEL_VM_PAUSED)
        gtk_widget_add_css_class(widget, "warning");
}

static char *format_memory(guint64 bytes)
{
    if (bytes >= GIB && bytes % GIB == 0)
        return g_strdup_printf(_("%u GiB"), (unsigned)(bytes / GIB));
    return g_strdup_printf(_("%u MiB"), (unsigned)(bytes / MIB));
}

static char *format_boot(const VlVm *r)
{
    switch (r->boot) {
    case VL_BOOT_ISO:
        for (size_t i = 0; i < r->n_media; i++) {
            if (r->media[i].path[0])
                return g_strdup_printf(_("Installer image: %s"), r->media[i].path);
        }
        return g_strdup(_("Installer image: none inserted"));
    case VL_BOOT_DISK:
        if (r->n_drives > 0)
            return g_strdup_printf(_("Disk: %s"), r->drives[0].path);
        return g_strdup(_("Disk: no drive"));
    case VL_BOOT_KERNEL: return g_strdup_printf(_("Linux kernel: %s"), r->kernel);
    case VL_BOOT_DEMO:
    default:
        if (r->kernel[0])
            return g_strdup_printf(_("The demo guest: %s"), r->kernel);
        return g_strdup(_("The demo guest"));
    }
}

static char *format_drives(const VlVm *r)
{
    if (r->n_drives == 0)
        return g_strdup(_("None"));
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < r->n_drives; i++) {
        const VlDrive *d = &r->drives[i];
        if (i > 0)
            g_string_append_c(s, '\n');
        if (d->readonly)
            g_string_append_printf(s, _("%s (%s, read-only)"), d->path, d->format);
        else
            g_string_append_printf(s, _("%s (%s)"), d->path, d->format);
    }
    return g_string_free(s, FALSE);
}

static char *format_network(const VlVm *r)
{
    if (r->n_nics == 0)
        return g_strdup(_("None"));
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < r->n_nics; i++) {
        const VlNic *n = &r->nics[i];
        if (i > 0)
            g_string_append_c(s, '\n');
        switch (n->mode) {
        case VL_NET_USER:
            if (n->n_forwards > 0)
                g_string_append_printf(s,
                                       ngettext("User-mode (NAT), %u port forward",
                                                "User-mode (NAT), %u port forwards",
                                                (unsigned long)n->n_forwards),
                                       (unsigned)n->n_forwards);
            else
                g_string_append(s, _("User-mode (NAT)"));
            break;
        case VL_NET_BRIDGE: g_string_append_printf(s, _("Bridge on %s"), n->ifname); break;
        case VL_NET_NONE:
        default: g_string_append(s, _("Disconnected")); break;
        }
    }
    return g_string_free(s, FALSE);
}

static const char *accel_label(VlAccel accel)
{
    switch (accel) {
    case VL_ACCEL_KVM: return _("KVM");
    case VL_ACCEL_JIT: return _("JIT compiler");
    case VL_ACCEL_INTERPRETER: return _("Interpreter");
    case VL_ACCEL_AUTO:
    default: return _("Automatic");
    }
}

static char *format_pin(const VlVm *r)
{
    switch (r->pin) {
    case VL_PIN_PERFORMANCE: return g_strdup(_("Performance cores"));
    case VL_PIN_LIST: return g_strdup_printf(_("CPUs %s"), r->pin_cpus);
    case VL_PIN_NONE: return g_strdup(_("None"));
    case VL_PIN_AUTO:
    default: return g_strdup(_("Automatic"));
    }
}

/* "policy" alone while stopped; "policy\nwhat the running machine does" while active. */
static void set_policy_subtitle(AdwActionRow *row, const char *policy, const char *summary)
{
    if (summary && summary[0]) {
        g_autofree char *text = g_strdup_printf("%s\n%s", policy, summary);
        adw_action_row_set_subtitle(row, text);
    } else {
        adw_action_row_set_subtitle(row, policy);
    }
}

static char *mount_command(const char *tag)
{
    return g_strdup_printf("mount -t 9p -o trans=virtio,version=9p2000.L %s /mnt", tag);
}

static gboolean name_taken(VesselWindow *self, const char *name, VesselVm *except)
{
    guint n = g_list_model_get_n_items(self->vms);
    for (guint i = 0; i < n; i++) {
        g_autoptr(VesselVm) vm = g_list_model_get_item(self->vms, i);
        if (vm != except && g_str_equal(vessel_vm_get_name(vm), name))
            return TRUE;
    }
    return FALSE;
}

static gboolean find_vm(VesselWindow *self, VesselVm *target, guint *pos)
{
    guint n = g_list_model_get_n_items(self->vms);
    for (guint i = 0; i < n; i++) {
        g_autoptr(VesselVm) vm = g_list_model_get_item(self->vms, i);
        if (vm == target) {
            *pos = i;
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- The VM list ------------------------------------------------------------------ */

static void update_row(GtkWidget *row)
{
    VesselVm *vm = g_object_get_data(G_OBJECT(row), "vessel-vm");
    GtkLabel *name = g_object_get_data(G_OBJECT(row), "name-label");
    GtkLabel *subtitle = g_object_get_data(G_OBJECT(row), "subtitle-label");
    GtkLabel *state = g_object_get_data(G_OBJECT(row), "state-label");
    GtkImage *icon = g_object_get_data(G_OBJECT(row), "state-icon");
    const VlVm *r = vessel_vm_get_record(vm);
    VesselVmState st = vessel_vm_get_state(vm);

    gtk_label_set_text(name, vessel_vm_get_name(vm));
    /* TRANSLATORS: a VM's guest architecture and operating system, "riscv64 · Linux". */
    g_autofree char *sub = g_strdup_printf(_("%s · %s"), r->arch, os_label(r->os_kind));
    gtk_label_set_text(subtitle, sub);
    gtk_label_set_text(state, vessel_vm_state_label(st));
    gtk_image_set_from_icon_name(icon, state_icon_name(st));
    set_state_style(GTK_WIDGET(icon), st);
}

static GtkWidget *create_vm_row(gpointer item, gpointer user_data)
{
    VesselVm *vm = VESSEL_VM(item);
    (void)user_data;

    GtkWidget *row = gtk_list_box_row_new();
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
    gtk_widget_set_margin_top(box, 6);
    gtk_widget_set_margin_bottom(box, 6);
    GtkWidget *icon = gtk_image_new();
    gtk_widget_set_valign(icon, GTK_ALIGN_CENTER);
    GtkWidget *labels = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
    gtk_widget_set_hexpand(labels, TRUE);
    GtkWidget *name = gtk_label_new(NULL);
    gtk_label_set_xalign(GTK_LABEL(name), 0);
    gtk_label_set_ellipsize(GTK_LABEL(name), PANGO_ELLIPSIZE_END);
    gtk_widget_add_css_class(name, "heading");
    GtkWidget *subtitle = gtk_label_new(NULL);
    gtk_label_set_xalign(GTK_LABEL(subtitle), 0);
    gtk_label_set_ellipsize(GTK_LABEL(subtitle), PANGO_ELLIPSIZE_END);
    gtk_widget_add_css_class(subtitle, "caption");
    gtk_widget_add_css_class(subtitle, "dim-label");
    GtkWidget *state = gtk_label_new(NULL);
    gtk_widget_set_valign(state, GTK_ALIGN_CENTER);
    gtk_widget_add_css_class(state, "caption");
    gtk_widget_add_css_class(state, "dim-label");

    gtk_box_append(GTK_BOX(labels), name);
    gtk_box_append(GTK_BOX(labels), subtitle);
    gtk_box_append(GTK_BOX(box), icon);
    gtk_box_append(GTK_BOX(box), labels);
    gtk_box_append(GTK_BOX(box), state);
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);

    g_object_set_data_full(G_OBJECT(row), "vessel-vm", g_object_ref(vm), g_object_unref);
    g_object_set_data(G_OBJECT(row), "name-label", name);
    g_object_set_data(G_OBJECT(row), "subtitle-label", subtitle);
    g_object_set_data(G_OBJECT(row), "state-label", state);
    g_object_set_data(G_OBJECT(row), "state-icon", icon);
    update_row(row);
    /* The connections end with the row (the list box rebuilds rows on model changes). */
    g_signal_connect_object(vm, "notify::state", G_CALLBACK(update_row), row, G_CONNECT_SWAPPED);
    g_signal_connect_object(vm, "record-changed", G_CALLBACK(update_row), row, G_CONNECT_SWAPPED);
    return row;
}

/* ---- Details ---------------------------------------------------------------------- */

static void update_actions(VesselWindow *self)
{
    GtkWidget *w = GTK_WIDGET(self);
    VesselVm *vm = self->selected;
    VesselVmState st = vm ? vessel_vm_get_state(vm) : VESSEL_VM_STOPPED;

    gtk_widget_action_set_enabled(w, "win.start", vm && st == VESSEL_VM_STOPPED);
    gtk_widget_action_set_enabled(w, "win.pause", vm && st == VESSEL_VM_RUNNING);
    gtk_widget_action_set_enabled(w, "win.resume", vm && st == VESSEL_VM_PAUSED);
    gtk_widget_action_set_enabled(w, "win.stop", vm && st == VESSEL_VM_RUNNING);
    gtk_widget_action_set_enabled(w, "win.force-stop", vm && vessel_vm_is_active(vm));
    gtk_widget_action_set_enabled(w, "win.show", vm != NULL);
    gtk_widget_action_set_enabled(w, "win.settings", vm != NULL);
    gtk_widget_action_set_enabled(w, "win.rename", vm != NULL);
    gtk_widget_action_set_enabled(w, "win.clone", vm != NULL);
    gtk_widget_action_set_enabled(w, "win.delete", vm != NULL);

    gtk_widget_set_visible(self->start_button, st == VESSEL_VM_STOPPED || st == VESSEL_VM_STARTING);
    gtk_widget_set_visible(self->pause_button, st == VESSEL_VM_RUNNING);
    gtk_widget_set_visible(self->resume_button, st == VESSEL_VM_PAUSED);
    gtk_widget_set_visible(self->stop_button, vm && vessel_vm_is_active(vm));
}

static void clear_share_rows(VesselWindow *self)
{
    for (guint i = 0; i < self->share_rows->len; i++)
        adw_preferences_group_remove(self->shares_group, g_ptr_array_index(self->share_rows, i));
    g_ptr_array_set_size(self->share_rows, 0);
}

static void add_share_row(VesselWindow *self, GtkWidget *row)
{
    adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
    adw_preferences_group_add(self->shares_group, row);
    g_ptr_array_add(self->share_rows, row);
}

static void update_shares(VesselWindow *self, const VlVm *r)
{
    clear_share_rows(self);
    if (r->n_shares == 0) {
        GtkWidget *row = adw_action_row_new();
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), _("No shared folder"));
        add_share_row(self, row);
        return;
    }
    for (size_t i = 0; i < r->n_shares; i++) {
        const VlShare *sh = &r->shares[i];
        GtkWidget *row = adw_action_row_new();
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), sh->path);
        g_autofree char *sub = sh->readonly
                                   ? g_strdup_printf(_("Mount tag “%s”, read-only"), sh->tag)
                                   : g_strdup_printf(_("Mount tag “%s”"), sh->tag);
        adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
        add_share_row(self, row);

        g_autofree char *cmd = mount_command(sh->tag);
        GtkWidget *cmd_row = adw_action_row_new();
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(cmd_row), cmd);
        adw_action_row_set_subtitle(ADW_ACTION_ROW(cmd_row),
                                    _("Run this in the guest to mount it"));
        gtk_widget_add_css_class(cmd_row, "monospace");
        GtkWidget *copy = gtk_button_new_from_icon_name("edit-copy-symbolic");
        gtk_widget_set_valign(copy, GTK_ALIGN_CENTER);
        gtk_widget_add_css_class(copy, "flat");
        gtk_widget_set_tooltip_text(copy, _("Copy Command"));
        gtk_actionable_set_action_name(GTK_ACTIONABLE(copy), "win.copy-mount-command");
        gtk_actionable_set_action_target(GTK_ACTIONABLE(copy), "s", cmd);
        adw_action_row_add_suffix(ADW_ACTION_ROW(cmd_row), copy);
        adw_action_row_set_activatable_widget(ADW_ACTION_ROW(cmd_row), copy);
        add_share_row(self, cmd_row);
    }
}

static void update_details(VesselWindow *self)
{
    VesselVm *vm = self->selected;
    update_actions(self);
    if (!vm) {
        adw_window_title_set_title(self->content_title, "");
        adw_window_title_set_subtitle(self->content_title, "");
        gtk_label_set_text(self->details_name, "");
        gtk_label_set_text(self->details_state, "");
        return;
    }
    const VlVm *r = vessel_vm_get_record(vm);
    VesselVmState st = vessel_vm_get_state(vm);
    gboolean active = vessel_vm_is_active(vm);

    adw_window_title_set_title(self->content_title, vessel_vm_get_name(vm));
    adw_window_title_set_subtitle(self->content_title, vessel_vm_state_label(st));
    gtk_label_set_text(self->details_name, vessel_vm_get_name(vm));
    gtk_label_set_text(self->details_state, vessel_vm_state_label(st));
    gtk_image_set_from_icon_name(self->details_state_icon, state_icon_name(st));
    set_state_style(GTK_WIDGET(self->details_state_icon), st);
    const char *stop_message = vessel_vm_get_stop_message(vm);
    gboolean show_stop = st == VESSEL_VM_STOPPED && stop_message && stop_message[0];
    gtk_label_set_text(self->details_stop_message, show_stop ? stop_message : "");
    gtk_widget_set_visible(GTK_WIDGET(self->details_stop_message), show_stop);

    adw_action_row_set_subtitle(self->arch_row, r->arch);
    adw_action_row_set_subtitle(self->os_row, os_label(r->os_kind));
    g_autofree char *memory = format_memory(r->memory_bytes);
    adw_action_row_set_subtitle(self->memory_row, memory);
    g_autofree char *vcpus = g_strdup_printf("%d", r->vcpus);
    adw_action_row_set_subtitle(self->vcpus_row, vcpus);
    g_autofree char *boot = format_boot(r);
    adw_action_row_set_subtitle(self->boot_row, boot);
    g_autofree char *drives = format_drives(r);
    adw_action_row_set_subtitle(self->drives_row, drives);
    g_autofree char *network = format_network(r);
    adw_action_row_set_subtitle(self->network_row, network);
    update_shares(self, r);

    set_policy_subtitle(self->accel_row, accel_label(r->accel),
                        active ? vessel_vm_get_accel_summary(vm) : NULL);
    g_autofree char *pin = format_pin(r);
    set_policy_subtitle(self->pin_row, pin, active ? vessel_vm_get_pin_summary(vm) : NULL);
}

static void set_selected(VesselWindow *self, VesselVm *vm)
{
    if (self->selected != vm) {
        if (self->selected)
            g_signal_handlers_disconnect_by_data(self->selected, self);
        g_set_object(&self->selected, vm);
        if (vm) {
            g_signal_connect_swapped(vm, "notify::state", G_CALLBACK(update_details), self);
            g_signal_connect_swapped(vm, "notify::accel-summary", G_CALLBACK(update_details), self);
            g_signal_connect_swapped(vm, "notify::pin-summary", G_CALLBACK(update_details), self);
            g_signal_connect_swapped(vm, "notify::stop-message", G_CALLBACK(update_details), self);
            g_signal_connect_swapped(vm, "record-changed", G_CALLBACK(update_details), self);
        }
    }
    if (vm)
        find_vm(self, vm, &self->selected_pos);
    update_details(self);
}

static void select_position(VesselWindow *self, guint pos)
{
    GtkListBoxRow *row = gtk_list_box_get_row_at_index(self->vm_list, (int)pos);
    if (row && !gtk_list_box_row_is_selected(row))
        gtk_list_box_select_row(self->vm_list, row);
}

/*
 * After the model changed (a rename re-sorts by removing and re-adding the VM), select the
 * same VM again, or the one now at its place when it was deleted. Run from an idle so a
 * remove + add pair is seen as one change.
 */
static gboolean reconcile_selection(gpointer data)
{
    VesselWindow *self = data;
    self->reconcile_id = 0;
    guint n = g_list_model_get_n_items(self->vms);
    guint pos;
    if (self->selected && find_vm(self, self->selected, &pos)) {
        select_position(self, pos);
        set_selected(self, self->selected);
    } else if (n > 0) {
        select_position(self, MIN(self->selected_pos, n - 1));
    } else {
        set_selected(self, NULL);
    }
    return G_SOURCE_REMOVE;
}

static void queue_reconcile(VesselWindow *self)
{
    if (!self->reconcile_id)
        /* Before the next frame, so a re-sorted list is not drawn without its selection. */
        self->reconcile_id = g_idle_add_full(G_PRIORITY_HIGH_IDLE, reconcile_selection, self, NULL);
}

static void update_stack(VesselWindow *self)
{
    /* Until the library is read, an empty list means nothing yet: no "No VMs" flash. */
    const char *page = !vessel_store_get_loaded(self->store)      ? "loading"
                       : g_list_model_get_n_items(self->vms) == 0 ? "empty"
                                                                  : "vms";
    gtk_stack_set_visible_child_name(self->main_stack, page);
}

static void on_vms_changed(VesselWindow *self, guint position, guint removed, guint added,
                           GListModel *model)
{
    (void)position, (void)removed, (void)added, (void)model;
    update_stack(self);
    queue_reconcile(self);
}

static void on_row_selected(VesselWindow *self, GtkListBoxRow *row, GtkListBox *box)
{
    (void)box;
    if (row)
        set_selected(self, g_object_get_data(G_OBJECT(row), "vessel-vm"));
    else
        queue_reconcile(self); /* the selected row went away with a model change */
}

static void show_content(VesselWindow *self)
{
    adw_leaflet_set_visible_child(self->leaflet, self->content);
}

static void on_row_activated(VesselWindow *self, GtkListBoxRow *row, GtkListBox *box)
{
    (void)row, (void)box;
    show_content(self);
}

static void on_back_clicked(VesselWindow *self, GtkButton *button)
{
    (void)button;
    adw_leaflet_set_visible_child(self->leaflet, self->sidebar);
}

/* ---- Actions on the selected VM --------------------------------------------------- */

static void activate_app_action(VesselWindow *self, const char *name)
{
    if (self->selected)
        gtk_widget_activate_action(GTK_WIDGET(self), name, "x", vessel_vm_get_id(self->selected));
}

static void start_activated(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    activate_app_action(VESSEL_WINDOW(widget), "app.start-vm");
}

static void show_activated(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    activate_app_action(VESSEL_WINDOW(widget), "app.open-vm");
}

static void settings_activated(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    activate_app_action(VESSEL_WINDOW(widget), "app.settings");
}

/* The window is kept alive (a reference) until each async call completes; a callback
 * arriving after the window was disposed only collects the result. */
static gboolean window_gone(VesselWindow *self)
{
    return self->store == NULL;
}

static void vm_action_done(GObject *source, GAsyncResult *result, gpointer data)
{
    g_autoptr(VesselWindow) self = data;
    VesselVm *vm = VESSEL_VM(source);
    g_autoptr(GError) error = NULL;
    if (!vessel_vm_action_finish(vm, result, &error) && !window_gone(self)) {
        g_autofree char *msg =
            g_strdup_printf(_("“%s”: %s"), vessel_vm_get_name(vm), error->message);
        show_toast(self, msg);
    }
}

static void run_vm_action(VesselWindow *self, VesselVmAction action)
{
    if (self->selected)
        vessel_vm_action_async(self->selected, action, NULL, vm_action_done, g_object_ref(self));
}

static void pause_activated(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    run_vm_action(VESSEL_WINDOW(widget), VESSEL_VM_ACTION_PAUSE);
}

static void resume_activated(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    run_vm_action(VESSEL_WINDOW(widget), VESSEL_VM_ACTION_RESUME);
}

static void stop_activated(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    run_vm_action(VESSEL_WINDOW(widget), VESSEL_VM_ACTION_POWERDOWN);
}

static void force_stop_activated(GtkWidget *widget, const char *name, GVariant *param)
{
    (void)name, (void)param;
    run_vm_action(VESSEL_WINDOW(widget), VESSEL_VM_ACTION_FORCE_STOP);
}

static void select_vm_activated(GtkWidget *widget, const char *name, GVariant *param)
{
    VesselWindow *self = VESSEL_WINDOW(widget);
    (void)name;
    VesselVm *vm = vessel_store_lookup(self->store, g_variant_get_int64(param));
    guint pos;
    if (!vm || !find_vm(self, vm, &pos))
        return;
    update_stack(self);
    select_position(self, pos);
    set_selected(self, vm);
    show_content(self);
}

static void copy_mount_command_activated(GtkWidget *widget, const char *name, GVariant *param)
{
    VesselWindow *self = VESSEL_WINDOW(widget);
    (void)name;
    gdk_clipboard_set_text(gtk_widget_get_clipboard(widget), g_variant_get_string(param, NULL));
    show_toast(self, _("Command copied"));
}

/* Rename: a message dialog with an entry, checked as the user types. */

typedef struct {
    VesselWindow *self; /* a reference */
    gint64 id;
    char *old_name;
    GtkEntry *entry;
    GtkLabel *error_label;
} RenameData;

static void rename_data_free(gpointer p)
{
    RenameData *d = p;
    g_object_unref(d->self);
    g_free(d->old_name);
    g_free(d);
}

static char *entry_name(GtkEntry *entry)
{
    return g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(entry))));
}

static void rename_validate(AdwMessageDialog *dialog)
{
    RenameData *d = g_object_get_data(G_OBJECT(dialog), "rename-data");
    g_autofree char *name = entry_name(d->entry);
    const char *problem = NULL;
    g_autofree char *problem_buf = NULL;
    if (strlen(name) >= VL_NAME_MAX)
        problem = _("The name is too long");
    else if (!window_gone(d->self) && !g_str_equal(name, d->old_name) &&
             name_taken(d->self, name, NULL))
        problem = problem_buf = g_strdup_printf(_("A VM named “%s” already exists"), name);
    gboolean ok = name[0] && !problem && !g_str_equal(name, d->old_name);
    adw_message_dialog_set_response_enabled(dialog, "rename", ok);
    gtk_label_set_text(d->error_label, problem ? problem : "");
    gtk_widget_set_visible(GTK_WIDGET(d->error_label), problem != NULL);
    if (problem)
        gtk_widget_add_css_class(GTK_WIDGET(d->entry), "error");
    else
        gtk_widget_remove_css_class(GTK_WIDGET(d->entry), "error");
}

typedef struct {
    VesselWindow *self; /* a reference */
    char *name;         /* the name before the operation, for messages */
} OpData;

static OpData *op_data_new(VesselWindow *self, const char *name)
{
    OpData *op = g_new0(OpData, 1);
    op->self = g_object_ref(self);
    op->name = g_strdup(name);
    return op;
}

static void op_data_free(OpData *op)
{
    g_object_unref(op->self);
    g_free(op->name);
    g_free(op);
}

static void rename_done(GObject *source, GAsyncResult *result, gpointer data)
{
    OpData *op = data;
    g_autoptr(GError) error = NULL;
    if (!vessel_store_rename_vm_finish(VESSEL_STORE(source), result, &error) &&
        !window_gone(op->self)) {
        g_autofree char *msg =
            g_strdup_printf(_("Could not rename “%s”: %s"), op->name, error->message);
        show_toast(op->self, msg);
    }
    op_data_free(op);
}

static void on_rename_response(AdwMessageDialog *dialog, const char *response, gpointer data)
{
    (void)data;
    RenameData *d = g_object_get_data(G_OBJECT(dialog), "rename-data");
    if (!g_str_equal(response, "rename") || window_gone(d->self))
        return;
    g_autofree char *name = entry_name(d->entry);
    vessel_store_rename_vm_async(d->self->store, d->id, name, NULL, rename_done,
                                 op_data_new(d->self, d->old_name));
}

static void rename_activated(GtkWidget *widget, const char *action, GVariant *param)
{
    VesselWindow *self = VESSEL_WINDOW(widget);
    (void)action, (void)param;
    if (!self->selected)
        return;
    const char *old_name = vessel_vm_get_name(self->selected);

    GtkWidget *dialog = adw_message_dialog_new(GTK_WINDOW(self), _("Rename VM"), NULL);
    adw_message_dialog_format_body(ADW_MESSAGE_DIALOG(dialog), _("A new name for “%s”"), old_name);
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
    GtkWidget *entry = gtk_entry_new();
    gtk_editable_set_text(GTK_EDITABLE(entry), old_name);
    gtk_entry_set_activates_default(GTK_ENTRY(entry), TRUE);
    gtk_accessible_update_property(GTK_ACCESSIBLE(entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Name"),
                                   -1);
    GtkWidget *error_label = gtk_label_new(NULL);
    gtk_label_set_wrap(GTK_LABEL(error_label), TRUE);
    gtk_label_set_xalign(GTK_LABEL(error_label), 0);
    gtk_widget_add_css_class(error_label, "error");
    gtk_widget_set_visible(error_label, FALSE);
    gtk_box_append(GTK_BOX(box), entry);
    gtk_box_append(GTK_BOX(box), error_label);
    adw_message_dialog_set_extra_child(ADW_MESSAGE_DIALOG(dialog), box);

    adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"), "rename",
                                     _("_Rename"), NULL);
    adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(dialog), "rename",
                                               ADW_RESPONSE_SUGGESTED);
    adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(dialog), "rename");
    adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(dialog), "cancel");

    RenameData *d = g_new0(RenameData, 1);
    d->self = g_object_ref(self);
    d->id = vessel_vm_get_id(self->selected);
    d->old_name = g_strdup(old_name);
    d->entry = GTK_ENTRY(entry);
    d->error_label = GTK_LABEL(error_label);
    g_object_set_data_full(G_OBJECT(dialog), "rename-data", d, rename_data_free);
    g_signal_connect_swapped(entry, "changed", G_CALLBACK(rename_validate), dialog);
    g_signal_connect(dialog, "response", G_CALLBACK(on_rename_response), NULL);
    rename_validate(ADW_MESSAGE_DIALOG(dialog));
    gtk_window_present(GTK_WINDOW(dialog));
    gtk_editable_select_region(GTK_EDITABLE(entry), 0, -1);
}

/* Delete: confirm, optionally keeping the disk images. */

static gboolean refuse_if_active(VesselWindow *self, VesselVm *vm, const char *format)
{
    if (!vessel_vm_is_active(vm))
        return FALSE;
    g_autofree char *msg = g_strdup_printf(format, vessel_vm_get_name(vm));
    show_toast(self, msg);
    return TRUE;
}

static void delete_done(GObject *source, GAsyncResult *result, gpointer data)
{
    OpData *op = data;
    g_autoptr(GError) error = NULL;
    if (!vessel_store_delete_vm_finish(VESSEL_STORE(source), result, &error) &&
        !window_gone(op->self)) {
        g_autofree char *msg =
            g_strdup_printf(_("Could not delete “%s”: %s"), op->name, error->message);
        show_toast(op->self, msg);
    }
    op_data_free(op);
}

static void on_delete_response(AdwMessageDialog *dialog, const char *response, gpointer data)
{
    VesselWindow *self = data;
    if (!g_str_equal(response, "delete") || window_gone(self))
        return;
    gint64 id = *(gint64 *)g_object_get_data(G_OBJECT(dialog), "vm-id");
    GtkCheckButton *keep = g_object_get_data(G_OBJECT(dialog), "keep-disks");
    VesselVm *vm = vessel_store_lookup(self->store, id);
    if (!vm)
        return;
    /* It may have been started while the dialog was open. */
    if (refuse_if_active(self, vm, _("“%s” is running: stop it before deleting it")))
        return;
    vessel_store_delete_vm_async(self->store, id, gtk_check_button_get_active(keep), NULL,
                                 delete_done, op_data_new(self, vessel_vm_get_name(vm)));
}

static void delete_activated(GtkWidget *widget, const char *action, GVariant *param)
{
    VesselWindow *self = VESSEL_WINDOW(widget);
    (void)action, (void)param;
    VesselVm *vm = self->selected;
    if (!vm || refuse_if_active(self, vm, _("“%s” is running: stop it before deleting it")))
        return;

    GtkWidget *dialog = adw_message_dialog_new(GTK_WINDOW(self), NULL, NULL);
    adw_message_dialog_format_heading(ADW_MESSAGE_DIALOG(dialog), _("Delete “%s”?"),
                                      vessel_vm_get_name(vm));
    adw_message_dialog_set_body(
        ADW_MESSAGE_DIALOG(dialog),
        _("Its settings, firmware variables and logs are removed. Disk images created for "
          "it are removed too unless you keep them; images stored elsewhere are never "
          "touched."));
    GtkWidget *keep = gtk_check_button_new_with_mnemonic(_("_Keep disk images"));
    gtk_widget_set_halign(keep, GTK_ALIGN_CENTER);
    adw_message_dialog_set_extra_child(ADW_MESSAGE_DIALOG(dialog), keep);
    adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"), "delete",
                                     _("_Delete"), NULL);
    adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(dialog), "delete",
                                               ADW_RESPONSE_DESTRUCTIVE);
    adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(dialog), "cancel");
    adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(dialog), "cancel");
    gint64 id = vessel_vm_get_id(vm);
    g_object_set_data_full(G_OBJECT(dialog), "vm-id", g_memdup2(&id, sizeof id), g_free);
    g_object_set_data(G_OBJECT(dialog), "keep-disks", keep);
    g_signal_connect_object(dialog, "response", G_CALLBACK(on_delete_response), self, 0);
    gtk_window_present(GTK_WINDOW(dialog));
}

/* Clone: "<name> (copy)", then "<name> (copy 2)"... until a free name. */

static char *clone_name(VesselWindow *self, const char *name)
{
    for (int n = 1;; n++) {
        g_autofree char *suffix = NULL;
        if (n == 1)
            /* TRANSLATORS: appended to a VM's name to name its clone: "Debian (copy)". */
            suffix = g_strdup(_(" (copy)"));
        else
            /* TRANSLATORS: the same for the second, third... clone: "Debian (copy 2)". */
            suffix = g_strdup_printf(_(" (copy %d)"), n);
        /* Shorten the base (on a character boundary) so the result fits the library. */
        gsize room = VL_NAME_MAX - 1 - strlen(suffix);
        g_autofree char *base = g_strdup(name);
        if (strlen(base) > room) {
            const char *end = g_utf8_find_prev_char(base, base + room + 1);
            base[end ? end - base : 0] = '\0';
        }
        char *candidate = g_strconcat(base, suffix, NULL);
        if (!name_taken(self, candidate, NULL))
            return candidate;
        g_free(candidate);
    }
}

static void clone_done(GObject *source, GAsyncResult *result, gpointer data)
{
    OpData *op = data;
    g_autoptr(GError) error = NULL;
    gint64 id = vessel_store_clone_vm_finish(VESSEL_STORE(source), result, &error);
    if (!window_gone(op->self)) {
        if (id == 0) {
            g_autofree char *msg =
                g_strdup_printf(_("Could not clone “%s”: %s"), op->name, error->message);
            show_toast(op->self, msg);
        } else {
            gtk_widget_activate_action(GTK_WIDGET(op->self), "win.select-vm", "x", id);
        }
    }
    op_data_free(op);
}

static void clone_activated(GtkWidget *widget, const char *action, GVariant *param)
{
    VesselWindow *self = VESSEL_WINDOW(widget);
    (void)action, (void)param;
    VesselVm *vm = self->selected;
    if (!vm || refuse_if_active(self, vm, _("“%s” is running: stop it before cloning it")))
        return;
    g_autofree char *name = clone_name(self, vessel_vm_get_name(vm));
    vessel_store_clone_vm_async(self->store, vessel_vm_get_id(vm), name, NULL, clone_done,
                                op_data_new(self, vessel_vm_get_name(vm)));
}

/* ---- Window state ----------------------------------------------------------------- */

static void save_window_state(VesselWindow *self)
{
    if (!self->settings)
        return;
    int width, height;
    gtk_window_get_default_size(GTK_WINDOW(self), &width, &height);
    gboolean maximized = gtk_window_is_maximized(GTK_WINDOW(self));
    g_settings_set_boolean(self->settings, "window-maximized", maximized);
    if (width > 0 && height > 0) {
        g_settings_set_int(self->settings, "window-width", width);
        g_settings_set_int(self->settings, "window-height", height);
    }
}

static void load_window_state(VesselWindow *self)
{
    if (!self->settings)
        return;
    int width = g_settings_get_int(self->settings, "window-width");
    int height = g_settings_get_int(self->settings, "window-height");
    if (width > 0 && height > 0)
        gtk_window_set_default_size(GTK_WINDOW(self), width, height);
    if (g_settings_get_boolean(self->settings, "window-maximized"))
        gtk_window_maximize(GTK_WINDOW(self));
}

static gboolean vessel_window_close_request(GtkWindow *window)
{
    save_window_state(VESSEL_WINDOW(window));
    return GTK_WINDOW_CLASS(vessel_window_parent_class)->close_request(window);
}

/* ---- GObject ---------------------------------------------------------------------- */

static void vessel_window_constructed(GObject *object)
{
    VesselWindow *self = VESSEL_WINDOW(object);
    G_OBJECT_CLASS(vessel_window_parent_class)->constructed(object);

    g_return_if_fail(self->store != NULL);
    self->vms = vessel_store_get_vms(self->store);
    gtk_list_box_bind_model(self->vm_list, self->vms, create_vm_row, NULL, NULL);
    /* Connected after the list box's own handler, so the rows exist when it runs. */
    g_signal_connect_object(self->vms, "items-changed", G_CALLBACK(on_vms_changed), self,
                            G_CONNECT_SWAPPED);
    g_signal_connect_object(self->store, "notify::loaded", G_CALLBACK(update_stack), self,
                            G_CONNECT_SWAPPED);
    update_stack(self);
    if (g_list_model_get_n_items(self->vms) > 0)
        select_position(self, 0);
    update_details(self);
}

static void vessel_window_set_property(GObject *object, guint prop_id, const GValue *value,
                                       GParamSpec *pspec)
{
    VesselWindow *self = VESSEL_WINDOW(object);
    switch (prop_id) {
    case PROP_STORE: self->store = g_value_dup_object(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void vessel_window_get_property(GObject *object, guint prop_id, GValue *value,
                                       GParamSpec *pspec)
{
    VesselWindow *self = VESSEL_WINDOW(object);
    switch (prop_id) {
    case PROP_STORE: g_value_set_object(value, self->store); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    }
}

static void vessel_window_dispose(GObject *object)
{
    VesselWindow *self = VESSEL_WINDOW(object);
    g_clear_handle_id(&self->reconcile_id, g_source_remove);
    if (self->vms) {
        g_signal_handlers_disconnect_by_data(self->vms, self);
        gtk_list_box_bind_model(self->vm_list, NULL, NULL, NULL, NULL);
        self->vms = NULL;
    }
    if (self->selected)
        g_signal_handlers_disconnect_by_data(self->selected, self);
    g_clear_object(&self->selected);
    /* Also here: the application may stop the close request (to ask about running VMs)
     * and destroy the window later. */
    save_window_state(self);
    g_clear_object(&self->settings);
    g_clear_object(&self->store);
    gtk_widget_dispose_template(GTK_WIDGET(self), VESSEL_TYPE_WINDOW);
    G_OBJECT_CLASS(vessel_window_parent_class)->dispose(object);
}

static void vessel_window_finalize(GObject *object)
{
    VesselWindow *self = VESSEL_WINDOW(object);
    g_ptr_array_unref(self->share_rows);
    G_OBJECT_CLASS(vessel_window_parent_class)->finalize(object);
}

static void vessel_window_class_init(VesselWindowClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    GtkWindowClass *window_class = GTK_WINDOW_CLASS(klass);

    object_class->constructed = vessel_window_constructed;
    object_class->set_property = vessel_window_set_property;
    object_class->get_property = vessel_window_get_property;
    object_class->dispose = vessel_window_dispose;
    object_class->finalize = vessel_window_finalize;
    window_class->close_request = vessel_window_close_request;

    properties[PROP_STORE] =
        g_param_spec_object("store", NULL, NULL, VESSEL_TYPE_STORE,
                            G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
    g_object_class_install_properties(object_class, N_PROPS, properties);

    gtk_widget_class_set_template_from_resource(widget_class,
                                                "/io/github/vessel/Vessel/vessel-window.ui");
    /* clang-format off */
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, toast_overlay);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, main_stack);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, leaflet);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, sidebar);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, content);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, vm_list);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, content_title);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, details_name);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, details_state_icon);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, details_state);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, details_stop_message);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, start_button);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, pause_button);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, resume_button);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, stop_button);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, arch_row);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, os_row);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, memory_row);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, vcpus_row);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, boot_row);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, drives_row);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, network_row);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, shares_group);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, accel_row);
    gtk_widget_class_bind_template_child(widget_class, VesselWindow, pin_row);
    gtk_widget_class_bind_template_callback(widget_class, on_row_selected);
    gtk_widget_class_bind_template_callback(widget_class, on_row_activated);
    gtk_widget_class_bind_template_callback(widget_class, on_back_clicked);

    gtk_widget_class_install_action(widget_class, "win.select-vm", "x", select_vm_activated);
    gtk_widget_class_install_action(widget_class, "win.rename", NULL, rename_activated);
    gtk_widget_class_install_action(widget_class, "win.clone", NULL, clone_activated);
    gtk_widget_class_install_action(widget_class, "win.delete", NULL, delete_activated);
    gtk_widget_class_install_action(widget_class, "win.start", NULL, start_activated);
    gtk_widget_class_install_action(widget_class, "win.pause", NULL, pause_activated);
    gtk_widget_class_install_action(widget_class, "win.resume", NULL, resume_activated);
    gtk_widget_class_install_action(widget_class, "win.stop", NULL, stop_activated);
    gtk_widget_class_install_action(widget_class, "win.force-stop", NULL, force_stop_activated);
    gtk_widget_class_install_action(widget_class, "win.show", NULL, show_activated);
    gtk_widget_class_install_action(widget_class, "win.settings", NULL, settings_activated);
    gtk_widget_class_install_action(widget_class, "win.copy-mount-command", "s",
                                    copy_mount_command_activated);
    /* clang-format on */

    gtk_widget_class_add_binding_action(widget_class, GDK_KEY_F2, 0, "win.rename", NULL);
}

static void vessel_window_init(VesselWindow *self)
{
    self->share_rows = g_ptr_array_new();
    gtk_widget_init_template(GTK_WIDGET(self));
}

GtkWindow *vessel_window_new(VesselApplication *app)
{
    g_return_val_if_fail(VESSEL_IS_APPLICATION(app), NULL);
    VesselWindow *self = g_object_new(VESSEL_TYPE_WINDOW, "application", app, "store",
                                      vessel_application_get_store(app), NULL);
    GSettings *settings = vessel_application_get_settings(app);
    if (settings) {
        self->settings = g_object_ref(settings);
        load_window_state(self);
    }
    return GTK_WINDOW(self);
}

VesselVm *vessel_window_get_selected_vm(VesselWindow *self)
{
    g_return_val_if_fail(VESSEL_IS_WINDOW(self), NULL);
    return self->selected;
}
