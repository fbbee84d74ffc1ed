/* SPDX-License-Identifier: MIT */
/*
 * VesselVm: a library record plus, while it runs, its engine machine.
 *
 * Threads: the engine calls the listeners on its own threads (vCPU threads, the I/O
 * thread). Those callbacks only append to pending state under `lock` and schedule one
 * main-loop source (`flush_cb`), which emits the signals. Engine calls that can wait
 * (create, start, pause, power down...) run in GTask threads; the machine is destroyed on
 * the main thread, once no such call is in flight.
 */
#include "vessel-vm.h"

#include <glib/gi18n.h>
#include <string.h>

#include "efi-vars.h"
#include "vessel-store.h"
#include "vm-config.h"

#define HISTORY_MAX (256 * 1024)

G_DEFINE_QUARK(vessel - vm - error - quark, vessel_vm_error)

struct _VesselVm {
    GObject parent_instance;
    VlVm record;
    VesselVmState state;
    char *accel_summary;
    char *pin_summary;
    char *stop_message;
    gboolean has_display;
    VsMachine *machine;  /* main thread; NULL while stopped */
    guint machine_users; /* action tasks in flight that use `machine` */
    gboolean destroy_pending;
    GByteArray *history;

    /* Filled by engine threads, drained by flush_cb on the main thread. */
    GMutex lock;
    guint flush_source;
    GByteArray *pending_console;
    gboolean pending_resize;
    guint pending_w, pending_h;
    gboolean pending_dirty;
    guint dirty_x0, dirty_y0, dirty_x1, dirty_y1;
    gboolean pending_state_valid;
    VsMachineState pending_state;
};

enum {
    PROP_0,
    PROP_ID,
    PROP_NAME,
    PROP_ARCH,
    PROP_STATE,
    PROP_STATE_LABEL,
    PROP_ACCEL_SUMMARY,
    PROP_PIN_SUMMARY,
    PROP_STOP_MESSAGE,
    PROP_HAS_DISPLAY,
    N_PROPS
};
static GParamSpec *props[N_PROPS];

enum { SIG_CONSOLE_OUTPUT, SIG_DISPLAY_RESIZE, SIG_DISPLAY_UPDATE, SIG_RECORD_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE(VesselVm, vessel_vm, G_TYPE_OBJECT)

static void set_state(VesselVm *vm, VesselVmState state)
{
    if (vm->state == state)
        return;
    vm->state = state;
    g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_STATE]);
    g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_STATE_LABEL]);
}

static void set_string(VesselVm *vm, char **field, const char *value, int prop)
{
    if (!g_strcmp0(*field, value))
        return;
    g_free(*field);
    *field = g_strdup(value);
    g_object_notify_by_pspec(G_OBJECT(vm), props[prop]);
}

/* ---- marshalling engine callbacks to the main loop ---- */

static void append_history(VesselVm *vm, const guint8 *data, gsize len)
{
    if (len >= HISTORY_MAX) {
        data += len - HISTORY_MAX;
        len = HISTORY_MAX;
    }
    if (vm->history->len + len > HISTORY_MAX)
        g_byte_array_remove_range(vm->history, 0, vm->history->len + len - HISTORY_MAX);
    g_byte_array_append(vm->history, data, (guint)len);
}

static gboolean flush_cb(gpointer data)
{
    VesselVm *vm = data;
    g_mutex_lock(&vm->lock);
    vm->flush_source = 0;
    GByteArray *console = vm->pending_console;
    vm->pending_console = NULL;
    gboolean resize = vm->pending_resize, dirty = vm->pending_dirty;
    guint w = vm->pending_w, h = vm->pending_h;
    guint x0 = vm->dirty_x0, y0 = vm->dirty_y0, x1 = vm->dirty_x1, y1 = vm->dirty_y1;
    gboolean state_valid = vm->pending_state_valid;
    VsMachineState state = vm->pending_state;
    vm->pending_resize = vm->pending_dirty = vm->pending_state_valid = FALSE;
    g_mutex_unlock(&vm->lock);

    if (console) {
        append_history(vm, console->data, console->len);
        GBytes *bytes = g_byte_array_free_to_bytes(console);
        g_signal_emit(vm, signals[SIG_CONSOLE_OUTPUT], 0, bytes);
        g_bytes_unref(bytes);
    }
    if (resize)
        g_signal_emit(vm, signals[SIG_DISPLAY_RESIZE], 0, w, h);
    if (dirty && x1 > x0 && y1 > y0)
        g_signal_emit(vm, signals[SIG_DISPLAY_UPDATE], 0, x0, y0, x1 - x0, y1 - y0);
    if (state_valid && vm->machine) {
        /* A power-down request stays "stopping" until the machine really stops. */
        if (state == VS_STATE_PAUSED)
            set_state(vm, VESSEL_VM_PAUSED);
        else if (state == VS_STATE_RUNNING && vm->state != VESSEL_VM_STOPPING)
            set_state(vm, VESSEL_VM_RUNNING);
    }
    return G_SOURCE_REMOVE;
}

