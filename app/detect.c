/* SPDX-License-Identifier: MIT */
/*
 * Boot-medium architecture detection (see detect.h). The formats, as far as they are read:
 *  - ISO 9660 (ECMA-119): volume descriptors from sector 16, directory records; Joliet
 *    (UCS-2 names in a supplementary descriptor), Rock Ridge NM entries (alternate names).
 *  - El Torito: the boot record descriptor points at the boot catalog; entries of platform
 *    0xEF are EFI boot images, which are FAT file systems.
 *  - FAT12/16/32: the BPB, the FAT, directories with 8.3 and long (VFAT) names.
 *  - GPT and MBR partition tables, the EFI System Partition type.
 *  - Kernel headers: arm64/riscv Linux Image, x86 boot protocol, ELF, PE.
 * Every read goes through rd(), which enforces bounds and a total budget.
 */
#include "detect.h"

#include <libintl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reasons and errors are shown to people: translated in the app's domain (plain libintl, so
 * this file needs no GLib). */
#define _(s)  dgettext("vessel", s)
#define N_(s) s

/* A hostile image can make us follow many pointers; this caps the work per detection. */
#define MAX_READS    20000
#define MAX_BYTES    (64u << 20)
#define MAX_DIR_SIZE (2u << 20) /* bytes of one directory we look at */

/* clang-format off */
static const struct {
    const char *file;
    VsArch arch;          /* VS_ARCH_NONE: an architecture Vessel cannot run */
    const char *arch_name;
} loaders[] = {
    { "BOOTRISCV64.EFI", VS_ARCH_RISCV64, "riscv64" },
    { "BOOTAA64.EFI", VS_ARCH_ARM64, "aarch64" },
    { "BOOTX64.EFI", VS_ARCH_X86_64, "x86_64" },
    { "BOOTIA32.EFI", VS_ARCH_NONE, N_("32-bit x86") },
    { "BOOTARM.EFI", VS_ARCH_NONE, N_("32-bit Arm") },
    { "BOOTRISCV32.EFI", VS_ARCH_NONE, "riscv32" },
    { "BOOTLOONGARCH64.EFI", VS_ARCH_NONE, "loongarch64" },
    { "BOOTIA64.EFI", VS_ARCH_NONE, N_("Itanium") },
};
/* clang-format on */
#define N_LOADERS (sizeof(loaders) / sizeof(loaders[0]))

