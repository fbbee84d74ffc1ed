/* SPDX-License-Identifier: MIT */
/*
 * VesselStore: the VM library on one worker thread (a GThreadPool with one thread, so calls
 * run in submission order and the VlLibrary is only ever used by that thread), and the
 * GListModel of VesselVm the UI binds to, updated on the main thread.
 */
#include "vessel-store.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "efi-vars.h"
#include "vessel-vm.h"

G_DEFINE_QUARK(vessel - store - error - quark, vessel_store_error)

struct _VesselStore {
    GObject parent_instance;
    char *requested_path; /* NULL: the default */
    char *path;           /* the opened file */
    char *dir;            /* its directory (bundles are under dir/vms) */
    char *backup_path;
    VlLibrary *lib; /* worker thread only */
    GThreadPool *pool;
    GListStore *vms;
    gboolean loaded;
};

G_DEFINE_FINAL_TYPE(VesselStore, vessel_store, G_TYPE_OBJECT)

enum { PROP_0, PROP_LOADED, N_PROPS };
static GParamSpec *props[N_PROPS];

/* ---- records ---- */

void vessel_vm_record_copy(VlVm *dst, const VlVm *src)
{
    *dst = *src;
    dst->drives = g_memdup2(src->drives, src->n_drives * sizeof(VlDrive));
    dst->media = g_memdup2(src->media, src->n_media * sizeof(VlMedia));
    dst->shares = g_memdup2(src->shares, src->n_shares * sizeof(VlShare));
    dst->nics = g_memdup2(src->nics, src->n_nics * sizeof(VlNic));
    for (size_t i = 0; i < src->n_nics; i++)
        dst->nics[i].forwards =
            g_memdup2(src->nics[i].forwards, src->nics[i].n_forwards * sizeof(VlForward));
}

/*
 * The library frees arrays with free(): g_memdup2 memory comes from malloc (GLib's
 * allocator is the system malloc since 2.46), so vl_vm_clear can release a copy.
 */
VlVm *vessel_vm_record_dup(const VlVm *src)
{
    VlVm *vm = g_new0(VlVm, 1);
    vessel_vm_record_copy(vm, src);
    return vm;
}

void vessel_vm_record_free(VlVm *vm)
{
    if (!vm)
        return;
    vl_vm_clear(vm);
    g_free(vm);
}

/* ---- the worker ---- */

typedef VlStatus (*JobFunc)(VesselStore *store, gpointer data, VlError *err, gpointer *result,
                            GDestroyNotify *result_free);

typedef struct {
    GTask *task;
    JobFunc func;
    gpointer data;
} Job;

static GError *error_from(const VlError *err)
{
    return g_error_new_literal(VESSEL_STORE_ERROR, err->code,
                               err->message[0] ? err->message : _("The VM library failed"));
}

static VlStatus job_open(VesselStore *store, gpointer data, VlError *err, gpointer *result,
                         GDestroyNotify *result_free);

/* The worker drops its task reference on the main thread: the task holds the store, and the
 * store's last reference must not go away on the store's own worker thread. Always through a
 * source: g_main_context_invoke would run the unref right here, on the worker, whenever the
 * main thread happens not to be iterating its context (then finalize waits for itself). */
static gboolean unref_task_cb(gpointer task)
{
    g_object_unref(task);
    return G_SOURCE_REMOVE;
}

static void release_task(GTask *task)
{
    GSource *source = g_idle_source_new();
    g_source_set_callback(source, unref_task_cb, task, NULL);
    g_source_attach(source, g_task_get_context(task));
    g_source_unref(source);
}

static void worker(gpointer job_ptr, gpointer store_ptr)
{
    Job *job = job_ptr;
    VesselStore *store = store_ptr;
    VlError err = { 0 };
    gpointer result = NULL;
    GDestroyNotify result_free = NULL;
    VlStatus st;
    if (g_task_return_error_if_cancelled(job->task)) {
        release_task(job->task);
        g_free(job);
        return;
    }
    if (!store->lib && job->func != job_open) {
        /* Only the open job runs without a library. */
        st = VL_ERR_INVALID;
        snprintf(err.message, sizeof(err.message), "%s", _("The VM library is not open"));
    } else {
        st = job->func(store, job->data, &err, &result, &result_free);
    }
    if (st != VL_OK)
        g_task_return_error(job->task, error_from(&err));
    else
        g_task_return_pointer(job->task, result, result_free);
    release_task(job->task);
    g_free(job);
}

