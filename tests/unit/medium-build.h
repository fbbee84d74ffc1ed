/* SPDX-License-Identifier: MIT */
/*
 * Tiny boot media built in memory for the detection tests (tests/unit/test-detect.c, the
 * wizard's GUI test, the fuzz seeds): FAT12/16/32 volumes with 8.3 and long names, ISO 9660
 * images with El Torito, Joliet and Rock Ridge, GPT and MBR disks. Header-only, plain C.
 */
#ifndef VESSEL_MEDIUM_BUILD_H
#define VESSEL_MEDIUM_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void mb_le16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void mb_le32(uint8_t *p, uint32_t v)
{
    mb_le16(p, v);
    mb_le16(p + 2, v >> 16);
}
static inline void mb_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void mb_be32(uint8_t *p, uint32_t v)
{
    mb_be16(p, v >> 16);
    mb_be16(p + 2, v);
}
static inline void mb_le64(uint8_t *p, uint64_t v)
{
    mb_le32(p, (uint32_t)v);
    mb_le32(p + 4, (uint32_t)(v >> 32));
}

/* ---- FAT ---- */
typedef struct {
    uint8_t *img;
    size_t size;
    int bits;
    uint32_t bps, spc, resv, nfats, fatsz, root_entries, tot;
    size_t root_off, data_off;
    uint32_t next_cluster;
} MbFat;

/* A FAT volume of tot 512-byte sectors: bits 12, 16 or 32 (the caller picks tot so that the
 * cluster count matches the type: FAT12 < 4085 clusters, FAT16 < 65525, FAT32 more). */
static inline void mb_fat_init(MbFat *f, int bits, uint32_t tot)
{
    memset(f, 0, sizeof(*f));
    f->bits = bits;
    f->bps = 512;
    f->spc = 1;
    f->tot = tot;
    f->resv = bits == 32 ? 32 : 1;
    f->nfats = 2;
    f->root_entries = bits == 32 ? 0 : 64;
    uint64_t entries = tot + 2;
    f->fatsz = (uint32_t)((entries * (uint64_t)bits / 8 + 511) / 512 + 1);
    f->size = (size_t)tot * 512;
    f->img = calloc(1, f->size);
    uint8_t *b = f->img;
    b[0] = 0xeb, b[1] = 0x3c, b[2] = 0x90;
    memcpy(b + 3, "MSWIN4.1", 8);
    mb_le16(b + 11, f->bps);
    b[13] = (uint8_t)f->spc;
    mb_le16(b + 14, f->resv);
    b[16] = (uint8_t)f->nfats;
    mb_le16(b + 17, f->root_entries);
    if (tot < 65536)
        mb_le16(b + 19, tot);
    else
        mb_le32(b + 32, tot);
    b[21] = 0xf8;
    if (bits == 32) {
        mb_le32(b + 36, f->fatsz);
        mb_le32(b + 44, 2);
    } else {
        mb_le16(b + 22, f->fatsz);
    }
    b[510] = 0x55, b[511] = 0xaa;
    f->root_off = (size_t)(f->resv + f->nfats * f->fatsz) * 512;
    f->data_off = f->root_off + (size_t)f->root_entries * 32;
    f->next_cluster = 2;
}

static inline void mb_fat_set(MbFat *f, uint32_t cl, uint32_t v)
{
    for (uint32_t n = 0; n < f->nfats; n++) {
        uint8_t *fat = f->img + (size_t)(f->resv + n * f->fatsz) * 512;
        if (f->bits == 12) {
            uint8_t *p = fat + cl + cl / 2;
            uint16_t old = (uint16_t)(p[0] | p[1] << 8);
            uint16_t nv = (cl & 1) ? (uint16_t)((old & 0x000f) | (v & 0xfff) << 4)
                                   : (uint16_t)((old & 0xf000) | (v & 0xfff));
            mb_le16(p, nv);
        } else if (f->bits == 16) {
            mb_le16(fat + cl * 2, v);
        } else {
            mb_le32(fat + cl * 4, v);
        }
    }
}

