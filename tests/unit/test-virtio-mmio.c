/* SPDX-License-Identifier: MIT */
/*
 * The virtio device core and the virtio-mmio transport, driven through the MMIO region the
 * way a Linux guest drives them (virtio 1.2, 3.1.1 and 4.2.3), then by a hostile driver.
 *
 * The device is a fake "echo" device: two queues of at most 16 entries; each chain's
 * device-readable bytes are copied into its device-writable buffers. Its 8-byte config
 * space is plain memory. Guest memory is the real physmem with one RAM region, and the
 * queues are the real virtqueue code.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmu/mmu.h"
#include "virtio/virtio-dev.h"
#include "virtio/virtio-mmio.h"
#include "virtio/virtio.h"

/* ---- Test harness ---- */

#include "check.h"

#define BIT(n) (1ull << (n))

/* ---- The fake echo device ---- */

#define ECHO_ID         42
#define ECHO_QUEUES     2
#define ECHO_QMAX       16
#define ECHO_F_UPPER    0 /* device-type features of the fake device */
#define ECHO_F_NEEDS_UP 1 /* requires ECHO_F_UPPER */
#define ECHO_F_A        3 /* ECHO_F_A and ECHO_F_B together: validate_features refuses */
#define ECHO_F_B        50
#define ECHO_FEATURES   (BIT(ECHO_F_UPPER) | BIT(ECHO_F_NEEDS_UP) | BIT(ECHO_F_A) | BIT(ECHO_F_B))

typedef struct Echo {
    VirtioDevice vdev;
    uint8_t config[8];
    unsigned notifies[ECHO_QUEUES];
    unsigned resets, activates, pop_errors, config_writes;
    bool activate_ok;
    /* Defer mode: a popped chain is kept "in flight" instead of being completed. */
    bool defer;
    bool held_valid;
    unsigned held_q;
    uint64_t held_epoch;
    VirtqElem held;
    VirtqElem elem;
} Echo;

static Echo g_echo;

static const VirtioFeatureDep echo_deps[] = {
    { ECHO_F_NEEDS_UP, BIT(ECHO_F_UPPER) },
};

static void echo_read_config(VirtioDevice *dev, uint32_t offset, void *buf, uint32_t len)
{
    Echo *e = dev->opaque;
    memcpy(buf, e->config + offset, len);
}

static void echo_write_config(VirtioDevice *dev, uint32_t offset, const void *buf, uint32_t len)
{
    Echo *e = dev->opaque;
    memcpy(e->config + offset, buf, len);
    e->config_writes++;
}

static bool echo_validate(VirtioDevice *dev, uint64_t features)
{
    (void)dev;
    return !((features & BIT(ECHO_F_A)) && (features & BIT(ECHO_F_B)));
}

static bool echo_complete(Echo *e, unsigned q, VirtqElem *el, uint64_t epoch)
{
    uint8_t buf[512];
    size_t n = iov_to_buf(virtq_elem_out(el), el->out_num, 0, buf, sizeof(buf));
    size_t w = iov_from_buf(virtq_elem_in(el), el->in_num, 0, buf, n);
    return virtio_dev_push(&e->vdev, q, el, (uint32_t)w, epoch);
}

static void echo_queue_notify(VirtioDevice *dev, unsigned q)
{
    Echo *e = dev->opaque;
    bool pushed = false;
    e->notifies[q]++;
    for (;;) {
        /* Pop and note the epoch atomically with respect to a reset. */
        virtio_dev_lock(dev);
        uint64_t epoch = virtio_dev_epoch(dev);
        int r = virtio_dev_pop(dev, q, &e->elem);
        virtio_dev_unlock(dev);
        if (r < 0) {
            e->pop_errors++;
            break;
        }
        if (r == 0)
            break;
        if (e->defer && !e->held_valid) {
            e->held = e->elem;
            e->held_q = q;
            e->held_epoch = epoch;
            e->held_valid = true;
            continue;
        }
        pushed |= echo_complete(e, q, &e->elem, epoch);
    }
    /* Only after a push: without EVENT_IDX the ring cannot tell a spurious notification. */
    if (pushed)
        virtio_notify_used(dev, q);
}

static void echo_reset(VirtioDevice *dev)
{
    Echo *e = dev->opaque;
    e->resets++;
}

static bool echo_activate(VirtioDevice *dev)
{
    Echo *e = dev->opaque;
    e->activates++;
    return e->activate_ok;
}

static const VirtioDeviceOps echo_ops = {
    .name = "echo",
    .device_id = ECHO_ID,
    .features = ECHO_FEATURES,
    .caps = VIRTIO_DEV_CAP_EVENT_IDX | VIRTIO_DEV_CAP_INDIRECT_DESC,
    .feature_deps = echo_deps,
    .num_feature_deps = 1,
    .num_queues = ECHO_QUEUES,
    .queue_max_size = ECHO_QMAX,
    .config_size = sizeof(g_echo.config),
    .read_config = echo_read_config,
    .write_config = echo_write_config,
    .validate_features = echo_validate,
    .queue_notify = echo_queue_notify,
    .reset = echo_reset,
    .activate = echo_activate,
};

/* ---- The machine: RAM, the MMIO region, the interrupt line ---- */

#define RAM_BASE  0x80000000ull
#define RAM_SIZE  (1ull << 20)
#define MMIO_BASE 0x10001000ull

static PhysMem g_pm;
static VirtioMmio *g_mmio;
/* The line; set by whichever thread raises it, so atomics. */
static _Atomic int g_irq_level;
static _Atomic unsigned g_irq_raises; /* 0 -> 1 transitions */
static unsigned g_custom_kicks[8];

static void fake_set_irq(void *opaque, int level)
{
    (void)opaque;
    if (level && !atomic_load(&g_irq_level))
        atomic_fetch_add(&g_irq_raises, 1);
    atomic_store(&g_irq_level, level);
}

static void custom_notify(void *opaque, unsigned queue)
{
    unsigned *kicks = opaque;
    if (queue < 8)
        kicks[queue]++;
}

static uint64_t guest_errors(void)
{
    return atomic_load(&g_echo.vdev.guest_errors);
}

