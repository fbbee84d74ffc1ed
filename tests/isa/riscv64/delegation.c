/* SPDX-License-Identifier: MIT */
/*
 * delegation: medeleg/mideleg. Delegated exceptions from U and S go to the S handler
 * (scause/sepc/stval/sstatus.SPP/SPIE), non-delegated ones and everything from M go to
 * M; M trap CSRs untouched by delegated traps. Interrupt delegation: SSI/STI/SEI set
 * in mip by M and taken in S (or in M when not delegated), global enable rules per
 * privilege (SIE ignored in U, delegated interrupts never taken in M), SSI-before-STI
 * priority, vectored stvec.
 */
#include "isa.h"

#define TRY_AT(label, insn)                                                      \
    do {                                                                         \
        u64 __pc;                                                                \
        trap_reset();                                                            \
        asm volatile(".option push\n .option norvc\n"                            \
                     "la %0, 1f\n"                                               \
                     "1: " insn "\n"                                             \
                     ".option pop"                                               \
                     : "=&r"(__pc)::"t0", "a7", "memory");                       \
        trap_print(label, __pc);                                                 \
        if (g_trap.count && g_trap.level == 1)                                   \
            pr("  sstatus SPP=%lu SPIE=%lu SIE=%lu\n", (g_trap.status >> 8) & 1, \
               (g_trap.status >> 5) & 1, (g_trap.status >> 1) & 1);              \
    } while (0)

#define WAIT_N 100000

static u64 u_ebreak(u64 arg)
{
    (void)arg;
    asm volatile("ebreak");
    return 0;
}

static u64 exc_body(u64 arg)
{
    const char *m = arg ? "S" : "U";
    char l[48];
#define LBL(s)                           \
    ({                                   \
        int n = 0;                       \
        l[n++] = m[0];                   \
        l[n++] = ' ';                    \
        for (const char *p = s; *p; p++) \
            l[n++] = *p;                 \
        l[n] = 0;                        \
        l;                               \
    })
    TRY_AT(LBL("illegal"), ".word 0xffffffff");
    TRY_AT(LBL("ebreak"), "ebreak");
    TRY_AT(LBL("ecall"), "li a7, 0\n ecall");
    TRY_AT(LBL("ld past RAM"), "li t0, 0x88000000\n ld t0, 0(t0)");
    TRY_AT(LBL("sd past RAM"), "li t0, 0x88000008\n sd t0, 0(t0)");
    TRY_AT(LBL("amoadd.w misaligned"),
           "la t0, g_trap\n addi t0, t0, 2\n amoadd.w zero, zero, (t0)");
    TRY_AT(LBL("lr.d misaligned"), "la t0, g_trap\n addi t0, t0, 4\n lr.d zero, (t0)");
    TRY_AT(LBL("csrr mstatus"), "csrr t0, mstatus");
    return 0x10 + arg;
}

static void exceptions(void)
{
    /* Delegate the common exceptions but not load/store misaligned. ecall from S (9)
     * stays with M: the runtime's return path from S is an ecall to M. */
    const u64 deleg = (1ul << 2) | (1ul << 3) | (1ul << 5) | (1ul << 7) | (1ul << 8) | (1ul << 12) |
                      (1ul << 13) | (1ul << 15);
    csr_write(medeleg, deleg);
    pr("medeleg&b3ff %lx\n", csr_read(medeleg) & 0xb3ff);
    g_expect = 1;
    pr("U returned %lx\n", run_in_mode(PRV_U, exc_body, 0, 0));
    pr("S returned %lx\n", run_in_mode(PRV_S, exc_body, 1, 0));
    /* M-mode exceptions are never delegated */
    csr_write(medeleg, deleg);
    TRY_AT("M illegal (medeleg set)", ".word 0xffffffff");
    TRY_AT("M ebreak (medeleg set)", "ebreak");
    /* partial delegation: illegal not delegated -> M, breakpoint still -> S */
    csr_write(medeleg, deleg & ~(1ul << 2));
    pr("U partial returned %lx\n", run_in_mode(PRV_U, exc_body, 0, 0));
    csr_write(medeleg, 0);
    g_expect = 0;
}

/* ---- interrupts ---- */

static u64 seq[8];
static unsigned nseq;
static int record_seq(struct trap_frame *f)
{
    if (nseq < ARRAY_SIZE(seq))
        seq[nseq++] = f->cause;
    return 0; /* default handling continues */
}

static void print_irq(const char *label, u64 seen)
{
    if (!g_trap.count) {
        pr("%s: seen=%lu no trap\n", label, seen);
        return;
    }
    pr("%s: seen=%lu trap %c cause=%lx tval=%lx epc-in-wait-loop=%d vec=%ld", label, seen,
       g_trap.level == 3 ? 'M' : 'S', g_trap.cause, g_trap.tval, in_wait_loop(g_trap.epc),
       g_trap.vec);
    if (g_trap.level == 1)
        pr(" SPP=%lu SPIE=%lu", (g_trap.status >> 8) & 1, (g_trap.status >> 5) & 1);
    else
        pr(" MPP=%lu MPIE=%lu", (g_trap.status >> 11) & 3, (g_trap.status >> 7) & 1);
    pr(" n=%lu\n", g_trap.count);
}

static u64 s_with_sie(u64 arg)
{
    u64 r = wait_trap_sie(arg);
    csr_clear(sstatus, MSTATUS_SIE);
    return r;
}

