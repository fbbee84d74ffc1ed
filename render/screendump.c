/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "screendump.h"

static bool fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

/* libpng reports errors through longjmp; keep its message for ours. */
typedef struct PngErr {
    jmp_buf jmp;
    char msg[128];
} PngErr;

static void png_error_cb(png_structp png, png_const_charp msg)
{
    PngErr *pe = png_get_error_ptr(png);
    snprintf(pe->msg, sizeof(pe->msg), "%s", msg);
    longjmp(pe->jmp, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Encode into an open file. Returns false with pe->msg set on failure. */
static bool encode(FILE *f, const uint32_t *pixels, unsigned width, unsigned height, size_t stride,
                   PngErr *pe)
{
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, pe, png_error_cb, png_warning_cb);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    /* volatile: modified between setjmp and a longjmp back to it. */
    uint8_t *volatile row = malloc((size_t)width * 3);
    if (!png || !info || !row) {
        snprintf(pe->msg, sizeof(pe->msg), "out of memory");
        png_destroy_write_struct(&png, &info);
        free(row);
        return false;
    }
    if (setjmp(pe->jmp)) {
        png_destroy_write_struct(&png, &info);
        free(row);
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* Screens compress well and quickly at level 1-3; 6 costs several times the time. */
    png_set_compression_level(png, 3);
    png_write_info(png, info);
    for (unsigned y = 0; y < height; y++) {
        const uint32_t *src = (const uint32_t *)((const uint8_t *)pixels + (size_t)y * stride);
        for (unsigned x = 0; x < width; x++) {
            row[3 * x] = (uint8_t)(src[x] >> 16);
            row[3 * x + 1] = (uint8_t)(src[x] >> 8);
            row[3 * x + 2] = (uint8_t)src[x];
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    return true;
}

bool render_write_png(const char *path, const uint32_t *pixels, unsigned width, unsigned height,
                      size_t stride, char *err, size_t errlen)
{
    if (!width || !height || width > 0x7fffffff / 4 || stride < (size_t)width * 4)
        return fail(err, errlen, "cannot write '%s': invalid image size %ux%u", path, width,
                    height);
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return fail(err, errlen, "cannot write '%s': out of memory", path);
    snprintf(tmp, n, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wbx");
    if (!f) {
        bool r = fail(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        free(tmp);
        return r;
    }
    PngErr pe = { .msg = "" };
    bool ok = encode(f, pixels, width, height, stride, &pe);
    if (fflush(f) != 0 && ok) {
        snprintf(pe.msg, sizeof(pe.msg), "%s", strerror(errno));
        ok = false;
    }
    if (fclose(f) != 0 && ok) {
        snprintf(pe.msg, sizeof(pe.msg), "%s", strerror(errno));
        ok = false;
    }
    if (ok && rename(tmp, path) != 0) {
        snprintf(pe.msg, sizeof(pe.msg), "%s", strerror(errno));
        ok = false;
    }
    if (!ok) {
        unlink(tmp);
        fail(err, errlen, "cannot write '%s': %s", path, pe.msg);
    }
    free(tmp);
    return ok;
}

VsStatus render_screendump(VsMachine *m, unsigned scanout, const char *path, VsError *err)
{
    /* The size may change between the two calls (the guest switches modes): retry. */
    for (int attempt = 0; attempt < 3; attempt++) {
        unsigned w, h;
        if (!vs_machine_display_size(m, scanout, &w, &h)) {
            err->status = VS_ERR_STATE;
            snprintf(err->message, sizeof(err->message),
                     "no display image: the machine has no display or the guest has not "
                     "enabled scanout %u",
                     scanout);
            return VS_ERR_STATE;
        }
        uint32_t *buf = malloc((size_t)w * h * 4);
        if (!buf) {
            err->status = VS_ERR_NOMEM;
            snprintf(err->message, sizeof(err->message), "out of memory for a %ux%u screendump", w,
                     h);
            return VS_ERR_NOMEM;
        }
        if (!vs_machine_display_read(m, scanout, 0, 0, w, h, buf, (size_t)w * 4)) {
            free(buf);
            continue;
        }
        bool ok =
            render_write_png(path, buf, w, h, (size_t)w * 4, err->message, sizeof(err->message));
        free(buf);
        err->status = ok ? VS_OK : VS_ERR_IO;
        return err->status;
    }
    err->status = VS_ERR_STATE;
    snprintf(err->message, sizeof(err->message), "the display kept changing size; try again");
    return VS_ERR_STATE;
}
