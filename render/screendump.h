/* SPDX-License-Identifier: MIT */
/*
 * Screendumps: a display's XRGB8888 image (vessel/engine.h, Display) as a PNG file.
 * Front-end code: uses only the public engine header.
 */
#ifndef VESSEL_RENDER_SCREENDUMP_H
#define VESSEL_RENDER_SCREENDUMP_H

#include <stddef.h>
#include <stdint.h>

#include "vessel/engine.h"

/*
 * Write width x height pixels (0x00RRGGBB words, rows `stride` bytes apart) to `path` as an
 * 8-bit RGB PNG. The file appears complete or not at all: it is written next to `path`
 * under a temporary name and renamed. On failure returns false with a message in err.
 */
bool render_write_png(const char *path, const uint32_t *pixels, unsigned width, unsigned height,
                      size_t stride, char *err, size_t errlen);

/*
 * Save what scanout `scanout` of m shows now to `path` (PNG). VS_ERR_STATE when the
 * machine has no display or the guest has not enabled the scanout; VS_ERR_IO when the
 * file cannot be written.
 */
VsStatus render_screendump(VsMachine *m, unsigned scanout, const char *path, VsError *err);

#endif
