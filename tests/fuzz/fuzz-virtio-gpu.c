/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for virtio-gpu's command parser (engine/virtio/virtio-gpu.c): the input is
 * a hostile driver's command stream and the guest RAM its backing entries point at.
 *
 * Input layout:
 *   [0..1]   le16 n: the first n bytes after this header (at most 16 KiB) are copied to
 *            guest RAM at RAM0 (the rest of RAM0 is zero)
 *   [2..]    those n bytes, then records until the input ends:
 *              u8  ctl: bit 0 queue (0 controlq, 1 cursorq); bits 1-3 where the request is
 *                  split into two out buffers (0: not split, k: after 8k bytes);
 *                  bits 4-7 the response buffer: 0 none, 15 2 KiB, else 16k bytes
 *              le16 len, then len bytes of request
 * Guest map: RAM0 at 0x80000000 (64 KiB), RAM1 right after it (4 KiB), nothing else.
 *
 * Every input starts from a freshly reset device. Checks: the bytes written fit the response
 * buffer; a response of at least a header has a known type and honours the fence; the
 * display listener's updates lie inside the size it was told; the surface can be read
 * whole; the listener is never called for a scanout other than 0.
 */
#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/machine.h"
#include "virtio/vdev.h"
#include "virtio/virtio-gpu.h"

#define RAM0_BASE 0x80000000ull
#define RAM0_SIZE 0x10000ull
#define RAM1_BASE (RAM0_BASE + RAM0_SIZE)
#define RAM1_SIZE 0x1000ull
#define RAM_FILL  0x4000u

#define FUZZ_ASSERT(cond)                                                                \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static VsMachine machine;
static VirtioDevice *gpu;
static uint8_t *ram0;

/* ---- fakes for the machine glue ---- */

VsStatus vs_error_set(VsError *err, VsStatus status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err->status = status;
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return status;
}

VsStatus vs_vdev_attach(VsMachine *m, const char *name, VirtioDevice *dev,
                        void (*destroy)(void *owner), void *owner, VsError *err)
{
    (void)m;
    (void)name;
    (void)destroy;
    (void)owner;
    (void)err;
    gpu = dev;
    return VS_OK;
}

/* The device used its per-turn budget: the next turn of the (fake) I/O thread serves the
 * queue again; here that is at once, as a loop would. */
void vs_vdev_requeue(VsMachine *m, VirtioDevice *dev, unsigned q)
{
    (void)m;
    dev->ops->queue_notify(dev, q);
}

void vs_iothread_run_sync(VsIoThread *io, void (*fn)(void *arg), void *arg)
{
    (void)io;
    fn(arg);
}

/* ---- the listener checks what it is told ---- */

static unsigned surf_w, surf_h;

static void on_resize(void *o, unsigned s, unsigned w, unsigned h)
{
    (void)o;
    FUZZ_ASSERT(s == 0);
    FUZZ_ASSERT((w == 0) == (h == 0));
    surf_w = w;
    surf_h = h;
}

static void on_update(void *o, unsigned s, unsigned x, unsigned y, unsigned w, unsigned h)
{
    (void)o;
    FUZZ_ASSERT(s == 0);
    FUZZ_ASSERT(w && h);
    FUZZ_ASSERT((uint64_t)x + w <= surf_w && (uint64_t)y + h <= surf_h);
}

static void on_define(void *o, unsigned w, unsigned h, unsigned hx, unsigned hy, const uint32_t *p)
{
    (void)o;
    FUZZ_ASSERT(w == 0 || (w == GPU_CURSOR_SIZE && h == GPU_CURSOR_SIZE && p && hx < w && hy < h));
}

static void on_move(void *o, unsigned s, int x, int y)
{
    (void)o;
    (void)x;
    (void)y;
    FUZZ_ASSERT(s == 0);
}

