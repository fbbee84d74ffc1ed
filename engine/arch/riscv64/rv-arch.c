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
static const IrGlobalDef rv_global_defs[RV_G_COUNT] = {
    G("zero", x[0]),       G("ra", x[1]),         G("sp", x[2]),   G("gp", x[3]),
    G("tp", x[4]),         G("t0", x[5]),         G("t1", x[6]),   G("t2", x[7]),
    G("s0", x[8]),         G("s1", x[9]),         G("a0", x[10]),  G("a1", x[11]),
    G("a2", x[12]),        G("a3", x[13]),        G("a4", x[14]),  G("a5", x[15]),
    G("a6", x[16]),        G("a7", x[17]),        G("s2", x[18]),  G("s3", x[19]),
    G("s4", x[20]),        G("s5", x[21]),        G("s6", x[22]),  G("s7", x[23]),
    G("s8", x[24]),        G("s9", x[25]),        G("s10", x[26]), G("s11", x[27]),
    G("t3", x[28]),        G("t4", x[29]),        G("t5", x[30]),  G("t6", x[31]),
    G("pc", pc),           G("ft0", f[0]),        G("ft1", f[1]),  G("ft2", f[2]),
    G("ft3", f[3]),        G("ft4", f[4]),        G("ft5", f[5]),  G("ft6", f[6]),
    G("ft7", f[7]),        G("fs0", f[8]),        G("fs1", f[9]),  G("fa0", f[10]),
    G("fa1", f[11]),       G("fa2", f[12]),       G("fa3", f[13]), G("fa4", f[14]),
    G("fa5", f[15]),       G("fa6", f[16]),       G("fa7", f[17]), G("fs2", f[18]),
    G("fs3", f[19]),       G("fs4", f[20]),       G("fs5", f[21]), G("fs6", f[22]),
    G("fs7", f[23]),       G("fs8", f[24]),       G("fs9", f[25]), G("fs10", f[26]),
    G("fs11", f[27]),      G("ft8", f[28]),       G("ft9", f[29]), G("ft10", f[30]),
    G("ft11", f[31]),      G("fflags", fflags),   G("frm", frm),   G("res_addr", res_addr),
    G("res_val", res_val), G("mstatus", mstatus),
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
        uint64_t page = vaddr & GUEST_PAGE_MASK;
        for (unsigned i = 0; i < JMP_CACHE_SIZE; i++)
            if ((cpu->jmp_cache[i].vpc & GUEST_PAGE_MASK) == page)
                cpu->jmp_cache[i].block = NULL;
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
    fprintf(out, "pc %016llx priv %llu mstatus %016llx\n", (unsigned long long)c->pc,
            (unsigned long long)c->priv, (unsigned long long)c->mstatus);
    for (int i = 0; i < 32; i++)
        fprintf(out, "%-4s %016llx%s", rv_global_defs[i].name, (unsigned long long)c->x[i],
                i % 4 == 3 ? "\n" : "  ");
}

const VsArchOps rv_arch_ops = {
    .name = "riscv64",
    .cpu_size = sizeof(RvCpu),
    .globals = &rv_globals,
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
