/* SPDX-License-Identifier: MIT */
/* Direct boot of x86_64 guests: long-mode tables and the Linux zero page (x86-boot.h). */
#include "boards/x86-boot.h"

#include <inttypes.h>
#include <string.h>

#include "core/machine.h"

/* Setup header fields (offsets in the bzImage file and in struct boot_params). */
#define BP_E820_ENTRIES       0x1e8
#define BP_SETUP_SECTS        0x1f1
#define BP_BOOT_FLAG          0x1fe
#define BP_JUMP               0x200
#define BP_HEADER             0x202
#define BP_VERSION            0x206
#define BP_TYPE_OF_LOADER     0x210
#define BP_LOADFLAGS          0x211
#define BP_RAMDISK_IMAGE      0x218
#define BP_RAMDISK_SIZE       0x21c
#define BP_HEAP_END_PTR       0x224
#define BP_CMD_LINE_PTR       0x228
#define BP_INITRD_MAX         0x22c
#define BP_KERNEL_ALIGN       0x230
#define BP_RELOCATABLE        0x234
#define BP_XLOADFLAGS         0x236
#define BP_CMDLINE_SIZE       0x238
#define BP_PREF_ADDRESS       0x258
#define BP_INIT_SIZE          0x260
#define BP_E820_TABLE         0x2d0
#define BP_SIZE               4096

#define LOADFLAG_LOADED_HIGH  0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64         0x01
#define BZ_MIN_VERSION        0x20c /* 2.12: xloadflags and the 64-bit entry */

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
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)v);
    wr16(p + 2, (uint16_t)(v >> 16));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

uint64_t x86_gdt_entry(uint32_t base, uint32_t limit, uint16_t flags)
{
    return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
           (uint64_t)(limit & 0xffffu) | ((uint64_t)(limit & 0xf0000u) << 32) |
           ((uint64_t)(flags & 0xf0ffu) << 40);
}

static bool in_ram(const LoadTarget *t, uint64_t addr, uint64_t len)
{
    return addr >= t->ram_base && len <= t->ram_size && addr - t->ram_base <= t->ram_size - len;
}

static VsStatus put(const LoadTarget *t, const char *what, uint64_t addr, const void *src,
                    uint64_t len, VsError *err)
{
    if (!in_ram(t, addr, len) || !physmem_write(t->mem, addr, src, len))
        return vs_error_set(err, VS_ERR_INVALID,
                            "the %s (0x%" PRIx64 "+0x%" PRIx64 ") does not fit in guest RAM", what,
                            addr, len);
    if (t->loaded)
        t->loaded(t->loaded_opaque, addr, len);
    return VS_OK;
}

VsStatus x86_boot_write_tables(const LoadTarget *t, VsError *err)
{
    uint64_t gdt[5] = {
        0,
        x86_gdt_entry(0, 0xfffff, 0xa09b), /* code: present, ring 0, execute/read, L, G */
        x86_gdt_entry(0, 0xfffff, 0xc093), /* data: present, read/write, D/B, G */
        x86_gdt_entry(0, 0x67, 0x008b),    /* TSS: present, 64-bit busy TSS */
        x86_gdt_entry(0, 0xfffff, 0xc09b), /* 32-bit code (PVH entry): D/B, G */
    };
    VsStatus st = put(t, "GDT", X86_BOOT_GDT, gdt, sizeof(gdt), err);
    if (st != VS_OK)
        return st;
    uint64_t pml4[512] = { X86_BOOT_PDPT | 3 }, pdpt[512] = { 0 }, pd[512];
    for (unsigned g = 0; g < 4; g++) {
        pdpt[g] = (X86_BOOT_PD + g * 0x1000ull) | 3; /* present, writable */
        for (unsigned j = 0; j < 512; j++)
            pd[j] = ((uint64_t)g << 30 | (uint64_t)j << 21) | 0x83; /* present, rw, 2 MiB */
        st = put(t, "page directory", X86_BOOT_PD + g * 0x1000ull, pd, sizeof(pd), err);
        if (st != VS_OK)
            return st;
    }
    st = put(t, "PML4", X86_BOOT_PML4, pml4, sizeof(pml4), err);
    if (st == VS_OK)
        st = put(t, "PDPT", X86_BOOT_PDPT, pdpt, sizeof(pdpt), err);
    return st;
}

