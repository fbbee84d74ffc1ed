/* SPDX-License-Identifier: MIT */
/*
 * The PrimeCell devices of the arm64 virt board: PL031 RTC and PL061 GPIO, driven through
 * their MMIO ops with the register sequences of Linux's rtc-pl031 and gpio-pl061/gpio-keys
 * drivers, then by random hostile accesses. Clock and timers are fakes defined below, so
 * time only moves when a test says so.
 */
#include <stdio.h>
#include <string.h>

#include "devices/pl031.h"
#include "devices/pl061.h"

#include "check.h"

/* ---- Fakes: monotonic clock, wall clock, timer service ---- */

static uint64_t g_mono_ns = 5000000000ull; /* vs_clock_ns() */
static uint64_t g_wall_ns;                 /* host wall clock = g_wall_ns + g_mono_ns */

uint64_t vs_clock_ns(void)
{
    return g_mono_ns;
}

static uint64_t fake_realtime_ns(void)
{
    return g_wall_ns + g_mono_ns;
}

/* Make the host wall clock read `sec` seconds and `ns` nanoseconds now. */
static void set_wall(uint64_t sec, uint64_t ns)
{
    g_wall_ns = sec * 1000000000ull + ns - g_mono_ns;
}

#define MAX_TIMERS 8
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

/* Move the clocks and run the timers that became due, like the timer thread. */
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

static int g_level;
static unsigned g_edges; /* output changes */

static void set_irq(void *opaque, int level)
{
    CHECK(opaque == &g_level);
    g_level = level;
    g_edges++;
}

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* ---- PL031 ---- */

static uint32_t rtc_rd(Pl031 *r, uint64_t off)
{
    return (uint32_t)pl031_mmio_ops.read(r, off, 4);
}

static void rtc_wr(Pl031 *r, uint64_t off, uint32_t v)
{
    pl031_mmio_ops.write(r, off, v, 4);
}

enum { DR = 0x0, MR = 0x4, LR = 0x8, CR = 0xc, IMSC = 0x10, RIS = 0x14, MIS = 0x18, ICR = 0x1c };

/* rtc-pl031's pl031_set_alarm + pl031_alarm_irq_enable. */
static void linux_set_alarm(Pl031 *r, uint32_t when, bool enabled)
{
    rtc_wr(r, MR, when);
    uint32_t imsc = rtc_rd(r, IMSC);
    if (enabled) {
        rtc_wr(r, ICR, 1);
        rtc_wr(r, IMSC, imsc | 1);
    } else {
        rtc_wr(r, IMSC, imsc & ~1u);
    }
}

/* rtc-pl031's pl031_interrupt: returns whether the alarm was handled. */
static bool linux_rtc_irq(Pl031 *r)
{
    if (!(rtc_rd(r, MIS) & 1))
        return false;
    rtc_wr(r, ICR, 1);
    return true;
}

/* Each test's device lives on its stack: drop the previous test's timers. */
static void forget_timers(void)
{
    g_ntimers = 0;
}

static void pl031_setup(Pl031 *r)
{
    forget_timers();
    g_level = 0;
    g_edges = 0;
    pl031_init(r, NULL, set_irq, &g_level);
    r->realtime_ns = fake_realtime_ns;
}