/* A fresh device and transport, and zeroed guest RAM. */
static void machine_setup(void)
{
    void *ram = physmem_host_ptr(&g_pm, RAM_BASE, RAM_SIZE, false);
    memset(ram, 0, RAM_SIZE);

    memset(&g_echo, 0, sizeof(g_echo));
    static const uint8_t cfg[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
    memcpy(g_echo.config, cfg, sizeof(cfg));
    g_echo.activate_ok = true;
    CHECK(virtio_dev_init(&g_echo.vdev, &echo_ops, &g_pm, &g_echo));
    atomic_store(&g_irq_level, 0);
    atomic_store(&g_irq_raises, 0);
    virtio_dev_set_irq(&g_echo.vdev, fake_set_irq, NULL);
    g_mmio = virtio_mmio_create(&g_echo.vdev);
    CHECK(g_mmio != NULL);
}

static void machine_teardown(void)
{
    virtio_mmio_destroy(g_mmio);
    g_mmio = NULL;
    virtio_dev_destroy(&g_echo.vdev);
}

/* The MMIO region is registered once; its opaque follows g_mmio through a trampoline. */
static uint64_t tramp_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    return virtio_mmio_ops.read(g_mmio, offset, size);
}

static void tramp_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)opaque;
    virtio_mmio_ops.write(g_mmio, offset, value, size);
}

static const MmioOps tramp_ops = { .read = tramp_read, .write = tramp_write };

/* ---- Guest side: register and memory accessors ---- */

static uint64_t rd(uint64_t off, unsigned size)
{
    uint64_t v = 0xdeadbeef;
    CHECK(physmem_load(&g_pm, MMIO_BASE + off, size, &v));
    return v;
}

static void wr(uint64_t off, uint64_t v, unsigned size)
{
    CHECK(physmem_store(&g_pm, MMIO_BASE + off, size, v));
}

static uint32_t rd32(uint64_t off)
{
    return (uint32_t)rd(off, 4);
}

static void wr32(uint64_t off, uint32_t v)
{
    wr(off, v, 4);
}

static void g_put16(uint64_t a, uint16_t v)
{
    CHECK(physmem_store(&g_pm, a, 2, v));
}

static void g_put32(uint64_t a, uint32_t v)
{
    CHECK(physmem_store(&g_pm, a, 4, v));
}

static void g_put64(uint64_t a, uint64_t v)
{
    CHECK(physmem_store(&g_pm, a, 8, v));
}

static uint32_t g_get(uint64_t a, unsigned size)
{
    uint64_t v = 0;
    CHECK(physmem_load(&g_pm, a, size, &v));
    return (uint32_t)v;
}

/* Queue q's rings: desc, avail, used one page apart; buffers further up. */
static uint64_t q_desc(unsigned q)
{
    return RAM_BASE + 0x1000 + 0x4000ull * q;
}
static uint64_t q_avail(unsigned q)
{
    return q_desc(q) + 0x1000;
}
static uint64_t q_used(unsigned q)
{
    return q_desc(q) + 0x2000;
}
#define BUF_BASE (RAM_BASE + 0x20000)

static uint16_t used_idx(unsigned q)
{
    return (uint16_t)g_get(q_used(q) + 2, 2);
}

/* ---- Guest side: a driver doing what Linux's virtio_mmio + virtio core do ---- */

#define ST_ACK  VIRTIO_STATUS_ACKNOWLEDGE
#define ST_DRV  VIRTIO_STATUS_DRIVER
#define ST_FOK  VIRTIO_STATUS_FEATURES_OK
#define ST_DOK  VIRTIO_STATUS_DRIVER_OK
#define ST_NR   VIRTIO_STATUS_DEVICE_NEEDS_RESET
#define ST_FAIL VIRTIO_STATUS_FAILED

static void add_status(uint32_t bits)
{
    wr32(VIRTIO_MMIO_STATUS, rd32(VIRTIO_MMIO_STATUS) | bits);
}

static uint64_t read_device_features(void)
{
    wr32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t f = (uint64_t)rd32(VIRTIO_MMIO_DEVICE_FEATURES) << 32;
    wr32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    return f | rd32(VIRTIO_MMIO_DEVICE_FEATURES);
}

