/* SPDX-License-Identifier: MIT */
/*
 * Differential test of the arm64 virt board's GICv3, PL031 and PL061 models against QEMU's:
 * the script in virt-probe/ops.h runs as a bare-metal program (virt-probe/probe.c) on
 * qemu-system-aarch64 -M virt and on the models here, wired as QEMU virt wires them (PL031 to
 * SPI 2, PL061 to SPI 7); every read must give the same value, except the bits the script
 * marks as known differences. QEMU is only the oracle.
 *
 * Usage: test-arm-virt-qemu PROBE.ELF QEMU-BINARY. Exits 77 (skip) when QEMU is missing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/arm-gicv3.h"
#include "devices/pl031.h"
#include "devices/pl061.h"
#include "virt-probe/ops.h"

#include "check.h"

static const unsigned icc_encoding[] = {
    [S_PMR] = ICC_PMR_EL1,         [S_IAR0] = ICC_IAR0_EL1,     [S_EOIR0] = ICC_EOIR0_EL1,
    [S_HPPIR0] = ICC_HPPIR0_EL1,   [S_BPR0] = ICC_BPR0_EL1,     [S_AP0R0] = ICC_AP0R_EL1(0),
    [S_AP1R0] = ICC_AP1R_EL1(0),   [S_DIR] = ICC_DIR_EL1,       [S_RPR] = ICC_RPR_EL1,
    [S_SGI1R] = ICC_SGI1R_EL1,     [S_SGI0R] = ICC_SGI0R_EL1,   [S_IAR1] = ICC_IAR1_EL1,
    [S_EOIR1] = ICC_EOIR1_EL1,     [S_HPPIR1] = ICC_HPPIR1_EL1, [S_BPR1] = ICC_BPR1_EL1,
    [S_CTLR] = ICC_CTLR_EL1,       [S_SRE] = ICC_SRE_EL1,       [S_IGRPEN0] = ICC_IGRPEN0_EL1,
    [S_IGRPEN1] = ICC_IGRPEN1_EL1,
};

#define NCPUS    2
#define RTC_SPI  2 /* QEMU virt's interrupt map */
#define GPIO_SPI 7

/* Timer fakes: the script never lets the PL031 match or the power key timer fire. */
uint64_t vs_clock_ns(void)
{
    return 0;
}

void vs_timer_init(VsTimer *t, VsTimerService *svc, void (*cb)(void *), void *opaque)
{
    memset(t, 0, sizeof(*t));
    t->svc = svc;
    t->cb = cb;
    t->opaque = opaque;
    t->deadline_ns = UINT64_MAX;
}

void vs_timer_mod(VsTimer *t, uint64_t deadline_ns)
{
    t->deadline_ns = deadline_ns;
}

void vs_timer_del(VsTimer *t)
{
    t->deadline_ns = UINT64_MAX;
}

static Gicv3 *g_gic;

static void rtc_irq(void *opaque, int level)
{
    (void)opaque;
    gicv3_set_spi(g_gic, RTC_SPI, level);
}

static void gpio_irq(void *opaque, int level)
{
    (void)opaque;
    gicv3_set_spi(g_gic, GPIO_SPI, level);
}

