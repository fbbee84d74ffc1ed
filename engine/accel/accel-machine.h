/* SPDX-License-Identifier: MIT */
/*
 * The Accel interface on a machine: the tier choice, the VM and its vCPUs, the x86 port
 * bus the boards register port devices on, and the vCPU loop that runs an accelerated
 * vCPU and dispatches its exits to the same devices the interpreter uses.
 */
#ifndef VESSEL_ACCEL_MACHINE_H
#define VESSEL_ACCEL_MACHINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel/accel.h"
#include "core/machine.h"

/* A port I/O device: the same callbacks as an MMIO device (offset inside the range). */
typedef struct PortRange {
    const char *name;
    uint16_t base, size;
    const MmioOps *ops;
    void *opaque;
    pthread_mutex_t lock; /* serialises the callbacks, as MemRegion.lock does */
} PortRange;

#define ACCEL_MAX_PORT_RANGES 16

typedef struct AccelMachine {
    const AccelOps *ops;
    AccelVm *vm;
    AccelVcpu **vcpus; /* [m->ncpus] */
    PortRange ports[ACCEL_MAX_PORT_RANGES];
    unsigned nports;
    _Atomic uint64_t unhandled_pio, unhandled_mmio; /* accesses nothing claimed */
    _Atomic unsigned resets;                        /* system resets done (accel_machine_reset) */
    char reset_error[192]; /* why the last reset failed ("" when it did not) */
    /* vs_machine_fb_track: the framebuffer, the pages it covers, their dirty bitmap. */
    pthread_mutex_t fb_lock;
    bool fb_on;
    VsFramebuffer fb;
    uint64_t fb_gpa, fb_size;
    uint64_t *fb_bitmap;
} AccelMachine;

/*
 * Decide whether the accel layer runs this configuration. *use is set when KVM runs it
 * (summary then says which tier runs and why). Returns an error, with the reason, when the
 * configuration asks for KVM and it cannot work, or for an x86_64 guest that has no other
 * tier. Leaves *use false and returns VS_OK for everything else (the interpreter's cases).
 */
VsStatus accel_choose(const VsConfig *cfg, VsArch host, bool *use, char *summary, size_t len,
                      VsError *err);

/* Create the VM (in-kernel irqchip and PIT) and one vCPU per VsCpu; sets cpu->accel. */
VsStatus accel_machine_create(VsMachine *m, VsError *err);
/* Destroy vCPUs and the VM (the vCPU threads have stopped). */
void accel_machine_destroy(VsMachine *m);
/* System reset of the accelerated part, for a board's reset (every vCPU parked): the
 * in-kernel devices and every vCPU back to their power-on state. */
VsStatus accel_machine_reset(VsMachine *m, VsError *err);
/* A board's reset failed (called inside the reset, where the machine cannot be stopped):
 * vCPU 0 stops the machine with this message when the reset is over. */
void accel_machine_reset_failed(VsMachine *m, const char *message);
/* Map the machine's RAM and ROM regions into the VM (after the board built them). */
VsStatus accel_machine_sync_memory(VsMachine *m, VsError *err);
/* Register a port I/O device [base, base + size). */
VsStatus accel_port_register(VsMachine *m, const char *name, uint16_t base, uint16_t size,
                             const MmioOps *ops, void *opaque, VsError *err);
/* Port accesses, as a vCPU exit performs them: reads of unclaimed ports give all ones. */
uint64_t accel_port_read(VsMachine *m, uint16_t port, unsigned size);
void accel_port_write(VsMachine *m, uint16_t port, unsigned size, uint64_t value);

/* The vCPU thread body for an accelerated vCPU, and its kick. */
void accel_cpu_loop(VsCpu *cpu);
void accel_cpu_kick(VsCpu *cpu);

/* Whether KVM can run a VM here (for the probe), with the reason either way. */
bool accel_kvm_available(char *why, size_t len);

#endif
