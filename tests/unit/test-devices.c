/* SPDX-License-Identifier: MIT */
/*
 * Platform devices of the riscv64 virt board: PLIC, 16550 UART, SiFive test, CLINT,
 * goldfish RTC. The machine, clock, timers and harts are fakes defined below, so each
 * device runs alone and time only moves when a test says so.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/goldfish-rtc.h"
#include "devices/riscv-aclint.h"
#include "devices/riscv-hart.h"
#include "devices/riscv-plic.h"
#include "devices/sifive-test.h"
#include "devices/uart-16550.h"

/* ---- Test harness ---- */

#include "check.h"

/* ---- Fakes for the modules the devices call ---- */

static uint64_t g_mono_ns = 1000000000ull; /* vs_clock_ns() */
static uint64_t g_wall_ns;                 /* the RTC's host wall clock */

uint64_t vs_clock_ns(void)
{
    return __atomic_load_n(&g_mono_ns, __ATOMIC_SEQ_CST);
}

static uint64_t fake_realtime_ns(void)
{
    return g_wall_ns + g_mono_ns;
}

#define MAX_TIMERS 64
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

static void forget_timers(void)
{
    g_ntimers = 0;
}

/* Move the clock and run the timers that became due, like the timer thread. */
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

static unsigned g_set_irq_calls;

void rv_cpu_set_irq(RvCpu *cpu, unsigned irq, bool level)
{
    __atomic_add_fetch(&g_set_irq_calls, 1, __ATOMIC_SEQ_CST);
    if (level)
        atomic_fetch_or(&cpu->mip, 1ull << irq);
    else
        atomic_fetch_and(&cpu->mip, ~(1ull << irq));
}

static VsStopReason g_stop_reason;
static char g_stop_msg[256];
static unsigned g_resets;

void vs_machine_request_stop(VsMachine *m, VsStopReason reason, const char *fmt, ...)
{
    (void)m;
    va_list ap;
    g_stop_reason = reason;
    va_start(ap, fmt);
    vsnprintf(g_stop_msg, sizeof(g_stop_msg), fmt, ap);
    va_end(ap);
}

void vs_machine_request_reset(VsMachine *m)
{
    (void)m;
    g_resets++;
}

/* A machine with `n` harts (RvCpu) and nothing else. */
#define NHARTS 2
static VsMachine g_machine;
static RvCpu g_harts[NHARTS];
static VsCpu *g_hart_ptrs[NHARTS];

static void machine_setup(void)
{
    memset(&g_machine, 0, sizeof(g_machine));
    memset(g_harts, 0, sizeof(g_harts));
    for (unsigned i = 0; i < NHARTS; i++) {
        g_harts[i].common.index = i;
        g_hart_ptrs[i] = &g_harts[i].common;
    }
    g_machine.cpus = g_hart_ptrs;
    g_machine.ncpus = NHARTS;
}

static bool mip(unsigned hart, unsigned irq)
{
    return (atomic_load(&g_harts[hart].mip) >> irq) & 1;
}

/* Cheap deterministic random numbers for hostile accesses. */
static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* Every size 1..8 (the bus passes 3, 5, 6, 7 too) at each offset; reads and random writes. */
static void hostile(const MmioOps *ops, void *dev, uint64_t from, uint64_t to, uint64_t step)
{
    for (uint64_t off = from; off < to; off += step) {
        for (unsigned size = 1; size <= 8; size++) {
            (void)ops->read(dev, off, size);
            ops->write(dev, off, rnd(), size);
            ops->write(dev, off, 0, size);
            ops->write(dev, off, UINT64_MAX, size);
        }
    }
}

/* ---- PLIC ---- */

static uint32_t plic_rd(RvPlic *p, uint64_t off)
{
    return (uint32_t)plic_mmio_ops.read(p, off, 4);
}

static void plic_wr(RvPlic *p, uint64_t off, uint32_t val)
{
    plic_mmio_ops.write(p, off, val, 4);
}

static void plic_prio(RvPlic *p, unsigned src, uint32_t prio)
{
    plic_wr(p, PLIC_PRIORITY_BASE + 4 * src, prio);
}

static void plic_enable(RvPlic *p, unsigned ctx, unsigned src, bool on)
{
    uint64_t off = PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * ctx + 4 * (src / 32);
    uint32_t w = plic_rd(p, off);
    w = on ? w | (1u << (src % 32)) : w & ~(1u << (src % 32));
    plic_wr(p, off, w);
}

static uint32_t plic_claim(RvPlic *p, unsigned ctx)
{
    return plic_rd(p, PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * ctx + 4);
}

static void plic_complete(RvPlic *p, unsigned ctx, uint32_t id)
{
    plic_wr(p, PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * ctx + 4, id);
}

static void plic_threshold(RvPlic *p, unsigned ctx, uint32_t t)
{
    plic_wr(p, PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * ctx, t);
}

