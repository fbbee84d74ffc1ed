/* SPDX-License-Identifier: MIT */
/*
 * Disk images (engine-internal): raw files and block devices, and qcow2 v2/v3, behind one
 * synchronous interface. virtio-blk and vessel-img use it; the public engine header does not.
 *
 * Offsets and lengths are in bytes of the guest-visible disk and need no alignment. Every
 * call is serialised by a per-image lock, so several threads may share an image. A call that
 * fails fills the VsError with a message naming the image file.
 */
#ifndef VESSEL_BLOCK_H
#define VESSEL_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vessel/engine.h"

typedef enum BlockFormat {
    BLOCK_FORMAT_AUTO = 0, /* detect from the file's first bytes */
    BLOCK_FORMAT_RAW,
    BLOCK_FORMAT_QCOW2,
} BlockFormat;

/* block_open flags. */
enum {
    BLOCK_OPEN_READ_ONLY = 1u << 0,
    /* Do not open the backing chain: reads of clusters this image does not hold fail.
     * For inspecting an image whose backing file is missing (info, check). */
    BLOCK_OPEN_NO_BACKING = 1u << 1,
    /* For check --repair: open an image marked corrupt or dirty for writing without the
     * automatic refcount repair, so block_check can do it and report what it fixed. */
    BLOCK_OPEN_FOR_REPAIR = 1u << 2,
    /* Take no image lock (like qemu-img -U): for looking at an image another program may
     * be using. Only with BLOCK_OPEN_READ_ONLY; what is read may be inconsistent. */
    BLOCK_OPEN_SHARED = 1u << 3,
};

/* Deepest backing chain block_open follows (the image itself is depth 0). */
#define BLOCK_MAX_BACKING_DEPTH 16
/* Longest backing file name qcow2 allows. */
#define BLOCK_BACKING_NAME_MAX 1023

typedef struct BlockImage BlockImage;

typedef struct BlockInfo {
    BlockFormat format;
    uint64_t virtual_size;  /* bytes the guest sees */
    uint64_t file_size;     /* length of the image file (or block device) */
    uint64_t disk_usage;    /* bytes the host file system holds for it (sparse files) */
    uint64_t allocated;     /* guest bytes stored in this image, not in its backing file */
    uint32_t cluster_size;  /* qcow2; 0 for raw */
    uint32_t qcow2_version; /* 2 or 3; 0 for raw */
    uint32_t refcount_bits; /* qcow2 */
    uint32_t snapshots;     /* qcow2 internal snapshots */
    bool read_only;
    bool dirty;          /* qcow2 incompatible bit 0: refcounts may be stale */
    bool corrupt;        /* qcow2 incompatible bit 1: writes are refused */
    bool lazy_refcounts; /* qcow2 compatible bit 0 */
    char backing_file[BLOCK_BACKING_NAME_MAX + 1]; /* as stored in the image; "" if none */
    char backing_format[16];                       /* as stored; "" if not recorded */
} BlockInfo;

typedef struct BlockCheckResult {
    uint64_t corruptions;       /* problems found that make data or metadata wrong */
    uint64_t leaks;             /* clusters allocated but unused: harmless, wasted space */
    uint64_t corruptions_fixed; /* with repair */
    uint64_t leaks_fixed;
    uint64_t allocated_clusters; /* guest clusters held by this image */
    uint64_t total_clusters;     /* guest clusters of the virtual disk */
    uint64_t image_end;          /* bytes of the file in use */
} BlockCheckResult;

/* One line describing a problem block_check found or fixed. */
typedef void (*BlockCheckReport)(void *opaque, const char *line);

typedef struct BlockCreateOptions {
    const char *path;
    BlockFormat format;         /* RAW or QCOW2 */
    uint64_t size;              /* 0 with a backing file: the backing file's size */
    const char *backing_file;   /* qcow2 only; relative names are relative to path's folder */
    BlockFormat backing_format; /* AUTO: detect it, and record what was found */
    uint32_t cluster_size;      /* qcow2; 0: 64 KiB */
    uint32_t qcow2_version;     /* 2 (compat 0.10) or 3 (compat 1.1); 0: 3 */
} BlockCreateOptions;

/* "raw", "qcow2"; BLOCK_FORMAT_AUTO for an unknown name. */
BlockFormat block_format_from_name(const char *name);
const char *block_format_name(BlockFormat format);

