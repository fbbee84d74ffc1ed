/* SPDX-License-Identifier: MIT */
/* The transport-independent part of a virtio device: status, features, reset, interrupts. */
#include "virtio/virtio-dev.h"

#include <stdlib.h>
#include <string.h>

#define BIT(n) (1ull << (n))

/* Status bits the driver may set; DEVICE_NEEDS_RESET belongs to the device. */
#define STATUS_DRIVER_BITS                                                          \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
     VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)

static bool is_pow2(unsigned v)
{
    return v && !(v & (v - 1));
}

/* Does every feature in `set` come with all the features it requires? */
static bool deps_satisfied(const VirtioDeviceOps *ops, uint64_t set)
{
    for (unsigned i = 0; i < ops->num_feature_deps; i++) {
        const VirtioFeatureDep *d = &ops->feature_deps[i];
        if (d->feature >= 64)
            return false;
        if ((set & BIT(d->feature)) && (set & d->requires) != d->requires)
            return false;
    }
    return true;
}

bool virtio_dev_init(VirtioDevice *dev, const VirtioDeviceOps *ops, PhysMem *mem, void *opaque)
{
    memset(dev, 0, sizeof(*dev));
    if (!ops || (ops->features & ~VIRTIO_DEV_TYPE_FEATURES) ||
        (ops->caps & ~(VIRTIO_DEV_CAP_EVENT_IDX | VIRTIO_DEV_CAP_INDIRECT_DESC)))
        return false;
    if (ops->num_queues && (!is_pow2(ops->queue_max_size) || ops->queue_max_size > VIRTQ_MAX_SIZE))
        return false;
    if (ops->config_size > VIRTIO_CONFIG_MAX || (ops->config_size && !ops->read_config))
        return false;

    uint64_t offered = ops->features | BIT(VIRTIO_F_VERSION_1);
    if (ops->caps & VIRTIO_DEV_CAP_EVENT_IDX)
        offered |= BIT(VIRTIO_F_EVENT_IDX);
    if (ops->caps & VIRTIO_DEV_CAP_INDIRECT_DESC)
        offered |= BIT(VIRTIO_F_INDIRECT_DESC);
    /* 2.2.2: never offer a feature without what it requires. A device description that
     * does is a bug in the device; refuse it here rather than let a guest see it. */
    if (!deps_satisfied(ops, offered))
        return false;

    dev->queues = calloc(ops->num_queues ? ops->num_queues : 1, sizeof(*dev->queues));
    if (!dev->queues)
        return false;

    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    int rc = pthread_mutex_init(&dev->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc) {
        free(dev->queues);
        dev->queues = NULL;
        return false;
    }

    dev->ops = ops;
    dev->opaque = opaque;
    dev->mem = mem;
    dev->num_queues = ops->num_queues;
    dev->device_features = offered;
    for (unsigned i = 0; i < dev->num_queues; i++)
        virtq_reset(&dev->queues[i], mem, ops->queue_max_size);
    atomic_init(&dev->isr, 0);
    atomic_init(&dev->config_generation, 0);
    atomic_init(&dev->guest_errors, 0);
    return true;
}

void virtio_dev_destroy(VirtioDevice *dev)
{
    if (!dev->queues)
        return;
    pthread_mutex_destroy(&dev->lock);
    free(dev->queues);
    dev->queues = NULL;
}

void virtio_dev_lock(VirtioDevice *dev)
{
    pthread_mutex_lock(&dev->lock);
}

void virtio_dev_unlock(VirtioDevice *dev)
{
    pthread_mutex_unlock(&dev->lock);
}

/* Under the lock: drive the line to (isr != 0). */
static void update_irq(VirtioDevice *dev)
{
    int level = atomic_load(&dev->isr) != 0;
    if (level != dev->irq_level) {
        dev->irq_level = level;
        if (dev->set_irq)
            dev->set_irq(dev->irq_opaque, level);
    }
}

static void raise_isr(VirtioDevice *dev, uint32_t bits)
{
    atomic_fetch_or(&dev->isr, bits);
    update_irq(dev);
}

void virtio_dev_set_irq(VirtioDevice *dev, void (*set_irq)(void *opaque, int level),
                        void *irq_opaque)
{
    virtio_dev_lock(dev);
    dev->set_irq = set_irq;
    dev->irq_opaque = irq_opaque;
    /* Give the new line the current level. */
    dev->irq_level = atomic_load(&dev->isr) != 0;
    if (set_irq)
        set_irq(irq_opaque, dev->irq_level);
    virtio_dev_unlock(dev);
}

