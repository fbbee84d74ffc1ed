/* SPDX-License-Identifier: MIT */
/*
 * A PVH guest (32-bit protected mode entry, EBX = struct hvm_start_info) that runs the same
 * on Vessel's microvm board and QEMU's (-M microvm): the start-up benchmark's guest and the
 * kvm-pvh test's. Its first instruction writes '!' to COM1; it checks the start info's magic
 * and prints the marker. With a command line starting "exit" it then powers off through
 * Vessel's ACPI sleep control register (port 0x600; nothing on QEMU's microvm, where the
 * next step, a reset through the i8042, stops QEMU run with -no-reboot); otherwise it
 * halts, so the benchmark can read the VMM's memory.
 */
    .section .note.Xen, "a"
    .align 4
    .long 4, 4, 18          /* name size, desc size, XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_start

    .text
    .code32
    .globl pvh_start
pvh_start:
    mov $0x3f8, %dx         /* the first instruction's effect the host sees: '!' */
    mov $'!', %al
    out %al, %dx
    mov $0x100000, %esp     /* PVH gives no stack: 1 MiB down is free RAM on both boards */
    mov $msg_bad, %esi
    cmpl $0x336ec578, (%ebx)
    jne 1f
    mov $msg_ok, %esi
1:  call puts
    mov 24(%ebx), %edi      /* cmdline_paddr (low half; below 4 GiB) */
    test %edi, %edi
    jz 3f
    cmpl $0x74697865, (%edi) /* "exit" */
    jne 3f
2:  mov $0x600, %dx
    mov $0x34, %al          /* SLP_TYP 5 (\_S5) << 2 | SLP_EN */
    out %al, %dx
    mov $0xfe, %al
    out %al, $0x64
    jmp 2b
3:  cli
    hlt
    jmp 3b

/* Print the NUL-terminated string at %esi on COM1 (waiting for THRE). */
puts:
    lodsb
    test %al, %al
    jz 2f
    mov %al, %ah
    mov $0x3fd, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    mov $0x3f8, %dx
    mov %ah, %al
    out %al, %dx
    jmp puts
2:  ret

msg_ok:
    .asciz "pvh: start info ok\nVESSEL-BENCH-READY\n"
msg_bad:
    .asciz "FAIL: no PVH start info\n"

    .section .note.GNU-stack, "", @progbits
