/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue, device side (virtio 1.2, 2.7).
 *
 * The rings and every buffer live in guest RAM, which the driver on another vCPU thread may
 * change at any moment. So:
 *  - every access goes through physmem_host_ptr() for exactly the bytes touched, with the
 *    range checked for wrap-around first, so nothing outside guest RAM is ever reached;
 *  - a descriptor is copied out of guest memory once and only the copy is validated and
 *    used (the driver cannot change it between check and use);
 *  - avail.idx is loaded with acquire semantics (the ring entries and descriptors the driver
 *    wrote before publishing it are then visible) and used.idx is stored with release
 *    semantics (the used element and the buffer contents are visible before it);
 *  - every walk is bounded: by the queue size in the descriptor table, by the entry count
 *    of an indirect table, and by VIRTQ_MAX_SG mapped buffers.
 *
 * Ring fields are little-endian (2.7: "le16", "le32"); the le*toh/htole* conversions are
 * no-ops on the little-endian hosts we run on but keep the layout explicit.
 *
 * Ring layout (2.7):
 *   descriptor table  16 * size          { le64 addr; le32 len; le16 flags; le16 next; }
 *   available ring    6 + 2 * size       { le16 flags; le16 idx; le16 ring[size]; le16 used_event;
 * } used ring         6 + 8 * size       { le16 flags; le16 idx; { le32 id; le32 len; }[size]; le16
 * avail_event; }
 *
 * Notification protocol the devices follow: on a kick, virtq_set_notification(false),
 * pop and process until empty, virtq_set_notification(true), then pop once more (the driver
 * may have added a buffer just before notifications were re-enabled). After pushing,
 * interrupt the driver only when virtq_should_notify() says so.
 */
#include <endian.h>
#include <string.h>

#include "virtio/virtio.h"

#define DESC_SIZE   16u

#define AVAIL_FLAGS 0u
#define AVAIL_IDX   2u
#define AVAIL_RING  4u /* le16 ring[size], then le16 used_event */

#define USED_FLAGS  0u
#define USED_IDX    2u
#define USED_RING   4u /* { le32 id; le32 len; }[size], then le16 avail_event */
#define USED_ELEM   8u

/* One descriptor, copied out of guest memory and converted to host order. */
typedef struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} Desc;

/* State of one chain walk: what was mapped so far. */
typedef struct ChainWalk {
    VirtqElem *elem;
    uint64_t total;  /* bytes in all buffers, at most UINT32_MAX */
    bool seen_write; /* a device-writable descriptor was seen */
} ChainWalk;

/* ---- Guest memory access ---- */

/*
 * Host pointer for guest [addr, addr + len), or NULL when the range wraps around the address
 * space or is not entirely inside one RAM region. ROM is refused: the device writes the used
 * ring and device-writable buffers, and reads from ROM are no use to any driver.
 */
static void *guest_ptr(const VirtQueue *vq, uint64_t addr, uint64_t len)
{
    uint64_t end;
    if (__builtin_add_overflow(addr, len, &end))
        return NULL;
    return physmem_host_ptr(vq->mem, addr, len, false);
}

/* Address of element `index` of `elem_size` bytes after `base + header`, overflow-checked. */
static bool ring_addr(uint64_t base, uint64_t header, uint64_t index, uint64_t elem_size,
                      uint64_t *addr)
{
    uint64_t off;
    if (__builtin_mul_overflow(index, elem_size, &off) ||
        __builtin_add_overflow(off, header, &off) || __builtin_add_overflow(base, off, addr))
        return false;
    return true;
}

/*
 * 16-bit ring fields. virtq_enable checked the alignment of each ring (avail 2, used 4) and
 * guest RAM regions are page-aligned in host memory too, so these pointers are naturally
 * aligned for the atomic accesses.
 */
static bool load16(const VirtQueue *vq, uint64_t addr, int order, uint16_t *val)
{
    uint16_t *p = guest_ptr(vq, addr, sizeof(*p));
    if (!p)
        return false;
    *val = le16toh(__atomic_load_n(p, order));
    return true;
}

static bool store16(const VirtQueue *vq, uint64_t addr, int order, uint16_t val)
{
    uint16_t *p = guest_ptr(vq, addr, sizeof(*p));
    if (!p)
        return false;
    __atomic_store_n(p, htole16(val), order);
    return true;
}

