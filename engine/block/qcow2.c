/* SPDX-License-Identifier: MIT */
/*
 * qcow2 v2/v3: open with every header field treated as hostile, reads through L1/L2 with
 * zero, compressed and backing-file clusters, and writes with cluster allocation at the end
 * of the file and refcounts always kept up to date (no lazy refcounts, so the dirty bit is
 * never set here; an image found dirty gets its refcounts rebuilt before it is written).
 *
 * Write ordering (what makes a crash leave at worst leaked clusters, never a reference to a
 * cluster with refcount 0): refcount increments and new data reach the disk before any L2
 * table that points at them (qcow2_flush_refcounts syncs before an L2 table is written);
 * L2 tables before the L1 entries pointing at them; refcount decrements only after the L2
 * tables that stopped using the clusters are durable (deferred frees).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "core/machine.h"

#define L2_CACHE_BYTES (32u << 20)
#define RB_CACHE_BYTES (8u << 20)

static const char corrupt_reason[] =
    "the image is marked corrupt; run 'vessel-img check --repair' on it";

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static bool is_fixed_metadata(const Qcow2State *s, uint64_t cluster);

/* ---- small helpers ---------------------------------------------------------------------- */

static size_t set_lower_bound(const Qcow2Set *set, uint64_t v)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->v[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool qcow2_set_contains(const Qcow2Set *set, uint64_t v)
{
    size_t i = set_lower_bound(set, v);
    return i < set->n && set->v[i] == v;
}

bool qcow2_set_insert(Qcow2Set *set, uint64_t v)
{
    size_t i = set_lower_bound(set, v);
    if (i < set->n && set->v[i] == v)
        return true;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        uint64_t *nv = realloc(set->v, cap * sizeof(*nv));
        if (!nv)
            return false;
        set->v = nv;
        set->cap = cap;
    }
    memmove(set->v + i + 1, set->v + i, (set->n - i) * sizeof(*set->v));
    set->v[i] = v;
    set->n++;
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Fill a set from table entries (host offsets) in one sort. */
static bool set_build(Qcow2Set *set, const uint64_t *table, uint64_t n, uint64_t cluster_size)
{
    set->v = malloc((n ? n : 1) * sizeof(uint64_t));
    if (!set->v)
        return false;
    set->cap = n ? n : 1;
    set->n = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t off = table[i] & QCOW2_OFFSET_MASK;
        if (off && !(off & (cluster_size - 1)))
            set->v[set->n++] = off / cluster_size;
    }
    qsort(set->v, set->n, sizeof(uint64_t), cmp_u64);
    size_t w = 0;
    for (size_t i = 0; i < set->n; i++)
        if (!w || set->v[w - 1] != set->v[i])
            set->v[w++] = set->v[i];
    set->n = w;
    return true;
}

Qcow2ClusterType qcow2_cluster_type(const Qcow2State *s, uint64_t l2e)
{
    (void)s;
    if (l2e & QCOW2_OFLAG_COMPRESSED)
        return QCOW2_COMPRESSED;
    if (l2e & QCOW2_OFLAG_ZERO)
        return (l2e & QCOW2_OFFSET_MASK) ? QCOW2_ZERO_ALLOC : QCOW2_ZERO_PLAIN;
    return (l2e & QCOW2_OFFSET_MASK) ? QCOW2_NORMAL : QCOW2_UNALLOCATED;
}

void qcow2_compressed_range(const Qcow2State *s, uint64_t l2e, uint64_t *offset, uint64_t *len)
{
    uint64_t coff = l2e & ((1ull << s->csize_shift) - 1);
    uint64_t sectors = ((l2e >> s->csize_shift) & s->csize_mask) + 1;
    *offset = coff;
    *len = sectors * 512 - (coff & 511);
}

static VsStatus io_error(BlockImage *img, VsError *err, const char *what, uint64_t offset, int e)
{
    return block_error(img, err, VS_ERR_IO, "%s at offset %llu failed: %s", what,
                       (unsigned long long)offset, strerror(e));
}

static VsStatus sync_file(BlockImage *img, VsError *err)
{
    Qcow2State *s = img->state;
    int r = block_fd_sync(img->fd);
    if (r < 0)
        return block_error(img, err, VS_ERR_IO, "flush failed: %s", strerror(-r));
    s->unsynced = false;
    return VS_OK;
}

static VsStatus write_at(BlockImage *img, const void *buf, size_t len, uint64_t offset,
                         const char *what, VsError *err)
{
    Qcow2State *s = img->state;
    int r = block_fd_pwrite(img->fd, buf, len, offset);
    if (r < 0)
        return io_error(img, err, what, offset, -r);
    s->unsynced = true;
    if (offset + len > s->file_size)
        s->file_size = offset + len;
    return VS_OK;
}

/* Read, with zeros for any part past the end of the file. */
static VsStatus read_at(BlockImage *img, void *buf, size_t len, uint64_t offset, const char *what,
                        VsError *err)
{
    ssize_t n = block_fd_pread(img->fd, buf, len, offset);
    if (n < 0)
        return io_error(img, err, what, offset, (int)-n);
    if ((size_t)n < len)
        memset((char *)buf + n, 0, len - (size_t)n);
    return VS_OK;
}

VsStatus qcow2_write_header_u64(BlockImage *img, uint32_t field, uint64_t value, VsError *err)
{
    uint8_t b[8];
    qcow2_put_be64(b, value);
    VsStatus st = write_at(img, b, sizeof(b), field, "header update", err);
    return st != VS_OK ? st : sync_file(img, err);
}

VsStatus qcow2_corruption(BlockImage *img, VsError *err, const char *fmt, ...)
{
    Qcow2State *s = img->state;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!s->corrupt && !(img->flags & BLOCK_OPEN_READ_ONLY) &&
        !(img->flags & BLOCK_OPEN_FOR_REPAIR)) {
        /* Stop writing before a bad pointer makes us overwrite good data. */
        s->corrupt = true;
        img->read_only = true;
        img->ro_reason = corrupt_reason;
        if (s->version >= 3) {
            s->incompat |= QCOW2_INCOMPAT_CORRUPT;
            (void)qcow2_write_header_u64(img, QCOW2_OFF_INCOMPAT, s->incompat, NULL);
        }
    }
    return block_error(img, err, VS_ERR_FORMAT,
                       "%s; the image is corrupt (run 'vessel-img check' on it)", msg);
}

/* ---- caches ----------------------------------------------------------------------------- */

static bool cache_init(Qcow2Cache *c, unsigned n, uint64_t size)
{
    c->n = n;
    c->slot = calloc(n, sizeof(*c->slot));
    if (!c->slot)
        return false;
    for (unsigned i = 0; i < n; i++) {
        c->slot[i].data = malloc(size);
        if (!c->slot[i].data)
            return false;
    }
    return true;
}

static void cache_free(Qcow2Cache *c)
{
    for (unsigned i = 0; c->slot && i < c->n; i++)
        free(c->slot[i].data);
    free(c->slot);
    c->slot = NULL;
}

void qcow2_cache_drop_all(Qcow2Cache *c)
{
    for (unsigned i = 0; i < c->n; i++) {
        c->slot[i].offset = 0;
        c->slot[i].dirty = false;
    }
}

void qcow2_cache_mark_dirty(Qcow2Cache *c, int slot)
{
    c->slot[slot].dirty = true;
}

static VsStatus cache_write_slot(BlockImage *img, Qcow2Cache *c, Qcow2CacheSlot *sl, VsError *err)
{
    Qcow2State *s = img->state;
    if (c == &s->l2_cache) {
        /* An L2 table may point at new clusters: their refcounts and data first. */
        VsStatus st = qcow2_flush_refcounts(img, err);
        if (st != VS_OK)
            return st;
    }
    VsStatus st = write_at(img, sl->data, s->cluster_size, sl->offset,
                           c == &s->l2_cache ? "L2 table write" : "refcount block write", err);
    if (st == VS_OK)
        sl->dirty = false;
    return st;
}

VsStatus qcow2_cache_get(BlockImage *img, Qcow2Cache *c, uint64_t offset, bool read, uint8_t **data,
                         int *slot, VsError *err)
{
    Qcow2State *s = img->state;
    unsigned victim = 0;
    for (unsigned i = 0; i < c->n; i++) {
        if (c->slot[i].offset == offset) {
            c->slot[i].used = ++c->tick;
            *data = c->slot[i].data;
            *slot = (int)i;
            return VS_OK;
        }
        if (c->slot[i].used < c->slot[victim].used)
            victim = i;
    }
    Qcow2CacheSlot *sl = &c->slot[victim];
    if (sl->dirty) {
        VsStatus st = cache_write_slot(img, c, sl, err);
        if (st != VS_OK)
            return st;
    }
    sl->offset = 0;
    if (read) {
        VsStatus st = read_at(img, sl->data, s->cluster_size, offset, "metadata read", err);
        if (st != VS_OK)
            return st;
    } else {
        memset(sl->data, 0, s->cluster_size);
    }
    sl->offset = offset;
    sl->used = ++c->tick;
    *data = sl->data;
    *slot = (int)victim;
    return VS_OK;
}