static void submit(VesselStore *store, GTask *task, JobFunc func, gpointer data)
{
    Job *job = g_new0(Job, 1);
    job->task = task; /* the job owns the reference */
    job->func = func;
    job->data = data;
    g_thread_pool_push(store->pool, job, NULL);
}

/* ---- the model ---- */

static int compare_vms(gconstpointer a, gconstpointer b, gpointer user_data)
{
    (void)user_data;
    return g_utf8_collate(vessel_vm_get_name(VESSEL_VM((gpointer)a)),
                          vessel_vm_get_name(VESSEL_VM((gpointer)b)));
}

static guint find_index(VesselStore *store, gint64 id)
{
    guint n = g_list_model_get_n_items(G_LIST_MODEL(store->vms));
    for (guint i = 0; i < n; i++) {
        g_autoptr(VesselVm) vm = g_list_model_get_item(G_LIST_MODEL(store->vms), i);
        if (vessel_vm_get_id(vm) == id)
            return i;
    }
    return G_MAXUINT;
}

VesselVm *vessel_store_lookup(VesselStore *store, gint64 id)
{
    guint i = find_index(store, id);
    if (i == G_MAXUINT)
        return NULL;
    VesselVm *vm = g_list_model_get_item(G_LIST_MODEL(store->vms), i);
    g_object_unref(vm); /* the store keeps it */
    return vm;
}

/* Put a record into the model: update the VM object or add a new one, in name order. */
static void model_put(VesselStore *store, const VlVm *record)
{
    guint i = find_index(store, record->id);
    if (i != G_MAXUINT) {
        g_autoptr(VesselVm) vm = g_list_model_get_item(G_LIST_MODEL(store->vms), i);
        gboolean renamed = g_strcmp0(vessel_vm_get_name(vm), record->name) != 0;
        vessel_vm_set_record(vm, record);
        if (renamed) {
            /* Keep the name order: take it out and put it back. */
            g_list_store_remove(store->vms, i);
            g_list_store_insert_sorted(store->vms, vm, compare_vms, NULL);
        }
        return;
    }
    g_autoptr(VesselVm) vm = vessel_vm_new(record);
    g_list_store_insert_sorted(store->vms, vm, compare_vms, NULL);
}

static void model_remove(VesselStore *store, gint64 id)
{
    guint i = find_index(store, id);
    if (i != G_MAXUINT)
        g_list_store_remove(store->vms, i);
}

/* ---- UEFI variable stores ---- */

/*
 * An arm64 VM that boots through UEFI gets its own variable store in its bundle, recorded
 * in the library (vm->efi_vars is updated). With make_file the store is also made now
 * from the template. Failures are logged, not fatal: the VM's start makes the store again
 * and reports what is wrong (no firmware installed, a full disk), and the next open of the
 * library records the path again.
 */
static void assign_efi_vars(VesselStore *store, VlVm *vm, gboolean make_file)
{
    if (!vessel_uefi_vm_needs_firmware(vm))
        return;
    if (!vm->efi_vars[0]) {
        char path[VL_PATH_MAX];
        VlError err;
        if (vl_efi_vars_path(store->lib, vm->uuid, path, sizeof(path), &err) != VL_OK ||
            vl_vm_set_efi_vars(store->lib, vm->id, path, &err) != VL_OK) {
            g_message("Cannot record a UEFI variable store for “%s”: %s", vm->name, err.message);
            return;
        }
        g_strlcpy(vm->efi_vars, path, sizeof(vm->efi_vars));
    }
    g_autofree char *tmpl = NULL;
    g_autoptr(GError) error = NULL;
    if (make_file && (!vessel_uefi_find_aavmf(NULL, &tmpl, &error) ||
                      !vessel_efi_vars_prepare(vm->efi_vars, tmpl, NULL, &error)))
        g_message("No UEFI variable store for “%s” yet: %s", vm->name, error->message);
}