static void write_driver_features(uint64_t f)
{
    wr32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr32(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
    wr32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr32(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
}

/* 3.1.1 steps 1-6; returns whether FEATURES_OK stuck. */
static bool driver_negotiate(uint64_t features)
{
    CHECK_EQ(rd32(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    CHECK_EQ(rd32(VIRTIO_MMIO_VERSION_REG), 2);
    CHECK_EQ(rd32(VIRTIO_MMIO_DEVICE_ID), ECHO_ID);
    wr32(VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
    add_status(ST_ACK);
    add_status(ST_DRV);
    uint64_t offered = read_device_features();
    (void)offered;
    write_driver_features(features);
    add_status(ST_FOK);
    return rd32(VIRTIO_MMIO_STATUS) & ST_FOK;
}

/* Linux vm_setup_vq(); returns QueueReady read back. */
static uint32_t driver_setup_queue(unsigned q, uint32_t num, uint64_t desc, uint64_t avail,
                                   uint64_t used)
{
    wr32(VIRTIO_MMIO_QUEUE_SEL, q);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
    CHECK(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX) != 0);
    wr32(VIRTIO_MMIO_QUEUE_NUM, num);
    wr32(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
    wr32(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
    wr32(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
    wr32(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
    wr32(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
    wr32(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
    wr32(VIRTIO_MMIO_QUEUE_READY, 1);
    return rd32(VIRTIO_MMIO_QUEUE_READY);
}

#define STD_FEATURES (BIT(VIRTIO_F_VERSION_1) | BIT(ECHO_F_UPPER))

/* The whole 3.1.1 sequence with both queues of `num` entries. */
static void driver_init(uint64_t features, uint32_t num)
{
    CHECK(driver_negotiate(features));
    for (unsigned q = 0; q < ECHO_QUEUES; q++)
        CHECK_EQ(driver_setup_queue(q, num, q_desc(q), q_avail(q), q_used(q)), 1);
    add_status(ST_DOK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK);
}

static uint16_t g_avail_shadow[ECHO_QUEUES];

/* Write descriptor i of queue q. */
static void put_desc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint64_t d = q_desc(q) + 16ull * i;
    g_put64(d, addr);
    g_put32(d + 8, len);
    g_put16(d + 12, flags);
    g_put16(d + 14, next);
}

/* Make head available on queue q (ring of `num` entries). */
static void publish(unsigned q, unsigned num, uint16_t head)
{
    uint16_t idx = g_avail_shadow[q];
    g_put16(q_avail(q) + 4 + 2ull * (idx % num), head);
    g_avail_shadow[q] = (uint16_t)(idx + 1);
    g_put16(q_avail(q) + 2, g_avail_shadow[q]);
}

/* A two-descriptor echo request: `msg` out, 64 bytes in. Descriptors 2h and 2h+1. */
static void echo_request(unsigned q, unsigned num, unsigned h, const char *msg)
{
    uint64_t out = BUF_BASE + 0x1000ull * (2 * h) + 0x10000ull * q;
    uint64_t in = out + 0x1000;
    CHECK(physmem_write(&g_pm, out, msg, strlen(msg)));
    put_desc(q, 2 * h, out, (uint32_t)strlen(msg), VIRTQ_DESC_F_NEXT, (uint16_t)(2 * h + 1));
    put_desc(q, 2 * h + 1, in, 64, VIRTQ_DESC_F_WRITE, 0);
    publish(q, num, (uint16_t)(2 * h));
}

static void reset_shadows(void)
{
    memset(g_avail_shadow, 0, sizeof(g_avail_shadow));
}

/* ---- Tests ---- */

static void test_identity(void)
{
    machine_setup();
    CHECK_EQ(rd32(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    CHECK_EQ(rd32(VIRTIO_MMIO_VERSION_REG), 2);
    CHECK_EQ(rd32(VIRTIO_MMIO_DEVICE_ID), ECHO_ID);
    CHECK_EQ(rd32(VIRTIO_MMIO_VENDOR_ID_REG), 0x4c534556);
    /* The vendor ID is "VESL" in guest memory order. */
    CHECK_EQ(rd(VIRTIO_MMIO_VENDOR_ID_REG, 4), (uint32_t)('V' | 'E' << 8 | 'S' << 16 | 'L' << 24));
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_CONFIG_GENERATION), 0);
    /* Offered: the device's bits plus VERSION_1, EVENT_IDX and INDIRECT_DESC (6.2). */
    uint64_t f = read_device_features();
    CHECK_EQ(f, ECHO_FEATURES | BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) |
                    BIT(VIRTIO_F_INDIRECT_DESC));
    wr32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
    CHECK_EQ(rd32(VIRTIO_MMIO_DEVICE_FEATURES), 0);
    wr32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
    CHECK_EQ(rd32(VIRTIO_MMIO_DEVICE_FEATURES), 0);
    /* QueueNumMax: 16 for the two queues, 0 for absent ones (4.2.3.2). */
    for (unsigned q = 0; q < 4; q++) {
        wr32(VIRTIO_MMIO_QUEUE_SEL, q);
        CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), q < ECHO_QUEUES ? ECHO_QMAX : 0);
        CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
    }
    wr32(VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    /* No shared memory regions: length -1, base all ones. */
    for (unsigned id = 0; id < 3; id++) {
        wr32(VIRTIO_MMIO_SHM_SEL, id);
        CHECK_EQ(rd32(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
        CHECK_EQ(rd32(VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
        CHECK_EQ(rd32(VIRTIO_MMIO_SHM_BASE_LOW), 0xffffffff);
        CHECK_EQ(rd32(VIRTIO_MMIO_SHM_BASE_HIGH), 0xffffffff);
    }
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_RESET), 0);
    CHECK_EQ(guest_errors(), 0);
    machine_teardown();
}

/* The Linux sequence end to end, then one echo request per queue. */
static void test_linux_init_and_echo(void)
{
    machine_setup();
    reset_shadows();
    driver_init(STD_FEATURES | BIT(VIRTIO_F_EVENT_IDX) | BIT(VIRTIO_F_INDIRECT_DESC), ECHO_QMAX);
    CHECK_EQ(g_echo.activates, 1);
    CHECK_EQ(g_echo.vdev.driver_features,
             STD_FEATURES | BIT(VIRTIO_F_EVENT_IDX) | BIT(VIRTIO_F_INDIRECT_DESC));
    CHECK(g_echo.vdev.queues[0].event_idx && g_echo.vdev.queues[0].indirect);
    CHECK(virtio_dev_running(&g_echo.vdev));

    for (unsigned q = 0; q < ECHO_QUEUES; q++) {
        echo_request(q, ECHO_QMAX, 0, q ? "second queue" : "hello");
        wr32(VIRTIO_MMIO_QUEUE_NOTIFY, q);
        CHECK_EQ(g_echo.notifies[q], 1);
        CHECK_EQ(used_idx(q), 1);
        CHECK_EQ(g_get(q_used(q) + 4, 4), 0);                              /* id = head */
        CHECK_EQ(g_get(q_used(q) + 8, 4), q ? strlen("second queue") : 5); /* len */
        char buf[16] = { 0 };
        CHECK(physmem_read(&g_pm, BUF_BASE + 0x1000 + 0x10000ull * q, buf, q ? 12 : 5));
        CHECK(strcmp(buf, q ? "second queue" : "hello") == 0);
        /* Used buffer notification: ISR bit 0 and the line (4.2.3.4). */
        CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_QUEUE);
        CHECK_EQ(g_irq_level, 1);
        wr32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_QUEUE);
        CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
        CHECK_EQ(g_irq_level, 0);
    }
    CHECK_EQ(g_echo.pop_errors, 0);
    CHECK_EQ(guest_errors(), 0);

    /* Several requests, one kick; without EVENT_IDX the NO_INTERRUPT flag is honoured. */
    machine_teardown();
    machine_setup();
    reset_shadows();
    driver_init(STD_FEATURES, 8);
    CHECK(!g_echo.vdev.queues[0].event_idx && !g_echo.vdev.queues[0].indirect);
    g_put16(q_avail(0), VIRTQ_AVAIL_F_NO_INTERRUPT);
    echo_request(0, 8, 0, "a");
    echo_request(0, 8, 1, "bb");
    echo_request(0, 8, 2, "ccc");
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(used_idx(0), 3);
    CHECK_EQ(g_get(q_used(0) + 4 + 8 * 2, 4), 4); /* third element: head 4 */
    CHECK_EQ(g_get(q_used(0) + 4 + 8 * 2 + 4, 4), 3);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    CHECK_EQ(g_irq_raises, 0);
    g_put16(q_avail(0), 0);
    echo_request(0, 8, 3, "dddd");
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(used_idx(0), 4);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_QUEUE);
    CHECK_EQ(g_irq_level, 1);
    machine_teardown();
}

/* 4.2.2.2: only 32-bit aligned accesses to the control registers. */
static void test_bad_register_access(void)
{
    machine_setup();
    static const unsigned sizes[] = { 1, 2, 3, 5, 8 };
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE, sizes[i]), 0);
        CHECK_EQ(rd(VIRTIO_MMIO_VERSION_REG, sizes[i]), 0);
    }
    CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE + 1, 4), 0);
    CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE + 2, 4), 0);
    CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_ID + 2, 2), 0);
    uint64_t before = guest_errors();
    CHECK(before >= 12);

    /* Odd-sized or misaligned status writes do nothing. */
    wr(VIRTIO_MMIO_STATUS, ST_ACK, 1);
    wr(VIRTIO_MMIO_STATUS, ST_ACK, 2);
    wr(VIRTIO_MMIO_STATUS, ST_ACK, 8);
    wr(VIRTIO_MMIO_STATUS + 1, ST_ACK, 4);
    wr(VIRTIO_MMIO_STATUS - 2, (uint64_t)ST_ACK << 16, 4);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
    /* A QueueSel written with a byte store is ignored: QueueNumMax still for queue 0. */
    wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(VIRTIO_MMIO_QUEUE_SEL, 7, 1);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), ECHO_QMAX);
    /* An 8-byte write over DeviceFeaturesSel + the hole after it selects nothing. */
    wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1, 8);
    CHECK_EQ(g_mmio->device_features_sel, 0);

    /* Write-only registers and holes read 0; read-only registers ignore writes. */
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_NUM), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_NOTIFY), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_ACK), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
    CHECK_EQ(rd32(0x0c4), 0);
    CHECK_EQ(rd32(0x0f8), 0);
    wr32(VIRTIO_MMIO_MAGIC_VALUE, 0);
    wr32(VIRTIO_MMIO_VERSION_REG, 1);
    wr32(VIRTIO_MMIO_DEVICE_ID, 0);
    wr32(VIRTIO_MMIO_INTERRUPT_STATUS, 3);
    wr32(VIRTIO_MMIO_CONFIG_GENERATION, 7);
    wr32(VIRTIO_MMIO_QUEUE_RESET, 1);
    wr32(0x0c8, 0xffffffff);
    CHECK_EQ(rd32(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
    CHECK_EQ(rd32(VIRTIO_MMIO_VERSION_REG), 2);
    CHECK_EQ(rd32(VIRTIO_MMIO_DEVICE_ID), ECHO_ID);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_CONFIG_GENERATION), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_RESET), 0);
    CHECK(guest_errors() > before);
    CHECK_EQ(g_irq_raises, 0);
    machine_teardown();
}