const uint8_t *qcow2_cache_peek(Qcow2Cache *c, uint64_t offset)
{
    for (unsigned i = 0; i < c->n; i++) {
        if (c->slot[i].offset == offset) {
            c->slot[i].used = ++c->tick;
            return c->slot[i].data;
        }
    }
    return NULL;
}

/* ---- refcounts and allocation ----------------------------------------------------------- */

uint64_t qcow2_rb_get(const Qcow2State *s, const uint8_t *block, uint64_t index)
{
    switch (s->refcount_order) {
    case 0:
    case 1:
    case 2: {
        unsigned bits = 1u << s->refcount_order;
        uint64_t bit = index * bits;
        return (block[bit >> 3] >> (bit & 7)) & ((1u << bits) - 1);
    }
    case 3: return block[index];
    case 4: return qcow2_be16(block + index * 2);
    case 5: return qcow2_be32(block + index * 4);
    default: return qcow2_be64(block + index * 8);
    }
}

void qcow2_rb_set(const Qcow2State *s, uint8_t *block, uint64_t index, uint64_t value)
{
    switch (s->refcount_order) {
    case 0:
    case 1:
    case 2: {
        unsigned bits = 1u << s->refcount_order;
        uint64_t bit = index * bits;
        unsigned mask = ((1u << bits) - 1) << (bit & 7);
        block[bit >> 3] = (uint8_t)((block[bit >> 3] & ~mask) | ((value << (bit & 7)) & mask));
        break;
    }
    case 3: block[index] = (uint8_t)value; break;
    case 4: qcow2_put_be16(block + index * 2, (uint16_t)value); break;
    case 5: qcow2_put_be32(block + index * 4, (uint32_t)value); break;
    default: qcow2_put_be64(block + index * 8, value); break;
    }
}

bool qcow2_refblock_entry_ok(const Qcow2State *s, uint64_t entry)
{
    uint64_t off = entry & ~QCOW2_RTE_RESERVED, c = off / s->cluster_size;
    return !(entry & QCOW2_RTE_RESERVED) && !(off & (s->cluster_size - 1)) &&
           off + s->cluster_size <= s->file_size && !is_fixed_metadata(s, c) &&
           !qcow2_set_contains(&s->l2_set, c);
}

/* The refcount block covering a cluster; *slot < 0 if it does not exist. */
static VsStatus rb_load(BlockImage *img, uint64_t cluster, uint8_t **data, int *slot, VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t t = cluster >> s->rb_bits;
    *slot = -1;
    if (t >= s->rt_size || !s->rt[t])
        return VS_OK;
    uint64_t off = s->rt[t] & ~QCOW2_RTE_RESERVED;
    if (!qcow2_refblock_entry_ok(s, s->rt[t]))
        return qcow2_corruption(img, err, "refcount table entry %llu is invalid (%#llx)",
                                (unsigned long long)t, (unsigned long long)s->rt[t]);
    return qcow2_cache_get(img, &s->rb_cache, off, true, data, slot, err);
}

VsStatus qcow2_get_refcount(BlockImage *img, uint64_t cluster, uint64_t *refcount, VsError *err)
{
    Qcow2State *s = img->state;
    uint8_t *data;
    int slot;
    VsStatus st = rb_load(img, cluster, &data, &slot, err);
    if (st != VS_OK)
        return st;
    *refcount = slot < 0 ? 0 : qcow2_rb_get(s, data, cluster & ((1ull << s->rb_bits) - 1));
    return VS_OK;
}

VsStatus qcow2_set_refcount(BlockImage *img, uint64_t cluster, uint64_t refcount, VsError *err)
{
    Qcow2State *s = img->state;
    uint8_t *data;
    int slot;
    VsStatus st = rb_load(img, cluster, &data, &slot, err);
    if (st != VS_OK)
        return st;
    if (slot < 0)
        return qcow2_corruption(img, err, "cluster %llu has no refcount block",
                                (unsigned long long)cluster);
    if (refcount > s->refcount_max)
        return block_error(img, err, VS_ERR_FORMAT,
                           "refcount of cluster %llu would exceed the %u-bit maximum",
                           (unsigned long long)cluster, 1u << s->refcount_order);
    qcow2_rb_set(s, data, cluster & ((1ull << s->rb_bits) - 1), refcount);
    qcow2_cache_mark_dirty(&s->rb_cache, slot);
    return VS_OK;
}

VsStatus qcow2_flush_refcounts(BlockImage *img, VsError *err)
{
    Qcow2State *s = img->state;
    for (unsigned i = 0; i < s->rb_cache.n; i++) {
        Qcow2CacheSlot *sl = &s->rb_cache.slot[i];
        if (sl->offset && sl->dirty) {
            VsStatus st = cache_write_slot(img, &s->rb_cache, sl, err);
            if (st != VS_OK)
                return st;
        }
    }
    return s->unsynced ? sync_file(img, err) : VS_OK;
}

VsStatus qcow2_install_reftable(BlockImage *img, uint64_t *rt, uint64_t rt_size, uint64_t offset,
                                uint32_t clusters, VsError *err)
{
    Qcow2State *s = img->state;
    uint8_t b[12];
    qcow2_put_be64(b, offset);
    qcow2_put_be32(b + 8, clusters);
    VsStatus st = write_at(img, b, sizeof(b), QCOW2_OFF_REFTABLE, "header update", err);
    if (st == VS_OK)
        st = sync_file(img, err);
    if (st != VS_OK)
        return st;
    free(s->rt);
    s->rt = rt;
    s->rt_size = rt_size;
    s->rt_offset = offset;
    s->rt_clusters = clusters;
    free(s->rb_set.v);
    memset(&s->rb_set, 0, sizeof(s->rb_set));
    if (!set_build(&s->rb_set, rt, rt_size, s->cluster_size))
        return block_error(img, err, VS_ERR_NOMEM, "out of memory");
    return VS_OK;
}

/* A new refcount block at cluster x, for the range that holds x, counting itself. */
static VsStatus create_refblock(BlockImage *img, uint64_t x, VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t t = x >> s->rb_bits;
    uint8_t *data;
    int slot;
    VsStatus st = qcow2_cache_get(img, &s->rb_cache, x * s->cluster_size, false, &data, &slot, err);
    if (st != VS_OK)
        return st;
    qcow2_rb_set(s, data, x & ((1ull << s->rb_bits) - 1), 1);
    /* The block must be on disk before the table points at it. */
    st = write_at(img, data, s->cluster_size, x * s->cluster_size, "refcount block write", err);
    if (st == VS_OK)
        st = sync_file(img, err);
    if (st != VS_OK) {
        s->rb_cache.slot[slot].offset = 0;
        return st;
    }
    uint8_t b[8];
    qcow2_put_be64(b, x * s->cluster_size);
    st = write_at(img, b, 8, s->rt_offset + t * 8, "refcount table write", err);
    if (st != VS_OK)
        return st;
    s->rt[t] = x * s->cluster_size;
    if (!qcow2_set_insert(&s->rb_set, x))
        return block_error(img, err, VS_ERR_NOMEM, "out of memory");
    return VS_OK;
}

/* Replace the refcount table by a larger one with at least need+1 entries, placed at the
 * end of the file together with the refcount blocks that cover it. */
