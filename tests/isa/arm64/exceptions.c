/* SPDX-License-Identifier: MIT */
/* Synchronous exceptions at EL1 and from EL0 (ESR, ELR, FAR, SPSR), EL0 traps controlled
 * by SCTLR_EL1 and CNTKCTL_EL1, illegal exception returns, PSTATE access, PSCI calls. */
#include "isa.h"

extern char svc_insn[], svc_after[], brk_insn[], udf_insn[], smc_insn[], hvc_insn[];
extern char pcal_target[], el0_fn_end[];

static void show(const char *name)
{
    pr_str(name);
    pr_str(": esr ");
    pr_hex(ESR_NO_ISV(trap.esr));
    pr_str(" far-ok ");
    pr_hex(trap.far);
    pr_str(" spsr ");
    pr_hex(trap.spsr);
    pr_str(" kind ");
    pr_hex(trap.kind);
    putc_('\n');
}

static void el1_exceptions(void)
{
    trap_expected = 1;
    __asm__ volatile(".global svc_insn, svc_after\nsvc_insn: svc #0x1234\nsvc_after:" ::: "memory");
    pr("svc elr==after", trap.elr == (uint64_t)svc_after);
    pr("svc esr", trap.esr);
    trap_expected = 1;
    __asm__ volatile(".global brk_insn\nbrk_insn: brk #0x77" ::: "memory");
    pr("brk elr==insn", trap.elr == (uint64_t)brk_insn);
    pr("brk esr", trap.esr);
    trap_expected = 1;
    __asm__ volatile(".global udf_insn\nudf_insn: .inst 0x00000000" ::: "memory");
    pr("udf elr==insn", trap.elr == (uint64_t)udf_insn);
    pr("udf esr", trap.esr);
    trap_expected = 1;
    __asm__ volatile(".global smc_insn\nsmc_insn: smc #0" ::: "memory");
    pr("smc (no EL3) esr", trap.esr);
    pr("traps", trap.count);
    trap_expected = 1;
    uint64_t x0v;
    __asm__ volatile("mov x0, #0x1234\n hvc #0\n mov %0, x0" : "=r"(x0v)::"x0", "memory");
    pr("hvc non-psci esr", trap.esr);
    pr("traps", trap.count);
    pr("x0", x0v);
    trap_expected = 1;
    __asm__ volatile("hvc #1" ::: "memory");
    pr("hvc #1 esr", trap.esr);
    pr("traps", trap.count);
    /* Unallocated encodings in the integer space. */
    trap_expected = 1;
    __asm__ volatile(".inst 0xd503305f" ::: "memory"); /* CLREX with CRm != 0 is fine */
    pr("clrex #0: traps", trap.count);
    trap_expected = 1;
    __asm__ volatile(".inst 0x9ac00c00" ::: "memory"); /* unallocated DP 2-source opcode */
    pr("dp2 unallocated esr", trap.esr);
    trap_expected = 1;
    __asm__ volatile(".inst 0x38bfc000" ::: "memory"); /* LDAPRB (v8.3) */
    pr("ldaprb esr", trap.esr);
    trap_expected = 1;
    __asm__ volatile(".inst 0xd65f0bff" ::: "memory"); /* RETAA (PAuth) */
    pr("retaa esr", trap.esr);
    trap_expected = 0;
}

static uint64_t buf[4] __attribute__((aligned(16)));

static void aborts(void)
{
    trap_expected = 1;
    uint64_t v;
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(0x20000000000ull) : "memory");
    show("unmapped load");
    pr("far", trap.far);
    trap_expected = 1;
    __asm__ volatile("str %0, [%1]" ::"r"(v), "r"(0x20000000008ull) : "memory");
    show("unmapped store");
    trap_expected = 1;
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(1ull << 45) : "memory");
    show("beyond PA size");
    pr("far", trap.far);
    /* NZCV in SPSR_EL1 at a faulting load or store is the one set before it, even when the
     * same block sets the flags again after it (a translator must not drop that write). */
    trap_expected = 1;
    __asm__ volatile("msr nzcv, %1\n mov x9, #1\n cmp x9, #2\n ldr %0, [%2]\n cmn x9, #1"
                     : "=&r"(v)
                     : "r"(0x60000000ull), "r"(0x20000000010ull)
                     : "x9", "cc", "memory");
    show("flags at a faulting load");
    trap_expected = 1;
    __asm__ volatile("msr nzcv, %0\n mov x9, #1\n adds x9, x9, #1\n str x9, [%1]\n cmp x9, x9"
                     :
                     : "r"(0x90000000ull), "r"(0x20000000018ull)
                     : "x9", "cc", "memory");
    show("flags at a faulting store");

    /* SCTLR_EL1.A: every misaligned data access faults. */
    uint64_t sctlr = SYSREG_READ(sctlr_el1);
    SYSREG_WRITE(sctlr_el1, sctlr | 2);
    ISB();
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(&buf[1]) : "memory");
    pr("aligned ok, traps", trap.count);
    trap_expected = 1;
    __asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"((char *)buf + 3) : "memory");
    show("misaligned ldrh (A=1)");
    pr("far-buf", trap.far - (uint64_t)buf);
    trap_expected = 1;
    __asm__ volatile("stp %0, %0, [%1]" ::"r"(v), "r"((char *)buf + 4) : "memory");
    show("misaligned stp (A=1)");
    SYSREG_WRITE(sctlr_el1, sctlr);
    ISB();

    /* A branch to a misaligned address: PC alignment fault on the target. */
    trap_expected = 1;
    trap_resume = (uint64_t)pcal_target;
    __asm__ volatile("adr x9, pcal_target\n add x9, x9, #2\n br x9\n"
                     ".global pcal_target\n pcal_target: nop" ::
                         : "x9", "memory");
    show("pc alignment");
    pr("elr==far", trap.elr == trap.far);
    pr("far-target", trap.far - (uint64_t)pcal_target);
}