typedef struct {
    const VesselDetectSource *src;
    char *err;
    size_t errlen;
    bool io_error;
    bool over_budget;
    unsigned reads;
    uint64_t bytes;
    unsigned found;     /* bit i: loaders[i] was found */
    char where[64];     /* where the first supported loader was found */
    const char *origin; /* the part being searched, for `where` */
} Ctx;

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void set_reason(VesselDetect *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_reason(VesselDetect *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

/* 0 when all of [off, off+len) was read. Past the end, over budget or an I/O error: -1. */
static int rd(Ctx *c, uint64_t off, void *buf, size_t len)
{
    if (c->io_error || c->over_budget)
        return -1;
    if (off > c->src->size || len > c->src->size - off)
        return -1;
    if (++c->reads > MAX_READS || (c->bytes += len) > MAX_BYTES) {
        c->over_budget = true;
        return -1;
    }
    if (c->src->read(c->src->opaque, off, buf, len, c->err, c->errlen) != 0) {
        c->io_error = true;
        return -1;
    }
    return 0;
}

static bool name_eq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

/* A file name was seen in an EFI/BOOT directory. */
static void saw_loader(Ctx *c, const char *name)
{
    for (unsigned i = 0; i < N_LOADERS; i++) {
        if (name_eq(name, loaders[i].file)) {
            if (loaders[i].arch != VS_ARCH_NONE && !c->where[0])
                snprintf(c->where, sizeof(c->where), "%s", c->origin);
            c->found |= 1u << i;
        }
    }
}

/* ---- FAT ------------------------------------------------------------------------------- */

typedef struct {
    Ctx *c;
    uint64_t base;       /* byte offset of the volume in the source */
    uint32_t bps;        /* bytes per sector */
    uint32_t cluster;    /* bytes per cluster */
    int bits;            /* 12, 16 or 32 */
    uint64_t fat;        /* byte offset of the first FAT, relative to base */
    uint64_t root;       /* FAT12/16: byte offset of the root directory */
    uint32_t root_bytes; /* FAT12/16 */
    uint32_t root_cluster;
    uint64_t data;     /* byte offset of cluster 2 */
    uint32_t clusters; /* number of data clusters */
} Fat;

static bool fat_open(Ctx *c, uint64_t base, Fat *f)
{
    uint8_t b[512];
    if (rd(c, base, b, sizeof(b)) < 0)
        return false;
    uint32_t bps = le16(b + 11), spc = b[13], resv = le16(b + 14), nfats = b[16];
    uint32_t root_entries = le16(b + 17), tot = le16(b + 19), fatsz = le16(b + 22);
    if (bps != 512 && bps != 1024 && bps != 2048 && bps != 4096)
        return false;
    if (spc == 0 || (spc & (spc - 1)) || resv == 0 || nfats == 0 || nfats > 4)
        return false;
    if (tot == 0)
        tot = le32(b + 32);
    if (fatsz == 0)
        fatsz = le32(b + 36);
    if (tot == 0 || fatsz == 0)
        return false;
    uint64_t root_sectors = ((uint64_t)root_entries * 32 + bps - 1) / bps;
    uint64_t meta = resv + (uint64_t)nfats * fatsz + root_sectors;
    if (meta >= tot)
        return false;
    uint64_t clusters = (tot - meta) / spc;
    memset(f, 0, sizeof(*f));
    f->c = c;
    f->base = base;
    f->bps = bps;
    f->cluster = bps * spc;
    f->bits = clusters < 4085 ? 12 : clusters < 65525 ? 16 : 32;
    f->fat = (uint64_t)resv * bps;
    f->root = (resv + (uint64_t)nfats * fatsz) * bps;
    f->root_bytes = (uint32_t)(root_sectors * bps);
    f->data = meta * bps;
    f->clusters = clusters > 0x0ffffff5 ? 0x0ffffff5 : (uint32_t)clusters;
    if (f->bits == 32) {
        f->root_cluster = le32(b + 44);
        if (root_entries != 0 || f->root_cluster < 2)
            return false;
    } else if (root_entries == 0) {
        return false;
    }
    /* The FAT must be big enough for every cluster, or following it reads garbage. */
    if ((uint64_t)fatsz * bps * 8 < ((uint64_t)f->clusters + 2) * (uint64_t)f->bits)
        return false;
    return f->cluster <= (256u << 10);
}

/* The next cluster of a chain, or 0 at its end (or for anything invalid). */
static uint32_t fat_next(Fat *f, uint32_t cl)
{
    uint8_t b[4];
    uint32_t v;
    if (f->bits == 12) {
        if (rd(f->c, f->base + f->fat + cl + cl / 2, b, 2) < 0)
            return 0;
        v = le16(b);
        v = (cl & 1) ? v >> 4 : v & 0xfff;
    } else if (f->bits == 16) {
        if (rd(f->c, f->base + f->fat + (uint64_t)cl * 2, b, 2) < 0)
            return 0;
        v = le16(b);
    } else {
        if (rd(f->c, f->base + f->fat + (uint64_t)cl * 4, b, 4) < 0)
            return 0;
        v = le32(b) & 0x0fffffff;
    }
    if (v < 2 || v >= f->clusters + 2)
        return 0; /* end of chain, free, bad or out of range */
    return v;
}

typedef struct {
    char name[64]; /* the long name folded to ASCII ('?' for anything else), or the 8.3 */
    char short_name[13];
    bool dir;
    uint32_t first_cluster;
} FatEntry;

/* Called for each entry; return true to stop. */
typedef bool (*FatVisit)(Fat *f, const FatEntry *e, void *opaque);

typedef struct {
    uint16_t lfn[260];
    int lfn_len; /* characters, -1 when no valid long name is pending */
    uint8_t lfn_sum;
    unsigned lfn_next; /* the sequence number expected next (counting down) */
} LfnState;

static uint8_t short_sum(const uint8_t *n)
{
    uint8_t s = 0;
    for (int i = 0; i < 11; i++)
        s = (uint8_t)(((s & 1) << 7) + (s >> 1) + n[i]);
    return s;
}

/* Returns true when the visitor asked to stop or the directory ended. */
static bool fat_entries(Fat *f, const uint8_t *buf, size_t len, LfnState *st, FatVisit visit,
                        void *opaque, bool *ended)
{
    for (size_t off = 0; off + 32 <= len; off += 32) {
        const uint8_t *d = buf + off;
        if (d[0] == 0) {
            *ended = true;
            return true;
        }
        if (d[0] == 0xe5) {
            st->lfn_len = -1;
            continue;
        }
        if ((d[11] & 0x3f) == 0x0f) {
            unsigned seq = d[0] & 0x1f;
            if (seq == 0 || seq > 20) {
                st->lfn_len = -1;
                continue;
            }
            if (d[0] & 0x40) {
                st->lfn_len = (int)seq * 13;
                st->lfn_sum = d[13];
                st->lfn_next = seq;
            } else if (st->lfn_len < 0 || seq != st->lfn_next || d[13] != st->lfn_sum) {
                st->lfn_len = -1;
                continue;
            }
            static const uint8_t pos[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
            for (int i = 0; i < 13; i++)
                st->lfn[(seq - 1) * 13 + i] = le16(d + pos[i]);
            st->lfn_next = seq - 1;
            continue;
        }
        FatEntry e = { 0 };
        int n = 0;
        for (int i = 0; i < 8 && d[i] != ' '; i++)
            e.short_name[n++] = (char)(i == 0 && d[0] == 0x05 ? 0xe5 : d[i]);
        if (d[8] != ' ') {
            e.short_name[n++] = '.';
            for (int i = 8; i < 11 && d[i] != ' '; i++)
                e.short_name[n++] = (char)d[i];
        }
        e.short_name[n] = 0;
        if (st->lfn_len > 0 && st->lfn_next == 0 && st->lfn_sum == short_sum(d)) {
            int k = 0;
            for (int i = 0; i < st->lfn_len && k < (int)sizeof(e.name) - 1; i++) {
                uint16_t ch = st->lfn[i];
                if (ch == 0 || ch == 0xffff)
                    break;
                e.name[k++] = ch < 0x80 ? (char)ch : '?';
            }
            e.name[k] = 0;
        } else {
            snprintf(e.name, sizeof(e.name), "%s", e.short_name);
        }
        st->lfn_len = -1;
        if (d[11] & 0x08)
            continue; /* the volume label */
        e.dir = (d[11] & 0x10) != 0;
        e.first_cluster = le16(d + 26) | (f->bits == 32 ? (uint32_t)le16(d + 20) << 16 : 0);
        if (visit(f, &e, opaque))
            return true;
    }
    return false;
}

/* Visit a directory: cl == 0 is the FAT12/16 root. Bounded by MAX_DIR_SIZE and the number
 * of clusters, so a loop in the chain ends. */
static void fat_walk(Fat *f, uint32_t cl, FatVisit visit, void *opaque)
{
    /* Detections may run on several threads at once: no static buffer. */
    uint8_t *buf = malloc(f->cluster > f->bps ? f->cluster : f->bps);
    if (!buf)
        return;
    LfnState st = { .lfn_len = -1 };
    bool ended = false;
    if (cl == 0 && f->bits != 32) {
        for (uint32_t off = 0; off < f->root_bytes && off < MAX_DIR_SIZE; off += f->bps) {
            if (rd(f->c, f->base + f->root + off, buf, f->bps) < 0 ||
                fat_entries(f, buf, f->bps, &st, visit, opaque, &ended))
                break;
        }
        free(buf);
        return;
    }
    if (cl == 0)
        cl = f->root_cluster;
    uint64_t seen = 0;
    while (cl >= 2 && cl < f->clusters + 2 && seen < MAX_DIR_SIZE &&
           seen / f->cluster <= f->clusters) {
        if (rd(f->c, f->base + f->data + (uint64_t)(cl - 2) * f->cluster, buf, f->cluster) < 0 ||
            fat_entries(f, buf, f->cluster, &st, visit, opaque, &ended))
            break;
        seen += f->cluster;
        cl = fat_next(f, cl);
    }
    free(buf);
}

typedef struct {
    const char *name;
    uint32_t cluster;
    bool found;
} FatFind;

static bool fat_find_dir_cb(Fat *f, const FatEntry *e, void *opaque)
{
    (void)f;
    FatFind *ff = opaque;
    if (e->dir && (name_eq(e->name, ff->name) || name_eq(e->short_name, ff->name)) &&
        e->first_cluster >= 2) {
        ff->cluster = e->first_cluster;
        ff->found = true;
        return true;
    }
    return false;
}

static bool fat_loader_cb(Fat *f, const FatEntry *e, void *opaque)
{
    (void)opaque;
    if (!e->dir) {
        saw_loader(f->c, e->name);
        if (strcmp(e->name, e->short_name))
            saw_loader(f->c, e->short_name);
    }
    return false;
}

/* Look for EFI/BOOT/BOOT*.EFI in the FAT volume at base. False when it is not FAT. */
static bool fat_search(Ctx *c, uint64_t base)
{
    Fat f;
    if (!fat_open(c, base, &f))
        return false;
    FatFind efi = { .name = "EFI" };
    fat_walk(&f, 0, fat_find_dir_cb, &efi);
    if (!efi.found)
        return true;
    FatFind boot = { .name = "BOOT" };
    fat_walk(&f, efi.cluster, fat_find_dir_cb, &boot);
    if (!boot.found)
        return true;
    fat_walk(&f, boot.cluster, fat_loader_cb, NULL);
    return true;
}

/* ---- ISO 9660 ------------------------------------------------------------------------------ */

#define ISO_SECTOR 2048u

typedef struct {
    char name[64];
    bool dir;
    uint32_t lba, size;
} IsoEntry;

/* The Rock Ridge NM name in a record's System Use area, if any. */
static bool iso_rr_name(const uint8_t *su, size_t len, char *name, size_t namelen)
{
    size_t n = 0;
    bool got = false;
    for (size_t off = 0; off + 4 <= len;) {
        uint8_t elen = su[off + 2];
        if (elen < 4 || off + elen > len)
            break;
        if (su[off] == 'N' && su[off + 1] == 'M' && elen >= 5) {
            uint8_t flags = su[off + 4];
            if (!(flags & 0x06)) { /* not "." / ".." */
                for (size_t i = 5; i < elen && n + 1 < namelen; i++)
                    name[n++] = (char)su[off + i];
                got = true;
            }
        }
        off += elen;
    }
    name[n] = 0;
    return got && n > 0;
}

static void iso_parse_name(const uint8_t *r, bool joliet, IsoEntry *e)
{
    uint8_t len_fi = r[32];
    const uint8_t *fi = r + 33;
    size_t n = 0;
    if (joliet) {
        for (size_t i = 0; i + 1 < len_fi && n + 1 < sizeof(e->name); i += 2) {
            uint16_t ch = (uint16_t)(fi[i] << 8 | fi[i + 1]);
            e->name[n++] = ch < 0x80 ? (char)ch : '?';
        }
    } else {
        for (size_t i = 0; i < len_fi && n + 1 < sizeof(e->name); i++)
            e->name[n++] = (char)fi[i];
    }
    e->name[n] = 0;
    char *semi = strchr(e->name, ';');
    if (semi)
        *semi = 0;
    n = strlen(e->name);
    if (n > 0 && e->name[n - 1] == '.')
        e->name[n - 1] = 0;
    if (!joliet) {
        size_t su = 33 + len_fi + ((len_fi & 1) ? 0 : 1);
        char rr[64];
        if (su < r[0] && iso_rr_name(r + su, r[0] - su, rr, sizeof(rr)))
            snprintf(e->name, sizeof(e->name), "%s", rr);
    }
}

typedef bool (*IsoVisit)(Ctx *c, const IsoEntry *e, void *opaque);

static void iso_walk(Ctx *c, uint32_t lba, uint32_t size, bool joliet, IsoVisit visit, void *opaque)
{
    uint8_t sec[ISO_SECTOR];
    if (size > MAX_DIR_SIZE)
        size = MAX_DIR_SIZE;
    for (uint32_t done = 0; done < size; done += ISO_SECTOR) {
        if (rd(c, ((uint64_t)lba + done / ISO_SECTOR) * ISO_SECTOR, sec, ISO_SECTOR) < 0)
            return;
        for (uint32_t off = 0; off + 34 <= ISO_SECTOR;) {
            const uint8_t *r = sec + off;
            uint8_t rlen = r[0];
            if (rlen == 0)
                break; /* the rest of the sector is padding */
            if (rlen < 34 || off + rlen > ISO_SECTOR || 33u + r[32] > rlen)
                return; /* malformed */
            off += rlen;
            if (r[32] == 1 && (r[33] == 0 || r[33] == 1))
                continue; /* "." and ".." */
            IsoEntry e = { .dir = (r[25] & 0x02) != 0, .lba = le32(r + 2), .size = le32(r + 10) };
            iso_parse_name(r, joliet, &e);
            if (visit(c, &e, opaque))
                return;
        }
    }
}

typedef struct {
    const char *name;
    uint32_t lba, size;
    bool found;
} IsoFind;

static bool iso_find_dir_cb(Ctx *c, const IsoEntry *e, void *opaque)
{
    (void)c;
    IsoFind *f = opaque;
    if (e->dir && name_eq(e->name, f->name)) {
        f->lba = e->lba;
        f->size = e->size;
        f->found = true;
        return true;
    }
    return false;
}

static bool iso_loader_cb(Ctx *c, const IsoEntry *e, void *opaque)
{
    (void)opaque;
    if (!e->dir)
        saw_loader(c, e->name);
    return false;
}

/* A primary or Joliet volume descriptor: look for /EFI/BOOT/BOOT*.EFI in its tree. */
static void iso_tree_search(Ctx *c, const uint8_t *vd, bool joliet)
{
    const uint8_t *root = vd + 156;
    if (root[0] < 34 || le16(vd + 128) != ISO_SECTOR)
        return;
    IsoFind efi = { .name = "EFI" };
    iso_walk(c, le32(root + 2), le32(root + 10), joliet, iso_find_dir_cb, &efi);
    if (!efi.found)
        return;
    IsoFind boot = { .name = "BOOT" };
    iso_walk(c, efi.lba, efi.size, joliet, iso_find_dir_cb, &boot);
    if (!boot.found)
        return;
    iso_walk(c, boot.lba, boot.size, joliet, iso_loader_cb, NULL);
}

/* The El Torito catalog: search each EFI boot image (platform 0xEF). */
static void eltorito_search(Ctx *c, uint32_t catalog_lba, unsigned *efi_images)
{
    uint8_t cat[ISO_SECTOR];
    if (rd(c, (uint64_t)catalog_lba * ISO_SECTOR, cat, sizeof(cat)) < 0)
        return;
    if (cat[0] != 1 || cat[30] != 0x55 || cat[31] != 0xaa)
        return; /* no validation entry */
    uint8_t platform = cat[1];
    size_t i = 32;
    unsigned section_left = 1; /* the default entry follows the validation entry */
    bool last = false;
    while (i + 32 <= sizeof(cat)) {
        const uint8_t *e = cat + i;
        i += 32;
        if (section_left == 0) {
            if (last || (e[0] != 0x90 && e[0] != 0x91))
                break;
            last = e[0] == 0x91;
            platform = e[1];
            section_left = le16(e + 2);
            continue;
        }
        if (e[0] == 0x44)
            continue; /* an extension of the previous entry */
        section_left--;
        if (platform != 0xef || (e[0] != 0x88 && e[0] != 0x00))
            continue;
        uint32_t rba = le32(e + 8);
        (*efi_images)++;
        c->origin = N_("the El Torito EFI boot image");
        fat_search(c, (uint64_t)rba * ISO_SECTOR);
    }
}

static void iso_search(Ctx *c, bool *is_iso, unsigned *efi_images)
{
    uint8_t vd[ISO_SECTOR];
    *is_iso = false;
    for (uint32_t s = 16; s < 16 + 64; s++) {
        if (rd(c, (uint64_t)s * ISO_SECTOR, vd, sizeof(vd)) < 0)
            return;
        if (memcmp(vd + 1, "CD001", 5) != 0)
            return;
        *is_iso = true;
        if (vd[0] == 255)
            return;
        if (vd[0] == 0 && !memcmp(vd + 7, "EL TORITO SPECIFICATION", 23)) {
            eltorito_search(c, le32(vd + 0x47), efi_images);
        } else if (vd[0] == 1) {
            c->origin = N_("the ISO 9660 file tree");
            iso_tree_search(c, vd, false);
        } else if (vd[0] == 2 && vd[88] == 0x25 && vd[89] == 0x2f &&
                   (vd[90] == 0x40 || vd[90] == 0x43 || vd[90] == 0x45)) {
            c->origin = N_("the Joliet file tree");
            iso_tree_search(c, vd, true);
        }
    }
}

/* ---- Disks ------------------------------------------------------------------------------- */

static const uint8_t esp_guid[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
                                      0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
static const uint8_t basic_data_guid[16] = { 0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44,
                                             0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7 };

/* Returns the number of EFI System Partitions searched; -1 when there is no GPT. */
static int gpt_search(Ctx *c, uint32_t ss)
{
    uint8_t h[92];
    if (rd(c, ss, h, sizeof(h)) < 0 || memcmp(h, "EFI PART", 8) != 0)
        return -1;
    uint64_t entries = le64(h + 72);
    uint32_t count = le32(h + 80), esize = le32(h + 84);
    if (esize < 128 || esize > 1024 || (esize & 7) || entries > UINT64_MAX / ss)
        return 0;
    if (count > 1024)
        count = 1024;
    int esps = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < count; i++) {
            uint8_t e[128];
            if (rd(c, entries * ss + (uint64_t)i * esize, e, sizeof(e)) < 0)
                return esps;
            const uint8_t *want = pass == 0 ? esp_guid : basic_data_guid;
            if (memcmp(e, want, 16) != 0)
                continue;
            uint64_t first = le64(e + 32);
            if (first > UINT64_MAX / ss)
                continue;
            if (pass == 0)
                esps++;
            c->origin = pass == 0 ? N_("the EFI System Partition") : N_("a FAT data partition");
            fat_search(c, first * ss);
            if (c->where[0])
                return esps;
        }
    }
    return esps;
}

static int mbr_search(Ctx *c, const uint8_t *mbr)
{
    int esps = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 4; i++) {
            const uint8_t *p = mbr + 446 + i * 16;
            uint8_t type = p[4];
            bool esp = type == 0xef;
            bool fat = type == 0x01 || type == 0x04 || type == 0x06 || type == 0x0b ||
                       type == 0x0c || type == 0x0e;
            if (pass == 0 ? !esp : !fat)
                continue;
            if (esp)
                esps++;
            c->origin = esp ? N_("the EFI System Partition") : N_("a FAT partition");
            fat_search(c, (uint64_t)le32(p + 8) * 512);
            if (c->where[0])
                return esps;
        }
    }
    return esps;
}

