/* SPDX-License-Identifier: MIT */
/*
 * The GICv2 model (Arm IHI 0048B, no Security Extensions) driven through its register API
 * as two or more vCPUs would: SPIs in the 1-of-N model over ITARGETSR, level and edge
 * triggering, banked SGI/PPI state, SGIs with their source, priority mask, preemption and
 * the binary point, split EOI, Group 0 as FIQ, reset keeping line levels, then every offset
 * and size with hostile values (run under ASan/UBSan in CI). Outputs are observed through
 * the per-vCPU callback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/arm-gicv2.h"

#include "check.h"

#define MAXCPU 8
static bool g_irq[MAXCPU], g_fiq[MAXCPU];
static bool g_bad_output;

static void output(void *opaque, unsigned cpu, bool irq, bool fiq)
{
    if (opaque != &g_bad_output || cpu >= MAXCPU) {
        g_bad_output = true;
        return;
    }
    g_irq[cpu] = irq;
    g_fiq[cpu] = fiq;
}

static Gicv2 *make_gic(unsigned ncpus)
{
    Gicv2 *g = gicv2_new(ncpus, GICV2_DEFAULT_NSPIS);
    CHECK(g != NULL);
    memset(g_irq, 0, sizeof(g_irq));
    memset(g_fiq, 0, sizeof(g_fiq));
    for (unsigned i = 0; i < ncpus; i++)
        gicv2_set_output(g, i, output, &g_bad_output);
    return g;
}

static uint32_t rd(Gicv2 *g, unsigned cpu, uint32_t off)
{
    return (uint32_t)gicv2_dist_read(g, cpu, off, 4);
}

static void wr(Gicv2 *g, unsigned cpu, uint32_t off, uint32_t v)
{
    gicv2_dist_write(g, cpu, off, v, 4);
}

static void wr8(Gicv2 *g, unsigned cpu, uint32_t off, uint8_t v)
{
    gicv2_dist_write(g, cpu, off, v, 1);
}

static uint32_t crd(Gicv2 *g, unsigned cpu, uint32_t off)
{
    return (uint32_t)gicv2_cpu_read(g, cpu, off, 4);
}

static void cwr(Gicv2 *g, unsigned cpu, uint32_t off, uint32_t v)
{
    gicv2_cpu_write(g, cpu, off, v, 4);
}

/* What Linux's gic_dist_init/gic_cpu_init leave: everything Group 0, enabled, PMR 0xf0. */
static void linux_init(Gicv2 *g, unsigned ncpus)
{
    wr(g, 0, 0x000, 1);
    for (unsigned c = 0; c < ncpus; c++) {
        cwr(g, c, 0x04, 0xf0);
        cwr(g, c, 0x00, 1);
    }
}

static void test_bounds(void)
{
    CHECK(gicv2_new(0, 256) == NULL);
    CHECK(gicv2_new(9, 256) == NULL);
    CHECK(gicv2_new(1, 0) == NULL);
    CHECK(gicv2_new(1, 33) == NULL);
    CHECK(gicv2_new(1, 992) == NULL);
    Gicv2 *g = gicv2_new(8, 960);
    CHECK(g != NULL);
    CHECK_EQ(rd(g, 7, 0x004), (32 + 960) / 32 - 1 + (7u << 5));
    gicv2_free(g);
}

static void test_spi_1_of_n(void)
{
    Gicv2 *g = make_gic(2);
    linux_init(g, 2);
    unsigned id = 32 + 5;
    wr8(g, 0, 0x400 + id, 0x80);
    wr8(g, 0, 0x800 + id, 3); /* both vCPUs */
    wr(g, 0, 0x100 + 4, 1u << 5);
    gicv2_set_spi(g, 5, true);
    CHECK(g_irq[0] && g_irq[1]);
    CHECK_EQ(crd(g, 1, 0x0c), id); /* vCPU 1 takes it */
    CHECK(!g_irq[0] && !g_irq[1]);
    CHECK_EQ(crd(g, 0, 0x0c), 1023); /* active: not for vCPU 0 any more */
    CHECK_EQ(rd(g, 0, 0x300 + 4), 1u << 5);
    /* Level: still asserted, so pending again once deactivated. */
    cwr(g, 1, 0x10, id);
    CHECK(g_irq[0] && g_irq[1]);
    gicv2_set_spi(g, 5, false);
    CHECK(!g_irq[0] && !g_irq[1]);
    CHECK_EQ(rd(g, 0, 0x200 + 4), 0);
    /* Retarget to vCPU 0 only. */
    wr8(g, 0, 0x800 + id, 1);
    gicv2_set_spi(g, 5, true);
    CHECK(g_irq[0] && !g_irq[1]);
    gicv2_set_spi(g, 5, false);
    gicv2_free(g);
}

