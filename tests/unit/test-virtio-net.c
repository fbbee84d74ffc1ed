/* SPDX-License-Identifier: MIT */
/*
 * virtio-net's header, transmit and receive paths and the back-end receive queue
 * (engine/virtio/virtio-net.c, engine/net/net.c), driven the way a driver drives them:
 * feature negotiation, queues in guest RAM (the real virtqueue and device core), frames
 * in through the back-end interface.
 *
 * The back end is a fake that records what the device sends; the I/O thread, notifiers
 * and vs_vdev_attach are fakes that run everything on the test's thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/mmu.h"
#include "net/net.h"
#include "virtio/vdev.h"
#include "virtio/virtio-dev.h"
#include "virtio/virtio.h"

#include "check.h"

#define BIT(n)      (1ull << (n))
#define F_MAC       5
#define F_MRG_RXBUF 15
#define F_STATUS    16
#define HDR         12

#define RAM_BASE    0x80000000ull
#define RAM_SIZE    (4ull << 20)
#define QSIZE       256
#define Q_DESC(q)   (RAM_BASE + 0x10000ull * (q))
#define Q_AVAIL(q)  (Q_DESC(q) + 0x1000)
#define Q_USED(q)   (Q_DESC(q) + 0x2000)
#define BUF_AREA    (RAM_BASE + 0x100000ull)

#define RX          0
#define TX          1

/* ---- Fakes: errors, log, I/O thread, notifiers, attach, back ends ---- */

VsStatus vs_error_set(VsError *err, VsStatus status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->status = status;
    return status;
}

void vs_log(const char *fmt, ...)
{
    (void)fmt;
}

struct VsIoHandler {
    VsIoCallback cb;
    void *opaque;
};

static VsIoHandler *g_handlers[8];
static unsigned g_nhandlers;

VsIoHandler *vs_iothread_add_fd(VsIoThread *io, int fd, uint32_t events, VsIoCallback cb,
                                void *opaque, VsError *err)
{
    (void)io, (void)fd, (void)events, (void)err;
    VsIoHandler *h = calloc(1, sizeof(*h));
    h->cb = cb;
    h->opaque = opaque;
    if (g_nhandlers < 8)
        g_handlers[g_nhandlers++] = h;
    return h;
}

void vs_iothread_remove(VsIoThread *io, VsIoHandler *h)
{
    (void)io;
    for (unsigned i = 0; i < g_nhandlers; i++)
        if (g_handlers[i] == h)
            g_handlers[i] = g_handlers[--g_nhandlers];
    free(h);
}

void vs_iothread_run_sync(VsIoThread *io, void (*fn)(void *arg), void *arg)
{
    (void)io;
    fn(arg);
}

static unsigned g_signals;
bool vs_notifier_init(VsNotifier *n)
{
    n->fd = 100;
    return true;
}
void vs_notifier_destroy(VsNotifier *n)
{
    n->fd = -1;
}
void vs_notifier_signal(VsNotifier *n)
{
    (void)n;
    g_signals++;
}
bool vs_notifier_clear(VsNotifier *n)
{
    (void)n;
    bool had = g_signals > 0;
    g_signals = 0;
    return had;
}

static VirtioDevice *g_dev;
static void (*g_destroy)(void *owner);
static void *g_owner;

VsStatus vs_vdev_attach(VsMachine *m, const char *name, VirtioDevice *dev,
                        void (*destroy)(void *owner), void *owner, VsError *err)
{
    (void)m, (void)name, (void)err;
    g_dev = dev;
    g_destroy = destroy;
    g_owner = owner;
    return VS_OK;
}

/* The fake back end: remembers the frames the device sent. */
typedef struct FakeNet {
    NetBackend be;
    unsigned sent;
    size_t last_len;
    uint8_t last[NET_FRAME_MAX];
    unsigned resumes;
    unsigned flushes, sent_at_flush;
} FakeNet;

static FakeNet *g_net;

