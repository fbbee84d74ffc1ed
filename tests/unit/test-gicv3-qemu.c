/* SPDX-License-Identifier: MIT */
/*
 * Differential test of the GICv3 model against QEMU's: the script in gicv3-probe/ops.h runs
 * as a bare-metal program (gicv3-probe/probe.c) on qemu-system-aarch64 -M virt and on the
 * model here; every read must give the same value, except the bits the script marks as
 * known differences. QEMU is only the oracle.
 *
 * Usage: test-gicv3-qemu PROBE.ELF QEMU-BINARY. Exits 77 (skip) when QEMU is missing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/arm-gicv3.h"
#include "gicv3-probe/ops.h"

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

#define NCPUS 2

/* The value each read op gives on Vessel's model; UINT64_MAX for ops that do not read. */
static void run_model(uint64_t *out)
{
    Gicv3 *g = gicv3_new(NCPUS, GICV3_DEFAULT_NSPIS);
    CHECK(g != NULL);
    if (!g)
        return;
    uint64_t redist_end = GICR(0) + gicv3_redist_size(NCPUS);
    for (unsigned i = 0; i < PROBE_NOPS; i++) {
        const ProbeOp *op = &probe_ops[i];
        const MmioOps *ops = &gicv3_redist_mmio_ops;
        uint64_t off = op->addr - GICR(0);
        if (op->addr >= GICD && op->addr < GICD + GICV3_DIST_SIZE) {
            ops = &gicv3_dist_mmio_ops;
            off = op->addr - GICD;
        }
        out[i] = UINT64_MAX;
        switch (op->kind) {
        case P_RD:
            CHECK(ops == &gicv3_dist_mmio_ops || op->addr < redist_end);
            out[i] = ops->read(g, off, op->size);
            break;
        case P_WR: ops->write(g, off, op->val, op->size); break;
        case P_SYSR: CHECK(gicv3_cpuif_read(g, 0, icc_encoding[op->addr], &out[i])); break;
        case P_SYSW: CHECK(gicv3_cpuif_write(g, 0, icc_encoding[op->addr], op->val)); break;
        default: gicv3_set_ppi(g, 0, GICV3_PPI_VIRT_TIMER, op->val != 0); break;
        }
    }
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
    printf("%u reads compared; %d passed, %d failed\n", reads, g_pass, g_fail);
    return g_fail ? 1 : 0;
}
