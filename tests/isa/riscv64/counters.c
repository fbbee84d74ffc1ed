/* SPDX-License-Identifier: MIT */
/*
 * counters: mcycle/minstret/cycle/instret/time exist and increase, writes to mcycle/
 * minstret take effect, time tracks CLINT mtime, and mcounteren/scounteren gate the
 * user-level counters in S and U mode (illegal instruction otherwise). Only booleans
 * and trap causes are printed, never counter values.
 */
#include "isa.h"

static void busy(void)
{
    for (volatile int i = 0; i < 2000; i++)
        ;
}

#define RD(csr)                                   \
    static u64 rd_##csr(void)                     \
    {                                             \
        u64 v;                                    \
        asm volatile("csrr %0, " #csr : "=r"(v)); \
        return v;                                 \
    }
/* clang-format off */
RD(mcycle)
RD(minstret)
RD(cycle)
RD(instret)
RD(time)
/* clang-format on */

static void increase(const char *name, u64 (*rd)(void))
{
    u64 a = rd();
    busy();
    u64 b = rd();
    busy();
    u64 c = rd();
    pr("%s increases %d %d\n", name, b > a, c > b);
}

/* Runs in S or U: try each user counter, report trap causes (0 = readable). */
static u64 try_counters(u64 arg)
{
    u64 res = 0;
    (void)arg;
    trap_reset();
    asm volatile("csrr t0, cycle" ::: "t0");
    res |= (g_trap.count ? g_trap.cause : 0xf) << 0;
    trap_reset();
    asm volatile("csrr t0, time" ::: "t0");
    res |= (g_trap.count ? g_trap.cause : 0xf) << 4;
    trap_reset();
    asm volatile("csrr t0, instret" ::: "t0");
    res |= (g_trap.count ? g_trap.cause : 0xf) << 8;
    /* readable counters must also increase */
    u64 a, b;
    asm volatile("csrr %0, cycle" : "=r"(a));
    busy();
    asm volatile("csrr %0, cycle" : "=r"(b));
    if ((res & 0xf) == 0xf)
        res |= (u64)(b > a) << 12;
    return res;
}

static void gating(void)
{
    static const struct {
        u64 m, s;
    } cfg[] = {
        { 0, 0 }, { 7, 0 }, { 7, 7 }, { 1, 1 }, { 2, 2 }, { 4, 4 }, { 7, 5 }, { 0, 7 },
    };
    g_expect = 1;
    for (unsigned i = 0; i < ARRAY_SIZE(cfg); i++) {
        csr_write(mcounteren, cfg[i].m);
        csr_write(scounteren, cfg[i].s);
        u64 s = run_in_mode(PRV_S, try_counters, 0, 0);
        u64 u = run_in_mode(PRV_U, try_counters, 0, 0);
        pr("mcounteren=%lu scounteren=%lu: S cy/tm/ir=%lx/%lx/%lx U cy/tm/ir=%lx/%lx/%lx "
           "(f = readable; 2 = illegal) S-cycle-increases=%lu U-cycle-increases=%lu\n",
           cfg[i].m, cfg[i].s, s & 0xf, (s >> 4) & 0xf, (s >> 8) & 0xf, u & 0xf, (u >> 4) & 0xf,
           (u >> 8) & 0xf, (s >> 12) & 1, (u >> 12) & 1);
    }
    csr_write(mcounteren, 0);
    csr_write(scounteren, 0);
    g_expect = 0;
}

int main(void)
{
    pr("# counters\n");
    increase("mcycle", rd_mcycle);
    increase("minstret", rd_minstret);
    increase("cycle", rd_cycle);
    increase("instret", rd_instret);
    increase("time", rd_time);
    /* cycle/instret are the same counters as mcycle/minstret */
    u64 m1 = rd_mcycle(), c1 = rd_cycle(), m2 = rd_mcycle();
    pr("cycle between mcycle reads %d\n", c1 >= m1 && c1 <= m2);
    m1 = rd_minstret();
    c1 = rd_instret();
    m2 = rd_minstret();
    pr("instret between minstret reads %d\n", c1 >= m1 && c1 <= m2);
    /* time follows the CLINT's mtime */
    u64 t1 = mmio_read64(CLINT_MTIME), t = rd_time(), t2 = mmio_read64(CLINT_MTIME);
    pr("time between mtime reads %d\n", t >= t1 && t <= t2);
    /* writes */
    csr_write(mcycle, 0x100000000ul);
    u64 v = rd_mcycle();
    pr("mcycle after write 2^32: >= %d, < +2^31 %d\n", v >= 0x100000000ul, v < 0x180000000ul);
    csr_write(minstret, 0x200000000ul);
    v = rd_minstret();
    pr("minstret after write 2^33: >= %d, < +2^31 %d\n", v >= 0x200000000ul, v < 0x280000000ul);
    v = rd_instret();
    pr("instret follows minstret write %d\n", v >= 0x200000000ul && v < 0x280000000ul);
    csr_write(mcycle, 0);
    csr_write(minstret, 0);
    gating();
    return 0;
}
