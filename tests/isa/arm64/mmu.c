/* SPDX-License-Identifier: MIT */
/*
 * VMSAv8-64 stage 1, 4 KiB granule, 39-bit VAs through TTBR0 and TTBR1: blocks and pages,
 * translation faults at each level, Access flag faults, permission faults (EL1/EL0, read-only,
 * execute-never and the implicit PXN of EL0-writable memory), TLBI after changing a
 * descriptor, AT S1E1R/S1E0W into PAR_EL1, EPD1, addresses outside the VA range.
 */
#include "isa.h"

extern char _data_start_marker[];
extern char __data_start[] __attribute__((weak));

#define PAGE       4096ull
#define DESC_VALID 1ull
#define DESC_TABLE 3ull
#define DESC_PAGE  3ull
#define DESC_BLOCK 1ull
#define AF         (1ull << 10)
#define SH_INNER   (3ull << 8)
#define AP_EL0     (1ull << 6) /* AP[1] */
#define AP_RO      (1ull << 7) /* AP[2] */
#define PXN        (1ull << 53)
#define UXN        (1ull << 54)
#define ATTR(i)    ((uint64_t)(i) << 2)

static uint64_t l1_lo[512] __attribute__((aligned(4096)));
static uint64_t l2_ram[512] __attribute__((aligned(4096)));
static uint64_t l3_image[512] __attribute__((aligned(4096)));
static uint64_t l3_test[512] __attribute__((aligned(4096)));
static uint64_t l1_hi[512] __attribute__((aligned(4096)));
static uint64_t l2_hi[512] __attribute__((aligned(4096)));
static uint8_t target[8 * 4096] __attribute__((aligned(4096)));

#define TEST_VA 0x40400000ull /* L2 index 2 of the 1 GiB at 0x40000000 */
#define HI_VA   0xffffff8000000000ull

extern char _start[], data_begin[];
__asm__(".section .data\n.balign 4096\n.global data_begin\ndata_begin:\n.quad 0\n.text\n");

static void setup(void)
{
    uint64_t image = (uint64_t)_start & ~(2 * 1024 * 1024ull - 1);
    /* 0..1 GiB: devices (UART, GIC), EL1 only, never executable. */
    l1_lo[0] = 0x0 | DESC_BLOCK | AF | ATTR(0) | PXN | UXN;
    l1_lo[1] = (uint64_t)l2_ram | DESC_TABLE;
    /* The 2 MiB around the image: pages, text read-only for both ELs, data EL0-writable. */
    l2_ram[(image >> 21) & 511] = (uint64_t)l3_image | DESC_TABLE;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t pa = image + i * PAGE;
        uint64_t d = pa | DESC_PAGE | AF | SH_INNER | ATTR(1);
        d |= pa < (uint64_t)data_begin ? AP_RO | AP_EL0 : AP_EL0 | UXN;
        l3_image[i] = d;
    }
    /* 4 MiB: the test pages. */
    l2_ram[(TEST_VA >> 21) & 511] = (uint64_t)l3_test | DESC_TABLE;
    uint64_t t = (uint64_t)target;
    l3_test[0] = t | DESC_PAGE | AF | SH_INNER | ATTR(1);                       /* EL1 RW */
    l3_test[1] = (t + PAGE) | DESC_PAGE | AF | SH_INNER | ATTR(1) | AP_RO;      /* EL1 RO */
    l3_test[2] = (t + 2 * PAGE) | DESC_PAGE | SH_INNER | ATTR(1) | AP_EL0;      /* AF = 0 */
    l3_test[3] = 0;                                                             /* invalid */
    l3_test[4] = (t + 4 * PAGE) | DESC_PAGE | AF | SH_INNER | ATTR(1) | AP_EL0; /* EL0 RW */
    l3_test[5] = t | DESC_PAGE | AF | SH_INNER | ATTR(1) | AP_EL0 | AP_RO;      /* EL0 RO alias */
    l3_test[6] = (t + 6 * PAGE) | DESC_PAGE | AF | ATTR(1) | AP_EL0 | AP_RO | UXN;
    l3_test[7] = (t + 7 * PAGE) | 1; /* level 3 with bit 1 clear: reserved, a fault */
    /* A 2 MiB block at 6 MiB, and a table at 8 MiB whose APTable forbids EL0. */
    l2_ram[3] = 0x40000000ull | DESC_BLOCK | AF | SH_INNER | ATTR(1) | AP_EL0 | UXN;
    l2_ram[4] = (uint64_t)l3_test | DESC_TABLE | (1ull << 61);
    /* TTBR1: the first 2 MiB of RAM at the bottom of the upper range, via a table. */
    l1_hi[0] = (uint64_t)l2_hi | DESC_TABLE;
    l2_hi[0] = 0x40000000ull | DESC_BLOCK | AF | SH_INNER | ATTR(1) | UXN;
    l2_hi[1] = image | DESC_BLOCK | AF | SH_INNER | ATTR(1) | UXN;

    for (unsigned i = 0; i < sizeof(target); i += 8)
        *(volatile uint64_t *)(target + i) = 0x1000000000000000ull * (i / PAGE) + i;

    SYSREG_WRITE(mair_el1, 0xff00ull); /* attr0 device nGnRnE, attr1 normal write-back */
    /* T0SZ = T1SZ = 25 (39-bit), 4K granules, inner shareable write-back walks, IPS 40 bits */
    uint64_t tcr = 25 | (1ull << 8) | (1ull << 10) | (3ull << 12) | (25ull << 16) | (1ull << 24) |
                   (1ull << 26) | (3ull << 28) | (2ull << 30) | (2ull << 32);
    SYSREG_WRITE(tcr_el1, tcr);
    SYSREG_WRITE(ttbr0_el1, (uint64_t)l1_lo);
    SYSREG_WRITE(ttbr1_el1, (uint64_t)l1_hi);
    __asm__ volatile("dsb ish\n tlbi vmalle1\n dsb ish\n isb" ::: "memory");
    SYSREG_WRITE(sctlr_el1, SYSREG_READ(sctlr_el1) | 1 | (1 << 2) | (1 << 12));
    ISB();
}

