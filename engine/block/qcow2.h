/* SPDX-License-Identifier: MIT */
/*
 * qcow2 driver internals shared by qcow2.c (open, I/O, allocation, create) and
 * qcow2-check.c (consistency check and refcount repair). On-disk layout: QEMU's
 * docs/interop/qcow2.txt.
 */
#ifndef VESSEL_QCOW2_H
#define VESSEL_QCOW2_H

#include <stdint.h>
#include <zlib.h>

#include "block/block-int.h"

#define QCOW2_MAGIC                0x514649fbu /* "QFI\xfb" */
#define QCOW2_V2_HEADER_LEN        72
#define QCOW2_V3_HEADER_LEN        104
#define QCOW2_MIN_CLUSTER_BITS     9
#define QCOW2_MAX_CLUSTER_BITS     21
#define QCOW2_MAX_L1_BYTES         (32u << 20) /* QEMU's limits, so its images open here */
#define QCOW2_MAX_REFTABLE_BYTES   (8u << 20)
#define QCOW2_MAX_SNAPSHOTS        65536

#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNT (1ull << 0)
#define QCOW2_AUTOCLEAR_BITMAPS    (1ull << 0)

#define QCOW2_EXT_END              0x00000000u
#define QCOW2_EXT_BACKING_FMT      0xe2792acau
#define QCOW2_EXT_FEATURES         0x6803f857u
#define QCOW2_EXT_BITMAPS          0x23852875u

/* Header field offsets rewritten in place. */
#define QCOW2_OFF_REFTABLE     48
#define QCOW2_OFF_INCOMPAT     72
#define QCOW2_OFF_AUTOCLEAR    88

#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       (1ull << 0)
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull
#define QCOW2_L1E_RESERVED     0x7f000000000001ffull
#define QCOW2_L2E_RESERVED     0x3f000000000001feull
#define QCOW2_RTE_RESERVED     0x00000000000001ffull

/* What a guest cluster is, from its L2 entry. */
typedef enum Qcow2ClusterType {
    QCOW2_UNALLOCATED,
    QCOW2_ZERO_PLAIN, /* reads zeros, no host cluster */
    QCOW2_ZERO_ALLOC, /* reads zeros, host cluster preallocated */
    QCOW2_NORMAL,
    QCOW2_COMPRESSED,
} Qcow2ClusterType;

/* A few cluster-sized tables (L2 tables or refcount blocks) kept in memory, written back
 * in the order flush and eviction need. */
typedef struct Qcow2CacheSlot {
    uint64_t offset; /* 0: empty */
    uint64_t used;   /* LRU tick */
    bool dirty;
    uint8_t *data;
} Qcow2CacheSlot;

typedef struct Qcow2Cache {
    unsigned n;
    uint64_t tick;
    Qcow2CacheSlot *slot;
} Qcow2Cache;

/* Sorted set of cluster indices (L2 tables, refcount blocks) for overlap checks. */
typedef struct Qcow2Set {
    uint64_t *v;
    size_t n, cap;
} Qcow2Set;

typedef struct Qcow2Free {
    uint64_t offset; /* host bytes */
    uint64_t len;
} Qcow2Free;

typedef struct Qcow2State {
    uint32_t version;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint32_t l2_bits; /* log2 of entries per L2 table */
    uint32_t header_length;
    uint64_t incompat, compat, autoclear;
    uint32_t refcount_order;
    uint32_t rb_bits; /* log2 of entries per refcount block */
    uint64_t refcount_max;
    uint32_t csize_shift; /* compressed descriptor: offset bits below, sector count above */
    uint64_t csize_mask;

    uint64_t *l1; /* host byte order */
    uint32_t l1_size;
    uint64_t l1_offset;
    uint32_t l1_dirty_lo, l1_dirty_hi; /* dirty entry range [lo, hi), empty if lo >= hi */

    uint64_t *rt;     /* refcount table, host byte order */
    uint64_t rt_size; /* entries */
    uint64_t rt_offset;
    uint32_t rt_clusters;

    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    bool has_bitmaps;
    uint32_t nb_bitmaps;
    uint64_t bitmap_dir_offset, bitmap_dir_size;

    char backing_name[BLOCK_BACKING_NAME_MAX + 1];
    char backing_fmt[16];
    char (*feature_names)[48]; /* incompatible feature names from the image's table */
    BlockImage *backing;

    uint64_t file_size;  /* bytes of the file, as far as we know */
    uint64_t alloc_next; /* next cluster index to try for allocation */
    bool unsynced;       /* writes since the last fdatasync */
    bool corrupt;        /* corrupt bit set, or corruption found: no more writes */

    Qcow2Cache l2_cache, rb_cache;
    Qcow2Set l2_set, rb_set;
    Qcow2Free *frees; /* clusters to release once the L2 tables no longer use them */
    size_t n_frees, cap_frees;

    uint8_t *cow;        /* one cluster, for copy-on-write */
    uint8_t *zeros;      /* one cluster of zeros */
    uint8_t *cbuf;       /* compressed input, two clusters */
    uint8_t *dbuf;       /* the last decompressed cluster */
    uint64_t dbuf_entry; /* its L2 entry; 0: none */
    z_stream zs;
    bool zs_ready;
} Qcow2State;

