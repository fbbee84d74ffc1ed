/* SPDX-License-Identifier: MIT */
/*
 * Runtime of the arm64 ISA test programs: PL011 output, a trap record, EL0 calls, exit by
 * PSCI SYSTEM_OFF. Every program prints its signature with pr_*() and ends by returning from
 * main (the runtime prints DONE and powers off).
 */
#ifndef ISA_ARM64_H
#define ISA_ARM64_H

#include <stdint.h>

typedef struct TrapFrame {
    uint64_t x[31];
    uint64_t elr, spsr, kind;
} TrapFrame;

/* What the last exception was; tests set trap_expected before provoking one. The default
 * handler records it and resumes at the next instruction (ELR + 4) for synchronous ones,
 * except when trap_resume is set (then at trap_resume). */
typedef struct TrapRecord {
    uint64_t count, kind, esr, far, elr, spsr;
} TrapRecord;
extern volatile TrapRecord trap;
extern volatile int trap_expected;
extern volatile uint64_t trap_resume;
/* An interrupt handler the program installs (kind 1/5/9: IRQ); NULL: unexpected. */
extern void (*volatile irq_handler)(TrapFrame *f);

void putc_(char c);
void pr_str(const char *s);
void pr_hex(uint64_t v); /* 16 hex digits */
/* "name value\n" */
void pr(const char *name, uint64_t v);
void exit_ok(void) __attribute__((noreturn));
void fail(const char *why) __attribute__((noreturn));

uint64_t run_el0(uint64_t (*fn)(uint64_t), uint64_t arg);
uint64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);

#define SYSREG_READ(name)                                        \
    ({                                                           \
        uint64_t v_;                                             \
        __asm__ volatile("mrs %0, " #name : "=r"(v_)::"memory"); \
        v_;                                                      \
    })
#define SYSREG_WRITE(name, v) __asm__ volatile("msr " #name ", %0" ::"r"((uint64_t)(v)) : "memory")
#define ISB()                 __asm__ volatile("isb" ::: "memory")

/* ESR without ISS bits 24:14 (ISV, SAS, SSE, SRT, SF, AR): the instruction syndrome of a data
 * abort is IMPLEMENTATION DEFINED for stage 1 aborts taken to EL1 (QEMU fills it, Vessel
 * does not). */
#define ESR_NO_ISV(e) ((e) & ~(0x7ffull << 14))

#endif
