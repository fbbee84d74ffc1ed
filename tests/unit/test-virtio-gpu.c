/* SPDX-License-Identifier: MIT */
/*
 * virtio-gpu (engine/virtio/virtio-gpu.c) against a hostile driver, through a fake machine:
 * real guest RAM (physmem), the real device core and virtqueues, and fakes for the
 * machine glue (vs_vdev_attach keeps the device, vs_iothread_run_sync runs at once).
 *
 * Most commands go straight to virtio_gpu_process() with host buffers for the request and
 * the response (the backing entries point into guest RAM, as a driver's would); one
 * sequence goes through a real controlq ring to check fencing and the used length.
 */
#include <endian.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/machine.h"
#include "virtio/vdev.h"
#include "virtio/virtio-gpu.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (4ull << 20)

static VsMachine g_m;
static VirtioDevice *g_dev;
static uint8_t *g_ram;

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

static void (*g_destroy)(void *owner);
static void *g_owner;

VsStatus vs_vdev_attach(VsMachine *m, const char *name, VirtioDevice *dev,
                        void (*destroy)(void *owner), void *owner, VsError *err)
{
    (void)m;
    (void)name;
    (void)err;
    g_dev = dev;
    g_destroy = destroy;
    g_owner = owner;
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

/* ---- the listener ---- */

static struct {
    unsigned resizes, updates, defines, moves;
    unsigned w, h;           /* last resize */
    unsigned ux, uy, uw, uh; /* last update */
    unsigned cw, ch, hot_x, hot_y;
    uint32_t cursor0; /* first cursor pixel */
    int mx, my;
} L;

static void on_resize(void *o, unsigned s, unsigned w, unsigned h)
{
    (void)o;
    CHECK_EQ(s, 0);
    L.resizes++;
    L.w = w;
    L.h = h;
}

static void on_update(void *o, unsigned s, unsigned x, unsigned y, unsigned w, unsigned h)
{
    (void)o;
    CHECK_EQ(s, 0);
    L.updates++;
    L.ux = x;
    L.uy = y;
    L.uw = w;
    L.uh = h;
    /* The listener may read the surface (no lock is held). */
    uint32_t px;
    CHECK(vs_machine_display_read(&g_m, 0, x, y, 1, 1, &px, 4));
}

static void on_define(void *o, unsigned w, unsigned h, unsigned hx, unsigned hy, const uint32_t *p)
{
    (void)o;
    L.defines++;
    L.cw = w;
    L.ch = h;
    L.hot_x = hx;
    L.hot_y = hy;
    L.cursor0 = p ? p[0] : 0;
}

static void on_move(void *o, unsigned s, int x, int y)
{
    (void)o;
    (void)s;
    L.moves++;
    L.mx = x;
    L.my = y;
}

/* ---- requests ---- */

static uint8_t g_req[1 << 20];
static size_t g_req_len;
static uint8_t g_resp[2048];

static void put32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return le64toh(v);
}

/* Start a request: header with `type`, then 32-bit fields. */
static void req(uint32_t type, unsigned nfields, ...)
{
    memset(g_req, 0, 64);
    put32(g_req, type);
    g_req_len = GPU_HDR_SIZE;
    va_list ap;
    va_start(ap, nfields);
    for (unsigned i = 0; i < nfields; i++) {
        put32(g_req + g_req_len, va_arg(ap, uint32_t));
        g_req_len += 4;
    }
    va_end(ap);
}

static VirtqElem g_elem;

/* Send g_req (split in two out buffers at `split`) on `queue`, response buffer of resp_len.
 * Returns the response type; *written the bytes written. */
static uint32_t send_split(unsigned queue, size_t split, size_t resp_len, uint32_t *written)
{
    memset(&g_elem, 0, sizeof(g_elem));
    memset(g_resp, 0xee, sizeof(g_resp));
    unsigned n = 0;
    if (split && split < g_req_len) {
        g_elem.sg[n++] = (struct iovec){ g_req, split };
        g_elem.sg[n++] = (struct iovec){ g_req + split, g_req_len - split };
    } else {
        g_elem.sg[n++] = (struct iovec){ g_req, g_req_len };
    }
    g_elem.out_num = n;
    g_elem.out_len = g_req_len;
    g_elem.sg[n] = (struct iovec){ g_resp, resp_len };
    g_elem.in_num = 1;
    g_elem.in_len = resp_len;
    uint32_t w = virtio_gpu_process(g_dev, queue, &g_elem);
    if (written)
        *written = w;
    return w >= 4 ? get32(g_resp) : 0;
}