/*
 * Copy descriptor `index` of the table at `table` out of guest memory. Indirect tables have
 * no alignment requirement, so the copy is a memcpy; the compiler barrier after it keeps the
 * compiler from re-reading guest memory instead of using the copy (the driver may be
 * rewriting the descriptor right now).
 */
static bool desc_read(const VirtQueue *vq, uint64_t table, uint32_t index, Desc *d)
{
    uint64_t addr;
    if (!ring_addr(table, 0, index, DESC_SIZE, &addr))
        return false;
    const uint8_t *p = guest_ptr(vq, addr, DESC_SIZE);
    if (!p)
        return false;
    uint8_t raw[DESC_SIZE];
    memcpy(raw, p, sizeof(raw));
    __atomic_signal_fence(__ATOMIC_SEQ_CST);

    uint64_t a;
    uint32_t l;
    uint16_t f, n;
    memcpy(&a, raw + 0, 8);
    memcpy(&l, raw + 8, 4);
    memcpy(&f, raw + 12, 2);
    memcpy(&n, raw + 14, 2);
    d->addr = le64toh(a);
    d->len = le32toh(l);
    d->flags = le16toh(f);
    d->next = le16toh(n);
    return true;
}

static uint64_t avail_ring_entry(const VirtQueue *vq, uint16_t slot)
{
    return vq->avail_addr + AVAIL_RING + 2ull * slot;
}

static uint64_t used_event_addr(const VirtQueue *vq)
{
    return avail_ring_entry(vq, vq->size);
}

static uint64_t avail_event_addr(const VirtQueue *vq)
{
    return vq->used_addr + USED_RING + (uint64_t)USED_ELEM * vq->size;
}

/* ---- Queue setup ---- */

void virtq_reset(VirtQueue *vq, PhysMem *mem, uint16_t max_size)
{
    memset(vq, 0, sizeof(*vq));
    vq->mem = mem;
    vq->max_size = max_size;
    vq->size = max_size;
}

static bool is_power_of_2(unsigned v)
{
    return v && !(v & (v - 1));
}

bool virtq_enable(VirtQueue *vq)
{
    vq->ready = false;
    unsigned size = vq->size;
    if (!vq->mem || !is_power_of_2(size) || size > vq->max_size || size > VIRTQ_MAX_SIZE)
        return false;
    /* 2.7: alignment 16 / 2 / 4. */
    if ((vq->desc_addr & 15) || (vq->avail_addr & 1) || (vq->used_addr & 3))
        return false;
    if (!guest_ptr(vq, vq->desc_addr, (uint64_t)DESC_SIZE * size) ||
        !guest_ptr(vq, vq->avail_addr, 6 + 2ull * size) ||
        !guest_ptr(vq, vq->used_addr, 6 + (uint64_t)USED_ELEM * size))
        return false;
    vq->ready = true;
    return true;
}

/* ---- Chain walk ---- */

/* Map one buffer (a non-indirect descriptor) into the element. */
static bool add_buffer(const VirtQueue *vq, ChainWalk *w, const Desc *d)
{
    VirtqElem *e = w->elem;
    bool write = d->flags & VIRTQ_DESC_F_WRITE;

    /* 2.7.4.2: device-writable descriptors come after all device-readable ones. */
    if (!write && w->seen_write)
        return false;
    w->seen_write |= write;

    /* Zero-length buffers are legal but carry nothing: not mapped, not counted. */
    if (d->len == 0)
        return true;
    /* 2.7.5.2 forbids chains over 2^32 bytes; 2^32 - 1 keeps any total within the used
     * ring's le32 len. */
    w->total += d->len;
    if (w->total > UINT32_MAX)
        return false;
    if (e->out_num + e->in_num >= VIRTQ_MAX_SG)
        return false;
    /*
     * The buffer must lie inside one RAM region. A buffer spanning two adjacent RAM regions
     * is refused rather than split into two iovecs: no driver creates one on our boards
     * (guest RAM is a single region) and refusing keeps one descriptor = one iovec.
     */
    void *p = guest_ptr(vq, d->addr, d->len);
    if (!p)
        return false;

    struct iovec *iov = &e->sg[e->out_num + e->in_num];
    iov->iov_base = p;
    iov->iov_len = d->len;
    if (write) {
        e->in_num++;
        e->in_len += d->len;
    } else {
        e->out_num++;
        e->out_len += d->len;
    }
    return true;
}

