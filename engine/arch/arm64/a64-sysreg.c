/* SPDX-License-Identifier: MIT */
/*
 * arm64 system state: PSTATE and SP banking, exception entry and return (Arm ARM D1), the
 * EL0/EL1 system registers, ID registers and the generic timer (D11).
 *
 * The ID registers describe a Cortex-A72-like ARMv8.0 CPU with exactly what the frontend
 * implements: AArch64 only at EL0/EL1, no EL2/EL3, FP and AdvSIMD without half precision
 * arithmetic (PFR0.FP/AdvSIMD = 0), LSE atomics and CRC32 (ISAR0: no AES/SHA/PMULL), 4 KiB granule
 * only, 16-bit ASIDs, 44-bit PA, no PMU, GICv3 system registers when the board has a GIC.
 */
#include <stdio.h>
#include <string.h>

#include "arch/arm64/a64-cpu.h"
#include "core/blocks.h"
#include "core/machine.h"
#include "osal/osal.h"

#define SR(op0, op1, crn, crm, op2) \
    ((unsigned)(((op0) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2)))

/* clang-format off */
#define MIDR_A72        0x410fd083ull /* Cortex-A72 r0p3 */
#define ID_PFR0_GIC     (1ull << 24)
#define ID_PFR0         0x11ull /* EL0/EL1 AArch64; FP, AdvSIMD (fields 0: no FP16) */
#define ID_ISAR0        ((1ull << 16) | (2ull << 20)) /* CRC32, LSE atomics */
#define ID_MMFR0        (4ull | (2ull << 4) | (0xfull << 24)) /* 44-bit PA, 16-bit ASID, no 64K */
#define ID_DFR0         (6ull | (1ull << 12) | (1ull << 20)) /* v8 debug, 2 BRPs, 2 WRPs */
#define CTR_A72         0x8444c004ull
#define DCZID           4ull /* DC ZVA: 64 bytes */
#define CLIDR_A72       0x0a200023ull
/* clang-format on */

/* ---- PSTATE ---- */

void a64_set_el_spsel(A64Cpu *cpu, unsigned el, unsigned spsel)
{
    /* SP_EL0 is used at EL0 and at EL1 with SPSel = 0. */
    unsigned old = (cpu->el && cpu->spsel) ? 1 : 0;
    unsigned nw = (el && spsel) ? 1 : 0;
    if (old != nw) {
        cpu->sp_el[old] = cpu->sp;
        cpu->sp = cpu->sp_el[nw];
    }
    cpu->el = el;
    cpu->spsel = spsel;
}

uint64_t a64_nzcv(A64Cpu *cpu)
{
    return ((cpu->nf >> 63) << 31) | ((uint64_t)(cpu->zf == 0) << 30) | ((cpu->cf & 1) << 29) |
           ((cpu->vf >> 63) << 28);
}

void a64_set_nzcv(A64Cpu *cpu, uint64_t v)
{
    cpu->nf = (v >> 31) & 1 ? ~0ull : 0;
    cpu->zf = (v >> 30) & 1 ? 0 : 1;
    cpu->cf = (v >> 29) & 1;
    cpu->vf = (v >> 28) & 1 ? ~0ull : 0;
}

uint64_t a64_pstate(A64Cpu *cpu)
{
    return a64_nzcv(cpu) | (cpu->il ? 1ull << 20 : 0) | (cpu->daif & 0x3c0) | (cpu->el << 2) |
           (cpu->el ? cpu->spsel : 0);
}

/* CPACR_EL1.FPEN: 0b01 traps EL0 only, 0b11 traps nothing, 0bx0 traps EL0 and EL1. */
bool a64_fp_enabled(A64Cpu *cpu)
{
    unsigned fpen = (cpu->cpacr >> 20) & 3;
    return fpen == 3 || (fpen == 1 && cpu->el == 1);
}

uint32_t a64_exec_mode(A64Cpu *cpu)
{
    uint32_t m = cpu->el ? A64_MODE_EL1 : 0;
    if (cpu->sctlr & A64_SCTLR_A)
        m |= A64_MODE_ALIGN;
    if (cpu->il)
        m |= A64_MODE_IL;
    if (a64_fp_enabled(cpu))
        m |= A64_MODE_FP;
    return m;
}

/* ---- exceptions ---- */

