/* SPDX-License-Identifier: MIT */
/*
 * The GICv2 (virt with gic-version=2, two vCPUs): identification and reset values, banked
 * registers, priority bits, acknowledge/EOI order with preemption and the running priority,
 * split EOI (GICC_CTLR.EOImode and GICC_DIR), Group 1 with and without AckCtl, SGIs to self
 * and from the other vCPU (source in GICC_IAR), the generic timer as PPI 30 through the IRQ
 * vector, and the system-register CPU interface being absent (ICC_SRE_EL1 is UNDEFINED).
 * Most steps poll GICC_IAR with PSTATE.I set, so the order of events is deterministic.
 */
#include "isa.h"

#define GICD           0x08000000ull
#define GICC           0x08010000ull
#define R32(a)         (*(volatile uint32_t *)(a))
#define R8(a)          (*(volatile uint8_t *)(a))

#define GICD_CTLR      (GICD + 0x000)
#define GICD_TYPER     (GICD + 0x004)
#define GICD_IIDR      (GICD + 0x008)
#define GICD_IGROUPR   (GICD + 0x080)
#define GICD_ISENABLER (GICD + 0x100)
#define GICD_ICENABLER (GICD + 0x180)
#define GICD_ISPENDR   (GICD + 0x200)
#define GICD_ICPENDR   (GICD + 0x280)
#define GICD_ISACTIVER (GICD + 0x300)
#define GICD_IPRIORITY (GICD + 0x400)
#define GICD_ITARGETSR (GICD + 0x800)
#define GICD_ICFGR     (GICD + 0xc00)
#define GICD_SGIR      (GICD + 0xf00)
#define GICD_SPENDSGIR (GICD + 0xf20)

#define GICC_CTLR      (GICC + 0x00)
#define GICC_PMR       (GICC + 0x04)
#define GICC_BPR       (GICC + 0x08)
#define GICC_IAR       (GICC + 0x0c)
#define GICC_EOIR      (GICC + 0x10)
#define GICC_RPR       (GICC + 0x14)
#define GICC_HPPIR     (GICC + 0x18)
#define GICC_ABPR      (GICC + 0x1c)
#define GICC_AIAR      (GICC + 0x20)
#define GICC_AEOIR     (GICC + 0x24)
#define GICC_AHPPIR    (GICC + 0x28)
#define GICC_IIDR      (GICC + 0xfc)
#define GICC_DIR       (GICC + 0x1000)

extern char secondary_entry[];
static volatile uint32_t cpu1_targets, cpu1_ctlr, cpu1_done;
static volatile unsigned irqs;
static volatile uint32_t last_iar;

static void on_irq(TrapFrame *f)
{
    (void)f;
    uint32_t iar = R32(GICC_IAR);
    last_iar = iar;
    irqs++;
    if ((iar & 0x3ff) == 30)
        SYSREG_WRITE(cntp_ctl_el0, 0);
    R32(GICC_EOIR) = iar;
}

void secondary_main(uint64_t ctx)
{
    (void)ctx;
    cpu1_targets = R32(GICD_ITARGETSR);
    cpu1_ctlr = R32(GICC_CTLR);      /* banked: CPU 0's writes do not show here */
    R32(GICD_SGIR) = (1u << 16) | 9; /* SGI 9 to CPU 0 (target list) */
    __atomic_store_n(&cpu1_done, 1, __ATOMIC_SEQ_CST);
    psci_call(0x84000002, 0, 0, 0); /* CPU_OFF */
    fail("CPU_OFF returned");
}

/* Acknowledge with PSTATE.I set until something other than spurious arrives. */
static uint32_t poll_iar(void)
{
    for (unsigned i = 0; i < 100000000; i++) {
        uint32_t v = R32(GICC_IAR);
        if ((v & 0x3ff) != 1023)
            return v;
    }
    return 0xdead;
}

