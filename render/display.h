/* SPDX-License-Identifier: MIT */
/*
 * Tracking a machine's display from a front end (vessel/engine.h, Display).
 *
 * The engine calls its display listener on the I/O thread; a front end draws on its own
 * thread (the GTK main loop, a control thread). RenderDisplay sits between them: its
 * listener records the scanout size, the damaged rectangles and the cursor under a lock
 * and calls wake() so the front end can schedule a redraw; the front end then takes
 * what changed with render_display_take() and copies those rectangles with
 * vs_machine_display_read(). Front-end code: uses only the public engine header.
 */
#ifndef VESSEL_RENDER_DISPLAY_H
#define VESSEL_RENDER_DISPLAY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vessel/engine.h"

typedef struct RenderRect {
    unsigned x, y, w, h;
} RenderRect;

/*
 * Damage: a short list of rectangles inside a width x height surface. Adding clips to the
 * surface, skips what is already covered, merges a rectangle into one it overlaps or
 * touches (their bounding box), and collapses everything to one bounding box when the
 * list is full. So the union of the list always covers every rectangle added.
 */
#define RENDER_DAMAGE_MAX 16

typedef struct RenderDamage {
    unsigned n;
    RenderRect r[RENDER_DAMAGE_MAX];
} RenderDamage;

void render_damage_clear(RenderDamage *d);
void render_damage_add(RenderDamage *d, RenderRect r, unsigned width, unsigned height);
/* Total area of the list (an upper bound of the damaged area). */
uint64_t render_damage_area(const RenderDamage *d);

#define RENDER_CURSOR_MAX 256 /* cursor images up to 256 x 256 are kept */

typedef struct RenderDisplay {
    pthread_mutex_t lock;
    void (*wake)(void *opaque); /* something changed (I/O thread); may be NULL */
    void *wake_opaque;
    unsigned width, height; /* 0 x 0: disabled */
    bool resized;           /* since the last take */
    RenderDamage damage;
    /* Cursor. */
    bool cursor_changed, cursor_moved;
    unsigned cursor_w, cursor_h, cursor_hot_x, cursor_hot_y;
    uint32_t *cursor; /* ARGB8888, cursor_w * cursor_h; NULL: no cursor */
    int cursor_x, cursor_y;
} RenderDisplay;

/* What render_display_take() hands over. */
typedef struct RenderChanges {
    unsigned width, height;
    bool resized; /* redraw everything (damage then covers the whole surface) */
    RenderDamage damage;
    bool cursor_changed, cursor_moved;
    int cursor_x, cursor_y;
} RenderChanges;

void render_display_init(RenderDisplay *d, void (*wake)(void *opaque), void *wake_opaque);
void render_display_destroy(RenderDisplay *d);
/* The listener to give vs_machine_set_display_listener(); d must outlive it. */
VsDisplayListener render_display_listener(RenderDisplay *d);
/* Take (and reset) what changed since the last call; false when nothing did. */
bool render_display_take(RenderDisplay *d, RenderChanges *out);
/*
 * Copy the cursor image (ARGB8888) into buf of max_pixels; returns false when there is
 * no cursor or it does not fit. Sets the size and the hot spot.
 */
bool render_display_cursor(RenderDisplay *d, uint32_t *buf, size_t max_pixels, unsigned *w,
                           unsigned *h, unsigned *hot_x, unsigned *hot_y);

#endif
