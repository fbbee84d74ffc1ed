/* SPDX-License-Identifier: MIT */
/*
 * virtio-gpu, 2D only (virtio 1.2 section 5.7): one scanout, no VIRGL, EDID offered.
 *
 * Queues: 0 controlq, 1 cursorq. Every command is executed synchronously on the I/O thread
 * before its response is pushed, so a fenced command (VIRTIO_GPU_FLAG_FENCE) is complete
 * when the driver sees its response; the response copies the flag, fence_id and ctx_id.
 *
 * Resources are host images in the guest's byte order (4 bytes per pixel for every one of
 * the 8 formats, rows width * 4 apart). TRANSFER_TO_HOST_2D copies from the guest pages
 * attached as backing; RESOURCE_FLUSH converts the flushed part that the scanout shows
 * into the scanout surface (XRGB8888), which front ends read with
 * vs_machine_display_read() from any thread (surf_lock), and reports the rectangle to the
 * display listener. So a front end sees what the guest flushed, as on a real display.
 *
 * The guest is hostile. Choices where the spec names no error:
 * - A request shorter than its command structure (for ATTACH_BACKING: than its header and
 *   nr_entries entries), an unknown command, a controlq command
 *   on the cursorq (or the reverse), GET_EDID without the EDID feature, attaching backing
 *   to a resource that has some, detaching or transferring without backing: ERR_UNSPEC
 *   (as QEMU does).
 * - Resource id 0, an id in use (create) or unknown (other commands):
 *   ERR_INVALID_RESOURCE_ID. Scanout id other than 0: ERR_INVALID_SCANOUT_ID.
 * - Unknown format, width or height 0, a rectangle not inside the resource, an empty or
 *   uncovered scanout rectangle, a transfer reaching past the backing, backing with 0 or
 *   more than GPU_MAX_BACKING_ENTRIES entries or an entry of length 0 / not entirely in
 *   guest RAM, a cursor resource that is not 64x64 or a hot spot outside it:
 *   ERR_INVALID_PARAMETER.
 * - A resource wider or taller than GPU_MAX_DIM, more than GPU_MAX_RESOURCES resources,
 *   or host memory (images + backing tables) beyond GPU_HOSTMEM_MAX: ERR_OUT_OF_MEMORY.
 * - A response buffer smaller than the response gets what fits (the command still runs).
 * All sizes are computed in 64 bits from 32-bit guest values, so nothing overflows. Host
 * memory is the images and backing tables (at most GPU_HOSTMEM_MAX) plus the scanout
 * surface, which is no larger than the resource it shows.
 *
 * A device reset (the driver's or the machine's) drops every resource, disables the
 * scanout (the listener gets a 0 x 0 resize) and hides the cursor.
 *
 * Threads: command processing, resets (through vs_iothread_run_sync) and the listener
 * calls all run on the I/O thread, so the resource table and the listener need no lock.
 * The listener is called without any lock held, so it may call vs_machine_display_read().
 */
#include <endian.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/vdev.h"
#include "virtio/virtio-gpu.h"

typedef struct GpuBacking {
    uint8_t *host;  /* guest RAM, validated at attach */
    uint64_t start; /* offset of this entry in the backing store */
    uint32_t len;
} GpuBacking;

typedef struct GpuResource {
    uint32_t id, format, width, height;
    uint8_t *image; /* width * height * 4 bytes, guest byte order */
    GpuBacking *backing;
    uint32_t nbacking;
    uint64_t backing_len;
} GpuResource;

typedef struct GpuRect {
    uint32_t x, y, w, h;
} GpuRect;

typedef struct VirtioGpu {
    VirtioDevice dev;
    VsMachine *m;
    unsigned width, height; /* the preferred mode */
    uint8_t edid[128];
    uint32_t events_read;

    /* I/O thread only. */
    GpuResource **res;
    unsigned nres;
    uint64_t hostmem;
    uint32_t scanout_res; /* 0: scanout disabled */
    GpuRect scanout;      /* the part of scanout_res shown */
    bool cursor_visible;
    uint32_t cursor[GPU_CURSOR_SIZE * GPU_CURSOR_SIZE];
    uint32_t cursor_hot_x, cursor_hot_y;
    int32_t cursor_x, cursor_y;
    bool has_listener;
    VsDisplayListener listener;
    VirtqElem *elem;

    /* The scanout surface front ends read (any thread). */
    pthread_mutex_t surf_lock;
    uint32_t *surf; /* XRGB8888, surf_w * surf_h; NULL when disabled */
    unsigned surf_w, surf_h;
} VirtioGpu;

/* ---- little-endian wire access ---- */

static uint32_t ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return le32toh(v);
}

static uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return le64toh(v);
}

static void st32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

static void st64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, 8);
}