static void test_plic_basic(void)
{
    RvPlic p;
    machine_setup();
    CHECK(!plic_init(&p, &g_machine, 0));
    CHECK(plic_init(&p, &g_machine, NHARTS));

    /* Priorities are 3 bits (WARL); source 0 has none. */
    plic_prio(&p, 5, 0xff);
    CHECK_EQ(plic_rd(&p, 4 * 5), 7);
    plic_prio(&p, 0, 5);
    CHECK_EQ(plic_rd(&p, 0), 0);
    plic_prio(&p, 95, 2);
    CHECK_EQ(plic_rd(&p, 4 * 95), 2);
    plic_prio(&p, 96, 2); /* beyond the last source */
    CHECK_EQ(plic_rd(&p, 4 * 96), 0);

    /* Source 0's enable bit is hardwired to 0. */
    plic_wr(&p, PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * 1, 0xffffffff);
    CHECK_EQ(plic_rd(&p, PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * 1), 0xfffffffe);
    plic_wr(&p, PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * 1, 0);

    /* A line that is not enabled anywhere pends but interrupts nobody. */
    plic_prio(&p, 5, 3);
    plic_set_irq(&p, 5, 1);
    CHECK_EQ(plic_rd(&p, PLIC_PENDING_BASE), 1u << 5);
    CHECK(!mip(0, RV_IRQ_SEI) && !mip(0, RV_IRQ_MEI) && !mip(1, RV_IRQ_SEI));
    /* pending is read-only */
    plic_wr(&p, PLIC_PENDING_BASE, 0);
    CHECK_EQ(plic_rd(&p, PLIC_PENDING_BASE), 1u << 5);

    /* Context 1 = hart 0 S-mode. */
    plic_enable(&p, 1, 5, true);
    CHECK(mip(0, RV_IRQ_SEI));
    CHECK(!mip(0, RV_IRQ_MEI));
    CHECK(!mip(1, RV_IRQ_SEI));

    /* Claim returns the source and clears its pending bit. */
    CHECK_EQ(plic_claim(&p, 1), 5);
    CHECK_EQ(plic_rd(&p, PLIC_PENDING_BASE), 0);
    CHECK(!mip(0, RV_IRQ_SEI));
    CHECK_EQ(plic_claim(&p, 1), 0);

    /* The line is still high: completing re-requests it. */
    plic_complete(&p, 1, 5);
    CHECK(mip(0, RV_IRQ_SEI));
    CHECK_EQ(plic_rd(&p, PLIC_PENDING_BASE), 1u << 5);

    /* Dropping the line before the claim withdraws the request. */
    plic_set_irq(&p, 5, 0);
    CHECK(!mip(0, RV_IRQ_SEI));
    CHECK_EQ(plic_claim(&p, 1), 0);

    /* Claimed, then the line drops: complete leaves nothing pending. */
    plic_set_irq(&p, 5, 1);
    CHECK_EQ(plic_claim(&p, 1), 5);
    plic_set_irq(&p, 5, 0);
    plic_set_irq(&p, 5, 1); /* while claimed: no new request until complete */
    CHECK(!mip(0, RV_IRQ_SEI));
    plic_set_irq(&p, 5, 0);
    plic_complete(&p, 1, 5);
    CHECK(!mip(0, RV_IRQ_SEI));
    CHECK_EQ(plic_claim(&p, 1), 0);

    plic_destroy(&p);
}

static void test_plic_priority(void)
{
    RvPlic p;
    machine_setup();
    CHECK(plic_init(&p, &g_machine, NHARTS));
    unsigned ctx = 1;
    plic_prio(&p, 5, 3);
    plic_prio(&p, 7, 3);
    plic_prio(&p, 9, 5);
    plic_prio(&p, 40, 6);
    plic_prio(&p, 70, 1);
    for (unsigned s = 1; s < PLIC_NUM_SOURCES; s++)
        plic_enable(&p, ctx, s, true);

    plic_set_irq(&p, 7, 1);
    plic_set_irq(&p, 5, 1);
    plic_set_irq(&p, 9, 1);
    plic_set_irq(&p, 40, 1);
    plic_set_irq(&p, 70, 1);
    CHECK_EQ(plic_rd(&p, PLIC_PENDING_BASE), (1u << 5) | (1u << 7) | (1u << 9));
    CHECK_EQ(plic_rd(&p, PLIC_PENDING_BASE + 4), 1u << 8);
    CHECK_EQ(plic_rd(&p, PLIC_PENDING_BASE + 8), 1u << 6);

    /* Highest priority first; equal priorities: lowest id first. */
    CHECK_EQ(plic_claim(&p, ctx), 40);
    CHECK_EQ(plic_claim(&p, ctx), 9);
    CHECK_EQ(plic_claim(&p, ctx), 5);
    CHECK_EQ(plic_claim(&p, ctx), 7);
    CHECK(mip(0, RV_IRQ_SEI)); /* 70 still waiting */
    CHECK_EQ(plic_claim(&p, ctx), 70);
    CHECK(!mip(0, RV_IRQ_SEI));
    CHECK_EQ(plic_claim(&p, ctx), 0);
    for (unsigned s = 1; s < PLIC_NUM_SOURCES; s++) {
        plic_set_irq(&p, s, 0);
        plic_complete(&p, ctx, s);
    }

    /* Threshold: only priorities strictly above it are delivered. */
    plic_set_irq(&p, 5, 1); /* priority 3 */
    CHECK(mip(0, RV_IRQ_SEI));
    plic_threshold(&p, ctx, 3);
    CHECK_EQ(plic_rd(&p, PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * ctx), 3);
    CHECK(!mip(0, RV_IRQ_SEI));
    CHECK_EQ(plic_claim(&p, ctx), 0);
    plic_set_irq(&p, 9, 1); /* priority 5 gets through */
    CHECK(mip(0, RV_IRQ_SEI));
    CHECK_EQ(plic_claim(&p, ctx), 9);
    CHECK(!mip(0, RV_IRQ_SEI));
    plic_threshold(&p, ctx, 0xff); /* masked to 7: everything blocked */
    CHECK_EQ(plic_rd(&p, PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * ctx), 7);
    plic_threshold(&p, ctx, 2);
    CHECK(mip(0, RV_IRQ_SEI));
    CHECK_EQ(plic_claim(&p, ctx), 5);

    /* Priority 0 never interrupts. */
    plic_prio(&p, 11, 0);
    plic_threshold(&p, ctx, 0);
    plic_set_irq(&p, 11, 1);
    CHECK(!mip(0, RV_IRQ_SEI));
    CHECK_EQ(plic_claim(&p, ctx), 0);
    /* Raising its priority delivers it at once. */
    plic_prio(&p, 11, 1);
    CHECK(mip(0, RV_IRQ_SEI));

    plic_destroy(&p);
}

