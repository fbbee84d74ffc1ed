/* SPDX-License-Identifier: MIT */
/* arm64 VsArchOps: helpers called from IR, the glue to the vCPU loop (globals: a64-globals.c). */
#include <sched.h>
#include <stddef.h>
#include <stdio.h>

#include "arch/arm64/a64-cpu.h"
#include "arch/arm64/a64-internal.h"
#include "core/blocks.h"
#include "core/machine.h"

#define SR(op0, op1, crn, crm, op2) \
    ((unsigned)(((op0) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2)))

/* ---- helpers called from translated code ---- */

static uint64_t h_exception(VsCpu *cpu, uint64_t esr, uint64_t elr)
{
    A64Cpu *c = a64_cpu(cpu);
    a64_take_exception(c, A64_VEC_SYNC, esr, elr, 0, false);
    vs_cpu_unwind(cpu);
}

static uint64_t h_pc_align(VsCpu *cpu, uint64_t pc)
{
    uint64_t esr = ((uint64_t)A64_EC_PC_ALIGN << 26) | (1u << 25);
    a64_take_exception(a64_cpu(cpu), A64_VEC_SYNC, esr, pc, pc, true);
    vs_cpu_unwind(cpu);
}

static __attribute__((noreturn)) void undefined(A64Cpu *c)
{
    a64_raise_sync(c, A64_EC_UNKNOWN, 0, 0, false);
}

/* EC 0x18 syndrome: Op0, Op2, Op1, CRn, Rt, CRm, direction (1 = read). */
static __attribute__((noreturn)) void sysreg_trap(A64Cpu *c, unsigned enc, unsigned rt, bool read)
{
    unsigned op0 = enc >> 14, op1 = (enc >> 11) & 7, crn = (enc >> 7) & 0xf;
    unsigned crm = (enc >> 3) & 0xf, op2 = enc & 7;
    uint32_t iss = (op0 << 20) | (op2 << 17) | (op1 << 14) | (crn << 10) | (rt << 5) | (crm << 1) |
                   (read ? 1 : 0);
    a64_raise_sync(c, A64_EC_SYSREG, iss, 0, false);
}

static void check_access(A64Cpu *c, unsigned enc, unsigned rt, bool write)
{
    int r = a64_sysreg_access_check(c, enc, write);
    if (r == 1)
        undefined(c);
    if (r == 2)
        sysreg_trap(c, enc, rt, !write);
}

static uint64_t h_mrs(VsCpu *cpu, uint64_t arg, uint64_t insn)
{
    (void)insn;
    A64Cpu *c = a64_cpu(cpu);
    unsigned enc = arg & 0xffff, rt = (arg >> 16) & 31;
    check_access(c, enc, rt, false);
    uint64_t v;
    if (!a64_sysreg_read(c, enc, &v))
        undefined(c);
    return v;
}

static uint64_t h_msr(VsCpu *cpu, uint64_t arg, uint64_t value)
{
    A64Cpu *c = a64_cpu(cpu);
    unsigned enc = arg & 0xffff, rt = (arg >> 16) & 31;
    check_access(c, enc, rt, true);
    if (!a64_sysreg_write(c, enc, value))
        undefined(c);
    return 0;
}

static uint64_t h_msr_pstate(VsCpu *cpu, uint64_t field, uint64_t imm)
{
    A64Cpu *c = a64_cpu(cpu);
    switch (field) {
    case 5: a64_set_el_spsel(c, (unsigned)c->el, imm & 1); break; /* SPSel */
    case 0x1e:                                                    /* DAIFSet */
    case 0x1f:                                                    /* DAIFClr */
        if (c->el == 0 && !(c->sctlr & A64_SCTLR_UMA))
            sysreg_trap(c, SR(0, 3, 4, (unsigned)imm, (unsigned)field & 7), 31, false);
        if (field == 0x1e)
            c->daif |= (imm & 0xf) << 6;
        else
            c->daif &= ~((imm & 0xf) << 6);
        break;
    default: undefined(c);
    }
    return 0;
}

static uint64_t h_eret(VsCpu *cpu)
{
    return a64_eret(a64_cpu(cpu));
}

