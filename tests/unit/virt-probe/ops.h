/* SPDX-License-Identifier: MIT */
/*
 * One script of accesses to the arm64 virt board's GICv3, PL031 and PL061, run twice: by
 * probe.c as a bare-metal program on qemu-system-aarch64 -M virt,gic-version=3,its=off (the
 * reference), and by test-arm-virt-qemu.c on Vessel's models. Every read prints "index value"; the
 * two outputs must match except for the bits an op lists in `ignore` (documented differences, see
 * there). vCPU 0 runs the script with interrupts masked, so acknowledging never takes an exception;
 * vCPU 1 stays powered off and is only seen through its redistributor.
 */
#ifndef VESSEL_VIRT_PROBE_OPS_H
#define VESSEL_VIRT_PROBE_OPS_H

#include <stdint.h>

enum { P_RD, P_WR, P_SYSR, P_SYSW, P_VTIMER };

/* CPU interface registers the script uses (probe.c and the test map them to encodings). */
enum {
    S_PMR,
    S_IAR0,
    S_EOIR0,
    S_HPPIR0,
    S_BPR0,
    S_AP0R0,
    S_AP1R0,
    S_DIR,
    S_RPR,
    S_SGI1R,
    S_SGI0R,
    S_IAR1,
    S_EOIR1,
    S_HPPIR1,
    S_BPR1,
    S_CTLR,
    S_SRE,
    S_IGRPEN0,
    S_IGRPEN1,
};

typedef struct ProbeOp {
    uint8_t kind, size; /* size: MMIO access bytes */
    uint64_t addr;      /* MMIO address, or S_* for system registers */
    uint64_t val;       /* written value; P_VTIMER: line level */
    uint64_t ignore;    /* bits of a read that may differ from QEMU */
} ProbeOp;

#define GICD    0x08000000ull
#define GICR(c) (0x080a0000ull + (uint64_t)(c)*0x20000)
#define GICS(c) (GICR(c) + 0x10000)
#define RTC     0x09010000ull
#define GPIO    0x09030000ull

#define RD(a)              \
    {                      \
        P_RD, 4, (a), 0, 0 \
    }
#define RDI(a, i)            \
    {                        \
        P_RD, 4, (a), 0, (i) \
    }
#define RD8(a)             \
    {                      \
        P_RD, 1, (a), 0, 0 \
    }
#define RDI8(a, i)           \
    {                        \
        P_RD, 1, (a), 0, (i) \
    }
#define RD64(a)            \
    {                      \
        P_RD, 8, (a), 0, 0 \
    }
#define RD64I(a, i)          \
    {                        \
        P_RD, 8, (a), 0, (i) \
    }
#define WR(a, v)             \
    {                        \
        P_WR, 4, (a), (v), 0 \
    }
#define WR8(a, v)            \
    {                        \
        P_WR, 1, (a), (v), 0 \
    }
#define WR64(a, v)           \
    {                        \
        P_WR, 8, (a), (v), 0 \
    }
#define SR(r)                \
    {                        \
        P_SYSR, 0, (r), 0, 0 \
    }
#define SRI(r, i)              \
    {                          \
        P_SYSR, 0, (r), 0, (i) \
    }
#define SW(r, v)               \
    {                          \
        P_SYSW, 0, (r), (v), 0 \
    }
#define VTIMER(l)              \
    {                          \
        P_VTIMER, 0, 0, (l), 0 \
    }

