/* SPDX-License-Identifier: MIT */
/* riscv64 VsArchOps: globals, helpers called from IR, the glue to the vCPU loop. */
#include <stddef.h>
#include <stdio.h>

#include "arch/riscv64/rv-cpu.h"
#include "arch/riscv64/rv-internal.h"
#include "core/blocks.h"
#include "core/machine.h"

#define G(name_, field_)                                 \
    {                                                    \
        name_, (uint32_t)offsetof(RvCpu, field_), IR_I64 \
    }
/* Architectural names (x5, f10): the printer names temps tN, so ABI names would clash. */
static const IrGlobalDef rv_global_defs[RV_G_COUNT] = {
    G("x0", x[0]),         G("x1", x[1]),         G("x2", x[2]),   G("x3", x[3]),
    G("x4", x[4]),         G("x5", x[5]),         G("x6", x[6]),   G("x7", x[7]),
    G("x8", x[8]),         G("x9", x[9]),         G("x10", x[10]), G("x11", x[11]),
    G("x12", x[12]),       G("x13", x[13]),       G("x14", x[14]), G("x15", x[15]),
    G("x16", x[16]),       G("x17", x[17]),       G("x18", x[18]), G("x19", x[19]),
    G("x20", x[20]),       G("x21", x[21]),       G("x22", x[22]), G("x23", x[23]),
    G("x24", x[24]),       G("x25", x[25]),       G("x26", x[26]), G("x27", x[27]),
    G("x28", x[28]),       G("x29", x[29]),       G("x30", x[30]), G("x31", x[31]),
    G("pc", pc),           G("f0", f[0]),         G("f1", f[1]),   G("f2", f[2]),
    G("f3", f[3]),         G("f4", f[4]),         G("f5", f[5]),   G("f6", f[6]),
    G("f7", f[7]),         G("f8", f[8]),         G("f9", f[9]),   G("f10", f[10]),
    G("f11", f[11]),       G("f12", f[12]),       G("f13", f[13]), G("f14", f[14]),
    G("f15", f[15]),       G("f16", f[16]),       G("f17", f[17]), G("f18", f[18]),
    G("f19", f[19]),       G("f20", f[20]),       G("f21", f[21]), G("f22", f[22]),
    G("f23", f[23]),       G("f24", f[24]),       G("f25", f[25]), G("f26", f[26]),
    G("f27", f[27]),       G("f28", f[28]),       G("f29", f[29]), G("f30", f[30]),
    G("f31", f[31]),       G("fflags", fflags),   G("frm", frm),   G("res_addr", res_addr),
    G("res_val", res_val), G("mstatus", mstatus),
};

/*
 * CSRs that --trace-state records besides the globals (core/trace-state.h). Left out:
 * mip, whose MTIP follows the host clock, and the counter offsets, which follow
 * insn_count.
 */
static const IrGlobalDef rv_trace_fields[] = {
    G("priv", priv),
    G("mepc", mepc),
    G("mcause", mcause),
    G("mtval", mtval),
    G("mtvec", mtvec),
    G("mscratch", mscratch),
    G("mie", mie),
    G("medeleg", medeleg),
    G("mideleg", mideleg),
    G("sepc", sepc),
    G("scause", scause),
    G("stval", stval),
    G("stvec", stvec),
    G("sscratch", sscratch),
    G("satp", satp),
    G("mcounteren", mcounteren),
    G("scounteren", scounteren),
};
#undef G

const IrGlobals rv_globals = { rv_global_defs, RV_G_COUNT, RV_G_PC };

/* ---- helpers called from translated code ---- */

static uint64_t h_raise(VsCpu *cpu, uint64_t cause, uint64_t tval)
{
    rv_raise_exception(rv_cpu(cpu), cause, tval);
}

