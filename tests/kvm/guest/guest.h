/* SPDX-License-Identifier: MIT */
/* The bare-metal x86-64 test guests' runtime: port and MMIO access, the COM1 UART, an
 * IDT, the LAPIC and the IOAPIC. Built freestanding (no SSE, no red zone). */
#ifndef VESSEL_KVM_GUEST_H
#define VESSEL_KVM_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#define COM1        0x3f8
#define LAPIC_BASE  0xfee00000ull
#define IOAPIC_BASE 0xfec00000ull
#define VIRTIO_BASE 0xd0000000ull

/* The microvm board's ACPI sleep control register (the FADT names it; tests that walk the
 * tables check that) and the value that enters S5 (SLP_TYP 5 << 2 | SLP_EN). */
#define PM_SLEEP_CTL 0x600
#define PM_S5_VALUE  0x34

/* Ports only the accel test harness (test-kvm-accel.c) listens on. */
#define PORT_STEP   0x510 /* guest reached a step; value = step number */
#define PORT_REPORT 0x511 /* a 32-bit value for the harness to check */
#define PORT_NOTIFY 0x520 /* ioeventfd port */

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return lo | (uint64_t)hi << 32;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(sub));
}

static inline void sti(void)
{
    __asm__ volatile("sti" ::: "memory");
}

static inline void cli(void)
{
    __asm__ volatile("cli" ::: "memory");
}

/* Wait for an interrupt: sti;hlt back to back so one arriving in between is not missed. */
static inline void sti_hlt(void)
{
    __asm__ volatile("sti; hlt" ::: "memory");
}

static inline void pause(void)
{
    __asm__ volatile("pause" ::: "memory");
}

void putc_uart(char c);
void puts_uart(const char *s);
void put_hex(uint64_t v);
void put_dec(uint64_t v);

/* An IDT with vectors 0-63 going to guest_interrupt(); exceptions (0-31) print and reset. */
void idt_init(void);
/* Called by the stubs in start.S; tests provide guest_irq(). */
void guest_interrupt(uint64_t vector, uint64_t rip);
void guest_irq(unsigned vector);

/* Mask both 8259 PICs: their lines reach the BSP's LINT0 too (virtual wire mode), and an
 * uninitialised PIC would deliver IRQ 10 as vector 2. */
void pic_disable(void);
void lapic_enable(void);
void lapic_eoi(void);
void ioapic_route(unsigned pin, unsigned vector, unsigned apic_id);

void guest_main(uint64_t index, uint64_t ncpus);
/* Power off through the ACPI sleep control register (never returns). */
void guest_poweroff(void) __attribute__((noreturn));

#endif
