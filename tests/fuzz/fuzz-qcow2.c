/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the qcow2 driver (engine/block/qcow2.c, qcow2-check.c): the input is
 * a hostile image file, opened from a memfd, read, written and checked. Nothing may crash,
 * hang, leak or touch memory outside its buffers; errors are fine.
 *
 * Input layout:
 *   [0]     bit 0 open writable, bit 1 patch mode, bit 2 run check (with bit 0: repair),
 *           bits 4-7 select which reads and writes are done
 *   [1..8]  seed for the offsets of the reads and writes (le64)
 *   [9..]   whole-image mode: the image file itself.
 *           patch mode: patches applied to a valid built-in image (512-byte clusters,
 *           version 3, 1 MiB, a few clusters written, one of them compressed, one
 *           zero), each [offset le16][len u8][bytes];
 *           this lets the mutator reach deep into the metadata without a seed corpus.
 * Backing files are never opened (BLOCK_OPEN_NO_BACKING): their names would resolve
 * against /proc/self/fd and reach unrelated descriptors.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zlib.h>

#include "block/block.h"

#define HEADER   9u
#define MAX_IO   (64u << 10)
#define MAX_FILE (8u << 20)

static uint8_t *template_img;
static size_t template_len;
static uint8_t io[MAX_IO];

static int memfd_with(const void *data, size_t len, char *path, size_t path_len)
{
    int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    if (len && write(fd, data, len) != (ssize_t)len)
        abort();
    snprintf(path, path_len, "/proc/self/fd/%d", fd);
    return fd;
}

