/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the arm64 virt board's interrupt controller and PrimeCell devices (GICv3,
 * PL031, PL061) under a hostile guest and hostile device lines.
 *
 * Input: byte 0 picks the vCPU count (1..4). The devices start as Linux leaves them (groups
 * enabled, every interrupt enabled at priority 0xa0, PMR 0xf0, Group 1 on) so deep paths are
 * reachable, then the rest of the input is a list of 12-byte operations:
 *   op (1)  size/flags (1)  offset (2, le)  value (8, le)
 * op % 14 chooses: GICD read/write, GICR read/write, ICC_* read/write (a known register or a
 * raw encoding), SPI or PPI line, PL031 read/write, PL061 read/write, PL061 pin or power key,
 * and moving the fake clock (which fires due timers).
 *
 * After every operation the outputs must agree with what the guest can read: a vCPU's IRQ
 * (FIQ) is up exactly when ICC_HPPIR1_EL1 (ICC_HPPIR0_EL1) names an interrupt whose priority
 * passes ICC_PMR_EL1, whose group is enabled and whose group priority (ICC_BPR*) preempts
 * ICC_RPR_EL1; the running priority is a multiple of 8 or idle; each PrimeCell's line equals
 * its masked interrupt status. Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"
#include "devices/arm-gicv3.h"
#include "devices/pl031.h"
#include "devices/pl061.h"

/* ---- Fakes: clocks and the timer service ---- */

static uint64_t g_mono_ns;

uint64_t vs_clock_ns(void)
{
    return g_mono_ns;
}

static uint64_t fake_realtime_ns(void)
{
    return 1700000000ull * 1000000000ull + g_mono_ns;
}

#define MAX_TIMERS 4
static VsTimer *g_timers[MAX_TIMERS];
static unsigned g_ntimers;

void vs_timer_init(VsTimer *t, VsTimerService *svc, void (*cb)(void *), void *opaque)
{
    t->svc = svc;
    t->cb = cb;
    t->opaque = opaque;
    t->deadline_ns = UINT64_MAX;
    t->next = NULL;
    if (g_ntimers < MAX_TIMERS)
        g_timers[g_ntimers++] = t;
}

void vs_timer_mod(VsTimer *t, uint64_t deadline_ns)
{
    t->deadline_ns = deadline_ns;
}

void vs_timer_del(VsTimer *t)
{
    t->deadline_ns = UINT64_MAX;
}

static void advance_ns(uint64_t ns)
{
    g_mono_ns += ns;
    for (unsigned i = 0; i < g_ntimers; i++) {
        VsTimer *t = g_timers[i];
        if (t->deadline_ns <= g_mono_ns) {
            t->deadline_ns = UINT64_MAX;
            t->cb(t->opaque);
        }
    }
}

/* ---- Outputs ---- */

#define MAXCPU 4
static bool g_irq[MAXCPU], g_fiq[MAXCPU];
static int g_rtc_level, g_gpio_level;

static void gic_output(void *opaque, unsigned cpu, bool irq, bool fiq)
{
    (void)opaque;
    if (cpu >= MAXCPU)
        abort();
    g_irq[cpu] = irq;
    g_fiq[cpu] = fiq;
}

static void rtc_irq(void *opaque, int level)
{
    *(int *)opaque = level;
}

static const unsigned icc_regs[] = {
    ICC_PMR_EL1,     ICC_IAR0_EL1,    ICC_EOIR0_EL1,   ICC_HPPIR0_EL1, ICC_BPR0_EL1,
    ICC_AP0R_EL1(0), ICC_AP1R_EL1(0), ICC_AP1R_EL1(2), ICC_DIR_EL1,    ICC_RPR_EL1,
    ICC_SGI1R_EL1,   ICC_ASGI1R_EL1,  ICC_SGI0R_EL1,   ICC_IAR1_EL1,   ICC_EOIR1_EL1,
    ICC_HPPIR1_EL1,  ICC_BPR1_EL1,    ICC_CTLR_EL1,    ICC_SRE_EL1,    ICC_IGRPEN0_EL1,
    ICC_IGRPEN1_EL1,
};

static void linux_like_init(Gicv3 *g, unsigned ncpus)
{
    const MmioOps *d = &gicv3_dist_mmio_ops, *r = &gicv3_redist_mmio_ops;
    for (unsigned i = 32; i < 32 + GICV3_DEFAULT_NSPIS; i += 32) {
        d->write(g, 0x80 + i / 8, ~0u, 4);
        d->write(g, 0x100 + i / 8, ~0u, 4);
    }
    for (unsigned i = 32; i < 32 + GICV3_DEFAULT_NSPIS; i += 4)
        d->write(g, 0x400 + i, 0xa0a0a0a0, 4);
    d->write(g, 0, 0x13, 4);
    for (unsigned c = 0; c < ncpus; c++) {
        uint64_t rd = c * GICV3_REDIST_STRIDE;
        r->write(g, rd + 0x14, 0, 4);
        r->write(g, rd + 0x10080, ~0u, 4);
        r->write(g, rd + 0x10100, ~0u, 4);
        for (unsigned i = 0; i < 32; i += 4)
            r->write(g, rd + 0x10400 + i, 0xa0a0a0a0, 4);
        gicv3_cpuif_write(g, c, ICC_PMR_EL1, 0xf0);
        gicv3_cpuif_write(g, c, ICC_IGRPEN1_EL1, 1);
    }
}

static uint64_t icc(Gicv3 *g, unsigned cpu, unsigned reg)
{
    uint64_t v = 0;
    if (!gicv3_cpuif_read(g, cpu, reg, &v))
        abort();
    return v;
}