/* 2.1.1 / 3.1.1: bits in order, never cleared; FAILED; the device's own bit. */
static void test_status_rules(void)
{
    machine_setup();
    /* Out of order from 0. */
    wr32(VIRTIO_MMIO_STATUS, ST_DRV);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_FOK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_DOK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
    /* Reserved bits, SUSPEND (16) and NEEDS_RESET in the written value are ignored. */
    wr32(VIRTIO_MMIO_STATUS, 16 | 32 | ST_NR | 0x100);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
    /* Two steps at once are fine when in order. */
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | 16);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    /* Clearing a bit is ignored as a whole, even with a new bit in the same write. */
    uint64_t before = guest_errors();
    wr32(VIRTIO_MMIO_STATUS, ST_ACK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    write_driver_features(STD_FEATURES);
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_FOK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    CHECK(guest_errors() >= before + 2);
    /* Rewriting the same value is harmless. */
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    /* DRIVER_OK needs FEATURES_OK. */
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_DOK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    CHECK_EQ(g_echo.activates, 0);
    /* FEATURES_OK and DRIVER_OK in one write: both checked in order. */
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FOK | ST_DOK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK);
    CHECK_EQ(g_echo.activates, 1);
    /* FAILED at any time; afterwards only a reset is accepted. */
    add_status(ST_FAIL);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK | ST_FAIL);
    wr32(VIRTIO_MMIO_STATUS, 0xff);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK | ST_FAIL);
    wr32(VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
    CHECK_EQ(g_echo.resets, 1);
    /* FAILED during negotiation; the other bits of that write do not stick. */
    wr32(VIRTIO_MMIO_STATUS, ST_ACK);
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FAIL);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_FAIL);
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV | ST_FAIL);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_FAIL);
    CHECK_EQ(g_echo.activates, 1);
    machine_teardown();
}

