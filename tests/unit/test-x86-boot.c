/* SPDX-License-Identifier: MIT */
/*
 * x86_64 direct boot (engine/boards/x86-boot.c) and KVM CPUID filtering
 * (engine/accel/kvm-cpuid.c), without /dev/kvm: GDT encoding, the identity page tables,
 * the long-mode register state, bzImage setup-header checks and the zero page a load
 * writes, and what the CPUID filter does to a synthetic table.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "accel/kvm-cpuid.h"
#include "boards/x86-boot.h"
#include "check.h"
#include "core/machine.h"

#define RAM (64ull << 20)

VsStatus vs_error_set(VsError *err, VsStatus status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->status = status;
    return status;
}

static PhysMem mem;

static LoadTarget target(uint64_t size)
{
    physmem_destroy(&mem);
    physmem_init(&mem);
    if (!physmem_add_ram(&mem, "ram", 0, size))
        abort();
    return (LoadTarget){ .mem = &mem, .ram_base = 0, .ram_size = size };
}

static uint64_t rd(uint64_t addr, unsigned size)
{
    uint64_t v = 0;
    physmem_load(&mem, addr, size, &v);
    return v;
}

static void test_tables(void)
{
    /* The well-known flat descriptors (Firecracker, Linux's boot GDT). */
    CHECK_EQ(x86_gdt_entry(0, 0xfffff, 0xa09b), 0x00af9b000000ffffull);
    CHECK_EQ(x86_gdt_entry(0, 0xfffff, 0xc093), 0x00cf93000000ffffull);
    CHECK_EQ(x86_gdt_entry(0x12345678, 0x67, 0x008b), 0x12008b3456780067ull);

    LoadTarget t = target(RAM);
    VsError err = { 0 };
    CHECK(x86_boot_write_tables(&t, &err) == VS_OK);
    CHECK_EQ(rd(X86_BOOT_GDT + 8, 8), 0x00af9b000000ffffull);
    CHECK_EQ(rd(X86_BOOT_PML4, 8), X86_BOOT_PDPT | 3);
    CHECK_EQ(rd(X86_BOOT_PML4 + 8, 8), 0);
    for (unsigned g = 0; g < 4; g++)
        CHECK_EQ(rd(X86_BOOT_PDPT + 8 * g, 8), (X86_BOOT_PD + 0x1000 * g) | 3);
    CHECK_EQ(rd(X86_BOOT_PDPT + 32, 8), 0);
    CHECK_EQ(rd(X86_BOOT_PD, 8), 0x83);
    CHECK_EQ(rd(X86_BOOT_PD + 8, 8), (2ull << 20) | 0x83);
    /* The LAPIC page 0xfee00000: PD 3, entry 0x1f7. */
    CHECK_EQ(rd(X86_BOOT_PD + 3 * 0x1000 + 0x1f7 * 8, 8), 0xfee00000ull | 0x83);
    CHECK(X86_BOOT_PD + 4 * 0x1000 <= X86_BOOT_TABLES_END);

    /* Too little RAM for the tables: an error, nothing written out of bounds. */
    t = target(0x8000);
    CHECK(x86_boot_write_tables(&t, &err) == VS_ERR_INVALID);
    CHECK(strstr(err.message, "does not fit") != NULL);

    AccelX86Sregs s;
    memset(&s, 0xa5, sizeof(s));
    x86_boot_long_mode_sregs(&s);
    CHECK(s.cs.l == 1 && s.cs.db == 0 && s.cs.selector == X86_SEL_CODE && s.cs.present);
    CHECK(s.ds.db == 1 && s.ss.selector == X86_SEL_DATA && s.tr.selector == X86_SEL_TSS);
    CHECK_EQ(s.cr3, X86_BOOT_PML4);
    CHECK((s.cr0 & (X86_CR0_PE | X86_CR0_PG)) == (X86_CR0_PE | X86_CR0_PG));
    CHECK(s.cr4 & X86_CR4_PAE);
    CHECK_EQ(s.efer, X86_EFER_LME | X86_EFER_LMA);
    CHECK_EQ(s.gdt_base, X86_BOOT_GDT);
    CHECK_EQ(s.gdt_limit, 39);
}

