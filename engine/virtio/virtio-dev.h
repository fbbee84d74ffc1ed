/* SPDX-License-Identifier: MIT */
/*
 * The virtio device model: what every virtio device (blk, net, console, ...) implements and
 * what every transport (virtio-mmio, later virtio-pci) drives. The core here owns the parts
 * of virtio 1.2 that do not depend on the transport: the device status state machine (2.1,
 * 3.1), feature negotiation (2.2), reset (2.4), the interrupt status bits and the interrupt
 * line, and the rules for when a device may touch its queues (2.1.2).
 *
 * Feature rule (2.2.2). The offered set is ops->features (device-type bits only: 0-23 and
 * 50-63) plus the transport bits the core adds: VIRTIO_F_VERSION_1 always, and
 * VIRTIO_F_EVENT_IDX / VIRTIO_F_INDIRECT_DESC when ops->caps says the device's queue
 * handling copes with them. None of those three depends on another feature. Device-type
 * dependencies ("feature A requires feature B") are listed in ops->feature_deps, and
 * virtio_dev_init() refuses a device whose offered set contains a feature without all of
 * its dependencies, so such a set can never reach a guest. FEATURES_OK is refused (the bit
 * reads back clear) when the driver accepted a feature that was not offered, accepted a
 * feature without its dependencies, did not accept VIRTIO_F_VERSION_1 (modern devices
 * only, 6.2), or when ops->validate_features says no.
 *
 * Threads and locking. Guest register accesses arrive on vCPU threads, serialised per
 * device by the MMIO region lock. The device's own work (queue processing, completions,
 * backend events) may run on the I/O thread. dev->lock (a recursive mutex) protects
 * status, features, queues, the interrupt line and reset_epoch between the two. Every
 * function below takes it itself; a device may also hold it around a sequence of calls
 * (pop, push, notify) to make the sequence atomic with respect to a reset. The core never
 * calls a VirtioDeviceOps callback with dev->lock held, except validate_features (which
 * must be pure), so a device's reset may wait for its I/O thread.
 *
 * Reset and in-flight work (2.4.1, bad input 5). virtio_dev_reset() first, under the lock,
 * sets status 0, disables every queue and bumps reset_epoch; then calls ops->reset, which
 * drops or waits for the device's in-flight work. A request that completes later must be
 * pushed with virtio_dev_push(), which discards it when the epoch it was popped in has
 * passed, so no used-ring write or interrupt follows a reset, even after the driver has
 * re-initialised the device.
 */
#ifndef VESSEL_VIRTIO_DEV_H
#define VESSEL_VIRTIO_DEV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mmu/mmu.h"
#include "virtio/virtio.h"

/* Device type IDs (5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4
#define VIRTIO_ID_9P      9
#define VIRTIO_ID_GPU     16
#define VIRTIO_ID_INPUT   18

/* ops->caps: ring features the device's queue handling supports. */
#define VIRTIO_DEV_CAP_EVENT_IDX     (1u << 0)
#define VIRTIO_DEV_CAP_INDIRECT_DESC (1u << 1)

/* Feature bits a device type may define (2.2): 0-23 and, of the 64 we carry, 50-63. */
#define VIRTIO_DEV_TYPE_FEATURES (((1ull << 24) - 1) | (~0ull << 50))

/* Largest device-specific configuration space the core accepts. */
#define VIRTIO_CONFIG_MAX 0x400

typedef struct VirtioDevice VirtioDevice;

/* "feature requires every bit of `requires`" (2.2.1 / 2.2.2). */
typedef struct VirtioFeatureDep {
    unsigned feature;  /* bit number */
    uint64_t requires; /* mask of feature bits */
} VirtioFeatureDep;

typedef struct VirtioDeviceOps {
    const char *name; /* for messages: "virtio-blk" */
    uint32_t device_id;
    uint64_t features; /* offered device-type bits, a subset of VIRTIO_DEV_TYPE_FEATURES */
    unsigned caps;     /* VIRTIO_DEV_CAP_* */
    const VirtioFeatureDep *feature_deps;
    unsigned num_feature_deps;
    unsigned num_queues;     /* queues 0 .. num_queues-1 */
    uint16_t queue_max_size; /* a power of two, 1..VIRTQ_MAX_SIZE */
    uint32_t config_size;    /* bytes of device-specific configuration, <= VIRTIO_CONFIG_MAX */

    /* Config space access, little-endian bytes. [offset, offset+len) lies inside
     * config_size (the transport checked). May be NULL when config_size is 0. */
    void (*read_config)(VirtioDevice *dev, uint32_t offset, void *buf, uint32_t len);
    /* NULL: config space is read-only. */
    void (*write_config)(VirtioDevice *dev, uint32_t offset, const void *buf, uint32_t len);
    /*
     * May the driver use this subset of the offered features? Called with dev->lock held
     * when the driver sets FEATURES_OK, after the core's own checks passed. Pure: no
     * side effects, no calls into the core. NULL accepts every valid subset.
     */
    bool (*validate_features)(VirtioDevice *dev, uint64_t features);
    /* The driver kicked queue `queue` (only ever while virtio_dev_running() and the queue
     * is ready). Runs on whatever thread the transport's notify path chose. */
    void (*queue_notify)(VirtioDevice *dev, unsigned queue);
    /*
     * Device reset. Called after the core has set status 0 and disabled the queues. Drop
     * every in-flight request: once this returns, the device must not write a used ring
     * or raise an interrupt for work started before the reset (virtio_dev_push() enforces
     * it for completions that still arrive). May block waiting for the device's thread.
     * NULL when the device keeps no state beyond its queues.
     */
    void (*reset)(VirtioDevice *dev);
    /*
     * The driver set DRIVER_OK: features are final, queues set up. Start the backend.
     * DRIVER_OK is already visible (virtio_dev_running() is true) while this runs; kicks
     * from the guest wait for it (the transport's lock). Returning false sets
     * DEVICE_NEEDS_RESET. NULL: nothing to start.
     */
    bool (*activate)(VirtioDevice *dev);
} VirtioDeviceOps;