/* The value each read op gives on Vessel's models; UINT64_MAX for ops that do not read. */
static void run_model(uint64_t *out)
{
    Gicv3 *g = gicv3_new(NCPUS, GICV3_DEFAULT_NSPIS);
    CHECK(g != NULL);
    if (!g)
        return;
    g_gic = g;
    static Pl031 rtc;
    static Pl061 gpio;
    pl031_init(&rtc, NULL, rtc_irq, NULL);
    pl061_init(&gpio, NULL, gpio_irq, NULL);

    for (unsigned i = 0; i < PROBE_NOPS; i++) {
        const ProbeOp *op = &probe_ops[i];
        const MmioOps *ops = NULL;
        void *dev = g;
        uint64_t off = 0;
        if (op->addr >= GICD && op->addr < GICD + GICV3_DIST_SIZE) {
            ops = &gicv3_dist_mmio_ops;
            off = op->addr - GICD;
        } else if (op->addr >= GICR(0) && op->addr < GICR(0) + gicv3_redist_size(NCPUS)) {
            ops = &gicv3_redist_mmio_ops;
            off = op->addr - GICR(0);
        } else if (op->addr >= RTC && op->addr < RTC + PL031_MMIO_SIZE) {
            ops = &pl031_mmio_ops;
            dev = &rtc;
            off = op->addr - RTC;
        } else if (op->addr >= GPIO && op->addr < GPIO + PL061_MMIO_SIZE) {
            ops = &pl061_mmio_ops;
            dev = &gpio;
            off = op->addr - GPIO;
        }
        out[i] = UINT64_MAX;
        switch (op->kind) {
        case P_RD:
            CHECK(ops != NULL);
            if (ops)
                out[i] = ops->read(dev, off, op->size);
            break;
        case P_WR:
            CHECK(ops != NULL);
            if (ops)
                ops->write(dev, off, op->val, op->size);
            break;
        case P_SYSR: CHECK(gicv3_cpuif_read(g, 0, icc_encoding[op->addr], &out[i])); break;
        case P_SYSW: CHECK(gicv3_cpuif_write(g, 0, icc_encoding[op->addr], op->val)); break;
        default: gicv3_set_ppi(g, 0, GICV3_PPI_VIRT_TIMER, op->val != 0); break;
        }
    }
    pl061_destroy(&gpio);
    pl031_destroy(&rtc);
    gicv3_free(g);
}

/* Run the probe on QEMU; fill out[] from its "index value" lines. False when it failed. */
static bool run_qemu(const char *qemu, const char *elf, uint64_t *out)
{
    char cmd[4096];
    int n = snprintf(cmd, sizeof(cmd),
                     "timeout 60 '%s' -M virt,gic-version=3,its=off -cpu cortex-a72 -smp %d "
                     "-m 128M -nographic -monitor none -serial stdio -kernel '%s' </dev/null",
                     qemu, NCPUS, elf);
    if (n < 0 || (size_t)n >= sizeof(cmd) || strchr(qemu, '\'') || strchr(elf, '\''))
        return false;
    FILE *p = popen(cmd, "r");
    if (!p) {
        fprintf(stderr, "cannot run %s: %s\n", qemu, strerror(errno));
        return false;
    }
    for (unsigned i = 0; i < PROBE_NOPS; i++)
        out[i] = UINT64_MAX;
    char line[256];
    bool ended = false;
    while (fgets(line, sizeof(line), p)) {
        unsigned idx;
        uint64_t v;
        if (strcmp(line, "END\n") == 0)
            ended = true;
        else if (sscanf(line, "%u %" SCNx64, &idx, &v) == 2 && idx < PROBE_NOPS)
            out[idx] = v;
    }
    int st = pclose(p);
    if (!ended || st != 0) {
        fprintf(stderr, "QEMU run of %s did not finish (status %d)\n", elf, st);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PROBE.ELF QEMU-BINARY\n", argv[0]);
        return 2;
    }
    if (!argv[2][0] || access(argv[2], X_OK) != 0) {
        printf("SKIP: qemu-system-aarch64 not found (package qemu-system-arm)\n");
        return 77;
    }
    static uint64_t want[PROBE_NOPS], got[PROBE_NOPS];
    CHECK(run_qemu(argv[2], argv[1], want));
    run_model(got);

    unsigned reads = 0;
    for (unsigned i = 0; i < PROBE_NOPS; i++) {
        const ProbeOp *op = &probe_ops[i];
        if (op->kind != P_RD && op->kind != P_SYSR)
            continue;
        reads++;
        uint64_t keep = ~op->ignore;
        if ((want[i] & keep) == (got[i] & keep)) {
            g_pass++;
        } else {
            g_fail++;
            fprintf(stderr,
                    "op %u (%s 0x%" PRIx64 "): QEMU 0x%" PRIx64 ", Vessel 0x%" PRIx64
                    " (ignoring 0x%" PRIx64 ")\n",
                    i, op->kind == P_RD ? "read" : "sysreg", op->addr, want[i], got[i], op->ignore);
        }
    }
    printf("%u reads compared; %d checks passed, %d failed\n", reads, g_pass, g_fail);
    return g_fail ? 1 : 0;
}
