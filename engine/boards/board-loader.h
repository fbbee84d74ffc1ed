/* SPDX-License-Identifier: MIT */
/*
 * Boot image loading shared by the boards: whole-file reads, ELF64 executables, the RISC-V
 * Linux `Image` format and raw binaries, the initrd and device tree, with errors a person
 * can act on. Every image is checked against the guest RAM before anything is written.
 * The ranges written are kept (LoaderBlobs) so a guest reset can write them again.
 */
#ifndef VESSEL_BOARD_LOADER_H
#define VESSEL_BOARD_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmu/mmu.h"
#include "vessel/engine.h"

/* Where images go: guest RAM [ram_base, ram_base + ram_size). */
typedef struct LoadTarget {
    PhysMem *mem;
    uint64_t ram_base, ram_size;
    /* Optional: told about every guest range written (boards keep them to reload on reset). */
    void (*loaded)(void *opaque, uint64_t addr, uint64_t len);
    void *loaded_opaque;
} LoadTarget;

/* What was loaded: entry point and the guest range [low, high) it occupies. */
typedef struct LoadedImage {
    uint64_t entry;
    uint64_t low, high;
    bool is_elf; /* loaded from an ELF file (else a raw image) */
} LoadedImage;

/* Header of a RISC-V Linux `Image` (Documentation/riscv/boot-image-header.rst). */
#define RV_IMAGE_HEADER_SIZE   64
#define RV_IMAGE_MAGIC2_OFFSET 0x38
typedef struct RvImageHeader {
    uint64_t text_offset; /* where the kernel wants to be from the start of RAM */
    uint64_t image_size;  /* memory it occupies, bss included (0 in very old kernels) */
} RvImageHeader;

/*
 * Read a whole file into a malloc'ed buffer. `what` names the file's role in messages
 * ("kernel", "initrd", ...). A file larger than max_size (the guest RAM) is refused, saying
 * so with both sizes; an empty file, a directory or an unreadable file too.
 */
VsStatus loader_read_file(const char *what, const char *path, uint64_t max_size, uint8_t **data,
                          size_t *size, VsError *err);

/* "512 MiB", "1.5 GiB", "300 KiB", "12 bytes". */
void loader_format_size(uint64_t bytes, char *buf, size_t len);

/* True if data starts with the ELF magic (whatever its class or machine). */
bool loader_is_elf(const uint8_t *data, size_t size);
/* Name of an ELF e_machine value ("x86-64", "arm64 (AArch64)", ...); never NULL. */
const char *loader_elf_machine_name(unsigned machine, char *buf, size_t len);

/*
 * Load a riscv64 little-endian ELF executable: every PT_LOAD segment at its physical address
 * (p_paddr), bss zeroed. The whole file is validated first (class, byte order, machine,
 * header and segment bounds with overflow checks, every segment inside guest RAM), so
 * nothing is written on error. out->entry is e_entry, which must lie in [low, high).
 */
VsStatus loader_load_elf(const LoadTarget *t, const char *what, const char *path,
                         const uint8_t *data, size_t size, LoadedImage *out, VsError *err);

/* The same for another architecture: want_machine is the ELF e_machine (EM_X86_64), arch
 * the name used in messages ("x86_64"). */
VsStatus loader_load_elf_machine(const LoadTarget *t, const char *what, const char *path,
                                 const uint8_t *data, size_t size, unsigned want_machine,
                                 const char *arch, LoadedImage *out, VsError *err);

/* True (and *hdr filled) if data is a RISC-V Linux Image (magic "RSC\x05" at 0x38). */
bool loader_parse_rv_image(const uint8_t *data, size_t size, RvImageHeader *hdr);

/*
 * Copy a raw image to guest address addr. The range [addr, addr + mem_size) must be in RAM;
 * mem_size >= size (the rest is zeroed). out->entry = addr.
 */
VsStatus loader_load_raw(const LoadTarget *t, const char *what, const char *path,
                         const uint8_t *data, size_t size, uint64_t addr, uint64_t mem_size,
                         LoadedImage *out, VsError *err);

/*
 * riscv64 kernel: an ELF for riscv64 (its own addresses) or a Linux Image (at image_addr,
 * RAM base + 2 MiB where OpenSBI fw_jump jumps). Anything else is refused.
 */
VsStatus loader_load_rv_kernel(const LoadTarget *t, const char *path, uint64_t image_addr,
                               LoadedImage *out, VsError *err);

/*
 * riscv64 firmware: an ELF for riscv64 (bare-metal programs; entry from the ELF) or a raw
 * binary such as OpenSBI fw_jump.bin, loaded and entered at raw_addr.
 */
VsStatus loader_load_rv_firmware(const LoadTarget *t, const char *path, uint64_t raw_addr,
                                 LoadedImage *out, VsError *err);

/*
 * The device tree at fdt_addr, and before it the initrd (when initrd_path is set) at
 * initrd_addr, whose range is then written into the tree's /chosen linux,initrd-start/end
 * (the tree must have been built with those properties, as 64-bit placeholders). The
 * caller has placed both inside guest RAM, apart from each other and from its other images.
 */
VsStatus loader_load_initrd_fdt(const LoadTarget *t, const char *initrd_path, const uint8_t *initrd,
                                size_t initrd_size, uint64_t initrd_addr, void *fdt,
                                size_t fdt_size, uint64_t fdt_addr, VsError *err);

/* ---- Images restored on a guest reset ---- */

/* A guest range written at creation. */
typedef struct LoaderBlob {
    uint64_t addr, len;
    uint8_t *data; /* copy of the guest bytes once creation is done */
} LoaderBlob;

/*
 * The ranges a board's images occupy, to write them again on a guest reset: pass
 * loader_blobs_record as LoadTarget.loaded with the LoaderBlobs as its opaque, then
 * loader_blobs_snapshot once every image is in place. Zero-initialised means empty.
 */
typedef struct LoaderBlobs {
    LoaderBlob *blobs;
    unsigned count, cap;
    bool failed; /* out of memory while recording: the snapshot fails */
} LoaderBlobs;

void loader_blobs_record(void *opaque, uint64_t addr, uint64_t len);
/* Copy the guest bytes of every recorded range; false when out of memory. */
bool loader_blobs_snapshot(LoaderBlobs *bl, const PhysMem *mem);
/* Write the copies back into guest memory (system reset, vCPUs parked). */
void loader_blobs_restore(const LoaderBlobs *bl, const PhysMem *mem);
void loader_blobs_free(LoaderBlobs *bl);

#endif
