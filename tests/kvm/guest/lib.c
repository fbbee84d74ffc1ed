/* SPDX-License-Identifier: MIT */
#include "guest.h"

extern const uint64_t isr_table[64];

struct IdtEntry {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, zero;
} __attribute__((packed));

static struct IdtEntry idt[64] __attribute__((aligned(16)));

void putc_uart(char c)
{
    while (!(inb(COM1 + 5) & 0x20)) /* LSR.THRE */
        pause();
    outb(COM1, (uint8_t)c);
}

void puts_uart(const char *s)
{
    while (*s)
        putc_uart(*s++);
}

void put_hex(uint64_t v)
{
    char buf[17];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    while (n)
        putc_uart(buf[--n]);
}

void put_dec(uint64_t v)
{
    char buf[21];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc_uart(buf[--n]);
}

void idt_init(void)
{
    for (unsigned i = 0; i < 64; i++) {
        uint64_t a = isr_table[i];
        idt[i] = (struct IdtEntry){ (uint16_t)a,         0x08, 0, 0x8e, (uint16_t)(a >> 16),
                                    (uint32_t)(a >> 32), 0 };
    }
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) d = { sizeof(idt) - 1, (uint64_t)idt };
    __asm__ volatile("lidt %0" : : "m"(d));
}

void guest_interrupt(uint64_t vector, uint64_t rip)
{
    if (vector < 32) {
        puts_uart("FAIL: exception ");
        put_dec(vector);
        puts_uart(" at rip 0x");
        put_hex(rip);
        puts_uart("\n");
        guest_poweroff();
    }
    guest_irq((unsigned)vector);
}

void guest_poweroff(void)
{
    for (;;)
        outb(PM_SLEEP_CTL, PM_S5_VALUE);
}

void pic_disable(void)
{
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

void lapic_enable(void)
{
    mmio_write32(LAPIC_BASE + 0xf0, 0x100 | 0xff); /* SVR: enabled, spurious vector 0xff */
    mmio_write32(LAPIC_BASE + 0x80, 0);            /* TPR: accept everything */
}

void lapic_eoi(void)
{
    mmio_write32(LAPIC_BASE + 0xb0, 0);
}

void ioapic_route(unsigned pin, unsigned vector, unsigned apic_id)
{
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin + 1);
    mmio_write32(IOAPIC_BASE + 0x10, apic_id << 24);
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin);
    mmio_write32(IOAPIC_BASE + 0x10, vector); /* fixed, physical, edge, active high, unmasked */
}