/*
 * Known differences (QEMU 7.2), each masked on the reads that show it:
 *  - A3V (GICD_TYPER bit 24, ICC_CTLR_EL1 bit 15): QEMU accepts a non-zero Aff3; we report
 *    that we do not (every vCPU has Aff3 = 0).
 *  - LPIs: QEMU's virt GIC reports them (GICD_TYPER.LPIS bit 17, GICR_TYPER.PLPIS bit 0 and
 *    CommonLPIAff bits 25:24, GICR_CTLR.CES bit 1) even with its=off; we have none.
 *  - ICC_CTLR_EL1.IDbits (bits 13:11): QEMU says 24-bit INTIDs there while its GICD_TYPER
 *    says 16; we say 16 in both.
 *  - GICD_IROUTER.IRM (bit 31): QEMU keeps it although GICD_TYPER.No1N = 1; we make it
 *    RAZ/WI.
 *  - GICD_IPRIORITYR: QEMU keeps all 8 bits; we keep the 5 implemented ones (the rest are
 *    RAZ/WI, IHI 0069 4.8.1).
 *  - PL061 level-sensitive interrupts: QEMU keeps a matched level in GPIORIS until GPIOIC;
 *    the TRM (DDI 0190: GPIOIC clears the edge detection logic) and we show the current
 *    level. The two reads after a level stops matching mask those pins.
 * The PL031 counter runs on wall-clock time, so the script reads no RTCDR value and sets no
 * match that depends on one.
 */
#define TYPER_DIFF  ((1ull << 24) | (1ull << 17))
#define CTLR_DIFF   ((1ull << 15) | (7ull << 11))
#define RTYPER_DIFF ((3ull << 24) | 1ull)

