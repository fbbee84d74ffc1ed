/* SPDX-License-Identifier: MIT */
/*
 * The GICv3 model driven as a Linux guest drives it (the register sequences of
 * drivers/irqchip/irq-gic-v3.c: probe, distributor and per-CPU init, interrupt entry,
 * EOI/deactivate, IPIs), the architecture's priority rules (Arm IHI 0069: PMR, running
 * priority, binary point, groups), then hostile accesses and concurrent line changes.
 * Outputs are observed through the per-vCPU callback the board registers.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/arm-gicv3.h"
#include "mmu/mmu.h"

#include "check.h"

/* ---- Harness: output lines, MMIO and system-register helpers ---- */

#define MAXCPU 32
static bool g_irq[MAXCPU], g_fiq[MAXCPU];
static unsigned g_calls;
static bool g_bad_output; /* called with a wrong opaque or vCPU */

/* Runs with the GIC's lock held, so plain stores are ordered with the GIC's state. */
static void output(void *opaque, unsigned cpu, bool irq, bool fiq)
{
    if (opaque != &g_calls || cpu >= MAXCPU)
        g_bad_output = true;
    if (cpu < MAXCPU) {
        g_irq[cpu] = irq;
        g_fiq[cpu] = fiq;
    }
    g_calls++;
}

static Gicv3 *make_gic(unsigned ncpus)
{
    Gicv3 *g = gicv3_new(ncpus, GICV3_DEFAULT_NSPIS);
    CHECK(g != NULL);
    memset(g_irq, 0, sizeof(g_irq));
    memset(g_fiq, 0, sizeof(g_fiq));
    for (unsigned i = 0; i < ncpus; i++)
        gicv3_set_output(g, i, output, &g_calls);
    return g;
}

static uint32_t gicd_rd(Gicv3 *g, uint64_t off)
{
    return (uint32_t)gicv3_dist_mmio_ops.read(g, off, 4);
}

static void gicd_wr(Gicv3 *g, uint64_t off, uint32_t v)
{
    gicv3_dist_mmio_ops.write(g, off, v, 4);
}

static uint64_t gicr_rd(Gicv3 *g, unsigned cpu, uint64_t off, unsigned size)
{
    return gicv3_redist_mmio_ops.read(g, cpu * GICV3_REDIST_STRIDE + off, size);
}

static void gicr_wr(Gicv3 *g, unsigned cpu, uint64_t off, uint32_t v)
{
    gicv3_redist_mmio_ops.write(g, cpu * GICV3_REDIST_STRIDE + off, v, 4);
}

#define SGI_BASE 0x10000

static uint64_t icc_rd(Gicv3 *g, unsigned cpu, unsigned reg)
{
    uint64_t v = 0xdeadbeef;
    CHECK(gicv3_cpuif_read(g, cpu, reg, &v));
    return v;
}

static void icc_wr(Gicv3 *g, unsigned cpu, unsigned reg, uint64_t v)
{
    CHECK(gicv3_cpuif_write(g, cpu, reg, v));
}

static void set_bit32(Gicv3 *g, uint64_t base, unsigned intid)
{
    gicd_wr(g, base + 4 * (intid / 32), 1u << (intid % 32));
}

/* ---- Linux's sequences (irq-gic-v3.c) ---- */

/* gic_dist_init: everything Group 1, disabled, inactive, priority 0xa0, level; then enable
 * with affinity routing, route every SPI to the boot CPU. */
static void linux_dist_init(Gicv3 *g, unsigned boot_cpu)
{
    gicd_wr(g, 0x0000, 0);                        /* GICD_CTLR */
    CHECK_EQ(gicd_rd(g, 0x0000) & (1u << 31), 0); /* RWP: writes complete at once */
    unsigned nirqs = ((gicd_rd(g, 0x0004) & 0x1f) + 1) * 32;
    for (unsigned i = 32; i < nirqs; i += 32) {
        gicd_wr(g, 0x0080 + i / 8, ~0u); /* IGROUPR */
        gicd_wr(g, 0x0380 + i / 8, ~0u); /* ICACTIVER */
        gicd_wr(g, 0x0180 + i / 8, ~0u); /* ICENABLER */
    }
    for (unsigned i = 32; i < nirqs; i += 16)
        gicd_wr(g, 0x0c00 + i / 4, 0); /* ICFGR: level */
    for (unsigned i = 32; i < nirqs; i += 4)
        gicd_wr(g, 0x0400 + i, 0xa0a0a0a0);                /* IPRIORITYR */
    gicd_wr(g, 0x0000, (1u << 4) | (1u << 1) | (1u << 0)); /* ARE_NS | EnableGrp1A | Grp1 */
    for (unsigned i = 32; i < nirqs; i++)
        gicv3_dist_mmio_ops.write(g, 0x6000 + 8 * i, gicv3_mpidr_affinity(boot_cpu), 8);
}

/* gic_populate_rdist: find this CPU's redistributor by walking the frames to Last. */
static int linux_find_rdist(Gicv3 *g, unsigned cpu)
{
    for (unsigned i = 0;; i++) {
        if (((gicr_rd(g, i, 0xffe8, 4) >> 4) & 0xf) != 3) /* GICR_PIDR2.ArchRev */
            return -1;
        uint64_t typer = gicr_rd(g, i, 0x0008, 8);
        if ((typer >> 32) == gicv3_mpidr_affinity(cpu))
            return (int)i;
        if (typer & (1u << 4)) /* Last */
            return -1;
    }
}

