/* SPDX-License-Identifier: MIT */
/*
 * qcow2 consistency check and repair. Every reference in the image (header, L1/L2 tables,
 * data and compressed clusters, refcount structures, snapshots, persistent bitmaps) is
 * counted per host cluster and compared with the stored refcounts: a stored refcount below
 * the count is a corruption (the cluster could be handed out twice), above it a leak.
 * Repair rewrites the refcounts to the counts (in place, or as a new refcount structure at
 * the end of the file when the old one is unusable) and fixes the COPIED flags.
 * Classification and exit codes follow qemu-img check.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"
#include "core/machine.h"

#define MAX_SNAPSHOT_EXTRA 1024
#define MAX_BITMAP_DIR     (64u << 20)

typedef struct Check {
    BlockImage *img;
    Qcow2State *s;
    uint32_t *refs; /* references counted per host cluster */
    uint64_t nclusters;
    uint8_t *bad_rb; /* per refcount table entry: the block is unusable */
    bool rt_broken;  /* refcount structure must be rebuilt, not patched */
    uint64_t budget; /* clusters of tables still allowed to be walked */
    bool repair;
    BlockCheckResult *res;
    BlockCheckReport report;
    void *opaque;
} Check;

static void say(Check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(Check *c, const char *fmt, ...)
{
    if (!c->report)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->report(c->opaque, line);
}

#define CORRUPT(c, ...)                 \
    do {                                \
        (c)->res->corruptions++;        \
        say((c), "ERROR " __VA_ARGS__); \
    } while (0)

static bool inc_range(Check *c, uint64_t off, uint64_t len, const char *what)
{
    if (!len)
        return true;
    uint64_t cs = c->s->cluster_size;
    uint64_t first = off / cs, last = (off + len - 1) / cs;
    if (off + len < off || last >= c->nclusters) {
        CORRUPT(c, "%s at offset %#llx is past the end of the file", what, (unsigned long long)off);
        return false;
    }
    for (uint64_t i = first; i <= last; i++)
        if (c->refs[i] < UINT32_MAX)
            c->refs[i]++;
    return true;
}

static void dec_range(Check *c, uint64_t off, uint64_t len)
{
    uint64_t cs = c->s->cluster_size;
    for (uint64_t i = off / cs; len && i <= (off + len - 1) / cs && i < c->nclusters; i++)
        if (c->refs[i])
            c->refs[i]--;
}

static VsStatus spend(Check *c, uint64_t clusters, VsError *err)
{
    if (clusters > c->budget)
        return block_error(c->img, err, VS_ERR_FORMAT,
                           "the image's tables reference far more data than the file holds; "
                           "it is corrupt beyond checking");
    c->budget -= clusters;
    return VS_OK;
}

static VsStatus walk_l2(Check *c, uint64_t l2_off, uint64_t l1_index, bool active, VsError *err)
{
    Qcow2State *s = c->s;
    uint8_t *t;
    int slot;
    VsStatus st = qcow2_cache_get(c->img, &s->l2_cache, l2_off, true, &t, &slot, err);
    if (st != VS_OK)
        return st;
    uint64_t entries = 1ull << s->l2_bits;
    for (uint64_t j = 0; j < entries; j++) {
        uint64_t e = qcow2_be64(t + j * 8);
        uint64_t guest = ((l1_index << s->l2_bits) + j) << s->cluster_bits;
        switch (qcow2_cluster_type(s, e)) {
        case QCOW2_COMPRESSED: {
            uint64_t off, len;
            qcow2_compressed_range(s, e, &off, &len);
            if (e & QCOW2_OFLAG_COPIED) {
                CORRUPT(c, "compressed cluster for guest offset %#llx has the copied flag",
                        (unsigned long long)guest);
                break;
            }
            if (off >> 56) {
                CORRUPT(c, "compressed cluster for guest offset %#llx has an invalid offset",
                        (unsigned long long)guest);
                break;
            }
            if (inc_range(c, off, len, "compressed cluster") && active)
                c->res->allocated_clusters++;
            break;
        }
        case QCOW2_NORMAL:
        case QCOW2_ZERO_ALLOC: {
            uint64_t off = e & QCOW2_OFFSET_MASK;
            if (e & QCOW2_L2E_RESERVED) {
                CORRUPT(c, "L2 entry for guest offset %#llx has reserved bits set (%#llx)",
                        (unsigned long long)guest, (unsigned long long)e);
                break;
            }
            if (off & (s->cluster_size - 1)) {
                CORRUPT(c, "L2 entry for guest offset %#llx is not cluster aligned (%#llx)",
                        (unsigned long long)guest, (unsigned long long)off);
                break;
            }
            if (inc_range(c, off, s->cluster_size, "data cluster") && active &&
                qcow2_cluster_type(s, e) == QCOW2_NORMAL)
                c->res->allocated_clusters++;
            break;
        }
        default: break;
        }
    }
    return VS_OK;
}

/* Is an L1 entry a usable pointer? Reports why not. */
static bool l1_entry_ok(Check *c, uint64_t e, uint64_t i)
{
    Qcow2State *s = c->s;
    uint64_t off = e & QCOW2_OFFSET_MASK;
    if (e & QCOW2_L1E_RESERVED) {
        CORRUPT(c, "L1 entry %llu has reserved bits set (%#llx)", (unsigned long long)i,
                (unsigned long long)e);
        return false;
    }
    if (off & (s->cluster_size - 1)) {
        CORRUPT(c, "L1 entry %llu points at an unaligned L2 table (%#llx)", (unsigned long long)i,
                (unsigned long long)off);
        return false;
    }
    if (off / s->cluster_size >= c->nclusters) {
        CORRUPT(c, "L2 table at %#llx (L1 entry %llu) is past the end of the file",
                (unsigned long long)off, (unsigned long long)i);
        return false;
    }
    return true;
}

static VsStatus walk_l1(Check *c, const uint64_t *l1, uint32_t l1_size, uint64_t l1_off,
                        bool active, VsError *err)
{
    Qcow2State *s = c->s;
    if (!inc_range(c, l1_off, (uint64_t)l1_size * 8, active ? "L1 table" : "snapshot L1 table"))
        return VS_OK;
    for (uint64_t i = 0; i < l1_size; i++) {
        uint64_t off = l1[i] & QCOW2_OFFSET_MASK;
        if (!off || !l1_entry_ok(c, l1[i], i))
            continue;
        uint64_t cl = off / s->cluster_size;
        bool first = c->refs[cl] == 0;
        inc_range(c, off, s->cluster_size, "L2 table");
        /* An active L2 table referenced twice is reported through its refcount; walking it
         * again would only repeat the same counts. */
        if (active && !first)
            continue;
        VsStatus st = spend(c, 1, err);
        if (st == VS_OK)
            st = walk_l2(c, off, i, active, err);
        if (st != VS_OK)
            return st;
    }
    return VS_OK;
}

static uint64_t *read_be_table(BlockImage *img, uint64_t off, uint64_t n)
{
    uint64_t *t = malloc((size_t)(n ? n : 1) * 8);
    if (!t)
        return NULL;
    ssize_t r = n ? block_fd_pread(img->fd, t, (size_t)n * 8, off) : 0;
    if (r < 0 || (uint64_t)r != n * 8) {
        free(t);
        return NULL;
    }
    for (uint64_t i = 0; i < n; i++)
        t[i] = qcow2_be64(&t[i]);
    return t;
}

static VsStatus walk_snapshots(Check *c, VsError *err)
{
    Qcow2State *s = c->s;
    uint64_t off = s->snapshots_offset, fsz = s->file_size;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint8_t h[40];
        if (off > fsz || fsz - off < sizeof(h) ||
            block_fd_pread(c->img->fd, h, sizeof(h), off) != (ssize_t)sizeof(h)) {
            CORRUPT(c, "snapshot table entry %u is past the end of the file", i);
            return VS_OK;
        }
        uint64_t l1_off = qcow2_be64(h);
        uint32_t l1_size = qcow2_be32(h + 8);
        uint32_t extra = qcow2_be32(h + 36);
        if (extra > MAX_SNAPSHOT_EXTRA) {
            CORRUPT(c, "snapshot %u has %u bytes of extra data", i, extra);
            return VS_OK;
        }
        off += (40 + extra + qcow2_be16(h + 12) + qcow2_be16(h + 14) + 7) & ~7ull;
        if ((l1_off & (s->cluster_size - 1)) || (uint64_t)l1_size * 8 > QCOW2_MAX_L1_BYTES ||
            l1_off > fsz || (uint64_t)l1_size * 8 > fsz - l1_off) {
            CORRUPT(c, "snapshot %u has an invalid L1 table (offset %#llx, %u entries)", i,
                    (unsigned long long)l1_off, l1_size);
            continue;
        }
        VsStatus st = spend(c, ((uint64_t)l1_size * 8 >> s->cluster_bits) + 1, err);
        if (st != VS_OK)
            return st;
        uint64_t *l1 = read_be_table(c->img, l1_off, l1_size);
        if (!l1)
            return block_error(c->img, err, VS_ERR_IO, "cannot read snapshot %u's L1 table", i);
        st = walk_l1(c, l1, l1_size, l1_off, false, err);
        free(l1);
        if (st != VS_OK)
            return st;
    }
    inc_range(c, s->snapshots_offset, off - s->snapshots_offset, "snapshot table");
    return VS_OK;
}

