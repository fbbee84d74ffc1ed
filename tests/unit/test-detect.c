/* SPDX-License-Identifier: MIT */
/*
 * Boot-medium detection (app/detect.c) against media built here (medium-build.h): ISO
 * images with El Torito EFI images on FAT12/16/32, ISO 9660 / Rock Ridge / Joliet trees,
 * GPT and MBR disks as raw files and as qcow2 (converted with qemu-img when it exists),
 * kernel headers of every kind; and hostile media: loops in FAT chains and directories,
 * huge counts, truncation, which must give 0 or -1 quickly.
 *
 * `test-detect --write-seeds DIR` writes the fuzz target's seed corpus instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "detect.h"
#include "medium-build.h"
#include "tmpdir.h"

static char dir[256];

static const char *path(const char *name)
{
    static char bufs[16][320];
    static int i;
    char *b = bufs[i++ & 15];
    snprintf(b, 320, "%s/%s", dir, name);
    return b;
}

static int detect(const char *name, VesselMediumKind kind, VesselDetect *d, char *err)
{
    int r = vessel_detect(path(name), kind, d, err, 512);
    printf("%-22s -> %d %s: %s%s\n", name, r, vs_arch_name(d->arch) ? vs_arch_name(d->arch) : "-",
           d->reason, r < 0 ? err : "");
    return r;
}

static void expect(const char *name, VesselMediumKind kind, int want, VsArch arch,
                   const char *reason_part)
{
    VesselDetect d;
    char err[512];
    int r = detect(name, kind, &d, err);
    CHECK_EQ(r, want);
    CHECK_EQ(d.arch, arch);
    if (reason_part && !strstr(r < 0 ? err : d.reason, reason_part)) {
        g_fail++;
        fprintf(stderr, "  %s: expected \"%s\" in the message\n", name, reason_part);
    }
}

static void write_iso(const char *name, const MbIsoSpec *spec)
{
    MbIso iso = mb_iso_build(spec);
    CHECK(mb_write(path(name), iso.img, iso.size));
    free(iso.img);
}

static void test_iso(void)
{
    /* El Torito EFI image (FAT12) with BOOTAA64.EFI; the file tree has no loader. */
    MbFat f12 = mb_fat_with_loader(12, 128, "BOOTAA64EFI", NULL);
    MbIsoSpec s = { .efi_image = &f12, .bios_entry = true };
    write_iso("arm.iso", &s);
    expect("arm.iso", VESSEL_MEDIUM_ISO, 1, VS_ARCH_ARM64, "El Torito");
    expect("arm.iso", VESSEL_MEDIUM_ISO, 1, VS_ARCH_ARM64, "BOOTAA64.EFI");

    /* The EFI image as the only (default) entry, FAT16, long name riscv loader. */
    MbFat f16 = mb_fat_with_loader(16, 8192, "BOOTRI~1EFI", "BOOTRISCV64.EFI");
    MbIsoSpec s2 = { .efi_image = &f16 };
    write_iso("riscv.iso", &s2);
    expect("riscv.iso", VESSEL_MEDIUM_ISO, 1, VS_ARCH_RISCV64, "BOOTRISCV64.EFI");
    /* A long name whose checksum does not match its 8.3 entry is ignored (stale VFAT). */
    MbFat bad = mb_fat_with_loader(16, 8192, "BOOTRI~1EFI", "BOOTRISCV64.EFI");
    uint8_t *e = NULL;
    for (size_t off = bad.data_off; off < bad.size; off += 32)
        if (!memcmp(bad.img + off, "BOOTRI~1EFI", 11)) {
            e = bad.img + off;
            break;
        }
    CHECK(e != NULL);
    if (e)
        e[-32 + 13] ^= 1; /* the checksum of the LFN entry just before */
    MbIsoSpec s2b = { .efi_image = &bad };
    write_iso("stale-lfn.iso", &s2b);
    expect("stale-lfn.iso", VESSEL_MEDIUM_ISO, 0, VS_ARCH_NONE, "no EFI/BOOT/BOOT*.EFI");
    free(bad.img);

    /* No El Torito: the loader in the ISO 9660 tree only. */
    MbIsoSpec s3 = { .tree_loader = "BOOTX64.EFI;1" };
    write_iso("tree.iso", &s3);
    expect("tree.iso", VESSEL_MEDIUM_ISO, 1, VS_ARCH_X86_64, "ISO 9660 file tree");
    /* Rock Ridge gives the real name of a truncated 8.3 one. */
    MbIsoSpec s4 = { .tree_loader = "BOOTRISC.EFI;1", .tree_rr = "BOOTRISCV64.EFI" };
    write_iso("rockridge.iso", &s4);
    expect("rockridge.iso", VESSEL_MEDIUM_ISO, 1, VS_ARCH_RISCV64, NULL);
    /* Joliet, lower case. */
    MbIsoSpec s5 = { .joliet_loader = "bootaa64.efi" };
    write_iso("joliet.iso", &s5);
    expect("joliet.iso", VESSEL_MEDIUM_ISO, 1, VS_ARCH_ARM64, "Joliet");

    /* Two architectures: the host's is preferred, the other one named. */
    MbFat fx = mb_fat_with_loader(12, 128, "BOOTX64 EFI", NULL);
    MbIsoSpec s6 = { .efi_image = &fx, .joliet_loader = "BOOTAA64.EFI" };
    write_iso("multi.iso", &s6);
    VesselDetect d;
    char err[512];
    CHECK_EQ(detect("multi.iso", VESSEL_MEDIUM_ISO, &d, err), 1);
    CHECK(strstr(d.reason, "also for") != NULL);