void a64_take_exception(A64Cpu *cpu, unsigned vec, uint64_t esr, uint64_t elr, uint64_t far,
                        bool far_valid)
{
    VsCpu *vc = &cpu->common;
    uint64_t base;
    if (cpu->el == 0)
        base = 0x400;
    else
        base = cpu->spsel ? 0x200 : 0x000;
    if (vc->machine->cfg.trace & VS_TRACE_INT)
        fprintf(stderr, "cpu%u: exception vec 0x%x esr 0x%llx elr 0x%llx far 0x%llx el%u\n",
                vc->index, vec, (unsigned long long)esr, (unsigned long long)elr,
                (unsigned long long)far, (unsigned)cpu->el);
    cpu->spsr = a64_pstate(cpu);
    if (vec == A64_VEC_SYNC) {
        cpu->esr = esr;
        if (far_valid)
            cpu->far = far;
    }
    cpu->elr = elr;
    a64_set_el_spsel(cpu, 1, 1);
    cpu->daif = A64_DAIF_D | A64_DAIF_A | A64_DAIF_I | A64_DAIF_F;
    cpu->il = false;
    cpu->pc = cpu->vbar + base + vec;
}

void a64_raise_sync(A64Cpu *cpu, unsigned ec, uint32_t iss, uint64_t far, bool far_valid)
{
    uint64_t pc = vs_cpu_current_pc(&cpu->common);
    uint64_t esr = ((uint64_t)ec << 26) | (1u << 25) | iss;
    a64_take_exception(cpu, A64_VEC_SYNC, esr, pc, far, far_valid);
    vs_cpu_unwind(&cpu->common);
}

uint64_t a64_eret(A64Cpu *cpu)
{
    uint64_t spsr = cpu->spsr, target = cpu->elr;
    unsigned m = spsr & 0x1f;
    /* Legal targets: EL0t (0b00000), EL1t (0b00100), EL1h (0b00101). Anything else (AArch32,
     * EL2/EL3, reserved) is an illegal exception return: PSTATE.IL is set, EL and SP stay. */
    bool legal = m == 0 || m == 4 || m == 5;
    a64_set_nzcv(cpu, spsr);
    cpu->daif = spsr & 0x3c0;
    if (legal) {
        a64_set_el_spsel(cpu, m >> 2, m & 1);
        cpu->il = (spsr >> 20) & 1;
    } else {
        cpu->il = true;
    }
    cpu->excl_addr = ~0ull;
    return target;
}

/* ---- generic timer ---- */

uint64_t a64_counter(void)
{
    return vs_clock_ns() / A64_TIMER_NS;
}

static uint64_t timer_count(A64Timer *t)
{
    uint64_t now = a64_counter();
    return t->which == A64_TIMER_VIRT ? now - t->cpu->cntvoff : now;
}

static bool timer_istatus(A64Timer *t)
{
    return (t->ctl & 1) && timer_count(t) >= t->cval;
}

/* Recompute the output line and re-arm the host timer; t->lock held. */
static void timer_update_locked(A64Timer *t)
{
    bool ist = timer_istatus(t);
    bool level = ist && !(t->ctl & 2);
    if ((t->ctl & 1) && !ist) {
        uint64_t offset = t->which == A64_TIMER_VIRT ? t->cpu->cntvoff : 0;
        uint64_t ticks = t->cval + offset;
        uint64_t ns = ticks > UINT64_MAX / A64_TIMER_NS ? UINT64_MAX : ticks * A64_TIMER_NS;
        vs_timer_mod(&t->host, ns);
    } else {
        vs_timer_del(&t->host);
    }
    /* The line is driven under the lock: the vCPU and the timer thread both update it, and
     * two levels computed apart must reach the interrupt controller in the same order. */
    A64Cpu *cpu = t->cpu;
    if (level != t->level && cpu->hooks.timer_irq)
        cpu->hooks.timer_irq(cpu->hooks.opaque, cpu->common.index, t->which, level);
    t->level = level;
}

/* Recompute the output line and re-arm the host timer. Any thread (takes t->lock). */
void a64_timer_update(A64Timer *t)
{
    pthread_mutex_lock(&t->lock);
    timer_update_locked(t);
    pthread_mutex_unlock(&t->lock);
}

/* A guest write of CTL or CVAL: the timer thread reads both under t->lock. */
static void timer_write(A64Timer *t, bool ctl, uint64_t v)
{
    pthread_mutex_lock(&t->lock);
    if (ctl)
        t->ctl = v & 3;
    else
        t->cval = v;
    timer_update_locked(t);
    pthread_mutex_unlock(&t->lock);
}

