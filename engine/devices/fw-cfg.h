/* SPDX-License-Identifier: MIT */
/*
 * QEMU's firmware configuration device (fw_cfg), MMIO flavour, as on QEMU's arm `virt`
 * board (QEMU docs/specs/fw_cfg.rst; EDK2 OvmfPkg/Library/QemuFwCfgLib reads it):
 *
 *   +0x00  data      1/2/4/8-byte reads return the next bytes of the selected item in
 *                    order (the first byte at the lowest address: "string preserving");
 *                    past the end of the item they read 0. Writes are ignored.
 *   +0x08  selector  2-byte big-endian write: select an item, offset back to 0.
 *   +0x10  DMA       big-endian address of a FWCfgDmaAccess: an 8-byte write at +0x10, or
 *                    4-byte writes of the high half at +0x10 and the low half at +0x14 (the
 *                    low half starts the transfer). Reads return "QEMU CFG".
 *
 * FWCfgDmaAccess (big-endian, in guest RAM): u32 control, u32 length, u64 address. control:
 * bit 0 error, 1 read, 2 skip, 3 select (item in bits 31:16), 4 write. The device selects
 * first if asked, then reads (copies the item to guest RAM, zeros past its end), skips
 * (advances the offset), or writes (refused: no item here is writable, so it sets the error
 * bit), and finally stores control back: 0 when done, the error bit otherwise.
 *
 * The guest is hostile: the access structure and every byte the transfer touches must lie
 * in guest RAM (physmem_host_ptr), otherwise the transfer stops with the error bit set (or,
 * when the structure itself is not in RAM, nothing is written at all). Lengths are 32-bit,
 * so one request moves at most 4 GiB, and only inside RAM.
 *
 * Items: 0x00 signature "QEMU", 0x01 id (bit 0 traditional, bit 1 DMA), 0x19 the file
 * directory (big-endian u32 count, then per file u32 size, u16 select, u16 reserved,
 * char name[56]), numeric items added with fw_cfg_add_i32/i64 (little-endian), files from
 * key 0x20 up in the order added. Unknown keys select nothing: data reads 0.
 */
#ifndef VESSEL_FW_CFG_H
#define VESSEL_FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmu/mmu.h"

#define FW_CFG_MMIO_SIZE      0x18

#define FW_CFG_SIGNATURE      0x00
#define FW_CFG_ID             0x01
#define FW_CFG_UUID           0x02
#define FW_CFG_RAM_SIZE       0x03
#define FW_CFG_NOGRAPHIC      0x04
#define FW_CFG_NB_CPUS        0x05
#define FW_CFG_KERNEL_SIZE    0x08
#define FW_CFG_KERNEL_CMDLINE 0x09
#define FW_CFG_INITRD_SIZE    0x0b
#define FW_CFG_BOOT_MENU      0x0e
#define FW_CFG_MAX_CPUS       0x0f
#define FW_CFG_CMDLINE_SIZE   0x14
#define FW_CFG_FILE_DIR       0x19
#define FW_CFG_FILE_FIRST     0x20
#define FW_CFG_MAX_FILES      64
#define FW_CFG_MAX_KEY        (FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)
#define FW_CFG_NAME_LEN       56

#define FW_CFG_DMA_ERROR      0x01
#define FW_CFG_DMA_READ       0x02
#define FW_CFG_DMA_SKIP       0x04
#define FW_CFG_DMA_SELECT     0x08
#define FW_CFG_DMA_WRITE      0x10

#define FW_CFG_DMA_SIGNATURE  "QEMU CFG"

typedef struct FwCfgItem {
    uint8_t *data; /* owned */
    uint32_t len;
} FwCfgItem;

typedef struct FwCfg {
    PhysMem *mem;
    FwCfgItem items[FW_CFG_MAX_KEY];
    char names[FW_CFG_MAX_FILES][FW_CFG_NAME_LEN];
    unsigned nfiles;
    uint16_t cur; /* selected key; FW_CFG_MAX_KEY: none */
    uint32_t offset;
    uint64_t dma_addr; /* high half written so far */
    uint64_t guest_errors;
} FwCfg;

/* Signature, id and an empty file directory. mem: guest memory for DMA. */
bool fw_cfg_init(FwCfg *s, PhysMem *mem);
void fw_cfg_destroy(FwCfg *s);
/* Machine reset: nothing selected. */
void fw_cfg_reset(FwCfg *s);
/* A legacy item (copied). false when key is out of range or out of memory. */
bool fw_cfg_add_bytes(FwCfg *s, uint16_t key, const void *data, uint32_t len);
bool fw_cfg_add_i32(FwCfg *s, uint16_t key, uint32_t v);
bool fw_cfg_add_i64(FwCfg *s, uint16_t key, uint64_t v);
/* A named file (copied); false when the directory is full, the name too long or taken. */
bool fw_cfg_add_file(FwCfg *s, const char *name, const void *data, uint32_t len);

/* Register access (offset inside FW_CFG_MMIO_SIZE; values as the CPU sees them, i.e. the
 * little-endian interpretation of the bytes at the register). */
uint64_t fw_cfg_read(FwCfg *s, uint64_t offset, unsigned size);
void fw_cfg_write(FwCfg *s, uint64_t offset, uint64_t value, unsigned size);
/* Run the DMA request whose FWCfgDmaAccess is at guest physical address addr. */
void fw_cfg_dma(FwCfg *s, uint64_t addr);

extern const MmioOps fw_cfg_mmio_ops;

#endif
