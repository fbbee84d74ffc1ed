/* SPDX-License-Identifier: MIT */
/*
 * Shared body of the sv39 and sv48 tests. Define PT_LEVELS (3 = Sv39, 4 = Sv48) before
 * including. Layout of the address space built here:
 *   0x80000000 (1 GiB leaf)          identity map of RAM, S-only, RWX, A/D set
 *   RAM_BASE + USER_ALIAS (1 GiB)    the same RAM again with U=1 (user code/stack)
 *   0x10000000 (4 KiB)               UART, so S-mode code can print
 *   TVA(i) = 0x40000000 + i*4 KiB    test pages with the permissions of pages[i]; each
 *                                    starts with "li a0, 0x40+i; ret" then data
 * Probes print either the loaded value or the fault (cause, tval).
 */
#ifndef ISA_PAGING_H
#define ISA_PAGING_H

#include "isa.h"

#define PTE_V       (1ul << 0)
#define PTE_R       (1ul << 1)
#define PTE_W       (1ul << 2)
#define PTE_X       (1ul << 3)
#define PTE_U       (1ul << 4)
#define PTE_G       (1ul << 5)
#define PTE_A       (1ul << 6)
#define PTE_D       (1ul << 7)
#define PTE_N       (1ul << 63)
#define PTE_PBMT_NC (1ul << 61)

#if PT_LEVELS == 3
#define SATP_MODE 8ul
#define MODE_NAME "sv39"
#else
#define SATP_MODE 9ul
#define MODE_NAME "sv48"
#endif

#define TVA(i) (0x40000000ul + (u64)(i)*4096)
#define UVA(p) ((u64)(p) + USER_ALIAS)

static u64 pt_pool[24][512] PAGE_ALIGNED;
static unsigned pt_used;
static u64 *root;

static const struct {
    const char *name;
    u64 flags;
} pages[] = {
    { "r", PTE_V | PTE_R | PTE_A | PTE_D },
    { "rw", PTE_V | PTE_R | PTE_W | PTE_A | PTE_D },
    { "x", PTE_V | PTE_X | PTE_A | PTE_D },
    { "rx", PTE_V | PTE_R | PTE_X | PTE_A | PTE_D },
    { "urw", PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D },
    { "ur", PTE_V | PTE_R | PTE_U | PTE_A | PTE_D },
    { "ux", PTE_V | PTE_X | PTE_U | PTE_A | PTE_D },
    { "urwx", PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D },
    { "rw-noA-noD", PTE_V | PTE_R | PTE_W },
    { "rw-noD", PTE_V | PTE_R | PTE_W | PTE_A },
    { "urwx-noA-noD", PTE_V | PTE_R | PTE_W | PTE_X | PTE_U },
    { "invalid", 0 },
    { "w-only", PTE_V | PTE_W | PTE_A | PTE_D },
    { "wx", PTE_V | PTE_W | PTE_X | PTE_A | PTE_D },
    { "nonleaf-at-L0", PTE_V },
    { "rw+N", PTE_V | PTE_R | PTE_W | PTE_A | PTE_D | PTE_N },
    { "rw+PBMT", PTE_V | PTE_R | PTE_W | PTE_A | PTE_D | PTE_PBMT_NC },
    { "rwx+G", PTE_V | PTE_R | PTE_W | PTE_X | PTE_G | PTE_A | PTE_D },
};
#define NPAGES ARRAY_SIZE(pages)
static u8 tpages[NPAGES][4096] PAGE_ALIGNED;

static u64 *pt_alloc(void)
{
    if (pt_used >= ARRAY_SIZE(pt_pool))
        fail("page table pool exhausted");
    u64 *t = pt_pool[pt_used++];
    memset(t, 0, 4096);
    return t;
}