static VsStatus walk_bitmaps(Check *c, VsError *err)
{
    Qcow2State *s = c->s;
    uint64_t cs = s->cluster_size, fsz = s->file_size;
    uint64_t doff = s->bitmap_dir_offset, dsz = s->bitmap_dir_size;
    if ((doff & (cs - 1)) || dsz > MAX_BITMAP_DIR || doff > fsz || dsz > fsz - doff) {
        CORRUPT(c, "bitmap directory (offset %#llx, %llu bytes) is invalid",
                (unsigned long long)doff, (unsigned long long)dsz);
        return VS_OK;
    }
    inc_range(c, doff, dsz, "bitmap directory");
    uint8_t *d = malloc(dsz ? dsz : 1);
    if (!d)
        return block_error(c->img, err, VS_ERR_NOMEM, "out of memory");
    if (block_fd_pread(c->img->fd, d, dsz, doff) != (ssize_t)dsz) {
        free(d);
        return block_error(c->img, err, VS_ERR_IO, "cannot read the bitmap directory");
    }
    uint64_t pos = 0;
    VsStatus st = VS_OK;
    for (uint32_t i = 0; i < s->nb_bitmaps && st == VS_OK; i++) {
        if (dsz - pos < 24) {
            CORRUPT(c, "bitmap directory entry %u is truncated", i);
            break;
        }
        const uint8_t *e = d + pos;
        uint64_t toff = qcow2_be64(e);
        uint32_t tsize = qcow2_be32(e + 8);
        pos += (24 + (uint64_t)qcow2_be32(e + 20) + qcow2_be16(e + 18) + 7) & ~7ull;
        if (pos > dsz) {
            CORRUPT(c, "bitmap directory entry %u is truncated", i);
            break;
        }
        if ((toff & (cs - 1)) || (uint64_t)tsize * 8 > QCOW2_MAX_L1_BYTES || toff > fsz ||
            (uint64_t)tsize * 8 > fsz - toff) {
            CORRUPT(c, "bitmap %u has an invalid table (offset %#llx)", i,
                    (unsigned long long)toff);
            continue;
        }
        inc_range(c, toff, (uint64_t)tsize * 8, "bitmap table");
        if ((st = spend(c, ((uint64_t)tsize * 8 >> s->cluster_bits) + 1, err)) != VS_OK)
            break;
        uint64_t *t = read_be_table(c->img, toff, tsize);
        if (!t) {
            st = block_error(c->img, err, VS_ERR_IO, "cannot read bitmap %u's table", i);
            break;
        }
        for (uint32_t k = 0; k < tsize; k++) {
            uint64_t off = t[k] & QCOW2_OFFSET_MASK;
            if (off && !(off & (cs - 1)))
                inc_range(c, off, cs, "bitmap data");
        }
        free(t);
    }
    free(d);
    return st;
}