static uint32_t send_q(unsigned queue)
{
    return send_split(queue, 0, sizeof(g_resp), NULL);
}

static uint32_t send(void)
{
    return send_q(GPU_CONTROLQ);
}

static uint32_t create(uint32_t id, uint32_t format, uint32_t w, uint32_t h)
{
    req(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, 4, id, format, w, h);
    return send();
}

static uint32_t unref(uint32_t id)
{
    req(VIRTIO_GPU_CMD_RESOURCE_UNREF, 2, id, 0);
    return send();
}

/* Attach backing: n entries (addr, len). */
static uint32_t attach(uint32_t id, unsigned n, const uint64_t *addr, const uint32_t *len)
{
    req(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, 2, id, n);
    for (unsigned i = 0; i < n; i++) {
        put64(g_req + g_req_len, addr[i]);
        put32(g_req + g_req_len + 8, len[i]);
        put32(g_req + g_req_len + 12, 0);
        g_req_len += 16;
    }
    return send();
}

static uint32_t transfer(uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint64_t off)
{
    req(VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, 4, x, y, w, h);
    put64(g_req + g_req_len, off);
    g_req_len += 8;
    put32(g_req + g_req_len, id);
    put32(g_req + g_req_len + 4, 0);
    g_req_len += 8;
    return send();
}

static uint32_t set_scanout(uint32_t scanout, uint32_t id, uint32_t x, uint32_t y, uint32_t w,
                            uint32_t h)
{
    req(VIRTIO_GPU_CMD_SET_SCANOUT, 6, x, y, w, h, scanout, id);
    return send();
}

static uint32_t flush(uint32_t id, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    req(VIRTIO_GPU_CMD_RESOURCE_FLUSH, 6, x, y, w, h, id, 0);
    return send();
}

static uint32_t cursor(uint32_t type, uint32_t id, int32_t x, int32_t y, uint32_t hx, uint32_t hy)
{
    req(type, 8, 0, (uint32_t)x, (uint32_t)y, 0, id, hx, hy, 0);
    return send_q(GPU_CURSORQ);
}

/* ---- setup ---- */

static void machine_setup(void)
{
    physmem_init(&g_m.mem);
    CHECK(physmem_add_ram(&g_m.mem, "ram", RAM_BASE, RAM_SIZE) != NULL);
    g_ram = physmem_host_ptr(&g_m.mem, RAM_BASE, RAM_SIZE, false);
    g_m.cfg.display = true;
    VsError err;
    CHECK_EQ(virtio_gpu_create(&g_m, &err), VS_OK);
    CHECK(g_dev != NULL);
    VsDisplayListener l = {
        .resize = on_resize, .update = on_update, .cursor_define = on_define, .cursor_move = on_move
    };
    CHECK_EQ(vs_machine_set_display_listener(&g_m, &l, &err), VS_OK);
}

/* ---- tests ---- */