static void setup_once(void)
{
    if (gpu)
        return;
    physmem_init(&machine.mem);
    if (!physmem_add_ram(&machine.mem, "ram0", RAM0_BASE, RAM0_SIZE) ||
        !physmem_add_ram(&machine.mem, "ram1", RAM1_BASE, RAM1_SIZE))
        abort();
    ram0 = physmem_host_ptr(&machine.mem, RAM0_BASE, RAM0_SIZE, false);
    machine.cfg.display = true;
    VsError err;
    if (virtio_gpu_create(&machine, &err) != VS_OK || !gpu)
        abort();
    VsDisplayListener l = {
        .resize = on_resize, .update = on_update, .cursor_define = on_define, .cursor_move = on_move
    };
    if (vs_machine_set_display_listener(&machine, &l, &err) != VS_OK)
        abort();
}

static uint32_t le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return le32toh(v);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return le64toh(v);
}

static VirtqElem elem;
static uint8_t request[65536 + 64];
static uint8_t response[2048 + 64];
static uint32_t surface[1 << 20];

static bool known_response(uint32_t t)
{
    return t == VIRTIO_GPU_RESP_OK_NODATA || t == VIRTIO_GPU_RESP_OK_DISPLAY_INFO ||
           t == VIRTIO_GPU_RESP_OK_EDID ||
           (t >= VIRTIO_GPU_RESP_ERR_UNSPEC && t <= VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    /* A fresh device: reset drops resources, scanout and cursor. EDID negotiated. */
    virtio_dev_reset(gpu);
    gpu->driver_features = (1ull << VIRTIO_GPU_F_EDID) | (1ull << VIRTIO_F_VERSION_1);
    FUZZ_ASSERT(surf_w == 0 && surf_h == 0);
    memset(ram0, 0, RAM0_SIZE);
    if (size < 2)
        return 0;
    size_t fill = data[0] | (size_t)data[1] << 8;
    if (fill > RAM_FILL)
        fill = RAM_FILL;
    if (fill > size - 2)
        fill = size - 2;
    memcpy(ram0, data + 2, fill);
    size_t pos = 2 + fill;

    while (pos + 3 <= size) {
        uint8_t ctl = data[pos];
        size_t len = data[pos + 1] | (size_t)data[pos + 2] << 8;
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        memcpy(request, data + pos, len);
        pos += len;

        unsigned queue = ctl & 1;
        size_t split = (size_t)((ctl >> 1) & 7) * 8;
        unsigned rsel = ctl >> 4;
        size_t rlen = rsel == 15 ? 2048 : (size_t)rsel * 16;
        memset(&elem, 0, sizeof(elem));
        unsigned n = 0;
        if (split && split < len) {
            elem.sg[n++] = (struct iovec){ request, split };
            elem.sg[n++] = (struct iovec){ request + split, len - split };
        } else {
            elem.sg[n++] = (struct iovec){ request, len };
        }
        elem.out_num = n;
        elem.out_len = len;
        if (rlen) {
            elem.sg[n] = (struct iovec){ response, rlen };
            elem.in_num = 1;
            elem.in_len = rlen;
        }
        memset(response, 0xa5, sizeof(response));
        uint32_t written = virtio_gpu_process(gpu, queue, &elem);

        FUZZ_ASSERT(written <= rlen);
        for (size_t i = rlen; i < sizeof(response); i++)
            FUZZ_ASSERT(response[i] == 0xa5);
        if (written >= GPU_HDR_SIZE) {
            FUZZ_ASSERT(known_response(le32(response)));
            bool fenced = len >= GPU_HDR_SIZE && (le32(request + 4) & VIRTIO_GPU_FLAG_FENCE);
            FUZZ_ASSERT(((le32(response + 4) & VIRTIO_GPU_FLAG_FENCE) != 0) == fenced);
            if (fenced)
                FUZZ_ASSERT(le64(response + 8) == le64(request + 8));
        }

        /* The surface is readable whole and matches what the listener was told. */
        unsigned w = 0, h = 0;
        bool on = vs_machine_display_size(&machine, 0, &w, &h);
        FUZZ_ASSERT(on == (surf_w != 0));
        FUZZ_ASSERT(!on || (w == surf_w && h == surf_h));
        if (on && (size_t)w * h <= sizeof(surface) / 4)
            FUZZ_ASSERT(vs_machine_display_read(&machine, 0, 0, 0, w, h, surface, (size_t)w * 4));
        FUZZ_ASSERT(!vs_machine_display_read(&machine, 0, w, 0, 1, 1, surface, 4));
    }
    return 0;
}