/* gic_enable_redist + gic_cpu_config + gic_cpu_sys_reg_init. */
static void linux_cpu_init(Gicv3 *g, unsigned cpu)
{
    int rd = linux_find_rdist(g, cpu);
    CHECK_EQ(rd, cpu);
    CHECK_EQ(gicr_rd(g, cpu, 0x0014, 4), 0x6); /* WAKER: asleep at reset */
    gicr_wr(g, cpu, 0x0014, 0);
    CHECK_EQ(gicr_rd(g, cpu, 0x0014, 4) & 4, 0); /* ChildrenAsleep followed */

    gicr_wr(g, cpu, SGI_BASE + 0x0080, ~0u);        /* IGROUPR0 */
    gicr_wr(g, cpu, SGI_BASE + 0x0380, ~0u);        /* ICACTIVER0 */
    gicr_wr(g, cpu, SGI_BASE + 0x0180, 0xffff0000); /* ICENABLER0: PPIs */
    gicr_wr(g, cpu, SGI_BASE + 0x0100, 0x0000ffff); /* ISENABLER0: SGIs */
    for (unsigned i = 0; i < 32; i += 4)
        gicr_wr(g, cpu, SGI_BASE + 0x0400 + i, 0xa0a0a0a0);
    gicr_wr(g, cpu, SGI_BASE + 0x0c04, 0); /* ICFGR1: PPIs level */

    icc_wr(g, cpu, ICC_SRE_EL1, icc_rd(g, cpu, ICC_SRE_EL1) | 1);
    CHECK_EQ(icc_rd(g, cpu, ICC_SRE_EL1) & 1, 1);
    /* gic_has_group0: a PMR write of the lowest implemented priority bit sticks */
    icc_wr(g, cpu, ICC_PMR_EL1, 1u << (8 - 5));
    CHECK_EQ(icc_rd(g, cpu, ICC_PMR_EL1), 0x08);
    icc_wr(g, cpu, ICC_PMR_EL1, 0xf0); /* DEFAULT_PMR_VALUE */
    CHECK_EQ(icc_rd(g, cpu, ICC_PMR_EL1), 0xf0);
    icc_wr(g, cpu, ICC_BPR1_EL1, 0);
    CHECK_EQ(icc_rd(g, cpu, ICC_BPR1_EL1), 3); /* clamped to the minimum */
    icc_wr(g, cpu, ICC_CTLR_EL1, 0);           /* EOImode 0 (no EL2) */
    uint64_t ctlr = icc_rd(g, cpu, ICC_CTLR_EL1);
    CHECK_EQ((ctlr >> 8) & 7, 4);  /* PRIbits: 5 bits */
    CHECK_EQ((ctlr >> 11) & 7, 0); /* IDbits: 16 */
    icc_wr(g, cpu, ICC_AP0R_EL1(0), 0);
    icc_wr(g, cpu, ICC_AP1R_EL1(0), 0);
    icc_wr(g, cpu, ICC_IGRPEN1_EL1, 1);
}

static void linux_boot(Gicv3 *g, unsigned ncpus)
{
    linux_dist_init(g, 0);
    for (unsigned i = 0; i < ncpus; i++)
        linux_cpu_init(g, i);
}

/* gic_handle_irq: acknowledge, then EOI (and deactivate in EOImode 1). */
static unsigned linux_ack(Gicv3 *g, unsigned cpu)
{
    return (unsigned)icc_rd(g, cpu, ICC_IAR1_EL1);
}

static void linux_eoi(Gicv3 *g, unsigned cpu, unsigned intid)
{
    icc_wr(g, cpu, ICC_EOIR1_EL1, intid);
}

/* ---- Tests ---- */

static void test_probe(void)
{
    Gicv3 *g = make_gic(2);
    CHECK_EQ((gicd_rd(g, 0xffe8) >> 4) & 0xf, 3); /* GICD_PIDR2.ArchRev */
    uint32_t typer = gicd_rd(g, 0x0004);
    CHECK_EQ(typer & 0x1f, 7);           /* ITLinesNumber: 256 INTIDs, as QEMU virt shows */
    CHECK_EQ((typer >> 19) & 0x1f, 15);  /* IDbits */
    CHECK_EQ((typer >> 10) & 1, 0);      /* SecurityExtn: single Security state */
    CHECK_EQ((typer >> 17) & 1, 0);      /* no LPIs */
    CHECK_EQ((typer >> 25) & 1, 1);      /* No1N */
    CHECK_EQ(gicd_rd(g, 0x0008), 0x43b); /* IIDR */
    CHECK_EQ(gicd_rd(g, 0xfff0), 0x0d);  /* CIDR0 */
    CHECK_EQ(gicd_rd(g, 0x0000), 0x50);  /* ARE and DS read as one */

    /* Redistributors: affinity, processor number, Last only on the last one. */
    for (unsigned i = 0; i < 2; i++) {
        uint64_t t = gicr_rd(g, i, 0x0008, 8);
        CHECK_EQ(t >> 32, gicv3_mpidr_affinity(i));
        CHECK_EQ((t >> 8) & 0xffff, i);
        CHECK_EQ((t >> 4) & 1, i == 1);
        CHECK_EQ(gicr_rd(g, i, 0x0008, 4) | gicr_rd(g, i, 0x000c, 4) << 32, t);
        CHECK_EQ(gicr_rd(g, i, 0x0004, 4), 0x43b);
        CHECK_EQ(gicr_rd(g, i, SGI_BASE + 0x0c00, 4), 0xaaaaaaaa); /* SGIs: edge */
    }
    CHECK_EQ(gicv3_mpidr_affinity(17), 0x101);
    CHECK(gicv3_new(0, 256) == NULL);
    CHECK(gicv3_new(GICV3_MAX_CPUS + 1, 256) == NULL);
    CHECK(gicv3_new(1, 100) == NULL);
    CHECK(gicv3_new(1, 1024) == NULL);
    gicv3_free(g);
}

