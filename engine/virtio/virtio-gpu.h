/* SPDX-License-Identifier: MIT */
/*
 * virtio-gpu (virtio 1.2 section 5.7), 2D only: the protocol constants and the limits a
 * hostile guest runs into. The device itself is created by virtio_gpu_create() (vdev.h);
 * front ends see it through the Display section of vessel/engine.h.
 */
#ifndef VESSEL_VIRTIO_GPU_H
#define VESSEL_VIRTIO_GPU_H

#include <stdint.h>

#include "virtio/virtio-dev.h"

#define VIRTIO_GPU_F_EDID 1

#define GPU_CONTROLQ      0
#define GPU_CURSORQ       1

/* Request and response types (5.7.6.7). */
enum {
    VIRTIO_GPU_CMD_GET_DISPLAY_INFO = 0x0100,
    VIRTIO_GPU_CMD_RESOURCE_CREATE_2D,
    VIRTIO_GPU_CMD_RESOURCE_UNREF,
    VIRTIO_GPU_CMD_SET_SCANOUT,
    VIRTIO_GPU_CMD_RESOURCE_FLUSH,
    VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D,
    VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING,
    VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
    VIRTIO_GPU_CMD_GET_CAPSET_INFO,
    VIRTIO_GPU_CMD_GET_CAPSET,
    VIRTIO_GPU_CMD_GET_EDID,

    VIRTIO_GPU_CMD_UPDATE_CURSOR = 0x0300,
    VIRTIO_GPU_CMD_MOVE_CURSOR,

    VIRTIO_GPU_RESP_OK_NODATA = 0x1100,
    VIRTIO_GPU_RESP_OK_DISPLAY_INFO,
    VIRTIO_GPU_RESP_OK_CAPSET_INFO,
    VIRTIO_GPU_RESP_OK_CAPSET,
    VIRTIO_GPU_RESP_OK_EDID,

    VIRTIO_GPU_RESP_ERR_UNSPEC = 0x1200,
    VIRTIO_GPU_RESP_ERR_OUT_OF_MEMORY,
    VIRTIO_GPU_RESP_ERR_INVALID_SCANOUT_ID,
    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID,
    VIRTIO_GPU_RESP_ERR_INVALID_CONTEXT_ID,
    VIRTIO_GPU_RESP_ERR_INVALID_PARAMETER,
};

#define VIRTIO_GPU_FLAG_FENCE 1u

/* Formats (5.7.6.8), named by their byte order in memory. */
enum {
    VIRTIO_GPU_FORMAT_B8G8R8A8_UNORM = 1,
    VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM = 2,
    VIRTIO_GPU_FORMAT_A8R8G8B8_UNORM = 3,
    VIRTIO_GPU_FORMAT_X8R8G8B8_UNORM = 4,
    VIRTIO_GPU_FORMAT_R8G8B8A8_UNORM = 67,
    VIRTIO_GPU_FORMAT_X8B8G8R8_UNORM = 68,
    VIRTIO_GPU_FORMAT_A8B8G8R8_UNORM = 121,
    VIRTIO_GPU_FORMAT_R8G8B8X8_UNORM = 134,
};

/* Wire sizes of the structures (all little-endian, no implicit padding). */
#define GPU_HDR_SIZE          24u /* struct virtio_gpu_ctrl_hdr */
#define GPU_DISPLAY_INFO_SIZE (GPU_HDR_SIZE + 16u * 24u)
#define GPU_RESP_EDID_SIZE    (GPU_HDR_SIZE + 8u + 1024u)
#define GPU_MEM_ENTRY_SIZE    16u
#define GPU_MAX_SCANOUTS_WIRE 16u

/* Limits. Host memory for resource images and backing tables is bounded per device. */
#define GPU_HOSTMEM_MAX         (256ull << 20)
#define GPU_MAX_RESOURCES       1024u
#define GPU_MAX_DIM             16384u /* width or height of a resource */
#define GPU_MAX_BACKING_ENTRIES 65536u
#define GPU_CURSOR_SIZE         64u
/* The preferred mode a configuration may ask for (it goes into EDID timings). */
#define GPU_MODE_MIN 64u
#define GPU_MODE_MAX 4096u

/*
 * Process one request popped from `queue` of a virtio-gpu device: read the command from
 * e's device-readable buffers, execute it, write the response into its device-writable
 * buffers. Returns the bytes written (what virtio_dev_push() is given). I/O thread; the
 * queue handler uses it, and the unit test and fuzzer call it directly.
 */
uint32_t virtio_gpu_process(VirtioDevice *dev, unsigned queue, const VirtqElem *e);

#endif