static GpuRect ld_rect(const uint8_t *p)
{
    return (GpuRect){ ld32(p), ld32(p + 4), ld32(p + 8), ld32(p + 12) };
}

/* r lies inside a width x height image (64-bit sums: no wrap-around). */
static bool rect_inside(GpuRect r, uint32_t width, uint32_t height)
{
    return (uint64_t)r.x + r.w <= width && (uint64_t)r.y + r.h <= height;
}

/* ---- pixel formats ---- */

/* Byte offsets of R, G, B and A (-1: none) in a pixel of each format. */
static bool format_layout(uint32_t format, int *r, int *g, int *b, int *a)
{
    static const struct {
        uint32_t format;
        int8_t r, g, b, a;
    } layouts[] = {
        { VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM, 2, 1, 0, 3 },
        { VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 2, 1, 0, -1 },
        { VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM, 1, 2, 3, 0 },
        { VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM, 1, 2, 3, -1 },
        { VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM, 0, 1, 2, 3 },
        { VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM, 3, 2, 1, -1 },
        { VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM, 3, 2, 1, 0 },
        { VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM, 0, 1, 2, -1 },
    };
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        if (layouts[i].format == format) {
            *r = layouts[i].r;
            *g = layouts[i].g;
            *b = layouts[i].b;
            *a = layouts[i].a;
            return true;
        }
    }
    return false;
}

/* n pixels of `format` to host-order 0xAARRGGBB words. Without with_alpha the top byte is 0
 * (XRGB8888); with it, formats that have no alpha are opaque (0xff). */
static void convert_row(uint32_t *dst, const uint8_t *src, unsigned n, uint32_t format,
                        bool with_alpha)
{
    int r, g, b, a;
    if (!format_layout(format, &r, &g, &b, &a))
        return;
    for (unsigned i = 0; i < n; i++, src += 4) {
        uint32_t alpha = 0;
        if (with_alpha)
            alpha = a < 0 ? 0xffu : src[a];
        dst[i] = alpha << 24 | (uint32_t)src[r] << 16 | (uint32_t)src[g] << 8 | src[b];
    }
}

/* ---- resources ---- */

static GpuResource *find_resource(VirtioGpu *g, uint32_t id)
{
    if (!id)
        return NULL;
    for (unsigned i = 0; i < g->nres; i++)
        if (g->res[i]->id == id)
            return g->res[i];
    return NULL;
}

static void detach_backing(VirtioGpu *g, GpuResource *r)
{
    g->hostmem -= (uint64_t)r->nbacking * sizeof(GpuBacking);
    free(r->backing);
    r->backing = NULL;
    r->nbacking = 0;
    r->backing_len = 0;
}

static void free_resource(VirtioGpu *g, GpuResource *r)
{
    detach_backing(g, r);
    g->hostmem -= (uint64_t)r->width * r->height * 4;
    free(r->image);
    free(r);
}

/* Copy len bytes at offset `off` of r's backing store into dst (the caller checked that
 * [off, off + len) lies inside backing_len). */
static void backing_read(const GpuResource *r, uint64_t off, uint8_t *dst, uint64_t len)
{
    /* The entry holding off: binary search on the start offsets. */
    uint32_t lo = 0, hi = r->nbacking;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->backing[mid].start <= off)
            lo = mid;
        else
            hi = mid;
    }
    for (uint32_t i = lo; len && i < r->nbacking; i++) {
        const GpuBacking *b = &r->backing[i];
        uint64_t in = off - b->start;
        uint64_t n = b->len - in;
        if (n > len)
            n = len;
        memcpy(dst, b->host + in, n);
        dst += n;
        off += n;
        len -= n;
    }
}

/* ---- the display: surface, listener ---- */

static void listener_resize(VirtioGpu *g, unsigned w, unsigned h)
{
    if (g->has_listener && g->listener.resize)
        g->listener.resize(g->listener.opaque, 0, w, h);
}

static void listener_update(VirtioGpu *g, unsigned x, unsigned y, unsigned w, unsigned h)
{
    if (g->has_listener && g->listener.update)
        g->listener.update(g->listener.opaque, 0, x, y, w, h);
}

static void listener_cursor(VirtioGpu *g)
{
    if (!g->has_listener)
        return;
    if (g->listener.cursor_define) {
        if (g->cursor_visible)
            g->listener.cursor_define(g->listener.opaque, GPU_CURSOR_SIZE, GPU_CURSOR_SIZE,
                                      g->cursor_hot_x, g->cursor_hot_y, g->cursor);
        else
            g->listener.cursor_define(g->listener.opaque, 0, 0, 0, 0, NULL);
    }
    if (g->cursor_visible && g->listener.cursor_move)
        g->listener.cursor_move(g->listener.opaque, 0, g->cursor_x, g->cursor_y);
}

