/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for virtio-blk request handling (engine/virtio/virtio-blk.c) on top of the
 * real device core, virtqueues, block layer and I/O engine, with a hostile driver.
 *
 * Input layout:
 *   [0]    bit 0-1: disk (0 raw, 1 read-only raw, 2 qcow2, 3 raw), bit 2: reset while the
 *          requests are in flight, bit 3: do not negotiate DISCARD/WRITE_ZEROES
 *   then up to 16 records of 16 bytes, one request each:
 *   [0]    type (any value; 0-15 most interesting)
 *   [1]    header bytes offered: low 5 bits, capped at 16 (16 = a whole header)
 *   [2..3] sector (le16); [4] bit 0: sector = UINT64_MAX - sector, bit 1: sector += 2^20
 *   [5..6] device-readable data bytes after the header (le16)
 *   [7..8] device-writable data bytes before the status (le16)
 *   [9]    bit 0: no status byte, bit 1: status shares the last data descriptor
 *   [10]   pieces each data part is split into (1..4)
 *   [11..14] discard / write-zeroes segment: sector (le16), sectors (u8), flags (u8),
 *          repeated over the readable data
 *   [15]   fill byte for readable data
 * Every request must be used at most once, with a status byte of 0, 1 or 2; nothing is
 * used after the device needs a reset or after a reset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/tmpdir.h"
#include "block/block.h"
#include "core/machine.h"
#include "mmu/mmu.h"
#include "virtio/vdev.h"
#include "virtio/virtio-blk.h"

VsStatus vs_vdev_attach(VsMachine *m, const char *name, VirtioDevice *dev,
                        void (*destroy)(void *owner), void *owner, VsError *err)
{
    (void)m, (void)name, (void)dev, (void)err;
    destroy(owner);
    return VS_ERR_UNSUPPORTED;
}

#define FUZZ_ASSERT(cond)                                                                \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (4u << 20)
#define QSZ      256
#define DESC     RAM_BASE
#define AVAIL    (RAM_BASE + 0x1000)
#define USED     (RAM_BASE + 0x2000)
#define HDR      (RAM_BASE + 0x4000) /* 32 bytes per request */
#define STAT     (RAM_BASE + 0x5000) /* 16 bytes per request */
#define OUTDATA  (RAM_BASE + 0x10000)
#define INDATA   (RAM_BASE + 0x200000)
#define MAX_REQ  16
#define DATA_MAX 0x1e000 /* per request, in and out each */

static PhysMem mem;
static VirtioBlk *disks[3];
static uint16_t avail_idx, next_desc;

static uint8_t *ram(uint64_t pa)
{
    return physmem_host_ptr(&mem, pa, 1, false);
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

static void setup_once(void)
{
    if (disks[0])
        return;
    physmem_init(&mem);
    if (!physmem_add_ram(&mem, "ram", RAM_BASE, RAM_SIZE))
        abort();
    char dir[256];
    if (!test_mkdtemp(dir, sizeof(dir), "fuzz-virtio-blk"))
        abort();
    char raw[300], q[300];
    snprintf(raw, sizeof(raw), "%s/d.raw", dir);
    snprintf(q, sizeof(q), "%s/d.qcow2", dir);
    VsError err = { 0 };
    BlockCreateOptions o = { .path = raw, .format = BLOCK_FORMAT_RAW, .size = 1u << 20 };
    BlockCreateOptions oq = { .path = q, .format = BLOCK_FORMAT_QCOW2, .size = 1u << 20 };
    if (block_create(&o, &err) != VS_OK || block_create(&oq, &err) != VS_OK)
        abort();
    VsDiskConfig rw = { .path = raw, .format = VS_DISK_FORMAT_RAW };
    VsDiskConfig qc = { .path = q, .format = VS_DISK_FORMAT_QCOW2 };
    if (virtio_blk_new(&mem, NULL, NULL, &rw, &disks[0], &err) != VS_OK ||
        virtio_blk_new(&mem, NULL, NULL, &qc, &disks[2], &err) != VS_OK)
        abort();
    /* The read-only view of the same raw file needs a lock of its own: use a copy. */
    char ro[64];
    snprintf(ro, sizeof(ro), "%s/ro.raw", dir);
    o.path = ro;
    VsDiskConfig rc = { .path = ro, .format = VS_DISK_FORMAT_RAW, .readonly = true };
    if (block_create(&o, &err) != VS_OK || virtio_blk_new(&mem, NULL, NULL, &rc, &disks[1], &err))
        abort();
    /* The files stay open; remove their names now. */
    unlink(raw), unlink(q), unlink(ro), rmdir(dir);
}

static bool offered(VirtioDevice *dev, unsigned bit)
{
    return (virtio_dev_device_features(dev, bit / 32) >> (bit % 32)) & 1;
}

static void driver_setup(VirtioDevice *dev, bool no_discard)
{
    virtio_dev_reset(dev);
    memset(ram(DESC), 0, 0x3000);
    avail_idx = next_desc = 0;
    uint64_t f = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH;
    if (!no_discard && offered(dev, VIRTIO_BLK_F_DISCARD))
        f |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
    if (offered(dev, VIRTIO_BLK_F_RO))
        f |= 1ull << VIRTIO_BLK_F_RO;
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    virtio_dev_set_driver_features(dev, 0, (uint32_t)f);
    virtio_dev_set_driver_features(dev, 1, (uint32_t)(f >> 32));
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                   VIRTIO_STATUS_FEATURES_OK);
    VirtQueue *vq = &dev->queues[0];
    vq->size = QSZ;
    vq->desc_addr = DESC;
    vq->avail_addr = AVAIL;
    vq->used_addr = USED;
    FUZZ_ASSERT(virtio_dev_queue_set_ready(dev, 0, true));
    virtio_dev_set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    FUZZ_ASSERT(virtio_dev_running(dev));
}