static void show(const char *name)
{
    pr_str(name);
    pr_str(": esr ");
    pr_hex(ESR_NO_ISV(trap.esr));
    pr_str(" far ");
    pr_hex(trap.far);
    putc_('\n');
}

static uint64_t load(uint64_t va)
{
    uint64_t before = trap.count, v;
    trap_expected = 1;
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(va) : "memory");
    trap_expected = 0;
    return trap.count != before ? 0xdeadull : v;
}

static uint64_t store(uint64_t va, uint64_t v)
{
    uint64_t before = trap.count;
    trap_expected = 1;
    __asm__ volatile("str %0, [%1]" ::"r"(v), "r"(va) : "memory");
    trap_expected = 0;
    return trap.count != before;
}

static void probe(const char *name, uint64_t va)
{
    uint64_t before = trap.count;
    uint64_t v = load(va);
    pr_str(name);
    if (trap.count != before) {
        pr_str(" load ");
        show("fault");
    } else {
        pr(" load", v);
    }
    before = trap.count;
    store(va, 0x77);
    pr_str(name);
    if (trap.count != before) {
        pr_str(" store ");
        show("fault");
    } else {
        pr_str(" store ok\n");
    }
}

static uint64_t el0_load(uint64_t va)
{
    uint64_t v;
    __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(va) : "memory");
    return v;
}

static uint64_t el0_store(uint64_t va)
{
    __asm__ volatile("str %0, [%0]" ::"r"(va) : "memory");
    return 0;
}

static void probe_el0(const char *name, uint64_t va)
{
    uint64_t before = trap.count;
    trap_expected = 1;
    uint64_t v = run_el0(el0_load, va);
    pr_str(name);
    if (trap.count != before) {
        pr_str(" el0 load ");
        show("fault");
    } else {
        pr(" el0 load", v);
    }
    before = trap.count;
    trap_expected = 1;
    run_el0(el0_store, va);
    trap_expected = 0;
    pr_str(name);
    if (trap.count != before) {
        pr_str(" el0 store ");
        show("fault");
    } else {
        pr_str(" el0 store ok\n");
    }
}

static void at(const char *name, uint64_t va)
{
    uint64_t r, w, u;
    __asm__ volatile("at s1e1r, %3\n isb\n mrs %0, par_el1\n at s1e1w, %3\n isb\n"
                     "mrs %1, par_el1\n at s1e0r, %3\n isb\n mrs %2, par_el1"
                     : "=&r"(r), "=&r"(w), "=&r"(u)
                     : "r"(va)
                     : "memory");
    pr_str(name);
    pr_str(" par r ");
    pr_hex(r);
    pr_str(" w ");
    pr_hex(w);
    pr_str(" el0 ");
    pr_hex(u);
    putc_('\n');
}

/* Branch to va expecting an instruction abort; resume after the branch. */
static void call_faulting(uint64_t va)
{
    trap_expected = 1;
    __asm__ volatile("adr x9, 1f\n str x9, [%0]\n blr %1\n 1:"
                     :
                     : "r"(&trap_resume), "r"(va)
                     : "x9", "x30", "memory");
    trap_expected = 0;
}