/*
 * Walk the indirect table `table` refers to (2.7.5.3). The descriptor referring to it has
 * been checked by the caller (feature negotiated, no NEXT); its WRITE flag is ignored.
 */
static bool walk_indirect(const VirtQueue *vq, const Desc *table, ChainWalk *w)
{
    if (table->len == 0 || table->len % DESC_SIZE)
        return false;
    if (!guest_ptr(vq, table->addr, table->len))
        return false;
    uint32_t count = table->len / DESC_SIZE;
    /*
     * A chain may not be longer than the queue size (2.7.5.3.1), which is at most
     * VIRTQ_MAX_SIZE: that caps the walk of a huge table full of zero-length entries.
     */
    uint32_t limit = count < VIRTQ_MAX_SIZE ? count : VIRTQ_MAX_SIZE;
    uint32_t index = 0;

    for (uint32_t n = 1;; n++) {
        if (n > limit)
            return false; /* a loop inside the table */
        Desc d;
        if (!desc_read(vq, table->addr, index, &d))
            return false;
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            return false; /* nested tables are forbidden */
        if (!add_buffer(vq, w, &d))
            return false;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return true;
        if (d.next >= count)
            return false;
        index = d.next;
    }
}

/*
 * Walk the chain starting at `head` in the descriptor table: zero or more direct descriptors,
 * possibly ending with one that refers to an indirect table (2.7.5.3.2).
 */
static bool walk_chain(const VirtQueue *vq, uint16_t head, ChainWalk *w)
{
    uint16_t index = head;

    for (unsigned n = 1;; n++) {
        if (n > vq->size)
            return false; /* more descriptors than the table holds: a loop */
        Desc d;
        if (!desc_read(vq, vq->desc_addr, index, &d))
            return false;
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            /* 2.7.5.3.1: only when negotiated, never together with NEXT. */
            if (!vq->indirect || (d.flags & VIRTQ_DESC_F_NEXT))
                return false;
            return walk_indirect(vq, &d, w);
        }
        if (!add_buffer(vq, w, &d))
            return false;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return true;
        if (d.next >= vq->size)
            return false;
        index = d.next;
    }
}

static int queue_error(VirtQueue *vq, VirtqElem *elem)
{
    vq->broken = true;
    elem->out_num = elem->in_num = 0;
    elem->out_len = elem->in_len = 0;
    return -1;
}

int virtq_pop(VirtQueue *vq, VirtqElem *elem)
{
    if (vq->broken)
        return -1;
    if (!vq->ready)
        return 0;

    /* Acquire: the ring entry and descriptors written before avail.idx are visible. */
    uint16_t avail_idx;
    if (!load16(vq, vq->avail_addr + AVAIL_IDX, __ATOMIC_ACQUIRE, &avail_idx))
        return queue_error(vq, elem);
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail_idx);
    if (pending == 0)
        return 0;
    if (pending > vq->size)
        return queue_error(vq, elem); /* avail.idx ran more than a ring ahead */

    uint16_t head;
    uint16_t slot = vq->last_avail_idx & (vq->size - 1);
    if (!load16(vq, avail_ring_entry(vq, slot), __ATOMIC_RELAXED, &head) || head >= vq->size)
        return queue_error(vq, elem);

    elem->head = head;
    elem->out_num = elem->in_num = 0;
    elem->out_len = elem->in_len = 0;
    ChainWalk w = { .elem = elem };
    if (!walk_chain(vq, head, &w))
        return queue_error(vq, elem);

    vq->last_avail_idx++;
    /*
     * As QEMU does: with EVENT_IDX ask for a kick once the driver adds past what we have
     * consumed, so a device that never calls virtq_set_notification still gets kicks.
     */
    if (vq->event_idx && !store16(vq, avail_event_addr(vq), __ATOMIC_RELAXED, vq->last_avail_idx))
        vq->broken = true; /* cannot happen: virtq_enable checked the used ring */
    return 1;
}

/* ---- Completion and notification ---- */

