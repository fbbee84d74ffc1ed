/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request handling (virtio 1.2 section 5.2) driven as a driver would: the real
 * device core, virtqueues, block layer (raw and qcow2 files in a temporary folder) and
 * asynchronous I/O engine (io_uring, then again with VESSEL_AIO=threads), without a
 * machine: vs_vdev_attach is faked and completions run on this thread (virtio_blk_drain).
 *
 * Checks the status of good and malformed requests, that bad ones write nothing, that
 * chains too broken to answer mark the device DEVICE_NEEDS_RESET, and that a reset with
 * requests in flight publishes nothing afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/aio.h"
#include "block/block.h"
#include "check.h"
#include "core/machine.h"
#include "mmu/mmu.h"
#include "tmpdir.h"
#include "virtio/vdev.h"
#include "virtio/virtio-blk.h"

/* ---- Fakes for what virtio-blk.c links against but this test does not drive ---- */

VsStatus vs_vdev_attach(VsMachine *m, const char *name, VirtioDevice *dev,
                        void (*destroy)(void *owner), void *owner, VsError *err)
{
    (void)m, (void)name, (void)dev, (void)err;
    destroy(owner);
    return VS_ERR_UNSUPPORTED;
}

/* ---- A minimal driver ---- */

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (32u << 20)
#define QSZ      64
#define DESC     (RAM_BASE)
#define AVAIL    (RAM_BASE + 0x1000)
#define USED     (RAM_BASE + 0x2000)
#define HDR      (RAM_BASE + 0x10000) /* request headers, 64 bytes apart */
#define STATUS   (RAM_BASE + 0x20000) /* status bytes, 64 bytes apart */
#define DATA     (RAM_BASE + 0x100000)

#define BIT(n)   (1ull << (n))

static PhysMem g_mem;
static uint16_t g_avail_idx, g_next_desc, g_used_seen;

static uint8_t *ram(uint64_t pa)
{
    return physmem_host_ptr(&g_mem, pa, 1, false);
}

static void wr16(uint64_t pa, uint16_t v)
{
    memcpy(ram(pa), &v, 2);
}
static void wr32(uint64_t pa, uint32_t v)
{
    memcpy(ram(pa), &v, 4);
}
static void wr64(uint64_t pa, uint64_t v)
{
    memcpy(ram(pa), &v, 8);
}
static uint16_t rd16(uint64_t pa)
{
    uint16_t v;
    memcpy(&v, ram(pa), 2);
    return v;
}
static uint32_t rd32(uint64_t pa)
{
    uint32_t v;
    memcpy(&v, ram(pa), 4);
    return v;
}

static uint32_t cfg32(VirtioDevice *dev, uint32_t off)
{
    uint32_t v = 0;
    virtio_dev_read_config(dev, off, &v, 4);
    return v;
}

static bool has_offer(VirtioDevice *dev, unsigned bit)
{
    return (virtio_dev_device_features(dev, bit / 32) >> (bit % 32)) & 1;
}

static void driver_setup(VirtioDevice *dev)
{
    memset(ram(DESC), 0, 0x3000);
    g_avail_idx = g_next_desc = g_used_seen = 0;
    uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_SEG_MAX) |
                 BIT(VIRTIO_BLK_F_BLK_SIZE);
    if (has_offer(dev, VIRTIO_BLK_F_DISCARD))
        f |= BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    if (has_offer(dev, VIRTIO_BLK_F_RO))
        f |= BIT(VIRTIO_BLK_F_RO);
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_dev_set_driver_features(dev, 0, (uint32_t)f);
    virtio_dev_set_driver_features(dev, 1, (uint32_t)(f >> 32));
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                   VIRTIO_STATUS_FEATURES_OK);
    CHECK(virtio_dev_status(dev) & VIRTIO_STATUS_FEATURES_OK);
    VirtQueue *vq = &dev->queues[0];
    vq->size = QSZ;
    vq->desc_addr = DESC;
    vq->avail_addr = AVAIL;
    vq->used_addr = USED;
    CHECK(virtio_dev_queue_set_ready(dev, 0, true));
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    CHECK(virtio_dev_running(dev));
}

