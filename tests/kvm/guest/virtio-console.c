/* SPDX-License-Identifier: MIT */
/*
 * A minimal virtio-mmio console driver (virtio 1.2 sections 3.1, 4.2.3, 5.3): the guest sends
 * a line on port 0's transmit queue. Its QueueNotify write goes to a KVM ioeventfd (no exit),
 * the I/O thread writes the bytes to vessel-run's output and raises the slot's interrupt,
 * which reaches the guest through the slot's irqfd and the in-kernel IOAPIC
 * (level-triggered: the board re-asserts on the resample fd while the line is high).
 * Run with --console virtio: the console is in slot 0 (GSI 5).
 */
#include "guest.h"

#define QSZ 4

struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

static struct Desc desc[QSZ] __attribute__((aligned(4096)));
static struct {
    uint16_t flags, idx, ring[QSZ], used_event;
} avail __attribute__((aligned(4096)));
static volatile struct {
    uint16_t flags, idx;
    struct {
        uint32_t id, len;
    } ring[QSZ];
    uint16_t avail_event;
} used __attribute__((aligned(4096)));

static volatile unsigned irqs;

static uint32_t reg(unsigned off)
{
    return mmio_read32(VIRTIO_BASE + off);
}

static void set(unsigned off, uint32_t v)
{
    mmio_write32(VIRTIO_BASE + off, v);
}

static volatile unsigned deliveries;

/* The first two deliveries end with an EOI but no InterruptACK: the device's line stays
 * high, so a level-triggered line (the board's irqfd with its resample fd) must deliver
 * again. The third acknowledges. */
void guest_irq(unsigned vector)
{
    if (vector == 0x31) {
        uint32_t isr = reg(0x60); /* InterruptStatus */
        if (++deliveries >= 3) {
            set(0x64, isr); /* InterruptACK: the level line drops */
            if (isr & 1)
                irqs++;
        }
    }
    lapic_eoi();
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    (void)index;
    (void)ncpus;
    if (reg(0) != 0x74726976 || reg(4) != 2 || reg(8) != 3) {
        puts_uart("FAIL: slot 0 is not a virtio 1 console\n");
        return;
    }
    idt_init();
    pic_disable();
    lapic_enable();
    /* GSI 5: level-triggered (bit 15), active high, vector 0x31. */
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * 5 + 1);
    mmio_write32(IOAPIC_BASE + 0x10, 0);
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * 5);
    mmio_write32(IOAPIC_BASE + 0x10, 0x31 | 1u << 15);

    set(0x70, 0);     /* reset */
    set(0x70, 1 | 2); /* ACKNOWLEDGE | DRIVER */
    set(0x14, 1);
    if (!(reg(0x10) & 1)) { /* VIRTIO_F_VERSION_1 (bit 32) */
        puts_uart("FAIL: no VIRTIO_F_VERSION_1\n");
        return;
    }
    set(0x24, 1);
    set(0x20, 1);
    set(0x24, 0);
    set(0x20, 0);
    set(0x70, 1 | 2 | 8); /* FEATURES_OK */
    if (!(reg(0x70) & 8)) {
        puts_uart("FAIL: FEATURES_OK refused\n");
        return;
    }
    set(0x30, 1); /* port 0 transmitq */
    if (reg(0x34) < QSZ) {
        puts_uart("FAIL: transmitq too small\n");
        return;
    }
    set(0x38, QSZ);
    set(0x80, (uint32_t)(uint64_t)desc);
    set(0x84, 0);
    set(0x90, (uint32_t)(uint64_t)&avail);
    set(0x94, 0);
    set(0xa0, (uint32_t)(uint64_t)&used);
    set(0xa4, 0);
    set(0x44, 1);             /* QueueReady */
    set(0x70, 1 | 2 | 8 | 4); /* DRIVER_OK */

    static const char msg[] = "hello through virtio-console\n";
    desc[0] = (struct Desc){ (uint64_t)msg, sizeof(msg) - 1, 0, 0 };
    avail.ring[0] = 0;
    __atomic_store_n(&avail.idx, 1, __ATOMIC_RELEASE);
    set(0x50, 1); /* QueueNotify: queue 1, an ioeventfd under KVM */
    for (unsigned n = 0; (used.idx != 1 || !irqs) && n < 100000; n++)
        sti_hlt();
    cli();
    if (used.idx != 1 || used.ring[0].len != 0 || !irqs) {
        puts_uart("FAIL: the transmit buffer was not used, or no interrupt\n");
        return;
    }
    puts_uart("virtio-console: buffer used, interrupt received\n");
    puts_uart(deliveries >= 3 ? "virtio-console: delivered again until acknowledged\n"
                              : "FAIL: the unacknowledged interrupt was not delivered again\n");
}