void virtq_fill(VirtQueue *vq, const VirtqElem *elem, uint32_t written, unsigned i)
{
    /* Not after a reset (nothing may reach the guest) nor on a queue found broken. */
    if (!vq->ready || vq->broken)
        return;

    /* Never claim more than the writable buffers hold (2.7.8.2). */
    if (written > elem->in_len)
        written = (uint32_t)elem->in_len;

    uint16_t slot = (uint16_t)(vq->used_idx + i) & (vq->size - 1);
    uint64_t addr = vq->used_addr + USED_RING + (uint64_t)USED_ELEM * slot;
    uint32_t *p = guest_ptr(vq, addr, USED_ELEM);
    if (!p) {
        vq->broken = true;
        return;
    }
    __atomic_store_n(&p[0], htole32(elem->head), __ATOMIC_RELAXED);
    __atomic_store_n(&p[1], htole32(written), __ATOMIC_RELAXED);
}

void virtq_flush(VirtQueue *vq, unsigned count)
{
    if (!vq->ready || vq->broken || !count)
        return;
    uint16_t old = vq->used_idx;
    uint16_t new = (uint16_t)(old + count);
    vq->used_idx = new;
    /* Release: len, id and the buffer contents are visible before the new used.idx. */
    if (!store16(vq, vq->used_addr + USED_IDX, __ATOMIC_RELEASE, new)) {
        vq->broken = true;
        return;
    }
    /*
     * If used.idx went all the way round since the last interrupt, signalled_used no longer
     * tells where we were: the next check must notify (as QEMU's virtqueue_flush).
     */
    if ((int16_t)(uint16_t)(new - vq->signalled_used) < (uint16_t)(new - old))
        vq->signalled_used_valid = false;
}

void virtq_push(VirtQueue *vq, const VirtqElem *elem, uint32_t written)
{
    virtq_fill(vq, elem, written, 0);
    virtq_flush(vq, 1);
}

void virtq_unpop(VirtQueue *vq)
{
    if (!vq->ready || vq->broken)
        return; /* a reset came in between (the indexes start over), or nothing pops anyway */
    vq->last_avail_idx--;
}

/* The spec's vring_need_event (2.7.7.2): did the used idx move from `old` to `new` past
 * `event`, i.e. was entry `event` written? All in 16-bit wrap-around arithmetic. */
static bool need_event(uint16_t event, uint16_t new, uint16_t old)
{
    return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool virtq_should_notify(VirtQueue *vq)
{
    if (!vq->ready || vq->broken)
        return false;
    /*
     * Full barrier: the used.idx store must be visible to the driver before we read what
     * it asked for; otherwise the driver may read the old idx, re-enable interrupts, and
     * we read the old flags/event and both wait forever.
     */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    if (!vq->event_idx) {
        uint16_t flags;
        if (!load16(vq, vq->avail_addr + AVAIL_FLAGS, __ATOMIC_RELAXED, &flags))
            return false;
        return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }

    uint16_t used_event;
    if (!load16(vq, used_event_addr(vq), __ATOMIC_RELAXED, &used_event))
        return false;
    bool valid = vq->signalled_used_valid;
    uint16_t old = vq->signalled_used;
    uint16_t new = vq->used_idx;
    vq->signalled_used = new;
    vq->signalled_used_valid = true;
    return !valid || need_event(used_event, new, old);
}

void virtq_set_notification(VirtQueue *vq, bool enable)
{
    if (!vq->ready || vq->broken)
        return;
    bool ok;
    if (vq->event_idx) {
        /* With EVENT_IDX used.flags stays 0 (2.7.10); avail_event asks for the next kick.
         * Disabling leaves avail_event where it is: the driver kicks at most once more. */
        if (!enable)
            return;
        uint16_t avail_idx;
        ok = load16(vq, vq->avail_addr + AVAIL_IDX, __ATOMIC_ACQUIRE, &avail_idx) &&
             store16(vq, avail_event_addr(vq), __ATOMIC_RELAXED, avail_idx);
    } else {
        ok = store16(vq, vq->used_addr + USED_FLAGS, __ATOMIC_RELAXED,
                     enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
    }
    if (!ok) {
        vq->broken = true;
        return;
    }
    /* The caller checks the ring again next: the driver must see the request first. */
    if (enable)
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