/* A synthetic bzImage: setup header fields as the boot protocol places them. */
static uint8_t *make_bz(size_t *size, uint16_t version, uint16_t xlf, uint32_t init_size)
{
    size_t setup = 5 * 512, payload = 0x3000;
    uint8_t *d = calloc(1, setup + payload);
    d[0x1f1] = 4;
    d[0x1fe] = 0x55;
    d[0x1ff] = 0xaa;
    d[0x201] = 0x6a; /* header ends at 0x202 + 0x6a = 0x26c */
    memcpy(d + 0x202, "HdrS", 4);
    memcpy(d + 0x206, &version, 2);
    d[0x211] = 0x01;
    uint32_t initrd_max = 0x37ffffff, align = 0x200000, cmdline_size = 64;
    memcpy(d + 0x22c, &initrd_max, 4);
    memcpy(d + 0x230, &align, 4);
    d[0x234] = 1;
    memcpy(d + 0x236, &xlf, 2);
    memcpy(d + 0x238, &cmdline_size, 4);
    uint64_t pref = 0x1000000;
    memcpy(d + 0x258, &pref, 8);
    memcpy(d + 0x260, &init_size, 4);
    for (size_t i = 0; i < payload; i++)
        d[setup + i] = (uint8_t)(i * 7 + 1);
    *size = setup + payload;
    return d;
}

static void test_bzimage(void)
{
    VsError err = { 0 };
    X86BzImage bz;
    size_t size;
    uint8_t *d = make_bz(&size, 0x20f, 1, 0x800000);
    CHECK(x86_bzimage_parse("bz", d, size, &bz, &err) == VS_OK);
    CHECK_EQ(bz.version, 0x20f);
    CHECK_EQ(bz.setup_size, 5 * 512);
    CHECK_EQ(bz.header_end, 0x26c);
    CHECK_EQ(bz.pref_address, 0x1000000);

    LoadTarget t = target(RAM);
    uint8_t initrd[5000];
    memset(initrd, 0x5a, sizeof(initrd));
    X86E820 e820[2] = { { 0, 0x9fc00, X86_E820_RAM }, { 0x100000, RAM - 0x100000, X86_E820_RAM } };
    uint64_t entry = 0;
    CHECK(x86_bzimage_load(&t, "bz", d, size, &bz, "console=ttyS0", initrd, sizeof(initrd), e820, 2,
                           &entry, &err) == VS_OK);
    CHECK_EQ(entry, 0x1000200);
    CHECK_EQ(rd(0x1000000, 1), 1); /* the first payload byte */
    CHECK_EQ(rd(0x1000000 + 0x2fff, 1), (uint8_t)(0x2fff * 7 + 1));
    const uint64_t zp = X86_BOOT_ZERO_PAGE;
    CHECK_EQ(rd(zp + 0x202, 4), 0x53726448);  /* "HdrS" copied */
    CHECK_EQ(rd(zp + 0x210, 1), 0xff);        /* type_of_loader */
    CHECK_EQ(rd(zp + 0x211, 1) & 0x81, 0x81); /* LOADED_HIGH | CAN_USE_HEAP */
    CHECK_EQ(rd(zp + 0x228, 4), X86_BOOT_CMDLINE);
    char cl[32] = { 0 };
    physmem_read(&mem, X86_BOOT_CMDLINE, cl, 14);
    CHECK(strcmp(cl, "console=ttyS0") == 0);
    uint64_t rd_at = rd(zp + 0x218, 4), rd_size = rd(zp + 0x21c, 4);
    CHECK_EQ(rd_size, sizeof(initrd));
    CHECK_EQ(rd_at & 0xfff, 0);
    CHECK(rd_at >= 0x1000000 + 0x800000 && rd_at + rd_size <= RAM);
    CHECK_EQ(rd(rd_at + 4999, 1), 0x5a);
    CHECK_EQ(rd(zp + 0x1e8, 1), 2); /* e820 entries */
    CHECK_EQ(rd(zp + 0x2d0 + 20 + 0, 8), 0x100000);
    CHECK_EQ(rd(zp + 0x2d0 + 20 + 8, 8), RAM - 0x100000);
    CHECK_EQ(rd(zp + 0x2d0 + 20 + 16, 4), X86_E820_RAM);

    /* A command line longer than the kernel's cmdline_size. */
    char longcl[100];
    memset(longcl, 'x', sizeof(longcl) - 1);
    longcl[99] = 0;
    CHECK(x86_bzimage_load(&t, "bz", d, size, &bz, longcl, NULL, 0, e820, 2, &entry, &err) ==
          VS_ERR_INVALID);
    CHECK(strstr(err.message, "command line") != NULL);
    /* A kernel whose init_size does not fit in RAM. */
    t = target(20ull << 20);
    CHECK(x86_bzimage_load(&t, "bz", d, size, &bz, "", NULL, 0, e820, 2, &entry, &err) ==
          VS_ERR_INVALID);
    CHECK(strstr(err.message, "more memory") != NULL);
    free(d);

    /* Refused headers. */
    d = make_bz(&size, 0x20b, 1, 0x800000);
    CHECK(x86_bzimage_parse("old", d, size, &bz, &err) == VS_ERR_FORMAT);
    CHECK(strstr(err.message, "2.12") != NULL);
    free(d);
    d = make_bz(&size, 0x20f, 0, 0x800000);
    CHECK(x86_bzimage_parse("k32", d, size, &bz, &err) == VS_ERR_FORMAT);
    CHECK(strstr(err.message, "64-bit") != NULL);
    CHECK(x86_bzimage_parse("short", d, 0x800, &bz, &err) == VS_ERR_FORMAT);
    d[0x201] = 0xff; /* header running past the setup sectors' first page */
    d[0x1f1] = 0;    /* and setup_sects 0, which means 4 */
    CHECK(x86_bzimage_parse("bad", d, size, &bz, &err) == VS_ERR_FORMAT ||
          bz.header_end <= bz.setup_size);
    memcpy(d + 0x202, "HdrX", 4);
    CHECK(x86_bzimage_parse("elf", d, size, &bz, &err) == VS_ERR_FORMAT);
    CHECK(strstr(err.message, "not an x86 bzImage") != NULL);
    free(d);
}

