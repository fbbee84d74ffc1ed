/* SPDX-License-Identifier: MIT */
/*
 * For the accel harness, a VM without in-kernel interrupt controllers: the harness injects
 * an interrupt when KVM says the guest can take one (interrupt window), the handler's EOI to
 * the LAPIC page is an MMIO exit (no LAPIC in the kernel), and HLT is an exit.
 */
#include "guest.h"

static volatile unsigned got;

void guest_irq(unsigned vector)
{
    got = vector;
    lapic_eoi(); /* an MMIO write at 0xfee000b0 */
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    (void)index;
    (void)ncpus;
    idt_init();
    puts_uart("nochip: ready\n");
    outb(PORT_STEP, 1);
    sti();
    for (unsigned long spin = 0; !got && spin < 1000000000ul; spin++)
        pause();
    cli();
    outl(PORT_REPORT, got);
    __asm__ volatile("hlt");
    outb(PORT_STEP, 2);
}
