/* SPDX-License-Identifier: MIT */
/* Guest physical memory map: RAM/ROM regions backed by host mappings, MMIO callbacks. */
#include <stdlib.h>
#include <string.h>

#include "mmu/mmu.h"
#include "osal/osal.h"

void physmem_init(PhysMem *pm)
{
    memset(pm, 0, sizeof(*pm));
}

static void region_free(MemRegion *r)
{
    if (r->kind != MR_MMIO && r->host)
        vs_mem_unmap(r->host, r->size);
    if (r->kind == MR_MMIO)
        pthread_mutex_destroy(&r->lock);
    free(r->code_bitmap);
    free(r);
}

void physmem_destroy(PhysMem *pm)
{
    for (unsigned i = 0; i < pm->count; i++)
        region_free(pm->regions[i]);
    free(pm->regions);
    memset(pm, 0, sizeof(*pm));
}

/* Insert keeping the array sorted; refuse overlaps and wrap-around. */
static bool insert(PhysMem *pm, MemRegion *r)
{
    if (r->size == 0 || r->base + r->size < r->base)
        return false;
    unsigned pos = 0;
    while (pos < pm->count && pm->regions[pos]->base < r->base)
        pos++;
    if (pos > 0) {
        MemRegion *prev = pm->regions[pos - 1];
        if (prev->base + prev->size > r->base)
            return false;
    }
    if (pos < pm->count && r->base + r->size > pm->regions[pos]->base)
        return false;
    if (pm->count == pm->cap) {
        unsigned ncap = pm->cap ? pm->cap * 2 : 16;
        MemRegion **n = realloc(pm->regions, ncap * sizeof(*n));
        if (!n)
            return false;
        pm->regions = n;
        pm->cap = ncap;
    }
    memmove(&pm->regions[pos + 1], &pm->regions[pos], (pm->count - pos) * sizeof(*pm->regions));
    pm->regions[pos] = r;
    pm->count++;
    if (r->kind == MR_RAM && (!pm->main_ram || r->size > pm->main_ram->size))
        pm->main_ram = r;
    return true;
}

static MemRegion *add_backed(PhysMem *pm, const char *name, MemRegionKind kind, uint64_t base,
                             uint64_t size)
{
    if (size == 0 || (size & (GUEST_PAGE_SIZE - 1)) || (base & (GUEST_PAGE_SIZE - 1)))
        return NULL;
    MemRegion *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->name = name;
    r->kind = kind;
    r->base = base;
    r->size = size;
    void *host = vs_mem_map(size, true);
    if (!host) {
        free(r);
        return NULL;
    }
    r->host = host;
    uint64_t pages = size >> GUEST_PAGE_BITS;
    r->code_bitmap = calloc((pages + 7) / 8, 1);
    if (!r->code_bitmap || !insert(pm, r)) {
        region_free(r);
        return NULL;
    }
    return r;
}

MemRegion *physmem_add_ram(PhysMem *pm, const char *name, uint64_t base, uint64_t size)
{
    return add_backed(pm, name, MR_RAM, base, size);
}

MemRegion *physmem_add_rom(PhysMem *pm, const char *name, uint64_t base, uint64_t size,
                           const void *data, size_t len)
{
    if (len > size)
        return NULL;
    MemRegion *r = add_backed(pm, name, MR_ROM, base, size);
    if (r && data && len)
        memcpy(r->host, data, len);
    return r;
}

MemRegion *physmem_add_mmio(PhysMem *pm, const char *name, uint64_t base, uint64_t size,
                            const MmioOps *ops, void *opaque)
{
    MemRegion *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->name = name;
    r->kind = MR_MMIO;
    r->base = base;
    r->size = size;
    r->ops = ops;
    r->opaque = opaque;
    pthread_mutex_init(&r->lock, NULL);
    if (!insert(pm, r)) {
        region_free(r);
        return NULL;
    }
    return r;
}

