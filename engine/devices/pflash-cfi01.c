/* SPDX-License-Identifier: MIT */
/* CFI NOR flash, Intel/Sharp command set, two x16 chips on a 32-bit bank (pflash-cfi01.h). */
#include "devices/pflash-cfi01.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define BUFFER_BYTES PFLASH_BUFFER_BYTES

static unsigned log2_u64(uint64_t v)
{
    unsigned n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

bool pflash_init(PflashCfi01 *f, uint8_t *storage, uint64_t size, bool readonly, int fd)
{
    memset(f, 0, sizeof(*f));
    if (!storage || size < PFLASH_SECTOR_SIZE || size > 64ull * 1024 * 1024 || (size & (size - 1)))
        return false;
    f->storage = storage;
    f->size = size;
    f->readonly = readonly;
    f->fd = fd;
    f->fd_len = size;

    /* The query table of one chip (JESD68): each chip holds half of every bank word. */
    uint64_t chip_size = size / 2;
    uint32_t blocks = (uint32_t)(size / PFLASH_SECTOR_SIZE);
    uint32_t chip_block = PFLASH_SECTOR_SIZE / 2;
    uint8_t *q = f->cfi;
    q[0x10] = 'Q';
    q[0x11] = 'R';
    q[0x12] = 'Y';
    q[0x13] = 0x01; /* primary command set: Intel/Sharp extended */
    q[0x15] = 0x31; /* primary extended table at 0x31 */
    q[0x1b] = 0x45; /* Vcc min 4.5 V */
    q[0x1c] = 0x55; /* Vcc max 5.5 V */
    q[0x1f] = 0x07; /* typical word program 2^7 us */
    q[0x20] = 0x07; /* typical buffer program 2^7 us */
    q[0x21] = 0x0a; /* typical block erase 2^10 ms */
    q[0x23] = 0x04; /* maximum: 2^4 x typical */
    q[0x24] = 0x04;
    q[0x25] = 0x04;
    q[0x27] = (uint8_t)log2_u64(chip_size);
    q[0x28] = 0x02; /* x8/x16 asynchronous interface */
    q[0x2a] = (uint8_t)log2_u64(BUFFER_BYTES / 2);
    q[0x2c] = 1; /* one erase block region */
    q[0x2d] = (uint8_t)(blocks - 1);
    q[0x2e] = (uint8_t)((blocks - 1) >> 8);
    q[0x2f] = (uint8_t)(chip_block >> 8);
    q[0x30] = (uint8_t)(chip_block >> 16);
    q[0x31] = 'P';
    q[0x32] = 'R';
    q[0x33] = 'I';
    q[0x34] = '1';
    q[0x35] = '0';
    pflash_reset(f);
    return true;
}

void pflash_reset(PflashCfi01 *f)
{
    f->cmd = 0;
    f->wcycle = 0;
    f->status = PFLASH_SR_READY;
    f->counter = 0;
}

/* The 16-bit answer of one chip in the current (non-array) read mode at chip address a. */
static uint16_t chip_answer(const PflashCfi01 *f, uint64_t a)
{
    switch (f->cmd) {
    case 0x90:
        if (a == 0)
            return PFLASH_MANUFACTURER;
        if (a == 1)
            return PFLASH_DEVICE_ID;
        return 0; /* block lock status and the rest */
    case 0x98: return a < sizeof(f->cfi) ? f->cfi[a] : 0;
    default: return f->status; /* read status, and every command in progress */
    }
}

uint64_t pflash_read(PflashCfi01 *f, uint64_t offset, unsigned size)
{
    if ((size != 1 && size != 2 && size != 4 && size != 8) || offset >= f->size ||
        size > f->size - offset)
        return 0;
    uint64_t v = 0;
    if (f->cmd == 0) {
        for (unsigned i = 0; i < size; i++)
            v |= (uint64_t)f->storage[offset + i] << (8 * i);
        return v;
    }
    for (unsigned i = 0; i < size; i++) {
        uint64_t o = offset + i;
        uint16_t a = chip_answer(f, o / PFLASH_BANK_WIDTH);
        v |= (uint64_t)((a >> (8 * (o % PFLASH_CHIP_WIDTH))) & 0xff) << (8 * i);
    }
    return v;
}

static void persist(PflashCfi01 *f, uint64_t offset, uint64_t len)
{
    if (f->fd < 0)
        return;
    while (len) {
        ssize_t n = pwrite(f->fd, f->storage + offset, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            f->io_error = true;
            f->status |= PFLASH_SR_PROG_ERROR;
            return;
        }
        offset += (uint64_t)n;
        len -= (uint64_t)n;
    }
}

static void sequence_error(PflashCfi01 *f)
{
    f->guest_errors++;
    f->status |= PFLASH_SR_ERASE_ERROR | PFLASH_SR_PROG_ERROR;
    f->cmd = 0x70;
    f->wcycle = 0;
}

/* Program bytes of value at offset (bits only cleared). */
static void program(PflashCfi01 *f, uint64_t offset, uint64_t value, unsigned size)
{
    if (f->readonly) {
        f->status |= PFLASH_SR_PROG_ERROR | PFLASH_SR_BLOCK_LOCKED;
        return;
    }
    for (unsigned i = 0; i < size; i++)
        f->storage[offset + i] &= (uint8_t)(value >> (8 * i));
    persist(f, offset, size);
}

static void commit_buffer(PflashCfi01 *f)
{
    if (f->readonly) {
        f->status |= PFLASH_SR_PROG_ERROR | PFLASH_SR_BLOCK_LOCKED;
        return;
    }
    for (unsigned i = 0; i < BUFFER_BYTES; i++)
        if (f->wmask[i])
            f->storage[f->buffer_base + i] &= f->wbuf[i];
    persist(f, f->buffer_base, BUFFER_BYTES);
}

static void erase_block(PflashCfi01 *f, uint64_t offset)
{
    if (f->readonly) {
        f->status |= PFLASH_SR_ERASE_ERROR | PFLASH_SR_BLOCK_LOCKED;
        return;
    }
    uint64_t base = offset & ~(uint64_t)(PFLASH_SECTOR_SIZE - 1);
    memset(f->storage + base, 0xff, PFLASH_SECTOR_SIZE);
    persist(f, base, PFLASH_SECTOR_SIZE);
}

/* Done: the chip shows its status until told otherwise (Intel: read status after an
 * operation). */
static void finish(PflashCfi01 *f)
{
    f->status |= PFLASH_SR_READY;
    f->cmd = 0x70;
    f->wcycle = 0;
}

static void first_cycle(PflashCfi01 *f, uint8_t cmd)
{
    switch (cmd) {
    case 0x00:
    case 0xff:
        f->cmd = 0;
        f->wcycle = 0;
        return;
    case 0x70:
    case 0x90:
    case 0x98:
        f->cmd = cmd;
        f->wcycle = 0;
        return;
    case 0x50:
        f->status &=
            ~(PFLASH_SR_ERASE_ERROR | PFLASH_SR_PROG_ERROR | 0x08 | PFLASH_SR_BLOCK_LOCKED);
        f->status |= PFLASH_SR_READY;
        /* Clear status does not change the read mode. */
        return;
    case 0x10:
    case 0x20:
    case 0x40:
    case 0x60:
    case 0xe8:
        f->cmd = cmd;
        f->wcycle = 1;
        f->status |= PFLASH_SR_READY;
        return;
    default:
        /* Not a command of this set: ignored, back to reading the array. */
        f->guest_errors++;
        f->cmd = 0;
        f->wcycle = 0;
        return;
    }
}

void pflash_write(PflashCfi01 *f, uint64_t offset, uint64_t value, unsigned size)
{
    if ((size != 1 && size != 2 && size != 4 && size != 8) || offset >= f->size ||
        size > f->size - offset) {
        f->guest_errors++;
        return;
    }
    uint8_t cmd = (uint8_t)value;
    if (f->wcycle == 0) {
        first_cycle(f, cmd);
        return;
    }
    switch (f->cmd) {
    case 0x10:
    case 0x40:
        program(f, offset, value, size);
        finish(f);
        return;
    case 0x20:
        if (cmd == 0xd0) {
            erase_block(f, offset);
            finish(f);
        } else if (cmd == 0xff) {
            pflash_reset(f);
        } else {
            sequence_error(f);
        }
        return;
    case 0x60:
        /* Lock/unlock confirm: no block is ever locked. */
        if (cmd == 0xd0 || cmd == 0x01)
            finish(f);
        else if (cmd == 0xff)
            pflash_reset(f);
        else
            sequence_error(f);
        return;
    case 0xe8:
        if (f->wcycle == 1) {
            uint32_t count = (uint32_t)(value & 0xffff);
            if (count >= PFLASH_BUFFER_WORDS) {
                sequence_error(f);
                return;
            }
            f->counter = count + 1;
            f->buffer_base = offset & ~(uint64_t)(BUFFER_BYTES - 1);
            memset(f->wbuf, 0xff, sizeof(f->wbuf));
            memset(f->wmask, 0, sizeof(f->wmask));
            f->wcycle = 2;
            return;
        }
        if (f->wcycle == 2) {
            if (offset < f->buffer_base || offset + size > f->buffer_base + BUFFER_BYTES) {
                sequence_error(f);
                return;
            }
            /* Into the write buffer: the array changes only at the confirm. */
            for (unsigned i = 0; i < size; i++) {
                uint64_t b = offset - f->buffer_base + i;
                f->wbuf[b] &= (uint8_t)(value >> (8 * i));
                f->wmask[b] = 1;
            }
            if (--f->counter == 0)
                f->wcycle = 3;
            return;
        }
        /* Cycle 3: the confirm programs the buffer. */
        if (cmd == 0xd0) {
            commit_buffer(f);
            finish(f);
        } else
            sequence_error(f);
        return;
    default: sequence_error(f); return;
    }
}

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    return pflash_read(opaque, offset, size);
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    pflash_write(opaque, offset, value, size);
}

const MmioOps pflash_mmio_ops = {
    .read = mmio_read,
    .write = mmio_write,
};
