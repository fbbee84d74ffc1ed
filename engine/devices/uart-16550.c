/* SPDX-License-Identifier: MIT */
/* NS16550A UART: registers, RX FIFO, interrupt identification. */
#include "devices/uart-16550.h"

#include <string.h>

enum {
    REG_RBR_THR = 0, /* DLAB: divisor latch low */
    REG_IER = 1,     /* DLAB: divisor latch high */
    REG_IIR_FCR = 2,
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
};

#define IER_RDI          0x01 /* received data available */
#define IER_THRI         0x02 /* THR empty */
#define IER_RLSI         0x04 /* receiver line status */
#define IER_MSI          0x08 /* modem status */

#define IIR_NO_INT       0x01
#define IIR_MSI          0x00
#define IIR_THRI         0x02
#define IIR_RDI          0x04
#define IIR_RLSI         0x06
#define IIR_CTI          0x0c /* character timeout (FIFO mode, below the trigger level) */
#define IIR_ID_MASK      0x0f
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE       0x01
#define FCR_CLEAR_RX     0x02
#define FCR_CLEAR_TX     0x04
#define FCR_KEEP         0xc9 /* enable, DMA mode, trigger level */

#define LCR_DLAB         0x80

#define MCR_DTR          0x01
#define MCR_RTS          0x02
#define MCR_OUT1         0x04
#define MCR_OUT2         0x08
#define MCR_LOOP         0x10
#define MCR_MASK         0x1f

#define LSR_DR           0x01
#define LSR_OE           0x02
#define LSR_THRE         0x20
#define LSR_TEMT         0x40
#define LSR_ERRORS       0x1e /* OE, PE, FE, BI */

#define MSR_CTS          0x10
#define MSR_DSR          0x20
#define MSR_RI           0x40
#define MSR_DCD          0x80

static unsigned rx_trigger_level(const Uart16550 *u)
{
    static const unsigned levels[4] = { 1, 4, 8, 14 };
    return levels[(u->fcr >> 6) & 3];
}

static uint8_t compute_iir(const Uart16550 *u)
{
    uint8_t id = IIR_NO_INT;

    if ((u->ier & IER_RLSI) && (u->lsr_errors & LSR_ERRORS)) {
        id = IIR_RLSI;
    } else if ((u->ier & IER_RDI) && u->rx_count > 0) {
        /* No character-timeout timer: below the trigger level we report the timeout at once,
         * which drivers treat the same way (read while LSR.DR). */
        bool below = (u->fcr & FCR_ENABLE) && u->rx_count < rx_trigger_level(u);
        id = below ? IIR_CTI : IIR_RDI;
    } else if ((u->ier & IER_THRI) && u->thr_ipending) {
        id = IIR_THRI;
    }
    /* Modem status deltas never change here, so IER.MSI never raises an interrupt. */
    if (u->fcr & FCR_ENABLE)
        id |= IIR_FIFO_ENABLED;
    return id;
}

/* Called with the lock held after every state change. */
static void update_irq(Uart16550 *u)
{
    int level = (compute_iir(u) & IIR_NO_INT) ? 0 : 1;
    if (level != u->irq_level) {
        u->irq_level = level;
        if (u->set_irq)
            u->set_irq(u->irq_opaque, level);
    }
}

static void rx_clear(Uart16550 *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
}

static size_t rx_push(Uart16550 *u, const uint8_t *buf, size_t len)
{
    size_t room = UART16550_RX_FIFO_SIZE - u->rx_count;
    size_t n = len < room ? len : room;
    for (size_t i = 0; i < n; i++) {
        unsigned tail = (u->rx_head + u->rx_count) % UART16550_RX_FIFO_SIZE;
        u->rx_fifo[tail] = buf[i];
        u->rx_count++;
    }
    return n;
}

static uint8_t rx_pop(Uart16550 *u)
{
    if (u->rx_count == 0)
        return u->rbr;
    u->rbr = u->rx_fifo[u->rx_head];
    u->rx_head = (u->rx_head + 1) % UART16550_RX_FIFO_SIZE;
    u->rx_count--;
    return u->rbr;
}

static uint8_t read_msr(const Uart16550 *u)
{
    if (!(u->mcr & MCR_LOOP))
        return MSR_DCD | MSR_DSR | MSR_CTS; /* a console that is always connected */
    /* Loopback wires the modem outputs back to the inputs. */
    uint8_t msr = 0;
    if (u->mcr & MCR_RTS)
        msr |= MSR_CTS;
    if (u->mcr & MCR_DTR)
        msr |= MSR_DSR;
    if (u->mcr & MCR_OUT1)
        msr |= MSR_RI;
    if (u->mcr & MCR_OUT2)
        msr |= MSR_DCD;
    return msr;
}

static void reset_locked(Uart16550 *u)
{
    u->ier = 0;
    u->fcr = 0;
    u->lcr = 0;
    u->mcr = MCR_OUT2;
    u->lsr_errors = 0;
    u->scr = 0;
    u->divisor = 12; /* 9600 baud at 1.8432 MHz; firmware reprograms it */
    u->rbr = 0;
    u->thr_ipending = false;
    rx_clear(u);
    update_irq(u);
}