static void interrupts(void)
{
    u64 seen;
    g_expect = 1;
    csr_write(mideleg, (1ul << IRQ_SSI) | (1ul << IRQ_STI) | (1ul << IRQ_SEI));
    csr_write(mie, (1ul << IRQ_SSI) | (1ul << IRQ_STI) | (1ul << IRQ_SEI));

    /* delegated SSI pending in M with MIE=1: never taken in M */
    csr_set(mip, 1ul << IRQ_SSI);
    trap_reset();
    seen = wait_trap_mie(WAIT_N);
    csr_clear(mstatus, MSTATUS_MIE);
    print_irq("SSI delegated, in M", seen);

    /* in S with SIE=0: not taken */
    trap_reset();
    seen = run_in_mode(PRV_S, wait_trap_nosie, WAIT_N, 0);
    print_irq("SSI delegated, S SIE=0", seen);

    /* in S with SIE=1: taken in S; the handler clears sip.SSIP */
    trap_reset();
    seen = run_in_mode(PRV_S, s_with_sie, WAIT_N, 0);
    print_irq("SSI delegated, S SIE=1", seen);
    pr("mip after %lx\n", csr_read(mip) & 0xaaa);

    /* in U: taken in S even with SIE=0 */
    csr_write(mie, (1ul << IRQ_SSI) | (1ul << IRQ_STI) | (1ul << IRQ_SEI));
    csr_set(mip, 1ul << IRQ_SSI);
    csr_clear(mstatus, MSTATUS_SIE);
    trap_reset();
    seen = run_in_mode(PRV_U, wait_trap, WAIT_N, 0);
    print_irq("SSI delegated, U SIE=0", seen);

    /* STI and SEI delegated (set by M in mip) */
    csr_write(mie, (1ul << IRQ_SSI) | (1ul << IRQ_STI) | (1ul << IRQ_SEI));
    csr_set(mip, 1ul << IRQ_STI);
    trap_reset();
    seen = run_in_mode(PRV_S, s_with_sie, WAIT_N, 0);
    print_irq("STI delegated, S", seen);
    csr_clear(mip, 1ul << IRQ_STI);
    csr_write(mie, (1ul << IRQ_SSI) | (1ul << IRQ_STI) | (1ul << IRQ_SEI));
    csr_set(mip, 1ul << IRQ_SEI);
    trap_reset();
    seen = run_in_mode(PRV_U, wait_trap, WAIT_N, 0);
    print_irq("SEI delegated, U", seen);
    csr_clear(mip, 1ul << IRQ_SEI);

    /* priority among S-level interrupts: SSI before STI. (The spec puts SEI above
     * both; QEMU 7.2 without AIA delivers the lowest-numbered pending interrupt first,
     * so SEI is left out of the comparison.) */
    csr_write(mie, (1ul << IRQ_SSI) | (1ul << IRQ_STI) | (1ul << IRQ_SEI));
    csr_set(mip, (1ul << IRQ_SSI) | (1ul << IRQ_STI));
    nseq = 0;
    g_hook_s = record_seq;
    trap_reset();
    run_in_mode(PRV_U, wait_trap, WAIT_N, 0);
    g_hook_s = 0;
    pr("S priority order:");
    for (unsigned i = 0; i < nseq; i++)
        pr(" %lx", seq[i]);
    pr("\n");
    csr_write(mip, 0);

    /* vectored stvec: interrupts go to base + 4*cause, exceptions to base */
    csr_write(stvec, (u64)stvec_table | 1);
    csr_write(mie, 1ul << IRQ_SSI);
    csr_set(mip, 1ul << IRQ_SSI);
    trap_reset();
    seen = run_in_mode(PRV_S, s_with_sie, WAIT_N, 0);
    print_irq("SSI vectored stvec", seen);
    csr_write(mie, 1ul << IRQ_STI);
    csr_set(mip, 1ul << IRQ_STI);
    trap_reset();
    seen = run_in_mode(PRV_U, wait_trap, WAIT_N, 0);
    print_irq("STI vectored stvec", seen);
    csr_clear(mip, 1ul << IRQ_STI);
    csr_write(medeleg, 1ul << 3);
    trap_reset();
    run_in_mode(PRV_U, u_ebreak, 0, 0);
    pr("ebreak with vectored stvec: cause=%lx vec=%ld\n", g_trap.cause, g_trap.vec);
    csr_write(medeleg, 0);
    csr_write(stvec, (u64)trap_entry_s);

    /* not delegated: S-level interrupts go to M even from S with SIE=0 */
    csr_write(mideleg, 0);
    csr_write(mie, 1ul << IRQ_SSI);
    csr_set(mip, 1ul << IRQ_SSI);
    trap_reset();
    seen = run_in_mode(PRV_S, wait_trap_nosie, WAIT_N, 0);
    print_irq("SSI not delegated, S", seen);
    csr_write(mie, 1ul << IRQ_STI);
    csr_set(mip, 1ul << IRQ_STI);
    trap_reset();
    seen = run_in_mode(PRV_U, wait_trap, WAIT_N, 0);
    print_irq("STI not delegated, U", seen);
    csr_clear(mip, 1ul << IRQ_STI);
    /* not delegated, in M with MIE=0: pending but not taken */
    csr_write(mie, 1ul << IRQ_SSI);
    csr_set(mip, 1ul << IRQ_SSI);
    trap_reset();
    seen = wait_trap(WAIT_N);
    print_irq("SSI not delegated, M MIE=0", seen);
    pr("mip %lx\n", csr_read(mip) & 0xaaa);
    seen = wait_trap_mie(WAIT_N);
    csr_clear(mstatus, MSTATUS_MIE);
    print_irq("SSI not delegated, M MIE=1", seen);
    csr_write(mie, 0);
    csr_write(mip, 0);
    g_expect = 0;
}

int main(void)
{
    pr("# delegation\n");
    exceptions();
    interrupts();
    return 0;
}
