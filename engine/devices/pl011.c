/* SPDX-License-Identifier: MIT */
/* Arm PL011 UART (see pl011.h). Register offsets and bits from the PL011 TRM, chapter 3. */
#include "devices/pl011.h"

#include <string.h>

enum {
    REG_DR = 0x000,
    REG_RSR = 0x004, /* read: RSR, write: ECR (clears the errors) */
    REG_FR = 0x018,
    REG_ILPR = 0x020,
    REG_IBRD = 0x024,
    REG_FBRD = 0x028,
    REG_LCR_H = 0x02c,
    REG_CR = 0x030,
    REG_IFLS = 0x034,
    REG_IMSC = 0x038,
    REG_RIS = 0x03c,
    REG_MIS = 0x040,
    REG_ICR = 0x044,
    REG_DMACR = 0x048,
    REG_ID = 0xfe0, /* UARTPeriphID0..3, UARTPCellID0..3 */
};

#define FR_RXFE    (1u << 4)
#define FR_TXFF    (1u << 5)
#define FR_RXFF    (1u << 6)
#define FR_TXFE    (1u << 7)

#define INT_RX     (1u << 4)
#define INT_TX     (1u << 5)
#define INT_RT     (1u << 6)
#define INT_ALL    0x7ffu

#define LCR_FEN    (1u << 4)

#define FIFO_DEPTH 16

/* PL011 r1p5 peripheral and PrimeCell identification, as the TRM lists them. */
static const uint8_t pl011_id[8] = { 0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

static unsigned fifo_depth(const Pl011 *u)
{
    return (u->lcr_h & LCR_FEN) ? FIFO_DEPTH : 1;
}

/* Entries the guest sees in its receive FIFO. */
static unsigned rx_level(const Pl011 *u)
{
    unsigned d = fifo_depth(u);
    return u->rx_count < d ? u->rx_count : d;
}

/* UARTIFLS RXIFLSEL: 1/8, 1/4, 1/2, 3/4, 7/8 of 16 entries. */
static unsigned rx_trigger(const Pl011 *u)
{
    static const unsigned lv[8] = { 2, 4, 8, 12, 14, 8, 8, 8 };
    if (!(u->lcr_h & LCR_FEN))
        return 1;
    return lv[(u->ifls >> 3) & 7];
}

static void update_irq(Pl011 *u)
{
    u->ris &= ~(INT_RX | INT_RT);
    unsigned lvl = rx_level(u);
    if (lvl >= rx_trigger(u))
        u->ris |= INT_RX;
    else if (lvl > 0)
        u->ris |= INT_RT;
    int level = (u->ris & u->imsc) != 0;
    if (level != u->irq_level) {
        u->irq_level = level;
        if (u->set_irq)
            u->set_irq(u->irq_opaque, level);
    }
}

void pl011_init(Pl011 *u, void (*set_irq)(void *opaque, int level), void *irq_opaque,
                void (*tx)(void *opaque, const uint8_t *buf, size_t len), void *tx_opaque)
{
    memset(u, 0, sizeof(*u));
    pthread_mutex_init(&u->lock, NULL);
    u->set_irq = set_irq;
    u->irq_opaque = irq_opaque;
    u->tx = tx;
    u->tx_opaque = tx_opaque;
    u->cr = 0x300;
    u->ifls = 0x12;
}

void pl011_destroy(Pl011 *u)
{
    pthread_mutex_destroy(&u->lock);
}

void pl011_reset(Pl011 *u)
{
    pthread_mutex_lock(&u->lock);
    u->cr = 0x300;
    u->ifls = 0x12;
    u->lcr_h = u->imsc = u->ris = u->ibrd = u->fbrd = u->ilpr = u->dmacr = u->rsr = 0;
    u->rx_head = u->rx_count = 0;
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

size_t pl011_receive(Pl011 *u, const uint8_t *buf, size_t len)
{
    if (!buf || !len)
        return 0;
    pthread_mutex_lock(&u->lock);
    size_t n = 0;
    while (n < len && u->rx_count < PL011_QUEUE) {
        u->rx[(u->rx_head + u->rx_count) % PL011_QUEUE] = buf[n++];
        u->rx_count++;
    }
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return n;
}

static uint64_t pl011_read(void *opaque, uint64_t off, unsigned size)
{
    Pl011 *u = opaque;
    (void)size;
    uint32_t v = 0;
    pthread_mutex_lock(&u->lock);
    switch (off) {
    case REG_DR:
        if (u->rx_count) {
            v = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % PL011_QUEUE;
            u->rx_count--;
        }
        update_irq(u);
        break;
    case REG_RSR: v = u->rsr; break;
    case REG_FR: {
        unsigned lvl = rx_level(u);
        v = FR_TXFE | (lvl == 0 ? FR_RXFE : 0) | (lvl >= fifo_depth(u) ? FR_RXFF : 0);
        break;
    }
    case REG_ILPR: v = u->ilpr; break;
    case REG_IBRD: v = u->ibrd; break;
    case REG_FBRD: v = u->fbrd; break;
    case REG_LCR_H: v = u->lcr_h; break;
    case REG_CR: v = u->cr; break;
    case REG_IFLS: v = u->ifls; break;
    case REG_IMSC: v = u->imsc; break;
    case REG_RIS: v = u->ris; break;
    case REG_MIS: v = u->ris & u->imsc; break;
    case REG_DMACR: v = u->dmacr; break;
    default:
        if (off >= REG_ID && off < REG_ID + 32 && !(off & 3))
            v = pl011_id[(off - REG_ID) / 4];
        break;
    }
    pthread_mutex_unlock(&u->lock);
    return v;
}

static void pl011_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
    Pl011 *u = opaque;
    (void)size;
    uint32_t v = (uint32_t)value;
    pthread_mutex_lock(&u->lock);
    switch (off) {
    case REG_DR: {
        uint8_t ch = (uint8_t)v;
        if (u->tx)
            u->tx(u->tx_opaque, &ch, 1);
        u->ris |= INT_TX;
        break;
    }
    case REG_RSR: u->rsr = 0; break;
    case REG_ILPR: u->ilpr = v & 0xff; break;
    case REG_IBRD: u->ibrd = v & 0xffff; break;
    case REG_FBRD: u->fbrd = v & 0x3f; break;
    case REG_LCR_H:
        /* Toggling FEN flushes nothing the guest could see but changes the FIFO depth. */
        u->lcr_h = v & 0xff;
        break;
    case REG_CR: u->cr = v & 0xff87; break;
    case REG_IFLS: u->ifls = v & 0x3f; break;
    case REG_IMSC: u->imsc = v & INT_ALL; break;
    case REG_ICR: u->ris &= ~(v & INT_ALL); break;
    case REG_DMACR: u->dmacr = v & 7; break;
    default: break;
    }
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

const MmioOps pl011_mmio_ops = { pl011_read, pl011_write };