static uint64_t el0_svc(uint64_t arg)
{
    __asm__ volatile("mov x8, %0\n svc #0x42" ::"r"(arg) : "x8", "memory");
    return arg + 1;
}

static uint64_t el0_priv(uint64_t which)
{
    uint64_t v = 0;
    switch (which) {
    case 0: __asm__ volatile("mrs %0, sctlr_el1" : "=r"(v)); break;
    case 1: __asm__ volatile("mrs %0, ctr_el0" : "=r"(v)); break;
    case 2: __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v)); break;
    case 3: __asm__ volatile("mrs %0, daif" : "=r"(v)); break;
    case 4: __asm__ volatile("msr daifset, #2" ::: "memory"); break;
    case 5: __asm__ volatile("wfi" ::: "memory"); break; /* only with nTWI = 0 */
    case 6: __asm__ volatile("hvc #0" ::: "memory"); break;
    case 7: __asm__ volatile("eret" ::: "memory"); break;
    case 8: __asm__ volatile("mrs %0, currentel" : "=r"(v)); break;
    case 9: __asm__ volatile("mrs %0, tpidrro_el0" : "=r"(v)); break;
    case 10: __asm__ volatile("msr tpidrro_el0, %0" ::"r"(v)); break;
    case 11: __asm__ volatile("dc zva, %0" ::"r"(buf)); break;
    case 12: __asm__ volatile("ic ivau, %0" ::"r"(buf)); break;
    case 13: __asm__ volatile("tlbi vmalle1" ::: "memory"); break;
    case 14: __asm__ volatile("msr spsel, #0" ::: "memory"); break;
    default: __asm__ volatile("mrs %0, nzcv" : "=r"(v)); break;
    }
    return v;
}

static void el0(void)
{
    trap_expected = 1;
    uint64_t r = run_el0(el0_svc, 41);
    show("el0 svc");
    pr("el0 svc return", r);
    pr("sctlr", SYSREG_READ(sctlr_el1));
    for (uint64_t w = 0; w < 16; w++) {
        if (w == 5)
            continue;
        uint64_t before = trap.count;
        trap_expected = 1;
        run_el0(el0_priv, w);
        pr_str("el0 op ");
        pr_hex(w);
        if (trap.count != before)
            show(" trapped");
        else
            pr_str(" ran\n");
    }
    trap_expected = 0;
    /* With the EL0 controls open, the same accesses run. */
    uint64_t sctlr = SYSREG_READ(sctlr_el1);
    SYSREG_WRITE(sctlr_el1, sctlr | (1u << 9) | (1u << 14) | (1u << 15) | (1u << 26));
    SYSREG_WRITE(cntkctl_el1, 3);
    ISB();
    for (uint64_t w = 1; w < 5; w++) {
        uint64_t before = trap.count;
        trap_expected = 1;
        run_el0(el0_priv, w);
        pr_str("el0 open op ");
        pr_hex(w);
        pr_str(trap.count != before ? " trapped\n" : " ran\n");
    }
    for (uint64_t w = 11; w < 13; w++) {
        uint64_t before = trap.count;
        trap_expected = 1;
        run_el0(el0_priv, w);
        pr_str("el0 open op ");
        pr_hex(w);
        pr_str(trap.count != before ? " trapped\n" : " ran\n");
    }
    trap_expected = 0;
    SYSREG_WRITE(sctlr_el1, sctlr & ~(1ull << 16)); /* nTWI = 0: WFI traps */
    ISB();
    trap_expected = 1;
    run_el0(el0_priv, 5);
    show("el0 wfi with nTWI=0");
    SYSREG_WRITE(sctlr_el1, sctlr);
    SYSREG_WRITE(cntkctl_el1, 0);
    ISB();
}

