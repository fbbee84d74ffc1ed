/* SPDX-License-Identifier: MIT */
/* Entry for the multi-hart test: every hart starts here in M-mode with a0 = hartid. */
    .section .text.init, "ax"
    .globl _start
_start:
    csrr    a0, mhartid
    li      t0, 2
    bgeu    a0, t0, park          /* only harts 0 and 1 take part */
    la      sp, stacks
    addi    t1, a0, 1
    slli    t1, t1, 14            /* 16 KiB of stack per hart */
    add     sp, sp, t1
    call    hart_main
park:
    wfi
    j       park

    .section .bss
    .balign 16
stacks:
    .space  2 * 16384
