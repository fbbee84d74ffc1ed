/* SPDX-License-Identifier: MIT */
/* The generic block layer: format detection, locking, range checks, backing chains. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block-int.h"
#include "core/machine.h"

static const BlockDriver *const drivers[] = { &block_driver_raw, &block_driver_qcow2 };

static const BlockDriver *driver_for(BlockFormat format)
{
    for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
        if (drivers[i]->format == format)
            return drivers[i];
    return NULL;
}

BlockFormat block_format_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(drivers) / sizeof(drivers[0]); i++)
        if (!strcasecmp(name, drivers[i]->name))
            return drivers[i]->format;
    return BLOCK_FORMAT_AUTO;
}

const char *block_format_name(BlockFormat format)
{
    const BlockDriver *drv = driver_for(format);
    return drv ? drv->name : "auto";
}

static VsStatus block_verror(const char *prefix, const BlockImage *img, VsError *err,
                             VsStatus status, const char *fmt, va_list ap)
{
    char msg[VS_ERROR_MSG_MAX];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    return vs_error_set(err, status, "%sdisk image '%s': %s", prefix, img->path, msg);
}

VsStatus block_open_error(const BlockImage *img, VsError *err, VsStatus status, const char *fmt,
                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    block_verror("cannot open ", img, err, status, fmt, ap);
    va_end(ap);
    return status;
}

VsStatus block_error(const BlockImage *img, VsError *err, VsStatus status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    block_verror("", img, err, status, fmt, ap);
    va_end(ap);
    return status;
}

ssize_t block_fd_pread(int fd, void *buf, size_t len, uint64_t offset)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

int block_fd_pwrite(int fd, const void *buf, size_t len, uint64_t offset)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

int block_fd_sync(int fd)
{
    while (fdatasync(fd) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

bool block_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    /* Compare word-wise once the first 16 bytes are known zero. */
    size_t head = len < 16 ? len : 16;
    for (size_t i = 0; i < head; i++)
        if (p[i])
            return false;
    return len <= 16 || memcmp(p, p + 16, len - 16) == 0;
}

VsStatus block_probe(const char *path, BlockFormat *format, VsError *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vs_error_set(err, VS_ERR_IO, "cannot open disk image '%s': %s", path,
                            strerror(errno));
    unsigned char magic[4] = { 0 };
    ssize_t n = block_fd_pread(fd, magic, sizeof(magic), 0);
    int e = errno;
    close(fd);
    if (n < 0)
        return vs_error_set(err, VS_ERR_IO, "cannot read disk image '%s': %s", path, strerror(e));
    *format = (n == 4 && !memcmp(magic, "QFI\xfb", 4)) ? BLOCK_FORMAT_QCOW2 : BLOCK_FORMAT_RAW;
    return VS_OK;
}

/*
 * Image locking, compatible with QEMU's (block/file-posix.c), so Vessel and QEMU keep each
 * other out too. Open file description locks (F_OFD_SETLK: they belong to this open, not to
 * the process) on single bytes: byte 100+p held shared means "I use permission p", byte
 * 200+p "I do not let others use p". Permissions: 0 consistent read, 1 write, 2 write
 * without changing data, 3 resize. A writer uses 0-3 and shares neither write nor resize; a
 * reader (read-only disk, backing file) uses 0 and does not share write or resize either,
 * so several readers can share a base image but nobody writes it meanwhile. Lock first,
 * then look for conflicts (F_OFD_GETLK ignores our own locks), so of two programs racing
 * at least one sees the other. Returns 0, EAGAIN for "in use", or an errno.
 */
#define LOCK_PERM_BASE   100
#define LOCK_SHARED_BASE 200
#define PERM_READ        (1u << 0)
#define PERM_WRITE       (1u << 1)
#define PERM_WRITE_SAME  (1u << 2)
#define PERM_RESIZE      (1u << 3)

static int lock_byte(int fd, int cmd, short type, off_t byte)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
    if (fcntl(fd, cmd, &fl) < 0)
        return errno == EACCES ? EAGAIN : errno;
    if (cmd == F_OFD_GETLK && fl.l_type != F_UNLCK)
        return EAGAIN;
    return 0;
}

