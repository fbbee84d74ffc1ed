/* SPDX-License-Identifier: MIT */
/*
 * ARM PrimeCell PL061 GPIO (ARM DDI 0190): 8 pins, one combined level interrupt.
 *   0x000..0x3fc GPIODATA: address bits [9:2] mask the access (reads give 0 for unmasked
 *                pins; writes change only masked pins that are outputs)
 *   0x400 GPIODIR (1 = output)  0x404 GPIOIS (1 = level)  0x408 GPIOIBE (1 = both edges)
 *   0x40c GPIOIEV (1 = rising edge / high level)  0x410 GPIOIE (1 = interrupt enabled)
 *   0x414 GPIORIS  0x418 GPIOMIS  0x41c GPIOIC (write 1: clear an edge interrupt)
 *   0x420 GPIOAFSEL (stored; there is no alternate function)
 *   0xfe0..0xffc GPIOPeriphID0..3, GPIOPCellID0..3 (part 0x061, designer ARM)
 * Registers are 8 bits wide at word offsets; Linux's gpio-pl061 uses byte accesses, so
 * 1-, 2- and 4-byte accesses at a word offset are accepted (bits above 7 read 0). Anything
 * else reads 0 and is ignored.
 *
 * A pin's level is its input (pl061_set_input, from the board) when it is an input and the
 * value written to GPIODATA when it is an output. Level-sensitive interrupts follow the
 * level of every pin (GPIORIS shows the current match, GPIOIC does not clear it); edges are
 * detected on input pins only, as on QEMU's virt board where no output loops back.
 *
 * QEMU's virt board wires pin 3 to a gpio-keys "poweroff" key (KEY_POWER, active high):
 * pl061_press_power_key() holds that pin high for PL061_KEY_HOLD_NS and then releases it, as
 * QEMU's gpio-key device does, so the guest sees one press and one release per request
 * (gpio-keys debounces for 5 ms, so a shorter pulse could be missed).
 */
#ifndef VESSEL_PL061_H
#define VESSEL_PL061_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/timer.h"
#include "mmu/mmu.h"

#define PL061_MMIO_SIZE     0x1000
#define PL061_NUM_PINS      8
#define PL061_POWER_KEY_PIN 3
#define PL061_KEY_HOLD_NS   100000000ull /* 100 ms */

typedef struct Pl061 {
    pthread_mutex_t lock;
    uint8_t data;  /* output values written by the guest */
    uint8_t input; /* levels driven by the board */
    uint8_t dir, is, ibe, iev, ie, afsel;
    uint8_t edge_ris; /* latched edge interrupts */
    uint8_t pins;     /* last pin levels the edge detector saw */
    bool key_held;
    VsTimer key_timer;

    int irq_level;
    void (*set_irq)(void *opaque, int level);
    void *irq_opaque;
} Pl061;

/* svc may be NULL in tests that never press the power key. set_irq may be NULL. */
void pl061_init(Pl061 *g, VsTimerService *svc, void (*set_irq)(void *opaque, int level),
                void *irq_opaque);
void pl061_destroy(Pl061 *g);
/* Reset: every register to 0 (all pins inputs, interrupts off). Input levels are kept. */
void pl061_reset(Pl061 *g);
/* Drive input pin `pin` (0..7; others ignored). Any thread. */
void pl061_set_input(Pl061 *g, unsigned pin, bool level);
/* Press and, PL061_KEY_HOLD_NS later, release the power key on PL061_POWER_KEY_PIN.
 * A press while the key is held is ignored. Any thread. */
void pl061_press_power_key(Pl061 *g);

extern const MmioOps pl061_mmio_ops;

#endif