static void test_edge(void)
{
    Gicv2 *g = make_gic(1);
    linux_init(g, 1);
    unsigned id = 32 + 7;
    wr(g, 0, 0xc00 + (id / 16) * 4, 2u << (2 * (id % 16)));
    wr(g, 0, 0x100 + 4, 1u << 7);
    gicv2_set_spi(g, 7, true);
    gicv2_set_spi(g, 7, false);
    CHECK(g_irq[0]);
    CHECK_EQ(crd(g, 0, 0x0c), id);
    cwr(g, 0, 0x10, id);
    CHECK(!g_irq[0]); /* the edge was consumed */
    /* Clear-pending removes a latched edge. */
    gicv2_set_spi(g, 7, true);
    wr(g, 0, 0x280 + 4, 1u << 7);
    CHECK(!g_irq[0]);
    gicv2_set_spi(g, 7, false);
    gicv2_free(g);
}

static void test_sgi_and_banking(void)
{
    Gicv2 *g = make_gic(4);
    linux_init(g, 4);
    CHECK_EQ(rd(g, 2, 0x800), 0x04040404u); /* banked ITARGETSR0 */
    CHECK_EQ(rd(g, 0, 0x100), 0xffffu);     /* SGIs always enabled */
    wr(g, 0, 0x180, 0xffffffffu);
    CHECK_EQ(rd(g, 0, 0x100), 0xffffu);
    CHECK_EQ(rd(g, 0, 0xc00), 0xaaaaaaaau);
    wr8(g, 1, 0x400 + 27, 0x10); /* PPI priority, vCPU 1 only */
    CHECK_EQ(rd(g, 1, 0x418) >> 24, 0x10);
    CHECK_EQ(rd(g, 0, 0x418) >> 24, 0);
    /* vCPU 3 sends SGI 2 to vCPUs 1 and 2, with list bits beyond the 4 vCPUs. */
    wr(g, 3, 0xf00, (0xf6u << 16) | 2);
    CHECK(!g_irq[0] && g_irq[1] && g_irq[2] && !g_irq[3]);
    CHECK_EQ(rd(g, 1, 0xf20) & 0xff, 0); /* SPENDSGIR0 byte 0: SGI 0 */
    CHECK_EQ((rd(g, 1, 0xf20) >> 16) & 0xff, 1u << 3);
    CHECK_EQ(crd(g, 1, 0x18), 2u | (3u << 10)); /* HPPIR names the source */
    CHECK_EQ(crd(g, 1, 0x0c), 2u | (3u << 10));
    cwr(g, 1, 0x10, 2u | (3u << 10));
    CHECK(!g_irq[1]);
    /* "All but self" and "self". */
    wr(g, 2, 0xf00, (1u << 24) | 4);
    CHECK(g_irq[0] && g_irq[1] && g_irq[3]);
    wr(g, 0, 0xf00, (2u << 24) | 4);
    CHECK_EQ(crd(g, 0, 0x0c), 4u | (0u << 10)); /* lowest source first */
    CHECK_EQ(crd(g, 0, 0x18), 1023);            /* active; same SGI from vCPU 2 waits */
    cwr(g, 0, 0x10, 4);
    CHECK_EQ(crd(g, 0, 0x0c), 4u | (2u << 10));
    cwr(g, 0, 0x10, 4u | (2u << 10));
    /* Clear-pending of an SGI by source (CPENDSGIR). */
    wr8(g, 3, 0xf10 + 4, 0xff);
    CHECK(!g_irq[3] && g_irq[1]);
    wr8(g, 1, 0xf10 + 4, 1u << 2);
    CHECK(!g_irq[1]);
    CHECK_EQ(crd(g, 2, 0x0c), 2u | (3u << 10)); /* vCPU 2's copy of the first SGI */
    cwr(g, 2, 0x10, 2u | (3u << 10));
    wr(g, 0, 0xf00, (3u << 24) | 1); /* reserved filter: nothing */
    CHECK(!g_irq[0] && !g_irq[1] && !g_irq[2] && !g_irq[3]);
    gicv2_free(g);
}