static void test_pl031_probe_and_time(void)
{
    Pl031 r;
    set_wall(1700000000, 250000000);
    pl031_setup(&r);

    /* The AMBA bus reads the IDs from the top of the region (amba_device_try_add). */
    uint32_t pid = 0, cid = 0;
    for (unsigned i = 0; i < 4; i++) {
        pid |= (rtc_rd(&r, 0xfe0 + 4 * i) & 0xff) << (8 * i);
        cid |= (rtc_rd(&r, 0xff0 + 4 * i) & 0xff) << (8 * i);
    }
    CHECK_EQ(pid & 0x000fffff, 0x00041031); /* rtc-pl031's amba_id for the ARM part */
    CHECK_EQ(cid, 0xb105f00d);
    /* UEFI's PL031RealTimeClockLib (IdentifyPL031) reads the same IDs a byte at a time. */
    static const uint8_t edk2_cell[4] = { 0x0d, 0xf0, 0x05, 0xb1 };
    static const uint8_t edk2_periph[4] = { 0x31, 0x10, 0x04, 0x00 };
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(pl031_mmio_ops.read(&r, 0xff0 + 4 * i, 1), edk2_cell[i]);
        CHECK_EQ(pl031_mmio_ops.read(&r, 0xfe0 + 4 * i, 1) & (i == 2 ? 0xf : 0xff), edk2_periph[i]);
    }

    /* Probe enables the RTC; it already runs on the host clock. */
    rtc_wr(&r, CR, rtc_rd(&r, CR) | 1);
    CHECK_EQ(rtc_rd(&r, CR), 1);
    CHECK_EQ(rtc_rd(&r, DR), 1700000000);

    /* set_time / read_time */
    rtc_wr(&r, LR, 1000);
    CHECK_EQ(rtc_rd(&r, DR), 1000);
    CHECK_EQ(rtc_rd(&r, LR), 1000);
    advance_ns(700000000); /* x.95 */
    CHECK_EQ(rtc_rd(&r, DR), 1000);
    advance_ns(100000000); /* crosses the second */
    CHECK_EQ(rtc_rd(&r, DR), 1001);
    advance_ns(3000000000ull);
    CHECK_EQ(rtc_rd(&r, DR), 1004);
    rtc_wr(&r, DR, 5); /* read-only */
    CHECK_EQ(rtc_rd(&r, DR), 1004);
    /* Narrow reads at a register's offset see its low bytes. */
    CHECK_EQ(pl031_mmio_ops.read(&r, DR, 2), 1004);
    CHECK_EQ(pl031_mmio_ops.read(&r, DR, 1), 1004 & 0xff);
    CHECK_EQ(pl031_mmio_ops.read(&r, CR, 1), 1);
    /* The counter wraps at 2^32 seconds. */
    rtc_wr(&r, LR, 0xffffffff);
    advance_ns(1000000000);
    CHECK_EQ(rtc_rd(&r, DR), 0);
    CHECK_EQ(g_edges, 0);
    pl031_destroy(&r);
}

static void test_pl031_alarm(void)
{
    Pl031 r;
    set_wall(1700000000, 600000000);
    pl031_setup(&r);
    rtc_wr(&r, LR, 5000);

    linux_set_alarm(&r, 5003, true);
    CHECK_EQ(rtc_rd(&r, MR), 5003);
    CHECK_EQ(rtc_rd(&r, IMSC), 1);
    /* The counter reaches 5003 in 2.4 s. */
    advance_ns(2399000000ull);
    CHECK_EQ(g_level, 0);
    CHECK_EQ(rtc_rd(&r, RIS), 0);
    advance_ns(1000000);
    CHECK_EQ(rtc_rd(&r, DR), 5003);
    CHECK_EQ(g_level, 1);
    CHECK_EQ(rtc_rd(&r, RIS), 1);
    CHECK(linux_rtc_irq(&r));
    CHECK_EQ(g_level, 0);
    CHECK_EQ(rtc_rd(&r, RIS), 0);
    CHECK(!linux_rtc_irq(&r));

    /* Masked: the raw status rises, the line does not. */
    linux_set_alarm(&r, 5005, false);
    advance_ns(2000000000ull);
    CHECK_EQ(rtc_rd(&r, RIS), 1);
    CHECK_EQ(rtc_rd(&r, MIS), 0);
    CHECK_EQ(g_level, 0);
    rtc_wr(&r, IMSC, 1); /* unmasking a pending match raises the line */
    CHECK_EQ(g_level, 1);
    rtc_wr(&r, ICR, 1);
    CHECK_EQ(g_level, 0);

    /* A match equal to the counter fires at once; one in the past does not fire. */
    rtc_wr(&r, MR, rtc_rd(&r, DR));
    CHECK_EQ(g_level, 1);
    rtc_wr(&r, ICR, 1);
    rtc_wr(&r, MR, rtc_rd(&r, DR) - 10);
    advance_ns(100ull * 1000000000ull);
    CHECK_EQ(g_level, 0);

    /* Loading the counter moves a pending match with it. */
    rtc_wr(&r, MR, 9000);
    rtc_wr(&r, LR, 8999);
    advance_ns(1000000000ull);
    CHECK_EQ(g_level, 1);
    rtc_wr(&r, ICR, 1);

    /* Reset: match and mask cleared, line low, the clock keeps its time. */
    linux_set_alarm(&r, rtc_rd(&r, DR) + 2, true);
    uint32_t t = rtc_rd(&r, DR);
    pl031_reset(&r);
    CHECK_EQ(rtc_rd(&r, MR), 0);
    CHECK_EQ(rtc_rd(&r, IMSC), 0);
    CHECK_EQ(rtc_rd(&r, DR), t);
    advance_ns(5000000000ull);
    CHECK_EQ(rtc_rd(&r, RIS), 0); /* the old alarm was disarmed */
    CHECK_EQ(g_level, 0);
    pl031_destroy(&r);
}