static int lock_image(int fd, bool ro)
{
    unsigned use = ro ? PERM_READ : PERM_READ | PERM_WRITE | PERM_WRITE_SAME | PERM_RESIZE;
    unsigned unshared = PERM_WRITE | PERM_RESIZE;
    for (int i = 0; i < 4; i++) {
        int e = 0;
        if (use & (1u << i))
            e = lock_byte(fd, F_OFD_SETLK, F_RDLCK, LOCK_PERM_BASE + i);
        if (!e && (unshared & (1u << i)))
            e = lock_byte(fd, F_OFD_SETLK, F_RDLCK, LOCK_SHARED_BASE + i);
        if (e)
            return e;
    }
    for (int i = 0; i < 4; i++) {
        int e = 0;
        /* Someone refuses to share what we use, or uses what we refuse to share. */
        if (use & (1u << i))
            e = lock_byte(fd, F_OFD_GETLK, F_WRLCK, LOCK_SHARED_BASE + i);
        if (!e && (unshared & (1u << i)))
            e = lock_byte(fd, F_OFD_GETLK, F_WRLCK, LOCK_PERM_BASE + i);
        if (e)
            return e;
    }
    return 0;
}

static VsStatus open_chain(const char *path, BlockFormat format, unsigned flags,
                           const BlockChainLink *child, BlockImage **out, VsError *err)
{
    *out = NULL;
    bool ro = flags & BLOCK_OPEN_READ_ONLY;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
    int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return vs_error_set(err, VS_ERR_IO, "cannot open disk image '%s'%s: %s", path,
                            (!ro && (errno == EACCES || errno == EROFS)) ? " for writing" : "",
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return vs_error_set(err, VS_ERR_IO, "cannot open disk image '%s': %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return vs_error_set(err, VS_ERR_INVALID, "cannot open disk image '%s': it is a folder",
                            path);
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        close(fd);
        return vs_error_set(err, VS_ERR_INVALID,
                            "cannot open disk image '%s': not a regular file or block device",
                            path);
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        return vs_error_set(err, VS_ERR_IO, "cannot open disk image '%s': %s", path, strerror(e));
    }
    int depth = child ? child->depth + 1 : 0;
    for (const BlockChainLink *l = child; l; l = l->child) {
        if (l->dev == st.st_dev && l->ino == st.st_ino) {
            close(fd);
            return vs_error_set(err, VS_ERR_FORMAT,
                                "cannot open disk image '%s': the backing chain loops back to "
                                "this file",
                                path);
        }
    }
    if (depth > BLOCK_MAX_BACKING_DEPTH) {
        close(fd);
        return vs_error_set(err, VS_ERR_FORMAT,
                            "cannot open disk image '%s': backing chain is deeper than %d files",
                            path, BLOCK_MAX_BACKING_DEPTH);
    }
    if (!(flags & BLOCK_OPEN_SHARED)) {
        int e = lock_image(fd, ro);
        if (e) {
            close(fd);
            if (e == EAGAIN)
                return vs_error_set(err, VS_ERR_STATE,
                                    "cannot open disk image '%s': the image is in use by "
                                    "another program%s",
                                    path, ro ? " that writes to it" : "");
            return vs_error_set(err, VS_ERR_IO, "cannot lock disk image '%s': %s", path,
                                strerror(e));
        }
    }
    bool probed = format == BLOCK_FORMAT_AUTO;
    if (format == BLOCK_FORMAT_AUTO) {
        unsigned char magic[4] = { 0 };
        ssize_t n = block_fd_pread(fd, magic, sizeof(magic), 0);
        if (n < 0) {
            close(fd);
            return vs_error_set(err, VS_ERR_IO, "cannot read disk image '%s': %s", path,
                                strerror((int)-n));
        }
        format = (n == 4 && !memcmp(magic, "QFI\xfb", 4)) ? BLOCK_FORMAT_QCOW2 : BLOCK_FORMAT_RAW;
    }
    const BlockDriver *drv = driver_for(format);
    if (!drv) {
        close(fd);
        return vs_error_set(err, VS_ERR_INVALID, "cannot open disk image '%s': unknown format",
                            path);
    }
    BlockImage *img = calloc(1, sizeof(*img));
    char *p = strdup(path);
    if (!img || !p) {
        free(img);
        free(p);
        close(fd);
        return vs_error_set(err, VS_ERR_NOMEM, "cannot open disk image '%s': out of memory", path);
    }
    img->drv = drv;
    img->path = p;
    img->fd = fd;
    img->flags = flags;
    img->read_only = ro;
    img->probed_raw = probed && format == BLOCK_FORMAT_RAW;
    img->link.dev = st.st_dev;
    img->link.ino = st.st_ino;
    img->link.depth = depth;
    img->link.child = child;
    pthread_mutex_init(&img->lock, NULL);
    VsStatus s = drv->open(img, err);
    img->link.child = NULL;
    if (s != VS_OK) {
        pthread_mutex_destroy(&img->lock);
        close(fd);
        free(img->path);
        free(img);
        return s;
    }
    *out = img;
    return VS_OK;
}