static void test_linux_init(void)
{
    Gicv3 *g = make_gic(2);
    linux_boot(g, 2);
    CHECK_EQ(gicd_rd(g, 0x0000), 0x53);
    CHECK_EQ(gicd_rd(g, 0x0084), ~0u);        /* IGROUPR1 */
    CHECK_EQ(gicd_rd(g, 0x0104), 0);          /* ISENABLER1 */
    CHECK_EQ(gicd_rd(g, 0x0420), 0xa0a0a0a0); /* IPRIORITYR8 */
    CHECK_EQ(gicd_rd(g, 0x0080), 0);          /* SGI/PPI bits live in the redistributor */
    CHECK_EQ(gicv3_dist_mmio_ops.read(g, 0x6000 + 8 * 40, 8), 0);
    CHECK_EQ(gicr_rd(g, 1, SGI_BASE + 0x0100, 4), 0xffff);
    CHECK_EQ(icc_rd(g, 1, ICC_IGRPEN1_EL1), 1);
    CHECK_EQ(icc_rd(g, 0, ICC_RPR_EL1), 0xff);
    CHECK_EQ(icc_rd(g, 0, ICC_IAR1_EL1), 1023); /* nothing pending */
    CHECK(!g_irq[0] && !g_irq[1] && !g_fiq[0] && !g_fiq[1]);
    gicv3_free(g);
}

static void test_level_spi(void)
{
    Gicv3 *g = make_gic(2);
    linux_boot(g, 2);
    unsigned intid = 32 + 5;

    gicv3_set_spi(g, 5, true);
    CHECK(!g_irq[0]);                         /* disabled */
    CHECK_EQ(gicd_rd(g, 0x0204) >> 5 & 1, 1); /* but pending */
    set_bit32(g, 0x0100, intid);              /* ISENABLER */
    CHECK(g_irq[0] && !g_irq[1] && !g_fiq[0]);
    CHECK_EQ(icc_rd(g, 0, ICC_HPPIR1_EL1), intid);
    CHECK_EQ(icc_rd(g, 1, ICC_IAR1_EL1), 1023); /* routed to vCPU 0 only */

    CHECK_EQ(linux_ack(g, 0), intid);
    CHECK(!g_irq[0]);
    CHECK_EQ(icc_rd(g, 0, ICC_RPR_EL1), 0xa0);
    CHECK_EQ(gicd_rd(g, 0x0304) >> 5 & 1, 1); /* active, and still pending: line high */
    CHECK_EQ(gicd_rd(g, 0x0204) >> 5 & 1, 1);

    linux_eoi(g, 0, intid); /* line still high: pending again */
    CHECK_EQ(icc_rd(g, 0, ICC_RPR_EL1), 0xff);
    CHECK_EQ(gicd_rd(g, 0x0304) >> 5 & 1, 0);
    CHECK(g_irq[0]);
    gicv3_set_spi(g, 5, false); /* device drops the line before the guest looks */
    CHECK(!g_irq[0]);
    CHECK_EQ(linux_ack(g, 0), 1023);

    /* ISPENDR latches a level-sensitive interrupt until acknowledged or ICPENDR. */
    set_bit32(g, 0x0200, intid);
    CHECK(g_irq[0]);
    set_bit32(g, 0x0280, intid);
    CHECK(!g_irq[0]);

    /* Re-routing to vCPU 1 moves the output. */
    gicv3_dist_mmio_ops.write(g, 0x6000 + 8 * intid, gicv3_mpidr_affinity(1), 8);
    gicv3_set_spi(g, 5, true);
    CHECK(!g_irq[0] && g_irq[1]);
    CHECK_EQ(linux_ack(g, 1), intid);
    linux_eoi(g, 1, intid);
    /* Routed to a vCPU that does not exist: nobody sees it. */
    gicd_wr(g, 0x6000 + 8 * intid, 0x0305); /* 32-bit halves work too */
    CHECK_EQ(gicd_rd(g, 0x6000 + 8 * intid), 0x0305);
    CHECK(!g_irq[0] && !g_irq[1]);
    gicv3_free(g);
}

