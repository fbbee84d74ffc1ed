/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio 1.2 section 5.3), one port: the guest's hvc0.
 *
 * Queues: 0 receiveq (host -> guest), 1 transmitq (guest -> host). Features offered:
 * VIRTIO_CONSOLE_F_SIZE (cols/rows in config, 80x24 until a front end says otherwise) and
 * VIRTIO_CONSOLE_F_EMERG_WRITE (a byte written to emerg_wr is output at once, used by the
 * guest before the queues are up). Not MULTIPORT: one console is what a VM window shows.
 *
 * Host input (vs_machine_console_input, any thread) is buffered in a ring of
 * CONSOLE_INPUT_MAX bytes and handed to the guest on the I/O thread whenever it has
 * receive buffers posted; input beyond the ring's room is dropped (a guest that never
 * reads must not make the host buffer without bound).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "virtio/vdev.h"

#define VIRTIO_CONSOLE_F_SIZE        0
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

#define CONSOLE_RX                   0
#define CONSOLE_TX                   1

#define CONSOLE_INPUT_MAX            (64 * 1024)
/* Output is copied out of a transmit chain in pieces this big. */
#define CONSOLE_TX_CHUNK 4096
/* Transmit chains handled per turn of the I/O thread; then the others get their turn. */
#define CONSOLE_TX_BUDGET 64

typedef struct VirtioConsole {
    VirtioDevice dev;
    VsMachine *m;
    pthread_mutex_t in_lock; /* the input ring */
    uint8_t in_buf[CONSOLE_INPUT_MAX];
    size_t in_head, in_len;
    uint64_t in_dropped;
    VsNotifier in_notify; /* host input arrived */
    VsIoHandler *in_handler;
    VirtqElem elem; /* I/O thread only */
    uint16_t cols, rows;
} VirtioConsole;

static void console_out(VirtioConsole *c, const uint8_t *buf, size_t len)
{
    VsMachine *m = c->m;
    if (m->listener.console_output)
        m->listener.console_output(m->listener.opaque, buf, len);
    else
        vs_machine_serial_output(m, buf, len);
}

/* I/O thread: move buffered input into the guest's receive buffers. */
static void console_fill_rx(VirtioConsole *c)
{
    VirtioDevice *dev = &c->dev;
    bool pushed = false;
    for (;;) {
        pthread_mutex_lock(&c->in_lock);
        bool have = c->in_len > 0;
        pthread_mutex_unlock(&c->in_lock);
        if (!have)
            break;
        virtio_dev_lock(dev);
        uint64_t epoch = virtio_dev_epoch(dev);
        int got = virtio_dev_pop(dev, CONSOLE_RX, &c->elem);
        if (got <= 0) {
            virtio_dev_unlock(dev);
            break;
        }
        uint32_t written = 0;
        struct iovec *in = virtq_elem_in(&c->elem);
        pthread_mutex_lock(&c->in_lock);
        for (unsigned i = 0; i < c->elem.in_num && c->in_len; i++) {
            size_t off = 0;
            while (off < in[i].iov_len && c->in_len) {
                size_t run = CONSOLE_INPUT_MAX - c->in_head;
                if (run > c->in_len)
                    run = c->in_len;
                if (run > in[i].iov_len - off)
                    run = in[i].iov_len - off;
                memcpy((uint8_t *)in[i].iov_base + off, c->in_buf + c->in_head, run);
                c->in_head = (c->in_head + run) % CONSOLE_INPUT_MAX;
                c->in_len -= run;
                off += run;
                written += (uint32_t)run;
            }
        }
        pthread_mutex_unlock(&c->in_lock);
        pushed |= virtio_dev_push(dev, CONSOLE_RX, &c->elem, written, epoch);
        virtio_dev_unlock(dev);
    }
    if (pushed)
        virtio_notify_used(dev, CONSOLE_RX);
}

static void console_tx(VirtioConsole *c)
{
    VirtioDevice *dev = &c->dev;
    uint8_t chunk[CONSOLE_TX_CHUNK];
    bool pushed = false;
    for (unsigned budget = CONSOLE_TX_BUDGET;; budget--) {
        if (!budget) {
            vs_vdev_requeue(c->m, dev, CONSOLE_TX);
            break;
        }
        virtio_dev_lock(dev);
        uint64_t epoch = virtio_dev_epoch(dev);
        int got = virtio_dev_pop(dev, CONSOLE_TX, &c->elem);
        if (got <= 0) {
            virtio_dev_unlock(dev);
            break;
        }
        size_t off = 0;
        for (;;) {
            size_t n =
                iov_to_buf(virtq_elem_out(&c->elem), c->elem.out_num, off, chunk, sizeof(chunk));
            if (!n)
                break;
            console_out(c, chunk, n);
            off += n;
        }
        pushed |= virtio_dev_push(dev, CONSOLE_TX, &c->elem, 0, epoch);
        virtio_dev_unlock(dev);
    }
    if (pushed)
        virtio_notify_used(dev, CONSOLE_TX);
}