VsStatus block_open(const char *path, BlockFormat format, unsigned flags, BlockImage **out,
                    VsError *err)
{
    if (!path || !*path || !out)
        return vs_error_set(err, VS_ERR_INVALID, "cannot open disk image: no file name given");
    if ((flags & BLOCK_OPEN_SHARED) && !(flags & BLOCK_OPEN_READ_ONLY))
        return vs_error_set(err, VS_ERR_INVALID,
                            "cannot open disk image '%s': an unlocked open must be read-only",
                            path);
    return open_chain(path, format, flags, NULL, out, err);
}

char *block_backing_path(const char *image_path, const char *name)
{
    if (name[0] == '/')
        return strdup(name);
    char *copy = strdup(image_path);
    if (!copy)
        return NULL;
    const char *dir = dirname(copy);
    char *out = NULL;
    if (asprintf(&out, "%s/%s", dir, name) < 0)
        out = NULL;
    free(copy);
    return out;
}

VsStatus block_open_backing(BlockImage *child, const char *name, BlockFormat format,
                            BlockImage **out, VsError *err)
{
    char *path = block_backing_path(child->path, name);
    if (!path)
        return block_open_error(child, err, VS_ERR_NOMEM, "out of memory");
    unsigned flags = BLOCK_OPEN_READ_ONLY | (child->flags & BLOCK_OPEN_SHARED);
    /* Only the image the caller opened adds its name: the message then reads "top image:
     * backing file 'x': what went wrong deepest in the chain". */
    if (child->link.depth > 0) {
        VsStatus s = open_chain(path, format, flags, &child->link, out, err);
        free(path);
        return s;
    }
    VsError inner = { 0 };
    VsStatus s = open_chain(path, format, flags, &child->link, out, &inner);
    free(path);
    if (s != VS_OK)
        return block_open_error(child, err, s, "backing file '%s': %s", name, inner.message);
    return VS_OK;
}

VsStatus block_close(BlockImage *img, VsError *err)
{
    if (!img)
        return VS_OK;
    VsStatus s = VS_OK;
    pthread_mutex_lock(&img->lock);
    /* Opened writable: flush even if writes were refused since (a corrupt image keeps the
     * updates made before the corruption was found). */
    if (!(img->flags & BLOCK_OPEN_READ_ONLY))
        s = img->drv->flush(img, err);
    img->drv->close(img);
    pthread_mutex_unlock(&img->lock);
    pthread_mutex_destroy(&img->lock);
    close(img->fd);
    free(img->path);
    free(img);
    return s;
}

uint64_t block_size(const BlockImage *img)
{
    return img->size;
}

bool block_is_read_only(const BlockImage *img)
{
    return img->read_only;
}

const char *block_read_only_reason(const BlockImage *img)
{
    return img->read_only ? img->ro_reason : NULL;
}

const char *block_path(const BlockImage *img)
{
    return img->path;
}

static VsStatus check_range(BlockImage *img, uint64_t offset, uint64_t len, VsError *err)
{
    if (offset > img->size || len > img->size - offset)
        return block_error(img, err, VS_ERR_INVALID,
                           "access at offset %llu length %llu is past the end of the disk "
                           "(%llu bytes)",
                           (unsigned long long)offset, (unsigned long long)len,
                           (unsigned long long)img->size);
    return VS_OK;
}

static VsStatus check_writable(BlockImage *img, VsError *err)
{
    if (img->read_only && img->ro_reason)
        return block_error(img, err, VS_ERR_STATE, "writes are refused: %s", img->ro_reason);
    if (img->read_only)
        return block_error(img, err, VS_ERR_STATE, "the image is open read-only");
    return VS_OK;
}