/* The set/clear register pairs (Linux's irq_set_irqchip_state, gic_cpu_config), SPI and local. */
static void test_set_clear_registers(void)
{
    Gicv3 *g = make_gic(1);
    linux_boot(g, 1);
    unsigned intid = 70;
    set_bit32(g, 0x0100, intid);
    CHECK_EQ(gicd_rd(g, 0x0108), 1u << 6); /* ISENABLER reads the enables */
    CHECK_EQ(gicd_rd(g, 0x0188), 1u << 6); /* so does ICENABLER */
    set_bit32(g, 0x0300, intid);           /* ISACTIVER */
    set_bit32(g, 0x0200, intid);           /* ISPENDR */
    CHECK(!g_irq[0]);                      /* active and pending: not signalled */
    CHECK_EQ(gicd_rd(g, 0x0388), 1u << 6);
    set_bit32(g, 0x0380, intid); /* ICACTIVER */
    CHECK(g_irq[0]);
    set_bit32(g, 0x0180, intid); /* ICENABLER */
    CHECK(!g_irq[0]);
    CHECK_EQ(gicd_rd(g, 0x0108), 0);
    CHECK_EQ(gicd_rd(g, 0x0208), 1u << 6); /* still pending */
    set_bit32(g, 0x0280, intid);
    CHECK_EQ(gicd_rd(g, 0x0208), 0);

    /* SGI pending through GICR_ISPENDR0; PPI trigger mode through GICR_ICFGR1. */
    gicr_wr(g, 0, SGI_BASE + 0x0200, 1u << 9);
    CHECK(g_irq[0]);
    CHECK_EQ(gicr_rd(g, 0, SGI_BASE + 0x0200, 4), 1u << 9);
    gicr_wr(g, 0, SGI_BASE + 0x0280, 1u << 9);
    CHECK(!g_irq[0]);
    gicr_wr(g, 0, SGI_BASE + 0x0c00, 0); /* SGIs stay edge-triggered */
    CHECK_EQ(gicr_rd(g, 0, SGI_BASE + 0x0c00, 4), 0xaaaaaaaa);
    gicr_wr(g, 0, SGI_BASE + 0x0c04, 2u << (2 * 4)); /* PPI 4 (INTID 20): edge */
    CHECK_EQ(gicr_rd(g, 0, SGI_BASE + 0x0c04, 4), 2u << (2 * 4));
    gicr_wr(g, 0, SGI_BASE + 0x0100, 1u << 20);
    gicv3_set_ppi(g, 0, 4, true);
    gicv3_set_ppi(g, 0, 4, false);
    CHECK(g_irq[0]); /* the edge was latched */
    CHECK_EQ(linux_ack(g, 0), 20);
    linux_eoi(g, 0, 20);
    CHECK(!g_irq[0]);
    /* Registers past the implemented SPIs are RAZ/WI. */
    gicd_wr(g, 0x0100 + 4 * 20, ~0u);
    CHECK_EQ(gicd_rd(g, 0x0100 + 4 * 20), 0);
    gicd_wr(g, 0x0400 + 600, 0x80808080);
    CHECK_EQ(gicd_rd(g, 0x0400 + 600), 0);
    gicv3_free(g);
}

static void test_edge_spi(void)
{
    Gicv3 *g = make_gic(1);
    linux_boot(g, 1);
    unsigned intid = 32 + 40;
    gicd_wr(g, 0x0c00 + intid / 16 * 4, 2u << (2 * (intid % 16))); /* ICFGR: edge */
    CHECK_EQ(gicd_rd(g, 0x0c00 + intid / 16 * 4), 2u << (2 * (intid % 16)));
    set_bit32(g, 0x0100, intid);

    gicv3_set_spi(g, 40, true);
    gicv3_set_spi(g, 40, false);
    CHECK(g_irq[0]); /* the edge was latched */
    CHECK_EQ(linux_ack(g, 0), intid);
    /* Two more edges while active: one pending request, taken after the EOI. */
    gicv3_set_spi(g, 40, true);
    gicv3_set_spi(g, 40, false);
    gicv3_set_spi(g, 40, true);
    CHECK(!g_irq[0]); /* active: not signalled again */
    linux_eoi(g, 0, intid);
    CHECK(g_irq[0]);
    CHECK_EQ(linux_ack(g, 0), intid);
    linux_eoi(g, 0, intid);
    CHECK(!g_irq[0]); /* the line is still high, but that is not an edge */
    CHECK_EQ(linux_ack(g, 0), 1023);
    gicv3_free(g);
}

static void test_ppi_and_timer(void)
{
    Gicv3 *g = make_gic(2);
    linux_boot(g, 2);
    unsigned intid = 16 + GICV3_PPI_VIRT_TIMER; /* 27 */
    gicr_wr(g, 1, SGI_BASE + 0x0100, 1u << intid);
    gicv3_set_ppi(g, 1, GICV3_PPI_VIRT_TIMER, true);
    CHECK(g_irq[1] && !g_irq[0]);
    CHECK_EQ(linux_ack(g, 0), 1023);
    CHECK_EQ(linux_ack(g, 1), intid);
    /* The timer handler masks the timer (line drops) before the EOI. */
    gicv3_set_ppi(g, 1, GICV3_PPI_VIRT_TIMER, false);
    linux_eoi(g, 1, intid);
    CHECK(!g_irq[1]);
    CHECK_EQ(gicr_rd(g, 1, SGI_BASE + 0x0300, 4), 0); /* ISACTIVER0 */
    /* Bad lines are ignored. */
    gicv3_set_ppi(g, 2, 0, true);
    gicv3_set_ppi(g, 0, 16, true);
    gicv3_set_spi(g, 256, true);
    gicv3_set_spi(g, ~0u, true);
    CHECK(!g_irq[0] && !g_irq[1]);
    gicv3_free(g);
}

static uint64_t sgi1r(unsigned intid, unsigned aff1, uint16_t targets)
{
    return ((uint64_t)intid << 24) | ((uint64_t)aff1 << 16) | targets;
}

