/* SPDX-License-Identifier: MIT */
/* The public disk-image calls (vs_image_*): thin wrappers over the block layer. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "core/machine.h"

struct VsImage {
    BlockImage *blk;
};

VsStatus vs_image_create(const char *path, VsDiskFormat format, uint64_t size, VsError *err)
{
    if (!path || !*path)
        return vs_error_set(err, VS_ERR_INVALID, "cannot create disk image: no file name given");
    BlockFormat bf;
    switch (format) {
    case VS_DISK_FORMAT_RAW: bf = BLOCK_FORMAT_RAW; break;
    case VS_DISK_FORMAT_QCOW2: bf = BLOCK_FORMAT_QCOW2; break;
    default:
        return vs_error_set(err, VS_ERR_INVALID,
                            "cannot create disk image '%s': choose a format (raw or qcow2)", path);
    }
    if (size == 0)
        return vs_error_set(err, VS_ERR_INVALID,
                            "cannot create disk image '%s': the size must be more than 0", path);
    /* Claim the name first (O_EXCL): block_create truncates, and must only ever truncate
     * the empty file made here, never an existing image. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            return vs_error_set(err, VS_ERR_IO,
                                "cannot create disk image '%s': a file of that name already "
                                "exists (choose another name, or use the existing image)",
                                path);
        return vs_error_set(err, VS_ERR_IO, "cannot create disk image '%s': %s", path,
                            strerror(errno));
    }
    close(fd);
    BlockCreateOptions opts = { .path = path, .format = bf, .size = size };
    VsStatus st = block_create(&opts, err);
    if (st != VS_OK)
        unlink(path);
    return st;
}

/* Only regular files and block devices are images; anything else (a FIFO) could block the
 * probe's open() forever. */
static VsStatus check_image_file(const char *path, VsError *err)
{
    if (!path || !*path)
        return vs_error_set(err, VS_ERR_INVALID, "no disk image file name given");
    struct stat sb;
    if (stat(path, &sb) < 0)
        return vs_error_set(err, VS_ERR_IO, "cannot open disk image '%s': %s", path,
                            strerror(errno));
    if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode))
        return vs_error_set(err, VS_ERR_INVALID,
                            "cannot open disk image '%s': it is not a file or a block device",
                            path);
    return VS_OK;
}

VsStatus vs_image_info(const char *path, VsDiskFormat *format, uint64_t *virtual_size, VsError *err)
{
    VsStatus st = check_image_file(path, err);
    if (st != VS_OK)
        return st;
    BlockFormat bf;
    st = block_probe(path, &bf, err);
    if (st != VS_OK)
        return st;
    BlockImage *img;
    st = block_open(path, bf, BLOCK_OPEN_READ_ONLY, &img, err);
    if (st != VS_OK)
        return st;
    if (format)
        *format = bf == BLOCK_FORMAT_QCOW2 ? VS_DISK_FORMAT_QCOW2 : VS_DISK_FORMAT_RAW;
    if (virtual_size)
        *virtual_size = block_size(img);
    VsError ignored;
    block_close(img, &ignored); /* read-only: nothing to flush */
    return VS_OK;
}

VsStatus vs_image_open(const char *path, VsImage **out, VsError *err)
{
    *out = NULL;
    VsStatus st = check_image_file(path, err);
    if (st != VS_OK)
        return st;
    BlockFormat bf;
    st = block_probe(path, &bf, err);
    if (st != VS_OK)
        return st;
    VsImage *img = calloc(1, sizeof(*img));
    if (!img)
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory");
    st = block_open(path, bf, BLOCK_OPEN_READ_ONLY | BLOCK_OPEN_SHARED, &img->blk, err);
    if (st != VS_OK) {
        free(img);
        return st;
    }
    *out = img;
    return VS_OK;
}

uint64_t vs_image_size(const VsImage *img)
{
    return block_size(img->blk);
}

VsStatus vs_image_read(VsImage *img, uint64_t offset, void *buf, size_t len, VsError *err)
{
    uint64_t size = block_size(img->blk);
    if (offset > size || len > size - offset)
        return vs_error_set(err, VS_ERR_INVALID,
                            "cannot read disk image '%s': bytes %llu-%llu are past its end "
                            "(%llu bytes)",
                            block_path(img->blk), (unsigned long long)offset,
                            (unsigned long long)(offset + len), (unsigned long long)size);
    return block_pread(img->blk, offset, buf, len, err);
}

void vs_image_close(VsImage *img)
{
    if (!img)
        return;
    VsError ignored;
    block_close(img->blk, &ignored);
    free(img);
}
