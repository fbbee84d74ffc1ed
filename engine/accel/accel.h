/* SPDX-License-Identifier: MIT */
/*
 * The hardware-acceleration interface (the plan's `Accel` trait, in C).
 *
 * A backend (KVM today; HVF and WHPX later) implements AccelOps. An AccelVm owns the guest's
 * memory slots, its in-kernel interrupt controllers and timers; an AccelVcpu runs guest code
 * until something needs the VMM (an exit). The vCPU loop (accel/accel-cpu.c), the devices
 * and the boards are the same ones the interpreter uses: exits are dispatched to the
 * machine's port bus and physical memory map.
 *
 * Everything an exit reports comes from a hostile guest: the backend checks sizes and
 * offsets against its own buffers before it fills an AccelExit, and the vCPU loop checks
 * ports and addresses against the device maps.
 */
#ifndef VESSEL_ACCEL_H
#define VESSEL_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmu/mmu.h"
#include "vessel/engine.h"

typedef struct AccelOps AccelOps;

/* Every backend's VM and vCPU start with these, so the wrappers below can dispatch. */
typedef struct AccelVm {
    const AccelOps *ops;
} AccelVm;

typedef struct AccelVcpu {
    AccelVm *vm;
    unsigned index;
} AccelVcpu;

typedef struct AccelVmConfig {
    unsigned ncpus;
    /* In-kernel interrupt controllers (x86: PIC, IOAPIC, per-vCPU LAPIC) and timer (PIT).
     * Without them HLT and interrupt windows come back to the VMM as exits. */
    bool irqchip;
} AccelVmConfig;

typedef enum AccelExitKind {
    ACCEL_EXIT_IO = 0,        /* x86 port I/O: exit.io */
    ACCEL_EXIT_MMIO,          /* an access outside the memory slots: exit.mmio */
    ACCEL_EXIT_HALT,          /* HLT (only without an in-kernel LAPIC) */
    ACCEL_EXIT_SHUTDOWN,      /* triple fault: the CPU cannot continue */
    ACCEL_EXIT_IRQ_WINDOW,    /* the guest can take an interrupt now (asked for) */
    ACCEL_EXIT_INTERRUPTED,   /* a kick (accel_vcpu_kick) or a signal ended the run */
    ACCEL_EXIT_SYSTEM_EVENT,  /* the hypervisor reports a power-off, reset or crash */
    ACCEL_EXIT_INTERNAL_ERROR /* the hypervisor could not emulate or enter; see message */
} AccelExitKind;

typedef enum AccelSystemEvent {
    ACCEL_EVENT_SHUTDOWN = 0,
    ACCEL_EVENT_RESET,
    ACCEL_EVENT_CRASH,
} AccelSystemEvent;

typedef struct AccelExit {
    AccelExitKind kind;
    /*
     * ACCEL_EXIT_IO: `count` items of `size` bytes (1, 2 or 4) at `data`, for port `port`.
     * A write's data is read from there; a read's result must be stored there before the
     * next run (it is the backend's shared page).
     */
    struct {
        uint16_t port;
        uint8_t size;
        bool write;
        uint32_t count;
        uint8_t *data;
    } io;
    /* ACCEL_EXIT_MMIO: `size` (1, 2, 4 or 8) bytes at guest physical `addr`; data as io. */
    struct {
        uint64_t addr;
        uint8_t size;
        bool write;
        uint8_t *data;
    } mmio;
    AccelSystemEvent event;
    /* The backend's raw exit code and a sentence for messages (INTERNAL_ERROR, events). */
    uint32_t raw_reason;
    char message[160];
} AccelExit;

/* x86-64 general registers (KVM_GET_REGS order is not assumed). */
typedef struct AccelX86Regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
} AccelX86Regs;

typedef struct AccelX86Segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g, avl, unusable;
} AccelX86Segment;

typedef struct AccelX86Sregs {
    AccelX86Segment cs, ds, es, fs, gs, ss, tr, ldt;
    uint64_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
    uint64_t cr0, cr2, cr3, cr4, efer;
} AccelX86Sregs;

/* Memory slot flags. */
enum {
    ACCEL_MEM_READONLY = 1u << 0, /* writes exit as MMIO (ROM) */
};