static void test_plic_contexts(void)
{
    RvPlic p;
    machine_setup();
    CHECK(plic_init(&p, &g_machine, NHARTS));
    plic_prio(&p, 10, 1);

    /* Context 0: hart 0 M-mode; 3: hart 1 S-mode. */
    plic_enable(&p, 0, 10, true);
    plic_enable(&p, 3, 10, true);
    plic_set_irq(&p, 10, 1);
    CHECK(mip(0, RV_IRQ_MEI));
    CHECK(!mip(0, RV_IRQ_SEI));
    CHECK(mip(1, RV_IRQ_SEI));
    CHECK(!mip(1, RV_IRQ_MEI));

    /* One claim serves both contexts. */
    CHECK_EQ(plic_claim(&p, 3), 10);
    CHECK(!mip(0, RV_IRQ_MEI));
    CHECK(!mip(1, RV_IRQ_SEI));
    CHECK_EQ(plic_claim(&p, 0), 0);

    /* Completing from a context that does not enable the source is ignored. */
    plic_complete(&p, 1, 10);
    CHECK(!mip(1, RV_IRQ_SEI));
    CHECK_EQ(plic_claim(&p, 3), 0);
    /* Out-of-range ids are ignored too. */
    plic_complete(&p, 3, 0);
    plic_complete(&p, 3, 96);
    plic_complete(&p, 3, 0xffffffff);
    CHECK_EQ(plic_claim(&p, 3), 0);
    plic_complete(&p, 3, 10);
    CHECK(mip(0, RV_IRQ_MEI));
    CHECK(mip(1, RV_IRQ_SEI));

    /* Disabling the source lowers the output. */
    plic_enable(&p, 0, 10, false);
    CHECK(!mip(0, RV_IRQ_MEI));
    CHECK(mip(1, RV_IRQ_SEI));

    /* A reset hart gets the current level back. */
    atomic_store(&g_harts[1].mip, 0);
    plic_sync_hart(&p, 1);
    CHECK(mip(1, RV_IRQ_SEI));
    plic_sync_hart(&p, 99);

    /* Contexts beyond the harts do not exist. */
    plic_wr(&p, PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * 4, 0xffffffff);
    CHECK_EQ(plic_rd(&p, PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * 4), 0);
    CHECK_EQ(plic_claim(&p, 4), 0);
    CHECK_EQ(plic_claim(&p, 1023), 0);

    /* Reset: configuration cleared, the still-high line pending again. */
    plic_reset(&p);
    CHECK(!mip(1, RV_IRQ_SEI));
    CHECK_EQ(plic_rd(&p, 4 * 10), 0);
    CHECK_EQ(plic_rd(&p, PLIC_PENDING_BASE), 1u << 10);

    plic_destroy(&p);
}

static void test_plic_hostile(void)
{
    RvPlic p;
    machine_setup();
    CHECK(plic_init(&p, &g_machine, NHARTS));
    plic_set_irq(&p, 0, 1);
    plic_set_irq(&p, 96, 1);
    plic_set_irq(&p, 0xffffffff, 1);
    CHECK_EQ(plic_rd(&p, PLIC_PENDING_BASE), 0);
    CHECK_EQ(plic_rd(&p, PLIC_PENDING_BASE + 12), 0);

    for (unsigned s = 1; s < PLIC_NUM_SOURCES; s += 7)
        plic_set_irq(&p, s, 1);
    hostile(&plic_mmio_ops, &p, 0, 0x3100, 1);
    hostile(&plic_mmio_ops, &p, 0x1ffff0, 0x206010, 3);
    hostile(&plic_mmio_ops, &p, PLIC_MMIO_SIZE - 0x20, PLIC_MMIO_SIZE + 0x10, 1);
    for (int i = 0; i < 20000; i++) {
        uint64_t off = rnd() % (PLIC_MMIO_SIZE + 0x100);
        unsigned size = 1u << (rnd() % 4);
        if (rnd() & 1)
            (void)plic_mmio_ops.read(&p, off, size);
        else
            plic_mmio_ops.write(&p, off, rnd(), size);
    }
    /* Sub-word accesses never reach a register. */
    plic_mmio_ops.write(&p, 4 * 3, 5, 1);
    plic_mmio_ops.write(&p, 4 * 3, 5, 8);
    plic_mmio_ops.write(&p, 4 * 3 + 2, 5, 4);
    plic_prio(&p, 3, 0);
    plic_mmio_ops.write(&p, 4 * 3, 5, 2);
    CHECK_EQ(plic_rd(&p, 4 * 3), 0);
    CHECK_EQ(plic_mmio_ops.read(&p, 4 * 3, 2), 0);
    plic_destroy(&p);
}

typedef struct PlicStress {
    RvPlic *p;
    unsigned source;
} PlicStress;

static void *plic_stress_thread(void *arg)
{
    PlicStress *s = arg;
    for (int i = 0; i < 20000; i++)
        plic_set_irq(s->p, s->source, i & 1);
    plic_set_irq(s->p, s->source, 1);
    return NULL;
}