MemRegion *physmem_find(const PhysMem *pm, uint64_t paddr)
{
    MemRegion *ram = pm->main_ram;
    if (ram && paddr - ram->base < ram->size)
        return ram;
    unsigned lo = 0, hi = pm->count;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        MemRegion *r = pm->regions[mid];
        if (paddr < r->base)
            hi = mid;
        else if (paddr - r->base >= r->size)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

void *physmem_host_ptr(const PhysMem *pm, uint64_t paddr, uint64_t len, bool allow_rom)
{
    MemRegion *r = physmem_find(pm, paddr);
    if (!r || r->kind == MR_MMIO || (r->kind == MR_ROM && !allow_rom))
        return NULL;
    uint64_t off = paddr - r->base;
    if (len > r->size - off)
        return NULL;
    return r->host + off;
}

void physmem_dma_written(const PhysMem *pm, const void *host, size_t len)
{
    if (!len || !pm->code_written)
        return;
    const uint8_t *h = host;
    for (unsigned i = 0; i < pm->count; i++) {
        MemRegion *r = pm->regions[i];
        if (r->kind != MR_RAM || h < r->host || h >= r->host + r->size)
            continue;
        uint64_t off = (uint64_t)(h - r->host);
        uint64_t end = len > r->size - off ? r->size : off + len;
        for (uint64_t pg = off >> GUEST_PAGE_BITS; pg <= (end - 1) >> GUEST_PAGE_BITS; pg++) {
            if (__atomic_load_n(&r->code_bitmap[pg / 8], __ATOMIC_ACQUIRE) & (1u << (pg % 8)))
                pm->code_written(pm->code_written_opaque, r->base + (pg << GUEST_PAGE_BITS));
        }
        return;
    }
}

bool physmem_write(const PhysMem *pm, uint64_t paddr, const void *src, size_t len)
{
    /* Loaders write ROM too. */
    void *p = physmem_host_ptr(pm, paddr, len, true);
    if (!p)
        return len == 0;
    memcpy(p, src, len);
    return true;
}

bool physmem_read(const PhysMem *pm, uint64_t paddr, void *dst, size_t len)
{
    void *p = physmem_host_ptr(pm, paddr, len, true);
    if (!p)
        return len == 0;
    memcpy(dst, p, len);
    return true;
}

static uint64_t load_host(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1: return *p;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static void store_host(uint8_t *p, unsigned size, uint64_t val)
{
    switch (size) {
    case 1: *p = (uint8_t)val; break;
    case 2: {
        uint16_t v = (uint16_t)val;
        memcpy(p, &v, 2);
        break;
    }
    case 4: {
        uint32_t v = (uint32_t)val;
        memcpy(p, &v, 4);
        break;
    }
    default: memcpy(p, &val, 8); break;
    }
}

bool physmem_load(PhysMem *pm, uint64_t paddr, unsigned size, uint64_t *val)
{
    MemRegion *r = physmem_find(pm, paddr);
    if (!r || size - 1 >= 8 || paddr - r->base > r->size - size) {
        *val = 0;
        return false;
    }
    uint64_t off = paddr - r->base;
    if (r->kind == MR_MMIO) {
        pthread_mutex_lock(&r->lock);
        *val = r->ops->read ? r->ops->read(r->opaque, off, size) : 0;
        pthread_mutex_unlock(&r->lock);
        return true;
    }
    *val = load_host(r->host + off, size);
    return true;
}

bool physmem_store(PhysMem *pm, uint64_t paddr, unsigned size, uint64_t val)
{
    MemRegion *r = physmem_find(pm, paddr);
    if (!r || size - 1 >= 8 || paddr - r->base > r->size - size)
        return false;
    uint64_t off = paddr - r->base;
    if (r->kind == MR_MMIO) {
        pthread_mutex_lock(&r->lock);
        if (r->ops->write)
            r->ops->write(r->opaque, off, val, size);
        pthread_mutex_unlock(&r->lock);
        return true;
    }
    if (r->kind == MR_ROM)
        return true; /* writes to ROM are ignored */
    store_host(r->host + off, size, val);
    return true;
}

bool physmem_cmpxchg(PhysMem *pm, uint64_t paddr, unsigned size, uint64_t expected,
                     uint64_t desired)
{
    if ((size != 4 && size != 8) || (paddr & (size - 1)))
        return false;
    void *p = physmem_host_ptr(pm, paddr, size, false);
    if (!p)
        return false;
    if (size == 4) {
        uint32_t e = (uint32_t)expected;
        return __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, false,
                                           __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
    return __atomic_compare_exchange_n((uint64_t *)p, &expected, desired, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
