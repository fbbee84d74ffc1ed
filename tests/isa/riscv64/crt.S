/* SPDX-License-Identifier: MIT */
/*
 * Common runtime for the Vessel riscv64 ISA tests: entry point, M- and S-mode trap
 * entries (plus a vectored M table), privilege switching and fault probes.
 *
 * Entered in M-mode at 0x80000000 with a0 = hartid, a1 = device tree.
 */
#include "isa-asm.h"

    .section .text.init, "ax"
    .option norvc
    .globl _start
_start:
    /* PMP: one NAPOT entry covering everything, RWX, so S/U can touch memory.
     * If PMP CSRs are absent the trap lands on 1f and we carry on. */
    la      t0, 1f
    csrw    mtvec, t0
    li      t0, -1
    csrw    pmpaddr0, t0
    li      t0, 0x1f
    csrw    pmpcfg0, t0
    .align 2
1:
    la      sp, _stack_top
    la      t0, _mtrap_stack_top
    csrw    mscratch, t0
    la      t0, _strap_stack_top
    csrw    sscratch, t0
    la      t0, trap_entry_m
    csrw    mtvec, t0
    la      t0, trap_entry_s
    csrw    stvec, t0
    csrw    satp, zero
    csrw    medeleg, zero
    csrw    mideleg, zero
    csrw    mie, zero
    /* mstatus: clear MIE/SIE/MPRV/SUM/MXR/TVM/TW/TSR, MPP=M, FS=Initial. */
    li      t0, 0x7e19aa
    csrc    mstatus, t0
    li      t0, (3 << 11) | (1 << 13)
    csrs    mstatus, t0
    csrw    fcsr, zero
    /* CLINT: no timer interrupt pending (QEMU resets mtimecmp to 0), no msip */
    li      t0, 0x2004000
    li      t1, -1
    sd      t1, 0(t0)
    li      t0, 0x2000000
    sw      zero, 0(t0)
    /* zero .bss */
    la      t0, _bss_start
    la      t1, _bss_end
2:  bgeu    t0, t1, 3f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       2b
3:
    call    main
    call    exit
4:  j       4b

/* ------------------------------------------------------------------------------ */
/* Trap entries. Frame layout: see struct trap_frame in isa.h.                     */

.macro SAVE_REGS
    sd      x1, 1*8(sp)
    sd      x3, 3*8(sp)
    sd      x4, 4*8(sp)
    sd      x5, 5*8(sp)
    sd      x6, 6*8(sp)
    sd      x7, 7*8(sp)
    sd      x8, 8*8(sp)
    sd      x9, 9*8(sp)
    sd      x10, 10*8(sp)
    sd      x11, 11*8(sp)
    sd      x12, 12*8(sp)
    sd      x13, 13*8(sp)
    sd      x14, 14*8(sp)
    sd      x15, 15*8(sp)
    sd      x16, 16*8(sp)
    sd      x17, 17*8(sp)
    sd      x18, 18*8(sp)
    sd      x19, 19*8(sp)
    sd      x20, 20*8(sp)
    sd      x21, 21*8(sp)
    sd      x22, 22*8(sp)
    sd      x23, 23*8(sp)
    sd      x24, 24*8(sp)
    sd      x25, 25*8(sp)
    sd      x26, 26*8(sp)
    sd      x27, 27*8(sp)
    sd      x28, 28*8(sp)
    sd      x29, 29*8(sp)
    sd      x30, 30*8(sp)
    sd      x31, 31*8(sp)
.endm

.macro RESTORE_REGS
    ld      x1, 1*8(sp)
    ld      x3, 3*8(sp)
    ld      x4, 4*8(sp)
    ld      x5, 5*8(sp)
    ld      x6, 6*8(sp)
    ld      x7, 7*8(sp)
    ld      x8, 8*8(sp)
    ld      x9, 9*8(sp)
    ld      x10, 10*8(sp)
    ld      x11, 11*8(sp)
    ld      x12, 12*8(sp)
    ld      x13, 13*8(sp)
    ld      x14, 14*8(sp)
    ld      x15, 15*8(sp)
    ld      x16, 16*8(sp)
    ld      x17, 17*8(sp)
    ld      x18, 18*8(sp)
    ld      x19, 19*8(sp)
    ld      x20, 20*8(sp)
    ld      x21, 21*8(sp)
    ld      x22, 22*8(sp)
    ld      x23, 23*8(sp)
    ld      x24, 24*8(sp)
    ld      x25, 25*8(sp)
    ld      x26, 26*8(sp)
    ld      x27, 27*8(sp)
    ld      x28, 28*8(sp)
    ld      x29, 29*8(sp)
    ld      x30, 30*8(sp)
    ld      x31, 31*8(sp)
.endm