static VsStatus grow_reftable(BlockImage *img, uint64_t need, VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t cs = s->cluster_size, per_cluster = cs / 8;
    uint64_t entries = align_up(need + 1 > s->rt_size * 2 ? need + 1 : s->rt_size * 2, per_cluster);
    uint64_t start = s->alloc_next, tc, end, *blocks = NULL, nb;
    for (;;) {
        if (entries * 8 > QCOW2_MAX_REFTABLE_BYTES) {
            free(blocks);
            return block_error(img, err, VS_ERR_UNSUPPORTED,
                               "the image would need a refcount table over %u MiB",
                               QCOW2_MAX_REFTABLE_BYTES >> 20);
        }
        tc = entries / per_cluster;
        end = start + tc;
        nb = 0;
        free(blocks);
        blocks = malloc(sizeof(uint64_t) * (size_t)(tc + 64));
        if (!blocks)
            return block_error(img, err, VS_ERR_NOMEM, "out of memory");
        bool fits = true;
        /* New blocks go after the table; each may need a block itself (end grows). */
        for (uint64_t c = start; c < end; c++) {
            uint64_t t = c >> s->rb_bits;
            if (t >= entries) {
                fits = false;
                break;
            }
            if ((t < s->rt_size && s->rt[t]) || (nb && blocks[nb - 1] == t))
                continue;
            if (nb == tc + 64) {
                fits = false;
                break;
            }
            blocks[nb++] = t;
            end++;
        }
        if (fits)
            break;
        entries *= 2;
    }
    uint64_t *rt = calloc(entries, sizeof(uint64_t));
    uint8_t *bbuf = calloc(nb ? nb : 1, cs);
    uint8_t *tbuf = malloc(tc * cs);
    VsStatus st = VS_OK;
    if (!rt || !bbuf || !tbuf) {
        st = block_error(img, err, VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(rt, s->rt, s->rt_size * sizeof(uint64_t));
    for (uint64_t k = 0; k < nb; k++)
        rt[blocks[k]] = (start + tc + k) * cs;
    for (uint64_t c = start; c < end && st == VS_OK; c++) {
        uint64_t t = c >> s->rb_bits, k;
        for (k = 0; k < nb && blocks[k] != t; k++)
            ;
        if (k < nb)
            qcow2_rb_set(s, bbuf + k * cs, c & ((1ull << s->rb_bits) - 1), 1);
        else
            st = qcow2_set_refcount(img, c, 1, err);
    }
    if (st == VS_OK && nb)
        st = write_at(img, bbuf, nb * cs, (start + tc) * cs, "refcount block write", err);
    if (st == VS_OK)
        st = qcow2_flush_refcounts(img, err);
    for (uint64_t i = 0; i < entries; i++)
        qcow2_put_be64(tbuf + i * 8, rt[i]);
    if (st == VS_OK)
        st = write_at(img, tbuf, tc * cs, start * cs, "refcount table write", err);
    if (st == VS_OK)
        st = sync_file(img, err);
    uint64_t old_off = s->rt_offset, old_clusters = s->rt_clusters;
    if (st == VS_OK)
        st = qcow2_install_reftable(img, rt, entries, start * cs, (uint32_t)tc, err);
    if (st != VS_OK)
        goto out;
    rt = NULL;
    s->alloc_next = end;
    /* The old table is unreferenced now that the header points at the new one. */
    for (uint64_t c = old_off / cs; c < old_off / cs + old_clusters && st == VS_OK; c++) {
        uint64_t rc;
        st = qcow2_get_refcount(img, c, &rc, err);
        if (st == VS_OK && rc)
            st = qcow2_set_refcount(img, c, rc - 1, err);
    }
out:
    free(rt);
    free(bbuf);
    free(tbuf);
    free(blocks);
    return st;
}

VsStatus qcow2_alloc_clusters(BlockImage *img, uint64_t n, uint64_t *offset, VsError *err)
{
    Qcow2State *s = img->state;
    VsStatus st;
    unsigned skipped = 0;
retry:;
    uint64_t c = s->alloc_next;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = c + i, t = x >> s->rb_bits;
        if (t >= s->rt_size) {
            st = grow_reftable(img, t, err);
            if (st != VS_OK)
                return st;
            goto retry;
        }
        if (!s->rt[t]) {
            st = create_refblock(img, x, err);
            if (st != VS_OK)
                return st;
            s->alloc_next = x + 1;
            goto retry;
        }
        uint64_t rc;
        st = qcow2_get_refcount(img, x, &rc, err);
        if (st != VS_OK)
            return st;
        if (rc) {
            /* A refcount for a cluster nothing was allocated in: a leak (e.g. a crash
             * after the refcount block was written). Skip it, but not forever. */
            if (++skipped > 65536)
                return qcow2_corruption(img, err,
                                        "refcounts claim clusters past the end of the file");
            s->alloc_next = x + 1;
            goto retry;
        }
    }
    for (uint64_t i = 0; i < n; i++) {
        st = qcow2_set_refcount(img, c + i, 1, err);
        if (st != VS_OK)
            return st;
    }
    s->alloc_next = c + n;
    *offset = c * s->cluster_size;
    return VS_OK;
}

static VsStatus defer_free(BlockImage *img, uint64_t offset, uint64_t len, VsError *err)
{
    Qcow2State *s = img->state;
    if (s->n_frees == s->cap_frees) {
        size_t cap = s->cap_frees ? s->cap_frees * 2 : 64;
        Qcow2Free *nf = realloc(s->frees, cap * sizeof(*nf));
        if (!nf)
            return block_error(img, err, VS_ERR_NOMEM, "out of memory");
        s->frees = nf;
        s->cap_frees = cap;
    }
    s->frees[s->n_frees++] = (Qcow2Free){ offset, len };
    return VS_OK;
}

static VsStatus apply_frees(BlockImage *img, VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t cs = s->cluster_size;
    VsStatus st = VS_OK;
    for (size_t i = 0; i < s->n_frees && st == VS_OK; i++) {
        uint64_t first = s->frees[i].offset / cs;
        uint64_t last = (s->frees[i].offset + s->frees[i].len - 1) / cs;
        for (uint64_t c = first; c <= last && st == VS_OK; c++) {
            uint64_t rc;
            st = qcow2_get_refcount(img, c, &rc, err);
            if (st != VS_OK)
                break;
            if (!rc) {
                st = qcow2_corruption(img, err, "freeing cluster %llu whose refcount is 0",
                                      (unsigned long long)c);
                break;
            }
            st = qcow2_set_refcount(img, c, rc - 1, err);
            /* Give the space back to the host; nothing points at the cluster any more. */
            if (st == VS_OK && rc == 1)
                (void)fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                (off_t)(c * cs), (off_t)cs);
        }
    }
    s->n_frees = 0;
    s->dbuf_entry = 0;
    return st;
}

static VsStatus write_l1(BlockImage *img, VsError *err)
{
    Qcow2State *s = img->state;
    uint32_t lo = s->l1_dirty_lo, hi = s->l1_dirty_hi;
    if (lo >= hi)
        return VS_OK;
    uint8_t *b = malloc((size_t)(hi - lo) * 8);
    if (!b)
        return block_error(img, err, VS_ERR_NOMEM, "out of memory");
    for (uint32_t i = lo; i < hi; i++)
        qcow2_put_be64(b + (size_t)(i - lo) * 8, s->l1[i]);
    VsStatus st = write_at(img, b, (size_t)(hi - lo) * 8, s->l1_offset + (uint64_t)lo * 8,
                           "L1 table write", err);
    free(b);
    if (st == VS_OK)
        st = sync_file(img, err);
    if (st == VS_OK) {
        s->l1_dirty_lo = UINT32_MAX;
        s->l1_dirty_hi = 0;
    }
    return st;
}

static void l1_mark_dirty(Qcow2State *s, uint32_t index)
{
    if (index < s->l1_dirty_lo)
        s->l1_dirty_lo = index;
    if (index + 1 > s->l1_dirty_hi)
        s->l1_dirty_hi = index + 1;
}

VsStatus qcow2_flush_all(BlockImage *img, VsError *err)
{
    Qcow2State *s = img->state;
    VsStatus st = qcow2_flush_refcounts(img, err);
    if (st != VS_OK)
        return st;
    bool wrote = false;
    for (unsigned i = 0; i < s->l2_cache.n; i++) {
        Qcow2CacheSlot *sl = &s->l2_cache.slot[i];
        if (sl->offset && sl->dirty) {
            st = write_at(img, sl->data, s->cluster_size, sl->offset, "L2 table write", err);
            if (st != VS_OK)
                return st;
            sl->dirty = false;
            wrote = true;
        }
    }
    if (wrote && (st = sync_file(img, err)) != VS_OK)
        return st;
    if ((st = write_l1(img, err)) != VS_OK)
        return st;
    if (s->n_frees && !s->corrupt) {
        st = apply_frees(img, err);
        if (st == VS_OK)
            st = qcow2_flush_refcounts(img, err);
    }
    return st;
}

/* ---- open -------------------------------------------------------------------------------- */

static void qcow2_free_state(BlockImage *img)
{
    Qcow2State *s = img->state;
    if (!s)
        return;
    if (s->backing)
        block_close(s->backing, NULL);
    cache_free(&s->l2_cache);
    cache_free(&s->rb_cache);
    free(s->l2_set.v);
    free(s->rb_set.v);
    free(s->frees);
    free(s->l1);
    free(s->rt);
    free(s->feature_names);
    free(s->cow);
    free(s->zeros);
    free(s->cbuf);
    free(s->dbuf);
    if (s->zs_ready)
        inflateEnd(&s->zs);
    free(s);
    img->state = NULL;
}

static const char *incompat_name(const Qcow2State *s, int bit)
{
    return s->feature_names && s->feature_names[bit][0] ? s->feature_names[bit] : NULL;
}