VsStatus block_pread(BlockImage *img, uint64_t offset, void *buf, size_t len, VsError *err)
{
    VsStatus s = check_range(img, offset, len, err);
    if (s != VS_OK || len == 0)
        return s;
    pthread_mutex_lock(&img->lock);
    s = img->drv->pread(img, offset, buf, len, err);
    pthread_mutex_unlock(&img->lock);
    return s;
}

/*
 * A guest that writes a qcow2 header into a raw disk whose format was detected would have
 * it opened as qcow2 next time, with a backing file of its choosing anywhere on the host.
 * Refuse writes that would make the first bytes a qcow2 magic.
 */
static VsStatus check_probed_raw(BlockImage *img, uint64_t offset, const void *buf, size_t len,
                                 VsError *err)
{
    if (!img->probed_raw || offset >= 4)
        return VS_OK;
    unsigned char head[4] = { 0 };
    ssize_t n = block_fd_pread(img->fd, head, sizeof(head), 0);
    if (n < 0)
        return block_error(img, err, VS_ERR_IO, "read failed: %s", strerror((int)-n));
    size_t m = len < 4 - offset ? len : (size_t)(4 - offset);
    memcpy(head + offset, buf, m);
    if (memcmp(head, "QFI\xfb", 4))
        return VS_OK;
    return block_error(img, err, VS_ERR_STATE,
                       "refusing to write a qcow2 header into a raw image whose format was "
                       "detected; open it with format=raw to allow this");
}

VsStatus block_pwrite(BlockImage *img, uint64_t offset, const void *buf, size_t len, VsError *err)
{
    VsStatus s = check_range(img, offset, len, err);
    if (s == VS_OK)
        s = check_writable(img, err);
    if (s != VS_OK || len == 0)
        return s;
    pthread_mutex_lock(&img->lock);
    s = check_probed_raw(img, offset, buf, len, err);
    if (s == VS_OK)
        s = img->drv->pwrite(img, offset, buf, len, err);
    pthread_mutex_unlock(&img->lock);
    return s;
}

static VsStatus iov_length(BlockImage *img, const struct iovec *iov, int iovcnt, uint64_t *len,
                           VsError *err)
{
    uint64_t total = 0;
    if (iovcnt < 0 || (iovcnt && !iov))
        return block_error(img, err, VS_ERR_INVALID, "invalid scatter-gather list");
    for (int i = 0; i < iovcnt; i++) {
        if (iov[i].iov_len > UINT64_MAX - total)
            return block_error(img, err, VS_ERR_INVALID, "scatter-gather list too long");
        total += iov[i].iov_len;
    }
    *len = total;
    return VS_OK;
}

VsStatus block_preadv(BlockImage *img, uint64_t offset, const struct iovec *iov, int iovcnt,
                      VsError *err)
{
    uint64_t len = 0;
    VsStatus s = iov_length(img, iov, iovcnt, &len, err);
    if (s == VS_OK)
        s = check_range(img, offset, len, err);
    if (s != VS_OK || len == 0)
        return s;
    pthread_mutex_lock(&img->lock);
    for (int i = 0; i < iovcnt && s == VS_OK; i++) {
        if (iov[i].iov_len)
            s = img->drv->pread(img, offset, iov[i].iov_base, iov[i].iov_len, err);
        offset += iov[i].iov_len;
    }
    pthread_mutex_unlock(&img->lock);
    return s;
}

VsStatus block_pwritev(BlockImage *img, uint64_t offset, const struct iovec *iov, int iovcnt,
                       VsError *err)
{
    uint64_t len = 0;
    VsStatus s = iov_length(img, iov, iovcnt, &len, err);
    if (s == VS_OK)
        s = check_range(img, offset, len, err);
    if (s == VS_OK)
        s = check_writable(img, err);
    if (s != VS_OK || len == 0)
        return s;
    pthread_mutex_lock(&img->lock);
    for (int i = 0; i < iovcnt && s == VS_OK; i++) {
        if (!iov[i].iov_len)
            continue;
        s = check_probed_raw(img, offset, iov[i].iov_base, iov[i].iov_len, err);
        if (s == VS_OK)
            s = img->drv->pwrite(img, offset, iov[i].iov_base, iov[i].iov_len, err);
        offset += iov[i].iov_len;
    }
    pthread_mutex_unlock(&img->lock);
    return s;
}

