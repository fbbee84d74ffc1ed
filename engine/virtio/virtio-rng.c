/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio 1.2 section 5.4): one request queue; the device fills each
 * device-writable buffer from the host's getrandom(). No feature bits, no config space.
 * A request may be filled partly (5.4.6.1 lets the device write fewer bytes than offered);
 * we write at most RNG_MAX_PER_REQUEST per request so one huge buffer cannot keep the
 * I/O thread busy.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "virtio/vdev.h"

#define RNG_MAX_PER_REQUEST (64 * 1024)
/* Requests served per turn of the I/O thread; then the other devices get their turn. */
#define RNG_BUDGET 64

typedef struct VirtioRng {
    VirtioDevice dev;
    VsMachine *m;
    uint64_t bytes; /* statistics */
} VirtioRng;

static size_t fill_random(void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom((uint8_t *)buf + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        done += (size_t)n;
    }
    return done;
}

static void rng_queue_notify(VirtioDevice *dev, unsigned queue)
{
    VirtioRng *r = dev->opaque;
    VirtqElem *e = malloc(sizeof(*e));
    if (!e)
        return;
    for (unsigned budget = RNG_BUDGET;; budget--) {
        if (!budget) {
            vs_vdev_requeue(r->m, dev, queue);
            break;
        }
        virtio_dev_lock(dev);
        uint64_t epoch = virtio_dev_epoch(dev);
        int got = virtio_dev_pop(dev, queue, e);
        if (got <= 0) {
            virtio_dev_unlock(dev);
            break;
        }
        uint32_t written = 0;
        struct iovec *in = virtq_elem_in(e);
        for (unsigned i = 0; i < e->in_num && written < RNG_MAX_PER_REQUEST; i++) {
            size_t want = in[i].iov_len;
            if (want > RNG_MAX_PER_REQUEST - written)
                want = RNG_MAX_PER_REQUEST - written;
            size_t n = fill_random(in[i].iov_base, want);
            written += (uint32_t)n;
            if (n < want)
                break;
        }
        /* A request with no writable buffer is used with 0 bytes (nothing to fill). */
        virtio_dev_push(dev, queue, e, written, epoch);
        r->bytes += written;
        virtio_dev_unlock(dev);
        virtio_notify_used(dev, queue);
    }
    free(e);
}

static const VirtioDeviceOps rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .caps = VIRTIO_DEV_CAP_EVENT_IDX | VIRTIO_DEV_CAP_INDIRECT_DESC,
    .num_queues = 1,
    .queue_max_size = 64,
    .queue_notify = rng_queue_notify,
};

static void rng_destroy(void *owner)
{
    VirtioRng *r = owner;
    virtio_dev_destroy(&r->dev);
    free(r);
}

VsStatus virtio_rng_create(VsMachine *m, VsError *err)
{
    VirtioRng *r = calloc(1, sizeof(*r));
    if (!r)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating virtio-rng");
    r->m = m;
    if (!virtio_dev_init(&r->dev, &rng_ops, &m->mem, r)) {
        free(r);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot create virtio-rng");
    }
    return vs_vdev_attach(m, "virtio-rng", &r->dev, rng_destroy, r, err);
}