static uint64_t h_csr(VsCpu *cpu, uint64_t csr, uint64_t value, uint64_t flags)
{
    RvCpu *c = rv_cpu(cpu);
    uint64_t old = 0, insn = flags >> 32;
    /* Writes to a read-only CSR are illegal even when the read would be fine. */
    bool ro = ((csr >> 10) & 3) == 3;
    if ((flags & RV_CSR_WRITE) && ro)
        rv_raise_exception(c, RV_EXC_ILLEGAL_INSN, insn);
    if ((flags & RV_CSR_READ) || (flags & RV_CSR_OP_MASK) != 1) {
        if (!rv_csr_read(c, (unsigned)csr, &old))
            rv_raise_exception(c, RV_EXC_ILLEGAL_INSN, insn);
    }
    if (flags & RV_CSR_WRITE) {
        uint64_t nv;
        switch (flags & RV_CSR_OP_MASK) {
        case 1: nv = value; break;
        case 2: nv = old | value; break;
        default: nv = old & ~value; break;
        }
        if (!rv_csr_write(c, (unsigned)csr, nv))
            rv_raise_exception(c, RV_EXC_ILLEGAL_INSN, insn);
    }
    return old;
}

static uint64_t h_mret(VsCpu *cpu)
{
    return rv_do_mret(rv_cpu(cpu));
}

static uint64_t h_sret(VsCpu *cpu)
{
    return rv_do_sret(rv_cpu(cpu));
}

static uint64_t h_wfi(VsCpu *cpu)
{
    RvCpu *c = rv_cpu(cpu);
    /* TW=1 makes wfi illegal below M; in U it is always illegal (checked at translation). */
    if (c->priv < RV_PRV_M && (c->mstatus & RV_MSTATUS_TW))
        rv_raise_exception(c, RV_EXC_ILLEGAL_INSN, 0x10500073);
    return 0;
}

static uint64_t h_sfence_vma(VsCpu *cpu, uint64_t vaddr, uint64_t has_addr, uint64_t insn)
{
    RvCpu *c = rv_cpu(cpu);
    if (c->priv == RV_PRV_S && (c->mstatus & RV_MSTATUS_TVM))
        rv_raise_exception(c, RV_EXC_ILLEGAL_INSN, insn);
    const unsigned mask = (1u << RV_MMU_U) | (1u << RV_MMU_S) | (1u << RV_MMU_S_SUM);
    if (has_addr) {
        tlb_flush_page_mask(cpu, vaddr, mask);
        jmp_cache_flush_page(cpu, vaddr);
    } else {
        tlb_flush_mask(cpu, mask);
        jmp_cache_flush(cpu);
    }
    return 0;
}

static uint64_t h_orc_b(uint64_t x)
{
    uint64_t r = 0;
    for (int i = 0; i < 8; i++)
        if ((x >> (8 * i)) & 0xff)
            r |= 0xffull << (8 * i);
    return r;
}

#define STATEFUL (IR_HELPER_PASS_CPU | IR_HELPER_READS_STATE | IR_HELPER_WRITES_STATE)
const IrHelper rv_helper_raise = { "raise", (void *)h_raise, 2,
                                   STATEFUL | IR_HELPER_MAY_RAISE | IR_HELPER_NO_RETURN };