int block_direct_fd(BlockImage *img, uint64_t offset, uint64_t len, bool write)
{
    if (img->drv != &block_driver_raw)
        return -1;
    if (offset > img->size || len > img->size - offset)
        return -1; /* block_preadv/pwritev report the error */
    if (write && (img->read_only || (img->probed_raw && offset < 4 && len)))
        return -1; /* the checks of block_pwritev */
    return img->fd;
}

int block_map_read(BlockImage *img, uint64_t offset, uint64_t len, uint64_t *host)
{
    int fd = block_direct_fd(img, offset, len, false);
    if (fd >= 0) {
        *host = offset;
        return fd;
    }
    if (!img->drv->map_read || !len || offset > img->size || len > img->size - offset)
        return -1;
    if (pthread_mutex_trylock(&img->lock) != 0)
        return -1; /* another thread is in the image: go through the pool */
    fd = img->drv->map_read(img, offset, len, host);
    pthread_mutex_unlock(&img->lock);
    return fd;
}

VsStatus block_flush(BlockImage *img, VsError *err)
{
    if (img->flags & BLOCK_OPEN_READ_ONLY)
        return VS_OK;
    pthread_mutex_lock(&img->lock);
    VsStatus s = img->drv->flush(img, err);
    pthread_mutex_unlock(&img->lock);
    return s;
}

/* A driver operation that changes [offset, offset+len): checked, then under the lock. */
static VsStatus modify_range(BlockImage *img, uint64_t offset, uint64_t len,
                             VsStatus (*op)(BlockImage *, uint64_t, uint64_t, VsError *),
                             VsError *err)
{
    VsStatus s = check_range(img, offset, len, err);
    if (s == VS_OK)
        s = check_writable(img, err);
    if (s != VS_OK || len == 0)
        return s;
    pthread_mutex_lock(&img->lock);
    s = op(img, offset, len, err);
    pthread_mutex_unlock(&img->lock);
    return s;
}

VsStatus block_discard(BlockImage *img, uint64_t offset, uint64_t len, VsError *err)
{
    return modify_range(img, offset, len, img->drv->discard, err);
}

VsStatus block_write_zeroes(BlockImage *img, uint64_t offset, uint64_t len, VsError *err)
{
    return modify_range(img, offset, len, img->drv->write_zeroes, err);
}

VsStatus block_get_info(BlockImage *img, BlockInfo *info, VsError *err)
{
    memset(info, 0, sizeof(*info));
    info->format = img->drv->format;
    info->virtual_size = img->size;
    info->read_only = img->read_only;
    struct stat st;
    if (fstat(img->fd, &st) == 0) {
        info->file_size = (uint64_t)st.st_size;
        info->disk_usage = (uint64_t)st.st_blocks * 512;
    }
    pthread_mutex_lock(&img->lock);
    VsStatus s = img->drv->get_info(img, info, err);
    pthread_mutex_unlock(&img->lock);
    return s;
}

VsStatus block_check(BlockImage *img, bool repair, BlockCheckResult *result,
                     BlockCheckReport report, void *opaque, VsError *err)
{
    memset(result, 0, sizeof(*result));
    if (repair && img->read_only)
        return block_error(img, err, VS_ERR_STATE, "repair needs the image open for writing");
    pthread_mutex_lock(&img->lock);
    VsStatus s = img->drv->check(img, repair, result, report, opaque, err);
    pthread_mutex_unlock(&img->lock);
    return s;
}

VsStatus block_create(const BlockCreateOptions *opts, VsError *err)
{
    const BlockDriver *drv = driver_for(opts->format);
    if (!opts->path || !*opts->path)
        return vs_error_set(err, VS_ERR_INVALID, "cannot create disk image: no file name given");
    if (!drv)
        return vs_error_set(err, VS_ERR_INVALID,
                            "cannot create disk image '%s': choose a format (raw or qcow2)",
                            opts->path);
    /* Disks are made of 512-byte sectors; qemu-img rounds the same way. */
    if (opts->size > (uint64_t)INT64_MAX - 511)
        return vs_error_set(err, VS_ERR_INVALID, "cannot create disk image '%s': size too large",
                            opts->path);
    BlockCreateOptions o = *opts;
    o.size = (opts->size + 511) & ~511ull;
    return drv->create(&o, err);
}
