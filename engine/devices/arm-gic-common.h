/* SPDX-License-Identifier: MIT */
/* State of 32 interrupts as both GIC models (arm-gicv2.c, arm-gicv3.c) keep it. */
#ifndef VESSEL_ARM_GIC_COMMON_H
#define VESSEL_ARM_GIC_COMMON_H

#include <stdbool.h>
#include <stdint.h>

typedef struct IrqWord {
    uint32_t group; /* 1: Group 1, 0: Group 0 */
    uint32_t enable;
    uint32_t latch; /* pending latch: edge, ISPENDR, SGI */
    uint32_t active;
    uint32_t level; /* input lines */
    uint32_t edge;  /* 1: edge-triggered */
} IrqWord;

/* An input line changed: a rising edge of an edge-triggered interrupt latches it pending; a
 * level-sensitive one is pending while its line is high. */
static inline void gic_set_line(IrqWord *w, unsigned bit, bool level)
{
    uint32_t m = 1u << bit;
    bool old = w->level & m;
    if (level)
        w->level |= m;
    else
        w->level &= ~m;
    if ((w->edge & m) && level && !old)
        w->latch |= m;
}

#endif