struct VirtioDevice {
    const VirtioDeviceOps *ops;
    void *opaque; /* the device's own state */
    PhysMem *mem;
    VirtQueue *queues; /* ops->num_queues entries */
    unsigned num_queues;

    pthread_mutex_t lock;      /* recursive; see the top of this file */
    uint8_t status;            /* VIRTIO_STATUS_* */
    uint64_t device_features;  /* the final offered set */
    uint64_t driver_features;  /* what the driver wrote (final once FEATURES_OK is set) */
    bool driver_features_high; /* a non-zero word beyond bit 63 was written (until reset) */
    /* Bumped by every reset; work popped in an older epoch is never pushed. */
    uint64_t reset_epoch;

    _Atomic uint32_t isr;               /* VIRTIO_ISR_* pending for the driver */
    _Atomic uint32_t config_generation; /* bumped on every config change */

    /* Guest errors ignored so far (bad register accesses, refused transitions...): a
     * counter instead of log lines, since a hostile guest could otherwise flood the log. */
    _Atomic uint64_t guest_errors;

    int irq_level; /* last level given to set_irq */
    void (*set_irq)(void *opaque, int level);
    void *irq_opaque;
};

/*
 * Set up dev for ops (which must outlive it). Computes the offered feature set and
 * checks the device description: returns false (dev unusable, nothing to destroy) if ops
 * offers bits outside the device-type ranges, breaks one of its own feature dependencies,
 * has a queue size that is not a power of two in 1..VIRTQ_MAX_SIZE, a config space over
 * VIRTIO_CONFIG_MAX, or on allocation failure. Status starts at 0 (reset state).
 */
bool virtio_dev_init(VirtioDevice *dev, const VirtioDeviceOps *ops, PhysMem *mem, void *opaque);
void virtio_dev_destroy(VirtioDevice *dev);
/* The interrupt line: level = (isr != 0). set_irq may be NULL (no line wired). */
void virtio_dev_set_irq(VirtioDevice *dev, void (*set_irq)(void *opaque, int level),
                        void *irq_opaque);

void virtio_dev_lock(VirtioDevice *dev);
void virtio_dev_unlock(VirtioDevice *dev);

/*
 * Device reset (2.4): status 0, features 0, isr 0 (line lowered), every queue back to
 * its reset state (not ready), reset_epoch bumped, then ops->reset. config_generation
 * keeps counting. Used by the transports (driver writes status 0) and by machine reset.
 */
void virtio_dev_reset(VirtioDevice *dev);

/* ---- Driver side, called by the transports ---- */

uint8_t virtio_dev_status(VirtioDevice *dev);
/*
 * The driver writes the status register. 0 resets. Otherwise the driver may only add
 * bits (2.1.1), in the order of 3.1.1: DRIVER needs ACKNOWLEDGE, FEATURES_OK needs
 * DRIVER, DRIVER_OK needs FEATURES_OK; several may be added at once if the result keeps
 * that order. A write that would clear a bit, or add one out of order, is a guest error
 * and is ignored as a whole. FAILED may be added at any time; after it only a reset is
 * accepted. DEVICE_NEEDS_RESET is the device's and is ignored in the value written;
 * reserved bits (SUSPEND among them: VIRTIO_F_SUSPEND is never offered) are ignored.
 * Setting FEATURES_OK runs the feature checks (see the top of this file) and leaves the
 * bit clear if they fail. Setting DRIVER_OK calls ops->activate.
 */
void virtio_dev_set_status(VirtioDevice *dev, uint32_t val);

/* 32-bit word `sel` of the offered features (0 beyond bit 63). */
uint32_t virtio_dev_device_features(VirtioDevice *dev, uint32_t sel);
/* The driver writes word `sel` of its accepted features. Ignored unless DRIVER is set
 * and FEATURES_OK / FAILED are not (3.1.1 step 4). */
void virtio_dev_set_driver_features(VirtioDevice *dev, uint32_t sel, uint32_t val);

/*
 * May the driver change the setup (size, ring addresses) of queue q now? Only between
 * FEATURES_OK and DRIVER_OK (3.1.1 step 7), without FAILED, and while the queue is not
 * ready (4.2.2.2). False for a queue that does not exist.
 */