#if defined(__x86_64__)
    CHECK_EQ(d.arch, VS_ARCH_X86_64);
#elif defined(__aarch64__)
    CHECK_EQ(d.arch, VS_ARCH_ARM64);
#endif

    /* Only loaders of architectures Vessel cannot run, or none at all. */
    MbFat f32bit = mb_fat_with_loader(12, 128, "BOOTIA32EFI", NULL);
    MbIsoSpec s7 = { .efi_image = &f32bit };
    write_iso("ia32.iso", &s7);
    expect("ia32.iso", VESSEL_MEDIUM_ISO, 0, VS_ARCH_NONE, "32-bit x86");
    MbIsoSpec s8 = { .bios_entry = true };
    write_iso("bios.iso", &s8);
    expect("bios.iso", VESSEL_MEDIUM_ISO, 0, VS_ARCH_NONE, "no EFI boot image");
    MbFat none = mb_fat_with_loader(12, 128, NULL, NULL);
    MbIsoSpec s9 = { .efi_image = &none };
    write_iso("noloader.iso", &s9);
    expect("noloader.iso", VESSEL_MEDIUM_ISO, 0, VS_ARCH_NONE, "holds no");

    /* Not an ISO; a missing file; a folder; an unreadable file. */
    CHECK(mb_write(path("random.iso"), f12.img, f12.size));
    expect("random.iso", VESSEL_MEDIUM_ISO, 0, VS_ARCH_NONE, "not an ISO 9660");
    expect("missing.iso", VESSEL_MEDIUM_ISO, -1, VS_ARCH_NONE, "No such file");
    mkdir(path("folder.iso"), 0755);
    expect("folder.iso", VESSEL_MEDIUM_ISO, -1, VS_ARCH_NONE, "folder");
    /* A FIFO is refused without opening it (which would wait for a writer forever). */
    CHECK(mkfifo(path("fifo"), 0600) == 0);
    expect("fifo", VESSEL_MEDIUM_ISO, -1, VS_ARCH_NONE, "not a regular file");
    expect("fifo", VESSEL_MEDIUM_KERNEL, -1, VS_ARCH_NONE, "not a regular file");
    expect("fifo", VESSEL_MEDIUM_DISK, -1, VS_ARCH_NONE, "not a regular file");
    if (geteuid() != 0) {
        CHECK(mb_write(path("secret.iso"), "x", 1));
        chmod(path("secret.iso"), 0);
        expect("secret.iso", VESSEL_MEDIUM_ISO, -1, VS_ARCH_NONE, "Permission denied");
    } else {
        printf("SKIP unreadable-file case: running as root, which can read any file\n");
    }

    /* Truncated: the ISO cut inside the EFI image and inside the descriptors. */
    MbIso iso = mb_iso_build(&s);
    CHECK(mb_write(path("cut1.iso"), iso.img, 40 * 2048 + 700));
    expect("cut1.iso", VESSEL_MEDIUM_ISO, 0, VS_ARCH_NONE, NULL);
    CHECK(mb_write(path("cut2.iso"), iso.img, 16 * 2048 + 100));
    expect("cut2.iso", VESSEL_MEDIUM_ISO, 0, VS_ARCH_NONE, NULL);
    free(iso.img);

    free(f12.img);
    free(f16.img);
    free(fx.img);
    free(f32bit.img);
    free(none.img);
}

