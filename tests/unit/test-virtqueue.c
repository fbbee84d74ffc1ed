/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue (engine/virtio/virtqueue.c) against rings laid out in real guest RAM the
 * way a driver lays them out: chains, indirect tables, 16-bit index wrap-around,
 * notification suppression, and every malformed ring from TESTING.md items 1-5.
 *
 * Guest physical map used here:
 *   0x00001000  ROM  4 KiB
 *   0x10000000  MMIO 4 KiB
 *   0x80000000  RAM  2 MiB   rings at DESC/AVAIL/USED, buffers and tables from DATA
 *   0x80200000  RAM  64 KiB  right after the first region (buffers spanning both)
 * The 4 GiB chain-length test builds its own map with a 2 GiB region.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtio.h"

/* ---- Test harness ---- */

static int g_pass, g_fail;
static const char *g_case = "";

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (cond) {                                                                               \
            g_pass++;                                                                             \
        } else {                                                                                  \
            g_fail++;                                                                             \
            fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__, g_case, #cond); \
        }                                                                                         \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                           \
        if (a_ == b_) {                                                                            \
            g_pass++;                                                                              \
        } else {                                                                                   \
            g_fail++;                                                                              \
            fprintf(stderr, "%s:%d: [%s] %s == 0x%" PRIx64 ", expected 0x%" PRIx64 "\n", __FILE__, \
                    __LINE__, g_case, #a, a_, b_);                                                 \
        }                                                                                          \
    } while (0)

/* ---- Guest memory ---- */

#define ROM_BASE   0x1000ull
#define MMIO_BASE  0x10000000ull
#define RAM_BASE   0x80000000ull
#define RAM_SIZE   (2ull << 20)
#define RAM2_BASE  (RAM_BASE + RAM_SIZE)
#define RAM2_SIZE  0x10000ull
#define RAM2_END   (RAM2_BASE + RAM2_SIZE)
#define DESC       RAM_BASE                /* room for 32768 descriptors */
#define AVAIL      (RAM_BASE + 0x80000ull) /* room for 32768 entries */
#define USED       (RAM_BASE + 0xa0000ull) /* room for 32768 elements */
#define DATA       (RAM_BASE + 0x100000ull)
#define TABLE      (RAM_BASE + 0x180000ull) /* indirect tables */
#define DEFAULT_QS 8

static PhysMem g_pm;
static VirtQueue g_vq;
static VirtqElem g_elem;
static uint16_t g_avail_idx; /* the driver's next avail.idx */

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)size;
    return 0;
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)val;
    (void)size;
}

static const MmioOps mmio_ops = { mmio_read, mmio_write };

static uint8_t *host(uint64_t gpa, uint64_t len)
{
    uint8_t *p = physmem_host_ptr(&g_pm, gpa, len, false);
    if (!p) {
        fprintf(stderr, "test bug: 0x%" PRIx64 "+%" PRIu64 " is not RAM\n", gpa, len);
        exit(2);
    }
    return p;
}

static void w16(uint64_t gpa, uint16_t v)
{
    memcpy(host(gpa, 2), &v, 2);
}

static void w32(uint64_t gpa, uint32_t v)
{
    memcpy(host(gpa, 4), &v, 4);
}

static uint16_t r16(uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, host(gpa, 2), 2);
    return v;
}

static uint32_t r32(uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, host(gpa, 4), 4);
    return v;
}

/* ---- The driver side ---- */

/* Write descriptor `i` of the table at `table` (the descriptor table or an indirect one). */
static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    uint8_t *p = host(table + 16ull * i, 16);
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    put_desc(DESC, i, addr, len, flags, next);
}

static uint16_t qsize(void)
{
    return g_vq.size;
}

static void set_avail_idx(uint16_t idx)
{
    w16(AVAIL + 2, idx);
}

/* Make chain `head` available (2.7.13). */
static void avail_add(uint16_t head)
{
    w16(AVAIL + 4 + 2ull * (g_avail_idx % qsize()), head);
    g_avail_idx++;
    set_avail_idx(g_avail_idx);
}

static void set_avail_flags(uint16_t flags)
{
    w16(AVAIL, flags);
}

static void set_used_event(uint16_t v)
{
    w16(AVAIL + 4 + 2ull * qsize(), v);
}

static uint16_t used_flags(void)
{
    return r16(USED);
}

static uint16_t used_idx(void)
{
    return r16(USED + 2);
}

static uint32_t used_id(uint16_t slot)
{
    return r32(USED + 4 + 8ull * slot);
}

static uint32_t used_len(uint16_t slot)
{
    return r32(USED + 8 + 8ull * slot);
}

static uint16_t avail_event(void)
{
    return r16(USED + 4 + 8ull * qsize());
}

/* Fresh zeroed RAM and a queue of `size` enabled with the given features. */
static void start_queue(const char *name, uint16_t size, bool event_idx, bool indirect)
{
    g_case = name;
    memset(host(RAM_BASE, RAM_SIZE), 0, RAM_SIZE);
    memset(host(RAM2_BASE, RAM2_SIZE), 0, RAM2_SIZE);
    virtq_reset(&g_vq, &g_pm, size > 256 ? size : 256);
    g_vq.size = size;
    g_vq.desc_addr = DESC;
    g_vq.avail_addr = AVAIL;
    g_vq.used_addr = USED;
    g_vq.event_idx = event_idx;
    g_vq.indirect = indirect;
    g_avail_idx = 0;
    CHECK(virtq_enable(&g_vq));
    CHECK(g_vq.ready);
}

/* Start both sides at index `idx` (as after many requests). */
static void start_indexes_at(uint16_t idx)
{
    g_vq.last_avail_idx = idx;
    g_vq.used_idx = idx;
    g_avail_idx = idx;
    set_avail_idx(idx);
    w16(USED + 2, idx);
}

/*
 * The current chain is malformed: pop fails, the queue is broken and stays broken, and
 * nothing reaches the used ring. `what` names the case in failure messages.
 */
static void expect_guest_error(const char *what)
{
    const char *outer = g_case;
    g_case = what;
    uint16_t last = g_vq.last_avail_idx;
    uint16_t used = used_idx();
    CHECK_EQ(virtq_pop(&g_vq, &g_elem), -1);
    CHECK(g_vq.broken);
    CHECK_EQ(g_vq.last_avail_idx, last);
    CHECK_EQ(g_elem.out_num + g_elem.in_num, 0);
    /* Broken is sticky: no more pops, no used-ring writes, no interrupts. */
    CHECK_EQ(virtq_pop(&g_vq, &g_elem), -1);
    virtq_push(&g_vq, &g_elem, 0);
    CHECK_EQ(used_idx(), used);
    CHECK(!virtq_should_notify(&g_vq));
    g_case = outer;
}

static void expect_pop(int expected)
{
    CHECK_EQ(virtq_pop(&g_vq, &g_elem), expected);
}

/* ---- Queue setup (TESTING.md item 4) ---- */

static bool try_enable(uint16_t size, uint16_t max, uint64_t desc_addr, uint64_t avail_addr,
                       uint64_t used_addr)
{
    virtq_reset(&g_vq, &g_pm, max);
    g_vq.size = size;
    g_vq.desc_addr = desc_addr;
    g_vq.avail_addr = avail_addr;
    g_vq.used_addr = used_addr;
    bool ok = virtq_enable(&g_vq);
    CHECK_EQ(g_vq.ready, ok);
    return ok;
}

