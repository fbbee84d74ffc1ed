/* SPDX-License-Identifier: MIT */
/* Boot image loading: files, ELF64, RISC-V Linux Image, raw binaries, initrd and device
 * tree, and the copies of them a guest reset writes back. */
#include "boards/board-loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/machine.h"

/* ---- Files ---- */

void loader_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

    if (bytes < 1024) {
        snprintf(buf, len, "%" PRIu64 " byte%s", bytes, bytes == 1 ? "" : "s");
        return;
    }
    unsigned u = 0;
    uint64_t unit = 1024;
    while (u + 1 < sizeof(units) / sizeof(units[0]) && bytes / unit >= 1024) {
        unit *= 1024;
        u++;
    }
    uint64_t whole = bytes / unit;
    uint64_t tenths = (bytes % unit) * 10 / unit;
    if (tenths)
        snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", whole, tenths, units[u]);
    else
        snprintf(buf, len, "%" PRIu64 " %s", whole, units[u]);
}

static VsStatus too_large(const char *what, const char *path, uint64_t size, uint64_t max,
                          VsError *err)
{
    char have[32], room[32];
    loader_format_size(size, have, sizeof(have));
    loader_format_size(max, room, sizeof(room));
    return vs_error_set(err, VS_ERR_INVALID,
                        "%s '%s' is too large: %s does not fit in %s of guest RAM", what, path,
                        have, room);
}

VsStatus loader_read_file(const char *what, const char *path, uint64_t max_size, uint8_t **data,
                          size_t *size, VsError *err)
{
    *data = NULL;
    *size = 0;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vs_error_set(err, VS_ERR_IO, "cannot open %s '%s': %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return vs_error_set(err, VS_ERR_IO, "cannot read %s '%s': %s", what, path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return vs_error_set(err, VS_ERR_INVALID, "%s '%s' is a directory, not a file", what, path);
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_size) {
        close(fd);
        return too_large(what, path, (uint64_t)st.st_size, max_size, err);
    }

    /* Read until EOF (the size may change under us, and pipes have none), never past
     * max_size + 1 bytes. */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
    size_t len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return vs_error_set(err, VS_ERR_NOMEM, "out of memory reading %s '%s'", what, path);
    }
    for (;;) {
        if (len == cap) {
            size_t ncap = cap * 2;
            uint8_t *n = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!n) {
                free(buf);
                close(fd);
                return vs_error_set(err, VS_ERR_NOMEM, "out of memory reading %s '%s'", what, path);
            }
            buf = n;
            cap = ncap;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return vs_error_set(err, VS_ERR_IO, "cannot read %s '%s': %s", what, path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max_size) {
            free(buf);
            close(fd);
            return too_large(what, path, len, max_size, err);
        }
    }
    close(fd);
    if (len == 0) {
        free(buf);
        return vs_error_set(err, VS_ERR_FORMAT, "%s '%s' is empty", what, path);
    }
    *data = buf;
    *size = len;
    return VS_OK;
}

/* ---- Guest RAM checks ---- */

static bool range_in_ram(const LoadTarget *t, uint64_t addr, uint64_t len)
{
    if (addr < t->ram_base)
        return false;
    uint64_t off = addr - t->ram_base;
    return off <= t->ram_size && len <= t->ram_size - off;
}

static void ram_bounds(const LoadTarget *t, char *buf, size_t len)
{
    snprintf(buf, len, "0x%" PRIx64 "-0x%" PRIx64, t->ram_base, t->ram_base + t->ram_size - 1);
}

/* Copy file bytes and zero the rest of [addr, addr + mem_size); the range was checked. */
static VsStatus write_guest(const LoadTarget *t, const char *what, const char *path, uint64_t addr,
                            const uint8_t *src, uint64_t file_size, uint64_t mem_size, VsError *err)
{
    if (mem_size == 0)
        return VS_OK;
    uint8_t *host = physmem_host_ptr(t->mem, addr, mem_size, true);
    if (!host)
        return vs_error_set(err, VS_ERR_INVALID,
                            "%s '%s': guest memory 0x%" PRIx64 "-0x%" PRIx64 " is not RAM", what,
                            path, addr, addr + mem_size - 1);
    memcpy(host, src, file_size);
    memset(host + file_size, 0, mem_size - file_size);
    if (t->loaded)
        t->loaded(t->loaded_opaque, addr, mem_size);
    return VS_OK;
}

/* ---- ELF ---- */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

bool loader_is_elf(const uint8_t *data, size_t size)
{
    return size >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0;
}