static void test_display_info_and_edid(void)
{
    req(VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
    uint32_t w;
    CHECK_EQ(send_split(GPU_CONTROLQ, 0, sizeof(g_resp), &w), VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
    CHECK_EQ(w, GPU_DISPLAY_INFO_SIZE);
    CHECK_EQ(get32(g_resp + 24 + 8), 1024);
    CHECK_EQ(get32(g_resp + 24 + 12), 768);
    CHECK_EQ(get32(g_resp + 24 + 16), 1); /* enabled */
    CHECK_EQ(get32(g_resp + 48 + 16), 0); /* scanout 1 not there */

    /* A response buffer too small gets what fits; nothing is written beyond it. */
    CHECK_EQ(send_split(GPU_CONTROLQ, 0, 8, &w), VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
    CHECK_EQ(w, 8);
    CHECK_EQ(g_resp[8], 0xee);

    /* GET_EDID needs the feature. */
    g_dev->driver_features = 0;
    req(VIRTIO_GPU_CMD_GET_EDID, 2, 0, 0);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_UNSPEC);
    g_dev->driver_features = (1ull << VIRTIO_GPU_F_EDID) | (1ull << VIRTIO_F_VERSION_1);
    req(VIRTIO_GPU_CMD_GET_EDID, 2, 1, 0);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    req(VIRTIO_GPU_CMD_GET_EDID, 2, 0, 0);
    CHECK_EQ(send_split(GPU_CONTROLQ, 0, sizeof(g_resp), &w), VIRTIO_GPU_RESP_OK_EDID);
    CHECK_EQ(w, GPU_RESP_EDID_SIZE);
    CHECK_EQ(get32(g_resp + 24), 128);
    const uint8_t *e = g_resp + 32;
    static const uint8_t hdr[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
    CHECK(memcmp(e, hdr, 8) == 0);
    CHECK_EQ(e[18], 1);
    CHECK_EQ(e[19], 4);
    uint8_t sum = 0;
    for (int i = 0; i < 128; i++)
        sum = (uint8_t)(sum + e[i]);
    CHECK_EQ(sum, 0);
    /* The first detailed timing is the preferred mode, 1024x768. */
    const uint8_t *d = e + 54;
    CHECK_EQ(d[2] | (d[4] >> 4) << 8, 1024);
    CHECK_EQ(d[5] | (d[7] >> 4) << 8, 768);
    CHECK(d[0] | d[1]); /* a pixel clock */
}

static void test_header_errors(void)
{
    /* Shorter than the header, shorter than the command, unknown, wrong queue. */
    memset(g_req, 0, 64);
    put32(g_req, VIRTIO_GPU_CMD_GET_DISPLAY_INFO);
    g_req_len = 20;
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_UNSPEC);
    req(VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, 3, 1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 4);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_UNSPEC);
    req(0x0999, 0);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_UNSPEC);
    req(VIRTIO_GPU_CMD_GET_CAPSET_INFO, 2, 0, 0);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_UNSPEC);
    req(VIRTIO_GPU_CMD_MOVE_CURSOR, 8, 0, 0, 0, 0, 0, 0, 0, 0);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_UNSPEC);
    req(VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
    CHECK_EQ(send_q(GPU_CURSORQ), VIRTIO_GPU_RESP_ERR_UNSPEC);

    /* Fences are answered with the flag and the id, also for errors. */
    req(0x0999, 0);
    put32(g_req + 4, VIRTIO_GPU_FLAG_FENCE);
    put64(g_req + 8, 0x1122334455667788ull);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_UNSPEC);
    CHECK_EQ(get32(g_resp + 4), VIRTIO_GPU_FLAG_FENCE);
    CHECK_EQ(get64(g_resp + 8), 0x1122334455667788ull);
    req(VIRTIO_GPU_CMD_GET_DISPLAY_INFO, 0);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_OK_DISPLAY_INFO);
    CHECK_EQ(get32(g_resp + 4), 0);
    CHECK_EQ(get64(g_resp + 8), 0);
}

