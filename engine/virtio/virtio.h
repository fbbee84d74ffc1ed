/* SPDX-License-Identifier: MIT */
/*
 * virtio 1.2 core shared by every device and transport: split virtqueues with
 * VIRTIO_F_RING_EVENT_IDX and VIRTIO_F_INDIRECT_DESC, the one validated descriptor-chain
 * walker, and the device model interface a transport (virtio-mmio, later virtio-pci) drives.
 *
 * Everything the guest supplies is untrusted. Ring addresses, indexes, descriptor chains
 * and lengths are validated; a guest error marks the queue broken and the device
 * DEVICE_NEEDS_RESET (spec 2.1.2) and never touches host memory outside guest RAM.
 */
#ifndef VESSEL_VIRTIO_H
#define VESSEL_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/iov.h"
#include "mmu/mmu.h"

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        1u
#define VIRTIO_STATUS_DRIVER             2u
#define VIRTIO_STATUS_DRIVER_OK          4u
#define VIRTIO_STATUS_FEATURES_OK        8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED             128u

/* Transport and ring feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC   28
#define VIRTIO_F_EVENT_IDX       29
#define VIRTIO_F_VERSION_1       32
#define VIRTIO_F_ACCESS_PLATFORM 33

/* Descriptor flags (2.7.5). */
#define VIRTQ_DESC_F_NEXT     1u
#define VIRTQ_DESC_F_WRITE    2u
#define VIRTQ_DESC_F_INDIRECT 4u
/* Ring flags. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY     1u

/* Interrupt status bits (4.2.2 InterruptStatus). */
#define VIRTIO_ISR_QUEUE  1u
#define VIRTIO_ISR_CONFIG 2u

#define VIRTQ_MAX_SIZE    32768 /* spec maximum queue size */
#define VIRTQ_MAX_SG      1024  /* buffers in one chain, direct + indirect */

/* A split virtqueue, device side. Guest-physical addresses of the three parts. */
typedef struct VirtQueue {
    PhysMem *mem;
    uint16_t size; /* negotiated, a power of two <= max */
    uint16_t max_size;
    bool ready;
    bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;  /* VIRTIO_F_INDIRECT_DESC negotiated */
    bool broken;    /* a guest error was found: no further processing until reset */
    uint64_t desc_addr, avail_addr, used_addr;
    uint16_t last_avail_idx; /* next avail ring entry the device consumes */
    uint16_t used_idx;       /* the device's used index (published to used->idx) */
    uint16_t signalled_used; /* used idx at the last interrupt (EVENT_IDX) */
    bool signalled_used_valid;
} VirtQueue;

/*
 * One popped request: a validated descriptor chain mapped to host iovecs. `out` buffers
 * are device-readable (driver -> device) and always come before the `in` buffers
 * (device-writable). The iovecs point into guest RAM and stay valid until the element
 * is pushed back.
 */
typedef struct VirtqElem {
    uint16_t head;
    unsigned out_num, in_num;
    uint64_t out_len, in_len;      /* total bytes */
    struct iovec sg[VIRTQ_MAX_SG]; /* out_num out buffers, then in_num in buffers */
} VirtqElem;

static inline struct iovec *virtq_elem_out(VirtqElem *e)
{
    return e->sg;
}
static inline struct iovec *virtq_elem_in(VirtqElem *e)
{
    return e->sg + e->out_num;
}

/* Reset to the state after device reset (not ready, indexes 0, size = max). */
void virtq_reset(VirtQueue *vq, PhysMem *mem, uint16_t max_size);
/*
 * Validate the ring layout when the driver sets the queue ready: size a power of two in
 * [1, max], each part aligned (desc 16, avail 2, used 4) and entirely inside guest RAM.
 * Returns false (and leaves the queue not ready) otherwise.
 */
bool virtq_enable(VirtQueue *vq);

/*
 * Take the next available chain. Returns 1 and fills *elem, 0 when the ring is empty,
 * or -1 on a guest error (the queue is marked broken; the caller sets the device's
 * DEVICE_NEEDS_RESET). Guest errors: avail.idx running more than the queue size ahead;
 * a head or next index out of range; a loop (more descriptors than the queue size, or
 * than the indirect table holds); a device-readable buffer after a device-writable one;
 * an address range outside guest RAM or wrapping; a total length over 4 GiB; INDIRECT
 * without the feature, nested, with NEXT, or a table whose length is 0 or not a multiple
 * of 16; more than VIRTQ_MAX_SG buffers.
 */
int virtq_pop(VirtQueue *vq, VirtqElem *elem);
/* Give back a popped chain with `written` bytes written to its in buffers. The used
 * element's len is stored before used.idx is published (2.7.8.2). */
void virtq_push(VirtQueue *vq, const VirtqElem *elem, uint32_t written);
/*
 * Several chains used together (virtio-net's mergeable receive buffers: the driver must
 * see all of a packet's buffers at once). virtq_fill writes the used element `i` places
 * after the published used idx without publishing it; virtq_flush publishes `count`
 * filled elements with one used.idx store. virtq_push is fill(0) + flush(1).
 */
void virtq_fill(VirtQueue *vq, const VirtqElem *elem, uint32_t written, unsigned i);
void virtq_flush(VirtQueue *vq, unsigned count);
/* Return an element to the ring without using it (it will be popped again). */
void virtq_unpop(VirtQueue *vq);
/* After one or more pushes: should the driver be interrupted? (EVENT_IDX used_event with
 * 16-bit wrap-around, else the avail NO_INTERRUPT flag; 2.7.7.2.) Updates the state. */
bool virtq_should_notify(VirtQueue *vq);
/* Ask the driver to (not) kick us: used.flags NO_NOTIFY, or avail_event with EVENT_IDX. */
void virtq_set_notification(VirtQueue *vq, bool enable);

#endif