static void test_priorities(void)
{
    Gicv2 *g = make_gic(1);
    linux_init(g, 1);
    cwr(g, 0, 0x04, 0xff);
    wr8(g, 0, 0x400 + 1, 0x80);
    wr8(g, 0, 0x400 + 2, 0x40);
    wr8(g, 0, 0x400 + 3, 0x42);
    wr(g, 0, 0xf00, (2u << 24) | 1);
    CHECK_EQ(crd(g, 0, 0x0c), 1);
    CHECK_EQ(crd(g, 0, 0x14), 0x80);
    wr(g, 0, 0xf00, (2u << 24) | 2);
    CHECK(g_irq[0]); /* 0x40 preempts 0x80 */
    CHECK_EQ(crd(g, 0, 0x0c), 2);
    CHECK_EQ(crd(g, 0, 0x14), 0x40);
    /* BPR 0: group priority [7:1]; 0x42 does not preempt 0x40 at BPR 2 ([7:3]), does at 0. */
    cwr(g, 0, 0x08, 2);
    wr(g, 0, 0xf00, (2u << 24) | 3);
    CHECK(!g_irq[0]);
    CHECK_EQ(crd(g, 0, 0x0c), 1023);
    CHECK_EQ(crd(g, 0, 0x18), 3); /* pending, above the mask */
    cwr(g, 0, 0x10, 2);           /* drop 0x40 */
    CHECK_EQ(crd(g, 0, 0x14), 0x80);
    CHECK(g_irq[0]); /* 0x42 preempts 0x80 */
    CHECK_EQ(crd(g, 0, 0x0c), 3);
    cwr(g, 0, 0x10, 3);
    cwr(g, 0, 0x10, 1);
    CHECK_EQ(crd(g, 0, 0x14), 0xff);
    CHECK_EQ(crd(g, 0, 0xd0), 0);
    /* PMR: equal priority is masked. */
    cwr(g, 0, 0x04, 0x80);
    wr(g, 0, 0xf00, (2u << 24) | 1);
    CHECK(!g_irq[0]);
    CHECK_EQ(crd(g, 0, 0x0c), 1023);
    cwr(g, 0, 0x04, 0x81);
    CHECK(g_irq[0]);
    CHECK_EQ(crd(g, 0, 0x0c), 1);
    /* EOI with nothing active, or of a nonexistent INTID: ignored. */
    cwr(g, 0, 0x10, 1);
    cwr(g, 0, 0x10, 1);
    cwr(g, 0, 0x10, 1022);
    CHECK_EQ(crd(g, 0, 0x14), 0xff);
    gicv2_free(g);
}

