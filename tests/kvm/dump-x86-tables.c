/* SPDX-License-Identifier: MIT */
/*
 * Writes the microvm board's ACPI tables (one file per table: rsdp.dat, xsdt.dat,
 * facp.dat, dsdt.dat, apic.dat) and MP table (mptable.dat) for a number of vCPUs and a
 * level-triggered GSI mask, so that check-x86-tables.py can have ACPICA's iasl
 * disassemble and check them.
 *
 * usage: dump-x86-tables DIR NCPUS LEVEL-GSI-MASK
 */
#include <stdio.h>
#include <stdlib.h>

#include "boards/x86-acpi.h"

static int dump(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s DIR NCPUS LEVEL-GSI-MASK\n", argv[0]);
        return 2;
    }
    X86PlatformConfig c = { .ncpus = (unsigned)strtoul(argv[2], NULL, 0),
                            .level_gsi_mask = (uint32_t)strtoul(argv[3], NULL, 0) };
    static uint8_t buf[X86_ACPI_MAX];
    X86AcpiLayout l;
    size_t n = x86_acpi_build(buf, sizeof(buf), X86_ACPI_BASE, &c, &l);
    if (n == 0) {
        fprintf(stderr, "x86_acpi_build refused %u vCPUs\n", c.ncpus);
        return 1;
    }
    int rc = dump(argv[1], "rsdp.dat", buf + (l.rsdp - X86_ACPI_BASE), l.rsdp_len);
    rc |= dump(argv[1], "xsdt.dat", buf + (l.xsdt - X86_ACPI_BASE), l.xsdt_len);
    rc |= dump(argv[1], "facp.dat", buf + (l.fadt - X86_ACPI_BASE), l.fadt_len);
    rc |= dump(argv[1], "dsdt.dat", buf + (l.dsdt - X86_ACPI_BASE), l.dsdt_len);
    rc |= dump(argv[1], "apic.dat", buf + (l.madt - X86_ACPI_BASE), l.madt_len);
    static uint8_t mp[X86_MPTABLE_MAX];
    n = x86_mptable_build(mp, sizeof(mp), X86_MPTABLE_BASE, &c);
    if (n == 0) {
        fprintf(stderr, "x86_mptable_build refused %u vCPUs\n", c.ncpus);
        return 1;
    }
    rc |= dump(argv[1], "mptable.dat", mp, n);
    return rc;
}