typedef struct Buf {
    uint64_t addr;
    uint32_t len;
    bool write;
} Buf;

static void add_chain(const Buf *b, int n)
{
    uint16_t head = g_next_desc;
    for (int i = 0; i < n; i++) {
        uint16_t d = (uint16_t)((g_next_desc + i) % QSZ);
        uint64_t pa = DESC + 16ull * d;
        wr64(pa, b[i].addr);
        wr32(pa + 8, b[i].len);
        uint16_t flags =
            (b[i].write ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);
        wr16(pa + 12, flags);
        wr16(pa + 14, (uint16_t)((d + 1) % QSZ));
    }
    g_next_desc = (uint16_t)((g_next_desc + n) % QSZ);
    wr16(AVAIL + 4 + 2 * (g_avail_idx % QSZ), head);
    g_avail_idx++;
    wr16(AVAIL + 2, g_avail_idx);
}

static void header(unsigned slot, uint32_t type, uint64_t sector)
{
    wr32(HDR + 64 * slot, type);
    wr32(HDR + 64 * slot + 4, 0);
    wr64(HDR + 64 * slot + 8, sector);
}

/* Kick and wait for every request; returns how many new used entries appeared. */
static unsigned kick(VirtioBlk *b)
{
    virtio_dev_queue_notify(virtio_blk_device(b), 0);
    virtio_blk_drain(b);
    uint16_t used = rd16(USED + 2);
    unsigned n = (uint16_t)(used - g_used_seen);
    g_used_seen = used;
    return n;
}

static uint32_t last_used_len(void)
{
    return rd32(USED + 4 + 8 * ((g_used_seen - 1) % QSZ) + 4);
}

/* A request: header, optional device-readable data, optional device-writable data, status.
 * Returns the status byte, or 0xEE when the request was not used. */
static uint8_t request(VirtioBlk *b, uint32_t type, uint64_t sector, uint64_t out_pa,
                       uint32_t out_len, uint64_t in_pa, uint32_t in_len)
{
    Buf c[4];
    int n = 0;
    header(0, type, sector);
    c[n++] = (Buf){ HDR, 16, false };
    if (out_len)
        c[n++] = (Buf){ out_pa, out_len, false };
    if (in_len)
        c[n++] = (Buf){ in_pa, in_len, true };
    *ram(STATUS) = 0xEE;
    c[n++] = (Buf){ STATUS, 1, true };
    add_chain(c, n);
    unsigned used = kick(b);
    if (used != 1)
        return 0xEE;
    return *ram(STATUS);
}

static void segment(uint64_t pa, uint64_t sector, uint32_t num, uint32_t flags)
{
    wr64(pa, sector);
    wr32(pa + 8, num);
    wr32(pa + 12, flags);
}

/* ---- Tests ---- */

static char g_dir[256];
static char g_raw[300], g_qcow2[300];

static VirtioBlk *open_disk(const char *path, VsDiskFormat fmt, bool ro)
{
    VsDiskConfig cfg = { .path = path, .format = fmt, .readonly = ro };
    VirtioBlk *b = NULL;
    VsError err = { 0 };
    VsStatus s = virtio_blk_new(&g_mem, NULL, NULL, &cfg, &b, &err);
    if (s != VS_OK)
        fprintf(stderr, "open %s: %s\n", path, err.message);
    CHECK(s == VS_OK);
    return b;
}

static void file_read(const char *path, uint64_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && pread(fd, buf, len, (off_t)off) == (ssize_t)len);
    close(fd);
}

