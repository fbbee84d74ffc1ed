/* SPDX-License-Identifier: MIT */
/*
 * SiFive test device ("finisher"): a 32-bit write at offset 0 powers the machine off,
 * reports a failure or resets it. Bits 15:0 select the action, bits 31:16 carry a code.
 */
#ifndef VESSEL_SIFIVE_TEST_H
#define VESSEL_SIFIVE_TEST_H

#include "core/machine.h"
#include "mmu/mmu.h"

#define SIFIVE_TEST_MMIO_SIZE 0x1000
#define SIFIVE_TEST_FAIL      0x3333
#define SIFIVE_TEST_PASS      0x5555
#define SIFIVE_TEST_RESET     0x7777

typedef struct SifiveTest {
    VsMachine *m;
} SifiveTest;

void sifive_test_init(SifiveTest *t, VsMachine *m);

extern const MmioOps sifive_test_mmio_ops;

#endif