/*
 * Whether the CPU interface should signal the highest-priority pending interrupt of group grp,
 * worked out again from guest-visible registers only (IHI 0069, 4.8: priority mask, group
 * enable, and preemption of the running priority by the group priority per the binary point).
 */
static bool expect_signal(Gicv3 *g, unsigned cpu, unsigned grp)
{
    uint64_t intid = icc(g, cpu, grp ? ICC_HPPIR1_EL1 : ICC_HPPIR0_EL1);
    if (intid == GICV3_INTID_SPURIOUS)
        return false;
    unsigned prio = intid < 32 ? (unsigned)gicv3_redist_mmio_ops.read(
                                     g, cpu * GICV3_REDIST_STRIDE + 0x10400 + intid, 1)
                               : (unsigned)gicv3_dist_mmio_ops.read(g, 0x400 + intid, 1);
    if (prio >= icc(g, cpu, ICC_PMR_EL1) ||
        !(icc(g, cpu, grp ? ICC_IGRPEN1_EL1 : ICC_IGRPEN0_EL1) & 1))
        return false;
    unsigned rpr = (unsigned)icc(g, cpu, ICC_RPR_EL1);
    /* BPR0 n: group priority bits [7:n+1]; BPR1 n (CBPR-adjusted on read): bits [7:n] */
    unsigned mask = grp ? (0xffu << icc(g, cpu, ICC_BPR1_EL1)) & 0xff
                        : (0xffu << (icc(g, cpu, ICC_BPR0_EL1) + 1)) & 0xff;
    return rpr == 0xff || (prio & mask) < (rpr & mask);
}

static void check_invariants(Gicv3 *g, unsigned ncpus, Pl031 *rtc, Pl061 *gpio)
{
    for (unsigned c = 0; c < ncpus; c++) {
        if (g_irq[c] != expect_signal(g, c, 1) || g_fiq[c] != expect_signal(g, c, 0))
            abort();
        uint64_t rpr = icc(g, c, ICC_RPR_EL1);
        if (rpr != 0xff && (rpr & 7))
            abort();
    }
    if (g_rtc_level != (int)pl031_mmio_ops.read(rtc, 0x18, 4))
        abort();
    if (g_gpio_level != (pl061_mmio_ops.read(gpio, 0x418, 1) != 0))
        abort();
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

    g_mono_ns = 0;
    g_ntimers = 0;
    memset(g_irq, 0, sizeof(g_irq));
    memset(g_fiq, 0, sizeof(g_fiq));
    g_rtc_level = g_gpio_level = 0;

    Gicv3 *g = gicv3_new(ncpus, GICV3_DEFAULT_NSPIS);
    if (!g)
        abort();
    for (unsigned c = 0; c < ncpus; c++)
        gicv3_set_output(g, c, gic_output, NULL);
    static VsTimerService svc; /* only its address: the timers are the fakes above */
    Pl031 rtc;
    Pl061 gpio;
    pl031_init(&rtc, &svc, rtc_irq, &g_rtc_level);
    rtc.realtime_ns = fake_realtime_ns;
    pl061_init(&gpio, &svc, rtc_irq, &g_gpio_level);
    linux_like_init(g, ncpus);

    for (; size >= 12; data += 12, size -= 12) {
        unsigned op = data[0] % 14, flags = data[1];
        unsigned asize = flags & 0x80 ? flags % 9 : 1u << (flags & 3); /* mostly valid sizes */
        uint64_t off = le(data + 2, 2), val = le(data + 4, 8);
        unsigned cpu = (unsigned)(val >> 56) % (ncpus + 1); /* sometimes a vCPU that is not */
        uint64_t v;
        switch (op) {
        case 0: (void)gicv3_dist_mmio_ops.read(g, off, asize); break;
        case 1: gicv3_dist_mmio_ops.write(g, off, val, asize); break;
        case 2: (void)gicv3_redist_mmio_ops.read(g, (off << 4) | (flags & 0xf), asize); break;
        case 3: gicv3_redist_mmio_ops.write(g, (off << 4) | (flags & 0xf), val, asize); break;
        case 4:
        case 5: {
            unsigned reg = flags & 0x40 ? (unsigned)off
                                        : icc_regs[off % (sizeof(icc_regs) / sizeof(icc_regs[0]))];
            if (op == 4)
                (void)gicv3_cpuif_read(g, cpu, reg, &v);
            else
                (void)gicv3_cpuif_write(g, cpu, reg, val & 0x00ffffffffffffffull);
            break;
        }
        case 6: gicv3_set_spi(g, (unsigned)off % 300, flags & 1); break;
        case 7: gicv3_set_ppi(g, cpu, (unsigned)off % 20, flags & 1); break;
        case 8: (void)pl031_mmio_ops.read(&rtc, off % 0x1100, asize); break;
        case 9: pl031_mmio_ops.write(&rtc, off % 0x1100, val, asize); break;
        case 10: (void)pl061_mmio_ops.read(&gpio, off % 0x1100, asize); break;
        case 11: pl061_mmio_ops.write(&gpio, off % 0x1100, val, asize); break;
        case 12:
            if (flags & 0x10)
                pl061_press_power_key(&gpio);
            else
                pl061_set_input(&gpio, (unsigned)off % 10, flags & 1);
            break;
        default: advance_ns(val % 4000000000ull); break;
        }
        check_invariants(g, ncpus, &rtc, &gpio);
    }

    pl061_destroy(&gpio);
    pl031_destroy(&rtc);
    gicv3_free(g);
    return 0;
}
