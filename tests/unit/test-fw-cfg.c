/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg (engine/devices/fw-cfg.c) as EDK2's QemuFwCfgLib (MMIO, DMA) drives it on arm:
 * selector written big-endian, data read in stream order, DMA through a big-endian
 * FWCfgDmaAccess in guest RAM (QEMU docs/specs/fw_cfg.rst), and hostile DMA requests.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "devices/fw-cfg.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE (1024 * 1024ull)

static PhysMem mem;
static FwCfg fc;

static void select_key(uint16_t key)
{
    fw_cfg_write(&fc, 8, __builtin_bswap16(key), 2);
}

static void put_be32(uint64_t addr, uint32_t v)
{
    uint32_t b = __builtin_bswap32(v);
    CHECK(physmem_write(&mem, addr, &b, 4));
}

static uint32_t get_be32(uint64_t addr)
{
    uint32_t b = 0;
    CHECK(physmem_read(&mem, addr, &b, 4));
    return __builtin_bswap32(b);
}

/* A DMA request at acc, started with the two 32-bit register writes. */
static uint32_t dma(uint64_t acc, uint32_t control, uint32_t length, uint64_t target)
{
    put_be32(acc, control);
    put_be32(acc + 4, length);
    put_be32(acc + 8, (uint32_t)(target >> 32));
    put_be32(acc + 12, (uint32_t)target);
    fw_cfg_write(&fc, 0x10, __builtin_bswap32((uint32_t)(acc >> 32)), 4);
    fw_cfg_write(&fc, 0x14, __builtin_bswap32((uint32_t)acc), 4);
    return get_be32(acc);
}

static void test_registers(void)
{
    select_key(FW_CFG_SIGNATURE);
    CHECK_EQ(fw_cfg_read(&fc, 0, 4), 0x554d4551); /* "QEMU" in memory order */
    select_key(FW_CFG_SIGNATURE);
    CHECK_EQ(fw_cfg_read(&fc, 0, 1), 'Q');
    CHECK_EQ(fw_cfg_read(&fc, 0, 2), 0x4d45); /* "EM" */
    CHECK_EQ(fw_cfg_read(&fc, 0, 1), 'U');
    CHECK_EQ(fw_cfg_read(&fc, 0, 4), 0); /* past the end */
    select_key(FW_CFG_ID);
    CHECK_EQ(fw_cfg_read(&fc, 0, 4), 3); /* traditional + DMA */
    /* The DMA register reads the signature. */
    uint64_t sig = fw_cfg_read(&fc, 0x10, 8);
    CHECK(memcmp(&sig, "QEMU CFG", 8) == 0);
    CHECK_EQ(fw_cfg_read(&fc, 0x14, 4), 0x47464320); /* " CFG" */
    /* Numeric items are little-endian. */
    CHECK(fw_cfg_add_i64(&fc, FW_CFG_RAM_SIZE, 0x123456789abcull));
    select_key(FW_CFG_RAM_SIZE);
    CHECK_EQ(fw_cfg_read(&fc, 0, 8), 0x123456789abcull);
    /* Unknown keys, arch-local keys: nothing selected, reads 0. The write channel bit is
     * ignored in the key. */
    select_key(0x3fff);
    CHECK_EQ(fw_cfg_read(&fc, 0, 4), 0);
    select_key(0x8000 | FW_CFG_ID);
    CHECK_EQ(fw_cfg_read(&fc, 0, 4), 0);
    select_key(0x4000 | FW_CFG_ID);
    CHECK_EQ(fw_cfg_read(&fc, 0, 4), 3);
    /* Writes to data, wrong widths, holes: ignored. */
    uint64_t before = fc.guest_errors;
    fw_cfg_write(&fc, 0, 0x55, 1);
    fw_cfg_write(&fc, 8, 0, 4);
    fw_cfg_write(&fc, 0x12, 0, 2);
    CHECK_EQ(fw_cfg_read(&fc, 8, 2), 0);
    CHECK_EQ(fc.guest_errors, before + 4);
    CHECK(!fw_cfg_add_bytes(&fc, FW_CFG_FILE_DIR, "x", 1));
    CHECK(!fw_cfg_add_bytes(&fc, FW_CFG_FILE_FIRST, "x", 1));
}