struct AccelOps {
    const char *name; /* "KVM" */
    /* Can this host run a VM with this backend? Fills why with the reason when not (one
     * line, e.g. "/dev/kvm: permission denied") or a short description when it can. */
    bool (*available)(char *why, size_t len);
    /* The cheap part of available(): the device opens and has every capability needed, no
     * VM is created (vm_create reports its own failure). For choosing a tier at start-up. */
    bool (*usable)(char *why, size_t len);
    VsStatus (*vm_create)(const AccelVmConfig *cfg, AccelVm **out, VsError *err);
    /* All vCPUs must have been destroyed. */
    void (*vm_destroy)(AccelVm *vm);
    /*
     * Make the guest physical map of the VM equal to pm's RAM and ROM regions (MMIO regions
     * stay unmapped: accesses exit). Called after the board has built its map and again
     * whenever regions change: slots of regions that are gone are removed, new ones added.
     */
    VsStatus (*sync_memory)(AccelVm *vm, const PhysMem *pm, VsError *err);
    VsStatus (*vcpu_create)(AccelVm *vm, unsigned index, AccelVcpu **out, VsError *err);
    void (*vcpu_destroy)(AccelVcpu *vcpu);
    /* Run until an exit. VS_OK with *exit filled, or an error when the run call failed. */
    VsStatus (*vcpu_run)(AccelVcpu *vcpu, AccelExit *exit, VsError *err);
    /* Make a running (or about to run) vCPU return ACCEL_EXIT_INTERRUPTED soon. Any thread. */
    void (*vcpu_kick)(AccelVcpu *vcpu);
    /* The thread that ran the vCPU is leaving: kicks no longer signal it (a signal to a
     * thread that has been joined is undefined behaviour). Called by that thread. */
    void (*vcpu_thread_done)(AccelVcpu *vcpu);
    VsStatus (*get_regs)(AccelVcpu *vcpu, AccelX86Regs *regs, VsError *err);
    VsStatus (*set_regs)(AccelVcpu *vcpu, const AccelX86Regs *regs, VsError *err);
    VsStatus (*get_sregs)(AccelVcpu *vcpu, AccelX86Sregs *sregs, VsError *err);
    VsStatus (*set_sregs)(AccelVcpu *vcpu, const AccelX86Sregs *sregs, VsError *err);
    /* Power-on state of the vCPU for a board's direct boot: CPUID for this vCPU, the basic
     * MSRs (TSC, SYSENTER/SYSCALL, MTRR default type), FPU control words and, with an
     * in-kernel LAPIC, LINT0 = ExtINT and LINT1 = NMI. Registers are the board's. */
    VsStatus (*vcpu_boot_setup)(AccelVcpu *vcpu, VsError *err);
    /* Whether the vCPU may start running now; false leaves an AP waiting for INIT/SIPI. */
    VsStatus (*vcpu_set_runnable)(AccelVcpu *vcpu, bool runnable, VsError *err);
    /* Drive an interrupt line of the in-kernel controllers (x86: PIC and IOAPIC pin). */
    VsStatus (*set_irq_line)(AccelVm *vm, unsigned gsi, bool level, VsError *err);
    /* Queue an external interrupt vector on a vCPU without an in-kernel LAPIC. */
    VsStatus (*inject_interrupt)(AccelVcpu *vcpu, unsigned vector, VsError *err);
    /* Exit with ACCEL_EXIT_IRQ_WINDOW as soon as the guest can take an interrupt. */
    void (*request_irq_window)(AccelVcpu *vcpu, bool on);
    /*
     * An eventfd whose every write raises `gsi` in the kernel, not via a vCPU. Without a
     * resample fd (-1) a write is an edge. With one, the line is level-triggered: a write
     * asserts it, the kernel deasserts it when the guest ends the interrupt (IOAPIC EOI)
     * and then signals resample_fd, on which the VMM asserts it again (a write to fd) if the
     * device still holds its line high (x86: KVM_IRQFD_FLAG_RESAMPLE).
     */
    VsStatus (*irqfd_add)(AccelVm *vm, int fd, int resample_fd, unsigned gsi, VsError *err);
    void (*irqfd_remove)(AccelVm *vm, int fd, unsigned gsi);
    /* An eventfd signalled (without an exit) by guest writes of `len` bytes at `addr` in
     * port space (pio) or memory; with match, only when the value written equals `value`. */
    VsStatus (*ioeventfd_add)(AccelVm *vm, int fd, bool pio, uint64_t addr, unsigned len,
                              bool match, uint64_t value, VsError *err);
    void (*ioeventfd_remove)(AccelVm *vm, int fd, bool pio, uint64_t addr, unsigned len, bool match,
                             uint64_t value);
    /* Dirty-page logging on every RAM slot (on, or off). */
    VsStatus (*dirty_log)(AccelVm *vm, bool on, VsError *err);
    /* Pages written since the last call, for the slot holding [gpa, gpa + size): bit i of
     * bitmap (little-endian 64-bit words) is page gpa + i * 4096. gpa and size must be
     * exactly one RAM region. Clears the log. */
    VsStatus (*dirty_get)(AccelVm *vm, uint64_t gpa, uint64_t size, uint64_t *bitmap, VsError *err);
    /*
     * Log writes to [gpa, gpa + size) (page aligned, inside one RAM region) in a memory slot
     * of its own, so that logging a framebuffer costs the rest of RAM nothing; dirty_get
     * with the same gpa and size reads it. on = false ends it. Re-maps memory: every vCPU
     * must be outside vcpu_run (slots are briefly absent while they are split).
     */
    VsStatus (*dirty_track)(AccelVm *vm, uint64_t gpa, uint64_t size, bool on, VsError *err);
    /* System reset: the in-kernel interrupt controllers and timer back to their power-on
     * state (every vCPU outside vcpu_run). */
    VsStatus (*vm_reset)(AccelVm *vm, VsError *err);
    /* The vCPU back to its power-on (INIT) state: registers, system registers, LAPIC,
     * pending events, debug registers, XCR0; then vcpu_boot_setup's CPUID, MSRs and FPU.
     * Not running. The board sets its boot registers and runnable state afterwards. */
    VsStatus (*vcpu_reset)(AccelVcpu *vcpu, VsError *err);
};

#if defined(__linux__) && defined(__x86_64__)
#define VS_HAVE_KVM 1
extern const AccelOps accel_kvm_ops;
#endif
#if defined(_WIN32) && defined(__x86_64__)
/* Windows Hypervisor Platform (accel/whpx.c): compiled with mingw-w64, never run yet. */
#define VS_HAVE_WHPX 1
extern const AccelOps accel_whpx_ops;
#endif

/* Short names for the calls, dispatching through the VM's backend. */
static inline VsStatus accel_vcpu_run(AccelVcpu *c, AccelExit *e, VsError *err)
{
    return c->vm->ops->vcpu_run(c, e, err);
}

static inline void accel_vcpu_kick(AccelVcpu *c)
{
    c->vm->ops->vcpu_kick(c);
}

static inline VsStatus accel_set_irq_line(AccelVm *vm, unsigned gsi, bool level, VsError *err)
{
    return vm->ops->set_irq_line(vm, gsi, level, err);
}

#endif
