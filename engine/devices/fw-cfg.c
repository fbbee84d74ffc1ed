/* SPDX-License-Identifier: MIT */
/* QEMU fw_cfg, MMIO interface with DMA (fw-cfg.h). */
#include "devices/fw-cfg.h"

#include <stdlib.h>
#include <string.h>

#define KEY_NONE      FW_CFG_MAX_KEY
#define WRITE_CHANNEL 0x4000
#define ARCH_LOCAL    0x8000

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool set_item(FwCfg *s, uint16_t key, const void *data, uint32_t len)
{
    if (key >= FW_CFG_MAX_KEY)
        return false;
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return false;
        memcpy(copy, data, len);
    }
    free(s->items[key].data);
    s->items[key].data = copy;
    s->items[key].len = len;
    return true;
}

/* The directory item from the names and sizes. */
static bool build_dir(FwCfg *s)
{
    uint32_t len = 4 + s->nfiles * 64;
    uint8_t *d = calloc(1, len);
    if (!d)
        return false;
    put_be32(d, s->nfiles);
    for (unsigned i = 0; i < s->nfiles; i++) {
        uint8_t *e = d + 4 + 64 * i;
        uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + i);
        put_be32(e, s->items[key].len);
        e[4] = (uint8_t)(key >> 8);
        e[5] = (uint8_t)key;
        memcpy(e + 8, s->names[i], FW_CFG_NAME_LEN);
    }
    bool ok = set_item(s, FW_CFG_FILE_DIR, d, len);
    free(d);
    return ok;
}

bool fw_cfg_init(FwCfg *s, PhysMem *mem)
{
    memset(s, 0, sizeof(*s));
    s->mem = mem;
    s->cur = KEY_NONE;
    return set_item(s, FW_CFG_SIGNATURE, "QEMU", 4) && fw_cfg_add_i32(s, FW_CFG_ID, 3) &&
           build_dir(s);
}

void fw_cfg_destroy(FwCfg *s)
{
    for (unsigned i = 0; i < FW_CFG_MAX_KEY; i++) {
        free(s->items[i].data);
        s->items[i].data = NULL;
    }
}

void fw_cfg_reset(FwCfg *s)
{
    s->cur = KEY_NONE;
    s->offset = 0;
    s->dma_addr = 0;
}

bool fw_cfg_add_bytes(FwCfg *s, uint16_t key, const void *data, uint32_t len)
{
    if (key >= FW_CFG_FILE_FIRST || key == FW_CFG_FILE_DIR)
        return false;
    return set_item(s, key, data, len);
}