/* ---- Results ------------------------------------------------------------------------------ */

static VsArch host_arch(void)
{
#if defined(__x86_64__)
    return VS_ARCH_X86_64;
#elif defined(__aarch64__)
    return VS_ARCH_ARM64;
#elif defined(__riscv)
    return VS_ARCH_RISCV64;
#else
    return VS_ARCH_NONE;
#endif
}

/* 1 with the chosen loader when a supported one was found, else 0 with a reason (what_format:
 * "... %s (the architecture) ... %s (the file) ..."), or -2 when no loader was found. */
static int loader_result(Ctx *c, VesselDetect *out, const char *what_format)
{
    int pick = -1;
    char others[96] = "";
    for (unsigned i = 0; i < N_LOADERS; i++) {
        if (!(c->found & (1u << i)) || loaders[i].arch == VS_ARCH_NONE)
            continue;
        if (pick < 0 || (loaders[i].arch == host_arch() && loaders[pick].arch != host_arch()))
            pick = (int)i;
    }
    if (pick >= 0) {
        for (unsigned i = 0; i < N_LOADERS; i++) {
            if ((c->found & (1u << i)) && (int)i != pick && loaders[i].arch != VS_ARCH_NONE) {
                size_t n = strlen(others);
                snprintf(others + n, sizeof(others) - n, "%s%s", n ? ", " : "",
                         loaders[i].arch_name);
            }
        }
        out->arch = loaders[pick].arch;
        if (others[0])
            set_reason(out, _("EFI loader EFI/BOOT/%s in %s (also for %s)"), loaders[pick].file,
                       _(c->where), others);
        else
            set_reason(out, _("EFI loader EFI/BOOT/%s in %s"), loaders[pick].file, _(c->where));
        return 1;
    }
    for (unsigned i = 0; i < N_LOADERS; i++) {
        if (c->found & (1u << i)) {
            set_reason(out, what_format, _(loaders[i].arch_name), loaders[i].file);
            return 0;
        }
    }
    return -2; /* nothing found: the caller says why */
}