const IrHelper rv_helper_csr = { "csr", (void *)h_csr, 3, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper rv_helper_mret = { "mret", (void *)h_mret, 0, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper rv_helper_sret = { "sret", (void *)h_sret, 0, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper rv_helper_wfi = { "wfi", (void *)h_wfi, 0, STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper rv_helper_sfence_vma = { "sfence_vma", (void *)h_sfence_vma, 3,
                                        STATEFUL | IR_HELPER_MAY_RAISE };
const IrHelper rv_helper_orc_b = { "orc_b", (void *)h_orc_b, 1, IR_HELPER_PURE };

uint64_t rv_illegal_tval(uint32_t raw)
{
    return raw; /* the instruction bits, as QEMU 7.2 reports them (0 for c.unimp) */
}

/* ---- VsArchOps ---- */

unsigned rv_code_mmu_idx(uint32_t mode)
{
    switch (mode & RV_MODE_PRV_MASK) {
    case RV_PRV_U: return RV_MMU_U;
    case RV_PRV_S: return RV_MMU_S;
    default: return RV_MMU_M;
    }
}

static void rv_reset(VsCpu *cpu)
{
    rv_cpu_reset(rv_cpu(cpu));
}

static void rv_get_exec_key(VsCpu *cpu, uint64_t *vpc, uint32_t *mode)
{
    RvCpu *c = rv_cpu(cpu);
    *vpc = c->pc;
    *mode = rv_exec_mode(c);
}

static bool rv_check_interrupts(VsCpu *cpu)
{
    RvCpu *c = rv_cpu(cpu);
    int irq = rv_pending_interrupt(c);
    if (irq < 0)
        return false;
    if (cpu->machine->cfg.trace & VS_TRACE_INT)
        fprintf(stderr, "cpu%u: interrupt %d at pc 0x%llx priv %llu\n", cpu->index, irq,
                (unsigned long long)c->pc, (unsigned long long)c->priv);
    rv_trap_enter(c, (uint64_t)irq, true, c->pc, 0);
    return true;
}

static bool rv_has_work(VsCpu *cpu)
{
    RvCpu *c = rv_cpu(cpu);
    /* wfi wakes on any locally enabled pending interrupt, whatever the global enables. */
    return (atomic_load(&c->mip) & c->mie) != 0;
}

static bool rv_tlb_fill(VsCpu *cpu, uint64_t vaddr, int access, unsigned mmu_idx, uint64_t *paddr,
                        int *prot, uint64_t *page_size, int *fault_kind)
{
    bool access_fault = false;
    if (rv_page_walk(rv_cpu(cpu), vaddr, access, mmu_idx, paddr, prot, page_size, &access_fault))
        return true;
    *fault_kind = access_fault ? 1 : 0;
    return false;
}

static __attribute__((noreturn)) void rv_raise_mmu_fault(VsCpu *cpu, uint64_t vaddr, int access,
                                                         int kind)
{
    static const uint64_t causes[3][3] = {
        /* READ, WRITE, EXEC */
        { RV_EXC_LOAD_PAGE_FAULT, RV_EXC_STORE_PAGE_FAULT, RV_EXC_INSN_PAGE_FAULT },
        { RV_EXC_LOAD_ACCESS, RV_EXC_STORE_ACCESS, RV_EXC_INSN_ACCESS },
        { RV_EXC_LOAD_MISALIGNED, RV_EXC_STORE_MISALIGNED, RV_EXC_INSN_MISALIGNED },
    };
    RvCpu *c = rv_cpu(cpu);
    if (cpu->machine->cfg.trace & VS_TRACE_INT)
        fprintf(stderr, "cpu%u: mmu fault kind %d access %d at 0x%llx\n", cpu->index, kind, access,
                (unsigned long long)vaddr);
    rv_raise_exception(c, causes[kind][access], vaddr);
}

static void rv_dump_state(VsCpu *cpu, void *file)
{
    RvCpu *c = rv_cpu(cpu);
    FILE *out = file;
    fprintf(out, "  pc %016llx priv %llu mstatus %016llx mie %016llx mip %016llx%s\n",
            (unsigned long long)c->pc, (unsigned long long)c->priv, (unsigned long long)c->mstatus,
            (unsigned long long)c->mie, (unsigned long long)atomic_load(&c->mip),
            cpu->halted ? " (in wfi)" : "");
    for (int i = 0; i < 32; i++)
        fprintf(out, "%s%-4s %016llx%s", i % 4 == 0 ? "  " : "", rv_global_defs[i].name,
                (unsigned long long)c->x[i], i % 4 == 3 ? "\n" : "  ");
}

const VsArchOps rv_arch_ops = {
    .name = "riscv64",
    .cpu_size = sizeof(RvCpu),
    .globals = &rv_globals,
    .trace_fields = rv_trace_fields,
    .ntrace_fields = sizeof(rv_trace_fields) / sizeof(rv_trace_fields[0]),
    .mmu_modes = RV_MMU_COUNT,
    .cpu_reset = rv_reset,
    .get_exec_key = rv_get_exec_key,
    .code_mmu_idx = rv_code_mmu_idx,
    .translate = rv_translate,
    .check_interrupts = rv_check_interrupts,
    .has_work = rv_has_work,
    .tlb_fill = rv_tlb_fill,
    .raise_mmu_fault = rv_raise_mmu_fault,
    .dump_state = rv_dump_state,
};