static void test_pl031_hostile(void)
{
    Pl031 r;
    pl031_setup(&r);
    for (uint64_t off = 0; off < PL031_MMIO_SIZE + 16; off++)
        for (unsigned size = 0; size <= 8; size++) {
            (void)pl031_mmio_ops.read(&r, off, size);
            if (off != ICR || size != 4) /* keep the line state checkable below */
                pl031_mmio_ops.write(&r, off, rnd(), size);
        }
    for (unsigned i = 0; i < 100000; i++) {
        uint64_t x = rnd();
        pl031_mmio_ops.write(&r, (x >> 8) % 0x1100, rnd(), 1u << (x & 3));
        (void)pl031_mmio_ops.read(&r, (x >> 24) % 0x1100, 1u << ((x >> 4) & 3));
        if (!(x & 0xf000))
            advance_ns(rnd() % 3000000000ull);
    }
    CHECK_EQ(g_level, rtc_rd(&r, MIS));
    CHECK_EQ(rtc_rd(&r, CR), 1);
    CHECK_EQ(rtc_rd(&r, 0xfe0), 0x31);
    CHECK_EQ(pl031_mmio_ops.read(&r, 0x2, 2), 0); /* misaligned / narrow: RAZ */
    pl031_destroy(&r);
}

/* ---- PL061 ---- */

static uint8_t gpio_rd(Pl061 *g, uint64_t off)
{
    return (uint8_t)pl061_mmio_ops.read(g, off, 1); /* gpio-pl061 uses readb/writeb */
}

static void gpio_wr(Pl061 *g, uint64_t off, uint8_t v)
{
    pl061_mmio_ops.write(g, off, v, 1);
}

enum {
    GDIR = 0x400,
    GIS = 0x404,
    GIBE = 0x408,
    GIEV = 0x40c,
    GIE = 0x410,
    GRIS = 0x414,
    GMIS = 0x418,
    GIC = 0x41c
};

static void pl061_setup(Pl061 *g)
{
    forget_timers();
    g_level = 0;
    g_edges = 0;
    pl061_init(g, NULL, set_irq, &g_level);
}

/* gpio-pl061 probe, pin 3 as input (gpio-keys), irq type EDGE_BOTH, unmask. */
static void linux_gpio_keys_setup(Pl061 *g)
{
    uint32_t pid = 0;
    for (unsigned i = 0; i < 4; i++)
        pid |= (uint32_t)(pl061_mmio_ops.read(g, 0xfe0 + 4 * i, 4) & 0xff) << (8 * i);
    CHECK_EQ(pid & 0x000fffff, 0x00041061); /* gpio-pl061's amba_id */
    gpio_wr(g, GIE, 0);
    unsigned bit = 1u << PL061_POWER_KEY_PIN;
    gpio_wr(g, GDIR, gpio_rd(g, GDIR) & ~bit);
    gpio_wr(g, GIS, gpio_rd(g, GIS) & ~bit);  /* edge */
    gpio_wr(g, GIBE, gpio_rd(g, GIBE) | bit); /* both edges */
    gpio_wr(g, GIE, gpio_rd(g, GIE) | bit);
}