void uart16550_init(Uart16550 *u, void (*set_irq)(void *opaque, int level), void *irq_opaque,
                    void (*tx)(void *opaque, const uint8_t *buf, size_t len), void *tx_opaque)
{
    memset(u, 0, sizeof(*u));
    pthread_mutex_init(&u->lock, NULL);
    u->set_irq = set_irq;
    u->irq_opaque = irq_opaque;
    u->tx = tx;
    u->tx_opaque = tx_opaque;
    u->irq_level = 0;
    reset_locked(u);
}

void uart16550_destroy(Uart16550 *u)
{
    pthread_mutex_destroy(&u->lock);
}

void uart16550_reset(Uart16550 *u)
{
    pthread_mutex_lock(&u->lock);
    reset_locked(u);
    pthread_mutex_unlock(&u->lock);
}

size_t uart16550_receive(Uart16550 *u, const uint8_t *buf, size_t len)
{
    if (!buf || len == 0)
        return 0;
    pthread_mutex_lock(&u->lock);
    size_t n = rx_push(u, buf, len);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return n;
}

static uint8_t reg_read(Uart16550 *u, unsigned reg)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (reg) {
    case REG_RBR_THR:
        if (dlab)
            return u->divisor & 0xff;
        return rx_pop(u);
    case REG_IER:
        if (dlab)
            return u->divisor >> 8;
        return u->ier;
    case REG_IIR_FCR: {
        uint8_t iir = compute_iir(u);
        /* Reading IIR while it reports THR empty acknowledges that interrupt. */
        if ((iir & IIR_ID_MASK) == IIR_THRI)
            u->thr_ipending = false;
        return iir;
    }
    case REG_LCR: return u->lcr;
    case REG_MCR: return u->mcr;
    case REG_LSR: {
        uint8_t lsr = LSR_THRE | LSR_TEMT | u->lsr_errors;
        if (u->rx_count > 0)
            lsr |= LSR_DR;
        u->lsr_errors = 0; /* error bits clear on read */
        return lsr;
    }
    case REG_MSR: return read_msr(u);
    case REG_SCR: return u->scr;
    default: return 0;
    }
}

/* Returns true when the byte must go to the tx callback (called after unlocking). */
static bool transmit(Uart16550 *u, uint8_t byte)
{
    bool out = false;
    u->thr_ipending = false;
    if (u->mcr & MCR_LOOP) {
        if (rx_push(u, &byte, 1) == 0)
            u->lsr_errors |= LSR_OE;
    } else {
        out = u->tx != NULL;
    }
    /* The byte left at once: THR is empty again. */
    u->thr_ipending = true;
    return out;
}

/* Returns true when val must be sent to the tx callback. */
static bool reg_write(Uart16550 *u, unsigned reg, uint8_t val)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (reg) {
    case REG_RBR_THR:
        if (dlab)
            u->divisor = (u->divisor & 0xff00) | val;
        else
            return transmit(u, val);
        break;
    case REG_IER: {
        if (dlab) {
            u->divisor = (uint16_t)((u->divisor & 0x00ff) | (val << 8));
            break;
        }
        uint8_t changed = (u->ier ^ val) & 0x0f;
        u->ier = val & 0x0f;
        /* Enabling the THR-empty interrupt while THR is empty raises it, even if it was
         * acknowledged before (Linux's 8250 driver tests for exactly this). */
        if (changed & IER_THRI)
            u->thr_ipending = (u->ier & IER_THRI) != 0;
        break;
    }
    case REG_IIR_FCR:
        if ((val ^ u->fcr) & FCR_ENABLE)
            rx_clear(u); /* switching FIFO mode flushes the FIFOs */
        if (val & FCR_CLEAR_RX)
            rx_clear(u);
        /* The TX FIFO is always empty. */
        u->fcr = val & FCR_KEEP;
        break;
    case REG_LCR: u->lcr = val; break;
    case REG_MCR: u->mcr = val & MCR_MASK; break;
    case REG_SCR: u->scr = val; break;
    default: break; /* LSR and MSR are read-only */
    }
    return false;
}

/*
 * Registers are 8 bits wide. A wider access reaches the register at its offset and uses the
 * low byte, the way a bus with byte lanes wired to the low lane behaves.
 */
static uint64_t uart_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    Uart16550 *u = opaque;
    (void)size;
    if (offset > REG_SCR)
        return 0;
    pthread_mutex_lock(&u->lock);
    uint8_t val = reg_read(u, (unsigned)offset);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return val;
}

static void uart_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Uart16550 *u = opaque;
    (void)size;
    if (offset > REG_SCR)
        return;
    uint8_t byte = (uint8_t)value;
    pthread_mutex_lock(&u->lock);
    bool send = reg_write(u, (unsigned)offset, byte);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    /* Outside the lock, so a listener may feed input back from its callback. MMIO writes
     * are serialised by the region lock, so bytes still leave in order. */
    if (send)
        u->tx(u->tx_opaque, &byte, 1);
}

const MmioOps uart16550_mmio_ops = {
    .read = uart_mmio_read,
    .write = uart_mmio_write,
};
