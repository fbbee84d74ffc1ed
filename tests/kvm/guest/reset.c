/* SPDX-License-Identifier: MIT */
/*
 * Machine reset under KVM. The guest counts its boots in RAM outside its image (RAM is kept
 * across a reset, as on a PC) and, on its first boot, records the power-on state of what a
 * reset must restore: its LAPIC (SVR, TPR, LVT timer, initial count), IOAPIC pin 10, the
 * master PIC's mask, the UART's LCR and scratch register, DR7, the SYSENTER_CS MSR, CR4,
 * and a word of its own .data (the image must be loaded again). It then changes all of them
 * (and starts the LAPIC timer) and resets. Every later boot compares the state with the
 * record, on vCPU 0 and vCPU 1, which also counts its boots. The resets, in turn:
 *   boot 1: the i8042 reset command; boot 2: the FADT's reset register (port 0x602, 0x42);
 *   boot 3: a triple fault; boot 4: power-off, or, when the host test put HOST_MAGIC at
 *   HOST_FLAG, halt until the host resets the machine (vs_machine_reset); boot 5: power-off.
 */
#include "guest.h"

#define PERSIST    0x30000ull /* below the image, above the VMM's boot tables */
#define HOST_FLAG  0x31000ull
#define MAGIC      0x56534254u /* "TBSV" */
#define HOST_MAGIC 0x54534f48u /* "HOST" */

typedef struct State {
    uint32_t svr, tpr, lvt_timer, timer_init, redir_lo, redir_hi;
    uint32_t pic_imr, uart_lcr, uart_scr, cr4_lo, sysenter_cs, image;
    uint64_t dr7;
} State;

typedef struct Persist {
    uint32_t magic, boots, ap_boots, ap_ok;
    State bsp, ap;
} Persist;

static volatile uint32_t image_word = 0x1234abcd;

void guest_irq(unsigned vector)
{
    (void)vector;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t read_dr7(void)
{
    uint64_t v;
    __asm__ volatile("mov %%dr7, %0" : "=r"(v));
    return v;
}

static void read_state(State *s, bool bsp)
{
    s->svr = mmio_read32(LAPIC_BASE + 0xf0);
    s->tpr = mmio_read32(LAPIC_BASE + 0x80);
    s->lvt_timer = mmio_read32(LAPIC_BASE + 0x320);
    s->timer_init = mmio_read32(LAPIC_BASE + 0x380);
    s->dr7 = read_dr7();
    s->sysenter_cs = (uint32_t)rdmsr(0x174);
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    s->cr4_lo = (uint32_t)cr4;
    if (!bsp)
        return; /* the image word and the devices are vCPU 0's to check */
    s->image = image_word;
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * 10);
    s->redir_lo = mmio_read32(IOAPIC_BASE + 0x10);
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * 10 + 1);
    s->redir_hi = mmio_read32(IOAPIC_BASE + 0x10);
    s->pic_imr = inb(0x21);
    s->uart_lcr = inb(COM1 + 3);
    s->uart_scr = inb(COM1 + 7);
}

static void change_state(bool bsp)
{
    lapic_enable();
    mmio_write32(LAPIC_BASE + 0x80, 0x20);               /* TPR */
    mmio_write32(LAPIC_BASE + 0x320, 0x20020);           /* periodic, vector 0x20, unmasked */
    mmio_write32(LAPIC_BASE + 0x380, 0x100000);          /* running (interrupts stay off) */
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x401ull)); /* L0: an execute breakpoint at 0 */
    wrmsr(0x174, 0x10);
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr4 |= 1u << 9; /* OSFXSR */
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
    image_word = 0xdead;
    if (!bsp)
        return;
    ioapic_route(10, 0x30, 0);
    outb(0x21, 0xfb);
    outb(COM1 + 3, 0x1b);
    outb(COM1 + 7, 0x5a);
}

/* Compare with the power-on record; returns the number of differences (printed by vCPU 0;
 * vCPU 1 only counts them, as two vCPUs printing at once would mix their lines). */