const char *loader_elf_machine_name(unsigned machine, char *buf, size_t len)
{
    switch (machine) {
    case EM_386: return "x86 (i386)";
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "arm64 (AArch64)";
    case EM_ARM: return "32-bit ARM";
    case EM_RISCV: return "RISC-V";
    case EM_PPC: return "PowerPC";
    case EM_PPC64: return "64-bit PowerPC";
    case EM_MIPS: return "MIPS";
    case EM_S390: return "s390";
    case EM_SPARC: return "SPARC";
    case EM_SPARCV9: return "SPARC64";
    case EM_IA_64: return "IA-64";
    case EM_SH: return "SuperH";
    case EM_ALPHA: return "Alpha";
    case 258: /* EM_LOONGARCH, missing from older headers */ return "LoongArch";
    default: snprintf(buf, len, "machine type %u", machine); return buf;
    }
}

static const char *elf_type_name(unsigned type)
{
    switch (type) {
    case ET_REL: return "a relocatable object file (.o)";
    case ET_CORE: return "a core dump";
    case ET_NONE: return "an ELF file of no type";
    default: return "an ELF file of an unknown type";
    }
}

#define EHDR_SIZE 64
#define PHDR_SIZE 56

VsStatus loader_load_elf(const LoadTarget *t, const char *what, const char *path,
                         const uint8_t *data, size_t size, LoadedImage *out, VsError *err)
{
    return loader_load_elf_machine(t, what, path, data, size, EM_RISCV, "riscv64", out, err);
}

VsStatus loader_load_elf_machine(const LoadTarget *t, const char *what, const char *path,
                                 const uint8_t *data, size_t size, unsigned want_machine,
                                 const char *arch, LoadedImage *out, VsError *err)
{
    char name[48], ram[64];

    if (!loader_is_elf(data, size))
        return vs_error_set(err, VS_ERR_FORMAT, "%s '%s' is not an ELF file", what, path);
    if (size < EHDR_SIZE)
        return vs_error_set(err, VS_ERR_FORMAT,
                            "%s '%s' is a truncated ELF file (%zu bytes; the header alone "
                            "needs %d)",
                            what, path, size, EHDR_SIZE);

    unsigned cls = data[EI_CLASS], order = data[EI_DATA];
    /* e_machine sits at the same offset in both classes; read it in the file's byte order. */
    unsigned machine =
        order == ELFDATA2MSB ? (unsigned)(data[18] << 8 | data[19]) : rd16(data + 18);
    if (order != ELFDATA2LSB && order != ELFDATA2MSB)
        return vs_error_set(err, VS_ERR_FORMAT, "%s '%s' is a corrupt ELF file (byte order %u)",
                            what, path, order);
    if (machine != want_machine)
        return vs_error_set(err, VS_ERR_FORMAT, "%s '%s' is an ELF for %s, not %s", what, path,
                            loader_elf_machine_name(machine, name, sizeof(name)), arch);
    if (cls == ELFCLASS32)
        return vs_error_set(err, VS_ERR_FORMAT, "%s '%s' is a 32-bit ELF (%s), not %s", what, path,
                            want_machine == EM_RISCV ? "riscv32" : "i386", arch);
    if (cls != ELFCLASS64)
        return vs_error_set(err, VS_ERR_FORMAT, "%s '%s' is a corrupt ELF file (class %u)", what,
                            path, cls);
    if (order != ELFDATA2LSB)
        return vs_error_set(err, VS_ERR_FORMAT, "%s '%s' is a big-endian ELF, not little-endian %s",
                            what, path, arch);

    unsigned type = rd16(data + 16);
    if (type != ET_EXEC && type != ET_DYN)
        return vs_error_set(err, VS_ERR_FORMAT, "%s '%s' is %s, not an executable", what, path,
                            elf_type_name(type));

    uint64_t entry = rd64(data + 24);
    uint64_t phoff = rd64(data + 32);
    unsigned phentsize = rd16(data + 54);
    unsigned phnum = rd16(data + 56);
    if (phnum == 0 || phnum == PN_XNUM)
        return vs_error_set(err, VS_ERR_FORMAT, "%s '%s' has %s ELF program headers", what, path,
                            phnum == 0 ? "no" : "too many");
    if (phentsize != PHDR_SIZE)
        return vs_error_set(err, VS_ERR_FORMAT,
                            "%s '%s' is a corrupt ELF file (program header size %u, expected "
                            "%d)",
                            what, path, phentsize, PHDR_SIZE);
    /* phnum < 0xffff, so the table size cannot overflow; its offset can. */
    uint64_t table = (uint64_t)phnum * PHDR_SIZE;
    if (phoff > size || table > size - phoff)
        return vs_error_set(err, VS_ERR_FORMAT,
                            "%s '%s' is a truncated ELF file (program headers at 0x%" PRIx64
                            " need %" PRIu64 " bytes; the file has %zu)",
                            what, path, phoff, table, size);

    /* Validate every segment before writing anything. */
    uint64_t low = UINT64_MAX, high = 0;
    unsigned nload = 0;
    ram_bounds(t, ram, sizeof(ram));
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = data + phoff + (uint64_t)i * PHDR_SIZE;
        if (rd32(ph) != PT_LOAD)
            continue;
        uint64_t offset = rd64(ph + 8), paddr = rd64(ph + 24);
        uint64_t filesz = rd64(ph + 32), memsz = rd64(ph + 40);
        if (filesz > memsz)
            return vs_error_set(err, VS_ERR_FORMAT,
                                "%s '%s' is a corrupt ELF file (segment %u has 0x%" PRIx64
                                " file bytes but only 0x%" PRIx64 " bytes of memory)",
                                what, path, i, filesz, memsz);
        if (offset > size || filesz > size - offset)
            return vs_error_set(err, VS_ERR_FORMAT,
                                "%s '%s' is a truncated ELF file (segment %u needs bytes "
                                "0x%" PRIx64 "+0x%" PRIx64 "; the file has %zu)",
                                what, path, i, offset, filesz, size);
        if (memsz == 0)
            continue;
        if (paddr + memsz < paddr)
            return vs_error_set(err, VS_ERR_FORMAT,
                                "%s '%s' is a corrupt ELF file (segment %u at 0x%" PRIx64
                                " wraps around the address space)",
                                what, path, i, paddr);
        if (!range_in_ram(t, paddr, memsz))
            return vs_error_set(err, VS_ERR_INVALID,
                                "%s '%s': segment %u at 0x%" PRIx64 "-0x%" PRIx64
                                " is outside guest RAM (%s)",
                                what, path, i, paddr, paddr + memsz - 1, ram);
        if (paddr < low)
            low = paddr;
        if (paddr + memsz > high)
            high = paddr + memsz;
        nload++;
    }
    if (nload == 0)
        return vs_error_set(err, VS_ERR_FORMAT, "%s '%s' has no loadable ELF segments", what, path);
    if (entry < low || entry >= high)
        return vs_error_set(err, VS_ERR_FORMAT,
                            "%s '%s': ELF entry point 0x%" PRIx64 " is outside its loaded "
                            "segments (0x%" PRIx64 "-0x%" PRIx64 ")",
                            what, path, entry, low, high - 1);

    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = data + phoff + (uint64_t)i * PHDR_SIZE;
        if (rd32(ph) != PT_LOAD)
            continue;
        uint64_t offset = rd64(ph + 8), paddr = rd64(ph + 24);
        uint64_t filesz = rd64(ph + 32), memsz = rd64(ph + 40);
        VsStatus st = write_guest(t, what, path, paddr, data + offset, filesz, memsz, err);
        if (st != VS_OK)
            return st;
    }
    out->entry = entry;
    out->low = low;
    out->high = high;
    return VS_OK;
}

