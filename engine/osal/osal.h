/* SPDX-License-Identifier: MIT */
/*
 * OS abstraction: the few host services the engine needs that differ between operating
 * systems. Linux (POSIX) implementations live in osal/<name>-posix.c; another host adds its own
 * files behind this header.
 */
#ifndef VESSEL_OSAL_H
#define VESSEL_OSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Host monotonic clock in nanoseconds (osal/clock-posix.c). */
uint64_t vs_clock_ns(void);

/*
 * Anonymous zeroed memory for guest RAM and large engine tables (osal/memory-posix.c).
 * `guest_ram`: reserve lazily (no commit charge up front) and ask for transparent huge
 * pages. Returns NULL on failure.
 */
void *vs_mem_map(size_t size, bool guest_ram);
void vs_mem_unmap(void *p, size_t size);
/* Give the pages of [p, p + size) (page-aligned, inside a vs_mem_map mapping) back to the
 * host; they read as zero afterwards. */
void vs_mem_discard(void *p, size_t size);

/* Name the calling thread for debuggers and top (osal/thread-posix.c). */
void vs_thread_set_name(const char *name);

#endif