static uint64_t h_wfx(VsCpu *cpu, uint64_t is_wfe, uint64_t insn)
{
    (void)insn;
    A64Cpu *c = a64_cpu(cpu);
    /* At EL0, SCTLR_EL1.nTWI/nTWE = 0 traps WFI/WFE to EL1 (ISS.TI: 1 = WFE; CV/COND 1110). */
    uint64_t bit = is_wfe ? A64_SCTLR_NTWE : A64_SCTLR_NTWI;
    if (c->el == 0 && !(c->sctlr & bit))
        a64_raise_sync(c, A64_EC_WFX, (1u << 24) | (0xeu << 20) | (is_wfe ? 1 : 0), 0, false);
    /* WFE completes at once (the architecture allows spurious wake-ups; there is no event
     * register yet). It sits in spin-wait loops for another vCPU, so let that vCPU's host
     * thread run. */
    if (is_wfe && cpu->machine->ncpus > 1)
        sched_yield();
    return 0;
}

static uint64_t h_hvc(VsCpu *cpu, uint64_t imm, uint64_t pc)
{
    A64Cpu *c = a64_cpu(cpu);
    (void)pc;
    (void)imm;
    /* No EL2: every HVC at EL1 is an SMCCC call the board answers (PSCI; unknown function
     * ids return NOT_SUPPORTED), as with QEMU virt's psci-conduit=hvc. Without a board
     * handler HVC is UNDEFINED. */
    if (c->hooks.psci_call && c->hooks.psci_call(c->hooks.opaque, c))
        return 0;
    undefined(c);
}

static void flush_all_tlbs_cb(VsMachine *m, void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < m->ncpus; i++) {
        tlb_flush_all(m->cpus[i]);
        jmp_cache_flush(m->cpus[i]);
    }
}

/* One page of both MMU indexes, and the jump-cache entries of pcs in it. */
static void flush_page(VsCpu *cpu, uint64_t va)
{
    tlb_flush_page_mask(cpu, va, (1u << A64_MMU_EL0) | (1u << A64_MMU_EL1));
    jmp_cache_flush_page(cpu, va);
}

static void flush_page_all_cb(VsMachine *m, void *arg)
{
    uint64_t va = *(const uint64_t *)arg;
    for (unsigned i = 0; i < m->ncpus; i++)
        flush_page(m->cpus[i], va);
}

static void tlbi(A64Cpu *c, unsigned crm, unsigned op2, uint64_t value)
{
    VsCpu *cpu = &c->common;
    bool broadcast = crm == 3 && cpu->machine->ncpus > 1;
    /* By VA (VAE1, VAAE1, VALE1, VAALE1): one page, whatever the ASID. */
    if (op2 == 1 || op2 == 3 || op2 == 5 || op2 == 7) {
        uint64_t va = (uint64_t)((int64_t)((value & 0xfffffffffffull) << 20) >> 8);
        if (broadcast) /* Inner Shareable: every vCPU's copy, with all of them parked */
            vs_machine_exclusive(cpu->machine, cpu, flush_page_all_cb, &va);
        else
            flush_page(cpu, va);
        return;
    }
    if (broadcast) {
        vs_machine_exclusive(cpu->machine, cpu, flush_all_tlbs_cb, NULL);
        return;
    }
    tlb_flush_all(cpu);
    jmp_cache_flush(cpu);
}

static void dc_zva(A64Cpu *c, uint64_t addr)
{
    unsigned idx = c->el ? A64_MMU_EL1 : A64_MMU_EL0;
    addr &= ~63ull;
    for (unsigned i = 0; i < 8; i++)
        mmu_store_slow(&c->common, addr + 8 * i, 0, IR_MEMFLAGS(3, false, false, idx));
}