static void test_config(void)
{
    VirtioBlk *b = open_disk(g_raw, VS_DISK_FORMAT_AUTO, false);
    if (!b)
        return;
    VirtioDevice *dev = virtio_blk_device(b);
    uint64_t cap = 0;
    virtio_dev_read_config(dev, VIRTIO_BLK_CFG_CAPACITY, &cap, 8);
    CHECK_EQ(cap, (8u << 20) / 512);
    CHECK_EQ(cfg32(dev, VIRTIO_BLK_CFG_SEG_MAX), VIRTIO_BLK_SEG_MAX);
    CHECK_EQ(cfg32(dev, VIRTIO_BLK_CFG_BLK_SIZE), 512);
    CHECK_EQ(cfg32(dev, VIRTIO_BLK_CFG_MAX_DISCARD), VIRTIO_BLK_MAX_DISCARD_SECS);
    CHECK_EQ(cfg32(dev, VIRTIO_BLK_CFG_DISCARD_SEG), VIRTIO_BLK_MAX_DISCARD_SEG);
    CHECK(has_offer(dev, VIRTIO_BLK_F_FLUSH));
    CHECK(has_offer(dev, VIRTIO_BLK_F_DISCARD));
    CHECK(has_offer(dev, VIRTIO_BLK_F_WRITE_ZEROES));
    CHECK(!has_offer(dev, VIRTIO_BLK_F_RO));
    virtio_blk_free(b);

    b = open_disk(g_raw, VS_DISK_FORMAT_RAW, true);
    if (!b)
        return;
    dev = virtio_blk_device(b);
    CHECK(has_offer(dev, VIRTIO_BLK_F_RO));
    CHECK(!has_offer(dev, VIRTIO_BLK_F_DISCARD));
    CHECK(!has_offer(dev, VIRTIO_BLK_F_WRITE_ZEROES));
    virtio_blk_free(b);
}