bool virtio_dev_queue_configurable(VirtioDevice *dev, unsigned q);
/*
 * The driver writes the queue's ready bit. Enabling validates the layout (virtq_enable)
 * with the negotiated ring features; if that fails the queue stays not ready and the
 * device is marked DEVICE_NEEDS_RESET. Disabling (before DRIVER_OK) returns the queue to
 * its reset state but keeps the size and addresses the driver wrote. Writes outside
 * virtio_dev_queue_configurable()'s window (except disabling during setup) are ignored.
 * Returns the ready bit afterwards.
 */
bool virtio_dev_queue_set_ready(VirtioDevice *dev, unsigned q, bool ready);
/*
 * Would a kick of queue q be forwarded now? Only while the device is running (DRIVER_OK,
 * 2.1.2) and the queue exists, is ready and not broken. A kick before DRIVER_OK or of a
 * queue that does not exist or is not ready counts as a guest error. Transports check
 * this before handing the kick to their notify path (which may be another thread).
 */
bool virtio_dev_queue_kickable(VirtioDevice *dev, unsigned q);
/* Deliver a kick: rechecks (the state may have changed on the way) and calls
 * ops->queue_notify. Returns whether it was forwarded. */
bool virtio_dev_queue_notify(VirtioDevice *dev, unsigned q);

static inline uint32_t virtio_dev_isr(VirtioDevice *dev)
{
    return atomic_load(&dev->isr);
}
static inline uint32_t virtio_dev_config_generation(VirtioDevice *dev)
{
    return atomic_load(&dev->config_generation);
}
static inline void virtio_dev_guest_error(VirtioDevice *dev)
{
    atomic_fetch_add(&dev->guest_errors, 1);
}
/* The driver acknowledges interrupt causes; the line drops when none remain. */
void virtio_dev_ack_isr(VirtioDevice *dev, uint32_t bits);

/* Device-specific config space with bounds checks: outside config_size reads zeros and
 * writes are ignored. Writes are also ignored before FEATURES_OK (3.1.1 step 4 forbids
 * them) and once FAILED or DEVICE_NEEDS_RESET is set. Returns whether it was in range. */
bool virtio_dev_read_config(VirtioDevice *dev, uint32_t offset, void *buf, uint32_t len);
bool virtio_dev_write_config(VirtioDevice *dev, uint32_t offset, const void *buf, uint32_t len);

/* ---- Device side ---- */

/* DRIVER_OK set and DEVICE_NEEDS_RESET not: the device may process its queues. */
bool virtio_dev_running(VirtioDevice *dev);
/* The current reset epoch; record it with each popped request. */
uint64_t virtio_dev_epoch(VirtioDevice *dev);
/*
 * Pop the next chain of queue q: 1 and *elem filled, 0 when there is nothing (or the
 * device is not running, or the queue is not ready or broken), -1 on a guest error, in
 * which case the device has been marked DEVICE_NEEDS_RESET (2.1.2).
 */
int virtio_dev_pop(VirtioDevice *dev, unsigned q, VirtqElem *elem);
/*
 * Give back a chain popped in `epoch`. Returns false, writing nothing, when a reset
 * happened since, or the queue is no longer ready or is broken. Call virtio_notify_used()
 * after one or more pushes.
 */
bool virtio_dev_push(VirtioDevice *dev, unsigned q, const VirtqElem *elem, uint32_t written,
                     uint64_t epoch);
/*
 * Several chains used as one (virtio-net's mergeable receive buffers), all popped in
 * `epoch`: virtio_dev_fill writes the used element `i` places past the published used idx
 * without publishing it, virtio_dev_flush then publishes `count` of them at once. Same
 * epoch and queue checks as virtio_dev_push (which is fill(0) + flush(1)); hold the device
 * lock across the sequence.
 */
bool virtio_dev_fill(VirtioDevice *dev, unsigned q, const VirtqElem *elem, uint32_t written,
                     unsigned i, uint64_t epoch);
bool virtio_dev_flush(VirtioDevice *dev, unsigned q, unsigned count, uint64_t epoch);
/* Give back the last `count` chains popped in `epoch` unused: they will be popped again.
 * Nothing when a reset came in between. */
void virtio_dev_unpop(VirtioDevice *dev, unsigned q, unsigned count, uint64_t epoch);
/* Used buffer notification: if the driver wants one (virtq_should_notify), set the queue
 * bit in isr and raise the line. Nothing before DRIVER_OK or on a queue that is not ready. */
void virtio_notify_used(VirtioDevice *dev, unsigned q);
/* The device changed its config space: bump config_generation and, once DRIVER_OK is
 * set, send a configuration change notification (isr config bit, raise the line). */
void virtio_config_changed(VirtioDevice *dev);
/* The device hit an error it cannot recover from: set DEVICE_NEEDS_RESET and, if DRIVER_OK
 * is set, send a configuration change notification (2.1.2). Idempotent. */
void virtio_set_needs_reset(VirtioDevice *dev);

#endif