static void flat_segment(AccelX86Segment *s, uint16_t sel, uint8_t type, bool code)
{
    *s = (AccelX86Segment){
        .base = 0,
        .limit = 0xffffffff,
        .selector = sel,
        .type = type,
        .present = 1,
        .dpl = 0,
        .db = code ? 0 : 1,
        .s = 1,
        .l = code ? 1 : 0,
        .g = 1,
    };
}

void x86_boot_long_mode_sregs(AccelX86Sregs *s)
{
    flat_segment(&s->cs, X86_SEL_CODE, 0xb, true);
    flat_segment(&s->ds, X86_SEL_DATA, 0x3, false);
    s->es = s->fs = s->gs = s->ss = s->ds;
    s->tr = (AccelX86Segment){ .limit = 0x67, .selector = X86_SEL_TSS, .type = 0xb, .present = 1 };
    s->gdt_base = X86_BOOT_GDT;
    s->gdt_limit = 5 * 8 - 1;
    s->idt_base = 0;
    s->idt_limit = 0;
    s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
    s->cr3 = X86_BOOT_PML4;
    s->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
    s->efer = X86_EFER_LME | X86_EFER_LMA;
}

void x86_boot_pvh_sregs(AccelX86Sregs *s)
{
    flat_segment(&s->cs, X86_SEL_CODE32, 0xb, false);
    flat_segment(&s->ds, X86_SEL_DATA, 0x3, false);
    s->es = s->fs = s->gs = s->ss = s->ds;
    s->tr = (AccelX86Segment){ .limit = 0x67, .selector = X86_SEL_TSS, .type = 0xb, .present = 1 };
    s->gdt_base = X86_BOOT_GDT;
    s->gdt_limit = 5 * 8 - 1;
    s->idt_base = 0;
    s->idt_limit = 0;
    s->cr0 = X86_CR0_PE | X86_CR0_ET;
    s->cr3 = 0;
    s->cr4 = 0;
    s->efer = 0;
}

bool x86_pvh_entry(const uint8_t *data, size_t size, uint32_t *entry)
{
    if (size < 64 || memcmp(data, "\177ELF", 4) != 0 || data[4] != 2 /* ELFCLASS64 */)
        return false;
    uint64_t phoff = rd64(data + 32);
    unsigned phentsize = rd16(data + 54), phnum = rd16(data + 56);
    if (phentsize != 56 || phoff > size || (uint64_t)phnum * 56 > size - phoff)
        return false;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = data + phoff + (uint64_t)i * 56;
        if (rd32(ph) != 4 /* PT_NOTE */)
            continue;
        uint64_t off = rd64(ph + 8), len = rd64(ph + 32);
        if (off > size || len > size - off)
            return false;
        uint64_t p = 0;
        while (len - p >= 12) {
            const uint8_t *n = data + off + p;
            uint64_t namesz = rd32(n), descsz = rd32(n + 4), type = rd32(n + 8);
            uint64_t name_end = 12 + ((namesz + 3) & ~3ull);
            uint64_t next = name_end + ((descsz + 3) & ~3ull);
            if (next > len - p)
                return false;
            if (type == 18 && namesz == 4 && memcmp(n + 12, "Xen", 4) == 0 && descsz >= 4) {
                *entry = rd32(n + name_end); /* 32 or 64 bits wide; the entry is below 4 GiB */
                return true;
            }
            p += next;
        }
    }
    return false;
}

