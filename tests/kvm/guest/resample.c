/* SPDX-License-Identifier: MIT */
/*
 * For the accel harness: a level-triggered interrupt through an irqfd with a resample fd
 * (IOAPIC pin 11, level, vector 0x31). The handler reports each delivery and ends it with an
 * EOI but never quiets the source: while the harness holds the line high, the EOI must bring
 * the interrupt back (the kernel signals the resample fd, the harness asserts again); once
 * the harness has dropped it, deliveries stop. The guest then opens interrupt windows and
 * reports the count and the pin's Remote IRR (set only by a delivery still unhandled).
 */
#include "guest.h"

static volatile unsigned count;

void guest_irq(unsigned vector)
{
    if (vector == 0x31) {
        count++;
        outl(PORT_REPORT, count);
    }
    lapic_eoi();
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    (void)index;
    (void)ncpus;
    idt_init();
    pic_disable();
    lapic_enable();
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * 11 + 1);
    mmio_write32(IOAPIC_BASE + 0x10, 0);
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * 11);
    mmio_write32(IOAPIC_BASE + 0x10, 0x31 | 1u << 15); /* level, active high */
    outb(PORT_STEP, 1);
    while (count < 2)
        sti_hlt();
    cli();
    for (unsigned i = 0; i < 1000; i++)
        __asm__ volatile("sti; nop; nop; cli" ::: "memory");
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * 11);
    uint32_t redir = mmio_read32(IOAPIC_BASE + 0x10);
    outb(PORT_STEP, 2);
    outl(PORT_REPORT, count);
    outl(PORT_REPORT, (redir >> 14) & 1); /* Remote IRR */
    for (;;)
        __asm__ volatile("cli; hlt");
}