static void disable_scanout(VirtioGpu *g)
{
    bool was = g->scanout_res != 0;
    g->scanout_res = 0;
    g->scanout = (GpuRect){ 0, 0, 0, 0 };
    pthread_mutex_lock(&g->surf_lock);
    free(g->surf);
    g->surf = NULL;
    g->surf_w = g->surf_h = 0;
    pthread_mutex_unlock(&g->surf_lock);
    if (was)
        listener_resize(g, 0, 0);
}

/* Convert rect r (resource coordinates, inside the scanout rectangle) of the scanout's
 * resource into the surface. surf_lock held. */
static void surface_copy(VirtioGpu *g, const GpuResource *res, GpuRect r)
{
    size_t stride = (size_t)res->width * 4;
    for (uint32_t row = 0; row < r.h; row++) {
        const uint8_t *src = res->image + (size_t)(r.y + row) * stride + (size_t)r.x * 4;
        uint32_t *dst =
            g->surf + (size_t)(r.y - g->scanout.y + row) * g->surf_w + (r.x - g->scanout.x);
        convert_row(dst, src, r.w, res->format, false);
    }
}

/* ---- commands ---- */

typedef struct GpuCmd {
    VirtioGpu *g;
    const VirtqElem *e;
    uint8_t req[64]; /* the fixed part of the request */
    uint32_t type;
} GpuCmd;

/* The request is at least `size` bytes. */
static bool req_has(const GpuCmd *c, size_t size)
{
    return c->e->out_len >= size;
}