/* Lines driven from several threads while a hart claims and completes. */
static void test_plic_threads(void)
{
    RvPlic p;
    machine_setup();
    CHECK(plic_init(&p, &g_machine, NHARTS));
    PlicStress s[3] = { { &p, 3 }, { &p, 10 }, { &p, 64 } };
    for (unsigned i = 0; i < 3; i++) {
        plic_prio(&p, s[i].source, 1 + i);
        plic_enable(&p, 1, s[i].source, true);
    }
    pthread_t th[3];
    for (unsigned i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, plic_stress_thread, &s[i]);
    for (int i = 0; i < 20000; i++) {
        uint32_t id = plic_claim(&p, 1);
        if (id)
            plic_complete(&p, 1, id);
    }
    for (unsigned i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    /* All three lines end high; drain them in priority order. */
    uint32_t a = plic_claim(&p, 1), b = plic_claim(&p, 1), c = plic_claim(&p, 1);
    CHECK_EQ(a, 64);
    CHECK_EQ(b, 10);
    CHECK_EQ(c, 3);
    CHECK_EQ(plic_claim(&p, 1), 0);
    CHECK(!mip(0, RV_IRQ_SEI));
    plic_destroy(&p);
}

/* ---- UART ---- */

enum {
    RBR = 0,
    THR = 0,
    DLL = 0,
    IER = 1,
    DLM = 1,
    IIR = 2,
    FCR = 2,
    LCR = 3,
    MCR = 4,
    LSR = 5,
    MSR = 6,
    SCR = 7
};

static uint8_t g_tx[8192];
static size_t g_tx_len;
static int g_uart_irq;
static unsigned g_uart_irq_changes;

static void uart_tx_cb(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    for (size_t i = 0; i < len && g_tx_len < sizeof(g_tx); i++)
        g_tx[g_tx_len++] = buf[i];
}

static void uart_irq_cb(void *opaque, int level)
{
    (void)opaque;
    g_uart_irq = level;
    g_uart_irq_changes++;
}

static uint8_t u_rd(Uart16550 *u, unsigned reg)
{
    return (uint8_t)uart16550_mmio_ops.read(u, reg, 1);
}

static void u_wr(Uart16550 *u, unsigned reg, uint8_t val)
{
    uart16550_mmio_ops.write(u, reg, val, 1);
}

static void uart_setup(Uart16550 *u)
{
    g_tx_len = 0;
    g_uart_irq = 0;
    g_uart_irq_changes = 0;
    uart16550_init(u, uart_irq_cb, NULL, uart_tx_cb, NULL);
}

static void test_uart_registers(void)
{
    Uart16550 u;
    uart_setup(&u);

    /* Power-on values (as QEMU). */
    CHECK_EQ(u_rd(&u, LSR), 0x60);
    CHECK_EQ(u_rd(&u, IIR), 0x01);
    CHECK_EQ(u_rd(&u, IER), 0);
    CHECK_EQ(u_rd(&u, LCR), 0);
    CHECK_EQ(u_rd(&u, MCR), 0x08);
    CHECK_EQ(u_rd(&u, MSR), 0xb0);
    CHECK_EQ(g_uart_irq, 0);

    /* Transmit. */
    u_wr(&u, THR, 'h');
    u_wr(&u, THR, 'i');
    CHECK_EQ(g_tx_len, 2);
    CHECK(memcmp(g_tx, "hi", 2) == 0);
    CHECK_EQ(u_rd(&u, LSR) & 0x60, 0x60);

    /* Divisor latch. */
    u_wr(&u, IER, 0x05);
    u_wr(&u, LCR, 0x83);
    u_wr(&u, DLL, 0x02);
    u_wr(&u, DLM, 0x01);
    CHECK_EQ(u_rd(&u, DLL), 0x02);
    CHECK_EQ(u_rd(&u, DLM), 0x01);
    CHECK_EQ(g_tx_len, 2); /* no byte went out while DLAB was set */
    u_wr(&u, LCR, 0x03);
    CHECK_EQ(u_rd(&u, LCR), 0x03);
    CHECK_EQ(u_rd(&u, IER), 0x05);
    u_wr(&u, IER, 0xff);
    CHECK_EQ(u_rd(&u, IER), 0x0f);
    u_wr(&u, IER, 0);

    /* Scratch, MCR. */
    u_wr(&u, SCR, 0xa5);
    CHECK_EQ(u_rd(&u, SCR), 0xa5);
    u_wr(&u, MCR, 0xff);
    CHECK_EQ(u_rd(&u, MCR), 0x1f);
    /* Loopback: modem outputs come back as inputs, bytes come back as input. */
    CHECK_EQ(u_rd(&u, MSR), 0xf0);
    u_wr(&u, MCR, 0x10 | 0x02);
    CHECK_EQ(u_rd(&u, MSR), 0x10);
    u_wr(&u, THR, 'L');
    CHECK_EQ(g_tx_len, 2);
    CHECK_EQ(u_rd(&u, LSR) & 1, 1);
    CHECK_EQ(u_rd(&u, RBR), 'L');
    u_wr(&u, MCR, 0x08);
    CHECK_EQ(u_rd(&u, MSR), 0xb0);

    /* LSR and MSR are read-only. */
    u_wr(&u, LSR, 0);
    u_wr(&u, MSR, 0);
    CHECK_EQ(u_rd(&u, LSR), 0x60);
    CHECK_EQ(u_rd(&u, MSR), 0xb0);

    uart16550_destroy(&u);
}

static void test_uart_fifo(void)
{
    Uart16550 u;
    uart_setup(&u);

    CHECK_EQ(uart16550_receive(&u, (const uint8_t *)"abc", 3), 3);
    CHECK_EQ(uart16550_receive(&u, NULL, 3), 0);
    CHECK_EQ(u_rd(&u, LSR), 0x61);
    CHECK_EQ(g_uart_irq, 0); /* IER.RDI is off */
    CHECK_EQ(u_rd(&u, RBR), 'a');
    CHECK_EQ(u_rd(&u, RBR), 'b');
    CHECK_EQ(u_rd(&u, RBR), 'c');
    CHECK_EQ(u_rd(&u, LSR), 0x60);
    CHECK_EQ(u_rd(&u, RBR), 'c'); /* empty: the last byte again, no underflow */
    CHECK_EQ(u_rd(&u, LSR), 0x60);

    /* The FIFO is bounded and says how much it took. */
    static uint8_t big[UART16550_RX_FIFO_SIZE + 100];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)i;
    CHECK_EQ(uart16550_receive(&u, big, sizeof(big)), UART16550_RX_FIFO_SIZE);
    CHECK_EQ(uart16550_receive(&u, big, 1), 0);
    for (size_t i = 0; i < UART16550_RX_FIFO_SIZE; i++) {
        if (u_rd(&u, RBR) != (uint8_t)i) {
            CHECK(!"FIFO order");
            break;
        }
    }
    CHECK_EQ(u_rd(&u, LSR) & 1, 0);

    /* FCR: enabling FIFOs shows in IIR bits 7:6; clearing RX drops pending bytes. */
    u_wr(&u, FCR, 0x07);
    CHECK_EQ(u_rd(&u, IIR), 0xc1);
    uart16550_receive(&u, (const uint8_t *)"xyz", 3);
    u_wr(&u, FCR, 0x03);
    CHECK_EQ(u_rd(&u, LSR) & 1, 0);
    uart16550_receive(&u, (const uint8_t *)"q", 1);
    u_wr(&u, FCR, 0x00); /* leaving FIFO mode flushes too */
    CHECK_EQ(u_rd(&u, LSR) & 1, 0);
    CHECK_EQ(u_rd(&u, IIR), 0x01);

    /* Reset drops input. */
    uart16550_receive(&u, (const uint8_t *)"q", 1);
    uart16550_reset(&u);
    CHECK_EQ(u_rd(&u, LSR), 0x60);
    uart16550_destroy(&u);
}