/* Reads, writes, flush and GET_ID on a writable disk of either format. */
static void test_io(const char *path, VsDiskFormat fmt)
{
    VirtioBlk *b = open_disk(path, fmt, false);
    if (!b)
        return;
    VirtioDevice *dev = virtio_blk_device(b);
    driver_setup(dev);

    /* Write 8 KiB at sector 16, read it back through the device. */
    for (unsigned i = 0; i < 8192; i++)
        ram(DATA)[i] = (uint8_t)(i * 7 + 3);
    CHECK_EQ(request(b, VIRTIO_BLK_T_OUT, 16, DATA, 8192, 0, 0), VIRTIO_BLK_S_OK);
    CHECK_EQ(last_used_len(), 1);
    memset(ram(DATA + 0x10000), 0, 8192);
    CHECK_EQ(request(b, VIRTIO_BLK_T_IN, 16, 0, 0, DATA + 0x10000, 8192), VIRTIO_BLK_S_OK);
    CHECK_EQ(last_used_len(), 8193);
    CHECK(memcmp(ram(DATA), ram(DATA + 0x10000), 8192) == 0);
    CHECK_EQ(request(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0), VIRTIO_BLK_S_OK);
    if (fmt == VS_DISK_FORMAT_RAW) {
        uint8_t f[8192];
        file_read(path, 16 * 512, f, sizeof(f));
        CHECK(memcmp(f, ram(DATA), sizeof(f)) == 0);
    }

    /* The header split over two descriptors and the data over three (2.7.4.1). */
    header(1, VIRTIO_BLK_T_IN, 16);
    *ram(STATUS + 64) = 0xEE;
    memset(ram(DATA + 0x20000), 0, 8192);
    Buf c[] = { { HDR + 64, 5, false },
                { HDR + 69, 11, false },
                { DATA + 0x20000, 1000, true },
                { DATA + 0x20000 + 1000, 24, true },
                { DATA + 0x20000 + 1024, 7168, true },
                { STATUS + 64, 1, true } };
    add_chain(c, 6);
    CHECK_EQ(kick(b), 1);
    CHECK_EQ(*ram(STATUS + 64), VIRTIO_BLK_S_OK);
    CHECK(memcmp(ram(DATA), ram(DATA + 0x20000), 8192) == 0);

    /* The status byte as the last byte of a data buffer. */
    header(2, VIRTIO_BLK_T_IN, 16);
    *ram(DATA + 0x30000 + 512) = 0xEE;
    Buf c2[] = { { HDR + 128, 16, false }, { DATA + 0x30000, 513, true } };
    add_chain(c2, 2);
    CHECK_EQ(kick(b), 1);
    CHECK_EQ(*ram(DATA + 0x30000 + 512), VIRTIO_BLK_S_OK);
    CHECK(memcmp(ram(DATA), ram(DATA + 0x30000), 512) == 0);

    /* Several requests in flight at once: 8 reads in one kick. */
    for (unsigned i = 0; i < 8; i++) {
        header(3 + i, VIRTIO_BLK_T_IN, 16 + i);
        *ram(STATUS + 64 * (3 + i)) = 0xEE;
        Buf r[] = { { HDR + 64 * (3 + i), 16, false },
                    { DATA + 0x40000 + 512 * i, 512, true },
                    { STATUS + 64 * (3 + i), 1, true } };
        add_chain(r, 3);
    }
    CHECK_EQ(kick(b), 8);
    for (unsigned i = 0; i < 8; i++)
        CHECK_EQ(*ram(STATUS + 64 * (3 + i)), VIRTIO_BLK_S_OK);
    CHECK(memcmp(ram(DATA), ram(DATA + 0x40000), 4096) == 0);

    /* GET_ID: the file's name, NUL-padded to 20 bytes. */
    memset(ram(DATA + 0x50000), 0xFF, 32);
    CHECK_EQ(request(b, VIRTIO_BLK_T_GET_ID, 0, 0, 0, DATA + 0x50000, 20), VIRTIO_BLK_S_OK);
    const char *base = strrchr(path, '/') + 1;
    CHECK(strncmp((char *)ram(DATA + 0x50000), base, 20) == 0);
    CHECK_EQ(ram(DATA + 0x50000)[strlen(base)], 0);

    /* WRITE_ZEROES with UNMAP, then DISCARD: both OK, the zeroed range reads zeros. */
    segment(DATA + 0x60000, 16, 4, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
    CHECK_EQ(request(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, DATA + 0x60000, 16, 0, 0), VIRTIO_BLK_S_OK);
    memset(ram(DATA + 0x10000), 0xFF, 4096);
    CHECK_EQ(request(b, VIRTIO_BLK_T_IN, 16, 0, 0, DATA + 0x10000, 4096), VIRTIO_BLK_S_OK);
    static const uint8_t zero[2048];
    CHECK(memcmp(ram(DATA + 0x10000), zero, 2048) == 0);
    CHECK(memcmp(ram(DATA + 0x10000 + 2048), ram(DATA + 2048), 2048) == 0);
    /* Without UNMAP too (a raw file keeps its space allocated). */
    segment(DATA + 0x60000, 20, 2, 0);
    CHECK_EQ(request(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, DATA + 0x60000, 16, 0, 0), VIRTIO_BLK_S_OK);
    memset(ram(DATA + 0x10000), 0xFF, 4096);
    CHECK_EQ(request(b, VIRTIO_BLK_T_IN, 16, 0, 0, DATA + 0x10000, 4096), VIRTIO_BLK_S_OK);
    CHECK(memcmp(ram(DATA + 0x10000), zero, 2048) == 0);
    CHECK(memcmp(ram(DATA + 0x10000 + 2048), zero, 1024) == 0);
    CHECK(memcmp(ram(DATA + 0x10000 + 3072), ram(DATA + 3072), 1024) == 0);
    segment(DATA + 0x60000, 0, 128, 0);
    segment(DATA + 0x60010, 1024, 128, 0);
    CHECK_EQ(request(b, VIRTIO_BLK_T_DISCARD, 0, DATA + 0x60000, 32, 0, 0), VIRTIO_BLK_S_OK);
    virtio_blk_free(b);
}

/* Malformed or refused requests on a raw disk: their status, and that nothing was written. */
static void test_bad_requests(void)
{
    VirtioBlk *b = open_disk(g_raw, VS_DISK_FORMAT_RAW, false);
    if (!b)
        return;
    VirtioDevice *dev = virtio_blk_device(b);
    driver_setup(dev);
    uint64_t cap = (8u << 20) / 512;
    uint8_t before[4096], after[4096];
    file_read(g_raw, (cap - 8) * 512, before, sizeof(before));
    memset(ram(DATA), 0x5A, 8192);

    CHECK_EQ(request(b, 99, 0, 0, 0, 0, 0), VIRTIO_BLK_S_UNSUPP);
    CHECK_EQ(request(b, VIRTIO_BLK_T_GET_LIFETIME, 0, 0, 0, DATA, 16), VIRTIO_BLK_S_UNSUPP);
    CHECK_EQ(request(b, VIRTIO_BLK_T_SECURE_ERASE, 0, DATA, 16, 0, 0), VIRTIO_BLK_S_UNSUPP);
    /* Past the end, crossing the end, huge sector numbers (no overflow). */
    CHECK_EQ(request(b, VIRTIO_BLK_T_IN, cap, 0, 0, DATA + 0x10000, 512), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(b, VIRTIO_BLK_T_OUT, cap - 4, DATA, 4096, 0, 0), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(b, VIRTIO_BLK_T_OUT, UINT64_MAX / 256, DATA, 512, 0, 0), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(b, VIRTIO_BLK_T_IN, UINT64_MAX, 0, 0, DATA + 0x10000, 512),
             VIRTIO_BLK_S_IOERR);
    /* Lengths that are not whole sectors. */
    CHECK_EQ(request(b, VIRTIO_BLK_T_OUT, cap - 8, DATA, 511, 0, 0), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(b, VIRTIO_BLK_T_IN, cap - 8, 0, 0, DATA + 0x10000, 513), VIRTIO_BLK_S_IOERR);
    /* A zero-length read at the very end is fine. */
    CHECK_EQ(request(b, VIRTIO_BLK_T_IN, cap, 0, 0, 0, 0), VIRTIO_BLK_S_OK);
    /* Discard / write-zeroes: unmap on discard and unknown flags are UNSUPP (5.2.6.2);
     * no segment, a partial segment, too many segments, too long or past the end: IOERR. */
    segment(DATA + 0x60000, 0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
    CHECK_EQ(request(b, VIRTIO_BLK_T_DISCARD, 0, DATA + 0x60000, 16, 0, 0), VIRTIO_BLK_S_UNSUPP);
    segment(DATA + 0x60000, 0, 8, 2);
    CHECK_EQ(request(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, DATA + 0x60000, 16, 0, 0),
             VIRTIO_BLK_S_UNSUPP);
    CHECK_EQ(request(b, VIRTIO_BLK_T_DISCARD, 0, 0, 0, 0, 0), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(b, VIRTIO_BLK_T_DISCARD, 0, DATA + 0x60000, 15, 0, 0), VIRTIO_BLK_S_IOERR);
    for (unsigned i = 0; i <= VIRTIO_BLK_MAX_DISCARD_SEG; i++)
        segment(DATA + 0x60000 + 16 * i, 0, 1, 0);
    CHECK_EQ(request(b, VIRTIO_BLK_T_DISCARD, 0, DATA + 0x60000,
                     16 * (VIRTIO_BLK_MAX_DISCARD_SEG + 1), 0, 0),
             VIRTIO_BLK_S_IOERR);
    segment(DATA + 0x60000, cap - 8, 16, 0);
    CHECK_EQ(request(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, DATA + 0x60000, 16, 0, 0),
             VIRTIO_BLK_S_IOERR);
    segment(DATA + 0x60000, 0, VIRTIO_BLK_MAX_DISCARD_SECS + 1, 0);
    CHECK_EQ(request(b, VIRTIO_BLK_T_DISCARD, 0, DATA + 0x60000, 16, 0, 0), VIRTIO_BLK_S_IOERR);
    file_read(g_raw, (cap - 8) * 512, after, sizeof(after));
    CHECK(memcmp(before, after, sizeof(before)) == 0);
    CHECK(!(virtio_dev_status(dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));

    /* A header shorter than 16 bytes: unanswerable, the device needs a reset. */
    Buf shorthdr[] = { { HDR, 8, false }, { STATUS, 1, true } };
    *ram(STATUS) = 0xEE;
    add_chain(shorthdr, 2);
    CHECK_EQ(kick(b), 0);
    CHECK(virtio_dev_status(dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CHECK_EQ(*ram(STATUS), 0xEE);

    /* After a reset: no writable byte for the status. */
    virtio_dev_reset(dev);
    driver_setup(dev);
    header(0, VIRTIO_BLK_T_OUT, 0);
    Buf nostatus[] = { { HDR, 16, false }, { DATA, 512, false } };
    add_chain(nostatus, 2);
    CHECK_EQ(kick(b), 0);
    CHECK(virtio_dev_status(dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    virtio_blk_free(b);

    /* Writes to a read-only disk: IOERR and nothing written (5.2.6.2). */
    b = open_disk(g_raw, VS_DISK_FORMAT_RAW, true);
    if (!b)
        return;
    dev = virtio_blk_device(b);
    driver_setup(dev);
    CHECK_EQ(request(b, VIRTIO_BLK_T_OUT, cap - 8, DATA, 4096, 0, 0), VIRTIO_BLK_S_IOERR);
    segment(DATA + 0x60000, cap - 8, 8, 0);
    CHECK_EQ(request(b, VIRTIO_BLK_T_WRITE_ZEROES, 0, DATA + 0x60000, 16, 0, 0),
             VIRTIO_BLK_S_UNSUPP); /* not offered on a read-only disk */
    CHECK_EQ(request(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, 0), VIRTIO_BLK_S_OK);
    CHECK_EQ(request(b, VIRTIO_BLK_T_IN, cap - 8, 0, 0, DATA + 0x10000, 4096), VIRTIO_BLK_S_OK);
    file_read(g_raw, (cap - 8) * 512, after, sizeof(after));
    CHECK(memcmp(before, after, sizeof(before)) == 0);
    CHECK(memcmp(before, ram(DATA + 0x10000), sizeof(before)) == 0);
    virtio_blk_free(b);
}

/* Reset with requests in flight: nothing is published for them afterwards (epoch rule). */
static void test_reset_in_flight(void)
{
    VirtioBlk *b = open_disk(g_qcow2, VS_DISK_FORMAT_QCOW2, false);
    if (!b)
        return;
    VirtioDevice *dev = virtio_blk_device(b);
    driver_setup(dev);
    for (unsigned i = 0; i < 4; i++) {
        header(i, VIRTIO_BLK_T_IN, 8 * i);
        *ram(STATUS + 64 * i) = 0xEE;
        Buf r[] = { { HDR + 64 * i, 16, false },
                    { DATA + 0x1000 * i, 4096, true },
                    { STATUS + 64 * i, 1, true } };
        add_chain(r, 3);
    }
    /* Popped and submitted, not completed (nobody ran the completions yet). */
    virtio_dev_queue_notify(dev, 0);
    virtio_dev_reset(dev);
    CHECK_EQ(rd16(USED + 2), 0);
    for (unsigned i = 0; i < 4; i++)
        CHECK_EQ(*ram(STATUS + 64 * i), 0xEE);
    /* The re-initialised device works. */
    driver_setup(dev);
    CHECK_EQ(request(b, VIRTIO_BLK_T_IN, 0, 0, 0, DATA, 512), VIRTIO_BLK_S_OK);
    virtio_blk_free(b);
}

static void test_open_errors(void)
{
    VsDiskConfig cfg = { .path = "/nonexistent/disk.qcow2" };
    VirtioBlk *b = NULL;
    VsError err = { 0 };
    CHECK(virtio_blk_new(&g_mem, NULL, NULL, &cfg, &b, &err) != VS_OK);
    CHECK(strstr(err.message, "No such file") != NULL);
    /* The image is in use (a writable device holds it). */
    VirtioBlk *a = open_disk(g_raw, VS_DISK_FORMAT_RAW, false);
    cfg.path = g_raw;
    CHECK(virtio_blk_new(&g_mem, NULL, NULL, &cfg, &b, &err) == VS_ERR_STATE);
    CHECK(strstr(err.message, "in use by another program") != NULL);
    cfg.readonly = true;
    CHECK(virtio_blk_new(&g_mem, NULL, NULL, &cfg, &b, &err) == VS_ERR_STATE);
    virtio_blk_free(a);
    /* Two read-only users share it. */
    a = open_disk(g_raw, VS_DISK_FORMAT_RAW, true);
    VirtioBlk *c = open_disk(g_raw, VS_DISK_FORMAT_RAW, true);
    virtio_blk_free(a);
    virtio_blk_free(c);
}

/* ---- The I/O engine on its own ---- */

typedef struct Done {
    int count;
    int64_t ret;
} Done;

static void done_cb(void *opaque, int64_t ret)
{
    Done *d = opaque;
    d->count++;
    d->ret = ret;
}

static int64_t call_fn(void *arg)
{
    return *(int *)arg * 2;
}

static void test_aio(void)
{
    Aio *a = NULL;
    VsError err = { 0 };
    CHECK(aio_create(NULL, NULL, NULL, NULL, &a, &err) == VS_OK);
    if (!a)
        return;
    printf("aio back end: %s\n", aio_backend_name(a));
    char path[300];
    snprintf(path, sizeof(path), "%s/aio.bin", g_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    static uint8_t w[3][4096], r[3][4096];
    for (unsigned i = 0; i < 3; i++)
        memset(w[i], 'a' + (int)i, sizeof(w[i]));
    /* A write from three buffers, with FUA; nothing runs before submit and poll. */
    struct iovec wiov[3] = { { w[0], 4096 }, { w[1], 100 }, { w[2], 4096 } };
    Done d1 = { 0 }, d2 = { 0 }, d3 = { 0 }, d4 = { 0 };
    CHECK(aio_writev(a, fd, 512, wiov, 3, AIO_FUA, done_cb, &d1) == 0);
    CHECK_EQ(d1.count, 0);
    CHECK_EQ(aio_inflight(a), 1);
    aio_drain(a);
    CHECK_EQ(d1.count, 1);
    CHECK_EQ(d1.ret, 4096 + 100 + 4096);
    CHECK_EQ(aio_inflight(a), 0);
    /* A read that runs past the end of the file: the rest reads as zeros. */
    memset(r, 0xFF, sizeof(r));
    struct iovec riov[3] = { { r[0], 4096 }, { r[1], 4096 }, { r[2], 4096 } };
    CHECK(aio_readv(a, fd, 512, riov, 3, done_cb, &d2) == 0);
    CHECK(aio_fdatasync(a, fd, done_cb, &d3) == 0);
    int x = 21;
    CHECK(aio_call(a, call_fn, &x, done_cb, &d4) == 0);
    aio_drain(a);
    CHECK_EQ(d2.count, 1);
    CHECK_EQ(d2.ret, 3 * 4096);
    CHECK(memcmp(r[0], w[0], 4096) == 0);
    CHECK(memcmp(r[1], w[1], 100) == 0);
    CHECK(memcmp(r[1] + 100, w[2], 3996) == 0);
    CHECK(memcmp(r[2], w[2] + 3996, 100) == 0);
    static const uint8_t zero[4096];
    CHECK(memcmp(r[2] + 100, zero, 3996) == 0);
    CHECK_EQ(d3.count, 1);
    CHECK_EQ(d3.ret, 0);
    CHECK_EQ(d4.ret, 42);
    /* Errors come back as -errno. */
    Done d5 = { 0 };
    CHECK(aio_readv(a, -1, 0, riov, 1, done_cb, &d5) == 0);
    aio_drain(a);
    CHECK_EQ(d5.count, 1);
    CHECK(d5.ret == -EBADF);
    /* Many requests in one batch (more than the ring holds at once). */
    Done many[300] = { { 0 } };
    for (unsigned i = 0; i < 300; i++)
        CHECK(aio_readv(a, fd, (i % 2) * 512, riov, 1, done_cb, &many[i]) == 0);
    aio_drain(a);
    int ok = 0;
    for (unsigned i = 0; i < 300; i++)
        ok += many[i].count == 1 && many[i].ret == 4096;
    CHECK_EQ(ok, 300);
    close(fd);
    unlink(path);
    aio_destroy(a);
}

/* A raw file that shrinks under a running disk: reads past its new end return zeros. */
static void test_shrunk_file(void)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/shrink.raw", g_dir);
    VsError err = { 0 };
    BlockCreateOptions o = { .path = path, .format = BLOCK_FORMAT_RAW, .size = 1u << 20 };
    CHECK(block_create(&o, &err) == VS_OK);
    int fd = open(path, O_RDWR);
    static uint8_t ones[1u << 20];
    memset(ones, 1, sizeof(ones));
    CHECK(pwrite(fd, ones, sizeof(ones), 0) == (ssize_t)sizeof(ones));
    VirtioBlk *b = open_disk(path, VS_DISK_FORMAT_RAW, false);
    if (b) {
        driver_setup(virtio_blk_device(b));
        CHECK(ftruncate(fd, 4096 + 100) == 0);
        memset(ram(DATA), 0xFF, 8192);
        CHECK_EQ(request(b, VIRTIO_BLK_T_IN, 8, 0, 0, DATA, 8192), VIRTIO_BLK_S_OK);
        CHECK(memcmp(ram(DATA), ones, 100) == 0);
        static const uint8_t zero[8192];
        CHECK(memcmp(ram(DATA + 100), zero, 8192 - 100) == 0);
        virtio_blk_free(b);
    }
    close(fd);
    unlink(path);
}

static void run_all(void)
{
    test_aio();
    test_shrunk_file();
    test_config();
    test_io(g_raw, VS_DISK_FORMAT_RAW);
    test_io(g_qcow2, VS_DISK_FORMAT_QCOW2);
    test_bad_requests();
    test_reset_in_flight();
    test_open_errors();
}

int main(void)
{
    if (!test_mkdtemp(g_dir, sizeof(g_dir), "test-virtio-blk")) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(g_raw, sizeof(g_raw), "%s/disk.raw", g_dir);
    snprintf(g_qcow2, sizeof(g_qcow2), "%s/disk.qcow2", g_dir);
    VsError err = { 0 };
    BlockCreateOptions o = { .path = g_raw, .format = BLOCK_FORMAT_RAW, .size = 8u << 20 };
    CHECK(block_create(&o, &err) == VS_OK);
    o = (BlockCreateOptions){ .path = g_qcow2, .format = BLOCK_FORMAT_QCOW2, .size = 8u << 20 };
    CHECK(block_create(&o, &err) == VS_OK);

    physmem_init(&g_mem);
    CHECK(physmem_add_ram(&g_mem, "ram", RAM_BASE, RAM_SIZE) != NULL);

    unsetenv("VESSEL_AIO");
    run_all();
    setenv("VESSEL_AIO", "threads", 1);
    run_all();

    physmem_destroy(&g_mem);
    unlink(g_raw);
    unlink(g_qcow2);
    rmdir(g_dir);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
