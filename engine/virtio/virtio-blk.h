/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2 section 5.2), engine-internal. vs_vdevs_create() calls
 * virtio_blk_create() once per configured disk; the parts below it exist so the unit test
 * and the fuzz target can drive the device without a machine.
 */
#ifndef VESSEL_VIRTIO_BLK_H
#define VESSEL_VIRTIO_BLK_H

#include "core/iothread.h"
#include "vessel/engine.h"
#include "virtio/virtio-dev.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_GEOMETRY     4
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_TOPOLOGY     10
#define VIRTIO_BLK_F_CONFIG_WCE   11
#define VIRTIO_BLK_F_MQ           12
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status values (5.2.6). */
#define VIRTIO_BLK_T_IN                    0
#define VIRTIO_BLK_T_OUT                   1
#define VIRTIO_BLK_T_FLUSH                 4
#define VIRTIO_BLK_T_GET_ID                8
#define VIRTIO_BLK_T_GET_LIFETIME          10
#define VIRTIO_BLK_T_DISCARD               11
#define VIRTIO_BLK_T_WRITE_ZEROES          13
#define VIRTIO_BLK_T_SECURE_ERASE          14

#define VIRTIO_BLK_S_OK                    0
#define VIRTIO_BLK_S_IOERR                 1
#define VIRTIO_BLK_S_UNSUPP                2

#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1u
#define VIRTIO_BLK_ID_BYTES                20

/* Device limits we report in config space. */
#define VIRTIO_BLK_QUEUE_SIZE       256
#define VIRTIO_BLK_SEG_MAX          (VIRTIO_BLK_QUEUE_SIZE - 2)
#define VIRTIO_BLK_MAX_DISCARD_SECS (1u << 22) /* 2 GiB per segment */
#define VIRTIO_BLK_MAX_DISCARD_SEG  16
#define VIRTIO_BLK_MAX_WZEROES_SECS (1u << 22)
#define VIRTIO_BLK_MAX_WZEROES_SEG  16
#define VIRTIO_BLK_CONFIG_SIZE      60

/* Config space field offsets (5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY       0
#define VIRTIO_BLK_CFG_SEG_MAX        12
#define VIRTIO_BLK_CFG_BLK_SIZE       20
#define VIRTIO_BLK_CFG_PHYS_BLOCK_EXP 24
#define VIRTIO_BLK_CFG_MIN_IO_SIZE    26
#define VIRTIO_BLK_CFG_OPT_IO_SIZE    28
#define VIRTIO_BLK_CFG_NUM_QUEUES     34
#define VIRTIO_BLK_CFG_MAX_DISCARD    36
#define VIRTIO_BLK_CFG_DISCARD_SEG    40
#define VIRTIO_BLK_CFG_DISCARD_ALIGN  44
#define VIRTIO_BLK_CFG_MAX_WZEROES    48
#define VIRTIO_BLK_CFG_WZEROES_SEG    52
#define VIRTIO_BLK_CFG_WZEROES_UNMAP  56

typedef struct VirtioBlk VirtioBlk;

/*
 * Open cfg's image and build the device (not attached to any transport). `io` runs the
 * completions; NULL is allowed for tests, which then call virtio_blk_drain() to run them.
 * Errors name the file and say what to do ("is in use by another program", "not a qcow2
 * image", ...).
 */
VsStatus virtio_blk_new(PhysMem *mem, VsIoThread *io, const pthread_attr_t *thread_attr,
                        const VsDiskConfig *cfg, VirtioBlk **out, VsError *err);
VirtioDevice *virtio_blk_device(VirtioBlk *b);
/* Wait until every request taken from the queues has completed (its status written, the
 * chain pushed or, after a reset, dropped). */
void virtio_blk_drain(VirtioBlk *b);
/* "io_uring" or "threads". */
const char *virtio_blk_aio_backend(VirtioBlk *b);
/* Drain, close the image, free the device. */
void virtio_blk_free(VirtioBlk *b);

#endif