/* PTE slot for va at `level` (0 = 4 KiB leaf), creating tables on the way. */
static volatile u64 *pte_slot(u64 va, int level)
{
    u64 *t = root;
    for (int l = PT_LEVELS - 1; l > level; l--) {
        unsigned idx = (va >> (12 + 9 * l)) & 511;
        if (!(t[idx] & PTE_V))
            t[idx] = (((u64)pt_alloc() >> 12) << 10) | PTE_V;
        t = (u64 *)((t[idx] >> 10) << 12);
    }
    return &t[(va >> (12 + 9 * level)) & 511];
}

static void map(u64 va, u64 pa, u64 flags, int level)
{
    *pte_slot(va, level) = ((pa >> 12) << 10) | flags;
}

static void flush(void)
{
    asm volatile("sfence.vma" ::: "memory");
}

static void fill_pages(void)
{
    for (unsigned i = 0; i < NPAGES; i++) {
        u32 *w = (u32 *)tpages[i];
        w[0] = ((0x40u + i) << 20) | (10u << 7) | 0x13; /* addi a0, zero, 0x40+i */
        w[1] = 0x00008067;                              /* ret */
        u64 *d = (u64 *)tpages[i];
        for (unsigned k = 1; k < 512; k++)
            d[k] = ((u64)i << 56) | ((u64)k << 32) | 0x1111u * k;
    }
    asm volatile("fence.i" ::: "memory");
}

static void setup_tables(void)
{
    pt_used = 0;
    root = pt_alloc();
    map(RAM_BASE, RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D, 2);
    map(RAM_BASE + USER_ALIAS, RAM_BASE, PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D, 2);
    map(UART_BASE, UART_BASE, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D, 0);
    for (unsigned i = 0; i < NPAGES; i++)
        map(TVA(i), (u64)tpages[i], pages[i].flags, 0);
}

static void enable_paging(void)
{
    csr_write(satp, (SATP_MODE << 60) | ((u64)root >> 12));
    flush();
}

/* ---- probes ---- */

enum { P_LD, P_SD, P_EX, P_LW, P_LBU };

struct pres {
    u64 val, trapped, cause, tval;
};

/* Runs in any mode (no absolute addresses: safe to call through the user alias). */
static NOINLINE void probe(struct pres *r, int kind, u64 va, u64 v)
{
    trap_reset();
    r->val = 0;
    if (kind == P_LD)
        r->val = probe_ld(va);
    else if (kind == P_LW)
        r->val = probe_lw(va);
    else if (kind == P_LBU)
        r->val = probe_lbu(va);
    else if (kind == P_SD)
        probe_sd(va, v);
    else
        r->val = ((u64(*)(void))va)();
    r->trapped = g_trap.count;
    r->cause = g_trap.cause;
    r->tval = g_trap.tval;
}

static void print_pres(const struct pres *r)
{
    if (r->trapped)
        pr("fault c=%lx tval=%p", r->cause, r->tval);
    else
        pr("%p", r->val);
}

static const char *const kind_name[] = { "ld", "sd", "ex", "lw", "lbu" };

static void show(const char *who, int kind, const char *what, u64 va, u64 v)
{
    struct pres r;
    probe(&r, kind, va, v);
    pr("%s %s %s: ", who, kind_name[kind], what);
    print_pres(&r);
    pr("\n");
}

/* S-mode: ld/sd/ld/ex on every test page. */
static u64 s_all_pages(u64 tag)
{
    const char *who = tag == 1 ? "S+SUM" : tag == 2 ? "S+MXR" : "S";
    for (unsigned i = 0; i < NPAGES; i++) {
        show(who, P_LD, pages[i].name, TVA(i) + 16, 0);
        show(who, P_SD, pages[i].name, TVA(i) + 24, 0x5a00 + i);
        show(who, P_LD, pages[i].name, TVA(i) + 24, 0);
        show(who, P_EX, pages[i].name, TVA(i), 0);
    }
    return 0;
}