/* 2.2.1 / 2.2.2 / 6.2: FEATURES_OK refused for sets the device cannot accept. */
static void test_feature_negotiation(void)
{
    static const struct {
        uint64_t features;
        bool ok;
    } cases[] = {
        { STD_FEATURES, true },
        { BIT(VIRTIO_F_VERSION_1), true },
        { (ECHO_FEATURES & ~BIT(ECHO_F_B)) | BIT(VIRTIO_F_VERSION_1), true },
        { BIT(ECHO_F_UPPER), false },                              /* no VERSION_1 (legacy) */
        { 0, false },                                              /* nothing at all */
        { STD_FEATURES | BIT(5), false },                          /* not offered */
        { STD_FEATURES | BIT(VIRTIO_F_ACCESS_PLATFORM), false },   /* not offered */
        { STD_FEATURES | BIT(63), false },                         /* not offered */
        { BIT(VIRTIO_F_VERSION_1) | BIT(ECHO_F_NEEDS_UP), false }, /* without UPPER */
        { STD_FEATURES | BIT(ECHO_F_A) | BIT(ECHO_F_B), false },   /* validate_features */
        { STD_FEATURES | BIT(ECHO_F_A), true },
        { STD_FEATURES | BIT(ECHO_F_B), true },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        machine_setup();
        bool ok = driver_negotiate(cases[i].features);
        if (ok != cases[i].ok)
            fprintf(stderr, "feature case %u: 0x%" PRIx64 "\n", i, cases[i].features);
        CHECK_EQ(ok, cases[i].ok);
        if (!ok) {
            /* Linux then gives up: FAILED, and DRIVER_OK can never be set. */
            CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
            add_status(ST_FAIL);
            add_status(ST_DOK);
            CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FAIL);
            CHECK_EQ(g_echo.activates, 0);
            /* A queue cannot be set up either. */
            CHECK_EQ(driver_setup_queue(0, 8, q_desc(0), q_avail(0), q_used(0)), 0);
        }
        machine_teardown();
    }

    /* A word beyond bit 63. */
    machine_setup();
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
    write_driver_features(STD_FEATURES);
    wr32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
    wr32(VIRTIO_MMIO_DRIVER_FEATURES, 1);
    add_status(ST_FOK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    machine_teardown();

    /* Zero words beyond bit 63 are fine; a second try after fixing the set succeeds. */
    machine_setup();
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
    wr32(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 3);
    wr32(VIRTIO_MMIO_DRIVER_FEATURES, 0);
    write_driver_features(STD_FEATURES | BIT(9));
    add_status(ST_FOK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    write_driver_features(STD_FEATURES);
    add_status(ST_FOK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK);
    /* Once FEATURES_OK is set the accepted set is final. */
    write_driver_features(STD_FEATURES | BIT(ECHO_F_A));
    CHECK_EQ(g_echo.vdev.driver_features, STD_FEATURES);
    machine_teardown();

    /* Driver features before DRIVER are ignored (3.1.1 step 4 comes after step 3). */
    machine_setup();
    write_driver_features(STD_FEATURES);
    CHECK_EQ(g_echo.vdev.driver_features, 0);
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
    add_status(ST_FOK);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV);
    machine_teardown();

    /* A reset forgets the driver's features; the same set negotiates again (2.2.2). */
    machine_setup();
    CHECK(driver_negotiate(STD_FEATURES));
    wr32(VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(g_echo.vdev.driver_features, 0);
    CHECK(driver_negotiate(STD_FEATURES));
    machine_teardown();
}

/* The core refuses device descriptions that break 2.2 or the queue rules. */
static void test_device_description(void)
{
    VirtioDevice d;
    VirtioDeviceOps ops = echo_ops;
    CHECK(virtio_dev_init(&d, &ops, &g_pm, NULL));
    virtio_dev_destroy(&d);

    ops = echo_ops;
    ops.features = BIT(ECHO_F_NEEDS_UP); /* offered without what it requires */
    CHECK(!virtio_dev_init(&d, &ops, &g_pm, NULL));
    ops = echo_ops;
    ops.features |= BIT(VIRTIO_F_ACCESS_PLATFORM); /* a transport bit */
    CHECK(!virtio_dev_init(&d, &ops, &g_pm, NULL));
    ops = echo_ops;
    ops.features |= BIT(24);
    CHECK(!virtio_dev_init(&d, &ops, &g_pm, NULL));
    ops = echo_ops;
    ops.features |= BIT(49);
    CHECK(!virtio_dev_init(&d, &ops, &g_pm, NULL));
    ops = echo_ops;
    ops.queue_max_size = 12;
    CHECK(!virtio_dev_init(&d, &ops, &g_pm, NULL));
    ops.queue_max_size = 0;
    CHECK(!virtio_dev_init(&d, &ops, &g_pm, NULL));
    ops = echo_ops;
    ops.config_size = VIRTIO_CONFIG_MAX + 1;
    CHECK(!virtio_dev_init(&d, &ops, &g_pm, NULL));
    ops = echo_ops;
    ops.read_config = NULL;
    CHECK(!virtio_dev_init(&d, &ops, &g_pm, NULL));
    ops = echo_ops;
    ops.caps |= 4;
    CHECK(!virtio_dev_init(&d, &ops, &g_pm, NULL));
    /* A dependency on a transport bit that is offered is fine. */
    static const VirtioFeatureDep dep_v1[] = { { ECHO_F_UPPER, BIT(VIRTIO_F_VERSION_1) } };
    ops = echo_ops;
    ops.feature_deps = dep_v1;
    CHECK(virtio_dev_init(&d, &ops, &g_pm, NULL));
    virtio_dev_destroy(&d);
    /* Without the ring capabilities EVENT_IDX / INDIRECT_DESC are not offered. */
    ops = echo_ops;
    ops.caps = 0;
    CHECK(virtio_dev_init(&d, &ops, &g_pm, NULL));
    CHECK_EQ(d.device_features, ECHO_FEATURES | BIT(VIRTIO_F_VERSION_1));
    virtio_dev_destroy(&d);
}

/* Bad input 4: queue size and ring placement, checked when QueueReady is written. */
static void test_queue_setup_errors(void)
{
    const uint64_t ram_end = RAM_BASE + RAM_SIZE;
    static const struct {
        const char *what;
        uint32_t num;
        int64_t desc, avail, used; /* offsets from the good addresses; or absolute if > 0 */
    } cases[] = {
        { "size 0", 0, 0, 0, 0 },
        { "size 12", 12, 0, 0, 0 },
        { "size 32 > max 16", 32, 0, 0, 0 },
        { "size 0x10010", 0x10010, 0, 0, 0 },
        { "size 0xffffffff", 0xffffffff, 0, 0, 0 },
        { "desc misaligned", 8, 8, 0, 0 },
        { "avail misaligned", 8, 0, 1, 0 },
        { "used misaligned", 8, 0, 0, 2 },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        machine_setup();
        CHECK(driver_negotiate(STD_FEATURES));
        uint32_t ready = driver_setup_queue(0, cases[i].num, q_desc(0) + cases[i].desc,
                                            q_avail(0) + cases[i].avail, q_used(0) + cases[i].used);
        if (ready)
            fprintf(stderr, "queue case '%s' accepted\n", cases[i].what);
        CHECK_EQ(ready, 0);
        /* DEVICE_NEEDS_RESET, but no notification before DRIVER_OK (2.1.2). */
        CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_NR);
        CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
        CHECK_EQ(g_irq_raises, 0);
        /* Linux carries on to DRIVER_OK: the device is not started, the driver is told. */
        add_status(ST_DOK);
        CHECK_EQ(g_echo.activates, 0);
        CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
        CHECK_EQ(g_irq_level, 1);
        CHECK(!virtio_dev_running(&g_echo.vdev));
        /* A reset recovers. */
        wr32(VIRTIO_MMIO_STATUS, 0);
        CHECK_EQ(g_irq_level, 0);
        reset_shadows();
        driver_init(STD_FEATURES, 8);
        machine_teardown();
    }

    /* Rings outside guest RAM, wrapping, or running off its end. */
    static const struct {
        uint64_t desc, avail, used;
    } places[] = {
        { 0x70000000, 0, 0 },
        { 0, 0x1000, 0 },
        { 0, 0, MMIO_BASE },
        { 0, 0, ram_end - 0x40 }, /* used ring of 8 needs 70 bytes */
        { ram_end - 0x40, 0, 0 }, /* desc table of 8 needs 128 bytes */
        { 0, ram_end - 8, 0 },    /* avail ring needs 22 bytes */
        { 0xfffffffffffffff0ull, 0, 0 },
        { RAM_BASE + (1ull << 32), 0, 0 },
    };
    for (unsigned i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
        machine_setup();
        CHECK(driver_negotiate(STD_FEATURES));
        uint64_t d = places[i].desc ? places[i].desc : q_desc(0);
        uint64_t a = places[i].avail ? places[i].avail : q_avail(0);
        uint64_t u = places[i].used ? places[i].used : q_used(0);
        uint32_t ready = driver_setup_queue(0, 8, d, a, u);
        if (ready)
            fprintf(stderr, "ring placement case %u accepted\n", i);
        CHECK_EQ(ready, 0);
        CHECK(rd32(VIRTIO_MMIO_STATUS) & ST_NR);
        machine_teardown();
    }

    /* Rings at the very end of RAM are fine. */
    machine_setup();
    CHECK(driver_negotiate(STD_FEATURES));
    CHECK_EQ(driver_setup_queue(0, 8, ram_end - 128, ram_end - 256, ram_end - 512), 1);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK);
    machine_teardown();
}

