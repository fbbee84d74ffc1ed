/* SPDX-License-Identifier: MIT */
/*
 * Interrupts through the GICv3: the generic timer's virtual (INTID 27) and physical (INTID 30)
 * EL1 timers as PPIs, IMASK and ISTATUS, WFI waking with PSTATE.I set (ISR_EL1), a self SGI
 * through ICC_SGI1R_EL1, and the PL011's transmit interrupt as SPI 1 (INTID 33).
 */
#include "isa.h"

#define GICD     0x08000000ull
#define GICR     0x080a0000ull
#define GICR_SGI (GICR + 0x10000)
#define R32(a)   (*(volatile uint32_t *)(a))
#define R64(a)   (*(volatile uint64_t *)(a))
#define UART     0x09000000ull

static volatile unsigned irqs, last_intid;
static volatile uint64_t ctl_in_handler;

static void on_irq(TrapFrame *f)
{
    (void)f;
    uint64_t iar = SYSREG_READ(S3_0_C12_C12_0); /* ICC_IAR1_EL1 */
    unsigned id = iar & 0xffffff;
    last_intid = id;
    irqs++;
    if (id == 27) {
        ctl_in_handler = SYSREG_READ(cntv_ctl_el0);
        SYSREG_WRITE(cntv_ctl_el0, 0);
    } else if (id == 30) {
        ctl_in_handler = SYSREG_READ(cntp_ctl_el0);
        SYSREG_WRITE(cntp_ctl_el0, 2); /* masked: the line drops, the timer stays enabled? no */
    } else if (id == 33) {
        R32(UART + 0x44) = 0x7ff; /* UARTICR */
        R32(UART + 0x38) = 0;     /* UARTIMSC */
    }
    SYSREG_WRITE(S3_0_C12_C12_1, iar); /* ICC_EOIR1_EL1 */
    ISB();
}

static void gic_init(void)
{
    R32(GICD + 0x0) = (1u << 4) | 2 | 1; /* ARE, EnableGrp1, EnableGrp0 */
    R32(GICR + 0x14) &= ~2u;             /* GICR_WAKER.ProcessorSleep = 0 */
    while (R32(GICR + 0x14) & 4)
        ;
    R32(GICR_SGI + 0x80) = 0xffffffff; /* every SGI/PPI in group 1 */
    for (unsigned i = 0; i < 32; i += 4)
        R32(GICR_SGI + 0x400 + i) = 0x80808080;
    R32(GICR_SGI + 0x100) = (1u << 27) | (1u << 30) | (1u << 3);
    R32(GICD + 0x84) = 0xffffffff;   /* SPIs 32..63 in group 1 */
    R32(GICD + 0x420) = 0x80808080;  /* priorities of INTIDs 32..35 */
    R64(GICD + 0x6000 + 8 * 33) = 0; /* IROUTER33: vCPU 0 */
    R32(GICD + 0x104) = 1u << 1;     /* enable INTID 33 */
    SYSREG_WRITE(S3_0_C12_C12_5, 7); /* ICC_SRE_EL1 */
    ISB();
    SYSREG_WRITE(S3_0_C4_C6_0, 0xff); /* ICC_PMR_EL1 */
    SYSREG_WRITE(S3_0_C12_C12_3, 0);  /* ICC_BPR1_EL1 */
    SYSREG_WRITE(S3_0_C12_C12_7, 1);  /* ICC_IGRPEN1_EL1 */
    ISB();
}

/* Check and sleep with IRQs masked: an interrupt taken between the check and a plain WFI
 * would leave the WFI waiting for one that never comes. A pending interrupt still ends the WFI
 * with PSTATE.I set, and is taken when the mask is lifted. */
static void wait_irqs(unsigned n)
{
    for (;;) {
        __asm__ volatile("msr daifset, #2" ::: "memory");
        if (irqs >= n)
            break;
        __asm__ volatile("wfi\n msr daifclr, #2\n isb" ::: "memory");
    }
    __asm__ volatile("msr daifclr, #2\n isb" ::: "memory");
}

int main(void)
{
    irq_handler = on_irq;
    gic_init();
    pr("hppir1 idle", SYSREG_READ(S3_0_C12_C12_2) & 0xffffff);

    /* Virtual timer through TVAL. */
    SYSREG_WRITE(cntv_tval_el0, 2000);
    SYSREG_WRITE(cntv_ctl_el0, 1);
    ISB();
    __asm__ volatile("msr daifclr, #2" ::: "memory");
    wait_irqs(1);
    pr("virtual timer intid", last_intid);
    pr("cntv_ctl in handler", ctl_in_handler);
    pr("cntv_ctl after", SYSREG_READ(cntv_ctl_el0));

    /* Physical timer through CVAL. */
    SYSREG_WRITE(cntp_cval_el0, SYSREG_READ(cntpct_el0) + 3000);
    SYSREG_WRITE(cntp_ctl_el0, 1);
    ISB();
    wait_irqs(2);
    pr("physical timer intid", last_intid);
    pr("cntp_ctl in handler", ctl_in_handler);
    pr("cntp_ctl after (masked, expired)", SYSREG_READ(cntp_ctl_el0));
    SYSREG_WRITE(cntp_ctl_el0, 0);

    /* IMASK: expired but masked, no interrupt; unmasking delivers it. */
    __asm__ volatile("msr daifset, #2" ::: "memory");
    SYSREG_WRITE(cntv_tval_el0, 0);
    SYSREG_WRITE(cntv_ctl_el0, 3);
    ISB();
    pr("cntv_ctl masked+expired", SYSREG_READ(cntv_ctl_el0));
    pr("isr with imask", SYSREG_READ(isr_el1));
    SYSREG_WRITE(cntv_ctl_el0, 1);
    ISB();
    /* WFI wakes on the pending interrupt although PSTATE.I is set. */
    while (!(SYSREG_READ(isr_el1) & 0x80))
        __asm__ volatile("wfi" ::: "memory");
    pr("isr after wfi", SYSREG_READ(isr_el1));
    pr("irqs before unmask", irqs);
    __asm__ volatile("msr daifclr, #2\n isb" ::: "memory");
    wait_irqs(3);
    pr("irqs after unmask", irqs);
    pr("intid", last_intid);

    /* SGI 3 to this vCPU (Aff0 target list bit 0). */
    SYSREG_WRITE(S3_0_C12_C11_5, (3ull << 24) | 1); /* ICC_SGI1R_EL1 */
    ISB();
    wait_irqs(4);
    pr("sgi intid", last_intid);

    /* PL011 transmit interrupt: raised after a character is written, cleared by UARTICR. */
    R32(UART + 0x44) = 0x7ff;
    R32(UART + 0x38) = 1u << 5; /* TXIM */
    putc_('*');
    putc_('\n');
    wait_irqs(5);
    pr("uart intid", last_intid);
    pr("uart ris after icr", R32(UART + 0x3c) & (1u << 5));
    pr("uart fr", R32(UART + 0x18));
    pr("uart id", R32(UART + 0xfe0) | R32(UART + 0xfe4) << 8 | R32(UART + 0xff0) << 16);
    __asm__ volatile("msr daifset, #2" ::: "memory");
    pr("irqs", irqs);
    return 0;
}