static void test_create_limits(void)
{
    CHECK_EQ(create(0, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 4, 4),
             VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    CHECK_EQ(create(1, 5, 4, 4), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(create(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 0, 4),
             VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(create(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 4, 0),
             VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(create(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, GPU_MAX_DIM + 1, 1),
             VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
    CHECK_EQ(create(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 0xffffffffu, 0xffffffffu),
             VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
    /* 16384 x 16384 x 4 is 1 GiB: over the budget. */
    CHECK_EQ(create(1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, GPU_MAX_DIM, GPU_MAX_DIM),
             VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
    /* Four 64 MiB resources fill the 256 MiB budget; then not one more pixel. */
    for (uint32_t id = 1; id <= 4; id++)
        CHECK_EQ(create(id, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 8192, 2048),
                 VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(create(5, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 1, 1), VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
    CHECK_EQ(create(4, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 1, 1),
             VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID); /* duplicate */
    CHECK_EQ(unref(3), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(unref(3), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    CHECK_EQ(unref(0), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    CHECK_EQ(create(5, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 1, 1), VIRTIO_GPU_RESP_OK_NODATA);
    for (uint32_t id = 1; id <= 5; id++)
        unref(id);
    /* The resource count. */
    for (uint32_t id = 1; id <= GPU_MAX_RESOURCES; id++)
        CHECK_EQ(create(id, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 1, 1), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(create(GPU_MAX_RESOURCES + 1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 1, 1),
             VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY);
    for (uint32_t id = 1; id <= GPU_MAX_RESOURCES; id++)
        CHECK_EQ(unref(id), VIRTIO_GPU_RESP_OK_NODATA);
}

static void test_backing(void)
{
    CHECK_EQ(create(7, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 16, 16), VIRTIO_GPU_RESP_OK_NODATA);
    uint64_t a[4] = { RAM_BASE };
    uint32_t l[4] = { 1024 };
    CHECK_EQ(attach(8, 1, a, l), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    CHECK_EQ(attach(7, 0, a, l), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    /* More entries than allowed, and more entries claimed than sent. */
    req(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, 2, 7, GPU_MAX_BACKING_ENTRIES + 1);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    req(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, 2, 7, 0xffffffffu);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    req(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, 2, 7, 3);
    g_req_len += 2 * 16;
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_UNSPEC);
    /* Entries outside guest RAM: below, across the end, wrapping, zero length. */
    static const uint64_t bad_addr[] = { 0x1000, RAM_BASE + RAM_SIZE - 512, 0xfffffffffffff000ull,
                                         RAM_BASE, RAM_BASE + RAM_SIZE };
    static const uint32_t bad_len[] = { 4096, 1024, 0x2000, 0, 1 };
    for (unsigned i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
        a[0] = RAM_BASE;
        l[0] = 512;
        a[1] = bad_addr[i];
        l[1] = bad_len[i];
        CHECK_EQ(attach(7, 2, a, l), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    }
    /* No backing yet: transfer and detach fail. */
    CHECK_EQ(transfer(7, 0, 0, 1, 1, 0), VIRTIO_GPU_RESP_ERR_UNSPEC);
    req(VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, 2, 7, 0);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_ERR_UNSPEC);
    /* Valid (split across two out buffers in the middle of an entry), then twice. The
     * 1000 bytes hold 15 rows of 64 bytes and a bit: not the whole 16x16 resource. */
    a[0] = RAM_BASE;
    l[0] = 1000;
    req(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, 2, 7, 1);
    put64(g_req + g_req_len, a[0]);
    put32(g_req + g_req_len + 8, l[0]);
    put32(g_req + g_req_len + 12, 0);
    g_req_len += 16;
    CHECK_EQ(send_split(GPU_CONTROLQ, 37, sizeof(g_resp), NULL), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(attach(7, 1, a, l), VIRTIO_GPU_RESP_ERR_UNSPEC);
    /* Transfers: outside the resource, wrapping rectangles, past the backing. */
    CHECK_EQ(transfer(9, 0, 0, 1, 1, 0), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    CHECK_EQ(transfer(7, 15, 0, 2, 1, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(transfer(7, 0, 0, 16, 17, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(transfer(7, 0xffffffffu, 0, 2, 1, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(transfer(7, 0, 0xfffffff0u, 1, 0x20, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(transfer(7, 0, 0, 16, 16, 0), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(transfer(7, 0, 0, 1, 1, 1000), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(transfer(7, 0, 0, 1, 1, 997), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(transfer(7, 0, 0, 1, 1, ~0ull), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(transfer(7, 0, 0, 1, 1, ~0ull - 2), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(transfer(7, 0, 1, 16, 15, 64), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(transfer(7, 0, 0, 16, 15, 0), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(transfer(7, 0, 0, 1, 1, 996), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(transfer(7, 3, 3, 0, 0, ~0ull), VIRTIO_GPU_RESP_OK_NODATA); /* empty */
    req(VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, 2, 7, 0);
    CHECK_EQ(send(), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(transfer(7, 0, 0, 1, 1, 0), VIRTIO_GPU_RESP_ERR_UNSPEC);
    CHECK_EQ(unref(7), VIRTIO_GPU_RESP_OK_NODATA);
}

/* Pixel (x, y) of the test pattern, as 0x00RRGGBB. */
static uint32_t pattern(unsigned x, unsigned y)
{
    return ((x * 7 + y * 131) & 0xffu) << 16 | ((x * 3) & 0xffu) << 8 | ((y * 5 + x) & 0xffu);
}

/* Store pattern pixel (x, y) at p in `format`'s byte order. */
static void store_px(uint8_t *p, uint32_t format, uint32_t xrgb)
{
    uint8_t r = (uint8_t)(xrgb >> 16), g = (uint8_t)(xrgb >> 8), b = (uint8_t)xrgb, a = 0x80;
    switch (format) {
    case VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM: p[0] = b, p[1] = g, p[2] = r, p[3] = a; break;
    case VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM: p[0] = r, p[1] = g, p[2] = b, p[3] = a; break;
    case VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM: p[0] = a, p[1] = r, p[2] = g, p[3] = b; break;
    case VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM: p[0] = a, p[1] = b, p[2] = g, p[3] = r; break;
    }
}

/*
 * A 40x30 resource in `format` whose backing is scattered over three entries of odd
 * lengths (not page or row aligned), shown through a 32x20 scanout at (5, 3). A transfer
 * of the whole resource and a flush of a rectangle sticking out of the scanout; the
 * surface shows exactly the flushed part, converted.
 */
static void test_scanout(uint32_t format)
{
    const unsigned W = 40, H = 30, stride = W * 4;
    uint32_t id = 20 + format;
    unsigned resizes = L.resizes;
    CHECK_EQ(create(id, format, W, H), VIRTIO_GPU_RESP_OK_NODATA);
    /* Backing: 1000 bytes at +0x10000, 3000 at +0x23456, the rest at +0x40001. */
    uint64_t a[3] = { RAM_BASE + 0x10000, RAM_BASE + 0x23456, RAM_BASE + 0x40001 };
    uint32_t l[3] = { 1000, 3000, stride * H - 4000 };
    uint8_t image[40 * 30 * 4];
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            store_px(image + y * stride + x * 4, format, pattern(x, y));
    size_t off = 0;
    for (unsigned i = 0; i < 3; i++) {
        memcpy(g_ram + (a[i] - RAM_BASE), image + off, l[i]);
        off += l[i];
    }
    CHECK_EQ(attach(id, 3, a, l), VIRTIO_GPU_RESP_OK_NODATA);

    /* SET_SCANOUT errors. */
    CHECK_EQ(set_scanout(1, id, 0, 0, 8, 8), VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    CHECK_EQ(set_scanout(16, 0, 0, 0, 0, 0), VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    CHECK_EQ(set_scanout(0, 999, 0, 0, 8, 8), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    CHECK_EQ(set_scanout(0, id, 0, 0, 0, 8), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(set_scanout(0, id, 9, 0, 32, 8), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(set_scanout(0, id, 0, 0xffffffffu, 8, 2), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(L.resizes, resizes);

    CHECK_EQ(set_scanout(0, id, 5, 3, 32, 20), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(L.resizes, resizes + 1);
    CHECK_EQ(L.w, 32);
    CHECK_EQ(L.h, 20);
    unsigned w = 0, h = 0;
    CHECK(vs_machine_display_size(&g_m, 0, &w, &h));
    CHECK_EQ(w, 32);
    CHECK_EQ(h, 20);
    CHECK(!vs_machine_display_size(&g_m, 1, &w, &h));

    /* Nothing transferred yet: the surface is black. */
    static uint32_t surf[32 * 20];
    CHECK(vs_machine_display_read(&g_m, 0, 0, 0, 32, 20, surf, 32 * 4));
    CHECK_EQ(surf[0], 0);

    CHECK_EQ(transfer(id, 0, 0, W, H, 0), VIRTIO_GPU_RESP_OK_NODATA);
    /* Flush errors. */
    CHECK_EQ(flush(999, 0, 0, 1, 1), VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    CHECK_EQ(flush(id, 0, 0, W + 1, 1), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(flush(id, 0xfffffff0u, 0, 0x20, 1), VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    /* Outside the scanout: no update. */
    unsigned updates = L.updates;
    CHECK_EQ(flush(id, 0, 0, 5, 30), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(L.updates, updates);
    /* (2, 10) 20x30 intersects the scanout in (5, 10) 17x13 = surface (0, 7) 17x13. */
    CHECK_EQ(flush(id, 2, 10, 20, 20), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(L.updates, updates + 1);
    CHECK_EQ(L.ux, 0);
    CHECK_EQ(L.uy, 7);
    CHECK_EQ(L.uw, 17);
    CHECK_EQ(L.uh, 13);
    CHECK(vs_machine_display_read(&g_m, 0, 0, 0, 32, 20, surf, 32 * 4));
    unsigned bad = 0;
    for (unsigned y = 0; y < 20; y++) {
        for (unsigned x = 0; x < 32; x++) {
            bool flushed = x < 17 && y >= 7;
            uint32_t want = flushed ? pattern(x + 5, y + 3) : 0;
            bad += surf[y * 32 + x] != want;
        }
    }
    CHECK_EQ(bad, 0);
    /* Reads outside the surface fail; a sub-rectangle with a wider stride works. */
    CHECK(!vs_machine_display_read(&g_m, 0, 31, 0, 2, 1, surf, 64));
    CHECK(!vs_machine_display_read(&g_m, 0, 0, 0xffffffffu, 1, 2, surf, 64));
    CHECK(!vs_machine_display_read(&g_m, 0, 0, 0, 2, 1, surf, 4)); /* stride too small */
    CHECK(vs_machine_display_read(&g_m, 0, 3, 10, 2, 2, surf, 64));
    CHECK_EQ(surf[0], pattern(8, 13));
    CHECK_EQ(surf[16 + 1], pattern(9, 14));

    /* Unref of the shown resource disables the scanout. */
    CHECK_EQ(unref(id), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(L.w, 0);
    CHECK_EQ(L.h, 0);
    CHECK(!vs_machine_display_size(&g_m, 0, &w, &h));
    CHECK(!vs_machine_display_read(&g_m, 0, 0, 0, 1, 1, surf, 4));
}

static void test_scanout_disable(void)
{
    CHECK_EQ(create(30, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 64, 64), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(set_scanout(0, 30, 0, 0, 64, 64), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK(vs_machine_display_size(&g_m, 0, NULL, NULL));
    unsigned resizes = L.resizes;
    CHECK_EQ(set_scanout(0, 0, 0, 0, 0, 0), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(L.resizes, resizes + 1);
    CHECK_EQ(L.w, 0);
    CHECK(!vs_machine_display_size(&g_m, 0, NULL, NULL));
    /* Flushing a resource that is not shown is fine and reports nothing. */
    unsigned updates = L.updates;
    CHECK_EQ(flush(30, 0, 0, 64, 64), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(L.updates, updates);
    CHECK_EQ(unref(30), VIRTIO_GPU_RESP_OK_NODATA);
}

static void test_cursor(void)
{
    CHECK_EQ(create(40, VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, 64, 64), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(create(41, VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, 32, 32), VIRTIO_GPU_RESP_OK_NODATA);
    /* The cursor image: first pixel B=1 G=2 R=3 A=4 in guest memory. */
    static const uint8_t px[4] = { 1, 2, 3, 4 };
    memcpy(g_ram, px, 4);
    uint64_t a = RAM_BASE;
    uint32_t l = 64 * 64 * 4;
    CHECK_EQ(attach(40, 1, &a, &l), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(transfer(40, 0, 0, 64, 64, 0), VIRTIO_GPU_RESP_OK_NODATA);

    unsigned defines = L.defines;
    CHECK_EQ(cursor(VIRTIO_GPU_CMD_UPDATE_CURSOR, 999, 0, 0, 0, 0),
             VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    CHECK_EQ(cursor(VIRTIO_GPU_CMD_UPDATE_CURSOR, 41, 0, 0, 0, 0),
             VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    CHECK_EQ(cursor(VIRTIO_GPU_CMD_UPDATE_CURSOR, 40, 0, 0, 64, 0),
             VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER);
    req(VIRTIO_GPU_CMD_UPDATE_CURSOR, 8, 1, 0, 0, 0, 40, 0, 0, 0);
    CHECK_EQ(send_q(GPU_CURSORQ), VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID);
    CHECK_EQ(L.defines, defines);
    CHECK_EQ(cursor(VIRTIO_GPU_CMD_UPDATE_CURSOR, 40, 100, -5, 3, 7), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(L.defines, defines + 1);
    CHECK_EQ(L.cw, 64);
    CHECK_EQ(L.ch, 64);
    CHECK_EQ(L.hot_x, 3);
    CHECK_EQ(L.hot_y, 7);
    CHECK_EQ(L.cursor0, 0x04030201u);
    CHECK_EQ(L.mx, 100);
    CHECK_EQ(L.my, -5);
    unsigned moves = L.moves;
    CHECK_EQ(cursor(VIRTIO_GPU_CMD_MOVE_CURSOR, 0, 200, 300, 0, 0), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(L.moves, moves + 1);
    CHECK_EQ(L.mx, 200);
    CHECK_EQ(L.my, 300);
    CHECK_EQ(L.defines, defines + 1);
    /* Resource 0 hides it. */
    CHECK_EQ(cursor(VIRTIO_GPU_CMD_UPDATE_CURSOR, 0, 0, 0, 0, 0), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(L.defines, defines + 2);
    CHECK_EQ(L.cw, 0);
    /* Cursor commands without a response buffer are fine too (Linux sends none). */
    req(VIRTIO_GPU_CMD_MOVE_CURSOR, 8, 0, 1, 2, 0, 0, 0, 0, 0);
    uint32_t w = 99;
    send_split(GPU_CURSORQ, 0, 0, &w);
    CHECK_EQ(w, 0);
    unref(40);
    unref(41);
}

/* ---- through a real controlq ring ---- */

#define DESC   (RAM_BASE + 0x300000)
#define AVAIL  (RAM_BASE + 0x301000)
#define USED   (RAM_BASE + 0x302000)
#define REQBUF (RAM_BASE + 0x303000)
#define RSPBUF (RAM_BASE + 0x304000)

static void test_ring_and_reset(void)
{
    VirtioDevice *dev = g_dev;
    virtio_dev_reset(dev);
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_dev_set_driver_features(dev, 0, 1u << VIRTIO_GPU_F_EDID);
    virtio_dev_set_driver_features(dev, 1, 1u); /* VERSION_1 */
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                   VIRTIO_STATUS_FEATURES_OK);
    CHECK(virtio_dev_status(dev) & VIRTIO_STATUS_FEATURES_OK);
    VirtQueue *vq = &dev->queues[GPU_CONTROLQ];
    vq->size = 16;
    vq->desc_addr = DESC;
    vq->avail_addr = AVAIL;
    vq->used_addr = USED;
    CHECK(virtio_dev_queue_set_ready(dev, GPU_CONTROLQ, true));
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    CHECK(virtio_dev_running(dev));

    /* Request: RESOURCE_CREATE_2D with a fence; then GET_EDID. */
    uint8_t *ram = g_ram;
    for (unsigned i = 0; i < 2; i++) {
        uint8_t r[64] = { 0 };
        uint32_t len;
        if (i == 0) {
            put32(r, VIRTIO_GPU_CMD_RESOURCE_CREATE_2D);
            put32(r + 4, VIRTIO_GPU_FLAG_FENCE);
            put64(r + 8, 42);
            put32(r + 24, 50);
            put32(r + 28, VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM);
            put32(r + 32, 64);
            put32(r + 36, 64);
            len = 40;
        } else {
            put32(r, VIRTIO_GPU_CMD_GET_EDID);
            len = 32;
        }
        memcpy(ram + (REQBUF - RAM_BASE) + i * 64, r, len);
        uint8_t *d = ram + (DESC - RAM_BASE) + i * 32;
        put64(d, REQBUF + i * 64);
        put32(d + 8, len);
        d[12] = VIRTQ_DESC_F_NEXT;
        d[13] = 0;
        d[14] = (uint8_t)(i * 2 + 1);
        d[15] = 0;
        put64(d + 16, RSPBUF + i * 2048);
        put32(d + 24, 2048);
        d[28] = VIRTQ_DESC_F_WRITE;
        ram[(AVAIL - RAM_BASE) + 4 + i * 2] = (uint8_t)(i * 2);
    }
    ram[(AVAIL - RAM_BASE) + 2] = 2; /* avail.idx */
    CHECK(virtio_dev_queue_notify(dev, GPU_CONTROLQ));
    CHECK_EQ(ram[(USED - RAM_BASE) + 2], 2); /* used.idx */
    const uint8_t *used = ram + (USED - RAM_BASE) + 4;
    CHECK_EQ(get32(used + 0), 0);
    CHECK_EQ(get32(used + 4), GPU_HDR_SIZE);
    CHECK_EQ(get32(used + 8), 2);
    CHECK_EQ(get32(used + 12), GPU_RESP_EDID_SIZE);
    const uint8_t *rsp = ram + (RSPBUF - RAM_BASE);
    CHECK_EQ(get32(rsp), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(get32(rsp + 4), VIRTIO_GPU_FLAG_FENCE);
    CHECK_EQ(get64(rsp + 8), 42);
    CHECK_EQ(get32(rsp + 2048), VIRTIO_GPU_RESP_OK_EDID);

    /* Reset drops every resource (the id is free again) and disables the scanout. */
    CHECK_EQ(set_scanout(0, 50, 0, 0, 64, 64), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK(vs_machine_display_size(&g_m, 0, NULL, NULL));
    virtio_dev_reset(dev);
    CHECK(!vs_machine_display_size(&g_m, 0, NULL, NULL));
    CHECK_EQ(L.w, 0);
    CHECK_EQ(create(50, VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM, 8, 8), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(unref(50), VIRTIO_GPU_RESP_OK_NODATA);
}

static void test_listener_replay(void)
{
    CHECK_EQ(create(60, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 100, 50), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(set_scanout(0, 60, 0, 0, 100, 50), VIRTIO_GPU_RESP_OK_NODATA);
    VsError err;
    CHECK_EQ(vs_machine_set_display_listener(&g_m, NULL, &err), VS_OK);
    unsigned resizes = L.resizes;
    CHECK_EQ(flush(60, 0, 0, 100, 50), VIRTIO_GPU_RESP_OK_NODATA);
    CHECK_EQ(L.resizes, resizes);
    /* A new listener hears about the active scanout at once. */
    VsDisplayListener l = { .resize = on_resize, .update = on_update };
    L.w = L.h = 0;
    CHECK_EQ(vs_machine_set_display_listener(&g_m, &l, &err), VS_OK);
    CHECK_EQ(L.resizes, resizes + 1);
    CHECK_EQ(L.w, 100);
    CHECK_EQ(L.h, 50);
    CHECK_EQ(unref(60), VIRTIO_GPU_RESP_OK_NODATA);
}

/*
 * A front end reading from another thread sees whole frames: the guest flushes frames of one
 * colour each (and switches between two sizes), the reader checks every image it gets is
 * one colour.
 */
static _Atomic bool g_reader_stop;
static _Atomic unsigned g_reads_ok, g_torn;

static void *reader(void *arg)
{
    (void)arg;
    static uint32_t buf[64 * 64];
    while (!atomic_load(&g_reader_stop)) {
        unsigned w, h;
        if (!vs_machine_display_size(&g_m, 0, &w, &h))
            continue;
        if (!vs_machine_display_read(&g_m, 0, 0, 0, w, h, buf, (size_t)w * 4))
            continue; /* the size changed in between */
        for (unsigned i = 1; i < w * h; i++) {
            if (buf[i] != buf[0]) {
                atomic_fetch_add(&g_torn, 1);
                break;
            }
        }
        atomic_fetch_add(&g_reads_ok, 1);
    }
    return NULL;
}

static void test_concurrent_reads(void)
{
    VsError err;
    CHECK_EQ(vs_machine_set_display_listener(&g_m, NULL, &err), VS_OK);
    CHECK_EQ(create(70, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 64, 64), VIRTIO_GPU_RESP_OK_NODATA);
    uint64_t a = RAM_BASE;
    uint32_t l = 64 * 64 * 4;
    CHECK_EQ(attach(70, 1, &a, &l), VIRTIO_GPU_RESP_OK_NODATA);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, reader, NULL) == 0);
    for (unsigned frame = 1; frame <= 400; frame++) {
        for (unsigned i = 0; i < 64 * 64; i++)
            put32(g_ram + i * 4, frame * 0x010203u & 0xffffffu);
        CHECK_EQ(transfer(70, 0, 0, 64, 64, 0), VIRTIO_GPU_RESP_OK_NODATA);
        unsigned side = frame % 50 < 25 ? 64 : 48;
        if (frame % 25 == 1)
            CHECK_EQ(set_scanout(0, 70, 0, 0, side, side), VIRTIO_GPU_RESP_OK_NODATA);
        else
            CHECK_EQ(flush(70, 0, 0, 64, 64), VIRTIO_GPU_RESP_OK_NODATA);
        while (atomic_load(&g_reads_ok) < frame / 4)
            sched_yield();
    }
    atomic_store(&g_reader_stop, true);
    pthread_join(t, NULL);
    CHECK(atomic_load(&g_reads_ok) >= 100);
    CHECK_EQ(atomic_load(&g_torn), 0);
    CHECK_EQ(unref(70), VIRTIO_GPU_RESP_OK_NODATA);
}

static void test_config(void)
{
    VsMachine m2 = { 0 };
    physmem_init(&m2.mem);
    m2.cfg.display = true;
    m2.cfg.display_width = 20;
    m2.cfg.display_height = 480;
    VsError err;
    CHECK_EQ(virtio_gpu_create(&m2, &err), VS_ERR_INVALID);
    CHECK(strstr(err.message, "20x480") != NULL);
    CHECK(m2.gpu == NULL);
    VsMachine m3 = { 0 };
    CHECK_EQ(vs_machine_set_display_listener(&m3, NULL, &err), VS_ERR_STATE);
    CHECK(!vs_machine_display_size(&m3, 0, NULL, NULL));

    /* Config space: num_scanouts 1, num_capsets 0. */
    uint32_t v = 0;
    CHECK(virtio_dev_read_config(g_dev, 8, &v, 4));
    CHECK_EQ(v, 1);
    CHECK(virtio_dev_read_config(g_dev, 12, &v, 4));
    CHECK_EQ(v, 0);
}

int main(void)
{
    machine_setup();
    test_display_info_and_edid();
    test_header_errors();
    test_create_limits();
    test_backing();
    test_scanout(VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM);
    test_scanout(VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM);
    test_scanout(VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM);
    test_scanout(VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM);
    test_scanout_disable();
    test_cursor();
    test_ring_and_reset();
    test_listener_replay();
    test_concurrent_reads();
    test_config();
    CHECK(atomic_load(&g_dev->guest_errors) > 0);
    g_destroy(g_owner);
    CHECK(g_m.gpu == NULL);
    physmem_destroy(&g_m.mem);
    printf("virtio-gpu: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