static void illegal_return(void)
{
    /* ERET to a mode this CPU does not have (EL2h): PSTATE.IL is set, the next instruction
     * takes an Illegal Execution state exception. */
    extern char illegal_target[];
    trap_expected = 1;
    __asm__ volatile("adr x9, illegal_target\n msr elr_el1, x9\n mov x9, #0x3c9\n"
                     "msr spsr_el1, x9\n eret\n .global illegal_target\n illegal_target: nop" ::
                         : "x9", "memory");
    show("illegal return");
    pr("elr==target", trap.elr == (uint64_t)illegal_target);
    pr("currentel", SYSREG_READ(currentel));
}

static void pstate(void)
{
    pr("currentel", SYSREG_READ(currentel));
    pr("spsel", SYSREG_READ(spsel));
    pr("daif at reset", SYSREG_READ(daif));
    __asm__ volatile("msr daifclr, #0xf" ::: "memory");
    pr("daif cleared", SYSREG_READ(daif));
    __asm__ volatile("msr daifset, #5" ::: "memory");
    pr("daif set D,I... ", SYSREG_READ(daif));
    SYSREG_WRITE(daif, 0x3c0);
    SYSREG_WRITE(nzcv, 0xa0000000);
    pr("nzcv", SYSREG_READ(nzcv));
    uint64_t sp0 = SYSREG_READ(sp_el0), x, y;
    SYSREG_WRITE(sp_el0, 0x12340);
    /* SPSel = 0 at EL1: SP is SP_EL0. */
    __asm__ volatile("mov %1, sp\n msr spsel, #0\n mov %0, sp\n msr spsel, #1\n"
                     : "=r"(x), "=r"(y)
                     :
                     : "memory");
    pr("sp with spsel 0", x);
    pr("sp back", SYSREG_READ(spsel));
    SYSREG_WRITE(sp_el0, sp0);
    SYSREG_WRITE(tpidr_el0, 0x1111);
    SYSREG_WRITE(tpidr_el1, 0x2222);
    SYSREG_WRITE(tpidrro_el0, 0x3333);
    pr("tpidr", SYSREG_READ(tpidr_el0) + SYSREG_READ(tpidr_el1) + SYSREG_READ(tpidrro_el0));
    SYSREG_WRITE(elr_el1, 0x4444);
    SYSREG_WRITE(far_el1, 0x5555);
    SYSREG_WRITE(contextidr_el1, 0x66);
    pr("regs", SYSREG_READ(elr_el1) + SYSREG_READ(far_el1) + SYSREG_READ(contextidr_el1));
    pr("cntfrq", SYSREG_READ(cntfrq_el0));
    pr("dczid", SYSREG_READ(dczid_el0));
    uint64_t t0 = SYSREG_READ(cntvct_el0), t1 = SYSREG_READ(cntpct_el0);
    pr("counter runs forward", t1 >= t0);
    buf[0] = buf[1] = buf[2] = buf[3] = ~0ull;
    static uint64_t z[16] __attribute__((aligned(64)));
    for (int i = 0; i < 16; i++)
        z[i] = i + 1;
    __asm__ volatile("dc zva, %0" ::"r"((char *)z + 8) : "memory");
    uint64_t s = 0;
    for (int i = 0; i < 16; i++)
        s = s * 3 + z[i];
    pr("dc zva", s);
}

static void psci(void)
{
    pr("psci version", psci_call(0x84000000, 0, 0, 0));
    pr("psci features cpu_on64", psci_call(0x8400000a, 0xc4000003, 0, 0));
    pr("psci features system_off", psci_call(0x8400000a, 0x84000008, 0, 0));
    pr("psci features smccc_version", psci_call(0x8400000a, 0x80000000, 0, 0));
    pr("psci migrate_info_type", psci_call(0x84000006, 0, 0, 0));
    pr("psci affinity_info cpu0",
       psci_call(0xc4000004, SYSREG_READ(mpidr_el1) & 0xff00ffffff, 0, 0));
    pr("psci cpu_on self", psci_call(0xc4000003, SYSREG_READ(mpidr_el1) & 0xff00ffffff, 0, 0));
    pr("psci cpu_on missing cpu", psci_call(0xc4000003, 0x7, 0, 0));
    pr("psci unknown psci id", psci_call(0x8400001f, 0, 0, 0));
    pr("mpidr", SYSREG_READ(mpidr_el1));
}

int main(void)
{
    pstate();
    el1_exceptions();
    aborts();
    el0();
    illegal_return();
    psci();
    return 0;
}