static void test_enable(void)
{
    g_case = "enable";
    memset(host(RAM_BASE, RAM_SIZE), 0, RAM_SIZE);

    virtq_reset(&g_vq, &g_pm, 256);
    CHECK_EQ(g_vq.size, 256);
    CHECK_EQ(g_vq.max_size, 256);
    CHECK(!g_vq.ready);
    CHECK_EQ(virtq_pop(&g_vq, &g_elem), 0); /* not ready: nothing */

    CHECK(try_enable(256, 256, DESC, AVAIL, USED));
    CHECK(try_enable(1, 256, DESC, AVAIL, USED));
    CHECK(try_enable(32768, 32768, DESC, AVAIL, USED));
    /* Minimal alignments are enough. */
    CHECK(try_enable(8, 256, DESC + 16, AVAIL + 2, USED + 4));

    g_case = "enable: size 0";
    CHECK(!try_enable(0, 256, DESC, AVAIL, USED));
    g_case = "enable: size not a power of two";
    CHECK(!try_enable(3, 256, DESC, AVAIL, USED));
    CHECK(!try_enable(96, 256, DESC, AVAIL, USED));
    CHECK(!try_enable(65535, 65535, DESC, AVAIL, USED));
    g_case = "enable: size above the maximum";
    CHECK(!try_enable(512, 256, DESC, AVAIL, USED));
    CHECK(!try_enable(2, 1, DESC, AVAIL, USED));
    g_case = "enable: misaligned descriptor table";
    CHECK(!try_enable(8, 256, DESC + 8, AVAIL, USED));
    CHECK(!try_enable(8, 256, DESC + 1, AVAIL, USED));
    g_case = "enable: misaligned avail ring";
    CHECK(!try_enable(8, 256, DESC, AVAIL + 1, USED));
    g_case = "enable: misaligned used ring";
    CHECK(!try_enable(8, 256, DESC, AVAIL, USED + 2));
    CHECK(!try_enable(8, 256, DESC, AVAIL, USED + 1));

    /* Rings that reach past the end of RAM (RAM2 ends the map), by one byte. */
    g_case = "enable: descriptor table outside RAM";
    CHECK(try_enable(8, 256, RAM2_END - 128, AVAIL, USED));
    CHECK(!try_enable(8, 256, RAM2_END - 112, AVAIL, USED));
    CHECK(!try_enable(8, 256, RAM2_END, AVAIL, USED));
    CHECK(!try_enable(8, 256, 0xfffffffffffffff0ull, AVAIL, USED)); /* wraps */
    CHECK(!try_enable(8, 256, MMIO_BASE, AVAIL, USED));
    CHECK(!try_enable(8, 256, ROM_BASE, AVAIL, USED));
    CHECK(!try_enable(8, 256, 0x40000000ull, AVAIL, USED)); /* unmapped */
    g_case = "enable: avail ring outside RAM";
    CHECK(try_enable(8, 256, DESC, RAM2_END - 22, USED));
    CHECK(!try_enable(8, 256, DESC, RAM2_END - 20, USED));
    CHECK(!try_enable(8, 256, DESC, 0xfffffffffffffffeull, USED));
    CHECK(!try_enable(8, 256, DESC, ROM_BASE, USED));
    g_case = "enable: used ring outside RAM";
    CHECK(try_enable(8, 256, DESC, AVAIL, RAM2_END - 72));
    CHECK(!try_enable(8, 256, DESC, AVAIL, RAM2_END - 68));
    CHECK(!try_enable(8, 256, DESC, AVAIL, 0xfffffffffffffffcull));
    CHECK(!try_enable(8, 256, DESC, AVAIL, MMIO_BASE));
    CHECK(!try_enable(8, 256, DESC, AVAIL, ROM_BASE)); /* the device writes it */
    g_case = "enable: ring spanning two RAM regions";
    CHECK(!try_enable(8, 256, RAM2_BASE - 64, AVAIL, USED));
    CHECK(!try_enable(8, 256, DESC, AVAIL, RAM2_BASE - 32));

    g_case = "enable: no memory";
    virtq_reset(&g_vq, NULL, 8);
    g_vq.desc_addr = DESC;
    g_vq.avail_addr = AVAIL;
    g_vq.used_addr = USED;
    CHECK(!virtq_enable(&g_vq));

    /* A failed enable leaves the queue not ready: nothing popped, pushed or notified. */
    g_case = "enable: failed queue is inert";
    CHECK(!try_enable(8, 256, DESC, AVAIL + 1, USED));
    desc(0, DATA, 4, 0, 0);
    w16(AVAIL + 4, 0);
    set_avail_idx(1);
    CHECK_EQ(virtq_pop(&g_vq, &g_elem), 0);
    CHECK(!virtq_should_notify(&g_vq));
    g_elem.head = 0;
    g_elem.in_len = 0;
    virtq_push(&g_vq, &g_elem, 0);
    CHECK_EQ(used_idx(), 0);
}

static void test_reset(void)
{
    start_queue("reset", DEFAULT_QS, true, true);
    desc(0, DATA, 4, 0, 0);
    avail_add(0);
    expect_pop(1);
    virtq_push(&g_vq, &g_elem, 0);
    virtq_should_notify(&g_vq);
    g_vq.broken = true;

    virtq_reset(&g_vq, &g_pm, 128);
    CHECK(g_vq.mem == &g_pm);
    CHECK_EQ(g_vq.size, 128);
    CHECK_EQ(g_vq.max_size, 128);
    CHECK(!g_vq.ready);
    CHECK(!g_vq.broken);
    CHECK(!g_vq.event_idx);
    CHECK(!g_vq.indirect);
    CHECK_EQ(g_vq.desc_addr, 0);
    CHECK_EQ(g_vq.avail_addr, 0);
    CHECK_EQ(g_vq.used_addr, 0);
    CHECK_EQ(g_vq.last_avail_idx, 0);
    CHECK_EQ(g_vq.used_idx, 0);
    CHECK_EQ(g_vq.signalled_used, 0);
    CHECK(!g_vq.signalled_used_valid);
}

/* ---- Normal operation ---- */

static void test_empty(void)
{
    start_queue("empty ring", DEFAULT_QS, false, false);
    expect_pop(0);
    expect_pop(0);
    CHECK_EQ(g_vq.last_avail_idx, 0);
    CHECK(!g_vq.broken);

    /* Empty again after one chain. */
    desc(0, DATA, 4, 0, 0);
    avail_add(0);
    expect_pop(1);
    expect_pop(0);
    CHECK_EQ(g_vq.last_avail_idx, 1);
}