int main(void)
{
    __asm__ volatile("msr daifset, #2" ::: "memory");
    pr("pfr0 gic field", (SYSREG_READ(id_aa64pfr0_el1) >> 24) & 0xf);
    trap_expected = 1;
    SYSREG_READ(S3_0_C12_C12_5); /* ICC_SRE_EL1 */
    trap_expected = 0;
    pr("icc_sre trap count", trap.count);
    pr("icc_sre esr", trap.esr);

    pr("typer", R32(GICD_TYPER));
    pr("gicd iidr", R32(GICD_IIDR));
    pr("gicc iidr", R32(GICC_IIDR));
    pr("pidr2", R32(GICD + 0xfe8));
    pr("cidr0..3", R32(GICD + 0xff0) | R32(GICD + 0xff4) << 8 | R32(GICD + 0xff8) << 16 |
                       (uint64_t)R32(GICD + 0xffc) << 24);
    pr("isenabler0 reset", R32(GICD_ISENABLER));
    pr("icfgr0", R32(GICD_ICFGR));
    pr("icfgr1 reset", R32(GICD_ICFGR + 4));
    pr("itargetsr0", R32(GICD_ITARGETSR));
    pr("igroupr0 reset", R32(GICD_IGROUPR));
    pr("bpr reset", R32(GICC_BPR));
    pr("abpr reset", R32(GICC_ABPR));
    pr("pmr reset", R32(GICC_PMR));
    pr("rpr idle", R32(GICC_RPR));
    pr("iar disabled", R32(GICC_IAR));

    /* Priority bits: write all ones. */
    R8(GICD_IPRIORITY + 40) = 0xff;
    pr("priority bits", R8(GICD_IPRIORITY + 40));
    R32(GICD_ICENABLER) = 0xffffffff;
    pr("icenabler0 on sgis", R32(GICD_ISENABLER));
    R32(GICD_ICFGR + 8) = 0x00000008; /* INTID 33 edge */
    pr("icfgr2", R32(GICD_ICFGR + 8));
    R32(GICD_ICFGR + 8) = 0;
    R8(GICD_ITARGETSR + 33) = 0xff;
    pr("itargetsr33 (2 vCPUs)", R8(GICD_ITARGETSR + 33));
    R8(GICD_ITARGETSR + 33) = 1;

    R32(GICD_CTLR) = 3;
    R32(GICC_CTLR) = 1; /* EnableGrp0 */
    R32(GICC_PMR) = 0xff;
    pr("pmr", R32(GICC_PMR));
    R32(GICC_BPR) = 0;
    pr("bpr", R32(GICC_BPR));
    R32(GICC_ABPR) = 0;
    pr("abpr min", R32(GICC_ABPR));

    /* Two SGIs to self; the higher priority (lower value) comes first and is not preempted
     * by the other. */
    R8(GICD_IPRIORITY + 5) = 0x80;
    R8(GICD_IPRIORITY + 6) = 0x40;
    R32(GICD_SGIR) = (2u << 24) | 5;
    R32(GICD_SGIR) = (2u << 24) | 6;
    pr("ispendr0 sgis", R32(GICD_ISPENDR) & 0xffff);
    pr("spendsgir5", R32(GICD_SPENDSGIR + 4) >> 8 & 0xff);
    pr("hppir", R32(GICC_HPPIR));
    uint32_t a = R32(GICC_IAR);
    pr("iar first", a);
    pr("rpr", R32(GICC_RPR));
    pr("isactiver0", R32(GICD_ISACTIVER));
    pr("hppir while active", R32(GICC_HPPIR));
    pr("iar not preempting", R32(GICC_IAR));
    R32(GICC_EOIR) = a;
    pr("rpr after eoi", R32(GICC_RPR));
    uint32_t b = R32(GICC_IAR);
    pr("iar second", b);
    R32(GICC_EOIR) = b;
    pr("isactiver0 after", R32(GICD_ISACTIVER));

    /* Priority mask: an SGI at 0x80 with PMR 0x80 is held back. */
    R32(GICC_PMR) = 0x80;
    R32(GICD_SGIR) = (2u << 24) | 5;
    pr("iar masked", R32(GICC_IAR));
    R32(GICC_PMR) = 0xff;
    a = R32(GICC_IAR);
    pr("iar unmasked", a);
    R32(GICC_EOIR) = a;

    /* Split EOI: EOIR drops the priority, DIR deactivates. */
    R32(GICC_CTLR) = 1 | (1u << 9);
    R32(GICD_SGIR) = (2u << 24) | 3;
    a = R32(GICC_IAR);
    R32(GICC_EOIR) = a;
    pr("split: rpr after eoir", R32(GICC_RPR));
    pr("split: active after eoir", R32(GICD_ISACTIVER) & 0xffff);
    R32(GICC_DIR) = a;
    pr("split: active after dir", R32(GICD_ISACTIVER) & 0xffff);
    R32(GICC_CTLR) = 1;

    /* Group 1: without AckCtl GICC_IAR answers 1022, the alias acknowledges it. */
    R32(GICD_IGROUPR) = 1u << 7;
    R32(GICC_CTLR) = 3; /* both groups */
    R32(GICD_SGIR) = (2u << 24) | 7;
    pr("grp1: hppir", R32(GICC_HPPIR));
    pr("grp1: ahppir", R32(GICC_AHPPIR));
    pr("grp1: iar without ackctl", R32(GICC_IAR));
    a = R32(GICC_AIAR);
    pr("grp1: aiar", a);
    R32(GICC_AEOIR) = a;
    R32(GICC_CTLR) = 3 | (1u << 2); /* AckCtl */
    R32(GICD_SGIR) = (2u << 24) | 7;
    a = R32(GICC_IAR);
    pr("grp1: iar with ackctl", a);
    R32(GICC_EOIR) = a;
    R32(GICD_IGROUPR) = 0;
    R32(GICC_CTLR) = 1;

    /* Pending set and clear on an SPI (the UART's INTID 33, line low). */
    R32(GICD_ISENABLER + 4) = 1u << 1;
    R32(GICD_ISPENDR + 4) = 1u << 1;
    pr("spi pending", R32(GICD_ISPENDR + 4) & 2);
    a = R32(GICC_IAR);
    pr("spi iar", a);
    R32(GICC_EOIR) = a;
    pr("spi pending after ack", R32(GICD_ISPENDR + 4) & 2);
    R32(GICD_ICENABLER + 4) = 1u << 1;

    /* An SGI from vCPU 1. */
    uint64_t mpidr1 = (SYSREG_READ(mpidr_el1) & 0xff00ffff00ull) | 1;
    pr("cpu_on", psci_call(0xc4000003, mpidr1, (uint64_t)secondary_entry, 0));
    a = poll_iar();
    pr("sgi from cpu1", a);
    R32(GICC_EOIR) = a;
    while (!__atomic_load_n(&cpu1_done, __ATOMIC_SEQ_CST))
        ;
    pr("cpu1 itargetsr0", cpu1_targets);
    pr("cpu1 gicc_ctlr", cpu1_ctlr);

    /* The physical timer through the IRQ vector. */
    irq_handler = on_irq;
    R32(GICD_ISENABLER) = 1u << 30;
    R8(GICD_IPRIORITY + 30) = 0xa0;
    SYSREG_WRITE(cntp_tval_el0, 1000);
    SYSREG_WRITE(cntp_ctl_el0, 1);
    ISB();
    for (;;) {
        __asm__ volatile("msr daifset, #2" ::: "memory");
        if (irqs >= 1)
            break;
        __asm__ volatile("wfi\n msr daifclr, #2\n isb" ::: "memory");
    }
    pr("timer iar", last_iar);
    pr("rpr end", R32(GICC_RPR));
    return 0;
}
