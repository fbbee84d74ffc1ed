/* SPDX-License-Identifier: MIT */
/*
 * Bare-metal program for qemu-system-aarch64 -M virt,gic-version=3,its=off: runs the script
 * of ops.h on QEMU's GICv3, PL031 and PL061 and prints "index value" for every read on the PL011.
 */
#include "ops.h"

#define UART_DR 0x09000000ull
#define UART_FR 0x09000018ull

static void putc_uart(char c)
{
    while (*(volatile uint32_t *)UART_FR & (1u << 5)) /* TXFF */
        ;
    *(volatile uint32_t *)UART_DR = (uint32_t)c;
}

static void put_hex(uint64_t v)
{
    for (int i = 60; i >= 0; i -= 4)
        putc_uart("0123456789abcdef"[(v >> i) & 0xf]);
}

static void put_dec(unsigned v)
{
    char buf[12];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc_uart(buf[--n]);
}

#define MRS(name)                                               \
    ({                                                          \
        uint64_t v_;                                            \
        __asm__ volatile("mrs %0, " name : "=r"(v_)::"memory"); \
        v_;                                                     \
    })
#define MSR(name, v) __asm__ volatile("msr " name ", %0\n\tisb" ::"r"((uint64_t)(v)) : "memory")

static uint64_t sys_read(unsigned r)
{
    switch (r) {
    case S_PMR: return MRS("S3_0_C4_C6_0");
    case S_IAR0: return MRS("S3_0_C12_C8_0");
    case S_HPPIR0: return MRS("S3_0_C12_C8_2");
    case S_BPR0: return MRS("S3_0_C12_C8_3");
    case S_AP0R0: return MRS("S3_0_C12_C8_4");
    case S_AP1R0: return MRS("S3_0_C12_C9_0");
    case S_RPR: return MRS("S3_0_C12_C11_3");
    case S_IAR1: return MRS("S3_0_C12_C12_0");
    case S_HPPIR1: return MRS("S3_0_C12_C12_2");
    case S_BPR1: return MRS("S3_0_C12_C12_3");
    case S_CTLR: return MRS("S3_0_C12_C12_4");
    case S_SRE: return MRS("S3_0_C12_C12_5");
    case S_IGRPEN0: return MRS("S3_0_C12_C12_6");
    case S_IGRPEN1: return MRS("S3_0_C12_C12_7");
    default: return 0xbad;
    }
}

static void sys_write(unsigned r, uint64_t v)
{
    switch (r) {
    case S_PMR: MSR("S3_0_C4_C6_0", v); break;
    case S_EOIR0: MSR("S3_0_C12_C8_1", v); break;
    case S_BPR0: MSR("S3_0_C12_C8_3", v); break;
    case S_AP0R0: MSR("S3_0_C12_C8_4", v); break;
    case S_AP1R0: MSR("S3_0_C12_C9_0", v); break;
    case S_DIR: MSR("S3_0_C12_C11_1", v); break;
    case S_SGI1R: MSR("S3_0_C12_C11_5", v); break;
    case S_SGI0R: MSR("S3_0_C12_C11_7", v); break;
    case S_EOIR1: MSR("S3_0_C12_C12_1", v); break;
    case S_BPR1: MSR("S3_0_C12_C12_3", v); break;
    case S_CTLR: MSR("S3_0_C12_C12_4", v); break;
    case S_SRE: MSR("S3_0_C12_C12_5", v); break;
    case S_IGRPEN0: MSR("S3_0_C12_C12_6", v); break;
    case S_IGRPEN1: MSR("S3_0_C12_C12_7", v); break;
    default: break;
    }
}

static uint64_t mmio_read(uint64_t a, unsigned size)
{
    switch (size) {
    case 1: return *(volatile uint8_t *)a;
    case 8: return *(volatile uint64_t *)a;
    default: return *(volatile uint32_t *)a;
    }
}

static void mmio_write(uint64_t a, uint64_t v, unsigned size)
{
    switch (size) {
    case 1: *(volatile uint8_t *)a = (uint8_t)v; break;
    case 8: *(volatile uint64_t *)a = v; break;
    default: *(volatile uint32_t *)a = (uint32_t)v; break;
    }
    __asm__ volatile("dsb sy" ::: "memory");
}

/* The EL1 virtual timer's output: compare value 0 means it fires at once while enabled. */
static void vtimer(uint64_t level)
{
    if (level) {
        MSR("cntv_cval_el0", 0);
        MSR("cntv_ctl_el0", 1);
    } else {
        MSR("cntv_ctl_el0", 0);
    }
}

int main(void)
{
    for (unsigned i = 0; i < PROBE_NOPS; i++) {
        const ProbeOp *op = &probe_ops[i];
        uint64_t v;
        switch (op->kind) {
        case P_RD: v = mmio_read(op->addr, op->size); break;
        case P_SYSR: v = sys_read((unsigned)op->addr); break;
        case P_WR: mmio_write(op->addr, op->val, op->size); continue;
        case P_SYSW: sys_write((unsigned)op->addr, op->val); continue;
        default: vtimer(op->val); continue;
        }
        put_dec(i);
        putc_uart(' ');
        put_hex(v);
        putc_uart('\n');
    }
    putc_uart('E');
    putc_uart('N');
    putc_uart('D');
    putc_uart('\n');
    return 0;
}