/* clang-format off */
static const ProbeOp probe_ops[] = {
    /* Reset state and identification */
    RD(GICD + 0x0000), RDI(GICD + 0x0004, TYPER_DIFF), RD(GICD + 0x0008), RD(GICD + 0x000c),
    RD(GICD + 0xffd0), RD(GICD + 0xffd4), RD(GICD + 0xffd8), RD(GICD + 0xffdc),
    RD(GICD + 0xffe0), RD(GICD + 0xffe4), RD(GICD + 0xffe8), RD(GICD + 0xffec),
    RD(GICD + 0xfff0), RD(GICD + 0xfff4), RD(GICD + 0xfff8), RD(GICD + 0xfffc),
    RD(GICD + 0x0084), RD(GICD + 0x0104), RD(GICD + 0x0204), RD(GICD + 0x0304),
    RD(GICD + 0x0420), RD(GICD + 0x0c08), RD64(GICD + 0x6100),
    RDI(GICR(0) + 0x0000, 2), RD(GICR(0) + 0x0004), RD64I(GICR(0) + 0x0008, RTYPER_DIFF),
    RD(GICR(0) + 0x0014), RD(GICR(0) + 0xffe0), RD(GICR(0) + 0xffe8),
    RD64I(GICR(1) + 0x0008, RTYPER_DIFF), RD(GICR(1) + 0x000c),
    RD(GICS(0) + 0x0080), RD(GICS(0) + 0x0100), RD(GICS(0) + 0x0200), RD(GICS(0) + 0x0400),
    RD(GICS(0) + 0x0c00), RD(GICS(0) + 0x0c04), RD(GICS(0) + 0x0d00), RD(GICS(0) + 0x0e00),
    SR(S_SRE), SRI(S_CTLR, CTLR_DIFF), SR(S_PMR), SR(S_BPR0), SR(S_BPR1), SR(S_IGRPEN0),
    SR(S_IGRPEN1), SR(S_RPR), SR(S_HPPIR1), SR(S_IAR1), SR(S_AP0R0), SR(S_AP1R0),

    /* Linux's gic_dist_init */
    WR(GICD + 0x0000, 0), RD(GICD + 0x0000),
    WR(GICD + 0x0084, 0xffffffff), WR(GICD + 0x0088, 0xffffffff),
    WR(GICD + 0x0384, 0xffffffff), WR(GICD + 0x0184, 0xffffffff),
    WR(GICD + 0x0c08, 0), WR(GICD + 0x0c0c, 0),
    WR(GICD + 0x0420, 0xa0a0a0a0), WR(GICD + 0x0424, 0xa0a0a0a0),
    WR(GICD + 0x0428, 0xa0a0a0a0), WR(GICD + 0x042c, 0xa0a0a0a0),
    WR(GICD + 0x0000, 0x13), RD(GICD + 0x0000),
    WR64(GICD + 0x6100, 0), WR64(GICD + 0x6108, 1), RD64(GICD + 0x6108),
    RD(GICD + 0x610c), WR(GICD + 0x6108, 0), RD64(GICD + 0x6108),
    WR64(GICD + 0x6110, 0xff80000f0full), RD64I(GICD + 0x6110, 1ull << 31), WR64(GICD + 0x6110, 0),
    RD(GICD + 0x0084), RD(GICD + 0x0424), WR8(GICD + 0x0425, 0x97), RDI8(GICD + 0x0425, 7),
    RDI(GICD + 0x0424, 0x700),

    /* Linux's gic_cpu_init on both redistributors, gic_cpu_sys_reg_init on vCPU 0 */
    WR(GICR(0) + 0x0014, 0), RD(GICR(0) + 0x0014), WR(GICR(1) + 0x0014, 0),
    RD(GICR(1) + 0x0014), WR(GICR(1) + 0x0014, 6), RD(GICR(1) + 0x0014),
    WR(GICR(1) + 0x0014, 0),
    WR(GICS(0) + 0x0080, 0xffffffff), WR(GICS(0) + 0x0380, 0xffffffff),
    WR(GICS(0) + 0x0180, 0xffff0000), WR(GICS(0) + 0x0100, 0x0000ffff),
    WR(GICS(1) + 0x0080, 0xffffffff), WR(GICS(1) + 0x0100, 0x0000ffff),
    WR(GICS(0) + 0x0400, 0xa0a0a0a0), WR(GICS(0) + 0x0404, 0xa0a0a0a0),
    WR(GICS(0) + 0x0418, 0xa0a0a0a0), WR(GICS(0) + 0x041c, 0xa0a0a0a0),
    WR(GICS(0) + 0x0c04, 0), RD(GICS(0) + 0x0c04), WR(GICS(0) + 0x0c00, 0),
    RD(GICS(0) + 0x0c00), RD(GICS(0) + 0x0080), RD(GICS(0) + 0x0100),
    SW(S_SRE, 7), SR(S_SRE), SW(S_PMR, 0x08), SR(S_PMR), SW(S_PMR, 0xf7), SR(S_PMR),
    SW(S_BPR1, 0), SR(S_BPR1), SW(S_BPR0, 0), SR(S_BPR0), SW(S_CTLR, 0),
    SRI(S_CTLR, CTLR_DIFF), SW(S_AP0R0, 0), SW(S_AP1R0, 0), SW(S_IGRPEN1, 1), SR(S_IGRPEN1),

    /* SGIs: to vCPU 1 (seen in its redistributor), to everyone else, to ourselves */
    SW(S_SGI1R, (3ull << 24) | 2), RD(GICS(1) + 0x0200), RD(GICS(0) + 0x0200),
    SW(S_SGI1R, (1ull << 40) | (5ull << 24)), RD(GICS(1) + 0x0200), RD(GICS(0) + 0x0200),
    WR(GICS(1) + 0x0280, 0xffffffff), RD(GICS(1) + 0x0200),
    SW(S_SGI1R, (1ull << 16) | (3ull << 24) | 2), RD(GICS(1) + 0x0200),
    SW(S_SGI1R, (6ull << 24) | 1), RD(GICS(0) + 0x0200), SR(S_HPPIR1), SR(S_IAR1),
    SR(S_RPR), SR(S_AP1R0), RD(GICS(0) + 0x0300), RD(GICS(0) + 0x0200),
    SW(S_EOIR1, 6), SR(S_RPR), RD(GICS(0) + 0x0300), SR(S_IAR1),
    SW(S_SGI0R, (7ull << 24) | 1), RD(GICS(0) + 0x0200),

    /* SPIs through ISPENDR: priority, preemption, binary point, PMR */
    WR8(GICD + 0x0428, 0xa0), WR8(GICD + 0x0429, 0x80), WR8(GICD + 0x042a, 0x90),
    WR(GICD + 0x0104, 0x700), WR(GICD + 0x0204, 0x100), RD(GICD + 0x0204),
    SR(S_HPPIR1), SR(S_IAR1), SR(S_RPR), RD(GICD + 0x0304), RD(GICD + 0x0204),
    WR(GICD + 0x0204, 0x200), SR(S_HPPIR1), SR(S_IAR1), SR(S_RPR), SR(S_AP1R0),
    SW(S_EOIR1, 41), SR(S_RPR), SR(S_AP1R0),
    SW(S_BPR1, 6), WR(GICD + 0x0204, 0x400), SR(S_HPPIR1), SR(S_IAR1),
    SW(S_BPR1, 3), SR(S_IAR1), SR(S_RPR), SW(S_EOIR1, 42), SW(S_EOIR1, 40), SR(S_RPR),
    RD(GICD + 0x0304),
    SW(S_PMR, 0xa0), WR(GICD + 0x0204, 0x100), SR(S_HPPIR1), SR(S_IAR1), SW(S_PMR, 0xa8),
    SR(S_IAR1), SW(S_EOIR1, 40),
    SW(S_EOIR1, 1023), SW(S_EOIR1, 40), SR(S_RPR), SW(S_PMR, 0xf0),

    /* EOImode 1: EOI drops the priority, DIR deactivates */
    SW(S_CTLR, 2), SRI(S_CTLR, CTLR_DIFF), WR(GICD + 0x0204, 0x100), SR(S_IAR1),
    SW(S_EOIR1, 40), SR(S_RPR), RD(GICD + 0x0304), SW(S_DIR, 40), RD(GICD + 0x0304),
    SW(S_CTLR, 0),

    /* Group 0: IAR1 does not take it, IAR0 does */
    WR(GICD + 0x0084, 0xfffffeff), SW(S_IGRPEN0, 1), WR(GICD + 0x0204, 0x100),
    SR(S_HPPIR1), SR(S_HPPIR0), SR(S_IAR1), SR(S_IAR0), SR(S_AP0R0), SR(S_RPR),
    SW(S_EOIR1, 40), SR(S_RPR), SW(S_EOIR0, 40), SR(S_RPR), WR(GICD + 0x0084, 0xffffffff),
    WR(GICD + 0x0000, 0x12), WR(GICD + 0x0204, 0x100), SR(S_HPPIR1), SR(S_IAR1),
    WR(GICD + 0x0000, 0x13), SR(S_IAR1), SW(S_EOIR1, 40),

    /* Level-sensitive PPI: the EL1 virtual timer (INTID 27) */
    WR(GICS(0) + 0x0100, 1u << 27), VTIMER(1), RD(GICS(0) + 0x0200), SR(S_IAR1),
    RD(GICS(0) + 0x0200), RD(GICS(0) + 0x0300), SW(S_EOIR1, 27), SR(S_HPPIR1),
    SR(S_IAR1), VTIMER(0), RD(GICS(0) + 0x0200), SW(S_EOIR1, 27), SR(S_IAR1),
    WR(GICS(0) + 0x0c04, 2u << 22), VTIMER(1), VTIMER(0), RD(GICS(0) + 0x0200),
    SR(S_IAR1), SW(S_EOIR1, 27), SR(S_IAR1), SR(S_RPR),

    /* PL031: identification, control, mask, match and load registers, clearing */
    RD(RTC + 0xfe0), RD(RTC + 0xfe4), RD(RTC + 0xfe8), RD(RTC + 0xfec), RD(RTC + 0xff0),
    RD(RTC + 0xff4), RD(RTC + 0xff8), RD(RTC + 0xffc), RD(RTC + 0x00c), RD(RTC + 0x010),
    RD(RTC + 0x014), RD(RTC + 0x018), WR(RTC + 0x00c, 1), RD(RTC + 0x00c),
    WR(RTC + 0x010, 0xffffffff), RD(RTC + 0x010), WR(RTC + 0x010, 0), RD(RTC + 0x010),
    WR(RTC + 0x008, 0x40000000), RD(RTC + 0x008), WR(RTC + 0x004, 0x7fffffff),
    RD(RTC + 0x004), RD(RTC + 0x014), WR(RTC + 0x01c, 1), RD(RTC + 0x014), RD(RTC + 0x018),
    /* ... and byte reads, as UEFI's PL031 library identifies the device */
    RD8(RTC + 0xfe0), RD8(RTC + 0xfe4), RD8(RTC + 0xfe8), RD8(RTC + 0xfec), RD8(RTC + 0xff0),
    RD8(RTC + 0xff4), RD8(RTC + 0xff8), RD8(RTC + 0xffc), RD8(RTC + 0x00c), RD8(RTC + 0x010),
    RD8(RTC + 0x008), RD8(RTC + 0x004),

    /* PL061: identification, register masks, masked data, edges of output pins */
    RD8(GPIO + 0xfe0), RD8(GPIO + 0xfe4), RD8(GPIO + 0xfe8), RD8(GPIO + 0xfec),
    RD8(GPIO + 0xff0), RD8(GPIO + 0xff4), RD8(GPIO + 0xff8), RD8(GPIO + 0xffc),
    RD8(GPIO + 0x400), RD8(GPIO + 0x404), RD8(GPIO + 0x408), RD8(GPIO + 0x40c),
    RD8(GPIO + 0x410), RD8(GPIO + 0x414), RD8(GPIO + 0x418), RD8(GPIO + 0x420),
    RD8(GPIO + 0x3fc), WR8(GPIO + 0x400, 0xf0), RD8(GPIO + 0x400), WR8(GPIO + 0x3fc, 0xff),
    RD8(GPIO + 0x3fc), RD8(GPIO + 0x0c0), WR8(GPIO + 0x300, 0x00), RD8(GPIO + 0x3fc),
    RD(GPIO + 0x3fc), WR8(GPIO + 0x404, 0x0f), RD8(GPIO + 0x404), WR8(GPIO + 0x408, 0x30),
    RD8(GPIO + 0x408), WR8(GPIO + 0x40c, 0xc0), RD8(GPIO + 0x40c), WR8(GPIO + 0x420, 0x5a),
    RD8(GPIO + 0x420), WR8(GPIO + 0x41c, 0xff), RD8(GPIO + 0x414),
    WR8(GPIO + 0x3fc, 0xf0), RD8(GPIO + 0x414), WR8(GPIO + 0x3fc, 0x00), RD8(GPIO + 0x414),
    WR8(GPIO + 0x410, 0xff), RD8(GPIO + 0x418), RD(GICD + 0x0204), WR8(GPIO + 0x41c, 0x30),
    RD8(GPIO + 0x414), RD8(GPIO + 0x418), WR8(GPIO + 0x41c, 0xff), RD8(GPIO + 0x414),
    RD8(GPIO + 0x418), WR8(GPIO + 0x410, 0),
    WR8(GPIO + 0x404, 0xff), WR8(GPIO + 0x40c, 0xf0), WR8(GPIO + 0x3fc, 0xf0), RD8(GPIO + 0x414),
    WR8(GPIO + 0x40c, 0x30), RDI8(GPIO + 0x414, 0xc0), WR8(GPIO + 0x3fc, 0x00),
    RDI8(GPIO + 0x414, 0x30),
    WR8(GPIO + 0x40c, 0x00), RD8(GPIO + 0x414), WR8(GPIO + 0x404, 0), WR8(GPIO + 0x41c, 0xff),
    WR8(GPIO + 0x400, 0), RD8(GPIO + 0x3fc), RD8(GPIO + 0x414),
};
/* clang-format on */

#define PROBE_NOPS (sizeof(probe_ops) / sizeof(probe_ops[0]))

#endif
