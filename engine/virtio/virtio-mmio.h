/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 only (virtio 1.2 section 4.2; no legacy interface).
 *
 * Register semantics beyond the letter of 4.2.2, chosen for a hostile guest:
 * - Registers below 0x100 take only 4-byte accesses at 4-byte aligned offsets (4.2.2.2);
 *   any other access reads 0 and writes are ignored. Reading a write-only register or an
 *   unknown offset reads 0, writing a read-only or unknown one is ignored. Such accesses
 *   only count in dev->guest_errors: nothing is logged, so a guest cannot flood the log.
 * - Config space (0x100 + offset) takes 1, 2, 4 and 8 byte accesses at any alignment
 *   inside ops->config_size; outside it reads 0 and writes are ignored. Values are
 *   little-endian (4.2.2). Writes are also ignored before FEATURES_OK (3.1.1 step 4 lets
 *   the driver only read it then) and after FAILED or DEVICE_NEEDS_RESET.
 * - VendorID is 0x4c534556: the bytes "VESL" read as a little-endian word, as QEMU's
 *   0x554d4551 is "QEMU".
 * - Status: see virtio_dev_set_status() (2.1.1, 3.1.1). Writing 0 resets (4.2.2.1): every
 *   QueueReady reads 0, InterruptStatus reads 0, and the selectors go back to 0.
 * - Queue setup registers (QueueNum, QueueDesc/Driver/Device Low/High) are accepted only
 *   between FEATURES_OK and DRIVER_OK and while the selected queue is not ready (3.1.1,
 *   4.2.2.2), as Firecracker does; otherwise ignored. A QueueNum above VIRTQ_MAX_SIZE is
 *   stored as 0 so the QueueReady write that follows fails instead of truncating it.
 * - QueueReady=1 validates the queue (virtq_enable: size a power of two <= QueueNumMax,
 *   aligned rings inside guest RAM); on failure QueueReady reads 0 and the device sets
 *   DEVICE_NEEDS_RESET. QueueReady=0 during setup disables the queue; after DRIVER_OK it
 *   is ignored (VIRTIO_F_RING_RESET is not offered, so QueueReset reads 0 too).
 * - QueueNotify is forwarded only when the device is running and the queue ready (2.1.2);
 *   kicks before DRIVER_OK are dropped. The value is the queue index (no
 *   VIRTIO_F_NOTIFICATION_DATA).
 * - InterruptACK clears the written bits; the line (level = InterruptStatus != 0) drops
 *   when none remain (4.2.3.4).
 * - No shared memory regions: SHMLen and SHMBase read all ones for every SHMSel (4.2.2).
 */
#ifndef VESSEL_VIRTIO_MMIO_H
#define VESSEL_VIRTIO_MMIO_H

#include <stdint.h>

#include "mmu/mmu.h"
#include "virtio/virtio-dev.h"

#define VIRTIO_MMIO_MAGIC     0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION   2u
#define VIRTIO_MMIO_VENDOR_ID 0x4c534556u /* "VESL" */
/* What a board maps per device (one page, as QEMU's virt boards do). */
#define VIRTIO_MMIO_SIZE 0x1000

/* Register offsets (4.2.2). */
enum {
    VIRTIO_MMIO_MAGIC_VALUE = 0x000,
    VIRTIO_MMIO_VERSION_REG = 0x004,
    VIRTIO_MMIO_DEVICE_ID = 0x008,
    VIRTIO_MMIO_VENDOR_ID_REG = 0x00c,
    VIRTIO_MMIO_DEVICE_FEATURES = 0x010,
    VIRTIO_MMIO_DEVICE_FEATURES_SEL = 0x014,
    VIRTIO_MMIO_DRIVER_FEATURES = 0x020,
    VIRTIO_MMIO_DRIVER_FEATURES_SEL = 0x024,
    VIRTIO_MMIO_QUEUE_SEL = 0x030,
    VIRTIO_MMIO_QUEUE_NUM_MAX = 0x034,
    VIRTIO_MMIO_QUEUE_NUM = 0x038,
    VIRTIO_MMIO_QUEUE_READY = 0x044,
    VIRTIO_MMIO_QUEUE_NOTIFY = 0x050,
    VIRTIO_MMIO_INTERRUPT_STATUS = 0x060,
    VIRTIO_MMIO_INTERRUPT_ACK = 0x064,
    VIRTIO_MMIO_STATUS = 0x070,
    VIRTIO_MMIO_QUEUE_DESC_LOW = 0x080,
    VIRTIO_MMIO_QUEUE_DESC_HIGH = 0x084,
    VIRTIO_MMIO_QUEUE_DRIVER_LOW = 0x090,
    VIRTIO_MMIO_QUEUE_DRIVER_HIGH = 0x094,
    VIRTIO_MMIO_QUEUE_DEVICE_LOW = 0x0a0,
    VIRTIO_MMIO_QUEUE_DEVICE_HIGH = 0x0a4,
    VIRTIO_MMIO_SHM_SEL = 0x0ac,
    VIRTIO_MMIO_SHM_LEN_LOW = 0x0b0,
    VIRTIO_MMIO_SHM_LEN_HIGH = 0x0b4,
    VIRTIO_MMIO_SHM_BASE_LOW = 0x0b8,
    VIRTIO_MMIO_SHM_BASE_HIGH = 0x0bc,
    VIRTIO_MMIO_QUEUE_RESET = 0x0c0,
    VIRTIO_MMIO_CONFIG_GENERATION = 0x0fc,
    VIRTIO_MMIO_CONFIG = 0x100,
};

typedef struct VirtioMmio {
    VirtioDevice *dev;
    uint32_t device_features_sel, driver_features_sel, queue_sel, shm_sel;
    /* Where a kick goes once it passed virtio_dev_queue_kickable(); runs on the vCPU
     * thread with the region lock held, so it should be quick (signal an eventfd). */
    void (*notify)(void *opaque, unsigned queue);
    void *notify_opaque;
} VirtioMmio;

/*
 * A transport for dev (which must outlive it). Kicks call virtio_dev_queue_notify()
 * directly on the vCPU thread. Returns NULL if dev's config space does not fit in
 * VIRTIO_MMIO_SIZE or on allocation failure.
 */
VirtioMmio *virtio_mmio_create(VirtioDevice *dev);
/* The same with kicks handed to notify(notify_opaque, queue) instead (e.g. an eventfd the
 * I/O thread waits on; it then calls virtio_dev_queue_notify()). */
VirtioMmio *virtio_mmio_create_notify(VirtioDevice *dev,
                                      void (*notify)(void *opaque, unsigned queue),
                                      void *notify_opaque);
void virtio_mmio_destroy(VirtioMmio *m);
/* Machine reset: the device and the transport's selectors. */
void virtio_mmio_reset(VirtioMmio *m);

/* Register callbacks; opaque is the VirtioMmio. */
extern const MmioOps virtio_mmio_ops;

#endif