/* M-mode entry; \vec is the vector slot (-1 = direct / exception). */
.macro MTRAP_ENTRY vec
    csrrw   sp, mscratch, sp
    addi    sp, sp, -TF_SIZE
    SAVE_REGS
    csrr    t0, mscratch
    sd      t0, 2*8(sp)
    csrr    t0, mepc
    sd      t0, TF_EPC(sp)
    csrr    t0, mcause
    sd      t0, TF_CAUSE(sp)
    csrr    t0, mtval
    sd      t0, TF_TVAL(sp)
    csrr    t0, mstatus
    sd      t0, TF_STATUS(sp)
    li      t0, \vec
    sd      t0, TF_VEC(sp)
    li      t0, 3
    sd      t0, TF_LEVEL(sp)
    mv      a0, sp
    call    trap_handler_m
    j       trap_exit_m
.endm

    .text
    .align 2
    .globl trap_entry_m
trap_entry_m:
    MTRAP_ENTRY -1

    .globl trap_exit_m
trap_exit_m:
    ld      t0, TF_EPC(sp)
    csrw    mepc, t0
    ld      t0, TF_STATUS(sp)
    csrw    mstatus, t0
    addi    t0, sp, TF_SIZE
    csrw    mscratch, t0
    RESTORE_REGS
    ld      sp, 2*8(sp)
    mret

/* S-mode entry; \vec as for MTRAP_ENTRY. */
.macro STRAP_ENTRY vec
    csrrw   sp, sscratch, sp
    addi    sp, sp, -TF_SIZE
    SAVE_REGS
    csrr    t0, sscratch
    sd      t0, 2*8(sp)
    csrr    t0, sepc
    sd      t0, TF_EPC(sp)
    csrr    t0, scause
    sd      t0, TF_CAUSE(sp)
    csrr    t0, stval
    sd      t0, TF_TVAL(sp)
    csrr    t0, sstatus
    sd      t0, TF_STATUS(sp)
    li      t0, \vec
    sd      t0, TF_VEC(sp)
    li      t0, 1
    sd      t0, TF_LEVEL(sp)
    mv      a0, sp
    call    trap_handler_s
    j       trap_exit_s
.endm

    .align 2
    .globl trap_entry_s
trap_entry_s:
    STRAP_ENTRY -1

    .globl trap_exit_s
trap_exit_s:
    ld      t0, TF_EPC(sp)
    csrw    sepc, t0
    ld      t0, TF_STATUS(sp)
    csrw    sstatus, t0
    addi    t0, sp, TF_SIZE
    csrw    sscratch, t0
    RESTORE_REGS
    ld      sp, 2*8(sp)
    sret

/* Vectored M table: mtvec = mtvec_table | 1. Slot 0 takes exceptions. */
    .align 8
    .globl mtvec_table
mtvec_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j       mvec_\n
    .endr
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
mvec_\n:
    MTRAP_ENTRY \n
    .endr

/* S-mode vectored table: stvec = stvec_table | 1. */
    .align 8
    .globl stvec_table
stvec_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j       svec_\n
    .endr
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
svec_\n:
    STRAP_ENTRY \n
    .endr

/* ------------------------------------------------------------------------------ */
/* u64 run_in_mode(int mode, u64 (*fn)(u64), u64 arg, u64 sp)
 * Enters `mode` (0=U, 1=S, 3=M) at fn(arg) via mret. fn returns through
 * mode_exit_tramp (+ g_ret_offset), which ecalls back; the M handler then calls
 * mode_return(value) which resumes here. sp = 0 keeps the current stack. */
    .globl run_in_mode
run_in_mode:
    la      t0, g_mode_ctx
    sd      ra, 0(t0)
    sd      sp, 8(t0)
    sd      s0, 16(t0)
    sd      s1, 24(t0)
    sd      s2, 32(t0)
    sd      s3, 40(t0)
    sd      s4, 48(t0)
    sd      s5, 56(t0)
    sd      s6, 64(t0)
    sd      s7, 72(t0)
    sd      s8, 80(t0)
    sd      s9, 88(t0)
    sd      s10, 96(t0)
    sd      s11, 104(t0)
    sd      gp, 112(t0)
    sd      tp, 120(t0)
    csrr    t1, mstatus
    sd      t1, 128(t0)
    /* MPP = mode */
    li      t1, 3 << 11
    csrc    mstatus, t1
    andi    t1, a0, 3
    slli    t1, t1, 11
    csrs    mstatus, t1
    csrw    mepc, a1
    mv      a0, a2
    beqz    a3, 1f
    mv      sp, a3
1:  andi    sp, sp, -16
    la      ra, mode_exit_tramp
    la      t0, g_ret_offset
    ld      t0, 0(t0)
    add     ra, ra, t0
    mret

    .align 2
    .globl mode_exit_tramp
mode_exit_tramp:
    li      a7, MODE_RETURN_MAGIC
    ecall
5:  j       5b

/* void mode_return(u64 value) -- called from the M trap handler (M-mode). */
    .globl mode_return