static void test_dma_files(void)
{
    static const char bootorder[] = "/pcie@10000000/pci@1,0/scsi@0\n";
    uint8_t big[300];
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    CHECK(fw_cfg_add_file(&fc, "bootorder", bootorder, sizeof(bootorder)));
    CHECK(fw_cfg_add_file(&fc, "etc/test-blob", big, sizeof(big)));
    CHECK(!fw_cfg_add_file(&fc, "bootorder", "x", 1)); /* taken */
    char longname[80];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[79] = 0;
    CHECK(!fw_cfg_add_file(&fc, longname, "x", 1));

    const uint64_t acc = RAM_BASE + 0x1000, buf = RAM_BASE + 0x2000;
    /* The directory: count, then size/select/name per file, all big-endian. */
    uint32_t ctl = FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | (uint32_t)FW_CFG_FILE_DIR << 16;
    CHECK_EQ(dma(acc, ctl, 4 + 2 * 64, buf), 0);
    CHECK_EQ(get_be32(buf), 2);
    CHECK_EQ(get_be32(buf + 4), sizeof(bootorder));
    CHECK_EQ(get_be32(buf + 8) >> 16, FW_CFG_FILE_FIRST);
    char name[56];
    CHECK(physmem_read(&mem, buf + 12, name, 56));
    CHECK(strcmp(name, "bootorder") == 0);
    CHECK_EQ(get_be32(buf + 68), sizeof(big));
    CHECK_EQ(get_be32(buf + 72) >> 16, FW_CFG_FILE_FIRST + 1);
    CHECK(physmem_read(&mem, buf + 76, name, 56));
    CHECK(strcmp(name, "etc/test-blob") == 0);

    /* A file in pieces: select+read 100, skip 50, read the rest and 20 more (zeros). */
    ctl = FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | (uint32_t)(FW_CFG_FILE_FIRST + 1) << 16;
    uint8_t got[300];
    memset(got, 0xee, sizeof(got));
    CHECK(physmem_write(&mem, buf, got, sizeof(got)));
    CHECK_EQ(dma(acc, ctl, 100, buf), 0);
    CHECK_EQ(dma(acc, FW_CFG_DMA_SKIP, 50, 0), 0);
    CHECK_EQ(dma(acc, FW_CFG_DMA_READ, 170, buf + 150), 0);
    CHECK(physmem_read(&mem, buf, got, sizeof(got)));
    CHECK(memcmp(got, big, 100) == 0);
    CHECK_EQ(got[100], 0xee); /* skipped: untouched */
    CHECK(memcmp(got + 150, big + 150, 150) == 0);
    uint8_t tail[20];
    CHECK(physmem_read(&mem, buf + 300, tail, 20));
    for (unsigned i = 0; i < 20; i++)
        CHECK_EQ(tail[i], 0);
    /* Data register reads continue where DMA left off (at the end now). */
    CHECK_EQ(fw_cfg_read(&fc, 0, 4), 0);
    /* A control with no operation moves nothing and succeeds. */
    CHECK_EQ(dma(acc, 0, 10, buf), 0);
    /* An 8-byte register write starts a transfer too. */
    put_be32(acc, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | (uint32_t)FW_CFG_SIGNATURE << 16);
    put_be32(acc + 4, 4);
    put_be32(acc + 8, (uint32_t)(buf >> 32));
    put_be32(acc + 12, (uint32_t)buf);
    fw_cfg_write(&fc, 0x10, __builtin_bswap64(acc), 8);
    CHECK_EQ(get_be32(acc), 0);
    CHECK_EQ(get_be32(buf), 0x51454d55); /* "QEMU" */
}

static void test_dma_hostile(void)
{
    const uint64_t acc = RAM_BASE + 0x1000;
    uint32_t rd = FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | (uint32_t)FW_CFG_FILE_DIR << 16;
    /* Target outside RAM, crossing its end, wrapping around, huge: error bit, no access. */
    CHECK_EQ(dma(acc, rd, 16, 0x1000), FW_CFG_DMA_ERROR);
    CHECK_EQ(dma(acc, rd, 64, RAM_BASE + RAM_SIZE - 8), FW_CFG_DMA_ERROR);
    CHECK_EQ(dma(acc, rd, 64, UINT64_MAX - 15), FW_CFG_DMA_ERROR);
    CHECK_EQ(dma(acc, rd, 0xffffffffu, RAM_BASE), FW_CFG_DMA_ERROR);
    /* The access structure over the firmware's own RAM end (its last bytes would lie
     * outside): not executed, nothing written. */
    uint64_t errs = fc.guest_errors;
    uint64_t edge = RAM_BASE + RAM_SIZE - 8;
    uint32_t marker = 0x11223344;
    CHECK(physmem_write(&mem, edge, &marker, 4));
    fw_cfg_write(&fc, 0x10, __builtin_bswap32((uint32_t)(edge >> 32)), 4);
    fw_cfg_write(&fc, 0x14, __builtin_bswap32((uint32_t)edge), 4);
    uint32_t after;
    CHECK(physmem_read(&mem, edge, &after, 4));
    CHECK_EQ(after, marker);
    CHECK(fc.guest_errors > errs);
    /* Structure nowhere near RAM. */
    fw_cfg_write(&fc, 0x10, 0xffffffffu, 4);
    fw_cfg_write(&fc, 0x14, 0xf0ffffffu, 4);
    /* Writes: no item is writable. */
    uint32_t wr = FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE | (uint32_t)FW_CFG_FILE_FIRST << 16;
    CHECK_EQ(dma(acc, wr, 4, RAM_BASE), FW_CFG_DMA_ERROR);
    /* Selecting a key that does not exist, then reading: zeros, success. */
    uint32_t junk = 0xdeadbeef;
    CHECK(physmem_write(&mem, RAM_BASE, &junk, 4));
    CHECK_EQ(dma(acc, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | 0x7777u << 16, 4, RAM_BASE), 0);
    CHECK(physmem_read(&mem, RAM_BASE, &junk, 4));
    CHECK_EQ(junk, 0);
    /* The structure may overlap its own target: the control word is written last. */
    CHECK_EQ(dma(acc, rd, 16, acc), 0);
}

int main(void)
{
    physmem_init(&mem);
    CHECK(physmem_add_ram(&mem, "ram", RAM_BASE, RAM_SIZE) != NULL);
    CHECK(fw_cfg_init(&fc, &mem));
    test_registers();
    test_dma_files();
    test_dma_hostile();
    fw_cfg_reset(&fc);
    CHECK_EQ(fw_cfg_read(&fc, 0, 4), 0);
    fw_cfg_destroy(&fc);
    physmem_destroy(&mem);
    printf("fw-cfg: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
