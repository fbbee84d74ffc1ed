/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "display.h"

void render_damage_clear(RenderDamage *d)
{
    d->n = 0;
}

static bool covers(RenderRect a, RenderRect b)
{
    return b.x >= a.x && b.y >= a.y && (uint64_t)b.x + b.w <= (uint64_t)a.x + a.w &&
           (uint64_t)b.y + b.h <= (uint64_t)a.y + a.h;
}

/* Overlapping or sharing an edge. */
static bool touches(RenderRect a, RenderRect b)
{
    return (uint64_t)a.x <= (uint64_t)b.x + b.w && (uint64_t)b.x <= (uint64_t)a.x + a.w &&
           (uint64_t)a.y <= (uint64_t)b.y + b.h && (uint64_t)b.y <= (uint64_t)a.y + a.h;
}

static RenderRect bbox(RenderRect a, RenderRect b)
{
    unsigned x0 = a.x < b.x ? a.x : b.x, y0 = a.y < b.y ? a.y : b.y;
    unsigned x1 = a.x + a.w > b.x + b.w ? a.x + a.w : b.x + b.w;
    unsigned y1 = a.y + a.h > b.y + b.h ? a.y + a.h : b.y + b.h;
    return (RenderRect){ x0, y0, x1 - x0, y1 - y0 };
}

void render_damage_add(RenderDamage *d, RenderRect r, unsigned width, unsigned height)
{
    /* Clip to the surface (64-bit: x + w may not fit). */
    if (r.x >= width || r.y >= height || !r.w || !r.h)
        return;
    if ((uint64_t)r.x + r.w > width)
        r.w = width - r.x;
    if ((uint64_t)r.y + r.h > height)
        r.h = height - r.y;
    for (;;) {
        bool merged = false;
        for (unsigned i = 0; i < d->n; i++) {
            if (covers(d->r[i], r))
                return;
            if (touches(d->r[i], r)) {
                /* Grow r by it and take it out; the grown r may now touch others. */
                r = bbox(d->r[i], r);
                d->r[i] = d->r[--d->n];
                merged = true;
                break;
            }
        }
        if (!merged)
            break;
    }
    if (d->n == RENDER_DAMAGE_MAX) {
        for (unsigned i = 0; i < d->n; i++)
            r = bbox(r, d->r[i]);
        d->n = 0;
    }
    d->r[d->n++] = r;
}

uint64_t render_damage_area(const RenderDamage *d)
{
    uint64_t a = 0;
    for (unsigned i = 0; i < d->n; i++)
        a += (uint64_t)d->r[i].w * d->r[i].h;
    return a;
}

void render_display_init(RenderDisplay *d, void (*wake)(void *opaque), void *wake_opaque)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->lock, NULL);
    d->wake = wake;
    d->wake_opaque = wake_opaque;
}

void render_display_destroy(RenderDisplay *d)
{
    free(d->cursor);
    d->cursor = NULL;
    pthread_mutex_destroy(&d->lock);
}

static void wake(RenderDisplay *d)
{
    if (d->wake)
        d->wake(d->wake_opaque);
}

static void on_resize(void *opaque, unsigned scanout, unsigned width, unsigned height)
{
    RenderDisplay *d = opaque;
    if (scanout != 0)
        return;
    pthread_mutex_lock(&d->lock);
    d->width = width;
    d->height = height;
    d->resized = true;
    render_damage_clear(&d->damage);
    render_damage_add(&d->damage, (RenderRect){ 0, 0, width, height }, width, height);
    pthread_mutex_unlock(&d->lock);
    wake(d);
}

static void on_update(void *opaque, unsigned scanout, unsigned x, unsigned y, unsigned w,
                      unsigned h)
{
    RenderDisplay *d = opaque;
    if (scanout != 0)
        return;
    pthread_mutex_lock(&d->lock);
    render_damage_add(&d->damage, (RenderRect){ x, y, w, h }, d->width, d->height);
    pthread_mutex_unlock(&d->lock);
    wake(d);
}

static void on_cursor_define(void *opaque, unsigned width, unsigned height, unsigned hot_x,
                             unsigned hot_y, const uint32_t *argb)
{
    RenderDisplay *d = opaque;
    uint32_t *copy = NULL;
    if (width && height && argb && width <= RENDER_CURSOR_MAX && height <= RENDER_CURSOR_MAX) {
        copy = malloc((size_t)width * height * 4);
        if (copy)
            memcpy(copy, argb, (size_t)width * height * 4);
    }
    pthread_mutex_lock(&d->lock);
    free(d->cursor);
    d->cursor = copy;
    d->cursor_w = copy ? width : 0;
    d->cursor_h = copy ? height : 0;
    d->cursor_hot_x = hot_x;
    d->cursor_hot_y = hot_y;
    d->cursor_changed = true;
    pthread_mutex_unlock(&d->lock);
    wake(d);
}

static void on_cursor_move(void *opaque, unsigned scanout, int x, int y)
{
    RenderDisplay *d = opaque;
    if (scanout != 0)
        return;
    pthread_mutex_lock(&d->lock);
    d->cursor_x = x;
    d->cursor_y = y;
    d->cursor_moved = true;
    pthread_mutex_unlock(&d->lock);
    wake(d);
}

VsDisplayListener render_display_listener(RenderDisplay *d)
{
    return (VsDisplayListener){
        .opaque = d,
        .resize = on_resize,
        .update = on_update,
        .cursor_define = on_cursor_define,
        .cursor_move = on_cursor_move,
    };
}

bool render_display_take(RenderDisplay *d, RenderChanges *out)
{
    pthread_mutex_lock(&d->lock);
    out->width = d->width;
    out->height = d->height;
    out->resized = d->resized;
    out->damage = d->damage;
    out->cursor_changed = d->cursor_changed;
    out->cursor_moved = d->cursor_moved;
    out->cursor_x = d->cursor_x;
    out->cursor_y = d->cursor_y;
    bool any = d->resized || d->damage.n || d->cursor_changed || d->cursor_moved;
    d->resized = d->cursor_changed = d->cursor_moved = false;
    render_damage_clear(&d->damage);
    pthread_mutex_unlock(&d->lock);
    return any;
}

bool render_display_cursor(RenderDisplay *d, uint32_t *buf, size_t max_pixels, unsigned *w,
                           unsigned *h, unsigned *hot_x, unsigned *hot_y)
{
    pthread_mutex_lock(&d->lock);
    bool ok = d->cursor && (size_t)d->cursor_w * d->cursor_h <= max_pixels;
    if (ok) {
        memcpy(buf, d->cursor, (size_t)d->cursor_w * d->cursor_h * 4);
        *w = d->cursor_w;
        *h = d->cursor_h;
        *hot_x = d->cursor_hot_x;
        *hot_y = d->cursor_hot_y;
    }
    pthread_mutex_unlock(&d->lock);
    return ok;
}
