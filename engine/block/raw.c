/* SPDX-License-Identifier: MIT */
/* Raw images: a regular file or a block device holding the disk byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block-int.h"
#include "core/machine.h"

typedef struct RawState {
    bool is_blockdev;
    bool no_punch; /* the file system refused hole punching once; do not ask again */
} RawState;

static VsStatus raw_open(BlockImage *img, VsError *err)
{
    struct stat st;
    if (fstat(img->fd, &st) < 0)
        return block_open_error(img, err, VS_ERR_IO, "%s", strerror(errno));
    RawState *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return block_open_error(img, err, VS_ERR_NOMEM, "out of memory");
    if (S_ISBLK(st.st_mode)) {
        uint64_t bytes = 0;
        if (ioctl(img->fd, BLKGETSIZE64, &bytes) < 0) {
            int e = errno;
            free(rs);
            return block_open_error(img, err, VS_ERR_IO, "cannot read the device size: %s",
                                    strerror(e));
        }
        rs->is_blockdev = true;
        img->size = bytes;
    } else if (S_ISREG(st.st_mode)) {
        img->size = (uint64_t)st.st_size;
    } else {
        free(rs);
        return block_open_error(img, err, VS_ERR_INVALID, "not a regular file or block device");
    }
    img->state = rs;
    return VS_OK;
}

static void raw_close(BlockImage *img)
{
    free(img->state);
    img->state = NULL;
}

static VsStatus raw_pread(BlockImage *img, uint64_t offset, void *buf, size_t len, VsError *err)
{
    ssize_t n = block_fd_pread(img->fd, buf, len, offset);
    if (n < 0)
        return block_error(img, err, VS_ERR_IO, "read at offset %llu failed: %s",
                           (unsigned long long)offset, strerror((int)-n));
    /* The file shrank under us, or a sparse tail: the guest sees zeros. */
    if ((size_t)n < len)
        memset((char *)buf + n, 0, len - (size_t)n);
    return VS_OK;
}

static VsStatus raw_pwrite(BlockImage *img, uint64_t offset, const void *buf, size_t len,
                           VsError *err)
{
    int r = block_fd_pwrite(img->fd, buf, len, offset);
    if (r < 0)
        return block_error(img, err, VS_ERR_IO, "write at offset %llu failed: %s",
                           (unsigned long long)offset, strerror(-r));
    return VS_OK;
}

static VsStatus raw_flush(BlockImage *img, VsError *err)
{
    int r = block_fd_sync(img->fd);
    if (r < 0)
        return block_error(img, err, VS_ERR_IO, "flush failed: %s", strerror(-r));
    return VS_OK;
}

static VsStatus write_zero_buffer(BlockImage *img, uint64_t offset, uint64_t len, VsError *err)
{
    size_t chunk = len < (1u << 20) ? (size_t)len : (1u << 20);
    void *zeros = calloc(1, chunk);
    if (!zeros)
        return block_error(img, err, VS_ERR_NOMEM, "out of memory");
    VsStatus s = VS_OK;
    while (len && s == VS_OK) {
        size_t n = len < chunk ? (size_t)len : chunk;
        s = raw_pwrite(img, offset, zeros, n, err);
        offset += n;
        len -= n;
    }
    free(zeros);
    return s;
}

static VsStatus raw_discard(BlockImage *img, uint64_t offset, uint64_t len, VsError *err)
{
    RawState *rs = img->state;
    (void)err;
    /* Discard is advisory: where the host cannot release space, the data simply stays. */
    if (rs->is_blockdev) {
        uint64_t range[2] = { offset, len };
        (void)ioctl(img->fd, BLKDISCARD, range);
    } else if (!rs->no_punch) {
        if (fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
                      (off_t)len) < 0 &&
            (errno == EOPNOTSUPP || errno == ENOSYS))
            rs->no_punch = true;
    }
    return VS_OK;
}

static VsStatus raw_write_zeroes(BlockImage *img, uint64_t offset, uint64_t len, VsError *err)
{
    RawState *rs = img->state;
    if (rs->is_blockdev) {
        uint64_t range[2] = { offset, len };
        if (ioctl(img->fd, BLKZEROOUT, range) == 0)
            return VS_OK;
    } else {
        /* Past the end of the file is already zero, and a hole reads as zeros. */
        if (!rs->no_punch && fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                       (off_t)offset, (off_t)len) == 0)
            return VS_OK;
        if (errno == EOPNOTSUPP || errno == ENOSYS)
            rs->no_punch = true;
        if (fallocate(img->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)offset,
                      (off_t)len) == 0)
            return VS_OK;
    }
    return write_zero_buffer(img, offset, len, err);
}

static VsStatus raw_get_info(BlockImage *img, BlockInfo *info, VsError *err)
{
    (void)err;
    info->allocated = info->disk_usage < img->size ? info->disk_usage : img->size;
    return VS_OK;
}

static VsStatus raw_check(BlockImage *img, bool repair, BlockCheckResult *result,
                          BlockCheckReport report, void *opaque, VsError *err)
{
    (void)repair, (void)report, (void)opaque, (void)err;
    result->image_end = img->size;
    return VS_OK;
}

static VsStatus raw_create(const BlockCreateOptions *opts, VsError *err)
{
    if (opts->backing_file)
        return vs_error_set(err, VS_ERR_INVALID,
                            "cannot create disk image '%s': raw images cannot have a backing file",
                            opts->path);
    if (opts->size > (uint64_t)INT64_MAX)
        return vs_error_set(err, VS_ERR_INVALID, "cannot create disk image '%s': size too large",
                            opts->path);
    int fd = open(opts->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return vs_error_set(err, VS_ERR_IO, "cannot create disk image '%s': %s", opts->path,
                            strerror(errno));
    VsStatus s = VS_OK;
    if (ftruncate(fd, (off_t)opts->size) < 0 || block_fd_sync(fd) < 0)
        s = vs_error_set(err, VS_ERR_IO, "cannot create disk image '%s': %s", opts->path,
                         strerror(errno));
    close(fd);
    return s;
}

const BlockDriver block_driver_raw = {
    .name = "raw",
    .format = BLOCK_FORMAT_RAW,
    .open = raw_open,
    .close = raw_close,
    .pread = raw_pread,
    .pwrite = raw_pwrite,
    .flush = raw_flush,
    .discard = raw_discard,
    .write_zeroes = raw_write_zeroes,
    .get_info = raw_get_info,
    .check = raw_check,
    .create = raw_create,
};
