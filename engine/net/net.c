/* SPDX-License-Identifier: MIT */
/* Network back ends: the shared part (receive queue, dispatch to the back end types). */
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

struct NetPacket {
    NetPacket *next;
    size_t len;
    uint8_t data[];
};

void net_backend_init(NetBackend *be, const NetBackendOps *ops, VsMachine *m)
{
    memset(be, 0, sizeof(*be));
    be->ops = ops;
    be->m = m;
}

VsStatus net_backend_create(VsMachine *m, const VsNetConfig *cfg, unsigned index, NetBackend **out,
                            VsError *err)
{
    *out = NULL;
    switch (cfg->mode) {
    case VS_NET_USER: return net_slirp_create(m, cfg, out, err);
    case VS_NET_BRIDGE: return net_tap_create(m, cfg, out, err);
    case VS_NET_NONE: break;
    }
    return vs_error_set(err, VS_ERR_INVALID, "network %u has no back end (mode none)", index);
}

static void purge(NetBackend *be)
{
    while (be->head) {
        NetPacket *p = be->head;
        be->head = p->next;
        free(p);
    }
    be->tail = NULL;
    be->queued = 0;
    be->queued_bytes = 0;
}

static void destroy_on_io(void *arg)
{
    NetBackend *be = arg;
    purge(be);
    be->ops->destroy(be);
}

void net_backend_destroy(NetBackend *be)
{
    if (!be)
        return;
    vs_iothread_run_sync(be->m->io, destroy_on_io, be);
}

void net_backend_set_peer(NetBackend *be, const NetPeer *peer)
{
    be->peer = *peer;
}

void net_backend_send(NetBackend *be, const uint8_t *frame, size_t len)
{
    be->tx_frames++;
    be->ops->send(be, frame, len);
}

void net_backend_flush(NetBackend *be)
{
    if (be->ops->flush)
        be->ops->flush(be);
}

bool net_backend_can_deliver(const NetBackend *be)
{
    return be->queued < NET_QUEUE_FRAMES && be->queued_bytes + NET_FRAME_MAX <= NET_QUEUE_BYTES;
}

static void enqueue(NetBackend *be, const uint8_t *frame, size_t len)
{
    if (be->queued >= NET_QUEUE_FRAMES || be->queued_bytes + len > NET_QUEUE_BYTES) {
        be->rx_dropped++;
        return;
    }
    NetPacket *p = malloc(sizeof(*p) + len);
    if (!p) {
        be->rx_dropped++;
        return;
    }
    p->next = NULL;
    p->len = len;
    memcpy(p->data, frame, len);
    if (be->tail)
        be->tail->next = p;
    else
        be->head = p;
    be->tail = p;
    be->queued++;
    be->queued_bytes += len;
}

void net_backend_deliver(NetBackend *be, const uint8_t *frame, size_t len)
{
    be->rx_frames++;
    if (!be->peer.receive || len < NET_FRAME_MIN || len > NET_FRAME_MAX) {
        be->rx_dropped++;
        return;
    }
    /* Keep the order: nothing overtakes a frame already waiting. */
    if (be->head) {
        enqueue(be, frame, len);
        return;
    }
    int r = be->peer.receive(be->peer.opaque, frame, len);
    if (r == 0)
        enqueue(be, frame, len);
    else if (r < 0)
        be->rx_dropped++;
}

void net_backend_rx_ready(NetBackend *be)
{
    while (be->head) {
        NetPacket *p = be->head;
        int r = be->peer.receive ? be->peer.receive(be->peer.opaque, p->data, p->len) : -1;
        if (r == 0)
            break;
        if (r < 0)
            be->rx_dropped++;
        be->head = p->next;
        if (!be->head)
            be->tail = NULL;
        be->queued--;
        be->queued_bytes -= p->len;
        free(p);
    }
    if (net_backend_can_deliver(be) && be->ops->rx_resume)
        be->ops->rx_resume(be);
}

void net_backend_purge(NetBackend *be)
{
    be->rx_dropped += be->queued;
    purge(be);
    if (be->ops->rx_resume)
        be->ops->rx_resume(be);
}
