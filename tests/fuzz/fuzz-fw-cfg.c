/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: fw_cfg (engine/devices/fw-cfg.c) under a hostile guest, above all its DMA
 * interface, whose descriptor and target addresses come from the guest.
 *
 * Guest RAM is 64 KiB at 0x40000000 (nothing else is mapped). The device has the signature,
 * id, directory, two numeric items and three files (one empty). The input is a list of
 * 12-byte operations:
 *   op (1)  a (1)  b (2, le)  value (8, le)
 * op % 4: 0 register read (offset a % 0x20, size 1 << (b % 4)); 1 register write (same, with
 * value); 2 store value into RAM at offset b (8 bytes, e.g. to build a descriptor); 3 run a
 * DMA request with its descriptor at RAM base + b, or at `value` itself when a is odd.
 *
 * Checked after every operation (beyond ASan/UBSan): the selected item and offset stay
 * within the device's tables; a completed DMA read copied exactly the item's bytes (then
 * zeros) to where the descriptor said; the error bit is set exactly when the request could
 * not be carried out inside RAM.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fw-cfg.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE 0x10000ull

static PhysMem pm;
static FwCfg fc;
static uint8_t *ram;

static void init_once(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    physmem_init(&pm);
    if (!physmem_add_ram(&pm, "ram", RAM_BASE, RAM_SIZE))
        abort();
    ram = physmem_host_ptr(&pm, RAM_BASE, RAM_SIZE, false);
    if (!ram || !fw_cfg_init(&fc, &pm))
        abort();
    uint8_t blob[700];
    for (unsigned i = 0; i < sizeof(blob); i++)
        blob[i] = (uint8_t)(i * 13 + 1);
    if (!fw_cfg_add_i32(&fc, FW_CFG_NB_CPUS, 2) || !fw_cfg_add_i64(&fc, FW_CFG_RAM_SIZE, 1 << 30) ||
        !fw_cfg_add_file(&fc, "bootorder", "/pcie@10000000/pci@1,0\n", 24) ||
        !fw_cfg_add_file(&fc, "etc/blob", blob, sizeof(blob)) ||
        !fw_cfg_add_file(&fc, "etc/empty", NULL, 0))
        abort();
}

static uint64_t get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void check_state(void)
{
    if (fc.cur > FW_CFG_MAX_KEY)
        abort();
    if (fc.cur < FW_CFG_MAX_KEY && fc.offset > fc.items[fc.cur].len)
        abort();
}

/* A DMA request with the descriptor at addr; verify what it did. */
static void run_dma(uint64_t addr)
{
    bool in_ram = addr >= RAM_BASE && addr - RAM_BASE <= RAM_SIZE - 16;
    uint8_t desc[16];
    if (in_ram)
        memcpy(desc, ram + (addr - RAM_BASE), 16);
    uint32_t control = in_ram ? be32(desc) : 0, length = in_ram ? be32(desc + 4) : 0;
    uint64_t target = in_ram ? (uint64_t)be32(desc + 8) << 32 | be32(desc + 12) : 0;
    /* What a read should produce, computed before the transfer. */
    uint16_t key = fc.cur;
    if (control & FW_CFG_DMA_SELECT) {
        uint16_t k = (uint16_t)(control >> 16) & 0xbfff;
        key = (k & 0x8000) || k >= FW_CFG_MAX_KEY ? FW_CFG_MAX_KEY : k;
    }
    uint32_t offset = (control & FW_CFG_DMA_SELECT) ? 0 : fc.offset;
    bool is_read = control & FW_CFG_DMA_READ;
    bool target_ok = target >= RAM_BASE && length <= RAM_SIZE &&
                     target - RAM_BASE <= RAM_SIZE - length && length;

    fw_cfg_write(&fc, 0x10, __builtin_bswap32((uint32_t)(addr >> 32)), 4);
    fw_cfg_write(&fc, 0x14, __builtin_bswap32((uint32_t)addr), 4);
    if (!in_ram)
        return;
    uint32_t result = be32(ram + (addr - RAM_BASE));
    if (is_read && length) {
        if (result != (target_ok ? 0u : FW_CFG_DMA_ERROR))
            abort();
        if (target_ok) {
            /* The descriptor may overlap the target: its control word was written last. */
            const FwCfgItem *it = key < FW_CFG_MAX_KEY ? &fc.items[key] : NULL;
            for (uint32_t i = 0; i < length; i++) {
                uint64_t a = target + i;
                if (a >= addr && a < addr + 4)
                    continue;
                uint8_t want = it && offset + i < it->len ? it->data[offset + i] : 0;
                if (ram[a - RAM_BASE] != want)
                    abort();
            }
        }
    } else if (!is_read && (control & FW_CFG_DMA_WRITE) && length) {
        if (result != FW_CFG_DMA_ERROR)
            abort();
    } else if (result != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    memset(ram, 0, RAM_SIZE);
    fw_cfg_reset(&fc);
    for (size_t pos = 0; pos + 12 <= size; pos += 12) {
        const uint8_t *op = data + pos;
        unsigned a = op[1];
        unsigned b = (unsigned)get(op + 2, 2);
        uint64_t value = get(op + 4, 8);
        switch (op[0] % 4) {
        case 0: (void)fw_cfg_read(&fc, a % 0x20, 1u << (b % 4)); break;
        case 1: fw_cfg_write(&fc, a % 0x20, value, 1u << (b % 4)); break;
        case 2:
            if (b <= RAM_SIZE - 8)
                memcpy(ram + b, op + 4, 8);
            break;
        case 3: run_dma(a & 1 ? value : RAM_BASE + b); break;
        }
        check_state();
    }
    return 0;
}