/* ---- open ---- */

typedef struct {
    VlVm *vms;
    size_t n;
} VmList;

static void vm_list_free(gpointer p)
{
    VmList *l = p;
    vl_vm_list_free(l->vms, l->n);
    g_free(l);
}

static VlStatus job_open(VesselStore *store, gpointer data, VlError *err, gpointer *result,
                         GDestroyNotify *result_free)
{
    (void)data;
    if (!store->lib) {
        VlStatus st = vl_open(store->requested_path, &store->lib, err);
        if (st != VL_OK) {
            g_free(store->backup_path);
            store->backup_path = g_strdup(err->backup_path);
            return st;
        }
    }
    VmList *l = g_new0(VmList, 1);
    VlStatus st = vl_vm_list(store->lib, &l->vms, &l->n, err);
    if (st != VL_OK) {
        g_free(l);
        return st;
    }
    /* arm64 UEFI VMs from before variable stores (schema 2) get theirs recorded now; the
     * file itself is made when they first start. */
    for (size_t i = 0; i < l->n; i++)
        assign_efi_vars(store, &l->vms[i], FALSE);
    *result = l;
    *result_free = vm_list_free;
    return VL_OK;
}

void vessel_store_open_async(VesselStore *store, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task = g_task_new(store, cancellable, callback, user_data);
    g_task_set_source_tag(task, vessel_store_open_async);
    submit(store, task, job_open, NULL);
}

gboolean vessel_store_open_finish(VesselStore *store, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, store), FALSE);
    VmList *l = g_task_propagate_pointer(G_TASK(result), error);
    if (!l)
        return FALSE;
    if (!store->path) {
        /* vl_path is a plain getter: reading it here while the worker is idle is safe. */
        store->path = g_strdup(vl_path(store->lib));
        store->dir = g_path_get_dirname(store->path);
    }
    g_list_store_remove_all(store->vms);
    for (size_t i = 0; i < l->n; i++)
        model_put(store, &l->vms[i]);
    vm_list_free(l);
    if (!store->loaded) {
        store->loaded = TRUE;
        g_object_notify_by_pspec(G_OBJECT(store), props[PROP_LOADED]);
    }
    return TRUE;
}

gboolean vessel_store_get_loaded(VesselStore *store)
{
    return store->loaded;
}

const char *vessel_store_get_backup_path(VesselStore *store)
{
    return store->backup_path ? store->backup_path : "";
}

const char *vessel_store_get_path(VesselStore *store)
{
    return store->path ? store->path : "";
}

GListModel *vessel_store_get_vms(VesselStore *store)
{
    return G_LIST_MODEL(store->vms);
}

char *vessel_store_bundle_path(VesselStore *store, const char *uuid)
{
    if (!store->dir || !uuid || !uuid[0])
        return NULL;
    return g_build_filename(store->dir, "vms", uuid, NULL);
}

/* ---- generic ---- */

typedef struct {
    VesselStoreFunc func;
    gpointer data;
    GDestroyNotify data_free;
} RunData;

static void run_data_free(gpointer p)
{
    RunData *r = p;
    if (r->data_free)
        r->data_free(r->data);
    g_free(r);
}

static VlStatus job_run(VesselStore *store, gpointer data, VlError *err, gpointer *result,
                        GDestroyNotify *result_free)
{
    (void)result_free;
    RunData *r = data;
    VlStatus st = r->func(store->lib, r->data, err);
    *result = GINT_TO_POINTER(1);
    return st;
}

void vessel_store_run_async(VesselStore *store, VesselStoreFunc func, gpointer data,
                            GDestroyNotify data_free, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task = g_task_new(store, cancellable, callback, user_data);
    g_task_set_source_tag(task, vessel_store_run_async);
    RunData *r = g_new0(RunData, 1);
    r->func = func;
    r->data = data;
    r->data_free = data_free;
    /* Freed with the task, on the main thread, after the callback. */
    g_task_set_task_data(task, r, run_data_free);
    submit(store, task, job_run, r);
}