/* U-mode (runs through the user alias): results go to a table printed by M. Code
 * running through the alias computes addresses pc-relative, so &ures is already the
 * alias address here. */
static struct pres ures[NPAGES][4];
static u64 u_all_pages(u64 arg)
{
    struct pres *base = &ures[0][0];
    (void)arg;
    for (unsigned i = 0; i < NPAGES; i++) {
        probe(&base[i * 4 + 0], P_LD, TVA(i) + 16, 0);
        probe(&base[i * 4 + 1], P_SD, TVA(i) + 32, 0x7700 + i);
        probe(&base[i * 4 + 2], P_LD, TVA(i) + 32, 0);
        probe(&base[i * 4 + 3], P_EX, TVA(i), 0);
    }
    return 0;
}

static void print_ures(const char *who)
{
    static const int kinds[4] = { P_LD, P_SD, P_LD, P_EX };
    for (unsigned i = 0; i < NPAGES; i++)
        for (unsigned k = 0; k < 4; k++) {
            pr("%s %s %s: ", who, kind_name[kinds[k]], pages[i].name);
            print_pres(&ures[i][k]);
            pr("\n");
        }
}

static void print_ptes(const char *when)
{
    pr("PTE flags %s:", when);
    for (unsigned i = 0; i < NPAGES; i++)
        pr(" %s=%lx", pages[i].name, *pte_slot(TVA(i), 0) & 0x3ff);
    pr("\n");
}

static u64 user_stack[512] __attribute__((aligned(16)));
#define USER_SP UVA(&user_stack[512])

static void run_user(u64 (*fn)(u64), u64 arg)
{
    g_ret_offset = USER_ALIAS;
    run_in_mode(PRV_U, (u64(*)(u64))UVA(fn), arg, USER_SP);
    g_ret_offset = 0;
}

/* ---- M-mode accesses through MPRV ---- */

static int mprv_hook(struct trap_frame *f)
{
    /* a faulting MPRV access: drop MPRV (and keep MPP = M) before returning */
    if (f->status & MSTATUS_MPRV)
        f->status = (f->status & ~MSTATUS_MPRV) | MSTATUS_MPP;
    return 0;
}

static void mprv_load(const char *what, u64 va, u64 mpp, u64 extra)
{
    u64 r = 0;
    trap_reset();
    g_hook_m = mprv_hook;
    asm volatile(".option push\n .option norvc\n"
                 "li t0, 0x1800\n csrc mstatus, t0\n"
                 "csrs mstatus, %2\n"
                 "csrs mstatus, %3\n"
                 "li t0, 0x20000\n"
                 "li %0, -1\n"
                 "csrs mstatus, t0\n"
                 "ld %0, 0(%1)\n"
                 "csrc mstatus, t0\n"
                 "li t0, 0x1800\n csrs mstatus, t0\n"
                 "csrc mstatus, %3\n"
                 ".option pop"
                 : "=&r"(r)
                 : "r"(va), "r"(mpp << 11), "r"(extra)
                 : "t0", "memory");
    g_hook_m = 0;
    pr("M+MPRV(MPP=%lu%s) ld %s: ", mpp,
       extra & MSTATUS_SUM   ? ",SUM"
       : extra & MSTATUS_MXR ? ",MXR"
                             : "",
       what);
    if (g_trap.count)
        pr("fault c=%lx tval=%p\n", g_trap.cause, g_trap.tval);
    else
        pr("%p\n", r);
}

/* ---- common scenario ---- */

