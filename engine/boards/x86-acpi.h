/* SPDX-License-Identifier: MIT */
/*
 * Platform description tables for the x86_64 microvm board, so that an operating system
 * finds its processors, the IOAPIC and the power controls without firmware:
 *
 * - ACPI (ACPI 6.4 chapter 5): an RSDP (revision 2) in the BIOS read-only area where the
 *   OS scans for it (5.2.5.1), an XSDT, a hardware-reduced FADT (revision 6; 4.1, 5.2.9)
 *   with the reset register (4.8.3.6) and the sleep control and status registers (4.8.3.7),
 *   a DSDT holding only the \_S5 package (7.4.2) that names the sleep type for power-off,
 *   and a MADT (5.2.12) with one Processor Local APIC per vCPU, the IOAPIC, interrupt source
 *   overrides for the level-triggered virtio lines and the LINT1 NMI.
 * - An Intel MultiProcessor Specification 1.4 table (chapter 4): the floating pointer and a
 *   configuration table with the processors, the ISA bus, the IOAPIC and one I/O interrupt
 *   assignment per ISA IRQ, for systems booted with ACPI off.
 *
 * The builders are pure functions writing into a buffer that will sit at guest physical
 * address `base`; the board copies the bytes into guest RAM.
 */
#ifndef VESSEL_X86_ACPI_H
#define VESSEL_X86_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define X86_ACPI_BASE    0xe0000ull /* the RSDP, then the other tables: 4 KiB at most */
#define X86_ACPI_MAX     0x1000u
#define X86_MPTABLE_BASE 0xf0000ull /* the MP floating pointer, then the config table (8 KiB) */
#define X86_MPTABLE_MAX  0x2000u
#define X86_IOAPIC_ADDR  0xfec00000u
#define X86_LAPIC_ADDR   0xfee00000u
#define X86_IOAPIC_ID    0 /* what KVM's in-kernel IOAPIC reports after reset */
#define X86_IOAPIC_PINS  24

/* The board's power-control ports that the FADT points at (ACPI system I/O space). */
#define X86_PM_PORT        0x600 /* 0x600 sleep control, 0x601 sleep status, 0x602 reset */
#define X86_PM_PORTS       3
#define X86_PM_SLEEP_CTL   0
#define X86_PM_SLEEP_STS   1
#define X86_PM_RESET       2
#define X86_PM_RESET_VALUE 0x42
#define X86_PM_SLP_TYP_S5  5    /* the \_S5 package's first value */
#define X86_PM_SLP_EN      0x20 /* sleep control register: SLP_EN (bit 5), SLP_TYP bits 2-4 */

typedef struct X86PlatformConfig {
    unsigned ncpus;          /* APIC IDs 0 .. ncpus-1 */
    uint32_t level_gsi_mask; /* ISA IRQs (< 16) that are level-triggered, active high */
} X86PlatformConfig;

/* Where x86_acpi_build put each table (guest physical addresses). */
typedef struct X86AcpiLayout {
    uint64_t rsdp, xsdt, fadt, dsdt, madt;
    uint32_t rsdp_len, xsdt_len, fadt_len, dsdt_len, madt_len;
} X86AcpiLayout;

/* Build the ACPI tables into buf (to be placed at `base`). Returns the bytes used, or 0 when
 * cap is too small or the configuration cannot be described (more than 255 vCPUs). */
size_t x86_acpi_build(uint8_t *buf, size_t cap, uint64_t base, const X86PlatformConfig *c,
                      X86AcpiLayout *layout);

/* Build the MP floating pointer and configuration table into buf (at `base`). Returns the
 * bytes used, or 0 as above (the MP table has 8-bit APIC IDs too). */
size_t x86_mptable_build(uint8_t *buf, size_t cap, uint64_t base, const X86PlatformConfig *c);

/* The 8-bit sum ACPI and the MP specification want to be zero over a table. */
uint8_t x86_table_sum(const uint8_t *p, size_t len);

#endif
