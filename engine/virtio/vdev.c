/* SPDX-License-Identifier: MIT */
/* Virtio devices on a machine: creation, kicks to the I/O thread, board mapping, reset. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "virtio/vdev.h"

VsStatus vs_vdevs_create(VsMachine *m, VsError *err)
{
    const VsConfig *cfg = &m->cfg;
    VsStatus st = VS_OK;

    for (unsigned i = 0; st == VS_OK && i < cfg->ndisks; i++)
        st = virtio_blk_create(m, &cfg->disks[i], err);
    for (unsigned i = 0; st == VS_OK && i < cfg->nnets; i++)
        st = virtio_net_create(m, &cfg->nets[i], i, err);
    for (unsigned i = 0; st == VS_OK && i < cfg->nshares; i++)
        st = virtio_9p_create(m, &cfg->shares[i], err);
    if (st == VS_OK && cfg->display)
        st = virtio_gpu_create(m, err);
    if (st == VS_OK && cfg->display)
        st = virtio_input_create_all(m, err);
    if (st == VS_OK && cfg->virtio_console)
        st = virtio_console_create(m, err);
    if (st == VS_OK && cfg->rng)
        st = virtio_rng_create(m, err);
    return st;
}

/* vCPU thread, region lock held: note the queue and wake the I/O thread. */
static void vdev_kick(void *opaque, unsigned queue)
{
    VsVdev *v = opaque;
    atomic_fetch_or(&v->kicked, 1ull << queue);
    vs_notifier_signal(&v->kick);
}

void vs_vdev_requeue(VsMachine *m, VirtioDevice *dev, unsigned q)
{
    for (unsigned i = 0; i < m->nvdevs; i++)
        if (m->vdevs[i]->dev == dev)
            vdev_kick(m->vdevs[i], q);
}

/* I/O thread. */
static void vdev_kick_ready(void *opaque, uint32_t events)
{
    VsVdev *v = opaque;
    (void)events;
    vs_notifier_clear(&v->kick);
    uint64_t q = atomic_exchange(&v->kicked, 0);
    while (q) {
        unsigned i = (unsigned)__builtin_ctzll(q);
        q &= q - 1;
        virtio_dev_queue_notify(v->dev, i);
    }
}

/* I/O thread: the accelerator signalled a QueueNotify write (vs_vdev_add_notify_fd). */
static void vdev_notify_fd_ready(void *opaque, uint32_t events)
{
    struct VsVdevNotifyFd *n = opaque;
    VsVdev *v = n->v;
    (void)events;
    uint64_t count;
    if (read(n->fd, &count, sizeof(count)) != sizeof(count))
        return;
    MemRegion *r = physmem_find(&v->m->mem, v->base);
    if (!r || r->kind != MR_MMIO)
        return;
    pthread_mutex_lock(&r->lock); /* as a QueueNotify write through the transport */
    bool kickable = virtio_dev_queue_kickable(v->dev, n->queue);
    pthread_mutex_unlock(&r->lock);
    if (kickable)
        virtio_dev_queue_notify(v->dev, n->queue);
}

VsStatus vs_vdev_add_notify_fd(VsMachine *m, unsigned i, unsigned q, int fd, VsError *err)
{
    VsVdev *v = m->vdevs[i];
    struct VsVdevNotifyFd **list =
        realloc(v->notify_fds, (v->nnotify_fds + 1) * sizeof(*v->notify_fds));
    struct VsVdevNotifyFd *n = malloc(sizeof(*n));
    if (list)
        v->notify_fds = list;
    if (!list || !n) {
        free(n);
        close(fd);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    }
    *n = (struct VsVdevNotifyFd){ .fd = fd, .queue = q, .v = v };
    n->handler = vs_iothread_add_fd(m->io, fd, EPOLLIN, vdev_notify_fd_ready, n, err);
    if (!n->handler) {
        free(n);
        close(fd);
        return err->status;
    }
    v->notify_fds[v->nnotify_fds++] = n;
    return VS_OK;
}

