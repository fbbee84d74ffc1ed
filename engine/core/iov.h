/* SPDX-License-Identifier: MIT */
/* Scatter-gather lists (struct iovec): copying and slicing, for devices and the 9P server. */
#ifndef VESSEL_IOV_H
#define VESSEL_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Total bytes in iov[0..n). */
size_t iov_size(const struct iovec *iov, unsigned n);
/* Copy bytes [offset, offset+len) of iov to buf / from buf into iov; return bytes copied
 * (fewer when iov ends first). */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf,
                    size_t len);
/* Bytes [skip, skip+len) of iov as a new list in out[0..max) (pointing into the same
 * memory); returns its length, or -1 when it would need more than max entries. Stops
 * early when iov ends first. */
int iov_slice(const struct iovec *iov, unsigned n, uint64_t skip, uint64_t len, struct iovec *out,
              unsigned max);

#endif
