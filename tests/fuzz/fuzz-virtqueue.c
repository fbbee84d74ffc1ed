/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the split virtqueue (engine/virtio/virtqueue.c): the input is a
 * hostile driver's guest RAM.
 *
 * Input layout (little-endian):
 *   [0]      queue size: bit 7 clear: 1 << (v % 9); bit 7 set: v & 0x7f as is (maybe invalid)
 *   [1]      bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 unpop and pop again each chain,
 *            bit 3 set_notification(false) before / (true) after the pops,
 *            bit 4 ring addresses from [4..15] instead of packed at the start of RAM,
 *            bit 5 reset with the last chain in flight, then push it
 *   [2..3]   initial last_avail_idx and used_idx (16-bit wrap-around)
 *   [4..15]  with bit 4: desc, avail and used offsets from the start of RAM (le32 each)
 *   [16..]   the first RAM region's contents (RAM0, 64 KiB; the rest is zero)
 * Guest map: RAM0 at 0x10000 (64 KiB), RAM1 right after it (4 KiB, zero), nothing else.
 * Without bit 4 the rings are packed: desc at RAM0, avail right after the table, used after
 * that (4-aligned), so small inputs reach into every ring.
 *
 * Each input: enable, pop until empty or error (bounded), check every popped element
 * against the invariants and against a simple reference walk of the same memory, copy
 * through the iovecs, push, and ask about notifications.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtio.h"

#define RAM0_BASE 0x10000ull
#define RAM0_SIZE 0x10000ull
#define RAM1_BASE (RAM0_BASE + RAM0_SIZE)
#define RAM1_SIZE 0x1000ull
#define HEADER    16u
#define MAX_SIZE  256u

static PhysMem pm;
static uint8_t *ram0, *ram1;
static VirtqElem elem;
static uint8_t scratch[RAM0_SIZE];

#define FUZZ_ASSERT(cond)                                                                \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static void setup_once(void)
{
    if (ram0)
        return;
    physmem_init(&pm);
    if (!physmem_add_ram(&pm, "ram0", RAM0_BASE, RAM0_SIZE) ||
        !physmem_add_ram(&pm, "ram1", RAM1_BASE, RAM1_SIZE))
        abort();
    ram0 = physmem_host_ptr(&pm, RAM0_BASE, RAM0_SIZE, false);
    ram1 = physmem_host_ptr(&pm, RAM1_BASE, RAM1_SIZE, false);
}

/* ---- The reference: the spec's rules as one plain loop over a guest map of two regions ---- */

static const uint8_t *ref_map(uint64_t gpa, uint64_t len)
{
    if (gpa >= RAM0_BASE && gpa - RAM0_BASE < RAM0_SIZE && len <= RAM0_SIZE - (gpa - RAM0_BASE))
        return ram0 + (gpa - RAM0_BASE);
    if (gpa >= RAM1_BASE && gpa - RAM1_BASE < RAM1_SIZE && len <= RAM1_SIZE - (gpa - RAM1_BASE))
        return ram1 + (gpa - RAM1_BASE);
    return NULL;
}

static bool ref_load(uint64_t gpa, void *dst, unsigned len)
{
    const uint8_t *p = ref_map(gpa, len);
    if (!p)
        return false;
    memcpy(dst, p, len);
    return true;
}

typedef struct Expect {
    int result;
    uint16_t head;
    unsigned out_num, in_num;
    uint64_t out_len, in_len;
    const void *base[VIRTQ_MAX_SG];
} Expect;

static Expect expect;