static VsStatus parse_extensions(BlockImage *img, const uint8_t *h, uint64_t end, VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t off = s->header_length;
    while (off + 8 <= end) {
        uint32_t type = qcow2_be32(h + off), len = qcow2_be32(h + off + 4);
        off += 8;
        if (type == QCOW2_EXT_END)
            break;
        if (len > end - off)
            return block_open_error(img, err, VS_ERR_FORMAT,
                                    "header extension %#x runs past the header area", type);
        const uint8_t *d = h + off;
        switch (type) {
        case QCOW2_EXT_BACKING_FMT:
            if (len >= sizeof(s->backing_fmt))
                return block_open_error(img, err, VS_ERR_FORMAT,
                                        "backing format name is too long (%u bytes)", len);
            memcpy(s->backing_fmt, d, len);
            s->backing_fmt[len] = 0;
            break;
        case QCOW2_EXT_FEATURES:
            if (!s->feature_names && !(s->feature_names = calloc(64, sizeof(*s->feature_names))))
                return block_open_error(img, err, VS_ERR_NOMEM, "out of memory");
            for (uint32_t i = 0; i + 48 <= len; i += 48) {
                if (d[i] == 0 && d[i + 1] < 64) {
                    char *name = s->feature_names[d[i + 1]];
                    memcpy(name, d + i + 2, 46);
                    name[46] = 0;
                    for (char *p = name; *p; p++)
                        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
                            *p = '?';
                }
            }
            break;
        case QCOW2_EXT_BITMAPS:
            if (len < 24)
                return block_open_error(img, err, VS_ERR_FORMAT,
                                        "bitmaps header extension is too short");
            s->has_bitmaps = true;
            s->nb_bitmaps = qcow2_be32(d);
            s->bitmap_dir_size = qcow2_be64(d + 8);
            s->bitmap_dir_offset = qcow2_be64(d + 16);
            break;
        default: break; /* unknown extensions are safe to ignore */
        }
        off += align_up(len, 8);
    }
    return VS_OK;
}

static VsStatus check_incompat(BlockImage *img, VsError *err)
{
    Qcow2State *s = img->state;
    static const char *const known[] = {
        [2] = "an external data file",
        [3] = "a compression type other than zlib",
        [4] = "extended L2 entries (subclusters)",
    };
    for (int bit = 2; bit < 64; bit++) {
        if (!(s->incompat & (1ull << bit)))
            continue;
        const char *name = incompat_name(s, bit);
        if (bit < 5)
            return block_open_error(img, err, VS_ERR_UNSUPPORTED,
                                    "the image uses %s (incompatible feature bit %d), which "
                                    "Vessel does not support",
                                    known[bit], bit);
        return block_open_error(img, err, VS_ERR_UNSUPPORTED,
                                "unknown incompatible feature bit %d%s%s%s", bit, name ? " ('" : "",
                                name ? name : "", name ? "')" : "");
    }
    return VS_OK;
}

/* Does a host cluster hold the header, the L1 table, the refcount table or the snapshot
 * table? */
static bool is_fixed_metadata(const Qcow2State *s, uint64_t cluster)
{
    uint64_t cs = s->cluster_size;
    if (cluster == 0)
        return true;
    uint64_t l1_first = s->l1_offset / cs;
    uint64_t l1_end = (s->l1_offset + (uint64_t)s->l1_size * 8 + cs - 1) / cs;
    if (s->l1_size && cluster >= l1_first && cluster < l1_end)
        return true;
    uint64_t rt_first = s->rt_offset / cs;
    if (cluster >= rt_first && cluster < rt_first + s->rt_clusters)
        return true;
    return s->nb_snapshots && cluster == s->snapshots_offset / cs;
}

static VsStatus read_table(BlockImage *img, uint64_t offset, uint64_t entries, uint64_t **out,
                           const char *what, VsError *err)
{
    uint64_t *t = malloc((size_t)(entries ? entries : 1) * sizeof(uint64_t));
    if (!t)
        return block_open_error(img, err, VS_ERR_NOMEM, "out of memory for the %s", what);
    ssize_t n = entries ? block_fd_pread(img->fd, t, (size_t)entries * 8, offset) : 0;
    if (n < 0 || (uint64_t)n != entries * 8) {
        free(t);
        return block_open_error(img, err, VS_ERR_IO, "cannot read the %s: %s", what,
                                n < 0 ? strerror((int)-n) : "file too short");
    }
    for (uint64_t i = 0; i < entries; i++)
        t[i] = qcow2_be64(&t[i]);
    *out = t;
    return VS_OK;
}

static VsStatus parse_header(BlockImage *img, VsError *err, uint64_t *size_out)
{
    Qcow2State *s = img->state;
    uint8_t h[QCOW2_V3_HEADER_LEN] = { 0 };
    ssize_t n = block_fd_pread(img->fd, h, sizeof(h), 0);
    if (n < 0)
        return block_open_error(img, err, VS_ERR_IO, "%s", strerror((int)-n));
    if (n < QCOW2_V2_HEADER_LEN || qcow2_be32(h) != QCOW2_MAGIC)
        return block_open_error(img, err, VS_ERR_FORMAT, "not a qcow2 image (no qcow2 header)");
    s->version = qcow2_be32(h + 4);
    if (s->version != 2 && s->version != 3)
        return block_open_error(img, err, VS_ERR_UNSUPPORTED,
                                "qcow2 version %u is not supported (only 2 and 3)", s->version);
    uint64_t backing_off = qcow2_be64(h + 8);
    uint32_t backing_len = qcow2_be32(h + 16);
    s->cluster_bits = qcow2_be32(h + 20);
    uint64_t size = qcow2_be64(h + 24);
    uint32_t crypt = qcow2_be32(h + 32);
    s->l1_size = qcow2_be32(h + 36);
    s->l1_offset = qcow2_be64(h + 40);
    s->rt_offset = qcow2_be64(h + 48);
    s->rt_clusters = qcow2_be32(h + 56);
    s->nb_snapshots = qcow2_be32(h + 60);
    s->snapshots_offset = qcow2_be64(h + 64);
    if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
        return block_open_error(img, err, VS_ERR_FORMAT,
                                "cluster_bits %u is outside 9..21 (cluster sizes 512 B to 2 MiB)",
                                s->cluster_bits);
    uint64_t cs = s->cluster_size = 1ull << s->cluster_bits;
    if (s->version >= 3) {
        if (n < QCOW2_V3_HEADER_LEN)
            return block_open_error(img, err, VS_ERR_FORMAT, "the version 3 header is truncated");
        s->incompat = qcow2_be64(h + 72);
        s->compat = qcow2_be64(h + 80);
        s->autoclear = qcow2_be64(h + 88);
        s->refcount_order = qcow2_be32(h + 96);
        s->header_length = qcow2_be32(h + 100);
        if (s->header_length < QCOW2_V3_HEADER_LEN || (s->header_length & 7) ||
            s->header_length > cs)
            return block_open_error(img, err, VS_ERR_FORMAT, "header length %u is invalid",
                                    s->header_length);
    } else {
        s->refcount_order = 4;
        s->header_length = QCOW2_V2_HEADER_LEN;
    }

    /* The first cluster holds the header, its extensions and the backing file name. */
    uint8_t *c0 = malloc(cs);
    if (!c0)
        return block_open_error(img, err, VS_ERR_NOMEM, "out of memory");
    n = block_fd_pread(img->fd, c0, cs, 0);
    if (n < 0) {
        free(c0);
        return block_open_error(img, err, VS_ERR_IO, "%s", strerror((int)-n));
    }
    memset(c0 + n, 0, cs - (size_t)n);
    uint64_t ext_end = (backing_off && backing_off < cs) ? backing_off : cs;
    VsStatus st = ext_end > s->header_length ? parse_extensions(img, c0, ext_end, err) : VS_OK;
    /* Byte 104 names the compression type; non-zlib needs incompatible bit 3 (refused). */
    if (st == VS_OK && s->header_length > QCOW2_V3_HEADER_LEN && c0[QCOW2_V3_HEADER_LEN] &&
        !(s->incompat & QCOW2_INCOMPAT_COMPRESSION))
        st = block_open_error(img, err, VS_ERR_FORMAT,
                              "compression type %u is set without incompatible feature bit 3",
                              c0[QCOW2_V3_HEADER_LEN]);
    if (st == VS_OK && backing_off && backing_len) {
        if (backing_len > BLOCK_BACKING_NAME_MAX)
            st = block_open_error(img, err, VS_ERR_FORMAT,
                                  "backing file name is %u bytes long (at most %d)", backing_len,
                                  BLOCK_BACKING_NAME_MAX);
        else if (backing_off >= cs || backing_len > cs - backing_off ||
                 backing_off < s->header_length)
            st = block_open_error(img, err, VS_ERR_FORMAT,
                                  "backing file name is outside the header cluster");
        else if (memchr(c0 + backing_off, 0, backing_len))
            st = block_open_error(img, err, VS_ERR_FORMAT, "backing file name contains a NUL byte");
        else
            memcpy(s->backing_name, c0 + backing_off, backing_len);
    }
    free(c0);
    if (st != VS_OK)
        return st;

    if ((st = check_incompat(img, err)) != VS_OK)
        return st;
    if (crypt)
        return block_open_error(img, err, VS_ERR_UNSUPPORTED,
                                "the image is encrypted (method %u), which Vessel does not "
                                "support",
                                crypt);
    if (s->refcount_order > 6)
        return block_open_error(img, err, VS_ERR_FORMAT,
                                "refcount_order %u is invalid (at most 6: 64-bit refcounts)",
                                s->refcount_order);
    if (size > (uint64_t)INT64_MAX)
        return block_open_error(img, err, VS_ERR_FORMAT, "virtual size %llu is too large",
                                (unsigned long long)size);

    s->l2_bits = s->cluster_bits - 3;
    uint64_t fsz = s->file_size;
    if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return block_open_error(img, err, VS_ERR_FORMAT,
                                "L1 table has %u entries; at most %u are supported", s->l1_size,
                                QCOW2_MAX_L1_BYTES / 8);
    uint64_t needed = size ? ((size - 1) >> (s->cluster_bits + s->l2_bits)) + 1 : 0;
    if (s->l1_size < needed)
        return block_open_error(img, err, VS_ERR_FORMAT,
                                "L1 table (%u entries) is too small for the virtual size "
                                "(%llu bytes need %llu)",
                                s->l1_size, (unsigned long long)size, (unsigned long long)needed);
    if (s->l1_size) {
        if (s->l1_offset & (cs - 1))
            return block_open_error(img, err, VS_ERR_FORMAT,
                                    "L1 table offset %#llx is not aligned to a cluster",
                                    (unsigned long long)s->l1_offset);
        if (s->l1_offset == 0)
            return block_open_error(img, err, VS_ERR_FORMAT, "L1 table overlaps the header");
        if (s->l1_offset > fsz || (uint64_t)s->l1_size * 8 > fsz - s->l1_offset)
            return block_open_error(img, err, VS_ERR_FORMAT,
                                    "L1 table (offset %#llx, %u entries) is past the end of the "
                                    "file (%llu bytes)",
                                    (unsigned long long)s->l1_offset, s->l1_size,
                                    (unsigned long long)fsz);
    }
    uint64_t rt_bytes = (uint64_t)s->rt_clusters << s->cluster_bits;
    if (s->rt_offset & (cs - 1))
        return block_open_error(img, err, VS_ERR_FORMAT,
                                "refcount table offset %#llx is not aligned to a cluster",
                                (unsigned long long)s->rt_offset);
    if (s->rt_clusters == 0)
        return block_open_error(img, err, VS_ERR_FORMAT, "the refcount table is empty");
    if (rt_bytes > QCOW2_MAX_REFTABLE_BYTES)
        return block_open_error(img, err, VS_ERR_FORMAT,
                                "refcount table has %u clusters (%llu bytes; at most %u MiB are "
                                "supported)",
                                s->rt_clusters, (unsigned long long)rt_bytes,
                                QCOW2_MAX_REFTABLE_BYTES >> 20);
    if (s->rt_offset == 0)
        return block_open_error(img, err, VS_ERR_FORMAT, "refcount table overlaps the header");
    if (s->rt_offset > fsz || rt_bytes > fsz - s->rt_offset)
        return block_open_error(img, err, VS_ERR_FORMAT,
                                "refcount table (offset %#llx, %u clusters) is past the end of "
                                "the file (%llu bytes)",
                                (unsigned long long)s->rt_offset, s->rt_clusters,
                                (unsigned long long)fsz);
    if (s->l1_size && s->l1_offset < s->rt_offset + rt_bytes &&
        s->rt_offset < s->l1_offset + (uint64_t)s->l1_size * 8)
        return block_open_error(img, err, VS_ERR_FORMAT,
                                "the L1 table and the refcount table overlap");
    if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
        return block_open_error(img, err, VS_ERR_FORMAT, "%u snapshots (at most %u)",
                                s->nb_snapshots, QCOW2_MAX_SNAPSHOTS);
    if (s->nb_snapshots &&
        ((s->snapshots_offset & (cs - 1)) || !s->snapshots_offset || s->snapshots_offset >= fsz))
        return block_open_error(img, err, VS_ERR_FORMAT, "snapshot table offset %#llx is invalid",
                                (unsigned long long)s->snapshots_offset);
    *size_out = size;
    return VS_OK;
}

