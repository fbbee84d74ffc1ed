/* SPDX-License-Identifier: MIT */
/*
 * Two harts hammer shared words at the same time with every kind of atomic the ISA has:
 * amoadd.w, amoadd.d, an LR/SC increment loop (.w and .d), and a spinlock built from
 * amoswap.w.aq / amoswap.w.rl protecting plain loads and stores. Any lost update shows in
 * the totals, which only depend on the iteration count. Hart 0 prints them and powers off.
 */
#include <stdint.h>

#define ITERS    100000
#define UART     ((volatile uint8_t *)0x10000000)
#define TEST_DEV ((volatile uint32_t *)0x100000)

static volatile uint32_t amo_w;
static volatile uint64_t amo_d;
static volatile uint32_t lrsc_w;
static volatile uint64_t lrsc_d;
static volatile uint32_t lock;
static volatile uint64_t locked_counter;
static volatile uint64_t locked_sum;
static volatile uint32_t done;
static volatile uint64_t max_seen;

static void putc_(char c)
{
    while (!(UART[5] & 0x20))
        ;
    UART[0] = (uint8_t)c;
}

static void puts_(const char *s)
{
    while (*s)
        putc_(*s++);
}

static void put_dec(uint64_t v)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc_(buf[--n]);
}

static void line(const char *name, uint64_t v)
{
    puts_(name);
    putc_(' ');
    put_dec(v);
    putc_('\n');
}

static inline void amoadd_w(volatile uint32_t *p, uint32_t v)
{
    __asm__ volatile("amoadd.w zero, %1, (%0)" : : "r"(p), "r"(v) : "memory");
}

static inline void amoadd_d(volatile uint64_t *p, uint64_t v)
{
    __asm__ volatile("amoadd.d zero, %1, (%0)" : : "r"(p), "r"(v) : "memory");
}

static inline void lrsc_inc_w(volatile uint32_t *p)
{
    uint32_t tmp, fail;
    __asm__ volatile("1: lr.w %0, (%2)\n"
                     "   addiw %0, %0, 1\n"
                     "   sc.w %1, %0, (%2)\n"
                     "   bnez %1, 1b\n"
                     : "=&r"(tmp), "=&r"(fail)
                     : "r"(p)
                     : "memory");
}

/* Increment and keep the running maximum with amomaxu.d. */
static inline void lrsc_inc_d(volatile uint64_t *p)
{
    uint64_t tmp, fail;
    __asm__ volatile("1: lr.d.aq %0, (%2)\n"
                     "   addi %0, %0, 1\n"
                     "   sc.d.rl %1, %0, (%2)\n"
                     "   bnez %1, 1b\n"
                     : "=&r"(tmp), "=&r"(fail)
                     : "r"(p)
                     : "memory");
    __asm__ volatile("amomaxu.d zero, %1, (%0)" : : "r"(&max_seen), "r"(tmp) : "memory");
}

static inline void spin_lock(volatile uint32_t *l)
{
    uint32_t old;
    do {
        __asm__ volatile("amoswap.w.aq %0, %2, (%1)" : "=r"(old) : "r"(l), "r"(1u) : "memory");
    } while (old);
}

static inline void spin_unlock(volatile uint32_t *l)
{
    __asm__ volatile("amoswap.w.rl zero, zero, (%0)" : : "r"(l) : "memory");
}

void hart_main(uint64_t hart)
{
    for (uint32_t i = 0; i < ITERS; i++) {
        amoadd_w(&amo_w, 1);
        amoadd_d(&amo_d, hart + 1);
        lrsc_inc_w(&lrsc_w);
        lrsc_inc_d(&lrsc_d);
        spin_lock(&lock);
        uint64_t c = locked_counter; /* plain accesses, protected by the lock */
        locked_counter = c + 1;
        locked_sum = locked_sum + (c & 0xff);
        spin_unlock(&lock);
    }
    amoadd_w(&done, 1);
    if (hart != 0)
        return;
    while (done != 2)
        ;
    line("amoadd.w", amo_w);
    line("amoadd.d", amo_d);
    line("lr/sc.w", lrsc_w);
    line("lr/sc.d", lrsc_d);
    line("amomaxu.d", max_seen);
    line("locked", locked_counter);
    line("locked-sum", locked_sum);
    puts_("DONE\n");
    *TEST_DEV = 0x5555;
}
