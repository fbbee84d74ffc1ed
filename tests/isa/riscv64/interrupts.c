/* SPDX-License-Identifier: MIT */
/*
 * interrupts: CLINT machine software (msip) and timer (mtimecmp/mtime) interrupts.
 * Only deterministic facts are printed: whether the interrupt was taken, mcause, that
 * mepc lies inside the wait loop, mstatus.MPP/MPIE at the trap, mip bits, ordering of
 * simultaneously pending interrupts, vectored mtvec slots; never time values.
 * Also: wfi wakes on a pending-and-enabled interrupt even with mstatus.MIE = 0, and
 * M-level interrupts are taken in S/U mode regardless of mstatus.MIE.
 */
#include "isa.h"

#define TICKS_MS 10000ul /* CLINT timebase: 10 MHz */
#define WAIT_N   100000

static u64 mtime(void)
{
    return mmio_read64(CLINT_MTIME);
}

static void print_irq(const char *label, u64 seen)
{
    if (!g_trap.count) {
        pr("%s: seen=%lu no trap\n", label, seen);
        return;
    }
    pr("%s: seen=%lu trap %c cause=%lx tval=%lx epc-in-wait-loop=%d vec=%ld MPP=%lu "
       "MPIE=%lu n=%lu\n",
       label, seen, g_trap.level == 3 ? 'M' : 'S', g_trap.cause, g_trap.tval,
       in_wait_loop(g_trap.epc), g_trap.vec, (g_trap.status >> 11) & 3, (g_trap.status >> 7) & 1,
       g_trap.count);
}

static u64 seq[8];
static unsigned nseq;
static int record_seq(struct trap_frame *f)
{
    if (nseq < ARRAY_SIZE(seq))
        seq[nseq++] = f->cause;
    return 0;
}

static void software(void)
{
    u64 seen;
    csr_write(mie, 1ul << IRQ_MSI);
    /* pending but globally disabled */
    mmio_write32(CLINT_MSIP, 1);
    pr("msip readback %x mip.MSIP %lu\n", mmio_read32(CLINT_MSIP), (csr_read(mip) >> 3) & 1);
    trap_reset();
    seen = wait_trap(WAIT_N);
    print_irq("MSI MIE=0", seen);
    /* wfi returns at once: an enabled interrupt is pending (MIE does not matter) */
    asm volatile("wfi");
    pr("wfi with MSI pending returned, traps=%lu\n", g_trap.count);
    /* enable: taken, handler clears msip */
    trap_reset();
    seen = wait_trap_mie(WAIT_N);
    csr_clear(mstatus, MSTATUS_MIE);
    print_irq("MSI MIE=1", seen);
    pr("msip after %x mip.MSIP %lu\n", mmio_read32(CLINT_MSIP), (csr_read(mip) >> 3) & 1);
    /* mie.MSIE = 0: not taken even with MIE = 1 */
    csr_write(mie, 0);
    mmio_write32(CLINT_MSIP, 1);
    trap_reset();
    seen = wait_trap_mie(WAIT_N);
    csr_clear(mstatus, MSTATUS_MIE);
    print_irq("MSI MSIE=0", seen);
    mmio_write32(CLINT_MSIP, 0);
    pr("mip.MSIP cleared %lu\n", (csr_read(mip) >> 3) & 1);
    /* taken in S and U even though mstatus.MIE = 0 */
    csr_write(mie, 1ul << IRQ_MSI);
    mmio_write32(CLINT_MSIP, 1);
    trap_reset();
    seen = run_in_mode(PRV_S, wait_trap, WAIT_N, 0);
    print_irq("MSI in S, MIE=0", seen);
    mmio_write32(CLINT_MSIP, 1);
    trap_reset();
    seen = run_in_mode(PRV_U, wait_trap, WAIT_N, 0);
    print_irq("MSI in U, MIE=0", seen);
    csr_write(mie, 0);
}

