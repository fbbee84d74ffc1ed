/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <string.h>

#include "core/iov.h"

size_t iov_size(const struct iovec *iov, unsigned n)
{
    size_t t = 0;
    for (unsigned i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* The copy loop of both directions. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t offset, uint8_t *buf, size_t len,
                       bool to_buf)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        size_t l = iov[i].iov_len;
        if (offset >= l) {
            offset -= l;
            continue;
        }
        size_t c = l - offset < len - done ? l - offset : len - done;
        uint8_t *p = (uint8_t *)iov[i].iov_base + offset;
        if (to_buf)
            memcpy(buf + done, p, c);
        else
            memcpy(p, buf + done, c);
        done += c;
        offset = 0;
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len)
{
    return iov_copy(iov, n, offset, buf, len, true);
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf, size_t len)
{
    return iov_copy(iov, n, offset, (uint8_t *)buf, len, false);
}

int iov_slice(const struct iovec *iov, unsigned n, uint64_t skip, uint64_t len, struct iovec *out,
              unsigned max)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && len; i++) {
        uint64_t l = iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        if (k == max)
            return -1;
        uint64_t take = l - skip < len ? l - skip : len;
        out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
        out[k].iov_len = (size_t)take;
        k++;
        len -= take;
        skip = 0;
    }
    return (int)k;
}