static void test_uart_interrupts(void)
{
    Uart16550 u;
    uart_setup(&u);

    /* Enabling THRI with THR empty raises it; reading IIR acknowledges it. */
    u_wr(&u, IER, 0x02);
    CHECK_EQ(g_uart_irq, 1);
    CHECK_EQ(u_rd(&u, IIR), 0x02);
    CHECK_EQ(g_uart_irq, 0);
    CHECK_EQ(u_rd(&u, IIR), 0x01);

    /* Linux's 8250 THRE test: IER off and on again re-raises it. */
    u_wr(&u, IER, 0x00);
    u_wr(&u, IER, 0x02);
    CHECK_EQ(u_rd(&u, IIR), 0x02);

    /* Each transmitted byte empties THR again. */
    u_wr(&u, THR, 'x');
    CHECK_EQ(g_uart_irq, 1);
    CHECK_EQ(u_rd(&u, IIR), 0x02);
    CHECK_EQ(g_uart_irq, 0);

    /* RX data outranks THRE. */
    u_wr(&u, IER, 0x03);
    u_wr(&u, THR, 'y');
    uart16550_receive(&u, (const uint8_t *)"ab", 2);
    CHECK_EQ(g_uart_irq, 1);
    CHECK_EQ(u_rd(&u, IIR), 0x04);
    CHECK_EQ(u_rd(&u, IIR), 0x04); /* reading IIR does not acknowledge RX data */
    (void)u_rd(&u, RBR);
    (void)u_rd(&u, RBR);
    CHECK_EQ(u_rd(&u, IIR), 0x02); /* THRE was still waiting */
    CHECK_EQ(u_rd(&u, IIR), 0x01);
    CHECK_EQ(g_uart_irq, 0);

    /* FIFO mode: below the trigger level the data shows as a character timeout. */
    u_wr(&u, FCR, 0xc1); /* trigger 14 */
    uart16550_receive(&u, (const uint8_t *)"abc", 3);
    CHECK_EQ(u_rd(&u, IIR), 0xcc);
    CHECK_EQ(g_uart_irq, 1);
    uart16550_receive(&u, (const uint8_t *)"defghijklmnop", 13);
    CHECK_EQ(u_rd(&u, IIR), 0xc4);
    u_wr(&u, FCR, 0xc3);
    CHECK_EQ(u_rd(&u, IIR), 0xc1);
    CHECK_EQ(g_uart_irq, 0);

    /* Masking RDI lowers the line with data still there. */
    uart16550_receive(&u, (const uint8_t *)"z", 1);
    CHECK_EQ(g_uart_irq, 1);
    u_wr(&u, IER, 0x00);
    CHECK_EQ(g_uart_irq, 0);
    CHECK_EQ(u_rd(&u, LSR) & 1, 1);

    /* The level is only reported when it changes. */
    unsigned before = g_uart_irq_changes;
    u_wr(&u, SCR, 1);
    u_wr(&u, SCR, 2);
    CHECK_EQ(g_uart_irq_changes, before);
    uart16550_destroy(&u);
}

static void test_uart_hostile(void)
{
    Uart16550 u;
    uart_setup(&u);

    /* Wider accesses reach the register at their offset and use the low byte. */
    uart16550_mmio_ops.write(&u, THR, 0x1234567841ull, 8);
    CHECK_EQ(g_tx_len, 1);
    CHECK_EQ(g_tx[0], 0x41);
    CHECK_EQ(uart16550_mmio_ops.read(&u, LSR, 4), 0x60);
    CHECK_EQ(uart16550_mmio_ops.read(&u, LSR, 8), 0x60);
    uart16550_mmio_ops.write(&u, SCR, 0xffffff5a, 4);
    CHECK_EQ(uart16550_mmio_ops.read(&u, SCR, 2), 0x5a);
    /* Beyond the eight registers: nothing. */
    for (uint64_t off = 8; off < UART16550_MMIO_SIZE; off++)
        CHECK_EQ(uart16550_mmio_ops.read(&u, off, 1), 0);
    CHECK_EQ(uart16550_mmio_ops.read(&u, 0xffffffffffffull, 8), 0);

    uart16550_receive(&u, (const uint8_t *)"hostile", 7);
    hostile(&uart16550_mmio_ops, &u, 0, UART16550_MMIO_SIZE + 8, 1);
    for (int i = 0; i < 50000; i++) {
        uint64_t off = rnd() % 16;
        unsigned size = 1 + (unsigned)(rnd() % 8);
        if (rnd() & 1) {
            (void)uart16550_mmio_ops.read(&u, off, size);
        } else {
            uart16550_mmio_ops.write(&u, off, rnd(), size);
        }
        if ((i & 1023) == 0)
            uart16550_receive(&u, (const uint8_t *)"0123456789", 10);
    }
    /* Whatever the guest did, reset brings it back. */
    uart16550_reset(&u);
    CHECK_EQ(u_rd(&u, LSR), 0x60);
    CHECK_EQ(u_rd(&u, IIR), 0x01);
    CHECK_EQ(g_uart_irq, 0);
    uart16550_destroy(&u);
}

typedef struct UartFeeder {
    Uart16550 *u;
    size_t total;
} UartFeeder;

static void *uart_feeder(void *arg)
{
    UartFeeder *f = arg;
    size_t sent = 0;
    while (sent < f->total) {
        uint8_t buf[37];
        size_t n = f->total - sent < sizeof(buf) ? f->total - sent : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)(sent + i);
        sent += uart16550_receive(f->u, buf, n);
    }
    return NULL;
}

/* A listener that echoes output straight back as input (no deadlock). */
static void uart_echo_tx(void *opaque, const uint8_t *buf, size_t len)
{
    uart16550_receive(opaque, buf, len);
}

