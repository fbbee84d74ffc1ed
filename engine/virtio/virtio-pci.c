/* SPDX-License-Identifier: MIT */
/* virtio-pci modern transport (virtio 1.2, 4.1). Register rules: virtio-pci.h. */
#include "virtio/virtio-pci.h"

#include <stdlib.h>
#include <string.h>

#define CAP_ID_VENDOR 0x09

uint32_t virtio_pci_class(uint32_t device_id)
{
    switch (device_id) {
    case VIRTIO_ID_BLOCK: return 0x018000;   /* mass storage, other */
    case VIRTIO_ID_NET: return 0x020000;     /* ethernet */
    case VIRTIO_ID_CONSOLE: return 0x078000; /* communication, other */
    case VIRTIO_ID_GPU: return 0x038000;     /* display, other */
    case VIRTIO_ID_INPUT: return 0x098000;   /* input, other */
    case VIRTIO_ID_9P: return 0x028000;      /* network, other */
    default: return 0xff0000;                /* unclassified (rng and the rest) */
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A virtio_pci_cap (4.1.4) at `at`, len bytes long, next cap at `next`. */
static void add_cap(PciFunction *f, unsigned at, unsigned next, unsigned len, uint8_t type,
                    uint32_t offset, uint32_t length)
{
    uint8_t *c = f->config + at;
    c[0] = CAP_ID_VENDOR;
    c[1] = (uint8_t)next;
    c[2] = (uint8_t)len;
    c[3] = type;
    c[4] = VIRTIO_PCI_BAR;
    put32(c + 8, offset);
    put32(c + 12, length);
}

static void irq_changed(void *opaque, int level)
{
    VirtioPci *vp = opaque;
    pci_set_irq(&vp->pci, level != 0);
}

static uint64_t bar_read_op(void *opaque, uint64_t offset, unsigned size)
{
    return virtio_pci_bar_read(opaque, offset, size);
}

static void bar_write_op(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    virtio_pci_bar_write(opaque, offset, value, size);
}

static const MmioOps bar_ops = { .read = bar_read_op, .write = bar_write_op };

/* The PCI configuration access capability: bar, offset and length as the driver set them. */
static bool cfg_window(const VirtioPci *vp, uint32_t *offset, uint32_t *len)
{
    const uint8_t *c = vp->pci.config + VIRTIO_PCI_CAP_PCI_CFG_AT;
    *offset = get32(c + 8);
    *len = get32(c + 12);
    /* 4.1.4.9.1: length 1, 2 or 4, offset a multiple of it, BAR 4, inside the BAR. */
    return c[4] == VIRTIO_PCI_BAR && (*len == 1 || *len == 2 || *len == 4) && !(*offset % *len) &&
           *offset < VIRTIO_PCI_BAR_SIZE;
}

static bool cfg_read_hook(PciFunction *f, unsigned reg, unsigned size, uint32_t *val)
{
    VirtioPci *vp = f->opaque;
    const unsigned data = VIRTIO_PCI_CAP_PCI_CFG_AT + 16;
    if (reg != data || size != 4)
        return false;
    uint32_t off, len;
    if (!cfg_window(vp, &off, &len)) {
        virtio_dev_guest_error(vp->dev);
        *val = 0;
        return true;
    }
    *val = (uint32_t)virtio_pci_bar_read(vp, off, len);
    return true;
}

static void cfg_write_hook(PciFunction *f, unsigned reg, uint32_t val, unsigned size)
{
    VirtioPci *vp = f->opaque;
    const unsigned data = VIRTIO_PCI_CAP_PCI_CFG_AT + 16;
    if (reg + size <= data || reg >= data + 4)
        return;
    uint32_t off, len;
    if (reg != data || size != 4 || !cfg_window(vp, &off, &len)) {
        virtio_dev_guest_error(vp->dev);
        return;
    }
    uint32_t v = len == 4 ? val : val & ((1u << (8 * len)) - 1);
    virtio_pci_bar_write(vp, off, v, len);
}

VirtioPci *virtio_pci_create(VirtioDevice *dev, void (*notify)(void *opaque, unsigned queue),
                             void *notify_opaque)
{
    if (dev->ops->config_size > 0x1000 || dev->num_queues > 0x1000 / VIRTIO_PCI_NOTIFY_MULT)
        return NULL;
    VirtioPci *vp = calloc(1, sizeof(*vp));
    if (!vp)
        return NULL;
    vp->dev = dev;
    vp->notify = notify;
    vp->notify_opaque = notify_opaque;
    PciFunction *f = &vp->pci;
    pci_function_init(f, VIRTIO_PCI_VENDOR,
                      (uint16_t)(VIRTIO_PCI_DEVICE_BASE + dev->ops->device_id),
                      virtio_pci_class(dev->ops->device_id), 1, VIRTIO_PCI_VENDOR, 0x1100, 1);
    pci_function_set_bar(f, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE,
                         PCI_BAR_MEM_64 | PCI_BAR_MEM_PREFETCH, &bar_ops, vp);
    f->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    f->config[PCI_CAPABILITY_LIST] = 0x40;
    add_cap(f, 0x40, 0x50, 16, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON, 0x1000);
    add_cap(f, 0x50, 0x60, 16, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR, 0x1000);
    add_cap(f, 0x60, 0x70, 16, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE, 0x1000);
    add_cap(f, 0x70, VIRTIO_PCI_CAP_PCI_CFG_AT, 20, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY,
            0x1000);
    put32(f->config + 0x70 + 16, VIRTIO_PCI_NOTIFY_MULT);
    add_cap(f, VIRTIO_PCI_CAP_PCI_CFG_AT, 0, 20, VIRTIO_PCI_CAP_PCI_CFG, 0, 0);
    /* bar, offset, length and data of the access capability are the driver's. */
    uint8_t *wm = f->wmask + VIRTIO_PCI_CAP_PCI_CFG_AT;
    wm[4] = 0xff;
    memset(wm + 8, 0xff, 12);
    f->config_read = cfg_read_hook;
    f->config_write = cfg_write_hook;
    f->opaque = vp;
    virtio_dev_set_irq(dev, irq_changed, vp);
    return vp;
}

void virtio_pci_destroy(VirtioPci *vp)
{
    /* The device may be gone already (vdev destroys it first): do not touch it. */
    free(vp);
}

static void reset_selectors(VirtioPci *vp)
{
    vp->dfselect = 0;
    vp->gfselect = 0;
    vp->queue_sel = 0;
}

void virtio_pci_reset(VirtioPci *vp)
{
    reset_selectors(vp);
    virtio_dev_reset(vp->dev);
}

/* ---- common configuration ---- */

/* Width of the field at offset, or 0 for a hole. 64-bit fields report 8. */
static unsigned field_width(uint64_t off)
{
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
    case VIRTIO_PCI_COMMON_DF:
    case VIRTIO_PCI_COMMON_GFSELECT:
    case VIRTIO_PCI_COMMON_GF: return 4;
    case VIRTIO_PCI_COMMON_MSIX:
    case VIRTIO_PCI_COMMON_NUMQ:
    case VIRTIO_PCI_COMMON_Q_SELECT:
    case VIRTIO_PCI_COMMON_Q_SIZE:
    case VIRTIO_PCI_COMMON_Q_MSIX:
    case VIRTIO_PCI_COMMON_Q_ENABLE:
    case VIRTIO_PCI_COMMON_Q_NOFF: return 2;
    case VIRTIO_PCI_COMMON_STATUS:
    case VIRTIO_PCI_COMMON_CFGGEN: return 1;
    case VIRTIO_PCI_COMMON_Q_DESC:
    case VIRTIO_PCI_COMMON_Q_AVAIL:
    case VIRTIO_PCI_COMMON_Q_USED: return 8;
    default: return 0;
    }
}

/* A 64-bit queue address field: the offset of its start when off/size is a valid access of
 * it (whole, or one 32-bit half), else 0. */
static uint64_t addr_field(uint64_t off, unsigned size)
{
    if (off < VIRTIO_PCI_COMMON_Q_DESC || off >= VIRTIO_PCI_COMMON_Q_USED + 8)
        return 0;
    uint64_t base = off & ~7ull;
    if ((size == 8 && off == base) || (size == 4 && (off & 3) == 0))
        return base;
    return 0;
}

static uint64_t *queue_addr(VirtQueue *vq, uint64_t field)
{
    if (field == VIRTIO_PCI_COMMON_Q_DESC)
        return &vq->desc_addr;
    if (field == VIRTIO_PCI_COMMON_Q_AVAIL)
        return &vq->avail_addr;
    return &vq->used_addr;
}

static uint64_t common_read(VirtioPci *vp, uint64_t off, unsigned size)
{
    VirtioDevice *dev = vp->dev;
    unsigned q = vp->queue_sel;
    bool qok = q < dev->num_queues;
    uint64_t field = addr_field(off, size);
    if (field) {
        uint64_t v = 0;
        virtio_dev_lock(dev);
        if (qok)
            v = *queue_addr(&dev->queues[q], field);
        virtio_dev_unlock(dev);
        return size == 8 ? v : (uint32_t)(v >> (8 * (off - field)));
    }
    if (field_width(off) != size) {
        virtio_dev_guest_error(dev);
        return 0;
    }
    uint64_t v = 0;
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT: v = vp->dfselect; break;
    case VIRTIO_PCI_COMMON_DF: v = virtio_dev_device_features(dev, vp->dfselect); break;
    case VIRTIO_PCI_COMMON_GFSELECT: v = vp->gfselect; break;
    case VIRTIO_PCI_COMMON_GF:
        virtio_dev_lock(dev);
        v = vp->gfselect <= 1 ? (uint32_t)(dev->driver_features >> (32 * vp->gfselect)) : 0;
        virtio_dev_unlock(dev);
        break;
    case VIRTIO_PCI_COMMON_MSIX:
    case VIRTIO_PCI_COMMON_Q_MSIX: v = VIRTIO_MSI_NO_VECTOR; break;
    case VIRTIO_PCI_COMMON_NUMQ: v = dev->num_queues; break;
    case VIRTIO_PCI_COMMON_STATUS: v = virtio_dev_status(dev); break;
    case VIRTIO_PCI_COMMON_CFGGEN: v = (uint8_t)virtio_dev_config_generation(dev); break;
    case VIRTIO_PCI_COMMON_Q_SELECT: v = vp->queue_sel; break;
    case VIRTIO_PCI_COMMON_Q_SIZE:
        virtio_dev_lock(dev);
        v = qok ? dev->queues[q].size : 0;
        virtio_dev_unlock(dev);
        break;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        virtio_dev_lock(dev);
        v = qok && dev->queues[q].ready;
        virtio_dev_unlock(dev);
        break;
    case VIRTIO_PCI_COMMON_Q_NOFF: v = qok ? q : 0; break;
    }
    return v;
}

