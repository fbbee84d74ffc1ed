/* SPDX-License-Identifier: MIT */
/* The in-kernel LAPIC's timer: periodic interrupts on vector 0x20 wake HLT three times. */
#include "guest.h"

static volatile unsigned ticks;

void guest_irq(unsigned vector)
{
    if (vector == 0x20)
        ticks++;
    lapic_eoi();
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    (void)index;
    (void)ncpus;
    idt_init();
    lapic_enable();
    mmio_write32(LAPIC_BASE + 0x3e0, 0x3);             /* divide by 16 */
    mmio_write32(LAPIC_BASE + 0x320, 0x20 | 1u << 17); /* periodic, vector 0x20 */
    mmio_write32(LAPIC_BASE + 0x380, 200000);          /* initial count */
    unsigned seen = 0, halts = 0;
    while (seen < 3) {
        sti_hlt();
        cli();
        halts++;
        if (ticks != seen) {
            seen = ticks;
            puts_uart("tick ");
            put_dec(seen);
            puts_uart("\n");
        }
        if (halts > 1000) {
            puts_uart("FAIL: no timer interrupt\n");
            return;
        }
    }
    mmio_write32(LAPIC_BASE + 0x320, 1u << 16); /* masked */
    puts_uart("timer ok\n");
}