/* ---- RISC-V Linux Image ---- */

bool loader_parse_rv_image(const uint8_t *data, size_t size, RvImageHeader *hdr)
{
    if (size < RV_IMAGE_HEADER_SIZE || memcmp(data + RV_IMAGE_MAGIC2_OFFSET, "RSC\x05", 4) != 0)
        return false;
    hdr->text_offset = rd64(data + 8);
    hdr->image_size = rd64(data + 16);
    return true;
}

VsStatus loader_load_raw(const LoadTarget *t, const char *what, const char *path,
                         const uint8_t *data, size_t size, uint64_t addr, uint64_t mem_size,
                         LoadedImage *out, VsError *err)
{
    if (mem_size < size)
        mem_size = size;
    if (!range_in_ram(t, addr, mem_size)) {
        char have[32], ram[64];
        loader_format_size(mem_size, have, sizeof(have));
        ram_bounds(t, ram, sizeof(ram));
        if (range_in_ram(t, addr, 0))
            return vs_error_set(err, VS_ERR_INVALID,
                                "%s '%s' (%s) does not fit in guest RAM (%s) when loaded at "
                                "0x%" PRIx64,
                                what, path, have, ram, addr);
        return vs_error_set(err, VS_ERR_INVALID,
                            "%s '%s': load address 0x%" PRIx64 " is outside guest RAM (%s)", what,
                            path, addr, ram);
    }
    VsStatus st = write_guest(t, what, path, addr, data, size, mem_size, err);
    if (st != VS_OK)
        return st;
    out->entry = addr;
    out->low = addr;
    out->high = addr + mem_size;
    return VS_OK;
}