/* A FAT12 volume whose BOOT directory chain loops, with no loader in it. */
static MbFat looped_fat(void)
{
    MbFat f = mb_fat_with_loader(12, 128, NULL, NULL);
    /* Find BOOT's cluster: the only directory entry named "BOOT" in cluster of EFI. */
    for (size_t off = f.data_off; off + 32 <= f.size; off += 32) {
        uint8_t *e = f.img + off;
        if (!memcmp(e, "BOOT       ", 11) && (e[11] & 0x10)) {
            uint32_t cl = e[26] | e[27] << 8;
            mb_fat_set(&f, cl, cl); /* points at itself */
            /* Fill the directory so the walk does not end at a zero entry. */
            uint8_t *c = mb_fat_cluster(&f, cl);
            for (int i = 2; i < 16; i++) {
                memcpy(c + i * 32, "FILLER  TXT", 11);
                c[i * 32 + 11] = 0x20;
            }
            break;
        }
    }
    return f;
}

static void test_hostile(void)
{
    MbFat loop = looped_fat();
    MbIsoSpec s = { .efi_image = &loop };
    write_iso("loop.iso", &s);
    time_t t0 = time(NULL);
    expect("loop.iso", VESSEL_MEDIUM_ISO, 0, VS_ARCH_NONE, NULL);
    CHECK(time(NULL) - t0 < 5);
    free(loop.img);

    /* A BPB claiming a huge volume and a huge FAT; cluster numbers far out of range. */
    MbFat huge = mb_fat_with_loader(12, 128, "BOOTX64 EFI", NULL);
    mb_le32(huge.img + 32, 0xffffffffu);
    mb_le16(huge.img + 19, 0);
    mb_le16(huge.img + 22, 0xffff);
    MbIsoSpec s2 = { .efi_image = &huge };
    write_iso("huge.iso", &s2);
    expect("huge.iso", VESSEL_MEDIUM_ISO, 0, VS_ARCH_NONE, NULL);
    free(huge.img);

    /* A boot catalog with a section header claiming 65535 entries, an ISO directory whose
     * size is 4 GiB, a record length that overruns its sector. */
    MbFat f = mb_fat_with_loader(12, 128, "BOOTX64 EFI", NULL);
    MbIsoSpec s3 = { .efi_image = &f, .bios_entry = true, .tree_loader = "BOOTX64.EFI;1" };
    MbIso iso = mb_iso_build(&s3);
    uint8_t *cat = iso.img + 24 * 2048;
    mb_le16(cat + 64 + 2, 0xffff);
    mb_le32(iso.img + 16 * 2048 + 156 + 10, 0xffffffffu);
    uint8_t *boot = iso.img + 27 * 2048;
    boot[0] = 250; /* "." of BOOT runs past the sector */
    CHECK(mb_write(path("bad-catalog.iso"), iso.img, iso.size));
    /* The EFI image is still found: only the tree's BOOT directory is broken. */
    t0 = time(NULL);
    expect("bad-catalog.iso", VESSEL_MEDIUM_ISO, 1, VS_ARCH_X86_64, "El Torito");
    CHECK(time(NULL) - t0 < 5);
    free(iso.img);
    free(f.img);

    /* A GPT with an entry array past the end of the disk and a silly entry size. */
    MbFat esp = mb_fat_with_loader(16, 8192, "BOOTX64 EFI", NULL);
    size_t size;
    uint8_t *disk = mb_disk(&esp, true, 0, &size);
    mb_le64(disk + 512 + 72, 1ull << 60);
    CHECK(mb_write(path("gpt-far.img"), disk, size));
    expect("gpt-far.img", VESSEL_MEDIUM_DISK, 0, VS_ARCH_NONE, NULL);
    mb_le64(disk + 512 + 72, 2);
    mb_le32(disk + 512 + 84, 7);
    CHECK(mb_write(path("gpt-esize.img"), disk, size));
    expect("gpt-esize.img", VESSEL_MEDIUM_DISK, 0, VS_ARCH_NONE, NULL);
    free(disk);
    free(esp.img);
}

