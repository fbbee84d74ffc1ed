/* SPDX-License-Identifier: MIT */
/* virtio-mmio version 2 transport (virtio 1.2, 4.2). Register rules: virtio-mmio.h. */
#include "virtio/virtio-mmio.h"

#include <stdlib.h>

static void default_notify(void *opaque, unsigned queue)
{
    VirtioMmio *m = opaque;
    virtio_dev_queue_notify(m->dev, queue);
}

VirtioMmio *virtio_mmio_create_notify(VirtioDevice *dev,
                                      void (*notify)(void *opaque, unsigned queue),
                                      void *notify_opaque)
{
    if (dev->ops->config_size > VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)
        return NULL;
    VirtioMmio *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->dev = dev;
    m->notify = notify ? notify : default_notify;
    m->notify_opaque = notify ? notify_opaque : m;
    return m;
}

VirtioMmio *virtio_mmio_create(VirtioDevice *dev)
{
    return virtio_mmio_create_notify(dev, NULL, NULL);
}

void virtio_mmio_destroy(VirtioMmio *m)
{
    free(m);
}

static void reset_selectors(VirtioMmio *m)
{
    m->device_features_sel = 0;
    m->driver_features_sel = 0;
    m->queue_sel = 0;
    m->shm_sel = 0;
}

void virtio_mmio_reset(VirtioMmio *m)
{
    reset_selectors(m);
    virtio_dev_reset(m->dev);
}

/* ---- Config space: 1/2/4/8 bytes, little-endian ---- */

static bool config_size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

static uint64_t config_read(VirtioMmio *m, uint64_t offset, unsigned size)
{
    uint8_t buf[8];
    if (!config_size_ok(size) || offset > UINT32_MAX) {
        virtio_dev_guest_error(m->dev);
        return 0;
    }
    if (!virtio_dev_read_config(m->dev, (uint32_t)offset, buf, size))
        return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)buf[i] << (8 * i);
    return v;
}

static void config_write(VirtioMmio *m, uint64_t offset, uint64_t value, unsigned size)
{
    uint8_t buf[8];
    if (!config_size_ok(size) || offset > UINT32_MAX) {
        virtio_dev_guest_error(m->dev);
        return;
    }
    for (unsigned i = 0; i < size; i++)
        buf[i] = (uint8_t)(value >> (8 * i));
    virtio_dev_write_config(m->dev, (uint32_t)offset, buf, size);
}

/* ---- Control registers ---- */

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    VirtioMmio *m = opaque;
    VirtioDevice *dev = m->dev;

    if (offset >= VIRTIO_MMIO_CONFIG)
        return config_read(m, offset - VIRTIO_MMIO_CONFIG, size);
    if (size != 4 || (offset & 3)) {
        virtio_dev_guest_error(dev);
        return 0;
    }

    uint32_t v = 0;
    switch (offset) {
    case VIRTIO_MMIO_MAGIC_VALUE: v = VIRTIO_MMIO_MAGIC; break;
    case VIRTIO_MMIO_VERSION_REG: v = VIRTIO_MMIO_VERSION; break;
    case VIRTIO_MMIO_DEVICE_ID: v = dev->ops->device_id; break;
    case VIRTIO_MMIO_VENDOR_ID_REG: v = VIRTIO_MMIO_VENDOR_ID; break;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        v = virtio_dev_device_features(dev, m->device_features_sel);
        break;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        /* 0 tells the driver the queue does not exist (4.2.3.2). */
        v = m->queue_sel < dev->num_queues ? dev->ops->queue_max_size : 0;
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        virtio_dev_lock(dev);
        v = m->queue_sel < dev->num_queues && dev->queues[m->queue_sel].ready;
        virtio_dev_unlock(dev);
        break;
    case VIRTIO_MMIO_INTERRUPT_STATUS: v = virtio_dev_isr(dev); break;
    case VIRTIO_MMIO_STATUS: v = virtio_dev_status(dev); break;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
        /* No region exists: length -1 and base all ones (4.2.2). */
        v = 0xffffffffu;
        break;
    case VIRTIO_MMIO_QUEUE_RESET: v = 0; break;
    case VIRTIO_MMIO_CONFIG_GENERATION: v = virtio_dev_config_generation(dev); break;
    default:
        /* Write-only registers and holes. */
        virtio_dev_guest_error(dev);
        break;
    }
    return v;
}

/* A 32-bit half of a 64-bit ring address. */
static void set_half(uint64_t *addr, bool high, uint32_t v)
{
    if (high)
        *addr = (*addr & 0xffffffffull) | ((uint64_t)v << 32);
    else
        *addr = (*addr & ~0xffffffffull) | v;
}

/* QueueNum and the ring address registers: only while the queue is being set up. */
static void queue_setup_write(VirtioMmio *m, uint64_t offset, uint32_t v)
{
    VirtioDevice *dev = m->dev;
    unsigned q = m->queue_sel;

    virtio_dev_lock(dev);
    if (!virtio_dev_queue_configurable(dev, q)) {
        virtio_dev_guest_error(dev);
        virtio_dev_unlock(dev);
        return;
    }
    VirtQueue *vq = &dev->queues[q];
    switch (offset) {
    case VIRTIO_MMIO_QUEUE_NUM:
        /* Keep it whole: a truncated 0x10010 would pass as 16. 0 fails virtq_enable. */
        vq->size = v <= VIRTQ_MAX_SIZE ? (uint16_t)v : 0;
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        set_half(&vq->desc_addr, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        set_half(&vq->avail_addr, offset == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        set_half(&vq->used_addr, offset == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
        break;
    }
    virtio_dev_unlock(dev);
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    VirtioMmio *m = opaque;
    VirtioDevice *dev = m->dev;

    if (offset >= VIRTIO_MMIO_CONFIG) {
        config_write(m, offset - VIRTIO_MMIO_CONFIG, value, size);
        return;
    }
    if (size != 4 || (offset & 3)) {
        virtio_dev_guest_error(dev);
        return;
    }

    uint32_t v = (uint32_t)value;
    switch (offset) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL: m->device_features_sel = v; break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        virtio_dev_set_driver_features(dev, m->driver_features_sel, v);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL: m->driver_features_sel = v; break;
    case VIRTIO_MMIO_QUEUE_SEL: m->queue_sel = v; break;
    case VIRTIO_MMIO_QUEUE_NUM:
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: queue_setup_write(m, offset, v); break;
    case VIRTIO_MMIO_QUEUE_READY:
        if (v > 1)
            virtio_dev_guest_error(dev);
        else
            virtio_dev_queue_set_ready(dev, m->queue_sel, v == 1);
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        if (virtio_dev_queue_kickable(dev, v))
            m->notify(m->notify_opaque, v);
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK: virtio_dev_ack_isr(dev, v); break;
    case VIRTIO_MMIO_STATUS:
        if (v == 0)
            virtio_mmio_reset(m);
        else
            virtio_dev_set_status(dev, v);
        break;
    case VIRTIO_MMIO_SHM_SEL: m->shm_sel = v; break;
    default:
        /* Read-only registers, QueueReset (VIRTIO_F_RING_RESET is not offered), holes. */
        virtio_dev_guest_error(dev);
        break;
    }
}

const MmioOps virtio_mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
};
