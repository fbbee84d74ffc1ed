/* SPDX-License-Identifier: MIT */
/* C part of the ISA test runtime: UART output, exit, default trap handling. */
#include "isa.h"

#define TRAP_LIMIT 20000 /* a trap storm ends the program instead of hanging it */

volatile struct trap_rec g_trap;
volatile int g_expect;
trap_hook_t g_hook_m, g_hook_s;
volatile int g_trap_depth_m, g_trap_depth_s;
static volatile u64 g_trap_total;

/* ---------------------------------------------------------------- output */

void uart_putc(char c)
{
    volatile u8 *uart = (volatile u8 *)UART_BASE;
    while (!(uart[5] & 0x20))
        ;
    uart[0] = (u8)c;
}

void uart_puts(const char *s)
{
    while (*s)
        uart_putc(*s++);
}

static void put_num(u64 v, unsigned base, int neg, int width, char pad)
{
    char buf[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (neg)
        buf[n++] = '-';
    for (int i = n; i < width; i++)
        uart_putc(pad);
    while (n)
        uart_putc(buf[--n]);
}

void puthex64(u64 v)
{
    put_num(v, 16, 0, 16, '0');
}

void vpr(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            uart_putc(*fmt);
            continue;
        }
        fmt++;
        int left = 0, width = 0, lng = 0;
        char pad = ' ';
        if (*fmt == '-') {
            left = 1;
            fmt++;
        }
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') {
            lng = 1;
            fmt++;
        }
        switch (*fmt) {
        case 'd': {
            i64 v = lng ? va_arg(ap, i64) : va_arg(ap, int);
            put_num(v < 0 ? -(u64)v : (u64)v, 10, v < 0, width, pad);
            break;
        }
        case 'u': {
            u64 v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned);
            put_num(v, 10, 0, width, pad);
            break;
        }
        case 'x': {
            u64 v = lng ? va_arg(ap, u64) : va_arg(ap, unsigned);
            put_num(v, 16, 0, width, pad);
            break;
        }
        case 'p': put_num(va_arg(ap, u64), 16, 0, 16, '0'); break;
        case 'c': uart_putc((char)va_arg(ap, int)); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            int n = 0;
            while (s[n])
                n++;
            if (!left)
                for (int i = n; i < width; i++)
                    uart_putc(' ');
            uart_puts(s);
            if (left)
                for (int i = n; i < width; i++)
                    uart_putc(' ');
            break;
        }
        case '%': uart_putc('%'); break;
        default: uart_putc('?'); break;
        }
    }
}

void pr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vpr(fmt, ap);
    va_end(ap);
}

static void __attribute__((noreturn)) poweroff(u32 code)
{
    mmio_write32(TEST_DEV_BASE, code);
    for (;;)
        asm volatile("wfi");
}

void exit(int code)
{
    if (code == 0) {
        uart_puts("DONE\n");
        poweroff(0x5555);
    }
    pr("FAIL %d\n", code);
    poweroff(((u32)code << 16) | 0x3333);
}

void fail(const char *why)
{
    pr("FAIL: %s\n", why);
    poweroff((1u << 16) | 0x3333);
}

/* ---------------------------------------------------------------- libc bits */

void *memset(void *d, int c, size_t n)
{
    u8 *p = d;
    while (n--)
        *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    u8 *p = d;
    const u8 *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}

/* ---------------------------------------------------------------- traps */

void trap_reset(void)
{
    g_trap.count = 0;
    g_trap.cause = g_trap.epc = g_trap.tval = g_trap.status = g_trap.level = 0;
    g_trap.vec = -1;
}

void trap_print(const char *label, u64 epc_base)
{
    if (!g_trap.count) {
        pr("%s: no trap\n", label);
        return;
    }
    pr("%s: trap %c cause=%lx tval=%p epc=", label, g_trap.level == 3 ? 'M' : 'S', g_trap.cause,
       g_trap.tval);
    if (epc_base) {
        i64 d = (i64)(g_trap.epc - epc_base);
        pr("%c%ld", d < 0 ? '-' : '+', d < 0 ? -d : d);
    } else {
        pr("%p", g_trap.epc);
    }
    if (g_trap.count != 1)
        pr(" n=%ld", g_trap.count);
    pr("\n");
}