static void test_sgi(void)
{
    Gicv3 *g = make_gic(20);
    linux_boot(g, 20);

    /* IPI from vCPU 0 to vCPU 1 (Aff1 0, target list bit 1). */
    icc_wr(g, 0, ICC_SGI1R_EL1, sgi1r(3, 0, 1u << 1));
    CHECK(g_irq[1] && !g_irq[0] && !g_irq[2]);
    CHECK_EQ(linux_ack(g, 1), 3);
    linux_eoi(g, 1, 3);
    CHECK(!g_irq[1]);

    /* vCPU 17 is Aff1 1, Aff0 1. */
    icc_wr(g, 0, ICC_SGI1R_EL1, sgi1r(5, 1, 1u << 1));
    CHECK(g_irq[17] && !g_irq[1]);
    CHECK_EQ(linux_ack(g, 17), 5);
    linux_eoi(g, 17, 5);

    /* IRM: everyone but the sender. */
    icc_wr(g, 4, ICC_SGI1R_EL1, (1ull << 40) | sgi1r(7, 0, 0));
    for (unsigned i = 0; i < 20; i++) {
        CHECK_EQ(g_irq[i], i != 4);
        if (i != 4) {
            CHECK_EQ(linux_ack(g, i), 7);
            linux_eoi(g, i, 7);
        }
    }
    /* A non-zero range selector names Aff0 16..31: no such vCPU. */
    icc_wr(g, 0, ICC_SGI1R_EL1, (1ull << 44) | sgi1r(2, 0, 0xffff));
    for (unsigned i = 0; i < 20; i++)
        CHECK(!g_irq[i]);
    /* SGI0R forwards Group 0 SGIs only; these are Group 1. */
    icc_wr(g, 0, ICC_SGI0R_EL1, sgi1r(2, 0, 1u << 1));
    CHECK(!g_irq[1] && !g_fiq[1]);
    /* SGI registers are write-only. */
    uint64_t v;
    CHECK(!gicv3_cpuif_read(g, 0, ICC_SGI1R_EL1, &v));
    gicv3_free(g);
}

static void test_eoimode1(void)
{
    Gicv3 *g = make_gic(1);
    linux_boot(g, 1);
    icc_wr(g, 0, ICC_CTLR_EL1, 2); /* EOImode: EOI drops priority, DIR deactivates */
    unsigned intid = 33;
    set_bit32(g, 0x0100, intid);
    set_bit32(g, 0x0200, intid);
    CHECK_EQ(linux_ack(g, 0), intid);
    linux_eoi(g, 0, intid);
    CHECK_EQ(icc_rd(g, 0, ICC_RPR_EL1), 0xff);
    CHECK_EQ(gicd_rd(g, 0x0304) >> 1 & 1, 1); /* still active */
    set_bit32(g, 0x0200, intid);
    CHECK(!g_irq[0]); /* active interrupts are not signalled */
    icc_wr(g, 0, ICC_DIR_EL1, intid);
    CHECK_EQ(gicd_rd(g, 0x0304) >> 1 & 1, 0);
    CHECK(g_irq[0]);
    /* EOIs with nothing active, special or absent INTIDs change nothing. */
    icc_wr(g, 0, ICC_EOIR1_EL1, 1023);
    icc_wr(g, 0, ICC_EOIR1_EL1, 5000);
    icc_wr(g, 0, ICC_DIR_EL1, 1021);
    icc_wr(g, 0, ICC_DIR_EL1, ~0ull);
    CHECK(g_irq[0]);
    gicv3_free(g);
}

/* A deactivation through another vCPU's ICC_DIR_EL1 updates the vCPU the SPI is routed to. */
static void test_dir_from_other_cpu(void)
{
    Gicv3 *g = make_gic(2);
    linux_boot(g, 2);
    icc_wr(g, 0, ICC_CTLR_EL1, 2);
    icc_wr(g, 1, ICC_CTLR_EL1, 2);
    unsigned intid = 50;
    gicv3_dist_mmio_ops.write(g, 0x6000 + 8 * intid, gicv3_mpidr_affinity(1), 8);
    set_bit32(g, 0x0100, intid);
    gicv3_set_spi(g, intid - 32, true);
    CHECK(g_irq[1] && !g_irq[0]);
    CHECK_EQ(linux_ack(g, 1), intid);
    linux_eoi(g, 1, intid);
    CHECK(!g_irq[1]); /* active until deactivated */
    icc_wr(g, 0, ICC_DIR_EL1, intid);
    CHECK(g_irq[1] && !g_irq[0]); /* the line is still high */
    gicv3_free(g);
}