/* Lock held. */
static void schedule_flush(VesselVm *vm)
{
    if (vm->flush_source)
        return;
    GSource *source = g_idle_source_new();
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(source, flush_cb, g_object_ref(vm), g_object_unref);
    g_source_set_static_name(source, "[vessel] vm flush");
    vm->flush_source = g_source_attach(source, NULL);
    g_source_unref(source);
}

static void on_serial_output(void *opaque, const uint8_t *buf, size_t len)
{
    VesselVm *vm = opaque;
    g_mutex_lock(&vm->lock);
    if (!vm->pending_console)
        vm->pending_console = g_byte_array_new();
    /* Bounded while the main loop is busy: keep the newest output. */
    if (vm->pending_console->len + len > HISTORY_MAX)
        g_byte_array_set_size(vm->pending_console, 0);
    g_byte_array_append(vm->pending_console, buf, (guint)MIN(len, HISTORY_MAX));
    schedule_flush(vm);
    g_mutex_unlock(&vm->lock);
}

static void on_state_changed(void *opaque, VsMachineState state)
{
    VesselVm *vm = opaque;
    g_mutex_lock(&vm->lock);
    vm->pending_state = state;
    vm->pending_state_valid = TRUE;
    schedule_flush(vm);
    g_mutex_unlock(&vm->lock);
}

static void on_display_resize(void *opaque, unsigned scanout, unsigned width, unsigned height)
{
    VesselVm *vm = opaque;
    if (scanout != 0)
        return;
    g_mutex_lock(&vm->lock);
    vm->pending_resize = TRUE;
    vm->pending_w = width;
    vm->pending_h = height;
    /* A new size makes the whole image new: the update after it covers everything. */
    vm->pending_dirty = FALSE;
    schedule_flush(vm);
    g_mutex_unlock(&vm->lock);
}

static void on_display_update(void *opaque, unsigned scanout, unsigned x, unsigned y,
                              unsigned width, unsigned height)
{
    VesselVm *vm = opaque;
    if (scanout != 0 || !width || !height)
        return;
    g_mutex_lock(&vm->lock);
    if (!vm->pending_dirty) {
        vm->dirty_x0 = x;
        vm->dirty_y0 = y;
        vm->dirty_x1 = x + width;
        vm->dirty_y1 = y + height;
        vm->pending_dirty = TRUE;
    } else {
        vm->dirty_x0 = MIN(vm->dirty_x0, x);
        vm->dirty_y0 = MIN(vm->dirty_y0, y);
        vm->dirty_x1 = MAX(vm->dirty_x1, x + width);
        vm->dirty_y1 = MAX(vm->dirty_y1, y + height);
    }
    schedule_flush(vm);
    g_mutex_unlock(&vm->lock);
}

/* ---- machine lifetime ---- */

static void destroy_machine(VesselVm *vm)
{
    VsMachine *m = vm->machine;
    vm->machine = NULL;
    vm->destroy_pending = FALSE;
    /* Listeners are not called after vs_machine_destroy returns: deliver what the engine
     * reported before it stopped (the last console bytes), then report the stop. */
    vs_machine_destroy(m);
    g_mutex_lock(&vm->lock);
    guint source = vm->flush_source;
    g_mutex_unlock(&vm->lock);
    if (source) {
        g_object_ref(vm);
        g_source_remove(source); /* its destroy notify drops the source's reference */
        flush_cb(vm);
        g_object_unref(vm);
    }
    if (vm->has_display) {
        vm->has_display = FALSE;
        g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_HAS_DISPLAY]);
    }
    set_string(vm, &vm->accel_summary, "", PROP_ACCEL_SUMMARY);
    set_string(vm, &vm->pin_summary, "", PROP_PIN_SUMMARY);
    set_state(vm, VESSEL_VM_STOPPED);
}

