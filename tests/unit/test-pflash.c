/* SPDX-License-Identifier: MIT */
/*
 * The CFI flash (engine/devices/pflash-cfi01.c) driven as NorFlashDxe and Linux's
 * cfi_cmdset_0001 drive it: 32-bit accesses with each command written to both x16 chips
 * (CMD << 16 | CMD). Expected values come from the JEDEC CFI query layout (JESD68: "QRY" at
 * 0x10, command set at 0x13, device size at 0x27, write buffer at 0x2a, erase regions from
 * 0x2c) and the Intel command set (status bit 7 ready, 5 erase error, 4 program error,
 * 1 locked). test-firmware-devs-qemu.py compares the same
 * model with QEMU's.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "devices/pflash-cfi01.h"
#include "tmpdir.h"

#define SIZE    (1024u * 1024) /* 4 sectors of 256 KiB */
#define DUAL(c) ((uint32_t)(c) << 16 | (c))

static uint32_t rd(PflashCfi01 *f, uint64_t off)
{
    return (uint32_t)pflash_read(f, off, 4);
}

static void cmd(PflashCfi01 *f, uint64_t off, uint8_t c)
{
    pflash_write(f, off, DUAL(c), 4);
}

static void test_query(void)
{
    uint8_t *s = malloc(SIZE);
    memset(s, 0xa5, SIZE);
    PflashCfi01 f;
    CHECK(pflash_init(&f, s, SIZE, false, -1));
    CHECK_EQ(rd(&f, 0x40), 0xa5a5a5a5); /* read array after reset */

    cmd(&f, 0x55 * 4, 0x98);
    CHECK_EQ(rd(&f, 0x10 * 4), DUAL('Q'));
    CHECK_EQ(rd(&f, 0x11 * 4), DUAL('R'));
    CHECK_EQ(rd(&f, 0x12 * 4), DUAL('Y'));
    CHECK_EQ(rd(&f, 0x13 * 4), DUAL(0x01)); /* Intel/Sharp extended command set */
    CHECK_EQ(rd(&f, 0x14 * 4), 0);
    CHECK_EQ(rd(&f, 0x15 * 4), DUAL(0x31)); /* primary extended table address */
    CHECK_EQ(rd(&f, 0x27 * 4), DUAL(19));   /* each chip: 512 KiB = 2^19 */
    CHECK_EQ(rd(&f, 0x28 * 4), DUAL(0x02)); /* x8/x16 interface */
    CHECK_EQ(rd(&f, 0x2a * 4), DUAL(11));   /* 2 KiB write buffer per chip */
    CHECK_EQ(rd(&f, 0x2c * 4), DUAL(1));    /* one erase region */
    CHECK_EQ(rd(&f, 0x2d * 4), DUAL(3));    /* 4 blocks - 1 */
    CHECK_EQ(rd(&f, 0x2e * 4), 0);
    CHECK_EQ(rd(&f, 0x2f * 4), 0); /* chip block 128 KiB = 0x200 * 256 */
    CHECK_EQ(rd(&f, 0x30 * 4), DUAL(2));
    CHECK_EQ(rd(&f, 0x31 * 4), DUAL('P'));
    CHECK_EQ(rd(&f, 0x32 * 4), DUAL('R'));
    CHECK_EQ(rd(&f, 0x33 * 4), DUAL('I'));
    /* Narrower reads see one chip's answer. */
    CHECK_EQ(pflash_read(&f, 0x10 * 4, 2), 'Q');
    CHECK_EQ(pflash_read(&f, 0x10 * 4 + 2, 1), 'Q');
    CHECK_EQ(pflash_read(&f, 0x10 * 4 + 1, 1), 0);
    CHECK_EQ(pflash_read(&f, 0x10 * 4, 8), (uint64_t)DUAL('R') << 32 | DUAL('Q'));

    cmd(&f, 0, 0x90);
    CHECK_EQ(rd(&f, 0), DUAL(PFLASH_MANUFACTURER));
    CHECK_EQ(rd(&f, 4), DUAL(PFLASH_DEVICE_ID));
    CHECK_EQ(rd(&f, 8), 0); /* block unlocked */
    cmd(&f, 0, 0xff);
    CHECK_EQ(rd(&f, 0), 0xa5a5a5a5);
    /* 0x00 is read array too. */
    cmd(&f, 0, 0x98);
    cmd(&f, 0, 0x00);
    CHECK_EQ(rd(&f, 0x40), 0xa5a5a5a5);
    /* Not a power of two, too small, too large. */
    PflashCfi01 g;
    CHECK(!pflash_init(&g, s, 3 * 256 * 1024, false, -1));
    CHECK(!pflash_init(&g, s, 4096, false, -1));
    CHECK(!pflash_init(&g, s, 128ull * 1024 * 1024, false, -1));
    free(s);
}

