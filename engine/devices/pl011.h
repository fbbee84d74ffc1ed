/* SPDX-License-Identifier: MIT */
/*
 * Arm PrimeCell UART (PL011, Arm DDI 0183G) as Linux's amba-pl011 driver and QEMU's virt
 * board use it.
 *
 * Transmission is instantaneous: every byte written to UARTDR goes to the tx callback, the
 * transmit FIFO is always empty (UARTFR.TXFE = 1, BUSY = 0) and the transmit interrupt is
 * raised after each write (cleared through UARTICR), as in QEMU. Like QEMU, bytes are sent
 * whatever UARTCR.UARTEN/TXE say (firmware and early consoles write before enabling).
 * Received bytes wait in a FIFO (16 entries deep with UARTLCR_H.FEN, else 1, as the TRM
 * says; a larger host-side queue holds input the guest has not taken yet so a pasted line is
 * not lost). The receive interrupt is raised when the FIFO reaches the UARTIFLS trigger level,
 * the receive timeout interrupt when data waits below it. The interrupt output is
 * (UARTRIS & UARTIMSC) != 0, a level given to set_irq.
 */
#ifndef VESSEL_PL011_H
#define VESSEL_PL011_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmu/mmu.h"

#define PL011_MMIO_SIZE 0x1000
#define PL011_QUEUE     4096 /* host-side input queue behind the 16-entry FIFO */

typedef struct Pl011 {
    pthread_mutex_t lock;
    uint32_t cr, lcr_h, ifls, imsc, ris, ibrd, fbrd, ilpr, dmacr, rsr;
    uint8_t rx[PL011_QUEUE];
    unsigned rx_head, rx_count;
    int irq_level;
    void (*set_irq)(void *opaque, int level);
    void *irq_opaque;
    void (*tx)(void *opaque, const uint8_t *buf, size_t len);
    void *tx_opaque;
} Pl011;

/* set_irq and tx may be NULL. Neither is called from init. */
void pl011_init(Pl011 *u, void (*set_irq)(void *opaque, int level), void *irq_opaque,
                void (*tx)(void *opaque, const uint8_t *buf, size_t len), void *tx_opaque);
void pl011_destroy(Pl011 *u);
/* Power-on state; drops pending input and lowers the interrupt. */
void pl011_reset(Pl011 *u);
/* Queue received bytes for the guest. Thread-safe. Returns how many were accepted. */
size_t pl011_receive(Pl011 *u, const uint8_t *buf, size_t len);

/* MMIO callbacks; opaque is the Pl011. */
extern const MmioOps pl011_mmio_ops;

#endif
