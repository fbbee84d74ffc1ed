/* SPDX-License-Identifier: MIT */
/* PL061 GPIO: masked data accesses, edge/level interrupt detection, the virt power key. */
#include "devices/pl061.h"

#include <string.h>

#include "osal/osal.h"

enum {
    GPIO_DATA_END = 0x400,
    GPIO_DIR = 0x400,
    GPIO_IS = 0x404,
    GPIO_IBE = 0x408,
    GPIO_IEV = 0x40c,
    GPIO_IE = 0x410,
    GPIO_RIS = 0x414,
    GPIO_MIS = 0x418,
    GPIO_IC = 0x41c,
    GPIO_AFSEL = 0x420,
    GPIO_ID = 0xfe0,
};

/* GPIOPeriphID0..3 (part 0x061, designer 0x41 ARM, revision 0), GPIOPCellID0..3. */
static const uint8_t pl061_id[8] = { 0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

static uint8_t pin_levels(const Pl061 *g)
{
    return (uint8_t)((g->data & g->dir) | (g->input & ~g->dir));
}

/* Level-sensitive pins whose level matches their sense, plus latched edges. */
static uint8_t raw_status(const Pl061 *g)
{
    uint8_t pins = pin_levels(g);
    uint8_t level_match = (uint8_t)(g->is & ~(pins ^ g->iev));
    return (uint8_t)(level_match | (g->edge_ris & ~g->is));
}

/*
 * Latch edges since the last look, then update the interrupt output. Lock held. Edges are
 * detected on input pins only: nothing on the virt board loops an output back to its input
 * (QEMU detects none either); levels are compared on every pin, outputs included.
 */
static void update(Pl061 *g)
{
    uint8_t pins = pin_levels(g);
    uint8_t changed = (uint8_t)((pins ^ g->pins) & ~g->dir);
    uint8_t rising = changed & pins, falling = changed & ~pins;
    uint8_t edges =
        (uint8_t)((g->ibe & changed) | (~g->ibe & g->iev & rising) | (~g->ibe & ~g->iev & falling));
    g->edge_ris |= edges & ~g->is;
    g->pins = pins;

    int level = (raw_status(g) & g->ie) != 0;
    if (level != g->irq_level) {
        g->irq_level = level;
        if (g->set_irq)
            g->set_irq(g->irq_opaque, level);
    }
}

static void release_key(void *opaque)
{
    Pl061 *g = opaque;
    pthread_mutex_lock(&g->lock);
    if (g->key_held) {
        g->key_held = false;
        g->input &= (uint8_t) ~(1u << PL061_POWER_KEY_PIN);
        update(g);
    }
    pthread_mutex_unlock(&g->lock);
}

void pl061_init(Pl061 *g, VsTimerService *svc, void (*set_irq)(void *opaque, int level),
                void *irq_opaque)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->lock, NULL);
    g->set_irq = set_irq;
    g->irq_opaque = irq_opaque;
    vs_timer_init(&g->key_timer, svc, release_key, g);
}

void pl061_destroy(Pl061 *g)
{
    vs_timer_del(&g->key_timer);
    pthread_mutex_destroy(&g->lock);
}

void pl061_reset(Pl061 *g)
{
    pthread_mutex_lock(&g->lock);
    g->data = g->dir = g->is = g->ibe = g->iev = g->ie = g->afsel = 0;
    g->edge_ris = 0;
    g->pins = pin_levels(g); /* no edge from the reset itself */
    update(g);
    pthread_mutex_unlock(&g->lock);
}

void pl061_set_input(Pl061 *g, unsigned pin, bool level)
{
    if (pin >= PL061_NUM_PINS)
        return;
    pthread_mutex_lock(&g->lock);
    if (level)
        g->input |= (uint8_t)(1u << pin);
    else
        g->input &= (uint8_t) ~(1u << pin);
    update(g);
    pthread_mutex_unlock(&g->lock);
}

void pl061_press_power_key(Pl061 *g)
{
    pthread_mutex_lock(&g->lock);
    if (!g->key_held) {
        g->key_held = true;
        g->input |= 1u << PL061_POWER_KEY_PIN;
        update(g);
        /* Safe under our lock: the timer thread runs release_key without its own lock. */
        vs_timer_mod(&g->key_timer, vs_clock_ns() + PL061_KEY_HOLD_NS);
    }
    pthread_mutex_unlock(&g->lock);
}

static bool valid_access(uint64_t offset, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && !(offset & 3) && offset < PL061_MMIO_SIZE;
}

static uint64_t pl061_read(void *opaque, uint64_t offset, unsigned size)
{
    Pl061 *g = opaque;
    uint8_t val = 0;

    if (!valid_access(offset, size))
        return 0;
    if (offset >= GPIO_ID)
        return pl061_id[(offset - GPIO_ID) / 4];
    pthread_mutex_lock(&g->lock);
    if (offset < GPIO_DATA_END) {
        val = pin_levels(g) & (uint8_t)(offset >> 2);
    } else {
        switch (offset) {
        case GPIO_DIR: val = g->dir; break;
        case GPIO_IS: val = g->is; break;
        case GPIO_IBE: val = g->ibe; break;
        case GPIO_IEV: val = g->iev; break;
        case GPIO_IE: val = g->ie; break;
        case GPIO_RIS: val = raw_status(g); break;
        case GPIO_MIS: val = raw_status(g) & g->ie; break;
        case GPIO_AFSEL: val = g->afsel; break;
        default: break; /* GPIOIC is write-only */
        }
    }
    pthread_mutex_unlock(&g->lock);
    return val;
}

static void pl061_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Pl061 *g = opaque;
    uint8_t val = (uint8_t)value;

    if (!valid_access(offset, size) || offset >= GPIO_ID)
        return;
    pthread_mutex_lock(&g->lock);
    if (offset < GPIO_DATA_END) {
        /* Writes reach only the masked pins that are outputs (DDI 0190: "transferred onto
         * the GPOUT pins if ... configured as outputs"); nothing is kept for input pins. */
        uint8_t mask = (uint8_t)(offset >> 2) & g->dir;
        g->data = (uint8_t)((g->data & ~mask) | (val & mask));
    } else {
        switch (offset) {
        case GPIO_DIR: g->dir = val; break;
        case GPIO_IS: g->is = val; break;
        case GPIO_IBE: g->ibe = val; break;
        case GPIO_IEV: g->iev = val; break;
        case GPIO_IE: g->ie = val; break;
        case GPIO_IC: g->edge_ris &= (uint8_t)~val; break;
        case GPIO_AFSEL: g->afsel = val; break;
        default: break; /* RIS, MIS are read-only */
        }
    }
    update(g);
    pthread_mutex_unlock(&g->lock);
}

const MmioOps pl061_mmio_ops = {
    .read = pl061_read,
    .write = pl061_write,
};
