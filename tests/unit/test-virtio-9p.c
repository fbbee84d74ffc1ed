/* SPDX-License-Identifier: MIT */
/*
 * The virtio-9p device (engine/virtio/virtio-9p.c) driven through the virtio core the way a
 * driver would, with its worker thread and a real 9P server on a temporary directory: the
 * mount tag in config space, requests split over several buffers, a reply with too little
 * writable room (DEVICE_NEEDS_RESET), a reset dropping the 9P session, a bad share path.
 * The machine is faked: guest RAM is a real physmem region; vs_vdev_attach only records
 * the device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tmpdir.h"
#include "virtio/vdev.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (4u << 20)
#define QSIZE    8
#define DESC     (RAM_BASE + 0x0000)
#define AVAIL    (RAM_BASE + 0x1000)
#define USED     (RAM_BASE + 0x2000)
#define OUTBUF   (RAM_BASE + 0x10000)
#define INBUF    (RAM_BASE + 0x100000)

static VsMachine machine;
static VirtioDevice *g_dev;
static void (*g_destroy)(void *);
static void *g_owner;
static uint16_t avail_idx;

/* Fake of vdev.c: the device is only recorded. */
VsStatus vs_vdev_attach(VsMachine *m, const char *name, VirtioDevice *dev,
                        void (*destroy)(void *owner), void *owner, VsError *err)
{
    (void)m;
    (void)name;
    (void)err;
    g_dev = dev;
    g_destroy = destroy;
    g_owner = owner;
    return VS_OK;
}

static void w16(uint64_t a, uint16_t v)
{
    physmem_write(&machine.mem, a, &v, 2);
}
static uint16_t r16(uint64_t a)
{
    uint16_t v = 0;
    physmem_read(&machine.mem, a, &v, 2);
    return v;
}
static uint32_t r32(uint64_t a)
{
    uint32_t v = 0;
    physmem_read(&machine.mem, a, &v, 4);
    return v;
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t d[16];
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
    physmem_write(&machine.mem, DESC + 16 * i, d, 16);
}

