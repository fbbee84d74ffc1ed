/* SPDX-License-Identifier: MIT */
/* What the image format drivers (raw.c, qcow2*.c) share with the generic layer (block.c). */
#ifndef VESSEL_BLOCK_INT_H
#define VESSEL_BLOCK_INT_H

#include <pthread.h>
#include <sys/types.h>

#include "block/block.h"

typedef struct BlockDriver {
    const char *name;
    BlockFormat format;
    /* img->fd is open and locked; set img->size and img->state. On failure the driver has
     * released what it allocated; block.c closes the fd. */
    VsStatus (*open)(BlockImage *img, VsError *err);
    /* Release the driver state after a flush (whose result block.c reports). */
    void (*close)(BlockImage *img);
    /* Ranges are checked against img->size and writes against read_only by block.c. */
    VsStatus (*pread)(BlockImage *img, uint64_t offset, void *buf, size_t len, VsError *err);
    /* Optional, for block_map_read(): img->fd and the file offset where the guest range's
     * data lies contiguously, or -1. Must not block or change anything; img->lock held. */
    int (*map_read)(BlockImage *img, uint64_t offset, uint64_t len, uint64_t *host);
    VsStatus (*pwrite)(BlockImage *img, uint64_t offset, const void *buf, size_t len, VsError *err);
    VsStatus (*flush)(BlockImage *img, VsError *err);
    VsStatus (*discard)(BlockImage *img, uint64_t offset, uint64_t len, VsError *err);
    VsStatus (*write_zeroes)(BlockImage *img, uint64_t offset, uint64_t len, VsError *err);
    VsStatus (*get_info)(BlockImage *img, BlockInfo *info, VsError *err);
    VsStatus (*check)(BlockImage *img, bool repair, BlockCheckResult *result,
                      BlockCheckReport report, void *opaque, VsError *err);
    VsStatus (*create)(const BlockCreateOptions *opts, VsError *err);
} BlockDriver;

/* Identity of one file in a backing chain being opened, for loop detection. */
typedef struct BlockChainLink {
    dev_t dev;
    ino_t ino;
    int depth;
    const struct BlockChainLink *child; /* the image this one is the backing file of */
} BlockChainLink;

struct BlockImage {
    const BlockDriver *drv;
    void *state;
    char *path;
    int fd;
    unsigned flags;
    bool read_only;
    const char *ro_reason; /* why a writable open became read-only, for error messages */
    bool probed_raw;       /* raw by detection, not by request: see block_pwrite */
    uint64_t size;
    pthread_mutex_t lock;
    BlockChainLink link; /* link.child is only valid while block_open runs */
};

extern const BlockDriver block_driver_raw;
extern const BlockDriver block_driver_qcow2;

/* "cannot open disk image 'PATH': MESSAGE" */
VsStatus block_open_error(const BlockImage *img, VsError *err, VsStatus status, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
/* "disk image 'PATH': MESSAGE" */
VsStatus block_error(const BlockImage *img, VsError *err, VsStatus status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* pread until len bytes or end of file, retrying EINTR and short reads. Returns the byte
 * count (short only at end of file), or -errno. */
ssize_t block_fd_pread(int fd, void *buf, size_t len, uint64_t offset);
/* pwrite all of buf, retrying EINTR and short writes. Returns 0 or -errno. */
int block_fd_pwrite(int fd, const void *buf, size_t len, uint64_t offset);
/* fdatasync, retrying EINTR. Returns 0 or -errno. */
int block_fd_sync(int fd);

/*
 * Open the backing file `name` of `child` (a relative name is relative to the folder of
 * child's file), read-only. Refuses chains deeper than BLOCK_MAX_BACKING_DEPTH and loops.
 */
VsStatus block_open_backing(BlockImage *child, const char *name, BlockFormat format,
                            BlockImage **out, VsError *err);
/* The path a backing name refers to, relative to the folder of image_path. malloc'ed. */
char *block_backing_path(const char *image_path, const char *name);

#endif
