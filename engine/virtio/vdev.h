/* SPDX-License-Identifier: MIT */
/*
 * Virtio devices on a machine: the glue between a device model (VirtioDevice), its
 * virtio-mmio transport, the I/O thread and the board.
 *
 * - vs_vdevs_create() builds every device the configuration asks for, in a fixed order
 *   (disks first, so the first --disk is the guest's vda), before the board is built.
 *   Each device's create function sets up its VirtioDevice and calls vs_vdev_attach().
 * - The board then maps device i into its i-th virtio-mmio slot with vs_vdev_map()
 *   (MMIO region, interrupt line through its interrupt controller) and describes the
 *   slot to the guest (device tree, kernel command line).
 * - A guest kick (QueueNotify) on a vCPU thread sets the queue's bit and signals the
 *   device's eventfd; the I/O thread wakes and calls the device's queue_notify for each
 *   kicked queue. So every device back end runs on the I/O thread, one at a time.
 * - Machine reset resets every transport and device (virtio_mmio_reset); machine
 *   destroy (vCPUs stopped) removes the kick handlers, destroys each device, then the
 *   I/O thread.
 *
 * I/O-thread callbacks must not take the machine lock (VsMachine.lock): a reset runs
 * with it held and may wait for the I/O thread (vs_iothread_run_sync).
 */
#ifndef VESSEL_VDEV_H
#define VESSEL_VDEV_H

#include <stdatomic.h>

#include "core/iothread.h"
#include "core/machine.h"
#include "virtio/virtio-dev.h"
#include "virtio/virtio-mmio.h"
#include "virtio/virtio-pci.h"

typedef struct VsVdev {
    VsMachine *m;
    const char *name; /* "virtio-blk": for messages */
    VirtioDevice *dev;
    VirtioMmio *mmio;
    VirtioPci *pci; /* when the board put it on PCI (vs_vdev_map_pci) instead */
    VsNotifier kick;
    VsIoHandler *kick_handler;
    _Atomic uint64_t kicked; /* bit q: queue q was kicked since the I/O thread last looked */
    void (*destroy)(void *owner);
    void *owner;
    bool mapped;
    uint64_t base; /* where the board mapped it */
    unsigned irq;  /* the board's interrupt number for it (informational) */
    /* Queue notifications that bypass the transport (vs_vdev_add_notify_fd). */
    struct VsVdevNotifyFd {
        int fd;
        unsigned queue;
        VsIoHandler *handler;
        struct VsVdev *v;
    } * *notify_fds; /* each on the heap: it is its I/O handler's opaque */
    unsigned nnotify_fds;
} VsVdev;

/* Build the devices cfg asks for (m->cfg). Called by vs_machine_create() before the board. */
VsStatus vs_vdevs_create(VsMachine *m, VsError *err);
/*
 * Give dev (virtio_dev_init() done, queues at most 64) a transport and a kick path to the
 * I/O thread. destroy(owner) frees the device at machine destroy, after the vCPUs have
 * stopped and before the I/O thread goes; it must remove its own I/O handlers and call
 * virtio_dev_destroy(). On failure destroy(owner) has been called already.
 */
VsStatus vs_vdev_attach(VsMachine *m, const char *name, VirtioDevice *dev,
                        void (*destroy)(void *owner), void *owner, VsError *err);
/* Board side: map device i at base and wire its interrupt line to set_irq(irq_opaque). */
VsStatus vs_vdev_map(VsMachine *m, unsigned i, uint64_t base, unsigned irq,
                     void (*set_irq)(void *opaque, int level), void *irq_opaque, VsError *err);
/* The same with a window of `size` bytes instead of VIRTIO_MMIO_SIZE (arm64 virt's slots are
 * 0x200 bytes apart; registers and config space fit in that). */
VsStatus vs_vdev_map_size(VsMachine *m, unsigned i, uint64_t base, uint64_t size, unsigned irq,
                          void (*set_irq)(void *opaque, int level), void *irq_opaque, VsError *err);
/* Board side: put device i on PCI (virtio-pci, virtio/virtio-pci.h) in slot `slot` of host;
 * its interrupt is the function's INTA. Used instead of vs_vdev_map. */
VsStatus vs_vdev_map_pci(VsMachine *m, unsigned i, PciHost *host, unsigned slot, VsError *err);
/*
 * Board side, with a hardware accelerator: guest writes of q to device i's QueueNotify are
 * signalled on the eventfd fd (the board registered it with the accelerator, e.g. a KVM
 * ioeventfd) and never reach the transport. The I/O thread watches fd and processes queue q
 * when the transport would have forwarded the kick (virtio_dev_queue_kickable, checked
 * under the region's lock). The device owns fd from here on (closed at destroy), also on
 * failure.
 */
VsStatus vs_vdev_add_notify_fd(VsMachine *m, unsigned i, unsigned q, int fd, VsError *err);

/*
 * Ask for queue q of dev to be processed again on a later turn of the I/O thread, as if the
 * guest had kicked it: a device that stops after a budget of requests (so a guest flooding
 * one queue cannot starve the other devices) calls this to continue. I/O thread.
 */
void vs_vdev_requeue(VsMachine *m, VirtioDevice *dev, unsigned q);
/* Machine reset: every transport and device back to its reset state. */
void vs_vdevs_reset(VsMachine *m);
/* Machine destroy (vCPUs stopped): devices, then the I/O thread. */
void vs_vdevs_destroy(VsMachine *m);

/* The device creators (one per device type). `index` counts devices of that type. */
VsStatus virtio_rng_create(VsMachine *m, VsError *err);
/* One disk (a --disk or --iso): opens and locks its image. */
VsStatus virtio_blk_create(VsMachine *m, const VsDiskConfig *cfg, VsError *err);
VsStatus virtio_console_create(VsMachine *m, VsError *err);
/* The display (cfg->display): virtio-gpu, 2D; also implements the public Display API. */
VsStatus virtio_gpu_create(VsMachine *m, VsError *err);
/* The keyboard, tablet and mouse (m->input[0..2]), for VsConfig.display. */
VsStatus virtio_input_create_all(VsMachine *m, VsError *err);
/* Press and release KEY_POWER on the virtio keyboard; false without one. */
bool virtio_input_power_button(VsMachine *m);
/* One virtio-net device for m->cfg.nets[index], with its back end (net/net.h). */
VsStatus virtio_net_create(VsMachine *m, const VsNetConfig *cfg, unsigned index, VsError *err);
/* One shared folder (engine/fs/p9.c serves it); fails if share->path is not a directory. */
VsStatus virtio_9p_create(VsMachine *m, const VsShareConfig *share, VsError *err);
/* Host input for the virtio console (vs_machine_console_input). */
void virtio_console_input(VsMachine *m, const uint8_t *buf, size_t len);

#endif
