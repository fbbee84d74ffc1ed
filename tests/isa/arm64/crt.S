/* SPDX-License-Identifier: MIT */
/* Entry, exception vectors and EL0 calls for the arm64 ISA test programs (see isa.h). */
    .section .text.init, "ax"
    .global _start
_start:
    ldr x1, =_stack_top
    mov sp, x1
    ldr x1, =vectors
    msr vbar_el1, x1
    isb
    ldr x1, =_bss_start
    ldr x2, =_bss_end
1:  cmp x1, x2
    b.hs 2f
    str xzr, [x1], #8
    b 1b
2:  bl main
    bl exit_ok
3:  b 3b

/* Exception entry: a 34-doubleword frame (x0..x30, ELR, SPSR, kind) on SP_EL1. */
    .macro VENTRY kind
    .balign 0x80
    sub sp, sp, #(34 * 8)
    stp x0, x1, [sp, #0]
    mov x0, #\kind
    b common_entry
    .endm

    .text
    .balign 0x800
    .global vectors
vectors:
    VENTRY 0   /* current EL, SP0: sync */
    VENTRY 1   /* irq */
    VENTRY 2   /* fiq */
    VENTRY 3   /* serror */
    VENTRY 4   /* current EL, SPx: sync */
    VENTRY 5
    VENTRY 6
    VENTRY 7
    VENTRY 8   /* lower EL, AArch64: sync */
    VENTRY 9
    VENTRY 10
    VENTRY 11
    VENTRY 12  /* lower EL, AArch32 */
    VENTRY 13
    VENTRY 14
    VENTRY 15

common_entry:
    str x0, [sp, #(33 * 8)]
    ldr x0, [sp, #0]
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x1, elr_el1
    stp x30, x1, [sp, #240]
    mrs x1, spsr_el1
    str x1, [sp, #256]
    mov x0, sp
    bl trap_handler
    ldp x30, x1, [sp, #240]
    msr elr_el1, x1
    ldr x1, [sp, #256]
    msr spsr_el1, x1
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x19, [sp, #144]
    ldp x20, x21, [sp, #160]
    ldp x22, x23, [sp, #176]
    ldp x24, x25, [sp, #192]
    ldp x26, x27, [sp, #208]
    ldp x28, x29, [sp, #224]
    ldp x0, x1, [sp, #0]
    add sp, sp, #(34 * 8)
    eret

/* uint64_t run_el0(uint64_t (*fn)(uint64_t), uint64_t arg): run fn(arg) at EL0 on the user
 * stack; it ends with svc #0xfff (el0_exit), and run_el0 returns its x0. */
    .global run_el0
run_el0:
    ldr x9, =el1_saved
    stp x19, x20, [x9, #0]
    stp x21, x22, [x9, #16]
    stp x23, x24, [x9, #32]
    stp x25, x26, [x9, #48]
    stp x27, x28, [x9, #64]
    stp x29, x30, [x9, #80]
    mov x10, sp
    str x10, [x9, #96]
    msr elr_el1, x0
    mov x0, x1
    msr spsr_el1, xzr           /* EL0t, interrupts unmasked */
    ldr x10, =_user_stack_top
    msr sp_el0, x10
    ldr x30, =el0_exit
    eret

    .global el0_exit
el0_exit:
    svc #0xfff

/* Called by trap_handler for svc #0xfff: back to run_el0's caller with x0. */
    .global el1_resume
el1_resume:
    ldr x9, =el1_saved
    ldp x19, x20, [x9, #0]
    ldp x21, x22, [x9, #16]
    ldp x23, x24, [x9, #32]
    ldp x25, x26, [x9, #48]
    ldp x27, x28, [x9, #64]
    ldp x29, x30, [x9, #80]
    ldr x10, [x9, #96]
    mov sp, x10
    ret

    .global psci_call
psci_call:
    hvc #0
    ret

    .data
    .balign 16
el1_saved:
    .skip 112

/* PSCI CPU_ON entry of the secondary vCPUs: x0 = context id = vCPU index (1..3); each gets
 * 16 KiB of stack below _stack_top - 0x8000 * index. */
    .text
    .global secondary_entry
secondary_entry:
    ldr x1, =_stack_top
    lsl x2, x0, #15
    sub x1, x1, x2
    mov sp, x1
    ldr x1, =vectors
    msr vbar_el1, x1
    isb
    bl secondary_main
1:  wfi
    b 1b