static void test_priority(void)
{
    Gicv3 *g = make_gic(1);
    linux_boot(g, 1);
    unsigned lo = 40, hi = 41, mid = 42;
    gicv3_dist_mmio_ops.write(g, 0x0400 + lo, 0xa0, 1); /* byte access */
    gicv3_dist_mmio_ops.write(g, 0x0400 + hi, 0x80, 1);
    gicv3_dist_mmio_ops.write(g, 0x0400 + mid, 0x97, 1); /* low bits not implemented */
    CHECK_EQ(gicv3_dist_mmio_ops.read(g, 0x0400 + mid, 1), 0x90);
    set_bit32(g, 0x0100, lo);
    set_bit32(g, 0x0100, hi);
    set_bit32(g, 0x0100, mid);

    /* PMR masks: priority must be strictly higher (lower value) than PMR. */
    icc_wr(g, 0, ICC_PMR_EL1, 0xa0);
    set_bit32(g, 0x0200, lo);
    CHECK(!g_irq[0]);
    CHECK_EQ(icc_rd(g, 0, ICC_HPPIR1_EL1), lo); /* HPPIR ignores the mask */
    CHECK_EQ(linux_ack(g, 0), 1023);
    icc_wr(g, 0, ICC_PMR_EL1, 0xf0);
    CHECK(g_irq[0]);

    /* Preemption: a higher priority interrupt is signalled while lo runs. */
    CHECK_EQ(linux_ack(g, 0), lo);
    CHECK(!g_irq[0]);
    set_bit32(g, 0x0200, hi);
    CHECK(g_irq[0]);
    CHECK_EQ(linux_ack(g, 0), hi);
    CHECK_EQ(icc_rd(g, 0, ICC_RPR_EL1), 0x80);
    CHECK_EQ(icc_rd(g, 0, ICC_AP1R_EL1(0)), (1u << (0x80 >> 3)) | (1u << (0xa0 >> 3)));
    linux_eoi(g, 0, hi);
    CHECK_EQ(icc_rd(g, 0, ICC_RPR_EL1), 0xa0);
    CHECK(!g_irq[0]);

    /* Binary point: with BPR1 6 the group priority is bits [7:6]; 0x90 and 0xa0 share
     * group priority 0x80, so mid does not preempt lo. With BPR1 3 it does. */
    icc_wr(g, 0, ICC_BPR1_EL1, 6);
    set_bit32(g, 0x0200, mid);
    CHECK(!g_irq[0]);
    CHECK_EQ(linux_ack(g, 0), 1023);
    icc_wr(g, 0, ICC_BPR1_EL1, 3);
    CHECK(g_irq[0]);
    CHECK_EQ(linux_ack(g, 0), mid);
    linux_eoi(g, 0, mid);
    linux_eoi(g, 0, lo);
    CHECK_EQ(icc_rd(g, 0, ICC_RPR_EL1), 0xff);
    CHECK_EQ(gicd_rd(g, 0x0304), 0); /* nothing active */

    /* CBPR: BPR1 reads BPR0 + 1 and ignores writes. */
    icc_wr(g, 0, ICC_CTLR_EL1, 1);
    icc_wr(g, 0, ICC_BPR0_EL1, 4);
    icc_wr(g, 0, ICC_BPR1_EL1, 7);
    CHECK_EQ(icc_rd(g, 0, ICC_BPR1_EL1), 5);
    icc_wr(g, 0, ICC_BPR0_EL1, 0);
    CHECK_EQ(icc_rd(g, 0, ICC_BPR0_EL1), 2);

    /* Equal priority: the lowest INTID wins. */
    icc_wr(g, 0, ICC_CTLR_EL1, 0);
    gicv3_dist_mmio_ops.write(g, 0x0400 + 50, 0x40, 1);
    gicv3_dist_mmio_ops.write(g, 0x0400 + 45, 0x40, 1);
    set_bit32(g, 0x0100, 50);
    set_bit32(g, 0x0100, 45);
    set_bit32(g, 0x0200, 50);
    set_bit32(g, 0x0200, 45);
    CHECK_EQ(linux_ack(g, 0), 45);
    gicv3_free(g);
}

static void test_groups(void)
{
    Gicv3 *g = make_gic(1);
    linux_boot(g, 1);
    unsigned intid = 60;
    gicd_wr(g, 0x0080 + 4, ~(1u << (intid % 32))); /* IGROUPR1: intid in Group 0 */
    set_bit32(g, 0x0100, intid);
    set_bit32(g, 0x0200, intid);
    CHECK(!g_fiq[0] && !g_irq[0]); /* IGRPEN0 is 0 */
    icc_wr(g, 0, ICC_IGRPEN0_EL1, 1);
    CHECK(g_fiq[0] && !g_irq[0]);
    CHECK_EQ(icc_rd(g, 0, ICC_IAR1_EL1), 1023);
    CHECK_EQ(icc_rd(g, 0, ICC_HPPIR1_EL1), 1023);
    CHECK_EQ(icc_rd(g, 0, ICC_HPPIR0_EL1), intid);
    CHECK_EQ(icc_rd(g, 0, ICC_IAR0_EL1), intid);
    CHECK(!g_fiq[0]);
    CHECK_EQ(icc_rd(g, 0, ICC_AP0R_EL1(0)), 1u << (0xa0 >> 3));
    icc_wr(g, 0, ICC_EOIR1_EL1, intid); /* wrong group: ignored */
    CHECK_EQ(icc_rd(g, 0, ICC_RPR_EL1), 0xa0);
    icc_wr(g, 0, ICC_EOIR0_EL1, intid);
    CHECK_EQ(icc_rd(g, 0, ICC_RPR_EL1), 0xff);

    /* GICD_CTLR's group enables gate distribution. */
    set_bit32(g, 0x0200, intid);
    CHECK(g_fiq[0]);
    gicd_wr(g, 0x0000, 0x12); /* EnableGrp1 only */
    CHECK(!g_fiq[0]);
    gicd_wr(g, 0x0000, 0x13);
    CHECK(g_fiq[0]);
    /* Registers this GIC does not have are UNDEFINED to the CPU. */
    uint64_t v;
    CHECK(!gicv3_cpuif_read(g, 0, ICC_AP1R_EL1(1), &v));
    CHECK(!gicv3_cpuif_write(g, 0, ICC_AP0R_EL1(3), 0));
    CHECK(!gicv3_cpuif_write(g, 0, ICC_RPR_EL1, 0));
    CHECK(!gicv3_cpuif_read(g, 0, ICC_EOIR1_EL1, &v));
    CHECK(!gicv3_cpuif_read(g, 0, GICV3_SYSREG(3, 0, 1, 0, 0), &v)); /* SCTLR_EL1 */
    CHECK(!gicv3_cpuif_read(g, 1, ICC_PMR_EL1, &v));                 /* no vCPU 1 */
    gicv3_free(g);
}

static void test_reset_keeps_lines(void)
{
    Gicv3 *g = make_gic(1);
    linux_boot(g, 1);
    gicv3_set_spi(g, 3, true);
    set_bit32(g, 0x0100, 35);
    CHECK(g_irq[0]);
    gicv3_reset(g);
    CHECK(!g_irq[0]);
    CHECK_EQ(gicd_rd(g, 0x0000), 0x50);
    CHECK_EQ(icc_rd(g, 0, ICC_PMR_EL1), 0);
    linux_boot(g, 1);
    set_bit32(g, 0x0100, 35);
    CHECK(g_irq[0]); /* the device kept its line high across the reset */
    unsigned before = g_calls;
    gicv3_sync_cpu(g, 0);
    CHECK_EQ(g_calls, before + 1);
    CHECK(g_irq[0]);
    gicv3_free(g);
}