VsStatus x86_pvh_write_start_info(const LoadTarget *t, const char *cmdline, uint64_t rsdp,
                                  const X86E820 *e820, unsigned ne820, VsError *err)
{
    uint8_t info[56], map[X86_E820_MAX * 24];
    if (ne820 > X86_E820_MAX)
        ne820 = X86_E820_MAX;
    memset(info, 0, sizeof(info));
    wr32(info, X86_PVH_MAGIC);
    wr32(info + 4, 1); /* version */
    if (cmdline) {
        size_t len = strlen(cmdline);
        if (len + 1 > X86_BOOT_CMDLINE_MAX)
            return vs_error_set(err, VS_ERR_INVALID, "the command line is %zu bytes (at most %llu)",
                                len, (unsigned long long)X86_BOOT_CMDLINE_MAX - 1);
        VsStatus st = put(t, "command line", X86_BOOT_CMDLINE, cmdline, len + 1, err);
        if (st != VS_OK)
            return st;
        wr64(info + 24, X86_BOOT_CMDLINE);
    }
    wr64(info + 32, rsdp);
    wr64(info + 40, X86_BOOT_PVH_MEMMAP);
    wr32(info + 48, ne820);
    for (unsigned i = 0; i < ne820; i++) {
        wr64(map + 24 * i, e820[i].addr);
        wr64(map + 24 * i + 8, e820[i].size);
        wr32(map + 24 * i + 16, e820[i].type);
        wr32(map + 24 * i + 20, 0);
    }
    VsStatus st = put(t, "PVH memory map", X86_BOOT_PVH_MEMMAP, map, 24ull * ne820, err);
    if (st == VS_OK)
        st = put(t, "PVH start info", X86_BOOT_PVH_INFO, info, sizeof(info), err);
    return st;
}

VsStatus x86_bzimage_parse(const char *path, const uint8_t *data, size_t size, X86BzImage *bz,
                           VsError *err)
{
    memset(bz, 0, sizeof(*bz));
    if (size < 0x1000 || rd16(data + BP_BOOT_FLAG) != 0xaa55 ||
        memcmp(data + BP_HEADER, "HdrS", 4) != 0)
        return vs_error_set(err, VS_ERR_FORMAT,
                            "kernel '%s' is not an x86 bzImage (no \"HdrS\" setup header)", path);
    bz->version = rd16(data + BP_VERSION);
    if (bz->version < BZ_MIN_VERSION)
        return vs_error_set(err, VS_ERR_FORMAT,
                            "kernel '%s' uses boot protocol %u.%02u; the 64-bit entry needs "
                            "2.12 or later (Linux 3.8+)",
                            path, bz->version >> 8, bz->version & 0xff);
    bz->xloadflags = rd16(data + BP_XLOADFLAGS);
    if (!(bz->xloadflags & XLF_KERNEL_64))
        return vs_error_set(err, VS_ERR_FORMAT,
                            "kernel '%s' has no 64-bit entry point (a 32-bit kernel?)", path);
    bz->setup_sects = data[BP_SETUP_SECTS] ? data[BP_SETUP_SECTS] : 4;
    bz->setup_size = ((size_t)bz->setup_sects + 1) * 512;
    bz->header_end = BP_HEADER + (size_t)data[BP_JUMP + 1];
    if (bz->setup_size >= size || bz->header_end > bz->setup_size || bz->header_end > BP_SIZE ||
        bz->header_end < BP_INIT_SIZE + 4)
        return vs_error_set(err, VS_ERR_FORMAT,
                            "kernel '%s' is a truncated or corrupt bzImage (%u setup sectors, "
                            "header to 0x%zx, %zu bytes)",
                            path, bz->setup_sects, bz->header_end, size);
    bz->pref_address = rd64(data + BP_PREF_ADDRESS);
    bz->init_size = rd32(data + BP_INIT_SIZE);
    bz->kernel_alignment = rd32(data + BP_KERNEL_ALIGN);
    bz->initrd_addr_max = rd32(data + BP_INITRD_MAX);
    bz->cmdline_size = rd32(data + BP_CMDLINE_SIZE);
    bz->relocatable = data[BP_RELOCATABLE] != 0;
    if (bz->pref_address < 0x100000 || bz->pref_address & 0xfff)
        return vs_error_set(err, VS_ERR_FORMAT,
                            "kernel '%s' wants to load at 0x%" PRIx64 ", below 1 MiB or "
                            "unaligned",
                            path, bz->pref_address);
    return VS_OK;
}

