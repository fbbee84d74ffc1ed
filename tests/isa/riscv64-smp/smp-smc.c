/* SPDX-License-Identifier: MIT */
/*
 * Cross-hart self-modifying code. Hart 1 rewrites code that hart 0 is running in a loop,
 * following the protocol the RISC-V unprivileged spec gives for making a store to
 * instruction memory visible to another hart (Zifencei, "FENCE.I does not ensure that
 * other RISC-V harts' instruction fetches will observe the local hart's stores"): the
 * writing hart stores the instruction, executes a data FENCE, then signals; the other
 * hart, once it has seen the signal, executes FENCE.I and from then on must run the new
 * instruction.
 *
 * Two shapes, ROUNDS rounds each, a new immediate every round:
 *  - loop: the patched instruction is inside hart 0's polling loop itself (a block that
 *    chains to itself while hart 1 writes into it);
 *  - call: hart 0's polling loop calls a function on its own page whose instruction
 *    hart 1 patches.
 * What hart 0 computes before its FENCE.I may be the old or the new instruction (both are
 * allowed), so only the values after it are counted. Hart 0 prints the totals and
 * powers off with the failure code when a value after FENCE.I was stale: the expected
 * result is the specification's, not an oracle's (QEMU 7.2 with MTTCG itself runs stale
 * code after this protocol, a few rounds in a hundred, so it cannot be the reference).
 */
#include <stdint.h>

#define ROUNDS   400
#define UART     ((volatile uint8_t *)0x10000000)
#define TEST_DEV ((volatile uint32_t *)0x100000)

static volatile uint32_t flag; /* hart 1: round k's code is written */
static volatile uint32_t ack;  /* hart 0: round k checked */

/* a0 = &flag, a1 = k: poll until flag == k; returns the immediate of the last pass. */
uint64_t spin_fn(volatile uint32_t *f, uint64_t k);
extern uint32_t spin_slot[];
/* Returns its immediate. */
uint64_t get_fn(void);
extern uint32_t get_slot[];
__asm__(".text\n .option push\n .option norvc\n"
        ".balign 4096\n"
        ".globl spin_fn\n"
        "spin_fn:\n"
        "1:lw t0, 0(a0)\n"
        ".globl spin_slot\n"
        "spin_slot:\n"
        "  addi a2, zero, 0\n"
        "  bne t0, a1, 1b\n"
        "  mv a0, a2\n"
        "  ret\n"
        ".balign 4096\n"
        ".globl get_fn\n"
        "get_fn:\n"
        ".globl get_slot\n"
        "get_slot:\n"
        "  addi a0, zero, 0\n"
        "  ret\n"
        ".balign 4096\n"
        ".option pop\n");

static void putc_(char c)
{
    while (!(UART[5] & 0x20))
        ;
    UART[0] = (uint8_t)c;
}

static void line(const char *name, uint64_t v)
{
    char buf[24];
    int n = 0;
    while (*name)
        putc_(*name++);
    putc_(' ');
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc_(buf[--n]);
    putc_('\n');
}

static uint32_t addi(unsigned rd, unsigned rs1, int imm)
{
    return ((uint32_t)(imm & 0xfff) << 20) | (rs1 << 15) | (rd << 7) | 0x13;
}

static uint32_t load_acquire(volatile uint32_t *p)
{
    uint32_t v = *p;
    __asm__ volatile("fence r, rw" ::: "memory");
    return v;
}

static void store_release(volatile uint32_t *p, uint32_t v)
{
    __asm__ volatile("fence rw, w" ::: "memory");
    *p = v;
}

/* Hart 1: round k (1-based over both shapes) writes the immediate k. */
static void writer(void)
{
    for (uint32_t k = 1; k <= 2 * ROUNDS; k++) {
        while (load_acquire(&ack) != k - 1)
            ;
        int imm = (int)(k % 2000);
        if (k <= ROUNDS)
            *(volatile uint32_t *)spin_slot = addi(12, 0, imm); /* addi a2, zero, imm */
        else
            *(volatile uint32_t *)get_slot = addi(10, 0, imm); /* addi a0, zero, imm */
        __asm__ volatile("fence rw, rw" ::: "memory");         /* the data FENCE of the protocol */
        flag = k;
    }
    for (;;)
        __asm__ volatile("wfi");
}

static void runner(void)
{
    uint64_t bad_loop = 0, bad_call = 0, sum = 0, polls = 0;
    for (uint32_t k = 1; k <= ROUNDS; k++) {
        (void)spin_fn(&flag, k); /* runs in the code being patched until the signal */
        __asm__ volatile("fence r, rw" ::: "memory"); /* acquire: the signal was seen */
        __asm__ volatile("fence.i" ::: "memory");
        uint64_t v = spin_fn(&flag, k); /* one pass: must be the new instruction */
        bad_loop += v != k % 2000;
        sum += v;
        store_release(&ack, k);
    }
    for (uint32_t k = ROUNDS + 1; k <= 2 * ROUNDS; k++) {
        while (load_acquire(&flag) != k) {
            (void)get_fn();
            polls++;
        }
        __asm__ volatile("fence.i" ::: "memory");
        uint64_t v = get_fn();
        bad_call += v != k % 2000;
        sum += v;
        store_release(&ack, k);
    }
    line("rounds", 2 * ROUNDS);
    line("loop stale after fence.i", bad_loop);
    line("call stale after fence.i", bad_call);
    line("sum", sum);
    line("polled", polls > 0);
    /* sum of k % 2000 for k = 1..2 * ROUNDS */
    uint64_t want = 0;
    for (uint32_t k = 1; k <= 2 * ROUNDS; k++)
        want += k % 2000;
    const char *end = bad_loop || bad_call || sum != want ? "FAIL stale code\n" : "DONE\n";
    for (const char *p = end; *p; p++)
        putc_(*p);
    *TEST_DEV = bad_loop || bad_call || sum != want ? (1u << 16) | 0x3333 : 0x5555;
    for (;;)
        ;
}

void hart_main(uint64_t hartid)
{
    if (hartid == 0)
        runner();
    else
        writer();
}