static void test_uart_echo(void)
{
    Uart16550 u;
    uart16550_init(&u, NULL, NULL, uart_echo_tx, &u);
    uart16550_mmio_ops.write(&u, THR, 'e', 1);
    CHECK_EQ(uart16550_mmio_ops.read(&u, LSR, 1), 0x61);
    CHECK_EQ(uart16550_mmio_ops.read(&u, RBR, 1), 'e');
    uart16550_destroy(&u);
}

/* The stdin thread feeds while a vCPU drains: every byte arrives once, in order. */
static void test_uart_threads(void)
{
    Uart16550 u;
    uart_setup(&u);
    u_wr(&u, IER, 0x01);
    UartFeeder f = { &u, 200000 };
    pthread_t th;
    pthread_create(&th, NULL, uart_feeder, &f);
    size_t got = 0;
    bool in_order = true;
    while (got < f.total) {
        if (uart16550_mmio_ops.read(&u, LSR, 1) & 1) {
            uint8_t b = (uint8_t)uart16550_mmio_ops.read(&u, RBR, 1);
            if (b != (uint8_t)got)
                in_order = false;
            got++;
        }
    }
    pthread_join(th, NULL);
    CHECK(in_order);
    CHECK_EQ(got, f.total);
    CHECK_EQ(u_rd(&u, LSR) & 1, 0);
    CHECK_EQ(g_uart_irq, 0);
    uart16550_destroy(&u);
}

/* ---- SiFive test ---- */

static void test_sifive_test(void)
{
    SifiveTest t;
    sifive_test_init(&t, &g_machine);

    g_stop_reason = VS_STOP_NONE;
    sifive_test_mmio_ops.write(&t, 0, 0x1234, 4);
    sifive_test_mmio_ops.write(&t, 4, 0x5555, 4);
    sifive_test_mmio_ops.write(&t, 0, 0x55, 1);
    CHECK_EQ(g_stop_reason, VS_STOP_NONE);
    CHECK_EQ(g_resets, 0);

    sifive_test_mmio_ops.write(&t, 0, 0x5555, 4);
    CHECK_EQ(g_stop_reason, VS_STOP_POWEROFF);

    g_stop_reason = VS_STOP_NONE;
    sifive_test_mmio_ops.write(&t, 0, (42u << 16) | 0x3333, 4);
    CHECK_EQ(g_stop_reason, VS_STOP_GUEST_CRASH);
    CHECK(strstr(g_stop_msg, "42") != NULL);

    g_stop_reason = VS_STOP_NONE;
    sifive_test_mmio_ops.write(&t, 0, 0x7777, 4);
    CHECK_EQ(g_resets, 1);
    CHECK_EQ(g_stop_reason, VS_STOP_NONE);

    /* 16-bit and 64-bit writes carry the command too (the upper 32 bits are ignored). */
    sifive_test_mmio_ops.write(&t, 0, 0x7777, 2);
    CHECK_EQ(g_resets, 2);
    sifive_test_mmio_ops.write(&t, 0, 0xdead000000005555ull, 8);
    CHECK_EQ(g_stop_reason, VS_STOP_POWEROFF);

    CHECK_EQ(sifive_test_mmio_ops.read(&t, 0, 4), 0);
    g_stop_reason = VS_STOP_NONE;
    for (uint64_t off = 1; off < SIFIVE_TEST_MMIO_SIZE; off++)
        for (unsigned size = 1; size <= 8; size++)
            sifive_test_mmio_ops.write(&t, off, 0x5555, size);
    CHECK_EQ(g_stop_reason, VS_STOP_NONE);
}

/* ---- CLINT ---- */

static uint64_t c_rd(RvAclint *c, uint64_t off, unsigned size)
{
    return aclint_mmio_ops.read(c, off, size);
}

static void c_wr(RvAclint *c, uint64_t off, uint64_t val, unsigned size)
{
    aclint_mmio_ops.write(c, off, val, size);
}