static void test_disk(bool have_qemu)
{
    /* GPT, ESP after a Linux partition, FAT16, riscv64 loader with a long name. */
    MbFat f16 = mb_fat_with_loader(16, 8192, "BOOTRI~1EFI", "BOOTRISCV64.EFI");
    size_t size;
    uint8_t *disk = mb_disk(&f16, true, 0, &size);
    CHECK(mb_write(path("gpt.img"), disk, size));
    expect("gpt.img", VESSEL_MEDIUM_DISK, 1, VS_ARCH_RISCV64, "EFI System Partition");
    free(disk);
    /* MBR, type 0xEF, FAT32. */
    MbFat f32 = mb_fat_with_loader(32, 70000, "BOOTX64 EFI", NULL);
    disk = mb_disk(&f32, false, 0xef, &size);
    CHECK(mb_write(path("mbr.img"), disk, size));
    expect("mbr.img", VESSEL_MEDIUM_DISK, 1, VS_ARCH_X86_64, "EFI System Partition");
    free(disk);
    /* MBR, a plain FAT32 (LBA) partition with an EFI loader (Raspberry Pi style). */
    disk = mb_disk(&f32, false, 0x0c, &size);
    CHECK(mb_write(path("mbr-fat.img"), disk, size));
    expect("mbr-fat.img", VESSEL_MEDIUM_DISK, 1, VS_ARCH_X86_64, "FAT partition");
    free(disk);
    free(f32.img);
    /* An ESP without a loader. */
    MbFat empty = mb_fat_with_loader(16, 8192, NULL, NULL);
    disk = mb_disk(&empty, true, 0, &size);
    CHECK(mb_write(path("noloader.img"), disk, size));
    expect("noloader.img", VESSEL_MEDIUM_DISK, 0, VS_ARCH_NONE, "holds no");
    free(disk);
    free(empty.img);

    /* A new empty disk (through the engine's image API). */
    VsError verr;
    CHECK(vs_image_create(path("empty.qcow2"), VS_DISK_FORMAT_QCOW2, 64 << 20, &verr) == VS_OK);
    expect("empty.qcow2", VESSEL_MEDIUM_DISK, 0, VS_ARCH_NONE, "no partition table");
    CHECK(mb_write(path("tiny.img"), "abc", 3));
    expect("tiny.img", VESSEL_MEDIUM_DISK, 0, VS_ARCH_NONE, "smaller than one sector");
    expect("missing.qcow2", VESSEL_MEDIUM_DISK, -1, VS_ARCH_NONE, "No such file");

    /* The GPT disk as qcow2: the contents are read through the engine's block layer. */
    if (have_qemu) {
        char cmd[800];
        snprintf(cmd, sizeof(cmd), "qemu-img convert -f raw -O qcow2 '%s' '%s'", path("gpt.img"),
                 path("gpt.qcow2"));
        CHECK(system(cmd) == 0);
        expect("gpt.qcow2", VESSEL_MEDIUM_DISK, 1, VS_ARCH_RISCV64, "BOOTRISCV64.EFI");
        /* Read as a raw ISO file, the qcow2 is just bytes: nothing found. */
        expect("gpt.qcow2", VESSEL_MEDIUM_ISO, 0, VS_ARCH_NONE, "not an ISO");
    } else {
        printf("SKIP qcow2 disk case: qemu-img is not installed\n");
    }
    free(f16.img);
}

static void write_kernel(const char *name, size_t size, size_t off, const void *magic, size_t n)
{
    uint8_t *b = calloc(1, size);
    memcpy(b + off, magic, n);
    CHECK(mb_write(path(name), b, size));
    free(b);
}