static void test_chain(void)
{
    start_queue("chain: out then in", DEFAULT_QS, false, false);
    /* Descriptors in no particular order (2.7.4.1). */
    desc(0, DATA + 0x000, 16, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA + 0x100, 100, VIRTQ_DESC_F_NEXT, 5);
    desc(5, DATA + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 7);
    desc(7, DATA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0xffff); /* next ignored without NEXT */
    for (unsigned i = 0; i < 16; i++)
        host(DATA, 16)[i] = (uint8_t)i;
    for (unsigned i = 0; i < 100; i++)
        host(DATA + 0x100, 100)[i] = (uint8_t)(0x80 + i);
    avail_add(0);

    expect_pop(1);
    CHECK_EQ(g_elem.head, 0);
    CHECK_EQ(g_elem.out_num, 2);
    CHECK_EQ(g_elem.in_num, 2);
    CHECK_EQ(g_elem.out_len, 116);
    CHECK_EQ(g_elem.in_len, 513);
    struct iovec *out = virtq_elem_out(&g_elem), *in = virtq_elem_in(&g_elem);
    CHECK(out[0].iov_base == host(DATA, 16));
    CHECK_EQ(out[0].iov_len, 16);
    CHECK(out[1].iov_base == host(DATA + 0x100, 100));
    CHECK_EQ(out[1].iov_len, 100);
    CHECK(in[0].iov_base == host(DATA + 0x1000, 512));
    CHECK_EQ(in[0].iov_len, 512);
    CHECK(in[1].iov_base == host(DATA + 0x2000, 1));
    CHECK_EQ(in[1].iov_len, 1);
    CHECK_EQ(g_vq.last_avail_idx, 1);

    /* The request as the device sees it. */
    uint8_t req[116];
    CHECK_EQ(iov_to_buf(out, g_elem.out_num, 0, req, sizeof(req)), 116);
    CHECK_EQ(req[15], 15);
    CHECK_EQ(req[16], 0x80);
    CHECK_EQ(req[115], 0x80 + 99);

    /* The reply, then the used element with its length and the published index. */
    uint8_t reply[513];
    memset(reply, 0xa5, sizeof(reply));
    reply[512] = 0x5a;
    CHECK_EQ(iov_from_buf(in, g_elem.in_num, 0, reply, sizeof(reply)), 513);
    CHECK_EQ(host(DATA + 0x1000, 512)[511], 0xa5);
    CHECK_EQ(host(DATA + 0x2000, 1)[0], 0x5a);
    virtq_push(&g_vq, &g_elem, 513);
    CHECK_EQ(used_idx(), 1);
    CHECK_EQ(g_vq.used_idx, 1);
    CHECK_EQ(used_id(0), 0);
    CHECK_EQ(used_len(0), 513);
    expect_pop(0);

    /* A written count above the writable bytes is clamped. */
    g_case = "chain: written clamped";
    desc(2, DATA, 8, VIRTQ_DESC_F_WRITE, 0);
    avail_add(2);
    expect_pop(1);
    virtq_push(&g_vq, &g_elem, 1000);
    CHECK_EQ(used_id(1), 2);
    CHECK_EQ(used_len(1), 8);
    CHECK_EQ(used_idx(), 2);
}

static void test_several_chains(void)
{
    start_queue("several chains", DEFAULT_QS, false, false);
    desc(3, DATA, 10, 0, 0);                          /* out only */
    desc(4, DATA + 0x100, 20, VIRTQ_DESC_F_WRITE, 0); /* in only */
    desc(6, DATA + 0x200, 0, 0, 0);                   /* a zero-length chain */
    avail_add(3);
    avail_add(4);
    avail_add(6);

    VirtqElem *e = malloc(3 * sizeof(*e));
    CHECK_EQ(virtq_pop(&g_vq, &e[0]), 1);
    CHECK_EQ(virtq_pop(&g_vq, &e[1]), 1);
    CHECK_EQ(virtq_pop(&g_vq, &e[2]), 1);
    expect_pop(0);
    CHECK_EQ(e[0].head, 3);
    CHECK_EQ(e[0].out_num, 1);
    CHECK_EQ(e[0].in_num, 0);
    CHECK_EQ(e[0].out_len, 10);
    CHECK_EQ(e[1].head, 4);
    CHECK_EQ(e[1].out_num, 0);
    CHECK_EQ(e[1].in_num, 1);
    CHECK_EQ(e[1].in_len, 20);
    CHECK(virtq_elem_in(&e[1])[0].iov_base == host(DATA + 0x100, 20));
    CHECK_EQ(e[2].head, 6);
    CHECK_EQ(e[2].out_num + e[2].in_num, 0);
    CHECK_EQ(e[2].out_len + e[2].in_len, 0);

    /* Completion in any order. */
    virtq_push(&g_vq, &e[1], 20);
    virtq_push(&g_vq, &e[2], 0);
    virtq_push(&g_vq, &e[0], 0);
    CHECK_EQ(used_idx(), 3);
    CHECK_EQ(used_id(0), 4);
    CHECK_EQ(used_len(0), 20);
    CHECK_EQ(used_id(1), 6);
    CHECK_EQ(used_id(2), 3);
    CHECK_EQ(used_len(2), 0);
    free(e);

    g_case = "full ring";
    start_queue("full ring", DEFAULT_QS, false, false);
    for (unsigned i = 0; i < DEFAULT_QS; i++) {
        desc(i, DATA + 0x100 * i, 4, 0, 0);
        avail_add((uint16_t)(DEFAULT_QS - 1 - i));
    }
    for (unsigned i = 0; i < DEFAULT_QS; i++) {
        expect_pop(1);
        CHECK_EQ(g_elem.head, DEFAULT_QS - 1 - i);
    }
    expect_pop(0);
}

static void test_zero_length(void)
{
    start_queue("zero-length buffers", DEFAULT_QS, false, false);
    desc(0, DATA, 0, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA + 0x100, 8, VIRTQ_DESC_F_NEXT, 2);
    desc(2, 0xdead000000000000ull, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3); /* not mapped */
    desc(3, DATA + 0x200, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 4);
    desc(4, DATA + 0x300, 0, VIRTQ_DESC_F_WRITE, 0);
    avail_add(0);
    expect_pop(1);
    CHECK_EQ(g_elem.out_num, 1);
    CHECK_EQ(g_elem.in_num, 1);
    CHECK(g_elem.sg[0].iov_base == host(DATA + 0x100, 8));
    CHECK(g_elem.sg[1].iov_base == host(DATA + 0x200, 4));
    CHECK_EQ(g_elem.out_len, 8);
    CHECK_EQ(g_elem.in_len, 4);
}