/* Queue registers only between FEATURES_OK and DRIVER_OK, only while not ready. */
static void test_queue_register_window(void)
{
    machine_setup();
    VirtQueue *vq0 = &g_echo.vdev.queues[0];
    /* Before FEATURES_OK. */
    wr32(VIRTIO_MMIO_STATUS, ST_ACK | ST_DRV);
    wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr32(VIRTIO_MMIO_QUEUE_NUM, 4);
    wr32(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234);
    CHECK_EQ(vq0->size, ECHO_QMAX);
    CHECK_EQ(vq0->desc_addr, 0);
    wr32(VIRTIO_MMIO_QUEUE_READY, 1);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
    write_driver_features(STD_FEATURES);
    add_status(ST_FOK);

    /* In the window. */
    CHECK_EQ(driver_setup_queue(0, 8, q_desc(0), q_avail(0), q_used(0)), 1);
    /* While ready: ignored (4.2.2.2). */
    wr32(VIRTIO_MMIO_QUEUE_NUM, 4);
    wr32(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1230);
    wr32(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 1);
    wr32(VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0);
    CHECK_EQ(vq0->size, 8);
    CHECK_EQ(vq0->desc_addr, q_desc(0));
    CHECK_EQ(vq0->avail_addr, q_avail(0));
    CHECK_EQ(vq0->used_addr, q_used(0));
    /* QueueReady values other than 0/1, and absent queues. */
    wr32(VIRTIO_MMIO_QUEUE_READY, 2);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 1);
    wr32(VIRTIO_MMIO_QUEUE_SEL, 5);
    wr32(VIRTIO_MMIO_QUEUE_NUM, 8);
    wr32(VIRTIO_MMIO_QUEUE_READY, 1);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
    /* Disabling during setup (Linux's error path), then setting up again. */
    wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr32(VIRTIO_MMIO_QUEUE_READY, 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
    CHECK_EQ(vq0->size, 8);
    CHECK_EQ(vq0->desc_addr, q_desc(0));
    CHECK_EQ(driver_setup_queue(0, 4, q_desc(0), q_avail(0), q_used(0)), 1);
    CHECK_EQ(vq0->size, 4);
    add_status(ST_DOK);
    CHECK(virtio_dev_running(&g_echo.vdev));

    /* After DRIVER_OK: no new queue, no disabling, no changes. */
    CHECK_EQ(driver_setup_queue(1, 8, q_desc(1), q_avail(1), q_used(1)), 0);
    wr32(VIRTIO_MMIO_QUEUE_SEL, 0);
    wr32(VIRTIO_MMIO_QUEUE_READY, 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 1);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK);
    machine_teardown();
}

/* Bad input 4 / 2.1.2: kicks before DRIVER_OK are dropped, as are kicks of bad queues. */
static void test_kicks(void)
{
    machine_setup();
    reset_shadows();
    CHECK(driver_negotiate(STD_FEATURES));
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(driver_setup_queue(0, 8, q_desc(0), q_avail(0), q_used(0)), 1);
    echo_request(0, 8, 0, "early");
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(g_echo.notifies[0], 0);
    CHECK_EQ(used_idx(0), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    /* The device's own thread cannot consume or notify before DRIVER_OK either. */
    CHECK_EQ(virtio_dev_pop(&g_echo.vdev, 0, &g_echo.elem), 0);
    virtio_notify_used(&g_echo.vdev, 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    CHECK_EQ(g_irq_raises, 0);

    add_status(ST_DOK);
    /* Queue 1 was never set up; queue 7 does not exist; huge values. */
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 7);
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0x10000);
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
    wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0, 2);
    CHECK_EQ(g_echo.notifies[0] + g_echo.notifies[1], 0);
    /* Now the early buffer is processed. */
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(g_echo.notifies[0], 1);
    CHECK_EQ(used_idx(0), 1);
    CHECK_EQ(g_get(q_used(0) + 8, 4), 5);
    machine_teardown();

    /* A transport with its own notify path (the I/O thread's eventfd). */
    machine_setup();
    virtio_mmio_destroy(g_mmio);
    memset(g_custom_kicks, 0, sizeof(g_custom_kicks));
    g_mmio = virtio_mmio_create_notify(&g_echo.vdev, custom_notify, g_custom_kicks);
    CHECK(g_mmio != NULL);
    reset_shadows();
    CHECK(driver_negotiate(STD_FEATURES));
    CHECK_EQ(driver_setup_queue(0, 8, q_desc(0), q_avail(0), q_used(0)), 1);
    CHECK_EQ(driver_setup_queue(1, 8, q_desc(1), q_avail(1), q_used(1)), 1);
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    CHECK_EQ(g_custom_kicks[1], 0);
    add_status(ST_DOK);
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 3);
    CHECK_EQ(g_custom_kicks[1], 1);
    CHECK_EQ(g_custom_kicks[3], 0);
    CHECK_EQ(g_echo.notifies[1], 0); /* the callback decides when the device runs */
    CHECK(virtio_dev_queue_notify(&g_echo.vdev, 1));
    CHECK_EQ(g_echo.notifies[1], 1);
    machine_teardown();
}

/* 4.2.2.1 / 2.4.1: reset with queues ready and an interrupt pending. */
static void test_reset(void)
{
    machine_setup();
    reset_shadows();
    driver_init(STD_FEATURES | BIT(VIRTIO_F_EVENT_IDX), 8);
    echo_request(0, 8, 0, "x");
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    virtio_config_changed(&g_echo.vdev);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
    CHECK_EQ(g_irq_level, 1);
    uint32_t gen = rd32(VIRTIO_MMIO_CONFIG_GENERATION);
    wr32(VIRTIO_MMIO_QUEUE_SEL, 1);
    wr32(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    unsigned resets = g_echo.resets; /* driver_init began with one */

    wr32(VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    CHECK_EQ(g_irq_level, 0);
    CHECK_EQ(g_echo.resets, resets + 1);
    CHECK_EQ(g_mmio->queue_sel, 0);
    CHECK_EQ(g_mmio->device_features_sel, 0);
    for (unsigned q = 0; q < ECHO_QUEUES; q++) {
        wr32(VIRTIO_MMIO_QUEUE_SEL, q);
        CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
        CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_NUM_MAX), ECHO_QMAX);
    }
    CHECK_EQ(g_echo.vdev.driver_features, 0);
    /* The generation keeps counting across resets. */
    CHECK_EQ(rd32(VIRTIO_MMIO_CONFIG_GENERATION), gen);
    /* After the reset: no queue access, no notifications (2.4.1). */
    echo_request(0, 8, 1, "y");
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(g_echo.notifies[0], 1);
    CHECK_EQ(virtio_dev_pop(&g_echo.vdev, 0, &g_echo.elem), 0);
    virtio_notify_used(&g_echo.vdev, 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    CHECK_EQ(used_idx(0), 1);
    /* Resetting a reset device is harmless. */
    wr32(VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(g_echo.resets, resets + 2);

    /* Re-initialised from scratch with zeroed rings, it works again. */
    memset(physmem_host_ptr(&g_pm, RAM_BASE, 0x10000, false), 0, 0x10000);
    reset_shadows();
    driver_init(STD_FEATURES, 8);
    CHECK_EQ(g_echo.activates, 2);
    echo_request(0, 8, 0, "again");
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(used_idx(0), 1);
    CHECK_EQ(g_get(q_used(0) + 8, 4), 5);

    /* A machine reset goes the same way. */
    virtio_mmio_reset(g_mmio);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_QUEUE_READY), 0);
    CHECK_EQ(g_echo.resets, resets + 4);
    machine_teardown();
}