static int detect_iso(Ctx *c, VesselDetect *out)
{
    bool is_iso;
    unsigned efi_images = 0;
    iso_search(c, &is_iso, &efi_images);
    if (c->io_error)
        return -1;
    int r = loader_result(c, out,
                          _("the ISO image only has an EFI loader for %s (EFI/BOOT/%s), an "
                            "architecture Vessel cannot run"));
    if (r != -2)
        return r;
    if (!is_iso)
        set_reason(out, _("not an ISO 9660 image (no CD001 volume descriptor at byte 32769)"));
    else if (c->over_budget)
        set_reason(out, _("the ISO image's structures are too large or loop; gave up"));
    else if (efi_images == 0)
        set_reason(out, _("the ISO image has no EFI boot image and no EFI/BOOT/BOOT*.EFI loader "
                          "(a BIOS-only installer?)"));
    else
        set_reason(out, _("the ISO image's EFI boot image holds no EFI/BOOT/BOOT*.EFI loader"));
    return 0;
}

static int detect_disk(Ctx *c, VesselDetect *out)
{
    uint8_t mbr[512];
    if (c->src->size < 512) {
        set_reason(out, _("the disk image is smaller than one sector: it holds no system"));
        return 0;
    }
    if (rd(c, 0, mbr, sizeof(mbr)) < 0)
        return -1;
    int esps = gpt_search(c, 512);
    bool gpt = esps >= 0;
    if (!gpt) {
        esps = gpt_search(c, 4096);
        gpt = esps >= 0;
    }
    if (!gpt && mbr[510] == 0x55 && mbr[511] == 0xaa)
        esps = mbr_search(c, mbr);
    if (!c->where[0] && !c->found) {
        c->origin = N_("the disk's FAT file system");
        fat_search(c, 0);
    }
    if (!c->where[0] && !c->found && c->src->size > 17 * ISO_SECTOR) {
        bool is_iso;
        unsigned efi_images = 0;
        iso_search(c, &is_iso, &efi_images);
    }
    if (c->io_error)
        return -1;
    int r = loader_result(c, out,
                          _("the disk image only has an EFI loader for %s (EFI/BOOT/%s), an "
                            "architecture Vessel cannot run"));
    if (r != -2)
        return r;
    if (c->over_budget)
        set_reason(out, _("the disk image's structures are too large or loop; gave up"));
    else if (esps > 0)
        set_reason(out, _("the disk's EFI System Partition holds no EFI/BOOT/BOOT*.EFI loader"));
    else if (gpt || (mbr[510] == 0x55 && mbr[511] == 0xaa))
        set_reason(out, _("the disk has no EFI System Partition"));
    else
        set_reason(out, _("the disk has no partition table (empty, or not a bootable system)"));
    return 0;
}