static VsStatus open_backing(BlockImage *img, VsError *err)
{
    Qcow2State *s = img->state;
    BlockFormat fmt = BLOCK_FORMAT_AUTO;
    if (s->backing_fmt[0]) {
        fmt = block_format_from_name(s->backing_fmt);
        if (fmt == BLOCK_FORMAT_AUTO)
            return block_open_error(img, err, VS_ERR_UNSUPPORTED,
                                    "backing file format '%s' is not supported", s->backing_fmt);
    }
    return block_open_backing(img, s->backing_name, fmt, &s->backing, err);
}

static VsStatus qcow2_open(BlockImage *img, VsError *err)
{
    Qcow2State *s = calloc(1, sizeof(*s));
    if (!s)
        return block_open_error(img, err, VS_ERR_NOMEM, "out of memory");
    img->state = s;
    s->l1_dirty_lo = UINT32_MAX;

    struct stat stt;
    if (fstat(img->fd, &stt) < 0) {
        VsStatus st = block_open_error(img, err, VS_ERR_IO, "%s", strerror(errno));
        qcow2_free_state(img);
        return st;
    }
    s->file_size = (uint64_t)stt.st_size;
    if (S_ISBLK(stt.st_mode)) {
        uint64_t bytes = 0;
        if (ioctl(img->fd, BLKGETSIZE64, &bytes) == 0)
            s->file_size = bytes;
    }

    uint64_t size = 0;
    VsStatus st = parse_header(img, err, &size);
    if (st == VS_OK)
        st = read_table(img, s->l1_offset, s->l1_size, &s->l1, "L1 table", err);
    if (st == VS_OK) {
        s->rt_size = ((uint64_t)s->rt_clusters << s->cluster_bits) / 8;
        st = read_table(img, s->rt_offset, s->rt_size, &s->rt, "refcount table", err);
    }
    if (st != VS_OK) {
        qcow2_free_state(img);
        return st;
    }
    uint64_t cs = s->cluster_size;
    s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
    s->refcount_max = s->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << s->refcount_order)) - 1;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
    s->alloc_next = align_up(s->file_size, cs) / cs;
    s->corrupt = s->incompat & QCOW2_INCOMPAT_CORRUPT;
    unsigned l2n = L2_CACHE_BYTES / cs, rbn = RB_CACHE_BYTES / cs;
    if (!set_build(&s->l2_set, s->l1, s->l1_size, cs) ||
        !set_build(&s->rb_set, s->rt, s->rt_size, cs) ||
        !cache_init(&s->l2_cache, l2n < 16 ? l2n : 16, cs) ||
        !cache_init(&s->rb_cache, rbn < 8 ? rbn : 8, cs) || !(s->cow = malloc(cs)) ||
        !(s->zeros = calloc(1, cs)) || !(s->cbuf = malloc(2 * cs)) || !(s->dbuf = malloc(cs))) {
        qcow2_free_state(img);
        return block_open_error(img, err, VS_ERR_NOMEM, "out of memory");
    }
    img->size = size;

    if (s->backing_name[0] && !(img->flags & BLOCK_OPEN_NO_BACKING) &&
        (st = open_backing(img, err)) != VS_OK) {
        qcow2_free_state(img);
        return st;
    }

    if (!(img->flags & BLOCK_OPEN_READ_ONLY) && !(img->flags & BLOCK_OPEN_FOR_REPAIR)) {
        if (s->corrupt) {
            img->read_only = true;
            img->ro_reason = corrupt_reason;
        } else if (s->nb_snapshots) {
            img->read_only = true;
            img->ro_reason = "the image has internal snapshots, which Vessel does not write to";
        }
    }
    if (!img->read_only) {
        /* Unknown autoclear features become invalid once we write: say so first. */
        if (s->autoclear && s->version >= 3) {
            s->autoclear = 0;
            st = qcow2_write_header_u64(img, QCOW2_OFF_AUTOCLEAR, 0, err);
        }
        if (st == VS_OK && (s->incompat & QCOW2_INCOMPAT_DIRTY) &&
            !(img->flags & BLOCK_OPEN_FOR_REPAIR)) {
            BlockCheckResult res;
            st = qcow2_check(img, true, &res, NULL, NULL, err);
            if (st == VS_OK && res.corruptions)
                st = block_open_error(img, err, VS_ERR_FORMAT,
                                      "the image was not closed cleanly and %llu problems remain "
                                      "after rebuilding its refcounts; run 'vessel-img check' "
                                      "on it",
                                      (unsigned long long)res.corruptions);
        }
        if (st != VS_OK) {
            qcow2_free_state(img);
            return st;
        }
    }
    return VS_OK;
}

static void qcow2_close(BlockImage *img)
{
    qcow2_free_state(img);
}

static VsStatus qcow2_flush(BlockImage *img, VsError *err)
{
    return qcow2_flush_all(img, err);
}

/* ---- reads ------------------------------------------------------------------------------- */

/* What is wrong with an L1 entry's L2 table offset, or NULL. Pure: no side effects. */
static const char *l2_table_problem(const Qcow2State *s, uint64_t off)
{
    if (off & (s->cluster_size - 1))
        return "points at an unaligned L2 table";
    if (off + s->cluster_size > s->file_size)
        return "points past the end of the file";
    uint64_t c = off / s->cluster_size;
    if (is_fixed_metadata(s, c) || qcow2_set_contains(&s->rb_set, c))
        return "points at other metadata";
    return NULL;
}

