/* SPDX-License-Identifier: MIT */
/* ACPI and MP tables for the x86_64 microvm board: see x86-acpi.h for the references. */
#include "boards/x86-acpi.h"

#include <string.h>

#define OEM_ID       "VESSEL"
#define OEM_TABLE_ID "MICROVM "
#define CREATOR_ID   "VSSL"

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

uint8_t x86_table_sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* The 36-byte system description table header (ACPI 6.4, 5.2.6); checksum set last. */
static void sdt_header(uint8_t *p, const char sig[4], uint32_t len, uint8_t rev)
{
    memcpy(p, sig, 4);
    wr32(p + 4, len);
    p[8] = rev;
    p[9] = 0;
    memcpy(p + 10, OEM_ID, 6);
    memcpy(p + 16, OEM_TABLE_ID, 8);
    wr32(p + 24, 1);
    memcpy(p + 28, CREATOR_ID, 4);
    wr32(p + 32, 1);
}

static void sdt_checksum(uint8_t *p, uint32_t len)
{
    p[9] = 0;
    p[9] = (uint8_t)(0 - x86_table_sum(p, len));
}

/* A Generic Address Structure (5.2.3.2): system I/O, `bits` wide, byte access. */
static void gas_io(uint8_t *p, uint16_t port, uint8_t bits)
{
    p[0] = 1; /* system I/O space */
    p[1] = bits;
    p[2] = 0; /* bit offset */
    p[3] = 1; /* byte access */
    wr64(p + 4, port);
}

#define FADT_LEN         276 /* revision 6 (ACPI 6.0 and later) */
#define FADT_HW_REDUCED  (1u << 20)
#define FADT_RESET_REG   (1u << 10)
#define BOOT_NO_VGA      (1u << 2)
#define BOOT_NO_CMOS_RTC (1u << 5)

static const uint8_t dsdt_aml[] = {
    /* Name (_S5, Package (4) { 5, 0, 0, 0 }): SLP_TYP for the S5 (soft-off) state. */
    0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, X86_PM_SLP_TYP_S5, 0x00, 0x00, 0x00,
};

size_t x86_acpi_build(uint8_t *buf, size_t cap, uint64_t base, const X86PlatformConfig *c,
                      X86AcpiLayout *l)
{
    if (c->ncpus == 0 || c->ncpus > 255)
        return 0;
    unsigned nlevel = 0;
    for (unsigned i = 0; i < 16; i++)
        nlevel += (c->level_gsi_mask >> i) & 1;
    size_t off = 0;
    l->rsdp = base, l->rsdp_len = 36;
    off = 48; /* the next tables 16-byte aligned */
    l->xsdt = base + off, l->xsdt_len = 36 + 2 * 8;
    off += (l->xsdt_len + 15) & ~15u;
    l->fadt = base + off, l->fadt_len = FADT_LEN;
    off += (l->fadt_len + 15) & ~15u;
    l->dsdt = base + off, l->dsdt_len = 36 + sizeof(dsdt_aml);
    off += (l->dsdt_len + 15) & ~15u;
    l->madt = base + off, l->madt_len = 44 + 8 * c->ncpus + 12 + 10 * nlevel + 6;
    off += l->madt_len;
    if (off > cap)
        return 0;
    memset(buf, 0, off);

    /* RSDP (5.2.5.3): revision 2, no RSDT, the XSDT. */
    uint8_t *p = buf;
    memcpy(p, "RSD PTR ", 8);
    memcpy(p + 9, OEM_ID, 6);
    p[15] = 2;
    wr32(p + 20, l->rsdp_len);
    wr64(p + 24, l->xsdt);
    p[8] = (uint8_t)(0 - x86_table_sum(p, 20));
    p[32] = (uint8_t)(0 - x86_table_sum(p, 36));

    /* XSDT: the FADT and the MADT. */
    p = buf + (l->xsdt - base);
    sdt_header(p, "XSDT", l->xsdt_len, 1);
    wr64(p + 36, l->fadt);
    wr64(p + 44, l->madt);
    sdt_checksum(p, l->xsdt_len);

    /* FADT: hardware-reduced ACPI, reset register, sleep control/status registers. */
    p = buf + (l->fadt - base);
    sdt_header(p, "FACP", FADT_LEN, 6);
    wr32(p + 40, (uint32_t)l->dsdt);
    wr16(p + 109, BOOT_NO_VGA | BOOT_NO_CMOS_RTC); /* IAPC_BOOT_ARCH; no 8042 keyboard either */
    wr32(p + 112, FADT_HW_REDUCED | FADT_RESET_REG);
    gas_io(p + 116, X86_PM_PORT + X86_PM_RESET, 8);
    p[128] = X86_PM_RESET_VALUE;
    p[131] = 0; /* FADT minor version: 6.0 */
    wr64(p + 140, l->dsdt);
    gas_io(p + 244, X86_PM_PORT + X86_PM_SLEEP_CTL, 8);
    gas_io(p + 256, X86_PM_PORT + X86_PM_SLEEP_STS, 8);
    memcpy(p + 268, "Vessel\0\0", 8); /* hypervisor vendor identity */
    sdt_checksum(p, FADT_LEN);

    /* DSDT: only \_S5. */
    p = buf + (l->dsdt - base);
    sdt_header(p, "DSDT", l->dsdt_len, 2);
    memcpy(p + 36, dsdt_aml, sizeof(dsdt_aml));
    sdt_checksum(p, l->dsdt_len);

    /* MADT (5.2.12), revision 5 (ACPI 6.x): LAPIC address, PCAT_COMPAT (there are 8259s). */
    p = buf + (l->madt - base);
    sdt_header(p, "APIC", l->madt_len, 5);
    wr32(p + 36, X86_LAPIC_ADDR);
    wr32(p + 40, 1);
    uint8_t *e = p + 44;
    for (unsigned i = 0; i < c->ncpus; i++, e += 8) {
        e[0] = 0; /* Processor Local APIC */
        e[1] = 8;
        e[2] = (uint8_t)i; /* ACPI processor UID */
        e[3] = (uint8_t)i; /* APIC ID */
        wr32(e + 4, 1);    /* enabled */
    }
    e[0] = 1; /* I/O APIC */
    e[1] = 12;
    e[2] = X86_IOAPIC_ID;
    wr32(e + 4, X86_IOAPIC_ADDR);
    wr32(e + 8, 0); /* GSI base */
    e += 12;
    for (unsigned i = 0; i < 16; i++) {
        if (!((c->level_gsi_mask >> i) & 1))
            continue;
        e[0] = 2; /* Interrupt Source Override: ISA IRQ i = GSI i, level, active high */
        e[1] = 10;
        e[2] = 0; /* ISA */
        e[3] = (uint8_t)i;
        wr32(e + 4, i);
        wr16(e + 8, 0x1 | 0x3 << 2);
        e += 10;
    }
    e[0] = 4; /* Local APIC NMI: every processor, LINT1 */
    e[1] = 6;
    e[2] = 0xff;
    wr16(e + 3, 0);
    e[5] = 1;
    sdt_checksum(p, l->madt_len);
    return off;
}

