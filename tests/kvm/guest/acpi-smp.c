/* SPDX-License-Identifier: MIT */
/*
 * What an OS does to find its processors without firmware: find the ACPI RSDP where the
 * specification says to scan (ACPI 6.4, 5.2.5.1: 16-byte boundaries of 0xe0000-0xfffff),
 * check every table's checksum, read the FADT (hardware-reduced, reset and sleep registers,
 * \_S5 from the DSDT) and the MADT (Local APICs, the IOAPIC), cross-check them with the
 * IOAPIC's own registers and with the MP table (MP specification 1.4, 4.1: "_MP_" in the
 * BIOS ROM area), then start every application processor found through the LAPIC
 * (INIT, SIPI, SIPI) into a real-mode trampoline and wait for each to report in. Finally it
 * powers off with the sleep register and sleep type the tables gave.
 */
#include "guest.h"

#define TRAMP      0x10000u /* SIPI vector 0x10 */
#define TRAMP_CNT  (TRAMP + 0x80)
#define TRAMP_SEEN (TRAMP + 0x100)

extern const uint8_t ap_tramp[], ap_tramp_end[];

static bool failed;

void guest_irq(unsigned vector)
{
    (void)vector;
}

static void fail(const char *what, uint64_t v)
{
    puts_uart("FAIL: ");
    puts_uart(what);
    puts_uart(" 0x");
    put_hex(v);
    puts_uart("\n");
    failed = true;
}

