/* SPDX-License-Identifier: MIT */
/*
 * Entry and interrupt stubs of the bare-metal x86-64 test guests. The VMM enters every vCPU
 * here in long mode with RDI = vCPU index, RSI = vCPU count. Each vCPU gets a 16 KiB stack,
 * runs guest_main(index, count); vCPU 0 then powers off through the ACPI sleep control
 * register (port 0x600, SLP_TYP 5 = \_S5, SLP_EN), the others halt with interrupts off.
 */
    .code64
    .section .text.start, "ax"
    .globl _start
_start:
    mov %rdi, %rbx
    mov %rdi, %rax
    shl $14, %rax
    lea stack_top(%rip), %rsp
    sub %rax, %rsp
    call guest_main
    test %rbx, %rbx
    jnz 2f
1:  call guest_poweroff
    jmp 1b
2:  cli
    hlt
    jmp 2b

/* Vectors 0-63: push a dummy error code where the CPU pushes none, then the vector. */
    .macro isr vec
    .align 16
isr_\vec:
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    push $0
    .endif
    push $\vec
    jmp isr_common
    .endm

    .text
    isr 0
    isr 1
    isr 2
    isr 3
    isr 4
    isr 5
    isr 6
    isr 7
    isr 8
    isr 9
    isr 10
    isr 11
    isr 12
    isr 13
    isr 14
    isr 15
    isr 16
    isr 17
    isr 18
    isr 19
    isr 20
    isr 21
    isr 22
    isr 23
    isr 24
    isr 25
    isr 26
    isr 27
    isr 28
    isr 29
    isr 30
    isr 31
    isr 32
    isr 33
    isr 34
    isr 35
    isr 36
    isr 37
    isr 38
    isr 39
    isr 40
    isr 41
    isr 42
    isr 43
    isr 44
    isr 45
    isr 46
    isr 47
    isr 48
    isr 49
    isr 50
    isr 51
    isr 52
    isr 53
    isr 54
    isr 55
    isr 56
    isr 57
    isr 58
    isr 59
    isr 60
    isr 61
    isr 62
    isr 63

isr_common:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    mov 72(%rsp), %rdi      /* vector */
    mov 88(%rsp), %rsi      /* interrupted rip */
    call guest_interrupt
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp
    iretq

    .section .rodata
    .globl isr_table
    .align 8
isr_table:
    .quad isr_0
    .quad isr_1
    .quad isr_2
    .quad isr_3
    .quad isr_4
    .quad isr_5
    .quad isr_6
    .quad isr_7
    .quad isr_8
    .quad isr_9
    .quad isr_10
    .quad isr_11
    .quad isr_12
    .quad isr_13
    .quad isr_14
    .quad isr_15
    .quad isr_16
    .quad isr_17
    .quad isr_18
    .quad isr_19
    .quad isr_20
    .quad isr_21
    .quad isr_22
    .quad isr_23
    .quad isr_24
    .quad isr_25
    .quad isr_26
    .quad isr_27
    .quad isr_28
    .quad isr_29
    .quad isr_30
    .quad isr_31
    .quad isr_32
    .quad isr_33
    .quad isr_34
    .quad isr_35
    .quad isr_36
    .quad isr_37
    .quad isr_38
    .quad isr_39
    .quad isr_40
    .quad isr_41
    .quad isr_42
    .quad isr_43
    .quad isr_44
    .quad isr_45
    .quad isr_46
    .quad isr_47
    .quad isr_48
    .quad isr_49
    .quad isr_50
    .quad isr_51
    .quad isr_52
    .quad isr_53
    .quad isr_54
    .quad isr_55
    .quad isr_56
    .quad isr_57
    .quad isr_58
    .quad isr_59
    .quad isr_60
    .quad isr_61
    .quad isr_62
    .quad isr_63

    .bss
    .align 4096
    .space 16384 * 8
stack_top:
    .section .note.GNU-stack, "", @progbits
