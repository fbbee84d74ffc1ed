/* SPDX-License-Identifier: MIT */
/*
 * NS16550A UART with 8-bit registers at consecutive byte offsets (reg-shift 0).
 *
 * Transmission is instantaneous: LSR.THRE and LSR.TEMT always read 1 and every byte written
 * to THR goes straight to the tx callback. Received bytes wait in a bounded FIFO filled by
 * uart16550_receive() from any thread. The interrupt output is a level given to set_irq.
 */
#ifndef VESSEL_UART_16550_H
#define VESSEL_UART_16550_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmu/mmu.h"

#define UART16550_MMIO_SIZE 0x100
/*
 * Bytes held for the guest. A real 16550 holds 16; ours holds more because
 * vs_machine_serial_input() cannot tell the front end to retry, so a pasted line must fit.
 * The guest cannot tell the difference: it reads while LSR.DR is set.
 */
#define UART16550_RX_FIFO_SIZE 4096

typedef struct Uart16550 {
    pthread_mutex_t lock;

    uint8_t ier, fcr, lcr, mcr, lsr_errors, scr;
    uint16_t divisor;
    uint8_t rbr;       /* last byte read, returned again when the FIFO is empty */
    bool thr_ipending; /* THR-empty interrupt waiting to be read from IIR */

    uint8_t rx_fifo[UART16550_RX_FIFO_SIZE];
    unsigned rx_head, rx_count;

    int irq_level;
    void (*set_irq)(void *opaque, int level);
    void *irq_opaque;
    void (*tx)(void *opaque, const uint8_t *buf, size_t len);
    void *tx_opaque;
} Uart16550;

/* set_irq and tx may be NULL. Neither is called from init. */
void uart16550_init(Uart16550 *u, void (*set_irq)(void *opaque, int level), void *irq_opaque,
                    void (*tx)(void *opaque, const uint8_t *buf, size_t len), void *tx_opaque);
void uart16550_destroy(Uart16550 *u);
/* Power-on state; drops pending input and lowers the interrupt. */
void uart16550_reset(Uart16550 *u);
/* Queue received bytes for the guest. Thread-safe. Returns how many were accepted. */
size_t uart16550_receive(Uart16550 *u, const uint8_t *buf, size_t len);

/* MMIO callbacks; opaque is the Uart16550. */
extern const MmioOps uart16550_mmio_ops;

#endif