static u64 s_sfence(u64 arg)
{
    (void)arg;
    /* retarget page "rw" at page "r"'s frame, flush that VA only */
    volatile u64 *pte = pte_slot(TVA(1), 0);
    u64 old = *pte;
    *pte = (((u64)tpages[0] >> 12) << 10) | (old & 0x3ff);
    asm volatile("sfence.vma %0, zero" ::"r"(TVA(1)) : "memory");
    show("S after remap+sfence.vma va", P_LD, "rw", TVA(1) + 16, 0);
    *pte = old;
    asm volatile("sfence.vma" ::: "memory");
    show("S after restore+sfence.vma", P_LD, "rw", TVA(1) + 16, 0);
    /* invalidate, flush by ASID 0 */
    *pte = 0;
    asm volatile("sfence.vma zero, %0" ::"r"(0ul) : "memory");
    show("S after invalidate+sfence.vma asid", P_LD, "rw", TVA(1) + 16, 0);
    *pte = old;
    asm volatile("sfence.vma" ::: "memory");
    return 0;
}

static u64 s_misc(u64 arg)
{
    (void)arg;
    /* misaligned accesses inside one page and across pages */
    show("S", P_LD, "r+0xffc (into rw)", TVA(0) + 0xffc, 0);
    show("S", P_LD, "rw+0xffc (into x)", TVA(1) + 0xffc, 0);
    show("S", P_LW, "rw+0xffe (into x)", TVA(1) + 0xffe, 0);
    show("S", P_SD, "rw+0xffc (into x)", TVA(1) + 0xffc, 0x1234);
    show("S", P_LD, "rw+0x803", TVA(1) + 0x803, 0);
    /* the identity map and the user alias */
    show("S", P_LBU, "identity RAM", (u64)&tpages[3][17], 0);
    show("S", P_LBU, "user alias (SUM=0)", UVA(&tpages[3][17]), 0);
    return 0;
}

static void common_tests(void)
{
    fill_pages();
    setup_tables();
    enable_paging();
    pr("satp mode %lu\n", csr_read(satp) >> 60);

    g_expect = 1;
    run_in_mode(PRV_S, s_all_pages, 0, 0);
    print_ptes("after S");
    csr_set(mstatus, MSTATUS_SUM);
    run_in_mode(PRV_S, s_all_pages, 1, 0);
    csr_clear(mstatus, MSTATUS_SUM);
    csr_set(mstatus, MSTATUS_MXR);
    run_in_mode(PRV_S, s_all_pages, 2, 0);
    csr_clear(mstatus, MSTATUS_MXR);

    /* fresh tables: A/D start clear again for the U run */
    fill_pages();
    setup_tables();
    enable_paging();
    run_user(u_all_pages, 0);
    print_ures("U");
    print_ptes("after U");
    csr_set(mstatus, MSTATUS_MXR);
    run_user(u_all_pages, 0);
    csr_clear(mstatus, MSTATUS_MXR);
    print_ures("U+MXR");

    run_in_mode(PRV_S, s_sfence, 0, 0);
    run_in_mode(PRV_S, s_misc, 0, 0);
    csr_set(mstatus, MSTATUS_SUM);
    run_in_mode(PRV_S, s_misc, 0, 0);
    csr_clear(mstatus, MSTATUS_SUM);

    /* M-mode is not translated, except for loads/stores with MPRV = 1 and MPP != M */
    mprv_load("rw", TVA(1) + 16, PRV_S, 0);
    mprv_load("rw", TVA(1) + 16, PRV_U, 0);
    mprv_load("urw", TVA(4) + 16, PRV_U, 0);
    mprv_load("urw", TVA(4) + 16, PRV_S, 0);
    mprv_load("urw", TVA(4) + 16, PRV_S, MSTATUS_SUM);
    mprv_load("x", TVA(2) + 16, PRV_S, 0);
    mprv_load("x", TVA(2) + 16, PRV_S, MSTATUS_MXR);
    mprv_load("invalid", TVA(11) + 16, PRV_S, 0);
    mprv_load("user alias", UVA(&tpages[1][16]), PRV_U, 0);
    mprv_load("user alias", UVA(&tpages[1][16]), PRV_S, 0);
    mprv_load("identity RAM", (u64)&tpages[1][16], PRV_M, 0);
    g_expect = 0;
}

#endif