mode_return:
    mv      a1, a0
    la      t0, _mtrap_stack_top
    csrw    mscratch, t0
    la      t0, _strap_stack_top
    csrw    sscratch, t0
    la      t0, g_trap_depth_m
    sw      zero, 0(t0)
    la      t0, g_trap_depth_s
    sw      zero, 0(t0)
    la      t0, g_mode_ctx
    ld      ra, 0(t0)
    ld      sp, 8(t0)
    ld      s0, 16(t0)
    ld      s1, 24(t0)
    ld      s2, 32(t0)
    ld      s3, 40(t0)
    ld      s4, 48(t0)
    ld      s5, 56(t0)
    ld      s6, 64(t0)
    ld      s7, 72(t0)
    ld      s8, 80(t0)
    ld      s9, 88(t0)
    ld      s10, 96(t0)
    ld      s11, 104(t0)
    ld      gp, 112(t0)
    ld      tp, 120(t0)
    /* restore MIE and MPP=M from the saved mstatus */
    ld      t1, 128(t0)
    li      t2, (1 << 3) | (3 << 11)
    csrc    mstatus, t2
    and     t1, t1, t2
    csrs    mstatus, t1
    mv      a0, a1
    ret

/* ------------------------------------------------------------------------------ */
/* Fault probes: every access is a single 4-byte instruction so the trap handler can
 * skip it. Loads return -1 (the preset) when they fault. */
    .option norvc
.macro PROBE_LOAD name, insn
    .globl probe_\name
probe_\name:
    mv      t0, a0
    li      a0, -1
    \insn   a0, 0(t0)
    ret
.endm
.macro PROBE_STORE name, insn
    .globl probe_\name
probe_\name:
    \insn   a1, 0(a0)
    ret
.endm
    PROBE_LOAD lb, lb
    PROBE_LOAD lh, lh
    PROBE_LOAD lw, lw
    PROBE_LOAD ld, ld
    PROBE_LOAD lbu, lbu
    PROBE_LOAD lhu, lhu
    PROBE_LOAD lwu, lwu
    PROBE_STORE sb, sb
    PROBE_STORE sh, sh
    PROBE_STORE sw, sw
    PROBE_STORE sd, sd

/* ------------------------------------------------------------------------------ */
/* Waiting for traps (interrupts). All variants poll g_trap.count (the first field of
 * g_trap) and return 1 as soon as it is non-zero, 0 on timeout. The whole range
 * [wait_start, wait_end) is "the wait loop" for epc checks (in_wait_loop()).
 *   wait_trap(n)        n polling iterations
 *   wait_trap_sie(n)    sets sstatus.SIE first      wait_trap_nosie(n) clears it first
 *   wait_trap_mie(n)    sets mstatus.MIE first
 *   wait_mtime(t)       until CLINT mtime >= t       wait_mtime_mie(t) sets MIE first
 *   wfi_mtime(t)        wfi in a loop until a trap or mtime >= t
 *   wfi_mtime_mie(t)    wfi with mstatus.MIE = 0, then take a pending interrupt by opening
 *                       MIE for one instruction; until a trap or mtime >= t. (Opening MIE
 *                       before a wfi would race: an interrupt taken just before the wfi
 *                       leaves nothing to wake it.) */
    .globl wait_start, wait_end
    .globl wait_trap, wait_trap_sie, wait_trap_nosie, wait_trap_mie
    .globl wait_mtime, wait_mtime_mie, wfi_mtime, wfi_mtime_mie
    .align 2
wait_start:
wait_trap_sie:
    csrsi   sstatus, 2
    j       wait_trap
wait_trap_nosie:
    csrci   sstatus, 2
    j       wait_trap
wait_trap_mie:
    csrsi   mstatus, 8
wait_trap:
    la      t0, g_trap
1:  ld      t1, 0(t0)
    bnez    t1, 9f
    addi    a0, a0, -1
    bnez    a0, 1b
    li      a0, 0
    ret
wait_mtime_mie:
    csrsi   mstatus, 8
wait_mtime:
    la      t0, g_trap
    li      t3, CLINT_MTIME_ADDR
2:  ld      t1, 0(t0)
    bnez    t1, 9f
    ld      t2, 0(t3)
    bltu    t2, a0, 2b
    li      a0, 0
    ret
wfi_mtime_mie:
    la      t0, g_trap
    li      t3, CLINT_MTIME_ADDR
4:  wfi
    csrsi   mstatus, 8
    csrci   mstatus, 8
    ld      t1, 0(t0)
    bnez    t1, 9f
    ld      t2, 0(t3)
    bltu    t2, a0, 4b
    li      a0, 0
    ret
wfi_mtime:
    la      t0, g_trap
    li      t3, CLINT_MTIME_ADDR
3:  wfi
    ld      t1, 0(t0)
    bnez    t1, 9f
    ld      t2, 0(t3)
    bltu    t2, a0, 3b
    li      a0, 0
    ret
9:  li      a0, 1
    ret
wait_end:

    .data
    .align 3
    .globl g_mode_ctx
g_mode_ctx:
    .space 17*8
    .globl g_ret_offset
g_ret_offset:
    .dword 0
