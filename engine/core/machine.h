/* SPDX-License-Identifier: MIT */
/* The machine object: everything a running VM owns is reachable from here. */
#ifndef VESSEL_MACHINE_H
#define VESSEL_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cpu.h"
#include "core/timer.h"
#include "mmu/mmu.h"
#include "osal/osal.h"
#include "vessel/engine.h"

typedef struct AccelMachine AccelMachine;
typedef struct BlockCache BlockCache;
typedef struct Board Board;
typedef struct VsIoThread VsIoThread;
typedef struct VsPinPlan VsPinPlan;
typedef struct VsVdev VsVdev;

/* A board: builds devices and memory for an arch and loads the boot images. */
typedef struct BoardOps {
    const char *name;
    VsArch arch;
    /* Create memory map and devices; load firmware/kernel/initrd; set vCPU reset state. */
    VsStatus (*create)(VsMachine *m, VsError *err);
    /* Set vCPU boot state after the arch reset (entry pc, a0/a1, ...). */
    void (*cpu_boot_state)(VsMachine *m, VsCpu *cpu);
    /* System reset: restore memory images (firmware, kernel, initrd, FDT) and device
     * state. Called with every vCPU parked; vCPUs are reset by the caller afterwards. */
    void (*reset)(VsMachine *m);
    void (*destroy)(VsMachine *m);
    /* Feed serial input (console UART). */
    void (*serial_input)(VsMachine *m, const uint8_t *buf, size_t len);
    /* Press the board's power button (arm64 virt: the PL061 gpio-keys line); false or NULL
     * when the board has none. */
    bool (*power_button)(VsMachine *m);
} BoardOps;

struct VsMachine {
    VsConfig cfg; /* strings owned (copied) */
    const VsArchOps *arch;
    const BoardOps *board_ops;
    void *board; /* board state */
    VsMachineListener listener;

    PhysMem mem;
    VsTimerService timers;
    BlockCache *blocks;
    struct JitState *jit; /* the JIT tier's code cache (engine/jit), NULL when not used */
    /* --trace-state (core/trace-state.h), or NULL */
    struct TraceState *trace_state;

    /* Devices (virtio/vdev.h): the I/O thread runs their back ends. */
    VsIoThread *io;
    VsVdev **vdevs; /* in creation order: board slot i holds vdevs[i] */
    unsigned nvdevs;
    void *console;  /* the virtio-console device, if any */
    void *gpu;      /* the virtio-gpu device (VsConfig.display), if any */
    void *input[3]; /* virtio-input keyboard, tablet, mouse (VsConfig.display) */

    unsigned ncpus;
    VsCpu **cpus;
    VsPinPlan *pin; /* core pinning (core/pin.c) */
    /* Attributes for the threads devices start (disk I/O pool, 9P worker): the helper CPUs
     * of the pinning plan, or NULL when helpers are not pinned. */
    pthread_attr_t *helper_attr;
    pthread_attr_t helper_attr_storage;

    pthread_mutex_t lock; /* state, stop reason, pause/exclusive */
    pthread_cond_t cond;
    VsMachineState state;
    VsStopReason stop_reason;
    char stop_message[256];
    bool stop_requested;
    bool pause_requested;
    unsigned cpus_alive;  /* vCPU threads that have not exited */
    unsigned cpus_parked; /* vCPU threads parked at a checkpoint (pause/exclusive) */
    unsigned exclusive_pending;

    /* Reset-loop detection. */
    uint64_t reset_time_ns, reset_insns; /* at the last reset (or start) */
    unsigned quick_resets;
    _Atomic bool reset_requested;
    _Atomic bool host_reset; /* the pending reset was asked for by the host (vs_machine_reset) */

    char accel_summary[256]; /* which tier runs and why (vs_machine_accel_summary) */
    AccelMachine *accel;     /* hardware acceleration (accel/accel-machine.h), or NULL */
};

/* Stop the machine with a reason (any thread; first reason wins). */
void vs_machine_request_stop(VsMachine *m, VsStopReason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Guest-requested system reset (board power device). */
void vs_machine_request_reset(VsMachine *m);
/* Serial output from a device to the listener. */
void vs_machine_serial_output(VsMachine *m, const uint8_t *buf, size_t len);

/*
 * Run fn with every vCPU parked outside translated code (block-cache flush). Called from a
 * vCPU thread (that vCPU counts as parked) or from any other thread.
 */
void vs_machine_exclusive(VsMachine *m, VsCpu *self, void (*fn)(VsMachine *m, void *arg),
                          void *arg);
/* Flush every translation (exclusive section). */
void vs_machine_request_flush(VsMachine *m, VsCpu *self);
/* vCPU 0 performs a pending system reset (exclusive section). */
void vs_machine_do_reset(VsMachine *m, VsCpu *self);
/* A vCPU thread is leaving. */
void vs_machine_cpu_exited(VsMachine *m, VsCpu *cpu);
/* vCPU side: park here while a pause or an exclusive section is pending. */
void vs_machine_cpu_checkpoint(VsMachine *m, VsCpu *cpu);

/* Error helpers (core/error.c). */
VsStatus vs_error_set(VsError *err, VsStatus status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logging to stderr (core/log.c); prefix "vessel: ". */
void vs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