static void common_write(VirtioPci *vp, uint64_t off, uint64_t value, unsigned size)
{
    VirtioDevice *dev = vp->dev;
    unsigned q = vp->queue_sel;
    uint64_t field = addr_field(off, size);
    if (field || off == VIRTIO_PCI_COMMON_Q_SIZE) {
        if (!field && size != 2) {
            virtio_dev_guest_error(dev);
            return;
        }
        virtio_dev_lock(dev);
        if (!virtio_dev_queue_configurable(dev, q)) {
            virtio_dev_guest_error(dev);
        } else if (field) {
            uint64_t *a = queue_addr(&dev->queues[q], field);
            if (size == 8) {
                *a = value;
            } else {
                unsigned sh = (unsigned)(8 * (off - field));
                *a = (*a & ~(0xffffffffull << sh)) | ((uint64_t)(uint32_t)value << sh);
            }
        } else {
            /* Kept whole: a size the ring cannot have fails the queue_enable. */
            uint16_t n = (uint16_t)value;
            bool ok = n && !(n & (n - 1)) && n <= dev->queues[q].max_size;
            dev->queues[q].size = ok ? n : 0;
        }
        virtio_dev_unlock(dev);
        return;
    }
    if (field_width(off) != size) {
        virtio_dev_guest_error(dev);
        return;
    }
    uint32_t v = (uint32_t)value;
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT: vp->dfselect = v; break;
    case VIRTIO_PCI_COMMON_GFSELECT: vp->gfselect = v; break;
    case VIRTIO_PCI_COMMON_GF: virtio_dev_set_driver_features(dev, vp->gfselect, v); break;
    case VIRTIO_PCI_COMMON_STATUS:
        if ((v & 0xff) == 0)
            virtio_pci_reset(vp);
        else
            virtio_dev_set_status(dev, v & 0xff);
        break;
    case VIRTIO_PCI_COMMON_Q_SELECT: vp->queue_sel = (uint16_t)v; break;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        if (v == 1)
            virtio_dev_queue_set_ready(dev, q, true);
        else
            virtio_dev_guest_error(dev); /* 4.1.4.3.2: the driver must not write 0 */
        break;
    case VIRTIO_PCI_COMMON_MSIX:
    case VIRTIO_PCI_COMMON_Q_MSIX:
        /* No MSI-X capability: there is no vector to choose. */
        virtio_dev_guest_error(dev);
        break;
    default:
        /* device_feature, num_queues, config_generation, queue_notify_off: read-only. */
        virtio_dev_guest_error(dev);
        break;
    }
}