static inline uint64_t qcow2_be64(const void *p)
{
    const uint8_t *b = p;
    return ((uint64_t)b[0] << 56) | ((uint64_t)b[1] << 48) | ((uint64_t)b[2] << 40) |
           ((uint64_t)b[3] << 32) | ((uint64_t)b[4] << 24) | ((uint64_t)b[5] << 16) |
           ((uint64_t)b[6] << 8) | b[7];
}

static inline uint32_t qcow2_be32(const void *p)
{
    const uint8_t *b = p;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static inline uint16_t qcow2_be16(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)((b[0] << 8) | b[1]);
}

static inline void qcow2_put_be64(void *p, uint64_t v)
{
    uint8_t *b = p;
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
}

static inline void qcow2_put_be32(void *p, uint32_t v)
{
    uint8_t *b = p;
    for (int i = 3; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
}

static inline void qcow2_put_be16(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

Qcow2ClusterType qcow2_cluster_type(const Qcow2State *s, uint64_t l2e);
/* Host byte range [*offset, *offset + *len) holding a compressed cluster's data. */
void qcow2_compressed_range(const Qcow2State *s, uint64_t l2e, uint64_t *offset, uint64_t *len);

/* Cache access: returns the slot index; *data points at the table until the next get. */
/* The cached table at file offset `offset`, or NULL: never reads the file. */
const uint8_t *qcow2_cache_peek(Qcow2Cache *c, uint64_t offset);
VsStatus qcow2_cache_get(BlockImage *img, Qcow2Cache *c, uint64_t offset, bool read, uint8_t **data,
                         int *slot, VsError *err);
void qcow2_cache_mark_dirty(Qcow2Cache *c, int slot);
void qcow2_cache_drop_all(Qcow2Cache *c);

/* Refcount of a cluster (by index); 0 where no refcount block exists. */
VsStatus qcow2_get_refcount(BlockImage *img, uint64_t cluster, uint64_t *refcount, VsError *err);
/* Set a refcount; the cluster's refcount block must exist. */
VsStatus qcow2_set_refcount(BlockImage *img, uint64_t cluster, uint64_t refcount, VsError *err);
uint64_t qcow2_rb_get(const Qcow2State *s, const uint8_t *block, uint64_t index);
void qcow2_rb_set(const Qcow2State *s, uint8_t *block, uint64_t index, uint64_t value);
/* A refcount table entry points at a usable block: aligned, inside the file, not on top of
 * other metadata. */
bool qcow2_refblock_entry_ok(const Qcow2State *s, uint64_t entry);
/* Allocate n contiguous clusters at the end of the file with refcount 1. */
VsStatus qcow2_alloc_clusters(BlockImage *img, uint64_t n, uint64_t *offset, VsError *err);

/* Write dirty refcount blocks, then sync if anything was written since the last sync. */
VsStatus qcow2_flush_refcounts(BlockImage *img, VsError *err);
/* Full ordered flush: refcounts, sync, L2 tables, sync, L1, sync, deferred frees. */
VsStatus qcow2_flush_all(BlockImage *img, VsError *err);
/* Rewrite an 8-byte header field and sync. */
VsStatus qcow2_write_header_u64(BlockImage *img, uint32_t field, uint64_t value, VsError *err);
/* Point the header at a new refcount table (written and synced by the caller). */
VsStatus qcow2_install_reftable(BlockImage *img, uint64_t *rt, uint64_t rt_size, uint64_t offset,
                                uint32_t clusters, VsError *err);

bool qcow2_set_insert(Qcow2Set *set, uint64_t v);
bool qcow2_set_contains(const Qcow2Set *set, uint64_t v);

/* Mark the image corrupt (on disk when writable, v3) and fail with the message. */
VsStatus qcow2_corruption(BlockImage *img, VsError *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* qcow2-check.c */
VsStatus qcow2_check(BlockImage *img, bool repair, BlockCheckResult *result,
                     BlockCheckReport report, void *opaque, VsError *err);

#endif