/* pl061_irq_handler + irq_ack for each pending pin; returns the pending mask. */
static uint8_t linux_gpio_irq(Pl061 *g)
{
    uint8_t pending = gpio_rd(g, GMIS);
    for (unsigned pin = 0; pin < 8; pin++)
        if (pending & (1u << pin))
            gpio_wr(g, GIC, 1u << pin);
    return pending;
}

/* gpio-keys reads the key through the address-masked data register. */
static bool key_value(Pl061 *g)
{
    return gpio_rd(g, (1u << PL061_POWER_KEY_PIN) << 2) != 0;
}

static void test_pl061_power_key(void)
{
    static VsTimerService svc; /* only its address: timers are the fakes above */
    Pl061 g;
    forget_timers();
    g_level = 0;
    g_edges = 0;
    pl061_init(&g, &svc, set_irq, &g_level);
    linux_gpio_keys_setup(&g);
    CHECK_EQ(g_level, 0);
    CHECK(!key_value(&g));

    pl061_press_power_key(&g);
    CHECK_EQ(g_level, 1);
    CHECK_EQ(gpio_rd(&g, GRIS), 1u << 3);
    CHECK_EQ(linux_gpio_irq(&g), 1u << 3);
    CHECK_EQ(g_level, 0);
    CHECK(key_value(&g));      /* pressed */
    pl061_press_power_key(&g); /* held: ignored */
    CHECK_EQ(g_level, 0);

    advance_ns(PL061_KEY_HOLD_NS - 1);
    CHECK(key_value(&g));
    advance_ns(1); /* released: the falling edge interrupts too */
    CHECK_EQ(g_level, 1);
    CHECK_EQ(linux_gpio_irq(&g), 1u << 3);
    CHECK(!key_value(&g));
    CHECK_EQ(g_level, 0);

    /* A second request is a second press. */
    pl061_press_power_key(&g);
    CHECK_EQ(g_level, 1);
    CHECK_EQ(linux_gpio_irq(&g), 1u << 3);
    advance_ns(PL061_KEY_HOLD_NS);
    CHECK_EQ(linux_gpio_irq(&g), 1u << 3);
    CHECK_EQ(g_edges, 8);
    pl061_destroy(&g);
}

