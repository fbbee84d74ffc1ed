/* SPDX-License-Identifier: MIT */
/* Two vCPUs: PSCI CPU_ON/AFFINITY_INFO/CPU_OFF, and every kind of atomic on shared words
 * from both at once (LSE, exclusives, CAS loops); the totals must be exact. */
#include "isa.h"

#define N 20000

extern char secondary_entry[];
static volatile uint64_t counter_lse, counter_excl, counter_cas, started, finished;
static volatile uint32_t counter_w;

static void work(void)
{
    for (unsigned i = 0; i < N; i++) {
        uint64_t one = 1, old, tmp, st;
        __asm__ volatile("ldadd %1, %0, [%2]"
                         : "=&r"(old)
                         : "r"(one), "r"(&counter_lse)
                         : "memory");
        __asm__ volatile("1: ldaxr %0, [%2]\n add %0, %0, #1\n stlxr %w1, %0, [%2]\n cbnz %w1, 1b"
                         : "=&r"(tmp), "=&r"(st)
                         : "r"(&counter_excl)
                         : "memory");
        uint64_t cur = counter_cas;
        for (;;) {
            uint64_t exp = cur;
            __asm__ volatile("casal %0, %2, [%1]"
                             : "+r"(cur)
                             : "r"(&counter_cas), "r"(exp + 3)
                             : "memory");
            if (cur == exp)
                break;
        }
        __asm__ volatile("stadd %w0, [%1]" ::"r"(2u), "r"(&counter_w) : "memory");
    }
}

void secondary_main(uint64_t ctx)
{
    __atomic_fetch_add(&started, ctx, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 2)
        ;
    work();
    __atomic_fetch_add(&finished, 1, __ATOMIC_SEQ_CST);
    psci_call(0x84000002, 0, 0, 0); /* CPU_OFF: does not return */
    fail("CPU_OFF returned");
}

int main(void)
{
    uint64_t mpidr1 = (SYSREG_READ(mpidr_el1) & 0xff00ffff00ull) | 1;
    pr("affinity_info cpu1 before", psci_call(0xc4000004, mpidr1, 0, 0));
    pr("cpu_on cpu1", psci_call(0xc4000003, mpidr1, (uint64_t)secondary_entry, 1));
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 1)
        ;
    /* It runs: a second CPU_ON is refused. */
    pr("cpu_on cpu1 again", psci_call(0xc4000003, mpidr1, (uint64_t)secondary_entry, 1));
    pr("affinity_info cpu1 on", psci_call(0xc4000004, mpidr1, 0, 0));
    __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
    work();
    while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < 1)
        ;
    while (psci_call(0xc4000004, mpidr1, 0, 0) != 1)
        ;
    pr("affinity_info cpu1 after cpu_off", psci_call(0xc4000004, mpidr1, 0, 0));
    pr("ldadd total", counter_lse);
    pr("ldxr/stxr total", counter_excl);
    pr("cas total", counter_cas);
    pr("stadd w total", counter_w);
    return 0;
}