static void test_kernel(void)
{
    write_kernel("arm64.Image", 4096, 0x38, "ARM\x64", 4);
    expect("arm64.Image", VESSEL_MEDIUM_KERNEL, 1, VS_ARCH_ARM64, "arm64 Image");
    write_kernel("riscv.Image", 4096, 0x38, "RSC\x05", 4);
    expect("riscv.Image", VESSEL_MEDIUM_KERNEL, 1, VS_ARCH_RISCV64, "riscv Image");
    write_kernel("riscv-old.Image", 4096, 0x30, "RISCV\0\0\0", 8);
    expect("riscv-old.Image", VESSEL_MEDIUM_KERNEL, 1, VS_ARCH_RISCV64, "riscv Image");
    write_kernel("bzImage", 8192, 0x202, "HdrS", 4);
    expect("bzImage", VESSEL_MEDIUM_KERNEL, 1, VS_ARCH_X86_64, "bzImage");

    uint8_t elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
    const struct {
        const char *name;
        uint16_t machine;
        int cls, want;
        VsArch arch;
    } elfs[] = {
        { "vmlinux-x86", 62, 2, 1, VS_ARCH_X86_64 },
        { "vmlinux-arm64", 183, 2, 1, VS_ARCH_ARM64 },
        { "vmlinux-riscv", 243, 2, 1, VS_ARCH_RISCV64 },
        { "vmlinux-arm32", 40, 1, 0, VS_ARCH_NONE },
        { "vmlinux-rv32", 243, 1, 0, VS_ARCH_NONE },
    };
    for (size_t i = 0; i < sizeof(elfs) / sizeof(elfs[0]); i++) {
        elf[4] = (uint8_t)elfs[i].cls;
        mb_le16(elf + 18, elfs[i].machine);
        CHECK(mb_write(path(elfs[i].name), elf, sizeof(elf)));
        expect(elfs[i].name, VESSEL_MEDIUM_KERNEL, elfs[i].want, elfs[i].arch,
               elfs[i].want ? "ELF file" : "cannot run");
    }

    /* PE: MZ, e_lfanew, PE\0\0 machine. */
    uint8_t pe[512] = { 'M', 'Z' };
    mb_le32(pe + 0x3c, 0x80);
    memcpy(pe + 0x80, "PE\0\0", 4);
    const struct {
        const char *name;
        uint16_t machine;
        VsArch arch;
    } pes[] = { { "x64.efi", 0x8664, VS_ARCH_X86_64 },
                { "aa64.efi", 0xaa64, VS_ARCH_ARM64 },
                { "riscv64.efi", 0x5064, VS_ARCH_RISCV64 },
                { "ia32.efi", 0x14c, VS_ARCH_NONE } };
    for (size_t i = 0; i < 4; i++) {
        mb_le16(pe + 0x84, pes[i].machine);
        CHECK(mb_write(path(pes[i].name), pe, sizeof(pe)));
        expect(pes[i].name, VESSEL_MEDIUM_KERNEL, pes[i].arch ? 1 : 0, pes[i].arch, "PE/EFI");
    }
    /* An arm64 Image with an EFI stub starts with MZ too: the Image header wins. */
    memcpy(pe + 0x38, "ARM\x64", 4);
    mb_le16(pe + 0x84, 0x8664);
    CHECK(mb_write(path("stub.Image"), pe, sizeof(pe)));
    expect("stub.Image", VESSEL_MEDIUM_KERNEL, 1, VS_ARCH_ARM64, "arm64 Image");
    /* e_lfanew pointing past the end. */
    memset(pe + 0x38, 0, 4);
    mb_le32(pe + 0x3c, 0xfffffff0u);
    CHECK(mb_write(path("badpe.efi"), pe, sizeof(pe)));
    expect("badpe.efi", VESSEL_MEDIUM_KERNEL, 0, VS_ARCH_NONE, NULL);

    write_kernel("Image.gz", 4096, 0, "\x1f\x8b\x08", 3);
    expect("Image.gz", VESSEL_MEDIUM_KERNEL, 0, VS_ARCH_NONE, "gzip");
    write_kernel("short", 10, 0, "MZ", 2);
    expect("short", VESSEL_MEDIUM_KERNEL, 0, VS_ARCH_NONE, "too small");
    write_kernel("text", 4096, 0, "hello", 5);
    expect("text", VESSEL_MEDIUM_KERNEL, 0, VS_ARCH_NONE, "no Linux Image");
    expect("missing-kernel", VESSEL_MEDIUM_KERNEL, -1, VS_ARCH_NONE, "No such file");

    /* The real demo kernel, when tools/guest-assets fetched it. */
    const char *g = getenv("VESSEL_GUEST_DIR");
    char real[600];
    if (g && *g)
        snprintf(real, sizeof(real), "%s/riscv64/Image", g);
    else
        snprintf(real, sizeof(real), "%s/.cache/vessel/guests/riscv64/Image",
                 getenv("HOME") ? getenv("HOME") : "/");
    if (access(real, R_OK) == 0) {
        VesselDetect d;
        char err[512];
        CHECK_EQ(vessel_detect(real, VESSEL_MEDIUM_KERNEL, &d, err, sizeof(err)), 1);
        CHECK_EQ(d.arch, VS_ARCH_RISCV64);
        printf("%s -> %s\n", real, d.reason);
    } else {
        printf("SKIP the real riscv64 kernel: %s is not there (tools/guest-assets)\n", real);
    }
}

