/* SPDX-License-Identifier: MIT */
/*
 * Direct boot of x86_64 guests by the VMM (no firmware), as Firecracker and
 * cloud-hypervisor do: the VMM writes a GDT and identity page tables into low guest RAM and
 * enters the guest in 64-bit long mode; for Linux it also fills the zero page
 * (struct boot_params) per Documentation/arch/x86/boot.rst, 64-bit boot protocol.
 *
 * Low guest RAM used (all below 1 MiB, the guest's own image goes at 1 MiB or above):
 *   0x00500  GDT: null, 64-bit code (0x08), data (0x10), TSS (0x18), 32-bit code (0x20)
 *   0x06000  PVH start info (struct hvm_start_info, version 1), its memory map at 0x6040
 *   0x07000  zero page (Linux)
 *   0x08ff0  initial stack (grows down)
 *   0x09000  PML4, 0x0a000 PDPT, 0x0b000-0x0efff four page directories: the first 4 GiB
 *            identity mapped with 2 MiB pages (RAM, the virtio-mmio window, the LAPIC and
 *            IOAPIC pages)
 *   0x20000  kernel command line (Linux)
 */
#ifndef VESSEL_X86_BOOT_H
#define VESSEL_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accel/accel.h"
#include "boards/board-loader.h"

#define X86_BOOT_GDT         0x500ull
#define X86_BOOT_ZERO_PAGE   0x7000ull
#define X86_BOOT_STACK       0x8ff0ull
#define X86_BOOT_PML4        0x9000ull
#define X86_BOOT_PDPT        0xa000ull
#define X86_BOOT_PD          0xb000ull
#define X86_BOOT_CMDLINE     0x20000ull
#define X86_BOOT_CMDLINE_MAX 0x10000ull
#define X86_BOOT_TABLES_END  0xf000ull

#define X86_SEL_CODE         0x08
#define X86_SEL_DATA         0x10
#define X86_SEL_TSS          0x18
#define X86_SEL_CODE32       0x20
#define X86_BOOT_PVH_INFO    0x6000ull
#define X86_BOOT_PVH_MEMMAP  0x6040ull
#define X86_PVH_MAGIC        0x336ec578u

#define X86_CR0_PE           (1ull << 0)
#define X86_CR0_MP           (1ull << 1)
#define X86_CR0_ET           (1ull << 4)
#define X86_CR0_NE           (1ull << 5)
#define X86_CR0_PG           (1ull << 31)
#define X86_CR4_PAE          (1ull << 5)
#define X86_CR4_OSFXSR       (1ull << 9)
#define X86_CR4_OSXMMEXCPT   (1ull << 10)
#define X86_EFER_LME         (1ull << 8)
#define X86_EFER_LMA         (1ull << 10)

/* One e820 entry (boot_params.e820_table). */
typedef struct X86E820 {
    uint64_t addr, size;
    uint32_t type; /* 1 RAM, 2 reserved */
} X86E820;
#define X86_E820_RAM      1
#define X86_E820_RESERVED 2
#define X86_E820_MAX      128

/* Write the GDT and the identity page tables into guest RAM. */
VsStatus x86_boot_write_tables(const LoadTarget *t, VsError *err);
/* Turn sregs (as read from the vCPU) into the long-mode state the tables above describe. */
void x86_boot_long_mode_sregs(AccelX86Sregs *s);
/* The GDT entry encoding (base, limit in 4 KiB units or bytes, access | flags << 12). */
uint64_t x86_gdt_entry(uint32_t base, uint32_t limit, uint16_t flags);

/* The 32-bit protected-mode state of the PVH boot ABI (flat segments, no paging). */
void x86_boot_pvh_sregs(AccelX86Sregs *s);

/*
 * The PVH entry point of an x86 ELF (xen/include/public/elfnote.h: a "Xen" note of type
 * XEN_ELFNOTE_PHYS32_ENTRY, 18, in a PT_NOTE segment). Returns false when there is none or
 * the notes are malformed (every length is checked against the file).
 */
bool x86_pvh_entry(const uint8_t *data, size_t size, uint32_t *entry);

/* Write the PVH start info (version 1: command line, the ACPI RSDP's address or 0, memory
 * map; no modules). */
VsStatus x86_pvh_write_start_info(const LoadTarget *t, const char *cmdline, uint64_t rsdp,
                                  const X86E820 *e820, unsigned ne820, VsError *err);

/* What x86_bzimage_parse() found in a bzImage's setup header. */
typedef struct X86BzImage {
    uint16_t version;     /* boot protocol, e.g. 0x20f */
    unsigned setup_sects; /* 512-byte sectors of real-mode setup after the boot sector */
    size_t setup_size;    /* bytes before the protected-mode kernel */
    size_t header_end;    /* the setup header spans [0x1f1, header_end) of the file */
    uint64_t pref_address, init_size;
    uint32_t kernel_alignment, initrd_addr_max, cmdline_size;
    uint16_t xloadflags;
    bool relocatable;
} X86BzImage;

/* Check that data is a bzImage this board can boot (protocol >= 2.12, a 64-bit entry). */
VsStatus x86_bzimage_parse(const char *path, const uint8_t *data, size_t size, X86BzImage *out,
                           VsError *err);

/*
 * Load a parsed bzImage for the 64-bit boot protocol: the protected-mode kernel at its
 * preferred address, the command line, the initrd (highest page-aligned spot below
 * initrd_addr_max and the end of low RAM, above the kernel) and the zero page with the
 * setup header and e820 map. *entry is the 64-bit entry point (load address + 0x200).
 */
VsStatus x86_bzimage_load(const LoadTarget *t, const char *path, const uint8_t *data, size_t size,
                          const X86BzImage *bz, const char *cmdline, const uint8_t *initrd,
                          size_t initrd_size, const X86E820 *e820, unsigned ne820, uint64_t *entry,
                          VsError *err);

#endif
