/* SPDX-License-Identifier: MIT */
/*
 * Runtime interface for the Vessel riscv64 ISA tests (bare metal, QEMU virt map).
 * Programs print a deterministic signature on the UART; run-isa.py compares the
 * output of Vessel against qemu-system-riscv64.
 */
#ifndef ISA_H
#define ISA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "isa-asm.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t i8;
typedef int16_t i16;
typedef int32_t i32;
typedef int64_t i64;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NOINLINE      __attribute__((noinline))
#define PAGE_ALIGNED  __attribute__((aligned(4096), section(".bss.pagealigned")))

/* Platform (QEMU virt) */
#define UART_BASE      0x10000000ul
#define TEST_DEV_BASE  0x100000ul
#define CLINT_BASE     0x2000000ul
#define CLINT_MSIP     (CLINT_BASE + 0x0)
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000)
#define CLINT_MTIME    (CLINT_BASE + 0xbff8)
#define RAM_BASE       0x80000000ul
#define RAM_SIZE       (128ul << 20)
/* Paging tests map RAM a second time at RAM_BASE + USER_ALIAS with U=1. */
#define USER_ALIAS 0x80000000ul

enum { PRV_U = 0, PRV_S = 1, PRV_M = 3 };

/* mstatus bits */
#define MSTATUS_SIE  (1ul << 1)
#define MSTATUS_MIE  (1ul << 3)
#define MSTATUS_SPIE (1ul << 5)
#define MSTATUS_MPIE (1ul << 7)
#define MSTATUS_SPP  (1ul << 8)
#define MSTATUS_MPP  (3ul << 11)
#define MSTATUS_FS   (3ul << 13)
#define MSTATUS_MPRV (1ul << 17)
#define MSTATUS_SUM  (1ul << 18)
#define MSTATUS_MXR  (1ul << 19)
#define MSTATUS_TVM  (1ul << 20)
#define MSTATUS_TW   (1ul << 21)
#define MSTATUS_TSR  (1ul << 22)
#define MSTATUS_SD   (1ul << 63)

#define IRQ_SSI      1
#define IRQ_MSI      3
#define IRQ_STI      5
#define IRQ_MTI      7
#define IRQ_SEI      9
#define IRQ_MEI      11
#define CAUSE_IRQ    (1ul << 63)

#define STR_(x)      #x
#define STR(x)       STR_(x)

#define csr_read(csr)                                             \
    ({                                                            \
        u64 __v;                                                  \
        asm volatile("csrr %0, " STR(csr) : "=r"(__v)::"memory"); \
        __v;                                                      \
    })
#define csr_write(csr, val) \
    ({ asm volatile("csrw " STR(csr) ", %0" ::"r"((u64)(val)) : "memory"); })
#define csr_set(csr, val) ({ asm volatile("csrs " STR(csr) ", %0" ::"r"((u64)(val)) : "memory"); })
#define csr_clear(csr, val) \
    ({ asm volatile("csrc " STR(csr) ", %0" ::"r"((u64)(val)) : "memory"); })
#define csr_swap(csr, val)                                                                   \
    ({                                                                                       \
        u64 __v;                                                                             \
        asm volatile("csrrw %0, " STR(csr) ", %1" : "=r"(__v) : "r"((u64)(val)) : "memory"); \
        __v;                                                                                 \
    })

static inline void mmio_write32(u64 addr, u32 v)
{
    *(volatile u32 *)addr = v;
}
static inline u32 mmio_read32(u64 addr)
{
    return *(volatile u32 *)addr;
}
static inline void mmio_write64(u64 addr, u64 v)
{
    *(volatile u64 *)addr = v;
}
static inline u64 mmio_read64(u64 addr)
{
    return *(volatile u64 *)addr;
}

/* ---- output ---- */
void uart_putc(char c);
void uart_puts(const char *s);
/* printf subset: %s %c %d %u %x %p %%, 'l' modifier, width, '0' flag. */
void pr(const char *fmt, ...);
void vpr(const char *fmt, va_list ap);
/* Print a 64-bit value as 16 hex digits. */
void puthex64(u64 v);

/* End the program: prints DONE and powers off with success (code 0), or prints
 * "FAIL <code>" and powers off with a failure code. */
void exit(int code) __attribute__((noreturn));
void fail(const char *why) __attribute__((noreturn));

/* ---- traps ---- */
struct trap_frame {
    u64 x[32]; /* x[2] = sp at trap time */
    u64 epc, cause, tval, status;
    i64 vec;   /* vector slot for vectored entries, -1 for direct */
    u64 level; /* 3 = taken in M, 1 = taken in S */
};

struct trap_rec {
    u64 count; /* traps recorded since trap_reset() */
    u64 cause, epc, tval, status, level;
    i64 vec;
};

/* Last recorded trap (both levels record here). */
extern volatile struct trap_rec g_trap;
/* Non-zero while a test expects traps; other traps print an UNEXPECTED line. */
extern volatile int g_expect;
/* Hooks run first; return 1 when they handled the trap (frame may be edited). */
typedef int (*trap_hook_t)(struct trap_frame *f);
extern trap_hook_t g_hook_m, g_hook_s;
extern volatile int g_trap_depth_m, g_trap_depth_s;

void trap_reset(void);
/* "<label>: no trap" or "<label>: trap <lvl> cause=.. tval=.." (epc printed
 * relative to `epc_base` when non-zero, else absolute). */
void trap_print(const char *label, u64 epc_base);
/* Length of the instruction at pc (2 or 4) as seen by the trap handler. */
unsigned insn_len_at(u64 pc);

/* Privilege switching (see crt.S). fn runs in `mode` with argument arg; sp=0 keeps
 * the current stack. Its return value comes back. */
u64 run_in_mode(int mode, u64 (*fn)(u64), u64 arg, u64 sp);
extern u64 g_ret_offset; /* added to the return trampoline address (user alias) */
void mode_return(u64 value) __attribute__((noreturn));

/* Fault probes (crt.S): one 4-byte instruction each; loads return -1 on a fault. */
u64 probe_lb(u64 a), probe_lh(u64 a), probe_lw(u64 a), probe_ld(u64 a);
u64 probe_lbu(u64 a), probe_lhu(u64 a), probe_lwu(u64 a);
void probe_sb(u64 a, u64 v), probe_sh(u64 a, u64 v), probe_sw(u64 a, u64 v), probe_sd(u64 a, u64 v);

/* Waiting for interrupts (crt.S); see the comment there. Return 1 if a trap was
 * recorded in g_trap, 0 on timeout. */
u64 wait_trap(u64 n), wait_trap_sie(u64 n), wait_trap_nosie(u64 n), wait_trap_mie(u64 n);
u64 wait_mtime(u64 t), wait_mtime_mie(u64 t), wfi_mtime(u64 t), wfi_mtime_mie(u64 t);
extern char wait_start[], wait_end[];
static inline int in_wait_loop(u64 epc)
{
    return epc >= (u64)wait_start && epc < (u64)wait_end;
}

extern char mtvec_table[], stvec_table[], trap_entry_m[], trap_entry_s[];
extern char _image_start[], _image_end[];

/* libc bits the compiler may call */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