static void test_program_erase(void)
{
    char dir[256], path[300];
    CHECK(test_mkdtemp(dir, sizeof(dir), "vessel-pflash"));
    snprintf(path, sizeof(path), "%s/vars.fd", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    uint8_t *s = malloc(SIZE);
    memset(s, 0x0f, SIZE);
    CHECK(pwrite(fd, s, SIZE, 0) == SIZE);
    PflashCfi01 f;
    CHECK(pflash_init(&f, s, SIZE, false, fd));

    /* Block erase of the second block: only it becomes 0xff, and the file follows. */
    const uint64_t blk = PFLASH_SECTOR_SIZE;
    cmd(&f, blk + 0x100, 0x20);
    CHECK_EQ(rd(&f, blk), DUAL(0x80)); /* status while waiting for the confirm */
    cmd(&f, blk + 0x100, 0xd0);
    CHECK_EQ(rd(&f, blk), DUAL(0x80)); /* read status after the operation */
    cmd(&f, 0, 0xff);
    CHECK_EQ(rd(&f, blk), 0xffffffff);
    CHECK_EQ(rd(&f, 2 * blk - 4), 0xffffffff);
    CHECK_EQ(rd(&f, blk - 4), 0x0f0f0f0f);
    CHECK_EQ(rd(&f, 2 * blk), 0x0f0f0f0f);
    uint32_t word;
    CHECK(pread(fd, &word, 4, (off_t)(blk + 8)) == 4);
    CHECK_EQ(word, 0xffffffff);

    /* Word program: bits are only cleared. */
    cmd(&f, blk + 16, 0x40);
    pflash_write(&f, blk + 16, 0x12345678, 4);
    CHECK_EQ(rd(&f, blk + 16), DUAL(0x80));
    cmd(&f, 0, 0xff);
    CHECK_EQ(rd(&f, blk + 16), 0x12345678);
    cmd(&f, blk + 16, 0x10);
    pflash_write(&f, blk + 16, 0xffff00ff, 4);
    cmd(&f, 0, 0xff);
    CHECK_EQ(rd(&f, blk + 16), 0x12340078);
    CHECK(pread(fd, &word, 4, (off_t)(blk + 16)) == 4);
    CHECK_EQ(word, 0x12340078);

    /* Buffered program of 4 words: nothing reaches the array before the confirm. */
    uint64_t at = blk + 0x80;
    cmd(&f, at, 0xe8);
    CHECK_EQ(rd(&f, at), DUAL(0x80));
    pflash_write(&f, at, DUAL(3), 4); /* 4 words */
    for (unsigned i = 0; i < 4; i++)
        pflash_write(&f, at + 4 * i, 0xa0000000u + i, 4);
    CHECK_EQ(s[at], 0xff);
    cmd(&f, at, 0xd0);
    CHECK_EQ(rd(&f, at), DUAL(0x80));
    cmd(&f, 0, 0xff);
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ(rd(&f, at + 4 * i), 0xa0000000u + i);
    CHECK_EQ(rd(&f, at + 16), 0xffffffff);
    CHECK(pread(fd, &word, 4, (off_t)(at + 12)) == 4);
    CHECK_EQ(word, 0xa0000003);

    /* Bad sequences: an erase confirmed with something else, too many buffer words, data
     * outside the buffer, a buffer not confirmed. The array stays as it was. */
    cmd(&f, 0, 0x20);
    cmd(&f, 0, 0x55);
    CHECK_EQ(rd(&f, 0), DUAL(0xb0)); /* ready + erase error + program error */
    cmd(&f, 0, 0xff);
    CHECK_EQ(rd(&f, 0), 0x0f0f0f0f);
    cmd(&f, 0, 0x50); /* clear status */
    cmd(&f, 0, 0x70);
    CHECK_EQ(rd(&f, 0), DUAL(0x80));
    cmd(&f, 0, 0xe8);
    pflash_write(&f, 0, DUAL(PFLASH_BUFFER_WORDS), 4);
    CHECK_EQ(rd(&f, 0), DUAL(0xb0));
    cmd(&f, 0, 0x50);
    cmd(&f, 0, 0xe8);
    pflash_write(&f, 0, DUAL(1), 4);
    pflash_write(&f, PFLASH_BUFFER_BYTES, 0, 4); /* outside the write buffer */
    CHECK_EQ(rd(&f, 0), DUAL(0xb0));
    cmd(&f, 0, 0x50);
    cmd(&f, 0, 0xe8);
    pflash_write(&f, 0, DUAL(0), 4);
    pflash_write(&f, 0, 0, 4);
    cmd(&f, 0, 0xff); /* not the confirm */
    CHECK_EQ(rd(&f, 0), DUAL(0xb0));
    cmd(&f, 0, 0xff);
    CHECK_EQ(rd(&f, 0), 0x0f0f0f0f);
    CHECK(f.guest_errors >= 4);
    /* Unknown command: ignored, back to the array. */
    cmd(&f, 0, 0x50);
    cmd(&f, 0, 0x42);
    CHECK_EQ(rd(&f, 0), 0x0f0f0f0f);

    /* Out of range and odd widths: nothing happens, reads are 0. */
    CHECK_EQ(pflash_read(&f, SIZE, 4), 0);
    CHECK_EQ(pflash_read(&f, SIZE - 2, 4), 0);
    CHECK_EQ(pflash_read(&f, 0, 3), 0);
    pflash_write(&f, SIZE - 1, 0x40, 2);
    pflash_write(&f, UINT64_MAX - 1, 0x40, 4);
    CHECK_EQ(rd(&f, 0), 0x0f0f0f0f);

    close(fd);
    unlink(path);
    rmdir(dir);
    free(s);
}

static void test_readonly(void)
{
    uint8_t *s = malloc(SIZE);
    memset(s, 0x3c, SIZE);
    PflashCfi01 f;
    CHECK(pflash_init(&f, s, SIZE, true, -1));
    cmd(&f, 0, 0x20);
    cmd(&f, 0, 0xd0);
    CHECK_EQ(rd(&f, 0), DUAL(0xa2)); /* ready, erase error, block locked */
    cmd(&f, 0, 0x50);
    cmd(&f, 8, 0x40);
    pflash_write(&f, 8, 0, 4);
    CHECK_EQ(rd(&f, 0), DUAL(0x92)); /* ready, program error, block locked */
    cmd(&f, 0, 0x50);
    cmd(&f, 0, 0xe8);
    pflash_write(&f, 0, DUAL(0), 4);
    pflash_write(&f, 0, 0, 4);
    cmd(&f, 0, 0xd0);
    CHECK_EQ(rd(&f, 0), DUAL(0x92));
    cmd(&f, 0, 0xff);
    for (unsigned i = 0; i < SIZE; i += 4096)
        CHECK_EQ(s[i], 0x3c);
    CHECK_EQ(rd(&f, 8), 0x3c3c3c3c);
    /* Queries still work on a read-only bank. */
    cmd(&f, 0, 0x98);
    CHECK_EQ(rd(&f, 0x10 * 4), DUAL('Q'));
    pflash_reset(&f);
    CHECK_EQ(rd(&f, 0x10 * 4), 0x3c3c3c3c);
    free(s);
}

int main(void)
{
    test_query();
    test_program_erase();
    test_readonly();
    printf("pflash: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