static int detect_kernel(Ctx *c, VesselDetect *out)
{
    uint8_t h[1024] = { 0 };
    size_t n = c->src->size < sizeof(h) ? (size_t)c->src->size : sizeof(h);
    if (n > 0 && rd(c, 0, h, n) < 0)
        return -1;
    if (n < 64) {
        set_reason(out, _("the file is too small to be a kernel"));
        return 0;
    }
    if (!memcmp(h + 0x38, "ARM\x64", 4)) {
        out->arch = VS_ARCH_ARM64;
        set_reason(out, _("Linux arm64 Image header"));
        return 1;
    }
    if (!memcmp(h + 0x38, "RSC\x05", 4) || !memcmp(h + 0x30, "RISCV\0\0\0", 8)) {
        out->arch = VS_ARCH_RISCV64;
        set_reason(out, _("Linux riscv Image header"));
        return 1;
    }
    if (n >= 0x206 && !memcmp(h + 0x202, "HdrS", 4)) {
        /* The x86 boot protocol; a 64-bit kernel sets XLF_KERNEL_64 (protocol 2.12+), older
         * headers do not say, and Vessel has no 32-bit x86 target anyway. */
        out->arch = VS_ARCH_X86_64;
        set_reason(out, _("Linux x86 boot protocol header (bzImage)"));
        return 1;
    }
    if (!memcmp(h,
                "\x7f"
                "ELF",
                4)) {
        if (h[5] != 1) {
            set_reason(out, _("big-endian ELF file: not a kernel Vessel can run"));
            return 0;
        }
        uint16_t m = le16(h + 18);
        bool is64 = h[4] == 2;
        VsArch a = !is64      ? VS_ARCH_NONE
                   : m == 183 ? VS_ARCH_ARM64
                   : m == 243 ? VS_ARCH_RISCV64
                   : m == 62  ? VS_ARCH_X86_64
                              : VS_ARCH_NONE;
        if (a == VS_ARCH_NONE) {
            set_reason(out, _("ELF file for machine %u (%s-bit), which Vessel cannot run"), m,
                       is64 ? "64" : "32");
            return 0;
        }
        out->arch = a;
        set_reason(out, _("ELF file for %s"), vs_arch_name(a));
        return 1;
    }
    if (h[0] == 'M' && h[1] == 'Z') {
        uint32_t pe = le32(h + 0x3c);
        uint8_t p[6];
        if (pe <= c->src->size - sizeof(p) && rd(c, pe, p, sizeof(p)) == 0 &&
            !memcmp(p, "PE\0\0", 4)) {
            uint16_t m = le16(p + 4);
            VsArch a = m == 0xaa64   ? VS_ARCH_ARM64
                       : m == 0x5064 ? VS_ARCH_RISCV64
                       : m == 0x8664 ? VS_ARCH_X86_64
                                     : VS_ARCH_NONE;
            if (a == VS_ARCH_NONE) {
                set_reason(out, _("PE/EFI executable for machine 0x%04x, which Vessel cannot run"),
                           m);
                return 0;
            }
            out->arch = a;
            set_reason(out, _("PE/EFI executable for %s"), vs_arch_name(a));
            return 1;
        }
        if (c->io_error)
            return -1;
    }
    if (h[0] == 0x1f && h[1] == 0x8b) {
        set_reason(out, _("a gzip-compressed file: the architecture cannot be read from it "
                          "(use the uncompressed Image, or choose the architecture)"));
        return 0;
    }
    if (!memcmp(h, "\x28\xb5\x2f\xfd", 4) || !memcmp(h,
                                                     "\xfd"
                                                     "7zXZ",
                                                     5)) {
        set_reason(out, _("a compressed file (zstd/xz): the architecture cannot be read from it"));
        return 0;
    }
    set_reason(out, _("no Linux Image, bzImage, ELF or PE header found"));
    return 0;
}