static VsStatus validate_l2_table(BlockImage *img, uint64_t l1_index, uint64_t off, VsError *err)
{
    const char *problem = l2_table_problem(img->state, off);
    if (!problem)
        return VS_OK;
    return qcow2_corruption(img, err, "L1 entry %llu %s (offset %#llx)",
                            (unsigned long long)l1_index, problem, (unsigned long long)off);
}

/* What is wrong with a normal data cluster's L2 entry, or NULL. Pure: no side effects. */
static const char *data_cluster_problem(const Qcow2State *s, uint64_t l2e)
{
    uint64_t host = l2e & QCOW2_OFFSET_MASK;
    if ((host & (s->cluster_size - 1)) || (l2e & QCOW2_L2E_RESERVED))
        return "is invalid";
    if (host >= s->file_size)
        return "points past the end of the file";
    uint64_t c = host / s->cluster_size;
    if (is_fixed_metadata(s, c) || qcow2_set_contains(&s->l2_set, c) ||
        qcow2_set_contains(&s->rb_set, c))
        return "points at metadata";
    return NULL;
}

static VsStatus validate_data_cluster(BlockImage *img, uint64_t guest, uint64_t l2e, VsError *err)
{
    const char *problem = data_cluster_problem(img->state, l2e);
    if (!problem)
        return VS_OK;
    return qcow2_corruption(img, err, "L2 entry for guest offset %#llx %s (entry %#llx)",
                            (unsigned long long)guest, problem, (unsigned long long)l2e);
}

/* The L2 entry of a guest cluster (0 if its L2 table is not allocated). */
static VsStatus l2_lookup(BlockImage *img, uint64_t gcluster, uint64_t *entry, VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t l1i = gcluster >> s->l2_bits;
    *entry = 0;
    if (l1i >= s->l1_size)
        return VS_OK;
    uint64_t off = s->l1[l1i] & QCOW2_OFFSET_MASK;
    if (!off)
        return VS_OK;
    VsStatus st = validate_l2_table(img, l1i, off, err);
    if (st != VS_OK)
        return st;
    uint8_t *data;
    int slot;
    st = qcow2_cache_get(img, &s->l2_cache, off, true, &data, &slot, err);
    if (st != VS_OK)
        return st;
    *entry = qcow2_be64(data + (gcluster & ((1ull << s->l2_bits) - 1)) * 8);
    return VS_OK;
}

static VsStatus decompress(BlockImage *img, uint64_t guest, uint64_t l2e, VsError *err)
{
    Qcow2State *s = img->state;
    if (s->dbuf_entry == l2e)
        return VS_OK;
    uint64_t coff, clen;
    qcow2_compressed_range(s, l2e, &coff, &clen);
    if ((coff >> 56) || coff >= s->file_size || coff < s->cluster_size)
        return qcow2_corruption(img, err,
                                "compressed cluster for guest offset %#llx has an invalid host "
                                "offset %#llx",
                                (unsigned long long)guest, (unsigned long long)coff);
    ssize_t n = block_fd_pread(img->fd, s->cbuf, (size_t)min_u64(clen, 2 * s->cluster_size), coff);
    if (n < 0)
        return io_error(img, err, "compressed cluster read", coff, (int)-n);
    if (!s->zs_ready) {
        memset(&s->zs, 0, sizeof(s->zs));
        if (inflateInit2(&s->zs, -15) != Z_OK)
            return block_error(img, err, VS_ERR_NOMEM, "cannot start zlib");
        s->zs_ready = true;
    } else {
        inflateReset(&s->zs);
    }
    s->zs.next_in = s->cbuf;
    s->zs.avail_in = (uInt)n;
    s->zs.next_out = s->dbuf;
    s->zs.avail_out = (uInt)s->cluster_size;
    int r = inflate(&s->zs, Z_FINISH);
    s->dbuf_entry = 0;
    if ((r != Z_STREAM_END && r != Z_BUF_ERROR && r != Z_OK) || s->zs.avail_out != 0)
        return block_error(img, err, VS_ERR_IO,
                           "compressed cluster for guest offset %#llx (host offset %#llx) does "
                           "not decompress to a full cluster",
                           (unsigned long long)guest, (unsigned long long)coff);
    s->dbuf_entry = l2e;
    return VS_OK;
}

static VsStatus read_backing(BlockImage *img, uint64_t offset, uint8_t *buf, size_t len,
                             VsError *err)
{
    Qcow2State *s = img->state;
    if (!s->backing) {
        if (s->backing_name[0])
            return block_error(img, err, VS_ERR_STATE,
                               "data at offset %llu is in the backing file, which was not "
                               "opened",
                               (unsigned long long)offset);
        memset(buf, 0, len);
        return VS_OK;
    }
    uint64_t bsize = block_size(s->backing);
    size_t have = offset >= bsize ? 0 : (size_t)min_u64(len, bsize - offset);
    if (have) {
        VsStatus st = block_pread(s->backing, offset, buf, have, err);
        if (st != VS_OK)
            return st;
    }
    memset(buf + have, 0, len - have);
    return VS_OK;
}

/* Contents of one guest cluster range [offset, offset+len) inside a single cluster. */
static VsStatus read_in_cluster(BlockImage *img, uint64_t offset, uint8_t *buf, size_t len,
                                uint64_t l2e, VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t in = offset & (s->cluster_size - 1);
    switch (qcow2_cluster_type(s, l2e)) {
    case QCOW2_UNALLOCATED: return read_backing(img, offset, buf, len, err);
    case QCOW2_ZERO_PLAIN:
    case QCOW2_ZERO_ALLOC: memset(buf, 0, len); return VS_OK;
    case QCOW2_COMPRESSED: {
        VsStatus st = decompress(img, offset, l2e, err);
        if (st == VS_OK)
            memcpy(buf, s->dbuf + in, len);
        return st;
    }
    case QCOW2_NORMAL:
    default: {
        VsStatus st = validate_data_cluster(img, offset, l2e, err);
        if (st == VS_OK)
            st = read_at(img, buf, len, (l2e & QCOW2_OFFSET_MASK) + in, "read", err);
        return st;
    }
    }
}

static VsStatus qcow2_pread(BlockImage *img, uint64_t offset, void *buf, size_t len, VsError *err)
{
    Qcow2State *s = img->state;
    uint8_t *p = buf;
    while (len) {
        uint64_t in = offset & (s->cluster_size - 1);
        size_t n = (size_t)min_u64(len, s->cluster_size - in);
        uint64_t l2e;
        VsStatus st = l2_lookup(img, offset >> s->cluster_bits, &l2e, err);
        if (st != VS_OK)
            return st;
        /* Contiguous host clusters are read with one call. */
        if (qcow2_cluster_type(s, l2e) == QCOW2_NORMAL && !in) {
            uint64_t host = l2e & QCOW2_OFFSET_MASK;
            while (n < len && n < (4u << 20)) {
                uint64_t next;
                st = l2_lookup(img, (offset + n) >> s->cluster_bits, &next, err);
                if (st != VS_OK)
                    return st;
                if (qcow2_cluster_type(s, next) != QCOW2_NORMAL ||
                    (next & QCOW2_OFFSET_MASK) != host + n ||
                    validate_data_cluster(img, offset + n, next, NULL) != VS_OK)
                    break;
                n += (size_t)min_u64(len - n, s->cluster_size);
            }
        }
        st = read_in_cluster(img, offset, p, n, l2e, err);
        if (st != VS_OK)
            return st;
        p += n;
        offset += n;
        len -= n;
    }
    return VS_OK;
}

/*
 * Direct reads (block_map_read): does [offset, offset+len) lie in normal data clusters
 * that are contiguous in the file, with every L2 table it needs already in the cache? Then
 * the data can be read from img->fd at *host without this driver. Never reads the file or
 * changes anything (it runs on the I/O thread): anything else (a cache miss, zero,
 * compressed or unallocated clusters, an entry that looks wrong) answers -1 and the read
 * goes through qcow2_pread, which loads, falls back to the backing file or reports the
 * corruption. The caller holds img->lock.
 */
static int qcow2_map_read(BlockImage *img, uint64_t offset, uint64_t len, uint64_t *host)
{
    Qcow2State *s = img->state;
    uint64_t first = 0, done = 0;
    while (done < len) {
        uint64_t g = offset + done, gc = g >> s->cluster_bits, in = g & (s->cluster_size - 1);
        uint64_t l1i = gc >> s->l2_bits;
        if (l1i >= s->l1_size)
            return -1;
        uint64_t off = s->l1[l1i] & QCOW2_OFFSET_MASK;
        if (!off || l2_table_problem(s, off))
            return -1;
        const uint8_t *table = qcow2_cache_peek(&s->l2_cache, off);
        if (!table)
            return -1;
        uint64_t l2e = qcow2_be64(table + (gc & ((1ull << s->l2_bits) - 1)) * 8);
        if (qcow2_cluster_type(s, l2e) != QCOW2_NORMAL || data_cluster_problem(s, l2e))
            return -1;
        uint64_t h = (l2e & QCOW2_OFFSET_MASK) + in;
        if (done == 0)
            first = h;
        else if (h != first + done)
            return -1;
        done += min_u64(len - done, s->cluster_size - in);
    }
    *host = first;
    return img->fd;
}