static inline uint32_t mb_fat_eoc(const MbFat *f)
{
    return f->bits == 12 ? 0xfff : f->bits == 16 ? 0xffff : 0x0fffffff;
}

/* Allocate a one-cluster chain; returns the cluster. */
static inline uint32_t mb_fat_alloc(MbFat *f)
{
    uint32_t cl = f->next_cluster++;
    mb_fat_set(f, cl, mb_fat_eoc(f));
    return cl;
}

static inline uint8_t *mb_fat_cluster(MbFat *f, uint32_t cl)
{
    return f->img + f->data_off + (size_t)(cl - 2) * f->spc * f->bps;
}

/* A directory: cluster 0 is the root (FAT32: its cluster). */
typedef struct {
    uint32_t cluster; /* 0: FAT12/16 fixed root */
    unsigned used;    /* entries used in the current cluster */
} MbDir;

static inline MbDir mb_fat_root(MbFat *f)
{
    MbDir d = { 0, 0 };
    if (f->bits == 32)
        d.cluster = mb_fat_alloc(f); /* cluster 2, as the BPB says */
    return d;
}

static inline uint8_t *mb_dir_slot(MbFat *f, MbDir *d)
{
    unsigned per = f->spc * f->bps / 32;
    if (d->cluster == 0) {
        if (d->used >= f->root_entries)
            abort(); /* the tests never fill the root directory */
        return f->img + f->root_off + (size_t)d->used++ * 32;
    }
    if (d->used == per) { /* grow the chain */
        uint32_t nc = mb_fat_alloc(f);
        mb_fat_set(f, d->cluster, nc);
        d->cluster = nc;
        d->used = 0;
    }
    return mb_fat_cluster(f, d->cluster) + (size_t)d->used++ * 32;
}

/* Add an entry; long_name (or NULL) is stored as VFAT entries before the 8.3 one.
 * short83 is 11 characters, space-padded ("BOOTX64 EFI"). */