static void fake_send(NetBackend *be, const uint8_t *frame, size_t len)
{
    FakeNet *f = (FakeNet *)be;
    f->sent++;
    f->last_len = len;
    memcpy(f->last, frame, len);
}
static void fake_flush(NetBackend *be)
{
    FakeNet *f = (FakeNet *)be;
    f->flushes++;
    f->sent_at_flush = f->sent;
}
static void fake_resume(NetBackend *be)
{
    ((FakeNet *)be)->resumes++;
}
static void fake_destroy(NetBackend *be)
{
    free(be);
    g_net = NULL;
}
static const NetBackendOps fake_ops = { .name = "fake",
                                        .send = fake_send,
                                        .flush = fake_flush,
                                        .rx_resume = fake_resume,
                                        .destroy = fake_destroy };

static VsStatus fake_create(VsMachine *m, NetBackend **out)
{
    g_net = calloc(1, sizeof(*g_net));
    net_backend_init(&g_net->be, &fake_ops, m);
    *out = &g_net->be;
    return VS_OK;
}
VsStatus net_slirp_create(VsMachine *m, const VsNetConfig *cfg, NetBackend **out, VsError *err)
{
    (void)cfg, (void)err;
    return fake_create(m, out);
}
VsStatus net_tap_create(VsMachine *m, const VsNetConfig *cfg, NetBackend **out, VsError *err)
{
    (void)cfg, (void)err;
    return fake_create(m, out);
}

/* ---- Guest memory and a minimal driver ---- */

static VsMachine g_m;

static uint8_t *host(uint64_t gpa, uint64_t len)
{
    uint8_t *p = physmem_host_ptr(&g_m.mem, gpa, len, false);
    if (!p) {
        fprintf(stderr, "bad test address 0x%llx\n", (unsigned long long)gpa);
        abort();
    }
    return p;
}
static void put16(uint64_t a, uint16_t v)
{
    memcpy(host(a, 2), &v, 2);
}
static uint16_t get16(uint64_t a)
{
    uint16_t v;
    memcpy(&v, host(a, 2), 2);
    return v;
}
static uint32_t get32(uint64_t a)
{
    uint32_t v;
    memcpy(&v, host(a, 4), 4);
    return v;
}

static uint16_t g_avail[2];       /* the driver's avail idx */
static uint16_t g_next[2];        /* next free descriptor */
static uint16_t g_seen[2];        /* used entries consumed */
static uint64_t g_buf = BUF_AREA; /* buffer allocator */

static uint64_t alloc_buf(uint32_t len)
{
    uint64_t a = g_buf;
    g_buf += (len + 15) & ~15u;
    if (g_buf >= RAM_BASE + RAM_SIZE)
        g_buf = BUF_AREA, a = g_buf, g_buf += (len + 15) & ~15u;
    return a;
}

static void put_desc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint8_t *p = host(Q_DESC(q) + 16ull * i, 16);
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