/* ---- writes ------------------------------------------------------------------------------ */

/* The L2 table for a guest cluster, allocated if missing, ready to be modified. */
static VsStatus l2_for_write(BlockImage *img, uint64_t gcluster, uint8_t **data, int *slot,
                             VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t l1i = gcluster >> s->l2_bits;
    if (l1i >= s->l1_size)
        return block_error(img, err, VS_ERR_INVALID, "write past the L1 table");
    uint64_t l1e = s->l1[l1i], off = l1e & QCOW2_OFFSET_MASK;
    VsStatus st;
    if (off) {
        if ((st = validate_l2_table(img, l1i, off, err)) != VS_OK)
            return st;
        if (!(l1e & QCOW2_OFLAG_COPIED)) {
            uint64_t rc;
            if ((st = qcow2_get_refcount(img, off / s->cluster_size, &rc, err)) != VS_OK)
                return st;
            if (rc != 1)
                return qcow2_corruption(img, err,
                                        "L2 table at %#llx is shared (refcount %llu) in an image "
                                        "without snapshots",
                                        (unsigned long long)off, (unsigned long long)rc);
            s->l1[l1i] |= QCOW2_OFLAG_COPIED;
            l1_mark_dirty(s, (uint32_t)l1i);
        }
        return qcow2_cache_get(img, &s->l2_cache, off, true, data, slot, err);
    }
    if ((st = qcow2_alloc_clusters(img, 1, &off, err)) != VS_OK)
        return st;
    if (!qcow2_set_insert(&s->l2_set, off / s->cluster_size))
        return block_error(img, err, VS_ERR_NOMEM, "out of memory");
    if ((st = qcow2_cache_get(img, &s->l2_cache, off, false, data, slot, err)) != VS_OK)
        return st;
    if (off + s->cluster_size > s->file_size)
        s->file_size = off + s->cluster_size;
    qcow2_cache_mark_dirty(&s->l2_cache, *slot);
    s->l1[l1i] = off | QCOW2_OFLAG_COPIED;
    l1_mark_dirty(s, (uint32_t)l1i);
    return VS_OK;
}

/* Queue the release of the host clusters an L2 entry used. */
static VsStatus release_entry(BlockImage *img, uint64_t l2e, VsError *err)
{
    Qcow2State *s = img->state;
    switch (qcow2_cluster_type(s, l2e)) {
    case QCOW2_NORMAL:
    case QCOW2_ZERO_ALLOC: return defer_free(img, l2e & QCOW2_OFFSET_MASK, s->cluster_size, err);
    case QCOW2_COMPRESSED: {
        uint64_t off, len;
        qcow2_compressed_range(s, l2e, &off, &len);
        return defer_free(img, off, len, err);
    }
    default: return VS_OK;
    }
}

static VsStatus write_in_cluster(BlockImage *img, uint64_t offset, const uint8_t *buf, size_t len,
                                 VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t cs = s->cluster_size, gcluster = offset >> s->cluster_bits;
    uint64_t in = offset & (cs - 1);
    uint8_t *l2;
    int slot;
    VsStatus st = l2_for_write(img, gcluster, &l2, &slot, err);
    if (st != VS_OK)
        return st;
    uint8_t *ep = l2 + (gcluster & ((1ull << s->l2_bits) - 1)) * 8;
    uint64_t l2e = qcow2_be64(ep);
    Qcow2ClusterType type = qcow2_cluster_type(s, l2e);
    if (type == QCOW2_NORMAL) {
        if ((st = validate_data_cluster(img, offset, l2e, err)) != VS_OK)
            return st;
        if (!(l2e & QCOW2_OFLAG_COPIED)) {
            uint64_t rc;
            if ((st = qcow2_get_refcount(img, (l2e & QCOW2_OFFSET_MASK) / cs, &rc, err)) != VS_OK)
                return st;
            if (rc == 1) {
                l2e |= QCOW2_OFLAG_COPIED;
                qcow2_put_be64(ep, l2e);
                qcow2_cache_mark_dirty(&s->l2_cache, slot);
            }
        }
        if (l2e & QCOW2_OFLAG_COPIED)
            return write_at(img, buf, len, (l2e & QCOW2_OFFSET_MASK) + in, "write", err);
    }
    /* A new cluster: copy what the write does not cover from where it was visible. */
    const uint8_t *src = buf;
    if (len < cs) {
        switch (type) {
        case QCOW2_UNALLOCATED: st = read_backing(img, offset - in, s->cow, (size_t)cs, err); break;
        case QCOW2_ZERO_PLAIN:
        case QCOW2_ZERO_ALLOC: memset(s->cow, 0, cs); break;
        case QCOW2_COMPRESSED:
            st = decompress(img, offset, l2e, err);
            if (st == VS_OK)
                memcpy(s->cow, s->dbuf, cs);
            break;
        case QCOW2_NORMAL:
            st = read_at(img, s->cow, cs, l2e & QCOW2_OFFSET_MASK, "copy-on-write read", err);
            break;
        }
        if (st != VS_OK)
            return st;
        memcpy(s->cow + in, buf, len);
        src = s->cow;
    }
    uint64_t host;
    if ((st = qcow2_alloc_clusters(img, 1, &host, err)) != VS_OK)
        return st;
    if ((st = write_at(img, src, cs, host, "write", err)) != VS_OK)
        return st;
    if ((st = release_entry(img, l2e, err)) != VS_OK)
        return st;
    /* The refcount allocation may not evict L2 tables, so ep is still valid. */
    qcow2_put_be64(ep, host | QCOW2_OFLAG_COPIED);
    qcow2_cache_mark_dirty(&s->l2_cache, slot);
    return VS_OK;
}

static VsStatus qcow2_pwrite(BlockImage *img, uint64_t offset, const void *buf, size_t len,
                             VsError *err)
{
    Qcow2State *s = img->state;
    const uint8_t *p = buf;
    if (s->corrupt)
        return block_error(img, err, VS_ERR_STATE, "writes are refused: %s", corrupt_reason);
    while (len) {
        uint64_t in = offset & (s->cluster_size - 1);
        size_t n = (size_t)min_u64(len, s->cluster_size - in);
        VsStatus st = write_in_cluster(img, offset, p, n, err);
        if (st != VS_OK)
            return st;
        p += n;
        offset += n;
        len -= n;
    }
    return VS_OK;
}

/* Make whole clusters read as zeros (write_zeroes) or release them (discard). */
static VsStatus zero_clusters(BlockImage *img, uint64_t offset, uint64_t len, bool discard,
                              VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t cs = s->cluster_size;
    if (s->corrupt)
        return block_error(img, err, VS_ERR_STATE, "writes are refused: %s", corrupt_reason);
    while (len) {
        uint64_t in = offset & (cs - 1);
        uint64_t n = min_u64(len, cs - in);
        uint64_t gc = offset >> s->cluster_bits;
        uint64_t l2e;
        VsStatus st = l2_lookup(img, gc, &l2e, err);
        if (st != VS_OK)
            return st;
        Qcow2ClusterType type = qcow2_cluster_type(s, l2e);
        bool reads_zero = type == QCOW2_ZERO_PLAIN || type == QCOW2_ZERO_ALLOC ||
                          (type == QCOW2_UNALLOCATED && !s->backing_name[0]);
        /* The last cluster of a disk whose size is not a multiple counts as whole. */
        bool whole = !in && (n == cs || offset + n == img->size);
        if (reads_zero && !(whole && type == QCOW2_ZERO_ALLOC)) {
            /* Already reads as zeros. */
        } else if (!whole || (s->backing_name[0] && s->version < 3)) {
            /* Partial cluster, or v2 over a backing file: real zeros (discard: leave it). */
            if (!discard)
                st = write_in_cluster(img, offset, s->zeros, (size_t)n, err);
        } else {
            uint8_t *l2;
            int slot;
            if ((st = l2_for_write(img, gc, &l2, &slot, err)) != VS_OK)
                return st;
            uint8_t *ep = l2 + (gc & ((1ull << s->l2_bits) - 1)) * 8;
            uint64_t old = qcow2_be64(ep);
            if (qcow2_cluster_type(s, old) == QCOW2_NORMAL &&
                (st = validate_data_cluster(img, offset, old, err)) != VS_OK)
                return st;
            if ((st = release_entry(img, old, err)) != VS_OK)
                return st;
            qcow2_put_be64(ep, s->backing_name[0] ? QCOW2_OFLAG_ZERO : 0);
            qcow2_cache_mark_dirty(&s->l2_cache, slot);
            if (old == s->dbuf_entry)
                s->dbuf_entry = 0;
        }
        if (st != VS_OK)
            return st;
        offset += n;
        len -= n;
    }
    return VS_OK;
}

static VsStatus qcow2_discard(BlockImage *img, uint64_t offset, uint64_t len, VsError *err)
{
    return zero_clusters(img, offset, len, true, err);
}