/* An ELF64 header, one PT_NOTE program header and the note area at 0x100. */
static size_t make_pvh_elf(uint8_t *d, uint32_t notesz, uint32_t type)
{
    memset(d, 0, 0x200);
    memcpy(d, "\177ELF", 4);
    d[4] = 2;
    d[5] = 1;
    uint64_t phoff = 64, off = 0x100, filesz = 20;
    uint16_t phentsize = 56, phnum = 1;
    memcpy(d + 32, &phoff, 8);
    memcpy(d + 54, &phentsize, 2);
    memcpy(d + 56, &phnum, 2);
    uint32_t pt_note = 4;
    memcpy(d + 64, &pt_note, 4);
    memcpy(d + 64 + 8, &off, 8);
    memcpy(d + 64 + 32, &filesz, 8);
    uint32_t note[5] = { notesz, 4, type, 0x006e6558 /* "Xen\0" */, 0x00123450 };
    memcpy(d + 0x100, note, sizeof(note));
    return 0x200;
}

static void test_pvh(void)
{
    uint8_t d[0x200];
    uint32_t entry = 0;
    size_t n = make_pvh_elf(d, 4, 18);
    CHECK(x86_pvh_entry(d, n, &entry));
    CHECK_EQ(entry, 0x123450);
    make_pvh_elf(d, 4, 17); /* another Xen note: no entry */
    CHECK(!x86_pvh_entry(d, n, &entry));
    make_pvh_elf(d, 0x7fffffff, 18); /* a name running past the segment */
    CHECK(!x86_pvh_entry(d, n, &entry));
    make_pvh_elf(d, 4, 18);
    uint64_t huge = 0x10000;
    memcpy(d + 64 + 32, &huge, 8); /* a segment running past the file */
    CHECK(!x86_pvh_entry(d, n, &entry));
    CHECK(!x86_pvh_entry(d, 32, &entry));

    LoadTarget t = target(RAM);
    VsError err = { 0 };
    X86E820 e820[2] = { { 0, 0x9fc00, X86_E820_RAM }, { 0x100000, RAM - 0x100000, X86_E820_RAM } };
    CHECK(x86_pvh_write_start_info(&t, "exit now", 0xe0000, e820, 2, &err) == VS_OK);
    CHECK_EQ(rd(X86_BOOT_PVH_INFO, 4), X86_PVH_MAGIC);
    CHECK_EQ(rd(X86_BOOT_PVH_INFO + 4, 4), 1);
    CHECK_EQ(rd(X86_BOOT_PVH_INFO + 24, 8), X86_BOOT_CMDLINE);
    CHECK_EQ(rd(X86_BOOT_PVH_INFO + 32, 8), 0xe0000); /* rsdp_paddr */
    CHECK_EQ(rd(X86_BOOT_PVH_INFO + 40, 8), X86_BOOT_PVH_MEMMAP);
    CHECK_EQ(rd(X86_BOOT_PVH_INFO + 48, 4), 2);
    CHECK_EQ(rd(X86_BOOT_PVH_MEMMAP + 24, 8), 0x100000);
    CHECK_EQ(rd(X86_BOOT_PVH_MEMMAP + 24 + 16, 4), X86_E820_RAM);
    CHECK_EQ(rd(X86_BOOT_CMDLINE, 4), 0x74697865); /* "exit" */

    AccelX86Sregs s;
    memset(&s, 0xa5, sizeof(s));
    x86_boot_pvh_sregs(&s);
    CHECK(s.cs.l == 0 && s.cs.db == 1 && s.cs.selector == X86_SEL_CODE32);
    CHECK_EQ(s.cr0 & X86_CR0_PG, 0);
    CHECK(s.cr0 & X86_CR0_PE);
    CHECK_EQ(s.efer, 0);
}