/* Post a chain of n buffers (all writable for rx, readable for tx); returns its head. */
static uint16_t post(unsigned q, unsigned n, const uint64_t *addr, const uint32_t *len)
{
    uint16_t head = g_next[q];
    for (unsigned i = 0; i < n; i++) {
        uint16_t d = (uint16_t)((head + i) % QSIZE);
        uint16_t flags =
            (uint16_t)((q == RX ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
        put_desc(q, d, addr[i], len[i], flags, (uint16_t)((d + 1) % QSIZE));
    }
    g_next[q] = (uint16_t)((head + n) % QSIZE);
    put16(Q_AVAIL(q) + 4 + 2ull * (g_avail[q] % QSIZE), head);
    g_avail[q]++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    put16(Q_AVAIL(q) + 2, g_avail[q]);
    return head;
}

static uint64_t post_rx(uint32_t len)
{
    uint64_t a = alloc_buf(len);
    memset(host(a, len), 0xee, len);
    post(RX, 1, &a, &len);
    return a;
}

static uint16_t used_idx(unsigned q)
{
    return get16(Q_USED(q) + 2);
}
static uint32_t used_len(unsigned q, uint16_t i)
{
    return get32(Q_USED(q) + 4 + 8ull * (i % QSIZE) + 4);
}
static uint32_t used_id(unsigned q, uint16_t i)
{
    return get32(Q_USED(q) + 4 + 8ull * (i % QSIZE));
}

static void kick(unsigned q)
{
    CHECK(virtio_dev_queue_notify(g_dev, q));
}

static void setup(uint64_t features)
{
    memset(host(RAM_BASE, RAM_SIZE), 0, RAM_SIZE);
    memset(g_avail, 0, sizeof(g_avail));
    memset(g_next, 0, sizeof(g_next));
    memset(g_seen, 0, sizeof(g_seen));
    g_buf = BUF_AREA;
    VsNetConfig cfg = { .mode = VS_NET_USER };
    VsError err = { 0 };
    CHECK_EQ(virtio_net_create(&g_m, &cfg, 1, &err), VS_OK);
    CHECK(g_dev != NULL && g_net != NULL);

    virtio_dev_set_status(g_dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t f = features | BIT(VIRTIO_F_VERSION_1);
    virtio_dev_set_driver_features(g_dev, 0, (uint32_t)f);
    virtio_dev_set_driver_features(g_dev, 1, (uint32_t)(f >> 32));
    virtio_dev_set_status(g_dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                     VIRTIO_STATUS_FEATURES_OK);
    CHECK(virtio_dev_status(g_dev) & VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < 2; q++) {
        VirtQueue *vq = &g_dev->queues[q];
        vq->size = QSIZE;
        vq->desc_addr = Q_DESC(q);
        vq->avail_addr = Q_AVAIL(q);
        vq->used_addr = Q_USED(q);
        CHECK(virtio_dev_queue_set_ready(g_dev, q, true));
    }
    virtio_dev_set_status(g_dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    CHECK(virtio_dev_running(g_dev));
}

static void teardown(void)
{
    g_destroy(g_owner);
    g_dev = NULL;
}

static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        f[i] = (uint8_t)(seed + i * 7);
}

/* ---- Tests ---- */

static void test_config(void)
{
    setup(BIT(F_MAC) | BIT(F_STATUS) | BIT(F_MRG_RXBUF));
    CHECK(virtio_dev_device_features(g_dev, 0) & BIT(F_MAC));
    CHECK(virtio_dev_device_features(g_dev, 0) & BIT(F_MRG_RXBUF));
    CHECK(virtio_dev_device_features(g_dev, 0) & BIT(F_STATUS));
    CHECK_EQ(virtio_dev_device_features(g_dev, 0) & 0x3, 0x3); /* CSUM, GUEST_CSUM */
    CHECK(!(virtio_dev_device_features(g_dev, 0) & 0x7f80));   /* no TSO/UFO either way */
    CHECK(!(virtio_dev_device_features(g_dev, 0) & BIT(17)));  /* no control queue */
    uint8_t cfg[8];
    CHECK(virtio_dev_read_config(g_dev, 0, cfg, 8));
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 }; /* index 1 */
    CHECK(memcmp(cfg, mac, 6) == 0);
    CHECK_EQ(cfg[6] | cfg[7] << 8, 1); /* VIRTIO_NET_S_LINK_UP */
    teardown();

    VsNetConfig c = { .mode = VS_NET_USER, .mac_set = true, .mac = { 2, 1, 2, 3, 4, 5 } };
    VsError err;
    CHECK_EQ(virtio_net_create(&g_m, &c, 0, &err), VS_OK);
    CHECK(virtio_dev_read_config(g_dev, 0, cfg, 6));
    CHECK(memcmp(cfg, c.mac, 6) == 0);
    teardown();
}

static void test_tx(void)
{
    setup(BIT(F_MAC) | BIT(F_MRG_RXBUF));
    /* Header and frame split oddly over three buffers. */
    uint8_t frame[100];
    make_frame(frame, sizeof(frame), 1);
    uint8_t pkt[HDR + 100] = { 0 };
    memcpy(pkt + HDR, frame, 100);
    uint32_t lens[3] = { 5, 40, HDR + 100 - 45 };
    uint64_t addr[3];
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        addr[i] = alloc_buf(lens[i]);
        memcpy(host(addr[i], lens[i]), pkt + off, lens[i]);
        off += lens[i];
    }
    post(TX, 3, addr, lens);
    kick(TX);
    CHECK_EQ(g_net->sent, 1);
    CHECK_EQ(g_net->last_len, 100);
    CHECK(memcmp(g_net->last, frame, 100) == 0);
    CHECK_EQ(used_idx(TX), 1);
    CHECK_EQ(used_len(TX, 0), 0);
    CHECK_EQ(g_net->flushes, 1); /* once per batch, after its frames */
    CHECK_EQ(g_net->sent_at_flush, 1);

    /* Malformed chains: dropped, returned used, counted; the device keeps working. */
    uint32_t l;
    uint64_t a;
    l = 8; /* shorter than the header */
    a = alloc_buf(l);
    post(TX, 1, &a, &l);
    l = HDR + 10; /* no room for an Ethernet header */
    a = alloc_buf(l);
    post(TX, 1, &a, &l);
    l = HDR + NET_FRAME_MAX + 1; /* oversized */
    a = alloc_buf(l);
    post(TX, 1, &a, &l);
    l = HDR + 60; /* asks for TCPv4 segmentation, not offered */
    a = alloc_buf(l);
    memset(host(a, l), 0, l);
    host(a, 2)[1] = 1;
    post(TX, 1, &a, &l);
    l = HDR + NET_FRAME_MAX; /* the largest frame that is accepted */
    a = alloc_buf(l);
    memset(host(a, l), 0x5a, l);
    memset(host(a, HDR), 0, HDR);
    host(a, 1)[0] = 1; /* NEEDS_CSUM without VIRTIO_NET_F_CSUM: ignored */
    post(TX, 1, &a, &l);
    kick(TX);
    CHECK_EQ(used_idx(TX), 6);
    CHECK_EQ(g_net->sent, 2);
    CHECK_EQ(g_net->last_len, NET_FRAME_MAX);
    CHECK_EQ(g_net->last[NET_FRAME_MAX - 1], 0x5a);
    CHECK(!(virtio_dev_status(g_dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
    CHECK_EQ(g_net->be.tx_frames, 2);

    /* A transmit flood is handled in slices: the rest waits for the next turn. */
    g_signals = 0;
    for (int i = 0; i < QSIZE; i++) {
        l = HDR + 60;
        a = alloc_buf(l);
        memset(host(a, l), 0, l);
        post(TX, 1, &a, &l);
    }
    kick(TX);
    CHECK_EQ(g_net->sent, 2 + QSIZE);
    CHECK(g_signals > 0); /* the budget ran out: the device asked for another turn */
    CHECK_EQ(used_idx(TX), 6 + QSIZE);
    teardown();
}

static void test_rx_mergeable(void)
{
    setup(BIT(F_MAC) | BIT(F_MRG_RXBUF));
    uint8_t frame[1400];
    make_frame(frame, sizeof(frame), 9);

    /* No buffers yet: the frame waits in the back end's queue. */
    net_backend_deliver(&g_net->be, frame, 60);
    CHECK_EQ(g_net->be.queued, 1);
    CHECK_EQ(used_idx(RX), 0);
    uint64_t b0 = post_rx(1526);
    kick(RX);
    CHECK_EQ(g_net->be.queued, 0);
    CHECK_EQ(used_idx(RX), 1);
    CHECK_EQ(used_len(RX, 0), HDR + 60);
    uint8_t *h = host(b0, HDR + 60);
    static const uint8_t want_hdr[HDR] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
    CHECK(memcmp(h, want_hdr, HDR) == 0);
    CHECK(memcmp(h + HDR, frame, 60) == 0);
    CHECK_EQ(host(b0 + HDR + 60, 1)[0], 0xee); /* nothing written past the frame */

    /* A frame over three buffers: all full but the last, published together. */
    uint64_t b[3];
    for (int i = 0; i < 3; i++)
        b[i] = post_rx(600);
    net_backend_deliver(&g_net->be, frame, 1400);
    CHECK_EQ(used_idx(RX), 4);
    CHECK_EQ(used_len(RX, 1), 600);
    CHECK_EQ(used_len(RX, 2), 600);
    CHECK_EQ(used_len(RX, 3), HDR + 1400 - 1200);
    CHECK_EQ(get16(b[0] + 10), 3); /* num_buffers */
    uint8_t got[1400];
    memcpy(got, host(b[0] + HDR, 600 - HDR), 600 - HDR);
    memcpy(got + 600 - HDR, host(b[1], 600), 600);
    memcpy(got + 1200 - HDR, host(b[2], 1400 - 1200 + HDR), 1400 - 1200 + HDR);
    CHECK(memcmp(got, frame, 1400) == 0);

    /* Not enough buffers for the next frame: nothing is used, the frame waits (and the
     * one behind it too, in order); more buffers bring both. */
    uint64_t c0 = post_rx(100);
    net_backend_deliver(&g_net->be, frame, 1400);
    net_backend_deliver(&g_net->be, frame + 1, 70);
    CHECK_EQ(used_idx(RX), 4);
    CHECK_EQ(g_net->be.queued, 2);
    for (int i = 0; i < 15; i++)
        post_rx(100);
    post_rx(2048);
    kick(RX);
    CHECK_EQ(g_net->be.queued, 0);
    CHECK_EQ(used_idx(RX), 4 + 15 + 1);
    CHECK_EQ(get16(c0 + 10), 15);
    CHECK_EQ(used_id(RX, 4), 4); /* descriptor 4 (c0's) is used first, then in order */
    CHECK_EQ(used_id(RX, 18), 18);
    CHECK_EQ(used_len(RX, 19), HDR + 70);
    CHECK_EQ(g_net->be.rx_dropped, 0);

    /* A buffer shorter than the header breaks a driver MUST: DEVICE_NEEDS_RESET. */
    post_rx(8);
    net_backend_deliver(&g_net->be, frame, 60); /* into the 2048-byte buffer still there */
    CHECK(!(virtio_dev_status(g_dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
    net_backend_deliver(&g_net->be, frame, 60);
    CHECK(virtio_dev_status(g_dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CHECK_EQ(used_idx(RX), 21);
    teardown();
}

static void test_rx_single(void)
{
    setup(BIT(F_MAC)); /* no MRG_RXBUF: one chain per packet */
    uint8_t frame[1514];
    make_frame(frame, sizeof(frame), 3);
    post_rx(100);
    net_backend_deliver(&g_net->be, frame, 200); /* does not fit: dropped */
    CHECK_EQ(used_idx(RX), 0);
    CHECK_EQ(g_net->be.rx_dropped, 1);
    CHECK_EQ(g_net->be.queued, 0);
    net_backend_deliver(&g_net->be, frame, 80); /* fits the same chain */
    CHECK_EQ(used_idx(RX), 1);
    CHECK_EQ(used_len(RX, 0), HDR + 80);

    /* A chain of several descriptors is still one buffer: header and frame across it. */
    uint32_t lens[2] = { 10, 1600 };
    uint64_t addr[2] = { alloc_buf(10), alloc_buf(1600) };
    post(RX, 2, addr, lens);
    net_backend_deliver(&g_net->be, frame, 1514);
    CHECK_EQ(used_idx(RX), 2);
    CHECK_EQ(used_len(RX, 1), HDR + 1514);
    CHECK_EQ(get16(addr[1]), 1); /* num_buffers, bytes 10-11 of the header */
    CHECK(memcmp(host(addr[1] + 2, 1514), frame, 1514) == 0);
    teardown();
}

static void test_rx_queue_bound_and_reset(void)
{
    setup(BIT(F_MRG_RXBUF));
    uint8_t frame[64];
    make_frame(frame, sizeof(frame), 5);
    for (unsigned i = 0; i < NET_QUEUE_FRAMES + 5; i++)
        net_backend_deliver(&g_net->be, frame, sizeof(frame));
    CHECK_EQ(g_net->be.queued, NET_QUEUE_FRAMES);
    CHECK_EQ(g_net->be.rx_dropped, 5);
    /* Runt and oversized frames from the outside are dropped. */
    net_backend_deliver(&g_net->be, frame, 10);
    CHECK_EQ(g_net->be.rx_dropped, 6);

    /* A reset drops the queue; nothing reaches the old rings afterwards. */
    unsigned resumes = g_net->resumes;
    virtio_dev_reset(g_dev);
    CHECK_EQ(g_net->be.queued, 0);
    CHECK(g_net->resumes > resumes);
    net_backend_deliver(&g_net->be, frame, sizeof(frame)); /* not running: dropped */
    CHECK_EQ(g_net->be.queued, 0);
    CHECK_EQ(used_idx(RX), 0);
    teardown();
}

/* ---- Checksum offloads ---- */

#define F_CSUM       0
#define F_GUEST_CSUM 1

/* An independent RFC 1071 sum for checking the device's work. */
static uint32_t ref_sum(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

/* Ethernet + IPv4 + TCP (or UDP) with `payload` bytes; the transport checksum field holds
 * the pseudo-header sum, as Linux leaves it for the device (CHECKSUM_PARTIAL), or the
 * full checksum when `complete`. Returns the frame length. */
static size_t ipv4_frame(uint8_t *f, unsigned proto, size_t payload, bool complete)
{
    size_t l4 = (proto == 6 ? 20 : 8) + payload;
    memset(f, 0, 14 + 20 + l4);
    f[12] = 0x08, f[13] = 0x00;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + l4) >> 8), ip[3] = (uint8_t)(20 + l4);
    ip[8] = 64, ip[9] = (uint8_t)proto;
    static const uint8_t addrs[8] = { 10, 0, 2, 15, 10, 0, 2, 2 };
    memcpy(ip + 12, addrs, 8);
    uint16_t ipc = (uint16_t)~ref_sum(0, ip, 20);
    ip[10] = (uint8_t)(ipc >> 8), ip[11] = (uint8_t)ipc;
    uint8_t *t = ip + 20;
    t[0] = 0x30, t[1] = 0x39, t[2] = 0x1f, t[3] = 0x90;
    if (proto == 6)
        t[12] = 0x50;
    else
        t[4] = (uint8_t)(l4 >> 8), t[5] = (uint8_t)l4;
    for (size_t i = 0; i < payload; i++)
        t[(proto == 6 ? 20 : 8) + i] = (uint8_t)(i * 13 + 1);
    size_t field = proto == 6 ? 16 : 6;
    uint32_t pseudo = ref_sum(0, addrs, 8) + proto + (uint32_t)l4;
    pseudo = ref_sum(pseudo, NULL, 0); /* fold */
    uint16_t c = complete ? (uint16_t)~ref_sum(pseudo, t, l4) : (uint16_t)pseudo;
    t[field] = (uint8_t)(c >> 8), t[field + 1] = (uint8_t)c;
    return 14 + 20 + l4;
}

static bool ipv4_l4_ok(const uint8_t *f, size_t len)
{
    const uint8_t *ip = f + 14;
    size_t l4 = len - 34;
    uint32_t pseudo = ref_sum(0, ip + 12, 8) + ip[9] + (uint32_t)l4;
    return ref_sum(pseudo, ip + 20, l4) == 0xffff;
}

static void send_tx(const uint8_t *hdr, const uint8_t *frame, size_t len)
{
    uint32_t l[2] = { HDR, (uint32_t)len };
    uint64_t a[2] = { alloc_buf(HDR), alloc_buf((uint32_t)len) };
    memcpy(host(a[0], HDR), hdr, HDR);
    memcpy(host(a[1], len), frame, len);
    post(TX, 2, a, l);
    kick(TX);
}

static void test_tx_csum(void)
{
    setup(BIT(F_MRG_RXBUF) | BIT(F_CSUM));
    uint8_t f[2048];
    for (unsigned proto = 6; proto <= 17; proto += 11) {
        size_t len = ipv4_frame(f, proto, 1001, false); /* odd payload */
        CHECK(!ipv4_l4_ok(f, len));
        uint8_t hdr[HDR] = { 1 }; /* NEEDS_CSUM */
        hdr[6] = 34;              /* csum_start: the transport header */
        hdr[8] = proto == 6 ? 16 : 6;
        unsigned before = g_net->sent;
        send_tx(hdr, f, len);
        CHECK_EQ(g_net->sent, before + 1);
        CHECK_EQ(g_net->last_len, len);
        CHECK(ipv4_l4_ok(g_net->last, len));
        CHECK(memcmp(g_net->last, f, 34 + hdr[8]) == 0); /* nothing else changed */
        CHECK(memcmp(g_net->last + 36 + hdr[8], f + 36 + hdr[8], len - 36 - hdr[8]) == 0);
    }
    /* The checksum field outside the frame: dropped, nothing written past it. */
    size_t len = ipv4_frame(f, 6, 10, false);
    uint8_t bad[HDR] = { 1 };
    bad[6] = (uint8_t)(len - 1); /* start inside, field crosses the end */
    bad[8] = 0;
    unsigned before = g_net->sent;
    send_tx(bad, f, len);
    bad[6] = 0xff, bad[7] = 0xff; /* start far past the end */
    send_tx(bad, f, len);
    bad[6] = 34, bad[7] = 0, bad[8] = 0xff, bad[9] = 0xff; /* offset far past the end */
    send_tx(bad, f, len);
    CHECK_EQ(g_net->sent, before);
    CHECK(!(virtio_dev_status(g_dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
    /* Without NEEDS_CSUM the frame goes as it is. */
    uint8_t plain[HDR] = { 0 };
    send_tx(plain, f, len);
    CHECK_EQ(g_net->sent, before + 1);
    CHECK(memcmp(g_net->last, f, len) == 0);
    teardown();
}

static uint8_t rx_flags_of(const uint8_t *frame, size_t len)
{
    uint64_t b = post_rx(2048);
    uint16_t idx = used_idx(RX);
    net_backend_deliver(&g_net->be, frame, len);
    CHECK_EQ(used_idx(RX), (uint16_t)(idx + 1));
    CHECK(memcmp(host(b + HDR, len), frame, len) == 0);
    return host(b, 1)[0];
}

static void test_rx_csum(void)
{
    uint8_t f[2048];
    setup(BIT(F_MRG_RXBUF) | BIT(F_GUEST_CSUM));
    size_t len = ipv4_frame(f, 6, 500, true);
    CHECK(ipv4_l4_ok(f, len));
    CHECK_EQ(rx_flags_of(f, len), 2); /* DATA_VALID */
    f[100] ^= 1;
    CHECK_EQ(rx_flags_of(f, len), 0); /* wrong checksum: the guest checks for itself */
    len = ipv4_frame(f, 17, 77, true);
    CHECK_EQ(rx_flags_of(f, len), 2);
    f[34 + 6] = f[34 + 7] = 0; /* UDP without a checksum */
    CHECK_EQ(rx_flags_of(f, len), 0);
    len = ipv4_frame(f, 6, 500, true);
    f[14 + 6] = 0x20; /* more fragments */
    CHECK_EQ(rx_flags_of(f, len), 0);
    len = ipv4_frame(f, 6, 500, true);
    f[14 + 2] = 0x7f; /* IP total length beyond the frame */
    CHECK_EQ(rx_flags_of(f, len), 0);
    memset(f, 0, 64);
    f[12] = 0x08, f[13] = 0x06; /* ARP */
    CHECK_EQ(rx_flags_of(f, 60), 0);
    /* IPv6 UDP. */
    memset(f, 0, 200);
    f[12] = 0x86, f[13] = 0xdd;
    uint8_t *ip6 = f + 14;
    ip6[0] = 0x60, ip6[5] = 8 + 20, ip6[6] = 17, ip6[7] = 64;
    for (int i = 0; i < 32; i++)
        ip6[8 + i] = (uint8_t)(i + 1);
    uint8_t *u = ip6 + 40;
    u[1] = 53, u[3] = 99, u[5] = 28;
    for (int i = 0; i < 20; i++)
        u[8 + i] = (uint8_t)(i * 3);
    uint32_t sum = ref_sum(0, ip6 + 8, 32) + 17 + 28;
    uint16_t c = (uint16_t)~ref_sum(sum, u, 28);
    u[6] = (uint8_t)(c >> 8), u[7] = (uint8_t)c;
    CHECK_EQ(rx_flags_of(f, 14 + 40 + 28), 2);
    teardown();

    setup(BIT(F_MRG_RXBUF)); /* GUEST_CSUM not negotiated: flags stay 0 */
    len = ipv4_frame(f, 6, 500, true);
    CHECK_EQ(rx_flags_of(f, len), 0);
    teardown();
}

int main(void)
{
    physmem_init(&g_m.mem);
    CHECK(physmem_add_ram(&g_m.mem, "ram", RAM_BASE, RAM_SIZE) != NULL);
    g_m.io = (VsIoThread *)&g_m; /* never dereferenced by the fakes */

    test_config();
    test_tx();
    test_rx_mergeable();
    test_rx_single();
    test_rx_queue_bound_and_reset();
    test_tx_csum();
    test_rx_csum();

    physmem_destroy(&g_m.mem);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
