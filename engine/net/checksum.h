/* SPDX-License-Identifier: MIT */
/*
 * Internet checksums (RFC 1071) for virtio-net's checksum offloads:
 *  - transmit (VIRTIO_NET_F_CSUM): the guest leaves a TCP/UDP checksum for the device to
 *    finish: the field at csum_start + csum_offset holds the pseudo-header sum, and the
 *    device stores the ones' complement of the sum from csum_start to the end (5.1.6.2);
 *  - receive (VIRTIO_NET_F_GUEST_CSUM): the device may tell the guest a frame's TCP/UDP
 *    checksum is known good (VIRTIO_NET_HDR_F_DATA_VALID), so the guest does not verify
 *    it again: only after checking it here.
 */
#ifndef VESSEL_NET_CHECKSUM_H
#define VESSEL_NET_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ones' complement sum of buf as big-endian 16-bit words (odd tail padded), added to
 * `sum`; not folded. */
uint64_t net_csum_add(uint64_t sum, const uint8_t *buf, size_t len);
/* Fold to 16 bits (not complemented). */
uint16_t net_csum_fold(uint64_t sum);

/*
 * Finish a partial checksum in frame[0, len): store the complement of the sum over
 * [start, len) at start + offset (big-endian; 0 is sent as 0xffff, which means the same
 * in ones' complement and is what UDP needs). False, frame untouched, when the field does
 * not lie inside the frame.
 */
bool net_csum_finish(uint8_t *frame, size_t len, size_t start, size_t offset);

/*
 * Is this Ethernet frame an IPv4 or IPv6 TCP or UDP packet (not a fragment, no IPv6
 * extension headers) whose transport checksum is present and correct? False for anything
 * else: the guest then checks for itself.
 */
bool net_csum_l4_valid(const uint8_t *frame, size_t len);

#endif