static inline void mb_fat_add(MbFat *f, MbDir *d, const char *short83, const char *long_name,
                              bool dir, uint32_t cluster, uint32_t size)
{
    if (long_name) {
        uint8_t sum = 0;
        for (int i = 0; i < 11; i++)
            sum = (uint8_t)(((sum & 1) << 7) + (sum >> 1) + (uint8_t)short83[i]);
        int len = (int)strlen(long_name);
        int n = (len + 12) / 13;
        static const int pos[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
        for (int seq = n; seq >= 1; seq--) {
            uint8_t *e = mb_dir_slot(f, d);
            memset(e, 0, 32);
            e[0] = (uint8_t)(seq | (seq == n ? 0x40 : 0));
            e[11] = 0x0f;
            e[13] = sum;
            for (int i = 0; i < 13; i++) {
                int k = (seq - 1) * 13 + i;
                uint16_t ch = k < len ? (uint8_t)long_name[k] : k == len ? 0 : 0xffff;
                mb_le16(e + pos[i], ch);
            }
        }
    }
    uint8_t *e = mb_dir_slot(f, d);
    memset(e, 0, 32);
    memcpy(e, short83, 11);
    e[11] = dir ? 0x10 : 0x20;
    mb_le16(e + 26, cluster & 0xffff);
    mb_le16(e + 20, cluster >> 16);
    mb_le32(e + 28, size);
}

/* A new subdirectory of parent (with . and ..) named short83 / long_name. */
static inline MbDir mb_fat_mkdir(MbFat *f, MbDir *parent, const char *short83,
                                 const char *long_name)
{
    uint32_t cl = mb_fat_alloc(f);
    mb_fat_add(f, parent, short83, long_name, true, cl, 0);
    MbDir d = { cl, 0 };
    mb_fat_add(f, &d, ".          ", NULL, true, cl, 0);
    mb_fat_add(f, &d, "..         ", NULL, true, parent->cluster, 0);
    return d;
}

/* A small file holding text. */
static inline void mb_fat_file(MbFat *f, MbDir *d, const char *short83, const char *long_name)
{
    uint32_t cl = mb_fat_alloc(f);
    static const char text[] = "MZ not really an EFI program";
    memcpy(mb_fat_cluster(f, cl), text, sizeof(text));
    mb_fat_add(f, d, short83, long_name, false, cl, sizeof(text));
}

/* A FAT volume with EFI/BOOT/<loader> (short83 and long name; NULL short83: no loader). */
static inline MbFat mb_fat_with_loader(int bits, uint32_t tot, const char *short83,
                                       const char *long_name)
{
    MbFat f;
    mb_fat_init(&f, bits, tot);
    MbDir root = mb_fat_root(&f);
    mb_fat_add(&f, &root, "ESP        ", NULL, false, 0, 0);
    f.img[f.root_off + 11] = f.bits == 32 ? f.img[f.root_off + 11] : 0x08; /* volume label */
    if (f.bits == 32)
        mb_fat_cluster(&f, root.cluster)[11] = 0x08;
    MbDir efi = mb_fat_mkdir(&f, &root, "EFI        ", NULL);
    MbDir boot = mb_fat_mkdir(&f, &efi, "BOOT       ", NULL);
    mb_fat_file(&f, &boot, "GRUBX64 EFI", "grubx64.efi");
    if (short83)
        mb_fat_file(&f, &boot, short83, long_name);
    return f;
}

/* ---- ISO 9660 ---- */
#define MB_ISO 2048u
typedef struct {
    uint8_t *img;
    size_t size;   /* bytes */
    uint32_t next; /* next free sector */
} MbIso;

static inline void mb_iso_init(MbIso *iso, uint32_t sectors)
{
    iso->size = (size_t)sectors * MB_ISO;
    iso->img = calloc(1, iso->size);
    iso->next = 24; /* 16 system area, then descriptors up to 23 */
}

static inline uint8_t *mb_iso_sec(MbIso *iso, uint32_t s)
{
    return iso->img + (size_t)s * MB_ISO;
}

/* Append a directory record; returns its length. name is raw bytes (len n). rr: a Rock
 * Ridge NM name or NULL. */
static inline size_t mb_iso_rec(uint8_t *p, const uint8_t *name, int n, bool dir, uint32_t lba,
                                uint32_t size, const char *rr)
{
    int pad = (n & 1) ? 0 : 1;
    size_t su = rr ? 5 + strlen(rr) : 0;
    size_t len = 33 + (size_t)n + (size_t)pad + su;
    if (len & 1)
        len++;
    memset(p, 0, len);
    p[0] = (uint8_t)len;
    mb_le32(p + 2, lba);
    mb_be32(p + 6, lba);
    mb_le32(p + 10, size);
    mb_be32(p + 14, size);
    p[25] = dir ? 2 : 0;
    mb_le16(p + 28, 1);
    mb_be16(p + 30, 1);
    p[32] = (uint8_t)n;
    memcpy(p + 33, name, (size_t)n);
    if (rr) {
        uint8_t *s = p + 33 + n + pad;
        s[0] = 'N', s[1] = 'M', s[2] = (uint8_t)su, s[3] = 1, s[4] = 0;
        memcpy(s + 5, rr, strlen(rr));
    }
    return len;
}

/* One directory sector holding . and .. and the given entries. */
typedef struct {
    const char *name; /* d-characters for the primary tree; ASCII converted for Joliet */
    bool dir;
    uint32_t lba, size;
    const char *rr;
} MbIsoEnt;

static inline void mb_iso_dir(MbIso *iso, uint32_t lba, uint32_t parent, const MbIsoEnt *e, int n,
                              bool joliet)
{
    uint8_t *p = mb_iso_sec(iso, lba);
    size_t off = 0;
    uint8_t dot = 0, dotdot = 1;
    off += mb_iso_rec(p + off, &dot, 1, true, lba, MB_ISO, NULL);
    off += mb_iso_rec(p + off, &dotdot, 1, true, parent, MB_ISO, NULL);
    for (int i = 0; i < n; i++) {
        uint8_t name[128];
        int len = 0;
        for (const char *c = e[i].name; *c && len < 120; c++) {
            if (joliet)
                name[len++] = 0;
            name[len++] = (uint8_t)*c;
        }
        off += mb_iso_rec(p + off, name, len, e[i].dir, e[i].lba, e[i].size, e[i].rr);
    }
}

static inline void mb_iso_vd(MbIso *iso, uint32_t s, int type, uint32_t root_lba)
{
    uint8_t *v = mb_iso_sec(iso, s);
    v[0] = (uint8_t)type;
    memcpy(v + 1, "CD001", 5);
    v[6] = 1;
    if (type == 1 || type == 2) {
        memcpy(v + 40, "VESSEL_TEST", 11);
        mb_le32(v + 80, (uint32_t)(iso->size / MB_ISO));
        mb_be32(v + 84, (uint32_t)(iso->size / MB_ISO));
        mb_le16(v + 120, 1), mb_be16(v + 122, 1);
        mb_le16(v + 124, 1), mb_be16(v + 126, 1);
        mb_le16(v + 128, MB_ISO), mb_be16(v + 130, MB_ISO);
        uint8_t dot = 0;
        mb_iso_rec(v + 156, &dot, 1, true, root_lba, MB_ISO, NULL);
        if (type == 2)
            v[88] = 0x25, v[89] = 0x2f, v[90] = 0x45;
    }
}

typedef struct {
    const MbFat *efi_image;    /* El Torito EFI image, or NULL */
    bool bios_entry;           /* a BIOS (platform 0) default entry too */
    const char *tree_loader;   /* primary-tree /EFI/BOOT/<name;1>, or NULL */
    const char *tree_rr;       /* its Rock Ridge name, or NULL */
    const char *joliet_loader; /* Joliet-tree loader name, or NULL */
} MbIsoSpec;

static inline MbIso mb_iso_build(const MbIsoSpec *s)
{
    MbIso iso;
    uint32_t efi_secs = s->efi_image ? (uint32_t)((s->efi_image->size + MB_ISO - 1) / MB_ISO) : 0;
    mb_iso_init(&iso, 40 + efi_secs);
    uint32_t vd = 16;
    /* Layout: 24 catalog, 25 root, 26 EFI, 27 BOOT, 28 loader file, 29-31 Joliet dirs,
     * 32 BIOS image, 40.. the EFI image. */
    mb_iso_vd(&iso, vd++, 1, 25);
    if (s->efi_image || s->bios_entry) {
        uint8_t *b = mb_iso_sec(&iso, vd++);
        b[0] = 0;
        memcpy(b + 1, "CD001", 5);
        b[6] = 1;
        memcpy(b + 7, "EL TORITO SPECIFICATION", 23);
        mb_le32(b + 0x47, 24);
        uint8_t *c = mb_iso_sec(&iso, 24);
        c[0] = 1;
        c[1] = s->bios_entry ? 0 : 0xef;
        c[30] = 0x55, c[31] = 0xaa;
        uint16_t sum = 0;
        for (int i = 0; i < 32; i += 2)
            sum = (uint16_t)(sum + (c[i] | c[i + 1] << 8));
        mb_le16(c + 28, (uint16_t)-sum);
        uint8_t *e = c + 32;
        if (s->bios_entry) {
            e[0] = 0x88;
            mb_le16(e + 6, 4);
            mb_le32(e + 8, 32);
            e += 32;
            if (s->efi_image) {
                e[0] = 0x91, e[1] = 0xef;
                mb_le16(e + 2, 1);
                e += 32;
            }
        }
        if (s->efi_image) {
            e[0] = 0x88;
            mb_le16(e + 6, 0); /* "the whole image": sizes above 32 MiB cannot be given */
            mb_le32(e + 8, 40);
            memcpy(mb_iso_sec(&iso, 40), s->efi_image->img, s->efi_image->size);
        }
    }
    if (s->joliet_loader)
        mb_iso_vd(&iso, vd++, 2, 29);
    mb_iso_vd(&iso, vd++, 255, 0);
    MbIsoEnt root[] = { { "EFI", true, 26, MB_ISO, NULL } };
    mb_iso_dir(&iso, 25, 25, root, 1, false);
    MbIsoEnt efi[] = { { "BOOT", true, 27, MB_ISO, NULL } };
    mb_iso_dir(&iso, 26, 25, efi, 1, false);
    MbIsoEnt boot[] = { { "GRUB.CFG;1", false, 28, 10, NULL },
                        { s->tree_loader, false, 28, 10, s->tree_rr } };
    mb_iso_dir(&iso, 27, 26, boot, s->tree_loader ? 2 : 1, false);
    if (s->joliet_loader) {
        MbIsoEnt jroot[] = { { "efi", true, 30, MB_ISO, NULL } };
        mb_iso_dir(&iso, 29, 29, jroot, 1, true);
        MbIsoEnt jefi[] = { { "boot", true, 31, MB_ISO, NULL } };
        mb_iso_dir(&iso, 30, 29, jefi, 1, true);
        MbIsoEnt jboot[] = { { s->joliet_loader, false, 28, 10, NULL } };
        mb_iso_dir(&iso, 31, 30, jboot, 1, true);
    }
    return iso;
}

/* ---- Disks ---- */
/* A disk of `sectors` 512-byte sectors with one partition at sector 2048 holding the FAT
 * volume: GPT (an EFI System Partition) or MBR (type 0xEF, or mbr_type). */
static inline uint8_t *mb_disk_at(const MbFat *f, bool gpt, uint8_t mbr_type, uint32_t first,
                                  size_t *size_out)
{
    uint32_t count = (uint32_t)(f->size / 512);
    uint32_t sectors = first + count + 40;
    size_t size = (size_t)sectors * 512;
    uint8_t *d = calloc(1, size);
    memcpy(d + (size_t)first * 512, f->img, f->size);
    uint8_t *p = d + 446;
    if (gpt) {
        p[4] = 0xee;
        mb_le32(p + 8, 1);
        mb_le32(p + 12, sectors - 1);
        uint8_t *h = d + 512;
        memcpy(h, "EFI PART", 8);
        mb_le32(h + 8, 0x00010000);
        mb_le32(h + 12, 92);
        mb_le64(h + 24, 1);
        mb_le64(h + 32, sectors - 1);
        mb_le64(h + 40, 34);
        mb_le64(h + 48, sectors - 34);
        mb_le64(h + 72, 2);
        mb_le32(h + 80, 128);
        mb_le32(h + 84, 128);
        static const uint8_t esp[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
                                         0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
        static const uint8_t linux_fs[16] = { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
                                              0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 };
        uint8_t *e = d + 1024;
        memcpy(e, linux_fs, 16); /* a Linux partition first: the ESP need not be first */
        e[16] = 1;
        mb_le64(e + 32, first + count);
        mb_le64(e + 40, first + count + 31);
        e += 128;
        memcpy(e, esp, 16);
        e[16] = 2;
        mb_le64(e + 32, first);
        mb_le64(e + 40, first + count - 1);
    } else {
        p[4] = mbr_type;
        mb_le32(p + 8, first);
        mb_le32(p + 12, count);
    }
    d[510] = 0x55, d[511] = 0xaa;
    *size_out = size;
    return d;
}

static inline uint8_t *mb_disk(const MbFat *f, bool gpt, uint8_t mbr_type, size_t *size_out)
{
    return mb_disk_at(f, gpt, mbr_type, 2048, size_out);
}

static inline bool mb_write(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return false;
    bool ok = fwrite(data, 1, len, fp) == len;
    return fclose(fp) == 0 && ok;
}

#endif