static uint64_t h_sys(VsCpu *cpu, uint64_t enc64, uint64_t value, uint64_t insn)
{
    A64Cpu *c = a64_cpu(cpu);
    unsigned enc = (unsigned)enc64;
    unsigned op1 = (enc >> 11) & 7, crn = (enc >> 7) & 0xf, crm = (enc >> 3) & 0xf, op2 = enc & 7;
    unsigned rt = insn & 31;
    bool el0 = c->el == 0;
    if (crn == 7) {
        switch (enc & 0x3fff) {
        case SR(0, 0, 7, 1, 0): /* IC IALLUIS */
        case SR(0, 0, 7, 5, 0): /* IC IALLU: stores to code pages already invalidate */
            if (el0)
                undefined(c);
            return 0;
        case SR(0, 3, 7, 5, 1): /* IC IVAU */
            if (el0 && !(c->sctlr & A64_SCTLR_UCI))
                sysreg_trap(c, enc, rt, false);
            return 0;
        case SR(0, 3, 7, 4, 1): /* DC ZVA */
            if (el0 && !(c->sctlr & A64_SCTLR_DZE))
                sysreg_trap(c, enc, rt, false);
            dc_zva(c, value);
            return 0;
        case SR(0, 3, 7, 10, 1): /* DC CVAC */
        case SR(0, 3, 7, 11, 1): /* DC CVAU */
        case SR(0, 3, 7, 14, 1): /* DC CIVAC: caches are coherent here */
            if (el0 && !(c->sctlr & A64_SCTLR_UCI))
                sysreg_trap(c, enc, rt, false);
            return 0;
        case SR(0, 0, 7, 6, 1):  /* DC IVAC */
        case SR(0, 0, 7, 6, 2):  /* DC ISW */
        case SR(0, 0, 7, 10, 2): /* DC CSW */
        case SR(0, 0, 7, 14, 2): /* DC CISW */
            if (el0)
                undefined(c);
            return 0;
        case SR(0, 0, 7, 8, 0): /* AT S1E1R */
        case SR(0, 0, 7, 8, 1): /* AT S1E1W */
        case SR(0, 0, 7, 8, 2): /* AT S1E0R */
        case SR(0, 0, 7, 8, 3): /* AT S1E0W */
            if (el0)
                undefined(c);
            c->par = a64_at(c, value, op2 & 1, op2 >= 2 ? A64_MMU_EL0 : A64_MMU_EL1);
            return 0;
        default: undefined(c);
        }
    }
    if (crn == 8 && op1 == 0 && (crm == 3 || crm == 7) && op2 != 4 && op2 != 6) {
        if (el0)
            undefined(c);
        tlbi(c, crm, op2, value);
        return 0;
    }
    undefined(c);
}

/* 8- and 16-bit LSE atomics (the IR has 32- and 64-bit ones). */
static uint64_t h_atomic(VsCpu *cpu, uint64_t addr, uint64_t v, uint64_t desc)
{
    unsigned size = 1u << (desc & 3), op = (unsigned)(desc >> A64_ATOM_OP_SHIFT) & 0xf;
    void *p = mmu_atomic_host(cpu, addr, (unsigned)(desc & 0xff));
    uint64_t mask = size == 1 ? 0xff : 0xffff;
    unsigned sbits = 64 - 8 * size;
    for (;;) {
        uint64_t old = size == 1 ? __atomic_load_n((uint8_t *)p, __ATOMIC_RELAXED)
                                 : __atomic_load_n((uint16_t *)p, __ATOMIC_RELAXED);
        int64_t so = (int64_t)(old << sbits) >> sbits, sv = (int64_t)(v << sbits) >> sbits;
        uint64_t uv = v & mask, nw;
        switch (op) {
        case A64_ATOM_ADD: nw = old + uv; break;
        case A64_ATOM_CLR: nw = old & ~uv; break;
        case A64_ATOM_EOR: nw = old ^ uv; break;
        case A64_ATOM_SET: nw = old | uv; break;
        case A64_ATOM_SMAX: nw = so > sv ? old : uv; break;
        case A64_ATOM_SMIN: nw = so < sv ? old : uv; break;
        case A64_ATOM_UMAX: nw = old > uv ? old : uv; break;
        case A64_ATOM_UMIN: nw = old < uv ? old : uv; break;
        default: nw = uv; break;
        }
        nw &= mask;
        bool ok;
        if (size == 1) {
            uint8_t e = (uint8_t)old;
            ok = __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)nw, false, __ATOMIC_SEQ_CST,
                                             __ATOMIC_RELAXED);
        } else {
            uint16_t e = (uint16_t)old;
            ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)nw, false,
                                             __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
        }
        if (ok)
            return old;
    }
}

static uint64_t h_cas(VsCpu *cpu, uint64_t addr, uint64_t expected, uint64_t desired, uint64_t desc)
{
    unsigned size = 1u << (desc & 3);
    void *p = mmu_atomic_host(cpu, addr, (unsigned)(desc & 0xff));
    if (size == 1) {
        uint8_t e = (uint8_t)expected;
        __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)desired, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        return e;
    }
    uint16_t e = (uint16_t)expected;
    __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, false, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
    return e;
}

/* 16-byte accesses: both halves are on one page (16-byte aligned); the alignment and
 * permission checks use the first 8 bytes' flags on a 16-byte aligned address. */
static void *host16(VsCpu *cpu, uint64_t addr, uint64_t desc)
{
    if (addr & 15)
        cpu->ops->raise_mmu_fault(cpu, addr, MMU_WRITE, 2);
    return mmu_atomic_host(cpu, addr, (unsigned)((desc & IR_MEM_IDX_MASK) | 3));
}