static unsigned compare(const State *now, const State *rec, const char *who)
{
    static const char *const names[] = { "lapic svr",   "lapic tpr",     "lvt timer",
                                         "timer count", "ioapic pin 10", "ioapic pin 10 dest",
                                         "pic mask",    "uart lcr",      "uart scr",
                                         "cr4",         "sysenter_cs",   "image word" };
    const uint32_t *a = &now->svr, *b = &rec->svr;
    unsigned bad = 0;
    bool print = who != 0;
    for (unsigned i = 0; i < 12; i++)
        if (a[i] != b[i] && !print) {
            bad++;
        } else if (a[i] != b[i]) {
            puts_uart("FAIL: ");
            puts_uart(who);
            puts_uart(": ");
            puts_uart(names[i]);
            puts_uart(" 0x");
            put_hex(a[i]);
            puts_uart(" after the reset, 0x");
            put_hex(b[i]);
            puts_uart(" at power-on\n");
            bad++;
        }
    if (now->dr7 != rec->dr7) {
        if (print)
            puts_uart("FAIL: dr7 not reset\n");
        bad++;
    }
    return bad;
}

static void triple_fault(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) d = { 0, 0 };
    __asm__ volatile("lidt %0; ud2" : : "m"(d));
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    volatile Persist *p = (volatile Persist *)PERSIST;
    State now;
    if (index == 1) {
        while (__atomic_load_n(&p->magic, __ATOMIC_ACQUIRE) != MAGIC)
            pause();
        read_state(&now, false);
        unsigned boot = p->ap_boots + 1;
        if (boot == 1) {
            p->ap = now;
            change_state(false);
        } else if (compare(&now, (const State *)&p->ap, 0) == 0) {
            p->ap_ok = boot;
        }
        __atomic_store_n(&p->ap_boots, boot, __ATOMIC_RELEASE);
        return;
    }
    if (index != 0)
        return;
    read_state(&now, true);
    unsigned boot;
    if (p->magic != MAGIC) {
        boot = 1;
        p->boots = 1;
        p->ap_boots = 0;
        p->bsp = now;
        __atomic_store_n(&p->magic, MAGIC, __ATOMIC_RELEASE);
        change_state(true);
        puts_uart("boot 1: power-on state recorded and changed\n");
    } else {
        boot = ++p->boots;
        puts_uart("boot ");
        put_dec(boot);
        if (compare(&now, (const State *)&p->bsp, "vcpu 0") == 0)
            puts_uart(": vcpu 0 state as at power-on, image loaded again\n");
        else
            puts_uart(": FAIL\n");
    }
    if (ncpus > 1) {
        for (unsigned long spin = 0; __atomic_load_n(&p->ap_boots, __ATOMIC_ACQUIRE) < boot;
             spin++) {
            if (spin > 4000000000ul) {
                puts_uart("FAIL: vcpu 1 did not boot again\n");
                break;
            }
            pause();
        }
        if (boot > 1) {
            puts_uart(p->ap_ok == boot ? "vcpu 1 state as at power-on, boot "
                                       : "FAIL: vcpu 1 state, boot ");
            put_dec(p->ap_boots);
            puts_uart("\n");
        }
    }
    bool host = *(volatile uint32_t *)HOST_FLAG == HOST_MAGIC;
    switch (boot) {
    case 1:
        puts_uart("resetting through the i8042\n");
        outb(0x64, 0xfe);
        break;
    case 2:
        puts_uart("resetting through the ACPI reset register\n");
        outb(0x602, 0x42);
        break;
    case 3:
        puts_uart("resetting by a triple fault\n");
        triple_fault();
        break;
    case 4:
        if (!host)
            return; /* start.S powers off */
        puts_uart("waiting for the host to reset the machine\n");
        for (;;)
            __asm__ volatile("cli; hlt");
    default: return;
    }
    puts_uart("FAIL: still running after the reset request\n");
}
