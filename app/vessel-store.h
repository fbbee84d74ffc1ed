/* SPDX-License-Identifier: MIT */
/*
 * VesselStore: the app's VM library (app/library, plain C over SQLite) on one worker
 * thread, with a GListModel of VesselVm objects for the UI.
 *
 * Every database call runs on the store's single worker thread (the VlLibrary is used by
 * one thread at a time, so calls are serialised in submission order) and completes on the
 * main loop through a GAsyncReadyCallback. The UI never waits for SQLite.
 *
 * Errors: domain VESSEL_STORE_ERROR, code = the VlStatus (VL_ERR_EXISTS for a duplicate
 * name...), message = the library's message, which a person can act on.
 */
#ifndef VESSEL_STORE_H
#define VESSEL_STORE_H

#include <gio/gio.h>

#include "library.h"

G_BEGIN_DECLS

#define VESSEL_STORE_ERROR (vessel_store_error_quark())
GQuark vessel_store_error_quark(void);

#define VESSEL_TYPE_STORE (vessel_store_get_type())
G_DECLARE_FINAL_TYPE(VesselStore, vessel_store, VESSEL, STORE, GObject)

/* path: the library file, or NULL for vl_default_path(). Nothing is opened yet. */
VesselStore *vessel_store_new(const char *path);

/*
 * Open (create or migrate) the library, then load every VM into the model. On
 * VL_ERR_CORRUPT / VL_ERR_NEWER the GError's message names the backup copy made
 * (vessel_store_get_backup_path() returns it too); the UI shows it in a dialog.
 */
void vessel_store_open_async(VesselStore *store, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
gboolean vessel_store_open_finish(VesselStore *store, GAsyncResult *result, GError **error);
const char *vessel_store_get_backup_path(VesselStore *store); /* "" when none */
/* Whether the library has been opened and its VMs loaded into the model (property
 * "loaded", notified on the main thread). Until then an empty model means "not read yet",
 * not "no VMs". */
gboolean vessel_store_get_loaded(VesselStore *store);
/* The library file's path (valid after open). */
const char *vessel_store_get_path(VesselStore *store);

/* The VMs, sorted by name: a GListModel of VesselVm (owned by the store). */
GListModel *vessel_store_get_vms(VesselStore *store);
/* The VesselVm with this id, or NULL (transfer none). */
struct _VesselVm *vessel_store_lookup(VesselStore *store, gint64 id);

/*
 * The generic form: func runs on the worker thread with the open VlLibrary; its VlStatus
 * and VlError become the GError of vessel_store_run_finish. data is freed with
 * data_free on the main thread after the callback.
 */
typedef VlStatus (*VesselStoreFunc)(VlLibrary *lib, gpointer data, VlError *err);
void vessel_store_run_async(VesselStore *store, VesselStoreFunc func, gpointer data,
                            GDestroyNotify data_free, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
gboolean vessel_store_run_finish(VesselStore *store, GAsyncResult *result, GError **error);

/*
 * Common operations. Each one writes in one transaction and then refreshes the model
 * (the affected VesselVm gets its new record; a created VM is added in name order, a
 * deleted one removed) before the callback runs. The _finish functions return FALSE with
 * the library's error.
 */
/* Create a VM from a complete record (drives, media, nics, shares, display included). */
void vessel_store_create_vm_async(VesselStore *store, const VlVm *vm, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
/* Returns the new VM's id, or 0 on error. */
gint64 vessel_store_create_vm_finish(VesselStore *store, GAsyncResult *result, GError **error);

/*
 * Save a changed record: the VM's own settings and display with vl_vm_update, and the
 * child rows (drives, media, nics with forwards, shares) made equal to vm's: rows whose
 * id is 0 are added, rows missing from vm are removed, the others updated.
 */
void vessel_store_save_vm_async(VesselStore *store, const VlVm *vm, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);
gboolean vessel_store_save_vm_finish(VesselStore *store, GAsyncResult *result, GError **error);

void vessel_store_rename_vm_async(VesselStore *store, gint64 id, const char *new_name,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean vessel_store_rename_vm_finish(VesselStore *store, GAsyncResult *result, GError **error);

void vessel_store_delete_vm_async(VesselStore *store, gint64 id, gboolean keep_disks,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean vessel_store_delete_vm_finish(VesselStore *store, GAsyncResult *result, GError **error);

void vessel_store_clone_vm_async(VesselStore *store, gint64 id, const char *new_name,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data);
gint64 vessel_store_clone_vm_finish(VesselStore *store, GAsyncResult *result, GError **error);

/* The VM's bundle directory (<library dir>/vms/<uuid>), computed without the database. */
char *vessel_store_bundle_path(VesselStore *store, const char *uuid);

/* Deep copies of records (arrays included); free with vl_vm_clear + g_free. */
VlVm *vessel_vm_record_dup(const VlVm *src);
void vessel_vm_record_copy(VlVm *dst, const VlVm *src); /* dst must be cleared/initialised */
void vessel_vm_record_free(VlVm *vm);

G_END_DECLS

#endif