static uint64_t timer_ctl_read(A64Timer *t)
{
    return (t->ctl & 3) | (timer_istatus(t) ? 4 : 0);
}

/* ---- system registers ---- */

static uint64_t ccsidr(A64Cpu *cpu)
{
    switch (cpu->csselr & 0xf) {
    case 0: return 0x701fe00aull; /* L1 D: 32 KiB, 64-byte lines */
    case 1: return 0x201fe012ull; /* L1 I: 48 KiB */
    case 2: return 0x707fe07aull; /* L2: 1 MiB */
    default: return 0;
    }
}

/* EL0 access checks: returns 0 if allowed, 1 for UNDEFINED, 2 for a trap to EL1 (EC 0x18). */
static int el0_access(A64Cpu *cpu, unsigned enc, bool write)
{
    uint64_t k = cpu->cntkctl;
    switch (enc) {
    case SR(3, 3, 4, 2, 0):            /* NZCV */
    case SR(3, 3, 4, 4, 0):            /* FPCR (CPACR_EL1.FPEN is checked by the translator) */
    case SR(3, 3, 4, 4, 1):            /* FPSR */
    case SR(3, 3, 13, 0, 2): return 0; /* TPIDR_EL0 */
    case SR(3, 3, 13, 0, 3): return write ? 1 : 0;                       /* TPIDRRO_EL0 */
    case SR(3, 3, 4, 2, 1): return (cpu->sctlr & A64_SCTLR_UMA) ? 0 : 2; /* DAIF */
    case SR(3, 3, 0, 0, 1): return write ? 1 : (cpu->sctlr & A64_SCTLR_UCT) ? 0 : 2; /* CTR */
    case SR(3, 3, 0, 0, 7): return write ? 1 : 0;                                    /* DCZID */
    case SR(3, 3, 14, 0, 0): return write ? 1 : (k & 3) ? 0 : 2;                     /* CNTFRQ */
    case SR(3, 3, 14, 0, 1): return write ? 1 : (k & 1) ? 0 : 2;                     /* CNTPCT */
    case SR(3, 3, 14, 0, 2): return write ? 1 : (k & 2) ? 0 : 2;                     /* CNTVCT */
    case SR(3, 3, 14, 2, 0):
    case SR(3, 3, 14, 2, 1):
    case SR(3, 3, 14, 2, 2): return (k & (1u << 9)) ? 0 : 2; /* CNTP_* */
    case SR(3, 3, 14, 3, 0):
    case SR(3, 3, 14, 3, 1):
    case SR(3, 3, 14, 3, 2): return (k & (1u << 8)) ? 0 : 2; /* CNTV_* */
    default: return 1;
    }
}

static bool is_icc(unsigned enc)
{
    /* op0 3, op1 0: CRn 12 CRm 8..12, and ICC_PMR_EL1 (CRn 4 CRm 6 op2 0). */
    unsigned crn = (enc >> 7) & 0xf, crm = (enc >> 3) & 0xf, op1 = (enc >> 11) & 7;
    return (enc >> 14) == 3 && op1 == 0 &&
           ((crn == 12 && crm >= 8 && crm <= 12) || enc == SR(3, 0, 4, 6, 0));
}

int a64_sysreg_access_check(A64Cpu *cpu, unsigned enc, bool write)
{
    if (cpu->el == 0)
        return el0_access(cpu, enc, write);
    return 0;
}