/* ---- BAR 4 ---- */

static bool size_ok(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

uint64_t virtio_pci_bar_read(VirtioPci *vp, uint64_t offset, unsigned size)
{
    VirtioDevice *dev = vp->dev;
    if (!size_ok(size) || offset >= VIRTIO_PCI_BAR_SIZE || size > VIRTIO_PCI_BAR_SIZE - offset) {
        virtio_dev_guest_error(dev);
        return 0;
    }
    if (offset < VIRTIO_PCI_ISR)
        return common_read(vp, offset - VIRTIO_PCI_COMMON, size);
    if (offset < VIRTIO_PCI_DEVICE) {
        if (offset != VIRTIO_PCI_ISR || size != 1) {
            virtio_dev_guest_error(dev);
            return 0;
        }
        /* 4.1.4.5: reading clears the causes and lowers the line. */
        uint32_t isr = virtio_dev_isr(dev);
        if (isr)
            virtio_dev_ack_isr(dev, isr);
        return isr;
    }
    if (offset < VIRTIO_PCI_NOTIFY) {
        uint8_t buf[8];
        if (!virtio_dev_read_config(dev, (uint32_t)(offset - VIRTIO_PCI_DEVICE), buf, size))
            return 0;
        uint64_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= (uint64_t)buf[i] << (8 * i);
        return v;
    }
    /* The notification area is write-only. */
    virtio_dev_guest_error(dev);
    return 0;
}

void virtio_pci_bar_write(VirtioPci *vp, uint64_t offset, uint64_t value, unsigned size)
{
    VirtioDevice *dev = vp->dev;
    if (!size_ok(size) || offset >= VIRTIO_PCI_BAR_SIZE || size > VIRTIO_PCI_BAR_SIZE - offset) {
        virtio_dev_guest_error(dev);
        return;
    }
    if (offset < VIRTIO_PCI_ISR) {
        common_write(vp, offset - VIRTIO_PCI_COMMON, value, size);
    } else if (offset < VIRTIO_PCI_DEVICE) {
        virtio_dev_guest_error(dev); /* ISR status is read-only */
    } else if (offset < VIRTIO_PCI_NOTIFY) {
        uint8_t buf[8];
        for (unsigned i = 0; i < size; i++)
            buf[i] = (uint8_t)(value >> (8 * i));
        virtio_dev_write_config(dev, (uint32_t)(offset - VIRTIO_PCI_DEVICE), buf, size);
    } else {
        uint64_t n = offset - VIRTIO_PCI_NOTIFY;
        if ((size != 2 && size != 4) || n % VIRTIO_PCI_NOTIFY_MULT) {
            virtio_dev_guest_error(dev);
            return;
        }
        unsigned q = (unsigned)(n / VIRTIO_PCI_NOTIFY_MULT);
        if (!virtio_dev_queue_kickable(dev, q))
            return;
        if (vp->notify)
            vp->notify(vp->notify_opaque, q);
        else
            virtio_dev_queue_notify(dev, q);
    }
}
