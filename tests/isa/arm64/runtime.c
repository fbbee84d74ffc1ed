/* SPDX-License-Identifier: MIT */
/* arm64 ISA test runtime (see isa.h). */
#include "isa.h"

#define UART_DR ((volatile uint32_t *)0x09000000)

volatile TrapRecord trap;
volatile int trap_expected;
volatile uint64_t trap_resume;
void (*volatile irq_handler)(TrapFrame *f);

void el1_resume(uint64_t x0) __attribute__((noreturn));

void putc_(char c)
{
    *UART_DR = (uint32_t)(unsigned char)c;
}

void pr_str(const char *s)
{
    while (*s)
        putc_(*s++);
}

void pr_hex(uint64_t v)
{
    for (int i = 60; i >= 0; i -= 4)
        putc_("0123456789abcdef"[(v >> i) & 0xf]);
}

void pr(const char *name, uint64_t v)
{
    pr_str(name);
    putc_(' ');
    pr_hex(v);
    putc_('\n');
}

void exit_ok(void)
{
    pr_str("DONE\n");
    psci_call(0x84000008, 0, 0, 0); /* SYSTEM_OFF */
    for (;;)
        __asm__ volatile("wfi");
}

void fail(const char *why)
{
    pr_str("FAIL ");
    pr_str(why);
    putc_('\n');
    psci_call(0x84000008, 0, 0, 0);
    for (;;)
        __asm__ volatile("wfi");
}

void trap_handler(TrapFrame *f)
{
    unsigned kind = (unsigned)f->kind;
    if ((kind & 3) == 1) { /* IRQ */
        if (irq_handler) {
            irq_handler(f);
            return;
        }
        pr_str("UNEXPECTED TRAP: irq\n");
        exit_ok();
    }
    uint64_t esr = SYSREG_READ(esr_el1);
    if ((kind & 3) == 0 && (esr >> 26) == 0x15 && (esr & 0xffff) == 0xfff)
        el1_resume(f->x[0]); /* svc #0xfff: the end of run_el0 */
    trap.count++;
    trap.kind = kind;
    trap.esr = esr;
    trap.far = SYSREG_READ(far_el1);
    trap.elr = f->elr;
    trap.spsr = f->spsr;
    if (!trap_expected || (kind & 3) != 0) {
        pr_str("UNEXPECTED TRAP: kind ");
        pr_hex(kind);
        pr_str(" esr ");
        pr_hex(esr);
        pr_str(" elr ");
        pr_hex(f->elr);
        pr_str(" far ");
        pr_hex(trap.far);
        putc_('\n');
        exit_ok();
    }
    trap_expected = 0;
    f->spsr &= ~(1ull << 20); /* resume in a legal state after an Illegal state fault */
    if (trap_resume) {
        f->elr = trap_resume;
        trap_resume = 0;
    } else if ((esr >> 26) != 0x15 && (esr >> 26) != 0x16) {
        f->elr += 4; /* svc/hvc already return past the instruction */
    }
}

/* Programs that start secondary vCPUs define their own. */
__attribute__((weak)) void secondary_main(uint64_t ctx)
{
    (void)ctx;
    fail("secondary vCPU started without a secondary_main");
}