static VsStatus qcow2_write_zeroes(BlockImage *img, uint64_t offset, uint64_t len, VsError *err)
{
    return zero_clusters(img, offset, len, false, err);
}

/* ---- info -------------------------------------------------------------------------------- */

static VsStatus qcow2_get_info(BlockImage *img, BlockInfo *info, VsError *err)
{
    Qcow2State *s = img->state;
    info->cluster_size = (uint32_t)s->cluster_size;
    info->qcow2_version = s->version;
    info->refcount_bits = 1u << s->refcount_order;
    info->snapshots = s->nb_snapshots;
    info->dirty = s->incompat & QCOW2_INCOMPAT_DIRTY;
    info->corrupt = s->corrupt;
    info->lazy_refcounts = s->compat & QCOW2_COMPAT_LAZY_REFCOUNT;
    snprintf(info->backing_file, sizeof(info->backing_file), "%s", s->backing_name);
    snprintf(info->backing_format, sizeof(info->backing_format), "%s", s->backing_fmt);
    uint64_t count = 0, entries = 1ull << s->l2_bits;
    uint64_t total = (img->size + s->cluster_size - 1) >> s->cluster_bits;
    /* Each L2 table is counted once: a hostile L1 could point every entry at one table. */
    Qcow2Set seen = { 0 };
    for (uint64_t i = 0; i < s->l1_size && i * entries < total; i++) {
        uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK;
        if (!l2off || qcow2_set_contains(&seen, l2off))
            continue;
        if (!qcow2_set_insert(&seen, l2off)) {
            free(seen.v);
            return block_error(img, err, VS_ERR_NOMEM, "out of memory");
        }
        for (uint64_t j = 0; j < entries && i * entries + j < total; j++) {
            uint64_t l2e;
            VsStatus st = l2_lookup(img, i * entries + j, &l2e, err);
            if (st != VS_OK) {
                free(seen.v);
                return st;
            }
            Qcow2ClusterType t = qcow2_cluster_type(s, l2e);
            if (t == QCOW2_NORMAL || t == QCOW2_COMPRESSED)
                count++;
        }
    }
    free(seen.v);
    info->allocated = min_u64(count << s->cluster_bits, img->size);
    return VS_OK;
}

/* ---- create ------------------------------------------------------------------------------ */

static VsStatus create_error(const BlockCreateOptions *o, VsError *err, VsStatus st,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static VsStatus create_error(const BlockCreateOptions *o, VsError *err, VsStatus st,
                             const char *fmt, ...)
{
    char msg[VS_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return vs_error_set(err, st, "cannot create disk image '%s': %s", o->path, msg);
}

/* Find the size and format of the backing file, refusing a file that is the image itself. */
static VsStatus probe_backing(const BlockCreateOptions *o, uint64_t *size, BlockFormat *fmt,
                              VsError *err)
{
    char *path = block_backing_path(o->path, o->backing_file);
    if (!path)
        return create_error(o, err, VS_ERR_NOMEM, "out of memory");
    struct stat a, b;
    if (stat(path, &a) == 0 && stat(o->path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino) {
        free(path);
        return create_error(o, err, VS_ERR_INVALID, "the backing file is the image itself");
    }
    BlockImage *bimg;
    VsError inner = { 0 };
    VsStatus st = block_open(path, o->backing_format, BLOCK_OPEN_READ_ONLY, &bimg, &inner);
    free(path);
    if (st != VS_OK)
        return create_error(o, err, st, "backing file: %s", inner.message);
    *size = block_size(bimg);
    *fmt = bimg->drv->format;
    block_close(bimg, NULL);
    return VS_OK;
}

static VsStatus qcow2_create(const BlockCreateOptions *o, VsError *err)
{
    uint64_t cs = o->cluster_size ? o->cluster_size : 65536;
    uint32_t version = o->qcow2_version ? o->qcow2_version : 3;
    if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1)))
        return create_error(o, err, VS_ERR_INVALID,
                            "cluster size %llu is not a power of two from 512 to 2M",
                            (unsigned long long)cs);
    if (version != 2 && version != 3)
        return create_error(o, err, VS_ERR_INVALID, "qcow2 version %u (use 2 or 3)", version);
    uint64_t size = o->size;
    BlockFormat bfmt = o->backing_format;
    size_t blen = o->backing_file ? strlen(o->backing_file) : 0;
    if (o->backing_file) {
        if (!blen || blen > BLOCK_BACKING_NAME_MAX)
            return create_error(o, err, VS_ERR_INVALID,
                                "backing file name must be 1 to %d bytes long",
                                BLOCK_BACKING_NAME_MAX);
        uint64_t bsize;
        VsStatus st = probe_backing(o, &bsize, &bfmt, err);
        if (st != VS_OK)
            return st;
        if (!size)
            size = bsize;
    }
    if (size > (uint64_t)INT64_MAX)
        return create_error(o, err, VS_ERR_INVALID, "size is too large");
    unsigned bits = (unsigned)__builtin_ctzll(cs);
    uint64_t l2_cover = cs * (cs / 8);
    uint64_t l1_size = size ? (size - 1) / l2_cover + 1 : 1;
    if (l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return create_error(o, err, VS_ERR_INVALID,
                            "size is too large for %llu-byte clusters (use larger clusters)",
                            (unsigned long long)cs);
    /* Layout: header, refcount table, refcount blocks, L1 table; 16-bit refcounts. */
    uint64_t l1c = (l1_size * 8 + cs - 1) / cs, per_rb = cs * 8 / 16, rtc = 1, rbc = 1, total;
    for (;;) {
        total = 1 + rtc + rbc + l1c;
        uint64_t need_rb = (total + per_rb - 1) / per_rb;
        uint64_t need_rtc = (need_rb * 8 + cs - 1) / cs;
        if (need_rb <= rbc && need_rtc <= rtc)
            break;
        rbc = need_rb > rbc ? need_rb : rbc;
        rtc = need_rtc > rtc ? need_rtc : rtc;
    }
    uint8_t *meta = calloc(total, cs);
    if (!meta)
        return create_error(o, err, VS_ERR_NOMEM, "out of memory");
    uint64_t rt_off = cs, rb_off = (1 + rtc) * cs, l1_off = (1 + rtc + rbc) * cs;
    uint8_t *h = meta;
    qcow2_put_be32(h, QCOW2_MAGIC);
    qcow2_put_be32(h + 4, version);
    qcow2_put_be32(h + 20, bits);
    qcow2_put_be64(h + 24, size);
    qcow2_put_be32(h + 36, (uint32_t)l1_size);
    qcow2_put_be64(h + 40, l1_off);
    qcow2_put_be64(h + 48, rt_off);
    qcow2_put_be32(h + 56, (uint32_t)rtc);
    uint64_t p = QCOW2_V2_HEADER_LEN;
    if (version == 3) {
        qcow2_put_be32(h + 96, 4);
        qcow2_put_be32(h + 100, QCOW2_V3_HEADER_LEN);
        p = QCOW2_V3_HEADER_LEN;
    }
    if (o->backing_file) {
        const char *fname = block_format_name(bfmt);
        size_t flen = strlen(fname);
        qcow2_put_be32(h + p, QCOW2_EXT_BACKING_FMT);
        qcow2_put_be32(h + p + 4, (uint32_t)flen);
        memcpy(h + p + 8, fname, flen);
        p += 8 + align_up(flen, 8);
    }
    p += 8; /* end-of-extensions marker: type 0, length 0 */
    if (o->backing_file) {
        if (p + blen > cs) {
            free(meta);
            return create_error(o, err, VS_ERR_INVALID,
                                "the backing file name does not fit in the header cluster");
        }
        qcow2_put_be64(h + 8, p);
        qcow2_put_be32(h + 16, (uint32_t)blen);
        memcpy(h + p, o->backing_file, blen);
    }
    for (uint64_t i = 0; i < rbc; i++)
        qcow2_put_be64(meta + rt_off + i * 8, rb_off + i * cs);
    for (uint64_t c = 0; c < total; c++)
        qcow2_put_be16(meta + rb_off + c * 2, 1);
    VsStatus st = VS_OK;
    int fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = create_error(o, err, VS_ERR_IO, "%s", strerror(errno));
    } else {
        int r = block_fd_pwrite(fd, meta, total * cs, 0);
        if (r == 0)
            r = block_fd_sync(fd);
        if (r < 0)
            st = create_error(o, err, VS_ERR_IO, "%s", strerror(-r));
        close(fd);
    }
    free(meta);
    return st;
}

const BlockDriver block_driver_qcow2 = {
    .name = "qcow2",
    .format = BLOCK_FORMAT_QCOW2,
    .open = qcow2_open,
    .close = qcow2_close,
    .pread = qcow2_pread,
    .map_read = qcow2_map_read,
    .pwrite = qcow2_pwrite,
    .flush = qcow2_flush,
    .discard = qcow2_discard,
    .write_zeroes = qcow2_write_zeroes,
    .get_info = qcow2_get_info,
    .check = qcow2_check,
    .create = qcow2_create,
};