/* Bad input 5: a request in flight across a reset never reaches the (new) rings. */
static void test_reset_in_flight(void)
{
    machine_setup();
    reset_shadows();
    driver_init(STD_FEATURES, 8);
    g_echo.defer = true;
    echo_request(0, 8, 0, "slow");
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK(g_echo.held_valid);
    CHECK_EQ(used_idx(0), 0);

    wr32(VIRTIO_MMIO_STATUS, 0);
    /* The backend finishes after the reset: dropped. */
    CHECK(!virtio_dev_push(&g_echo.vdev, 0, &g_echo.held, 4, g_echo.held_epoch));
    virtio_notify_used(&g_echo.vdev, 0);
    CHECK_EQ(used_idx(0), 0);
    CHECK_EQ(g_irq_raises, 0);

    /* Even once the driver has set the same rings up again. */
    memset(physmem_host_ptr(&g_pm, RAM_BASE, 0x10000, false), 0, 0x10000);
    reset_shadows();
    driver_init(STD_FEATURES, 8);
    CHECK(!virtio_dev_push(&g_echo.vdev, 0, &g_echo.held, 4, g_echo.held_epoch));
    CHECK_EQ(used_idx(0), 0);
    CHECK_EQ(g_get(q_used(0) + 4, 4), 0);
    CHECK_EQ(g_get(q_used(0) + 8, 4), 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    CHECK_EQ(g_irq_raises, 0);

    /* A request of the current epoch completes normally. */
    g_echo.held_valid = false;
    echo_request(0, 8, 0, "fast");
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK(g_echo.held_valid);
    CHECK(echo_complete(&g_echo, 0, &g_echo.held, g_echo.held_epoch));
    virtio_notify_used(&g_echo.vdev, 0);
    CHECK_EQ(used_idx(0), 1);
    CHECK_EQ(g_get(q_used(0) + 8, 4), 4);
    CHECK_EQ(g_irq_level, 1);
    machine_teardown();
}

/* Config space: 1/2/4/8-byte little-endian accesses inside config_size only. */
static void test_config_space(void)
{
    machine_setup();
    const uint64_t C = VIRTIO_MMIO_CONFIG;
    CHECK_EQ(rd(C + 0, 1), 0x11);
    CHECK_EQ(rd(C + 7, 1), 0x88);
    CHECK_EQ(rd(C + 2, 2), 0x4433);
    CHECK_EQ(rd(C + 1, 2), 0x3322); /* unaligned: allowed */
    CHECK_EQ(rd(C + 4, 4), 0x88776655);
    CHECK_EQ(rd(C + 0, 8), 0x8877665544332211ull);
    uint64_t before = guest_errors();
    /* Outside or straddling the end, and odd sizes. */
    CHECK_EQ(rd(C + 8, 1), 0);
    CHECK_EQ(rd(C + 6, 4), 0);
    CHECK_EQ(rd(C + 4, 8), 0);
    CHECK_EQ(rd(C + 1, 8), 0);
    CHECK_EQ(rd(C + 0, 3), 0);
    CHECK_EQ(rd(C + 0, 5), 0);
    CHECK_EQ(rd(0xffc, 4), 0);
    CHECK_EQ(rd(0xff8, 8), 0);
    CHECK(guest_errors() >= before + 8);

    /* Writes before FEATURES_OK are ignored (3.1.1 step 4: read, don't write). */
    wr(C + 0, 0xaa, 1);
    CHECK_EQ(rd(C + 0, 1), 0x11);
    CHECK(driver_negotiate(STD_FEATURES));
    wr(C + 0, 0xaa, 1);
    wr(C + 2, 0xccbb, 2);
    wr(C + 4, 0x01020304, 4);
    CHECK_EQ(rd(C + 0, 8), 0x01020304ccbb22aaull);
    wr(C + 0, 0x0807060504030201ull, 8);
    CHECK_EQ(rd(C + 0, 8), 0x0807060504030201ull);
    CHECK_EQ(g_echo.config_writes, 4);
    /* Out of range writes never reach the device. */
    wr(C + 8, 0xff, 1);
    wr(C + 6, 0xffffffff, 4);
    wr(C + 0, 0xffffff, 3);
    wr(0xffc, 0xffffffff, 4);
    CHECK_EQ(g_echo.config_writes, 4);
    CHECK_EQ(rd(C + 0, 8), 0x0807060504030201ull);
    machine_teardown();
}

/* 4.2.2.1: ConfigGeneration changes with the config; notifications only after DRIVER_OK. */
static void test_config_generation(void)
{
    machine_setup();
    CHECK_EQ(rd32(VIRTIO_MMIO_CONFIG_GENERATION), 0);
    virtio_config_changed(&g_echo.vdev);
    CHECK_EQ(rd32(VIRTIO_MMIO_CONFIG_GENERATION), 1);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0); /* before DRIVER_OK: no notification */
    CHECK_EQ(g_irq_raises, 0);
    reset_shadows();
    driver_init(STD_FEATURES, 8);
    virtio_config_changed(&g_echo.vdev);
    CHECK_EQ(rd32(VIRTIO_MMIO_CONFIG_GENERATION), 2);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
    CHECK_EQ(g_irq_level, 1);
    /* ACK of a bit that is not pending changes nothing; the line drops with the last. */
    wr32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_QUEUE);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
    CHECK_EQ(g_irq_level, 1);
    echo_request(0, 8, 0, "q");
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG);
    wr32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_QUEUE);
    CHECK_EQ(g_irq_level, 1);
    wr32(VIRTIO_MMIO_INTERRUPT_ACK, 0xffffffff);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
    CHECK_EQ(g_irq_level, 0);
    CHECK_EQ(g_irq_raises, 1);
    machine_teardown();
}