static void test_cpuid(void)
{
    KvmCpuidEntry e[] = {
        { 1, 0, 0, 0x000906ea, 0x00ff0800, 0x7ffafbff, 0xbfebfbff },
        { 4, 0, 1, 0x1c004121, 1, 2, 3 },
        { 4, 3, 1, 0x00000000, 0, 0, 0 },
        { 6, 0, 0, 0x77, 0x2, 0x9, 0 },
        { 0xa, 0, 0, 0x07300404, 0, 0, 0x603 },
        { 0xb, 0, 1, 1, 2, 0x100, 7 },
        { 0xb, 1, 1, 4, 16, 0x201, 7 },
        { 0xb, 2, 1, 0, 0, 2, 7 },
        { 0x80000001, 0, 0, 0, 0, 0x121, 0x2c100800 },
    };
    unsigned n = kvm_cpuid_filter(e, 9, 3, 4);
    CHECK_EQ(n, 9);
    CHECK_EQ(e[0].ebx >> 24, 3);
    CHECK_EQ((e[0].ebx >> 16) & 0xff, 4);
    CHECK_EQ(e[0].ebx & 0xffff, 0x0800); /* CLFLUSH line size kept */
    CHECK(e[0].ecx & CPUID_1_ECX_HYPERVISOR);
    CHECK(e[0].edx & CPUID_1_EDX_HTT);
    CHECK_EQ(e[1].eax >> 26, 3);
    CHECK_EQ(e[1].eax & 0x3fff, 0x0121);
    CHECK_EQ(e[2].eax, 0); /* the terminating cache entry is left alone */
    CHECK(e[3].eax == 0 && e[3].ebx == 0 && e[3].ecx == 0);
    CHECK(e[4].eax == 0 && e[4].edx == 0);
    CHECK(e[5].edx == 3 && e[5].ebx == 1 && e[5].ecx == 0x100 && e[5].eax == 0);
    CHECK(e[6].edx == 3 && e[6].ebx == 4 && e[6].ecx == 0x201 && e[6].eax == 2);
    CHECK(e[7].edx == 3 && e[7].ebx == 0 && e[7].ecx == 2);
    CHECK_EQ(e[8].ecx, 0x121); /* other leaves untouched */

    KvmCpuidEntry one[] = { { 1, 0, 0, 0, 0x00ff0800, 0, CPUID_1_EDX_HTT } };
    kvm_cpuid_filter(one, 1, 0, 1);
    CHECK_EQ(one[0].ebx, 0x00010800);
    CHECK(!(one[0].edx & CPUID_1_EDX_HTT));
}

int main(void)
{
    physmem_init(&mem);
    test_tables();
    test_bzimage();
    test_pvh();
    test_cpuid();
    physmem_destroy(&mem);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
