/* SPDX-License-Identifier: MIT */
/* Internet checksums for virtio-net's offloads (see checksum.h). */
#include "net/checksum.h"

#define ETH_HLEN   14
#define ETH_P_IP   0x0800
#define ETH_P_IPV6 0x86dd
#define PROTO_TCP  6
#define PROTO_UDP  17

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

uint64_t net_csum_add(uint64_t sum, const uint8_t *buf, size_t len)
{
    size_t i = 0;
    /* Frames are at most 64 KiB: a 64-bit accumulator cannot overflow. */
    for (; i + 1 < len; i += 2)
        sum += be16(buf + i);
    if (i < len)
        sum += (uint64_t)buf[i] << 8;
    return sum;
}

uint16_t net_csum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

bool net_csum_finish(uint8_t *frame, size_t len, size_t start, size_t offset)
{
    if (start >= len || offset > len - start || len - start - offset < 2)
        return false;
    uint8_t *field = frame + start + offset;
    uint16_t c = (uint16_t)~net_csum_fold(net_csum_add(0, frame + start, len - start));
    if (c == 0)
        c = 0xffff;
    field[0] = (uint8_t)(c >> 8);
    field[1] = (uint8_t)c;
    return true;
}

/* The transport segment seg[0, seg_len) with its pseudo-header sum: correct? */
static bool l4_ok(uint64_t pseudo, unsigned proto, const uint8_t *seg, size_t seg_len)
{
    if (proto == PROTO_TCP) {
        if (seg_len < 20)
            return false;
    } else if (proto == PROTO_UDP) {
        if (seg_len < 8 || be16(seg + 4) != seg_len)
            return false;
        if (be16(seg + 6) == 0)
            return false; /* IPv4 UDP without a checksum: nothing to vouch for */
    } else {
        return false;
    }
    uint64_t sum = pseudo + proto + seg_len;
    return net_csum_fold(net_csum_add(sum, seg, seg_len)) == 0xffff;
}

bool net_csum_l4_valid(const uint8_t *frame, size_t len)
{
    if (len < ETH_HLEN)
        return false;
    const uint8_t *ip = frame + ETH_HLEN;
    size_t left = len - ETH_HLEN;
    uint16_t type = be16(frame + 12);
    if (type == ETH_P_IP) {
        if (left < 20 || ip[0] >> 4 != 4)
            return false;
        size_t ihl = (size_t)(ip[0] & 0xf) * 4;
        size_t total = be16(ip + 2);
        if (ihl < 20 || total < ihl || total > left)
            return false;
        if (be16(ip + 6) & 0x3fff) /* more fragments, or a fragment offset */
            return false;
        uint64_t pseudo = net_csum_add(0, ip + 12, 8); /* source and destination */
        return l4_ok(pseudo, ip[9], ip + ihl, total - ihl);
    }
    if (type == ETH_P_IPV6) {
        if (left < 40 || ip[0] >> 4 != 6)
            return false;
        size_t payload = be16(ip + 4);
        if (payload > left - 40)
            return false;
        uint64_t pseudo = net_csum_add(0, ip + 8, 32);
        return l4_ok(pseudo, ip[6], ip + 40, payload);
    }
    return false;
}