size_t x86_mptable_build(uint8_t *buf, size_t cap, uint64_t base, const X86PlatformConfig *c)
{
    if (c->ncpus == 0 || c->ncpus > 255)
        return 0;
    unsigned nentries = c->ncpus + 1 + 1 + X86_IOAPIC_PINS + 2;
    size_t table_len = 44 + 20 * c->ncpus + 8 * (nentries - c->ncpus);
    size_t len = 16 + table_len;
    if (len > cap)
        return 0;
    memset(buf, 0, len);

    /* Floating pointer structure (4.1): the configuration table follows it. */
    uint8_t *f = buf;
    memcpy(f, "_MP_", 4);
    wr32(f + 4, (uint32_t)(base + 16));
    f[8] = 1; /* length in 16-byte units */
    f[9] = 4; /* specification 1.4 */
    f[10] = (uint8_t)(0 - x86_table_sum(f, 16));

    /* Configuration table header (4.2). */
    uint8_t *t = buf + 16;
    memcpy(t, "PCMP", 4);
    wr16(t + 4, (uint16_t)table_len);
    t[6] = 4;
    memcpy(t + 8, "VESSEL  ", 8);
    memcpy(t + 16, "MICROVM     ", 12);
    wr16(t + 34, (uint16_t)nentries);
    wr32(t + 36, X86_LAPIC_ADDR);
    uint8_t *e = t + 44;
    for (unsigned i = 0; i < c->ncpus; i++, e += 20) {
        e[0] = 0; /* processor */
        e[1] = (uint8_t)i;
        e[2] = 0x14;                         /* local APIC version (integrated) */
        e[3] = (uint8_t)(1 | (i == 0) << 1); /* enabled; bootstrap processor */
        wr32(e + 4, 0x600);                  /* CPU signature: family 6 */
        wr32(e + 8, 0x201);                  /* feature flags: FPU, APIC */
    }
    e[0] = 1; /* bus 0: ISA */
    e[1] = 0;
    memcpy(e + 2, "ISA   ", 6);
    e += 8;
    e[0] = 2; /* I/O APIC */
    e[1] = X86_IOAPIC_ID;
    e[2] = 0x11;
    e[3] = 1; /* usable */
    wr32(e + 4, X86_IOAPIC_ADDR);
    e += 8;
    for (unsigned i = 0; i < X86_IOAPIC_PINS; i++, e += 8) {
        e[0] = 3; /* I/O interrupt assignment: ISA IRQ i on IOAPIC pin i */
        e[1] = 0; /* INT */
        wr16(e + 2, (c->level_gsi_mask >> i) & 1 ? (0x1 | 0x3 << 2) : 0);
        e[4] = 0;
        e[5] = (uint8_t)i;
        e[6] = X86_IOAPIC_ID;
        e[7] = (uint8_t)i;
    }
    e[0] = 4; /* local interrupt assignment: ExtINT on LINT0 of every local APIC */
    e[1] = 3;
    e[6] = 0xff;
    e[7] = 0;
    e += 8;
    e[0] = 4; /* NMI on LINT1 */
    e[1] = 1;
    e[6] = 0xff;
    e[7] = 1;
    t[7] = (uint8_t)(0 - x86_table_sum(t, table_len));
    return len;
}