void virtio_dev_reset(VirtioDevice *dev)
{
    virtio_dev_lock(dev);
    dev->status = 0;
    dev->driver_features = 0;
    dev->driver_features_high = false;
    dev->reset_epoch++;
    for (unsigned i = 0; i < dev->num_queues; i++)
        virtq_reset(&dev->queues[i], dev->mem, dev->ops->queue_max_size);
    atomic_store(&dev->isr, 0);
    update_irq(dev);
    virtio_dev_unlock(dev);

    /* Without the lock: the device may wait here for its thread, which may need it. */
    if (dev->ops->reset)
        dev->ops->reset(dev);
}

uint8_t virtio_dev_status(VirtioDevice *dev)
{
    virtio_dev_lock(dev);
    uint8_t s = dev->status;
    virtio_dev_unlock(dev);
    return s;
}

/* Does the status keep the order of 3.1.1 (each step implies the one before)? */
static bool status_ordered(uint32_t s)
{
    if ((s & VIRTIO_STATUS_DRIVER) && !(s & VIRTIO_STATUS_ACKNOWLEDGE))
        return false;
    if ((s & VIRTIO_STATUS_FEATURES_OK) && !(s & VIRTIO_STATUS_DRIVER))
        return false;
    if ((s & VIRTIO_STATUS_DRIVER_OK) && !(s & VIRTIO_STATUS_FEATURES_OK))
        return false;
    return true;
}

/* Under the lock: may the driver's accepted features be used (2.2.1, 2.2.2, 6.2)? */
static bool features_acceptable(VirtioDevice *dev)
{
    uint64_t f = dev->driver_features;
    if (dev->driver_features_high || (f & ~dev->device_features))
        return false;
    if (!(f & BIT(VIRTIO_F_VERSION_1)))
        return false;
    if (!deps_satisfied(dev->ops, f))
        return false;
    return !dev->ops->validate_features || dev->ops->validate_features(dev, f);
}

void virtio_dev_set_status(VirtioDevice *dev, uint32_t val)
{
    if (val == 0) {
        virtio_dev_reset(dev);
        return;
    }

    virtio_dev_lock(dev);
    uint32_t cur = dev->status & STATUS_DRIVER_BITS;
    uint32_t want = val & STATUS_DRIVER_BITS;
    uint32_t added = want & ~cur;
    bool activate = false, late_notify = false;

    if ((cur & ~want) || (cur & VIRTIO_STATUS_FAILED)) {
        /* Clearing a bit (2.1.1) or anything but a reset after FAILED. */
        if (want != cur)
            virtio_dev_guest_error(dev);
    } else if (added & VIRTIO_STATUS_FAILED) {
        /* The driver gave up: record it and nothing else it may have added. */
        dev->status |= VIRTIO_STATUS_FAILED;
    } else if (!status_ordered(want)) {
        virtio_dev_guest_error(dev);
    } else if (added) {
        if ((added & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(dev)) {
            /* Refused: FEATURES_OK reads back clear, and so nothing after it may stick. */
            added &= ~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
        }
        dev->status |= added;
        if (added & VIRTIO_STATUS_DRIVER_OK) {
            /* An error found during setup could not be notified before DRIVER_OK; do it
             * now, and do not start a device that needs a reset. */
            if (dev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
                late_notify = true;
            else
                activate = true;
        }
    }
    if (late_notify)
        raise_isr(dev, VIRTIO_ISR_CONFIG);
    virtio_dev_unlock(dev);

    if (activate && dev->ops->activate && !dev->ops->activate(dev))
        virtio_set_needs_reset(dev);
}

uint32_t virtio_dev_device_features(VirtioDevice *dev, uint32_t sel)
{
    if (sel > 1)
        return 0;
    return (uint32_t)(dev->device_features >> (32 * sel));
}

void virtio_dev_set_driver_features(VirtioDevice *dev, uint32_t sel, uint32_t val)
{
    virtio_dev_lock(dev);
    uint8_t s = dev->status;
    if (!(s & VIRTIO_STATUS_DRIVER) || (s & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED))) {
        virtio_dev_guest_error(dev);
    } else if (sel <= 1) {
        unsigned shift = 32 * sel;
        dev->driver_features &= ~(0xffffffffull << shift);
        dev->driver_features |= (uint64_t)val << shift;
    } else if (val) {
        /* Accepting a feature beyond bit 63, which is never offered. */
        dev->driver_features_high = true;
    }
    virtio_dev_unlock(dev);
}

/* Under the lock: is the device between FEATURES_OK and DRIVER_OK (queue setup)? */
static bool in_queue_setup(const VirtioDevice *dev)
{
    return (dev->status & VIRTIO_STATUS_FEATURES_OK) &&
           !(dev->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED));
}

