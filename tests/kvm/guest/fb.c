/* SPDX-License-Identifier: MIT */
/*
 * Draws into a framebuffer in RAM (320x200, 4 bytes per pixel, at 4 MiB) in steps, and
 * between steps waits for a byte on COM1, so that test-kvm-machine.c can read the dirty
 * rectangles after each: step 1 two pixels; step 2 row 100 and the last pixel, plus a write
 * to RAM outside the framebuffer; step 3 nothing.
 */
#include "guest.h"

#define FB     0x400000ull
#define STRIDE 1280

void guest_irq(unsigned vector)
{
    (void)vector;
}

static void pixel(unsigned x, unsigned y, uint32_t v)
{
    *(volatile uint32_t *)(FB + (uint64_t)y * STRIDE + 4ull * x) = v;
}

static void step_done(unsigned n)
{
    puts_uart("drawn ");
    put_dec(n);
    puts_uart("\n");
    while (!(inb(COM1 + 5) & 1)) /* LSR.DR: the host's go-ahead */
        pause();
    (void)inb(COM1);
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    (void)ncpus;
    if (index != 0)
        return;
    pixel(10, 5, 0xff0000);
    pixel(300, 150, 0x00ff00);
    step_done(1);
    for (unsigned x = 0; x < 320; x++)
        pixel(x, 100, 0x0000ff);
    pixel(319, 199, 0xffffff);
    *(volatile uint32_t *)0x500000ull = 1;
    step_done(2);
    step_done(3);
}