/* Detect the format of an image file from its header (qcow2 magic, else raw). */
VsStatus block_probe(const char *path, BlockFormat *format, VsError *err);

/*
 * Open an image. Writable opens lock the file exclusively, read-only opens shared (OFD locks
 * on QEMU's lock bytes, so QEMU and Vessel see each other): a writer and anyone else get
 * "in use by another program", several readers are fine (BLOCK_OPEN_SHARED skips the lock). A qcow2
 * image's backing chain is opened read-only, at most BLOCK_MAX_BACKING_DEPTH deep; a loop in the
 * chain is an error. Only regular files and block devices open. A qcow2 image marked corrupt, or
 * with internal snapshots, opens read-only when asked for writing (block_is_read_only says so, and
 * writes fail with the reason); a dirty one has its refcounts rebuilt on a writable open. A raw
 * image whose format was detected refuses writes that would give it a qcow2 header.
 */
VsStatus block_open(const char *path, BlockFormat format, unsigned flags, BlockImage **out,
                    VsError *err);
/* Flush, then release everything. The image is freed even when the flush fails. */
VsStatus block_close(BlockImage *img, VsError *err);

uint64_t block_size(const BlockImage *img);
/* Why an image opened for writing is read-only after all (a qcow2 image marked corrupt),
 * or NULL. */
const char *block_read_only_reason(const BlockImage *img);
bool block_is_read_only(const BlockImage *img);
const char *block_path(const BlockImage *img);

VsStatus block_pread(BlockImage *img, uint64_t offset, void *buf, size_t len, VsError *err);
VsStatus block_pwrite(BlockImage *img, uint64_t offset, const void *buf, size_t len, VsError *err);
/* The same for a scatter-gather list (a virtio-blk request), done as one request: no other
 * thread's I/O on the image runs in between. */
VsStatus block_preadv(BlockImage *img, uint64_t offset, const struct iovec *iov, int iovcnt,
                      VsError *err);
VsStatus block_pwritev(BlockImage *img, uint64_t offset, const struct iovec *iov, int iovcnt,
                       VsError *err);
/*
 * Asynchronous I/O (virtio-blk): the file descriptor to which a read or write of
 * [offset, offset+len) can go directly, at the same offset, with the same result as
 * block_preadv()/block_pwritev(): a raw image. -1 when the request must go through those
 * (qcow2, a range past the end, a write to a read-only image or one that could give a
 * detected raw image a qcow2 header). Reads past the file's end must read as zeros.
 */
int block_direct_fd(BlockImage *img, uint64_t offset, uint64_t len, bool write);
/*
 * For reads, also through the format: the file descriptor and the file offset (*host) from
 * which [offset, offset+len) can be read directly with the same result as block_preadv():
 * a raw image, or qcow2 data clusters that are contiguous in the file and whose L2 tables
 * are cached. Never blocks (an image busy on another thread answers -1) and never reads
 * the file, so the I/O thread may call it; -1 means: use block_preadv(). A read issued
 * this way that races with a write or discard of the same guest range may see old or new
 * data, or, if a flush let the freed cluster be reused meanwhile, data written elsewhere on
 * the same image.
 */
int block_map_read(BlockImage *img, uint64_t offset, uint64_t len, uint64_t *host);
/* Make every completed write durable (fdatasync, with qcow2 metadata written in order). */
VsStatus block_flush(BlockImage *img, VsError *err);
/* Tell the image the range is unused; later reads return zeros or the old data. */
VsStatus block_discard(BlockImage *img, uint64_t offset, uint64_t len, VsError *err);
/* Later reads of the range return zeros; space is released where the format can. */
VsStatus block_write_zeroes(BlockImage *img, uint64_t offset, uint64_t len, VsError *err);

VsStatus block_get_info(BlockImage *img, BlockInfo *info, VsError *err);

/*
 * Check the image's metadata for consistency (qcow2; raw images are always consistent).
 * With `repair` (the image must be open writable) refcounts are rebuilt and wrong flags
 * corrected. `report` may be NULL.
 */
VsStatus block_check(BlockImage *img, bool repair, BlockCheckResult *result,
                     BlockCheckReport report, void *opaque, VsError *err);

/* True if all len bytes of buf are zero (for keeping copies sparse). */
bool block_is_zero(const void *buf, size_t len);

/* Create (or truncate and overwrite) an image file. */
VsStatus block_create(const BlockCreateOptions *opts, VsError *err);

#endif