/* ---- Hostile guest ---- */

static uint64_t g_rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static const unsigned icc_regs[] = {
    ICC_PMR_EL1,     ICC_IAR0_EL1,    ICC_EOIR0_EL1,   ICC_HPPIR0_EL1,  ICC_BPR0_EL1,
    ICC_AP0R_EL1(0), ICC_AP0R_EL1(1), ICC_AP1R_EL1(0), ICC_AP1R_EL1(3), ICC_DIR_EL1,
    ICC_RPR_EL1,     ICC_SGI1R_EL1,   ICC_ASGI1R_EL1,  ICC_SGI0R_EL1,   ICC_IAR1_EL1,
    ICC_EOIR1_EL1,   ICC_HPPIR1_EL1,  ICC_BPR1_EL1,    ICC_CTLR_EL1,    ICC_SRE_EL1,
    ICC_IGRPEN0_EL1, ICC_IGRPEN1_EL1,
};

/* The output a vCPU must see, from guest-visible registers only (IHI 0069 4.8): the highest
 * pending interrupt of group grp passes PMR, its group is enabled, and its group priority
 * (binary point) preempts the running priority. */
/* ICC_* read without counting a check (the hostile loop calls it millions of times). */
static uint64_t icc_peek(Gicv3 *g, unsigned cpu, unsigned reg)
{
    uint64_t v = ~0ull;
    (void)gicv3_cpuif_read(g, cpu, reg, &v);
    return v;
}

static bool expect_signal(Gicv3 *g, unsigned cpu, unsigned grp)
{
    uint64_t intid = icc_peek(g, cpu, grp ? ICC_HPPIR1_EL1 : ICC_HPPIR0_EL1);
    if (intid == 1023)
        return false;
    unsigned prio = intid < 32 ? (unsigned)gicr_rd(g, cpu, SGI_BASE + 0x400 + intid, 1)
                               : (unsigned)gicv3_dist_mmio_ops.read(g, 0x400 + intid, 1);
    if (prio >= icc_peek(g, cpu, ICC_PMR_EL1) ||
        !(icc_peek(g, cpu, grp ? ICC_IGRPEN1_EL1 : ICC_IGRPEN0_EL1) & 1))
        return false;
    unsigned rpr = (unsigned)icc_peek(g, cpu, ICC_RPR_EL1);
    unsigned mask = grp ? (0xffu << icc_peek(g, cpu, ICC_BPR1_EL1)) & 0xff
                        : (0xffu << (icc_peek(g, cpu, ICC_BPR0_EL1) + 1)) & 0xff;
    return rpr == 0xff || (prio & mask) < (rpr & mask);
}

static bool outputs_consistent(Gicv3 *g, unsigned ncpus)
{
    for (unsigned c = 0; c < ncpus; c++)
        if (g_irq[c] != expect_signal(g, c, 1) || g_fiq[c] != expect_signal(g, c, 0))
            return false;
    return true;
}

static void test_hostile(void)
{
    Gicv3 *g = make_gic(3);
    linux_boot(g, 3);
    uint64_t rsize = gicv3_redist_size(3);

    /* Every size at every register-ish offset of both regions, and past their ends. */
    for (uint64_t off = 0; off < 0x10000 + 64; off += (off < 0x1000 || off >= 0xff00) ? 1 : 61)
        for (unsigned size = 0; size <= 8; size++) {
            (void)gicv3_dist_mmio_ops.read(g, off, size);
            gicv3_dist_mmio_ops.write(g, off, rnd(), size);
            (void)gicv3_redist_mmio_ops.read(g, off, size);
            gicv3_redist_mmio_ops.write(g, off, rnd(), size);
            (void)gicv3_redist_mmio_ops.read(g, off + GICV3_REDIST_STRIDE * 2 + SGI_BASE, size);
            gicv3_redist_mmio_ops.write(g, off + GICV3_REDIST_STRIDE * 2 + SGI_BASE, rnd(), size);
        }
    /* Random accesses, random system registers, random lines; the outputs always agree with
     * the registers. */
    unsigned inconsistent = 0;
    for (unsigned i = 0; i < 200000; i++) {
        uint64_t r = rnd();
        unsigned size = 1u << (r & 3);
        switch ((r >> 2) % 6) {
        case 0: gicv3_dist_mmio_ops.write(g, (r >> 8) % 0x11000, rnd(), size); break;
        case 1: (void)gicv3_dist_mmio_ops.read(g, (r >> 8) % 0x11000, size); break;
        case 2: gicv3_redist_mmio_ops.write(g, (r >> 8) % (rsize + 0x1000), rnd(), size); break;
        case 3: (void)gicv3_redist_mmio_ops.read(g, (r >> 8) % (rsize + 0x1000), size); break;
        case 4: {
            unsigned reg = (r >> 8) & 1 ? icc_regs[(r >> 9) % (sizeof(icc_regs) / 4)]
                                        : (unsigned)(r >> 16) & 0xffff;
            uint64_t v;
            if ((r >> 40) & 1)
                (void)gicv3_cpuif_write(g, (r >> 41) % 4, reg, rnd());
            else
                (void)gicv3_cpuif_read(g, (r >> 41) % 4, reg, &v);
            break;
        }
        default:
            if ((r >> 8) & 1)
                gicv3_set_spi(g, (unsigned)(r >> 9) % 300, (r >> 20) & 1);
            else
                gicv3_set_ppi(g, (unsigned)(r >> 9) % 4, (unsigned)(r >> 12) % 18, (r >> 20) & 1);
            break;
        }
        if (!outputs_consistent(g, 3))
            inconsistent++;
    }
    CHECK_EQ(inconsistent, 0);
    /* Whatever happened, the fixed bits are fixed and a fresh Linux init works. */
    CHECK_EQ(gicd_rd(g, 0x0000) & 0x50, 0x50);
    CHECK_EQ(gicd_rd(g, 0x0004) & 0x1f, 7);
    CHECK_EQ(icc_rd(g, 0, ICC_SRE_EL1), 7);
    CHECK(icc_rd(g, 0, ICC_BPR0_EL1) >= 2);
    gicv3_reset(g);
    for (unsigned s = 0; s < 256; s++)
        gicv3_set_spi(g, s, false);
    for (unsigned c = 0; c < 3; c++)
        for (unsigned p = 0; p < 16; p++)
            gicv3_set_ppi(g, c, p, false);
    linux_boot(g, 3);
    set_bit32(g, 0x0100, 99);
    gicv3_set_spi(g, 99 - 32, true);
    CHECK_EQ(linux_ack(g, 0), 99);
    gicv3_free(g);
}

