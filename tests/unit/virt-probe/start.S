/* SPDX-License-Identifier: MIT */
/* Entry of the GIC probe: vCPU 0 at EL1 with interrupts masked, a stack, then main(); then
 * PSCI SYSTEM_OFF through HVC (QEMU virt's conduit without EL2/EL3). */
    .section .text.init, "ax"
    .global _start
_start:
    msr     daifset, #0xf
    ldr     x0, =__stack_top
    mov     sp, x0
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
1:  cmp     x0, x1
    b.hs    2f
    str     xzr, [x0], #8
    b       1b
2:  bl      main
    ldr     x0, =0x84000008
    hvc     #0
3:  wfi
    b       3b