static void test_split_eoi_and_groups(void)
{
    Gicv2 *g = make_gic(1);
    linux_init(g, 1);
    cwr(g, 0, 0x00, 1 | (1u << 9));
    wr(g, 0, 0xf00, (2u << 24) | 6);
    CHECK_EQ(crd(g, 0, 0x0c), 6);
    cwr(g, 0, 0x10, 6);
    CHECK_EQ(crd(g, 0, 0x14), 0xff);
    CHECK_EQ(rd(g, 0, 0x300) & 0xffff, 1u << 6); /* still active */
    wr(g, 0, 0xf00, (2u << 24) | 6);
    CHECK(!g_irq[0]); /* active and pending: not signalled */
    cwr(g, 0, 0x1000, 6);
    CHECK(g_irq[0]);
    CHECK_EQ(crd(g, 0, 0x0c), 6);
    cwr(g, 0, 0x10, 6);
    cwr(g, 0, 0x1000, 6);
    /* Group 0 with FIQEn is a FIQ; Group 1 an IRQ, acknowledged only with AckCtl. */
    cwr(g, 0, 0x00, 3 | (1u << 3));
    wr(g, 0, 0x000, 3);
    wr(g, 0, 0xf00, (2u << 24) | 8);
    CHECK(g_fiq[0] && !g_irq[0]);
    CHECK_EQ(crd(g, 0, 0x0c), 8);
    cwr(g, 0, 0x10, 8);
    wr(g, 0, 0x080, 1u << 9);
    wr(g, 0, 0xf00, (2u << 24) | 9);
    CHECK(g_irq[0] && !g_fiq[0]);
    CHECK_EQ(crd(g, 0, 0x0c), 1022);
    CHECK_EQ(crd(g, 0, 0x20), 0); /* GICC_AIAR: Security Extensions only */
    cwr(g, 0, 0x00, 3 | (1u << 3) | (1u << 2));
    CHECK_EQ(crd(g, 0, 0x0c), 9);
    cwr(g, 0, 0x10, 9);
    /* Distributor group enable: Group 1 off holds Group 1 interrupts back. */
    wr(g, 0, 0x000, 1);
    wr(g, 0, 0xf00, (2u << 24) | 9);
    CHECK(!g_irq[0]);
    wr(g, 0, 0x000, 3);
    CHECK(g_irq[0]);
    gicv2_free(g);
}

static void test_reset_keeps_lines(void)
{
    Gicv2 *g = make_gic(1);
    linux_init(g, 1);
    wr(g, 0, 0x100 + 4, 1);
    gicv2_set_ppi(g, 0, 14, true); /* INTID 30 */
    gicv2_set_spi(g, 0, true);
    gicv2_reset(g);
    CHECK(!g_irq[0]);
    CHECK_EQ(rd(g, 0, 0x000), 0);
    CHECK_EQ(rd(g, 0, 0x100 + 4), 0);
    CHECK_EQ(rd(g, 0, 0x200 + 4), 1); /* the line is still high */
    CHECK_EQ(rd(g, 0, 0x200) >> 30 & 1, 1);
    linux_init(g, 1);
    wr(g, 0, 0x100, 1u << 30);
    CHECK(g_irq[0]);
    CHECK_EQ(crd(g, 0, 0x0c), 30);
    gicv2_free(g);
}

static void test_hostile(void)
{
    Gicv2 *g = make_gic(2);
    linux_init(g, 2);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    static const unsigned sizes[] = { 1, 2, 4, 8, 3 };
    for (uint32_t off = 0; off < 0x11000; off++) {
        for (unsigned s = 0; s < 5; s++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            unsigned cpu = (unsigned)(x >> 60); /* 0..15: out-of-range vCPUs too */
            gicv2_dist_write(g, cpu, off, x, sizes[s]);
            (void)gicv2_dist_read(g, cpu, off, sizes[s]);
            if (off % 4 == 0 && off != 0x0c) {
                gicv2_cpu_write(g, cpu, off, x, sizes[s]);
                (void)gicv2_cpu_read(g, cpu, off, sizes[s]);
            }
        }
        if (off % 64 == 0) {
            gicv2_set_spi(g, (unsigned)(x % 300), x & 1);
            gicv2_set_ppi(g, (unsigned)(x >> 62), (unsigned)(x >> 3) % 20, x & 2);
        }
    }
    for (unsigned i = 0; i < 64; i++)
        (void)crd(g, i & 1, 0x0c);
    CHECK(!g_bad_output);
    gicv2_free(g);
}

int main(void)
{
    test_bounds();
    test_spi_1_of_n();
    test_edge();
    test_sgi_and_banking();
    test_priorities();
    test_split_eoi_and_groups();
    test_reset_keeps_lines();
    test_hostile();
    CHECK(!g_bad_output);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
