/* SPDX-License-Identifier: MIT */
/*
 * virtio-9p (virtio 1.2 section 5.11): a host directory shared with the guest over
 * 9P2000.L, served by engine/fs/p9.c.
 *
 * One request queue. Each request's device-readable buffers hold one T-message and its
 * device-writable buffers receive the R-message; the server's reply is shortened to the
 * writable space (Tread/Treaddir data) or becomes Rlerror(EMSGSIZE). A request with less
 * writable space than an Rlerror (11 bytes) cannot be answered at all: the device is
 * marked DEVICE_NEEDS_RESET. Feature VIRTIO_9P_MOUNT_TAG with config {le16 tag_len;
 * u8 tag[tag_len]} (no NUL).
 *
 * Host file operations can block (a slow disk, a network filesystem under the share), so
 * they do not run on the I/O thread: a kick only wakes this device's worker thread, which
 * pops, serves and pushes requests in order (so Tflush never overtakes the request it
 * names). A reset waits until the worker is between requests, then drops the 9P session
 * (every fid), so no guest memory is written after the reset returns; completions popped
 * before it carry the old epoch and are discarded by virtio_dev_push.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/p9.h"
#include "virtio/vdev.h"

#define VIRTIO_9P_MOUNT_TAG 0
#define P9_TAG_MAX          255
#define P9_QUEUE_SIZE       128

typedef struct Virtio9p {
    VirtioDevice dev;
    VsMachine *m;
    P9Server *srv;
    uint8_t config[2 + P9_TAG_MAX];
    uint32_t config_size;

    pthread_t thread;
    bool thread_started;
    bool dev_inited;
    pthread_mutex_t wlock;
    pthread_cond_t wake; /* kicked or stop */
    pthread_cond_t idle; /* busy went false */
    VirtioDeviceOps *ops;
    bool kicked, busy, stop;

    /* Worker only. */
    VirtqElem *elem;
    uint8_t *req, *reply;
    uint64_t requests; /* statistics */
} Virtio9p;

/* Worker: serve every available request. */
static void p9_serve_queue(Virtio9p *v)
{
    VirtioDevice *dev = &v->dev;
    VirtqElem *e = v->elem;
    for (;;) {
        virtio_dev_lock(dev);
        uint64_t epoch = virtio_dev_epoch(dev);
        int got = virtio_dev_pop(dev, 0, e);
        virtio_dev_unlock(dev);
        if (got <= 0)
            return;
        size_t len = p9_handle_iov(v->srv, virtq_elem_out(e), e->out_num, virtq_elem_in(e),
                                   e->in_num, v->req, v->reply);
        if (len == 0) {
            virtio_dev_guest_error(dev);
            virtio_set_needs_reset(dev);
            return;
        }
        v->requests++;
        virtio_dev_push(dev, 0, e, (uint32_t)len, epoch);
        virtio_notify_used(dev, 0);
    }
}

static void *p9_worker(void *opaque)
{
    Virtio9p *v = opaque;
    pthread_mutex_lock(&v->wlock);
    while (!v->stop) {
        if (!v->kicked) {
            pthread_cond_wait(&v->wake, &v->wlock);
            continue;
        }
        v->kicked = false;
        v->busy = true;
        pthread_mutex_unlock(&v->wlock);
        p9_serve_queue(v);
        pthread_mutex_lock(&v->wlock);
        v->busy = false;
        pthread_cond_broadcast(&v->idle);
    }
    pthread_mutex_unlock(&v->wlock);
    return NULL;
}

/* I/O thread: hand the kick to the worker; never waits for host file operations. */
static void p9_queue_notify(VirtioDevice *dev, unsigned queue)
{
    Virtio9p *v = dev->opaque;
    (void)queue;
    pthread_mutex_lock(&v->wlock);
    v->kicked = true;
    pthread_cond_signal(&v->wake);
    pthread_mutex_unlock(&v->wlock);
}

static void p9_reset(VirtioDevice *dev)
{
    Virtio9p *v = dev->opaque;
    pthread_mutex_lock(&v->wlock);
    v->kicked = false;
    /* The queue is disabled already, so the worker finishes at most the request it holds. */
    while (v->busy)
        pthread_cond_wait(&v->idle, &v->wlock);
    p9_server_reset(v->srv);
    pthread_mutex_unlock(&v->wlock);
}