typedef struct {
    VesselVm *vm;
    char *message;
} StoppedData;

static gboolean stopped_cb(gpointer data)
{
    StoppedData *s = data;
    VesselVm *vm = s->vm;
    set_string(vm, &vm->stop_message, s->message, PROP_STOP_MESSAGE);
    if (vm->machine_users > 0)
        vm->destroy_pending = TRUE;
    else
        destroy_machine(vm);
    g_free(s->message);
    g_object_unref(vm);
    g_free(s);
    return G_SOURCE_REMOVE;
}

static const char *stop_text(VsStopReason why)
{
    switch (why) {
    case VS_STOP_POWEROFF: return _("The guest powered off");
    case VS_STOP_RESET_LOOP: return _("The guest kept resetting and was stopped");
    case VS_STOP_GUEST_CRASH: return _("The guest crashed");
    case VS_STOP_FORCED: return _("Stopped by you");
    case VS_STOP_ERROR: return _("The engine stopped the VM after an error");
    case VS_STOP_NONE:
    default: return _("Stopped");
    }
}

/* One waiter thread per run: wait for the machine to stop, then tell the main loop. */
static gpointer waiter_thread(gpointer data)
{
    VesselVm *vm = data;
    VsMachine *m = vm->machine; /* set before this thread starts; destroyed only after it */
    VsStopReason why = vs_machine_wait(m);
    const char *detail = vs_machine_stop_message(m);
    StoppedData *s = g_new0(StoppedData, 1);
    s->vm = vm; /* the reference taken when the thread started */
    /* The engine's detail matters when something went wrong; a power-off or a stop the
     * user asked for says all there is in its own words. */
    gboolean detailed = why != VS_STOP_POWEROFF && why != VS_STOP_FORCED && detail && detail[0];
    s->message =
        detailed ? g_strdup_printf("%s: %s", stop_text(why), detail) : g_strdup(stop_text(why));
    g_main_context_invoke(NULL, stopped_cb, s);
    return NULL;
}

/* ---- start ---- */

typedef struct {
    VesselMachineConfig mc;
    gboolean built;
    VsMachine *machine;
} StartData;

static void start_data_free(gpointer p)
{
    StartData *d = p;
    if (d->built)
        vessel_machine_config_clear(&d->mc);
    if (d->machine)
        vs_machine_destroy(d->machine);
    g_free(d);
}

static void start_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancel)
{
    (void)cancel;
    VesselVm *vm = source;
    StartData *d = task_data;
    VsMachineListener listener = {
        .opaque = vm,
        .serial_output = on_serial_output,
        .state_changed = on_state_changed,
    };
    /* The VM's own UEFI variable store: made from the template on the first run, made again
     * (and logged) when it went missing or was damaged; a 64 MiB copy, so not on the main
     * thread. */
    const VsConfig *cfg = &d->mc.cfg;
    if (cfg->efi_vars && cfg->efi_vars_template) {
        GError *error = NULL;
        if (!vessel_efi_vars_prepare(cfg->efi_vars, cfg->efi_vars_template, NULL, &error)) {
            g_task_return_error(task, error);
            return;
        }
    } else if (cfg->firmware && cfg->arch == VS_ARCH_ARM64 && !cfg->efi_vars) {
        g_message("“%s” has no UEFI variable store: its firmware settings and boot entries "
                  "are not kept after it stops",
                  d->mc.record.name);
    }
    VsError err = { 0 };
    VsStatus st = vs_machine_create(&d->mc.cfg, &listener, &d->machine, &err);
    if (st == VS_OK && d->mc.cfg.display) {
        VsDisplayListener dl = {
            .opaque = vm,
            .resize = on_display_resize,
            .update = on_display_update,
        };
        st = vs_machine_set_display_listener(d->machine, &dl, &err);
    }
    if (st == VS_OK)
        st = vs_machine_start(d->machine, &err);
    if (st != VS_OK) {
        g_task_return_new_error(task, VESSEL_VM_ERROR, st, "%s", err.message);
        return;
    }
    g_task_return_boolean(task, TRUE);
}