VsStatus loader_load_rv_kernel(const LoadTarget *t, const char *path, uint64_t image_addr,
                               LoadedImage *out, VsError *err)
{
    uint8_t *data;
    size_t size;
    VsStatus st = loader_read_file("kernel", path, t->ram_size, &data, &size, err);
    if (st != VS_OK)
        return st;

    RvImageHeader hdr;
    if (loader_is_elf(data, size)) {
        st = loader_load_elf(t, "kernel", path, data, size, out, err);
    } else if (loader_parse_rv_image(data, size, &hdr)) {
        /* image_size covers bss; the kernel's early page tables live there. */
        uint64_t mem_size = hdr.image_size > size ? hdr.image_size : size;
        st = loader_load_raw(t, "kernel", path, data, size, image_addr, mem_size, out, err);
    } else if (size >= 0x3c && memcmp(data + 0x38, "ARM\x64", 4) == 0) {
        st = vs_error_set(err, VS_ERR_FORMAT,
                          "kernel '%s' is an arm64 Linux Image, not riscv64; use "
                          "--guest-arch arm64",
                          path);
    } else {
        st = vs_error_set(err, VS_ERR_FORMAT,
                          "kernel '%s' is not a riscv64 Linux Image or ELF file", path);
    }
    free(data);
    return st;
}

VsStatus loader_load_rv_firmware(const LoadTarget *t, const char *path, uint64_t raw_addr,
                                 LoadedImage *out, VsError *err)
{
    uint8_t *data;
    size_t size;
    VsStatus st = loader_read_file("firmware", path, t->ram_size, &data, &size, err);
    if (st != VS_OK)
        return st;
    bool elf = loader_is_elf(data, size);
    if (elf)
        st = loader_load_elf(t, "firmware", path, data, size, out, err);
    else
        st = loader_load_raw(t, "firmware", path, data, size, raw_addr, size, out, err);
    out->is_elf = elf;
    free(data);
    return st;
}

VsStatus loader_load_initrd_fdt(const LoadTarget *t, const char *initrd_path, const uint8_t *initrd,
                                size_t initrd_size, uint64_t initrd_addr, void *fdt,
                                size_t fdt_size, uint64_t fdt_addr, VsError *err)
{
    LoadedImage li;
    if (initrd_path) {
        VsStatus st = loader_load_raw(t, "initrd", initrd_path, initrd, initrd_size, initrd_addr,
                                      initrd_size, &li, err);
        if (st != VS_OK)
            return st;
        int chosen = fdt_path_offset(fdt, "/chosen");
        if (chosen < 0 || fdt_setprop_inplace_u64(fdt, chosen, "linux,initrd-start", initrd_addr) ||
            fdt_setprop_inplace_u64(fdt, chosen, "linux,initrd-end", initrd_addr + initrd_size))
            return vs_error_set(err, VS_ERR_INVALID, "cannot record the initrd in the device tree");
    }
    return loader_load_raw(t, "device tree", "(generated)", fdt, fdt_size, fdt_addr, fdt_size, &li,
                           err);
}

/* ---- Images restored on a guest reset ---- */

void loader_blobs_record(void *opaque, uint64_t addr, uint64_t len)
{
    LoaderBlobs *bl = opaque;
    if (bl->count == bl->cap) {
        unsigned ncap = bl->cap ? bl->cap * 2 : 8;
        LoaderBlob *n = realloc(bl->blobs, ncap * sizeof(*n));
        if (!n) {
            bl->failed = true;
            return;
        }
        bl->blobs = n;
        bl->cap = ncap;
    }
    bl->blobs[bl->count++] = (LoaderBlob){ .addr = addr, .len = len, .data = NULL };
}

bool loader_blobs_snapshot(LoaderBlobs *bl, const PhysMem *mem)
{
    if (bl->failed)
        return false;
    for (unsigned i = 0; i < bl->count; i++) {
        LoaderBlob *b = &bl->blobs[i];
        b->data = malloc(b->len ? b->len : 1);
        if (!b->data || !physmem_read(mem, b->addr, b->data, b->len))
            return false;
    }
    return true;
}

void loader_blobs_restore(const LoaderBlobs *bl, const PhysMem *mem)
{
    for (unsigned i = 0; i < bl->count; i++)
        physmem_write(mem, bl->blobs[i].addr, bl->blobs[i].data, bl->blobs[i].len);
}

void loader_blobs_free(LoaderBlobs *bl)
{
    for (unsigned i = 0; i < bl->count; i++)
        free(bl->blobs[i].data);
    free(bl->blobs);
    *bl = (LoaderBlobs){ 0 };
}
