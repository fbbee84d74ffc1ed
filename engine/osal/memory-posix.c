/* SPDX-License-Identifier: MIT */
#include <sys/mman.h>

#include "osal/osal.h"

void *vs_mem_map(size_t size, bool guest_ram)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (guest_ram ? MAP_NORESERVE : 0);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (guest_ram)
        madvise(p, size, MADV_HUGEPAGE); /* advice only: failure is harmless */
    return p;
}

void vs_mem_unmap(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

void vs_mem_discard(void *p, size_t size)
{
    if (size)
        madvise(p, size, MADV_DONTNEED); /* advice only: on failure the pages stay */
}