static void test_pl061_registers(void)
{
    Pl061 g;
    pl061_setup(&g);

    /* Data: the address mask selects pins; only outputs take writes. */
    gpio_wr(&g, GDIR, 0x0f);
    gpio_wr(&g, 0x3fc, 0xff);
    CHECK_EQ(gpio_rd(&g, 0x3fc), 0x0f);
    gpio_wr(&g, 0x3 << 2, 0x00); /* clear pins 0 and 1 only */
    CHECK_EQ(gpio_rd(&g, 0x3fc), 0x0c);
    CHECK_EQ(gpio_rd(&g, 0x4 << 2), 0x04);
    CHECK_EQ(gpio_rd(&g, 0x1 << 2), 0x00);
    pl061_set_input(&g, 7, true);
    pl061_set_input(&g, 1, true); /* pin 1 is an output: the input is not seen */
    CHECK_EQ(gpio_rd(&g, 0x3fc), 0x8c);
    CHECK_EQ(pl061_mmio_ops.read(&g, 0x3fc, 4), 0x8c); /* word access works too */
    /* Output pins 0 and 1 fell above: not edges. An input's edge latches whatever the mask
     * (GPIOIEV 0: falling). */
    CHECK_EQ(gpio_rd(&g, GRIS), 0);
    pl061_set_input(&g, 6, true);
    pl061_set_input(&g, 6, false);
    CHECK_EQ(gpio_rd(&g, GRIS), 0x40);
    CHECK_EQ(g_level, 0);
    gpio_wr(&g, GIC, 0xff);

    /* Rising edge only on pin 7: the falling edge does not interrupt. */
    gpio_wr(&g, GIEV, 0x80);
    gpio_wr(&g, GIE, 0x80);
    pl061_set_input(&g, 7, false);
    CHECK_EQ(g_level, 0);
    pl061_set_input(&g, 7, true);
    CHECK_EQ(g_level, 1);
    CHECK_EQ(gpio_rd(&g, GMIS), 0x80);
    gpio_wr(&g, GIE, 0);
    CHECK_EQ(g_level, 0);
    CHECK_EQ(gpio_rd(&g, GRIS), 0x80); /* masked but still latched */
    gpio_wr(&g, GIC, 0x80);
    CHECK_EQ(gpio_rd(&g, GRIS), 0);

    /* Level, active low, on input pin 5: follows the pin; GPIOIC does not clear it. */
    gpio_wr(&g, GIS, 0x20);
    gpio_wr(&g, GIEV, 0x00);
    gpio_wr(&g, GIE, 0x20);
    CHECK_EQ(g_level, 1); /* pin 5 is low */
    gpio_wr(&g, GIC, 0xff);
    CHECK_EQ(g_level, 1);
    pl061_set_input(&g, 5, true);
    CHECK_EQ(g_level, 0);

    /* An output pin's own writes are not edges; its level does count for level sense. */
    gpio_wr(&g, GIS, 0);
    gpio_wr(&g, GIBE, 0x01);
    gpio_wr(&g, GIE, 0x01);
    gpio_wr(&g, 0x1 << 2, 0x01);
    CHECK_EQ(g_level, 0);
    CHECK_EQ(gpio_rd(&g, GRIS), 0);
    gpio_wr(&g, GIS, 0x01);
    gpio_wr(&g, GIEV, 0x01);
    CHECK_EQ(g_level, 1); /* pin 0 is driven high */
    gpio_wr(&g, 0x1 << 2, 0x00);
    CHECK_EQ(g_level, 0);
    gpio_wr(&g, GIS, 0);
    gpio_wr(&g, GIEV, 0);

    /* A write to an input pin is not remembered for when it becomes an output. */
    gpio_wr(&g, 0x80 << 2, 0x80);
    gpio_wr(&g, GDIR, 0x8f);
    CHECK_EQ(gpio_rd(&g, 0x80 << 2), 0x00);
    gpio_wr(&g, GDIR, 0x0f);
    gpio_wr(&g, GIC, 0xff); /* pin 7 just fell and rose: forget those edges */

    gpio_wr(&g, 0x420, 0x5a);
    CHECK_EQ(gpio_rd(&g, 0x420), 0x5a);
    CHECK_EQ(gpio_rd(&g, 0xff0), 0x0d);
    /* Reset: all inputs, interrupts off; pin inputs stay. */
    pl061_reset(&g);
    CHECK_EQ(gpio_rd(&g, GDIR), 0);
    CHECK_EQ(gpio_rd(&g, 0x3fc), 0xa2); /* inputs 7, 5 and 1 */
    CHECK_EQ(g_level, 0);
    pl061_set_input(&g, 8, true); /* no such pin */
    pl061_set_input(&g, ~0u, true);
    CHECK_EQ(gpio_rd(&g, 0x3fc), 0xa2);
    pl061_destroy(&g);
}

static void test_pl061_hostile(void)
{
    Pl061 g;
    pl061_setup(&g);
    for (uint64_t off = 0; off < PL061_MMIO_SIZE + 16; off++)
        for (unsigned size = 0; size <= 8; size++) {
            (void)pl061_mmio_ops.read(&g, off, size);
            pl061_mmio_ops.write(&g, off, rnd(), size);
        }
    for (unsigned i = 0; i < 100000; i++) {
        uint64_t x = rnd();
        pl061_mmio_ops.write(&g, (x >> 8) % 0x1100, rnd(), 1u << (x & 3));
        (void)pl061_mmio_ops.read(&g, (x >> 24) % 0x1100, 1u << ((x >> 4) & 3));
        pl061_set_input(&g, (x >> 40) % 10, (x >> 50) & 1);
    }
    CHECK_EQ(g_level, gpio_rd(&g, GMIS) != 0);
    CHECK_EQ(pl061_mmio_ops.read(&g, 0x401, 1), 0);
    CHECK_EQ(pl061_mmio_ops.read(&g, 0x400, 8), 0);
    pl061_destroy(&g);
}

int main(void)
{
    test_pl031_probe_and_time();
    test_pl031_alarm();
    test_pl031_hostile();
    test_pl061_power_key();
    test_pl061_registers();
    test_pl061_hostile();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