/* Count references of the refcount structure itself; mark unusable blocks. */
static void walk_refcount_structure(Check *c, bool count)
{
    Qcow2State *s = c->s;
    uint64_t cs = s->cluster_size;
    if (count)
        inc_range(c, s->rt_offset, (uint64_t)s->rt_clusters * cs, "refcount table");
    for (uint64_t t = 0; t < s->rt_size; t++) {
        uint64_t e = s->rt[t], off = e & ~QCOW2_RTE_RESERVED;
        if (!e)
            continue;
        if (!qcow2_refblock_entry_ok(s, e) || off / cs >= c->nclusters) {
            if (count) {
                CORRUPT(c, "refcount block %llu has an invalid offset (%#llx)",
                        (unsigned long long)t, (unsigned long long)e);
                c->bad_rb[t] = 1;
                c->rt_broken = true;
            }
            continue;
        }
        if (count) {
            inc_range(c, off, cs, "refcount block");
        } else if (!c->bad_rb[t]) {
            dec_range(c, off, cs);
        }
    }
    if (!count)
        dec_range(c, s->rt_offset, (uint64_t)s->rt_clusters * cs);
}

static VsStatus disk_refcount(Check *c, uint64_t cluster, uint64_t *rc, VsError *err)
{
    uint64_t t = cluster >> c->s->rb_bits;
    if (t >= c->s->rt_size || !c->s->rt[t] || c->bad_rb[t]) {
        *rc = 0;
        return VS_OK;
    }
    return qcow2_get_refcount(c->img, cluster, rc, err);
}