static void console_queue_notify(VirtioDevice *dev, unsigned queue)
{
    VirtioConsole *c = dev->opaque;
    if (queue == CONSOLE_TX)
        console_tx(c);
    else
        console_fill_rx(c);
}

static void console_input_ready(void *opaque, uint32_t events)
{
    VirtioConsole *c = opaque;
    (void)events;
    vs_notifier_clear(&c->in_notify);
    console_fill_rx(c);
}

/* struct virtio_console_config: cols, rows (le16), max_nr_ports, emerg_wr (le32). */
static void console_read_config(VirtioDevice *dev, uint32_t offset, void *buf, uint32_t len)
{
    VirtioConsole *c = dev->opaque;
    uint8_t cfg[12] = { 0 };
    cfg[0] = (uint8_t)c->cols;
    cfg[1] = (uint8_t)(c->cols >> 8);
    cfg[2] = (uint8_t)c->rows;
    cfg[3] = (uint8_t)(c->rows >> 8);
    cfg[4] = 1; /* max_nr_ports (only meaningful with MULTIPORT) */
    memcpy(buf, cfg + offset, len);
}

static void console_write_config(VirtioDevice *dev, uint32_t offset, const void *buf, uint32_t len)
{
    VirtioConsole *c = dev->opaque;
    /* emerg_wr at offset 8: the low byte of the written value is one character. */
    if (offset == 8 && (dev->driver_features & (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE))) {
        uint8_t ch = *(const uint8_t *)buf;
        (void)len;
        console_out(c, &ch, 1);
    }
}

static const VirtioDeviceOps console_ops = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .features = (1ull << VIRTIO_CONSOLE_F_SIZE) | (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE),
    .caps = VIRTIO_DEV_CAP_EVENT_IDX | VIRTIO_DEV_CAP_INDIRECT_DESC,
    .num_queues = 2,
    .queue_max_size = 128,
    .config_size = 12,
    .read_config = console_read_config,
    .write_config = console_write_config,
    .queue_notify = console_queue_notify,
};

static void console_destroy(void *owner)
{
    VirtioConsole *c = owner;
    if (c->in_handler)
        vs_iothread_remove(c->m->io, c->in_handler);
    vs_notifier_destroy(&c->in_notify);
    if (c->m->console == c)
        c->m->console = NULL;
    virtio_dev_destroy(&c->dev);
    pthread_mutex_destroy(&c->in_lock);
    free(c);
}

VsStatus virtio_console_create(VsMachine *m, VsError *err)
{
    if (m->console)
        return vs_error_set(err, VS_ERR_INVALID, "only one virtio console is supported");
    VirtioConsole *c = calloc(1, sizeof(*c));
    if (!c)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating virtio-console");
    c->m = m;
    c->cols = 80;
    c->rows = 24;
    c->in_notify.fd = -1;
    pthread_mutex_init(&c->in_lock, NULL);
    if (!virtio_dev_init(&c->dev, &console_ops, &m->mem, c)) {
        pthread_mutex_destroy(&c->in_lock);
        free(c);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot create virtio-console");
    }
    if (!vs_notifier_init(&c->in_notify)) {
        console_destroy(c);
        return vs_error_set(err, VS_ERR_IO, "cannot create an eventfd for virtio-console");
    }
    c->in_handler =
        vs_iothread_add_fd(m->io, c->in_notify.fd, EPOLLIN, console_input_ready, c, err);
    if (!c->in_handler) {
        console_destroy(c);
        return err->status;
    }
    m->console = c;
    return vs_vdev_attach(m, "virtio-console", &c->dev, console_destroy, c, err);
}

void virtio_console_input(VsMachine *m, const uint8_t *buf, size_t len)
{
    VirtioConsole *c = m->console;
    if (!c || !len)
        return;
    pthread_mutex_lock(&c->in_lock);
    size_t room = CONSOLE_INPUT_MAX - c->in_len;
    size_t n = len < room ? len : room;
    c->in_dropped += len - n;
    for (size_t i = 0; i < n; i++)
        c->in_buf[(c->in_head + c->in_len + i) % CONSOLE_INPUT_MAX] = buf[i];
    c->in_len += n;
    pthread_mutex_unlock(&c->in_lock);
    vs_notifier_signal(&c->in_notify);
}