int vessel_detect_source(const VesselDetectSource *src, VesselMediumKind kind, VesselDetect *out,
                         char *err, size_t errlen)
{
    Ctx c = { .src = src, .err = err, .errlen = errlen, .origin = "" };
    memset(out, 0, sizeof(*out));
    if (err && errlen)
        err[0] = 0;
    int r;
    switch (kind) {
    case VESSEL_MEDIUM_ISO: r = detect_iso(&c, out); break;
    case VESSEL_MEDIUM_DISK: r = detect_disk(&c, out); break;
    case VESSEL_MEDIUM_KERNEL: r = detect_kernel(&c, out); break;
    default:
        r = 0;
        set_reason(out, _("unknown kind of medium"));
        break;
    }
    if (r < 0) {
        out->arch = VS_ARCH_NONE;
        if (err && errlen && !err[0])
            snprintf(err, errlen, _("the file could not be read"));
    }
    if (r == 0)
        out->arch = VS_ARCH_NONE;
    return r;
}

/* ---- Files --------------------------------------------------------------------------------- */

typedef struct {
    int fd;
    VsImage *img;
    const char *path;
} FileSource;

static int file_read(void *opaque, uint64_t off, void *buf, size_t len, char *err, size_t errlen)
{
    FileSource *f = opaque;
    if (f->img) {
        VsError e = { 0 };
        if (vs_image_read(f->img, off, buf, len, &e) != VS_OK) {
            snprintf(err, errlen, "%s", e.message);
            return -1;
        }
        return 0;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(f->fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, _("cannot read '%s': %s"), f->path,
                     n < 0 ? strerror(errno) : _("the file is shorter than it was"));
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

int vessel_detect(const char *path, VesselMediumKind kind, VesselDetect *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FileSource fs = { .fd = -1, .path = path };
    VesselDetectSource src = { .read = file_read, .opaque = &fs };
    if (!path || !*path) {
        snprintf(err, errlen, _("no file chosen"));
        return -1;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, _("cannot open '%s': %s"), path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, _("'%s' is a folder, not a file"), path);
        return -1;
    }
    /* Nothing else is opened: a FIFO or a device could block the reader forever. */
    if (!S_ISREG(st.st_mode) && !(kind == VESSEL_MEDIUM_DISK && S_ISBLK(st.st_mode))) {
        snprintf(err, errlen, _("'%s' is not a regular file"), path);
        return -1;
    }
    if (kind == VESSEL_MEDIUM_DISK) {
        VsError e = { 0 };
        if (vs_image_open(path, &fs.img, &e) != VS_OK) {
            snprintf(err, errlen, "%s", e.message);
            return -1;
        }
        src.size = vs_image_size(fs.img);
    } else {
        fs.fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fs.fd < 0) {
            snprintf(err, errlen, _("cannot open '%s': %s"), path, strerror(errno));
            return -1;
        }
        if (fstat(fs.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            snprintf(err, errlen, _("'%s' is not a regular file"), path);
            close(fs.fd);
            return -1;
        }
        src.size = (uint64_t)st.st_size;
    }
    int r = vessel_detect_source(&src, kind, out, err, errlen);
    if (fs.img)
        vs_image_close(fs.img);
    if (fs.fd >= 0)
        close(fs.fd);
    return r;
}