int main(void)
{
    setup();
    pr("mmu on", SYSREG_READ(sctlr_el1) & 1);
    probe("page0 EL1 RW", TEST_VA + 8);
    probe("page1 EL1 RO", TEST_VA + PAGE + 16);
    probe("page2 no AF", TEST_VA + 2 * PAGE);
    probe("page3 invalid", TEST_VA + 3 * PAGE + 24);
    probe("page4 EL0 RW", TEST_VA + 4 * PAGE);
    probe("page5 EL0 RO alias", TEST_VA + 5 * PAGE + 8);
    probe("page7 reserved", TEST_VA + 7 * PAGE);
    probe("block 6M", 0x40600000ull + (uint64_t)target - 0x40000000ull + 3 * PAGE);
    probe("aptable 8M", 0x40800000ull + 4 * PAGE);
    probe("unmapped L2", 0x40a00000ull);
    probe("unmapped L1", 0x80000000ull);
    probe("beyond T0SZ", 0x8000000000ull);
    probe("ttbr1 block", HI_VA + ((uint64_t)target & 0x1fffff) + 0x200000 + 5 * PAGE);
    probe("ttbr1 unmapped", HI_VA + 0x40000000ull);
    probe("gap between ranges", 0xffff000000000000ull);

    probe_el0("page0", TEST_VA);
    probe_el0("page1", TEST_VA + PAGE);
    probe_el0("page4", TEST_VA + 4 * PAGE + 8);
    probe_el0("page5", TEST_VA + 5 * PAGE);
    probe_el0("aptable", 0x40800000ull + 4 * PAGE);
    probe_el0("block", 0x40600000ull);

    /* LDTR/STTR at EL1 check EL0's permissions. */
    uint64_t before = trap.count, v = 0;
    trap_expected = 1;
    __asm__ volatile("ldtr %0, [%1]" : "=r"(v) : "r"(TEST_VA) : "memory");
    trap_expected = 0;
    if (trap.count != before)
        show("ldtr EL1-only page");
    trap_expected = 1;
    __asm__ volatile("sttr %0, [%1]" ::"r"(v), "r"(TEST_VA + 5 * PAGE) : "memory");
    trap_expected = 0;
    show("sttr EL0 read-only page");
    __asm__ volatile("ldtr %0, [%1]" : "=r"(v) : "r"(TEST_VA + 4 * PAGE + 8) : "memory");
    pr("ldtr EL0 page", v);

    at("page0", TEST_VA);
    at("page1", TEST_VA + PAGE + 0x123);
    at("page3", TEST_VA + 3 * PAGE);
    at("page5", TEST_VA + 5 * PAGE);
    at("device", 0x09000000ull);
    at("beyond", 0x8000000000ull);

    /* Change a descriptor, invalidate its TLB entry: the new mapping is used. */
    pr("before remap", load(TEST_VA + 5 * PAGE + 16));
    l3_test[5] = (uint64_t)(target + 6 * PAGE) | DESC_PAGE | AF | SH_INNER | ATTR(1) | AP_EL0;
    __asm__ volatile("dsb ishst\n tlbi vae1, %0\n dsb ish\n isb" ::"r"((TEST_VA + 5 * PAGE) >> 12)
                     : "memory");
    pr("after remap + tlbi vae1", load(TEST_VA + 5 * PAGE + 16));
    l3_test[2] |= AF;
    __asm__ volatile("dsb ishst\n tlbi vmalle1is\n dsb ish\n isb" ::: "memory");
    probe("page2 after AF set + tlbi", TEST_VA + 2 * PAGE);
    l3_test[3] = (uint64_t)(target + 3 * PAGE) | DESC_PAGE | AF | ATTR(1);
    __asm__ volatile("dsb ishst\n tlbi vaae1, %0\n dsb ish\n isb" ::"r"((TEST_VA + 3 * PAGE) >> 12)
                     : "memory");
    probe("page3 after mapping + tlbi vaae1", TEST_VA + 3 * PAGE + 24);

    /* Instruction fetch: from an EL0-writable page (implicitly PXN) and from an unmapped
     * page. */
    uint32_t *code = (uint32_t *)(target + 4 * PAGE);
    code[0] = 0xd65f03c0; /* ret */
    __asm__ volatile("dsb ish\n ic iallu\n dsb ish\n isb" ::: "memory");
    call_faulting(TEST_VA + 4 * PAGE);
    show("exec EL0-writable page");
    call_faulting(0x40a00000ull);
    show("exec unmapped page");
    pr("elr==far", trap.elr == trap.far);

    /* EPD1: walks through TTBR1 disabled. */
    SYSREG_WRITE(tcr_el1, SYSREG_READ(tcr_el1) | (1ull << 23));
    __asm__ volatile("tlbi vmalle1\n dsb ish\n isb" ::: "memory");
    probe("ttbr1 with EPD1", HI_VA + 0x200000);

    SYSREG_WRITE(sctlr_el1, SYSREG_READ(sctlr_el1) & ~1ull);
    ISB();
    pr("traps", trap.count);
    return 0;
}