/* ---- Threads: devices drive lines while vCPUs take interrupts ---- */

#define NTHREADS 3
#define ROUNDS   20000

static Gicv3 *g_tgic;

static void *line_thread(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < ROUNDS; i++) {
        gicv3_set_spi(g_tgic, id, true);
        gicv3_set_spi(g_tgic, id, false);
        gicv3_set_ppi(g_tgic, id % 2, GICV3_PPI_PHYS_TIMER, i & 1);
    }
    gicv3_set_ppi(g_tgic, id % 2, GICV3_PPI_PHYS_TIMER, false);
    return NULL;
}

static void *vcpu_thread(void *arg)
{
    unsigned cpu = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < ROUNDS; i++) {
        uint64_t id;
        gicv3_cpuif_read(g_tgic, cpu, ICC_IAR1_EL1, &id);
        if (id != 1023)
            gicv3_cpuif_write(g_tgic, cpu, ICC_EOIR1_EL1, id);
        gicv3_cpuif_write(g_tgic, cpu, ICC_SGI1R_EL1, sgi1r(1, 0, 1u << (cpu ^ 1)));
    }
    return NULL;
}

static void test_threads(void)
{
    Gicv3 *g = make_gic(2);
    g_tgic = g;
    linux_boot(g, 2);
    for (unsigned i = 0; i < NTHREADS; i++) {
        unsigned intid = 32 + i;
        gicd_wr(g, 0x0c00 + intid / 16 * 4, 2u << (2 * (intid % 16))); /* edge */
        set_bit32(g, 0x0100, intid);
        gicv3_dist_mmio_ops.write(g, 0x6000 + 8 * intid, gicv3_mpidr_affinity(i % 2), 8);
    }
    for (unsigned c = 0; c < 2; c++)
        gicr_wr(g, c, SGI_BASE + 0x0100, 0xffff | (1u << 30));

    pthread_t t[NTHREADS + 2];
    for (unsigned i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, line_thread, (void *)(uintptr_t)i);
    for (unsigned c = 0; c < 2; c++)
        pthread_create(&t[NTHREADS + c], NULL, vcpu_thread, (void *)(uintptr_t)c);
    for (unsigned i = 0; i < NTHREADS + 2; i++)
        pthread_join(t[i], NULL);

    /* Drain: every latched interrupt can be taken and completed; then all is quiet. */
    for (unsigned c = 0; c < 2; c++) {
        for (unsigned n = 0; n < 64; n++) {
            unsigned id = linux_ack(g, c);
            if (id == 1023)
                break;
            linux_eoi(g, c, id);
        }
        CHECK_EQ(linux_ack(g, c), 1023);
        CHECK_EQ(icc_rd(g, c, ICC_RPR_EL1), 0xff);
        CHECK(!g_irq[c]);
    }
    CHECK_EQ(gicd_rd(g, 0x0304), 0);
    gicv3_free(g);
}

static void test_map(void)
{
    PhysMem pm;
    physmem_init(&pm);
    Gicv3 *g = make_gic(2);
    CHECK(gicv3_map(g, &pm, 0x08000000, 0x080a0000));
    MemRegion *d = physmem_find(&pm, 0x08000000 + 0xffe8);
    MemRegion *r = physmem_find(&pm, 0x080a0000 + GICV3_REDIST_STRIDE + 0x8);
    CHECK(d && d->size == GICV3_DIST_SIZE);
    CHECK(r && r->size == 2 * GICV3_REDIST_STRIDE);
    CHECK(physmem_find(&pm, 0x080a0000 + 2 * GICV3_REDIST_STRIDE) == NULL);
    uint64_t v = 0;
    CHECK(physmem_load(&pm, 0x080a0000 + GICV3_REDIST_STRIDE + 0x8, 8, &v));
    CHECK_EQ(v, (gicv3_mpidr_affinity(1) << 32) | (1u << 8) | (1u << 4));
    gicv3_free(g);
    physmem_destroy(&pm);
}

int main(void)
{
    test_probe();
    test_linux_init();
    test_level_spi();
    test_set_clear_registers();
    test_edge_spi();
    test_ppi_and_timer();
    test_sgi();
    test_eoimode1();
    test_dir_from_other_cpu();
    test_priority();
    test_groups();
    test_reset_keeps_lines();
    test_hostile();
    test_threads();
    test_map();
    CHECK(!g_bad_output);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