static uint16_t desc(uint64_t addr, uint32_t len, bool write)
{
    uint16_t d = next_desc++ % QSZ;
    uint64_t pa = DESC + 16ull * d;
    wr64(pa, addr);
    wr32(pa + 8, len);
    wr16(pa + 12, write ? VIRTQ_DESC_F_WRITE : 0);
    wr16(pa + 14, 0);
    return d;
}

/* Split [addr, addr+len) into `pieces` descriptors appended to the chain. */
static void add_split(uint16_t *chain, unsigned *n, uint64_t addr, uint32_t len, unsigned pieces,
                      bool write)
{
    if (!len)
        return;
    uint32_t step = len / pieces ? len / pieces : len;
    for (uint32_t off = 0; off < len;) {
        uint32_t l = len - off < step ? len - off : step;
        if (*n + 1 >= 12)
            l = len - off; /* keep chains short */
        chain[(*n)++] = desc(addr + off, l, write);
        off += l;
    }
}

typedef struct Sent {
    uint16_t head;
    uint64_t status_pa;
    bool has_status;
} Sent;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    VirtioBlk *b = disks[(mode & 3) == 3 ? 0 : (mode & 3)];
    VirtioDevice *dev = virtio_blk_device(b);
    driver_setup(dev, mode & 8);
    data++, size--;

    Sent sent[MAX_REQ];
    unsigned nreq = 0;
    for (; size >= 16 && nreq < MAX_REQ; data += 16, size -= 16, nreq++) {
        const uint8_t *r = data;
        unsigned hdr_len = r[1] & 0x1f;
        if (hdr_len > 16)
            hdr_len = 16;
        uint64_t sector = (uint64_t)r[2] | (uint64_t)r[3] << 8;
        if (r[4] & 1)
            sector = UINT64_MAX - sector;
        if (r[4] & 2)
            sector += 1u << 20;
        uint32_t out_len = ((uint32_t)r[5] | (uint32_t)r[6] << 8) % DATA_MAX;
        uint32_t in_len = ((uint32_t)r[7] | (uint32_t)r[8] << 8) % DATA_MAX;
        unsigned pieces = 1 + r[10] % 4;
        uint64_t hdr = HDR + 32 * nreq, out = OUTDATA + (uint64_t)DATA_MAX * nreq;
        uint64_t in = INDATA + (uint64_t)DATA_MAX * nreq, st = STAT + 16 * nreq;
        wr32(hdr, r[0]);
        wr32(hdr + 4, 0);
        wr64(hdr + 8, sector);
        memset(ram(out), r[15], out_len);
        for (uint32_t o = 0; o + 16 <= out_len; o += 16) {
            wr64(out + o, (uint64_t)r[11] | (uint64_t)r[12] << 8);
            wr32(out + o + 8, r[13]);
            wr32(out + o + 12, r[14]);
        }
        *ram(st) = 0xEE;
        uint16_t chain[16];
        unsigned n = 0;
        /* The header (possibly short) and the readable data are one contiguous area. */
        if (hdr_len == 16) {
            chain[n++] = desc(hdr, 16, false);
            add_split(chain, &n, out, out_len, pieces, false);
        } else if (hdr_len) {
            chain[n++] = desc(hdr, hdr_len, false);
        }
        bool no_status = r[9] & 1;
        bool merged = (r[9] & 2) && in_len;
        if (merged) {
            /* The status is the byte right after the data, in the same descriptor. */
            add_split(chain, &n, in, in_len + (no_status ? 0 : 1), pieces, true);
            st = in + in_len;
            *ram(st) = 0xEE;
        } else {
            add_split(chain, &n, in, in_len, pieces, true);
            if (!no_status)
                chain[n++] = desc(st, 1, true);
        }
        if (!n)
            chain[n++] = desc(hdr, 0, false);
        for (unsigned i = 0; i + 1 < n; i++) {
            uint64_t pa = DESC + 16ull * chain[i];
            wr16(pa + 12, rd16(pa + 12) | VIRTQ_DESC_F_NEXT);
            wr16(pa + 14, chain[i + 1]);
        }
        sent[nreq] = (Sent){ chain[0], st, !no_status };
        wr16(AVAIL + 4 + 2 * (avail_idx % QSZ), chain[0]);
        avail_idx++;
    }
    wr16(AVAIL + 2, avail_idx);

    virtio_dev_queue_notify(dev, 0);
    if (mode & 4) {
        uint16_t before = rd16(USED + 2);
        virtio_dev_reset(dev); /* waits for the requests in flight */
        FUZZ_ASSERT(rd16(USED + 2) == before);
        virtio_blk_drain(b);
        FUZZ_ASSERT(rd16(USED + 2) == before);
        return 0;
    }
    virtio_blk_drain(b);

    uint16_t used = rd16(USED + 2);
    FUZZ_ASSERT(used <= nreq);
    bool seen[MAX_REQ] = { 0 };
    for (unsigned u = 0; u < used; u++) {
        uint32_t id = rd32(USED + 4 + 8 * u);
        unsigned k;
        for (k = 0; k < nreq; k++)
            if (sent[k].head == id && !seen[k])
                break;
        FUZZ_ASSERT(k < nreq); /* used at most once */
        seen[k] = true;
        uint8_t s = *ram(sent[k].status_pa);
        FUZZ_ASSERT(!sent[k].has_status || s <= VIRTIO_BLK_S_UNSUPP);
    }
    if (virtio_dev_status(dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
        virtio_dev_queue_notify(dev, 0);
        virtio_blk_drain(b);
        FUZZ_ASSERT(rd16(USED + 2) == used);
    }
    return 0;
}