static void ref_pop(const VirtQueue *vq, Expect *x)
{
    memset(x, 0, offsetof(Expect, base));
    x->result = -1;
    if (vq->broken)
        return;
    x->result = 0;
    if (!vq->ready)
        return;
    x->result = -1;

    uint16_t avail_idx, head;
    if (!ref_load(vq->avail_addr + 2, &avail_idx, 2))
        return;
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail_idx);
    if (pending == 0) {
        x->result = 0;
        return;
    }
    if (pending > vq->size ||
        !ref_load(vq->avail_addr + 4 + 2ull * (vq->last_avail_idx % vq->size), &head, 2) ||
        head >= vq->size)
        return;
    x->head = head;

    uint64_t table = vq->desc_addr, total = 0;
    uint32_t entries = vq->size, limit = vq->size, steps = 0, i = head;
    bool in_table = false, seen_write = false;
    for (;;) {
        if (++steps > limit)
            return;
        uint8_t raw[16];
        uint64_t addr;
        uint32_t len;
        uint16_t flags, next;
        if (!ref_load(table + 16ull * i, raw, 16))
            return;
        memcpy(&addr, raw, 8);
        memcpy(&len, raw + 8, 4);
        memcpy(&flags, raw + 12, 2);
        memcpy(&next, raw + 14, 2);
        if (flags & VIRTQ_DESC_F_INDIRECT) {
            if (in_table || !vq->indirect || (flags & VIRTQ_DESC_F_NEXT) || len == 0 || len % 16 ||
                !ref_map(addr, len))
                return;
            table = addr;
            entries = len / 16;
            limit = entries < VIRTQ_MAX_SIZE ? entries : VIRTQ_MAX_SIZE;
            steps = 0;
            i = 0;
            in_table = true;
            continue;
        }
        bool write = flags & VIRTQ_DESC_F_WRITE;
        if (!write && seen_write)
            return;
        seen_write |= write;
        if (len) {
            total += len;
            const uint8_t *p = ref_map(addr, len);
            if (total > UINT32_MAX || x->out_num + x->in_num == VIRTQ_MAX_SG || !p)
                return;
            x->base[x->out_num + x->in_num] = p;
            if (write) {
                x->in_num++;
                x->in_len += len;
            } else {
                x->out_num++;
                x->out_len += len;
            }
        }
        if (!(flags & VIRTQ_DESC_F_NEXT))
            break;
        if (next >= entries)
            return;
        i = next;
    }
    x->result = 1;
}

/* ---- Checks on what the device produced ---- */

static bool inside(const void *base, size_t len, const uint8_t *region, uint64_t size)
{
    const uint8_t *p = base;
    return p >= region && p < region + size && len <= (size_t)(region + size - p);
}

static void check_elem(const VirtQueue *vq, const VirtqElem *e)
{
    FUZZ_ASSERT(e->head < vq->size);
    FUZZ_ASSERT(e->out_num <= VIRTQ_MAX_SG && e->in_num <= VIRTQ_MAX_SG - e->out_num);
    uint64_t out_len = 0, in_len = 0;
    for (unsigned i = 0; i < e->out_num + e->in_num; i++) {
        const struct iovec *v = &e->sg[i];
        FUZZ_ASSERT(v->iov_len > 0);
        FUZZ_ASSERT(inside(v->iov_base, v->iov_len, ram0, RAM0_SIZE) ||
                    inside(v->iov_base, v->iov_len, ram1, RAM1_SIZE));
        if (i < e->out_num)
            out_len += v->iov_len;
        else
            in_len += v->iov_len;
    }
    FUZZ_ASSERT(out_len == e->out_len && in_len == e->in_len);
    FUZZ_ASSERT(out_len + in_len <= UINT32_MAX);

    /* The same answer as the reference walk. */
    FUZZ_ASSERT(e->head == expect.head);
    FUZZ_ASSERT(e->out_num == expect.out_num && e->in_num == expect.in_num);
    FUZZ_ASSERT(e->out_len == expect.out_len && e->in_len == expect.in_len);
    for (unsigned i = 0; i < e->out_num + e->in_num; i++)
        FUZZ_ASSERT(e->sg[i].iov_base == expect.base[i]);
}

/* Use the buffers as a device would: read the request, write a reply. */
static uint32_t use_buffers(VirtqElem *e)
{
    size_t want = e->out_len < sizeof(scratch) ? e->out_len : sizeof(scratch);
    FUZZ_ASSERT(iov_to_buf(virtq_elem_out(e), e->out_num, 0, scratch, sizeof(scratch)) == want);
    size_t half = e->out_len / 2, tail = e->out_len - half < 100 ? e->out_len - half : 100;
    FUZZ_ASSERT(iov_to_buf(virtq_elem_out(e), e->out_num, half, scratch, 100) == tail);

    size_t reply = e->in_len < sizeof(scratch) ? e->in_len : sizeof(scratch);
    memset(scratch, 0xa5, reply);
    FUZZ_ASSERT(iov_from_buf(virtq_elem_in(e), e->in_num, 0, scratch, reply) == reply);
    return (uint32_t)reply;
}

static uint16_t guest16(uint64_t gpa)
{
    uint16_t v = 0;
    FUZZ_ASSERT(ref_load(gpa, &v, 2));
    return v;
}

static uint32_t guest32(uint64_t gpa)
{
    uint32_t v = 0;
    FUZZ_ASSERT(ref_load(gpa, &v, 4));
    return v;
}

