/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the arm64 virt board's GICv2 under a hostile guest and hostile lines.
 *
 * Input: byte 0 picks the vCPU count (1..8). The GIC starts as Linux's GICv2 driver leaves it
 * (distributor on, every SPI enabled at priority 0xa0 and routed to vCPU 0, PMR 0xf0, Group
 * 0 on), then the rest of the input is a list of 12-byte operations:
 *   op (1)  size/flags (1)  offset (2, le)  value (8, le)
 * op % 6 chooses: distributor read/write, CPU interface read/write (as a vCPU, sometimes one
 * that does not exist), an SPI line, a PPI line.
 *
 * After every operation each vCPU's outputs must agree with what that vCPU can read: IRQ or
 * FIQ is up exactly when GICC_HPPIR names an interrupt whose priority (its GICD_IPRIORITYR
 * byte as that vCPU sees it) passes GICC_PMR, whose group (GICD_IGROUPR) is enabled in
 * GICC_CTLR, and whose group priority (GICC_BPR, or GICC_ABPR - 1 for Group 1 without CBPR)
 * is below GICC_RPR; it is FIQ exactly for Group 0 with GICC_CTLR.FIQEn. The running
 * priority has bit 0 clear (the smallest binary point keeps bits [7:1]). Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/arm-gicv2.h"

#define MAXCPU 8
static bool g_irq[MAXCPU], g_fiq[MAXCPU];

static void gic_output(void *opaque, unsigned cpu, bool irq, bool fiq)
{
    (void)opaque;
    if (cpu >= MAXCPU)
        abort();
    g_irq[cpu] = irq;
    g_fiq[cpu] = fiq;
}

static uint32_t crd(Gicv2 *g, unsigned cpu, uint32_t off)
{
    return (uint32_t)gicv2_cpu_read(g, cpu, off, 4);
}

static void linux_like_init(Gicv2 *g, unsigned ncpus)
{
    for (unsigned i = 32; i < 32 + GICV2_DEFAULT_NSPIS; i += 32)
        gicv2_dist_write(g, 0, 0x100 + i / 8, ~0u, 4);
    for (unsigned i = 32; i < 32 + GICV2_DEFAULT_NSPIS; i += 4) {
        gicv2_dist_write(g, 0, 0x400 + i, 0xa0a0a0a0, 4);
        gicv2_dist_write(g, 0, 0x800 + i, 0x01010101, 4);
    }
    gicv2_dist_write(g, 0, 0, 1, 4);
    for (unsigned c = 0; c < ncpus; c++) {
        gicv2_dist_write(g, c, 0x100, ~0u, 4);
        for (unsigned i = 0; i < 32; i += 4)
            gicv2_dist_write(g, c, 0x400 + i, 0xa0a0a0a0, 4);
        gicv2_cpu_write(g, c, 0x04, 0xf0, 4);
        gicv2_cpu_write(g, c, 0x00, 1, 4);
    }
}

static void check_invariants(Gicv2 *g, unsigned ncpus)
{
    for (unsigned c = 0; c < ncpus; c++) {
        uint32_t rpr = crd(g, c, 0x14);
        if (rpr != 0xff && (rpr & 1))
            abort();
        uint32_t hppir = crd(g, c, 0x18), intid = hppir & 0x3ff;
        if (intid == GICV2_INTID_SPURIOUS1)
            continue; /* a Group 1 interrupt without AckCtl: its number is not readable */
        bool irq = false, fiq = false;
        if (intid < 1020) {
            unsigned prio = (unsigned)gicv2_dist_read(g, c, 0x400 + intid, 1);
            unsigned grp =
                (unsigned)(gicv2_dist_read(g, c, 0x80 + intid / 32 * 4, 4) >> (intid % 32)) & 1;
            uint32_t ctlr = crd(g, c, 0x00), pmr = crd(g, c, 0x04);
            unsigned bpr = grp && !(ctlr & (1u << 4)) ? crd(g, c, 0x1c) - 1 : crd(g, c, 0x08);
            unsigned mask = (0xffu << (bpr + 1)) & 0xff;
            bool sig = prio < pmr && (ctlr & (1u << grp)) && (rpr == 0xff || (prio & mask) < rpr);
            fiq = sig && grp == 0 && (ctlr & (1u << 3));
            irq = sig && !fiq;
        }
        if (g_irq[c] != irq || g_fiq[c] != fiq)
            abort();
    }
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned ncpus = data[0] % MAXCPU + 1;
    data++;
    size--;
    memset(g_irq, 0, sizeof(g_irq));
    memset(g_fiq, 0, sizeof(g_fiq));
    Gicv2 *g = gicv2_new(ncpus, GICV2_DEFAULT_NSPIS);
    if (!g)
        abort();
    for (unsigned c = 0; c < ncpus; c++)
        gicv2_set_output(g, c, gic_output, NULL);
    linux_like_init(g, ncpus);

    for (; size >= 12; data += 12, size -= 12) {
        unsigned op = data[0] % 6, flags = data[1];
        unsigned asize = flags & 0x80 ? flags % 9 : 1u << (flags & 3); /* mostly valid sizes */
        uint64_t off = le(data + 2, 2), val = le(data + 4, 8);
        unsigned cpu = (unsigned)(val >> 56) % (ncpus + 1); /* sometimes a vCPU that is not */
        switch (op) {
        case 0: (void)gicv2_dist_read(g, cpu, off, asize); break;
        case 1: gicv2_dist_write(g, cpu, off, val, asize); break;
        case 2: (void)gicv2_cpu_read(g, cpu, off | ((flags & 0x40) ? 0x1000 : 0), asize); break;
        case 3: gicv2_cpu_write(g, cpu, off | ((flags & 0x40) ? 0x1000 : 0), val, asize); break;
        case 4: gicv2_set_spi(g, (unsigned)off % 300, flags & 1); break;
        default: gicv2_set_ppi(g, cpu, (unsigned)off % 20, flags & 1); break;
        }
        check_invariants(g, ncpus);
    }
    gicv2_free(g);
    return 0;
}
