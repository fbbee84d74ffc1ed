/* SPDX-License-Identifier: MIT */
/*
 * CFI parallel NOR flash with the Intel/Sharp command set (JEDEC JESD68 CFI, Intel's
 * "Common Flash Interface" and 28F/P30 command definitions), as the arm64 virt board wires
 * it: one bank 4 bytes wide made of two x16 chips side by side, so every command is written
 * to both chips at once (the low byte of each half of a 32-bit write; the low byte of the
 * written value is the command) and every answer other than array data comes back twice, in
 * bits 15:0 and 31:16 of a 32-bit read. NorFlashDxe (EDK2) and Linux's cfi_cmdset_0001 drive
 * it that way.
 *
 * Commands (first write cycle, low byte of the value):
 *   0xff, 0x00  read array (the default after reset)
 *   0x70        read status register (bit 7 ready, 5 erase error, 4 program error,
 *               1 block locked)
 *   0x50        clear status register (bits 5, 4, 3, 1)
 *   0x90        read identifier: chip address 0 manufacturer, 1 device (both 0, as QEMU's
 *               virt board leaves them), 2 block lock status (0: unlocked)
 *   0x98        CFI query (table below; chip address = bank offset / 4)
 *   0x20 + 0xd0 block erase: the 256 KiB bank block containing the address becomes 0xff
 *   0x40, 0x10  word program: the next write programs its bytes (bits can only be cleared:
 *               new = old AND data, as on NOR flash)
 *   0xe8        buffered program: the next write is the word count - 1 (each word one
 *               4-byte bank write, at most PFLASH_BUFFER_WORDS), then that many data writes
 *               inside one write buffer, then 0xd0 to confirm
 *   0x60 + 0xd0/0x01 block unlock/lock: accepted, blocks are never locked
 * A bad second cycle (erase or buffered program not confirmed with 0xd0, a word count above
 * the buffer, data outside the buffer) sets status bits 5 and 4 (command sequence error) and
 * leaves the chip in read-status mode until 0xff. Every operation completes at once: status
 * bit 7 always reads 1.
 *
 * A read-only bank (the firmware code bank, or a variable store the user cannot write)
 * answers every command but changes nothing: program and erase set the program/erase error
 * bit and bit 1 (block locked), as a locked block does.
 *
 * Writes are persisted: after each program or erase the changed range is written to the
 * backing file descriptor (if any) before the status says the operation is done.
 *
 * Accesses: 1, 2, 4 or 8 bytes at any offset inside the bank. Array reads return the
 * storage bytes (little-endian). Command writes look at the low 8 bits of the value.
 */
#ifndef VESSEL_PFLASH_CFI01_H
#define VESSEL_PFLASH_CFI01_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmu/mmu.h"

#define PFLASH_BANK_WIDTH      4
#define PFLASH_CHIP_WIDTH      2
#define PFLASH_SECTOR_SIZE     (256u * 1024) /* erase block of the bank (two chips) */
#define PFLASH_BUFFER_WORDS    1024 /* bank words in the write buffer (2 KiB a chip, as QEMU) */
#define PFLASH_BUFFER_BYTES    (PFLASH_BUFFER_WORDS * PFLASH_BANK_WIDTH)
#define PFLASH_MANUFACTURER    0x00 /* as QEMU virt: no identifier codes set */
#define PFLASH_DEVICE_ID       0x00

#define PFLASH_SR_READY        0x80
#define PFLASH_SR_ERASE_ERROR  0x20
#define PFLASH_SR_PROG_ERROR   0x10
#define PFLASH_SR_BLOCK_LOCKED 0x02

typedef struct PflashCfi01 {
    uint8_t *storage; /* size bytes (caller's memory) */
    uint64_t size;    /* a multiple of PFLASH_SECTOR_SIZE */
    bool readonly;
    int fd;          /* backing file for writes, or -1 */
    uint64_t fd_len; /* bytes of storage the file holds (writes beyond extend it) */
    bool io_error;   /* a write to the backing file failed (reported once by the owner) */

    uint8_t cmd;    /* the command being executed / the read mode (0: read array) */
    uint8_t wcycle; /* write cycle within cmd */
    uint8_t status;
    uint32_t counter;                   /* buffered program: data writes left */
    uint64_t buffer_base;               /* buffered program: start of the write buffer */
    uint8_t wbuf[PFLASH_BUFFER_BYTES];  /* buffered program: data to program at the confirm */
    uint8_t wmask[PFLASH_BUFFER_BYTES]; /* which bytes of wbuf were written */
    uint8_t cfi[0x50];                  /* query table, chip addresses 0x00..0x4f */
    uint64_t guest_errors;              /* rejected command sequences */
} PflashCfi01;

/*
 * storage holds size bytes (a multiple of PFLASH_SECTOR_SIZE, at most 64 MiB with these
 * chips) and stays the caller's. fd (or -1) receives every change at the same offset.
 * Returns false for a size the geometry cannot describe.
 */
bool pflash_init(PflashCfi01 *f, uint8_t *storage, uint64_t size, bool readonly, int fd);
/* Back to read-array mode with a clear status (machine reset; contents unchanged). */
void pflash_reset(PflashCfi01 *f);

uint64_t pflash_read(PflashCfi01 *f, uint64_t offset, unsigned size);
void pflash_write(PflashCfi01 *f, uint64_t offset, uint64_t value, unsigned size);

/* opaque: the PflashCfi01. */
extern const MmioOps pflash_mmio_ops;

#endif
