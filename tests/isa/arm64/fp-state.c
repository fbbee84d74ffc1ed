/* SPDX-License-Identifier: MIT */
/* FP/AdvSIMD state and system side: CPACR_EL1.FPEN traps (EC 0x07) at EL1 and EL0 for data
 * processing, loads/stores and FPCR/FPSR accesses, FPCR/FPSR writable bits, the FP/AdvSIMD
 * fields of ID_AA64PFR0_EL1, and V registers surviving a trap. */
#include "isa.h"

static uint64_t buf[4] __attribute__((aligned(16))) = { 0x1111, 0x2222, 0x3333, 0x4444 };

static void set_fpen(unsigned fpen)
{
    SYSREG_WRITE(cpacr_el1, (uint64_t)fpen << 20);
    ISB();
}

static void show(const char *name)
{
    pr_str(name);
    pr_str(": traps ");
    pr_hex(trap.count);
    pr_str(" esr ");
    pr_hex(trap.esr);
    pr_str(" kind ");
    pr_hex(trap.kind);
    putc_('\n');
}

/* Each probe is one instruction that needs FP. */
static void probe_fmov(void)
{
    __asm__ volatile("fmov s0, s1" ::: "v0", "memory");
}
static void probe_ldr(void)
{
    __asm__ volatile("ldr q0, [%0]" ::"r"(buf) : "v0", "memory");
}
static void probe_st1(void)
{
    __asm__ volatile("st1 {v0.2d}, [%0]" ::"r"(buf) : "memory");
}
static void probe_mrs(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, fpcr" : "=r"(v)::"memory");
}
static void probe_msr(void)
{
    __asm__ volatile("msr fpsr, xzr" ::: "memory");
}
static void probe_add(void)
{
    __asm__ volatile("add v0.4s, v1.4s, v2.4s" ::: "v0", "memory");
}

static void (*const probes[])(void) = { probe_fmov, probe_ldr, probe_st1,
                                        probe_mrs,  probe_msr, probe_add };
static const char *const names[] = { "fmov", "ldr q", "st1", "mrs fpcr", "msr fpsr", "add.4s" };

static uint64_t el0_probe(uint64_t k)
{
    probes[k]();
    return 0;
}

static void fpen_traps(void)
{
    for (unsigned fpen = 0; fpen < 4; fpen++) {
        set_fpen(fpen);
        for (unsigned k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
            trap.count = 0;
            trap.esr = 0;
            trap.kind = 0;
            trap_expected = 1;
            probes[k]();
            pr_str("fpen ");
            pr_hex(fpen);
            pr_str(" el1 ");
            show(names[k]);
            trap.count = 0;
            trap.esr = 0;
            trap.kind = 0;
            trap_expected = 1;
            run_el0(el0_probe, k);
            pr_str("fpen ");
            pr_hex(fpen);
            pr_str(" el0 ");
            show(names[k]);
        }
    }
    trap_expected = 0;
}

static void fpcr_fpsr(void)
{
    set_fpen(3);
    pr("fpcr reset", SYSREG_READ(fpcr));
    pr("fpsr reset", SYSREG_READ(fpsr));
    static const uint64_t fpcr_vals[] = { 0x07c00000, 0x00400000, 0x00800000, 0x00c00000,
                                          0x01000000, 0x02000000, 0x04000000, 0 };
    for (unsigned k = 0; k < sizeof(fpcr_vals) / sizeof(fpcr_vals[0]); k++) {
        SYSREG_WRITE(fpcr, fpcr_vals[k]);
        pr("fpcr", SYSREG_READ(fpcr));
    }
    static const uint64_t fpsr_vals[] = { 0x0800009f, 0x9f, 0x08000000, 0x80, 0x1, 0 };
    for (unsigned k = 0; k < sizeof(fpsr_vals) / sizeof(fpsr_vals[0]); k++) {
        SYSREG_WRITE(fpsr, fpsr_vals[k]);
        pr("fpsr", SYSREG_READ(fpsr));
    }
    uint64_t pfr0 = SYSREG_READ(id_aa64pfr0_el1);
    pr("pfr0 fp/advsimd", (pfr0 >> 16) & 0xff);
}

/* V registers keep their values across an exception taken and returned from. */
static void vregs_across_trap(void)
{
    uint64_t out[2];
    __asm__ volatile("ldr q5, [%0]\n" ::"r"(buf) : "v5", "memory");
    trap_expected = 1;
    __asm__ volatile("svc #1" ::: "memory");
    __asm__ volatile("str q5, [%0]\n" ::"r"(out) : "memory");
    pr("q5 lo", out[0]);
    pr("q5 hi", out[1]);
}

int main(void)
{
    fpen_traps();
    fpcr_fpsr();
    vregs_across_trap();
    return 0;
}