/* Bring the device up the way a driver does (3.1.1). */
static void driver_init(void)
{
    virtio_dev_set_status(g_dev, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_dev_set_status(g_dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    CHECK_EQ(virtio_dev_device_features(g_dev, 0) & 1, 1); /* VIRTIO_9P_MOUNT_TAG */
    virtio_dev_set_driver_features(g_dev, 0, 1);
    virtio_dev_set_driver_features(g_dev, 1, 1); /* VERSION_1 */
    virtio_dev_set_status(g_dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                     VIRTIO_STATUS_FEATURES_OK);
    CHECK(virtio_dev_status(g_dev) & VIRTIO_STATUS_FEATURES_OK);
    VirtQueue *vq = &g_dev->queues[0];
    vq->size = QSIZE;
    vq->desc_addr = DESC;
    vq->avail_addr = AVAIL;
    vq->used_addr = USED;
    physmem_write(&machine.mem, AVAIL, (uint8_t[64]){ 0 }, 64);
    physmem_write(&machine.mem, USED, (uint8_t[128]){ 0 }, 128);
    avail_idx = 0;
    CHECK(virtio_dev_queue_set_ready(g_dev, 0, true));
    virtio_dev_set_status(g_dev, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    CHECK(virtio_dev_running(g_dev));
}

/* Submit the T-message (split in out buffers of `split` bytes) with `room` bytes of
 * device-writable space in two buffers; wait for it to be used. Returns the used length,
 * or -1 when nothing was used within 5 s. */
static long request(const uint8_t *msg, size_t len, size_t split, uint32_t room)
{
    physmem_write(&machine.mem, OUTBUF, msg, len);
    unsigned n = 0;
    for (size_t off = 0; off < len; off += split, n++)
        desc(n, OUTBUF + off, (uint32_t)(len - off < split ? len - off : split), VIRTQ_DESC_F_NEXT,
             (uint16_t)(n + 1));
    uint32_t first = room / 2;
    desc(n, INBUF, first, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1));
    desc(n + 1, INBUF + 0x10000, room - first, VIRTQ_DESC_F_WRITE, 0);
    physmem_write(&machine.mem, INBUF, (uint8_t[64]){ 0 }, 64);
    uint16_t used_before = r16(USED + 2);
    w16(AVAIL + 4 + 2 * (avail_idx % QSIZE), 0);
    avail_idx++;
    w16(AVAIL + 2, avail_idx);
    virtio_dev_queue_notify(g_dev, 0);
    for (int i = 0; i < 5000; i++) {
        if (r16(USED + 2) != used_before)
            return r32(USED + 4 + 8 * ((uint16_t)(avail_idx - 1) % QSIZE) + 4);
        if (virtio_dev_status(g_dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
            return -2;
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    }
    return -1;
}

/* The first `room / 2` bytes of the reply are at INBUF, the rest at INBUF + 0x10000. */
static uint8_t reply_byte(size_t off, uint32_t room)
{
    uint8_t b = 0;
    uint32_t first = room / 2;
    physmem_read(&machine.mem, off < first ? INBUF + off : INBUF + 0x10000 + (off - first), &b, 1);
    return b;
}

static const uint8_t tversion[] = { 21, 0, 0,   0,   100, 1,   0,   0,   0,   1,  0,
                                    8,  0, '9', 'P', '2', '0', '0', '0', '.', 'L' };
static const uint8_t tattach[] = { 23,   0,    0,    0, 104, 2, 0, 5, 0, 0, 0, 0xff,
                                   0xff, 0xff, 0xff, 0, 0,   0, 0, 0, 0, 0, 0 };
static const uint8_t tclunk5[] = { 11, 0, 0, 0, 120, 3, 0, 5, 0, 0, 0 };

int main(void)
{
    char dir[256];
    if (!test_mkdtemp(dir, sizeof(dir), "vessel-vp9")) {
        perror("mkdtemp");
        return 1;
    }
    physmem_init(&machine.mem);
    CHECK(physmem_add_ram(&machine.mem, "ram", RAM_BASE, RAM_SIZE) != NULL);

    VsError err = { 0 };
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/missing", dir);
    VsShareConfig bad = { .path = missing, .tag = "t" };
    CHECK_EQ(virtio_9p_create(&machine, &bad, &err), VS_ERR_INVALID);
    CHECK(strstr(err.message, missing) != NULL);
    VsShareConfig notag = { .path = dir, .tag = "" };
    CHECK_EQ(virtio_9p_create(&machine, &notag, &err), VS_ERR_INVALID);
    CHECK(g_dev == NULL);

    VsShareConfig share = { .path = dir, .tag = "hostshare" };
    CHECK_EQ(virtio_9p_create(&machine, &share, &err), VS_OK);
    if (!g_dev) {
        printf("test-virtio-9p: no device\n");
        return 1;
    }
    /* Config space: le16 tag_len, then the tag without NUL. */
    uint8_t cfg[16] = { 0 };
    virtio_dev_read_config(g_dev, 0, cfg, 11);
    CHECK_EQ(cfg[0] | cfg[1] << 8, 9);
    CHECK(!memcmp(cfg + 2, "hostshare", 9));
    CHECK(!virtio_dev_read_config(g_dev, 11, cfg, 1)); /* past the config */

    driver_init();
    /* Tversion split over 3 out buffers, the reply over 2 in buffers. */
    CHECK_EQ(request(tversion, sizeof(tversion), 8, 64), 21);
    CHECK_EQ(reply_byte(4, 64), 101);
    CHECK_EQ(reply_byte(5, 64), 1); /* tag */
    CHECK_EQ(reply_byte(13, 64), '9');
    CHECK_EQ(request(tattach, sizeof(tattach), 100, 64), 20);
    CHECK_EQ(reply_byte(4, 64), 105);
    /* Room for the Rlerror only: a Tgetattr reply does not fit -> Rlerror(EMSGSIZE). */
    static const uint8_t tgetattr[] = {
        19, 0, 0, 0, 24, 4, 0, 5, 0, 0, 0, 0xff, 7, 0, 0, 0, 0, 0, 0
    };
    CHECK_EQ(request(tgetattr, sizeof(tgetattr), 100, 12), 11);
    CHECK_EQ(reply_byte(4, 12), 7);
    CHECK_EQ(reply_byte(7, 12), 90); /* EMSGSIZE */

    /* Device reset: the 9P session is gone with it (fid 5 unknown afterwards). */
    virtio_dev_reset(g_dev);
    CHECK_EQ(virtio_dev_status(g_dev), 0);
    driver_init();
    CHECK_EQ(request(tclunk5, sizeof(tclunk5), 100, 64), 11);
    CHECK_EQ(reply_byte(4, 64), 7);
    CHECK_EQ(reply_byte(7, 64), 9); /* EBADF */

    /* Less writable room than any reply: DEVICE_NEEDS_RESET, nothing used. */
    CHECK_EQ(request(tversion, sizeof(tversion), 100, 8), -2);
    CHECK(virtio_dev_status(g_dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    virtio_dev_reset(g_dev);
    driver_init();
    CHECK_EQ(request(tversion, sizeof(tversion), 100, 64), 21);

    g_destroy(g_owner);
    rmdir(dir);
    printf("test-virtio-9p: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
