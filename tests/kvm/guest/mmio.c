/* SPDX-License-Identifier: MIT */
/* MMIO exits: the virtio-mmio registers of slot 0 (the machine's first virtio device) and an
 * address where nothing is mapped. */
#include "guest.h"

void guest_irq(unsigned vector)
{
    (void)vector;
}

void guest_main(uint64_t index, uint64_t ncpus)
{
    (void)index;
    (void)ncpus;
    puts_uart("virtio slot 0: magic 0x");
    put_hex(mmio_read32(VIRTIO_BASE + 0x000));
    puts_uart(" version ");
    put_dec(mmio_read32(VIRTIO_BASE + 0x004));
    puts_uart(" device ");
    put_dec(mmio_read32(VIRTIO_BASE + 0x008));
    puts_uart(" vendor 0x");
    put_hex(mmio_read32(VIRTIO_BASE + 0x00c));
    puts_uart("\nunmapped: 0x");
    put_hex(mmio_read32(0xe0000000ull));     /* between the virtio window and the IOAPIC */
    mmio_write32(0xe0000000ull, 0x12345678); /* ignored */
    puts_uart("\nmmio done\n");
}
