/* SPDX-License-Identifier: MIT */
/*
 * PVH entry for the C test guests that need the other vCPUs waiting for INIT/SIPI (the
 * board starts only vCPU 0 of a PVH kernel): entered in 32-bit protected mode with paging
 * off and EBX = struct hvm_start_info, it builds its own identity page tables (the first
 * 4 GiB in 2 MiB pages) and GDT, enters long mode and calls pvh_main(start_info); when that
 * returns it powers off. Also the real-mode AP trampoline that acpi-smp.c copies below 1 MiB.
 */
    .section .note.Xen, "a"
    .align 4
    .long 4, 4, 18          /* name size, desc size, XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_entry

    .section .text.start, "ax"
    .code32
    .globl pvh_entry
pvh_entry:
    cli
    mov %ebx, pvh_start_info
    /* Four page directories of 2 MiB pages: entry i maps i * 2 MiB (present, write, PS). */
    mov $pvh_pd, %edi
    mov $0x83, %eax
    xor %edx, %edx
    mov $2048, %ecx
1:  mov %eax, (%edi)
    mov %edx, 4(%edi)
    add $0x200000, %eax
    adc $0, %edx
    add $8, %edi
    loop 1b
    mov $pvh_pdpt, %edi
    mov $pvh_pd + 3, %eax
    mov $4, %ecx
2:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $4096, %eax
    add $8, %edi
    loop 2b
    movl $pvh_pdpt + 3, pvh_pml4
    movl $0, pvh_pml4 + 4
    mov $pvh_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x20, %eax          /* PAE */
    mov %eax, %cr4
    mov $0xc0000080, %ecx   /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    lgdt pvh_gdt_desc
    mov %cr0, %eax
    or $0x80000001, %eax    /* PG, PE */
    mov %eax, %cr0
    ljmp $0x08, $pvh_long

    .code64
pvh_long:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %eax, %eax
    mov %ax, %fs
    mov %ax, %gs
    lea pvh_stack_top(%rip), %rsp
    mov pvh_start_info(%rip), %edi
    call pvh_main
    call guest_poweroff

/* The AP trampoline: copied to a page below 1 MiB, entered by SIPI in real mode with CS =
 * that page's segment. Each AP marks its APIC ID (CPUID leaf 1) in the byte table at offset
 * 0x100 of the page, counts itself in the word at offset 0x80, and halts. */
    .section .rodata
    .code16
    .globl ap_tramp, ap_tramp_end
ap_tramp:
    cli
    mov %cs, %ax
    mov %ax, %ds
    mov $1, %eax
    cpuid
    shr $24, %ebx
    movb $1, 0x100(%bx)
    lock incw 0x80
3:  hlt
    jmp 3b
ap_tramp_end:
    .code64

    .data
    .align 8
pvh_gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
pvh_gdt_desc:
    .word pvh_gdt_desc - pvh_gdt - 1
    .long pvh_gdt
    .globl pvh_start_info
pvh_start_info:
    .long 0

    .bss
    .align 4096
pvh_pml4:
    .space 4096
pvh_pdpt:
    .space 4096
pvh_pd:
    .space 4 * 4096
    .space 16384
pvh_stack_top:
    .section .note.GNU-stack, "", @progbits