static void timer(void)
{
    u64 seen, t0, t1;
    t0 = mtime();
    t1 = mtime();
    while (t1 == t0)
        t1 = mtime();
    pr("mtime advances %d\n", t1 > t0);
    /* mtimecmp in the past: MTIP set; in the future: clear */
    mmio_write64(CLINT_MTIMECMP, mtime());
    while (mtime() <= mmio_read64(CLINT_MTIMECMP))
        ;
    pr("mtimecmp<=mtime: mip.MTIP %lu\n", (csr_read(mip) >> 7) & 1);
    mmio_write64(CLINT_MTIMECMP, ~0ul);
    pr("mtimecmp=max: mip.MTIP %lu readback %lx\n", (csr_read(mip) >> 7) & 1,
       mmio_read64(CLINT_MTIMECMP));
    /* 32-bit halves of mtimecmp are writable separately */
    mmio_write32(CLINT_MTIMECMP, 0x12345678);
    pr("mtimecmp low write %lx\n", mmio_read64(CLINT_MTIMECMP));
    mmio_write64(CLINT_MTIMECMP, ~0ul);

    /* timer interrupt while polling */
    csr_write(mie, 1ul << IRQ_MTI);
    trap_reset();
    mmio_write64(CLINT_MTIMECMP, mtime() + TICKS_MS / 10);
    seen = wait_mtime_mie(mtime() + 2000 * TICKS_MS);
    csr_clear(mstatus, MSTATUS_MIE);
    print_irq("MTI polling", seen);
    pr("mtimecmp after handler %lx\n", mmio_read64(CLINT_MTIMECMP));

    /* timer interrupt ending a wfi */
    trap_reset();
    mmio_write64(CLINT_MTIMECMP, mtime() + TICKS_MS / 10);
    seen = wfi_mtime_mie(mtime() + 2000 * TICKS_MS);
    csr_clear(mstatus, MSTATUS_MIE);
    print_irq("MTI wfi", seen);

    /* wfi with MIE = 0: wakes when the timer fires, no trap, MTIP stays set */
    trap_reset();
    mmio_write64(CLINT_MTIMECMP, mtime() + TICKS_MS / 10);
    u64 deadline = mtime() + 2000 * TICKS_MS;
    while (!(csr_read(mip) & (1ul << IRQ_MTI)) && mtime() < deadline)
        asm volatile("wfi");
    pr("wfi MIE=0 woke: MTIP=%lu traps=%lu\n", (csr_read(mip) >> 7) & 1, g_trap.count);
    mmio_write64(CLINT_MTIMECMP, ~0ul);
    pr("MTIP after mtimecmp=max %lu\n", (csr_read(mip) >> 7) & 1);

    /* in S and U mode with mstatus.MIE = 0 */
    trap_reset();
    mmio_write64(CLINT_MTIMECMP, mtime() + TICKS_MS / 10);
    seen = run_in_mode(PRV_S, wait_mtime, mtime() + 2000 * TICKS_MS, 0);
    print_irq("MTI in S", seen);
    trap_reset();
    mmio_write64(CLINT_MTIMECMP, mtime() + TICKS_MS / 10);
    seen = run_in_mode(PRV_U, wait_mtime, mtime() + 2000 * TICKS_MS, 0);
    print_irq("MTI in U", seen);
    csr_write(mie, 0);
}

static void priority_and_vectors(void)
{
    /* MSI and MTI pending together: MSI first */
    csr_write(mie, (1ul << IRQ_MSI) | (1ul << IRQ_MTI));
    mmio_write32(CLINT_MSIP, 1);
    mmio_write64(CLINT_MTIMECMP, 0);
    while (!(csr_read(mip) & (1ul << IRQ_MTI)))
        ;
    nseq = 0;
    g_hook_m = record_seq;
    trap_reset();
    wait_trap_mie(WAIT_N);
    csr_clear(mstatus, MSTATUS_MIE);
    g_hook_m = 0;
    pr("M priority order:");
    for (unsigned i = 0; i < nseq; i++)
        pr(" %lx", seq[i]);
    pr("\n");

    /* vectored mtvec */
    csr_write(mtvec, (u64)mtvec_table | 1);
    csr_write(mie, 1ul << IRQ_MSI);
    mmio_write32(CLINT_MSIP, 1);
    trap_reset();
    u64 seen = wait_trap_mie(WAIT_N);
    csr_clear(mstatus, MSTATUS_MIE);
    print_irq("MSI vectored", seen);
    csr_write(mie, 1ul << IRQ_MTI);
    mmio_write64(CLINT_MTIMECMP, 0);
    trap_reset();
    seen = wait_trap_mie(WAIT_N);
    csr_clear(mstatus, MSTATUS_MIE);
    print_irq("MTI vectored", seen);
    trap_reset();
    asm volatile("ecall");
    pr("ecall with vectored mtvec: cause=%lx vec=%ld\n", g_trap.cause, g_trap.vec);
    trap_reset();
    asm volatile(".word 0xffffffff");
    pr("illegal with vectored mtvec: cause=%lx vec=%ld\n", g_trap.cause, g_trap.vec);
    csr_write(mtvec, (u64)trap_entry_m);
    csr_write(mie, 0);
}

int main(void)
{
    pr("# interrupts\n");
    g_expect = 1;
    software();
    timer();
    priority_and_vectors();
    g_expect = 0;
    return 0;
}