bool a64_sysreg_read(A64Cpu *cpu, unsigned enc, uint64_t *val)
{
    uint64_t v = 0;
    if (is_icc(enc)) {
        if (!cpu->hooks.icc_read)
            return false;
        return cpu->hooks.icc_read(cpu->hooks.opaque, cpu->common.index, enc, val);
    }
    switch (enc) {
    case SR(3, 3, 4, 2, 0): v = a64_nzcv(cpu); break;
    case SR(3, 3, 4, 2, 1): v = cpu->daif; break;
    case SR(3, 3, 4, 4, 0): v = cpu->fpcr; break;
    case SR(3, 3, 4, 4, 1): v = cpu->fpsr; break;
    case SR(3, 0, 4, 2, 2): v = cpu->el << 2; break; /* CurrentEL */
    case SR(3, 0, 4, 2, 0): v = cpu->spsel; break;   /* SPSel */
    case SR(3, 0, 4, 1, 0):                          /* SP_EL0 */
        if (cpu->spsel == 0)
            return false; /* UNDEFINED while SP_EL0 is the current stack pointer */
        v = cpu->sp_el[0];
        break;
    case SR(3, 0, 4, 0, 0): v = cpu->spsr; break;
    case SR(3, 0, 4, 0, 1): v = cpu->elr; break;
    case SR(3, 0, 0, 0, 0): v = MIDR_A72; break;
    case SR(3, 0, 0, 0, 5): v = cpu->mpidr; break;
    case SR(3, 0, 0, 0, 6): v = 0; break; /* REVIDR */
    case SR(3, 0, 0, 4, 0): v = ID_PFR0 | (cpu->hooks.icc_read ? ID_PFR0_GIC : 0); break;
    case SR(3, 0, 0, 5, 0): v = ID_DFR0; break;
    case SR(3, 0, 0, 6, 0): v = ID_ISAR0; break;
    case SR(3, 0, 0, 7, 0): v = ID_MMFR0; break;
    case SR(3, 0, 1, 0, 0): v = cpu->sctlr; break;
    case SR(3, 0, 1, 0, 1): v = 0; break; /* ACTLR_EL1 */
    case SR(3, 0, 1, 0, 2): v = cpu->cpacr; break;
    case SR(3, 0, 2, 0, 0): v = cpu->ttbr0; break;
    case SR(3, 0, 2, 0, 1): v = cpu->ttbr1; break;
    case SR(3, 0, 2, 0, 2): v = cpu->tcr; break;
    case SR(3, 0, 5, 1, 0): v = cpu->afsr0; break;
    case SR(3, 0, 5, 1, 1): v = cpu->afsr1; break;
    case SR(3, 0, 5, 2, 0): v = cpu->esr; break;
    case SR(3, 0, 6, 0, 0): v = cpu->far; break;
    case SR(3, 0, 7, 4, 0): v = cpu->par; break;
    case SR(3, 0, 10, 2, 0): v = cpu->mair; break;
    case SR(3, 0, 10, 3, 0): v = cpu->amair; break;
    case SR(3, 0, 12, 0, 0): v = cpu->vbar; break;
    case SR(3, 0, 12, 1, 0): /* ISR_EL1: pending I/F */
        v = (atomic_load(&cpu->irq_line) ? 0x80 : 0) | (atomic_load(&cpu->fiq_line) ? 0x40 : 0);
        break;
    case SR(3, 0, 13, 0, 1): v = cpu->contextidr; break;
    case SR(3, 0, 13, 0, 4): v = cpu->tpidr_el1; break;
    case SR(3, 0, 14, 1, 0): v = cpu->cntkctl; break;
    case SR(3, 1, 0, 0, 0): v = ccsidr(cpu); break;
    case SR(3, 1, 0, 0, 1): v = CLIDR_A72; break;
    case SR(3, 2, 0, 0, 0): v = cpu->csselr; break;
    case SR(3, 3, 0, 0, 1): v = CTR_A72; break;
    case SR(3, 3, 0, 0, 7): v = DCZID; break;
    case SR(3, 3, 13, 0, 2): v = cpu->tpidr_el0; break;
    case SR(3, 3, 13, 0, 3): v = cpu->tpidrro_el0; break;
    case SR(3, 3, 14, 0, 0): v = A64_CNTFRQ_HZ; break;
    case SR(3, 3, 14, 0, 1): v = a64_counter(); break;
    case SR(3, 3, 14, 0, 2): v = a64_counter() - cpu->cntvoff; break;
    case SR(3, 3, 14, 2, 0):
    case SR(3, 3, 14, 3, 0): { /* CNTx_TVAL: 32-bit signed distance to CVAL */
        A64Timer *t = &cpu->timer[enc == SR(3, 3, 14, 3, 0)];
        v = (uint32_t)(t->cval - timer_count(t));
        break;
    }
    case SR(3, 3, 14, 2, 1): v = timer_ctl_read(&cpu->timer[A64_TIMER_PHYS]); break;
    case SR(3, 3, 14, 3, 1): v = timer_ctl_read(&cpu->timer[A64_TIMER_VIRT]); break;
    case SR(3, 3, 14, 2, 2): v = cpu->timer[A64_TIMER_PHYS].cval; break;
    case SR(3, 3, 14, 3, 2): v = cpu->timer[A64_TIMER_VIRT].cval; break;
    /* Debug: the OS lock and MDSCR (Linux programs them at boot). */
    case SR(2, 0, 0, 2, 2): v = cpu->mdscr; break;
    case SR(2, 0, 1, 1, 4): v = cpu->oslsr; break; /* OSLSR_EL1 */
    case SR(2, 0, 1, 3, 4): v = 0; break;          /* OSDLR_EL1 */
    default:
        /* The rest of the ID register space (op0 3, op1 0, CRn 0, CRm 1..7) reads as zero:
         * reserved ID registers and features that are not implemented. */
        if ((enc >> 7) == (SR(3, 0, 0, 0, 0) >> 7) && ((enc >> 3) & 0xf) >= 1)
            break;
        /* Breakpoint and watchpoint registers 0 and 1. */
        if ((enc & ~(0xfu << 3 | 7u)) == SR(2, 0, 0, 0, 0) && ((enc >> 3) & 0xf) < 2 &&
            (enc & 7) >= 4) {
            v = cpu->dbg[((enc >> 3) & 1) * 4 + (enc & 7) - 4];
            break;
        }
        return false;
    }
    *val = v;
    return true;
}

