/* SPDX-License-Identifier: MIT */
/*
 * Network back ends: what carries a virtio-net device's Ethernet frames to the outside.
 *
 *   device (virtio-net)  --net_backend_send()-->      back end (slirp, tap)  --> outside
 *   device  <--peer.receive()--  net_backend_deliver() <-- back end          <-- outside
 *
 * Everything here runs on the I/O thread: the device's queue handlers, the back end's fd
 * callbacks and timers, and the delivery of frames. A frame is a complete Ethernet frame
 * without the virtio-net header.
 *
 * Flow control. The guest may have no receive buffers posted when a frame arrives. The
 * device's receive callback then says "not now" and the frame waits in a bounded queue
 * here (NET_QUEUE_FRAMES frames, NET_QUEUE_BYTES bytes); once the guest posts buffers the
 * device calls net_backend_rx_ready() and the queue drains in order. Beyond the bound new
 * frames are dropped and counted: a guest that never reads must not make the host buffer
 * without limit (TCP retransmits what was lost). A back end that can hold frames itself
 * (TAP: the kernel's queue) asks net_backend_can_deliver() before reading and stops
 * reading while the queue is full; ops->rx_resume tells it to start again.
 */
#ifndef VESSEL_NET_H
#define VESSEL_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/iothread.h"
#include "core/machine.h"

/* Largest frame either direction carries: a 64 KiB IP packet, an Ethernet header with a
 * VLAN tag (QEMU's NET_BUFSIZE-style bound; virtio-net drops longer transmit frames). */
#define NET_FRAME_MAX    65550
#define NET_FRAME_MIN    14 /* an Ethernet header */

#define NET_QUEUE_FRAMES 1024
#define NET_QUEUE_BYTES  (2u * 1024 * 1024)

typedef struct NetBackend NetBackend;

/* The device side of a back end. */
typedef struct NetPeer {
    void *opaque;
    /*
     * Hand one frame to the guest. Returns 1 when it was delivered, 0 when the guest has
     * no room for it now (it will be offered again after net_backend_rx_ready()), -1 when
     * it can never be delivered (the device is not running, or it does not fit even in
     * every buffer the guest could post): the frame is dropped.
     */
    int (*receive)(void *opaque, const uint8_t *frame, size_t len);
} NetPeer;

typedef struct NetBackendOps {
    const char *name; /* "user", "tap" */
    /* One frame from the guest to the outside. Never blocks; drops when it cannot send. */
    void (*send)(NetBackend *be, const uint8_t *frame, size_t len);
    /* The device finished a batch of sends (net_backend_flush). NULL: nothing to do. */
    void (*flush)(NetBackend *be);
    /* The receive queue has room again (after it drained; also when it never filled: the
     * back end keeps track of whether it had stopped reading). NULL: nothing to do. */
    void (*rx_resume)(NetBackend *be);
    /* Free the back end's own state (on the I/O thread). */
    void (*destroy)(NetBackend *be);
} NetBackendOps;

typedef struct NetPacket NetPacket;

struct NetBackend {
    const NetBackendOps *ops;
    VsMachine *m;
    NetPeer peer;
    /* Frames waiting for guest buffers, oldest first. */
    NetPacket *head, *tail;
    unsigned queued;
    size_t queued_bytes;
    /* Counters (I/O thread). */
    uint64_t rx_frames, rx_dropped, tx_frames, tx_dropped;
};

/* Build the back end cfg asks for (mode user or bridge), for the `index`-th network. The
 * peer is set later with net_backend_set_peer(); frames before that are dropped. */
VsStatus net_backend_create(VsMachine *m, const VsNetConfig *cfg, unsigned index, NetBackend **out,
                            VsError *err);
/* Stop it and free it (runs the teardown on the I/O thread). NULL is ignored. */
void net_backend_destroy(NetBackend *be);
void net_backend_set_peer(NetBackend *be, const NetPeer *peer);

/* Device -> outside. After a batch of sends the device calls net_backend_flush(), so a
 * back end can do per-batch work once (slirp: poll its sockets, re-arm its timers). */
void net_backend_send(NetBackend *be, const uint8_t *frame, size_t len);
void net_backend_flush(NetBackend *be);

/* Back end -> device, with queueing as described above. */
void net_backend_deliver(NetBackend *be, const uint8_t *frame, size_t len);
/* Is there room in the queue (so a frame read now would not be dropped)? */
bool net_backend_can_deliver(const NetBackend *be);
/* The guest posted receive buffers: drain the queue, then let the back end read again. */
void net_backend_rx_ready(NetBackend *be);
/* Drop every queued frame (device reset). */
void net_backend_purge(NetBackend *be);

/* Shared set-up for the back ends (net.c): the generic part of a NetBackend. */
void net_backend_init(NetBackend *be, const NetBackendOps *ops, VsMachine *m);

/* The two back ends. */
VsStatus net_slirp_create(VsMachine *m, const VsNetConfig *cfg, NetBackend **out, VsError *err);
VsStatus net_tap_create(VsMachine *m, const VsNetConfig *cfg, NetBackend **out, VsError *err);

#endif
