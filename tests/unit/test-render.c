/* SPDX-License-Identifier: MIT */
/*
 * render/: the damage accumulator, the display tracker fed through its listener, and PNG
 * screendumps read back with libpng. The machine is a fake implementing the three Display
 * calls of the public API over an in-memory surface.
 */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "display.h"
#include "screendump.h"
#include "tmpdir.h"

/* ---- fake machine: a surface ---- */

struct VsMachine {
    unsigned w, h;
    uint32_t *px;
    unsigned reads;
};

VsStatus vs_machine_set_display_listener(VsMachine *m, const VsDisplayListener *l, VsError *err)
{
    (void)m;
    (void)l;
    (void)err;
    return VS_OK;
}

bool vs_machine_display_size(VsMachine *m, unsigned scanout, unsigned *w, unsigned *h)
{
    if (scanout || !m->px)
        return false;
    *w = m->w;
    *h = m->h;
    return true;
}

bool vs_machine_display_read(VsMachine *m, unsigned scanout, unsigned x, unsigned y, unsigned w,
                             unsigned h, void *buf, size_t stride)
{
    m->reads++;
    if (scanout || !m->px || (uint64_t)x + w > m->w || (uint64_t)y + h > m->h)
        return false;
    for (unsigned r = 0; r < h; r++)
        memcpy((uint8_t *)buf + r * stride, m->px + (size_t)(y + r) * m->w + x, (size_t)w * 4);
    return true;
}

/* ---- damage ---- */

static bool covered(const RenderDamage *d, unsigned x, unsigned y)
{
    for (unsigned i = 0; i < d->n; i++)
        if (x >= d->r[i].x && x < d->r[i].x + d->r[i].w && y >= d->r[i].y &&
            y < d->r[i].y + d->r[i].h)
            return true;
    return false;
}

static void test_damage(void)
{
    RenderDamage d;
    render_damage_clear(&d);
    CHECK_EQ(d.n, 0);
    render_damage_add(&d, (RenderRect){ 10, 10, 5, 5 }, 100, 100);
    CHECK_EQ(d.n, 1);
    /* Contained: no change. */
    render_damage_add(&d, (RenderRect){ 11, 11, 2, 2 }, 100, 100);
    CHECK_EQ(d.n, 1);
    CHECK_EQ(render_damage_area(&d), 25);
    /* Disjoint: a second rectangle. */
    render_damage_add(&d, (RenderRect){ 50, 50, 10, 10 }, 100, 100);
    CHECK_EQ(d.n, 2);
    /* Touching the first (shares its right edge): merged into the bounding box. */
    render_damage_add(&d, (RenderRect){ 15, 10, 5, 5 }, 100, 100);
    CHECK_EQ(d.n, 2);
    CHECK_EQ(render_damage_area(&d), 50 + 100);
    /* Clipped to the surface; empty and outside ones dropped; huge ones do not wrap. */
    render_damage_add(&d, (RenderRect){ 95, 0, 10, 1 }, 100, 100);
    CHECK(covered(&d, 99, 0));
    CHECK(!covered(&d, 94, 0));
    unsigned n = d.n;
    render_damage_add(&d, (RenderRect){ 100, 0, 10, 10 }, 100, 100);
    render_damage_add(&d, (RenderRect){ 0, 0, 0, 10 }, 100, 100);
    CHECK_EQ(d.n, n);
    render_damage_add(&d, (RenderRect){ 90, 90, 0xffffffffu, 0xffffffffu }, 100, 100);
    CHECK(covered(&d, 99, 99));
    for (unsigned i = 0; i < d.n; i++) {
        CHECK(d.r[i].x + d.r[i].w <= 100);
        CHECK(d.r[i].y + d.r[i].h <= 100);
    }
    /* Overflowing the list collapses to one box that still covers everything. */
    render_damage_clear(&d);
    for (unsigned i = 0; i < 40; i++)
        render_damage_add(&d, (RenderRect){ i * 7 % 200, i * 13 % 150, 2, 2 }, 200, 150);
    CHECK(d.n <= RENDER_DAMAGE_MAX);
    for (unsigned i = 0; i < 40; i++)
        CHECK(covered(&d, i * 7 % 200, i * 13 % 150));
}

/* ---- the tracker ---- */

static unsigned g_wakes;

static void wake(void *opaque)
{
    (void)opaque;
    g_wakes++;
}