static void mmu_changed(A64Cpu *cpu)
{
    tlb_flush_all(&cpu->common);
    jmp_cache_flush(&cpu->common);
}

bool a64_sysreg_write(A64Cpu *cpu, unsigned enc, uint64_t v)
{
    if (is_icc(enc)) {
        if (!cpu->hooks.icc_write)
            return false;
        return cpu->hooks.icc_write(cpu->hooks.opaque, cpu->common.index, enc, v);
    }
    switch (enc) {
    case SR(3, 3, 4, 2, 0): a64_set_nzcv(cpu, v); break;
    case SR(3, 3, 4, 2, 1): cpu->daif = v & 0x3c0; break;
    case SR(3, 3, 4, 4, 0): cpu->fpcr = v & A64_FPCR_MASK; break;
    case SR(3, 3, 4, 4, 1): cpu->fpsr = v & A64_FPSR_MASK; break;
    case SR(3, 0, 4, 2, 0): a64_set_el_spsel(cpu, (unsigned)cpu->el, v & 1); break;
    case SR(3, 0, 4, 1, 0):
        if (cpu->spsel == 0)
            return false;
        cpu->sp_el[0] = v;
        break;
    case SR(3, 0, 4, 0, 0): cpu->spsr = v & 0xf01003dfull; break;
    case SR(3, 0, 4, 0, 1): cpu->elr = v; break;
    case SR(3, 0, 1, 0, 0): {
        uint64_t old = cpu->sctlr;
        /* Stored as written (RES1 bits included, as QEMU does), except EE/E0E: this CPU
         * is little-endian only (ID_AA64MMFR0_EL1.BigEnd = 0). */
        cpu->sctlr = v & 0xfcffffffull;
        if ((old ^ cpu->sctlr) & (A64_SCTLR_M | A64_SCTLR_WXN))
            mmu_changed(cpu);
        break;
    }
    case SR(3, 0, 1, 0, 1): break; /* ACTLR_EL1: nothing implementation defined */
    case SR(3, 0, 1, 0, 2): cpu->cpacr = v & (3ull << 20); break;
    case SR(3, 0, 2, 0, 0):
        cpu->ttbr0 = v;
        mmu_changed(cpu);
        break;
    case SR(3, 0, 2, 0, 1):
        cpu->ttbr1 = v;
        mmu_changed(cpu);
        break;
    case SR(3, 0, 2, 0, 2):
        cpu->tcr = v & 0x0000007fffffffffull;
        mmu_changed(cpu);
        break;
    case SR(3, 0, 5, 1, 0): cpu->afsr0 = v; break;
    case SR(3, 0, 5, 1, 1): cpu->afsr1 = v; break;
    case SR(3, 0, 5, 2, 0): cpu->esr = v & 0xffffffffull; break;
    case SR(3, 0, 6, 0, 0): cpu->far = v; break;
    case SR(3, 0, 7, 4, 0): cpu->par = v; break;
    case SR(3, 0, 10, 2, 0): cpu->mair = v; break;
    case SR(3, 0, 10, 3, 0): cpu->amair = v; break;
    case SR(3, 0, 12, 0, 0): cpu->vbar = v & ~0x7ffull; break;
    case SR(3, 0, 13, 0, 1): cpu->contextidr = v & 0xffffffffull; break;
    case SR(3, 0, 13, 0, 4): cpu->tpidr_el1 = v; break;
    case SR(3, 0, 14, 1, 0): cpu->cntkctl = v & 0x3ffull; break;
    case SR(3, 2, 0, 0, 0): cpu->csselr = v & 0xf; break;
    case SR(3, 3, 13, 0, 2): cpu->tpidr_el0 = v; break;
    case SR(3, 3, 13, 0, 3): cpu->tpidrro_el0 = v; break;
    case SR(3, 3, 14, 2, 0):
    case SR(3, 3, 14, 3, 0): { /* TVAL: CVAL = now + signed 32-bit value */
        A64Timer *t = &cpu->timer[enc == SR(3, 3, 14, 3, 0)];
        timer_write(t, false, timer_count(t) + (uint64_t)(int64_t)(int32_t)v);
        break;
    }
    case SR(3, 3, 14, 2, 1):
    case SR(3, 3, 14, 3, 1): {
        A64Timer *t = &cpu->timer[enc == SR(3, 3, 14, 3, 1)];
        timer_write(t, true, v);
        break;
    }
    case SR(3, 3, 14, 2, 2):
    case SR(3, 3, 14, 3, 2): {
        A64Timer *t = &cpu->timer[enc == SR(3, 3, 14, 3, 2)];
        timer_write(t, false, v);
        break;
    }
    case SR(2, 0, 0, 2, 2): cpu->mdscr = v & 0xe80cfull; break;
    case SR(2, 0, 1, 0, 4): cpu->oslsr = (v & 1) ? 0xa : 0x8; break; /* OSLAR_EL1 */
    case SR(2, 0, 1, 3, 4): break;                                   /* OSDLR_EL1 */
    default:
        if ((enc & ~(0xfu << 3 | 7u)) == SR(2, 0, 0, 0, 0) && ((enc >> 3) & 0xf) < 2 &&
            (enc & 7) >= 4) {
            cpu->dbg[((enc >> 3) & 1) * 4 + (enc & 7) - 4] = v;
            break;
        }
        return false;
    }
    return true;
}