unsigned insn_len_at(u64 pc)
{
    u64 pa;
    if (pc >= RAM_BASE && pc < RAM_BASE + RAM_SIZE)
        pa = pc;
    else if (pc >= RAM_BASE + USER_ALIAS && pc < RAM_BASE + USER_ALIAS + RAM_SIZE)
        pa = pc - USER_ALIAS;
    else
        return 4;
    u16 h = *(volatile u16 *)pa;
    return (h & 3) == 3 ? 4 : 2;
}

static void record(struct trap_frame *f)
{
    g_trap.count++;
    g_trap.cause = f->cause;
    g_trap.epc = f->epc;
    g_trap.tval = f->tval;
    g_trap.status = f->status;
    g_trap.level = f->level;
    g_trap.vec = f->vec;
}

static void unexpected(struct trap_frame *f)
{
    pr("UNEXPECTED TRAP %c cause=%lx epc=%p tval=%p\n", f->level == 3 ? 'M' : 'S', f->cause, f->epc,
       f->tval);
}

static void skip_or_return(struct trap_frame *f)
{
    u64 c = f->cause;
    if (c == 0 || c == 1 || c == 12) /* fetch faults: resume at the caller (ra) */
        f->epc = f->x[1];
    else
        f->epc += insn_len_at(f->epc);
}

void trap_handler_m(struct trap_frame *f)
{
    if (g_trap_depth_m++) {
        pr("NESTED M TRAP cause=%lx epc=%p tval=%p\n", csr_read(mcause), csr_read(mepc),
           csr_read(mtval));
        fail("nested trap");
    }
    if (++g_trap_total > TRAP_LIMIT)
        fail("too many traps");
    if (g_hook_m && g_hook_m(f))
        goto out;
    if (!(f->cause & CAUSE_IRQ) && (f->cause == 8 || f->cause == 9 || f->cause == 11) &&
        f->x[17] == MODE_RETURN_MAGIC)
        mode_return(f->x[10]);
    record(f);
    if (f->cause & CAUSE_IRQ) {
        unsigned irq = (unsigned)(f->cause & 63);
        if (!g_expect)
            unexpected(f);
        switch (irq) {
        case IRQ_MSI: mmio_write32(CLINT_MSIP, 0); break;
        case IRQ_MTI: mmio_write64(CLINT_MTIMECMP, ~0ul); break;
        case IRQ_SSI:
        case IRQ_STI:
        case IRQ_SEI:
            csr_clear(mip, 1ul << irq);
            csr_clear(mie, 1ul << irq);
            break;
        default: csr_clear(mie, 1ul << irq); break;
        }
    } else {
        if (!g_expect)
            unexpected(f);
        skip_or_return(f);
    }
out:
    g_trap_depth_m--;
}

void trap_handler_s(struct trap_frame *f)
{
    if (g_trap_depth_s++) {
        pr("NESTED S TRAP\n");
        fail("nested trap");
    }
    if (++g_trap_total > TRAP_LIMIT)
        fail("too many traps");
    if (g_hook_s && g_hook_s(f))
        goto out;
    if (f->cause == 8 && f->x[17] == MODE_RETURN_MAGIC) {
        /* U-mode finished under delegation: forward to M (ecall from S). */
        register u64 a0 asm("a0") = f->x[10];
        register u64 a7 asm("a7") = MODE_RETURN_MAGIC;
        asm volatile("ecall" ::"r"(a0), "r"(a7) : "memory");
        fail("mode return came back");
    }
    record(f);
    if (f->cause & CAUSE_IRQ) {
        unsigned irq = (unsigned)(f->cause & 63);
        if (!g_expect)
            unexpected(f);
        if (irq == IRQ_SSI)
            csr_clear(sip, 1ul << IRQ_SSI);
        csr_clear(sie, 1ul << irq);
    } else {
        if (!g_expect)
            unexpected(f);
        skip_or_return(f);
    }
out:
    g_trap_depth_s--;
}