gboolean vessel_store_run_finish(VesselStore *store, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, store), FALSE);
    return g_task_propagate_pointer(G_TASK(result), error) != NULL;
}

/* ---- operations that change the model ---- */

typedef struct {
    VlVm *vm;      /* the input record (create, save) */
    gint64 id;     /* the VM (rename, delete, clone) */
    char *name;    /* rename, clone */
    gboolean keep; /* delete: keep disks */
    VlVm *result;  /* the record as stored afterwards */
    gint64 new_id; /* create, clone */
} OpData;

static void op_data_free(gpointer p)
{
    OpData *o = p;
    vessel_vm_record_free(o->vm);
    vessel_vm_record_free(o->result);
    g_free(o->name);
    g_free(o);
}

/* Read back the stored record into o->result. */
static VlStatus read_back(VesselStore *store, OpData *o, gint64 id, VlError *err)
{
    o->result = g_new0(VlVm, 1);
    vl_vm_init(o->result);
    return vl_vm_get(store->lib, id, o->result, err);
}

static VlStatus job_create(VesselStore *store, gpointer data, VlError *err, gpointer *result,
                           GDestroyNotify *result_free)
{
    (void)result_free;
    OpData *o = data;
    int64_t id = 0;
    VlStatus st = vl_vm_create(store->lib, o->vm, &id, NULL, err);
    if (st == VL_OK)
        st = read_back(store, o, id, err);
    if (st == VL_OK)
        assign_efi_vars(store, o->result, TRUE);
    o->new_id = id;
    *result = o;
    return st;
}

static VlStatus job_save(VesselStore *store, gpointer data, VlError *err, gpointer *result,
                         GDestroyNotify *result_free)
{
    (void)result_free;
    OpData *o = data;
    VlStatus st = vl_vm_save(store->lib, o->vm, err);
    if (st == VL_OK)
        st = read_back(store, o, o->vm->id, err);
    if (st == VL_OK)
        assign_efi_vars(store, o->result, TRUE);
    *result = o;
    return st;
}

static VlStatus job_rename(VesselStore *store, gpointer data, VlError *err, gpointer *result,
                           GDestroyNotify *result_free)
{
    (void)result_free;
    OpData *o = data;
    VlStatus st = vl_vm_rename(store->lib, o->id, o->name, err);
    if (st == VL_OK)
        st = read_back(store, o, o->id, err);
    *result = o;
    return st;
}

static VlStatus job_delete(VesselStore *store, gpointer data, VlError *err, gpointer *result,
                           GDestroyNotify *result_free)
{
    (void)result_free;
    OpData *o = data;
    *result = o;
    return vl_vm_delete(store->lib, o->id, o->keep, err);
}

static VlStatus job_clone(VesselStore *store, gpointer data, VlError *err, gpointer *result,
                          GDestroyNotify *result_free)
{
    (void)result_free;
    OpData *o = data;
    int64_t id = 0;
    VlStatus st = vl_vm_clone(store->lib, o->id, o->name, &id, err);
    if (st == VL_OK)
        st = read_back(store, o, id, err);
    o->new_id = id;
    *result = o;
    return st;
}

static void start_op(VesselStore *store, gpointer tag, JobFunc func, OpData *o,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task = g_task_new(store, cancellable, callback, user_data);
    g_task_set_source_tag(task, tag);
    g_task_set_task_data(task, o, op_data_free);
    submit(store, task, func, o);
}

/* The model is updated here, on the main thread, before the caller's callback sees it. */
static OpData *finish_op(VesselStore *store, GAsyncResult *result, gpointer tag, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, store), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == tag, NULL);
    OpData *o = g_task_propagate_pointer(G_TASK(result), error);
    if (!o)
        return NULL;
    if (o->result)
        model_put(store, o->result);
    return o;
}

void vessel_store_create_vm_async(VesselStore *store, const VlVm *vm, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
    OpData *o = g_new0(OpData, 1);
    o->vm = vessel_vm_record_dup(vm);
    start_op(store, vessel_store_create_vm_async, job_create, o, cancellable, callback, user_data);
}