/* The fuzz target's seeds: one byte of kind, then the medium. */
static int write_seeds(const char *out)
{
    struct {
        const char *name;
        int kind;
        uint8_t *data;
        size_t len;
    } seeds[8];
    int n = 0;
    MbFat f12 = mb_fat_with_loader(12, 64, "BOOTRI~1EFI", "BOOTRISCV64.EFI");
    MbIsoSpec s = { .efi_image = &f12,
                    .bios_entry = true,
                    .tree_loader = "BOOTRISC.EFI;1",
                    .tree_rr = "BOOTRISCV64.EFI" };
    MbIso iso = mb_iso_build(&s);
    seeds[n++] = (typeof(seeds[0])){ "iso-eltorito-rr", VESSEL_MEDIUM_ISO, iso.img, iso.size };
    MbIsoSpec sj = { .joliet_loader = "bootaa64.efi" };
    MbIso isoj = mb_iso_build(&sj);
    seeds[n++] = (typeof(seeds[0])){ "iso-joliet", VESSEL_MEDIUM_ISO, isoj.img, isoj.size };
    MbFat lf = looped_fat();
    MbFat small = mb_fat_with_loader(12, 64, "BOOTX64 EFI", NULL);
    size_t dlen, mlen;
    uint8_t *gpt = mb_disk_at(&small, true, 0, 40, &dlen);
    seeds[n++] = (typeof(seeds[0])){ "disk-gpt", VESSEL_MEDIUM_DISK, gpt, dlen };
    uint8_t *mbr = mb_disk_at(&lf, false, 0xef, 1, &mlen);
    seeds[n++] = (typeof(seeds[0])){ "disk-mbr-loop", VESSEL_MEDIUM_DISK, mbr, mlen };
    uint8_t pe[256] = { 'M', 'Z' };
    mb_le32(pe + 0x3c, 0x80);
    memcpy(pe + 0x80, "PE\0\0\x64\x50", 6);
    seeds[n++] = (typeof(seeds[0])){ "kernel-pe", VESSEL_MEDIUM_KERNEL, pe, sizeof(pe) };
    uint8_t img[128] = { 0 };
    memcpy(img + 0x38, "RSC\x05", 4);
    seeds[n++] = (typeof(seeds[0])){ "kernel-image", VESSEL_MEDIUM_KERNEL, img, sizeof(img) };
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", out, seeds[i].name);
        uint8_t *buf = malloc(seeds[i].len + 1);
        buf[0] = (uint8_t)seeds[i].kind;
        memcpy(buf + 1, seeds[i].data, seeds[i].len);
        if (!mb_write(p, buf, seeds[i].len + 1))
            rc = 1;
        printf("%s: %zu bytes\n", p, seeds[i].len + 1);
        free(buf);
    }
    free(f12.img), free(iso.img), free(isoj.img), free(lf.img), free(small.img), free(gpt),
        free(mbr);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--write-seeds"))
        return write_seeds(argv[2]);
    if (!test_mkdtemp(dir, sizeof(dir), "vessel-detect")) {
        perror("mkdtemp");
        return 1;
    }
    bool have_qemu = access("/usr/bin/qemu-img", X_OK) == 0;
    test_iso();
    test_hostile();
    test_disk(have_qemu);
    test_kernel();
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("detect: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