static void test_clint(void)
{
    RvAclint c;
    machine_setup();
    forget_timers();
    CHECK(!aclint_init(&c, &g_machine, 0));
    CHECK(aclint_init(&c, &g_machine, NHARTS));

    /* mtime: 10 MHz from the host clock since creation. */
    CHECK_EQ(c_rd(&c, ACLINT_MTIME, 8), 0);
    advance_ns(1000);
    CHECK_EQ(c_rd(&c, ACLINT_MTIME, 8), 10);
    CHECK_EQ(aclint_read_mtime(&c), 10);
    advance_ns(99);
    CHECK_EQ(aclint_read_mtime(&c), 10);
    advance_ns(1);
    CHECK_EQ(aclint_read_mtime(&c), 11);
    CHECK_EQ(c_rd(&c, ACLINT_MTIME, 4), 11);
    CHECK_EQ(c_rd(&c, ACLINT_MTIME + 4, 4), 0);

    /* mtimecmp starts at all ones: no timer interrupt. */
    CHECK_EQ(c_rd(&c, ACLINT_MTIMECMP_BASE, 8), UINT64_MAX);
    CHECK(!mip(0, RV_IRQ_MTI) && !mip(1, RV_IRQ_MTI));
    CHECK_EQ(c.harts[0].timer.deadline_ns, UINT64_MAX);

    /* A deadline 100 ticks ahead arms the timer for exactly 10 us from now. */
    uint64_t t0 = g_mono_ns;
    c_wr(&c, ACLINT_MTIMECMP_BASE, 111, 8);
    CHECK_EQ(c_rd(&c, ACLINT_MTIMECMP_BASE, 8), 111);
    CHECK(!mip(0, RV_IRQ_MTI));
    CHECK_EQ(c.harts[0].timer.deadline_ns, t0 + 100 * 100);
    advance_ns(100 * 100 - 1);
    CHECK(!mip(0, RV_IRQ_MTI));
    advance_ns(1);
    CHECK(mip(0, RV_IRQ_MTI));
    CHECK(!mip(1, RV_IRQ_MTI));
    CHECK_EQ(aclint_read_mtime(&c), 111);

    /* Moving mtimecmp ahead lowers MTIP at once; back to the past raises it at once. */
    c_wr(&c, ACLINT_MTIMECMP_BASE, 1000, 8);
    CHECK(!mip(0, RV_IRQ_MTI));
    c_wr(&c, ACLINT_MTIMECMP_BASE, 5, 8);
    CHECK(mip(0, RV_IRQ_MTI));
    CHECK_EQ(c.harts[0].timer.deadline_ns, UINT64_MAX);

    /* 32-bit halves, the way RV32 code writes it: high = ~0 first, then low, then high. */
    c_wr(&c, ACLINT_MTIMECMP_BASE + 8 + 4, 0xffffffff, 4);
    c_wr(&c, ACLINT_MTIMECMP_BASE + 8, 200, 4);
    CHECK(!mip(1, RV_IRQ_MTI));
    c_wr(&c, ACLINT_MTIMECMP_BASE + 8 + 4, 0, 4);
    CHECK_EQ(c_rd(&c, ACLINT_MTIMECMP_BASE + 8, 8), 200);
    CHECK_EQ(c_rd(&c, ACLINT_MTIMECMP_BASE + 8 + 4, 4), 0);
    CHECK_EQ(c_rd(&c, ACLINT_MTIMECMP_BASE + 8, 4), 200);
    CHECK(!mip(1, RV_IRQ_MTI));
    advance_ns((200 - 111) * 100);
    CHECK(mip(1, RV_IRQ_MTI));

    /* A deadline too far away to compute in host ns never arms. */
    c_wr(&c, ACLINT_MTIMECMP_BASE + 8, UINT64_MAX - 1, 8);
    CHECK(!mip(1, RV_IRQ_MTI));
    CHECK_EQ(c.harts[1].timer.deadline_ns, UINT64_MAX);

    /* Writing mtime moves time for every hart. */
    c_wr(&c, ACLINT_MTIMECMP_BASE, 1000000, 8);
    CHECK(!mip(0, RV_IRQ_MTI));
    c_wr(&c, ACLINT_MTIME, 999990, 8);
    CHECK_EQ(aclint_read_mtime(&c), 999990);
    CHECK(!mip(0, RV_IRQ_MTI));
    CHECK_EQ(c.harts[0].timer.deadline_ns, g_mono_ns + 10 * 100);
    advance_ns(1000);
    CHECK(mip(0, RV_IRQ_MTI));
    c_wr(&c, ACLINT_MTIME + 4, 0, 4); /* high half only: still 1000000 */
    CHECK_EQ(aclint_read_mtime(&c), 1000000);
    c_wr(&c, ACLINT_MTIME, 0, 8);
    CHECK_EQ(aclint_read_mtime(&c), 0);
    CHECK(!mip(0, RV_IRQ_MTI));
    CHECK_EQ(c.harts[0].timer.deadline_ns, g_mono_ns + 1000000ull * 100);

    /* A timer armed for an older mtimecmp does not raise MTIP early. */
    c.harts[1].timer.deadline_ns = g_mono_ns; /* stale */
    c_wr(&c, ACLINT_MTIMECMP_BASE + 8, 500, 4);
    c_wr(&c, ACLINT_MTIMECMP_BASE + 8 + 4, 0, 4);
    c.harts[1].timer.deadline_ns = g_mono_ns;
    advance_ns(0);
    CHECK(!mip(1, RV_IRQ_MTI));

    /* MSIP: bit 0 only, per hart. */
    c_wr(&c, 4, 0xffffffff, 4);
    CHECK(mip(1, RV_IRQ_MSI));
    CHECK(!mip(0, RV_IRQ_MSI));
    CHECK_EQ(c_rd(&c, 4, 4), 1);
    c_wr(&c, 4, 0xfffffffe, 4);
    CHECK(!mip(1, RV_IRQ_MSI));
    c_wr(&c, 0, 1, 1);
    CHECK(mip(0, RV_IRQ_MSI));
    c_wr(&c, 8, 1, 4); /* no hart 2 */
    CHECK_EQ(c_rd(&c, 8, 4), 0);

    /* The levels come back after a hart reset. */
    atomic_store(&g_harts[0].mip, 0);
    aclint_sync_hart(&c, 0);
    CHECK(mip(0, RV_IRQ_MSI));
    aclint_sync_hart(&c, 5);

    /* Straddling registers or odd sizes: ignored. */
    c_wr(&c, 2, 0, 4);
    CHECK(mip(0, RV_IRQ_MSI));
    c_wr(&c, ACLINT_MTIMECMP_BASE + 4, 0, 8);
    CHECK_EQ(c_rd(&c, ACLINT_MTIMECMP_BASE, 8), 1000000);
    CHECK_EQ(c_rd(&c, ACLINT_MTIMECMP_BASE + 4, 8), 0);
    c_wr(&c, ACLINT_MTIMECMP_BASE, 0, 3);
    CHECK_EQ(c_rd(&c, ACLINT_MTIMECMP_BASE, 8), 1000000);

    /* Reset: mtime from 0, everything quiet. */
    aclint_reset(&c);
    CHECK_EQ(aclint_read_mtime(&c), 0);
    CHECK(!mip(0, RV_IRQ_MSI) && !mip(0, RV_IRQ_MTI) && !mip(1, RV_IRQ_MTI));
    CHECK_EQ(c_rd(&c, ACLINT_MTIMECMP_BASE, 8), UINT64_MAX);

    hostile(&aclint_mmio_ops, &c, 0, 0x20, 1);
    hostile(&aclint_mmio_ops, &c, ACLINT_MTIMECMP_BASE - 8, ACLINT_MTIMECMP_BASE + 0x20, 1);
    hostile(&aclint_mmio_ops, &c, ACLINT_MTIME - 8, ACLINT_MMIO_SIZE + 8, 1);
    for (int i = 0; i < 20000; i++) {
        uint64_t off = rnd() % ACLINT_MMIO_SIZE;
        unsigned size = 1 + (unsigned)(rnd() % 8);
        if (rnd() & 1)
            (void)c_rd(&c, off, size);
        else
            c_wr(&c, off, rnd(), size);
        advance_ns(rnd() % 1000);
    }
    aclint_destroy(&c);
}

/* ---- Goldfish RTC ---- */

static int g_rtc_irq;

static void rtc_irq_cb(void *opaque, int level)
{
    (void)opaque;
    g_rtc_irq = level;
}