static uint64_t h_cas128(VsCpu *cpu, uint64_t addr, uint64_t elo, uint64_t ehi, uint64_t nlo,
                         uint64_t nhi, uint64_t desc)
{
    unsigned __int128 *p = host16(cpu, addr, desc);
    unsigned __int128 e = ((unsigned __int128)ehi << 64) | elo;
    unsigned __int128 n = ((unsigned __int128)nhi << 64) | nlo;
    __atomic_compare_exchange_n(p, &e, n, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    a64_cpu(cpu)->tmp = (uint64_t)(e >> 64);
    return (uint64_t)e;
}

static uint64_t h_ld128(VsCpu *cpu, uint64_t addr, uint64_t desc)
{
    unsigned __int128 *p = host16(cpu, addr, desc);
    unsigned __int128 v = 0;
    /* An atomic 16-byte read is a compare-and-swap that never changes memory. */
    __atomic_compare_exchange_n(p, &v, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    a64_cpu(cpu)->tmp = (uint64_t)(v >> 64);
    return (uint64_t)v;
}

static uint64_t h_crc32(uint64_t acc, uint64_t val, uint64_t desc)
{
    unsigned bytes = 1u << (desc & 3);
    uint32_t poly = (desc & 0x100) ? 0x82f63b78u : 0xedb88320u; /* reflected */
    uint32_t crc = (uint32_t)acc;
    for (unsigned i = 0; i < bytes; i++) {
        crc ^= (uint8_t)(val >> (8 * i));
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1) ? poly : 0);
    }
    return crc;
}

static uint64_t h_rbit(uint64_t x)
{
    x = ((x >> 1) & 0x5555555555555555ull) | ((x & 0x5555555555555555ull) << 1);
    x = ((x >> 2) & 0x3333333333333333ull) | ((x & 0x3333333333333333ull) << 2);
    x = ((x >> 4) & 0x0f0f0f0f0f0f0f0full) | ((x & 0x0f0f0f0f0f0f0f0full) << 4);
    return __builtin_bswap64(x);
}

/* CLS: leading zeros of x<N-1:1> EOR x<N-2:0> (Arm ARM CountLeadingSignBits). */
static uint64_t h_cls(uint64_t x, uint64_t is64)
{
    if (is64)
        return (uint64_t)__builtin_clzll((x ^ (x << 1)) | 1);
    uint32_t w = (uint32_t)x;
    return (uint64_t)__builtin_clz((w ^ (w << 1)) | 1);
}

#define STATEFUL (IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE)
const IrHelper a64_helper_exception = { "exception", (void *)h_exception, 2,
                                        STATEFUL | IR_HELPER_MAY_RAISE | IR_HELPER_NO_RETURN };
const IrHelper a64_helper_pc_align = { "pc_align", (void *)h_pc_align, 1,
                                       STATEFUL | IR_HELPER_MAY_RAISE | IR_HELPER_NO_RETURN };
