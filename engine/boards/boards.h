/* SPDX-License-Identifier: MIT */
/* The boards Vessel can build, by guest architecture. */
#ifndef VESSEL_BOARDS_H
#define VESSEL_BOARDS_H

#include "core/machine.h"

/* riscv64 `virt`, QEMU's memory map (boards/riscv64-virt.c). */
extern const BoardOps rv_virt_board_ops;

/* arm64 `virt`, QEMU's memory map (boards/arm64-virt.c). */
extern const BoardOps a64_virt_board_ops;

/* x86_64 `microvm`, KVM only (boards/x86-microvm.c). */
extern const BoardOps x86_microvm_board_ops;

/* The board for an architecture, or NULL when there is none yet. */
const BoardOps *board_find(VsArch arch);

#endif
