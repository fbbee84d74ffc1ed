/* SPDX-License-Identifier: MIT */
/*
 * The JIT's code cache: one memfd mapped twice, writable at one address and executable at
 * another (W^X: no page is ever writable and executable at once). Code is written through
 * the RW view and run through the RX view at the same offset.
 *
 * Allocation is a bump pointer. When it fills, jit_buf_alloc fails and the owner flushes
 * the whole cache (jit_buf_reset) at a point where no vCPU runs generated code (an
 * exclusive section): there is no per-block free.
 */
#ifndef VESSEL_JIT_CODE_BUFFER_H
#define VESSEL_JIT_CODE_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct JitCodeBuf {
    uint8_t *rw; /* writable view */
    uint8_t *rx; /* executable view, same offsets */
    size_t size; /* bytes mapped */
    size_t used; /* bytes handed out */
    int fd;
} JitCodeBuf;

/* Map size bytes (rounded up to pages). Returns false with errno set on failure. */
bool jit_buf_init(JitCodeBuf *b, size_t size);
void jit_buf_destroy(JitCodeBuf *b);
/* Reserve n bytes aligned to align (a power of two); NULL when the cache is full. */
void *jit_buf_alloc(JitCodeBuf *b, size_t n, size_t align);
/* Bytes left from the current position (before alignment). */
static inline size_t jit_buf_avail(const JitCodeBuf *b)
{
    return b->size - b->used;
}
/* Give back the tail of the last allocation: it used only `used` of the n bytes reserved. */
void jit_buf_shrink_last(JitCodeBuf *b, void *rw_start, size_t n, size_t used);
/* Forget every allocation (all code in the cache becomes garbage). */
void jit_buf_reset(JitCodeBuf *b);
/* The executable address of a pointer into the writable view. */
static inline void *jit_buf_rx(const JitCodeBuf *b, const void *rw)
{
    return b->rx + ((const uint8_t *)rw - b->rw);
}
/* The writable address of a pointer into the executable view. */
static inline void *jit_buf_rw(const JitCodeBuf *b, const void *rx)
{
    return b->rw + ((const uint8_t *)rx - b->rx);
}
/* True if p points into the executable view. */
static inline bool jit_buf_contains_rx(const JitCodeBuf *b, const void *p)
{
    return b->rx && (const uint8_t *)p >= b->rx && (const uint8_t *)p < b->rx + b->size;
}

#endif