static void p9_read_config(VirtioDevice *dev, uint32_t offset, void *buf, uint32_t len)
{
    Virtio9p *v = dev->opaque;
    memcpy(buf, v->config + offset, len);
}

static void p9_destroy(void *owner)
{
    Virtio9p *v = owner;
    if (v->thread_started) {
        pthread_mutex_lock(&v->wlock);
        v->stop = true;
        pthread_cond_signal(&v->wake);
        pthread_mutex_unlock(&v->wlock);
        pthread_join(v->thread, NULL);
    }
    if (v->dev_inited)
        virtio_dev_destroy(&v->dev);
    p9_server_free(v->srv);
    pthread_cond_destroy(&v->wake);
    pthread_cond_destroy(&v->idle);
    pthread_mutex_destroy(&v->wlock);
    free(v->elem);
    free(v->req);
    free(v->reply);
    free(v->ops);
    free(v);
}

static const VirtioDeviceOps p9_ops_template = {
    .name = "virtio-9p",
    .device_id = VIRTIO_ID_9P,
    .features = 1ull << VIRTIO_9P_MOUNT_TAG,
    .caps = VIRTIO_DEV_CAP_EVENT_IDX | VIRTIO_DEV_CAP_INDIRECT_DESC,
    .num_queues = 1,
    .queue_max_size = P9_QUEUE_SIZE,
    .read_config = p9_read_config,
    .queue_notify = p9_queue_notify,
    .reset = p9_reset,
};

VsStatus virtio_9p_create(VsMachine *m, const VsShareConfig *share, VsError *err)
{
    size_t tag_len = share->tag ? strlen(share->tag) : 0;
    if (!share->path || !tag_len || tag_len > P9_TAG_MAX)
        return vs_error_set(err, VS_ERR_INVALID,
                            "a shared folder needs a path and a tag of 1 to %d characters",
                            P9_TAG_MAX);
    Virtio9p *v = calloc(1, sizeof(*v));
    /* Each device has its own config size, so its own copy of the ops. */
    VirtioDeviceOps *ops = malloc(sizeof(*ops));
    if (v) {
        v->elem = malloc(sizeof(*v->elem));
        v->req = malloc(P9_MAX_MSIZE);
        v->reply = malloc(P9_MAX_MSIZE);
    }
    if (!v || !ops || !v->elem || !v->req || !v->reply) {
        if (v) {
            free(v->elem);
            free(v->req);
            free(v->reply);
        }
        free(v);
        free(ops);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating virtio-9p");
    }
    char msg[VS_ERROR_MSG_MAX];
    int e =
        p9_server_new(&v->srv, share->path, share->readonly ? P9_READONLY : 0, msg, sizeof(msg));
    if (e < 0) {
        free(v->elem);
        free(v->req);
        free(v->reply);
        free(v);
        free(ops);
        return vs_error_set(err, e == -ENOMEM ? VS_ERR_NOMEM : VS_ERR_INVALID, "%s", msg);
    }
    v->m = m;
    v->config[0] = (uint8_t)tag_len;
    v->config[1] = (uint8_t)(tag_len >> 8);
    memcpy(v->config + 2, share->tag, tag_len);
    *ops = p9_ops_template;
    ops->config_size = (uint32_t)(2 + tag_len);
    pthread_mutex_init(&v->wlock, NULL);
    pthread_cond_init(&v->wake, NULL);
    pthread_cond_init(&v->idle, NULL);
    v->ops = ops; /* freed by p9_destroy */
    if (!virtio_dev_init(&v->dev, ops, &m->mem, v)) {
        p9_destroy(v);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot create virtio-9p");
    }
    v->dev_inited = true;
    if (pthread_create(&v->thread, m->helper_attr, p9_worker, v) != 0) {
        p9_destroy(v);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot start the virtio-9p worker thread");
    }
    v->thread_started = true;
    return vs_vdev_attach(m, "virtio-9p", &v->dev, p9_destroy, v, err);
}