static void start_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    VesselVm *vm = VESSEL_VM(source);
    GTask *outer = user_data;
    StartData *d = g_task_get_task_data(G_TASK(result));
    GError *error = NULL;
    if (!g_task_propagate_boolean(G_TASK(result), &error)) {
        /* start_data_free destroys a machine that was created but did not start. */
        if (vm->has_display) {
            vm->has_display = FALSE;
            g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_HAS_DISPLAY]);
        }
        set_state(vm, VESSEL_VM_STOPPED);
        set_string(vm, &vm->stop_message, error->message, PROP_STOP_MESSAGE);
        g_task_return_error(outer, error);
        g_object_unref(outer);
        return;
    }
    vm->machine = d->machine;
    d->machine = NULL;
    set_string(vm, &vm->accel_summary, vs_machine_accel_summary(vm->machine), PROP_ACCEL_SUMMARY);
    set_string(vm, &vm->pin_summary, vs_machine_pin_summary(vm->machine), PROP_PIN_SUMMARY);
    set_string(vm, &vm->stop_message, "", PROP_STOP_MESSAGE);
    set_state(vm, vs_machine_state(vm->machine) == VS_STATE_PAUSED ? VESSEL_VM_PAUSED
                                                                   : VESSEL_VM_RUNNING);
    g_thread_unref(g_thread_new("vessel-vm-wait", waiter_thread, g_object_ref(vm)));
    g_task_return_boolean(outer, TRUE);
    g_object_unref(outer);
}

void vessel_vm_start_async(VesselVm *vm, GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data)
{
    GTask *outer = g_task_new(vm, cancellable, callback, user_data);
    g_task_set_source_tag(outer, vessel_vm_start_async);
    if (vm->state != VESSEL_VM_STOPPED || vm->machine) {
        g_task_return_new_error(outer, VESSEL_VM_ERROR, VS_ERR_STATE, _("“%s” is already running."),
                                vm->record.name);
        g_object_unref(outer);
        return;
    }
    StartData *d = g_new0(StartData, 1);
    GError *error = NULL;
    if (!vessel_machine_config_build(&vm->record, &d->mc, &error)) {
        g_free(d);
        set_string(vm, &vm->stop_message, error->message, PROP_STOP_MESSAGE);
        g_task_return_error(outer, error);
        g_object_unref(outer);
        return;
    }
    d->built = TRUE;
    /* Known from the configuration already, so a window opened while the machine is being
     * built shows the screen it is going to have. */
    if (vm->has_display != (gboolean)d->mc.cfg.display) {
        vm->has_display = d->mc.cfg.display;
        g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_HAS_DISPLAY]);
    }
    /* A fresh run: the console starts empty. */
    g_byte_array_set_size(vm->history, 0);
    set_state(vm, VESSEL_VM_STARTING);
    GTask *inner = g_task_new(vm, NULL, start_done, outer);
    g_task_set_task_data(inner, d, start_data_free);
    g_task_run_in_thread(inner, start_thread);
    g_object_unref(inner);
}

gboolean vessel_vm_start_finish(VesselVm *vm, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, vm), FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}

/* ---- actions ---- */

typedef struct {
    VesselVmAction action;
    VsMachine *machine;
} ActionData;

static void action_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancel)
{
    (void)source;
    (void)cancel;
    ActionData *a = task_data;
    VsError err = { 0 };
    VsStatus st = VS_OK;
    switch (a->action) {
    case VESSEL_VM_ACTION_PAUSE: st = vs_machine_pause(a->machine, &err); break;
    case VESSEL_VM_ACTION_RESUME: st = vs_machine_resume(a->machine, &err); break;
    case VESSEL_VM_ACTION_POWERDOWN: st = vs_machine_powerdown(a->machine, &err); break;
    case VESSEL_VM_ACTION_FORCE_STOP: vs_machine_force_stop(a->machine); break;
    case VESSEL_VM_ACTION_RESET: st = vs_machine_reset(a->machine, &err); break;
    }
    if (st != VS_OK)
        g_task_return_new_error(task, VESSEL_VM_ERROR, st, "%s", err.message);
    else
        g_task_return_boolean(task, TRUE);
}

static void action_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    VesselVm *vm = VESSEL_VM(source);
    GTask *outer = user_data;
    ActionData *a = g_task_get_task_data(G_TASK(result));
    GError *error = NULL;
    gboolean ok = g_task_propagate_boolean(G_TASK(result), &error);
    vm->machine_users--;
    if (ok && a->action == VESSEL_VM_ACTION_POWERDOWN && vm->machine)
        set_state(vm, VESSEL_VM_STOPPING);
    if (vm->destroy_pending && vm->machine_users == 0)
        destroy_machine(vm);
    if (ok)
        g_task_return_boolean(outer, TRUE);
    else
        g_task_return_error(outer, error);
    g_object_unref(outer);
}