bool virtio_dev_queue_configurable(VirtioDevice *dev, unsigned q)
{
    virtio_dev_lock(dev);
    bool ok = q < dev->num_queues && in_queue_setup(dev) && !dev->queues[q].ready;
    virtio_dev_unlock(dev);
    return ok;
}

/* Under the lock. */
static void set_needs_reset(VirtioDevice *dev)
{
    if (dev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        return;
    dev->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (dev->status & VIRTIO_STATUS_DRIVER_OK)
        raise_isr(dev, VIRTIO_ISR_CONFIG);
}

bool virtio_dev_queue_set_ready(VirtioDevice *dev, unsigned q, bool ready)
{
    virtio_dev_lock(dev);
    if (q >= dev->num_queues) {
        virtio_dev_guest_error(dev);
        virtio_dev_unlock(dev);
        return false;
    }
    VirtQueue *vq = &dev->queues[q];
    if (ready == vq->ready) {
        /* Nothing changes. */
    } else if (!in_queue_setup(dev)) {
        virtio_dev_guest_error(dev);
    } else if (ready) {
        vq->event_idx = dev->driver_features & BIT(VIRTIO_F_EVENT_IDX);
        vq->indirect = dev->driver_features & BIT(VIRTIO_F_INDIRECT_DESC);
        if (virtq_enable(vq)) {
            vq->ready = true;
        } else {
            vq->ready = false;
            virtio_dev_guest_error(dev);
            set_needs_reset(dev);
        }
    } else {
        /* Disabled during setup: back to the reset state, keeping what the driver wrote. */
        uint16_t size = vq->size;
        uint64_t desc = vq->desc_addr, avail = vq->avail_addr, used = vq->used_addr;
        virtq_reset(vq, dev->mem, dev->ops->queue_max_size);
        vq->size = size;
        vq->desc_addr = desc;
        vq->avail_addr = avail;
        vq->used_addr = used;
    }
    bool r = vq->ready;
    virtio_dev_unlock(dev);
    return r;
}

/* Under the lock. */
static bool running(const VirtioDevice *dev)
{
    return (dev->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(dev->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static bool queue_live(const VirtioDevice *dev, unsigned q)
{
    return q < dev->num_queues && dev->queues[q].ready && !dev->queues[q].broken;
}

bool virtio_dev_queue_kickable(VirtioDevice *dev, unsigned q)
{
    virtio_dev_lock(dev);
    bool ok = running(dev) && queue_live(dev, q);
    /* Kicks before DRIVER_OK (3.1.1) or of a queue that was never set up are the
     * driver's fault; after DEVICE_NEEDS_RESET or of a broken queue they are not. */
    if (!(dev->status & VIRTIO_STATUS_DRIVER_OK) || q >= dev->num_queues || !dev->queues[q].ready)
        virtio_dev_guest_error(dev);
    virtio_dev_unlock(dev);
    return ok;
}

bool virtio_dev_queue_notify(VirtioDevice *dev, unsigned q)
{
    virtio_dev_lock(dev);
    bool ok = running(dev) && queue_live(dev, q);
    virtio_dev_unlock(dev);
    if (ok && dev->ops->queue_notify)
        dev->ops->queue_notify(dev, q);
    return ok;
}

void virtio_dev_ack_isr(VirtioDevice *dev, uint32_t bits)
{
    virtio_dev_lock(dev);
    atomic_fetch_and(&dev->isr, ~bits);
    update_irq(dev);
    virtio_dev_unlock(dev);
}

static bool config_range_ok(const VirtioDevice *dev, uint32_t offset, uint32_t len)
{
    uint32_t size = dev->ops->config_size;
    return len && offset < size && len <= size - offset;
}

bool virtio_dev_read_config(VirtioDevice *dev, uint32_t offset, void *buf, uint32_t len)
{
    if (!config_range_ok(dev, offset, len)) {
        memset(buf, 0, len);
        virtio_dev_guest_error(dev);
        return false;
    }
    dev->ops->read_config(dev, offset, buf, len);
    return true;
}

bool virtio_dev_write_config(VirtioDevice *dev, uint32_t offset, const void *buf, uint32_t len)
{
    if (!config_range_ok(dev, offset, len)) {
        virtio_dev_guest_error(dev);
        return false;
    }
    uint8_t s = virtio_dev_status(dev);
    if (!(s & VIRTIO_STATUS_FEATURES_OK) ||
        (s & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET))) {
        virtio_dev_guest_error(dev);
        return true;
    }
    if (dev->ops->write_config)
        dev->ops->write_config(dev, offset, buf, len);
    return true;
}

bool virtio_dev_running(VirtioDevice *dev)
{
    virtio_dev_lock(dev);
    bool r = running(dev);
    virtio_dev_unlock(dev);
    return r;
}

uint64_t virtio_dev_epoch(VirtioDevice *dev)
{
    virtio_dev_lock(dev);
    uint64_t e = dev->reset_epoch;
    virtio_dev_unlock(dev);
    return e;
}

int virtio_dev_pop(VirtioDevice *dev, unsigned q, VirtqElem *elem)
{
    int r = 0;
    virtio_dev_lock(dev);
    if (running(dev) && queue_live(dev, q)) {
        r = virtq_pop(&dev->queues[q], elem);
        if (r < 0)
            set_needs_reset(dev);
    }
    virtio_dev_unlock(dev);
    return r < 0 ? -1 : r;
}

bool virtio_dev_fill(VirtioDevice *dev, unsigned q, const VirtqElem *elem, uint32_t written,
                     unsigned i, uint64_t epoch)
{
    virtio_dev_lock(dev);
    bool ok = epoch == dev->reset_epoch && queue_live(dev, q);
    if (ok) {
        /* Translated code in the pages the device wrote is stale now (a program read
         * from disk over an old one). */
        uint32_t left = written;
        for (unsigned j = elem->out_num; j < elem->out_num + elem->in_num && left; j++) {
            size_t n = elem->sg[j].iov_len < left ? elem->sg[j].iov_len : left;
            physmem_dma_written(dev->mem, elem->sg[j].iov_base, n);
            left -= (uint32_t)n;
        }
        virtq_fill(&dev->queues[q], elem, written, i);
    }
    virtio_dev_unlock(dev);
    return ok;
}

bool virtio_dev_flush(VirtioDevice *dev, unsigned q, unsigned count, uint64_t epoch)
{
    virtio_dev_lock(dev);
    bool ok = epoch == dev->reset_epoch && queue_live(dev, q);
    if (ok)
        virtq_flush(&dev->queues[q], count);
    virtio_dev_unlock(dev);
    return ok;
}

bool virtio_dev_push(VirtioDevice *dev, unsigned q, const VirtqElem *elem, uint32_t written,
                     uint64_t epoch)
{
    virtio_dev_lock(dev);
    bool ok =
        virtio_dev_fill(dev, q, elem, written, 0, epoch) && virtio_dev_flush(dev, q, 1, epoch);
    virtio_dev_unlock(dev);
    return ok;
}

void virtio_dev_unpop(VirtioDevice *dev, unsigned q, unsigned count, uint64_t epoch)
{
    virtio_dev_lock(dev);
    if (epoch == dev->reset_epoch && queue_live(dev, q))
        for (unsigned i = 0; i < count; i++)
            virtq_unpop(&dev->queues[q]);
    virtio_dev_unlock(dev);
}

void virtio_notify_used(VirtioDevice *dev, unsigned q)
{
    virtio_dev_lock(dev);
    if ((dev->status & VIRTIO_STATUS_DRIVER_OK) && q < dev->num_queues && dev->queues[q].ready &&
        virtq_should_notify(&dev->queues[q]))
        raise_isr(dev, VIRTIO_ISR_QUEUE);
    virtio_dev_unlock(dev);
}

void virtio_config_changed(VirtioDevice *dev)
{
    virtio_dev_lock(dev);
    atomic_fetch_add(&dev->config_generation, 1);
    if (dev->status & VIRTIO_STATUS_DRIVER_OK)
        raise_isr(dev, VIRTIO_ISR_CONFIG);
    virtio_dev_unlock(dev);
}

void virtio_set_needs_reset(VirtioDevice *dev)
{
    virtio_dev_lock(dev);
    set_needs_reset(dev);
    virtio_dev_unlock(dev);
}