/* ---- interrupts and reset ---- */

void a64_cpu_set_irq(A64Cpu *cpu, bool irq, bool fiq)
{
    bool oi = atomic_exchange(&cpu->irq_line, irq);
    bool of = atomic_exchange(&cpu->fiq_line, fiq);
    if ((irq && !oi) || (fiq && !of))
        vs_cpu_kick(&cpu->common, CPU_REQ_IRQ);
}

static void timer_fire(void *opaque)
{
    a64_timer_update(opaque);
}

void a64_cpu_reset(A64Cpu *cpu)
{
    VsCpu *vc = &cpu->common;
    A64BoardHooks hooks = cpu->hooks;
    for (unsigned i = 0; i < 2; i++) {
        if (cpu->timer[i].cpu) {
            vs_timer_del(&cpu->timer[i].host);
            /* The interrupt controller keeps input levels across a reset: lower ours. */
            pthread_mutex_lock(&cpu->timer[i].lock);
            if (cpu->timer[i].level && hooks.timer_irq)
                hooks.timer_irq(hooks.opaque, vc->index, i, false);
            cpu->timer[i].level = false;
            cpu->timer[i].ctl = 0;
            cpu->timer[i].cval = 0;
            pthread_mutex_unlock(&cpu->timer[i].lock);
        } else {
            cpu->timer[i].cpu = cpu;
            cpu->timer[i].which = i;
            pthread_mutex_init(&cpu->timer[i].lock, NULL);
            vs_timer_init(&cpu->timer[i].host, &vc->machine->timers, timer_fire, &cpu->timer[i]);
            cpu->timer[i].ctl = 0;
            cpu->timer[i].cval = 0;
            cpu->timer[i].level = false;
        }
    }
    size_t start = offsetof(A64Cpu, x), end = offsetof(A64Cpu, timer);
    memset((char *)cpu + start, 0, end - start);
    cpu->excl_addr = ~0ull;
    cpu->el = 1;
    cpu->spsel = 1;
    cpu->daif = A64_DAIF_D | A64_DAIF_A | A64_DAIF_I | A64_DAIF_F;
    cpu->zf = 1;
    cpu->sctlr = 0x00c50838ull; /* QEMU's cortex-a72 reset value */
    cpu->mpidr = (1ull << 31) | (((uint64_t)vc->index / 16) << 8) | (vc->index % 16);
    cpu->oslsr = 0xa; /* OS lock set at reset */
    cpu->cntvoff = 0;
    cpu->fault_fsc = 0;
    cpu->hooks = hooks;
    atomic_store(&cpu->irq_line, false);
    atomic_store(&cpu->fiq_line, false);
}