static void push_and_check(VirtQueue *vq, VirtqElem *e, uint32_t written)
{
    uint16_t slot = vq->used_idx % vq->size;
    uint16_t next = (uint16_t)(vq->used_idx + 1);
    virtq_push(vq, e, written);
    FUZZ_ASSERT(vq->used_idx == next);
    /* The element (which never overlaps used.idx) and then the index. */
    FUZZ_ASSERT(guest16(vq->used_addr + 2) == next);
    FUZZ_ASSERT(guest32(vq->used_addr + 4 + 8ull * slot) == e->head);
    FUZZ_ASSERT(guest32(vq->used_addr + 8 + 8ull * slot) == written);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    setup_once();
    memset(ram0, 0, RAM0_SIZE);
    memset(ram1, 0, RAM1_SIZE);
    memcpy(ram0, data + HEADER, size - HEADER < RAM0_SIZE ? size - HEADER : RAM0_SIZE);

    uint8_t flags = data[1];
    uint16_t start;
    uint32_t offs[3];
    memcpy(&start, data + 2, 2);
    memcpy(offs, data + 4, 12);

    VirtQueue vq;
    virtq_reset(&vq, &pm, MAX_SIZE);
    FUZZ_ASSERT(!vq.ready && vq.size == MAX_SIZE);
    vq.size = (data[0] & 0x80) ? data[0] & 0x7f : (uint16_t)(1u << (data[0] % 9));
    vq.event_idx = flags & 1;
    vq.indirect = flags & 2;
    if (flags & 16) {
        vq.desc_addr = RAM0_BASE + offs[0];
        vq.avail_addr = RAM0_BASE + offs[1];
        vq.used_addr = RAM0_BASE + offs[2];
    } else {
        vq.desc_addr = RAM0_BASE;
        vq.avail_addr = vq.desc_addr + 16ull * vq.size;
        vq.used_addr = (vq.avail_addr + 6 + 2ull * vq.size + 3) & ~3ull;
    }
    bool ok = virtq_enable(&vq);
    FUZZ_ASSERT(ok == vq.ready);
    bool valid =
        vq.size && !(vq.size & (vq.size - 1)) && vq.size <= MAX_SIZE && !(vq.desc_addr & 15) &&
        !(vq.avail_addr & 1) && !(vq.used_addr & 3) && ref_map(vq.desc_addr, 16ull * vq.size) &&
        ref_map(vq.avail_addr, 6 + 2ull * vq.size) && ref_map(vq.used_addr, 6 + 8ull * vq.size);
    FUZZ_ASSERT(ok == valid);
    if (!ok) {
        FUZZ_ASSERT(virtq_pop(&vq, &elem) == 0);
        FUZZ_ASSERT(!virtq_should_notify(&vq));
        return 0;
    }
    vq.last_avail_idx = vq.used_idx = start;

    if (flags & 8)
        virtq_set_notification(&vq, false);
    /* The ring holds at most `size` chains; unpopping repeats one. */
    for (unsigned n = 0; n <= vq.size; n++) {
        uint16_t last = vq.last_avail_idx;
        ref_pop(&vq, &expect);
        int r = virtq_pop(&vq, &elem);
        FUZZ_ASSERT(r == expect.result);
        if (r <= 0) {
            FUZZ_ASSERT(vq.last_avail_idx == last);
            FUZZ_ASSERT(vq.broken == (r < 0));
            if (r < 0)
                FUZZ_ASSERT(virtq_pop(&vq, &elem) == -1);
            break;
        }
        FUZZ_ASSERT(vq.last_avail_idx == (uint16_t)(last + 1));
        FUZZ_ASSERT(!vq.broken);
        check_elem(&vq, &elem);
        if (vq.event_idx)
            FUZZ_ASSERT(guest16(vq.used_addr + 4 + 8ull * vq.size) == vq.last_avail_idx);

        if (flags & 4) {
            virtq_unpop(&vq);
            FUZZ_ASSERT(vq.last_avail_idx == last);
            ref_pop(&vq, &expect); /* pop wrote avail_event: the memory may have changed */
            r = virtq_pop(&vq, &elem);
            FUZZ_ASSERT(r == expect.result);
            if (r < 0)
                break;
            check_elem(&vq, &elem);
        }

        uint32_t written = use_buffers(&elem);
        if ((flags & 32) && n == 0) {
            /* Reset with the chain in flight: nothing reaches the guest afterwards. */
            uint16_t used = guest16(vq.used_addr + 2);
            uint64_t used_addr = vq.used_addr;
            virtq_reset(&vq, &pm, MAX_SIZE);
            virtq_push(&vq, &elem, written);
            FUZZ_ASSERT(guest16(used_addr + 2) == used);
            FUZZ_ASSERT(!virtq_should_notify(&vq));
            FUZZ_ASSERT(virtq_pop(&vq, &elem) == 0);
            return 0;
        }
        push_and_check(&vq, &elem, written);
        virtq_should_notify(&vq);
    }
    if (flags & 8)
        virtq_set_notification(&vq, true);
    if (!vq.broken)
        virtq_should_notify(&vq);
    return 0;
}