const IrHelper a64_helper_mrs = { "mrs", (void *)h_mrs, 2, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_msr = { "msr", (void *)h_msr, 2, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_msr_pstate = { "msr_pstate", (void *)h_msr_pstate, 2,
                                         STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_eret = { "eret", (void *)h_eret, 0, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_wfx = { "wfx", (void *)h_wfx, 2, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_hvc = { "hvc", (void *)h_hvc, 2, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_sys = { "sys", (void *)h_sys, 3, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_atomic = { "atomic", (void *)h_atomic, 3,
                                     STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_cas = { "cas", (void *)h_cas, 4, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_cas128 = { "cas128", (void *)h_cas128, 6,
                                     STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_ld128 = { "ld128", (void *)h_ld128, 2, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper a64_helper_crc32 = { "crc32", (void *)h_crc32, 3, IR_HELPER_PURE };
const IrHelper a64_helper_rbit = { "rbit", (void *)h_rbit, 1, IR_HELPER_PURE };
const IrHelper a64_helper_cls = { "cls", (void *)h_cls, 2, IR_HELPER_PURE };

/* ---- VsArchOps ---- */

unsigned a64_code_mmu_idx(uint32_t mode)
{
    return (mode & A64_MODE_EL1) ? A64_MMU_EL1 : A64_MMU_EL0;
}

static void a64_reset(VsCpu *cpu)
{
    a64_cpu_reset(a64_cpu(cpu));
}

static void a64_get_exec_key(VsCpu *cpu, uint64_t *vpc, uint32_t *mode)
{
    A64Cpu *c = a64_cpu(cpu);
    c->start_pending = false; /* it runs */
    *vpc = c->pc;
    *mode = a64_exec_mode(c);
}

static bool a64_check_interrupts(VsCpu *cpu)
{
    A64Cpu *c = a64_cpu(cpu);
    if (c->powered_off)
        return false;
    unsigned vec;
    if (atomic_load(&c->fiq_line) && !(c->daif & A64_DAIF_F))
        vec = A64_VEC_FIQ;
    else if (atomic_load(&c->irq_line) && !(c->daif & A64_DAIF_I))
        vec = A64_VEC_IRQ;
    else
        return false;
    if (cpu->machine->cfg.trace & VS_TRACE_INT)
        fprintf(stderr, "cpu%u: %s at pc 0x%llx el%u\n", cpu->index,
                vec == A64_VEC_IRQ ? "irq" : "fiq", (unsigned long long)c->pc, (unsigned)c->el);
    a64_take_exception(c, vec, 0, c->pc, 0, false);
    return true;
}

static bool a64_has_work(VsCpu *cpu)
{
    A64Cpu *c = a64_cpu(cpu);
    if (c->powered_off)
        return false;
    if (c->start_pending)
        return true;
    /* WFI wakes on a pending interrupt whatever PSTATE.I/F say. */
    return atomic_load(&c->irq_line) || atomic_load(&c->fiq_line);
}

static bool a64_tlb_fill(VsCpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx, uint64_t *paddr,
                         int *prot, uint64_t *page_size, int *fault_kind)
{
    A64Cpu *c = a64_cpu(cpu);
    unsigned fsc;
    if (a64_page_walk(c, vaddr, access, mmu_idx, paddr, prot, page_size, &fsc))
        return true;
    c->fault_fsc = fsc;
    *fault_kind = 0;
    return false;
}

static __attribute__((noreturn)) void a64_raise_mmu_fault(VsCpu *cpu, uint64_t vaddr, int access,
                                                          int kind)
{
    A64Cpu *c = a64_cpu(cpu);
    unsigned fsc;
    switch (kind) {
    case 0: fsc = c->fault_fsc; break;
    case 1: fsc = 0x10; break;  /* synchronous external abort: nothing there */
    default: fsc = 0x21; break; /* alignment fault */
    }
    if (cpu->machine->cfg.trace & VS_TRACE_INT)
        fprintf(stderr, "cpu%u: mmu fault fsc 0x%x access %d at 0x%llx\n", cpu->index, fsc, access,
                (unsigned long long)vaddr);
    bool lower = c->el == 0;
    if (access == MMU_EXEC)
        a64_raise_sync(c, lower ? A64_EC_IABORT_LOWER : A64_EC_IABORT_SAME, fsc, vaddr, true);
    uint32_t iss = fsc | (access == MMU_WRITE ? 1u << 6 : 0);
    a64_raise_sync(c, lower ? A64_EC_DABORT_LOWER : A64_EC_DABORT_SAME, iss, vaddr, true);
}

static void a64_dump_state(VsCpu *cpu, void *file)
{
    A64Cpu *c = a64_cpu(cpu);
    FILE *out = file;
    fprintf(out, "  pc %016llx pstate %08llx el%u sp %016llx%s%s\n", (unsigned long long)c->pc,
            (unsigned long long)a64_pstate(c), (unsigned)c->el, (unsigned long long)c->sp,
            cpu->halted ? " (in wfi)" : "", c->powered_off ? " (off)" : "");
    fprintf(out, "  esr %08llx far %016llx elr %016llx vbar %016llx sctlr %08llx\n",
            (unsigned long long)c->esr, (unsigned long long)c->far, (unsigned long long)c->elr,
            (unsigned long long)c->vbar, (unsigned long long)c->sctlr);
    for (int i = 0; i < 31; i++)
        fprintf(out, "%s%-4s %016llx%s", i % 4 == 0 ? "  " : "", a64_globals.defs[i].name,
                (unsigned long long)c->x[i], i % 4 == 3 || i == 30 ? "\n" : "  ");
}

const VsArchOps a64_arch_ops = {
    .name = "arm64",
    .cpu_size = sizeof(A64Cpu),
    .globals = &a64_globals,
    .mmu_modes = A64_MMU_COUNT,
    .cpu_reset = a64_reset,
    .get_exec_key = a64_get_exec_key,
    .code_mmu_idx = a64_code_mmu_idx,
    .translate = a64_translate,
    .check_interrupts = a64_check_interrupts,
    .has_work = a64_has_work,
    .tlb_fill = a64_tlb_fill,
    .raise_mmu_fault = a64_raise_mmu_fault,
    .dump_state = a64_dump_state,
};