void vessel_vm_action_async(VesselVm *vm, VesselVmAction action, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *outer = g_task_new(vm, cancellable, callback, user_data);
    g_task_set_source_tag(outer, vessel_vm_action_async);
    gboolean ok;
    switch (action) {
    case VESSEL_VM_ACTION_PAUSE: ok = vm->state == VESSEL_VM_RUNNING; break;
    case VESSEL_VM_ACTION_RESUME: ok = vm->state == VESSEL_VM_PAUSED; break;
    case VESSEL_VM_ACTION_POWERDOWN: ok = vm->state == VESSEL_VM_RUNNING; break;
    case VESSEL_VM_ACTION_RESET:
        ok = vm->state == VESSEL_VM_RUNNING || vm->state == VESSEL_VM_PAUSED;
        break;
    case VESSEL_VM_ACTION_FORCE_STOP:
    default: ok = vm->state != VESSEL_VM_STOPPED && vm->state != VESSEL_VM_STARTING; break;
    }
    if (!ok || !vm->machine || vm->destroy_pending) {
        g_task_return_new_error(outer, VESSEL_VM_ERROR, VS_ERR_STATE,
                                _("“%s” is %s: that cannot be done now."), vm->record.name,
                                vessel_vm_state_label(vm->state));
        g_object_unref(outer);
        return;
    }
    ActionData *a = g_new0(ActionData, 1);
    a->action = action;
    a->machine = vm->machine;
    vm->machine_users++;
    GTask *inner = g_task_new(vm, NULL, action_done, outer);
    g_task_set_task_data(inner, a, g_free);
    g_task_run_in_thread(inner, action_thread);
    g_object_unref(inner);
}

gboolean vessel_vm_action_finish(VesselVm *vm, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, vm), FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}

static gboolean is_stopped(VesselVm *vm)
{
    return vm->state == VESSEL_VM_STOPPED && !vm->machine;
}

void vessel_vm_force_stop_sync(VesselVm *vm)
{
    if (is_stopped(vm))
        return;
    g_object_ref(vm);
    /* A start in progress finishes first; then the machine can be stopped. */
    while (vm->state == VESSEL_VM_STARTING)
        g_main_context_iteration(NULL, TRUE);
    if (vm->machine && !vm->destroy_pending)
        vs_machine_force_stop(vm->machine);
    while (!is_stopped(vm))
        g_main_context_iteration(NULL, TRUE);
    g_object_unref(vm);
}

/* ---- the rest of the API ---- */

void vessel_vm_console_input(VesselVm *vm, const guint8 *buf, gsize len)
{
    if (vm->machine && !vm->destroy_pending && len)
        vs_machine_serial_input(vm->machine, buf, len);
}

GBytes *vessel_vm_get_console_history(VesselVm *vm)
{
    return g_bytes_new(vm->history->data, vm->history->len);
}

VsMachine *vessel_vm_get_machine(VesselVm *vm)
{
    return vm->destroy_pending ? NULL : vm->machine;
}

gint64 vessel_vm_get_id(VesselVm *vm)
{
    return vm->record.id;
}

const char *vessel_vm_get_name(VesselVm *vm)
{
    return vm->record.name;
}

const VlVm *vessel_vm_get_record(VesselVm *vm)
{
    return &vm->record;
}

void vessel_vm_set_record(VesselVm *vm, const VlVm *record)
{
    gboolean renamed = g_strcmp0(vm->record.name, record->name) != 0;
    gboolean arch = g_strcmp0(vm->record.arch, record->arch) != 0;
    VlVm copy;
    vessel_vm_record_copy(&copy, record);
    vl_vm_clear(&vm->record);
    vm->record = copy;
    if (renamed)
        g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_NAME]);
    if (arch)
        g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_ARCH]);
    g_signal_emit(vm, signals[SIG_RECORD_CHANGED], 0);
}

VesselVmState vessel_vm_get_state(VesselVm *vm)
{
    return vm->state;
}

const char *vessel_vm_state_label(VesselVmState state)
{
    switch (state) {
    case VESSEL_VM_STARTING: return _("Starting");
    case VESSEL_VM_RUNNING: return _("Running");
    case VESSEL_VM_PAUSED: return _("Paused");
    case VESSEL_VM_STOPPING: return _("Powering Down");
    case VESSEL_VM_STOPPED:
    default: return _("Stopped");
    }
}