bool fw_cfg_add_i32(FwCfg *s, uint16_t key, uint32_t v)
{
    uint8_t b[4];
    for (unsigned i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_bytes(s, key, b, 4);
}

bool fw_cfg_add_i64(FwCfg *s, uint16_t key, uint64_t v)
{
    uint8_t b[8];
    for (unsigned i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fw_cfg_add_bytes(s, key, b, 8);
}

bool fw_cfg_add_file(FwCfg *s, const char *name, const void *data, uint32_t len)
{
    size_t nlen = strlen(name);
    if (s->nfiles == FW_CFG_MAX_FILES || nlen == 0 || nlen >= FW_CFG_NAME_LEN)
        return false;
    for (unsigned i = 0; i < s->nfiles; i++)
        if (strcmp(s->names[i], name) == 0)
            return false;
    uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + s->nfiles);
    if (!set_item(s, key, data, len))
        return false;
    memset(s->names[s->nfiles], 0, FW_CFG_NAME_LEN);
    memcpy(s->names[s->nfiles], name, nlen);
    s->nfiles++;
    if (!build_dir(s)) {
        s->nfiles--;
        set_item(s, key, NULL, 0);
        return false;
    }
    return true;
}

static void select_key(FwCfg *s, uint16_t key)
{
    s->offset = 0;
    key &= (uint16_t)~WRITE_CHANNEL;
    /* No architecture-local items exist. */
    s->cur = (key & ARCH_LOCAL) || key >= FW_CFG_MAX_KEY ? KEY_NONE : key;
}

static const FwCfgItem *current(const FwCfg *s)
{
    return s->cur == KEY_NONE ? NULL : &s->items[s->cur];
}

static uint8_t next_byte(FwCfg *s)
{
    const FwCfgItem *it = current(s);
    if (!it || s->offset >= it->len)
        return 0;
    return it->data[s->offset++];
}

uint64_t fw_cfg_read(FwCfg *s, uint64_t offset, unsigned size)
{
    if (size != 1 && size != 2 && size != 4 && size != 8) {
        s->guest_errors++;
        return 0;
    }
    uint64_t v = 0;
    if (offset == 0 && size <= 8) {
        for (unsigned i = 0; i < size; i++)
            v |= (uint64_t)next_byte(s) << (8 * i);
        return v;
    }
    if (offset >= 0x10 && offset + size <= 0x18) {
        /* The DMA register reads as the signature, byte for byte. */
        const char *sig = FW_CFG_DMA_SIGNATURE;
        for (unsigned i = 0; i < size; i++)
            v |= (uint64_t)(uint8_t)sig[offset - 0x10 + i] << (8 * i);
        return v;
    }
    /* The selector is write-only; anything else is a hole. */
    s->guest_errors++;
    return 0;
}

static uint32_t bswap32(uint32_t v)
{
    return __builtin_bswap32(v);
}

void fw_cfg_write(FwCfg *s, uint64_t offset, uint64_t value, unsigned size)
{
    if (offset == 0x08 && size == 2) {
        select_key(s, __builtin_bswap16((uint16_t)value));
    } else if (offset == 0x10 && size == 8) {
        s->dma_addr = 0;
        fw_cfg_dma(s, __builtin_bswap64(value));
    } else if (offset == 0x10 && size == 4) {
        s->dma_addr = (uint64_t)bswap32((uint32_t)value) << 32;
    } else if (offset == 0x14 && size == 4) {
        uint64_t addr = s->dma_addr | bswap32((uint32_t)value);
        s->dma_addr = 0;
        fw_cfg_dma(s, addr);
    } else {
        /* Data writes (no writable items), bad widths, holes. */
        s->guest_errors++;
    }
}

/* Guest RAM for [addr, addr+len), or NULL. */
static uint8_t *guest_ram(FwCfg *s, uint64_t addr, uint64_t len)
{
    if (len == 0 || addr + len < addr)
        return NULL;
    return physmem_host_ptr(s->mem, addr, len, false);
}

void fw_cfg_dma(FwCfg *s, uint64_t addr)
{
    uint8_t *acc = guest_ram(s, addr, 16);
    if (!acc) {
        /* Nowhere to report the error. */
        s->guest_errors++;
        return;
    }
    uint32_t control = get_be32(acc);
    uint32_t length = get_be32(acc + 4);
    uint64_t target = (uint64_t)get_be32(acc + 8) << 32 | get_be32(acc + 12);

    if (control & FW_CFG_DMA_SELECT)
        select_key(s, (uint16_t)(control >> 16));
    bool read = false, write = false;
    if (control & FW_CFG_DMA_READ)
        read = true;
    else if (control & FW_CFG_DMA_WRITE)
        write = true;
    else if (!(control & FW_CFG_DMA_SKIP))
        length = 0;

    uint32_t result = 0;
    if (write && length) {
        /* No item accepts writes. */
        result = FW_CFG_DMA_ERROR;
        s->guest_errors++;
    } else if (length) {
        const FwCfgItem *it = current(s);
        uint32_t avail = it && s->offset < it->len ? it->len - s->offset : 0;
        uint32_t n = length < avail ? length : avail;
        if (read) {
            uint8_t *dst = guest_ram(s, target, length);
            if (!dst) {
                result = FW_CFG_DMA_ERROR;
                s->guest_errors++;
            } else {
                if (n)
                    memcpy(dst, it->data + s->offset, n);
                memset(dst + n, 0, length - n);
                physmem_dma_written(s->mem, dst, length);
            }
        }
        if (!result)
            s->offset += n;
    }
    /* The control word goes back last, after the data (the guest polls it). */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    put_be32(acc, result);
    physmem_dma_written(s->mem, acc, 4);
}

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    return fw_cfg_read(opaque, offset, size);
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    fw_cfg_write(opaque, offset, value, size);
}

const MmioOps fw_cfg_mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
};