static VsStatus compare_one(Check *c, uint64_t cl, VsError *err)
{
    uint64_t disk;
    VsStatus st = disk_refcount(c, cl, &disk, err);
    if (st != VS_OK)
        return st;
    uint64_t ref = cl < c->nclusters ? c->refs[cl] : 0;
    if (disk == ref)
        return VS_OK;
    uint64_t t = cl >> c->s->rb_bits;
    bool no_block = t >= c->s->rt_size || !c->s->rt[t] || c->bad_rb[t];
    if (disk < ref) {
        CORRUPT(c, "cluster %llu refcount=%llu reference=%llu%s", (unsigned long long)cl,
                (unsigned long long)disk, (unsigned long long)ref,
                no_block ? " (no refcount block covers it)" : "");
        if (no_block)
            c->rt_broken = true;
    } else {
        c->res->leaks++;
        say(c, "Leaked cluster %llu refcount=%llu reference=%llu", (unsigned long long)cl,
            (unsigned long long)disk, (unsigned long long)ref);
    }
    if (c->repair && !c->rt_broken && !no_block && ref <= c->s->refcount_max)
        return qcow2_set_refcount(c->img, cl, ref, err);
    return VS_OK;
}

static VsStatus compare_refcounts(Check *c, VsError *err)
{
    Qcow2State *s = c->s;
    uint64_t per = 1ull << s->rb_bits;
    for (uint64_t cl = 0; cl < c->nclusters; cl++) {
        VsStatus st = compare_one(c, cl, err);
        if (st != VS_OK)
            return st;
    }
    /* Refcounts for clusters past the end of the file should all be 0. A block that
     * several table entries share is read once: the sharing is already a refcount error,
     * and rereading it would let a small file cost a great deal of work. */
    for (uint64_t t = 0; t < s->rt_size; t++) {
        if (!s->rt[t] || c->bad_rb[t] || (t + 1) * per <= c->nclusters)
            continue;
        uint64_t blk = (s->rt[t] & ~QCOW2_RTE_RESERVED) / s->cluster_size;
        if (c->refs[blk] > 1)
            continue;
        for (uint64_t cl = t * per > c->nclusters ? t * per : c->nclusters; cl < (t + 1) * per;
             cl++) {
            VsStatus st = compare_one(c, cl, err);
            if (st != VS_OK)
                return st;
        }
    }
    return VS_OK;
}

/* Write a fresh refcount table and blocks after everything else and point the header at
 * them. c->refs must not count the old refcount structure. */
