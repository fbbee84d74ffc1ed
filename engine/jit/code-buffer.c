/* SPDX-License-Identifier: MIT */
/* The JIT code cache: a memfd mapped RW and RX (see code-buffer.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jit/code-buffer.h"

bool jit_buf_init(JitCodeBuf *b, size_t size)
{
    memset(b, 0, sizeof(*b));
    b->fd = -1;
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    size = (size + page - 1) & ~(page - 1);
    if (size == 0) {
        errno = EINVAL;
        return false;
    }
    int fd = memfd_create("vessel-jit", MFD_CLOEXEC);
    if (fd < 0)
        return false;
    if (ftruncate(fd, (off_t)size) != 0)
        goto fail;
    void *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (rw == MAP_FAILED)
        goto fail;
    void *rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (rx == MAP_FAILED) {
        int e = errno;
        munmap(rw, size);
        errno = e;
        goto fail;
    }
    b->rw = rw;
    b->rx = rx;
    b->size = size;
    b->fd = fd;
    return true;
fail : {
    int e = errno;
    close(fd);
    errno = e;
    return false;
}
}

void jit_buf_destroy(JitCodeBuf *b)
{
    if (b->rw)
        munmap(b->rw, b->size);
    if (b->rx)
        munmap(b->rx, b->size);
    if (b->fd >= 0)
        close(b->fd);
    memset(b, 0, sizeof(*b));
    b->fd = -1;
}

void *jit_buf_alloc(JitCodeBuf *b, size_t n, size_t align)
{
    size_t start = (b->used + align - 1) & ~(align - 1);
    if (start > b->size || n > b->size - start)
        return NULL;
    b->used = start + n;
    return b->rw + start;
}

void jit_buf_shrink_last(JitCodeBuf *b, void *rw_start, size_t n, size_t used)
{
    size_t start = (size_t)((uint8_t *)rw_start - b->rw);
    if (used <= n && start + n == b->used)
        b->used = start + used;
}

void jit_buf_reset(JitCodeBuf *b)
{
    b->used = 0;
}