static uint32_t cmd_create_2d(GpuCmd *c)
{
    VirtioGpu *g = c->g;
    if (!req_has(c, GPU_HDR_SIZE + 16))
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    uint32_t id = ld32(c->req + 24), format = ld32(c->req + 28);
    uint32_t width = ld32(c->req + 32), height = ld32(c->req + 36);
    int r_, g_, b_, a_;
    if (!id || find_resource(g, id))
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (!format_layout(format, &r_, &g_, &b_, &a_) || !width || !height)
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    if (width > GPU_MAX_DIM || height > GPU_MAX_DIM || g->nres >= GPU_MAX_RESOURCES)
        return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
    uint64_t bytes = (uint64_t)width * height * 4;
    if (bytes > GPU_HOSTMEM_MAX - g->hostmem)
        return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
    GpuResource *r = calloc(1, sizeof(*r));
    GpuResource **table = realloc(g->res, (g->nres + 1) * sizeof(*table));
    if (table)
        g->res = table;
    uint8_t *image = r && table ? calloc(1, bytes) : NULL;
    if (!image) {
        free(r);
        return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
    }
    r->id = id;
    r->format = format;
    r->width = width;
    r->height = height;
    r->image = image;
    g->hostmem += bytes;
    g->res[g->nres++] = r;
    return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_unref(GpuCmd *c)
{
    VirtioGpu *g = c->g;
    if (!req_has(c, GPU_HDR_SIZE + 8))
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    uint32_t id = ld32(c->req + 24);
    for (unsigned i = 0; i < g->nres; i++) {
        if (g->res[i]->id != id || !id)
            continue;
        if (g->scanout_res == id)
            disable_scanout(g);
        free_resource(g, g->res[i]);
        g->res[i] = g->res[--g->nres];
        return VIRTIO_GPU_RESP_OK_NODATA;
    }
    return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
}

static uint32_t cmd_attach_backing(GpuCmd *c)
{
    VirtioGpu *g = c->g;
    const VirtqElem *e = c->e;
    if (!req_has(c, GPU_HDR_SIZE + 8))
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    GpuResource *r = find_resource(g, ld32(c->req + 24));
    uint32_t n = ld32(c->req + 28);
    if (!r)
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (r->backing)
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    if (!n || n > GPU_MAX_BACKING_ENTRIES)
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    if (e->out_len - (GPU_HDR_SIZE + 8) < (uint64_t)n * GPU_MEM_ENTRY_SIZE)
        return VIRTIO_GPU_RESP_ERR_UNSPEC; /* the entries are not all there */
    uint64_t table = (uint64_t)n * sizeof(GpuBacking);
    if (table > GPU_HOSTMEM_MAX - g->hostmem)
        return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
    GpuBacking *b = malloc(table);
    uint8_t *ents = malloc((size_t)n * GPU_MEM_ENTRY_SIZE);
    if (!b || !ents) {
        free(b);
        free(ents);
        return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
    }
    iov_to_buf(virtq_elem_out((VirtqElem *)e), e->out_num, GPU_HDR_SIZE + 8, ents,
               (size_t)n * GPU_MEM_ENTRY_SIZE);
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *ent = ents + (size_t)i * GPU_MEM_ENTRY_SIZE;
        uint64_t addr = ld64(ent);
        uint32_t len = ld32(ent + 8);
        /* physmem_host_ptr checks that [addr, addr + len) lies in one RAM region. */
        uint8_t *host = len ? physmem_host_ptr(g->dev.mem, addr, len, false) : NULL;
        if (!host) {
            free(b);
            free(ents);
            return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        }
        b[i] = (GpuBacking){ host, total, len };
        total += len; /* at most 2^16 * 2^32: no overflow */
    }
    free(ents);
    r->backing = b;
    r->nbacking = n;
    r->backing_len = total;
    g->hostmem += table;
    return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_detach_backing(GpuCmd *c)
{
    if (!req_has(c, GPU_HDR_SIZE + 8))
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    GpuResource *r = find_resource(c->g, ld32(c->req + 24));
    if (!r)
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (!r->backing)
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    detach_backing(c->g, r);
    return VIRTIO_GPU_RESP_OK_NODATA;
}

/*
 * Row i of the rectangle comes from the backing at offset + i * stride, where stride is the
 * resource's (width * 4): the backing is laid out like the image, and `offset` is where
 * the rectangle's first pixel is (Linux passes y * pitch + x * 4).
 */
static uint32_t cmd_transfer_to_host_2d(GpuCmd *c)
{
    if (!req_has(c, GPU_HDR_SIZE + 32))
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    GpuRect rect = ld_rect(c->req + 24);
    uint64_t offset = ld64(c->req + 40);
    GpuResource *r = find_resource(c->g, ld32(c->req + 48));
    if (!r)
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (!r->backing)
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    if (!rect_inside(rect, r->width, r->height))
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    if (!rect.w || !rect.h)
        return VIRTIO_GPU_RESP_OK_NODATA;
    uint64_t stride = (uint64_t)r->width * 4;
    uint64_t span = (uint64_t)(rect.h - 1) * stride + (uint64_t)rect.w * 4;
    if (offset > r->backing_len || span > r->backing_len - offset)
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    for (uint32_t i = 0; i < rect.h; i++)
        backing_read(r, offset + i * stride,
                     r->image + (rect.y + i) * stride + (uint64_t)rect.x * 4, (uint64_t)rect.w * 4);
    return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_set_scanout(GpuCmd *c)
{
    VirtioGpu *g = c->g;
    if (!req_has(c, GPU_HDR_SIZE + 24))
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    GpuRect rect = ld_rect(c->req + 24);
    uint32_t scanout = ld32(c->req + 40), id = ld32(c->req + 44);
    if (scanout != 0)
        return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    if (!id) {
        disable_scanout(g);
        return VIRTIO_GPU_RESP_OK_NODATA;
    }
    GpuResource *r = find_resource(g, id);
    if (!r)
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (!rect.w || !rect.h || !rect_inside(rect, r->width, r->height))
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;

    bool resized = rect.w != g->surf_w || rect.h != g->surf_h;
    pthread_mutex_lock(&g->surf_lock);
    if (resized) {
        uint32_t *s = malloc((size_t)rect.w * rect.h * 4);
        if (!s) {
            pthread_mutex_unlock(&g->surf_lock);
            return VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
        }
        free(g->surf);
        g->surf = s;
        g->surf_w = rect.w;
        g->surf_h = rect.h;
    }
    g->scanout_res = id;
    g->scanout = rect;
    surface_copy(g, r, rect);
    pthread_mutex_unlock(&g->surf_lock);
    if (resized)
        listener_resize(g, rect.w, rect.h);
    listener_update(g, 0, 0, rect.w, rect.h);
    return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_flush(GpuCmd *c)
{
    VirtioGpu *g = c->g;
    if (!req_has(c, GPU_HDR_SIZE + 24))
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    GpuRect rect = ld_rect(c->req + 24);
    GpuResource *r = find_resource(g, ld32(c->req + 40));
    if (!r)
        return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
    if (!rect_inside(rect, r->width, r->height))
        return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
    if (g->scanout_res != r->id)
        return VIRTIO_GPU_RESP_OK_NODATA;
    /* The part of the flushed rectangle the scanout shows. */
    GpuRect s = g->scanout;
    uint32_t x0 = rect.x > s.x ? rect.x : s.x, y0 = rect.y > s.y ? rect.y : s.y;
    uint64_t x1 = (uint64_t)rect.x + rect.w, y1 = (uint64_t)rect.y + rect.h;
    if (x1 > (uint64_t)s.x + s.w)
        x1 = (uint64_t)s.x + s.w;
    if (y1 > (uint64_t)s.y + s.h)
        y1 = (uint64_t)s.y + s.h;
    if (x1 <= x0 || y1 <= y0)
        return VIRTIO_GPU_RESP_OK_NODATA;
    GpuRect d = { x0, y0, (uint32_t)(x1 - x0), (uint32_t)(y1 - y0) };
    pthread_mutex_lock(&g->surf_lock);
    surface_copy(g, r, d);
    pthread_mutex_unlock(&g->surf_lock);
    listener_update(g, d.x - s.x, d.y - s.y, d.w, d.h);
    return VIRTIO_GPU_RESP_OK_NODATA;
}

static uint32_t cmd_update_cursor(GpuCmd *c)
{
    VirtioGpu *g = c->g;
    if (!req_has(c, GPU_HDR_SIZE + 32))
        return VIRTIO_GPU_RESP_ERR_UNSPEC;
    uint32_t scanout = ld32(c->req + 24);
    int32_t x = (int32_t)ld32(c->req + 28), y = (int32_t)ld32(c->req + 32);
    if (scanout != 0)
        return VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
    if (c->type == VIRTIO_GPU_CMD_MOVE_CURSOR) {
        g->cursor_x = x;
        g->cursor_y = y;
        if (g->cursor_visible && g->has_listener && g->listener.cursor_move)
            g->listener.cursor_move(g->listener.opaque, 0, x, y);
        return VIRTIO_GPU_RESP_OK_NODATA;
    }
    uint32_t id = ld32(c->req + 40), hot_x = ld32(c->req + 44), hot_y = ld32(c->req + 48);
    if (id) {
        GpuResource *r = find_resource(g, id);
        if (!r)
            return VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID;
        if (r->width != GPU_CURSOR_SIZE || r->height != GPU_CURSOR_SIZE ||
            hot_x >= GPU_CURSOR_SIZE || hot_y >= GPU_CURSOR_SIZE)
            return VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER;
        for (unsigned row = 0; row < GPU_CURSOR_SIZE; row++)
            convert_row(g->cursor + row * GPU_CURSOR_SIZE,
                        r->image + (size_t)row * GPU_CURSOR_SIZE * 4, GPU_CURSOR_SIZE, r->format,
                        true);
        g->cursor_hot_x = hot_x;
        g->cursor_hot_y = hot_y;
    }
    g->cursor_visible = id != 0;
    g->cursor_x = x;
    g->cursor_y = y;
    listener_cursor(g);
    return VIRTIO_GPU_RESP_OK_NODATA;
}

uint32_t virtio_gpu_process(VirtioDevice *dev, unsigned queue, const VirtqElem *e)
{
    VirtioGpu *g = dev->opaque;
    GpuCmd c = { .g = g, .e = e };
    uint8_t small[GPU_HDR_SIZE + 32];
    uint8_t *resp = small;
    size_t resp_len = GPU_HDR_SIZE;
    uint8_t *big = NULL;

    iov_to_buf(virtq_elem_out((VirtqElem *)e), e->out_num, 0, c.req, sizeof(c.req));
    c.type = ld32(c.req);
    uint32_t result = VIRTIO_GPU_RESP_ERR_UNSPEC;
    bool cursor_cmd =
        c.type == VIRTIO_GPU_CMD_UPDATE_CURSOR || c.type == VIRTIO_GPU_CMD_MOVE_CURSOR;
    if (!req_has(&c, GPU_HDR_SIZE) || cursor_cmd != (queue == GPU_CURSORQ)) {
        result = VIRTIO_GPU_RESP_ERR_UNSPEC;
    } else if (cursor_cmd) {
        result = cmd_update_cursor(&c);
    } else {
        switch (c.type) {
        case VIRTIO_GPU_CMD_GET_DISPLAY_INFO:
            big = calloc(1, GPU_DISPLAY_INFO_SIZE);
            if (!big) {
                result = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
                break;
            }
            /* pmodes[0]: rect (0, 0, width, height), enabled. */
            st32(big + GPU_HDR_SIZE + 8, g->width);
            st32(big + GPU_HDR_SIZE + 12, g->height);
            st32(big + GPU_HDR_SIZE + 16, 1);
            resp = big;
            resp_len = GPU_DISPLAY_INFO_SIZE;
            result = VIRTIO_GPU_RESP_OK_DISPLAY_INFO;
            break;
        case VIRTIO_GPU_CMD_GET_EDID:
            if (!(dev->driver_features & (1ull << VIRTIO_GPU_F_EDID)) ||
                !req_has(&c, GPU_HDR_SIZE + 8))
                break;
            if (ld32(c.req + 24) != 0) {
                result = VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID;
                break;
            }
            big = calloc(1, GPU_RESP_EDID_SIZE);
            if (!big) {
                result = VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY;
                break;
            }
            st32(big + GPU_HDR_SIZE, sizeof(g->edid));
            memcpy(big + GPU_HDR_SIZE + 8, g->edid, sizeof(g->edid));
            resp = big;
            resp_len = GPU_RESP_EDID_SIZE;
            result = VIRTIO_GPU_RESP_OK_EDID;
            break;
        case VIRTIO_GPU_CMD_RESOURCE_CREATE_2D: result = cmd_create_2d(&c); break;
        case VIRTIO_GPU_CMD_RESOURCE_UNREF: result = cmd_unref(&c); break;
        case VIRTIO_GPU_CMD_SET_SCANOUT: result = cmd_set_scanout(&c); break;
        case VIRTIO_GPU_CMD_RESOURCE_FLUSH: result = cmd_flush(&c); break;
        case VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D: result = cmd_transfer_to_host_2d(&c); break;
        case VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING: result = cmd_attach_backing(&c); break;
        case VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING: result = cmd_detach_backing(&c); break;
        default: break; /* capsets (num_capsets is 0), 3D, blob: ERR_UNSPEC */
        }
    }
    if (result >= VIRTIO_GPU_RESP_ERR_UNSPEC) {
        virtio_dev_guest_error(dev);
        resp = small;
        resp_len = GPU_HDR_SIZE;
    }
    memset(resp, 0, GPU_HDR_SIZE);
    st32(resp, result);
    if (req_has(&c, GPU_HDR_SIZE) && (ld32(c.req + 4) & VIRTIO_GPU_FLAG_FENCE)) {
        st32(resp + 4, VIRTIO_GPU_FLAG_FENCE);
        st64(resp + 8, ld64(c.req + 8));
        st32(resp + 16, ld32(c.req + 16)); /* ctx_id */
    }
    size_t written = iov_from_buf(virtq_elem_in((VirtqElem *)e), e->in_num, 0, resp, resp_len);
    free(big);
    return (uint32_t)written;
}

static void gpu_queue_notify(VirtioDevice *dev, unsigned queue)
{
    VirtioGpu *g = dev->opaque;
    /* A budget of commands per turn of the I/O thread, so a guest flooding the control
     * queue cannot starve the other devices; the rest wait for the next turn. */
    for (unsigned budget = 64;; budget--) {
        if (!budget) {
            vs_vdev_requeue(g->m, dev, queue);
            break;
        }
        virtio_dev_lock(dev);
        uint64_t epoch = virtio_dev_epoch(dev);
        int got = virtio_dev_pop(dev, queue, g->elem);
        virtio_dev_unlock(dev);
        if (got <= 0)
            break;
        /* Processed without dev->lock: listener calls must not run under it. A reset in
         * the meantime waits for us (it runs on this thread) and discards the push. */
        uint32_t written = virtio_gpu_process(dev, queue, g->elem);
        virtio_dev_lock(dev);
        bool pushed = virtio_dev_push(dev, queue, g->elem, written, epoch);
        virtio_dev_unlock(dev);
        if (pushed)
            virtio_notify_used(dev, queue);
    }
}

/* I/O thread: drop every resource, the scanout and the cursor. */
static void gpu_reset_io(void *arg)
{
    VirtioGpu *g = arg;
    disable_scanout(g);
    for (unsigned i = 0; i < g->nres; i++)
        free_resource(g, g->res[i]);
    g->nres = 0;
    if (g->cursor_visible) {
        g->cursor_visible = false;
        listener_cursor(g);
    }
    virtio_dev_lock(&g->dev);
    g->events_read = 0;
    virtio_dev_unlock(&g->dev);
}

static void gpu_reset(VirtioDevice *dev)
{
    VirtioGpu *g = dev->opaque;
    if (g->m && g->m->io)
        vs_iothread_run_sync(g->m->io, gpu_reset_io, g);
    else
        gpu_reset_io(g);
}

/* struct virtio_gpu_config: events_read, events_clear, num_scanouts, num_capsets. */
static void gpu_read_config(VirtioDevice *dev, uint32_t offset, void *buf, uint32_t len)
{
    VirtioGpu *g = dev->opaque;
    uint8_t cfg[16] = { 0 };
    virtio_dev_lock(dev);
    st32(cfg, g->events_read);
    virtio_dev_unlock(dev);
    st32(cfg + 8, 1);
    memcpy(buf, cfg + offset, len);
}

static void gpu_write_config(VirtioDevice *dev, uint32_t offset, const void *buf, uint32_t len)
{
    VirtioGpu *g = dev->opaque;
    /* events_clear (offset 4): write 1 to clear; a partial write clears what it covers. */
    uint8_t cfg[16] = { 0 };
    memcpy(cfg + offset, buf, len);
    virtio_dev_lock(dev);
    g->events_read &= ~ld32(cfg + 4);
    virtio_dev_unlock(dev);
}

static const VirtioDeviceOps gpu_ops = {
    .name = "virtio-gpu",
    .device_id = VIRTIO_ID_GPU,
    .features = 1ull << VIRTIO_GPU_F_EDID,
    .caps = VIRTIO_DEV_CAP_EVENT_IDX | VIRTIO_DEV_CAP_INDIRECT_DESC,
    .num_queues = 2,
    .queue_max_size = 256,
    .config_size = 16,
    .read_config = gpu_read_config,
    .write_config = gpu_write_config,
    .queue_notify = gpu_queue_notify,
    .reset = gpu_reset,
};

/* ---- EDID 1.4 (VESA E-EDID), one block describing the preferred mode ---- */

static void edid_descriptor_text(uint8_t *d, uint8_t tag, const char *text)
{
    memset(d, 0, 18);
    d[3] = tag;
    size_t n = strlen(text);
    memset(d + 5, ' ', 13);
    memcpy(d + 5, text, n);
    if (n < 13)
        d[5 + n] = '\n';
}

static void build_edid(uint8_t *e, unsigned w, unsigned h)
{
    static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
    memset(e, 0, 128);
    memcpy(e, header, 8);
    /* Manufacturer "VSL" in 5-bit letters, big-endian; product 1; serial 0. */
    uint16_t mfg = (uint16_t)(('V' - '@') << 10 | ('S' - '@') << 5 | ('L' - '@'));
    e[8] = (uint8_t)(mfg >> 8);
    e[9] = (uint8_t)mfg;
    e[10] = 1;
    e[16] = 0;  /* week unspecified */
    e[17] = 35; /* model year 2025 */
    e[18] = 1;  /* EDID 1.4 */
    e[19] = 4;
    e[20] = 0x80; /* digital input, depth/interface undefined */
    unsigned wmm = w * 254 / 960, hmm = h * 254 / 960;      /* 96 dpi */
    e[21] = (uint8_t)((wmm + 5) / 10 ? (wmm + 5) / 10 : 1); /* size in cm */
    e[22] = (uint8_t)((hmm + 5) / 10 ? (hmm + 5) / 10 : 1);
    e[23] = 120;  /* gamma 2.2 */
    e[24] = 0x06; /* sRGB default, preferred timing is the native mode, RGB 4:4:4 */
    /* sRGB chromaticity (10-bit fixed point): R .640/.330 G .300/.600 B .150/.060 W .3127/.3290 */
    static const uint16_t chroma[8] = { 655, 338, 307, 614, 154, 61, 320, 337 };
    e[25] = (uint8_t)((chroma[0] & 3) << 6 | (chroma[1] & 3) << 4 | (chroma[2] & 3) << 2 |
                      (chroma[3] & 3));
    e[26] = (uint8_t)((chroma[4] & 3) << 6 | (chroma[5] & 3) << 4 | (chroma[6] & 3) << 2 |
                      (chroma[7] & 3));
    for (int i = 0; i < 8; i++)
        e[27 + i] = (uint8_t)(chroma[i] >> 2);
    e[35] = 0x21; /* established timings: 640x480@60, 800x600@60 */
    e[36] = 0x08; /* 1024x768@60 */
    for (int i = 38; i < 54; i++)
        e[i] = 0x01; /* no standard timings */

    /* Detailed timing, reduced blanking (CVT-RB like), 60 Hz. */
    uint8_t *d = e + 54;
    unsigned hblank = 160, hfront = 48, hsync = 32;
    unsigned vfront = 3, vsync = 6, vblank = h / 30 + 13;
    uint64_t clock = (uint64_t)(w + hblank) * (h + vblank) * 60 / 10000; /* 10 kHz units */
    if (clock > 0xffff)
        clock = 0xffff;
    d[0] = (uint8_t)clock;
    d[1] = (uint8_t)(clock >> 8);
    d[2] = (uint8_t)w;
    d[3] = (uint8_t)hblank;
    d[4] = (uint8_t)((w >> 8) << 4 | (hblank >> 8));
    d[5] = (uint8_t)h;
    d[6] = (uint8_t)vblank;
    d[7] = (uint8_t)((h >> 8) << 4 | (vblank >> 8));
    d[8] = (uint8_t)hfront;
    d[9] = (uint8_t)hsync;
    d[10] = (uint8_t)((vfront & 15) << 4 | (vsync & 15));
    d[11] = (uint8_t)((hfront >> 8) << 6 | (hsync >> 8) << 4 | (vfront >> 4) << 2 | (vsync >> 4));
    d[12] = (uint8_t)wmm;
    d[13] = (uint8_t)hmm;
    d[14] = (uint8_t)((wmm >> 8) << 4 | (hmm >> 8));
    d[17] = 0x1a; /* digital separate sync, hsync +, vsync - */

    /* Display range limits: 50-75 Hz vertical, 30-160 kHz horizontal, up to the clock. */
    d = e + 72;
    d[3] = 0xfd;
    d[5] = 50;
    d[6] = 75;
    d[7] = 30;
    d[8] = 160;
    unsigned max_mhz10 = (unsigned)((clock + 999) / 1000) + 1; /* in 10 MHz units */
    d[9] = (uint8_t)(max_mhz10 > 255 ? 255 : max_mhz10);
    d[10] = 0x01; /* range limits only */
    d[11] = 0x0a;
    memset(d + 12, ' ', 6);
    edid_descriptor_text(e + 90, 0xfc, "Vessel");
    edid_descriptor_text(e + 108, 0xff, "0");
    e[126] = 0; /* no extensions */
    uint8_t sum = 0;
    for (int i = 0; i < 127; i++)
        sum = (uint8_t)(sum + e[i]);
    e[127] = (uint8_t)(0x100 - sum);
}

/* ---- creation, destruction, the public display API ---- */

static void gpu_destroy(void *owner)
{
    VirtioGpu *g = owner;
    if (g->m && g->m->gpu == g)
        g->m->gpu = NULL;
    g->has_listener = false;
    gpu_reset_io(g);
    free(g->res);
    free(g->elem);
    virtio_dev_destroy(&g->dev);
    pthread_mutex_destroy(&g->surf_lock);
    free(g);
}

VsStatus virtio_gpu_create(VsMachine *m, VsError *err)
{
    const VsConfig *cfg = &m->cfg;
    unsigned w = cfg->display_width ? cfg->display_width : 1024;
    unsigned h = cfg->display_height ? cfg->display_height : 768;
    if (m->gpu)
        return vs_error_set(err, VS_ERR_INVALID, "only one virtio-gpu display is supported");
    if (w < GPU_MODE_MIN || w > GPU_MODE_MAX || h < GPU_MODE_MIN || h > GPU_MODE_MAX)
        return vs_error_set(err, VS_ERR_INVALID,
                            "display size %ux%u is not supported: use %u to %u pixels each way", w,
                            h, GPU_MODE_MIN, GPU_MODE_MAX);
    VirtioGpu *g = calloc(1, sizeof(*g));
    VirtqElem *elem = malloc(sizeof(*elem));
    if (!g || !elem) {
        free(g);
        free(elem);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory creating virtio-gpu");
    }
    g->m = m;
    g->elem = elem;
    g->width = w;
    g->height = h;
    build_edid(g->edid, w, h);
    pthread_mutex_init(&g->surf_lock, NULL);
    if (!virtio_dev_init(&g->dev, &gpu_ops, &m->mem, g)) {
        pthread_mutex_destroy(&g->surf_lock);
        free(elem);
        free(g);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot create virtio-gpu");
    }
    m->gpu = g;
    return vs_vdev_attach(m, "virtio-gpu", &g->dev, gpu_destroy, g, err);
}

typedef struct SetListener {
    VirtioGpu *g;
    const VsDisplayListener *listener;
} SetListener;

/* I/O thread: install the listener and tell it what is on screen now. */
static void set_listener_io(void *arg)
{
    SetListener *s = arg;
    VirtioGpu *g = s->g;
    g->has_listener = s->listener != NULL;
    if (s->listener)
        g->listener = *s->listener;
    else
        memset(&g->listener, 0, sizeof(g->listener));
    if (!g->has_listener)
        return;
    if (g->scanout_res) {
        listener_resize(g, g->scanout.w, g->scanout.h);
        listener_update(g, 0, 0, g->scanout.w, g->scanout.h);
    }
    if (g->cursor_visible)
        listener_cursor(g);
}

VsStatus vs_machine_set_display_listener(VsMachine *m, const VsDisplayListener *listener,
                                         VsError *err)
{
    VirtioGpu *g = m->gpu;
    if (!g)
        return vs_error_set(err, VS_ERR_STATE, "this machine has no display");
    SetListener s = { g, listener };
    vs_iothread_run_sync(m->io, set_listener_io, &s);
    return VS_OK;
}

bool vs_machine_display_size(VsMachine *m, unsigned scanout, unsigned *width, unsigned *height)
{
    VirtioGpu *g = m->gpu;
    if (!g || scanout != 0)
        return false;
    pthread_mutex_lock(&g->surf_lock);
    bool on = g->surf != NULL;
    if (width)
        *width = on ? g->surf_w : 0;
    if (height)
        *height = on ? g->surf_h : 0;
    pthread_mutex_unlock(&g->surf_lock);
    return on;
}

bool vs_machine_display_read(VsMachine *m, unsigned scanout, unsigned x, unsigned y, unsigned width,
                             unsigned height, void *buf, size_t stride)
{
    VirtioGpu *g = m->gpu;
    if (!g || scanout != 0 || !buf || stride < (size_t)width * 4)
        return false;
    pthread_mutex_lock(&g->surf_lock);
    bool ok = g->surf && (uint64_t)x + width <= g->surf_w && (uint64_t)y + height <= g->surf_h;
    for (unsigned row = 0; ok && row < height; row++)
        memcpy((uint8_t *)buf + row * stride, g->surf + (size_t)(y + row) * g->surf_w + x,
               (size_t)width * 4);
    pthread_mutex_unlock(&g->surf_lock);
    return ok;
}