static void test_display(void)
{
    RenderDisplay d;
    render_display_init(&d, wake, NULL);
    VsDisplayListener l = render_display_listener(&d);
    RenderChanges ch;
    CHECK(!render_display_take(&d, &ch));
    l.resize(l.opaque, 0, 640, 480);
    CHECK(render_display_take(&d, &ch));
    CHECK(ch.resized);
    CHECK_EQ(ch.width, 640);
    CHECK_EQ(ch.damage.n, 1);
    CHECK_EQ(render_damage_area(&ch.damage), 640 * 480);
    CHECK(!render_display_take(&d, &ch));
    l.update(l.opaque, 0, 10, 20, 30, 40);
    l.update(l.opaque, 0, 600, 470, 100, 100); /* clipped */
    l.update(l.opaque, 1, 0, 0, 10, 10);       /* another scanout: ignored */
    CHECK(render_display_take(&d, &ch));
    CHECK(!ch.resized);
    CHECK_EQ(ch.damage.n, 2);
    CHECK_EQ(render_damage_area(&ch.damage), 30 * 40 + 40 * 10);
    static const uint32_t argb[4] = { 0xff000000u, 0x80ffffffu, 1, 2 };
    l.cursor_define(l.opaque, 2, 2, 1, 0, argb);
    l.cursor_move(l.opaque, 0, -3, 7);
    CHECK(render_display_take(&d, &ch));
    CHECK(ch.cursor_changed && ch.cursor_moved);
    CHECK_EQ(ch.cursor_x, -3);
    CHECK_EQ(ch.cursor_y, 7);
    uint32_t buf[4];
    unsigned w, h, hx, hy;
    CHECK(!render_display_cursor(&d, buf, 3, &w, &h, &hx, &hy)); /* too small */
    CHECK(render_display_cursor(&d, buf, 4, &w, &h, &hx, &hy));
    CHECK_EQ(w, 2);
    CHECK_EQ(hx, 1);
    CHECK(memcmp(buf, argb, sizeof(argb)) == 0);
    l.cursor_define(l.opaque, 0, 0, 0, 0, NULL);
    CHECK(!render_display_cursor(&d, buf, 4, &w, &h, &hx, &hy));
    l.resize(l.opaque, 0, 0, 0);
    CHECK(render_display_take(&d, &ch));
    CHECK(ch.resized);
    CHECK_EQ(ch.width, 0);
    CHECK_EQ(ch.damage.n, 0);
    CHECK(g_wakes >= 7);
    render_display_destroy(&d);
}

/* ---- PNG ---- */

static bool read_png(const char *path, unsigned *w, unsigned *h, uint8_t **rgb)
{
    png_image img;
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        return false;
    img.format = PNG_FORMAT_RGB;
    *rgb = malloc(PNG_IMAGE_SIZE(img));
    if (!*rgb || !png_image_finish_read(&img, NULL, *rgb, 0, NULL)) {
        free(*rgb);
        png_image_free(&img);
        return false;
    }
    *w = img.width;
    *h = img.height;
    return true;
}

static void test_png(const char *dir)
{
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/a.png", dir);
    enum { W = 37, H = 21, STRIDE = 40 };
    static uint32_t px[STRIDE * H];
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < STRIDE; x++)
            px[y * STRIDE + x] = 0xff000000u | (x * 6) << 16 | (y * 12) << 8 | ((x ^ y) & 0xff);
    CHECK(render_write_png(path, px, W, H, STRIDE * 4, err, sizeof(err)));
    unsigned w = 0, h = 0;
    uint8_t *rgb = NULL;
    CHECK(read_png(path, &w, &h, &rgb));
    CHECK_EQ(w, W);
    CHECK_EQ(h, H);
    unsigned bad = 0;
    for (unsigned y = 0; rgb && y < H; y++) {
        for (unsigned x = 0; x < W; x++) {
            const uint8_t *p = rgb + (y * W + x) * 3;
            uint32_t v = px[y * STRIDE + x];
            bad += p[0] != (uint8_t)(v >> 16) || p[1] != (uint8_t)(v >> 8) || p[2] != (uint8_t)v;
        }
    }
    CHECK_EQ(bad, 0);
    free(rgb);
    /* Bad sizes and unwritable places fail with a message and leave nothing behind. */
    CHECK(!render_write_png(path, px, 0, H, STRIDE * 4, err, sizeof(err)));
    CHECK(!render_write_png(path, px, W, H, W * 4 - 4, err, sizeof(err)));
    char nodir[600];
    snprintf(nodir, sizeof(nodir), "%s/missing/b.png", dir);
    CHECK(!render_write_png(nodir, px, W, H, STRIDE * 4, err, sizeof(err)));
    CHECK(strstr(err, "No such file") != NULL);

    /* render_screendump through the fake machine. */
    VsMachine m = { 0 };
    VsError e;
    CHECK_EQ(render_screendump(&m, 0, path, &e), VS_ERR_STATE);
    CHECK(strstr(e.message, "no display image") != NULL);
    m.w = 8;
    m.h = 4;
    m.px = calloc(32, 4);
    m.px[31] = 0x00123456;
    snprintf(path, sizeof(path), "%s/dump.png", dir);
    CHECK_EQ(render_screendump(&m, 0, path, &e), VS_OK);
    CHECK(read_png(path, &w, &h, &rgb));
    CHECK_EQ(w, 8);
    CHECK_EQ(h, 4);
    CHECK(rgb && rgb[31 * 3] == 0x12 && rgb[31 * 3 + 1] == 0x34 && rgb[31 * 3 + 2] == 0x56);
    free(rgb);
    CHECK_EQ(render_screendump(&m, 0, nodir, &e), VS_ERR_IO);
    free(m.px);
    /* Only the two PNGs are in the directory: no temporary files left. */
    snprintf(path, sizeof(path), "ls -A '%s' | wc -l", dir);
    FILE *f = popen(path, "r");
    int n = -1;
    CHECK(f && fscanf(f, "%d", &n) == 1);
    if (f)
        pclose(f);
    CHECK_EQ(n, 2);
}

int main(void)
{
    char dir[256];
    if (!test_mkdtemp(dir, sizeof(dir), "vessel-render")) {
        perror("mkdtemp");
        return 1;
    }
    test_damage();
    test_display();
    test_png(dir);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        g_fail++;
    printf("render: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
