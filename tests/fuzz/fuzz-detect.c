/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for boot-medium detection (app/detect.c): ISO 9660 / El Torito / FAT,
 * GPT / MBR disks, kernel headers. Input: one byte selecting the kind (mod 3: ISO, disk,
 * kernel), then the medium's bytes, read from memory. Checks: no crash or sanitizer report,
 * a result of -1, 0 or 1 with an architecture exactly when it is 1, NUL-terminated reasons,
 * and a bounded number of bytes read (the detector's budget) whatever the input claims.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"

typedef struct {
    const uint8_t *data;
    size_t size;
    uint64_t bytes_read;
} Mem;

static int mem_read(void *opaque, uint64_t off, void *buf, size_t len, char *err, size_t errlen)
{
    Mem *m = opaque;
    (void)err, (void)errlen;
    if (off > m->size || len > m->size - off)
        abort(); /* the detector must check bounds before reading */
    memcpy(buf, m->data + off, len);
    m->bytes_read += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    Mem m = { data + 1, size - 1, 0 };
    VesselDetectSource src = { .size = size - 1, .read = mem_read, .opaque = &m };
    VesselDetect out;
    char err[256];
    int r = vessel_detect_source(&src, (VesselMediumKind)(data[0] % 3), &out, err, sizeof(err));
    if (r < -1 || r > 1)
        abort();
    if ((r == 1) != (out.arch != VS_ARCH_NONE))
        abort();
    if (!memchr(out.reason, 0, sizeof(out.reason)) || (r >= 0 && !out.reason[0]))
        abort();
    if (m.bytes_read > (64u << 20) + (256u << 10))
        abort();
    return 0;
}
