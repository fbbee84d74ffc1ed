/* SPDX-License-Identifier: MIT */
/*
 * VesselVm: one VM of the library (its VlVm record) and, while it runs, its engine
 * machine.
 *
 * The engine runs on its own threads. Every engine call made here runs off the main
 * thread (GTask), and everything the engine reports (state changes, console bytes,
 * display changes) is marshalled to the main loop before a signal or property
 * notification is emitted. So all signals below are emitted on the main thread.
 */
#ifndef VESSEL_VM_H
#define VESSEL_VM_H

#include <gio/gio.h>

#include "library.h"
#include "vessel/engine.h"

G_BEGIN_DECLS

typedef enum {
    VESSEL_VM_STOPPED = 0,
    VESSEL_VM_STARTING, /* building the machine (loading kernel, opening disks) */
    VESSEL_VM_RUNNING,
    VESSEL_VM_PAUSED,
    VESSEL_VM_STOPPING, /* power down requested, waiting for the guest */
} VesselVmState;

typedef enum {
    VESSEL_VM_ACTION_PAUSE,
    VESSEL_VM_ACTION_RESUME,
    VESSEL_VM_ACTION_POWERDOWN, /* ask the guest (virtio keyboard KEY_POWER) */
    VESSEL_VM_ACTION_FORCE_STOP,
    VESSEL_VM_ACTION_RESET,
} VesselVmAction;

#define VESSEL_VM_ERROR (vessel_vm_error_quark())
GQuark vessel_vm_error_quark(void);
/* VESSEL_VM_ERROR codes are VsStatus values (VS_ERR_IO for a missing ISO...). */

#define VESSEL_TYPE_VM (vessel_vm_get_type())
G_DECLARE_FINAL_TYPE(VesselVm, vessel_vm, VESSEL, VM, GObject)

/*
 * Properties (all read-only, notify on the main thread):
 *   "id" (gint64), "name" (string), "arch" (string), "state" (VesselVmState as guint),
 *   "state-label" (string, translated: "Stopped", "Running"...),
 *   "accel-summary" (string: which tier runs and why, e.g. "Interpreter: the JIT tier is
 *     not built yet"; "" while stopped),
 *   "pin-summary" (string, vs_machine_pin_summary; "" while stopped),
 *   "stop-message" (string: why it last stopped, "" if it never ran),
 *   "has-display" (boolean: the machine, running or starting, has virtio-gpu).
 * Signals:
 *   "console-output" (GBytes *bytes): the guest wrote to its serial console.
 *   "display-resize" (guint width, guint height): scanout 0's size (0 x 0: off).
 *   "display-update" (guint x, guint y, guint width, guint height): a changed rectangle
 *     of scanout 0 (updates between two main-loop iterations are merged).
 *   "record-changed": the library record was replaced (name, settings).
 */
VesselVm *vessel_vm_new(const VlVm *record);
gint64 vessel_vm_get_id(VesselVm *vm);
const char *vessel_vm_get_name(VesselVm *vm);
/* The library record (owned by the VM; valid until the next "record-changed"). */
const VlVm *vessel_vm_get_record(VesselVm *vm);
/* Replace the record (the store does this after a write); emits "record-changed". */
void vessel_vm_set_record(VesselVm *vm, const VlVm *record);

VesselVmState vessel_vm_get_state(VesselVm *vm);
const char *vessel_vm_state_label(VesselVmState state);
const char *vessel_vm_get_accel_summary(VesselVm *vm);
const char *vessel_vm_get_pin_summary(VesselVm *vm);
const char *vessel_vm_get_stop_message(VesselVm *vm);
gboolean vessel_vm_is_active(VesselVm *vm); /* STARTING, RUNNING, PAUSED or STOPPING */

/*
 * Build the machine from the record on a worker thread and start it. Fails (VESSEL_VM_ERROR)
 * with the engine's message: a missing ISO or kernel, an unreadable disk, an unsupported
 * architecture or accelerator. The callback runs once the machine runs (or failed).
 */
void vessel_vm_start_async(VesselVm *vm, GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data);
gboolean vessel_vm_start_finish(VesselVm *vm, GAsyncResult *result, GError **error);

/* Pause, resume, power down, force stop, reset: asynchronous, VS_ERR_STATE when the VM is
 * not in a state that allows it. */
void vessel_vm_action_async(VesselVm *vm, VesselVmAction action, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
gboolean vessel_vm_action_finish(VesselVm *vm, GAsyncResult *result, GError **error);

/* Stop the machine without asking the guest and wait for it (iterating the main loop):
 * for quitting the app. Returns at once when the VM is stopped. */
void vessel_vm_force_stop_sync(VesselVm *vm);

/* Bytes typed into the console go to the guest's serial input. */
void vessel_vm_console_input(VesselVm *vm, const guint8 *buf, gsize len);
/* Everything the guest wrote to the console since it last started (the last 256 KiB). */
GBytes *vessel_vm_get_console_history(VesselVm *vm);

/*
 * The running engine machine, or NULL. Valid on the main thread until the "state"
 * property changes to VESSEL_VM_STOPPED. The display widget reads pixels
 * (vs_machine_display_read, vs_machine_display_size) and sends input (vs_machine_input_*)
 * through it; those calls are thread-safe and do not block.
 */
VsMachine *vessel_vm_get_machine(VesselVm *vm);

G_END_DECLS

#endif
