/* SPDX-License-Identifier: MIT */
/*
 * For the accel harness, with the in-kernel irqchip: an interrupt the harness raises through
 * an irqfd (IOAPIC pin 10 -> vector 0x30), writes to an ioeventfd port (one matching its
 * value, one not), pages written for dirty logging, and a spin the harness kicks.
 */
#include "guest.h"

#define DIRTY_BASE 0x400000ull

static volatile unsigned got;

void guest_irq(unsigned vector)
{
    got = vector;
    lapic_eoi();
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    (void)index;
    (void)ncpus;
    idt_init();
    pic_disable();
    lapic_enable();
    ioapic_route(10, 0x30, 0);
    outb(PORT_STEP, 1); /* the harness signals the irqfd now */
    for (unsigned n = 0; !got && n < 100000; n++)
        sti_hlt();
    cli();
    outl(PORT_REPORT, got);
    outl(PORT_NOTIFY, 0x1234); /* matches the ioeventfd: no exit */
    outl(PORT_NOTIFY, 0x4321); /* does not: an exit */
    static const unsigned pages[] = { 0, 2, 5 };
    for (unsigned i = 0; i < 3; i++)
        *(volatile uint64_t *)(DIRTY_BASE + pages[i] * 4096ull) = i + 1;
    outb(PORT_STEP, 2);
    *(volatile uint64_t *)(DIRTY_BASE + 3 * 4096ull) = 7;
    outb(PORT_STEP, 3);
    outb(PORT_STEP, 4); /* then spin until the harness kicks the vCPU */
    for (;;)
        pause();
}