static uint8_t sum(const volatile uint8_t *p, uint32_t len)
{
    uint8_t s = 0;
    for (uint32_t i = 0; i < len; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

static bool sig(const volatile uint8_t *p, const char *s)
{
    for (unsigned i = 0; s[i]; i++)
        if (p[i] != (uint8_t)s[i])
            return false;
    return true;
}

static uint16_t r16(const volatile uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t r32(const volatile uint8_t *p)
{
    return r16(p) | (uint32_t)r16(p + 2) << 16;
}

static uint64_t r64(const volatile uint8_t *p)
{
    return r32(p) | (uint64_t)r32(p + 4) << 32;
}

/* A system description table at addr with signature s: present, sane length, checksum 0. */
static const volatile uint8_t *table(uint64_t addr, const char *s)
{
    const volatile uint8_t *t = (const volatile uint8_t *)addr;
    if (!sig(t, s)) {
        fail("table signature at", addr);
        return 0;
    }
    uint32_t len = r32(t + 4);
    if (len < 36 || len > 65536 || sum(t, len) != 0) {
        fail("table checksum or length at", addr);
        return 0;
    }
    return t;
}

static uint8_t acpi_ids[256], mp_ids[256];
static uint16_t iso_flags[16]; /* MADT interrupt source overrides by ISA IRQ (+ 0x8000) */
static unsigned acpi_ncpus, mp_ncpus;
static uint32_t ioapic_addr;
static int ioapic_id = -1;
static uint16_t sleep_port, reset_port;
static uint8_t reset_value, s5_type = 0xff;

static void walk_fadt(const volatile uint8_t *f)
{
    uint32_t flags = r32(f + 112);
    if (!(flags & (1u << 20)) || !(flags & (1u << 10)))
        fail("FADT flags (want HW_REDUCED_ACPI and RESET_REG_SUP)", flags);
    if (f[116] != 1 || f[117] != 8)
        fail("FADT reset register is not an 8-bit I/O port", f[116]);
    reset_port = (uint16_t)r64(f + 120);
    reset_value = f[128];
    if (f[244] != 1)
        fail("FADT sleep control register is not an I/O port", f[244]);
    sleep_port = (uint16_t)r64(f + 248);
    uint64_t dsdt_addr = r64(f + 140);
    if (r32(f + 40) != (uint32_t)dsdt_addr)
        fail("FADT DSDT and X_DSDT differ", r32(f + 40));
    const volatile uint8_t *d = table(dsdt_addr, "DSDT");
    if (!d)
        return;
    uint32_t len = r32(d + 4);
    for (uint32_t i = 36; i + 10 <= len; i++) {
        /* NameOp "_S5_" PackageOp PkgLength NumElements then the first element. */
        if (d[i] == 0x08 && sig(d + i + 1, "_S5_") && d[i + 5] == 0x12) {
            const volatile uint8_t *e = d + i + 8;
            s5_type = e[0] == 0x0a ? e[1] : e[0] == 0x01 ? 1 : e[0] == 0x00 ? 0 : 0xff;
        }
    }
    if (s5_type == 0xff)
        fail("no \\_S5 package in the DSDT", len);
    puts_uart("fadt: hardware-reduced, reset register port 0x");
    put_hex(reset_port);
    puts_uart(" value 0x");
    put_hex(reset_value);
    puts_uart(", sleep control port 0x");
    put_hex(sleep_port);
    puts_uart(", S5 sleep type ");
    put_dec(s5_type);
    puts_uart("\n");
}

static void walk_madt(const volatile uint8_t *m)
{
    uint32_t len = r32(m + 4);
    unsigned overrides = 0, nmis = 0;
    if (r32(m + 36) != LAPIC_BASE)
        fail("MADT local APIC address", r32(m + 36));
    for (uint32_t off = 44; off + 2 <= len;) {
        const volatile uint8_t *e = m + off;
        if (e[1] < 2 || off + e[1] > len) {
            fail("MADT entry length at offset", off);
            return;
        }
        switch (e[0]) {
        case 0:
            if (e[1] == 8 && (r32(e + 4) & 1))
                acpi_ids[acpi_ncpus++] = e[3];
            break;
        case 1:
            ioapic_id = e[2];
            ioapic_addr = r32(e + 4);
            if (r32(e + 8) != 0)
                fail("IOAPIC GSI base", r32(e + 8));
            break;
        case 2:
            overrides++;
            if (e[2] == 0 && e[3] < 16 && r32(e + 4) == e[3])
                iso_flags[e[3]] = 0x8000 | r16(e + 8);
            else
                fail("an override that is not identity on the ISA bus", e[3]);
            break;
        case 4:
            if (e[2] == 0xff && e[5] == 1)
                nmis++;
            break;
        default: break;
        }
        off += e[1];
    }
    puts_uart("madt: ");
    put_dec(acpi_ncpus);
    puts_uart(" cpus, apic ids");
    for (unsigned i = 0; i < acpi_ncpus; i++) {
        puts_uart(" ");
        put_dec(acpi_ids[i]);
    }
    puts_uart(", ioapic id ");
    put_dec((uint64_t)ioapic_id);
    puts_uart(" at 0x");
    put_hex(ioapic_addr);
    puts_uart(", ");
    put_dec(overrides);
    puts_uart(" overrides, ");
    put_dec(nmis);
    puts_uart(" lint1 nmi\n");
}

static void walk_acpi(uint32_t start_info)
{
    uint64_t rsdp = 0;
    for (uint64_t a = 0xe0000; a < 0x100000 && !rsdp; a += 16)
        if (sig((const volatile uint8_t *)a, "RSD PTR ") &&
            sum((const volatile uint8_t *)a, 20) == 0)
            rsdp = a;
    if (!rsdp) {
        fail("no RSDP in 0xe0000-0xfffff", 0);
        return;
    }
    const volatile uint8_t *r = (const volatile uint8_t *)rsdp;
    if (r[15] < 2 || r32(r + 20) != 36 || sum(r, 36) != 0)
        fail("RSDP revision, length or extended checksum", r[15]);
    uint64_t info_rsdp = *(volatile uint64_t *)(uint64_t)(start_info + 32);
    if (info_rsdp != rsdp)
        fail("hvm_start_info.rsdp_paddr differs from the RSDP found", info_rsdp);
    const volatile uint8_t *x = table(r64(r + 24), "XSDT");
    if (!x)
        return;
    unsigned n = (r32(x + 4) - 36) / 8;
    puts_uart("acpi: RSDP at 0x");
    put_hex(rsdp);
    puts_uart(", XSDT with ");
    put_dec(n);
    puts_uart(" tables, checksums ok\n");
    bool fadt = false, madt = false;
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = r64(x + 36 + 8 * i);
        const volatile uint8_t *t = (const volatile uint8_t *)a;
        if (sig(t, "FACP") && table(a, "FACP")) {
            walk_fadt(t);
            fadt = true;
        } else if (sig(t, "APIC") && table(a, "APIC")) {
            walk_madt(t);
            madt = true;
        }
    }
    if (!fadt || !madt)
        fail("FADT or MADT missing from the XSDT", n);
}

static void walk_mp(void)
{
    const volatile uint8_t *f = 0;
    for (uint64_t a = 0xf0000; a < 0x100000 && !f; a += 16)
        if (sig((const volatile uint8_t *)a, "_MP_") && sum((const volatile uint8_t *)a, 16) == 0)
            f = (const volatile uint8_t *)a;
    if (!f) {
        fail("no MP floating pointer in 0xf0000-0xfffff", 0);
        return;
    }
    if (f[9] != 4 || f[8] != 1 || f[11] != 0)
        fail("MP floating pointer revision, length or default configuration", f[9]);
    const volatile uint8_t *t = (const volatile uint8_t *)(uint64_t)r32(f + 4);
    uint16_t len = r16(t + 4);
    if (!sig(t, "PCMP") || sum(t, len) != 0) {
        fail("MP configuration table signature or checksum", (uint64_t)t);
        return;
    }
    unsigned nentries = r16(t + 34), irqs = 0, bsp = 0xff, mp_ioapic = 0xff;
    uint32_t mp_ioapic_addr = 0;
    const volatile uint8_t *e = t + 44;
    for (unsigned i = 0; i < nentries && e < t + len; i++) {
        switch (e[0]) {
        case 0:
            if (e[3] & 1)
                mp_ids[mp_ncpus++] = e[1];
            if (e[3] & 2)
                bsp = e[1];
            e += 20;
            break;
        case 2:
            mp_ioapic = e[1];
            mp_ioapic_addr = r32(e + 4);
            e += 8;
            break;
        case 3:
            irqs++;
            e += 8;
            break;
        default: e += 8; break;
        }
    }
    puts_uart("mp: ");
    put_dec(mp_ncpus);
    puts_uart(" cpus (bsp ");
    put_dec(bsp);
    puts_uart("), ioapic id ");
    put_dec(mp_ioapic);
    puts_uart(" at 0x");
    put_hex(mp_ioapic_addr);
    puts_uart(", ");
    put_dec(irqs);
    puts_uart(" irq assignments\n");
    if (mp_ioapic != (unsigned)ioapic_id || mp_ioapic_addr != ioapic_addr)
        fail("the MP table's IOAPIC differs from the MADT's", mp_ioapic);
    if (mp_ncpus != acpi_ncpus)
        fail("the MP table's processor count differs from the MADT's", mp_ncpus);
    for (unsigned i = 0; i < mp_ncpus && i < acpi_ncpus; i++)
        if (mp_ids[i] != acpi_ids[i])
            fail("the MP table's APIC IDs differ from the MADT's at", i);
}

static void check_ioapic(void)
{
    mmio_write32(ioapic_addr, 0);
    unsigned id = (mmio_read32(ioapic_addr + 0x10) >> 24) & 0xf;
    mmio_write32(ioapic_addr, 1);
    unsigned pins = ((mmio_read32(ioapic_addr + 0x10) >> 16) & 0xff) + 1;
    puts_uart("ioapic: id register ");
    put_dec(id);
    puts_uart(", ");
    put_dec(pins);
    puts_uart(" pins\n");
    if (id != (unsigned)ioapic_id)
        fail("the IOAPIC's ID register differs from the MADT's", id);
}

/* Every virtio-mmio slot with a device (GSI 5 + slot) must be level-triggered, active high. */
static void check_virtio_overrides(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 11; i++, n++) {
        uint64_t base = VIRTIO_BASE + i * 0x1000ull;
        if (mmio_read32(base) != 0x74726976 || mmio_read32(base + 8) == 0)
            break;
        if (iso_flags[5 + i] != (0x8000 | 0xd))
            fail("no level/high override for the virtio GSI", 5 + i);
    }
    for (unsigned i = 5 + n; i < 16; i++)
        if (iso_flags[i])
            fail("an override for a GSI without a device", i);
    puts_uart("virtio: ");
    put_dec(n);
    puts_uart(" devices, each with a level-triggered override\n");
}

static void icr_wait(void)
{
    for (unsigned long spin = 0; mmio_read32(LAPIC_BASE + 0x300) & (1u << 12); spin++)
        if (spin > 100000000ul) {
            fail("ICR delivery never completed", mmio_read32(LAPIC_BASE + 0x300));
            return;
        }
}

static void start_aps(void)
{
    volatile uint8_t *tramp = (volatile uint8_t *)(uint64_t)TRAMP;
    for (unsigned i = 0; i < 0x200; i++)
        tramp[i] = 0;
    for (const uint8_t *p = ap_tramp; p < ap_tramp_end; p++)
        tramp[p - ap_tramp] = *p;
    lapic_enable();
    unsigned self = mmio_read32(LAPIC_BASE + 0x20) >> 24, want = 0;
    for (unsigned i = 0; i < acpi_ncpus; i++) {
        unsigned id = acpi_ids[i];
        if (id == self)
            continue;
        want++;
        mmio_write32(LAPIC_BASE + 0x310, id << 24);
        mmio_write32(LAPIC_BASE + 0x300, 0x4500); /* INIT, level assert */
        icr_wait();
        for (int n = 0; n < 2; n++) {
            mmio_write32(LAPIC_BASE + 0x310, id << 24);
            mmio_write32(LAPIC_BASE + 0x300, 0x4600 | (TRAMP >> 12)); /* SIPI */
            icr_wait();
        }
    }
    volatile uint16_t *count = (volatile uint16_t *)(uint64_t)TRAMP_CNT;
    for (unsigned long spin = 0; *count < want; spin++) {
        if (spin > 4000000000ul) {
            fail("APs that reported in", *count);
            break;
        }
        pause();
    }
    volatile uint8_t *seen = (volatile uint8_t *)(uint64_t)TRAMP_SEEN;
    for (unsigned i = 0; i < acpi_ncpus; i++) {
        unsigned id = acpi_ids[i];
        if (id == self)
            continue;
        if (seen[id]) {
            puts_uart("ap ");
            put_dec(id);
            puts_uart(" reported in\n");
        } else {
            fail("AP did not report in: APIC ID", id);
        }
    }
    puts_uart("started ");
    put_dec(*count);
    puts_uart(" of ");
    put_dec(want);
    puts_uart(" APs\n");
}

void pvh_main(uint32_t start_info);

void pvh_main(uint32_t start_info)
{
    idt_init();
    pic_disable();
    walk_acpi(start_info);
    walk_mp();
    if (ioapic_id >= 0)
        check_ioapic();
    check_virtio_overrides();
    if (!failed)
        start_aps();
    if (failed || sleep_port == 0 || s5_type == 0xff)
        return; /* pvh64.S powers off */
    puts_uart("powering off through the FADT's sleep register\n");
    outb(sleep_port, (uint8_t)(s5_type << 2 | 0x20));
    puts_uart("FAIL: still running after the S5 write\n");
}

/* start.S (linked for its interrupt stubs) names guest_main; its _start is not this guest's
 * entry (pvh_entry is), so this never runs. */
void guest_main(uint64_t index, uint64_t ncpus)
{
    (void)index;
    (void)ncpus;
    fail("entered through _start instead of the PVH entry", 0);
}