VsStatus x86_bzimage_load(const LoadTarget *t, const char *path, const uint8_t *data, size_t size,
                          const X86BzImage *bz, const char *cmdline, const uint8_t *initrd,
                          size_t initrd_size, const X86E820 *e820, unsigned ne820, uint64_t *entry,
                          VsError *err)
{
    uint64_t load = bz->pref_address;
    uint64_t payload = size - bz->setup_size;
    uint64_t need = bz->init_size > payload ? bz->init_size : payload;
    if (!in_ram(t, load, need))
        return vs_error_set(err, VS_ERR_INVALID,
                            "kernel '%s' needs 0x%" PRIx64 "-0x%" PRIx64 " of guest RAM; give "
                            "the machine more memory",
                            path, load, load + need - 1);
    VsStatus st = put(t, "kernel", load, data + bz->setup_size, payload, err);
    if (st != VS_OK)
        return st;

    uint8_t zp[BP_SIZE];
    memset(zp, 0, sizeof(zp));
    memcpy(zp + BP_SETUP_SECTS, data + BP_SETUP_SECTS, bz->header_end - BP_SETUP_SECTS);
    zp[BP_TYPE_OF_LOADER] = 0xff; /* undefined boot loader */
    zp[BP_LOADFLAGS] |= LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP;
    wr16(zp + BP_HEAP_END_PTR, 0xfe00 - 0x200);

    const char *cl = cmdline ? cmdline : "";
    size_t cl_len = strlen(cl);
    uint64_t cl_max = bz->cmdline_size ? bz->cmdline_size : 255;
    if (cl_len > cl_max || cl_len + 1 > X86_BOOT_CMDLINE_MAX)
        return vs_error_set(err, VS_ERR_INVALID,
                            "the kernel command line is %zu bytes; kernel '%s' takes at most "
                            "%" PRIu64,
                            cl_len, path, cl_max);
    st = put(t, "command line", X86_BOOT_CMDLINE, cl, cl_len + 1, err);
    if (st != VS_OK)
        return st;
    wr32(zp + BP_CMD_LINE_PTR, (uint32_t)X86_BOOT_CMDLINE);

    if (initrd && initrd_size) {
        uint64_t top = t->ram_base + t->ram_size;
        if (bz->initrd_addr_max && top > (uint64_t)bz->initrd_addr_max + 1)
            top = (uint64_t)bz->initrd_addr_max + 1;
        uint64_t kernel_end = load + need;
        if (initrd_size > top || ((top - initrd_size) & ~0xfffull) < kernel_end)
            return vs_error_set(err, VS_ERR_INVALID,
                                "the initrd (%zu bytes) does not fit between the kernel (ends "
                                "at 0x%" PRIx64 ") and 0x%" PRIx64 "; give the machine more "
                                "memory",
                                initrd_size, kernel_end, top);
        uint64_t at = (top - initrd_size) & ~0xfffull;
        st = put(t, "initrd", at, initrd, initrd_size, err);
        if (st != VS_OK)
            return st;
        wr32(zp + BP_RAMDISK_IMAGE, (uint32_t)at);
        wr32(zp + BP_RAMDISK_SIZE, (uint32_t)initrd_size);
    }

    if (ne820 > X86_E820_MAX)
        ne820 = X86_E820_MAX;
    zp[BP_E820_ENTRIES] = (uint8_t)ne820;
    for (unsigned i = 0; i < ne820; i++) {
        uint8_t *e = zp + BP_E820_TABLE + 20 * i;
        wr64(e, e820[i].addr);
        wr64(e + 8, e820[i].size);
        wr32(e + 16, e820[i].type);
    }
    st = put(t, "zero page", X86_BOOT_ZERO_PAGE, zp, sizeof(zp), err);
    if (st != VS_OK)
        return st;
    *entry = load + 0x200;
    return VS_OK;
}