static void test_indirect(void)
{
    start_queue("indirect", DEFAULT_QS, false, true);
    /* Table entries chained 0 -> 2 -> 1; WRITE on the referring descriptor is ignored. */
    put_desc(TABLE, 0, DATA, 10, VIRTQ_DESC_F_NEXT, 2);
    put_desc(TABLE, 2, DATA + 0x100, 20, VIRTQ_DESC_F_NEXT, 1);
    put_desc(TABLE, 1, DATA + 0x200, 30, VIRTQ_DESC_F_WRITE, 0);
    desc(4, TABLE, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
    avail_add(4);
    expect_pop(1);
    CHECK_EQ(g_elem.head, 4);
    CHECK_EQ(g_elem.out_num, 2);
    CHECK_EQ(g_elem.in_num, 1);
    CHECK(g_elem.sg[0].iov_base == host(DATA, 10));
    CHECK(g_elem.sg[1].iov_base == host(DATA + 0x100, 20));
    CHECK(g_elem.sg[2].iov_base == host(DATA + 0x200, 30));
    CHECK_EQ(g_elem.out_len, 30);
    CHECK_EQ(g_elem.in_len, 30);
    virtq_push(&g_vq, &g_elem, 30);
    CHECK_EQ(used_id(0), 4);
    CHECK_EQ(used_len(0), 30);
    CHECK_EQ(used_idx(), 1);

    /* 2.7.5.3.2: the device MUST handle direct descriptors followed by one indirect. */
    g_case = "indirect after direct descriptors";
    desc(0, DATA + 0x400, 8, VIRTQ_DESC_F_NEXT, 1);
    desc(1, TABLE + 0x100, 32, VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(TABLE + 0x100, 0, DATA + 0x500, 4, VIRTQ_DESC_F_NEXT, 1);
    put_desc(TABLE + 0x100, 1, DATA + 0x600, 16, VIRTQ_DESC_F_WRITE, 0);
    avail_add(0);
    expect_pop(1);
    CHECK_EQ(g_elem.out_num, 2);
    CHECK_EQ(g_elem.in_num, 1);
    CHECK(g_elem.sg[0].iov_base == host(DATA + 0x400, 8));
    CHECK(g_elem.sg[1].iov_base == host(DATA + 0x500, 4));
    CHECK(g_elem.sg[2].iov_base == host(DATA + 0x600, 16));

    /* An indirect table needs no particular alignment; a one-entry table is fine. */
    g_case = "indirect: unaligned one-entry table";
    put_desc(TABLE + 0x201, 0, DATA + 0x700, 64, VIRTQ_DESC_F_WRITE, 0);
    desc(2, TABLE + 0x201, 16, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(2);
    expect_pop(1);
    CHECK_EQ(g_elem.out_num, 0);
    CHECK_EQ(g_elem.in_num, 1);
    CHECK_EQ(g_elem.in_len, 64);

    /* The table may be longer than the chain in it. */
    g_case = "indirect: chain shorter than the table";
    put_desc(TABLE + 0x300, 0, DATA, 1, 0, 0);
    desc(3, TABLE + 0x300, 16 * 64, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(3);
    expect_pop(1);
    CHECK_EQ(g_elem.out_num, 1);
    CHECK(!g_vq.broken);
}

static void test_unpop(void)
{
    start_queue("unpop", DEFAULT_QS, false, false);
    desc(1, DATA, 4, 0, 0);
    desc(2, DATA, 4, 0, 0);
    avail_add(1);
    avail_add(2);
    expect_pop(1);
    CHECK_EQ(g_elem.head, 1);
    virtq_unpop(&g_vq);
    CHECK_EQ(g_vq.last_avail_idx, 0);
    expect_pop(1);
    CHECK_EQ(g_elem.head, 1);
    expect_pop(1);
    CHECK_EQ(g_elem.head, 2);
    expect_pop(0);

    /* Across the 16-bit wrap. */
    start_queue("unpop: wrap", DEFAULT_QS, false, false);
    start_indexes_at(0xffff);
    desc(5, DATA, 4, 0, 0);
    avail_add(5);
    expect_pop(1);
    CHECK_EQ(g_vq.last_avail_idx, 0);
    virtq_unpop(&g_vq);
    CHECK_EQ(g_vq.last_avail_idx, 0xffff);
    expect_pop(1);
    CHECK_EQ(g_elem.head, 5);
}

static void test_wrap(void)
{
    start_queue("16-bit index wrap", DEFAULT_QS, false, false);
    start_indexes_at(65533);
    for (unsigned i = 0; i < 6; i++) {
        desc(i, DATA + 0x100 * i, 4 + i, VIRTQ_DESC_F_WRITE, 0);
        avail_add((uint16_t)i);
    }
    CHECK_EQ(r16(AVAIL + 2), 3); /* 65533 + 6 */
    for (unsigned i = 0; i < 6; i++) {
        expect_pop(1);
        CHECK_EQ(g_elem.head, i);
        CHECK_EQ(g_elem.in_len, 4 + i);
        virtq_push(&g_vq, &g_elem, 4 + i);
    }
    expect_pop(0);
    CHECK_EQ(g_vq.last_avail_idx, 3);
    CHECK_EQ(used_idx(), 3);
    /* 65533 % 8 == 5: slots 5, 6, 7, 0, 1, 2. */
    for (unsigned i = 0; i < 6; i++) {
        uint16_t slot = (uint16_t)((65533 + i) % DEFAULT_QS);
        CHECK_EQ(used_id(slot), i);
        CHECK_EQ(used_len(slot), 4 + i);
    }

    /* A full ring across the wrap is fine; one more entry is not (avail.idx - last > size). */
    start_queue("wrap: full ring", DEFAULT_QS, false, false);
    start_indexes_at(65530);
    desc(0, DATA, 4, 0, 0);
    for (unsigned i = 0; i < DEFAULT_QS; i++)
        avail_add(0);
    CHECK_EQ(r16(AVAIL + 2), 2);
    for (unsigned i = 0; i < DEFAULT_QS; i++)
        expect_pop(1);
    expect_pop(0);
    CHECK(!g_vq.broken);

    start_queue("wrap: avail.idx runs a ring + 1 ahead", DEFAULT_QS, false, false);
    start_indexes_at(65530);
    desc(0, DATA, 4, 0, 0);
    for (unsigned i = 0; i < DEFAULT_QS + 1; i++)
        avail_add(0);
    expect_guest_error("wrap: avail.idx runs a ring + 1 ahead");
}

/* ---- Notification suppression (2.7.7.2, 2.7.10) ---- */

/* Push `n` single-buffer chains through the queue. */
static void push_n(unsigned n)
{
    desc(0, DATA, 4, VIRTQ_DESC_F_WRITE, 0);
    for (unsigned i = 0; i < n; i++) {
        avail_add(0);
        expect_pop(1);
        virtq_push(&g_vq, &g_elem, 4);
    }
}

static void test_no_interrupt_flag(void)
{
    start_queue("NO_INTERRUPT", DEFAULT_QS, false, false);
    push_n(1);
    CHECK(virtq_should_notify(&g_vq));
    set_avail_flags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    push_n(1);
    CHECK(!virtq_should_notify(&g_vq));
    set_avail_flags(VIRTQ_AVAIL_F_NO_INTERRUPT | 2); /* other bits: still bit 0 that counts */
    CHECK(!virtq_should_notify(&g_vq));
    set_avail_flags(0);
    CHECK(virtq_should_notify(&g_vq));
    /* Without EVENT_IDX used_event means nothing. */
    set_used_event(100);
    CHECK(virtq_should_notify(&g_vq));
}

static void test_event_idx(void)
{
    start_queue("EVENT_IDX", DEFAULT_QS, true, false);
    /* First check after enable: no earlier notification to compare with, so notify. */
    set_used_event(100);
    push_n(1);
    CHECK(virtq_should_notify(&g_vq));
    CHECK(g_vq.signalled_used_valid);
    CHECK_EQ(g_vq.signalled_used, 1);
    /* Nothing pushed since: no notification. */
    CHECK(!virtq_should_notify(&g_vq));

    /* used_event == 1: the entry at index 1 was written (idx 1 -> 2). */
    set_used_event(1);
    push_n(1);
    CHECK(virtq_should_notify(&g_vq));
    /* used_event ahead: 2 -> 3 does not reach 5. */
    set_used_event(5);
    push_n(1);
    CHECK(!virtq_should_notify(&g_vq));
    push_n(2); /* 3 -> 5: entry 5 not written yet */
    CHECK(!virtq_should_notify(&g_vq));
    push_n(1); /* 5 -> 6 writes entry 5 */
    CHECK(virtq_should_notify(&g_vq));
    /* Several pushes between checks: passed within the batch. */
    set_used_event(8);
    push_n(4); /* 6 -> 10 */
    CHECK(virtq_should_notify(&g_vq));
    /* used_event behind: already signalled past it. */
    set_used_event(9);
    push_n(1);
    CHECK(!virtq_should_notify(&g_vq));
    /* The avail flags do not matter with EVENT_IDX. */
    set_avail_flags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    set_used_event(g_vq.used_idx);
    push_n(1);
    CHECK(virtq_should_notify(&g_vq));
    set_avail_flags(0);
    set_used_event(1000);
    push_n(1);
    CHECK(!virtq_should_notify(&g_vq));

    start_queue("EVENT_IDX: wrap", DEFAULT_QS, true, false);
    start_indexes_at(65530);
    CHECK(virtq_should_notify(&g_vq)); /* first check */
    CHECK_EQ(g_vq.signalled_used, 65530);
    set_used_event(65535);
    push_n(5); /* 65530 -> 65535 */
    CHECK(!virtq_should_notify(&g_vq));
    push_n(1); /* 65535 -> 0 writes entry 65535 */
    CHECK_EQ(g_vq.used_idx, 0);
    CHECK(virtq_should_notify(&g_vq));
    set_used_event(2);
    push_n(4); /* 0 -> 4 */
    CHECK(virtq_should_notify(&g_vq));
    /* A batch crossing the wrap with the event just after it. */
    g_vq.signalled_used = 65534;
    g_vq.used_idx = 65534;
    w16(USED + 2, 65534);
    set_used_event(0);
    push_n(4); /* 65534 -> 2 */
    CHECK(virtq_should_notify(&g_vq));
    g_vq.signalled_used = 65534;
    g_vq.used_idx = 65534;
    w16(USED + 2, 65534);
    set_used_event(3);
    push_n(4); /* 65534 -> 2: entry 3 not written */
    CHECK(!virtq_should_notify(&g_vq));
    set_used_event(65533);
    push_n(1); /* event behind across the wrap */
    CHECK(!virtq_should_notify(&g_vq));

    /* Half a 16-bit round of pushes without a check: the old index means nothing now. */
    start_queue("EVENT_IDX: signalled_used invalidated", DEFAULT_QS, true, false);
    CHECK(virtq_should_notify(&g_vq));
    set_used_event(0xffff);
    push_n(32767);
    CHECK(g_vq.signalled_used_valid);
    push_n(1);
    CHECK(!g_vq.signalled_used_valid);
    CHECK(virtq_should_notify(&g_vq));
}

static void test_set_notification(void)
{
    start_queue("set_notification", DEFAULT_QS, false, false);
    virtq_set_notification(&g_vq, false);
    CHECK_EQ(used_flags(), VIRTQ_USED_F_NO_NOTIFY);
    virtq_set_notification(&g_vq, false);
    CHECK_EQ(used_flags(), VIRTQ_USED_F_NO_NOTIFY);
    virtq_set_notification(&g_vq, true);
    CHECK_EQ(used_flags(), 0);
    CHECK_EQ(avail_event(), 0); /* untouched without EVENT_IDX */
    desc(0, DATA, 4, 0, 0);
    avail_add(0);
    expect_pop(1);
    CHECK_EQ(avail_event(), 0);

    start_queue("set_notification: EVENT_IDX", DEFAULT_QS, true, false);
    desc(0, DATA, 4, 0, 0);
    for (unsigned i = 0; i < 5; i++)
        avail_add(0);
    virtq_set_notification(&g_vq, true);
    CHECK_EQ(avail_event(), 5); /* kick when the driver adds entry 5 */
    CHECK_EQ(used_flags(), 0);  /* 2.7.10: flags stay 0 with EVENT_IDX */
    avail_add(0);
    avail_add(0);
    virtq_set_notification(&g_vq, false); /* leaves avail_event alone */
    CHECK_EQ(avail_event(), 5);
    CHECK_EQ(used_flags(), 0);
    /* Each pop asks for a kick once the driver passes what was consumed. */
    expect_pop(1);
    CHECK_EQ(avail_event(), 1);
    expect_pop(1);
    CHECK_EQ(avail_event(), 2);

    start_queue("set_notification: EVENT_IDX wrap", DEFAULT_QS, true, false);
    start_indexes_at(0xfffe);
    desc(0, DATA, 4, 0, 0);
    avail_add(0);
    avail_add(0);
    virtq_set_notification(&g_vq, true);
    CHECK_EQ(avail_event(), 0);
    expect_pop(1);
    CHECK_EQ(avail_event(), 0xffff);
    expect_pop(1);
    CHECK_EQ(avail_event(), 0);
}

/* ---- Reset with I/O in flight (item 5) ---- */

static void test_reset_in_flight(void)
{
    start_queue("reset with I/O in flight", DEFAULT_QS, false, false);
    desc(0, DATA, 4, VIRTQ_DESC_F_WRITE, 0);
    avail_add(0);
    expect_pop(1);
    virtq_reset(&g_vq, &g_pm, DEFAULT_QS);
    /* The device finishes the request after the reset: nothing may reach the guest. */
    virtq_push(&g_vq, &g_elem, 4);
    CHECK_EQ(used_idx(), 0);
    CHECK_EQ(used_id(0), 0);
    CHECK_EQ(used_len(0), 0);
    CHECK(!virtq_should_notify(&g_vq));
    virtq_set_notification(&g_vq, false);
    CHECK_EQ(used_flags(), 0);
    virtq_unpop(&g_vq);
    CHECK_EQ(g_vq.last_avail_idx, 0);
    expect_pop(0);
}

/* ---- Malformed chains (items 1-3) ---- */

static void test_loops(void)
{
    start_queue("loop: two descriptors", DEFAULT_QS, false, false);
    desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
    avail_add(0);
    expect_guest_error("loop: two descriptors");

    start_queue("loop: self", DEFAULT_QS, false, false);
    desc(3, DATA, 4, VIRTQ_DESC_F_NEXT, 3);
    avail_add(3);
    expect_guest_error("loop: self");

    /* Zero-length descriptors add no bytes: the count alone must catch the loop. */
    start_queue("loop: zero-length", DEFAULT_QS, false, false);
    desc(0, DATA, 0, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA, 0, VIRTQ_DESC_F_NEXT, 0);
    avail_add(0);
    expect_guest_error("loop: zero-length");

    /* Through every descriptor, then back: longer than the table. */
    start_queue("loop: whole table", DEFAULT_QS, false, false);
    for (unsigned i = 0; i < DEFAULT_QS; i++)
        desc(i, DATA, 1, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % DEFAULT_QS));
    avail_add(0);
    expect_guest_error("loop: whole table");

    /* ... whereas a chain using the whole table once is fine. */
    start_queue("chain: whole table", DEFAULT_QS, false, false);
    for (unsigned i = 0; i < DEFAULT_QS; i++)
        desc(i, DATA, 1, i + 1 < DEFAULT_QS ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    avail_add(0);
    expect_pop(1);
    CHECK_EQ(g_elem.out_num, DEFAULT_QS);

    start_queue("loop: in an indirect table", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    put_desc(TABLE, 1, DATA, 4, VIRTQ_DESC_F_NEXT, 2);
    put_desc(TABLE, 2, DATA, 0, VIRTQ_DESC_F_NEXT, 1);
    desc(0, TABLE, 48, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("loop: in an indirect table");

    start_queue("loop: indirect self", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, DATA, 0, VIRTQ_DESC_F_NEXT, 0);
    desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("loop: indirect self");
}

static void test_bad_indexes(void)
{
    start_queue("next out of range", DEFAULT_QS, false, false);
    desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, DEFAULT_QS);
    avail_add(0);
    expect_guest_error("next out of range");

    start_queue("next 0xffff", DEFAULT_QS, false, false);
    desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 0xffff);
    avail_add(0);
    expect_guest_error("next 0xffff");

    start_queue("head out of range", DEFAULT_QS, false, false);
    desc(0, DATA, 4, 0, 0);
    avail_add(DEFAULT_QS);
    expect_guest_error("head out of range");

    start_queue("head 0xffff", DEFAULT_QS, false, false);
    avail_add(0xffff);
    expect_guest_error("head 0xffff");

    /* A good chain first: the error on the second leaves the first consumed. */
    start_queue("head out of range after a good one", DEFAULT_QS, false, false);
    desc(0, DATA, 4, 0, 0);
    avail_add(0);
    avail_add(9);
    expect_pop(1);
    expect_guest_error("head out of range after a good one");
    CHECK_EQ(g_vq.last_avail_idx, 1);

    start_queue("avail.idx jumps by size + 1", DEFAULT_QS, false, false);
    desc(0, DATA, 4, 0, 0);
    set_avail_idx(DEFAULT_QS + 1);
    expect_guest_error("avail.idx jumps by size + 1");

    start_queue("avail.idx jumps by size", DEFAULT_QS, false, false);
    desc(0, DATA, 4, 0, 0);
    set_avail_idx(DEFAULT_QS); /* heads all 0: a full ring */
    for (unsigned i = 0; i < DEFAULT_QS; i++)
        expect_pop(1);
    expect_pop(0);

    start_queue("avail.idx moves backwards", DEFAULT_QS, false, false);
    start_indexes_at(10);
    set_avail_idx(9);
    expect_guest_error("avail.idx moves backwards");

    start_queue("avail.idx far ahead", DEFAULT_QS, false, false);
    set_avail_idx(0x8000);
    expect_guest_error("avail.idx far ahead");
}

static void test_bad_indirect(void)
{
    start_queue("indirect: not negotiated", DEFAULT_QS, false, false);
    put_desc(TABLE, 0, DATA, 4, 0, 0);
    desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: not negotiated");

    start_queue("indirect: length 0", DEFAULT_QS, false, true);
    desc(0, TABLE, 0, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: length 0");

    static const uint32_t bad_lens[] = { 1, 8, 15, 17, 24, 40, 0xfffffff8u };
    for (unsigned i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
        start_queue("indirect: length not a multiple of 16", DEFAULT_QS, false, true);
        put_desc(TABLE, 0, DATA, 4, 0, 0);
        desc(0, TABLE, bad_lens[i], VIRTQ_DESC_F_INDIRECT, 0);
        avail_add(0);
        expect_guest_error("indirect: length not a multiple of 16");
    }

    start_queue("indirect: nested", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    put_desc(TABLE, 1, TABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(TABLE + 0x100, 0, DATA, 4, 0, 0);
    desc(0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: nested");

    start_queue("indirect: nested first entry", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0); /* itself */
    desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: nested first entry");

    start_queue("indirect: with NEXT", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, DATA, 4, 0, 0);
    desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA, 4, VIRTQ_DESC_F_WRITE, 0);
    avail_add(0);
    expect_guest_error("indirect: with NEXT");

    start_queue("indirect: next out of the table", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 2);
    put_desc(TABLE, 1, DATA, 4, 0, 0);
    put_desc(TABLE, 2, DATA, 4, 0, 0); /* present in memory but beyond len */
    desc(0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: next out of the table");

    start_queue("indirect: table outside RAM", DEFAULT_QS, false, true);
    desc(0, RAM2_END - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: table outside RAM");

    start_queue("indirect: table wraps", DEFAULT_QS, false, true);
    desc(0, 0xfffffffffffffff0ull, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: table wraps");

    start_queue("indirect: table in MMIO", DEFAULT_QS, false, true);
    desc(0, MMIO_BASE, 16, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: table in MMIO");

    start_queue("indirect: table across two RAM regions", DEFAULT_QS, false, true);
    put_desc(RAM2_BASE - 16, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    put_desc(RAM2_BASE - 16, 1, DATA, 4, 0, 0);
    desc(0, RAM2_BASE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: table across two RAM regions");

    /* Indirect in the middle of a direct chain must end it (no NEXT). */
    start_queue("indirect: in the middle of a chain", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, DATA, 4, 0, 0);
    desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    desc(1, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 2);
    desc(2, DATA, 4, 0, 0);
    avail_add(0);
    expect_guest_error("indirect: in the middle of a chain");
}

static void test_bad_order(void)
{
    start_queue("readable after writable", DEFAULT_QS, false, false);
    desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    desc(1, DATA + 0x100, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(2, DATA + 0x200, 4, 0, 0);
    avail_add(0);
    expect_guest_error("readable after writable");

    start_queue("readable after zero-length writable", DEFAULT_QS, false, false);
    desc(0, DATA, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    desc(1, DATA, 4, 0, 0);
    avail_add(0);
    expect_guest_error("readable after zero-length writable");

    start_queue("readable after writable: indirect", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, DATA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    put_desc(TABLE, 1, DATA, 4, 0, 0);
    desc(0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("readable after writable: indirect");

    start_queue("readable after writable: direct then indirect", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, DATA, 4, 0, 0);
    desc(0, DATA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    desc(1, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("readable after writable: direct then indirect");

    /* The WRITE flag on the descriptor that refers to the table is not "writable". */
    start_queue("WRITE on the indirect descriptor ignored", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, DATA, 4, 0, 0);
    desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    desc(1, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
    avail_add(0);
    expect_pop(1);
    CHECK_EQ(g_elem.out_num, 2);
    CHECK_EQ(g_elem.in_num, 0);
}

/* One bad buffer at the end of an otherwise good chain. */
static void bad_buffer(const char *what, uint64_t addr, uint32_t len, bool write)
{
    start_queue(what, DEFAULT_QS, false, false);
    desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    desc(1, addr, len, write ? VIRTQ_DESC_F_WRITE : 0, 0);
    avail_add(0);
    expect_guest_error(what);
}

static void test_bad_buffers(void)
{
    bad_buffer("buffer past the end of RAM", RAM2_END, 1, false);
    bad_buffer("buffer crossing the end of RAM", RAM2_END - 4, 8, true);
    bad_buffer("buffer longer than RAM", RAM_BASE, 0xffffffffu, false);
    bad_buffer("buffer spanning two RAM regions", RAM2_BASE - 4, 8, true);
    bad_buffer("buffer in a hole", 0x40000000ull, 16, false);
    bad_buffer("buffer below RAM", RAM_BASE - 8, 16, false);
    bad_buffer("buffer in MMIO", MMIO_BASE, 4, true);
    bad_buffer("buffer in ROM", ROM_BASE, 4, false);
    bad_buffer("buffer address + length wraps", 0xfffffffffffffffcull, 8, false);
    bad_buffer("buffer ends at 2^64", 0xffffffffffffffffull, 1, true);
    bad_buffer("buffer at 2^64 - 4 GiB", 0xffffffff00000000ull, 0xffffffffu, false);

    /* The last byte of RAM is fine; the last byte of the first region too. */
    start_queue("buffer at the end of RAM", DEFAULT_QS, false, false);
    desc(0, RAM2_END - 1, 1, VIRTQ_DESC_F_NEXT, 1);
    desc(1, RAM2_BASE - 1, 1, VIRTQ_DESC_F_WRITE, 0);
    avail_add(0);
    expect_pop(1);
    CHECK(g_elem.sg[0].iov_base == host(RAM2_END - 1, 1));
    CHECK(g_elem.sg[1].iov_base == host(RAM2_BASE - 1, 1));

    /* A buffer in an indirect table is checked the same way. */
    start_queue("indirect: buffer outside RAM", DEFAULT_QS, false, true);
    put_desc(TABLE, 0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
    put_desc(TABLE, 1, RAM2_END - 2, 4, VIRTQ_DESC_F_WRITE, 0);
    desc(0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: buffer outside RAM");
}

static void test_too_many_buffers(void)
{
    /* VIRTQ_MAX_SG buffers in an indirect table are fine, one more is not. */
    for (unsigned extra = 0; extra <= 1; extra++) {
        unsigned n = VIRTQ_MAX_SG + extra;
        const char *what = extra ? "indirect: VIRTQ_MAX_SG + 1 buffers" : "indirect: VIRTQ_MAX_SG";
        start_queue(what, DEFAULT_QS, false, true);
        for (unsigned i = 0; i < n; i++)
            put_desc(TABLE, i, DATA + i, 1, i + 1 < n ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
        desc(0, TABLE, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
        avail_add(0);
        if (extra) {
            expect_guest_error(what);
        } else {
            expect_pop(1);
            CHECK_EQ(g_elem.out_num, VIRTQ_MAX_SG);
            CHECK_EQ(g_elem.out_len, VIRTQ_MAX_SG);
            CHECK(g_elem.sg[VIRTQ_MAX_SG - 1].iov_base == host(DATA + VIRTQ_MAX_SG - 1, 1));
        }
    }

    /* Zero-length entries do not count. */
    start_queue("indirect: VIRTQ_MAX_SG buffers + zero-length entries", DEFAULT_QS, false, true);
    unsigned n = VIRTQ_MAX_SG + 100;
    for (unsigned i = 0; i < n; i++)
        put_desc(TABLE, i, DATA, i % 11 == 5 ? 0 : 1, i + 1 < n ? VIRTQ_DESC_F_NEXT : 0,
                 (uint16_t)(i + 1));
    desc(0, TABLE, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    int r = virtq_pop(&g_vq, &g_elem);
    unsigned zero = 0;
    for (unsigned i = 0; i < n; i++)
        zero += i % 11 == 5;
    CHECK_EQ(r, n - zero <= VIRTQ_MAX_SG ? 1 : -1);
    if (r == 1)
        CHECK_EQ(g_elem.out_num, n - zero);

    /* A direct chain in a big queue: the same limit. */
    for (unsigned extra = 0; extra <= 1; extra++) {
        unsigned len = VIRTQ_MAX_SG + extra;
        const char *what = extra ? "direct: VIRTQ_MAX_SG + 1 buffers" : "direct: VIRTQ_MAX_SG";
        start_queue(what, 2048, false, false);
        for (unsigned i = 0; i < len; i++)
            desc(i, DATA + i, 1, i + 1 < len ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
        avail_add(0);
        if (extra) {
            expect_guest_error(what);
        } else {
            expect_pop(1);
            CHECK_EQ(g_elem.out_num, VIRTQ_MAX_SG);
        }
    }

    /* A large table of zero-length entries in a loop: bounded, and an error. */
    start_queue("indirect: long zero-length loop", DEFAULT_QS, false, true);
    n = 4096;
    for (unsigned i = 0; i < n; i++)
        put_desc(TABLE, i, 0, 0, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % n));
    desc(0, TABLE, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(0);
    expect_guest_error("indirect: long zero-length loop");
}

/*
 * 2.7.5.2: a chain of more than 2^32 - 1 bytes. Needs buffers that really lie in guest RAM,
 * so this builds its own map with 2 GiB + 1 MiB of (lazily allocated) RAM.
 */
static void test_total_length(void)
{
    g_case = "total length";
    const uint64_t base = 0x100000000ull, size = (2ull << 30) + (1ull << 20);
    const uint64_t ring = base + (2ull << 30); /* rings in the last MiB */
    PhysMem pm;
    physmem_init(&pm);
    if (!physmem_add_ram(&pm, "big", base, size)) {
        g_fail++;
        fprintf(stderr, "[%s] cannot map 2 GiB of guest RAM\n", g_case);
        return;
    }
    uint8_t *r = physmem_host_ptr(&pm, ring, 1ull << 20, false);

    struct {
        const char *what;
        uint32_t lens[3];
        bool indirect;
        int expected;
    } cases[] = {
        { "total 2^32 - 1", { 0x80000000u, 0x7fffffffu, 0 }, false, 1 },
        { "total 2^32", { 0x80000000u, 0x7fffffffu, 1 }, false, -1 },
        { "total 2^32 + 2^31", { 0x80000000u, 0x80000000u, 0x80000000u }, false, -1 },
        { "total 2^32 - 1: indirect", { 0x80000000u, 0x7fffffffu, 0 }, true, 1 },
        { "total 2^32: indirect", { 0x80000000u, 0x80000000u, 0 }, true, -1 },
    };
    for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        g_case = cases[c].what;
        memset(r, 0, 1u << 16);
        VirtQueue vq;
        virtq_reset(&vq, &pm, 8);
        vq.desc_addr = ring;
        vq.avail_addr = ring + 0x1000;
        vq.used_addr = ring + 0x2000;
        vq.indirect = cases[c].indirect;
        CHECK(virtq_enable(&vq));
        uint64_t table = cases[c].indirect ? ring + 0x3000 : ring;
        uint32_t off = (uint32_t)(table - ring);
        for (unsigned i = 0; i < 3; i++) {
            uint64_t a = base; /* every buffer at the start of RAM: they may overlap */
            uint32_t len = cases[c].lens[i];
            uint16_t flags = i < 2 ? VIRTQ_DESC_F_NEXT : 0, next = (uint16_t)(i + 1);
            memcpy(r + off + 16 * i, &a, 8);
            memcpy(r + off + 16 * i + 8, &len, 4);
            memcpy(r + off + 16 * i + 12, &flags, 2);
            memcpy(r + off + 16 * i + 14, &next, 2);
        }
        if (cases[c].indirect) {
            uint64_t a = table;
            uint32_t len = 48;
            uint16_t flags = VIRTQ_DESC_F_INDIRECT;
            memcpy(r, &a, 8);
            memcpy(r + 8, &len, 4);
            memcpy(r + 12, &flags, 2);
        }
        uint16_t one = 1;
        memcpy(r + 0x1002, &one, 2); /* avail.idx = 1, ring[0] = 0 */
        VirtqElem *e = malloc(sizeof(*e));
        CHECK_EQ(virtq_pop(&vq, e), cases[c].expected);
        CHECK_EQ(vq.broken, cases[c].expected < 0);
        CHECK_EQ(vq.last_avail_idx, cases[c].expected > 0);
        if (cases[c].expected > 0)
            CHECK_EQ(e->out_len, 0xffffffffu);
        free(e);
    }
    physmem_destroy(&pm);
}

/* After an error the queue stays broken even when the guest repairs the ring; reset heals. */
static void test_broken_sticky(void)
{
    start_queue("broken is sticky", DEFAULT_QS, false, false);
    desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 0);
    avail_add(0);
    expect_guest_error("broken is sticky");
    desc(0, DATA, 4, 0, 0); /* repaired */
    expect_pop(-1);
    virtq_set_notification(&g_vq, false);
    CHECK_EQ(used_flags(), 0);
    virtq_unpop(&g_vq);
    CHECK_EQ(g_vq.last_avail_idx, 0);
    expect_pop(-1);

    /* The driver resets the device and sets the queue up again. */
    virtq_reset(&g_vq, &g_pm, DEFAULT_QS);
    g_vq.desc_addr = DESC;
    g_vq.avail_addr = AVAIL;
    g_vq.used_addr = USED;
    CHECK(virtq_enable(&g_vq));
    expect_pop(1);
    CHECK_EQ(g_elem.out_num, 1);
}

/* ---- iovec helpers ---- */

static void test_iov(void)
{
    g_case = "iov";
    uint8_t a[3], b[1], c[5], buf[16];
    struct iovec iov[3] = { { a, sizeof(a) }, { b, 0 }, { c, sizeof(c) } };
    const uint8_t src[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

    memset(a, 0, sizeof(a));
    memset(c, 0, sizeof(c));
    CHECK_EQ(iov_from_buf(iov, 3, 0, src, 8), 8);
    CHECK(a[0] == 1 && a[2] == 3 && c[0] == 4 && c[4] == 8);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(iov_to_buf(iov, 3, 0, buf, sizeof(buf)), 8); /* iovecs shorter than buf */
    CHECK(memcmp(buf, src, 8) == 0);
    CHECK_EQ(iov_to_buf(iov, 3, 2, buf, 3), 3); /* offset inside the first */
    CHECK(buf[0] == 3 && buf[1] == 4 && buf[2] == 5);
    CHECK_EQ(iov_to_buf(iov, 3, 3, buf, 16), 5); /* offset at a boundary */
    CHECK_EQ(buf[0], 4);
    CHECK_EQ(iov_to_buf(iov, 3, 7, buf, 16), 1);
    CHECK_EQ(buf[0], 8);
    CHECK_EQ(iov_to_buf(iov, 3, 8, buf, 16), 0); /* offset at the end */
    CHECK_EQ(iov_to_buf(iov, 3, 100, buf, 16), 0);
    CHECK_EQ(iov_to_buf(iov, 0, 0, buf, 16), 0);
    CHECK_EQ(iov_to_buf(iov, 3, 0, NULL, 0), 0);
    CHECK_EQ(iov_from_buf(iov, 3, 4, src, 8), 4);
    CHECK(c[1] == 1 && c[4] == 4 && c[0] == 4);
    CHECK_EQ(iov_from_buf(iov, 1, 0, src, 8), 3); /* n limits */
}

/* ---- Driver and device on two threads ---- */

#define STRESS_QS       64
#define STRESS_REQUESTS 200000u

static _Atomic int g_stress_failed;

/* The device: pop, check the request, answer with request * 3, push, repeat. */
static void *stress_device(void *arg)
{
    (void)arg;
    VirtqElem *e = malloc(sizeof(*e));
    uint32_t expect = 0;
    while (expect < STRESS_REQUESTS && !g_stress_failed) {
        int r = virtq_pop(&g_vq, e);
        if (r == 0) {
            sched_yield();
            continue;
        }
        uint32_t req = 0, reply;
        if (r != 1 || e->out_num != 1 || e->in_num != 1 ||
            iov_to_buf(virtq_elem_out(e), 1, 0, &req, 4) != 4 || req != expect) {
            fprintf(stderr, "[stress] device: pop %d, request %u, expected %u\n", r, req, expect);
            g_stress_failed = 1;
            break;
        }
        reply = req * 3;
        iov_from_buf(virtq_elem_in(e), 1, 0, &reply, 4);
        virtq_push(&g_vq, e, 4);
        expect++;
    }
    free(e);
    return NULL;
}

/*
 * The driver, as Linux's virtio_ring does it: two descriptors per request from a free list,
 * release-store avail.idx, acquire-load used.idx to collect replies.
 */
static void test_stress(void)
{
    start_queue("two threads", STRESS_QS, false, false);
    uint16_t *avail_idx_p = (uint16_t *)host(AVAIL + 2, 2);
    uint16_t *used_idx_p = (uint16_t *)host(USED + 2, 2);
    uint16_t free_heads[STRESS_QS / 2];
    unsigned nfree = 0;
    for (unsigned i = 0; i < STRESS_QS / 2; i++)
        free_heads[nfree++] = (uint16_t)(2 * i);
    uint16_t last_used = 0;
    uint32_t sent = 0, done = 0;

    pthread_t t;
    pthread_create(&t, NULL, stress_device, NULL);
    while (done < STRESS_REQUESTS && !g_stress_failed) {
        uint16_t u = __atomic_load_n(used_idx_p, __ATOMIC_ACQUIRE);
        while (last_used != u) {
            uint16_t slot = last_used % STRESS_QS;
            uint32_t id = used_id(slot), len = used_len(slot), reply = r32(DATA + 0x100 * id + 8);
            uint32_t req = r32(DATA + 0x100 * id);
            if (id >= STRESS_QS || id % 2 || len != 4 || reply != req * 3) {
                fprintf(stderr, "[stress] driver: id %u len %u req %u reply %u\n", id, len, req,
                        reply);
                g_stress_failed = 1;
                break;
            }
            free_heads[nfree++] = (uint16_t)id;
            last_used++;
            done++;
        }
        while (nfree && sent < STRESS_REQUESTS) {
            uint16_t h = free_heads[--nfree];
            w32(DATA + 0x100 * h, sent);
            w32(DATA + 0x100 * h + 8, 0);
            desc(h, DATA + 0x100 * h, 4, VIRTQ_DESC_F_NEXT, (uint16_t)(h + 1));
            desc(h + 1u, DATA + 0x100 * h + 8, 4, VIRTQ_DESC_F_WRITE, 0);
            w16(AVAIL + 4 + 2ull * (g_avail_idx % STRESS_QS), h);
            g_avail_idx++;
            __atomic_store_n(avail_idx_p, g_avail_idx, __ATOMIC_RELEASE);
            sent++;
        }
        sched_yield();
    }
    pthread_join(t, NULL);
    CHECK(!g_stress_failed);
    CHECK_EQ(done, STRESS_REQUESTS);
    CHECK(!g_vq.broken);
}

/* physmem_dma_written: only pages marked as holding code are reported, each once. */
static uint64_t g_code_pages[8];
static unsigned g_ncode_pages;

static void code_written(void *opaque, uint64_t paddr)
{
    (void)opaque;
    if (g_ncode_pages < 8)
        g_code_pages[g_ncode_pages] = paddr;
    g_ncode_pages++;
}

static void test_dma_written(void)
{
    g_case = "dma written";
    MemRegion *r = physmem_find(&g_pm, RAM_BASE);
    CHECK(r != NULL);
    if (!r)
        return;
    g_pm.code_written = code_written;
    /* Pages 3 and 5 of RAM hold translated code. */
    r->code_bitmap[0] |= (1u << 3) | (1u << 5);
    g_ncode_pages = 0;
    /* Pages 2..4 (a write straddling page boundaries): only page 3 is reported. */
    physmem_dma_written(&g_pm, host(RAM_BASE + 0x2ff0, 0x2000), 0x2000);
    CHECK_EQ(g_ncode_pages, 1);
    CHECK_EQ(g_code_pages[0], RAM_BASE + 0x3000);
    /* A write inside page 4 only: nothing. Zero length: nothing. */
    physmem_dma_written(&g_pm, host(RAM_BASE + 0x4000, 16), 16);
    physmem_dma_written(&g_pm, host(RAM_BASE + 0x5000, 16), 0);
    CHECK_EQ(g_ncode_pages, 1);
    /* Pages 3..5: both code pages. */
    physmem_dma_written(&g_pm, host(RAM_BASE + 0x3000, 0x3000), 0x3000);
    CHECK_EQ(g_ncode_pages, 3);
    CHECK_EQ(g_code_pages[1], RAM_BASE + 0x3000);
    CHECK_EQ(g_code_pages[2], RAM_BASE + 0x5000);
    /* A pointer that is not guest RAM is ignored. */
    static uint8_t not_ram[64];
    physmem_dma_written(&g_pm, not_ram, sizeof(not_ram));
    CHECK_EQ(g_ncode_pages, 3);
    r->code_bitmap[0] &= (uint8_t) ~((1u << 3) | (1u << 5));
    g_pm.code_written = NULL;
}

int main(void)
{
    physmem_init(&g_pm);
    if (!physmem_add_ram(&g_pm, "ram", RAM_BASE, RAM_SIZE) ||
        !physmem_add_ram(&g_pm, "ram2", RAM2_BASE, RAM2_SIZE) ||
        !physmem_add_rom(&g_pm, "rom", ROM_BASE, 0x1000, NULL, 0) ||
        !physmem_add_mmio(&g_pm, "mmio", MMIO_BASE, 0x1000, &mmio_ops, NULL)) {
        fprintf(stderr, "cannot build the guest memory map\n");
        return 2;
    }

    test_enable();
    test_reset();
    test_empty();
    test_chain();
    test_several_chains();
    test_zero_length();
    test_indirect();
    test_unpop();
    test_wrap();
    test_no_interrupt_flag();
    test_event_idx();
    test_set_notification();
    test_reset_in_flight();
    test_loops();
    test_bad_indexes();
    test_bad_indirect();
    test_bad_order();
    test_bad_buffers();
    test_too_many_buffers();
    test_total_length();
    test_broken_sticky();
    test_iov();
    test_stress();
    test_dma_written();

    physmem_destroy(&g_pm);
    printf("virtqueue: %d checks passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