/* 2.1.2: a guest error found by virtq_pop marks the device and tells the driver. */
static void test_needs_reset_after_pop_error(void)
{
    static const char *const kinds[] = { "loop", "head out of range", "avail.idx jump",
                                         "buffer outside RAM" };
    for (unsigned k = 0; k < 4; k++) {
        machine_setup();
        reset_shadows();
        driver_init(STD_FEATURES, 8);
        switch (k) {
        case 0:
            put_desc(0, 0, BUF_BASE, 4, VIRTQ_DESC_F_NEXT, 1);
            put_desc(0, 1, BUF_BASE, 4, VIRTQ_DESC_F_NEXT, 0);
            publish(0, 8, 0);
            break;
        case 1: publish(0, 8, 8); break;
        case 2: g_put16(q_avail(0) + 2, 9); break;
        case 3:
            put_desc(0, 0, RAM_BASE + RAM_SIZE - 2, 4, 0, 0);
            publish(0, 8, 0);
            break;
        }
        wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        if (g_echo.pop_errors != 1)
            fprintf(stderr, "pop error case '%s' not detected\n", kinds[k]);
        CHECK_EQ(g_echo.pop_errors, 1);
        CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK | ST_NR);
        CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
        CHECK_EQ(g_irq_level, 1);
        CHECK_EQ(used_idx(0), 0);
        CHECK(!virtio_dev_running(&g_echo.vdev));
        /* No more processing: kicks are not forwarded, on either queue. */
        wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        echo_request(1, 8, 0, "other");
        wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
        CHECK_EQ(g_echo.notifies[0], 1);
        CHECK_EQ(g_echo.notifies[1], 0);
        CHECK_EQ(used_idx(1), 0);
        /* The driver's status writes keep the device's bit. */
        add_status(0);
        CHECK(rd32(VIRTIO_MMIO_STATUS) & ST_NR);
        /* Setting it again does not notify again. */
        wr32(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_ISR_CONFIG);
        virtio_set_needs_reset(&g_echo.vdev);
        CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
        /* Reset recovers. */
        wr32(VIRTIO_MMIO_STATUS, 0);
        CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), 0);
        memset(physmem_host_ptr(&g_pm, RAM_BASE, 0x10000, false), 0, 0x10000);
        reset_shadows();
        driver_init(STD_FEATURES, 8);
        echo_request(0, 8, 0, "ok");
        wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        CHECK_EQ(used_idx(0), 1);
        machine_teardown();
    }
}

/* A backend that fails to start: DEVICE_NEEDS_RESET and a config notification. */
static void test_activate_failure(void)
{
    machine_setup();
    g_echo.activate_ok = false;
    reset_shadows();
    CHECK(driver_negotiate(STD_FEATURES));
    CHECK_EQ(driver_setup_queue(0, 8, q_desc(0), q_avail(0), q_used(0)), 1);
    add_status(ST_DOK);
    CHECK_EQ(g_echo.activates, 1);
    CHECK_EQ(rd32(VIRTIO_MMIO_STATUS), ST_ACK | ST_DRV | ST_FOK | ST_DOK | ST_NR);
    CHECK_EQ(rd32(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
    CHECK_EQ(g_irq_level, 1);
    echo_request(0, 8, 0, "z");
    wr32(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(g_echo.notifies[0], 0);
    machine_teardown();
}

/* The device thread completes and notifies while vCPUs reset and re-initialise. */
static _Atomic int g_stop;
static _Atomic unsigned g_completed;

static void *completer(void *arg)
{
    (void)arg;
    VirtioDevice *dev = &g_echo.vdev;
    while (!g_stop) {
        virtio_dev_lock(dev);
        uint64_t epoch = virtio_dev_epoch(dev);
        int r = virtio_dev_pop(dev, 0, &g_echo.held);
        virtio_dev_unlock(dev);
        if (r == 1 && virtio_dev_push(dev, 0, &g_echo.held, 0, epoch)) {
            atomic_fetch_add(&g_completed, 1);
            virtio_notify_used(dev, 0);
        }
        virtio_config_changed(dev);
    }
    return NULL;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_threads(void)
{
    machine_setup();
    g_stop = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, completer, NULL) == 0);
    unsigned bad = 0;
    for (unsigned round = 0; round < 300; round++) {
        reset_shadows();
        memset(physmem_host_ptr(&g_pm, RAM_BASE, 0x10000, false), 0, 0x10000);
        if (!driver_negotiate(STD_FEATURES))
            bad++;
        driver_setup_queue(0, 8, q_desc(0), q_avail(0), q_used(0));
        /* Queued before DRIVER_OK: the device thread polls and takes it once running. */
        echo_request(0, 8, 0, "t");
        add_status(ST_DOK);
        if (round & 1) {
            /* Let the device complete it (waiting at most 2 s), then reset. */
            uint16_t *used = physmem_host_ptr(&g_pm, q_used(0) + 2, 2, false);
            uint64_t deadline = now_ns() + 2000000000ull;
            while (!__atomic_load_n(used, __ATOMIC_ACQUIRE) && now_ns() < deadline)
                sched_yield();
        }
        wr32(VIRTIO_MMIO_STATUS, 0);
        /* After the reset nothing may be written to the used ring or raised. */
        uint16_t u = used_idx(0);
        uint32_t isr = rd32(VIRTIO_MMIO_INTERRUPT_STATUS);
        int level = atomic_load(&g_irq_level);
        for (volatile int spin = 0; spin < 2000; spin++)
            ;
        if (used_idx(0) != u || rd32(VIRTIO_MMIO_INTERRUPT_STATUS) != 0 || isr != 0 || level)
            bad++;
    }
    g_stop = 1;
    pthread_join(t, NULL);
    CHECK_EQ(bad, 0);
    CHECK(atomic_load(&g_completed) >= 150);
    /* How many requests made it between DRIVER_OK and the reset depends on scheduling. */
    printf("threads: %u of 300 requests completed before their reset\n", atomic_load(&g_completed));
    machine_teardown();
}

int main(void)
{
    physmem_init(&g_pm);
    CHECK(physmem_add_ram(&g_pm, "ram", RAM_BASE, RAM_SIZE) != NULL);
    CHECK(physmem_add_mmio(&g_pm, "virtio-mmio", MMIO_BASE, VIRTIO_MMIO_SIZE, &tramp_ops, NULL) !=
          NULL);

    test_identity();
    test_linux_init_and_echo();
    test_bad_register_access();
    test_status_rules();
    test_feature_negotiation();
    test_device_description();
    test_queue_setup_errors();
    test_queue_register_window();
    test_kicks();
    test_reset();
    test_reset_in_flight();
    test_config_space();
    test_config_generation();
    test_needs_reset_after_pop_error();
    test_activate_failure();
    test_threads();

    physmem_destroy(&g_pm);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