static void vdev_free(VsVdev *v)
{
    for (unsigned i = 0; i < v->nnotify_fds; i++) {
        vs_iothread_remove(v->m->io, v->notify_fds[i]->handler);
        close(v->notify_fds[i]->fd);
        free(v->notify_fds[i]);
    }
    free(v->notify_fds);
    if (v->kick_handler)
        vs_iothread_remove(v->m->io, v->kick_handler);
    if (v->destroy)
        v->destroy(v->owner);
    virtio_mmio_destroy(v->mmio);
    virtio_pci_destroy(v->pci);
    vs_notifier_destroy(&v->kick);
    free(v);
}

VsStatus vs_vdev_attach(VsMachine *m, const char *name, VirtioDevice *dev,
                        void (*destroy)(void *owner), void *owner, VsError *err)
{
    VsVdev *v = calloc(1, sizeof(*v));
    VsVdev **list = realloc(m->vdevs, (m->nvdevs + 1) * sizeof(*list));
    if (list)
        m->vdevs = list;
    if (!v || !list) {
        free(v);
        destroy(owner);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating %s", name);
    }
    v->m = m;
    v->name = name;
    v->dev = dev;
    v->destroy = destroy;
    v->owner = owner;
    v->kick.fd = -1;
    if (dev->num_queues > 64) {
        vdev_free(v);
        return vs_error_set(err, VS_ERR_INVALID, "%s has more than 64 queues", name);
    }
    if (!vs_notifier_init(&v->kick)) {
        vdev_free(v);
        return vs_error_set(err, VS_ERR_IO, "cannot create an eventfd for %s", name);
    }
    v->mmio = virtio_mmio_create_notify(dev, vdev_kick, v);
    if (!v->mmio) {
        vdev_free(v);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating the transport of %s", name);
    }
    v->kick_handler = vs_iothread_add_fd(m->io, v->kick.fd, EPOLLIN, vdev_kick_ready, v, err);
    if (!v->kick_handler) {
        vdev_free(v);
        return err->status;
    }
    m->vdevs[m->nvdevs++] = v;
    return VS_OK;
}

VsStatus vs_vdev_map(VsMachine *m, unsigned i, uint64_t base, unsigned irq,
                     void (*set_irq)(void *opaque, int level), void *irq_opaque, VsError *err)
{
    return vs_vdev_map_size(m, i, base, VIRTIO_MMIO_SIZE, irq, set_irq, irq_opaque, err);
}

VsStatus vs_vdev_map_size(VsMachine *m, unsigned i, uint64_t base, uint64_t size, unsigned irq,
                          void (*set_irq)(void *opaque, int level), void *irq_opaque, VsError *err)
{
    VsVdev *v = m->vdevs[i];
    if (!physmem_add_mmio(&m->mem, v->name, base, size, &virtio_mmio_ops, v->mmio))
        return vs_error_set(err, VS_ERR_NOMEM, "cannot map %s at 0x%" PRIx64, v->name, base);
    virtio_dev_set_irq(v->dev, set_irq, irq_opaque);
    v->mapped = true;
    v->base = base;
    v->irq = irq;
    return VS_OK;
}

VsStatus vs_vdev_map_pci(VsMachine *m, unsigned i, PciHost *host, unsigned slot, VsError *err)
{
    VsVdev *v = m->vdevs[i];
    v->pci = virtio_pci_create(v->dev, vdev_kick, v);
    if (!v->pci)
        return vs_error_set(err, VS_ERR_NOMEM, "cannot create the PCI transport of %s", v->name);
    if (!pci_host_attach(host, &v->pci->pci, slot))
        return vs_error_set(err, VS_ERR_INVALID, "PCI slot %u is taken (%s)", slot, v->name);
    v->mapped = true;
    v->irq = slot;
    return VS_OK;
}

void vs_vdevs_reset(VsMachine *m)
{
    for (unsigned i = 0; i < m->nvdevs; i++) {
        if (m->vdevs[i]->pci)
            virtio_pci_reset(m->vdevs[i]->pci);
        else
            virtio_mmio_reset(m->vdevs[i]->mmio);
    }
}

void vs_vdevs_destroy(VsMachine *m)
{
    for (unsigned i = m->nvdevs; i-- > 0;)
        vdev_free(m->vdevs[i]);
    free(m->vdevs);
    m->vdevs = NULL;
    m->nvdevs = 0;
    vs_iothread_destroy(m->io);
    m->io = NULL;
}