static VsStatus rebuild_refcounts(Check *c, VsError *err)
{
    Qcow2State *s = c->s;
    BlockImage *img = c->img;
    uint64_t cs = s->cluster_size, per = 1ull << s->rb_bits;
    uint64_t end_bytes = s->file_size > s->alloc_next * cs ? s->file_size : s->alloc_next * cs;
    uint64_t start = (end_bytes + cs - 1) / cs;
    uint64_t tc = 1, nb = 1, total;
    for (;;) {
        total = start + tc + nb;
        uint64_t need_nb = (total + per - 1) / per;
        uint64_t need_tc = (need_nb * 8 + cs - 1) / cs;
        if (need_nb <= nb && need_tc <= tc)
            break;
        nb = need_nb > nb ? need_nb : nb;
        tc = need_tc > tc ? need_tc : tc;
    }
    if (tc * cs > QCOW2_MAX_REFTABLE_BYTES)
        return block_error(img, err, VS_ERR_UNSUPPORTED,
                           "the rebuilt refcount table would exceed %u MiB",
                           QCOW2_MAX_REFTABLE_BYTES >> 20);
    uint64_t entries = tc * cs / 8;
    uint64_t *rt = calloc(entries, sizeof(uint64_t));
    uint8_t *blk = malloc(cs), *tbuf = calloc(tc, cs);
    VsStatus st = VS_OK;
    if (!rt || !blk || !tbuf) {
        st = block_error(img, err, VS_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Old refcount blocks may still sit dirty in the cache: they are obsolete. */
    qcow2_cache_drop_all(&s->rb_cache);
    for (uint64_t k = 0; k < nb && st == VS_OK; k++) {
        memset(blk, 0, cs);
        for (uint64_t i = 0; i < per; i++) {
            uint64_t cl = k * per + i, v;
            if (cl < c->nclusters)
                v = c->refs[cl];
            else
                v = cl >= start && cl < total;
            qcow2_rb_set(s, blk, i, v > s->refcount_max ? s->refcount_max : v);
        }
        rt[k] = (start + tc + k) * cs;
        qcow2_put_be64(tbuf + k * 8, rt[k]);
        int r = block_fd_pwrite(img->fd, blk, cs, rt[k]);
        if (r < 0)
            st = block_error(img, err, VS_ERR_IO, "refcount block write failed: %s", strerror(-r));
    }
    if (st == VS_OK) {
        int r = block_fd_pwrite(img->fd, tbuf, tc * cs, start * cs);
        if (r == 0)
            r = block_fd_sync(img->fd);
        if (r < 0)
            st = block_error(img, err, VS_ERR_IO, "refcount table write failed: %s", strerror(-r));
    }
    if (st == VS_OK)
        st = qcow2_install_reftable(img, rt, entries, start * cs, (uint32_t)tc, err);
    if (st == VS_OK) {
        rt = NULL;
        s->alloc_next = total;
        if (total * cs > s->file_size)
            s->file_size = total * cs;
        say(c, "Rebuilt the refcount structure (%llu blocks) at offset %#llx",
            (unsigned long long)nb, (unsigned long long)(start * cs));
    }
out:
    free(rt);
    free(blk);
    free(tbuf);
    return st;
}

static VsStatus check_copied_flags(Check *c, VsError *err)
{
    Qcow2State *s = c->s;
    uint64_t cs = s->cluster_size, entries = 1ull << s->l2_bits;
    for (uint64_t i = 0; i < s->l1_size; i++) {
        uint64_t e = s->l1[i], off = e & QCOW2_OFFSET_MASK;
        if (!off || (e & QCOW2_L1E_RESERVED) || (off & (cs - 1)) || off / cs >= c->nclusters)
            continue;
        uint64_t rc = c->refs[off / cs];
        if ((rc == 1) != !!(e & QCOW2_OFLAG_COPIED)) {
            CORRUPT(c, "L1 entry %llu: copied flag %s but the L2 table's refcount is %llu",
                    (unsigned long long)i, (e & QCOW2_OFLAG_COPIED) ? "set" : "clear",
                    (unsigned long long)rc);
            if (c->repair && !s->nb_snapshots) {
                s->l1[i] ^= QCOW2_OFLAG_COPIED;
                if (i < s->l1_dirty_lo)
                    s->l1_dirty_lo = (uint32_t)i;
                if (i + 1 > s->l1_dirty_hi)
                    s->l1_dirty_hi = (uint32_t)(i + 1);
            }
        }
        if (rc != 1)
            continue;
        uint8_t *t;
        int slot;
        VsStatus st = qcow2_cache_get(c->img, &s->l2_cache, off, true, &t, &slot, err);
        if (st != VS_OK)
            return st;
        for (uint64_t j = 0; j < entries; j++) {
            uint64_t l2e = qcow2_be64(t + j * 8), host = l2e & QCOW2_OFFSET_MASK;
            Qcow2ClusterType type = qcow2_cluster_type(s, l2e);
            if ((type != QCOW2_NORMAL && type != QCOW2_ZERO_ALLOC) || (l2e & QCOW2_L2E_RESERVED) ||
                (host & (cs - 1)) || host / cs >= c->nclusters)
                continue;
            uint64_t hrc = c->refs[host / cs];
            if ((hrc == 1) != !!(l2e & QCOW2_OFLAG_COPIED)) {
                CORRUPT(c,
                        "L2 entry for guest offset %#llx: copied flag %s but the cluster's "
                        "refcount is %llu",
                        (unsigned long long)(((i << s->l2_bits) + j) << s->cluster_bits),
                        (l2e & QCOW2_OFLAG_COPIED) ? "set" : "clear", (unsigned long long)hrc);
                if (c->repair && !s->nb_snapshots) {
                    qcow2_put_be64(t + j * 8, l2e ^ QCOW2_OFLAG_COPIED);
                    qcow2_cache_mark_dirty(&s->l2_cache, slot);
                }
            }
        }
    }
    return VS_OK;
}

static VsStatus check_pass(BlockImage *img, bool repair, BlockCheckResult *res,
                           BlockCheckReport report, void *opaque, VsError *err)
{
    Qcow2State *s = img->state;
    uint64_t cs = s->cluster_size;
    Check c = {
        .img = img, .s = s, .repair = repair, .res = res, .report = report, .opaque = opaque
    };
    c.nclusters = (s->file_size + cs - 1) / cs;
    c.budget = 16 * c.nclusters + 65536;
    c.refs = calloc(c.nclusters ? c.nclusters : 1, sizeof(uint32_t));
    c.bad_rb = calloc(s->rt_size ? s->rt_size : 1, 1);
    if (!c.refs || !c.bad_rb) {
        free(c.refs);
        free(c.bad_rb);
        return block_error(img, err, VS_ERR_NOMEM, "out of memory for checking %llu clusters",
                           (unsigned long long)c.nclusters);
    }
    res->total_clusters = (img->size + cs - 1) / cs;
    inc_range(&c, 0, cs, "header");
    VsStatus st = walk_l1(&c, s->l1, s->l1_size, s->l1_offset, true, err);
    if (st == VS_OK && s->nb_snapshots)
        st = walk_snapshots(&c, err);
    if (st == VS_OK && s->has_bitmaps && (s->autoclear & QCOW2_AUTOCLEAR_BITMAPS))
        st = walk_bitmaps(&c, err);
    if (st == VS_OK) {
        walk_refcount_structure(&c, true);
        st = compare_refcounts(&c, err);
    }
    if (st == VS_OK && repair && c.rt_broken) {
        walk_refcount_structure(&c, false);
        st = rebuild_refcounts(&c, err);
    }
    if (st == VS_OK)
        st = check_copied_flags(&c, err);
    for (uint64_t i = c.nclusters; i > 0; i--) {
        if (c.refs[i - 1]) {
            res->image_end = i * cs;
            break;
        }
    }
    free(c.refs);
    free(c.bad_rb);
    return st;
}

VsStatus qcow2_check(BlockImage *img, bool repair, BlockCheckResult *result,
                     BlockCheckReport report, void *opaque, VsError *err)
{
    Qcow2State *s = img->state;
    memset(result, 0, sizeof(*result));
    VsStatus st = VS_OK;
    /* Deferred frees and cached tables first, so the file says what the image is. */
    if (!(img->flags & BLOCK_OPEN_READ_ONLY) && (st = qcow2_flush_all(img, err)) != VS_OK)
        return st;
    st = check_pass(img, repair, result, report, opaque, err);
    if (st != VS_OK || !repair)
        return st;
    if ((st = qcow2_flush_all(img, err)) != VS_OK)
        return st;
    /* What is left after the repair. */
    BlockCheckResult after;
    memset(&after, 0, sizeof(after));
    if ((st = check_pass(img, false, &after, NULL, NULL, err)) != VS_OK)
        return st;
    after.corruptions_fixed =
        result->corruptions > after.corruptions ? result->corruptions - after.corruptions : 0;
    after.leaks_fixed = result->leaks > after.leaks ? result->leaks - after.leaks : 0;
    *result = after;
    if (!after.corruptions && s->version >= 3 &&
        (s->incompat & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT))) {
        s->incompat &= ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT);
        st = qcow2_write_header_u64(img, QCOW2_OFF_INCOMPAT, s->incompat, err);
    }
    if (!after.corruptions)
        s->corrupt = false;
    return st;
}