static uint32_t r_rd(GoldfishRtc *r, uint64_t off)
{
    return (uint32_t)goldfish_rtc_mmio_ops.read(r, off, 4);
}

static void r_wr(GoldfishRtc *r, uint64_t off, uint32_t val)
{
    goldfish_rtc_mmio_ops.write(r, off, val, 4);
}

static uint64_t r_time(GoldfishRtc *r)
{
    uint32_t lo = r_rd(r, 0x00);
    return (uint64_t)r_rd(r, 0x04) << 32 | lo;
}

static void test_rtc(void)
{
    GoldfishRtc r;
    forget_timers();
    g_wall_ns = 0x1700000000000000ull - g_mono_ns;
    goldfish_rtc_init(&r, NULL, rtc_irq_cb, NULL);
    r.realtime_ns = fake_realtime_ns;

    /* Reading TIME_LOW latches TIME_HIGH. */
    uint64_t now = fake_realtime_ns();
    uint32_t lo = r_rd(&r, 0x00);
    g_wall_ns += 1ull << 33; /* the clock moves on */
    CHECK_EQ(lo, (uint32_t)now);
    CHECK_EQ(r_rd(&r, 0x04), now >> 32);
    CHECK_EQ(r_time(&r), fake_realtime_ns());

    /* Setting the time: high half then low half (as Linux does); the clock keeps running. */
    r_wr(&r, 0x04, 0x12);
    r_wr(&r, 0x00, 0x34567890);
    CHECK_EQ(r_time(&r), 0x1234567890ull);
    advance_ns(5000);
    CHECK_EQ(r_time(&r), 0x1234567890ull + 5000);

    /* Alarm in 1 ms with the interrupt enabled. */
    r_wr(&r, 0x10, 1);
    CHECK_EQ(r_rd(&r, 0x10), 1);
    uint64_t alarm = r_time(&r) + 1000000;
    r_wr(&r, 0x0c, (uint32_t)(alarm >> 32));
    CHECK_EQ(r_rd(&r, 0x18), 0); /* ALARM_HIGH alone does not arm */
    r_wr(&r, 0x08, (uint32_t)alarm);
    CHECK_EQ(r_rd(&r, 0x18), 1);
    CHECK_EQ((uint64_t)r_rd(&r, 0x0c) << 32 | r_rd(&r, 0x08), alarm);
    CHECK_EQ(r.timer.deadline_ns, g_mono_ns + 1000000);
    advance_ns(999999);
    CHECK_EQ(g_rtc_irq, 0);
    advance_ns(1);
    CHECK_EQ(g_rtc_irq, 1);
    CHECK_EQ(r_rd(&r, 0x18), 0);
    r_wr(&r, 0x1c, 1);
    CHECK_EQ(g_rtc_irq, 0);

    /* An alarm in the past fires at once; IRQ_ENABLED gates the line. */
    r_wr(&r, 0x10, 0);
    r_wr(&r, 0x0c, 0);
    r_wr(&r, 0x08, 5);
    CHECK_EQ(g_rtc_irq, 0);
    CHECK_EQ(r_rd(&r, 0x18), 0);
    r_wr(&r, 0x10, 1);
    CHECK_EQ(g_rtc_irq, 1);
    r_wr(&r, 0x1c, 1);
    CHECK_EQ(g_rtc_irq, 0);

    /* CLEAR_ALARM disarms; a stale timer finds nothing to do. */
    alarm = r_time(&r) + 1000;
    r_wr(&r, 0x0c, (uint32_t)(alarm >> 32));
    r_wr(&r, 0x08, (uint32_t)alarm);
    CHECK_EQ(r_rd(&r, 0x18), 1);
    r_wr(&r, 0x14, 1);
    CHECK_EQ(r_rd(&r, 0x18), 0);
    CHECK_EQ(r.timer.deadline_ns, UINT64_MAX);
    r.timer.deadline_ns = g_mono_ns;
    advance_ns(2000);
    CHECK_EQ(g_rtc_irq, 0);

    /* A timer armed for an earlier alarm does not fire a later one early. */
    alarm = r_time(&r) + 1000000;
    r_wr(&r, 0x0c, (uint32_t)(alarm >> 32));
    r_wr(&r, 0x08, (uint32_t)alarm);
    r.timer.deadline_ns = g_mono_ns;
    advance_ns(0);
    CHECK_EQ(g_rtc_irq, 0);
    CHECK_EQ(r_rd(&r, 0x18), 1);

    /* An alarm at the end of time never overflows the host deadline. */
    r_wr(&r, 0x0c, 0xffffffff);
    r_wr(&r, 0x08, 0xffffffff);
    CHECK_EQ(r_rd(&r, 0x18), 1);
    CHECK(r.timer.deadline_ns >= g_mono_ns);

    /* Extreme times: no signed overflow anywhere (UBSan watches). */
    r_wr(&r, 0x04, 0xffffffff);
    r_wr(&r, 0x00, 0xffffffff);
    r_wr(&r, 0x04, 0);
    r_wr(&r, 0x00, 0);
    r_wr(&r, 0x04, 0x80000000);
    (void)r_time(&r);

    goldfish_rtc_reset(&r);
    CHECK_EQ(g_rtc_irq, 0);
    CHECK_EQ(r_rd(&r, 0x18), 0);
    CHECK_EQ(r_rd(&r, 0x10), 0);

    hostile(&goldfish_rtc_mmio_ops, &r, 0, 0x40, 1);
    hostile(&goldfish_rtc_mmio_ops, &r, GOLDFISH_RTC_MMIO_SIZE - 8, GOLDFISH_RTC_MMIO_SIZE + 8, 1);
    advance_ns(1ull << 40);
    goldfish_rtc_destroy(&r);
}

int main(void)
{
    machine_setup();
    test_plic_basic();
    test_plic_priority();
    test_plic_contexts();
    test_plic_hostile();
    test_plic_threads();
    test_uart_registers();
    test_uart_fifo();
    test_uart_interrupts();
    test_uart_hostile();
    test_uart_echo();
    test_uart_threads();
    test_sifive_test();
    test_clint();
    test_rtc();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
