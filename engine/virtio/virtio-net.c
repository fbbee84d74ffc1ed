/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2 section 5.1): one receiveq/transmitq pair on a network back end
 * (net/net.h: user networking on libslirp, or a TAP interface).
 *
 * Features offered: VIRTIO_NET_F_MAC (the configured MAC, else 52:54:00:12:34:56 + index),
 * VIRTIO_NET_F_STATUS (link always up), VIRTIO_NET_F_MRG_RXBUF (Linux's default receive
 * path: small buffers, a packet may span several) and the two checksum offloads, which
 * spare a slow guest CPU the checksum loops: VIRTIO_NET_F_CSUM (the guest may leave a
 * TCP/UDP checksum to us: finished here before the frame leaves, so back ends always get
 * complete frames) and VIRTIO_NET_F_GUEST_CSUM (a received frame whose TCP/UDP checksum
 * we verified is marked DATA_VALID; anything else goes up unmarked). No segmentation
 * offloads, no control queue, no multiqueue.
 *
 * Every packet is preceded by the 12-byte struct virtio_net_hdr (VERSION_1 always has
 * num_buffers). Transmit: the header is read and the frame after it sent on; a chain
 * shorter than the header plus an Ethernet header, longer than NET_FRAME_MAX, or asking
 * for segmentation offload (not offered), or with a checksum position outside the frame is
 * dropped and counted, and the chain returned used. Receive: the header (flags 0, GSO_NONE,
 * num_buffers) and the frame are written into one chain, or with MRG_RXBUF into as many chains as
 * it takes, every chain but the last filled completely, all published with a single used.idx update
 * (5.1.6.4: the driver must see all of a packet's buffers together). Without MRG_RXBUF a frame that
 * does not fit the chain is dropped and the chain stays available (5.1.6.3.2: one descriptor chain
 * per packet). A mergeable buffer shorter than the header breaks a driver MUST (5.1.6.3.1) and sets
 * DEVICE_NEEDS_RESET.
 *
 * Threads: everything runs on the I/O thread (kicks, back-end frames). The transmit loop
 * drops the device lock before handing a frame to the back end, because the back end may
 * answer at once (slirp replies to ARP and DHCP inside slirp_input) through the receive
 * path.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "net/checksum.h"
#include "net/net.h"
#include "virtio/vdev.h"

#define VIRTIO_NET_F_CSUM           0
#define VIRTIO_NET_F_GUEST_CSUM     1
#define VIRTIO_NET_F_MAC            5
#define VIRTIO_NET_F_MRG_RXBUF      15
#define VIRTIO_NET_F_STATUS         16

#define VIRTIO_NET_S_LINK_UP        1

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_ECN      0x80

#define NET_RX                      0
#define NET_TX                      1
#define NET_QUEUE_SIZE              256
#define NET_HDR_LEN                 12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define NET_CONFIG_SIZE             10 /* mac[6], status, max_virtqueue_pairs */
/* Transmit chains handled per wake-up before giving other devices a turn. */
#define NET_TX_BUDGET 256

typedef struct VirtioNet {
    VirtioDevice dev;
    VsMachine *m;
    NetBackend *be;
    uint8_t mac[6];
    VsNotifier tx_more; /* the transmit budget ran out: continue on the next turn */
    VsIoHandler *tx_more_handler;
    VirtqElem *rx_elem[2]; /* the packet's first chain (its header), the current one */
    VirtqElem *tx_elem;
    uint8_t tx_buf[NET_FRAME_MAX];
    /* Counters (I/O thread). */
    uint64_t tx_bad, rx_too_big;
} VirtioNet;

/* ---- Receive ---- */

/*
 * Copy one frame into the guest's receive buffers. NetPeer.receive: 1 delivered, 0 no
 * room now, -1 dropped.
 */
static int net_receive(void *opaque, const uint8_t *frame, size_t len)
{
    VirtioNet *n = opaque;
    VirtioDevice *dev = &n->dev;
    if (!virtio_dev_running(dev))
        return -1;
    bool mergeable = dev->driver_features & (1ull << VIRTIO_NET_F_MRG_RXBUF);
    uint8_t hdr[NET_HDR_LEN] = { 0 }; /* flags 0, GSO_NONE, num_buffers below */
    size_t total = NET_HDR_LEN + len;
    /* 5.1.6.4.2: flags stay 0 without GUEST_CSUM. */
    if ((dev->driver_features & (1ull << VIRTIO_NET_F_GUEST_CSUM)) && net_csum_l4_valid(frame, len))
        hdr[0] = VIRTIO_NET_HDR_F_DATA_VALID;

    virtio_dev_lock(dev);
    uint64_t epoch = virtio_dev_epoch(dev);
    unsigned used = 0;          /* chains popped for this frame */
    size_t done = 0;            /* bytes of header + frame placed */
    uint32_t first_written = 0; /* bytes in the first chain, filled in last */
    int result;
    while (done < total) {
        VirtqElem *e = n->rx_elem[used ? 1 : 0];
        int r = virtio_dev_pop(dev, NET_RX, e);
        if (r < 0) { /* guest error: the device is marked NEEDS_RESET already */
            result = -1;
            goto out;
        }
        if (r == 0) {
            /* Out of buffers: wait for more, unless a whole ring was not enough. */
            result = used >= dev->queues[NET_RX].size ? -1 : 0;
            if (result < 0)
                n->rx_too_big++;
            goto rewind;
        }
        used++;
        if (mergeable && e->in_len < NET_HDR_LEN) {
            /* 5.1.6.3.1: with MRG_RXBUF every buffer holds at least the header. */
            virtio_set_needs_reset(dev);
            result = -1;
            goto out;
        }
        size_t off = 0;
        if (used == 1) /* the first chain starts with the header */
            off = iov_from_buf(virtq_elem_in(e), e->in_num, 0, hdr, NET_HDR_LEN);
        done += off;
        if (done >= NET_HDR_LEN) {
            size_t f = done - NET_HDR_LEN;
            size_t c = iov_from_buf(virtq_elem_in(e), e->in_num, off, frame + f, len - f);
            off += c;
            done += c;
        }
        if (!mergeable && done < total) {
            /* One chain per packet without MRG_RXBUF (5.1.6.3.2): this frame cannot go
             * into buffers this small. Drop it; the chain stays for the next frame. */
            n->rx_too_big++;
            result = -1;
            goto rewind;
        }
        if (used == 1)
            first_written = (uint32_t)off;
        else
            virtio_dev_fill(dev, NET_RX, e, (uint32_t)off, used - 1, epoch);
    }
    /* num_buffers in the header, the first chain's used element, then publish them all. */
    uint8_t nb[2] = { (uint8_t)used, (uint8_t)(used >> 8) };
    iov_from_buf(virtq_elem_in(n->rx_elem[0]), n->rx_elem[0]->in_num, 10, nb, 2);
    virtio_dev_fill(dev, NET_RX, n->rx_elem[0], first_written, 0, epoch);
    virtio_dev_flush(dev, NET_RX, used, epoch);
    virtio_dev_unlock(dev);
    virtio_notify_used(dev, NET_RX);
    return 1;
rewind:
    virtio_dev_unpop(dev, NET_RX, used, epoch);
out:
    virtio_dev_unlock(dev);
    return result;
}

/* ---- Transmit ---- */

/* Read and check one transmit chain: the frame's length in n->tx_buf, or 0 to drop it. */
static size_t tx_frame(VirtioNet *n, VirtqElem *e)
{
    if (e->out_len < NET_HDR_LEN + NET_FRAME_MIN || e->out_len > NET_HDR_LEN + NET_FRAME_MAX)
        return 0;
    uint8_t hdr[NET_HDR_LEN];
    iov_to_buf(virtq_elem_out(e), e->out_num, 0, hdr, NET_HDR_LEN);
    /* Segmentation offload was not offered: such a packet cannot be sent as it is. */
    if ((hdr[1] & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE)
        return 0;
    size_t len = (size_t)e->out_len - NET_HDR_LEN;
    len = iov_to_buf(virtq_elem_out(e), e->out_num, NET_HDR_LEN, n->tx_buf, len);
    /* A checksum left to us (only meaningful once CSUM was negotiated; other flag bits
     * are ignored, 5.1.6.2.2). The positions come from the guest: checked. */
    if ((n->dev.driver_features & (1ull << VIRTIO_NET_F_CSUM)) &&
        (hdr[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
        size_t start = (size_t)hdr[6] | (size_t)hdr[7] << 8;
        size_t offset = (size_t)hdr[8] | (size_t)hdr[9] << 8;
        if (!net_csum_finish(n->tx_buf, len, start, offset))
            return 0;
    }
    return len;
}

static void net_tx(VirtioNet *n)
{
    VirtioDevice *dev = &n->dev;
    unsigned budget = NET_TX_BUDGET;
    bool pushed = false, sent = false;
    for (;;) {
        virtio_dev_lock(dev);
        uint64_t epoch = virtio_dev_epoch(dev);
        int r = virtio_dev_pop(dev, NET_TX, n->tx_elem);
        if (r <= 0) {
            virtio_dev_unlock(dev);
            break;
        }
        size_t len = tx_frame(n, n->tx_elem);
        if (!len)
            n->tx_bad++;
        pushed |= virtio_dev_push(dev, NET_TX, n->tx_elem, 0, epoch);
        virtio_dev_unlock(dev);
        if (len) {
            net_backend_send(n->be, n->tx_buf, len);
            sent = true;
        }
        if (--budget == 0) {
            vs_notifier_signal(&n->tx_more);
            break;
        }
    }
    if (sent)
        net_backend_flush(n->be);
    /* Only after a push: without EVENT_IDX a notification must mean something was used. */
    if (pushed)
        virtio_notify_used(dev, NET_TX);
}

static void net_tx_more(void *opaque, uint32_t events)
{
    VirtioNet *n = opaque;
    (void)events;
    vs_notifier_clear(&n->tx_more);
    net_tx(n);
}

static void net_queue_notify(VirtioDevice *dev, unsigned queue)
{
    VirtioNet *n = dev->opaque;
    if (queue == NET_TX)
        net_tx(n);
    else if (queue == NET_RX)
        net_backend_rx_ready(n->be); /* new buffers: frames waiting can go in */
}

/* ---- Config, reset ---- */

static void net_read_config(VirtioDevice *dev, uint32_t offset, void *buf, uint32_t len)
{
    VirtioNet *n = dev->opaque;
    uint8_t cfg[NET_CONFIG_SIZE] = { 0 };
    memcpy(cfg, n->mac, 6);
    cfg[6] = VIRTIO_NET_S_LINK_UP; /* status, le16 */
    cfg[8] = 1;                    /* max_virtqueue_pairs (meaningful only with MQ) */
    memcpy(buf, cfg + offset, len);
}

static void reset_on_io(void *arg)
{
    VirtioNet *n = arg;
    net_backend_purge(n->be);
    vs_notifier_clear(&n->tx_more);
}

static void net_reset(VirtioDevice *dev)
{
    VirtioNet *n = dev->opaque;
    /* Frames queued for the old driver go; nothing is in flight beyond the I/O thread. */
    vs_iothread_run_sync(n->m->io, reset_on_io, n);
}

static const VirtioDeviceOps net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .features = (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
                (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_MRG_RXBUF) |
                (1ull << VIRTIO_NET_F_STATUS),
    .caps = VIRTIO_DEV_CAP_EVENT_IDX | VIRTIO_DEV_CAP_INDIRECT_DESC,
    .num_queues = 2,
    .queue_max_size = NET_QUEUE_SIZE,
    .config_size = NET_CONFIG_SIZE,
    .read_config = net_read_config,
    .queue_notify = net_queue_notify,
    .reset = net_reset,
};

static void net_destroy(void *owner)
{
    VirtioNet *n = owner;
    /* What the guest got wrong, once, instead of a log line per frame. */
    if (n->tx_bad || n->rx_too_big)
        vs_log("virtio-net: dropped %llu malformed transmit chains and %llu received frames "
               "that did not fit the guest's buffers",
               (unsigned long long)n->tx_bad, (unsigned long long)n->rx_too_big);
    if (n->tx_more_handler)
        vs_iothread_remove(n->m->io, n->tx_more_handler);
    vs_notifier_destroy(&n->tx_more);
    net_backend_destroy(n->be);
    virtio_dev_destroy(&n->dev);
    free(n->rx_elem[0]);
    free(n->rx_elem[1]);
    free(n->tx_elem);
    free(n);
}

VsStatus virtio_net_create(VsMachine *m, const VsNetConfig *cfg, unsigned index, VsError *err)
{
    if (index > 0xff - 0x56)
        return vs_error_set(err, VS_ERR_INVALID, "too many network devices");
    VirtioNet *n = calloc(1, sizeof(*n));
    if (!n)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating virtio-net");
    n->m = m;
    n->tx_more.fd = -1;
    if (cfg->mac_set) {
        memcpy(n->mac, cfg->mac, 6);
    } else {
        static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
        memcpy(n->mac, base, 6);
        n->mac[5] = (uint8_t)(0x56 + index);
    }
    n->rx_elem[0] = malloc(sizeof(VirtqElem));
    n->rx_elem[1] = malloc(sizeof(VirtqElem));
    n->tx_elem = malloc(sizeof(VirtqElem));
    if (!n->rx_elem[0] || !n->rx_elem[1] || !n->tx_elem ||
        !virtio_dev_init(&n->dev, &net_ops, &m->mem, n)) {
        free(n->rx_elem[0]);
        free(n->rx_elem[1]);
        free(n->tx_elem);
        free(n);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot create virtio-net");
    }
    VsStatus st = net_backend_create(m, cfg, index, &n->be, err);
    if (st != VS_OK) {
        net_destroy(n);
        return st;
    }
    if (!vs_notifier_init(&n->tx_more)) {
        net_destroy(n);
        return vs_error_set(err, VS_ERR_IO, "cannot create an eventfd for virtio-net");
    }
    n->tx_more_handler = vs_iothread_add_fd(m->io, n->tx_more.fd, EPOLLIN, net_tx_more, n, err);
    if (!n->tx_more_handler) {
        net_destroy(n);
        return err->status;
    }
    NetPeer peer = { .opaque = n, .receive = net_receive };
    net_backend_set_peer(n->be, &peer);
    return vs_vdev_attach(m, "virtio-net", &n->dev, net_destroy, n, err);
}
