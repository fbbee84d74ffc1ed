/* SPDX-License-Identifier: MIT */
/* Port I/O to the UART from long mode, and the CPU state the VMM set up. */
#include "guest.h"

void guest_irq(unsigned vector)
{
    (void)vector;
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    (void)index;
    (void)ncpus;
    uint64_t cr0, cr4, efer = rdmsr(0xc0000080);
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    puts_uart("hello from x86_64 long mode\n");
    puts_uart((cr0 >> 31) & 1 ? "paging on" : "FAIL: paging off");
    puts_uart((efer >> 10) & 1 ? ", long mode active" : ", FAIL: long mode inactive");
    puts_uart((cr4 >> 5) & 1 ? ", PAE on\n" : ", FAIL: PAE off\n");
    uint32_t r[4];
    cpuid(1, 0, r);
    puts_uart(r[2] >> 31 ? "cpuid: hypervisor bit set\n" : "FAIL: cpuid hypervisor bit clear\n");
}
