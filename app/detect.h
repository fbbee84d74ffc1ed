/* SPDX-License-Identifier: MIT */
/*
 * Boot-medium architecture detection for the new-VM wizard (plain C, no GTK).
 *
 *  - an installer ISO: the EFI boot image of its El Torito catalog (platform 0xEF, a FAT
 *    image) and its ISO 9660 / Joliet / Rock Ridge tree, looking for EFI/BOOT/BOOT*.EFI;
 *  - a disk image (raw or qcow2, read through the engine): the EFI System Partition of its
 *    GPT or MBR partition table (or a partitionless FAT file system), EFI/BOOT/BOOT*.EFI;
 *  - a Linux kernel: the arm64/riscv Image header, an x86 bzImage, an ELF file's machine,
 *    a PE/EFI executable's machine.
 *
 * Everything read from the file is distrusted: every length, offset and chain is bounded,
 * so a hostile image gives 0 or -1 in bounded time.
 */
#ifndef VESSEL_DETECT_H
#define VESSEL_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "vessel/engine.h"

typedef enum { VESSEL_MEDIUM_ISO, VESSEL_MEDIUM_DISK, VESSEL_MEDIUM_KERNEL } VesselMediumKind;

typedef struct {
    VsArch arch;      /* VS_ARCH_NONE unless 1 is returned */
    char reason[256]; /* what was found ("EFI loader EFI/BOOT/BOOTX64.EFI"), or why not */
} VesselDetect;

/*
 * 1: detected (out->arch, out->reason says from what); 0: the file was read but its
 * architecture cannot be determined (out->reason says why: no EFI loader, compressed
 * kernel, only loaders of unsupported architectures...); -1: the file cannot be read
 * (err says why, naming the file). Reasons and errors are translated through gettext
 * (domain "vessel") when the program has set a locale and bound the domain; the caller
 * shows them as details under its own message.
 */
int vessel_detect(const char *path, VesselMediumKind kind, VesselDetect *out, char *err,
                  size_t errlen);

/* The same over any byte source (the fuzz target's memory buffer). read returns 0 when
 * all len bytes at off were read, -1 on an I/O error (then it fills err). */
typedef struct {
    uint64_t size;
    int (*read)(void *opaque, uint64_t off, void *buf, size_t len, char *err, size_t errlen);
    void *opaque;
} VesselDetectSource;

int vessel_detect_source(const VesselDetectSource *src, VesselMediumKind kind, VesselDetect *out,
                         char *err, size_t errlen);

#endif
