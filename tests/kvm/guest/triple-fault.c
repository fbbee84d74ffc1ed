/* SPDX-License-Identifier: MIT */
/* A hostile guest: an empty IDT and ud2 make a triple fault, which resets the machine as on a
 * PC; since it does so again right after every reset, the reset-loop detection must stop it
 * with a message (never a spin or a host crash). */
#include "guest.h"

void guest_irq(unsigned vector)
{
    (void)vector;
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    (void)index;
    (void)ncpus;
    puts_uart("about to triple fault\n");
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) d = { 0, 0 };
    __asm__ volatile("lidt %0; ud2" : : "m"(d));
    puts_uart("FAIL: still running\n");
}