gint64 vessel_store_create_vm_finish(VesselStore *store, GAsyncResult *result, GError **error)
{
    OpData *o = finish_op(store, result, vessel_store_create_vm_async, error);
    return o ? o->new_id : 0;
}

void vessel_store_save_vm_async(VesselStore *store, const VlVm *vm, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
    OpData *o = g_new0(OpData, 1);
    o->vm = vessel_vm_record_dup(vm);
    start_op(store, vessel_store_save_vm_async, job_save, o, cancellable, callback, user_data);
}

gboolean vessel_store_save_vm_finish(VesselStore *store, GAsyncResult *result, GError **error)
{
    return finish_op(store, result, vessel_store_save_vm_async, error) != NULL;
}

void vessel_store_rename_vm_async(VesselStore *store, gint64 id, const char *new_name,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
    OpData *o = g_new0(OpData, 1);
    o->id = id;
    o->name = g_strdup(new_name);
    start_op(store, vessel_store_rename_vm_async, job_rename, o, cancellable, callback, user_data);
}

gboolean vessel_store_rename_vm_finish(VesselStore *store, GAsyncResult *result, GError **error)
{
    return finish_op(store, result, vessel_store_rename_vm_async, error) != NULL;
}

void vessel_store_delete_vm_async(VesselStore *store, gint64 id, gboolean keep_disks,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
    OpData *o = g_new0(OpData, 1);
    o->id = id;
    o->keep = keep_disks;
    start_op(store, vessel_store_delete_vm_async, job_delete, o, cancellable, callback, user_data);
}

gboolean vessel_store_delete_vm_finish(VesselStore *store, GAsyncResult *result, GError **error)
{
    OpData *o = finish_op(store, result, vessel_store_delete_vm_async, error);
    if (!o)
        return FALSE;
    model_remove(store, o->id);
    return TRUE;
}

void vessel_store_clone_vm_async(VesselStore *store, gint64 id, const char *new_name,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
    OpData *o = g_new0(OpData, 1);
    o->id = id;
    o->name = g_strdup(new_name);
    start_op(store, vessel_store_clone_vm_async, job_clone, o, cancellable, callback, user_data);
}

gint64 vessel_store_clone_vm_finish(VesselStore *store, GAsyncResult *result, GError **error)
{
    OpData *o = finish_op(store, result, vessel_store_clone_vm_async, error);
    return o ? o->new_id : 0;
}

/* ---- object ---- */

static void vessel_store_finalize(GObject *object)
{
    VesselStore *store = VESSEL_STORE(object);
    /* Wait for queued jobs: each one holds a reference to its task, not to the store, so
     * they may still be running; the library is closed after them. */
    g_thread_pool_free(store->pool, FALSE, TRUE);
    if (store->lib)
        vl_close(store->lib);
    g_object_unref(store->vms);
    g_free(store->requested_path);
    g_free(store->path);
    g_free(store->dir);
    g_free(store->backup_path);
    G_OBJECT_CLASS(vessel_store_parent_class)->finalize(object);
}

static void vessel_store_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
    switch (id) {
    case PROP_LOADED: g_value_set_boolean(value, VESSEL_STORE(object)->loaded); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
    }
}

static void vessel_store_class_init(VesselStoreClass *klass)
{
    GObjectClass *oc = G_OBJECT_CLASS(klass);
    oc->finalize = vessel_store_finalize;
    oc->get_property = vessel_store_get_property;
    props[PROP_LOADED] =
        g_param_spec_boolean("loaded", NULL, NULL, FALSE,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
    g_object_class_install_properties(oc, N_PROPS, props);
}

static void vessel_store_init(VesselStore *store)
{
    store->vms = g_list_store_new(VESSEL_TYPE_VM);
}

VesselStore *vessel_store_new(const char *path)
{
    VesselStore *store = g_object_new(VESSEL_TYPE_STORE, NULL);
    store->requested_path = g_strdup(path);
    store->pool = g_thread_pool_new(worker, store, 1, TRUE, NULL);
    return store;
}