const char *vessel_vm_get_accel_summary(VesselVm *vm)
{
    return vm->accel_summary ? vm->accel_summary : "";
}

const char *vessel_vm_get_pin_summary(VesselVm *vm)
{
    return vm->pin_summary ? vm->pin_summary : "";
}

const char *vessel_vm_get_stop_message(VesselVm *vm)
{
    return vm->stop_message ? vm->stop_message : "";
}

gboolean vessel_vm_is_active(VesselVm *vm)
{
    return vm->state != VESSEL_VM_STOPPED;
}

/* ---- object ---- */

static void vessel_vm_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
    VesselVm *vm = VESSEL_VM(object);
    switch (id) {
    case PROP_ID: g_value_set_int64(value, vm->record.id); break;
    case PROP_NAME: g_value_set_string(value, vm->record.name); break;
    case PROP_ARCH: g_value_set_string(value, vm->record.arch); break;
    case PROP_STATE: g_value_set_uint(value, vm->state); break;
    case PROP_STATE_LABEL: g_value_set_string(value, vessel_vm_state_label(vm->state)); break;
    case PROP_ACCEL_SUMMARY: g_value_set_string(value, vessel_vm_get_accel_summary(vm)); break;
    case PROP_PIN_SUMMARY: g_value_set_string(value, vessel_vm_get_pin_summary(vm)); break;
    case PROP_STOP_MESSAGE: g_value_set_string(value, vessel_vm_get_stop_message(vm)); break;
    case PROP_HAS_DISPLAY: g_value_set_boolean(value, vm->has_display); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    }
}

static void vessel_vm_finalize(GObject *object)
{
    VesselVm *vm = VESSEL_VM(object);
    /* A running machine's waiter thread holds a reference, so none is left here. */
    g_warn_if_fail(vm->machine == NULL);
    vl_vm_clear(&vm->record);
    g_free(vm->accel_summary);
    g_free(vm->pin_summary);
    g_free(vm->stop_message);
    g_byte_array_unref(vm->history);
    if (vm->pending_console)
        g_byte_array_unref(vm->pending_console);
    g_mutex_clear(&vm->lock);
    G_OBJECT_CLASS(vessel_vm_parent_class)->finalize(object);
}

static void vessel_vm_class_init(VesselVmClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    oc->get_property = vessel_vm_get_property;
    oc->finalize = vessel_vm_finalize;
    GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
    props[PROP_ID] = g_param_spec_int64("id", NULL, NULL, 0, G_MAXINT64, 0, ro);
    props[PROP_NAME] = g_param_spec_string("name", NULL, NULL, "", ro);
    props[PROP_ARCH] = g_param_spec_string("arch", NULL, NULL, "", ro);
    props[PROP_STATE] = g_param_spec_uint("state", NULL, NULL, 0, VESSEL_VM_STOPPING, 0, ro);
    props[PROP_STATE_LABEL] = g_param_spec_string("state-label", NULL, NULL, "", ro);
    props[PROP_ACCEL_SUMMARY] = g_param_spec_string("accel-summary", NULL, NULL, "", ro);
    props[PROP_PIN_SUMMARY] = g_param_spec_string("pin-summary", NULL, NULL, "", ro);
    props[PROP_STOP_MESSAGE] = g_param_spec_string("stop-message", NULL, NULL, "", ro);
    props[PROP_HAS_DISPLAY] = g_param_spec_boolean("has-display", NULL, NULL, FALSE, ro);
    g_object_class_install_properties(oc, N_PROPS, props);

    signals[SIG_CONSOLE_OUTPUT] =
        g_signal_new("console-output", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 1, G_TYPE_BYTES);
    signals[SIG_DISPLAY_RESIZE] =
        g_signal_new("display-resize", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_UINT);
    signals[SIG_DISPLAY_UPDATE] =
        g_signal_new("display-update", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 4, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_UINT, G_TYPE_UINT);
    signals[SIG_RECORD_CHANGED] =
        g_signal_new("record-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 0);
}

static void vessel_vm_init(VesselVm *vm)
{
    g_mutex_init(&vm->lock);
    vm->history = g_byte_array_new();
    vl_vm_init(&vm->record);
}

VesselVm *vessel_vm_new(const VlVm *record)
{
    VesselVm *vm = g_object_new(VESSEL_TYPE_VM, NULL);
    vl_vm_clear(&vm->record);
    vessel_vm_record_copy(&vm->record, record);
    return vm;
}