static uint64_t get_be64(int fd, uint64_t off)
{
    uint8_t b[8];
    if (pread(fd, b, 8, (off_t)off) != 8)
        abort();
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static void put_be64(int fd, uint64_t off, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    if (pwrite(fd, b, 8, (off_t)off) != 8)
        abort();
}

/* Turn guest cluster `gc` (written, 512-byte clusters) into a compressed cluster stored in
 * its own host cluster: deflate the data into it and rewrite the L2 entry. */
static void compress_cluster(int fd, unsigned gc)
{
    uint64_t l2 = get_be64(fd, get_be64(fd, 40)) & 0x00fffffffffffe00ull;
    uint64_t host = get_be64(fd, l2 + gc * 8) & 0x00fffffffffffe00ull;
    uint8_t in[512], out[512];
    if (pread(fd, in, sizeof(in), (off_t)host) != (ssize_t)sizeof(in))
        abort();
    z_stream zs = { 0 };
    if (deflateInit2(&zs, 9, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    zs.next_in = in;
    zs.avail_in = sizeof(in);
    zs.next_out = out;
    zs.avail_out = sizeof(out);
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    deflateEnd(&zs);
    if (pwrite(fd, out, sizeof(out) - zs.avail_out, (off_t)host) < 0)
        abort();
    /* 512-byte clusters: offset in bits 0..60, one extra-sector bit above; one sector. */
    put_be64(fd, l2 + gc * 8, (1ull << 62) | host);
}

static void make_template(void)
{
    char path[64];
    int fd = memfd_with(NULL, 0, path, sizeof(path));
    BlockCreateOptions o = { .path = path,
                             .format = BLOCK_FORMAT_QCOW2,
                             .size = 1 << 20,
                             .cluster_size = 512,
                             .qcow2_version = 3 };
    VsError err;
    BlockImage *img;
    if (block_create(&o, &err) != VS_OK || block_open(path, BLOCK_FORMAT_QCOW2, 0, &img, &err))
        abort();
    for (unsigned i = 0; i < sizeof(io); i++)
        io[i] = (uint8_t)(i * 7 + 1);
    if (block_pwrite(img, 0, io, 3072, &err) || block_pwrite(img, 300000, io, 700, &err) ||
        block_pwrite(img, (1 << 20) - 512, io, 512, &err) ||
        block_write_zeroes(img, 512, 512, &err) || block_close(img, &err))
        abort();
    compress_cluster(fd, 5);
    /* The template must be a valid image that reads back what was written. */
    uint8_t back[512];
    BlockCheckResult res;
    if (block_open(path, BLOCK_FORMAT_QCOW2, BLOCK_OPEN_READ_ONLY, &img, &err) ||
        block_pread(img, 5 * 512, back, sizeof(back), &err) || memcmp(back, io + 5 * 512, 512) ||
        block_check(img, false, &res, NULL, NULL, &err) || res.corruptions || res.leaks ||
        block_close(img, &err))
        abort();
    off_t len = lseek(fd, 0, SEEK_END);
    template_img = malloc((size_t)len);
    if (!template_img || pread(fd, template_img, (size_t)len, 0) != len)
        abort();
    template_len = (size_t)len;
    close(fd);
}

static uint64_t next(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed >> 11;
}

static void do_io(BlockImage *img, unsigned ops, uint64_t seed, bool writable)
{
    VsError err;
    uint64_t size = block_size(img);
    if (!size)
        return;
    for (int i = 0; i < 6; i++) {
        uint64_t off = i == 0   ? 0
                       : i == 1 ? size - (size < 4096 ? size : 4096)
                                : next(&seed) % size;
        size_t len = (size_t)(next(&seed) % (i < 2 ? 4096 : MAX_IO)) + 1;
        if (len > size - off)
            len = (size_t)(size - off);
        (void)block_pread(img, off, io, len, &err);
        if (!writable || !(ops & (1u << (i % 4))))
            continue;
        uint64_t woff = next(&seed) % size;
        size_t wlen = (size_t)(next(&seed) % 3000) + 1;
        if (wlen > size - woff)
            wlen = (size_t)(size - woff);
        memset(io, 0x5a ^ i, wlen);
        (void)block_pwrite(img, woff, io, wlen, &err);
        if (i == 3)
            (void)block_write_zeroes(img, woff, wlen * 40 > size - woff ? size - woff : wlen * 40,
                                     &err);
        if (i == 4)
            (void)block_discard(img, woff & ~4095ull,
                                size - (woff & ~4095ull) < 65536 ? size - (woff & ~4095ull) : 65536,
                                &err);
        if (i == 5)
            (void)block_flush(img, &err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!template_img)
        make_template();
    if (size < HEADER)
        return 0;
    unsigned mode = data[0];
    uint64_t seed = 0;
    memcpy(&seed, data + 1, 8);
    const uint8_t *rest = data + HEADER;
    size_t rest_len = size - HEADER;
    uint8_t *file = NULL;
    size_t file_len;
    if (mode & 2) {
        file = malloc(template_len);
        if (!file)
            abort();
        memcpy(file, template_img, template_len);
        file_len = template_len;
        for (size_t p = 0; p + 3 <= rest_len;) {
            size_t off = (size_t)(rest[p] | rest[p + 1] << 8) % file_len, len = rest[p + 2];
            p += 3;
            if (len > rest_len - p)
                len = rest_len - p;
            if (len > file_len - off)
                len = file_len - off;
            memcpy(file + off, rest + p, len);
            p += len;
        }
    } else {
        file_len = rest_len < MAX_FILE ? rest_len : MAX_FILE;
    }
    char path[64];
    int fd = memfd_with(file ? file : rest, file_len, path, sizeof(path));
    free(file);

    bool writable = mode & 1, check = mode & 4;
    unsigned flags = BLOCK_OPEN_NO_BACKING;
    if (!writable)
        flags |= BLOCK_OPEN_READ_ONLY;
    else if (check)
        flags |= BLOCK_OPEN_FOR_REPAIR;
    BlockImage *img;
    VsError err;
    if (block_open(path, BLOCK_FORMAT_QCOW2, flags, &img, &err) == VS_OK) {
        BlockInfo info;
        (void)block_get_info(img, &info, &err);
        do_io(img, mode >> 4, seed, writable && !block_is_read_only(img));
        if (check) {
            BlockCheckResult res;
            (void)block_check(img, writable, &res, NULL, NULL, &err);
            do_io(img, mode >> 4, seed ^ 0x1234, writable && !block_is_read_only(img));
        }
        (void)block_close(img, &err);
    }
    close(fd);
    return 0;
}
